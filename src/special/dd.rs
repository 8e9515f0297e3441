//! Double-double arithmetic (unevaluated sums `hi + lo`, about 32 significant digits) used
//! where large logarithms must cancel exactly (Bessel functions, linear theory) and where Gauss
//! nodes and weights are polished beyond double precision. Crate-internal.

/// `hi + lo` with `|lo| <= ulp(hi)/2`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Dd {
    pub hi: f64,
    pub lo: f64,
}

/// `ln 2` as a double-double.
pub(crate) const LN2: Dd = Dd {
    hi: std::f64::consts::LN_2,
    lo: 2.3190468138462996e-17,
};
/// `ln sqrt(pi)` as a double-double.
pub(crate) const LN_SQRT_PI: Dd = Dd {
    hi: 0.5723649429247001,
    lo: 5.132975581353913e-18,
};
/// `ln(2 pi)` as a double-double.
pub(crate) const LN_2PI: Dd = Dd {
    hi: 1.8378770664093456,
    lo: -7.756588316134483e-17,
};

#[inline]
pub(crate) fn two_sum(a: f64, b: f64) -> (f64, f64) {
    let s = a + b;
    let bb = s - a;
    (s, (a - (s - bb)) + (b - bb))
}

#[inline]
fn quick_two_sum(a: f64, b: f64) -> (f64, f64) {
    let s = a + b;
    (s, b - (s - a))
}

/// Exact product `a b = p + e`. With a hardware FMA this is `fma(a, b, -p)`; without one
/// (baseline x86-64, where `mul_add` is a slow software routine) Dekker's splitting.
#[inline]
fn two_prod(a: f64, b: f64) -> (f64, f64) {
    let p = a * b;
    if cfg!(target_feature = "fma") {
        (p, a.mul_add(b, -p))
    } else {
        let (ah, al) = split(a);
        let (bh, bl) = split(b);
        (p, ((ah * bh - p) + ah * bl + al * bh) + al * bl)
    }
}

/// Veltkamp split of `a` into two 26-bit halves, `a = hi + lo` (|a| < 2^996).
#[inline]
fn split(a: f64) -> (f64, f64) {
    const SPLITTER: f64 = 134217729.0; // 2^27 + 1
    let t = SPLITTER * a;
    let hi = t - (t - a);
    (hi, a - hi)
}

impl Dd {
    /// Exact value of an f64.
    #[inline]
    pub(crate) fn from(x: f64) -> Dd {
        Dd { hi: x, lo: 0.0 }
    }

    /// `a - b` exactly, as a double-double.
    #[inline]
    pub(crate) fn diff(a: f64, b: f64) -> Dd {
        let (hi, lo) = two_sum(a, -b);
        Dd { hi, lo }
    }

    /// Nearest f64.
    #[inline]
    pub(crate) fn to_f64(self) -> f64 {
        self.hi + self.lo
    }

    #[inline]
    fn norm(hi: f64, lo: f64) -> Dd {
        let (h, l) = quick_two_sum(hi, lo);
        Dd { hi: h, lo: l }
    }

    /// `self + b`.
    #[inline]
    pub(crate) fn add(self, b: Dd) -> Dd {
        let (s, e) = two_sum(self.hi, b.hi);
        let (t, f) = two_sum(self.lo, b.lo);
        let (s, e) = quick_two_sum(s, e + t);
        Dd::norm(s, e + f)
    }

    /// `self - b`.
    #[inline]
    pub(crate) fn sub(self, b: Dd) -> Dd {
        self.add(b.neg())
    }

    /// `-self`.
    #[inline]
    pub(crate) fn neg(self) -> Dd {
        Dd {
            hi: -self.hi,
            lo: -self.lo,
        }
    }

    /// `self + b` for an f64 `b`.
    #[inline]
    pub(crate) fn add_f(self, b: f64) -> Dd {
        let (s, e) = two_sum(self.hi, b);
        Dd::norm(s, e + self.lo)
    }

    /// `self * b`.
    #[inline]
    pub(crate) fn mul(self, b: Dd) -> Dd {
        let (p, e) = two_prod(self.hi, b.hi);
        Dd::norm(p, e + (self.hi * b.lo + self.lo * b.hi))
    }

    /// `self * b` for an f64 `b`.
    #[inline]
    pub(crate) fn mul_f(self, b: f64) -> Dd {
        let (p, e) = two_prod(self.hi, b);
        Dd::norm(p, e + self.lo * b)
    }

    /// `self / b` (one correction step: relative error ~1e-31).
    #[inline]
    pub(crate) fn div(self, b: Dd) -> Dd {
        let q1 = self.hi / b.hi;
        let (p, e) = two_prod(q1, b.hi);
        // remainder self - q1 b, to the precision the second quotient digit needs
        let r = (self.hi - p - e + self.lo) - q1 * b.lo;
        Dd::norm(q1, r / b.hi)
    }

    /// `sqrt(self)`, `self > 0`.
    pub(crate) fn sqrt(self) -> Dd {
        let x = 1.0 / self.hi.sqrt();
        let ax = self.hi * x;
        let (p, e) = two_prod(ax, ax);
        let resid = self.sub(Dd::norm(p, e)).hi;
        Dd::from(ax).add_f(resid * (x * 0.5))
    }

    /// `self * 2^k` (exact).
    #[inline]
    pub(crate) fn ldexp(self, k: i32) -> Dd {
        let s = pow2(k);
        Dd {
            hi: self.hi * s,
            lo: self.lo * s,
        }
    }

    /// Natural logarithm of a positive, normal double-double, to about 32 digits.
    /// `self = m 2^k`, `m in [1, 2)`; with the table value `ln c`, `c = 1 + j/128` nearest
    /// to `m`: `ln m = ln c + 2 atanh(u)`, `u = (m-c)/(m+c)`, `|u| < 2e-3`, so
    /// `2 atanh u = 2u (1 + u^2/3 + u^4/5 + ...)` needs five terms.
    pub(crate) fn ln(self) -> Dd {
        let k = exponent(self.hi);
        let m = self.ldexp(-k);
        let j = ((m.hi - 1.0) * 128.0).round();
        let c = 1.0 + j / 128.0;
        let u = m.add_f(-c).div(m.add_f(c));
        ln_table()[j as usize]
            .add(LN2.mul_f(k as f64))
            .add(two_atanh_small(u))
    }

    /// `ln(1 + self)` for `self > -1`, accurate also for tiny `self` (where `1 + self` would
    /// lose digits): `2 atanh(y / (2 + y))` for `|y| < 1/64`.
    pub(crate) fn ln_1p(self) -> Dd {
        if self.hi.abs() < 1.0 / 64.0 {
            two_atanh_small(self.div(self.add_f(2.0)))
        } else {
            self.add_f(1.0).ln()
        }
    }

    /// Natural logarithm by the plain series `k ln 2 + 2 atanh((m-1)/(m+1))`,
    /// `m in [1/sqrt 2, sqrt 2]` (24 terms): slow, used once to build the table of `ln`.
    fn ln_by_series(self) -> Dd {
        let mut k = exponent(self.hi);
        let mut m = self.ldexp(-k);
        if m.hi > std::f64::consts::SQRT_2 {
            m = m.ldexp(-1);
            k += 1;
        }
        let u = m.add_f(-1.0).div(m.add_f(1.0));
        let u2 = u.mul(u);
        // |u| <= 0.1716, u^2 <= 0.0295: 24 terms < 1e-36.
        let mut s = Dd::from(1.0).div(Dd::from(47.0));
        for i in (0..23).rev() {
            s = s
                .mul(u2)
                .add(Dd::from(1.0).div(Dd::from((2 * i + 1) as f64)));
        }
        LN2.mul_f(k as f64).add(u.mul(s).mul_f(2.0))
    }
}

/// `2 atanh(u) = 2u (1 + u^2/3 + u^4/5 + ...)` for `|u| <= 1/128`: the terms up to
/// `u^4/5` in double-double, the rest (relative size < u^6/7 < 4e-14) in f64.
fn two_atanh_small(u: Dd) -> Dd {
    let u2 = u.mul(u);
    let w = u2.hi;
    let rest = w * (1.0 / 7.0 + w * (1.0 / 9.0 + w * (1.0 / 11.0 + w / 13.0)));
    let series = u2
        .mul(ONE_FIFTH.add_f(rest))
        .add(ONE_THIRD)
        .mul(u2)
        .add_f(1.0);
    u.mul(series).mul_f(2.0)
}

/// `1/5` in double-double.
const ONE_FIFTH: Dd = Dd {
    hi: 0.2,
    lo: -1.1102230246251566e-17,
};

/// `1/3` in double-double.
const ONE_THIRD: Dd = Dd {
    hi: 0.3333333333333333,
    lo: 1.850371707708594e-17,
};

/// `ln(1 + j/128)`, `j = 0..=128`, in double-double.
fn ln_table() -> &'static [Dd; 129] {
    static TABLE: std::sync::OnceLock<[Dd; 129]> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| {
        let mut t = [Dd::from(0.0); 129];
        for (j, v) in t.iter_mut().enumerate() {
            *v = Dd::from(1.0 + j as f64 / 128.0).ln_by_series();
        }
        t
    })
}

/// `2^k` for `|k| <= 1000` (exact).
#[inline]
pub(crate) fn pow2(k: i32) -> f64 {
    debug_assert!(k.abs() <= 1000);
    if !(-1000..=1000).contains(&k) {
        return f64::NAN;
    }
    let (a, b) = (k / 2, k - k / 2);
    f64::from_bits(((1023 + a) as u64) << 52) * f64::from_bits(((1023 + b) as u64) << 52)
}

/// Binary exponent `e` of a positive normal `x`: `x = m 2^e`, `m in [1, 2)`.
#[inline]
pub(crate) fn exponent(x: f64) -> i32 {
    ((x.to_bits() >> 52) & 0x7ff) as i32 - 1023
}

/// A positive number `v 2^e` with a double-double mantissa and an explicit binary exponent,
/// for long products that would under/overflow f64.
#[derive(Clone, Copy, Debug)]
pub(crate) struct DdExp {
    v: Dd,
    e: i64,
}

impl DdExp {
    /// The number 1.
    pub(crate) fn one() -> DdExp {
        DdExp {
            v: Dd::from(1.0),
            e: 0,
        }
    }

    /// Multiply by a positive finite f64.
    #[inline]
    pub(crate) fn mul_f(&mut self, f: f64) {
        self.v = self.v.mul_f(f);
        let k = exponent(self.v.hi);
        if k.abs() > 400 {
            self.v = self.v.ldexp(-k);
            self.e += k as i64;
        }
    }

    /// Multiply by a positive finite double-double.
    #[inline]
    pub(crate) fn mul(&mut self, f: Dd) {
        self.v = self.v.mul(f);
        let k = exponent(self.v.hi);
        if k.abs() > 400 {
            self.v = self.v.ldexp(-k);
            self.e += k as i64;
        }
    }

    /// Natural logarithm as a double-double.
    pub(crate) fn ln(&self) -> Dd {
        let k = exponent(self.v.hi);
        let m = self.v.ldexp(-k);
        m.ln().add(LN2.mul_f((self.e + k as i64) as f64))
    }
}
