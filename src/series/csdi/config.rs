//! What configures CSDI: the network's size and noise schedule (written into weights files, so
//! that a file rebuilds its own network), the presets the CLI names, and the official training
//! settings.

use serde::{Deserialize, Serialize};

/// The official training settings: Adam at 1e-3 (weight decay 1e-6), batches of 16, 200
/// epochs, the learning rate ×0.1 at 75 % and at 90 % of the epochs.
pub const LEARNING_RATE: f64 = 1e-3;
pub const WEIGHT_DECAY: f32 = 1e-6;
pub const BATCH: usize = 16;
pub const EPOCHS: usize = 200;
/// Adam's rate when fine-tuning pretrained weights on another CSV: a tenth of the training
/// rate, as the official schedule ends its first phase.
pub const FINE_TUNE_LEARNING_RATE: f64 = LEARNING_RATE * 0.1;

/// The architecture and the noise schedule; written into weights files so that a file rebuilds
/// its own network.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct CsdiConfig {
    /// Residual layers.
    pub layers: usize,
    /// Channels C of the residual layers.
    pub channels: usize,
    /// Width of the diffusion-step embedding (sinusoids and its two linear layers).
    pub diffusion_embedding: usize,
    /// Width of the sinusoidal embedding of the time position (side information).
    pub time_embedding: usize,
    /// Width of the learned feature embedding (side information).
    pub feature_embedding: usize,
    /// Attention heads of the time and feature transformers.
    pub heads: usize,
    /// Hidden width of the transformers' feed-forward layer.
    pub feed_forward: usize,
    /// Diffusion steps T.
    pub diffusion_steps: usize,
    /// β of the first and the last step; the schedule is quadratic in between:
    /// `β = linspace(√β_start, √β_end, T)²`.
    pub beta_start: f64,
    pub beta_end: f64,
}

impl CsdiConfig {
    /// The paper's (and the official `base.yaml`'s) network.
    pub const PAPER: CsdiConfig = CsdiConfig {
        layers: 4,
        channels: 64,
        diffusion_embedding: 128,
        time_embedding: 128,
        feature_embedding: 16,
        heads: 8,
        feed_forward: 64,
        diffusion_steps: 50,
        beta_start: 1e-4,
        beta_end: 0.5,
    };

    /// A lighter network for the browser's CPU path: half the layers and channels.
    pub const SMALL: CsdiConfig = CsdiConfig {
        layers: 2,
        channels: 32,
        diffusion_embedding: 64,
        time_embedding: 64,
        feature_embedding: 16,
        heads: 4,
        feed_forward: 64,
        ..CsdiConfig::PAPER
    };

    /// A network for tests, trained in seconds.
    pub const TINY: CsdiConfig = CsdiConfig {
        layers: 1,
        channels: 16,
        diffusion_embedding: 32,
        time_embedding: 32,
        feature_embedding: 8,
        heads: 2,
        feed_forward: 16,
        ..CsdiConfig::PAPER
    };

    /// Width of the side information: time embedding, feature embedding, conditioning mask.
    pub fn side_dim(&self) -> usize {
        self.time_embedding + self.feature_embedding + 1
    }

    pub fn check(&self) -> Result<(), String> {
        let problem = if self.layers == 0 || self.channels == 0 || self.heads == 0 {
            "layers, channels and heads must be positive"
        } else if !self.channels.is_multiple_of(self.heads) {
            "channels must be a multiple of heads"
        } else if self.diffusion_embedding < 4 || !self.diffusion_embedding.is_multiple_of(2) {
            "the diffusion embedding must be even and at least 4"
        } else if self.time_embedding == 0 || !self.time_embedding.is_multiple_of(2) {
            "the time embedding must be even and positive"
        } else if self.feature_embedding == 0 || self.feed_forward == 0 {
            "the feature embedding and the feed-forward width must be positive"
        } else if self.diffusion_steps < 2 {
            "at least 2 diffusion steps"
        } else if !(self.beta_start > 0.0
            && self.beta_start <= self.beta_end
            && self.beta_end < 1.0)
        {
            "β must satisfy 0 < β_start ≤ β_end < 1"
        } else {
            return Ok(());
        };
        Err(format!("CSDI configuration: {problem}"))
    }

    /// The JSON form weights files store.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("plain numbers serialise")
    }

    pub fn from_json(text: &str) -> Result<CsdiConfig, String> {
        let config: CsdiConfig =
            serde_json::from_str(text).map_err(|e| format!("CSDI configuration `{text}`: {e}"))?;
        config.check()?;
        Ok(config)
    }
}

crate::named_choice! {
    /// The configurations the CLI names.
    pub enum CsdiPreset {
        Paper = "paper",
        Small = "small",
        Tiny = "tiny",
    } default Paper
}

impl CsdiPreset {
    pub fn config(self) -> CsdiConfig {
        match self {
            CsdiPreset::Paper => CsdiConfig::PAPER,
            CsdiPreset::Small => CsdiConfig::SMALL,
            CsdiPreset::Tiny => CsdiConfig::TINY,
        }
    }

    /// The preset a configuration is, if any.
    pub fn of(config: &CsdiConfig) -> Option<CsdiPreset> {
        CsdiPreset::ALL
            .iter()
            .copied()
            .find(|p| p.config() == *config)
    }
}

/// The noise schedule: `β_t`, `α_t = 1 − β_t` (the official `alpha_hat`) and
/// `ᾱ_t = Π_{s≤t} α_s` (the official `alpha`), for `t` in `0..T`.
#[derive(Clone, Debug, PartialEq)]
pub struct CsdiSchedule {
    pub beta: Vec<f64>,
    pub alpha: Vec<f64>,
    pub alpha_bar: Vec<f64>,
}

impl CsdiSchedule {
    /// The quadratic schedule: `β = linspace(√β_start, √β_end, T)²`.
    pub fn quadratic(config: &CsdiConfig) -> CsdiSchedule {
        let steps = config.diffusion_steps;
        let (a, b) = (config.beta_start.sqrt(), config.beta_end.sqrt());
        let beta: Vec<f64> = (0..steps)
            .map(|t| (a + (b - a) * t as f64 / (steps - 1) as f64).powi(2))
            .collect();
        let alpha: Vec<f64> = beta.iter().map(|b| 1.0 - b).collect();
        let alpha_bar = alpha
            .iter()
            .scan(1.0, |product, a| {
                *product *= a;
                Some(*product)
            })
            .collect();
        CsdiSchedule {
            beta,
            alpha,
            alpha_bar,
        }
    }

    pub fn steps(&self) -> usize {
        self.beta.len()
    }

    /// The reverse step from `t`: `x ← coeff1 · (x − coeff2 · ε̂) + σ · z`, as the official
    /// `impute` (σ = 0 at `t = 0`).
    pub fn reverse(&self, t: usize) -> (f64, f64, f64) {
        let coeff1 = 1.0 / self.alpha[t].sqrt();
        let coeff2 = (1.0 - self.alpha[t]) / (1.0 - self.alpha_bar[t]).sqrt();
        let sigma = if t > 0 {
            ((1.0 - self.alpha_bar[t - 1]) / (1.0 - self.alpha_bar[t]) * self.beta[t]).sqrt()
        } else {
            0.0
        };
        (coeff1, coeff2, sigma)
    }
}

/// `4 layers × 64 channels, …` for messages.
pub(super) fn describe(config: &CsdiConfig) -> String {
    match CsdiPreset::of(config) {
        Some(preset) => format!("`{preset}` ({})", config.to_json()),
        None => config.to_json(),
    }
}

/// The learning rate of epoch `epoch` (0-based) of `epochs`, as the official `MultiStepLR`:
/// `base`, ×0.1 from epoch `⌊0.75 E⌋`, ×0.01 from `⌊0.9 E⌋`.
pub fn learning_rate_at(base: f64, epoch: usize, epochs: usize) -> f64 {
    let p1 = (0.75 * epochs as f64) as usize;
    let p2 = (0.9 * epochs as f64) as usize;
    let drops = usize::from(epoch >= p1) + usize::from(epoch >= p2);
    base * 0.1f64.powi(drops as i32)
}
