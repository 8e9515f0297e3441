//! Figures of `compare noise`: noisy rates across `nu` and the hysteresis sweep.

use super::chart::{palette, Axis, LineChart, Series, Style};
use super::noise::{runs, MARGINAL};
use super::{draw_error, render_figure, FONT};
use crate::compare::noise::RateRow;
use crate::stationary::StationaryState;
use crate::Result;
use plotters::prelude::*;
use std::path::Path;

/// One panel of [`rates_figure`]: the measurements of one degree.
pub struct RatePanel {
    /// Degree.
    pub l: usize,
    /// Its measurements, in increasing `nu`.
    pub rows: Vec<RateRow>,
}

/// Rates against `nu / nu_l`, one panel per degree: the theory line `gamma_l(nu)`, the PDE's
/// linear-phase rates, the PDE over the particles' window and the particles with `± 2` standard
/// errors; zero line and `nu = nu_l` marked.
pub fn rates_figure(path: &Path, title: &str, panels: &[RatePanel]) -> Result<()> {
    let cols = panels.len().clamp(1, 3);
    render_figure(path, 600 * cols as u32, 520, |root| {
        let (title_area, body) = root.split_vertically(50);
        title_area
            .titled(title, (FONT, 22))
            .map_err(draw_error(path))?;
        let areas = body.split_evenly((1, cols));
        for (area, p) in areas.iter().zip(panels) {
            if p.rows.is_empty() {
                continue;
            }
            let nl = p.rows[0].nu_l;
            let xs: Vec<f64> = p.rows.iter().map(|r| r.nu_over_nu_l).collect();
            let xmin = xs.iter().cloned().fold(f64::INFINITY, f64::min).min(1.0) * 0.9;
            let xmax = xs.iter().cloned().fold(0.0, f64::max).max(1.0) * 1.05;
            // theory: gamma = k (nu_l - nu) = k nu_l (1 - f)
            let k_nl = p.rows[0].theory / (1.0 - p.rows[0].nu_over_nu_l);
            let theory = |f: f64| k_nl * (1.0 - f);
            let mut ys: Vec<f64> = p
                .rows
                .iter()
                .flat_map(|r| {
                    [
                        r.particles + 2.0 * r.particles_se,
                        r.particles - 2.0 * r.particles_se,
                        r.pde_linear,
                    ]
                })
                .collect();
            ys.extend([theory(xmin), theory(xmax)]);
            let ylo = ys.iter().cloned().fold(f64::INFINITY, f64::min);
            let yhi = ys.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
            let pad = 0.08 * (yhi - ylo);
            let mut chart = LineChart::new(
                format!("degree l = {} (ν_{} = {:.4} per τ)", p.l, p.l, nl),
                Axis::linear(format!("ν / ν_{}", p.l), xmin, xmax),
                Axis::linear("rate of a_l (per τ)", ylo - pad, yhi + pad),
            );
            let grey = RGBColor(90, 90, 90);
            chart.series.push(Series::unlabelled(
                vec![(xmin, 0.0), (xmax, 0.0)],
                grey,
                Style::Line(1),
            ));
            chart.series.push(Series::new(
                "theory γ_l(ν) = l(l+d−2)(ν_l − ν)",
                vec![(xmin, theory(xmin)), (xmax, theory(xmax))],
                palette(0),
                Style::Line(2),
            ));
            chart.series.push(Series::new(
                "PDE, linear phase",
                p.rows
                    .iter()
                    .map(|r| (r.nu_over_nu_l, r.pde_linear))
                    .collect(),
                palette(0),
                Style::Points(7),
            ));
            chart.series.push(Series::new(
                "PDE from the particles' start (same window)",
                p.rows
                    .iter()
                    .map(|r| (r.nu_over_nu_l * 1.012, r.pde_same_window))
                    .collect(),
                palette(2),
                Style::Points(4),
            ));
            let pc = palette(1);
            for r in &p.rows {
                let x = r.nu_over_nu_l * 0.988;
                chart.series.push(Series::unlabelled(
                    vec![
                        (x, r.particles - 2.0 * r.particles_se),
                        (x, r.particles + 2.0 * r.particles_se),
                    ],
                    pc,
                    Style::Line(2),
                ));
            }
            chart.series.push(Series::new(
                "particles (± 2 s.e.)",
                p.rows
                    .iter()
                    .map(|r| (r.nu_over_nu_l * 0.988, r.particles))
                    .collect(),
                pc,
                Style::Points(5),
            ));
            chart.vlines.push((1.0, grey));
            chart.legend = SeriesLabelPosition::LowerLeft;
            chart.draw(area, path)?;
        }
        Ok(())
    })
}

/// One curve of [`hysteresis_figure`].
pub struct SweepCurve {
    /// Legend text.
    pub label: String,
    /// `(nu / nu_#, r)` in sweep order.
    pub points: Vec<(f64, f64)>,
    /// Dashed (PDE) or solid (particles).
    pub dashed: bool,
}

/// The hysteresis sweep over the continuation branch: `r` against `nu / nu_#`, the branch
/// (stable solid grey, unstable dashed), the uniform state, `nu_#` and the fold `nu_f` marked.
pub fn hysteresis_figure(
    path: &Path,
    title: &str,
    branch: &[StationaryState],
    nu_sharp: f64,
    fold: f64,
    curves: &[SweepCurve],
) -> Result<()> {
    render_figure(path, 900, 620, |root| {
        let (title_area, body) = root.split_vertically(50);
        title_area
            .titled(title, (FONT, 22))
            .map_err(draw_error(path))?;
        let xmax = curves
            .iter()
            .flat_map(|c| c.points.iter().map(|p| p.0))
            .fold(fold, f64::max)
            * 1.02;
        let xmin = curves
            .iter()
            .flat_map(|c| c.points.iter().map(|p| p.0))
            .fold(1.0, f64::min)
            * 0.98;
        let mut chart = LineChart::new(
            format!("fold ν_f = {fold:.4} ν_#; bistable for ν_# < ν < ν_f"),
            Axis::linear("ν / ν_#", xmin, xmax),
            Axis::linear("order parameter r", 0.0, 1.0),
        );
        let grey = RGBColor(150, 150, 150);
        // the branch in arclength order, split where the stability changes (as in the
        // bifurcation figure)
        let pts: Vec<(f64, f64, bool)> = branch
            .iter()
            .map(|st| (st.nu / nu_sharp, st.r, st.leading_eigenvalue <= MARGINAL))
            .collect();
        let pieces = runs(&pts);
        let mut labelled = [false, false];
        for (s, v) in pieces {
            let k = usize::from(s);
            let (label, style) = if s {
                ("stable states (continuation)", Style::Line(6))
            } else {
                ("unstable states (continuation)", Style::Dashed(2))
            };
            chart.series.push(if labelled[k] {
                Series::unlabelled(v, grey, style)
            } else {
                labelled[k] = true;
                Series::new(label, v, grey, style)
            });
        }
        chart.series.push(Series::unlabelled(
            vec![(1.0, 0.0), (xmax, 0.0)],
            grey,
            Style::Line(6),
        ));
        chart.series.push(Series::unlabelled(
            vec![(xmin, 0.0), (1.0, 0.0)],
            grey,
            Style::Dashed(2),
        ));
        for (i, c) in curves.iter().enumerate() {
            let color = palette(if c.dashed { i + 2 } else { i });
            chart.series.push(Series::new(
                c.label.clone(),
                c.points.clone(),
                color,
                if c.dashed {
                    Style::LinePoints(1, 3)
                } else {
                    Style::LinePoints(2, 5)
                },
            ));
        }
        chart.vlines.push((1.0, RGBColor(60, 60, 60)));
        chart.vlines.push((fold, RGBColor(60, 60, 60)));
        chart.legend = SeriesLabelPosition::LowerLeft;
        chart.draw(&body, path)?;
        Ok(())
    })
}
