//! MNIST-style preprocessing of a drawing: crop to the ink, scale to fit 20x20 keeping the
//! aspect ratio (area-averaged, so anti-aliased), then centre by centre of mass in 28x28 —
//! what LeCun et al. did to the original NIST digits.

use crate::data::{PIXELS, SIDE};

/// Size of the box the ink is scaled into.
const FIT: usize = 20;

/// Turn an ink map (`w * h` values in [0, 1], row-major) into a 28x28 MNIST-like image in [0, 1].
/// An empty drawing gives an empty image.
pub fn to_mnist(ink: &[f32], w: usize, h: usize) -> Vec<f32> {
    assert_eq!(ink.len(), w * h, "ink map must be w * h");
    let mut out = vec![0.0f32; PIXELS];
    let (mut x0, mut y0, mut x1, mut y1) = (usize::MAX, usize::MAX, 0, 0);
    for y in 0..h {
        for x in 0..w {
            if ink[y * w + x] > 0.05 {
                x0 = x0.min(x);
                y0 = y0.min(y);
                x1 = x1.max(x);
                y1 = y1.max(y);
            }
        }
    }
    if x0 == usize::MAX {
        return out;
    }
    let (bw, bh) = ((x1 - x0 + 1) as f32, (y1 - y0 + 1) as f32);
    let scale = FIT as f32 / bw.max(bh);
    let (sw, sh) = (((bw * scale).round() as usize).max(1), ((bh * scale).round() as usize).max(1));
    // Area-average each target pixel over its source rectangle.
    let mut small = vec![0.0f32; sw * sh];
    for ty in 0..sh {
        let sy0 = y0 as f32 + ty as f32 / scale;
        let sy1 = (y0 as f32 + (ty + 1) as f32 / scale).min((y1 + 1) as f32);
        for tx in 0..sw {
            let sx0 = x0 as f32 + tx as f32 / scale;
            let sx1 = (x0 as f32 + (tx + 1) as f32 / scale).min((x1 + 1) as f32);
            let (mut acc, mut area) = (0.0f32, 0.0f32);
            let mut y = sy0.floor() as usize;
            while (y as f32) < sy1 && y < h {
                let oy = (sy1.min((y + 1) as f32) - sy0.max(y as f32)).max(0.0);
                let mut x = sx0.floor() as usize;
                while (x as f32) < sx1 && x < w {
                    let ox = (sx1.min((x + 1) as f32) - sx0.max(x as f32)).max(0.0);
                    acc += ink[y * w + x] * ox * oy;
                    area += ox * oy;
                    x += 1;
                }
                y += 1;
            }
            small[ty * sw + tx] = if area > 0.0 { acc / area } else { 0.0 };
        }
    }
    // Centre of mass of the scaled ink goes to the centre of the 28x28 field.
    let (mut m, mut mx, mut my) = (0.0f32, 0.0f32, 0.0f32);
    for y in 0..sh {
        for x in 0..sw {
            let v = small[y * sw + x];
            m += v;
            mx += v * (x as f32 + 0.5);
            my += v * (y as f32 + 0.5);
        }
    }
    let (cx, cy) = if m > 0.0 { (mx / m, my / m) } else { (sw as f32 / 2.0, sh as f32 / 2.0) };
    let ox = (SIDE as f32 / 2.0 - cx).round() as isize;
    let oy = (SIDE as f32 / 2.0 - cy).round() as isize;
    for y in 0..sh {
        for x in 0..sw {
            let (tx, ty) = (x as isize + ox, y as isize + oy);
            if (0..SIDE as isize).contains(&tx) && (0..SIDE as isize).contains(&ty) {
                out[ty as usize * SIDE + tx as usize] = small[y * sw + x].clamp(0.0, 1.0);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bar(w: usize, h: usize, x0: usize, x1: usize, y0: usize, y1: usize) -> Vec<f32> {
        let mut v = vec![0.0; w * h];
        for y in y0..y1 {
            for x in x0..x1 {
                v[y * w + x] = 1.0;
            }
        }
        v
    }

    #[test]
    fn empty_drawing_is_empty() {
        assert!(to_mnist(&vec![0.0; 280 * 280], 280, 280).iter().all(|&p| p == 0.0));
    }

    #[test]
    fn a_tall_stroke_fills_20_rows_and_is_centred() {
        // A vertical bar in the top-left corner of a 280x280 canvas.
        let img = to_mnist(&bar(280, 280, 10, 40, 5, 205), 280, 280);
        let rows: Vec<usize> = (0..28).filter(|&y| (0..28).any(|x| img[y * 28 + x] > 0.5)).collect();
        assert_eq!(rows.len(), 20, "{rows:?}");
        assert_eq!(rows[0], 4);
        let cols: Vec<usize> = (0..28).filter(|&x| (0..28).any(|y| img[y * 28 + x] > 0.5)).collect();
        let mid = (cols[0] + cols[cols.len() - 1]) as f32 / 2.0;
        assert!((mid - 13.5).abs() <= 1.0, "{cols:?}");
        // Keeps the aspect ratio: 30 wide x 200 tall gives 3 columns, not 20.
        assert!(cols.len() <= 4, "{cols:?}");
    }

    #[test]
    fn scaling_down_anti_aliases() {
        // A diagonal band: the cells along its edges are partly inked, so they come out grey.
        let band: Vec<f32> =
            (0..280 * 280usize).map(|i| if (i % 280).abs_diff(i / 280) < 10 { 1.0 } else { 0.0 }).collect();
        let img = to_mnist(&band, 280, 280);
        assert!(img.iter().any(|&p| p > 0.0 && p < 1.0), "expected grey edge pixels");
    }
}
