//! The article's convolutional autoencoder and VAE (SPEC.md, channels first), and the
//! small MLP heads trained on the frozen latent.

use burn::{
    module::Param,
    nn::{
        conv::{Conv2d, Conv2dConfig, ConvTranspose2d, ConvTranspose2dConfig},
        pool::{MaxPool2d, MaxPool2dConfig},
        Linear, LinearConfig, PaddingConfig2d,
    },
    prelude::*,
    tensor::activation::{relu, sigmoid},
};
use serde::{Deserialize, Serialize};

use crate::data::SIDE;

/// Smallest and largest latent sizes the app accepts.
pub const LATENT_RANGE: std::ops::RangeInclusive<usize> = 2..=64;
/// Channels × spatial size after the encoder's second pool: 64 × 7 × 7 (SPEC.md).
const FLAT: usize = 64 * 7 * 7;
/// Hidden width of every head (SPEC.md: Linear(latent->64) + ReLU).
pub const HEAD_HIDDEN: usize = 64;

/// Plain autoencoder or variational autoencoder.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum ModelKind {
    /// Deterministic encoder, MSE loss.
    #[default]
    Ae,
    /// Encoder gives mean and log-variance; sampled latent in training.
    Vae,
}

impl ModelKind {
    /// Lower-case name, as on the command line and in file names.
    pub fn name(self) -> &'static str {
        match self {
            ModelKind::Ae => "ae",
            ModelKind::Vae => "vae",
        }
    }
}

impl std::str::FromStr for ModelKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "ae" => Ok(Self::Ae),
            "vae" => Ok(Self::Vae),
            other => Err(format!("unknown model '{other}': choose 'ae' or 'vae'")),
        }
    }
}

/// Which autoencoder, and how wide its latent is.
#[derive(Config, Debug, PartialEq, Eq, Copy)]
pub struct ModelConfig {
    /// AE or VAE.
    #[config(default = "ModelKind::Ae")]
    pub kind: ModelKind,
    /// Latent size, 2..=64 (16 in the article).
    #[config(default = 16)]
    pub latent: usize,
}

/// A model configuration outside what the app supports.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("latent size {0} is out of range: choose between 2 and 64")]
pub struct LatentOutOfRange(pub usize);

impl ModelConfig {
    /// Check the configuration before building anything.
    pub fn validate(&self) -> Result<(), LatentOutOfRange> {
        if LATENT_RANGE.contains(&self.latent) {
            Ok(())
        } else {
            Err(LatentOutOfRange(self.latent))
        }
    }

    /// Build a freshly initialised model on `device`.
    ///
    /// # Panics
    /// If the latent size is out of range; call [`ModelConfig::validate`] on user input first.
    pub fn init<B: Backend>(&self, device: &B::Device) -> LatentModel<B> {
        self.validate().expect("latent size validated by the caller");
        let enc_out = match self.kind {
            ModelKind::Ae => self.latent,
            ModelKind::Vae => 2 * self.latent,
        };
        let same = || PaddingConfig2d::Explicit(1, 1, 1, 1);
        let pool = MaxPool2dConfig::new([2, 2]).with_strides([2, 2]);
        let model = LatentModel {
            conv1: Conv2dConfig::new([1, 32], [3, 3]).with_padding(same()).init(device),
            conv2: Conv2dConfig::new([32, 64], [3, 3]).with_padding(same()).init(device),
            pool: pool.init(),
            to_latent: LinearConfig::new(FLAT, enc_out).init(device),
            from_latent: LinearConfig::new(self.latent, FLAT).init(device),
            deconv1: ConvTranspose2dConfig::new([64, 64], [3, 3])
                .with_stride([2, 2])
                .with_padding([1, 1])
                .with_padding_out([1, 1])
                .init(device),
            deconv2: ConvTranspose2dConfig::new([64, 32], [3, 3])
                .with_stride([2, 2])
                .with_padding([1, 1])
                .with_padding_out([1, 1])
                .init(device),
            deconv3: ConvTranspose2dConfig::new([32, 1], [3, 3]).with_padding([1, 1]).init(device),
            config: *self,
        };
        // Biases start at zero (as in the article's Keras layers), and the output layer's at the
        // logit of MNIST's mean ink, so the first reconstructions are a faint grey, not 0.5
        // everywhere. With burn's default (random) biases the decoder first collapsed to black
        // pixels: after 94 steps at batch 64, lr 1e-3, test MSE was 0.063 (the mean digit
        // scores 0.068), and at lr 2e-3 it stayed black (0.104); with this start, 0.034 and 0.029.
        let mut model = materialize(model).map(&mut ZeroBiases);
        model.deconv3.bias = Some(Param::from_tensor(Tensor::full([1], OUTPUT_BIAS, device)));
        model
    }
}

/// `ln(m / (1 - m))` for MNIST's mean pixel intensity m = 0.1307: the decoder's first output.
pub const OUTPUT_BIAS: f32 = -1.895;

/// Sets every 1-D parameter (in these models, exactly the biases) to zero.
struct ZeroBiases;

impl<B: Backend> burn::module::ModuleMapper<B> for ZeroBiases {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<B, D>>) -> Param<Tensor<B, D>> {
        if D == 1 {
            param.map(|t| {
                let train = t.is_require_grad();
                t.zeros_like().set_require_grad(train)
            })
        } else {
            param
        }
    }
}

struct Materialize;

impl<B: Backend> burn::module::ModuleVisitor<B> for Materialize {
    fn visit_float<const D: usize>(&mut self, param: &burn::module::Param<Tensor<B, D>>) {
        let _ = param.val();
    }
}

/// Run every lazy parameter initialiser now. burn 0.21 initialises parameters on first use, and
/// each clone of a not-yet-initialised module draws its *own* random values, so a model, its
/// clone and its saved record would otherwise all differ.
pub fn materialize<B: Backend, M: Module<B>>(module: M) -> M {
    module.visit(&mut Materialize);
    module
}

/// The autoencoder: encoder (conv, pool, conv, pool, linear) and decoder (linear, 3 transposed convs).
#[derive(Module, Debug)]
pub struct LatentModel<B: Backend> {
    conv1: Conv2d<B>,
    conv2: Conv2d<B>,
    pool: MaxPool2d,
    to_latent: Linear<B>,
    from_latent: Linear<B>,
    deconv1: ConvTranspose2d<B>,
    deconv2: ConvTranspose2d<B>,
    deconv3: ConvTranspose2d<B>,
    #[module(skip)]
    config: ModelConfig,
}

/// What the encoder says about a batch.
#[derive(Clone, Debug)]
pub struct Encoding<B: Backend> {
    /// `[batch, latent]`: the latent code (AE) or the posterior mean (VAE): used downstream.
    pub mean: Tensor<B, 2>,
    /// `[batch, latent]`: posterior log-variance, VAE only.
    pub log_var: Option<Tensor<B, 2>>,
}

impl<B: Backend> LatentModel<B> {
    /// The first convolution's weights: the last gradient backward computes, so reading it (or
    /// its gradient) waits for a whole step — the benchmark's sync point on every backend.
    pub(crate) fn first_weight(&self) -> &burn::module::Param<Tensor<B, 4>> {
        &self.conv1.weight
    }

    /// The configuration this model was built from.
    pub fn config(&self) -> ModelConfig {
        self.config
    }

    /// Encode images.
    ///
    /// # Shapes
    /// `x: [batch, 1, 28, 28]` in [0, 1] → mean (and log-variance) `[batch, latent]`.
    pub fn encode(&self, x: Tensor<B, 4>) -> Encoding<B> {
        let x = self.pool.forward(relu(self.conv1.forward(x))); // [batch, 32, 14, 14]
        let x = self.pool.forward(relu(self.conv2.forward(x))); // [batch, 64, 7, 7]
        let h = self.to_latent.forward(x.flatten(1, 3)); // [batch, latent or 2*latent]
        let latent = self.config.latent;
        match self.config.kind {
            ModelKind::Ae => Encoding { mean: h, log_var: None },
            ModelKind::Vae => {
                let [batch, _] = h.dims();
                Encoding {
                    mean: h.clone().slice([0..batch, 0..latent]),
                    log_var: Some(h.slice([0..batch, latent..2 * latent])),
                }
            }
        }
    }

    /// Decode latent codes to pixel logits (apply a sigmoid for pixels).
    ///
    /// # Shapes
    /// `z: [batch, latent]` → `[batch, 1, 28, 28]`.
    pub fn decode_logits(&self, z: Tensor<B, 2>) -> Tensor<B, 4> {
        let [batch, _] = z.dims();
        let h = relu(self.from_latent.forward(z)).reshape([batch, 64, 7, 7]);
        let h = relu(self.deconv1.forward(h)); // [batch, 64, 14, 14]
        let h = relu(self.deconv2.forward(h)); // [batch, 32, 28, 28]
        self.deconv3.forward(h) // [batch, 1, 28, 28]
    }

    /// Decode latent codes to pixels in [0, 1].
    pub fn decode(&self, z: Tensor<B, 2>) -> Tensor<B, 4> {
        sigmoid(self.decode_logits(z))
    }

    /// Deterministic reconstruction (the VAE decodes its mean): `[batch, 1, 28, 28]`.
    pub fn reconstruct(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        self.decode(self.encode(x).mean)
    }

    /// Parameters of the encoder half.
    pub fn params_encoder(&self) -> usize {
        self.conv1.num_params() + self.conv2.num_params() + self.to_latent.num_params()
    }

    /// Parameters of the decoder half.
    pub fn params_decoder(&self) -> usize {
        self.from_latent.num_params()
            + self.deconv1.num_params()
            + self.deconv2.num_params()
            + self.deconv3.num_params()
    }
}

/// Multiply-adds of one forward pass for one image (SPEC.md: 9.58 M at latent 16).
pub fn forward_macs(config: &ModelConfig) -> u64 {
    let s = SIDE as u64;
    let enc_out = match config.kind {
        ModelKind::Ae => config.latent,
        ModelKind::Vae => 2 * config.latent,
    } as u64;
    // A 3x3 conv costs cin*cout*9 per output pixel; a transposed conv the same per *input* pixel.
    let conv = |cin: u64, cout: u64, hw: u64| cin * cout * 9 * hw * hw;
    conv(1, 32, s) // conv1 on 28x28
        + conv(32, 64, s / 2) // conv2 on 14x14
        + FLAT as u64 * enc_out // to_latent
        + config.latent as u64 * FLAT as u64 // from_latent
        + conv(64, 64, s / 4) // deconv1, input 7x7
        + conv(64, 32, s / 2) // deconv2, input 14x14
        + conv(32, 1, s) // deconv3, input 28x28
}

/// FLOPs of one training step per image: forward + backward ≈ 3 × forward, 2 FLOPs per multiply-add.
pub fn train_flops_per_image(config: &ModelConfig) -> u64 {
    3 * 2 * forward_macs(config)
}

/// A two-layer MLP head on the latent: Linear(latent → 64) + ReLU → Linear(64 → classes).
#[derive(Module, Debug)]
pub struct Head<B: Backend> {
    hidden: Linear<B>,
    out: Linear<B>,
}

impl<B: Backend> Head<B> {
    fn new(latent: usize, classes: usize, device: &B::Device) -> Self {
        Self {
            hidden: LinearConfig::new(latent, HEAD_HIDDEN).init(device),
            out: LinearConfig::new(HEAD_HIDDEN, classes).init(device),
        }
    }

    /// `[batch, latent]` → logits `[batch, classes]`.
    pub fn forward(&self, z: Tensor<B, 2>) -> Tensor<B, 2> {
        self.out.forward(relu(self.hidden.forward(z)))
    }
}

/// The heads trained on the frozen latent: the article's two, and the extra digit probe.
#[derive(Module, Debug)]
pub struct Heads<B: Backend> {
    /// P(odd) from one sigmoid logit (label `digit % 2`).
    pub odd_even: Head<B>,
    /// P(sharp), P(rounded) from two softmax logits (label: ink above the threshold).
    pub curvature: Head<B>,
    /// Ten logits, one per digit: a probe of how much the latent knows about the digit.
    pub digit: Head<B>,
}

impl<B: Backend> Heads<B> {
    /// Fresh heads for a latent of size `latent`.
    pub fn new(latent: usize, device: &B::Device) -> Self {
        materialize(Self {
            odd_even: Head::new(latent, 1, device),
            curvature: Head::new(latent, 2, device),
            digit: Head::new(latent, 10, device),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::NdArray;

    type B = NdArray<f32>;

    #[test]
    fn ae16_has_the_articles_parameter_count() {
        let m = ModelConfig::new().init::<B>(&Default::default());
        assert_eq!(m.num_params(), 178_001);
        assert_eq!(m.params_encoder(), 320 + 18_496 + 50_192);
        assert_eq!(m.params_decoder(), 53_312 + 36_928 + 18_464 + 289);
    }

    #[test]
    fn vae_encoder_doubles_the_last_layer() {
        let m = ModelConfig::new().with_kind(ModelKind::Vae).with_latent(2).init::<B>(&Default::default());
        assert_eq!(m.params_encoder(), 320 + 18_496 + 3136 * 4 + 4);
    }

    #[test]
    fn shapes_through_encoder_and_decoder() {
        let device = Default::default();
        for kind in [ModelKind::Ae, ModelKind::Vae] {
            let m = ModelConfig::new().with_kind(kind).with_latent(5).init::<B>(&device);
            let x = Tensor::<B, 4>::ones([3, 1, 28, 28], &device) * 0.5;
            let e = m.encode(x.clone());
            assert_eq!(e.mean.dims(), [3, 5]);
            assert_eq!(e.log_var.as_ref().map(|t| t.dims()), (kind == ModelKind::Vae).then_some([3, 5]));
            let y = m.reconstruct(x);
            assert_eq!(y.dims(), [3, 1, 28, 28]);
            let v: Vec<f32> = y.into_data().to_vec().unwrap();
            assert!(v.iter().all(|p| (0.0..=1.0).contains(p)));
        }
    }

    #[test]
    fn a_clone_of_a_fresh_model_has_the_same_weights() {
        let device = Default::default();
        let m = ModelConfig::new().with_latent(2).init::<B>(&device);
        let c = m.clone();
        let z = Tensor::<B, 2>::ones([1, 2], &device);
        assert_eq!(m.decode(z.clone()).into_data(), c.decode(z).into_data());
    }

    #[test]
    fn a_fresh_decoder_starts_near_the_mean_ink_with_zero_biases() {
        let device = Default::default();
        for kind in [ModelKind::Ae, ModelKind::Vae] {
            let m = ModelConfig::new().with_kind(kind).with_latent(16).init::<B>(&device);
            // Every hidden bias is zero; the output bias is the logit of MNIST's mean ink.
            for b in [m.conv1.bias.as_ref(), m.conv2.bias.as_ref(), m.deconv1.bias.as_ref(), m.deconv2.bias.as_ref()] {
                let v: Vec<f32> = b.expect("bias").val().into_data().to_vec().unwrap();
                assert!(v.iter().all(|x| *x == 0.0), "{v:?}");
            }
            let z = Tensor::<B, 2>::random([8, 16], burn::tensor::Distribution::Normal(0.0, 1.0), &device);
            let mean = m.decode(z).mean().into_scalar();
            // Random biases started it near 0.5 (then it collapsed to black); MNIST's mean is 0.13.
            assert!((0.05..0.3).contains(&mean), "a fresh decoder's mean pixel is {mean}");
        }
    }

    #[test]
    fn latent_range_is_checked() {
        assert!(ModelConfig::new().with_latent(1).validate().is_err());
        assert!(ModelConfig::new().with_latent(65).validate().is_err());
        assert!(ModelConfig::new().with_latent(64).validate().is_ok());
    }

    #[test]
    fn forward_cost_matches_spec() {
        // SPEC.md: 9.58 M multiply-adds forward at latent 16.
        let macs = forward_macs(&ModelConfig::new());
        assert!((9_500_000..9_700_000).contains(&macs), "{macs}");
    }

    #[test]
    fn heads_have_expected_shapes() {
        let device = Default::default();
        let h = Heads::<B>::new(16, &device);
        let z = Tensor::<B, 2>::zeros([4, 16], &device);
        assert_eq!(h.odd_even.forward(z.clone()).dims(), [4, 1]);
        assert_eq!(h.curvature.forward(z.clone()).dims(), [4, 2]);
        assert_eq!(h.digit.forward(z).dims(), [4, 10]);
    }
}
