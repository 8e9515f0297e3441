//! The interactive viewer (`attnflow view`, `OUT/view.html`): the page is self-contained, its
//! embedded data match the run's own files (snapshots, token coordinates, cluster counts, PDE
//! mass), the caps hold, completed runs write it, and bad OUT is refused without damage.
//! The page in a real browser: scripts/browser_check.sh.

use attnflow::control::RunControl;
use attnflow::io::read_npy_f64;
use attnflow::run::outdir::read_table;
use attnflow::run::{self, parse_config, RunSpec};
use attnflow::view::{self, ViewOptions};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("attnflow-view-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn run_config(text: &str, out: &Path) {
    let mut s: RunSpec = parse_config(Path::new("test.toml"), text, false).unwrap();
    *s.out_mut() = Some(out.to_path_buf());
    let o = run::execute(&s, &RunControl::new(), false).unwrap();
    assert!(o.summary.contains("view.html"), "{}", o.summary);
}

fn page(path: &Path) -> (String, Value) {
    let html = std::fs::read_to_string(path).unwrap();
    let data = view::embedded_data(&html).expect("embedded JSON parses");
    (html, data)
}

/// No network: nothing fetched from anywhere, no external script, style sheet or font.
fn assert_self_contained(html: &str) {
    let lower = html.to_lowercase();
    for bad in [
        "http://",
        "https://",
        "<script src",
        "<link",
        "@import",
        "url(",
    ] {
        assert!(!lower.contains(bad), "the page contains {bad:?}");
    }
    assert!(lower.starts_with("<!doctype html>"));
    assert!(html.contains("id=\"frame-index\"") && html.contains("id=\"errors\""));
}

/// `(step, t, tau)` rows of snapshots.csv (system 0).
fn snapshots(dir: &Path) -> Vec<Vec<f64>> {
    let (h, rows) = read_table(&dir.join("snapshots.csv")).unwrap();
    if h[0] == "system" {
        rows.into_iter()
            .filter(|r| r[0] == 0.0)
            .map(|r| r[1..].to_vec())
            .collect()
    } else {
        rows
    }
}

const SPHERE_RUN: &str =
    "[particles]\ndim = 3\nn = 240\nbeta = 4.0\nseed = 1\nsave_every = 8\nseries_points = 40\n";

#[test]
fn particle_run_on_the_sphere_writes_a_self_contained_page_matching_its_files() {
    let out = scratch("s2");
    run_config(SPHERE_RUN, &out);
    let (html, data) = page(&out.join("view.html"));
    assert_self_contained(&html);
    assert_eq!(data["schema"], "attnflow-view/1");
    assert_eq!(data["kind"], "particles");
    assert_eq!(data["status"], "completed");
    assert!(
        data["spec"].get("out").is_none(),
        "the page does not depend on OUT"
    );
    // One frame per saved snapshot (below the cap), with the snapshot's step and times.
    let snaps = snapshots(&out);
    assert!(
        snaps.len() >= 3 && snaps.len() <= view::DEFAULT_MAX_FRAMES,
        "{}",
        snaps.len()
    );
    let frames = data["frames"].as_array().unwrap();
    assert_eq!(frames.len(), snaps.len());
    let tok = &data["tokens"];
    assert_eq!(tok["dim"], 3);
    assert_eq!(tok["total"], 240);
    assert_eq!(tok["shown"], 240);
    assert_eq!(tok["coords"], 3);
    assert_eq!(tok["projected"], false);
    let scale = data["caps"]["coord_scale"].as_f64().unwrap();
    for (k, f) in frames.iter().enumerate() {
        let step = f["step"].as_u64().unwrap() as usize;
        assert_eq!(step as f64, snaps[k][0]);
        assert_eq!(f["tau"].as_f64().unwrap(), snaps[k][2]);
        // The drawn coordinates are the snapshot's, to the stored precision 1e-3.
        let x = read_npy_f64(&out.join(format!("x_{step:06}.npy"))).unwrap();
        let xs = tok["x"][k].as_array().unwrap();
        assert_eq!(xs.len(), 240 * 3);
        let err = xs
            .iter()
            .zip(&x.data)
            .map(|(a, b)| (a.as_f64().unwrap() / scale - b).abs())
            .fold(0.0, f64::max);
        assert!(err <= 0.5 / scale + 1e-12, "frame {k}: {err}");
        assert_eq!(tok["colour"][k].as_array().unwrap().len(), 240);
    }
    // Cluster colours: the final frame has as many clusters as the run found at the end
    // (run.json, computed by the run itself), and every clustered token has a colour.
    let rec: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("run.json")).unwrap()).unwrap();
    let final_sizes = rec["results"]["final_cluster_sizes"][0].as_array().unwrap();
    let last = frames.last().unwrap();
    assert_eq!(
        last["clusters"].as_u64().unwrap() as usize,
        final_sizes.len()
    );
    assert!(!final_sizes.is_empty(), "the test run should cluster");
    let colours = tok["colour"][frames.len() - 1].as_array().unwrap();
    let distinct: std::collections::BTreeSet<i64> = colours
        .iter()
        .map(|c| c.as_i64().unwrap())
        .filter(|&c| c >= 0)
        .collect();
    assert_eq!(distinct.len(), final_sizes.len());
    let clustered = colours.iter().filter(|c| c.as_i64().unwrap() >= 0).count();
    let total: u64 = final_sizes.iter().map(|s| s.as_u64().unwrap()).sum();
    assert_eq!(clustered as u64, total);
    // The series: every column of series.csv, rows (below the cap) as in the file.
    let (h, rows) = read_table(&out.join("series.csv")).unwrap();
    let cols: Vec<String> = data["series"]["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_string())
        .collect();
    assert_eq!(cols, h);
    assert_eq!(data["series"]["rows"].as_array().unwrap().len(), rows.len());
    // The run record lists the page; `attnflow view` writes the same bytes again.
    assert!(rec["files"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f == "view.html"));
    let again = scratch("s2-again.html");
    view::write_view(&out, Some(&again), &ViewOptions::default()).unwrap();
    assert_eq!(
        std::fs::read(&again).unwrap(),
        std::fs::read(out.join("view.html")).unwrap()
    );
}

#[test]
fn caps_on_frames_and_tokens_hold() {
    let out = scratch("caps");
    run_config(SPHERE_RUN, &out);
    let snaps = snapshots(&out);
    let opts = ViewOptions {
        max_frames: 4,
        max_tokens: 50,
    };
    let data = view::view_data(&out, &opts).unwrap();
    let frames = data["frames"].as_array().unwrap();
    assert_eq!(frames.len(), 4);
    // First and last snapshots kept, increasing steps.
    assert_eq!(frames[0]["step"].as_f64().unwrap(), snaps[0][0]);
    assert_eq!(
        frames[3]["step"].as_f64().unwrap(),
        snaps.last().unwrap()[0]
    );
    let steps: Vec<u64> = frames.iter().map(|f| f["step"].as_u64().unwrap()).collect();
    assert!(steps.windows(2).all(|w| w[0] < w[1]), "{steps:?}");
    assert_eq!(data["tokens"]["shown"], 50);
    assert_eq!(data["tokens"]["total"], 240);
    for k in 0..4 {
        assert_eq!(data["tokens"]["x"][k].as_array().unwrap().len(), 150);
        assert_eq!(data["tokens"]["colour"][k].as_array().unwrap().len(), 50);
    }
    let notes = data["notes"].to_string();
    assert!(
        notes.contains("4 of the") && notes.contains("50 of the 240 tokens"),
        "{notes}"
    );
    // Size: the page of the default caps stays small for this run.
    let bytes = std::fs::metadata(out.join("view.html")).unwrap().len();
    assert!(bytes < 1_000_000, "{bytes} bytes");
    // Zero caps are refused.
    let e = view::view_data(
        &out,
        &ViewOptions {
            max_frames: 0,
            max_tokens: 5,
        },
    )
    .unwrap_err();
    assert!(e.to_string().contains("max_frames"), "{e}");
}

#[test]
fn circle_and_higher_dimensions() {
    let out = scratch("circle");
    run_config(
        "[particles]\ndim = 2\nn = 150\nbeta = 9.0\nsave_every = 10\nseries_points = 20\n",
        &out,
    );
    let (html, data) = page(&out.join("view.html"));
    assert_self_contained(&html);
    assert_eq!(data["tokens"]["coords"], 2);
    let nf = data["frames"].as_array().unwrap().len();
    assert_eq!(nf, snapshots(&out).len());
    for k in 0..nf {
        let xs = data["tokens"]["x"][k].as_array().unwrap();
        assert_eq!(xs.len(), 300);
        // Unit vectors, to the stored precision.
        for p in xs.chunks(2) {
            let (a, b) = (p[0].as_f64().unwrap() / 1e3, p[1].as_f64().unwrap() / 1e3);
            assert!(((a * a + b * b).sqrt() - 1.0).abs() < 2e-3);
        }
    }
    // d = 5: the first three coordinates, and the page says so.
    let out5 = scratch("d5");
    run_config(
        "[particles]\ndim = 5\nn = 60\nbeta = 2.0\ntime = \"scaled\"\nt_end = 1.0\nseries_points = 5\n",
        &out5,
    );
    let (_, d5) = page(&out5.join("view.html"));
    assert_eq!(d5["tokens"]["coords"], 3);
    assert_eq!(d5["tokens"]["projected"], true);
    assert_eq!(d5["tokens"]["x"][0].as_array().unwrap().len(), 180);
    assert!(d5["notes"].to_string().contains("first three coordinates"));
    let x0 = read_npy_f64(&out5.join("x_000000.npy")).unwrap();
    let xs = d5["tokens"]["x"][0].as_array().unwrap();
    for i in 0..60 {
        for q in 0..3 {
            let v = xs[3 * i + q].as_f64().unwrap() / 1e3;
            assert!((v - x0.data[5 * i + q]).abs() <= 5e-4 + 1e-12);
        }
    }
}

/// Mass of a page's density frame: sum of bin averages times the bins' measure, against the
/// solver's own `mass` column of series.csv.
#[test]
fn pde_pages_carry_the_density_with_its_mass() {
    let cases = [
        (
            "circle",
            "[pde]\ngeometry = \"circle\"\nbeta = 9.0\ntime = \"scaled\"\nt_end = 6.0\nlmax = 32\nn_equiv = 1000.0\nseed = 2\noutputs = 7\n",
        ),
        (
            "sphere",
            "[pde]\ngeometry = \"sphere\"\nbeta = 4.0\nmodel = \"sa\"\nt_end = 1.0\nlmax = 16\ninit_modes = \"1:1:0.3,2:-2:0.2\"\noutputs = 5\n",
        ),
        (
            "zonal",
            "[pde]\ngeometry = \"zonal\"\ndim = 3\nbeta = 4.0\ntime = \"scaled\"\nt_end = 2.0\nlmax = 24\ninit_modes = \"2:0:0.3\"\noutputs = 4\n",
        ),
    ];
    for (name, cfg) in cases {
        let out = scratch(&format!("pde-{name}"));
        run_config(cfg, &out);
        let (html, data) = page(&out.join("view.html"));
        assert_self_contained(&html);
        assert_eq!(data["kind"], "pde");
        let (h, rows) = read_table(&out.join("series.csv")).unwrap();
        let mass_col = h.iter().position(|c| c == "mass").unwrap();
        let frames = data["frames"].as_array().unwrap();
        assert_eq!(frames.len(), rows.len(), "{name}: one frame per output");
        let dens = &data["density"];
        assert_eq!(dens["geometry"], name);
        for (k, f) in dens["frames"].as_array().unwrap().iter().enumerate() {
            let vals: Vec<f64> = f["values"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_f64().unwrap())
                .collect();
            let e = |key: &str| -> Vec<f64> {
                f[key]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_f64().unwrap())
                    .collect()
            };
            let mass = match name {
                "circle" => {
                    let edges = e("edges");
                    assert_eq!(edges.len(), vals.len() + 1);
                    vals.iter()
                        .zip(edges.windows(2))
                        .map(|(v, w)| v * (w[1] - w[0]) / (2.0 * std::f64::consts::PI))
                        .sum::<f64>()
                }
                "zonal" => {
                    // d = 3: the uniform probability measure of t = cos(theta) is dt / 2.
                    let edges = e("edges_t");
                    vals.iter()
                        .zip(edges.windows(2))
                        .map(|(v, w)| v * (w[1] - w[0]) / 2.0)
                        .sum::<f64>()
                }
                _ => {
                    let (ez, el) = (e("edges_z"), e("edges_lon"));
                    let nlon = f["nlon"].as_u64().unwrap() as usize;
                    assert_eq!(vals.len(), (ez.len() - 1) * nlon);
                    let mut m = 0.0;
                    for (b, wz) in ez.windows(2).enumerate() {
                        for (c, wl) in el.windows(2).enumerate() {
                            m += vals[b * nlon + c] * (wz[1] - wz[0]) / 2.0 * (wl[1] - wl[0])
                                / (2.0 * std::f64::consts::PI);
                        }
                    }
                    m
                }
            };
            let want = rows[k][mass_col];
            let tol = if name == "circle" { 1e-3 } else { 2e-2 };
            assert!(
                (mass - want).abs() < tol,
                "{name} frame {k}: {mass} vs {want}"
            );
            assert!(f["max"].as_f64().unwrap() >= f["min"].as_f64().unwrap());
        }
    }
}

#[test]
fn bad_out_is_refused_in_one_line_and_nothing_is_damaged() {
    let exe = env!("CARGO_BIN_EXE_attnflow");
    let base = scratch("bad");
    std::fs::create_dir_all(&base).unwrap();
    // Missing directory, a file, a directory without a run record.
    let file = base.join("notes.txt");
    std::fs::write(&file, b"mine").unwrap();
    let empty = base.join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    std::fs::write(empty.join("keep.txt"), b"keep").unwrap();
    for (dir, what) in [
        (base.join("missing"), "does not exist"),
        (file.clone(), "not a directory"),
        (empty.clone(), "no run.json"),
    ] {
        let o = Command::new(exe).arg("view").arg(&dir).output().unwrap();
        assert_eq!(o.status.code(), Some(2), "{dir:?}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
        assert!(err.contains("OUT must be") && err.contains(what), "{err}");
        assert!(!err.contains("panicked"), "{err}");
    }
    assert_eq!(std::fs::read(&file).unwrap(), b"mine");
    let left: Vec<_> = std::fs::read_dir(&empty).unwrap().collect();
    assert_eq!(
        left.len(),
        1,
        "nothing written into a directory that is not a run"
    );
    // --out naming a directory: refused, nothing written there.
    let out = scratch("bad-run");
    run_config(
        "[particles]\ndim = 2\nn = 40\nbeta = 4.0\ntime = \"scaled\"\nt_end = 1.0\nseries_points = 4\n",
        &out,
    );
    let before = std::fs::read(out.join("view.html")).unwrap();
    let o = Command::new(exe)
        .arg("view")
        .arg(&out)
        .arg("--out")
        .arg(&empty)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(std::fs::read_dir(&empty).unwrap().count(), 1);
    // --max-frames 0: one line, exit 2, the page untouched.
    let o = Command::new(exe)
        .arg("view")
        .arg(&out)
        .args(["--max-frames", "0"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("--max-frames") && err.trim_end().lines().count() == 1,
        "{err}"
    );
    assert_eq!(std::fs::read(out.join("view.html")).unwrap(), before);
    // A good call rewrites it (atomically: no temporary left behind).
    let o = Command::new(exe).arg("view").arg(&out).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stdout).contains("view.html"));
    assert!(std::fs::read_dir(&out).unwrap().all(|e| !e
        .unwrap()
        .file_name()
        .to_string_lossy()
        .contains(".tmp-")));
}
