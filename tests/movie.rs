//! Movies (`--movie`, `attnflow movie`): the GIF decodes (with the `gif` crate's decoder) into
//! one frame per saved state, frames differ and move, sizes stay small, the frame files of a
//! `--movie` run are the states at the diagnostics rows, and every bad request (mp4 without
//! ffmpeg, a format without --movie, a directory that is not a run) is one line with exit 2.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;

fn out_dir(name: &str) -> PathBuf {
    common::scratch("movie", name)
}

/// Run attnflow with a PATH that holds no ffmpeg (an empty directory).
fn run(args: &[&str]) -> Output {
    let empty = std::env::temp_dir().join(format!("attnflow-movie-nopath-{}", std::process::id()));
    std::fs::create_dir_all(&empty).unwrap();
    common::attnflow()
        .args(args)
        .env("PATH", &empty)
        .output()
        .unwrap()
}

fn ok(args: &[&str]) -> String {
    common::assert_success(args, &run(args))
}

/// Exit status 2 and one line on stderr containing every `needle`; nothing on stdout.
fn refused(args: &[&str], needles: &[&str]) -> String {
    common::assert_refusal(args, &run(args), needles)
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
    // The frames are the states at the 41 row times, 300 tokens each (fewer than 1000), in
    // one array file (no per-frame files).
    assert_eq!(count(&dir, "movie_"), 0);
    let frames = attnflow::io::read_npy_f64(&dir.join("movie.npy")).unwrap();
    let x0 = attnflow::io::read_npy_f64(&dir.join("x_000000.npy")).unwrap();
    assert_eq!(frames.shape, vec![41, 300, 2]);
    assert_eq!(
        frames.data[..600],
        x0.data[..],
        "frame 0 is the initial state"
    );
    let (cols, index) = attnflow::run::outdir::read_table(&dir.join("movie.csv")).unwrap();
    assert_eq!(cols, ["row", "step", "t", "tau"]);
    assert_eq!(index.len(), 41);
    assert!(index.iter().enumerate().all(|(k, r)| r[0] == k as f64));
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
    assert!(rec.contains("\"movie.gif\"") && rec.contains("\"movie.npy\""));
    assert!(rec.contains("\"movie.csv\""));
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
    assert_eq!(count(&dir, "movie"), 0);
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
    // A run directory with a malformed movie file, a movie file of the wrong shape, a missing
    // index; a malformed frame of the per-frame layout of earlier versions.
    let good = std::fs::read(dir.join("movie.npy")).unwrap();
    std::fs::write(dir.join("movie.npy"), b"not an npy").unwrap();
    refused(&["movie", d], &["movie.npy", "npy"]);
    attnflow::io::write_npy_f64(&dir.join("movie.npy"), &[2, 50, 3], &[0.0; 300]).unwrap();
    refused(&["movie", d], &["movie.npy", "shape [2, 50, 3]"]);
    std::fs::write(dir.join("movie.npy"), &good).unwrap();
    std::fs::rename(dir.join("movie.csv"), dir.join("index.bak")).unwrap();
    refused(&["movie", d], &["movie.csv"]);
    std::fs::remove_file(dir.join("movie.npy")).unwrap();
    std::fs::write(dir.join("movie_000000.npy"), b"not an npy").unwrap();
    refused(&["movie", d], &["movie_000000.npy", "npy"]);
}

/// `--movie` on the circle with a state saved at every step (`--save-every 1`): each frame of
/// movie.npy equals the snapshot x_<step>.npy at its step (written by the snapshot path, not
/// the movie path; to rounding where tokens merge), its index row matches the row of series.csv with that step, and the
/// frames are at the row times 0, 1, 2, ... (fewer than 300 rows: every row is a frame).
#[test]
fn movie_frames_are_the_states_at_the_rows() {
    let dir = out_dir("rows");
    let d = dir.to_str().unwrap();
    ok(&[
        "particles",
        "--dim",
        "2",
        "--n",
        "40",
        "--beta",
        "4",
        "--seed",
        "3",
        "--series-points",
        "12",
        "--save-every",
        "1",
        "--movie",
        "--out",
        d,
    ]);
    let frames = attnflow::io::read_npy_f64(&dir.join("movie.npy")).unwrap();
    assert_eq!(frames.shape, vec![13, 40, 2]);
    let (_, index) = attnflow::run::outdir::read_table(&dir.join("movie.csv")).unwrap();
    let (cols, series) = attnflow::run::outdir::read_table(&dir.join("series.csv")).unwrap();
    let col = |n: &str| cols.iter().position(|c| c == n).unwrap();
    assert_eq!(index.len(), 13);
    for (k, r) in index.iter().enumerate() {
        assert_eq!(r[0], k as f64, "frame {k} is row time {k}");
        let step = r[1] as usize;
        let x = attnflow::io::read_npy_f64(&dir.join(format!("x_{step:06}.npy"))).unwrap();
        assert_eq!(x.shape, vec![40, 2]);
        // Equal up to rounding: at a step where coincident tokens merge, the snapshot is taken
        // inside the step loop, before the merge; the row (and its frame) after it.
        let diff = frames.data[k * 80..(k + 1) * 80]
            .iter()
            .zip(&x.data)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        assert!(
            diff < 1e-12,
            "frame {k} (step {step}) is the snapshot at its step: differs by {diff:e}"
        );
        if k == 0 {
            assert_eq!(
                frames.data[..80],
                x.data[..],
                "frame 0 is the initial state"
            );
        }
        let row = series
            .iter()
            .find(|s| s[col("step")] == step as f64)
            .unwrap_or_else(|| panic!("no row of series.csv at step {step}"));
        assert_eq!((row[col("t")], row[col("tau")]), (r[2], r[3]));
    }
}

/// A `--movie` run interrupted (a stop request half way, plus a frame written after its
/// checkpoint as by a process killed between a frame and the next checkpoint) and resumed
/// gives the same movie.npy and movie.csv, byte for byte, as the uninterrupted run.
#[test]
fn interrupted_and_resumed_movie_equals_the_uninterrupted_one() {
    use attnflow::control::RunControl;
    use attnflow::run;
    let spec = movie_spec;
    let (a, b) = (out_dir("resume-a"), out_dir("resume-b"));
    run::execute(&spec(&a), &RunControl::new(), false).unwrap();
    let ctl = RunControl::new();
    let flag = ctl.stop_flag().clone();
    let ctl = ctl.with_progress(Box::new(move |f, _| {
        if f >= 0.5 {
            flag.request();
        }
    }));
    let e = run::execute(&spec(&b), &ctl, false).unwrap_err();
    assert!(matches!(e, attnflow::Error::Interrupted(_)), "{e}");
    let done = attnflow::io::read_npy_f64(&b.join("movie.npy"))
        .unwrap()
        .shape[0];
    assert!((1..31).contains(&done), "{done} frames before the stop");
    // A frame (and its index line) written after the checkpoint: dropped on resume.
    let mut f = attnflow::io::NpyFrames::reopen(&b.join("movie.npy"), &[60, 3], done).unwrap();
    f.append(&[0.25; 180]).unwrap();
    drop(f);
    let mut idx = std::fs::OpenOptions::new()
        .append(true)
        .open(b.join("movie.csv"))
        .unwrap();
    std::io::Write::write_all(&mut idx, format!("{done},999999,1,1\n").as_bytes()).unwrap();
    drop(idx);
    assert_eq!(
        attnflow::io::read_npy_f64(&b.join("movie.npy"))
            .unwrap()
            .shape[0],
        done + 1
    );
    run::resume(&b, &RunControl::new()).unwrap();
    for f in ["movie.npy", "movie.csv", "movie.gif", "series.csv"] {
        assert!(
            std::fs::read(a.join(f)).unwrap() == std::fs::read(b.join(f)).unwrap(),
            "{f} differs after interrupt and resume"
        );
    }
    assert_eq!(
        attnflow::io::read_npy_f64(&b.join("movie.npy"))
            .unwrap()
            .shape,
        vec![31, 60, 3]
    );
}

/// A small `--movie` run on S² (31 row times, every one a frame) into `out`.
fn movie_spec(out: &Path) -> attnflow::run::RunSpec {
    let text =
        "[particles]\ndim = 3\nn = 60\nbeta = 4\nseed = 5\nseries_points = 30\nmovie = true\n";
    let mut s = attnflow::run::parse_config(Path::new("movie.toml"), text, false).unwrap();
    *s.out_mut() = Some(out.to_path_buf());
    s
}

/// A directory in the per-frame layout of earlier versions (`movie_<step>.npy`, no movie.npy)
/// is still read and continued: an interrupted run whose frames are rewritten in that layout,
/// then resumed, goes on writing per-frame files; they hold the frames of the uninterrupted
/// run, its GIF is the same, and `attnflow movie` and `attnflow plot` read the directory.
#[test]
fn per_frame_layout_of_earlier_versions_is_still_read() {
    use attnflow::control::RunControl;
    use attnflow::run;
    let (a, b) = (out_dir("old-a"), out_dir("old-b"));
    run::execute(&movie_spec(&a), &RunControl::new(), false).unwrap();
    let ctl = RunControl::new();
    let flag = ctl.stop_flag().clone();
    let ctl = ctl.with_progress(Box::new(move |f, _| {
        if f >= 0.4 {
            flag.request();
        }
    }));
    run::execute(&movie_spec(&b), &ctl, false).unwrap_err();
    // Rewrite b's frames in the old layout: one file per frame, named by its step.
    let frames = attnflow::io::read_npy_f64(&b.join("movie.npy")).unwrap();
    let (_, index) = attnflow::run::outdir::read_table(&b.join("movie.csv")).unwrap();
    assert!(
        !index.is_empty() && index.len() < 31,
        "{} frames",
        index.len()
    );
    for (k, r) in index.iter().enumerate() {
        attnflow::io::write_npy_f64(
            &b.join(format!("movie_{:06}.npy", r[1] as usize)),
            &[60, 3],
            &frames.data[k * 180..(k + 1) * 180],
        )
        .unwrap();
    }
    std::fs::remove_file(b.join("movie.npy")).unwrap();
    std::fs::remove_file(b.join("movie.csv")).unwrap();
    run::resume(&b, &RunControl::new()).unwrap();
    assert!(!b.join("movie.npy").exists() && !b.join("movie.csv").exists());
    assert_eq!(count(&b, "movie_"), 31);
    let all = attnflow::io::read_npy_f64(&a.join("movie.npy")).unwrap();
    let (_, steps) = attnflow::run::outdir::read_table(&a.join("movie.csv")).unwrap();
    for (k, r) in steps.iter().enumerate() {
        let x =
            attnflow::io::read_npy_f64(&b.join(format!("movie_{:06}.npy", r[1] as usize))).unwrap();
        assert_eq!(x.shape, vec![60, 3]);
        assert_eq!(x.data[..], all.data[k * 180..(k + 1) * 180], "frame {k}");
    }
    let gif = std::fs::read(a.join("movie.gif")).unwrap();
    assert_eq!(std::fs::read(b.join("movie.gif")).unwrap(), gif);
    let bd = b.to_str().unwrap();
    std::fs::remove_file(b.join("movie.gif")).unwrap();
    let out = ok(&["movie", bd]);
    assert!(out.contains("31 frames"), "{out}");
    assert_eq!(std::fs::read(b.join("movie.gif")).unwrap(), gif);
    ok(&["plot", bd]);
}

/// A stand-in `ffmpeg` (a shell script) in an otherwise empty PATH: it records its arguments and
/// copies its standard input (the raw frames) to its last argument, or fails with a message.
fn fake_ffmpeg(name: &str, fail: bool) -> PathBuf {
    let bin = out_dir(name).with_extension("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let script = bin.join("ffmpeg");
    let body = if fail {
        "#!/bin/sh\n/bin/cat > /dev/null\necho 'Unknown encoder libx264' >&2\nexit 1\n".to_string()
    } else {
        format!(
            "#!/bin/sh\nfor a; do last=$a; done\nprintf '%s\\n' \"$@\" > {}\n/bin/cat > \"$last\"\n",
            bin.join("args.txt").display()
        )
    };
    std::fs::write(&script, body).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    bin
}

/// The MP4 route without a real ffmpeg: the frames piped to `ffmpeg -f rawvideo` are the GIF's
/// frames (same size, same count, same pictures up to the GIF's 256-colour palette), with the
/// declared size, pixel format and rate; a failing ffmpeg is one line, non-zero exit, and leaves
/// neither movie.mp4 nor its temporary file.
#[test]
fn mp4_frames_are_piped_raw_to_ffmpeg() {
    let bin = fake_ffmpeg("fake-ok", false);
    let dir = out_dir("mp4");
    let d = dir.to_str().unwrap();
    let args = [
        "particles",
        "--dim",
        "2",
        "--n",
        "60",
        "--beta",
        "4",
        "--seed",
        "3",
        "--movie",
        "--movie-format",
        "both",
        "--out",
        d,
    ];
    let o = common::attnflow()
        .args(args)
        .env("PATH", &bin)
        .output()
        .unwrap();
    common::assert_success(&args, &o);
    let gif = decode(&dir.join("movie.gif"));
    let raw = std::fs::read(dir.join("movie.mp4")).unwrap();
    let frame = gif.width * gif.height * 3;
    assert_eq!(
        raw.len(),
        frame * gif.frames.len(),
        "one raw RGB frame per GIF frame"
    );
    let argv = std::fs::read_to_string(bin.join("args.txt")).unwrap();
    let argv: Vec<&str> = argv.lines().collect();
    let after = |flag: &str| argv[argv.iter().position(|a| *a == flag).unwrap() + 1];
    assert_eq!(after("-f"), "rawvideo");
    assert_eq!(after("-pix_fmt"), "rgb24");
    assert_eq!(after("-s"), format!("{}x{}", gif.width, gif.height));
    let fps: f64 = after("-r").parse().unwrap();
    let gif_fps = 100.0 / gif.delays[0] as f64;
    assert!(
        (fps - gif_fps).abs() < 0.05 * gif_fps,
        "rate {fps} vs GIF {gif_fps}"
    );
    assert!(
        argv.last().unwrap().contains(".movie.mp4.tmp"),
        "written to a temporary file"
    );
    for (k, g) in gif.frames.iter().enumerate().step_by(37) {
        let r = &raw[k * frame..(k + 1) * frame];
        let diff: Vec<i32> = r
            .iter()
            .zip(g)
            .map(|(a, b)| (*a as i32 - *b as i32).abs())
            .collect();
        let mean = diff.iter().sum::<i32>() as f64 / diff.len() as f64;
        assert!(
            mean < 4.0 && *diff.iter().max().unwrap() <= 48,
            "frame {k}: mean {mean}"
        );
    }
    assert!(
        changed(&raw[..frame], &raw[raw.len() - frame..]) > 0.001,
        "the movie moves"
    );
    // A failing ffmpeg: one line naming it, non-zero exit, nothing left behind.
    let bad = fake_ffmpeg("fake-fail", true);
    std::fs::remove_file(dir.join("movie.mp4")).unwrap();
    let args = ["movie", d, "--format", "mp4"];
    let o = common::attnflow()
        .args(args)
        .env("PATH", &bad)
        .output()
        .unwrap();
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(
        err.contains("ffmpeg failed") && err.contains("Unknown encoder"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
    assert!(!dir.join("movie.mp4").exists());
    let leftovers = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().contains(".tmp"))
        .count();
    assert_eq!(leftovers, 0, "temporary file removed");
}
