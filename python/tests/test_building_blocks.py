"""Velocity field, harmonic power and transforms against numpy brute force and closed forms."""

import math

import numpy as np
import pytest
from scipy.special import eval_gegenbauer, eval_legendre

import attnflow


def tokens(n, dim, seed=0):
    x = np.random.default_rng(seed).normal(size=(n, dim))
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def brute_force_velocity(x, beta, model):
    """dx_i/dt = P_{x_i}((1/N) sum_j exp(beta <x_i,x_j>) x_j) (USA), softmax-normalised (SA)."""
    g = np.exp(beta * (x @ x.T))
    s = g @ x
    if model == "usa":
        s = s / len(x)
    else:
        s = s / g.sum(axis=1, keepdims=True)
    return s - np.sum(s * x, axis=1, keepdims=True) * x


@pytest.mark.parametrize("dim", [2, 3, 5])
@pytest.mark.parametrize("model", ["usa", "sa"])
def test_exact_velocity_equals_numpy_brute_force(dim, model):
    x = tokens(300, dim, seed=dim)
    beta = 4.0
    v = attnflow.velocity(x, beta, model=model, method="exact")
    ref = brute_force_velocity(x, beta, model)
    assert v.shape == (300, dim) and v.dtype == np.float64
    err = np.abs(v - ref).max() / np.abs(ref).max()
    assert err < 1e-12, err
    # Scaled time: USA velocities per unit tau = e^beta t.
    vs = attnflow.velocity(x, beta, model=model, method="exact", time="scaled")
    factor = math.exp(-beta) if model == "usa" else 1.0
    np.testing.assert_allclose(vs, v * factor, rtol=0, atol=1e-14 * np.abs(v).max() * factor)


@pytest.mark.parametrize("dim", [2, 3])
@pytest.mark.parametrize("model", ["usa", "sa"])
@pytest.mark.parametrize("beta", [1.0, 9.0])
def test_fast_equals_exact(dim, model, beta):
    x = tokens(400, dim, seed=7)
    e = attnflow.velocity(x, beta, model=model, method="exact")
    f = attnflow.velocity(x, beta, model=model, method="fast")
    assert np.abs(f - e).max() / np.abs(e).max() < 1e-10


def test_weighted_tokens_move_as_coincident_copies():
    x = tokens(50, 3, seed=3)
    dup = np.vstack([x, x[:10]])  # tokens 0..9 twice
    mass = np.ones(50)
    mass[:10] = 2.0
    v_w = attnflow.velocity(x, 3.0, method="exact", mass=mass)
    v_d = attnflow.velocity(dup, 3.0, method="exact")[:50]
    np.testing.assert_allclose(v_w, v_d, rtol=0, atol=1e-13 * np.abs(v_d).max())


def test_energy_is_the_scaled_kernel_energy():
    x = tokens(200, 3, seed=4)
    beta = 5.0
    _, e = attnflow.velocity(x, beta, method="exact", return_energy=True)
    ref = np.exp(beta * (x @ x.T - 1)).mean() / (2 * beta)
    assert abs(e - ref) < 1e-14 * ref * 10


def test_harmonic_power_circle_sphere_and_general_dimension():
    # Circle: C_l = 2 |M_l|^2, M_l = mean exp(-i l theta).
    x = tokens(500, 2, seed=1)
    th = np.arctan2(x[:, 1], x[:, 0])
    c = attnflow.harmonic_power(x, lmax=8)
    ref = [1.0] + [2 * abs(np.exp(-1j * l * th).mean()) ** 2 for l in range(1, 9)]
    np.testing.assert_allclose(c, ref, rtol=1e-11, atol=1e-15)
    # S^2: C_l = (1/N^2) sum_ij (2l+1) P_l(<x_i,x_j>).
    x = tokens(300, 3, seed=2)
    g = np.clip(x @ x.T, -1, 1)
    c = attnflow.harmonic_power(x, lmax=6)
    ref = [(2 * l + 1) * eval_legendre(l, g).mean() for l in range(7)]
    np.testing.assert_allclose(c, ref, rtol=1e-10, atol=1e-13)
    # S^4 (d = 5): Z_l = dim(H_l) C_l^a(t)/C_l^a(1), a = 3/2.
    x = tokens(200, 5, seed=3)
    g = np.clip(x @ x.T, -1, 1)
    a = 1.5
    dims = [1, 5, 14, 30, 55]
    c = attnflow.harmonic_power(x, lmax=4)
    ref = [dims[l] * (eval_gegenbauer(l, a, g) / eval_gegenbauer(l, a, 1.0)).mean() for l in range(5)]
    np.testing.assert_allclose(c, ref, rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize(
    "geometry,lmax,dim,n", [("circle", 15, None, 31), ("sphere", 20, None, 441), ("zonal", 12, 6, 13)]
)
def test_transform_round_trip(geometry, lmax, dim, n):
    c = np.random.default_rng(5).normal(size=n)
    g = attnflow.synthesis(c, geometry, dim=dim)
    info = attnflow.grid(geometry, lmax, dim=dim)
    assert g.shape == tuple(info["shape"])
    back = attnflow.analysis(g, geometry, lmax, dim=dim)
    np.testing.assert_allclose(back, c, rtol=0, atol=1e-12)
    # Quadrature weights integrate against the uniform probability measure.
    assert abs(info["weights"].sum() - 1) < 1e-13
    # Orthonormality: the mean of f^2 is the sum of squared coefficients.
    assert abs((info["weights"] * g**2).sum() - (c**2).sum()) < 1e-10 * (c**2).sum()


def test_transform_closed_forms():
    # Circle: f[1] <-> sqrt(2) cos(theta), f[2] <-> sqrt(2) sin(theta) on theta_j = 2 pi j / n.
    info = attnflow.grid("circle", 4)
    th = info["nodes"]
    e = np.zeros(9)
    e[1] = 1
    np.testing.assert_allclose(attnflow.synthesis(e, "circle"), math.sqrt(2) * np.cos(th), atol=1e-14)
    e = np.zeros(9)
    e[2] = 1
    np.testing.assert_allclose(attnflow.synthesis(e, "circle"), math.sqrt(2) * np.sin(th), atol=1e-14)
    # Sphere: f[l^2] <-> pbar_l^0(cos theta) = sqrt(2l+1) P_l(cos theta), constant along rings.
    info = attnflow.grid("sphere", 5)
    ct = info["nodes"]
    for l in range(6):
        e = np.zeros(36)
        e[l * l] = 1
        g = attnflow.synthesis(e, "sphere")
        ref = math.sqrt(2 * l + 1) * eval_legendre(l, ct)
        np.testing.assert_allclose(g, np.repeat(ref[:, None], g.shape[1], axis=1), atol=1e-13)
