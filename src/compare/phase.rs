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
use serde::{Deserialize, Serialize};
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
    /// Only this column of the beta grid (0-based; `None`: all): one point of a sweep over
    /// `beta_index`, which `attnflow merge` assembles into the whole heat map
    /// ([`merge_columns`]).
    pub beta_index: Option<usize>,
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

/// One diagram: `values[k * columns.len() + c]` is the mean statistic at time index `k` and
/// beta `betas[columns[c]]` (all columns in order unless [`PhaseSetup::beta_index`] is set).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PhaseDiagram {
    /// Dimension.
    pub dim: usize,
    /// Mean statistic, time-major.
    pub values: Vec<f64>,
    /// Indices into the beta grid of the columns computed.
    pub columns: Vec<usize>,
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

/// The indices of the beta grid that `s` computes.
pub fn columns(s: &PhaseSetup) -> Vec<usize> {
    match s.beta_index {
        Some(b) => vec![b],
        None => (0..s.betas.len()).collect(),
    }
}

/// Run all diagrams (the columns of [`columns`]) and write the report, one figure per
/// dimension and the heat maps as `phase_d<dim>.npy` (`(steps + 1, columns)`, time-major).
pub fn run(s: &PhaseSetup, parts: &Parts, out: &Path) -> Result<Vec<PhaseDiagram>> {
    let ctl = parts.control();
    let cols = columns(s);
    if let Some(&b) = cols.iter().find(|&&b| b >= s.betas.len()) {
        return Err(crate::Error::parameter(
            "beta_index",
            b,
            format!(
                "an index into the {} betas of the grid, 0 to {}",
                s.betas.len(),
                s.betas.len() - 1
            ),
        ));
    }
    let mut diagrams = Vec::new();
    for &dim in &s.dims {
        let nc = cols.len();
        let per_beta: Vec<Result<Vec<f64>>> = cols
            .par_iter()
            .map(|&b| {
                parts.get(&format!("d{dim}_beta{b}"), || {
                    column(s, dim, s.betas[b], &|| {
                        ctl.poll_stop() == crate::control::Poll::Stop
                    })
                })
            })
            .collect();
        let mut values = vec![0.0; (s.steps + 1) * nc];
        for (c, col) in per_beta.into_iter().enumerate() {
            for (k, v) in col?.into_iter().enumerate() {
                values[k * nc + c] = v;
            }
        }
        diagrams.push(PhaseDiagram {
            dim,
            values,
            columns: cols.clone(),
        });
    }
    for d in &diagrams {
        crate::io::write_npy_f64(
            &out.join(format!("phase_d{}.npy", d.dim)),
            &[s.steps + 1, d.columns.len()],
            &d.values,
        )?;
    }
    report(s, &diagrams, out)?;
    Ok(diagrams)
}

/// What a heat map figure needs to know about its run.
struct MapInfo<'a> {
    model: Model,
    n: usize,
    systems: usize,
    eps: f64,
    t_end: f64,
    steps: usize,
    /// The whole beta grid.
    grid: &'a [f64],
}

/// The equiangular reduction from an orthonormal frame (rho0 = 0, the typical configuration
/// of random tokens in high dimension): the time at which rho reaches 1 - eps, per beta.
fn equiangular_curve(m: &MapInfo, betas: &[f64]) -> Vec<(f64, f64)> {
    betas
        .iter()
        .filter_map(|&b| {
            crate::equiangular::time_to(0.0, 1.0 - m.eps, b, m.n, m.model)
                .ok()
                .map(|t| (b, t))
        })
        .collect()
}

/// Draw the heat map of the columns `cols` of the beta grid (`values` time-major) to `path`.
fn heatmap_png(
    m: &MapInfo,
    dim: usize,
    cols: &[usize],
    values: &[f64],
    title_extra: &str,
    path: &Path,
) -> Result<()> {
    let unit = time_unit_name(m.model);
    let nb = cols.len();
    let (b0, b1) = (m.grid[cols[0]], m.grid[cols[nb - 1]]);
    let db = if m.grid.len() > 1 {
        (m.grid[m.grid.len() - 1] - m.grid[0]) / (m.grid.len() - 1) as f64
    } else {
        1.0
    };
    let dt = m.t_end / m.steps as f64;
    let bs: Vec<f64> = cols.iter().map(|&b| m.grid[b]).collect();
    let map = Heatmap {
        title: format!(
            "Clustered pair fraction, d = {}, {}, N = {}, {} systems{title_extra}",
            dim,
            m.model.name().to_uppercase(),
            m.n,
            m.systems
        ),
        x: Axis::linear("inverse temperature β", b0 - db / 2.0, b1 + db / 2.0),
        y: Axis::linear(format!("time ({unit})"), -dt / 2.0, m.t_end + dt / 2.0),
        nx: nb,
        ny: m.steps + 1,
        values: values.to_vec(),
        color_label: format!("fraction of pairs with <xi,xj> > 1 − {}", m.eps),
        color_range: (0.0, 1.0),
        overlays: vec![(
            format!("equiangular ρ0 = 0: ρ reaches 1 − {}", m.eps),
            equiangular_curve(m, &bs),
        )],
    };
    crate::plot::render_figure(path, 1000, 700, |a| map.draw(a, path))
}

fn report(s: &PhaseSetup, diagrams: &[PhaseDiagram], out: &Path) -> Result<()> {
    let unit = time_unit_name(s.model);
    let cols = columns(s);
    let bs: Vec<f64> = cols.iter().map(|&b| s.betas[b]).collect();
    let info = MapInfo {
        model: s.model,
        n: s.n,
        systems: s.systems,
        eps: s.eps,
        t_end: s.t_end,
        steps: s.steps,
        grid: &s.betas,
    };
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
        bs.len(),
        bs[0],
        bs[bs.len() - 1],
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
    if let Some(b) = s.beta_index {
        rep.paragraph(&format!(
            "One column of a sweep: beta index {b} of {} (β = {}); `attnflow merge` assembles \
             the columns of a sweep over `beta_index` into the whole heat map.",
            s.betas.len(),
            s.betas[b]
        ));
    }
    let nb = bs.len();
    let curve = equiangular_curve(&info, &bs);
    rep.paragraph(&format!(
        "Dashed white curve: the equiangular reduction (all pairwise inner products equal to \
         ρ(t), ρ(0) = 0, the typical configuration of iid tokens in high dimension; \
         {} tokens): the time at which ρ reaches 1 − {}, from the scalar ODE of \
         `attnflow::equiangular`.",
        s.n, s.eps
    ));
    rep.record("equiangular_clustering_time", &curve);
    let mut rows = Vec::new();
    let picks = [0, nb / 4, nb / 2, 3 * nb / 4, nb - 1];
    for d in diagrams {
        // Time at which half of the pairs are clustered, for a few betas.
        let half_time = |b: usize| -> String {
            (0..=s.steps)
                .find(|&k| d.values[k * nb + b] >= 0.5)
                .map_or("> t_end".into(), |k| {
                    format!("{:.2}", s.t_end * k as f64 / s.steps as f64)
                })
        };
        let mut row = vec![d.dim.to_string()];
        row.extend(picks.iter().map(|&b| half_time(b)));
        row.push(format!(
            "{:.3}",
            d.values[s.steps * nb..].iter().sum::<f64>() / nb as f64
        ));
        rows.push(row);
        let file = format!("phase_d{}.png", d.dim);
        heatmap_png(&info, d.dim, &cols, &d.values, "", &out.join(&file))?;
        rep.figure(&file, &format!("Phase diagram for d = {}", d.dim));
    }
    let mut header = vec!["d".to_string()];
    header.extend(picks.iter().map(|&b| format!("t½ at β = {:.2}", bs[b])));
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
                Some(b) => format!("d = {}: β <= {:.2}", d.dim, bs[b]),
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

/// `attnflow merge` of a sweep of `compare phase` runs: the columns of every completed point
/// (its `data.json`), grouped by `groups[p]` (the values of the axes other than `beta_index`;
/// one heat map per group and dimension), written as `phase_d<dim>.npy` (`(steps + 1, betas)`,
/// time-major, NaN for columns no point computed; the same bytes as the unsharded
/// `compare phase` run's file) and `phase_d<dim>.png`, with a prefix `g<group>_` when there
/// are several groups. Points of one group must share the beta grid and time grid. Returns the
/// files written.
pub fn merge_columns(points: &[(String, &serde_json::Value)], out: &Path) -> Result<Vec<String>> {
    let bad = |m: String| crate::Error::Input {
        path: out.to_path_buf(),
        message: m,
    };
    let mut groups: Vec<String> = Vec::new();
    for (g, _) in points {
        if !groups.contains(g) {
            groups.push(g.clone());
        }
    }
    let mut files = Vec::new();
    for (gi, g) in groups.iter().enumerate() {
        let mine: Vec<&serde_json::Value> = points
            .iter()
            .filter(|(h, _)| h == g)
            .map(|(_, v)| *v)
            .collect();
        let setup = &mine[0]["setup"];
        let get = |k: &str| setup.get(k).cloned().unwrap_or(serde_json::Value::Null);
        let grid: Vec<f64> = serde_json::from_value(get("betas"))
            .map_err(|e| bad(format!("phase merge: no beta grid in data.json ({e})")))?;
        let num = |k: &str| get(k).as_f64().unwrap_or(f64::NAN);
        let steps = get("steps").as_u64().unwrap_or(0) as usize;
        let model: Model = serde_json::from_value(get("model"))
            .map_err(|e| bad(format!("phase merge: no model in data.json ({e})")))?;
        let info = MapInfo {
            model,
            n: get("n").as_u64().unwrap_or(0) as usize,
            systems: get("systems").as_u64().unwrap_or(0) as usize,
            eps: num("eps"),
            t_end: num("t_end"),
            steps,
            grid: &grid,
        };
        let nb = grid.len();
        let mut maps: Vec<(usize, Vec<f64>)> = Vec::new();
        for v in &mine {
            let s = &v["setup"];
            if s["betas"] != setup["betas"] || s["steps"] != setup["steps"] {
                return Err(bad(format!(
                    "phase merge: points {}with different beta or time grids",
                    if groups.len() > 1 {
                        format!("of group {g} ")
                    } else {
                        String::new()
                    }
                )));
            }
            let diags: Vec<PhaseDiagram> = serde_json::from_value(v["diagrams"].clone())
                .map_err(|e| bad(format!("phase merge: unreadable diagrams ({e})")))?;
            for d in diags {
                let nc = d.columns.len();
                if d.values.len() != (steps + 1) * nc || d.columns.iter().any(|&b| b >= nb) {
                    return Err(bad("phase merge: a diagram of the wrong size".into()));
                }
                let i = match maps.iter().position(|(dim, _)| *dim == d.dim) {
                    Some(i) => i,
                    None => {
                        maps.push((d.dim, vec![f64::NAN; (steps + 1) * nb]));
                        maps.len() - 1
                    }
                };
                for (c, &b) in d.columns.iter().enumerate() {
                    for k in 0..=steps {
                        maps[i].1[k * nb + b] = d.values[k * nc + c];
                    }
                }
            }
        }
        maps.sort_by_key(|(dim, _)| *dim);
        let prefix = if groups.len() > 1 {
            format!("g{gi}_")
        } else {
            String::new()
        };
        let all: Vec<usize> = (0..nb).collect();
        for (dim, values) in &maps {
            let name = format!("{prefix}phase_d{dim}.npy");
            crate::io::write_npy_f64(&out.join(&name), &[steps + 1, nb], values)?;
            files.push(name);
            let name = format!("{prefix}phase_d{dim}.png");
            let extra = if g.is_empty() {
                String::new()
            } else {
                format!(" ({g})")
            };
            heatmap_png(&info, *dim, &all, values, &extra, &out.join(&name))?;
            files.push(name);
        }
    }
    Ok(files)
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
