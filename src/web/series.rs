//! The wasm-bindgen surface of the CSDI demo: one series (the shipped PM10 CSV or the user's),
//! a CSDI model on a chosen backend, imputations of one window run a reverse step at a time,
//! and fine-tuning on the series. The page draws what these return; every number is computed
//! here, by the code `genlab impute` and `genlab train csdi` run.

use std::cell::RefCell;

use serde::Serialize;
use wasm_bindgen::prelude::*;

use crate::core::backend::BackendKind;
use crate::core::rng::SeededRng;
use crate::core::training::{read_f32, read_losses};
use crate::series::csdi::{
    Csdi, CsdiData, CsdiPreset, CPU_NSAMPLE_CAP, FINE_TUNE_LEARNING_RATE, LEARNING_RATE,
    PAGE_CONFIG, SPLIT,
};
use crate::series::data::TimeSeries;
use crate::series::imputation::{Imputation, ImputationSettings};
use crate::series::metrics::Scores;
use crate::series::params::{CsdiNetwork, HiddenStretch, HiddenStretches, MaskStrategy};
use crate::series::windows::{windows, TimeSplit, Window, WINDOW_LEN};
use crate::web::{device_for, js_error, to_js};

/// Quantile levels of the band the page draws.
const BAND: [f64; 2] = [0.05, 0.95];

/// The file under `www/models/` of a shipped network named in the link (`network=`).
#[wasm_bindgen(js_name = csdiWeightsFile)]
pub fn csdi_weights_file(network: &str) -> Result<String, JsError> {
    let network: CsdiNetwork = network.parse().map_err(js_error)?;
    Ok(network.weights_file().to_string())
}

#[derive(Serialize)]
struct SeriesInfo<'a> {
    name: &'a str,
    names: &'a [String],
    rows: usize,
    features: usize,
    missing: f64,
    windows: usize,
    window_len: usize,
    /// Row ranges `[start, end)` of the time split.
    train: [usize; 2],
    valid: [usize; 2],
    test: [usize; 2],
    first_time: Option<&'a str>,
    last_time: Option<&'a str>,
}

#[derive(Serialize)]
struct WindowView {
    index: usize,
    start: usize,
    len: usize,
    /// `train`, `valid` or `test`: the part of the time split the window starts in.
    part: &'static str,
    times: Option<Vec<String>>,
    /// `[len, features]`, NaN where not observed.
    values: Vec<f32>,
}

#[derive(Serialize)]
struct ModelInfo {
    dataset: String,
    config: String,
    parameters: usize,
    epochs: usize,
    steps: usize,
    backend: &'static str,
    learning_rate: f64,
}

#[derive(Serialize)]
struct Started {
    nsample: usize,
    requested: usize,
    capped: bool,
    total: usize,
    hidden: usize,
}

#[derive(Serialize)]
struct Imputed {
    nsample: usize,
    /// `[len, features]` each: the samples' median and the 5 % and 95 % quantiles.
    median: Vec<f32>,
    low: Vec<f32>,
    high: Vec<f32>,
    /// `[len, features]`: 1 where an observed value was hidden (and is scored).
    hidden: Vec<u8>,
    /// The hidden observed values' scores, present when any was hidden.
    n_eval: usize,
    csdi: Option<Scores>,
    baselines: Vec<(String, Scores)>,
}

struct SeriesLabState {
    name: String,
    series: TimeSeries,
    split: TimeSplit,
    tiles: Vec<Window>,
    model: Option<Csdi>,
    backend: BackendKind,
    /// The training windows of the series, built when fine-tuning starts.
    data: Option<CsdiData>,
    running: Option<Imputation>,
    batch_rng: SeededRng,
}

#[wasm_bindgen]
pub struct SeriesLab {
    state: RefCell<SeriesLabState>,
}

fn no_model() -> JsError {
    js_error("no CSDI model is loaded yet")
}

impl SeriesLab {
    fn window(&self, index: usize) -> Result<Window, JsError> {
        let state = self.state.borrow();
        state.tiles.get(index).copied().ok_or_else(|| {
            js_error(format!(
                "there is no window {index}: this series has {} windows of {WINDOW_LEN} rows",
                state.tiles.len()
            ))
        })
    }

    fn model_info(state: &SeriesLabState) -> Result<JsValue, JsError> {
        let model = state.model.as_ref().ok_or_else(no_model)?;
        to_js(&ModelInfo {
            dataset: model.dataset().to_string(),
            config: CsdiPreset::of(model.config())
                .map(|p| p.to_string())
                .unwrap_or_else(|| model.config().to_json()),
            parameters: model.parameter_count(),
            epochs: model.epochs_trained(),
            steps: model.steps_trained(),
            backend: state.backend.name(),
            learning_rate: model.learning_rate(),
        })
    }
}

#[wasm_bindgen]
impl SeriesLab {
    /// Parses a CSV of the upload format; rejects with the row and column of the first problem.
    #[wasm_bindgen(constructor)]
    pub fn new(csv: &str, name: &str) -> Result<SeriesLab, JsError> {
        let series = TimeSeries::from_csv(csv).map_err(|e| js_error(format!("{name}: {e}")))?;
        let (train, valid, test) = SPLIT;
        let split = series
            .split_by_time(train, valid, test)
            .map_err(|e| js_error(format!("{name}: {e}")))?;
        let tiles = windows(0..series.len(), WINDOW_LEN, WINDOW_LEN);
        if tiles.is_empty() {
            return Err(js_error(format!(
                "{name}: {} rows; CSDI needs at least one window of {WINDOW_LEN}",
                series.len()
            )));
        }
        Ok(SeriesLab {
            state: RefCell::new(SeriesLabState {
                name: name.to_string(),
                series,
                split,
                tiles,
                model: None,
                backend: BackendKind::Cpu,
                data: None,
                running: None,
                batch_rng: SeededRng::new(0),
            }),
        })
    }

    /// `{name, names, rows, features, missing, windows, window_len, train, valid, test,
    /// first_time, last_time}`.
    pub fn info(&self) -> Result<JsValue, JsError> {
        let state = self.state.borrow();
        let s = &state.series;
        let range = |r: &std::ops::Range<usize>| [r.start, r.end];
        let times = s.times.as_deref();
        to_js(&SeriesInfo {
            name: &state.name,
            names: &s.names,
            rows: s.len(),
            features: s.features(),
            missing: s.missing_fraction(),
            windows: state.tiles.len(),
            window_len: WINDOW_LEN,
            train: range(&state.split.train),
            valid: range(&state.split.valid),
            test: range(&state.split.test),
            first_time: times.and_then(|t| t.first()).map(String::as_str),
            last_time: times.and_then(|t| t.last()).map(String::as_str),
        })
    }

    /// The window at `index` (tiles of [`WINDOW_LEN`] rows): `{index, start, len, part, times,
    /// values}`, values NaN where missing.
    #[wasm_bindgen(js_name = windowView)]
    pub fn window_view(&self, index: usize) -> Result<JsValue, JsError> {
        let w = self.window(index)?;
        let state = self.state.borrow();
        let s = &state.series;
        let k = s.features();
        let cells = w.cells(k);
        let values = s.values[cells.clone()]
            .iter()
            .zip(&s.observed[cells])
            .map(|(&v, &o)| if o { v } else { f32::NAN })
            .collect();
        let part = if state.split.test.contains(&w.start) {
            "test"
        } else if state.split.valid.contains(&w.start) {
            "valid"
        } else {
            "train"
        };
        to_js(&WindowView {
            index,
            start: w.start,
            len: w.len,
            part,
            times: s.times.as_ref().map(|t| t[w.rows()].to_vec()),
            values,
        })
    }

    /// Loads CSDI weights on `backend`; weights for another number of columns are refused with
    /// a message and the current model stays. Resolves to the model's description.
    #[wasm_bindgen(js_name = loadModel)]
    pub fn load_model(&self, bytes: &[u8], backend: &str) -> Result<JsValue, JsError> {
        let kind: BackendKind = backend.parse().map_err(js_error)?;
        let device = device_for(backend).map_err(js_error)?;
        let mut model = Csdi::from_bytes(bytes, &device).map_err(js_error)?;
        let mut state = self.state.borrow_mut();
        model.check_series(&state.series).map_err(js_error)?;
        // Weights from other columns of the same count impute in this series' units.
        if model.names() != state.series.names.as_slice() {
            if let Ok(data) = CsdiData::new(&state.series) {
                model.set_data(&data, &state.name).map_err(js_error)?;
            }
        }
        state.model = Some(model);
        state.backend = kind;
        state.data = None;
        state.running = None;
        Self::model_info(&state)
    }

    /// A fresh network of the page's size ([`PAGE_CONFIG`]) for this series, normalised by its
    /// training rows.
    #[wasm_bindgen(js_name = newModel)]
    pub fn new_model(&self, backend: &str, seed: f64) -> Result<JsValue, JsError> {
        let kind: BackendKind = backend.parse().map_err(js_error)?;
        let device = device_for(backend).map_err(js_error)?;
        let mut state = self.state.borrow_mut();
        let data = CsdiData::new(&state.series).map_err(js_error)?;
        let model = Csdi::for_data(PAGE_CONFIG, &data, &state.name, &device, seed as u64)
            .map_err(js_error)?;
        state.data = Some(data);
        state.model = Some(model);
        state.backend = kind;
        state.running = None;
        Self::model_info(&state)
    }

    /// `{dataset, config, parameters, epochs, steps, backend, learning_rate}`.
    #[wasm_bindgen(js_name = modelInfo)]
    pub fn model_info_js(&self) -> Result<JsValue, JsError> {
        Self::model_info(&self.state.borrow())
    }

    /// Starts imputing window `index` with `nsample` samples (at most [`CPU_NSAMPLE_CAP`] on
    /// the CPU). Hidden to be scored: `hide_ratio` of the window's observed values drawn from
    /// `seed`, and the painted stretches `hide` (`feature:first-last,…`). `{nsample, requested,
    /// capped, total, hidden}`; then call `imputeSteps` until it resolves to 0.
    #[wasm_bindgen(js_name = startImputation)]
    pub fn start_imputation(
        &self,
        index: usize,
        hide_ratio: f64,
        hide: &str,
        nsample: usize,
        seed: f64,
    ) -> Result<JsValue, JsError> {
        let w = self.window(index)?;
        let painted: HiddenStretches = hide.parse().map_err(js_error)?;
        let mut state = self.state.borrow_mut();
        let requested = nsample.max(1);
        let nsample = match state.backend {
            BackendKind::Cpu => requested.min(CPU_NSAMPLE_CAP),
            BackendKind::Wgpu => requested,
        };
        let settings = ImputationSettings {
            nsample,
            seed: seed as u64,
            hide_ratio,
            hide_seed: seed as u64,
            marked: Some(painted.mask(w.len, state.series.features())),
        };
        let model = state.model.as_ref().ok_or_else(no_model)?;
        let imputation =
            Imputation::of_window(model, &state.series, w, settings).map_err(js_error)?;
        let started = Started {
            nsample,
            requested,
            capped: nsample < requested,
            total: imputation.total(),
            hidden: imputation.hidden_count(),
        };
        state.running = Some(imputation);
        to_js(&started)
    }

    /// Runs up to `count` reverse steps of the imputation in progress and waits for them;
    /// resolves to the steps still to run.
    #[wasm_bindgen(js_name = imputeSteps)]
    pub async fn impute_steps(&self, count: usize) -> Result<usize, JsError> {
        let (probe, remaining) = {
            let mut state = self.state.borrow_mut();
            let running = state
                .running
                .as_mut()
                .ok_or_else(|| js_error("no imputation is running"))?;
            for _ in 0..count {
                running.step().map_err(js_error)?;
            }
            (running.probe(), running.remaining())
        };
        if let Some(probe) = probe {
            read_f32(probe).await.map_err(js_error)?;
        }
        Ok(remaining)
    }

    /// The finished imputation: the median and 5–95 % band of every cell, the hidden cells, and
    /// CSDI's and the baselines' scores on them (CRPS as the paper computes it, MAE and RMSE).
    #[wasm_bindgen(js_name = finishImputation)]
    pub async fn finish_imputation(&self) -> Result<JsValue, JsError> {
        let running = self
            .state
            .borrow_mut()
            .running
            .take()
            .ok_or_else(|| js_error("no imputation is running"))?;
        let imputed = running.finish().await.map_err(js_error)?;
        let band = imputed.quantiles(&BAND);
        let count = imputed.truth.len();
        let n_eval = imputed.hidden_count();
        let (csdi, baselines) = if n_eval > 0 {
            let baselines = imputed
                .baselines()
                .into_iter()
                .map(|(b, s)| (b.to_string(), s))
                .collect();
            (Some(imputed.scores()), baselines)
        } else {
            (None, Vec::new())
        };
        to_js(&Imputed {
            nsample: imputed.nsample,
            median: imputed.median(),
            low: band[..count].to_vec(),
            high: band[count..].to_vec(),
            hidden: imputed.hidden.iter().map(|&h| u8::from(h)).collect(),
            n_eval,
            csdi,
            baselines,
        })
    }

    /// Fine-tunes the model on this series: `steps` steps of `batch` training windows with
    /// targets chosen by `strategy`. The first call adopts the series' columns and
    /// normalisation and, for pretrained weights, the fine-tuning learning rate. Resolves to
    /// the losses, read back once.
    #[wasm_bindgen(js_name = trainSteps)]
    pub async fn train_steps(
        &self,
        steps: u32,
        batch: usize,
        strategy: &str,
    ) -> Result<js_sys::Float32Array, JsError> {
        let strategy: MaskStrategy = strategy.parse().map_err(js_error)?;
        let losses = {
            let mut guard = self.state.borrow_mut();
            let state = &mut *guard;
            if state.data.is_none() {
                let data = CsdiData::new(&state.series).map_err(js_error)?;
                let model = state.model.as_mut().ok_or_else(no_model)?;
                model.set_data(&data, &state.name).map_err(js_error)?;
                let pretrained = model.steps_trained() > 0;
                model.set_learning_rate(if pretrained {
                    FINE_TUNE_LEARNING_RATE
                } else {
                    LEARNING_RATE
                });
                state.data = Some(data);
            }
            let data = state.data.as_ref().expect("built above");
            let model = state.model.as_mut().ok_or_else(no_model)?;
            state.running = None;
            let mut losses = Vec::with_capacity(steps as usize);
            for _ in 0..steps {
                let indices: Vec<usize> = (0..batch.max(1))
                    .map(|_| state.batch_rng.below(data.train_windows.len() as u64) as usize)
                    .collect();
                let windows = data.train_batch(&indices, strategy, &mut state.batch_rng);
                losses.push(model.train_step(&windows));
            }
            losses
        };
        let values = read_losses(losses).await.map_err(js_error)?;
        Ok(js_sys::Float32Array::from(values.as_slice()))
    }

    /// The model's weights file (what `genlab train csdi` writes).
    #[wasm_bindgen(js_name = saveModel)]
    pub async fn save_model(&self) -> Result<Vec<u8>, JsError> {
        let pending = {
            let state = self.state.borrow();
            let model = state.model.as_ref().ok_or_else(no_model)?;
            model.save(&[])
        };
        pending.bytes().await.map_err(js_error)
    }
}

#[derive(Serialize)]
struct Stretch {
    feature: usize,
    first: usize,
    last: usize,
}

/// The painted stretches of a CSDI link's `hide`: `[{feature, first, last}]`.
#[wasm_bindgen(js_name = hiddenStretches)]
pub fn hidden_stretches(hide: &str) -> Result<JsValue, JsError> {
    let stretches: HiddenStretches = hide.parse().map_err(js_error)?;
    let list: Vec<Stretch> = stretches
        .0
        .iter()
        .map(|s| Stretch {
            feature: s.feature,
            first: s.first,
            last: s.last,
        })
        .collect();
    to_js(&list)
}

/// `hide` with time steps `from..=to` (either order) of `feature` painted over too.
#[wasm_bindgen(js_name = addHiddenStretch)]
pub fn add_hidden_stretch(
    hide: &str,
    feature: usize,
    from: usize,
    to: usize,
) -> Result<String, JsError> {
    let mut stretches: HiddenStretches = hide.parse().map_err(js_error)?;
    stretches.0.push(HiddenStretch {
        feature,
        first: from.min(to),
        last: from.max(to),
    });
    Ok(stretches.to_string())
}

#[derive(Serialize)]
struct SeriesLabFacts {
    /// Windows per fine-tuning step (the CLI's `csdi train` default).
    train_batch: usize,
}

/// What the CSDI view fine-tunes with: `{train_batch}`.
#[wasm_bindgen(js_name = seriesLabFacts)]
pub fn series_lab_facts() -> Result<JsValue, JsError> {
    to_js(&SeriesLabFacts {
        train_batch: crate::series::csdi::BATCH,
    })
}
