//! The page's own storage: weight bundles kept in IndexedDB (database `latent-lab`, one object
//! store), so a model trained in the page survives a reload. Every call is asynchronous and every
//! failure is a sentence; nothing here panics.

use wasm_bindgen::{prelude::*, JsCast};
use web_sys::{IdbDatabase, IdbOpenDbRequest, IdbRequest, IdbTransaction, IdbTransactionMode};

/// The database's name.
pub const DATABASE: &str = "latent-lab";
/// Its one object store.
pub const STORE: &str = "models";
/// Key of the model autosaved while training in the page.
pub const AUTOSAVE: &str = "autosave";

/// A stored weights bundle and when and why it was saved.
#[derive(Clone, Debug, PartialEq)]
pub struct Saved {
    /// The bundle bytes (`weights::encode`).
    pub bytes: Vec<u8>,
    /// When it was saved, in milliseconds since 1970 (`Date.now()`).
    pub saved_at_ms: f64,
    /// What it is, e.g. "epoch 2 of 5".
    pub label: String,
}

impl Saved {
    /// The save time in the reader's locale, e.g. "04/12/2026, 18:40:12".
    pub fn when(&self) -> String {
        let d = js_sys::Date::new(&JsValue::from_f64(self.saved_at_ms));
        String::from(d.to_locale_string("default", &JsValue::UNDEFINED))
    }
}

fn describe_js(e: &JsValue) -> String {
    if let Some(ex) = e.dyn_ref::<web_sys::DomException>() {
        return format!("{}: {}", ex.name(), ex.message());
    }
    if let Some(err) = e.dyn_ref::<js_sys::Error>() {
        return String::from(err.message());
    }
    e.as_string().unwrap_or_else(|| format!("{e:?}"))
}

/// Resolve when `req` succeeds (with its result) or fails (with its error, in words).
async fn finish(req: &IdbRequest) -> Result<JsValue, String> {
    let (tx, rx) = futures_channel();
    let ok_tx = tx.clone();
    let ok_req = req.clone();
    let on_ok = Closure::<dyn FnMut()>::new(move || ok_tx.send(ok_req.result().map_err(|e| describe_js(&e))));
    let err_req = req.clone();
    let on_err = Closure::<dyn FnMut()>::new(move || {
        let why = match err_req.error() {
            Ok(Some(ex)) => format!("{}: {}", ex.name(), ex.message()),
            _ => "the request failed".to_string(),
        };
        tx.send(Err(why));
    });
    req.set_onsuccess(Some(on_ok.as_ref().unchecked_ref()));
    req.set_onerror(Some(on_err.as_ref().unchecked_ref()));
    let out = rx.recv().await;
    req.set_onsuccess(None);
    req.set_onerror(None);
    out
}

/// Resolve when a read-write transaction has committed.
async fn committed(t: &IdbTransaction) -> Result<(), String> {
    let (tx, rx) = futures_channel();
    let ok_tx = tx.clone();
    let on_ok = Closure::<dyn FnMut()>::new(move || ok_tx.send(Ok(JsValue::UNDEFINED)));
    let err_t = t.clone();
    let abort_tx = tx.clone();
    let abort_t = t.clone();
    let on_err = Closure::<dyn FnMut()>::new(move || {
        let why = match err_t.error() {
            Some(ex) => format!("{}: {}", ex.name(), ex.message()),
            None => "the transaction failed".to_string(),
        };
        tx.send(Err(why));
    });
    let on_abort = Closure::<dyn FnMut()>::new(move || {
        let why = match abort_t.error() {
            Some(ex) => format!("the transaction was aborted ({}: {})", ex.name(), ex.message()),
            None => "the transaction was aborted".to_string(),
        };
        abort_tx.send(Err(why));
    });
    t.set_oncomplete(Some(on_ok.as_ref().unchecked_ref()));
    t.set_onerror(Some(on_err.as_ref().unchecked_ref()));
    t.set_onabort(Some(on_abort.as_ref().unchecked_ref()));
    let out = rx.recv().await;
    t.set_oncomplete(None);
    t.set_onerror(None);
    t.set_onabort(None);
    out.map(|_| ())
}

async fn open() -> Result<IdbDatabase, String> {
    let window = web_sys::window().ok_or("there is no window")?;
    let factory = window
        .indexed_db()
        .map_err(|e| format!("this browser's storage (IndexedDB) is not available: {}", describe_js(&e)))?
        .ok_or("this browser has no storage for pages (IndexedDB is missing)")?;
    let req: IdbOpenDbRequest = factory
        .open_with_u32(DATABASE, 1)
        .map_err(|e| format!("could not open this browser's storage: {}", describe_js(&e)))?;
    let up_req = req.clone();
    let on_upgrade = Closure::<dyn FnMut()>::new(move || {
        if let Ok(db) = up_req.result() {
            let db: IdbDatabase = db.unchecked_into();
            if !db.object_store_names().contains(STORE) {
                let _ = db.create_object_store(STORE);
            }
        }
    });
    req.set_onupgradeneeded(Some(on_upgrade.as_ref().unchecked_ref()));
    let db = finish(&req).await.map_err(|e| format!("could not open this browser's storage: {e}"));
    req.set_onupgradeneeded(None);
    db?.dyn_into::<IdbDatabase>().map_err(|_| "the browser's storage gave no database".to_string())
}

/// Store `bytes` under `key`, replacing what was there.
pub async fn save(key: &str, bytes: &[u8], label: &str) -> Result<(), String> {
    let db = open().await?;
    let result = async {
        let t = db.transaction_with_str_and_mode(STORE, IdbTransactionMode::Readwrite).map_err(|e| describe_js(&e))?;
        let store = t.object_store(STORE).map_err(|e| describe_js(&e))?;
        let value = js_sys::Object::new();
        let set = |k: &str, v: &JsValue| js_sys::Reflect::set(&value, &k.into(), v).map(|_| ());
        set("bytes", &js_sys::Uint8Array::from(bytes).into()).map_err(|e| describe_js(&e))?;
        set("savedAt", &JsValue::from_f64(js_sys::Date::now())).map_err(|e| describe_js(&e))?;
        set("label", &JsValue::from_str(label)).map_err(|e| describe_js(&e))?;
        let req = store.put_with_key(&value, &JsValue::from_str(key)).map_err(|e| describe_js(&e))?;
        finish(&req).await?;
        committed(&t).await
    }
    .await;
    db.close();
    result.map_err(|e| format!("could not save the model in this browser's storage: {e}"))
}

/// The bundle stored under `key`, if any.
pub async fn load(key: &str) -> Result<Option<Saved>, String> {
    let db = open().await?;
    let result = async {
        let t = db.transaction_with_str(STORE).map_err(|e| describe_js(&e))?;
        let store = t.object_store(STORE).map_err(|e| describe_js(&e))?;
        let req = store.get(&JsValue::from_str(key)).map_err(|e| describe_js(&e))?;
        finish(&req).await
    }
    .await;
    db.close();
    let value = result.map_err(|e| format!("could not read this browser's storage: {e}"))?;
    if value.is_undefined() || value.is_null() {
        return Ok(None);
    }
    // A bare byte array is accepted too (older saves, or someone writing the store by hand).
    let (bytes, saved_at_ms, label) = if value.is_instance_of::<js_sys::Uint8Array>() {
        (value.clone(), f64::NAN, String::new())
    } else {
        let get = |k: &str| js_sys::Reflect::get(&value, &k.into()).unwrap_or(JsValue::UNDEFINED);
        (get("bytes"), get("savedAt").as_f64().unwrap_or(f64::NAN), get("label").as_string().unwrap_or_default())
    };
    let bytes = if bytes.is_instance_of::<js_sys::Uint8Array>() {
        bytes.unchecked_into::<js_sys::Uint8Array>().to_vec()
    } else if bytes.is_instance_of::<js_sys::ArrayBuffer>() {
        js_sys::Uint8Array::new(&bytes).to_vec()
    } else {
        return Err(format!("the entry '{key}' in this browser's storage holds no weights"));
    };
    Ok(Some(Saved { bytes, saved_at_ms, label }))
}

/// Forget what is stored under `key` (nothing happens if nothing is).
pub async fn delete(key: &str) -> Result<(), String> {
    let db = open().await?;
    let result = async {
        let t = db.transaction_with_str_and_mode(STORE, IdbTransactionMode::Readwrite).map_err(|e| describe_js(&e))?;
        let store = t.object_store(STORE).map_err(|e| describe_js(&e))?;
        let req = store.delete(&JsValue::from_str(key)).map_err(|e| describe_js(&e))?;
        finish(&req).await?;
        committed(&t).await
    }
    .await;
    db.close();
    result.map_err(|e| format!("could not clear this browser's storage: {e}"))
}

/// A one-shot channel built on a JS promise: the first `send` wins, later ones are ignored.
fn futures_channel() -> (Sender, Receiver) {
    let slot = std::rc::Rc::new(std::cell::RefCell::new(None::<js_sys::Function>));
    let value = std::rc::Rc::new(std::cell::RefCell::new(None::<Result<JsValue, String>>));
    let s = slot.clone();
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        *s.borrow_mut() = Some(resolve);
    });
    (Sender { resolve: slot, value: value.clone() }, Receiver { promise, value })
}

#[derive(Clone)]
struct Sender {
    resolve: std::rc::Rc<std::cell::RefCell<Option<js_sys::Function>>>,
    value: std::rc::Rc<std::cell::RefCell<Option<Result<JsValue, String>>>>,
}

impl Sender {
    fn send(&self, v: Result<JsValue, String>) {
        if let Some(resolve) = self.resolve.borrow_mut().take() {
            *self.value.borrow_mut() = Some(v);
            let _ = resolve.call0(&JsValue::UNDEFINED);
        }
    }
}

struct Receiver {
    promise: js_sys::Promise,
    value: std::rc::Rc<std::cell::RefCell<Option<Result<JsValue, String>>>>,
}

impl Receiver {
    async fn recv(self) -> Result<JsValue, String> {
        let _ = wasm_bindgen_futures::JsFuture::from(self.promise).await;
        self.value.borrow_mut().take().unwrap_or_else(|| Err("no answer from the browser's storage".into()))
    }
}
