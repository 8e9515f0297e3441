//! Movies of particle and PDE runs: `OUT/movie.gif` (pure Rust: frames rendered by plotters
//! into an RGB buffer, quantised to a fixed 256-colour palette, LZW-encoded by the `gif`
//! crate, each frame stored as the rectangle that changed) and `OUT/movie.mp4` through
//! `ffmpeg` when it is installed (raw RGB frames piped to `ffmpeg -f rawvideo`).
//!
//! What is shown:
//! - tokens on the circle (d = 2): every token at its angle, radially spread a little so that
//!   clusters show their mass, with fading trails of the previous frames;
//! - tokens on S² (d = 3): an orthographic view turning once about the vertical axis over the
//!   movie, front hemisphere in full colour, back hemisphere faded; for d > 3 the orthographic
//!   view of the first three coordinates;
//! - PDE density on the circle (and zonal densities against the polar angle): the profile
//!   `ρ(θ)` above, the kymograph building up below;
//! - PDE density on S²: the equal-area (Hammer) map with a fixed colour range.
//!
//! Frames are the run's states in time order (at most [`MAX_FRAMES`], evenly subsampled),
//! shown at a rate that makes the movie about [`MOVIE_SECONDS`] long (between 4 and 12.5
//! frames per second).

use super::chart::{colormap, palette, sphere_map, tick_text, Axis, Heatmap};
use super::rundir::{DensityFrame, RunDir, RunKind, TokenFrame};
use super::{draw_error, register_fonts, typeset, FONT};
use crate::spectral::Geometry;
use crate::{Error, Result};
use plotters::prelude::*;
use std::path::{Path, PathBuf};

/// Output format of a movie.
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    serde::Serialize,
    serde::Deserialize,
    clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum MovieFormat {
    /// Animated GIF, written in pure Rust (no external program).
    #[default]
    Gif,
    /// MP4 through ffmpeg (must be installed).
    Mp4,
    /// Both.
    Both,
}

impl MovieFormat {
    fn gif(self) -> bool {
        matches!(self, MovieFormat::Gif | MovieFormat::Both)
    }
    fn mp4(self) -> bool {
        matches!(self, MovieFormat::Mp4 | MovieFormat::Both)
    }
}

/// Largest number of frames of a movie (longer runs are subsampled evenly).
pub const MAX_FRAMES: usize = 300;
/// Target length of a movie in seconds (frame rate between 4 and 12.5 per second).
pub const MOVIE_SECONDS: f64 = 20.0;
/// Largest number of tokens drawn (and saved per movie frame by `movie = true`).
pub const MOVIE_TOKENS: usize = 1000;
/// Number of PDE outputs when `movie = true` and `outputs` is not given.
pub const PDE_MOVIE_OUTPUTS: usize = 121;
/// Trail length of tokens on the circle, in frames.
const TRAIL: usize = 6;

/// `ffmpeg` on the `PATH`, if any.
pub fn find_ffmpeg() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join("ffmpeg"))
        .find(|p| p.is_file())
}

/// The line said when ffmpeg is missing and an MP4 was asked for.
pub const FFMPEG_MISSING: &str = "ffmpeg was not found on the PATH: no movie.mp4 (install ffmpeg, or use the GIF: movie_format = gif)";

/// Check up front that `format` can be written: `mp4` without ffmpeg is refused (naming
/// `name`, the field or flag); `both` without ffmpeg gives a note (the GIF is still written).
pub fn check_format(name: &str, format: MovieFormat) -> Result<Option<String>> {
    if format.mp4() && find_ffmpeg().is_none() {
        if format == MovieFormat::Mp4 {
            return Err(Error::parameter(
                name,
                "mp4",
                "gif or both: mp4 needs ffmpeg, which was not found on the PATH",
            ));
        }
        return Ok(Some(FFMPEG_MISSING.to_string()));
    }
    Ok(None)
}

/// Resolve the `movie` and `movie_format` fields of a run specification: `movie` defaults to
/// false, `movie_format` to gif and is accepted only with `movie = true`; mp4 needs ffmpeg.
pub fn resolve_movie(
    movie: Option<bool>,
    format: Option<MovieFormat>,
) -> Result<(bool, Option<MovieFormat>)> {
    let movie = movie.unwrap_or(false);
    match (movie, format) {
        (false, Some(f)) => Err(Error::parameter(
            "movie_format",
            format!("{f:?}").to_lowercase(),
            "a format only with movie = true (--movie)",
        )),
        (false, None) => Ok((false, None)),
        (true, f) => {
            let f = f.unwrap_or_default();
            check_format("movie_format", f)?;
            Ok((true, Some(f)))
        }
    }
}

/// What [`write_movie`] wrote.
#[derive(Clone, Debug)]
pub struct MovieReport {
    /// Files written (`movie.gif`, `movie.mp4`).
    pub files: Vec<PathBuf>,
    /// Number of frames.
    pub frames: usize,
    /// Frames per second.
    pub fps: f64,
    /// Frame size in pixels.
    pub size: (u32, u32),
    /// Notes for the user (e.g. ffmpeg missing).
    pub notes: Vec<String>,
}

/// What a movie shows, loaded from a run directory.
enum Content {
    Tokens {
        dim: usize,
        frames: Vec<TokenFrame>,
    },
    Profile {
        geometry: Geometry,
        frames: Vec<DensityFrame>,
    },
    Sphere {
        frames: Vec<DensityFrame>,
    },
}

/// Evenly spaced indices `0..n`, at most `max`, first and last included.
fn pick(n: usize, max: usize) -> Vec<usize> {
    if n <= max {
        return (0..n).collect();
    }
    (0..max)
        .map(|i| ((i as f64) * (n - 1) as f64 / (max - 1) as f64).round() as usize)
        .collect()
}

/// Frames per second for `frames` frames: about [`MOVIE_SECONDS`] long, 4 to 12.5 per second,
/// in whole hundredths of a second per frame (the GIF unit).
pub fn frame_rate(frames: usize) -> (f64, u16) {
    let fps = (frames as f64 / MOVIE_SECONDS).clamp(4.0, 12.5);
    let delay = (100.0 / fps).round().clamp(8.0, 25.0) as u16;
    (100.0 / delay as f64, delay)
}

/// Make the movie of the particle or PDE run in `dir` (`dir/movie.gif` and/or
/// `dir/movie.mp4`, replaced atomically). Particle runs use the movie frames written by
/// `movie = true` when present, otherwise the snapshots (`save_every`).
pub fn write_movie(dir: &Path, format: MovieFormat) -> Result<MovieReport> {
    let mut notes: Vec<String> = check_format("movie_format", format)?.into_iter().collect();
    let run = RunDir::open(dir)?;
    let content = match &run.kind {
        RunKind::Particles(s) => {
            let frames = run.token_frames(true, MOVIE_TOKENS)?;
            Content::Tokens {
                dim: s.dim.unwrap_or(2),
                frames,
            }
        }
        RunKind::Pde(s) => {
            let frames = run.density_frames()?;
            match s.geometry.unwrap_or(Geometry::Circle) {
                Geometry::Sphere => Content::Sphere { frames },
                g => Content::Profile {
                    geometry: g,
                    frames,
                },
            }
        }
    };
    let n = match &content {
        Content::Tokens { frames, .. } => frames.len(),
        Content::Profile { frames, .. } | Content::Sphere { frames } => frames.len(),
    };
    if n < 2 {
        return Err(Error::Input {
            path: dir.to_path_buf(),
            message: format!(
                "{n} state(s) saved: a movie needs at least 2 (run with movie = true, or save_every / outputs)"
            ),
        });
    }
    let chosen = pick(n, MAX_FRAMES);
    let (fps, delay) = frame_rate(chosen.len());
    let renderer = Renderer::new(&run, content, &chosen);
    let (w, h) = renderer.size();
    let mut gif = if format.gif() {
        Some(GifWriter::new(w, h, delay)?)
    } else {
        None
    };
    let mut mp4 = match (format.mp4(), find_ffmpeg()) {
        (true, Some(ff)) => Some(Mp4Writer::start(&ff, dir, w, h, fps)?),
        _ => None,
    };
    let mut buf = vec![255u8; (w * h * 3) as usize];
    let movie_path = dir.join("movie.gif");
    for k in 0..chosen.len() {
        buf.fill(255);
        renderer.render(k, &mut buf, &movie_path)?;
        if let Some(g) = &mut gif {
            g.push(&buf)?;
        }
        if let Some(m) = &mut mp4 {
            m.push(&buf)?;
        }
    }
    let mut files = Vec::new();
    if let Some(g) = gif {
        let bytes = g.finish()?;
        crate::io::write_atomic(&movie_path, &bytes)?;
        files.push(movie_path);
    }
    if let Some(m) = mp4 {
        files.push(m.finish()?);
    }
    if format.mp4()
        && !files
            .iter()
            .any(|f| f.extension().is_some_and(|e| e == "mp4"))
    {
        notes.dedup();
        if notes.is_empty() {
            notes.push(FFMPEG_MISSING.to_string());
        }
    }
    Ok(MovieReport {
        files,
        frames: chosen.len(),
        fps,
        size: (w, h),
        notes,
    })
}

/// Renders frame `k` of a movie into an RGB buffer.
struct Renderer<'a> {
    run: &'a RunDir,
    content: Content,
    chosen: Vec<usize>,
    /// Range of densities over the movie (profile axis).
    range: (f64, f64),
    /// Colour range of kymographs: up to the 99th percentile of the densities, so that
    /// narrow peaks do not leave the rest of the map in one colour.
    color_range: (f64, f64),
}

impl<'a> Renderer<'a> {
    fn new(run: &'a RunDir, content: Content, chosen: &[usize]) -> Self {
        let range = match &content {
            Content::Tokens { .. } => (0.0, 1.0),
            Content::Profile { frames, .. } | Content::Sphere { frames } => {
                let (lo, hi) = frames
                    .iter()
                    .flat_map(|f| f.density.iter())
                    .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| {
                        (a.min(v), b.max(v))
                    });
                (lo.min(0.0), if hi > lo { hi } else { lo + 1.0 })
            }
        };
        let color_range = match &content {
            Content::Profile { frames, .. } => {
                let mut all: Vec<f64> = frames
                    .iter()
                    .flat_map(|f| f.density.iter().copied())
                    .collect();
                all.sort_by(f64::total_cmp);
                let q = all[((all.len() - 1) as f64 * 0.99) as usize];
                (range.0, q.max(range.0 + 1.0).min(range.1))
            }
            _ => range,
        };
        Renderer {
            run,
            content,
            chosen: chosen.to_vec(),
            range,
            color_range,
        }
    }

    fn size(&self) -> (u32, u32) {
        match &self.content {
            Content::Tokens { .. } => (480, 520),
            Content::Profile { .. } => (640, 600),
            Content::Sphere { .. } => (640, 400),
        }
    }

    fn time_text(&self, t: f64, tau: f64) -> String {
        let label = self.run.time_label();
        let v = self.run.user_time(t, tau);
        let name = label.split(' ').next().unwrap_or("t");
        format!("{name} = {}", significant(v))
    }

    fn render(&self, k: usize, buf: &mut [u8], path: &Path) -> Result<()> {
        register_fonts();
        let (w, h) = self.size();
        let err = draw_error(path);
        let root = BitMapBackend::with_buffer(buf, (w, h)).into_drawing_area();
        root.fill(&WHITE).map_err(&err)?;
        let title = typeset(&self.run.describe());
        root.draw(&Text::new(
            title,
            (12, 8),
            (FONT, 17).into_font().color(&BLACK),
        ))
        .map_err(&err)?;
        match &self.content {
            Content::Tokens { dim, frames } => {
                let f = &frames[self.chosen[k]];
                let mut line = self.time_text(f.t, f.tau);
                if let Some(c) = self.cluster_count(f.step) {
                    line += &format!("   clusters: {c}");
                }
                root.draw(&Text::new(
                    line,
                    (12, 32),
                    (FONT, 16).into_font().color(&BLACK),
                ))
                .map_err(&err)?;
                if *dim == 2 {
                    self.circle_tokens(&root, frames, k, path)?;
                } else {
                    self.sphere_tokens(&root, *dim, &f.x, k, path)?;
                }
            }
            Content::Profile { geometry, frames } => {
                self.profile(&root, *geometry, frames, k, path)?;
            }
            Content::Sphere { frames } => {
                let f = &frames[self.chosen[k]];
                let nlon = f.shape[1];
                let nodes = &f.nodes;
                let lookup = |lon: f64, lat: f64| -> f64 {
                    let z = lat.sin();
                    let r = nearest(nodes, z);
                    let j = ((lon.rem_euclid(2.0 * std::f64::consts::PI))
                        / (2.0 * std::f64::consts::PI)
                        * nlon as f64)
                        .round() as usize
                        % nlon;
                    f.density[r * nlon + j]
                };
                let (_, body) = root.split_vertically(22);
                sphere_map(
                    &body,
                    &format!("ρ on S² (equal-area),  {}", self.time_text(f.t, f.tau)),
                    &lookup,
                    self.range,
                    "density ρ",
                    &[],
                    path,
                )?;
            }
        }
        root.present().map_err(&err)?;
        Ok(())
    }

    fn cluster_count(&self, step: usize) -> Option<usize> {
        let is = self.run.columns.iter().position(|c| c == "step")?;
        let ic = self.run.columns.iter().position(|c| c == "clusters")?;
        let r = self.run.rows.iter().find(|r| r[is] == step as f64)?;
        r[ic].is_finite().then_some(r[ic] as usize)
    }

    fn circle_tokens(
        &self,
        root: &DrawingArea<BitMapBackend<'_>, plotters::coord::Shift>,
        frames: &[TokenFrame],
        k: usize,
        path: &Path,
    ) -> Result<()> {
        let err = &draw_error(path);
        let (cx, cy, r0) = token_disc(root, 40.0);
        let ring: Vec<(i32, i32)> = (0..=360)
            .map(|i| {
                let a = i as f64 * std::f64::consts::PI / 180.0;
                ((cx + r0 * a.cos()) as i32, (cy - r0 * a.sin()) as i32)
            })
            .collect();
        root.draw(&PathElement::new(
            ring,
            RGBColor(190, 190, 190).stroke_width(1),
        ))
        .map_err(err)?;
        let pos = |x: &[f64], i: usize| -> (i32, i32) {
            let a = x[2 * i + 1].atan2(x[2 * i]);
            // Spread radially by a fixed offset per token so that a cluster shows its mass.
            let u = (i as f64 * 0.618_033_988_749_895).fract() - 0.5;
            let r = r0 + 22.0 * u;
            ((cx + r * a.cos()) as i32, (cy - r * a.sin()) as i32)
        };
        let c = palette(0);
        for back in (1..=TRAIL).rev() {
            if k < back {
                continue;
            }
            let x = &frames[self.chosen[k - back]].x;
            let alpha = 0.35 * (1.0 - back as f64 / (TRAIL + 1) as f64);
            for i in 0..x.len() / 2 {
                root.draw(&Circle::new(pos(x, i), 1, c.mix(alpha).filled()))
                    .map_err(err)?;
            }
        }
        let x = &frames[self.chosen[k]].x;
        for i in 0..x.len() / 2 {
            root.draw(&Circle::new(pos(x, i), 2, c.mix(0.8).filled()))
                .map_err(err)?;
        }
        Ok(())
    }

    fn sphere_tokens(
        &self,
        root: &DrawingArea<BitMapBackend<'_>, plotters::coord::Shift>,
        dim: usize,
        x: &[f64],
        k: usize,
        path: &Path,
    ) -> Result<()> {
        let err = &draw_error(path);
        let h = root.dim_in_pixel().1;
        let (cx, cy, r0) = token_disc(root, 30.0);
        // One turn about the vertical axis over the movie, viewed from 20 degrees above.
        let phi = 2.0 * std::f64::consts::PI * k as f64 / self.chosen.len() as f64;
        let el = 20f64.to_radians();
        let v = [el.cos() * phi.cos(), el.cos() * phi.sin(), el.sin()];
        let e1 = [-phi.sin(), phi.cos(), 0.0];
        let e2 = [-el.sin() * phi.cos(), -el.sin() * phi.sin(), el.cos()];
        let dot = |a: &[f64; 3], p: &[f64; 3]| a[0] * p[0] + a[1] * p[1] + a[2] * p[2];
        let screen = |p: &[f64; 3]| -> (i32, i32) {
            (
                (cx + r0 * dot(&e1, p)) as i32,
                (cy - r0 * dot(&e2, p)) as i32,
            )
        };
        let pts: Vec<[f64; 3]> = x.chunks_exact(dim).map(|r| [r[0], r[1], r[2]]).collect();
        let c = palette(0);
        // Back hemisphere first, faded.
        for p in pts.iter().filter(|p| dot(&v, p) < 0.0) {
            root.draw(&Circle::new(screen(p), 2, c.mix(0.25).filled()))
                .map_err(err)?;
        }
        // The sphere: a faint disc over the back, its outline, equator and a meridian (front
        // halves solid, back halves light).
        root.draw(&Circle::new(
            (cx as i32, cy as i32),
            r0 as i32,
            RGBColor(235, 240, 248).mix(0.55).filled(),
        ))
        .map_err(err)?;
        root.draw(&Circle::new(
            (cx as i32, cy as i32),
            r0 as i32,
            RGBColor(120, 120, 120).stroke_width(1),
        ))
        .map_err(err)?;
        let great = |f: &dyn Fn(f64) -> [f64; 3]| -> Vec<(bool, (i32, i32))> {
            (0..=180)
                .map(|i| {
                    let p = f(i as f64 * std::f64::consts::PI / 90.0);
                    (dot(&v, &p) >= 0.0, screen(&p))
                })
                .collect()
        };
        for line in [
            great(&|a: f64| [a.cos(), a.sin(), 0.0]),
            great(&|a: f64| [a.cos(), 0.0, a.sin()]),
        ] {
            for pair in line.windows(2) {
                let front = pair[0].0 && pair[1].0;
                let col = if front {
                    RGBColor(150, 150, 150).stroke_width(1)
                } else {
                    RGBColor(215, 215, 215).stroke_width(1)
                };
                root.draw(&PathElement::new(vec![pair[0].1, pair[1].1], col))
                    .map_err(err)?;
            }
        }
        for p in pts.iter().filter(|p| dot(&v, p) >= 0.0) {
            root.draw(&Circle::new(screen(p), 3, c.mix(0.85).filled()))
                .map_err(err)?;
        }
        if dim > 3 {
            root.draw(&Text::new(
                format!("orthographic view of (x₁, x₂, x₃) of S^{}", dim - 1),
                (12, h as i32 - 22),
                (FONT, 14).into_font().color(&RGBColor(80, 80, 80)),
            ))
            .map_err(err)?;
        }
        Ok(())
    }

    fn profile(
        &self,
        root: &DrawingArea<BitMapBackend<'_>, plotters::coord::Shift>,
        geometry: Geometry,
        frames: &[DensityFrame],
        k: usize,
        path: &Path,
    ) -> Result<()> {
        let err = draw_error(path);
        let bins = 256;
        let span = match geometry {
            Geometry::Circle => 2.0 * std::f64::consts::PI,
            _ => std::f64::consts::PI,
        };
        let angles: Vec<f64> = (0..bins)
            .map(|i| (i as f64 + 0.5) * span / bins as f64)
            .collect();
        let resample = |f: &DensityFrame| -> Vec<f64> {
            angles
                .iter()
                .map(|&a| match geometry {
                    Geometry::Circle => periodic_interp(&f.density, a),
                    _ => interp(&f.nodes, &f.density, a.cos()),
                })
                .collect()
        };
        let f = &frames[self.chosen[k]];
        let (_, body) = root.split_vertically(30);
        let (top, bottom) = body.split_vertically(230);
        let xlabel = match geometry {
            Geometry::Circle => "angle θ",
            _ => "polar angle θ (x_d = cos θ)",
        };
        let (lo, hi) = self.range;
        let mut chart = ChartBuilder::on(&top)
            .caption(
                format!("density ρ,  {}", self.time_text(f.t, f.tau)),
                (FONT, 17),
            )
            .margin(10)
            .margin_right(105)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d(0.0..span, lo..hi * 1.05)
            .map_err(&err)?;
        chart
            .configure_mesh()
            .x_desc(typeset(xlabel))
            .y_desc("ρ")
            .x_label_formatter(&|v| tick_text(*v))
            .y_label_formatter(&|v| tick_text(*v))
            .label_style((FONT, 13))
            .axis_desc_style((FONT, 15))
            .light_line_style(RGBColor(235, 235, 235))
            .draw()
            .map_err(&err)?;
        chart
            .draw_series(LineSeries::new(
                angles.iter().copied().zip(resample(f)),
                palette(0).stroke_width(2),
            ))
            .map_err(&err)?;
        chart
            .draw_series(LineSeries::new(
                vec![(0.0, 1.0), (span, 1.0)],
                RGBColor(150, 150, 150).stroke_width(1),
            ))
            .map_err(&err)?;
        // Kymograph of every frame up to this one (later rows blank).
        let ny = self.chosen.len();
        let mut values = vec![f64::NAN; bins * ny];
        for (row, &idx) in self.chosen.iter().enumerate().take(k + 1) {
            values[row * bins..(row + 1) * bins].copy_from_slice(&resample(&frames[idx]));
        }
        let first = &frames[self.chosen[0]];
        let last = &frames[*self.chosen.last().unwrap_or(&0)];
        let (t0, t1) = (
            self.run.user_time(first.t, first.tau),
            self.run.user_time(last.t, last.tau),
        );
        let dt = (t1 - t0) / (ny - 1).max(1) as f64;
        let map = Heatmap {
            title: "kymograph".into(),
            x: Axis::linear(xlabel, 0.0, span),
            y: Axis::linear(self.run.time_label(), t0 - dt / 2.0, t1 + dt / 2.0),
            nx: bins,
            ny,
            values,
            color_label: if self.color_range.1 < self.range.1 {
                "density ρ (clipped)".into()
            } else {
                "density ρ".into()
            },
            color_range: self.color_range,
            overlays: Vec::new(),
        };
        map.draw(&bottom, path)
    }
}

/// Height of the title band at the top of a token frame (title and time line), in pixels.
const TITLE_BAND: f64 = 60.0;

/// Centre and radius of the disc of a token frame (the circle, or the sphere's outline): centred
/// in the area below the title band, `margin` pixels inside its smaller side.
fn token_disc(
    root: &DrawingArea<BitMapBackend<'_>, plotters::coord::Shift>,
    margin: f64,
) -> (f64, f64, f64) {
    let (w, h) = root.dim_in_pixel();
    let (w, body) = (w as f64, h as f64 - TITLE_BAND);
    (w / 2.0, TITLE_BAND + body / 2.0, w.min(body) / 2.0 - margin)
}

/// Index of the node nearest to `z` in the ascending `nodes`.
fn nearest(nodes: &[f64], z: f64) -> usize {
    let i = nodes.partition_point(|&v| v < z);
    if i == 0 {
        0
    } else if i >= nodes.len() {
        nodes.len() - 1
    } else if (nodes[i] - z) < (z - nodes[i - 1]) {
        i
    } else {
        i - 1
    }
}

/// Linear interpolation of `values` at equally spaced angles `2 pi j / n`, at angle `a`.
fn periodic_interp(values: &[f64], a: f64) -> f64 {
    let n = values.len();
    let s = a.rem_euclid(2.0 * std::f64::consts::PI) / (2.0 * std::f64::consts::PI) * n as f64;
    let j = s.floor() as usize % n;
    let w = s - s.floor();
    values[j] * (1.0 - w) + values[(j + 1) % n] * w
}

/// Linear interpolation of `values` at ascending `nodes`, at `z` (constant beyond the ends).
fn interp(nodes: &[f64], values: &[f64], z: f64) -> f64 {
    let i = nodes.partition_point(|&v| v < z);
    if i == 0 {
        return values[0];
    }
    if i >= nodes.len() {
        return values[nodes.len() - 1];
    }
    let w = (z - nodes[i - 1]) / (nodes[i] - nodes[i - 1]);
    values[i - 1] * (1.0 - w) + values[i] * w
}

/// Four significant digits, compact.
fn significant(v: f64) -> String {
    if v == 0.0 || !v.is_finite() {
        return format!("{v}");
    }
    let a = v.abs();
    if (1e-3..1e5).contains(&a) {
        let digits = (3 - a.log10().floor() as i32).max(0) as usize;
        format!("{v:.digits$}")
    } else {
        format!("{v:.3e}")
    }
}

/// The fixed palette: the 6x6x6 colour cube, 24 steps of viridis and 16 greys.
pub fn movie_palette() -> Vec<[u8; 3]> {
    let mut p = Vec::with_capacity(256);
    for r in 0..6u8 {
        for g in 0..6u8 {
            for b in 0..6u8 {
                p.push([r * 51, g * 51, b * 51]);
            }
        }
    }
    for i in 0..24 {
        let c = colormap(i as f64, 0.0, 23.0);
        p.push([c.0, c.1, c.2]);
    }
    for i in 0..16u32 {
        let v = (8 + i * 16) as u8;
        p.push([v, v, v]);
    }
    p
}

/// Nearest-palette-colour lookup on a 32x32x32 grid of RGB.
struct Quantizer {
    lut: Vec<u8>,
}

impl Quantizer {
    fn new(pal: &[[u8; 3]]) -> Self {
        let mut lut = vec![0u8; 32 * 32 * 32];
        for (i, slot) in lut.iter_mut().enumerate() {
            let c = [
                ((i >> 10) & 31) as i32 * 8 + 4,
                ((i >> 5) & 31) as i32 * 8 + 4,
                (i & 31) as i32 * 8 + 4,
            ];
            let mut best = (i32::MAX, 0usize);
            for (j, p) in pal.iter().enumerate() {
                let d: i32 = (0..3).map(|k| (c[k] - p[k] as i32).pow(2)).sum();
                if d < best.0 {
                    best = (d, j);
                }
            }
            *slot = best.1 as u8;
        }
        Quantizer { lut }
    }
    fn index(&self, r: u8, g: u8, b: u8) -> u8 {
        self.lut[((r as usize >> 3) << 10) | ((g as usize >> 3) << 5) | (b as usize >> 3)]
    }
}

/// Animated GIF written frame by frame into memory; each frame after the first is the
/// rectangle that changed.
struct GifWriter {
    encoder: gif::Encoder<Vec<u8>>,
    quant: Quantizer,
    previous: Option<Vec<u8>>,
    w: u16,
    h: u16,
    delay: u16,
}

fn gif_error(e: gif::EncodingError) -> Error {
    Error::Output {
        path: PathBuf::from("movie.gif"),
        message: format!("GIF encoding failed: {e}"),
    }
}

impl GifWriter {
    fn new(w: u32, h: u32, delay: u16) -> Result<Self> {
        let pal = movie_palette();
        let flat: Vec<u8> = pal.iter().flat_map(|c| c.iter().copied()).collect();
        let mut encoder =
            gif::Encoder::new(Vec::new(), w as u16, h as u16, &flat).map_err(gif_error)?;
        encoder
            .set_repeat(gif::Repeat::Infinite)
            .map_err(gif_error)?;
        Ok(GifWriter {
            encoder,
            quant: Quantizer::new(&pal),
            previous: None,
            w: w as u16,
            h: h as u16,
            delay,
        })
    }

    fn push(&mut self, rgb: &[u8]) -> Result<()> {
        let idx: Vec<u8> = rgb
            .chunks_exact(3)
            .map(|p| self.quant.index(p[0], p[1], p[2]))
            .collect();
        let (w, h) = (self.w as usize, self.h as usize);
        let (mut x0, mut y0, mut x1, mut y1) = (0, 0, w, h);
        if let Some(prev) = &self.previous {
            let (mut a, mut b, mut c, mut d) = (w, h, 0, 0);
            for y in 0..h {
                for x in 0..w {
                    if prev[y * w + x] != idx[y * w + x] {
                        a = a.min(x);
                        b = b.min(y);
                        c = c.max(x + 1);
                        d = d.max(y + 1);
                    }
                }
            }
            if c == 0 {
                // Nothing changed: one pixel, for the frame's delay.
                (a, b, c, d) = (0, 0, 1, 1);
            }
            (x0, y0, x1, y1) = (a, b, c, d);
        }
        let mut sub = Vec::with_capacity((x1 - x0) * (y1 - y0));
        for y in y0..y1 {
            sub.extend_from_slice(&idx[y * w + x0..y * w + x1]);
        }
        let frame = gif::Frame {
            delay: self.delay,
            left: x0 as u16,
            top: y0 as u16,
            width: (x1 - x0) as u16,
            height: (y1 - y0) as u16,
            buffer: std::borrow::Cow::Owned(sub),
            ..Default::default()
        };
        self.encoder.write_frame(&frame).map_err(gif_error)?;
        self.previous = Some(idx);
        Ok(())
    }

    fn finish(self) -> Result<Vec<u8>> {
        self.encoder.into_inner().map_err(gif_error)
    }
}

/// Raw RGB frames piped into `ffmpeg`, writing a temporary file renamed on success.
struct Mp4Writer {
    child: std::process::Child,
    tmp: PathBuf,
    target: PathBuf,
}

impl Mp4Writer {
    fn start(ffmpeg: &Path, dir: &Path, w: u32, h: u32, fps: f64) -> Result<Self> {
        let target = dir.join("movie.mp4");
        let tmp = dir.join(format!(".movie.mp4.tmp-{}.mp4", std::process::id()));
        let child = std::process::Command::new(ffmpeg)
            .args([
                "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s",
            ])
            .arg(format!("{w}x{h}"))
            .arg("-r")
            .arg(format!("{fps}"))
            .args(["-i", "-", "-pix_fmt", "yuv420p"])
            .arg(&tmp)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .map_err(|e| Error::Output {
                path: target.clone(),
                message: format!("cannot start {}: {e}", ffmpeg.display()),
            })?;
        Ok(Mp4Writer { child, tmp, target })
    }

    fn push(&mut self, rgb: &[u8]) -> Result<()> {
        use std::io::Write;
        let stdin = self.child.stdin.as_mut().ok_or_else(|| Error::Output {
            path: self.target.clone(),
            message: "ffmpeg closed its input".into(),
        })?;
        stdin.write_all(rgb).map_err(|e| Error::Output {
            path: self.target.clone(),
            message: format!("ffmpeg stopped reading frames: {e}"),
        })
    }

    fn finish(mut self) -> Result<PathBuf> {
        drop(self.child.stdin.take());
        let out = self.child.wait_with_output().map_err(|e| Error::Output {
            path: self.target.clone(),
            message: e.to_string(),
        })?;
        if !out.status.success() {
            let _ = std::fs::remove_file(&self.tmp);
            let text = String::from_utf8_lossy(&out.stderr);
            return Err(Error::Output {
                path: self.target.clone(),
                message: format!(
                    "ffmpeg failed: {}",
                    text.lines().last().unwrap_or("no message")
                ),
            });
        }
        std::fs::rename(&self.tmp, &self.target).map_err(|e| Error::Output {
            path: self.target.clone(),
            message: e.to_string(),
        })?;
        Ok(self.target)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn palette_and_quantizer() {
        let p = movie_palette();
        assert_eq!(p.len(), 256);
        let q = Quantizer::new(&p);
        // Exact palette colours map to themselves (the grid cell centre is within 4 of them).
        for (i, c) in p.iter().enumerate().step_by(7) {
            let j = q.index(c[0], c[1], c[2]) as usize;
            let d: i32 = (0..3).map(|k| (c[k] as i32 - p[j][k] as i32).pow(2)).sum();
            assert!(d <= 3 * 8 * 8, "colour {i} -> {j}");
        }
        assert_eq!(p[q.index(255, 255, 255) as usize], [255, 255, 255]);
    }

    #[test]
    fn frame_selection_and_rate() {
        assert_eq!(pick(5, 10), vec![0, 1, 2, 3, 4]);
        let v = pick(1001, 300);
        assert_eq!((v.len(), v[0], *v.last().unwrap()), (300, 0, 1000));
        assert!(v.windows(2).all(|w| w[1] > w[0]));
        let (fps, delay) = frame_rate(201);
        assert_eq!(delay, 10);
        assert!((201.0 / fps - 20.1).abs() < 1e-9);
        assert_eq!(frame_rate(10).1, 25);
        assert_eq!(frame_rate(300).1, 8);
    }

    #[test]
    fn interpolation() {
        let v: Vec<f64> = (0..8)
            .map(|j| (j as f64 * std::f64::consts::PI / 4.0).cos())
            .collect();
        assert!((periodic_interp(&v, 0.0) - 1.0).abs() < 1e-15);
        assert!((periodic_interp(&v, 2.0 * std::f64::consts::PI - 1e-12) - 1.0).abs() < 1e-9);
        let nodes = [-1.0, 0.0, 1.0];
        assert_eq!(interp(&nodes, &[0.0, 2.0, 4.0], 0.5), 3.0);
        assert_eq!(nearest(&nodes, 0.6), 2);
        assert_eq!(nearest(&nodes, -0.4), 1);
    }
}
