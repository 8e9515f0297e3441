#!/usr/bin/env python3
"""Time ducc0's spherical harmonic transform (alm2map + map2alm) on a Gauss-Legendre grid.

Reference for benches/sht.rs: same L, same grid (nlat = L+1 Gauss-Legendre rings, nlon = 2L+2),
one synthesis plus one analysis per repetition, single-threaded by default.

    pip install ducc0
    python3 scripts/ducc0_sht_bench.py [--nthreads 1] [--repeats 11] [--lmax 63 127 255 511 1023]

Prints one line per L with the median and the minimum wall time in milliseconds.
"""
import argparse
import statistics
import time

import numpy as np
import ducc0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nthreads", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=11)
    ap.add_argument("--lmax", type=int, nargs="*", default=[63, 127, 255, 511, 1023])
    args = ap.parse_args()
    print(f"ducc0 {ducc0.__version__}, nthreads={args.nthreads}")
    for lmax in args.lmax:
        nlat, nlon = lmax + 1, 2 * lmax + 2
        nalm = (lmax + 1) * (lmax + 2) // 2
        rng = np.random.default_rng(0)
        alm = (rng.standard_normal(nalm) + 1j * rng.standard_normal(nalm)).reshape(1, -1)
        alm[0, : lmax + 1] = alm[0, : lmax + 1].real  # m = 0 coefficients are real
        kw = dict(lmax=lmax, spin=0, nthreads=args.nthreads, geometry="GL")
        m = ducc0.sht.experimental.synthesis_2d(alm=alm, ntheta=nlat, nphi=nlon, **kw)
        times = []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            m = ducc0.sht.experimental.synthesis_2d(alm=alm, ntheta=nlat, nphi=nlon, **kw)
            back = ducc0.sht.experimental.analysis_2d(map=m, **kw)
            times.append(time.perf_counter() - t0)
        err = np.max(np.abs(back - alm))
        print(
            f"L={lmax} nlat={nlat} nlon={nlon} median_ms={1e3 * statistics.median(times):.3f} "
            f"min_ms={1e3 * min(times):.3f} roundtrip_err={err:.1e}"
        )


if __name__ == "__main__":
    main()
