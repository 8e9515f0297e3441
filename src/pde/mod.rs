//! The mean-field continuity equation `d_t rho + div(rho chi[rho]) = nu Lap rho`, solved
//! pseudo-spectrally with one right-hand side for every basis (DESIGN.md section 3).
//!
//! Submodules: [`rhs`] (the operator), [`timestep`] (Lawson–Runge–Kutta steppers),
//! [`diagnostics`] (mass, energy, minimum, resolution indicator, power), [`init`] (initial data).
//! [`solve`] drives a run: output at exactly `K` equally spaced times from 0 to `t_end`, a
//! resolution watch after every accepted step (refine by padding, or stop with an error after
//! every resolved output has been handed to the caller).
//!
//! Units: internally the scaled kernel `exp(beta(<x,y> - 1))` and the time `tau` (`e^beta t` for
//! USA, `t` for SA). The user's times (`t_end`, `dt`) and the diffusion coefficient `nu` are in
//! the reporting unit [`TimeUnit`]: `nu` multiplies `Lap rho` per unit of that time.

pub mod diagnostics;
pub mod init;
pub mod rhs;
pub mod timestep;

pub use diagnostics::{diagnose, tail_band_start, tail_fraction, Diagnostics};
pub use init::{initial_coefficients, parse_modes, InitialData, Mode};
pub use rhs::MeanFieldRhs;
pub use timestep::{DiagonalPart, LawsonRk, StepOutcome, Tableau};

use crate::spectral::{resize_coefficients, Basis};
use crate::{Error, Model, Result, TimeUnit};

/// How to step in time.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Stepping {
    /// Dormand–Prince 5(4) with error control: per coefficient
    /// `|err_i| <= max(tol floor, 1e-15) + tol max(|y_i|, |y_new_i|)`, `floor` = [`ERROR_FLOOR`].
    Adaptive {
        /// Relative tolerance.
        tol: f64,
    },
    /// Classical RK4 with a step of at most `dt` (reporting unit), shortened so that every
    /// output interval holds a whole number of equal steps.
    Fixed {
        /// Largest step.
        dt: f64,
    },
}

/// Absolute floor of the adaptive error control relative to the mass (coefficients far below
/// `ERROR_FLOOR` are controlled in absolute terms).
pub const ERROR_FLOOR: f64 = 1e-8;

/// Smallest absolute error target of the adaptive control (the rounding level of one step).
pub const ABSOLUTE_ERROR_MIN: f64 = 1e-15;

/// Parameters of a run.
#[derive(Clone, Debug, serde::Serialize)]
pub struct PdeConfig {
    /// Attention model.
    pub model: Model,
    /// Inverse temperature `beta > 0`.
    pub beta: f64,
    /// Diffusion coefficient `nu >= 0` per unit of the reporting time.
    pub nu: f64,
    /// Reporting time unit.
    pub time: TimeUnit,
    /// Final time (reporting unit).
    pub t_end: f64,
    /// Number of output times `K >= 2` (including 0 and `t_end`).
    pub outputs: usize,
    /// Time stepping.
    pub stepping: Stepping,
    /// Largest accepted resolution indicator ([`tail_fraction`]).
    pub resolution_tol: f64,
    /// Refine (pad to `ceil(3L/2)`) instead of stopping when the indicator exceeds its tolerance.
    pub refine: bool,
    /// Largest degree refinement may reach.
    pub lmax_limit: usize,
}

impl PdeConfig {
    /// `ln(d tau / d(reporting time))`: `beta` for USA in physical units, else 0.
    pub fn ln_tau_per_unit(&self) -> f64 {
        match self.time {
            TimeUnit::Physical => TimeUnit::ln_tau_per_t(self.model, self.beta),
            TimeUnit::Scaled => 0.0,
        }
    }

    /// Check every parameter (names as on the command line).
    pub fn validate(&self) -> Result<()> {
        crate::error::require_positive("beta", self.beta)?;
        if !(self.nu.is_finite() && self.nu >= 0.0) {
            return Err(Error::parameter("nu", self.nu, "a finite number >= 0"));
        }
        if !(self.t_end.is_finite() && self.t_end >= 0.0) {
            return Err(Error::parameter(
                "t-end",
                self.t_end,
                "a finite number >= 0",
            ));
        }
        if self.outputs < 2 {
            return Err(Error::parameter("outputs", self.outputs, "an integer >= 2"));
        }
        match self.stepping {
            Stepping::Adaptive { tol } => {
                if !(tol.is_finite() && tol > 0.0 && tol < 1.0) {
                    return Err(Error::parameter("tol", tol, "a number in (0, 1)"));
                }
            }
            Stepping::Fixed { dt } => {
                crate::error::require_positive("dt", dt)?;
            }
        }
        if !(self.resolution_tol.is_finite() && self.resolution_tol > 0.0) {
            return Err(Error::parameter(
                "resolution-tol",
                self.resolution_tol,
                "a finite number > 0",
            ));
        }
        let f = self.ln_tau_per_unit().exp();
        if !(self.t_end * f).is_finite() {
            return Err(Error::parameter(
                "time",
                "physical",
                format!(
                    "scaled for USA at beta = {} (e^beta t_end overflows)",
                    self.beta
                ),
            ));
        }
        Ok(())
    }
}

/// One output time handed to the caller.
pub struct Frame<'a> {
    /// Output index `k = 0..K`.
    pub index: usize,
    /// Time in the reporting unit, `k t_end / (K-1)` (exact at both ends).
    pub time: f64,
    /// Physical time `t` (may underflow to 0 for USA at huge `beta` in scaled units).
    pub t: f64,
    /// Scaled time `tau` (`e^beta t` for USA, `t` for SA).
    pub tau: f64,
    /// Current largest degree.
    pub lmax: usize,
    /// Coefficients (degree-ordered, see [`crate::spectral`]).
    pub coefficients: &'a [f64],
    /// Density on the grid of the current basis.
    pub density: &'a [f64],
    /// Shape of the grid.
    pub grid_shape: Vec<usize>,
    /// Diagnostics.
    pub diagnostics: &'a Diagnostics,
}

/// A refinement event.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Refinement {
    /// Time (reporting unit) at which the basis was enlarged.
    pub time: f64,
    /// Previous largest degree.
    pub from: usize,
    /// New largest degree.
    pub to: usize,
    /// Resolution indicator that triggered it.
    pub tail_fraction: f64,
}

/// Statistics of a run (filled also when the run stops early).
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct Summary {
    /// Accepted steps.
    pub steps_accepted: usize,
    /// Rejected steps (error too large or failed right-hand side).
    pub steps_rejected: usize,
    /// Right-hand-side evaluations.
    pub rhs_evaluations: usize,
    /// Largest degree at the end.
    pub final_lmax: usize,
    /// Refinements performed.
    pub refinements: Vec<Refinement>,
    /// Output frames delivered.
    pub frames: usize,
    /// `None` when the run completed; otherwise why it stopped.
    pub stopped: Option<String>,
}

fn make_stepper<B: Basis>(rhs: &MeanFieldRhs<B>, cfg: &PdeConfig) -> LawsonRk {
    let basis = rhs.basis();
    let nu_int = cfg.nu * (-cfg.ln_tau_per_unit()).exp();
    let dim = basis.dim() as f64;
    let linear = DiagonalPart {
        degrees: basis.degrees().to_vec(),
        rate_per_degree: (0..=basis.lmax())
            .map(|l| {
                let l = l as f64;
                -nu_int * l * (l + dim - 2.0)
            })
            .collect(),
    };
    let tableau = match cfg.stepping {
        Stepping::Adaptive { .. } => Tableau::dormand_prince(),
        Stepping::Fixed { .. } => Tableau::rk4(),
    };
    LawsonRk::new(tableau, linear)
}

/// Solve from the coefficients `initial` (in `basis`), calling `on_frame` at each of the
/// `K` output times and `on_progress(fraction)` after each accepted step.
///
/// Errors: invalid parameters; a right-hand side that fails (e.g. SA with `Phi <= 0`); loss of
/// resolution without `refine` (or beyond `lmax_limit`). In every case the frames already
/// delivered are complete and resolved, and `summary.stopped` says why the run ended.
pub fn solve<B, F, P>(
    basis: B,
    initial: &[f64],
    cfg: &PdeConfig,
    mut on_frame: F,
    mut on_progress: P,
    summary: &mut Summary,
) -> Result<()>
where
    B: Basis,
    F: FnMut(&Frame) -> Result<()>,
    P: FnMut(f64),
{
    cfg.validate()?;
    let result = solve_inner(
        basis,
        initial,
        cfg,
        &mut on_frame,
        &mut on_progress,
        summary,
    );
    if let Err(e) = &result {
        summary.stopped = Some(e.to_string());
    }
    result
}

fn solve_inner<B, F, P>(
    basis: B,
    initial: &[f64],
    cfg: &PdeConfig,
    on_frame: &mut F,
    on_progress: &mut P,
    summary: &mut Summary,
) -> Result<()>
where
    B: Basis,
    F: FnMut(&Frame) -> Result<()>,
    P: FnMut(f64),
{
    let ln_f = cfg.ln_tau_per_unit();
    let f = ln_f.exp();
    let ln_tau_per_t = TimeUnit::ln_tau_per_t(cfg.model, cfg.beta);
    let tau_end = cfg.t_end * f;
    let ln_energy = if cfg.time == TimeUnit::Physical {
        cfg.beta
    } else {
        0.0
    };
    let kk = cfg.outputs;
    let mut rhs = MeanFieldRhs::new(basis, cfg.model, cfg.beta);
    let mut stepper = make_stepper(&rhs, cfg);
    let mut c = initial.to_vec();
    assert_eq!(c.len(), rhs.basis().len(), "initial coefficients");
    let mut y_new = vec![0.0; c.len()];
    let mut grid = vec![0.0; rhs.basis().grid_len()];
    let mut evals_before = 0;
    summary.final_lmax = rhs.basis().lmax();

    // Resolution watch: refine (pad) or stop.
    let watch = |rhs: &mut MeanFieldRhs<B>,
                 c: &mut Vec<f64>,
                 time: f64,
                 summary: &mut Summary|
     -> Result<bool> {
        let mut changed = false;
        loop {
            let tail = tail_fraction(&rhs.basis().power_spectrum(c));
            if tail.partial_cmp(&cfg.resolution_tol) != Some(std::cmp::Ordering::Greater) {
                return Ok(changed);
            }
            let lmax = rhs.basis().lmax();
            let target = (3 * lmax).div_ceil(2).max(lmax + 1).min(cfg.lmax_limit);
            if !cfg.refine || target <= lmax {
                let why = if cfg.refine {
                    format!("refinement limit --lmax-limit {} reached", cfg.lmax_limit)
                } else {
                    "rerun with --refine or a larger --lmax".to_string()
                };
                return Err(Error::Numerical(format!(
                    "resolution lost at {} time {time}: tail fraction {tail:e} > --resolution-tol {:e} at L = {lmax}; {why} (outputs before this time are written)",
                    cfg.time, cfg.resolution_tol
                )));
            }
            let new_basis = rhs.basis().with_lmax(target);
            let mut padded = vec![0.0; new_basis.len()];
            resize_coefficients(c, &mut padded);
            *rhs = MeanFieldRhs::new(new_basis, cfg.model, cfg.beta);
            *c = padded;
            summary.refinements.push(Refinement {
                time,
                from: lmax,
                to: target,
                tail_fraction: tail,
            });
            summary.final_lmax = target;
            changed = true;
        }
    };

    if watch(&mut rhs, &mut c, 0.0, summary)? {
        stepper = make_stepper(&rhs, cfg);
        y_new = vec![0.0; c.len()];
        grid = vec![0.0; rhs.basis().grid_len()];
    }

    let emit = |rhs: &mut MeanFieldRhs<B>,
                c: &[f64],
                grid: &mut Vec<f64>,
                k: usize,
                on_frame: &mut F,
                summary: &mut Summary|
     -> Result<()> {
        let time = if k == kk - 1 {
            cfg.t_end
        } else {
            cfg.t_end * k as f64 / (kk - 1) as f64
        };
        let tau = time * f;
        let t = tau * (-ln_tau_per_t).exp();
        let e = rhs.scaled_energy(c);
        let diag = diagnose(rhs.basis_mut(), c, grid, e, ln_energy);
        let frame = Frame {
            index: k,
            time,
            t,
            tau,
            lmax: rhs.basis().lmax(),
            coefficients: c,
            density: grid,
            grid_shape: rhs.basis().grid_shape(),
            diagnostics: &diag,
        };
        on_frame(&frame)?;
        summary.frames += 1;
        Ok(())
    };

    emit(&mut rhs, &c, &mut grid, 0, on_frame, summary)?;

    // Initial step size (adaptive): 1% of |y| / |f(y)|, at most one output interval.
    let interval = tau_end / (kk - 1) as f64;
    let mut f0 = vec![0.0; c.len()];
    if !rhs.evaluate(&c, &mut f0) {
        return Err(Error::Numerical(format!(
            "the right-hand side is not finite for the initial density{}",
            if cfg.model == Model::Sa {
                " (SA needs K*rho > 0 on the grid: the initial density is too negative)"
            } else {
                ""
            }
        )));
    }
    let mut h = match cfg.stepping {
        Stepping::Fixed { dt } => dt * f,
        Stepping::Adaptive { .. } => {
            let fmax = f0.iter().fold(0.0_f64, |m, v| m.max(v.abs()));
            if fmax > 0.0 {
                (1e-2 / fmax).min(interval)
            } else {
                interval
            }
        }
    };
    let mut tau = 0.0;
    for k in 1..kk {
        let target = if k == kk - 1 {
            tau_end
        } else {
            tau_end * k as f64 / (kk - 1) as f64
        };
        let fixed_steps = match cfg.stepping {
            Stepping::Fixed { dt } => {
                let n = ((target - tau) / (dt * f) * (1.0 - 1e-12)).ceil().max(1.0) as usize;
                Some((n, (target - tau) / n as f64, tau))
            }
            Stepping::Adaptive { .. } => None,
        };
        let mut done_fixed = 0;
        while tau < target {
            let (h_try, last) = match fixed_steps {
                Some((n, hk, start)) => (hk, {
                    let _ = start;
                    done_fixed + 1 == n
                }),
                None => {
                    if h >= target - tau {
                        (target - tau, true)
                    } else {
                        (h, false)
                    }
                }
            };
            let outcome = {
                let mut f_eval = |y: &[f64], dy: &mut [f64]| rhs.evaluate(y, dy);
                match cfg.stepping {
                    Stepping::Adaptive { tol } => stepper.step(
                        &mut f_eval,
                        &c,
                        h_try,
                        &mut y_new,
                        tol,
                        (tol * ERROR_FLOOR).max(ABSOLUTE_ERROR_MIN),
                    ),
                    Stepping::Fixed { .. } => {
                        stepper.step(&mut f_eval, &c, h_try, &mut y_new, 0.0, 1.0)
                    }
                }
            };
            summary.rhs_evaluations = evals_before + stepper.evaluations;
            match outcome {
                StepOutcome::Failed => {
                    summary.steps_rejected += 1;
                    if fixed_steps.is_some() {
                        return Err(Error::Numerical(format!(
                            "the right-hand side failed (non-finite values{}) near {} time {}; try a smaller --dt or the adaptive --tol",
                            if cfg.model == Model::Sa { " or Phi <= 0" } else { "" },
                            cfg.time,
                            tau / f
                        )));
                    }
                    h = h_try * 0.25;
                }
                StepOutcome::Done(err) if err > 1.0 => {
                    summary.steps_rejected += 1;
                    h = h_try * (0.9 * err.powf(-0.2)).max(0.2);
                }
                StepOutcome::Done(err) => {
                    std::mem::swap(&mut c, &mut y_new);
                    stepper.accept();
                    summary.steps_accepted += 1;
                    done_fixed += 1;
                    tau = if last { target } else { tau + h_try };
                    if fixed_steps.is_none() {
                        let fac = if err > 0.0 {
                            (0.9 * err.powf(-0.2)).clamp(0.2, 5.0)
                        } else {
                            5.0
                        };
                        h = if last {
                            h.max(h_try * fac)
                        } else {
                            h_try * fac
                        };
                    }
                    on_progress(if tau_end > 0.0 { tau / tau_end } else { 1.0 });
                    if watch(&mut rhs, &mut c, tau / f, summary)? {
                        evals_before += stepper.evaluations;
                        stepper = make_stepper(&rhs, cfg);
                        y_new = vec![0.0; c.len()];
                        grid = vec![0.0; rhs.basis().grid_len()];
                    }
                }
            }
            if fixed_steps.is_none() && h < 1e-13 * tau_end.max(f64::MIN_POSITIVE) {
                return Err(Error::Numerical(format!(
                    "step size underflow near {} time {}: the solution is not resolved in time",
                    cfg.time,
                    tau / f
                )));
            }
        }
        emit(&mut rhs, &c, &mut grid, k, on_frame, summary)?;
    }
    Ok(())
}
