#!/usr/bin/env python3
"""numpy O(N^2) reference for the particle right-hand side (issue 3, item 7).

What a researcher typically writes: Gram matrix, scaled kernel, weighted sum, tangent projection,
for the USA model with the scaled kernel exp(beta(<x,y> - 1)):

    G = X @ X.T;  W = exp(beta (G - 1));  U = W @ X / N;  V = U - sum(U*X, 1)[:, None] * X

The N x N matrices are processed in row blocks of 2048 (N = 16384 would otherwise need 2 GB per
matrix); this only helps numpy. Prints the median wall time of `--repeat` evaluations per N.

Usage: python3 scripts/numpy_reference_particles.py [--dim 3] [--beta 9] [--n 4096 16384] [--repeat 5]
                                                    [--threads T] [--cpu-time] [--rk4 [--dt H] [--lmax-power 16]]
Run in the same session as `cargo bench --bench particles` and compare medians.

--rk4 times one classical RK4 step instead of one right-hand side, written like the simulator's
step: four right-hand sides, each stage point and the new state renormalised to the sphere
(retraction), and the diagnostics of one `attnflow particles` output row that numpy gets almost
for free: the energy from the same weights as the last right-hand side (sum of W), the mean
squared speed, and the harmonic power C_1..C_Lp (d = 3: from spherical-harmonic moments by the
normalised associated-Legendre recurrence, O(N Lp^2); other d: skipped). The cluster count is
not computed (numpy alone has no neighbour search; the simulator pays for it). The step size
(--dt, internal unit tau) does not change the cost. `--selftest` checks the harmonic power
against the pairwise Legendre sum on a small system and exits.

--threads T limits the BLAS/OpenMP threads (set before numpy is imported); --cpu-time reports
the on-CPU time of the calling thread (time.thread_time) instead of the wall time: with
--threads 1 this is the counterpart of `ATTNFLOW_BENCH_CPU=1 cargo bench --bench particles`
on a machine shared with other work.
"""
import argparse
import os
import statistics
import sys
import time


def rhs(X, beta, block=2048):
    n = X.shape[0]
    V = np.empty_like(X)
    for s in range(0, n, block):
        Xb = X[s:s + block]
        W = np.exp(beta * (Xb @ X.T - 1.0))
        U = W @ X / n
        V[s:s + block] = U - np.sum(U * Xb, axis=1)[:, None] * Xb
    return V


def rhs_energy(X, beta, block=2048):
    """Right-hand side and the mean kernel (1/N^2) sum_ij W_ij from the same weights."""
    n = X.shape[0]
    V = np.empty_like(X)
    wsum = 0.0
    for s in range(0, n, block):
        Xb = X[s:s + block]
        W = np.exp(beta * (Xb @ X.T - 1.0))
        wsum += W.sum()
        U = W @ X / n
        V[s:s + block] = U - np.sum(U * Xb, axis=1)[:, None] * Xb
    return V, wsum / (n * n)


def harmonic_power_s2(X, lmax):
    """C_l = sum_m M_lm^2, M_lm = mean_j Y_lm(x_j), Y_lm real and orthonormal for the uniform
    probability measure on S^2 (so C_l = 2l + 1 for a single token), l = 1..lmax."""
    z = np.clip(X[:, 2], -1.0, 1.0)
    s = np.sqrt(np.maximum(0.0, 1.0 - z * z))
    phi = np.arctan2(X[:, 1], X[:, 0])
    c = np.zeros(lmax + 1)
    pmm = np.ones_like(z)  # normalised P_m^m (sqrt(2l+1)-normalised Legendre, times sqrt 2 for m > 0)
    for m in range(lmax + 1):
        if m > 0:
            pmm = -np.sqrt((2 * m + 1) / (2.0 * m)) * s * pmm
        f = 1.0 if m == 0 else np.sqrt(2.0)
        cm, sm = (np.cos(m * phi), np.sin(m * phi)) if m > 0 else (np.ones_like(z), None)
        p0, p1 = None, pmm
        for l in range(m, lmax + 1):
            if l == m:
                p = pmm
            elif l == m + 1:
                p = np.sqrt(2 * m + 3.0) * z * pmm
            else:
                a = np.sqrt((4.0 * l * l - 1) / (l * l - m * m))
                b = np.sqrt(((l - 1.0) ** 2 - m * m) / (4.0 * (l - 1) ** 2 - 1))
                p = a * (z * p1 - b * p0)
            if l > m:
                p0, p1 = p1, p
            if l >= 1:
                mc = f * np.mean(p * cm)
                c[l] += mc * mc
                if sm is not None:
                    ms = f * np.mean(p * sm)
                    c[l] += ms * ms
    return c[1:]


def harmonic_power_pairwise(X, lmax):
    """C_l = (2l + 1)/N^2 sum_ij P_l(<x_i, x_j>) (d = 3), for the self-test."""
    t = np.clip(X @ X.T, -1.0, 1.0)
    p0, p1 = np.ones_like(t), t
    out = [3.0 * p1.mean()]
    for l in range(2, lmax + 1):
        p0, p1 = p1, ((2 * l - 1) * t * p1 - (l - 1) * p0) / l
        out.append((2 * l + 1) * p1.mean())
    return np.array(out)


def rk4_step(X, beta, h, V, lmax):
    """One classical RK4 step from X with V = f(X) known (as in the simulator, which keeps the
    velocity of the last step): stages renormalised, then the row diagnostics at the new state.
    Returns the new state, its velocity, energy, mean squared speed and harmonic power."""
    unit = lambda Y: Y / np.linalg.norm(Y, axis=1)[:, None]
    k1 = V
    k2, _ = rhs_energy(unit(X + 0.5 * h * k1), beta)
    k3, _ = rhs_energy(unit(X + 0.5 * h * k2), beta)
    k4, _ = rhs_energy(unit(X + h * k3), beta)
    Xn = unit(X + h / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4))
    Vn, mean_kernel = rhs_energy(Xn, beta)
    energy = mean_kernel / (2.0 * beta)
    speed2 = np.sum(Vn * Vn) / X.shape[0]
    power = harmonic_power_s2(Xn, lmax) if X.shape[1] == 3 else None
    return Xn, Vn, energy, speed2, power


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dim", type=int, default=3)
    ap.add_argument("--beta", type=float, default=9.0)
    ap.add_argument("--n", type=int, nargs="+", default=[4096, 16384])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--cpu-time", action="store_true")
    ap.add_argument("--rk4", action="store_true")
    ap.add_argument("--dt", type=float, default=0.1)
    ap.add_argument("--lmax-power", type=int, default=16)
    ap.add_argument("--selftest", action="store_true")
    args = ap.parse_args()
    if args.repeat < 1:
        sys.exit(f"invalid --repeat = {args.repeat}: a positive integer is accepted")
    if args.lmax_power < 1:
        sys.exit(f"invalid --lmax-power = {args.lmax_power}: a positive integer is accepted")
    if args.threads is not None:
        if args.threads < 1:
            sys.exit(f"invalid --threads = {args.threads}: a positive integer is accepted")
        for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ[var] = str(args.threads)
    global np
    import numpy as np
    clock = time.thread_time if args.cpu_time else time.perf_counter
    rng = np.random.default_rng(1)
    print(f"numpy {np.__version__}")
    if args.selftest:
        X = rng.standard_normal((300, 3))
        X /= np.linalg.norm(X, axis=1)[:, None]
        X[:100] = X[0]  # a cluster: power well above the iid level
        a, b = harmonic_power_s2(X, 12), harmonic_power_pairwise(X, 12)
        one = harmonic_power_s2(X[:1], 12) / (2 * np.arange(1, 13) + 1)
        err = max(np.max(np.abs(a - b) / b), np.max(np.abs(one - 1.0)))
        print(f"harmonic power: moments vs pairwise, max relative difference {err:.2e}")
        sys.exit(0 if err < 1e-12 else 1)
    for n in args.n:
        X = rng.standard_normal((n, args.dim))
        X /= np.linalg.norm(X, axis=1)[:, None]
        if args.rk4:
            V, _ = rhs_energy(X, args.beta)  # also the warm-up
            step = lambda: rk4_step(X, args.beta, args.dt, V, args.lmax_power)
        else:
            step = lambda: rhs(X, args.beta)
            step()  # warm-up
        times = []
        for _ in range(args.repeat):
            t0 = clock()
            step()
            times.append(clock() - t0)
        kind = "cpu" if args.cpu_time else "wall"
        what = "rk4_step" if args.rk4 else "exact"
        print(f"numpy_{what}_d{args.dim}/{n} ({kind}): median {statistics.median(times):.4f} s "
              f"(min {min(times):.4f}, max {max(times):.4f}, {args.repeat} runs)")


if __name__ == "__main__":
    main()
