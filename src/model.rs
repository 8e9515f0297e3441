//! The two attention models and the two time units shared by every part of the tool.

use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Attention model (DESIGN.md section 1).
///
/// - `Usa`: `dx_i/dt = P_{x_i}((1/N) sum_j K(x_i, x_j) x_j)`, velocity `(1/beta) grad Phi`.
/// - `Sa`: softmax-normalised, velocity `(1/beta) grad log Phi`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Model {
    /// Unnormalised self-attention.
    Usa,
    /// Normalised (softmax) self-attention.
    Sa,
}

impl Model {
    /// Lower-case name used on the command line and in outputs.
    pub fn name(self) -> &'static str {
        match self {
            Model::Usa => "usa",
            Model::Sa => "sa",
        }
    }
}

impl fmt::Display for Model {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Model {
    type Err = crate::Error;
    fn from_str(s: &str) -> crate::Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "usa" => Ok(Model::Usa),
            "sa" => Ok(Model::Sa),
            _ => Err(crate::Error::parameter("model", s, "usa or sa")),
        }
    }
}

/// Time unit of every reported time and rate (DESIGN.md section 2, "Time units").
///
/// - `Physical`: the time `t` of the equations as written, kernel `exp(beta <x,y>)`.
/// - `Scaled`: `tau = e^beta t` for USA (kernel `exp(beta(<x,y> - 1))`); for SA `tau = t`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum TimeUnit {
    /// Physical time `t`.
    Physical,
    /// Scaled time `tau = e^beta t` (USA); identical to `t` for SA.
    Scaled,
}

impl TimeUnit {
    /// Lower-case name used on the command line and in outputs.
    pub fn name(self) -> &'static str {
        match self {
            TimeUnit::Physical => "physical",
            TimeUnit::Scaled => "scaled",
        }
    }

    /// `ln(dtau/dt)`: `beta` for USA, `0` for SA. Rates per unit `tau` are rates per unit
    /// `t` times `exp(-ln_tau_per_t)`.
    pub fn ln_tau_per_t(model: Model, beta: f64) -> f64 {
        match model {
            Model::Usa => beta,
            Model::Sa => 0.0,
        }
    }
}

impl fmt::Display for TimeUnit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for TimeUnit {
    type Err = crate::Error;
    fn from_str(s: &str) -> crate::Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "physical" => Ok(TimeUnit::Physical),
            "scaled" => Ok(TimeUnit::Scaled),
            _ => Err(crate::Error::parameter("time", s, "physical or scaled")),
        }
    }
}

/// The one conversion between the user's time unit and the internal time of the solvers.
///
/// Internally USA runs in the scaled time `tau = e^beta t` with the scaled kernel
/// `exp(beta(<x,y> - 1))` (no overflow for any beta); SA runs in `t = tau`. A run's times
/// (`t_end`, `dt`) and rates (`nu`) are given in the unit named by `time`: `physical` (`t`) or
/// `scaled` (`tau`). Output tables always carry both `t` and `tau`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TimeScale {
    /// Attention model.
    pub model: Model,
    /// Inverse temperature.
    pub beta: f64,
    /// The user's unit.
    pub unit: TimeUnit,
}

impl TimeScale {
    /// The conversion for `model` at `beta` with user unit `unit`.
    pub fn new(model: Model, beta: f64, unit: TimeUnit) -> Self {
        TimeScale { model, beta, unit }
    }

    /// `ln(d tau / d(user time))`: `beta` for USA in physical units, else 0.
    pub fn ln_tau_per_unit(&self) -> f64 {
        match self.unit {
            TimeUnit::Physical => TimeUnit::ln_tau_per_t(self.model, self.beta),
            TimeUnit::Scaled => 0.0,
        }
    }

    /// `ln(d tau / dt)`: `beta` for USA, 0 for SA.
    pub fn ln_tau_per_t(&self) -> f64 {
        TimeUnit::ln_tau_per_t(self.model, self.beta)
    }

    /// Internal time of the user time `value` of field `name`; an error naming the field when
    /// it is not a finite positive number in either unit.
    pub fn to_internal(&self, name: &str, value: f64) -> Result<f64> {
        let tau = value * self.ln_tau_per_unit().exp();
        if value.is_finite() && value > 0.0 && tau.is_finite() && tau > 0.0 {
            Ok(tau)
        } else if value.is_finite() && value > 0.0 {
            Err(Error::parameter(
                name,
                value,
                format!(
                    "a time whose scaled value e^beta * {name} is finite at beta = {} (or time = \"scaled\")",
                    self.beta
                ),
            ))
        } else {
            Err(Error::parameter(name, value, "a finite number > 0"))
        }
    }

    /// The user time of the internal time `tau` (may underflow to 0 for USA in physical units
    /// at large beta).
    pub fn to_user(&self, tau: f64) -> f64 {
        tau * (-self.ln_tau_per_unit()).exp()
    }

    /// Physical time `t` of the internal time `tau` (may underflow to 0 for USA at large beta).
    pub fn t_of_tau(&self, tau: f64) -> f64 {
        tau * (-self.ln_tau_per_t()).exp()
    }

    /// A rate per unit of user time (a diffusion coefficient `nu`) per unit of internal time.
    pub fn rate_to_internal(&self, rate: f64) -> f64 {
        rate * (-self.ln_tau_per_unit()).exp()
    }

    /// Name of the internal time, for labels: `τ = e^β t` (USA) or `t` (SA).
    pub fn internal_name(&self) -> &'static str {
        match self.model {
            Model::Usa => "τ = e^β t",
            Model::Sa => "t",
        }
    }
}

#[cfg(test)]
mod time_scale_tests {
    use super::*;

    #[test]
    fn physical_usa_times_scale_by_e_beta() {
        let s = TimeScale::new(Model::Usa, 2.0, TimeUnit::Physical);
        assert_eq!(s.to_internal("t_end", 1.0).unwrap(), 2f64.exp());
        assert_eq!(s.to_user(2f64.exp()), 2f64.exp() * (-2f64).exp());
        let sa = TimeScale::new(Model::Sa, 2.0, TimeUnit::Physical);
        assert_eq!(sa.to_internal("t_end", 1.5).unwrap(), 1.5);
        let big = TimeScale::new(Model::Usa, 800.0, TimeUnit::Physical);
        let e = big.to_internal("t_end", 1.0).unwrap_err().to_string();
        assert!(e.contains("t_end") && e.contains("scaled"), "{e}");
        assert!(s.to_internal("dt", -1.0).is_err());
        assert!(s.to_internal("dt", f64::NAN).is_err());
    }
}
