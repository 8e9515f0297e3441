//! `attnflow plot OUT`: the standard figures of a user's own particle or PDE run, from its
//! output directory alone.
//!
//! - `energy.png`: `2 beta E` against time (`2 beta E` is the mean of
//!   `exp(beta(<x,y> - 1))` over pairs: 1 for one cluster);
//! - `power.png`: `C_l(t)` (log scale) for the degrees around `l*`, with the linear theory's
//!   growth `C_l ∝ exp(2 gamma_l t)` as dashed lines (started from the expected power
//!   `dim(H_l)/N` of iid uniform tokens for particles, from the run's own `C_l(0)` for the PDE);
//! - particles: `clusters.png` (cluster count and largest cluster fraction);
//! - `snapshots.png`: densities at four times (circle: angle histograms of the tokens, or the
//!   PDE profile; S²: equal-area maps; zonal: profiles against the polar angle);
//! - `kymograph.png` (circle and zonal): density against angle and time.
//!
//! Times are in the run's unit (`time = physical`: `t`; `scaled`: `tau = e^beta t`).

use super::chart::{
    palette, sphere_histogram, sphere_map, Axis, Heatmap, LineChart, Series, Style,
};
use super::render_figure;
use super::rundir::{DensityFrame, RunDir, RunKind, TokenFrame};
use crate::special::gegenbauer::harmonic_dimension;
use crate::spectral::Geometry;
use crate::{linear, Error, Result};
use std::path::{Path, PathBuf};

/// A figure written by [`plot_run`].
#[derive(Clone, Debug)]
pub struct RunFigure {
    /// The file.
    pub path: PathBuf,
    /// What it shows.
    pub caption: String,
}

/// Largest token count drawn or histogrammed per snapshot.
const PLOT_TOKENS: usize = 100_000;

fn finite_range(values: impl Iterator<Item = f64>) -> Option<(f64, f64)> {
    let (lo, hi) = values
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
            (a.min(v), b.max(v))
        });
    (lo <= hi).then_some((lo, hi))
}

fn pad((lo, hi): (f64, f64)) -> (f64, f64) {
    let span = if hi > lo { hi - lo } else { lo.abs().max(1.0) };
    (lo - 0.05 * span, hi + 0.05 * span)
}

/// Write the standard figures of the particle or PDE run in `dir` into `out` (default
/// `dir/plots`); returns the figures written.
pub fn plot_run(dir: &Path, out: Option<&Path>) -> Result<Vec<RunFigure>> {
    let run = RunDir::open(dir)?;
    let out = out.map_or_else(|| dir.join("plots"), Path::to_path_buf);
    crate::io::prepare_output_dir(&out)?;
    let mut figs = Vec::new();
    let time = run
        .column("t")
        .into_iter()
        .zip(run.column("tau"))
        .flat_map(|(t, tau)| {
            t.into_iter()
                .zip(tau)
                .map(|(a, b)| run.user_time(a, b))
                .collect::<Vec<_>>()
        })
        .collect::<Vec<f64>>();
    let tr = finite_range(time.iter().copied()).unwrap_or((0.0, 1.0));
    let tr = (tr.0, if tr.1 > tr.0 { tr.1 } else { tr.0 + 1.0 });
    let tlabel = run.time_label();
    let (model, beta, dim, unit) = run.setting();
    let what = run.describe();

    // Energy.
    if let Some(e) = run.column("energy") {
        let y: Vec<f64> = e.iter().map(|v| 2.0 * beta * v).collect();
        let yr = pad(finite_range(y.iter().copied()).unwrap_or((0.0, 1.0)));
        let mut c = LineChart::new(
            format!("{what}: energy"),
            Axis::linear(tlabel, tr.0, tr.1),
            Axis::linear("2β E (1: one cluster)", yr.0.max(0.0), yr.1),
        );
        c.series.push(Series::new(
            "2β E",
            time.iter().copied().zip(y).collect(),
            palette(0),
            Style::Line(2),
        ));
        c.legend = plotters::prelude::SeriesLabelPosition::LowerRight;
        let p = out.join("energy.png");
        render_figure(&p, 800, 500, |a| c.draw(a, &p))?;
        figs.push(RunFigure {
            path: p,
            caption: format!(
                "{what}: 2βE = mean of exp(β(⟨x,y⟩ − 1)) over pairs against {tlabel} (1 when all tokens are in one cluster)"
            ),
        });
    }

    // Harmonic power with the linear theory's growth.
    let lstar = linear::dominant_degree(beta, dim);
    let degrees: Vec<usize> = (lstar.saturating_sub(2).max(1)..=lstar + 2)
        .filter(|l| run.columns.iter().any(|c| *c == format!("C_{l}")))
        .collect();
    if !degrees.is_empty() {
        let n_tokens = match &run.kind {
            RunKind::Particles(s) => s.n.map(|n| n as f64),
            RunKind::Pde(_) => None,
        };
        let mut c = LineChart::new(
            format!("{what}: harmonic power, l* = {lstar}"),
            Axis::linear(tlabel, tr.0, tr.1),
            Axis::log("C_l", 1.0, 1.0),
        );
        let mut all = Vec::new();
        for (i, &l) in degrees.iter().enumerate() {
            let col = run.column(&format!("C_{l}")).unwrap_or_default();
            all.extend(col.iter().copied().filter(|v| *v > 0.0));
            c.series.push(Series::new(
                format!("C_{l}"),
                time.iter().copied().zip(col.iter().copied()).collect(),
                palette(i),
                Style::Line(if l == lstar { 3 } else { 2 }),
            ));
        }
        let (lo, hi) = finite_range(all.iter().copied()).unwrap_or((1e-6, 1.0));
        let (lo, hi) = (lo.max(1e-300) / 2.0, hi * 2.0);
        for (i, &l) in degrees.iter().enumerate() {
            if l + 1 < lstar || l > lstar + 1 {
                continue;
            }
            let rate = 2.0 * linear::growth_rate(l, beta, dim, model, unit);
            let start = match n_tokens {
                Some(n) => harmonic_dimension(l, dim) / n,
                None => run
                    .column(&format!("C_{l}"))
                    .and_then(|v| v.first().copied())
                    .unwrap_or(f64::NAN),
            };
            if !(start > 0.0 && rate.is_finite()) {
                continue;
            }
            let ceiling = hi.min(harmonic_dimension(l, dim));
            let t_top = tr.0 + (ceiling / start).ln().max(0.0) / rate;
            let pts: Vec<(f64, f64)> = (0..=50)
                .map(|k| tr.0 + (t_top.min(tr.1) - tr.0) * k as f64 / 50.0)
                .map(|t| (t, start * (rate * (t - tr.0)).exp()))
                .collect();
            c.series.push(Series::new(
                format!(
                    "theory exp(2γ_{l} {})",
                    tlabel.split(' ').next().unwrap_or("t")
                ),
                pts,
                palette(i),
                Style::Dashed(2),
            ));
        }
        c.y = Axis::log("C_l", lo, hi);
        c.legend = plotters::prelude::SeriesLabelPosition::LowerRight;
        let p = out.join("power.png");
        render_figure(&p, 900, 560, |a| c.draw(a, &p))?;
        figs.push(RunFigure {
            path: p,
            caption: format!(
                "{what}: harmonic power C_l against {tlabel} (log scale) for l = {}..{}, with the linear theory's growth exp(2γ_l {}) for l* − 1, l*, l* + 1 (dashed, from {})",
                degrees.first().unwrap_or(&1),
                degrees.last().unwrap_or(&1),
                tlabel.split(' ').next().unwrap_or("t"),
                if n_tokens.is_some() { "dim(H_l)/N, the power of iid uniform tokens" } else { "the run's C_l(0)" }
            ),
        });
    }

    match &run.kind {
        RunKind::Particles(spec) => {
            if let (Some(k), Some(frac)) = (
                run.column("clusters"),
                run.column("largest_cluster_fraction"),
            ) {
                let kmax = finite_range(k.iter().copied())
                    .map_or(1.0, |r| r.1)
                    .max(1.0);
                let mut c = LineChart::new(
                    format!("{what}: clusters"),
                    Axis::linear(tlabel, tr.0, tr.1),
                    Axis::linear(
                        "clusters; largest cluster fraction × max",
                        0.0,
                        kmax * 1.1 + 0.5,
                    ),
                );
                c.series.push(Series::new(
                    "clusters",
                    time.iter().copied().zip(k.iter().copied()).collect(),
                    palette(0),
                    Style::Line(2),
                ));
                c.series.push(Series::new(
                    format!("largest cluster fraction × {}", kmax),
                    time.iter()
                        .copied()
                        .zip(frac.iter().map(|f| f * kmax))
                        .collect(),
                    palette(1),
                    Style::Dashed(2),
                ));
                c.legend = plotters::prelude::SeriesLabelPosition::LowerRight;
                let p = out.join("clusters.png");
                render_figure(&p, 800, 500, |a| c.draw(a, &p))?;
                figs.push(RunFigure {
                    path: p,
                    caption: format!(
                        "{what}: number of clusters (radius {}, density × {}, smallest {} of N) and the largest cluster's fraction of the tokens",
                        spec.cluster_radius.unwrap_or(f64::NAN),
                        spec.cluster_density.unwrap_or(f64::NAN),
                        spec.cluster_min_fraction.unwrap_or(f64::NAN)
                    ),
                });
            }
            let frames = run.token_frames(true, PLOT_TOKENS)?;
            figs.extend(token_figures(&run, &frames, dim, &out, &what)?);
        }
        RunKind::Pde(spec) => {
            if spec.no_density != Some(true) {
                let frames = run.density_frames()?;
                figs.extend(density_figures(
                    &run,
                    &frames,
                    spec.geometry.unwrap_or(Geometry::Circle),
                    &out,
                    &what,
                )?);
            }
        }
    }
    Ok(figs)
}

/// Four frames spread over the run (first and last included).
fn four<T>(frames: &[T]) -> Vec<&T> {
    let n = frames.len();
    let mut idx: Vec<usize> = (0..4).map(|k| k * (n - 1) / 3).collect();
    idx.dedup();
    idx.into_iter().map(|i| &frames[i]).collect()
}

/// Angle histogram (density w.r.t. the uniform measure) of circle tokens on `bins` bins.
fn angle_histogram(x: &[f64], bins: usize) -> Vec<f64> {
    let n = (x.len() / 2).max(1);
    let mut h = vec![0.0; bins];
    for p in x.chunks_exact(2) {
        let a = p[1].atan2(p[0]).rem_euclid(2.0 * std::f64::consts::PI);
        let b = ((a / (2.0 * std::f64::consts::PI)) * bins as f64) as usize;
        h[b.min(bins - 1)] += bins as f64 / n as f64;
    }
    h
}

fn token_figures(
    run: &RunDir,
    frames: &[TokenFrame],
    dim: usize,
    out: &Path,
    what: &str,
) -> Result<Vec<RunFigure>> {
    let mut figs = Vec::new();
    let tname = run
        .time_label()
        .split(' ')
        .next()
        .unwrap_or("t")
        .to_string();
    let chosen = four(frames);
    if dim == 2 {
        let bins = 90;
        let mut c = LineChart::new(
            format!("{what}: token density"),
            Axis::linear("angle θ", 0.0, 2.0 * std::f64::consts::PI),
            Axis::linear("density ρ (histogram)", 0.0, 1.0),
        );
        let mut hi: f64 = 1.0;
        for (i, f) in chosen.iter().enumerate() {
            let h = angle_histogram(&f.x, bins);
            hi = hi.max(h.iter().copied().fold(0.0, f64::max));
            c.series.push(Series::new(
                format!(
                    "{tname} = {}",
                    super::chart::tick_text(run.user_time(f.t, f.tau))
                ),
                h.iter()
                    .enumerate()
                    .map(|(b, &v)| {
                        (
                            (b as f64 + 0.5) * 2.0 * std::f64::consts::PI / bins as f64,
                            v,
                        )
                    })
                    .collect(),
                palette(i),
                Style::Line(2),
            ));
        }
        c.y = Axis::linear("density ρ (histogram)", 0.0, hi * 1.05);
        let p = out.join("snapshots.png");
        render_figure(&p, 900, 520, |a| c.draw(a, &p))?;
        figs.push(RunFigure {
            path: p,
            caption: format!(
                "{what}: histograms of the token angles ({bins} bins, density w.r.t. the uniform measure) at four saved times"
            ),
        });
        if frames.len() >= 3 {
            let bins = 180;
            let ny = frames.len();
            let mut values = Vec::with_capacity(bins * ny);
            for f in frames {
                values.extend(angle_histogram(&f.x, bins));
            }
            let times: Vec<f64> = frames.iter().map(|f| run.user_time(f.t, f.tau)).collect();
            figs.push(kymograph(
                run,
                out,
                what,
                values,
                bins,
                &times,
                2.0 * std::f64::consts::PI,
                "angle θ",
                "token density (histogram, clipped)",
            )?);
        }
    } else if dim == 3 {
        let n = chosen.len();
        let p = out.join("snapshots.png");
        let maps: Vec<_> = chosen
            .iter()
            .map(|f| sphere_histogram(&f.x, 48, 24))
            .collect();
        let hi = chosen
            .iter()
            .zip(&maps)
            .map(|(_, m)| {
                let mut v: f64 = 1.0;
                for i in 0..96 {
                    for j in 0..48 {
                        let lon =
                            -std::f64::consts::PI + (i as f64 + 0.5) * std::f64::consts::PI / 48.0;
                        let lat = -std::f64::consts::FRAC_PI_2
                            + (j as f64 + 0.5) * std::f64::consts::PI / 48.0;
                        v = v.max(m(lon, lat));
                    }
                }
                v
            })
            .fold(1.0, f64::max);
        render_figure(&p, 1200, 360 * n.div_ceil(2) as u32, |area| {
            let panels = area.split_evenly((n.div_ceil(2), 2));
            for ((f, m), panel) in chosen.iter().zip(&maps).zip(panels.iter()) {
                let pts: Vec<(f64, f64)> =
                    f.x.chunks_exact(3)
                        .map(|r| (r[1].atan2(r[0]), r[2].clamp(-1.0, 1.0).asin()))
                        .collect();
                sphere_map(
                    panel,
                    &format!(
                        "{tname} = {}",
                        super::chart::tick_text(run.user_time(f.t, f.tau))
                    ),
                    m,
                    (0.0, hi),
                    "token density",
                    &pts,
                    &p,
                )?;
            }
            Ok(())
        })?;
        figs.push(RunFigure {
            path: p,
            caption: format!(
                "{what}: token density on S² (equal-area Hammer maps of a smoothed histogram on 48 × 24 equal-area cells) at four saved times, with at most 400 tokens drawn"
            ),
        });
    }
    Ok(figs)
}

#[allow(clippy::too_many_arguments)]
fn kymograph(
    run: &RunDir,
    out: &Path,
    what: &str,
    values: Vec<f64>,
    bins: usize,
    times: &[f64],
    span: f64,
    xlabel: &str,
    clabel: &str,
) -> Result<RunFigure> {
    let ny = times.len();
    // Rows at the given times, resampled onto an even time grid (nearest earlier row).
    let (t0, t1) = (times[0], times[ny - 1]);
    let rows = ny.clamp(2, 400);
    let mut grid = Vec::with_capacity(bins * rows);
    for r in 0..rows {
        let t = t0 + (t1 - t0) * (r as f64 + 0.5) / rows as f64;
        let k = times
            .partition_point(|&s| s <= t)
            .saturating_sub(1)
            .min(ny - 1);
        grid.extend_from_slice(&values[k * bins..(k + 1) * bins]);
    }
    let mut sorted: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    sorted.sort_by(f64::total_cmp);
    let q = sorted
        .get(((sorted.len().max(1) - 1) as f64 * 0.99) as usize)
        .copied()
        .unwrap_or(1.0)
        .max(1.5);
    let map = Heatmap {
        title: format!("{what}: kymograph"),
        x: Axis::linear(xlabel, 0.0, span),
        y: Axis::linear(run.time_label(), t0, if t1 > t0 { t1 } else { t0 + 1.0 }),
        nx: bins,
        ny: rows,
        values: grid,
        color_label: clabel.into(),
        color_range: (0.0, q),
        overlays: Vec::new(),
    };
    let p = out.join("kymograph.png");
    render_figure(&p, 900, 620, |a| map.draw(a, &p))?;
    Ok(RunFigure {
        path: p,
        caption: format!(
            "{what}: kymograph of the density against {xlabel} and {} (colour clipped at the 99th percentile, {})",
            run.time_label(),
            super::chart::tick_text(q)
        ),
    })
}

fn density_figures(
    run: &RunDir,
    frames: &[DensityFrame],
    geometry: Geometry,
    out: &Path,
    what: &str,
) -> Result<Vec<RunFigure>> {
    let mut figs = Vec::new();
    let tname = run
        .time_label()
        .split(' ')
        .next()
        .unwrap_or("t")
        .to_string();
    let chosen = four(frames);
    match geometry {
        Geometry::Circle | Geometry::Zonal => {
            let circle = geometry == Geometry::Circle;
            let span = if circle {
                2.0 * std::f64::consts::PI
            } else {
                std::f64::consts::PI
            };
            let xlabel = if circle {
                "angle θ"
            } else {
                "polar angle θ (x_d = cos θ)"
            };
            let profile = |f: &DensityFrame| -> Vec<(f64, f64)> {
                if circle {
                    let n = f.density.len();
                    (0..=n)
                        .map(|j| (span * j as f64 / n as f64, f.density[j % n]))
                        .collect()
                } else {
                    f.nodes
                        .iter()
                        .zip(&f.density)
                        .map(|(&t, &r)| (t.clamp(-1.0, 1.0).acos(), r))
                        .rev()
                        .collect()
                }
            };
            let yr = pad(
                finite_range(chosen.iter().flat_map(|f| f.density.iter().copied()))
                    .unwrap_or((0.0, 1.0)),
            );
            let mut c = LineChart::new(
                format!("{what}: density"),
                Axis::linear(xlabel, 0.0, span),
                Axis::linear("density ρ", yr.0.min(0.0), yr.1),
            );
            for (i, f) in chosen.iter().enumerate() {
                c.series.push(Series::new(
                    format!(
                        "{tname} = {}",
                        super::chart::tick_text(run.user_time(f.t, f.tau))
                    ),
                    profile(f),
                    palette(i),
                    Style::Line(2),
                ));
            }
            let p = out.join("snapshots.png");
            render_figure(&p, 900, 520, |a| c.draw(a, &p))?;
            figs.push(RunFigure {
                path: p,
                caption: format!("{what}: density ρ against {xlabel} at four outputs"),
            });
            if frames.len() >= 3 {
                let bins = 256;
                let mut values = Vec::with_capacity(bins * frames.len());
                for f in frames {
                    let pts = profile(f);
                    for b in 0..bins {
                        let x = (b as f64 + 0.5) * span / bins as f64;
                        let k = pts.partition_point(|p| p.0 < x).clamp(1, pts.len() - 1);
                        let (a, bpt) = (pts[k - 1], pts[k]);
                        let w = if bpt.0 > a.0 {
                            (x - a.0) / (bpt.0 - a.0)
                        } else {
                            0.0
                        };
                        values.push(a.1 * (1.0 - w) + bpt.1 * w);
                    }
                }
                let times: Vec<f64> = frames.iter().map(|f| run.user_time(f.t, f.tau)).collect();
                figs.push(kymograph(
                    run,
                    out,
                    what,
                    values,
                    bins,
                    &times,
                    span,
                    xlabel,
                    "density ρ (clipped)",
                )?);
            }
        }
        Geometry::Sphere => {
            let n = chosen.len();
            let hi = finite_range(chosen.iter().flat_map(|f| f.density.iter().copied()))
                .unwrap_or((0.0, 1.0));
            let p = out.join("snapshots.png");
            render_figure(&p, 1200, 360 * n.div_ceil(2) as u32, |area| {
                let panels = area.split_evenly((n.div_ceil(2), 2));
                for (f, panel) in chosen.iter().zip(panels.iter()) {
                    let nlon = f.shape[1];
                    let lookup = |lon: f64, lat: f64| -> f64 {
                        let z = lat.sin();
                        let i = f.nodes.partition_point(|&v| v < z).min(f.nodes.len() - 1);
                        let r = if i > 0 && (z - f.nodes[i - 1]) < (f.nodes[i] - z) {
                            i - 1
                        } else {
                            i
                        };
                        let j = (lon.rem_euclid(2.0 * std::f64::consts::PI)
                            / (2.0 * std::f64::consts::PI)
                            * nlon as f64)
                            .round() as usize
                            % nlon;
                        f.density[r * nlon + j]
                    };
                    sphere_map(
                        panel,
                        &format!(
                            "{tname} = {}",
                            super::chart::tick_text(run.user_time(f.t, f.tau))
                        ),
                        &lookup,
                        (hi.0.min(0.0), hi.1),
                        "density ρ",
                        &[],
                        &p,
                    )?;
                }
                Ok(())
            })?;
            figs.push(RunFigure {
                path: p,
                caption: format!(
                    "{what}: density ρ on S² (equal-area Hammer maps) at four outputs"
                ),
            });
        }
    }
    if figs.is_empty() {
        return Err(Error::Input {
            path: run.dir.clone(),
            message: "no densities".into(),
        });
    }
    Ok(figs)
}
