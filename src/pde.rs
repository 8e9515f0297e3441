//! The mean-field continuity equation: one right-hand side for every basis (issue 4).
