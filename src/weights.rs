//! Weights files: burn's own record format (Burnpack, `.bpk`), the same bytes natively and in the
//! page. Each file says which model and which dataset it holds, so loading the weights of another
//! model, or of the same model trained on another dataset, fails with a message that names both,
//! before any tensor is touched.

use std::collections::BTreeMap;

use burn::module::Module;
use burn::store::burn_pack::{Bytes, Reader};
use burn::store::{BurnpackStore, ModuleSnapshot};

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

/// Serialises `module` with its identity and `extra` settings.
pub fn save_module<M: Module>(
    module: &M,
    model: &str,
    dataset: &str,
    extra: &[(&str, String)],
) -> Result<Vec<u8>, String> {
    let mut store = BurnpackStore::from_bytes(None)
        .metadata(MODEL_KEY, model)
        .metadata(DATASET_KEY, dataset);
    for (key, value) in extra {
        store = store.metadata(format!("genlab.{key}"), value.clone());
    }
    module
        .save_into(&mut store)
        .map_err(|e| format!("writing the weights failed: {e}"))?;
    let bytes = store
        .get_bytes()
        .map_err(|e| format!("writing the weights failed: {e}"))?;
    Ok(bytes.to_vec())
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
