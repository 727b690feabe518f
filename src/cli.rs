//! The native command line: `latent-lab train | eval | info`, on the same code as the page.

use std::{
    path::{Path, PathBuf},
    process::ExitCode,
};

use burn::{module::AutodiffModule, prelude::*, tensor::backend::AutodiffBackend};
use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;

use crate::{
    backend::{self, BackendKind, BackendTask, NdArray},
    data::{Mnist, MnistSplits},
    labels::{CurvaturePreset, HeadLabels},
    model::{forward_macs, train_flops_per_image, Heads, LatentModel, ModelConfig, ModelKind},
    training::{
        self, AutoencoderEval, Control, Event, HeadsConfig, HeadsEval, Outcome, Report, TrainConfig, Trainer, VaeLoss,
    },
    weights::{self, Manifest},
};

#[derive(Parser, Debug)]
#[command(name = "latent-lab", version, about = "Train and inspect the article's MNIST autoencoders with burn")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Train an AE or VAE, then its heads, and save a weights bundle.
    Train(TrainArgs),
    /// Evaluate a weights bundle on the 10,000 test images.
    Eval(EvalArgs),
    /// Parameter counts and cost of a model.
    Info(InfoArgs),
    /// Retrain only the heads of a weights bundle on its frozen encoder, and save it.
    Heads(HeadsArgs),
    /// Time training steps phase by phase (forward, backward, optimiser, read-back).
    Bench(BenchArgs),
}

#[derive(clap::Args, Debug)]
struct BenchArgs {
    /// ae or vae.
    #[arg(long, default_value = "ae")]
    model: ModelKind,
    /// Latent size, 2 to 64.
    #[arg(long, default_value_t = 16)]
    latent: usize,
    /// Images per step.
    #[arg(long, default_value_t = 256)]
    batch: usize,
    /// Timed steps per run (after one warm-up step).
    #[arg(long, default_value_t = 10)]
    steps: usize,
    /// Independent runs; one JSON line each.
    #[arg(long, default_value_t = 3)]
    repeats: usize,
    /// ndarray, flex or wgpu.
    #[arg(long, default_value = "flex")]
    backend: BackendKind,
    /// Folder with the four MNIST .gz files.
    #[arg(long, default_value = "assets/mnist")]
    data: PathBuf,
}

#[derive(clap::Args, Debug)]
struct HeadsArgs {
    /// A weights bundle written by `train`.
    #[arg(long)]
    weights: PathBuf,
    /// Where to write the bundle with the new heads (may be the same file).
    #[arg(long)]
    out: PathBuf,
    /// Epochs of head training.
    #[arg(long, default_value_t = 30)]
    epochs: usize,
    /// Adam learning rate of the heads.
    #[arg(long, default_value_t = 1e-3)]
    lr: f64,
    /// Batch size of the heads.
    #[arg(long, default_value_t = 256)]
    batch: usize,
    /// ndarray, flex or wgpu.
    #[arg(long, default_value = "flex")]
    backend: BackendKind,
    /// Folder with the four MNIST .gz files.
    #[arg(long, default_value = "assets/mnist")]
    data: PathBuf,
    /// One JSON line with the report.
    #[arg(long)]
    json: bool,
}

#[derive(clap::Args, Debug)]
struct TrainArgs {
    /// ae or vae.
    #[arg(long, default_value = "ae")]
    model: ModelKind,
    /// Latent size, 2 to 64.
    #[arg(long, default_value_t = 16)]
    latent: usize,
    /// Passes over the training set.
    #[arg(long, default_value_t = 10)]
    epochs: usize,
    /// Images per step.
    #[arg(long, default_value_t = 128)]
    batch: usize,
    /// Adam learning rate.
    #[arg(long, default_value_t = 1e-3)]
    lr: f64,
    /// KL weight (VAE).
    #[arg(long, default_value_t = 1.0)]
    beta: f64,
    /// VAE objective: per-image (default) or article (the article's averaged loss, which collapses).
    #[arg(long, default_value = "per-image")]
    vae_loss: String,
    /// Seed for weights, shuffling and noise.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Train on the first N images only (0 = all).
    #[arg(long, default_value_t = 0)]
    train_size: usize,
    /// Evaluate on the first N test images only (0 = all).
    #[arg(long, default_value_t = 0)]
    eval_size: usize,
    /// Epochs of head training.
    #[arg(long, default_value_t = 10)]
    heads_epochs: usize,
    /// Curvature threshold: median (balanced, default), article (0.4*784), or an ink sum.
    #[arg(long, default_value = "median")]
    curvature: String,
    /// ndarray, flex or wgpu.
    #[arg(long, default_value = "flex")]
    backend: BackendKind,
    /// Folder with the four MNIST .gz files.
    #[arg(long, default_value = "assets/mnist")]
    data: PathBuf,
    /// Where to write the weights bundle (a manifest .json is written beside it).
    #[arg(long)]
    out: PathBuf,
    /// One JSON line per epoch instead of a progress bar.
    #[arg(long)]
    json: bool,
    /// Stop early after the first epoch whose test MSE is at or below this (then train the heads and save).
    #[arg(long)]
    target_mse: Option<f64>,
    /// Continue training from the weights in this bundle (same model and latent size) instead of fresh ones.
    #[arg(long)]
    init: Option<PathBuf>,
}

#[derive(clap::Args, Debug)]
struct EvalArgs {
    /// A weights bundle written by `train`.
    #[arg(long)]
    weights: PathBuf,
    /// ndarray, flex or wgpu.
    #[arg(long, default_value = "flex")]
    backend: BackendKind,
    /// Folder with the four MNIST .gz files.
    #[arg(long, default_value = "assets/mnist")]
    data: PathBuf,
    /// Evaluate on the first N test images only (0 = all).
    #[arg(long, default_value_t = 0)]
    eval_size: usize,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
}

#[derive(clap::Args, Debug)]
struct InfoArgs {
    /// ae or vae.
    #[arg(long, default_value = "ae")]
    model: ModelKind,
    /// Latent size, 2 to 64.
    #[arg(long, default_value_t = 16)]
    latent: usize,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
}

/// Entry point of the `latent-lab` binary.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Train(a) => run_train(a),
        Command::Eval(a) => run_eval(a),
        Command::Info(a) => run_info(a),
        Command::Heads(a) => run_heads(a),
        Command::Bench(a) => run_bench(a),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(msg) => {
            eprintln!("error: {msg}");
            ExitCode::FAILURE
        }
    }
}

fn parse_curvature(s: &str) -> Result<CurvaturePreset, String> {
    match s {
        "median" => Ok(CurvaturePreset::TrainMedian),
        "article" => Ok(CurvaturePreset::Article),
        other => other
            .parse::<f32>()
            .ok()
            .filter(|t| t.is_finite() && (0.0..=784.0).contains(t))
            .map(CurvaturePreset::Custom)
            .ok_or_else(|| {
                format!("--curvature must be median, article or an ink sum between 0 and 784, not '{other}'")
            }),
    }
}

/// Run `task` on `kind`, first checking that wgpu has an adapter (a sentence, not a panic, when not).
fn dispatch<T: BackendTask<Output = Result<(), String>>>(kind: BackendKind, task: T) -> Result<(), String> {
    if kind == BackendKind::Wgpu {
        backend::init_wgpu_native()?;
    }
    backend::dispatch(kind, task)
}

fn load_data(dir: &Path) -> Result<MnistSplits, String> {
    MnistSplits::from_dir(dir).map_err(|e| e.to_string())
}

fn run_train(a: TrainArgs) -> Result<(), String> {
    let vae_loss = match a.vae_loss.as_str() {
        "per-image" => VaeLoss::PerImage,
        "article" => VaeLoss::ArticleAveraged,
        other => return Err(format!("--vae-loss must be per-image or article, not '{other}'")),
    };
    let heads = HeadsConfig::new().with_epochs(a.heads_epochs).with_curvature(parse_curvature(&a.curvature)?);
    let config = TrainConfig::new(ModelConfig::new().with_kind(a.model).with_latent(a.latent))
        .with_epochs(a.epochs)
        .with_batch_size(a.batch)
        .with_learning_rate(a.lr)
        .with_beta(a.beta)
        .with_vae_loss(vae_loss)
        .with_seed(a.seed)
        .with_train_size(a.train_size)
        .with_eval_size(a.eval_size)
        .with_heads(heads);
    config.validate().map_err(|e| e.to_string())?;
    // Check the starting weights before loading the data, so a bad file fails fast.
    let init = match &a.init {
        Some(path) => {
            let bytes = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            let manifest = weights::read_manifest(&bytes).map_err(|e| format!("{}: {e}", path.display()))?;
            if manifest.model != config.model {
                return Err(format!(
                    "{} holds {}, but --model/--latent ask for {}",
                    path.display(),
                    weights::describe(&manifest.model),
                    weights::describe(&config.model)
                ));
            }
            Some((path.clone(), bytes, manifest))
        }
        None => None,
    };
    let data = load_data(&a.data)?;
    dispatch(
        a.backend,
        TrainTask { config, data, out: a.out, json: a.json, backend: a.backend, target_mse: a.target_mse, init },
    )
}

struct TrainTask {
    config: TrainConfig,
    data: MnistSplits,
    out: PathBuf,
    json: bool,
    backend: BackendKind,
    target_mse: Option<f64>,
    /// Starting weights: their path, bytes and manifest.
    init: Option<(PathBuf, Vec<u8>, Manifest)>,
}

impl BackendTask for TrainTask {
    type Output = Result<(), String>;

    fn run<B: AutodiffBackend>(self, device: B::Device) -> Self::Output {
        let TrainTask { config, data, out, json, backend, target_mse, init } = self;
        let train_set = if config.train_size == 0 { data.train.clone() } else { data.train.take(config.train_size) };
        let test_set = if config.eval_size == 0 { data.test.clone() } else { data.test.take(config.eval_size) };
        let (mut trainer, continued) = match &init {
            Some((path, bytes, manifest)) => {
                let bundle = weights::decode::<B>(bytes, &device).map_err(|e| format!("{}: {e}", path.display()))?;
                let trainer = Trainer::<B>::from_model(config.clone(), bundle.model, train_set.len(), &device)
                    .map_err(|e| e.to_string())?;
                (trainer, format!("; continued from {} ({})", path.display(), manifest.trained_on))
            }
            None => {
                (Trainer::<B>::new(config.clone(), train_set.len(), &device).map_err(|e| e.to_string())?, String::new())
            }
        };
        let total = (trainer.batches_per_epoch() * config.epochs) as u64;
        let bar = if json { ProgressBar::hidden() } else { ProgressBar::new(total) };
        bar.set_style(
            ProgressStyle::with_template("{bar:30} {pos}/{len} batches  epoch {prefix}  {msg}  ETA {eta}")
                .expect("a valid progress template"),
        );
        let started = web_time::Instant::now();
        let outcome = pollster::block_on(training::train(&mut trainer, &train_set, &test_set, |event| {
            match event {
                Event::Batch(m) => {
                    bar.set_prefix(format!("{}/{}", m.epoch, config.epochs));
                    bar.set_message(format!("loss {:.4}  {:.0} img/s", m.loss, m.images_per_sec));
                    bar.inc(1);
                }
                Event::Epoch(e) => {
                    let line = json!({
                        "event": "epoch", "epoch": e.epoch, "epochs": config.epochs, "train_loss": e.train_loss,
                        "test_mse": e.eval.test_mse, "test_loss": e.eval.test_loss, "test_kl": e.eval.test_kl,
                        "active_dims": e.eval.active_dims, "images_per_sec": e.images_per_sec, "seconds": e.seconds,
                    });
                    if json {
                        println!("{line}");
                    } else {
                        bar.println(format!(
                            "epoch {}: train loss {:.5}, test MSE {:.5}{}, {:.0} img/s",
                            e.epoch,
                            e.train_loss,
                            e.eval.test_mse,
                            e.eval.test_kl.map(|k| format!(", KL {k:.2}")).unwrap_or_default(),
                            e.images_per_sec
                        ));
                    }
                    if target_mse.is_some_and(|t| e.eval.test_mse <= t) {
                        return Control::Stop;
                    }
                }
            }
            Control::Continue
        }))
        .map_err(|e| e.to_string())?;
        bar.finish_and_clear();
        let epochs_run = trainer.epoch();
        let train_seconds = started.elapsed().as_secs_f64();

        // Heads on the frozen latent (the encoder's mean), trained on the same training images.
        let model = trainer.into_model().valid();
        let (heads, threshold, ae, he) = fit_heads::<B>(&model, &train_set, &test_set, &config, &device, json)?;
        let report = Report::new(config.model, &ae, &he);

        let mut manifest = Manifest::new(config.model);
        manifest.train = Some(config.clone());
        manifest.curvature_threshold = threshold;
        manifest.eval = Some(ae);
        manifest.heads_eval = Some(he);
        manifest.mnist_train_images_sha256 = data.train_images_sha256.clone();
        manifest.trained_on = format!(
            "latent-lab CLI, burn {} {} backend, {epochs_run} epochs{} in {train_seconds:.0} s{continued}",
            weights::BURN_VERSION,
            backend.name(),
            if outcome == Outcome::Stopped { " (stopped early at --target-mse)" } else { "" },
        );
        let bytes = weights::encode(&manifest, &model, Some(&heads));
        if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        }
        std::fs::write(&out, &bytes).map_err(|e| format!("cannot write {}: {e}", out.display()))?;
        let manifest_path = out.with_extension("json");
        let pretty = serde_json::to_string_pretty(&manifest).expect("a manifest serialises");
        std::fs::write(&manifest_path, pretty + "\n")
            .map_err(|e| format!("cannot write {}: {e}", manifest_path.display()))?;
        let summary = serde_json::to_value(&report).expect("a report serialises");
        if json {
            println!("{}", json!({"event": "done", "weights": out, "train_seconds": train_seconds, "report": summary}));
        } else {
            println!(
                "saved {} ({} bytes)\n{}",
                out.display(),
                bytes.len(),
                serde_json::to_string_pretty(&summary).expect("json")
            );
        }
        Ok(())
    }
}

/// Trained heads, curvature threshold, autoencoder and heads test reports.
type FittedHeads<B> = (Heads<B>, f32, AutoencoderEval, HeadsEval);

/// Train the heads on the frozen latent of `model` (its encoder's mean on `train`), then evaluate
/// model and heads on `test`. Returns the heads, the curvature threshold and both reports.
fn fit_heads<B: AutodiffBackend>(
    model: &LatentModel<B::InnerBackend>,
    train: &Mnist,
    test: &Mnist,
    config: &TrainConfig,
    device: &B::Device,
    quiet: bool,
) -> Result<FittedHeads<B::InnerBackend>, String> {
    let threshold = config.heads.curvature.threshold(train);
    let labels = HeadLabels::new(train, threshold);
    let z = pollster::block_on(training::encode_all(model, train, 500)).map_err(|e| e.to_string())?;
    let heads = pollster::block_on(training::train_heads::<B>(
        &z,
        config.model.latent,
        &labels,
        &config.heads,
        config.seed,
        device,
        |h| {
            if !quiet {
                eprintln!("heads epoch {}/{}: loss {:.4}", h.epoch, h.epochs, h.loss);
            }
            Control::Continue
        },
    ))
    .map_err(|e| e.to_string())?;
    let (ae, he) = pollster::block_on(training::evaluate_all(model, &heads, test, config, threshold))
        .map_err(|e| e.to_string())?;
    Ok((heads, threshold, ae, he))
}

fn run_eval(a: EvalArgs) -> Result<(), String> {
    let bytes = std::fs::read(&a.weights).map_err(|e| format!("cannot read {}: {e}", a.weights.display()))?;
    // Check the file before loading the data, so a bad file fails fast.
    weights::read_manifest(&bytes).map_err(|e| format!("{}: {e}", a.weights.display()))?;
    let data = load_data(&a.data)?;
    dispatch(a.backend, EvalTask { bytes, data, eval_size: a.eval_size, json: a.json })
}

struct EvalTask {
    bytes: Vec<u8>,
    data: MnistSplits,
    eval_size: usize,
    json: bool,
}

impl BackendTask for EvalTask {
    type Output = Result<(), String>;

    fn run<B: AutodiffBackend>(self, device: B::Device) -> Self::Output {
        let bundle = weights::decode::<B::InnerBackend>(&self.bytes, &device).map_err(|e| e.to_string())?;
        let heads = bundle.heads.as_ref().ok_or("this weights file has no trained heads")?;
        let config = bundle.manifest.train.clone().unwrap_or_else(|| TrainConfig::new(bundle.manifest.model));
        let test = if self.eval_size == 0 { self.data.test.clone() } else { self.data.test.take(self.eval_size) };
        let (ae, he) = pollster::block_on(training::evaluate_all(
            &bundle.model,
            heads,
            &test,
            &config,
            bundle.manifest.curvature_threshold,
        ))
        .map_err(|e| e.to_string())?;
        let report = Report::new(bundle.manifest.model, &ae, &he);
        if self.json {
            println!("{}", serde_json::to_string(&report).expect("a report serialises"));
        } else {
            println!("{}", serde_json::to_string_pretty(&report).expect("a report serialises"));
        }
        Ok(())
    }
}

fn run_info(a: InfoArgs) -> Result<(), String> {
    let config = ModelConfig::new().with_kind(a.model).with_latent(a.latent);
    config.validate().map_err(|e| e.to_string())?;
    let device = Default::default();
    let model = config.init::<NdArray>(&device);
    let heads = Heads::<NdArray>::new(a.latent, &device);
    let info = json!({
        "model": a.model, "latent": a.latent,
        "params_total": model.num_params(),
        "params_encoder": model.params_encoder(),
        "params_decoder": model.params_decoder(),
        "params_heads": heads.num_params(),
        "forward_macs_per_image": forward_macs(&config),
        "train_flops_per_image": train_flops_per_image(&config),
    });
    if a.json {
        println!("{info}");
    } else {
        println!("{}", serde_json::to_string_pretty(&info).expect("json"));
    }
    Ok(())
}

fn run_heads(a: HeadsArgs) -> Result<(), String> {
    let bytes = std::fs::read(&a.weights).map_err(|e| format!("cannot read {}: {e}", a.weights.display()))?;
    weights::read_manifest(&bytes).map_err(|e| format!("{}: {e}", a.weights.display()))?;
    let data = load_data(&a.data)?;
    dispatch(a.backend, HeadsTask { bytes, data, args: a })
}

struct HeadsTask {
    bytes: Vec<u8>,
    data: MnistSplits,
    args: HeadsArgs,
}

impl BackendTask for HeadsTask {
    type Output = Result<(), String>;

    fn run<B: AutodiffBackend>(self, device: B::Device) -> Self::Output {
        let HeadsTask { bytes, data, args } = self;
        let mut bundle = weights::decode::<B::InnerBackend>(&bytes, &device).map_err(|e| e.to_string())?;
        let mut config = bundle.manifest.train.clone().unwrap_or_else(|| TrainConfig::new(bundle.manifest.model));
        config.heads =
            config.heads.clone().with_epochs(args.epochs).with_learning_rate(args.lr).with_batch_size(args.batch);
        config.validate().map_err(|e| e.to_string())?;
        let train_set = if config.train_size == 0 { data.train.clone() } else { data.train.take(config.train_size) };
        let test_set = if config.eval_size == 0 { data.test.clone() } else { data.test.take(config.eval_size) };
        let (heads, threshold, ae, he) =
            fit_heads::<B>(&bundle.model, &train_set, &test_set, &config, &device, args.json)?;
        let report = Report::new(config.model, &ae, &he);
        bundle.manifest.train = Some(config);
        bundle.manifest.curvature_threshold = threshold;
        bundle.manifest.eval = Some(ae);
        bundle.manifest.heads_eval = Some(he);
        bundle.heads = Some(heads);
        let out = bundle.encode();
        std::fs::write(&args.out, &out).map_err(|e| format!("cannot write {}: {e}", args.out.display()))?;
        let pretty = serde_json::to_string_pretty(&bundle.manifest).expect("a manifest serialises");
        let manifest_path = args.out.with_extension("json");
        std::fs::write(&manifest_path, pretty + "\n")
            .map_err(|e| format!("cannot write {}: {e}", manifest_path.display()))?;
        println!("{}", serde_json::to_string(&report).expect("a report serialises"));
        Ok(())
    }
}

fn run_bench(a: BenchArgs) -> Result<(), String> {
    let config = TrainConfig::new(ModelConfig::new().with_kind(a.model).with_latent(a.latent)).with_batch_size(a.batch);
    config.validate().map_err(|e| e.to_string())?;
    if !(1..=10_000).contains(&a.steps) || !(1..=100).contains(&a.repeats) {
        return Err(format!("--steps must be 1..=10000 and --repeats 1..=100, not {} and {}", a.steps, a.repeats));
    }
    let data = load_data(&a.data)?;
    dispatch(a.backend, BenchTask { config, test: data.test, steps: a.steps, repeats: a.repeats })
}

struct BenchTask {
    config: TrainConfig,
    test: Mnist,
    steps: usize,
    repeats: usize,
}

impl BackendTask for BenchTask {
    type Output = Result<(), String>;

    fn run<B: AutodiffBackend>(self, device: B::Device) -> Self::Output {
        for run in 0..self.repeats {
            let config = self.config.clone().with_seed(self.config.seed + run as u64);
            let p = pollster::block_on(crate::bench::profile_steps::<B>(config, &self.test, self.steps, &device))
                .map_err(|e| e.to_string())?;
            println!("{}", serde_json::to_string(&p).expect("a profile serialises"));
        }
        Ok(())
    }
}
