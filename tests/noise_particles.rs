//! Stochastic particles (`attnflow::particles::noise` and `--nu`): the law of the noise step,
//! weak order 1 by moments over many tokens, the drift + noise splitting on a known stationary
//! law, linear fluctuation growth of C_l against the noisy linear theory, and bit-identical runs
//! for any thread count.

use attnflow::control::RunControl;
use attnflow::linear_noise::{degree_threshold, laplacian_eigenvalue};
use attnflow::particles::{Integrator, Noise, StepControl, VelocityField};
use attnflow::run::ParticlesSpec;
use attnflow::special::bessel_i_ratio;
use attnflow::{Model, TimeUnit};

/// `v_i = c P_{x_i} e_1`: each token independently in the potential `c <x, e_1>` (`c = 0`:
/// pure noise). With noise `nu` its stationary law is von Mises–Fisher with concentration
/// `c / nu`.
struct Tilt {
    dim: usize,
    c: f64,
}

impl VelocityField for Tilt {
    fn dim(&self) -> usize {
        self.dim
    }
    fn model(&self) -> Model {
        Model::Usa
    }
    fn beta(&self) -> f64 {
        1.0
    }
    fn description(&self) -> String {
        "tilt".into()
    }
    fn evaluate(&self, x: &[f64], v: &mut [f64]) -> f64 {
        for (r, o) in x.chunks(self.dim).zip(v.chunks_mut(self.dim)) {
            for k in 0..self.dim {
                let e = if k == 0 { 1.0 } else { 0.0 };
                o[k] = self.c * (e - r[0] * r[k]);
            }
        }
        1.0
    }
}

/// Tokens all at `e_1`.
fn at_pole(n: usize, dim: usize) -> Vec<f64> {
    let mut x = vec![0.0; n * dim];
    x.chunks_mut(dim).for_each(|r| r[0] = 1.0);
    x
}

/// Mean and standard error of `<x_i, e_1>` over the tokens.
fn mean_first(x: &[f64], dim: usize) -> (f64, f64) {
    let v: Vec<f64> = x.chunks(dim).map(|r| r[0]).collect();
    let n = v.len() as f64;
    let m = v.iter().sum::<f64>() / n;
    let var = v.iter().map(|a| (a - m).powi(2)).sum::<f64>() / (n - 1.0);
    (m, (var / n).sqrt())
}

/// Run the pure noise (`c = 0`) for `steps` steps of size `h`.
fn pure_noise(dim: usize, n: usize, nu: f64, h: f64, steps: usize, seed: u64) -> Vec<f64> {
    let field = Tilt { dim, c: 0.0 };
    let mut it = Integrator::new(&field, at_pole(n, dim), StepControl::Rk4 { dt: h });
    it.set_noise(Some(Noise::new(nu, seed, 0)));
    it.advance_to(h * steps as f64, |_, _| {}).unwrap();
    it.x
}

/// `E cos(sqrt(2 nu h) chi_{d-1})` for `d = 3` (`chi_2^2 = S ~ Exp(mean 2)`), by the trapezoid
/// rule on `u = sqrt(S)`: `int_0^inf cos(a u) u e^{-u^2/2} du` (an independent route to the
/// exact one-step law of the scheme).
fn mean_cos_d3(nu: f64, h: f64) -> f64 {
    let a = (2.0 * nu * h).sqrt();
    let (m, top) = (200_000, 40.0);
    let du = top / m as f64;
    (1..m)
        .map(|k| {
            let u = k as f64 * du;
            (a * u).cos() * u * (-u * u / 2.0).exp()
        })
        .sum::<f64>()
        * du
}

#[test]
fn pure_noise_on_s2_has_the_exact_step_law_and_weak_order_one() {
    let (dim, n, nu, t) = (3, 300_000, 1.0, 0.5);
    let exact = (-(dim as f64 - 1.0) * nu * t).exp();
    let mut bias = Vec::new();
    for (i, h) in [0.1, 0.05, 0.025].into_iter().enumerate() {
        let steps = (t / h).round() as usize;
        let (m, se) = mean_first(&pure_noise(dim, n, nu, h, steps, 7 + i as u64), dim);
        // the chain's exact mean: E<x_n, x_0> = (E cos|xi|)^n
        let chain = mean_cos_d3(nu, h).powi(steps as i32);
        assert!(
            (m - chain).abs() < 4.5 * se,
            "h = {h}: sample {m} vs chain {chain} (se {se:e})"
        );
        // predicted rate bias (d-2) nu h / 3
        let predicted =
            exact * (-(dim as f64 - 2.0) * nu * h / 3.0 * (dim as f64 - 1.0) * nu * t).exp_m1();
        assert!(
            ((chain - exact) - predicted).abs() < 0.1 * predicted.abs(),
            "h = {h}"
        );
        bias.push(chain - exact);
    }
    for w in bias.windows(2) {
        let order = (w[0] / w[1]).log2();
        assert!((0.9..1.1).contains(&order), "weak order {order}");
    }
}

#[test]
fn pure_noise_on_the_circle_is_exact_in_law() {
    let (dim, n, nu) = (2, 200_000, 0.7);
    for (h, steps) in [(0.5, 2), (0.25, 4)] {
        let (m, se) = mean_first(&pure_noise(dim, n, nu, h, steps, 3), dim);
        let exact = (-nu * h * steps as f64).exp();
        assert!(
            (m - exact).abs() < 4.5 * se,
            "h = {h}: {m} vs {exact} ({se:e})"
        );
    }
}

#[test]
fn tilted_tokens_reach_the_von_mises_fisher_law_at_weak_order_one() {
    // drift c P_x e_1 + noise nu: stationary density ~ exp(kappa <x,e_1>), kappa = c/nu,
    // E<x,e_1> = I_{d/2}(kappa)/I_{d/2-1}(kappa)
    let (dim, n, c, nu) = (3, 20_000, 1.0, 0.5);
    let exact = bessel_i_ratio(dim as f64 / 2.0 - 1.0, c / nu);
    let mut errs = Vec::new();
    for h in [0.2, 0.1] {
        let field = Tilt { dim, c };
        let mut it = Integrator::new(&field, at_pole(n, dim), StepControl::Rk4 { dt: h });
        it.set_noise(Some(Noise::new(nu, 11, 0)));
        it.advance_to(4.0, |_, _| {}).unwrap();
        let (mut sum, mut count) = (0.0, 0);
        it.advance_to(44.0, |it, _| {
            sum += mean_first(&it.x, dim).0;
            count += 1;
        })
        .unwrap();
        errs.push(sum / count as f64 - exact);
    }
    eprintln!("vMF errors {errs:?}");
    let ratio = errs[0] / errs[1];
    assert!(
        errs[0].abs() > 0.005 && (1.5..2.7).contains(&ratio),
        "{errs:?}"
    );
}

/// One ensemble run of the spec in a rayon pool of `threads` threads.
fn run_in_pool(spec: &ParticlesSpec, threads: usize) -> attnflow::run::particles::ParticlesOutcome {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap()
        .install(|| spec.run_in_memory(&RunControl::new()).unwrap())
}

#[test]
fn noisy_runs_are_bit_identical_for_any_thread_count() {
    let spec = ParticlesSpec {
        dim: Some(3),
        n: Some(6000),
        beta: Some(2.0),
        nu: Some(0.5),
        t_end: Some(0.05),
        time: Some(TimeUnit::Scaled),
        ensemble: Some(2),
        series_points: Some(2),
        lmax_power: Some(4),
        ..Default::default()
    };
    let one = run_in_pool(&spec, 1);
    let three = run_in_pool(&spec, 3);
    for (a, b) in one.systems.iter().zip(&three.systems) {
        assert!(a.steps > 5);
        assert!(a
            .final_x
            .iter()
            .zip(&b.final_x)
            .all(|(p, q)| p.to_bits() == q.to_bits()));
    }
    assert_ne!(one.systems[0].final_x, one.systems[1].final_x);
    // nu = 0 is the deterministic flow, exactly as without the key
    let mut det = spec.clone();
    det.nu = None;
    det.n = Some(300);
    let mut zero = det.clone();
    zero.nu = Some(0.0);
    let (a, b) = (run_in_pool(&det, 2), run_in_pool(&zero, 2));
    assert_eq!(a.systems[0].final_x, b.systems[0].final_x);
}

#[test]
fn fluctuations_grow_and_saturate_as_the_noisy_linear_theory_says() {
    // Linearised about the uniform state, a degree-l mode with rate gamma_l(nu) and the noise's
    // own forcing (which keeps E C_l = dim H_l / N without interaction) gives
    //   E[N C_l / dim H_l](t) = (nu_l e^{2 gamma_l t} - nu) / (nu_l - nu).
    let (dim, beta, nu, t_end) = (2, 1.0, 0.1, 5.0);
    let spec = ParticlesSpec {
        dim: Some(dim),
        n: Some(500),
        beta: Some(beta),
        nu: Some(nu),
        t_end: Some(t_end),
        time: Some(TimeUnit::Scaled),
        ensemble: Some(240),
        series_points: Some(5),
        lmax_power: Some(3),
        seed: Some(5),
        ..Default::default()
    };
    let out = spec.run_in_memory(&RunControl::new()).unwrap();
    let m = out.systems.len() as f64;
    for l in 1..=3usize {
        let nl = degree_threshold(l, beta, dim, Model::Usa, TimeUnit::Scaled);
        let g = laplacian_eigenvalue(l, dim) * (nl - nu);
        for row in [2usize, 5] {
            let t = out.systems[0].rows[row].time;
            let vals: Vec<f64> = out
                .systems
                .iter()
                .map(|s| s.rows[row].power[l - 1] * 500.0 / 2.0)
                .collect();
            let mean = vals.iter().sum::<f64>() / m;
            let se = (vals.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (m - 1.0) / m).sqrt();
            let theory = (nl * (2.0 * g * t).exp() - nu) / (nl - nu);
            eprintln!("l = {l}, t = {t}: {mean:.4} +- {se:.4} vs {theory:.4}");
            assert!(
                (mean - theory).abs() < 4.5 * se + 0.03 * theory,
                "l = {l}, t = {t}: {mean} +- {se} vs {theory}"
            );
        }
    }
}
