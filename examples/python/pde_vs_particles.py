"""The mean-field PDE against particles on the circle: the same beta, particles from iid uniform
tokens, the PDE from Gaussian noise of the same size (n_equiv = N), compared through the
harmonic power of the dominant degree and the final densities.

    python examples/python/pde_vs_particles.py [OUTDIR]

Plots with matplotlib if it is installed (pde_vs_particles.png), otherwise saves the arrays
(pde_vs_particles.npz). Takes a few seconds.
"""

import sys
from pathlib import Path

import numpy as np

import attnflow

out = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
out.mkdir(parents=True, exist_ok=True)

beta, n, t_end = 9.0, 10_000, 30.0
lstar = attnflow.dominant_degree(beta, 2)

# Particles: tau = e^beta t is the internal time of USA; time="scaled" gives t_end in tau.
parts = attnflow.particles(dim=2, n=n, beta=beta, seed=3, time="scaled", t_end=t_end, series_points=60)
# PDE: noise with the statistics of n iid tokens, refined as the density sharpens.
dens = attnflow.pde(geometry="circle", beta=beta, time="scaled", t_end=t_end, n_equiv=n, seed=3,
                    lmax=32, outputs=61)

cp, cd = parts.series[f"C_{lstar}"], dens.series[f"C_{lstar}"]
print(f"l* = {lstar}; C_l* at tau = 0: particles {cp[0]:.2e}, PDE {cd[0]:.2e} (expected 2/N = {2 / n:.1e})")
gamma = attnflow.linear(dim=2, beta=beta, time="scaled").rate[lstar]
for name, s in (("particles", parts.series), ("PDE", dens.series)):
    c = s[f"C_{lstar}"]
    mask = (c > 10 * c[0]) & (c < 1e-2)
    if mask.sum() >= 2:
        rate = np.polyfit(s["tau"][mask], np.log(c[mask]), 1)[0] / 2
        print(f"{name:9s}: fitted growth {rate:.4f} per unit tau (linear theory {gamma:.4f})")
print(f"PDE refined to L = {dens.summary['final_lmax']}; final particle clusters {int(parts.series['clusters'][-1])}")

theta = dens.grid["nodes"]
rho = dens.density[-1]
try:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
except ImportError:
    np.savez(out / "pde_vs_particles.npz", tau_p=parts.series["tau"], c_p=cp, tau_d=dens.series["tau"],
             c_d=cd, theta=theta, rho=rho, final=parts.final)
    print(f"matplotlib not installed: arrays saved to {out / 'pde_vs_particles.npz'}")
else:
    fig, ax = plt.subplots(1, 2, figsize=(11, 4))
    ax[0].semilogy(parts.series["tau"], cp, label="particles")
    ax[0].semilogy(dens.series["tau"], cd, "--", label="PDE")
    ax[0].set(xlabel="tau", ylabel=f"C_{lstar}", title=f"harmonic power of l* = {lstar}, beta = {beta}")
    ax[0].legend()
    ang = np.mod(np.arctan2(parts.final[:, 1], parts.final[:, 0]), 2 * np.pi)
    ax[1].hist(ang, bins=400, density=True, alpha=0.5, label="particles (final)")
    ax[1].plot(theta, rho / (2 * np.pi), label="PDE density / 2 pi (final)")
    ax[1].set(xlabel="angle", title="final states")
    ax[1].legend()
    fig.tight_layout()
    fig.savefig(out / "pde_vs_particles.png", dpi=110)
    print(f"figure saved to {out / 'pde_vs_particles.png'}")
