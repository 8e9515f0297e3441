//! Sweeps: grid expansion, bad sweep files, sharded runs (by `--shard`, by the SLURM array
//! variables, by a job-array script run through `scripts/fake_sbatch.sh`) merging to the same
//! bytes as an unsharded run, re-runs that do nothing, Ctrl-C in the middle then a re-run that
//! only finishes what is missing, and merges that name missing points.

mod common;

use attnflow::sweep::{geomspace, linspace, Combine, Shard, Sweep};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("attnflow-sweep-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn bin() -> Command {
    let mut c = common::attnflow();
    for v in [
        "SLURM_ARRAY_TASK_ID",
        "SLURM_ARRAY_TASK_COUNT",
        "SLURM_ARRAY_TASK_MIN",
        "SLURM_ARRAY_TASK_STEP",
    ] {
        c.env_remove(v);
    }
    c
}

fn run(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = bin();
    c.args(args);
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().unwrap()
}

fn ok(o: &Output) -> String {
    assert!(
        o.status.success(),
        "status {:?}\nstdout: {}\nstderr: {}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Six small particle runs (two betas x three seeds), a few hundred milliseconds each.
const SWEEP: &str = "\
[particles]
dim = 2
n = 64
method = \"exact\"
series_points = 10
[sweep]
beta = [2.0, 5.0]
seed = { range = [0, 3] }
";

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

/// Every file under `dir`, relative, sorted.
fn files(dir: &Path) -> Vec<String> {
    fn walk(base: &Path, d: &Path, out: &mut Vec<String>) {
        for e in std::fs::read_dir(d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(base, &p, out);
            } else {
                out.push(p.strip_prefix(base).unwrap().to_string_lossy().into_owned());
            }
        }
    }
    let mut v = Vec::new();
    walk(dir, dir, &mut v);
    v.sort();
    v
}

/// The merged directories hold the same files, byte for byte.
fn assert_same_merge(a: &Path, b: &Path) {
    let (ma, mb) = (a.join("merged"), b.join("merged"));
    let (fa, fb) = (files(&ma), files(&mb));
    assert_eq!(fa, fb);
    for f in [
        "points.csv",
        "series.csv",
        "summary.png",
        "merge.json",
        "final_clusters.npy",
    ] {
        assert!(fa.contains(&f.to_string()), "{f} missing from {fa:?}");
    }
    for f in &fa {
        assert!(
            std::fs::read(ma.join(f)).unwrap() == std::fs::read(mb.join(f)).unwrap(),
            "merged/{f} differs between {} and {}",
            a.display(),
            b.display()
        );
    }
}

/// The outputs of every point (run.json aside: it holds wall times) are the same bytes.
fn assert_same_points(a: &Path, b: &Path) {
    let fa: Vec<String> = files(&a.join("points"))
        .into_iter()
        .filter(|f| !f.ends_with("run.json"))
        .collect();
    assert_eq!(
        fa,
        files(&b.join("points"))
            .into_iter()
            .filter(|f| !f.ends_with("run.json"))
            .collect::<Vec<_>>()
    );
    for f in &fa {
        assert!(
            std::fs::read(a.join("points").join(f)).unwrap()
                == std::fs::read(b.join("points").join(f)).unwrap(),
            "points/{f} differs"
        );
    }
}

fn sweep_and_merge(file: &Path, out: &Path) {
    ok(&run(
        &[
            "sweep",
            file.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
        &[],
    ));
    ok(&run(&["merge", out.to_str().unwrap()], &[]));
}

#[test]
fn grids_expand_in_row_major_order_with_exact_generators() {
    let s = Sweep::parse(
        Path::new("s.toml"),
        "[particles]\ndim = 2\nn = 10\n[sweep]\nbeta = { linspace = [0.1, 9, 90] }\nseed = { range = [0, 4] }\nmodel = [\"usa\", \"sa\"]\n",
        false,
    )
    .unwrap();
    assert_eq!(s.combine, Combine::Product);
    assert_eq!(s.shape(), vec![90, 4, 2]);
    assert_eq!(s.points.len(), 720);
    // Last axis fastest: point 9 = beta index 1, seed 0, model sa.
    let p = &s.points[9];
    assert_eq!(p.dir, "points/009");
    assert_eq!(p.values[1], serde_json::json!(0));
    assert_eq!(p.values[2], serde_json::json!("sa"));
    // linspace: ends exact, steps equal to (b - a)/(n - 1) within rounding of a + k h.
    let v = linspace(0.1, 9.0, 90);
    assert_eq!((v[0], v[89]), (0.1, 9.0));
    for (k, x) in v.iter().enumerate() {
        let exact = 0.1 + (9.0 - 0.1) * (k as f64) / 89.0;
        assert!(
            (x - exact).abs() <= 4.0 * f64::EPSILON * 9.0,
            "{k}: {x} {exact}"
        );
    }
    assert_eq!(s.points[4 * 2].values[0].as_f64(), Some(v[1]));
    // geomspace: constant ratio, exact ends.
    let g = geomspace(0.01, 100.0, 5);
    assert_eq!((g[0], g[4]), (0.01, 100.0));
    for k in 1..4 {
        assert!(
            (g[k] / 10f64.powi(k as i32 - 2) - 1.0).abs() < 1e-14,
            "{g:?}"
        );
    }
    // Axes keep the file's order in JSON too.
    let j = Sweep::parse(
        Path::new("s.json"),
        r#"{"particles": {"dim": 2, "n": 10}, "sweep": {"seed": [1, 2], "beta": [1.5]}}"#,
        true,
    )
    .unwrap();
    let names: Vec<&str> = j.axes.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(names, ["seed", "beta"]);
    // range with a step, negative steps, zip.
    let s = Sweep::parse(
        Path::new("s.toml"),
        "[particles]\ndim = 2\nn = 10\n[sweep]\ncombine = \"zip\"\nseed = { range = [10, 0, -4] }\nbeta = [1, 2, 3]\n",
        false,
    )
    .unwrap();
    assert_eq!(s.shape(), vec![3]);
    let seeds: Vec<i64> = s
        .points
        .iter()
        .map(|p| p.values[0].as_i64().unwrap())
        .collect();
    assert_eq!(seeds, vec![10, 6, 2]);
    assert_eq!(s.points[2].values[1], serde_json::json!(3));
    // Round-robin shards cover every point exactly once.
    let owners: Vec<usize> = (0..10)
        .map(|p| {
            (0..3)
                .filter(|&i| Shard { index: i, count: 3 }.owns(p))
                .count()
        })
        .collect();
    assert!(owners.iter().all(|&c| c == 1));
    assert_eq!(
        Shard::from_slurm(&|v| match v {
            "SLURM_ARRAY_TASK_ID" => Some("7".into()),
            "SLURM_ARRAY_TASK_COUNT" => Some("3".into()),
            "SLURM_ARRAY_TASK_MIN" => Some("5".into()),
            _ => None,
        })
        .unwrap(),
        Some(Shard { index: 2, count: 3 })
    );
}

/// One line on stderr containing every needle, exit status 2, nothing written.
fn refused(args: &[&str], env: &[(&str, &str)], needles: &[&str], out: &Path) {
    let o = run(args, env);
    common::assert_refusal(args, &o, needles);
    assert!(!out.exists(), "{args:?} wrote {}", out.display());
}

#[test]
fn bad_sweep_files_give_one_line_and_exit_2() {
    let d = scratch("bad");
    let out = d.join("out");
    let o = out.to_str().unwrap();
    let base = "[particles]\ndim = 2\nn = 16\n";
    let cases: &[(&str, &[&str])] = &[
        ("[sweep]\nbta = [1.0]\n", &["sweep.bta", "unknown field"]),
        ("[sweep]\nbeta = []\n", &["sweep.beta", "empty axis"]),
        (
            "[sweep]\nbeta = { range = [3, 3] }\n",
            &["sweep.beta", "empty axis"],
        ),
        (
            "[sweep]\nbeta = [1.0, \"x\"]\n",
            &["sweep.beta = x", "invalid type"],
        ),
        (
            "[sweep]\nbeta = [1.0, -2.0]\n",
            &["point 1 (beta = -2)", "particles.beta"],
        ),
        (
            "[sweep]\ncombine = \"zip\"\nbeta = [1.0, 2.0]\nseed = [1]\n",
            &["zip", "beta has 2, seed has 1"],
        ),
        (
            "[sweep]\nbeta = { logspace = [1, 2, 3] }\n",
            &["sweep.beta", "logspace"],
        ),
        ("[sweep]\nout = [\"a\"]\n", &["sweep.out"]),
        ("[sweep]\n", &["no axes"]),
        ("", &["no [sweep] table"]),
    ];
    for (i, (sweep, needles)) in cases.iter().enumerate() {
        let f = write(&d, &format!("bad{i}.toml"), &format!("{base}{sweep}"));
        refused(
            &["sweep", f.to_str().unwrap(), "--out", o],
            &[],
            needles,
            &out,
        );
    }
    let f = write(
        &d,
        "good.toml",
        &format!("{base}[sweep]\nbeta = [1.0, 2.0]\n"),
    );
    let f = f.to_str().unwrap();
    refused(
        &["sweep", f, "--out", o, "--shard", "3/3"],
        &[],
        &["--shard = 3/3", "0 <= i < n"],
        &out,
    );
    refused(
        &["sweep", f, "--out", o, "--shard", "0/3"],
        &[
            ("SLURM_ARRAY_TASK_ID", "1"),
            ("SLURM_ARRAY_TASK_COUNT", "3"),
        ],
        &["--shard = 0/3", "SLURM array variables give (1/3)"],
        &out,
    );
    refused(
        &["sweep", f, "--out", o],
        &[
            ("SLURM_ARRAY_TASK_ID", "4"),
            ("SLURM_ARRAY_TASK_COUNT", "3"),
        ],
        &["SLURM_ARRAY_TASK_ID = 4"],
        &out,
    );
    refused(
        &["sweep", f, "--out", o, "--sbatch", "--tasks", "3"],
        &[],
        &["--tasks = 3", "[1, 2]"],
        &out,
    );
    refused(
        &["sweep", f, "--out", o, "--sbatch", "--time", "1h"],
        &[],
        &["--time = 1h"],
        &out,
    );
    // A directory holding another sweep is refused.
    ok(&run(&["sweep", f, "--out", o, "--dry-run"], &[]));
    assert!(!out.exists());
    let g = write(&d, "other.toml", &format!("{base}[sweep]\nbeta = [3.0]\n"));
    ok(&run(
        &["sweep", g.to_str().unwrap(), "--out", o, "--shard", "1/2"],
        &[],
    ));
    let e = run(&["sweep", f, "--out", o], &[]);
    assert_eq!(e.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&e.stderr).contains("other axes"));
}

#[test]
fn sharded_sweeps_merge_to_the_same_bytes_and_reruns_do_nothing() {
    let d = scratch("shards");
    let f = write(&d, "s.toml", SWEEP);
    let fs = f.to_str().unwrap();
    let whole = d.join("whole");
    sweep_and_merge(&f, &whole);
    // Three shards by --shard, in reverse order.
    let by_flag = d.join("flag");
    for i in [2, 0, 1] {
        let s = format!("{i}/3");
        let out = ok(&run(
            &[
                "sweep",
                fs,
                "--out",
                by_flag.to_str().unwrap(),
                "--shard",
                &s,
            ],
            &[],
        ));
        assert!(
            out.contains(&format!("shard {i}/3 (2 of 6 points): 2 ran")),
            "{out}"
        );
    }
    ok(&run(&["merge", by_flag.to_str().unwrap()], &[]));
    assert_same_merge(&whole, &by_flag);
    assert_same_points(&whole, &by_flag);
    // Three shards by the SLURM array variables (ids 5, 6, 7).
    let by_env = d.join("env");
    for id in ["6", "5", "7"] {
        ok(&run(
            &["sweep", fs, "--out", by_env.to_str().unwrap()],
            &[
                ("SLURM_ARRAY_TASK_ID", id),
                ("SLURM_ARRAY_TASK_COUNT", "3"),
                ("SLURM_ARRAY_TASK_MIN", "5"),
            ],
        ));
    }
    ok(&run(&["merge", by_env.to_str().unwrap()], &[]));
    assert_same_merge(&whole, &by_env);
    // Re-running a completed sweep touches nothing.
    let before: Vec<Vec<u8>> = files(&whole.join("points"))
        .iter()
        .map(|f| std::fs::read(whole.join("points").join(f)).unwrap())
        .collect();
    let out = ok(&run(&["sweep", fs, "--out", whole.to_str().unwrap()], &[]));
    assert!(
        out.contains("0 ran, 6 already completed, 0 failed"),
        "{out}"
    );
    let after: Vec<Vec<u8>> = files(&whole.join("points"))
        .iter()
        .map(|f| std::fs::read(whole.join("points").join(f)).unwrap())
        .collect();
    assert!(before == after, "a re-run changed a point's files");
    // The merged table: one row per point, values in row-major order, cluster counts agree
    // with each point's own run.json.
    let table = std::fs::read_to_string(whole.join("merged/points.csv")).unwrap();
    let rows: Vec<&str> = table.lines().collect();
    assert_eq!(rows.len(), 7);
    assert!(
        rows[0].starts_with("point,beta,seed,status,"),
        "{}",
        rows[0]
    );
    assert!(rows[4].starts_with("3,5,0,completed,"), "{}", rows[4]);
    let head: Vec<&str> = rows[0].split(',').collect();
    let col = head.iter().position(|h| *h == "final_clusters").unwrap();
    for (p, row) in rows[1..].iter().enumerate() {
        let rec: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(whole.join(format!("points/{p}/run.json"))).unwrap(),
        )
        .unwrap();
        let n = rec["results"]["final_cluster_sizes"][0]
            .as_array()
            .unwrap()
            .len();
        assert_eq!(row.split(',').nth(col).unwrap(), n.to_string(), "point {p}");
    }
    let arr = attnflow::io::read_npy_f64(&whole.join("merged/final_clusters.npy")).unwrap();
    assert_eq!(arr.shape, vec![2, 3]);
    // Every row of every point's series.csv, with the point and its values in front.
    let series = std::fs::read_to_string(whole.join("merged/series.csv")).unwrap();
    let p4 = std::fs::read_to_string(whole.join("points/4/series.csv")).unwrap();
    for line in p4.lines().skip(1) {
        assert!(series.contains(&format!("\n4,5,1,{line}\n")), "{line}");
    }
}

#[test]
fn an_sbatch_job_array_run_locally_matches_the_unsharded_sweep() {
    let d = scratch("sbatch");
    let f = write(&d, "s.toml", SWEEP);
    let fs = f.to_str().unwrap();
    let whole = d.join("whole");
    sweep_and_merge(&f, &whole);
    let arr = d.join("array");
    let out = ok(&run(
        &[
            "sweep",
            fs,
            "--out",
            arr.to_str().unwrap(),
            "--sbatch",
            "--tasks",
            "3",
            "--time",
            "00:05:00",
            "--cpus-per-task",
            "1",
        ],
        &[],
    ));
    assert!(out.contains("6 points in 3 array tasks"), "{out}");
    let script = arr.join("sweep.sbatch");
    let text = std::fs::read_to_string(&script).unwrap();
    for l in [
        "#SBATCH --array=0-2",
        "#SBATCH --time=00:05:00",
        "#SBATCH --cpus-per-task=1",
        "/logs/%A_%a.out",
    ] {
        assert!(text.contains(l), "{l} not in\n{text}");
    }
    assert!(!text.contains("--shard"));
    let syntax = Command::new("bash")
        .arg("-n")
        .arg(&script)
        .output()
        .unwrap();
    assert!(syntax.status.success(), "{syntax:?}");
    // Task 1 lost (node failure): the merge names its points and exits 4.
    let fake = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/fake_sbatch.sh");
    let sb = |only: Option<&str>| {
        let mut c = Command::new("bash");
        c.arg(&fake).arg(&script);
        if let Some(o) = only {
            c.env("FAKE_SBATCH_ONLY", o);
        }
        let o = c.output().unwrap();
        assert!(o.status.success(), "{o:?}");
    };
    sb(Some("0 2"));
    let m = run(&["merge", arr.to_str().unwrap()], &[]);
    let err = String::from_utf8_lossy(&m.stderr);
    assert_eq!(m.status.code(), Some(4), "{err}");
    assert!(
        err.contains("4 of 6 points")
            && err.contains(
                "missing: 1 (beta = 2, seed = 1, missing); 4 (beta = 5, seed = 1, missing)"
            ),
        "{err}"
    );
    let status: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(arr.join("merged/merge.json")).unwrap())
            .unwrap();
    assert_eq!(status["complete"], serde_json::json!(false));
    assert_eq!(status["missing"].as_array().unwrap().len(), 2);
    assert!(std::fs::read_to_string(arr.join("merged/points.csv"))
        .unwrap()
        .contains("\n1,2,1,missing,,"));
    // Re-submitting the whole array runs only what is missing.
    let done0 = std::fs::read(arr.join("points/0/run.json")).unwrap();
    sb(None);
    assert_eq!(std::fs::read(arr.join("points/0/run.json")).unwrap(), done0);
    let logs = files(&arr.join("logs"));
    assert!(logs.iter().any(|l| l.ends_with("_1.err")), "{logs:?}");
    ok(&run(&["merge", arr.to_str().unwrap()], &[]));
    assert_same_merge(&whole, &arr);
}

#[cfg(unix)]
#[test]
fn ctrl_c_in_the_middle_then_rerun_finishes_only_what_is_missing() {
    let d = scratch("sigint");
    // Points long enough (exact sums of 300 tokens) to interrupt one in the middle.
    let text = "[particles]\ndim = 3\nn = 300\nmethod = \"exact\"\nseries_points = 20\nbeta = 2.0\n[sweep]\nseed = [0, 1, 2, 3]\n";
    let f = write(&d, "s.toml", text);
    let fs = f.to_str().unwrap();
    let whole = d.join("whole");
    sweep_and_merge(&f, &whole);
    let cut = d.join("cut");
    let child = bin()
        .args(["sweep", fs, "--out", cut.to_str().unwrap()])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait for the first point to complete and the second to start.
    let started = Instant::now();
    let done = |p: usize| {
        std::fs::read_to_string(cut.join(format!("points/{p}/run.json")))
            .is_ok_and(|t| t.contains("\"status\": \"completed\""))
    };
    while !(done(0) && cut.join("points/1/run.json").is_file()) {
        assert!(started.elapsed() < Duration::from_secs(60), "no progress");
        std::thread::sleep(Duration::from_millis(5));
    }
    unsafe {
        libc::kill(child.id() as i32, libc::SIGINT);
    }
    let o = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(130), "{err}");
    assert!(err.contains("run the same command again"), "{err}");
    assert!(!done(3), "the interrupt came too late to test anything");
    // The point that was running stopped with a checkpoint and will resume.
    let interrupted = (0..4).any(|p| {
        std::fs::read_to_string(cut.join(format!("points/{p}/run.json")))
            .is_ok_and(|t| t.contains("\"status\": \"interrupted\""))
    });
    assert!(interrupted, "no point was interrupted: {err}");
    let kept: Vec<(usize, Vec<u8>)> = (0..4)
        .filter(|&p| done(p))
        .map(|p| {
            (
                p,
                std::fs::read(cut.join(format!("points/{p}/run.json"))).unwrap(),
            )
        })
        .collect();
    let out = ok(&run(&["sweep", fs, "--out", cut.to_str().unwrap()], &[]));
    assert!(
        out.contains(&format!("{} already completed", kept.len())),
        "{out}"
    );
    for (p, bytes) in kept {
        assert_eq!(
            std::fs::read(cut.join(format!("points/{p}/run.json"))).unwrap(),
            bytes,
            "point {p} was redone"
        );
    }
    ok(&run(&["merge", cut.to_str().unwrap()], &[]));
    assert_same_merge(&whole, &cut);
    assert_same_points(&whole, &cut);
}

#[test]
fn the_example_sweeps_run_and_merge() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/configs");
    let mut n = 0;
    for e in std::fs::read_dir(&dir).unwrap() {
        let p = e.unwrap().path();
        let stem = p.file_stem().unwrap().to_string_lossy().into_owned();
        if !stem.starts_with("sweep") {
            continue;
        }
        let out = scratch(&stem).join("out");
        sweep_and_merge(&p, &out);
        let status: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(out.join("merged/merge.json")).unwrap())
                .unwrap();
        assert_eq!(status["complete"], serde_json::json!(true), "{stem}");
        assert!(out.join("merged/summary.png").is_file());
        n += 1;
    }
    assert!(n >= 1);
}
