"""Runs from Python against the command line of the same checkout: the same specification
gives the same numbers, bit for bit, in memory and into an output directory."""

import json
import os
import signal
import subprocess
import threading
import time
from pathlib import Path

import numpy as np
import pytest

import attnflow
from conftest import REPO


def cli_run(cli, args, out):
    subprocess.run([cli, *args, "--out", str(out)], check=True, capture_output=True)
    return attnflow.load(out)


def assert_series_equal(a, b):
    assert list(a) == list(b)
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)


PARTICLES = dict(dim=2, n=300, beta=4.0, seed=3, save_every=20, series_points=20)


def test_particle_run_in_memory_equals_cli_bit_for_bit(cli, tmp_path):
    ref = cli_run(
        cli,
        ["particles", "--dim", "2", "--n", "300", "--beta", "4", "--seed", "3", "--save-every", "20",
         "--series-points", "20"],
        tmp_path / "cli",
    )
    r = attnflow.particles(**PARTICLES)
    assert r.out is None and r.status == "completed"
    assert_series_equal(r.series, ref.series)
    assert r.snapshots.shape == ref.snapshots.shape and r.snapshots.shape[1:] == (300, 2)
    np.testing.assert_array_equal(r.snapshots, ref.snapshots)
    for k in ("step", "t", "tau"):
        np.testing.assert_array_equal(r.snapshot_times[k], ref.snapshot_times[k])
    # The resolved specification is the record's (out aside).
    spec = dict(ref.spec)
    spec["out"] = None
    assert r.spec == spec
    assert r.method == ref.method


def test_particle_run_into_out_is_byte_identical_to_cli(cli, tmp_path):
    subprocess.run(
        [cli, "particles", "--dim", "3", "--n", "200", "--beta", "6", "--model", "sa", "--dt", "0.05",
         "--t-end", "2", "--ensemble", "2", "--method", "exact", "--out", str(tmp_path / "cli")],
        check=True, capture_output=True,
    )
    r = attnflow.particles(dim=3, n=200, beta=6, model="sa", dt=0.05, t_end=2, ensemble=2,
                           method="exact", out=tmp_path / "py")
    assert r.out == str(tmp_path / "py") and len(r.snapshots) == 2
    names = sorted(p.name for p in (tmp_path / "cli").iterdir() if p.suffix in (".npy", ".csv"))
    assert "series_mean.csv" in names and any(n.startswith("x_s1_") for n in names)
    for n in names:
        assert (tmp_path / "cli" / n).read_bytes() == (tmp_path / "py" / n).read_bytes(), n
    # And the in-memory run of the same specification gives the same numbers.
    m = attnflow.particles(dim=3, n=200, beta=6, model="sa", dt=0.05, t_end=2, ensemble=2, method="exact")
    assert_series_equal(m.series, r.series)
    for a, b in zip(m.snapshots, r.snapshots):
        np.testing.assert_array_equal(a, b)


def test_init_array_equals_init_file(cli, tmp_path):
    x = np.random.default_rng(0).normal(size=(150, 3))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    np.save(tmp_path / "x0.npy", x)
    ref = cli_run(cli, ["particles", "--beta", "3", "--dim", "3", "--init", str(tmp_path / "x0.npy"),
                        "--t-end", "1"], tmp_path / "cli")
    for init in (x, np.asfortranarray(x), x.tolist(), tmp_path / "x0.npy"):
        r = attnflow.particles(beta=3, dim=3, t_end=1, init=init)
        np.testing.assert_array_equal(r.snapshots[0], ref.snapshots[0])
        np.testing.assert_array_equal(r.final, ref.final)
        assert_series_equal(r.series, ref.series)


def test_pde_in_memory_equals_cli(cli, tmp_path):
    cfg = REPO / "examples" / "configs" / "pde_circle.toml"
    ref = cli_run(cli, ["run", str(cfg)], tmp_path / "cli")
    r = attnflow.run(cfg)
    assert r.kind == "pde" and r.out is None
    assert_series_equal(r.series, ref.series)
    np.testing.assert_array_equal(r.lmax, ref.lmax)
    assert len(r.coefficients) == len(ref.coefficients) == 31
    for a, b in zip(r.coefficients, ref.coefficients):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(r.density, ref.density):
        np.testing.assert_array_equal(a, b)
    for l, g in ref.grids.items():
        np.testing.assert_array_equal(r.grids[l]["nodes"], g["nodes"])
        np.testing.assert_array_equal(r.grids[l]["weights"], g["weights"])
    # The same run from keyword arguments, and a sphere run against the CLI.
    k = attnflow.pde(geometry="circle", beta=9.0, time="scaled", t_end=30.0, n_equiv=1e4, seed=3,
                     lmax=32, outputs=31)
    assert_series_equal(k.series, r.series)
    s_ref = cli_run(cli, ["pde", "--geometry", "sphere", "--beta", "4", "--model", "sa", "--t-end", "0.5",
                          "--init-modes", "1:1:0.1,2:-2:0.05", "--lmax", "12", "--outputs", "3"],
                    tmp_path / "s2")
    s = attnflow.pde(geometry="sphere", beta=4, model="sa", t_end=0.5, init_modes="1:1:0.1,2:-2:0.05",
                     lmax=12, outputs=3)
    assert s.density.shape[0] == 3 and s.density.shape[1:] == tuple(s.grid["weights"].shape)
    np.testing.assert_array_equal(s.density, s_ref.density)
    np.testing.assert_array_equal(s.coefficients, s_ref.coefficients)


def test_every_example_config_runs_from_python(tmp_path):
    configs = sorted((REPO / "examples" / "configs").glob("*.toml"))
    for cfg in [c for c in configs if c.name == "particles.toml" or c.name.startswith("pde_")]:
        r = attnflow.run(cfg)
        assert r.status == "completed", cfg
        assert r.spec == attnflow.resolve(r.kind, **{k: v for k, v in r.spec.items()})


def test_run_record_reproduces_and_resolve_matches_the_record(cli, tmp_path):
    ref = cli_run(cli, ["particles", "--dim", "2", "--n", "300", "--beta", "4"], tmp_path / "cli")
    resolved = attnflow.resolve("particles", dim=2, n=300, beta=4)
    assert resolved == dict(ref.spec, out=None)
    again = attnflow.run(tmp_path / "cli" / "run.json", out=tmp_path / "again")
    assert_series_equal(again.series, ref.series)
    for n in ("series.csv", "snapshots.csv"):
        assert (tmp_path / "cli" / n).read_bytes() == (tmp_path / "again" / n).read_bytes()
    np.testing.assert_array_equal(again.final, ref.final)


def test_compare_growth_returns_data_and_figures(tmp_path):
    res = attnflow.compare("growth", n=1000, seeds=2, lmax_power=6, out=tmp_path / "g")
    assert res.status == "completed" and isinstance(res.data, dict)
    assert res.figures and all(Path(f).is_file() for f in res.figures)
    assert json.loads((tmp_path / "g" / "data.json").read_text()) == res.data
    assert res.spec["n"] == 1000


def test_progress_callback_and_ctrl_c_interrupts_within_a_second(tmp_path):
    seen = []
    attnflow.particles(**PARTICLES, progress=lambda f, m: seen.append((f, m)))
    assert seen and all(0 <= f <= 1 for f, _ in seen) and seen[-1][0] > 0.5
    assert all(m == "particles" for _, m in seen)

    long = dict(dim=3, n=3000, beta=4.0, method="exact", t_end=1e4, time="scaled", tol=1e-12)
    for out in (None, tmp_path / "long"):
        kw = dict(long) if out is None else dict(long, out=out)
        timer = threading.Timer(0.5, lambda: os.kill(os.getpid(), signal.SIGINT))
        t0 = time.monotonic()
        timer.start()
        with pytest.raises(KeyboardInterrupt):
            attnflow.particles(**kw)
        assert time.monotonic() - t0 < 1.5 + 1.0
    rec = json.loads((tmp_path / "long" / "run.json").read_text())
    assert rec["status"] == "interrupted"
    assert (tmp_path / "long" / "checkpoint.bin").is_file()


def test_interrupted_run_resumes_to_the_uninterrupted_outputs(tmp_path):
    spec = dict(dim=2, n=500, beta=9.0, method="exact", seed=2, series_points=50)
    full = attnflow.particles(**spec, out=tmp_path / "full")
    calls = []

    def stop_early(f, m):
        calls.append(f)
        if len(calls) == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        attnflow.particles(**spec, out=tmp_path / "cut", progress=stop_early)
    assert json.loads((tmp_path / "cut" / "run.json").read_text())["status"] == "interrupted"
    done = attnflow.resume(tmp_path / "cut")
    assert done.status == "completed"
    for n in ("series.csv", "snapshots.csv"):
        assert (tmp_path / "full" / n).read_bytes() == (tmp_path / "cut" / n).read_bytes()
    np.testing.assert_array_equal(done.final, full.final)


def test_gil_is_released_during_a_run():
    ticks = []
    stop = threading.Event()

    def count():
        while not stop.is_set():
            ticks.append(1)
            time.sleep(0.001)

    t = threading.Thread(target=count)
    t.start()
    t0 = time.monotonic()
    attnflow.particles(dim=3, n=1500, beta=4.0, method="exact", t_end=20, time="scaled")
    elapsed = time.monotonic() - t0
    stop.set()
    t.join()
    assert elapsed > 0.2
    assert len(ticks) > 0.2 * elapsed / 0.002


def test_noisy_particles_equal_the_cli(cli, tmp_path):
    ref = cli_run(cli, ["particles", "--dim", "3", "--n", "200", "--beta", "4", "--nu", "0.5", "--seed", "5",
                        "--t-end", "0.5", "--series-points", "10"], tmp_path / "cli")
    r = attnflow.particles(dim=3, n=200, beta=4, nu=0.5, seed=5, t_end=0.5, series_points=10)
    assert_series_equal(r.series, ref.series)
    np.testing.assert_array_equal(r.final, ref.final)
    det = attnflow.particles(dim=3, n=200, beta=4, seed=5, t_end=0.5, series_points=10)
    assert not np.array_equal(det.final, r.final)
