//! Links round-trip every state exactly, and no string, however mangled, makes decoding panic.

use genlab::app::state::{Demo, PageState};
use genlab::core::backend::BackendChoice;
use genlab::core::link::UrlParams;
use genlab::core::rng::SeededRng;
use genlab::images::diffusion::BetaSchedule;
use genlab::images::generator::ClassFilter;
use genlab::images::params::{Dataset, MnistParams};
use genlab::images::registry::generators;
use genlab::langevin::params::{
    DensityPreset, LangevinParams, Painting, SamplerName, ScoreSource, Sym2,
};
use genlab::series::params::{
    CsdiNetwork, CsdiParams, HiddenStretch, HiddenStretches, MaskStrategy,
};

fn pick<T: Copy>(rng: &mut SeededRng, all: &[T]) -> T {
    all[rng.below(all.len() as u64) as usize]
}

/// A float drawn on a log scale inside (low, high), with all 53 bits random.
fn float_in(rng: &mut SeededRng, low: f64, high: f64) -> f64 {
    let v = low * (high / low).powf(rng.uniform());
    v.clamp(low * (1.0 + 1e-12), high * (1.0 - 1e-12))
}

fn random_state(rng: &mut SeededRng) -> PageState {
    let mut state = PageState {
        demo: pick(rng, Demo::ALL),
        backend: pick(rng, BackendChoice::ALL),
        ..PageState::default()
    };
    state.langevin = LangevinParams {
        density: pick(rng, DensityPreset::ALL),
        sampler: pick(rng, SamplerName::ALL),
        score: pick(rng, ScoreSource::ALL),
        steps: 1 + rng.below(1_000_000) as u32,
        particles: 1 + rng.below(1_000_000) as u32,
        tau: float_in(rng, 1e-6, 10.0),
        p: rng.uniform().clamp(1e-9, 1.0 - 1e-9),
        noise_cov: {
            let a = float_in(rng, 0.01, 10.0);
            let d = float_in(rng, 0.01, 10.0);
            let b = (rng.uniform() * 1.8 - 0.9) * (a * d).sqrt();
            Sym2 { a, b, d }
        },
        levels: 1 + rng.below(1000) as u32,
        steps_per_level: 1 + rng.below(10_000) as u32,
        score_steps: rng.below(1_000_001) as u32,
        paint: Painting {
            brush: 0.01 + rng.uniform() * 3.0,
            dabs: (0..rng.below(6))
                .map(|_| [rng.normal() * 5.0, rng.normal() * 5.0])
                .collect(),
        },
        eps: float_in(rng, 1e-9, 1.0),
        denoise: rng.below(2) == 1,
        seed: rng.next_u64(),
    };
    state.mnist = MnistParams {
        dataset: pick(rng, Dataset::ALL),
        model: pick(
            rng,
            &generators().iter().map(|g| g.name).collect::<Vec<_>>(),
        )
        .to_string(),
        schedule: pick(rng, BetaSchedule::ALL),
        class: match rng.below(11) {
            10 => ClassFilter::Every,
            c => ClassFilter::Only(c as u8),
        },
        guidance: rng.uniform() * 20.0,
        steps: 1 + rng.below(1000) as u32,
        eta: rng.uniform(),
        n: 1 + rng.below(256) as u32,
        seed: rng.next_u64(),
    };
    state.csdi = CsdiParams {
        network: pick(rng, CsdiNetwork::ALL),
        strategy: pick(rng, MaskStrategy::ALL),
        nsample: 1 + rng.below(1000) as u32,
        hide_ratio: rng.uniform().clamp(1e-9, 1.0 - 1e-9),
        feature: rng.below(10_000) as u32,
        window: rng.below(100_000) as u32,
        hide: HiddenStretches(
            (0..rng.below(5))
                .map(|_| {
                    let first = rng.below(40) as usize;
                    HiddenStretch {
                        feature: rng.below(50) as usize,
                        first,
                        last: first + rng.below(10) as usize,
                    }
                })
                .collect(),
        ),
        seed: rng.next_u64(),
    };
    state
}

/// Only the active demo travels in the link; the others decode to their defaults.
fn visible_part(state: &PageState) -> PageState {
    let mut visible = PageState {
        demo: state.demo,
        backend: state.backend,
        ..PageState::default()
    };
    match state.demo {
        Demo::Langevin => visible.langevin = state.langevin.clone(),
        Demo::Mnist => visible.mnist = state.mnist.clone(),
        Demo::Csdi => visible.csdi = state.csdi.clone(),
    }
    visible
}

#[test]
fn random_states_round_trip_exactly() {
    let mut rng = SeededRng::new(2024);
    for _ in 0..3000 {
        let state = random_state(&mut rng);
        let hash = state.to_hash();
        let decoded = PageState::from_hash(&format!("#{hash}"));
        assert!(decoded.notices.is_empty(), "{hash}: {:?}", decoded.notices);
        assert_eq!(decoded.state, visible_part(&state), "{hash}");
        assert_eq!(
            decoded.state.to_hash(),
            hash,
            "the canonical link is stable"
        );
    }
}

fn mutate(rng: &mut SeededRng, text: &str) -> String {
    const ALPHABET: &[char] = &[
        '&', '=', '%', '#', '-', '.', ',', 'e', 'E', '0', '9', 'a', 'z', ' ', '+', 'é', '☃',
        '\u{0}', 'N', 'I', '2', 'F', '%',
    ];
    let mut chars: Vec<char> = text.chars().collect();
    for _ in 0..1 + rng.below(6) {
        let at = if chars.is_empty() {
            0
        } else {
            rng.below(chars.len() as u64 + 1) as usize
        };
        match rng.below(5) {
            0 => chars.truncate(at),
            1 if at < chars.len() => {
                chars.remove(at);
            }
            2 if at < chars.len() => chars[at] = pick(rng, ALPHABET),
            _ => chars.insert(at, pick(rng, ALPHABET)),
        }
    }
    chars.into_iter().collect()
}

fn random_string(rng: &mut SeededRng) -> String {
    let len = rng.below(80) as usize;
    (0..len)
        .map(|_| match rng.below(4) {
            0 => char::from_u32(rng.below(0x3000) as u32).unwrap_or('?'),
            1 => ['&', '=', '%'][rng.below(3) as usize],
            _ => (b'a' + rng.below(26) as u8) as char,
        })
        .collect()
}

#[test]
fn ten_thousand_mangled_links_never_panic_and_always_give_a_valid_state() {
    let mut rng = SeededRng::new(99);
    for i in 0..12_000 {
        let text = if i % 3 == 0 {
            random_string(&mut rng)
        } else {
            let hash = random_state(&mut rng).to_hash();
            mutate(&mut rng, &hash)
        };
        let decoded = PageState::from_hash(&text);
        let state = &decoded.state;
        assert!(state.langevin.problems().is_empty(), "{text}");
        assert!(state.mnist.problems().is_empty(), "{text}");
        assert!(state.csdi.problems().is_empty(), "{text}");
        // Whatever was opened can be shared again and opens identically, with no notice.
        let again = PageState::from_hash(&state.to_hash());
        assert!(again.notices.is_empty(), "{text} → {:?}", again.notices);
        assert_eq!(&again.state, state, "{text}");
    }
}

#[test]
fn truncated_links_keep_what_survived_and_flag_the_rest() {
    let mut state = PageState::default();
    // Keys are written in name order: `levels` comes before `noise-cov`, `steps` after it.
    state.langevin.levels = 33;
    state.langevin.steps = 1234;
    state.langevin.noise_cov = Sym2 {
        a: 1.5,
        b: 0.25,
        d: 0.75,
    };
    let hash = state.to_hash();
    let cut = &hash[..hash.find("noise-cov=").unwrap() + "noise-cov=1.5,0.2".len()];
    let decoded = PageState::from_hash(cut);
    assert_eq!(
        decoded.state.langevin.levels, 33,
        "a field before the cut survives"
    );
    assert_eq!(
        decoded.state.langevin.steps,
        LangevinParams::default().steps,
        "fields after it are defaults"
    );
    assert_eq!(
        decoded.state.langevin.noise_cov,
        LangevinParams::default().noise_cov
    );
    assert!(
        decoded.notices.iter().any(|n| n.contains("noise-cov")),
        "the cut value is flagged: {:?}",
        decoded.notices
    );
    let cut_mid_escape = PageState::from_hash("demo=langevin&sampler=mal%2");
    assert!(cut_mid_escape
        .notices
        .iter()
        .any(|n| n.contains("%-escape")));
    assert_eq!(
        cut_mid_escape.state.langevin.sampler,
        SamplerName::default()
    );
}

#[test]
fn the_shipped_gmm150_parameters_are_the_preset() {
    // www/data/gmm150.json is written by `genlab density --preset gmm150 --out www/data/gmm150.json`.
    let shipped =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/www/data/gmm150.json"))
            .unwrap();
    let file: genlab::langevin::density::MixtureFile = serde_json::from_str(&shipped).unwrap();
    let preset = genlab::langevin::density::gmm150().to_file();
    assert_eq!(file.modes, preset.modes);
    let flat = |f: &genlab::langevin::density::MixtureFile| -> Vec<f64> {
        let mut v = f.weights.clone();
        v.extend(f.means.iter().flatten());
        v.extend(f.covariances.iter().flatten().flatten());
        v
    };
    let (shipped, expected) = (flat(&file), flat(&preset));
    assert_eq!(shipped.len(), expected.len());
    // serde_json's float parser may differ from the written value in the last bit.
    let worst = shipped
        .iter()
        .zip(&expected)
        .map(|(a, b)| (a - b).abs() / b.abs().max(1e-300))
        .fold(0.0, f64::max);
    assert!(
        worst < 1e-14,
        "www/data/gmm150.json is stale: relative difference {worst:e}"
    );
}

#[test]
fn painted_csdi_stretches_travel_in_the_link_and_mark_their_cells() {
    let decoded = PageState::from_hash("demo=csdi&hide=2:3-5,0:35,1:30-99");
    assert!(decoded.notices.is_empty(), "{:?}", decoded.notices);
    let hide = &decoded.state.csdi.hide;
    let mask = hide.mask(36, 3);
    let hidden: Vec<(usize, usize)> = (0..36 * 3)
        .filter(|&c| mask[c])
        .map(|c| (c / 3, c % 3))
        .collect();
    let mut expected = vec![(3, 2), (4, 2), (5, 2), (35, 0)];
    expected.extend((30..36).map(|t| (t, 1)));
    expected.sort();
    assert_eq!(hidden, expected, "steps past the window are dropped");
    assert!(PageState::from_hash(&decoded.state.to_hash())
        .notices
        .is_empty());
    for bad in ["x:1-2", "1:5-2", "1-2", "1:a"] {
        let decoded = PageState::from_hash(&format!("demo=csdi&hide={bad}"));
        assert!(
            decoded.notices.iter().any(|n| n.contains("hide")),
            "{bad}: {:?}",
            decoded.notices
        );
        assert_eq!(decoded.state.csdi.hide, HiddenStretches::default());
    }
}

#[test]
fn a_link_without_a_guidance_weight_gets_its_datasets_default() {
    use genlab::images::ddpm::default_guidance;
    let opened = |hash: &str| PageState::from_hash(hash).state.mnist.guidance;
    assert_eq!(opened("demo=mnist"), default_guidance("mnist"));
    assert_eq!(
        opened("demo=mnist&dataset=mnist"),
        default_guidance("mnist")
    );
    assert_eq!(
        opened("demo=mnist&dataset=fashion"),
        default_guidance("fashion")
    );
    assert_eq!(opened("demo=mnist&dataset=fashion&guidance=1.5"), 1.5);
    assert_eq!(opened("demo=mnist&guidance=4"), 4.0);
    assert_eq!(
        PageState::default().mnist.guidance,
        default_guidance(Dataset::default().name())
    );
    assert_ne!(
        default_guidance("mnist"),
        default_guidance("fashion"),
        "the two datasets are measured to want different weights"
    );
}

#[test]
fn every_class_has_one_spelling_and_old_links_still_read() {
    let opened = |hash: &str| PageState::from_hash(hash);
    let old = opened("demo=mnist&class=-1");
    assert!(old.notices.is_empty(), "{:?}", old.notices);
    assert_eq!(old.state.mnist.class, ClassFilter::Every);
    assert_eq!(
        opened("demo=mnist&class=all").state.mnist.class,
        ClassFilter::Every
    );
    assert_eq!(
        opened("demo=mnist&class=7").state.mnist.class,
        ClassFilter::Only(7)
    );
    assert!(old.state.to_hash().contains("class=all"));
    let bad = opened("demo=mnist&class=10");
    assert_eq!(bad.state.mnist.class, ClassFilter::Every);
    assert!(
        bad.notices.iter().any(|n| n.contains("class")),
        "{:?}",
        bad.notices
    );
    // The command line reads the same type.
    assert_eq!("-1".parse::<ClassFilter>(), Ok(ClassFilter::Every));
    assert!("x".parse::<ClassFilter>().is_err());
}

#[test]
fn the_links_models_are_the_registrys() {
    for spec in generators() {
        let decoded = PageState::from_hash(&format!("demo=mnist&model={}", spec.name));
        assert!(decoded.notices.is_empty(), "{:?}", decoded.notices);
        assert_eq!(decoded.state.mnist.model, spec.name);
    }
    let choices = PageState::choices(Demo::Mnist);
    let (_, models) = choices.iter().find(|(field, _)| *field == "model").unwrap();
    let names: Vec<&str> = generators().iter().map(|g| g.name).collect();
    assert_eq!(*models, names);
    let unknown = PageState::from_hash("demo=mnist&model=not-a-model");
    assert_eq!(unknown.state.mnist.model, MnistParams::default().model);
    assert!(
        unknown.notices.iter().any(|n| n.contains("not-a-model")),
        "{:?}",
        unknown.notices
    );
}
