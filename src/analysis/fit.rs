//! Least-squares fits, confidence intervals, and the automatic choice of the linear-growth
//! window of a harmonic power series `C_l(t)`.
//!
//! Conventions: a power `C_l(t) = sum_m |M_lm(t)|^2` in the linear regime grows like
//! `exp(2 gamma_l t)`, so the growth rate is half the slope of `ln C_l` against `t`.

use special::Beta;

/// Ordinary least-squares line `y = intercept + slope x`.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct LineFit {
    /// Fitted slope.
    pub slope: f64,
    /// Fitted intercept.
    pub intercept: f64,
    /// Standard error of the slope, `sqrt(s^2 / Sxx)` with `s^2 = RSS/(n-2)` (0 for `n = 2`).
    pub slope_stderr: f64,
    /// Number of points used.
    pub n: usize,
    /// Coefficient of determination.
    pub r2: f64,
}

/// Fit a straight line to `(x, y)` by least squares (centred sums). `None` if fewer than two
/// points, non-finite values, or all `x` equal.
pub fn fit_line(x: &[f64], y: &[f64]) -> Option<LineFit> {
    let n = x.len().min(y.len());
    if n < 2 || x[..n].iter().chain(&y[..n]).any(|v| !v.is_finite()) {
        return None;
    }
    let nf = n as f64;
    let mx = x[..n].iter().sum::<f64>() / nf;
    let my = y[..n].iter().sum::<f64>() / nf;
    let (mut sxx, mut sxy, mut syy) = (0.0, 0.0, 0.0);
    for i in 0..n {
        let (dx, dy) = (x[i] - mx, y[i] - my);
        sxx += dx * dx;
        sxy += dx * dy;
        syy += dy * dy;
    }
    if sxx <= 0.0 {
        return None;
    }
    let slope = sxy / sxx;
    let intercept = my - slope * mx;
    let rss = (syy - slope * sxy).max(0.0);
    let slope_stderr = if n > 2 {
        (rss / (nf - 2.0) / sxx).sqrt()
    } else {
        0.0
    };
    let r2 = if syy > 0.0 { 1.0 - rss / syy } else { 1.0 };
    Some(LineFit {
        slope,
        intercept,
        slope_stderr,
        n,
        r2,
    })
}

/// Two-sided Student-t quantile: the `t` with `P(|T_dof| > t) = alpha` (e.g. `alpha = 0.05`
/// for a 95% interval), from `P(|T| > t) = I_{dof/(dof+t^2)}(dof/2, 1/2)`.
pub fn student_t_quantile(alpha: f64, dof: f64) -> f64 {
    assert!(alpha > 0.0 && alpha < 1.0 && dof > 0.0);
    let (p, q) = (dof / 2.0, 0.5);
    let ln_beta = p.ln_beta(q);
    let x = alpha.inv_inc_beta(p, q, ln_beta);
    (dof * (1.0 - x) / x).sqrt()
}

/// Sample mean with a two-sided Student-t confidence interval.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct MeanInterval {
    /// Sample mean.
    pub mean: f64,
    /// Sample standard deviation (`n - 1` normalisation; 0 for one value).
    pub std: f64,
    /// Half-width of the interval: `t_{alpha, n-1} std / sqrt(n)` (infinite for one value).
    pub half_width: f64,
    /// Number of values.
    pub n: usize,
}

/// Mean and `(1 - alpha)` confidence interval of `values` (non-finite values are skipped).
/// `None` when no finite value remains.
pub fn mean_interval(values: &[f64], alpha: f64) -> Option<MeanInterval> {
    let v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    let n = v.len();
    if n == 0 {
        return None;
    }
    let mean = v.iter().sum::<f64>() / n as f64;
    if n == 1 {
        return Some(MeanInterval {
            mean,
            std: 0.0,
            half_width: f64::INFINITY,
            n,
        });
    }
    let var = v.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / (n - 1) as f64;
    let std = var.sqrt();
    let half_width = student_t_quantile(alpha, (n - 1) as f64) * std / (n as f64).sqrt();
    Some(MeanInterval {
        mean,
        std,
        half_width,
        n,
    })
}

/// Options of [`growth_window`].
#[derive(Clone, Copy, Debug, serde::Serialize)]
pub struct WindowOptions {
    /// The window starts once `C_l` stays above `noise_factor * noise` (default 3).
    pub noise_factor: f64,
    /// The window ends when `C_l` first reaches `saturation_fraction * saturation` (default
    /// 0.005: the cubic self-interaction of a mode then changes its rate by well under 1%).
    pub saturation_fraction: f64,
    /// Fewest samples a window may hold (default 4).
    pub min_points: usize,
}

impl Default for WindowOptions {
    fn default() -> Self {
        Self {
            noise_factor: 3.0,
            saturation_fraction: 0.005,
            min_points: 4,
        }
    }
}

/// The linear-growth window of a power series `c` sampled at `t` (indices `start..end`, end
/// exclusive).
///
/// Definition: `noise` is the finite-N level of the power (`dim(H_l)/N` for iid uniform tokens)
/// and `saturation` its nonlinear ceiling (by default the caller passes `max_t C_l(t)`).
/// The window starts at the first sample after the last time `c` is below
/// `noise_factor * noise` before the end (so it has left the noise for good; at sample 0 if it
/// never is) and ends before the first sample at or above `saturation_fraction * saturation`.
/// `None` if the window holds fewer than `min_points` samples, or if `c` never leaves the noise.
pub fn growth_window(
    t: &[f64],
    c: &[f64],
    noise: f64,
    saturation: f64,
    opts: WindowOptions,
) -> Option<std::ops::Range<usize>> {
    let n = t.len().min(c.len());
    let ceiling = opts.saturation_fraction * saturation;
    let floor = opts.noise_factor * noise;
    let end = (0..n).find(|&i| c[i] >= ceiling).unwrap_or(n);
    let start = (0..end)
        .rev()
        .find(|&i| !(c[i] > floor && c[i].is_finite()))
        .map_or(0, |i| i + 1);
    (end > start && end - start >= opts.min_points).then_some(start..end)
}

/// A growth-rate fit on the automatically chosen window.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct GrowthFit {
    /// `gamma = slope / 2` of `ln C` against `t`.
    pub rate: f64,
    /// Standard error of `rate` from the regression.
    pub rate_stderr: f64,
    /// First time of the window.
    pub t_start: f64,
    /// Last time of the window.
    pub t_end: f64,
    /// Samples in the window.
    pub n: usize,
}

/// Fit `gamma` from `ln C(t) ~ const + 2 gamma t` on [`growth_window`].
pub fn fit_growth_rate(
    t: &[f64],
    c: &[f64],
    noise: f64,
    saturation: f64,
    opts: WindowOptions,
) -> Option<GrowthFit> {
    let w = growth_window(t, c, noise, saturation, opts)?;
    let ln_c: Vec<f64> = c[w.clone()].iter().map(|v| v.ln()).collect();
    let fit = fit_line(&t[w.clone()], &ln_c)?;
    Some(GrowthFit {
        rate: fit.slope / 2.0,
        rate_stderr: fit.slope_stderr / 2.0,
        t_start: t[w.start],
        t_end: t[w.end - 1],
        n: fit.n,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_line_is_recovered() {
        let x: Vec<f64> = (0..10).map(|i| i as f64 * 0.3).collect();
        let y: Vec<f64> = x.iter().map(|x| 2.5 - 1.25 * x).collect();
        let f = fit_line(&x, &y).unwrap();
        assert!((f.slope + 1.25).abs() < 1e-14 && (f.intercept - 2.5).abs() < 1e-14);
        assert!(f.slope_stderr < 1e-14 && (f.r2 - 1.0).abs() < 1e-14);
        assert!(fit_line(&[1.0, 1.0], &[0.0, 1.0]).is_none());
        assert!(fit_line(&[1.0], &[0.0]).is_none());
    }

    #[test]
    fn slope_stderr_matches_closed_form() {
        // Hand-computed: mean x = mean y = 1.5, Sxx = 5, Sxy = 3, Syy = 5.
        let x = [0.0, 1.0, 2.0, 3.0];
        let y = [1.0, 0.0, 3.0, 2.0];
        let f = fit_line(&x, &y).unwrap();
        // slope = 3/5, intercept = 1.5 - 0.6 * 1.5 = 0.6
        assert!((f.slope - 0.6).abs() < 1e-15 && (f.intercept - 0.6).abs() < 1e-15);
        // RSS = Syy - slope Sxy = 5 - 1.8 = 3.2; stderr = sqrt(3.2 / (n-2) / Sxx) = sqrt(0.32)
        assert!((f.slope_stderr - (0.32f64).sqrt()).abs() < 1e-15);
    }

    #[test]
    fn student_t_quantiles_match_tables() {
        // Standard two-sided 95% values.
        for (dof, want) in [
            (1.0, 12.706_204_736),
            (2.0, 4.302_652_730),
            (10.0, 2.228_138_852),
            (100.0, 1.983_971_519),
        ] {
            let t = student_t_quantile(0.05, dof);
            assert!((t - want).abs() < 1e-6 * want, "dof {dof}: {t}");
        }
        // dof = 1 is Cauchy: t = tan(pi (1 - alpha) / 2).
        let t = student_t_quantile(0.1, 1.0);
        assert!((t - (std::f64::consts::PI * 0.45).tan()).abs() < 1e-9);
    }

    #[test]
    fn mean_interval_basic() {
        let m = mean_interval(&[1.0, 2.0, 3.0, f64::NAN], 0.05).unwrap();
        assert_eq!(m.n, 3);
        assert!((m.mean - 2.0).abs() < 1e-15 && (m.std - 1.0).abs() < 1e-15);
        assert!((m.half_width - 4.302_652_730 / 3f64.sqrt()).abs() < 1e-6);
        assert!(mean_interval(&[f64::NAN], 0.05).is_none());
    }

    /// Deterministic pseudo-noise in [-1, 1] (a fixed LCG; no test depends on a crate's RNG).
    fn noise(i: usize) -> f64 {
        let x = (i as u64)
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((x >> 11) as f64 / (1u64 << 53) as f64) * 2.0 - 1.0
    }

    /// Synthetic power: flat at the noise level until `t0`, then exponential growth at
    /// `2 gamma` with logistic saturation at 1, times a multiplicative jitter.
    fn synthetic(gamma: f64, t0: f64, noise_level: f64, jitter: f64) -> (Vec<f64>, Vec<f64>) {
        let t: Vec<f64> = (0..400).map(|i| i as f64 * 0.05).collect();
        let c: Vec<f64> = t
            .iter()
            .enumerate()
            .map(|(i, &t)| {
                let grow = noise_level * (2.0 * gamma * (t - t0).max(0.0)).exp();
                let clean = grow / (1.0 + grow);
                clean * (1.0 + jitter * noise(i))
            })
            .collect();
        (t, c)
    }

    #[test]
    fn window_skips_noise_and_saturation_and_recovers_rate() {
        let (gamma, t0, n0) = (0.8, 3.0, 1e-6);
        let (t, c) = synthetic(gamma, t0, n0, 0.02);
        let sat = c.iter().cloned().fold(0.0, f64::max);
        let w = growth_window(&t, &c, n0, sat, WindowOptions::default()).unwrap();
        // Leaves 3x noise at t0 + ln(3)/(2 gamma) and stops at the saturation fraction.
        let t_leave = t0 + (3.0f64).ln() / (2.0 * gamma);
        assert!(
            t[w.start] > t_leave - 0.1 && t[w.start] < t_leave + 0.5,
            "{}",
            t[w.start]
        );
        let frac = WindowOptions::default().saturation_fraction;
        let t_sat = t0 + (frac / n0).ln() / (2.0 * gamma);
        assert!((t[w.end - 1] - t_sat).abs() < 0.2, "{}", t[w.end - 1]);
        let f = fit_growth_rate(&t, &c, n0, sat, WindowOptions::default()).unwrap();
        // The logistic bend below 0.5% of saturation biases the slope by well under 1%.
        assert!((f.rate - gamma).abs() < 0.01 * gamma, "rate {}", f.rate);
        assert!(f.rate_stderr < 0.01);
    }

    #[test]
    fn window_absent_when_series_never_grows() {
        let t: Vec<f64> = (0..50).map(|i| i as f64).collect();
        let c: Vec<f64> = (0..50).map(|i| 1e-3 * (1.0 + 0.3 * noise(i))).collect();
        assert!(growth_window(&t, &c, 1e-3, 1.0, WindowOptions::default()).is_none());
    }
}
