//! Helpers shared by the integration tests that drive the `attnflow` binary: scratch
//! directories, running the command line, and the contract for bad input (exit status 2, one
//! line on stderr naming the problem, no panic, nothing on stdout).
//!
//! Used as `mod common;` from a test file; a test file uses only some of the helpers.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The `attnflow` binary built for this test run.
pub fn attnflow() -> Command {
    Command::new(env!("CARGO_BIN_EXE_attnflow"))
}

/// A fresh (removed if present, not created) directory under the system temporary directory,
/// unique to this test process: `attnflow-<tag>-<name>-<pid>`.
pub fn scratch(tag: &str, name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("attnflow-{tag}-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

/// Run `attnflow ARGS` and collect its output.
pub fn run(args: &[&str]) -> Output {
    attnflow().args(args).output().expect("run attnflow")
}

/// `o` (the output of `attnflow ARGS`) succeeded; its stdout.
pub fn assert_success(args: &[&str], o: &Output) -> String {
    assert!(
        o.status.success(),
        "{args:?}: status {:?}\nstdout: {}\nstderr: {}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Run `attnflow ARGS`, which must succeed; its stdout.
pub fn ok(args: &[&str]) -> String {
    assert_success(args, &run(args))
}

/// Run `attnflow ARGS`, which must succeed and print JSON; the parsed document.
pub fn json(args: &[&str]) -> serde_json::Value {
    let o = run(args);
    assert_success(args, &o);
    serde_json::from_slice(&o.stdout).expect("valid JSON")
}

/// `o` (the output of `attnflow ARGS`) is a refusal of bad input: exit status 2, exactly one
/// line on stderr containing every one of `needles`, no panic text or backtrace, nothing on
/// stdout. Returns stderr.
pub fn assert_refusal(args: &[&str], o: &Output, needles: &[&str]) -> String {
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
    assert_eq!(
        err.lines().count(),
        1,
        "{args:?}: want one line, got {err:?}"
    );
    assert!(
        !err.contains("panicked") && !err.contains("backtrace"),
        "{args:?}: {err}"
    );
    for n in needles {
        assert!(err.contains(n), "{args:?}: {err:?} lacks {n:?}");
    }
    assert!(
        o.stdout.is_empty(),
        "{args:?}: stdout {:?}",
        String::from_utf8_lossy(&o.stdout)
    );
    err
}

/// Run `attnflow ARGS`, which must be refused as in [`assert_refusal`]; stderr.
pub fn refused(args: &[&str], needles: &[&str]) -> String {
    assert_refusal(args, &run(args), needles)
}

/// Width, height (from the IHDR chunk) and size in bytes of the PNG at `path`.
pub fn png_info(path: &Path) -> (u32, u32, u64) {
    let b = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(&b[..8], b"\x89PNG\r\n\x1a\n", "{} is a PNG", path.display());
    assert_eq!(&b[12..16], b"IHDR", "{}", path.display());
    let w = u32::from_be_bytes(b[16..20].try_into().unwrap());
    let h = u32::from_be_bytes(b[20..24].try_into().unwrap());
    (w, h, b.len() as u64)
}
