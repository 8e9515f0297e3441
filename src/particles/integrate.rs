//! Time integration on the sphere: classical RK4 and the adaptive Dormand–Prince 5(4) pair, one
//! integrator for every velocity field.
//!
//! Retraction: every stage point and every new state is normalised row by row. This is the same
//! as integrating the extension `f(x) = v(x/|x|)`, for which each sphere `|x| = r` is invariant
//! (`<x, f(x)> = 0`), so the classical orders (4 and 5) are kept; the final normalisation is a
//! projection onto the invariant sphere.
//!
//! Energy identity check: for USA, `E_N = mean_kernel/(2 beta)` satisfies
//! `dE_N/dtau = (1/N) sum_i |dx_i/dtau|^2` exactly. Each step compares the difference quotient
//! `(E(x_{n+1}) - E(x_n))/h` with the method's own quadrature `sum_s b_s (1/N) sum_i |k_{s,i}|^2`
//! of the right side, relative to the latter: `|dE/dt - mean|dx/dt|^2| / mean|dx/dt|^2`. It
//! vanishes with the step size at the order of the method (it is a measure of the local error),
//! and is only meaningful for USA (for SA `E_N` is not the gradient-flow energy; the error is
//! reported as NaN).

use super::noise::Noise;
use super::velocity::VelocityField;
use crate::butcher::dopri5::{A as DP_A, B as DP_B, B_HAT as DP_BSTAR};
use crate::control::Poll;
use rayon::prelude::*;
use std::ops::ControlFlow;

/// How steps are chosen (sizes in the internal time unit).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum StepControl {
    /// Classical RK4 with the given step.
    Rk4 {
        /// Step size.
        dt: f64,
    },
    /// Dormand–Prince 5(4) with local error `max_i |err_i| <= tol` (absolute, coordinates are
    /// unit vectors) per step.
    DormandPrince {
        /// Local error tolerance.
        tol: f64,
    },
    /// Explicit Euler followed by renormalisation, `x <- (x + dt v(x)) / |x + dt v(x)|` (first
    /// order): the scheme of the published reference codes, offered to reproduce their numbers
    /// exactly, not as a recommendation.
    Euler {
        /// Step size.
        dt: f64,
    },
}

impl StepControl {
    /// Name for outputs: `rk4`, `dormand-prince-5(4)`, `euler`.
    pub fn name(&self) -> &'static str {
        match self {
            StepControl::Rk4 { .. } => "rk4",
            StepControl::DormandPrince { .. } => "dormand-prince-5(4)",
            StepControl::Euler { .. } => "euler",
        }
    }

    /// The fixed step size, for the fixed-step schemes.
    pub fn fixed_step(&self) -> Option<f64> {
        match *self {
            StepControl::Rk4 { dt } | StepControl::Euler { dt } => Some(dt),
            StepControl::DormandPrince { .. } => None,
        }
    }
}

/// What one accepted step did.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StepReport {
    /// Step size taken.
    pub h: f64,
    /// Relative energy identity error of the step (see the module documentation; NaN for SA).
    pub identity_error: f64,
}

/// Everything needed to continue an integration bit for bit (the velocity at `x` is
/// recomputed on restore: the fields are deterministic).
#[derive(Clone, Debug, PartialEq)]
pub struct IntegratorState {
    /// Tokens, row-major unit rows.
    pub x: Vec<f64>,
    /// Time (internal unit).
    pub time: f64,
    /// Accepted steps.
    pub steps: usize,
    /// Rejected adaptive steps.
    pub rejected: usize,
    /// Next trial step of the adaptive method (0 before the first step).
    pub h_next: f64,
    /// Arc length travelled so far, `int |dX/dtau| dtau` with `|dX/dtau|^2 = sum_i |dx_i/dtau|^2`.
    pub arc_length: f64,
    /// Masses of weighted tokens (`None`: `1/N` each).
    pub mass: Option<Vec<f64>>,
    /// Tokens of the original system.
    pub n_tokens: f64,
    /// Largest adaptive step in force.
    pub max_step: f64,
}

/// State of a running integration.
pub struct Integrator<'f> {
    field: &'f dyn VelocityField,
    dim: usize,
    /// Current tokens, row-major `N x d`, unit rows.
    pub x: Vec<f64>,
    /// Current time (internal unit).
    pub time: f64,
    /// Accepted steps so far.
    pub steps: usize,
    /// Rejected adaptive steps so far.
    pub rejected: usize,
    /// Arc length travelled so far (see [`IntegratorState::arc_length`]), by the method's own
    /// quadrature of `|dX/dtau|` over each step.
    pub arc_length: f64,
    /// Masses of the tokens (`None`: `1/N` each); set by [`Integrator::merge_within`].
    mass: Option<Vec<f64>>,
    /// Number of tokens of the original system (merged tokens count with their multiplicity).
    n_tokens: f64,
    /// Largest adaptive step (infinite unless set with [`Integrator::set_max_step`]).
    max_step: f64,
    control: StepControl,
    v: Vec<f64>,
    mean_kernel: f64,
    h_next: f64,
    stages: Vec<Vec<f64>>,
    tmp: Vec<f64>,
    trial: Vec<f64>,
    failure: Option<String>,
    /// Noise substep after every accepted step (`None`: the deterministic flow).
    noise: Option<Noise>,
}

const PAR_MIN: usize = 1 << 15;

/// `out = normalise_rows(x + h sum_s coef_s k_s)` (row-wise, so parallelism does not change it).
fn combine(out: &mut [f64], x: &[f64], h: f64, coef: &[f64], ks: &[Vec<f64>], dim: usize) {
    let work = |(row, o): (usize, &mut [f64])| {
        let base = row * dim;
        let mut norm = 0.0;
        for k in 0..dim {
            let mut inc = 0.0;
            for (c, kv) in coef.iter().zip(ks) {
                if *c != 0.0 {
                    inc += c * kv[base + k];
                }
            }
            o[k] = x[base + k] + h * inc;
            norm += o[k] * o[k];
        }
        let norm = norm.sqrt();
        o.iter_mut().for_each(|v| *v /= norm);
    };
    if x.len() >= PAR_MIN {
        out.par_chunks_mut(dim).enumerate().for_each(work);
    } else {
        out.chunks_mut(dim).enumerate().for_each(work);
    }
}

/// Up to this many weighted tokens, weighted systems are summed exactly in tangential form
/// ([`super::weighted::weighted_exact`]) whatever the field's method: a collapsed system of a few clusters
/// then keeps the relative precision of the attraction between distant clusters (weights down to
/// `1e-300`), which band-limited (fast) summation cannot resolve, at a cost of at most
/// `2048^2` pairs per evaluation.
pub const EXACT_WEIGHTED_MAX: usize = 2048;

/// Evaluate `field` at `x`, weighted by `mass` when given.
fn eval(field: &dyn VelocityField, mass: Option<&[f64]>, x: &[f64], v: &mut [f64]) -> f64 {
    match mass {
        Some(m) if m.len() <= EXACT_WEIGHTED_MAX => super::weighted::weighted_exact(
            crate::spectral::simd::SimdPath::detect(),
            field.dim(),
            field.beta(),
            field.model(),
            x,
            m,
            v,
        ),
        Some(m) => field.evaluate_weighted(x, m, v),
        None => field.evaluate(x, v),
    }
}

/// Mean squared speed over the tokens: `sum_i m_i |v_i|^2` with masses, `(1/N) sum_i |v_i|^2`
/// without.
fn speed2(v: &[f64], dim: usize, mass: Option<&[f64]>) -> f64 {
    match mass {
        Some(m) => v
            .chunks_exact(dim)
            .zip(m)
            .map(|(r, w)| w * r.iter().map(|a| a * a).sum::<f64>())
            .sum(),
        None => mean_speed2(v, dim),
    }
}

/// Mean squared speed `(1/N) sum_i |v_i|^2`.
pub fn mean_speed2(v: &[f64], dim: usize) -> f64 {
    let n = v.len() / dim;
    v.iter().map(|a| a * a).sum::<f64>() / n as f64
}

impl<'f> Integrator<'f> {
    /// Start at time 0 from unit rows `x`; evaluates the field once.
    pub fn new(field: &'f dyn VelocityField, x: Vec<f64>, control: StepControl) -> Self {
        let dim = field.dim();
        let mut v = vec![0.0; x.len()];
        let mean_kernel = field.evaluate(&x, &mut v);
        let n_tokens = (x.len() / dim) as f64;
        let nst = match control {
            StepControl::Rk4 { .. } => 4,
            StepControl::DormandPrince { .. } => 7,
            StepControl::Euler { .. } => 1,
        };
        let len = x.len();
        Integrator {
            field,
            dim,
            x,
            time: 0.0,
            steps: 0,
            rejected: 0,
            arc_length: 0.0,
            mass: None,
            n_tokens,
            max_step: f64::INFINITY,
            control,
            v,
            mean_kernel,
            h_next: 0.0,
            stages: vec![vec![0.0; len]; nst],
            tmp: vec![0.0; len],
            trial: vec![0.0; len],
            failure: None,
            noise: None,
        }
    }

    /// Continue from a saved state (see [`Integrator::state`]).
    pub fn restore(
        field: &'f dyn VelocityField,
        state: IntegratorState,
        control: StepControl,
    ) -> Self {
        let mut it = Self::new(field, state.x, control);
        if let Some(m) = state.mass {
            it.n_tokens = state.n_tokens;
            it.mean_kernel = eval(field, Some(&m), &it.x, &mut it.v);
            it.mass = Some(m);
        }
        it.max_step = state.max_step;
        it.time = state.time;
        it.steps = state.steps;
        it.rejected = state.rejected;
        it.h_next = state.h_next;
        it.arc_length = state.arc_length;
        it
    }

    /// The state to save for a later [`Integrator::restore`].
    pub fn state(&self) -> IntegratorState {
        IntegratorState {
            x: self.x.clone(),
            time: self.time,
            steps: self.steps,
            rejected: self.rejected,
            h_next: self.h_next,
            arc_length: self.arc_length,
            mass: self.mass.clone(),
            n_tokens: self.n_tokens,
            max_step: self.max_step,
        }
    }

    /// Velocity at the current state (internal time unit).
    pub fn velocity(&self) -> &[f64] {
        &self.v
    }

    /// Energy `E_N = (1/(2 beta N^2)) sum_ij exp(beta(<x_i,x_j> - 1))` (scaled kernel).
    pub fn energy(&self) -> f64 {
        self.mean_kernel / (2.0 * self.field.beta())
    }

    /// Mean squared speed at the current state (internal time unit).
    pub fn speed2(&self) -> f64 {
        speed2(&self.v, self.dim, self.mass.as_deref())
    }

    /// Cap the adaptive step (`f64::INFINITY`: no cap). Used while collapsing tokens are not
    /// yet merged: their contraction is stiff, and an explicit step beyond its stability limit
    /// would stall it short of the merge radius.
    pub fn set_max_step(&mut self, h: f64) {
        self.max_step = h;
    }

    /// Masses of the tokens (`None`: all equal).
    pub fn mass(&self) -> Option<&[f64]> {
        self.mass.as_deref()
    }

    /// Merge tokens closer than the chord `radius` (transitively) into weighted tokens: mass
    /// kept, position the normalised centre of mass. Returns the groups (old indices of each
    /// new token, in new order) when something merged, `None` otherwise. The velocity is
    /// re-evaluated; the weighted system is the exact dynamics of coincident tokens.
    pub fn merge_within(&mut self, radius: f64) -> Option<Vec<Vec<usize>>> {
        let d = self.dim;
        let n = self.x.len() / d;
        let pairs: Vec<(usize, usize)> = close_pairs(&self.x, d, radius)
            .into_iter()
            .map(|(i, j, _)| (i, j))
            .collect();
        let groups = link_groups(n, &pairs)?;
        self.merge_groups(&groups);
        Some(groups)
    }

    /// Merge the given groups of tokens (old indices of each new token, in new order; see
    /// [`Integrator::merge_within`]).
    pub fn merge_groups(&mut self, groups: &[Vec<usize>]) {
        let d = self.dim;
        let n = self.x.len() / d;
        let old_mass: Vec<f64> = match &self.mass {
            Some(m) => m.clone(),
            None => vec![1.0 / n as f64; n],
        };
        let mut x = Vec::with_capacity(groups.len() * d);
        let mut mass = Vec::with_capacity(groups.len());
        for g in groups {
            let mut c = vec![0.0; d];
            let mut m = 0.0;
            for &i in g {
                m += old_mass[i];
                for (ck, xk) in c.iter_mut().zip(&self.x[i * d..(i + 1) * d]) {
                    *ck += old_mass[i] * xk;
                }
            }
            let norm = c.iter().map(|a| a * a).sum::<f64>().sqrt();
            x.extend(c.iter().map(|a| a / norm));
            mass.push(m);
        }
        let len = x.len();
        self.x = x;
        self.v = vec![0.0; len];
        self.mean_kernel = eval(self.field, Some(&mass), &self.x, &mut self.v);
        self.mass = Some(mass);
        for st in &mut self.stages {
            *st = vec![0.0; len];
        }
        self.tmp = vec![0.0; len];
        self.trial = vec![0.0; len];
    }

    /// One accepted step that does not pass `t_stop` (RK4: `min(dt, t_stop - time)`; DP5(4):
    /// adaptive, retried until accepted), followed by the noise substep when noise is set.
    pub fn step(&mut self, t_stop: f64) -> StepReport {
        let span = t_stop - self.time;
        let cap = match &self.noise {
            Some(n) => self.max_step.min(n.max_step(self.dim)),
            None => self.max_step,
        };
        let report = match self.control {
            StepControl::Rk4 { dt } => self.step_rk4(dt.min(span)),
            StepControl::DormandPrince { tol } => self.step_dp(tol, span, cap),
            StepControl::Euler { dt } => self.step_euler(dt.min(span)),
        };
        if self.noise.is_some() && self.failure.is_none() {
            self.noise_substep(report.h);
        }
        report
    }

    /// Make the integration stochastic (see [`super::noise`]): after every accepted
    /// deterministic step of size `h` each token takes a geodesic Brownian increment of
    /// variance `2 nu h` per tangent direction (Lie splitting, weak order 1), drawn from a
    /// counter-based stream keyed by the step count, and the velocity is re-evaluated (one
    /// extra field evaluation per step). Adaptive steps are chosen on the drift's local error
    /// and capped at [`Noise::max_step`]; the arc length and the energy identity error refer to
    /// the drift part of each step. `None` restores the deterministic flow.
    pub fn set_noise(&mut self, noise: Option<Noise>) {
        self.noise = noise;
    }

    /// The noise substep of the step just accepted (its index is `steps - 1`).
    fn noise_substep(&mut self, h: f64) {
        if let Some(noise) = self.noise {
            noise.apply(&mut self.x, self.dim, (self.steps - 1) as u64, h);
            self.mean_kernel = eval(self.field, self.mass.as_deref(), &self.x, &mut self.v);
            if !self.mean_kernel.is_finite() {
                self.fail("the velocity field returned a non-finite kernel sum after the noise");
            }
        }
    }

    /// Advance to exactly `t_stop`, calling `on_step` after every accepted step; an error if
    /// the state stops being finite.
    pub fn advance_to(
        &mut self,
        t_stop: f64,
        mut on_step: impl FnMut(&Self, &StepReport),
    ) -> crate::Result<()> {
        self.advance_until(t_stop, |it, r| {
            on_step(it, r);
            ControlFlow::Continue(())
        });
        self.failure().map_or(Ok(()), Err)
    }

    /// Advance to exactly `t_stop`, asking `poll` after every accepted step: a
    /// [`Poll::Stop`] abandons the integration with [`crate::Error::Interrupted`] (checkpoint
    /// requests are ignored); an error if the state stops being finite.
    pub fn advance_or_stop(&mut self, t_stop: f64, poll: &dyn Fn() -> Poll) -> crate::Result<()> {
        let reached = self.advance_until(t_stop, |_, _| match poll() {
            Poll::Stop => ControlFlow::Break(()),
            _ => ControlFlow::Continue(()),
        });
        if let Some(e) = self.failure() {
            return Err(e);
        }
        if reached {
            Ok(())
        } else {
            Err(crate::Error::Interrupted(String::new()))
        }
    }

    /// Advance towards `t_stop`, calling `on_step` after every accepted step; returns `true`
    /// when `t_stop` was reached (the time is then exactly `t_stop`), `false` when `on_step`
    /// asked to break (the state is that after a complete step, and a later call with the same
    /// `t_stop` continues exactly as if there had been no break).
    pub fn advance_until(
        &mut self,
        t_stop: f64,
        mut on_step: impl FnMut(&Self, &StepReport) -> ControlFlow<()>,
    ) -> bool {
        while t_stop - self.time > 1e-12 * t_stop.abs().max(1e-300) {
            let r = self.step(t_stop);
            if self.failure.is_some() || on_step(self, &r).is_break() {
                return false;
            }
        }
        self.time = t_stop;
        true
    }

    /// Why the integration cannot continue (a non-finite state or error estimate), if so;
    /// [`Integrator::advance_until`] stops at such a step.
    pub fn failure(&self) -> Option<crate::Error> {
        self.failure
            .as_ref()
            .map(|m| crate::Error::Numerical(m.clone()))
    }

    fn fail(&mut self, what: &str) -> StepReport {
        self.failure = Some(format!(
            "{what} at time {} (internal unit) after {} steps: the state is no longer finite",
            self.time, self.steps
        ));
        StepReport {
            h: 0.0,
            identity_error: f64::NAN,
        }
    }

    /// Book-keeping of an accepted step of size `h` whose stages had mean squared speeds
    /// `speeds` and quadrature weights `weights`: energy identity, arc length, time, count.
    fn finish(
        &mut self,
        h: f64,
        weights: &[f64],
        speeds: &[f64],
        new_mean_kernel: f64,
    ) -> StepReport {
        if !new_mean_kernel.is_finite() {
            return self.fail("the velocity field returned a non-finite kernel sum");
        }
        let n = self.n_tokens;
        let quad: f64 = weights.iter().zip(speeds).map(|(w, s)| w * s).sum();
        let arc: f64 = weights
            .iter()
            .zip(speeds)
            .map(|(w, s)| w * (n * s).sqrt())
            .sum();
        self.arc_length += h * arc;
        let beta = self.field.beta();
        let de = (new_mean_kernel - self.mean_kernel) / (2.0 * beta) / h;
        let identity_error = if self.field.model() == crate::Model::Sa {
            f64::NAN
        } else if quad > 0.0 {
            (de - quad).abs() / quad
        } else {
            de.abs()
        };
        self.mean_kernel = new_mean_kernel;
        self.time += h;
        self.steps += 1;
        StepReport { h, identity_error }
    }

    /// One classical RK4 step of size `h` with retraction.
    pub fn step_rk4(&mut self, h: f64) -> StepReport {
        let d = self.dim;
        let field = self.field;
        self.stages[0].copy_from_slice(&self.v);
        let mass = self.mass.as_deref();
        let mut speeds = [speed2(&self.v, d, mass), 0.0, 0.0, 0.0];
        let plan: [(f64, usize); 3] = [(0.5, 0), (0.5, 1), (1.0, 2)];
        for (s, (c, prev)) in plan.iter().enumerate() {
            let mut coef = [0.0; 4];
            coef[*prev] = *c;
            combine(&mut self.tmp, &self.x, h, &coef, &self.stages, d);
            let (_, rest) = self.stages.split_at_mut(s + 1);
            eval(field, mass, &self.tmp, &mut rest[0]);
            speeds[s + 1] = speed2(&rest[0], d, mass);
        }
        let b = [1.0 / 6.0, 1.0 / 3.0, 1.0 / 3.0, 1.0 / 6.0];
        combine(&mut self.trial, &self.x, h, &b, &self.stages, d);
        std::mem::swap(&mut self.x, &mut self.trial);
        let mk = eval(field, mass, &self.x, &mut self.v);
        self.finish(h, &b, &speeds, mk)
    }

    /// One explicit Euler step of size `h`, then renormalisation.
    pub fn step_euler(&mut self, h: f64) -> StepReport {
        let d = self.dim;
        let mass = self.mass.as_deref();
        let speeds = [speed2(&self.v, d, mass)];
        self.stages[0].copy_from_slice(&self.v);
        combine(&mut self.trial, &self.x, h, &[1.0], &self.stages[..1], d);
        std::mem::swap(&mut self.x, &mut self.trial);
        let mk = eval(self.field, mass, &self.x, &mut self.v);
        self.finish(h, &[1.0], &speeds, mk)
    }

    fn initial_step(&self, tol: f64, span: f64) -> f64 {
        let vmax = self
            .v
            .chunks(self.dim)
            .map(|r| r.iter().map(|a| a * a).sum::<f64>().sqrt())
            .fold(0.0, f64::max);
        let h = if vmax > 0.0 {
            0.2 * tol.powf(0.2) / vmax
        } else {
            span
        };
        h.min(span)
    }

    /// One accepted Dormand–Prince 5(4) step (FSAL), not longer than `span`.
    fn step_dp(&mut self, tol: f64, span: f64, cap: f64) -> StepReport {
        let d = self.dim;
        let field = self.field;
        if self.h_next <= 0.0 {
            self.h_next = self.initial_step(tol, span);
        }
        loop {
            let h = self.h_next.min(span).min(cap);
            self.stages[0].copy_from_slice(&self.v);
            let mut speeds = [0.0; 7];
            let mass = self.mass.as_deref();
            speeds[0] = speed2(&self.v, d, mass);
            for s in 1..6 {
                let coef = DP_A[s];
                combine(&mut self.tmp, &self.x, h, &coef, &self.stages[..6], d);
                let (_, rest) = self.stages.split_at_mut(s);
                eval(field, mass, &self.tmp, &mut rest[0]);
                speeds[s] = speed2(&rest[0], d, mass);
            }
            combine(
                &mut self.trial,
                &self.x,
                h,
                &DP_B[..6],
                &self.stages[..6],
                d,
            );
            let (head, last) = self.stages.split_at_mut(6);
            let mk = eval(field, mass, &self.trial, &mut last[0]);
            // Error estimate h sum (b - b*) k on the unnormalised increment.
            let mut err: f64 = 0.0;
            for i in 0..self.x.len() {
                let mut e = 0.0;
                for s in 0..6 {
                    e += (DP_B[s] - DP_BSTAR[s]) * head[s][i];
                }
                e -= DP_BSTAR[6] * last[0][i];
                err = err.max((h * e).abs());
            }
            if !err.is_finite() {
                return self.fail("the error estimate of the step is not finite");
            }
            let ratio = err / tol;
            let factor = if ratio > 0.0 {
                (0.9 * ratio.powf(-0.2)).clamp(0.2, 5.0)
            } else {
                5.0
            };
            if h < 1e-300 {
                return self.fail("the step size underflowed (the error control cannot be met)");
            }
            // The system is autonomous: a step that is tiny next to the current time is still
            // applied to the state in full (the time itself may not change), so it is accepted
            // only on its error, whatever the time.
            if ratio <= 1.0 {
                std::mem::swap(&mut self.x, &mut self.trial);
                self.v.copy_from_slice(&last[0]);
                // Do not let a step shortened to hit an output time shrink the next one.
                self.h_next = if h < self.h_next {
                    self.h_next
                } else {
                    h * factor
                };
                return self.finish(h, &DP_B, &speeds, mk);
            }
            self.rejected += 1;
            self.h_next = h * factor;
        }
    }
}

/// Pairs `(i, j, chord)`, `i < j`, of unit rows of `x` closer than the chord `radius`. Sorting
/// by the projection on a fixed direction `u` (not a coordinate axis, so tokens on a coordinate
/// plane or great circle do not all project alike) keeps it `O(N log N)` for well-separated
/// tokens: a pair closer than `radius` has projections closer than `radius`.
pub fn close_pairs(x: &[f64], dim: usize, radius: f64) -> Vec<(usize, usize, f64)> {
    ProjectedOrder::new(x, dim).close_pairs(x, dim, radius)
}

/// Whether some pair of unit rows of `x` has a chord in `(lo, hi]`. Stops at the first such
/// pair, and stores nothing: a collapsing cluster of `m` tokens (all within `hi`) costs one
/// sort, not the `m^2 / 2` pairs [`close_pairs`] would list.
pub fn has_pair_between(x: &[f64], dim: usize, lo: f64, hi: f64) -> bool {
    ProjectedOrder::new(x, dim).has_pair_between(x, dim, lo, hi)
}

/// The merge check of a run after a step (see [`merge_check`]).
#[derive(Clone, Debug, PartialEq)]
pub struct MergeCheck {
    /// Groups of tokens within the merge radius ([`link_groups`] of the [`close_pairs`]);
    /// `None` when no pair is that close.
    pub groups: Option<Vec<Vec<usize>>>,
    /// Without groups: whether a pair has a chord in `(merge_radius, close]`
    /// ([`has_pair_between`]). `None` with groups: the check belongs to the merged state.
    pub collapsing: Option<bool>,
}

/// The merge check a run does after a step (`crate::particles::Simulation`): the groups of
/// tokens within `merge_radius`, and, when nothing merges, whether a pair is still collapsing
/// (chord in `(merge_radius, close]`), both from one sort of the tokens.
pub fn merge_check(x: &[f64], dim: usize, merge_radius: f64, close: f64) -> MergeCheck {
    let order = ProjectedOrder::new(x, dim);
    let pairs: Vec<(usize, usize)> = order
        .close_pairs(x, dim, merge_radius)
        .iter()
        .map(|p| (p.0, p.1))
        .collect();
    let groups = link_groups(x.len() / dim.max(1), &pairs);
    let collapsing = if groups.is_some() {
        None
    } else {
        Some(order.has_pair_between(x, dim, merge_radius, close))
    };
    MergeCheck { groups, collapsing }
}

/// Tokens sorted by their projection on a fixed direction, then by index (the order of a stable
/// sort by projection): a radix sort of the projections rounded to 64-bit keys, ties of the
/// rounded keys sorted exactly; the scans of [`close_pairs`] and [`has_pair_between`] run on it.
pub struct ProjectedOrder {
    order: Vec<usize>,
    proj: Vec<f64>,
}

impl ProjectedOrder {
    /// Sort the unit rows `x` (`N x dim`).
    pub fn new(x: &[f64], dim: usize) -> Self {
        let n = x.len() / dim.max(1);
        // u_k proportional to 1 / sqrt(k + 2): irrational ratios, |u| = 1.
        let u: Vec<f64> = (0..dim).map(|k| 1.0 / ((k + 2) as f64).sqrt()).collect();
        let norm = u.iter().map(|a| a * a).sum::<f64>().sqrt();
        let p: Vec<f64> = x
            .chunks_exact(dim.max(1))
            .map(|r| r.iter().zip(&u).map(|(a, b)| a * b).sum::<f64>() / norm)
            .collect();
        let ib = crate::analysis::radix::index_bits(n);
        let (order, proj) = if n as u64 >= 1 << 40 || !p.iter().all(|v| v.abs() < 3.5) {
            // (projection, token) by a comparison sort.
            let mut sorted: Vec<(f64, usize)> = p.iter().copied().zip(0..n).collect();
            sorted.sort_unstable_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            sorted.into_iter().map(|(v, i)| (i, v)).unzip()
        } else {
            // Keys: (p + 4) < 8 scaled to the bits above the index; floor is monotone, so
            // different keys are in the order of the projections, and equal keys are re-sorted
            // by the exact projection.
            let scale = ((64 - ib - 3) as f64).exp2();
            let mut keys: Vec<u64> = p
                .iter()
                .enumerate()
                .map(|(i, v)| ((((v + 4.0) * scale) as u64) << ib) | i as u64)
                .collect();
            crate::analysis::radix::sort_above(&mut keys, &mut Vec::new(), ib);
            let mask = (1u64 << ib) - 1;
            let mut order: Vec<usize> = keys.iter().map(|k| (k & mask) as usize).collect();
            let mut a = 0;
            while a < n {
                let mut b = a + 1;
                while b < n && keys[b] >> ib == keys[a] >> ib {
                    b += 1;
                }
                if b - a >= 2 {
                    order[a..b].sort_unstable_by(|&i, &j| p[i].total_cmp(&p[j]).then(i.cmp(&j)));
                }
                a = b;
            }
            let proj = order.iter().map(|&i| p[i]).collect();
            (order, proj)
        };
        ProjectedOrder { order, proj }
    }

    /// [`close_pairs`] of the rows `x` this order was built from.
    pub fn close_pairs(&self, x: &[f64], dim: usize, radius: f64) -> Vec<(usize, usize, f64)> {
        let mut out = Vec::new();
        self.scan(x, dim, radius, |i, j, c| {
            out.push((i.min(j), i.max(j), c));
            ControlFlow::Continue(())
        });
        out
    }

    /// [`has_pair_between`] of the rows `x` this order was built from.
    pub fn has_pair_between(&self, x: &[f64], dim: usize, lo: f64, hi: f64) -> bool {
        let mut found = false;
        self.scan(x, dim, hi, |_, _, c| {
            if c > lo {
                found = true;
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        });
        found
    }

    /// Visit the pairs `(i, j, chord)` of unit rows of `x` closer than the chord `radius` (in
    /// the order of their projections) until `visit` breaks.
    fn scan(
        &self,
        x: &[f64],
        dim: usize,
        radius: f64,
        mut visit: impl FnMut(usize, usize, f64) -> ControlFlow<()>,
    ) {
        let n = self.order.len();
        if n < 2 || radius <= 0.0 {
            return;
        }
        let (order, proj) = (&self.order, &self.proj);
        let r2 = radius * radius;
        // Rounding of the projections: a few eps; widen the window accordingly.
        let window = radius * (1.0 + 1e-12) + 8.0 * f64::EPSILON;
        for (a, &i) in order.iter().enumerate() {
            for (&j, &pj) in order[a + 1..].iter().zip(&proj[a + 1..]) {
                if pj - proj[a] > window {
                    break;
                }
                let c2: f64 = (0..dim)
                    .map(|k| (x[i * dim + k] - x[j * dim + k]).powi(2))
                    .sum();
                if c2 <= r2 && visit(i, j, c2.sqrt()).is_break() {
                    return;
                }
            }
        }
    }
}

/// Groups of `n` items linked (transitively) by `pairs`, each group's indices ascending, groups
/// ordered by their smallest index; `None` when no pair links two items.
pub fn link_groups(n: usize, pairs: &[(usize, usize)]) -> Option<Vec<Vec<usize>>> {
    if pairs.is_empty() {
        return None;
    }
    let mut parent: Vec<usize> = (0..n).collect();
    fn root(p: &mut [usize], mut i: usize) -> usize {
        while p[i] != i {
            p[i] = p[p[i]];
            i = p[i];
        }
        i
    }
    for &(i, j) in pairs {
        let (ri, rj) = (root(&mut parent, i), root(&mut parent, j));
        if ri != rj {
            parent[ri.max(rj)] = ri.min(rj);
        }
    }
    let mut index = vec![usize::MAX; n];
    let mut groups: Vec<Vec<usize>> = Vec::new();
    for i in 0..n {
        let r = root(&mut parent, i);
        if index[r] == usize::MAX {
            index[r] = groups.len();
            groups.push(Vec::new());
        }
        groups[index[r]].push(i);
    }
    Some(groups)
}

#[cfg(test)]
mod close_pairs_tests {
    use super::close_pairs;

    #[test]
    fn close_pairs_equal_brute_force() {
        // Tokens in tight groups (chords ~1e-7 .. 1e-5, some coincident, ties in the
        // projection) plus isolated ones, d = 2, 3, 5: the pairs within the radius equal the
        // brute-force list (every pair), in the same order after sorting, with the same chords.
        for dim in [2usize, 3, 5] {
            let mut x = Vec::new();
            let mut s = 12345u64;
            let mut rnd = || {
                s = s
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                (s >> 11) as f64 / (1u64 << 53) as f64 - 0.5
            };
            for g in 0..40 {
                let c: Vec<f64> = (0..dim).map(|_| rnd()).collect();
                let spread = [0.0, 1e-7, 1e-6, 1e-5][g % 4];
                for _ in 0..(1 + g % 5) {
                    let mut r: Vec<f64> = c.iter().map(|v| v + spread * rnd()).collect();
                    let norm = r.iter().map(|a| a * a).sum::<f64>().sqrt();
                    r.iter_mut().for_each(|a| *a /= norm);
                    x.extend(r);
                }
            }
            let n = x.len() / dim;
            let radius = 1e-6;
            let mut fast = close_pairs(&x, dim, radius);
            let mut brute = Vec::new();
            for i in 0..n {
                for j in i + 1..n {
                    let c2: f64 = (0..dim)
                        .map(|k| (x[i * dim + k] - x[j * dim + k]).powi(2))
                        .sum();
                    if c2 <= radius * radius {
                        brute.push((i, j, c2.sqrt()));
                    }
                }
            }
            fast.sort_by_key(|a| (a.0, a.1));
            assert!(!brute.is_empty(), "d = {dim}: nothing to compare");
            assert_eq!(fast, brute, "d = {dim}");
        }
    }
}

#[cfg(test)]
mod merge_check_tests {
    use super::{has_pair_between, link_groups, merge_check};

    /// Brute force: every pair.
    fn brute(x: &[f64], dim: usize, r: f64, close: f64) -> (Option<Vec<Vec<usize>>>, bool) {
        let n = x.len() / dim;
        let mut pairs = Vec::new();
        let mut collapsing = false;
        for i in 0..n {
            for j in i + 1..n {
                let c2: f64 = (0..dim)
                    .map(|k| (x[i * dim + k] - x[j * dim + k]).powi(2))
                    .sum();
                if c2 <= r * r {
                    pairs.push((i, j));
                }
                if c2 <= close * close && c2.sqrt() > r {
                    collapsing = true;
                }
            }
        }
        (link_groups(n, &pairs), collapsing)
    }

    #[test]
    fn merge_check_equals_brute_force() {
        // Coincident copies (ties of the projections: the radix keys' exact re-sort), pairs at
        // chords around the merge radius and the collapsing chord, antipodal tokens, tiny N.
        let mut s = 777u64;
        let mut rnd = || {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (s >> 11) as f64 / (1u64 << 53) as f64 - 0.5
        };
        for dim in [2usize, 3, 4] {
            for n0 in [0usize, 1, 2, 300, 1500] {
                let mut x = Vec::new();
                for i in 0..n0 {
                    let mut r: Vec<f64> = (0..dim).map(|_| rnd()).collect();
                    let norm = r.iter().map(|a| a * a).sum::<f64>().sqrt();
                    r.iter_mut().for_each(|a| *a /= norm);
                    x.extend_from_slice(&r);
                    match i % 11 {
                        0 => x.extend_from_slice(&r),
                        1 => x.extend(r.iter().map(|a| -a)),
                        2 | 3 => {
                            let eps = if i % 11 == 2 { 1e-15 } else { 3e-7 };
                            let mut q: Vec<f64> = r.iter().map(|a| a + eps * rnd()).collect();
                            let norm = q.iter().map(|a| a * a).sum::<f64>().sqrt();
                            q.iter_mut().for_each(|a| *a /= norm);
                            x.extend(q);
                        }
                        _ => {}
                    }
                }
                let r = 16.0 * f64::EPSILON;
                let close = 1e-6;
                let (groups, collapsing) = brute(&x, dim, r, close);
                let m = merge_check(&x, dim, r, close);
                assert_eq!(m.groups, groups, "d = {dim}, n0 = {n0}");
                let want = if groups.is_some() {
                    None
                } else {
                    Some(collapsing)
                };
                assert_eq!(m.collapsing, want, "d = {dim}, n0 = {n0}");
                assert_eq!(has_pair_between(&x, dim, r, close), collapsing);
                if n0 >= 300 {
                    assert!(
                        groups.is_some() && collapsing,
                        "d = {dim}: nothing to compare"
                    );
                }
                // Without coincident tokens: the collapsing answer from the same sort.
                let y: Vec<f64> = x
                    .chunks_exact(dim)
                    .enumerate()
                    .filter(|(i, _)| {
                        !groups
                            .as_ref()
                            .is_some_and(|g| g.iter().any(|g| g.len() > 1 && g[1..].contains(i)))
                    })
                    .flat_map(|(_, r)| r.to_vec())
                    .collect();
                let (g2, c2) = brute(&y, dim, r, close);
                let m2 = merge_check(&y, dim, r, close);
                assert_eq!(m2.groups, g2);
                if g2.is_none() {
                    assert_eq!(m2.collapsing, Some(c2), "d = {dim}, n0 = {n0}");
                }
            }
        }
    }
}
