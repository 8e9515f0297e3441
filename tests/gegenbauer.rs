//! Gegenbauer polynomials against mpmath (tests/fixtures/gegenbauer_mpmath.csv, made by
//! scripts/reference_gegenbauer.py), closed forms (Chebyshev T and U, Legendre), the derivative
//! identity, harmonic dimensions and the addition theorem.

use attnflow::special::legendre::LegendreRecurrence;
use attnflow::special::{
    gauss_legendre, gegenbauer, gegenbauer_normalized, gegenbauer_normalized_all,
    harmonic_dimension, ln_gegenbauer_at_one, ln_harmonic_dimension, sphere_zonal_rule,
};

struct Row {
    l: usize,
    a: f64,
    t: f64,
    normalized: f64,
    ln_c1: f64,
}

fn fixture() -> Vec<Row> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/gegenbauer_mpmath.csv"
    );
    let text = std::fs::read_to_string(path).expect("fixture");
    text.lines()
        .skip(1)
        .map(|line| {
            let f: Vec<&str> = line.split(',').collect();
            Row {
                l: f[0].parse().unwrap(),
                a: f[1].parse().unwrap(),
                t: f[2].parse().unwrap(),
                normalized: f[3].parse().unwrap(),
                ln_c1: f[4].parse().unwrap(),
            }
        })
        .collect()
}

/// `P_l^a(t)` against mpmath for l up to 2000, a up to 511, t at +-1, +-(1 - 1e-12), 0 and random
/// points: absolute error (the values lie in [-1, 1]), one-shot and all-degrees versions.
#[test]
fn normalized_matches_mpmath() {
    let rows = fixture();
    assert!(rows.len() > 900);
    let mut worst: f64 = 0.0;
    let mut buf = vec![0.0; 2001];
    for r in &rows {
        let v = gegenbauer_normalized(r.l, r.a, r.t);
        gegenbauer_normalized_all(r.l, r.a, r.t, &mut buf);
        let err = (v - r.normalized).abs();
        let err_all = (buf[r.l] - r.normalized).abs();
        if err.max(err_all) > worst {
            worst = err.max(err_all);
            println!("new worst abs {worst:e} at l={} a={} t={}", r.l, r.a, r.t);
        }
        assert!(
            err <= 1e-14 && err_all <= 1e-14,
            "l={} a={} t={}: {v} / {} vs {}",
            r.l,
            r.a,
            r.t,
            buf[r.l],
            r.normalized
        );
        if r.t.abs() == 1.0 {
            let exact = if r.t > 0.0 || r.l % 2 == 0 { 1.0 } else { -1.0 };
            assert_eq!(v, exact);
        }
    }
    println!("worst absolute error of P_l^a vs mpmath: {worst:e}");
}

/// Relative accuracy where the value is not small: |P| >= 1e-3.
#[test]
fn normalized_relative_accuracy_away_from_zeros() {
    let mut worst: f64 = 0.0;
    for r in fixture().iter().filter(|r| r.normalized.abs() >= 1e-3) {
        let v = gegenbauer_normalized(r.l, r.a, r.t);
        let rel = ((v - r.normalized) / r.normalized).abs();
        if rel > worst {
            worst = rel;
            println!(
                "new worst rel {worst:e} at l={} a={} t={} P={}",
                r.l, r.a, r.t, r.normalized
            );
        }
    }
    println!("worst relative error (|P| >= 1e-3): {worst:e}");
    assert!(worst <= 1e-12, "{worst:e}");
}

/// `ln C_l^a(1)` against mpmath log-gammas; `gegenbauer` = `C_l^a(1) P_l^a` where representable,
/// `+-inf` where it overflows, and `C_l^0 = 0` (l >= 1).
#[test]
fn unnormalised_and_value_at_one_match_mpmath() {
    let mut worst_ln: f64 = 0.0;
    let mut worst_c: f64 = 0.0;
    for r in &fixture() {
        let ln1 = ln_gegenbauer_at_one(r.l, r.a);
        if r.ln_c1 == f64::NEG_INFINITY {
            assert_eq!(ln1, f64::NEG_INFINITY);
            assert_eq!(gegenbauer(r.l, r.a, r.t), 0.0);
            continue;
        }
        let err = (ln1 - r.ln_c1).abs();
        worst_ln = worst_ln.max(err / r.ln_c1.abs().max(1.0));
        // absolute error of the log = relative error of C_l^a(1)
        assert!(
            err <= 4e-15 * r.ln_c1.abs().max(1.0),
            "l={} a={}: {ln1} vs {}",
            r.l,
            r.a,
            r.ln_c1
        );
        let c = gegenbauer(r.l, r.a, r.t);
        let ln_abs = r.ln_c1 + r.normalized.abs().ln();
        if r.normalized == 0.0 {
            // an exact zero (e.g. U_5(-1/2)): absolute error relative to C_l^a(1)
            assert!(
                c.abs() <= 1e-14 * r.ln_c1.exp(),
                "l={} a={} t={}: {c}",
                r.l,
                r.a,
                r.t
            );
        } else if ln_abs > 709.8 {
            assert!(
                c.is_infinite() && c.signum() == r.normalized.signum(),
                "{c}"
            );
        } else if ln_abs > -700.0 && r.normalized.abs() >= 1e-3 {
            let exact = ln_abs.exp() * r.normalized.signum();
            let rel = ((c - exact) / exact).abs();
            // exp(ln_abs) itself carries |ln_abs| ulp of rounding
            let tol = 1e-12 + 2.2e-16 * ln_abs.abs();
            worst_c = worst_c.max(rel);
            assert!(rel <= tol, "l={} a={} t={}: {c} vs {exact}", r.l, r.a, r.t);
        }
    }
    println!("worst relative error: ln C(1) {worst_ln:e}, C_l^a(t) {worst_c:e}");
}

/// a = 0: T_l(cos th) = cos(l th); a = 1: C_l^1 = U_l, U_l(cos th) = sin((l+1) th) / sin th.
/// The closed forms carry their own rounding: the argument (l+1) th is off by ~ulp((l+1) th),
/// and t = cos th is rounded (|dT_l/dt| = l |sin(l th)| / sin th), hence the tolerance.
#[test]
fn chebyshev_closed_forms() {
    for i in 1..200 {
        let th = std::f64::consts::PI * i as f64 / 200.0 + 1e-3;
        let t = th.cos();
        for l in [0usize, 1, 2, 7, 50, 333, 1000] {
            let lf = l as f64;
            let tol = 1e-15 + 2.2e-16 * (lf + 1.0) * (2.0 * th + 1.0 / th.sin());
            let tl = (lf * th).cos();
            assert!(
                (gegenbauer_normalized(l, 0.0, t) - tl).abs() <= tol,
                "T_{l}({t}): {} vs {tl}",
                gegenbauer_normalized(l, 0.0, t)
            );
            let ul = ((lf + 1.0) * th).sin() / th.sin();
            assert!(
                (gegenbauer(l, 1.0, t) - ul).abs() <= tol * (lf + 1.0) / th.sin(),
                "U_{l}({t}): {} vs {ul}",
                gegenbauer(l, 1.0, t)
            );
        }
    }
}

/// a = 1/2: C_l^{1/2} = P_l (Legendre), compared with the orthonormal Legendre column
/// pbar_l^0 = sqrt(2l + 1) P_l of `special::legendre` (an independent recurrence). The
/// rescaled Legendre recurrence loses most at `t = +-1` (double characteristic root): measured
/// 2.4e-13 relative at l = 300..400 there (the unscaled three-term form: 7.6e-14); bound 3e-13.
#[test]
fn legendre_identity() {
    let lmax = 400;
    let mut col = vec![0.0; lmax + 1];
    let rec = LegendreRecurrence::new(lmax);
    let mut all = vec![0.0; lmax + 1];
    for i in 0..=100 {
        let t = -1.0 + 2.0 * i as f64 / 100.0;
        rec.column(0, t, ((1.0 - t) * (1.0 + t)).sqrt(), &mut col);
        gegenbauer_normalized_all(lmax, 0.5, t, &mut all);
        for l in 0..=lmax {
            let p = col[l] / (2.0 * l as f64 + 1.0).sqrt();
            assert!(
                (all[l] - p).abs() <= 3e-13,
                "l={l} t={t}: {} vs {p}",
                all[l]
            );
            assert!((gegenbauer(l, 0.5, t) - p).abs() <= 3e-13);
        }
    }
}

/// d/dt C_l^a = 2a C_{l-1}^{a+1}, checked in integrated form: Gauss–Legendre (exact for these
/// polynomials) of 2a C_{l-1}^{a+1} over [-1, t] equals C_l^a(t) - C_l^a(-1).
#[test]
fn derivative_identity() {
    let gl = gauss_legendre(40);
    for a in [0.5, 1.0, 1.5, 3.0, 7.25] {
        for l in [1usize, 2, 5, 17, 40, 79] {
            for t in [-0.9, -0.3, 0.0, 0.41, 0.77, 1.0] {
                let half = (t + 1.0) / 2.0;
                let integral = half
                    * gl.integrate(|s| {
                        2.0 * a * gegenbauer(l - 1, a + 1.0, -1.0 + half * (s + 1.0))
                    });
                let diff = gegenbauer(l, a, t) - gegenbauer(l, a, -1.0);
                // rounding is relative to the size of the integrand, 2a C_{l-1}^{a+1}(1)
                let scale = ln_gegenbauer_at_one(l, a).exp()
                    + 2.0 * a * ln_gegenbauer_at_one(l - 1, a + 1.0).exp() * (t + 1.0);
                assert!(
                    (integral - diff).abs() <= 1e-13 * scale,
                    "a={a} l={l} t={t}: {integral} vs {diff}"
                );
            }
        }
    }
}

fn binomial(n: u128, k: u128) -> u128 {
    if k > n {
        return 0;
    }
    (1..=k).fold(1u128, |c, i| c * (n - k + i) / i)
}

/// dim H_l: closed forms for d = 2, 3, 4, the counting formula
/// binom(l+d-1, l) - binom(l+d-3, l-2) (homogeneous polynomials minus |x|^2 times those of degree
/// l - 2), and the identity dim H_l = (l + a)/a C_l^a(1) (a = (d-2)/2) against mpmath log-gammas.
#[test]
fn harmonic_dimension_closed_forms() {
    for l in 0..300usize {
        let lf = l as f64;
        assert_eq!(harmonic_dimension(l, 2), if l == 0 { 1.0 } else { 2.0 });
        assert_eq!(harmonic_dimension(l, 3), 2.0 * lf + 1.0);
        assert_eq!(harmonic_dimension(l, 4), (lf + 1.0).powi(2));
        for d in [5usize, 6, 8, 11, 16] {
            let (lu, du) = (l as u128, d as u128);
            let count = binomial(lu + du - 1, lu)
                - if l >= 2 {
                    binomial(lu + du - 3, lu - 2)
                } else {
                    0
                };
            assert_eq!(harmonic_dimension(l, d), count as f64, "l={l} d={d}");
        }
    }
    for r in fixture()
        .iter()
        .filter(|r| r.a > 0.0 && (2.0 * r.a).fract() == 0.0)
    {
        let d = (2.0 * r.a) as usize + 2;
        let ln_dim = ((r.l as f64 + r.a) / r.a).ln() + r.ln_c1;
        let got = ln_harmonic_dimension(r.l, d);
        assert!(
            (got - ln_dim).abs() <= 1e-14 * ln_dim.abs().max(1.0),
            "l={} d={d}: {got} vs {ln_dim}",
            r.l
        );
        let h = harmonic_dimension(r.l, d);
        if ln_dim < 709.0 {
            assert!((h.ln() - ln_dim).abs() <= 1e-14 * ln_dim.abs().max(1.0));
        } else {
            assert!(h.is_infinite());
        }
    }
}

/// Addition theorem: Z_l(t) = dim H_l P_l^a(t) is the reproducing kernel of H_l, so
/// int Z_l(<x,e>)^2 dsigma(x) = Z_l(1) = dim H_l; and Z_l, Z_m are orthogonal (l != m).
/// Both integrals are polynomial, so the Gauss–Gegenbauer probability rule is exact.
#[test]
fn addition_theorem_via_quadrature() {
    for d in [2usize, 3, 4, 5, 8, 16, 64] {
        let a = (d as f64 - 2.0) / 2.0;
        let lmax = 60;
        let rule = sphere_zonal_rule(lmax + 2, d);
        let mut p = vec![0.0; lmax + 1];
        let mut gram = vec![0.0; (lmax + 1) * (lmax + 1)];
        for (&x, &w) in rule.nodes.iter().zip(&rule.weights) {
            gegenbauer_normalized_all(lmax, a, x, &mut p);
            for l in 0..=lmax {
                for m in 0..=lmax {
                    gram[l * (lmax + 1) + m] += w * p[l] * p[m];
                }
            }
        }
        for l in 0..=lmax {
            let dim = harmonic_dimension(l, d);
            let zz = dim * dim * gram[l * (lmax + 1) + l];
            assert!(
                ((zz - dim) / dim).abs() <= 1e-13,
                "d={d} l={l}: {zz} vs {dim}"
            );
            for m in 0..l {
                let scale = (gram[l * (lmax + 1) + l] * gram[m * (lmax + 1) + m]).sqrt();
                let c = gram[l * (lmax + 1) + m] / scale;
                assert!(c.abs() <= 1e-14, "d={d} l={l} m={m}: cosine {c:e}");
            }
        }
    }
}

#[test]
#[should_panic(expected = "lmax = 5 needs 6")]
fn all_degrees_checks_buffer_length() {
    let mut out = vec![0.0; 5];
    gegenbauer_normalized_all(5, 1.0, 0.3, &mut out);
}

/// The all-degrees fill (its own loop) agrees with the one-degree evaluation at every degree,
/// on both sides of the switch to Reinsch's form at |t| = 1/2 and for negative t.
#[test]
fn all_degrees_agree_with_single_degree() {
    let lmax = 300;
    let mut buf = vec![0.0; lmax + 1];
    for a in [0.0, 0.5, 1.0, 3.5, 31.0, 511.0] {
        for t in [
            -0.9999, -0.75, -0.5, -0.4999, -0.1, 0.0, 0.3, 0.4999, 0.5, 0.62, 0.999_999,
        ] {
            gegenbauer_normalized_all(lmax, a, t, &mut buf);
            for (l, v) in buf.iter().enumerate() {
                let single = gegenbauer_normalized(l, a, t);
                assert!(
                    (v - single).abs() <= 1e-15,
                    "a={a} t={t} l={l}: {v} vs {single}"
                );
            }
        }
    }
}
