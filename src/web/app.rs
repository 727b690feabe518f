//! The playground page (leptos, client-side): draw a digit, see its reconstruction, its place on
//! the latent scatter and what the heads say; train from scratch with live progress.

use std::{
    cell::{Cell, RefCell},
    rc::Rc,
};

use leptos::{prelude::*, task::spawn_local};
use wasm_bindgen::{prelude::*, Clamped, JsCast};
use web_sys::{CanvasRenderingContext2d, HtmlCanvasElement, ImageData};

use super::{
    engine::{self, Engine, Outputs, Progress, TrainControl, WebBackend},
    metrics, store, worker,
};
use crate::{
    data::{Mnist, PIXELS, SIDE},
    model::{ModelConfig, ModelKind},
    pca::Pca2,
    preprocess,
    training::{argmax, HeadsConfig, HeadsEval, TrainConfig},
    weights::{self, WeightsError},
};

/// Test digits on the scatter.
const SCATTER_POINTS: usize = 2000;
/// Fixed test digits in the reconstruction gallery.
const GALLERY: [usize; 8] = [3, 2, 1, 18, 4, 8, 11, 0];
/// Okabe–Ito's colour-blind-safe palette, extended with two greys for ten digits.
const PALETTE: [&str; 10] =
    ["#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7", "#000000", "#999999", "#6A3D9A"];
/// Pretrained bundles shipped in `assets/models/`.
const PRETRAINED: [(ModelKind, usize, &str); 4] = [
    (ModelKind::Ae, 16, "ae-16"),
    (ModelKind::Vae, 16, "vae-16"),
    (ModelKind::Ae, 2, "ae-2"),
    (ModelKind::Vae, 2, "vae-2"),
];

struct Assets {
    test: Mnist,
    train: Option<Mnist>,
    train_sha: String,
}

struct Scatter {
    pca: Pca2,
    points: Vec<[f32; 2]>,
    bounds: [f32; 4],
}

/// What the upload control calls with a chosen file's name and bytes (registered by the mounted app).
type AcceptFile = Rc<dyn Fn(String, Vec<u8>)>;
/// A model waiting to be autosaved: bundle bytes and a label.
type PendingSave = Option<(Vec<u8>, String)>;
/// Paints reconstructions of the gallery digits while training.
type OnGallery = Rc<dyn Fn(&[f32])>;
/// Shows and autosaves the model after an epoch (bytes, epoch, epochs).
type OnSnapshot = Rc<dyn Fn(Vec<u8>, usize, usize)>;

thread_local! {
    static ASSETS: RefCell<Option<Assets>> = const { RefCell::new(None) };
    static ENGINE: RefCell<Option<Engine>> = const { RefCell::new(None) };
    /// The bundle bytes the current engine was built from (backend switches and downloads use
    /// these, so nothing has to be read back from the GPU).
    static BYTES: RefCell<Option<Rc<Vec<u8>>>> = const { RefCell::new(None) };
    static ACCEPT_FILE: RefCell<Option<AcceptFile>> = const { RefCell::new(None) };
    /// Whether an autosave is running, and the newest model waiting to be saved (bytes, label).
    static AUTOSAVE_QUEUE: RefCell<(bool, PendingSave)> = const { RefCell::new((false, None)) };
    static SCATTER: RefCell<Option<Scatter>> = const { RefCell::new(None) };
    static INK: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
    static PREDICT_PENDING: Cell<bool> = const { Cell::new(false) };
    static PAUSED: Cell<bool> = const { Cell::new(false) };
    static STOPPED: Cell<bool> = const { Cell::new(false) };
}

fn engine() -> Option<Engine> {
    ENGINE.with(|e| e.borrow().clone())
}

/// The bytes of the model the page is showing now (what "Download weights" saves).
pub fn current_weights() -> Option<Vec<u8>> {
    BYTES.with(|b| b.borrow().as_ref().map(|b| b.to_vec()))
}

/// Hand weight-file bytes to the mounted page exactly as the upload control does: the model is
/// checked against the chosen model and latent size, and a bad file leaves the current model and
/// shows a message in the error banner. Returns false if no page is mounted.
pub fn accept_weights_file(name: &str, bytes: Vec<u8>) -> bool {
    let f = ACCEPT_FILE.with(|a| a.borrow().clone());
    match f {
        Some(f) => {
            f(name.to_string(), bytes);
            true
        }
        None => false,
    }
}

/// Whether the page computes on WebGPU now (read by the panic hook, which must not touch signals).
static ON_WEBGPU: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
/// `sessionStorage` key set when WebGPU brought the page down, so a reload starts on the CPU.
const WEBGPU_FAILED_KEY: &str = "latent-lab-webgpu-failed";

fn session_storage() -> Option<web_sys::Storage> {
    web_sys::window()?.session_storage().ok().flatten()
}

/// Why WebGPU brought this page down before, if it did (the flag is cleared once read).
fn take_webgpu_failure() -> Option<String> {
    let s = session_storage()?;
    let why = s.get_item(WEBGPU_FAILED_KEY).ok().flatten()?;
    let _ = s.remove_item(WEBGPU_FAILED_KEY);
    Some(why)
}

/// burn's WebGPU backend panics on some device failures (a lost device, a failed buffer map), and
/// a panic ends the WebAssembly program. This hook, installed by [`start`], still says so in the
/// page: the error banner gets a sentence, the root gets `data-state="error"`, and if WebGPU was in
/// use a flag makes the reload start on the CPU.
fn crash_hook(info: &std::panic::PanicHookInfo) {
    console_error_panic_hook::hook(info);
    let what = info
        .payload()
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| info.payload().downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "an internal error".into());
    let kept = "a model you trained here comes back from this browser's storage";
    let sentence = if ON_WEBGPU.load(std::sync::atomic::Ordering::Relaxed) {
        if let Some(s) = session_storage() {
            let _ = s.set_item(WEBGPU_FAILED_KEY, &what);
        }
        format!("WebGPU failed ({what}) and the page stopped. Reload it: it will start on the CPU backend, and {kept}.")
    } else {
        format!("Latent Lab stopped on an internal error ({what}). Reload the page; {kept}.")
    };
    let Some(doc) = web_sys::window().and_then(|w| w.document()) else { return };
    if let Ok(list) = doc.query_selector_all("[data-testid=error-banner]") {
        for i in 0..list.length() {
            if let Some(el) = list.item(i).and_then(|n| n.dyn_into::<web_sys::Element>().ok()) {
                el.set_text_content(Some(&sentence));
                let _ = el.remove_attribute("hidden");
            }
        }
    }
    if let Ok(list) = doc.query_selector_all("[data-testid=app]") {
        for i in 0..list.length() {
            if let Some(el) = list.item(i).and_then(|n| n.dyn_into::<web_sys::Element>().ok()) {
                let _ = el.set_attribute("data-state", "error");
            }
        }
    }
}

/// `?worker=off` in the URL: train on the main thread even where a worker would start (to compare).
fn force_main_thread() -> bool {
    web_sys::window()
        .and_then(|w| w.location().search().ok())
        .is_some_and(|q| q.trim_start_matches('?').split('&').any(|kv| kv == "worker=off"))
}

/// The backend the page should use, from `?backend=cpu|flex|ndarray|webgpu` in its URL.
fn url_backend() -> Option<String> {
    let search = web_sys::window()?.location().search().ok()?;
    search.trim_start_matches('?').split('&').find_map(|kv| kv.strip_prefix("backend=").map(str::to_ascii_lowercase))
}

async fn fetch_bytes(url: &str) -> Result<Vec<u8>, String> {
    let window = web_sys::window().ok_or("no window")?;
    let resp = wasm_bindgen_futures::JsFuture::from(window.fetch_with_str(url))
        .await
        .map_err(|_| format!("could not load {url}"))?;
    let resp: web_sys::Response = resp.dyn_into().map_err(|_| "fetch gave no response")?;
    if !resp.ok() {
        return Err(format!("could not load {url}: HTTP {}", resp.status()));
    }
    let buf = wasm_bindgen_futures::JsFuture::from(resp.array_buffer().map_err(|_| "unreadable body")?)
        .await
        .map_err(|_| format!("could not read {url}"))?;
    Ok(js_sys::Uint8Array::new(&buf).to_vec())
}

fn ctx(canvas: &HtmlCanvasElement) -> CanvasRenderingContext2d {
    // The drawing is read back on every stroke: ask for a canvas that is cheap to read.
    let opts = js_sys::Object::new();
    let _ = js_sys::Reflect::set(&opts, &"willReadFrequently".into(), &JsValue::TRUE);
    canvas
        .get_context_with_context_options("2d", &opts)
        .ok()
        .flatten()
        .expect("a 2d canvas context")
        .dyn_into()
        .expect("2d context")
}

/// Paint a 28x28 grey image (values in [0, 1], white ink on black) into a canvas of any size.
fn paint_digit(canvas: &HtmlCanvasElement, px: &[f32]) {
    canvas.set_width(SIDE as u32);
    canvas.set_height(SIDE as u32);
    let mut rgba = Vec::with_capacity(PIXELS * 4);
    for &p in px.iter().take(PIXELS) {
        let v = (p.clamp(0.0, 1.0) * 255.0) as u8;
        rgba.extend([v, v, v, 255]);
    }
    if let Ok(img) = ImageData::new_with_u8_clamped_array_and_sh(Clamped(&rgba), SIDE as u32, SIDE as u32) {
        let _ = ctx(canvas).put_image_data(&img, 0.0, 0.0);
    }
}

fn pretrained_name(c: &ModelConfig) -> Option<&'static str> {
    PRETRAINED.iter().find(|(k, l, _)| *k == c.kind && *l == c.latent).map(|(.., n)| *n)
}

async fn refresh_scatter() -> Result<(), String> {
    let Some(e) = engine() else { return Ok(()) };
    let test = ASSETS.with(|a| a.borrow().as_ref().map(|a| a.test.take(SCATTER_POINTS))).ok_or("no test set")?;
    let z = e.encode_set(&test).await?;
    let latent = e.manifest().model.latent;
    let pca = Pca2::fit(&z, latent);
    let points: Vec<[f32; 2]> = z.chunks(latent).map(|r| pca.project(r)).collect();
    let mut b = [f32::MAX, f32::MAX, f32::MIN, f32::MIN];
    for p in &points {
        b = [b[0].min(p[0]), b[1].min(p[1]), b[2].max(p[0]), b[3].max(p[1])];
    }
    SCATTER.with(|s| *s.borrow_mut() = Some(Scatter { pca, points, bounds: b }));
    Ok(())
}

const SCATTER_SIZE: f64 = 360.0;

fn to_screen(s: &Scatter, p: [f32; 2]) -> (f64, f64) {
    let [x0, y0, x1, y1] = s.bounds;
    let pad = 12.0;
    let sx = (p[0] - x0) as f64 / ((x1 - x0) as f64).max(1e-6);
    let sy = (p[1] - y0) as f64 / ((y1 - y0) as f64).max(1e-6);
    (pad + sx * (SCATTER_SIZE - 2.0 * pad), SCATTER_SIZE - pad - sy * (SCATTER_SIZE - 2.0 * pad))
}

fn from_screen(s: &Scatter, x: f64, y: f64) -> [f32; 2] {
    let [x0, y0, x1, y1] = s.bounds;
    let pad = 12.0;
    let sx = (x - pad) / (SCATTER_SIZE - 2.0 * pad);
    let sy = (SCATTER_SIZE - pad - y) / (SCATTER_SIZE - 2.0 * pad);
    [x0 + sx as f32 * (x1 - x0), y0 + sy as f32 * (y1 - y0)]
}

fn draw_scatter(canvas: &HtmlCanvasElement, drawn: Option<&[f32]>) {
    let c = ctx(canvas);
    c.set_fill_style_str("#fff");
    c.fill_rect(0.0, 0.0, SCATTER_SIZE, SCATTER_SIZE);
    SCATTER.with(|s| {
        let s = s.borrow();
        let Some(s) = s.as_ref() else { return };
        let labels = ASSETS.with(|a| a.borrow().as_ref().map(|a| a.test.labels.clone())).unwrap_or_default();
        for (p, &d) in s.points.iter().zip(&labels) {
            let (x, y) = to_screen(s, *p);
            c.set_fill_style_str(PALETTE[d as usize]);
            c.fill_rect(x - 1.5, y - 1.5, 3.0, 3.0);
        }
        if let Some(z) = drawn {
            let (x, y) = to_screen(s, s.pca.project(z));
            c.begin_path();
            let _ = c.arc(x, y, 7.0, 0.0, std::f64::consts::TAU);
            c.set_fill_style_str("#ff1493");
            c.fill();
            c.set_line_width(2.0);
            c.set_stroke_style_str("#000");
            c.stroke();
        }
    });
}

fn draw_chart(canvas: &HtmlCanvasElement, batch: &[f32], epochs: &[(f32, f32)]) {
    let (w, h) = (canvas.width() as f64, canvas.height() as f64);
    let c = ctx(canvas);
    c.set_fill_style_str("#fff");
    c.fill_rect(0.0, 0.0, w, h);
    if batch.is_empty() {
        c.set_fill_style_str("#666");
        c.set_font("13px sans-serif");
        let _ = c.fill_text("training loss per batch appears here", 10.0, h / 2.0);
        return;
    }
    // Exponential moving average, then scale to the chart.
    let mut smooth = Vec::with_capacity(batch.len());
    let mut ema = batch[0];
    for &l in batch {
        ema = 0.9 * ema + 0.1 * l;
        smooth.push(ema);
    }
    let max = batch.iter().cloned().fold(f32::MIN, f32::max).max(1e-9);
    let min = batch.iter().cloned().fold(f32::MAX, f32::min).min(max * 0.999);
    let y = |v: f32| h - 8.0 - ((v - min) / (max - min)) as f64 * (h - 16.0);
    let x = |i: usize| 4.0 + i as f64 / (batch.len().max(2) - 1) as f64 * (w - 8.0);
    let polyline = |values: &[f32]| {
        c.begin_path();
        for (i, &l) in values.iter().enumerate() {
            if i == 0 {
                c.move_to(x(i), y(l))
            } else {
                c.line_to(x(i), y(l))
            }
        }
        c.stroke();
    };
    c.set_stroke_style_str("#c8d3e0");
    polyline(batch);
    c.set_stroke_style_str("#0072B2");
    c.set_line_width(2.0);
    polyline(&smooth);
    c.set_line_width(1.0);
    c.set_fill_style_str("#333");
    c.set_font("12px sans-serif");
    let last = epochs.last().map(|(r, k)| format!("   test: recon {r:.4}, KL {k:.3}")).unwrap_or_default();
    let _ = c.fill_text(&format!("batch loss {:.4} (smoothed {:.4}){last}", batch[batch.len() - 1], ema), 8.0, 14.0);
}

/// Root of the page; `data-state` tells tests whether it is loading, ready, training or in error.
#[component]
pub fn App() -> impl IntoView {
    let (state, set_state) = signal("loading".to_string());
    let (status, set_status) = signal("Loading the model and MNIST test digits…".to_string());
    let (error, set_error) = signal(None::<String>);
    let (notice, set_notice) = signal(None::<String>);
    let (backend, set_backend) = signal(WebBackend::Flex);
    Effect::new(move |_| {
        let b = backend.get();
        ON_WEBGPU.store(b == WebBackend::WebGpu, std::sync::atomic::Ordering::Relaxed);
        metrics::expose("backend", &wasm_bindgen::JsValue::from_str(b.key()));
    });
    let (badge, set_badge) = signal(String::new());
    let (kind, set_kind) = signal(ModelKind::Ae);
    let (latent, set_latent) = signal(16usize);
    let (outputs, set_outputs) = signal(None::<Outputs>);
    let (preview, set_preview) = signal(vec![0.0f32; PIXELS]);
    let (losses, set_losses) = signal(Vec::<f32>::new());
    let (epoch_losses, set_epoch_losses) = signal(Vec::<(f32, f32)>::new());
    let (progress, set_progress) = signal((0.0f64, String::from("idle")));
    // Where the current run trains (a background worker or the main thread) and why.
    let (train_where, set_train_where) = signal(String::new());
    let (paused, set_paused) = signal(false);
    let (manifest_text, set_manifest_text) = signal(String::new());
    let (heads_text, set_heads_text) = signal(Vec::<(String, String)>::new());
    let (hover, set_hover) = signal(None::<(String, Vec<f32>, Vec<f32>)>);
    let (epochs, set_epochs) = signal(1usize);
    let (batch, set_batch) = signal(64usize);
    let (lr, set_lr) = signal(1e-3f64);
    let (beta, set_beta) = signal(1.0f64);
    let (train_size, set_train_size) = signal(6000usize);
    let (has_heads, set_has_heads) = signal(true);

    let draw_ref = NodeRef::<leptos::html::Canvas>::new();
    let preview_ref = NodeRef::<leptos::html::Canvas>::new();
    let recon_ref = NodeRef::<leptos::html::Canvas>::new();
    let scatter_ref = NodeRef::<leptos::html::Canvas>::new();
    let chart_ref = NodeRef::<leptos::html::Canvas>::new();
    let hover_img_ref = NodeRef::<leptos::html::Canvas>::new();
    let hover_rec_ref = NodeRef::<leptos::html::Canvas>::new();
    let gallery_refs: Vec<(NodeRef<leptos::html::Canvas>, NodeRef<leptos::html::Canvas>)> =
        GALLERY.iter().map(|_| (NodeRef::new(), NodeRef::new())).collect();
    let gallery_refs = StoredValue::new(gallery_refs);

    let fail = move |msg: String| {
        set_error.set(Some(msg));
    };

    // Show what the loaded weights are and how good the heads are.
    let describe_engine = move || {
        if let Some(e) = engine() {
            set_has_heads.set(e.has_heads());
            let m = e.manifest();
            let eval = m.eval.as_ref().map(|e| format!(", test MSE {:.4}", e.test_mse)).unwrap_or_default();
            set_manifest_text.set(format!("{}{eval} — {}", weights::describe(&m.model), m.trained_on));
            let rows = m
                .heads_eval
                .as_ref()
                .map(|h| {
                    vec![
                        (
                            "odd/even".to_string(),
                            format!(
                                "{:.1}% (majority {:.1}%)",
                                100.0 * h.odd_even_acc,
                                100.0 * h.odd_even_majority_acc
                            ),
                        ),
                        (
                            "curvature".to_string(),
                            format!(
                                "{:.1}% (majority {:.1}%, {:.0}% rounded, ink > {:.0})",
                                100.0 * h.curvature_acc,
                                100.0 * h.curvature_majority_acc,
                                100.0 * h.curvature_positive_fraction,
                                h.curvature_threshold
                            ),
                        ),
                        ("digit probe".to_string(), format!("{:.1}% (chance 10%)", 100.0 * h.digit_probe_acc)),
                    ]
                })
                .unwrap_or_default();
            set_heads_text.set(rows);
        }
    };

    // Paint the gallery's test digits (`imgs`) and their reconstructions (`recons`), 784 values each.
    let paint_gallery = move |imgs: &[f32], recons: &[f32]| {
        gallery_refs.with_value(|refs| {
            for (i, (a, b)) in refs.iter().enumerate() {
                if let (Some(a), Some(b), Some(img), Some(rec)) = (
                    a.get_untracked(),
                    b.get_untracked(),
                    imgs.get(i * PIXELS..(i + 1) * PIXELS),
                    recons.get(i * PIXELS..(i + 1) * PIXELS),
                ) {
                    paint_digit(&a, img);
                    paint_digit(&b, rec);
                }
            }
        });
    };

    let refresh_gallery = move || {
        spawn_local(async move {
            let Some(e) = engine() else { return };
            let Some(imgs) = ASSETS.with(|a| a.borrow().as_ref().map(|a| a.test.batch_f32(&GALLERY))) else { return };
            if let Ok(out) = e.infer(&imgs).await {
                let recons: Vec<f32> = out.into_iter().flat_map(|o| o.recon).collect();
                paint_gallery(&imgs, &recons);
            }
        });
    };

    let redraw_scatter = move || {
        if let Some(c) = scatter_ref.get() {
            let z = outputs.get_untracked().map(|o| o.z);
            draw_scatter(&c, z.as_deref());
        }
    };

    // WebGPU failed (a lost device, a failing call): go back to the CPU with the same model.
    let gpu_failed = move |what: String| {
        if backend.get_untracked() != WebBackend::WebGpu {
            fail(what);
            return;
        }
        set_backend.set(WebBackend::Flex);
        set_badge.set(format!("{} · WebGPU failed, switched to the CPU", WebBackend::Flex.label()));
        fail(format!("{what}. WebGPU failed, so Latent Lab switched to the CPU backend; your model is kept."));
        let Some(bytes) = BYTES.with(|b| b.borrow().clone()) else { return };
        match Engine::decode(&bytes, WebBackend::Flex) {
            Ok(e) => {
                ENGINE.with(|g| *g.borrow_mut() = Some(e));
                spawn_local(async move {
                    if let Err(m) = refresh_scatter().await {
                        fail(m);
                    }
                    redraw_scatter();
                    refresh_gallery();
                });
            }
            Err(e) => fail(format!("the model could not be moved to the CPU: {e}")),
        }
    };

    // Run the model on the current drawing, at most once per animation frame.
    let predict = move || {
        if PREDICT_PENDING.with(|p| p.replace(true)) {
            return;
        }
        let cb = Closure::once_into_js(move || {
            PREDICT_PENDING.with(|p| p.set(false));
            let stroke_start = metrics::take_stroke_start();
            let t_pre = metrics::now();
            let img = INK.with(|i| preprocess::to_mnist(&i.borrow(), 280, 280));
            let preprocess_ms = metrics::now() - t_pre;
            set_preview.set(img.clone());
            if let Some(c) = preview_ref.get() {
                paint_digit(&c, &img);
            }
            if img.iter().all(|&p| p == 0.0) {
                // Nothing drawn: nothing to predict.
                if let Some(c) = recon_ref.get() {
                    paint_digit(&c, &img);
                }
                set_outputs.set(None);
                redraw_scatter();
                return;
            }
            spawn_local(async move {
                let Some(e) = engine() else { return };
                let t_infer = metrics::now();
                match e.infer(&img).await {
                    Ok(mut out) => {
                        let t_paint = metrics::now();
                        let o = out.remove(0);
                        if let Some(c) = recon_ref.get_untracked() {
                            paint_digit(&c, &o.recon);
                        }
                        set_outputs.set(Some(o));
                        redraw_scatter();
                        let end = metrics::now();
                        if let Some(t0) = stroke_start {
                            metrics::record_draw(metrics::DrawTiming {
                                total: end - t0,
                                preprocess: preprocess_ms,
                                infer: t_paint - t_infer,
                                paint: end - t_paint,
                            });
                        }
                    }
                    Err(msg) => gpu_failed(format!("prediction failed: {msg}")),
                }
            });
        });
        let _ = web_sys::window().expect("window").request_animation_frame(cb.unchecked_ref());
    };

    // After the live model changed: re-encode the scatter, then repaint it, the gallery and the predictions.
    let refresh_views = move || {
        spawn_local(async move {
            if let Err(m) = refresh_scatter().await {
                gpu_failed(format!("encoding the test digits failed: {m}"));
            }
            redraw_scatter();
            refresh_gallery();
            predict();
        });
    };

    // Use `bytes` as the current model on the current backend, or say why not and keep the old one.
    let install = move |bytes: Vec<u8>, expect: Option<ModelConfig>| -> Result<(), WeightsError> {
        let e = Engine::decode(&bytes, backend.get_untracked())?;
        if let Some(exp) = expect {
            if e.manifest().model != exp {
                return Err(WeightsError::Mismatch {
                    expected: weights::describe(&exp),
                    found: weights::describe(&e.manifest().model),
                });
            }
        }
        let model = e.manifest().model;
        ENGINE.with(|g| *g.borrow_mut() = Some(e));
        BYTES.with(|b| *b.borrow_mut() = Some(Rc::new(bytes)));
        set_kind.set(model.kind);
        set_latent.set(model.latent);
        describe_engine();
        refresh_views();
        Ok(())
    };

    let load_pretrained = move |c: ModelConfig| {
        let Some(name) = pretrained_name(&c) else {
            set_notice.set(Some(format!(
                "No pretrained weights for {}: press Train to train it here.",
                weights::describe(&c)
            )));
            return;
        };
        spawn_local(async move {
            match fetch_bytes(&format!("assets/models/{name}.llab")).await {
                Ok(bytes) => {
                    if let Err(e) = install(bytes, Some(c)) {
                        fail(e.to_string());
                    }
                }
                Err(e) => fail(e),
            }
        });
    };

    Effect::new(move |_| {
        draw_chart_effect(chart_ref, losses.get(), epoch_losses.get());
    });

    // Drawing with Pointer Events.
    let drawing = StoredValue::new(false);
    let last = StoredValue::new((0.0f64, 0.0f64));
    let pos = move |ev: &web_sys::PointerEvent| -> (f64, f64) {
        let c = draw_ref.get().expect("canvas");
        let r = c.get_bounding_client_rect();
        ((ev.client_x() as f64 - r.left()) * 280.0 / r.width(), (ev.client_y() as f64 - r.top()) * 280.0 / r.height())
    };
    let sync_ink = move || {
        let c = draw_ref.get().expect("canvas");
        if let Ok(img) = ctx(&c).get_image_data(0.0, 0.0, 280.0, 280.0) {
            let d = img.data();
            INK.with(|i| *i.borrow_mut() = d.chunks(4).map(|p| f32::from(p[0]) / 255.0).collect());
        }
    };
    let stroke_to = move |x: f64, y: f64| {
        let c = ctx(&draw_ref.get().expect("canvas"));
        let (lx, ly) = last.get_value();
        c.set_stroke_style_str("#fff");
        c.set_line_width(22.0);
        c.set_line_cap("round");
        c.set_line_join("round");
        c.set_shadow_blur(6.0);
        c.set_shadow_color("#fff");
        c.begin_path();
        c.move_to(lx, ly);
        c.line_to(x, y);
        c.stroke();
        last.set_value((x, y));
        sync_ink();
        predict();
    };
    let clear = move || {
        if let Some(c) = draw_ref.get() {
            let g = ctx(&c);
            g.set_fill_style_str("#000");
            g.fill_rect(0.0, 0.0, 280.0, 280.0);
            sync_ink();
            set_outputs.set(None);
            predict();
        }
    };
    Effect::new(move |_| {
        if draw_ref.get().is_some() {
            clear();
        }
    });
    let on_key = window_event_listener(leptos::ev::keydown, move |ev| {
        let target_is_input = ev.target().and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok()).is_some();
        if !target_is_input && (ev.key() == "c" || ev.key() == "Escape") {
            clear();
        }
    });
    on_cleanup(move || on_key.remove());

    // Move the current model to backend `b` (it is rebuilt from its bytes, so nothing is lost).
    let switch_backend = move |b: WebBackend| {
        let Some(bytes) = BYTES.with(|x| x.borrow().clone()) else { return };
        spawn_local(async move {
            let mut adapter = String::new();
            if b == WebBackend::WebGpu {
                match engine::init_webgpu().await {
                    Ok(name) => adapter = format!(" · {name}"),
                    Err(why) => {
                        let cur = backend.get_untracked();
                        set_badge.set(format!("{} · WebGPU unavailable: {why}", cur.label()));
                        set_backend.set(cur);
                        fail(format!("WebGPU is not available here ({why}); staying on the CPU."));
                        return;
                    }
                }
            }
            let previous = backend.get_untracked();
            set_backend.set(b);
            match install((*bytes).clone(), None) {
                Ok(()) => set_badge.set(format!("{}{adapter}", b.label())),
                Err(e) => {
                    set_backend.set(previous);
                    fail(format!("could not move the model to {}: {e}", b.label()));
                }
            }
        });
    };

    struct Ctl {
        set_progress: WriteSignal<(f64, String)>,
        set_losses: WriteSignal<Vec<f32>>,
        set_epoch_losses: WriteSignal<Vec<(f32, f32)>>,
        epochs: usize,
        batch: usize,
        /// Paint reconstructions of the gallery digits.
        on_gallery: OnGallery,
        /// Show and autosave the model after an epoch.
        on_snapshot: OnSnapshot,
    }
    impl TrainControl for Ctl {
        fn report(&self, p: Progress) {
            match p {
                Progress::Batch(m) => {
                    let done = ((m.epoch - 1) * m.batches_per_epoch + m.batch) as f64;
                    let total = (self.epochs * m.batches_per_epoch) as f64;
                    // The last batch of an epoch may be short; the full batch size is close enough for an ETA.
                    let secs_left = (total - done) * self.batch as f64 / m.images_per_sec.max(1e-9);
                    self.set_progress.set((
                        100.0 * done / total,
                        format!(
                            "epoch {}/{}, batch {}/{}, {:.0} images/s, about {} left",
                            m.epoch,
                            self.epochs,
                            m.batch,
                            m.batches_per_epoch,
                            m.images_per_sec,
                            human_secs(secs_left)
                        ),
                    ));
                    self.set_losses.update(|l| l.push(m.loss));
                }
                Progress::Epoch(e) => {
                    let kl = e.eval.test_kl.unwrap_or(0.0) as f32;
                    self.set_epoch_losses.update(|l| l.push((e.eval.test_mse as f32, kl)));
                }
                Progress::Gallery(recons) => (self.on_gallery)(&recons),
                Progress::Snapshot { bytes, epoch, epochs } => (self.on_snapshot)(bytes, epoch, epochs),
                Progress::Encoding(done, total) => self.set_progress.set((
                    100.0 * done as f64 / total.max(1) as f64,
                    format!("autoencoder done · encoding the training digits for the heads: {done}/{total}"),
                )),
                Progress::Heads(e, n) => self.set_progress.set((
                    100.0 * e as f64 / n.max(1) as f64,
                    format!("autoencoder done · training the heads on the frozen latent: epoch {e}/{n}"),
                )),
            }
        }
        fn paused(&self) -> bool {
            PAUSED.with(|p| p.get())
        }
        fn stopped(&self) -> bool {
            STOPPED.with(|p| p.get())
        }
    }

    // Keep `bytes` in this browser's storage so a reload restores them. Saves run one at a time;
    // while one runs, only the newest waiting model is kept, so an older one never lands last.
    let autosave = move |bytes: Vec<u8>, label: String| {
        let busy = AUTOSAVE_QUEUE.with(|q| {
            let mut q = q.borrow_mut();
            q.1 = Some((bytes, label));
            std::mem::replace(&mut q.0, true)
        });
        if busy {
            return;
        }
        spawn_local(async move {
            while let Some((bytes, label)) = AUTOSAVE_QUEUE.with(|q| q.borrow_mut().1.take()) {
                if let Err(e) = store::save(store::AUTOSAVE, &bytes, &label).await {
                    fail(e);
                }
            }
            AUTOSAVE_QUEUE.with(|q| q.borrow_mut().0 = false);
        });
    };

    let start_training = move || {
        let model = ModelConfig::new().with_kind(kind.get_untracked()).with_latent(latent.get_untracked());
        let config = TrainConfig::new(model)
            .with_epochs(epochs.get_untracked())
            .with_batch_size(batch.get_untracked())
            .with_learning_rate(lr.get_untracked())
            .with_beta(beta.get_untracked())
            .with_train_size(train_size.get_untracked())
            .with_eval_size(1000)
            .with_heads(HeadsConfig::new().with_epochs(3));
        if let Err(e) = config.validate() {
            fail(e.to_string());
            return;
        }
        set_error.set(None);
        set_state.set("training".into());
        PAUSED.with(|p| p.set(false));
        STOPPED.with(|p| p.set(false));
        set_paused.set(false);
        set_losses.set(Vec::new());
        set_epoch_losses.set(Vec::new());
        spawn_local(async move {
            let on = backend.get_untracked();
            let (test, shown) = ASSETS.with(|a| {
                let a = a.borrow();
                let a = a.as_ref().expect("assets loaded");
                (a.test.clone(), a.test.batch_f32(&GALLERY))
            });
            let gallery = shown.clone();
            let epochs = config.epochs;
            let ctl = Ctl {
                set_progress,
                set_losses,
                set_epoch_losses,
                epochs,
                batch: config.batch_size,
                on_gallery: Rc::new(move |recons: &[f32]| paint_gallery(&shown, recons)),
                on_snapshot: Rc::new(move |bytes: Vec<u8>, epoch: usize, epochs: usize| {
                    autosave(bytes.clone(), format!("epoch {epoch} of {epochs}, heads not trained yet"));
                    if let Err(e) = install(bytes, None) {
                        fail(format!("the model after epoch {epoch} could not be shown: {e}"));
                    }
                }),
            };
            let finish = move |result: Result<(Vec<u8>, HeadsEval), String>| {
                match result {
                    Ok((bytes, _)) => {
                        autosave(bytes.clone(), format!("{epochs} epoch(s), with heads"));
                        if let Err(e) = install(bytes, None) {
                            fail(e.to_string());
                        }
                        set_progress.set((100.0, "done: the trained model (with heads) is live and autosaved".into()));
                    }
                    Err(e) if on == WebBackend::WebGpu => gpu_failed(format!("training on WebGPU stopped: {e}")),
                    Err(e) => fail(format!("training stopped: {e}")),
                }
                set_state.set("ready".into());
            };
            // The CPU backends train in a Web Worker so drawing and the controls never wait for a
            // step; WebGPU (asynchronous already) and pages that cannot start a worker train here.
            if on != WebBackend::WebGpu && !force_main_thread() {
                let (n, why) = worker::worker_count();
                set_progress.set((0.0, format!("starting {n} training worker(s) and loading the training digits…")));
                set_train_where.set(if n > 1 {
                    format!(
                        "Training runs in {n} background workers, data-parallel ({why}): each takes a share of \
                         every batch and the page sums their gradients; drawing stays responsive."
                    )
                } else {
                    format!("Training runs in a background worker ({why}): drawing stays responsive.")
                });
                match worker::train_in_workers(on, config.clone(), &gallery, &ctl, n).await {
                    worker::WorkerRun::Finished(result) => return finish(result),
                    worker::WorkerRun::Unavailable(why) => set_train_where.set(format!(
                        "Training on the page's main thread (no background worker: {why}); drawing waits for each step."
                    )),
                }
            } else if on == WebBackend::WebGpu {
                set_train_where.set("Training on WebGPU from the page (the GPU works while the page waits).".into());
            } else {
                set_train_where
                    .set("Training on the page's main thread (?worker=off); drawing waits for each step.".into());
            }
            if ASSETS.with(|a| a.borrow().as_ref().is_some_and(|a| a.train.is_none())) {
                set_progress.set((0.0, "loading the 60,000 training digits…".into()));
                let i = fetch_bytes("assets/mnist/train-images-idx3-ubyte.gz").await;
                let l = fetch_bytes("assets/mnist/train-labels-idx1-ubyte.gz").await;
                let parsed = match (i, l) {
                    (Ok(i), Ok(l)) => {
                        Mnist::from_gz(&i, &l).map(|m| (m, crate::data::sha256_hex(&i))).map_err(|e| e.to_string())
                    }
                    (Err(e), _) | (_, Err(e)) => Err(e),
                };
                match parsed {
                    Ok((m, sha)) => ASSETS.with(|a| {
                        if let Some(a) = a.borrow_mut().as_mut() {
                            a.train = Some(m);
                            a.train_sha = sha;
                        }
                    }),
                    Err(e) => {
                        fail(e);
                        set_state.set("ready".into());
                        return;
                    }
                }
            }
            let (train, sha) = ASSETS.with(|a| {
                let a = a.borrow();
                let a = a.as_ref().expect("assets loaded");
                (a.train.clone().expect("train set loaded"), a.train_sha.clone())
            });
            finish(engine::train_on(on, config, &train, &test, &sha, &gallery, &ctl).await);
        });
    };

    // Start-up: data, weights (the autosaved model if there is one, else the pretrained AE-16),
    // then the backend: WebGPU when the browser has a real GPU adapter, the CPU otherwise.
    spawn_local(async move {
        let start = web_time::Instant::now();
        metrics::init();
        let step = |s: &str| set_status.set(s.to_string());
        step("Loading MNIST test digits…");
        let images = fetch_bytes("assets/mnist/t10k-images-idx3-ubyte.gz").await;
        let labels = fetch_bytes("assets/mnist/t10k-labels-idx1-ubyte.gz").await;
        let test = match (images, labels) {
            (Ok(i), Ok(l)) => Mnist::from_gz(&i, &l).map_err(|e| e.to_string()),
            (Err(e), _) | (_, Err(e)) => Err(e),
        };
        let test = match test {
            Ok(t) => t,
            Err(e) => {
                set_state.set("error".into());
                fail(e);
                return;
            }
        };
        // The benchmark's hook (scripts/bench.mjs) trains on a slice of the test digits.
        crate::bench::js::install(test.take(1024));
        ASSETS.with(|a| *a.borrow_mut() = Some(Assets { test, train: None, train_sha: String::new() }));
        set_badge.set(format!("{} · checking for WebGPU…", WebBackend::Flex.label()));
        step("Looking for a model saved in this browser…");
        let mut restored = false;
        match store::load(store::AUTOSAVE).await {
            Ok(Some(saved)) => match install(saved.bytes.clone(), None) {
                Ok(()) => {
                    restored = true;
                    let what = if saved.label.is_empty() { String::new() } else { format!(" ({})", saved.label) };
                    let when = if saved.saved_at_ms.is_finite() { format!(" on {}", saved.when()) } else { String::new() };
                    set_notice.set(Some(format!(
                        "Restored the model you trained{when}{what} from this browser's storage — Reset to pretrained to go back."
                    )));
                }
                Err(e) => fail(format!(
                    "The model saved in this browser's storage could not be restored: {e}. The pretrained model is loaded instead; Reset to pretrained forgets the saved copy."
                )),
            },
            Ok(None) => {}
            Err(e) => set_notice.set(Some(format!("{e}; models you train here will not be kept after a reload."))),
        }
        if !restored {
            step("Loading pretrained AE-16 weights…");
            match fetch_bytes("assets/models/ae-16.llab").await {
                Ok(bytes) => {
                    if let Err(e) = install(bytes, None) {
                        fail(e.to_string());
                    }
                }
                Err(e) => fail(e),
            }
        }
        set_status.set(format!("Ready in {:.2} s — draw a digit.", start.elapsed().as_secs_f64()));
        set_state.set("ready".into());
        // Choose the backend: `?backend=` in the URL, else WebGPU if its adapter is a real GPU
        // (and did not bring this page down before).
        let cpu = WebBackend::Flex.label();
        if let Some(why) = take_webgpu_failure() {
            set_badge.set(format!("{cpu} · WebGPU failed here before ({why}), so this page stays on the CPU"));
            return;
        }
        match url_backend().as_deref() {
            Some("cpu" | "flex") => {
                set_badge.set(format!("{cpu} · chosen in the page's URL"));
                return;
            }
            Some("ndarray") => {
                set_badge.set(format!("{} · chosen in the page's URL", WebBackend::NdArray.label()));
                switch_backend(WebBackend::NdArray);
                return;
            }
            Some("webgpu") => {
                switch_backend(WebBackend::WebGpu);
                return;
            }
            _ => {}
        }
        let Some(bytes) = BYTES.with(|b| b.borrow().clone()) else { return };
        let choice = engine::with_timeout(20_000, engine::choose_webgpu(&bytes)).await;
        match choice.unwrap_or_else(|| Err("WebGPU did not answer within 20 s".into())) {
            Ok((gpu, name)) => {
                // Switch only if nothing changed meanwhile (the user chose a backend, training began,
                // another model was loaded).
                let same = BYTES.with(|b| b.borrow().as_ref().is_some_and(|b| Rc::ptr_eq(b, &bytes)));
                if same && backend.get_untracked() == WebBackend::Flex && state.get_untracked() == "ready" {
                    set_backend.set(WebBackend::WebGpu);
                    ENGINE.with(|g| *g.borrow_mut() = Some(gpu));
                    set_badge.set(format!("{} · {name}", WebBackend::WebGpu.label()));
                    refresh_views();
                } else {
                    set_badge.set(format!("{} · WebGPU available ({name})", backend.get_untracked().label()));
                }
            }
            Err(why) => set_badge.set(format!("{cpu} · {why}")),
        }
    });

    let download = move || {
        let Some(e) = engine() else { return };
        let Some(bytes) = current_weights() else { return };
        let name = format!("latent-lab-{}-{}.llab", e.manifest().model.kind.name(), e.manifest().model.latent);
        let arr = js_sys::Uint8Array::from(bytes.as_slice());
        let parts = js_sys::Array::of1(&arr);
        let Ok(blob) = web_sys::Blob::new_with_u8_array_sequence(&parts) else { return };
        let Ok(url) = web_sys::Url::create_object_url_with_blob(&blob) else { return };
        let doc = web_sys::window().and_then(|w| w.document()).expect("document");
        if let Ok(a) = doc.create_element("a") {
            let a: web_sys::HtmlAnchorElement = a.unchecked_into();
            a.set_href(&url);
            a.set_download(&name);
            a.click();
        }
        let _ = web_sys::Url::revoke_object_url(&url);
    };

    // A weights file chosen by the user: it must hold the chosen model and latent size.
    let accept_file = move |name: String, bytes: Vec<u8>| {
        let expect = ModelConfig::new().with_kind(kind.get_untracked()).with_latent(latent.get_untracked());
        match install(bytes, Some(expect)) {
            Ok(()) => {
                set_error.set(None);
                set_notice.set(Some(format!("Loaded {name}.")));
            }
            Err(e) => fail(format!("{name}: {e}. The current model is unchanged.")),
        }
    };
    ACCEPT_FILE.with(|a| *a.borrow_mut() = Some(Rc::new(accept_file)));

    let upload = move |ev: leptos::ev::Event| {
        let input: web_sys::HtmlInputElement = event_target(&ev);
        let Some(file) = input.files().and_then(|f| f.get(0)) else { return };
        spawn_local(async move {
            let buf = wasm_bindgen_futures::JsFuture::from(file.array_buffer()).await;
            match buf {
                Ok(b) => accept_file(file.name(), js_sys::Uint8Array::new(&b).to_vec()),
                Err(_) => fail(format!("could not read the chosen file {}", file.name())),
            }
        });
        input.set_value("");
    };

    // Back to the shipped weights, forgetting the model saved in this browser.
    let reset_to_pretrained = move || {
        let c = ModelConfig::new().with_kind(kind.get_untracked()).with_latent(latent.get_untracked());
        load_pretrained(if pretrained_name(&c).is_some() { c } else { ModelConfig::new() });
        spawn_local(async move {
            match store::delete(store::AUTOSAVE).await {
                Ok(()) => set_notice
                    .set(Some("Back to the pretrained model; the model saved in this browser is forgotten.".into())),
                Err(e) => fail(e),
            }
        });
    };

    let on_scatter_move = move |ev: web_sys::MouseEvent| {
        let (x, y) = (ev.offset_x() as f64, ev.offset_y() as f64);
        let hit = SCATTER.with(|s| {
            let s = s.borrow();
            let s = s.as_ref()?;
            s.points
                .iter()
                .enumerate()
                .map(|(i, p)| {
                    let (px, py) = to_screen(s, *p);
                    (i, (px - x).powi(2) + (py - y).powi(2))
                })
                .min_by(|a, b| a.1.total_cmp(&b.1))
                .filter(|(_, d)| *d < 36.0)
                .map(|(i, _)| i)
        });
        let Some(i) = hit else { return };
        spawn_local(async move {
            let Some(e) = engine() else { return };
            let Some((img, label)) =
                ASSETS.with(|a| a.borrow().as_ref().map(|a| (a.test.batch_f32(&[i]), a.test.labels[i])))
            else {
                return;
            };
            if let Ok(mut out) = e.infer(&img).await {
                set_hover.set(Some((format!("test digit #{i}: a {label}"), img, out.remove(0).recon)));
            }
        });
    };

    let on_scatter_click = move |ev: web_sys::MouseEvent| {
        let (x, y) = (ev.offset_x() as f64, ev.offset_y() as f64);
        let Some(e) = engine() else { return };
        let c = e.manifest().model;
        if c.latent != 2 && c.kind != ModelKind::Vae {
            return;
        }
        let Some(z) = SCATTER.with(|s| s.borrow().as_ref().map(|s| s.pca.unproject(from_screen(s, x, y)))) else {
            return;
        };
        spawn_local(async move {
            if let Ok(img) = e.decode_latents(&z).await {
                let label =
                    format!("decoded from the latent point ({:.2}, {:.2})", z[0], z.get(1).copied().unwrap_or(0.0));
                set_hover.set(Some((label, Vec::new(), img)));
            }
        });
    };

    Effect::new(move |_| {
        if let Some((_, img, rec)) = hover.get() {
            if let Some(c) = hover_img_ref.get() {
                paint_digit(&c, if img.is_empty() { &rec } else { &img });
            }
            if let Some(c) = hover_rec_ref.get() {
                paint_digit(&c, &rec);
            }
        }
    });

    let prob_text =
        |p: Option<f32>| p.filter(|p| p.is_finite()).map(|p| format!("{p:.3}")).unwrap_or_else(|| "–".into());

    view! {
        <main class="app" data-testid="app" data-state=move || state.get()>
            <header>
                <h1>"Latent Lab"</h1>
                <p class="tagline">"See what an autoencoder learns: draw a digit, watch it squeezed into a latent code and rebuilt."</p>
                <span class="badge" data-testid="backend-badge">{move || badge.get()}</span>
            </header>
            <p class="status" role="status">{move || status.get()}</p>
            <div class="error" data-testid="error-banner" role="alert" hidden=move || error.get().is_none()>
                {move || error.get().unwrap_or_default()}
                <button on:click=move |_| set_error.set(None)>"dismiss"</button>
            </div>
            <div class="notice" data-testid="notice" hidden=move || notice.get().is_none()>{move || notice.get().unwrap_or_default()}</div>

            <section class="controls">
                <label>"Model "
                    <select data-testid="model-select" prop:value=move || kind.get().name() on:change=move |ev| {
                        let k = if event_target_value(&ev) == "vae" { ModelKind::Vae } else { ModelKind::Ae };
                        set_kind.set(k);
                        load_pretrained(ModelConfig::new().with_kind(k).with_latent(latent.get_untracked()));
                    }>
                        <option value="ae">"Autoencoder"</option>
                        <option value="vae">"VAE"</option>
                    </select>
                </label>
                <label>"Latent "
                    <select data-testid="latent-select" prop:value=move || latent.get().to_string() on:change=move |ev| {
                        let l = event_target_value(&ev).parse().unwrap_or(16);
                        set_latent.set(l);
                        load_pretrained(ModelConfig::new().with_kind(kind.get_untracked()).with_latent(l));
                    }>
                        <option value="16">"16"</option>
                        <option value="2">"2"</option>
                        <option value="4">"4"</option>
                        <option value="8">"8"</option>
                        <option value="32">"32"</option>
                        <option value="64">"64"</option>
                    </select>
                </label>
                <label>"Backend "
                    <select data-testid="backend-select" prop:value=move || backend.get().key() on:change=move |ev| {
                        if let Some(b) = WebBackend::from_key(&event_target_value(&ev)) { switch_backend(b) }
                    }>
                        <option value="flex">"CPU (flex)"</option>
                        <option value="ndarray">"CPU (ndarray)"</option>
                        <option value="webgpu">"WebGPU"</option>
                    </select>
                </label>
                <span class="manifest" data-testid="model-info">{move || manifest_text.get()}</span>
            </section>

            <section class="play">
                <div class="panel">
                    <h2>"Draw"</h2>
                    <canvas class="draw" data-testid="draw-canvas" width="280" height="280" node_ref=draw_ref
                        on:pointerdown=move |ev: web_sys::PointerEvent| {
                            ev.prevent_default();
                            metrics::pointer_event(ev.time_stamp(), state.get_untracked() == "training");
                            metrics::stroke(ev.time_stamp());
                            if let Some(c) = draw_ref.get() { let _ = c.set_pointer_capture(ev.pointer_id()); }
                            drawing.set_value(true);
                            let (x, y) = pos(&ev);
                            last.set_value((x, y));
                            stroke_to(x + 0.01, y + 0.01);
                        }
                        on:pointermove=move |ev: web_sys::PointerEvent| {
                            metrics::pointer_event(ev.time_stamp(), state.get_untracked() == "training");
                            if drawing.get_value() {
                                metrics::stroke(ev.time_stamp());
                                let (x, y) = pos(&ev);
                                stroke_to(x, y);
                            }
                        }
                        on:pointerup=move |ev: web_sys::PointerEvent| {
                            metrics::pointer_event(ev.time_stamp(), state.get_untracked() == "training");
                            drawing.set_value(false)
                        }
                        on:pointercancel=move |_| drawing.set_value(false)
                    ></canvas>
                    <div class="row">
                        <button data-testid="clear-button" on:click=move |_| clear()>"Clear (C)"</button>
                    </div>
                </div>
                <div class="panel">
                    <h2>"What the model sees"</h2>
                    <div class="pair">
                        <figure><canvas class="digit" data-testid="preview-28" width="28" height="28" node_ref=preview_ref></canvas><figcaption>"28×28 input"</figcaption></figure>
                        <figure><canvas class="digit" data-testid="recon-canvas" width="28" height="28" node_ref=recon_ref></canvas><figcaption>"reconstruction"</figcaption></figure>
                    </div>
                    <table class="heads">
                        <tr><th>"P(odd)"</th><td data-testid="odd-even-prob">{move || prob_text(outputs.get().map(|o| o.p_odd))}</td>
                            <td>{move || outputs.get().filter(|o| o.p_odd.is_finite()).map(|o| if o.p_odd > 0.5 { "odd" } else { "even" }).unwrap_or("")}</td></tr>
                        <tr><th>"P(rounded)"</th><td data-testid="curvature-prob">{move || prob_text(outputs.get().map(|o| o.p_rounded))}</td>
                            <td>{move || outputs.get().filter(|o| o.p_rounded.is_finite()).map(|o| if o.p_rounded > 0.5 { "rounded" } else { "sharp" }).unwrap_or("")}</td></tr>
                        <tr><th>"digit head"</th><td data-testid="digit-guess">{move || outputs.get().filter(|o| o.p_digit[0].is_finite()).map(|o| argmax(&o.p_digit).to_string()).unwrap_or_else(|| "–".into())}</td>
                            <td>{move || outputs.get().filter(|o| o.p_digit[0].is_finite()).map(|o| format!("{:.0}%", 100.0 * o.p_digit[argmax(&o.p_digit)])).unwrap_or_default()}</td></tr>
                    </table>
                    <ul class="head-eval">
                        {move || heads_text.get().into_iter().map(|(k, v)| view! { <li><b>{k}</b>": "{v}</li> }).collect_view()}
                    </ul>
                    <p class="hint heads-pending" data-testid="heads-pending" hidden=move || has_heads.get()>"This model's heads are not trained yet: they train on the frozen latent after the autoencoder's last epoch, so P(odd), P(rounded) and the digit guess show – until then."</p>
                    <p class="hint">"Heads are small MLPs trained on the frozen latent code. Accuracy is on the 10,000 test digits, beside the score of always guessing the larger class."</p>
                </div>
                <div class="panel">
                    <h2>"Latent space"</h2>
                    <canvas class="scatter" data-testid="latent-scatter" width="360" height="360" node_ref=scatter_ref
                        on:mousemove=on_scatter_move on:click=on_scatter_click></canvas>
                    <div class="legend">
                        {PALETTE.iter().enumerate().map(|(d, c)| view! { <span><i style=format!("background:{c}")></i>{d}</span> }).collect_view()}
                    </div>
                    <div class="hover" hidden=move || hover.get().is_none()>
                        <canvas class="digit small" width="28" height="28" node_ref=hover_img_ref></canvas>
                        <canvas class="digit small" width="28" height="28" node_ref=hover_rec_ref></canvas>
                        <span>{move || hover.get().map(|h| h.0).unwrap_or_default()}</span>
                    </div>
                    <p class="hint">{move || if latent.get() == 2 { "Native 2-D latent axes. Click empty space to decode that point." } else { "PCA of the latent codes to 2-D. Hover a point to see the digit and its reconstruction." }}</p>
                </div>
            </section>

            <section class="train panel">
                <h2>"Train from scratch"</h2>
                <div class="row">
                    <label>"epochs "<input data-testid="epochs-input" type="number" min="1" max="100" prop:value=move || epochs.get() on:change=move |ev| set_epochs.set(event_target_value(&ev).parse().unwrap_or(0))/></label>
                    <label>"batch "<input data-testid="batch-input" type="number" min="1" max="4096" prop:value=move || batch.get() on:change=move |ev| set_batch.set(event_target_value(&ev).parse().unwrap_or(0))/></label>
                    <label>"learning rate "<input data-testid="lr-input" type="text" prop:value=move || lr.get().to_string() on:change=move |ev| set_lr.set(event_target_value(&ev).parse().unwrap_or(f64::NAN))/></label>
                    <label>"beta (VAE) "<input data-testid="beta-input" type="text" prop:value=move || beta.get().to_string() on:change=move |ev| set_beta.set(event_target_value(&ev).parse().unwrap_or(f64::NAN))/></label>
                    <label>"training images "<input data-testid="train-size-input" type="number" min="64" max="60000" prop:value=move || train_size.get() on:change=move |ev| set_train_size.set(event_target_value(&ev).parse().unwrap_or(0))/></label>
                </div>
                <div class="row">
                    <button data-testid="train-button" disabled=move || state.get() == "training" on:click=move |_| start_training()>"Train"</button>
                    <button data-testid="pause-button" disabled=move || state.get() != "training" on:click=move |_| {
                        let p = !paused.get_untracked();
                        PAUSED.with(|c| c.set(p));
                        set_paused.set(p);
                    }>{move || if paused.get() { "Resume" } else { "Pause" }}</button>
                    <button disabled=move || state.get() != "training" on:click=move |_| STOPPED.with(|c| c.set(true))>"Stop"</button>
                    <button data-testid="reset-button" on:click=move |_| reset_to_pretrained()>"Reset to pretrained"</button>
                    <button data-testid="weights-download" on:click=move |_| download()>"Download weights"</button>
                    <label class="upload">"Upload weights "<input type="file" accept=".llab" data-testid="weights-upload" on:change=upload/></label>
                </div>
                <div class="progress" data-testid="progress" role="progressbar" aria-valuemin="0" aria-valuemax="100"
                    aria-valuenow=move || format!("{:.0}", progress.get().0)>
                    <div class="bar" style=move || format!("width:{:.1}%", progress.get().0)></div>
                </div>
                <p class="progress-text">{move || progress.get().1}</p>
                <p class="train-where" data-testid="train-where">{move || train_where.get()}</p>
                <canvas class="chart" data-testid="loss-chart" width="640" height="160" node_ref=chart_ref></canvas>
                <h3>"Test digits and their reconstructions"</h3>
                <div class="gallery" data-testid="gallery">
                    {move || gallery_refs.with_value(|refs| refs.iter().map(|(a, b)| view! {
                        <div class="g"><canvas class="digit small" width="28" height="28" node_ref=*a></canvas><canvas class="digit small" width="28" height="28" node_ref=*b></canvas></div>
                    }).collect_view())}
                </div>
            </section>
            <footer>
                "MNIST by Yann LeCun and Corinna Cortes, CC BY-SA 3.0. Models after the reference article, with its defects fixed. Built with burn and leptos."
                <span hidden>{move || preview.get().len()}</span>
            </footer>
        </main>
    }
}

fn human_secs(s: f64) -> String {
    if s < 90.0 {
        format!("{s:.0} s")
    } else if s < 5400.0 {
        format!("{:.0} min", s / 60.0)
    } else {
        format!("{:.1} h", s / 3600.0)
    }
}

fn draw_chart_effect(chart: NodeRef<leptos::html::Canvas>, losses: Vec<f32>, epochs: Vec<(f32, f32)>) {
    if let Some(c) = chart.get() {
        draw_chart(&c, &losses, &epochs);
    }
}

/// Mount the app into `<body>`.
pub fn start() {
    std::panic::set_hook(Box::new(crash_hook));
    // The static "loading" line in index.html has done its job once the app is mounted.
    if let Some(boot) = web_sys::window().and_then(|w| w.document()).and_then(|d| d.get_element_by_id("boot")) {
        boot.remove();
    }
    leptos::mount::mount_to_body(App);
}

/// An app mounted with [`mount_into`]; dropping it unmounts the app.
pub struct Mounted(#[allow(dead_code)] Box<dyn std::any::Any>);

/// Mount the app into `parent` (component tests mount one per test into a fresh element).
pub fn mount_into(parent: web_sys::HtmlElement) -> Mounted {
    console_error_panic_hook::set_once();
    Mounted(Box::new(leptos::mount::mount_to(parent, App)))
}
