//! Independent route to the Gauss–Gegenbauer rule: Golub–Welsch with nalgebra's dense symmetric
//! eigensolver (Jacobi matrix of the orthonormal Gegenbauer polynomials: zero diagonal,
//! off-diagonal `b_k^2 = k (k + 2a - 1) / (4 (k + a)(k + a - 1))`, `b_1^2 = 1 / (2 (1 + a))`;
//! weights `mu0 * v_{0k}^2`). Accurate to ~1e-13 for moderate n, which is what we ask.

use attnflow::special::{gauss_gegenbauer, gegenbauer_weight_mass};

fn golub_welsch(n: usize, a: f64) -> (Vec<f64>, Vec<f64>) {
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
    let mu0 = gegenbauer_weight_mass(a);
    let mut pairs: Vec<(f64, f64)> = (0..n)
        .map(|i| (eig.eigenvalues[i], mu0 * eig.eigenvectors[(0, i)].powi(2)))
        .collect();
    pairs.sort_by(|x, y| x.0.total_cmp(&y.0));
    pairs.into_iter().unzip()
}

#[test]
fn gauss_gegenbauer_agrees_with_golub_welsch() {
    for &(n, a) in &[(8usize, 0.0), (33, 0.5), (64, 1.0), (100, 3.5), (120, 31.0)] {
        let q = gauss_gegenbauer(n, a);
        let (x, w) = golub_welsch(n, a);
        let wmax = w.iter().cloned().fold(0.0, f64::max);
        for k in 0..n {
            assert!((q.nodes[k] - x[k]).abs() < 1e-13, "n={n} a={a} node {k}");
            // Eigenvector-based weights are accurate relative to the largest weight.
            assert!(
                (q.weights[k] - w[k]).abs() < 1e-12 * wmax,
                "n={n} a={a} weight {k}"
            );
        }
    }
}
