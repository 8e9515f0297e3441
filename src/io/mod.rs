//! Outputs and inputs: atomic file writes, `.npy` arrays, CSV tables and JSON records.
//!
//! Every file the tool writes goes through [`write_atomic`]: the bytes are written to a
//! temporary file in the destination directory and renamed over the target only when
//! complete, so an interrupted or failed run never leaves a half-written file in place of
//! one the user already had.

mod npy;

pub use npy::{
    read_npy_f64, read_npy_frames, write_npy_c64, write_npy_f64, NpyArray, NpyFrames,
    FRAMES_HEADER_LEN,
};

use crate::{Error, Result};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Write `bytes` to `path` atomically (temporary file in the same directory, then rename).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomic_with(path, |w| w.write_all(bytes))
}

/// Write to `path` atomically through a buffered writer filled by `fill`.
pub fn write_atomic_with<F>(path: &Path, fill: F) -> Result<()>
where
    F: FnOnce(&mut std::io::BufWriter<fs::File>) -> std::io::Result<()>,
{
    let out_err = |e: std::io::Error| Error::Output {
        path: path.to_path_buf(),
        message: e.to_string(),
    };
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "out".into());
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let result = (|| {
        let file = fs::File::create(&tmp)?;
        let mut w = std::io::BufWriter::new(file);
        fill(&mut w)?;
        let file = w.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if let Err(e) = result {
        let _ = fs::remove_file(&tmp);
        return Err(out_err(e));
    }
    Ok(())
}

/// Serialise `value` as pretty JSON (with a trailing newline) and write it atomically.
pub fn write_json<T: serde::Serialize>(path: &Path, value: &T) -> Result<()> {
    let mut text = serde_json::to_string_pretty(value).map_err(|e| Error::Output {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    text.push('\n');
    write_atomic(path, text.as_bytes())
}

/// Create the output directory `dir` (and parents) and check that it is writable.
///
/// Returns an [`Error::Output`] naming the directory if it cannot be created or written.
pub fn prepare_output_dir(dir: &Path) -> Result<()> {
    let err = |message: String| Error::Output {
        path: dir.to_path_buf(),
        message,
    };
    if dir.exists() && !dir.is_dir() {
        return Err(err("exists and is not a directory".into()));
    }
    fs::create_dir_all(dir).map_err(|e| err(e.to_string()))?;
    let probe = dir.join(format!(".attnflow-write-probe-{}", std::process::id()));
    fs::File::create(&probe).map_err(|e| err(format!("directory is not writable ({e})")))?;
    let _ = fs::remove_file(&probe);
    Ok(())
}

/// A simple CSV table: a header and rows of numbers, written atomically.
///
/// Numbers are written with Rust's shortest round-trip formatting (`{}` on `f64`), so the
/// file reproduces the values bit for bit; non-finite values are written as `nan`, `inf`, `-inf`.
#[derive(Clone, Debug, Default)]
pub struct CsvTable {
    header: Vec<String>,
    rows: Vec<String>,
}

impl CsvTable {
    /// A table with the given column names.
    pub fn new<S: Into<String>>(header: impl IntoIterator<Item = S>) -> Self {
        Self {
            header: header.into_iter().map(Into::into).collect(),
            rows: Vec::new(),
        }
    }

    /// Number of columns.
    pub fn columns(&self) -> usize {
        self.header.len()
    }

    /// Number of data rows.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// True when no data rows were added.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Append a row of values; panics if the length differs from the header (a programming error).
    pub fn push(&mut self, values: &[f64]) {
        assert_eq!(values.len(), self.header.len(), "CSV row length");
        let row: Vec<String> = values.iter().map(|v| format_number(*v)).collect();
        self.rows.push(row.join(","));
    }

    /// The CSV text, header first, one line per row, `\n` line endings.
    pub fn to_text(&self) -> String {
        let mut s = self.header.join(",");
        s.push('\n');
        for r in &self.rows {
            s.push_str(r);
            s.push('\n');
        }
        s
    }

    /// Write the table atomically to `path`.
    pub fn write(&self, path: &Path) -> Result<()> {
        write_atomic(path, self.to_text().as_bytes())
    }
}

/// Shortest round-trip text of `v`; integers without a decimal point; `nan`/`inf` spelled out.
pub fn format_number(v: f64) -> String {
    if v.is_nan() {
        "nan".into()
    } else if v.is_infinite() {
        if v > 0.0 {
            "inf".into()
        } else {
            "-inf".into()
        }
    } else if v == 0.0 || (1e-5..1e16).contains(&v.abs()) {
        format!("{v}")
    } else {
        // Shortest round-trip digits in exponent form (plain form would spell out every zero).
        format!("{v:e}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("attnflow-io-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn atomic_write_replaces_and_leaves_no_temporary() {
        let d = scratch("atomic");
        let p = d.join("a.txt");
        write_atomic(&p, b"one").unwrap();
        write_atomic(&p, b"two").unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"two");
        let names: Vec<_> = fs::read_dir(&d)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 1, "{names:?}");
    }

    #[test]
    fn failed_fill_keeps_the_old_file() {
        let d = scratch("keep");
        let p = d.join("a.txt");
        write_atomic(&p, b"precious").unwrap();
        let r = write_atomic_with(&p, |w| {
            w.write_all(b"partial")?;
            Err(std::io::Error::other("boom"))
        });
        assert!(r.is_err());
        assert_eq!(fs::read(&p).unwrap(), b"precious");
        assert_eq!(fs::read_dir(&d).unwrap().count(), 1);
    }

    #[test]
    fn csv_round_trips_numbers() {
        let mut t = CsvTable::new(["t", "x"]);
        t.push(&[0.1, 1.0 / 3.0]);
        t.push(&[2.0, f64::NAN]);
        let text = t.to_text();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "t,x");
        let vals: Vec<f64> = lines[1].split(',').map(|s| s.parse().unwrap()).collect();
        assert_eq!(vals, vec![0.1, 1.0 / 3.0]);
        assert_eq!(lines[2], "2,nan");
        assert_eq!(format_number(4.5e-214), "4.5e-214");
        assert_eq!(format_number(1.25e300), "1.25e300");
        assert_eq!(format_number(-0.001), "-0.001");
        assert_eq!("1e-300".parse::<f64>().unwrap(), 1e-300);
    }

    #[test]
    fn output_dir_that_is_a_file_is_rejected() {
        let d = scratch("notdir");
        let f = d.join("file");
        fs::write(&f, b"x").unwrap();
        let e = prepare_output_dir(&f).unwrap_err().to_string();
        assert!(e.contains("not a directory"), "{e}");
    }
}
