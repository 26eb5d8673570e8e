//! The image lab's parameters: one struct whose fields are the link's keys and the CLI's flags.

use serde::{Deserialize, Serialize};

use crate::core::link::{check_range, choice_names, FieldProblem, UrlParams};
use crate::images::diffusion::BetaSchedule;
use crate::images::generator::ClassFilter;
use crate::images::registry::{find_generator, generators};
use crate::named_choice;

named_choice! {
    pub enum Dataset { Mnist = "mnist", Fashion = "fashion" } default Mnist
}

/// Demo 2: image generation. `model` is a name of the registry (`images::registry`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct MnistParams {
    pub dataset: Dataset,
    pub model: String,
    pub schedule: BetaSchedule,
    pub class: ClassFilter,
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
            model: generators()[0].name.to_string(),
            schedule: BetaSchedule::default(),
            class: ClassFilter::Every,
            guidance: crate::images::ddpm::default_guidance(Dataset::default().name()),
            steps: crate::images::ddpm::DEFAULT_SAMPLE_STEPS as u32,
            eta: 0.0,
            n: 16,
            seed: 0,
        }
    }
}

impl UrlParams for MnistParams {
    fn problems(&self) -> Vec<FieldProblem> {
        let mut problems = Vec::new();
        if let Err(why) = find_generator(&self.model) {
            problems.push(FieldProblem::new("model", why));
        }
        check_range(&mut problems, "guidance", self.guidance, 0.0, 20.0);
        check_range(&mut problems, "steps", self.steps, 1, 1000);
        check_range(&mut problems, "eta", self.eta, 0.0, 1.0);
        check_range(&mut problems, "n", self.n, 1, 256);
        problems
    }

    fn choices() -> Vec<(&'static str, Vec<&'static str>)> {
        vec![
            ("dataset", choice_names(Dataset::ALL, Dataset::name)),
            ("model", generators().iter().map(|g| g.name).collect()),
            (
                "schedule",
                choice_names(BetaSchedule::ALL, BetaSchedule::name),
            ),
        ]
    }
}
