//! Integrators: RK4 order 4 by step halving, Dormand–Prince convergence, the USA energy
//! identity and monotone energy, retraction to the sphere.

use attnflow::particles::{ExactField, Integrator, StepControl, TokenState, VelocityField};
use attnflow::Model;

fn integrate(field: &dyn VelocityField, x0: &[f64], t: f64, control: StepControl) -> Vec<f64> {
    let mut it = Integrator::new(field, x0.to_vec(), control);
    it.advance_to(t, |_, _| {}).unwrap();
    it.x
}

fn max_diff(a: &[f64], b: &[f64]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(p, q)| (p - q).abs())
        .fold(0.0, f64::max)
}

#[test]
fn rk4_converges_at_order_four() {
    // beta = 3, d = 3, 24 tokens, USA scaled time: tokens move O(1) by t = 6.
    let x0 = TokenState::uniform(24, 3, 4, 0).x;
    let field = ExactField::new(3, 3.0, Model::Usa);
    let t = 6.0;
    let reference = integrate(&field, &x0, t, StepControl::DormandPrince { tol: 1e-14 });
    let moved = max_diff(&reference, &x0);
    assert!(moved > 0.3, "tokens barely moved ({moved})");
    let errs: Vec<f64> = [0.4, 0.2, 0.1]
        .iter()
        .map(|&h| {
            max_diff(
                &integrate(&field, &x0, t, StepControl::Rk4 { dt: h }),
                &reference,
            )
        })
        .collect();
    for w in errs.windows(2) {
        let order = (w[0] / w[1]).log2();
        assert!(
            (3.7..4.4).contains(&order),
            "observed order {order} from {errs:?}"
        );
    }
}

#[test]
fn dormand_prince_meets_its_tolerance_and_converges() {
    let x0 = TokenState::uniform(24, 2, 5, 0).x;
    let field = ExactField::new(2, 5.0, Model::Sa);
    let t = 4.0;
    let reference = integrate(&field, &x0, t, StepControl::Rk4 { dt: 0.002 });
    let e8 = max_diff(
        &integrate(&field, &x0, t, StepControl::DormandPrince { tol: 1e-8 }),
        &reference,
    );
    let e11 = max_diff(
        &integrate(&field, &x0, t, StepControl::DormandPrince { tol: 1e-11 }),
        &reference,
    );
    assert!(e8 < 1e-6, "tol 1e-8: global error {e8}");
    assert!(e11 < e8 / 50.0 && e11 < 1e-9, "tol 1e-11: {e11} vs {e8}");
}

#[test]
fn usa_energy_increases_and_satisfies_the_identity() {
    let x0 = TokenState::uniform(150, 2, 6, 0).x;
    let field = ExactField::new(2, 5.0, Model::Usa);
    // RK4: energy non-decreasing at every step; identity error shrinks like h^4.
    let mut worst = Vec::new();
    for h in [0.5, 0.25] {
        let mut it = Integrator::new(&field, x0.clone(), StepControl::Rk4 { dt: h });
        let mut e_prev = it.energy();
        let mut max_err: f64 = 0.0;
        let e0 = e_prev;
        it.advance_to(60.0, |it, r| {
            let e = it.energy();
            assert!(
                e >= e_prev - 1e-15 * e_prev,
                "energy decreased: {e_prev} -> {e}"
            );
            e_prev = e;
            max_err = max_err.max(r.identity_error);
        })
        .unwrap();
        assert!(
            e_prev > 1.5 * e0,
            "no clustering happened ({e0} -> {e_prev})"
        );
        worst.push(max_err);
    }
    assert!(worst[0] < 1e-4, "identity error {worst:?}");
    let order = (worst[0] / worst[1]).log2();
    assert!(order > 3.5, "identity error order {order} from {worst:?}");
    // Adaptive: identity error small, and tokens stay on the sphere.
    let mut it = Integrator::new(&field, x0, StepControl::DormandPrince { tol: 1e-10 });
    let mut max_err: f64 = 0.0;
    it.advance_to(60.0, |_, r| max_err = max_err.max(r.identity_error))
        .unwrap();
    assert!(max_err < 1e-6, "DP identity error {max_err}");
    for row in it.x.chunks(2) {
        assert!(((row[0] * row[0] + row[1] * row[1]).sqrt() - 1.0).abs() < 1e-15);
    }
}

#[test]
fn euler_with_renormalisation_is_first_order() {
    let x0 = TokenState::uniform(16, 3, 7, 0).x;
    let field = ExactField::new(3, 3.0, Model::Sa);
    let t = 2.0;
    let reference = integrate(&field, &x0, t, StepControl::DormandPrince { tol: 1e-14 });
    let errs: Vec<f64> = [0.02, 0.01, 0.005]
        .iter()
        .map(|&h| {
            max_diff(
                &integrate(&field, &x0, t, StepControl::Euler { dt: h }),
                &reference,
            )
        })
        .collect();
    for w in errs.windows(2) {
        let order = (w[0] / w[1]).log2();
        assert!(
            (0.9..1.1).contains(&order),
            "Euler order {order} ({errs:?})"
        );
    }
}

#[test]
fn arc_length_of_two_merging_tokens_is_their_path() {
    // Two tokens on the circle at angles +-a approach each other symmetrically and merge at 0:
    // |dX/dtau| = sqrt(2) |dtheta/dtau|, so the arc length travelled is sqrt(2) a.
    let a = 0.4f64;
    let x0 = vec![a.cos(), a.sin(), a.cos(), -a.sin()];
    for control in [
        StepControl::DormandPrince { tol: 1e-12 },
        StepControl::Rk4 { dt: 0.01 },
    ] {
        let field = ExactField::new(2, 5.0, Model::Usa);
        let mut it = Integrator::new(&field, x0.clone(), control);
        it.advance_to(200.0, |_, _| {}).unwrap();
        let gap = (it.x[0] * it.x[3] - it.x[1] * it.x[2]).abs();
        assert!(gap < 1e-12, "merged: {gap}");
        let want = 2f64.sqrt() * a;
        assert!(
            (it.arc_length - want).abs() < 1e-8,
            "{control:?}: {} vs {want}",
            it.arc_length
        );
    }
}
