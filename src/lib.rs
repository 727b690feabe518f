//! Latent Lab: the reference article's convolutional autoencoder and VAE, and classifier heads on
//! their frozen latent, trained on real MNIST with burn — natively (the `latent-lab` CLI) and in
//! the browser (WebAssembly), from the same code.

pub mod backend;
pub mod bench;
pub mod data;
pub mod labels;
pub mod model;
pub mod rng;
pub mod training;
pub mod weights;

#[cfg(not(target_arch = "wasm32"))]
pub mod cli;
pub mod pca;
pub mod preprocess;

#[cfg(target_arch = "wasm32")]
pub mod web;
