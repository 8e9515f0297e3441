//! The output directory of a run: claiming it (new, empty, or an earlier run the user asked to
//! overwrite), the series tables appended row by row, and the list of files a run wrote.
//!
//! A directory that holds another run is never mixed with a new one: it is refused, unless
//! the user asks to overwrite it (then only the files that the earlier run wrote are removed)
//! or resumes it.

use crate::io::format_number;
use crate::{Error, Result};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Name of the run record in every output directory.
pub const RUN_RECORD: &str = "run.json";

/// True for file names that some run of attnflow writes (used to clean up after an earlier run
/// whose record is incomplete).
pub fn is_run_output(name: &str) -> bool {
    let stem_ext = |prefix: &str, ext: &str| name.starts_with(prefix) && name.ends_with(ext);
    name == RUN_RECORD
        || name == "report.md"
        || name == "data.json"
        || name == "view.html"
        || stem_ext("series", ".csv")
        || stem_ext("snapshots", ".csv")
        || stem_ext("checkpoint", ".bin")
        || stem_ext("x_", ".npy")
        || stem_ext("movie", ".npy")
        || name == "movie.csv"
        || name == "movie.gif"
        || name == "movie.mp4"
        || stem_ext("coeffs_", ".npy")
        || stem_ext("density_", ".npy")
        || stem_ext("grid_L", ".npy")
        || stem_ext("degrees_L", ".npy")
        || (name.starts_with('.') && name.contains(".tmp-"))
}

fn out_error(dir: &Path, message: String) -> Error {
    Error::Output {
        path: dir.to_path_buf(),
        message,
    }
}

/// Visible entries of `dir` (names not starting with `.`).
fn visible_entries(dir: &Path) -> Result<Vec<String>> {
    let rd = fs::read_dir(dir).map_err(|e| out_error(dir, e.to_string()))?;
    let mut names = Vec::new();
    for e in rd {
        let e = e.map_err(|e| out_error(dir, e.to_string()))?;
        let name = e.file_name().to_string_lossy().into_owned();
        if !name.starts_with('.') {
            names.push(name);
        }
    }
    names.sort();
    Ok(names)
}

/// Prepare `dir` for a new run: create it if missing; accept it if empty; if it holds an
/// earlier run, refuse unless `overwrite` (then remove the files that run wrote: those listed
/// in its record and those named like run outputs, plus its `parts/` directory); refuse a
/// non-empty directory that holds no run. Checks that the directory is writable.
pub fn claim(dir: &Path, overwrite: bool) -> Result<()> {
    if dir.exists() && !dir.is_dir() {
        return Err(out_error(dir, "exists and is not a directory".into()));
    }
    if dir.is_dir() {
        let names = visible_entries(dir)?;
        if !names.is_empty() {
            let record = dir.join(RUN_RECORD);
            if !record.is_file() {
                return Err(Error::parameter(
                    "out",
                    dir.display(),
                    format!(
                        "a new or empty directory (it holds {} entries that are not an attnflow run, e.g. {})",
                        names.len(),
                        names[0]
                    ),
                ));
            }
            if !overwrite {
                let what = describe_record(&record);
                return Err(Error::parameter(
                    "out",
                    dir.display(),
                    format!(
                        "a new or empty directory; it holds an earlier run ({what}): resume it (attnflow resume {}) or overwrite it (--overwrite / overwrite = true)",
                        dir.display()
                    ),
                ));
            }
            remove_run_files(dir)?;
        }
    }
    fs::create_dir_all(dir).map_err(|e| out_error(dir, e.to_string()))?;
    let probe = dir.join(format!(".attnflow-write-probe-{}", std::process::id()));
    fs::File::create(&probe)
        .map_err(|e| out_error(dir, format!("directory is not writable ({e})")))?;
    let _ = fs::remove_file(&probe);
    Ok(())
}

/// Remove temporary files (`.NAME.tmp-PID...`) that a killed process left behind in `dir`
/// while writing atomically; the files they were to replace are intact. Called when a run is
/// resumed, so a resumed directory holds exactly what an uninterrupted run writes.
pub fn remove_stale_temporaries(dir: &Path) -> Result<()> {
    for e in fs::read_dir(dir).map_err(|e| out_error(dir, e.to_string()))? {
        let e = e.map_err(|e| out_error(dir, e.to_string()))?;
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') && name.contains(".tmp-") && e.path().is_file() {
            let p = e.path();
            fs::remove_file(&p).map_err(|e| out_error(&p, e.to_string()))?;
        }
    }
    Ok(())
}

fn describe_record(path: &Path) -> String {
    let text = fs::read_to_string(path).unwrap_or_default();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
    let kind = v["kind"].as_str().unwrap_or("unknown kind");
    let status = v["status"].as_str().unwrap_or("unknown status");
    format!("{kind}, {status}")
}

/// Remove what an earlier run wrote into `dir` (listed files, run-output names, `parts/`).
fn remove_run_files(dir: &Path) -> Result<()> {
    let text = fs::read_to_string(dir.join(RUN_RECORD)).unwrap_or_default();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
    let mut names: Vec<String> = v["files"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    for e in fs::read_dir(dir).map_err(|e| out_error(dir, e.to_string()))? {
        let e = e.map_err(|e| out_error(dir, e.to_string()))?;
        let name = e.file_name().to_string_lossy().into_owned();
        if is_run_output(&name) {
            names.push(name);
        }
    }
    for name in names {
        // Only relative paths inside `dir`: a record cannot make us delete elsewhere.
        let rel = Path::new(&name);
        if rel.is_absolute()
            || rel
                .components()
                .any(|c| !matches!(c, std::path::Component::Normal(_)))
        {
            continue;
        }
        let p = dir.join(&name);
        if p.is_file() {
            fs::remove_file(&p).map_err(|e| out_error(&p, e.to_string()))?;
        }
    }
    let parts = dir.join(PARTS_DIR);
    if parts.is_dir() {
        fs::remove_dir_all(&parts).map_err(|e| out_error(&parts, e.to_string()))?;
    }
    Ok(())
}

/// Sub-directory where experiments keep their completed sub-runs until they finish.
pub const PARTS_DIR: &str = "parts";

/// A CSV table written row by row: each row is appended with one write and flushed, so a
/// reader (or an interrupted run) always sees whole rows.
pub struct SeriesWriter {
    path: PathBuf,
    file: fs::File,
}

impl SeriesWriter {
    /// Start the table `path` with `header` and the given `rows` (written atomically), then
    /// open it for appending. A resumed run passes the rows of its checkpoint, so the table
    /// continues exactly where the checkpoint was taken.
    pub fn create(path: &Path, header: &[String], rows: &[Vec<f64>]) -> Result<Self> {
        let mut text = header.join(",");
        text.push('\n');
        for r in rows {
            text.push_str(&line(r));
        }
        crate::io::write_atomic(path, text.as_bytes())?;
        let file = fs::OpenOptions::new()
            .append(true)
            .open(path)
            .map_err(|e| out_error(path, e.to_string()))?;
        Ok(SeriesWriter {
            path: path.to_path_buf(),
            file,
        })
    }

    /// Append one row and flush it.
    pub fn append(&mut self, values: &[f64]) -> Result<()> {
        self.file
            .write_all(line(values).as_bytes())
            .and_then(|_| self.file.flush())
            .map_err(|e| out_error(&self.path, e.to_string()))
    }
}

fn line(values: &[f64]) -> String {
    let mut s = values
        .iter()
        .map(|v| format_number(*v))
        .collect::<Vec<_>>()
        .join(",");
    s.push('\n');
    s
}

/// Parse a CSV table written by this module: header and rows of numbers (`nan`, `inf` included).
pub fn read_table(path: &Path) -> Result<(Vec<String>, Vec<Vec<f64>>)> {
    let bad = |message: String| Error::Input {
        path: path.to_path_buf(),
        message,
    };
    let text = fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
    let mut lines = text.lines();
    let header: Vec<String> = lines
        .next()
        .ok_or_else(|| bad("empty table".into()))?
        .split(',')
        .map(str::to_string)
        .collect();
    let mut rows = Vec::new();
    for (i, l) in lines.enumerate() {
        let r = l
            .split(',')
            .map(|v| v.parse::<f64>())
            .collect::<std::result::Result<Vec<f64>, _>>()
            .map_err(|e| bad(format!("row {}: {e}", i + 1)))?;
        if r.len() != header.len() {
            return Err(bad(format!("row {} has {} values", i + 1, r.len())));
        }
        rows.push(r);
    }
    Ok((header, rows))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("attnflow-outdir-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        d
    }

    #[test]
    fn claim_refuses_foreign_and_earlier_runs_and_overwrites_only_run_files() {
        let d = scratch("claim");
        claim(&d, false).unwrap();
        claim(&d, false).unwrap(); // empty: fine
        fs::write(d.join("notes.txt"), b"mine").unwrap();
        let e = claim(&d, true).unwrap_err().to_string();
        assert!(e.contains("not an attnflow run"), "{e}");
        fs::write(
            d.join(RUN_RECORD),
            br#"{"kind":"pde","status":"completed","files":["series.csv"]}"#,
        )
        .unwrap();
        fs::write(d.join("series.csv"), b"t\n").unwrap();
        fs::write(d.join("x_000001.npy"), b"x").unwrap();
        let e = claim(&d, false).unwrap_err().to_string();
        assert!(e.contains("pde, completed") && e.contains("resume"), "{e}");
        claim(&d, true).unwrap();
        let left = visible_entries(&d).unwrap();
        assert_eq!(left, vec!["notes.txt".to_string()]);
    }

    #[test]
    fn series_writer_appends_whole_rows_and_restarts_from_rows() {
        let d = scratch("series");
        fs::create_dir_all(&d).unwrap();
        let p = d.join("series.csv");
        let h = vec!["t".to_string(), "x".to_string()];
        let mut w = SeriesWriter::create(&p, &h, &[]).unwrap();
        w.append(&[0.0, 1.0 / 3.0]).unwrap();
        w.append(&[1.0, f64::NAN]).unwrap();
        let (hh, rows) = read_table(&p).unwrap();
        assert_eq!(hh, h);
        assert_eq!(rows[0], vec![0.0, 1.0 / 3.0]);
        assert!(rows[1][1].is_nan());
        drop(w);
        let mut w = SeriesWriter::create(&p, &h, &rows[..1]).unwrap();
        w.append(&[2.0, 2.0]).unwrap();
        assert_eq!(
            fs::read_to_string(&p).unwrap(),
            format!("t,x\n0,{}\n2,2\n", 1.0 / 3.0)
        );
    }
}
