//! The page's state as it lives in the URL hash: `#demo=langevin&backend=auto&seed=0&…`.
//!
//! Every demo has one typed parameter struct; its serde field names are the link's keys and the
//! CLI's flags. Decoding never fails: each key is applied on its own, and a key that is unknown,
//! malformed or out of range leaves that field at its default and adds a notice for the page.

use serde_json::Value;

use crate::core::backend::BackendChoice;
use crate::core::link::{
    decode_params, encode_params, percent_encode, split_pairs, to_object, UrlParams,
};
use crate::images::params::MnistParams;
use crate::langevin::params::LangevinParams;
use crate::named_choice;
use crate::series::params::CsdiParams;

named_choice! {
    /// The three demos of the page.
    pub enum Demo { Langevin = "langevin", Mnist = "mnist", Csdi = "csdi" } default Langevin
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
                    state.mnist.guidance = dataset_guidance(&state.mnist);
                }
            }
            Demo::Csdi => state.csdi = decode_params(&rest, &mut notices),
        }
        Decoded { state, notices }
    }

    /// The state after the page sets `edits` (`key=value` pairs, later ones winning) on this one:
    /// each goes through the link's decoder, so a bad value keeps the current one and adds a
    /// notice. A new image dataset starts from its own guidance weight unless the same edit sets
    /// one: another dataset's weight can be far off (MNIST's is far below Fashion's).
    pub fn edited(&self, edits: &[(String, String)]) -> Decoded {
        let mut hash = self.to_hash();
        for (key, value) in edits {
            hash.push_str(&format!(
                "&{}={}",
                percent_encode(key),
                percent_encode(value)
            ));
        }
        let mut decoded = Self::from_hash(&hash);
        let edits_key = |wanted: &str| edits.iter().any(|(key, _)| key == wanted);
        let mnist = &mut decoded.state.mnist;
        if decoded.state.demo == Demo::Mnist
            && mnist.dataset != self.mnist.dataset
            && !edits_key("guidance")
        {
            mnist.guidance = dataset_guidance(mnist);
        }
        decoded
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

/// The guidance weight an image link gets for its dataset when it names none.
fn dataset_guidance(params: &MnistParams) -> f64 {
    crate::images::ddpm::default_guidance(params.dataset.name())
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

    fn edit(state: &PageState, pairs: &[(&str, &str)]) -> Decoded {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        state.edited(&pairs)
    }

    #[test]
    fn another_dataset_brings_its_own_guidance_weight() {
        let state = PageState::from_hash("demo=mnist&dataset=mnist&guidance=2.5").state;
        let fashion = edit(&state, &[("dataset", "fashion")]);
        assert!(fashion.notices.is_empty(), "{:?}", fashion.notices);
        assert_eq!(fashion.state.mnist.dataset.name(), "fashion");
        let wanted = crate::images::ddpm::default_guidance("fashion");
        assert_eq!(fashion.state.mnist.guidance, wanted);
        assert_ne!(
            wanted, 2.5,
            "the test needs a default other than the link's weight"
        );
        // The link carries it, so a reload opens the same weight.
        let again = PageState::from_hash(&fashion.state.to_hash());
        assert_eq!(again.state, fashion.state);
    }

    #[test]
    fn other_edits_keep_the_guidance_weight() {
        let state = PageState::from_hash("demo=mnist&dataset=fashion&guidance=2.5").state;
        for pairs in [
            vec![("seed", "4")],
            vec![("dataset", "fashion")],
            vec![("dataset", "nope")],
        ] {
            let edited = edit(&state, &pairs);
            assert_eq!(edited.state.mnist.guidance, 2.5, "{pairs:?}");
            assert_eq!(edited.state.mnist.dataset.name(), "fashion", "{pairs:?}");
        }
        assert_eq!(edit(&state, &[("dataset", "nope")]).notices.len(), 1);
        // A weight set in the same edit wins over the dataset's.
        let both = edit(&state, &[("dataset", "mnist"), ("guidance", "1.5")]);
        assert_eq!(both.state.mnist.guidance, 1.5);
        assert_eq!(both.state.mnist.dataset.name(), "mnist");
    }

    #[test]
    fn an_edit_of_another_demo_leaves_the_images_alone() {
        let state = PageState::from_hash("demo=langevin&steps=40").state;
        let edited = edit(&state, &[("steps", "50"), ("density", "ring")]);
        assert!(edited.notices.is_empty(), "{:?}", edited.notices);
        assert_eq!(edited.state.langevin.steps, 50);
        assert_eq!(edited.state.langevin.density.name(), "ring");
        assert_eq!(edited.state.mnist, state.mnist);
    }

    #[test]
    fn old_links_every_class_reads_as_all() {
        let old = PageState::from_hash("demo=mnist&class=-1");
        assert!(old.notices.is_empty(), "{:?}", old.notices);
        assert_eq!(old.state.params_json()["class"], "all");
        assert!(old.state.to_hash().contains("class=all"));
        let three = PageState::from_hash("demo=mnist&class=3").state;
        assert_eq!(three.params_json()["class"], "3");
    }
}
