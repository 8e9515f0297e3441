//! Gauss–Gegenbauer and Gauss–Legendre rules against 40-digit mpmath rules
//! (tests/fixtures/quadrature_*_mpmath.csv, made by scripts/reference_quadrature.py), closed-form
//! moments (Beta functions), closed-form Chebyshev rules, symmetry and total mass.

use attnflow::special::{
    gauss_gegenbauer, gauss_legendre, gegenbauer_weight_mass, sphere_zonal_rule, Quadrature,
};
use std::collections::BTreeMap;

fn read_csv(name: &str) -> Vec<Vec<f64>> {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).expect("fixture");
    text.lines()
        .skip(1)
        .map(|l| l.split(',').map(|f| f.parse().unwrap()).collect())
        .collect()
}

/// One reference rule: `a`, the non-negative nodes ascending, their weights.
type RefRule = (f64, Vec<f64>, Vec<f64>);

/// Reference rules keyed by (n, bits of a).
fn reference_rules() -> BTreeMap<(usize, u64), RefRule> {
    let mut map: BTreeMap<(usize, u64), RefRule> = BTreeMap::new();
    for r in read_csv("quadrature_gegenbauer_mpmath.csv") {
        let e = map
            .entry((r[0] as usize, r[1].to_bits()))
            .or_insert((r[1], vec![], vec![]));
        e.1.push(r[2]);
        e.2.push(r[3]);
    }
    map
}

/// The non-negative half of a rule, ascending.
fn upper_half(q: &Quadrature) -> (&[f64], &[f64]) {
    let n = q.len();
    (&q.nodes[n / 2..], &q.weights[n / 2..])
}

/// Nodes to 1 ulp (of the node itself; measured: correctly rounded) and weights to 2e-15
/// relative (measured 6.4e-16), n up to 1000, a up to 31; the
/// probability rule `sphere_zonal_rule` (weights computed without mu0) for the sphere cases.
#[test]
fn gegenbauer_rules_match_mpmath() {
    let refs = reference_rules();
    assert_eq!(refs.len(), 22);
    let mut worst_x: f64 = 0.0;
    let mut worst_w: f64 = 0.0;
    for (&(n, _), (a, xs, ws)) in &refs {
        let a = *a;
        if a > 100.0 {
            continue; // see large_a_is_usable
        }
        let q = gauss_gegenbauer(n, a);
        assert_eq!(q.len(), n);
        let (x, w) = upper_half(&q);
        assert_eq!(x.len(), xs.len());
        let mu0 = gegenbauer_weight_mass(a);
        let sphere = if (2.0 * a).fract() == 0.0 {
            Some(sphere_zonal_rule(n, (2.0 * a) as usize + 2))
        } else {
            None
        };
        let (mut gx, mut gw, mut gi) = (0.0f64, 0.0f64, 0);
        for i in 0..xs.len() {
            let ex0 = (x[i] - xs[i]).abs();
            let ew0 = ((w[i] - ws[i]) / ws[i]).abs();
            gx = gx.max(ex0);
            if ew0 > gw {
                gw = ew0;
                gi = i;
            }
        }
        println!("n={n} a={a}: node {gx:e} weight {gw:e} at x={}", x[gi]);
        for i in 0..xs.len() {
            let ex = (x[i] - xs[i]).abs();
            let ew = ((w[i] - ws[i]) / ws[i]).abs();
            worst_x = worst_x.max(ex);
            worst_w = worst_w.max(ew);
            assert!(
                ex <= 2.3e-16 * xs[i].abs(),
                "n={n} a={a} node {i}: {} vs {}",
                x[i],
                xs[i]
            );
            assert!(
                ew <= 2e-15,
                "n={n} a={a} weight {i}: {} vs {} ({ew:e})",
                w[i],
                ws[i]
            );
            if let Some(s) = &sphere {
                let (sx, sw) = upper_half(s);
                assert_eq!(sx[i], x[i]);
                let ep = ((sw[i] - ws[i] / mu0) / (ws[i] / mu0)).abs();
                assert!(ep <= 2e-15, "sphere rule n={n} a={a} weight {i}: {ep:e}");
            }
        }
    }
    println!("worst node error {worst_x:e}, worst relative weight error {worst_w:e}");
}

/// a = 511 (d = 1024): finite, ordered, total mass right, nodes to 1 ulp and weights to 2e-15
/// where they are normal numbers (the extreme ones underflow: they are below 1e-300 of the
/// total).
#[test]
fn large_a_is_usable() {
    let refs = reference_rules();
    let mut worst: f64 = 0.0;
    for (&(n, _), (a, xs, ws)) in refs.iter().filter(|(_, v)| v.0 > 100.0) {
        let q = gauss_gegenbauer(n, *a);
        assert!(q.nodes.windows(2).all(|p| p[0] < p[1]));
        assert!(q.weights.iter().all(|w| w.is_finite() && *w >= 0.0));
        let mu0 = gegenbauer_weight_mass(*a);
        assert!((q.total_weight() / mu0 - 1.0).abs() <= 4e-15);
        let (x, w) = upper_half(&q);
        for i in 0..xs.len() {
            assert!(
                (x[i] - xs[i]).abs() <= 2.3e-16 * xs[i].abs(),
                "n={n} node {i}"
            );
            if ws[i] > 1e-290 {
                let ew = ((w[i] - ws[i]) / ws[i]).abs();
                worst = worst.max(ew);
                assert!(ew <= 2e-15, "n={n} a={a} weight {i}: {} vs {}", w[i], ws[i]);
            }
        }
    }
    println!("a = 511: worst relative weight error {worst:e}");
    let q = gauss_gegenbauer(1000, 511.0);
    assert!(q.weights.iter().all(|w| w.is_finite() && *w >= 0.0));
    assert!((q.total_weight() / gegenbauer_weight_mass(511.0) - 1.0).abs() <= 4e-15);
}

/// mu0(a) = sqrt(pi) Gamma(a + 1/2) / Gamma(a + 1) against mpmath, and every rule's total mass.
#[test]
fn weights_sum_to_mu0() {
    for r in read_csv("quadrature_mu0_mpmath.csv") {
        let (a, mu0) = (r[0], r[1]);
        let got = gegenbauer_weight_mass(a);
        assert!(((got - mu0) / mu0).abs() <= 1e-15, "a={a}: {got} vs {mu0}");
        for n in [1usize, 2, 3, 4, 7, 64, 301] {
            let q = gauss_gegenbauer(n, a);
            let rel = (q.total_weight() / mu0 - 1.0).abs();
            assert!(rel <= 2e-15, "n={n} a={a}: {rel:e}");
            let p = q.normalized();
            assert!((p.total_weight() - 1.0).abs() <= 2.3e-16);
        }
    }
    // a > 1e4 uses the asymptotic series: continuity with the product route at the switch
    let a = 1e4f64;
    let (lo, hi) = (
        gegenbauer_weight_mass(a),
        gegenbauer_weight_mass(a.next_up()),
    );
    assert!(((lo - hi) / lo).abs() <= 4.5e-16, "{lo} vs {hi}");
}

/// int t^{2m} (1 - t^2)^{a - 1/2} dt = B(m + 1/2, a + 1/2) = mu0 prod_{j<m} (j + 1/2)/(j + a + 1),
/// odd moments 0: exact through degree 2n - 1 and (sharpness) not at degree 2n.
#[test]
fn exact_on_monomials_to_degree_2n_minus_1() {
    for a in [0.0, 0.3, 0.5, 1.0, 3.5, 31.0] {
        let mu0 = gegenbauer_weight_mass(a);
        for n in [1usize, 2, 3, 5, 17, 64] {
            let q = gauss_gegenbauer(n, a);
            let mut moment = mu0; // moment of degree 2m
            for k in 0..=2 * n {
                let exact = if k % 2 == 1 { 0.0 } else { moment };
                let got = q.integrate(|t| t.powi(k as i32));
                let err = (got - exact).abs();
                if k < 2 * n {
                    assert!(
                        err <= 4e-15 * mu0,
                        "a={a} n={n} degree {k}: {got} vs {exact}"
                    );
                } else if n <= 5 {
                    // degree 2n: the Gauss error is moment_{2n} - sum w x^{2n} = ||monic P_n||^2
                    // > 0 (visible in double precision for small n only)
                    assert!(exact - got > 1e-10 * exact, "a={a} n={n}: degree 2n exact?");
                }
                if k % 2 == 1 {
                    let m = (k / 2) as f64;
                    moment *= (m + 0.5) / (m + a + 1.0);
                }
            }
        }
    }
}

/// Nodes ascending in (-1, 1), exactly symmetric with equal weights, 0 the middle node for odd n.
#[test]
fn symmetric_and_ordered() {
    for a in [0.0, 0.5, 2.0, 31.0, 511.0] {
        for n in [1usize, 2, 3, 10, 11, 150, 151] {
            let q = gauss_gegenbauer(n, a);
            assert!(q.nodes.windows(2).all(|p| p[0] < p[1]));
            assert!(q.nodes[0] > -1.0 && q.nodes[n - 1] < 1.0);
            for i in 0..n {
                assert_eq!(q.nodes[i], -q.nodes[n - 1 - i]);
                assert_eq!(q.weights[i], q.weights[n - 1 - i]);
            }
            if n % 2 == 1 {
                assert_eq!(q.nodes[n / 2], 0.0);
            }
        }
    }
}

/// Closed forms: a = 0 (Chebyshev T) x_k = cos((2k-1) pi / 2n), w = pi/n; a = 1 (Chebyshev U)
/// x_k = cos(k pi/(n+1)), w = pi/(n+1) sin^2(k pi/(n+1)); d = 2 probability rule w = 1/n.
#[test]
fn chebyshev_closed_forms() {
    let pi = std::f64::consts::PI;
    for n in [1usize, 2, 7, 100, 1000] {
        let t = gauss_gegenbauer(n, 0.0);
        let u = gauss_gegenbauer(n, 1.0);
        let s = sphere_zonal_rule(n, 2);
        let nf = n as f64;
        for k in 0..n {
            // angles measured from the nearer end point (x = -+cos th), so they are small and the
            // closed forms accurate; by symmetry use k' = min(k, n - 1 - k)
            let (kk, sign) = if 2 * k < n {
                (k, -1.0)
            } else {
                (n - 1 - k, 1.0)
            };
            let th = (2 * kk + 1) as f64 * pi / (2.0 * nf);
            assert!((t.nodes[k] - sign * th.cos()).abs() <= 4.5e-16);
            assert!((t.weights[k] / (pi / nf) - 1.0).abs() <= 4e-15);
            assert!((s.weights[k] * nf - 1.0).abs() <= 4e-15);
            let th = (kk + 1) as f64 * pi / (nf + 1.0);
            let w = pi / (nf + 1.0) * th.sin().powi(2);
            if 2 * k + 1 == n {
                assert_eq!(u.nodes[k], 0.0);
            } else {
                assert!(
                    (u.nodes[k] - sign * th.cos()).abs() <= 4.5e-16,
                    "n={n} k={k}"
                );
            }
            assert!((u.weights[k] / w - 1.0).abs() <= 4e-15, "n={n} k={k}");
        }
    }
}

/// gauss_legendre (gauss-quad) against the mpmath a = 1/2 rules, and against gauss_gegenbauer(n, 1/2);
/// the d = 3 probability rule is Gauss–Legendre with weights halved.
#[test]
fn gauss_legendre_verified() {
    let refs = reference_rules();
    let (mut worst_x, mut worst_w) = (0.0f64, 0.0f64);
    for (&(n, _), (a, xs, ws)) in &refs {
        if *a != 0.5 {
            continue;
        }
        let q = gauss_legendre(n);
        let (x, w) = upper_half(&q);
        for i in 0..xs.len() {
            worst_x = worst_x.max((x[i] - xs[i]).abs());
            worst_w = worst_w.max(((w[i] - ws[i]) / ws[i]).abs());
            assert!((x[i] - xs[i]).abs() <= 4.5e-16, "n={n} node {i}");
            assert!(((w[i] - ws[i]) / ws[i]).abs() <= 1e-14, "n={n} weight {i}");
        }
        let s = sphere_zonal_rule(n, 3);
        for i in 0..n {
            assert!((s.nodes[i] - q.nodes[i]).abs() <= 4.5e-16);
            assert!((2.0 * s.weights[i] / q.weights[i] - 1.0).abs() <= 2e-14);
        }
    }
    println!("gauss_legendre vs mpmath: nodes {worst_x:e} absolute, weights {worst_w:e} relative");
}

/// The probability rule integrates zonal polynomials against the uniform measure on S^{d-1}:
/// E[<x,e>^2] = 1/d, E[<x,e>^4] = 3/(d(d+2)).
#[test]
fn sphere_rule_moments() {
    for d in [2usize, 3, 4, 5, 8, 64, 1024] {
        let q = sphere_zonal_rule(6, d);
        let df = d as f64;
        assert!((q.integrate(|t| t * t) * df - 1.0).abs() <= 1e-14);
        assert!((q.integrate(|t| t.powi(4)) * df * (df + 2.0) / 3.0 - 1.0).abs() <= 1e-14);
        let p = gauss_gegenbauer(6, (df - 2.0) / 2.0).normalized();
        for i in 0..6 {
            assert!((p.weights[i] / q.weights[i] - 1.0).abs() <= 1e-14);
        }
    }
}

#[test]
#[should_panic(expected = "accepted n >= 1")]
fn zero_nodes_rejected() {
    gauss_gegenbauer(0, 1.0);
}

#[test]
#[should_panic(expected = "accepted a finite number >= 0")]
fn negative_a_rejected() {
    gauss_gegenbauer(4, -0.25);
}

/// A sweep over n and a (including non-sphere a, and a far beyond the sphere cases): nodes
/// strictly ascending in (-1, 1), weights finite and non-negative, total mass mu0, and the
/// highest even moment the rule must integrate exactly (degree 2n - 2).
#[test]
fn parameter_sweep_is_robust() {
    for a in [0.0, 0.1, 0.5, 1.0, 2.7, 10.0, 31.5, 100.0, 511.0, 2000.0] {
        let mu0 = gegenbauer_weight_mass(a);
        for n in [1usize, 2, 3, 4, 9, 16, 33, 100, 257] {
            let q = gauss_gegenbauer(n, a);
            assert!(q.nodes.windows(2).all(|p| p[0] < p[1]), "n={n} a={a}");
            assert!(q.nodes[0] > -1.0 && q.nodes[n - 1] < 1.0);
            assert!(q.weights.iter().all(|w| w.is_finite() && *w >= 0.0));
            let rel = (q.total_weight() / mu0 - 1.0).abs();
            assert!(rel <= 1e-14, "n={n} a={a}: mass {rel:e}");
            let m = n - 1; // moment of degree 2m = 2n - 2
            let exact = (0..m).fold(mu0, |acc, j| {
                let jf = j as f64;
                acc * (jf + 0.5) / (jf + a + 1.0)
            });
            if exact > 1e-300 {
                let got = q.integrate(|t| t.powi(2 * m as i32));
                assert!(
                    ((got - exact) / exact).abs() <= 1e-12,
                    "n={n} a={a}: {got} vs {exact}"
                );
            }
        }
    }
}

/// Beyond the mpmath fixture: gauss_gegenbauer(n, 1/2) against gauss-quad's Gauss–Legendre
/// (Bogaert's asymptotic method, an independent algorithm) at n = 1500. The node tolerance is
/// gauss-quad's accuracy (3.9e-16 against mpmath at n = 1000, where ours are correctly rounded).
#[test]
fn legendre_case_agrees_with_gauss_quad_at_large_n() {
    let n = 1500;
    let g = gauss_gegenbauer(n, 0.5);
    let l = gauss_legendre(n);
    let (mut wx, mut ww) = (0.0f64, 0.0f64);
    for i in 0..n {
        wx = wx.max((g.nodes[i] - l.nodes[i]).abs());
        ww = ww.max((g.weights[i] / l.weights[i] - 1.0).abs());
    }
    println!("n = {n}: nodes {wx:e} absolute, weights {ww:e} relative");
    assert!(wx <= 1e-15 && ww <= 1.5e-15, "{wx:e} {ww:e}");
}
