"""Quickstart: the growth-rate curve of the linear theory and a particle run on the circle.

    python examples/python/quickstart.py [OUTDIR]

Plots with matplotlib if it is installed (quickstart.png), otherwise saves the arrays
(quickstart.npz). Takes a few seconds.
"""

import sys
from pathlib import Path

import numpy as np

import attnflow

out = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
out.mkdir(parents=True, exist_ok=True)

# Linear theory: growth rate of each degree l at beta = 9 on the circle; l* = 4.
lin = attnflow.linear(dim=2, beta=9.0, time="scaled")
print(f"l* = {lin.dominant}, gamma_l* = {lin.rate[lin.dominant]:.4f} per unit tau")

# 2000 tokens from iid uniform initial data, to about twice the time clusters form.
run = attnflow.particles(dim=2, n=2000, beta=9.0, seed=1, save_every=100)
s = run.series
print(f"{run.method}: {len(s['t'])} rows, final clusters {int(s['clusters'][-1])}, "
      f"{run.snapshots.shape[0]} snapshots of shape {run.snapshots.shape[1:]}")
k = lin.dominant
fit = np.polyfit(s["tau"][5:60], np.log(s[f"C_{k}"][5:60]), 1)[0] / 2
print(f"fitted growth of C_{k}: {fit:.4f} per unit tau (linear theory {lin.rate[k]:.4f})")

try:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
except ImportError:
    np.savez(out / "quickstart.npz", l=lin.l, rate=lin.rate, tau=s["tau"],
             power=np.array([s[f"C_{l}"] for l in range(1, 9)]), final=run.final)
    print(f"matplotlib not installed: arrays saved to {out / 'quickstart.npz'}")
else:
    fig, ax = plt.subplots(1, 3, figsize=(13, 3.8))
    ax[0].plot(lin.l[1:], lin.rate[1:], "o-")
    ax[0].set(xlabel="degree l", ylabel="gamma_l (per unit tau)", title="linear growth rates, beta = 9")
    for l in range(1, 8):
        ax[1].semilogy(s["tau"], s[f"C_{l}"], label=f"C_{l}", lw=2.5 if l == k else 1)
    ax[1].set(xlabel="tau", title="harmonic power of 2000 tokens")
    ax[1].legend(fontsize=7)
    th = np.arctan2(run.final[:, 1], run.final[:, 0])
    ax[2].hist(th, bins=200)
    ax[2].set(xlabel="angle", title=f"final state: {int(s['clusters'][-1])} clusters")
    fig.tight_layout()
    fig.savefig(out / "quickstart.png", dpi=110)
    print(f"figure saved to {out / 'quickstart.png'}")
