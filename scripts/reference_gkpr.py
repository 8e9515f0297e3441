#!/usr/bin/env python3
"""Reference for `compare staircase --preset gkpr` (tests/fixtures/gkpr_descent.csv).

A numpy re-implementation of the normalised-gradient descent with which Geshkovski, Koubbi,
Polyanskiy and Rigollet draw their energy staircase (n = 5 tokens on the circle, USA): their
initial angles 0.5*[0, 0.5, 2, 4, 7]*ln(2000)/sqrt(2000) (computed once with b = 2000 for every
beta), step theta <- theta + lr*ln(beta)*g/|g| with g_i = (1/n^2) sum_j -sin(theta_i - theta_j)
exp(beta(cos(theta_i - theta_j) - 1)), lr = 1e-5; once |g| < 1e-5, tokens closer than 1e-3 are
moved onto the earlier one. Prints the rescaled time lr*iterations at which the energy
(1/n^2) sum_ij exp(beta(cos - 1)) first exceeds 0.999 (the last merge).

Run: python3 scripts/reference_gkpr.py > tests/fixtures/gkpr_descent.csv   (a few minutes)
"""
import numpy as np

B0 = 2000.0
THETA0 = 0.5 * np.array([0.0, 0.5, 2.0, 4.0, 7.0]) * np.log(B0) / np.sqrt(B0)


def last_merge(beta, lr=1e-5, max_iter=2_000_000):
    th = THETA0.copy()
    n = len(th)
    for it in range(1, max_iter + 1):
        d = th[:, None] - th[None, :]
        g = np.sum(-np.sin(d) * np.exp(beta * (np.cos(d) - 1.0)), axis=1) / n**2
        norm = np.linalg.norm(g)
        th = th + lr * np.log(beta) * g / norm
        if norm < 1e-5:
            for j in range(n):
                for k in range(j + 1, n):
                    if abs(th[j] - th[k]) < 1e-3:
                        th[k] = th[j]
        d = th[:, None] - th[None, :]
        if np.sum(np.exp(beta * (np.cos(d) - 1.0))) / n**2 > 0.999:
            return it, lr * it
    return None, None


print("beta,iterations,rescaled_time")
for beta in [500.0, 1000.0, 1500.0, 2000.0, 3000.0, 4000.0]:
    it, s = last_merge(beta)
    print(f"{beta},{it},{s!r}", flush=True)
