//! Argument structures and thin drivers, one file per subcommand.

pub mod figures;
pub mod linear;
pub mod particles;
pub mod pde;
