//! The Laplacian and the kernel multiplier of each basis against independent routes:
//! finite differences of pointwise-evaluated fields, and direct quadrature of the kernel.

use attnflow::spectral::{Basis, CircleBasis, SphereBasis, ZonalBasis};

fn eval<B: Basis>(b: &B, c: &[f64], x: &[f64]) -> f64 {
    let mut y = vec![0.0; b.len()];
    b.evaluate_at(x, &mut y);
    y.iter().zip(c).map(|(a, b)| a * b).sum()
}

fn sample_coefficients(n: usize, lmax: usize, degrees: &[usize]) -> Vec<f64> {
    (0..n)
        .map(|i| {
            let l = degrees[i] as f64;
            ((i as f64 * 0.731).sin() + 0.3) * (-(l / lmax as f64) * 3.0).exp()
        })
        .collect()
}

#[test]
fn sphere_laplacian_matches_finite_differences() {
    let b = SphereBasis::new(12);
    let c = sample_coefficients(b.len(), 12, b.degrees());
    let lc: Vec<f64> = (0..b.len())
        .map(|i| b.laplacian_eigenvalue(i) * c[i])
        .collect();
    let point = |th: f64, ph: f64| vec![th.sin() * ph.cos(), th.sin() * ph.sin(), th.cos()];
    let h = 1e-3;
    for &(th, ph) in &[(0.7, 0.3), (2.1, 4.0), (1.3, 2.2)] {
        let f = |t: f64, p: f64| eval(&b, &c, &point(t, p));
        let f0 = f(th, ph);
        let d2th = (f(th + h, ph) - 2.0 * f0 + f(th - h, ph)) / (h * h);
        let dth = (f(th + h, ph) - f(th - h, ph)) / (2.0 * h);
        let d2ph = (f(th, ph + h) - 2.0 * f0 + f(th, ph - h)) / (h * h);
        let lap_fd = d2th + th.cos() / th.sin() * dth + d2ph / (th.sin() * th.sin());
        let lap = eval(&b, &lc, &point(th, ph));
        assert!(
            (lap - lap_fd).abs() < 1e-4 * (1.0 + lap.abs()),
            "{lap} vs {lap_fd}"
        );
    }
}

#[test]
fn zonal_laplacian_matches_finite_differences() {
    for d in [2usize, 3, 5, 8] {
        let b = ZonalBasis::new(10, d);
        let c = sample_coefficients(b.len(), 10, b.degrees());
        let lc: Vec<f64> = (0..b.len())
            .map(|i| b.laplacian_eigenvalue(i) * c[i])
            .collect();
        let at = |t: f64| {
            let mut x = vec![0.0; d];
            x[0] = (1.0 - t * t).sqrt();
            x[d - 1] = t;
            x
        };
        let h = 1e-4;
        for &t in &[-0.6, 0.1, 0.8] {
            let f = |s: f64| eval(&b, &c, &at(s));
            let d1 = (f(t + h) - f(t - h)) / (2.0 * h);
            let d2 = (f(t + h) - 2.0 * f(t) + f(t - h)) / (h * h);
            let lap_fd = (1.0 - t * t) * d2 - (d as f64 - 1.0) * t * d1;
            let lap = eval(&b, &lc, &at(t));
            assert!(
                (lap - lap_fd).abs() < 1e-4 * (1.0 + lap.abs()),
                "d={d} t={t}: {lap} vs {lap_fd}"
            );
        }
    }
}

/// `(K_s * Y_i)(x) = sum_k w_k exp(beta(<x, x_k> - 1)) Y_i(x_k)` by direct quadrature on a grid
/// fine enough for the kernel, against the multiplier `e^{-beta} lambda_l` times `Y_i(x)`.
#[test]
fn kernel_multiplier_matches_direct_quadrature_circle_and_sphere() {
    let beta = 3.0;
    // Circle.
    let b = CircleBasis::new(40);
    let mult = b.kernel_multipliers(beta);
    let th = b.angles();
    let w = b.grid_weights().to_vec();
    for i in [1usize, 2, 5, 8] {
        let mut c = vec![0.0; b.len()];
        c[i] = 1.0;
        let mut g = vec![0.0; b.grid_len()];
        b.synthesize(&c, &mut g);
        for &j in &[0usize, 7, 33] {
            let direct: f64 = (0..th.len())
                .map(|k| w[k] * (beta * ((th[j] - th[k]).cos() - 1.0)).exp() * g[k])
                .sum();
            assert!(
                (direct - mult[i] * g[j]).abs() < 1e-13,
                "circle i={i}: {direct} vs {}",
                mult[i] * g[j]
            );
        }
    }
    // Sphere.
    let b = SphereBasis::new(30);
    let mult = b.kernel_multipliers(beta);
    let (nlat, nlon) = b.grid_size();
    let xs = b.ring_nodes().to_vec();
    let w = b.grid_weights().to_vec();
    let pts: Vec<[f64; 3]> = (0..nlat * nlon)
        .map(|k| {
            let (r, j) = (k / nlon, k % nlon);
            let ph = 2.0 * std::f64::consts::PI * j as f64 / nlon as f64;
            let s = (1.0 - xs[r] * xs[r]).sqrt();
            [s * ph.cos(), s * ph.sin(), xs[r]]
        })
        .collect();
    for (l, m, sine) in [
        (1usize, 0usize, false),
        (2, 1, true),
        (3, 3, false),
        (5, 2, false),
    ] {
        let i = SphereBasis::index(l, m, sine);
        let mut c = vec![0.0; b.len()];
        c[i] = 1.0;
        let mut g = vec![0.0; b.grid_len()];
        b.synthesize(&c, &mut g);
        for &j in &[5usize, 1000, nlat * nlon - 17] {
            let x = pts[j];
            let direct: f64 = pts
                .iter()
                .zip(&w)
                .zip(&g)
                .map(|((y, wk), gk)| {
                    wk * (beta * (x[0] * y[0] + x[1] * y[1] + x[2] * y[2] - 1.0)).exp() * gk
                })
                .sum();
            assert!(
                (direct - mult[i] * g[j]).abs() < 1e-13,
                "sphere l={l} m={m}: {direct} vs {}",
                mult[i] * g[j]
            );
        }
    }
}

/// Funk–Hecke: `e^{-beta} lambda_l = int exp(beta(t-1)) Z_l(t)/Z_l(1) dsigma(t)` by the zonal
/// quadrature, against the Bessel-function multiplier, d = 2, 3, 5, 8.
#[test]
fn kernel_multiplier_matches_funk_hecke_quadrature_zonal() {
    for d in [2usize, 3, 5, 8] {
        for beta in [1.0, 9.0] {
            let b = ZonalBasis::new(60, d);
            let mult = b.kernel_multipliers(beta);
            let mut z = vec![0.0; 61];
            let mut z1 = vec![0.0; 61];
            b.zonal_harmonics(1.0, &mut z1);
            let mut integral = vec![0.0; 61];
            for (t, w) in b.nodes().iter().zip(b.grid_weights()) {
                b.zonal_harmonics(*t, &mut z);
                for l in 0..=60 {
                    integral[l] += w * (beta * (t - 1.0)).exp() * z[l] / z1[l];
                }
            }
            for l in 0..=12 {
                // Relative 1e-11, or absolute 1e-14 where cancellation in the quadrature dominates.
                let err = (integral[l] - mult[l]).abs();
                assert!(
                    err < 1e-11 * mult[l] + 1e-14,
                    "d={d} beta={beta} l={l}: {} vs {} ({err:e})",
                    integral[l],
                    mult[l]
                );
            }
        }
    }
}
