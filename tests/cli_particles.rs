//! `attnflow particles` end to end: outputs, determinism, --init, ensembles, bad input.

mod common;

use attnflow::io::{read_npy_f64, write_npy_f64};
use attnflow::particles::TokenState;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn bin() -> Command {
    common::attnflow()
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "attnflow-cli-particles-{}-{name}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn run(args: &[&str]) -> Output {
    bin().arg("particles").args(args).output().unwrap()
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap()
}

#[test]
fn writes_series_run_record_and_snapshots() {
    let out = tmp("basic");
    let o = run(&[
        "--dim",
        "3",
        "--n",
        "64",
        "--beta",
        "4",
        "--t-end",
        "2",
        "--time",
        "scaled",
        "--dt",
        "0.25",
        "--save-every",
        "4",
        "--lmax-power",
        "5",
        "--seed",
        "3",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let series = read(&out.join("series.csv"));
    let header = series.lines().next().unwrap();
    assert!(
        header == "t,tau,step,energy,speed2,arc_length,clusters,largest_cluster_fraction,energy_identity_error,C_1,C_2,C_3,C_4,C_5",
        "{header}"
    );
    // 8 RK4 steps of 0.25, 200 requested rows -> one row per step plus the initial row.
    assert_eq!(series.lines().count(), 1 + 9);
    let last: Vec<f64> = series
        .lines()
        .last()
        .unwrap()
        .split(',')
        .map(|v| v.parse().unwrap())
        .collect();
    assert_eq!(last[1], 2.0);
    assert!(
        (last[0] - 2.0 * (-4.0f64).exp()).abs() < 1e-15,
        "t = e^-beta tau"
    );
    let json: serde_json::Value = serde_json::from_str(&read(&out.join("run.json"))).unwrap();
    assert_eq!(json["spec"]["particles"]["n"], 64);
    assert_eq!(json["spec"]["particles"]["seed"], 3);
    assert_eq!(json["attnflow_version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(json["results"]["steps"][0], 8);
    assert_eq!(json["status"], "completed");
    // Snapshot times are recorded (index file and record).
    let snaps = read(&out.join("snapshots.csv"));
    assert_eq!(snaps.lines().next(), Some("step,t,tau"));
    assert_eq!(snaps.lines().count(), 1 + 3);
    assert_eq!(json["results"]["snapshots"][1]["step"], 4);
    assert_eq!(json["results"]["snapshots"][1]["tau"], 1.0);
    assert!(json["wall_time_seconds"].as_f64().unwrap() >= 0.0);
    // Snapshots: initial (= the seeded uniform state), every 4 steps, final.
    for step in ["000000", "000004", "000008"] {
        let a = read_npy_f64(&out.join(format!("x_{step}.npy"))).unwrap();
        assert_eq!(a.shape, vec![64, 3]);
        for r in a.data.chunks(3) {
            assert!(((r[0] * r[0] + r[1] * r[1] + r[2] * r[2]).sqrt() - 1.0).abs() < 1e-14);
        }
    }
    let first = read_npy_f64(&out.join("x_000000.npy")).unwrap();
    assert_eq!(first.data, TokenState::uniform(64, 3, 3, 0).x);
}

#[test]
fn same_command_gives_identical_files() {
    let (a, b) = (tmp("det-a"), tmp("det-b"));
    for d in [&a, &b] {
        let o = run(&[
            "--dim",
            "2",
            "--n",
            "300",
            "--beta",
            "9",
            "--tol",
            "1e-8",
            "--ensemble",
            "3",
            "--out",
            d.to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    let mut names: Vec<String> = std::fs::read_dir(&a)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert!(names.contains(&"series_mean.csv".to_string()));
    assert!(names.iter().any(|n| n.starts_with("x_s2_")));
    for name in &names {
        let (x, y) = (
            std::fs::read(a.join(name)).unwrap(),
            std::fs::read(b.join(name)).unwrap(),
        );
        if name == "run.json" {
            let strip = |v: &[u8]| -> String {
                String::from_utf8_lossy(v)
                    .lines()
                    .filter(|l| !l.contains("wall_time_seconds") && !l.contains("\"out\""))
                    .collect()
            };
            assert_eq!(strip(&x), strip(&y));
        } else {
            assert!(x == y, "{name} differs");
        }
    }
    let series = read(&a.join("series.csv"));
    assert!(series.starts_with("system,t,tau,"));
}

#[test]
fn init_file_is_loaded_and_normalised_with_a_warning() {
    let out = tmp("init");
    let inputs = tmp("init-inputs");
    std::fs::create_dir_all(&inputs).unwrap();
    let init = inputs.join("init.npy");
    write_npy_f64(&init, &[3, 2], &[2.0, 0.0, 0.0, 1.0, -1.0, -1.0]).unwrap();
    let o = run(&[
        "--dim",
        "2",
        "--beta",
        "1",
        "--t-end",
        "0.5",
        "--init",
        init.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("warning: 2 rows") && err.contains("normalised"),
        "{err}"
    );
    let first = read_npy_f64(&out.join("x_000000.npy")).unwrap();
    let h = 0.5f64.sqrt();
    let want = [1.0, 0.0, 0.0, 1.0, -h, -h];
    assert!(first
        .data
        .iter()
        .zip(want)
        .all(|(a, b)| (a - b).abs() < 1e-15));
}

/// Bad input: exit code 2, exactly one line on stderr naming the problem, nothing written.
fn bad(args: &[&str], needle: &str) {
    let o = run(args);
    common::assert_refusal(args, &o, &[needle]);
}

#[test]
fn bad_input_is_one_line_and_exit_code_2() {
    let out = tmp("bad");
    std::fs::create_dir_all(&out).unwrap();
    // An existing result that must survive every failed run.
    std::fs::write(out.join("series.csv"), "precious").unwrap();
    let o = out.to_str().unwrap();
    let base = |extra: &[&str]| -> Vec<String> {
        let mut v: Vec<String> = ["--dim", "3", "--n", "20", "--beta", "2", "--out", o]
            .iter()
            .map(|s| s.to_string())
            .collect();
        v.extend(extra.iter().map(|s| s.to_string()));
        v
    };
    let check = |extra: &[&str], needle: &str| {
        let v = base(extra);
        let refs: Vec<&str> = v.iter().map(|s| s.as_str()).collect();
        bad(&refs, needle);
    };
    bad(
        &["--dim", "3", "--n", "0", "--beta", "2", "--out", o],
        "invalid --n = 0",
    );
    bad(
        &["--dim", "3", "--n", "-4", "--beta", "2", "--out", o],
        "--n",
    );
    bad(
        &["--dim", "1", "--n", "4", "--beta", "2", "--out", o],
        "invalid --dim = 1",
    );
    bad(
        &["--dim", "3", "--n", "4", "--beta", "-1", "--out", o],
        "invalid --beta = -1",
    );
    check(&["--dt", "0"], "invalid --dt = 0");
    check(&["--dt", "-0.1"], "invalid --dt = -0.1");
    check(&["--dt", "nan"], "invalid --dt = NaN");
    check(&["--dt", "inf"], "invalid --dt = inf");
    check(&["--tol", "0"], "invalid --tol = 0");
    check(&["--tol", "nan"], "invalid --tol = NaN");
    check(&["--t-end", "-2"], "invalid --t-end = -2");
    check(&["--t-end", "inf"], "invalid --t-end = inf");
    // USA physical time: tau = e^beta t overflows at beta = 800.
    bad(
        &[
            "--dim", "2", "--n", "5", "--beta", "800", "--t-end", "1", "--out", o,
        ],
        "invalid --t-end = 1",
    );
    check(&["--model", "xyz"], "'--model");
    check(&["--method", "fft"], "'--method");
    check(&["--ensemble", "0"], "invalid --ensemble = 0");
    check(&["--dt", "0.1", "--tol", "1e-6"], "cannot be used with");
    bad(
        &[
            "--dim", "4", "--n", "20", "--beta", "2", "--method", "fast", "--out", o,
        ],
        "invalid --method = fast",
    );
    // Malformed and inconsistent .npy files.
    let garbage = out.join("garbage.npy");
    std::fs::write(&garbage, b"not an array").unwrap();
    check(&["--init", garbage.to_str().unwrap()], "garbage.npy");
    let flat = out.join("flat.npy");
    write_npy_f64(&flat, &[6], &[1.0; 6]).unwrap();
    check(&["--init", flat.to_str().unwrap()], "expected a 2-D array");
    let wide = out.join("wide.npy");
    write_npy_f64(&wide, &[2, 4], &[1.0; 8]).unwrap();
    check(&["--init", wide.to_str().unwrap()], "dim is 3");
    let nan = out.join("nan.npy");
    write_npy_f64(&nan, &[2, 3], &[1.0, 0.0, 0.0, f64::NAN, 0.0, 1.0]).unwrap();
    check(
        &["--init", nan.to_str().unwrap()],
        "token 1 has a non-finite coordinate",
    );
    let zero = out.join("zero.npy");
    write_npy_f64(&zero, &[2, 3], &[1.0, 0.0, 0.0, 0.0, 0.0, 0.0]).unwrap();
    check(&["--init", zero.to_str().unwrap()], "zero vector");
    check(
        &["--init", out.join("missing.npy").to_str().unwrap()],
        "missing.npy",
    );
    // Unwritable output directory (below a regular file).
    let file = out.join("plainfile");
    std::fs::write(&file, "x").unwrap();
    bad(
        &[
            "--dim",
            "2",
            "--n",
            "5",
            "--beta",
            "1",
            "--out",
            file.join("sub").to_str().unwrap(),
        ],
        "cannot write",
    );
    assert_eq!(read(&out.join("series.csv")), "precious");
}

#[test]
fn portable_and_simd_kernels_agree() {
    // ATTNFLOW_PORTABLE=1 forces the portable code paths (no AVX2/FMA intrinsics, row-wise exact
    // kernel instead of symmetric tiles). Both must give the same trajectory to rounding level.
    for (dim, n, method) in [
        (3usize, 600usize, "exact"),
        (2, 2000, "fast"),
        (3, 2000, "fast"),
        (5, 300, "exact"),
    ] {
        let mut finals = Vec::new();
        for portable in [false, true] {
            let out = tmp(&format!("portable-{dim}-{method}-{portable}"));
            let mut cmd = bin();
            cmd.arg("particles").args([
                "--dim",
                &dim.to_string(),
                "--n",
                &n.to_string(),
                "--beta",
                "9",
                "--t-end",
                "3",
                "--time",
                "scaled",
                "--dt",
                "0.5",
                "--method",
                method,
                "--out",
                out.to_str().unwrap(),
            ]);
            if portable {
                cmd.env("ATTNFLOW_PORTABLE", "1");
            } else {
                cmd.env_remove("ATTNFLOW_PORTABLE");
            }
            let o = cmd.output().unwrap();
            assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
            finals.push(read_npy_f64(&out.join("x_000006.npy")).unwrap().data);
        }
        let diff = finals[0]
            .iter()
            .zip(&finals[1])
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        assert!(diff < 1e-11, "d={dim} {method}: {diff}");
    }
}
