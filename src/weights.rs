//! Weight files: one self-checking bundle of a JSON manifest and burn records, the same bytes
//! natively and in the page.
//!
//! Layout: `LATENTLAB` magic (9 bytes), format version (u32 LE), then three length-prefixed
//! (u32 LE) sections — manifest JSON, model record, heads record (may be empty) — and finally the
//! SHA-256 of everything before it. Records use burn's `NamedMpkBytesRecorder` (full precision),
//! which reports decoding errors instead of panicking; the checksum rejects corrupt files first.

use burn::{
    module::Module,
    prelude::*,
    record::{FullPrecisionSettings, NamedMpkBytesRecorder, Recorder},
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::{
    model::{Heads, LatentModel, ModelConfig, ModelKind},
    training::{AutoencoderEval, HeadsEval, TrainConfig},
};

const MAGIC: &[u8; 9] = b"LATENTLAB";
/// Current bundle format version.
pub const FORMAT: u32 = 1;
/// The burn version the records were written with.
pub const BURN_VERSION: &str = "0.21.0";

type Rec = NamedMpkBytesRecorder<FullPrecisionSettings>;

/// What a weight file says about itself.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Always "latent-lab".
    pub app: String,
    /// Bundle format version.
    pub format: u32,
    /// The model's kind and latent size.
    pub model: ModelConfig,
    /// How it was trained, if known.
    pub train: Option<TrainConfig>,
    /// Ink threshold of the curvature head's labels.
    pub curvature_threshold: f32,
    /// Test-set figures of the autoencoder.
    pub eval: Option<AutoencoderEval>,
    /// Test-set figures of the heads.
    pub heads_eval: Option<HeadsEval>,
    /// burn version of the records.
    pub burn_version: String,
    /// SHA-256 of the gzip MNIST training images it was trained on.
    pub mnist_train_images_sha256: String,
    /// Backend it was trained on, free text.
    pub trained_on: String,
}

impl Manifest {
    /// A manifest for `model`, other fields empty.
    pub fn new(model: ModelConfig) -> Self {
        Self {
            app: "latent-lab".into(),
            format: FORMAT,
            model,
            train: None,
            curvature_threshold: 0.0,
            eval: None,
            heads_eval: None,
            burn_version: BURN_VERSION.into(),
            mnist_train_images_sha256: String::new(),
            trained_on: String::new(),
        }
    }
}

/// Why a weight file could not be used.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum WeightsError {
    #[error("this is not a Latent Lab weights file (it does not start with LATENTLAB)")]
    NotLatentLab,
    #[error("the weights file is cut short ({0}); download or save it again")]
    Truncated(&'static str),
    #[error("the weights file is corrupt (its checksum does not match); download or save it again")]
    Checksum,
    #[error("this weights file uses format {0}, but this version of Latent Lab reads format {FORMAT}")]
    Format(u32),
    #[error("the weights file's manifest is unreadable: {0}")]
    Manifest(String),
    #[error("the weights file holds a model this app cannot build: {0}")]
    Config(String),
    #[error("the weights in the file do not fit the model its manifest describes: {0}")]
    Record(String),
    #[error("the file holds {found}, but {expected} was expected")]
    Mismatch { expected: String, found: String },
}

/// A model, its heads and its manifest.
#[derive(Debug, Clone)]
pub struct Bundle<B: Backend> {
    /// What the file says.
    pub manifest: Manifest,
    /// The autoencoder.
    pub model: LatentModel<B>,
    /// The heads, if trained.
    pub heads: Option<Heads<B>>,
}

/// Human name of a configuration, e.g. "a VAE with latent size 16".
pub fn describe(c: &ModelConfig) -> String {
    let k = match c.kind {
        ModelKind::Ae => "an AE",
        ModelKind::Vae => "a VAE",
    };
    format!("{k} with latent size {}", c.latent)
}

fn push_section(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend((bytes.len() as u32).to_le_bytes());
    out.extend(bytes);
}

/// Serialise a bundle to bytes.
pub fn encode<B: Backend>(manifest: &Manifest, model: &LatentModel<B>, heads: Option<&Heads<B>>) -> Vec<u8> {
    let rec = Rec::default();
    let model_bytes = rec.record(model.clone().into_record(), ()).expect("recording a model to memory cannot fail");
    let heads_bytes = heads
        .map(|h| rec.record(h.clone().into_record(), ()).expect("recording heads to memory cannot fail"))
        .unwrap_or_default();
    let mut out = MAGIC.to_vec();
    out.extend(FORMAT.to_le_bytes());
    push_section(&mut out, &serde_json::to_vec(manifest).expect("a manifest always serialises"));
    push_section(&mut out, &model_bytes);
    push_section(&mut out, &heads_bytes);
    let sum = Sha256::digest(&out);
    out.extend(sum);
    out
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], WeightsError> {
        if self.0.len() < n {
            return Err(WeightsError::Truncated(what));
        }
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        Ok(a)
    }
    fn u32(&mut self, what: &'static str) -> Result<u32, WeightsError> {
        Ok(u32::from_le_bytes(self.take(4, what)?.try_into().expect("4 bytes")))
    }
    fn section(&mut self, what: &'static str) -> Result<&'a [u8], WeightsError> {
        let n = self.u32(what)? as usize;
        self.take(n, what)
    }
}

/// Read only the manifest, after checking magic, format and checksum.
pub fn read_manifest(bytes: &[u8]) -> Result<Manifest, WeightsError> {
    Ok(split(bytes)?.0)
}

fn split(bytes: &[u8]) -> Result<(Manifest, &[u8], &[u8]), WeightsError> {
    if bytes.len() < MAGIC.len() || &bytes[..MAGIC.len()] != MAGIC {
        return Err(WeightsError::NotLatentLab);
    }
    if bytes.len() < MAGIC.len() + 4 + 32 {
        return Err(WeightsError::Truncated("header"));
    }
    let (body, sum) = bytes.split_at(bytes.len() - 32);
    let mut r = Reader(&body[MAGIC.len()..]);
    let format = r.u32("format")?;
    if format != FORMAT {
        return Err(WeightsError::Format(format));
    }
    let manifest = r.section("manifest");
    let model = r.section("model");
    let heads = r.section("heads");
    // A short file fails the checksum too; say "cut short" when the sections run past the end.
    if Sha256::digest(body).as_slice() != sum {
        return Err(match (manifest, model, heads) {
            (Ok(_), Ok(_), Ok(_)) => WeightsError::Checksum,
            (Err(e), ..) | (_, Err(e), _) | (.., Err(e)) => e,
        });
    }
    let (manifest, model, heads) = (manifest?, model?, heads?);
    if !r.0.is_empty() {
        return Err(WeightsError::Checksum);
    }
    let manifest: Manifest = serde_json::from_slice(manifest).map_err(|e| WeightsError::Manifest(e.to_string()))?;
    if manifest.app != "latent-lab" {
        return Err(WeightsError::NotLatentLab);
    }
    manifest.model.validate().map_err(|e| WeightsError::Config(e.to_string()))?;
    Ok((manifest, model, heads))
}

/// Parse and check a bundle, building its model on `device`.
pub fn decode<B: Backend>(bytes: &[u8], device: &B::Device) -> Result<Bundle<B>, WeightsError> {
    let (manifest, model_bytes, heads_bytes) = split(bytes)?;
    let rec = Rec::default();
    let fresh = manifest.model.init::<B>(device);
    let expected = fresh.num_params();
    let record = rec.load(model_bytes.to_vec(), device).map_err(|e| WeightsError::Record(e.to_string()))?;
    let model = fresh.load_record(record);
    if model.num_params() != expected {
        return Err(WeightsError::Record(format!("{} parameters instead of {expected}", model.num_params())));
    }
    let heads = if heads_bytes.is_empty() {
        None
    } else {
        let fresh = Heads::<B>::new(manifest.model.latent, device);
        let expected = fresh.num_params();
        let record = rec.load(heads_bytes.to_vec(), device).map_err(|e| WeightsError::Record(e.to_string()))?;
        let heads = fresh.load_record(record);
        if heads.num_params() != expected {
            return Err(WeightsError::Record(format!(
                "heads have {} parameters instead of {expected}",
                heads.num_params()
            )));
        }
        Some(heads)
    };
    Ok(Bundle { manifest, model, heads })
}

impl<B: Backend> Bundle<B> {
    /// Check that the file holds the model the caller expects.
    pub fn check_matches(&self, expected: &ModelConfig) -> Result<(), WeightsError> {
        if &self.manifest.model == expected {
            Ok(())
        } else {
            Err(WeightsError::Mismatch { expected: describe(expected), found: describe(&self.manifest.model) })
        }
    }

    /// Serialise again.
    pub fn encode(&self) -> Vec<u8> {
        encode(&self.manifest, &self.model, self.heads.as_ref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::NdArray;

    type B = NdArray<f32>;

    fn sample() -> (Vec<u8>, LatentModel<B>, Heads<B>) {
        let device = Default::default();
        let cfg = ModelConfig::new().with_kind(ModelKind::Vae).with_latent(3);
        let model = cfg.init::<B>(&device);
        let heads = Heads::<B>::new(3, &device);
        (encode(&Manifest::new(cfg), &model, Some(&heads)), model, heads)
    }

    #[test]
    fn round_trip_gives_identical_outputs() {
        let device = Default::default();
        let (bytes, model, heads) = sample();
        let back = decode::<B>(&bytes, &device).unwrap();
        assert_eq!(back.manifest.model, model.config());
        let x = Tensor::<B, 4>::random([2, 1, 28, 28], burn::tensor::Distribution::Uniform(0.0, 1.0), &device);
        let a: Vec<f32> = model.reconstruct(x.clone()).into_data().to_vec().unwrap();
        let b: Vec<f32> = back.model.reconstruct(x).into_data().to_vec().unwrap();
        assert_eq!(a, b);
        let z = Tensor::<B, 2>::ones([2, 3], &device);
        let h1: Vec<f32> = heads.digit.forward(z.clone()).into_data().to_vec().unwrap();
        let h2: Vec<f32> = back.heads.unwrap().digit.forward(z).into_data().to_vec().unwrap();
        assert_eq!(h1, h2);
        assert_eq!(back.manifest.burn_version, BURN_VERSION);
    }

    #[test]
    fn foreign_truncated_and_corrupt_files_are_errors() {
        let device = Default::default();
        let (bytes, ..) = sample();
        assert_eq!(decode::<B>(b"PK\x03\x04 a zip file", &device).unwrap_err(), WeightsError::NotLatentLab);
        assert!(matches!(decode::<B>(&bytes[..bytes.len() / 2], &device).unwrap_err(), WeightsError::Truncated(_)));
        let mut flipped = bytes.clone();
        let mid = flipped.len() / 2;
        flipped[mid] ^= 0x55;
        assert_eq!(decode::<B>(&flipped, &device).unwrap_err(), WeightsError::Checksum);
        assert!(decode::<B>(&bytes[..10], &device).is_err());
    }

    #[test]
    fn mismatched_model_is_reported_in_words() {
        let device = Default::default();
        let (bytes, ..) = sample();
        let bundle = decode::<B>(&bytes, &device).unwrap();
        let err = bundle.check_matches(&ModelConfig::new()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "the file holds a VAE with latent size 3, but an AE with latent size 16 was expected"
        );
    }

    #[test]
    fn a_record_that_does_not_fit_its_manifest_is_rejected() {
        // Splice an AE-16 record under a manifest that claims latent 3, with a valid checksum.
        let device = Default::default();
        let big = ModelConfig::new().init::<B>(&device);
        let mut bytes = encode(&Manifest::new(ModelConfig::new().with_latent(3)), &big, None);
        bytes.truncate(bytes.len() - 32);
        let sum = Sha256::digest(&bytes);
        bytes.extend(sum);
        assert!(matches!(decode::<B>(&bytes, &device).unwrap_err(), WeightsError::Record(_)));
    }
}
