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
                    state.mnist.guidance =
                        crate::images::ddpm::default_guidance(state.mnist.dataset.name());
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
}
