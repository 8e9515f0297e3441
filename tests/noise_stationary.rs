//! Stationary states of the noisy USA mean field (`attnflow::stationary`): the fixed point by an
//! independent quadrature of the convolution, stability at the uniform state against the noisy
//! linear theory, long PDE runs, and the kind of bifurcation against `beta_*(d)`.

use attnflow::control::RunControl;
use attnflow::linear_noise::{critical_beta, noisy_growth_rate};
use attnflow::run::PdeSpec;
use attnflow::stationary::ZonalProblem;
use attnflow::{Model, TimeUnit};

#[test]
fn uniform_state_eigenvalues_are_the_noisy_rates() {
    for &(dim, beta) in &[(2usize, 3.0), (3, 2.0), (5, 6.0)] {
        let p = ZonalProblem::new(beta, dim, 12).unwrap();
        let nu = 0.6 * p.nu_sharp();
        let mut a = vec![0.0; 13];
        a[0] = 1.0;
        let ev = p.eigenvalues(&a, nu);
        let mut rates: Vec<f64> = (1..=12)
            .map(|l| noisy_growth_rate(l, beta, dim, nu, Model::Usa, TimeUnit::Scaled))
            .collect();
        rates.sort_by(|a, b| b.total_cmp(a));
        for (e, r) in ev.iter().zip(&rates) {
            assert!(
                (e - r).abs() < 1e-12 * r.abs().max(1e-3),
                "d = {dim}: {e} vs {r}"
            );
        }
    }
}

/// `rho(theta)` on the circle from zonal coefficients (`Z_l = sqrt(2) cos(l theta)`).
fn circle_density(a: &[f64], th: f64) -> f64 {
    a.iter()
        .enumerate()
        .map(|(l, c)| {
            if l == 0 {
                *c
            } else {
                c * 2f64.sqrt() * (l as f64 * th).cos()
            }
        })
        .sum()
}

#[test]
fn newton_state_satisfies_the_fixed_point_by_direct_quadrature() {
    // circle, beta = 4: Phi(theta) = (1/2pi) int exp(beta(cos(theta - s) - 1)) rho(s) ds by the
    // trapezoid rule (spectrally accurate, no Bessel functions), then rho = exp(Phi/(beta nu))/Z
    let (beta, dim) = (2.0, 2);
    let p = ZonalProblem::new(beta, dim, 48).unwrap();
    let nu = 0.6 * p.nu_sharp();
    let st = p.newton(&p.von_mises_guess(3.0), nu, 1e-14).unwrap();
    assert!(st.residual < 1e-12 && st.r > 0.1, "{st:?}");
    let m = 512;
    let ths: Vec<f64> = (0..m)
        .map(|k| std::f64::consts::TAU * k as f64 / m as f64)
        .collect();
    let rho: Vec<f64> = ths
        .iter()
        .map(|&t| circle_density(&st.coefficients, t))
        .collect();
    let phi: Vec<f64> = ths
        .iter()
        .map(|&t| {
            ths.iter()
                .zip(&rho)
                .map(|(s, r)| (beta * ((t - s).cos() - 1.0)).exp() * r)
                .sum::<f64>()
                / m as f64
        })
        .collect();
    let g: Vec<f64> = phi.iter().map(|f| (f / (beta * nu)).exp()).collect();
    let z = g.iter().sum::<f64>() / m as f64;
    let err = g
        .iter()
        .zip(&rho)
        .map(|(g, r)| (g / z - r).abs())
        .fold(0.0, f64::max);
    // (Phi/(beta nu) amplifies the rounding of the quadrature sum by 1/(beta nu) ~ 3 here)
    assert!(err < 1e-12, "fixed-point error {err:e}");
    // the order parameter is |int x rho|
    let r1 = ths.iter().zip(&rho).map(|(t, r)| t.cos() * r).sum::<f64>() / m as f64;
    assert!((r1 - st.r).abs() < 1e-13);
}

#[test]
fn long_pde_runs_reach_the_newton_states() {
    for &(dim, beta, frac) in &[(2usize, 2.0, 0.8), (3, 3.0, 0.9)] {
        let p = ZonalProblem::new(beta, dim, 32).unwrap();
        let nu = frac * p.nu_sharp();
        let st = p.newton(&p.von_mises_guess(4.0), nu, 1e-14).unwrap();
        assert!(st.leading_eigenvalue < 0.0 && st.r > 0.2, "{st:?}");
        let t_end = 40.0 / -st.leading_eigenvalue;
        let spec = PdeSpec {
            geometry: Some(attnflow::spectral::Geometry::Zonal),
            dim: Some(dim),
            beta: Some(beta),
            lmax: Some(32),
            nu: Some(nu),
            time: Some(TimeUnit::Scaled),
            t_end: Some(t_end),
            init_modes: Some("1:0:0.1".into()),
            outputs: Some(2),
            tol: Some(1e-11),
            ..Default::default()
        };
        let out = spec.run_in_memory(&RunControl::new()).unwrap();
        let last = out.frames.last().unwrap();
        let err = last
            .coefficients
            .iter()
            .zip(&st.coefficients)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        assert!(
            err < 1e-8,
            "d = {dim}: PDE vs Newton {err:e} (r = {})",
            st.r
        );
    }
}

#[test]
fn the_bifurcation_is_supercritical_below_beta_star_and_subcritical_above() {
    for dim in [2usize, 3] {
        let bs = critical_beta(dim);
        for (beta, sub) in [(bs - 0.4, false), (bs + 0.8, true)] {
            let p = ZonalProblem::new(beta, dim, 40).unwrap();
            let nus = p.nu_sharp();
            let br = p.branch(0.3 * nus, 3.0 * nus, 0.9, 0.02, 400).unwrap();
            let early = &br[2];
            assert!(early.r > 0.0 && early.r < 0.2);
            let nu_max = br.iter().map(|s| s.nu).fold(0.0, f64::max);
            if sub {
                assert!(
                    early.nu > nus,
                    "d = {dim}, beta = {beta}: {} vs {nus}",
                    early.nu
                );
                assert!(early.leading_eigenvalue > 0.0);
                assert!(nu_max > nus * (1.0 + 1e-4));
                // past the fold the branch is stable
                let last = br.last().unwrap();
                assert!(last.nu < nu_max && last.leading_eigenvalue < 0.0);
            } else {
                assert!(early.nu < nus, "d = {dim}, beta = {beta}");
                assert!(early.leading_eigenvalue < 0.0);
                assert!(nu_max <= nus * (1.0 + 1e-12));
            }
            for s in &br[1..] {
                assert!(s.residual < 1e-12);
            }
        }
    }
}
