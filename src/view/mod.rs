//! The interactive viewer: one self-contained HTML page per run (`OUT/view.html`).
//!
//! [`view_data`] reads a `particles` or `pde` output directory (its `run.json`, `series.csv`,
//! `snapshots.csv`, `x_*.npy`, `density_*.npy`, `grid_L*_nodes.npy`) into one JSON document;
//! [`render_html`] embeds it, with the page's script and style, in a single HTML file that needs
//! no network access (no CDN, no external script, style or font); [`write_view`] writes it
//! atomically. `attnflow view OUT` calls [`write_view`], and completed particle and PDE runs
//! write `OUT/view.html` themselves at the end.
//!
//! What the page shows:
//! - particles: the tokens of each saved snapshot on `S^2` (orthographic view on a canvas, drag
//!   to rotate, back hemisphere faded) or on the circle (`d = 2`, optional trails), coloured by
//!   cluster (the run's cluster definition and parameters, computed here from the snapshot;
//!   colours follow clusters from frame to frame by nearest centroid; stragglers grey). For
//!   `d > 3` the first three coordinates are drawn (points inside the ball), and the page says
//!   so. Ensembles: system 0.
//! - PDE runs: the density of each output (`density_KKKK.npy`) on the circle (polar profile and
//!   `rho(theta)`), on `S^2` (coloured sphere) or zonal (`rho(theta)` against the polar angle of
//!   the last coordinate, and the axisymmetric sphere); with `no_density` only the series.
//! - the run's `series.csv` (system 0 of an ensemble): every column as a small line plot
//!   (`C_l` together, logarithmic), with a cursor at the time of the current frame.
//!
//! Caps (so that the page stays a few MB): at most [`ViewOptions::max_frames`] frames (default
//! [`DEFAULT_MAX_FRAMES`], evenly spaced over the saved ones, first and last kept), at most
//! [`ViewOptions::max_tokens`] tokens per frame (default [`DEFAULT_MAX_TOKENS`], the same
//! evenly strided tokens in every frame), coordinates rounded to `1e-3`, at most
//! [`MAX_SERIES_ROWS`] series rows, densities averaged (with the grid's quadrature weights, so
//! mass is kept) onto at most [`MAX_DENSITY_BINS`] bins (circle, zonal) or
//! [`MAX_SPHERE_LAT`] x [`MAX_SPHERE_LON`] cells (sphere), 4 significant digits.
//!
//! The page honours `view.html#frame=K` (`K` or `last`), exposes `window.__viewer` (`frame`,
//! `frames`, `setFrame(k)`), writes the current frame into the DOM (`#frame-index`) and any
//! script error into `#errors` (used by `scripts/browser_check.sh`).

use crate::analysis::clusters::{find_clusters, ClusterParams};
use crate::io::{read_npy_f64, write_atomic};
use crate::run::outdir::read_table;
use crate::{Error, Result};
use serde_json::{json, Map, Value};
use std::path::{Path, PathBuf};

/// Default cap on the number of frames of a page.
pub const DEFAULT_MAX_FRAMES: usize = 50;
/// Default cap on the number of tokens drawn per frame.
pub const DEFAULT_MAX_TOKENS: usize = 3000;
/// Cap on the number of rows of the series plots (evenly subsampled, last row kept).
pub const MAX_SERIES_ROWS: usize = 2000;
/// Cap on the number of density bins on the circle and in zonal profiles.
pub const MAX_DENSITY_BINS: usize = 720;
/// Cap on the number of latitude bands of a sphere density.
pub const MAX_SPHERE_LAT: usize = 40;
/// Cap on the number of longitude sectors of a sphere density.
pub const MAX_SPHERE_LON: usize = 80;
/// Coordinates are stored as integers `round(x * COORD_SCALE)`.
pub const COORD_SCALE: f64 = 1000.0;
/// Tokens whose states are read in full for the cluster colours (above this, and for `d > 3`
/// above [`CLUSTER_FULL_LIMIT_HIGH_DIM`], clusters are found among the drawn tokens only).
pub const CLUSTER_FULL_LIMIT: usize = 50_000;
/// Full-state cluster limit for `d > 3` (pairwise cost).
pub const CLUSTER_FULL_LIMIT_HIGH_DIM: usize = 5_000;
/// File name of the page in a run's output directory.
pub const VIEW_FILE: &str = "view.html";
/// Schema tag of the embedded JSON.
pub const SCHEMA: &str = "attnflow-view/1";

/// Caps of a page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ViewOptions {
    /// Most frames (snapshots or PDE outputs) in the page, `>= 1`.
    pub max_frames: usize,
    /// Most tokens drawn per frame, `>= 1`.
    pub max_tokens: usize,
}

impl Default for ViewOptions {
    fn default() -> Self {
        ViewOptions {
            max_frames: DEFAULT_MAX_FRAMES,
            max_tokens: DEFAULT_MAX_TOKENS,
        }
    }
}

/// `min(n, cap)` indices in `0..n`, evenly spaced, increasing, first and last included.
pub fn pick_evenly(n: usize, cap: usize) -> Vec<usize> {
    if n <= cap {
        return (0..n).collect();
    }
    if cap == 0 {
        return Vec::new();
    }
    if cap == 1 {
        return vec![n - 1];
    }
    (0..cap)
        .map(|k| ((k as f64) * ((n - 1) as f64) / ((cap - 1) as f64)).round() as usize)
        .collect()
}

/// Round to 4 significant digits (keeps the page small; NaN and infinities become JSON null).
fn sig4(v: f64) -> Value {
    if !v.is_finite() {
        return Value::Null;
    }
    if v == 0.0 {
        return json!(0.0);
    }
    let r: f64 = format!("{v:.3e}").parse().unwrap_or(v);
    json!(r)
}

fn bad_out(dir: &Path, why: impl std::fmt::Display) -> Error {
    Error::Input {
        path: dir.to_path_buf(),
        message: format!(
            "OUT must be an output directory of `attnflow particles` or `attnflow pde` (with its run.json); {why}"
        ),
    }
}

fn field<'a>(spec: &'a Value, key: &str) -> Option<&'a Value> {
    spec.get(key).filter(|v| !v.is_null())
}

/// Time axis of the plots: the unit the run was specified in (`spec.time`), except that USA
/// runs whose physical time underflows (all `t = 0` after the start) use `tau`.
fn time_axis(spec: &Value, t: &[f64]) -> &'static str {
    let scaled = field(spec, "time").and_then(Value::as_str) == Some("scaled");
    let underflow = t.len() > 1 && t.iter().skip(1).all(|&v| v == 0.0);
    if scaled || underflow {
        "tau"
    } else {
        "t"
    }
}

/// A table: header and rows.
type Table = (Vec<String>, Vec<Vec<f64>>);

/// The series table for the page: system 0 of an ensemble, rows capped, every column.
fn series_of(dir: &Path) -> Result<Option<Table>> {
    let path = dir.join("series.csv");
    if !path.is_file() {
        return Ok(None);
    }
    let (mut header, mut rows) = read_table(&path)?;
    if header.first().map(String::as_str) == Some("system") {
        rows.retain(|r| r[0] == 0.0);
        for r in &mut rows {
            r.remove(0);
        }
        header.remove(0);
    }
    let keep = pick_evenly(rows.len(), MAX_SERIES_ROWS);
    let rows = keep.iter().map(|&k| rows[k].clone()).collect();
    Ok(Some((header, rows)))
}

fn series_json(series: &Option<Table>) -> Value {
    match series {
        None => Value::Null,
        Some((header, rows)) => json!({
            "file": "series.csv",
            "columns": header,
            "rows": rows
                .iter()
                .map(|r| r.iter().map(|&v| sig_or_exact(v)).collect::<Vec<_>>())
                .collect::<Vec<_>>(),
        }),
    }
}

/// Series values keep 6 significant digits (times and counts must stay readable).
fn sig_or_exact(v: f64) -> Value {
    if !v.is_finite() {
        return Value::Null;
    }
    if v == 0.0 || v.fract() == 0.0 && v.abs() < 1e9 {
        return json!(v);
    }
    let r: f64 = format!("{v:.5e}").parse().unwrap_or(v);
    json!(r)
}

/// Build the page's data from the output directory `dir` (see the module documentation).
pub fn view_data(dir: &Path, opts: &ViewOptions) -> Result<Value> {
    if opts.max_frames == 0 {
        return Err(Error::parameter("max_frames", 0, "an integer >= 1"));
    }
    if opts.max_tokens == 0 {
        return Err(Error::parameter("max_tokens", 0, "an integer >= 1"));
    }
    if !dir.exists() {
        return Err(bad_out(dir, "this one does not exist"));
    }
    if !dir.is_dir() {
        return Err(bad_out(dir, "this is not a directory"));
    }
    let rec_path = dir.join("run.json");
    if !rec_path.is_file() {
        return Err(bad_out(dir, "this one holds no run.json"));
    }
    let text = std::fs::read_to_string(&rec_path).map_err(|e| Error::Input {
        path: rec_path.clone(),
        message: format!("cannot read the run record: {e}"),
    })?;
    let record: Value = serde_json::from_str(&text).map_err(|e| Error::Input {
        path: rec_path.clone(),
        message: format!("not a run record: {e}"),
    })?;
    let kind = record
        .get("kind")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let spec = record
        .get("spec")
        .and_then(|s| s.get(&kind))
        .cloned()
        .unwrap_or(Value::Null);
    match kind.as_str() {
        "particles" => particles_data(dir, &record, &spec, opts),
        "pde" => pde_data(dir, &record, &spec, opts),
        other => Err(bad_out(
            dir,
            format!("this one holds a run of kind '{other}', which has no viewer"),
        )),
    }
}

fn common(kind: &str, record: &Value, spec: &Value, opts: &ViewOptions) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("schema".into(), json!(SCHEMA));
    m.insert("kind".into(), json!(kind));
    m.insert(
        "status".into(),
        record.get("status").cloned().unwrap_or(Value::Null),
    );
    // The spec without its output directory (the page of a re-run is byte-identical).
    let mut spec = spec.clone();
    if let Some(o) = spec.as_object_mut() {
        o.remove("out");
    }
    m.insert("spec".into(), spec);
    m.insert(
        "caps".into(),
        json!({
            "frames": opts.max_frames,
            "tokens": opts.max_tokens,
            "series_rows": MAX_SERIES_ROWS,
            "density_bins": MAX_DENSITY_BINS,
            "sphere_cells": [MAX_SPHERE_LAT, MAX_SPHERE_LON],
            "coord_scale": COORD_SCALE,
        }),
    );
    m
}

/// One saved particle state: `(step, t, tau)`.
type Snap = (usize, f64, f64);

fn particles_data(dir: &Path, record: &Value, spec: &Value, opts: &ViewOptions) -> Result<Value> {
    let ensemble = field(spec, "ensemble").and_then(Value::as_u64).unwrap_or(1) as usize;
    let mut notes: Vec<String> = Vec::new();
    // Snapshots of system 0.
    let mut snaps: Vec<Snap> = Vec::new();
    let snap_path = dir.join("snapshots.csv");
    if snap_path.is_file() {
        let (header, rows) = read_table(&snap_path)?;
        let off = usize::from(header.first().map(String::as_str) == Some("system"));
        for r in rows {
            if off == 1 && r[0] != 0.0 {
                continue;
            }
            snaps.push((r[off] as usize, r[off + 1], r[off + 2]));
        }
    }
    let file_of = |step: usize| {
        if ensemble > 1 {
            format!("x_s0_{step:06}.npy")
        } else {
            format!("x_{step:06}.npy")
        }
    };
    snaps.retain(|s| dir.join(file_of(s.0)).is_file());
    if ensemble > 1 {
        notes.push(format!("ensemble of {ensemble} systems: system 0 is shown"));
    }
    let total_snaps = snaps.len();
    let chosen: Vec<Snap> = pick_evenly(snaps.len(), opts.max_frames)
        .into_iter()
        .map(|k| snaps[k])
        .collect();
    if total_snaps > chosen.len() {
        notes.push(format!(
            "{} of the {total_snaps} saved snapshots are shown (evenly spaced; cap {})",
            chosen.len(),
            opts.max_frames
        ));
    }
    let params = ClusterParams {
        radius: field(spec, "cluster_radius")
            .and_then(Value::as_f64)
            .unwrap_or(ClusterParams::default().radius),
        density_factor: field(spec, "cluster_density")
            .and_then(Value::as_f64)
            .unwrap_or(ClusterParams::default().density_factor),
        min_fraction: field(spec, "cluster_min_fraction")
            .and_then(Value::as_f64)
            .unwrap_or(ClusterParams::default().min_fraction),
    };

    let mut dim = field(spec, "dim").and_then(Value::as_u64).unwrap_or(0) as usize;
    let mut total = 0usize;
    let mut shown_idx: Vec<usize> = Vec::new();
    let mut frames = Vec::new();
    let mut coords_all = Vec::new();
    let mut colours_all = Vec::new();
    let mut counts = Vec::new();
    let mut prev_centroids: Vec<(usize, [f64; 3])> = Vec::new();
    let mut clusters_on_subsample = false;
    for (k, &(step, t, tau)) in chosen.iter().enumerate() {
        let path = dir.join(file_of(step));
        let arr = read_npy_f64(&path)?;
        if arr.shape.len() != 2 || arr.shape[1] < 2 {
            return Err(Error::Input {
                path,
                message: format!("expected an N x d array, found shape {:?}", arr.shape),
            });
        }
        let (n, d) = (arr.shape[0], arr.shape[1]);
        if k == 0 {
            dim = d;
            total = n;
            shown_idx = pick_evenly(n, opts.max_tokens);
        } else if d != dim || n != total {
            return Err(Error::Input {
                path,
                message: format!(
                    "shape {n} x {d} differs from the first snapshot's {total} x {dim}"
                ),
            });
        }
        let c = d.min(3);
        let mut coords = Vec::with_capacity(shown_idx.len() * c);
        let mut shown_x = Vec::with_capacity(shown_idx.len() * d);
        for &i in &shown_idx {
            let row = &arr.data[i * d..(i + 1) * d];
            shown_x.extend_from_slice(row);
            for &v in &row[..c] {
                coords.push((v * COORD_SCALE).round() as i32);
            }
        }
        // Clusters: on the full state when affordable, else among the drawn tokens.
        let full = if d <= 3 {
            n <= CLUSTER_FULL_LIMIT
        } else {
            n <= CLUSTER_FULL_LIMIT_HIGH_DIM
        };
        clusters_on_subsample |= !full && n > shown_idx.len();
        let (labels, count): (Vec<Option<usize>>, usize) = if full {
            let cl = find_clusters(&arr.data, d, &params);
            let lab = shown_idx.iter().map(|&i| cl.labels[i]).collect();
            (lab, cl.count())
        } else {
            let cl = find_clusters(&shown_x, d, &params);
            (cl.labels.clone(), cl.count())
        };
        // Centroids (first three coordinates, of the drawn members) to carry colours along.
        let mut sums = vec![[0.0f64; 3]; count];
        for (j, l) in labels.iter().enumerate() {
            if let Some(l) = l {
                for q in 0..c {
                    sums[*l][q] += shown_x[j * d + q];
                }
            }
        }
        let colour_of = match_colours(&sums, &prev_centroids);
        prev_centroids = sums
            .iter()
            .zip(&colour_of)
            .map(|(s, &col)| (col, normalised(*s)))
            .collect();
        let colours: Vec<i32> = labels
            .iter()
            .map(|l| l.map_or(-1, |l| colour_of[l] as i32))
            .collect();
        frames.push(json!({"step": step, "t": t, "tau": tau, "clusters": count}));
        coords_all.push(coords);
        colours_all.push(colours);
        counts.push(count);
    }
    if clusters_on_subsample {
        notes.push(format!(
            "cluster colours: clusters found among the {} drawn tokens (the run's definition and parameters)",
            shown_idx.len()
        ));
    }
    if total > shown_idx.len() {
        notes.push(format!(
            "{} of the {total} tokens are drawn (evenly strided, the same tokens in every frame; cap {})",
            shown_idx.len(),
            opts.max_tokens
        ));
    }
    if dim > 3 {
        notes.push(format!(
            "d = {dim}: the tokens on S^{} are drawn by their first three coordinates (x1, x2, x3), so they lie inside the ball",
            dim - 1
        ));
    }
    let series = series_of(dir)?;
    let t_frames: Vec<f64> = chosen.iter().map(|s| s.1).collect();
    let t_series: Vec<f64> = series
        .as_ref()
        .and_then(|(h, rows)| {
            let i = h.iter().position(|c| c == "t")?;
            Some(rows.iter().map(|r| r[i]).collect())
        })
        .unwrap_or(t_frames);
    let mut m = common("particles", record, spec, opts);
    m.insert("time_axis".into(), json!(time_axis(spec, &t_series)));
    m.insert("frames".into(), Value::Array(frames));
    m.insert(
        "tokens".into(),
        if chosen.is_empty() {
            Value::Null
        } else {
            json!({
                "dim": dim,
                "total": total,
                "shown": shown_idx.len(),
                "coords": dim.min(3),
                "projected": dim > 3,
                "system": 0,
                "x": coords_all,
                "colour": colours_all,
                "cluster_params": {
                    "radius": params.radius,
                    "density_factor": params.density_factor,
                    "min_fraction": params.min_fraction,
                },
            })
        },
    );
    if chosen.is_empty() {
        notes.push("no saved snapshot (x_*.npy) found: only the series are shown".into());
    }
    m.insert("density".into(), Value::Null);
    m.insert("series".into(), series_json(&series));
    m.insert("notes".into(), json!(notes));
    Ok(Value::Object(m))
}

fn normalised(v: [f64; 3]) -> [f64; 3] {
    let r = (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]).sqrt();
    if r > 0.0 {
        [v[0] / r, v[1] / r, v[2] / r]
    } else {
        v
    }
}

/// Colour index per cluster: each cluster (largest first) takes the colour of the nearest
/// centroid of the previous frame not yet taken, else the smallest unused colour.
fn match_colours(sums: &[[f64; 3]], prev: &[(usize, [f64; 3])]) -> Vec<usize> {
    let mut taken: Vec<usize> = Vec::new();
    let mut out = Vec::with_capacity(sums.len());
    for s in sums {
        let c = normalised(*s);
        let best = prev
            .iter()
            .filter(|(col, _)| !taken.contains(col))
            .map(|(col, p)| {
                let d2: f64 = (0..3).map(|q| (c[q] - p[q]).powi(2)).sum();
                (*col, d2)
            })
            .min_by(|a, b| a.1.total_cmp(&b.1));
        let col = match best {
            Some((col, _)) => col,
            None => (0..).find(|k| !taken.contains(k)).unwrap_or(0),
        };
        taken.push(col);
        out.push(col);
    }
    out
}

/// Average `values` (with `weights`) over consecutive blocks of at most `ceil(n / cap)`
/// entries: returns the block boundaries (indices, `blocks + 1` of them) and the averages.
fn block_average(values: &[f64], weights: &[f64], cap: usize) -> (Vec<usize>, Vec<f64>) {
    let n = values.len();
    let blocks = n.min(cap).max(1);
    let bounds: Vec<usize> = (0..=blocks).map(|b| b * n / blocks).collect();
    let avgs = bounds
        .windows(2)
        .map(|w| {
            let (mut s, mut ws) = (0.0, 0.0);
            for i in w[0]..w[1] {
                s += weights[i] * values[i];
                ws += weights[i];
            }
            if ws > 0.0 {
                s / ws
            } else {
                f64::NAN
            }
        })
        .collect();
    (bounds, avgs)
}

/// The grid nodes of a given length among `grid_L*_nodes.npy` (the degree whose grid has `n`
/// points; the largest such degree if several).
fn nodes_of_length(dir: &Path, n: usize) -> Result<Option<(Vec<f64>, Vec<f64>)>> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map_err(|e| Error::Input {
            path: dir.to_path_buf(),
            message: e.to_string(),
        })?
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|f| f.starts_with("grid_L") && f.ends_with("_nodes.npy"))
        .collect();
    names.sort();
    for name in names.iter().rev() {
        let nodes = read_npy_f64(&dir.join(name))?;
        if nodes.data.len() == n {
            let wname = name.replace("_nodes.npy", "_weights.npy");
            let weights = read_npy_f64(&dir.join(&wname))?;
            return Ok(Some((nodes.data, weights.data)));
        }
    }
    Ok(None)
}

fn pde_data(dir: &Path, record: &Value, spec: &Value, opts: &ViewOptions) -> Result<Value> {
    let geometry = field(spec, "geometry")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let dim = field(spec, "dim").and_then(Value::as_u64).unwrap_or(2) as usize;
    let mut notes: Vec<String> = Vec::new();
    let series = series_of(dir)?;
    let (tcol, taucol) = match &series {
        Some((h, _)) => (
            h.iter().position(|c| c == "t"),
            h.iter().position(|c| c == "tau"),
        ),
        None => (None, None),
    };
    let rows: &[Vec<f64>] = series.as_ref().map_or(&[], |(_, r)| r.as_slice());
    // Outputs K with a density file; times from the (un-subsampled) series row K.
    let all_rows = match dir.join("series.csv").is_file() {
        true => read_table(&dir.join("series.csv"))?.1,
        false => Vec::new(),
    };
    let mut outputs: Vec<usize> = Vec::new();
    for k in 0.. {
        if !dir.join(format!("density_{k:04}.npy")).is_file() {
            if !dir.join(format!("coeffs_{k:04}.npy")).is_file() {
                break;
            }
            continue;
        }
        outputs.push(k);
    }
    if outputs.is_empty() {
        notes.push(
            "no density snapshots (density_KKKK.npy; the run used no_density): only the series are shown"
                .into(),
        );
    }
    let total = outputs.len();
    let chosen: Vec<usize> = pick_evenly(total, opts.max_frames)
        .into_iter()
        .map(|i| outputs[i])
        .collect();
    if total > chosen.len() {
        notes.push(format!(
            "{} of the {total} outputs are shown (evenly spaced; cap {})",
            chosen.len(),
            opts.max_frames
        ));
    }
    let mut frames = Vec::new();
    let mut dframes = Vec::new();
    for &k in &chosen {
        let path = dir.join(format!("density_{k:04}.npy"));
        let arr = read_npy_f64(&path)?;
        let (t, tau) = match all_rows.get(k) {
            Some(r) => (
                tcol.map_or(f64::NAN, |i| r[i]),
                taucol.map_or(f64::NAN, |i| r[i]),
            ),
            None => (f64::NAN, f64::NAN),
        };
        frames.push(json!({"output": k, "t": sig_or_exact(t), "tau": sig_or_exact(tau)}));
        let bad_shape = |what: &str| Error::Input {
            path: path.clone(),
            message: format!("{what} (shape {:?})", arr.shape),
        };
        let (min, max) = arr
            .data
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| {
                (a.min(v), b.max(v))
            });
        let df = match geometry.as_str() {
            "circle" => {
                if arr.shape.len() != 1 {
                    return Err(bad_shape("a circle density must be one-dimensional"));
                }
                let n = arr.data.len();
                let w = vec![1.0; n];
                let (b, v) = block_average(&arr.data, &w, MAX_DENSITY_BINS);
                // Node j sits at 2 pi j / n; its cell is [2 pi (j - 1/2) / n, 2 pi (j + 1/2) / n].
                let edges: Vec<Value> = b
                    .iter()
                    .map(|&j| {
                        sig_or_exact(2.0 * std::f64::consts::PI * (j as f64 - 0.5) / n as f64)
                    })
                    .collect();
                json!({"edges": edges, "values": v.iter().map(|&x| sig4(x)).collect::<Vec<_>>(),
                       "min": sig4(min), "max": sig4(max), "grid": n})
            }
            "zonal" => {
                if arr.shape.len() != 1 {
                    return Err(bad_shape("a zonal density must be one-dimensional"));
                }
                let n = arr.data.len();
                let (nodes, w) = nodes_of_length(dir, n)?
                    .ok_or_else(|| bad_shape("no grid_L*_nodes.npy of this length"))?;
                let (b, v) = block_average(&arr.data, &w, MAX_DENSITY_BINS);
                let edges = cell_edges(&nodes, &b, -1.0, 1.0);
                json!({"edges_t": edges, "values": v.iter().map(|&x| sig4(x)).collect::<Vec<_>>(),
                       "min": sig4(min), "max": sig4(max), "grid": n})
            }
            "sphere" => {
                if arr.shape.len() != 2 {
                    return Err(bad_shape("a sphere density must be nlat x nlon"));
                }
                let (nlat, nlon) = (arr.shape[0], arr.shape[1]);
                let (nodes, w) = nodes_of_length(dir, nlat)?
                    .ok_or_else(|| bad_shape("no grid_L*_nodes.npy with one node per ring"))?;
                // Ring weights (the weights file is grid-shaped or per ring).
                let ring_w: Vec<f64> = if w.len() == nlat * nlon {
                    (0..nlat)
                        .map(|r| w[r * nlon..(r + 1) * nlon].iter().sum())
                        .collect()
                } else {
                    w.clone()
                };
                let lat_blocks = nlat.min(MAX_SPHERE_LAT);
                let lon_blocks = nlon.min(MAX_SPHERE_LON);
                let lb: Vec<usize> = (0..=lat_blocks).map(|b| b * nlat / lat_blocks).collect();
                let cb: Vec<usize> = (0..=lon_blocks).map(|b| b * nlon / lon_blocks).collect();
                let mut vals = Vec::with_capacity(lat_blocks * lon_blocks);
                for bl in lb.windows(2) {
                    for bc in cb.windows(2) {
                        let (mut s, mut ws) = (0.0, 0.0);
                        for (r, &wr) in ring_w.iter().enumerate().take(bl[1]).skip(bl[0]) {
                            for &v in &arr.data[r * nlon + bc[0]..r * nlon + bc[1]] {
                                s += wr * v;
                                ws += wr;
                            }
                        }
                        vals.push(sig4(if ws > 0.0 { s / ws } else { f64::NAN }));
                    }
                }
                let edges_z = cell_edges(&nodes, &lb, -1.0, 1.0);
                let edges_lon: Vec<Value> = cb
                    .iter()
                    .map(|&j| {
                        sig_or_exact(2.0 * std::f64::consts::PI * (j as f64 - 0.5) / nlon as f64)
                    })
                    .collect();
                json!({"edges_z": edges_z, "edges_lon": edges_lon, "nlat": lat_blocks,
                       "nlon": lon_blocks, "values": vals, "min": sig4(min), "max": sig4(max),
                       "grid": [nlat, nlon]})
            }
            other => {
                return Err(Error::Input {
                    path: dir.join("run.json"),
                    message: format!("unknown PDE geometry '{other}'"),
                })
            }
        };
        dframes.push(df);
    }
    if geometry == "zonal" && dim > 3 {
        notes.push(format!(
            "zonal density on S^{}: rho depends on the last coordinate t = x_{dim} = cos(theta) only; the sphere shows the same profile on S^2",
            dim - 1
        ));
    }
    let t_series: Vec<f64> = tcol.map_or(Vec::new(), |i| rows.iter().map(|r| r[i]).collect());
    let mut m = common("pde", record, spec, opts);
    m.insert("time_axis".into(), json!(time_axis(spec, &t_series)));
    m.insert("frames".into(), Value::Array(frames));
    m.insert("tokens".into(), Value::Null);
    m.insert(
        "density".into(),
        if dframes.is_empty() {
            Value::Null
        } else {
            json!({"geometry": geometry, "dim": dim, "frames": dframes})
        },
    );
    m.insert("series".into(), series_json(&series));
    m.insert("notes".into(), json!(notes));
    Ok(Value::Object(m))
}

/// Cell edges of blocks of ascending nodes on `[lo, hi]`: midpoints between the last node of a
/// block and the first of the next, `lo` and `hi` at the ends.
fn cell_edges(nodes: &[f64], bounds: &[usize], lo: f64, hi: f64) -> Vec<Value> {
    let nb = bounds.len() - 1;
    (0..=nb)
        .map(|b| {
            if b == 0 {
                json!(lo)
            } else if b == nb {
                json!(hi)
            } else {
                let j = bounds[b];
                sig_or_exact(0.5 * (nodes[j - 1] + nodes[j]))
            }
        })
        .collect()
}

/// The page's HTML template: style, markup and script; `__ATTNFLOW_DATA__` and `__TITLE__` are
/// replaced.
const TEMPLATE: &str = include_str!("page.html");

/// Escape text for an HTML element.
fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The self-contained HTML page for `data` (from [`view_data`]).
pub fn render_html(data: &Value) -> String {
    // `</` never occurs inside the script element (JSON allows the escape `<\/`).
    let json_text = serde_json::to_string(data)
        .unwrap_or_else(|_| "null".into())
        .replace("</", "<\\/")
        .replace("<!--", "<\\u0021--");
    let kind = data.get("kind").and_then(Value::as_str).unwrap_or("run");
    let spec = data.get("spec").cloned().unwrap_or(Value::Null);
    let mut title = format!("attnflow {kind}");
    for key in ["geometry", "dim", "n", "beta", "model"] {
        if let Some(v) = field(&spec, key) {
            let v = v.as_str().map_or(v.to_string(), str::to_string);
            title += &format!(" {key}={v}");
        }
    }
    TEMPLATE
        .replace("__TITLE__", &html_escape(&title))
        .replacen("__ATTNFLOW_DATA__", &json_text, 1)
}

/// Write the viewer of the run in `dir` to `out` (default `dir/view.html`) atomically and
/// return its path. Bad `dir` (missing, not a run, a comparison) is refused before anything
/// is written.
pub fn write_view(dir: &Path, out: Option<&Path>, opts: &ViewOptions) -> Result<PathBuf> {
    let data = view_data(dir, opts)?;
    let path = out.map_or_else(|| dir.join(VIEW_FILE), Path::to_path_buf);
    if path.is_dir() {
        return Err(Error::parameter(
            "--out",
            path.display(),
            "a file name for the page (this is a directory)",
        ));
    }
    write_atomic(&path, render_html(&data).as_bytes())?;
    Ok(path)
}

/// Extract the embedded JSON document from a page written by [`render_html`] (for tests and
/// tools).
pub fn embedded_data(html: &str) -> Option<Value> {
    let open = "<script type=\"application/json\" id=\"attnflow-data\">";
    let start = html.find(open)? + open.len();
    let end = start + html[start..].find("</script>")?;
    serde_json::from_str(&html[start..end]).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pick_evenly_keeps_ends_and_caps() {
        assert_eq!(pick_evenly(5, 10), vec![0, 1, 2, 3, 4]);
        assert_eq!(pick_evenly(11, 3), vec![0, 5, 10]);
        let p = pick_evenly(1000, 7);
        assert_eq!(p.len(), 7);
        assert_eq!((p[0], p[6]), (0, 999));
        assert!(p.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn block_average_keeps_the_weighted_mean() {
        let v: Vec<f64> = (0..1000).map(|i| (i as f64 * 0.37).sin() + 2.0).collect();
        let w: Vec<f64> = (0..1000).map(|i| 1.0 + (i % 7) as f64).collect();
        let (b, a) = block_average(&v, &w, 33);
        assert_eq!(b.len(), 34);
        let total: f64 = v.iter().zip(&w).map(|(x, y)| x * y).sum::<f64>() / w.iter().sum::<f64>();
        let blocks: f64 = b
            .windows(2)
            .zip(&a)
            .map(|(bw, m)| m * w[bw[0]..bw[1]].iter().sum::<f64>())
            .sum::<f64>()
            / w.iter().sum::<f64>();
        assert!((total - blocks).abs() < 1e-12, "{total} {blocks}");
    }

    #[test]
    fn colours_follow_the_nearest_centroid() {
        let prev = vec![(0, [1.0, 0.0, 0.0]), (1, [0.0, 1.0, 0.0])];
        // Largest cluster now near the old colour-1 cluster.
        let now = [[0.1, 0.9, 0.0], [0.95, 0.05, 0.0], [0.0, 0.0, 1.0]];
        assert_eq!(match_colours(&now, &prev), vec![1, 0, 2]);
    }
}
