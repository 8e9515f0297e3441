//! The harmonic engine: every SIMD path against the portable one (grid transforms and point
//! kernels), point moments / values / gradients against the addition theorem with Legendre
//! polynomials from `special::gegenbauer` (an independent recurrence), poles included,
//! weighted tokens, thread-count independence, `Box<dyn Basis>` in the solver, and the
//! L = 1023 round trip.

use attnflow::particles::{SphereHarmonicField, VelocityField};
use attnflow::pde::{solve, PdeConfig, Stepping, Summary};
use attnflow::special::gegenbauer;
use attnflow::spectral::{
    basis_for, Basis, CircleBasis, Geometry, SimdPath, SphereBasis, ZonalBasis,
};
use attnflow::{Model, TimeUnit};

/// Deterministic pseudo-random numbers in [-1, 1] (splitmix64).
fn uniform(n: usize, seed: u64) -> Vec<f64> {
    let mut s = seed;
    (0..n)
        .map(|_| {
            s = s.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = s;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^= z >> 31;
            (z >> 11) as f64 / (1u64 << 52) as f64 - 1.0
        })
        .collect()
}

/// Unit vectors in R^3: pseudo-random ones plus both poles and points within 1e-9 of them.
fn sphere_points(n: usize, seed: u64) -> Vec<f64> {
    let mut x = Vec::new();
    for p in [
        [0.0, 0.0, 1.0],
        [0.0, 0.0, -1.0],
        [1e-9, 0.0, 1.0],
        [0.0, -1e-9, -1.0],
        [3e-5, 4e-5, 1.0],
    ] {
        let r: f64 = p[0] * p[0] + p[1] * p[1] + p[2] * p[2];
        x.extend(p.iter().map(|v| v / r.sqrt()));
    }
    let u = uniform(3 * n, seed);
    for v in u.chunks(3) {
        let r = (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]).sqrt().max(1e-3);
        x.extend(v.iter().map(|c| c / r));
    }
    for v in x.chunks_mut(3) {
        let r = (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]).sqrt();
        v.iter_mut().for_each(|c| *c /= r);
    }
    x
}

fn max_abs_diff(a: &[f64], b: &[f64]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}

#[test]
fn every_simd_path_matches_the_portable_transform() {
    for (lmax, nlat, nlon) in [
        (127usize, 128usize, 256usize),
        (100, 151, 304),
        (33, 34, 68),
    ] {
        let portable = SphereBasis::with_grid(lmax, nlat, nlon)
            .with_simd_path(SimdPath::Portable)
            .unwrap();
        let c = uniform(portable.len(), 7);
        let mut g0 = vec![0.0; portable.grid_len()];
        let mut c0 = vec![0.0; portable.len()];
        portable.synthesize(&c, &mut g0);
        portable.analyze(&g0, &mut c0);
        for path in SimdPath::available() {
            let b = SphereBasis::with_grid(lmax, nlat, nlon)
                .with_simd_path(path)
                .unwrap();
            let mut g = vec![0.0; b.grid_len()];
            let mut back = vec![0.0; b.len()];
            b.synthesize(&c, &mut g);
            b.analyze(&g0, &mut back);
            let gmax = g0.iter().fold(0.0f64, |a, v| a.max(v.abs()));
            let (eg, ec) = (max_abs_diff(&g, &g0) / gmax, max_abs_diff(&back, &c0));
            eprintln!(
                "L={lmax} {}: synthesis {eg:.1e} (relative to max |grid|), analysis {ec:.1e}",
                path.name()
            );
            assert!(eg < 1e-13 && ec < 1e-13, "{}: {eg} {ec}", path.name());
        }
    }
}

#[test]
fn sphere_round_trip_l1023_minimal_grid() {
    let b = SphereBasis::with_grid(1023, 1024, 2048);
    let c = uniform(b.len(), 5);
    let mut g = vec![0.0; b.grid_len()];
    let mut back = vec![0.0; b.len()];
    b.synthesize(&c, &mut g);
    b.analyze(&g, &mut back);
    let e = max_abs_diff(&c, &back);
    eprintln!("sphere L=1023 minimal grid: max round-trip error {e:e}");
    assert!(e < 1e-12, "{e}");
}

/// `sum_m Y_lm(x) Y_lm(y) = (2l+1) P_l(<x,y>)`: the moments of one point `y` (mass 1),
/// restricted to degree `l` and evaluated at `x`, give `(2l+1) P_l(<x,y>)`; the gradient gives
/// `(2l+1) P_l'(t) (y - t x)` with `P_l' = C^{3/2}_{l-1}`.
#[test]
fn point_moments_values_and_gradients_satisfy_the_addition_theorem() {
    let lmax = 40;
    let b = SphereBasis::new(lmax);
    let x = sphere_points(60, 3);
    let n = x.len() / 3;
    let ys = sphere_points(6, 9);
    let mut worst: f64 = 0.0;
    for y in ys.chunks(3) {
        let mut mom = vec![0.0; b.len()];
        b.point_moments(y, Some(&[1.0]), &mut mom);
        for l in [0usize, 1, 2, 7, 23, 40] {
            let mut c = vec![0.0; b.len()];
            c[l * l..(l + 1) * (l + 1)].copy_from_slice(&mom[l * l..(l + 1) * (l + 1)]);
            let (mut v, mut g) = (vec![0.0; n], vec![0.0; 3 * n]);
            b.gradient_points(&c, &x, &mut v, &mut g);
            let mut v2 = vec![0.0; n];
            b.evaluate_points(&c, &x, &mut v2);
            assert_eq!(v, v2, "values with and without gradients");
            for j in 0..n {
                let xj = &x[3 * j..3 * j + 3];
                let t: f64 = (0..3).map(|i| xj[i] * y[i]).sum::<f64>().clamp(-1.0, 1.0);
                let lf = (2 * l + 1) as f64;
                let want = lf * gegenbauer(l, 0.5, t);
                let dp = if l == 0 {
                    0.0
                } else {
                    lf * gegenbauer(l - 1, 1.5, t)
                };
                let scale = lf;
                let ev = (v[j] - want).abs() / scale;
                let mut eg: f64 = 0.0;
                for i in 0..3 {
                    eg = eg.max(
                        (g[3 * j + i] - dp * (y[i] - t * xj[i])).abs()
                            / (scale * (l * l + 1) as f64),
                    );
                }
                worst = worst.max(ev.max(eg));
                assert!(
                    ev < 1e-12 && eg < 1e-12,
                    "l={l} x={xj:?} y={y:?}: value {ev:e} gradient {eg:e}"
                );
            }
        }
    }
    eprintln!("addition theorem: worst relative error {worst:e}");
}

#[test]
fn every_simd_path_matches_the_portable_point_kernels() {
    let x = sphere_points(500, 4);
    let n = x.len() / 3;
    let eig: Vec<f64> = (0..=25).map(|l| (-(l as f64) * 0.4).exp()).collect();
    let reference = SphereHarmonicField::new(3.0, Model::Sa, eig.clone())
        .with_simd_path(SimdPath::Portable)
        .unwrap();
    let mut v0 = vec![0.0; 3 * n];
    let e0 = reference.evaluate(&x, &mut v0);
    for path in SimdPath::available() {
        let f = SphereHarmonicField::new(3.0, Model::Sa, eig.clone())
            .with_simd_path(path)
            .unwrap();
        let mut v = vec![0.0; 3 * n];
        let e = f.evaluate(&x, &mut v);
        let d = max_abs_diff(&v, &v0);
        eprintln!(
            "points {}: velocity {d:.1e}, mean {:.1e}",
            path.name(),
            (e - e0).abs()
        );
        assert!(d < 1e-13 && (e - e0).abs() < 1e-14, "{}: {d}", path.name());
    }
}

/// A token of mass 2/(N+1) among tokens of mass 1/(N+1) equals the same token listed twice.
#[test]
fn weighted_moments_equal_repeated_tokens() {
    let x = sphere_points(40, 8);
    let n = x.len() / 3;
    let mut dup = x.clone();
    dup.extend_from_slice(&x[3 * 7..3 * 8]);
    let mut mass = vec![1.0 / (n + 1) as f64; n];
    mass[7] = 2.0 / (n + 1) as f64;
    let circle: Vec<f64> = x
        .chunks(3)
        .flat_map(|p| {
            let r = p[0].hypot(p[1]).max(1e-300);
            [p[0] / r, p[1] / r]
        })
        .collect();
    let mut circle_dup = circle.clone();
    circle_dup.extend_from_slice(&circle[14..16]);
    type Case<'a> = (Box<dyn Basis>, &'a [f64], &'a [f64]);
    let bases: Vec<Case> = vec![
        (Box::new(SphereBasis::new(20)), &x, &dup),
        (Box::new(CircleBasis::new(20)), &circle, &circle_dup),
        (Box::new(ZonalBasis::new(20, 3)), &x, &dup),
    ];
    for (b, pts, pts_dup) in bases {
        let (mut a, mut c) = (vec![0.0; b.len()], vec![0.0; b.len()]);
        b.point_moments(pts, Some(&mass), &mut a);
        b.point_moments(pts_dup, None, &mut c);
        let d = max_abs_diff(&a, &c);
        assert!(d < 1e-14, "{}: {d}", b.geometry().name());
        assert!((a[0] - 1.0).abs() < 1e-14);
    }
}

/// `evaluate_weighted` against the exact weighted sum (`beta = 5`, USA and SA).
#[test]
fn weighted_fast_summation_matches_the_exact_sum() {
    let beta = 5.0;
    let x = sphere_points(300, 12);
    let n = x.len() / 3;
    let raw: Vec<f64> = uniform(n, 13).iter().map(|u| 1.5 + u).collect();
    let total: f64 = raw.iter().sum();
    let mass: Vec<f64> = raw.iter().map(|m| m / total).collect();
    let eig = attnflow::particles::velocity::scaled_eigenvalues(beta, 3, 200);
    for model in [Model::Usa, Model::Sa] {
        let f = SphereHarmonicField::new(beta, model, eig.clone());
        let mut v = vec![0.0; 3 * n];
        let mean = f.evaluate_weighted(&x, &mass, &mut v);
        // Exact: Phi(x_i) = sum_j m_j e^{beta(<x_i,x_j> - 1)}, grad = beta sum_j m_j e^(..) P x_j.
        let (mut want_mean, mut worst, mut vmax): (f64, f64, f64) = (0.0, 0.0, 0.0);
        for i in 0..n {
            let xi = &x[3 * i..3 * i + 3];
            let (mut phi, mut s) = (0.0, [0.0; 3]);
            for j in 0..n {
                let xj = &x[3 * j..3 * j + 3];
                let t: f64 = (0..3).map(|k| xi[k] * xj[k]).sum();
                let w = mass[j] * (beta * (t - 1.0)).exp();
                phi += w;
                for k in 0..3 {
                    s[k] += w * (xj[k] - t * xi[k]);
                }
            }
            want_mean += mass[i] * phi;
            let scale = if model == Model::Usa { 1.0 } else { 1.0 / phi };
            for k in 0..3 {
                worst = worst.max((v[3 * i + k] - s[k] * scale).abs());
                vmax = vmax.max((s[k] * scale).abs());
            }
        }
        eprintln!(
            "weighted fast vs exact ({model:?}): {:.1e} relative",
            worst / vmax
        );
        assert!(worst < 1e-10 * vmax, "{model:?}: {worst} vs {vmax}");
        assert!((mean - want_mean).abs() < 1e-12 * want_mean);
        // Equal masses reproduce the unweighted evaluation.
        let eq = vec![1.0 / n as f64; n];
        let (mut a, mut b) = (vec![0.0; 3 * n], vec![0.0; 3 * n]);
        let ma = f.evaluate_weighted(&x, &eq, &mut a);
        let mb = f.evaluate(&x, &mut b);
        assert!(max_abs_diff(&a, &b) < 1e-15 && (ma - mb).abs() < 1e-15);
    }
}

#[test]
fn point_kernels_are_bitwise_independent_of_thread_count() {
    let x = sphere_points(3000, 21);
    let n = x.len() / 3;
    let run = |threads: usize| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| {
                let b = SphereBasis::new(30);
                let mut m = vec![0.0; b.len()];
                b.point_moments(&x, None, &mut m);
                let (mut v, mut g) = (vec![0.0; n], vec![0.0; 3 * n]);
                b.gradient_points(&m, &x, &mut v, &mut g);
                (m, v, g)
            })
    };
    let (a, b) = (run(1), run(3));
    let same = |p: &[f64], q: &[f64]| p.iter().zip(q).all(|(x, y)| x.to_bits() == y.to_bits());
    assert!(same(&a.0, &b.0) && same(&a.1, &b.1) && same(&a.2, &b.2));
}

/// The solver on `Box<dyn Basis>` (made from the geometry, refined through `Basis::refined`)
/// gives the same bits as on the concrete basis.
#[test]
fn solver_runs_on_boxed_bases_with_refinement() {
    let cfg = PdeConfig {
        model: Model::Usa,
        beta: 4.0,
        nu: 0.0,
        time: TimeUnit::Scaled,
        t_end: 1.5,
        outputs: 4,
        stepping: Stepping::Adaptive { tol: 1e-9 },
        resolution_tol: 1e-14,
        refine: true,
        lmax_limit: 40,
    };
    let run = |basis: Box<dyn Basis>| {
        let mut c0 = vec![0.0; basis.len()];
        c0[0] = 1.0;
        c0[SphereBasis::index(2, 1, false)] = 0.1;
        c0[SphereBasis::index(3, 0, false)] = 0.05;
        let mut frames = Vec::new();
        let mut s = Summary::default();
        solve(
            basis,
            &c0,
            &cfg,
            |f| {
                frames.push(f.coefficients.to_vec());
                Ok(())
            },
            |_| {},
            &mut s,
        )
        .unwrap();
        (frames, s.refinements.len())
    };
    let (boxed, nref) = run(basis_for(Geometry::Sphere, 8, 3));
    assert!(nref > 0, "expected a refinement");
    let mut concrete = Vec::new();
    let b = SphereBasis::new(8);
    let mut c0 = vec![0.0; b.len()];
    c0[0] = 1.0;
    c0[SphereBasis::index(2, 1, false)] = 0.1;
    c0[SphereBasis::index(3, 0, false)] = 0.05;
    let mut s = Summary::default();
    solve(
        b,
        &c0,
        &cfg,
        |f| {
            concrete.push(f.coefficients.to_vec());
            Ok(())
        },
        |_| {},
        &mut s,
    )
    .unwrap();
    assert_eq!(boxed, concrete);
}
