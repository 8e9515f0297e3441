//! Parameter sweeps: a run configuration plus a `[sweep]` table of axes, expanded into a grid
//! of ordinary runs, each in its own directory with its own `run.json`, run on one machine or
//! sharded over a SLURM job array, and merged into one table, arrays and a summary figure.
//!
//! A sweep file is a config file of [`crate::run`] (one table `[particles]`, `[pde]` or
//! `[compare.<experiment>]`) with one more table:
//!
//! ```toml
//! [particles]
//! dim = 2
//! n = 500
//! [sweep]
//! beta = [1.0, 2.0, 4.0]          # a list of values
//! seed = { range = [0, 4] }       # 0, 1, 2, 3 (also [a, b, step])
//! # t_end = { linspace = [1, 5, 3] } or { geomspace = [0.1, 10, 5] }
//! # combine = "zip"              # pair the axes element by element (default "product")
//! ```
//!
//! Each axis names a field of the run's table; a grid point is the base specification with
//! those fields replaced. The replacement is made on the parsed values before the
//! specification is read, so any field can be swept and every check of the run layer applies:
//! an unknown field or a wrong type is reported as `sweep.<axis>`, and every point is resolved
//! (all defaults and ranges checked) before anything runs; a bad point stops the whole sweep
//! up front with its index and values.
//!
//! Points are numbered in row-major order (the last axis varies fastest, as `itertools.product`)
//! and run in `DIR/points/<index>/` (the index zero-padded). `DIR/sweep.json` is the manifest:
//! base specification, axes and the list of points with their values. Running a sweep again
//! skips completed points, resumes interrupted ones from their checkpoints and leaves failed
//! ones as they are (unless asked to retry them).
//!
//! Sharding ([`Shard`]) is **round-robin**: shard `i` of `n` runs the points `p` with
//! `p mod n = i`. Neighbouring points of a grid usually cost about the same and the cost
//! usually grows along an axis (`dim`, `n`, `beta`), so contiguous blocks would give one task
//! all the expensive points; round-robin spreads every region of the grid over all tasks, so
//! the tasks of an array finish at about the same time. Points are independent, so nothing
//! is lost by not keeping neighbours together.

pub mod merge;
pub mod slurm;

pub use merge::{merge, MergeOutcome};
pub use slurm::{sbatch_script, SbatchOptions};

use crate::control::RunControl;
use crate::run::{self, parse_config, RunRecord, RunSpec, RunStatus};
use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use std::path::{Path, PathBuf};

/// Schema tag of the manifest `sweep.json`.
pub const SCHEMA: &str = "attnflow-sweep/1";
/// File name of the manifest in the sweep directory.
pub const MANIFEST: &str = "sweep.json";
/// Sub-directory holding one directory per point.
pub const POINTS_DIR: &str = "points";
/// Largest number of points of one sweep.
pub const MAX_POINTS: usize = 1_000_000;

/// How the axes are combined into points.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Combine {
    /// Every combination (the default); the last axis varies fastest.
    Product,
    /// Element by element; every axis has the same length.
    Zip,
}

/// One axis of a sweep: a field of the run's table and its values.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SweepAxis {
    /// Field name (a dotted name reaches into a nested table).
    pub name: String,
    /// Values, in order.
    pub values: Vec<Value>,
}

/// One grid point: its index, directory (relative to the sweep directory) and axis values.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SweepPoint {
    /// Index in row-major order.
    pub index: usize,
    /// Directory relative to the sweep directory (`points/007`).
    pub dir: String,
    /// Value of every axis, in axis order.
    pub values: Vec<Value>,
}

/// A parsed sweep file: the base specification (as data), the axes and the points.
#[derive(Clone, Debug)]
pub struct Sweep {
    /// The file it came from (named in errors).
    pub source: PathBuf,
    /// The run configuration without the `[sweep]` table and without `out`.
    pub base: Value,
    /// Path of the run's table in `base` (`["particles"]`, `["compare", "phase"]`).
    pub table: Vec<String>,
    /// Kind of run (`particles`, `pde`, `compare.<experiment>`).
    pub kind: String,
    /// Axes, in file order.
    pub axes: Vec<SweepAxis>,
    /// How the axes combine.
    pub combine: Combine,
    /// The points.
    pub points: Vec<SweepPoint>,
    /// `out` of the base table, if given (the sweep directory when `--out` is not).
    pub out: Option<PathBuf>,
}

/// The manifest `DIR/sweep.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// [`SCHEMA`].
    pub schema: String,
    /// Kind of run.
    pub kind: String,
    /// The base configuration (without `[sweep]` and `out`).
    pub base: Value,
    /// Axes.
    pub axes: Vec<SweepAxis>,
    /// How the axes combine.
    pub combine: Combine,
    /// Grid shape: axis lengths for a product, `[points]` for a zip.
    pub shape: Vec<usize>,
    /// Points.
    pub points: Vec<SweepPoint>,
}

fn input_error(path: &Path, message: impl Into<String>) -> Error {
    Error::Input {
        path: path.to_path_buf(),
        message: message.into(),
    }
}

/// Text of a value for messages and tables: numbers as the project writes them, strings bare.
pub fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => i.to_string(),
            (_, Some(u), _) => u.to_string(),
            (_, _, Some(f)) => crate::io::format_number(f),
            _ => n.to_string(),
        },
        other => other.to_string(),
    }
}

impl SweepPoint {
    /// `beta = 2, seed = 1` for messages.
    pub fn describe(&self, axes: &[SweepAxis]) -> String {
        axes.iter()
            .zip(&self.values)
            .map(|(a, v)| format!("{} = {}", a.name, value_text(v)))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// A number of a generator (`linspace = [a, b, n]`) as f64.
fn gen_number(path: &Path, axis: &str, v: &Value) -> Result<f64> {
    v.as_f64()
        .filter(|x| x.is_finite())
        .ok_or_else(|| input_error(path, format!("sweep.{axis}: {v} is not a finite number")))
}

fn gen_count(path: &Path, axis: &str, v: &Value) -> Result<usize> {
    let x = gen_number(path, axis, v)?;
    if x >= 1.0 && x.fract() == 0.0 && x <= MAX_POINTS as f64 {
        Ok(x as usize)
    } else {
        Err(input_error(
            path,
            format!(
                "sweep.{axis}: the number of values {v} must be an integer in [1, {MAX_POINTS}]"
            ),
        ))
    }
}

fn gen_int(path: &Path, axis: &str, v: &Value) -> Result<i64> {
    v.as_i64()
        .ok_or_else(|| input_error(path, format!("sweep.{axis}: range takes integers, got {v}")))
}

/// `n` values from `a` to `b` inclusive, evenly spaced (numpy's `linspace`: `a + k (b - a)/(n - 1)`,
/// the last value exactly `b`).
pub fn linspace(a: f64, b: f64, n: usize) -> Vec<f64> {
    if n == 1 {
        return vec![a];
    }
    let step = (b - a) / (n - 1) as f64;
    (0..n)
        .map(|k| if k + 1 == n { b } else { a + k as f64 * step })
        .collect()
}

/// `n` values from `a` to `b` inclusive, evenly spaced in `ln` (the ends exact).
pub fn geomspace(a: f64, b: f64, n: usize) -> Vec<f64> {
    if n == 1 {
        return vec![a];
    }
    let (la, lb) = (a.abs().ln(), b.abs().ln());
    let s = a.signum();
    (0..n)
        .map(|k| {
            if k == 0 {
                a
            } else if k + 1 == n {
                b
            } else {
                s * (la + (lb - la) * k as f64 / (n - 1) as f64).exp()
            }
        })
        .collect()
}

/// The values of one axis written in the `[sweep]` table.
fn axis_values(path: &Path, name: &str, v: &Value) -> Result<Vec<Value>> {
    const FORMS: &str = "a list [v1, v2, ...], { linspace = [a, b, n] }, { geomspace = [a, b, n] } or { range = [a, b] } / { range = [a, b, step] }";
    let values: Vec<Value> = match v {
        Value::Array(a) => a.clone(),
        Value::Object(o) if o.len() == 1 => {
            let (k, args) = o.iter().next().expect("one entry");
            let args = args.as_array().ok_or_else(|| {
                input_error(
                    path,
                    format!("sweep.{name}.{k}: expected a list of numbers"),
                )
            })?;
            match k.as_str() {
                "linspace" | "geomspace" => {
                    if args.len() != 3 {
                        return Err(input_error(
                            path,
                            format!("sweep.{name}.{k}: expected [start, stop, count]"),
                        ));
                    }
                    let a = gen_number(path, name, &args[0])?;
                    let b = gen_number(path, name, &args[1])?;
                    let n = gen_count(path, name, &args[2])?;
                    let xs = if k == "linspace" {
                        linspace(a, b, n)
                    } else {
                        if a == 0.0 || b == 0.0 || (a > 0.0) != (b > 0.0) {
                            return Err(input_error(
                                path,
                                format!("sweep.{name}.geomspace: start and stop must be non-zero and of the same sign"),
                            ));
                        }
                        geomspace(a, b, n)
                    };
                    xs.into_iter().map(|x| json!(x)).collect()
                }
                "range" => {
                    if args.len() != 2 && args.len() != 3 {
                        return Err(input_error(
                            path,
                            format!(
                                "sweep.{name}.range: expected [start, stop] or [start, stop, step]"
                            ),
                        ));
                    }
                    let a = gen_int(path, name, &args[0])?;
                    let b = gen_int(path, name, &args[1])?;
                    let step = if args.len() == 3 {
                        gen_int(path, name, &args[2])?
                    } else {
                        1
                    };
                    if step == 0 {
                        return Err(input_error(
                            path,
                            format!("sweep.{name}.range: step must not be 0"),
                        ));
                    }
                    let count = if step > 0 {
                        ((b - a).max(0) as u64).div_ceil(step as u64) as i64
                    } else {
                        ((a - b).max(0) as u64).div_ceil((-step) as u64) as i64
                    };
                    if count as u64 > MAX_POINTS as u64 {
                        return Err(input_error(
                            path,
                            format!("sweep.{name}.range: more than {MAX_POINTS} values"),
                        ));
                    }
                    (0..count).map(|k| json!(a + k * step)).collect()
                }
                other => {
                    return Err(input_error(
                        path,
                        format!("sweep.{name}: unknown generator {other:?}; accepted {FORMS}"),
                    ))
                }
            }
        }
        _ => return Err(input_error(path, format!("sweep.{name}: expected {FORMS}"))),
    };
    if values.is_empty() {
        return Err(input_error(
            path,
            format!("sweep.{name}: empty axis; give at least one value"),
        ));
    }
    Ok(values)
}

/// Set `path` (below `root`) to `value`, creating tables on the way.
fn set_field(root: &mut Value, path: &[String], value: Value) {
    let mut cur = root;
    for (i, k) in path.iter().enumerate() {
        if !cur.is_object() {
            *cur = Value::Object(Map::new());
        }
        let obj = cur.as_object_mut().expect("an object");
        if i + 1 == path.len() {
            obj.insert(k.clone(), value);
            return;
        }
        cur = obj
            .entry(k.clone())
            .or_insert_with(|| Value::Object(Map::new()));
    }
}

/// The keys of the `[sweep]` table in the order they are written (maps of the parsed file
/// are sorted by key; axes keep the file's order).
struct KeyOrder(Vec<String>);

impl<'de> Deserialize<'de> for KeyOrder {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = KeyOrder;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a table of axes")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> std::result::Result<KeyOrder, A::Error> {
                let mut keys = Vec::new();
                while let Some((k, _)) = map.next_entry::<String, serde::de::IgnoredAny>()? {
                    keys.push(k);
                }
                Ok(KeyOrder(keys))
            }
        }
        d.deserialize_map(V)
    }
}

#[derive(Deserialize)]
struct SweepKeys {
    sweep: Option<KeyOrder>,
}

/// TOML: the keys of `[sweep]` with their positions in the text.
#[derive(Deserialize)]
struct SweepSpans {
    sweep: Option<std::collections::BTreeMap<String, toml::Spanned<toml::Value>>>,
}

/// Drop a leading `key.path: ` from a config error message (the sweep names the axis instead).
fn strip_key(message: &str) -> &str {
    match message.split_once(": ") {
        Some((k, rest))
            if !k.is_empty()
                && k.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '_' || c == '-') =>
        {
            rest
        }
        _ => message,
    }
}

impl Sweep {
    /// Read a sweep file (`.json`: JSON, anything else: TOML).
    pub fn load(path: &Path) -> Result<Sweep> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| input_error(path, format!("cannot read the sweep file: {e}")))?;
        let json = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("json"));
        Sweep::parse(path, &text, json)
    }

    /// Parse a sweep file's `text` (TOML, or JSON when `json`); `path` names it in errors.
    pub fn parse(path: &Path, text: &str, json: bool) -> Result<Sweep> {
        let mut root: Value = if json {
            serde_json::from_str(text)
                .map_err(|e| input_error(path, format!("not valid JSON: {e}")))?
        } else {
            // The run layer gives the one-line TOML syntax error.
            let table: toml::Table = match toml::from_str(text) {
                Ok(t) => t,
                Err(_) => {
                    return Err(parse_config(path, text, false)
                        .err()
                        .unwrap_or_else(|| input_error(path, "not valid TOML")))
                }
            };
            serde_json::to_value(table)
                .map_err(|e| input_error(path, format!("cannot read the values: {e}")))?
        };
        let obj = root
            .as_object_mut()
            .ok_or_else(|| input_error(path, "expected a table"))?;
        let sweep = obj.remove("sweep").ok_or_else(|| {
            input_error(
                path,
                "no [sweep] table: a sweep file is a run config plus a [sweep] table of axes (e.g. beta = [1.0, 2.0])",
            )
        })?;
        let sweep = match sweep {
            Value::Object(o) => o,
            _ => return Err(input_error(path, "sweep: expected a table of axes")),
        };
        // The base must be a valid run configuration on its own.
        let base_spec = parse_config(path, &root.to_string(), true)?;
        let kind = base_spec.kind();
        let table: Vec<String> = kind.split('.').map(str::to_string).collect();
        let out = base_spec.out().map(Path::to_path_buf);
        {
            let mut t = &mut root;
            for k in &table {
                t = t.get_mut(k).expect("the kind's table exists");
            }
            if let Some(o) = t.as_object_mut() {
                o.remove("out");
            }
        }
        let order: Vec<String> = if json {
            serde_json::from_str::<SweepKeys>(text)
                .ok()
                .and_then(|k| k.sweep)
                .map(|k| k.0)
                .unwrap_or_default()
        } else {
            let mut keys: Vec<(usize, String)> = toml::from_str::<SweepSpans>(text)
                .ok()
                .and_then(|k| k.sweep)
                .unwrap_or_default()
                .into_iter()
                .map(|(k, v)| (v.span().start, k))
                .collect();
            keys.sort();
            keys.into_iter().map(|(_, k)| k).collect()
        };
        let mut entries: Vec<(&String, &Value)> = sweep.iter().collect();
        entries.sort_by_key(|(k, _)| order.iter().position(|o| o == *k).unwrap_or(usize::MAX));
        let mut combine = Combine::Product;
        let mut axes = Vec::new();
        for (name, v) in entries {
            if name == "combine" {
                combine = match v.as_str() {
                    Some("product") => Combine::Product,
                    Some("zip") => Combine::Zip,
                    _ => {
                        return Err(input_error(
                            path,
                            format!("sweep.combine = {v}: accepted \"product\" (every combination, the default) or \"zip\" (element by element)"),
                        ))
                    }
                };
                continue;
            }
            if name == "out" {
                return Err(input_error(
                    path,
                    "sweep.out: the output directory of every point is set by the sweep (DIR/points/<index>) and cannot be an axis",
                ));
            }
            let values = axis_values(path, name, v)?;
            // Every value must be accepted by the run layer for this field.
            let mut field = table.clone();
            field.extend(name.split('.').map(str::to_string));
            for value in &values {
                let mut trial = root.clone();
                set_field(&mut trial, &field, value.clone());
                if let Err(e) = parse_config(path, &trial.to_string(), true) {
                    let msg = match &e {
                        Error::Input { message, .. } => strip_key(message).to_string(),
                        other => other.to_string(),
                    };
                    return Err(input_error(
                        path,
                        format!("sweep.{name} = {}: {msg}", value_text(value)),
                    ));
                }
            }
            axes.push(SweepAxis {
                name: name.clone(),
                values,
            });
        }
        if axes.is_empty() {
            return Err(input_error(
                path,
                "sweep: no axes; give at least one field with its values (e.g. beta = [1.0, 2.0])",
            ));
        }
        let lens: Vec<usize> = axes.iter().map(|a| a.values.len()).collect();
        let count = match combine {
            Combine::Product => lens
                .iter()
                .try_fold(1usize, |acc, &l| acc.checked_mul(l))
                .filter(|&c| c <= MAX_POINTS),
            Combine::Zip => {
                if lens.iter().any(|&l| l != lens[0]) {
                    let desc: Vec<String> = axes
                        .iter()
                        .map(|a| format!("{} has {}", a.name, a.values.len()))
                        .collect();
                    return Err(input_error(
                        path,
                        format!(
                            "sweep.combine = \"zip\" needs axes of equal length: {}",
                            desc.join(", ")
                        ),
                    ));
                }
                Some(lens[0])
            }
        }
        .ok_or_else(|| {
            input_error(
                path,
                format!("sweep: more than {MAX_POINTS} points; split the sweep"),
            )
        })?;
        let width = (count.saturating_sub(1)).to_string().len();
        let points = (0..count)
            .map(|p| {
                let idx = match combine {
                    Combine::Zip => vec![p; axes.len()],
                    Combine::Product => {
                        let mut rest = p;
                        let mut idx = vec![0; axes.len()];
                        for (k, l) in lens.iter().enumerate().rev() {
                            idx[k] = rest % l;
                            rest /= l;
                        }
                        idx
                    }
                };
                SweepPoint {
                    index: p,
                    dir: format!("{POINTS_DIR}/{p:0width$}"),
                    values: axes
                        .iter()
                        .zip(&idx)
                        .map(|(a, &i)| a.values[i].clone())
                        .collect(),
                }
            })
            .collect();
        Ok(Sweep {
            source: path.to_path_buf(),
            base: root,
            table,
            kind,
            axes,
            combine,
            points,
            out,
        })
    }

    /// Grid shape: the axis lengths for a product, `[points]` for a zip.
    pub fn shape(&self) -> Vec<usize> {
        match self.combine {
            Combine::Product => self.axes.iter().map(|a| a.values.len()).collect(),
            Combine::Zip => vec![self.points.len()],
        }
    }

    /// The run specification of point `p`, with its output directory under `dir`.
    pub fn point_spec(&self, p: &SweepPoint, dir: &Path) -> Result<RunSpec> {
        let mut v = self.base.clone();
        for (a, value) in self.axes.iter().zip(&p.values) {
            let mut field = self.table.clone();
            field.extend(a.name.split('.').map(str::to_string));
            set_field(&mut v, &field, value.clone());
        }
        let mut spec = parse_config(&self.source, &v.to_string(), true).map_err(|e| {
            let msg = match &e {
                Error::Input { message, .. } => message.clone(),
                other => other.to_string(),
            };
            input_error(
                &self.source,
                format!("point {} ({}): {msg}", p.index, p.describe(&self.axes)),
            )
        })?;
        *spec.out_mut() = Some(dir.join(&p.dir));
        Ok(spec)
    }

    /// Resolve every point (all defaults and ranges checked); the first bad point is an error
    /// naming its index and values. Nothing is written.
    pub fn resolve_all(&self, dir: &Path) -> Result<Vec<RunSpec>> {
        self.points
            .iter()
            .map(|p| {
                let spec = self.point_spec(p, dir)?;
                spec.resolve().map_err(|e| {
                    input_error(
                        &self.source,
                        format!("point {} ({}): {e}", p.index, p.describe(&self.axes)),
                    )
                })?;
                Ok(spec)
            })
            .collect()
    }

    /// The manifest of this sweep.
    pub fn manifest(&self) -> Manifest {
        Manifest {
            schema: SCHEMA.into(),
            kind: self.kind.clone(),
            base: self.base.clone(),
            axes: self.axes.clone(),
            combine: self.combine,
            shape: self.shape(),
            points: self.points.clone(),
        }
    }
}

impl Manifest {
    /// Read `dir/sweep.json`.
    pub fn read(dir: &Path) -> Result<Manifest> {
        let path = dir.join(MANIFEST);
        let text = std::fs::read_to_string(&path).map_err(|e| {
            input_error(
                &path,
                format!(
                    "cannot read the sweep manifest ({e}); is {} a sweep directory?",
                    dir.display()
                ),
            )
        })?;
        let m: Manifest = serde_json::from_str(&text)
            .map_err(|e| input_error(&path, format!("not a sweep manifest: {e}")))?;
        if m.schema != SCHEMA {
            return Err(input_error(
                &path,
                format!("schema {:?}, expected {SCHEMA:?}", m.schema),
            ));
        }
        Ok(m)
    }
}

/// Prepare the sweep directory: new or empty (then the manifest is written), or holding the
/// manifest of this same sweep. A directory holding another sweep or anything else is refused.
pub fn claim(sweep: &Sweep, dir: &Path) -> Result<()> {
    let manifest = sweep.manifest();
    let path = dir.join(MANIFEST);
    if path.is_file() {
        let old = Manifest::read(dir)?;
        if old != manifest {
            let what = if old.kind != manifest.kind {
                "another kind of run"
            } else if old.base != manifest.base {
                "another base specification"
            } else {
                "other axes"
            };
            return Err(Error::parameter(
                "out",
                dir.display(),
                format!("a new or empty directory, or one holding this same sweep; it holds a sweep with {what} (sweep.json); choose another --out"),
            ));
        }
        return Ok(());
    }
    if dir.exists() && !dir.is_dir() {
        return Err(Error::Output {
            path: dir.to_path_buf(),
            message: "exists and is not a directory".into(),
        });
    }
    if dir.is_dir() {
        let visible = std::fs::read_dir(dir)
            .map_err(|e| Error::Output {
                path: dir.to_path_buf(),
                message: e.to_string(),
            })?
            .flatten()
            .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
            .count();
        if visible > 0 {
            return Err(Error::parameter(
                "out",
                dir.display(),
                format!("a new or empty directory, or one holding this same sweep (it holds {visible} entries and no sweep.json)"),
            ));
        }
    }
    std::fs::create_dir_all(dir).map_err(|e| Error::Output {
        path: dir.to_path_buf(),
        message: e.to_string(),
    })?;
    crate::io::write_json(&path, &manifest)
}

/// Which part of the points one process runs: shard `index` of `count` (round-robin).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    /// `0 <= index < count`.
    pub index: usize,
    /// Number of shards, `>= 1`.
    pub count: usize,
}

impl Default for Shard {
    fn default() -> Self {
        Shard { index: 0, count: 1 }
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl Shard {
    /// Parse `i/n` (`0 <= i < n`); errors name the field `shard`.
    pub fn parse(text: &str) -> Result<Shard> {
        let bad = || {
            Error::parameter(
                "shard",
                text,
                "i/n with integers 0 <= i < n (e.g. 0/3, 1/3, 2/3)",
            )
        };
        let (i, n) = text.trim().split_once('/').ok_or_else(bad)?;
        let i: usize = i.trim().parse().map_err(|_| bad())?;
        let n: usize = n.trim().parse().map_err(|_| bad())?;
        if n == 0 || i >= n {
            return Err(bad());
        }
        Ok(Shard { index: i, count: n })
    }

    /// The shard chosen by a SLURM job array: `SLURM_ARRAY_TASK_ID`, `SLURM_ARRAY_TASK_COUNT`
    /// and, if set, `SLURM_ARRAY_TASK_MIN` (default 0) and `SLURM_ARRAY_TASK_STEP` (default 1):
    /// shard `(ID - MIN) / STEP` of `COUNT`. `None` when `SLURM_ARRAY_TASK_ID` is not set.
    /// `var` looks a variable up (`std::env::var` in the command line).
    pub fn from_slurm(var: &dyn Fn(&str) -> Option<String>) -> Result<Option<Shard>> {
        let id = match var("SLURM_ARRAY_TASK_ID") {
            None => return Ok(None),
            Some(v) => v,
        };
        let num = |name: &str, v: &str| -> Result<usize> {
            v.trim().parse::<usize>().map_err(|_| {
                Error::parameter(
                    name,
                    v,
                    "a non-negative integer (set by SLURM in a job array)",
                )
            })
        };
        let id = num("SLURM_ARRAY_TASK_ID", &id)?;
        let count = match var("SLURM_ARRAY_TASK_COUNT") {
            Some(v) => num("SLURM_ARRAY_TASK_COUNT", &v)?,
            None => {
                return Err(Error::parameter(
                    "SLURM_ARRAY_TASK_COUNT",
                    "(unset)",
                    "the number of tasks of the array, set together with SLURM_ARRAY_TASK_ID (or give --shard i/n)",
                ))
            }
        };
        let min = match var("SLURM_ARRAY_TASK_MIN") {
            Some(v) => num("SLURM_ARRAY_TASK_MIN", &v)?,
            None => 0,
        };
        let step = match var("SLURM_ARRAY_TASK_STEP") {
            Some(v) => num("SLURM_ARRAY_TASK_STEP", &v)?.max(1),
            None => 1,
        };
        let ok = id >= min && (id - min) % step == 0 && (id - min) / step < count && count > 0;
        if !ok {
            return Err(Error::parameter(
                "SLURM_ARRAY_TASK_ID",
                id,
                format!("an id of a regular array MIN, MIN+STEP, ... with COUNT ids (here MIN = {min}, STEP = {step}, COUNT = {count}); submit with --array=0-(n-1) or give --shard i/n"),
            ));
        }
        Ok(Some(Shard {
            index: (id - min) / step,
            count,
        }))
    }

    /// The shard to run: `--shard` if given, else the SLURM array variables, else all points.
    /// Both given and different is an error.
    pub fn choose(flag: Option<Shard>, slurm: Option<Shard>) -> Result<Shard> {
        match (flag, slurm) {
            (Some(f), Some(s)) if f != s => Err(Error::parameter(
                "shard",
                f,
                format!("the shard that the SLURM array variables give ({s}): one source of shards, so drop --shard inside a job array (or unset SLURM_ARRAY_TASK_ID)"),
            )),
            (Some(f), _) => Ok(f),
            (None, Some(s)) => Ok(s),
            (None, None) => Ok(Shard::default()),
        }
    }

    /// True if point `p` belongs to this shard (`p mod count == index`).
    pub fn owns(&self, p: usize) -> bool {
        p % self.count == self.index
    }
}

/// What happened to one point in [`run_sweep`].
#[derive(Clone, Debug, PartialEq)]
pub enum PointResult {
    /// Ran (or resumed) to completion now.
    Completed,
    /// Already completed before; not touched.
    Skipped,
    /// Ended with an error (recorded in its `run.json`); left as it is by later runs unless
    /// retried.
    Failed(String),
}

/// Summary of one [`run_sweep`] call.
#[derive(Clone, Debug)]
pub struct SweepOutcome {
    /// The shard that ran.
    pub shard: Shard,
    /// Points of this shard with what happened to them.
    pub points: Vec<(usize, PointResult)>,
    /// Total number of points of the sweep.
    pub total: usize,
}

impl SweepOutcome {
    /// Number of points with the given result kind.
    fn count(&self, f: impl Fn(&PointResult) -> bool) -> usize {
        self.points.iter().filter(|(_, r)| f(r)).count()
    }

    /// Points of this shard that failed.
    pub fn failed(&self) -> usize {
        self.count(|r| matches!(r, PointResult::Failed(_)))
    }

    /// One line for the user.
    pub fn summary(&self, dir: &Path) -> String {
        format!(
            "sweep shard {} ({} of {} points): {} ran, {} already completed, {} failed; outputs in {}; merge with: attnflow merge {}",
            self.shard,
            self.points.len(),
            self.total,
            self.count(|r| *r == PointResult::Completed),
            self.count(|r| *r == PointResult::Skipped),
            self.failed(),
            dir.display(),
            dir.display()
        )
    }
}

/// Options of [`run_sweep`].
#[derive(Clone, Copy, Debug, Default)]
pub struct RunOptions {
    /// Which points to run.
    pub shard: Shard,
    /// Run failed points again (their directories are overwritten).
    pub retry_failed: bool,
}

/// Run the points of `opts.shard` of `sweep` in `dir`, in index order: every point is
/// resolved first (a bad point fails the sweep before anything runs), the directory is
/// claimed and the manifest written; then completed points are skipped, interrupted ones
/// resumed, new ones run, and failed ones recorded (the sweep goes on). `report` receives one
/// line per point. A stop request ends the sweep with [`Error::Interrupted`]; running the
/// same command again continues it.
pub fn run_sweep(
    sweep: &Sweep,
    dir: &Path,
    opts: RunOptions,
    ctl: &RunControl,
    report: &mut dyn FnMut(&str),
) -> Result<SweepOutcome> {
    let specs = sweep.resolve_all(dir)?;
    claim(sweep, dir)?;
    let mut outcome = SweepOutcome {
        shard: opts.shard,
        points: Vec::new(),
        total: sweep.points.len(),
    };
    let mine: Vec<usize> = (0..sweep.points.len())
        .filter(|&p| opts.shard.owns(p))
        .collect();
    for (k, &p) in mine.iter().enumerate() {
        ctl.check().map_err(|_| interrupted(dir))?;
        let point = &sweep.points[p];
        let pdir = dir.join(&point.dir);
        let label = format!(
            "point {p} [{}/{}] ({})",
            k + 1,
            mine.len(),
            point.describe(&sweep.axes)
        );
        let status = if pdir.join(run::outdir::RUN_RECORD).is_file() {
            Some(RunRecord::read(&pdir)?)
        } else {
            None
        };
        let result = match status.as_ref().map(|r| (r.status, r.message.clone())) {
            Some((RunStatus::Completed, _)) => {
                report(&format!("{label}: already completed"));
                outcome.points.push((p, PointResult::Skipped));
                continue;
            }
            Some((RunStatus::Failed | RunStatus::ResolutionLost, msg)) if !opts.retry_failed => {
                let msg = msg.unwrap_or_default();
                report(&format!(
                    "{label}: failed earlier ({msg}); not retried (--retry-failed)"
                ));
                outcome.points.push((p, PointResult::Failed(msg)));
                continue;
            }
            Some((RunStatus::Failed | RunStatus::ResolutionLost, _)) => {
                run::execute(&specs[p], ctl, true)
            }
            Some((RunStatus::Running | RunStatus::Interrupted, _)) => run::resume(&pdir, ctl),
            None => run::execute(&specs[p], ctl, false),
        };
        match result {
            Ok(o) => {
                report(&format!("{label}: {}", o.summary));
                outcome.points.push((p, PointResult::Completed));
            }
            Err(Error::Interrupted(_)) => return Err(interrupted(dir)),
            Err(e) => {
                let msg = e.to_string();
                // A point that never started (e.g. refused for its cost) records why.
                if !pdir.join(run::outdir::RUN_RECORD).is_file() {
                    let _ = std::fs::create_dir_all(&pdir);
                    let mut rec = RunRecord::new(specs[p].clone(), Value::Null, Value::Null);
                    rec.status = RunStatus::Failed;
                    rec.message = Some(msg.clone());
                    rec.write(&pdir)?;
                }
                report(&format!("{label}: failed: {msg}"));
                outcome.points.push((p, PointResult::Failed(msg)));
            }
        }
    }
    Ok(outcome)
}

fn interrupted(dir: &Path) -> Error {
    Error::Interrupted(format!(
        "completed points are kept in {}; run the same command again to continue (completed points are skipped, the interrupted one resumes)",
        dir.display()
    ))
}
