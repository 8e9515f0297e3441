//! `compare noise` (`attnflow::compare::noise`) at small sizes: its data against the theory it
//! claims — noisy rates on both sides of `nu_l`, long PDE states against Newton's states,
//! time-averaged particles against the stationary states, and the hysteresis window.

use attnflow::compare::noise::{self, NoiseSetup};
use attnflow::compare::parts::Parts;
use attnflow::control::RunControl;
use attnflow::linear_noise::critical_beta;
use attnflow::stationary::{default_branch, diagram::summarise};

fn setup() -> NoiseSetup {
    NoiseSetup {
        dim: 2,
        beta_low: 1.5,
        beta_high: 5.0,
        lmax: 32,
        nu_factors: vec![0.5, 2.0],
        rate_n: 1000,
        rate_systems: 8,
        rate_amplitude: 0.3,
        order_n: 1000,
        order_time: 20.0,
        sweep_stages: 5,
        stage_time: 12.0,
        seed: 0,
        tol: 1e-8,
    }
}

#[test]
fn rates_change_sign_at_nu_l_as_the_noisy_linear_theory_says() {
    let ctl = RunControl::new();
    let s = setup();
    let rows = noise::rates(&s, &Parts::none(&ctl)).unwrap();
    // degrees 1 and l*(5) = 3 on the circle, each below and above nu_l
    assert_eq!(rows.len(), 4);
    assert_eq!(noise::rate_degrees(5.0, 2), vec![1, 3]);
    for r in &rows {
        let above = r.nu_over_nu_l > 1.0;
        // the theory itself: gamma_l = l(l+d-2)(nu_l - nu), negative above nu_l
        assert_eq!(r.theory < 0.0, above);
        let k = (r.l * r.l) as f64;
        assert!((r.theory - k * (r.nu_l - r.nu)).abs() < 1e-12 * k * r.nu_l);
        // PDE in its linear phase: the theory's rate (independent route: time stepping)
        assert!(
            (r.pde_linear - r.theory).abs() < 1e-6 * r.theory.abs(),
            "l = {}, nu/nu_l = {}: PDE {} vs {}",
            r.l,
            r.nu_over_nu_l,
            r.pde_linear,
            r.theory
        );
        // particles: the sign, significantly, and the mean-field value over their window
        assert!(
            r.particles.signum() == r.theory.signum() && r.particles.abs() > 2.0 * r.particles_se,
            "{r:?}"
        );
        assert!(
            (r.particles - r.pde_same_window).abs() < 4.0 * r.particles_se,
            "l = {}, nu/nu_l = {}: particles {} ± {} vs mean field {}",
            r.l,
            r.nu_over_nu_l,
            r.particles,
            r.particles_se,
            r.pde_same_window
        );
        // which differs from gamma_l only by the O(eps^2) nonlinear correction
        assert!((r.pde_same_window - r.theory).abs() < 0.3 * r.theory.abs());
    }
}

#[test]
fn long_pde_states_and_particles_reach_the_continuation_states() {
    let ctl = RunControl::new();
    let s = setup();
    let parts = Parts::none(&ctl);
    // supercritical side, clustered state; subcritical side above the fold: uniform state
    let clustered = noise::order_row(&s, &parts, 1.5, 0.7, "clustered", 1).unwrap();
    assert!(clustered.r_newton > 0.5 && clustered.eigenvalue < 0.0);
    assert!(
        (clustered.r_pde - clustered.r_newton).abs() < 1e-6,
        "{clustered:?}"
    );
    // particles at N = 1000: statistical error plus the O(1/N) and O(nu h) biases (<= 0.015)
    assert!(
        (clustered.r_particles - clustered.r_newton).abs() < 4.0 * clustered.r_particles_se + 0.015,
        "{clustered:?}"
    );
    let uniform = noise::order_row(&s, &parts, 5.0, 1.3, "clustered", 2).unwrap();
    assert_eq!(uniform.r_newton, 0.0);
    assert!(uniform.r_pde < 1e-6, "{uniform:?}");
    // the cluster dissolved: r is the finite-N fluctuation, E r^2 = nu/(N (nu - nu_#))
    let level = uniform.r_uniform_finite_n.unwrap();
    assert!(
        uniform.r_particles_rms < 2.0 * level && uniform.r_particles_rms > 0.3 * level,
        "{uniform:?}"
    );
}

#[test]
fn the_sweep_shows_hysteresis_between_nu_sharp_and_the_fold() {
    let ctl = RunControl::new();
    let s = setup();
    assert!(s.beta_high > critical_beta(2) && s.beta_low < critical_beta(2));
    let br = default_branch(s.beta_high, 2, s.lmax).unwrap();
    let fold = summarise(s.beta_high, 2, &br).fold_nu_over_nu_sharp;
    assert!(fold > 1.05, "fold {fold}");
    let sw = noise::hysteresis(&s, &Parts::none(&ctl)).unwrap();
    let n = s.sweep_stages;
    assert_eq!(sw.len(), 2 * n - 1);
    let mut inside = 0;
    for k in 0..n - 1 {
        let (up, down) = (&sw[k], &sw[2 * n - 2 - k]);
        assert_eq!(up.nu_over_nu_sharp, down.nu_over_nu_sharp);
        let f = up.nu_over_nu_sharp;
        if f > 1.0 && f < fold {
            inside += 1;
            // bistable: clustered on the way up, uniform on the way down
            assert!(
                up.r_particles > 0.5 && down.r_particles < 0.3,
                "{up:?} {down:?}"
            );
            assert!(up.r_pde > 0.5 && down.r_pde < 0.05, "{up:?} {down:?}");
        }
    }
    assert!(inside >= 1);
    // outside the window one state: below nu_# (first stage) and beyond the fold (top stage,
    // where the cluster has dissolved)
    let (first, last) = (&sw[0], &sw[2 * n - 2]);
    assert!(
        (first.r_particles - last.r_particles).abs() < 0.05,
        "{first:?} {last:?}"
    );
    assert!(
        (first.r_pde - last.r_pde).abs() < 0.05,
        "{first:?} {last:?}"
    );
    let top = &sw[n - 1];
    assert!(top.nu_over_nu_sharp > fold && top.r_particles < 0.2 && top.r_pde < 0.1);
}

#[test]
fn compare_noise_rejects_bad_input() {
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_attnflow"))
            .args(args)
            .output()
            .unwrap()
    };
    let dir = std::env::temp_dir().join(format!("attnflow-noise-cli-{}", std::process::id()));
    let d = dir.to_str().unwrap();
    for (args, name) in [
        (
            vec!["compare", "noise", "--beta-low", "3", "--out", d],
            "--beta-low",
        ),
        (
            vec!["compare", "noise", "--beta-high", "2", "--out", d],
            "--beta-high",
        ),
        (vec!["compare", "noise", "--dim", "4", "--out", d], "--dim"),
        (vec!["compare", "noise", "--n", "5", "--out", d], "--n"),
    ] {
        let o = run(&args);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(err.contains(name), "{args:?}: {err}");
    }
    assert!(!dir.exists());
}

#[test]
fn the_bifurcation_diagram_is_a_config_file_run() {
    let dir = std::env::temp_dir().join(format!("attnflow-noise-bif-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join("out");
    let cfg = dir.join("bif.toml");
    std::fs::write(
        &cfg,
        format!(
            "[compare.bifurcation]\ndims = [2, 3]\nbetas = [1.5, 5.0]\nlmax = 24\nout = {:?}\n",
            out.to_str().unwrap()
        ),
    )
    .unwrap();
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_attnflow"))
        .args(["run", cfg.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let rec: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("run.json")).unwrap()).unwrap();
    assert_eq!(rec["kind"], "compare.bifurcation");
    assert_eq!(rec["spec"]["compare"]["bifurcation"]["lmax"], 24);
    for f in [
        "bifurcation.csv",
        "bifurcation.png",
        "report.md",
        "data.json",
    ] {
        assert!(out.join(f).is_file(), "{f}");
    }
    let data: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("data.json")).unwrap()).unwrap();
    let branches = data["branches"].as_array().unwrap();
    assert_eq!(branches.len(), 4);
    for b in branches {
        let (dim, beta) = (
            b["dim"].as_u64().unwrap() as usize,
            b["beta"].as_f64().unwrap(),
        );
        let sub = beta > critical_beta(dim);
        assert_eq!(
            b["bifurcation"],
            if sub { "subcritical" } else { "supercritical" },
            "{b}"
        );
        assert_eq!(
            b["fold_nu_over_nu_sharp"].as_f64().unwrap() > 1.0 + 1e-6,
            sub
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
