//! `compare staircase`: a long particle run past meta-stability, its energy staircase and the
//! merge events.
//!
//! Time rescaling: clusters at angular distance `D` attract each other through the kernel
//! tail `exp(beta(cos D - 1))`, so each coarsening step takes a time exponentially longer than the
//! previous one; plotted against `ln t` the energy becomes a staircase of comparable steps. The
//! run is made of segments whose lengths grow geometrically (factor `growth`), each recording the
//! same number of rows, so the diagnostics are evenly spaced in `ln t`. Merge events are the
//! decreases between plateaus of the cluster count (see [`crate::analysis::events`]) with the
//! plateau duration measured in `ln t` (at least `0.2`).

use super::common::{theory_rate, time_unit_name};
use super::parts::Parts;
use super::Report;
use crate::analysis::events::{merge_events, MergeEvent};
use crate::analysis::ClusterParams;
use crate::linear;
use crate::particles::{
    build_velocity_field, simulate, Method, RunConfig, StepControl, TokenState,
};
use crate::plot::chart::{palette, Axis, LineChart, Series, Style};
use crate::{Model, Result};
use serde::Serialize;
use std::path::Path;

/// Options.
#[derive(Clone, Debug, Serialize)]
pub struct StaircaseSetup {
    /// Ambient dimension.
    pub dim: usize,
    /// Inverse temperature.
    pub beta: f64,
    /// Model.
    pub model: Model,
    /// Tokens.
    pub n: usize,
    /// Seed.
    pub seed: u64,
    /// Final time (internal unit).
    pub t_end: f64,
    /// Integrator tolerance.
    pub tol: f64,
}

/// One diagnostics row.
#[derive(Clone, Debug, Serialize)]
pub struct StairRow {
    /// Time (internal unit).
    pub time: f64,
    /// Energy (scaled kernel).
    pub energy: f64,
    /// Clusters.
    pub clusters: usize,
}

/// Outcome.
#[derive(Clone, Debug, Serialize)]
pub struct StaircaseResult {
    /// Rows, evenly spaced in ln t.
    pub rows: Vec<StairRow>,
    /// Merge events.
    pub merges: Vec<MergeEvent>,
    /// Dominant degree.
    pub dominant: usize,
}

/// Run and write the report.
pub fn run(s: &StaircaseSetup, parts: &Parts, out: &Path) -> Result<StaircaseResult> {
    let star = linear::dominant_degree(s.beta, s.dim);
    let gamma = theory_rate(star, s.beta, s.dim, s.model);
    let field = build_velocity_field(Method::Auto, s.dim, s.beta, s.model, s.n, 1e-12)?;
    let mut x = TokenState::uniform(s.n, s.dim, s.seed, 0).x;
    // Segments: [0, t1], then lengths growing by `growth` until t_end; 30 rows each.
    let t1 = 0.5 / gamma;
    let growth = 2.0;
    let mut bounds = vec![0.0, t1.min(s.t_end)];
    while *bounds.last().unwrap() < s.t_end {
        let last = *bounds.last().unwrap();
        bounds.push((last * growth).min(s.t_end));
    }
    let mut rows: Vec<StairRow> = Vec::new();
    for (i, w) in bounds.windows(2).enumerate() {
        let cfg = RunConfig {
            t_end: w[1] - w[0],
            control: StepControl::DormandPrince { tol: s.tol },
            lmax_power: 1,
            save_every: None,
            series_points: 30,
            spacing: crate::particles::RowSpacing::Linear,
            merge_radius: crate::particles::COINCIDENT_CHORD,
            clusters: ClusterParams::default(),
        };
        let ctl = parts.control();
        let res = parts.get(&format!("segment{i}"), || {
            simulate(&cfg, field.as_ref(), x, &mut (), &|| ctl.poll_stop())
        })?;
        let skip = usize::from(!rows.is_empty());
        rows.extend(res.rows.iter().skip(skip).map(|r| StairRow {
            time: w[0] + r.time,
            energy: r.energy,
            clusters: r.clusters,
        }));
        x = res.final_x;
    }
    // Merge events on ln t (rows after t = 0).
    let body: Vec<&StairRow> = rows.iter().filter(|r| r.time > 0.0).collect();
    let lt: Vec<f64> = body.iter().map(|r| r.time.ln()).collect();
    let c: Vec<usize> = body.iter().map(|r| r.clusters).collect();
    let e: Vec<f64> = body.iter().map(|r| r.energy).collect();
    let merges: Vec<MergeEvent> = merge_events(&lt, &c, &e, 0.2)
        .into_iter()
        .map(|m| MergeEvent {
            time: m.time.exp(),
            t_before: m.t_before.exp(),
            t_after: m.t_after.exp(),
            ..m
        })
        .collect();
    let result = StaircaseResult {
        rows,
        merges,
        dominant: star,
    };
    report(s, &result, gamma, out)?;
    Ok(result)
}

fn report(s: &StaircaseSetup, r: &StaircaseResult, gamma: f64, out: &Path) -> Result<()> {
    let unit = time_unit_name(s.model);
    let mut rep = Report::new(&format!(
        "Energy staircase and merge events (d = {}, β = {}, {}, N = {})",
        s.dim,
        s.beta,
        s.model.name().to_uppercase(),
        s.n
    ));
    rep.paragraph(&format!(
        "One run from iid uniform tokens to t = {:.4e} ({unit}), l* = {}, linear time 1/γ_l* = \
         {:.3}. Each coarsening step takes exponentially longer than the previous one (clusters \
         at distance D interact through exp(β(cos D − 1))), so the energy is shown against ln t, \
         where it forms a staircase: plateaus at the meta-stable states, jumps at the merges.",
        s.t_end,
        r.dominant,
        1.0 / gamma
    ));
    let rows: Vec<Vec<String>> = r
        .merges
        .iter()
        .map(|m| {
            vec![
                format!("{:.4e}", m.time),
                format!("{:.4}", m.time.ln()),
                format!("{} → {}", m.before, m.after),
                format!("{:.6e}", m.energy_before),
                format!("{:.6e}", m.energy_after),
                format!("{:+.4e}", m.energy_jump),
            ]
        })
        .collect();
    if rows.is_empty() {
        rep.paragraph("No merge event was detected in this run: extend t_end.");
    } else {
        rep.table(
            &[
                "time",
                "ln time",
                "clusters",
                "energy before",
                "energy after",
                "energy jump",
            ],
            &rows,
        );
    }
    let nonneg = r.merges.iter().all(|m| m.energy_jump >= 0.0);
    rep.paragraph(&format!(
        "{} merge events; energy jumps {} (USA is a gradient ascent of the energy, so every \
         jump must be non-negative; SA is not, and its energy need not increase).",
        r.merges.len(),
        if nonneg {
            "all non-negative"
        } else {
            "include negative values"
        }
    ));
    let path = out.join("staircase.png");
    let pts = |f: &dyn Fn(&StairRow) -> f64| -> Vec<(f64, f64)> {
        r.rows
            .iter()
            .filter(|x| x.time > 0.0)
            .map(|x| (x.time.ln(), f(x)))
            .collect()
    };
    let e = pts(&|x| x.energy);
    let c = pts(&|x| x.clusters as f64);
    let (x0, x1) = (e[0].0, e[e.len() - 1].0);
    let (e0, e1) = e.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |a, p| {
        (a.0.min(p.1), a.1.max(p.1))
    });
    let cmax = c.iter().map(|p| p.1).fold(0.0, f64::max);
    crate::plot::render_figure(&path, 1000, 900, |area| {
        let (top, bottom) = area.split_vertically(450);
        let mut ce = LineChart::new(
            format!(
                "Energy E_N (scaled kernel), d = {}, β = {}, {}, N = {}",
                s.dim,
                s.beta,
                s.model.name().to_uppercase(),
                s.n
            ),
            Axis::linear(format!("ln time ({unit})"), x0, x1),
            Axis::linear("E_N", e0 - 0.03 * (e1 - e0), e1 + 0.03 * (e1 - e0)),
        );
        ce.series
            .push(Series::new("energy", e.clone(), palette(0), Style::Line(2)));
        for m in &r.merges {
            ce.vlines.push((m.time.ln(), palette(3)));
        }
        ce.legend = plotters::chart::SeriesLabelPosition::LowerRight;
        ce.draw(&top, &path)?;
        let mut cc = LineChart::new(
            "Cluster count (dashed lines: detected merges)",
            Axis::linear(format!("ln time ({unit})"), x0, x1),
            Axis::linear("clusters", 0.0, cmax + 1.0),
        );
        cc.series.push(Series::new(
            "clusters",
            c.clone(),
            palette(1),
            Style::Line(2),
        ));
        for m in &r.merges {
            cc.vlines.push((m.time.ln(), palette(3)));
        }
        cc.draw(&bottom, &path)
    })?;
    rep.figure(
        "staircase.png",
        "Energy and cluster count against ln t; merges dashed",
    );
    rep.record("setup", s);
    rep.record("time_unit", &unit);
    rep.record("result", r);
    rep.write(out)
}
