//! MNIST in gzip IDX form: parsing with checked headers, and batching into tensors.
//!
//! The IDX format (LeCun & Cortes): a big-endian magic `0x0000_08NN` where `08` means unsigned
//! bytes and `NN` the number of dimensions, then one big-endian `u32` per dimension, then the data.

use std::io::Read;

use burn::tensor::{backend::Backend, Tensor, TensorData};
use flate2::read::GzDecoder;
use sha2::{Digest, Sha256};

/// Side of an MNIST image in pixels.
pub const SIDE: usize = 28;
/// Pixels in one MNIST image.
pub const PIXELS: usize = SIDE * SIDE;

const MAGIC_IMAGES: u32 = 0x0000_0803;
const MAGIC_LABELS: u32 = 0x0000_0801;
/// Refuse to inflate more than this (the real training images are 47 MB).
const MAX_INFLATED: u64 = 64 * 1024 * 1024;

/// Everything that can be wrong with an MNIST file, each with a sentence a user understands.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MnistError {
    #[error("{name}: the file is not valid gzip or is cut short ({detail}); replace it with the original MNIST file")]
    Gzip { name: String, detail: String },
    #[error("{name}: the file is too short to hold an IDX header ({len} bytes)")]
    TooShort { name: String, len: usize },
    #[error("{name}: wrong magic number 0x{found:08x}, expected 0x{expected:08x}; this is not an MNIST {what} file")]
    WrongMagic { name: String, found: u32, expected: u32, what: &'static str },
    #[error("{name}: images are {rows}x{cols}, but Latent Lab needs 28x28 MNIST images")]
    WrongSize { name: String, rows: usize, cols: usize },
    #[error(
        "{name}: the header promises {expected} bytes of data but the file holds {found}; it is truncated or padded"
    )]
    WrongLength { name: String, expected: usize, found: usize },
    #[error("{count_images} images but {count_labels} labels: the image and label files do not belong together")]
    CountMismatch { count_images: usize, count_labels: usize },
    #[error("{name}: label {label} at index {index} is not a digit 0-9")]
    BadLabel { name: String, index: usize, label: u8 },
    #[error("{name}: the file holds no examples")]
    Empty { name: String },
}

/// A set of MNIST digits: raw `u8` pixels (row-major, 784 per image) and their labels.
#[derive(Clone, Debug)]
pub struct Mnist {
    /// `len * 784` pixels, 0 = background, 255 = ink.
    pub pixels: Vec<u8>,
    /// One digit 0-9 per image.
    pub labels: Vec<u8>,
}

/// Inflate a gzip stream, bounded so a hostile file cannot exhaust memory.
pub fn gunzip(name: &str, bytes: &[u8]) -> Result<Vec<u8>, MnistError> {
    let mut out = Vec::new();
    GzDecoder::new(bytes)
        .take(MAX_INFLATED)
        .read_to_end(&mut out)
        .map_err(|e| MnistError::Gzip { name: name.into(), detail: e.to_string() })?;
    Ok(out)
}

fn be_u32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// Parse an (already inflated) IDX image file; returns the pixels and the image count.
pub fn parse_images(name: &str, raw: &[u8]) -> Result<(Vec<u8>, usize), MnistError> {
    if raw.len() < 16 {
        return Err(MnistError::TooShort { name: name.into(), len: raw.len() });
    }
    let magic = be_u32(raw, 0);
    if magic != MAGIC_IMAGES {
        return Err(MnistError::WrongMagic { name: name.into(), found: magic, expected: MAGIC_IMAGES, what: "image" });
    }
    let count = be_u32(raw, 4) as usize;
    let (rows, cols) = (be_u32(raw, 8) as usize, be_u32(raw, 12) as usize);
    if rows != SIDE || cols != SIDE {
        return Err(MnistError::WrongSize { name: name.into(), rows, cols });
    }
    if count == 0 {
        return Err(MnistError::Empty { name: name.into() });
    }
    let expected = count * PIXELS;
    let found = raw.len() - 16;
    if found != expected {
        return Err(MnistError::WrongLength { name: name.into(), expected, found });
    }
    Ok((raw[16..].to_vec(), count))
}

/// Parse an (already inflated) IDX label file.
pub fn parse_labels(name: &str, raw: &[u8]) -> Result<Vec<u8>, MnistError> {
    if raw.len() < 8 {
        return Err(MnistError::TooShort { name: name.into(), len: raw.len() });
    }
    let magic = be_u32(raw, 0);
    if magic != MAGIC_LABELS {
        return Err(MnistError::WrongMagic { name: name.into(), found: magic, expected: MAGIC_LABELS, what: "label" });
    }
    let count = be_u32(raw, 4) as usize;
    if count == 0 {
        return Err(MnistError::Empty { name: name.into() });
    }
    let found = raw.len() - 8;
    if found != count {
        return Err(MnistError::WrongLength { name: name.into(), expected: count, found });
    }
    let labels = raw[8..].to_vec();
    if let Some((index, &label)) = labels.iter().enumerate().find(|(_, &l)| l > 9) {
        return Err(MnistError::BadLabel { name: name.into(), index, label });
    }
    Ok(labels)
}

impl Mnist {
    /// Build a set from gzip IDX image and label files (as shipped in `assets/mnist/`).
    pub fn from_gz(images_gz: &[u8], labels_gz: &[u8]) -> Result<Self, MnistError> {
        let (pixels, count_images) = parse_images("images", &gunzip("images", images_gz)?)?;
        let labels = parse_labels("labels", &gunzip("labels", labels_gz)?)?;
        if labels.len() != count_images {
            return Err(MnistError::CountMismatch { count_images, count_labels: labels.len() });
        }
        Ok(Self { pixels, labels })
    }

    /// Number of images.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether the set is empty (never true for a parsed set).
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// The raw pixels of image `i`.
    pub fn image(&self, i: usize) -> &[u8] {
        &self.pixels[i * PIXELS..(i + 1) * PIXELS]
    }

    /// The first `n` examples (all if `n` is larger).
    pub fn take(&self, n: usize) -> Self {
        self.range(0..n)
    }

    /// The examples in `r`, clipped to the set.
    pub fn range(&self, r: std::ops::Range<usize>) -> Self {
        let end = r.end.min(self.len());
        let start = r.start.min(end);
        Self { pixels: self.pixels[start * PIXELS..end * PIXELS].to_vec(), labels: self.labels[start..end].to_vec() }
    }

    /// Pixels of the images at `indices`, scaled to [0, 1], as a `[n, 1, 28, 28]` tensor.
    pub fn batch<B: Backend>(&self, indices: &[usize], device: &B::Device) -> Tensor<B, 4> {
        Tensor::from_data(TensorData::new(self.batch_f32(indices), [indices.len(), 1, SIDE, SIDE]), device)
    }

    /// Pixels of the images at `indices`, scaled to [0, 1], flattened.
    pub fn batch_f32(&self, indices: &[usize]) -> Vec<f32> {
        let mut out = Vec::with_capacity(indices.len() * PIXELS);
        for &i in indices {
            out.extend(self.image(i).iter().map(|&p| f32::from(p) / 255.0));
        }
        out
    }
}

/// Lower-case hex SHA-256 of some bytes (for manifests and `SHA256SUMS` checks).
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// The training and test sets together.
#[derive(Clone, Debug)]
pub struct MnistSplits {
    /// 60,000 training digits.
    pub train: Mnist,
    /// 10,000 test digits.
    pub test: Mnist,
    /// SHA-256 of the gzip training-image file, recorded in weight manifests.
    pub train_images_sha256: String,
}

/// File names of the four MNIST files, as in `assets/mnist/` and `SHA256SUMS`.
pub const FILES: [&str; 4] = [
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
];

impl MnistSplits {
    /// Parse the four gzip files, in the order of [`FILES`].
    pub fn from_gz(
        train_images: &[u8],
        train_labels: &[u8],
        test_images: &[u8],
        test_labels: &[u8],
    ) -> Result<Self, MnistError> {
        Ok(Self {
            train: Mnist::from_gz(train_images, train_labels)?,
            test: Mnist::from_gz(test_images, test_labels)?,
            train_images_sha256: sha256_hex(train_images),
        })
    }

    /// Read the four files from a folder (native only).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn from_dir(dir: &std::path::Path) -> Result<Self, DataDirError> {
        let read = |f: &str| {
            let path = dir.join(f);
            std::fs::read(&path).map_err(|e| DataDirError::Io(format!("cannot read {}: {e}", path.display())))
        };
        let [a, b, c, d] = FILES.map(read);
        Ok(Self::from_gz(&a?, &b?, &c?, &d?)?)
    }
}

/// An MNIST folder that cannot be read or parsed.
#[derive(Debug, thiserror::Error)]
pub enum DataDirError {
    #[error("{0}")]
    Io(String),
    #[error(transparent)]
    Mnist(#[from] MnistError),
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::{write::GzEncoder, Compression};
    use std::io::Write;

    fn gz(bytes: &[u8]) -> Vec<u8> {
        let mut e = GzEncoder::new(Vec::new(), Compression::fast());
        e.write_all(bytes).unwrap();
        e.finish().unwrap()
    }

    fn idx_images(count: u32, rows: u32, cols: u32, data_len: usize) -> Vec<u8> {
        let mut v = Vec::new();
        for x in [MAGIC_IMAGES, count, rows, cols] {
            v.extend(x.to_be_bytes());
        }
        v.extend((0..data_len).map(|i| (i % 251) as u8));
        v
    }

    fn idx_labels(labels: &[u8]) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend(MAGIC_LABELS.to_be_bytes());
        v.extend((labels.len() as u32).to_be_bytes());
        v.extend(labels);
        v
    }

    #[test]
    fn parses_a_valid_pair_and_scales_to_unit_range() {
        let set = Mnist::from_gz(&gz(&idx_images(3, 28, 28, 3 * PIXELS)), &gz(&idx_labels(&[7, 0, 9]))).unwrap();
        assert_eq!(set.len(), 3);
        assert_eq!(set.labels, vec![7, 0, 9]);
        let px = set.batch_f32(&[2, 0]);
        assert_eq!(px.len(), 2 * PIXELS);
        assert!(px.iter().all(|&p| (0.0..=1.0).contains(&p)));
        assert_eq!(px[PIXELS], 0.0);
        assert_eq!(px[PIXELS + 250], 250.0 / 255.0);
    }

    #[test]
    fn range_and_take_pick_the_right_examples_and_clip() {
        let set = Mnist::from_gz(&gz(&idx_images(3, 28, 28, 3 * PIXELS)), &gz(&idx_labels(&[7, 0, 9]))).unwrap();
        let mid = set.range(1..3);
        assert_eq!(mid.labels, vec![0, 9]);
        assert_eq!(mid.image(0), set.image(1));
        assert_eq!(set.range(2..100).labels, vec![9]);
        assert!(set.range(5..9).is_empty());
        assert_eq!(set.take(2).labels, vec![7, 0]);
    }

    #[test]
    fn truncated_gzip_is_a_gzip_error() {
        let full = gz(&idx_images(2, 28, 28, 2 * PIXELS));
        let err = Mnist::from_gz(&full[..full.len() / 2], &gz(&idx_labels(&[1, 2]))).unwrap_err();
        assert!(matches!(err, MnistError::Gzip { .. }), "{err:?}");
        assert!(err.to_string().contains("cut short"));
    }

    #[test]
    fn wrong_magic_is_reported_with_both_numbers() {
        // A label file given where images are expected.
        let labels = gz(&idx_labels(&[1; 20]));
        let err = Mnist::from_gz(&labels, &labels).unwrap_err();
        assert!(matches!(err, MnistError::WrongMagic { found: 0x801, expected: 0x803, .. }), "{err:?}");
        assert!(err.to_string().contains("not an MNIST image file"));
    }

    #[test]
    fn wrong_image_size_is_rejected() {
        let err = parse_images("x", &idx_images(1, 32, 32, 32 * 32)).unwrap_err();
        assert_eq!(err, MnistError::WrongSize { name: "x".into(), rows: 32, cols: 32 });
    }

    #[test]
    fn truncated_payload_is_a_length_error() {
        let err = parse_images("x", &idx_images(2, 28, 28, PIXELS + 5)).unwrap_err();
        assert_eq!(err, MnistError::WrongLength { name: "x".into(), expected: 2 * PIXELS, found: PIXELS + 5 });
        let err = parse_images("x", &[0, 0, 8, 3]).unwrap_err();
        assert!(matches!(err, MnistError::TooShort { len: 4, .. }));
    }

    #[test]
    fn label_count_mismatch_is_rejected() {
        let err = Mnist::from_gz(&gz(&idx_images(3, 28, 28, 3 * PIXELS)), &gz(&idx_labels(&[1, 2]))).unwrap_err();
        assert_eq!(err, MnistError::CountMismatch { count_images: 3, count_labels: 2 });
        assert!(err.to_string().contains("do not belong together"));
    }

    #[test]
    fn labels_outside_digits_are_rejected() {
        let err = parse_labels("l", &idx_labels(&[3, 12])).unwrap_err();
        assert_eq!(err, MnistError::BadLabel { name: "l".into(), index: 1, label: 12 });
    }

    #[test]
    fn real_test_set_parses_when_present() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/mnist");
        let (Ok(i), Ok(l)) = (std::fs::read(dir.join(FILES[2])), std::fs::read(dir.join(FILES[3]))) else {
            panic!("assets/mnist must ship the MNIST test set");
        };
        let set = Mnist::from_gz(&i, &l).unwrap();
        assert_eq!(set.len(), 10_000);
        assert_eq!(set.labels[..5], [7, 2, 1, 0, 4]);
    }
}
