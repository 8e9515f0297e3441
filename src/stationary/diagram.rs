//! Bifurcation diagrams of the axisymmetric stationary states: branches for a list of
//! `(d, beta)`, written as `bifurcation.csv`, `bifurcation.json` and `bifurcation.png`.

use super::{StationaryState, ZonalProblem};
use crate::io::{prepare_output_dir, write_atomic, write_json, CsvTable};
use crate::linear_noise::critical_beta;
use crate::plot::noise::{bifurcation_figure, BranchPanel};
use crate::Result;
use serde::Serialize;
use std::path::Path;

/// Default truncation of the branches.
pub const DEFAULT_LMAX: usize = 48;

/// The branch from `nu_#` with the defaults of the diagrams: `nu` in `[nu_#/4, 3 nu_#]`,
/// `r <= 0.95`, arclength step `0.02`, at most 600 points.
pub fn default_branch(beta: f64, dim: usize, lmax: usize) -> Result<Vec<StationaryState>> {
    let p = ZonalProblem::new(beta, dim, lmax)?;
    let nus = p.nu_sharp();
    p.branch(0.25 * nus, 3.0 * nus, 0.95, 0.02, 600)
}

/// Summary of one branch.
#[derive(Clone, Debug, Serialize)]
pub struct BranchSummary {
    /// Dimension.
    pub dim: usize,
    /// Inverse temperature.
    pub beta: f64,
    /// `beta_*(d)`.
    pub beta_star: f64,
    /// `nu_#` per unit `tau` (USA: `e^{-beta} lambda_1 / beta`); per unit `t` multiply by `e^beta`.
    pub nu_sharp_tau: f64,
    /// Largest `nu / nu_#` on the branch (the fold for a subcritical bifurcation, 1 otherwise).
    pub fold_nu_over_nu_sharp: f64,
    /// Order parameter at the fold.
    pub fold_r: f64,
    /// `supercritical` when the branch starts towards `nu < nu_#`, else `subcritical`.
    pub bifurcation: &'static str,
    /// Points on the branch.
    pub points: usize,
    /// Largest fixed-point residual on the branch.
    pub max_residual: f64,
}

/// Summarise a branch computed at `(beta, dim)`.
pub fn summarise(beta: f64, dim: usize, branch: &[StationaryState]) -> BranchSummary {
    let nus = branch[0].nu;
    let (fold_nu, fold_r) = branch
        .iter()
        .map(|s| (s.nu / nus, s.r))
        .fold((1.0, 0.0), |m, v| if v.0 > m.0 { v } else { m });
    let early = branch.get(1).map_or(nus, |s| s.nu);
    BranchSummary {
        dim,
        beta,
        beta_star: critical_beta(dim),
        nu_sharp_tau: nus,
        fold_nu_over_nu_sharp: fold_nu,
        fold_r,
        bifurcation: if early > nus {
            "subcritical"
        } else {
            "supercritical"
        },
        points: branch.len(),
        max_residual: branch.iter().map(|s| s.residual).fold(0.0, f64::max),
    }
}

/// Compute the branches for every `(d, beta)` and write `bifurcation.csv` (`dim, beta, point,
/// nu_tau, nu_t, nu_over_nu_sharp, r, leading_eigenvalue_tau, stable, residual`; `stable` is
/// 1 where the leading eigenvalue is `<= 1e-12`, the uniform state at `nu_#` being marginal),
/// `bifurcation.json` (the summaries) and `bifurcation.png` into `dir`. Returns the summaries.
pub fn write_bifurcation_diagram(
    dir: &Path,
    dims: &[usize],
    betas: &[f64],
    lmax: usize,
) -> Result<Vec<BranchSummary>> {
    let mut all = Vec::new();
    for &dim in dims {
        for &beta in betas {
            all.push((dim, beta, default_branch(beta, dim, lmax)?));
        }
    }
    prepare_output_dir(dir)?;
    let mut table = CsvTable::new([
        "dim",
        "beta",
        "point",
        "nu_tau",
        "nu_t",
        "nu_over_nu_sharp",
        "r",
        "leading_eigenvalue_tau",
        "stable",
        "residual",
    ]);
    let mut summaries = Vec::new();
    for (dim, beta, br) in &all {
        let nus = br[0].nu;
        for (k, s) in br.iter().enumerate() {
            table.push(&[
                *dim as f64,
                *beta,
                k as f64,
                s.nu,
                s.nu * beta.exp(),
                s.nu / nus,
                s.r,
                s.leading_eigenvalue,
                f64::from(u8::from(
                    s.leading_eigenvalue <= crate::plot::noise::MARGINAL,
                )),
                s.residual,
            ]);
        }
        summaries.push(summarise(*beta, *dim, br));
    }
    write_atomic(&dir.join("bifurcation.csv"), table.to_text().as_bytes())?;
    write_json(&dir.join("bifurcation.json"), &summaries)?;
    let panels: Vec<BranchPanel> = all
        .iter()
        .zip(&summaries)
        .map(|((dim, beta, br), s)| BranchPanel {
            title: format!(
                "d = {dim}, β = {beta} {} β* = {:.4}: {}",
                if *beta < s.beta_star { "<" } else { ">" },
                s.beta_star,
                s.bifurcation
            ),
            branch: br,
            nu_sharp: br[0].nu,
            markers: Vec::new(),
        })
        .collect();
    bifurcation_figure(
        &dir.join("bifurcation.png"),
        "Axisymmetric stationary states of the noisy USA model (Newton + pseudo-arclength continuation)",
        &panels,
    )?;
    Ok(summaries)
}
