//! The diffusion model from the registry: it learns (the ε-prediction loss falls on real MNIST),
//! samples by seed, guides, and its weights round-trip with their width and refuse what does not fit.

use std::path::Path;

use burn::tensor::Device;
use futures_lite::future::block_on;
use genlab::core::rng::SeededRng;
use genlab::core::training::read_f32;
use genlab::images::ddpm::{Ddpm, DdpmSettings};
use genlab::images::diffusion::BetaSchedule;
use genlab::images::generator::{ClassChoice, Generator, ImageBatch, SampleRequest};
use genlab::images::registry::find_generator;
use genlab::images::unet::UNetConfig;
use genlab::io::idx::{load_split, Split};

/// A U-Net narrow enough for tests to train and sample in seconds.
fn small() -> DdpmSettings {
    DdpmSettings {
        unet: UNetConfig {
            channels: [16, 32],
            embedding: 32,
        },
        schedule: BetaSchedule::Cosine,
        diffusion_steps: 100,
        learning_rate: 2e-3,
        ..DdpmSettings::default()
    }
}

fn request(seed: u64, guidance: f64) -> SampleRequest {
    SampleRequest {
        count: 4,
        classes: ClassChoice::CYCLE,
        guidance,
        steps: Some(5),
        guidance_limit: None,
        eta: 0.0,
        seed,
    }
}

fn pixels(model: &dyn Generator, request: &SampleRequest) -> Vec<f32> {
    block_on(read_f32(model.sample(request).unwrap())).unwrap()
}

#[test]
fn the_noise_prediction_loss_falls_on_mnist() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/mnist");
    let train = match load_split(&dir, Split::Train) {
        Ok(train) => train,
        Err(e) if std::env::var_os("CI").is_some() => panic!("{e}: CI fetches the data first"),
        Err(e) => return eprintln!("note: skipping ({e}); run scripts/fetch-data.sh"),
    };
    let device = Device::flex();
    let mut model = Ddpm::new("mnist", &device, 3, small());
    let mut rng = SeededRng::new(4);
    let losses: Vec<_> = (0..60)
        .map(|_| {
            let batch = ImageBatch::random(&train, 32, &mut rng, model.train_device());
            model.train_step(batch)
        })
        .collect();
    let losses = block_on(genlab::core::training::read_losses(losses)).unwrap();
    let mean = |xs: &[f32]| xs.iter().sum::<f32>() / xs.len() as f32;
    // The output layer starts at zero, so the first loss is E[ε²] = 1.
    assert!((losses[0] - 1.0).abs() < 0.1, "first loss {}", losses[0]);
    let last = mean(&losses[50..]);
    assert!(
        last < 0.5,
        "ε-prediction MSE did not fall: {} → {last}",
        losses[0]
    );
    assert_eq!(model.steps_trained(), 60);
}

#[test]
fn samples_depend_on_the_seed_and_the_guidance_only() {
    let device = Device::flex();
    let model = Ddpm::new("mnist", &device, 1, small());
    let a = pixels(&model, &request(7, 1.0));
    assert_eq!(a.len(), 4 * 784);
    assert!(a.iter().all(|v| (0.0..=1.0).contains(v)));
    assert_eq!(
        a,
        pixels(&model, &request(7, 1.0)),
        "same seed, same samples"
    );
    assert_ne!(a, pixels(&model, &request(8, 1.0)));
    // An untrained network's conditional and null-class outputs differ only through the class
    // embedding, which is random: guidance must change the result.
    let mut trained = Ddpm::new("mnist", &device, 1, small());
    let images = burn::tensor::Tensor::<4>::from_data(
        burn::tensor::TensorData::new(vec![0.5f32; 8 * 784], [8, 1, 28, 28]),
        trained.train_device(),
    );
    for _ in 0..3 {
        trained.train_step(ImageBatch {
            images: images.clone(),
            labels: (0..8).collect(),
        });
    }
    assert_ne!(
        pixels(&trained, &request(7, 0.0)),
        pixels(&trained, &request(7, 3.0))
    );
    let ancestral = SampleRequest {
        steps: Some(100),
        eta: 1.0,
        ..request(7, 1.0)
    };
    assert_eq!(pixels(&model, &ancestral).len(), 4 * 784);
    let err = model
        .sample(&SampleRequest {
            steps: Some(101),
            ..request(7, 1.0)
        })
        .unwrap_err();
    assert!(err.contains("between 1 and 100"), "{err}");
}

#[test]
fn weights_round_trip_with_their_schedule_and_width() {
    let device = Device::flex();
    let mut model = Ddpm::new("fashion", &device, 2, small());
    let images = burn::tensor::Tensor::<4>::from_data(
        burn::tensor::TensorData::new(vec![0.2f32; 4 * 784], [4, 1, 28, 28]),
        model.train_device(),
    );
    model.train_step(ImageBatch {
        images,
        labels: vec![0, 1, 2, 3],
    });
    let bytes = block_on(model.save().bytes()).unwrap();
    let loaded = Ddpm::from_bytes(&bytes, "fashion", &device).unwrap();
    assert_eq!(loaded.settings().unet, small().unet);
    assert_eq!(loaded.schedule(), model.schedule());
    assert_eq!(loaded.steps_trained(), 1);
    assert_eq!(
        pixels(&model, &request(3, 1.0)),
        pixels(&loaded, &request(3, 1.0))
    );

    let spec = find_generator("ddpm").unwrap();
    let mut default_width = (spec.build)("fashion", &device, 0, &Default::default());
    default_width.load(&bytes).unwrap();
    assert_eq!(default_width.parameter_count(), model.parameter_count());
    assert_eq!(
        pixels(default_width.as_ref(), &request(3, 1.0)),
        pixels(&model, &request(3, 1.0))
    );
    let Err(err) = Ddpm::from_bytes(&bytes, "mnist", &device) else {
        panic!("loaded fashion weights as mnist");
    };
    assert!(err.contains("trained on `fashion`"), "{err}");
}

#[test]
fn genlab_sample_draws_from_the_shipped_ddpm_by_class_guidance_steps_and_seed() {
    let dir = std::env::temp_dir().join(format!("genlab-ddpm-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let sample = |seed: u64, name: &str| {
        let out = dir.join(name);
        let status = std::process::Command::new(env!("CARGO_BIN_EXE_genlab"))
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .args("sample --model ddpm --dataset mnist --n 3".split(' '))
            .args("--class 7 --guidance 2 --steps 4 --seed".split(' '))
            .arg(seed.to_string())
            .arg("--out")
            .arg(&out)
            .status()
            .unwrap();
        assert!(status.success());
        std::fs::read(&out).unwrap()
    };
    let (a, again, other) = (sample(1, "a.npy"), sample(1, "b.npy"), sample(2, "c.npy"));
    assert_eq!(a, again, "the same seed draws the same samples");
    assert_ne!(a, other);
    let pixels = genlab::images::evaluation::samples_from_npy(&a).unwrap();
    assert_eq!(pixels.len(), 3 * 784);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_resumed_training_refuses_an_architecture_flag_its_file_contradicts() {
    let dir = std::env::temp_dir().join(format!("genlab-ddpm-resume-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("small.bpk");
    let model = Ddpm::new("mnist", &Device::flex(), 0, small());
    std::fs::write(&file, block_on(model.save().bytes()).unwrap()).unwrap();
    let resume = |flags: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_genlab"))
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .args("train ddpm --dataset mnist --steps 0 --resume".split(' '))
            .arg(&file)
            .args(flags.split(' '))
            .output()
            .unwrap()
    };
    for (flags, recorded) in [
        ("--unet 16,48,128", "16,32,32"),
        ("--schedule linear", "cosine"),
        ("--diffusion-steps 1000", "100"),
    ] {
        let run = resume(flags);
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert!(!run.status.success(), "{flags} was accepted");
        assert!(
            stderr.contains(flags) && stderr.contains(recorded) && stderr.contains("drop"),
            "{flags}: {stderr}"
        );
    }
    let agreeing = resume("--unet 16,32,32 --out /dev/null");
    assert!(
        !String::from_utf8_lossy(&agreeing.stderr).contains("keeps its file's architecture"),
        "flags that agree with the file are accepted"
    );
    std::fs::remove_dir_all(&dir).ok();
}
