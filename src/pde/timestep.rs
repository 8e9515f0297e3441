//! Explicit Runge–Kutta time stepping in Lawson (integrating-factor) form, independent of the
//! problem.
//!
//! The equation is `y' = D y + N(y)` with `D` diagonal and non-positive (diffusion
//! `nu Lap`, one rate per degree). With `E(s) = exp(D s)` a Lawson step of an explicit
//! tableau `(a, b, c)` reads
//!
//! ```text
//! U_i = E(c_i h) y + h sum_{j<i} a_ij E((c_i - c_j) h) k_j,   k_i = N(U_i),
//! y_new = E(h) y + h sum_j b_j E((1 - c_j) h) k_j,
//! ```
//!
//! which is exact for the linear part, so the diffusion does not limit the step; every factor
//! `E` has a non-positive exponent (the nodes `c_i` are non-decreasing). With `D = 0` it is
//! the plain Runge–Kutta method. The embedded error estimate uses `b - b_hat` in the same form.

/// An explicit Runge–Kutta tableau, optionally with an embedded error estimator.
#[derive(Clone, Debug)]
pub struct Tableau {
    /// Name for outputs.
    pub name: &'static str,
    /// Nodes `c_i`.
    pub c: Vec<f64>,
    /// Strictly lower-triangular `a_ij` (row `i` has `i` entries).
    pub a: Vec<Vec<f64>>,
    /// Weights `b_j` of the propagated solution.
    pub b: Vec<f64>,
    /// `b_j - b_hat_j`, the embedded error weights (adaptive methods only).
    pub error_weights: Option<Vec<f64>>,
    /// Order of the propagated solution.
    pub order: usize,
    /// First stage of the next step equals the last stage of this one (FSAL).
    pub fsal: bool,
}

impl Tableau {
    /// The classical fourth-order Runge–Kutta method.
    pub fn rk4() -> Self {
        Tableau {
            name: "rk4",
            c: vec![0.0, 0.5, 0.5, 1.0],
            a: vec![vec![], vec![0.5], vec![0.0, 0.5], vec![0.0, 0.0, 1.0]],
            b: vec![1.0 / 6.0, 1.0 / 3.0, 1.0 / 3.0, 1.0 / 6.0],
            error_weights: None,
            order: 4,
            fsal: false,
        }
    }

    /// Dormand–Prince 5(4): fifth-order solution, fourth-order embedded estimate, FSAL
    /// ([`crate::butcher::dopri5`]).
    pub fn dormand_prince() -> Self {
        use crate::butcher::dopri5::{A, B, B_HAT, C};
        Tableau {
            name: "dopri5",
            c: C.to_vec(),
            a: A.iter()
                .enumerate()
                .map(|(i, row)| row[..i].to_vec())
                .collect(),
            b: B.to_vec(),
            error_weights: Some(B.iter().zip(&B_HAT).map(|(x, y)| x - y).collect()),
            order: 5,
            fsal: true,
        }
    }

    /// Number of stages.
    pub fn stages(&self) -> usize {
        self.c.len()
    }
}

/// The diagonal linear part `D`: a rate per degree (`<= 0`) and the degree of each coefficient.
#[derive(Clone, Debug)]
pub struct DiagonalPart {
    /// Degree of each coefficient.
    pub degrees: Vec<usize>,
    /// Rate `D_l` per degree (e.g. `-nu l(l+d-2)`).
    pub rate_per_degree: Vec<f64>,
}

impl DiagonalPart {
    /// True when every rate is zero (plain Runge–Kutta).
    pub fn is_zero(&self) -> bool {
        self.rate_per_degree.iter().all(|r| *r == 0.0)
    }
}

/// Outcome of one attempted step.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum StepOutcome {
    /// The step was computed; the error norm (0 for fixed-step methods).
    Done(f64),
    /// The right-hand side failed (non-finite or invalid state).
    Failed,
}

/// A Lawson–Runge–Kutta stepper with preallocated stages.
pub struct LawsonRk {
    tableau: Tableau,
    linear: DiagonalPart,
    k: Vec<Vec<f64>>,
    u: Vec<f64>,
    err: Vec<f64>,
    /// Per-degree factors `exp(D s)` for the current step size.
    factors: Vec<Vec<f64>>,
    factor_h: f64,
    fsal_ready: bool,
    /// Number of right-hand-side evaluations.
    pub evaluations: usize,
}

impl LawsonRk {
    /// A stepper for `n` coefficients.
    pub fn new(tableau: Tableau, linear: DiagonalPart) -> Self {
        let n = linear.degrees.len();
        let s = tableau.stages();
        Self {
            k: vec![vec![0.0; n]; s],
            u: vec![0.0; n],
            err: vec![0.0; n],
            factors: Vec::new(),
            factor_h: f64::NAN,
            fsal_ready: false,
            tableau,
            linear,
            evaluations: 0,
        }
    }

    /// The tableau.
    pub fn tableau(&self) -> &Tableau {
        &self.tableau
    }

    /// Forget the stored first stage `N(y)` (call after the state was changed externally).
    pub fn reset(&mut self) {
        self.fsal_ready = false;
    }

    /// Per-degree `exp(D s)` for `s = (c_i - c_j) h` and `s = (1 - c_j) h`, indexed
    /// `[i * S + j]` for stages and `[S * S + j]` for the final combination, `[S*S + S + i]` for `c_i h`.
    fn prepare_factors(&mut self, h: f64) {
        if self.factor_h == h || self.linear.is_zero() {
            return;
        }
        let s = self.tableau.stages();
        let c = &self.tableau.c;
        let mut shifts = vec![0.0; s * s + 2 * s];
        for i in 0..s {
            for j in 0..s {
                shifts[i * s + j] = (c[i] - c[j]).max(0.0) * h;
            }
            shifts[s * s + i] = (1.0 - c[i]) * h;
            shifts[s * s + s + i] = c[i] * h;
        }
        self.factors = shifts
            .iter()
            .map(|&t| {
                self.linear
                    .rate_per_degree
                    .iter()
                    .map(|r| (r * t).exp())
                    .collect()
            })
            .collect();
        self.factor_h = h;
    }

    /// Attempt one step of size `h` from `y`; writes `y_new` and returns the error norm
    /// `max_i |e_i| / (atol + rtol max(|y_i|, |y_new_i|))` (0 without an embedded pair).
    pub fn step<F>(
        &mut self,
        rhs: &mut F,
        y: &[f64],
        h: f64,
        y_new: &mut [f64],
        rtol: f64,
        atol: f64,
    ) -> StepOutcome
    where
        F: FnMut(&[f64], &mut [f64]) -> bool,
    {
        let s = self.tableau.stages();
        let n = y.len();
        self.prepare_factors(h);
        let plain = self.linear.is_zero();
        if !self.fsal_ready {
            self.evaluations += 1;
            if !rhs(y, &mut self.k[0]) {
                return StepOutcome::Failed;
            }
            // k[0] = N(y) stays valid for retries from the same y.
            self.fsal_ready = true;
        }
        let deg = &self.linear.degrees;
        for i in 1..s {
            let ci = s * s + s + i;
            for p in 0..n {
                let mut v = if plain {
                    y[p]
                } else {
                    self.factors[ci][deg[p]] * y[p]
                };
                for (j, aij) in self.tableau.a[i].iter().enumerate() {
                    if *aij != 0.0 {
                        let e = if plain {
                            1.0
                        } else {
                            self.factors[i * s + j][deg[p]]
                        };
                        v += h * aij * e * self.k[j][p];
                    }
                }
                self.u[p] = v;
            }
            self.evaluations += 1;
            let (head, tail) = self.k.split_at_mut(i);
            let _ = head;
            if !rhs(&self.u, &mut tail[0]) {
                return StepOutcome::Failed;
            }
        }
        // y_new; for FSAL tableaus the last stage input U_s already equals y_new.
        for p in 0..n {
            let mut v = if plain {
                y[p]
            } else {
                self.factors[s * s][deg[p]] * y[p]
            };
            for (j, bj) in self.tableau.b.iter().enumerate() {
                if *bj != 0.0 {
                    let e = if plain {
                        1.0
                    } else {
                        self.factors[s * s + j][deg[p]]
                    };
                    v += h * bj * e * self.k[j][p];
                }
            }
            y_new[p] = v;
        }
        let mut norm = 0.0_f64;
        if let Some(ew) = &self.tableau.error_weights {
            for p in 0..n {
                let mut e = 0.0;
                for (j, wj) in ew.iter().enumerate() {
                    if *wj != 0.0 {
                        let f = if plain {
                            1.0
                        } else {
                            self.factors[s * s + j][deg[p]]
                        };
                        e += h * wj * f * self.k[j][p];
                    }
                }
                self.err[p] = e;
                let sc = atol + rtol * y[p].abs().max(y_new[p].abs());
                norm = norm.max(e.abs() / sc);
            }
            if !norm.is_finite() {
                return StepOutcome::Failed;
            }
        }
        StepOutcome::Done(norm)
    }

    /// Call after accepting a step (the state moves to `y_new`): for FSAL tableaus the last
    /// stage becomes the next first stage, otherwise the first stage is recomputed.
    pub fn accept(&mut self) {
        if self.tableau.fsal {
            let s = self.tableau.stages();
            self.k.swap(0, s - 1);
            self.fsal_ready = true;
        } else {
            self.fsal_ready = false;
        }
    }
}
