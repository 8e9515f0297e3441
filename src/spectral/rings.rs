//! Legendre stage of the sphere transform on rings: for each order `m`, the sums over degrees
//! `l` (synthesis) or over rings (analysis) of the orthonormal `pbar_l^m` at the ring
//! latitudes, generated on the fly by the rescaled recurrence of
//! [`crate::special::legendre::LegendreRecurrence`].
//!
//! - Equatorial symmetry: rings come in pairs `(north, south)` with `x_south = -x_north`, and
//!   `pbar_l^m(-x) = (-1)^{l-m} pbar_l^m(x)`, so one recurrence serves both rings (sums over
//!   even and odd `l - m` kept apart). Pairs are ordered from the poles to the equator.
//! - SIMD across ring pairs: `W` pairs per vector ([`super::simd::Lanes`]), `NV` vectors in
//!   flight to hide the latency of the recurrence.
//! - Polar skipping: each pair starts at its first degree with `|pbar_l^m| > 2^-60`
//!   (computed once with an extended exponent; smaller values are negligible against the
//!   `O(1)` harmonics they are summed with). Lanes of a vector that start later hold zeros
//!   until their start degree, where their values are inserted; pairs whose values stay below
//!   the threshold up to `L` are skipped.

// Index loops over orders and packed tables are written out.
#![allow(clippy::needless_range_loop)]

#[cfg(target_arch = "x86_64")]
use super::simd::{Avx2, Avx512};
use super::simd::{Lanes, Portable, SimdPath};
use crate::special::legendre::LegendreRecurrence;

/// Values `|pbar_l^m| <= 2^-60` are skipped.
const SIGNIFICANT: f64 = 8.673_617_379_884_035e-19;
/// Ring pairs are padded to a multiple of the widest lane count.
pub(crate) const PAIR_ALIGN: usize = 8;

/// Ring pairs of a grid with the start table of the recurrence.
pub(crate) struct RingLegendre {
    pub(crate) rec: LegendreRecurrence,
    lmax: usize,
    /// Number of ring pairs (the equator ring, if any, pairs with itself).
    pub(crate) npairs: usize,
    /// Pairs padded to [`PAIR_ALIGN`].
    pub(crate) np_pad: usize,
    /// `x = cos th >= 0` of the northern ring of each pair (0 for padding).
    x: Vec<f64>,
    /// First significant degree of `(m, pair)` at `m * np_pad + p`, as `f64` (`L + 1`: none).
    start: Vec<f64>,
    /// Rescaled values `q_{l-1}`, `q_l` at the first significant degree.
    q_prev: Vec<f64>,
    q_cur: Vec<f64>,
    /// First pair (a multiple of [`PAIR_ALIGN`]) with a significant value, per order.
    first: Vec<usize>,
}

impl RingLegendre {
    /// Tables for degrees `<= lmax` at the northern-ring nodes `x_north` (`>= 0`, from the
    /// pole to the equator) with `s = sin th` given alongside.
    pub(crate) fn new(lmax: usize, x_north: &[f64], s_north: &[f64]) -> Self {
        let rec = LegendreRecurrence::new(lmax);
        let npairs = x_north.len();
        let np_pad = npairs.div_ceil(PAIR_ALIGN) * PAIR_ALIGN;
        let mut x = vec![0.0; np_pad];
        x[..npairs].copy_from_slice(x_north);
        let none = (lmax + 1) as f64;
        let mut start = vec![none; (lmax + 1) * np_pad];
        let mut q_prev = vec![0.0; (lmax + 1) * np_pad];
        let mut q_cur = vec![0.0; (lmax + 1) * np_pad];
        let mut first = vec![np_pad; lmax + 1];
        for p in 0..npairs {
            for m in 0..=lmax {
                // The first significant degree grows with m: once a pair has none, it has
                // none for every larger order.
                let Some((l, qp, qc)) = rec.first_significant(m, x[p], s_north[p], SIGNIFICANT)
                else {
                    break;
                };
                let i = m * np_pad + p;
                start[i] = l as f64;
                q_prev[i] = qp;
                q_cur[i] = qc;
                first[m] = first[m].min(p / PAIR_ALIGN * PAIR_ALIGN);
            }
        }
        RingLegendre {
            rec,
            lmax,
            npairs,
            np_pad,
            x,
            start,
            q_prev,
            q_cur,
            first,
        }
    }

    /// Fraction of the `(m, l, pair)` triangle that the recurrence visits (diagnostic).
    pub(crate) fn work_fraction(&self) -> f64 {
        let l1 = (self.lmax + 1) as f64;
        let mut done = 0.0;
        for m in 0..=self.lmax {
            for p in 0..self.npairs {
                done += l1 - self.start[m * self.np_pad + p];
            }
        }
        done / (self.npairs as f64 * l1 * (l1 + 1.0) / 2.0)
    }

    /// Synthesis of order `m`: `fr[l-m]`, `fi[l-m]` are the (pre-scaled) coefficients of
    /// `q_l`; `out` (length `4 np_pad`) receives `[north re | north im | south re | south im]`
    /// of `sum_l f_l pbar_l^m` at every pair.
    pub(crate) fn synthesis(
        &self,
        path: SimdPath,
        m: usize,
        fr: &[f64],
        fi: &[f64],
        out: &mut [f64],
    ) {
        match path {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: the path is only selected when the processor has the features.
            SimdPath::Avx512 => unsafe { synthesis_avx512(self, m, fr, fi, out) },
            #[cfg(target_arch = "x86_64")]
            // SAFETY: as above.
            SimdPath::Avx2Fma => unsafe { synthesis_avx2(self, m, fr, fi, out) },
            _ => synthesis_order::<Portable, 2>(self, m, fr, fi, out),
        }
    }

    /// Analysis of order `m`: `vin` (length `4 np_pad`) holds `[even re | even im | odd re |
    /// odd im]` combinations of the weighted ring spectra of every pair; `acc` (length
    /// `>= 2 * 8 * (L + 2 - m)`) is work space; `fr[l-m]`, `fi[l-m]` receive
    /// `sum_pairs q_l (.)` (to be multiplied by `c_l`).
    pub(crate) fn analysis(
        &self,
        path: SimdPath,
        m: usize,
        vin: &[f64],
        acc: &mut [f64],
        fr: &mut [f64],
        fi: &mut [f64],
    ) {
        match path {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: the path is only selected when the processor has the features.
            SimdPath::Avx512 => unsafe { analysis_avx512(self, m, vin, acc, fr, fi) },
            #[cfg(target_arch = "x86_64")]
            // SAFETY: as above.
            SimdPath::Avx2Fma => unsafe { analysis_avx2(self, m, vin, acc, fr, fi) },
            _ => analysis_order::<Portable, 2>(self, m, vin, acc, fr, fi),
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn synthesis_avx512(g: &RingLegendre, m: usize, fr: &[f64], fi: &[f64], out: &mut [f64]) {
    synthesis_order::<Avx512, 4>(g, m, fr, fi, out)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn synthesis_avx2(g: &RingLegendre, m: usize, fr: &[f64], fi: &[f64], out: &mut [f64]) {
    synthesis_order::<Avx2, 2>(g, m, fr, fi, out)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn analysis_avx512(
    g: &RingLegendre,
    m: usize,
    vin: &[f64],
    acc: &mut [f64],
    fr: &mut [f64],
    fi: &mut [f64],
) {
    analysis_order::<Avx512, 4>(g, m, vin, acc, fr, fi)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn analysis_avx2(
    g: &RingLegendre,
    m: usize,
    vin: &[f64],
    acc: &mut [f64],
    fr: &mut [f64],
    fi: &mut [f64],
) {
    analysis_order::<Avx2, 2>(g, m, vin, acc, fr, fi)
}

/// Recurrence state of `NV` vectors of ring pairs at one order (the values live in
/// registers through the degree loop).
struct Recurrence<V: Lanes, const NV: usize> {
    x: [V; NV],
    q: [V; NV],
    qp: [V; NV],
}

impl<V: Lanes, const NV: usize> Recurrence<V, NV> {
    /// `q <- alpha x q - qp` (one degree up).
    #[inline(always)]
    fn advance(&mut self, alpha: f64) {
        let a = V::splat(alpha);
        for k in 0..NV {
            let next = a.mul(self.x[k]).mul_sub(self.q[k], self.qp[k]);
            self.qp[k] = self.q[k];
            self.q[k] = next;
        }
    }
}

/// Where the start table of `NV` vectors of ring pairs at one order sits, and the range of
/// their start degrees (the start values are loaded from the table when inserted, so that
/// they take no registers in the degree loop).
struct Starts<'a, const NV: usize> {
    start: &'a [f64],
    q_prev: &'a [f64],
    q_cur: &'a [f64],
    /// Smallest and largest start degree `<= L` of each vector (`usize::MAX`, 0: none).
    vmin: [usize; NV],
    vmax: [usize; NV],
}

impl<'a, const NV: usize> Starts<'a, NV> {
    /// The start table of the vectors at pairs `p0..p0 + NV W` and a zero recurrence there.
    #[inline(always)]
    fn new<V: Lanes>(g: &'a RingLegendre, m: usize, p0: usize) -> (Self, Recurrence<V, NV>) {
        let base = m * g.np_pad + p0;
        let len = NV * V::W;
        let zero = V::splat(0.0);
        let mut st = Starts {
            start: &g.start[base..base + len],
            q_prev: &g.q_prev[base..base + len],
            q_cur: &g.q_cur[base..base + len],
            vmin: [usize::MAX; NV],
            vmax: [0; NV],
        };
        let mut r = Recurrence {
            x: [zero; NV],
            q: [zero; NV],
            qp: [zero; NV],
        };
        for k in 0..NV {
            r.x[k] = V::load(&g.x[p0 + k * V::W..]);
            for &s in &st.start[k * V::W..(k + 1) * V::W] {
                let s = s as usize;
                if s <= g.lmax {
                    st.vmin[k] = st.vmin[k].min(s);
                    st.vmax[k] = st.vmax[k].max(s);
                }
            }
        }
        (st, r)
    }

    /// `(min, max)` start degree of the block (`min > L`: nothing to do).
    #[inline(always)]
    fn range(&self) -> (usize, usize) {
        let lo = self.vmin.iter().copied().min().unwrap_or(usize::MAX);
        let hi = self.vmax.iter().copied().max().unwrap_or(0);
        (lo, hi)
    }

    /// Insert the start values of the lanes whose start degree is `l`.
    #[inline(always)]
    fn insert<V: Lanes>(&self, l: usize, r: &mut Recurrence<V, NV>) {
        for k in 0..NV {
            if l >= self.vmin[k] && l <= self.vmax[k] {
                let probe = V::splat(l as f64);
                let o = k * V::W;
                let key = V::load(&self.start[o..]);
                r.q[k] = V::select_eq(key, probe, V::load(&self.q_cur[o..]), r.q[k]);
                r.qp[k] = V::select_eq(key, probe, V::load(&self.q_prev[o..]), r.qp[k]);
            }
        }
    }
}

/// Even and odd (in `l - m`) partial sums, real and imaginary, of `NV` vectors.
struct Sums<V: Lanes, const NV: usize> {
    er: [V; NV],
    ei: [V; NV],
    or: [V; NV],
    oi: [V; NV],
}

#[inline(always)]
fn synthesis_order<V: Lanes, const NV: usize>(
    g: &RingLegendre,
    m: usize,
    fr: &[f64],
    fi: &[f64],
    out: &mut [f64],
) {
    let np = g.np_pad;
    let first = g.first[m].min(np);
    for row in out.chunks_mut(np) {
        row[..first].iter_mut().for_each(|v| *v = 0.0);
    }
    let mut p = first;
    while p + NV * V::W <= np {
        synthesis_block::<V, NV>(g, m, p, fr, fi, out);
        p += NV * V::W;
    }
    while p < np {
        synthesis_block::<V, 1>(g, m, p, fr, fi, out);
        p += V::W;
    }
}

#[inline(always)]
fn synthesis_block<V: Lanes, const NV: usize>(
    g: &RingLegendre,
    m: usize,
    p0: usize,
    fr: &[f64],
    fi: &[f64],
    out: &mut [f64],
) {
    let lmax = g.lmax;
    let np = g.np_pad;
    let (st, mut r) = Starts::<NV>::new::<V>(g, m, p0);
    let zero = V::splat(0.0);
    let mut s = Sums {
        er: [zero; NV],
        ei: [zero; NV],
        or: [zero; NV],
        oi: [zero; NV],
    };
    let (lo, hi) = st.range();
    if lo <= lmax {
        let fr = &fr[..lmax + 1 - m];
        let fi = &fi[..lmax + 1 - m];
        let alpha = &g.rec.alpha(m)[..lmax + 2 - m];
        #[inline(always)]
        fn step<V: Lanes, const NV: usize, const ODD: bool>(
            r: &mut Recurrence<V, NV>,
            s: &mut Sums<V, NV>,
            cr: f64,
            ci: f64,
            alpha: f64,
        ) {
            let (cr, ci) = (V::splat(cr), V::splat(ci));
            for k in 0..NV {
                if ODD {
                    s.or[k] = r.q[k].mul_add(cr, s.or[k]);
                    s.oi[k] = r.q[k].mul_add(ci, s.oi[k]);
                } else {
                    s.er[k] = r.q[k].mul_add(cr, s.er[k]);
                    s.ei[k] = r.q[k].mul_add(ci, s.ei[k]);
                }
            }
            r.advance(alpha);
        }
        let mut l = lo;
        while l <= hi {
            st.insert(l, &mut r);
            let j = l - m;
            if j.is_multiple_of(2) {
                step::<V, NV, false>(&mut r, &mut s, fr[j], fi[j], alpha[j + 1]);
            } else {
                step::<V, NV, true>(&mut r, &mut s, fr[j], fi[j], alpha[j + 1]);
            }
            l += 1;
        }
        if l <= lmax && (l - m) % 2 == 1 {
            let j = l - m;
            step::<V, NV, true>(&mut r, &mut s, fr[j], fi[j], alpha[j + 1]);
            l += 1;
        }
        // Main loop: two degrees per iteration, registers only.
        let (mut rr, mut ss) = (r, s);
        while l < lmax {
            let j = l - m;
            step::<V, NV, false>(&mut rr, &mut ss, fr[j], fi[j], alpha[j + 1]);
            step::<V, NV, true>(&mut rr, &mut ss, fr[j + 1], fi[j + 1], alpha[j + 2]);
            l += 2;
        }
        if l == lmax {
            let j = l - m;
            step::<V, NV, false>(&mut rr, &mut ss, fr[j], fi[j], alpha[j + 1]);
        }
        s = ss;
    }
    for k in 0..NV {
        let p = p0 + k * V::W;
        s.er[k].add(s.or[k]).store(&mut out[p..]);
        s.ei[k].add(s.oi[k]).store(&mut out[np + p..]);
        s.er[k].sub(s.or[k]).store(&mut out[2 * np + p..]);
        s.ei[k].sub(s.oi[k]).store(&mut out[3 * np + p..]);
    }
}

#[inline(always)]
fn analysis_order<V: Lanes, const NV: usize>(
    g: &RingLegendre,
    m: usize,
    vin: &[f64],
    acc: &mut [f64],
    fr: &mut [f64],
    fi: &mut [f64],
) {
    let n = g.lmax + 1 - m;
    let w = V::W;
    let (acc_r, acc_i) = acc.split_at_mut(acc.len() / 2);
    acc_r[..n * w].iter_mut().for_each(|v| *v = 0.0);
    acc_i[..n * w].iter_mut().for_each(|v| *v = 0.0);
    let np = g.np_pad;
    let mut p = g.first[m].min(np);
    while p + NV * w <= np {
        analysis_block::<V, NV>(g, m, p, vin, acc_r, acc_i);
        p += NV * w;
    }
    while p < np {
        analysis_block::<V, 1>(g, m, p, vin, acc_r, acc_i);
        p += w;
    }
    for j in 0..n {
        fr[j] = V::load(&acc_r[j * w..]).sum();
        fi[j] = V::load(&acc_i[j * w..]).sum();
    }
}

#[inline(always)]
fn analysis_block<V: Lanes, const NV: usize>(
    g: &RingLegendre,
    m: usize,
    p0: usize,
    vin: &[f64],
    acc_r: &mut [f64],
    acc_i: &mut [f64],
) {
    let lmax = g.lmax;
    let np = g.np_pad;
    let w = V::W;
    let (st, mut r) = Starts::<NV>::new::<V>(g, m, p0);
    let (lo, hi) = st.range();
    if lo > lmax {
        return;
    }
    let zero = V::splat(0.0);
    let mut s = Sums {
        er: [zero; NV],
        ei: [zero; NV],
        or: [zero; NV],
        oi: [zero; NV],
    };
    for k in 0..NV {
        let p = p0 + k * w;
        s.er[k] = V::load(&vin[p..]);
        s.ei[k] = V::load(&vin[np + p..]);
        s.or[k] = V::load(&vin[2 * np + p..]);
        s.oi[k] = V::load(&vin[3 * np + p..]);
    }
    let alpha = &g.rec.alpha(m)[..lmax + 2 - m];
    let n = lmax + 1 - m;
    let acc_r = &mut acc_r[..n * w];
    let acc_i = &mut acc_i[..n * w];
    #[inline(always)]
    fn step<V: Lanes, const NV: usize, const ODD: bool>(
        r: &mut Recurrence<V, NV>,
        s: &Sums<V, NV>,
        ar: &mut [f64],
        ai: &mut [f64],
        alpha: f64,
    ) {
        let mut tr = V::load(ar);
        let mut ti = V::load(ai);
        for k in 0..NV {
            if ODD {
                tr = r.q[k].mul_add(s.or[k], tr);
                ti = r.q[k].mul_add(s.oi[k], ti);
            } else {
                tr = r.q[k].mul_add(s.er[k], tr);
                ti = r.q[k].mul_add(s.ei[k], ti);
            }
        }
        tr.store(ar);
        ti.store(ai);
        r.advance(alpha);
    }
    let mut l = lo;
    while l <= hi {
        st.insert(l, &mut r);
        let j = l - m;
        let (ar, ai) = (&mut acc_r[j * w..], &mut acc_i[j * w..]);
        if j.is_multiple_of(2) {
            step::<V, NV, false>(&mut r, &s, ar, ai, alpha[j + 1]);
        } else {
            step::<V, NV, true>(&mut r, &s, ar, ai, alpha[j + 1]);
        }
        l += 1;
    }
    if l <= lmax && (l - m) % 2 == 1 {
        let j = l - m;
        let (ar, ai) = (&mut acc_r[j * w..], &mut acc_i[j * w..]);
        step::<V, NV, true>(&mut r, &s, ar, ai, alpha[j + 1]);
        l += 1;
    }
    while l < lmax {
        let j = l - m;
        let (ar, ai) = (&mut acc_r[j * w..], &mut acc_i[j * w..]);
        step::<V, NV, false>(&mut r, &s, ar, ai, alpha[j + 1]);
        let (ar, ai) = (&mut acc_r[(j + 1) * w..], &mut acc_i[(j + 1) * w..]);
        step::<V, NV, true>(&mut r, &s, ar, ai, alpha[j + 2]);
        l += 2;
    }
    if l == lmax {
        let j = l - m;
        let (ar, ai) = (&mut acc_r[j * w..], &mut acc_i[j * w..]);
        step::<V, NV, false>(&mut r, &s, ar, ai, alpha[j + 1]);
    }
}
