//! The run layer: config files, re-running a run record bit for bit, interruption and resume
//! (bit-identical outputs), refusing bad configs and runaway requests, protecting output
//! directories.

use attnflow::control::RunControl;
use attnflow::run::{self, parse_config, RunSpec, RunStatus};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("attnflow-run-layer-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_attnflow"))
}

fn spec(text: &str) -> RunSpec {
    parse_config(Path::new("test.toml"), text, false).unwrap()
}

fn with_out(mut s: RunSpec, out: &Path) -> RunSpec {
    *s.out_mut() = Some(out.to_path_buf());
    s
}

/// Every output file except the run record, sorted.
fn outputs(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n != "run.json")
        .collect();
    v.sort();
    v
}

/// The two directories hold the same outputs, byte for byte (run.json aside).
fn assert_same_outputs(a: &Path, b: &Path) {
    let (na, nb) = (outputs(a), outputs(b));
    assert_eq!(na, nb, "file lists differ");
    assert!(na.iter().any(|n| n.ends_with(".npy")));
    for n in &na {
        let (x, y) = (
            std::fs::read(a.join(n)).unwrap(),
            std::fs::read(b.join(n)).unwrap(),
        );
        assert!(
            x == y,
            "{n} differs between {} and {}",
            a.display(),
            b.display()
        );
    }
}

/// Run `spec` into `out`, asking for a stop once the run is `at` of the way through; then
/// resume it. Returns how many times it was interrupted (at least once, or the test is void).
fn interrupt_and_resume(s: &RunSpec, out: &Path, at: f64) {
    let ctl = RunControl::new();
    let flag = ctl.stop_flag().clone();
    let ctl = ctl.with_progress(Box::new(move |f, _| {
        if f >= at {
            flag.request();
        }
    }));
    let e = run::execute(s, &ctl, false).unwrap_err();
    assert!(matches!(e, attnflow::Error::Interrupted(_)), "{e}");
    assert!(e.to_string().contains("attnflow resume"), "{e}");
    let rec = run::RunRecord::read(out).unwrap();
    assert_eq!(rec.status, RunStatus::Interrupted);
    assert!(std::fs::read_dir(out).unwrap().any(|e| e
        .unwrap()
        .file_name()
        .to_string_lossy()
        .starts_with("checkpoint")));
    let done = run::resume(out, &RunControl::new()).unwrap();
    assert_eq!(done.status, RunStatus::Completed);
    let rec = run::RunRecord::read(out).unwrap();
    assert_eq!(rec.status, RunStatus::Completed);
    assert_eq!(rec.resumed, 1);
    assert!(
        !out.join("checkpoint.bin").exists(),
        "checkpoints are removed at the end"
    );
    // A completed run is left alone.
    let again = run::resume(out, &RunControl::new()).unwrap();
    assert!(again.summary.contains("nothing to do"));
}

fn check_resume(name: &str, text: &str, at: f64) {
    let (a, b) = (scratch(&format!("{name}-a")), scratch(&format!("{name}-b")));
    let s = spec(text);
    run::execute(&with_out(s.clone(), &a), &RunControl::new(), false).unwrap();
    interrupt_and_resume(&with_out(s, &b), &b, at);
    assert_same_outputs(&a, &b);
}

#[test]
fn particles_resume_bit_identically_rk4_adaptive_and_ensembles() {
    check_resume(
        "p-rk4",
        "[particles]\ndim = 3\nn = 300\nbeta = 4\ntime = \"scaled\"\nt_end = 6\ndt = 0.05\nmethod = \"exact\"\nsave_every = 20\n",
        0.45,
    );
    check_resume(
        "p-dp",
        "[particles]\ndim = 2\nn = 400\nbeta = 9\nseed = 2\nsave_every = 25\n",
        0.6,
    );
    // Through merges: five tokens at beta = 500 merge four times (the last at ln tau ~ 34,
    // tau ~ 6e14); interrupted mid-way, the resumed run carries the weighted tokens, their
    // owners and the merge events.
    let init = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/configs/gkpr_theta0.npy"
    );
    check_resume(
        "p-merge",
        &format!("[particles]\ndim = 2\nbeta = 500\ninit = \"{init}\"\ntime = \"scaled\"\nt_end = 1e15\nseries_spacing = \"log\"\n"),
        0.5,
    );
    let merges = std::fs::read_to_string(scratch_existing("p-merge-b").join("merges.csv")).unwrap();
    assert_eq!(merges.lines().count(), 5, "{merges}");
    check_resume(
        "p-ens",
        "[particles]\ndim = 3\nn = 200\nbeta = 6\nensemble = 3\nmodel = \"sa\"\ntime = \"scaled\"\nt_end = 4\n",
        0.5,
    );
}

#[test]
fn pde_resumes_bit_identically_adaptive_fixed_and_refined() {
    check_resume(
        "pde-dp",
        "[pde]\ngeometry = \"circle\"\nbeta = 9\ntime = \"scaled\"\nt_end = 30\nn_equiv = 1e4\nseed = 3\nlmax = 24\noutputs = 21\n",
        0.5,
    );
    check_resume(
        "pde-rk4",
        "[pde]\ngeometry = \"sphere\"\nbeta = 3\nmodel = \"sa\"\nt_end = 1.5\ndt = 0.01\ninit_modes = \"1:1:0.1,2:-2:0.05\"\nlmax = 12\noutputs = 6\n",
        0.5,
    );
    // A run that refines before the interruption resumes on the refined basis.
    let text = "[pde]\ngeometry = \"zonal\"\ndim = 4\nbeta = 6\ntime = \"scaled\"\nt_end = 75\nlmax = 16\ninit_modes = \"1:0:0.1\"\noutputs = 16\nlmax_limit = 200\n";
    check_resume("pde-refine", text, 0.9);
    let rec = run::RunRecord::read(&scratch_existing("pde-refine-b")).unwrap();
    let refinements = rec.results["summary"]["refinements"]
        .as_array()
        .unwrap()
        .len();
    assert!(refinements >= 1, "the test run must refine");
}

fn scratch_existing(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("attnflow-run-layer-{}-{name}", std::process::id()))
}

#[test]
fn a_run_record_reproduces_the_run_bit_for_bit() {
    for (name, text) in [
        (
            "rec-p",
            "[particles]\ndim = 3\nn = 150\nbeta = 5\nensemble = 2\nsave_every = 30\n",
        ),
        (
            "rec-pde",
            "[pde]\ngeometry = \"zonal\"\ndim = 5\nbeta = 3\nt_end = 2\nn_equiv = 1e3\nlmax = 20\n",
        ),
    ] {
        let (a, b) = (scratch(&format!("{name}-a")), scratch(&format!("{name}-b")));
        let s = with_out(spec(text), &a);
        run::execute(&s, &RunControl::new(), false).unwrap();
        let o = bin()
            .args(["run", a.join("run.json").to_str().unwrap(), "--out"])
            .arg(&b)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        assert!(String::from_utf8_lossy(&o.stdout).contains("completed"));
        assert_same_outputs(&a, &b);
        // The recorded specification is complete: resolving it again changes nothing.
        let rec = run::RunRecord::read(&a).unwrap();
        let (again, _) = rec.spec.resolve().unwrap();
        assert_eq!(again, rec.spec);
    }
}

fn run_cli(args: &[&str]) -> Output {
    bin().args(args).output().unwrap()
}

fn one_line_exit(o: &Output, code: i32, needle: &str) {
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(code), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(err.contains(needle), "expected {needle:?} in {err}");
}

#[test]
fn bad_configs_are_one_line_exit_2_and_write_nothing() {
    let d = scratch("bad-config");
    std::fs::create_dir_all(&d).unwrap();
    let out = d.join("out");
    for (text, needle) in [
        (
            "[particles]\ndim = 2\nn = 10\nbetta = 1\n",
            "particles.betta",
        ),
        (
            "[particles]\ndim = 2\nn = 10\nbeta = \"hot\"\n",
            "particles.beta: invalid type",
        ),
        (
            "[particles]\ndim = 2\nn = 10\nbeta = nan\n",
            "invalid particles.beta = NaN",
        ),
        (
            "[particles]\ndim = 2\nn = 10\n",
            "invalid particles.beta = (missing)",
        ),
        (
            "[particles]\ndim = 2\nn = 10\nbeta = 1\n[pde]\nbeta = 1\n",
            "one run per file",
        ),
        ("[compare.growth]\nn = 1\n", "invalid compare.growth.n = 1"),
        (
            "[pde]\ngeometry = \"torus\"\nbeta = 1\nt_end = 1\n",
            "pde.geometry",
        ),
        (
            "[pde]\ngeometry = \"circle\"\nbeta = 1\nt_end = 1\ndt = 1e-300\n",
            "steps",
        ),
        ("not toml at all [", "not valid TOML"),
    ] {
        let cfg = d.join("c.toml");
        std::fs::write(&cfg, text).unwrap();
        let o = run_cli(&["run", cfg.to_str().unwrap(), "--out", out.to_str().unwrap()]);
        one_line_exit(&o, 2, needle);
        assert!(!out.exists(), "{text}: nothing may be written");
    }
    let o = run_cli(&["run", d.join("missing.toml").to_str().unwrap()]);
    one_line_exit(&o, 2, "missing.toml");
    // A JSON config works like TOML.
    let cfg = d.join("c.json");
    std::fs::write(&cfg, r#"{"particles": {"dim": 2, "n": 50, "beta": 2, "time": "scaled", "t_end": 1, "out": "OUT"}}"#.replace("OUT", out.to_str().unwrap())).unwrap();
    let o = run_cli(&["run", cfg.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(out.join("series.csv").exists());
}

#[test]
fn runaway_requests_are_refused_with_an_estimate() {
    let d = scratch("runaway");
    let o = d.to_str().unwrap();
    for (args, needle) in [
        (
            vec![
                "particles",
                "--dim",
                "3",
                "--n",
                "1e12",
                "--beta",
                "1",
                "--out",
                o,
            ],
            "GiB",
        ),
        (
            vec![
                "particles",
                "--dim",
                "2",
                "--n",
                "10",
                "--beta",
                "1",
                "--dt",
                "1e-300",
                "--out",
                o,
            ],
            "steps",
        ),
        (
            vec![
                "particles",
                "--dim",
                "2",
                "--n",
                "10",
                "--beta",
                "1",
                "--series-points",
                "1e9",
                "--out",
                o,
            ],
            "--series-points",
        ),
        (
            vec![
                "particles",
                "--dim",
                "2",
                "--n",
                "10",
                "--beta",
                "1",
                "--ensemble",
                "1e9",
                "--out",
                o,
            ],
            "--ensemble",
        ),
        (
            vec![
                "particles",
                "--dim",
                "2",
                "--n",
                "10",
                "--beta",
                "1e308",
                "--out",
                o,
            ],
            "--beta",
        ),
        (
            vec![
                "pde",
                "--geometry",
                "circle",
                "--beta",
                "1",
                "--t-end",
                "1",
                "--dt",
                "1e-300",
                "--out",
                o,
            ],
            "steps",
        ),
        (
            vec![
                "pde",
                "--geometry",
                "circle",
                "--beta",
                "1",
                "--t-end",
                "1",
                "--outputs",
                "1e9",
                "--out",
                o,
            ],
            "--outputs",
        ),
        (
            vec![
                "pde",
                "--geometry",
                "circle",
                "--beta",
                "1",
                "--t-end",
                "1",
                "--init-modes",
                "3:10",
                "--out",
                o,
            ],
            "--init-modes",
        ),
    ] {
        let out = run_cli(&args);
        one_line_exit(&out, 2, needle);
        assert!(!d.exists(), "{args:?}: nothing may be written");
    }
}

#[test]
fn output_directories_are_never_mixed() {
    let d = scratch("claim");
    std::fs::create_dir_all(&d).unwrap();
    let out = d.join("run");
    let args = |extra: &[&str]| {
        let mut v = vec![
            "particles",
            "--dim",
            "2",
            "--n",
            "40",
            "--beta",
            "2",
            "--time",
            "scaled",
            "--t-end",
            "1",
            "--out",
            out.to_str().unwrap(),
        ];
        v.extend_from_slice(extra);
        run_cli(&v)
    };
    assert!(args(&[]).status.success());
    let first = std::fs::read(out.join("series.csv")).unwrap();
    std::fs::write(out.join("my_notes.txt"), "keep me").unwrap();
    let o = args(&["--seed", "4"]);
    one_line_exit(&o, 2, "resume");
    assert_eq!(std::fs::read(out.join("series.csv")).unwrap(), first);
    let o = args(&["--seed", "4", "--overwrite"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_ne!(std::fs::read(out.join("series.csv")).unwrap(), first);
    assert_eq!(
        std::fs::read_to_string(out.join("my_notes.txt")).unwrap(),
        "keep me"
    );
    // A directory with foreign files is refused even with --overwrite.
    let foreign = d.join("foreign");
    std::fs::create_dir_all(&foreign).unwrap();
    std::fs::write(foreign.join("thesis.tex"), "x").unwrap();
    let o = run_cli(&[
        "particles",
        "--dim",
        "2",
        "--n",
        "40",
        "--beta",
        "2",
        "--overwrite",
        "--out",
        foreign.to_str().unwrap(),
    ]);
    one_line_exit(&o, 2, "not an attnflow run");
}

/// Wait until `path` exists (or panic after `secs`).
fn wait_for(path: &Path, secs: u64) {
    let t0 = Instant::now();
    while !path.exists() {
        assert!(
            t0.elapsed() < Duration::from_secs(secs),
            "{} never appeared",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn signal(pid: u32, sig: i32) {
    // SAFETY: sending a signal to our own child process.
    unsafe {
        libc::kill(pid as i32, sig);
    }
}

#[test]
fn sigint_and_sigkill_then_resume_give_the_uninterrupted_outputs() {
    let base = |out: &Path| -> Vec<String> {
        [
            "particles",
            "--dim",
            "3",
            "--n",
            "1500",
            "--beta",
            "9",
            "--method",
            "exact",
            "--time",
            "scaled",
            "--t-end",
            "40",
            "--save-every",
            "40",
            "--checkpoint-every",
            "0.05",
            "--out",
        ]
        .iter()
        .map(|s| s.to_string())
        .chain([out.to_str().unwrap().to_string()])
        .collect()
    };
    let reference = scratch("sig-ref");
    let o = bin().args(base(&reference)).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    for (name, sig) in [("sigint", libc::SIGINT), ("sigkill", libc::SIGKILL)] {
        let out = scratch(name);
        let child = bin()
            .args(base(&out))
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        wait_for(&out.join("checkpoint.bin"), 60);
        signal(child.id(), sig);
        let o = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        if sig == libc::SIGINT {
            if o.status.code() == Some(0) {
                // The run finished before the signal arrived: nothing to test on this machine.
                continue;
            }
            assert_eq!(o.status.code(), Some(130), "{err}");
            assert_eq!(err.trim_end().lines().count(), 1, "{err}");
            assert!(err.contains("attnflow resume"), "{err}");
        }
        let o = bin().arg("resume").arg(&out).output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        assert_same_outputs(&reference, &out);
    }
}

#[test]
fn experiments_resume_from_their_completed_sub_runs() {
    let text = "[compare.onset]\nn_min = 50\nn_max = 5000\npoints = 3\nseeds = 2\n";
    let (a, b) = (scratch("cmp-a"), scratch("cmp-b"));
    let s = spec(text);
    run::execute(&with_out(s.clone(), &a), &RunControl::new(), false).unwrap();
    assert!(!a.join("parts").exists(), "parts are removed at the end");
    let ctl = RunControl::new();
    let flag = ctl.stop_flag().clone();
    let ctl = ctl.with_progress(Box::new(move |_, msg| {
        if msg.starts_with("2 sub-runs") {
            flag.request();
        }
    }));
    let e = run::execute(&with_out(s, &b), &ctl, false).unwrap_err();
    assert!(matches!(e, attnflow::Error::Interrupted(_)), "{e}");
    let kept = std::fs::read_dir(b.join("parts")).unwrap().count();
    assert!(kept >= 2, "{kept} parts kept");
    run::resume(&b, &RunControl::new()).unwrap();
    for f in ["data.json", "report.md"] {
        assert_eq!(
            std::fs::read(a.join(f)).unwrap(),
            std::fs::read(b.join(f)).unwrap(),
            "{f}"
        );
    }
}
