//! `attnflow merge DIR`: gather the points of a sweep into one place, `DIR/merged/`.
//!
//! - `points.csv`: one row per point: `point`, the axis values, `status` (`completed`,
//!   `missing`, `running`, `interrupted`, `failed`, `resolution_lost`) and a summary of its
//!   outputs: for particles and PDE runs the last row of `series.csv` (mean over the systems of
//!   an ensemble) as `final_<column>`; for experiments every number of `data.json` (nested keys
//!   joined with `.`, lists left out). Empty cells for points that are not completed.
//! - `series.csv` (particles, PDE): the `series.csv` of every completed point, one row per point
//!   and output time, with `point` and the axis values in front (values copied verbatim).
//! - `data.json` (experiments): every completed point's `data.json` with its values.
//! - `<summary column>.npy`: each numeric summary as an array of the grid's shape (axis lengths
//!   for a product sweep, `(points,)` for a zip), NaN where a point is not completed;
//!   `axis_<name>.npy`: the values of each numeric axis.
//! - `summary.png`: the summary figure of the kind (final cluster count, final energy, or the
//!   first number of the experiment against the main axis; for time series also the energy of
//!   each point against time).
//! - `phase_d<dim>.npy`, `phase_d<dim>.png` (sweeps of `compare phase`, typically over
//!   `beta_index`): the heat maps assembled from the points' columns
//!   ([`crate::compare::phase::merge_columns`]).
//! - `merge.json`: how many points are completed, and which are missing or failed (with why).
//!
//! Nothing depends on how the points were run (shards, order, resumes, wall time), so a
//! sharded sweep merges to the same bytes as an unsharded one.

use super::{value_text, Combine, Manifest, SweepAxis, SweepPoint};
use crate::io::{format_number, write_atomic, write_json, write_npy_f64};
use crate::plot::chart::{palette, Axis, LineChart, Series, Style};
use crate::run::{outdir, RunRecord, RunStatus};
use crate::{Error, Result};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Name of the merged directory inside the sweep directory.
pub const MERGED_DIR: &str = "merged";

/// What [`merge`] found and wrote.
#[derive(Clone, Debug)]
pub struct MergeOutcome {
    /// Where the merged files are.
    pub out: PathBuf,
    /// Kind of run of the sweep.
    pub kind: String,
    /// Number of points.
    pub total: usize,
    /// Completed points.
    pub completed: usize,
    /// Points with no run yet (or one still running / interrupted): `(index, description, status)`.
    pub missing: Vec<(usize, String, String)>,
    /// Points that ended with an error: `(index, description, message)`.
    pub failed: Vec<(usize, String, String)>,
    /// Files written (names relative to `out`).
    pub files: Vec<String>,
}

impl MergeOutcome {
    /// True when every point is completed.
    pub fn is_complete(&self) -> bool {
        self.completed == self.total
    }

    /// One line for the user.
    pub fn summary(&self) -> String {
        let mut s = format!(
            "merge: {} of {} points of {} completed; {} in {}",
            self.completed,
            self.total,
            self.kind,
            self.files.join(", "),
            self.out.display()
        );
        let list = |v: &[(usize, String, String)], with: bool| {
            let mut items: Vec<String> = v
                .iter()
                .take(10)
                .map(|(i, d, m)| {
                    if with {
                        format!("{i} ({d}: {m})")
                    } else {
                        format!("{i} ({d}, {m})")
                    }
                })
                .collect();
            if v.len() > 10 {
                items.push(format!("and {} more (merge.json)", v.len() - 10));
            }
            items.join("; ")
        };
        if !self.missing.is_empty() {
            s.push_str(&format!("; missing: {}", list(&self.missing, false)));
        }
        if !self.failed.is_empty() {
            s.push_str(&format!("; failed: {}", list(&self.failed, true)));
        }
        s
    }
}

/// Summary columns taken from the last row of `series.csv`, per kind.
fn final_columns(kind: &str) -> &'static [&'static str] {
    match kind {
        "particles" => &[
            "t",
            "step",
            "energy",
            "clusters",
            "largest_cluster_fraction",
        ],
        "pde" => &[
            "t",
            "step",
            "energy",
            "mass",
            "min_rho",
            "lmax",
            "tail_fraction",
        ],
        _ => &[],
    }
}

/// A CSV file as header and rows of text fields.
fn read_csv(path: &Path) -> Result<(Vec<String>, Vec<Vec<String>>)> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::Input {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    let mut lines = text.lines();
    let header: Vec<String> = lines
        .next()
        .unwrap_or_default()
        .split(',')
        .map(str::to_string)
        .collect();
    let rows = lines
        .filter(|l| !l.is_empty())
        .map(|l| l.split(',').map(str::to_string).collect())
        .collect();
    Ok((header, rows))
}

/// Numbers of a `data.json`, flattened (`a.b.c`), lists left out; booleans as 0/1.
fn flatten(prefix: &str, v: &Value, depth: usize, out: &mut Vec<(String, f64)>) {
    match v {
        Value::Number(n) => {
            if let Some(x) = n.as_f64() {
                out.push((prefix.to_string(), x));
            }
        }
        Value::Bool(b) => out.push((prefix.to_string(), f64::from(u8::from(*b)))),
        Value::Object(o) if depth < 4 => {
            for (k, x) in o {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&key, x, depth + 1, out);
            }
        }
        _ => {}
    }
}

/// A CSV field: quoted when it holds a comma, quote or newline.
fn field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// A file name made of letters, digits, `_`, `-` and `.` only.
fn file_safe(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Columns in order of first appearance.
#[derive(Default)]
struct Columns {
    names: Vec<String>,
}

impl Columns {
    fn add(&mut self, name: &str) -> usize {
        match self.names.iter().position(|n| n == name) {
            Some(i) => i,
            None => {
                self.names.push(name.to_string());
                self.names.len() - 1
            }
        }
    }
}

struct PointData {
    status: String,
    message: Option<String>,
    /// Summary values by column index.
    summary: BTreeMap<usize, f64>,
    /// (header, rows) of series.csv.
    series: Option<(Vec<String>, Vec<Vec<String>>)>,
    data: Option<Value>,
    /// `beta` of the resolved specification (for `2 beta E`).
    beta: Option<f64>,
}

fn read_point(
    dir: &Path,
    kind: &str,
    p: &SweepPoint,
    summary_cols: &mut Columns,
) -> Result<PointData> {
    let pdir = dir.join(&p.dir);
    if !pdir.join(outdir::RUN_RECORD).is_file() {
        return Ok(PointData {
            status: "missing".into(),
            message: None,
            summary: BTreeMap::new(),
            series: None,
            data: None,
            beta: None,
        });
    }
    let rec = RunRecord::read(&pdir)?;
    let mut d = PointData {
        status: rec.status.name().into(),
        message: rec.message.clone(),
        summary: BTreeMap::new(),
        series: None,
        data: None,
        beta: None,
    };
    let spec = serde_json::to_value(&rec.spec).unwrap_or_default();
    d.beta = kind
        .split('.')
        .try_fold(&spec, |v, k| v.get(k))
        .and_then(|t| t.get("beta"))
        .and_then(Value::as_f64);
    if rec.status != RunStatus::Completed {
        return Ok(d);
    }
    let finals = final_columns(kind);
    if !finals.is_empty() {
        let (header, rows) = read_csv(&pdir.join("series.csv"))?;
        // Last row of every system (ensembles: a leading `system` column).
        let sys_col = header.iter().position(|h| h == "system");
        let mut last: BTreeMap<String, &Vec<String>> = BTreeMap::new();
        for r in &rows {
            let key = sys_col.map(|c| r[c].clone()).unwrap_or_default();
            last.insert(key, r);
        }
        for c in finals {
            if let Some(j) = header.iter().position(|h| h == c) {
                let vals: Vec<f64> = last
                    .values()
                    .map(|r| r[j].parse::<f64>().unwrap_or(f64::NAN))
                    .collect();
                let mean = vals.iter().sum::<f64>() / vals.len().max(1) as f64;
                let idx = summary_cols.add(&format!("final_{c}"));
                d.summary.insert(idx, mean);
            }
        }
        d.series = Some((header, rows));
    } else {
        let path = pdir.join("data.json");
        if path.is_file() {
            let text = std::fs::read_to_string(&path).map_err(|e| Error::Input {
                path: path.clone(),
                message: e.to_string(),
            })?;
            let v: Value = serde_json::from_str(&text).map_err(|e| Error::Input {
                path: path.clone(),
                message: e.to_string(),
            })?;
            let mut flat = Vec::new();
            flatten("", &v, 0, &mut flat);
            for (k, x) in flat {
                let idx = summary_cols.add(&k);
                d.summary.insert(idx, x);
            }
            d.data = Some(v);
        }
    }
    Ok(d)
}

/// Merge the sweep in `dir` into `dir/merged/` (see the module documentation). Writes what
/// exists even when points are missing or failed; [`MergeOutcome`] names them.
pub fn merge(dir: &Path) -> Result<MergeOutcome> {
    let m = Manifest::read(dir)?;
    let out = dir.join(MERGED_DIR);
    std::fs::create_dir_all(&out).map_err(|e| Error::Output {
        path: out.clone(),
        message: e.to_string(),
    })?;
    let mut cols = Columns::default();
    let mut data = Vec::with_capacity(m.points.len());
    for p in &m.points {
        data.push(read_point(dir, &m.kind, p, &mut cols)?);
    }
    let mut files = Vec::new();
    let axes_header: Vec<String> = m.axes.iter().map(|a| field(&a.name)).collect();

    // points.csv
    let mut text = String::new();
    let mut head = vec!["point".to_string()];
    head.extend(axes_header.iter().cloned());
    head.push("status".into());
    head.extend(cols.names.iter().map(|c| field(c)));
    text.push_str(&head.join(","));
    text.push('\n');
    for (p, d) in m.points.iter().zip(&data) {
        let mut row = vec![p.index.to_string()];
        row.extend(p.values.iter().map(|v| field(&value_text(v))));
        row.push(d.status.clone());
        for i in 0..cols.names.len() {
            row.push(
                d.summary
                    .get(&i)
                    .map(|&x| format_number(x))
                    .unwrap_or_default(),
            );
        }
        text.push_str(&row.join(","));
        text.push('\n');
    }
    write_atomic(&out.join("points.csv"), text.as_bytes())?;
    files.push("points.csv".to_string());

    // series.csv
    if !final_columns(&m.kind).is_empty() {
        let mut series_cols = Columns::default();
        for d in &data {
            if let Some((h, _)) = &d.series {
                for c in h {
                    series_cols.add(c);
                }
            }
        }
        let mut text = String::new();
        let mut head = vec!["point".to_string()];
        head.extend(axes_header.iter().cloned());
        head.extend(series_cols.names.iter().cloned());
        text.push_str(&head.join(","));
        text.push('\n');
        for (p, d) in m.points.iter().zip(&data) {
            if let Some((h, rows)) = &d.series {
                let map: Vec<usize> = h.iter().map(|c| series_cols.add(c)).collect();
                let prefix: Vec<String> = std::iter::once(p.index.to_string())
                    .chain(p.values.iter().map(|v| field(&value_text(v))))
                    .collect();
                for r in rows {
                    let mut cells = vec![String::new(); series_cols.names.len()];
                    for (j, v) in r.iter().enumerate() {
                        if let Some(&c) = map.get(j) {
                            cells[c] = v.clone();
                        }
                    }
                    text.push_str(&prefix.join(","));
                    text.push(',');
                    text.push_str(&cells.join(","));
                    text.push('\n');
                }
            }
        }
        write_atomic(&out.join("series.csv"), text.as_bytes())?;
        files.push("series.csv".to_string());
    } else {
        let points: Vec<Value> = m
            .points
            .iter()
            .zip(&data)
            .filter_map(|(p, d)| {
                d.data.as_ref().map(|v| {
                    let values: Map<String, Value> = m
                        .axes
                        .iter()
                        .zip(&p.values)
                        .map(|(a, x)| (a.name.clone(), x.clone()))
                        .collect();
                    json!({"point": p.index, "values": values, "data": v})
                })
            })
            .collect();
        write_json(&out.join("data.json"), &json!({ "points": points }))?;
        files.push("data.json".to_string());
    }

    // compare phase: the heat maps assembled from the points' columns.
    if m.kind == "compare.phase" {
        let points: Vec<(String, &Value)> = m
            .points
            .iter()
            .zip(&data)
            .filter_map(|(p, d)| {
                d.data.as_ref().map(|v| {
                    let group: Vec<String> = m
                        .axes
                        .iter()
                        .zip(&p.values)
                        .filter(|(a, _)| a.name != "beta_index")
                        .map(|(a, x)| format!("{} = {}", a.name, value_text(x)))
                        .collect();
                    (group.join(", "), v)
                })
            })
            .collect();
        if !points.is_empty() {
            files.extend(crate::compare::phase::merge_columns(&points, &out)?);
        }
    }

    // Arrays of the grid's shape.
    let shape = match m.combine {
        Combine::Product => m.shape.clone(),
        Combine::Zip => vec![m.points.len()],
    };
    for (i, c) in cols.names.iter().enumerate() {
        let v: Vec<f64> = data
            .iter()
            .map(|d| d.summary.get(&i).copied().unwrap_or(f64::NAN))
            .collect();
        let name = format!("{}.npy", file_safe(c));
        write_npy_f64(&out.join(&name), &shape, &v)?;
        files.push(name);
    }
    for a in &m.axes {
        let nums: Option<Vec<f64>> = a.values.iter().map(Value::as_f64).collect();
        if let Some(v) = nums {
            let name = format!("axis_{}.npy", file_safe(&a.name));
            write_npy_f64(&out.join(&name), &[v.len()], &v)?;
            files.push(name);
        }
    }

    // Figure.
    let ycol = match m.kind.as_str() {
        "particles" => cols.names.iter().position(|c| c == "final_clusters"),
        "pde" => cols.names.iter().position(|c| c == "final_energy"),
        // Its figures are the heat maps above.
        "compare.phase" => None,
        _ => (!cols.names.is_empty()).then_some(0),
    };
    if let Some(yc) = ycol {
        summary_figure(&out.join("summary.png"), &m, &data, yc, &cols.names[yc])?;
        files.push("summary.png".to_string());
    }

    // Status.
    let describe = |p: &SweepPoint| p.describe(&m.axes);
    let mut missing = Vec::new();
    let mut failed = Vec::new();
    let mut completed = 0;
    for (p, d) in m.points.iter().zip(&data) {
        match d.status.as_str() {
            "completed" => completed += 1,
            "failed" | "resolution_lost" => failed.push((
                p.index,
                describe(p),
                d.message.clone().unwrap_or_else(|| d.status.clone()),
            )),
            s => missing.push((p.index, describe(p), s.to_string())),
        }
    }
    files.push("merge.json".to_string());
    let status = json!({
        "kind": m.kind,
        "points": m.points.len(),
        "completed": completed,
        "complete": completed == m.points.len(),
        "missing": missing.iter().map(|(i, d, s)| json!({"point": i, "values": d, "status": s})).collect::<Vec<_>>(),
        "failed": failed.iter().map(|(i, d, s)| json!({"point": i, "values": d, "message": s})).collect::<Vec<_>>(),
        "files": files,
    });
    write_json(&out.join("merge.json"), &status)?;
    Ok(MergeOutcome {
        out,
        kind: m.kind.clone(),
        total: m.points.len(),
        completed,
        missing,
        failed,
        files,
    })
}

/// The axis drawn along x: `beta` if it is swept with several numeric values, else the first
/// such axis; `None`: the point index.
fn x_axis(axes: &[SweepAxis]) -> Option<usize> {
    let numeric = |a: &SweepAxis| a.values.len() > 1 && a.values.iter().all(|v| v.is_number());
    axes.iter()
        .position(|a| a.name == "beta" && numeric(a))
        .or_else(|| axes.iter().position(numeric))
}

fn range_of(v: impl Iterator<Item = f64>) -> Option<(f64, f64)> {
    let (lo, hi) = v
        .filter(|x| x.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), x| {
            (a.min(x), b.max(x))
        });
    (lo <= hi).then_some((lo, hi))
}

fn padded(r: (f64, f64)) -> (f64, f64) {
    let w = (r.1 - r.0).abs().max(1e-12 * r.0.abs().max(1.0));
    (r.0 - 0.06 * w, r.1 + 0.06 * w)
}

/// Left: the summary `ycol` against the main axis, one line per combination of the other axes
/// (means over `seed`, each point drawn as a dot). Right (time series): energy against time
/// for up to 12 points.
fn summary_figure(
    path: &Path,
    m: &Manifest,
    data: &[PointData],
    yc: usize,
    yname: &str,
) -> Result<()> {
    let xa = x_axis(&m.axes);
    let xlabel = xa.map_or("point".to_string(), |i| m.axes[i].name.clone());
    let xv =
        |p: &SweepPoint| xa.map_or(p.index as f64, |i| p.values[i].as_f64().unwrap_or(f64::NAN));
    // Groups: the values of the axes other than x and seed.
    let others: Vec<usize> = (0..m.axes.len())
        .filter(|&i| Some(i) != xa && m.axes[i].name != "seed")
        .collect();
    let mut groups: Vec<(String, Vec<(f64, f64)>)> = Vec::new();
    let mut dots = Vec::new();
    for (p, d) in m.points.iter().zip(data) {
        let Some(&y) = d.summary.get(&yc) else {
            continue;
        };
        let label = others
            .iter()
            .map(|&i| format!("{} = {}", m.axes[i].name, value_text(&p.values[i])))
            .collect::<Vec<_>>()
            .join(", ");
        let x = xv(p);
        dots.push((x, y));
        match groups.iter_mut().find(|(l, _)| *l == label) {
            Some((_, v)) => v.push((x, y)),
            None => groups.push((label, vec![(x, y)])),
        }
    }
    let series_kind = !final_columns(&m.kind).is_empty();
    let title_kind = m.kind.clone();
    crate::plot::render_figure(path, if series_kind { 1400 } else { 800 }, 560, |root| {
        let (left, right) = if series_kind {
            let (l, r) = root.split_horizontally(700);
            (l, Some(r))
        } else {
            (root.clone(), None)
        };
        let xr = padded(range_of(dots.iter().map(|d| d.0)).unwrap_or((0.0, 1.0)));
        let yr = padded(range_of(dots.iter().map(|d| d.1)).unwrap_or((0.0, 1.0)));
        let mut chart = LineChart::new(
            format!("sweep of {title_kind}: {yname} vs {xlabel}"),
            Axis::linear(xlabel.clone(), xr.0, xr.1),
            Axis::linear(yname.to_string(), yr.0, yr.1),
        );
        for (g, (label, pts)) in groups.iter().take(10).enumerate() {
            // Mean over repeated x (seeds).
            let mut by_x: Vec<(f64, f64, usize)> = Vec::new();
            for &(x, y) in pts {
                match by_x.iter_mut().find(|e| e.0 == x) {
                    Some(e) => {
                        e.1 += y;
                        e.2 += 1;
                    }
                    None => by_x.push((x, y, 1)),
                }
            }
            by_x.sort_by(|a, b| a.0.total_cmp(&b.0));
            let line: Vec<(f64, f64)> = by_x.iter().map(|e| (e.0, e.1 / e.2 as f64)).collect();
            let label = if label.is_empty() {
                "mean over seeds".to_string()
            } else {
                label.clone()
            };
            chart.series.push(Series::new(
                label,
                line,
                palette(g),
                Style::LinePoints(2, 3),
            ));
            chart.series.push(Series::unlabelled(
                pts.clone(),
                palette(g),
                Style::Points(2),
            ));
        }
        chart.draw(&left, path)?;
        if let Some(right) = right {
            // Up to 12 completed points spread evenly over the grid.
            let done: Vec<usize> = (0..m.points.len())
                .filter(|&i| data[i].series.is_some())
                .collect();
            let picked: Vec<usize> = if done.len() <= 12 {
                done.clone()
            } else {
                (0..12).map(|k| done[k * (done.len() - 1) / 11]).collect()
            };
            let mut lines = Vec::new();
            for &i in &picked {
                let (p, d) = (&m.points[i], &data[i]);
                let Some((h, rows)) = &d.series else {
                    continue;
                };
                let (Some(tc), Some(ec), Some(beta)) = (
                    h.iter().position(|c| c == "t"),
                    h.iter().position(|c| c == "energy"),
                    d.beta,
                ) else {
                    continue;
                };
                let sys = h.iter().position(|c| c == "system");
                let pts: Vec<(f64, f64)> = rows
                    .iter()
                    .filter(|r| sys.is_none_or(|c| r[c] == "0"))
                    .map(|r| {
                        (
                            r[tc].parse().unwrap_or(f64::NAN),
                            2.0 * beta * r[ec].parse().unwrap_or(f64::NAN),
                        )
                    })
                    .collect();
                let t_end = pts.last().map_or(1.0, |q| q.0);
                let pts: Vec<(f64, f64)> = pts
                    .into_iter()
                    .map(|(t, e)| (if t_end > 0.0 { t / t_end } else { t }, e))
                    .collect();
                lines.push((format!("{}: {}", p.index, p.describe(&m.axes)), pts));
            }
            let ensembles = picked.iter().any(|&i| {
                data[i]
                    .series
                    .as_ref()
                    .is_some_and(|(h, _)| h.iter().any(|c| c == "system"))
            });
            let yr = padded(
                range_of(lines.iter().flat_map(|l| l.1.iter().map(|q| q.1))).unwrap_or((0.0, 1.0)),
            );
            let mut chart = LineChart::new(
                format!(
                    "2βE vs time, {} of {} points{}",
                    lines.len(),
                    m.points.len(),
                    if ensembles { " (system 0 of each)" } else { "" }
                ),
                Axis::linear("t / t_end", 0.0, 1.45),
                Axis::linear("2β × energy (1 = one cluster)", yr.0, yr.1),
            );
            chart.legend = plotters::prelude::SeriesLabelPosition::UpperRight;
            for (i, (label, pts)) in lines.into_iter().enumerate() {
                chart
                    .series
                    .push(Series::new(label, pts, palette(i), Style::Line(2)));
            }
            chart.draw(&right, path)?;
        }
        Ok(())
    })
}
