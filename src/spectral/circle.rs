//! Fourier basis on the circle `S^1`.
//!
//! Coefficients, orthonormal w.r.t. `d theta / (2 pi)`:
//! `f_0 <-> 1`, `f_{2k-1} <-> sqrt(2) cos(k theta)`, `f_{2k} <-> sqrt(2) sin(k theta)`, `k = 1..=K`.
//! With `M_k = int rho e^{-ik theta} dsigma = (f_{2k-1} - i f_{2k}) / sqrt(2)` the power is
//! `C_k = 2 |M_k|^2 = f_{2k-1}^2 + f_{2k}^2`. Grid: `theta_j = 2 pi j / n`, `n >= 3K + 1`
//! (3/2 rule), even, a product of 2, 3, 5. Transforms are real FFTs (realfft) with plans
//! built once and scratch buffers reused.

use super::{fft_size, Basis, Geometry, Scratch, ScratchKind};
use realfft::{num_complex::Complex, ComplexToReal, RealFftPlanner, RealToComplex};
use std::sync::Arc;

/// Real Fourier basis up to wavenumber `K` on a dealiased uniform grid.
pub struct CircleBasis {
    kmax: usize,
    n: usize,
    degrees: Vec<usize>,
    weights: Vec<f64>,
    r2c: Arc<dyn RealToComplex<f64>>,
    c2r: Arc<dyn ComplexToReal<f64>>,
    scratch_len: usize,
}

/// Work space of the circle transforms (see [`Scratch`]).
pub(crate) struct CircleScratch {
    n: usize,
    spectrum: Vec<Complex<f64>>,
    fft: Vec<Complex<f64>>,
    real_buf: Vec<f64>,
}

impl CircleBasis {
    /// Basis up to wavenumber `kmax` on the dealiased grid (`n >= 3 kmax + 1`).
    pub fn new(kmax: usize) -> Self {
        Self::with_grid(kmax, fft_size(3 * kmax + 1))
    }

    /// Basis up to wavenumber `kmax` on `n` equispaced points (`n` even, `n >= 2 kmax + 2`).
    pub fn with_grid(kmax: usize, n: usize) -> Self {
        assert!(
            n.is_multiple_of(2) && n > 2 * kmax,
            "CircleBasis: grid too small"
        );
        let mut planner = RealFftPlanner::<f64>::new();
        let r2c = planner.plan_fft_forward(n);
        let c2r = planner.plan_fft_inverse(n);
        let scratch_len = r2c.get_scratch_len().max(c2r.get_scratch_len());
        let mut degrees = vec![0];
        for k in 1..=kmax {
            degrees.push(k);
            degrees.push(k);
        }
        Self {
            kmax,
            n,
            degrees,
            weights: vec![1.0 / n as f64; n],
            r2c,
            c2r,
            scratch_len,
        }
    }

    fn scratch<'a>(&self, scratch: &'a mut Scratch) -> &'a mut CircleScratch {
        let fits = matches!(&scratch.inner, ScratchKind::Circle(s) if s.n == self.n);
        if !fits {
            scratch.inner = ScratchKind::Circle(CircleScratch {
                n: self.n,
                spectrum: vec![Complex::new(0.0, 0.0); self.n / 2 + 1],
                fft: vec![Complex::new(0.0, 0.0); self.scratch_len],
                real_buf: vec![0.0; self.n],
            });
        }
        match &mut scratch.inner {
            ScratchKind::Circle(s) => s,
            _ => unreachable!("circle scratch was just made"),
        }
    }

    /// `(cos k th, sin k th)` for `k = 0..=K` by repeated rotation (`th = atan2(x_2, x_1)`,
    /// from the unit vector `x` without trigonometric calls).
    fn harmonics(&self, x: &[f64], out: &mut Vec<(f64, f64)>) {
        let r = x[0].hypot(x[1]);
        let (c1, s1) = if r > 0.0 {
            (x[0] / r, x[1] / r)
        } else {
            (1.0, 0.0)
        };
        out.clear();
        let (mut c, mut s) = (1.0, 0.0);
        for _ in 0..=self.kmax {
            out.push((c, s));
            let c2 = c * c1 - s * s1;
            s = s * c1 + c * s1;
            c = c2;
        }
    }

    /// Grid angles `theta_j = 2 pi j / n`.
    pub fn angles(&self) -> Vec<f64> {
        (0..self.n)
            .map(|j| 2.0 * std::f64::consts::PI * j as f64 / self.n as f64)
            .collect()
    }

    /// Index of the cosine (`sine = false`) or sine coefficient of wavenumber `k >= 1`.
    pub fn index(k: usize, sine: bool) -> usize {
        2 * k - 1 + usize::from(sine)
    }
}

impl Basis for CircleBasis {
    fn geometry(&self) -> Geometry {
        Geometry::Circle
    }
    fn dim(&self) -> usize {
        2
    }
    fn lmax(&self) -> usize {
        self.kmax
    }
    fn degrees(&self) -> &[usize] {
        &self.degrees
    }
    fn grid_shape(&self) -> Vec<usize> {
        vec![self.n]
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
        let sc = self.scratch(scratch);
        let s = std::f64::consts::FRAC_1_SQRT_2;
        sc.spectrum
            .iter_mut()
            .for_each(|z| *z = Complex::new(0.0, 0.0));
        sc.spectrum[0] = Complex::new(coeffs[0], 0.0);
        for k in 1..=self.kmax {
            sc.spectrum[k] = Complex::new(coeffs[2 * k - 1] * s, -coeffs[2 * k] * s);
        }
        self.c2r
            .process_with_scratch(&mut sc.spectrum, &mut grid[..self.n], &mut sc.fft)
            .expect("circle synthesis: FFT sizes");
    }

    fn analyze_with_scratch(&self, grid: &[f64], coeffs: &mut [f64], scratch: &mut Scratch) {
        let sc = self.scratch(scratch);
        sc.real_buf.copy_from_slice(&grid[..self.n]);
        self.r2c
            .process_with_scratch(&mut sc.real_buf, &mut sc.spectrum, &mut sc.fft)
            .expect("circle analysis: FFT sizes");
        let inv_n = 1.0 / self.n as f64;
        let r = std::f64::consts::SQRT_2 * inv_n;
        coeffs[0] = sc.spectrum[0].re * inv_n;
        for k in 1..=self.kmax {
            coeffs[2 * k - 1] = sc.spectrum[k].re * r;
            coeffs[2 * k] = -sc.spectrum[k].im * r;
        }
    }

    fn refined(&self, lmax: usize) -> Box<dyn Basis> {
        Box::new(self.with_lmax(lmax))
    }

    fn with_lmax(&self, lmax: usize) -> Self {
        Self::new(lmax)
    }

    fn evaluate_at(&self, x: &[f64], out: &mut [f64]) {
        let mut h = Vec::with_capacity(self.kmax + 1);
        self.harmonics(x, &mut h);
        out[0] = 1.0;
        let r = std::f64::consts::SQRT_2;
        for k in 1..=self.kmax {
            out[2 * k - 1] = r * h[k].0;
            out[2 * k] = r * h[k].1;
        }
    }

    fn point_moments(&self, points: &[f64], mass: Option<&[f64]>, moments: &mut [f64]) {
        // M_k = sum_j m_j e^{-ik th_j}: the cosine moment is Re M_k, the sine moment -Im M_k.
        let m = crate::particles::circle_fast::circle_moments_weighted(points, mass, self.kmax);
        let r = std::f64::consts::SQRT_2;
        moments[0] = m[0][0];
        for k in 1..=self.kmax {
            moments[2 * k - 1] = r * m[k][0];
            moments[2 * k] = -r * m[k][1];
        }
    }

    fn evaluate_points(&self, coeffs: &[f64], points: &[f64], values: &mut [f64]) {
        let mut h = Vec::with_capacity(self.kmax + 1);
        let r = std::f64::consts::SQRT_2;
        for (x, v) in points.chunks_exact(2).zip(values.iter_mut()) {
            self.harmonics(x, &mut h);
            *v = coeffs[0]
                + (1..=self.kmax)
                    .map(|k| r * (coeffs[2 * k - 1] * h[k].0 + coeffs[2 * k] * h[k].1))
                    .sum::<f64>();
        }
    }

    fn gradient_points(
        &self,
        coeffs: &[f64],
        points: &[f64],
        values: &mut [f64],
        gradients: &mut [f64],
    ) {
        let mut h = Vec::with_capacity(self.kmax + 1);
        let r = std::f64::consts::SQRT_2;
        for ((x, v), g) in points
            .chunks_exact(2)
            .zip(values.iter_mut())
            .zip(gradients.chunks_exact_mut(2))
        {
            self.harmonics(x, &mut h);
            let (mut f, mut df) = (coeffs[0], 0.0);
            for k in 1..=self.kmax {
                let (a, b) = (r * coeffs[2 * k - 1], r * coeffs[2 * k]);
                f += a * h[k].0 + b * h[k].1;
                df += k as f64 * (b * h[k].0 - a * h[k].1);
            }
            *v = f;
            // Tangent at th: (-sin th, cos th).
            let rr = x[0].hypot(x[1]);
            let (c1, s1) = if rr > 0.0 {
                (x[0] / rr, x[1] / rr)
            } else {
                (1.0, 0.0)
            };
            g[0] = -df * s1;
            g[1] = df * c1;
        }
    }
}
