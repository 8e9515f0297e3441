//! Gegenbauer polynomials `C_l^a(t)`, the zonal normalisation `P_l^a(t) = C_l^a(t) / C_l^a(1)`,
//! and the dimension of the spaces of spherical harmonics.
//!
//! Convention: `C_l^a` is the Gegenbauer (ultraspherical) polynomial of DLMF 18.3, orthogonal for
//! the weight `(1 - t^2)^{a - 1/2}` on `[-1, 1]`, with `C_l^a(1) = Gamma(l + 2a) / (Gamma(2a) l!)`.
//! On `S^{d-1}` the zonal harmonics of degree `l` are `C_l^a(<x, e>)` with `a = (d - 2)/2`.
//! For `a = 0` the normalised polynomial is the Chebyshev `T_l` (the limit `a -> 0` of
//! `C_l^a / C_l^a(1)`), while `C_l^0 = 0` for `l >= 1` (DLMF's convention, as in mpmath).
//!
//! Method: the normalised polynomials satisfy
//! `(k + 2a) P_{k+1} = 2 (k + a) t P_k - k P_{k-1}`, `P_0 = 1`, `P_1 = t`,
//! with values in `[-1, 1]` for `|t| <= 1`, `a >= 0`; the recurrence is run forward (the second
//! solution is subdominant there, so it is stable). For `|t| >= 1/2` it is run in Reinsch's
//! difference form in `u = 1 - |t|` (exact), `D_{k+1} = P_{k+1} - P_k`,
//! `(k + 2a) D_{k+1} = k D_k - 2 (k + a) u P_k`, accumulating `P_k - 1` while `P_k > 1/2`, with
//! `P_l(-t) = (-1)^l P_l(t)`: the plain form loses about `l^2 eps` near `t = +-1` (measured
//! `1.5e-11` relative at `l = 100`, `t = 1 - 1e-12`), the difference form keeps the error
//! relative to `u`. Measured against mpmath for `l <= 2000`, `a <= 511`: absolute error below
//! `5e-15` in `P_l` (see `tests/gegenbauer.rs`). Evaluation at floating-point `t` is itself ill
//! conditioned near `t = +-1` (`P_l'(1) = l (l + 2a)/(2a + 1)`), so compare at the same binary `t`.
//!
//! Overflow: `C_l^a(1)` exceeds `f64::MAX` for large `l` and `a` (e.g. `l = 2000`, `a = 511`:
//! `ln C_l^a(1) = 1928.3`). [`gegenbauer`] then returns `+-inf` (exactly where the true value is
//! beyond `f64::MAX`); use the log form [`ln_gegenbauer_at_one`] plus [`gegenbauer_normalized`].

/// Threshold for exponent rescaling in scaled products and recurrences (`2^±600`).
const BIG: f64 = 4.149_515_568_880_993e180; // 2^600
const SMALL: f64 = 2.409_919_865_102_884e-181; // 2^-600

/// `x * 2^e` without intermediate overflow or underflow (exact unless the result is subnormal,
/// zero or infinite).
pub(crate) fn ldexp(mut x: f64, mut e: i64) -> f64 {
    while e > 1000 {
        x *= 2f64.powi(1000);
        e -= 1000;
        if x.is_infinite() || x == 0.0 {
            return x;
        }
    }
    while e < -1000 {
        x *= 2f64.powi(-1000);
        e += 1000;
        if x == 0.0 {
            return x;
        }
    }
    x * 2f64.powi(e as i32)
}

/// A product kept as `mantissa * 2^exponent` so that it never overflows or underflows.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Scaled {
    pub(crate) mantissa: f64,
    pub(crate) exponent: i64,
}

impl Scaled {
    pub(crate) fn one() -> Self {
        Scaled {
            mantissa: 1.0,
            exponent: 0,
        }
    }

    pub(crate) fn mul(&mut self, factor: f64) {
        self.mantissa *= factor;
        let m = self.mantissa.abs();
        if m > BIG {
            self.mantissa *= SMALL;
            self.exponent += 600;
        } else if m < SMALL && m != 0.0 {
            self.mantissa *= BIG;
            self.exponent -= 600;
        }
    }

    pub(crate) fn value(self) -> f64 {
        ldexp(self.mantissa, self.exponent)
    }

    pub(crate) fn ln(self) -> f64 {
        self.mantissa.abs().ln() + self.exponent as f64 * std::f64::consts::LN_2
    }
}

/// `C_l^a(1) = prod_{k=0}^{l-1} (k + 2a)/(k + 1)` as a scaled product (relative error about
/// `sqrt(l)` ulp; `O(l)` work).
pub(crate) fn gegenbauer_at_one_scaled(l: usize, a: f64) -> Scaled {
    let mut p = Scaled::one();
    for k in 0..l {
        let kf = k as f64;
        p.mul((kf + 2.0 * a) / (kf + 1.0));
    }
    p
}

/// `ln C_l^a(1) = ln Gamma(l + 2a) - ln Gamma(2a) - ln l!` (`0` for `l = 0`, `-inf` for `a = 0`,
/// `l >= 1`, where `C_l^0 = 0`). Computed as a product of `l` ratios, so the absolute error is about
/// `sqrt(l)` ulp of 1 plus one ulp of the result, not the cancellation of three log-gammas.
pub fn ln_gegenbauer_at_one(l: usize, a: f64) -> f64 {
    if l == 0 {
        return 0.0;
    }
    if a == 0.0 {
        return f64::NEG_INFINITY;
    }
    if l > 1_000_000 {
        use special::Gamma;
        let lf = l as f64;
        return Gamma::ln_gamma(lf + 2.0 * a).0
            - Gamma::ln_gamma(2.0 * a).0
            - Gamma::ln_gamma(lf + 1.0).0;
    }
    gegenbauer_at_one_scaled(l, a).ln()
}

/// Calls `f(k, m, e)` with `P_k^a(1 - u) = m 2^e` for `k = 0..=n`, by Reinsch's difference form
/// `(k + 2a) D_{k+1} = k D_k - 2 (k + a) u P_k`, `P_{k+1} = P_k + D_{k+1}`, accumulating
/// `S_k = P_k - 1` while `|S_k| <= 1/2` (full relative precision of `1 - P_k` near `u = 0`), then
/// `P_k` with exponent rescaling. Meant for `0 <= u <= 1/2`.
#[inline]
pub(crate) fn for_each_normalized_reinsch(
    n: usize,
    a: f64,
    u: f64,
    mut f: impl FnMut(usize, f64, i64),
) {
    f(0, 1.0, 0);
    if n == 0 {
        return;
    }
    let (mut s, mut d, mut p, mut e) = (-u, -u, 1.0 - u, 0i64);
    let mut near_one = true;
    f(1, p, 0);
    for k in 1..n {
        let kf = k as f64;
        if near_one {
            d = (kf * d - 2.0 * (kf + a) * u * (1.0 + s)) / (kf + 2.0 * a);
            s += d;
            p = 1.0 + s;
            near_one = s.abs() <= 0.5;
        } else {
            d = (kf * d - 2.0 * (kf + a) * u * p) / (kf + 2.0 * a);
            p += d;
            let m = p.abs().max(d.abs());
            if m < SMALL && m != 0.0 {
                p *= BIG;
                d *= BIG;
                e -= 600;
            }
        }
        f(k + 1, p, e);
    }
}

/// Calls `f(k, m, e)` with `P_k^a(t) = m 2^e` for `k = 0..=n`, by the plain recurrence
/// `(k + 2a) P_{k+1} = 2 (k + a) t P_k - k P_{k-1}` with exponent rescaling.
#[inline]
pub(crate) fn for_each_normalized_plain(
    n: usize,
    a: f64,
    t: f64,
    mut f: impl FnMut(usize, f64, i64),
) {
    f(0, 1.0, 0);
    if n == 0 {
        return;
    }
    let (mut p0, mut p1, mut e) = (1.0f64, t, 0i64);
    f(1, p1, 0);
    for k in 1..n {
        let kf = k as f64;
        let p2 = (2.0 * (kf + a) * t * p1 - kf * p0) / (kf + 2.0 * a);
        p0 = p1;
        p1 = p2;
        let m = p1.abs().max(p0.abs());
        if m < SMALL && m != 0.0 {
            p0 *= BIG;
            p1 *= BIG;
            e -= 600;
        }
        f(k + 1, p1, e);
    }
}

/// Below this `|t|` the plain recurrence is used, above it Reinsch's difference form in
/// `u = 1 - |t|` (exact: Sterbenz), which keeps the accuracy relative to `u` near the end points.
pub(crate) const REINSCH_THRESHOLD: f64 = 0.5;

/// `P_l^a(t) = mantissa * 2^exponent` (no overflow or underflow).
fn normalized_scaled(l: usize, a: f64, t: f64) -> Scaled {
    let mut out = Scaled::one();
    let mut store = |_k: usize, m: f64, e: i64| {
        out = Scaled {
            mantissa: m,
            exponent: e,
        }
    };
    if t.abs() >= REINSCH_THRESHOLD {
        for_each_normalized_reinsch(l, a, 1.0 - t.abs(), &mut store);
        if t < 0.0 && l % 2 == 1 {
            out.mantissa = -out.mantissa;
        }
    } else {
        for_each_normalized_plain(l, a, t, &mut store);
    }
    out
}

/// Normalised Gegenbauer polynomial `P_l^a(t) = C_l^a(t) / C_l^a(1)` for `a >= 0`; for `a = 0`
/// the Chebyshev polynomial `T_l(t)` (the limit `a -> 0`). `P_l^a(1) = 1`, `|P_l^a(t)| <= 1` on
/// `[-1, 1]`. On `S^{d-1}` with `a = (d-2)/2`, `P_l^a(<x, y>)` is the normalised zonal harmonic.
/// Values below `f64::MIN_POSITIVE` underflow gracefully (subnormal or zero). Made for
/// `|t| <= 1`; outside, the polynomial grows like `|t|^l` and may overflow to `+-inf`.
pub fn gegenbauer_normalized(l: usize, a: f64, t: f64) -> f64 {
    normalized_scaled(l, a, t).value()
}

/// Fills `out[0..=lmax]` with `P_k^a(t) = C_k^a(t) / C_k^a(1)`, `k = 0..=lmax`, in one pass of
/// the three-term recurrence (no allocation; `T_k` for `a = 0`). Values that fall below
/// `f64::MIN_POSITIVE` lose relative (not absolute) precision.
///
/// # Panics
/// If `out.len() <= lmax`.
pub fn gegenbauer_normalized_all(lmax: usize, a: f64, t: f64, out: &mut [f64]) {
    assert!(
        out.len() > lmax,
        "gegenbauer_normalized_all: out has length {} but lmax = {lmax} needs {}",
        out.len(),
        lmax + 1
    );
    out[0] = 1.0;
    if lmax == 0 {
        return;
    }
    if t.abs() >= REINSCH_THRESHOLD {
        // Reinsch: D_{k+1} = (k D_k - 2 (k + a) u P_k) / (k + 2a), P_{k+1} = P_k + D_{k+1}
        let u = 1.0 - t.abs();
        let flip = t < 0.0;
        let (mut s, mut d, mut p) = (-u, -u, 0.0f64);
        let mut near_one = true;
        out[1] = t;
        for k in 1..lmax {
            let kf = k as f64;
            if near_one {
                d = (kf * d - 2.0 * (kf + a) * u * (1.0 + s)) / (kf + 2.0 * a);
                s += d;
                p = 1.0 + s;
                near_one = s.abs() <= 0.5;
            } else {
                d = (kf * d - 2.0 * (kf + a) * u * p) / (kf + 2.0 * a);
                p += d;
            }
            out[k + 1] = if flip && k % 2 == 0 { -p } else { p };
        }
        return;
    }
    out[1] = t;
    let (mut p0, mut p1) = (1.0, t);
    for k in 1..lmax {
        let kf = k as f64;
        let p2 = (2.0 * (kf + a) * t * p1 - kf * p0) / (kf + 2.0 * a);
        out[k + 1] = p2;
        p0 = p1;
        p1 = p2;
    }
}

/// Gegenbauer polynomial `C_l^a(t) = C_l^a(1) P_l^a(t)` for `a >= 0`, with
/// `C_l^a(1) = Gamma(l + 2a) / (Gamma(2a) l!)`; `C_0^a = 1`, and `C_l^0 = 0` for `l >= 1`.
/// Returns `+-inf` where `|C_l^a(t)|` exceeds `f64::MAX` (use [`ln_gegenbauer_at_one`] and
/// [`gegenbauer_normalized`] for the log form).
pub fn gegenbauer(l: usize, a: f64, t: f64) -> f64 {
    if l == 0 {
        return 1.0;
    }
    if a == 0.0 {
        return 0.0;
    }
    let p = normalized_scaled(l, a, t);
    let c = gegenbauer_at_one_scaled(l, a);
    ldexp(p.mantissa * c.mantissa, p.exponent + c.exponent)
}

/// Binomial coefficient `binom(n, k)` in exact integer arithmetic, `None` on overflow of `u128`.
fn binomial_exact(n: u128, k: u128) -> Option<u128> {
    let k = k.min(n - k);
    let mut c: u128 = 1;
    for i in 1..=k {
        // c * (n - k + i) / i is exact at every step (it is binom(n - k + i, i)).
        c = c.checked_mul(n - k + i)? / i;
    }
    Some(c)
}

/// `binom(l + d - 2, l)` as a scaled product over `min(l, d - 2)` factors.
fn binomial_scaled(l: usize, d: usize) -> Scaled {
    let (n, k) = (l + d - 2, l.min(d - 2));
    let mut p = Scaled::one();
    for i in 1..=k {
        p.mul((n - k + i) as f64 / i as f64);
    }
    p
}

/// Dimension of the space `H_l` of degree-`l` spherical harmonics on `S^{d-1}` (`d >= 2`):
/// `dim H_l = (2l + d - 2)/(l + d - 2) binom(l + d - 2, l) = binom(l+d-1, l) - binom(l+d-3, l-2)`,
/// with `dim H_0 = 1` and, for `d = 2`, `dim H_l = 2` (`l >= 1`). Exact (integer arithmetic)
/// while the binomials fit in `u128`, then correctly rounded to a few ulp; `+inf` beyond
/// `f64::MAX` (see [`ln_harmonic_dimension`]).
///
/// # Panics
/// If `d < 2`.
pub fn harmonic_dimension(l: usize, d: usize) -> f64 {
    assert!(
        d >= 2,
        "harmonic_dimension: dimension d = {d}, accepted d >= 2"
    );
    if l == 0 {
        return 1.0;
    }
    if d == 2 {
        return 2.0;
    }
    let (lu, du) = (l as u128, d as u128);
    if let Some(b) = binomial_exact(lu + du - 2, lu) {
        if let Some(num) = b.checked_mul(2 * lu + du - 2) {
            // (2l + d - 2) binom(l + d - 2, l) / (l + d - 2) is an integer.
            return (num / (lu + du - 2)) as f64;
        }
    }
    let b = binomial_scaled(l, d);
    let f = (2 * l + d - 2) as f64 / (l + d - 2) as f64;
    ldexp(b.mantissa * f, b.exponent)
}

/// `ln dim H_l` on `S^{d-1}` (see [`harmonic_dimension`]); finite for all `l`, `d >= 2`.
///
/// # Panics
/// If `d < 2`.
pub fn ln_harmonic_dimension(l: usize, d: usize) -> f64 {
    assert!(
        d >= 2,
        "ln_harmonic_dimension: dimension d = {d}, accepted d >= 2"
    );
    if l == 0 {
        return 0.0;
    }
    if d == 2 {
        return std::f64::consts::LN_2;
    }
    let h = harmonic_dimension(l, d);
    if h.is_finite() {
        return h.ln();
    }
    let b = binomial_scaled(l, d);
    b.ln() + ((2 * l + d - 2) as f64 / (l + d - 2) as f64).ln()
}
