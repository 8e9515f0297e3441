//! Movies (`--movie`, `attnflow movie`): the GIF decodes (with the `gif` crate's decoder) into
//! one frame per saved state, frames differ and move, sizes stay small, the frame files of a
//! `--movie` run are the states at the diagnostics rows, and every bad request (mp4 without
//! ffmpeg, a format without --movie, a directory that is not a run) is one line with exit 2.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_attnflow")
}

fn out_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("attnflow-movie-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

/// Run attnflow with a PATH that holds no ffmpeg (an empty directory).
fn run(args: &[&str]) -> Output {
    let empty = std::env::temp_dir().join(format!("attnflow-movie-nopath-{}", std::process::id()));
    std::fs::create_dir_all(&empty).unwrap();
    Command::new(bin())
        .args(args)
        .env("PATH", &empty)
        .output()
        .unwrap()
}

fn ok(args: &[&str]) -> String {
    let o = run(args);
    assert!(
        o.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Exit status 2 and one line on stderr containing every `needle`; nothing on stdout.
fn refused(args: &[&str], needles: &[&str]) -> String {
    let o = run(args);
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
    assert!(!err.contains("panicked"), "{err}");
    for n in needles {
        assert!(err.contains(n), "{args:?}: {err:?} lacks {n:?}");
    }
    err
}

/// Decoded GIF: size, per-frame delays and the composited RGB image of every frame.
struct Decoded {
    width: usize,
    height: usize,
    delays: Vec<u16>,
    frames: Vec<Vec<u8>>,
}

fn decode(path: &Path) -> Decoded {
    let file = std::fs::File::open(path).unwrap();
    let mut opts = gif::DecodeOptions::new();
    opts.set_color_output(gif::ColorOutput::Indexed);
    let mut d = opts.read_info(file).unwrap();
    let (w, h) = (d.width() as usize, d.height() as usize);
    let palette = d.global_palette().unwrap().to_vec();
    let mut canvas = vec![255u8; w * h * 3];
    let (mut delays, mut frames) = (Vec::new(), Vec::new());
    while let Some(f) = d.read_next_frame().unwrap() {
        let (l, t, fw, fh) = (
            f.left as usize,
            f.top as usize,
            f.width as usize,
            f.height as usize,
        );
        assert!(l + fw <= w && t + fh <= h, "frame inside the canvas");
        for y in 0..fh {
            for x in 0..fw {
                let i = f.buffer[y * fw + x] as usize;
                let p = ((t + y) * w + l + x) * 3;
                canvas[p..p + 3].copy_from_slice(&palette[3 * i..3 * i + 3]);
            }
        }
        delays.push(f.delay);
        frames.push(canvas.clone());
    }
    Decoded {
        width: w,
        height: h,
        delays,
        frames,
    }
}

fn count(dir: &Path, prefix: &str) -> usize {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .filter(|e| {
            let n = e.file_name().to_string_lossy().into_owned();
            n.starts_with(prefix) && n.ends_with(".npy")
        })
        .count()
}

/// Fraction of pixels that differ between two RGB images.
fn changed(a: &[u8], b: &[u8]) -> f64 {
    let n = a.len() / 3;
    (0..n)
        .filter(|&i| a[3 * i..3 * i + 3] != b[3 * i..3 * i + 3])
        .count() as f64
        / n as f64
}

#[test]
fn particle_movie_on_the_circle_has_one_frame_per_row_and_decodes() {
    let dir = out_dir("circle");
    let d = dir.to_str().unwrap();
    let line = ok(&[
        "particles",
        "--dim",
        "2",
        "--n",
        "300",
        "--beta",
        "9",
        "--seed",
        "1",
        "--series-points",
        "40",
        "--movie",
        "--out",
        d,
    ]);
    assert!(line.contains("movie movie.gif (41 frames"), "{line}");
    // The frames are the states at the 41 row times, 300 tokens each (fewer than 1000).
    assert_eq!(count(&dir, "movie_"), 41);
    let first = attnflow::io::read_npy_f64(&dir.join("movie_000000.npy")).unwrap();
    let x0 = attnflow::io::read_npy_f64(&dir.join("x_000000.npy")).unwrap();
    assert_eq!(first.shape, vec![300, 2]);
    assert_eq!(first.data, x0.data, "frame 0 is the initial state");
    let gif = dir.join("movie.gif");
    let bytes = std::fs::metadata(&gif).unwrap().len();
    assert!(bytes < 1_500_000, "{bytes} bytes");
    let m = decode(&gif);
    assert_eq!(m.frames.len(), 41);
    assert_eq!((m.width, m.height), (480, 520));
    // 41 frames: 4 per second (the slowest rate), 25 hundredths each.
    assert!(m.delays.iter().all(|&d| d == 25), "{:?}", m.delays);
    // Frames differ: the tokens move, most between early frames, and the last frame is far
    // from the first (clusters formed).
    assert!(changed(&m.frames[0], &m.frames[40]) > 0.01);
    let moving = m
        .frames
        .windows(2)
        .take(20)
        .filter(|w| changed(&w[0], &w[1]) > 1e-4)
        .count();
    assert!(moving >= 18, "{moving} of 20 early frames change");
    // Re-made from the directory: the same GIF, byte for byte.
    let before = std::fs::read(&gif).unwrap();
    let out = ok(&["movie", d]);
    assert!(out.contains("41 frames"), "{out}");
    assert_eq!(std::fs::read(&gif).unwrap(), before);
    // The record lists the movie and its frames.
    let rec = std::fs::read_to_string(dir.join("run.json")).unwrap();
    assert!(rec.contains("\"movie.gif\"") && rec.contains("\"movie_000000.npy\""));
    assert!(rec.contains("\"movie\": true") && rec.contains("\"movie_format\": \"gif\""));
}

#[test]
fn movie_from_snapshots_of_a_sphere_run_and_from_pde_outputs() {
    // A run without --movie: `attnflow movie` uses its snapshots (save_every).
    let dir = out_dir("sphere");
    let d = dir.to_str().unwrap();
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
        "--save-every",
        "10",
        "--series-points",
        "10",
        "--out",
        d,
    ]);
    assert_eq!(count(&dir, "movie_"), 0);
    let snaps = count(&dir, "x_");
    assert!(snaps >= 3, "{snaps} snapshots");
    ok(&["movie", d]);
    let m = decode(&dir.join("movie.gif"));
    assert_eq!(m.frames.len(), snaps);
    // The view turns: even the first two frames differ.
    assert!(changed(&m.frames[0], &m.frames[1]) > 1e-3);

    // PDE on the circle: one frame per output.
    let p = out_dir("pde-circle");
    let pd = p.to_str().unwrap();
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
        "15",
        "--movie",
        "--out",
        pd,
    ]);
    let m = decode(&p.join("movie.gif"));
    assert_eq!(m.frames.len(), 15);
    assert_eq!((m.width, m.height), (640, 600));
    assert!(
        changed(&m.frames[0], &m.frames[14]) > 0.05,
        "kymograph fills up"
    );

    // PDE on S^2 with --movie: the default number of outputs becomes 121.
    let s = out_dir("pde-sphere");
    let sd = s.to_str().unwrap();
    let line = ok(&[
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
        "--movie",
        "--out",
        sd,
    ]);
    assert!(
        line.contains("121 outputs") && line.contains("121 frames"),
        "{line}"
    );
    let m = decode(&s.join("movie.gif"));
    assert_eq!(m.frames.len(), 121);
    assert!(std::fs::metadata(s.join("movie.gif")).unwrap().len() < 5_000_000);
}

#[test]
fn missing_ffmpeg_and_bad_requests_are_one_line() {
    let dir = out_dir("bad");
    let d = dir.to_str().unwrap();
    // mp4 without ffmpeg: refused before anything runs.
    refused(
        &[
            "particles",
            "--dim",
            "2",
            "--n",
            "50",
            "--beta",
            "4",
            "--movie",
            "--movie-format",
            "mp4",
            "--out",
            d,
        ],
        &["--movie-format", "ffmpeg", "not found"],
    );
    assert!(!dir.join("run.json").exists());
    refused(
        &[
            "particles",
            "--dim",
            "2",
            "--n",
            "50",
            "--beta",
            "4",
            "--movie-format",
            "gif",
            "--out",
            d,
        ],
        &["--movie-format", "--movie"],
    );
    refused(
        &[
            "pde",
            "--geometry",
            "circle",
            "--beta",
            "4",
            "--t-end",
            "1",
            "--init-modes",
            "1:0.1",
            "--movie",
            "--no-density",
            "--out",
            d,
        ],
        &["--no-density", "movie"],
    );
    // both: the GIF is written and one line says why there is no MP4.
    let o = run(&[
        "particles",
        "--dim",
        "2",
        "--n",
        "50",
        "--beta",
        "4",
        "--series-points",
        "8",
        "--movie",
        "--movie-format",
        "both",
        "--out",
        d,
    ]);
    assert!(o.status.success());
    let line = String::from_utf8_lossy(&o.stdout);
    assert!(line.contains("ffmpeg was not found"), "{line}");
    assert!(dir.join("movie.gif").is_file() && !dir.join("movie.mp4").exists());
    // attnflow movie: mp4 refused, both warns on stderr.
    refused(&["movie", d, "--format", "mp4"], &["--format", "ffmpeg"]);
    let o = run(&["movie", d, "--format", "both"]);
    assert!(o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("ffmpeg was not found on the PATH"), "{err}");
    // Not a run directory.
    refused(&["movie", "/nonexistent/attnflow"], &["not a directory"]);
    let empty = out_dir("empty");
    std::fs::create_dir_all(&empty).unwrap();
    refused(&["movie", empty.to_str().unwrap()], &["no run.json"]);
    // A run directory with a malformed frame.
    std::fs::write(dir.join("movie_000000.npy"), b"not an npy").unwrap();
    refused(&["movie", d], &["movie_000000.npy", "npy"]);
}
