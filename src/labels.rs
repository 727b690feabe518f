//! Labels for the heads, from the real digit labels and pixels (fixing the article's defects 1 and 2).

use serde::{Deserialize, Serialize};

use crate::data::Mnist;

/// The article's curvature threshold: ink sum (pixels in [0, 1]) above `0.4 * 784`.
/// Almost no MNIST digit has that much ink, so the label is nearly constant (SPEC.md, defect 2).
pub const ARTICLE_CURVATURE_THRESHOLD: f32 = 0.4 * 784.0;

/// `1.0` for an odd digit, `0.0` for an even one (`digit % 2`, not the article's sample index).
pub fn odd_even(digit: u8) -> f32 {
    f32::from(digit % 2)
}

/// Total ink of an image: the sum of its pixels scaled to [0, 1].
pub fn ink(pixels: &[u8]) -> f32 {
    pixels.iter().map(|&p| f32::from(p)).sum::<f32>() / 255.0
}

/// How the curvature threshold is chosen.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "preset", content = "value")]
pub enum CurvaturePreset {
    /// The training-set median ink, so the two classes are balanced (the default).
    TrainMedian,
    /// The article's `0.4 * 784`: nearly every digit is "sharp".
    Article,
    /// A threshold chosen by the user.
    Custom(f32),
}

impl CurvaturePreset {
    /// The threshold this preset gives on `train`.
    pub fn threshold(self, train: &Mnist) -> f32 {
        match self {
            Self::TrainMedian => median_ink(train),
            Self::Article => ARTICLE_CURVATURE_THRESHOLD,
            Self::Custom(t) => t,
        }
    }
}

/// Median ink over a set: half the digits have more, half less.
pub fn median_ink(set: &Mnist) -> f32 {
    let mut inks: Vec<f32> = (0..set.len()).map(|i| ink(set.image(i))).collect();
    inks.sort_by(f32::total_cmp);
    let n = inks.len();
    if n % 2 == 1 {
        inks[n / 2]
    } else {
        0.5 * (inks[n / 2 - 1] + inks[n / 2])
    }
}

/// Curvature label: `1` ("rounded", more ink than the threshold) or `0` ("sharp").
pub fn curvature(pixels: &[u8], threshold: f32) -> u8 {
    u8::from(ink(pixels) > threshold)
}

/// The three label vectors for every image of a set.
#[derive(Clone, Debug)]
pub struct HeadLabels {
    /// `digit % 2` as 0.0/1.0.
    pub odd: Vec<f32>,
    /// 0 sharp / 1 rounded.
    pub rounded: Vec<u8>,
    /// The digit.
    pub digit: Vec<u8>,
}

impl HeadLabels {
    /// Labels of `set` with the given curvature threshold.
    pub fn new(set: &Mnist, threshold: f32) -> Self {
        Self {
            odd: set.labels.iter().map(|&d| odd_even(d)).collect(),
            rounded: (0..set.len()).map(|i| curvature(set.image(i), threshold)).collect(),
            digit: set.labels.clone(),
        }
    }

    /// Fraction of "rounded" labels.
    pub fn rounded_fraction(&self) -> f64 {
        self.rounded.iter().map(|&r| f64::from(r)).sum::<f64>() / self.rounded.len().max(1) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::PIXELS;

    fn set_with_inks(inks: &[u8]) -> Mnist {
        // Image i has `inks[i]` pixels at full ink.
        let mut pixels = Vec::new();
        for &k in inks {
            pixels.extend((0..PIXELS).map(|p| if p < k as usize { 255 } else { 0 }));
        }
        Mnist { pixels, labels: (0..inks.len()).map(|i| (i % 10) as u8).collect() }
    }

    #[test]
    fn odd_even_comes_from_the_digit_not_the_index() {
        let labels: Vec<f32> = [0u8, 1, 2, 3, 7, 8, 9].iter().map(|&d| odd_even(d)).collect();
        assert_eq!(labels, vec![0.0, 1.0, 0.0, 1.0, 1.0, 0.0, 1.0]);
    }

    #[test]
    fn median_threshold_balances_the_classes() {
        let set = set_with_inks(&[10, 50, 20, 90, 40, 70]);
        let t = CurvaturePreset::TrainMedian.threshold(&set);
        assert_eq!(t, 45.0);
        let l = HeadLabels::new(&set, t);
        assert_eq!(l.rounded, vec![0, 1, 0, 1, 0, 1]);
        assert_eq!(l.rounded_fraction(), 0.5);
    }

    #[test]
    fn article_threshold_labels_real_mnist_almost_all_sharp() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/mnist");
        let read = |f| std::fs::read(dir.join(f)).expect("assets/mnist ships the test set");
        let test = Mnist::from_gz(&read("t10k-images-idx3-ubyte.gz"), &read("t10k-labels-idx1-ubyte.gz")).unwrap();
        let article = HeadLabels::new(&test, CurvaturePreset::Article.threshold(&test));
        assert!(article.rounded_fraction() < 0.001, "{}", article.rounded_fraction());
        let median = HeadLabels::new(&test, median_ink(&test));
        assert!((median.rounded_fraction() - 0.5).abs() < 0.01);
    }
}
