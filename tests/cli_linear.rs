//! End-to-end tests of `attnflow linear`, `attnflow dominant` and `attnflow figures linear`:
//! output formats, consistency with the library, and one clear line + exit 2 on bad input.

mod common;

use common::{json, run as attnflow};

/// Bad input: exit code 2, exactly one line on stderr that names the parameter, nothing on stdout,
/// and no panic text or backtrace.
fn assert_rejected(args: &[&str], names: &str) {
    common::refused(args, &[names]);
}

#[test]
fn linear_json_matches_library_and_schema() {
    use attnflow::{linear, Model, TimeUnit};
    let v = json(&["linear", "--dim", "3", "--beta", "9", "--format", "json"]);
    assert_eq!(v["dim"], 3);
    assert_eq!(v["beta"], 9.0);
    assert_eq!(v["model"], "usa");
    assert_eq!(v["time"], "physical");
    let star = linear::dominant_degree(9.0, 3);
    assert_eq!(v["dominant"], star);
    let modes = v["modes"].as_array().unwrap();
    assert_eq!(modes.len(), 3 * star + 11, "default lmax = 3 l* + 10");
    assert!(modes[0]["log_rate"].is_null());
    assert_eq!(modes[0]["rate"], 0.0);
    let mut best = (0, f64::NEG_INFINITY);
    for (l, m) in modes.iter().enumerate() {
        assert_eq!(m["l"], l);
        let want = linear::ln_funk_hecke_eigenvalue(l, 9.0, 3);
        assert_eq!(m["log_lambda"].as_f64().unwrap(), want);
        if l > 0 {
            let lr = m["log_rate"].as_f64().unwrap();
            assert_eq!(
                lr,
                linear::ln_growth_rate(l, 9.0, 3, Model::Usa, TimeUnit::Physical).unwrap()
            );
            let r = m["rate"].as_f64().unwrap();
            assert!((r.ln() - lr).abs() < 1e-13, "rate and log_rate agree");
            if r > best.1 {
                best = (l, r);
            }
        }
    }
    assert_eq!(best.0, star, "dominant is the argmax of the listed rates");
}

#[test]
fn unrepresentable_rates_are_null_with_log_given() {
    // USA physical rates at beta = 1000 are ~e^1000: not representable, log carries them.
    let v = json(&[
        "linear", "--dim", "2", "--beta", "1000", "--lmax", "5", "--format", "json",
    ]);
    for m in &v["modes"].as_array().unwrap()[1..] {
        assert!(m["rate"].is_null());
        assert!(m["log_rate"].as_f64().unwrap() > 700.0);
    }
    // In scaled time the same rates are representable, smaller by exactly e^beta.
    let s = json(&[
        "linear", "--dim", "2", "--beta", "1000", "--lmax", "5", "--format", "json", "--time",
        "scaled",
    ]);
    for (a, b) in v["modes"].as_array().unwrap()[1..]
        .iter()
        .zip(&s["modes"].as_array().unwrap()[1..])
    {
        let (la, lb) = (
            a["log_rate"].as_f64().unwrap(),
            b["log_rate"].as_f64().unwrap(),
        );
        assert!((la - lb - 1000.0).abs() < 1e-9);
        assert!(b["rate"].as_f64().unwrap().is_finite());
    }
}

#[test]
fn sa_rates_are_usa_rates_over_lambda0() {
    let u = json(&[
        "linear", "--dim", "5", "--beta", "4", "--lmax", "8", "--format", "json",
    ]);
    let s = json(&[
        "linear", "--dim", "5", "--beta", "4", "--lmax", "8", "--format", "json", "--model", "sa",
    ]);
    let l0 = u["modes"][0]["log_lambda"].as_f64().unwrap();
    for l in 1..=8 {
        let a = u["modes"][l]["log_rate"].as_f64().unwrap();
        let b = s["modes"][l]["log_rate"].as_f64().unwrap();
        assert!((a - l0 - b).abs() < 1e-12, "l = {l}");
    }
    assert_eq!(u["dominant"], s["dominant"]);
}

#[test]
fn csv_and_table_formats() {
    let out = attnflow(&[
        "linear", "--dim", "2", "--beta", "9", "--lmax", "6", "--format", "csv",
    ]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "l,log_lambda,rate,log_rate");
    assert_eq!(lines.len(), 8);
    assert!(
        lines[1].ends_with(','),
        "log_rate of l = 0 is empty: {}",
        lines[1]
    );
    let out = attnflow(&["linear", "--dim", "2", "--beta", "9", "--lmax", "6"]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("dominant degree l* = 4"), "{text}");
    assert!(text
        .lines()
        .any(|l| l.trim_start().starts_with("4 ") && l.ends_with("<- l*")));
}

#[test]
fn dominant_grid_and_thresholds() {
    use attnflow::linear;
    let v = json(&[
        "dominant",
        "--dim",
        "2",
        "--beta-min",
        "0.5",
        "--beta-max",
        "50",
        "--points",
        "9",
        "--thresholds",
        "4",
        "--format",
        "json",
    ]);
    assert_eq!(v["dim"], 2);
    let grid = v["grid"].as_array().unwrap();
    assert_eq!(grid.len(), 9);
    assert_eq!(grid[0]["beta"], 0.5);
    assert_eq!(grid[8]["beta"], 50.0);
    for g in grid {
        let b = g["beta"].as_f64().unwrap();
        assert_eq!(g["dominant"], linear::dominant_degree(b, 2));
    }
    let th = v["thresholds"].as_array().unwrap();
    assert_eq!(th.len(), 4);
    for (k, t) in th.iter().enumerate() {
        assert_eq!(t["from"], k + 1);
        assert_eq!(t["to"], k + 2);
        let b = t["beta"].as_f64().unwrap();
        assert_eq!(linear::dominant_degree(b * (1.0 - 1e-6), 2), k + 1);
        assert_eq!(linear::dominant_degree(b * (1.0 + 1e-6), 2), k + 2);
    }
    let single = json(&["dominant", "--dim", "3", "--beta", "9", "--format", "json"]);
    assert_eq!(
        single["grid"][0]["dominant"],
        linear::dominant_degree(9.0, 3)
    );
    assert!(single["thresholds"].as_array().unwrap().is_empty());
}

#[test]
fn bad_input_is_one_line_and_exit_2() {
    assert_rejected(&["linear", "--dim", "1", "--beta", "1"], "--dim");
    assert_rejected(&["linear", "--dim", "-3", "--beta", "1"], "--dim");
    assert_rejected(&["linear", "--dim", "2", "--beta", "0"], "--beta");
    assert_rejected(&["linear", "--dim", "2", "--beta", "-1"], "--beta");
    assert_rejected(&["linear", "--dim", "2", "--beta", "nan"], "--beta");
    assert_rejected(&["linear", "--dim", "2", "--beta", "inf"], "--beta");
    assert_rejected(&["linear", "--dim", "2", "--beta", "abc"], "--beta");
    assert_rejected(
        &["linear", "--dim", "2", "--beta", "1", "--lmax", "2001"],
        "--lmax",
    );
    assert_rejected(
        &["linear", "--dim", "2", "--beta", "1", "--model", "gpt"],
        "--model",
    );
    assert_rejected(
        &["linear", "--dim", "2", "--beta", "1", "--format", "xml"],
        "--format",
    );
    assert_rejected(
        &["linear", "--dim", "2", "--beta", "1", "--time", "wall"],
        "--time",
    );
    assert_rejected(&["linear", "--beta", "1"], "--dim");
    assert_rejected(
        &[
            "dominant",
            "--dim",
            "2",
            "--beta-min",
            "5",
            "--beta-max",
            "5",
        ],
        "--beta-max",
    );
    assert_rejected(
        &[
            "dominant",
            "--dim",
            "2",
            "--beta-min",
            "5",
            "--beta-max",
            "1",
        ],
        "--beta-max",
    );
    assert_rejected(
        &[
            "dominant",
            "--dim",
            "2",
            "--beta-min",
            "0",
            "--beta-max",
            "1",
        ],
        "--beta-min",
    );
    assert_rejected(&["dominant", "--dim", "2", "--beta-min", "1"], "--beta-max");
    assert_rejected(&["dominant", "--dim", "2"], "--beta");
    assert_rejected(
        &["dominant", "--dim", "2", "--beta", "2", "--thresholds", "0"],
        "--thresholds",
    );
    assert_rejected(
        &[
            "dominant",
            "--dim",
            "2",
            "--beta-min",
            "1",
            "--beta-max",
            "2",
            "--points",
            "1",
        ],
        "--points",
    );
    assert_rejected(&["dominant", "--dim", "0", "--beta", "2"], "--dim");
}

#[test]
fn figures_linear_writes_pngs_and_rejects_unwritable_dir() {
    let dir = std::env::temp_dir().join(format!("attnflow-figs-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let out = attnflow(&["figures", "linear", "--out", dir.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for name in ["growth_rates.png", "dominant_mode.png"] {
        let bytes = std::fs::read(dir.join(name)).unwrap();
        assert_eq!(&bytes[1..4], b"PNG", "{name}");
        assert!(bytes.len() > 20_000, "{name} has content");
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("beta_k"), "{stdout}");
    // A path under a regular file cannot be a directory.
    let file = dir.join("growth_rates.png");
    let bad = file.join("sub");
    assert_rejected(
        &["figures", "linear", "--out", bad.to_str().unwrap()],
        "sub",
    );
}
