#!/usr/bin/env python3
"""numpy O(N^2) reference for the particle right-hand side (issue 3, item 7).

What a researcher typically writes: Gram matrix, scaled kernel, weighted sum, tangent projection,
for the USA model with the scaled kernel exp(beta(<x,y> - 1)):

    G = X @ X.T;  W = exp(beta (G - 1));  U = W @ X / N;  V = U - sum(U*X, 1)[:, None] * X

The N x N matrices are processed in row blocks of 2048 (N = 16384 would otherwise need 2 GB per
matrix); this only helps numpy. Prints the median wall time of `--repeat` evaluations per N.

Usage: python3 scripts/numpy_reference_particles.py [--dim 3] [--beta 9] [--n 4096 16384] [--repeat 5]
                                                    [--threads T] [--cpu-time]
Run in the same session as `cargo bench --bench particles` and compare medians.

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


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dim", type=int, default=3)
    ap.add_argument("--beta", type=float, default=9.0)
    ap.add_argument("--n", type=int, nargs="+", default=[4096, 16384])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--cpu-time", action="store_true")
    args = ap.parse_args()
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
    for n in args.n:
        X = rng.standard_normal((n, args.dim))
        X /= np.linalg.norm(X, axis=1)[:, None]
        rhs(X, args.beta)  # warm-up
        times = []
        for _ in range(args.repeat):
            t0 = clock()
            rhs(X, args.beta)
            times.append(clock() - t0)
        kind = "cpu" if args.cpu_time else "wall"
        print(f"numpy_exact_d{args.dim}/{n} ({kind}): median {statistics.median(times):.4f} s "
              f"(min {min(times):.4f}, max {max(times):.4f}, {args.repeat} runs)")


if __name__ == "__main__":
    main()
