//! Linear stability theory of the uniform state (DESIGN.md section 2).
//!
//! # Conventions
//!
//! Tokens on `S^{d-1}`, kernel `K(x,y) = exp(beta <x,y>)`, densities with respect to the
//! uniform probability measure. With `a = (d-2)/2`:
//!
//! - Funk–Hecke eigenvalue of `f -> K*f` on degree-`l` harmonics:
//!   `lambda_l = Gamma(d/2) (2/beta)^a I_{l+a}(beta)` (`d = 2`: `lambda_l = I_l(beta)`).
//! - Growth rate of a degree-`l` perturbation (physical time `t`):
//!   USA `gamma_l = l(l+d-2) lambda_l / beta`, SA `gamma_l = l(l+d-2) lambda_l / (beta lambda_0)`.
//! - Scaled time ([`TimeUnit::Scaled`]): `tau = e^beta t` for USA, so the USA rate per unit `tau`
//!   is `gamma_l e^{-beta}`; SA rates are identical in both time units.
//! - Dominant degree `l* = argmax_{l >= 1} gamma_l` (the same for USA and SA, and in both time
//!   units); threshold `beta_k` is where `l*` moves from `k` to `k+1`, the root of
//!   `gamma_k(beta) = gamma_{k+1}(beta)`.
//!
//! # Numerics
//!
//! Everything is computed in log space from [`crate::special::bessel`], whose `ln I_nu` is carried
//! in double-double; `ln Gamma(d/2)` is an exact product (`(d/2 - 1)!` or
//! `sqrt(pi) prod (k + 1/2)`) and `a ln(2/beta)` a double-double logarithm, so the large terms of
//! `ln lambda_l` (which nearly cancel for small `beta` in high dimension) cancel exactly and the
//! results carry about one ulp of error. SA rates use `ln I_{l+a} - ln I_a` (the prefactor
//! cancels). Nothing overflows: logs are finite for every `l`, `beta`, `d` in range, and rates
//! are `exp` of the double-double logarithm, returned where they are a normal f64.
//!
//! Measured against mpmath at 40 digits (`scripts/reference_linear.py`,
//! `tests/linear_theory.rs`; `d in {2,3,4,5,8,16,33,64,1024}`, `beta in [1e-3, 1e4]`,
//! `l in [0, 2000]`, USA/SA, physical/scaled): `|error of ln gamma_l| <= 3.6e-15` for
//! `d <= 64` and never above 2 ulp of the value (where `|ln gamma_l| > 2048`, one ulp exceeds
//! 1e-12); relative error of `gamma_l` and of `e^{-beta} lambda_l` `<= 3e-16` wherever they are
//! normal f64; thresholds `beta_k` to `<= 3.3e-15` relative (k <= 100).
//!
//! Input contract: `beta` in `[1e-100, 1e100]` (tested on `[1e-3, 1e4]` here and the Bessel
//! functions on `[1e-6, 1e5]`), `2 <= dim <= 1e8`; functions returning f64 give NaN outside it,
//! [`dominant_degree`] gives 0. User-facing checks with
//! messages: [`check_beta`], [`check_dim`], [`check_degree`].

use crate::error::{Error, Result};
use crate::model::{Model, TimeUnit};
use crate::special::bessel::{bessel_i_ratio, ln_bessel_i_dd, ln_bessel_i_orders_dd};
use crate::special::dd::{Dd, DdExp, LN_SQRT_PI};

/// Largest degree `l` supported by the linear theory.
pub const MAX_DEGREE: usize = 2000;
/// Largest ambient dimension `d` accepted.
pub const MAX_DIM: usize = 1024;
/// Smallest inverse temperature accepted by [`check_beta`].
pub const MIN_BETA: f64 = 1e-6;
/// Largest inverse temperature accepted by [`check_beta`] (the Bessel functions are verified
/// against mpmath up to this argument).
pub const MAX_BETA: f64 = 1e5;

/// Check `beta` for the linear theory: finite, in `[MIN_BETA, MAX_BETA]`; error names `beta`.
pub fn check_beta(beta: f64) -> Result<f64> {
    if beta.is_finite() && (MIN_BETA..=MAX_BETA).contains(&beta) {
        Ok(beta)
    } else {
        Err(Error::parameter(
            "beta",
            beta,
            format!("a finite number in [{MIN_BETA:e}, {MAX_BETA:e}]"),
        ))
    }
}

/// Check the ambient dimension: an integer in `[2, MAX_DIM]`; error names `dim`.
pub fn check_dim(dim: i64) -> Result<usize> {
    if (2..=MAX_DIM as i64).contains(&dim) {
        Ok(dim as usize)
    } else {
        Err(Error::parameter(
            "dim",
            dim,
            format!("an integer in [2, {MAX_DIM}]"),
        ))
    }
}

/// Check a largest degree: an integer in `[0, MAX_DEGREE]`; error names `lmax`.
pub fn check_degree(lmax: i64) -> Result<usize> {
    if (0..=MAX_DEGREE as i64).contains(&lmax) {
        Ok(lmax as usize)
    } else {
        Err(Error::parameter(
            "lmax",
            lmax,
            format!("an integer in [0, {MAX_DEGREE}]"),
        ))
    }
}

/// Bessel order offset `a = (d-2)/2`.
fn order_offset(dim: usize) -> f64 {
    (dim as f64 - 2.0) / 2.0
}

/// Inside the domain of the Bessel routines (`x in [1e-100, 1e100]`, order `<= 1e8`).
fn valid(beta: f64, dim: usize) -> bool {
    (1e-100..=1e100).contains(&beta) && (2..=100_000_000).contains(&dim)
}

/// `ln Gamma(d/2)` in double-double, from the exact products
/// `Gamma(n+1) = n!` (d even) and `Gamma(n+1/2) = sqrt(pi) prod_{k<n} (k+1/2)` (d odd).
fn ln_gamma_half_dim(dim: usize) -> Dd {
    let mut prod = DdExp::one();
    if dim.is_multiple_of(2) {
        for k in 2..dim / 2 {
            prod.mul_f(k as f64);
        }
        prod.ln()
    } else {
        for k in 0..(dim - 1) / 2 {
            prod.mul_f(k as f64 + 0.5);
        }
        prod.ln().add(LN_SQRT_PI)
    }
}

/// `ln(Gamma(d/2) (2/beta)^a)` in double-double.
fn ln_prefactor(beta: f64, dim: usize) -> Dd {
    let a = order_offset(dim);
    let ln_half_beta = Dd::from(beta * 0.5).ln();
    ln_gamma_half_dim(dim).sub(ln_half_beta.mul_f(a))
}

/// `ln(l(l+d-2))` in double-double (`l >= 1`; the product is exact below 2^53).
fn ln_laplacian_eigenvalue(l: usize, dim: usize) -> Dd {
    let lf = l as f64;
    Dd::from(lf).mul_f(lf + dim as f64 - 2.0).ln()
}

/// The `l`-independent parts of `ln gamma_l` for one `(beta, d, model, time)`.
struct RateContext {
    beta: f64,
    dim: usize,
    model: Model,
    time: TimeUnit,
    /// `ln(Gamma(d/2) (2/beta)^a)` (USA only).
    ln_prefactor: Dd,
    /// `ln I_a(beta)` (SA only).
    ln_i_0: Dd,
    /// `ln beta`.
    ln_beta: Dd,
}

impl RateContext {
    fn new(beta: f64, dim: usize, model: Model, time: TimeUnit) -> RateContext {
        let (ln_prefactor, ln_i_0) = match model {
            Model::Usa => (ln_prefactor(beta, dim), Dd::from(0.0)),
            Model::Sa => (Dd::from(0.0), ln_bessel_i_dd(order_offset(dim), beta)),
        };
        RateContext {
            beta,
            dim,
            model,
            time,
            ln_prefactor,
            ln_i_0,
            ln_beta: Dd::from(beta).ln(),
        }
    }

    /// `ln gamma_l` from `ln I_{l+a}(beta)` (double-double), `l >= 1`.
    fn ln_rate(&self, l: usize, ln_i_l: Dd) -> Dd {
        let base = ln_laplacian_eigenvalue(l, self.dim).sub(self.ln_beta);
        match self.model {
            Model::Usa => {
                let v = base.add(self.ln_prefactor).add(ln_i_l);
                match self.time {
                    TimeUnit::Physical => v,
                    TimeUnit::Scaled => v.add_f(-self.beta),
                }
            }
            Model::Sa => base.add(ln_i_l).sub(self.ln_i_0),
        }
    }
}

/// `ln lambda_l(beta, d)`, `lambda_l = Gamma(d/2) (2/beta)^{(d-2)/2} I_{l+(d-2)/2}(beta)`
/// (kernel `exp(beta <x,y>)`, physical units). Finite for every `l`; NaN for invalid input.
pub fn ln_funk_hecke_eigenvalue(l: usize, beta: f64, dim: usize) -> f64 {
    if !valid(beta, dim) {
        return f64::NAN;
    }
    ln_prefactor(beta, dim)
        .add(ln_bessel_i_dd(l as f64 + order_offset(dim), beta))
        .to_f64()
}

/// `e^{-beta} lambda_l(beta, d)`: the Funk–Hecke eigenvalue of the scaled kernel
/// `exp(beta(<x,y> - 1))` used by the solvers (values in `(0, 1]`, relative accuracy a few
/// ulp; 0 where it underflows f64). NaN for invalid input.
pub fn funk_hecke_eigenvalue_scaled(l: usize, beta: f64, dim: usize) -> f64 {
    if !valid(beta, dim) {
        return f64::NAN;
    }
    exp_dd(
        ln_prefactor(beta, dim)
            .add(ln_bessel_i_dd(l as f64 + order_offset(dim), beta))
            .add_f(-beta),
    )
}

/// `e^{-beta} lambda_l(beta, d)` for `l = 0..=lmax` in one pass over the orders (see
/// [`funk_hecke_eigenvalue_scaled`]). Empty for invalid input.
pub fn funk_hecke_eigenvalues_scaled(lmax: usize, beta: f64, dim: usize) -> Vec<f64> {
    if !valid(beta, dim) {
        return Vec::new();
    }
    let pre = ln_prefactor(beta, dim).add_f(-beta);
    ln_bessel_i_orders_dd(order_offset(dim), lmax + 1, beta)
        .into_iter()
        .map(|v| exp_dd(pre.add(v)))
        .collect()
}

/// `exp(hi + lo)` to full relative precision.
fn exp_dd(v: Dd) -> f64 {
    v.hi.exp() * (1.0 + v.lo)
}

/// `ln gamma_l`, the logarithm of the growth rate of a degree-`l` perturbation per unit of the
/// chosen time: `gamma_l = l(l+d-2) lambda_l / beta` (USA), divided by `lambda_0` (SA); scaled
/// time divides the USA rate by `e^beta`. `None` for `l = 0` (rate 0). NaN for invalid input.
pub fn ln_growth_rate(
    l: usize,
    beta: f64,
    dim: usize,
    model: Model,
    time: TimeUnit,
) -> Option<f64> {
    if l == 0 {
        return None;
    }
    if !valid(beta, dim) {
        return Some(f64::NAN);
    }
    Some(ln_growth_rate_dd(l, beta, dim, model, time).to_f64())
}

/// Growth rate `gamma_l` (see [`ln_growth_rate`]); `0` for `l = 0`, `+inf` where it overflows.
/// Relative accuracy a few ulp wherever the rate is a normal f64.
pub fn growth_rate(l: usize, beta: f64, dim: usize, model: Model, time: TimeUnit) -> f64 {
    if l == 0 {
        return 0.0;
    }
    if !valid(beta, dim) {
        return f64::NAN;
    }
    exp_dd(ln_growth_rate_dd(l, beta, dim, model, time))
}

/// `ln gamma_l` in double-double (`l >= 1`, valid input).
fn ln_growth_rate_dd(l: usize, beta: f64, dim: usize, model: Model, time: TimeUnit) -> Dd {
    let ctx = RateContext::new(beta, dim, model, time);
    ctx.ln_rate(l, ln_bessel_i_dd(l as f64 + order_offset(dim), beta))
}

/// One degree of the linear spectrum.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Mode {
    /// Degree `l`.
    pub l: usize,
    /// `ln lambda_l` (Funk–Hecke eigenvalue, physical kernel `exp(beta <x,y>)`).
    pub log_lambda: f64,
    /// `gamma_l` per unit of the chosen time; `Some(0.0)` for `l = 0`; `None` where `gamma_l` is
    /// not a normal f64 (`exp` of `log_rate` overflows, or falls below `f64::MIN_POSITIVE`).
    pub rate: Option<f64>,
    /// `ln gamma_l`; `None` for `l = 0` (rate 0).
    pub log_rate: Option<f64>,
}

/// The spectrum `l = 0..=lmax`: `ln lambda_l`, `gamma_l`, `ln gamma_l` for one model and time
/// unit (conventions in the module docs). One pass over the orders `a, a+1, ..., a+lmax`
/// (a few microseconds per degree; `benches/bessel_linear.rs`). Empty for invalid `beta` or
/// `dim`.
pub fn spectrum(lmax: usize, beta: f64, dim: usize, model: Model, time: TimeUnit) -> Vec<Mode> {
    if !valid(beta, dim) {
        return Vec::new();
    }
    let a = order_offset(dim);
    let ln_i = ln_bessel_i_orders_dd(a, lmax + 1, beta);
    let pre = ln_prefactor(beta, dim);
    let ctx = RateContext::new(beta, dim, model, time);
    ln_i.iter()
        .enumerate()
        .map(|(l, &ln_i_l)| {
            let log_lambda = pre.add(ln_i_l).to_f64();
            if l == 0 {
                return Mode {
                    l,
                    log_lambda,
                    rate: Some(0.0),
                    log_rate: None,
                };
            }
            let lr_dd = ctx.ln_rate(l, ln_i_l);
            let lr = lr_dd.to_f64();
            let r = exp_dd(lr_dd);
            Mode {
                l,
                log_lambda,
                rate: (r.is_finite() && r >= f64::MIN_POSITIVE).then_some(r),
                log_rate: Some(lr),
            }
        })
        .collect()
}

/// `ln(gamma_{l+1} / gamma_l) = ln[(l+1)(l+d-1) / (l(l+d-2))] + ln(I_{l+1+a}(beta)/I_{l+a}(beta))`
/// (`l >= 1`), strictly decreasing in `l` (both factors decrease), so `gamma_l` is unimodal.
fn ln_rate_step(l: usize, beta: f64, dim: usize) -> f64 {
    let (lf, d) = (l as f64, dim as f64);
    let poly = ((2.0 * lf + d - 1.0) / (lf * (lf + d - 2.0))).ln_1p();
    poly + bessel_i_ratio(lf + order_offset(dim), beta).ln()
}

/// Dominant degree `l* = argmax_{l >= 1} gamma_l` (the same for USA and SA): the smallest
/// `l >= 1` with `gamma_{l+1} <= gamma_l`. Found by a galloping + bisection search on the
/// sign of `ln(gamma_{l+1}/gamma_l)`, started at [`dominant_degree_asymptote`]; `O(log l*)`
/// ratio evaluations. At `beta = beta_k` exactly the smaller degree `k` is returned.
/// Returns 0 for invalid input.
pub fn dominant_degree(beta: f64, dim: usize) -> usize {
    if !valid(beta, dim) {
        return 0;
    }
    let grows = |l: usize| ln_rate_step(l, beta, dim) > 0.0;
    let guess = (dominant_degree_asymptote(beta, dim).round() as usize).max(1);
    // invariant: lo == 0 or grows(lo); !grows(hi)
    let (mut lo, mut hi);
    if grows(guess) {
        lo = guess;
        let mut step = 1;
        hi = lo + step;
        while grows(hi) {
            lo = hi;
            step *= 2;
            hi = lo + step;
        }
    } else {
        hi = guess;
        let mut step = 1;
        loop {
            if hi <= step {
                lo = 0;
                break;
            }
            lo = hi - step;
            if grows(lo) {
                break;
            }
            hi = lo;
            step *= 2;
        }
    }
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if grows(mid) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    hi
}

/// Large-`beta` asymptote of the dominant degree, `l* ~ sqrt(2 beta + a^2) - a`,
/// `a = (d-2)/2` (`sqrt(2 beta)` on the circle), evaluated as `2 beta / (sqrt(2 beta + a^2) + a)`.
/// From `ln I_nu(beta) ~ beta - nu^2/(2 beta)`: maximising `ln((l+a)^2 - a^2) - (l+a)^2/(2 beta)`.
pub fn dominant_degree_asymptote(beta: f64, dim: usize) -> f64 {
    let a = order_offset(dim);
    2.0 * beta / ((2.0 * beta + a * a).sqrt() + a)
}

/// `beta_k`, the inverse temperature at which `l*` moves from `k` to `k+1` (`k >= 1`): the root
/// of `I_{k+1+a}(beta)/I_{k+a}(beta) = k(k+d-2)/((k+1)(k+d-1))`, i.e. `gamma_k = gamma_{k+1}`.
/// The ratio increases strictly from 0 to 1 in `beta`, so the root is unique; it is bracketed
/// from the estimate `beta ~ 2 c rho / (1 - rho^2)`, `c = k + a + 1` and refined by Brent's
/// method in `ln beta` to ~1e-15 relative (limited by the ratio's ~1e-15 accuracy divided by
/// the slope of `ln` ratio in `ln beta`, about `1/k`). NaN for `k = 0` or `dim < 2`.
pub fn threshold(k: usize, dim: usize) -> f64 {
    if k == 0 || dim < 2 {
        return f64::NAN;
    }
    let (kf, d) = (k as f64, dim as f64);
    let nu = kf + order_offset(dim);
    // ln rho_k, rho_k = 1 - (2k+d-1)/((k+1)(k+d-1))
    let gap = (2.0 * kf + d - 1.0) / ((kf + 1.0) * (kf + d - 1.0));
    let ln_rho = (-gap).ln_1p();
    let rho = ln_rho.exp();
    let h = |t: f64| bessel_i_ratio(nu, t.exp()).ln() - ln_rho;
    let est = 2.0 * (nu + 1.0) * rho / (gap * (1.0 + rho));
    let (mut lo, mut hi) = ((est / 4.0).ln(), (est * 4.0).ln());
    let (mut f_lo, mut f_hi) = (h(lo), h(hi));
    while f_lo > 0.0 {
        lo -= 2.0;
        f_lo = h(lo);
    }
    while f_hi < 0.0 {
        hi += 2.0;
        f_hi = h(hi);
    }
    brent(h, lo, hi, f_lo, f_hi, 1e-15).exp()
}

/// `beta_k` for `k = 1..=count` (see [`threshold`]).
pub fn thresholds(count: usize, dim: usize) -> Vec<f64> {
    (1..=count).map(|k| threshold(k, dim)).collect()
}

/// Brent's root finder (inverse quadratic interpolation + bisection) on a bracket
/// `[a, b]` with `f(a) f(b) <= 0`, to absolute tolerance `tol` in the variable.
pub(crate) fn brent(f: impl Fn(f64) -> f64, a: f64, b: f64, fa: f64, fb: f64, tol: f64) -> f64 {
    let (mut a, mut b, mut fa, mut fb) = (a, b, fa, fb);
    let (mut c, mut fc) = (a, fa);
    let mut d = b - a;
    let mut e = d;
    for _ in 0..200 {
        if (fb > 0.0) == (fc > 0.0) {
            c = a;
            fc = fa;
            d = b - a;
            e = d;
        }
        if fc.abs() < fb.abs() {
            a = b;
            b = c;
            c = a;
            fa = fb;
            fb = fc;
            fc = fa;
        }
        let tol1 = 2.0 * f64::EPSILON * b.abs() + 0.5 * tol;
        let xm = 0.5 * (c - b);
        if xm.abs() <= tol1 || fb == 0.0 {
            return b;
        }
        if e.abs() >= tol1 && fa.abs() > fb.abs() {
            let s = fb / fa;
            let (mut p, mut q);
            if a == c {
                p = 2.0 * xm * s;
                q = 1.0 - s;
            } else {
                let qq = fa / fc;
                let r = fb / fc;
                p = s * (2.0 * xm * qq * (qq - r) - (b - a) * (r - 1.0));
                q = (qq - 1.0) * (r - 1.0) * (s - 1.0);
            }
            if p > 0.0 {
                q = -q;
            }
            p = p.abs();
            let min1 = 3.0 * xm * q - (tol1 * q).abs();
            let min2 = (e * q).abs();
            if 2.0 * p < min1.min(min2) {
                e = d;
                d = p / q;
            } else {
                d = xm;
                e = d;
            }
        } else {
            d = xm;
            e = d;
        }
        a = b;
        fa = fb;
        b += if d.abs() > tol1 { d } else { tol1.copysign(xm) };
        fb = f(b);
    }
    b
}
