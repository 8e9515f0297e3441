//! Exact summation for weighted tokens (merged clusters, see
//! [`super::integrate::EXACT_WEIGHTED_MAX`]) in tangential form, with SIMD across the source
//! tokens.
//!
//! With `d_ij = x_j - x_i`, `1 - <x_i,x_j> = |d_ij|^2/2`, `w_ij = m_j exp(-beta |d_ij|^2 / 2)`:
//!
//! `v_i = s * (sum_j w_ij d_ij + (sum_j w_ij |d_ij|^2 / 2) x_i)`, `s = 1` (USA) or
//! `1 / sum_j w_ij` (SA),
//!
//! so coincident tokens contribute exactly zero and the attraction of distant clusters keeps
//! its relative precision. The weights are `2^z`, `z = -(beta/2) log2(e) |d_ij|^2`, from
//! [`super::fastexp`] (clamped below `2^-1000`, as in the unweighted kernels); the portable path is
//! the scalar loop with the library `exp`. Each row is a sequential sum over the sources in a
//! fixed order: results do not depend on the thread count.

use crate::spectral::simd::Lanes;
use crate::spectral::simd::SimdPath;
use crate::Model;

/// The sources in structure-of-arrays form, padded with zero-mass tokens to a multiple of 8.
struct Sources {
    /// `cols[k * len + j]`: coordinate `k` of source `j`.
    cols: Vec<f64>,
    /// Masses (zero in the padding).
    mass: Vec<f64>,
    /// Padded length.
    len: usize,
}

impl Sources {
    fn new(x: &[f64], mass: &[f64], dim: usize) -> Sources {
        let n = mass.len();
        let len = n.div_ceil(8) * 8;
        let mut cols = vec![0.0; dim * len];
        for (j, r) in x.chunks_exact(dim).enumerate() {
            for (k, v) in r.iter().enumerate() {
                cols[k * len + j] = *v;
            }
        }
        let mut m = mass.to_vec();
        m.resize(len, 0.0);
        Sources { cols, mass: m, len }
    }
}

/// One row `i` with lanes `L`: writes `v_i` (unscaled for SA) into `vi` and returns
/// `sum_j w_ij`. `acc` is scratch of `dim` lanes.
#[inline(always)]
fn row<L: Lanes>(src: &Sources, xi: &[f64], c: f64, acc: &mut [L], vi: &mut [f64]) -> f64 {
    let dim = xi.len();
    acc.iter_mut().for_each(|a| *a = L::zero());
    let (mut q, mut ws) = (L::zero(), L::zero());
    let neg_c = L::splat(-c);
    let half = L::splat(0.5);
    let mut j = 0;
    while j < src.len {
        let mut d2 = L::zero();
        for (k, &xik) in xi.iter().enumerate() {
            // SAFETY: j + W <= len (len is a multiple of 8 >= W) inside column k.
            let xj = unsafe { L::load_ptr(src.cols.as_ptr().add(k * src.len + j)) };
            let d = xj.sub(L::splat(xik));
            d2 = d.mul_add(d, d2);
        }
        // SAFETY: as above, for the masses.
        let m = unsafe { L::load_ptr(src.mass.as_ptr().add(j)) };
        let w = m.mul(d2.exp2_product::<true>(neg_c));
        for (k, &xik) in xi.iter().enumerate() {
            // SAFETY: as above.
            let xj = unsafe { L::load_ptr(src.cols.as_ptr().add(k * src.len + j)) };
            acc[k] = w.mul_add(xj.sub(L::splat(xik)), acc[k]);
        }
        q = w.mul(half).mul_add(d2, q);
        ws = ws.add(w);
        j += L::W;
    }
    let q = q.sum_in_order();
    for k in 0..dim {
        vi[k] = acc[k].sum_in_order() + q * xi[k];
    }
    ws.sum_in_order()
}

/// Rows `first..first + v.len() / dim` with lanes `L`: velocities into `v`, weight sums
/// `sum_j w_ij` into `w_sum` (`c = (beta/2) log2(e)`).
#[inline(always)]
fn rows<L: Lanes>(
    src: &Sources,
    x: &[f64],
    c: f64,
    first: usize,
    v: &mut [f64],
    w_sum: &mut [f64],
) {
    let dim = src.cols.len() / src.len;
    let mut acc = vec![L::zero(); dim];
    for (r, (vi, ws)) in v.chunks_exact_mut(dim).zip(w_sum.iter_mut()).enumerate() {
        let i = first + r;
        *ws = row::<L>(src, &x[i * dim..(i + 1) * dim], c, &mut acc, vi);
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2,fma")]
/// # Safety
///
/// Only after run-time detection of AVX-512F, AVX2 and FMA.
unsafe fn rows_avx512(
    src: &Sources,
    x: &[f64],
    c: f64,
    first: usize,
    v: &mut [f64],
    ws: &mut [f64],
) {
    rows::<crate::spectral::simd::Avx512>(src, x, c, first, v, ws)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
/// # Safety
///
/// Only after run-time detection of AVX2 and FMA.
unsafe fn rows_avx2(src: &Sources, x: &[f64], c: f64, first: usize, v: &mut [f64], ws: &mut [f64]) {
    rows::<crate::spectral::simd::Avx2>(src, x, c, first, v, ws)
}

/// The instruction set [`weighted_exact`] uses for `path` on this processor (AVX-512 also
/// needs AVX2 + FMA; portable when `ATTNFLOW_PORTABLE` is set).
pub fn effective_path(path: SimdPath) -> SimdPath {
    let simd = SimdPath::detect() != SimdPath::Portable && SimdPath::Avx2Fma.is_available();
    match path {
        SimdPath::Avx512 if simd && SimdPath::Avx512.is_available() => SimdPath::Avx512,
        SimdPath::Avx512 | SimdPath::Avx2Fma if simd => SimdPath::Avx2Fma,
        _ => SimdPath::Portable,
    }
}

/// Weighted exact velocities `v` (`N x d`) of tokens `x` with masses `mass` (see the module
/// documentation), on `path` (or the next narrower one the processor has). Returns
/// `sum_ij m_i m_j exp(-beta |x_i - x_j|^2 / 2)`. The portable path is
/// [`super::velocity::weighted_pairwise`].
pub fn weighted_exact(
    path: SimdPath,
    dim: usize,
    beta: f64,
    model: Model,
    x: &[f64],
    mass: &[f64],
    v: &mut [f64],
) -> f64 {
    use rayon::prelude::*;
    let path = effective_path(path);
    if path == SimdPath::Portable {
        return super::velocity::weighted_pairwise(dim, beta, model, x, mass, v);
    }
    let n = mass.len();
    let src = Sources::new(x, mass, dim);
    let c = 0.5 * beta * std::f64::consts::LOG2_E;
    let mut w_sum = vec![0.0; n];
    // Chunks of rows: each row is independent, so the result does not depend on the split.
    const CHUNK: usize = 64;
    v.par_chunks_mut(CHUNK * dim)
        .zip(w_sum.par_chunks_mut(CHUNK))
        .enumerate()
        .for_each(|(b, (vb, wb))| {
            let first = b * CHUNK;
            // SAFETY: `effective_path` returned a path whose features the processor has.
            #[cfg(target_arch = "x86_64")]
            unsafe {
                match path {
                    SimdPath::Avx512 => rows_avx512(&src, x, c, first, vb, wb),
                    _ => rows_avx2(&src, x, c, first, vb, wb),
                }
            }
        });
    if model == Model::Sa {
        for (vi, ws) in v.chunks_exact_mut(dim).zip(&w_sum) {
            vi.iter_mut().for_each(|a| *a /= ws);
        }
    }
    mass.iter().zip(&w_sum).map(|(m, w)| m * w).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every SIMD path the machine has against the portable path (library `exp`), on clustered
    /// weighted tokens with coincident, close and distant pairs, d = 2, 3, 5, USA and SA.
    #[test]
    fn simd_paths_match_portable() {
        let mut rng = 7u64;
        let mut u = move || {
            rng = rng
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (rng >> 11) as f64 / (1u64 << 53) as f64 - 0.5
        };
        for dim in [2, 3, 5] {
            for n in [1, 7, 37, 130] {
                let mut x = Vec::new();
                for i in 0..n {
                    // Four cluster centres, widths from 1e-9 to 0.3.
                    let width = [1e-9, 1e-4, 0.05, 0.3][i % 4];
                    let p: Vec<f64> = (0..dim)
                        .map(|k| if k == i % dim.min(4) { 1.0 } else { 0.0 } + width * u())
                        .collect();
                    let r = p.iter().map(|a| a * a).sum::<f64>().sqrt();
                    x.extend(p.iter().map(|a| a / r));
                }
                let mass: Vec<f64> = (0..n).map(|i| (1 + i % 5) as f64).collect();
                let total: f64 = mass.iter().sum();
                let mass: Vec<f64> = mass.iter().map(|m| m / total).collect();
                for model in [Model::Usa, Model::Sa] {
                    for beta in [1.0, 9.0, 60.0] {
                        let mut reference = vec![0.0; n * dim];
                        let e0 = super::super::velocity::weighted_pairwise(
                            dim,
                            beta,
                            model,
                            &x,
                            &mass,
                            &mut reference,
                        );
                        for path in [SimdPath::Avx512, SimdPath::Avx2Fma] {
                            if effective_path(path) != path {
                                continue;
                            }
                            let mut v = vec![0.0; n * dim];
                            let e = weighted_exact(path, dim, beta, model, &x, &mass, &mut v);
                            assert!((e - e0).abs() <= 1e-14 * e0, "{path:?} energy {e} {e0}");
                            for (i, (a, b)) in v
                                .chunks_exact(dim)
                                .zip(reference.chunks_exact(dim))
                                .enumerate()
                            {
                                let scale = b.iter().map(|t| t * t).sum::<f64>().sqrt();
                                let err = a
                                    .iter()
                                    .zip(b)
                                    .map(|(s, t)| (s - t).powi(2))
                                    .sum::<f64>()
                                    .sqrt();
                                assert!(
                                    err <= 1e-12 * scale + 1e-300,
                                    "{path:?} d {dim} n {n} beta {beta} {model:?} row {i}: {err} vs |v| {scale}"
                                );
                            }
                        }
                    }
                }
            }
        }
    }
}
