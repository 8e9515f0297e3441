//! Mean-field PDE runs for the comparisons: the geometry matching a particle setup (circle for
//! `d = 2`, sphere for `d = 3`, zonal otherwise), started from random harmonic coefficients with
//! the finite-N statistics of `N` iid uniform tokens (each orthonormal coefficient of variance
//! `1/N`) or from a particle snapshot, solved in the internal time unit.

use crate::pde::init::{initial_coefficients, InitialData};
use crate::pde::{solve, Frame, PdeConfig, Stepping, Summary};
use crate::spectral::{Basis, CircleBasis, SphereBasis};
use crate::{Error, Model, Result, TimeUnit};

/// Output of [`run_pde`]: times and per-degree power at each output.
#[derive(Clone, Debug, serde::Serialize)]
pub struct PdeSeries {
    /// Output times (internal unit).
    pub time: Vec<f64>,
    /// `power[k][l]`, `l = 0..=L`, at output `k`.
    pub power: Vec<Vec<f64>>,
    /// Coefficients at each output (basis layout).
    #[serde(skip)]
    pub coefficients: Vec<Vec<f64>>,
    /// Largest degree at the end (after refinements).
    pub lmax: usize,
    /// Why the run stopped early, if it did.
    pub stopped: Option<String>,
}

/// Solve the PDE for `dim` (2: circle, 3: sphere) with degree `lmax` from `init`, to `t_end`
/// (internal unit) with `outputs` output times. Loss of resolution ends the run early (the
/// resolved outputs are kept and `stopped` says why); refinement is on up to `4 lmax`.
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
) -> Result<PdeSeries> {
    let cfg = PdeConfig {
        model,
        beta,
        nu: 0.0,
        time: TimeUnit::Scaled,
        t_end,
        outputs,
        stepping: Stepping::Adaptive { tol },
        resolution_tol: 1e-10,
        refine: true,
        lmax_limit: 4 * lmax,
    };
    match dim {
        2 => go(CircleBasis::new(lmax), init, &cfg),
        3 => go(SphereBasis::new(lmax), init, &cfg),
        _ => Err(Error::parameter(
            "dim",
            dim,
            "2 or 3 for the PDE comparison",
        )),
    }
}

fn go<B: Basis>(mut basis: B, init: &InitialData, cfg: &PdeConfig) -> Result<PdeSeries> {
    let c0 = initial_coefficients(&mut basis, init)?;
    let mut out = PdeSeries {
        time: Vec::new(),
        power: Vec::new(),
        coefficients: Vec::new(),
        lmax: basis.lmax(),
        stopped: None,
    };
    let mut summary = Summary::default();
    let r = solve(
        basis,
        &c0,
        cfg,
        |f: &Frame| {
            out.time.push(f.tau);
            out.power.push(f.diagnostics.power.clone());
            out.coefficients.push(f.coefficients.to_vec());
            out.lmax = f.lmax;
            Ok(())
        },
        |_| {},
        &mut summary,
    );
    if let Err(e) = r {
        if out.time.len() < 2 {
            return Err(e);
        }
        out.stopped = Some(e.to_string());
    }
    Ok(out)
}
