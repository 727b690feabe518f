//! The page's compute side: the model on whichever backend is active, inference for a drawing,
//! encodings for the scatter, and a training run that yields to the browser after every batch.
//! The UI never touches tensors; it gets plain `Vec<f32>` and structs from here.

use burn::{
    module::{AutodiffModule, ModuleMapper, ModuleVisitor, Param},
    prelude::*,
    tensor::backend::AutodiffBackend,
};
use wasm_bindgen::JsCast;
use web_time::{Duration, Instant};

use crate::{
    backend::{Flex, NdArray, Train, Wgpu},
    data::{Mnist, PIXELS, SIDE},
    labels::HeadLabels,
    model::{Heads, LatentModel},
    training::{self, Alone, BatchMetrics, Control, EpochMetrics, Exchange, HeadsEval, TrainConfig, Trainer},
    weights::{self, Bundle, Manifest},
};

/// How often, at most, the gallery of test digits is refreshed while training.
pub const GALLERY_EVERY: Duration = Duration::from_secs(2);

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

    /// Serialise the current weights. CPU backends only: on WebGPU the synchronous reads this
    /// needs fail in the browser; use [`Engine::encode_async`] there.
    pub fn encode(&self) -> Vec<u8> {
        on_engine!(self, b => b.encode())
    }

    /// Serialise the current weights on any backend (the reads are asynchronous).
    pub async fn encode_async(&self) -> Result<Vec<u8>, String> {
        on_engine!(self, b => bundle_bytes(&b.manifest, &b.model, b.heads.as_ref()).await)
    }

    /// The backend this engine computes on.
    pub fn backend(&self) -> WebBackend {
        match self {
            Engine::Flex(_) => WebBackend::Flex,
            Engine::NdArray(_) => WebBackend::NdArray,
            Engine::WebGpu(_) => WebBackend::WebGpu,
        }
    }

    /// Whether the weights include trained heads.
    pub fn has_heads(&self) -> bool {
        on_engine!(self, b => b.heads.is_some())
    }

    /// One small inference (a blank digit), to check the backend works and warm it up.
    pub async fn warm_up(&self) -> Result<(), String> {
        let out = self.infer(&[0.0; PIXELS]).await?;
        match out.first() {
            Some(o) if o.recon.iter().all(|v| v.is_finite()) => Ok(()),
            Some(_) => Err("the warm-up inference gave non-finite numbers".into()),
            None => Err("the warm-up inference gave no output".into()),
        }
    }

    /// Reconstruction, latent and head outputs for a batch of 28x28 images (`n * 784`).
    pub async fn infer(&self, images: &[f32]) -> Result<Vec<Outputs>, String> {
        on_engine!(self, b => infer(b, images).await)
    }

    /// Decode latent codes (`n * latent`) to images.
    pub async fn decode_latents(&self, z: &[f32]) -> Result<Vec<f32>, String> {
        on_engine!(self, b => decode_latents(b, z).await)
    }

    /// Latent means of a set, `len * latent`. Encodes 100 images at a time and yields to the
    /// browser in between, so drawing and the first prediction need not wait for the whole set.
    pub async fn encode_set(&self, set: &Mnist) -> Result<Vec<f32>, String> {
        let mut out = Vec::with_capacity(set.len() * self.manifest().model.latent);
        for start in (0..set.len()).step_by(100) {
            let part = set.range(start..start + 100);
            out.extend(
                on_engine!(self, b => training::encode_all(&b.model, &part, 100).await.map_err(|e| e.to_string()))?,
            );
            sleep_ms(0).await;
        }
        Ok(out)
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

/// Collects every float parameter of a module, flattened, with its shape.
struct Collect<B: Backend>(Vec<(Vec<usize>, Tensor<B, 1>)>);

impl<B: Backend> ModuleVisitor<B> for Collect<B> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        let t = param.val();
        let shape = t.dims().to_vec();
        let n = shape.iter().product::<usize>();
        self.0.push((shape, t.reshape([n])));
    }
}

/// Replaces every float parameter, in visiting order, by the values read from another backend.
struct Fill {
    values: std::vec::IntoIter<(Vec<usize>, Vec<f32>)>,
    error: Option<String>,
}

impl ModuleMapper<Flex> for Fill {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<Flex, D>>) -> Param<Tensor<Flex, D>> {
        let next = self.values.next();
        let error = &mut self.error;
        param.map(|t| match next {
            Some((shape, v))
                if shape.as_slice() == t.dims().as_slice() && v.len() == shape.iter().product::<usize>() =>
            {
                Tensor::from_data(TensorData::new(v, shape), &t.device())
            }
            _ => {
                *error = Some("the parameters of the model changed shape while being copied".into());
                t
            }
        })
    }
}

async fn read_params<B: Backend, M: Module<B>>(m: &M) -> Result<Vec<(Vec<usize>, Vec<f32>)>, String> {
    let mut c = Collect::<B>(Vec::new());
    m.visit(&mut c);
    let mut out = Vec::with_capacity(c.0.len());
    for (shape, t) in c.0 {
        let data = t.into_data_async().await.map_err(|e| format!("reading the weights failed: {e:?}"))?;
        out.push((shape, data.iter::<f32>().collect()));
    }
    Ok(out)
}

/// Serialise a model and heads living on any backend: every parameter is read asynchronously
/// (so this works on WebGPU in the browser), copied into a CPU model, and encoded from there.
pub async fn bundle_bytes<B: Backend>(
    manifest: &Manifest,
    model: &LatentModel<B>,
    heads: Option<&Heads<B>>,
) -> Result<Vec<u8>, String> {
    let device = Default::default();
    let mut fill = Fill { values: read_params::<B, _>(model).await?.into_iter(), error: None };
    let cpu_model = manifest.model.init::<Flex>(&device).map(&mut fill);
    let cpu_heads = match heads {
        Some(h) => {
            fill.values = read_params::<B, _>(h).await?.into_iter();
            Some(Heads::<Flex>::new(manifest.model.latent, &device).map(&mut fill))
        }
        None => None,
    };
    if let Some(e) = fill.error {
        return Err(e);
    }
    Ok(weights::encode(manifest, &cpu_model, cpu_heads.as_ref()))
}

/// Reconstructions (`n * 784`) of images (`n * 784`) by `model`.
pub async fn reconstruct<B: Backend>(model: &LatentModel<B>, images: &[f32]) -> Result<Vec<f32>, String> {
    let n = images.len() / PIXELS;
    if n == 0 {
        return Ok(Vec::new());
    }
    let device = model.devices().into_iter().next().ok_or("no device")?;
    let x = Tensor::<B, 4>::from_data(TensorData::new(images[..n * PIXELS].to_vec(), [n, 1, SIDE, SIDE]), &device);
    Ok(model.reconstruct(x).into_data_async().await.map_err(|e| format!("{e:?}"))?.iter::<f32>().collect())
}

/// Progress of an in-page training run, for the UI.
#[derive(Clone, Debug)]
pub enum Progress {
    /// A batch finished.
    Batch(BatchMetrics),
    /// An epoch finished and was evaluated on the test set.
    Epoch(EpochMetrics),
    /// Reconstructions (`n * 784`) of the gallery images by the model being trained.
    Gallery(Vec<f32>),
    /// The model after an epoch (no heads yet), as bundle bytes: the page shows and autosaves it.
    Snapshot {
        /// The bundle.
        bytes: Vec<u8>,
        /// 1-based epoch just finished.
        epoch: usize,
        /// Epochs in the run.
        epochs: usize,
    },
    /// Encoding the training digits for the heads (images done, of total).
    Encoding(usize, usize),
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
/// Reports reconstructions of `gallery` (`n * 784` pixels) every [`GALLERY_EVERY`] and after
/// each epoch, and the model itself after each epoch.
pub async fn train_in_page<B: AutodiffBackend, E: Exchange>(
    config: TrainConfig,
    train: &Mnist,
    test: &Mnist,
    mnist_sha: &str,
    gallery: &[f32],
    ctl: &impl TrainControl,
    mut shard: Option<Shard<E>>,
) -> Result<(Vec<u8>, HeadsEval), String> {
    let device = B::Device::default();
    let train = if config.train_size == 0 { train.clone() } else { train.take(config.train_size) };
    let test = if config.eval_size == 0 { test.clone() } else { test.take(config.eval_size) };
    let mut trainer = Trainer::<B>::new(config.clone(), train.len(), &device).map_err(|e| e.to_string())?;
    let mut last_gallery = Instant::now();
    loop {
        while ctl.paused() && !ctl.stopped() {
            sleep_ms(100).await;
        }
        if ctl.stopped() {
            break;
        }
        let step = match shard.as_mut() {
            Some(s) => trainer.step_shard(&train, s.rank, s.world, &mut s.exchange).await,
            None => trainer.step(&train).await,
        };
        match step {
            Ok(Some(m)) => {
                let done = m.epoch_done;
                ctl.report(Progress::Batch(m));
                if done {
                    let e = trainer.end_epoch(&test).await.map_err(|e| e.to_string())?;
                    let (epoch, eval) = (e.epoch, e.eval.clone());
                    ctl.report(Progress::Epoch(e));
                    let model = trainer.model().valid();
                    ctl.report(Progress::Gallery(reconstruct(&model, gallery).await?));
                    last_gallery = Instant::now();
                    let mut manifest = Manifest::new(config.model);
                    manifest.train = Some(config.clone());
                    manifest.eval = Some(eval);
                    manifest.mnist_train_images_sha256 = mnist_sha.to_string();
                    manifest.trained_on = format!(
                        "Latent Lab page, burn {} {}, epoch {epoch} of {} (heads not trained yet)",
                        weights::BURN_VERSION,
                        B::name(&device),
                        config.epochs
                    );
                    let bytes = bundle_bytes(&manifest, &model, None).await?;
                    ctl.report(Progress::Snapshot { bytes, epoch, epochs: config.epochs });
                } else if last_gallery.elapsed() >= GALLERY_EVERY {
                    let model = trainer.model().valid();
                    ctl.report(Progress::Gallery(reconstruct(&model, gallery).await?));
                    last_gallery = Instant::now();
                }
            }
            Ok(None) => break,
            Err(e) => return Err(e.to_string()),
        }
        sleep_ms(0).await;
    }
    let model = trainer.into_model().valid();
    let threshold = config.heads.curvature.threshold(&train);
    // Encode the training digits for the heads in chunks, yielding so the page stays responsive.
    let mut z = Vec::with_capacity(train.len() * config.model.latent);
    let idx: Vec<usize> = (0..train.len()).collect();
    for chunk in idx.chunks(250) {
        let (a, b) = (chunk[0], chunk[chunk.len() - 1] + 1);
        let part = Mnist { pixels: train.pixels[a * PIXELS..b * PIXELS].to_vec(), labels: train.labels[a..b].to_vec() };
        z.extend(training::encode_all(&model, &part, 250).await.map_err(|e| e.to_string())?);
        ctl.report(Progress::Encoding(b, train.len()));
        sleep_ms(0).await;
    }
    let labels = HeadLabels::new(&train, threshold);
    // `train_heads` does not yield between its epochs; show that it started, then let the page paint.
    ctl.report(Progress::Heads(0, config.heads.epochs));
    sleep_ms(0).await;
    let mut epochs_seen = 0;
    let heads: Heads<B::InnerBackend> =
        training::train_heads::<B>(&z, config.model.latent, &labels, &config.heads, config.seed, &device, |h| {
            epochs_seen = h.epoch;
            ctl.report(Progress::Heads(h.epoch, h.epochs));
            Control::Continue
        })
        .await
        .map_err(|e| e.to_string())?;
    sleep_ms(0).await;
    let (ae, he) =
        training::evaluate_all(&model, &heads, &test, &config, threshold).await.map_err(|e| e.to_string())?;
    let mut manifest = Manifest::new(config.model);
    manifest.train = Some(config);
    manifest.curvature_threshold = threshold;
    manifest.eval = Some(ae);
    manifest.heads_eval = Some(he.clone());
    manifest.mnist_train_images_sha256 = mnist_sha.to_string();
    manifest.trained_on = format!("Latent Lab page, burn {} {}", weights::BURN_VERSION, B::name(&device));
    Ok((bundle_bytes(&manifest, &model, Some(&heads)).await?, he))
}

/// Train on the page's active backend.
pub async fn train_on(
    backend: WebBackend,
    config: TrainConfig,
    train: &Mnist,
    test: &Mnist,
    sha: &str,
    gallery: &[f32],
    ctl: &impl TrainControl,
) -> Result<(Vec<u8>, HeadsEval), String> {
    train_on_shard(backend, config, train, test, sha, gallery, ctl, None::<Shard<Alone>>).await
}

/// One replica's part in data-parallel training (see [`Trainer::step_shard`]).
pub struct Shard<E> {
    /// This replica, 0-based; replica 0 reports progress, evaluates and trains the heads.
    pub rank: usize,
    /// Replicas in all.
    pub world: usize,
    /// How the replicas sum their gradients.
    pub exchange: E,
}

/// [`train_on`] as replica 0 of a data-parallel run (`None`: alone).
#[allow(clippy::too_many_arguments)]
pub async fn train_on_shard<E: Exchange>(
    backend: WebBackend,
    config: TrainConfig,
    train: &Mnist,
    test: &Mnist,
    sha: &str,
    gallery: &[f32],
    ctl: &impl TrainControl,
    shard: Option<Shard<E>>,
) -> Result<(Vec<u8>, HeadsEval), String> {
    match backend {
        WebBackend::Flex => train_in_page::<Train<Flex>, E>(config, train, test, sha, gallery, ctl, shard).await,
        WebBackend::NdArray => train_in_page::<Train<NdArray>, E>(config, train, test, sha, gallery, ctl, shard).await,
        WebBackend::WebGpu => train_in_page::<Train<Wgpu>, E>(config, train, test, sha, gallery, ctl, shard).await,
    }
}

/// A replica other than 0 of a data-parallel run: the same steps as replica 0, on its own share
/// of each batch, until the run ends or the exchange says stop. It reports nothing itself.
pub async fn replica_on<E: Exchange>(
    backend: WebBackend,
    config: TrainConfig,
    train: &Mnist,
    mut shard: Shard<E>,
) -> Result<(), String> {
    async fn run<B: AutodiffBackend, E: Exchange>(
        config: TrainConfig,
        train: &Mnist,
        shard: &mut Shard<E>,
    ) -> Result<(), String> {
        let device = B::Device::default();
        // The same subset and trainer as replica 0 builds in `train_in_page`.
        let train = if config.train_size == 0 { train.clone() } else { train.take(config.train_size) };
        let mut trainer = Trainer::<B>::new(config, train.len(), &device).map_err(|e| e.to_string())?;
        while trainer
            .step_shard(&train, shard.rank, shard.world, &mut shard.exchange)
            .await
            .map_err(|e| e.to_string())?
            .is_some()
        {}
        Ok(())
    }
    match backend {
        WebBackend::Flex => run::<Train<Flex>, E>(config, train, &mut shard).await,
        WebBackend::NdArray => run::<Train<NdArray>, E>(config, train, &mut shard).await,
        WebBackend::WebGpu => Err("data-parallel training runs on the CPU backends only".into()),
    }
}

/// Run `fut`, giving up after `ms` milliseconds (`None`).
pub async fn with_timeout<T>(ms: i32, fut: impl std::future::Future<Output = T>) -> Option<T> {
    use std::future::Future;
    let mut fut = std::pin::pin!(fut);
    let mut timer = std::pin::pin!(sleep_ms(ms));
    std::future::poll_fn(|cx| {
        if let std::task::Poll::Ready(v) = fut.as_mut().poll(cx) {
            return std::task::Poll::Ready(Some(v));
        }
        if timer.as_mut().poll(cx).is_ready() {
            return std::task::Poll::Ready(None);
        }
        std::task::Poll::Pending
    })
    .await
}

/// Resolve after `ms` milliseconds (lets the browser paint and handle input).
/// Works on the page and in the training worker (it uses the global `setTimeout`).
pub async fn sleep_ms(ms: i32) {
    let p = js_sys::Promise::new(&mut |resolve, _| {
        set_timeout(&resolve, ms);
    });
    let _ = wasm_bindgen_futures::JsFuture::from(p).await;
}

#[wasm_bindgen::prelude::wasm_bindgen]
extern "C" {
    /// The global `setTimeout` (of a window or a worker).
    #[wasm_bindgen(js_name = setTimeout)]
    fn set_timeout(handler: &js_sys::Function, ms: i32) -> wasm_bindgen::JsValue;
}

thread_local! {
    /// The adapter name once burn's WebGPU runtime is set up (it can be set up only once per page).
    static WEBGPU: std::cell::RefCell<Option<String>> = const { std::cell::RefCell::new(None) };
}

/// What the browser says about its WebGPU adapter.
#[derive(Clone, Debug, PartialEq)]
pub struct AdapterInfo {
    /// Description, or vendor and architecture, as the browser reports them.
    pub name: String,
    /// Why this adapter is a software renderer (SwiftShader, a fallback adapter…), if it is one.
    pub software: Option<String>,
}

fn js_str(o: &wasm_bindgen::JsValue, k: &str) -> String {
    js_sys::Reflect::get(o, &k.into()).ok().and_then(|v| v.as_string()).unwrap_or_default()
}

fn js_true(o: &wasm_bindgen::JsValue, k: &str) -> bool {
    js_sys::Reflect::get(o, &k.into()).ok().and_then(|v| v.as_bool()).unwrap_or(false)
}

/// Decide from an adapter's reported fields whether it renders in software.
pub fn software_reason(description: &str, vendor: &str, architecture: &str, fallback: bool) -> Option<String> {
    let all = format!("{description} {vendor} {architecture}").to_ascii_lowercase();
    let known = [
        ("swiftshader", "SwiftShader"),
        ("llvmpipe", "llvmpipe"),
        ("lavapipe", "lavapipe"),
        ("basic render", "Microsoft Basic Render Driver"),
    ];
    if let Some((_, name)) = known.iter().find(|(k, _)| all.contains(k)) {
        return Some(format!("WebGPU adapter is {name}, a software renderer: the CPU backend is faster here"));
    }
    fallback.then(|| "WebGPU offers only a fallback (software) adapter: the CPU backend is faster here".to_string())
}

/// Ask the browser for a WebGPU adapter (`navigator.gpu.requestAdapter()`); `Err` says why none.
pub async fn probe_adapter() -> Result<AdapterInfo, String> {
    let window = web_sys::window().ok_or("no window")?;
    let nav = window.navigator();
    let gpu = js_sys::Reflect::get(&nav, &"gpu".into()).map_err(|_| "navigator.gpu unreadable")?;
    if gpu.is_undefined() || gpu.is_null() {
        return Err("this browser has no WebGPU (navigator.gpu is missing)".into());
    }
    let request = js_sys::Reflect::get(&gpu, &"requestAdapter".into()).map_err(|_| "no requestAdapter")?;
    let request: js_sys::Function = request.dyn_into().map_err(|_| "navigator.gpu.requestAdapter is not a function")?;
    let adapter = wasm_bindgen_futures::JsFuture::from(js_sys::Promise::from(
        request.call0(&gpu).map_err(|e| format!("requestAdapter failed: {e:?}"))?,
    ))
    .await
    .map_err(|e| format!("requestAdapter failed: {e:?}"))?;
    if adapter.is_null() || adapter.is_undefined() {
        return Err("WebGPU gave no adapter".into());
    }
    let info = js_sys::Reflect::get(&adapter, &"info".into()).unwrap_or(wasm_bindgen::JsValue::UNDEFINED);
    let (description, vendor, architecture) =
        (js_str(&info, "description"), js_str(&info, "vendor"), js_str(&info, "architecture"));
    let fallback = js_true(&info, "isFallbackAdapter") || js_true(&adapter, "isFallbackAdapter");
    let name = if !description.is_empty() {
        description.clone()
    } else {
        let v = [vendor.as_str(), architecture.as_str()].iter().filter(|s| !s.is_empty()).copied().collect::<Vec<_>>();
        if v.is_empty() {
            "unknown adapter".to_string()
        } else {
            v.join(" ")
        }
    };
    Ok(AdapterInfo { software: software_reason(&description, &vendor, &architecture, fallback), name })
}

/// Probe WebGPU: `navigator.gpu`, an adapter, then burn's async wgpu init (once). `Err` says why
/// not. Software adapters are accepted here; [`choose_webgpu`] is what the page uses at start-up.
pub async fn init_webgpu() -> Result<String, String> {
    if let Some(name) = WEBGPU.with(|w| w.borrow().clone()) {
        return Ok(name);
    }
    let info = probe_adapter().await?;
    let device = burn::backend::wgpu::WgpuDevice::default();
    burn::backend::wgpu::init_setup_async::<burn::backend::wgpu::graphics::WebGpu>(&device, Default::default()).await;
    WEBGPU.with(|w| *w.borrow_mut() = Some(info.name.clone()));
    Ok(info.name)
}

/// The start-up decision: the model in `bytes` on WebGPU, warmed up, if the browser has a real
/// GPU adapter; otherwise `Err` with the reason to stay on the CPU, in words for the badge.
pub async fn choose_webgpu(bytes: &[u8]) -> Result<(Engine, String), String> {
    let info = probe_adapter().await?;
    if let Some(why) = info.software {
        return Err(why);
    }
    let name = init_webgpu().await?;
    let engine =
        Engine::decode(bytes, WebBackend::WebGpu).map_err(|e| format!("WebGPU could not load the model: {e}"))?;
    engine.warm_up().await.map_err(|e| format!("the WebGPU warm-up failed: {e}"))?;
    Ok((engine, name))
}
