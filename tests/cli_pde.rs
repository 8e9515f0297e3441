//! `attnflow pde` end to end: outputs, the stop-on-lost-resolution contract, snapshot
//! projection, and one clear line with exit status 2 for each kind of bad input.

use attnflow::io::{read_npy_f64, write_npy_f64};
use std::path::{Path, PathBuf};
use std::process::Command;

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("attnflow-cli-pde-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn attnflow(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_attnflow"))
        .arg("pde")
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn csv_rows(path: &Path) -> Vec<Vec<f64>> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| l.split(',').map(|v| v.parse().unwrap()).collect())
        .collect()
}

#[test]
fn circle_run_writes_every_output() {
    let d = scratch("ok");
    let out = d.join("run");
    let (code, _, err) = attnflow(&[
        "--geometry",
        "circle",
        "--beta",
        "3",
        "--t-end",
        "0.02",
        "--lmax",
        "16",
        "--init-modes",
        "1:0.1,3:0.05:0.5",
        "--outputs",
        "5",
        "--lmax-power",
        "8",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let text = std::fs::read_to_string(out.join("series.csv")).unwrap();
    let header = text.lines().next().unwrap();
    assert_eq!(
        header,
        "t,tau,step,energy,mass,min_rho,tail_fraction,lmax,C_1,C_2,C_3,C_4,C_5,C_6,C_7,C_8"
    );
    let rows = csv_rows(&out.join("series.csv"));
    assert_eq!(rows.len(), 5);
    assert_eq!(rows[0][0], 0.0);
    assert_eq!(rows[4][0], 0.02, "last output exactly at t-end");
    // tau = e^beta t for USA.
    assert!((rows[4][1] / (0.02 * 3f64.exp()) - 1.0).abs() < 1e-14);
    // A cos(k th + phase) has orthonormal coefficients of total square A^2/2, so at t = 0
    // C_1 = 0.1^2/2 and C_3 = 0.05^2/2 (C_k = 2|M_k|^2 with |M_k| = A/2).
    assert!((rows[0][8] - 0.005).abs() < 1e-15, "{}", rows[0][8]);
    assert!((rows[0][10] - 0.00125).abs() < 1e-15);
    for r in &rows {
        assert!((r[4] - 1.0).abs() < 1e-13, "mass {}", r[4]);
        assert_eq!(r[7], 16.0, "lmax column");
    }
    assert!(rows[4][2] > 0.0 && rows[0][2] == 0.0, "step column");
    for k in 0..5 {
        let c = read_npy_f64(&out.join(format!("coeffs_{k:04}.npy"))).unwrap();
        assert_eq!(c.shape, vec![33]);
        let g = read_npy_f64(&out.join(format!("density_{k:04}.npy"))).unwrap();
        assert_eq!(g.shape.len(), 1);
    }
    let run: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("run.json")).unwrap()).unwrap();
    assert_eq!(run["status"], "completed");
    assert_eq!(run["spec"]["pde"]["beta"], 3.0);
    assert_eq!(run["spec"]["pde"]["geometry"], "circle");
    assert_eq!(run["kind"], "pde");
    assert!(out.join("grid_L0016_nodes.npy").exists());
}

#[test]
fn lost_resolution_stops_with_exit_3_and_keeps_outputs() {
    let d = scratch("stop");
    let out = d.join("run");
    let (code, _, err) = attnflow(&[
        "--geometry",
        "zonal",
        "--dim",
        "4",
        "--beta",
        "6",
        "--time",
        "scaled",
        "--t-end",
        "200",
        "--lmax",
        "24",
        "--init-modes",
        "1:0:0.1",
        "--outputs",
        "41",
        "--refine",
        "false",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, 3, "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("resolution lost"), "{err}");
    let rows = csv_rows(&out.join("series.csv"));
    assert!(!rows.is_empty() && rows.len() < 41, "{} rows", rows.len());
    for r in &rows {
        assert!(
            r[6] <= 1e-10,
            "every written row is resolved: tail {}",
            r[6]
        );
    }
    let run: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("run.json")).unwrap()).unwrap();
    assert_eq!(run["status"], "resolution_lost");
    assert!(run["message"]
        .as_str()
        .unwrap()
        .starts_with("resolution lost"));
    // The same run with --refine (up to L = 96) gets further: more resolved rows, refinements
    // recorded, and if it stops, it says why.
    let out2 = d.join("refined");
    let (code, _, err) = attnflow(&[
        "--geometry",
        "zonal",
        "--dim",
        "4",
        "--beta",
        "6",
        "--time",
        "scaled",
        "--t-end",
        "200",
        "--lmax",
        "24",
        "--init-modes",
        "1:0:0.1",
        "--outputs",
        "41",
        "--refine",
        "--lmax-limit",
        "96",
        "--out",
        out2.to_str().unwrap(),
    ]);
    let rows2 = csv_rows(&out2.join("series.csv"));
    assert!(
        rows2.len() > rows.len(),
        "{} vs {}",
        rows2.len(),
        rows.len()
    );
    if code != 0 {
        assert_eq!(code, 3, "{err}");
        assert!(err.contains("lmax_limit = 96 is reached"), "{err}");
    }
    let run2: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out2.join("run.json")).unwrap()).unwrap();
    assert!(!run2["results"]["summary"]["refinements"]
        .as_array()
        .unwrap()
        .is_empty());
}

#[test]
fn snapshot_projection_matches_empirical_moments() {
    let d = scratch("snap");
    let n = 7usize;
    let th: Vec<f64> = (0..n)
        .map(|j| 0.3 + 0.4 * j as f64 + 0.05 * (j * j) as f64)
        .collect();
    let pts: Vec<f64> = th.iter().flat_map(|t| [t.cos(), t.sin()]).collect();
    let snap = d.join("snap.npy");
    write_npy_f64(&snap, &[n, 2], &pts).unwrap();
    let out = d.join("run");
    let (code, _, err) = attnflow(&[
        "--geometry",
        "circle",
        "--beta",
        "1",
        "--t-end",
        "0",
        "--lmax",
        "6",
        "--init-snapshot",
        snap.to_str().unwrap(),
        "--smoothing",
        "0.01",
        "--resolution-tol",
        "1",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let c = read_npy_f64(&out.join("coeffs_0000.npy")).unwrap().data;
    assert_eq!(c[0], 1.0);
    for k in 1..=6usize {
        let f = (-0.01 * (k * k) as f64).exp() * 2f64.sqrt() / n as f64;
        let a: f64 = th.iter().map(|t| (k as f64 * t).cos()).sum::<f64>() * f;
        let b: f64 = th.iter().map(|t| (k as f64 * t).sin()).sum::<f64>() * f;
        assert!(
            (c[2 * k - 1] - a).abs() < 1e-14 && (c[2 * k] - b).abs() < 1e-14,
            "k={k}"
        );
    }
}

#[test]
fn random_initial_data_is_reproducible_and_has_finite_n_power() {
    let d = scratch("rand");
    let run = |name: &str, seed: &str| {
        let out = d.join(name);
        let (code, _, err) = attnflow(&[
            "--geometry",
            "sphere",
            "--beta",
            "1",
            "--t-end",
            "0",
            "--lmax",
            "40",
            "--n-equiv",
            "1000",
            "--seed",
            seed,
            "--init-lmax",
            "40",
            "--resolution-tol",
            "1",
            "--lmax-power",
            "40",
            "--out",
            out.to_str().unwrap(),
        ]);
        assert_eq!(code, 0, "{err}");
        csv_rows(&out.join("series.csv"))[0].clone()
    };
    let a = run("a", "5");
    let b = run("b", "5");
    let c = run("c", "6");
    assert_eq!(a, b);
    assert_ne!(a, c);
    // Mean of C_l N / (2l+1) over l = 1..40 is 1 (chi-square with 2l+1 dof each): within 5%.
    let mean: f64 = (1..=40)
        .map(|l| a[7 + l] * 1000.0 / (2 * l + 1) as f64)
        .sum::<f64>()
        / 40.0;
    assert!((mean - 1.0).abs() < 0.05, "{mean}");
}

#[test]
fn bad_input_is_one_line_and_exit_2() {
    let d = scratch("bad");
    let out = d.join("o");
    let o = out.to_str().unwrap();
    let snap_bad = d.join("bad.npy");
    write_npy_f64(
        &snap_bad,
        &[3, 3],
        &[1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0],
    )
    .unwrap();
    let not_unit = d.join("nu.npy");
    write_npy_f64(&not_unit, &[1, 2], &[2.0, 0.0]).unwrap();
    let base = ["--beta", "2", "--t-end", "1", "--out", o];
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["--geometry", "torus"], "--geometry"),
        (vec!["--geometry", "circle", "--dim", "3"], "--dim"),
        (vec!["--geometry", "sphere", "--dim", "4"], "--dim"),
        (vec!["--geometry", "zonal", "--dim", "1"], "--dim"),
        (vec!["--geometry", "circle", "--lmax", "0"], "--lmax"),
        (vec!["--geometry", "sphere", "--lmax", "5000"], "--lmax"),
        (
            vec!["--geometry", "circle", "--lmax", "8", "--lmax-power", "9"],
            "--lmax-power",
        ),
        (
            vec!["--geometry", "circle", "--model", "softmax"],
            "--model",
        ),
        (vec!["--geometry", "circle", "--time", "hours"], "--time"),
        (vec!["--geometry", "circle", "--nu", "-1"], "--nu"),
        (vec!["--geometry", "circle", "--tol", "2"], "--tol"),
        (vec!["--geometry", "circle", "--dt", "0"], "--dt"),
        (
            vec!["--geometry", "circle", "--tol", "1e-6", "--dt", "0.1"],
            "--dt",
        ),
        (vec!["--geometry", "circle", "--outputs", "1"], "--outputs"),
        (
            vec!["--geometry", "circle", "--init-modes", "0:0.1"],
            "--init-modes",
        ),
        (
            vec!["--geometry", "circle", "--init-modes", "2:x"],
            "--init-modes",
        ),
        (
            vec!["--geometry", "sphere", "--init-modes", "2:3:0.1"],
            "--init-modes",
        ),
        (
            vec!["--geometry", "zonal", "--init-modes", "2:1:0.1"],
            "--init-modes",
        ),
        (
            vec!["--geometry", "circle", "--init-noise", "-0.1"],
            "--init-noise",
        ),
        (vec!["--geometry", "circle", "--n-equiv", "0"], "--n-equiv"),
        (
            vec!["--geometry", "circle", "--init-lmax", "1000"],
            "--init-lmax",
        ),
        (
            vec!["--geometry", "circle", "--smoothing", "nan"],
            "--smoothing",
        ),
        (
            vec!["--geometry", "circle", "--resolution-tol", "0"],
            "--resolution-tol",
        ),
        (
            vec!["--geometry", "circle", "--lmax", "8", "--lmax-limit", "4"],
            "--lmax-limit",
        ),
        (
            vec![
                "--geometry",
                "circle",
                "--init-snapshot",
                "/nonexistent/x.npy",
            ],
            "x.npy",
        ),
        (
            vec![
                "--geometry",
                "circle",
                "--init-snapshot",
                snap_bad.to_str().unwrap(),
            ],
            "bad.npy",
        ),
        (
            vec![
                "--geometry",
                "circle",
                "--init-snapshot",
                not_unit.to_str().unwrap(),
            ],
            "unit",
        ),
    ];
    for (extra, needle) in cases {
        let mut args: Vec<&str> = base.to_vec();
        args.extend(extra.iter());
        let (code, _, err) = attnflow(&args);
        assert_eq!(code, 2, "{extra:?}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{extra:?}: {err}");
        assert!(err.contains(needle), "{extra:?}: {err}");
        assert!(!err.contains("panicked"), "{extra:?}: {err}");
    }
    // t-end negative and beta negative.
    for (args, needle) in [
        (
            vec![
                "--geometry",
                "circle",
                "--beta",
                "-1",
                "--t-end",
                "1",
                "--out",
                o,
            ],
            "--beta",
        ),
        (
            vec![
                "--geometry",
                "circle",
                "--beta",
                "1",
                "--t-end",
                "-1",
                "--out",
                o,
            ],
            "--t-end",
        ),
    ] {
        let (code, _, err) = attnflow(&args);
        assert_eq!(code, 2);
        assert!(err.contains(needle), "{err}");
    }
    // An output path that is a file: error, and the file is untouched.
    let f = d.join("file");
    std::fs::write(&f, b"precious").unwrap();
    let (code, _, err) = attnflow(&[
        "--geometry",
        "circle",
        "--beta",
        "1",
        "--t-end",
        "1",
        "--out",
        f.to_str().unwrap(),
    ]);
    assert_eq!(code, 2, "{err}");
    assert_eq!(std::fs::read(&f).unwrap(), b"precious");
    // USA in physical time at huge beta overflows tau: rejected with advice.
    let (code, _, err) = attnflow(&[
        "--geometry",
        "circle",
        "--beta",
        "800",
        "--t-end",
        "1",
        "--out",
        o,
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("--t-end") && err.contains("scaled"), "{err}");
}
