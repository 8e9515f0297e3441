//! `compare staircase --preset gkpr`: the energy staircase of Geshkovski–Koubbi–Polyanskiy–
//! Rigollet (*Dynamic metastability in the self-attention model*), reproduced.
//!
//! Their setting: USA on the circle, `n = 5` tokens at the angles
//! `theta0 = 0.5 [0, 0.5, 2, 4, 7] ln(b) / sqrt(b)` computed once with `b = 2000` and reused for
//! every `beta` in {500, 1000, 1500, 2000, 3000, 4000}; energy
//! `E = (1/n^2) sum_ij exp(beta (cos(theta_i - theta_j) - 1))` (`= 2 beta E_N` of attnflow); the
//! plateaus `(1,1,1,1,1) -> (2,1,1,1) -> (3,1,1) -> (3,2) -> (5)` at `E = 5, 7, 11, 13, 25 / 25`.
//!
//! Two routes, compared in the report:
//!
//! - **The exact dynamics** (attnflow's particle simulator: exact summation with tangential
//!   velocities, coincident tokens merged into weighted tokens, adaptive Dormand–Prince in the
//!   internal time `tau`, a row after every step to `tau = 1e140`): merge times in `tau` (the last one
//!   at `tau ~ e^34` for `beta = 500`, `e^304` for `beta = 4000`) and the arc-length time
//!   `s = arc_length / ln beta` of the continuous normalised gradient flow.
//! - **Their rescaled time**, which is the iteration count of their normalised-gradient descent
//!   `theta <- theta + lr ln(beta) g/|g|` (`g` the USA gradient, `lr = 1e-5`, rescaled time
//!   `lr * iterations`), with their snapping rule (once `|g| < 1e-5`, tokens closer than `1e-3`
//!   are moved onto each other): what their figure plots, reproduced here to the iteration
//!   ([`normalised_descent`]). Each iteration moves the configuration by `lr ln beta` in
//!   `R^n`, so this is a discretisation of the arc length `/ ln beta` of the continuous flow;
//!   the report gives both.

use super::parts::Parts;
use super::Report;
use crate::particles::{
    simulate, ExactField, MergeEvent, RowSpacing, RunConfig, StepControl, COINCIDENT_CHORD,
};
use crate::plot::chart::{palette, Axis, LineChart, Series, Style};
use crate::{Model, Result};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The published betas.
pub const BETAS: [f64; 6] = [500.0, 1000.0, 1500.0, 2000.0, 3000.0, 4000.0];

/// Learning rate of their descent (the rescaled time advances by `LR` per iteration).
pub const LR: f64 = 1e-5;

/// The published initial angles (computed once with `b = 2000`, for every beta).
pub fn initial_angles() -> [f64; 5] {
    let b = 2000f64;
    let c = b.ln() / b.sqrt();
    [0.0, 0.5, 2.0, 4.0, 7.0].map(|k| 0.5 * k * c)
}

/// Their energy `(1/n^2) sum_ij exp(beta (cos(theta_i - theta_j) - 1))`.
pub fn published_energy(theta: &[f64], beta: f64) -> f64 {
    let n = theta.len() as f64;
    let mut e = 0.0;
    for a in theta {
        for b in theta {
            e += (beta * ((a - b).cos() - 1.0)).exp();
        }
    }
    e / (n * n)
}

/// Sizes of the groups of angles closer than `gap` (transitively), largest first.
pub fn partition(theta: &[f64], gap: f64) -> Vec<usize> {
    let mut t: Vec<f64> = theta.to_vec();
    t.sort_by(f64::total_cmp);
    let mut sizes = vec![1usize];
    for w in t.windows(2) {
        if w[1] - w[0] < gap {
            *sizes.last_mut().unwrap_or(&mut 0) += 1;
        } else {
            sizes.push(1);
        }
    }
    sizes.sort_by(|a, b| b.cmp(a));
    sizes
}

/// A trace of their descent.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct DescentTrace {
    /// Rescaled time `lr * iteration` of the samples.
    pub s: Vec<f64>,
    /// Their energy at the samples.
    pub energy: Vec<f64>,
    /// `(rescaled time, partition)` whenever the partition (gap `1e-3`) changes.
    pub partitions: Vec<(f64, Vec<usize>)>,
    /// Rescaled time at which the energy first exceeds `0.999` (one cluster).
    pub last_merge: Option<f64>,
}

/// Their normalised-gradient descent from `theta0` at `beta`: `theta <- theta + lr ln(beta)
/// g/|g|` with `g_i = (1/n^2) sum_j -sin(theta_i - theta_j) exp(beta(cos(theta_i - theta_j) - 1))`,
/// and, once `|g| < 1e-5`, every token closer than `1e-3` to an earlier one (in index order) is
/// moved onto it. `last_merge` is the first time the energy exceeds 0.999; the descent stops
/// once all tokens are within `1e-3` after that, or after `max_iter` iterations; samples every
/// `every` iterations.
pub fn normalised_descent(
    theta0: &[f64],
    beta: f64,
    lr: f64,
    max_iter: usize,
    every: usize,
) -> DescentTrace {
    let n = theta0.len();
    let mut th = theta0.to_vec();
    let mut g = vec![0.0; n];
    let mut tr = DescentTrace {
        s: vec![0.0],
        energy: vec![published_energy(&th, beta)],
        partitions: vec![(0.0, partition(&th, 1e-3))],
        last_merge: None,
    };
    let step = lr * beta.ln();
    for it in 1..=max_iter {
        for i in 0..n {
            g[i] = th
                .iter()
                .map(|tj| {
                    let d = th[i] - tj;
                    -d.sin() * (beta * (d.cos() - 1.0)).exp()
                })
                .sum::<f64>()
                / (n * n) as f64;
        }
        let norm = g.iter().map(|v| v * v).sum::<f64>().sqrt();
        if norm == 0.0 {
            break;
        }
        for i in 0..n {
            th[i] += step * g[i] / norm;
        }
        if norm < 1e-5 {
            for j in 0..n {
                for k in j + 1..n {
                    if (th[j] - th[k]).abs() < 1e-3 {
                        th[k] = th[j];
                    }
                }
            }
        }
        let s = lr * it as f64;
        let p = partition(&th, 1e-3);
        if tr.partitions.last().map(|x| &x.1) != Some(&p) {
            tr.partitions.push((s, p));
        }
        let e = published_energy(&th, beta);
        if it % every == 0 || (e > 0.999 && tr.last_merge.is_none()) {
            tr.s.push(s);
            tr.energy.push(e);
        }
        if e > 0.999 && tr.last_merge.is_none() {
            tr.last_merge = Some(s);
        }
        if tr.last_merge.is_some() && tr.partitions.last().is_some_and(|x| x.1.len() == 1) {
            break;
        }
    }
    tr
}

/// First abscissa at which `y` exceeds `level`, interpolated linearly between samples.
pub fn first_crossing(x: &[f64], y: &[f64], level: f64) -> Option<f64> {
    let k = y.iter().position(|&v| v > level)?;
    if k == 0 {
        return Some(x[0]);
    }
    let f = (level - y[k - 1]) / (y[k] - y[k - 1]);
    Some(x[k - 1] + f * (x[k] - x[k - 1]))
}

/// The exact dynamics of one beta.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ExactTrace {
    /// Row times `tau` (log-spaced).
    pub tau: Vec<f64>,
    /// Their energy `2 beta E_N` at the rows.
    pub energy: Vec<f64>,
    /// Arc-length time `arc_length / ln beta` at the rows.
    pub s: Vec<f64>,
    /// Merge events (time `tau`, parts as fractions of the tokens).
    pub merges: Vec<MergeEvent>,
    /// Partition after each merge, starting with five singletons.
    pub partitions: Vec<Vec<usize>>,
    /// Accepted steps.
    pub steps: usize,
}

/// Run the exact dynamics from the published angles at `beta` to `tau = 1e140`.
pub fn exact_dynamics(beta: f64, tol: f64, parts: &Parts) -> Result<ExactTrace> {
    let th = initial_angles();
    let x: Vec<f64> = th.iter().flat_map(|a| [a.cos(), a.sin()]).collect();
    let field = ExactField::new(2, beta, Model::Usa);
    let cfg = RunConfig {
        t_end: 1e140,
        control: StepControl::DormandPrince { tol },
        lmax_power: 1,
        save_every: None,
        series_points: 1,
        spacing: RowSpacing::EveryStep,
        merge_radius: COINCIDENT_CHORD,
        clusters: Default::default(),
    };
    let ctl = parts.control();
    let res = simulate(&cfg, &field, x, &mut (), &|| ctl.poll_stop())?;
    let n = th.len();
    let mut partitions = vec![vec![1usize; n]];
    for m in &res.merges {
        let mut p = partitions.last().cloned().unwrap_or_default();
        for part in &m.parts {
            let size = (part * n as f64).round() as usize;
            if let Some(i) = p.iter().position(|&v| v == size) {
                p.remove(i);
            }
        }
        p.push(m.tokens);
        p.sort_by(|a, b| b.cmp(a));
        partitions.push(p);
    }
    Ok(ExactTrace {
        tau: res.rows.iter().map(|r| r.time).collect(),
        energy: res.rows.iter().map(|r| 2.0 * beta * r.energy).collect(),
        s: res.rows.iter().map(|r| r.arc_length / beta.ln()).collect(),
        merges: res.merges,
        partitions,
        steps: res.steps,
    })
}

/// Setup of the preset.
#[derive(Clone, Debug, Serialize)]
pub struct GkprSetup {
    /// Betas.
    pub betas: Vec<f64>,
    /// Tolerance of the exact dynamics.
    pub tol: f64,
    /// Most iterations of their descent per beta.
    pub max_iter: usize,
}

/// Result per beta.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct GkprBeta {
    /// Beta.
    pub beta: f64,
    /// The exact dynamics.
    pub exact: ExactTrace,
    /// Their descent.
    pub descent: DescentTrace,
}

fn fmt_partition(p: &[usize]) -> String {
    format!(
        "({})",
        p.iter()
            .map(|v| v.to_string())
            .collect::<Vec<_>>()
            .join(",")
    )
}

/// Run the preset: both routes for every beta; report and figures into `out`.
pub fn run(s: &GkprSetup, parts: &Parts, out: &Path) -> Result<Vec<GkprBeta>> {
    let th = initial_angles();
    let mut results = Vec::new();
    for (i, &beta) in s.betas.iter().enumerate() {
        let r = parts.get(&format!("beta{i}"), || {
            Ok(GkprBeta {
                beta,
                exact: exact_dynamics(beta, s.tol, parts)?,
                descent: normalised_descent(&th, beta, LR, s.max_iter, 20),
            })
        })?;
        results.push(r);
    }
    report(s, &results, out)?;
    Ok(results)
}

fn report(s: &GkprSetup, rs: &[GkprBeta], out: &Path) -> Result<()> {
    let mut rep = Report::new(
        "Energy staircase of Geshkovski–Koubbi–Polyanskiy–Rigollet (n = 5 on the circle, USA)",
    );
    let th = initial_angles();
    rep.paragraph(&format!(
        "Initial angles 0.5·[0, 0.5, 2, 4, 7]·ln(2000)/√2000 = [{}] for every β (as in their \
         code). Energy E = (1/n²) Σ exp(β(cos(θi − θj) − 1)) = 2β E_N. Published: plateaus at \
         ≈ 0.20, 0.28, 0.44, 0.52, 1.00 with partitions (1,1,1,1,1) → (2,1,1,1) → (3,1,1) → \
         (3,2) → (5); last merge at rescaled time ≈ 0.12 (β = 500) down to ≈ 0.09 (β = 4000). \
         Two routes: the exact dynamics (attnflow particles: exact tangential summation, \
         coincident tokens merged, Dormand–Prince with tolerance {:e} in τ = e^β t, rows \
         after every step to τ = 1e140), and their rescaled time — the iteration count × {LR:e} \
         of their normalised-gradient descent with step {LR:e}·ln β and their snapping rule, \
         reproduced. Each of their iterations moves the configuration by {LR:e}·ln β in R^n, so \
         their rescaled time discretises the arc length / ln β of the continuous flow, which the \
         exact dynamics records (column arc_length); the last merge is where the energy first \
         exceeds 0.999 on both routes.",
        th.iter()
            .map(|v| format!("{v:.6}"))
            .collect::<Vec<_>>()
            .join(", "),
        s.tol
    ));
    let mut rows = Vec::new();
    for r in rs {
        let parts: Vec<String> = r
            .exact
            .partitions
            .iter()
            .map(|p| fmt_partition(p))
            .collect();
        let plateau = |p: &[usize]| p.iter().map(|v| (v * v) as f64).sum::<f64>() / 25.0;
        let energies: Vec<String> = r
            .exact
            .partitions
            .iter()
            .map(|p| format!("{:.2}", plateau(p)))
            .collect();
        let last = r.exact.merges.last();
        let last_s = first_crossing(&r.exact.s, &r.exact.energy, 0.999);
        rows.push(vec![
            format!("{}", r.beta),
            parts.join(" → "),
            energies.join(", "),
            last.map_or("-".into(), |m| format!("{:.2}", m.time.ln())),
            r.descent
                .last_merge
                .map_or("not reached".into(), |v| format!("{v:.4}")),
            last_s.map_or("-".into(), |v| format!("{v:.4}")),
            format!("{}", r.exact.steps),
        ]);
    }
    rep.table(
        &[
            "β",
            "partitions (exact dynamics)",
            "plateau energies Σ n_c²/n²",
            "ln τ of the last merge",
            "last merge, their rescaled time (descent)",
            "last merge, arc length / ln β (exact dynamics)",
            "steps",
        ],
        &rows,
    );
    let same = rs.iter().all(|r| {
        let want: Vec<Vec<usize>> = vec![
            vec![1, 1, 1, 1, 1],
            vec![2, 1, 1, 1],
            vec![3, 1, 1],
            vec![3, 2],
            vec![5],
        ];
        let theirs: Vec<Vec<usize>> = r.descent.partitions.iter().map(|p| p.1.clone()).collect();
        r.exact.partitions == want && theirs == want
    });
    rep.paragraph(&format!(
        "Partitions of both routes {} the published sequence for every β. The time of the last \
         merge grows like e^(cβ) in τ (the plateaus are exponentially long), while both rescaled \
         times stay O(1).",
        if same { "follow" } else { "do NOT all follow" }
    ));
    // Figures.
    let path = out.join("gkpr_staircase.png");
    let mut c = LineChart::new(
        "Energy against their rescaled time (normalised-gradient descent), n = 5, USA",
        Axis::linear("rescaled time (iterations × 1e-5)", 0.0, 0.15),
        Axis::linear("energy E = (1/n²) Σ exp(β(cos − 1))", 0.15, 1.05),
    );
    for (i, r) in rs.iter().enumerate() {
        let pts: Vec<(f64, f64)> = r
            .descent
            .s
            .iter()
            .zip(&r.descent.energy)
            .map(|(a, b)| (*a, *b))
            .collect();
        c.series.push(Series::new(
            format!("β = {}", r.beta),
            pts,
            palette(i),
            Style::Line(2),
        ));
    }
    for (i, r) in rs.iter().enumerate() {
        let pts: Vec<(f64, f64)> = r
            .exact
            .s
            .iter()
            .zip(&r.exact.energy)
            .map(|(a, b)| (*a, *b))
            .collect();
        c.series.push(if i == 0 {
            Series::new(
                "exact dynamics, arc length / ln β (dashed)",
                pts,
                palette(i),
                Style::Dashed(1),
            )
        } else {
            Series::unlabelled(pts, palette(i), Style::Dashed(1))
        });
    }
    c.legend = plotters::chart::SeriesLabelPosition::UpperLeft;
    crate::plot::render_figure(&path, 1000, 600, |a| c.draw(a, &path))?;
    rep.figure(
        "gkpr_staircase.png",
        "The published figure reproduced: energy against their rescaled time for six β (solid), \
         and the exact dynamics against its arc length / ln β (dashed)",
    );
    let path = out.join("gkpr_ln_tau.png");
    let xmax = rs
        .iter()
        .filter_map(|r| r.exact.merges.last().map(|m| m.time.ln()))
        .fold(10.0, f64::max);
    let mut c = LineChart::new(
        "Exact dynamics: energy against ln τ (τ = e^β t), n = 5, USA",
        Axis::linear("ln τ", -3.0, 1.08 * xmax),
        Axis::linear("energy E = 2β E_N", 0.15, 1.05),
    );
    for (i, r) in rs.iter().enumerate() {
        let pts: Vec<(f64, f64)> = r
            .exact
            .tau
            .iter()
            .zip(&r.exact.energy)
            .filter(|(t, _)| **t > 0.0)
            .map(|(t, e)| (t.ln(), *e))
            .collect();
        c.series.push(Series::new(
            format!("β = {}", r.beta),
            pts,
            palette(i),
            Style::Line(2),
        ));
    }
    c.legend = plotters::chart::SeriesLabelPosition::LowerRight;
    crate::plot::render_figure(&path, 1000, 600, |a| c.draw(a, &path))?;
    rep.figure(
        "gkpr_ln_tau.png",
        "Exact dynamics: the staircase against ln τ; the plateaus lengthen in proportion to β",
    );
    rep.record("setup", s);
    rep.record("initial_angles", &th);
    rep.record("betas", &rs);
    rep.write(out)
}
