//! Small end-to-end runs of every comparison experiment: each writes report.md, data.json and
//! its figures, and its headline numbers are checked against what must hold even at this size.

use attnflow::analysis::ClusterParams;
use attnflow::compare::{self, common::ParticleSetup, parts::Parts};
use attnflow::control::RunControl;
use attnflow::{linear, Model};
use std::path::PathBuf;

/// A parts store that keeps nothing (the experiments run in memory).
fn parts() -> Parts<'static> {
    static CTL: std::sync::OnceLock<RunControl> = std::sync::OnceLock::new();
    Parts::none(CTL.get_or_init(RunControl::new))
}

fn out_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("attnflow-compare-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn assert_outputs(dir: &std::path::Path, figures: &[&str]) {
    let md = std::fs::read_to_string(dir.join("report.md")).unwrap();
    assert!(md.starts_with("# "), "report has a title");
    let data: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("data.json")).unwrap()).unwrap();
    assert!(data.is_object());
    for f in figures {
        let bytes = std::fs::read(dir.join(f)).unwrap();
        assert_eq!(&bytes[1..4], b"PNG", "{f}");
        assert!(md.contains(f), "report links {f}");
    }
}

fn setup(n: usize, systems: usize, beta: f64) -> ParticleSetup {
    let star = linear::dominant_degree(beta, 2);
    let gamma = compare::common::theory_rate(star, beta, 2, Model::Usa);
    ParticleSetup {
        dim: 2,
        beta,
        model: Model::Usa,
        n,
        systems,
        seed: 7,
        t_end: (n as f64).ln() / gamma,
        series_points: 120,
        lmax_power: 6,
        tol: 1e-8,
        clusters: ClusterParams::default(),
    }
}

#[test]
fn growth_small_run_recovers_the_dominant_rate() {
    let dir = out_dir("growth");
    let s = setup(8_000, 3, 9.0);
    let res = compare::growth::run(&s, &parts(), &dir).unwrap();
    assert_outputs(&dir, &["growth.png"]);
    let star = linear::dominant_degree(9.0, 2);
    let r = &res[star - 1];
    let m = r.particles.expect("l* has a linear window");
    // Three systems of 8000 tokens: the fitted rate is within 5% of theory.
    assert!(
        (m.mean - r.theory).abs() < 0.05 * r.theory,
        "{} vs {}",
        m.mean,
        r.theory
    );
}

#[test]
fn onset_small_run_has_positive_slope() {
    let dir = out_dir("onset");
    let s = setup(100, 3, 9.0);
    let r = compare::onset::run(&s, &[100, 600, 3600], 0.1, &parts(), &dir).unwrap();
    assert_outputs(&dir, &["onset.png"]);
    // The onset grows with ln N; the slope is within a factor 2 of 1/(2 gamma).
    assert!(
        r.slope > 0.5 * r.predicted_slope && r.slope < 2.0 * r.predicted_slope,
        "{r:?}"
    );
}

#[test]
fn predict_small_runs_circle_and_sphere() {
    for dim in [2usize, 3] {
        let dir = out_dir(&format!("predict{dim}"));
        let p = compare::predict_run::PredictSetup {
            dim,
            beta: 9.0,
            model: Model::Usa,
            n: if dim == 2 { 2000 } else { 600 },
            seed: 3,
            t_end: None,
            tol: 1e-7,
        };
        let r = compare::predict_run::run(&p, &parts(), &dir).unwrap();
        assert_outputs(
            &dir,
            &[if dim == 2 {
                "trajectories.png"
            } else {
                "sphere.png"
            }],
        );
        assert!(!r.predicted.is_empty() && !r.observed.is_empty());
        if dim == 2 {
            // Every predicted location lies closer to a cluster than half the spacing.
            let half = std::f64::consts::PI / r.dominant as f64;
            assert!(r.distances.iter().all(|&d| d < half), "{:?}", r.distances);
        }
    }
}

#[test]
fn clusters_small_sweep_tracks_the_staircase() {
    let dir = out_dir("clusters");
    let s = setup(1000, 2, 1.0);
    let res = compare::clusters_sweep::run(&s, &[1.0, 9.0, 30.0], &parts(), &dir).unwrap();
    assert_outputs(&dir, &["clusters.png"]);
    for r in &res {
        for c in r.counts.iter().flatten() {
            // Counts stay within two of l* at these betas.
            assert!(
                (*c as i64 - r.dominant as i64).abs() <= 2,
                "beta {}: {c} vs {}",
                r.beta,
                r.dominant
            );
        }
    }
}

#[test]
fn staircase_small_run_merges_with_energy_gains() {
    let dir = out_dir("staircase");
    let s = compare::staircase::StaircaseSetup {
        dim: 2,
        beta: 4.0,
        model: Model::Usa,
        n: 300,
        seed: 1,
        t_end: 5000.0,
        tol: 1e-7,
    };
    let r = compare::staircase::run(&s, &parts(), &dir).unwrap();
    assert_outputs(&dir, &["staircase.png"]);
    assert!(!r.merges.is_empty(), "at least one merge by t = 5000");
    assert!(r
        .merges
        .iter()
        .all(|m| m.energy_jump > 0.0 && m.after < m.before));
    // USA energy never decreases along the run (gradient ascent), up to integration error.
    assert!(r.rows.windows(2).all(|w| w[1].energy >= w[0].energy - 1e-9));
}

#[test]
fn phase_small_diagram_is_a_fraction_and_grows_in_time() {
    let dir = out_dir("phase");
    let p = compare::phase::PhaseSetup {
        dims: vec![2, 8],
        n: 16,
        systems: 4,
        betas: vec![0.5, 4.0],
        t_end: 20.0,
        steps: 10,
        model: Model::Sa,
        eps: 1e-3,
        seed: 0,
        control: attnflow::particles::StepControl::DormandPrince { tol: 1e-7 },
        beta_index: None,
    };
    let d = compare::phase::run(&p, &parts(), &dir).unwrap();
    assert_outputs(&dir, &["phase_d2.png", "phase_d8.png"]);
    for diag in &d {
        assert!(diag.values.iter().all(|v| (0.0..=1.0).contains(v)));
        // At t = 0 few iid pairs are that close (on the circle 2 acos(1 - 1e-3)/(2 pi) = 1.4%);
        // at beta = 0.5 most pairs cluster by t = 20.
        assert!(
            diag.values[0] < 0.05,
            "d = {}: {}",
            diag.dim,
            diag.values[0]
        );
        assert!(
            diag.values[10 * 2] > 0.5,
            "d = {}: {}",
            diag.dim,
            diag.values[20]
        );
    }
}

#[test]
fn compare_cli_rejects_bad_input() {
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_attnflow"))
            .args(args)
            .output()
            .unwrap()
    };
    let dir = out_dir("cli");
    let d = dir.to_str().unwrap();
    for (args, name) in [
        (vec!["compare", "growth", "--n", "1", "--out", d], "--n"),
        (
            vec!["compare", "growth", "--beta", "nan", "--out", d],
            "--beta",
        ),
        (
            vec![
                "compare", "onset", "--n-min", "100", "--n-max", "1000", "--out", d,
            ],
            "--n-max",
        ),
        (
            vec![
                "compare",
                "clusters",
                "--beta-min",
                "5",
                "--beta-max",
                "2",
                "--out",
                d,
            ],
            "--beta-max",
        ),
        (
            vec!["compare", "predict", "--dim", "4", "--out", d],
            "--dim",
        ),
        (vec!["compare", "phase", "--dims", "1", "--out", d], "--dim"),
        (
            vec!["compare", "staircase", "--t-end", "-1", "--out", d],
            "--t-end",
        ),
    ] {
        let o = run(&args);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(err.contains(name), "{args:?}: {err}");
    }
}

#[test]
fn pde_vs_particles_small_run_tracks_the_particles() {
    let dir = out_dir("pvp");
    let s = compare::pde_vs_particles::PvpSetup {
        dim: 2,
        beta: 9.0,
        model: Model::Usa,
        ns: vec![300, 1200],
        lmax: 48,
        t_end: 20.0,
        outputs: 11,
        seed: 0,
        tol: 1e-9,
    };
    let r = compare::pde_vs_particles::run(&s, &parts(), &dir).unwrap();
    assert_outputs(&dir, &["distance.png", "kymograph.png"]);
    for run in &r.runs {
        // Same initial data: D(0) vanishes (rounding), and stays small while the PDE is resolved.
        assert!(run.distance[0] < 1e-12, "{}", run.distance[0]);
        assert!(run.distance.iter().all(|&d| d < 1e-3), "{:?}", run.distance);
    }
}

#[test]
fn reproduce_small_run_writes_every_part() {
    let dir = out_dir("reproduce");
    let s = compare::reproduce::ReproduceSetup {
        n: 2000,
        seed: 0,
        tol: 1e-7,
        pde_lmax: 64,
    };
    let (cases, mf) = compare::reproduce::run(&s, &parts(), &dir).unwrap();
    assert_outputs(
        &dir,
        &[
            "growth_rate_curve.png",
            "histogram_beta5.png",
            "histogram_beta7.png",
            "meanfield_profiles.png",
        ],
    );
    assert_eq!(
        cases.iter().map(|c| c.dominant).collect::<Vec<_>>(),
        vec![3, 4]
    );
    // The mean-field run from white noise selects the dominant degree l* = 3 by t = 0.3.
    let k = mf.t.iter().position(|&t| t >= 0.3 - 1e-9).unwrap();
    assert_eq!(mf.dominant_mode[k], 3, "{:?}", mf.dominant_mode);
}
