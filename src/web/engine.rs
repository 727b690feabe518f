//! The page's compute side: the model on whichever backend is active, inference for a drawing,
//! encodings for the scatter, and a training run that yields to the browser after every batch.
//! The UI never touches tensors; it gets plain `Vec<f32>` and structs from here.

use burn::{module::AutodiffModule, prelude::*, tensor::backend::AutodiffBackend};

use crate::{
    backend::{Flex, NdArray, Train, Wgpu},
    data::{Mnist, PIXELS, SIDE},
    labels::HeadLabels,
    model::Heads,
    training::{self, BatchMetrics, Control, EpochMetrics, HeadsEval, TrainConfig, Trainer},
    weights::{self, Bundle, Manifest},
};

/// Which backend the page computes on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WebBackend {
    /// burn-flex on the CPU (wasm SIMD128, one thread).
    Flex,
    /// burn-ndarray on the CPU.
    NdArray,
    /// burn-wgpu on the browser's WebGPU adapter.
    WebGpu,
}

impl WebBackend {
    /// Label for the badge and the select.
    pub fn label(self) -> &'static str {
        match self {
            Self::Flex => "CPU (burn-flex)",
            Self::NdArray => "CPU (burn-ndarray)",
            Self::WebGpu => "WebGPU (burn-wgpu)",
        }
    }
    /// Value in the select.
    pub fn key(self) -> &'static str {
        match self {
            Self::Flex => "flex",
            Self::NdArray => "ndarray",
            Self::WebGpu => "webgpu",
        }
    }
    /// Parse a select value.
    pub fn from_key(k: &str) -> Option<Self> {
        [Self::Flex, Self::NdArray, Self::WebGpu].into_iter().find(|b| b.key() == k)
    }
}

/// A loaded model and heads on one backend.
// One engine lives per page, so the size difference between backends' variants does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Clone)]
pub enum Engine {
    /// On burn-flex.
    Flex(Bundle<Flex>),
    /// On burn-ndarray.
    NdArray(Bundle<NdArray>),
    /// On WebGPU.
    WebGpu(Bundle<Wgpu>),
}

macro_rules! on_engine {
    ($engine:expr, $b:ident => $body:expr) => {
        match $engine {
            Engine::Flex($b) => $body,
            Engine::NdArray($b) => $body,
            Engine::WebGpu($b) => $body,
        }
    };
}

/// Everything the page shows for one drawing.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Outputs {
    /// 784 reconstructed pixels in [0, 1].
    pub recon: Vec<f32>,
    /// The latent code (the VAE's mean).
    pub z: Vec<f32>,
    /// P(odd).
    pub p_odd: f32,
    /// P(rounded).
    pub p_rounded: f32,
    /// Probabilities of the ten digits.
    pub p_digit: [f32; 10],
}

impl Engine {
    /// Build from weight-file bytes on `backend` (WebGPU must have been initialised).
    pub fn decode(bytes: &[u8], backend: WebBackend) -> Result<Self, weights::WeightsError> {
        Ok(match backend {
            WebBackend::Flex => Engine::Flex(weights::decode(bytes, &Default::default())?),
            WebBackend::NdArray => Engine::NdArray(weights::decode(bytes, &Default::default())?),
            WebBackend::WebGpu => Engine::WebGpu(weights::decode(bytes, &Default::default())?),
        })
    }

    /// The manifest of the loaded weights.
    pub fn manifest(&self) -> &Manifest {
        on_engine!(self, b => &b.manifest)
    }

    /// Serialise the current weights (for download and autosave).
    pub fn encode(&self) -> Vec<u8> {
        on_engine!(self, b => b.encode())
    }

    /// Reconstruction, latent and head outputs for a batch of 28x28 images (`n * 784`).
    pub async fn infer(&self, images: &[f32]) -> Result<Vec<Outputs>, String> {
        on_engine!(self, b => infer(b, images).await)
    }

    /// Decode latent codes (`n * latent`) to images.
    pub async fn decode_latents(&self, z: &[f32]) -> Result<Vec<f32>, String> {
        on_engine!(self, b => decode_latents(b, z).await)
    }

    /// Latent means of a set, `len * latent`.
    pub async fn encode_set(&self, set: &Mnist) -> Result<Vec<f32>, String> {
        on_engine!(self, b => training::encode_all(&b.model, set, 250).await.map_err(|e| e.to_string()))
    }
}

async fn infer<B: Backend>(b: &Bundle<B>, images: &[f32]) -> Result<Vec<Outputs>, String> {
    let device = b.model.devices().into_iter().next().ok_or("no device")?;
    let n = images.len() / PIXELS;
    let x = Tensor::<B, 4>::from_data(TensorData::new(images.to_vec(), [n, 1, SIDE, SIDE]), &device);
    let enc = b.model.encode(x);
    let z = enc.mean;
    let recon = b.model.decode(z.clone());
    let latent = b.manifest.model.latent;
    let heads = match &b.heads {
        Some(h) => Some(training::predict_heads(h, z.clone()).await.map_err(|e| e.to_string())?),
        None => None,
    };
    let recon: Vec<f32> = recon.into_data_async().await.map_err(|e| format!("{e:?}"))?.iter::<f32>().collect();
    let z: Vec<f32> = z.into_data_async().await.map_err(|e| format!("{e:?}"))?.iter::<f32>().collect();
    Ok((0..n)
        .map(|i| Outputs {
            recon: recon[i * PIXELS..(i + 1) * PIXELS].to_vec(),
            z: z[i * latent..(i + 1) * latent].to_vec(),
            p_odd: heads.as_ref().map_or(f32::NAN, |h| h.p_odd[i]),
            p_rounded: heads.as_ref().map_or(f32::NAN, |h| h.p_rounded[i]),
            p_digit: heads.as_ref().map_or([f32::NAN; 10], |h| h.p_digit[i]),
        })
        .collect())
}

async fn decode_latents<B: Backend>(b: &Bundle<B>, z: &[f32]) -> Result<Vec<f32>, String> {
    let device = b.model.devices().into_iter().next().ok_or("no device")?;
    let latent = b.manifest.model.latent;
    let n = z.len() / latent;
    let t = Tensor::<B, 2>::from_data(TensorData::new(z.to_vec(), [n, latent]), &device);
    Ok(b.model.decode(t).into_data_async().await.map_err(|e| format!("{e:?}"))?.iter::<f32>().collect())
}

/// Progress of an in-page training run, for the UI.
#[derive(Clone, Debug)]
pub enum Progress {
    /// A batch finished.
    Batch(BatchMetrics),
    /// An epoch finished and was evaluated on the test set.
    Epoch(EpochMetrics),
    /// Head training progress (epoch, of epochs).
    Heads(usize, usize),
}

/// What the UI lets the training loop know between batches.
pub trait TrainControl {
    /// Report progress.
    fn report(&self, p: Progress);
    /// Whether the user paused.
    fn paused(&self) -> bool;
    /// Whether the user asked to stop.
    fn stopped(&self) -> bool;
}

/// Train a fresh model and its heads in the page on training backend `B`, yielding to the
/// browser after every batch; returns the new weights' bytes and the heads' test accuracy.
pub async fn train_in_page<B: AutodiffBackend>(
    config: TrainConfig,
    train: &Mnist,
    test: &Mnist,
    mnist_sha: &str,
    ctl: &impl TrainControl,
) -> Result<(Vec<u8>, HeadsEval), String> {
    let device = B::Device::default();
    let train = if config.train_size == 0 { train.clone() } else { train.take(config.train_size) };
    let test = if config.eval_size == 0 { test.clone() } else { test.take(config.eval_size) };
    let mut trainer = Trainer::<B>::new(config.clone(), train.len(), &device).map_err(|e| e.to_string())?;
    loop {
        while ctl.paused() && !ctl.stopped() {
            sleep_ms(100).await;
        }
        if ctl.stopped() {
            break;
        }
        match trainer.step(&train).await {
            Ok(Some(m)) => {
                let done = m.epoch_done;
                ctl.report(Progress::Batch(m));
                if done {
                    let e = trainer.end_epoch(&test).await.map_err(|e| e.to_string())?;
                    ctl.report(Progress::Epoch(e));
                }
            }
            Ok(None) => break,
            Err(e) => return Err(e.to_string()),
        }
        sleep_ms(0).await;
    }
    let model = trainer.into_model().valid();
    let threshold = config.heads.curvature.threshold(&train);
    let z = training::encode_all(&model, &train, 250).await.map_err(|e| e.to_string())?;
    let labels = HeadLabels::new(&train, threshold);
    let mut epochs_seen = 0;
    let heads: Heads<B::InnerBackend> =
        training::train_heads::<B>(&z, config.model.latent, &labels, &config.heads, config.seed, &device, |h| {
            epochs_seen = h.epoch;
            ctl.report(Progress::Heads(h.epoch, h.epochs));
            Control::Continue
        })
        .await
        .map_err(|e| e.to_string())?;
    let (ae, he) =
        training::evaluate_all(&model, &heads, &test, &config, threshold).await.map_err(|e| e.to_string())?;
    let mut manifest = Manifest::new(config.model);
    manifest.train = Some(config);
    manifest.curvature_threshold = threshold;
    manifest.eval = Some(ae);
    manifest.heads_eval = Some(he.clone());
    manifest.mnist_train_images_sha256 = mnist_sha.to_string();
    manifest.trained_on = format!("Latent Lab page, burn {} {}", weights::BURN_VERSION, B::name(&device));
    Ok((weights::encode(&manifest, &model, Some(&heads)), he))
}

/// Train on the page's active backend.
pub async fn train_on(
    backend: WebBackend,
    config: TrainConfig,
    train: &Mnist,
    test: &Mnist,
    sha: &str,
    ctl: &impl TrainControl,
) -> Result<(Vec<u8>, HeadsEval), String> {
    match backend {
        WebBackend::Flex => train_in_page::<Train<Flex>>(config, train, test, sha, ctl).await,
        WebBackend::NdArray => train_in_page::<Train<NdArray>>(config, train, test, sha, ctl).await,
        WebBackend::WebGpu => train_in_page::<Train<Wgpu>>(config, train, test, sha, ctl).await,
    }
}

/// Resolve after `ms` milliseconds (lets the browser paint and handle input).
pub async fn sleep_ms(ms: i32) {
    let p = js_sys::Promise::new(&mut |resolve, _| {
        let w = web_sys::window().expect("a window");
        w.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms).expect("setTimeout works");
    });
    let _ = wasm_bindgen_futures::JsFuture::from(p).await;
}

thread_local! {
    /// The adapter name once burn's WebGPU runtime is set up (it can be set up only once per page).
    static WEBGPU: std::cell::RefCell<Option<String>> = const { std::cell::RefCell::new(None) };
}

/// Probe WebGPU: `navigator.gpu`, an adapter, then burn's async wgpu init (once). `Err` says why not.
pub async fn init_webgpu() -> Result<String, String> {
    if let Some(name) = WEBGPU.with(|w| w.borrow().clone()) {
        return Ok(name);
    }
    let window = web_sys::window().ok_or("no window")?;
    let nav = window.navigator();
    let gpu = js_sys::Reflect::get(&nav, &"gpu".into()).map_err(|_| "navigator.gpu unreadable")?;
    if gpu.is_undefined() || gpu.is_null() {
        return Err("this browser has no WebGPU (navigator.gpu is missing)".into());
    }
    let request = js_sys::Reflect::get(&gpu, &"requestAdapter".into()).map_err(|_| "no requestAdapter")?;
    let request: js_sys::Function = request.into();
    let adapter = wasm_bindgen_futures::JsFuture::from(js_sys::Promise::from(
        request.call0(&gpu).map_err(|e| format!("requestAdapter failed: {e:?}"))?,
    ))
    .await
    .map_err(|e| format!("requestAdapter failed: {e:?}"))?;
    if adapter.is_null() || adapter.is_undefined() {
        return Err("WebGPU gave no adapter".into());
    }
    let info = js_sys::Reflect::get(&adapter, &"info".into()).ok();
    let name = info
        .and_then(|i| {
            let v = js_sys::Reflect::get(&i, &"description".into()).ok()?.as_string().filter(|s| !s.is_empty());
            v.or_else(|| js_sys::Reflect::get(&i, &"vendor".into()).ok()?.as_string())
        })
        .unwrap_or_else(|| "unknown adapter".into());
    let device = burn::backend::wgpu::WgpuDevice::default();
    burn::backend::wgpu::init_setup_async::<burn::backend::wgpu::graphics::WebGpu>(&device, Default::default()).await;
    WEBGPU.with(|w| *w.borrow_mut() = Some(name.clone()));
    Ok(name)
}
