//! The gallery (quick size) end to end, and the plotting helpers it relies on: every figure it
//! lists exists as a non-trivial PNG, index.html and README.md show every figure with its
//! caption, every experiment leaves its run.json; equal-area token histograms; typeset indices.

use attnflow::control::RunControl;
use attnflow::plot::chart::{sphere_histogram, subsample};
use std::path::{Path, PathBuf};
use std::process::Command;

fn out_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("attnflow-gallery-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

/// Width and height from a PNG's IHDR chunk.
fn png_size(path: &Path) -> (u32, u32) {
    let b = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(&b[..8], b"\x89PNG\r\n\x1a\n", "{} is a PNG", path.display());
    assert_eq!(&b[12..16], b"IHDR");
    let w = u32::from_be_bytes(b[16..20].try_into().unwrap());
    let h = u32::from_be_bytes(b[20..24].try_into().unwrap());
    (w, h)
}

#[test]
fn quick_gallery_writes_every_figure_with_captions_and_index() {
    let dir = out_dir("quick");
    let sections = attnflow::gallery::run(&dir, true, &RunControl::new()).unwrap();
    assert!(sections.len() >= 8, "{} sections", sections.len());
    assert!(attnflow::gallery::missing_figures(&dir, &sections).is_empty());
    let html = std::fs::read_to_string(dir.join("index.html")).unwrap();
    let md = std::fs::read_to_string(dir.join("README.md")).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>") && html.trim_end().ends_with("</html>"));
    // No network: nothing is loaded from another host.
    assert!(!html.contains("http://") && !html.contains("https://"));
    let mut figures = 0;
    for s in &sections {
        assert!(html.contains(&s.command.replace('&', "&amp;")));
        if s.experiment.spec.is_some() {
            let run = dir.join(s.experiment.dir).join("run.json");
            assert!(run.is_file(), "{} exists", run.display());
            assert!(s.command.starts_with("attnflow compare "));
        }
        assert!(!s.figures.is_empty(), "{} has figures", s.experiment.dir);
        for f in &s.figures {
            let p = dir.join(&f.file);
            if f.file.ends_with(".gif") {
                // A movie: decodes, many frames.
                let mut d = gif::DecodeOptions::new()
                    .read_info(std::fs::File::open(&p).unwrap())
                    .unwrap();
                let mut frames = 0;
                while d.read_next_frame().unwrap().is_some() {
                    frames += 1;
                }
                assert!(frames >= 100, "{}: {frames} frames", f.file);
                assert!(html.contains(&format!("src=\"{}\"", f.file)), "{}", f.file);
                figures += 1;
                continue;
            }
            let (w, h) = png_size(&p);
            assert!(w >= 500 && h >= 300, "{}: {w} x {h}", f.file);
            let len = std::fs::metadata(&p).unwrap().len();
            assert!(len > 15_000, "{} has content ({len} bytes)", f.file);
            assert!(html.contains(&format!("src=\"{}\"", f.file)), "{}", f.file);
            assert!(md.contains(&format!("]({})", f.file)), "{}", f.file);
            assert!(!f.caption.is_empty());
            figures += 1;
        }
    }
    assert!(figures >= 15, "{figures} figures");
    // The seed papers' figures are there.
    for f in [
        "reproduce/growth_rate_curve.png",
        "reproduce/beta5/trajectories.png",
        "reproduce/histogram_beta7.png",
        "reproduce/meanfield_profiles.png",
        "phase/phase_d2.png",
        "staircase/staircase.png",
        "pde_vs_particles_d2/kymograph.png",
        "pde_vs_particles_d3/sphere_maps.png",
    ] {
        assert!(dir.join(f).is_file(), "{f}");
    }
    // The reproduce figures are all in physical time t (no tau axis among them).
    let rep = std::fs::read_to_string(dir.join("reproduce/beta5/report.md")).unwrap();
    assert!(
        !rep.contains("τ = e^β t"),
        "reproduce/beta5 uses physical t"
    );
    // The default staircase of the gallery shows more than one merge.
    let data: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("staircase/data.json")).unwrap()).unwrap();
    let merges = data["result"]["merges"].as_array().unwrap().len();
    assert!(merges >= 2, "{merges} merges in the staircase");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn equal_area_histogram_of_uniform_points_is_one() {
    // Fibonacci points are uniform for the area measure: every equal-area cell holds the same
    // share, so the density w.r.t. the uniform probability measure is 1 everywhere.
    let m = 40_000;
    let golden = std::f64::consts::PI * (3.0 - 5f64.sqrt());
    let x: Vec<f64> = (0..m)
        .flat_map(|i| {
            let z = 1.0 - (2.0 * i as f64 + 1.0) / m as f64;
            let r = (1.0 - z * z).sqrt();
            let (s, c) = (golden * i as f64).sin_cos();
            [r * c, r * s, z]
        })
        .collect();
    let f = sphere_histogram(&x, 16, 8);
    for j in 0..8 {
        for i in 0..16 {
            let lon = -3.1 + 6.2 * (i as f64 + 0.5) / 16.0;
            let lat = (-1.0 + 2.0 * (j as f64 + 0.5) / 8.0f64).asin();
            let v = f(lon, lat);
            assert!((v - 1.0).abs() < 0.03, "cell ({i}, {j}): {v}");
        }
    }
    // All tokens at one point: a cell there is 16 * 8 / 9 (one cell of mass spread over
    // 3 x 3 cells), far cells 0.
    let pole: Vec<f64> = (0..100).flat_map(|_| [1.0, 0.0, 0.0]).collect();
    let g = sphere_histogram(&pole, 16, 8);
    assert!(
        (g(0.01, 0.01) - 128.0 / 9.0).abs() < 1e-9,
        "{}",
        g(0.01, 0.01)
    );
    assert_eq!(g(3.0, 0.0), 0.0);
}

#[test]
fn subsample_keeps_at_most_max_evenly() {
    let v: Vec<usize> = (0..64_000).collect();
    let s = subsample(&v, 400);
    assert!(s.len() <= 400 && s.len() >= 390, "{}", s.len());
    assert!(s.windows(2).all(|w| w[1] - w[0] == 160));
    assert_eq!(subsample(&v[..10], 400).len(), 10);
}

#[test]
fn report_figures_parse_markdown_images() {
    let md = "# T\n\n![Energy, β = 9](staircase.png)\n\n*Energy*\n\ntext ![x](y)\n";
    let f = attnflow::gallery::report_figures(md, "st");
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].file, "st/staircase.png");
    assert_eq!(f[0].caption, "Energy, β = 9");
}

#[test]
fn gallery_refuses_a_file_as_output_directory() {
    let dir = out_dir("file");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("plain.txt");
    std::fs::write(&file, "keep me").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_attnflow"))
        .args(["gallery", "--quick", "--out"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("plain.txt"), "{err}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "keep me");
    let _ = std::fs::remove_dir_all(&dir);
}
