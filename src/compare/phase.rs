//! `compare phase`: a (beta, time) phase diagram of clustering from ensembles of small systems.
//!
//! For each dimension `d` and each beta of a grid, `systems` independent systems of `n` tokens
//! (iid uniform, PCG stream `s` of the seed) are integrated (exact summation, adaptive
//! Dormand–Prince) and, at every output time, the statistic
//!
//! ```text
//! p(beta, t) = fraction of pairs i < j with <x_i, x_j> > 1 - eps      (eps = 1e-3)
//! ```
//!
//! is averaged over the systems. Time is physical `t` for SA (the literature's setting) and
//! `tau = e^beta t` for USA.

use super::common::time_unit_name;
use super::parts::Parts;
use super::Report;
use crate::particles::batch::{self, BatchSpec};
use crate::particles::{build_velocity_field, Integrator, Method, StepControl, TokenState};
use crate::plot::chart::{Axis, Heatmap};
use crate::spectral::simd::SimdPath;
use crate::{Model, Result};
use rayon::prelude::*;
use serde::Serialize;
use std::path::Path;

/// Options.
#[derive(Clone, Debug, Serialize)]
pub struct PhaseSetup {
    /// Dimensions, one diagram each.
    pub dims: Vec<usize>,
    /// Tokens per system.
    pub n: usize,
    /// Systems per beta.
    pub systems: usize,
    /// Beta grid (linear spacing).
    pub betas: Vec<f64>,
    /// Final time.
    pub t_end: f64,
    /// Output times: `t_end * k / steps`, `k = 0..=steps`.
    pub steps: usize,
    /// Model.
    pub model: Model,
    /// Threshold `eps` of the pair statistic.
    pub eps: f64,
    /// Seed.
    pub seed: u64,
    /// Time integration: adaptive Dormand–Prince (the default), or the published codes'
    /// explicit Euler with renormalisation (fixed step 0.1 in their figures).
    #[serde(serialize_with = "serialize_control")]
    pub control: StepControl,
}

fn serialize_control<S: serde::Serializer>(
    c: &StepControl,
    s: S,
) -> std::result::Result<S::Ok, S::Error> {
    use serde::ser::SerializeMap;
    let mut m = s.serialize_map(Some(2))?;
    m.serialize_entry("integrator", c.name())?;
    match *c {
        StepControl::DormandPrince { tol } => m.serialize_entry("tol", &tol)?,
        StepControl::Rk4 { dt } | StepControl::Euler { dt } => m.serialize_entry("dt", &dt)?,
    }
    m.end()
}

/// `p`: fraction of pairs `i < j` of the unit rows `x` with `<x_i, x_j> > 1 - eps`.
pub fn clustered_pair_fraction(x: &[f64], dim: usize, eps: f64) -> f64 {
    let n = x.len() / dim;
    if n < 2 {
        return 0.0;
    }
    let mut count = 0usize;
    for i in 0..n {
        let a = &x[i * dim..(i + 1) * dim];
        for j in i + 1..n {
            let b = &x[j * dim..(j + 1) * dim];
            let dot: f64 = a.iter().zip(b).map(|(p, q)| p * q).sum();
            if dot > 1.0 - eps {
                count += 1;
            }
        }
    }
    count as f64 / (n * (n - 1) / 2) as f64
}

/// One diagram: `values[k * betas + b]` is the mean statistic at time index `k`, beta index `b`.
#[derive(Clone, Debug, Serialize)]
pub struct PhaseDiagram {
    /// Dimension.
    pub dim: usize,
    /// Mean statistic, time-major.
    pub values: Vec<f64>,
}

/// The mean statistic at the output times `t_end k / steps`, `k = 0..=steps`, for one
/// dimension and one beta: the systems integrated together in lockstep groups of SIMD width
/// ([`crate::particles::batch`]); the sum over systems runs in system order, so the result
/// does not depend on the number of threads. `stop()` returning `true` interrupts it.
pub fn column(s: &PhaseSetup, dim: usize, beta: f64, stop: &dyn Fn() -> bool) -> Result<Vec<f64>> {
    column_on(SimdPath::detect(), s, dim, beta, stop)
}

/// [`column`] on the instruction set `path` (AVX-512 and AVX2 give the same bits).
pub fn column_on(
    path: SimdPath,
    s: &PhaseSetup,
    dim: usize,
    beta: f64,
    stop: &dyn Fn() -> bool,
) -> Result<Vec<f64>> {
    let times: Vec<f64> = (0..=s.steps)
        .map(|k| s.t_end * k as f64 / s.steps as f64)
        .collect();
    let spec = BatchSpec {
        n: s.n,
        dim,
        beta,
        model: s.model,
        control: s.control,
        times: &times,
    };
    let gw = batch::group_width_on(path);
    let mut sum = vec![0.0; s.steps + 1];
    let mut frac = vec![0.0; gw * (s.steps + 1)];
    for g0 in (0..s.systems).step_by(gw) {
        let g1 = (g0 + gw).min(s.systems);
        let x0: Vec<Vec<f64>> = (g0..g1)
            .map(|sys| TokenState::uniform(s.n, dim, s.seed, sys as u64).x)
            .collect();
        batch::pair_fractions_on(path, &spec, &x0, s.eps, stop, &mut |l, k, p| {
            frac[l * (s.steps + 1) + k] = p;
        })?;
        for l in 0..g1 - g0 {
            for (k, acc) in sum.iter_mut().enumerate() {
                *acc += frac[l * (s.steps + 1) + k];
            }
        }
    }
    Ok(sum.into_iter().map(|v| v / s.systems as f64).collect())
}

/// [`column`] by one [`Integrator`] per system (the exact field of
/// [`crate::particles::ExactField`]): the reference the batched path is tested and
/// benchmarked against.
pub fn column_reference(s: &PhaseSetup, dim: usize, beta: f64) -> Result<Vec<f64>> {
    let field = build_velocity_field(Method::Exact, dim, beta, s.model, s.n, 1e-12)?;
    let mut sum = vec![0.0; s.steps + 1];
    for sys in 0..s.systems {
        let x0 = TokenState::uniform(s.n, dim, s.seed, sys as u64).x;
        let mut it = Integrator::new(field.as_ref(), x0, s.control);
        sum[0] += clustered_pair_fraction(&it.x, dim, s.eps);
        for (k, acc) in sum.iter_mut().enumerate().skip(1) {
            it.advance_to(s.t_end * k as f64 / s.steps as f64, |_, _| {})?;
            *acc += clustered_pair_fraction(&it.x, dim, s.eps);
        }
    }
    Ok(sum.into_iter().map(|v| v / s.systems as f64).collect())
}

/// Run all diagrams and write the report and one figure per dimension.
pub fn run(s: &PhaseSetup, parts: &Parts, out: &Path) -> Result<Vec<PhaseDiagram>> {
    let ctl = parts.control();
    let mut diagrams = Vec::new();
    for &dim in &s.dims {
        let nb = s.betas.len();
        let per_beta: Vec<Result<Vec<f64>>> = s
            .betas
            .par_iter()
            .enumerate()
            .map(|(b, &beta)| {
                parts.get(&format!("d{dim}_beta{b}"), || {
                    column(s, dim, beta, &|| {
                        ctl.poll_stop() == crate::control::Poll::Stop
                    })
                })
            })
            .collect();
        let mut values = vec![0.0; (s.steps + 1) * nb];
        for (b, col) in per_beta.into_iter().enumerate() {
            for (k, v) in col?.into_iter().enumerate() {
                values[k * nb + b] = v;
            }
        }
        diagrams.push(PhaseDiagram { dim, values });
    }
    report(s, &diagrams, out)?;
    Ok(diagrams)
}

fn report(s: &PhaseSetup, diagrams: &[PhaseDiagram], out: &Path) -> Result<()> {
    let unit = time_unit_name(s.model);
    let mut rep = Report::new(&format!(
        "Phase diagram of clustering ({}, N = {}, {} systems per β)",
        s.model.name().to_uppercase(),
        s.n,
        s.systems
    ));
    rep.paragraph(&format!(
        "Statistic: the fraction of token pairs with <x_i, x_j> > 1 − {}, averaged over {} \
         systems of {} iid uniform tokens, on {} values of β in [{}, {}] and {} times in [0, {}] \
         ({unit}). Exact summation, integrator {}.",
        s.eps,
        s.systems,
        s.n,
        s.betas.len(),
        s.betas[0],
        s.betas[s.betas.len() - 1],
        s.steps + 1,
        s.t_end,
        match s.control {
            StepControl::DormandPrince { tol } =>
                format!("adaptive Dormand–Prince 5(4), tolerance {tol:e}"),
            StepControl::Rk4 { dt } => format!("RK4, step {dt}"),
            StepControl::Euler { dt } => format!(
                "explicit Euler with renormalisation, step {dt} (the published codes' scheme)"
            ),
        }
    ));
    let nb = s.betas.len();
    // The equiangular reduction from an orthonormal frame (rho0 = 0, the typical configuration
    // of random tokens in high dimension): the time at which rho reaches 1 - eps.
    let curve: Vec<(f64, f64)> = s
        .betas
        .iter()
        .filter_map(|&b| {
            crate::equiangular::time_to(0.0, 1.0 - s.eps, b, s.n, s.model)
                .ok()
                .map(|t| (b, t))
        })
        .collect();
    rep.paragraph(&format!(
        "Dashed white curve: the equiangular reduction (all pairwise inner products equal to          ρ(t), ρ(0) = 0, the typical configuration of iid tokens in high dimension;          {} tokens): the time at which ρ reaches 1 − {}, from the scalar ODE of          `attnflow::equiangular`.",
        s.n, s.eps
    ));
    rep.record("equiangular_clustering_time", &curve);
    let mut rows = Vec::new();
    for d in diagrams {
        // Time at which half of the pairs are clustered, for a few betas.
        let half_time = |b: usize| -> String {
            (0..=s.steps)
                .find(|&k| d.values[k * nb + b] >= 0.5)
                .map_or("> t_end".into(), |k| {
                    format!("{:.2}", s.t_end * k as f64 / s.steps as f64)
                })
        };
        let picks = [0, nb / 4, nb / 2, 3 * nb / 4, nb - 1];
        let mut row = vec![d.dim.to_string()];
        row.extend(picks.iter().map(|&b| half_time(b)));
        row.push(format!(
            "{:.3}",
            d.values[s.steps * nb..].iter().sum::<f64>() / nb as f64
        ));
        rows.push(row);
        let file = format!("phase_d{}.png", d.dim);
        let path = out.join(&file);
        let (b0, b1) = (s.betas[0], s.betas[nb - 1]);
        let db = if nb > 1 {
            (b1 - b0) / (nb - 1) as f64
        } else {
            1.0
        };
        let dt = s.t_end / s.steps as f64;
        let map = Heatmap {
            title: format!(
                "Clustered pair fraction, d = {}, {}, N = {}, {} systems",
                d.dim,
                s.model.name().to_uppercase(),
                s.n,
                s.systems
            ),
            x: Axis::linear("inverse temperature β", b0 - db / 2.0, b1 + db / 2.0),
            y: Axis::linear(format!("time ({unit})"), -dt / 2.0, s.t_end + dt / 2.0),
            nx: nb,
            ny: s.steps + 1,
            values: d.values.clone(),
            color_label: format!("fraction of pairs with <xi,xj> > 1 − {}", s.eps),
            color_range: (0.0, 1.0),
            overlays: vec![(
                format!("equiangular ρ0 = 0: ρ reaches 1 − {}", s.eps),
                curve.clone(),
            )],
        };
        crate::plot::render_png(&path, 1000, 700, |a| map.draw(a, &path))?;
        rep.figure(&file, &format!("Phase diagram for d = {}", d.dim));
    }
    let picks = [0, nb / 4, nb / 2, 3 * nb / 4, nb - 1];
    let mut header = vec!["d".to_string()];
    header.extend(
        picks
            .iter()
            .map(|&b| format!("t½ at β = {:.2}", s.betas[b])),
    );
    header.push("mean fraction at t_end".into());
    let header_ref: Vec<&str> = header.iter().map(String::as_str).collect();
    rep.section("Time at which half of the pairs are clustered");
    rep.table(&header_ref, &rows);
    let edges: Vec<String> = diagrams
        .iter()
        .map(|d| {
            let last = (0..nb)
                .rev()
                .find(|&b| (0..=s.steps).any(|k| d.values[k * nb + b] >= 0.5));
            match last {
                Some(b) => format!("d = {}: β <= {:.2}", d.dim, s.betas[b]),
                None => format!("d = {}: none", d.dim),
            }
        })
        .collect();
    rep.paragraph(&format!(
        "Largest β of the grid at which half of the pairs cluster before t = {}: {}. Above it \
         the systems stay in a meta-stable state with several clusters (or none) up to t_end.",
        s.t_end,
        edges.join("; ")
    ));
    rep.record("setup", s);
    rep.record("time_unit", &unit);
    rep.record("diagrams", &diagrams);
    rep.write(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pair_fraction_counts_close_pairs() {
        // Three tokens at one point and one opposite: 3 of 6 pairs are clustered.
        let x = [1.0, 0.0, 1.0, 0.0, 1.0, 0.0, -1.0, 0.0];
        assert!((clustered_pair_fraction(&x, 2, 1e-3) - 0.5).abs() < 1e-15);
        let a = 0.05f64; // 1 - cos(0.05) = 1.25e-3 > 1e-3: not clustered
        let y = [1.0, 0.0, a.cos(), a.sin()];
        assert_eq!(clustered_pair_fraction(&y, 2, 1e-3), 0.0);
    }
}
