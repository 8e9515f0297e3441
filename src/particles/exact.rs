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

const LANES: usize = 4;
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

/// Explicit AVX2 + FMA version of [`row_sums_generic`] (4 lanes): lane for lane the same
/// operations as `exp_nonpositive_fma::<true>` and `madd::<true>`, so the scalar tail and the
/// vector body agree.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn row_sums_avx2<const D: usize>(xi: &[f64], cols: &[&[f64]], beta: f64, acc: &mut [f64]) -> f64 {
    use super::fastexp::exp_avx2;
    use std::arch::x86_64::*;
    let n = cols[0].len();
    let blocks = n / 4;
    let mut xs = [_mm256_setzero_pd(); D];
    let mut a = [_mm256_setzero_pd(); D];
    let mut cs: [&[f64]; D] = [&[]; D];
    for k in 0..D {
        xs[k] = _mm256_set1_pd(xi[k]);
        cs[k] = &cols[k][..n];
    }
    let mut aw = _mm256_setzero_pd();
    let vb = _mm256_set1_pd(beta);
    let one = _mm256_set1_pd(1.0);
    for b in 0..blocks {
        let j = 4 * b;
        let mut c = [_mm256_setzero_pd(); D];
        for k in 0..D {
            let chunk: &[f64; 4] = cs[k][j..j + 4].try_into().unwrap();
            // SAFETY: `chunk` holds 4 contiguous f64.
            c[k] = unsafe { _mm256_loadu_pd(chunk.as_ptr()) };
        }
        let mut dot = _mm256_fmadd_pd(xs[0], c[0], _mm256_setzero_pd());
        for k in 1..D {
            dot = _mm256_fmadd_pd(xs[k], c[k], dot);
        }
        let w = exp_avx2(_mm256_mul_pd(vb, _mm256_sub_pd(dot, one)));
        for k in 0..D {
            a[k] = _mm256_fmadd_pd(w, c[k], a[k]);
        }
        aw = _mm256_add_pd(aw, w);
    }
    let mut lanes = [0.0f64; 4];
    for k in 0..D {
        // SAFETY: `lanes` holds 4 f64.
        unsafe { _mm256_storeu_pd(lanes.as_mut_ptr(), a[k]) };
        acc[k] = ((lanes[0] + lanes[1]) + lanes[2]) + lanes[3];
    }
    // SAFETY: as above.
    unsafe { _mm256_storeu_pd(lanes.as_mut_ptr(), aw) };
    let mut sw = ((lanes[0] + lanes[1]) + lanes[2]) + lanes[3];
    for j in blocks * 4..n {
        let mut dot = 0.0;
        for k in 0..D {
            dot = madd::<true>(xi[k], cs[k][j], dot);
        }
        let w = exp_nonpositive_fma::<true>(beta * (dot - 1.0));
        for k in 0..D {
            acc[k] = madd::<true>(w, cs[k][j], acc[k]);
        }
        sw += w;
    }
    sw
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

/// Block size of the symmetric (tiled) exact summation.
const TILE: usize = 256;

/// End of one tile row: add the lane sums of the vector accumulators `a` (coordinates) and `aw`
/// (weights) to `out`, then the scalar tail `j = padded..nj` of the columns (and, when
/// `symmetric`, its contributions to the column tail sums `coltail`), in a fixed order.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[allow(clippy::too_many_arguments)]
fn finish_tile_row<const D: usize>(
    xi: &[f64],
    a: [std::arch::x86_64::__m256d; D],
    aw: std::arch::x86_64::__m256d,
    cs: &[&[f64]; D],
    padded: usize,
    beta: f64,
    out: &mut [f64],
    coltail: &mut [f64],
    symmetric: bool,
) {
    use std::arch::x86_64::*;
    let nj = cs[0].len();
    let mut lanes = [0.0f64; 4];
    for k in 0..D {
        // SAFETY: `lanes` holds 4 f64.
        unsafe { _mm256_storeu_pd(lanes.as_mut_ptr(), a[k]) };
        out[k] += ((lanes[0] + lanes[1]) + lanes[2]) + lanes[3];
    }
    // SAFETY: as above.
    unsafe { _mm256_storeu_pd(lanes.as_mut_ptr(), aw) };
    let mut sw = ((lanes[0] + lanes[1]) + lanes[2]) + lanes[3];
    let mut tail = [0.0f64; D];
    for j in padded..nj {
        let mut dot = 0.0;
        for k in 0..D {
            dot = madd::<true>(xi[k], cs[k][j], dot);
        }
        let w = exp_nonpositive_fma::<true>(beta * (dot - 1.0));
        for k in 0..D {
            tail[k] = madd::<true>(w, cs[k][j], tail[k]);
        }
        sw += w;
        if symmetric {
            let t = &mut coltail[(j - padded) * (D + 1)..(j - padded + 1) * (D + 1)];
            for k in 0..D {
                t[k] = madd::<true>(w, xi[k], t[k]);
            }
            t[D] += w;
        }
    }
    for k in 0..D {
        out[k] += tail[k];
    }
    out[D] += sw;
}

/// AVX2 + FMA tile kernel: for tokens `i` of block `I` (rows `xi_rows`) and `j` of block `J`
/// (columns `cols_j`), adds `sum_j w_ij x_j` and `sum_j w_ij` to `row_out[i]` (`D + 1` values)
/// and, when `symmetric`, `sum_i w_ij x_i` and `sum_i w_ij` to `col_out[j]`, each in a fixed
/// sequential order (lanes of 4 over `j` for the rows, `i` in order for the columns).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn tile_sums_avx2<const D: usize>(
    xi_rows: &[f64],
    cols_j: &[&[f64]],
    beta: f64,
    row_out: &mut [f64],
    col_out: &mut [f64],
    symmetric: bool,
) {
    use super::fastexp::exp_avx2;
    use std::arch::x86_64::*;
    let nj = cols_j[0].len();
    let blocks = nj / 4;
    let mut cs: [&[f64]; D] = [&[]; D];
    for k in 0..D {
        cs[k] = &cols_j[k][..nj];
    }
    // Column accumulators, one column per coordinate (+ weights), length rounded up to 4.
    let padded = blocks * 4;
    let mut colacc = vec![0.0f64; (D + 1) * padded];
    let mut coltail = vec![0.0f64; (D + 1) * (nj - padded)];
    let vb = _mm256_set1_pd(beta);
    let one = _mm256_set1_pd(1.0);
    // Rows in pairs: one load/store of the column accumulators serves two rows. The column
    // updates stay in row order (row r, then row r + 1), so the sums are bit-identical to the
    // one-row loop below, which handles a last odd row.
    let nrows = xi_rows.len() / D;
    let pairs = nrows / 2;
    for pr in 0..pairs {
        let (r0, r1) = (2 * pr, 2 * pr + 1);
        let x0 = &xi_rows[r0 * D..(r0 + 1) * D];
        let x1 = &xi_rows[r1 * D..(r1 + 1) * D];
        let mut xs0 = [_mm256_setzero_pd(); D];
        let mut xs1 = [_mm256_setzero_pd(); D];
        for k in 0..D {
            xs0[k] = _mm256_set1_pd(x0[k]);
            xs1[k] = _mm256_set1_pd(x1[k]);
        }
        let mut a0 = [_mm256_setzero_pd(); D];
        let mut a1 = [_mm256_setzero_pd(); D];
        let (mut aw0, mut aw1) = (_mm256_setzero_pd(), _mm256_setzero_pd());
        for b in 0..blocks {
            let j = 4 * b;
            let mut c = [_mm256_setzero_pd(); D];
            for k in 0..D {
                let chunk: &[f64; 4] = cs[k][j..j + 4].try_into().unwrap();
                // SAFETY: `chunk` holds 4 contiguous f64.
                c[k] = unsafe { _mm256_loadu_pd(chunk.as_ptr()) };
            }
            let mut dot0 = _mm256_fmadd_pd(xs0[0], c[0], _mm256_setzero_pd());
            let mut dot1 = _mm256_fmadd_pd(xs1[0], c[0], _mm256_setzero_pd());
            for k in 1..D {
                dot0 = _mm256_fmadd_pd(xs0[k], c[k], dot0);
                dot1 = _mm256_fmadd_pd(xs1[k], c[k], dot1);
            }
            let w0 = exp_avx2(_mm256_mul_pd(vb, _mm256_sub_pd(dot0, one)));
            let w1 = exp_avx2(_mm256_mul_pd(vb, _mm256_sub_pd(dot1, one)));
            for k in 0..D {
                a0[k] = _mm256_fmadd_pd(w0, c[k], a0[k]);
                a1[k] = _mm256_fmadd_pd(w1, c[k], a1[k]);
            }
            aw0 = _mm256_add_pd(aw0, w0);
            aw1 = _mm256_add_pd(aw1, w1);
            if symmetric {
                for k in 0..=D {
                    let slot: &mut [f64; 4] = (&mut colacc[k * padded + j..k * padded + j + 4])
                        .try_into()
                        .unwrap();
                    // SAFETY: `slot` holds 4 contiguous f64.
                    unsafe {
                        let cur = _mm256_loadu_pd(slot.as_ptr());
                        let upd = if k < D {
                            _mm256_fmadd_pd(w1, xs1[k], _mm256_fmadd_pd(w0, xs0[k], cur))
                        } else {
                            _mm256_add_pd(_mm256_add_pd(cur, w0), w1)
                        };
                        _mm256_storeu_pd(slot.as_mut_ptr(), upd);
                    }
                }
            }
        }
        for (r, xi, a, aw) in [(r0, x0, a0, aw0), (r1, x1, a1, aw1)] {
            let out = &mut row_out[r * (D + 1)..(r + 1) * (D + 1)];
            finish_tile_row::<D>(xi, a, aw, &cs, padded, beta, out, &mut coltail, symmetric);
        }
    }
    for (r, xi) in xi_rows.chunks_exact(D).enumerate().skip(2 * pairs) {
        let mut xs = [_mm256_setzero_pd(); D];
        for k in 0..D {
            xs[k] = _mm256_set1_pd(xi[k]);
        }
        let mut a = [_mm256_setzero_pd(); D];
        let mut aw = _mm256_setzero_pd();
        for b in 0..blocks {
            let j = 4 * b;
            let mut c = [_mm256_setzero_pd(); D];
            for k in 0..D {
                let chunk: &[f64; 4] = cs[k][j..j + 4].try_into().unwrap();
                // SAFETY: `chunk` holds 4 contiguous f64.
                c[k] = unsafe { _mm256_loadu_pd(chunk.as_ptr()) };
            }
            let mut dot = _mm256_fmadd_pd(xs[0], c[0], _mm256_setzero_pd());
            for k in 1..D {
                dot = _mm256_fmadd_pd(xs[k], c[k], dot);
            }
            let w = exp_avx2(_mm256_mul_pd(vb, _mm256_sub_pd(dot, one)));
            for k in 0..D {
                a[k] = _mm256_fmadd_pd(w, c[k], a[k]);
            }
            aw = _mm256_add_pd(aw, w);
            if symmetric {
                for k in 0..=D {
                    let slot: &mut [f64; 4] = (&mut colacc[k * padded + j..k * padded + j + 4])
                        .try_into()
                        .unwrap();
                    // SAFETY: `slot` holds 4 contiguous f64.
                    unsafe {
                        let cur = _mm256_loadu_pd(slot.as_ptr());
                        let upd = if k < D {
                            _mm256_fmadd_pd(w, xs[k], cur)
                        } else {
                            _mm256_add_pd(cur, w)
                        };
                        _mm256_storeu_pd(slot.as_mut_ptr(), upd);
                    }
                }
            }
        }
        let out = &mut row_out[r * (D + 1)..(r + 1) * (D + 1)];
        finish_tile_row::<D>(xi, a, aw, &cs, padded, beta, out, &mut coltail, symmetric);
    }
    if symmetric {
        for j in 0..padded {
            for k in 0..=D {
                col_out[j * (D + 1) + k] += colacc[k * padded + j];
            }
        }
        for j in padded..nj {
            for k in 0..=D {
                col_out[j * (D + 1) + k] += coltail[(j - padded) * (D + 1) + k];
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
type TileFn = fn(&[f64], &[&[f64]], f64, &mut [f64], &mut [f64], bool);

/// Symmetric tiled exact sums (AVX2 + FMA, `d <= 4`): each pair `w_ij = w_ji` is evaluated once.
/// Returns per-row `[sum_j w_ij x_j (d values), sum_j w_ij]`. The contribution of block `J`
/// to the rows of block `I` is stored separately and the blocks are added in the order
/// `J = 0, 1, ...`, so results do not depend on the thread count.
#[cfg(target_arch = "x86_64")]
fn symmetric_sums(x: &[f64], cols: &[Vec<f64>], dim: usize, beta: f64) -> Vec<f64> {
    let n = x.len() / dim;
    let nb = n.div_ceil(TILE);
    let w = dim + 1;
    // SAFETY (closures): only used after has_avx2_fma().
    let tile: TileFn = match dim {
        2 => |a, b, c, d, e, f| unsafe { tile_sums_avx2::<2>(a, b, c, d, e, f) },
        3 => |a, b, c, d, e, f| unsafe { tile_sums_avx2::<3>(a, b, c, d, e, f) },
        _ => |a, b, c, d, e, f| unsafe { tile_sums_avx2::<4>(a, b, c, d, e, f) },
    };
    let range = |b: usize| (b * TILE, ((b + 1) * TILE).min(n));
    let pairs: Vec<(usize, usize)> = (0..nb).flat_map(|i| (i..nb).map(move |j| (i, j))).collect();
    let parts: Vec<(Vec<f64>, Vec<f64>)> = pairs
        .par_iter()
        .map(|&(bi, bj)| {
            let (i0, i1) = range(bi);
            let (j0, j1) = range(bj);
            let colrefs: Vec<&[f64]> = cols.iter().map(|c| &c[j0..j1]).collect();
            let mut rows = vec![0.0; (i1 - i0) * w];
            let mut colsum = vec![0.0; if bi == bj { 0 } else { (j1 - j0) * w }];
            tile(
                &x[i0 * dim..i1 * dim],
                &colrefs,
                beta,
                &mut rows,
                &mut colsum,
                bi != bj,
            );
            (rows, colsum)
        })
        .collect();
    // Position of the pair (i, j), i <= j, in `pairs`.
    let offsets: Vec<usize> = (0..nb)
        .scan(0, |acc, i| {
            let o = *acc;
            *acc += nb - i;
            Some(o)
        })
        .collect();
    let index = |i: usize, j: usize| offsets[i] + (j - i);
    let mut out = vec![0.0; n * w];
    out.par_chunks_mut(TILE * w)
        .enumerate()
        .for_each(|(bi, o)| {
            for bj in 0..nb {
                let part = if bj >= bi {
                    &parts[index(bi, bj)].0
                } else {
                    &parts[index(bj, bi)].1
                };
                for (a, b) in o.iter_mut().zip(part) {
                    *a += b;
                }
            }
        });
    out
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

/// Velocities from per-row sums `[sum_j w_ij x_j, sum_j w_ij]`; returns the mean kernel.
#[cfg(target_arch = "x86_64")]
fn finish_rows(x: &[f64], sums: &[f64], d: usize, model: Model, v: &mut [f64]) -> f64 {
    let n = x.len() / d;
    let w = d + 1;
    v.par_chunks_mut(d * ROWS_PER_TASK)
        .enumerate()
        .for_each(|(task, vrows)| {
            for (r, vi) in vrows.chunks_exact_mut(d).enumerate() {
                let i = task * ROWS_PER_TASK + r;
                let xi = &x[i * d..(i + 1) * d];
                let s = &sums[i * w..(i + 1) * w];
                let scale = match model {
                    Model::Usa => 1.0 / n as f64,
                    Model::Sa => 1.0 / s[d],
                };
                let mut radial = 0.0;
                for k in 0..d {
                    radial += s[k] * scale * xi[k];
                }
                for k in 0..d {
                    vi[k] = s[k] * scale - radial * xi[k];
                }
            }
        });
    let total: f64 = (0..n).map(|i| sums[i * w + d]).sum();
    total / (n as f64 * n as f64)
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
        #[cfg(target_arch = "x86_64")]
        {
            if d <= 4 && n >= 2 * TILE && has_avx2_fma() {
                let sums = symmetric_sums(x, &cols, d, self.beta);
                return finish_rows(x, &sums, d, self.model, v);
            }
        }
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
