//! In the browser (wasm-bindgen-test, headless Chromium): training on both CPU backends.
//! Run with `scripts/test.sh` or `wasm-pack test --headless --chrome -- --test web_cpu`.
#![cfg(target_arch = "wasm32")]

use latent_lab::{
    backend::{Flex, NdArray, Train},
    model::{ModelConfig, ModelKind},
    training::{testing, TrainConfig},
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

// lr 3e-3: the models start near MNIST's mean ink (`model::OUTPUT_BIAS`), so the loss has no
// easy first drop to make; 12 steps at 3e-3 take it about 15-30% down (natively: AE 0.086 to
// 0.062, VAE 287 to 245), at 1e-3 only 5-10%.
fn config(kind: ModelKind) -> TrainConfig {
    TrainConfig::new(ModelConfig::new().with_kind(kind)).with_batch_size(32).with_epochs(100).with_learning_rate(3e-3)
}

fn assert_falls(name: &str, losses: &[f32]) {
    let first = losses[..2].iter().sum::<f32>() / 2.0;
    let last = losses[losses.len() - 2..].iter().sum::<f32>() / 2.0;
    assert!(last < 0.9 * first, "{name}: loss did not fall: {losses:?}");
}

#[wasm_bindgen_test]
async fn flex_trains_ae_and_vae_in_the_browser() {
    let set = set();
    for kind in [ModelKind::Ae, ModelKind::Vae] {
        let l = testing::losses::<Train<Flex>>(config(kind), &set, 12, &Default::default()).await;
        assert_falls(&format!("flex {kind:?}"), &l);
    }
}

#[wasm_bindgen_test]
async fn ndarray_trains_ae_in_the_browser() {
    let set = set();
    let l = testing::losses::<Train<NdArray>>(config(ModelKind::Ae), &set, 12, &Default::default()).await;
    assert_falls("ndarray AE", &l);
}

#[wasm_bindgen_test]
fn flex_and_ndarray_agree_in_the_browser() {
    let set = set();
    let idx: Vec<usize> = (0..8).collect();
    let c = config(ModelKind::Vae);
    let nd = c.model.init::<Train<NdArray>>(&Default::default());
    let bytes = latent_lab::weights::encode(&latent_lab::weights::Manifest::new(c.model), &nd, None);
    let fx = latent_lab::weights::decode::<Train<Flex>>(&bytes, &Default::default()).unwrap().model;
    let (l1, g1) = testing::loss_and_grads(&nd, &set, &idx, &c, 5);
    let (l2, g2) = testing::loss_and_grads(&fx, &set, &idx, &c, 5);
    assert!((l1 - l2).abs() <= 1e-4 * l1.abs().max(1.0), "loss {l1} vs {l2}");
    for (a, b) in g1.iter().zip(&g2) {
        let scale = a.iter().fold(0f32, |m, v| m.max(v.abs())).max(1e-6);
        let worst = a.iter().zip(b).fold(0f32, |m, (x, y)| m.max((x - y).abs()));
        assert!(worst <= 1e-3 * scale, "gradient difference {worst} vs scale {scale}");
    }
}
