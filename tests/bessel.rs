//! Accuracy tests of `attnflow::special::bessel` against mpmath (50 digits) and identities.
//!
//! Fixture: tests/fixtures/bessel_grid.csv, made by scripts/reference_bessel.py.

use attnflow::special::{
    bessel_i_ratio, bessel_i_scaled, ln_bessel_i, ln_bessel_i_orders, ln_bessel_i_scaled,
};

/// One unit in the last place of `v`.
fn ulp(v: f64) -> f64 {
    let v = v.abs();
    if v < f64::MIN_POSITIVE {
        return f64::from_bits(1);
    }
    f64::from_bits(v.to_bits() + 1) - v
}

/// Tolerance for `ln I`: 4 ulp of `max(|v|, 1)`, capped at the floor of 1e-13 absolute,
/// but never below 2 ulp of `v` (for |ln I| > 512 one ulp exceeds 1e-13).
fn ln_tol(v: f64) -> f64 {
    (4.0 * ulp(v.abs().max(1.0))).min(1e-13).max(2.0 * ulp(v))
}

struct Row {
    nu: f64,
    x: f64,
    ln_i: f64,
    scaled: f64,
}

fn grid() -> Vec<Row> {
    let text = include_str!("fixtures/bessel_grid.csv");
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let f: Vec<f64> = l.split(',').map(|s| s.trim().parse().unwrap()).collect();
            Row {
                nu: f[0],
                x: f[1],
                ln_i: f[2],
                scaled: f[3],
            }
        })
        .collect()
}

#[test]
fn ln_bessel_i_matches_mpmath() {
    let rows = grid();
    assert!(rows.len() > 200);
    let mut worst = (0.0, 0.0, 0.0, 0.0);
    let mut worst_abs = 0.0_f64;
    for r in &rows {
        let got = ln_bessel_i(r.nu, r.x);
        let err = (got - r.ln_i).abs();
        worst_abs = worst_abs.max(err);
        let tol = ln_tol(r.ln_i);
        if err / tol > worst.0 {
            worst = (err / tol, r.nu, r.x, err);
        }
        assert!(
            err <= tol,
            "ln I_{}({}) = {got:e}, mpmath {:e}, error {err:e}",
            r.nu,
            r.x,
            r.ln_i
        );
    }
    eprintln!(
        "ln_bessel_i: worst error/tolerance {:.3} at nu={} x={} (abs error {:e}); worst abs error {worst_abs:e}",
        worst.0, worst.1, worst.2, worst.3
    );
}

#[test]
fn scaled_bessel_i_matches_mpmath() {
    let mut worst = (0.0, 0.0, 0.0);
    for r in grid().iter().filter(|r| r.scaled > 0.0) {
        let got = bessel_i_scaled(r.nu, r.x);
        let rel = (got - r.scaled).abs() / r.scaled;
        if rel > worst.0 {
            worst = (rel, r.nu, r.x);
        }
        assert!(
            rel <= 2e-15,
            "e^-x I_{}({}) = {got:e}, mpmath {:e}, relative error {rel:e}",
            r.nu,
            r.x,
            r.scaled
        );
        let ln_scaled = ln_bessel_i_scaled(r.nu, r.x);
        let want = r.scaled.ln();
        assert!((ln_scaled - want).abs() <= ln_tol(want) + 2e-15);
    }
    eprintln!(
        "bessel_i_scaled: worst relative error {:e} at nu={} x={}",
        worst.0, worst.1, worst.2
    );
}

struct RandomRow {
    nu: f64,
    x: f64,
    ln_i: f64,
    scaled: f64,
    ratio: f64,
}

fn random_points() -> Vec<RandomRow> {
    let text = include_str!("fixtures/bessel_random.csv");
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let f: Vec<f64> = l.split(',').map(|s| s.trim().parse().unwrap()).collect();
            RandomRow {
                nu: f[0],
                x: f[1],
                ln_i: f[2],
                scaled: f[3],
                ratio: f[4],
            }
        })
        .collect()
}

#[test]
fn random_points_match_mpmath() {
    let rows = random_points();
    assert_eq!(rows.len(), 400);
    let (mut w_ln, mut w_sc, mut w_ra, mut w_abs) = (0.0_f64, 0.0_f64, 0.0_f64, 0.0_f64);
    for r in &rows {
        let ln = ln_bessel_i(r.nu, r.x);
        let tol = ln_tol(r.ln_i);
        w_abs = w_abs.max((ln - r.ln_i).abs());
        assert!(
            (ln - r.ln_i).abs() <= tol,
            "ln I_{}({}): {ln:e} vs {:e}",
            r.nu,
            r.x,
            r.ln_i
        );
        w_ln = w_ln.max((ln - r.ln_i).abs() / tol);
        if r.scaled > 0.0 {
            let rel = (bessel_i_scaled(r.nu, r.x) - r.scaled).abs() / r.scaled;
            assert!(rel <= 2e-15, "e^-x I_{}({}): rel error {rel:e}", r.nu, r.x);
            w_sc = w_sc.max(rel);
        }
        let rel = (bessel_i_ratio(r.nu, r.x) - r.ratio).abs() / r.ratio;
        assert!(
            rel <= 1e-14,
            "ratio at nu={} x={}: rel error {rel:e}",
            r.nu,
            r.x
        );
        w_ra = w_ra.max(rel);
    }
    eprintln!(
        "random points: worst ln error/tolerance {w_ln:.3} (abs {w_abs:e}), worst scaled rel {w_sc:e}, worst ratio rel {w_ra:e}"
    );
}

/// A small deterministic generator (no dev-dependency needed): 64-bit LCG, top 53 bits.
struct Lcg(u64);
impl Lcg {
    fn uniform(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
    /// Log-uniform in [lo, hi].
    fn log_uniform(&mut self, lo: f64, hi: f64) -> f64 {
        (lo.ln() + (hi.ln() - lo.ln()) * self.uniform()).exp()
    }
}

#[test]
fn half_integer_orders_match_closed_forms() {
    // e^{-x} I_{1/2}(x) = (1 - e^{-2x}) / sqrt(2 pi x)
    // e^{-x} I_{3/2}(x) = ((1 + e^{-2x}) - (1 - e^{-2x})/x) / sqrt(2 pi x)
    // e^{-x} I_{5/2}(x) = ((1 + 3/x^2)(1 - e^{-2x}) - (3/x)(1 + e^{-2x})) / sqrt(2 pi x)
    // (the I_{3/2}, I_{5/2} forms cancel for small x, so they are checked for x >= 1)
    let mut rng = Lcg(7);
    let mut worst = [0.0_f64; 3];
    for _ in 0..2000 {
        let x = rng.log_uniform(1e-6, 1e5);
        let em = (-2.0 * x).exp_m1(); // e^{-2x} - 1
        let norm = (2.0 * std::f64::consts::PI * x).sqrt();
        let i_half = -em / norm;
        let rel = (bessel_i_scaled(0.5, x) - i_half).abs() / i_half;
        worst[0] = worst[0].max(rel);
        assert!(rel <= 2e-15, "I_1/2({x}): rel error {rel:e}");
        if x >= 1.0 {
            let e2 = 2.0 + em; // 1 + e^{-2x}
            let i_3half = (e2 + em / x) / norm;
            let rel = (bessel_i_scaled(1.5, x) - i_3half).abs() / i_3half;
            worst[1] = worst[1].max(rel);
            assert!(rel <= 2e-15, "I_3/2({x}): rel error {rel:e}");
        }
        if x >= 10.0 {
            let e2 = 2.0 + em;
            let i_5half = (-(1.0 + 3.0 / (x * x)) * em - 3.0 / x * e2) / norm;
            let rel = (bessel_i_scaled(2.5, x) - i_5half).abs() / i_5half;
            worst[2] = worst[2].max(rel);
            assert!(rel <= 2e-15, "I_5/2({x}): rel error {rel:e}");
        }
    }
    eprintln!("half-integer closed forms: worst relative errors {worst:?}");
}

/// ln(e^a - e^b) for a > b.
fn ln_diff_exp(a: f64, b: f64) -> f64 {
    a + (-(b - a).exp()).ln_1p()
}

#[test]
fn three_term_recurrence_holds_in_log_space() {
    // I_{nu-1}(x) - I_{nu+1}(x) = (2 nu / x) I_nu(x), checked as
    // ln(I_{nu-1} - I_{nu+1}) = ln(2 nu / x) + ln I_nu, over the whole domain (unscaled
    // ln I is checked against this in `ln_bessel_i_matches_mpmath`).
    let mut rng = Lcg(11);
    let mut worst = 0.0_f64;
    for _ in 0..3000 {
        let nu = 1.0 + rng.log_uniform(1.0, 2512.0) - 1.0;
        let x = rng.log_uniform(1e-6, 1e5);
        // scaled logs (ln I - x): the same identity, without the large common term x
        let (lm, l0, lp) = (
            ln_bessel_i_scaled(nu - 1.0, x),
            ln_bessel_i_scaled(nu, x),
            ln_bessel_i_scaled(nu + 1.0, x),
        );
        let lhs = ln_diff_exp(lm, lp);
        let rhs = (2.0 * nu / x).ln() + l0;
        // the subtraction loses digits when I_{nu+1} ~ I_{nu-1} (x >> nu^2): scale by the
        // condition number 1 / (1 - I_{nu+1}/I_{nu-1})
        let cond = 1.0 / (-(lp - lm).exp_m1());
        let u = ulp(lm.abs().max(l0.abs()).max(lp.abs()));
        let tol = cond * (2e-15 + 4.0 * u) + 4.0 * u;
        worst = worst.max((lhs - rhs).abs() / tol);
        assert!(
            (lhs - rhs).abs() <= tol,
            "recurrence at nu={nu} x={x}: {lhs:e} vs {rhs:e}"
        );
    }
    eprintln!("recurrence: worst error/tolerance {worst:.3}");
}

#[test]
fn ratio_agrees_with_difference_of_logs() {
    // r = I_{nu+1}/I_nu vs exp(ln I_{nu+1} - ln I_nu) where the logs are small enough that the
    // difference keeps ~1e-14 relative accuracy
    let mut rng = Lcg(13);
    for _ in 0..3000 {
        let nu = rng.log_uniform(1.0, 2512.0) - 1.0;
        let x = rng.log_uniform(1e-6, 1e5);
        let r = bessel_i_ratio(nu, x);
        assert!(
            r > 0.0 && r < 1.0,
            "ratio out of (0,1) at nu={nu} x={x}: {r}"
        );
        let (a, b) = (ln_bessel_i_scaled(nu + 1.0, x), ln_bessel_i_scaled(nu, x));
        let via_logs = (a - b).exp();
        let tol = 1e-14 + 4.0 * (ulp(a) + ulp(b));
        assert!(
            ((r - via_logs) / r).abs() <= tol,
            "nu={nu} x={x}: ratio {r:e} vs logs {via_logs:e}"
        );
    }
}

#[test]
fn run_of_orders_agrees_with_single_orders() {
    for &nu0 in &[0.0, 0.5, 7.3, 34.5, 35.0, 100.0] {
        for &x in &[1e-6, 0.3, 9.0, 80.0, 1500.0, 1e5] {
            let run = ln_bessel_i_orders(nu0, 60, x);
            for (k, v) in run.iter().enumerate() {
                let single = ln_bessel_i(nu0 + k as f64, x);
                let tol = 1e-14_f64.max(2.0 * ulp(single));
                assert!(
                    (v - single).abs() <= tol,
                    "run nu0={nu0} k={k} x={x}: {v:e} vs {single:e}"
                );
            }
        }
    }
}

#[test]
fn invalid_inputs_give_nan() {
    for &(nu, x) in &[
        (-0.5, 1.0),
        (1.0, 0.0),
        (1.0, -1.0),
        (f64::NAN, 1.0),
        (1.0, f64::NAN),
        (1.0, f64::INFINITY),
        (f64::INFINITY, 1.0),
    ] {
        assert!(bessel_i_scaled(nu, x).is_nan(), "scaled({nu},{x})");
        assert!(ln_bessel_i(nu, x).is_nan(), "ln({nu},{x})");
        assert!(ln_bessel_i_scaled(nu, x).is_nan(), "ln scaled({nu},{x})");
        assert!(bessel_i_ratio(nu, x).is_nan(), "ratio({nu},{x})");
    }
    assert!(ln_bessel_i_orders(-1.0, 3, 1.0).iter().all(|v| v.is_nan()));
}

#[test]
fn domain_corners_match_mpmath() {
    // x up to 1e100 and down to 1e-100, nu up to 1e8 (tests/fixtures/bessel_extreme.csv)
    let text = include_str!("fixtures/bessel_extreme.csv");
    let mut n = 0;
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
    {
        let f: Vec<f64> = line.split(',').map(|s| s.trim().parse().unwrap()).collect();
        let (nu, x, ln_i, ln_scaled) = (f[0], f[1], f[2], f[3]);
        let got = ln_bessel_i(nu, x);
        assert!(
            (got - ln_i).abs() <= ln_tol(ln_i),
            "ln I_{nu}({x}) = {got:e} vs {ln_i:e}"
        );
        let got = ln_bessel_i_scaled(nu, x);
        assert!(
            (got - ln_scaled).abs() <= ln_tol(ln_scaled),
            "ln(e^-x I_{nu}({x})) = {got:e} vs {ln_scaled:e}"
        );
        let r = bessel_i_ratio(nu, x);
        assert!(r > 0.0 && r <= 1.0, "ratio({nu}, {x}) = {r}");
        n += 1;
    }
    assert_eq!(n, 16);
    // just outside the domain: NaN, not garbage
    assert!(ln_bessel_i(0.0, 2e100).is_nan());
    assert!(ln_bessel_i(0.0, 5e-101).is_nan());
    assert!(ln_bessel_i(2e8, 1.0).is_nan());
}
