//! The page's state as it lives in the URL hash: `#demo=langevin&backend=auto&seed=0&…`.
//!
//! Every demo has one typed parameter struct; its serde field names are the link's keys and the
//! CLI's flags. Decoding never fails: each key is applied on its own, and a key that is unknown,
//! malformed or out of range leaves that field at its default and adds a notice for the page.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Number, Value};

use crate::backend::BackendChoice;
use crate::named_choice;

/// A field whose value parses but makes no sense (a range, a matrix that is not SPD).
#[derive(Clone, Debug, PartialEq)]
pub struct FieldProblem {
    pub field: &'static str,
    pub message: String,
}

impl FieldProblem {
    pub fn new(field: &'static str, message: impl Into<String>) -> Self {
        Self {
            field,
            message: message.into(),
        }
    }
}

/// A demo's parameters, round-tripped through the link.
pub trait UrlParams:
    Serialize + DeserializeOwned + Default + Clone + PartialEq + std::fmt::Debug
{
    /// Checks that types alone cannot express. An empty list means the state is usable.
    fn problems(&self) -> Vec<FieldProblem>;

    /// Option lists of the fields that take one of a closed set of names, for the page's controls.
    fn choices() -> Vec<(&'static str, Vec<&'static str>)>;
}

fn names<T: Copy>(all: &[T], name: fn(T) -> &'static str) -> Vec<&'static str> {
    all.iter().map(|c| name(*c)).collect()
}

fn check_range<T: PartialOrd + std::fmt::Display + Copy>(
    problems: &mut Vec<FieldProblem>,
    field: &'static str,
    value: T,
    low: T,
    high: T,
) {
    if !(value >= low && value <= high) {
        problems.push(FieldProblem::new(
            field,
            format!("{value} is outside {low}…{high}"),
        ));
    }
}

fn check_positive(problems: &mut Vec<FieldProblem>, field: &'static str, value: f64, high: f64) {
    if !(value > 0.0 && value <= high) {
        problems.push(FieldProblem::new(
            field,
            format!("{value} must be above 0 and at most {high}"),
        ));
    }
}

named_choice! {
    /// The three demos of the page.
    pub enum Demo { Langevin = "langevin", Mnist = "mnist", Csdi = "csdi" } default Langevin
}

named_choice! {
    pub enum DensityPreset {
        Gmm150 = "gmm150", TwoModes = "two-modes", Ring = "ring", Spiral = "spiral", Painted = "painted",
    } default Gmm150
}

named_choice! {
    pub enum SamplerName {
        GradientAscent = "ga", Ula = "ula", UlaAniso = "ula-aniso", Pula = "pula", Mala = "mala",
        Annealed = "annealed", SdeVe = "sde-ve", SdeVp = "sde-vp", PredictorCorrector = "pc", Ode = "ode",
    } default Ula
}

named_choice! {
    pub enum ScoreSource { Exact = "exact", Learned = "learned", Kde = "kde" } default Exact
}

/// A 2×2 symmetric matrix `[[a, b], [b, d]]`, written `a,b,d` in links and on the command line.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sym2 {
    pub a: f64,
    pub b: f64,
    pub d: f64,
}

impl Sym2 {
    pub fn is_spd(&self) -> bool {
        self.a > 0.0 && self.a * self.d - self.b * self.b > 0.0
    }
}

impl std::fmt::Display for Sym2 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{},{},{}", self.a, self.b, self.d)
    }
}

/// A finite number in a compact link value, or why not.
fn finite_number(text: &str) -> Result<f64, String> {
    text.trim()
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
        .ok_or_else(|| format!("`{text}` is not a finite number"))
}

impl std::str::FromStr for Sym2 {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let parts: Vec<&str> = text.split(',').collect();
        let [a, b, d] = parts.as_slice() else {
            return Err(format!("`{text}` is not three numbers a,b,d"));
        };
        Ok(Self {
            a: finite_number(a)?,
            b: finite_number(b)?,
            d: finite_number(d)?,
        })
    }
}

/// A density painted on the canvas: brush dabs in world units, each an isotropic Gaussian of
/// standard deviation `brush`. Written `brush;x,y;x,y;…` in links, so a painting is shared like
/// any other parameter.
#[derive(Clone, Debug, PartialEq)]
pub struct Painting {
    pub brush: f64,
    pub dabs: Vec<[f64; 2]>,
}

/// More dabs would make links too long for some browsers and servers.
pub const MAX_DABS: usize = 400;

impl Default for Painting {
    fn default() -> Self {
        Self {
            brush: 0.6,
            dabs: Vec::new(),
        }
    }
}

impl std::fmt::Display for Painting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.brush)?;
        for [x, y] in &self.dabs {
            write!(f, ";{x},{y}")?;
        }
        Ok(())
    }
}

impl std::str::FromStr for Painting {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let mut parts = text.split(';');
        let brush = finite_number(parts.next().unwrap_or_default())?;
        if brush <= 0.0 {
            return Err(format!("brush width {brush} must be positive"));
        }
        let dabs = parts
            .map(|dab| match dab.split_once(',') {
                Some((x, y)) => Ok([finite_number(x)?, finite_number(y)?]),
                None => Err(format!("`{dab}` is not a point x,y")),
            })
            .collect::<Result<Vec<_>, _>>()?;
        if dabs.len() > MAX_DABS {
            return Err(format!(
                "{} brush dabs; a link holds at most {MAX_DABS}",
                dabs.len()
            ));
        }
        Ok(Self { brush, dabs })
    }
}

/// Stretches of the CSDI window the user painted over to hide: `(feature, first, last)` with
/// `first..=last` time steps of the window. Written `feature:first-last,…` in links (empty: none).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HiddenStretches(pub Vec<HiddenStretch>);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HiddenStretch {
    pub feature: usize,
    pub first: usize,
    pub last: usize,
}

/// More stretches than a user paints by hand; keeps links short.
pub const MAX_STRETCHES: usize = 200;

impl HiddenStretches {
    /// `[len, features]`: true on the painted cells that fall inside such a window.
    pub fn mask(&self, len: usize, features: usize) -> Vec<bool> {
        let mut mask = vec![false; len * features];
        for s in self.0.iter().filter(|s| s.feature < features) {
            for t in s.first..=s.last.min(len.saturating_sub(1)) {
                mask[t * features + s.feature] = true;
            }
        }
        mask
    }
}

impl std::fmt::Display for HiddenStretches {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, s) in self.0.iter().enumerate() {
            let comma = if i == 0 { "" } else { "," };
            write!(f, "{comma}{}:{}-{}", s.feature, s.first, s.last)?;
        }
        Ok(())
    }
}

impl std::str::FromStr for HiddenStretches {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let whole = |part: &str, what: &str| {
            part.trim()
                .parse::<usize>()
                .map_err(|_| format!("`{part}` is not a {what} (a whole number)"))
        };
        let stretches = text
            .split(',')
            .filter(|part| !part.trim().is_empty())
            .map(|part| {
                let (feature, span) = part
                    .split_once(':')
                    .ok_or_else(|| format!("`{part}` is not feature:first-last"))?;
                let (first, last) = span.split_once('-').unwrap_or((span, span));
                let stretch = HiddenStretch {
                    feature: whole(feature, "feature")?,
                    first: whole(first, "time step")?,
                    last: whole(last, "time step")?,
                };
                if stretch.first > stretch.last {
                    return Err(format!("`{part}`: the stretch ends before it starts"));
                }
                Ok(stretch)
            })
            .collect::<Result<Vec<_>, String>>()?;
        if stretches.len() > MAX_STRETCHES {
            return Err(format!(
                "{} painted stretches; a link holds at most {MAX_STRETCHES}",
                stretches.len()
            ));
        }
        Ok(Self(stretches))
    }
}

/// Link values with a compact text form (`a,b,d`, `brush;x,y;…`) serialise as that text.
macro_rules! serde_as_text {
    ($($name:ty),*) => {$(
        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_str(self)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = String::deserialize(deserializer)?;
                text.parse().map_err(serde::de::Error::custom)
            }
        }
    )*};
}

serde_as_text!(Sym2, Painting, HiddenStretches);

/// Demo 1: Langevin particles on 2-D densities.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct LangevinParams {
    pub density: DensityPreset,
    pub sampler: SamplerName,
    pub score: ScoreSource,
    pub steps: u32,
    pub particles: u32,
    pub tau: f64,
    /// Weight of the first mode of `two-modes`.
    pub p: f64,
    /// Σ of the anisotropic samplers.
    pub noise_cov: Sym2,
    /// Annealing: number of noise levels L, steps per level T, step scale ε, final denoising.
    pub levels: u32,
    pub steps_per_level: u32,
    pub eps: f64,
    pub denoise: bool,
    /// Training steps of the learned score network before sampling starts.
    pub score_steps: u32,
    /// The painted density (`density = painted`).
    pub paint: Painting,
    pub seed: u64,
}

impl Default for LangevinParams {
    fn default() -> Self {
        Self {
            density: DensityPreset::default(),
            sampler: SamplerName::default(),
            score: ScoreSource::default(),
            steps: 500,
            particles: 10_000,
            tau: 0.01,
            p: 0.2,
            noise_cov: Sym2 {
                a: 2.0,
                b: 0.4,
                d: 0.4,
            },
            levels: 20,
            steps_per_level: 50,
            eps: 2e-5,
            denoise: true,
            score_steps: 2000,
            paint: Painting::default(),
            seed: 0,
        }
    }
}

impl UrlParams for LangevinParams {
    fn problems(&self) -> Vec<FieldProblem> {
        let mut problems = Vec::new();
        check_range(&mut problems, "steps", self.steps, 1, 1_000_000);
        check_range(&mut problems, "particles", self.particles, 1, 1_000_000);
        check_positive(&mut problems, "tau", self.tau, 10.0);
        if !(self.p > 0.0 && self.p < 1.0) {
            problems.push(FieldProblem::new(
                "p",
                format!("{} must lie strictly between 0 and 1", self.p),
            ));
        }
        if !self.noise_cov.is_spd() {
            problems.push(FieldProblem::new(
                "noise-cov",
                format!(
                    "[[{a}, {b}], [{b}, {d}]] is not symmetric positive definite",
                    a = self.noise_cov.a,
                    b = self.noise_cov.b,
                    d = self.noise_cov.d
                ),
            ));
        }
        check_range(&mut problems, "levels", self.levels, 1, 1000);
        check_range(
            &mut problems,
            "steps-per-level",
            self.steps_per_level,
            1,
            10_000,
        );
        check_range(&mut problems, "score-steps", self.score_steps, 0, 1_000_000);
        check_positive(&mut problems, "eps", self.eps, 1.0);
        problems
    }

    fn choices() -> Vec<(&'static str, Vec<&'static str>)> {
        vec![
            ("density", names(DensityPreset::ALL, DensityPreset::name)),
            ("sampler", names(SamplerName::ALL, SamplerName::name)),
            ("score", names(ScoreSource::ALL, ScoreSource::name)),
            ("denoise", vec!["true", "false"]),
        ]
    }
}

named_choice! {
    pub enum Dataset { Mnist = "mnist", Fashion = "fashion" } default Mnist
}

named_choice! {
    pub enum ImageModel {
        Ddpm = "ddpm", Vae = "vae", Dcgan = "dcgan", Wgan = "wgan", RealNvp = "realnvp", Ncsn = "ncsn",
    } default Vae
}

named_choice! {
    pub enum BetaSchedule { Linear = "linear", Cosine = "cosine" } default Linear
}

/// Demo 2: image generation. `class = -1` samples every class.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct MnistParams {
    pub dataset: Dataset,
    pub model: ImageModel,
    pub schedule: BetaSchedule,
    pub class: i32,
    pub guidance: f64,
    pub steps: u32,
    pub eta: f64,
    pub n: u32,
    pub seed: u64,
}

impl Default for MnistParams {
    fn default() -> Self {
        Self {
            dataset: Dataset::default(),
            model: ImageModel::default(),
            schedule: BetaSchedule::default(),
            class: -1,
            guidance: crate::ddpm::default_guidance(Dataset::default().name()),
            steps: crate::ddpm::DEFAULT_SAMPLE_STEPS as u32,
            eta: 0.0,
            n: 16,
            seed: 0,
        }
    }
}

impl UrlParams for MnistParams {
    fn problems(&self) -> Vec<FieldProblem> {
        let mut problems = Vec::new();
        check_range(&mut problems, "class", self.class, -1, 9);
        check_range(&mut problems, "guidance", self.guidance, 0.0, 20.0);
        check_range(&mut problems, "steps", self.steps, 1, 1000);
        check_range(&mut problems, "eta", self.eta, 0.0, 1.0);
        check_range(&mut problems, "n", self.n, 1, 256);
        problems
    }

    fn choices() -> Vec<(&'static str, Vec<&'static str>)> {
        vec![
            ("dataset", names(Dataset::ALL, Dataset::name)),
            ("model", names(ImageModel::ALL, ImageModel::name)),
            ("schedule", names(BetaSchedule::ALL, BetaSchedule::name)),
        ]
    }
}

named_choice! {
    pub enum MaskStrategy { Random = "random", Historical = "historical", Mix = "mix", TestPattern = "test-pattern" } default Mix
}

named_choice! {
    /// Which shipped CSDI weights impute: the small network the page defaults to (quick on the
    /// CPU path), or the paper's size.
    pub enum CsdiNetwork { Small = "small", Paper = "paper" } default Small
}

impl CsdiNetwork {
    /// The file under `www/models/` that holds this network's weights for the shipped series.
    pub fn weights_file(self) -> &'static str {
        match self {
            CsdiNetwork::Small => "csdi-air-pm10.bpk",
            CsdiNetwork::Paper => "csdi-air-pm10-paper.bpk",
        }
    }
}

/// Demo 3: CSDI imputation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct CsdiParams {
    pub network: CsdiNetwork,
    pub strategy: MaskStrategy,
    pub nsample: u32,
    pub hide_ratio: f64,
    pub feature: u32,
    pub window: u32,
    /// Stretches of the window painted over to hide, on top of `hide-ratio` of random ones.
    pub hide: HiddenStretches,
    pub seed: u64,
}

impl Default for CsdiParams {
    fn default() -> Self {
        Self {
            network: CsdiNetwork::default(),
            strategy: MaskStrategy::default(),
            nsample: 100,
            hide_ratio: 0.1,
            feature: 0,
            window: 0,
            hide: HiddenStretches::default(),
            seed: 0,
        }
    }
}

impl UrlParams for CsdiParams {
    fn problems(&self) -> Vec<FieldProblem> {
        let mut problems = Vec::new();
        check_range(&mut problems, "nsample", self.nsample, 1, 1000);
        if !(self.hide_ratio >= 0.0 && self.hide_ratio < 1.0) {
            problems.push(FieldProblem::new(
                "hide-ratio",
                format!("{} must lie in [0, 1)", self.hide_ratio),
            ));
        }
        check_range(&mut problems, "feature", self.feature, 0, 9_999);
        check_range(&mut problems, "window", self.window, 0, 99_999);
        problems
    }

    fn choices() -> Vec<(&'static str, Vec<&'static str>)> {
        vec![
            ("network", names(CsdiNetwork::ALL, CsdiNetwork::name)),
            ("strategy", names(MaskStrategy::ALL, MaskStrategy::name)),
        ]
    }
}

/// The whole page: which demo, which backend, and every demo's parameters (only the active
/// demo's go into the link).
#[derive(Clone, Debug, PartialEq, Default)]
pub struct PageState {
    pub demo: Demo,
    pub backend: BackendChoice,
    pub langevin: LangevinParams,
    pub mnist: MnistParams,
    pub csdi: CsdiParams,
}

/// A decoded link: always a usable state, plus what was wrong with the link.
#[derive(Clone, Debug, PartialEq)]
pub struct Decoded {
    pub state: PageState,
    pub notices: Vec<String>,
}

impl PageState {
    /// The canonical hash (without `#`): demo, backend, then the active demo's fields by name.
    pub fn to_hash(&self) -> String {
        let mut pairs = vec![
            ("demo".to_string(), self.demo.name().to_string()),
            ("backend".to_string(), self.backend.name().to_string()),
        ];
        pairs.extend(match self.demo {
            Demo::Langevin => encode_params(&self.langevin),
            Demo::Mnist => encode_params(&self.mnist),
            Demo::Csdi => encode_params(&self.csdi),
        });
        pairs
            .iter()
            .map(|(k, v)| format!("{}={}", percent_encode(k), percent_encode(v)))
            .collect::<Vec<_>>()
            .join("&")
    }

    /// Reads a hash (with or without `#`). Never fails; see [`Decoded::notices`].
    pub fn from_hash(hash: &str) -> Decoded {
        let mut notices = Vec::new();
        let mut state = PageState::default();
        let mut rest = Vec::new();
        for (key, value) in split_pairs(hash.strip_prefix('#').unwrap_or(hash), &mut notices) {
            match key.as_str() {
                "demo" => match value.parse() {
                    Ok(demo) => state.demo = demo,
                    Err(why) => notices.push(format!("demo: {why}; showing {}", state.demo)),
                },
                "backend" => match value.parse() {
                    Ok(backend) => state.backend = backend,
                    Err(why) => notices.push(format!("backend: {why}; using {}", state.backend)),
                },
                _ => rest.push((key, value)),
            }
        }
        match state.demo {
            Demo::Langevin => state.langevin = decode_params(&rest, &mut notices),
            Demo::Mnist => {
                state.mnist = decode_params(&rest, &mut notices);
                // A link without a guidance weight gets its dataset's, not the first dataset's.
                if !rest.iter().any(|(key, _)| key == "guidance") {
                    state.mnist.guidance =
                        crate::ddpm::default_guidance(state.mnist.dataset.name());
                }
            }
            Demo::Csdi => state.csdi = decode_params(&rest, &mut notices),
        }
        Decoded { state, notices }
    }

    /// The active demo's parameters as a JSON object (for the page's controls).
    pub fn params_json(&self) -> Value {
        match self.demo {
            Demo::Langevin => to_object(&self.langevin).into(),
            Demo::Mnist => to_object(&self.mnist).into(),
            Demo::Csdi => to_object(&self.csdi).into(),
        }
    }

    pub fn choices(demo: Demo) -> Vec<(&'static str, Vec<&'static str>)> {
        match demo {
            Demo::Langevin => LangevinParams::choices(),
            Demo::Mnist => MnistParams::choices(),
            Demo::Csdi => CsdiParams::choices(),
        }
    }
}

fn to_object<T: Serialize>(params: &T) -> Map<String, Value> {
    match serde_json::to_value(params) {
        Ok(Value::Object(map)) => map,
        other => unreachable!("parameter structs serialize to objects, got {other:?}"),
    }
}

fn encode_params<T: UrlParams>(params: &T) -> Vec<(String, String)> {
    to_object(params)
        .into_iter()
        .map(|(key, value)| {
            let text = match value {
                Value::String(s) => s,
                other => other.to_string(),
            };
            (key, text)
        })
        .collect()
}

/// Applies each pair on its own over the defaults; later pairs win over earlier ones, and a
/// rejected pair leaves whatever value the field had.
pub fn decode_params<T: UrlParams>(pairs: &[(String, String)], notices: &mut Vec<String>) -> T {
    let defaults = to_object(&T::default());
    let mut current = defaults.clone();
    for (key, raw) in pairs {
        let Some(template) = defaults.get(key) else {
            notices.push(format!("unknown parameter `{key}` ignored"));
            continue;
        };
        let accepted = parse_like(template, raw).and_then(|value| {
            let mut candidate = current.clone();
            candidate.insert(key.clone(), value);
            serde_json::from_value::<T>(Value::Object(candidate.clone()))
                .map(|_| candidate)
                .map_err(|e| e.to_string())
        });
        match accepted {
            Ok(candidate) => current = candidate,
            Err(why) => notices.push(format!(
                "{key}: `{raw}` rejected ({why}); kept {}",
                display_value(&current[key])
            )),
        }
    }
    // Out-of-range fields go back to their defaults, one at a time, so a cross-field check
    // settles; the number of rounds is bounded by the number of fields.
    for _ in 0..=defaults.len() {
        let params: T = serde_json::from_value(Value::Object(current.clone()))
            .expect("every accepted field deserialized on its own");
        let problems = params.problems();
        let Some(problem) = problems.first() else {
            return params;
        };
        let default = defaults[problem.field].clone();
        notices.push(format!(
            "{}: {}; using the default {}",
            problem.field,
            problem.message,
            display_value(&default)
        ));
        current.insert(problem.field.to_string(), default);
    }
    notices.push("parameters were inconsistent; using all defaults".into());
    T::default()
}

fn display_value(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Turns the link's text into a JSON value of the same kind as the field's default.
fn parse_like(template: &Value, raw: &str) -> Result<Value, String> {
    match template {
        Value::Bool(_) => match raw {
            "true" | "1" => Ok(Value::Bool(true)),
            "false" | "0" => Ok(Value::Bool(false)),
            _ => Err("expected true or false".into()),
        },
        Value::Number(_) => {
            if let Ok(n) = raw.parse::<u64>() {
                return Ok(Value::Number(n.into()));
            }
            if let Ok(n) = raw.parse::<i64>() {
                return Ok(Value::Number(n.into()));
            }
            raw.parse::<f64>()
                .ok()
                .and_then(Number::from_f64)
                .map(Value::Number)
                .ok_or_else(|| "not a finite number".into())
        }
        Value::String(_) => Ok(Value::String(raw.to_string())),
        _ => serde_json::from_str(raw).map_err(|e| e.to_string()),
    }
}

fn split_pairs(hash: &str, notices: &mut Vec<String>) -> Vec<(String, String)> {
    let mut pairs = Vec::new();
    for segment in hash.split('&').filter(|s| !s.is_empty()) {
        let Some((key, value)) = segment.split_once('=') else {
            notices.push(format!("`{}` is not key=value; ignored", shorten(segment)));
            continue;
        };
        match (percent_decode(key), percent_decode(value)) {
            (Ok(key), Ok(value)) => pairs.push((key, value)),
            _ => notices.push(format!(
                "`{}` has a broken %-escape; ignored",
                shorten(segment)
            )),
        }
    }
    pairs
}

fn shorten(text: &str) -> String {
    const MAX: usize = 40;
    if text.chars().count() <= MAX {
        text.to_string()
    } else {
        format!("{}…", text.chars().take(MAX).collect::<String>())
    }
}

fn is_unreserved(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"-_.~,".contains(&byte)
}

pub fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if is_unreserved(byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

pub fn percent_decode(text: &str) -> Result<String, String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or("broken %-escape")?;
            out.push(hex);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| "not UTF-8".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_hash_gives_defaults_without_notices() {
        let decoded = PageState::from_hash("");
        assert_eq!(decoded.state, PageState::default());
        assert!(decoded.notices.is_empty());
    }

    #[test]
    fn bad_values_keep_defaults_and_say_so() {
        let decoded = PageState::from_hash(
            "#demo=langevin&steps=abc&tau=-1&noise-cov=1,2,1&colour=red&p=NaN",
        );
        let d = LangevinParams::default();
        assert_eq!(decoded.state.langevin, d);
        for word in ["steps", "tau", "noise-cov", "colour", "p:"] {
            assert!(
                decoded.notices.iter().any(|n| n.contains(word)),
                "no notice about {word}: {:?}",
                decoded.notices
            );
        }
    }

    #[test]
    fn a_rejected_later_value_keeps_the_earlier_one() {
        let decoded = PageState::from_hash("steps=42&steps=oops");
        assert_eq!(decoded.state.langevin.steps, 42);
        assert_eq!(decoded.notices.len(), 1);
    }

    #[test]
    fn floats_survive_exactly() {
        let mut state = PageState::default();
        state.langevin.tau = 0.1 + 0.2;
        state.langevin.eps = 1.234_567_890_123_456_7e-7;
        let decoded = PageState::from_hash(&state.to_hash());
        assert!(decoded.notices.is_empty(), "{:?}", decoded.notices);
        assert_eq!(decoded.state, state);
    }

    #[test]
    fn percent_coding_round_trips_unicode() {
        let text = "a b&c=d%é☃";
        assert_eq!(percent_decode(&percent_encode(text)).unwrap(), text);
        assert!(percent_decode("%e").is_err());
        assert!(percent_decode("%ff").is_err());
    }
}
