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
/// Consecutive orders per Legendre task (their coefficients and spectra are contiguous).
const ORDER_GROUP: usize = 8;

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
    /// Ring spectra, ring-major (`nspec` per ring).
    spec: Vec<Complex<f64>>,
    /// One FFT scratch per chunk of rings.
    fft: Vec<Complex<f64>>,
    /// One ring copy per chunk of rings (the real-to-complex FFT overwrites its input).
    rows: Vec<f64>,
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

    fn scratch<'a>(&self, scratch: &'a mut Scratch) -> &'a mut SphereScratch {
        let shape = (self.lmax, self.nlat, self.nlon);
        let fits = matches!(&scratch.inner, ScratchKind::Sphere(s) if s.shape == shape);
        if !fits {
            let nchunks = self.nlat.div_ceil(RING_CHUNK);
            scratch.inner = ScratchKind::Sphere(Box::new(SphereScratch {
                shape,
                spec: vec![Complex::new(0.0, 0.0); self.nlat * self.nspec],
                fft: vec![Complex::new(0.0, 0.0); nchunks * self.fft_scratch_len],
                rows: vec![0.0; nchunks * self.nlon],
            }));
        }
        match &mut scratch.inner {
            ScratchKind::Sphere(s) => s,
            _ => unreachable!("sphere scratch was just made"),
        }
    }
}

/// A slice written by several tasks at disjoint indices.
struct SharedSlice<T> {
    ptr: *mut T,
    len: usize,
}

// SAFETY: tasks write disjoint indices (each caller states which ones it owns).
unsafe impl<T: Send> Sync for SharedSlice<T> {}

impl<T> SharedSlice<T> {
    fn new(s: &mut [T]) -> Self {
        SharedSlice {
            ptr: s.as_mut_ptr(),
            len: s.len(),
        }
    }

    /// Write `v` at index `i`.
    ///
    /// # Safety
    /// No other task reads or writes index `i` while the slice is shared.
    #[inline]
    unsafe fn write(&self, i: usize, v: T) {
        assert!(i < self.len, "SharedSlice index out of range");
        // SAFETY: in bounds (checked) and exclusive (the caller's contract).
        unsafe { self.ptr.add(i).write(v) }
    }
}

/// Per-task buffers of a group of orders.
struct GroupBuffers {
    /// Coefficients of `q_l` (synthesis) or sums (analysis), `L + 2` per order.
    fr: Vec<f64>,
    fi: Vec<f64>,
    /// Per order `4 np`: the Legendre synthesis output or the analysis input.
    vals: Vec<f64>,
    /// Lane accumulators of the analysis.
    acc: Vec<f64>,
}

impl GroupBuffers {
    fn new(lmax: usize, np: usize) -> Self {
        GroupBuffers {
            fr: vec![0.0; ORDER_GROUP * (lmax + 2)],
            fi: vec![0.0; ORDER_GROUP * (lmax + 2)],
            vals: vec![0.0; ORDER_GROUP * 4 * np],
            acc: vec![0.0; 2 * super::rings::PAIR_ALIGN * (lmax + 2)],
        }
    }
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
        let (lmax, np, nlat, nlon, nspec) = (
            self.lmax,
            self.rings.np_pad,
            self.nlat,
            self.nlon,
            self.nspec,
        );
        let min_len = self.min_len();
        let ngroups = (lmax + 1).div_ceil(ORDER_GROUP);
        // Legendre stage, one group of consecutive orders per task; each task writes its
        // own columns `m` of the ring spectra.
        let spec = SharedSlice::new(&mut sc.spec);
        (0..ngroups)
            .into_par_iter()
            .with_min_len(min_len)
            .for_each_init(
                || GroupBuffers::new(lmax, np),
                |buf, grp| {
                    let m0 = grp * ORDER_GROUP;
                    let m1 = (m0 + ORDER_GROUP).min(lmax + 1);
                    let stride = lmax + 2;
                    // Gather the coefficients of the group (contiguous per degree).
                    for l in m0..=lmax {
                        for m in m0..m1.min(l + 1) {
                            let j = (m - m0) * stride + l - m;
                            if m == 0 {
                                buf.fr[j] = coeffs[l * l];
                                buf.fi[j] = 0.0;
                            } else {
                                let f = std::f64::consts::FRAC_1_SQRT_2;
                                buf.fr[j] = coeffs[l * l + 2 * m - 1] * f;
                                buf.fi[j] = -coeffs[l * l + 2 * m] * f;
                            }
                        }
                    }
                    for m in m0..m1 {
                        let g = m - m0;
                        let c = self.rings.rec.scale(m);
                        let fr = &mut buf.fr[g * stride..(g + 1) * stride];
                        let fi = &mut buf.fi[g * stride..(g + 1) * stride];
                        for j in 0..=lmax - m {
                            fr[j] *= c[j];
                            fi[j] *= c[j];
                        }
                        let out = &mut buf.vals[g * 4 * np..(g + 1) * 4 * np];
                        self.rings.synthesis(self.path, m, fr, fi, out);
                    }
                    for p in 0..self.rings.npairs {
                        for (r, side) in [(nlat - 1 - p, 0), (p, 2 * np)] {
                            for m in m0..m1 {
                                let v = &buf.vals[(m - m0) * 4 * np + side + p..];
                                // SAFETY: column m of the spectra belongs to this task only.
                                unsafe { spec.write(r * nspec + m, Complex::new(v[0], v[np])) };
                            }
                        }
                    }
                },
            );
        // FFT stage, one chunk of rings per task.
        grid[..nlat * nlon]
            .par_chunks_mut(RING_CHUNK * nlon)
            .zip(sc.spec.par_chunks_mut(RING_CHUNK * nspec))
            .zip(sc.fft.par_chunks_mut(self.fft_scratch_len))
            .with_min_len(min_len)
            .for_each(|((g, spec), fft)| {
                for (g, s) in g.chunks_mut(nlon).zip(spec.chunks_mut(nspec)) {
                    s[lmax + 1..]
                        .iter_mut()
                        .for_each(|z| *z = Complex::new(0.0, 0.0));
                    s[0].im = 0.0;
                    self.c2r
                        .process_with_scratch(s, g, fft)
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
                for (g, s) in g.chunks(nlon).zip(spec.chunks_mut(nspec)) {
                    row.copy_from_slice(g);
                    self.r2c
                        .process_with_scratch(row, s, fft)
                        .expect("sphere analysis: FFT sizes");
                }
            });
        // Legendre stage, one group of consecutive orders per task; each task writes its own
        // orders of the coefficients.
        let spec = &sc.spec;
        let ngroups = (lmax + 1).div_ceil(ORDER_GROUP);
        let out = SharedSlice::new(&mut coeffs[..self.len()]);
        (0..ngroups)
            .into_par_iter()
            .with_min_len(min_len)
            .for_each_init(
                || GroupBuffers::new(lmax, np),
                |buf, grp| {
                    let m0 = grp * ORDER_GROUP;
                    let m1 = (m0 + ORDER_GROUP).min(lmax + 1);
                    let stride = lmax + 2;
                    // Even and odd combinations of the weighted ring spectra, per order.
                    buf.vals.iter_mut().for_each(|v| *v = 0.0);
                    for p in 0..self.rings.npairs {
                        let (north, south) = (nlat - 1 - p, p);
                        let (wn, ws) = (self.ring_scale[north], self.ring_scale[south]);
                        for m in m0..m1 {
                            let mfac = if m == 0 {
                                1.0
                            } else {
                                std::f64::consts::SQRT_2
                            };
                            let zn = spec[north * nspec + m] * (wn * mfac);
                            let v = &mut buf.vals[(m - m0) * 4 * np..];
                            if north == south {
                                v[p] = zn.re;
                                v[np + p] = -zn.im;
                            } else {
                                let zs = spec[south * nspec + m] * (ws * mfac);
                                v[p] = zn.re + zs.re;
                                v[np + p] = -(zn.im + zs.im);
                                v[2 * np + p] = zn.re - zs.re;
                                v[3 * np + p] = -(zn.im - zs.im);
                            }
                        }
                    }
                    for m in m0..m1 {
                        let g = m - m0;
                        let vin = &buf.vals[g * 4 * np..(g + 1) * 4 * np];
                        let fr = &mut buf.fr[g * stride..(g + 1) * stride];
                        let fi = &mut buf.fi[g * stride..(g + 1) * stride];
                        self.rings.analysis(self.path, m, vin, &mut buf.acc, fr, fi);
                        let c = self.rings.rec.scale(m);
                        for j in 0..=lmax - m {
                            fr[j] *= c[j];
                            fi[j] *= c[j];
                        }
                    }
                    for l in m0..=lmax {
                        for m in m0..m1.min(l + 1) {
                            let j = (m - m0) * stride + l - m;
                            // SAFETY: the coefficients of orders m0..m1 belong to this task.
                            unsafe {
                                if m == 0 {
                                    out.write(l * l, buf.fr[j]);
                                } else {
                                    out.write(l * l + 2 * m - 1, buf.fr[j]);
                                    out.write(l * l + 2 * m, buf.fi[j]);
                                }
                            }
                        }
                    }
                },
            );
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
