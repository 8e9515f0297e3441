//! End-to-end tests of the noisy model's command-line surface: `attnflow critical`,
//! `attnflow linear --nu`, and one clear line + exit 2 on bad input.

use attnflow::linear_noise::{critical_beta, critical_noise, noisy_growth_rate};
use attnflow::{Model, TimeUnit};

mod common;

use common::{json, run as attnflow};

/// Bad input: exit code 2, exactly one line on stderr that names the parameter, nothing on stdout,
/// and no panic text or backtrace.
fn assert_rejected(args: &[&str], names: &str) {
    common::refused(args, &[names]);
}

#[test]
fn critical_json_matches_library() {
    let v = json(&[
        "critical", "--dim", "2,3", "--beta", "1,9", "--format", "json",
    ]);
    let stars = v["beta_star"].as_array().unwrap();
    assert_eq!(stars.len(), 2);
    assert_eq!(stars[0]["beta_star"].as_f64().unwrap(), critical_beta(2));
    let rows = v["thresholds"].as_array().unwrap();
    assert_eq!(rows.len(), 4);
    assert_eq!(rows[0]["transition"], "continuous");
    assert_eq!(rows[1]["transition"], "discontinuous");
    let ns = rows[3]["nu_sharp"].as_f64().unwrap();
    assert_eq!(ns, critical_noise(9.0, 3, Model::Usa, TimeUnit::Physical));
    let table = attnflow(&["critical"]);
    assert!(String::from_utf8_lossy(&table.stdout).contains("2.446918311289"));
}

#[test]
fn linear_nu_adds_noisy_rates() {
    let v = json(&[
        "linear", "--dim", "3", "--beta", "4", "--nu", "0.3", "--format", "json",
    ]);
    for m in v["modes"].as_array().unwrap().iter().skip(1) {
        let l = m["l"].as_u64().unwrap() as usize;
        let r = m["noisy_rate"].as_f64().unwrap();
        assert_eq!(
            r,
            noisy_growth_rate(l, 4.0, 3, 0.3, Model::Usa, TimeUnit::Physical)
        );
    }
    // without --nu the output has no noise fields
    let v0 = json(&["linear", "--dim", "3", "--beta", "4", "--format", "json"]);
    assert!(v0.get("nu").is_none() && v0["modes"][1].get("noisy_rate").is_none());
}

#[test]
fn critical_diagram_writes_table_json_and_figure() {
    let dir = std::env::temp_dir().join(format!("attnflow-noise-diagram-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let d = dir.to_str().unwrap();
    let out = attnflow(&[
        "critical",
        "--dim",
        "2",
        "--beta",
        "2,3",
        "--diagram",
        d,
        "--lmax",
        "24",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("bifurcation.json")).unwrap()).unwrap();
    assert_eq!(v[0]["bifurcation"], "supercritical");
    assert_eq!(v[1]["bifurcation"], "subcritical");
    assert!(v[1]["fold_nu_over_nu_sharp"].as_f64().unwrap() > 1.0);
    let csv = std::fs::read_to_string(dir.join("bifurcation.csv")).unwrap();
    assert!(csv.starts_with("dim,beta,point,nu_tau"));
    assert!(
        std::fs::metadata(dir.join("bifurcation.png"))
            .unwrap()
            .len()
            > 10_000
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bad_input_is_one_line() {
    assert_rejected(&["critical", "--diagram", "/tmp/x"], "--diagram");
    assert_rejected(&["critical", "--beta", "2", "--lmax", "1"], "--lmax");
    assert_rejected(&["critical", "--dim", "1"], "--dim");
    assert_rejected(&["critical", "--beta", "nan"], "--beta");
    assert_rejected(
        &["linear", "--dim", "2", "--beta", "1", "--nu", "-1"],
        "--nu",
    );
}
