"""Bad input raises ValueError / TypeError / OSError with one clear line naming the parameter;
never a crash, and files of the user are never damaged."""

import numpy as np
import pytest

import attnflow


def one_line(e):
    s = str(e.value)
    assert "\n" not in s and s
    return s


@pytest.mark.parametrize(
    "kw,exc,words",
    [
        (dict(dim=2, n=10, betta=4.0), ValueError, ["betta", "unknown field"]),
        (dict(dim=2, n=10, beta=float("nan")), ValueError, ["particles.beta", "nan"]),
        (dict(dim=2, n=10, beta=np.inf), ValueError, ["particles.beta"]),
        (dict(dim=2, n=10, beta="x"), TypeError, ["particles.beta", "invalid type"]),
        (dict(dim=1, n=10, beta=1.0), ValueError, ["particles.dim", "[2, 1024]"]),
        (dict(dim=2, n=0, beta=1.0), ValueError, ["particles.n"]),
        (dict(dim=2, beta=1.0), ValueError, ["particles.n", "missing"]),
        (dict(dim=2, n=10, beta=1.0, model="xx"), ValueError, ["model"]),
        (dict(dim=2, n=10, beta=1.0, dt=0.1, tol=1e-6), ValueError, ["dt"]),
        (dict(dim=5, n=10, beta=1.0, method="fast"), ValueError, ["method", "fast"]),
        (dict(dim=2, n=10, beta=1.0, t_end=-1.0), ValueError, ["t_end"]),
        (dict(dim=2, n=10, beta=1.0, seed=object()), TypeError, ["particles.seed"]),
    ],
)
def test_particle_spec_errors(kw, exc, words):
    with pytest.raises(exc) as e:
        attnflow.particles(**kw)
    s = one_line(e)
    for w in words:
        assert w in s, s


def test_pde_and_compare_errors():
    with pytest.raises(ValueError) as e:
        attnflow.pde(geometry="torus", beta=1.0, t_end=1.0)
    assert "geometry" in one_line(e)
    with pytest.raises(ValueError) as e:
        attnflow.pde(geometry="circle", beta=1.0, t_end=1.0, lmaxx=3)
    assert "lmaxx" in one_line(e)
    with pytest.raises(ValueError) as e:
        attnflow.compare("nope")
    assert "growth" in one_line(e)
    with pytest.raises(ValueError) as e:
        attnflow.compare("growth", n=10, sedes=3)
    assert "sedes" in one_line(e)


@pytest.mark.parametrize(
    "x,exc,words",
    [
        (np.zeros(6), ValueError, ["shape (N, d)"]),
        (np.zeros((2, 2, 2)), ValueError, ["shape (N, d)"]),
        (np.ones((4, 1)), ValueError, ["d <= 1024", "(4, 1)"]),
        (np.ones((0, 3)), ValueError, ["N >= 1"]),
        (np.array([[1.0, 0.0], [np.nan, 1.0]]), ValueError, ["row 1", "NaN"]),
        (np.array([[1.0, 0.0], [0.0, 0.0]]), ValueError, ["x"]),
        (np.ones((3, 2), dtype=complex), TypeError, ["dtype complex128"]),
        (np.array([["a", "b"]]), TypeError, ["dtype"]),
        ("tokens", TypeError, ["dtype"]),
    ],
)
def test_velocity_input_errors(x, exc, words):
    with pytest.raises(exc) as e:
        attnflow.velocity(x, 1.0)
    s = one_line(e)
    for w in words:
        assert w in s, s


def test_float32_fortran_and_int_input_are_converted():
    x = np.random.default_rng(0).normal(size=(40, 3))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    ref = attnflow.velocity(x, 2.0, method="exact")
    np.testing.assert_array_equal(attnflow.velocity(np.asfortranarray(x), 2.0, method="exact"), ref)
    np.testing.assert_array_equal(attnflow.velocity(x[:, ::-1].copy()[:, ::-1], 2.0, method="exact"), ref)
    x32 = x.astype(np.float32)
    with pytest.warns(UserWarning, match="normalised"):
        v32 = attnflow.velocity(x32, 2.0, method="exact")
    assert v32.dtype == np.float64 and np.abs(v32 - ref).max() < 1e-5
    with pytest.warns(UserWarning, match="normalised"):
        attnflow.velocity(np.array([[3, 4], [0, 2]]), 1.0)


def test_init_errors():
    with pytest.raises(ValueError) as e:
        attnflow.particles(beta=1.0, dim=3, init=np.ones((5, 2)))
    assert "dim" in one_line(e) and "columns of init" in str(e.value)
    with pytest.raises(ValueError) as e:
        attnflow.particles(beta=1.0, n=4, init=np.ones((5, 2)))
    assert "rows of init" in one_line(e)
    with pytest.raises(ValueError) as e:
        attnflow.particles(beta=1.0, init=np.array([[1.0, 0.0], [0.0, 0.0]]))
    assert "init" in one_line(e)
    with pytest.raises(ValueError) as e:
        attnflow.particles(beta=1.0, init=np.array([[1.0, np.nan]]))
    assert "init" in one_line(e)
    with pytest.raises(ValueError) as e:
        attnflow.particles(beta=1.0, dim=2, init="/nonexistent/x.npy")
    assert "x.npy" in one_line(e)
    with pytest.warns(UserWarning, match="normalised"):
        r = attnflow.particles(beta=1.0, init=np.array([[3.0, 4.0], [0.0, 2.0]]), t_end=0.1)
    np.testing.assert_allclose(r.snapshots[0], [[0.6, 0.8], [0.0, 1.0]], atol=1e-15)


def test_transform_and_linear_errors():
    with pytest.raises(ValueError) as e:
        attnflow.synthesis(np.ones(5), "sphere")
    assert "coeffs" in one_line(e)
    with pytest.raises(ValueError) as e:
        attnflow.analysis(np.ones(7), "circle", 4)
    assert "values" in one_line(e)
    with pytest.raises(ValueError) as e:
        attnflow.grid("zonal", 4)
    assert "dim" in one_line(e)
    with pytest.raises(ValueError) as e:
        attnflow.linear(dim=3, beta=-1)
    assert "beta" in one_line(e)
    with pytest.raises(ValueError) as e:
        attnflow.linear(dim=3, beta=1, lmax=5000)
    assert "lmax" in one_line(e)
    with pytest.raises(TypeError):
        attnflow.linear(dim="3", beta=1)
    with pytest.raises(ValueError) as e:
        attnflow.thresholds(2, 0)
    assert "k" in one_line(e)


def test_config_and_output_errors(tmp_path):
    with pytest.raises(FileNotFoundError):
        attnflow.run(tmp_path / "missing.toml")
    bad = tmp_path / "c.toml"
    bad.write_text("[particles]\nbetta = 4.0\n")
    with pytest.raises(ValueError) as e:
        attnflow.run(bad)
    assert "betta" in one_line(e) and "c.toml" in str(e.value)
    with pytest.raises(ValueError):
        attnflow.run({"particles": {"dim": 2, "n": 5, "beta": 1.0}, "pde": {}})
    # A non-empty directory that holds no run is refused and left alone.
    d = tmp_path / "busy"
    d.mkdir()
    (d / "mine.txt").write_text("keep")
    with pytest.raises((ValueError, OSError)) as e:
        attnflow.particles(dim=2, n=5, beta=1.0, out=d)
    one_line(e)
    assert (d / "mine.txt").read_text() == "keep" and sorted(p.name for p in d.iterdir()) == ["mine.txt"]
    with pytest.raises(ValueError) as e:
        attnflow.particles(dim=2, n=5, beta=1.0, out=tmp_path / "o", init=np.eye(2))
    assert "init" in one_line(e)
    with pytest.raises(ValueError):
        attnflow.load(tmp_path)
