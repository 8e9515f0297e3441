//! Runs as data: one specification type per kind of run, config files, the run record, the
//! output layout, checkpoints and resume — the layer every front end (command line, Python,
//! sweeps) is built on.
//!
//! - [`RunSpec`]: a particle run, a PDE run or a comparison experiment, with the field names of
//!   the command-line flags (`t_end` for `--t-end`). It is what a config file holds (one
//!   top-level table `[particles]`, `[pde]` or `[compare.<experiment>]`), what `run.json`
//!   records (resolved: every default filled in) and what the Python keyword arguments are.
//! - [`execute`] runs a specification into its output directory; [`resume`] continues an
//!   interrupted run from its checkpoints, with outputs bit-identical to an uninterrupted run.
//!
//! Every default is defined once, in the module of its kind ([`particles`], [`pde`],
//! [`compare`]); [`RunSpec::resolve`] fills them in and the run uses only the resolved values.

pub mod checkpoint;
pub mod compare;
pub mod config;
pub mod limits;
pub mod memory;
pub mod outdir;
pub mod particles;
pub mod pde;
pub mod record;
pub mod value;

pub use crate::model::TimeScale;
pub use compare::CompareSpec;
pub use config::{load_config, parse_config};
pub use particles::ParticlesSpec;
pub use pde::PdeSpec;
pub use record::{RunRecord, RunStatus};

use crate::control::RunControl;
use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Instant;

/// A run of any kind.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", deny_unknown_fields)]
pub enum RunSpec {
    /// `[particles]`: a particle simulation.
    Particles(ParticlesSpec),
    /// `[pde]`: a mean-field PDE run.
    Pde(PdeSpec),
    /// `[compare.<experiment>]`: a comparison experiment.
    Compare(CompareSpec),
}

/// A resolved run: what [`execute`] needs.
#[derive(Clone, Debug)]
pub enum Plan {
    /// Particles.
    Particles(Box<particles::ParticlesPlan>),
    /// PDE.
    Pde(Box<pde::PdePlan>),
    /// Experiment.
    Compare(Box<compare::ComparePlan>),
}

impl RunSpec {
    /// Kind of run: `particles`, `pde`, `compare.<experiment>`.
    pub fn kind(&self) -> String {
        match self {
            RunSpec::Particles(_) => "particles".into(),
            RunSpec::Pde(_) => "pde".into(),
            RunSpec::Compare(c) => format!("compare.{}", c.name()),
        }
    }

    /// The output directory (`out`).
    pub fn out(&self) -> Option<&Path> {
        match self {
            RunSpec::Particles(p) => p.out.as_deref(),
            RunSpec::Pde(p) => p.out.as_deref(),
            RunSpec::Compare(c) => c.out(),
        }
    }

    /// The output directory field, mutably.
    pub fn out_mut(&mut self) -> &mut Option<PathBuf> {
        match self {
            RunSpec::Particles(p) => &mut p.out,
            RunSpec::Pde(p) => &mut p.out,
            RunSpec::Compare(c) => c.out_mut(),
        }
    }

    /// Check every field and fill in every default; parameter errors name the field with its
    /// table (`particles.t_end`). Nothing is written.
    pub fn resolve(&self) -> Result<(RunSpec, Plan)> {
        let kind = self.kind();
        let r = match self {
            RunSpec::Particles(s) => s.resolve().map(|p| {
                (
                    RunSpec::Particles(p.spec.clone()),
                    Plan::Particles(Box::new(p)),
                )
            }),
            RunSpec::Pde(s) => s
                .resolve()
                .map(|p| (RunSpec::Pde(p.spec.clone()), Plan::Pde(Box::new(p)))),
            RunSpec::Compare(c) => c
                .resolve()
                .map(|(s, p)| (RunSpec::Compare(s), Plan::Compare(Box::new(p)))),
        };
        r.map_err(|e| e.in_table(&kind))
    }

    /// Wall-clock seconds between checkpoints (after [`RunSpec::resolve`]).
    pub fn checkpoint_every(&self) -> f64 {
        let v = match self {
            RunSpec::Particles(p) => p.checkpoint_every,
            RunSpec::Pde(p) => p.checkpoint_every,
            RunSpec::Compare(c) => Some(c.checkpoint_every()),
        };
        v.unwrap_or(particles::DEFAULT_CHECKPOINT_EVERY)
    }

    /// The specification as a TOML config file.
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).unwrap_or_default()
    }
}

impl Plan {
    /// Warnings to show the user before the run starts.
    pub fn warnings(&self) -> Vec<String> {
        match self {
            Plan::Particles(p) if p.init_rows_normalised > 0 => vec![format!(
                "{} rows of the init file were not unit vectors and were normalised",
                p.init_rows_normalised
            )],
            Plan::Pde(p) => p.warnings.clone(),
            _ => Vec::new(),
        }
    }
}

/// How a run ended, for the front end's summary line.
#[derive(Clone, Debug)]
pub struct RunOutcome {
    /// Output directory.
    pub out: PathBuf,
    /// Kind of run.
    pub kind: String,
    /// Final status.
    pub status: RunStatus,
    /// One line for the user: what was done and where the outputs are.
    pub summary: String,
}

fn conventions_of(plan: &Plan) -> serde_json::Value {
    match plan {
        Plan::Particles(_) => particles::conventions(),
        Plan::Pde(p) => pde::conventions(p.geometry),
        Plan::Compare(_) => serde_json::json!({
            "report.md": "what agreed and what did not, with numbers and 95% intervals",
            "data.json": "every number of the report",
            "time": "experiments report times and rates in the internal unit: tau = e^beta t for USA, t for SA",
        }),
    }
}

/// List every file under `dir` (relative paths), except the parts store.
fn list_files(dir: &Path) -> Vec<String> {
    fn walk(base: &Path, d: &Path, out: &mut Vec<String>) {
        if let Ok(rd) = std::fs::read_dir(d) {
            for e in rd.flatten() {
                let p = e.path();
                let name = e.file_name().to_string_lossy().into_owned();
                if name.starts_with('.') || name == outdir::PARTS_DIR {
                    continue;
                }
                if p.is_dir() {
                    walk(base, &p, out);
                } else if let Ok(rel) = p.strip_prefix(base) {
                    out.push(rel.to_string_lossy().into_owned());
                }
            }
        }
    }
    let mut v = Vec::new();
    walk(dir, dir, &mut v);
    v.sort();
    v
}

/// Run `plan` (resolved from `spec`) into `out`: the record is written at the start, at every
/// checkpoint and at the end; outputs are written as the run goes.
fn run_plan(
    spec: RunSpec,
    plan: &Plan,
    out: &Path,
    ctl: &RunControl,
    record: RunRecord,
    resume: bool,
) -> Result<RunOutcome> {
    let started = Instant::now();
    let wall_before = record.wall_time_seconds;
    let rec = Mutex::new(record);
    rec.lock().unwrap_or_else(|e| e.into_inner()).write(out)?;
    let result: Result<String> = match plan {
        Plan::Particles(p) => particles::execute(p, Some(out), Some(&rec), ctl, resume).map(|o| {
            let clusters: Vec<String> = o
                .systems
                .iter()
                .map(|s| s.final_cluster_sizes.len().to_string())
                .collect();
            format!(
                "{} system(s), {} steps, final clusters {} ({})",
                o.systems.len(),
                o.systems.iter().map(|s| s.steps).sum::<usize>(),
                clusters.join(","),
                o.method
            )
        }),
        Plan::Pde(p) => pde::execute(p, Some(out), Some(&rec), ctl, resume).map(|o| {
            format!(
                "{} outputs, {} steps, final L = {}",
                o.summary.frames, o.summary.steps_accepted, o.summary.final_lmax
            )
        }),
        Plan::Compare(p) => compare::execute(p, out, ctl).map(|_| "report.md".to_string()),
    };
    // The movie, once the run is complete.
    let movie = match &spec {
        RunSpec::Particles(s) if s.movie == Some(true) => s.movie_format,
        RunSpec::Pde(s) if s.movie == Some(true) => s.movie_format,
        _ => None,
    };
    let result = match (result, movie) {
        (Ok(what), Some(format)) => crate::plot::movie::write_movie(out, format).map(|m| {
            let names: Vec<String> = m
                .files
                .iter()
                .filter_map(|f| Some(f.file_name()?.to_string_lossy().into_owned()))
                .collect();
            let mut text = format!(
                "{what}; movie {} ({} frames at {:.1}/s)",
                names.join(", "),
                m.frames,
                m.fps
            );
            for n in m.notes {
                text += &format!("; {n}");
            }
            text
        }),
        (r, _) => r,
    };
    let mut record = rec.into_inner().unwrap_or_else(|e| e.into_inner());
    record.wall_time_seconds = wall_before + started.elapsed().as_secs_f64();
    let (status, message) = match &result {
        Ok(_) => (RunStatus::Completed, None),
        Err(e) => (RunStatus::of_error(e), Some(e.to_string())),
    };
    record.status = status;
    record.message = message;
    if status == RunStatus::Completed || matches!(plan, Plan::Compare(_)) {
        let mut files = list_files(out);
        files.retain(|f| !f.ends_with(".bin"));
        for f in &record.files {
            if out.join(f).is_file() && !files.contains(f) {
                files.push(f.clone());
            }
        }
        files.sort();
        record.files = files;
        if !record.files.iter().any(|f| f == outdir::RUN_RECORD) {
            record.files.insert(0, outdir::RUN_RECORD.into());
        }
    }
    record.write(out)?;
    // The interactive page of a completed particle or PDE run (crate::view; its caps keep it
    // a few MB). A page that cannot be written does not fail the finished run: the summary
    // says why.
    let mut result = result;
    if let (Ok(what), Plan::Particles(_) | Plan::Pde(_)) = (&mut result, plan) {
        match crate::view::write_view(out, None, &crate::view::ViewOptions::default()) {
            Ok(_) => {
                record.add_file(crate::view::VIEW_FILE);
                record.files.sort();
                record.write(out)?;
                what.push_str(", view.html");
            }
            Err(e) => what.push_str(&format!(" (view.html not written: {e})")),
        }
    }
    let kind = spec.kind();
    match result {
        Ok(what) => Ok(RunOutcome {
            out: out.to_path_buf(),
            kind: kind.clone(),
            status,
            summary: format!("{kind} completed: {what}; outputs in {}", out.display()),
        }),
        Err(Error::Interrupted(_)) => Err(Error::Interrupted(format!(
            "outputs so far and a checkpoint are in {0}; continue with: attnflow resume {0}",
            out.display()
        ))),
        Err(e) => Err(e),
    }
}

/// Run `spec` into its output directory (`out`, required). The directory must be new or
/// empty, or hold an earlier run and `overwrite` be set (only that run's files are removed).
/// Everything is validated before anything is written.
pub fn execute(spec: &RunSpec, ctl: &RunControl, overwrite: bool) -> Result<RunOutcome> {
    let (resolved, plan) = spec.resolve()?;
    let out = resolved.out().map(Path::to_path_buf).ok_or_else(|| {
        Error::parameter(
            format!("{}.out", spec.kind()),
            "(missing)",
            "an output directory (--out DIR, or out = \"DIR\" in the config file)",
        )
    })?;
    if let Plan::Pde(p) = &plan {
        let per_frame = 8.0 * (p.initial.len() as f64 * 8.0);
        limits::check_disk("the PDE outputs", per_frame * p.cfg.outputs as f64, &out)?;
    }
    outdir::claim(&out, overwrite)?;
    ctl.set_checkpoint_every(resolved.checkpoint_every());
    let record = RunRecord::new(
        resolved.clone(),
        serde_json::Value::Null,
        conventions_of(&plan),
    );
    run_plan(resolved, &plan, &out, ctl, record, false)
}

/// Run `spec` and warn about its plan first (`warn` receives each warning line).
pub fn execute_with_warnings(
    spec: &RunSpec,
    ctl: &RunControl,
    overwrite: bool,
    warn: &mut dyn FnMut(&str),
) -> Result<RunOutcome> {
    let (_, plan) = spec.resolve()?;
    for w in plan.warnings() {
        warn(&w);
    }
    execute(spec, ctl, overwrite)
}

/// Continue the run in `out` from its checkpoints (particles and PDE: bit-identical to an
/// uninterrupted run; experiments: from their completed sub-runs). A completed run is left as
/// it is.
pub fn resume(out: &Path, ctl: &RunControl) -> Result<RunOutcome> {
    let mut record = RunRecord::read(out)?;
    match record.status {
        RunStatus::Completed => {
            return Ok(RunOutcome {
                out: out.to_path_buf(),
                kind: record.kind.clone(),
                status: RunStatus::Completed,
                summary: format!(
                    "{} in {} is already completed; nothing to do",
                    record.kind,
                    out.display()
                ),
            })
        }
        RunStatus::Failed | RunStatus::ResolutionLost => {
            return Err(Error::parameter(
                "out",
                out.display(),
                format!(
                    "an interrupted run; this one ended with status {} ({}) and cannot be resumed",
                    record.status.name(),
                    record.message.clone().unwrap_or_default()
                ),
            ))
        }
        RunStatus::Running | RunStatus::Interrupted => {}
    }
    outdir::remove_stale_temporaries(out)?;
    let mut spec = record.spec.clone();
    *spec.out_mut() = Some(out.to_path_buf());
    let (resolved, plan) = spec.resolve()?;
    ctl.set_checkpoint_every(resolved.checkpoint_every());
    record.status = RunStatus::Running;
    record.message = None;
    record.resumed += 1;
    run_plan(resolved, &plan, out, ctl, record, true)
}
