//! Small perturbations of the uniform state grow at the linear-theory rate
//! (`attnflow::linear::growth_rate`) in every geometry, for USA and SA, beta = 1 and 9.

use attnflow::linear::growth_rate;
use attnflow::pde::{solve, PdeConfig, Stepping, Summary};
use attnflow::spectral::{Basis, CircleBasis, SphereBasis, ZonalBasis};
use attnflow::{Model, TimeUnit};

/// Run from `1 + eps * sum_i Y_{idx_i}` and return the final coefficients.
fn evolve<B: Basis>(basis: B, modes: &[usize], eps: f64, cfg: &PdeConfig) -> (Vec<f64>, Vec<f64>) {
    let mut c0 = vec![0.0; basis.len()];
    c0[0] = 1.0;
    for &i in modes {
        c0[i] = eps;
    }
    let mut last = Vec::new();
    let mut summary = Summary::default();
    solve(
        basis,
        &c0,
        cfg,
        |f| {
            last = f.coefficients.to_vec();
            Ok(())
        },
        |_| {},
        &mut summary,
    )
    .unwrap();
    (c0, last)
}

fn config(model: Model, beta: f64, t_end: f64, time: TimeUnit) -> PdeConfig {
    PdeConfig {
        model,
        beta,
        nu: 0.0,
        time,
        t_end,
        outputs: 2,
        stepping: Stepping::Adaptive { tol: 1e-11 },
        resolution_tol: 1e-6,
        refine: false,
        lmax_limit: 64,
    }
}

/// Check `ln(c_i(T)/c_i(0))/T` against `gamma_l` for each mode (index, degree).
fn check<B: Basis>(
    basis: &B,
    dim: usize,
    modes: &[(usize, usize)],
    model: Model,
    beta: f64,
    time: TimeUnit,
) {
    // One mode per run, grown by a factor e: long enough to measure the rate, short enough to
    // stay linear (relative nonlinear corrections ~ eps e).
    // Modes much slower than the fastest one are skipped: over 1/gamma_l the rounding noise in
    // the fastest mode would grow by exp(gamma_max / gamma_l) and spoil the linear regime.
    let eps = 1e-7;
    let g_max = modes
        .iter()
        .map(|m| growth_rate(m.1, beta, dim, model, time))
        .fold(0.0, f64::max);
    let mut tested = 0;
    for &(i, l) in modes {
        if growth_rate(l, beta, dim, model, time) < 0.1 * g_max {
            continue;
        }
        tested += 1;
        let want = growth_rate(l, beta, dim, model, time);
        let t_end = 1.0 / want;
        let (c0, c1) = evolve(
            basis.with_lmax(basis.lmax()),
            &[i],
            eps,
            &config(model, beta, t_end, time),
        );
        let rate = (c1[i] / c0[i]).ln() / t_end;
        let rel = (rate / want - 1.0).abs();
        eprintln!("d={dim} {model} beta={beta} l={l}: relative rate error {rel:.1e}");
        assert!(
            rel < 1e-4,
            "d={dim} {model} beta={beta} {time} l={l}: rate {rate} vs theory {want} (rel {rel:e})"
        );
    }
    assert!(
        tested >= modes.len().min(2),
        "only {tested} degrees checked (d={dim}, {model}, beta={beta})"
    );
}

#[test]
fn circle_growth_rates() {
    for model in [Model::Usa, Model::Sa] {
        for beta in [1.0, 9.0] {
            let modes: Vec<(usize, usize)> = (1..=5)
                .map(|k| (CircleBasis::index(k, k % 2 == 0), k))
                .collect();
            check(
                &CircleBasis::new(12),
                2,
                &modes,
                model,
                beta,
                TimeUnit::Scaled,
            );
        }
    }
    // Physical time units for USA (rate multiplied by e^beta).
    let modes = [(CircleBasis::index(2, false), 2)];
    check(
        &CircleBasis::new(12),
        2,
        &modes,
        Model::Usa,
        1.0,
        TimeUnit::Physical,
    );
}

#[test]
fn sphere_growth_rates() {
    let modes = [
        (SphereBasis::index(1, 1, false), 1),
        (SphereBasis::index(2, 2, true), 2),
        (SphereBasis::index(3, 0, false), 3),
        (SphereBasis::index(4, 3, false), 4),
        (SphereBasis::index(5, 5, true), 5),
    ];
    for model in [Model::Usa, Model::Sa] {
        for beta in [1.0, 9.0] {
            check(
                &SphereBasis::new(12),
                3,
                &modes,
                model,
                beta,
                TimeUnit::Scaled,
            );
        }
    }
}

#[test]
fn zonal_growth_rates() {
    let modes: Vec<(usize, usize)> = (1..=5).map(|l| (l, l)).collect();
    for dim in [2usize, 3, 5] {
        for model in [Model::Usa, Model::Sa] {
            for beta in [1.0, 9.0] {
                check(
                    &ZonalBasis::new(12, dim),
                    dim,
                    &modes,
                    model,
                    beta,
                    TimeUnit::Scaled,
                );
            }
        }
    }
}
