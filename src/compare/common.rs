//! Pieces shared by the experiments: particle ensembles on a common time grid, theory rates in
//! the internal time unit, and parameter checks.
//!
//! Time unit of every experiment: the internal one of the particle simulator, `tau = e^beta t`
//! for USA (scaled kernel `exp(beta(<x,y> - 1))`) and `t` for SA; rates are per unit of it.

use super::parts::Parts;
use crate::analysis::ClusterParams;
use crate::linear;
use crate::particles::{
    build_velocity_field, initial_state, simulate, EnsembleResult, Method, RunConfig, StepControl,
};
use crate::{Model, Result, TimeUnit};

/// A particle ensemble to run.
#[derive(Clone, Debug, serde::Serialize)]
pub struct ParticleSetup {
    /// Ambient dimension.
    pub dim: usize,
    /// Inverse temperature.
    pub beta: f64,
    /// Model.
    pub model: Model,
    /// Tokens per system.
    pub n: usize,
    /// Number of systems (seeds); system `s` uses PCG stream `s` of `seed`.
    pub systems: usize,
    /// Base seed.
    pub seed: u64,
    /// Final time (internal unit).
    pub t_end: f64,
    /// Intervals of the diagnostics grid.
    pub series_points: usize,
    /// Largest recorded degree of the harmonic power.
    pub lmax_power: usize,
    /// Local error tolerance of the Dormand–Prince integrator.
    pub tol: f64,
    /// Cluster definition.
    #[serde(skip)]
    pub clusters: ClusterParams,
}

impl ParticleSetup {
    /// Run the ensemble (fast summation where it is cheaper) and return its results; each
    /// system is a part `<key>_s<system>` of `parts` (restored if an earlier session completed
    /// it).
    pub fn run(&self, parts: &Parts, key: &str) -> Result<EnsembleResult> {
        use rayon::prelude::*;
        let field =
            build_velocity_field(Method::Auto, self.dim, self.beta, self.model, self.n, 1e-12)?;
        let cfg = RunConfig {
            t_end: self.t_end,
            control: StepControl::DormandPrince { tol: self.tol },
            lmax_power: self.lmax_power,
            save_every: None,
            series_points: self.series_points,
            spacing: crate::particles::RowSpacing::Linear,
            merge_radius: crate::particles::COINCIDENT_CHORD,
            clusters: self.clusters,
        };
        let ctl = parts.control();
        let stop = || ctl.poll_stop();
        let systems = (0..self.systems)
            .into_par_iter()
            .map(|s| {
                parts.get(&format!("{key}_s{s}"), || {
                    let x0 = initial_state(self.n, self.dim, self.seed, s, None);
                    simulate(&cfg, field.as_ref(), x0, &mut (), &stop)
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(EnsembleResult { systems })
    }
}

/// Linear growth rate `gamma_l` per unit of the internal time (USA: per `tau`; SA: per `t`).
pub fn theory_rate(l: usize, beta: f64, dim: usize, model: Model) -> f64 {
    linear::growth_rate(l, beta, dim, model, TimeUnit::Scaled)
}

/// Name of the internal time unit, for reports and axis labels.
pub fn time_unit_name(model: Model) -> &'static str {
    crate::TimeScale::new(model, 1.0, TimeUnit::Scaled).internal_name()
}

/// Column `l - 1` (degree `l`) of the power series of system `s`.
pub fn power_series(res: &EnsembleResult, s: usize, l: usize) -> Vec<f64> {
    res.systems[s].rows.iter().map(|r| r.power[l - 1]).collect()
}

/// Times of the shared diagnostics grid.
pub fn times(res: &EnsembleResult) -> Vec<f64> {
    res.systems[0].rows.iter().map(|r| r.time).collect()
}
