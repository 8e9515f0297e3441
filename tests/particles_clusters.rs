//! Cluster counting on constructed configurations and on a real meta-stable run.

use attnflow::analysis::{find_clusters, ClusterParams};
use attnflow::particles::{
    build_velocity_field, run_ensemble, Method, RunConfig, StepControl, TokenState,
};
use attnflow::Model;

/// `k` clumps of `per` tokens with angular spread `width` around well-separated centres
/// (a Fibonacci-like spread on S^2, evenly spaced on the circle), plus `extra` rows appended.
fn clumps(dim: usize, k: usize, per: usize, width: f64, seed: u64) -> Vec<f64> {
    let noise = TokenState::uniform(k * per, dim, seed, 1);
    let mut x = Vec::new();
    for c in 0..k {
        let centre: Vec<f64> = match dim {
            2 => {
                let th = 2.0 * std::f64::consts::PI * c as f64 / k as f64;
                vec![th.cos(), th.sin()]
            }
            _ => {
                let z = 1.0 - (2.0 * c as f64 + 1.0) / k as f64;
                let r = (1.0 - z * z).sqrt();
                let ph = 2.399963 * c as f64;
                let mut v = vec![r * ph.cos(), r * ph.sin(), z];
                v.resize(dim, 0.0);
                v
            }
        };
        for p in 0..per {
            let e = noise.row(c * per + p);
            let row: Vec<f64> = (0..dim)
                .map(|d| centre[d] + width * e[d] * ((p % 7) as f64 / 7.0))
                .collect();
            x.extend(row);
        }
    }
    TokenState::from_rows(k * per, dim, x).unwrap().0.x
}

#[test]
fn well_separated_clumps_are_counted() {
    let p = ClusterParams::default();
    for dim in [2usize, 3, 4] {
        for k in [1usize, 2, 5, 9] {
            let x = clumps(dim, k, 60, 0.01, 3);
            let c = find_clusters(&x, dim, &p);
            assert_eq!(c.count(), k, "d={dim} k={k}: {:?}", c.sizes);
            assert!(
                c.sizes.iter().all(|&s| s == 60),
                "d={dim} k={k}: {:?}",
                c.sizes
            );
        }
    }
}

#[test]
fn uniform_tokens_have_no_cluster() {
    let p = ClusterParams::default();
    for (dim, n) in [(2usize, 2000usize), (3, 5000), (4, 800)] {
        for seed in 0..3 {
            let x = TokenState::uniform(n, dim, seed, 0).x;
            assert_eq!(find_clusters(&x, dim, &p).count(), 0, "d={dim} seed={seed}");
        }
    }
}

#[test]
fn a_chain_of_stragglers_does_not_merge_clusters() {
    // 4 clumps of 200 tokens on the circle plus 300 stragglers evenly spaced all round, 0.021 rad
    // apart (< delta = 0.03): single linkage would report one cluster, the density rule 4.
    let mut x = clumps(2, 4, 200, 0.005, 4);
    for j in 0..300 {
        let th = 2.0 * std::f64::consts::PI * (j as f64 + 0.5) / 300.0 + 0.1;
        x.extend([th.cos(), th.sin()]);
    }
    let c = find_clusters(&x, 2, &ClusterParams::default());
    assert_eq!(c.count(), 4, "{:?}", c.sizes);
    assert!(
        c.sizes.iter().all(|&s| (200..=206).contains(&s)),
        "{:?}",
        c.sizes
    );
}

#[test]
fn grid_search_agrees_with_brute_force() {
    // Embed S^2 into S^3 (fourth coordinate 0): same distances, brute-force path for d = 4.
    // The density rule depends on d, so it is switched off (density_factor tiny) for both.
    let p = ClusterParams {
        density_factor: 1e-9,
        ..ClusterParams::default()
    };
    let mut x3 = clumps(3, 6, 40, 0.05, 5);
    x3.extend(TokenState::uniform(200, 3, 6, 0).x);
    let x4: Vec<f64> = x3.chunks(3).flat_map(|r| [r[0], r[1], r[2], 0.0]).collect();
    let a = find_clusters(&x3, 3, &p);
    let b = find_clusters(&x4, 4, &p);
    assert_eq!(a.sizes, b.sizes);
    assert!(a.count() >= 6);
    // The circle's sorted-angle path against the S^2 grid path (circle = equator of S^2).
    let mut x2 = clumps(2, 5, 50, 0.04, 7);
    x2.extend(TokenState::uniform(150, 2, 8, 0).x);
    let x3e: Vec<f64> = x2.chunks(2).flat_map(|r| [r[0], r[1], 0.0]).collect();
    let c = find_clusters(&x2, 2, &p);
    let d = find_clusters(&x3e, 3, &p);
    assert_eq!(c.sizes, d.sizes);
    // Same partition (cluster numbering of equal-size clusters may differ).
    let canon = |labels: &[Option<usize>]| -> Vec<Option<usize>> {
        let mut map = std::collections::HashMap::new();
        labels
            .iter()
            .map(|l| {
                l.map(|v| {
                    let k = map.len();
                    *map.entry(v).or_insert(k)
                })
            })
            .collect()
    };
    assert_eq!(canon(&c.labels), canon(&d.labels));
    assert!(c.count() >= 5);
}

#[test]
fn meta_stable_circle_at_beta_9_has_l_star_clusters() {
    // beta = 9 on the circle: l* = 4 (linear theory). 16 systems of 400 tokens at tau = 40 (the
    // meta-stable plateau; clusters appear near tau ~ ln(N)/(2 gamma_4) ~ 20): the most frequent
    // cluster count must be l*, and most systems must show it (neighbouring degrees 3 and 5 grow
    // almost as fast, so single systems can differ).
    let (dim, beta, n) = (2usize, 9.0, 400usize);
    let lstar = attnflow::linear::dominant_degree(beta, dim);
    assert_eq!(lstar, 4);
    let field = build_velocity_field(Method::Fast, dim, beta, Model::Usa, n, 1e-12).unwrap();
    let cfg = RunConfig {
        t_end: 40.0,
        control: StepControl::DormandPrince { tol: 1e-8 },
        lmax_power: 8,
        save_every: None,
        series_points: 4,
        spacing: attnflow::particles::RowSpacing::Linear,
        merge_radius: attnflow::particles::COINCIDENT_CHORD,
        clusters: ClusterParams::default(),
    };
    let res = run_ensemble(&cfg, field.as_ref(), n, 16, 2024, None, &|| {
        attnflow::control::Poll::Continue
    })
    .unwrap();
    let mut hist = [0usize; 12];
    for s in &res.systems {
        hist[s.final_cluster_sizes.len().min(11)] += 1;
    }
    let mode = (0..12).max_by_key(|&k| hist[k]).unwrap();
    assert_eq!(mode, lstar, "histogram of counts {hist:?}");
    assert!(hist[lstar] >= 8, "histogram of counts {hist:?}");
}

/// The cluster definition of `attnflow::analysis::clusters` evaluated by brute force
/// (`O(N^2)`: every pair), for comparison with the grid / k-d tree search. Returns the cluster
/// sizes (descending), per token the smallest token index of its cluster (`None`: none), and
/// whether the token is a border token within the radius of two clusters (which one it joins
/// depends on the search order, so such tokens are left out of the comparison).
type Brute = (Vec<usize>, Vec<Option<usize>>, Vec<bool>);
fn clusters_brute_force(x: &[f64], dim: usize, p: &ClusterParams) -> Brute {
    let n = x.len() / dim;
    let chord = 2.0 * (p.radius / 2.0).sin();
    let c2 = chord * chord;
    let nf = n as f64;
    let k_core = 3usize.max((p.min_fraction * nf).ceil() as usize).max(
        (p.density_factor * nf * attnflow::analysis::clusters::cap_probability(dim, p.radius))
            .ceil() as usize,
    );
    let near = |i: usize, j: usize| -> bool {
        let d2: f64 = (0..dim)
            .map(|k| (x[i * dim + k] - x[j * dim + k]).powi(2))
            .sum();
        d2 <= c2
    };
    let core: Vec<bool> = (0..n)
        .map(|i| (0..n).filter(|&j| near(i, j)).count() >= k_core)
        .collect();
    // Components of core tokens by repeated relabelling to the smallest index.
    let mut comp: Vec<usize> = (0..n).collect();
    loop {
        let mut changed = false;
        for i in (0..n).filter(|&i| core[i]) {
            for j in (0..n).filter(|&j| core[j] && near(i, j)) {
                if comp[j] < comp[i] {
                    comp[i] = comp[j];
                    changed = true;
                }
            }
        }
        if !changed {
            break;
        }
    }
    let mut label: Vec<Option<usize>> = (0..n)
        .map(|i| if core[i] { Some(comp[i]) } else { None })
        .collect();
    let mut ambiguous = vec![false; n];
    for i in (0..n).filter(|&i| !core[i]) {
        let joined: Vec<usize> = (0..n)
            .filter(|&j| core[j] && near(i, j))
            .map(|j| comp[j])
            .collect();
        if let Some(&c) = joined.first() {
            ambiguous[i] = joined.iter().any(|&d| d != c);
            label[i] = Some(c);
        }
    }
    let mut mass = vec![0usize; n];
    label.iter().flatten().for_each(|&c| mass[c] += 1);
    let min_mass = ((p.min_fraction * nf).ceil() as usize).max(1);
    for l in label.iter_mut() {
        if l.is_some_and(|c| mass[c] < min_mass) {
            *l = None;
        }
    }
    let mut sizes: Vec<usize> = mass.into_iter().filter(|&m| m >= min_mass).collect();
    sizes.sort_unstable_by(|a, b| b.cmp(a));
    (sizes, label, ambiguous)
}

#[test]
fn sphere_search_equals_the_definition_by_brute_force() {
    // Dense clumps (cells that are all core), wide clumps (core tokens counted one by one with
    // the k-d tree) and a uniform background, with the default parameters; every cluster and
    // every token's membership must equal the brute-force evaluation of the definition.
    let p = ClusterParams::default();
    for (width, per, seed) in [(0.002, 150usize, 11u64), (0.03, 150, 12), (0.06, 200, 13)] {
        let mut x = clumps(3, 7, per, width, seed);
        x.extend(TokenState::uniform(1500, 3, seed, 2).x);
        let (sizes, labels, ambiguous) = clusters_brute_force(&x, 3, &p);
        let c = find_clusters(&x, 3, &p);
        assert!(!sizes.is_empty(), "width {width}: no cluster to compare");
        if !ambiguous.contains(&true) {
            assert_eq!(c.sizes, sizes, "width {width}");
        }
        // Same partition (numbered by first appearance) over the unambiguous tokens.
        let canon = |l: &[Option<usize>]| -> Vec<Option<usize>> {
            let mut map = std::collections::HashMap::new();
            l.iter()
                .zip(&ambiguous)
                .filter(|(_, &a)| !a)
                .map(|(v, _)| {
                    v.map(|v| {
                        let k = map.len();
                        *map.entry(v).or_insert(k)
                    })
                })
                .collect()
        };
        assert_eq!(canon(&c.labels), canon(&labels), "width {width}");
    }
}
