//! Exact `O(N^2 d)` summation of the velocity field with the scaled kernel
//! `w_ij = exp(beta(<x_i, x_j> - 1))` (values in `(0, 1]`).
//!
//! USA: `dx_i/dtau = P_{x_i}((1/N) sum_j w_ij x_j)`; SA: `dx_i/dt = P_{x_i}(sum_j w_ij x_j / sum_j w_ij)`.
//! Every output row is its own sequential sum over `j` (eight interleaved partial sums combined
//! in a fixed order), so the result is bit-for-bit independent of the number of threads. The
//! coordinates are transposed to columns once per call so the inner loop streams contiguous
//! memory and vectorises (AVX2 with fused multiply-add when the processor has them; see
//! [`super::fastexp::madd`]).

// Index loops over fixed-width lanes are written out so that they vectorise.
#![allow(clippy::needless_range_loop)]

use super::fastexp::{exp_nonpositive_fma, has_avx2_fma, madd};
use super::velocity::VelocityField;
use crate::Model;
use rayon::prelude::*;

const LANES: usize = 8;
const ROWS_PER_TASK: usize = 64;

/// Exact pairwise summation (any `d >= 2`).
#[derive(Clone, Debug)]
pub struct ExactField {
    /// Ambient dimension `d`.
    pub dim: usize,
    /// Inverse temperature `beta`.
    pub beta: f64,
    /// USA or SA.
    pub model: Model,
}

impl ExactField {
    /// Exact summation for tokens on `S^{dim-1}`.
    pub fn new(dim: usize, beta: f64, model: Model) -> Self {
        ExactField { dim, beta, model }
    }
}

/// Sum over `j` of `w_ij x_j` (into `acc`) and of `w_ij` (returned), for token `xi`.
#[inline(always)]
fn row_sums_generic<const D: usize, const FMA: bool>(
    xi: &[f64],
    cols: &[&[f64]],
    beta: f64,
    acc: &mut [f64],
) -> f64 {
    let n = cols[0].len();
    let blocks = n / LANES;
    let mut xs = [0.0; D];
    xs.copy_from_slice(&xi[..D]);
    let mut cs: [&[f64]; D] = [&[]; D];
    for k in 0..D {
        cs[k] = &cols[k][..n];
    }
    let mut lane_acc = [[0.0f64; LANES]; D];
    let mut lane_w = [0.0f64; LANES];
    for b in 0..blocks {
        let j0 = b * LANES;
        let mut dot = [0.0f64; LANES];
        for k in 0..D {
            let c: &[f64; LANES] = cs[k][j0..j0 + LANES].try_into().unwrap();
            for l in 0..LANES {
                dot[l] = madd::<FMA>(xs[k], c[l], dot[l]);
            }
        }
        let mut w = [0.0f64; LANES];
        for l in 0..LANES {
            w[l] = exp_nonpositive_fma::<FMA>(beta * (dot[l] - 1.0));
        }
        for k in 0..D {
            let c: &[f64; LANES] = cs[k][j0..j0 + LANES].try_into().unwrap();
            for l in 0..LANES {
                lane_acc[k][l] = madd::<FMA>(w[l], c[l], lane_acc[k][l]);
            }
        }
        for l in 0..LANES {
            lane_w[l] += w[l];
        }
    }
    let mut tail_acc = [0.0f64; D];
    let mut tail_w = 0.0;
    for j in blocks * LANES..n {
        let mut dot = 0.0;
        for k in 0..D {
            dot = madd::<FMA>(xs[k], cs[k][j], dot);
        }
        let w = exp_nonpositive_fma::<FMA>(beta * (dot - 1.0));
        for k in 0..D {
            tail_acc[k] = madd::<FMA>(w, cs[k][j], tail_acc[k]);
        }
        tail_w += w;
    }
    for k in 0..D {
        let mut s = 0.0;
        for l in 0..LANES {
            s += lane_acc[k][l];
        }
        acc[k] = s + tail_acc[k];
    }
    let mut sw = 0.0;
    for l in 0..LANES {
        sw += lane_w[l];
    }
    sw + tail_w
}

/// Same as [`row_sums_generic`] for a run-time dimension.
fn row_sums_dyn<const FMA: bool>(xi: &[f64], cols: &[&[f64]], beta: f64, acc: &mut [f64]) -> f64 {
    let d = xi.len();
    let n = cols[0].len();
    let blocks = n / LANES;
    let mut lane_acc = vec![[0.0f64; LANES]; d];
    let mut lane_w = [0.0f64; LANES];
    for b in 0..blocks {
        let j0 = b * LANES;
        let mut dot = [0.0f64; LANES];
        for k in 0..d {
            let c: &[f64; LANES] = cols[k][j0..j0 + LANES].try_into().unwrap();
            for l in 0..LANES {
                dot[l] = madd::<FMA>(xi[k], c[l], dot[l]);
            }
        }
        let mut w = [0.0f64; LANES];
        for l in 0..LANES {
            w[l] = exp_nonpositive_fma::<FMA>(beta * (dot[l] - 1.0));
        }
        for k in 0..d {
            let c: &[f64; LANES] = cols[k][j0..j0 + LANES].try_into().unwrap();
            for l in 0..LANES {
                lane_acc[k][l] = madd::<FMA>(w[l], c[l], lane_acc[k][l]);
            }
        }
        for l in 0..LANES {
            lane_w[l] += w[l];
        }
    }
    let mut tail_acc = vec![0.0f64; d];
    let mut tail_w = 0.0;
    for j in blocks * LANES..n {
        let mut dot = 0.0;
        for k in 0..d {
            dot = madd::<FMA>(xi[k], cols[k][j], dot);
        }
        let w = exp_nonpositive_fma::<FMA>(beta * (dot - 1.0));
        for k in 0..d {
            tail_acc[k] = madd::<FMA>(w, cols[k][j], tail_acc[k]);
        }
        tail_w += w;
    }
    for k in 0..d {
        let mut s = 0.0;
        for l in 0..LANES {
            s += lane_acc[k][l];
        }
        acc[k] = s + tail_acc[k];
    }
    let mut sw = 0.0;
    for l in 0..LANES {
        sw += lane_w[l];
    }
    sw + tail_w
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn row_sums_avx2<const D: usize>(xi: &[f64], cols: &[&[f64]], beta: f64, acc: &mut [f64]) -> f64 {
    row_sums_generic::<D, true>(xi, cols, beta, acc)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn row_sums_dyn_avx2(xi: &[f64], cols: &[&[f64]], beta: f64, acc: &mut [f64]) -> f64 {
    row_sums_dyn::<true>(xi, cols, beta, acc)
}

fn row_sums_plain<const D: usize>(xi: &[f64], cols: &[&[f64]], beta: f64, acc: &mut [f64]) -> f64 {
    row_sums_generic::<D, false>(xi, cols, beta, acc)
}

type RowSums = fn(&[f64], &[&[f64]], f64, &mut [f64]) -> f64;

fn select_kernel(dim: usize) -> RowSums {
    #[cfg(target_arch = "x86_64")]
    {
        if has_avx2_fma() {
            // SAFETY: the features were detected at run time.
            return match dim {
                2 => |a, b, c, d| unsafe { row_sums_avx2::<2>(a, b, c, d) },
                3 => |a, b, c, d| unsafe { row_sums_avx2::<3>(a, b, c, d) },
                4 => |a, b, c, d| unsafe { row_sums_avx2::<4>(a, b, c, d) },
                _ => |a, b, c, d| unsafe { row_sums_dyn_avx2(a, b, c, d) },
            };
        }
    }
    match dim {
        2 => row_sums_plain::<2>,
        3 => row_sums_plain::<3>,
        4 => row_sums_plain::<4>,
        _ => row_sums_dyn::<false>,
    }
}

/// Transpose row-major `N x d` coordinates into `d` columns of length `N`.
fn columns(x: &[f64], dim: usize) -> Vec<Vec<f64>> {
    let n = x.len() / dim;
    let mut cols = vec![vec![0.0; n]; dim];
    for (i, row) in x.chunks_exact(dim).enumerate() {
        for k in 0..dim {
            cols[k][i] = row[k];
        }
    }
    cols
}

impl VelocityField for ExactField {
    fn dim(&self) -> usize {
        self.dim
    }

    fn model(&self) -> Model {
        self.model
    }

    fn beta(&self) -> f64 {
        self.beta
    }

    fn description(&self) -> String {
        "exact pairwise summation".into()
    }

    fn evaluate(&self, x: &[f64], v: &mut [f64]) -> f64 {
        let d = self.dim;
        let n = x.len() / d;
        let cols = columns(x, d);
        let col_refs: Vec<&[f64]> = cols.iter().map(|c| c.as_slice()).collect();
        let kernel = select_kernel(d);
        let beta = self.beta;
        let model = self.model;
        let mut weight_sums = vec![0.0; n];
        v.par_chunks_mut(d * ROWS_PER_TASK)
            .zip(weight_sums.par_chunks_mut(ROWS_PER_TASK))
            .enumerate()
            .for_each(|(task, (vrows, wrows))| {
                let mut acc = vec![0.0; d];
                for (r, (vi, wi)) in vrows.chunks_exact_mut(d).zip(wrows.iter_mut()).enumerate() {
                    let i = task * ROWS_PER_TASK + r;
                    let xi = &x[i * d..(i + 1) * d];
                    let sw = kernel(xi, &col_refs, beta, &mut acc);
                    *wi = sw;
                    let scale = match model {
                        Model::Usa => 1.0 / n as f64,
                        Model::Sa => 1.0 / sw,
                    };
                    let mut radial = 0.0;
                    for k in 0..d {
                        acc[k] *= scale;
                        radial += acc[k] * xi[k];
                    }
                    for k in 0..d {
                        vi[k] = acc[k] - radial * xi[k];
                    }
                }
            });
        let total: f64 = weight_sums.iter().sum();
        total / (n as f64 * n as f64)
    }
}
