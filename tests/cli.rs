//! The `latent-lab` binary end to end, on a tiny subset of the shipped MNIST.
#![cfg(not(target_arch = "wasm32"))]

use std::process::Command;

fn cli() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_latent-lab"));
    c.current_dir(env!("CARGO_MANIFEST_DIR"));
    c
}

fn json_lines(out: &[u8]) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

#[test]
fn info_reports_the_articles_parameter_count() {
    let out = cli().args(["info", "--model", "ae", "--latent", "16", "--json"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v = &json_lines(&out.stdout)[0];
    assert_eq!(v["params_total"], 178_001);
    assert_eq!(v["params_encoder"].as_u64().unwrap() + v["params_decoder"].as_u64().unwrap(), 178_001);
    assert_eq!(v["params_heads"], 3 * (16 * 64 + 64) + 65 + 130 + 650);
    assert!(v["train_flops_per_image"].as_u64().unwrap() > 50_000_000);
}

#[test]
fn train_then_eval_on_a_tiny_subset() {
    let dir = std::env::temp_dir().join(format!("latent-lab-cli-{}", std::process::id()));
    let out_path = dir.join("vae-4.llab");
    let out = cli()
        .args(["train", "--model", "vae", "--latent", "4", "--epochs", "2", "--batch", "64", "--train-size", "256"])
        .args(["--eval-size", "200", "--heads-epochs", "2", "--backend", "flex", "--json", "--out"])
        .arg(&out_path)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let lines = json_lines(&out.stdout);
    let epochs: Vec<_> = lines.iter().filter(|l| l["event"] == "epoch").collect();
    assert_eq!(epochs.len(), 2, "one JSON line per epoch: {lines:?}");
    assert!(epochs[1]["test_kl"].as_f64().unwrap() > 0.0);
    let done = lines.last().unwrap();
    assert_eq!(done["event"], "done");
    assert!(out_path.exists() && out_path.with_extension("json").exists());

    let out = cli().args(["eval", "--json", "--eval-size", "200", "--weights"]).arg(&out_path).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let r = &json_lines(&out.stdout)[0];
    for key in [
        "test_mse",
        "test_kl",
        "active_dims",
        "odd_even_acc",
        "curvature_acc",
        "curvature_majority_acc",
        "curvature_positive_fraction",
        "digit_probe_acc",
    ] {
        assert!(!r[key].is_null(), "eval lacks {key}: {r}");
    }
    assert_eq!(r["images"], 200);
    let mse = r["test_mse"].as_f64().unwrap();
    assert!(mse > 0.0 && mse < 0.2, "{mse}");
    // The same weights evaluated at the end of training and by `eval` agree.
    assert_eq!(r["test_mse"], done["report"]["test_mse"]);

    // --init continues from the saved weights: one more epoch starts near where the last ended.
    let more = dir.join("vae-4-more.llab");
    let out = cli()
        .args(["train", "--model", "vae", "--latent", "4", "--epochs", "1", "--batch", "64", "--train-size", "256"])
        .args(["--eval-size", "200", "--heads-epochs", "1", "--backend", "flex", "--json", "--init"])
        .arg(&out_path)
        .arg("--out")
        .arg(&more)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let first = json_lines(&out.stdout)[0]["train_loss"].as_f64().unwrap();
    let fresh_first = epochs[0]["train_loss"].as_f64().unwrap();
    assert!(first < fresh_first, "continued run starts from trained weights: {first} vs fresh {fresh_first}");
    let manifest = std::fs::read_to_string(more.with_extension("json")).unwrap();
    assert!(manifest.contains("continued from"), "{manifest}");

    // ... but not from a model of another shape.
    let out = cli()
        .args(["train", "--model", "ae", "--latent", "4", "--epochs", "1", "--train-size", "64", "--init"])
        .arg(&out_path)
        .args(["--out", "/tmp/never.llab"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("holds a VAE with latent size 4, but --model/--latent ask for an AE"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn bad_input_gets_a_sentence_not_a_panic() {
    let out = cli().args(["train", "--lr=-1", "--out", "/tmp/never.llab"]).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("learning rate must be in (0, 1]"), "{err}");
    assert!(!err.contains("panicked"), "{err}");

    let corrupt = std::env::temp_dir().join(format!("latent-lab-corrupt-{}.llab", std::process::id()));
    std::fs::write(&corrupt, b"LATENTLAB\x01\x00\x00\x00garbage that is far too short to be a bundle at all....")
        .unwrap();
    let out = cli().args(["eval", "--weights"]).arg(&corrupt).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("corrupt") || err.contains("cut short"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    std::fs::remove_file(corrupt).ok();

    let out = cli().args(["train", "--data", "/nonexistent", "--out", "/tmp/never.llab"]).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read /nonexistent/train-images-idx3-ubyte.gz"));
}

#[test]
fn wgpu_without_an_adapter_is_a_sentence_not_a_panic() {
    // Where a GPU adapter exists this evaluates on it; where none does (CI here) it must say so.
    let out = cli()
        .args(["eval", "--backend", "wgpu", "--eval-size", "20", "--weights", "assets/models/ae-2.llab"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "{err}");
    if !out.status.success() {
        assert!(err.contains("no usable GPU adapter") && err.contains("--backend flex"), "{err}");
    }
}
