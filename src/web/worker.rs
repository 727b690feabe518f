//! Training off the main thread. A CPU training step takes a few hundred milliseconds and cannot
//! be split, so on the main thread every step would freeze drawing and the controls for that
//! long. The page therefore trains on the CPU backends in a dedicated Web Worker that runs *the
//! same wasm module* (the page's own `WebAssembly.Module` is posted to it, so nothing is
//! downloaded or compiled twice): `main` sees it is in a worker and calls [`run_worker`] instead
//! of mounting the UI. The worker loads MNIST itself (from the browser cache), runs
//! [`engine::train_on`] and posts every [`Progress`] back; the page posts pause and stop.
//!
//! Messages are two-element arrays `[json, payload]`: the JSON is a [`ToWorker`] or
//! [`FromWorker`], the payload a typed array (gallery pixels, bundle bytes) or `null`.
//!
//! Where no worker can be started (no `<link rel=modulepreload>` naming the page's script, as in
//! the component tests, or the browser refuses), [`train_in_worker`] says why and the page
//! trains on the main thread, yielding after every batch, as before.

use std::{
    cell::{Cell, RefCell},
    collections::VecDeque,
    rc::Rc,
};

use serde::{Deserialize, Serialize};
use wasm_bindgen::{prelude::*, JsCast};

use crate::{
    data::Mnist,
    training::{BatchMetrics, EpochMetrics, Exchange, HeadsEval, TrainConfig},
    web::engine::{self, Progress, Shard, TrainControl, WebBackend},
};

/// The page to the worker.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ToWorker {
    /// Train a fresh model on `backend` (a [`WebBackend::key`]); payload: the gallery pixels.
    Train {
        /// CPU backend key.
        backend: String,
        /// The run's settings.
        config: TrainConfig,
        /// The page's base URL (the worker's own URL is a `blob:` one).
        base: String,
        /// This worker's replica in a data-parallel run (0 reports progress and trains the heads).
        rank: usize,
        /// Workers in the run (1: alone, no gradient exchange).
        world: usize,
    },
    /// The gradients of a step summed over all workers; payload: a `Float32Array`, or `null`
    /// to stop (the page's pause holds this answer back).
    Reduced,
    /// Pause or resume.
    Pause {
        /// Paused now.
        paused: bool,
    },
    /// Stop after the current batch (the heads are still trained on the model so far).
    Stop,
}

/// The worker to the page.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum FromWorker {
    /// The worker's wasm is running and it listens.
    Ready,
    /// A replica's weighted gradients for the current step; payload: a `Float32Array`.
    Grads,
    /// A replica other than 0 finished its steps.
    ReplicaDone,
    /// A batch finished.
    Batch {
        /// Its metrics.
        m: BatchMetrics,
    },
    /// An epoch finished.
    Epoch {
        /// Its metrics.
        m: EpochMetrics,
    },
    /// Payload: reconstructions of the gallery (`Float32Array`).
    Gallery,
    /// Payload: the model after an epoch (`Uint8Array`, bundle bytes).
    Snapshot {
        /// 1-based epoch.
        epoch: usize,
        /// Epochs in the run.
        epochs: usize,
    },
    /// Encoding the training digits for the heads.
    Encoding {
        /// Done.
        done: usize,
        /// Of.
        total: usize,
    },
    /// Head training.
    Heads {
        /// Epoch done.
        epoch: usize,
        /// Of.
        epochs: usize,
    },
    /// The run ended; payload: the final bundle (`Uint8Array`).
    Done {
        /// The heads' test accuracy.
        heads: HeadsEval,
        /// The worker's wasm memory at the end, bytes (its peak: wasm memory never shrinks).
        memory_bytes: f64,
    },
    /// The run failed (or the worker panicked); the page keeps its model.
    Failed {
        /// A sentence.
        message: String,
    },
}

fn message(json: &str, payload: &JsValue) -> js_sys::Array {
    js_sys::Array::of2(&JsValue::from_str(json), payload)
}

fn parse<T: for<'de> Deserialize<'de>>(data: &JsValue) -> Option<(T, JsValue)> {
    let arr = data.dyn_ref::<js_sys::Array>()?;
    let json = arr.get(0).as_string()?;
    Some((serde_json::from_str(&json).ok()?, arr.get(1)))
}

// ---------------------------------------------------------------------------------------------
// Worker side.

thread_local! {
    static W_PAUSED: Cell<bool> = const { Cell::new(false) };
    static W_STOPPED: Cell<bool> = const { Cell::new(false) };
    static W_BUSY: Cell<bool> = const { Cell::new(false) };
    /// MNIST as loaded by an earlier run in this worker: (train, train images SHA-256, test).
    static W_DATA: RefCell<Option<Rc<(Mnist, String, Mnist)>>> = const { RefCell::new(None) };
    /// Resolves the pending `all_reduce` with the page's `Reduced` payload.
    static W_REPLY: RefCell<Option<js_sys::Function>> = const { RefCell::new(None) };
}

/// A worker's side of the gradient exchange: post its gradients, wait for the page's sum.
struct WorkerExchange;

impl Exchange for WorkerExchange {
    async fn all_reduce(&mut self, local: Vec<f32>) -> Result<Option<Vec<f32>>, String> {
        let reply = js_sys::Promise::new(&mut |resolve, _| W_REPLY.with(|r| *r.borrow_mut() = Some(resolve)));
        post(&FromWorker::Grads, &js_sys::Float32Array::from(local.as_slice()).into());
        let sum = wasm_bindgen_futures::JsFuture::from(reply).await.map_err(|e| format!("{e:?}"))?;
        Ok(sum.dyn_ref::<js_sys::Float32Array>().map(|a| a.to_vec()))
    }
}

// Bindings written here rather than taken from web-sys: enabling more web-sys features would
// rebuild wgpu and everything else that depends on web-sys.
#[wasm_bindgen]
extern "C" {
    /// A `Worker`.
    #[wasm_bindgen(js_name = Worker)]
    type JsWorker;
    #[wasm_bindgen(constructor, js_class = "Worker", catch)]
    fn new(url: &str, options: &JsValue) -> Result<JsWorker, JsValue>;
    #[wasm_bindgen(method, js_class = "Worker", js_name = postMessage, catch)]
    fn post_message(this: &JsWorker, message: &JsValue) -> Result<(), JsValue>;
    #[wasm_bindgen(method, js_class = "Worker")]
    fn terminate(this: &JsWorker);
    #[wasm_bindgen(method, setter, js_class = "Worker")]
    fn set_onmessage(this: &JsWorker, handler: &js_sys::Function);
    #[wasm_bindgen(method, setter, js_class = "Worker")]
    fn set_onerror(this: &JsWorker, handler: &js_sys::Function);

    /// A `Blob`.
    #[wasm_bindgen(js_name = Blob)]
    type JsBlob;
    #[wasm_bindgen(constructor, js_class = "Blob", catch)]
    fn new(parts: &js_sys::Array, options: &JsValue) -> Result<JsBlob, JsValue>;
    #[wasm_bindgen(static_method_of = JsUrl, js_class = "URL", js_name = createObjectURL, catch)]
    fn create_object_url(blob: &JsBlob) -> Result<String, JsValue>;
    #[wasm_bindgen(js_name = URL)]
    type JsUrl;

    /// The worker's global `postMessage`.
    #[wasm_bindgen(js_name = postMessage)]
    fn global_post_message(message: &JsValue);
}

/// Whether this wasm instance runs in a worker (not on a page).
pub fn in_worker() -> bool {
    js_sys::global().dyn_ref::<web_sys::WorkerGlobalScope>().is_some()
}

fn post(msg: &FromWorker, payload: &JsValue) {
    let json = serde_json::to_string(msg).expect("messages serialise");
    global_post_message(&message(&json, payload));
}

/// The worker's entry point (called by `main` when [`in_worker`]).
pub fn run_worker() {
    std::panic::set_hook(Box::new(|info| {
        let text = format!("the training worker crashed: {info}");
        web_sys::console::error_1(&text.clone().into());
        post(&FromWorker::Failed { message: text }, &JsValue::NULL);
    }));
    let on_message = Closure::<dyn FnMut(web_sys::MessageEvent)>::new(|ev: web_sys::MessageEvent| {
        match parse::<ToWorker>(&ev.data()) {
            Some((ToWorker::Train { backend, config, base, rank, world }, payload)) => {
                if W_BUSY.with(|b| b.replace(true)) {
                    post(&FromWorker::Failed { message: "a training run is already going".into() }, &JsValue::NULL);
                    return;
                }
                W_PAUSED.with(|p| p.set(false));
                W_STOPPED.with(|p| p.set(false));
                let gallery = payload.dyn_into::<js_sys::Float32Array>().map(|a| a.to_vec()).unwrap_or_default();
                wasm_bindgen_futures::spawn_local(async move {
                    let (msg, payload) = match train_here(&backend, config, &base, &gallery, rank, world).await {
                        Ok(Some((bytes, heads))) => (
                            FromWorker::Done { heads, memory_bytes: memory_bytes() },
                            JsValue::from(js_sys::Uint8Array::from(bytes.as_slice())),
                        ),
                        Ok(None) => (FromWorker::ReplicaDone, JsValue::NULL),
                        Err(message) => (FromWorker::Failed { message }, JsValue::NULL),
                    };
                    W_BUSY.with(|b| b.set(false));
                    post(&msg, &payload);
                });
            }
            Some((ToWorker::Pause { paused }, _)) => W_PAUSED.with(|p| p.set(paused)),
            Some((ToWorker::Stop, _)) => W_STOPPED.with(|p| p.set(true)),
            Some((ToWorker::Reduced, payload)) => {
                if let Some(resolve) = W_REPLY.with(|r| r.borrow_mut().take()) {
                    let _ = resolve.call1(&JsValue::NULL, &payload);
                }
            }
            None => post(
                &FromWorker::Failed { message: "the worker got a message it does not understand".into() },
                &JsValue::NULL,
            ),
        }
    });
    let _ = js_sys::Reflect::set(&js_sys::global(), &"onmessage".into(), on_message.as_ref());
    on_message.forget();
    post(&FromWorker::Ready, &JsValue::NULL);
}

fn memory_bytes() -> f64 {
    let buffer = wasm_bindgen::memory().unchecked_into::<js_sys::WebAssembly::Memory>().buffer();
    js_sys::Reflect::get(&buffer, &"byteLength".into()).ok().and_then(|v| v.as_f64()).unwrap_or(f64::NAN)
}

async fn fetch_bytes(url: &str) -> Result<Vec<u8>, String> {
    let scope: web_sys::WorkerGlobalScope = js_sys::global().unchecked_into();
    let resp = wasm_bindgen_futures::JsFuture::from(scope.fetch_with_str(url))
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

async fn load_set(base: &str, images: &str, labels: &str) -> Result<(Mnist, String), String> {
    // Resolved like the page's own relative URLs (the base may carry a query: `/?workers=2`).
    let url = |f: &str| {
        web_sys::Url::new_with_base(&format!("assets/mnist/{f}"), base)
            .map(|u| u.href())
            .map_err(|_| format!("cannot make a URL for {f} from the page's address {base}"))
    };
    let i = fetch_bytes(&url(images)?).await?;
    let l = fetch_bytes(&url(labels)?).await?;
    let m = Mnist::from_gz(&i, &l).map_err(|e| e.to_string())?;
    Ok((m, crate::data::sha256_hex(&i)))
}

async fn data(base: &str) -> Result<Rc<(Mnist, String, Mnist)>, String> {
    if let Some(d) = W_DATA.with(|d| d.borrow().clone()) {
        return Ok(d);
    }
    let (train, sha) = load_set(base, "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz").await?;
    let (test, _) = load_set(base, "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz").await?;
    let d = Rc::new((train, sha, test));
    W_DATA.with(|x| *x.borrow_mut() = Some(d.clone()));
    Ok(d)
}

struct WorkerCtl;

impl TrainControl for WorkerCtl {
    fn report(&self, p: Progress) {
        let none = JsValue::NULL;
        match p {
            Progress::Batch(m) => post(&FromWorker::Batch { m }, &none),
            Progress::Epoch(m) => post(&FromWorker::Epoch { m }, &none),
            Progress::Gallery(px) => {
                post(&FromWorker::Gallery, &js_sys::Float32Array::from(px.as_slice()).into());
            }
            Progress::Snapshot { bytes, epoch, epochs } => {
                post(&FromWorker::Snapshot { epoch, epochs }, &js_sys::Uint8Array::from(bytes.as_slice()).into());
            }
            Progress::Encoding(done, total) => post(&FromWorker::Encoding { done, total }, &none),
            Progress::Heads(epoch, epochs) => post(&FromWorker::Heads { epoch, epochs }, &none),
        }
    }
    fn paused(&self) -> bool {
        W_PAUSED.with(|p| p.get())
    }
    fn stopped(&self) -> bool {
        W_STOPPED.with(|p| p.get())
    }
}

/// Run this worker's part: alone (`world` 1), replica 0 (progress, evaluation, heads: the
/// bundle), or another replica (`None` at the end).
async fn train_here(
    backend: &str,
    config: TrainConfig,
    base: &str,
    gallery: &[f32],
    rank: usize,
    world: usize,
) -> Result<Option<(Vec<u8>, HeadsEval)>, String> {
    let backend = match WebBackend::from_key(backend) {
        Some(b @ (WebBackend::Flex | WebBackend::NdArray)) => b,
        _ => return Err(format!("the training worker runs the CPU backends only, not {backend:?}")),
    };
    config.validate().map_err(|e| e.to_string())?;
    let d = data(base).await?;
    let shard = (world > 1).then_some(Shard { rank, world, exchange: WorkerExchange });
    match shard {
        Some(shard) if rank > 0 => engine::replica_on(backend, config, &d.0, shard).await.map(|()| None),
        shard => engine::train_on_shard(backend, config, &d.0, &d.2, &d.1, gallery, &WorkerCtl, shard).await.map(Some),
    }
}

// ---------------------------------------------------------------------------------------------
// Page side.

type Inbox = Rc<RefCell<VecDeque<(FromWorker, JsValue)>>>;

struct Handle {
    worker: JsWorker,
    inbox: Inbox,
    _on_message: Closure<dyn FnMut(web_sys::MessageEvent)>,
    _on_error: Closure<dyn FnMut(web_sys::Event)>,
}

impl Drop for Handle {
    fn drop(&mut self) {
        self.worker.terminate();
    }
}

thread_local! {
    /// The page's training workers (started on first use, kept for later runs).
    static HANDLES: RefCell<Vec<Rc<Handle>>> = const { RefCell::new(Vec::new()) };
}

/// The URL of the page's wasm-bindgen script, from trunk's `<link rel="modulepreload">`.
fn script_url() -> Result<String, String> {
    let doc = web_sys::window().and_then(|w| w.document()).ok_or("no document")?;
    let link = doc
        .query_selector("link[rel=modulepreload][href$='.js']")
        .ok()
        .flatten()
        .ok_or("the page names no module script to start a worker from")?;
    let href = link.get_attribute("href").ok_or("the module link has no href")?;
    let base = doc.base_uri().ok().flatten().ok_or("the page has no base URL")?;
    Ok(web_sys::Url::new_with_base(&href, &base).map_err(|_| "the module script's URL is invalid")?.href())
}

fn page_base() -> Result<String, String> {
    let doc = web_sys::window().and_then(|w| w.document()).ok_or("no document")?;
    doc.base_uri().ok().flatten().ok_or_else(|| "the page has no base URL".into())
}

fn spawn(js: &str) -> Result<Handle, String> {
    let src = format!(
        "import init from {js:?};\n\
         self.onmessage = (e) => {{\n\
           self.onmessage = null;\n\
           init({{ module_or_path: e.data }}).catch((err) => self.postMessage([\n\
             JSON.stringify({{ type: 'failed', message: 'the training worker could not start: ' + err }}), null]));\n\
         }};\n"
    );
    let parts = js_sys::Array::of1(&JsValue::from_str(&src));
    let opts = js_sys::Object::new();
    let _ = js_sys::Reflect::set(&opts, &"type".into(), &"text/javascript".into());
    let blob = JsBlob::new(&parts, &opts).map_err(|e| format!("could not make the worker script: {e:?}"))?;
    let url = JsUrl::create_object_url(&blob).map_err(|e| format!("no blob URL: {e:?}"))?;
    let wopts = js_sys::Object::new();
    let _ = js_sys::Reflect::set(&wopts, &"type".into(), &"module".into());
    let _ = js_sys::Reflect::set(&wopts, &"name".into(), &"latent-lab training".into());
    let worker = JsWorker::new(&url, &wopts);
    let _ = web_sys::Url::revoke_object_url(&url);
    let worker = worker.map_err(|e| format!("the browser refused a module worker: {e:?}"))?;
    let inbox: Inbox = Rc::default();
    let q = inbox.clone();
    let on_message = Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |ev: web_sys::MessageEvent| {
        let msg = parse::<FromWorker>(&ev.data()).unwrap_or_else(|| {
            (FromWorker::Failed { message: "the training worker sent something unreadable".into() }, JsValue::NULL)
        });
        q.borrow_mut().push_back(msg);
    });
    let q = inbox.clone();
    let on_error = Closure::<dyn FnMut(web_sys::Event)>::new(move |ev: web_sys::Event| {
        let detail = ev.dyn_ref::<web_sys::ErrorEvent>().map(|e| e.message()).unwrap_or_default();
        let message = format!("the training worker failed: {}", if detail.is_empty() { "an error" } else { &detail });
        q.borrow_mut().push_back((FromWorker::Failed { message }, JsValue::NULL));
    });
    worker.set_onmessage(on_message.as_ref().unchecked_ref());
    worker.set_onerror(on_error.as_ref().unchecked_ref());
    worker
        .post_message(&wasm_bindgen::module())
        .map_err(|e| format!("could not hand the module to the worker: {e:?}"))?;
    Ok(Handle { worker, inbox, _on_message: on_message, _on_error: on_error })
}

/// `n` running workers, started (and waited for, up to 30 s) as needed.
async fn handles(n: usize) -> Result<Vec<Rc<Handle>>, String> {
    let have = HANDLES.with(|h| h.borrow().len());
    if have < n {
        let js = script_url()?;
        let fresh = (have..n).map(|_| spawn(&js).map(Rc::new)).collect::<Result<Vec<_>, _>>()?;
        let started = web_time::Instant::now();
        for h in &fresh {
            loop {
                let first = h.inbox.borrow_mut().pop_front();
                match first {
                    Some((FromWorker::Ready, _)) => break,
                    Some((FromWorker::Failed { message }, _)) => return Err(message),
                    Some(_) => {}
                    None if started.elapsed().as_secs() >= 30 => {
                        return Err("the training worker did not start within 30 s".into())
                    }
                    None => engine::sleep_ms(20).await,
                }
            }
        }
        HANDLES.with(|h| h.borrow_mut().extend(fresh));
    }
    Ok(HANDLES.with(|h| h.borrow()[..n].to_vec()))
}

/// Stop and forget every worker (after a failure one may be stuck or broken).
fn drop_workers() {
    HANDLES.with(|h| h.borrow_mut().clear());
}

/// How many workers to train with: `?workers=N` in the URL (1 to 8), else the browser's
/// `navigator.hardwareConcurrency` (capped at 4), with the reason in words.
pub fn worker_count() -> (usize, String) {
    let window = web_sys::window();
    let asked = window
        .as_ref()
        .and_then(|w| w.location().search().ok())
        .and_then(|q| q.trim_start_matches('?').split('&').find_map(|kv| kv.strip_prefix("workers=")?.parse().ok()));
    if let Some(n) = asked {
        let n: usize = n;
        return (n.clamp(1, 8), "set by ?workers= in the address".into());
    }
    let cores = window.map(|w| w.navigator().hardware_concurrency()).unwrap_or(1.0).max(1.0) as usize;
    (cores.min(4), format!("this browser reports {cores} logical core(s)"))
}

/// How a run in the workers ended.
pub enum WorkerRun {
    /// No worker could be started (the reason): train on the main thread instead.
    Unavailable(String),
    /// The run's result, as [`engine::train_on`] gives it.
    Finished(Result<(Vec<u8>, HeadsEval), String>),
}

fn send(h: &Handle, msg: &ToWorker, payload: &JsValue) -> Result<(), String> {
    let json = serde_json::to_string(msg).expect("messages serialise");
    h.worker.post_message(&message(&json, payload)).map_err(|e| format!("could not reach a training worker: {e:?}"))
}

/// Train on CPU backend `backend` in `world` workers (data-parallel when more than one: each
/// computes the gradient of its share of every batch, the page sums them and sends the sum
/// back), relaying worker 0's progress to `ctl`, and the page's pause and stop to the workers.
pub async fn train_in_workers(
    backend: WebBackend,
    config: TrainConfig,
    gallery: &[f32],
    ctl: &impl TrainControl,
    world: usize,
) -> WorkerRun {
    let world = world.max(1);
    let (hs, base) = match (handles(world).await, page_base()) {
        (Ok(h), Ok(b)) => (h, b),
        (Err(why), _) | (_, Err(why)) => return WorkerRun::Unavailable(why),
    };
    for (rank, h) in hs.iter().enumerate() {
        let msg =
            ToWorker::Train { backend: backend.key().into(), config: config.clone(), base: base.clone(), rank, world };
        let payload = if rank == 0 { js_sys::Float32Array::from(gallery).into() } else { JsValue::NULL };
        if let Err(e) = send(h, &msg, &payload) {
            drop_workers();
            return WorkerRun::Unavailable(e);
        }
    }
    let result = relay(&hs, ctl).await;
    if result.is_err() {
        drop_workers();
    }
    WorkerRun::Finished(result)
}

async fn relay(hs: &[Rc<Handle>], ctl: &impl TrainControl) -> Result<(Vec<u8>, HeadsEval), String> {
    let world = hs.len();
    let (mut sent_pause, mut sent_stop) = (false, false);
    // Each replica's gradients for the current step, until all have sent theirs.
    let mut grads: Vec<Option<js_sys::Float32Array>> = vec![None; world];
    let mut done: Option<(Vec<u8>, HeadsEval)> = None;
    let mut replicas_done = 0;
    loop {
        let mut idle = true;
        for (rank, h) in hs.iter().enumerate() {
            while let Some((msg, payload)) = {
                let next = h.inbox.borrow_mut().pop_front();
                next
            } {
                idle = false;
                let bytes = || payload.dyn_ref::<js_sys::Uint8Array>().map(|a| a.to_vec()).unwrap_or_default();
                match msg {
                    FromWorker::Ready => {}
                    FromWorker::Grads => grads[rank] = payload.dyn_into().ok(),
                    FromWorker::ReplicaDone => replicas_done += 1,
                    FromWorker::Batch { m } => ctl.report(Progress::Batch(m)),
                    FromWorker::Epoch { m } => ctl.report(Progress::Epoch(m)),
                    FromWorker::Gallery => ctl.report(Progress::Gallery(
                        payload.dyn_ref::<js_sys::Float32Array>().map(|a| a.to_vec()).unwrap_or_default(),
                    )),
                    FromWorker::Snapshot { epoch, epochs } => {
                        ctl.report(Progress::Snapshot { bytes: bytes(), epoch, epochs })
                    }
                    FromWorker::Encoding { done, total } => ctl.report(Progress::Encoding(done, total)),
                    FromWorker::Heads { epoch, epochs } => ctl.report(Progress::Heads(epoch, epochs)),
                    FromWorker::Done { heads, memory_bytes } => {
                        // For the benchmark: a training worker's memory (the page's own is separate).
                        if let Some(w) = web_sys::window() {
                            let _ =
                                js_sys::Reflect::set(&w, &"latentLabWorkerMemoryBytes".into(), &memory_bytes.into());
                        }
                        done = Some((bytes(), heads));
                    }
                    FromWorker::Failed { message } => {
                        let who = if world > 1 { format!(" (worker {} of {world})", rank + 1) } else { String::new() };
                        return Err(format!("{message}{who}"));
                    }
                }
            }
        }
        if world == 1 {
            // Alone, the worker polls pause and stop itself between batches.
            let paused = ctl.paused();
            if paused != sent_pause {
                sent_pause = paused;
                send(&hs[0], &ToWorker::Pause { paused }, &JsValue::NULL)?;
            }
            if ctl.stopped() && !sent_stop {
                sent_stop = true;
                send(&hs[0], &ToWorker::Stop, &JsValue::NULL)?;
            }
        } else if grads.iter().all(Option::is_some) && !ctl.paused() {
            // Every replica waits for this answer, so holding it back pauses them all, and
            // answering `null` stops them all at the same step.
            let answer: JsValue = if ctl.stopped() {
                JsValue::NULL
            } else {
                let mut sum = grads[0].as_ref().expect("checked").to_vec();
                for g in grads[1..].iter().flatten() {
                    let g = g.to_vec();
                    if g.len() != sum.len() {
                        return Err("the training workers sent gradients of different sizes".into());
                    }
                    sum.iter_mut().zip(&g).for_each(|(s, x)| *s += x);
                }
                js_sys::Float32Array::from(sum.as_slice()).into()
            };
            for h in hs {
                send(h, &ToWorker::Reduced, &answer)?;
            }
            grads.iter_mut().for_each(|g| *g = None);
            idle = false;
        }
        if let Some(d) = done.take() {
            if replicas_done + 1 >= world {
                return Ok(d);
            }
            done = Some(d);
        }
        if idle {
            engine::sleep_ms(if world > 1 { 2 } else { 15 }).await;
        }
    }
}
