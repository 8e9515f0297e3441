#!/usr/bin/env python3
"""Reference values for the noisy linear theory (tests/noise_linear.rs), mpmath at 40 digits.

    beta_*^{(d)}: root of I_{d/2+1}(beta) / I_{d/2}(beta) = 1/d          (Mun-Rosenzweig)
    nu_#(beta, d) = lambda_1 / beta,  lambda_1 = Gamma(d/2) (2/beta)^a I_{1+a}(beta), a = (d-2)/2
                                                                      (USA, physical time)

Writes
  tests/fixtures/noise_critical_beta.csv   d,beta_star
  tests/fixtures/noise_threshold.csv       d,beta,nu_sharp

Run:  python3 scripts/reference_noise.py   (needs mpmath; a few seconds)
"""
import os
from mpmath import mp, mpf, besseli, gamma, findroot, nstr

mp.dps = 40
HERE = os.path.dirname(os.path.abspath(__file__))
FIX = os.path.join(HERE, "..", "tests", "fixtures")


def beta_star(d):
    d = mpf(d)
    f = lambda b: besseli(d / 2 + 1, b) / besseli(d / 2, b) - 1 / d
    # bisection bracket (1, d + 2), then Newton/secant polish
    lo, hi = mpf(1), d + 2
    for _ in range(60):
        mid = (lo + hi) / 2
        if f(mid) < 0:
            lo = mid
        else:
            hi = mid
    return findroot(f, (lo + hi) / 2)


def nu_sharp(d, beta):
    d, beta = mpf(d), mpf(beta)
    a = (d - 2) / 2
    lam1 = gamma(d / 2) * (2 / beta) ** a * besseli(1 + a, beta)
    return lam1 / beta


with open(os.path.join(FIX, "noise_critical_beta.csv"), "w") as f:
    f.write("d,beta_star\n")
    for d in [2, 3, 4, 5, 8, 16, 64]:
        f.write(f"{d},{nstr(beta_star(d), 30)}\n")

with open(os.path.join(FIX, "noise_threshold.csv"), "w") as f:
    f.write("d,beta,nu_sharp\n")
    for d in [2, 3, 4, 8, 16, 64]:
        for beta in ["1e-4", "0.01", "0.5", "1", "2.5", "9", "50", "300"]:
            f.write(f"{d},{beta},{nstr(nu_sharp(d, beta), 30)}\n")
