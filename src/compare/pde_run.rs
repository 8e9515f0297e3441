//! Mean-field PDE runs for the comparisons: the geometry matching a particle setup (circle for
//! `d = 2`, sphere for `d = 3`, zonal otherwise), started from random harmonic coefficients with
//! the finite-N statistics of `N` iid uniform tokens (each orthonormal coefficient of variance
//! `1/N`) or from a particle snapshot, solved in the internal time unit.

use crate::control::RunControl;
use crate::pde::init::{initial_coefficients, InitialData};
use crate::pde::{Frame, PdeConfig, PdeSink, PdeSolver, Stepping};
use crate::spectral::{Basis, CircleBasis, Geometry, SphereBasis};
use crate::{Error, Model, Result, TimeUnit};

/// The experiments' PDE runs refine up to this multiple of their starting degree (their fits
/// use the times before the density sharpens; beyond it the sphere transforms would dominate
/// the experiment's cost). Standalone PDE runs use [`crate::run::pde::default_lmax_limit`].
pub const REFINEMENT_FACTOR: usize = 4;

/// Output of [`run_pde`]: times and per-degree power at each output.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct PdeSeries {
    /// Output times (internal unit).
    pub time: Vec<f64>,
    /// `power[k][l]`, `l = 0..=L`, at output `k`.
    pub power: Vec<Vec<f64>>,
    /// Coefficients at each output (basis layout; not in `data.json`).
    #[serde(skip_serializing)]
    pub coefficients: Vec<Vec<f64>>,
    /// Largest degree at the end (after refinements).
    pub lmax: usize,
    /// Why the run stopped early, if it did.
    pub stopped: Option<String>,
}

/// Solve the PDE for `dim` (2: circle, 3: sphere) with degree `lmax` from `init`, to `t_end`
/// (internal unit) with `outputs` output times. Loss of resolution ends the run early (the
/// resolved outputs are kept and `stopped` says why); refinement is on up to
/// [`REFINEMENT_FACTOR`] `lmax`. A stop request of `ctl` ends it with [`crate::Error::Interrupted`].
#[allow(clippy::too_many_arguments)]
pub fn run_pde(
    dim: usize,
    beta: f64,
    model: Model,
    lmax: usize,
    init: &InitialData,
    t_end: f64,
    outputs: usize,
    tol: f64,
    ctl: &RunControl,
) -> Result<PdeSeries> {
    let geometry = match dim {
        2 => Geometry::Circle,
        3 => Geometry::Sphere,
        _ => {
            return Err(Error::parameter(
                "dim",
                dim,
                "2 or 3 for the PDE comparison",
            ))
        }
    };
    let cfg = PdeConfig {
        model,
        beta,
        nu: 0.0,
        time: TimeUnit::Scaled,
        t_end,
        outputs,
        stepping: Stepping::Adaptive { tol },
        resolution_tol: crate::run::pde::DEFAULT_RESOLUTION_TOL,
        refine: true,
        lmax_limit: REFINEMENT_FACTOR * lmax,
    };
    match geometry {
        Geometry::Circle => go(CircleBasis::new(lmax), init, &cfg, ctl),
        _ => go(SphereBasis::new(lmax), init, &cfg, ctl),
    }
}

struct Collect(PdeSeries);

impl<B: Basis> PdeSink<B> for Collect {
    fn frame(&mut self, f: &Frame) -> Result<()> {
        self.0.time.push(f.tau);
        self.0.power.push(f.diagnostics.power.clone());
        self.0.coefficients.push(f.coefficients.to_vec());
        self.0.lmax = f.lmax;
        Ok(())
    }
}

fn go<B: Basis>(
    mut basis: B,
    init: &InitialData,
    cfg: &PdeConfig,
    ctl: &RunControl,
) -> Result<PdeSeries> {
    let c0 = initial_coefficients(&mut basis, init)?;
    let mut out = Collect(PdeSeries {
        time: Vec::new(),
        power: Vec::new(),
        coefficients: Vec::new(),
        lmax: basis.lmax(),
        stopped: None,
    });
    let r = PdeSolver::new(basis, &c0, cfg).and_then(|mut s| s.run(&mut out, &|| ctl.poll_stop()));
    let mut out = out.0;
    match r {
        Err(crate::Error::Interrupted(m)) => return Err(crate::Error::Interrupted(m)),
        Err(e) => {
            if out.time.len() < 2 {
                return Err(e);
            }
            out.stopped = Some(e.to_string());
        }
        Ok(()) => {}
    }
    Ok(out)
}
