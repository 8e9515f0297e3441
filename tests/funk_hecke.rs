//! The quadrature route to the Funk–Hecke eigenvalues against (i) 25-digit mpmath Bessel values
//! (tests/fixtures/quadrature_funk_hecke_mpmath.csv, scripts/reference_quadrature.py) and (ii) the
//! library's closed form `linear::ln_funk_hecke_eigenvalue` (Bessel route).
//!
//! Conditioning: the quadrature sum has terms of both signs; its condition number `kappa`
//! (returned with the value) is at most `lambda_0 / lambda_l`, and the relative error is about
//! `kappa` times the relative accuracy of one term (see `per_kappa`). The tolerance is therefore
//! `TOL_BASE + per_kappa(l) * kappa` (plus the rounding of the logarithm itself), and the
//! comparison is made where that is at most 1e-12 (`kappa` up to a few hundred to a few thousand):
//! beyond, the quadrature route carries fewer digits than the claim, and
//! `lambda_l / lambda_0 < ~1e-14` carries none.

use attnflow::linear::ln_funk_hecke_eigenvalue;
use attnflow::special::funk_hecke::{
    funk_hecke_by_quadrature, funk_hecke_by_quadrature_all, funk_hecke_quadrature_nodes,
    ln_funk_hecke_by_quadrature,
};
use std::collections::BTreeMap;

const TOL_BASE: f64 = 2e-14;
const DIMS: [usize; 7] = [2, 3, 4, 5, 8, 16, 64];
const BETAS: [f64; 6] = [1e-3, 0.5, 1.0, 9.0, 50.0, 200.0];

/// (dim, beta bits) -> column `col` of the fixture for l = 0, 1, ...
fn reference_column(col: usize) -> BTreeMap<(usize, u64), Vec<f64>> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/quadrature_funk_hecke_mpmath.csv"
    );
    let text = std::fs::read_to_string(path).expect("fixture");
    let mut map: BTreeMap<(usize, u64), Vec<f64>> = BTreeMap::new();
    for line in text.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        let d: usize = f[0].parse().unwrap();
        let beta: f64 = f[1].parse().unwrap();
        let l: usize = f[2].parse().unwrap();
        let v = map.entry((d, beta.to_bits())).or_default();
        assert_eq!(v.len(), l);
        v.push(f[col].parse().unwrap());
    }
    map
}

/// (dim, beta bits) -> ln lambda_l for l = 0, 1, ...
fn reference() -> BTreeMap<(usize, u64), Vec<f64>> {
    reference_column(3)
}

/// (dim, beta bits) -> ln(e^{-beta} lambda_l) for l = 0, 1, ...
fn reference_scaled() -> BTreeMap<(usize, u64), Vec<f64>> {
    reference_column(4)
}

/// Relative accuracy of one term `w_k e^{beta(x_k-1)} P_l(x_k)` of the sum: `eps = 1.1e-16`
/// times `(2 + sqrt(l))`. Nodes and weights are correctly rounded or within an ulp or two
/// (tests/quadrature.rs), `e^{-beta (1 - x_k)}` is formed from the exact complement, and the
/// forward recurrence for `P_l` accumulates random-walk rounding, absolute `~sqrt(l) eps`
/// (tests/gegenbauer.rs). Measured error / kappa stays below half of this model.
fn per_kappa(l: usize) -> f64 {
    1.1e-16 * (2.0 + (l as f64).sqrt())
}

/// Tolerance on a logarithm of `lambda_l` (= relative tolerance on `lambda_l`) for a sum with
/// condition number `kappa`; `ln_value` enters because a double holding a logarithm of size ~200
/// is itself only good to half an ulp (`1.4e-14`).
fn tolerance(kappa: f64, l: usize, ln_value: f64) -> f64 {
    TOL_BASE + per_kappa(l) * kappa + 4.5e-16 * ln_value.abs()
}

/// Quadrature route vs mpmath: relative error of lambda_l (= absolute error of
/// ln(e^{-beta} lambda_l)) within the conditioning-based tolerance, for every l where that
/// tolerance is <= 1e-12; the condition number obeys its bound kappa <= lambda_0 / lambda_l; and
/// `ln_lambda` agrees with mpmath's `ln lambda_l` up to its own rounding. All (d, beta) of the
/// fixture: the grid DIMS x BETAS and a few beta up to 5000 (where e^beta overflows a double).
#[test]
fn quadrature_route_matches_mpmath() {
    let refs = reference_scaled();
    let refs_ln = reference();
    assert!(refs.len() >= DIMS.len() * BETAS.len() + 5);
    let mut worst_ratio: f64 = 0.0;
    let mut tested = 0;
    for (&(d, beta_bits), ln_ref) in &refs {
        let beta = f64::from_bits(beta_bits);
        let lmax = ln_ref.len() - 1;
        let n = funk_hecke_quadrature_nodes(lmax, beta);
        let got = funk_hecke_by_quadrature_all(lmax, beta, d, n);
        for (l, r) in got.iter().enumerate() {
            let tol = tolerance(r.condition, l, ln_ref[l]);
            if tol > 1e-12 {
                continue;
            }
            let bound = (ln_ref[0] - ln_ref[l]).exp();
            assert!(r.condition >= 1.0 && r.condition <= bound * (1.0 + 1e-12));
            let err = (r.ln_scaled_lambda - ln_ref[l]).abs();
            worst_ratio = worst_ratio.max(err / tol);
            tested += 1;
            assert!(
                err <= tol,
                "d={d} beta={beta} l={l}: {} vs {} (kappa {:e}, err {err:e})",
                r.ln_scaled_lambda,
                ln_ref[l],
                r.condition
            );
            let ln_full = refs_ln[&(d, beta_bits)][l];
            assert!((r.ln_lambda - ln_full).abs() <= tol + 4.5e-16 * ln_full.abs());
        }
    }
    assert!(tested > 1000, "{tested}");
    println!("{tested} values; worst error / tolerance = {worst_ratio:.3}");
}

/// Quadrature route vs the closed form `linear::ln_funk_hecke_eigenvalue` (Bessel route), same
/// tolerance, on every (d, beta) of the fixture (beta up to 5000); the closed form is itself
/// checked against mpmath here, so a failure names the route at fault.
#[test]
fn quadrature_route_matches_closed_form() {
    let refs = reference();
    let mut worst_closed: f64 = 0.0;
    let mut worst_pair: f64 = 0.0;
    for (&(d, beta_bits), ln_ref) in &refs {
        let beta = f64::from_bits(beta_bits);
        let lmax = ln_ref.len() - 1;
        let n = funk_hecke_quadrature_nodes(lmax, beta);
        let got = funk_hecke_by_quadrature_all(lmax, beta, d, n);
        for (l, r) in got.iter().enumerate() {
            let tol = tolerance(r.condition, l, ln_ref[l]);
            if tol > 1e-12 {
                continue;
            }
            let closed = ln_funk_hecke_eigenvalue(l, beta, d);
            let closed_err = (closed - ln_ref[l]).abs();
            worst_closed = worst_closed.max(closed_err);
            assert!(
                closed_err <= 1e-12,
                "closed form d={d} beta={beta} l={l}: {closed} vs mpmath {}",
                ln_ref[l]
            );
            let diff = (r.ln_lambda - closed).abs();
            worst_pair = worst_pair.max(diff);
            assert!(
                diff <= tol + closed_err,
                "d={d} beta={beta} l={l}: quadrature {} vs closed form {closed}",
                r.ln_lambda
            );
        }
    }
    println!(
        "closed form vs mpmath worst {worst_closed:e}; quadrature vs closed form worst {worst_pair:e}"
    );
}

/// The suggested node count is converged: 40 more nodes change nothing beyond rounding, while
/// too few nodes visibly fail (the test can fail).
#[test]
fn node_count_is_converged() {
    for (l, beta, d) in [
        (0usize, 200.0, 3usize),
        (5, 50.0, 16),
        (20, 9.0, 64),
        (3, 1.0, 2),
        (40, 3000.0, 3),
    ] {
        let n = funk_hecke_quadrature_nodes(l, beta);
        let a = funk_hecke_by_quadrature(l, beta, d, n);
        let b = funk_hecke_by_quadrature(l, beta, d, n + 40);
        assert!(
            (a.ln_scaled_lambda - b.ln_scaled_lambda).abs()
                <= tolerance(a.condition, l, a.ln_scaled_lambda)
        );
        let c = ln_funk_hecke_by_quadrature(l, beta, d, l.div_ceil(2) + 2);
        if beta >= 9.0 {
            // NaN (a non-positive sum) or a visibly wrong value
            assert!(
                c.is_nan() || (c - b.ln_lambda).abs() > 1e-6,
                "l={l} beta={beta}: {c}"
            );
        }
    }
}

/// For beta -> 0, lambda_l ~ (beta/2)^l Gamma(d/2) / Gamma(l + d/2) (leading term of the Bessel
/// series; d = 2: I_l(beta)), with the next term smaller by beta^2 / (4 (l + d/2)).
#[test]
fn small_beta_leading_term() {
    let beta: f64 = 1e-3;
    for d in DIMS {
        let df = d as f64;
        for l in 0..4usize {
            let lf = l as f64;
            let r = funk_hecke_by_quadrature(l, beta, d, 20);
            let lead = lf * (beta / 2.0).ln() + ln_gamma_half_integer(df / 2.0)
                - ln_gamma_half_integer(lf + df / 2.0);
            let next = beta * beta / 4.0 / (lf + df / 2.0);
            assert!(
                (r.ln_lambda - lead).abs() <= 1.5 * next + tolerance(r.condition, l, lead),
                "d={d} l={l}"
            );
        }
    }
}

/// ln Gamma(x) for x a positive integer or half-integer, by exact products from Gamma(1) = 1 and
/// Gamma(1/2) = sqrt(pi).
fn ln_gamma_half_integer(x: f64) -> f64 {
    let (mut v, mut z) = if x.fract() == 0.0 {
        (0.0, 1.0)
    } else {
        (0.5 * std::f64::consts::PI.ln(), 0.5)
    };
    while z < x {
        v += z.ln();
        z += 1.0;
    }
    v
}

#[test]
#[should_panic(expected = "accepted a finite number > 0")]
fn rejects_bad_beta() {
    funk_hecke_by_quadrature(1, -1.0, 3, 10);
}
