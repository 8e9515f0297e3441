//! The two attention models and the two time units shared by every part of the tool.

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
