//! Weights files: burn's own record format (Burnpack, `.bpk`), the same bytes natively and in the
//! page. Each file says which model and which dataset it holds, so loading the weights of another
//! model, or of the same model trained on another dataset, fails with a message that names both,
//! before any tensor is touched.

use std::collections::BTreeMap;

use burn::module::{Module, ModuleMapper, ModuleVisitor, Param};
use burn::store::burn_pack::{Bytes, Reader};
use burn::store::{BurnpackStore, ModuleSnapshot};
use burn::tensor::{Device, Tensor, TensorData};

/// The metadata key naming the model a file holds (a registry name, e.g. `classifier`).
const MODEL_KEY: &str = "genlab.model";
/// The metadata key naming the dataset the weights were trained on.
const DATASET_KEY: &str = "genlab.dataset";

/// What a weights file says it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WeightsIdentity {
    pub model: String,
    pub dataset: String,
    /// Every other metadata entry (architecture settings, training steps, …).
    pub extra: BTreeMap<String, String>,
}

impl WeightsIdentity {
    /// The training steps the file records (0 when it records none).
    pub fn steps_trained(&self) -> usize {
        self.extra
            .get("steps")
            .and_then(|s| s.parse().ok())
            .unwrap_or(0)
    }
}

#[derive(Default)]
struct FlatParameters(Vec<Tensor<1>>);

impl ModuleVisitor for FlatParameters {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let value = param.val().detach();
        let n = value.shape().num_elements();
        self.0.push(value.reshape([n]));
    }
}

/// Every float parameter of `module`, flattened and detached from autodiff, in visiting order
/// (the order [`ModuleMapper`]s see them in).
pub fn flat_parameters<M: Module>(module: &M) -> Vec<Tensor<1>> {
    let mut parameters = FlatParameters::default();
    module.visit(&mut parameters);
    parameters.0
}

/// Refills a module's float parameters, in visiting order, from host values on `device`.
struct HostParameters {
    values: Vec<f32>,
    offset: usize,
    device: Device,
}

impl ModuleMapper for HostParameters {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let shape = param.val().shape();
        let n = shape.num_elements();
        let values = self.values[self.offset..self.offset + n].to_vec();
        self.offset += n;
        Param::from_tensor(Tensor::<D>::from_data(
            TensorData::new(values, shape),
            &self.device,
        ))
    }
}

/// Weights on their way to bytes: every parameter concatenated into one tensor, read back with
/// one asynchronous read ([`PendingWeights::bytes`]). Writing a record reads tensors
/// synchronously, which a WebGPU device in the page cannot do, so the record is written from a
/// CPU copy.
pub struct PendingWeights {
    flat: Option<Tensor<1>>,
    finish: WriteRecord,
}

/// Writes the record from the parameters' values, read back in visiting order.
type WriteRecord = Box<dyn FnOnce(Vec<f32>) -> Result<Vec<u8>, String>>;

impl PendingWeights {
    pub async fn bytes(self) -> Result<Vec<u8>, String> {
        let values = match self.flat {
            Some(flat) => crate::core::training::read_f32(flat).await?,
            None => Vec::new(),
        };
        (self.finish)(values)
    }
}

/// Serialises `module` with its identity and `extra` settings.
pub fn save_module<M: Module + 'static>(
    module: &M,
    model: &str,
    dataset: &str,
    extra: &[(&str, String)],
) -> PendingWeights {
    let parameters = flat_parameters(module);
    let flat = (!parameters.is_empty()).then(|| Tensor::cat(parameters, 0).inner());
    let template = module.clone();
    let (model, dataset) = (model.to_string(), dataset.to_string());
    let extra: Vec<(String, String)> = extra
        .iter()
        .map(|(k, v)| (format!("genlab.{k}"), v.clone()))
        .collect();
    PendingWeights {
        flat,
        finish: Box::new(move |values| {
            let on_cpu = template.map(&mut HostParameters {
                values,
                offset: 0,
                device: Device::flex(),
            });
            let mut store = BurnpackStore::from_bytes(None)
                .metadata(MODEL_KEY, model)
                .metadata(DATASET_KEY, dataset);
            for (key, value) in extra {
                store = store.metadata(key, value);
            }
            on_cpu
                .save_into(&mut store)
                .map_err(|e| format!("writing the weights failed: {e}"))?;
            let bytes = store
                .get_bytes()
                .map_err(|e| format!("writing the weights failed: {e}"))?;
            Ok(bytes.to_vec())
        }),
    }
}

/// Reads a file's identity without loading its tensors.
pub fn read_identity(bytes: &[u8]) -> Result<WeightsIdentity, String> {
    let reader = Reader::from_bytes(Bytes::from_bytes_vec(bytes.to_vec())).map_err(|e| {
        format!("this is not a genlab weights file (burn's .bpk record format): {e}")
    })?;
    let metadata = reader.metadata();
    let field = |key: &str| {
        metadata.get(key).cloned().ok_or_else(|| {
            "this .bpk file was not written by genlab: it does not say which model it holds"
                .to_string()
        })
    };
    let extra = metadata
        .iter()
        .filter_map(|(k, v)| {
            k.strip_prefix("genlab.")
                .filter(|k| !["model", "dataset"].contains(k))
                .map(|k| (k.to_string(), v.clone()))
        })
        .collect();
    Ok(WeightsIdentity {
        model: field(MODEL_KEY)?,
        dataset: field(DATASET_KEY)?,
        extra,
    })
}

/// Loads `bytes` into `module` if the file holds `model` trained on `dataset` and every tensor's
/// name and shape match. On any error `module` is returned untouched inside the error's context:
/// the caller keeps its current model.
pub fn load_module<M: Module + Clone>(
    module: &M,
    bytes: &[u8],
    model: &str,
    dataset: &str,
) -> Result<(M, WeightsIdentity), String> {
    let identity = read_identity(bytes)?;
    if identity.model != model {
        return Err(format!(
            "these are weights of the `{}` model; this is the `{model}` model",
            identity.model
        ));
    }
    if identity.dataset != dataset {
        return Err(format!(
            "these `{model}` weights were trained on `{}`; this page is on `{dataset}`",
            identity.dataset
        ));
    }
    let mut loaded = module.clone();
    let mut store = BurnpackStore::from_bytes(Some(Bytes::from_bytes_vec(bytes.to_vec())));
    let result = loaded
        .load_from(&mut store)
        .map_err(|e| format!("these `{model}` weights do not fit this model: {e}"))?;
    if !result.errors.is_empty() || !result.missing.is_empty() || !result.unused.is_empty() {
        let mut problems: Vec<String> = result.errors.iter().map(|e| e.to_string()).collect();
        problems.extend(
            result
                .missing
                .iter()
                .map(|(name, _)| format!("missing {name}")),
        );
        problems.extend(
            result
                .unused
                .iter()
                .map(|name| format!("unexpected {name}")),
        );
        problems.truncate(4);
        return Err(format!(
            "these `{model}` weights do not fit this model (another size?): {}",
            problems.join("; ")
        ));
    }
    Ok((loaded, identity))
}
