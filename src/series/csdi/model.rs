//! The CSDI model: a network with its data's identity (column names, normalisation), its
//! optimiser and its weights files.

use burn::module::Module;
use burn::optim::decay::WeightDecayConfig;
use burn::optim::{AdamConfig, ModuleOptimizer};
use burn::tensor::Device;
use serde::Serialize;

use crate::core::rng::SeededRng;
use crate::core::weights::{load_module, read_identity, save_module, PendingWeights};
use crate::series::csdi::batches::CsdiData;
use crate::series::csdi::config::{
    describe, CsdiConfig, CsdiSchedule, LEARNING_RATE, WEIGHT_DECAY,
};
use crate::series::csdi::network::CsdiNet;
use crate::series::data::{Normalizer, TimeSeries};

/// The model's registry name, as in weights files.
pub const MODEL: &str = "csdi";

/// A CSDI network with its data's identity (column names, normalisation) and its optimiser.
pub struct Csdi {
    pub(super) net: Option<CsdiNet>,
    pub(super) optimizer: ModuleOptimizer,
    pub(super) train_device: Device,
    config: CsdiConfig,
    pub(super) schedule: CsdiSchedule,
    names: Vec<String>,
    pub(super) normalizer: Normalizer,
    dataset: String,
    pub(super) rng: SeededRng,
    pub(super) learning_rate: f64,
    pub(super) steps: usize,
    epochs: usize,
}

fn adam() -> ModuleOptimizer {
    AdamConfig::new()
        .with_epsilon(1e-8)
        .with_weight_decay(Some(WeightDecayConfig::new(WEIGHT_DECAY)))
        .init()
}

/// A mask as the network reads it: 1.0 where true.
pub(super) fn mask_values(mask: &[bool]) -> Vec<f32> {
    mask.iter().map(|&m| f32::from(u8::from(m))).collect()
}

impl Csdi {
    /// A fresh network for a series with the given column `names`, normalised by `normalizer`
    /// (fitted on the training rows). `dataset` names the data in the weights file.
    pub fn new(
        config: CsdiConfig,
        names: Vec<String>,
        normalizer: Normalizer,
        dataset: &str,
        device: &Device,
        seed: u64,
    ) -> Result<Csdi, String> {
        config.check()?;
        if names.is_empty()
            || normalizer.mean.len() != names.len()
            || normalizer.std.len() != names.len()
        {
            return Err(format!(
                "{} column name(s) but {} means and {} standard deviations",
                names.len(),
                normalizer.mean.len(),
                normalizer.std.len()
            ));
        }
        let train_device = device.clone().autodiff();
        let mut rng = SeededRng::new(seed ^ 0x6373_6469_2d61_6972);
        let net = CsdiNet::new(&config, names.len(), &mut rng, &train_device);
        Ok(Csdi {
            net: Some(net),
            optimizer: adam(),
            train_device,
            schedule: CsdiSchedule::quadratic(&config),
            config,
            names,
            normalizer,
            dataset: dataset.to_string(),
            rng,
            learning_rate: LEARNING_RATE,
            steps: 0,
            epochs: 0,
        })
    }

    /// A fresh network for the data of `data`.
    pub fn for_data(
        config: CsdiConfig,
        data: &CsdiData,
        dataset: &str,
        device: &Device,
        seed: u64,
    ) -> Result<Csdi, String> {
        Csdi::new(
            config,
            data.names.clone(),
            data.normalizer.clone(),
            dataset,
            device,
            seed,
        )
    }

    /// The model a weights file describes (architecture, columns, normalisation), loaded.
    pub fn from_bytes(bytes: &[u8], device: &Device) -> Result<Csdi, String> {
        let identity = read_identity(bytes)?;
        if identity.model != MODEL {
            return Err(format!(
                "these are weights of the `{}` model, not of `{MODEL}`",
                identity.model
            ));
        }
        let field = |key: &str| {
            identity
                .extra
                .get(key)
                .ok_or_else(|| format!("this {MODEL} weights file does not record its `{key}`"))
        };
        let config = CsdiConfig::from_json(field("config")?)?;
        let parse = |key: &str| -> Result<Vec<f32>, String> {
            serde_json::from_str(field(key)?).map_err(|e| format!("weights file: bad `{key}`: {e}"))
        };
        let names: Vec<String> = serde_json::from_str(field("names")?)
            .map_err(|e| format!("weights file: bad `names`: {e}"))?;
        let normalizer = Normalizer {
            mean: parse("mean")?,
            std: parse("std")?,
        };
        let mut model = Csdi::new(config, names, normalizer, &identity.dataset, device, 0)?;
        model.load(bytes)?;
        Ok(model)
    }

    /// Replaces the weights (and the recorded normalisation, steps and epochs) with a file's;
    /// refuses a file of another architecture or another number of features, leaving the
    /// current weights.
    pub fn load(&mut self, bytes: &[u8]) -> Result<(), String> {
        let identity = read_identity(bytes)?;
        if identity.model != MODEL {
            return Err(format!(
                "these are weights of the `{}` model, not of `{MODEL}`",
                identity.model
            ));
        }
        if let Some(text) = identity.extra.get("config") {
            let config = CsdiConfig::from_json(text)?;
            if config != self.config {
                return Err(format!(
                    "these weights are for the CSDI network {}, this one is {}",
                    describe(&config),
                    describe(&self.config)
                ));
            }
        }
        let names: Option<Vec<String>> = identity
            .extra
            .get("names")
            .and_then(|n| serde_json::from_str(n).ok());
        if let Some(names) = &names {
            if names.len() != self.features() {
                return Err(format!(
                    "these weights are for {} features (value columns), this model has {}",
                    names.len(),
                    self.features()
                ));
            }
        }
        let stats = |key: &str| -> Option<Vec<f32>> {
            identity
                .extra
                .get(key)
                .and_then(|v| serde_json::from_str(v).ok())
        };
        let normalizer = match (stats("mean"), stats("std")) {
            (Some(mean), Some(std))
                if mean.len() == self.features() && std.len() == self.features() =>
            {
                Some(Normalizer { mean, std })
            }
            _ => None,
        };
        let (net, identity) = load_module(self.net(), bytes, MODEL, &identity.dataset)?;
        self.net = Some(net);
        if let Some(names) = names {
            self.names = names;
        }
        if let Some(normalizer) = normalizer {
            self.normalizer = normalizer;
        }
        self.dataset = identity.dataset.clone();
        let count = |key: &str| {
            identity
                .extra
                .get(key)
                .and_then(|s| s.parse().ok())
                .unwrap_or(0)
        };
        self.steps = count("steps");
        self.epochs = count("epochs");
        self.optimizer = adam();
        Ok(())
    }

    /// The weights with everything needed to rebuild and use the model, and `extra` entries.
    pub fn save(&self, extra: &[(&str, String)]) -> PendingWeights {
        let mut entries: Vec<(&str, String)> = vec![
            ("config", self.config.to_json()),
            ("names", json(&self.names)),
            ("mean", json(&self.normalizer.mean)),
            ("std", json(&self.normalizer.std)),
            ("steps", self.steps.to_string()),
            ("epochs", self.epochs.to_string()),
        ];
        entries.extend(extra.iter().cloned());
        save_module(self.net(), MODEL, &self.dataset, &entries)
    }

    /// Refuses a series whose number of value columns differs from the weights'.
    pub fn check_series(&self, series: &TimeSeries) -> Result<(), String> {
        if series.features() != self.features() {
            return Err(format!(
                "the weights were trained on {} value column(s), this CSV has {}: CSDI imputes \
                 only data with the columns it was trained on",
                self.features(),
                series.features()
            ));
        }
        Ok(())
    }

    /// Takes a new data set's columns and normalisation (fine-tuning on another CSV with the
    /// same number of columns).
    pub fn set_data(&mut self, data: &CsdiData, dataset: &str) -> Result<(), String> {
        if data.features() != self.features() {
            return Err(format!(
                "the weights were trained on {} value column(s), this CSV has {}",
                self.features(),
                data.features()
            ));
        }
        self.names = data.names.clone();
        self.normalizer = data.normalizer.clone();
        self.dataset = dataset.to_string();
        Ok(())
    }

    pub(super) fn net(&self) -> &CsdiNet {
        self.net.as_ref().expect("network is present between steps")
    }

    pub fn config(&self) -> &CsdiConfig {
        &self.config
    }

    pub fn schedule(&self) -> &CsdiSchedule {
        &self.schedule
    }

    pub fn names(&self) -> &[String] {
        &self.names
    }

    pub fn features(&self) -> usize {
        self.names.len()
    }

    pub fn normalizer(&self) -> &Normalizer {
        &self.normalizer
    }

    pub fn dataset(&self) -> &str {
        &self.dataset
    }

    pub fn train_device(&self) -> &Device {
        &self.train_device
    }

    pub fn parameter_count(&self) -> usize {
        self.net().num_params()
    }

    pub fn steps_trained(&self) -> usize {
        self.steps
    }

    pub fn epochs_trained(&self) -> usize {
        self.epochs
    }

    pub fn set_epochs_trained(&mut self, epochs: usize) {
        self.epochs = epochs;
    }

    pub fn learning_rate(&self) -> f64 {
        self.learning_rate
    }

    pub fn set_learning_rate(&mut self, learning_rate: f64) {
        self.learning_rate = learning_rate;
    }

    /// Restarts the stream of diffusion steps and noise of training.
    pub fn reseed(&mut self, seed: u64) {
        self.rng = SeededRng::new(seed ^ 0x6373_6469_2d61_6972);
    }
}

/// JSON text of a metadata entry.
fn json<T: Serialize + ?Sized>(value: &T) -> String {
    serde_json::to_string(value).expect("plain values serialise")
}
