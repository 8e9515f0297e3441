//! `run.json`: the record every run writes, under one schema for every kind of run.
//!
//! It holds the fully resolved specification (every default filled in, the seed), so that
//! `attnflow run OUT/run.json --out NEW` reproduces the run bit for bit, the attnflow version,
//! the status, what was derived from the specification (internal times, the summation method
//! used, ...), the results summary, the meaning of every output column, and the files written.
//! It is rewritten atomically when the run starts, at every checkpoint and when it ends.

use super::RunSpec;
use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Schema tag of `run.json`.
pub const SCHEMA: &str = "attnflow-run/1";

/// Where a run stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// Started and not ended (or killed without a chance to say so).
    Running,
    /// Every output is written.
    Completed,
    /// Stopped by a signal or a stop request; `attnflow resume` continues it.
    Interrupted,
    /// The PDE solver ran out of resolution (exit status 3); outputs before are complete.
    ResolutionLost,
    /// Stopped by an error (message in `message`).
    Failed,
}

impl RunStatus {
    /// Lower-case name (as in `run.json`).
    pub fn name(self) -> &'static str {
        match self {
            RunStatus::Running => "running",
            RunStatus::Completed => "completed",
            RunStatus::Interrupted => "interrupted",
            RunStatus::ResolutionLost => "resolution_lost",
            RunStatus::Failed => "failed",
        }
    }

    /// The status that an error ends a run with.
    pub fn of_error(e: &Error) -> Self {
        match e {
            Error::Interrupted(_) => RunStatus::Interrupted,
            Error::ResolutionLost(_) => RunStatus::ResolutionLost,
            _ => RunStatus::Failed,
        }
    }
}

/// The contents of `run.json`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RunRecord {
    /// [`SCHEMA`].
    pub schema: String,
    /// Version of attnflow that wrote the record.
    pub attnflow_version: String,
    /// Kind of run: `particles`, `pde`, `compare.<experiment>`.
    pub kind: String,
    /// Where the run stands.
    pub status: RunStatus,
    /// Why it stopped (errors, interruptions); `null` otherwise.
    pub message: Option<String>,
    /// The resolved specification: a valid config file for `attnflow run`.
    pub spec: RunSpec,
    /// Quantities derived from the specification (internal times, method used, ...).
    pub derived: serde_json::Value,
    /// Results summary (steps, clusters, refinements, ...), filled as the run goes.
    pub results: serde_json::Value,
    /// Meaning of every output column and file.
    pub conventions: serde_json::Value,
    /// Files written into the output directory (names relative to it).
    pub files: Vec<String>,
    /// How many times the run was resumed.
    pub resumed: usize,
    /// Wall-clock seconds spent so far, over all sessions.
    pub wall_time_seconds: f64,
}

impl RunRecord {
    /// A record for a run that is starting.
    pub fn new(spec: RunSpec, derived: serde_json::Value, conventions: serde_json::Value) -> Self {
        RunRecord {
            schema: SCHEMA.into(),
            attnflow_version: env!("CARGO_PKG_VERSION").into(),
            kind: spec.kind(),
            status: RunStatus::Running,
            message: None,
            spec,
            derived,
            results: serde_json::Value::Null,
            conventions,
            files: vec![super::outdir::RUN_RECORD.into()],
            resumed: 0,
            wall_time_seconds: 0.0,
        }
    }

    /// Add `name` to the file list (once).
    pub fn add_file(&mut self, name: impl Into<String>) {
        let name = name.into();
        if !self.files.contains(&name) {
            self.files.push(name);
        }
    }

    /// Remove `name` from the file list.
    pub fn remove_file(&mut self, name: &str) {
        self.files.retain(|f| f != name);
    }

    /// Write `dir/run.json` atomically.
    pub fn write(&self, dir: &Path) -> Result<()> {
        crate::io::write_json(&dir.join(super::outdir::RUN_RECORD), self)
    }

    /// Read `dir/run.json`.
    pub fn read(dir: &Path) -> Result<Self> {
        let path = dir.join(super::outdir::RUN_RECORD);
        let text = std::fs::read_to_string(&path).map_err(|e| Error::Input {
            path: path.clone(),
            message: format!("cannot read the run record: {e}"),
        })?;
        serde_json::from_str(&text).map_err(|e| Error::Input {
            path,
            message: format!("not a run record of this version of attnflow: {e}"),
        })
    }
}
