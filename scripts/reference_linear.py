#!/usr/bin/env python3
"""Reference values for the linear stability theory (tests/linear_theory.rs), mpmath at 40 digits.

Conventions (DESIGN.md section 2): a = (d-2)/2,
    lambda_l = Gamma(d/2) (2/beta)^a I_{l+a}(beta)
    gamma_l  = l(l+d-2) lambda_l / beta                      (USA, physical time)
    gamma_l  = l(l+d-2) lambda_l / beta * e^{-beta}          (USA, scaled time tau = e^beta t)
    gamma_l  = l(l+d-2) lambda_l / (beta lambda_0)           (SA, both time units)
beta_k: root of I_{k+1+a}(beta)/I_{k+a}(beta) = k(k+d-2)/((k+1)(k+d-1)).

Writes
  tests/fixtures/linear_rates.csv       d,beta,l,ln_lambda,ln_gamma_usa_physical,ln_gamma_usa_scaled,ln_gamma_sa,
                                        lambda_scaled,gamma_usa_physical,gamma_usa_scaled,gamma_sa
                                        (lambda_scaled = e^{-beta} lambda_l; the gamma columns are empty
                                        for l = 0, the value columns where not a normal f64)
  tests/fixtures/linear_thresholds.csv  d,k,beta_k

Run:  python3 scripts/reference_linear.py   (needs mpmath; ~1 min)
"""
import os
from mpmath import mp, mpf, besseli, exp, log, loggamma, findroot

mp.dps = 40
DIMS = [2, 3, 4, 5, 8, 16, 33, 64, 1024]
BETAS = ["1e-3", "0.1", "1", "5", "9", "50", "700", "1e3", "1e4"]
DEGREES = [0, 1, 2, 3, 5, 10, 50, 100, 500, 1000, 2000]


def value(ln_v):
    """exp(ln_v) with 34 digits if it is a normal f64 (no overflow, >= 2^-1022), else empty."""
    v = exp(ln_v)
    if v < mpf(2) ** -1022 or v > mpf(2) ** 1023 * 1.99:
        return ""
    return mp.nstr(v, 34)


def ln_i(nu, x):
    return log(besseli(nu, x))


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    fixtures = os.path.join(here, "..", "tests", "fixtures")
    rows = []
    for d in DIMS:
        a = mpf(d - 2) / 2
        for b_s in BETAS:
            beta = mpf(float(b_s))  # the f64 the test uses
            pre = loggamma(mpf(d) / 2) + a * log(2 / beta)
            ln_i0 = ln_i(a, beta)
            for l in DEGREES:
                ln_il = ln_i(l + a, beta)
                ln_lam = pre + ln_il
                lam_scaled = value(ln_lam - beta)
                if l == 0:
                    rows.append(f"{d},{b_s},{l},{mp.nstr(ln_lam, 34)},,,,{lam_scaled},,,")
                    continue
                base = log(mpf(l) * (l + d - 2)) - log(beta)
                usa = base + ln_lam
                usa_scaled = usa - beta
                sa = base + ln_il - ln_i0
                rows.append(",".join([str(d), b_s, str(l)] +
                                     [mp.nstr(v, 34) for v in (ln_lam, usa, usa_scaled, sa)] +
                                     [lam_scaled] +
                                     [value(v) for v in (usa, usa_scaled, sa)]))
    with open(os.path.join(fixtures, "linear_rates.csv"), "w") as f:
        f.write("# d,beta,l,ln_lambda,ln_gamma_usa_physical,ln_gamma_usa_scaled,ln_gamma_sa,"
                "lambda_scaled,gamma_usa_physical,gamma_usa_scaled,gamma_sa "
                "(mpmath, mp.dps=40; see scripts/reference_linear.py)\n")
        f.write("\n".join(rows) + "\n")
    print(f"wrote {len(rows)} rate rows")

    rows = []
    cases = [(2, k) for k in list(range(1, 11)) + [20, 50, 100]]
    cases += [(3, k) for k in list(range(1, 11)) + [20, 50]]
    cases += [(8, k) for k in range(1, 11)]
    cases += [(64, k) for k in (1, 2, 3, 8)] + [(1024, k) for k in (1, 2, 3)]
    for d, k in cases:
        a = mpf(d - 2) / 2
        nu = k + a
        rho = mpf(k) * (k + d - 2) / ((k + 1) * (k + d - 1))
        f = lambda x: log(besseli(nu + 1, x) / besseli(nu, x)) - log(rho)
        # bracket around the estimate 2 (nu+1) rho / (1 - rho^2), then a bracketing solver
        est = 2 * (nu + 1) * rho / (1 - rho * rho)
        lo, hi = est / 4, est * 4
        assert f(lo) < 0 < f(hi)
        root = findroot(f, (lo, hi), solver="anderson")
        assert abs(f(root)) < mpf(10) ** -30
        rows.append(f"{d},{k},{mp.nstr(root, 34)}")
    with open(os.path.join(fixtures, "linear_thresholds.csv"), "w") as f:
        f.write("# d,k,beta_k (root of I_{k+1+a}/I_{k+a} = k(k+d-2)/((k+1)(k+d-1)); mpmath "
                "findroot, mp.dps=40; see scripts/reference_linear.py)\n")
        f.write("\n".join(rows) + "\n")
    print(f"wrote {len(rows)} threshold rows")


if __name__ == "__main__":
    main()
