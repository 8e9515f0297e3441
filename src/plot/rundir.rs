//! Reading a particle or PDE output directory back for figures and movies: the run record,
//! the diagnostics table (system 0 of an ensemble), token states and PDE densities.
//!
//! Every malformed or missing piece is an [`Error::Input`] naming the file, so `attnflow plot`
//! and `attnflow movie` report bad directories in one line.

use crate::io::{read_npy_f64, read_npy_frames, write_npy_f64, NpyFrames};
use crate::run::outdir::{read_table, SeriesWriter};
use crate::run::{ParticlesSpec, PdeSpec, RunRecord, RunSpec, TimeScale};
use crate::{Error, Model, Result, TimeUnit};
use std::path::{Path, PathBuf};

/// The movie frames of a particle run with `movie = true`: one `float64` array
/// `(frames, rows, d)` (system 0, at most [`MOVIE_TOKENS`](crate::plot::movie::MOVIE_TOKENS)
/// tokens), appended frame by frame (see [`NpyFrames`]).
pub const MOVIE_FRAMES: &str = "movie.npy";

/// The index of [`MOVIE_FRAMES`]: one line per frame, columns [`MOVIE_INDEX_COLUMNS`]
/// (`row`: index of the row time, `step`: accepted steps, the row of `series.csv` with this
/// step; `t`, `tau`: its time).
pub const MOVIE_INDEX: &str = "movie.csv";

/// Columns of [`MOVIE_INDEX`].
pub const MOVIE_INDEX_COLUMNS: [&str; 4] = ["row", "step", "t", "tau"];

/// Name of a movie frame in the layout of earlier versions (one `movie_<step>.npy` per frame,
/// the token state at the diagnostics row of accepted step `step`); still read, and still
/// written when a run of an earlier version that used it is resumed.
pub fn movie_frame_name(step: usize) -> String {
    format!("movie_{step:06}.npy")
}

/// Writes the movie frames of a particle run as it goes: the state at every `stride`-th row
/// time and at the last one (`t_end`).
pub struct MovieWriter {
    stride: usize,
    t_end: f64,
    tokens: usize,
    dim: usize,
    out: MovieOut,
}

enum MovieOut {
    /// [`MOVIE_FRAMES`] and [`MOVIE_INDEX`].
    Single {
        frames: NpyFrames,
        index: SeriesWriter,
    },
    /// `movie_<step>.npy` files: a run of an earlier version, resumed.
    PerFrame { dir: PathBuf },
}

impl MovieWriter {
    /// Start the movie frames of a run in `dir`: `tokens` rows of dimension `dim` per frame,
    /// a frame every `stride` row times and at the final time `t_end` (internal unit). With
    /// `resume_row` (the index of the next row time of a resumed run's checkpoint), the
    /// frames of the earlier rows are kept and those written after the checkpoint dropped; a
    /// directory of an earlier version (per-frame files, no [`MOVIE_FRAMES`]) goes on in its
    /// layout.
    pub fn start(
        dir: &Path,
        tokens: usize,
        dim: usize,
        stride: usize,
        t_end: f64,
        resume_row: Option<usize>,
    ) -> Result<Self> {
        let frames_path = dir.join(MOVIE_FRAMES);
        let index_path = dir.join(MOVIE_INDEX);
        let header: Vec<String> = MOVIE_INDEX_COLUMNS.iter().map(|c| c.to_string()).collect();
        let shape = [tokens, dim];
        let out = match resume_row {
            Some(next) if frames_path.is_file() => {
                let (cols, rows) = read_table(&index_path)?;
                if cols != header {
                    return Err(input(
                        &index_path,
                        format!("columns {cols:?}: expected {header:?}"),
                    ));
                }
                let kept: Vec<Vec<f64>> = rows
                    .into_iter()
                    .take_while(|r| r[0] < next as f64)
                    .collect();
                let frames = NpyFrames::reopen(&frames_path, &shape, kept.len())?;
                MovieOut::Single {
                    frames,
                    index: SeriesWriter::create(&index_path, &header, &kept)?,
                }
            }
            Some(_) if has_per_frame_files(dir) => MovieOut::PerFrame {
                dir: dir.to_path_buf(),
            },
            _ => MovieOut::Single {
                frames: NpyFrames::create(&frames_path, &shape)?,
                index: SeriesWriter::create(&index_path, &header, &[])?,
            },
        };
        Ok(MovieWriter {
            stride: stride.max(1),
            t_end,
            tokens,
            dim,
            out,
        })
    }

    /// The state `x` (`N x d` rows, at least `tokens` of them) at row time number `index`
    /// (internal time `tau`, physical `t`, after `step` accepted steps): written if it is a
    /// frame.
    pub fn row_state(
        &mut self,
        index: usize,
        step: usize,
        t: f64,
        tau: f64,
        x: &[f64],
    ) -> Result<()> {
        if !(index.is_multiple_of(self.stride) || tau >= self.t_end) {
            return Ok(());
        }
        let n = self.tokens * self.dim;
        if x.len() < n {
            return Err(Error::Numerical(format!(
                "movie frame: {} values, expected at least {n}",
                x.len()
            )));
        }
        match &mut self.out {
            MovieOut::Single { frames, index: idx } => {
                frames.append(&x[..n])?;
                idx.append(&[index as f64, step as f64, t, tau])
            }
            MovieOut::PerFrame { dir } => write_npy_f64(
                &dir.join(movie_frame_name(step)),
                &[self.tokens, self.dim],
                &x[..n],
            ),
        }
    }
}

/// True if `dir` holds movie frames in the per-frame layout of earlier versions.
fn has_per_frame_files(dir: &Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|rd| {
        rd.flatten().any(|e| {
            let n = e.file_name().to_string_lossy().into_owned();
            n.strip_prefix("movie_")
                .and_then(|s| s.strip_suffix(".npy"))
                .is_some_and(|s| !s.is_empty() && s.chars().all(|c| c.is_ascii_digit()))
        })
    })
}

/// The kind of run of a directory, with its resolved specification.
#[derive(Clone, Debug)]
pub enum RunKind {
    /// `attnflow particles`.
    Particles(ParticlesSpec),
    /// `attnflow pde`.
    Pde(PdeSpec),
}

/// A token state of a particle run (system 0).
#[derive(Clone, Debug)]
pub struct TokenFrame {
    /// Accepted steps.
    pub step: usize,
    /// Physical time.
    pub t: f64,
    /// Internal time.
    pub tau: f64,
    /// `rows x dim` unit vectors, row-major.
    pub x: Vec<f64>,
}

/// A density output of a PDE run.
#[derive(Clone, Debug)]
pub struct DensityFrame {
    /// Output index `K` (`density_KKKK.npy`).
    pub index: usize,
    /// Physical time.
    pub t: f64,
    /// Internal time.
    pub tau: f64,
    /// Largest degree of the basis at this output.
    pub lmax: usize,
    /// Grid shape: `(n,)` circle and zonal, `(nlat, nlon)` sphere.
    pub shape: Vec<usize>,
    /// Density on the grid (row-major).
    pub density: Vec<f64>,
    /// Grid nodes: circle angles, sphere `cos(theta)` of the rings, zonal `t` nodes.
    pub nodes: Vec<f64>,
}

/// A particle or PDE output directory, opened.
#[derive(Clone, Debug)]
pub struct RunDir {
    /// The directory.
    pub dir: PathBuf,
    /// Its run record.
    pub record: RunRecord,
    /// Kind and resolved specification.
    pub kind: RunKind,
    /// Columns of the diagnostics table (without an ensemble's `system` column).
    pub columns: Vec<String>,
    /// Rows of the diagnostics table (system 0 of an ensemble).
    pub rows: Vec<Vec<f64>>,
}

fn input(path: &Path, message: impl Into<String>) -> Error {
    Error::Input {
        path: path.to_path_buf(),
        message: message.into(),
    }
}

impl RunDir {
    /// Open `dir`: it must hold the `run.json` of a particle or PDE run and its `series.csv`.
    pub fn open(dir: &Path) -> Result<Self> {
        if !dir.is_dir() {
            return Err(input(
                dir,
                "not a directory (expected the output directory of attnflow particles or pde)",
            ));
        }
        if !dir.join("run.json").is_file() {
            return Err(input(
                dir,
                "no run.json: not an output directory of attnflow particles or pde",
            ));
        }
        let record = RunRecord::read(dir)?;
        let kind = match &record.spec {
            RunSpec::Particles(s) => RunKind::Particles(s.clone()),
            RunSpec::Pde(s) => RunKind::Pde(s.clone()),
            RunSpec::Compare(_) => {
                return Err(input(
                    &dir.join("run.json"),
                    format!(
                        "a {} run: expected a particles or pde run (experiments write their own figures)",
                        record.kind
                    ),
                ))
            }
        };
        let series = [dir.join("series.csv"), dir.join("series_s0.csv")]
            .into_iter()
            .find(|p| p.is_file())
            .ok_or_else(|| {
                input(
                    &dir.join("series.csv"),
                    "missing: the run wrote no diagnostics yet",
                )
            })?;
        let (mut columns, mut rows) = read_table(&series)?;
        if columns.first().map(String::as_str) == Some("system") {
            rows.retain(|r| r[0] == 0.0);
            for r in &mut rows {
                r.remove(0);
            }
            columns.remove(0);
        }
        for need in ["t", "tau", "step"] {
            if !columns.iter().any(|c| c == need) {
                return Err(input(&series, format!("no column {need}")));
            }
        }
        if rows.is_empty() {
            return Err(input(&series, "no rows"));
        }
        Ok(RunDir {
            dir: dir.to_path_buf(),
            record,
            kind,
            columns,
            rows,
        })
    }

    /// A column of the diagnostics table.
    pub fn column(&self, name: &str) -> Option<Vec<f64>> {
        let i = self.columns.iter().position(|c| c == name)?;
        Some(self.rows.iter().map(|r| r[i]).collect())
    }

    /// Model, inverse temperature, ambient dimension and the user's time unit.
    pub fn setting(&self) -> (Model, f64, usize, TimeUnit) {
        match &self.kind {
            RunKind::Particles(s) => (
                s.model.unwrap_or(Model::Usa),
                s.beta.unwrap_or(f64::NAN),
                s.dim.unwrap_or(2),
                s.time.unwrap_or(TimeUnit::Physical),
            ),
            RunKind::Pde(s) => {
                let dim = match s.geometry {
                    Some(crate::spectral::Geometry::Circle) => 2,
                    Some(crate::spectral::Geometry::Sphere) => 3,
                    _ => s.dim.unwrap_or(2),
                };
                (
                    s.model.unwrap_or(Model::Usa),
                    s.beta.unwrap_or(f64::NAN),
                    dim,
                    s.time.unwrap_or(TimeUnit::Physical),
                )
            }
        }
    }

    /// The time conversion of the run.
    pub fn scale(&self) -> TimeScale {
        let (model, beta, _, unit) = self.setting();
        TimeScale::new(model, beta, unit)
    }

    /// A time in the run's unit: `t` for `time = physical`, `tau` for `scaled`.
    pub fn user_time(&self, t: f64, tau: f64) -> f64 {
        match self.setting().3 {
            TimeUnit::Physical => t,
            TimeUnit::Scaled => tau,
        }
    }

    /// Name of the run's time axis, typeset-ready (`t` or `τ = e^β t`).
    pub fn time_label(&self) -> &'static str {
        let (model, _, _, unit) = self.setting();
        match (unit, model) {
            (TimeUnit::Physical, _) | (_, Model::Sa) => "t",
            (TimeUnit::Scaled, Model::Usa) => "τ = e^β t",
        }
    }

    /// `(t, tau)` of the diagnostics row at accepted step `step`, if there is one.
    fn row_time(&self, step: usize) -> Option<(f64, f64)> {
        let (it, itau, is) = (
            self.columns.iter().position(|c| c == "t")?,
            self.columns.iter().position(|c| c == "tau")?,
            self.columns.iter().position(|c| c == "step")?,
        );
        self.rows
            .iter()
            .find(|r| r[is] == step as f64)
            .map(|r| (r[it], r[itau]))
    }

    /// `(t, tau)` of a saved snapshot at step `step` from `snapshots.csv` (system 0).
    fn snapshot_time(&self, step: usize) -> Option<(f64, f64)> {
        let (cols, rows) = read_table(&self.dir.join("snapshots.csv")).ok()?;
        let off = usize::from(cols.first().map(String::as_str) == Some("system"));
        rows.iter()
            .find(|r| (off == 0 || r[0] == 0.0) && r[off] == step as f64)
            .map(|r| (r[off + 1], r[off + 2]))
    }

    /// Token states of system 0, in time order, at most `max_tokens` rows each: the movie
    /// frames (written by `movie = true`: [`MOVIE_FRAMES`] with its index [`MOVIE_INDEX`], or
    /// `movie_<step>.npy` files from earlier versions) when present and `prefer_movie`,
    /// otherwise the snapshots (`x_<step>.npy`, `x_s0_<step>.npy` for ensembles).
    pub fn token_frames(&self, prefer_movie: bool, max_tokens: usize) -> Result<Vec<TokenFrame>> {
        let RunKind::Particles(spec) = &self.kind else {
            return Err(input(&self.dir, "a PDE run has no token states"));
        };
        let dim = spec.dim.unwrap_or(2);
        if prefer_movie && self.dir.join(MOVIE_FRAMES).is_file() {
            let frames = self.movie_frames(dim, max_tokens)?;
            if !frames.is_empty() {
                return Ok(frames);
            }
        }
        let names: Vec<String> = std::fs::read_dir(&self.dir)
            .map_err(|e| input(&self.dir, e.to_string()))?
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        let parse = |prefix: &str| -> Vec<(usize, String)> {
            let mut v: Vec<(usize, String)> = names
                .iter()
                .filter_map(|n| {
                    let step = n.strip_prefix(prefix)?.strip_suffix(".npy")?;
                    step.chars()
                        .all(|c| c.is_ascii_digit())
                        .then(|| step.parse::<usize>().ok())
                        .flatten()
                        .map(|s| (s, n.clone()))
                })
                .collect();
            v.sort();
            v
        };
        let mut files = if prefer_movie {
            parse("movie_")
        } else {
            Vec::new()
        };
        if files.is_empty() {
            files = parse("x_");
        }
        if files.is_empty() {
            files = parse("x_s0_");
        }
        if files.is_empty() {
            return Err(input(
                &self.dir,
                "no token states (x_<step>.npy, movie.npy or movie_<step>.npy) in this directory",
            ));
        }
        let mut frames = Vec::with_capacity(files.len());
        for (step, name) in files {
            let path = self.dir.join(&name);
            let a = read_npy_f64(&path)?;
            if a.shape.len() != 2 || a.shape[1] != dim {
                return Err(input(
                    &path,
                    format!("shape {:?}: expected (N, {dim}) token rows", a.shape),
                ));
            }
            if a.data.iter().any(|v| !v.is_finite()) {
                return Err(input(&path, "holds values that are not finite"));
            }
            let (t, tau) = self
                .row_time(step)
                .or_else(|| self.snapshot_time(step))
                .ok_or_else(|| {
                    input(
                        &path,
                        format!("step {step} is in neither series.csv nor snapshots.csv"),
                    )
                })?;
            let rows = a.shape[0].min(max_tokens.max(1));
            frames.push(TokenFrame {
                step,
                t,
                tau,
                x: a.data[..rows * dim].to_vec(),
            });
        }
        Ok(frames)
    }

    /// The frames of [`MOVIE_FRAMES`] with their times from [`MOVIE_INDEX`] (as many as both
    /// hold: a run interrupted between the two writes of a frame has one more frame than
    /// index lines).
    fn movie_frames(&self, dim: usize, max_tokens: usize) -> Result<Vec<TokenFrame>> {
        let path = self.dir.join(MOVIE_FRAMES);
        let a = read_npy_frames(&path)?;
        if a.shape.len() != 3 || a.shape[2] != dim || a.shape[1] == 0 {
            return Err(input(
                &path,
                format!(
                    "shape {:?}: expected (frames, N, {dim}) token states",
                    a.shape
                ),
            ));
        }
        if a.data.iter().any(|v| !v.is_finite()) {
            return Err(input(&path, "holds values that are not finite"));
        }
        let index_path = self.dir.join(MOVIE_INDEX);
        let (cols, rows) = read_table(&index_path)?;
        if cols != MOVIE_INDEX_COLUMNS {
            return Err(input(
                &index_path,
                format!("columns {cols:?}: expected {MOVIE_INDEX_COLUMNS:?}"),
            ));
        }
        let (per, n) = (a.shape[1] * dim, a.shape[0].min(rows.len()));
        let keep = a.shape[1].min(max_tokens.max(1)) * dim;
        Ok((0..n)
            .map(|k| TokenFrame {
                step: rows[k][1] as usize,
                t: rows[k][2],
                tau: rows[k][3],
                x: a.data[k * per..k * per + keep].to_vec(),
            })
            .collect())
    }

    /// The density outputs of a PDE run, in order (every `density_KKKK.npy` with its row of
    /// `series.csv` and the nodes of its grid).
    pub fn density_frames(&self) -> Result<Vec<DensityFrame>> {
        let RunKind::Pde(spec) = &self.kind else {
            return Err(input(&self.dir, "a particle run has no density outputs"));
        };
        if spec.no_density == Some(true) {
            return Err(input(
                &self.dir,
                "the run was made with no_density = true: no densities to show",
            ));
        }
        let t = self.column("t").unwrap_or_default();
        let tau = self.column("tau").unwrap_or_default();
        let lmax = self
            .column("lmax")
            .ok_or_else(|| input(&self.dir.join("series.csv"), "no column lmax"))?;
        let mut frames = Vec::new();
        for k in 0..self.rows.len() {
            let path = self.dir.join(format!("density_{k:04}.npy"));
            if !path.is_file() {
                break;
            }
            let a = read_npy_f64(&path)?;
            let l = lmax[k] as usize;
            let nodes_path = self.dir.join(format!("grid_L{l:04}_nodes.npy"));
            let nodes = read_npy_f64(&nodes_path)?.data;
            let expected = match a.shape.as_slice() {
                [n] => *n,
                [nlat, _] => *nlat,
                _ => 0,
            };
            if expected == 0 || nodes.len() != expected || a.data.iter().any(|v| !v.is_finite()) {
                return Err(input(
                    &path,
                    format!(
                        "shape {:?} with {} grid nodes, or values that are not finite",
                        a.shape,
                        nodes.len()
                    ),
                ));
            }
            frames.push(DensityFrame {
                index: k,
                t: t[k],
                tau: tau[k],
                lmax: l,
                shape: a.shape,
                density: a.data,
                nodes,
            });
        }
        if frames.is_empty() {
            return Err(input(&self.dir.join("density_0000.npy"), "missing"));
        }
        Ok(frames)
    }

    /// One-line description of the run for titles (`USA, d = 2, N = 2000, β = 9`).
    pub fn describe(&self) -> String {
        let (model, beta, dim, _) = self.setting();
        let m = match model {
            Model::Usa => "USA",
            Model::Sa => "SA",
        };
        let b = crate::plot::chart::tick_text(beta);
        match &self.kind {
            RunKind::Particles(s) => format!(
                "{m}, d = {dim}, N = {}, β = {b}, seed {}",
                s.n.unwrap_or(0),
                s.seed.unwrap_or(0)
            ),
            RunKind::Pde(s) => {
                let g = match s.geometry {
                    Some(crate::spectral::Geometry::Circle) => "circle".to_string(),
                    Some(crate::spectral::Geometry::Sphere) => "S²".to_string(),
                    _ => format!("zonal, d = {dim}"),
                };
                format!("PDE {g}, {m}, β = {b}")
            }
        }
    }
}
