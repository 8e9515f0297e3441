//! Fourier basis on the circle `S^1`.
//!
//! Coefficients, orthonormal w.r.t. `d theta / (2 pi)`:
//! `f_0 <-> 1`, `f_{2k-1} <-> sqrt(2) cos(k theta)`, `f_{2k} <-> sqrt(2) sin(k theta)`, `k = 1..=K`.
//! With `M_k = int rho e^{-ik theta} dsigma = (f_{2k-1} - i f_{2k}) / sqrt(2)` the power is
//! `C_k = 2 |M_k|^2 = f_{2k-1}^2 + f_{2k}^2`. Grid: `theta_j = 2 pi j / n`, `n >= 3K + 1`
//! (3/2 rule), even, a product of 2, 3, 5. Transforms are real FFTs (realfft) with plans
//! built once and scratch buffers reused.

use super::{fft_size, Basis, Geometry};
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
    spectrum: Vec<Complex<f64>>,
    scratch: Vec<Complex<f64>>,
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
            spectrum: vec![Complex::new(0.0, 0.0); n / 2 + 1],
            scratch: vec![Complex::new(0.0, 0.0); scratch_len],
            real_buf: vec![0.0; n],
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

    fn synthesize(&mut self, coeffs: &[f64], grid: &mut [f64]) {
        let s = std::f64::consts::FRAC_1_SQRT_2;
        self.spectrum
            .iter_mut()
            .for_each(|z| *z = Complex::new(0.0, 0.0));
        self.spectrum[0] = Complex::new(coeffs[0], 0.0);
        for k in 1..=self.kmax {
            self.spectrum[k] = Complex::new(coeffs[2 * k - 1] * s, -coeffs[2 * k] * s);
        }
        self.c2r
            .process_with_scratch(&mut self.spectrum, grid, &mut self.scratch)
            .expect("circle synthesis: FFT sizes");
    }

    fn analyze(&mut self, grid: &[f64], coeffs: &mut [f64]) {
        self.real_buf.copy_from_slice(grid);
        self.r2c
            .process_with_scratch(&mut self.real_buf, &mut self.spectrum, &mut self.scratch)
            .expect("circle analysis: FFT sizes");
        let inv_n = 1.0 / self.n as f64;
        let r = std::f64::consts::SQRT_2 * inv_n;
        coeffs[0] = self.spectrum[0].re * inv_n;
        for k in 1..=self.kmax {
            coeffs[2 * k - 1] = self.spectrum[k].re * r;
            coeffs[2 * k] = -self.spectrum[k].im * r;
        }
    }

    fn with_lmax(&self, lmax: usize) -> Self {
        Self::new(lmax)
    }

    fn evaluate_at(&self, x: &[f64], out: &mut [f64]) {
        let th = x[1].atan2(x[0]);
        out[0] = 1.0;
        let r = std::f64::consts::SQRT_2;
        for k in 1..=self.kmax {
            let (s, c) = (k as f64 * th).sin_cos();
            out[2 * k - 1] = r * c;
            out[2 * k] = r * s;
        }
    }
}
