#!/usr/bin/env python3
"""Reference values of the modified Bessel function I_nu(x) for tests/bessel.rs.

Writes tests/fixtures/bessel_grid.csv with columns
    nu, x, ln_i, scaled
where ln_i = ln I_nu(x) and scaled = e^{-x} I_nu(x), both from mpmath.besseli at mp.dps = 50,
printed with 32 significant digits (scaled is 0 where it is below the f64 normal range, i.e.
not representable; the test then checks ln_i only).

Grid: nu in {0, 0.5, 1, 2.5, 7.3, 10, 31.5, 34.9, 35, 35.2, 87, 88, 100.5, 500, 999.5, 2000,
2511} (35 is where the implementation switches method; 2511 = 2000 + (1024-2)/2 is the largest
order the linear theory needs), x in {1e-6, 1e-3, 0.1, 1, 9, 50, 100, 700, 710, 1000, 1e4, 1e5}
plus x in {nu/2, nu, 2 nu} (the turning region) and points near the zero of ln I_nu for large nu.

tests/fixtures/bessel_extreme.csv: corners of the domain (x up to 1e100, nu up to 1e8),
columns nu, x, ln_i, ln_scaled = ln I - x (mp.dps = 160).

tests/fixtures/bessel_random.csv: 400 random points (fixed seed), columns nu, x, ln_i, scaled,
ratio = I_{nu+1}(x)/I_nu(x).

Run:  python3 scripts/reference_bessel.py   (needs mpmath; takes ~1 min)
"""
import math
import os
import random
from mpmath import mp, mpf, besseli, log, exp, findroot

mp.dps = 50
NUS = ["0", "0.5", "1", "2.5", "7.3", "10", "31.5", "34.9", "35", "35.2", "87", "88",
       "100.5", "500", "999.5", "2000", "2511"]
XS = ["1e-6", "1e-3", "0.1", "1", "9", "50", "100", "700", "710", "1000", "1e4", "1e5"]
TINY = mpf(2) ** -1022


def row(nu, x):
    i = besseli(nu, x)
    ln_i = log(i)
    scaled = exp(ln_i - x)
    s = mp.nstr(scaled, 32) if scaled >= TINY else "0"
    return f"{mp.nstr(nu, 20)},{mp.nstr(x, 20)},{mp.nstr(ln_i, 32)},{s}"


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    out = os.path.join(here, "..", "tests", "fixtures", "bessel_grid.csv")
    rows = []
    for nu_s in NUS:
        nu = mpf(float(nu_s))  # the f64 the test will use
        xs = [mpf(x) for x in XS]
        if nu > 0:
            xs += [nu / 2, nu, 2 * nu]
        for x in xs:
            # x is stored as the f64 the test will use
            x = mpf(float(x))
            rows.append(row(nu, x))
    # near the zero of ln I_nu(x) for large orders (cancellation test for ln I)
    for nu_s in ["100.5", "500", "2000"]:
        nu = mpf(float(nu_s))  # the f64 the test will use
        x0 = findroot(lambda x: log(besseli(nu, x)), nu * mpf("0.66"))
        rows.append(row(nu, mpf(float(x0))))
    with open(out, "w") as f:
        f.write("# nu,x,ln_i,scaled  (mpmath besseli, mp.dps=50; see scripts/reference_bessel.py)\n")
        f.write("\n".join(rows) + "\n")
    print(f"wrote {len(rows)} rows to {out}")

    # random points, log-uniform in x in [1e-6, 1e5] and in nu + 1 in [1, 2512], with the ratio
    rng = random.Random(20261123)
    out = os.path.join(here, "..", "tests", "fixtures", "bessel_random.csv")
    rows = []
    for _ in range(400):
        nu = mpf(float(10 ** rng.uniform(0, math.log10(2512)) - 1))
        if rng.random() < 0.25:
            nu = mpf(rng.randrange(0, 80)) / 2  # integer and half-integer orders
        x = mpf(float(10 ** rng.uniform(-6, 5)))
        ratio = besseli(nu + 1, x) / besseli(nu, x)
        rows.append(row(nu, x) + "," + mp.nstr(ratio, 32))
    with open(out, "w") as f:
        f.write("# nu,x,ln_i,scaled,ratio  (mpmath, mp.dps=50; ratio = I_{nu+1}/I_nu; "
                "see scripts/reference_bessel.py)\n")
        f.write("\n".join(rows) + "\n")
    print(f"wrote {len(rows)} rows to {out}")


EXTREME = [(0, 1e-100), (0, 1e100), (34.5, 1e100), (35.5, 1e100), (2000, 1e100), (1e8, 1e100),
           (1e8, 1e-100), (7.3, 1e-100), (2511, 1e-100), (1e6, 1e3), (1e5, 1e5), (1e4, 3e4),
           (1e8, 1.0), (0, 1e10), (1000.5, 1e10), (1e8, 1e6)]


def extreme():
    """Corners of the documented domain nu in [0, 1e8], x in [1e-100, 1e100]; ln I and
    ln(e^-x I) = ln I - x (needs ~130 digits at x = 1e100, so mp.dps = 160 here)."""
    here = os.path.dirname(os.path.abspath(__file__))
    out = os.path.join(here, "..", "tests", "fixtures", "bessel_extreme.csv")
    with mp.workdps(160):
        rows = []
        for nu, x in EXTREME:
            nu, x = mpf(float(nu)), mpf(float(x))
            v = log(besseli(nu, x, maxterms=10**6))
            rows.append(f"{mp.nstr(nu, 20)},{mp.nstr(x, 20)},{mp.nstr(v, 32)},{mp.nstr(v - x, 32)}")
    with open(out, "w") as f:
        f.write("# nu,x,ln_i,ln_scaled  (mpmath, mp.dps=160; see scripts/reference_bessel.py)\n")
        f.write("\n".join(rows) + "\n")
    print(f"wrote {len(rows)} rows to {out}")


if __name__ == "__main__":
    extreme()
    main()
