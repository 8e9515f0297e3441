//! Orthonormal associated Legendre functions for spherical harmonics on `S^2`: the one
//! recurrence of the crate (grid transforms, point moments, point evaluation and gradients
//! all run on the tables of [`LegendreRecurrence`]).
//!
//! Convention: with the uniform probability measure `sigma` on `S^2`, the real harmonics
//!
//! ```text
//! Y_l0 = pbar_l^0(cos th),  Y_lm^c = sqrt(2) pbar_l^m(cos th) cos(m ph),  Y_lm^s = sqrt(2) pbar_l^m(cos th) sin(m ph)
//! ```
//!
//! are orthonormal, i.e. `(1/2) int_{-1}^{1} pbar_l^m(x)^2 dx = 1`, so
//! `pbar_l^m = sqrt((2l+1) (l-m)!/(l+m)!) P_l^m` (no Condon–Shortley phase).
//!
//! Recurrence: `pbar_m^m = sigma_m s^m` with `sigma_m = prod_{k=1..m} sqrt((2k+1)/(2k))`,
//! `pbar_l^m = a_lm x pbar_{l-1}^m - b_lm pbar_{l-2}^m`, `a_lm = sqrt((4l^2-1)/(l^2-m^2))`,
//! `b_lm = sqrt((2l+1)((l-1)^2-m^2) / ((2l-3)(l^2-m^2)))` (`b_{m+1,m} = 0`).
//! It is run *rescaled*: with `c_m = c_{m+1} = 1`, `c_l = b_lm c_{l-2}` the functions
//! `q_l = pbar_l^m / c_l` satisfy
//!
//! ```text
//! q_l = alpha_lm x q_{l-1} - q_{l-2},    alpha_lm = a_lm c_{l-1} / c_l,
//! ```
//!
//! one multiplication and one fused multiply-subtract per degree (`c_l` is `O(1)`: the
//! products of `b` telescope). Being linear, the same recurrence gives `pbar_l^m / s` from
//! the start `sigma_m s^{m-1}`: the pole-safe form of the point kernels.
//!
//! Near the poles the sectoral start `sigma_m s^m` underflows for large `m`; the grid
//! transforms start each ring at its first *significant* degree ([`LegendreRecurrence::first_significant`],
//! found with an extended exponent), and [`LegendreRecurrence::column`] carries the exponent
//! separately, returning values below ~`1e-290` as 0 (exact to double precision relative to
//! the `O(1)` harmonics they are summed with).

// Index loops over orders and packed tables are written out.
#![allow(clippy::needless_range_loop)]

use super::dd::Dd;

/// Scale step for the extended exponent (2^600).
const BIG: f64 = 4.149_515_568_880_993e180; // 2^600
const BIG_INV: f64 = 2.409_919_865_102_884_6e-181; // 2^-600

/// Tables of the rescaled recurrence for orders and degrees `0 <= m <= l <= L + 1`, packed by
/// order: entry `(m, l)` at `offset(m) + l - m`.
#[derive(Clone, Debug)]
pub struct LegendreRecurrence {
    lmax: usize,
    offset: Vec<usize>,
    /// `alpha_lm` (0 at `l = m`).
    alpha: Vec<f64>,
    /// `c_l`.
    scale: Vec<f64>,
    /// `sqrt((l-m)(l+m+1))` (derivative in `th`, see [`LegendreRecurrence::derivative_coefficient`]).
    deriv: Vec<f64>,
    /// `sigma_m`.
    sectoral: Vec<f64>,
}

impl LegendreRecurrence {
    /// Tables for degrees up to `lmax` (entries up to `lmax + 1` are kept so that a loop may
    /// advance one step past `L`).
    pub fn new(lmax: usize) -> Self {
        let top = lmax + 1;
        let mut offset = Vec::with_capacity(top + 2);
        let mut total = 0;
        for m in 0..=top {
            offset.push(total);
            total += top - m + 1;
        }
        offset.push(total);
        // Products and quotients in double-double, rounded once: every table entry is within
        // ~0.5 ulp, so the recurrence is as accurate as the unscaled one.
        let mut sectoral = vec![1.0; top + 1];
        let mut sig = Dd::from(1.0);
        for m in 1..=top {
            let mf = m as f64;
            sig = sig.mul(Dd::from(2.0 * mf + 1.0).div(Dd::from(2.0 * mf)).sqrt());
            sectoral[m] = sig.to_f64();
        }
        let (mut alpha, mut scale, mut deriv) =
            (vec![0.0; total], vec![1.0; total], vec![0.0; total]);
        let mut c = vec![Dd::from(1.0); top + 1];
        for m in 0..=top {
            let mf = m as f64;
            let o = offset[m];
            for l in m..=top {
                let lf = l as f64;
                let i = o + l - m;
                deriv[i] = ((lf - mf) * (lf + mf + 1.0)).sqrt();
                let j = l - m;
                if l == m {
                    c[0] = Dd::from(1.0);
                    continue;
                }
                let den = (lf - mf) * (lf + mf);
                let a = Dd::from(4.0 * lf * lf - 1.0).div(Dd::from(den)).sqrt();
                if l == m + 1 {
                    c[j] = Dd::from(1.0);
                    alpha[i] = a.to_f64();
                } else {
                    let num = (2.0 * lf + 1.0) * ((lf - 1.0 - mf) * (lf - 1.0 + mf));
                    let b = Dd::from(num).div(Dd::from((2.0 * lf - 3.0) * den)).sqrt();
                    c[j] = b.mul(c[j - 2]);
                    alpha[i] = a.mul(c[j - 1]).div(c[j]).to_f64();
                }
                scale[i] = c[j].to_f64();
            }
        }
        LegendreRecurrence {
            lmax,
            offset,
            alpha,
            scale,
            deriv,
            sectoral,
        }
    }

    /// Tables for `lmax` shared through a small process-wide cache (the last few degrees
    /// asked for), for callers that evaluate at the same degree many times.
    pub fn shared(lmax: usize) -> std::sync::Arc<Self> {
        use std::sync::{Arc, Mutex, OnceLock};
        const KEEP: usize = 4;
        static CACHE: OnceLock<Mutex<Vec<Arc<LegendreRecurrence>>>> = OnceLock::new();
        let cache = CACHE.get_or_init(|| Mutex::new(Vec::new()));
        let mut c = cache.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(i) = c.iter().position(|r| r.lmax == lmax) {
            let r = c.remove(i);
            c.push(r.clone());
            return r;
        }
        let r = Arc::new(Self::new(lmax));
        if c.len() == KEEP {
            c.remove(0);
        }
        c.push(r.clone());
        r
    }

    /// Largest degree `L`.
    pub fn lmax(&self) -> usize {
        self.lmax
    }

    /// Number of `(m, l)` pairs with `m <= l <= L`: `(L+1)(L+2)/2`.
    pub fn triangle_len(&self) -> usize {
        (self.lmax + 1) * (self.lmax + 2) / 2
    }

    /// Index of `(m, l)` in the degree-within-order packing of `m <= l <= L`
    /// (`sum_{m' < m} (L + 1 - m') + l - m`).
    pub fn triangle_index(&self, m: usize, l: usize) -> usize {
        m * (self.lmax + 1) - m * (m.saturating_sub(1)) / 2 + l - m
    }

    /// `alpha_lm` for `l = m..=L+1` (`[0]` is 0).
    pub fn alpha(&self, m: usize) -> &[f64] {
        &self.alpha[self.offset[m]..self.offset[m + 1]]
    }

    /// `c_l` for `l = m..=L+1`: `pbar_l^m = c_l q_l`.
    pub fn scale(&self, m: usize) -> &[f64] {
        &self.scale[self.offset[m]..self.offset[m + 1]]
    }

    /// `sqrt((l-m)(l+m+1))` for `l = m..=L+1`: with `q^m_l = pbar_l^m / s`,
    /// `d/dth pbar_l^m = m x q^m_l - sqrt((l-m)(l+m+1)) s q^{m+1}_l`.
    pub fn derivative_coefficient(&self, m: usize) -> &[f64] {
        &self.deriv[self.offset[m]..self.offset[m + 1]]
    }

    /// `sigma_m = pbar_m^m / s^m`.
    pub fn sectoral(&self, m: usize) -> f64 {
        self.sectoral[m]
    }

    /// `out[l - m] = pbar_l^m(x)` for `l = m..=L` (`out.len() >= L + 1 - m`), given `x = cos th`
    /// and `s = sin th >= 0`; values below ~`1e-290` are returned as 0.
    pub fn column(&self, m: usize, x: f64, s: f64, out: &mut [f64]) {
        let n = self.lmax + 1 - m;
        let (alpha, scale) = (self.alpha(m), self.scale(m));
        let (mut q, k0) = sectoral_scaled(self.sectoral[m], s, m);
        let mut k = k0;
        let mut qp = 0.0;
        let emit = |v: f64, k: i32| if k == 0 { v } else { 0.0 };
        for j in 0..n {
            out[j] = emit(q * scale[j], k);
            let next = (alpha[j + 1] * x).mul_add(q, -qp);
            qp = q;
            q = next;
            if k > 0 && q.abs() > 1.0 {
                q *= BIG_INV;
                qp *= BIG_INV;
                k -= 1;
            }
        }
    }

    /// The first degree `l in m..=L` with `|pbar_l^m(x)| > threshold` and the rescaled values
    /// `(q_{l-1}, q_l)` there (`q_{m-1} = 0`), or `None` when every `|pbar_l^m(x)|`,
    /// `l <= L`, is below `threshold` (`threshold` in `(2^-600, 1)`).
    pub fn first_significant(
        &self,
        m: usize,
        x: f64,
        s: f64,
        threshold: f64,
    ) -> Option<(usize, f64, f64)> {
        let (alpha, scale) = (self.alpha(m), self.scale(m));
        let (mut q, mut k) = sectoral_scaled(self.sectoral[m], s, m);
        if q == 0.0 {
            return None;
        }
        let mut qp = 0.0;
        for l in m..=self.lmax {
            let j = l - m;
            if k == 0 && (q * scale[j]).abs() > threshold {
                return Some((l, qp, q));
            }
            let next = alpha[j + 1] * x * q - qp;
            qp = q;
            q = next;
            if k > 0 && q.abs() > 1.0 {
                q *= BIG_INV;
                qp *= BIG_INV;
                k -= 1;
            }
        }
        None
    }
}

/// `sigma_m s^m` as `(mantissa, k)` with value `mantissa * 2^(-600 k)`.
fn sectoral_scaled(sigma: f64, s: f64, m: usize) -> (f64, i32) {
    let mut v = 1.0_f64;
    let mut k = 0;
    for _ in 0..m {
        v *= s;
        if v != 0.0 && v < BIG_INV {
            v *= BIG;
            k += 1;
        }
    }
    (v * sigma, k)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::special::{gauss_legendre, gegenbauer_normalized};

    /// Independent route: `pbar_l^m = sqrt((2l+1)(l-m)!/(l+m)!) (2m-1)!! s^m C^{m+1/2}_{l-m}(x)`
    /// with `C^{m+1/2}_{l-m}(1) = (l+m)!/((l-m)!(2m)!)`, from the normalised Gegenbauer
    /// polynomials of `special::gegenbauer` (log-gamma for the factorials).
    fn pbar_via_gegenbauer(l: usize, m: usize, x: f64) -> f64 {
        use special::Gamma;
        let lg = |n: usize| Gamma::ln_gamma(n as f64 + 1.0).0;
        let s = ((1.0 - x) * (1.0 + x)).sqrt();
        // ln (2m-1)!! = ln (2m)! - m ln 2 - ln m!
        let ln_dfact = lg(2 * m) - m as f64 * std::f64::consts::LN_2 - lg(m);
        let ln_c1 = lg(l + m) - lg(l - m) - lg(2 * m);
        let ln_norm = 0.5 * (((2 * l + 1) as f64).ln() + lg(l - m) - lg(l + m));
        let g = gegenbauer_normalized(l - m, m as f64 + 0.5, x);
        g * (ln_norm + ln_dfact + ln_c1 + m as f64 * s.ln()).exp()
    }

    #[test]
    fn column_matches_gegenbauer_route() {
        let lmax = 80;
        let r = LegendreRecurrence::new(lmax);
        let mut out = vec![0.0; lmax + 1];
        for &x in &[-0.97f64, -0.5, -0.01, 0.0, 0.3, 0.77, 0.999] {
            let s = ((1.0 - x) * (1.0 + x)).sqrt();
            for m in [0usize, 1, 2, 5, 17, 40, 80] {
                r.column(m, x, s, &mut out);
                for l in m..=lmax {
                    let want = pbar_via_gegenbauer(l, m, x);
                    let got = out[l - m];
                    assert!(
                        (got - want).abs() < 1e-12 * (1.0 + want.abs()),
                        "x={x} m={m} l={l}: {got} vs {want}"
                    );
                }
            }
        }
    }

    #[test]
    fn closed_forms_low_degree() {
        let r = LegendreRecurrence::new(2);
        let x: f64 = 0.3;
        let s = (1.0 - x * x).sqrt();
        let mut out = vec![0.0; 3];
        r.column(0, x, s, &mut out);
        assert!((out[0] - 1.0).abs() < 1e-15);
        assert!((out[1] - 3f64.sqrt() * x).abs() < 1e-15);
        assert!((out[2] - 5f64.sqrt() * 0.5 * (3.0 * x * x - 1.0)).abs() < 1e-15);
        r.column(1, x, s, &mut out);
        // pbar_1^1 = sqrt(3/2) s, pbar_2^1 = sqrt(5/6) * 3 x s
        assert!((out[0] - (1.5f64).sqrt() * s).abs() < 1e-15);
        assert!((out[1] - (5.0 / 6.0f64).sqrt() * 3.0 * x * s).abs() < 1e-15);
    }

    #[test]
    fn orthonormal_under_gauss_legendre() {
        let lmax = 120;
        let r = LegendreRecurrence::new(lmax);
        let q = gauss_legendre(lmax + 1);
        for m in [0usize, 1, 7, 60, 120] {
            let n = lmax - m + 1;
            let mut gram = vec![0.0; n * n];
            let mut col = vec![0.0; n];
            for (x, w) in q.nodes.iter().zip(&q.weights) {
                let s = ((1.0 - x) * (1.0 + x)).sqrt();
                r.column(m, *x, s, &mut col);
                for i in 0..n {
                    for j in 0..n {
                        gram[i * n + j] += 0.5 * w * col[i] * col[j];
                    }
                }
            }
            for i in 0..n {
                for j in 0..n {
                    let want = if i == j { 1.0 } else { 0.0 };
                    assert!(
                        (gram[i * n + j] - want).abs() < 1e-12,
                        "m={m} {i} {j} {}",
                        gram[i * n + j]
                    );
                }
            }
        }
    }

    #[test]
    fn large_order_near_pole_is_finite_and_tiny() {
        let r = LegendreRecurrence::new(1509);
        let x = (1e-3f64).cos();
        let mut out = vec![0.0; 10];
        r.column(1500, x, (1e-3f64).sin(), &mut out);
        assert!(out.iter().all(|v| v.is_finite() && v.abs() < 1e-290));
    }

    /// The first significant degree: below it every value is under the threshold, at it the
    /// value exceeds it, and the rescaled values reproduce the column.
    #[test]
    fn first_significant_degree_is_where_the_column_exceeds_the_threshold() {
        let lmax = 400;
        let r = LegendreRecurrence::new(lmax);
        let mut col = vec![0.0; lmax + 1];
        let eps = 2f64.powi(-60);
        for &th in &[0.01f64, 0.2, 0.9, 1.5] {
            let (x, s) = (th.cos(), th.sin());
            for m in [0usize, 3, 50, 200, 399] {
                r.column(m, x, s, &mut col);
                let n = lmax + 1 - m;
                let want = col[..n].iter().position(|v| v.abs() > eps).map(|j| j + m);
                let got = r.first_significant(m, x, s, eps);
                assert_eq!(got.map(|g| g.0), want, "th={th} m={m}");
                if let Some((l, _, q)) = got {
                    let v = q * r.scale(m)[l - m];
                    assert!((v - col[l - m]).abs() <= 1e-13 * col[l - m].abs());
                }
            }
        }
    }
}
