//! Butcher tableaux shared by the time integrators of the particle system
//! ([`crate::particles::Integrator`]) and of the mean-field PDE ([`crate::pde::timestep`]).

/// Dormand–Prince 5(4) (Dormand and Prince 1980): fifth-order solution, fourth-order embedded
/// estimate, first stage of the next step = last stage of this one (FSAL).
pub mod dopri5 {
    /// Nodes `c_i`.
    pub const C: [f64; 7] = [0.0, 0.2, 0.3, 0.8, 8.0 / 9.0, 1.0, 1.0];
    /// `a_ij` (row `i` uses its first `i` entries).
    pub const A: [[f64; 6]; 7] = [
        [0.0; 6],
        [0.2, 0.0, 0.0, 0.0, 0.0, 0.0],
        [3.0 / 40.0, 9.0 / 40.0, 0.0, 0.0, 0.0, 0.0],
        [44.0 / 45.0, -56.0 / 15.0, 32.0 / 9.0, 0.0, 0.0, 0.0],
        [
            19372.0 / 6561.0,
            -25360.0 / 2187.0,
            64448.0 / 6561.0,
            -212.0 / 729.0,
            0.0,
            0.0,
        ],
        [
            9017.0 / 3168.0,
            -355.0 / 33.0,
            46732.0 / 5247.0,
            49.0 / 176.0,
            -5103.0 / 18656.0,
            0.0,
        ],
        [
            35.0 / 384.0,
            0.0,
            500.0 / 1113.0,
            125.0 / 192.0,
            -2187.0 / 6784.0,
            11.0 / 84.0,
        ],
    ];
    /// Weights `b_j` of the fifth-order solution (equal to the last row of `A`).
    pub const B: [f64; 7] = [
        35.0 / 384.0,
        0.0,
        500.0 / 1113.0,
        125.0 / 192.0,
        -2187.0 / 6784.0,
        11.0 / 84.0,
        0.0,
    ];
    /// Weights `b_hat_j` of the embedded fourth-order solution.
    pub const B_HAT: [f64; 7] = [
        5179.0 / 57600.0,
        0.0,
        7571.0 / 16695.0,
        393.0 / 640.0,
        -92097.0 / 339200.0,
        187.0 / 2100.0,
        1.0 / 40.0,
    ];
}

#[cfg(test)]
mod tests {
    use super::dopri5::*;

    #[test]
    fn dopri5_satisfies_its_order_conditions() {
        // Row sums equal the nodes; b and b_hat integrate polynomials up to degree 4 / 3
        // (sum b_j c_j^(q-1) = 1/q), FSAL (last row of A = b).
        for i in 0..7 {
            let s: f64 = A[i].iter().sum();
            assert!((s - C[i]).abs() < 1e-14, "row {i}");
        }
        for q in 1..=5 {
            let m: f64 = B.iter().zip(&C).map(|(b, c)| b * c.powi(q - 1)).sum();
            assert!((m - 1.0 / q as f64).abs() < 1e-14, "b, q = {q}");
        }
        for q in 1..=4 {
            let m: f64 = B_HAT.iter().zip(&C).map(|(b, c)| b * c.powi(q - 1)).sum();
            assert!((m - 1.0 / q as f64).abs() < 1e-14, "b_hat, q = {q}");
        }
        assert_eq!(&A[6][..6], &B[..6]);
    }
}
