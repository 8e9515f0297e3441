//! The equiangular reduction: quadrature vs the ODE, and the particle system started at an
//! orthonormal frame (all pairwise inner products stay equal and follow the scalar ODE).

use attnflow::equiangular::{orthonormal_frame, rate, time_to, trajectory};
use attnflow::particles::{ExactField, Integrator, StepControl};
use attnflow::Model;

#[test]
fn quadrature_and_ode_agree() {
    for model in [Model::Usa, Model::Sa] {
        for (n, beta, r0) in [(32usize, 4.0, 0.0), (5, 9.0, -0.2), (3, 0.5, 0.3)] {
            let t1 = time_to(r0, 0.999, beta, n, model).unwrap();
            let r = trajectory(r0, beta, n, model, &[t1]).unwrap()[0];
            // The ODE's error in rho, as an error in time relative to T.
            let rel_time = (r - 0.999).abs() / (rate(0.999, beta, n, model) * t1);
            assert!(
                rel_time < 1e-11,
                "{model:?} n={n} beta={beta}: rho(T) = {r}"
            );
            // Additivity of the quadrature.
            let ta = time_to(r0, 0.5, beta, n, model).unwrap();
            let tb = time_to(0.5, 0.999, beta, n, model).unwrap();
            assert!(((ta + tb) / t1 - 1.0).abs() < 1e-13);
        }
    }
    assert!(rate(1.0, 3.0, 4, Model::Usa) == 0.0);
    assert!(rate(-1.0 / 3.0, 3.0, 4, Model::Sa).abs() < 1e-16);
    assert!(
        time_to(-0.5, 0.9, 3.0, 4, Model::Usa).is_err(),
        "below the simplex point"
    );
}

#[test]
fn particles_from_an_orthonormal_frame_follow_the_ode() {
    for model in [Model::Usa, Model::Sa] {
        let (n, dim, beta) = (4usize, 6usize, 3.0);
        let x0 = orthonormal_frame(n, dim).unwrap();
        let field = ExactField::new(dim, beta, model);
        let mut it = Integrator::new(&field, x0, StepControl::DormandPrince { tol: 1e-14 });
        let t_half = time_to(0.0, 0.5, beta, n, model).unwrap();
        let times: Vec<f64> = (1..=4).map(|k| t_half * k as f64 / 2.0).collect();
        let rho = trajectory(0.0, beta, n, model, &times).unwrap();
        let mut worst: f64 = 0.0;
        for (&t, &r) in times.iter().zip(&rho) {
            it.advance_to(t, |_, _| {}).unwrap();
            for i in 0..n {
                for j in i + 1..n {
                    let dot: f64 = (0..dim)
                        .map(|k| it.x[i * dim + k] * it.x[j * dim + k])
                        .sum();
                    worst = worst.max((dot - r).abs());
                }
            }
        }
        eprintln!("{model:?}: max |<x_i,x_j> - rho| = {worst:.2e}");
        assert!(worst < 1e-10, "{model:?}: {worst}");
    }
}

#[test]
fn times_match_mpmath() {
    let text = include_str!("fixtures/equiangular_mpmath.csv");
    let mut count = 0;
    for line in text.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        let model = if f[0] == "usa" { Model::Usa } else { Model::Sa };
        let n: usize = f[1].parse().unwrap();
        let (beta, r0, r1, want): (f64, f64, f64, f64) = (
            f[2].parse().unwrap(),
            f[3].parse().unwrap(),
            f[4].parse().unwrap(),
            f[5].parse().unwrap(),
        );
        let got = time_to(r0, r1, beta, n, model).unwrap();
        assert!((got / want - 1.0).abs() < 1e-13, "{line}: {got}");
        count += 1;
    }
    assert!(count >= 7);
}

/// `attnflow equiangular`: the trajectory (Dormand–Prince on the ODE) ends at `rho1` at the
/// time the quadrature reports; the time matches the mpmath fixture; bad input is one line.
#[test]
fn command_line_reports_time_and_trajectory() {
    let bin = env!("CARGO_BIN_EXE_attnflow");
    let out = std::process::Command::new(bin)
        .args(["equiangular", "--n", "4", "--beta", "1", "--model", "sa"])
        .args([
            "--rho0", "0", "--rho1", "0.99", "--points", "5", "--format", "json",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let total = v["time_to_rho1"].as_f64().unwrap();
    let want = time_to(0.0, 0.99, 1.0, 4, Model::Sa).unwrap();
    assert_eq!(total, want);
    let traj = v["trajectory"].as_array().unwrap();
    assert_eq!(traj.len(), 5);
    let last = traj[4].as_array().unwrap();
    assert_eq!(last[0].as_f64().unwrap(), total);
    let rho_end = last[1].as_f64().unwrap();
    assert!((rho_end - 0.99).abs() < 1e-10, "rho(T) = {rho_end}");
    assert_eq!(traj[0].as_array().unwrap()[1].as_f64().unwrap(), 0.0);
    for bad in [
        vec!["--n", "1", "--beta", "1"],
        vec!["--n", "3", "--beta", "1", "--rho0", "-0.7"],
        vec!["--n", "3", "--beta", "nan"],
    ] {
        let out = std::process::Command::new(bin)
            .arg("equiangular")
            .args(&bad)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{bad:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.trim().lines().count(), 1, "{err}");
    }
}
