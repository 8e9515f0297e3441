//! Zonal (axisymmetric) densities on `S^{d-1}`, any `d >= 2`: functions of `t = <x, e>` with
//! `e` the last coordinate axis, in the orthonormal zonal harmonics
//!
//! ```text
//! Z_l(t) = sqrt(dim H_l) C_l^a(t) / C_l^a(1),   a = (d-2)/2   (d = 2: sqrt(2) T_l(t), Z_0 = 1)
//! ```
//!
//! orthonormal w.r.t. the push-forward of the probability measure, `c_d (1-t^2)^{(d-3)/2} dt`.
//! `Z_l` is evaluated by the three-term recurrence of the orthonormal Gegenbauer polynomials
//! `t Z_l = b_{l+1} Z_{l+1} + b_l Z_{l-1}`, `b_1^2 = 1/(2(1+a))`,
//! `b_k^2 = k(k+2a-1)/(4(k+a)(k+a-1))`.
//!
//! Grid: `n = ceil((3L+1)/2)` Gauss–Gegenbauer nodes (3/2 rule) with probability weights
//! (summing to 1) from [`crate::special::sphere_zonal_rule`], which already delivers nodes and
//! weights to full double precision.
//! Coefficient `l` multiplies `Z_l`; the power of degree `l` is `C_l = f_l^2`.

use super::{point_mass, Basis, Geometry, Scratch};
use crate::special::sphere_zonal_rule;

/// Zonal harmonic basis on `S^{d-1}` up to degree `L` with its Gauss–Gegenbauer grid.
pub struct ZonalBasis {
    lmax: usize,
    dim: usize,
    nodes: Vec<f64>,
    weights: Vec<f64>,
    degrees: Vec<usize>,
    /// `table[l * n + i] = Z_l(t_i)`.
    table: Vec<f64>,
    /// `weighted[l * n + i] = w_i Z_l(t_i)`.
    weighted: Vec<f64>,
    /// Recurrence coefficients `b_k`, `k = 0..` (`b_0 = 0`).
    b: Vec<f64>,
}

/// Recurrence coefficients `b_k` of the orthonormal zonal harmonics, `k = 0..=kmax` (`b_0 = 0`),
/// `a = (d - 2)/2`.
pub(crate) fn recurrence(kmax: usize, a: f64) -> Vec<f64> {
    (0..=kmax)
        .map(|k| {
            let kf = k as f64;
            if k == 0 {
                0.0
            } else if k == 1 {
                (1.0 / (2.0 * (1.0 + a))).sqrt()
            } else {
                (kf * (kf + 2.0 * a - 1.0) / (4.0 * (kf + a) * (kf + a - 1.0))).sqrt()
            }
        })
        .collect()
}

/// Fill `out[l] = Z_l(t)` for `l < out.len()`.
fn zonal_column(b: &[f64], t: f64, out: &mut [f64]) {
    let (mut p0, mut p1) = (0.0, 1.0);
    for (k, o) in out.iter_mut().enumerate() {
        *o = p1;
        let p2 = (t * p1 - b[k] * p0) / b[k + 1];
        p0 = p1;
        p1 = p2;
    }
}

/// Fill `out[l] = Z_l(t)` and `dout[l] = Z_l'(t)` for `l < out.len()` (needs
/// `b.len() > out.len()`).
fn zonal_column_with_derivative(b: &[f64], t: f64, out: &mut [f64], dout: &mut [f64]) {
    let (mut p0, mut p1) = (0.0, 1.0);
    let (mut d0, mut d1) = (0.0, 0.0);
    for (k, (o, d)) in out.iter_mut().zip(dout.iter_mut()).enumerate() {
        *o = p1;
        *d = d1;
        let p2 = (t * p1 - b[k] * p0) / b[k + 1];
        let d2 = (p1 + t * d1 - b[k] * d0) / b[k + 1];
        p0 = p1;
        p1 = p2;
        d0 = d1;
        d1 = d2;
    }
}

impl ZonalBasis {
    /// Basis up to degree `lmax` on `S^{dim-1}` with the dealiased grid `n = ceil((3L+1)/2)`.
    pub fn new(lmax: usize, dim: usize) -> Self {
        Self::with_nodes(lmax, dim, (3 * lmax + 2) / 2)
    }

    /// Basis up to degree `lmax` on an `n`-point Gauss–Gegenbauer grid (`n >= lmax + 1`).
    pub fn with_nodes(lmax: usize, dim: usize, n: usize) -> Self {
        assert!(dim >= 2 && n > lmax, "ZonalBasis: dim >= 2 and n > lmax");
        let a = (dim as f64 - 2.0) / 2.0;
        let b = recurrence(n + 1, a);
        let q = sphere_zonal_rule(n, dim);
        let (nodes, weights) = (q.nodes, q.weights);
        let mut table = vec![0.0; (lmax + 1) * n];
        let mut weighted = vec![0.0; (lmax + 1) * n];
        let mut col = vec![0.0; lmax + 1];
        for (i, (&t, &w)) in nodes.iter().zip(&weights).enumerate() {
            zonal_column(&b, t, &mut col);
            for l in 0..=lmax {
                table[l * n + i] = col[l];
                weighted[l * n + i] = w * col[l];
            }
        }
        Self {
            lmax,
            dim,
            nodes,
            weights,
            degrees: (0..=lmax).collect(),
            table,
            weighted,
            b,
        }
    }

    /// Grid nodes `t_i = <x, e>`, ascending.
    pub fn nodes(&self) -> &[f64] {
        &self.nodes
    }

    /// `Z_l(t)` for `l = 0..out.len()` by the orthonormal recurrence.
    pub fn zonal_harmonics(&self, t: f64, out: &mut [f64]) {
        if out.len() + 1 < self.b.len() {
            zonal_column(&self.b, t, out);
        } else {
            let b = recurrence(out.len() + 1, (self.dim as f64 - 2.0) / 2.0);
            zonal_column(&b, t, out);
        }
    }

    /// True when every tabulated value is finite (fails for very large `d` and `L`, where
    /// `Z_l(1) = sqrt(dim H_l)` overflows).
    pub fn is_finite(&self) -> bool {
        self.table.iter().all(|v| v.is_finite()) && self.weights.iter().all(|v| v.is_finite())
    }
}

impl Basis for ZonalBasis {
    fn geometry(&self) -> Geometry {
        Geometry::Zonal
    }
    fn dim(&self) -> usize {
        self.dim
    }
    fn lmax(&self) -> usize {
        self.lmax
    }
    fn degrees(&self) -> &[usize] {
        &self.degrees
    }
    fn grid_shape(&self) -> Vec<usize> {
        vec![self.nodes.len()]
    }
    fn grid_weights(&self) -> &[f64] {
        &self.weights
    }

    fn make_scratch(&self) -> Scratch {
        Scratch::new()
    }

    fn synthesize_with_scratch(&self, coeffs: &[f64], grid: &mut [f64], _scratch: &mut Scratch) {
        let n = self.nodes.len();
        grid[..n].iter_mut().for_each(|g| *g = 0.0);
        for (l, &c) in coeffs.iter().enumerate().take(self.lmax + 1) {
            let row = &self.table[l * n..(l + 1) * n];
            for (g, z) in grid.iter_mut().zip(row) {
                *g += c * z;
            }
        }
    }

    fn analyze_with_scratch(&self, grid: &[f64], coeffs: &mut [f64], _scratch: &mut Scratch) {
        let n = self.nodes.len();
        for (l, c) in coeffs.iter_mut().enumerate().take(self.lmax + 1) {
            let row = &self.weighted[l * n..(l + 1) * n];
            *c = row.iter().zip(grid).map(|(w, g)| w * g).sum();
        }
    }

    fn refined(&self, lmax: usize) -> Box<dyn Basis> {
        Box::new(self.with_lmax(lmax))
    }

    fn with_lmax(&self, lmax: usize) -> Self {
        Self::new(lmax, self.dim)
    }

    fn evaluate_at(&self, x: &[f64], out: &mut [f64]) {
        let t = x[self.dim - 1].clamp(-1.0, 1.0);
        self.zonal_harmonics(t, &mut out[..self.lmax + 1]);
    }

    fn point_moments(&self, points: &[f64], mass: Option<&[f64]>, moments: &mut [f64]) {
        let d = self.dim;
        let n = points.len() / d;
        let mut z = vec![0.0; self.lmax + 1];
        moments[..self.lmax + 1].iter_mut().for_each(|v| *v = 0.0);
        for (j, x) in points.chunks_exact(d).enumerate() {
            let w = point_mass(mass, n, j);
            self.evaluate_at(x, &mut z);
            for (m, v) in moments.iter_mut().zip(&z) {
                *m += w * v;
            }
        }
    }

    fn evaluate_points(&self, coeffs: &[f64], points: &[f64], values: &mut [f64]) {
        let mut z = vec![0.0; self.lmax + 1];
        for (x, v) in points.chunks_exact(self.dim).zip(values.iter_mut()) {
            self.evaluate_at(x, &mut z);
            *v = z.iter().zip(coeffs).map(|(a, b)| a * b).sum();
        }
    }

    fn gradient_points(
        &self,
        coeffs: &[f64],
        points: &[f64],
        values: &mut [f64],
        gradients: &mut [f64],
    ) {
        let d = self.dim;
        let n = self.lmax + 1;
        let (mut z, mut dz) = (vec![0.0; n], vec![0.0; n]);
        for ((x, v), g) in points
            .chunks_exact(d)
            .zip(values.iter_mut())
            .zip(gradients.chunks_exact_mut(d))
        {
            let t = x[d - 1].clamp(-1.0, 1.0);
            zonal_column_with_derivative(&self.b, t, &mut z, &mut dz);
            *v = z.iter().zip(coeffs).map(|(a, b)| a * b).sum();
            let df: f64 = dz.iter().zip(coeffs).map(|(a, b)| a * b).sum();
            // grad f = f'(t) P_x e_d = f'(t) (e_d - t x).
            for (i, gi) in g.iter_mut().enumerate() {
                let e = if i == d - 1 { 1.0 } else { 0.0 };
                *gi = df * (e - t * x[i]);
            }
        }
    }
}
