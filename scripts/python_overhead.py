"""Python-side overhead of attnflow against the command line on a ~1 s particle run.

    target/pyenv/bin/python scripts/python_overhead.py [--cli target/release/attnflow] [--repeats 7]

Runs the same specification alternately (a) as `attnflow particles ... --out DIR` in a
subprocess (timed from the parent: process start, run, files), (b) as
`attnflow.particles(..., out=DIR)` (the same work, plus reading the results back into numpy),
and (c) as `attnflow.particles(...)` in memory; prints the medians and the ratios to (a).
"""

import argparse
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import attnflow

SPEC = dict(dim=3, n=2500, beta=4.0, method="exact", seed=1, time="scaled", t_end=40.0)


def flags(spec):
    out = []
    for k, v in spec.items():
        out += ["--" + k.replace("_", "-"), str(v)]
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cli", default=str(Path(__file__).resolve().parents[1] / "target/release/attnflow"))
    ap.add_argument("--repeats", type=int, default=7)
    a = ap.parse_args()
    times = {"cli": [], "python_out": [], "python_memory": []}
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(a.repeats):
            t = time.perf_counter()
            subprocess.run([a.cli, "particles", *flags(SPEC), "--out", f"{tmp}/c{i}"], check=True,
                           capture_output=True)
            times["cli"].append(time.perf_counter() - t)
            t = time.perf_counter()
            attnflow.particles(**SPEC, out=f"{tmp}/p{i}")
            times["python_out"].append(time.perf_counter() - t)
            t = time.perf_counter()
            attnflow.particles(**SPEC)
            times["python_memory"].append(time.perf_counter() - t)
    ref = statistics.median(times["cli"])
    print(f"spec: {SPEC}, {a.repeats} alternating repeats, medians:")
    for k, v in times.items():
        m = statistics.median(v)
        print(f"  {k:14s} {m:.3f} s  ratio to CLI {m / ref:.3f}  (min {min(v):.3f}, max {max(v):.3f})")


if __name__ == "__main__":
    main()
