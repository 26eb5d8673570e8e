//! The image lab's toolkit on the real sets and the shipped weights: the classifiers' accuracy,
//! FID's reference points, the weights format's refusals, a generator from the registry, and the
//! `genlab sample` / `genlab eval` commands. Needs `scripts/fetch-data.sh` (run by
//! `scripts/test.sh`); without the data the tests skip with a note, except under CI.

use std::path::{Path, PathBuf};

use futures_lite::future::block_on;
use genlab::core::rng::SeededRng;
use genlab::core::weights::read_identity;
use genlab::images::classifier::Classifier;
use genlab::images::datasets::PIXELS;
use genlab::images::evaluation::{Evaluator, ReferenceImages};
use genlab::images::generator::{ClassChoice, ImageBatch, SampleRequest};
use genlab::images::registry::find_generator;
use genlab::io::idx::{load_split, LabelledImages, Split};

use burn::tensor::Device;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn shipped(file: &str) -> Vec<u8> {
    let path = root().join("www/models").join(file);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The split, or None (with a note) when `scripts/fetch-data.sh` has not run.
fn split(set: &str, which: Split) -> Option<LabelledImages> {
    let dir = root().join("data").join(set);
    match load_split(&dir, which) {
        Ok(data) => Some(data),
        Err(e) if std::env::var_os("CI").is_some() => {
            panic!("{e}: under CI scripts/test.sh runs scripts/fetch-data.sh first")
        }
        Err(e) => {
            eprintln!("note: skipping ({e}); run scripts/fetch-data.sh");
            None
        }
    }
}

fn pixels(data: &LabelledImages, count: usize) -> Vec<f32> {
    data.images[..count * PIXELS]
        .iter()
        .map(|&p| p as f32 / 255.0)
        .collect()
}

/// Each shipped classifier's accuracy on the whole test split, measured here, and the figure
/// its file records (the one README and BENCHMARKS quote).
fn measured_and_recorded(set: &str) -> Option<(f64, f64)> {
    let test = split(set, Split::Test)?;
    let bytes = shipped(&format!("classifier-{set}.bpk"));
    let classifier = Classifier::from_bytes(&bytes, set, &Device::flex()).unwrap();
    let measured = block_on(classifier.judge_bytes(&test.images))
        .unwrap()
        .accuracy(&test.labels);
    let recorded: f64 = read_identity(&bytes).unwrap().extra["test_accuracy"]
        .parse()
        .unwrap();
    Some((measured, recorded))
}

#[test]
fn shipped_classifiers_carry_their_measured_test_accuracy() {
    for set in ["mnist", "fashion"] {
        let Some((measured, recorded)) = measured_and_recorded(set) else {
            return;
        };
        assert!(
            (recorded - measured).abs() < 1e-4,
            "{set}: the file says {recorded}, measured {measured}"
        );
        assert!(measured > 0.85, "{set}: {measured}");
    }
}

/// The bar for MNIST: 99.0 % of the test split.
#[test]
fn shipped_mnist_classifier_reaches_99_percent() {
    if let Some((measured, _)) = measured_and_recorded("mnist") {
        assert!(
            measured >= 0.990,
            "mnist: test accuracy {measured} below 0.990"
        );
    }
}

/// The bar for Fashion-MNIST: 91 % of the test split.
#[test]
fn shipped_fashion_classifier_reaches_91_percent() {
    if let Some((measured, _)) = measured_and_recorded("fashion") {
        assert!(
            measured >= 0.91,
            "fashion: test accuracy {measured} below 0.91"
        );
    }
}

#[test]
fn fid_reference_points_bracket_real_images() {
    let (Some(train), Some(test)) = (split("mnist", Split::Train), split("mnist", Split::Test))
    else {
        return;
    };
    let classifier =
        Classifier::from_bytes(&shipped("classifier-mnist.bpk"), "mnist", &Device::flex()).unwrap();
    let evaluator = block_on(Evaluator::new(classifier, &test.images[..2000 * PIXELS])).unwrap();
    // The reference images against themselves: the same statistics, FID 0 up to round-off.
    let itself = block_on(evaluator.evaluate(&pixels(&test, 2000), None)).unwrap();
    assert!(
        itself.fid.abs() < 1e-6,
        "FID of the reference itself: {}",
        itself.fid
    );
    let images = ReferenceImages::draw(&train, 1000, 7);
    let points = block_on(evaluator.reference_points(&images)).unwrap();
    assert!(
        points.train_vs_test * 20.0 < points.mean_image.min(points.noise),
        "real images must score far below trivial generators: {points:?}"
    );
    // Labels are checked: the test images' own labels give the classifier's accuracy.
    let labelled =
        block_on(evaluator.evaluate(&pixels(&test, 500), Some(&test.labels[..500]))).unwrap();
    assert!(labelled.accuracy.unwrap() > 0.97, "{labelled:?}");
    let wrong = block_on(evaluator.evaluate(&pixels(&test, 500), Some(&test.labels[..499])));
    assert!(wrong.unwrap_err().contains("499 labels for 500 samples"));
}

#[test]
fn weights_of_another_model_dataset_or_shape_are_refused() {
    let device = Device::flex();
    let mnist_classifier = shipped("classifier-mnist.bpk");
    let fashion_classifier = shipped("classifier-fashion.bpk");

    let err = Classifier::from_bytes(&fashion_classifier, "mnist", &device).unwrap_err();
    assert!(err.contains("trained on `fashion`"), "{err}");
    let err = Classifier::from_bytes(b"not weights at all", "mnist", &device).unwrap_err();
    assert!(err.contains("not a genlab weights file"), "{err}");
    let truncated = &mnist_classifier[..mnist_classifier.len() / 2];
    assert!(Classifier::from_bytes(truncated, "mnist", &device).is_err());

    let spec = find_generator("vae").unwrap();
    let mut vae = (spec.build)("mnist", &device, 1, &Default::default());
    let request = SampleRequest {
        count: 4,
        classes: ClassChoice::Only(3),
        guidance: 0.0,
        steps: None,
        guidance_limit: None,
        eta: 0.0,
        seed: 5,
    };
    let before = block_on(genlab::core::training::read_f32(
        vae.sample(&request).unwrap(),
    ))
    .unwrap();
    let err = vae.load(&mnist_classifier).unwrap_err();
    assert!(err.contains("`classifier` model"), "{err}");
    let err = vae.load(&shipped("vae-fashion.bpk")).unwrap_err();
    assert!(err.contains("trained on `fashion`"), "{err}");
    let after = block_on(genlab::core::training::read_f32(
        vae.sample(&request).unwrap(),
    ))
    .unwrap();
    assert_eq!(
        before, after,
        "a refused file must leave the model as it was"
    );
}

#[test]
fn vae_from_the_registry_trains_samples_by_seed_and_round_trips_its_weights() {
    let Some(train) = split("mnist", Split::Train) else {
        return;
    };
    let device = Device::flex();
    let spec = find_generator("vae").unwrap();
    let mut vae = (spec.build)("mnist", &device, 11, &Default::default());
    let mut rng = SeededRng::new(2);
    let losses: Vec<_> = (0..80)
        .map(|_| {
            let batch = ImageBatch::random(&train, 64, &mut rng, vae.train_device());
            vae.train_step(batch)
        })
        .collect();
    let losses = block_on(genlab::core::training::read_losses(losses)).unwrap();
    let mean = |xs: &[f32]| xs.iter().sum::<f32>() / xs.len() as f32;
    let (first, last) = (mean(&losses[..10]), mean(&losses[70..]));
    assert!(last < 0.7 * first, "−ELBO did not fall: {first} → {last}");
    assert_eq!(vae.steps_trained(), 80);

    let request = |seed| SampleRequest {
        count: 6,
        classes: ClassChoice::CYCLE,
        guidance: 0.0,
        steps: None,
        guidance_limit: None,
        eta: 0.0,
        seed,
    };
    let read = |g: &dyn genlab::images::generator::Generator, seed| {
        block_on(genlab::core::training::read_f32(
            g.sample(&request(seed)).unwrap(),
        ))
        .unwrap()
    };
    let a = read(vae.as_ref(), 9);
    assert_eq!(a.len(), 6 * PIXELS);
    assert!(a.iter().all(|v| (0.0..=1.0).contains(v)));
    assert_eq!(a, read(vae.as_ref(), 9), "same seed, same samples");
    assert_ne!(a, read(vae.as_ref(), 10), "another seed, other samples");

    let bytes = block_on(vae.save().bytes()).unwrap();
    let mut copy = (spec.build)("mnist", &device, 99, &Default::default());
    copy.load(&bytes).unwrap();
    assert_eq!(copy.steps_trained(), 80);
    assert_eq!(
        a,
        read(copy.as_ref(), 9),
        "saved and loaded weights sample the same"
    );
}

/// Runs the `genlab` binary on a command line (words split at spaces; the temporary paths used
/// here have none): (success, stdout, stderr).
fn genlab(command_line: &str) -> (bool, String, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_genlab"))
        .args(command_line.split_whitespace())
        .current_dir(root())
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn cli_samples_with_the_shipped_weights_and_evaluates_them() {
    if split("mnist", Split::Test).is_none() {
        return;
    }
    let dir = std::env::temp_dir().join(format!("genlab-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let samples: PathBuf = dir.join("samples.npy");
    let labels: PathBuf = dir.join("labels.npy");
    let flat: PathBuf = dir.join("flat.npy");
    let (samples, labels, flat_path) = (samples.display(), labels.display(), flat.display());
    let (ok, _, err) = genlab(&format!(
        "sample --model vae --dataset mnist --n 300 --seed 4 --out {samples} --labels-out {labels}"
    ));
    assert!(ok, "{err}");
    let array =
        genlab::io::npy::read_npy(&std::fs::read(dir.join("samples.npy")).unwrap()).unwrap();
    assert_eq!(array.shape, vec![300, 28, 28]);
    assert!(array.data.iter().all(|v| (0.0..=1.0).contains(v)));

    let (ok, out, err) = genlab(&format!(
        "eval --dataset mnist --samples {samples} --labels {labels}"
    ));
    assert!(ok, "{err}");
    let report: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(report["n"], 300);
    let fid = report["fid"].as_f64().unwrap();
    let accuracy = report["accuracy"].as_f64().unwrap();
    assert!(fid.is_finite() && fid > 0.0, "{report}");
    // The shipped conditional VAE draws recognisable digits of the class it is asked for.
    assert!(accuracy > 0.7, "{report}");

    // A user's mistakes get a message, not a panic.
    std::fs::write(
        &flat,
        genlab::io::npy::write_npy_f32(&[3, 784], &[0.5; 3 * 784]),
    )
    .unwrap();
    let (ok, _, err) = genlab(&format!("eval --dataset mnist --samples {flat_path}"));
    assert!(!ok && err.contains("(N, 28, 28)"), "{err}");
    let (ok, _, err) = genlab("sample --model gan --dataset mnist --n 2");
    assert!(!ok && err.contains("unknown model `gan`"), "{err}");
    let (ok, _, err) = genlab(&format!(
        "sample --model vae --dataset mnist --n 2 --weights {samples}"
    ));
    assert!(!ok && err.contains("not a genlab weights file"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}
