//! Noise for the stochastic token system `dX_i = v_i(X) dt + sqrt(2 nu) dW_i` on `S^{d-1}`
//! (`W_i` independent Brownian motions on the sphere, generator `nu Lap`; `nu = 1/kappa`).
//!
//! # Scheme
//!
//! Lie splitting: after each accepted deterministic step of size `h` (RK4, Dormand–Prince or
//! Euler, see [`super::integrate`]) every token takes a *geodesic Brownian increment*
//!
//! ```text
//! xi = sqrt(2 nu h) P_x g,  g ~ N(0, I_d);    x <- cos|xi| x + sin|xi| xi/|xi|
//! ```
//!
//! (a tangent Gaussian of variance `2 nu h` per tangent direction, followed along the great
//! circle; renormalised to remove rounding). On the circle (`d = 2`) this is the exact law of
//! Brownian motion over `h`. On `S^{d-1}`, `d >= 3`, it is a first-order weak approximation:
//! for the pure noise, `E<x_{n+1}, x_0> = E[cos|xi|] E<x_n, x_0>` exactly, and
//! `ln E cos|xi| = -(d-1) nu h (1 + (d-2) nu h / 3 + O(h^2))`, so the decay rate of
//! `E<x(t), x(0)> = exp(-(d-1) nu t)` is biased by the relative amount `(d-2) nu h / 3`.
//! The splitting itself is weak order 1 (the drift and the noise do not commute), so the scheme
//! has **weak order 1** for any `d` (strong order 1/2), tested in `tests/noise_particles.rs`
//! (pure noise: observed order by moments over many tokens; drift + noise: the von Mises–Fisher
//! stationary law of a token in a linear potential).
//!
//! # Random numbers
//!
//! Counter-based: the Gaussians of token `i` at step `n` are a pure function of
//! `(seed, system, n, i, j)` (a SplitMix64 hash chain of the counters, then Box–Muller on pairs),
//! so runs are bit-identical for any number of threads, and a resumed run (which restores the
//! step count) draws exactly the numbers of an uninterrupted one. Nothing is stored.

use rayon::prelude::*;

/// Largest step per unit `1/(nu (d-1))` that adaptive stepping may take when `nu > 0`: the
/// step is capped at `NOISE_STEP_FRACTION / (nu (d-1))`, which bounds the relative bias of the
/// pure-noise decay rate by `NOISE_STEP_FRACTION (d-2) / (3 (d-1)) < 0.34%` (exact for `d = 2`)
/// and keeps the splitting error of the same order.
pub const NOISE_STEP_FRACTION: f64 = 0.01;

/// SplitMix64 finaliser: a bijective 64-bit mixer.
#[inline]
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A uniform number in `(0, 1)` from 64 random bits (53 bits, never 0 or 1).
#[inline]
fn uniform(bits: u64) -> f64 {
    ((bits >> 11) as f64 + 0.5) * (1.0 / (1u64 << 53) as f64)
}

/// Counter-based Gaussian stream: `normal(n, i, j)` is a standard Gaussian determined by the
/// key (seed and system), the step `n`, the token `i` and the draw index `j`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CounterRng {
    key: u64,
}

impl CounterRng {
    /// The stream of `system` under `seed`.
    pub fn new(seed: u64, system: u64) -> Self {
        CounterRng {
            key: mix(mix(seed ^ 0x6E6F_6973_6521_0001).wrapping_add(system)),
        }
    }

    /// Two independent standard Gaussians (Box–Muller) for draw pair `pair` of token `token`
    /// at step `step`.
    #[inline]
    pub fn normal_pair(&self, step: u64, token: u64, pair: u64) -> (f64, f64) {
        let base = mix(mix(mix(self.key ^ step) ^ token) ^ pair.wrapping_mul(2));
        let u1 = uniform(base);
        let u2 = uniform(mix(base ^ 0xA5A5_A5A5_A5A5_A5A5));
        let r = (-2.0 * u1.ln()).sqrt();
        let (s, c) = (std::f64::consts::TAU * u2).sin_cos();
        (r * c, r * s)
    }

    /// `d` standard Gaussians for token `token` at step `step` into `out`.
    pub fn normals(&self, step: u64, token: u64, out: &mut [f64]) {
        for (p, chunk) in out.chunks_mut(2).enumerate() {
            let (a, b) = self.normal_pair(step, token, p as u64);
            chunk[0] = a;
            if chunk.len() > 1 {
                chunk[1] = b;
            }
        }
    }
}

/// The noise of one system: diffusion coefficient (internal time unit) and its random stream.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Noise {
    /// Diffusion coefficient `nu > 0` per unit of the internal time.
    pub nu: f64,
    /// Counter-based random stream.
    pub rng: CounterRng,
}

/// Rows at or above this many coordinates are processed in parallel.
const PAR_MIN: usize = 1 << 14;

impl Noise {
    /// Noise `nu` (internal unit, `> 0`) for system `system` of a run with seed `seed`.
    pub fn new(nu: f64, seed: u64, system: u64) -> Self {
        Noise {
            nu,
            rng: CounterRng::new(seed, system),
        }
    }

    /// Largest adaptive step: `NOISE_STEP_FRACTION / (nu (d-1))` (see [`NOISE_STEP_FRACTION`]).
    pub fn max_step(&self, dim: usize) -> f64 {
        NOISE_STEP_FRACTION / (self.nu * (dim as f64 - 1.0))
    }

    /// Apply the geodesic Brownian increment over a step of size `h` to every unit row of `x`
    /// (`step`: the index of the step, the counter of the random stream). Each row depends only
    /// on its own index, so the result does not depend on the number of threads.
    pub fn apply(&self, x: &mut [f64], dim: usize, step: u64, h: f64) {
        let sigma = (2.0 * self.nu * h).sqrt();
        let work = |(i, row): (usize, &mut [f64])| {
            let mut g = [0.0f64; 64];
            let mut heap;
            let g: &mut [f64] = if dim <= 64 {
                &mut g[..dim]
            } else {
                heap = vec![0.0; dim];
                &mut heap
            };
            self.rng.normals(step, i as u64, g);
            geodesic_step(row, g, sigma);
        };
        if x.len() >= PAR_MIN {
            x.par_chunks_mut(dim).enumerate().for_each(work);
        } else {
            x.chunks_mut(dim).enumerate().for_each(work);
        }
    }
}

/// `x <- cos|xi| x + sin|xi| xi/|xi|`, `xi = sigma P_x g`, then renormalise (`g` is overwritten).
pub fn geodesic_step(x: &mut [f64], g: &mut [f64], sigma: f64) {
    let dot: f64 = x.iter().zip(g.iter()).map(|(a, b)| a * b).sum();
    let mut r2 = 0.0;
    for (gk, xk) in g.iter_mut().zip(x.iter()) {
        *gk = sigma * (*gk - dot * xk);
        r2 += *gk * *gk;
    }
    let r = r2.sqrt();
    if r == 0.0 {
        return;
    }
    let (s, c) = r.sin_cos();
    let mut norm = 0.0;
    for (xk, gk) in x.iter_mut().zip(g.iter()) {
        *xk = c * *xk + s * gk / r;
        norm += *xk * *xk;
    }
    let norm = norm.sqrt();
    x.iter_mut().for_each(|v| *v /= norm);
}
