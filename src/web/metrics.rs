//! Responsiveness measurements a benchmark can read from the page, published on
//! `window.__latentLab`:
//!
//! - `inputLatency`: for pointer events on the draw canvas while training, the milliseconds from
//!   the event (its `timeStamp`) to the next `requestAnimationFrame` callback —
//!   `{ p50, p95, max, count, samples }` over the last 256 events. `inputLatencyIdle` is the same
//!   when not training.
//! - `drawToOutputs`: milliseconds from a stroke to the outputs being shown (preprocess, then
//!   encode + decode + heads on the active backend, then painting and the scatter) —
//!   `{ p50, p95, count, last: { total, preprocess, infer, paint }, samples }` over the last 64.
//!
//! Everything is plain numbers in JS objects, replaced on each update.

use std::cell::RefCell;

use wasm_bindgen::{prelude::*, JsCast};

const INPUT_RING: usize = 256;
const DRAW_RING: usize = 64;

/// One stroke-to-outputs measurement, in milliseconds.
#[derive(Clone, Copy, Debug, Default)]
pub struct DrawTiming {
    /// From the first pointer event of the stroke segment to the outputs painted.
    pub total: f64,
    /// Preprocessing the drawing to 28x28.
    pub preprocess: f64,
    /// Encoder, decoder and heads, with the reads back.
    pub infer: f64,
    /// Painting the reconstruction and the scatter.
    pub paint: f64,
}

#[derive(Default)]
struct State {
    /// Event timestamps waiting for the next animation frame, with whether training was on.
    pending: Vec<(f64, bool)>,
    frame_requested: bool,
    training: Vec<f64>,
    idle: Vec<f64>,
    draws: Vec<DrawTiming>,
    /// Timestamp of the first stroke event not yet covered by a prediction.
    stroke_start: Option<f64>,
}

thread_local! {
    static STATE: RefCell<State> = RefCell::new(State::default());
}

/// `performance.now()`, in milliseconds (0 if unavailable).
pub fn now() -> f64 {
    web_sys::window().and_then(|w| w.performance()).map_or(0.0, |p| p.now())
}

fn push_ring<T>(v: &mut Vec<T>, x: T, cap: usize) {
    if v.len() >= cap {
        v.remove(0);
    }
    v.push(x);
}

/// The `q` quantile (0..=1) of `v` by nearest rank; NaN if empty.
pub fn quantile(v: &[f64], q: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let rank = ((q * s.len() as f64).ceil() as usize).clamp(1, s.len());
    s[rank - 1]
}

/// A pointer event arrived on the draw canvas at `timestamp` (the event's `timeStamp`).
pub fn pointer_event(timestamp: f64, training: bool) {
    let ts = if timestamp > 0.0 { timestamp } else { now() };
    let request = STATE.with(|s| {
        let mut s = s.borrow_mut();
        s.pending.push((ts, training));
        !std::mem::replace(&mut s.frame_requested, true)
    });
    if request {
        let cb = Closure::once_into_js(move || {
            let t = now();
            STATE.with(|s| {
                let mut s = s.borrow_mut();
                s.frame_requested = false;
                for (ts, training) in std::mem::take(&mut s.pending) {
                    let lat = (t - ts).max(0.0);
                    let ring = if training { &mut s.training } else { &mut s.idle };
                    push_ring(ring, lat, INPUT_RING);
                }
            });
            publish();
        });
        if let Some(w) = web_sys::window() {
            if w.request_animation_frame(cb.unchecked_ref()).is_err() {
                STATE.with(|s| s.borrow_mut().frame_requested = false);
            }
        }
    }
}

/// A stroke segment was drawn at `timestamp`; the next prediction measures from the first one.
pub fn stroke(timestamp: f64) {
    let ts = if timestamp > 0.0 { timestamp } else { now() };
    STATE.with(|s| {
        let mut s = s.borrow_mut();
        if s.stroke_start.is_none() {
            s.stroke_start = Some(ts);
        }
    });
}

/// The prediction about to run covers the strokes so far: when did the first of them happen?
pub fn take_stroke_start() -> Option<f64> {
    STATE.with(|s| s.borrow_mut().stroke_start.take())
}

/// Record a stroke-to-outputs measurement.
pub fn record_draw(t: DrawTiming) {
    STATE.with(|s| push_ring(&mut s.borrow_mut().draws, t, DRAW_RING));
    publish();
}

fn obj(pairs: &[(&str, JsValue)]) -> js_sys::Object {
    let o = js_sys::Object::new();
    for (k, v) in pairs {
        let _ = js_sys::Reflect::set(&o, &JsValue::from_str(k), v);
    }
    o
}

fn num(x: f64) -> JsValue {
    if x.is_finite() {
        JsValue::from_f64((x * 1000.0).round() / 1000.0)
    } else {
        JsValue::NULL
    }
}

fn latency_stats(v: &[f64]) -> js_sys::Object {
    let samples: js_sys::Array = v.iter().map(|&x| num(x)).collect();
    obj(&[
        ("p50", num(quantile(v, 0.5))),
        ("p95", num(quantile(v, 0.95))),
        ("max", num(v.iter().copied().fold(f64::NAN, f64::max))),
        ("count", JsValue::from_f64(v.len() as f64)),
        ("samples", samples.into()),
    ])
}

fn timing(t: &DrawTiming) -> js_sys::Object {
    obj(&[("total", num(t.total)), ("preprocess", num(t.preprocess)), ("infer", num(t.infer)), ("paint", num(t.paint))])
}

/// The `window.__latentLab` object (created on first use).
pub fn root() -> Option<js_sys::Object> {
    let w = web_sys::window()?;
    let key = JsValue::from_str("__latentLab");
    let existing = js_sys::Reflect::get(&w, &key).ok().filter(|v| v.is_object());
    match existing {
        Some(v) => Some(v.unchecked_into()),
        None => {
            let o = js_sys::Object::new();
            js_sys::Reflect::set(&w, &key, &o).ok()?;
            Some(o)
        }
    }
}

/// Set `window.__latentLab[key] = value`.
pub fn expose(key: &str, value: &JsValue) {
    if let Some(r) = root() {
        let _ = js_sys::Reflect::set(&r, &JsValue::from_str(key), value);
    }
}

fn publish() {
    let Some(r) = root() else { return };
    STATE.with(|s| {
        let s = s.borrow();
        let set = |k: &str, v: &JsValue| {
            let _ = js_sys::Reflect::set(&r, &JsValue::from_str(k), v);
        };
        set("inputLatency", &latency_stats(&s.training).into());
        set("inputLatencyIdle", &latency_stats(&s.idle).into());
        let totals: Vec<f64> = s.draws.iter().map(|d| d.total).collect();
        let samples: js_sys::Array = s.draws.iter().map(|d| JsValue::from(timing(d))).collect();
        let last = s.draws.last().map_or(JsValue::NULL, |d| timing(d).into());
        let draw = obj(&[
            ("p50", num(quantile(&totals, 0.5))),
            ("p95", num(quantile(&totals, 0.95))),
            ("count", JsValue::from_f64(totals.len() as f64)),
            ("last", last),
            ("samples", samples.into()),
        ]);
        set("drawToOutputs", &draw.into());
    });
}

/// Publish empty figures so a benchmark finds the keys as soon as the page starts.
pub fn init() {
    publish();
}
