//! The one error type of the library.
//!
//! Every fallible public function returns [`Result`]. Parameters are named by their *field*
//! name (`t_end`, `lmax_power`: the keys of config files and of the Python keyword arguments);
//! the command line adds the flag spelling (`--t-end`) with [`Error::with_flag_names`]. Each
//! error is one line; [`Error::exit_code`] gives the process exit status of the command line.

use std::path::PathBuf;

/// Errors reported to the user.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A parameter outside its accepted range.
    #[error("invalid {name} = {value}: accepted {accepted}")]
    Parameter {
        /// Field name (`t_end`), a dotted path in a config file (`particles.t_end`) or, on the
        /// command line, the flag (`--t-end`).
        name: String,
        /// The offending value, as given.
        value: String,
        /// What is accepted, in words (e.g. "a finite number > 0").
        accepted: String,
    },
    /// A malformed or inconsistent input file.
    #[error("{}: {message}", path.display())]
    Input {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
    /// An output that could not be written.
    #[error("cannot write {}: {message}", path.display())]
    Output {
        /// The path we tried to write.
        path: PathBuf,
        /// The operating-system reason.
        message: String,
    },
    /// A request that the machine cannot honour (memory, disk, number of steps), refused
    /// before anything runs; the message carries the estimate.
    #[error("{0}")]
    Resources(String),
    /// A computation that cannot deliver a trustworthy answer (e.g. a non-finite state).
    #[error("{0}")]
    Numerical(String),
    /// The PDE solver stopped because the density is no longer resolved at the largest
    /// degree it may use; every output before the stop is complete and resolved.
    #[error("{0}")]
    ResolutionLost(String),
    /// The run was interrupted (SIGINT/SIGTERM or a stop request); its outputs are consistent
    /// and, where the run checkpoints, it can be resumed.
    #[error("interrupted{}", if .0.is_empty() { String::new() } else { format!(": {}", .0) })]
    Interrupted(String),
}

/// Result alias with the crate's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// Shorthand for [`Error::Parameter`]; `name` is the field name.
    pub fn parameter(
        name: impl Into<String>,
        value: impl ToString,
        accepted: impl Into<String>,
    ) -> Self {
        Error::Parameter {
            name: name.into(),
            value: value.to_string(),
            accepted: accepted.into(),
        }
    }

    /// Prefix the parameter name with the table it belongs to (`particles.beta`); other
    /// errors are returned unchanged.
    pub fn in_table(self, table: &str) -> Self {
        match self {
            Error::Parameter {
                name,
                value,
                accepted,
            } => Error::Parameter {
                name: format!("{table}.{name}"),
                value,
                accepted,
            },
            e => e,
        }
    }

    /// The command-line spelling: parameter names become flags (`t_end` and
    /// `particles.t_end` -> `--t-end`).
    pub fn with_flag_names(self) -> Self {
        match self {
            Error::Parameter {
                name,
                value,
                accepted,
            } => {
                let field = name.rsplit('.').next().unwrap_or(&name);
                Error::Parameter {
                    name: format!("--{}", field.replace('_', "-")),
                    value,
                    accepted,
                }
            }
            e => e,
        }
    }

    /// Exit status of the command line for this error: 2 bad input (parameters, input files,
    /// unwritable outputs, refused resources), 3 resolution lost, 130 interrupted, 1 other
    /// failures of a run.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Parameter { .. } | Error::Input { .. } | Error::Output { .. } => 2,
            Error::Resources(_) => 2,
            Error::ResolutionLost(_) => 3,
            Error::Interrupted(_) => 130,
            Error::Numerical(_) => 1,
        }
    }
}

/// Check that `value` is finite and strictly positive; `name` is the field name.
pub fn require_positive(name: &str, value: f64) -> Result<f64> {
    if value.is_finite() && value > 0.0 {
        Ok(value)
    } else {
        Err(Error::parameter(name, value, "a finite number > 0"))
    }
}

/// Check that `value` is finite and lies in `[lo, hi]`.
pub fn require_in_range(name: &str, value: f64, lo: f64, hi: f64) -> Result<f64> {
    if value.is_finite() && value >= lo && value <= hi {
        Ok(value)
    } else {
        Err(Error::parameter(
            name,
            value,
            format!("a finite number in [{}, {}]", short(lo), short(hi)),
        ))
    }
}

/// Check that the integer `value` lies in `[lo, hi]`.
pub fn require_count(name: &str, value: usize, lo: usize, hi: usize) -> Result<usize> {
    if value >= lo && value <= hi {
        Ok(value)
    } else if hi == usize::MAX {
        Err(Error::parameter(name, value, format!("an integer >= {lo}")))
    } else {
        Err(Error::parameter(
            name,
            value,
            format!("an integer in [{lo}, {}]", short(hi as f64)),
        ))
    }
}

/// Compact text for a range bound: `1e-6`, `100000` -> `1e5`, `2.5`.
pub fn short(v: f64) -> String {
    let plain = format!("{v}");
    let sci = format!("{v:e}");
    if sci.len() < plain.len() {
        sci
    } else {
        plain
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positive_rejects_nan_zero_negative_and_infinity() {
        for v in [f64::NAN, 0.0, -1.0, f64::INFINITY] {
            assert!(require_positive("beta", v).is_err(), "{v}");
        }
        assert_eq!(require_positive("beta", 2.5).unwrap(), 2.5);
        let msg = require_positive("beta", -1.0).unwrap_err().to_string();
        assert_eq!(msg, "invalid beta = -1: accepted a finite number > 0");
    }

    #[test]
    fn names_become_paths_or_flags() {
        let e = require_positive("t_end", -1.0).unwrap_err();
        assert_eq!(
            e.with_flag_names().to_string(),
            "invalid --t-end = -1: accepted a finite number > 0"
        );
        let e = require_positive("t_end", -1.0).unwrap_err().in_table("pde");
        assert_eq!(
            e.to_string(),
            "invalid pde.t_end = -1: accepted a finite number > 0"
        );
        assert!(e
            .with_flag_names()
            .to_string()
            .starts_with("invalid --t-end = -1"));
    }

    #[test]
    fn range_is_inclusive() {
        assert!(require_in_range("x", 1.0, 1.0, 2.0).is_ok());
        assert!(require_in_range("x", 2.0, 1.0, 2.0).is_ok());
        assert!(require_in_range("x", 2.0001, 1.0, 2.0).is_err());
        assert!(require_count("n", 0, 1, 10).is_err());
        assert_eq!(require_count("n", 10, 1, 10).unwrap(), 10);
    }
}
