//! The page: mounts the leptos app (wasm32). Natively there is nothing to run.

#[cfg(target_arch = "wasm32")]
fn main() {
    latent_lab::web::app::start();
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    eprintln!("latent-lab-web is the browser page: build it with `trunk build` (see README)");
}
