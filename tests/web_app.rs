//! Component tests of the page in the browser (wasm-bindgen-test, headless Chromium): mount the
//! app into a fresh element, wait until it is ready, draw with pointer events and read the
//! predictions; the IndexedDB store; a corrupt upload; restoring (or refusing) an autosave.
//!
//! The page fetches `assets/…` relative to its URL; wasm-bindgen-test-runner serves the crate
//! root, so the shipped MNIST test digits and pretrained weights load as they do on the real page.
#![cfg(target_arch = "wasm32")]

use latent_lab::{
    backend::Flex,
    model::{ModelConfig, ModelKind},
    web::{app, engine::sleep_ms, metrics, store},
    weights,
};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::*;
use web_sys::{Element, HtmlElement, PointerEvent, PointerEventInit};

wasm_bindgen_test_configure!(run_in_browser);

/// How long a mounted page may take to become ready, or its outputs to appear.
const PATIENCE_MS: f64 = 60_000.0;

fn document() -> web_sys::Document {
    web_sys::window().unwrap().document().unwrap()
}

/// A fresh, visible element appended to the test page's body.
fn fresh_container() -> HtmlElement {
    let el: HtmlElement = document().create_element("div").unwrap().unchecked_into();
    document().body().unwrap().append_child(&el).unwrap();
    el
}

fn by_testid(root: &Element, id: &str) -> Element {
    root.query_selector(&format!("[data-testid={id}]"))
        .unwrap()
        .unwrap_or_else(|| panic!("no element with data-testid={id}"))
}

fn text(root: &Element, id: &str) -> String {
    by_testid(root, id).text_content().unwrap_or_default().trim().to_string()
}

fn hidden(root: &Element, id: &str) -> bool {
    by_testid(root, id).has_attribute("hidden")
}

/// Poll `cond` every 50 ms until it holds, or fail after `PATIENCE_MS` with `what`.
async fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    let start = js_sys::Date::now();
    while !cond() {
        assert!(js_sys::Date::now() - start < PATIENCE_MS, "timed out after {PATIENCE_MS} ms waiting for {what}");
        sleep_ms(50).await;
    }
}

/// Mount the app into a fresh element and wait until its root says `data-state="ready"` and the
/// start-up backend choice is done. The app stays mounted (unmounting would cancel its tasks).
async fn mount_ready() -> Element {
    let container = fresh_container();
    std::mem::forget(app::mount_into(container.clone()));
    let root: Element = container.into();
    wait_for("the app root", || root.query_selector("[data-testid=app]").ok().flatten().is_some()).await;
    let app = by_testid(&root, "app");
    wait_for("data-state=ready", || {
        let s = app.get_attribute("data-state").unwrap_or_default();
        assert_ne!(s, "error", "the page failed to start: {}", text(&root, "error-banner"));
        s == "ready"
    })
    .await;
    wait_for("the backend choice", || !text(&root, "backend-badge").contains("checking")).await;
    root
}

fn pointer(target: &Element, kind: &str, x: f64, y: f64, buttons: u16) {
    let r = target.get_bounding_client_rect();
    let init = PointerEventInit::new();
    init.set_bubbles(true);
    init.set_cancelable(true);
    init.set_pointer_id(1);
    init.set_pointer_type("mouse");
    init.set_is_primary(true);
    init.set_buttons(buttons);
    init.set_client_x((r.left() + x * r.width() / 280.0).round() as i32);
    init.set_client_y((r.top() + y * r.height() / 280.0).round() as i32);
    let ev = PointerEvent::new_with_event_init_dict(kind, &init).unwrap();
    target.dispatch_event(&ev).unwrap();
}

/// Draw a 7: a bar across the top, then a stroke down and to the left, `pause_ms` between moves
/// (0: all at once, as when the page is busy training and events queue up).
async fn draw_seven(root: &Element, pause_ms: i32) {
    let canvas = by_testid(root, "draw-canvas");
    let path: Vec<(f64, f64)> = (0..=10)
        .map(|i| (70.0 + 14.0 * i as f64, 60.0))
        .chain((1..=12).map(|i| (210.0 - 7.0 * i as f64, 60.0 + 14.0 * i as f64)))
        .collect();
    pointer(&canvas, "pointerdown", path[0].0, path[0].1, 1);
    for &(x, y) in &path[1..] {
        pointer(&canvas, "pointermove", x, y, 1);
        if pause_ms > 0 {
            sleep_ms(pause_ms).await;
        }
    }
    let last = path[path.len() - 1];
    pointer(&canvas, "pointerup", last.0, last.1, 0);
}

/// Wait until no new prediction has been shown for a second: predictions lag the stroke (more so
/// on WebGPU), so the first one shown may be of a half-drawn digit.
async fn settle() {
    let count = || lab_number(&["drawToOutputs", "count"]).unwrap_or(0.0);
    let start = js_sys::Date::now();
    loop {
        let before = count();
        sleep_ms(1000).await;
        if count() == before || js_sys::Date::now() - start > PATIENCE_MS {
            break;
        }
    }
}

fn probability(root: &Element, id: &str) -> Option<f64> {
    text(root, id).parse::<f64>().ok()
}

fn lab_number(path: &[&str]) -> Option<f64> {
    let mut v: JsValue = metrics::root()?.into();
    for k in path {
        v = js_sys::Reflect::get(&v, &JsValue::from_str(k)).ok()?;
    }
    v.as_f64()
}

#[wasm_bindgen_test]
async fn a_drawn_stroke_gives_a_reconstruction_and_predictions() {
    store::delete(store::AUTOSAVE).await.expect("IndexedDB works in the test browser");
    let root = mount_ready().await;
    assert!(text(&root, "model-info").contains("an AE with latent size 16"), "{}", text(&root, "model-info"));
    draw_seven(&root, 5).await;
    wait_for("P(odd), P(rounded) and a digit guess", || {
        probability(&root, "odd-even-prob").is_some()
            && probability(&root, "curvature-prob").is_some()
            && text(&root, "digit-guess").parse::<u8>().is_ok()
    })
    .await;
    for id in ["odd-even-prob", "curvature-prob"] {
        let p = probability(&root, id).unwrap();
        assert!((0.0..=1.0).contains(&p), "{id} = {p}");
    }
    let digit: u8 = text(&root, "digit-guess").parse().unwrap();
    assert!(digit <= 9, "digit guess {digit}");
    assert!(hidden(&root, "error-banner"), "unexpected error: {}", text(&root, "error-banner"));
    assert!(!text(&root, "backend-badge").is_empty());
    // The measurement hooks saw the stroke.
    wait_for("drawToOutputs to count a stroke", || lab_number(&["drawToOutputs", "count"]).unwrap_or(0.0) >= 1.0).await;
    let total = lab_number(&["drawToOutputs", "last", "total"]).expect("a stroke-to-outputs time");
    assert!((0.0..PATIENCE_MS).contains(&total), "draw to outputs took {total} ms");
    assert!(lab_number(&["inputLatencyIdle", "count"]).unwrap_or(0.0) >= 1.0, "no input latency recorded");
    assert!(lab_number(&["inputLatency", "count"]).is_some(), "window.__latentLab.inputLatency is missing");
}

#[wasm_bindgen_test]
async fn indexeddb_round_trip_returns_the_same_bytes() {
    let key = "test-round-trip";
    let bytes: Vec<u8> = (0..300_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    store::save(key, &bytes, "a label").await.unwrap();
    let back = store::load(key).await.unwrap().expect("the saved entry");
    assert_eq!(back.bytes.len(), bytes.len());
    assert!(back.bytes == bytes, "the bytes read back differ from those saved");
    assert_eq!(back.label, "a label");
    assert!(back.saved_at_ms.is_finite() && !back.when().is_empty());
    // Saving again replaces the entry.
    store::save(key, &bytes[..10], "shorter").await.unwrap();
    assert_eq!(store::load(key).await.unwrap().unwrap().bytes, &bytes[..10]);
    store::delete(key).await.unwrap();
    assert_eq!(store::load(key).await.unwrap(), None);
}

#[wasm_bindgen_test]
async fn a_corrupt_upload_keeps_the_model_and_shows_the_error_banner() {
    store::delete(store::AUTOSAVE).await.unwrap();
    let root = mount_ready().await;
    let before = app::current_weights().expect("a model is loaded");
    let info = text(&root, "model-info");
    assert!(hidden(&root, "error-banner"));
    let mut corrupt = before.clone();
    let mid = corrupt.len() / 2;
    corrupt[mid] ^= 0x5A;
    assert!(app::accept_weights_file("broken.llab", corrupt), "no mounted page took the file");
    wait_for("the error banner", || !hidden(&root, "error-banner")).await;
    let banner = text(&root, "error-banner");
    assert!(banner.contains("broken.llab") && banner.contains("corrupt"), "banner: {banner}");
    assert!(banner.contains("unchanged"), "banner: {banner}");
    assert!(app::current_weights() == Some(before.clone()), "the current model changed");
    assert_eq!(text(&root, "model-info"), info);
    // A valid file of another model is refused too, in words.
    let vae = ModelConfig::new().with_kind(ModelKind::Vae).with_latent(2);
    let other = weights::encode(&weights::Manifest::new(vae), &vae.init::<Flex>(&Default::default()), None);
    assert!(app::accept_weights_file("vae-2.llab", other));
    wait_for("the mismatch message", || text(&root, "error-banner").contains("vae-2.llab")).await;
    let banner = text(&root, "error-banner");
    assert!(banner.contains("a VAE with latent size 2") && banner.contains("an AE with latent size 16"), "{banner}");
    assert!(app::current_weights() == Some(before), "the current model changed");
}

#[wasm_bindgen_test]
async fn an_autosaved_model_is_restored_and_a_corrupt_one_is_reported() {
    // A model "trained in the page": a VAE with latent 2 and no heads yet.
    let vae = ModelConfig::new().with_kind(ModelKind::Vae).with_latent(2);
    let mut manifest = weights::Manifest::new(vae);
    manifest.trained_on = "a test".into();
    let bytes = weights::encode(&manifest, &vae.init::<Flex>(&Default::default()), None);
    store::save(store::AUTOSAVE, &bytes, "epoch 1 of 3, heads not trained yet").await.unwrap();
    let root = mount_ready().await;
    let notice = text(&root, "notice");
    assert!(notice.contains("Restored the model you trained on"), "notice: {notice}");
    assert!(notice.contains("epoch 1 of 3") && notice.contains("Reset to pretrained"), "notice: {notice}");
    assert!(text(&root, "model-info").contains("a VAE with latent size 2"), "{}", text(&root, "model-info"));
    assert!(!hidden(&root, "heads-pending"), "the hint that heads train later is hidden");
    assert!(app::current_weights() == Some(bytes), "the restored model is not the saved one");
    assert!(hidden(&root, "error-banner"), "unexpected error: {}", text(&root, "error-banner"));

    // A corrupt autosave: a clear message, and the pretrained model.
    store::save(store::AUTOSAVE, b"LATENTLAB but not really", "broken").await.unwrap();
    let root = mount_ready().await;
    let banner = text(&root, "error-banner");
    assert!(!hidden(&root, "error-banner") && banner.contains("could not be restored"), "banner: {banner}");
    assert!(text(&root, "model-info").contains("an AE with latent size 16"), "{}", text(&root, "model-info"));
    store::delete(store::AUTOSAVE).await.unwrap();
}

fn set_input(root: &Element, id: &str, value: &str) {
    let input: web_sys::HtmlInputElement = by_testid(root, id).unchecked_into();
    input.set_value(value);
    let init = web_sys::EventInit::new();
    init.set_bubbles(true);
    input.dispatch_event(&web_sys::Event::new_with_event_init_dict("change", &init).unwrap()).unwrap();
}

/// The pixels of the first reconstruction in the gallery of test digits.
fn gallery_recon(root: &Element) -> Vec<u8> {
    let canvas: web_sys::HtmlCanvasElement =
        by_testid(root, "gallery").query_selector_all("canvas").unwrap().item(1).unwrap().unchecked_into();
    let ctx: web_sys::CanvasRenderingContext2d = canvas.get_context("2d").unwrap().unwrap().unchecked_into();
    ctx.get_image_data(0.0, 0.0, 28.0, 28.0).unwrap().data().to_vec()
}

#[wasm_bindgen_test]
async fn training_in_the_page_shows_each_epoch_and_autosaves_it() {
    store::delete(store::AUTOSAVE).await.unwrap();
    let root = mount_ready().await;
    wait_for("the gallery", || gallery_recon(&root).iter().any(|&p| p > 0 && p < 255)).await;
    let pretrained_recon = gallery_recon(&root);
    set_input(&root, "epochs-input", "2");
    set_input(&root, "batch-input", "64");
    set_input(&root, "train-size-input", "512");
    let app = by_testid(&root, "app");
    let state = || app.get_attribute("data-state").unwrap_or_default();
    by_testid(&root, "train-button").unchecked_into::<HtmlElement>().click();
    wait_for("data-state=training", || state() == "training").await;

    // While it trains: draw (the page must keep answering), and watch for the first epoch's model.
    let (mut drew, mut saw_epoch, mut gallery_moved, mut heads_hint, mut heads_progress) =
        (false, false, false, false, false);
    let start = js_sys::Date::now();
    let mut log: Vec<String> = Vec::new();
    while state() == "training" {
        assert!(js_sys::Date::now() - start < 4.0 * PATIENCE_MS, "training 2 epochs of 512 digits took too long");
        assert!(hidden(&root, "error-banner"), "error while training: {}", text(&root, "error-banner"));
        if !drew {
            draw_seven(&root, 0).await;
            drew = true;
        }
        let seen = format!(
            "{} | {}",
            text(&root, "model-info"),
            by_testid(&root, "progress").next_element_sibling().and_then(|p| p.text_content()).unwrap_or_default()
        );
        if log.last() != Some(&seen) {
            log.push(seen);
        }
        if text(&root, "model-info").contains("epoch 1 of 2") {
            saw_epoch = true;
            heads_hint |= !hidden(&root, "heads-pending");
            gallery_moved |= gallery_recon(&root) != pretrained_recon;
        }
        heads_progress |= by_testid(&root, "progress")
            .next_element_sibling()
            .and_then(|p| p.text_content())
            .is_some_and(|t| t.contains("heads"));
        sleep_ms(20).await;
    }
    assert!(hidden(&root, "error-banner"), "training failed: {}", text(&root, "error-banner"));
    assert!(saw_epoch, "the model after epoch 1 was never shown: {log:#?}");
    assert!(heads_hint, "no hint that the heads train after the autoencoder");
    assert!(gallery_moved, "the gallery did not show the model being trained");
    assert!(heads_progress, "the progress text never mentioned the heads");
    assert_eq!(by_testid(&root, "progress").get_attribute("aria-valuenow").as_deref(), Some("100"));
    let info = text(&root, "model-info");
    assert!(info.contains("Latent Lab page") && !info.contains("heads not trained"), "model info: {info}");
    assert!(hidden(&root, "heads-pending"));
    // The final model, with heads, is the live one and the autosaved one.
    let mut saved = None;
    for _ in 0..100 {
        saved = store::load(store::AUTOSAVE).await.unwrap();
        if saved.as_ref().is_some_and(|s| s.label.contains("with heads")) {
            break;
        }
        sleep_ms(50).await;
    }
    let saved = saved.expect("an autosave after training");
    assert!(saved.label.contains("with heads"), "autosave label: {}", saved.label);
    assert!(Some(saved.bytes) == app::current_weights(), "the autosave is not the live model");
    // Predictions work with the new heads, and input latency was measured while training.
    wait_for("predictions from the trained heads", || probability(&root, "odd-even-prob").is_some()).await;
    assert!(lab_number(&["inputLatency", "count"]).unwrap_or(0.0) >= 1.0, "no input latency recorded while training");
    console_log!(
        "while training: input latency p50 {:?} ms, p95 {:?} ms; stroke to outputs p50 {:?} ms; seen: {log:#?}",
        lab_number(&["inputLatency", "p50"]),
        lab_number(&["inputLatency", "p95"]),
        lab_number(&["drawToOutputs", "p50"]),
    );
    store::delete(store::AUTOSAVE).await.unwrap();
}

#[wasm_bindgen_test]
fn software_adapters_are_recognised() {
    use latent_lab::web::engine::software_reason;
    let why = software_reason("", "google", "swiftshader", false).expect("SwiftShader is a software renderer");
    assert_eq!(why, "WebGPU adapter is SwiftShader, a software renderer: the CPU backend is faster here");
    assert!(software_reason("SwiftShader Device (Subzero)", "", "", false).is_some());
    assert!(software_reason("llvmpipe (LLVM 15.0.6, 256 bits)", "mesa", "", false).is_some());
    assert!(software_reason("", "", "", true).is_some_and(|w| w.contains("fallback")));
    assert_eq!(software_reason("NVIDIA GeForce RTX 4090", "nvidia", "lovelace", false), None);
    assert_eq!(software_reason("", "apple", "metal-3", false), None);
}

fn select(root: &Element, id: &str, value: &str) {
    let el: web_sys::HtmlSelectElement = by_testid(root, id).unchecked_into();
    el.set_value(value);
    let init = web_sys::EventInit::new();
    init.set_bubbles(true);
    el.dispatch_event(&web_sys::Event::new_with_event_init_dict("change", &init).unwrap()).unwrap();
}

#[wasm_bindgen_test]
async fn switching_backends_keeps_the_model_and_predictions() {
    store::delete(store::AUTOSAVE).await.unwrap();
    let root = mount_ready().await;
    // At start-up the page picks WebGPU only for a real GPU adapter, and says why not otherwise.
    let badge = text(&root, "backend-badge");
    assert!(
        badge.starts_with("WebGPU (burn-wgpu) · ") || (badge.starts_with("CPU (burn-flex) · ") && badge.len() > 20),
        "badge: {badge}"
    );
    let before = app::current_weights().unwrap();
    draw_seven(&root, 5).await;
    wait_for("predictions", || probability(&root, "odd-even-prob").is_some()).await;
    settle().await;
    let p_cpu = probability(&root, "odd-even-prob").unwrap();
    // Headless Chromium's SwiftShader adapter runs WebGPU here (slowly): the page must still work.
    for (key, label) in
        [("ndarray", "CPU (burn-ndarray)"), ("webgpu", "WebGPU (burn-wgpu)"), ("flex", "CPU (burn-flex)")]
    {
        select(&root, "backend-select", key);
        wait_for(&format!("the badge to say {label}"), || text(&root, "backend-badge").starts_with(label)).await;
        assert!(hidden(&root, "error-banner"), "error on {key}: {}", text(&root, "error-banner"));
        assert!(app::current_weights() == Some(before.clone()), "switching to {key} changed the model");
        // Draw again and wait for fresh predictions from this backend.
        by_testid(&root, "clear-button").unchecked_into::<HtmlElement>().click();
        wait_for("the cleared outputs", || probability(&root, "odd-even-prob").is_none()).await;
        draw_seven(&root, 5).await;
        wait_for(&format!("predictions on {key}"), || probability(&root, "odd-even-prob").is_some()).await;
        settle().await;
        let p = probability(&root, "odd-even-prob").unwrap();
        assert!((p - p_cpu).abs() < 0.01, "P(odd) on {key} is {p}, on the CPU {p_cpu}");
        assert!(hidden(&root, "error-banner"), "error on {key}: {}", text(&root, "error-banner"));
    }
}

#[wasm_bindgen_test]
async fn weights_on_webgpu_are_saved_with_asynchronous_reads() {
    use burn::prelude::*;
    use latent_lab::{backend::Wgpu, model::Heads, web::engine};
    engine::init_webgpu().await.expect("this browser must offer a WebGPU adapter");
    let c = ModelConfig::new().with_kind(ModelKind::Vae).with_latent(4);
    let dev = Default::default();
    let (model, heads) = (c.init::<Flex>(&dev), Heads::<Flex>::new(4, &dev));
    let bytes = weights::encode(&weights::Manifest::new(c), &model, Some(&heads));
    let gpu = weights::decode::<Wgpu>(&bytes, &Default::default()).unwrap();
    // The synchronous encoder cannot read WebGPU tensors in the browser; this must.
    let back = engine::bundle_bytes(&gpu.manifest, &gpu.model, gpu.heads.as_ref()).await.unwrap();
    let back = weights::decode::<Flex>(&back, &dev).unwrap();
    assert_eq!(back.manifest, gpu.manifest);
    let x = Tensor::<Flex, 4>::from_data(
        TensorData::new((0..784).map(|i| (i % 7) as f32 / 7.0).collect(), [1, 1, 28, 28]),
        &dev,
    );
    let a: Vec<f32> = model.reconstruct(x.clone()).into_data().iter::<f32>().collect();
    let b: Vec<f32> = back.model.reconstruct(x).into_data().iter::<f32>().collect();
    assert_eq!(a, b, "the model read back from WebGPU differs");
    let z = Tensor::<Flex, 2>::from_data(TensorData::new(vec![0.5f32, -1.0, 2.0, 0.0], [1, 4]), &dev);
    let h1: Vec<f32> = heads.digit.forward(z.clone()).into_data().iter::<f32>().collect();
    let h2: Vec<f32> = back.heads.expect("heads read back").digit.forward(z).into_data().iter::<f32>().collect();
    assert_eq!(h1, h2, "the heads read back from WebGPU differ");
}

#[wasm_bindgen_test]
async fn after_webgpu_brought_the_page_down_it_starts_on_the_cpu() {
    store::delete(store::AUTOSAVE).await.unwrap();
    let session = web_sys::window().unwrap().session_storage().unwrap().unwrap();
    session.set_item("latent-lab-webgpu-failed", "Failed to map buffer").unwrap();
    let root = mount_ready().await;
    let badge = text(&root, "backend-badge");
    assert!(badge.starts_with("CPU (burn-flex) · WebGPU failed here before (Failed to map buffer)"), "badge: {badge}");
    assert_eq!(session.get_item("latent-lab-webgpu-failed").unwrap(), None, "the flag must be read once");
    let backend = js_sys::Reflect::get(&metrics::root().unwrap(), &"backend".into()).unwrap();
    assert_eq!(backend.as_string().as_deref(), Some("flex"));
}
