#!/usr/bin/env python3
"""Reference values of normalised Gegenbauer polynomials for tests/gegenbauer.rs.

Writes tests/fixtures/gegenbauer_mpmath.csv with columns
    l, a, t, normalized, ln_c1
where normalized = C_l^a(t) / C_l^a(1) (Chebyshev T_l(t) for a = 0) and
ln_c1 = ln C_l^a(1) = ln Gamma(l + 2a) - ln Gamma(2a) - ln Gamma(l + 1) ("-inf" for a = 0, l >= 1,
where C_l^0 = 0; 0 for l = 0).

Route: mpmath.gegenbauer / mpmath.chebyt at mp.dps = 30 (mpmath's hypergeometric evaluation, which
raises its working precision on cancellation), cross-checked against an independent three-term
recurrence run at mp.dps = 80; the script stops if the two disagree beyond 1e-25 (relative to
max(|value|, 1e-30)).  Each t is an exact binary double (printed with repr, so Rust parses the
same number), and mpmath evaluates at that exact double.

Run:  python3 scripts/reference_gegenbauer.py
"""
import os
import random

import mpmath as mp

LS = [0, 1, 2, 3, 4, 5, 10, 100, 500, 1999, 2000]
AS = [0.0, 0.5, 1.0, 1.5, 3.0, 31.0, 511.0]


def ts():
    rng = random.Random(20261123)
    base = [1.0, -1.0, 1.0 - 1e-12, -(1.0 - 1e-12), 0.0, 1.0 - 1e-6, -(1.0 - 1e-6), 0.999, -0.5]
    base += [rng.uniform(-1.0, 1.0) for _ in range(4)]
    return base


def recurrence(l, a, t):
    """C_l^a(t)/C_l^a(1) by (k + 2a) P_{k+1} = 2 (k + a) t P_k - k P_{k-1} at high precision."""
    with mp.workdps(80):
        a = mp.mpf(a)
        t = mp.mpf(t)
        if l == 0:
            return mp.mpf(1)
        p0, p1 = mp.mpf(1), t
        for k in range(1, l):
            p0, p1 = p1, (2 * (k + a) * t * p1 - k * p0) / (k + 2 * a)
        return p1


def normalized(l, a, t):
    with mp.workdps(30):
        if a == 0.0:
            return mp.chebyt(l, mp.mpf(t))
        try:
            num = mp.gegenbauer(l, a, mp.mpf(t))
        except ValueError:
            # hypsum cannot certify an exact zero (odd l at t = 0): let it report zero
            num = mp.gegenbauer(l, a, mp.mpf(t), zeroprec=2000)
        return num / mp.gegenbauer(l, a, 1)


def ln_c1(l, a):
    if l == 0:
        return mp.mpf(0)
    if a == 0.0:
        return mp.ninf
    with mp.workdps(40):
        return mp.loggamma(l + 2 * mp.mpf(a)) - mp.loggamma(2 * mp.mpf(a)) - mp.loggamma(l + 1)


def main():
    out = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "gegenbauer_mpmath.csv")
    rows = ["l,a,t,normalized,ln_c1"]
    for l in LS:
        for a in AS:
            c1 = ln_c1(l, a)
            for t in ts():
                v = normalized(l, a, t)
                r = recurrence(l, a, t)
                scale = max(abs(v), mp.mpf("1e-30"))
                if abs(v - r) / scale > mp.mpf("1e-25"):
                    raise SystemExit(f"mismatch l={l} a={a} t={t!r}: {v} vs {r}")
                rows.append(f"{l},{a!r},{t!r},{mp.nstr(v, 22)},{mp.nstr(c1, 22)}")
    with open(out, "w") as f:
        f.write("\n".join(rows) + "\n")
    print(f"wrote {len(rows) - 1} rows to {out}")


if __name__ == "__main__":
    main()
