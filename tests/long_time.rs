//! Through the long meta-stable phase: weighted tokens, merging of collapsed tokens, the
//! energy staircase of Geshkovski–Koubbi–Polyanskiy–Rigollet reproduced, and two far clusters
//! at large beta that merge at the time of the two-body reduction instead of freezing.

use attnflow::compare::gkpr::{self, GkprSetup};
use attnflow::compare::parts::Parts;
use attnflow::control::{Poll, RunControl};
use attnflow::equiangular;
use attnflow::particles::{
    build_velocity_field, simulate, weighted_pairwise, ExactField, Method, RowSpacing, RunConfig,
    StepControl, TokenState, VelocityField, COINCIDENT_CHORD,
};
use attnflow::Model;

fn rel(a: &[f64], b: &[f64]) -> f64 {
    let scale = b.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    a.iter()
        .zip(b)
        .fold(0.0f64, |m, (x, y)| m.max((x - y).abs()))
        / scale
}

#[test]
fn a_weighted_token_moves_like_its_coincident_copies() {
    for (dim, model) in [(2, Model::Usa), (3, Model::Sa), (5, Model::Usa)] {
        let base = TokenState::uniform(12, dim, 3, 0).x;
        // Token 0 repeated 3 times, token 1 twice: 17 tokens vs 12 weighted tokens.
        let mut copies = base.clone();
        for k in [0, 0, 0, 1, 1] {
            copies.extend_from_slice(&base[k * dim..(k + 1) * dim]);
        }
        let n = copies.len() / dim;
        let mut mass = vec![1.0 / n as f64; 12];
        mass[0] = 4.0 / n as f64;
        mass[1] = 3.0 / n as f64;
        for method in [Method::Exact, Method::Fast] {
            if method == Method::Fast && dim > 3 {
                continue;
            }
            let field = build_velocity_field(method, dim, 4.0, model, 12, 1e-14).unwrap();
            let mut vc = vec![0.0; copies.len()];
            let ec = field.evaluate(&copies, &mut vc);
            let mut vw = vec![0.0; base.len()];
            let ew = field.evaluate_weighted(&base, &mass, &mut vw);
            assert!((ec - ew).abs() < 1e-13 * ec, "{method:?} d={dim}: energy");
            assert!(
                rel(&vw, &vc[..base.len()]) < 1e-12,
                "{method:?} d={dim}: velocity"
            );
        }
        // The tangential reference against the field's own exact sum (unit masses).
        let field = ExactField::new(dim, 4.0, model);
        let mut v = vec![0.0; copies.len()];
        field.evaluate(&copies, &mut v);
        let mut w = vec![0.0; copies.len()];
        weighted_pairwise(dim, 4.0, model, &copies, &vec![1.0 / n as f64; n], &mut w);
        assert!(rel(&w, &v) < 1e-12);
    }
}

#[test]
fn two_far_clusters_at_beta_50_merge_at_the_two_body_time() {
    // Two clusters of 3 coincident tokens each, 2.9 rad apart: the cross weight is
    // exp(50 (cos 2.9 - 1)) ~ 1e-43 of the in-cluster weight. The clusters merge into weighted
    // tokens at once, and their angle then follows the two-body (equiangular, n = 2) ODE.
    let (beta, phi0) = (50.0, 2.9f64);
    let mut x = Vec::new();
    for a in [0.0, 0.0, 0.0, phi0, phi0, phi0] {
        x.extend([f64::cos(a), f64::sin(a)]);
    }
    // Fast (Fourier) summation cannot resolve a 1e-43 attraction; once merged, the few weighted
    // tokens are summed exactly in tangential form whatever the method (EXACT_WEIGHTED_MAX).
    for method in [Method::Exact, Method::Fast] {
        let field = build_velocity_field(method, 2, beta, Model::Usa, 6, 1e-12).unwrap();
        two_clusters_merge(&*field, beta, phi0, x.clone());
    }
}

fn two_clusters_merge(field: &dyn VelocityField, beta: f64, phi0: f64, x: Vec<f64>) {
    let cfg = RunConfig {
        t_end: 1e60,
        control: StepControl::DormandPrince { tol: 1e-10 },
        lmax_power: 1,
        save_every: None,
        series_points: 1,
        spacing: RowSpacing::EveryStep,
        merge_radius: COINCIDENT_CHORD,
        clusters: Default::default(),
    };
    let res = simulate(&cfg, field, x, &mut (), &|| Poll::Continue).unwrap();
    assert_eq!(res.merges.len(), 3, "{:?}", res.merges);
    assert_eq!(res.merges[2].tokens, 6);
    // Time at which the angle between the clusters reaches 1e-3 (rho = cos 1e-3).
    let rho1 = 1e-3f64.cos();
    let want = equiangular::time_to(phi0.cos(), rho1, beta, 2, Model::Usa).unwrap();
    // Two masses 1/2: E_N = (1 + w)/(4 beta) with w = exp(beta (rho - 1)).
    let e1 = (1.0 + (beta * (rho1 - 1.0)).exp()) / (4.0 * beta);
    let k = res.rows.iter().position(|r| r.energy >= e1).unwrap();
    let (r0, r1) = (&res.rows[k - 1], &res.rows[k]);
    let got = r0.time + (e1 - r0.energy) / (r1.energy - r0.energy) * (r1.time - r0.time);
    eprintln!(
        "{}: two-body time {want:.6e}, simulation {got:.6e}, {} steps",
        field.description(),
        res.steps
    );
    assert!(want > 1e40, "the plateau is long: {want:e}");
    assert!((got / want - 1.0).abs() < 1e-5, "{got:e} vs {want:e}");
    assert!(res.steps < 5000, "{} steps", res.steps);
}

#[test]
fn the_published_staircase_is_reproduced() {
    let ctl = RunControl::new();
    let parts = Parts::none(&ctl);
    let out = std::env::temp_dir().join(format!("attnflow-gkpr-{}", std::process::id()));
    std::fs::create_dir_all(&out).unwrap();
    let setup = GkprSetup {
        betas: gkpr::BETAS.to_vec(),
        tol: 1e-8,
        max_iter: 2_000_000,
    };
    let rs = gkpr::run(&setup, &parts, &out).unwrap();
    let want: Vec<Vec<usize>> = vec![
        vec![1, 1, 1, 1, 1],
        vec![2, 1, 1, 1],
        vec![3, 1, 1],
        vec![3, 2],
        vec![5],
    ];
    let reference = include_str!("fixtures/gkpr_descent.csv");
    for (r, line) in rs.iter().zip(reference.lines().skip(1)) {
        let f: Vec<&str> = line.split(',').collect();
        assert_eq!(r.beta, f[0].parse::<f64>().unwrap());
        // Their descent, re-implemented independently in scripts/reference_gkpr.py.
        let s_ref: f64 = f[2].parse().unwrap();
        let s = r.descent.last_merge.unwrap();
        assert!(
            (s - s_ref).abs() < 1.5e-5,
            "beta {}: {s} vs {s_ref}",
            r.beta
        );
        // The exact dynamics: the published partitions, and its arc length / ln beta agrees
        // with their rescaled time.
        assert_eq!(r.exact.partitions, want, "beta {}", r.beta);
        let ds: Vec<Vec<usize>> = r.descent.partitions.iter().map(|p| p.1.clone()).collect();
        assert_eq!(ds, want, "beta {}", r.beta);
        let se = gkpr::first_crossing(&r.exact.s, &r.exact.energy, 0.999).unwrap();
        assert!((se / s - 1.0).abs() < 5e-3, "beta {}: {se} vs {s}", r.beta);
        // The exponentially long last plateau: ln tau ~ 34 at beta = 500, ~304 at 4000, about
        // linear in beta between.
        let last = r.exact.merges.last().unwrap().time.ln();
        let line = 34.0 + (304.0 - 34.0) * (r.beta - 500.0) / 3500.0;
        assert!((last - line).abs() < 1.0, "beta {}: ln tau {last}", r.beta);
        for (p, e) in want.iter().zip([0.20, 0.28, 0.44, 0.52, 1.0]) {
            let plateau = p.iter().map(|v| (v * v) as f64).sum::<f64>() / 25.0;
            assert!((plateau - e).abs() < 0.005);
        }
    }
    // Published: last merge at rescaled time ~0.12 (beta = 500) down to ~0.09 (beta = 4000).
    let first = rs[0].descent.last_merge.unwrap();
    let last = rs[5].descent.last_merge.unwrap();
    assert!((first - 0.12).abs() < 0.005 && (last - 0.09).abs() < 0.005);
    assert!(out.join("gkpr_staircase.png").exists() && out.join("report.md").exists());
}

#[test]
fn close_pairs_are_grouped_transitively() {
    use attnflow::particles::{close_pairs, link_groups};
    let x = [1.0, 0.0, 1.0, 1e-9, 1.0, 2e-9, 0.0, 1.0, 0.0, -1.0];
    let mut pairs: Vec<(usize, usize)> = close_pairs(&x, 2, 1.5e-9)
        .into_iter()
        .map(|p| (p.0, p.1))
        .collect();
    pairs.sort();
    assert_eq!(pairs, vec![(0, 1), (1, 2)]);
    let g = link_groups(5, &pairs).unwrap();
    assert_eq!(g, vec![vec![0, 1, 2], vec![3], vec![4]]);
    assert!(link_groups(5, &[]).is_none());
    let _ = VelocityField::dim(&ExactField::new(2, 1.0, Model::Usa));
}

/// `close_pairs` and `has_pair_between` against the brute-force double loop over all pairs, on
/// clustered tokens (clusters of tight, collapsing and coincident tokens, and spread ones).
#[test]
fn close_pair_scans_match_brute_force() {
    use attnflow::particles::{close_pairs, has_pair_between};
    let dim = 3;
    let mut rng = 12345u64;
    let mut uniform = move || {
        rng = rng
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (rng >> 11) as f64 / (1u64 << 53) as f64 - 0.5
    };
    let mut x = Vec::new();
    // Cluster widths: spread, collapsing (~1e-7), nearly coincident (~1e-15), exactly equal.
    for (centre, width, count) in [(0, 1e-1, 40), (1, 1e-7, 60), (2, 1e-15, 30), (3, 0.0, 5)] {
        let c = [
            [1.0, 0.0, 0.0],
            [0.0, 1.0, 0.0],
            [0.0, 0.0, 1.0],
            [0.6, 0.8, 0.0],
        ][centre];
        for _ in 0..count {
            let p: Vec<f64> = c.iter().map(|v| v + width * uniform()).collect();
            let r = p.iter().map(|v| v * v).sum::<f64>().sqrt();
            x.extend(p.iter().map(|v| v / r));
        }
    }
    let n = x.len() / dim;
    let chord = |i: usize, j: usize| {
        (0..dim)
            .map(|k| (x[i * dim + k] - x[j * dim + k]).powi(2))
            .sum::<f64>()
            .sqrt()
    };
    for radius in [0.0, 1e-14, 1e-6, 1e-2, 0.5] {
        let mut fast: Vec<(usize, usize)> = close_pairs(&x, dim, radius)
            .into_iter()
            .map(|p| (p.0, p.1))
            .collect();
        fast.sort();
        let slow: Vec<(usize, usize)> = (0..n)
            .flat_map(|i| ((i + 1)..n).map(move |j| (i, j)))
            .filter(|&(i, j)| radius > 0.0 && chord(i, j) <= radius)
            .collect();
        assert_eq!(fast, slow, "radius {radius}");
    }
    for (lo, hi) in [
        (0.0, 1e-14),
        (1e-14, 1e-6),
        (1e-6, 1e-3),
        (3e-15, 1e-12),
        (0.5, 0.6),
    ] {
        let slow = (0..n).any(|i| {
            ((i + 1)..n).any(|j| {
                let c = chord(i, j);
                c > lo && c <= hi
            })
        });
        assert_eq!(has_pair_between(&x, dim, lo, hi), slow, "({lo}, {hi}]");
    }
}
