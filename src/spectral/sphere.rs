//! Spherical harmonic transform on `S^2`: Gauss–Legendre latitudes, real FFT in longitude,
//! orthonormal associated Legendre functions by the three-term recurrence evaluated on the fly.
//!
//! Real harmonics, orthonormal w.r.t. the probability measure `sigma` (see
//! [`crate::special::legendre`]): `Y_l0 = pbar_l^0(cos th)`, `Y_lm^c = sqrt(2) pbar_l^m cos(m ph)`,
//! `Y_lm^s = sqrt(2) pbar_l^m sin(m ph)`. Coefficient layout (degree-ordered):
//! index `l^2` for `Y_l0`, `l^2 + 2m - 1` for `Y_lm^c`, `l^2 + 2m` for `Y_lm^s` (`1 <= m <= l`),
//! `(L+1)^2` coefficients in total.
//!
//! Grid: `nlat` Gauss–Legendre nodes `x_r = cos th_r` in ascending order (ring 0 nearest the
//! south pole), `nlon` equispaced longitudes `ph_j = 2 pi j / nlon`; grid value `(r, j)` at flat
//! index `r * nlon + j`. The dealiased grid has `nlat = ceil((3L+1)/2)`, `nlon >= 3L + 1`.
//!
//! Algorithm: for each order `m` and each pair of rings symmetric about the equator the
//! recurrence `pbar_l^m = a_lm x pbar_{l-1}^m - b_lm pbar_{l-2}^m` runs over `l = m..=L` for
//! blocks of ring pairs at once (parity `pbar_l^m(-x) = (-1)^{l-m} pbar_l^m(x)` halves the
//! work). Near the poles the sectoral start `pbar_m^m ~ sin^m th` underflows for large `m`;
//! the degree `l_start(m, ring)` where the function first exceeds ~`2^-600` and the two
//! values there are computed once (with an extended exponent) and stored, so every transform
//! starts each ring at its first non-negligible degree. No Legendre table of size `O(L^3)`
//! is stored: memory is `O(L^2 + L nlat)`.

use super::{fft_size, Basis, Geometry};
use crate::special::gauss_legendre;
use realfft::{num_complex::Complex, ComplexToReal, RealFftPlanner, RealToComplex};
use std::sync::Arc;

const BIG: f64 = 4.149_515_568_880_993e180; // 2^600
const BIG_INV: f64 = 2.409_919_865_102_884_6e-181; // 2^-600
/// Ring pairs handled together in the Legendre stage.
const LANES: usize = 8;

#[derive(Clone, Copy, Debug)]
struct Start {
    /// First degree with a representable value (`L + 1`: never).
    l: usize,
    /// `pbar_{l-1}^m(x)` (0 when `l = m`).
    prev: f64,
    /// `pbar_l^m(x)`.
    cur: f64,
}

/// Real spherical harmonic basis up to degree `L` with its Gauss–Legendre grid.
pub struct SphereBasis {
    lmax: usize,
    nlat: usize,
    nlon: usize,
    nspec: usize,
    nodes: Vec<f64>,
    degrees: Vec<usize>,
    weights: Vec<f64>,
    /// Pairs `(north ring, south ring, x_north >= 0)` (the equator ring pairs with itself),
    /// recurrence coefficients and start table.
    tables: LegendreTables,
    /// Order-major spectra of the Legendre stage: `leg[m * nlat + r]`.
    leg: Vec<Complex<f64>>,
    r2c: Arc<dyn RealToComplex<f64>>,
    c2r: Arc<dyn ComplexToReal<f64>>,
    spec: Vec<Complex<f64>>,
    scratch: Vec<Complex<f64>>,
    row: Vec<f64>,
    fc: Vec<f64>,
    fs: Vec<f64>,
}

fn rec_offset(lmax: usize, m: usize) -> usize {
    m * (lmax + 2) - m * (m.saturating_sub(1)) / 2
}

/// Order-major coefficient scratch: order `m` occupies `[m (L+1), m (L+1) + L+1-m)`.
fn coef_offset(lmax: usize, m: usize) -> usize {
    m * (lmax + 1)
}

/// One order's work item in the parallel analysis: `(m, ((ring spectra, fc), fs))`.
type OrderItem<'a> = (usize, ((&'a [Complex<f64>], &'a mut [f64]), &'a mut [f64]));

/// Smallest degree for which the Legendre stage runs in parallel over orders.
const PARALLEL_MIN_LMAX: usize = 48;

/// Read-only tables of the Legendre stage (shared by all orders, so orders can run in parallel).
struct LegendreTables {
    lmax: usize,
    pairs: Vec<(usize, usize, f64)>,
    ring_scale: Vec<f64>,
    rec_a: Vec<f64>,
    rec_b: Vec<f64>,
    starts: Vec<Start>,
}

impl SphereBasis {
    /// Basis up to degree `lmax` on the dealiased grid.
    pub fn new(lmax: usize) -> Self {
        Self::with_grid(lmax, (3 * lmax + 2) / 2, fft_size(3 * lmax + 1))
    }

    /// Basis up to degree `lmax` on `nlat` Gauss–Legendre rings and `nlon` longitudes
    /// (`nlat >= lmax + 1`, `nlon >= 2 lmax + 1`, `nlon` even). Analysis is exact for
    /// fields of degree `<= 2 nlat - 1 - lmax` in latitude and `< nlon - lmax` in longitude.
    pub fn with_grid(lmax: usize, nlat: usize, nlon: usize) -> Self {
        assert!(
            nlat > lmax && nlon > 2 * lmax && nlon.is_multiple_of(2),
            "SphereBasis grid"
        );
        let q = gauss_legendre(nlat);
        let nodes = q.nodes.clone();
        let mut degrees = Vec::with_capacity((lmax + 1) * (lmax + 1));
        for l in 0..=lmax {
            degrees.extend(std::iter::repeat_n(l, 2 * l + 1));
        }
        let mut weights = Vec::with_capacity(nlat * nlon);
        let mut ring_scale = Vec::with_capacity(nlat);
        for w in &q.weights {
            let wr = 0.5 * w / nlon as f64;
            ring_scale.push(wr);
            weights.extend(std::iter::repeat_n(wr, nlon));
        }
        let mut pairs = Vec::new();
        for p in 0..nlat.div_ceil(2) {
            let south = p;
            let north = nlat - 1 - p;
            let x = if north == south { 0.0 } else { nodes[north] };
            pairs.push((north, south, x));
        }
        // Recurrence coefficients a_lm, b_lm for l = m..=L+1 (a_mm = b_mm = 0).
        let nrec = rec_offset(lmax, lmax + 1);
        let mut rec_a = vec![0.0; nrec];
        let mut rec_b = vec![0.0; nrec];
        for m in 0..=lmax {
            let off = rec_offset(lmax, m);
            let mf = m as f64;
            for l in (m + 1)..=(lmax + 1) {
                let lf = l as f64;
                let den = lf * lf - mf * mf;
                rec_a[off + l - m] = ((4.0 * lf * lf - 1.0) / den).sqrt();
                rec_b[off + l - m] = ((2.0 * lf + 1.0) * ((lf - 1.0) * (lf - 1.0) - mf * mf)
                    / ((2.0 * lf - 3.0) * den))
                    .max(0.0)
                    .sqrt();
            }
        }
        let starts = Self::start_table(lmax, &pairs, &rec_a, &rec_b);
        let mut planner = RealFftPlanner::<f64>::new();
        let r2c = planner.plan_fft_forward(nlon);
        let c2r = planner.plan_fft_inverse(nlon);
        let nscratch = r2c.get_scratch_len().max(c2r.get_scratch_len());
        let nspec = nlon / 2 + 1;
        let ncm = (lmax + 1) * (lmax + 1);
        Self {
            lmax,
            nlat,
            nlon,
            nspec,
            nodes,
            degrees,
            weights,
            tables: LegendreTables {
                lmax,
                pairs,
                ring_scale,
                rec_a,
                rec_b,
                starts,
            },
            leg: vec![Complex::new(0.0, 0.0); (lmax + 1) * nlat],
            r2c,
            c2r,
            spec: vec![Complex::new(0.0, 0.0); nlat * nspec],
            scratch: vec![Complex::new(0.0, 0.0); nscratch],
            row: vec![0.0; nlon],
            fc: vec![0.0; ncm],
            fs: vec![0.0; ncm],
        }
    }

    /// First representable degree and values of `pbar_l^m(x)` for every `(m, pair)`.
    fn start_table(
        lmax: usize,
        pairs: &[(usize, usize, f64)],
        rec_a: &[f64],
        rec_b: &[f64],
    ) -> Vec<Start> {
        let np = pairs.len();
        let mut starts = vec![
            Start {
                l: lmax + 1,
                prev: 0.0,
                cur: 0.0
            };
            (lmax + 1) * np
        ];
        for (p, &(_, _, x)) in pairs.iter().enumerate() {
            let s = ((1.0 - x) * (1.0 + x)).max(0.0).sqrt();
            let (mut mant, mut k) = (1.0_f64, 0_i32);
            for m in 0..=lmax {
                if m > 0 {
                    let mf = m as f64;
                    mant *= s * ((2.0 * mf + 1.0) / (2.0 * mf)).sqrt();
                    if mant != 0.0 && mant.abs() < BIG_INV {
                        mant *= BIG;
                        k += 1;
                    }
                }
                if mant == 0.0 {
                    continue; // exactly at a pole: pbar_l^m = 0 for m > 0
                }
                let st = &mut starts[m * np + p];
                if k == 0 {
                    *st = Start {
                        l: m,
                        prev: 0.0,
                        cur: mant,
                    };
                    continue;
                }
                let off = rec_offset(lmax, m);
                let (mut prev, mut cur, mut kk) = (0.0, mant, k);
                for l in (m + 1)..=lmax {
                    let next = rec_a[off + l - m] * x * cur - rec_b[off + l - m] * prev;
                    prev = cur;
                    cur = next;
                    if cur.abs() > 1.0 {
                        prev *= BIG_INV;
                        cur *= BIG_INV;
                        kk -= 1;
                        if kk == 0 {
                            *st = Start { l, prev, cur };
                            break;
                        }
                    }
                }
            }
        }
        starts
    }

    /// Gauss–Legendre nodes `x_r = cos th_r` of the rings, ascending.
    pub fn ring_nodes(&self) -> &[f64] {
        &self.nodes
    }

    /// Number of rings and of longitudes `(nlat, nlon)`.
    pub fn grid_size(&self) -> (usize, usize) {
        (self.nlat, self.nlon)
    }

    /// Index of `Y_l0` (`m = 0`), `Y_lm^c` (`m >= 1`, `sine = false`) or `Y_lm^s` (`sine = true`).
    pub fn index(l: usize, m: usize, sine: bool) -> usize {
        if m == 0 {
            l * l
        } else {
            l * l + 2 * m - 1 + usize::from(sine)
        }
    }

    /// Gather the coefficients into order-major scratch (`fc`, `fs`).
    fn gather(&mut self, coeffs: &[f64]) {
        let lmax = self.lmax;
        for m in 0..=lmax {
            let off = coef_offset(lmax, m);
            for l in m..=lmax {
                if m == 0 {
                    self.fc[off + l] = coeffs[l * l];
                    self.fs[off + l] = 0.0;
                } else {
                    self.fc[off + l - m] = coeffs[l * l + 2 * m - 1];
                    self.fs[off + l - m] = coeffs[l * l + 2 * m];
                }
            }
        }
    }
}

impl LegendreTables {
    /// Legendre synthesis of order `m`: `out[r] = X_m(ring r)` for all rings.
    fn synthesis(&self, m: usize, fc: &[f64], fs: &[f64], out: &mut [Complex<f64>]) {
        let lmax = self.lmax;
        let np = self.pairs.len();
        let roff = rec_offset(lmax, m);
        let fc = &fc[..lmax + 1 - m];
        let fs = &fs[..lmax + 1 - m];
        let ra = &self.rec_a[roff..roff + lmax + 2 - m];
        let rb = &self.rec_b[roff..roff + lmax + 2 - m];
        let scale = if m == 0 {
            1.0
        } else {
            std::f64::consts::FRAC_1_SQRT_2
        };
        for p0 in (0..np).step_by(LANES) {
            let lanes = LANES.min(np - p0);
            let mut x = [0.0; LANES];
            let mut prev = [0.0; LANES];
            let mut cur = [0.0; LANES];
            let mut lst = [lmax + 1; LANES];
            for i in 0..lanes {
                let st = self.starts[m * np + p0 + i];
                x[i] = self.pairs[p0 + i].2;
                lst[i] = st.l;
                prev[i] = st.prev;
                cur[i] = st.cur;
            }
            let lb = lst[..lanes].iter().copied().max().unwrap_or(lmax + 1);
            let (mut ec, mut oc, mut es, mut os) =
                ([0.0; LANES], [0.0; LANES], [0.0; LANES], [0.0; LANES]);
            // Scalar phase: lanes that start earlier than the block.
            for i in 0..lanes {
                let mut l = lst[i];
                while l < lb && l <= lmax {
                    let j = l - m;
                    if j.is_multiple_of(2) {
                        ec[i] += cur[i] * fc[j];
                        es[i] += cur[i] * fs[j];
                    } else {
                        oc[i] += cur[i] * fc[j];
                        os[i] += cur[i] * fs[j];
                    }
                    let next = ra[j + 1] * x[i] * cur[i] - rb[j + 1] * prev[i];
                    prev[i] = cur[i];
                    cur[i] = next;
                    l += 1;
                }
            }
            // Vector phase.
            let mut l = lb;
            while l <= lmax {
                let j = l - m;
                let (c, s, a, b) = (fc[j], fs[j], ra[j + 1], rb[j + 1]);
                if j.is_multiple_of(2) {
                    for i in 0..LANES {
                        ec[i] += cur[i] * c;
                        es[i] += cur[i] * s;
                    }
                } else {
                    for i in 0..LANES {
                        oc[i] += cur[i] * c;
                        os[i] += cur[i] * s;
                    }
                }
                for i in 0..LANES {
                    let next = a * x[i] * cur[i] - b * prev[i];
                    prev[i] = cur[i];
                    cur[i] = next;
                }
                l += 1;
            }
            for i in 0..lanes {
                let (north, south, _) = self.pairs[p0 + i];
                let zn = Complex::new((ec[i] + oc[i]) * scale, -(es[i] + os[i]) * scale);
                let zs = Complex::new((ec[i] - oc[i]) * scale, -(es[i] - os[i]) * scale);
                out[north] = zn;
                out[south] = zs;
            }
        }
    }

    /// Legendre analysis of order `m` from the ring spectra `input[r] = X_m(ring r)`.
    fn analysis(&self, m: usize, input: &[Complex<f64>], fc: &mut [f64], fs: &mut [f64]) {
        let lmax = self.lmax;
        let np = self.pairs.len();
        let roff = rec_offset(lmax, m);
        let fc = &mut fc[..lmax + 1 - m];
        let fs = &mut fs[..lmax + 1 - m];
        fc.iter_mut().for_each(|v| *v = 0.0);
        fs.iter_mut().for_each(|v| *v = 0.0);
        let ra = &self.rec_a[roff..roff + lmax + 2 - m];
        let rb = &self.rec_b[roff..roff + lmax + 2 - m];
        let mfac = if m == 0 {
            1.0
        } else {
            std::f64::consts::SQRT_2
        };
        for p0 in (0..np).step_by(LANES) {
            let lanes = LANES.min(np - p0);
            let mut x = [0.0; LANES];
            let mut prev = [0.0; LANES];
            let mut cur = [0.0; LANES];
            let mut lst = [lmax + 1; LANES];
            let (mut ec, mut oc, mut es, mut os) =
                ([0.0; LANES], [0.0; LANES], [0.0; LANES], [0.0; LANES]);
            for i in 0..lanes {
                let st = self.starts[m * np + p0 + i];
                let (north, south, xn) = self.pairs[p0 + i];
                x[i] = xn;
                lst[i] = st.l;
                prev[i] = st.prev;
                cur[i] = st.cur;
                let zn = input[north] * (self.ring_scale[north] * mfac);
                if north == south {
                    ec[i] = zn.re;
                    es[i] = -zn.im;
                } else {
                    let zs = input[south] * (self.ring_scale[south] * mfac);
                    ec[i] = zn.re + zs.re;
                    oc[i] = zn.re - zs.re;
                    es[i] = -(zn.im + zs.im);
                    os[i] = -(zn.im - zs.im);
                }
            }
            let lb = lst[..lanes].iter().copied().max().unwrap_or(lmax + 1);
            for i in 0..lanes {
                let mut l = lst[i];
                while l < lb && l <= lmax {
                    let j = l - m;
                    if j.is_multiple_of(2) {
                        fc[j] += cur[i] * ec[i];
                        fs[j] += cur[i] * es[i];
                    } else {
                        fc[j] += cur[i] * oc[i];
                        fs[j] += cur[i] * os[i];
                    }
                    let next = ra[j + 1] * x[i] * cur[i] - rb[j + 1] * prev[i];
                    prev[i] = cur[i];
                    cur[i] = next;
                    l += 1;
                }
            }
            let mut l = lb;
            while l <= lmax {
                let j = l - m;
                let (a, b) = (ra[j + 1], rb[j + 1]);
                let (gc, gs) = if j.is_multiple_of(2) {
                    (&ec, &es)
                } else {
                    (&oc, &os)
                };
                let mut tc = [0.0; LANES];
                let mut ts = [0.0; LANES];
                for i in 0..LANES {
                    tc[i] = cur[i] * gc[i];
                    ts[i] = cur[i] * gs[i];
                }
                fc[j] += lane_sum(&tc);
                fs[j] += lane_sum(&ts);
                for i in 0..LANES {
                    let next = a * x[i] * cur[i] - b * prev[i];
                    prev[i] = cur[i];
                    cur[i] = next;
                }
                l += 1;
            }
        }
    }
}

#[inline(always)]
fn lane_sum(t: &[f64; LANES]) -> f64 {
    ((t[0] + t[4]) + (t[2] + t[6])) + ((t[1] + t[5]) + (t[3] + t[7]))
}

impl Basis for SphereBasis {
    fn geometry(&self) -> Geometry {
        Geometry::Sphere
    }
    fn dim(&self) -> usize {
        3
    }
    fn lmax(&self) -> usize {
        self.lmax
    }
    fn degrees(&self) -> &[usize] {
        &self.degrees
    }
    fn grid_shape(&self) -> Vec<usize> {
        vec![self.nlat, self.nlon]
    }
    fn grid_weights(&self) -> &[f64] {
        &self.weights
    }

    fn synthesize(&mut self, coeffs: &[f64], grid: &mut [f64]) {
        self.gather(coeffs);
        let (nlat, stride) = (self.nlat, self.lmax + 1);
        let (tables, fc, fs) = (&self.tables, &self.fc, &self.fs);
        let order = |(m, out): (usize, &mut [Complex<f64>])| {
            tables.synthesis(m, &fc[m * stride..], &fs[m * stride..], out)
        };
        if self.lmax >= PARALLEL_MIN_LMAX {
            use rayon::prelude::*;
            self.leg.par_chunks_mut(nlat).enumerate().for_each(order);
        } else {
            self.leg.chunks_mut(nlat).enumerate().for_each(order);
        }
        let (nspec, nlon) = (self.nspec, self.nlon);
        for r in 0..self.nlat {
            let spec = &mut self.spec[r * nspec..(r + 1) * nspec];
            for (m, z) in spec.iter_mut().enumerate().take(self.lmax + 1) {
                *z = self.leg[m * nlat + r];
            }
            spec[self.lmax + 1..]
                .iter_mut()
                .for_each(|z| *z = Complex::new(0.0, 0.0));
            spec[0].im = 0.0;
            self.c2r
                .process_with_scratch(spec, &mut grid[r * nlon..(r + 1) * nlon], &mut self.scratch)
                .expect("sphere synthesis: FFT sizes");
        }
    }

    fn analyze(&mut self, grid: &[f64], coeffs: &mut [f64]) {
        let (nspec, nlon) = (self.nspec, self.nlon);
        for r in 0..self.nlat {
            self.row.copy_from_slice(&grid[r * nlon..(r + 1) * nlon]);
            self.r2c
                .process_with_scratch(
                    &mut self.row,
                    &mut self.spec[r * nspec..(r + 1) * nspec],
                    &mut self.scratch,
                )
                .expect("sphere analysis: FFT sizes");
        }
        let (nlat, stride) = (self.nlat, self.lmax + 1);
        for r in 0..nlat {
            for m in 0..=self.lmax {
                self.leg[m * nlat + r] = self.spec[r * nspec + m];
            }
        }
        let tables = &self.tables;
        let order = |(m, ((input, fc), fs)): OrderItem<'_>| tables.analysis(m, input, fc, fs);
        if self.lmax >= PARALLEL_MIN_LMAX {
            use rayon::prelude::*;
            self.leg
                .par_chunks(nlat)
                .zip(self.fc.par_chunks_mut(stride))
                .zip(self.fs.par_chunks_mut(stride))
                .enumerate()
                .for_each(order);
        } else {
            self.leg
                .chunks(nlat)
                .zip(self.fc.chunks_mut(stride))
                .zip(self.fs.chunks_mut(stride))
                .enumerate()
                .for_each(order);
        }
        let lmax = self.lmax;
        for m in 0..=lmax {
            let off = coef_offset(lmax, m);
            for l in m..=lmax {
                if m == 0 {
                    coeffs[l * l] = self.fc[off + l];
                } else {
                    coeffs[l * l + 2 * m - 1] = self.fc[off + l - m];
                    coeffs[l * l + 2 * m] = self.fs[off + l - m];
                }
            }
        }
    }

    fn with_lmax(&self, lmax: usize) -> Self {
        Self::new(lmax)
    }

    fn evaluate_at(&self, x: &[f64], out: &mut [f64]) {
        let lmax = self.lmax;
        let z = x[2].clamp(-1.0, 1.0);
        let ph = x[1].atan2(x[0]);
        let mut col = vec![0.0; lmax + 1];
        for m in 0..=lmax {
            crate::special::legendre::legendre_column(m, lmax, z, &mut col);
            let (s, c) = (m as f64 * ph).sin_cos();
            for l in m..=lmax {
                let p = col[l - m];
                if m == 0 {
                    out[l * l] = p;
                } else {
                    out[l * l + 2 * m - 1] = std::f64::consts::SQRT_2 * p * c;
                    out[l * l + 2 * m] = std::f64::consts::SQRT_2 * p * s;
                }
            }
        }
    }
}
