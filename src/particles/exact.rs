//! Exact `O(N^2 d)` summation of the velocity field with the scaled kernel
//! `w_ij = exp(beta(<x_i, x_j> - 1))` (values in `(0, 1]`).
//!
//! USA: `dx_i/dtau = P_{x_i}((1/N) sum_j w_ij x_j)`; SA: `dx_i/dt = P_{x_i}(sum_j w_ij x_j / sum_j w_ij)`.
//!
//! The weight is evaluated as `w_ij = 2^z` (see [`super::fastexp`]) with
//! `z = b (<x_i, x_j> - 1)`, `b = beta log2(e)`, computed by multiply-adds over pre-scaled
//! coordinates: the chain `z = x_i[d-1] s_j[d-1] + (... + (x_i[0] s_j[0] - b))` with `s_j = b x_j`
//! (tiles and portable kernels), or four interleaved partial sums of `(b x_i[k]) x_j[k]` (the
//! AVX2 kernel for `d > 4`). The rounding error is a few `b eps` absolute, the same order as the
//! error of `beta (fl(<x_i, x_j>) - 1)`, so the relative error of `w_ij` is a few `beta eps`
//! either way (the exponential itself adds at most 1.5 ulp).
//!
//! Results are bit-for-bit independent of the number of threads: every sum runs in a fixed
//! order that does not depend on the scheduling. Three kernels:
//!
//! - AVX2 + FMA, `d <= 4`: symmetric tiles of `TILE x TILE` tokens, each pair evaluated once for
//!   both rows. Two rows at a time, the weights are computed into a buffer (software-pipelined)
//!   and accumulated into the row and column sums in a second pass, which keeps the long
//!   dependency chain of the exponential out of the accumulation loop. Tiles run in rounds
//!   `J - I = 0, 1, ...` whose contributions are added in a fixed order (see `symmetric_sums`).
//! - AVX2 + FMA, `d > 4`: each row against the tokens packed in blocks of 4 (one stream), weights
//!   of a chunk first, then the sums eight coordinates at a time in registers.
//! - portable (no AVX2 + FMA, `ATTNFLOW_PORTABLE`, or [`ExactField::portable`]): each row against
//!   the coordinate columns, lanes of four combined in a fixed order, then the tail.

// Index loops over fixed-width lanes are written out so that they vectorise.
#![allow(clippy::needless_range_loop)]

use super::fastexp::{exp2_nonpositive, has_avx2_fma, madd};
use super::velocity::VelocityField;
use crate::Model;
use rayon::prelude::*;

const LANES: usize = 4;
const ROWS_PER_TASK: usize = 64;
/// Block size of the symmetric (tiled) summation.
const TILE: usize = 256;

/// Exact pairwise summation (any `d >= 2`).
#[derive(Clone, Debug)]
pub struct ExactField {
    /// Ambient dimension `d`.
    pub dim: usize,
    /// Inverse temperature `beta`.
    pub beta: f64,
    /// USA or SA.
    pub model: Model,
    /// Use the portable code path even where AVX2 + FMA are available (for cross-checks; the
    /// environment variable `ATTNFLOW_PORTABLE` does the same for every kernel).
    pub portable: bool,
}

impl ExactField {
    /// Exact summation for tokens on `S^{dim-1}`; `beta` must be positive and finite (the
    /// command line checks it; the weights assume `z <= 0` up to rounding).
    pub fn new(dim: usize, beta: f64, model: Model) -> Self {
        ExactField {
            dim,
            beta,
            model,
            portable: false,
        }
    }

    /// The same field evaluated by the portable code path (plain multiply-add, row by row).
    pub fn portable(self) -> Self {
        ExactField {
            portable: true,
            ..self
        }
    }
}

/// Coordinates transposed to `d` columns of length `N`, plain and scaled by `b = beta log2(e)`.
struct Columns {
    plain: Vec<Vec<f64>>,
    scaled: Vec<Vec<f64>>,
    b: f64,
}

impl Columns {
    fn new(x: &[f64], dim: usize, beta: f64) -> Self {
        let n = x.len() / dim;
        let b = beta * std::f64::consts::LOG2_E;
        let mut plain = vec![vec![0.0; n]; dim];
        for (i, row) in x.chunks_exact(dim).enumerate() {
            for k in 0..dim {
                plain[k][i] = row[k];
            }
        }
        let scaled = plain
            .iter()
            .map(|c| c.iter().map(|&v| b * v).collect())
            .collect();
        Columns { plain, scaled, b }
    }
}

/// Whether exponents `z = b (<x_i, x_j> - 1) >= -2b` (up to rounding) can fall below the clamp
/// of the exponential, i.e. whether the SIMD kernels need their clamped variant.
fn needs_clamp(b: f64) -> bool {
    2.0 * b + 1.0 >= -super::fastexp::CLAMP
}

/// `z = b (<x_i, x_j> - 1)` as the multiply-add chain of the module documentation, from the row
/// `xi` and the scaled column entries `s(k) = b x_j[k]`.
#[inline(always)]
fn exponent<const FMA: bool>(xi: &[f64], s: impl Fn(usize) -> f64, b: f64) -> f64 {
    let mut z = madd::<FMA>(xi[0], s(0), -b);
    for k in 1..xi.len() {
        z = madd::<FMA>(xi[k], s(k), z);
    }
    z
}

/// Sum over `j` of `w_ij x_j` (into `acc`) and of `w_ij` (returned), for token `xi` (`D`
/// coordinates known at compile time).
#[inline(always)]
fn row_sums_fixed<const D: usize, const FMA: bool>(
    xi: &[f64],
    cols: &Columns,
    acc: &mut [f64],
) -> f64 {
    let n = cols.plain[0].len();
    let blocks = n / LANES;
    let mut xs = [0.0; D];
    xs.copy_from_slice(&xi[..D]);
    let mut cs: [&[f64]; D] = [&[]; D];
    let mut ss: [&[f64]; D] = [&[]; D];
    for k in 0..D {
        cs[k] = &cols.plain[k][..n];
        ss[k] = &cols.scaled[k][..n];
    }
    let mut lane_acc = [[0.0f64; LANES]; D];
    let mut lane_w = [0.0f64; LANES];
    for b in 0..blocks {
        let j0 = b * LANES;
        let mut w = [0.0f64; LANES];
        for l in 0..LANES {
            w[l] = exp2_nonpositive::<FMA>(exponent::<FMA>(&xs, |k| ss[k][j0 + l], cols.b));
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
        let w = exp2_nonpositive::<FMA>(exponent::<FMA>(&xs, |k| ss[k][j], cols.b));
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

/// Same as [`row_sums_fixed`] for a run-time dimension.
#[inline(always)]
fn row_sums_dyn<const FMA: bool>(xi: &[f64], cols: &Columns, acc: &mut [f64]) -> f64 {
    let d = xi.len();
    let n = cols.plain[0].len();
    let blocks = n / LANES;
    let mut lane_acc = vec![[0.0f64; LANES]; d];
    let mut lane_w = [0.0f64; LANES];
    for b in 0..blocks {
        let j0 = b * LANES;
        let mut z = [-cols.b; LANES];
        for k in 0..d {
            let s: &[f64; LANES] = cols.scaled[k][j0..j0 + LANES].try_into().unwrap();
            for l in 0..LANES {
                z[l] = madd::<FMA>(xi[k], s[l], z[l]);
            }
        }
        let w = z.map(exp2_nonpositive::<FMA>);
        for k in 0..d {
            let c: &[f64; LANES] = cols.plain[k][j0..j0 + LANES].try_into().unwrap();
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
        let w = exp2_nonpositive::<FMA>(exponent::<FMA>(xi, |k| cols.scaled[k][j], cols.b));
        for k in 0..d {
            tail_acc[k] = madd::<FMA>(w, cols.plain[k][j], tail_acc[k]);
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

type RowSums = fn(&[f64], &Columns, &mut [f64]) -> f64;

/// The portable row kernel (fixed dimension for `d <= 4`).
fn select_row_kernel(dim: usize) -> RowSums {
    match dim {
        2 => row_sums_fixed::<2, false>,
        3 => row_sums_fixed::<3, false>,
        4 => row_sums_fixed::<4, false>,
        _ => row_sums_dyn::<false>,
    }
}

/// `((v0 + v1) + v2) + v3`, the fixed order in which the lanes of a vector accumulator are
/// combined.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[inline]
fn lane_sum(v: std::arch::x86_64::__m256d) -> f64 {
    let mut lanes = [0.0f64; 4];
    // SAFETY: `lanes` holds 4 f64.
    unsafe { std::arch::x86_64::_mm256_storeu_pd(lanes.as_mut_ptr(), v) };
    ((lanes[0] + lanes[1]) + lanes[2]) + lanes[3]
}

/// Tokens in blocks of 4 for the AVX2 row kernel of any `d`: block `q` holds, for each
/// coordinate `k`, the 4 values `x_{4q..4q+4}[k]` contiguously (`4 d` values per block), so the
/// kernel streams one array; the last `N mod 4` tokens are read from the rows.
#[cfg(target_arch = "x86_64")]
struct Packed<'a> {
    x: &'a [f64],
    dim: usize,
    blocks: Vec<f64>,
    b: f64,
}

#[cfg(target_arch = "x86_64")]
impl<'a> Packed<'a> {
    fn new(x: &'a [f64], dim: usize, beta: f64) -> Self {
        let nblocks = x.len() / dim / 4;
        let mut blocks = vec![0.0; nblocks * 4 * dim];
        for (q, blk) in blocks.chunks_exact_mut(4 * dim).enumerate() {
            for l in 0..4 {
                let row = &x[(4 * q + l) * dim..(4 * q + l + 1) * dim];
                for k in 0..dim {
                    blk[4 * k + l] = row[k];
                }
            }
        }
        Packed {
            x,
            dim,
            blocks,
            b: beta * std::f64::consts::LOG2_E,
        }
    }
}

/// At most this many blocks of 4 tokens per chunk of the packed row kernel (weights buffered
/// per chunk), and at most `CHUNK_BYTES` of token data per chunk when `d <= 512` (so that pass 2
/// re-reads the chunk from the L1 cache; always at least one block).
#[cfg(target_arch = "x86_64")]
const CHUNK_BLOCKS: usize = 64;
#[cfg(target_arch = "x86_64")]
const CHUNK_BYTES: usize = 16 * 1024;

/// `a[kk] += w[q] x_{4q..4q+4}[k0 + kk]` for `kk < KN` over the blocks `q` of a chunk, with the
/// `KN` accumulators in registers.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[inline]
fn accumulate_packed<const KN: usize>(
    w: &[std::arch::x86_64::__m256d],
    blocks: &[f64],
    dim: usize,
    k0: usize,
    acc: &mut [std::arch::x86_64::__m256d],
) {
    use std::arch::x86_64::*;
    assert!(blocks.len() >= w.len() * 4 * dim && k0 + KN <= dim && acc.len() >= k0 + KN);
    let mut a: [__m256d; KN] = std::array::from_fn(|kk| acc[k0 + kk]);
    for (q, &wq) in w.iter().enumerate() {
        let base = q * 4 * dim + 4 * k0;
        for kk in 0..KN {
            // SAFETY: base + 4 kk + 4 <= (q + 1) 4 dim <= blocks.len() (asserted above).
            let c = unsafe { _mm256_loadu_pd(blocks.as_ptr().add(base + 4 * kk)) };
            a[kk] = _mm256_fmadd_pd(wq, c, a[kk]);
        }
    }
    acc[k0..k0 + KN].copy_from_slice(&a);
}

/// AVX2 + FMA row kernel for any `d` (used for `d > 4`) on [`Packed`] tokens: per chunk of
/// blocks (see `CHUNK_BLOCKS`), pass 1 forms `z` (four interleaved partial sums over the coordinates
/// of the scaled row `b x_i`) and the weights, pass 2 accumulates `w_ij x_j` eight coordinates at
/// a time with the accumulators in registers. Sums over `j` in block order, then the tail.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn row_sums_packed_avx2<const CLAMPED: bool>(xi: &[f64], p: &Packed, out: &mut [f64]) -> f64 {
    use super::fastexp::exp2_avx2;
    use std::arch::x86_64::*;
    let d = p.dim;
    let n = p.x.len() / d;
    let nblocks = n / 4;
    assert!(xi.len() == d && out.len() == d && p.blocks.len() == nblocks * 4 * d);
    let bx: Vec<f64> = xi.iter().map(|&v| p.b * v).collect();
    let bxv: Vec<__m256d> = bx.iter().map(|&v| _mm256_set1_pd(v)).collect();
    let nb = _mm256_set1_pd(-p.b);
    let zero = _mm256_setzero_pd();
    let mut acc = vec![zero; d];
    let mut aw = zero;
    let mut wbuf = [zero; CHUNK_BLOCKS];
    let chunk_blocks = (CHUNK_BYTES / (32 * d)).clamp(1, CHUNK_BLOCKS);
    for c0 in (0..nblocks).step_by(chunk_blocks) {
        let c1 = (c0 + chunk_blocks).min(nblocks);
        let chunk = &p.blocks[c0 * 4 * d..c1 * 4 * d];
        for (q, blk) in chunk.chunks_exact(4 * d).enumerate() {
            // Partial sum r takes the coordinates k = r mod 4 (registers, not an indexed array).
            // SAFETY (loads): 4 k + 4 <= 4 d = blk.len().
            let term = |k: usize, z| {
                _mm256_fmadd_pd(
                    bxv[k],
                    unsafe { _mm256_loadu_pd(blk.as_ptr().add(4 * k)) },
                    z,
                )
            };
            let (mut z0, mut z1, mut z2, mut z3) = (nb, zero, zero, zero);
            let mut k = 0;
            while k + 4 <= d {
                z0 = term(k, z0);
                z1 = term(k + 1, z1);
                z2 = term(k + 2, z2);
                z3 = term(k + 3, z3);
                k += 4;
            }
            if k < d {
                z0 = term(k, z0);
            }
            if k + 1 < d {
                z1 = term(k + 1, z1);
            }
            if k + 2 < d {
                z2 = term(k + 2, z2);
            }
            let z = _mm256_add_pd(_mm256_add_pd(z0, z1), _mm256_add_pd(z2, z3));
            let w = exp2_avx2::<CLAMPED>(z);
            wbuf[q] = w;
            aw = _mm256_add_pd(aw, w);
        }
        let w = &wbuf[..c1 - c0];
        let mut k0 = 0;
        while k0 + 8 <= d {
            accumulate_packed::<8>(w, chunk, d, k0, &mut acc);
            k0 += 8;
        }
        match d - k0 {
            1 => accumulate_packed::<1>(w, chunk, d, k0, &mut acc),
            2 => accumulate_packed::<2>(w, chunk, d, k0, &mut acc),
            3 => accumulate_packed::<3>(w, chunk, d, k0, &mut acc),
            4 => accumulate_packed::<4>(w, chunk, d, k0, &mut acc),
            5 => accumulate_packed::<5>(w, chunk, d, k0, &mut acc),
            6 => accumulate_packed::<6>(w, chunk, d, k0, &mut acc),
            7 => accumulate_packed::<7>(w, chunk, d, k0, &mut acc),
            _ => {}
        }
    }
    for k in 0..d {
        out[k] = lane_sum(acc[k]);
    }
    let mut sw = lane_sum(aw);
    for xj in p.x.chunks_exact(d).skip(4 * nblocks) {
        let w = exp2_nonpositive::<true>(exponent::<true>(&bx, |k| xj[k], p.b));
        for k in 0..d {
            out[k] = madd::<true>(w, xj[k], out[k]);
        }
        sw += w;
    }
    sw
}

/// Per-row sums `[sum_j w_ij x_j (d values), sum_j w_ij]` by the packed AVX2 row kernel.
#[cfg(target_arch = "x86_64")]
fn packed_sums(x: &[f64], dim: usize, beta: f64) -> Vec<f64> {
    assert!(has_avx2_fma());
    let p = Packed::new(x, dim, beta);
    let clamped = needs_clamp(p.b);
    // SAFETY: AVX2 + FMA detected (asserted above).
    sums_by_row(x, dim, |xi, acc| unsafe {
        if clamped {
            row_sums_packed_avx2::<true>(xi, &p, acc)
        } else {
            row_sums_packed_avx2::<false>(xi, &p, acc)
        }
    })
}

/// The columns of one tile (block `J`, at most `TILE` tokens).
#[cfg(target_arch = "x86_64")]
struct TileCols<'a, const D: usize> {
    plain: [&'a [f64]; D],
    scaled: [&'a [f64]; D],
    b: f64,
}

/// End of one tile row: add the lane sums of the vector accumulators `a` (coordinates) and `aw`
/// (weights) to `out`, then the scalar tail `j = padded..nj` of the columns (and, when `SYM`,
/// its contributions to the column tail sums `coltail`), in a fixed order.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn finish_tile_row<const D: usize, const SYM: bool>(
    xi: &[f64],
    a: [std::arch::x86_64::__m256d; D],
    aw: std::arch::x86_64::__m256d,
    cols: &TileCols<D>,
    padded: usize,
    out: &mut [f64],
    coltail: &mut [f64],
) {
    let nj = cols.plain[0].len();
    for k in 0..D {
        out[k] += lane_sum(a[k]);
    }
    let mut sw = lane_sum(aw);
    let mut tail = [0.0f64; D];
    for j in padded..nj {
        let w = exp2_nonpositive::<true>(exponent::<true>(xi, |k| cols.scaled[k][j], cols.b));
        for k in 0..D {
            tail[k] = madd::<true>(w, cols.plain[k][j], tail[k]);
        }
        sw += w;
        if SYM {
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

/// `R` consecutive rows `x` (`R x D`) of a tile against its columns: pass 1 writes the weights
/// `w_rj` (lanes of 4, `j < padded`) into `wbuf[r * TILE + j]`; pass 2 adds `sum_j w_rj x_j` and
/// `sum_j w_rj` to `out` (`R x (D + 1)`) and, when `SYM`, `w_rj x_r` and `w_rj` to the column
/// sums `colacc[k * padded + j]`, row `r` after row `r - 1`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[inline]
#[allow(clippy::too_many_arguments)]
fn tile_rows<const D: usize, const R: usize, const SYM: bool, const CLAMPED: bool>(
    x: &[f64],
    cols: &TileCols<D>,
    padded: usize,
    wbuf: &mut [f64; 2 * TILE],
    colacc: &mut [f64; 5 * TILE],
    coltail: &mut [f64],
    out: &mut [f64],
) {
    use super::fastexp::exp2_avx2;
    use std::arch::x86_64::*;
    const { assert!(R <= 2 && D <= 4) };
    let nj = cols.plain[0].len();
    assert!(padded <= nj && nj <= TILE && x.len() == R * D && out.len() == R * (D + 1));
    for k in 0..D {
        assert!(cols.plain[k].len() == nj && cols.scaled[k].len() == nj);
    }
    let blocks = padded / 4;
    let xs: [[__m256d; D]; R] =
        std::array::from_fn(|r| std::array::from_fn(|k| _mm256_set1_pd(x[r * D + k])));
    let nb = _mm256_set1_pd(-cols.b);
    let sp: [*const f64; D] = std::array::from_fn(|k| cols.scaled[k].as_ptr());
    let cp: [*const f64; D] = std::array::from_fn(|k| cols.plain[k].as_ptr());
    let wp = wbuf.as_mut_ptr();
    let ap = colacc.as_mut_ptr();
    // SAFETY (both passes): j + 4 <= padded <= nj, the length of every column (asserted above);
    // wbuf holds 2 * TILE >= R * TILE values and colacc 5 * TILE >= (D + 1) * padded.
    // Software pipelining: the exponents of block b + 1 are formed while the exponentials of
    // block b are evaluated, so the long dependency chain of the exponential waits less in the
    // scheduler (about 1.2x faster than forming and using them in the same iteration).
    let exponents = |j: usize| -> [__m256d; R] {
        // SAFETY: see above (j + 4 <= padded).
        let s: [__m256d; D] = std::array::from_fn(|k| unsafe { _mm256_loadu_pd(sp[k].add(j)) });
        std::array::from_fn(|r| {
            let mut z = _mm256_fmadd_pd(xs[r][0], s[0], nb);
            for k in 1..D {
                z = _mm256_fmadd_pd(xs[r][k], s[k], z);
            }
            z
        })
    };
    if blocks > 0 {
        let mut z = exponents(0);
        for b in 0..blocks {
            let j = 4 * b;
            let next = if b + 1 < blocks { exponents(j + 4) } else { z };
            for r in 0..R {
                unsafe { _mm256_storeu_pd(wp.add(r * TILE + j), exp2_avx2::<CLAMPED>(z[r])) };
            }
            z = next;
        }
    }
    let mut a = [[_mm256_setzero_pd(); D]; R];
    let mut aw = [_mm256_setzero_pd(); R];
    for b in 0..blocks {
        let j = 4 * b;
        unsafe {
            let c: [__m256d; D] = std::array::from_fn(|k| _mm256_loadu_pd(cp[k].add(j)));
            let w: [__m256d; R] = std::array::from_fn(|r| _mm256_loadu_pd(wp.add(r * TILE + j)));
            for r in 0..R {
                for k in 0..D {
                    a[r][k] = _mm256_fmadd_pd(w[r], c[k], a[r][k]);
                }
                aw[r] = _mm256_add_pd(aw[r], w[r]);
            }
            if SYM {
                for k in 0..D {
                    let slot = ap.add(k * padded + j);
                    let mut cur = _mm256_loadu_pd(slot);
                    for r in 0..R {
                        cur = _mm256_fmadd_pd(w[r], xs[r][k], cur);
                    }
                    _mm256_storeu_pd(slot, cur);
                }
                let slot = ap.add(D * padded + j);
                let mut cur = _mm256_loadu_pd(slot);
                for r in 0..R {
                    cur = _mm256_add_pd(cur, w[r]);
                }
                _mm256_storeu_pd(slot, cur);
            }
        }
    }
    for r in 0..R {
        finish_tile_row::<D, SYM>(
            &x[r * D..(r + 1) * D],
            a[r],
            aw[r],
            cols,
            padded,
            &mut out[r * (D + 1)..(r + 1) * (D + 1)],
            coltail,
        );
    }
}

/// AVX2 + FMA tile kernel: for tokens `i` of block `I` (rows `x`, `D` values each) and `j` of
/// block `J` (`cols`), adds `sum_j w_ij x_j` and `sum_j w_ij` to `row_out[i]` (`D + 1` values)
/// and, when `SYM`, `sum_i w_ij x_i` and `sum_i w_ij` to `col_out[j]`, each in a fixed order
/// (lanes of 4 over `j` for the rows, `i` in order for the columns).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn tile_sums_avx2<const D: usize, const SYM: bool, const CLAMPED: bool>(
    x: &[f64],
    cols: &TileCols<D>,
    row_out: &mut [f64],
    col_out: &mut [f64],
) {
    let nj = cols.plain[0].len();
    let padded = nj / 4 * 4;
    let mut wbuf = [0.0f64; 2 * TILE];
    let mut colacc = [0.0f64; 5 * TILE];
    let mut coltail = [0.0f64; 5 * 3];
    let nrows = x.len() / D;
    let w = D + 1;
    let mut r = 0;
    while r + 2 <= nrows {
        tile_rows::<D, 2, SYM, CLAMPED>(
            &x[r * D..(r + 2) * D],
            cols,
            padded,
            &mut wbuf,
            &mut colacc,
            &mut coltail,
            &mut row_out[r * w..(r + 2) * w],
        );
        r += 2;
    }
    if r < nrows {
        tile_rows::<D, 1, SYM, CLAMPED>(
            &x[r * D..(r + 1) * D],
            cols,
            padded,
            &mut wbuf,
            &mut colacc,
            &mut coltail,
            &mut row_out[r * w..(r + 1) * w],
        );
    }
    if SYM {
        for j in 0..padded {
            for k in 0..w {
                col_out[j * w + k] += colacc[k * padded + j];
            }
        }
        for j in padded..nj {
            for k in 0..w {
                col_out[j * w + k] += coltail[(j - padded) * w + k];
            }
        }
    }
}

/// One tile `(I, J)` for `D` known at compile time (`symmetric` when `I != J`).
#[cfg(target_arch = "x86_64")]
fn tile_sums<const D: usize>(
    x: &[f64],
    cols: &Columns,
    (j0, j1): (usize, usize),
    row_out: &mut [f64],
    col_out: &mut [f64],
    symmetric: bool,
) {
    let tc = TileCols::<D> {
        plain: std::array::from_fn(|k| &cols.plain[k][j0..j1]),
        scaled: std::array::from_fn(|k| &cols.scaled[k][j0..j1]),
        b: cols.b,
    };
    let clamped = needs_clamp(cols.b);
    // SAFETY: only called after has_avx2_fma() (see `symmetric_sums`).
    unsafe {
        match (symmetric, clamped) {
            (true, true) => tile_sums_avx2::<D, true, true>(x, &tc, row_out, col_out),
            (true, false) => tile_sums_avx2::<D, true, false>(x, &tc, row_out, col_out),
            (false, true) => tile_sums_avx2::<D, false, true>(x, &tc, row_out, col_out),
            (false, false) => tile_sums_avx2::<D, false, false>(x, &tc, row_out, col_out),
        }
    }
}

#[cfg(target_arch = "x86_64")]
type TileFn = fn(&[f64], &Columns, (usize, usize), &mut [f64], &mut [f64], bool);

/// Symmetric tiled exact sums (AVX2 + FMA, `d <= 4`): each pair `w_ij = w_ji` is evaluated once.
/// Returns per-row `[sum_j w_ij x_j (d values), sum_j w_ij]`.
///
/// The tiles `(I, J)`, `I <= J`, are processed in rounds `r = J - I = 0, 1, ...`; within a round
/// the tiles run in parallel. Block `I` receives, in round `r`, first the row part of tile
/// `(I, I + r)` (added in place by that tile) and then the column part of tile `(I - r, I)`
/// (kept in a buffer and added after the round). This order is fixed, so results do not depend
/// on the thread count, and the memory beyond the output is one `N x (d + 1)` buffer.
#[cfg(target_arch = "x86_64")]
fn symmetric_sums(x: &[f64], cols: &Columns, dim: usize) -> Vec<f64> {
    assert!(has_avx2_fma() && (2..=4).contains(&dim));
    let n = x.len() / dim;
    let nb = n.div_ceil(TILE);
    let w = dim + 1;
    let tile: TileFn = match dim {
        2 => tile_sums::<2>,
        3 => tile_sums::<3>,
        _ => tile_sums::<4>,
    };
    let range = |b: usize| (b * TILE, ((b + 1) * TILE).min(n));
    let mut out = vec![0.0; n * w];
    let mut colpart = vec![0.0; n * w];
    for r in 0..nb {
        out.par_chunks_mut(TILE * w)
            .zip(colpart.par_chunks_mut(TILE * w))
            .enumerate()
            .take(nb - r)
            .for_each(|(bi, (rows, colsum))| {
                let (i0, i1) = range(bi);
                let (j0, j1) = range(bi + r);
                let colsum = &mut colsum[..if r == 0 { 0 } else { (j1 - j0) * w }];
                colsum.fill(0.0);
                tile(&x[i0 * dim..i1 * dim], cols, (j0, j1), rows, colsum, r > 0);
            });
        if r > 0 {
            // The column part of tile (J - r, J) sits in chunk J - r of `colpart`.
            out.par_chunks_mut(TILE * w)
                .enumerate()
                .skip(r)
                .for_each(|(bj, o)| {
                    let start = (bj - r) * TILE * w;
                    let part = &colpart[start..start + o.len()];
                    for (a, b) in o.iter_mut().zip(part) {
                        *a += b;
                    }
                });
        }
    }
    out
}

/// Per-row sums `[sum_j w_ij x_j (d values), sum_j w_ij]` by the portable row kernels.
fn row_by_row_sums(x: &[f64], cols: &Columns, dim: usize) -> Vec<f64> {
    let kernel = select_row_kernel(dim);
    sums_by_row(x, dim, |xi, acc| kernel(xi, cols, acc))
}

/// Per-row sums `[sum_j w_ij x_j (d values), sum_j w_ij]`, rows in parallel tasks:
/// `row(x_i, acc)` writes `sum_j w_ij x_j` into `acc` and returns `sum_j w_ij`.
fn sums_by_row(x: &[f64], dim: usize, row: impl Fn(&[f64], &mut [f64]) -> f64 + Sync) -> Vec<f64> {
    let w = dim + 1;
    let mut sums = vec![0.0; x.len() / dim * w];
    sums.par_chunks_mut(w * ROWS_PER_TASK)
        .zip(x.par_chunks(dim * ROWS_PER_TASK))
        .for_each(|(out, rows)| {
            for (o, xi) in out.chunks_exact_mut(w).zip(rows.chunks_exact(dim)) {
                o[dim] = row(xi, &mut o[..dim]);
            }
        });
    sums
}

/// Velocities from per-row sums `[sum_j w_ij x_j, sum_j w_ij]`; returns the mean kernel.
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
        #[cfg(target_arch = "x86_64")]
        {
            if !self.portable && has_avx2_fma() {
                let sums = if d <= 4 {
                    symmetric_sums(x, &Columns::new(x, d, self.beta), d)
                } else {
                    packed_sums(x, d, self.beta)
                };
                return finish_rows(x, &sums, d, self.model, v);
            }
        }
        let sums = row_by_row_sums(x, &Columns::new(x, d, self.beta), d);
        finish_rows(x, &sums, d, self.model, v)
    }
}
