//! In the browser on WebGPU (burn-wgpu), in its own test binary so a hang here cannot block the
//! CPU tests. Fails when the browser offers no WebGPU adapter: it never passes by skipping.
#![cfg(target_arch = "wasm32")]

use latent_lab::{
    backend::{Flex, Train, Wgpu},
    model::{ModelConfig, ModelKind},
    training::{testing, TrainConfig},
    weights,
};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

fn set() -> latent_lab::data::Mnist {
    testing::small_set(
        include_bytes!("../assets/mnist/t10k-images-idx3-ubyte.gz"),
        include_bytes!("../assets/mnist/t10k-labels-idx1-ubyte.gz"),
        32,
    )
}

async fn gpu() {
    latent_lab::web::engine::init_webgpu().await.expect("this browser must offer a WebGPU adapter");
}

#[wasm_bindgen_test]
async fn webgpu_inference_matches_cpu() {
    gpu().await;
    let set = set();
    let c = ModelConfig::new().with_kind(ModelKind::Vae).with_latent(16);
    let cpu = c.init::<Flex>(&Default::default());
    let bytes = weights::encode(&weights::Manifest::new(c), &cpu, None);
    let gpu = weights::decode::<Wgpu>(&bytes, &Default::default()).unwrap().model;
    let idx: Vec<usize> = (0..8).collect();
    let a: Vec<f32> = cpu.reconstruct(set.batch::<Flex>(&idx, &Default::default())).into_data().iter::<f32>().collect();
    let b: Vec<f32> = gpu
        .reconstruct(set.batch::<Wgpu>(&idx, &Default::default()))
        .into_data_async()
        .await
        .unwrap()
        .iter::<f32>()
        .collect();
    let worst = a.iter().zip(&b).fold(0f32, |m, (x, y)| m.max((x - y).abs()));
    assert!(worst <= 1e-4, "WebGPU and CPU reconstructions differ by up to {worst}");
}

#[wasm_bindgen_test]
async fn webgpu_trains_and_the_loss_falls() {
    gpu().await;
    let set = set();
    // lr 3e-3 as in web_cpu.rs: the model starts near the mean ink, so the loss falls slowly at first.
    let config = TrainConfig::new(ModelConfig::new()).with_batch_size(32).with_epochs(100).with_learning_rate(3e-3);
    let l = testing::losses::<Train<Wgpu>>(config, &set, 12, &Default::default()).await;
    let first = (l[0] + l[1]) / 2.0;
    let last = (l[l.len() - 2] + l[l.len() - 1]) / 2.0;
    assert!(last < 0.9 * first, "WebGPU loss did not fall: {l:?}");
}
