//! The finite-N token system: states, exact and fast summation, integrators (issue 3).
