//! The page: mounts the leptos app (wasm32). Natively there is nothing to run.

#[cfg(target_arch = "wasm32")]
fn main() {
    // The same module runs in the page and in its training worker (src/web/worker.rs).
    if latent_lab::web::worker::in_worker() {
        latent_lab::web::worker::run_worker();
    } else {
        latent_lab::web::app::start();
    }
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    eprintln!("latent-lab-web is the browser page: build it with `trunk build` (see README)");
}
