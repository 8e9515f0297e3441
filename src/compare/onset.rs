//! `compare onset`: the time at which the meta-stable structure appears, against `ln N`.
//!
//! Onset time (documented definition): the first time the dominant power `C_{l*}(t)` reaches
//! `level * dim(H_{l*})` (default `level = 0.1`; `dim(H_l)` is the largest value `C_l` can take,
//! reached when all tokens coincide, and also the value for `l*` evenly spaced point clusters on
//! the circle), found by linear interpolation of `ln C_{l*}` between samples. Linear theory:
//! `C_{l*}(t) ~ (dim(H_{l*})/N) e^{2 gamma_{l*} t}`, so `T(N) = ln N / (2 gamma_{l*}) + O(1)`.
//! The slope of `T` against `ln N` (least squares over all systems and sizes, 95% Student-t
//! interval) is compared with `1/(2 gamma_{l*})`.

use super::common::{theory_rate, time_unit_name, ParticleSetup};
use super::parts::Parts;
use super::{plus_minus, Report};
use crate::analysis::fit::{fit_line, student_t_quantile};
use crate::linear;
use crate::plot::chart::{palette, Axis, LineChart, Series, Style};
use crate::special::harmonic_dimension;
use crate::Result;
use serde::Serialize;
use std::path::Path;

/// First time `c` reaches `threshold`, by linear interpolation of `ln c`; `None` if never.
pub fn first_crossing(t: &[f64], c: &[f64], threshold: f64) -> Option<f64> {
    let k = c.iter().position(|&v| v >= threshold)?;
    if k == 0 {
        return Some(t[0]);
    }
    let (a, b) = (c[k - 1].max(f64::MIN_POSITIVE).ln(), c[k].ln());
    let s = if b > a {
        (threshold.ln() - a) / (b - a)
    } else {
        1.0
    };
    Some(t[k - 1] + s.clamp(0.0, 1.0) * (t[k] - t[k - 1]))
}

/// Onset times at one size.
#[derive(Clone, Debug, Serialize)]
pub struct SizeResult {
    /// Tokens.
    pub n: usize,
    /// Onset time of each system (`null`: not reached by the end of the run).
    pub onsets: Vec<Option<f64>>,
}

/// Outcome of the experiment.
#[derive(Clone, Debug, Serialize)]
pub struct OnsetResult {
    /// Dominant degree.
    pub dominant: usize,
    /// `gamma_{l*}` (internal time unit).
    pub gamma: f64,
    /// Predicted slope `1/(2 gamma_{l*})`.
    pub predicted_slope: f64,
    /// Fitted slope of `T` against `ln N`.
    pub slope: f64,
    /// Half-width of its 95% interval.
    pub slope_half_width: f64,
    /// Fitted intercept.
    pub intercept: f64,
    /// Per-size onset times.
    pub sizes: Vec<SizeResult>,
    /// `level` of the definition.
    pub level: f64,
}

/// Run the experiment for the sizes `ns` (each with `base.systems` systems).
pub fn run(
    base: &ParticleSetup,
    ns: &[usize],
    level: f64,
    parts: &Parts,
    out: &Path,
) -> Result<OnsetResult> {
    let star = linear::dominant_degree(base.beta, base.dim);
    let gamma = theory_rate(star, base.beta, base.dim, base.model);
    let threshold = level * harmonic_dimension(star, base.dim);
    let n_max = *ns.iter().max().expect("sizes");
    let mut sizes = Vec::new();
    for &n in ns {
        let setup = ParticleSetup {
            n,
            lmax_power: star,
            // Long enough for the largest size: onset ~ (ln N + ln level)/(2 gamma), doubled.
            t_end: ((n_max as f64).ln() + 4.0) / gamma,
            series_points: 400,
            ..base.clone()
        };
        let res = setup.run(parts, &format!("n{n}"))?;
        let t: Vec<f64> = res.systems[0].rows.iter().map(|r| r.time).collect();
        let onsets = res
            .systems
            .iter()
            .map(|s| {
                let c: Vec<f64> = s.rows.iter().map(|r| r.power[star - 1]).collect();
                first_crossing(&t, &c, threshold)
            })
            .collect();
        sizes.push(SizeResult { n, onsets });
    }
    let (mut x, mut y) = (Vec::new(), Vec::new());
    for s in &sizes {
        for o in s.onsets.iter().flatten() {
            x.push((s.n as f64).ln());
            y.push(*o);
        }
    }
    let fit = fit_line(&x, &y).ok_or_else(|| {
        crate::Error::Numerical(
            "onset: fewer than two onset times were reached; raise the sizes (n_min, n_max) or the level".into(),
        )
    })?;
    let half = if fit.n > 2 {
        student_t_quantile(0.05, (fit.n - 2) as f64) * fit.slope_stderr
    } else {
        f64::INFINITY
    };
    let result = OnsetResult {
        dominant: star,
        gamma,
        predicted_slope: 1.0 / (2.0 * gamma),
        slope: fit.slope,
        slope_half_width: half,
        intercept: fit.intercept,
        sizes,
        level,
    };
    report(base, &result, out)?;
    Ok(result)
}

fn report(base: &ParticleSetup, r: &OnsetResult, out: &Path) -> Result<()> {
    let unit = time_unit_name(base.model);
    let mut rep = Report::new(&format!(
        "Onset time against ln N (d = {}, β = {}, {}, {} systems per size)",
        base.dim,
        base.beta,
        base.model.name().to_uppercase(),
        base.systems
    ));
    rep.paragraph(&format!(
        "Onset: the first time the dominant power C_l* (l* = {}) reaches {} dim(H_l*), times in {unit}. \
         Linear theory predicts T(N) = ln N / (2 γ_l*) + O(1), slope 1/(2γ_l*) = {:.4}.",
        r.dominant, r.level, r.predicted_slope
    ));
    let rows: Vec<Vec<String>> = r
        .sizes
        .iter()
        .map(|s| {
            let v: Vec<f64> = s.onsets.iter().flatten().copied().collect();
            let m = crate::analysis::fit::mean_interval(&v, 0.05);
            vec![
                s.n.to_string(),
                format!("{:.4}", (s.n as f64).ln()),
                m.map_or("not reached".into(), |m| plus_minus(m.mean, m.half_width)),
                format!("{}/{}", v.len(), s.onsets.len()),
            ]
        })
        .collect();
    rep.table(&["N", "ln N", "onset time (mean, 95%)", "reached"], &rows);
    let inside = (r.slope - r.predicted_slope).abs() <= r.slope_half_width;
    rep.paragraph(&format!(
        "Fitted slope {} against the prediction {:.4} (relative difference {:+.2e}): {}. \
         The O(1) offset (intercept {:.3}) absorbs the level and the time the nonlinear \
         terms need; finite-N fluctuations of C_l*(0) (exponentially distributed) spread the \
         onsets by about 1/(2γ_l*) at every N.",
        plus_minus(r.slope, r.slope_half_width),
        r.predicted_slope,
        (r.slope - r.predicted_slope) / r.predicted_slope,
        if inside {
            "consistent"
        } else {
            "NOT consistent within the interval"
        },
        r.intercept
    ));
    let path = out.join("onset.png");
    let xs: Vec<f64> = r.sizes.iter().map(|s| (s.n as f64).ln()).collect();
    let (x0, x1) = (xs[0] - 0.3, xs[xs.len() - 1] + 0.3);
    let pts: Vec<(f64, f64)> = r
        .sizes
        .iter()
        .flat_map(|s| {
            s.onsets
                .iter()
                .flatten()
                .map(move |&o| ((s.n as f64).ln(), o))
        })
        .collect();
    let ymax = pts.iter().map(|p| p.1).fold(0.0, f64::max) * 1.15;
    let mut chart = LineChart::new(
        format!(
            "Onset time vs ln N, d = {}, β = {}, {} (l* = {})",
            base.dim,
            base.beta,
            base.model.name().to_uppercase(),
            r.dominant
        ),
        Axis::linear("ln N", x0, x1),
        Axis::linear(format!("onset time ({unit})"), 0.0, ymax),
    );
    chart.series.push(Series::new(
        "particle systems",
        pts,
        palette(0),
        Style::Points(4),
    ));
    chart.series.push(Series::new(
        format!("fit: slope {}", plus_minus(r.slope, r.slope_half_width)),
        vec![
            (x0, r.intercept + r.slope * x0),
            (x1, r.intercept + r.slope * x1),
        ],
        palette(0),
        Style::Line(2),
    ));
    let mid = xs.iter().sum::<f64>() / xs.len() as f64;
    let ymid = r.intercept + r.slope * mid;
    chart.series.push(Series::new(
        format!("theory slope 1/(2γ_l*) = {:.4}", r.predicted_slope),
        vec![
            (x0, ymid + r.predicted_slope * (x0 - mid)),
            (x1, ymid + r.predicted_slope * (x1 - mid)),
        ],
        palette(3),
        Style::Dashed(2),
    ));
    chart.legend = plotters::chart::SeriesLabelPosition::UpperLeft;
    crate::plot::render_figure(&path, 1000, 650, |a| chart.draw(a, &path))?;
    rep.figure(
        "onset.png",
        "Onset times of every system against ln N, the fitted line and the theory slope",
    );
    rep.record("setup", base);
    rep.record("time_unit", &unit);
    rep.record("result", r);
    rep.write(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crossing_interpolates_in_log() {
        let t = [0.0, 1.0, 2.0];
        let c = [1e-4, 1e-3, 1e-2];
        let x = first_crossing(&t, &c, 10f64.powf(-2.5)).unwrap();
        assert!((x - 1.5).abs() < 1e-12);
        assert_eq!(first_crossing(&t, &c, 1.0), None);
        assert_eq!(first_crossing(&t, &c, 1e-5), Some(0.0));
    }
}
