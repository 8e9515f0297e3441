//! `compare pde-vs-particles`: the same initial data evolved by the particle system and by the
//! mean-field PDE.
//!
//! The PDE starts from the particle snapshot projected onto its basis (degree `L`, no smoothing,
//! so that `D(0) = 0` up to rounding). At each output time the particle state is projected the
//! same way and the distance
//!
//! ```text
//! D(t) = ( sum over coefficients of degree 1..=Lc of (m_i(t) - f_i(t))^2 )^(1/2)
//! ```
//!
//! between the particles' harmonic moments `m_i` and the PDE coefficients `f_i` is recorded
//! (`Lc = 3 l*`). Its size at a fixed time (the linear onset time of the smallest N) is fitted
//! against `N` on log axes; the exponent is reported as found.

use super::common::{theory_rate, time_unit_name};
use super::parts::Parts;
use super::{plus_minus, Report};
use crate::analysis::fit::{fit_line, student_t_quantile};
use crate::control::RunControl;
use crate::linear;
use crate::particles::{build_velocity_field, Integrator, Method, StepControl, TokenState};
use crate::pde::init::InitialData;
use crate::plot::chart::{
    palette, sphere_histogram, sphere_map, Axis, Heatmap, LineChart, Series, Style,
};
use crate::spectral::{Basis, CircleBasis, SphereBasis};
use crate::{Error, Model, Result};
use serde::{Deserialize, Serialize};
use std::f64::consts::PI;
use std::path::Path;

/// Options.
#[derive(Clone, Debug, Serialize)]
pub struct PvpSetup {
    /// 2 (circle) or 3 (sphere).
    pub dim: usize,
    /// Inverse temperature.
    pub beta: f64,
    /// Model.
    pub model: Model,
    /// Token counts.
    pub ns: Vec<usize>,
    /// PDE degree `L`.
    pub lmax: usize,
    /// Final time (internal unit).
    pub t_end: f64,
    /// Output times.
    pub outputs: usize,
    /// Seed.
    pub seed: u64,
    /// Integrator tolerance (particles and PDE).
    pub tol: f64,
}

/// One size.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SizeRun {
    /// Tokens.
    pub n: usize,
    /// Output times.
    pub time: Vec<f64>,
    /// `D(t)` at each output time.
    pub distance: Vec<f64>,
    /// Why the PDE stopped early, if it did.
    pub pde_stopped: Option<String>,
}

/// Outcome.
#[derive(Clone, Debug, Serialize)]
pub struct PvpResult {
    /// Per-size runs.
    pub runs: Vec<SizeRun>,
    /// Time at which the scaling is measured.
    pub t_fixed: f64,
    /// Fitted exponent `p` of `D(t_fixed) ~ N^p`.
    pub exponent: Option<f64>,
    /// Its 95% half-width.
    pub exponent_half_width: Option<f64>,
}

fn project(basis: &dyn Fn(&[f64], &mut [f64]), x: &[f64], dim: usize, len: usize) -> Vec<f64> {
    let n = x.len() / dim;
    let (mut y, mut acc) = (vec![0.0; len], vec![0.0; len]);
    for row in x.chunks_exact(dim) {
        basis(row, &mut y);
        for (a, v) in acc.iter_mut().zip(&y) {
            *a += v;
        }
    }
    acc.iter().map(|a| a / n as f64).collect()
}

/// Kymograph data on the circle: PDE density and particle histogram (128 bins) at the PDE's
/// output times.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Kymograph {
    /// PDE density at the bin centres, time-major.
    pub pde: Vec<f64>,
    /// Particle histogram as a density w.r.t. the probability measure, time-major.
    pub hist: Vec<f64>,
    /// Bins per row.
    pub bins: usize,
    /// Last time covered (the PDE may stop when it loses resolution).
    pub t_last: f64,
}

/// The kymograph uses the default heat-kernel smoothing of the snapshot (degree L damped by
/// 1e-8), so that the PDE stays resolved well into clustering, and refines up to 4L.
fn kymograph(
    s: &PvpSetup,
    circle: &CircleBasis,
    n: usize,
    idx: usize,
    ctl: &RunControl,
) -> Result<Kymograph> {
    let x0 = TokenState::uniform(n, 2, s.seed, idx as u64).x;
    let init = InitialData {
        snapshot: Some((x0.clone(), n)),
        ..Default::default()
    };
    let pde = super::pde_run::run_pde(
        2, s.beta, s.model, s.lmax, &init, s.t_end, s.outputs, s.tol, ctl,
    )?;
    let field = build_velocity_field(Method::Auto, 2, s.beta, s.model, n, 1e-12)?;
    let mut it = Integrator::new(
        field.as_ref(),
        x0,
        StepControl::DormandPrince { tol: s.tol },
    );
    let bins = 128;
    let (mut pd, mut hist) = (Vec::new(), Vec::new());
    let mut y = vec![0.0; circle.len()];
    for (k, &t) in pde.time.iter().enumerate() {
        if t > 0.0 {
            it.advance_or_stop(t, &|| ctl.poll_stop())?;
        }
        let mut h = vec![0.0; bins];
        for row in it.x.chunks_exact(2) {
            let a = row[1].atan2(row[0]).rem_euclid(2.0 * PI);
            h[((a / (2.0 * PI) * bins as f64) as usize).min(bins - 1)] += 1.0;
        }
        hist.extend(h.iter().map(|c| c * bins as f64 / n as f64));
        let f = &pde.coefficients[k];
        for b in 0..bins {
            let a = 2.0 * PI * (b as f64 + 0.5) / bins as f64;
            circle.evaluate_at(&[a.cos(), a.sin()], &mut y);
            pd.push(f.iter().zip(&y).map(|(c, v)| c * v).sum::<f64>());
        }
    }
    Ok(Kymograph {
        pde: pd,
        hist,
        bins,
        t_last: pde.time.last().copied().unwrap_or(0.0),
    })
}

/// Run every size and write the report and figures.
pub fn run(s: &PvpSetup, parts: &Parts, out: &Path) -> Result<PvpResult> {
    if s.dim != 2 && s.dim != 3 {
        return Err(Error::parameter("dim", s.dim, "2 or 3"));
    }
    let star = linear::dominant_degree(s.beta, s.dim);
    let lc = (3 * star).min(s.lmax);
    let ncoef = if s.dim == 2 {
        2 * lc + 1
    } else {
        (lc + 1) * (lc + 1)
    };
    let circle = CircleBasis::new(s.lmax);
    let sphere = if s.dim == 3 {
        Some(SphereBasis::new(s.lmax))
    } else {
        None
    };
    let eval = |x: &[f64], y: &mut [f64]| match &sphere {
        Some(b) => b.evaluate_at(x, y),
        None => circle.evaluate_at(x, y),
    };
    let len = if s.dim == 2 {
        circle.len()
    } else {
        sphere.as_ref().map_or(0, |b| b.len())
    };
    let ctl = parts.control();
    let mut runs = Vec::new();
    let mut kymo: Option<Kymograph> = None;
    let mut maps: Vec<(f64, Vec<f64>, Vec<f64>)> = Vec::new(); // (time, coefficients, particles)
    for (idx, &n) in s.ns.iter().enumerate() {
        let last = idx + 1 == s.ns.len();
        let (run, size_maps) = parts.get(&format!("n{idx}"), || {
            let x0 = TokenState::uniform(n, s.dim, s.seed, idx as u64).x;
            let init = InitialData {
                snapshot: Some((x0.clone(), n)),
                smoothing: Some(0.0),
                ..Default::default()
            };
            let pde = super::pde_run::run_pde(
                s.dim, s.beta, s.model, s.lmax, &init, s.t_end, s.outputs, s.tol, ctl,
            )?;
            let field = build_velocity_field(Method::Auto, s.dim, s.beta, s.model, n, 1e-12)?;
            let mut it = Integrator::new(
                field.as_ref(),
                x0,
                StepControl::DormandPrince { tol: s.tol },
            );
            let mut distance = Vec::new();
            let mut size_maps = Vec::new();
            for (k, &t) in pde.time.iter().enumerate() {
                if t > 0.0 {
                    it.advance_or_stop(t, &|| ctl.poll_stop())?;
                }
                let m = project(&eval, &it.x, s.dim, len);
                let f = &pde.coefficients[k];
                let d: f64 = (1..ncoef)
                    .map(|i| (m[i] - f[i]).powi(2))
                    .sum::<f64>()
                    .sqrt();
                distance.push(d);
                if last
                    && s.dim == 3
                    && (k == 0 || k == pde.time.len() / 2 || k + 1 == pde.time.len())
                {
                    size_maps.push((t, f.clone(), it.x.clone()));
                }
            }
            let run = SizeRun {
                n,
                time: pde.time.clone(),
                distance,
                pde_stopped: pde.stopped.clone(),
            };
            Ok((run, size_maps))
        })?;
        maps.extend(size_maps);
        if last && s.dim == 2 {
            kymo = Some(parts.get("kymograph", || kymograph(s, &circle, n, idx, ctl))?);
        }
        runs.push(run);
    }
    // Scaling at a fixed time: half the linear onset time of the smallest N, and before any
    // PDE run stopped.
    let gamma = theory_rate(star, s.beta, s.dim, s.model);
    let last_common = runs
        .iter()
        .map(|r| r.time.last().copied().unwrap_or(0.0))
        .fold(s.t_end, f64::min);
    let t_fixed = ((s.ns[0] as f64).ln() / (2.0 * gamma) * 0.5).min(0.9 * last_common);
    let (mut lx, mut ly) = (Vec::new(), Vec::new());
    for r in &runs {
        if let Some(k) = r.time.iter().position(|&t| t >= t_fixed) {
            if r.distance[k] > 0.0 {
                lx.push((r.n as f64).ln());
                ly.push(r.distance[k].ln());
            }
        }
    }
    let fit = fit_line(&lx, &ly);
    let result = PvpResult {
        t_fixed,
        exponent: fit.map(|f| f.slope),
        exponent_half_width: fit.map(|f| {
            if f.n > 2 {
                student_t_quantile(0.05, (f.n - 2) as f64) * f.slope_stderr
            } else {
                f64::INFINITY
            }
        }),
        runs,
    };
    report(s, &result, star, kymo, maps, out)?;
    Ok(result)
}

fn report(
    s: &PvpSetup,
    r: &PvpResult,
    star: usize,
    kymo: Option<Kymograph>,
    maps: Vec<(f64, Vec<f64>, Vec<f64>)>,
    out: &Path,
) -> Result<()> {
    let unit = time_unit_name(s.model);
    let mut rep = Report::new(&format!(
        "PDE vs particles from the same initial data (d = {}, β = {}, {})",
        s.dim,
        s.beta,
        s.model.name().to_uppercase()
    ));
    rep.paragraph(&format!(
        "Each particle system starts from N iid uniform tokens; the PDE (degree L = {}) starts \
         from their projection onto degrees 0..L, unsmoothed. D(t) is the \
         Euclidean distance between the particles' orthonormal harmonic moments and the PDE \
         coefficients over degrees 1..{} (3 l*), times in {unit}.",
        s.lmax,
        (3 * star).min(s.lmax)
    ));
    let rows: Vec<Vec<String>> = r
        .runs
        .iter()
        .map(|run| {
            let k = run.time.iter().position(|&t| t >= r.t_fixed).unwrap_or(0);
            vec![
                run.n.to_string(),
                format!("{:.3e}", run.distance[0]),
                format!("{:.3e}", run.distance[k]),
                format!("{:.3e}", run.distance[run.distance.len() - 1]),
                run.pde_stopped.clone().unwrap_or_else(|| "-".into()),
            ]
        })
        .collect();
    rep.table(
        &[
            "N",
            "D(0)",
            &format!("D(t = {:.2})", r.t_fixed),
            "D(t_end)",
            "PDE stopped early",
        ],
        &rows,
    );
    let dmax_fixed = r
        .runs
        .iter()
        .filter_map(|run| {
            run.time
                .iter()
                .position(|&t| t >= r.t_fixed)
                .map(|k| run.distance[k])
        })
        .fold(0.0, f64::max);
    rep.paragraph(&format!(
        "Fitted D(t = {:.2}) ~ N^p: p = {}. The empirical measure of the particles is itself a \
         weak solution of the continuity equation, so the two differ only through the time \
         integration and what the PDE cannot represent: the degrees above L of the initial \
         data (amplitudes ~N^(-1/2) each), which reach the compared degrees only through the \
         kernel's band (degrees up to ~2β) and only after many couplings. {}",
        r.t_fixed,
        match (r.exponent, r.exponent_half_width) {
            (Some(p), Some(h)) => plus_minus(p, h),
            _ => "not enough sizes".into(),
        },
        if dmax_fixed < 1e-6 {
            format!(
                "Here D stays at the level of the integration tolerance (largest {dmax_fixed:.1e} \
                 at the fixed time) until the PDE loses resolution, so no N^(-1/2) law appears: \
                 the truncated PDE reproduces the particles' low degrees exactly. An N^(-1/2) \
                 difference appears only between statistically matched (independent) initial \
                 data, as in `compare growth`."
            )
        } else {
            format!("The largest distance at the fixed time is {dmax_fixed:.2e}.")
        }
    ));
    // D(t) figure.
    let path = out.join("distance.png");
    let dmin = r
        .runs
        .iter()
        .flat_map(|x| x.distance.iter().copied())
        .filter(|v| *v > 0.0)
        .fold(f64::INFINITY, f64::min);
    let dmax = r
        .runs
        .iter()
        .flat_map(|x| x.distance.iter().copied())
        .fold(0.0, f64::max);
    let mut chart = LineChart::new(
        format!(
            "Distance between particle moments and PDE coefficients, d = {}, β = {}",
            s.dim, s.beta
        ),
        Axis::linear(format!("time {unit}"), 0.0, s.t_end),
        Axis::log("D(t)", dmin / 2.0, dmax * 2.0),
    );
    for (i, run) in r.runs.iter().enumerate() {
        chart.series.push(Series::new(
            format!("N = {}", run.n),
            run.time
                .iter()
                .copied()
                .zip(run.distance.iter().copied())
                .collect(),
            palette(i),
            Style::Line(2),
        ));
    }
    chart.vlines.push((r.t_fixed, plotters::style::BLACK));
    chart.legend = plotters::chart::SeriesLabelPosition::LowerRight;
    crate::plot::render_figure(&path, 1000, 600, |a| chart.draw(a, &path))?;
    rep.figure(
        "distance.png",
        "D(t) for each N; the vertical line marks the time of the scaling fit",
    );
    if let Some(Kymograph {
        pde,
        hist,
        bins,
        t_last,
    }) = kymo
    {
        let path = out.join("kymograph.png");
        let ny = pde.len() / bins;
        let dt = if ny > 1 {
            t_last / (ny - 1) as f64
        } else {
            1.0
        };
        let hi = pde
            .iter()
            .chain(&hist)
            .cloned()
            .fold(0.0, f64::max)
            .min(20.0);
        let n = s.ns[s.ns.len() - 1];
        crate::plot::render_figure(&path, 1400, 650, |area| {
            let (a, b) = area.split_horizontally(700);
            let make = |title: String, values: Vec<f64>| Heatmap {
                title,
                x: Axis::linear("angle θ (rad)", 0.0, 2.0 * PI),
                y: Axis::linear(format!("time {unit}"), -dt / 2.0, t_last + dt / 2.0),
                nx: bins,
                ny,
                values,
                color_label: "density ρ".into(),
                color_range: (0.0, hi),
                overlays: Vec::new(),
            };
            make(format!("PDE density, L = {}", s.lmax), pde.clone()).draw(&a, &path)?;
            make(
                format!("Particle histogram, N = {n}, {bins} bins"),
                hist.clone(),
            )
            .draw(&b, &path)
        })?;
        rep.figure(
            "kymograph.png",
            &format!(
                "Kymographs: PDE density from the smoothed snapshot (left) and particle histogram \
                 (right), angle against time, up to {t_last:.1} ({unit}) while the PDE stays \
                 resolved"
            ),
        );
    }
    if !maps.is_empty() {
        let path = out.join("sphere_maps.png");
        let basis = SphereBasis::new(s.lmax);
        let rows = maps.len() as u32;
        crate::plot::render_figure(&path, 1700, 430 * rows, |area| {
            let parts = area.split_evenly((rows as usize, 2));
            for (pair, (t, coef, x)) in parts.chunks(2).zip(&maps) {
                let pts: Vec<(f64, f64)> = x
                    .chunks_exact(3)
                    .map(|p| (p[1].atan2(p[0]), p[2].clamp(-1.0, 1.0).asin()))
                    .collect();
                let f = |lon: f64, lat: f64| -> f64 {
                    let mut y = vec![0.0; basis.len()];
                    basis.evaluate_at(
                        &[lat.cos() * lon.cos(), lat.cos() * lon.sin(), lat.sin()],
                        &mut y,
                    );
                    coef.iter().zip(&y).map(|(c, v)| c * v).sum()
                };
                // About 20 tokens per histogram cell (before the 3 x 3 smoothing).
                let nlat = ((pts.len() as f64 / 40.0).sqrt() as usize).clamp(6, 32);
                let hist = sphere_histogram(x, 2 * nlat, nlat);
                // One colour range for both panels: the larger of the two maxima on a
                // 64 x 32 equal-area grid of cell centres.
                let hi = (0..64 * 32)
                    .map(|c| {
                        let lon = -PI + 2.0 * PI * ((c % 64) as f64 + 0.5) / 64.0;
                        let lat = (-1.0 + 2.0 * ((c / 64) as f64 + 0.5) / 32.0).asin();
                        f(lon, lat).max(hist(lon, lat))
                    })
                    .fold(1.0, f64::max);
                sphere_map(
                    &pair[0],
                    &format!("PDE density, L = {}, time {t:.2} ({unit})", s.lmax),
                    &f,
                    (0.0, hi),
                    "density ρ",
                    &[],
                    &path,
                )?;
                sphere_map(
                    &pair[1],
                    &format!(
                        "Particles, N = {}: density and {} tokens",
                        pts.len(),
                        pts.len().min(crate::plot::chart::MAX_MAP_POINTS)
                    ),
                    &hist,
                    (0.0, hi),
                    "density ρ",
                    &pts,
                    &path,
                )?;
            }
            Ok(())
        })?;
        rep.figure("sphere_maps.png", "PDE density (left) and the particles' density (right: equal-area histogram with about 20 tokens per cell, smoothed over neighbours, with an even subsample of the tokens as white dots) on the sphere (Hammer equal-area), at three times, one colour scale per row");
    }
    rep.record("setup", s);
    rep.record("time_unit", &unit);
    rep.record("result", r);
    rep.write(out)
}
