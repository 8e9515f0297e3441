//! `compare noise`: the noisy USA model (issue 11) — noisy linear rates and the bifurcation
//! diagram, from the theory, the spectral PDE and stochastic particles.
//!
//! Time unit: the scaled time `tau = e^beta t`, `nu` per unit `tau` (multiply by `e^beta` for
//! physical units); everything is axisymmetric about `e_1` and written in the orthonormal zonal
//! harmonics `Z_l(<x, e_1>)` of [`crate::spectral::ZonalBasis`] (density `rho = sum_l a_l Z_l`
//! w.r.t. the uniform probability measure, `a_0 = 1`; order parameter `r = |int x rho| =
//! a_1/sqrt(d)`).
//!
//! **(a) Rates.** At `beta_high`, for `l = 1` and the dominant degree `l*(beta, 0)` (and `l = 2`
//! when `l* = 1`) and `nu = f nu_l` for the factors `f` of the setup (below and above the
//! degree threshold `nu_l = lambda_l/beta`), the linear theory says `a_l(t) ~ e^{gamma_l t}`,
//! `gamma_l(nu) = l(l+d-2)(nu_l - nu)`. Measured:
//! - PDE, linear phase: zonal PDE from `rho = 1 + 1e-6 Z_l` over two e-folds, slope of
//!   `ln |a_l|` (agrees with the theory to the time-stepping tolerance);
//! - particles: `M` systems of `N` tokens drawn from `rho = 1 + eps Z_l` (rejection sampling),
//!   stochastic dynamics; `E a_l(t)` (ensemble mean of the empirical coefficient `(1/N) sum_i
//!   Z_l(<x_i, e_1>)`, which obeys the mean-field equation up to `O(1/N)`) over one e-fold, slope
//!   of `ln E a_l`, standard error by the jackknife over systems;
//! - PDE from the particles' initial density `1 + eps Z_l` over the same window: the mean-field
//!   value of the particles' fitted rate including the nonlinear `O(eps^2)` correction (the
//!   particles must agree with it within their statistical error).
//!
//! **(b) Bifurcation diagram.** For `beta_low < beta_* < beta_high`: the branch of stationary
//! states by continuation ([`crate::stationary`]), long PDE runs at a few `nu` (from a clustered
//! start, and at a bistable `nu` also from a near-uniform one) converged to a stationary state
//! compared with Newton's state at the same `nu`, and the time-averaged particle order
//! parameter at large `N` from the same starts. For `beta_high` a hysteresis sweep: `nu` raised
//! in steps from below `nu_#` to above the fold `nu_f`, then lowered back, each stage continuing
//! from the previous state (particles; and the PDE, whose exactly uniform state would never
//! leave `r = 0`, so each PDE stage starts with `a_1` raised to at least the finite-`N`
//! fluctuation level `1/sqrt(N)` of the particles).

use super::parts::Parts;
use super::{plus_minus, Report};
use crate::analysis::fit::fit_line;
use crate::linear;
use crate::linear_noise::{critical_beta, degree_threshold, noisy_growth_rate};
use crate::particles::state::rng_for;
use crate::particles::{build_velocity_field, Integrator, Method, Noise, StepControl};
use crate::pde::{PdeConfig, Stepping};
use crate::plot::noise::{bifurcation_figure, BranchPanel};
use crate::plot::noise_compare::{hysteresis_figure, rates_figure, RatePanel, SweepCurve};
use crate::spectral::{CircleBasis, ZonalBasis};
use crate::stationary::{default_branch, StationaryState, ZonalProblem};
use crate::{Error, Model, Result, TimeUnit};
use rand::RngExt;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Everything the experiment needs (see [`crate::run::compare::NoiseSpec`] for the defaults).
#[derive(Clone, Debug, Serialize)]
pub struct NoiseSetup {
    /// Ambient dimension.
    pub dim: usize,
    /// Inverse temperature below `beta_*(d)` (supercritical bifurcation).
    pub beta_low: f64,
    /// Inverse temperature above `beta_*(d)` (subcritical bifurcation); also the rates' beta.
    pub beta_high: f64,
    /// Truncation degree of the PDE runs and of the continuation.
    pub lmax: usize,
    /// Ratios `nu / nu_l` of the rate measurements.
    pub nu_factors: Vec<f64>,
    /// Tokens per system of the rate ensembles.
    pub rate_n: usize,
    /// Systems of each rate ensemble.
    pub rate_systems: usize,
    /// Initial amplitude `eps sqrt(dim H_l)` of the particles' perturbation `eps Z_l` (its
    /// largest value on the sphere).
    pub rate_amplitude: f64,
    /// Tokens of the order-parameter runs and of the hysteresis sweep.
    pub order_n: usize,
    /// Length of each order-parameter run, in units of `T_0 = 1/((d-1) nu_#)` (the first half is
    /// discarded).
    pub order_time: f64,
    /// Stages of each leg of the hysteresis sweep.
    pub sweep_stages: usize,
    /// Length of each stage of the sweep in units of `T_0`.
    pub stage_time: f64,
    /// Base seed.
    pub seed: u64,
    /// Local error tolerance of the adaptive particle integrator (drift part).
    pub tol: f64,
}

/// Relative tolerance of the PDE runs' adaptive stepping.
pub const PDE_TOL: f64 = 1e-9;
/// Resolution tolerance (tail fraction of the power) of the zonal PDE runs: the clustered
/// states at `beta_high` carry a tail fraction of ~1e-10 at `L = 32`.
pub const PDE_RESOLUTION_TOL: f64 = 1e-8;
/// Length of the long PDE runs in relaxation times `1/|lambda|` of the state they reach
/// (`e^{-16} ~ 1e-7`: the distance from the start shrinks below `1e-7`).
pub const PDE_RELAXATION_TIMES: f64 = 16.0;
/// Initial amplitude of the linear-phase PDE runs.
pub const PDE_LINEAR_AMPLITUDE: f64 = 1e-6;
/// Time samples of a particle rate run (including 0).
const RATE_SAMPLES: usize = 11;
/// Samples of `r` per order-parameter run and per sweep stage.
const ORDER_SAMPLES: usize = 200;
/// Batches of the batch-means standard error of a time average.
const BATCHES: usize = 10;
/// Concentration of the clustered start, in units of `d` (von Mises–Fisher `exp(kappa
/// <x, e_1>)`, `kappa = 4 d`: `r ~ 0.87` on the circle).
const CLUSTER_KAPPA_PER_DIM: f64 = 4.0;

/// One rate measurement.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RateRow {
    /// Degree.
    pub l: usize,
    /// `nu / nu_l`.
    pub nu_over_nu_l: f64,
    /// `nu` per unit `tau`.
    pub nu: f64,
    /// `nu_l` per unit `tau`.
    pub nu_l: f64,
    /// Theory `gamma_l(nu)` per unit `tau`.
    pub theory: f64,
    /// PDE, linear phase (amplitude 1e-6, two e-folds).
    pub pde_linear: f64,
    /// PDE from the particles' initial density over the particles' window.
    pub pde_same_window: f64,
    /// Particles: slope of `ln E a_l`.
    pub particles: f64,
    /// Jackknife standard error of `particles`.
    pub particles_se: f64,
    /// Fit window `[0, t_fit]` of the particles (per unit `tau`).
    pub t_fit: f64,
    /// `E a_l` of the particles at the sample times (for the figure).
    pub particle_mean: Vec<f64>,
    /// Sample times.
    pub times: Vec<f64>,
}

/// A point of the `r(nu)` diagram measured by the PDE and the particles.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct OrderRow {
    /// Inverse temperature.
    pub beta: f64,
    /// `nu / nu_#`.
    pub nu_over_nu_sharp: f64,
    /// `nu` per unit `tau`.
    pub nu: f64,
    /// `clustered` or `near-uniform`.
    pub start: String,
    /// Order parameter of the stable stationary state reached (Newton, `0` for the uniform
    /// state).
    pub r_newton: f64,
    /// Leading eigenvalue of that state (per `tau`).
    pub eigenvalue: f64,
    /// Order parameter at the end of the long PDE run.
    pub r_pde: f64,
    /// Length of the PDE run (per `tau`).
    pub t_pde: f64,
    /// Time average of the particles' `r` over the second half of their run.
    pub r_particles: f64,
    /// Batch-means standard error of `r_particles`.
    pub r_particles_se: f64,
    /// Root mean square of the particles' `r` (second half).
    pub r_particles_rms: f64,
    /// Finite-`N` prediction of the RMS `r` at the uniform state, `sqrt(nu/(N (nu - nu_#)))`
    /// (linear fluctuation theory; `null` on a clustered state).
    pub r_uniform_finite_n: Option<f64>,
}

/// One stage of the hysteresis sweep.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SweepStage {
    /// `nu / nu_#`.
    pub nu_over_nu_sharp: f64,
    /// `up` or `down`.
    pub leg: String,
    /// Particles: time-averaged `r` over the second half of the stage.
    pub r_particles: f64,
    /// Batch-means standard error.
    pub r_particles_se: f64,
    /// PDE: `r` at the end of the stage.
    pub r_pde: f64,
}

/// A branch, summarised for `data.json`.
#[derive(Clone, Debug, Serialize)]
pub struct BranchData {
    /// Inverse temperature.
    pub beta: f64,
    /// `nu_#` per unit `tau`.
    pub nu_sharp: f64,
    /// `supercritical` or `subcritical`.
    pub bifurcation: &'static str,
    /// Fold `nu_f / nu_#` (1 for a supercritical branch).
    pub fold: f64,
    /// `(nu / nu_#, r, leading eigenvalue)` along the branch.
    pub points: Vec<(f64, f64, f64)>,
}

/// The results.
#[derive(Clone, Debug, Serialize)]
pub struct NoiseResult {
    /// Wall-clock seconds of (a) the rates, (b) the order-parameter points and the branches,
    /// (c) the sweep, in this session (parts restored from an interrupted session count 0).
    pub wall_seconds: [f64; 3],
    /// `beta_*(d)`.
    pub beta_star: f64,
    /// Rate measurements.
    pub rates: Vec<RateRow>,
    /// Branches at `beta_low`, `beta_high`.
    pub branches: Vec<BranchData>,
    /// Order-parameter points.
    pub order: Vec<OrderRow>,
    /// Hysteresis sweep at `beta_high` (up, then down).
    pub sweep: Vec<SweepStage>,
}

/// `nu_l` per unit `tau`.
fn nu_l(l: usize, beta: f64, dim: usize) -> f64 {
    degree_threshold(l, beta, dim, Model::Usa, TimeUnit::Scaled)
}

/// The degrees of the rate measurements: 1 and `l*(beta, 0)` (and 2 when `l* = 1`).
pub fn rate_degrees(beta: f64, dim: usize) -> Vec<usize> {
    let star = linear::dominant_degree(beta, dim).max(1);
    if star == 1 {
        vec![1, 2]
    } else {
        vec![1, star]
    }
}

/// Zonal harmonics `Z_0..=Z_L` at `t`.
fn zonal_row(basis: &ZonalBasis, t: f64, lmax: usize) -> Vec<f64> {
    let mut z = vec![0.0; lmax + 1];
    basis.zonal_harmonics(t, &mut z);
    z
}

/// `n` tokens drawn from the axisymmetric density `rho(t) = sum_l a_l Z_l(t)` about `e_1` by
/// rejection from the uniform law (`rho` must be positive and largest at `t = 1`, as for
/// `1 + eps Z_l` and the clustered states), from PCG stream `stream` of `seed`.
pub fn sample_zonal(a: &[f64], dim: usize, n: usize, seed: u64, stream: u64) -> Vec<f64> {
    use rand_distr::StandardNormal;
    let lmax = a.len() - 1;
    let basis = ZonalBasis::new(lmax.max(1), dim);
    let dens = |t: f64| -> f64 {
        zonal_row(&basis, t, lmax)
            .iter()
            .zip(a)
            .map(|(z, c)| z * c)
            .sum()
    };
    let top = dens(1.0);
    let mut rng = rng_for(seed, stream);
    let mut x = Vec::with_capacity(n * dim);
    let mut row = vec![0.0; dim];
    while x.len() < n * dim {
        for v in row.iter_mut() {
            *v = rng.sample(StandardNormal);
        }
        let norm = row.iter().map(|v| v * v).sum::<f64>().sqrt();
        if norm < 1e-150 {
            continue;
        }
        row.iter_mut().for_each(|v| *v /= norm);
        let u: f64 = rng.random();
        if u * top <= dens(row[0]) {
            x.extend_from_slice(&row);
        }
    }
    x
}

/// `(1/N) sum_i Z_l(<x_i, e_1>)`.
fn empirical_coefficient(basis: &ZonalBasis, x: &[f64], dim: usize, l: usize) -> f64 {
    let n = x.len() / dim;
    x.chunks(dim)
        .map(|r| zonal_row(basis, r[0], l)[l])
        .sum::<f64>()
        / n as f64
}

/// `|(1/N) sum_i x_i|`.
fn order_parameter(x: &[f64], dim: usize) -> f64 {
    let n = (x.len() / dim) as f64;
    let mut m = vec![0.0; dim];
    for r in x.chunks(dim) {
        for k in 0..dim {
            m[k] += r[k];
        }
    }
    m.iter().map(|v| (v / n).powi(2)).sum::<f64>().sqrt()
}

/// Zonal PDE from `a0` at `nu` (per `tau`) to `t_end`; the coefficients at `outputs` equally
/// spaced times (including 0).
pub fn zonal_pde(
    beta: f64,
    dim: usize,
    nu: f64,
    a0: &[f64],
    t_end: f64,
    outputs: usize,
) -> Result<Vec<Vec<f64>>> {
    let lmax = a0.len() - 1;
    let cfg = PdeConfig {
        model: Model::Usa,
        beta,
        nu,
        time: TimeUnit::Scaled,
        t_end,
        outputs,
        stepping: Stepping::Adaptive { tol: PDE_TOL },
        resolution_tol: PDE_RESOLUTION_TOL,
        refine: true,
        lmax_limit: 2 * lmax,
    };
    let mut frames = Vec::new();
    let mut summary = Default::default();
    if dim == 2 {
        // the Fourier basis (coefficient 2l-1 is sqrt(2) cos(l theta) = Z_l): its transforms are
        // FFTs and its steps are not limited by the clustering of the zonal grid at the poles
        let mut c0 = vec![0.0; 2 * lmax + 1];
        c0[0] = a0[0];
        for l in 1..=lmax {
            c0[2 * l - 1] = a0[l];
        }
        crate::pde::solve(
            CircleBasis::new(lmax),
            &c0,
            &cfg,
            |f| {
                let c = f.coefficients;
                let mut a = vec![c[0]];
                a.extend((1..=(c.len() - 1) / 2).map(|l| c[2 * l - 1]));
                frames.push(a);
                Ok(())
            },
            |_| {},
            &mut summary,
        )?;
    } else {
        crate::pde::solve(
            ZonalBasis::new(lmax, dim),
            a0,
            &cfg,
            |f| {
                frames.push(f.coefficients.to_vec());
                Ok(())
            },
            |_| {},
            &mut summary,
        )?;
    }
    Ok(frames)
}

/// Slope of `ln |y|` against `t` (least squares).
fn log_slope(t: &[f64], y: &[f64]) -> f64 {
    let ln: Vec<f64> = y.iter().map(|v| v.abs().ln()).collect();
    fit_line(t, &ln).map_or(f64::NAN, |f| f.slope)
}

/// Mean and batch-means standard error of a time series.
fn batch_mean(v: &[f64]) -> (f64, f64) {
    let n = v.len();
    let mean = v.iter().sum::<f64>() / n as f64;
    let b = BATCHES.min(n);
    let len = n / b;
    let means: Vec<f64> = (0..b)
        .map(|k| v[k * len..(k + 1) * len].iter().sum::<f64>() / len as f64)
        .collect();
    let mb = means.iter().sum::<f64>() / b as f64;
    let var = means.iter().map(|m| (m - mb).powi(2)).sum::<f64>() / (b as f64 - 1.0).max(1.0);
    (mean, (var / b as f64).sqrt())
}

/// A stochastic particle integrator at `nu` for system/stage `stream` of `seed`.
fn noisy<'f>(
    field: &'f dyn crate::particles::VelocityField,
    x: Vec<f64>,
    nu: f64,
    seed: u64,
    stream: u64,
    tol: f64,
) -> Integrator<'f> {
    let mut it = Integrator::new(field, x, StepControl::DormandPrince { tol });
    it.set_noise(Some(Noise::new(nu, seed, stream)));
    it
}

/// Advance `it` by `span`, sampling `r` at `ORDER_SAMPLES` equally spaced times; returns the
/// samples of the second half.
fn order_samples(it: &mut Integrator, span: f64, dim: usize, ctl: &Parts) -> Result<Vec<f64>> {
    let t0 = it.time;
    let mut out = Vec::new();
    for k in 1..=ORDER_SAMPLES {
        let poll = || ctl.control().poll_stop();
        it.advance_or_stop(t0 + span * k as f64 / ORDER_SAMPLES as f64, &poll)?;
        if 2 * k > ORDER_SAMPLES {
            out.push(order_parameter(&it.x, dim));
        }
    }
    Ok(out)
}

/// (a): the rate measurements at `beta_high` (each `(l, nu)` a part `rate_l<l>_<k>`).
pub fn rates(s: &NoiseSetup, parts: &Parts) -> Result<Vec<RateRow>> {
    let (beta, dim) = (s.beta_high, s.dim);
    let field = build_velocity_field(Method::Auto, dim, beta, Model::Usa, s.rate_n, 1e-12)?;
    let mut rows = Vec::new();
    for l in rate_degrees(beta, dim) {
        let nl = nu_l(l, beta, dim);
        let zl1 = crate::special::harmonic_dimension(l, dim).sqrt();
        let eps = s.rate_amplitude / zl1;
        let basis = ZonalBasis::new(l.max(1), dim);
        for (j, &f) in s.nu_factors.iter().enumerate() {
            let nu = f * nl;
            let gamma = noisy_growth_rate(l, beta, dim, nu, Model::Usa, TimeUnit::Scaled);
            let key = format!("rate_l{l}_{j}");
            let row = parts.get(&key, || {
                let lmax = s.lmax;
                // PDE, linear phase: two e-folds from 1e-6.
                let mut a = vec![0.0; lmax + 1];
                a[0] = 1.0;
                a[l] = PDE_LINEAR_AMPLITUDE;
                let t_lin = 2.0 / gamma.abs();
                let fr = zonal_pde(beta, dim, nu, &a, t_lin, 21)?;
                let tl: Vec<f64> = (0..fr.len())
                    .map(|k| t_lin * k as f64 / (fr.len() - 1) as f64)
                    .collect();
                let pde_linear = log_slope(&tl, &fr.iter().map(|c| c[l]).collect::<Vec<_>>());
                // particles: one e-fold from eps Z_l
                let t_fit = 1.0 / gamma.abs();
                let times: Vec<f64> = (0..RATE_SAMPLES)
                    .map(|k| t_fit * k as f64 / (RATE_SAMPLES - 1) as f64)
                    .collect();
                a[l] = eps;
                let fr = zonal_pde(beta, dim, nu, &a, t_fit, RATE_SAMPLES)?;
                let pde_same_window =
                    log_slope(&times, &fr.iter().map(|c| c[l]).collect::<Vec<_>>());
                let stream0 = 1000 * l as u64 + 100 * j as u64;
                let series = (0..s.rate_systems)
                    .into_par_iter()
                    .map(|sys| -> Result<Vec<f64>> {
                        let x0 =
                            sample_zonal(&a[..=l], dim, s.rate_n, s.seed, stream0 + sys as u64);
                        let mut it =
                            noisy(field.as_ref(), x0, nu, s.seed, stream0 + sys as u64, s.tol);
                        let mut v = vec![empirical_coefficient(&basis, &it.x, dim, l)];
                        for &t in &times[1..] {
                            let poll = || parts.control().poll_stop();
                            it.advance_or_stop(t, &poll)?;
                            v.push(empirical_coefficient(&basis, &it.x, dim, l));
                        }
                        Ok(v)
                    })
                    .collect::<Result<Vec<_>>>()?;
                let m = series.len();
                let mean_of = |skip: Option<usize>| -> Vec<f64> {
                    let cnt = (m - usize::from(skip.is_some())) as f64;
                    (0..RATE_SAMPLES)
                        .map(|k| {
                            series
                                .iter()
                                .enumerate()
                                .filter(|(i, _)| Some(*i) != skip)
                                .map(|(_, v)| v[k])
                                .sum::<f64>()
                                / cnt
                        })
                        .collect()
                };
                let particle_mean = mean_of(None);
                let particles = log_slope(&times, &particle_mean);
                let jack: Vec<f64> = (0..m)
                    .map(|i| log_slope(&times, &mean_of(Some(i))))
                    .collect();
                let jm = jack.iter().sum::<f64>() / m as f64;
                let particles_se = ((m as f64 - 1.0) / m as f64
                    * jack.iter().map(|v| (v - jm).powi(2)).sum::<f64>())
                .sqrt();
                Ok(RateRow {
                    l,
                    nu_over_nu_l: f,
                    nu,
                    nu_l: nl,
                    theory: gamma,
                    pde_linear,
                    pde_same_window,
                    particles,
                    particles_se,
                    t_fit,
                    particle_mean,
                    times,
                })
            })?;
            rows.push(row);
        }
    }
    Ok(rows)
}

/// The stable state of the continuation branch nearest to `nu`, corrected by Newton at `nu`
/// (`None`: no stable state on the branch near `nu`).
fn branch_state(p: &ZonalProblem, branch: &[StationaryState], nu: f64) -> Option<StationaryState> {
    let near = branch
        .iter()
        .filter(|st| st.leading_eigenvalue < 0.0 && st.r > 0.05)
        .min_by(|a, b| (a.nu - nu).abs().total_cmp(&(b.nu - nu).abs()))?;
    if (near.nu - nu).abs() > 0.1 * nu {
        return None;
    }
    p.newton(&near.coefficients, nu, 1e-13).ok()
}

/// The `nu / nu_#` points of the order-parameter runs: `(factor, start)`.
fn order_points(sub: bool, fold: f64) -> Vec<(f64, &'static str)> {
    if sub {
        let mid = 0.5 * (1.0 + fold);
        vec![
            (0.8, "clustered"),
            (0.95, "clustered"),
            (mid, "clustered"),
            (mid, "near-uniform"),
            (fold + 0.5 * (fold - 1.0) + 0.1, "clustered"),
        ]
    } else {
        vec![(0.6, "clustered"), (0.8, "clustered"), (1.3, "clustered")]
    }
}

/// (b): one order-parameter point.
#[allow(clippy::too_many_arguments)]
fn order_point(
    s: &NoiseSetup,
    parts: &Parts,
    p: &ZonalProblem,
    branch: &[StationaryState],
    beta: f64,
    f: f64,
    start: &str,
    stream: u64,
) -> Result<OrderRow> {
    let dim = s.dim;
    let nus = p.nu_sharp();
    let nu = f * nus;
    let key = format!("order_b{beta}_f{f:.6}_{start}");
    parts.get(&key, || {
        let a0 = if start == "clustered" {
            p.von_mises_guess(CLUSTER_KAPPA_PER_DIM * dim as f64)
        } else {
            let mut a = vec![0.0; s.lmax + 1];
            a[0] = 1.0;
            a[1] = 1.0 / (s.order_n as f64).sqrt();
            a
        };
        // the stable state it should reach: the clustered branch if there is one and we start
        // clustered, else the uniform state
        let target = if start == "clustered" {
            branch_state(p, branch, nu)
        } else {
            None
        };
        let (r_newton, eigenvalue) = match &target {
            Some(st) => (st.r, st.leading_eigenvalue),
            None => (
                0.0,
                noisy_growth_rate(1, beta, dim, nu, Model::Usa, TimeUnit::Scaled),
            ),
        };
        let t_pde = PDE_RELAXATION_TIMES / eigenvalue.abs();
        let fr = zonal_pde(beta, dim, nu, &a0, t_pde, 2)?;
        let r_pde = fr.last().map_or(f64::NAN, |c| c[1].abs()) / (dim as f64).sqrt();
        // particles from the same density
        let t0 = 1.0 / ((dim as f64 - 1.0) * nus);
        let field = build_velocity_field(Method::Auto, dim, beta, Model::Usa, s.order_n, 1e-12)?;
        let x0 = sample_zonal(&a0, dim, s.order_n, s.seed, stream);
        let mut it = noisy(field.as_ref(), x0, nu, s.seed, stream, s.tol);
        let samples = order_samples(&mut it, s.order_time * t0, dim, parts)?;
        let (r_particles, r_particles_se) = batch_mean(&samples);
        let r_particles_rms =
            (samples.iter().map(|v| v * v).sum::<f64>() / samples.len() as f64).sqrt();
        let r_uniform_finite_n =
            (target.is_none() && nu > nus).then(|| (nu / (s.order_n as f64 * (nu - nus))).sqrt());
        Ok(OrderRow {
            beta,
            nu_over_nu_sharp: f,
            nu,
            start: start.to_string(),
            r_newton,
            eigenvalue,
            r_pde,
            t_pde,
            r_particles,
            r_particles_se,
            r_particles_rms,
            r_uniform_finite_n,
        })
    })
}

/// One order-parameter point at `(beta, nu = f nu_#)` from `start` (`clustered` or
/// `near-uniform`) on its own (the continuation branch computed here), particle stream `stream`.
pub fn order_row(
    s: &NoiseSetup,
    parts: &Parts,
    beta: f64,
    f: f64,
    start: &str,
    stream: u64,
) -> Result<OrderRow> {
    let p = ZonalProblem::new(beta, s.dim, s.lmax)?;
    let br = default_branch(beta, s.dim, s.lmax)?;
    order_point(s, parts, &p, &br, beta, f, start, stream)
}

/// The hysteresis sweep at `beta_high` on its own: the fold from the continuation, then
/// [`sweep_grid`] up and down.
pub fn hysteresis(s: &NoiseSetup, parts: &Parts) -> Result<Vec<SweepStage>> {
    let p = ZonalProblem::new(s.beta_high, s.dim, s.lmax)?;
    let br = default_branch(s.beta_high, s.dim, s.lmax)?;
    let fold = crate::stationary::diagram::summarise(s.beta_high, s.dim, &br).fold_nu_over_nu_sharp;
    sweep(s, parts, &p, fold)
}

/// The `nu / nu_#` stages of one leg of the sweep: from `0.7` to beyond the fold.
pub fn sweep_grid(fold: f64, stages: usize) -> Vec<f64> {
    let (lo, hi) = (0.7, fold + 0.15 * (fold - 1.0) + 0.1);
    (0..stages)
        .map(|k| lo + (hi - lo) * k as f64 / (stages - 1).max(1) as f64)
        .collect()
}

/// (b): the hysteresis sweep at `beta_high` (PDE and particles, up then down).
fn sweep(s: &NoiseSetup, parts: &Parts, p: &ZonalProblem, fold: f64) -> Result<Vec<SweepStage>> {
    let (beta, dim) = (s.beta_high, s.dim);
    let nus = p.nu_sharp();
    let t0 = 1.0 / ((dim as f64 - 1.0) * nus);
    let up = sweep_grid(fold, s.sweep_stages);
    let mut legs: Vec<(f64, &str)> = up.iter().map(|&f| (f, "up")).collect();
    legs.extend(up.iter().rev().skip(1).map(|&f| (f, "down")));
    parts.get("sweep", || {
        let floor = 1.0 / (s.order_n as f64).sqrt();
        let field = build_velocity_field(Method::Auto, dim, beta, Model::Usa, s.order_n, 1e-12)?;
        let a0 = p.von_mises_guess(CLUSTER_KAPPA_PER_DIM * dim as f64);
        let mut x = sample_zonal(&a0, dim, s.order_n, s.seed, 7_000_000);
        let mut a = a0;
        let mut time = 0.0;
        let mut out = Vec::new();
        for (k, &(f, leg)) in legs.iter().enumerate() {
            let nu = f * nus;
            let span = s.stage_time * t0;
            // PDE stage
            if a[1].abs() < floor {
                a[1] = floor;
            }
            a = zonal_pde(beta, dim, nu, &a, span, 2)?
                .pop()
                .ok_or_else(|| Error::Numerical("empty PDE run".into()))?;
            // particle stage, continuing
            let mut it = noisy(field.as_ref(), x, nu, s.seed, 7_000_001 + k as u64, s.tol);
            it.time = time;
            let samples = order_samples(&mut it, span, dim, parts)?;
            time = it.time;
            x = it.x;
            let (r, se) = batch_mean(&samples);
            out.push(SweepStage {
                nu_over_nu_sharp: f,
                leg: leg.to_string(),
                r_particles: r,
                r_particles_se: se,
                r_pde: a[1].abs() / (dim as f64).sqrt(),
            });
        }
        Ok(out)
    })
}

/// Run the experiment and write `report.md`, `data.json`, `rates.png`, `bifurcation.png` and
/// `hysteresis.png` into `out`.
pub fn run(s: &NoiseSetup, parts: &Parts, out: &Path) -> Result<NoiseResult> {
    let dim = s.dim;
    let beta_star = critical_beta(dim);
    let clock = std::time::Instant::now();
    let rates = rates(s, parts)?;
    let t_rates = clock.elapsed().as_secs_f64();
    let mut branches = Vec::new();
    let mut order = Vec::new();
    let mut problems = Vec::new();
    let mut branch_states = Vec::new();
    for (i, &beta) in [s.beta_low, s.beta_high].iter().enumerate() {
        let p = ZonalProblem::new(beta, dim, s.lmax)?;
        let br = default_branch(beta, dim, s.lmax)?;
        let summary = crate::stationary::diagram::summarise(beta, dim, &br);
        let nus = p.nu_sharp();
        let sub = summary.bifurcation == "subcritical";
        let fold = summary.fold_nu_over_nu_sharp;
        let pts: Vec<(f64, &str)> = order_points(sub, fold);
        let rows = pts
            .par_iter()
            .enumerate()
            .map(|(k, &(f, start))| {
                order_point(
                    s,
                    parts,
                    &p,
                    &br,
                    beta,
                    f,
                    start,
                    5_000_000 + 100 * i as u64 + k as u64,
                )
            })
            .collect::<Result<Vec<_>>>()?;
        order.extend(rows);
        branches.push(BranchData {
            beta,
            nu_sharp: nus,
            bifurcation: summary.bifurcation,
            fold,
            points: br
                .iter()
                .map(|st| (st.nu / nus, st.r, st.leading_eigenvalue))
                .collect(),
        });
        problems.push(p);
        branch_states.push(br);
    }
    let t_order = clock.elapsed().as_secs_f64() - t_rates;
    let sweep = sweep(s, parts, &problems[1], branches[1].fold)?;
    let t_sweep = clock.elapsed().as_secs_f64() - t_rates - t_order;
    let result = NoiseResult {
        wall_seconds: [t_rates, t_order, t_sweep],
        beta_star,
        rates,
        branches,
        order,
        sweep,
    };
    write_outputs(s, &result, &branch_states, out)?;
    Ok(result)
}

fn fmt_sci(v: f64) -> String {
    format!("{v:.3e}")
}

fn write_outputs(
    s: &NoiseSetup,
    res: &NoiseResult,
    branch_states: &[Vec<StationaryState>],
    out: &Path,
) -> Result<()> {
    let dim = s.dim;
    let mut rep = Report::new("compare noise: the noisy USA model — rates and bifurcations");
    let low = &res.branches[0];
    let high = &res.branches[1];
    rep.paragraph(&format!(
        "Noisy unnormalised self-attention (USA) on S^{} (d = {dim}): dX_i = P_{{X_i}}((1/N) sum_j \
         exp(beta(<X_i,X_j> - 1)) X_j) dtau + sqrt(2 nu) dW_i (scaled kernel, scaled time tau = \
         e^beta t, nu per unit tau; nu = 1/kappa in Rigollet's notation up to this unit). \
         Mean field: the PDE of `attnflow pde --nu`. The uniform state loses stability at \
         nu_# = lambda_1/beta; the critical inverse temperature beta_*({dim}) = {:.12} (root of \
         I_{{d/2+1}}(beta)/I_{{d/2}}(beta) = 1/d) separates a continuous (beta < beta_*: \
         supercritical pitchfork) from a discontinuous (beta > beta_*: subcritical, fold, \
         bistability, hysteresis) transition. This run: beta_low = {} (< beta_*: {}), beta_high = \
         {} (> beta_*: {}, fold at nu_f = {:.4} nu_#).",
        dim - 1,
        res.beta_star,
        low.beta,
        low.bifurcation,
        high.beta,
        high.bifurcation,
        high.fold
    ));
    rep.record("setup", s);
    rep.record("wall_seconds", &res.wall_seconds);
    rep.record("beta_star", &res.beta_star);
    rep.record(
        "transitions",
        &[
            (low.beta, low.bifurcation, low.fold),
            (high.beta, high.bifurcation, high.fold),
        ],
    );
    // (a)
    rep.section("(a) Growth and decay rates of the modes across nu");
    rep.paragraph(&format!(
        "beta = {}, degrees {:?}. Theory: gamma_l(nu) = l(l+d-2)(nu_l - nu), nu_l = lambda_l/beta \
         (per unit tau). PDE (linear phase): zonal PDE from rho = 1 + {:.0e} Z_l, slope of ln|a_l| \
         over two e-folds. Particles: {} systems of N = {} tokens drawn from rho = 1 + eps Z_l \
         (eps sqrt(dim H_l) = {}), slope of ln E a_l over one e-fold (E a_l: ensemble mean of \
         (1/N) sum_i Z_l(<x_i, e_1>)), ± one jackknife standard error. PDE (same window): the \
         mean field from the particles' initial density over the same window — the particles' \
         expected value including the O(eps^2) nonlinear correction. The sign of the rate \
         changes at nu = nu_l.",
        s.beta_high,
        rate_degrees(s.beta_high, dim),
        PDE_LINEAR_AMPLITUDE,
        s.rate_systems,
        s.rate_n,
        s.rate_amplitude
    ));
    let rows: Vec<Vec<String>> = res
        .rates
        .iter()
        .map(|r| {
            vec![
                r.l.to_string(),
                format!("{:.2}", r.nu_over_nu_l),
                fmt_sci(r.nu),
                fmt_sci(r.theory),
                fmt_sci(r.pde_linear),
                format!("{:.1e}", (r.pde_linear - r.theory).abs() / r.theory.abs()),
                fmt_sci(r.pde_same_window),
                plus_minus(r.particles, r.particles_se),
                format!("{:+.1}", (r.particles - r.pde_same_window) / r.particles_se),
            ]
        })
        .collect();
    rep.table(
        &[
            "l",
            "nu/nu_l",
            "nu (per tau)",
            "theory gamma_l",
            "PDE linear",
            "rel. err.",
            "PDE same window",
            "particles",
            "(particles - PDE same)/se",
        ],
        &rows,
    );
    rep.record("rates", &res.rates);
    let max_rel = res
        .rates
        .iter()
        .map(|r| (r.pde_linear - r.theory).abs() / r.theory.abs())
        .fold(0.0, f64::max);
    let signs_ok = res
        .rates
        .iter()
        .filter(|r| r.particles.signum() == r.theory.signum())
        .count();
    let max_z = res
        .rates
        .iter()
        .map(|r| ((r.particles - r.pde_same_window) / r.particles_se).abs())
        .fold(0.0, f64::max);
    rep.paragraph(&format!(
        "PDE linear phase vs theory: largest relative error {max_rel:.1e}. Particles: the fitted \
         rate has the sign of the theory in {signs_ok} of {} cases; the largest deviation from \
         the PDE over the same window is {max_z:.1} standard errors.",
        res.rates.len()
    ));
    rep.record("rates_pde_max_relative_error", &max_rel);
    rep.record(
        "rates_particles_sign_agreement",
        &(signs_ok, res.rates.len()),
    );
    rep.record("rates_particles_max_z", &max_z);
    let degrees = rate_degrees(s.beta_high, dim);
    let panels: Vec<RatePanel> = degrees
        .iter()
        .map(|&l| RatePanel {
            l,
            rows: res.rates.iter().filter(|r| r.l == l).cloned().collect(),
        })
        .collect();
    rates_figure(
        &out.join("rates.png"),
        &format!(
            "Noisy rates of the zonal modes, d = {dim}, β = {} (per unit τ)",
            s.beta_high
        ),
        &panels,
    )?;
    rep.figure(
        "rates.png",
        "Rate of the degree-l mode against nu/nu_l: theory gamma_l(nu) (line), PDE in its linear \
         phase, particles (± 2 s.e.); the sign changes at nu_l (dashed line).",
    );
    // (b)
    rep.section("(b) Bifurcation diagram r(nu)");
    rep.paragraph(&format!(
        "Continuation: branch of axisymmetric stationary states (Newton + pseudo-arclength, L = \
         {}), stable solid, unstable dashed (stability on axisymmetric perturbations). PDE: long \
         zonal runs (16 relaxation times of the state reached) from a clustered start (von \
         Mises–Fisher, kappa = {}) or a near-uniform one (a_1 = 1/sqrt(N)), final r against \
         Newton's state at the same nu. Particles: N = {} tokens from the same initial density, \
         r = |(1/N) sum_i x_i| averaged over the second half of a run of {} T_0 (T_0 = \
         1/((d-1) nu_#)), ± batch-means standard error. At the uniform state the particles' r is \
         the finite-N fluctuation, whose linear theory gives E r^2 = nu/(N (nu - nu_#)).",
        s.lmax,
        CLUSTER_KAPPA_PER_DIM * dim as f64,
        s.order_n,
        s.order_time
    ));
    let rows: Vec<Vec<String>> = res
        .order
        .iter()
        .map(|o| {
            vec![
                format!("{}", o.beta),
                format!("{:.4}", o.nu_over_nu_sharp),
                o.start.clone(),
                format!("{:.8}", o.r_newton),
                format!("{:.8}", o.r_pde),
                format!("{:.1e}", (o.r_pde - o.r_newton).abs()),
                plus_minus(o.r_particles, o.r_particles_se),
                o.r_uniform_finite_n.map_or("—".into(), |v| {
                    format!("{:.4} (rms {:.4})", v, o.r_particles_rms)
                }),
            ]
        })
        .collect();
    rep.table(
        &[
            "beta",
            "nu/nu_#",
            "start",
            "r Newton",
            "r PDE (long time)",
            "|PDE - Newton|",
            "r particles",
            "finite-N r at uniform: theory (particles)",
        ],
        &rows,
    );
    rep.record("order", &res.order);
    rep.record("branches", &res.branches);
    let markers = |beta: f64| -> Vec<(String, Vec<(f64, f64)>)> {
        let pick = |f: &dyn Fn(&OrderRow) -> f64| -> Vec<(f64, f64)> {
            res.order
                .iter()
                .filter(|o| o.beta == beta)
                .map(|o| (o.nu_over_nu_sharp, f(o)))
                .collect()
        };
        vec![
            ("PDE, long time".to_string(), pick(&|o| o.r_pde)),
            (
                format!("particles, N = {} (time average)", s.order_n),
                pick(&|o| o.r_particles),
            ),
            (
                "finite-N fluctuation level at the uniform state".to_string(),
                res.order
                    .iter()
                    .filter(|o| o.beta == beta)
                    .filter_map(|o| o.r_uniform_finite_n.map(|v| (o.nu_over_nu_sharp, v)))
                    .collect(),
            ),
        ]
    };
    let panels: Vec<BranchPanel> = res
        .branches
        .iter()
        .zip(branch_states)
        .map(|(b, br)| BranchPanel {
            title: format!(
                "β = {} {} β* = {:.4}: {}",
                b.beta,
                if b.beta < res.beta_star { "<" } else { ">" },
                res.beta_star,
                b.bifurcation
            ),
            branch: br,
            nu_sharp: b.nu_sharp,
            markers: markers(b.beta),
        })
        .collect();
    bifurcation_figure(
        &out.join("bifurcation.png"),
        &format!(
            "Stationary states of the noisy USA model, d = {dim}: continuation vs PDE vs particles"
        ),
        &panels,
    )?;
    rep.figure(
        "bifurcation.png",
        "Order parameter r against nu/nu_#: continuation branch (stable solid, unstable dashed), \
         long PDE runs and time-averaged particles. Where the particles sit at the uniform state \
         their r is the finite-N fluctuation; its linear-theory RMS sqrt(nu/(N(nu - nu_#))) is \
         marked.",
    );
    // hysteresis
    rep.section("Hysteresis sweep (beta_high)");
    rep.paragraph(&format!(
        "beta = {}: nu raised from 0.7 nu_# past the fold nu_f = {:.4} nu_# in {} stages of {} T_0 \
         each, then lowered back, every stage continuing from the state the previous one left \
         (particles: N = {}, r averaged over the second half of the stage; PDE: r at the end of \
         the stage, with a_1 raised to at least 1/sqrt(N) at the start of each stage, the \
         particles' fluctuation level, since an exactly uniform PDE state never leaves r = 0). \
         Between nu_# and nu_f the clustered state (up leg) and the uniform state (down leg) \
         are both stable: the two legs differ there and agree outside.",
        s.beta_high,
        high.fold,
        s.sweep_stages,
        s.stage_time,
        s.order_n
    ));
    let n_up = s.sweep_stages;
    let rows: Vec<Vec<String>> = (0..n_up)
        .map(|k| {
            let up = &res.sweep[k];
            let down = &res.sweep[2 * n_up - 2 - k];
            vec![
                format!("{:.4}", up.nu_over_nu_sharp),
                plus_minus(up.r_particles, up.r_particles_se),
                plus_minus(down.r_particles, down.r_particles_se),
                format!("{:.4}", up.r_pde),
                format!("{:.4}", down.r_pde),
            ]
        })
        .collect();
    rep.table(
        &[
            "nu/nu_#",
            "particles, up",
            "particles, down",
            "PDE, up",
            "PDE, down",
        ],
        &rows,
    );
    rep.record("sweep", &res.sweep);
    let curves = vec![
        SweepCurve {
            label: format!("particles N = {}, ν increasing", s.order_n),
            points: res
                .sweep
                .iter()
                .filter(|z| z.leg == "up")
                .map(|z| (z.nu_over_nu_sharp, z.r_particles))
                .collect(),
            dashed: false,
        },
        SweepCurve {
            label: format!("particles N = {}, ν decreasing", s.order_n),
            points: res
                .sweep
                .iter()
                .skip(s.sweep_stages - 1)
                .map(|z| (z.nu_over_nu_sharp, z.r_particles))
                .collect(),
            dashed: false,
        },
        SweepCurve {
            label: "PDE, ν increasing".into(),
            points: res
                .sweep
                .iter()
                .filter(|z| z.leg == "up")
                .map(|z| (z.nu_over_nu_sharp, z.r_pde))
                .collect(),
            dashed: true,
        },
        SweepCurve {
            label: "PDE, ν decreasing".into(),
            points: res
                .sweep
                .iter()
                .skip(s.sweep_stages - 1)
                .map(|z| (z.nu_over_nu_sharp, z.r_pde))
                .collect(),
            dashed: true,
        },
    ];
    hysteresis_figure(
        &out.join("hysteresis.png"),
        &format!(
            "Hysteresis, d = {dim}, β = {} > β* = {:.4}: ν raised then lowered",
            s.beta_high, res.beta_star
        ),
        &branch_states[1],
        high.nu_sharp,
        high.fold,
        &curves,
    )?;
    rep.figure(
        "hysteresis.png",
        "Hysteresis: order parameter while nu is raised (clustered start) and lowered again, \
         particles and PDE, over the continuation branch; between nu_# and the fold nu_f the \
         legs differ.",
    );
    rep.section("Cost");
    rep.paragraph(&format!(
        "Wall clock of this session: rates {:.1} s, branches and order-parameter points {:.1} s, \
         hysteresis sweep {:.1} s.",
        res.wall_seconds[0], res.wall_seconds[1], res.wall_seconds[2]
    ));
    rep.section("SA");
    rep.paragraph(
        "The stationary-state machinery (fixed point rho = exp(Phi/(beta nu))/Z of the USA free \
         energy) is USA-specific; this experiment runs USA only. For SA the drift is \
         grad ln Phi / beta, so its axisymmetric stationary states (zero flux) solve a different \
         fixed point, rho = Phi^(1/(beta nu))/Z, for which Newton/continuation is not implemented.",
    );
    rep.write(out)
}

/// `compare bifurcation`: [`crate::stationary::write_bifurcation_diagram`] for every `(d, beta)`
/// into `out`, with `report.md` (one line per branch: kind of bifurcation, fold) and
/// `data.json` (the summaries).
pub fn bifurcation(
    dims: &[usize],
    betas: &[f64],
    lmax: usize,
    out: &Path,
) -> Result<Vec<crate::stationary::BranchSummary>> {
    let summaries = crate::stationary::write_bifurcation_diagram(out, dims, betas, lmax)?;
    let mut rep = Report::new("Bifurcation diagram of the noisy USA model");
    rep.paragraph(&format!(
        "Branches of axisymmetric stationary states rho = exp(Phi/(beta nu))/Z leaving the \
         uniform state at nu_# = lambda_1/beta (Newton + pseudo-arclength continuation, L = \
         {lmax}; nu per unit tau = e^beta t). Table of every point: bifurcation.csv."
    ));
    let rows: Vec<Vec<String>> = summaries
        .iter()
        .map(|b| {
            vec![
                b.dim.to_string(),
                format!("{}", b.beta),
                format!("{:.10}", b.beta_star),
                b.bifurcation.to_string(),
                format!("{:.6e}", b.nu_sharp_tau),
                format!("{:.6}", b.fold_nu_over_nu_sharp),
                format!("{:.1e}", b.max_residual),
            ]
        })
        .collect();
    rep.table(
        &[
            "d",
            "beta",
            "beta_*(d)",
            "bifurcation",
            "nu_# (per tau)",
            "fold nu_f/nu_#",
            "max residual",
        ],
        &rows,
    );
    rep.figure("bifurcation.png", "Order parameter r against nu/nu_#.");
    rep.record("branches", &summaries);
    rep.write(out)?;
    Ok(summaries)
}
