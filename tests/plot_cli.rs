//! `attnflow plot RUN`: the standard figures of small particle and PDE runs exist as
//! non-trivial PNGs (in RUN/plots or --out), and bad directories (missing, not a run, an
//! experiment, malformed tables or arrays) are one line with exit status 2.

mod common;

use common::{ok, refused};
use std::path::{Path, PathBuf};

fn out_dir(name: &str) -> PathBuf {
    common::scratch("plot", name)
}

/// PNG width and height (IHDR), and its size in bytes.
fn png(path: &Path) -> (u32, u32, u64) {
    common::png_info(path)
}

fn check(dir: &Path, names: &[&str], stdout: &str) {
    for n in names {
        let p = dir.join(n);
        let (w, h, len) = png(&p);
        assert!(w >= 700 && h >= 350, "{n}: {w} x {h}");
        assert!(len > 15_000, "{n}: {len} bytes");
        assert!(stdout.contains(&p.display().to_string()), "{stdout}");
    }
}

#[test]
fn particle_and_pde_runs_get_their_standard_figures() {
    let a = out_dir("circle");
    let ad = a.to_str().unwrap();
    ok(&[
        "particles",
        "--dim",
        "2",
        "--n",
        "300",
        "--beta",
        "9",
        "--seed",
        "1",
        "--movie",
        "--series-points",
        "40",
        "--out",
        ad,
    ]);
    let s = ok(&["plot", ad]);
    check(
        &a.join("plots"),
        &[
            "energy.png",
            "power.png",
            "clusters.png",
            "snapshots.png",
            "kymograph.png",
        ],
        &s,
    );
    // --out elsewhere; a run with only its initial and final states: no kymograph.
    let b = out_dir("sphere");
    let bd = b.to_str().unwrap();
    ok(&[
        "particles",
        "--dim",
        "3",
        "--n",
        "200",
        "--beta",
        "4",
        "--seed",
        "2",
        "--series-points",
        "20",
        "--out",
        bd,
    ]);
    let figs = out_dir("sphere-figs");
    let s = ok(&["plot", bd, "--out", figs.to_str().unwrap()]);
    check(
        &figs,
        &["energy.png", "power.png", "clusters.png", "snapshots.png"],
        &s,
    );
    assert!(!figs.join("kymograph.png").exists() && !b.join("plots").exists());

    let c = out_dir("pde");
    let cd = c.to_str().unwrap();
    ok(&[
        "pde",
        "--geometry",
        "circle",
        "--beta",
        "9",
        "--time",
        "scaled",
        "--t-end",
        "20",
        "--n-equiv",
        "1e4",
        "--lmax",
        "32",
        "--outputs",
        "12",
        "--out",
        cd,
    ]);
    let s = ok(&["plot", cd]);
    check(
        &c.join("plots"),
        &["energy.png", "power.png", "snapshots.png", "kymograph.png"],
        &s,
    );
    let z = out_dir("pde-sphere");
    let zd = z.to_str().unwrap();
    ok(&[
        "pde",
        "--geometry",
        "sphere",
        "--beta",
        "4",
        "--t-end",
        "0.02",
        "--lmax",
        "8",
        "--init-modes",
        "2:1:0.3",
        "--outputs",
        "5",
        "--out",
        zd,
    ]);
    let s = ok(&["plot", zd]);
    check(
        &z.join("plots"),
        &["energy.png", "power.png", "snapshots.png"],
        &s,
    );
}

#[test]
fn bad_run_directories_are_one_line_with_status_2() {
    refused(&["plot", "/nonexistent/attnflow-run"], &["not a directory"]);
    let empty = out_dir("empty");
    std::fs::create_dir_all(&empty).unwrap();
    refused(&["plot", empty.to_str().unwrap()], &["no run.json"]);
    // A run directory whose files are damaged.
    let d = out_dir("damaged");
    let dd = d.to_str().unwrap();
    ok(&[
        "particles",
        "--dim",
        "2",
        "--n",
        "50",
        "--beta",
        "4",
        "--series-points",
        "5",
        "--out",
        dd,
    ]);
    let x0 = d.join("x_000000.npy");
    let good = std::fs::read(&x0).unwrap();
    std::fs::write(&x0, b"garbage").unwrap();
    refused(&["plot", dd], &["x_000000.npy"]);
    std::fs::write(&x0, good).unwrap();
    std::fs::write(d.join("series.csv"), "t,tau,step\n0,0\n").unwrap();
    refused(&["plot", dd], &["series.csv", "row 1"]);
    std::fs::write(d.join("run.json"), "{\"schema\": 1}").unwrap();
    refused(&["plot", dd], &["run.json", "not a run record"]);
    // An experiment's directory: not a particles or pde run.
    let e = out_dir("experiment");
    let ed = e.to_str().unwrap();
    ok(&["compare", "staircase", "--preset", "gkpr", "--out", ed]);
    refused(&["plot", ed], &["compare.staircase", "particles or pde"]);
    refused(&["movie", ed], &["compare.staircase", "particles or pde"]);
}
