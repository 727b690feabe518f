//! Training-step benchmark and profile: the same code natively (`latent-lab bench`) and in the
//! page (`window.latentLabBench`), so the two can be compared like for like.
//!
//! Each phase ends with a small asynchronous read that waits for the work before it (on WebGPU a
//! synchronous wait would panic in the browser), so the phase times add up to the step time.

use burn::{
    optim::{AdamConfig, GradientsParams, Optimizer},
    prelude::*,
    tensor::backend::AutodiffBackend,
};
use serde::{Deserialize, Serialize};
use web_time::Instant;

use crate::{
    data::Mnist,
    model::{ModelConfig, ModelKind},
    rng::SplitMix64,
    training::{loss, TrainConfig, TrainError},
};

/// Where one backend's training time goes, per step (medians over the timed steps).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StepProfile {
    /// Backend name as burn reports it.
    pub backend: String,
    /// The model.
    pub model: ModelConfig,
    /// Images per step.
    pub batch: usize,
    /// Timed steps (after one untimed warm-up step).
    pub steps: usize,
    /// Training images per second over all timed steps.
    pub images_per_sec: f64,
    /// Median milliseconds of a whole step.
    pub step_ms: f64,
    /// Median milliseconds of the forward pass and loss.
    pub forward_ms: f64,
    /// Median milliseconds of the backward pass.
    pub backward_ms: f64,
    /// Median milliseconds of Adam's update.
    pub optimiser_ms: f64,
    /// Median milliseconds of reading the loss back.
    pub read_ms: f64,
    /// Loss of the first and last timed step (a sanity check that it trains).
    pub loss_first_last: [f32; 2],
}

/// Median of `v` (0 for an empty slice).
pub fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    match s.len() {
        0 => 0.0,
        n if n % 2 == 1 => s[n / 2],
        n => 0.5 * (s[n / 2 - 1] + s[n / 2]),
    }
}

async fn wait<B: Backend, const D: usize>(t: Tensor<B, D>) -> Result<(), TrainError> {
    // One element is enough: reading it waits for everything it depends on.
    let one = t.flatten::<1>(0, D - 1).slice(0..1);
    one.into_data_async().await.map_err(|e| TrainError::Device(format!("{e:?}")))?;
    Ok(())
}

/// Train `steps + 1` steps of `config` on the first images of `set` (cycled), timing each phase.
pub async fn profile_steps<B: AutodiffBackend>(
    config: TrainConfig,
    set: &Mnist,
    steps: usize,
    device: &B::Device,
) -> Result<StepProfile, TrainError> {
    config.validate()?;
    if set.is_empty() || steps == 0 {
        return Err(TrainError::BadConfig("the benchmark needs images and at least one step".into()));
    }
    B::seed(device, config.seed);
    let mut model = config.model.init::<B>(device);
    let mut optim = AdamConfig::new().init();
    let mut rng = SplitMix64::new(config.seed);
    let batch = config.batch_size;
    let latent = config.model.latent;
    let (mut fwd, mut bwd, mut opt, mut read, mut total) = (vec![], vec![], vec![], vec![], vec![]);
    let mut losses = Vec::new();
    for step in 0..=steps {
        let idx: Vec<usize> = (0..batch).map(|i| (step * batch + i) % set.len()).collect();
        let x = set.batch::<B>(&idx, device);
        let eps = (config.model.kind == ModelKind::Vae)
            .then(|| Tensor::<B, 2>::from_data(TensorData::new(rng.normals(batch * latent), [batch, latent]), device));
        wait(x.clone().inner()).await?;
        let t0 = Instant::now();
        let parts = loss(&model, x, eps, &config);
        wait(parts.total.clone().inner()).await?;
        let t1 = Instant::now();
        let grads = GradientsParams::from_grads(parts.total.backward(), &model);
        let g = grads
            .get::<B::InnerBackend, 4>(model.first_weight().id)
            .ok_or_else(|| TrainError::Device("no gradient for the first convolution".into()))?;
        wait(g).await?;
        let t2 = Instant::now();
        model = optim.step(config.learning_rate, model, grads);
        wait(model.first_weight().val().inner()).await?;
        let t3 = Instant::now();
        let l: f32 = parts
            .total
            .inner()
            .into_data_async()
            .await
            .map_err(|e| TrainError::Device(format!("{e:?}")))?
            .iter::<f32>()
            .next()
            .unwrap_or(f32::NAN);
        let t4 = Instant::now();
        if step == 0 {
            continue; // warm-up: first-use allocations and shader compilation
        }
        let ms = |a: Instant, b: Instant| (b - a).as_secs_f64() * 1e3;
        fwd.push(ms(t0, t1));
        bwd.push(ms(t1, t2));
        opt.push(ms(t2, t3));
        read.push(ms(t3, t4));
        total.push(ms(t0, t4));
        losses.push(l);
    }
    let seconds: f64 = total.iter().sum::<f64>() / 1e3;
    Ok(StepProfile {
        backend: B::name(device),
        model: config.model,
        batch,
        steps,
        images_per_sec: (steps * batch) as f64 / seconds.max(1e-9),
        step_ms: median(&total),
        forward_ms: median(&fwd),
        backward_ms: median(&bwd),
        optimiser_ms: median(&opt),
        read_ms: median(&read),
        loss_first_last: [losses[0], *losses.last().expect("at least one timed step")],
    })
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use crate::{backend::Flex, backend::Train, training::testing};

    #[test]
    fn median_of_odd_even_and_empty() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), 2.5);
        assert_eq!(median(&[]), 0.0);
    }

    #[test]
    fn profile_adds_up_and_trains() {
        let set = testing::small_set(
            include_bytes!("../assets/mnist/t10k-images-idx3-ubyte.gz"),
            include_bytes!("../assets/mnist/t10k-labels-idx1-ubyte.gz"),
            16,
        );
        let config = TrainConfig::new(ModelConfig::new()).with_batch_size(16);
        let p = pollster::block_on(profile_steps::<Train<Flex>>(config, &set, 6, &Default::default())).unwrap();
        assert_eq!((p.batch, p.steps), (16, 6));
        let parts = p.forward_ms + p.backward_ms + p.optimiser_ms + p.read_ms;
        assert!(p.step_ms > 0.0 && parts > 0.5 * p.step_ms && parts < 2.0 * p.step_ms, "{p:?}");
        assert!(p.loss_first_last[1] < p.loss_first_last[0], "same batch cycled: the loss falls {p:?}");
        assert!(p.images_per_sec > 0.0);
    }
}

/// The page's hook for the benchmark script: `window.latentLabBench(backend, model, latent, batch,
/// steps)` resolves to a [`StepProfile`] as JSON, trained on the page's test digits;
/// `window.latentLabMemoryBytes()` is the size of the wasm memory.
#[cfg(target_arch = "wasm32")]
pub mod js {
    use wasm_bindgen::{prelude::*, JsCast};

    use super::profile_steps;
    use crate::{
        backend::{Flex, NdArray, Train, Wgpu},
        data::Mnist,
        model::{ModelConfig, ModelKind},
        training::TrainConfig,
    };

    async fn run(
        set: Mnist,
        backend: String,
        model: String,
        latent: u32,
        batch: u32,
        steps: u32,
    ) -> Result<String, String> {
        let kind: ModelKind = model.parse()?;
        let config = TrainConfig::new(ModelConfig::new().with_kind(kind).with_latent(latent as usize))
            .with_batch_size(batch as usize);
        let steps = steps as usize;
        let p = match backend.as_str() {
            "flex" => profile_steps::<Train<Flex>>(config, &set, steps, &Default::default()).await,
            "ndarray" => profile_steps::<Train<NdArray>>(config, &set, steps, &Default::default()).await,
            "webgpu" => {
                crate::web::engine::init_webgpu().await?;
                profile_steps::<Train<Wgpu>>(config, &set, steps, &Default::default()).await
            }
            other => return Err(format!("unknown backend '{other}': flex, ndarray or webgpu")),
        }
        .map_err(|e| e.to_string())?;
        Ok(serde_json::to_string(&p).expect("a profile serialises"))
    }

    /// Install the hook on `window`, training on `set`.
    pub fn install(set: Mnist) {
        let f = Closure::<dyn Fn(String, String, u32, u32, u32) -> js_sys::Promise>::new(
            move |backend, model, latent, batch, steps| {
                let set = set.clone();
                wasm_bindgen_futures::future_to_promise(async move {
                    run(set, backend, model, latent, batch, steps).await.map(JsValue::from).map_err(JsValue::from)
                })
            },
        );
        // The wasm linear memory's current size in bytes (it only grows).
        let mem = Closure::<dyn Fn() -> f64>::new(|| {
            let buffer = js_sys::Reflect::get(&wasm_bindgen::memory(), &"buffer".into()).unwrap_or(JsValue::UNDEFINED);
            js_sys::Reflect::get(&buffer, &"byteLength".into()).ok().and_then(|v| v.as_f64()).unwrap_or(f64::NAN)
        });
        if let Some(w) = web_sys::window() {
            let _ = js_sys::Reflect::set(&w, &"latentLabBench".into(), f.as_ref().unchecked_ref());
            let _ = js_sys::Reflect::set(&w, &"latentLabMemoryBytes".into(), mem.as_ref().unchecked_ref());
        }
        // Both live as long as the page.
        f.forget();
        mem.forget();
    }
}
