//! The finite-N token system on `S^{d-1}` (DESIGN.md sections 1 and 4): token states,
//! exact and fast (spectral) summation of the velocity field, integrators, ensembles and the
//! driver that records diagnostics.
//!
//! Time units: the USA model is integrated in the scaled time `tau = e^beta t` with the scaled
//! kernel `exp(beta(<x,y> - 1))` (values in `(0, 1]`, no overflow for any `beta`); the SA model
//! is invariant under the kernel scaling and is integrated in `t` (`tau = t`).

pub mod batch;
pub mod circle_fast;
pub mod ensemble;
pub mod exact;
pub mod fastexp;
pub mod integrate;
pub mod noise;
pub mod run;
pub mod sphere_fast;
pub mod state;
pub mod velocity;
pub mod weighted;

pub use circle_fast::CircleFourierField;
pub use ensemble::{initial_state, run_ensemble, EnsembleResult};
pub use exact::ExactField;
pub use integrate::{
    close_pairs, has_pair_between, link_groups, merge_check, Integrator, IntegratorState,
    MergeCheck, ProjectedOrder, StepControl, StepReport,
};
pub use noise::{CounterRng, Noise};
pub use run::{
    row_times, simulate, MergeEvent, RowSpacing, RunConfig, SeriesRow, Simulation,
    SimulationResult, SimulationSink, SimulationState, SnapshotInfo, CLOSE_CHORD, COINCIDENT_CHORD,
};
pub use sphere_fast::SphereHarmonicField;
pub use state::TokenState;
pub use velocity::{build_velocity_field, weighted_pairwise, Method, VelocityField};
