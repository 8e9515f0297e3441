//! Linear-theory figures: growth rates against degree, and the dominant degree against beta.

use super::chart::palette;
use super::{draw_error, render_figure, typeset, FONT};
use crate::linear::{dominant_degree, ln_growth_rate};
use crate::{Model, Result, TimeUnit};
use plotters::prelude::*;
use std::path::Path;

/// Inverse temperatures drawn in `growth_rates.png`.
pub const GROWTH_BETAS: [f64; 5] = [1.0, 4.0, 9.0, 25.0, 60.0];
/// Dimensions drawn in `dominant_mode.png`.
pub const DOMINANT_DIMS: [usize; 3] = [2, 3, 8];

/// `gamma_l / gamma_{l*}` for `l = 1..=lmax` (the ratio is the same for USA and SA, in either
/// time unit).
pub fn relative_growth_rates(beta: f64, dim: usize, lmax: usize) -> (usize, Vec<(f64, f64)>) {
    let star = dominant_degree(beta, dim);
    let ln = |l| ln_growth_rate(l, beta, dim, Model::Sa, TimeUnit::Physical).expect("l >= 1");
    let top = ln(star);
    let pts = (1..=lmax)
        .map(|l| (l as f64, (ln(l) - top).exp()))
        .collect();
    (star, pts)
}

/// Write `growth_rates.png`: `gamma_l / gamma_{l*}` against `l` for several beta, d = 2 and 3.
pub fn growth_rates_figure(path: &Path) -> Result<()> {
    let lmax = 30;
    render_figure(path, 1400, 620, |root| {
        let (title_area, body) = root.split_vertically(50);
        title_area
            .titled(
                &typeset("Linear growth rates of the uniform state, γ_l / γ_l* (USA and SA alike; ● marks l*)"),
                (FONT, 24),
            )
            .map_err(draw_error(path))?;
        let panels = body.split_evenly((1, 2));
        for (panel, dim) in panels.iter().zip([2usize, 3]) {
            let sphere = if dim == 2 { "circle S¹" } else { "sphere S²" };
            let mut chart = ChartBuilder::on(panel)
                .caption(format!("d = {dim} ({sphere})"), (FONT, 20))
                .margin(12)
                .x_label_area_size(45)
                .y_label_area_size(60)
                .build_cartesian_2d(0.0..lmax as f64 + 0.5, 0.0..1.08)
                .map_err(draw_error(path))?;
            chart
                .configure_mesh()
                .x_desc("degree l")
                .y_desc(typeset("γ_l / γ_l*"))
                .x_label_formatter(&|x| format!("{x:.0}"))
                .label_style((FONT, 15))
                .axis_desc_style((FONT, 17))
                .light_line_style(WHITE.mix(0.0))
                .draw()
                .map_err(draw_error(path))?;
            for (i, &beta) in GROWTH_BETAS.iter().enumerate() {
                let color = palette(i);
                let (star, pts) = relative_growth_rates(beta, dim, lmax);
                chart
                    .draw_series(LineSeries::new(pts.clone(), color.stroke_width(2)))
                    .map_err(draw_error(path))?
                    .label(format!("β = {beta} (l* = {star})"))
                    .legend(move |(x, y)| {
                        PathElement::new(vec![(x, y), (x + 22, y)], color.stroke_width(2))
                    });
                chart
                    .draw_series(pts.iter().map(|&p| Circle::new(p, 2, color.filled())))
                    .map_err(draw_error(path))?;
                chart
                    .draw_series(std::iter::once(Circle::new(
                        (star as f64, 1.0),
                        7,
                        color.filled(),
                    )))
                    .map_err(draw_error(path))?;
            }
            chart
                .configure_series_labels()
                .position(SeriesLabelPosition::UpperRight)
                .background_style(WHITE.mix(0.9))
                .border_style(BLACK)
                .label_font((FONT, 15))
                .draw()
                .map_err(draw_error(path))?;
        }
        Ok(())
    })
}

/// Tick text for log axes: `0.1`, `1`, `10`, `1000`.
fn tick(v: f64) -> String {
    if v >= 1.0 {
        format!("{v:.0}")
    } else {
        format!("{v}")
    }
}

/// Write `dominant_mode.png`: `l*` against beta (log axes) for d = 2, 3, 8 with the
/// large-beta asymptotes `sqrt(2 beta)` and `sqrt(2 beta + a^2) - a`, `a = (d-2)/2`.
pub fn dominant_mode_figure(path: &Path) -> Result<()> {
    let (b0, b1): (f64, f64) = (0.1, 1.0e4);
    let n = 1200;
    let grid: Vec<f64> = (0..n)
        .map(|i| (b0.ln() + (b1.ln() - b0.ln()) * i as f64 / (n - 1) as f64).exp())
        .collect();
    render_figure(path, 1100, 750, |root| {
        let mut chart = ChartBuilder::on(root)
            .caption(
                typeset(
                    "Dominant degree l* = argmax γ_l of the uniform state (steps) and asymptotes",
                ),
                (FONT, 24),
            )
            .margin(15)
            .margin_right(40)
            .x_label_area_size(50)
            .y_label_area_size(65)
            .build_cartesian_2d((b0..b1).log_scale(), (0.8f64..200.0).log_scale())
            .map_err(draw_error(path))?;
        chart
            .configure_mesh()
            .x_desc("inverse temperature β")
            .y_desc("dominant degree l*")
            .x_label_formatter(&|x| tick(*x))
            .y_label_formatter(&|y| tick(*y))
            .label_style((FONT, 16))
            .axis_desc_style((FONT, 18))
            .draw()
            .map_err(draw_error(path))?;
        chart
            .draw_series(DashedLineSeries::new(
                grid.iter()
                    .map(|&b| (b, (2.0 * b).sqrt()))
                    .filter(|p| p.1 >= 0.8),
                10,
                6,
                BLACK.stroke_width(2),
            ))
            .map_err(draw_error(path))?
            .label("√(2β)")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 22, y)], BLACK.stroke_width(2)));
        for (i, &dim) in DOMINANT_DIMS.iter().enumerate() {
            let color = palette(i);
            let mut steps = Vec::with_capacity(2 * n);
            let mut prev: Option<f64> = None;
            for &b in &grid {
                let l = dominant_degree(b, dim) as f64;
                if let Some(p) = prev {
                    if p != l {
                        steps.push((b, p));
                    }
                }
                steps.push((b, l));
                prev = Some(l);
            }
            chart
                .draw_series(LineSeries::new(steps, color.stroke_width(3)))
                .map_err(draw_error(path))?
                .label(format!("l*(β), d = {dim}"))
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 22, y)], color.stroke_width(3))
                });
            if dim > 2 {
                let a = (dim as f64 - 2.0) / 2.0;
                chart
                    .draw_series(DashedLineSeries::new(
                        grid.iter()
                            .map(|&b| (b, (2.0 * b + a * a).sqrt() - a))
                            .filter(|p| p.1 >= 0.8),
                        4,
                        4,
                        color.stroke_width(2),
                    ))
                    .map_err(draw_error(path))?
                    .label(format!("√(2β + a²) − a, a = {a}"))
                    .legend(move |(x, y)| {
                        PathElement::new(vec![(x, y), (x + 22, y)], color.stroke_width(1))
                    });
            }
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.9))
            .border_style(BLACK)
            .label_font((FONT, 16))
            .draw()
            .map_err(draw_error(path))?;
        Ok(())
    })
}

/// Write both linear-theory figures into `dir`; returns the paths written.
pub fn write_linear_figures(dir: &Path) -> Result<Vec<std::path::PathBuf>> {
    let g = dir.join("growth_rates.png");
    growth_rates_figure(&g)?;
    let d = dir.join("dominant_mode.png");
    dominant_mode_figure(&d)?;
    Ok(vec![g, d])
}
