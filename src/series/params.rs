//! The CSDI demo's parameters: one struct whose fields are the link's keys and the CLI's flags,
//! and the painted stretches of hidden values it holds.

use serde::{Deserialize, Serialize};

use crate::core::link::{check_range, choice_names, FieldProblem, UrlParams};
use crate::named_choice;

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
            ("network", choice_names(CsdiNetwork::ALL, CsdiNetwork::name)),
            (
                "strategy",
                choice_names(MaskStrategy::ALL, MaskStrategy::name),
            ),
        ]
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

crate::serde_as_text!(HiddenStretches);
