//! Plateaus and merge events of a cluster-count time series.
//!
//! A count series from a particle run is piecewise constant with short blips where a straggler
//! crosses between clusters or two clusters touch. Definitions used throughout:
//!
//! - a *run* is a maximal stretch of equal consecutive samples; its duration is the time from its
//!   first sample to the first sample of the next run (to its own last sample at the series end);
//! - a *plateau* is a run lasting at least `min_duration`; runs shorter than that are blips and
//!   are ignored, and plateaus of the same value separated only by blips are joined;
//! - a *merge event* is a change between consecutive plateaus to a smaller count; its time is the
//!   midpoint of the gap between the two plateaus, and its energy jump is the median energy over
//!   the later plateau minus the median energy over the earlier one (the energy starts to rise
//!   while two clusters approach, before the count drops, so plateau levels, not the values at
//!   the plateau ends, measure the step).

use serde::Serialize;

/// A stretch of constant cluster count lasting at least the requested duration.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Plateau {
    /// The constant value.
    pub value: usize,
    /// Index of the first sample.
    pub first: usize,
    /// Index of the last sample.
    pub last: usize,
    /// Time of the first sample.
    pub t_start: f64,
    /// Time of the last sample.
    pub t_end: f64,
}

impl Plateau {
    /// `t_end - t_start`.
    pub fn duration(&self) -> f64 {
        self.t_end - self.t_start
    }
}

/// Plateaus of `values` sampled at increasing times `t` (see the module documentation).
pub fn plateaus(t: &[f64], values: &[usize], min_duration: f64) -> Vec<Plateau> {
    let n = t.len().min(values.len());
    let mut out: Vec<Plateau> = Vec::new();
    let mut i = 0;
    while i < n {
        let mut j = i;
        while j + 1 < n && values[j + 1] == values[i] {
            j += 1;
        }
        let until = if j + 1 < n { t[j + 1] } else { t[j] };
        if until - t[i] >= min_duration {
            match out.last_mut() {
                Some(p) if p.value == values[i] => {
                    p.last = j;
                    p.t_end = t[j];
                }
                _ => out.push(Plateau {
                    value: values[i],
                    first: i,
                    last: j,
                    t_start: t[i],
                    t_end: t[j],
                }),
            }
        }
        i = j + 1;
    }
    out
}

/// A decrease of the cluster count between two consecutive plateaus.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MergeEvent {
    /// Midpoint between the end of the earlier and the start of the later plateau.
    pub time: f64,
    /// End of the earlier plateau.
    pub t_before: f64,
    /// Start of the later plateau.
    pub t_after: f64,
    /// Clusters before.
    pub before: usize,
    /// Clusters after.
    pub after: usize,
    /// Median energy over the earlier plateau.
    pub energy_before: f64,
    /// Median energy over the later plateau.
    pub energy_after: f64,
    /// `energy_after - energy_before`.
    pub energy_jump: f64,
}

/// Merge events between consecutive plateaus of `counts` (see the module documentation);
/// `energy` is sampled at the same times.
pub fn merge_events(
    t: &[f64],
    counts: &[usize],
    energy: &[f64],
    min_duration: f64,
) -> Vec<MergeEvent> {
    let ps = plateaus(t, counts, min_duration);
    ps.windows(2)
        .filter(|w| w[1].value < w[0].value)
        .map(|w| {
            let (a, b) = (&w[0], &w[1]);
            let (e0, e1) = (
                median(&energy[a.first..=a.last]),
                median(&energy[b.first..=b.last]),
            );
            MergeEvent {
                time: 0.5 * (a.t_end + b.t_start),
                t_before: a.t_end,
                t_after: b.t_start,
                before: a.value,
                after: b.value,
                energy_before: e0,
                energy_after: e1,
                energy_jump: e1 - e0,
            }
        })
        .collect()
}

/// Median of a non-empty slice (mean of the two middle values for even length).
fn median(v: &[f64]) -> f64 {
    let mut w = v.to_vec();
    w.sort_by(f64::total_cmp);
    let k = w.len() / 2;
    if w.len() % 2 == 1 {
        w[k]
    } else {
        0.5 * (w[k - 1] + w[k])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(steps: &[(f64, usize)], dt: f64, t_end: f64) -> (Vec<f64>, Vec<usize>) {
        let n = (t_end / dt).round() as usize + 1;
        let t: Vec<f64> = (0..n).map(|i| i as f64 * dt).collect();
        let v = t
            .iter()
            .map(|&ti| steps.iter().rev().find(|s| ti >= s.0).map_or(0, |s| s.1))
            .collect();
        (t, v)
    }

    #[test]
    fn plateaus_ignore_blips_and_join_across_them() {
        // 4 clusters from t = 1, a blip to 3 at t = 3.0..3.2, then 4 again, 2 from t = 6.
        let (t, v) = series(
            &[(0.0, 9), (1.0, 4), (3.0, 3), (3.2, 4), (6.0, 2)],
            0.1,
            10.0,
        );
        let p = plateaus(&t, &v, 0.5);
        let vals: Vec<usize> = p.iter().map(|p| p.value).collect();
        assert_eq!(vals, vec![9, 4, 2]);
        assert!((p[1].t_start - 1.0).abs() < 1e-12 && (p[1].t_end - 5.9).abs() < 1e-9);
        assert!((p[2].duration() - 4.0).abs() < 1e-9);
    }

    #[test]
    fn merge_events_list_times_counts_and_energy_jumps() {
        let (t, v) = series(
            &[(0.0, 4), (2.0, 3), (2.05, 4), (5.0, 3), (8.0, 1)],
            0.1,
            12.0,
        );
        // energy: a staircase rising by 0.1 at each true merge
        let e: Vec<f64> = t
            .iter()
            .map(|&ti| {
                if ti < 5.0 {
                    1.0
                } else if ti < 8.0 {
                    1.1
                } else {
                    1.3
                }
            })
            .collect();
        let ev = merge_events(&t, &v, &e, 0.5);
        assert_eq!(ev.len(), 2, "{ev:?}");
        assert_eq!((ev[0].before, ev[0].after), (4, 3));
        assert!((ev[0].time - 4.95).abs() < 1e-9);
        assert!((ev[0].energy_jump - 0.1).abs() < 1e-12);
        assert_eq!((ev[1].before, ev[1].after), (3, 1));
        assert!((ev[1].energy_jump - 0.2).abs() < 1e-12);
    }

    #[test]
    fn increases_are_not_merges() {
        let (t, v) = series(&[(0.0, 1), (3.0, 5)], 0.1, 6.0);
        let e = vec![0.0; t.len()];
        assert!(merge_events(&t, &v, &e, 0.5).is_empty());
        assert_eq!(plateaus(&t, &v, 0.5).len(), 2);
    }
}
