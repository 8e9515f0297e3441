#!/usr/bin/env python3
"""Reference Gauss–Gegenbauer rules and Funk–Hecke eigenvalues for tests/quadrature.rs and
tests/funk_hecke.rs.

Writes
  tests/fixtures/quadrature_gegenbauer_mpmath.csv   n, a, x, w   (nodes x >= 0 only; the rule is
        symmetric, x -> -x with the same weight) for the weight (1 - t^2)^(a - 1/2) on [-1, 1];
  tests/fixtures/quadrature_mu0_mpmath.csv          a, mu0 = int (1-t^2)^(a-1/2) dt
        = sqrt(pi) Gamma(a + 1/2) / Gamma(a + 1);
  tests/fixtures/quadrature_funk_hecke_mpmath.csv   dim, beta, l, ln_lambda, ln_scaled with
        lambda_l = Gamma(d/2) (2/beta)^((d-2)/2) I_{l+(d-2)/2}(beta)  (mpmath.besseli), and
        ln_scaled = ln(e^-beta lambda_l) (the eigenvalue of the scaled kernel e^{beta(<x,y>-1)}),
        d in {2,3,4,5,8,16,64} x beta in {1e-3,0.5,1,9,50,200} plus a few beta up to 5000, for l
        from 0 until lambda_l / lambda_0 < e^-45 (or l = 400).

Route for the rules (mp.dps = 40):
  * start from scipy.special.roots_gegenbauer / roots_chebyt (double precision guesses);
  * Newton at 40 digits on C_n^a, evaluated by the three-term recurrence of the normalised
    polynomials P_k = C_k^a / C_k^a(1):  (k + 2a) P_{k+1} = 2 (k + a) t P_k - k P_{k-1},
    with P_n' from (1 - t^2) P_n' = n (P_{n-1} - t P_n);
  * weights from the Christoffel function  w_k = 1 / sum_{j<n} p_j(x_k)^2  with the orthonormal
    polynomials p_j (Jacobi-matrix recurrence, p_0 = 1/sqrt(mu0)) -- a different formula from the
    derivative formula used in the Rust code;
  * for n = 5 the nodes are also checked as roots of mpmath.gegenbauer / mpmath.chebyt (findroot)
    and the weights against the textbook formula
        w_k = (k_n / k_{n-1}) h_{n-1} / (C_n^a'(x_k) C_{n-1}^a(x_k)),
        k_n = 2^n (a)_n / n!,  h_n = pi 2^(1-2a) Gamma(n+2a) / ((n+a) Gamma(a)^2 n!)   (a > 0).
  The script stops on any disagreement beyond 1e-30.

Run:  python3 scripts/reference_quadrature.py [--part rules|mu0|funk_hecke]
      (all parts: about 8 minutes, almost all of it the n = 1000 rules)
"""
import argparse
import os

import mpmath as mp
import scipy.special as sp

mp.mp.dps = 40

RULES = [(n, a) for n in (5, 64, 200, 1000) for a in (0.0, 0.5, 1.0, 3.5, 31.0)]
RULES += [(64, 511.0), (200, 511.0)]
FH_DIMS = [2, 3, 4, 5, 8, 16, 64]
FH_BETAS = [1e-3, 0.5, 1.0, 9.0, 50.0, 200.0]
# large inverse temperatures (e^beta overflows a double beyond ~709): a few (d, beta) pairs
FH_LARGE = [(2, 1000.0), (3, 1000.0), (3, 5000.0), (8, 2000.0), (64, 2000.0)]
HERE = os.path.dirname(__file__)
FIX = os.path.join(HERE, "..", "tests", "fixtures")


def mu0(a):
    a = mp.mpf(a)
    return mp.sqrt(mp.pi) * mp.gamma(a + 0.5) / mp.gamma(a + 1)


def p_and_prev(n, a, t):
    """(P_n(t), P_{n-1}(t)) for the normalised Gegenbauer polynomials."""
    p0, p1 = mp.mpf(1), t
    if n == 0:
        return p0, mp.mpf(0)
    for k in range(1, n):
        p0, p1 = p1, (2 * (k + a) * t * p1 - k * p0) / (k + 2 * a)
    return p1, p0


def newton(n, a, x):
    x = mp.mpf(x)
    for _ in range(100):
        pn, pm = p_and_prev(n, a, x)
        dp = n * (pm - x * pn) / (1 - x * x)
        dx = pn / dp
        x -= dx
        if abs(dx) < mp.mpf(10) ** (-mp.mp.dps + 3):
            break
    else:
        raise SystemExit(f"Newton failed n={n} a={a}")
    return x


def b2(k, a):
    if k == 1:
        return 1 / (2 * (1 + a))
    return k * (k + 2 * a - 1) / (4 * (k + a) * (k + a - 1))


def christoffel_weight(n, a, x, m0):
    p_prev, p = mp.mpf(0), 1 / mp.sqrt(m0)
    s = p * p
    b_prev = mp.mpf(0)
    for k in range(1, n):
        bk = mp.sqrt(b2(k, a))
        p_prev, p = p, (x * p - b_prev * p_prev) / bk
        b_prev = bk
        s += p * p
    return 1 / s


def textbook_weight(n, a, x):
    def c(m, t):
        return mp.gegenbauer(m, a, t, zeroprec=400)

    kn = 2**n * mp.rf(a, n) / mp.factorial(n)
    kn1 = 2 ** (n - 1) * mp.rf(a, n - 1) / mp.factorial(n - 1)
    h = mp.pi * 2 ** (1 - 2 * a) * mp.gamma(n - 1 + 2 * a) / ((n - 1 + a) * mp.gamma(a) ** 2 * mp.factorial(n - 1))
    return kn / kn1 * h / (mp.diff(lambda t: c(n, t), x) * c(n - 1, x))


def rule(n, a):
    if a == 0.0:
        guess, _ = sp.roots_chebyt(n)
    else:
        guess, _ = sp.roots_gegenbauer(n, a)
    guess = sorted(g for g in guess if g > -1e-9)
    am = mp.mpf(a)
    m0 = mu0(a)
    xs = []
    for g in guess:
        if abs(g) < 1e-9 and n % 2 == 1:
            x = mp.mpf(0)
        else:
            x = newton(n, am, g)
        xs.append(x)
    for u, v in zip(xs, xs[1:]):
        assert v - u > mp.mpf(10) ** -20, (n, a)
    assert len(xs) == (n + 1) // 2
    ws = [christoffel_weight(n, am, x, m0) for x in xs]
    if n == 5:
        for x, w in zip(xs, ws):
            if a == 0.0:
                r = mp.findroot(lambda t: mp.chebyt(n, t), x)
                wt = mp.pi / n
            else:
                r = mp.findroot(lambda t: mp.gegenbauer(n, am, t, zeroprec=400), x)
                wt = textbook_weight(n, am, x)
            assert abs(r - x) < mp.mpf(10) ** -30, (n, a, x, r)
            assert abs(wt - w) / w < mp.mpf(10) ** -30, (n, a, w, wt)
    return xs, ws


def write_rules():
    rows = ["n,a,x,w"]
    for n, a in RULES:
        xs, ws = rule(n, a)
        total = 2 * sum(ws) - (ws[0] if n % 2 == 1 else 0)
        assert abs(total / mu0(a) - 1) < mp.mpf(10) ** -30, (n, a, total)
        for x, w in zip(xs, ws):
            rows.append(f"{n},{a!r},{mp.nstr(x, 25)},{mp.nstr(w, 25)}")
        print(f"n={n} a={a} done", flush=True)
    with open(os.path.join(FIX, "quadrature_gegenbauer_mpmath.csv"), "w") as f:
        f.write("\n".join(rows) + "\n")


def write_mu0():
    rows = ["a,mu0"]
    for a in [0.0, 0.5, 1.0, 1.5, 3.5, 31.0, 31.5, 511.0, 0.25, 7.3]:
        rows.append(f"{a!r},{mp.nstr(mu0(a), 25)}")
    with open(os.path.join(FIX, "quadrature_mu0_mpmath.csv"), "w") as f:
        f.write("\n".join(rows) + "\n")


def write_funk_hecke():
    rows = ["dim,beta,l,ln_lambda,ln_scaled"]
    pairs = [(d, beta) for d in FH_DIMS for beta in FH_BETAS] + FH_LARGE
    for d, beta in pairs:
        a = mp.mpf(d - 2) / 2
        b = mp.mpf(beta)
        ln0 = None
        for l in range(0, 401):
            ln = mp.loggamma(mp.mpf(d) / 2) + a * mp.log(2 / b) + mp.log(mp.besseli(l + a, b))
            if ln0 is None:
                ln0 = ln
            rows.append(f"{d},{beta!r},{l},{mp.nstr(ln, 25)},{mp.nstr(ln - b, 25)}")
            if ln - ln0 < -45:  # lambda_l / lambda_0 < 1e-19.5: beyond any f64 quadrature
                break
    with open(os.path.join(FIX, "quadrature_funk_hecke_mpmath.csv"), "w") as f:
        f.write("\n".join(rows) + "\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=["all", "rules", "mu0", "funk_hecke"], default="all")
    part = parser.parse_args().part
    if part in ("all", "rules"):
        write_rules()
    if part in ("all", "mu0"):
        write_mu0()
    if part in ("all", "funk_hecke"):
        write_funk_hecke()
    print("done")


if __name__ == "__main__":
    main()
