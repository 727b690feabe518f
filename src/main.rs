//! `latent-lab`: the native command line (train, eval, info). In wasm builds the page is the
//! entry point instead, so this binary is empty there.

#[cfg(not(target_arch = "wasm32"))]
fn main() -> std::process::ExitCode {
    latent_lab::cli::main()
}

#[cfg(target_arch = "wasm32")]
fn main() {}
