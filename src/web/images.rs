//! The wasm-bindgen surface of the image lab: one dataset (decoded from its page file), the
//! shipped classifier and the evaluation toolkit, and one generator from the registry. The page
//! draws what these return; every number is computed here, by the code the CLI runs.

use std::cell::RefCell;
use std::rc::Rc;

use serde::Serialize;
use wasm_bindgen::prelude::*;

use crate::core::rng::SeededRng;
use crate::core::training::{read_f32, read_losses};
use crate::images::classifier::Classifier;
use crate::images::datasets::{CLASSES, PIXELS, SIDE};
use crate::images::diffusion::{DiffusionSchedule, DEFAULT_STEPS};
use crate::images::evaluation::{Evaluator, ReferenceImages};
use crate::images::generator::{
    ClassChoice, ClassFilter, Generator, ImageBatch, ModelOptions, SampleRequest,
};
use crate::images::registry::{find_generator, generators};
use crate::io::idx::{
    page_header_len, read_page_bin, read_page_header, LabelledImages, PageData, Split,
};
use crate::web::{device_for, js_error, to_js};

#[derive(Serialize)]
struct GeneratorInfo {
    name: &'static str,
    summary: &'static str,
    conditional: bool,
    /// A denoising diffusion model: the page shows its forward-noising strip and sweep plots.
    diffusion: bool,
}

/// The registered image models: `[{name, summary, conditional, diffusion}]`.
#[wasm_bindgen(js_name = imageModels)]
pub fn image_models() -> Result<JsValue, JsError> {
    let list: Vec<GeneratorInfo> = generators()
        .iter()
        .map(|g| GeneratorInfo {
            name: g.name,
            summary: g.summary,
            conditional: g.conditional,
            diffusion: g.name == crate::images::ddpm::GENERATOR.name,
        })
        .collect();
    to_js(&list)
}

#[derive(Serialize)]
struct ImageLabFacts {
    /// Images are `side × side` grey pixels, `pixels` of them.
    side: usize,
    pixels: usize,
    classes: usize,
    /// `T` of the forward-noising strip ([`ImageLab::noising_strip`]): times run `0..=T`.
    diffusion_steps: usize,
}

/// What the page draws images and the noising strip with: `{side, pixels, classes,
/// diffusion_steps}`.
#[wasm_bindgen(js_name = imageLabFacts)]
pub fn image_lab_facts() -> Result<JsValue, JsError> {
    to_js(&ImageLabFacts {
        side: SIDE,
        pixels: PIXELS,
        classes: CLASSES,
        diffusion_steps: DEFAULT_STEPS,
    })
}

/// The link's `class` (`all`, `0`…`9`; nothing: every class) as what a draw asks for.
fn class_choice(class: Option<String>) -> Result<ClassChoice, JsError> {
    let filter: ClassFilter = match class {
        Some(text) => text.parse().map_err(js_error)?,
        None => ClassFilter::Every,
    };
    Ok(match filter.only() {
        Some(class) => ClassChoice::Only(class),
        None => ClassChoice::CYCLE,
    })
}

/// The one class a link's `class` asks for, or nothing for every class.
#[wasm_bindgen(js_name = onlyClass)]
pub fn only_class(class: &str) -> Result<Option<u8>, JsError> {
    let filter: ClassFilter = class.parse().map_err(js_error)?;
    Ok(filter.only())
}

/// The class each of `count` samples is drawn for by [`ImageLab::sample`] with this `class`
/// (the labels its class accuracy is judged against).
#[wasm_bindgen(js_name = sampleClasses)]
pub fn sample_classes(count: usize, class: Option<String>) -> Result<Vec<u8>, JsError> {
    Ok(class_choice(class)?.for_samples(count))
}

/// The link's guidance weight for a dataset unless it says otherwise: the diffusion model's
/// (the only guided model; the others ignore the field).
#[wasm_bindgen(js_name = defaultGuidance)]
pub fn default_guidance(dataset: &str) -> f64 {
    crate::images::ddpm::default_guidance(dataset)
}

/// A page file's total length, read from its header once `prefix` holds it (`None` before):
/// the download progress of a server that sends no `Content-Length`.
#[wasm_bindgen(js_name = pageFileLength)]
pub fn page_file_length(prefix: &[u8]) -> Option<usize> {
    let needed = page_header_len(prefix)?;
    if prefix.len() < needed {
        return None;
    }
    read_page_header(prefix).ok().map(|header| header.file_len)
}

#[derive(Serialize)]
struct DatasetInfo<'a> {
    name: &'a str,
    title: &'a str,
    classes: &'a [String],
    source: &'a str,
    license: &'a str,
    train: usize,
    test: usize,
}

#[derive(Serialize)]
struct ClassifierCheck {
    accuracy: f64,
    n: usize,
    predicted: Vec<u8>,
}

#[derive(Serialize)]
struct GeneratorState {
    name: &'static str,
    steps: usize,
    parameters: usize,
    loss_name: &'static str,
}

struct ImageLabState {
    data: PageData,
    classifier: Option<Classifier>,
    evaluator: Option<Rc<Evaluator>>,
    generator: Option<Box<dyn Generator>>,
    batch_rng: SeededRng,
}

impl ImageLabState {
    fn generator(&self) -> Result<&dyn Generator, JsError> {
        self.generator.as_deref().ok_or_else(no_generator)
    }

    fn generator_mut(&mut self) -> Result<&mut Box<dyn Generator>, JsError> {
        self.generator.as_mut().ok_or_else(no_generator)
    }
}

fn no_generator() -> JsError {
    js_error("no generator yet")
}

#[wasm_bindgen]
pub struct ImageLab {
    state: Rc<RefCell<ImageLabState>>,
}

impl ImageLab {
    fn split(&self, split: &str) -> Result<std::cell::Ref<'_, LabelledImages>, JsError> {
        let split: Split = split.parse().map_err(js_error)?;
        Ok(std::cell::Ref::map(self.state.borrow(), |s| match split {
            Split::Train => &s.data.train,
            Split::Test => &s.data.test,
        }))
    }

    fn classifier(&self) -> Result<Classifier, JsError> {
        self.state
            .borrow()
            .classifier
            .clone()
            .ok_or_else(|| js_error("the classifier has not been loaded"))
    }
}

#[wasm_bindgen]
impl ImageLab {
    /// Decodes a dataset's page file (`www/data/<set>.bin`); rejects with the reason a file is
    /// not one.
    #[wasm_bindgen(constructor)]
    pub fn new(bytes: &[u8]) -> Result<ImageLab, JsError> {
        let data = read_page_bin(bytes).map_err(js_error)?;
        Ok(ImageLab {
            state: Rc::new(RefCell::new(ImageLabState {
                data,
                classifier: None,
                evaluator: None,
                generator: None,
                batch_rng: SeededRng::new(0),
            })),
        })
    }

    /// `{name, title, classes, source, license, train, test}`.
    pub fn info(&self) -> Result<JsValue, JsError> {
        let state = self.state.borrow();
        let meta = &state.data.meta;
        to_js(&DatasetInfo {
            name: &meta.name,
            title: &meta.title,
            classes: &meta.classes,
            source: &meta.source,
            license: &meta.license,
            train: state.data.train.count,
            test: state.data.test.count,
        })
    }

    /// Pixels (8-bit, row-major) of images `start..start+count` of `train` or `test`.
    pub fn images(&self, split: &str, start: usize, count: usize) -> Result<Vec<u8>, JsError> {
        let data = self.split(split)?;
        let end = (start + count).min(data.count);
        let start = start.min(end);
        Ok(data.images[start * PIXELS..end * PIXELS].to_vec())
    }

    pub fn labels(&self, split: &str, start: usize, count: usize) -> Result<Vec<u8>, JsError> {
        let data = self.split(split)?;
        let end = (start + count).min(data.count);
        Ok(data.labels[start.min(end)..end].to_vec())
    }

    /// The forward process `x_t = √ᾱ_t x_0 + √(1−ᾱ_t) ε` of image `index` of `split` at each
    /// of `times`, one noise draw from `seed`: `times.len() × pixels` values in `[0, 1]`.
    #[wasm_bindgen(js_name = noisingStrip)]
    pub fn noising_strip(
        &self,
        split: &str,
        index: usize,
        schedule: &str,
        times: Vec<u32>,
        seed: f64,
    ) -> Result<js_sys::Float32Array, JsError> {
        let kind = schedule.parse().map_err(js_error)?;
        let schedule = DiffusionSchedule::new(kind, DEFAULT_STEPS);
        let data = self.split(split)?;
        if index >= data.count {
            return Err(js_error(format!("there is no image {index} in {split}")));
        }
        let times: Vec<usize> = times.into_iter().map(|t| t as usize).collect();
        let strip = schedule.noising_strip(data.image(index), &times, seed as u64);
        Ok(js_sys::Float32Array::from(strip.as_slice()))
    }

    /// `[√ᾱ_t, √(1−ᾱ_t)]` for each of `times` under `schedule`.
    #[wasm_bindgen(js_name = noisingCoefficients)]
    pub fn noising_coefficients(schedule: &str, times: Vec<u32>) -> Result<Vec<f64>, JsError> {
        let kind = schedule.parse().map_err(js_error)?;
        let schedule = DiffusionSchedule::new(kind, DEFAULT_STEPS);
        Ok(times
            .iter()
            .flat_map(|&t| {
                let (signal, spread) = schedule.noising((t as usize).min(schedule.steps()));
                [signal, spread]
            })
            .collect())
    }

    /// Loads classifier weights for this dataset on `backend`; a wrong file is refused with a
    /// message and the current classifier stays.
    #[wasm_bindgen(js_name = loadClassifier)]
    pub fn load_classifier(&self, bytes: &[u8], backend: &str) -> Result<(), JsError> {
        let device = device_for(backend).map_err(js_error)?;
        let dataset = self.state.borrow().data.meta.name.clone();
        let classifier = Classifier::from_bytes(bytes, &dataset, &device).map_err(js_error)?;
        let mut state = self.state.borrow_mut();
        state.classifier = Some(classifier);
        state.evaluator = None;
        Ok(())
    }

    /// The classifier's accuracy on test images `start..start+count`:
    /// `{accuracy, n, predicted}`.
    #[wasm_bindgen(js_name = classifyTest)]
    pub async fn classify_test(&self, start: usize, count: usize) -> Result<JsValue, JsError> {
        let classifier = self.classifier()?;
        let (pixels, labels) = {
            let data = self.split("test")?;
            let end = (start + count).min(data.count);
            let start = start.min(end);
            (
                data.images[start * PIXELS..end * PIXELS].to_vec(),
                data.labels[start..end].to_vec(),
            )
        };
        let judged = classifier.judge_bytes(&pixels).await.map_err(js_error)?;
        to_js(&ClassifierCheck {
            accuracy: judged.accuracy(&labels),
            n: labels.len(),
            predicted: judged.predicted,
        })
    }

    /// Computes the reference feature statistics from the first `count` test images (FID is
    /// against them from then on).
    #[wasm_bindgen(js_name = prepareEvaluation)]
    pub async fn prepare_evaluation(&self, count: usize) -> Result<(), JsError> {
        let classifier = self.classifier()?;
        let reference = {
            let data = self.split("test")?;
            data.images[..count.min(data.count) * PIXELS].to_vec()
        };
        let evaluator = Evaluator::new(classifier, &reference)
            .await
            .map_err(js_error)?;
        self.state.borrow_mut().evaluator = Some(Rc::new(evaluator));
        Ok(())
    }

    fn evaluator(&self) -> Result<Rc<Evaluator>, JsError> {
        self.state
            .borrow()
            .evaluator
            .clone()
            .ok_or_else(|| js_error("call prepareEvaluation first"))
    }

    /// FID of `samples` (values in `[0, 1]`) and, given labels, class accuracy:
    /// `{fid, accuracy?, n}`.
    pub async fn evaluate(
        &self,
        samples: Vec<f32>,
        labels: Option<Vec<u8>>,
    ) -> Result<JsValue, JsError> {
        let evaluator = self.evaluator()?;
        let report = evaluator
            .evaluate(&samples, labels.as_deref())
            .await
            .map_err(js_error)?;
        to_js(&report)
    }

    /// The floor (train images) and ceilings (noise, mean image) at `n` samples.
    #[wasm_bindgen(js_name = referencePoints)]
    pub async fn reference_points(&self, n: usize, seed: f64) -> Result<JsValue, JsError> {
        let evaluator = self.evaluator()?;
        let images = ReferenceImages::draw(&*self.split("train")?, n, seed as u64);
        let points = evaluator
            .reference_points(&images)
            .await
            .map_err(js_error)?;
        to_js(&points)
    }

    /// Starts a fresh generator from the registry on `backend`.
    #[wasm_bindgen(js_name = newGenerator)]
    pub fn new_generator(
        &self,
        name: &str,
        backend: &str,
        seed: f64,
        schedule: &str,
    ) -> Result<JsValue, JsError> {
        let spec = find_generator(name).map_err(js_error)?;
        let options = ModelOptions {
            schedule: schedule.parse().map_err(js_error)?,
        };
        let device = device_for(backend).map_err(js_error)?;
        let mut state = self.state.borrow_mut();
        let dataset = state.data.meta.name.clone();
        state.generator = Some((spec.build)(&dataset, &device, seed as u64, &options));
        state.batch_rng = SeededRng::new(seed as u64 ^ 0x0062_6174_6368_6573);
        drop(state);
        self.generator_state()
    }

    /// `{name, steps, parameters, loss_name}` of the current generator.
    #[wasm_bindgen(js_name = generatorState)]
    pub fn generator_state(&self) -> Result<JsValue, JsError> {
        let state = self.state.borrow();
        let generator = state.generator()?;
        to_js(&GeneratorState {
            name: generator.name(),
            steps: generator.steps_trained(),
            parameters: generator.parameter_count(),
            loss_name: generator.loss_name(),
        })
    }

    /// Queues `steps` training steps on batches of `batch` training images; resolves to their
    /// losses, read back once.
    #[wasm_bindgen(js_name = trainGenerator)]
    pub async fn train_generator(
        &self,
        steps: u32,
        batch: usize,
    ) -> Result<js_sys::Float32Array, JsError> {
        let losses = {
            let mut guard = self.state.borrow_mut();
            let ImageLabState {
                data,
                generator,
                batch_rng,
                ..
            } = &mut *guard;
            let generator = generator.as_mut().ok_or_else(no_generator)?;
            let mut losses = Vec::with_capacity(steps as usize);
            for _ in 0..steps {
                let images =
                    ImageBatch::random(&data.train, batch, batch_rng, generator.train_device());
                losses.push(generator.train_step(images));
            }
            losses
        };
        let values = read_losses(losses).await.map_err(js_error)?;
        Ok(js_sys::Float32Array::from(values.as_slice()))
    }

    /// `count` samples (values in `[0, 1]`, `pixels` of [`image_lab_facts`] per image) of the
    /// link's `class` (`all`, `0`…`9`); without one, or with `all`, the classes cycle 0–9
    /// ([`sample_classes`]).
    pub async fn sample(
        &self,
        count: usize,
        class: Option<String>,
        guidance: f64,
        steps: u32,
        eta: f64,
        seed: f64,
    ) -> Result<js_sys::Float32Array, JsError> {
        let classes = class_choice(class)?;
        let images = {
            let state = self.state.borrow();
            let generator = state.generator()?;
            let request = SampleRequest {
                count,
                classes,
                guidance,
                steps: (steps > 0).then_some(steps as usize),
                guidance_limit: None,
                eta,
                seed: seed as u64,
            };
            generator.sample(&request).map_err(js_error)?
        };
        let pixels = read_f32(images).await.map_err(js_error)?;
        Ok(js_sys::Float32Array::from(pixels.as_slice()))
    }

    /// The generator's weights in burn's record format (the file `genlab train` writes).
    #[wasm_bindgen(js_name = saveGenerator)]
    pub async fn save_generator(&self) -> Result<Vec<u8>, JsError> {
        let pending = {
            let state = self.state.borrow();
            let generator = state.generator()?;
            generator.save()
        };
        pending.bytes().await.map_err(js_error)
    }

    /// Replaces the generator's weights (and its size, when the file records another); a file
    /// of another model or dataset is refused with a message and the current weights stay.
    #[wasm_bindgen(js_name = loadGenerator)]
    pub fn load_generator(&self, bytes: &[u8]) -> Result<JsValue, JsError> {
        {
            let mut state = self.state.borrow_mut();
            let generator = state.generator_mut()?;
            generator.load(bytes).map_err(js_error)?;
        }
        self.generator_state()
    }
}
