//! Relative precision of the exact velocities between collapsed clusters (issue 10, item 1):
//! `k` copies of `x_A` and `m` copies of `x_B` at inter-cluster weights `1e-40`, `1e-100`,
//! `1e-300` (and `1e-320`, below the clamp of the exponential) against an mpmath reference
//! (`scripts/reference_collapsed_clusters.py`, fixture `tests/fixtures/collapsed_clusters_mpmath.csv`),
//! USA and SA, d = 2, 3, 7, on every code path of the exact summation the processor has.

use attnflow::particles::{ExactField, VelocityField};
use attnflow::spectral::simd::SimdPath;
use attnflow::Model;

struct Case {
    dim: usize,
    model: Model,
    beta: f64,
    k: usize,
    m: usize,
    theta: String,
    weight: f64,
    xa: Vec<f64>,
    xb: Vec<f64>,
    va: Vec<f64>,
    vb: Vec<f64>,
    ua: Vec<f64>,
    ub: Vec<f64>,
}

fn numbers(s: &str) -> Vec<f64> {
    s.split_whitespace().map(|v| v.parse().unwrap()).collect()
}

fn cases() -> Vec<Case> {
    let text = include_str!("fixtures/collapsed_clusters_mpmath.csv");
    let mut lines = text.lines();
    assert_eq!(
        lines.next().unwrap(),
        "dim,model,beta,k,m,theta,weight,x_a,x_b,v_a,v_b,u_a,u_b"
    );
    let cases: Vec<Case> = lines
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            Case {
                dim: f[0].parse().unwrap(),
                model: if f[1] == "usa" { Model::Usa } else { Model::Sa },
                beta: f[2].parse().unwrap(),
                k: f[3].parse().unwrap(),
                m: f[4].parse().unwrap(),
                theta: f[5].to_string(),
                weight: f[6].parse().unwrap(),
                xa: numbers(f[7]),
                xb: numbers(f[8]),
                va: numbers(f[9]),
                vb: numbers(f[10]),
                ua: numbers(f[11]),
                ub: numbers(f[12]),
            }
        })
        .collect();
    assert_eq!(cases.len(), 48);
    cases
}

/// Indices of the `m` tokens of cluster B among `n`: spread over both tiles of the symmetric
/// kernel (tile size 256), the first token, the tile boundary and the ragged tails.
fn b_positions(n: usize, m: usize) -> Vec<usize> {
    let p = vec![0, 37, 100, 255, 256, 300, n - 1];
    assert_eq!(p.len(), m);
    p
}

/// The configuration of a case and, per token, whether it belongs to cluster B.
fn configuration(c: &Case) -> (Vec<f64>, Vec<bool>) {
    let n = c.k + c.m;
    let mut is_b = vec![false; n];
    for i in b_positions(n, c.m) {
        is_b[i] = true;
    }
    let x = is_b
        .iter()
        .flat_map(|&b| if b { c.xb.clone() } else { c.xa.clone() })
        .collect();
    (x, is_b)
}

/// `|a - b| / |b|` (Euclidean norms, scaled by `max |b_k|` so that squares of velocities near
/// `1e-300` do not underflow).
fn rel(a: &[f64], b: &[f64]) -> f64 {
    let s = b.iter().fold(0.0f64, |m, q| m.max(q.abs()));
    let d: f64 = a.iter().zip(b).map(|(p, q)| ((p - q) / s).powi(2)).sum();
    let m: f64 = b.iter().map(|q| (q / s).powi(2)).sum();
    (d / m).sqrt()
}

/// The paths of the exact summation this processor runs (a requested path it lacks falls
/// back to a narrower one, so the distinct effective paths).
fn paths() -> Vec<SimdPath> {
    let mut out: Vec<SimdPath> = Vec::new();
    for p in SimdPath::available() {
        let e = ExactField::new(3, 1.0, Model::Usa)
            .with_path(p)
            .effective_path();
        if !out.contains(&e) {
            out.push(e);
        }
    }
    out
}

#[test]
fn collapsed_clusters_keep_relative_precision_on_every_path() {
    // 2^(-1000 - 1/32): the clamped value of the exponential; weights below 2^-1000 are
    // replaced by it (documented in exact.rs and fastexp.rs).
    let floor = (-1000.0f64 - 1.0 / 32.0).exp2();
    let paths = paths();
    assert!(paths.contains(&SimdPath::Portable));
    for &path in &paths {
        let mut worst: f64 = 0.0;
        for c in cases() {
            let field = ExactField::new(c.dim, c.beta, c.model).with_path(path);
            assert_eq!(field.effective_path(), path);
            let (x, is_b) = configuration(&c);
            let mut v = vec![0.0; x.len()];
            let mean = field.evaluate(&x, &mut v);
            let clamped = c.weight < (-1000.0f64).exp2();
            // Below the clamp the kernel uses the weight `floor` (documented in exact.rs): the
            // velocities are the per-unit-weight references times `floor` (for SA the
            // denominators k + m w change by a relative 1e-300).
            let scaled = |u: &[f64]| u.iter().map(|a| a * floor).collect::<Vec<_>>();
            let (ea, eb) = if clamped {
                (scaled(&c.ua), scaled(&c.ub))
            } else {
                (c.va.clone(), c.vb.clone())
            };
            for (i, vi) in v.chunks_exact(c.dim).enumerate() {
                let e = if is_b[i] { &eb } else { &ea };
                let err = rel(vi, e);
                assert!(
                    err < 1e-10,
                    "{} d={} {} weight={:e} theta={} token {i}: {vi:?} vs {e:?} ({err:e})",
                    path.name(),
                    c.dim,
                    c.model,
                    c.weight,
                    c.theta
                );
                worst = worst.max(err);
            }
            // The mean kernel (k^2 + m^2 + 2 k m w) / N^2.
            let n = (c.k + c.m) as f64;
            let (k, m) = (c.k as f64, c.m as f64);
            let w = if clamped { floor } else { c.weight };
            let expected = (k * k + m * m + 2.0 * k * m * w) / (n * n);
            assert!((mean - expected).abs() < 1e-14 * expected);
        }
        eprintln!("{}: worst relative error {worst:.2e}", path.name());
    }
}

/// The same configurations with the velocity formed as `P_x (sum_j w_ij x_j)` (the previous
/// kernels, here with `f64::exp`) lose the inter-cluster attraction: the check above can fail.
#[test]
fn projecting_the_plain_sum_loses_the_attraction() {
    for c in cases().iter().filter(|c| c.weight > 1e-41) {
        let (x, is_b) = configuration(c);
        let n = c.k + c.m;
        let d = c.dim;
        for i in [0, 1] {
            let xi = &x[i * d..(i + 1) * d];
            let mut u = vec![0.0; d];
            let mut sw = 0.0;
            for xj in x.chunks_exact(d) {
                let dot: f64 = xi.iter().zip(xj).map(|(a, b)| a * b).sum();
                let w = (c.beta * (dot - 1.0)).exp();
                sw += w;
                for k in 0..d {
                    u[k] += w * xj[k];
                }
            }
            let norm = if c.model == Model::Usa { n as f64 } else { sw };
            let radial: f64 = (0..d).map(|k| u[k] / norm * xi[k]).sum();
            let v: Vec<f64> = (0..d).map(|k| u[k] / norm - radial * xi[k]).collect();
            let e = if is_b[i] { &c.vb } else { &c.va };
            assert!(rel(&v, e) > 1e-3, "d={d} {}: {}", c.model, rel(&v, e));
        }
    }
}
