//! Two-component PCA for the latent scatter (power iteration with deflation; no linear-algebra crate).

/// A fitted 2-D projection.
#[derive(Clone, Debug, PartialEq)]
pub struct Pca2 {
    /// Mean of the fitted rows.
    pub mean: Vec<f32>,
    /// Two unit-length principal axes.
    pub axes: [Vec<f32>; 2],
}

impl Pca2 {
    /// Fit on `rows` (`n * dim` values). With `dim == 2` the axes are the identity (native axes).
    pub fn fit(rows: &[f32], dim: usize) -> Self {
        let n = rows.len() / dim.max(1);
        let mut mean = vec![0.0f32; dim];
        for r in rows.chunks(dim) {
            mean.iter_mut().zip(r).for_each(|(m, v)| *m += v / n.max(1) as f32);
        }
        if dim == 2 {
            return Self { mean: vec![0.0; 2], axes: [vec![1.0, 0.0], vec![0.0, 1.0]] };
        }
        let mut cov = vec![0.0f64; dim * dim];
        for r in rows.chunks(dim) {
            for i in 0..dim {
                let a = f64::from(r[i] - mean[i]);
                for j in 0..dim {
                    cov[i * dim + j] += a * f64::from(r[j] - mean[j]);
                }
            }
        }
        let mut axes: [Vec<f32>; 2] = [Vec::new(), Vec::new()];
        for axis in &mut axes {
            let mut v: Vec<f64> = (0..dim).map(|i| 1.0 + i as f64 * 0.01).collect();
            let mut lambda = 0.0;
            for _ in 0..200 {
                let w: Vec<f64> = (0..dim).map(|i| (0..dim).map(|j| cov[i * dim + j] * v[j]).sum()).collect();
                let norm = w.iter().map(|x| x * x).sum::<f64>().sqrt();
                if norm == 0.0 {
                    break;
                }
                lambda = norm;
                v = w.into_iter().map(|x| x / norm).collect();
            }
            // Deflate so the next axis is orthogonal.
            for i in 0..dim {
                for j in 0..dim {
                    cov[i * dim + j] -= lambda * v[i] * v[j];
                }
            }
            *axis = v.into_iter().map(|x| x as f32).collect();
        }
        Self { mean, axes }
    }

    /// Project one row to 2-D.
    pub fn project(&self, row: &[f32]) -> [f32; 2] {
        let d = |a: &Vec<f32>| row.iter().zip(&self.mean).zip(a).map(|((x, m), w)| (x - m) * w).sum();
        [d(&self.axes[0]), d(&self.axes[1])]
    }

    /// Map a 2-D point back to the latent space (for decoding a clicked point).
    pub fn unproject(&self, p: [f32; 2]) -> Vec<f32> {
        (0..self.mean.len()).map(|i| self.mean[i] + p[0] * self.axes[0][i] + p[1] * self.axes[1][i]).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::SplitMix64;

    #[test]
    fn finds_the_directions_of_largest_variance() {
        // Points spread 10x along (1,1,0,0)/sqrt2, 3x along (0,0,1,0), little elsewhere.
        let mut r = SplitMix64::new(2);
        let mut rows = Vec::new();
        for _ in 0..2000 {
            let z = r.normals(4);
            let (a, b) = (10.0 * z[0], 3.0 * z[1]);
            rows.extend([a / 2f32.sqrt() + 0.1 * z[2], a / 2f32.sqrt(), b, 0.1 * z[3]]);
        }
        let p = Pca2::fit(&rows, 4);
        assert!((p.axes[0][0].abs() - 0.707).abs() < 0.02 && (p.axes[0][1].abs() - 0.707).abs() < 0.02, "{p:?}");
        assert!(p.axes[1][2].abs() > 0.99, "{p:?}");
        let back = p.unproject(p.project(&rows[..4]));
        assert!((back[2] - rows[2]).abs() < 0.01);
    }

    #[test]
    fn two_dims_keep_native_axes() {
        let p = Pca2::fit(&[1.0, 2.0, 3.0, 5.0], 2);
        assert_eq!(p.project(&[3.0, 5.0]), [3.0, 5.0]);
    }
}
