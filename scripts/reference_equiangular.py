#!/usr/bin/env python3
"""Reference times of the equiangular reduction (tests/fixtures/equiangular_mpmath.csv).

For n tokens with equal pairwise inner products rho, in the internal time of attnflow
(tau = e^beta t for USA, t for SA) and with u = ln(1 - rho):

    USA:  T = (n/2) int_{u1}^{u0} exp(beta e^u) / (n - (n-1) e^u) du
    SA:   T = (1/2) int_{u1}^{u0} (exp(beta e^u) + n - 1) / (n - (n-1) e^u) du

evaluated with mpmath at 40 digits (tanh-sinh quadrature, split at the midpoint).
Run: python3 scripts/reference_equiangular.py > tests/fixtures/equiangular_mpmath.csv
"""
from mpmath import mp, mpf, quad, exp, log, nstr

mp.dps = 40
cases = [
    ("usa", 32, "4", "0", "0.999"),
    ("sa", 32, "4", "0", "0.999"),
    ("usa", 5, "9", "-0.2", "0.999"),
    ("sa", 5, "9", "-0.2", "0.999"),
    ("usa", 3, "0.5", "0.3", "0.5"),
    ("sa", 128, "9", "0", "0.999"),
    ("usa", 2, "50", "0", "0.9999"),
]
print("model,n,beta,rho0,rho1,time")
for model, n, beta, r0, r1 in cases:
    b, a0, a1 = mpf(beta), mpf(r0), mpf(r1)
    if model == "usa":
        f = lambda u: (mpf(n) / 2) * exp(b * exp(u)) / (n - (n - 1) * exp(u))
    else:
        f = lambda u: (exp(b * exp(u)) + n - 1) / (2 * (n - (n - 1) * exp(u)))
    u0, u1 = log(1 - a0), log(1 - a1)
    t = quad(f, [u1, (u0 + u1) / 2, u0])
    print(f"{model},{n},{beta},{r0},{r1},{nstr(t, 25)}")
