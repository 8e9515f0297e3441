//! Figures of the noisy model: bifurcation diagrams of the axisymmetric stationary states.

use super::chart::{palette, Axis, LineChart, Series, Style};
use super::{draw_error, render_figure, FONT};
use crate::stationary::StationaryState;
use crate::Result;
use plotters::prelude::*;
use std::path::Path;

/// Leading eigenvalues up to this value count as stable (the uniform state at `nu_#` itself is
/// marginal: its eigenvalue is 0 to rounding).
pub const MARGINAL: f64 = 1e-12;

/// One panel of [`bifurcation_figure`]: a branch of stationary states at one `(d, beta)`.
pub struct BranchPanel<'a> {
    /// Panel title (e.g. `d = 2, β = 3 > β_* = 2.447: subcritical`).
    pub title: String,
    /// The branch, ordered by arclength (first point the uniform state at `nu_#`).
    pub branch: &'a [StationaryState],
    /// `nu_#` in the branch's unit.
    pub nu_sharp: f64,
    /// Extra points `(nu / nu_#, r)` with a legend label (e.g. long PDE runs).
    pub markers: Vec<(String, Vec<(f64, f64)>)>,
}

/// Split `(x, y, stable)` points into maximal runs of equal stability (adjacent runs share
/// their end point so the curve is continuous).
pub(crate) fn runs(points: &[(f64, f64, bool)]) -> Vec<(bool, Vec<(f64, f64)>)> {
    let mut out: Vec<(bool, Vec<(f64, f64)>)> = Vec::new();
    for &(x, y, s) in points {
        match out.last_mut() {
            Some((st, pts)) if *st == s => pts.push((x, y)),
            Some((_, pts)) => {
                let last = *pts.last().expect("non-empty run");
                out.push((s, vec![last, (x, y)]));
            }
            None => out.push((s, vec![(x, y)])),
        }
    }
    out
}

/// Write a PNG with one panel per branch: order parameter `r` against `nu / nu_#`; stable
/// states solid, unstable dashed; the uniform state `r = 0` (stable for `nu > nu_#`).
pub fn bifurcation_figure(path: &Path, title: &str, panels: &[BranchPanel<'_>]) -> Result<()> {
    let cols = panels.len().clamp(1, 3);
    let rows = panels.len().div_ceil(cols).max(1);
    render_figure(path, 560 * cols as u32, 460 * rows as u32 + 50, |root| {
        let (title_area, body) = root.split_vertically(50);
        title_area
            .titled(title, (FONT, 22))
            .map_err(draw_error(path))?;
        let areas = body.split_evenly((rows, cols));
        for (area, p) in areas.iter().zip(panels) {
            let pts: Vec<(f64, f64, bool)> = p
                .branch
                .iter()
                .map(|s| (s.nu / p.nu_sharp, s.r, s.leading_eigenvalue <= MARGINAL))
                .collect();
            let xmax = pts.iter().map(|q| q.0).fold(1.3f64, f64::max) * 1.02;
            let xmin = pts.iter().map(|q| q.0).fold(1.0f64, f64::min).min(0.5);
            let mut chart = LineChart::new(
                p.title.clone(),
                Axis::linear("ν / ν_#", xmin, xmax),
                // head room above r = 1 for the legend, so that it hides no data
                Axis::linear(
                    "order parameter r = |∫ x ρ dσ|",
                    0.0,
                    if p.markers.is_empty() { 1.3 } else { 1.45 },
                ),
            );
            let color = palette(0);
            let mut first = [true, true];
            for (stable, seg) in runs(&pts) {
                let k = usize::from(!stable);
                let style = if stable {
                    Style::Line(3)
                } else {
                    Style::Dashed(2)
                };
                let s = if first[k] {
                    first[k] = false;
                    Series::new(
                        if stable {
                            "stable (continuation)"
                        } else {
                            "unstable (continuation)"
                        },
                        seg,
                        color,
                        style,
                    )
                } else {
                    Series::unlabelled(seg, color, style)
                };
                chart.series.push(s);
            }
            let grey = RGBColor(90, 90, 90);
            chart.series.push(Series::unlabelled(
                vec![(1.0, 0.0), (xmax, 0.0)],
                grey,
                Style::Line(3),
            ));
            chart.series.push(Series::new(
                "uniform state (dashed: unstable)",
                vec![(xmin, 0.0), (1.0, 0.0)],
                grey,
                Style::Dashed(2),
            ));
            for (i, (label, m)) in p.markers.iter().enumerate() {
                chart.series.push(Series::new(
                    label.clone(),
                    m.clone(),
                    palette(i + 2),
                    Style::Points(5),
                ));
            }
            chart.vlines.push((1.0, grey));
            chart.legend = SeriesLabelPosition::UpperRight;
            chart.draw(area, path)?;
        }
        Ok(())
    })
}
