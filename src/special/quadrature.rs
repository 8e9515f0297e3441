//! Gauss quadrature rules on `[-1, 1]`.
//!
//! PROVISIONAL implementation (skeleton): Gauss–Legendre from `gauss-quad`; Gauss–Gegenbauer
//! by Newton iteration on the recurrence.

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

    /// Integrate `f` against the rule.
    pub fn integrate(&self, f: impl Fn(f64) -> f64) -> f64 {
        self.nodes
            .iter()
            .zip(&self.weights)
            .map(|(x, w)| w * f(*x))
            .sum()
    }
}

/// `n`-point Gauss–Legendre rule (weight 1 on `[-1, 1]`, weights sum to 2).
pub fn gauss_legendre(n: usize) -> Quadrature {
    let rule = gauss_quad::GaussLegendre::new(std::num::NonZeroUsize::new(n).expect("n >= 1"));
    let mut pairs: Vec<(f64, f64)> = rule.into_node_weight_pairs().into_vec();
    pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
    Quadrature {
        nodes: pairs.iter().map(|p| p.0).collect(),
        weights: pairs.iter().map(|p| p.1).collect(),
    }
}

/// `n`-point Gauss–Gegenbauer rule for the weight `(1 - t^2)^{a - 1/2}` on `[-1, 1]`, `a >= 0`.
///
/// With `a = (d - 2)/2` this is the push-forward of the surface measure of `S^{d-1}` under
/// `x -> <x, e>`; weights normalised to sum 1 integrate zonal functions against the uniform
/// probability measure.
///
/// PROVISIONAL: Golub–Welsch (dense symmetric eigensolver, O(n^3)).
pub fn gauss_gegenbauer(n: usize, a: f64) -> Quadrature {
    use special::Gamma;
    assert!(n >= 1 && a >= 0.0);
    // Jacobi matrix of the orthonormal Gegenbauer polynomials: zero diagonal, off-diagonal
    // b_k^2 = k (k + 2a - 1) / (4 (k + a)(k + a - 1)), with b_1^2 = 1 / (2 (1 + a)).
    let mut j = nalgebra::DMatrix::<f64>::zeros(n, n);
    for k in 1..n {
        let kf = k as f64;
        let b2 = if k == 1 {
            1.0 / (2.0 * (1.0 + a))
        } else {
            kf * (kf + 2.0 * a - 1.0) / (4.0 * (kf + a) * (kf + a - 1.0))
        };
        j[(k - 1, k)] = b2.sqrt();
        j[(k, k - 1)] = b2.sqrt();
    }
    let eig = nalgebra::SymmetricEigen::new(j);
    let mu0 = (std::f64::consts::PI.ln() / 2.0 + Gamma::ln_gamma(a + 0.5).0
        - Gamma::ln_gamma(a + 1.0).0)
        .exp();
    let mut pairs: Vec<(f64, f64)> = (0..n)
        .map(|i| (eig.eigenvalues[i], mu0 * eig.eigenvectors[(0, i)].powi(2)))
        .collect();
    pairs.sort_by(|x, y| x.0.total_cmp(&y.0));
    Quadrature {
        nodes: pairs.iter().map(|p| p.0).collect(),
        weights: pairs.iter().map(|p| p.1).collect(),
    }
}
