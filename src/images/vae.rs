//! A conditional variational autoencoder (Kingma & Welling 2014) with a two-dimensional latent
//! (small enough to draw as a plane; the page's latent explorer is still to come): a Gaussian
//! encoder `q(z | x, y)`, the
//! reparameterisation `z = μ + σ ε`, a Bernoulli decoder `p(x | z, y)` on the grey levels read
//! as probabilities, and the negative ELBO in nats per image,
//! `−E_q[log p(x | z, y)] + KL(q(z | x, y) ‖ N(0, I))` with the KL in closed form.
//! The class `y` enters as a one-hot vector: samples are drawn for the classes the request
//! chooses.

use burn::module::Module;
use burn::nn::Linear;
use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer};
use burn::tensor::activation::{relu, sigmoid, softplus};
use burn::tensor::{Device, Tensor, TensorData};

use crate::core::init::seeded_linear;
use crate::core::rng::SeededRng;
use crate::core::tensor::host_normal;
use crate::core::weights::{load_module, save_module, PendingWeights};
use crate::images::datasets::{CLASSES, PIXELS, SIDE};
use crate::images::generator::{Generator, GeneratorSpec, ImageBatch, SampleRequest};

pub const GENERATOR: GeneratorSpec = GeneratorSpec {
    name: "vae",
    summary: "conditional VAE, 2-D latent, MLP 794→256→128→2×2 / 12→128→256→784, Bernoulli decoder",
    conditional: true,
    default_guidance: |_| 0.0,
    build: |dataset, device, seed, _| Box::new(Vae::new(dataset, device, seed)),
};

pub const LATENT: usize = 2;
const WIDTHS: [usize; 2] = [256, 128];
const LEARNING_RATE: f64 = 1e-3;

#[derive(Module, Debug)]
struct VaeNet {
    encode1: Linear,
    encode2: Linear,
    mean: Linear,
    log_variance: Linear,
    decode1: Linear,
    decode2: Linear,
    decode_out: Linear,
}

impl VaeNet {
    fn new(rng: &mut SeededRng, device: &Device) -> Self {
        Self {
            encode1: seeded_linear(PIXELS + CLASSES, WIDTHS[0], rng, device),
            encode2: seeded_linear(WIDTHS[0], WIDTHS[1], rng, device),
            mean: seeded_linear(WIDTHS[1], LATENT, rng, device),
            log_variance: seeded_linear(WIDTHS[1], LATENT, rng, device),
            decode1: seeded_linear(LATENT + CLASSES, WIDTHS[1], rng, device),
            decode2: seeded_linear(WIDTHS[1], WIDTHS[0], rng, device),
            decode_out: seeded_linear(WIDTHS[0], PIXELS, rng, device),
        }
    }

    fn encode(&self, pixels: Tensor<2>, class: Tensor<2>) -> (Tensor<2>, Tensor<2>) {
        let h = relu(self.encode1.forward(Tensor::cat(vec![pixels, class], 1)));
        let h = relu(self.encode2.forward(h));
        (self.mean.forward(h.clone()), self.log_variance.forward(h))
    }

    /// Pixel logits `[n, 784]`.
    fn decode(&self, z: Tensor<2>, class: Tensor<2>) -> Tensor<2> {
        let h = relu(self.decode1.forward(Tensor::cat(vec![z, class], 1)));
        let h = relu(self.decode2.forward(h));
        self.decode_out.forward(h)
    }
}

/// One-hot rows for `classes`.
fn one_hot(classes: &[u8], device: &Device) -> Tensor<2> {
    let mut values = vec![0f32; classes.len() * CLASSES];
    for (row, &class) in classes.iter().enumerate() {
        values[row * CLASSES + class as usize] = 1.0;
    }
    Tensor::<2>::from_data(TensorData::new(values, [classes.len(), CLASSES]), device)
}

/// `−log p(x | logits)` summed over pixels for a Bernoulli decoder with grey levels `x ∈ [0, 1]`:
/// `softplus(l) − x·l`, the numerically stable form of the binary cross-entropy.
fn bernoulli_nll(logits: Tensor<2>, pixels: Tensor<2>) -> Tensor<1> {
    let per_pixel = softplus(logits.clone(), 1.0) - pixels * logits;
    per_pixel.sum_dim(1).squeeze_dim(1)
}

pub struct Vae {
    net: Option<VaeNet>,
    optimizer: ModuleOptimizer,
    train_device: Device,
    dataset: String,
    rng: SeededRng,
    steps: usize,
}

impl Vae {
    pub fn new(dataset: &str, device: &Device, seed: u64) -> Self {
        let train_device = device.clone().autodiff();
        let mut rng = SeededRng::new(seed ^ 0x7661_6520_6d6e_6973);
        let net = VaeNet::new(&mut rng, &train_device);
        Self {
            net: Some(net),
            optimizer: AdamConfig::new().init(),
            train_device,
            dataset: dataset.to_string(),
            rng,
            steps: 0,
        }
    }

    fn net(&self) -> &VaeNet {
        self.net.as_ref().expect("network is present between steps")
    }

    /// The negative ELBO of each image in nats (`[n]`), with `noise` the ε of the
    /// reparameterisation.
    fn negative_elbo(
        net: &VaeNet,
        pixels: Tensor<2>,
        class: Tensor<2>,
        noise: Tensor<2>,
    ) -> Tensor<1> {
        let (mean, log_variance) = net.encode(pixels.clone(), class.clone());
        let z = mean.clone() + log_variance.clone().mul_scalar(0.5).exp() * noise;
        let reconstruction = bernoulli_nll(net.decode(z, class), pixels);
        // KL(N(μ, σ²) ‖ N(0, 1)) = ½ Σ (μ² + σ² − 1 − log σ²)
        let kl = (mean.square() + log_variance.clone().exp() - log_variance)
            .sub_scalar(1.0)
            .sum_dim(1)
            .squeeze_dim(1)
            .mul_scalar(0.5);
        reconstruction + kl
    }
}

impl Generator for Vae {
    fn name(&self) -> &'static str {
        GENERATOR.name
    }

    fn dataset(&self) -> &str {
        &self.dataset
    }

    fn train_device(&self) -> &Device {
        &self.train_device
    }

    fn train_step(&mut self, batch: ImageBatch) -> Tensor<1> {
        let n = batch.labels.len();
        let class = one_hot(&batch.labels, &self.train_device);
        let noise = host_normal([n, LATENT], &mut self.rng, &self.train_device);
        let pixels = batch.images.reshape([n, PIXELS]);
        let net = self.net.take().expect("network is present between steps");
        let loss = Self::negative_elbo(&net, pixels, class, noise).mean();
        let grads = GradientsParams::from_grads(loss.backward(), &net);
        self.net = Some(self.optimizer.step(LEARNING_RATE, net, grads));
        self.steps += 1;
        loss.detach()
    }

    fn steps_trained(&self) -> usize {
        self.steps
    }

    fn sample(&self, request: &SampleRequest) -> Result<Tensor<4>, String> {
        let device = self.train_device.clone().inner();
        let mut rng = SeededRng::new(request.seed);
        let z = host_normal([request.count, LATENT], &mut rng, &device);
        let net = self.net().valid();
        let class = one_hot(&request.classes(), &device);
        Ok(sigmoid(net.decode(z, class)).reshape([request.count, 1, SIDE, SIDE]))
    }

    fn save(&self) -> PendingWeights {
        save_module(
            self.net(),
            self.name(),
            &self.dataset,
            &[("steps", self.steps.to_string())],
        )
    }

    fn load(&mut self, bytes: &[u8]) -> Result<(), String> {
        let (net, identity) = load_module(self.net(), bytes, self.name(), &self.dataset)?;
        self.net = Some(net);
        self.steps = identity.steps_trained();
        // Adam's moments belong to the weights they were measured on.
        self.optimizer = AdamConfig::new().init();
        Ok(())
    }

    fn parameter_count(&self) -> usize {
        self.net().num_params()
    }

    fn loss_name(&self) -> &'static str {
        "−ELBO (nats/image)"
    }
}
