//! Completed sub-runs of an experiment, kept on disk until the experiment finishes, so that an
//! interrupted experiment resumes at the granularity of whole sub-runs (one system of an
//! ensemble, one PDE run, one beta of a sweep).
//!
//! Each part is a file `parts/<key>.bin` holding the sub-run's result in an exact binary
//! encoding (postcard: every `f64` bit for bit, NaN included), written atomically. The
//! experiment removes the directory when it has written its report.

use crate::control::RunControl;
use crate::{Error, Result};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::path::{Path, PathBuf};

/// The parts store of one experiment run, with its run control.
pub struct Parts<'a> {
    dir: Option<PathBuf>,
    ctl: &'a RunControl,
    prefix: String,
    done: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl<'a> Parts<'a> {
    /// Parts kept under `out/parts` (`out = None`: nothing is kept, for in-memory runs).
    pub fn new(out: Option<&Path>, ctl: &'a RunControl) -> Self {
        Parts {
            dir: out.map(|o| o.join(crate::run::outdir::PARTS_DIR)),
            ctl,
            prefix: String::new(),
            done: Default::default(),
        }
    }

    /// A store that keeps nothing and never stops (tests, library callers).
    pub fn none(ctl: &'a RunControl) -> Self {
        Parts {
            dir: None,
            ctl,
            prefix: String::new(),
            done: Default::default(),
        }
    }

    /// The same store with keys prefixed by `prefix` (for a sub-experiment).
    pub fn scoped(&self, prefix: &str) -> Parts<'a> {
        Parts {
            dir: self.dir.clone(),
            ctl: self.ctl,
            prefix: format!("{}{prefix}_", self.prefix),
            done: self.done.clone(),
        }
    }

    /// The run control.
    pub fn control(&self) -> &RunControl {
        self.ctl
    }

    /// The result of the sub-run `key`: read if an earlier session completed it, otherwise
    /// computed by `compute` (which is not started once a stop was requested) and stored.
    /// Progress is reported as the number of sub-runs done (fraction unknown: NaN).
    pub fn get<T, F>(&self, key: &str, compute: F) -> Result<T>
    where
        T: Serialize + DeserializeOwned,
        F: FnOnce() -> Result<T>,
    {
        let path = self
            .dir
            .as_ref()
            .map(|d| d.join(format!("{}{key}.bin", self.prefix)));
        if let Some(p) = &path {
            if p.is_file() {
                let bytes = std::fs::read(p).map_err(|e| Error::Input {
                    path: p.clone(),
                    message: e.to_string(),
                })?;
                return postcard::from_bytes(&bytes).map_err(|e| Error::Input {
                    path: p.clone(),
                    message: format!("damaged part of an interrupted experiment: {e}"),
                });
            }
        }
        self.ctl.check()?;
        let value = compute()?;
        let done = self.done.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
        self.ctl
            .progress(f64::NAN, &format!("{done} sub-runs done"));
        if let Some(p) = &path {
            if let Some(d) = p.parent() {
                std::fs::create_dir_all(d).map_err(|e| Error::Output {
                    path: d.to_path_buf(),
                    message: e.to_string(),
                })?;
            }
            let bytes = postcard::to_stdvec(&value).map_err(|e| Error::Output {
                path: p.clone(),
                message: e.to_string(),
            })?;
            crate::io::write_atomic(p, &bytes)?;
        }
        Ok(value)
    }

    /// Remove the stored parts (the experiment is complete).
    pub fn clear(&self) {
        if let Some(d) = &self.dir {
            let _ = std::fs::remove_dir_all(d);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_are_computed_once_and_restored_exactly() {
        let out = std::env::temp_dir().join(format!("attnflow-parts-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&out);
        let ctl = RunControl::new();
        let parts = Parts::new(Some(&out), &ctl);
        let v: Vec<f64> = parts.get("a", || Ok(vec![0.1, f64::NAN, -0.0])).unwrap();
        let again: Vec<f64> = parts.get("a", || panic!("recomputed")).unwrap();
        let bits = |x: &[f64]| x.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&v), bits(&again));
        ctl.stop_flag().request();
        assert!(parts.get::<Vec<f64>, _>("b", || Ok(vec![])).is_err());
        parts.clear();
        assert!(!out.join("parts").exists());
    }
}
