#!/usr/bin/env python3
"""Constants of the table-driven 2^z used by the exact particle summation (src/particles/fastexp.rs).

2^z = 2^n * 2^(k/16) * 2^f  with  z = n + k/16 + f,  k in 0..16,  |f| <= 1/32.

Prints
  * TABLE[k] = 2^(k/16), k = 0..15, correctly rounded to double (as bit patterns);
  * P[j], j = 0..=6: the degree-6 polynomial p(f) ~ 2^f on [-1/32, 1/32], a Chebyshev
    (near-minimax) fit from mpmath.chebyfit at 50 digits, each coefficient rounded to double;
  * the maximum relative error of p with the *rounded* coefficients, evaluated exactly in
    mpmath on 20001 points of [-1/32, 1/32] (the truncation error the Rust code inherits; the
    floating-point evaluation adds at most about 1.5 ulp on top, see the unit test).

Run:  python3 scripts/exp2_coefficients.py   (needs mpmath)
"""
import struct

import mpmath as mp

mp.mp.dps = 50
DEG = 6
STEPS = 16
H = mp.mpf(1) / (2 * STEPS)


def bits(x):
    return struct.unpack("<Q", struct.pack("<d", float(x)))[0]


def main():
    print(f"// 2^(k/{STEPS}), k = 0..{STEPS - 1}, correctly rounded.")
    print(f"const TABLE: [f64; {STEPS}] = [")
    for k in range(STEPS):
        v = mp.power(2, mp.mpf(k) / STEPS)
        # float(mpf) rounds to nearest.
        print(f"    f64::from_bits(0x{bits(v):016x}), // {mp.nstr(v, 20)}")
    print("];")
    poly, err = mp.chebyfit(lambda f: mp.power(2, f), [-H, H], DEG + 1, error=True)
    coeffs = [float(c) for c in reversed(poly)]  # ascending powers
    print(f"// degree-{DEG} Chebyshev fit of 2^f on [-1/{2 * STEPS}, 1/{2 * STEPS}] (fit error {mp.nstr(err, 3)}).")
    print(f"const P: [f64; {DEG + 1}] = [")
    for c in coeffs:
        print(f"    f64::from_bits(0x{bits(c):016x}), // {c!r}")
    print("];")
    worst = mp.mpf(0)
    m = 20000
    for i in range(m + 1):
        f = -H + 2 * H * i / m
        p = mp.mpf(0)
        for c in reversed(coeffs):
            p = p * f + mp.mpf(c)
        worst = max(worst, abs(p / mp.power(2, f) - 1))
    print(f"// max relative error of p with the rounded coefficients: {mp.nstr(worst, 3)}")


if __name__ == "__main__":
    main()
