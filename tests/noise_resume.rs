//! Noisy particle runs through the run layer: the `nu` key of a config file, the resolved
//! record, refusing merging with noise, and interruption + resume giving byte-identical outputs
//! (the noise stream is keyed by the restored step count).

use attnflow::control::RunControl;
use attnflow::run::{self, parse_config, RunSpec, RunStatus};
use std::path::{Path, PathBuf};

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "attnflow-noise-resume-{}-{name}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn spec(text: &str) -> RunSpec {
    parse_config(Path::new("test.toml"), text, false).unwrap()
}

fn with_out(mut s: RunSpec, out: &Path) -> RunSpec {
    *s.out_mut() = Some(out.to_path_buf());
    s
}

fn outputs(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n != "run.json")
        .collect();
    v.sort();
    v
}

#[test]
fn noisy_runs_resume_bit_identically() {
    for (name, text) in [
        (
            "rk4",
            "[particles]\ndim = 3\nn = 300\nbeta = 4\nnu = 0.3\ntime = \"scaled\"\nt_end = 3\ndt = 0.05\nmethod = \"exact\"\nsave_every = 20\n",
        ),
        (
            "dp-ens",
            "[particles]\ndim = 2\nn = 400\nbeta = 3\nnu = 0.05\nensemble = 2\nseed = 4\ntime = \"scaled\"\nt_end = 5\n",
        ),
    ] {
        let (a, b) = (scratch(&format!("{name}-a")), scratch(&format!("{name}-b")));
        let s = spec(text);
        run::execute(&with_out(s.clone(), &a), &RunControl::new(), false).unwrap();
        let rec = run::RunRecord::read(&a).unwrap();
        let json = serde_json::to_value(&rec).unwrap();
        assert!(json["derived"]["noise"].is_object(), "{name}: {}", json["derived"]);
        assert!(json["spec"]["particles"]["nu"].as_f64().unwrap() > 0.0);
        // interrupt half-way, then resume
        let ctl = RunControl::new();
        let flag = ctl.stop_flag().clone();
        let ctl = ctl.with_progress(Box::new(move |f, _| {
            if f >= 0.5 {
                flag.request();
            }
        }));
        let e = run::execute(&with_out(s, &b), &ctl, false).unwrap_err();
        assert!(matches!(e, attnflow::Error::Interrupted(_)), "{e}");
        let done = run::resume(&b, &RunControl::new()).unwrap();
        assert_eq!(done.status, RunStatus::Completed);
        let (na, nb) = (outputs(&a), outputs(&b));
        assert_eq!(na, nb);
        for n in &na {
            assert!(
                std::fs::read(a.join(n)).unwrap() == std::fs::read(b.join(n)).unwrap(),
                "{name}: {n} differs"
            );
        }
        let _ = std::fs::remove_dir_all(&a);
        let _ = std::fs::remove_dir_all(&b);
    }
}

#[test]
fn merging_is_refused_with_noise() {
    let s = spec("[particles]\ndim = 2\nn = 10\nbeta = 1\nnu = 0.1\nmerge_radius = 1e-6\n");
    let RunSpec::Particles(p) = s else {
        panic!("particles")
    };
    let e = p.resolve().unwrap_err().to_string();
    assert!(e.contains("merge_radius"), "{e}");
    let bad = parse_config(
        Path::new("t.toml"),
        "[particles]\ndim = 2\nn = 10\nbeta = 1\nnu = -1\n",
        false,
    );
    let msg = match bad {
        Ok(RunSpec::Particles(p)) => p.resolve().unwrap_err().to_string(),
        Ok(_) => panic!("particles"),
        Err(e) => e.to_string(),
    };
    assert!(msg.contains("nu"), "{msg}");
}
