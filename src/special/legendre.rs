//! Orthonormal associated Legendre functions for spherical harmonics on `S^2`.
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
//! Recurrences (stable, normalised):
//! `pbar_m^m = sqrt((2m+1)/(2m)) s pbar_{m-1}^{m-1}`, `pbar_{m+1}^m = sqrt(2m+3) x pbar_m^m`,
//! `pbar_l^m = a_lm x pbar_{l-1}^m - b_lm pbar_{l-2}^m` with
//! `a_lm = sqrt((4l^2-1)/(l^2-m^2))`, `b_lm = sqrt((2l+1)((l-1)^2-m^2) / ((2l-3)(l^2-m^2)))`.
//!
//! The sectoral start `pbar_m^m ~ s^m` underflows near the poles for large `m`; it is carried
//! as a mantissa with a separate power-of-two exponent, and values are emitted once they are
//! representable (values below ~1e-290 are returned as 0, which is exact to double precision
//! relative to the O(1) harmonics they are summed with).

/// Scale step for the extended exponent (2^600).
const BIG: f64 = 4.149_515_568_880_993e180; // 2^600
const BIG_INV: f64 = 2.409_919_865_102_884_6e-181; // 2^-600

/// `ln pbar_m^m(x)` divided into mantissa and exponent: returns `(mantissa, k)` with
/// `pbar_m^m = mantissa * BIG^{-k}`, `s = sqrt(1 - x^2)`.
fn sectoral(m: usize, s: f64) -> (f64, i32) {
    let mut v = 1.0_f64;
    let mut k = 0;
    for j in 1..=m {
        let jf = j as f64;
        v *= s * ((2.0 * jf + 1.0) / (2.0 * jf)).sqrt();
        if v.abs() < BIG_INV && v != 0.0 {
            v *= BIG;
            k += 1;
        }
    }
    (v, k)
}

/// Fill `out[l - m] = pbar_l^m(x)` for `l = m..=lmax` (requires `out.len() >= lmax - m + 1`,
/// `|x| <= 1`). Returns early with zeros when `m > lmax`.
pub fn legendre_column(m: usize, lmax: usize, x: f64, out: &mut [f64]) {
    if m > lmax {
        return;
    }
    let n = lmax - m + 1;
    assert!(out.len() >= n, "legendre_column: output too short");
    let s = ((1.0 - x) * (1.0 + x)).max(0.0).sqrt();
    let (mut p0, mut k) = sectoral(m, s);
    let mf = m as f64;
    let emit = |v: f64, k: i32| if k == 0 { v } else { 0.0 };
    out[0] = emit(p0, k);
    if n == 1 {
        return;
    }
    let mut p1 = (2.0 * mf + 3.0).sqrt() * x * p0;
    out[1] = emit(p1, k);
    for l in (m + 2)..=lmax {
        let lf = l as f64;
        let a = ((4.0 * lf * lf - 1.0) / (lf * lf - mf * mf)).sqrt();
        let b = ((2.0 * lf + 1.0) * ((lf - 1.0) * (lf - 1.0) - mf * mf)
            / ((2.0 * lf - 3.0) * (lf * lf - mf * mf)))
            .sqrt();
        let p2 = a * x * p1 - b * p0;
        p0 = p1;
        p1 = p2;
        if k > 0 && p1.abs() > 1.0 {
            // Leave the extended range once the values have grown back.
            p0 *= BIG_INV;
            p1 *= BIG_INV;
            k -= 1;
        }
        out[l - m] = emit(p1, k);
    }
}

/// Fill `out[l - m] = pbar_l^m(cos th)` and `dout[l - m] = d/dth pbar_l^m(cos th)` for
/// `l = m..=lmax`, given `x = cos th` and `s = sin th >= 0`.
///
/// Uses `s d/dth pbar_l^m = l x pbar_l^m - sqrt((2l+1)(l^2-m^2)/(2l-1)) pbar_{l-1}^m`; at the
/// poles (`s = 0`) the derivative is returned as its limit (non-zero only for `m = 1`).
pub fn legendre_column_with_derivative(
    m: usize,
    lmax: usize,
    x: f64,
    s: f64,
    out: &mut [f64],
    dout: &mut [f64],
) {
    legendre_column(m, lmax, x, out);
    if m > lmax {
        return;
    }
    let mf = m as f64;
    for l in m..=lmax {
        let lf = l as f64;
        let prev = if l > m { out[l - m - 1] } else { 0.0 };
        let c = ((2.0 * lf + 1.0) * (lf * lf - mf * mf) / (2.0 * lf - 1.0)).sqrt();
        dout[l - m] = if s > 0.0 {
            (lf * x * out[l - m] - c * prev) / s
        } else if m == 1 {
            // pbar_l^1 ~ sqrt((2l+1) l (l+1))/2 * sin th near a pole; sign (-1)^l at the south pole.
            let cl = ((2.0 * lf + 1.0) * lf * (lf + 1.0)).sqrt() / 2.0;
            if x > 0.0 || l % 2 == 0 {
                cl
            } else {
                -cl
            }
        } else {
            0.0
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::special::gauss_legendre;

    #[test]
    fn closed_forms_low_degree() {
        let x: f64 = 0.3;
        let s = (1.0 - x * x).sqrt();
        let mut out = vec![0.0; 3];
        legendre_column(0, 2, x, &mut out);
        assert!((out[0] - 1.0).abs() < 1e-15);
        assert!((out[1] - 3f64.sqrt() * x).abs() < 1e-15);
        assert!((out[2] - 5f64.sqrt() * 0.5 * (3.0 * x * x - 1.0)).abs() < 1e-15);
        legendre_column(1, 2, x, &mut out);
        // pbar_1^1 = sqrt(3/2) s, pbar_2^1 = sqrt(5/6) * 3 x s
        assert!((out[0] - (1.5f64).sqrt() * s).abs() < 1e-15);
        assert!((out[1] - (5.0 / 6.0f64).sqrt() * 3.0 * x * s).abs() < 1e-15);
    }

    #[test]
    fn orthonormal_under_gauss_legendre() {
        let lmax = 120;
        let q = gauss_legendre(lmax + 1);
        for m in [0usize, 1, 7, 60, 120] {
            let n = lmax - m + 1;
            let mut gram = vec![0.0; n * n];
            let mut col = vec![0.0; n];
            for (x, w) in q.nodes.iter().zip(&q.weights) {
                legendre_column(m, lmax, *x, &mut col);
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
        let x = (1e-3f64).cos();
        let mut out = vec![0.0; 10];
        legendre_column(1500, 1509, x, &mut out);
        assert!(out.iter().all(|v| v.is_finite() && v.abs() < 1e-290));
    }

    #[test]
    fn derivative_matches_finite_difference() {
        let th: f64 = 1.1;
        let h = 1e-6;
        let (lmax, m) = (40, 3);
        let n = lmax - m + 1;
        let (mut v, mut d) = (vec![0.0; n], vec![0.0; n]);
        let (mut vp, mut vm) = (vec![0.0; n], vec![0.0; n]);
        legendre_column_with_derivative(m, lmax, th.cos(), th.sin(), &mut v, &mut d);
        legendre_column(m, lmax, (th + h).cos(), &mut vp);
        legendre_column(m, lmax, (th - h).cos(), &mut vm);
        for i in 0..n {
            let fd = (vp[i] - vm[i]) / (2.0 * h);
            assert!(
                (fd - d[i]).abs() < 1e-6 * (1.0 + d[i].abs()),
                "l={} {fd} {}",
                i + m,
                d[i]
            );
        }
    }
}
