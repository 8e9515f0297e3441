"""Python-side overhead of attnflow against the command line on a ~1 s particle run.

    target/pyenv/bin/python scripts/python_overhead.py [--cli target/release/attnflow] [--repeats 7]

Runs the same specification alternately (a) as `attnflow particles ... --out DIR` in a
subprocess (timed from the parent: process start, run, files), (b) as
`attnflow.particles(..., out=DIR)` (the same work, plus reading the results back into numpy),
and (c) as `attnflow.particles(...)` in memory; prints the medians and the ratios to (a), of
the wall-clock time and of the CPU time (user + system of the child process for (a), of this
process for (b) and (c)): on a shared, loaded machine the CPU time is the steadier measure.
"""

import argparse
import resource
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import attnflow

SPEC = dict(dim=3, n=1000, beta=4.0, method="exact", seed=1, time="scaled", t_end=40.0)


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
    names = ("cli", "python_out", "python_memory")
    wall = {k: [] for k in names}
    cpu = {k: [] for k in names}

    def child_cpu():
        r = resource.getrusage(resource.RUSAGE_CHILDREN)
        return r.ru_utime + r.ru_stime

    with tempfile.TemporaryDirectory() as tmp:
        for i in range(a.repeats):
            t, c = time.perf_counter(), child_cpu()
            subprocess.run([a.cli, "particles", *flags(SPEC), "--out", f"{tmp}/c{i}"], check=True,
                           capture_output=True)
            wall["cli"].append(time.perf_counter() - t)
            cpu["cli"].append(child_cpu() - c)
            t, c = time.perf_counter(), time.process_time()
            attnflow.particles(**SPEC, out=f"{tmp}/p{i}")
            wall["python_out"].append(time.perf_counter() - t)
            cpu["python_out"].append(time.process_time() - c)
            t, c = time.perf_counter(), time.process_time()
            attnflow.particles(**SPEC)
            wall["python_memory"].append(time.perf_counter() - t)
            cpu["python_memory"].append(time.process_time() - c)
    print(f"spec: {SPEC}, {a.repeats} alternating repeats, medians:")
    for label, table in (("wall", wall), ("cpu", cpu)):
        ref = statistics.median(table["cli"])
        for k in names:
            v = table[k]
            m = statistics.median(v)
            print(f"  {label:4s} {k:14s} {m:.3f} s  ratio to CLI {m / ref:.3f}  (min {min(v):.3f}, max {max(v):.3f})")


if __name__ == "__main__":
    main()
