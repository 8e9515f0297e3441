//! Config files: TOML (or JSON) with exactly one top-level table naming the kind of run —
//! `[particles]`, `[pde]` or `[compare.<experiment>]` — whose keys are the run's fields. A
//! `run.json` written by a run is accepted too (its resolved specification is used).
//!
//! Errors name the key (`particles.betta: unknown field ...`) in one line.

use super::record::SCHEMA;
use super::RunSpec;
use crate::{Error, Result};
use std::path::Path;

const KINDS: &str = "[particles], [pde] or [compare.<experiment>]";

fn input_error(path: &Path, message: impl Into<String>) -> Error {
    Error::Input {
        path: path.to_path_buf(),
        message: message.into(),
    }
}

/// Check the top-level structure: exactly one kind, and for `compare` exactly one experiment.
fn check_kinds(path: &Path, keys: &[String], compare_keys: Option<Vec<String>>) -> Result<()> {
    match keys.len() {
        0 => {
            return Err(input_error(
                path,
                format!("no run in the file: expected one table {KINDS}"),
            ))
        }
        1 => {}
        _ => {
            return Err(input_error(
                path,
                format!(
                    "one run per file: found tables {}; keep exactly one of {KINDS}",
                    keys.join(", ")
                ),
            ))
        }
    }
    let k = &keys[0];
    if !["particles", "pde", "compare"].contains(&k.as_str()) {
        return Err(input_error(
            path,
            format!("unknown kind of run [{k}]: expected {KINDS}"),
        ));
    }
    if let Some(sub) = compare_keys {
        if sub.len() != 1 {
            return Err(input_error(
                path,
                format!(
                    "[compare] must hold exactly one experiment table (e.g. [compare.growth]); found {}",
                    if sub.is_empty() { "none".to_string() } else { sub.join(", ") }
                ),
            ));
        }
    }
    Ok(())
}

/// One-line text of a deserialisation error with its key path.
fn path_error<E: std::fmt::Display>(path: &Path, e: serde_path_to_error::Error<E>) -> Error {
    let key = e.path().to_string();
    let inner = e.inner().to_string();
    let inner = inner.lines().map(str::trim).collect::<Vec<_>>().join(" ");
    input_error(path, format!("{key}: {inner}"))
}

/// Parse a config `text` (TOML, or JSON when `json`); `path` names it in errors.
pub fn parse_config(path: &Path, text: &str, json: bool) -> Result<RunSpec> {
    if json {
        let v: serde_json::Value = serde_json::from_str(text)
            .map_err(|e| input_error(path, format!("not valid JSON: {e}")))?;
        // A run record: use its resolved specification.
        let v = if v.get("schema").and_then(|s| s.as_str()) == Some(SCHEMA) {
            v.get("spec")
                .cloned()
                .ok_or_else(|| input_error(path, "run record without a spec"))?
        } else {
            v
        };
        let obj = v
            .as_object()
            .ok_or_else(|| input_error(path, format!("expected an object with one key {KINDS}")))?;
        let keys: Vec<String> = obj.keys().cloned().collect();
        let sub = obj
            .get("compare")
            .and_then(|c| c.as_object())
            .map(|o| o.keys().cloned().collect());
        check_kinds(path, &keys, sub)?;
        serde_path_to_error::deserialize(v).map_err(|e| path_error(path, e))
    } else {
        let table: toml::Table = toml::from_str(text).map_err(|e| {
            let msg = e.to_string();
            let one = msg
                .lines()
                .map(str::trim)
                .filter(|l| {
                    !l.is_empty() && !l.starts_with('|') && !l.chars().all(|c| c == '^' || c == ' ')
                })
                .collect::<Vec<_>>()
                .join(" ");
            input_error(path, format!("not valid TOML: {one}"))
        })?;
        let keys: Vec<String> = table.keys().cloned().collect();
        let sub = table
            .get("compare")
            .and_then(|c| c.as_table())
            .map(|t| t.keys().cloned().collect());
        check_kinds(path, &keys, sub)?;
        serde_path_to_error::deserialize(toml::Value::Table(table)).map_err(|e| path_error(path, e))
    }
}

/// Read and parse the config file `path` (`.json`: JSON, anything else: TOML). A relative
/// `init` path is taken relative to the directory of the config file.
pub fn load_config(path: &Path) -> Result<RunSpec> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| input_error(path, format!("cannot read the config file: {e}")))?;
    let json = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"));
    let mut spec = parse_config(path, &text, json)?;
    // Input files named in the config are relative to the config file's directory.
    if let RunSpec::Particles(p) = &mut spec {
        if let Some(init) = p.init.as_mut().filter(|i| i.is_relative()) {
            if let Some(dir) = path.parent() {
                *init = dir.join(&*init);
            }
        }
    }
    Ok(spec)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<RunSpec> {
        parse_config(Path::new("c.toml"), text, false)
    }

    #[test]
    fn kinds_keys_and_types_are_checked_with_their_paths() {
        let s = parse("[particles]\ndim = 2\nn = 1e3\nbeta = 4.0\n").unwrap();
        match s {
            RunSpec::Particles(p) => {
                assert_eq!((p.dim, p.n, p.beta), (Some(2), Some(1000), Some(4.0)))
            }
            _ => panic!(),
        }
        let e = parse("[particles]\nbetta = 4.0\n").unwrap_err().to_string();
        assert!(e.contains("particles") && e.contains("betta"), "{e}");
        let e = parse("[particles]\nbeta = \"x\"\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("particles.beta") && e.contains("invalid type"),
            "{e}"
        );
        let e = parse("[particles]\nbeta = 1.0\n[pde]\nbeta = 1.0\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("one run per file"), "{e}");
        let e = parse("[compare.growth]\nn = 10\n[compare.onset]\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("exactly one experiment"), "{e}");
        let s = parse("[compare.pde-vs-particles]\nns = [100, 1e3]\n").unwrap();
        assert_eq!(s.kind(), "compare.pde-vs-particles");
        let e = parse("[particle]\n").unwrap_err().to_string();
        assert!(e.contains("unknown kind"), "{e}");
        assert!(!parse("x = [").unwrap_err().to_string().contains('\n'));
    }
}
