//! Exact `O(N^2 d)` summation of the velocity field with the scaled kernel
//! `w_ij = exp(beta(<x_i, x_j> - 1))` (values in `(0, 1]`).
//!
//! USA: `dx_i/dtau = P_{x_i}((1/N) sum_j w_ij x_j)`; SA: `dx_i/dt = P_{x_i}(sum_j w_ij x_j / sum_j w_ij)`.
//!
//! **Tangential form.** Every kernel works with the differences `d_ij = x_j - x_i` (exact for
//! nearly equal tokens): it accumulates `S_i = sum_j w_ij d_ij` and `sum_j w_ij`, and the
//! velocity is `v_i = S_i/c - <x_i, S_i/c> x_i` (`c = N` for USA, `sum_j w_ij` for SA). Since
//! `P_{x_i} x_i = 0` this is the same field, but coincident tokens contribute exactly zero
//! instead of `w x_i` minus its own projection: the attraction between collapsed clusters keeps
//! its relative precision however small its weight is against the in-cluster weight `1`
//! (accumulating `sum_j w_ij x_j` and projecting loses every contribution below about
//! `1e-16` of it). The exponent comes from the same differences,
//! `w_ij = 2^(q h)`, `q = |d_ij|^2`, `h = -beta log2(e) / 2` (see [`super::fastexp`], which
//! reduces the product `q h` without rounding it on the SIMD paths), which equals
//! `beta log2(e) (<x_i, x_j> - 1)` for unit vectors, is never positive, and has a relative
//! error of a few `eps`, so the relative error of `w_ij` is a few `|q h| eps` plus 1.5 ulp.
//!
//! **Below the clamp.** The exponential clamps products below `-1000`: pairs with
//! `beta (1 - <x_i, x_j>) > 693.1` (weights below `2^-1000 ~ 9.3e-302`) are given the weight
//! `2^(-1000 - 1/32) ~ 9.1e-302` instead. Their direction stays right but their magnitude is
//! overestimated; this only matters when such pairs are the only interaction between two
//! clusters (a configuration whose merging time exceeds `e^693` in the scaled time of USA).
//!
//! Results are bit-for-bit independent of the number of threads: every sum runs in a fixed
//! order that does not depend on the scheduling. Three kernels:
//!
//! - SIMD, `d <= 4`: symmetric tiles of `TILE x TILE` tokens, each pair evaluated once for
//!   both rows. Two rows at a time, one pass over blocks of columns forms the differences, the
//!   weights and the row and column sums (AVX-512: 32 registers hold the loop); on AVX2 the
//!   weights are computed into a buffer first (software-pipelined) and accumulated in a second
//!   pass, with the same bits. For USA only the total weight is needed: the column weight sums
//!   are not formed. Tiles run in rounds `J - I = 0, 1, ...` whose contributions are added in a
//!   fixed order (see `symmetric_sums`).
//! - SIMD, `d > 4`: each row against the tokens packed in blocks of one vector width (one
//!   stream), weights of a chunk first, then the sums eight (AVX-512) or four (AVX2)
//!   coordinates at a time in registers.
//!
//! The SIMD kernels exist for AVX-512F (8 lanes) and AVX2 + FMA (4 lanes), chosen at run time
//! ([`ExactField::effective_path`]); they differ from each other and from the portable path in
//! the last bits (lane counts, fused multiply-adds), see `tests/particles_velocity.rs`.
//! - portable (no AVX2 + FMA, `ATTNFLOW_PORTABLE`, or [`ExactField::portable`]): each row against
//!   the coordinate columns, lanes of four combined in a fixed order, then the tail.

// Index loops over fixed-width lanes are written out so that they vectorise.
#![allow(clippy::needless_range_loop)]

use super::fastexp::{exp2_product, madd};
use super::velocity::VelocityField;
use crate::spectral::simd::SimdPath;
#[cfg(target_arch = "x86_64")]
use crate::spectral::simd::{Avx2, Avx512, Lanes};
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
    /// Instruction set of the kernels: by default [`SimdPath::detect`] (the widest the
    /// processor has, portable when the environment variable `ATTNFLOW_PORTABLE` is set). A
    /// path the processor lacks falls back to the next narrower one, and `ATTNFLOW_PORTABLE`
    /// forces the portable path whatever is requested (see [`ExactField::effective_path`]).
    pub path: SimdPath,
}

impl ExactField {
    /// Exact summation for tokens on `S^{dim-1}`; `beta` must be positive and finite (the
    /// command line checks it; the weights assume `z <= 0` up to rounding).
    pub fn new(dim: usize, beta: f64, model: Model) -> Self {
        ExactField {
            dim,
            beta,
            model,
            path: SimdPath::detect(),
        }
    }

    /// The same field evaluated by the portable code path (plain multiply-add, row by row).
    pub fn portable(self) -> Self {
        self.with_path(SimdPath::Portable)
    }

    /// The same field evaluated with the instruction set `path` (for cross-checks and
    /// benchmarks; see [`ExactField::effective_path`]).
    pub fn with_path(self, path: SimdPath) -> Self {
        ExactField { path, ..self }
    }

    /// The instruction set [`VelocityField::evaluate`] uses: `path` when the processor has it
    /// (AVX-512 also needs AVX2 + FMA for the scalar tails), else the next narrower one; always
    /// portable when `ATTNFLOW_PORTABLE` is set.
    pub fn effective_path(&self) -> SimdPath {
        let simd = SimdPath::detect() != SimdPath::Portable;
        let avx2 = simd && SimdPath::Avx2Fma.is_available();
        match self.path {
            SimdPath::Avx512 if avx2 && SimdPath::Avx512.is_available() => SimdPath::Avx512,
            SimdPath::Avx512 | SimdPath::Avx2Fma if avx2 => SimdPath::Avx2Fma,
            _ => SimdPath::Portable,
        }
    }
}

/// Coordinates transposed to `d` columns of length `N`, and `h = -beta log2(e) / 2`.
struct Columns {
    plain: Vec<Vec<f64>>,
    hb: f64,
}

impl Columns {
    fn new(x: &[f64], dim: usize, beta: f64) -> Self {
        let n = x.len() / dim;
        let mut plain = vec![vec![0.0; n]; dim];
        for (i, row) in x.chunks_exact(dim).enumerate() {
            for k in 0..dim {
                plain[k][i] = row[k];
            }
        }
        Columns {
            plain,
            hb: half_exponent_scale(beta),
        }
    }
}

/// `h = -b / 2 = -beta log2(e) / 2`: the weight is `2^(h |x_j - x_i|^2)`.
fn half_exponent_scale(beta: f64) -> f64 {
    -0.5 * (beta * std::f64::consts::LOG2_E)
}

/// Whether exponents `h |d_ij|^2 >= -2b` (up to rounding) can fall below the clamp of the
/// exponential, i.e. whether the SIMD kernels need their clamped variant.
fn needs_clamp(hb: f64) -> bool {
    -4.0 * hb + 1.0 >= -super::fastexp::CLAMP
}

/// `q = |x_j - x_i|^2` with `d_k = x_j[k] - x_i[k]`: `q = d_0 d_0`, then `q = d_k d_k + q`
/// (multiply-adds); `x_j` given by its coordinates `xj(k)`. The weight is `2^(q h)`.
#[inline(always)]
fn distance2<const FMA: bool>(xi: &[f64], xj: impl Fn(usize) -> f64) -> f64 {
    let d0 = xj(0) - xi[0];
    let mut q = d0 * d0;
    for k in 1..xi.len() {
        let d = xj(k) - xi[k];
        q = madd::<FMA>(d, d, q);
    }
    q
}

/// Sum over `j` of `w_ij (x_j - x_i)` (into `acc`) and of `w_ij` (returned), for token `xi`
/// (`D` coordinates known at compile time).
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
    for k in 0..D {
        cs[k] = &cols.plain[k][..n];
    }
    let mut lane_acc = [[0.0f64; LANES]; D];
    let mut lane_w = [0.0f64; LANES];
    for b in 0..blocks {
        let j0 = b * LANES;
        let mut dd = [[0.0f64; LANES]; D];
        for k in 0..D {
            let c: &[f64; LANES] = cs[k][j0..j0 + LANES].try_into().unwrap();
            for l in 0..LANES {
                dd[k][l] = c[l] - xs[k];
            }
        }
        let mut w = [0.0f64; LANES];
        for l in 0..LANES {
            let mut q = dd[0][l] * dd[0][l];
            for k in 1..D {
                q = madd::<FMA>(dd[k][l], dd[k][l], q);
            }
            w[l] = exp2_product::<FMA>(q, cols.hb);
        }
        for k in 0..D {
            for l in 0..LANES {
                lane_acc[k][l] = madd::<FMA>(w[l], dd[k][l], lane_acc[k][l]);
            }
        }
        for l in 0..LANES {
            lane_w[l] += w[l];
        }
    }
    let mut tail_acc = [0.0f64; D];
    let mut tail_w = 0.0;
    for j in blocks * LANES..n {
        let w = exp2_product::<FMA>(distance2::<FMA>(&xs, |k| cs[k][j]), cols.hb);
        for k in 0..D {
            tail_acc[k] = madd::<FMA>(w, cs[k][j] - xs[k], tail_acc[k]);
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
        let mut q = [0.0f64; LANES];
        let c: &[f64; LANES] = cols.plain[0][j0..j0 + LANES].try_into().unwrap();
        for l in 0..LANES {
            let dl = c[l] - xi[0];
            q[l] = dl * dl;
        }
        for k in 1..d {
            let c: &[f64; LANES] = cols.plain[k][j0..j0 + LANES].try_into().unwrap();
            for l in 0..LANES {
                let dl = c[l] - xi[k];
                q[l] = madd::<FMA>(dl, dl, q[l]);
            }
        }
        let w = q.map(|q| exp2_product::<FMA>(q, cols.hb));
        for k in 0..d {
            let c: &[f64; LANES] = cols.plain[k][j0..j0 + LANES].try_into().unwrap();
            for l in 0..LANES {
                lane_acc[k][l] = madd::<FMA>(w[l], c[l] - xi[k], lane_acc[k][l]);
            }
        }
        for l in 0..LANES {
            lane_w[l] += w[l];
        }
    }
    let mut tail_acc = vec![0.0f64; d];
    let mut tail_w = 0.0;
    for j in blocks * LANES..n {
        let w = exp2_product::<FMA>(distance2::<FMA>(xi, |k| cols.plain[k][j]), cols.hb);
        for k in 0..d {
            tail_acc[k] = madd::<FMA>(w, cols.plain[k][j] - xi[k], tail_acc[k]);
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

/// Tokens in blocks of `W` (the lane count) for the SIMD row kernel of any `d`: block `q`
/// holds, for each coordinate `k`, the `W` values `x_{Wq..Wq+W}[k]` contiguously (`W d` values
/// per block), so the kernel streams one array; the last `N mod W` tokens are read from the
/// rows.
#[cfg(target_arch = "x86_64")]
struct Packed<'a> {
    x: &'a [f64],
    dim: usize,
    width: usize,
    blocks: Vec<f64>,
    hb: f64,
}

#[cfg(target_arch = "x86_64")]
impl<'a> Packed<'a> {
    fn new(x: &'a [f64], dim: usize, beta: f64, width: usize) -> Self {
        let nblocks = x.len() / dim / width;
        let mut blocks = vec![0.0; nblocks * width * dim];
        for (q, blk) in blocks.chunks_exact_mut(width * dim).enumerate() {
            for l in 0..width {
                let row = &x[(width * q + l) * dim..(width * q + l + 1) * dim];
                for k in 0..dim {
                    blk[width * k + l] = row[k];
                }
            }
        }
        Packed {
            x,
            dim,
            width,
            blocks,
            hb: half_exponent_scale(beta),
        }
    }
}

/// At most this many blocks of tokens per chunk of the packed row kernel (weights buffered
/// per chunk), and at most `CHUNK_BYTES` of token data per chunk when `d` is small enough
/// (so that pass 2 re-reads the chunk from the L1 cache; always at least one block).
#[cfg(target_arch = "x86_64")]
const CHUNK_BLOCKS: usize = 64;
#[cfg(target_arch = "x86_64")]
const CHUNK_BYTES: usize = 16 * 1024;

/// `a_r[kk] += w_r[q] (x_{Wq..Wq+W}[k0 + kk] - x_{i_r}[k0 + kk])` for `kk < KN`, rows `r < R`,
/// over the blocks `q` of a chunk, with the `R KN` accumulators in registers (`xv[r d + k]`:
/// `x_{i_r}[k]` in every lane; `w[r][q]`: the weights of row `r`). Each block is loaded once
/// for the `R` rows; each row's arithmetic is that of `R = 1`.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn accumulate_packed<L: Lanes, const KN: usize, const R: usize>(
    w: &[[L; CHUNK_BLOCKS]; R],
    nq: usize,
    blocks: &[f64],
    dim: usize,
    k0: usize,
    xv: &[L],
    acc: &mut [L],
) {
    assert!(
        nq <= CHUNK_BLOCKS
            && blocks.len() >= nq * L::W * dim
            && k0 + KN <= dim
            && acc.len() >= R * dim
            && xv.len() >= R * dim
    );
    let xk: [[L; KN]; R] = std::array::from_fn(|r| std::array::from_fn(|kk| xv[r * dim + k0 + kk]));
    let mut a: [[L; KN]; R] =
        std::array::from_fn(|r| std::array::from_fn(|kk| acc[r * dim + k0 + kk]));
    for q in 0..nq {
        let base = q * L::W * dim + L::W * k0;
        for kk in 0..KN {
            // SAFETY: base + W kk + W <= (q + 1) W dim <= blocks.len() (asserted above).
            let c = unsafe { L::load_ptr(blocks.as_ptr().add(base + L::W * kk)) };
            for r in 0..R {
                a[r][kk] = w[r][q].mul_add(c.sub(xk[r][kk]), a[r][kk]);
            }
        }
    }
    for r in 0..R {
        acc[r * dim + k0..r * dim + k0 + KN].copy_from_slice(&a[r]);
    }
}

/// SIMD row kernel for any `d` (used for `d > 4`) on [`Packed`] tokens, `R` rows `x_{i_r}`
/// (`xi[r d..(r + 1) d]`) per pass over the tokens: per chunk of blocks (see `CHUNK_BLOCKS`),
/// pass 1 forms `q = |x_j - x_i|^2` (four interleaved partial sums over the coordinates),
/// the weights `2^(q h)`, pass 2 accumulates `w_ij (x_j - x_i)` eight (AVX-512) or four
/// (AVX2) coordinates at a time with the accumulators in registers. Each block of tokens is
/// read once for the `R` rows (at large `d` the kernel is bound by streaming the tokens); the
/// arithmetic of each row does not depend on `R` (sums over `j` in block order, then the
/// tail), so blocked and single rows agree bit for bit. Writes `S_{i_r}` into
/// `out[r d..(r + 1) d]` and returns the `sum_j w_{i_r j}`. Only called inside functions
/// compiled with the features of `L`.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn row_sums_packed<L: Lanes, const CLAMPED: bool, const R: usize>(
    xi: &[f64],
    p: &Packed,
    out: &mut [f64],
) -> [f64; R] {
    let d = p.dim;
    let wd = L::W;
    let n = p.x.len() / d;
    let nblocks = n / wd;
    assert!(
        xi.len() == R * d
            && out.len() == R * d
            && p.width == wd
            && p.blocks.len() == nblocks * wd * d
    );
    let xv: Vec<L> = xi.iter().map(|&v| L::splat(v)).collect();
    let hb = L::splat(p.hb);
    let zero = L::zero();
    let mut acc = vec![zero; R * d];
    let mut aw = [zero; R];
    let mut wbuf = [[zero; CHUNK_BLOCKS]; R];
    let chunk_blocks = (CHUNK_BYTES / (8 * wd * d)).clamp(1, CHUNK_BLOCKS);
    for c0 in (0..nblocks).step_by(chunk_blocks) {
        let c1 = (c0 + chunk_blocks).min(nblocks);
        let chunk = &p.blocks[c0 * wd * d..c1 * wd * d];
        for (q, blk) in chunk.chunks_exact(wd * d).enumerate() {
            // Per row, partial sum s takes the coordinates k = s mod 4 (registers, not an
            // indexed array).
            let mut z = [[zero; 4]; R];
            let mut term = |k: usize, s: usize| {
                // SAFETY: W k + W <= W d = blk.len().
                let c = unsafe { L::load_ptr(blk.as_ptr().add(wd * k)) };
                for r in 0..R {
                    let dk = c.sub(xv[r * d + k]);
                    z[r][s] = dk.mul_add(dk, z[r][s]);
                }
            };
            let mut k = 0;
            while k + 4 <= d {
                for s in 0..4 {
                    term(k + s, s);
                }
                k += 4;
            }
            for s in 0..3 {
                if k + s < d {
                    term(k + s, s);
                }
            }
            for r in 0..R {
                let qr = z[r][0].add(z[r][1]).add(z[r][2].add(z[r][3]));
                let w = qr.exp2_product::<CLAMPED>(hb);
                wbuf[r][q] = w;
                aw[r] = aw[r].add(w);
            }
        }
        let nq = c1 - c0;
        let mut k0 = 0;
        // Groups of 8 coordinates with 32 vector registers (AVX-512), of 4 with 16 (AVX2:
        // the accumulators of the R rows then stay in registers).
        let group = if L::W >= 8 { 8 } else { 4 };
        while k0 + group <= d {
            if group == 8 {
                accumulate_packed::<L, 8, R>(&wbuf, nq, chunk, d, k0, &xv, &mut acc);
            } else {
                accumulate_packed::<L, 4, R>(&wbuf, nq, chunk, d, k0, &xv, &mut acc);
            }
            k0 += group;
        }
        match d - k0 {
            1 => accumulate_packed::<L, 1, R>(&wbuf, nq, chunk, d, k0, &xv, &mut acc),
            2 => accumulate_packed::<L, 2, R>(&wbuf, nq, chunk, d, k0, &xv, &mut acc),
            3 => accumulate_packed::<L, 3, R>(&wbuf, nq, chunk, d, k0, &xv, &mut acc),
            4 => accumulate_packed::<L, 4, R>(&wbuf, nq, chunk, d, k0, &xv, &mut acc),
            5 => accumulate_packed::<L, 5, R>(&wbuf, nq, chunk, d, k0, &xv, &mut acc),
            6 => accumulate_packed::<L, 6, R>(&wbuf, nq, chunk, d, k0, &xv, &mut acc),
            7 => accumulate_packed::<L, 7, R>(&wbuf, nq, chunk, d, k0, &xv, &mut acc),
            _ => {}
        }
    }
    let mut sw = [0.0; R];
    for r in 0..R {
        let (xr, or) = (&xi[r * d..(r + 1) * d], &mut out[r * d..(r + 1) * d]);
        for k in 0..d {
            or[k] = acc[r * d + k].sum_in_order();
        }
        sw[r] = aw[r].sum_in_order();
        for xj in p.x.chunks_exact(d).skip(wd * nblocks) {
            let w = exp2_product::<true>(distance2::<true>(xr, |k| xj[k]), p.hb);
            for k in 0..d {
                or[k] = madd::<true>(w, xj[k] - xr[k], or[k]);
            }
            sw[r] += w;
        }
    }
    sw
}

/// [`row_sums_packed`] with AVX2 + FMA (4 lanes).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn row_sums_packed_avx2<const CLAMPED: bool, const R: usize>(
    xi: &[f64],
    p: &Packed,
    out: &mut [f64],
) -> [f64; R] {
    row_sums_packed::<Avx2, CLAMPED, R>(xi, p, out)
}

/// [`row_sums_packed`] with AVX-512F (8 lanes; AVX2 + FMA for the scalar tail).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2,fma")]
fn row_sums_packed_avx512<const CLAMPED: bool, const R: usize>(
    xi: &[f64],
    p: &Packed,
    out: &mut [f64],
) -> [f64; R] {
    row_sums_packed::<Avx512, CLAMPED, R>(xi, p, out)
}

/// Rows per pass of the packed row kernel over the tokens (see [`row_sums_packed`]).
#[cfg(target_arch = "x86_64")]
const PACKED_ROWS: usize = 2;

/// Per-row sums `[sum_j w_ij (x_j - x_i) (d values), sum_j w_ij]` by the packed SIMD row
/// kernel of `path` (AVX-512 or AVX2 + FMA, checked by the caller), `rows` rows per pass over
/// the tokens (1 or [`PACKED_ROWS`]; the results do not depend on it).
#[cfg(target_arch = "x86_64")]
fn packed_sums(x: &[f64], dim: usize, beta: f64, path: SimdPath, rows: usize) -> Vec<f64> {
    assert!(path != SimdPath::Portable && path.is_available() && SimdPath::Avx2Fma.is_available());
    assert!(rows == 1 || rows == PACKED_ROWS);
    let wide = path == SimdPath::Avx512;
    let p = Packed::new(x, dim, beta, if wide { Avx512::W } else { Avx2::W });
    let clamped = needs_clamp(p.hb);
    let w = dim + 1;
    let mut sums = vec![0.0; x.len() / dim * w];
    // SAFETY: the features of `path` were detected (asserted above).
    let one = |xi: &[f64], o: &mut [f64]| unsafe {
        let s: [f64; 1] = match (wide, clamped) {
            (true, true) => row_sums_packed_avx512::<true, 1>(xi, &p, o),
            (true, false) => row_sums_packed_avx512::<false, 1>(xi, &p, o),
            (false, true) => row_sums_packed_avx2::<true, 1>(xi, &p, o),
            (false, false) => row_sums_packed_avx2::<false, 1>(xi, &p, o),
        };
        s
    };
    // SAFETY: as above.
    let many = |xi: &[f64], o: &mut [f64]| unsafe {
        match (wide, clamped) {
            (true, true) => row_sums_packed_avx512::<true, PACKED_ROWS>(xi, &p, o),
            (true, false) => row_sums_packed_avx512::<false, PACKED_ROWS>(xi, &p, o),
            (false, true) => row_sums_packed_avx2::<true, PACKED_ROWS>(xi, &p, o),
            (false, false) => row_sums_packed_avx2::<false, PACKED_ROWS>(xi, &p, o),
        }
    };
    sums.par_chunks_mut(w * ROWS_PER_TASK)
        .zip(x.par_chunks(dim * ROWS_PER_TASK))
        .for_each(|(out, rows_x)| {
            let mut s = vec![0.0; rows * dim];
            let mut r0 = 0;
            let nrows = rows_x.len() / dim;
            while r0 < nrows {
                let r = if rows > 1 && r0 + rows <= nrows {
                    rows
                } else {
                    1
                };
                let xi = &rows_x[r0 * dim..(r0 + r) * dim];
                let sw: Vec<f64> = if r == 1 {
                    one(xi, &mut s[..dim]).to_vec()
                } else {
                    many(xi, &mut s[..r * dim]).to_vec()
                };
                for (rr, swr) in sw.into_iter().enumerate() {
                    let o = &mut out[(r0 + rr) * w..(r0 + rr + 1) * w];
                    o[..dim].copy_from_slice(&s[rr * dim..(rr + 1) * dim]);
                    o[dim] = swr;
                }
                r0 += r;
            }
        });
    sums
}

/// The columns of one tile (block `J`, at most `TILE` tokens).
#[cfg(target_arch = "x86_64")]
struct TileCols<'a, const D: usize> {
    plain: [&'a [f64]; D],
    hb: f64,
}

/// End of one tile row: add the lane sums of the vector accumulators `a` (coordinates) and `aw`
/// (weights) to `out`, then the scalar tail `j = padded..nj` of the columns (and, when `SYM`,
/// its contributions `w_ij (x_j - x_i)` (negated column sums) and, when `COLW`, `w_ij` to the
/// column tail sums `coltail`), in a fixed order. Without `COLW` the row's weight entry
/// receives its weight sum twice in a symmetric tile (once for the row, once for the columns,
/// whose weight sums are not formed): the entries then add up to the total weight
/// `sum_ij w_ij` but are not the per-row sums. Only called inside functions compiled with FMA.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn finish_tile_row<L: Lanes, const D: usize, const SYM: bool, const COLW: bool>(
    xi: &[f64],
    a: [L; D],
    aw: L,
    cols: &TileCols<D>,
    padded: usize,
    out: &mut [f64],
    coltail: &mut [f64],
) {
    let nj = cols.plain[0].len();
    for k in 0..D {
        out[k] += a[k].sum_in_order();
    }
    let mut sw = aw.sum_in_order();
    let mut tail = [0.0f64; D];
    for j in padded..nj {
        let q = distance2::<true>(xi, |k| cols.plain[k][j]);
        let w = exp2_product::<true>(q, cols.hb);
        for k in 0..D {
            tail[k] = madd::<true>(w, cols.plain[k][j] - xi[k], tail[k]);
        }
        sw += w;
        if SYM {
            let t = &mut coltail[(j - padded) * (D + 1)..(j - padded + 1) * (D + 1)];
            for k in 0..D {
                t[k] = madd::<true>(w, cols.plain[k][j] - xi[k], t[k]);
            }
            if COLW {
                t[D] += w;
            }
        }
    }
    for k in 0..D {
        out[k] += tail[k];
    }
    out[D] += if SYM && !COLW { 2.0 * sw } else { sw };
}

/// The shapes both tile loops rely on for their unchecked loads and stores: `R <= 2` rows of
/// `D <= 4` values, `padded <= nj <= TILE` a multiple of the lane count, every column `nj` long.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn check_tile_rows<L: Lanes, const D: usize, const R: usize>(
    x: &[f64],
    cols: &TileCols<D>,
    padded: usize,
    out: &[f64],
) {
    const { assert!(R <= 2 && D <= 4) };
    let nj = cols.plain[0].len();
    assert!(
        padded <= nj
            && padded.is_multiple_of(L::W)
            && nj <= TILE
            && x.len() == R * D
            && out.len() == R * (D + 1)
    );
    for k in 0..D {
        assert!(cols.plain[k].len() == nj);
    }
}

/// One block of `W` columns for `R` rows: `a[r][k] += w_r d_rk`, `aw[r] += w_r` and, when `SYM`,
/// the column sums `colacc[k * padded + j] += w_r d_rk` (and `+= w_r` when `COLW`), row `r`
/// after row `r - 1` (`(colacc, padded, j)` as `cols`). Shared by both tile loops, so they give
/// the same bits.
///
/// # Safety
///
/// `cols.0[k * padded + j..][..W]` must be writable for `k <= D` (`k < D` without `COLW`).
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn accumulate_block<
    L: Lanes,
    const D: usize,
    const R: usize,
    const SYM: bool,
    const COLW: bool,
>(
    w: &[L; R],
    dd: &[[L; D]; R],
    a: &mut [[L; D]; R],
    aw: &mut [L; R],
    (ap, padded, j): (*mut f64, usize, usize),
) {
    for r in 0..R {
        for k in 0..D {
            a[r][k] = w[r].mul_add(dd[r][k], a[r][k]);
        }
        aw[r] = aw[r].add(w[r]);
    }
    if SYM {
        // SAFETY: the caller guarantees the slots are writable.
        unsafe {
            for k in 0..D {
                let slot = ap.add(k * padded + j);
                let mut cur = L::load_ptr(slot);
                for r in 0..R {
                    cur = w[r].mul_add(dd[r][k], cur);
                }
                cur.store_ptr(slot);
            }
            if COLW {
                let slot = ap.add(D * padded + j);
                let mut cur = L::load_ptr(slot);
                for r in 0..R {
                    cur = cur.add(w[r]);
                }
                cur.store_ptr(slot);
            }
        }
    }
}

/// [`finish_tile_row`] for each of the `R` rows `x` (`R x D`) into `out` (`R x (D + 1)`).
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn finish_tile_rows<L: Lanes, const D: usize, const R: usize, const SYM: bool, const COLW: bool>(
    x: &[f64],
    a: [[L; D]; R],
    aw: [L; R],
    cols: &TileCols<D>,
    padded: usize,
    out: &mut [f64],
    coltail: &mut [f64],
) {
    for r in 0..R {
        finish_tile_row::<L, D, SYM, COLW>(
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

/// `R` consecutive rows `x` (`R x D`) of a tile against its columns, in one pass over blocks of
/// `W` columns (`j < padded`): the differences `d_rj = x_j - x_r`, `q = |d_rj|^2`, the weights
/// `w_rj = 2^(q h)`; `sum_j w_rj d_rj` and `sum_j w_rj` go to vector accumulators (then `out`,
/// `R x (D + 1)`) and, when `SYM`, `w_rj d_rj` (the negated column contribution
/// `w_rj (x_r - x_j)`) and, when `COLW`, `w_rj` to the column sums `colacc[k * padded + j]`,
/// row `r` after row `r - 1`. Only called inside functions compiled with the features of `L`
/// and FMA.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn tile_rows<
    L: Lanes,
    const D: usize,
    const R: usize,
    const SYM: bool,
    const CLAMPED: bool,
    const COLW: bool,
>(
    x: &[f64],
    cols: &TileCols<D>,
    padded: usize,
    colacc: &mut [f64; 5 * TILE],
    coltail: &mut [f64],
    out: &mut [f64],
) {
    check_tile_rows::<L, D, R>(x, cols, padded, out);
    let xs: [[L; D]; R] = std::array::from_fn(|r| std::array::from_fn(|k| L::splat(x[r * D + k])));
    let hb = L::splat(cols.hb);
    let cp: [*const f64; D] = std::array::from_fn(|k| cols.plain[k].as_ptr());
    let ap = colacc.as_mut_ptr();
    let mut a = [[L::zero(); D]; R];
    let mut aw = [L::zero(); R];
    for j in (0..padded).step_by(L::W) {
        // SAFETY: j + W <= padded <= nj, the length of every column (asserted above); colacc
        // holds 5 * TILE >= (D + 1) * padded values.
        unsafe {
            let c: [L; D] = std::array::from_fn(|k| L::load_ptr(cp[k].add(j)));
            let dd: [[L; D]; R] =
                std::array::from_fn(|r| std::array::from_fn(|k| c[k].sub(xs[r][k])));
            let w: [L; R] = std::array::from_fn(|r| {
                let mut q = dd[r][0].mul(dd[r][0]);
                for k in 1..D {
                    q = dd[r][k].mul_add(dd[r][k], q);
                }
                q.exp2_product::<CLAMPED>(hb)
            });
            accumulate_block::<L, D, R, SYM, COLW>(&w, &dd, &mut a, &mut aw, (ap, padded, j));
        }
    }
    finish_tile_rows::<L, D, R, SYM, COLW>(x, a, aw, cols, padded, out, coltail);
}

/// [`tile_rows`] in two passes (for AVX2, whose 16 vector registers cannot hold the one-pass
/// loop): pass 1 writes the weights `w_rj` into `wbuf[r * TILE + j]`, forming the squared
/// distances of block `b + 1` while the exponentials of block `b` are evaluated (software
/// pipelining); pass 2 forms the differences again and accumulates exactly as [`tile_rows`]
/// does, so both give the same bits.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn tile_rows_two_pass<
    L: Lanes,
    const D: usize,
    const R: usize,
    const SYM: bool,
    const CLAMPED: bool,
    const COLW: bool,
>(
    x: &[f64],
    cols: &TileCols<D>,
    padded: usize,
    wbuf: &mut [f64; 2 * TILE],
    colacc: &mut [f64; 5 * TILE],
    coltail: &mut [f64],
    out: &mut [f64],
) {
    check_tile_rows::<L, D, R>(x, cols, padded, out);
    let blocks = padded / L::W;
    let xs: [[L; D]; R] = std::array::from_fn(|r| std::array::from_fn(|k| L::splat(x[r * D + k])));
    let hb = L::splat(cols.hb);
    let cp: [*const f64; D] = std::array::from_fn(|k| cols.plain[k].as_ptr());
    let wp = wbuf.as_mut_ptr();
    let ap = colacc.as_mut_ptr();
    // SAFETY (both passes): j + W <= padded <= nj, the length of every column (asserted above);
    // wbuf holds 2 * TILE >= R * TILE values and colacc 5 * TILE >= (D + 1) * padded.
    let distances = |j: usize| -> [L; R] {
        // SAFETY: see above (j + W <= padded).
        let c: [L; D] = std::array::from_fn(|k| unsafe { L::load_ptr(cp[k].add(j)) });
        std::array::from_fn(|r| {
            let d0 = c[0].sub(xs[r][0]);
            let mut q = d0.mul(d0);
            for k in 1..D {
                let dk = c[k].sub(xs[r][k]);
                q = dk.mul_add(dk, q);
            }
            q
        })
    };
    if blocks > 0 {
        let mut q = distances(0);
        for b in 0..blocks {
            let j = L::W * b;
            let next = if b + 1 < blocks {
                distances(j + L::W)
            } else {
                q
            };
            for r in 0..R {
                let w = q[r].exp2_product::<CLAMPED>(hb);
                unsafe { w.store_ptr(wp.add(r * TILE + j)) };
            }
            q = next;
        }
    }
    let mut a = [[L::zero(); D]; R];
    let mut aw = [L::zero(); R];
    for j in (0..padded).step_by(L::W) {
        unsafe {
            let c: [L; D] = std::array::from_fn(|k| L::load_ptr(cp[k].add(j)));
            let w: [L; R] = std::array::from_fn(|r| L::load_ptr(wp.add(r * TILE + j)));
            let dd: [[L; D]; R] =
                std::array::from_fn(|r| std::array::from_fn(|k| c[k].sub(xs[r][k])));
            accumulate_block::<L, D, R, SYM, COLW>(&w, &dd, &mut a, &mut aw, (ap, padded, j));
        }
    }
    finish_tile_rows::<L, D, R, SYM, COLW>(x, a, aw, cols, padded, out, coltail);
}

/// Tile kernel: for tokens `i` of block `I` (rows `x`, `D` values each) and `j` of block `J`
/// (`cols`), adds `sum_j w_ij (x_j - x_i)` and `sum_j w_ij` to `row_out[i]` (`D + 1` values)
/// and, when `SYM`, `sum_i w_ij (x_i - x_j)` and (when `COLW`) `sum_i w_ij` to `col_out[j]`,
/// each in a fixed order (lanes of `W` over `j` for the rows, `i` in order for the columns;
/// see [`finish_tile_row`] for the weight entries without `COLW`). Only called inside
/// functions compiled with the features of `L` and FMA.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn tile_sums_lanes<
    L: Lanes,
    const D: usize,
    const SYM: bool,
    const CLAMPED: bool,
    const COLW: bool,
>(
    x: &[f64],
    cols: &TileCols<D>,
    row_out: &mut [f64],
    col_out: &mut [f64],
) {
    let nj = cols.plain[0].len();
    let padded = nj / L::W * L::W;
    let mut colacc = [0.0f64; 5 * TILE];
    let mut coltail = [0.0f64; 5 * 8];
    let mut wbuf = [0.0f64; 2 * TILE];
    let nrows = x.len() / D;
    let w = D + 1;
    // One pass with 32 vector registers (AVX-512), two with 16 (AVX2); same bits either way.
    macro_rules! rows {
        ($r:literal, $row:expr) => {{
            let (xr, out) = (
                &x[$row * D..($row + $r) * D],
                &mut row_out[$row * w..($row + $r) * w],
            );
            if L::W >= 8 {
                tile_rows::<L, D, $r, SYM, CLAMPED, COLW>(
                    xr,
                    cols,
                    padded,
                    &mut colacc,
                    &mut coltail,
                    out,
                )
            } else {
                tile_rows_two_pass::<L, D, $r, SYM, CLAMPED, COLW>(
                    xr,
                    cols,
                    padded,
                    &mut wbuf,
                    &mut colacc,
                    &mut coltail,
                    out,
                )
            }
        }};
    }
    let mut r = 0;
    while r + 2 <= nrows {
        rows!(2, r);
        r += 2;
    }
    if r < nrows {
        rows!(1, r);
    }
    if SYM {
        // The coordinate sums were accumulated negated (w (x_j - x_i)); negation is exact.
        for j in 0..padded {
            for k in 0..D {
                col_out[j * w + k] -= colacc[k * padded + j];
            }
            if COLW {
                col_out[j * w + D] += colacc[D * padded + j];
            }
        }
        for j in padded..nj {
            for k in 0..D {
                col_out[j * w + k] -= coltail[(j - padded) * w + k];
            }
            if COLW {
                col_out[j * w + D] += coltail[(j - padded) * w + D];
            }
        }
    }
}

/// [`tile_sums_lanes`] with AVX2 + FMA (4 lanes).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn tile_sums_avx2<const D: usize, const SYM: bool, const CLAMPED: bool, const COLW: bool>(
    x: &[f64],
    cols: &TileCols<D>,
    row_out: &mut [f64],
    col_out: &mut [f64],
) {
    tile_sums_lanes::<Avx2, D, SYM, CLAMPED, COLW>(x, cols, row_out, col_out)
}

/// [`tile_sums_lanes`] with AVX-512F (8 lanes; AVX2 + FMA for the scalar tails).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2,fma")]
fn tile_sums_avx512<const D: usize, const SYM: bool, const CLAMPED: bool, const COLW: bool>(
    x: &[f64],
    cols: &TileCols<D>,
    row_out: &mut [f64],
    col_out: &mut [f64],
) {
    tile_sums_lanes::<Avx512, D, SYM, CLAMPED, COLW>(x, cols, row_out, col_out)
}

/// One tile `(I, J)` for `D` known at compile time (`symmetric` when `I != J`), with the
/// instruction set `path` (AVX-512 or AVX2 + FMA, checked by the caller).
#[cfg(target_arch = "x86_64")]
fn tile_sums<const D: usize>(
    x: &[f64],
    cols: &Columns,
    (j0, j1): (usize, usize),
    row_out: &mut [f64],
    col_out: &mut [f64],
    symmetric: bool,
    (path, colw): (SimdPath, bool),
) {
    let tc = TileCols::<D> {
        plain: std::array::from_fn(|k| &cols.plain[k][j0..j1]),
        hb: cols.hb,
    };
    let clamped = needs_clamp(cols.hb);
    macro_rules! dispatch {
        ($f:ident) => {
            match (symmetric, clamped, colw) {
                (true, true, true) => $f::<D, true, true, true>(x, &tc, row_out, col_out),
                (true, true, false) => $f::<D, true, true, false>(x, &tc, row_out, col_out),
                (true, false, true) => $f::<D, true, false, true>(x, &tc, row_out, col_out),
                (true, false, false) => $f::<D, true, false, false>(x, &tc, row_out, col_out),
                // Diagonal tiles form no column sums.
                (false, true, _) => $f::<D, false, true, true>(x, &tc, row_out, col_out),
                (false, false, _) => $f::<D, false, false, true>(x, &tc, row_out, col_out),
            }
        };
    }
    // SAFETY: only called after detection of the features of `path` (see `symmetric_sums`).
    unsafe {
        if path == SimdPath::Avx512 {
            dispatch!(tile_sums_avx512)
        } else {
            dispatch!(tile_sums_avx2)
        }
    }
}

#[cfg(target_arch = "x86_64")]
type TileFn = fn(&[f64], &Columns, (usize, usize), &mut [f64], &mut [f64], bool, (SimdPath, bool));

/// Symmetric tiled exact sums (SIMD, `d <= 4`): each pair `w_ij = w_ji` is evaluated once.
/// Returns per-row `[sum_j w_ij (x_j - x_i) (d values), sum_j w_ij]`; with `row_weights =
/// false` (USA, which needs only the total weight) the last entry of a row is its share of the
/// total, the column weight sums are not formed (see `finish_tile_row`).
///
/// The tiles `(I, J)`, `I <= J`, in row-major order, are processed in groups of `TILE_GROUP`:
/// the tiles of a group run in parallel, each writing its row part (for block `I`) and its
/// column part (for block `J`) into its own slot of a buffer; then every block adds the parts
/// addressed to it in the order of the tiles in the group. This order is fixed, so results do
/// not depend on the thread count; a group is one synchronisation (about `N^2 / (2 TILE^2
/// TILE_GROUP)` in all) and the buffer, kept per thread between evaluations, holds
/// `2 TILE_GROUP TILE (d + 1)` values (4 MB at `d = 3`) whatever `N`.
#[cfg(target_arch = "x86_64")]
fn symmetric_sums(
    x: &[f64],
    cols: &Columns,
    dim: usize,
    path: SimdPath,
    row_weights: bool,
) -> Vec<f64> {
    assert!(
        path != SimdPath::Portable
            && path.is_available()
            && SimdPath::Avx2Fma.is_available()
            && (2..=4).contains(&dim)
    );
    let n = x.len() / dim;
    let nb = n.div_ceil(TILE);
    let w = dim + 1;
    let tile: TileFn = match dim {
        2 => tile_sums::<2>,
        3 => tile_sums::<3>,
        _ => tile_sums::<4>,
    };
    let range = |b: usize| (b * TILE, ((b + 1) * TILE).min(n));
    let tiles: Vec<(usize, usize)> = (0..nb).flat_map(|i| (i..nb).map(move |j| (i, j))).collect();
    let slot = 2 * TILE * w;
    let mut out = vec![0.0; n * w];
    // The part buffer is kept per thread between evaluations (every slot is cleared by its
    // tile before use); taken out of its cell, so a nested evaluation on the same thread gets a
    // fresh one.
    let mut parts = PARTS.take();
    parts.resize(parts.len().max(tiles.len().min(TILE_GROUP) * slot), 0.0);
    for group in tiles.chunks(TILE_GROUP) {
        parts[..group.len() * slot]
            .par_chunks_mut(slot)
            .zip(group.par_iter())
            .for_each(|(part, &(bi, bj))| {
                let (i0, i1) = range(bi);
                let (j0, j1) = range(bj);
                let (rows, colsum) = part.split_at_mut(TILE * w);
                let rows = &mut rows[..(i1 - i0) * w];
                let colsum = &mut colsum[..if bi == bj { 0 } else { (j1 - j0) * w }];
                rows.fill(0.0);
                colsum.fill(0.0);
                tile(
                    &x[i0 * dim..i1 * dim],
                    cols,
                    (j0, j1),
                    rows,
                    colsum,
                    bi != bj,
                    (path, row_weights),
                );
            });
        let parts = &parts;
        out.par_chunks_mut(TILE * w)
            .enumerate()
            .for_each(|(block, o)| {
                let len = o.len();
                for (t, &(bi, bj)) in group.iter().enumerate() {
                    let part = &parts[t * slot..(t + 1) * slot];
                    if bi == block {
                        o.iter_mut().zip(&part[..len]).for_each(|(a, b)| *a += b);
                    }
                    if bj == block && bi != bj {
                        let colsum = &part[TILE * w..TILE * w + len];
                        o.iter_mut().zip(colsum).for_each(|(a, b)| *a += b);
                    }
                }
            });
    }
    PARTS.set(parts);
    out
}

#[cfg(target_arch = "x86_64")]
thread_local! {
    /// The per-tile parts of [`symmetric_sums`], kept between evaluations (4 MB at `d = 3`).
    static PARTS: std::cell::Cell<Vec<f64>> = const { std::cell::Cell::new(Vec::new()) };
}

/// Tiles per group of [`symmetric_sums`] (one synchronisation per group).
#[cfg(target_arch = "x86_64")]
const TILE_GROUP: usize = 256;

/// Per-row sums `[sum_j w_ij (x_j - x_i) (d values), sum_j w_ij]` by the portable row kernels.
fn row_by_row_sums(x: &[f64], cols: &Columns, dim: usize) -> Vec<f64> {
    let kernel = select_row_kernel(dim);
    sums_by_row(x, dim, |xi, acc| kernel(xi, cols, acc))
}

/// Per-row sums `[sum_j w_ij (x_j - x_i) (d values), sum_j w_ij]`, rows in parallel tasks:
/// `row(x_i, acc)` writes `sum_j w_ij (x_j - x_i)` into `acc` and returns `sum_j w_ij`.
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

/// Velocities from per-row sums `[S_i = sum_j w_ij (x_j - x_i), sum_j w_ij]`:
/// `v_i = S_i/c - <x_i, S_i/c> x_i` with `c = N` (USA) or `c = sum_j w_ij` (SA); returns the
/// mean kernel.
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
            let path = self.effective_path();
            if path != SimdPath::Portable {
                let sums = if d <= 4 {
                    symmetric_sums(
                        x,
                        &Columns::new(x, d, self.beta),
                        d,
                        path,
                        self.model == Model::Sa,
                    )
                } else {
                    packed_sums(x, d, self.beta, path, PACKED_ROWS)
                };
                return finish_rows(x, &sums, d, self.model, v);
            }
        }
        let sums = row_by_row_sums(x, &Columns::new(x, d, self.beta), d);
        finish_rows(x, &sums, d, self.model, v)
    }
}

#[cfg(all(test, target_arch = "x86_64"))]
mod tests {
    use super::*;

    /// Rows blocked `PACKED_ROWS` per pass over the tokens give bit-identical sums to single
    /// rows, on every SIMD path the machine has (odd row counts, ragged tails, clamped and not).
    #[test]
    fn blocked_rows_equal_single_rows_bit_for_bit() {
        let paths: Vec<SimdPath> = [SimdPath::Avx512, SimdPath::Avx2Fma]
            .into_iter()
            .filter(|p| p.is_available() && SimdPath::Avx2Fma.is_available())
            .collect();
        for path in paths {
            for (dim, n, beta) in [
                (5, 131, 9.0),
                (8, 200, 0.5),
                (13, 67, 1000.0),
                (32, 257, 9.0),
            ] {
                let x = crate::particles::TokenState::uniform(n, dim, 1, 7).x;
                let single = packed_sums(&x, dim, beta, path, 1);
                let blocked = packed_sums(&x, dim, beta, path, PACKED_ROWS);
                assert_eq!(single.len(), n * (dim + 1));
                for (a, b) in single.iter().zip(&blocked) {
                    assert_eq!(a.to_bits(), b.to_bits(), "{path:?} d = {dim}, N = {n}");
                }
            }
        }
    }
}
