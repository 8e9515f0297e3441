//! Many small token systems integrated together, one system per SIMD lane (structure of arrays
//! across systems), for ensembles of small systems such as the `compare phase` experiment.
//!
//! A group holds `W` systems of the same size `N`, dimension `d`, `beta` and model (`W` = 8
//! with AVX-512F, 4 with AVX2 + FMA, 1 on the portable path; chosen at run time by
//! [`SimdPath::detect`]); every array is stored lane-interleaved (`a[idx * W + lane]`,
//! `idx = i * d + k`), so the `N(N-1)/2` pair interactions of all `W` systems are evaluated
//! with the same vector instructions and no gathers. The field is the exact one of
//! [`super::exact`] (tangential form, scaled kernel `w_ij = 2^(h |x_j - x_i|^2)`, the same
//! exponential [`super::fastexp`]); each pair's exponential is evaluated once for both of its
//! rows (the SA normalisations differ per row, the weights do not).
//!
//! Time stepping is the per-system algorithm of [`super::Integrator`], lane for lane: explicit
//! Euler or RK4 with `min(dt, t_stop - t)` steps and renormalisation, or adaptive
//! Dormand–Prince 5(4) with the same initial step, error norm (max over coordinates of the
//! unnormalised increment's error), step factor `0.9 r^(-1/5)` clamped to `[0.2, 5]`, output
//! times hit exactly and the same rule for the step after a shortened one. Each lane has its own
//! step size, time and next output time: a lane that reaches an output time is observed and
//! goes on towards the next one while the others are still stepping (lanes wait, with a zero
//! step, only at the end). The lanes advance in lockstep, every lane with the same operations,
//! so the AVX-512 and AVX2 paths give the same bits, and results agree with one
//! [`super::Integrator`] per system up to rounding (the summation order differs); they do not
//! depend on the number of threads or on how the systems are grouped: lanes never interact.
//! The per-lane scalar parts (projection, error norm, accepting a step) are lane-innermost
//! loops of fixed length, which the compiler vectorises; nothing is allocated per step.

// Index loops over lanes are written out so that they vectorise.
#![allow(clippy::needless_range_loop)]

use super::fastexp::exp2_product;
use super::StepControl;
use crate::butcher::dopri5::{A as DP_A, B as DP_B, B_HAT as DP_BSTAR};
use crate::spectral::simd::Lanes;
use crate::spectral::simd::SimdPath;
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
    fn load(s: &[f64]) -> Self {
        One(s[0])
    }
    #[inline(always)]
    fn store(self, s: &mut [f64]) {
        s[0] = self.0;
    }
    #[inline(always)]
    unsafe fn load_ptr(p: *const f64) -> Self {
        unsafe { One(*p) }
    }
    #[inline(always)]
    unsafe fn store_ptr(self, p: *mut f64) {
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
    fn mul_sub(self, b: Self, c: Self) -> Self {
        One(self.0 * b.0 - c.0)
    }
    #[inline(always)]
    fn select_eq(key: Self, probe: Self, yes: Self, no: Self) -> Self {
        if key.0 == probe.0 {
            yes
        } else {
            no
        }
    }
    #[inline(always)]
    fn exp2_product<const CLAMPED: bool>(self, h: Self) -> Self {
        One(exp2_product::<false>(self.0, h.0))
    }
    #[inline(always)]
    fn sum(self) -> f64 {
        self.0
    }
    #[inline(always)]
    fn sum_in_order(self) -> f64 {
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

/// Number of systems integrated together by [`integrate_group`] on this machine: the SIMD
/// width of [`SimdPath::detect`] (8 with AVX-512F, 4 with AVX2 + FMA, else 1).
pub fn group_width() -> usize {
    group_width_on(SimdPath::detect())
}

/// Number of systems integrated together on the instruction set `path` (8, 4 or 1).
pub fn group_width_on(path: SimdPath) -> usize {
    match effective(path) {
        SimdPath::Avx512 => 8,
        SimdPath::Avx2Fma => 4,
        SimdPath::Portable => 1,
    }
}

/// The path actually used for `path`: AVX-512 also needs AVX2 + FMA (for the scalar parts of
/// the kernels), and a path the processor lacks falls back to the next narrower one.
fn effective(path: SimdPath) -> SimdPath {
    let avx2 = SimdPath::Avx2Fma.is_available();
    match path {
        SimdPath::Avx512 if avx2 && SimdPath::Avx512.is_available() => SimdPath::Avx512,
        SimdPath::Avx512 | SimdPath::Avx2Fma if avx2 => SimdPath::Avx2Fma,
        _ => SimdPath::Portable,
    }
}

/// What a group reports at each output time.
enum Observe<'a> {
    /// Each system's tokens (row-major).
    Rows(&'a mut dyn FnMut(usize, usize, &[f64])),
    /// Each system's fraction of pairs `i < j` with `<x_i, x_j> > 1 - eps`.
    PairFraction(f64, &'a mut dyn FnMut(usize, usize, f64)),
}

/// Integrate the systems `x0` (each `N x d` unit rows, row-major; at most [`group_width`] of
/// them) and call `observe(system, time_index, x)` with each system's tokens (row-major) at each
/// output time (for each system in increasing time; the systems in no particular order).
/// `poll` is asked after every lockstep step; `true` abandons the integration with
/// [`Error::Interrupted`].
pub fn integrate_group(
    spec: &BatchSpec,
    x0: &[Vec<f64>],
    poll: &dyn Fn() -> bool,
    observe: &mut dyn FnMut(usize, usize, &[f64]),
) -> Result<()> {
    integrate_group_on(SimdPath::detect(), spec, x0, poll, observe)
}

/// [`integrate_group`] on the instruction set `path` (at most [`group_width_on`]`(path)`
/// systems). AVX-512 and AVX2 give the same bits (every lane does the same operations); the
/// portable path differs in the last bits (separate multiply and add).
pub fn integrate_group_on(
    path: SimdPath,
    spec: &BatchSpec,
    x0: &[Vec<f64>],
    poll: &dyn Fn() -> bool,
    observe: &mut dyn FnMut(usize, usize, &[f64]),
) -> Result<()> {
    dispatch(path, spec, x0, poll, Observe::Rows(observe))
}

/// Like [`integrate_group_on`], but reports `observe(system, time_index, p)` with the fraction
/// `p` of pairs `i < j` with `<x_i, x_j> > 1 - eps`, computed inside the vectorised kernel; it
/// equals `compare::phase::clustered_pair_fraction` of the tokens bit for bit.
pub fn pair_fractions_on(
    path: SimdPath,
    spec: &BatchSpec,
    x0: &[Vec<f64>],
    eps: f64,
    poll: &dyn Fn() -> bool,
    observe: &mut dyn FnMut(usize, usize, f64),
) -> Result<()> {
    dispatch(path, spec, x0, poll, Observe::PairFraction(eps, observe))
}

fn dispatch(
    path: SimdPath,
    spec: &BatchSpec,
    x0: &[Vec<f64>],
    poll: &dyn Fn() -> bool,
    observe: Observe,
) -> Result<()> {
    let path = effective(path);
    assert!(!x0.is_empty() && x0.len() <= group_width_on(path));
    match path {
        // SAFETY: `effective` checked the features.
        #[cfg(target_arch = "x86_64")]
        SimdPath::Avx512 => unsafe { group_avx512(spec, x0, poll, observe) },
        #[cfg(target_arch = "x86_64")]
        SimdPath::Avx2Fma => unsafe { group_avx2(spec, x0, poll, observe) },
        _ => group_generic::<One>(spec, x0, poll, observe),
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn group_avx2(
    spec: &BatchSpec,
    x0: &[Vec<f64>],
    poll: &dyn Fn() -> bool,
    observe: Observe,
) -> Result<()> {
    group_generic::<crate::spectral::simd::Avx2>(spec, x0, poll, observe)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2,fma")]
unsafe fn group_avx512(
    spec: &BatchSpec,
    x0: &[Vec<f64>],
    poll: &dyn Fn() -> bool,
    observe: Observe,
) -> Result<()> {
    group_generic::<crate::spectral::simd::Avx512>(spec, x0, poll, observe)
}

#[inline(always)]
fn group_generic<L: Lanes>(
    spec: &BatchSpec,
    x0: &[Vec<f64>],
    poll: &dyn Fn() -> bool,
    observe: Observe,
) -> Result<()> {
    // Dimensions as constants (`D`; 0: any, at run time) so that the coordinate loops unroll.
    match spec.dim {
        2 => Group::<L, 2>::new(spec, 2, x0).run(spec, poll, observe),
        3 => Group::<L, 3>::new(spec, 3, x0).run(spec, poll, observe),
        4 => Group::<L, 4>::new(spec, 4, x0).run(spec, poll, observe),
        d => Group::<L, 0>::new(spec, d, x0).run(spec, poll, observe),
    }
}

/// Largest group width (per-lane scalars live in arrays of this size).
const MAX_W: usize = 8;

struct Group<L: Lanes, const D: usize> {
    n: usize,
    /// Dimension (equal to `D` when `D > 0`).
    d: usize,
    hb: f64,
    usa: bool,
    x: Vec<f64>,
    v: Vec<f64>,
    stages: Vec<Vec<f64>>,
    tmp: Vec<f64>,
    trial: Vec<f64>,
    sums: Vec<f64>,
    /// Per lane: time, step, proposed next step, the output time it is heading for, whether
    /// it is still integrating, whether its last attempt was accepted, its error norm.
    t: [f64; MAX_W],
    h: [f64; MAX_W],
    h_next: [f64; MAX_W],
    t_stop: [f64; MAX_W],
    act: [bool; MAX_W],
    acc: [bool; MAX_W],
    err: [f64; MAX_W],
    /// Per lane: index of the next output time (`times.len()` when done; unused lanes start
    /// done).
    next: [usize; MAX_W],
    _l: std::marker::PhantomData<L>,
}

impl<L: Lanes, const D: usize> Group<L, D> {
    /// The dimension, a compile-time constant when `D > 0`.
    #[inline(always)]
    fn dim(&self) -> usize {
        if D > 0 {
            D
        } else {
            self.d
        }
    }

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
        let mut next = [spec.times.len(); MAX_W];
        next[..x0.len()].fill(0);
        Group {
            n,
            d,
            hb: -spec.beta * std::f64::consts::LOG2_E / 2.0,
            usa: spec.model == Model::Usa,
            x,
            v: vec![0.0; len],
            stages: vec![vec![0.0; len]; 7],
            tmp: vec![0.0; len],
            trial: vec![0.0; len],
            sums: vec![0.0; n * (d + 1) * w],
            t: [0.0; MAX_W],
            h: [0.0; MAX_W],
            h_next: [0.0; MAX_W],
            t_stop: [0.0; MAX_W],
            act: [false; MAX_W],
            acc: [false; MAX_W],
            err: [0.0; MAX_W],
            next,
            _l: std::marker::PhantomData,
        }
    }

    /// `v = field(x)` for all lanes.
    #[inline(always)]
    fn eval(&mut self, which: Src, out: Dst) {
        let (n, d, w) = (self.n, self.dim(), L::W);
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
                        let dk = L::load_ptr(xp.add((j * d + k) * w))
                            .sub(L::load_ptr(xp.add((i * d + k) * w)));
                        q = dk.mul_add(dk, q);
                    }
                    let wt = q.exp2_product::<true>(hb);
                    wsum = wsum.add(wt);
                    let sj = sp.add(j * sw * w);
                    L::load_ptr(sj.add(d * w)).add(wt).store_ptr(sj.add(d * w));
                    for k in 0..d {
                        let dk = L::load_ptr(xp.add((j * d + k) * w))
                            .sub(L::load_ptr(xp.add((i * d + k) * w)));
                        let wd = wt.mul(dk);
                        if big {
                            let si = sp.add((i * sw + k) * w);
                            L::load_ptr(si).add(wd).store_ptr(si);
                        } else {
                            acc[k] = acc[k].add(wd);
                        }
                        let sjk = sj.add(k * w);
                        L::load_ptr(sjk).sub(wd).store_ptr(sjk);
                    }
                }
                let si = sp.add(i * sw * w);
                if !big {
                    for k in 0..d {
                        L::load_ptr(si.add(k * w))
                            .add(acc[k])
                            .store_ptr(si.add(k * w));
                    }
                }
                L::load_ptr(si.add(d * w))
                    .add(wsum)
                    .store_ptr(si.add(d * w));
            }
        }
        let out: &mut [f64] = match out {
            Dst::V => &mut self.v,
            Dst::Stage(k) => &mut self.stages[k],
        };
        // Tangential projection, lane-innermost loops of fixed length (they vectorise); per
        // lane the operations of the per-system field, in its order.
        let inv_n = 1.0 / n as f64;
        for i in 0..n {
            let mut scale = [0.0; MAX_W];
            let mut radial = [0.0; MAX_W];
            for l in 0..w {
                scale[l] = if self.usa {
                    inv_n
                } else {
                    1.0 / s[(i * sw + d) * w + l]
                };
            }
            for k in 0..d {
                let (sk, xk) = (&s[(i * sw + k) * w..], &x[(i * d + k) * w..]);
                for l in 0..w {
                    radial[l] += sk[l] * scale[l] * xk[l];
                }
            }
            for k in 0..d {
                let (sk, xk) = (&s[(i * sw + k) * w..], &x[(i * d + k) * w..]);
                let o = &mut out[(i * d + k) * w..];
                for l in 0..w {
                    o[l] = sk[l] * scale[l] - radial[l] * xk[l];
                }
            }
        }
    }

    /// `out = normalise_rows(x + h sum_s coef_s k_s)`, lane `l` with its step `h[l]`.
    #[inline(always)]
    fn combine(&mut self, into_trial: bool, coef: &[f64], from_v: bool) {
        let (n, d, w) = (self.n, self.dim(), L::W);
        let out = if into_trial {
            &mut self.trial
        } else {
            &mut self.tmp
        };
        // SAFETY: offsets below `len`, `h` has at least `w` entries.
        unsafe {
            let h = L::load_ptr(self.h.as_ptr());
            for i in 0..n {
                let mut norm = L::zero();
                for k in 0..d {
                    let idx = (i * d + k) * w;
                    let mut inc = L::zero();
                    for (s, c) in coef.iter().enumerate() {
                        if *c != 0.0 {
                            let kv = if from_v { &self.v } else { &self.stages[s] };
                            inc = L::splat(*c).mul_add(L::load_ptr(kv.as_ptr().add(idx)), inc);
                        }
                    }
                    let val = h.mul_add(inc, L::load_ptr(self.x.as_ptr().add(idx)));
                    norm = val.mul_add(val, norm);
                    val.store_ptr(out.as_mut_ptr().add(idx));
                }
                let mut nb = [0.0; MAX_W];
                norm.store_ptr(nb.as_mut_ptr());
                for l in 0..w {
                    nb[l] = 1.0 / nb[l].sqrt();
                }
                let inv = L::load_ptr(nb.as_ptr());
                for k in 0..d {
                    let idx = (i * d + k) * w;
                    let val = L::load_ptr(out.as_ptr().add(idx));
                    val.mul(inv).store_ptr(out.as_mut_ptr().add(idx));
                }
            }
        }
    }

    /// Accept the trial state on the lanes of `acc` (a lane-innermost select).
    #[inline(always)]
    fn accept(&mut self, v_from_stage6: bool) {
        let w = L::W;
        let acc = self.acc;
        for idx in 0..self.n * self.dim() {
            let (x, tr) = (&mut self.x[idx * w..], &self.trial[idx * w..]);
            for l in 0..w {
                x[l] = if acc[l] { tr[l] } else { x[l] };
            }
            if v_from_stage6 {
                let (v, s6) = (&mut self.v[idx * w..], &self.stages[6][idx * w..]);
                for l in 0..w {
                    v[l] = if acc[l] { s6[l] } else { v[l] };
                }
            }
        }
    }

    /// One lockstep step of the fixed-step schemes (`rk4`: RK4, else Euler), each active lane
    /// towards its output time.
    #[inline(always)]
    fn fixed_step(&mut self, dt: f64, rk4: bool) {
        let w = L::W;
        for l in 0..w {
            self.h[l] = if self.act[l] {
                dt.min(self.t_stop[l] - self.t[l])
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
        self.acc = self.act;
        self.accept(false);
        self.eval(Src::X, Dst::V);
        for l in 0..w {
            self.t[l] += self.h[l];
        }
    }

    /// One lockstep Dormand–Prince attempt on the active lanes, each towards its output time;
    /// accepted lanes advance.
    #[inline(always)]
    fn dp_attempt(&mut self, tol: f64) -> Result<()> {
        let (n, d, w) = (self.n, self.dim(), L::W);
        for l in 0..w {
            if !self.act[l] {
                self.h[l] = 0.0;
                continue;
            }
            let span = self.t_stop[l] - self.t[l];
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
        // Error norm: max over coordinates of |h e|, lane-innermost (vectorises); per lane the
        // operations of the per-system integrator. `m.max(v)` keeps `m` for a NaN `v`, as
        // `f64::max` does.
        let mut err = [0.0f64; MAX_W];
        let h = self.h;
        let eb: [f64; 7] = std::array::from_fn(|s| {
            if s < 6 {
                DP_B[s] - DP_BSTAR[s]
            } else {
                DP_BSTAR[6]
            }
        });
        for idx in 0..n * d {
            let mut e = [0.0f64; MAX_W];
            for s in 0..6 {
                let st = &self.stages[s][idx * w..];
                for l in 0..w {
                    e[l] += eb[s] * st[l];
                }
            }
            let st = &self.stages[6][idx * w..];
            for l in 0..w {
                e[l] -= eb[6] * st[l];
                let v = (h[l] * e[l]).abs();
                err[l] = if v > err[l] { v } else { err[l] };
            }
        }
        self.err = err;
        for l in 0..w {
            self.acc[l] = false;
            if !self.act[l] {
                continue;
            }
            let h = self.h[l];
            let err = self.err[l];
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
                self.acc[l] = true;
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
        self.accept(true);
        Ok(())
    }

    /// Each lane runs through the output times on its own: when it reaches one it is observed
    /// and heads for the next, so no lane waits for the others between output times (only at
    /// the end). Per lane this is the per-system integrator's `advance_to` of every output time.
    #[inline(always)]
    fn run(
        mut self,
        spec: &BatchSpec,
        poll: &dyn Fn() -> bool,
        mut observe: Observe,
    ) -> Result<()> {
        let (n, d, w) = (self.n, self.dim(), L::W);
        let times = spec.times;
        self.eval(Src::X, Dst::V);
        let np = n.div_ceil(BLOCK) * BLOCK;
        let mut rows = vec![0.0; np * d];
        let mut tokens = vec![0.0; n * d];
        loop {
            for l in 0..w {
                while self.next[l] < times.len() {
                    let t_stop = times[self.next[l]];
                    if t_stop - self.t[l] > 1e-12 * t_stop.abs().max(1e-300) {
                        break;
                    }
                    self.t[l] = t_stop;
                    for k in 0..d {
                        for i in 0..n {
                            rows[k * np + i] = self.x[(i * d + k) * w + l];
                        }
                    }
                    match &mut observe {
                        Observe::Rows(f) => {
                            for i in 0..n {
                                for k in 0..d {
                                    tokens[i * d + k] = rows[k * np + i];
                                }
                            }
                            f(l, self.next[l], &tokens)
                        }
                        Observe::PairFraction(eps, f) => {
                            let p = pair_fraction_soa(&rows, n, np, d, 1.0 - *eps);
                            f(l, self.next[l], p)
                        }
                    }
                    self.next[l] += 1;
                }
                self.act[l] = self.next[l] < times.len();
                self.t_stop[l] = if self.act[l] {
                    times[self.next[l]]
                } else {
                    self.t[l]
                };
            }
            if !self.act[..w].iter().any(|&a| a) {
                return Ok(());
            }
            match spec.control {
                StepControl::DormandPrince { tol } => self.dp_attempt(tol)?,
                StepControl::Euler { dt } => self.fixed_step(dt, false),
                StepControl::Rk4 { dt } => self.fixed_step(dt, true),
            }
            if !self.x.iter().all(|v| v.is_finite()) {
                let t = (0..w).map(|l| self.t_stop[l]).fold(0.0, f64::max);
                return Err(Error::Numerical(format!(
                    "the state is no longer finite before time {t}"
                )));
            }
            if poll() {
                return Err(Error::Interrupted(String::new()));
            }
        }
    }
}

/// Block of the pair statistic's columns (one AVX-512 register, two AVX2 ones).
const BLOCK: usize = 8;

/// Fraction of pairs `i < j` with `<x_i, x_j> > thr` of `n` tokens stored by coordinate with
/// row stride `np` (`xs[k * np + i]`, `np` a multiple of [`BLOCK`], zeros beyond `n`). Each
/// dot product is summed over `k` in increasing order from `0.0` like the scalar reference, so
/// it has the same bits, and `<x_i, x_j>` and `<x_j, x_i>` are equal (the products commute):
/// the full matrix is counted in register blocks of `BLOCK` columns, then the diagonal and the
/// padding columns (dot products exactly `0.0`) are taken out and the rest halved.
#[inline(always)]
fn pair_fraction_soa(xs: &[f64], n: usize, np: usize, d: usize, thr: f64) -> f64 {
    if n < 2 {
        return 0.0;
    }
    let (mut all, mut diag) = (0usize, 0usize);
    for i in 0..n {
        for jb in (0..np).step_by(BLOCK) {
            let mut acc = [0.0f64; BLOCK];
            for k in 0..d {
                let a = xs[k * np + i];
                let b = &xs[k * np + jb..k * np + jb + BLOCK];
                for t in 0..BLOCK {
                    acc[t] += a * b[t];
                }
            }
            for t in 0..BLOCK {
                all += usize::from(acc[t] > thr);
            }
        }
        let mut dii = 0.0;
        for k in 0..d {
            dii += xs[k * np + i] * xs[k * np + i];
        }
        diag += usize::from(dii > thr);
    }
    let pad = if 0.0 > thr { n * (np - n) } else { 0 };
    ((all - diag - pad) / 2) as f64 / (n * (n - 1) / 2) as f64
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
