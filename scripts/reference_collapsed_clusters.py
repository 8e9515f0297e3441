#!/usr/bin/env python3
"""Reference velocities of two collapsed clusters (tests/fixtures/collapsed_clusters_mpmath.csv,
used by tests/velocity_precision.rs; issue 10 item 1).

k copies of a token x_A and m copies of x_B (exactly coincident within each cluster) on
S^{d-1}; the inter-cluster weight w = exp(beta(<x_A, x_B> - 1)) is set to 1e-40, 1e-100, 1e-300
(and 1e-320, below the clamp of the fast exponential at 2^-1000) by choosing beta for a given
angle theta between the clusters: theta = 1 (beta of order 1e2..1e3) and theta = 0.05 (close
clusters at beta of order 1e5..1e6). With the scaled kernel, the in-cluster weight is 1 and

  USA: v_A = m w (x_B - c x_A) / N,              v_B = k w (x_A - c x_B) / N,   N = k + m,
  SA:  v_A = m w (x_B - c x_A) / (k + m w),      v_B = k w (x_A - c x_B) / (m + k w),

with c = <x_A, x_B> (coincident tokens contribute x - <x,x> x = 0). Columns v_a, v_b are these
velocities, u_a, u_b the velocities per unit weight v/w (for the cases below the clamp, where
v itself is subnormal in double precision). The inputs are doubles
(x_A, x_B rounded to double, written with 17 significant digits, which round-trip exactly);
the reference normalises those doubles exactly and evaluates everything in mpmath at 60 digits.

Run: python3 scripts/reference_collapsed_clusters.py > tests/fixtures/collapsed_clusters_mpmath.csv
"""
import random

import mpmath as mp

mp.mp.dps = 60


def unit(v):
    n = mp.sqrt(mp.fsum(a * a for a in v))
    return [a / n for a in v]


def frame(dim, rng):
    """Random unit x_A and a unit vector u orthogonal to it (in mpmath)."""
    a = unit([mp.mpf(rng.gauss(0.0, 1.0)) for _ in range(dim)])
    g = [mp.mpf(rng.gauss(0.0, 1.0)) for _ in range(dim)]
    p = mp.fsum(x * y for x, y in zip(a, g))
    u = unit([y - p * x for x, y in zip(a, g)])
    return a, u


def main():
    rng = random.Random(20261202)
    cols = ["dim", "model", "beta", "k", "m", "theta", "weight", "x_a", "x_b", "v_a", "v_b",
            "u_a", "u_b"]
    print(",".join(cols))
    for dim in (2, 3, 7):
        for theta in ("1", "0.05"):
            a, u = frame(dim, rng)
            th = mp.mpf(theta)
            b = [mp.cos(th) * x + mp.sin(th) * y for x, y in zip(a, u)]
            xa = [float(x) for x in a]
            xb = [float(x) for x in b]
            # The doubles are the inputs; normalise them exactly for the reference.
            na = unit([mp.mpf(x) for x in xa])
            nb = unit([mp.mpf(x) for x in xb])
            c = mp.fsum(x * y for x, y in zip(na, nb))
            for target in ("1e-40", "1e-100", "1e-300", "1e-320"):
                beta = float(-mp.log(mp.mpf(target)) / (1 - c))
                w = mp.exp(mp.mpf(beta) * (c - 1))
                for model in ("usa", "sa"):
                    k, m = 300, 7
                    tan_a = [y - c * x for x, y in zip(na, nb)]  # x_B - c x_A
                    tan_b = [x - c * y for x, y in zip(na, nb)]  # x_A - c x_B
                    if model == "usa":
                        sa = m * w / (k + m)
                        sb = k * w / (k + m)
                    else:
                        sa = m * w / (k + m * w)
                        sb = k * w / (m + k * w)
                    va = [sa * t for t in tan_a]
                    vb = [sb * t for t in tan_b]
                    row = [
                        str(dim),
                        model,
                        repr(beta),
                        str(k),
                        str(m),
                        theta,
                        mp.nstr(w, 20, min_fixed=0, max_fixed=0),
                        " ".join(repr(x) for x in xa),
                        " ".join(repr(x) for x in xb),
                        " ".join(mp.nstr(x, 20, min_fixed=0, max_fixed=0) for x in va),
                        " ".join(mp.nstr(x, 20, min_fixed=0, max_fixed=0) for x in vb),
                        " ".join(mp.nstr(x / w, 20, min_fixed=0, max_fixed=0) for x in va),
                        " ".join(mp.nstr(x / w, 20, min_fixed=0, max_fixed=0) for x in vb),
                    ]
                    print(",".join(row))


if __name__ == "__main__":
    main()
