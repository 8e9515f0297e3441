//! The mean-field continuity equation `d_t rho + div(rho chi[rho]) = nu Lap rho`, solved
//! pseudo-spectrally with one right-hand side for every basis (DESIGN.md section 3).
//!
//! Submodules: [`rhs`] (the operator), [`timestep`] (Lawson–Runge–Kutta steppers),
//! [`diagnostics`] (mass, energy, minimum, resolution indicator, power), [`init`] (initial data).
//! [`PdeSolver`] drives a run (resumable from its [`SolverState`]): output at exactly `K`
//! equally spaced times from 0 to `t_end`, a resolution watch after every accepted step (refine
//! by padding, or stop with [`Error::ResolutionLost`] after every resolved output has been handed
//! to the caller); [`solve`] runs one in a single call.
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

use crate::control::Poll;
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

/// Most fixed steps a run may ask for (`t_end / dt`); beyond it the request is refused.
pub const MAX_FIXED_STEPS: f64 = 1e9;

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
        self.scale().ln_tau_per_unit()
    }

    /// The time conversion of this run.
    pub fn scale(&self) -> crate::TimeScale {
        crate::TimeScale::new(self.model, self.beta, self.time)
    }

    /// Check every parameter (names as on the command line).
    pub fn validate(&self) -> Result<()> {
        crate::error::require_positive("beta", self.beta)?;
        if !(self.nu.is_finite() && self.nu >= 0.0) {
            return Err(Error::parameter("nu", self.nu, "a finite number >= 0"));
        }
        if !(self.t_end.is_finite() && self.t_end >= 0.0) {
            return Err(Error::parameter(
                "t_end",
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
                let steps = self.t_end / dt;
                if steps > MAX_FIXED_STEPS {
                    return Err(Error::Resources(format!(
                        "t_end / dt = {steps:.3e} fixed steps (more than {MAX_FIXED_STEPS:e}): raise dt or use adaptive stepping (tol)"
                    )));
                }
            }
        }
        if !(self.resolution_tol.is_finite() && self.resolution_tol > 0.0) {
            return Err(Error::parameter(
                "resolution_tol",
                self.resolution_tol,
                "a finite number > 0",
            ));
        }
        let f = self.ln_tau_per_unit().exp();
        if !(self.t_end * f).is_finite() {
            return Err(Error::parameter(
                "t_end",
                self.t_end,
                format!(
                    "a time whose scaled value e^beta t_end is finite at beta = {} (or time = \"scaled\")",
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
    /// Accepted steps so far.
    pub step: usize,
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
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
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
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
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

/// The equal steps of the current output interval (fixed-step RK4).
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct FixedInterval {
    /// Number of steps of the interval.
    pub steps: usize,
    /// Their size (internal unit).
    pub h: f64,
    /// Steps done so far.
    pub done: usize,
}

/// Everything needed to continue a run bit for bit (see [`PdeSolver::state`]).
#[derive(Clone, Debug)]
pub struct SolverState {
    /// Current largest degree (after refinements).
    pub lmax: usize,
    /// Coefficients in the basis of degree `lmax`.
    pub coefficients: Vec<f64>,
    /// Internal time `tau`.
    pub tau: f64,
    /// Next trial step (adaptive) or nominal step (fixed), internal unit.
    pub h: f64,
    /// Index of the next output frame.
    pub next_output: usize,
    /// Steps of the current output interval (fixed-step RK4 only).
    pub fixed: Option<FixedInterval>,
    /// Statistics so far.
    pub summary: Summary,
}

/// Receives what a solver produces, when it produces it.
pub trait PdeSink<B: Basis> {
    /// An output frame.
    fn frame(&mut self, frame: &Frame) -> Result<()>;
    /// Fraction of the run done.
    fn progress(&mut self, _fraction: f64) {}
    /// A checkpoint was asked for (by the poll function, or before an interruption).
    fn checkpoint(&mut self, _state: &SolverState) -> Result<()> {
        Ok(())
    }
}

/// A resumable mean-field run: the solver owns its state, its basis (refined as needed) and
/// its stop criteria; [`PdeSolver::run`] advances to `t_end`, handing frames to a sink.
pub struct PdeSolver<B: Basis> {
    cfg: PdeConfig,
    rhs: MeanFieldRhs<B>,
    stepper: LawsonRk,
    c: Vec<f64>,
    y_new: Vec<f64>,
    grid: Vec<f64>,
    tau: f64,
    h: f64,
    next_output: usize,
    fixed: Option<FixedInterval>,
    evaluations_before: usize,
    summary: Summary,
}

impl<B: Basis> PdeSolver<B> {
    /// A run from the coefficients `initial` in `basis`: validates `cfg`, refines at time 0 if
    /// the initial data are not resolved (or fails), and checks that the right-hand side is
    /// finite for the initial density.
    pub fn new(basis: B, initial: &[f64], cfg: &PdeConfig) -> Result<Self> {
        cfg.validate()?;
        if initial.len() != basis.len() {
            return Err(Error::Numerical(format!(
                "initial data: {} coefficients for a basis of {}",
                initial.len(),
                basis.len()
            )));
        }
        let rhs = MeanFieldRhs::new(basis, cfg.model, cfg.beta);
        let stepper = make_stepper(&rhs, cfg);
        let n = initial.len();
        let grid_len = rhs.basis().grid_len();
        let mut s = PdeSolver {
            cfg: cfg.clone(),
            rhs,
            stepper,
            c: initial.to_vec(),
            y_new: vec![0.0; n],
            grid: vec![0.0; grid_len],
            tau: 0.0,
            h: 0.0,
            next_output: 0,
            fixed: None,
            evaluations_before: 0,
            summary: Summary::default(),
        };
        s.summary.final_lmax = s.rhs.basis().lmax();
        s.watch(0.0)?;
        let mut f0 = vec![0.0; s.c.len()];
        if !s.rhs.evaluate(&s.c, &mut f0) {
            return Err(Error::Numerical(format!(
                "the right-hand side is not finite for the initial density{}",
                if cfg.model == Model::Sa {
                    " (SA needs K*rho > 0 on the grid: the initial density is too negative)"
                } else {
                    ""
                }
            )));
        }
        // Initial step size (adaptive): 1% of |y| / |f(y)|, at most one output interval.
        let f = cfg.ln_tau_per_unit().exp();
        let interval = cfg.t_end * f / (cfg.outputs - 1) as f64;
        s.h = match cfg.stepping {
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
        Ok(s)
    }

    /// Continue from `state` (saved by [`PdeSolver::state`] of a run with the same `cfg`);
    /// `basis` must have the degree `state.lmax`.
    pub fn restore(basis: B, state: SolverState, cfg: &PdeConfig) -> Result<Self> {
        cfg.validate()?;
        if basis.lmax() != state.lmax || basis.len() != state.coefficients.len() {
            return Err(Error::Numerical(format!(
                "checkpoint: basis of degree {} does not match the saved degree {} ({} coefficients)",
                basis.lmax(),
                state.lmax,
                state.coefficients.len()
            )));
        }
        let rhs = MeanFieldRhs::new(basis, cfg.model, cfg.beta);
        let stepper = make_stepper(&rhs, cfg);
        let n = state.coefficients.len();
        let grid_len = rhs.basis().grid_len();
        Ok(PdeSolver {
            cfg: cfg.clone(),
            rhs,
            stepper,
            c: state.coefficients,
            y_new: vec![0.0; n],
            grid: vec![0.0; grid_len],
            tau: state.tau,
            h: state.h,
            next_output: state.next_output,
            fixed: state.fixed,
            evaluations_before: state.summary.rhs_evaluations,
            summary: state.summary,
        })
    }

    /// The state to save.
    pub fn state(&self) -> SolverState {
        SolverState {
            lmax: self.rhs.basis().lmax(),
            coefficients: self.c.clone(),
            tau: self.tau,
            h: self.h,
            next_output: self.next_output,
            fixed: self.fixed,
            summary: self.summary.clone(),
        }
    }

    /// Statistics so far.
    pub fn summary(&self) -> &Summary {
        &self.summary
    }

    /// The current basis.
    pub fn basis(&self) -> &B {
        self.rhs.basis()
    }

    /// True when every output frame has been delivered.
    pub fn is_finished(&self) -> bool {
        self.next_output >= self.cfg.outputs
    }

    /// Resolution watch: refine (pad) while the tail fraction exceeds its tolerance, or fail.
    fn watch(&mut self, time: f64) -> Result<()> {
        let cfg = &self.cfg;
        let mut changed = false;
        loop {
            let tail = tail_fraction(&self.rhs.basis().power_spectrum(&self.c));
            if tail.partial_cmp(&cfg.resolution_tol) != Some(std::cmp::Ordering::Greater) {
                break;
            }
            let lmax = self.rhs.basis().lmax();
            let target = (3 * lmax).div_ceil(2).max(lmax + 1).min(cfg.lmax_limit);
            if !cfg.refine || target <= lmax {
                let why = if cfg.refine {
                    format!(
                        "the refinement limit lmax_limit = {} is reached",
                        cfg.lmax_limit
                    )
                } else {
                    "set refine (or a larger lmax) to continue".to_string()
                };
                return Err(Error::ResolutionLost(format!(
                    "resolution lost at {} time {time}: tail fraction {tail:e} > resolution_tol {:e} at L = {lmax}; {why} (every output before this time is written and resolved)",
                    cfg.time, cfg.resolution_tol
                )));
            }
            let new_basis = self.rhs.basis().with_lmax(target);
            let mut padded = vec![0.0; new_basis.len()];
            resize_coefficients(&self.c, &mut padded);
            self.rhs = MeanFieldRhs::new(new_basis, cfg.model, cfg.beta);
            self.c = padded;
            self.summary.refinements.push(Refinement {
                time,
                from: lmax,
                to: target,
                tail_fraction: tail,
            });
            self.summary.final_lmax = target;
            changed = true;
        }
        if changed {
            self.evaluations_before += self.stepper.evaluations;
            self.stepper = make_stepper(&self.rhs, &self.cfg);
            self.y_new = vec![0.0; self.c.len()];
            self.grid = vec![0.0; self.rhs.basis().grid_len()];
        }
        Ok(())
    }

    fn emit(&mut self, k: usize, sink: &mut dyn PdeSink<B>) -> Result<()> {
        let cfg = &self.cfg;
        let kk = cfg.outputs;
        let f = cfg.ln_tau_per_unit().exp();
        let ln_tau_per_t = TimeUnit::ln_tau_per_t(cfg.model, cfg.beta);
        let time = if k == kk - 1 {
            cfg.t_end
        } else {
            cfg.t_end * k as f64 / (kk - 1) as f64
        };
        let tau = time * f;
        let t = tau * (-ln_tau_per_t).exp();
        let e = self.rhs.scaled_energy(&self.c);
        let diag = diagnose(self.rhs.basis_mut(), &self.c, &mut self.grid, e);
        let frame = Frame {
            index: k,
            time,
            t,
            tau,
            step: self.summary.steps_accepted,
            lmax: self.rhs.basis().lmax(),
            coefficients: &self.c,
            density: &self.grid,
            grid_shape: self.rhs.basis().grid_shape(),
            diagnostics: &diag,
        };
        sink.frame(&frame)?;
        self.summary.frames += 1;
        Ok(())
    }

    /// Advance to `t_end`, handing every output frame to `sink`. `poll()` is asked after every
    /// accepted step: [`Poll::Checkpoint`] hands the state to `sink.checkpoint`,
    /// [`Poll::Stop`] does the same and returns [`Error::Interrupted`].
    ///
    /// Errors: a right-hand side that fails (e.g. SA with `Phi <= 0`); loss of resolution
    /// without `refine` or beyond `lmax_limit` ([`Error::ResolutionLost`]); step size underflow.
    /// In every case the frames already delivered are complete and resolved.
    pub fn run(&mut self, sink: &mut dyn PdeSink<B>, poll: &dyn Fn() -> Poll) -> Result<()> {
        let kk = self.cfg.outputs;
        let f = self.cfg.ln_tau_per_unit().exp();
        let tau_end = self.cfg.t_end * f;
        if self.next_output == 0 {
            self.emit(0, sink)?;
            self.next_output = 1;
        }
        while self.next_output < kk {
            let k = self.next_output;
            let target = if k == kk - 1 {
                tau_end
            } else {
                tau_end * k as f64 / (kk - 1) as f64
            };
            if let (Stepping::Fixed { dt }, None) = (self.cfg.stepping, self.fixed) {
                let n = ((target - self.tau) / (dt * f) * (1.0 - 1e-12))
                    .ceil()
                    .max(1.0) as usize;
                self.fixed = Some(FixedInterval {
                    steps: n,
                    h: (target - self.tau) / n as f64,
                    done: 0,
                });
            }
            while self.tau < target {
                let accepted = self.attempt(target, tau_end, sink)?;
                if accepted {
                    match poll() {
                        Poll::Continue => {}
                        p => {
                            sink.checkpoint(&self.state())?;
                            if p == Poll::Stop {
                                return Err(Error::Interrupted(String::new()));
                            }
                        }
                    }
                }
            }
            self.emit(k, sink)?;
            self.next_output = k + 1;
            self.fixed = None;
        }
        Ok(())
    }

    /// One attempted step towards `target`; true when it was accepted.
    fn attempt(&mut self, target: f64, tau_end: f64, sink: &mut dyn PdeSink<B>) -> Result<bool> {
        let cfg = &self.cfg;
        let f = cfg.ln_tau_per_unit().exp();
        let (h_try, last) = match self.fixed {
            Some(fx) => (fx.h, fx.done + 1 == fx.steps),
            None => {
                if self.h >= target - self.tau {
                    (target - self.tau, true)
                } else {
                    (self.h, false)
                }
            }
        };
        let outcome = {
            let rhs = &mut self.rhs;
            let mut f_eval = |y: &[f64], dy: &mut [f64]| rhs.evaluate(y, dy);
            match cfg.stepping {
                Stepping::Adaptive { tol } => self.stepper.step(
                    &mut f_eval,
                    &self.c,
                    h_try,
                    &mut self.y_new,
                    tol,
                    (tol * ERROR_FLOOR).max(ABSOLUTE_ERROR_MIN),
                ),
                Stepping::Fixed { .. } => {
                    self.stepper
                        .step(&mut f_eval, &self.c, h_try, &mut self.y_new, 0.0, 1.0)
                }
            }
        };
        self.summary.rhs_evaluations = self.evaluations_before + self.stepper.evaluations;
        let mut accepted = false;
        match outcome {
            StepOutcome::Failed => {
                self.summary.steps_rejected += 1;
                if self.fixed.is_some() {
                    return Err(Error::Numerical(format!(
                        "the right-hand side failed (non-finite values{}) near {} time {}; try a smaller dt or adaptive stepping (tol)",
                        if cfg.model == Model::Sa { " or Phi <= 0" } else { "" },
                        cfg.time,
                        self.tau / f
                    )));
                }
                self.h = h_try * 0.25;
            }
            StepOutcome::Done(err) if err > 1.0 => {
                self.summary.steps_rejected += 1;
                self.h = h_try * (0.9 * err.powf(-0.2)).max(0.2);
            }
            StepOutcome::Done(err) => {
                std::mem::swap(&mut self.c, &mut self.y_new);
                self.stepper.accept();
                self.summary.steps_accepted += 1;
                self.tau = if last { target } else { self.tau + h_try };
                match &mut self.fixed {
                    Some(fx) => fx.done += 1,
                    None => {
                        let fac = if err > 0.0 {
                            (0.9 * err.powf(-0.2)).clamp(0.2, 5.0)
                        } else {
                            5.0
                        };
                        self.h = if last {
                            self.h.max(h_try * fac)
                        } else {
                            h_try * fac
                        };
                    }
                }
                sink.progress(if tau_end > 0.0 {
                    self.tau / tau_end
                } else {
                    1.0
                });
                self.watch(self.tau / f)?;
                accepted = true;
            }
        }
        if self.fixed.is_none() && self.h < 1e-13 * tau_end.max(f64::MIN_POSITIVE) {
            return Err(Error::Numerical(format!(
                "step size underflow near {} time {}: the solution is not resolved in time",
                self.cfg.time,
                self.tau / f
            )));
        }
        Ok(accepted)
    }
}

/// Adapter: closures as a [`PdeSink`].
struct ClosureSink<F, P> {
    on_frame: F,
    on_progress: P,
}

impl<B: Basis, F: FnMut(&Frame) -> Result<()>, P: FnMut(f64)> PdeSink<B> for ClosureSink<F, P> {
    fn frame(&mut self, frame: &Frame) -> Result<()> {
        (self.on_frame)(frame)
    }
    fn progress(&mut self, fraction: f64) {
        (self.on_progress)(fraction)
    }
}

/// Solve from the coefficients `initial` (in `basis`) in one go, calling `on_frame` at each
/// of the `K` output times and `on_progress(fraction)` after each accepted step; `summary`
/// receives the statistics (also when the run stops early: `summary.stopped` says why).
pub fn solve<B, F, P>(
    basis: B,
    initial: &[f64],
    cfg: &PdeConfig,
    on_frame: F,
    on_progress: P,
    summary: &mut Summary,
) -> Result<()>
where
    B: Basis,
    F: FnMut(&Frame) -> Result<()>,
    P: FnMut(f64),
{
    let mut sink = ClosureSink {
        on_frame,
        on_progress,
    };
    let result = PdeSolver::new(basis, initial, cfg).and_then(|mut s| {
        let r = s.run(&mut sink, &|| Poll::Continue);
        *summary = s.summary().clone();
        r
    });
    if let Err(e) = &result {
        summary.stopped = Some(e.to_string());
    }
    result
}
