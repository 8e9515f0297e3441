//! Every program in `examples/` runs to the end, and every config in `examples/configs/`
//! resolves and runs with `attnflow run` (and its record re-runs to identical outputs). To keep
//! the suite fast, `growth_comparison` runs with N = 1000 and configs with `n` above 1000 or
//! `seeds` above 2 run with those lowered.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

fn scratch(name: &str) -> PathBuf {
    common::scratch("examples", name)
}

/// `target/<profile>/examples/<name>`: cargo builds the examples before it runs the tests.
fn example(name: &str) -> Command {
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().and_then(Path::parent).unwrap();
    let path = profile_dir.join("examples").join(name);
    assert!(path.exists(), "{} is not built", path.display());
    let mut c = Command::new(path);
    c.current_dir(env!("CARGO_MANIFEST_DIR"));
    c
}

fn stdout_of(mut c: Command) -> String {
    let o = c.output().unwrap();
    assert!(
        o.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn linear_table_names_the_dominant_degree() {
    let mut c = example("linear_table");
    c.args(["3", "4"]);
    let out = stdout_of(c);
    assert!(out.contains("dominant degree l* = 2"), "{out}");
    assert!(out.contains("l* moves from 1 to 2 at beta"), "{out}");
}

#[test]
fn custom_init_merges_into_clusters() {
    let out = stdout_of(example("custom_init"));
    assert!(out.contains("final cluster sizes [600]"), "{out}");
}

#[test]
fn pde_geometries_conserve_mass() {
    let out = stdout_of(example("pde_geometries"));
    for g in ["circle", "sphere", "zonal"] {
        assert!(out.contains(g), "{out}");
    }
    assert!(
        out.contains("mass = 1.0000000000000") || out.contains("mass = 0.9999999999999"),
        "{out}"
    );
}

#[test]
fn growth_comparison_fits_the_dominant_degree() {
    // N = 1000 tokens per system instead of the default 10000 (10 s of CPU against 64 s for
    // N = 2000 and over 120 s for 10000; the dominant degree still has a linear window in
    // every system).
    let mut c = example("growth_comparison");
    c.arg("1000");
    let out = stdout_of(c);
    assert!(out.contains("N = 1000"), "{out}");
    assert!(out.contains("l = 4: theory 0.09508, particles"), "{out}");
}

#[test]
fn load_config_runs_a_config_file() {
    let d = scratch("load");
    let mut c = example("load_config");
    c.args(["examples/configs/particles.toml", d.to_str().unwrap()]);
    let out = stdout_of(c);
    assert!(
        out.contains("[particles]") && out.contains("completed"),
        "{out}"
    );
    assert!(d.join("series.csv").exists());
}

/// Largest `n` and `seeds` of a config run by the test suite: bigger values in a config are
/// lowered to these (the full config is still resolved and checked by `--print-resolved`).
const TEST_N: u64 = 1000;
const TEST_SEEDS: u64 = 2;

/// The config `text` with `n` and `seeds` lowered to [`TEST_N`] and [`TEST_SEEDS`], or `None`
/// if it is small enough as it is.
fn reduced(text: &str) -> Option<String> {
    let mut changed = false;
    let lines: Vec<String> = text
        .lines()
        .map(|l| {
            let Some((key, value)) = l.split_once('=') else {
                return l.to_string();
            };
            let (key, value) = (key.trim(), value.trim());
            let cap = match key {
                "n" => TEST_N,
                "seeds" => TEST_SEEDS,
                _ => return l.to_string(),
            };
            match value.parse::<u64>() {
                Ok(v) if v > cap => {
                    changed = true;
                    format!("{key} = {cap}")
                }
                _ => l.to_string(),
            }
        })
        .collect();
    changed.then(|| lines.join("\n") + "\n")
}

#[test]
fn every_config_runs_and_its_record_reproduces_it() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/configs");
    let mut names: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        // Sweep files (a config plus [sweep]) are run by tests/sweep.rs; .npy files are inputs.
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .filter(|p| {
            !p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("sweep")
        })
        .collect();
    names.sort();
    assert!(names.len() >= 6);
    let mut lowered = 0;
    for cfg in names {
        let stem = cfg.file_stem().unwrap().to_string_lossy().into_owned();
        let (a, b) = (scratch(&format!("{stem}-a")), scratch(&format!("{stem}-b")));
        // The config as written resolves (every field checked, every default filled in) ...
        let resolved = common::ok(&["run", cfg.to_str().unwrap(), "--print-resolved"]);
        let text = std::fs::read_to_string(&cfg).unwrap();
        let first = text.lines().find(|l| l.starts_with('[')).unwrap();
        assert!(resolved.starts_with(first), "{stem}: {resolved}");
        // ... and runs, with its sizes lowered for the test suite when they are large (the
        // lowered copy holds no relative path: it is run from the scratch directory).
        let cfg = match reduced(&text) {
            Some(small) => {
                assert!(
                    !small.contains("init ="),
                    "{stem}: a lowered config with a file"
                );
                lowered += 1;
                let p = std::env::temp_dir().join(format!(
                    "attnflow-examples-{}-{stem}-small.toml",
                    std::process::id()
                ));
                std::fs::write(&p, small).unwrap();
                p
            }
            None => cfg,
        };
        common::ok(&["run", cfg.to_str().unwrap(), "--out", a.to_str().unwrap()]);
        let rec: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(a.join("run.json")).unwrap()).unwrap();
        assert_eq!(rec["status"], "completed", "{stem}");
        if stem.starts_with("compare") {
            assert!(a.join("report.md").exists() && a.join("data.json").exists());
            continue;
        }
        common::ok(&[
            "run",
            a.join("run.json").to_str().unwrap(),
            "--out",
            b.to_str().unwrap(),
        ]);
        let mut files: Vec<String> = std::fs::read_dir(&a)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| n.ends_with(".npy") || n.ends_with(".csv"))
            .collect();
        files.sort();
        assert!(files.iter().any(|f| f.ends_with(".npy")));
        for f in files {
            assert_eq!(
                std::fs::read(a.join(&f)).unwrap(),
                std::fs::read(b.join(&f)).unwrap(),
                "{stem}: {f}"
            );
        }
    }
    // compare_growth (n = 10000, 3 seeds) and particles (n = 2000) are run smaller.
    assert!(lowered >= 2, "{lowered} configs lowered");
}

#[test]
fn lowering_a_config_changes_only_large_sizes() {
    let text = "[compare.growth]\ndim = 2\nn = 10000\nseeds = 3\nlmax_power = 8\n";
    assert_eq!(
        reduced(text).unwrap(),
        "[compare.growth]\ndim = 2\nn = 1000\nseeds = 2\nlmax_power = 8\n"
    );
    assert_eq!(reduced("[particles]\nn = 300\nseeds = 2\n"), None);
}
