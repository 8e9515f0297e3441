//! Predicted cluster locations from the initial data alone, and their matching to observed
//! clusters.
//!
//! On the circle the degree-`l` part of the density `rho(th) = sum_k M_k e^{ik th}`,
//! `M_k = (1/N) sum_j e^{-ik th_j}`, is `2 |M_l| cos(l th + arg M_l)`; if degree `l*` dominates
//! the linear growth, clusters form at its maxima `th_j = (2 pi j - arg M_{l*}) / l*`.

use std::f64::consts::PI;

/// Wrap an angle to `[0, 2 pi)`.
pub fn wrap_angle(a: f64) -> f64 {
    a.rem_euclid(2.0 * PI)
}

/// Circular distance between two angles, in `[0, pi]`.
pub fn circular_distance(a: f64, b: f64) -> f64 {
    let d = wrap_angle(a - b);
    d.min(2.0 * PI - d)
}

/// `M_l = (1/N) sum_j e^{-i l th_j}` as `(re, im)`.
pub fn circle_moment(theta: &[f64], l: usize) -> (f64, f64) {
    let n = theta.len() as f64;
    let (mut re, mut im) = (0.0, 0.0);
    for &t in theta {
        let (s, c) = (l as f64 * t).sin_cos();
        re += c;
        im -= s;
    }
    (re / n, im / n)
}

/// Predicted cluster angles `(2 pi j - arg M_l) / l`, `j = 0..l`, in `[0, 2 pi)`, ascending.
pub fn circle_cluster_angles(theta: &[f64], l: usize) -> Vec<f64> {
    assert!(l >= 1);
    let (re, im) = circle_moment(theta, l);
    let phase = im.atan2(re);
    let mut a: Vec<f64> = (0..l)
        .map(|j| wrap_angle((2.0 * PI * j as f64 - phase) / l as f64))
        .collect();
    a.sort_by(f64::total_cmp);
    a
}

/// Match each predicted angle to its nearest observed angle (both on the circle) and return the
/// distances, in the order of `predicted`. When the counts agree, the one-to-one matching with
/// the smallest total distance among the cyclic shifts of the sorted lists is used; otherwise
/// each prediction takes its nearest observation.
pub fn match_angles(predicted: &[f64], observed: &[f64]) -> Vec<f64> {
    if observed.is_empty() {
        return vec![f64::NAN; predicted.len()];
    }
    if predicted.len() == observed.len() {
        let mut p: Vec<(usize, f64)> = predicted
            .iter()
            .copied()
            .map(wrap_angle)
            .enumerate()
            .collect();
        p.sort_by(|a, b| a.1.total_cmp(&b.1));
        let mut o: Vec<f64> = observed.iter().copied().map(wrap_angle).collect();
        o.sort_by(f64::total_cmp);
        let n = p.len();
        let best = (0..n)
            .min_by(|&s, &r| {
                let cost = |s: usize| -> f64 {
                    (0..n)
                        .map(|i| circular_distance(p[i].1, o[(i + s) % n]))
                        .sum()
                };
                cost(s).total_cmp(&cost(r))
            })
            .unwrap_or(0);
        let mut out = vec![0.0; n];
        for i in 0..n {
            out[p[i].0] = circular_distance(p[i].1, o[(i + best) % n]);
        }
        return out;
    }
    predicted
        .iter()
        .map(|&a| {
            observed
                .iter()
                .map(|&b| circular_distance(a, b))
                .fold(f64::INFINITY, f64::min)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn predicted_angles_are_the_maxima_of_the_mode() {
        // Tokens concentrated near three angles offset by 0.4: M_3 has phase -3*0.4.
        let theta: Vec<f64> = (0..300)
            .map(|i| 0.4 + 2.0 * PI * (i % 3) as f64 / 3.0 + 0.01 * ((i * 7 % 11) as f64 - 5.0))
            .collect();
        let a = circle_cluster_angles(&theta, 3);
        let want = [0.4, 0.4 + 2.0 * PI / 3.0, 0.4 + 4.0 * PI / 3.0];
        for (x, w) in a.iter().zip(want) {
            assert!(circular_distance(*x, w) < 1e-3, "{x} vs {w}");
        }
    }

    #[test]
    fn matching_uses_best_cyclic_assignment() {
        let p = [0.1, 2.2, 4.3];
        let o = [6.2, 2.25, 4.2]; // 6.2 is 0.183 from 0.1 across 2 pi
        let d = match_angles(&p, &o);
        assert!((d[0] - (0.1 + 2.0 * PI - 6.2)).abs() < 1e-12);
        assert!((d[1] - 0.05).abs() < 1e-12 && (d[2] - 0.1).abs() < 1e-12);
        let d = match_angles(&p, &[2.0]);
        assert!((d[1] - 0.2).abs() < 1e-12);
        assert!(match_angles(&p, &[])[0].is_nan());
    }

    #[test]
    fn distance_is_symmetric_and_wraps() {
        assert!((circular_distance(0.1, 2.0 * PI - 0.1) - 0.2).abs() < 1e-12);
        assert!((circular_distance(3.0, -3.0) - (2.0 * PI - 6.0)).abs() < 1e-12);
    }
}
