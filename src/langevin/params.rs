//! The Langevin demo's parameters: one struct whose fields are the link's keys and the CLI's
//! flags, and the compact link values it holds (a 2×2 SPD matrix, a painted density).

use serde::{Deserialize, Serialize};

use crate::core::link::{
    check_positive, check_range, choice_names, finite_number, FieldProblem, UrlParams,
};
use crate::named_choice;

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

crate::serde_as_text!(Sym2, Painting);

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
            (
                "density",
                choice_names(DensityPreset::ALL, DensityPreset::name),
            ),
            ("sampler", choice_names(SamplerName::ALL, SamplerName::name)),
            ("score", choice_names(ScoreSource::ALL, ScoreSource::name)),
            ("denoise", vec!["true", "false"]),
        ]
    }
}
