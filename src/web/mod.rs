//! The browser side: compute engine and leptos UI (wasm32 only).

pub mod app;
pub mod engine;
pub mod metrics;
pub mod store;
pub mod worker;
