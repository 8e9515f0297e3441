//! The one error type of the library.
//!
//! Every fallible public function returns [`Result`]. The command line prints the
//! `Display` form as a single line on stderr and exits with status 2.

use std::path::PathBuf;

/// Errors reported to the user.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A parameter outside its accepted range.
    #[error("invalid --{name} {value}: accepted {accepted}")]
    Parameter {
        /// Parameter name as spelled on the command line, without the leading dashes.
        name: &'static str,
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
    /// A computation that cannot deliver a trustworthy answer (e.g. lost resolution).
    #[error("{0}")]
    Numerical(String),
}

/// Result alias with the crate's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// Shorthand for [`Error::Parameter`].
    pub fn parameter(
        name: &'static str,
        value: impl ToString,
        accepted: impl Into<String>,
    ) -> Self {
        Error::Parameter {
            name,
            value: value.to_string(),
            accepted: accepted.into(),
        }
    }
}

/// Check that `value` is finite and strictly positive; `name` is the command-line name.
pub fn require_positive(name: &'static str, value: f64) -> Result<f64> {
    if value.is_finite() && value > 0.0 {
        Ok(value)
    } else {
        Err(Error::parameter(name, value, "a finite number > 0"))
    }
}

/// Check that `value` is finite and lies in `[lo, hi]`.
pub fn require_in_range(name: &'static str, value: f64, lo: f64, hi: f64) -> Result<f64> {
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

/// Compact text for a range bound: `1e-6`, `100000` -> `1e5`, `2.5`.
fn short(v: f64) -> String {
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
        assert_eq!(msg, "invalid --beta -1: accepted a finite number > 0");
    }

    #[test]
    fn range_is_inclusive() {
        assert!(require_in_range("x", 1.0, 1.0, 2.0).is_ok());
        assert!(require_in_range("x", 2.0, 1.0, 2.0).is_ok());
        assert!(require_in_range("x", 2.0001, 1.0, 2.0).is_err());
    }
}
