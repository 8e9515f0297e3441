//! Spherical harmonic transform on `S^2`: Gauss–Legendre latitudes, real FFT in longitude,
//! orthonormal associated Legendre functions generated on the fly ([`super::rings`]).
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
//! Synthesis: Legendre stage in parallel over orders `m` (each order a fixed sequence of
//! operations), then one real FFT per ring, in parallel over fixed chunks of rings. Analysis:
//! the same in reverse. Results are bit-identical for any number of threads.

use super::rings::RingLegendre;
use super::simd::SimdPath;
use super::{fft_size, Basis, Geometry, Scratch, ScratchKind};
use crate::special::gauss_legendre;
use rayon::prelude::*;
use realfft::{num_complex::Complex, ComplexToReal, RealFftPlanner, RealToComplex};
use std::sync::Arc;

/// Smallest degree for which the transforms run in parallel.
const PARALLEL_MIN_LMAX: usize = 48;
/// Rings per FFT task (each task owns one FFT scratch).
const RING_CHUNK: usize = 8;

/// Real spherical harmonic basis up to degree `L` with its Gauss–Legendre grid.
pub struct SphereBasis {
    lmax: usize,
    nlat: usize,
    nlon: usize,
    nspec: usize,
    nodes: Vec<f64>,
    degrees: Vec<usize>,
    weights: Vec<f64>,
    /// Probability weight of one grid point of each ring.
    ring_scale: Vec<f64>,
    rings: RingLegendre,
    r2c: Arc<dyn RealToComplex<f64>>,
    c2r: Arc<dyn ComplexToReal<f64>>,
    fft_scratch_len: usize,
    path: SimdPath,
}

/// Work space of the sphere transforms (see [`Scratch`]).
pub(crate) struct SphereScratch {
    shape: (usize, usize, usize),
    /// Legendre synthesis output, order-major: `[m][north re, north im, south re, south im][pair]`.
    leg: Vec<f64>,
    /// Ring spectra, ring-major (`nspec` per ring).
    spec: Vec<Complex<f64>>,
    /// One FFT scratch per chunk of rings.
    fft: Vec<Complex<f64>>,
    /// One ring copy per chunk of rings (the real-to-complex FFT overwrites its input).
    rows: Vec<f64>,
    /// Analysis output, order-major (`L + 1 - m` per order), real and imaginary parts.
    tri_r: Vec<f64>,
    tri_i: Vec<f64>,
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
            "SphereBasis grid: need nlat > lmax, nlon > 2 lmax, nlon even"
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
        let npairs = nlat.div_ceil(2);
        let (mut xs, mut ss) = (Vec::with_capacity(npairs), Vec::with_capacity(npairs));
        for p in 0..npairs {
            let north = nlat - 1 - p;
            let x = if north == p { 0.0 } else { nodes[north] };
            xs.push(x);
            ss.push(((1.0 - x) * (1.0 + x)).sqrt());
        }
        let rings = RingLegendre::new(lmax, &xs, &ss);
        let mut planner = RealFftPlanner::<f64>::new();
        let r2c = planner.plan_fft_forward(nlon);
        let c2r = planner.plan_fft_inverse(nlon);
        let fft_scratch_len = r2c.get_scratch_len().max(c2r.get_scratch_len()).max(1);
        Self {
            lmax,
            nlat,
            nlon,
            nspec: nlon / 2 + 1,
            nodes,
            degrees,
            weights,
            ring_scale,
            rings,
            r2c,
            c2r,
            fft_scratch_len,
            path: SimdPath::detect(),
        }
    }

    /// The same basis with the Legendre stage on the instruction set `path` (for tests and
    /// benchmarks); `None` when the processor does not support it.
    pub fn with_simd_path(mut self, path: SimdPath) -> Option<Self> {
        if !path.is_available() {
            return None;
        }
        self.path = path;
        Some(self)
    }

    /// Instruction set of the Legendre stage.
    pub fn simd_path(&self) -> SimdPath {
        self.path
    }

    /// Share of the `(m, l, ring pair)` triangle visited by the recurrence after skipping the
    /// negligible polar values (1 without skipping).
    pub fn legendre_work_fraction(&self) -> f64 {
        self.rings.work_fraction()
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

    fn min_len(&self) -> usize {
        if self.lmax >= PARALLEL_MIN_LMAX {
            1
        } else {
            usize::MAX
        }
    }

    /// Pair index of ring `r` and whether it is the northern ring of its pair.
    #[inline]
    fn pair_of(&self, r: usize) -> (usize, bool) {
        let mirror = self.nlat - 1 - r;
        if r < mirror {
            (r, false)
        } else {
            (mirror, true)
        }
    }

    fn scratch<'a>(&self, scratch: &'a mut Scratch) -> &'a mut SphereScratch {
        let shape = (self.lmax, self.nlat, self.nlon);
        let fits = matches!(&scratch.inner, ScratchKind::Sphere(s) if s.shape == shape);
        if !fits {
            let nchunks = self.nlat.div_ceil(RING_CHUNK);
            let tri = (self.lmax + 1) * (self.lmax + 2) / 2;
            scratch.inner = ScratchKind::Sphere(Box::new(SphereScratch {
                shape,
                leg: vec![0.0; (self.lmax + 1) * 4 * self.rings.np_pad],
                spec: vec![Complex::new(0.0, 0.0); self.nlat * self.nspec],
                fft: vec![Complex::new(0.0, 0.0); nchunks * self.fft_scratch_len],
                rows: vec![0.0; nchunks * self.nlon],
                tri_r: vec![0.0; tri],
                tri_i: vec![0.0; tri],
            }));
        }
        match &mut scratch.inner {
            ScratchKind::Sphere(s) => s,
            _ => unreachable!("sphere scratch was just made"),
        }
    }
}

/// Split `v` into consecutive pieces of lengths `len(0), len(1), ...` (`n` pieces).
fn split_lengths(mut v: &mut [f64], n: usize, len: impl Fn(usize) -> usize) -> Vec<&mut [f64]> {
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let (a, b) = std::mem::take(&mut v).split_at_mut(len(i));
        out.push(a);
        v = b;
    }
    out
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

    fn make_scratch(&self) -> Scratch {
        let mut s = Scratch::new();
        self.scratch(&mut s);
        s
    }

    fn synthesize_with_scratch(&self, coeffs: &[f64], grid: &mut [f64], scratch: &mut Scratch) {
        assert!(
            coeffs.len() >= self.len() && grid.len() >= self.nlat * self.nlon,
            "SphereBasis::synthesize: buffer lengths"
        );
        let sc = self.scratch(scratch);
        let (lmax, np, nlon, nspec) = (self.lmax, self.rings.np_pad, self.nlon, self.nspec);
        let min_len = self.min_len();
        // Legendre stage, one order per task.
        sc.leg
            .par_chunks_mut(4 * np)
            .enumerate()
            .with_min_len(min_len)
            .for_each_init(
                || vec![0.0; 2 * (lmax + 2)],
                |buf, (m, out)| {
                    let (fr, fi) = buf.split_at_mut(lmax + 2);
                    let c = self.rings.rec.scale(m);
                    let f = if m == 0 {
                        1.0
                    } else {
                        std::f64::consts::FRAC_1_SQRT_2
                    };
                    for l in m..=lmax {
                        let j = l - m;
                        if m == 0 {
                            fr[j] = coeffs[l * l] * c[j];
                            fi[j] = 0.0;
                        } else {
                            fr[j] = coeffs[l * l + 2 * m - 1] * c[j] * f;
                            fi[j] = -coeffs[l * l + 2 * m] * c[j] * f;
                        }
                    }
                    self.rings.synthesis(self.path, m, fr, fi, out);
                },
            );
        // FFT stage, one chunk of rings per task.
        let leg = &sc.leg;
        grid[..self.nlat * nlon]
            .par_chunks_mut(RING_CHUNK * nlon)
            .zip(sc.spec.par_chunks_mut(RING_CHUNK * nspec))
            .zip(sc.fft.par_chunks_mut(self.fft_scratch_len))
            .enumerate()
            .with_min_len(min_len)
            .for_each(|(c, ((g, spec), fft))| {
                let r0 = c * RING_CHUNK;
                let nr = g.len() / nlon;
                for i in 0..nr {
                    spec[i * nspec + lmax + 1..(i + 1) * nspec]
                        .iter_mut()
                        .for_each(|z| *z = Complex::new(0.0, 0.0));
                }
                for m in 0..=lmax {
                    let base = m * 4 * np;
                    for i in 0..nr {
                        let (p, north) = self.pair_of(r0 + i);
                        let o = base + if north { 0 } else { 2 * np } + p;
                        spec[i * nspec + m] = Complex::new(leg[o], leg[o + np]);
                    }
                }
                for i in 0..nr {
                    let s = &mut spec[i * nspec..(i + 1) * nspec];
                    s[0].im = 0.0;
                    self.c2r
                        .process_with_scratch(s, &mut g[i * nlon..(i + 1) * nlon], fft)
                        .expect("sphere synthesis: FFT sizes");
                }
            });
    }

    fn analyze_with_scratch(&self, grid: &[f64], coeffs: &mut [f64], scratch: &mut Scratch) {
        assert!(
            coeffs.len() >= self.len() && grid.len() >= self.nlat * self.nlon,
            "SphereBasis::analyze: buffer lengths"
        );
        let sc = self.scratch(scratch);
        let (lmax, np, nlat, nlon, nspec) = (
            self.lmax,
            self.rings.np_pad,
            self.nlat,
            self.nlon,
            self.nspec,
        );
        let min_len = self.min_len();
        // FFT stage.
        grid[..nlat * nlon]
            .par_chunks(RING_CHUNK * nlon)
            .zip(sc.spec.par_chunks_mut(RING_CHUNK * nspec))
            .zip(sc.rows.par_chunks_mut(nlon))
            .zip(sc.fft.par_chunks_mut(self.fft_scratch_len))
            .with_min_len(min_len)
            .for_each(|(((g, spec), row), fft)| {
                for i in 0..g.len() / nlon {
                    row.copy_from_slice(&g[i * nlon..(i + 1) * nlon]);
                    self.r2c
                        .process_with_scratch(row, &mut spec[i * nspec..(i + 1) * nspec], fft)
                        .expect("sphere analysis: FFT sizes");
                }
            });
        // Legendre stage, one order per task.
        let spec = &sc.spec;
        let tri_r = split_lengths(&mut sc.tri_r, lmax + 1, |m| lmax + 1 - m);
        let tri_i = split_lengths(&mut sc.tri_i, lmax + 1, |m| lmax + 1 - m);
        tri_r
            .into_par_iter()
            .zip(tri_i)
            .enumerate()
            .with_min_len(min_len)
            .for_each_init(
                || vec![0.0; 4 * np + 2 * 8 * (lmax + 2)],
                |buf, (m, (fr, fi))| {
                    let (vin, acc) = buf.split_at_mut(4 * np);
                    let mfac = if m == 0 {
                        1.0
                    } else {
                        std::f64::consts::SQRT_2
                    };
                    let first = self.rings.first_pair(m).min(np);
                    for p in first..np {
                        let (mut er, mut ei, mut or, mut oi) = (0.0, 0.0, 0.0, 0.0);
                        if p < self.rings.npairs {
                            let (north, south) = (nlat - 1 - p, p);
                            let zn = spec[north * nspec + m] * (self.ring_scale[north] * mfac);
                            if north == south {
                                er = zn.re;
                                ei = -zn.im;
                            } else {
                                let zs = spec[south * nspec + m] * (self.ring_scale[south] * mfac);
                                er = zn.re + zs.re;
                                or = zn.re - zs.re;
                                ei = -(zn.im + zs.im);
                                oi = -(zn.im - zs.im);
                            }
                        }
                        vin[p] = er;
                        vin[np + p] = ei;
                        vin[2 * np + p] = or;
                        vin[3 * np + p] = oi;
                    }
                    self.rings.analysis(self.path, m, vin, acc, fr, fi);
                    for ((r, i), c) in fr
                        .iter_mut()
                        .zip(fi.iter_mut())
                        .zip(self.rings.rec.scale(m))
                    {
                        *r *= c;
                        *i *= c;
                    }
                },
            );
        // Scatter to the degree-ordered layout, one degree per task.
        let rec = &self.rings.rec;
        let (tri_r, tri_i) = (&sc.tri_r, &sc.tri_i);
        split_lengths(&mut coeffs[..self.len()], lmax + 1, |l| 2 * l + 1)
            .into_par_iter()
            .enumerate()
            .with_min_len(min_len)
            .for_each(|(l, out)| {
                out[0] = tri_r[rec.triangle_index(0, l)];
                for m in 1..=l {
                    let t = rec.triangle_index(m, l);
                    out[2 * m - 1] = tri_r[t];
                    out[2 * m] = tri_i[t];
                }
            });
    }

    fn refined(&self, lmax: usize) -> Box<dyn Basis> {
        Box::new(self.with_lmax(lmax))
    }

    fn with_lmax(&self, lmax: usize) -> Self {
        let mut b = Self::new(lmax);
        b.path = self.path;
        b
    }

    fn evaluate_at(&self, x: &[f64], out: &mut [f64]) {
        let mut v = vec![0.0; self.len()];
        super::points::sphere_point_moments(&self.rings.rec, x, Some(&[1.0]), &mut v);
        out[..self.len()].copy_from_slice(&v);
    }

    fn point_moments(&self, points: &[f64], mass: Option<&[f64]>, moments: &mut [f64]) {
        super::points::sphere_point_moments(&self.rings.rec, points, mass, moments)
    }

    fn evaluate_points(&self, coeffs: &[f64], points: &[f64], values: &mut [f64]) {
        super::points::sphere_evaluate(&self.rings.rec, coeffs, points, values, None)
    }

    fn gradient_points(
        &self,
        coeffs: &[f64],
        points: &[f64],
        values: &mut [f64],
        gradients: &mut [f64],
    ) {
        super::points::sphere_evaluate(&self.rings.rec, coeffs, points, values, Some(gradients))
    }
}
