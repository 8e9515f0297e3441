"""Coefficients of the polynomial atan(u) ~ u P(u^2), |u| <= tan(pi/8), used by the fast angle
filter of the circle cluster finder (src/analysis/clusters.rs, `approx_atan2`).

Least-squares fit of atan(u)/u in w = u^2 on Chebyshev nodes of [0, tan(pi/8)^2] in 50-digit
arithmetic; prints the coefficients (lowest degree first) and the largest error of the
double-precision evaluation (Horner in w, times u) against mpmath on a dense grid. The Rust
code adds a wide safety margin to this error (APPROX_ATAN2_ERROR) and never relies on it for a
result: every comparison closer than the margin is redone with the exact atan2.

    python3 scripts/atan_coefficients.py
"""
import mpmath as mp

mp.mp.dps = 50
DEG = 10
T8 = mp.tan(mp.pi / 8)
W = T8**2
nodes = [W * (1 - mp.cos(mp.pi * (k + 0.5) / 60)) / 2 for k in range(60)]


def f(w):
    if w == 0:
        return mp.mpf(1)
    u = mp.sqrt(w)
    return mp.atan(u) / u


A = mp.matrix([[w**j for j in range(DEG + 1)] for w in nodes])
b = mp.matrix([f(w) for w in nodes])
coef = mp.lu_solve(A.T * A, A.T * b)
cs = [float(c) for c in coef]
print("coefficients:", ", ".join(repr(c) for c in cs))
worst = 0.0
for k in range(20001):
    u = float(T8) * k / 20000
    w = u * u
    p = 0.0
    for c in reversed(cs):
        p = p * w + c
    err = abs(mp.mpf(u * p) - mp.atan(mp.mpf(u)))
    worst = max(worst, float(err))
print("largest error of the double evaluation:", worst)
