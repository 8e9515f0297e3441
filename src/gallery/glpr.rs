//! Geshkovski–Letrouit–Polyanskiy–Rigollet, Fig. 4: the angles of n = 32 tokens on the circle
//! (d = 2, SA, iid uniform start) against time, at beta = 4 and beta = 9.
//!
//! The states are taken at the diagnostics rows of an in-memory simulation (the
//! [`SimulationSink::row_state`] hook); each token's angle is unwrapped in time (continuous,
//! started in `[0, 2 pi)`).

use super::Figure;
use crate::particles::{
    build_velocity_field, initial_state, simulate, Method, RowSpacing, RunConfig, SeriesRow,
    SimulationSink, StepControl, COINCIDENT_CHORD,
};
use crate::plot::chart::{palette, Axis, LineChart, Series, Style};
use crate::{Model, Result};
use std::f64::consts::PI;
use std::path::Path;

/// Tokens of the figure.
pub const N: usize = 32;
/// Inverse temperatures of the two panels.
pub const BETAS: [f64; 2] = [4.0, 9.0];
/// Final time (SA: `t = tau`).
pub const T_END: f64 = 30.0;
/// Seed of the initial tokens.
pub const SEED: u64 = 0;

/// Angles of every token at every row time.
#[derive(Default)]
struct Angles {
    times: Vec<f64>,
    angles: Vec<Vec<f64>>,
}

impl SimulationSink for Angles {
    fn row_state(&mut self, _index: usize, row: &SeriesRow, x: &[f64]) -> Result<()> {
        let now: Vec<f64> = x.chunks_exact(2).map(|p| p[1].atan2(p[0])).collect();
        let next = match self.angles.last() {
            // Unwrap: the continuous angle nearest to the previous one.
            Some(prev) => prev
                .iter()
                .zip(&now)
                .map(|(&a, &b)| a + (b - a + PI).rem_euclid(2.0 * PI) - PI)
                .collect(),
            None => now.iter().map(|a| a.rem_euclid(2.0 * PI)).collect(),
        };
        self.times.push(row.time);
        self.angles.push(next);
        Ok(())
    }
}

/// Token angles against time for `beta` (SA, d = 2): the row times and, per row, the angles.
pub fn trajectories(beta: f64, rows: usize) -> Result<(Vec<f64>, Vec<Vec<f64>>)> {
    let field = build_velocity_field(Method::Exact, 2, beta, Model::Sa, N, 1e-12)?;
    let cfg = RunConfig {
        t_end: T_END,
        control: StepControl::DormandPrince { tol: 1e-9 },
        lmax_power: 4,
        save_every: None,
        series_points: rows,
        spacing: RowSpacing::Linear,
        merge_radius: COINCIDENT_CHORD,
        clusters: Default::default(),
    };
    let mut sink = Angles::default();
    simulate(
        &cfg,
        field.as_ref(),
        initial_state(N, 2, SEED, 0, None),
        &mut sink,
        &|| crate::control::Poll::Continue,
    )?;
    Ok((sink.times, sink.angles))
}

/// Write `dir/trajectories.png`; `prefix` is the directory's name in the gallery.
pub fn write(dir: &Path, prefix: &str) -> Result<Vec<Figure>> {
    crate::io::prepare_output_dir(dir)?;
    let p = dir.join("trajectories.png");
    let mut charts = Vec::new();
    for beta in BETAS {
        let (times, angles) = trajectories(beta, 300)?;
        let (lo, hi) = angles
            .iter()
            .flatten()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| {
                (a.min(v), b.max(v))
            });
        let mut c = LineChart::new(
            format!("SA, d = 2, n = {N}, β = {beta}"),
            Axis::linear("t", 0.0, T_END),
            Axis::linear("angle θ_i(t) (unwrapped)", lo - 0.1, hi + 0.1),
        );
        for i in 0..N {
            c.series.push(Series::unlabelled(
                times.iter().zip(&angles).map(|(&t, a)| (t, a[i])).collect(),
                palette(i),
                Style::Line(2),
            ));
        }
        charts.push(c);
    }
    crate::plot::render_figure(&p, 1400, 560, |area| {
        let panels = area.split_evenly((1, 2));
        for (c, a) in charts.iter().zip(panels.iter()) {
            c.draw(a, &p)?;
        }
        Ok(())
    })?;
    Ok(vec![Figure {
        file: format!("{prefix}/trajectories.png"),
        caption: format!(
            "Angles θ_i(t) of n = {N} tokens on the circle (SA, d = 2, iid uniform start, seed {SEED}, time t of SA, adaptive Dormand–Prince at tolerance 1e-9), at β = 4 (left) and β = 9 (right): the tokens gather into a few clusters (fewer and sooner at β = 4), which later merge — Geshkovski–Letrouit–Polyanskiy–Rigollet, Fig. 4"
        ),
    }])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn angles_are_continuous_and_cluster() {
        let (t, a) = trajectories(4.0, 60).unwrap();
        assert_eq!(t.len(), 61);
        assert!(a[0].iter().all(|&x| (0.0..2.0 * PI).contains(&x)));
        // Unwrapped: no jump of 2 pi between rows.
        for w in a.windows(2) {
            assert!(w[0].iter().zip(&w[1]).all(|(p, q)| (q - p).abs() < PI));
        }
        // Clustering: at the end every token is within 0.05 rad of another one.
        let last = a.last().unwrap();
        for (i, &xi) in last.iter().enumerate() {
            let near = last.iter().enumerate().any(|(j, &xj)| {
                let d = (xi - xj).rem_euclid(2.0 * PI);
                j != i && d.min(2.0 * PI - d) < 0.05
            });
            assert!(near, "token {i} is alone at t = {}", t.last().unwrap());
        }
    }
}
