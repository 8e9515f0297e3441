//! Many small token systems integrated together, one system per SIMD lane (structure of arrays
//! across systems), for ensembles of small systems such as the `compare phase` experiment.
//!
//! A group holds `W` systems of the same size `N`, dimension `d`, `beta` and model; every array
//! is stored lane-interleaved (`a[idx * W + lane]`, `idx = i * d + k`), so the `N(N-1)/2` pair
//! interactions of all `W` systems are evaluated with the same vector instructions and no
//! gathers. The field is the exact one of [`super::exact`] (tangential form, scaled kernel
//! `w_ij = 2^(h |x_j - x_i|^2)`, the same exponential [`super::fastexp`]); each pair is
//! evaluated once for both of its rows.
//!
//! Time stepping is the per-system algorithm of [`super::Integrator`], lane for lane: explicit
//! Euler or RK4 with `min(dt, t_stop - t)` steps and renormalisation, or adaptive
//! Dormand–Prince 5(4) with the same initial step, error norm (max over coordinates of the
//! unnormalised increment's error), step factor `0.9 r^(-1/5)` clamped to `[0.2, 5]`, output
//! times hit exactly and the same rule for the step after a shortened one. Each lane has its own
//! step size and time; the lanes advance in lockstep (a lane that has reached the output time
//! waits with a zero step). Results therefore agree with one [`super::Integrator`] per system up
//! to rounding (the summation order differs), and do not depend on the number of threads or on
//! how the systems are grouped: lanes never interact.

// Index loops over lanes are written out so that they vectorise.
#![allow(clippy::needless_range_loop)]

use super::fastexp::exp2_nonpositive;
use super::lanes::Lanes;
use super::StepControl;
use crate::butcher::dopri5::{A as DP_A, B as DP_B, B_HAT as DP_BSTAR};
use crate::{Error, Model, Result};

/// One `f64` lane (portable path: no AVX2 + FMA).
#[derive(Clone, Copy)]
struct One(f64);

impl Lanes for One {
    const W: usize = 1;
    #[inline(always)]
    fn zero() -> Self {
        One(0.0)
    }
    #[inline(always)]
    fn splat(v: f64) -> Self {
        One(v)
    }
    #[inline(always)]
    unsafe fn load(p: *const f64) -> Self {
        unsafe { One(*p) }
    }
    #[inline(always)]
    unsafe fn store(self, p: *mut f64) {
        unsafe { *p = self.0 }
    }
    #[inline(always)]
    fn add(self, o: Self) -> Self {
        One(self.0 + o.0)
    }
    #[inline(always)]
    fn sub(self, o: Self) -> Self {
        One(self.0 - o.0)
    }
    #[inline(always)]
    fn mul(self, o: Self) -> Self {
        One(self.0 * o.0)
    }
    #[inline(always)]
    fn mul_add(self, b: Self, c: Self) -> Self {
        One(self.0 * b.0 + c.0)
    }
    #[inline(always)]
    fn exp2<const CLAMPED: bool>(self) -> Self {
        One(exp2_nonpositive::<false>(self.0))
    }
    #[inline(always)]
    fn sum(self) -> f64 {
        self.0
    }
}

/// The systems of one group and what the integration needs.
pub struct BatchSpec<'a> {
    /// Tokens per system.
    pub n: usize,
    /// Dimension.
    pub dim: usize,
    /// Inverse temperature.
    pub beta: f64,
    /// Model.
    pub model: Model,
    /// Time stepping (as for [`super::Integrator`]).
    pub control: StepControl,
    /// Output times (increasing, the first may be 0).
    pub times: &'a [f64],
}

/// Number of systems integrated together by [`integrate_group`] on this machine (the SIMD
/// width: 4 with AVX2 + FMA, else 1).
pub fn group_width() -> usize {
    if super::fastexp::has_avx2_fma() {
        4
    } else {
        1
    }
}

/// Integrate the systems `x0` (each `N x d` unit rows, row-major; at most [`group_width`] of
/// them) and call `observe(system, time_index, x)` with each system's tokens (row-major) at each
/// output time. `poll` is asked after every lockstep step; `true` abandons the integration with
/// [`Error::Interrupted`].
pub fn integrate_group(
    spec: &BatchSpec,
    x0: &[Vec<f64>],
    poll: &dyn Fn() -> bool,
    observe: &mut dyn FnMut(usize, usize, &[f64]),
) -> Result<()> {
    assert!(!x0.is_empty() && x0.len() <= group_width());
    #[cfg(target_arch = "x86_64")]
    if super::fastexp::has_avx2_fma() {
        // SAFETY: the features were detected.
        return unsafe { group_avx2(spec, x0, poll, observe) };
    }
    group_generic::<One>(spec, x0, poll, observe)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn group_avx2(
    spec: &BatchSpec,
    x0: &[Vec<f64>],
    poll: &dyn Fn() -> bool,
    observe: &mut dyn FnMut(usize, usize, &[f64]),
) -> Result<()> {
    group_generic::<super::lanes::Avx2>(spec, x0, poll, observe)
}

#[inline(always)]
fn group_generic<L: Lanes>(
    spec: &BatchSpec,
    x0: &[Vec<f64>],
    poll: &dyn Fn() -> bool,
    observe: &mut dyn FnMut(usize, usize, &[f64]),
) -> Result<()> {
    // Literal dimensions so that the coordinate loops unroll.
    match spec.dim {
        2 => Group::<L>::new(spec, 2, x0).run(spec, poll, observe),
        3 => Group::<L>::new(spec, 3, x0).run(spec, poll, observe),
        4 => Group::<L>::new(spec, 4, x0).run(spec, poll, observe),
        d => Group::<L>::new(spec, d, x0).run(spec, poll, observe),
    }
}

struct Group<L: Lanes> {
    n: usize,
    d: usize,
    /// Lanes in use (the others repeat the last system and are ignored).
    used: usize,
    hb: f64,
    usa: bool,
    x: Vec<f64>,
    v: Vec<f64>,
    stages: Vec<Vec<f64>>,
    tmp: Vec<f64>,
    trial: Vec<f64>,
    sums: Vec<f64>,
    t: Vec<f64>,
    h: Vec<f64>,
    h_next: Vec<f64>,
    _l: std::marker::PhantomData<L>,
}

impl<L: Lanes> Group<L> {
    #[inline(always)]
    fn new(spec: &BatchSpec, d: usize, x0: &[Vec<f64>]) -> Self {
        let w = L::W;
        let n = spec.n;
        let len = n * d * w;
        let mut x = vec![0.0; len];
        for l in 0..w {
            let src = &x0[l.min(x0.len() - 1)];
            for idx in 0..n * d {
                x[idx * w + l] = src[idx];
            }
        }
        Group {
            n,
            d,
            used: x0.len(),
            hb: -spec.beta * std::f64::consts::LOG2_E / 2.0,
            usa: spec.model == Model::Usa,
            x,
            v: vec![0.0; len],
            stages: vec![vec![0.0; len]; 7],
            tmp: vec![0.0; len],
            trial: vec![0.0; len],
            sums: vec![0.0; n * (d + 1) * w],
            t: vec![0.0; w],
            h: vec![0.0; w],
            h_next: vec![0.0; w],
            _l: std::marker::PhantomData,
        }
    }

    /// `v = field(x)` for all lanes.
    #[inline(always)]
    fn eval(&mut self, which: Src, out: Dst) {
        let (n, d, w) = (self.n, self.d, L::W);
        let x: &[f64] = match which {
            Src::X => &self.x,
            Src::Tmp => &self.tmp,
            Src::Trial => &self.trial,
        };
        let s = &mut self.sums;
        s.fill(0.0);
        let hb = L::splat(self.hb);
        let sw = d + 1;
        // SAFETY (loads and stores): every offset `idx * w` is below `len - w + 1`.
        unsafe {
            let xp = x.as_ptr();
            let sp = s.as_mut_ptr();
            for i in 0..n {
                let mut acc = [L::zero(); 9];
                let big = d > 8;
                let mut wsum = L::splat(1.0);
                for j in i + 1..n {
                    let mut q = L::zero();
                    for k in 0..d {
                        let dk =
                            L::load(xp.add((j * d + k) * w)).sub(L::load(xp.add((i * d + k) * w)));
                        q = dk.mul_add(dk, q);
                    }
                    let wt = q.mul(hb).exp2::<true>();
                    wsum = wsum.add(wt);
                    let sj = sp.add(j * sw * w);
                    L::load(sj.add(d * w)).add(wt).store(sj.add(d * w));
                    for k in 0..d {
                        let dk =
                            L::load(xp.add((j * d + k) * w)).sub(L::load(xp.add((i * d + k) * w)));
                        let wd = wt.mul(dk);
                        if big {
                            let si = sp.add((i * sw + k) * w);
                            L::load(si).add(wd).store(si);
                        } else {
                            acc[k] = acc[k].add(wd);
                        }
                        let sjk = sj.add(k * w);
                        L::load(sjk).sub(wd).store(sjk);
                    }
                }
                let si = sp.add(i * sw * w);
                if !big {
                    for k in 0..d {
                        L::load(si.add(k * w)).add(acc[k]).store(si.add(k * w));
                    }
                }
                L::load(si.add(d * w)).add(wsum).store(si.add(d * w));
            }
        }
        let out: &mut [f64] = match out {
            Dst::V => &mut self.v,
            Dst::Stage(k) => &mut self.stages[k],
        };
        let inv_n = 1.0 / n as f64;
        for i in 0..n {
            for l in 0..w {
                let sr = |k: usize| s[(i * sw + k) * w + l];
                let scale = if self.usa { inv_n } else { 1.0 / sr(d) };
                let mut radial = 0.0;
                for k in 0..d {
                    radial += sr(k) * scale * x[(i * d + k) * w + l];
                }
                for k in 0..d {
                    let idx = (i * d + k) * w + l;
                    out[idx] = sr(k) * scale - radial * x[idx];
                }
            }
        }
    }

    /// `out = normalise_rows(x + h sum_s coef_s k_s)`, lane `l` with its step `h[l]`.
    #[inline(always)]
    fn combine(&mut self, into_trial: bool, coef: &[f64], from_v: bool) {
        let (n, d, w) = (self.n, self.d, L::W);
        let out = if into_trial {
            &mut self.trial
        } else {
            &mut self.tmp
        };
        // SAFETY: offsets below `len`, `h` has `w` entries.
        unsafe {
            let h = L::load(self.h.as_ptr());
            for i in 0..n {
                let mut norm = L::zero();
                for k in 0..d {
                    let idx = (i * d + k) * w;
                    let mut inc = L::zero();
                    for (s, c) in coef.iter().enumerate() {
                        if *c != 0.0 {
                            let kv = if from_v { &self.v } else { &self.stages[s] };
                            inc = L::splat(*c).mul_add(L::load(kv.as_ptr().add(idx)), inc);
                        }
                    }
                    let val = h.mul_add(inc, L::load(self.x.as_ptr().add(idx)));
                    norm = val.mul_add(val, norm);
                    val.store(out.as_mut_ptr().add(idx));
                }
                let mut nb = [0.0; 8];
                norm.store(nb.as_mut_ptr());
                for l in 0..w {
                    nb[l] = 1.0 / nb[l].sqrt();
                }
                let inv = L::load(nb.as_ptr());
                for k in 0..d {
                    let idx = (i * d + k) * w;
                    let val = L::load(out.as_ptr().add(idx));
                    val.mul(inv).store(out.as_mut_ptr().add(idx));
                }
            }
        }
    }

    fn active(&self, t_stop: f64) -> Vec<bool> {
        self.t
            .iter()
            .map(|&t| t_stop - t > 1e-12 * t_stop.abs().max(1e-300))
            .collect()
    }

    /// Accept the trial state on the lanes of `acc`.
    fn accept(&mut self, acc: &[bool], v_from_stage6: bool) {
        let w = L::W;
        for idx in 0..self.n * self.d {
            for l in 0..w {
                if acc[l] {
                    self.x[idx * w + l] = self.trial[idx * w + l];
                    if v_from_stage6 {
                        self.v[idx * w + l] = self.stages[6][idx * w + l];
                    }
                }
            }
        }
    }

    /// One lockstep step of the fixed-step schemes (`rk4`: RK4, else Euler) towards `t_stop`.
    #[inline(always)]
    fn fixed_step(&mut self, dt: f64, rk4: bool, t_stop: f64, act: &[bool]) {
        let w = L::W;
        for l in 0..w {
            self.h[l] = if act[l] {
                dt.min(t_stop - self.t[l])
            } else {
                0.0
            };
        }
        if rk4 {
            self.stages[0].copy_from_slice(&self.v);
            let plan: [(f64, usize); 3] = [(0.5, 0), (0.5, 1), (1.0, 2)];
            for (s, (c, prev)) in plan.iter().enumerate() {
                let mut coef = [0.0; 4];
                coef[*prev] = *c;
                self.combine(false, &coef, false);
                self.eval(Src::Tmp, Dst::Stage(s + 1));
            }
            self.combine(true, &[1.0 / 6.0, 1.0 / 3.0, 1.0 / 3.0, 1.0 / 6.0], false);
        } else {
            self.combine(true, &[1.0], true);
        }
        self.accept(act, false);
        self.eval(Src::X, Dst::V);
        for l in 0..w {
            self.t[l] += self.h[l];
        }
    }

    /// One lockstep Dormand–Prince attempt on the active lanes; accepted lanes advance.
    #[inline(always)]
    fn dp_attempt(&mut self, tol: f64, t_stop: f64, act: &[bool]) -> Result<()> {
        let (n, d, w) = (self.n, self.d, L::W);
        for l in 0..w {
            if !act[l] {
                self.h[l] = 0.0;
                continue;
            }
            let span = t_stop - self.t[l];
            if self.h_next[l] <= 0.0 {
                let mut vmax: f64 = 0.0;
                for i in 0..n {
                    let r: f64 = (0..d).map(|k| self.v[(i * d + k) * w + l].powi(2)).sum();
                    vmax = vmax.max(r.sqrt());
                }
                let h = if vmax > 0.0 {
                    0.2 * tol.powf(0.2) / vmax
                } else {
                    span
                };
                self.h_next[l] = h.min(span);
            }
            self.h[l] = self.h_next[l].min(span);
        }
        self.stages[0].copy_from_slice(&self.v);
        for s in 1..6 {
            self.combine(false, &DP_A[s], false);
            self.eval(Src::Tmp, Dst::Stage(s));
        }
        self.combine(true, &DP_B[..6], false);
        self.eval(Src::Trial, Dst::Stage(6));
        let mut acc = vec![false; w];
        for l in 0..w {
            if !act[l] {
                continue;
            }
            let h = self.h[l];
            let mut err: f64 = 0.0;
            for idx in 0..n * d {
                let mut e = 0.0;
                for s in 0..6 {
                    e += (DP_B[s] - DP_BSTAR[s]) * self.stages[s][idx * w + l];
                }
                e -= DP_BSTAR[6] * self.stages[6][idx * w + l];
                err = err.max((h * e).abs());
            }
            if !err.is_finite() {
                return Err(Error::Numerical(format!(
                    "the error estimate of a step is not finite at time {}",
                    self.t[l]
                )));
            }
            if h < 1e-300 {
                return Err(Error::Numerical(format!(
                    "the step size underflowed at time {} (the error control cannot be met)",
                    self.t[l]
                )));
            }
            let ratio = err / tol;
            let factor = if ratio > 0.0 {
                (0.9 * ratio.powf(-0.2)).clamp(0.2, 5.0)
            } else {
                5.0
            };
            if ratio <= 1.0 {
                acc[l] = true;
                self.h_next[l] = if h < self.h_next[l] {
                    self.h_next[l]
                } else {
                    h * factor
                };
                self.t[l] += h;
            } else {
                self.h_next[l] = h * factor;
            }
        }
        self.accept(&acc, true);
        Ok(())
    }

    #[inline(always)]
    fn run(
        mut self,
        spec: &BatchSpec,
        poll: &dyn Fn() -> bool,
        observe: &mut dyn FnMut(usize, usize, &[f64]),
    ) -> Result<()> {
        let (n, d, w) = (self.n, self.d, L::W);
        self.eval(Src::X, Dst::V);
        let mut rows = vec![0.0; n * d];
        for (k, &t_stop) in spec.times.iter().enumerate() {
            loop {
                let act = self.active(t_stop);
                if !act.iter().take(self.used).any(|&a| a) {
                    break;
                }
                match spec.control {
                    StepControl::DormandPrince { tol } => self.dp_attempt(tol, t_stop, &act)?,
                    StepControl::Euler { dt } => self.fixed_step(dt, false, t_stop, &act),
                    StepControl::Rk4 { dt } => self.fixed_step(dt, true, t_stop, &act),
                }
                if !self.x.iter().all(|v| v.is_finite()) {
                    return Err(Error::Numerical(format!(
                        "the state is no longer finite before time {t_stop}"
                    )));
                }
                if poll() {
                    return Err(Error::Interrupted(String::new()));
                }
            }
            self.t.iter_mut().for_each(|t| *t = t_stop);
            for l in 0..self.used {
                for idx in 0..n * d {
                    rows[idx] = self.x[idx * w + l];
                }
                observe(l, k, &rows);
            }
        }
        Ok(())
    }
}

#[derive(Clone, Copy)]
enum Src {
    X,
    Tmp,
    Trial,
}

#[derive(Clone, Copy)]
enum Dst {
    V,
    Stage(usize),
}
