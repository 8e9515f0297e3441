//! Linear theory check: a small perturbation of a (quasi-)uniform configuration grows in
//! harmonic power like `C_l(tau) = C_l(0) exp(2 gamma_l tau)`, `gamma_l` the Funk–Hecke growth
//! rate of `attnflow::linear` (scaled time for USA, physical for SA).
//!
//! The empirical measure of the particle system solves the continuity equation exactly, so
//! each perturbed mode grows at the linear rate up to quadratic mode coupling, of relative size
//! O(eps e^{gamma t}) for a perturbation of amplitude eps; the background (equally spaced
//! tokens on the circle, a Fibonacci lattice on S^2) carries almost no power at low degree.
//! eps = 1e-4 makes the expected deviation well below 1e-3 (observed 3e-4); we allow 0.2%.

use attnflow::analysis::ClusterParams;
use attnflow::linear::growth_rate;
use attnflow::particles::{build_velocity_field, simulate, Method, RunConfig, StepControl};
use attnflow::{Model, TimeUnit};

/// Least-squares slope of `y` against `t`.
fn slope(t: &[f64], y: &[f64]) -> f64 {
    let n = t.len() as f64;
    let (mt, my) = (t.iter().sum::<f64>() / n, y.iter().sum::<f64>() / n);
    let num: f64 = t.iter().zip(y).map(|(a, b)| (a - mt) * (b - my)).sum();
    let den: f64 = t.iter().map(|a| (a - mt) * (a - mt)).sum();
    num / den
}

fn check(dim: usize, beta: f64, model: Model, x0: Vec<f64>, t_end: f64, degrees: &[usize]) {
    let internal = if model == Model::Usa {
        TimeUnit::Scaled
    } else {
        TimeUnit::Physical
    };
    let n = x0.len() / dim;
    let field = build_velocity_field(Method::Fast, dim, beta, model, n, 1e-12).unwrap();
    let cfg = RunConfig {
        t_end,
        control: StepControl::Rk4 { dt: t_end / 40.0 },
        lmax_power: 6,
        save_every: None,
        series_points: 8,
        spacing: attnflow::particles::RowSpacing::Linear,
        merge_radius: attnflow::particles::COINCIDENT_CHORD,
        clusters: ClusterParams::default(),
    };
    let res = simulate(&cfg, field.as_ref(), x0, &mut (), &|| {
        attnflow::control::Poll::Continue
    })
    .unwrap();
    let times: Vec<f64> = res.rows.iter().map(|r| r.time).collect();
    for &l in degrees {
        let y: Vec<f64> = res.rows.iter().map(|r| r.power[l - 1].ln()).collect();
        let fitted = slope(&times, &y);
        let want = 2.0 * growth_rate(l, beta, dim, model, internal);
        assert!(
            (fitted / want - 1.0).abs() < 2e-3,
            "d={dim} {model} l={l}: fitted {fitted}, theory {want}, ln growth {}",
            y.last().unwrap() - y[0]
        );
    }
}

#[test]
fn circle_perturbation_grows_at_twice_the_linear_rate() {
    // N equally spaced tokens, th_j += eps sum_{l=1..4} cos(l th_j + l): power ~eps^2 in
    // degrees 1..4, none below degree N otherwise. beta = 4 (l* = 3), USA, tau_end = 12.
    let n = 1000;
    let eps = 1e-4;
    let mut x = Vec::with_capacity(2 * n);
    for j in 0..n {
        let th0 = 2.0 * std::f64::consts::PI * j as f64 / n as f64;
        let th = th0
            + eps
                * (1..=4)
                    .map(|l| (l as f64 * th0 + l as f64).cos())
                    .sum::<f64>();
        x.extend([th.cos(), th.sin()]);
    }
    check(2, 4.0, Model::Usa, x, 12.0, &[1, 2, 3, 4]);
}

#[test]
fn sphere_perturbation_grows_at_twice_the_linear_rate() {
    // Fibonacci lattice of N points, displaced by eps grad(P_2 + P_3)(z) (zonal modes 2, 3).
    // beta = 4, SA, physical time: gamma_2 = 0.66, gamma_3 = 0.61; t_end = 2.5.
    let n = 2000;
    let eps = 1e-4;
    let golden = std::f64::consts::PI * (3.0 - 5f64.sqrt());
    let mut x = Vec::with_capacity(3 * n);
    for j in 0..n {
        let z = 1.0 - (2.0 * j as f64 + 1.0) / n as f64;
        let r = (1.0 - z * z).sqrt();
        let ph = golden * j as f64;
        // d/dz of P_2 = (3z^2-1)/2 and P_3 = (5z^3-3z)/2.
        let dp = 3.0 * z + (15.0 * z * z - 3.0) / 2.0;
        // tangential gradient of a zonal function: f'(z) (e_z - z x).
        let p = [r * ph.cos(), r * ph.sin(), z];
        let g = [-dp * z * p[0], -dp * z * p[1], dp * (1.0 - z * z)];
        let q: Vec<f64> = (0..3).map(|k| p[k] + eps * g[k]).collect();
        let norm = q.iter().map(|v| v * v).sum::<f64>().sqrt();
        x.extend(q.iter().map(|v| v / norm));
    }
    check(3, 4.0, Model::Sa, x, 2.5, &[2, 3]);
}

#[test]
fn log_spaced_rows_cover_the_decades() {
    use attnflow::particles::{row_times, RowSpacing, RunConfig, StepControl};
    let mut cfg = RunConfig {
        t_end: 1e6,
        control: StepControl::DormandPrince { tol: 1e-8 },
        lmax_power: 2,
        save_every: None,
        series_points: 12,
        spacing: RowSpacing::Log { first: 1e-2 },
        merge_radius: 0.0,
        clusters: Default::default(),
    };
    let (t, _) = row_times(&cfg);
    assert_eq!(t.len(), 13);
    assert_eq!((t[0], t[1], t[12]), (0.0, 1e-2, 1e6));
    for w in t[1..].windows(2) {
        assert!(((w[1] / w[0]).log10() - 8.0 / 11.0).abs() < 1e-12, "{t:?}");
    }
    // Fixed steps: rows on whole steps, strictly increasing, ending at t_end.
    cfg.control = StepControl::Rk4 { dt: 1e3 };
    let (t, _) = row_times(&cfg);
    assert_eq!(*t.last().unwrap(), 1e6);
    assert!(t.windows(2).all(|w| w[1] > w[0]));
    assert!(t[1..t.len() - 1]
        .iter()
        .all(|v| (v / 1e3 - (v / 1e3).round()).abs() < 1e-9));
}
