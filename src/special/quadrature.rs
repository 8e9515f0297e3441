//! Gauss quadrature rules on `[-1, 1]`: Gauss–Legendre and Gauss–Gegenbauer (weight
//! `(1 - t^2)^{a - 1/2}`), and the probability rule for zonal functions on `S^{d-1}`.
//!
//! Gauss–Gegenbauer method (`O(n^2)`):
//! 1. Initial nodes: the nodes are `+-x_k`, and `x_k^2` are the eigenvalues of the even-index
//!    block of `J^2` (`J` the Jacobi matrix of the orthonormal Gegenbauer polynomials, zero
//!    diagonal), a symmetric tridiagonal matrix of size `ceil(n/2)`; its eigenvalues come from
//!    the implicit QL algorithm without eigenvectors (`O(n^2)`).
//! 2. Newton polish on the normalised three-term recurrence for `P_n = C_n^a / C_n^a(1)`, with
//!    `(1 - x^2) P_n'(x) = n (P_{n-1}(x) - x P_n(x))`. Nodes with `x >= 1/2` are polished in the
//!    variable `u = 1 - x` with Reinsch's difference form of the recurrence, so `1 - x_k` is
//!    found to full relative precision even where `x_k` is within a few ulp of 1.
//! 3. One last Newton step in double-double arithmetic (orthonormal recurrence at the
//!    double-double node `1 - u`, `O(n)` per node) moves each node to ~32 digits; the returned
//!    node is rounded from it, and the weight is the Christoffel function at that node,
//!    `w_k / mu0 = 1 / sum_{j<n} p_j(x_k)^2`, with the orthonormal polynomials `p_j` of the
//!    probability weight (`p_j^2 = g_j P_j^2`, `g_j = (j + a)/a C_j^a(1)`): a sum of positive
//!    terms, rescaled by powers of two (no overflow, even for `a = 511`).
//!
//! Why not cheaper: evaluated at the rounded double node, a weight inherits the node's rounding
//! through its sensitivity `4a x / (1 - x^2)` (`~2a` ulp, `7e-15` at `a = 31`); a plain-double
//! Christoffel sum accumulates `~sqrt(n)` ulp of recurrence rounding (`1.4e-14` at `n = 1000`);
//! the derivative formula `w_k ∝ (1 - x_k^2) / P_{n-1}(x_k)^2` is worse at the end nodes, where
//! `P_{n-1}(x_k)` is small.
//!
//! Measured against mpmath (40 digits, `tests/quadrature.rs`) for `n <= 1000`, `a <= 31` and
//! `a = 511`: every node correctly rounded, weights within `6.5e-16` relative. (`gauss-quad`'s
//! Gauss–Legendre, used by [`gauss_legendre`]: nodes within `3.9e-16` absolute, weights
//! `4.8e-16` relative.)

use crate::special::gegenbauer::{for_each_normalized_plain, for_each_normalized_reinsch, ldexp};

/// Nodes and weights of a quadrature rule, nodes ascending.
#[derive(Clone, Debug, PartialEq)]
pub struct Quadrature {
    /// Nodes in `(-1, 1)`, ascending.
    pub nodes: Vec<f64>,
    /// Weights for the rule's weight function.
    pub weights: Vec<f64>,
}

impl Quadrature {
    /// Number of nodes.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// True for an empty rule.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// `sum_k w_k f(x_k)`, the rule applied to `f`.
    pub fn integrate(&self, f: impl Fn(f64) -> f64) -> f64 {
        self.nodes
            .iter()
            .zip(&self.weights)
            .map(|(x, w)| w * f(*x))
            .sum()
    }

    /// Sum of the weights (compensated summation): the rule's total mass.
    pub fn total_weight(&self) -> f64 {
        let (mut s, mut c) = (0.0f64, 0.0f64);
        for &w in &self.weights {
            let t = s + w;
            c += if s.abs() >= w.abs() {
                (s - t) + w
            } else {
                (w - t) + s
            };
            s = t;
        }
        s + c
    }

    /// The same nodes with weights divided by [`Quadrature::total_weight`], so they sum to 1:
    /// the rule for the probability measure `w(t) dt / int w`. For [`gauss_gegenbauer`] with
    /// `a = (d - 2)/2` this is the law of `<x, e>` for `x` uniform on `S^{d-1}` (see
    /// [`sphere_zonal_rule`], which computes these weights directly).
    pub fn normalized(&self) -> Quadrature {
        let s = self.total_weight();
        Quadrature {
            nodes: self.nodes.clone(),
            weights: self.weights.iter().map(|w| w / s).collect(),
        }
    }
}

/// `n`-point Gauss–Legendre rule (weight 1 on `[-1, 1]`, weights sum to 2), from `gauss-quad`
/// (Bogaert's asymptotic method), nodes sorted ascending.
///
/// # Panics
/// If `n = 0`.
pub fn gauss_legendre(n: usize) -> Quadrature {
    let n = std::num::NonZeroUsize::new(n).expect("gauss_legendre: n = 0, accepted n >= 1");
    let rule = gauss_quad::GaussLegendre::new(n);
    let mut pairs: Vec<(f64, f64)> = rule.into_node_weight_pairs().into_vec();
    pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
    Quadrature {
        nodes: pairs.iter().map(|p| p.0).collect(),
        weights: pairs.iter().map(|p| p.1).collect(),
    }
}

/// `mu0(a) = int_{-1}^{1} (1 - t^2)^{a - 1/2} dt = sqrt(pi) Gamma(a + 1/2) / Gamma(a + 1)`
/// (`pi` for `a = 0`, `2` for `a = 1/2`), for `a >= 0`. With `a = (d-2)/2` it is
/// `|S^{d-1}| / |S^{d-2}|`. Computed as `Gamma(f + 1/2)/Gamma(f + 1)` (`f` the fractional part
/// of `a`, libm `tgamma`) times `floor(a)` ratios in double-double (relative error a few ulp), or
/// an asymptotic series in `1/a` for `a > 1e4` (truncation below `1e-22`).
pub fn gegenbauer_weight_mass(a: f64) -> f64 {
    assert!(
        a >= 0.0 && a.is_finite(),
        "gegenbauer_weight_mass: a = {a}, accepted a finite number >= 0"
    );
    let sqrt_pi = std::f64::consts::PI.sqrt();
    if a > 1e4 {
        let x = 1.0 / a;
        let series =
            1.0 - x / 8.0 + x * x / 128.0 + 5.0 * x.powi(3) / 1024.0 - 21.0 * x.powi(4) / 32768.0;
        return sqrt_pi * series / a.sqrt();
    }
    use special::Gamma;
    let m = a.floor();
    let f = a - m;
    // prod_{j<m} (f + j + 1/2)/(f + j + 1) in double-double: no accumulation of rounding
    let mut r = Dd::from(1.0);
    for j in 0..m as usize {
        let jf = Dd::from(j as f64).add(Dd::from(f));
        r = r.mul(jf.add(Dd::from(0.5)).div(jf.add(Dd::from(1.0))));
    }
    (Gamma::gamma(f + 0.5) / Gamma::gamma(f + 1.0)) * (r.hi + r.lo) * sqrt_pi
}

/// Eigenvalues of the symmetric tridiagonal matrix with diagonal `d` and off-diagonal `e`
/// (`e[i]` couples `i` and `i + 1`; `e.len() = d.len()`, last entry ignored), by the implicit QL
/// algorithm with Wilkinson-type shifts, without eigenvectors. Returns them unsorted in `d`.
/// For matrices with entries of order 1 (as here): `hypot` is replaced by a plain square root.
fn tridiagonal_eigenvalues(d: &mut [f64], e: &mut [f64]) {
    let n = d.len();
    if n == 0 {
        return;
    }
    e[n - 1] = 0.0;
    for l in 0..n {
        let mut iter = 0;
        loop {
            let mut m = l;
            while m + 1 < n {
                let dd = d[m].abs() + d[m + 1].abs();
                if e[m].abs() <= f64::EPSILON * dd {
                    break;
                }
                m += 1;
            }
            if m == l {
                break;
            }
            iter += 1;
            assert!(iter <= 100, "tridiagonal QL did not converge");
            let mut g = (d[l + 1] - d[l]) / (2.0 * e[l]);
            let mut r = if g.abs() < 1e100 {
                (g * g + 1.0).sqrt()
            } else {
                g.hypot(1.0)
            };
            g = d[m] - d[l] + e[l] / (g + r.copysign(g));
            let (mut s, mut c, mut p) = (1.0f64, 1.0f64, 0.0f64);
            let mut underflow = false;
            let mut i = m;
            while i > l {
                i -= 1;
                let f = s * e[i];
                let b = c * e[i];
                r = (f * f + g * g).sqrt(); // entries O(1): no overflow or underflow
                e[i + 1] = r;
                if r == 0.0 {
                    d[i + 1] -= p;
                    e[m] = 0.0;
                    underflow = true;
                    break;
                }
                s = f / r;
                c = g / r;
                g = d[i + 1] - p;
                r = (d[i] - g) * s + 2.0 * c * b;
                p = s * r;
                d[i + 1] = g + p;
                g = c * r - b;
            }
            if underflow {
                continue;
            }
            d[l] -= p;
            e[l] = g;
            e[m] = 0.0;
        }
    }
}

/// Squared off-diagonal entries `b_k^2` (`k >= 1`) of the Jacobi matrix of the orthonormal
/// polynomials for the weight `(1 - t^2)^{a - 1/2}`:
/// `b_k^2 = k (k + 2a - 1) / (4 (k + a)(k + a - 1))`, `b_1^2 = 1 / (2 (1 + a))`.
fn jacobi_b2(k: usize, a: f64) -> f64 {
    let kf = k as f64;
    if k == 1 {
        1.0 / (2.0 * (1.0 + a))
    } else {
        kf * (kf + 2.0 * a - 1.0) / (4.0 * (kf + a) * (kf + a - 1.0))
    }
}

/// Initial guesses for the `ceil(n/2)` non-negative nodes, descending: square roots of the
/// eigenvalues of the even-index block of `J^2`, a tridiagonal matrix with diagonal
/// `b_{2i}^2 + b_{2i+1}^2` and off-diagonal `b_{2i+1} b_{2i+2}` (`b_0 = b_n = 0`).
fn nonnegative_node_guesses(n: usize, a: f64) -> Vec<f64> {
    let m = n.div_ceil(2);
    let b = |k: usize| -> f64 {
        if k == 0 || k >= n {
            0.0
        } else {
            jacobi_b2(k, a).sqrt()
        }
    };
    let mut d: Vec<f64> = (0..m)
        .map(|i| b(2 * i).powi(2) + b(2 * i + 1).powi(2))
        .collect();
    let mut e: Vec<f64> = (0..m).map(|i| b(2 * i + 1) * b(2 * i + 2)).collect();
    tridiagonal_eigenvalues(&mut d, &mut e);
    let mut x: Vec<f64> = d.iter().map(|v| v.max(0.0).sqrt()).collect();
    x.sort_by(|p, q| q.total_cmp(p));
    x
}

/// The non-negative node variable: `x` itself below `1/2`, `u = 1 - x` above (so `1 - x` keeps
/// full relative precision near the end point).
#[derive(Clone, Copy)]
enum Var {
    X(f64),
    U(f64),
}

impl Var {
    fn x(self) -> f64 {
        match self {
            Var::X(x) => x,
            Var::U(u) => 1.0 - u,
        }
    }
    fn one_minus_x2(self) -> f64 {
        match self {
            Var::X(x) => (1.0 - x) * (1.0 + x),
            Var::U(u) => u * (2.0 - u),
        }
    }
}

/// `(P_n, P_{n-1})` at the node variable, scaled by a common power of two (irrelevant for ratios).
fn last_pair(n: usize, a: f64, v: Var) -> (f64, f64) {
    let (mut pn, mut pm, mut en, mut em) = (0.0, 0.0, 0i64, 0i64);
    let mut f = |k: usize, m: f64, e: i64| {
        if k + 1 == n {
            (pm, em) = (m, e);
        } else if k == n {
            (pn, en) = (m, e);
        }
    };
    match v {
        Var::X(x) => for_each_normalized_plain(n, a, x, &mut f),
        Var::U(u) => for_each_normalized_reinsch(n, a, u, &mut f),
    }
    (ldexp(pn, en - em), pm)
}

use super::dd::Dd;

/// Coefficients of the orthonormal recurrence for the probability weight
/// `c (1 - t^2)^{a - 1/2}`: `p_{k+1} = (x p_k - b_k p_{k-1}) / b_{k+1}`, `p_0 = 1`, returned as
/// `(1 / b_{k+1}, b_k / b_{k+1})` for `k = 0..n-1` in double-double, with
/// `b_k^2 = k (k + 2a - 1) / (4 (k + a)(k + a - 1))`, `b_1^2 = 1 / (2 (1 + a))`, `b_0 = 0`.
fn orthonormal_coefficients(n: usize, a: f64) -> Vec<(Dd, Dd)> {
    let two_a = Dd::from(2.0 * a); // exact
    let aa = Dd::from(a);
    let b = |k: usize| -> Dd {
        if k == 0 {
            return Dd::from(0.0);
        }
        let kd = Dd::from(k as f64);
        let b2 = if k == 1 {
            Dd::from(1.0).div(Dd::from(2.0).mul(Dd::from(1.0).add(aa)))
        } else {
            let num = kd.mul(kd.add(two_a).add(Dd::from(-1.0)));
            let ka = kd.add(aa);
            let den = Dd::from(4.0).mul(ka).mul(ka.add(Dd::from(-1.0)));
            num.div(den)
        };
        b2.sqrt()
    };
    let mut out = Vec::with_capacity(n);
    let mut bk = b(0);
    for k in 0..n {
        let bk1 = b(k + 1);
        out.push((Dd::from(1.0).div(bk1), bk.div(bk1)));
        bk = bk1;
    }
    out
}

/// Final double-double Newton correction of a polished node and its weight from the Christoffel
/// function.
///
/// One pass of the orthonormal recurrence (`p_j` orthonormal for the probability weight,
/// `p_j^2 = g_j P_j^2`, `g_j = (j + a)/a C_j^a(1)` `= dim H_j` on `S^{2a+1}`) in double-double at
/// the double-double node `x` (`x = 1 - u` exactly) gives `p_n(x)` and, alongside in double,
/// `p_n'(x)`, the Christoffel sum `S(x) = sum_{j<n} p_j(x)^2` and `S'(x)`. The Newton step
/// `delta = -p_n / p_n'` (below an ulp) moves `x` to the node to about 32 digits, and
/// `w = 1 / (S + S' delta)` is the weight at that node: the only errors left are the final
/// roundings. All terms of `S` are positive (no cancellation); values are rescaled by powers of
/// two against overflow (terms up to `e^{900}` occur for `a = 511`).
///
/// Returns `(x, 1 - x, w)` for the nodes handled in `x`, `(1 - u, u, w)` for those in `u`, each
/// correctly rounded from the corrected double-double node.
fn refine_node_and_weight(coef: &[(Dd, Dd)], v: Var) -> (f64, f64, f64) {
    let x = match v {
        Var::X(x) => Dd::from(x),
        Var::U(u) => Dd::diff(1.0, u),
    };
    let n = coef.len();
    let (mut p0, mut p1) = (Dd::from(0.0), Dd::from(1.0));
    let (mut q0, mut q1) = (0.0f64, 0.0f64); // derivatives p_j', in double
    let mut sum = Dd::from(1.0);
    let mut dsum = 0.0f64;
    let mut e = 0i64; // p, q scaled by 2^-e; sum, dsum by 2^-2e
    for (k, &(inv_b, ratio)) in coef.iter().enumerate() {
        let p2 = x.mul(p1).mul(inv_b).add(ratio.mul(p0).neg());
        let q2 = (p1.hi + x.hi * q1) * inv_b.hi - ratio.hi * q0;
        (p0, p1, q0, q1) = (p1, p2, q1, q2);
        if k + 1 < n {
            sum = sum.add(p1.mul(p1));
            dsum += 2.0 * p1.hi * q1;
        }
        if p1.hi.abs() > 1e150 || p0.hi.abs() > 1e150 || q1.abs() > 1e150 {
            let f = 2f64.powi(-500);
            p0 = p0.ldexp(-500);
            p1 = p1.ldexp(-500);
            q0 *= f;
            q1 *= f;
            sum = sum.ldexp(-1000);
            dsum *= f * f;
            e += 500;
        }
    }
    // p1 = p_n(x), q1 = p_n'(x)
    let mut delta = -(p1.hi + p1.lo) / q1;
    if !delta.is_finite() {
        delta = 0.0;
    }
    let s = sum.hi + (sum.lo + dsum * delta);
    let w = ldexp(1.0 / s, -2 * e);
    let corrected = x.add(Dd::from(delta));
    match v {
        Var::X(_) => (corrected.hi, 1.0 - corrected.hi, w),
        Var::U(u) => (corrected.hi, u - delta, w),
    }
}

/// Newton polish of one non-negative node from its guess:
/// `P_n'(x) = n (P_{n-1} - x P_n) / (1 - x^2)`, in `u = 1 - x` for `x >= 1/2`.
fn polish_node(n: usize, a: f64, guess: f64) -> Var {
    let nf = n as f64;
    let mut v = if guess >= 0.5 {
        Var::U(1.0 - guess)
    } else {
        Var::X(guess)
    };
    for _ in 0..30 {
        let (pn, pm) = last_pair(n, a, v);
        let deriv = nf * (pm - v.x() * pn) / v.one_minus_x2();
        let step = pn / deriv; // Newton step in x
        let (next, size) = match v {
            Var::X(x) => (Var::X(x - step), step.abs() / x.abs().max(1e-300)),
            Var::U(u) => (Var::U(u + step), step.abs() / u),
        };
        v = next;
        if size <= 1e-11 {
            break;
        }
    }
    v
}

/// Gauss–Gegenbauer nodes (ascending) and probability weights (summing to 1).
fn gegenbauer_probability_rule(n: usize, a: f64) -> (Vec<f64>, Vec<f64>) {
    let (nodes, weights, _) = gegenbauer_probability_rule_with_complements(n, a);
    (nodes, weights)
}

/// Gauss–Gegenbauer nodes (ascending), probability weights, and the complements `1 - |x_k|`
/// to full relative precision.
fn gegenbauer_probability_rule_with_complements(
    n: usize,
    a: f64,
) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    if n == 1 {
        return (vec![0.0], vec![1.0], vec![1.0]);
    }
    let guesses = nonnegative_node_guesses(n, a);
    let coef = orthonormal_coefficients(n, a);
    let mut pos_x = Vec::with_capacity(guesses.len());
    let mut pos_c = Vec::with_capacity(guesses.len());
    let mut pos_w = Vec::with_capacity(guesses.len());
    for (i, &g) in guesses.iter().enumerate() {
        // the middle node of an odd rule is exactly 0
        let v = if n % 2 == 1 && i + 1 == guesses.len() {
            Var::X(0.0)
        } else {
            polish_node(n, a, g)
        };
        let (x, c, w) = refine_node_and_weight(&coef, v);
        pos_x.push(x);
        pos_c.push(c);
        pos_w.push(w);
    }
    let mut nodes = Vec::with_capacity(n);
    let mut weights = Vec::with_capacity(n);
    let mut complements = Vec::with_capacity(n);
    for i in 0..n / 2 {
        nodes.push(-pos_x[i]);
        weights.push(pos_w[i]);
        complements.push(pos_c[i]);
    }
    for i in (0..pos_x.len()).rev() {
        nodes.push(pos_x[i]);
        weights.push(pos_w[i]);
        complements.push(pos_c[i]);
    }
    (nodes, weights, complements)
}

/// `n`-point Gauss–Gegenbauer rule for the weight `(1 - t^2)^{a - 1/2}` on `[-1, 1]`, `a >= 0`
/// (`a = 0`: Chebyshev, `a = 1/2`: Legendre); exact for polynomials of degree `<= 2n - 1`;
/// weights sum to [`gegenbauer_weight_mass`]`(a) = sqrt(pi) Gamma(a + 1/2) / Gamma(a + 1)`.
/// Nodes ascending and symmetric (`x_{n-1-k} = -x_k`, equal weights).
///
/// With `a = (d - 2)/2` this is the push-forward of the surface measure of `S^{d-1}` under
/// `x -> <x, e>` (up to `|S^{d-2}|`); [`Quadrature::normalized`] or [`sphere_zonal_rule`] give the
/// probability rule. `O(n^2)` work (see the module notes for the method); weights that are
/// below `f64::MIN_POSITIVE` (only for very large `a`) underflow to subnormals or zero.
///
/// # Panics
/// If `n = 0` or `a` is negative or not finite.
pub fn gauss_gegenbauer(n: usize, a: f64) -> Quadrature {
    assert!(n >= 1, "gauss_gegenbauer: n = 0, accepted n >= 1");
    assert!(
        a >= 0.0 && a.is_finite(),
        "gauss_gegenbauer: a = {a}, accepted a finite number >= 0"
    );
    let (nodes, weights) = gegenbauer_probability_rule(n, a);
    let mu0 = gegenbauer_weight_mass(a);
    Quadrature {
        nodes,
        weights: weights.iter().map(|w| w * mu0).collect(),
    }
}

/// Probability rule for zonal functions on `S^{d-1}`: `n` Gauss–Gegenbauer nodes with
/// `a = (d - 2)/2` and weights summing to 1, so that
/// `int_{S^{d-1}} f(<x, e>) dsigma(x) = sum_k w_k f(x_k)` (`sigma` the uniform probability
/// measure) exactly for polynomials `f` of degree `<= 2n - 1`. For `d = 2` the Chebyshev rule
/// (`w_k = 1/n`), for `d = 3` Gauss–Legendre with weights halved. The weights are computed
/// directly (no division by `mu0`).
///
/// # Panics
/// If `n = 0` or `dim < 2`.
pub fn sphere_zonal_rule(n: usize, dim: usize) -> Quadrature {
    assert!(n >= 1, "sphere_zonal_rule: n = 0, accepted n >= 1");
    assert!(
        dim >= 2,
        "sphere_zonal_rule: dimension {dim}, accepted d >= 2"
    );
    let (nodes, weights) = gegenbauer_probability_rule(n, (dim as f64 - 2.0) / 2.0);
    Quadrature { nodes, weights }
}

/// [`sphere_zonal_rule`] together with the complements `c_k = 1 - |x_k|` of its nodes to full
/// relative precision (`x_k` itself, rounded to a double near `+-1`, only gives `1 - |x_k|` to
/// `1.1e-16` absolute). Evaluate functions of `1 - t` (e.g. `e^{beta (t - 1)}`, or `P_l(t)`
/// with Reinsch's recurrence in `u = 1 - |t|`) from `c_k` where the end points matter.
///
/// # Panics
/// If `n = 0` or `dim < 2`.
pub fn sphere_zonal_rule_with_complements(n: usize, dim: usize) -> (Quadrature, Vec<f64>) {
    assert!(n >= 1, "sphere_zonal_rule: n = 0, accepted n >= 1");
    assert!(
        dim >= 2,
        "sphere_zonal_rule: dimension {dim}, accepted d >= 2"
    );
    let (nodes, weights, c) =
        gegenbauer_probability_rule_with_complements(n, (dim as f64 - 2.0) / 2.0);
    (Quadrature { nodes, weights }, c)
}
