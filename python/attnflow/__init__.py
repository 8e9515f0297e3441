"""attnflow: self-attention as interacting particles on the sphere, from Python.

Tokens ``x_1..x_N`` are unit vectors on ``S^{d-1}``; a deep stack of attention layers is the flow

    USA:  dx_i/dt = P_{x_i}( (1/N) sum_j exp(beta <x_i,x_j>) x_j )
    SA:   dx_i/dt = P_{x_i}( sum_j exp(beta <x_i,x_j>) x_j / sum_k exp(beta <x_i,x_k>) )

This package calls the attnflow Rust library (no subprocess, no files unless asked): numpy
arrays in, numpy arrays out.

* Linear theory: :func:`linear`, :func:`dominant_degree`, :func:`thresholds`,
  :func:`funk_hecke`.
* Runs, with the keyword names of the run specifications (the keys of a ``[particles]`` /
  ``[pde]`` / ``[compare.<name>]`` config table, the command-line flags with ``-`` written
  ``_``): :func:`particles`, :func:`pde`, :func:`compare`, :func:`run` (a dict or a TOML/JSON
  config file), :func:`resume`, :func:`load` (read a run directory), :func:`resolve` (every
  default filled in).
* Building blocks: :func:`velocity` (exact or fast summation), :func:`harmonic_power`,
  :func:`synthesis` / :func:`analysis` / :func:`grid` (the sphere, circle and zonal transforms
  on the documented coefficient layout).

Conventions (as in the command line and its outputs): densities are relative to the uniform
probability measure; internally USA uses the scaled kernel ``exp(beta(<x,y> - 1))`` and the
scaled time ``tau = e^beta t``; ``time="physical"`` (default) or ``"scaled"`` says in which unit
``t_end``, ``dt`` and ``nu`` are given. Series columns always carry both ``t`` and ``tau``.

Errors: bad input raises ``ValueError`` (or ``TypeError`` for arguments of the wrong kind)
with the library's one-line message naming the parameter; unwritable outputs ``OSError``; a
run that fails ``RuntimeError``. Every long call releases the GIL and stops within a fraction
of a second on Ctrl-C, raising ``KeyboardInterrupt`` (a run writing to ``out`` leaves a
checkpoint: continue it with :func:`resume`). ``progress=callable(fraction, message)``
receives the progress of a run.
"""

from __future__ import annotations

import csv
import json
import math
import os
import tempfile
import warnings
from pathlib import Path
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Union

import numpy as np

from . import _native

__version__ = _native.version()

__all__ = [
    "Linear",
    "RunResult",
    "CompareResult",
    "linear",
    "dominant_degree",
    "thresholds",
    "funk_hecke",
    "velocity",
    "harmonic_power",
    "grid",
    "synthesis",
    "analysis",
    "particles",
    "pde",
    "compare",
    "run",
    "resume",
    "load",
    "resolve",
]

Progress = Optional[Callable[[float, str], Any]]

COMPARE_EXPERIMENTS = (
    "growth",
    "onset",
    "predict",
    "clusters",
    "staircase",
    "phase",
    "pde-vs-particles",
    "reproduce",
)


# --------------------------------------------------------------------------------------------
# Input checking and conversion
# --------------------------------------------------------------------------------------------


def _plain(value: Any, key: str) -> Any:
    """A keyword value as plain JSON data (numpy scalars and arrays, paths, tuples converted);
    non-finite floats are refused naming ``key``."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        v = float(value)
        if not math.isfinite(v):
            raise ValueError(f"invalid {key} = {v}: accepted a finite number")
        return v
    if isinstance(value, (str, type(None))):
        return value
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, Mapping):
        return {str(k): _plain(v, f"{key}.{k}") for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v, f"{key}[{i}]") for i, v in enumerate(value)]
    raise TypeError(
        f"invalid {key}: a number, string, boolean, path or list is accepted, "
        f"not {type(value).__name__}"
    )


def _spec_json(table: Mapping[str, Any], prefix: str) -> Dict[str, Any]:
    return {str(k): _plain(v, f"{prefix}.{k}") for k, v in table.items()}


def _tokens(x: Any, name: str = "x") -> np.ndarray:
    """An ``(N, d)`` C-contiguous float64 array of finite values. Real numeric input (float32,
    integers, Fortran order, lists) is converted; anything else raises ``TypeError`` /
    ``ValueError`` naming ``name``."""
    try:
        a = np.asarray(x)
    except Exception as e:  # ragged lists and the like
        raise ValueError(f"invalid {name}: an array of shape (N, d) is accepted ({e})") from None
    if a.dtype == object or a.dtype.kind not in "fiu":
        raise TypeError(
            f"invalid {name}: a real numeric array of shape (N, d) is accepted, not dtype {a.dtype}"
        )
    if a.ndim != 2:
        raise ValueError(
            f"invalid {name}: an array of shape (N, d) is accepted, got shape {a.shape}"
        )
    a = np.ascontiguousarray(a, dtype=np.float64)
    if not np.all(np.isfinite(a)):
        bad = int(np.argwhere(~np.isfinite(a))[0][0])
        raise ValueError(f"invalid {name}: row {bad} is not finite (NaN or infinite values)")
    return a


def _vector(x: Any, name: str) -> np.ndarray:
    a = np.asarray(x)
    if a.dtype == object or a.dtype.kind not in "fiu":
        raise TypeError(f"invalid {name}: a real numeric array is accepted, not dtype {a.dtype}")
    a = np.ascontiguousarray(a, dtype=np.float64).reshape(-1)
    if not np.all(np.isfinite(a)):
        raise ValueError(f"invalid {name}: NaN or infinite values")
    return a


def _int(value: Any, name: str) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        if isinstance(value, (float, np.floating)) and float(value).is_integer():
            return int(value)
        raise TypeError(f"invalid {name} = {value!r}: an integer is accepted")
    return int(value)


def _float(value: Any, name: str) -> float:
    if isinstance(value, (bool, np.bool_)) or not isinstance(
        value, (int, float, np.integer, np.floating)
    ):
        raise TypeError(f"invalid {name} = {value!r}: a number is accepted")
    return float(value)


def _str(value: Any, name: str) -> str:
    if not isinstance(value, str):
        raise TypeError(f"invalid {name} = {value!r}: a string is accepted")
    return value


def _warn(lines: Sequence[str]) -> None:
    for w in lines:
        warnings.warn(w, stacklevel=3)


# --------------------------------------------------------------------------------------------
# Linear theory
# --------------------------------------------------------------------------------------------


class Linear:
    """Growth rates of the linearisation about the uniform state, per degree ``l = 0..lmax``.

    Attributes (numpy arrays indexed by ``l``): ``l``, ``log_lambda`` (``ln lambda_l``, the
    Funk–Hecke eigenvalue of ``exp(beta <x,y>)``, physical units), ``rate`` (``gamma_l`` in the
    unit of ``time``; NaN where not representable in double precision), ``log_rate``
    (``ln gamma_l``; NaN at ``l = 0``); and ``dominant`` (``l*``), ``dim``, ``beta``,
    ``model``, ``time``. Also readable as a dict: ``res["rate"]``.
    """

    def __init__(self, d: Dict[str, Any], model: str, time: str):
        self.l: np.ndarray = d["l"].astype(np.int64)
        self.log_lambda: np.ndarray = d["log_lambda"]
        self.rate: np.ndarray = d["rate"]
        self.log_rate: np.ndarray = d["log_rate"]
        self.dominant: int = int(d["dominant"])
        self.dim: int = int(d["dim"])
        self.beta: float = float(d["beta"])
        self.model = model
        self.time = time

    def keys(self) -> List[str]:
        return ["l", "log_lambda", "rate", "log_rate", "dominant", "dim", "beta", "model", "time"]

    def __getitem__(self, key: str) -> Any:
        if key not in self.keys():
            raise KeyError(key)
        return getattr(self, key)

    def __repr__(self) -> str:
        return (
            f"Linear(dim={self.dim}, beta={self.beta}, model={self.model!r}, time={self.time!r}, "
            f"dominant={self.dominant}, lmax={len(self.l) - 1})"
        )


def linear(
    dim: int, beta: float, model: str = "usa", lmax: Optional[int] = None, time: str = "physical"
) -> Linear:
    """Linear theory at ``(dim, beta)``: ``ln lambda_l``, ``gamma_l``, ``ln gamma_l`` for
    ``l = 0..lmax`` (default ``3 l* + 10``) and the dominant degree ``l*``, exactly as
    ``attnflow linear``. ``gamma_l = l(l+d-2) lambda_l / beta`` (USA, physical time), divided by
    ``lambda_0`` for SA; ``time="scaled"`` gives USA rates per unit ``tau = e^beta t``."""
    d = _native.linear_spectrum(
        _int(dim, "dim"),
        _float(beta, "beta"),
        _str(model, "model"),
        None if lmax is None else _int(lmax, "lmax"),
        _str(time, "time"),
    )
    return Linear(d, model, time)


def dominant_degree(beta: Union[float, Sequence[float], np.ndarray], dim: int) -> Any:
    """The dominant degree ``l* = argmax_{l >= 1} gamma_l`` (an int, or an int array for an
    array of ``beta``)."""
    b = np.asarray(beta, dtype=np.float64) if not np.isscalar(beta) else None
    if b is None:
        return _native.dominant_degrees(_int(dim, "dim"), [_float(beta, "beta")])[0]
    out = _native.dominant_degrees(_int(dim, "dim"), [float(v) for v in b.reshape(-1)])
    return np.asarray(out, dtype=np.int64).reshape(b.shape)


def thresholds(dim: int, k: int) -> np.ndarray:
    """The first ``k`` values ``beta_1 < beta_2 < ...`` at which ``l*`` moves from ``j`` to
    ``j + 1`` (roots of ``gamma_j = gamma_{j+1}``), ``1 <= k <= 200``."""
    return _native.thresholds(_int(dim, "dim"), _int(k, "k"))


def funk_hecke(dim: int, beta: float, lmax: int, log: bool = True) -> np.ndarray:
    """Funk–Hecke eigenvalues of ``K(x,y) = exp(beta <x,y>)`` w.r.t. the uniform probability
    measure, ``lambda_l = Gamma(d/2) (2/beta)^{(d-2)/2} I_{l+(d-2)/2}(beta)``, ``l = 0..lmax``:
    ``ln lambda_l`` (``log=True``, never overflows) or ``lambda_l``."""
    v = _native.funk_hecke(_int(dim, "dim"), _float(beta, "beta"), _int(lmax, "lmax"))
    return v if log else np.exp(v)


# --------------------------------------------------------------------------------------------
# Building blocks
# --------------------------------------------------------------------------------------------


def velocity(
    x: Any,
    beta: float,
    model: str = "usa",
    method: str = "auto",
    time: str = "physical",
    summation_tol: float = 1e-12,
    mass: Any = None,
    return_energy: bool = False,
) -> Any:
    """Velocities of the token set ``x`` (``(N, d)``, rows normalised to the sphere; rows that
    were not unit vectors give a warning).

    ``time="physical"``: ``dx_i/dt`` of the equations (USA carries the factor ``e^beta``, so it
    overflows for ``beta > ~700``); ``time="scaled"``: ``dx_i/dtau``, the scaled-kernel velocity
    the simulator integrates (identical for SA). ``method``: ``exact`` (all pairs), ``fast``
    (spectral, ``d = 2, 3``, relative accuracy ``summation_tol``) or ``auto``. ``mass``:
    optional non-negative weights of the tokens (normalised to sum 1).
    With ``return_energy=True`` returns ``(v, E)`` with ``E`` the scaled-kernel energy
    ``(1/(2 beta)) sum_ij m_i m_j exp(beta(<x_i,x_j> - 1))``."""
    a = _tokens(x)
    m = None if mass is None else _vector(mass, "mass")
    time = _str(time, "time")
    if time not in ("physical", "scaled"):
        raise ValueError(f"invalid time = {time}: accepted physical or scaled")
    beta = _float(beta, "beta")
    v, mean, normalised, _desc = _native.velocity(
        a, beta, _str(model, "model"), _str(method, "method"), _float(summation_tol, "summation_tol"), m
    )
    if normalised:
        _warn([f"{normalised} rows of x were not unit vectors and were normalised"])
    if time == "physical" and model == "usa":
        if beta > 700.0:
            raise ValueError(
                f"invalid beta = {beta}: physical USA velocities (factor e^beta) overflow for "
                "beta > 700; use time='scaled'"
            )
        v = v * math.exp(beta)
    if return_energy:
        return v, mean / (2.0 * beta)
    return v


def harmonic_power(x: Any, lmax: int = 16) -> np.ndarray:
    """Harmonic power ``C_l = (1/N^2) sum_ij Z_l(<x_i,x_j>)`` of the tokens ``x`` (``(N, d)``)
    for ``l = 0..lmax`` (``C_0 = 1``; ``E C_l = dim(H_l)/N`` for iid uniform tokens)."""
    c, normalised = _native.harmonic_power(_tokens(x), _int(lmax, "lmax"))
    if normalised:
        _warn([f"{normalised} rows of x were not unit vectors and were normalised"])
    return c


def _lmax_of(n: int, geometry: str, dim: Optional[int]) -> int:
    if geometry == "circle":
        l = (n - 1) // 2
        ok = n == 2 * l + 1
    elif geometry == "sphere":
        l = int(round(math.sqrt(n))) - 1
        ok = (l + 1) ** 2 == n
    elif geometry == "zonal":
        l = n - 1
        ok = n >= 1
    else:
        raise ValueError(f"invalid geometry = {geometry}: accepted circle, sphere or zonal")
    if not ok or l < 0:
        raise ValueError(
            f"invalid coeffs: {n} coefficients is no full basis for geometry = {geometry} "
            "(circle: 2L+1, sphere: (L+1)^2, zonal: L+1)"
        )
    return l


def grid(geometry: str, lmax: int, dim: Optional[int] = None) -> Dict[str, Any]:
    """The quadrature grid of the basis of degree ``lmax``: ``nodes`` (circle: angles
    ``2 pi j / n``; sphere: ``cos(theta)`` of the Gauss–Legendre rings, longitudes ``2 pi j /
    nlon``; zonal: Gauss–Gegenbauer nodes ``t = x_d``), ``weights`` (grid shape, summing to 1),
    ``degrees`` (degree of each coefficient) and ``shape``. ``dim`` is needed for ``zonal``."""
    return _native.grid(_str(geometry, "geometry"), _int(lmax, "lmax"), None if dim is None else _int(dim, "dim"))


def synthesis(
    coeffs: Any, geometry: str, lmax: Optional[int] = None, dim: Optional[int] = None
) -> np.ndarray:
    """Values on the grid (:func:`grid`) of the real orthonormal expansion ``coeffs`` (layout:
    circle ``f[0] <-> 1, f[2k-1] <-> sqrt(2) cos k theta, f[2k] <-> sqrt(2) sin k theta``;
    sphere ``f[l^2] <-> pbar_l^0, f[l^2+2m-1] <-> sqrt(2) pbar_l^m cos m phi, f[l^2+2m] <->
    sqrt(2) pbar_l^m sin m phi``; zonal ``f[l] <-> Z_l``). ``lmax`` defaults to the degree
    implied by ``len(coeffs)``. Shape ``(n,)`` or ``(nlat, nlon)``."""
    c = _vector(coeffs, "coeffs")
    geometry = _str(geometry, "geometry")
    l = _lmax_of(len(c), geometry, dim) if lmax is None else _int(lmax, "lmax")
    return _native.synthesis(c, geometry, l, None if dim is None else _int(dim, "dim"))


def analysis(values: Any, geometry: str, lmax: int, dim: Optional[int] = None) -> np.ndarray:
    """Coefficients of degree ``<= lmax`` of ``values`` given on the grid of :func:`grid`
    (quadrature; exact for expansions of degree ``<= lmax``, so ``analysis(synthesis(c)) == c``
    to rounding)."""
    v = _vector(values, "values")
    return _native.analysis(
        v, _str(geometry, "geometry"), _int(lmax, "lmax"), None if dim is None else _int(dim, "dim")
    )


# --------------------------------------------------------------------------------------------
# Runs
# --------------------------------------------------------------------------------------------


class RunResult:
    """Results of a particle or PDE run.

    Common attributes: ``kind`` (``"particles"``/``"pde"``), ``status``, ``spec`` (the resolved
    specification: a valid config table, every default filled in), ``out`` (the output
    directory or ``None`` for an in-memory run), ``series`` (dict of numpy columns with the
    names of ``series.csv``; ``pandas.DataFrame(result.series)`` works), ``warnings``.

    Particles: ``snapshots`` (``(k, N, d)`` saved states: initial, every ``save_every`` steps,
    final; for ensembles a list with one such array per system), ``snapshot_times`` (dict
    ``step``, ``t``, ``tau``; per system for ensembles), ``final`` (the final ``(N, d)`` state;
    a list for ensembles), ``method`` (summation used), ``systems`` (per system: ``steps``,
    ``rejected_steps``, ``max_energy_identity_error``, ``final_cluster_sizes``).

    PDE: ``coefficients`` and ``density`` (one entry per output: a 2-D / 3-D array when every
    output has the same degree, else a list of arrays; ``density`` is ``None`` with
    ``no_density``), ``lmax`` (degree per output), ``grids`` (per degree: ``nodes``, ``weights``,
    ``degrees``), ``grid`` (that of the last output), ``geometry``, ``summary``.
    """

    def __init__(self, kind: str):
        self.kind = kind
        self.status = "completed"
        self.spec: Dict[str, Any] = {}
        self.out: Optional[str] = None
        self.series: Dict[str, np.ndarray] = {}
        self.warnings: List[str] = []
        self.method: Optional[str] = None
        self.snapshots: Any = None
        self.snapshot_times: Any = None
        self.final: Any = None
        self.systems: List[Dict[str, Any]] = []
        self.coefficients: Any = None
        self.density: Any = None
        self.lmax: Optional[np.ndarray] = None
        self.grids: Dict[int, Dict[str, Any]] = {}
        self.grid: Optional[Dict[str, Any]] = None
        self.geometry: Optional[str] = None
        self.summary: Optional[Dict[str, Any]] = None
        self.record: Optional[Dict[str, Any]] = None

    def __repr__(self) -> str:
        rows = len(next(iter(self.series.values()))) if self.series else 0
        where = f", out={self.out!r}" if self.out else ""
        return f"RunResult(kind={self.kind!r}, status={self.status!r}, rows={rows}{where})"


class CompareResult:
    """Results of a comparison experiment: ``name``, ``status``, ``spec`` (resolved), ``out``,
    ``data`` (the content of ``data.json``: every number of the report), ``report`` (the text
    of ``report.md``), ``figures`` (paths of the figures), ``record`` (``run.json``)."""

    def __init__(self, out: str):
        self.out = out
        rec = json.loads(Path(out, "run.json").read_text())
        self.record = rec
        self.name = rec["kind"].split(".", 1)[1]
        self.kind = rec["kind"]
        self.status = rec["status"]
        self.spec = next(iter(rec["spec"]["compare"].values()))
        p = Path(out, "data.json")
        self.data = json.loads(p.read_text()) if p.is_file() else None
        p = Path(out, "report.md")
        self.report = p.read_text() if p.is_file() else None
        self.figures = sorted(str(f) for f in Path(out).glob("*.png"))

    def __repr__(self) -> str:
        return f"CompareResult(name={self.name!r}, status={self.status!r}, out={self.out!r})"


def _columns(names: Sequence[str], table: np.ndarray) -> Dict[str, np.ndarray]:
    table = np.asarray(table, dtype=np.float64).reshape(-1, len(names)) if len(names) else table
    return {n: np.ascontiguousarray(table[:, i]) for i, n in enumerate(names)}


def _particles_result(d: Dict[str, Any]) -> RunResult:
    r = RunResult("particles")
    r.spec = json.loads(d["spec"])
    r.method = d["method"]
    r.warnings = list(d["warnings"])
    cols = list(d["columns"])
    systems = d["systems"]
    if len(systems) == 1:
        s = systems[0]
        r.series = _columns(cols, s["series"])
        r.snapshots = s["snapshots"]
        r.snapshot_times = {
            "step": np.asarray(s["snapshot_step"], dtype=np.int64),
            "t": s["snapshot_t"],
            "tau": s["snapshot_tau"],
        }
        r.final = s["snapshots"][-1]
    else:
        tables = []
        for k, s in enumerate(systems):
            t = s["series"]
            tables.append(np.column_stack([np.full(len(t), float(k)), t]))
        r.series = _columns(["system"] + cols, np.vstack(tables))
        r.snapshots = [s["snapshots"] for s in systems]
        r.snapshot_times = [
            {
                "step": np.asarray(s["snapshot_step"], dtype=np.int64),
                "t": s["snapshot_t"],
                "tau": s["snapshot_tau"],
            }
            for s in systems
        ]
        r.final = [s["snapshots"][-1] for s in systems]
    r.systems = [
        {
            k: s[k]
            for k in (
                "steps",
                "rejected_steps",
                "max_energy_identity_error",
                "final_cluster_sizes",
                "merges",
            )
        }
        for s in systems
    ]
    return r


def _stack_or_list(arrays: List[Any]) -> Any:
    if not arrays or any(a is None for a in arrays):
        return None if all(a is None for a in arrays) else arrays
    if all(a.shape == arrays[0].shape for a in arrays):
        return np.stack(arrays)
    return arrays


def _pde_result(d: Dict[str, Any]) -> RunResult:
    r = RunResult("pde")
    r.spec = json.loads(d["spec"])
    r.warnings = list(d["warnings"])
    r.geometry = d["geometry"]
    r.summary = json.loads(d["summary"])
    r.series = _columns(list(d["columns"]), d["series"])
    frames = d["frames"]
    r.lmax = np.asarray([f["lmax"] for f in frames], dtype=np.int64)
    r.coefficients = _stack_or_list([f["coefficients"] for f in frames])
    r.density = _stack_or_list([f["density"] for f in frames])
    r.grids = {int(l): g for l, g in d["grids"].items()}
    if len(r.lmax):
        r.grid = r.grids[int(r.lmax[-1])]
    if r.summary.get("stopped"):
        r.status = "stopped"
    return r


def _in_memory_out(spec: Mapping[str, Any]) -> bool:
    return spec.get("out") is None


def particles(
    *, init: Any = None, progress: Progress = None, overwrite: bool = False, **spec: Any
) -> RunResult:
    """Run a particle simulation (the ``[particles]`` table / ``attnflow particles``).

    Keywords are the run specification's fields: ``dim``, ``n``, ``beta`` (required, ``n`` or
    ``init``), ``model``, ``t_end``, ``time``, ``dt``, ``tol``, ``integrator``, ``seed``, ``nu``
    (noise, ``dX = v dt + sqrt(2 nu) dW``), ``method``, ``summation_tol``, ``ensemble``,
    ``lmax_power``, ``save_every``,
    ``series_points``, ``series_spacing``, ``series_start``, ``merge_radius``,
    ``cluster_radius``, ``cluster_density``, ``cluster_min_fraction``, ``out``,
    ``checkpoint_every``. ``init``: an ``(N, d)`` array (rows normalised to the sphere) or the
    path of an ``.npy`` file. Without ``out`` the run is in memory; with ``out`` it writes the
    documented output layout (byte-identical to the command line) and the result is read back
    from it (``overwrite=True`` replaces an earlier run there). Unknown keywords raise
    ``ValueError``.
    """
    table = _spec_json(spec, "particles")
    array = None
    if init is not None:
        if isinstance(init, (str, os.PathLike)):
            table["init"] = os.fspath(init)
        else:
            array = _tokens(init, "init")
    if not _in_memory_out(table):
        if array is not None:
            raise ValueError(
                "invalid init: an array is accepted for in-memory runs only; with out, save it "
                "(numpy.save) and pass init='file.npy' so that run.json can reproduce the run"
            )
        return _execute({"particles": table}, overwrite, progress)
    d = _native.run_particles(json.dumps(table), array, progress)
    r = _particles_result(d)
    _warn(r.warnings)
    return r


def pde(*, progress: Progress = None, overwrite: bool = False, **spec: Any) -> RunResult:
    """Run the mean-field PDE (the ``[pde]`` table / ``attnflow pde``).

    Keywords are the run specification's fields: ``geometry`` (``circle``, ``sphere``,
    ``zonal``), ``dim``, ``beta``, ``model``, ``lmax``, ``nu``, ``t_end``, ``time``, ``tol``,
    ``dt``, ``lmax_power``, ``outputs``, ``resolution_tol``, ``refine``, ``lmax_limit``,
    ``no_density``, ``init_modes``, ``init_noise``, ``n_equiv``, ``seed``, ``init_lmax``,
    ``init_snapshot``, ``smoothing``, ``out``, ``checkpoint_every``. Without ``out`` the run is
    in memory; with ``out`` it writes the documented layout and the result is read back.
    A run that loses resolution at its largest allowed degree keeps its outputs and has
    ``status == "stopped"`` (``summary["stopped"]`` says why).
    """
    table = _spec_json(spec, "pde")
    if not _in_memory_out(table):
        return _execute({"pde": table}, overwrite, progress)
    d = _native.run_pde(json.dumps(table), progress)
    r = _pde_result(d)
    _warn(r.warnings)
    return r


def compare(
    name: str, *, progress: Progress = None, overwrite: bool = False, **spec: Any
) -> CompareResult:
    """Run a comparison experiment (``attnflow compare <name>``; ``name`` one of
    ``growth``, ``onset``, ``predict``, ``clusters``, ``staircase``, ``phase``,
    ``pde-vs-particles``, ``reproduce``) with the keywords of its ``[compare.<name>]`` table.
    Experiments write a report and figures: into ``out`` if given, else into a new temporary
    directory (``result.out``). Returns the report's data (``data.json``) and figure paths."""
    name = _str(name, "name")
    if name not in COMPARE_EXPERIMENTS:
        raise ValueError(f"invalid name = {name}: accepted {', '.join(COMPARE_EXPERIMENTS)}")
    table = _spec_json(spec, f"compare.{name}")
    if table.get("out") is None:
        table["out"] = tempfile.mkdtemp(prefix=f"attnflow-compare-{name}-")
    return _execute({"compare": {name: table}}, overwrite, progress)


def _read_config(config: Union[str, os.PathLike, Mapping[str, Any]]) -> Dict[str, Any]:
    if isinstance(config, Mapping):
        return _spec_json(config, "config")
    if not isinstance(config, (str, os.PathLike)):
        raise TypeError(
            "invalid config: a dict or the path of a TOML/JSON file is accepted, "
            f"not {type(config).__name__}"
        )
    path = Path(config)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such config file")
    # The library reads the file exactly as `attnflow run` does (same messages).
    return json.loads(_native.load_config(os.fspath(path)))


def run(
    config: Union[str, os.PathLike, Mapping[str, Any]],
    *,
    out: Optional[Union[str, os.PathLike]] = None,
    overwrite: bool = False,
    progress: Progress = None,
) -> Union[RunResult, CompareResult]:
    """Run a config: a dict (``{"particles": {...}}``, ``{"pde": {...}}`` or
    ``{"compare": {"growth": {...}}}``) or the path of a TOML/JSON config file or of a
    ``run.json`` record (which repeats that run bit for bit). ``out`` overrides the config's
    output directory; without any, particle and PDE runs are in memory."""
    v = _read_config(config)
    if not isinstance(v, dict) or len(v) != 1:
        raise ValueError(
            "invalid config: exactly one top-level table is accepted: particles, pde or compare.<experiment>"
        )
    kind, table = next(iter(v.items()))
    if kind == "compare":
        if not isinstance(table, dict) or len(table) != 1:
            raise ValueError("invalid config: compare holds exactly one experiment table")
        name, sub = next(iter(table.items()))
        sub = dict(sub)
        if out is not None:
            sub["out"] = os.fspath(out)
        return compare(name, progress=progress, overwrite=overwrite, **sub)
    if kind not in ("particles", "pde"):
        raise ValueError(
            f"invalid config: unknown kind {kind!r}: accepted particles, pde or compare.<experiment>"
        )
    if not isinstance(table, dict):
        raise ValueError(f"invalid config: {kind} must be a table")
    table = dict(table)
    if out is not None:
        table["out"] = os.fspath(out)
    if kind == "particles":
        return particles(progress=progress, overwrite=overwrite, **table)
    return pde(progress=progress, overwrite=overwrite, **table)


def resolve(kind: str, **spec: Any) -> Dict[str, Any]:
    """The specification with every default filled in (``attnflow run --print-resolved``):
    ``kind`` is ``particles``, ``pde`` or ``compare.<experiment>``."""
    kind = _str(kind, "kind")
    if kind.startswith("compare."):
        name = kind.split(".", 1)[1]
        body: Dict[str, Any] = {"compare": {name: _spec_json(spec, kind)}}
    else:
        body = {kind: _spec_json(spec, kind)}
    text, warns = _native.resolve(json.dumps(body))
    _warn(warns)
    v = json.loads(text)
    return v["compare"][kind.split(".", 1)[1]] if kind.startswith("compare.") else v[kind]


def _execute(body: Dict[str, Any], overwrite: bool, progress: Progress) -> Any:
    text, warns = _native.resolve(json.dumps(body))
    _warn(warns)
    _kind, _status, _summary, out = _native.execute(json.dumps(body), bool(overwrite), progress)
    return load(out)


def resume(out: Union[str, os.PathLike], *, progress: Progress = None) -> Any:
    """Continue the interrupted run in ``out`` (``attnflow resume``; particle and PDE outputs
    equal those of an uninterrupted run) and return its results."""
    _native.resume(os.fspath(out), progress)
    return load(out)


# --------------------------------------------------------------------------------------------
# Reading a run directory
# --------------------------------------------------------------------------------------------


def _read_csv(path: Path) -> Dict[str, np.ndarray]:
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    if not rows:
        return {}
    header, body = rows[0], rows[1:]
    table = np.array([[float(v) for v in r] for r in body], dtype=np.float64).reshape(
        len(body), len(header)
    )
    return _columns(header, table)


def load(out: Union[str, os.PathLike]) -> Union[RunResult, CompareResult]:
    """Read the run in directory ``out`` (written by the command line or by this package)
    into the same result object an in-memory run returns."""
    out = os.fspath(out)
    p = Path(out)
    rec_path = p / "run.json"
    if not rec_path.is_file():
        raise ValueError(f"invalid out = {out}: accepted a directory holding an attnflow run (run.json)")
    rec = json.loads(rec_path.read_text())
    kind = rec["kind"]
    if kind.startswith("compare."):
        return CompareResult(out)
    r = RunResult(kind)
    r.out = out
    r.record = rec
    r.status = rec["status"]
    r.spec = rec["spec"][kind]
    if (p / "series.csv").is_file():
        r.series = _read_csv(p / "series.csv")
    if kind == "particles":
        derived = rec.get("derived") or {}
        r.method = derived.get("method")
        res = rec.get("results") or {}
        snaps = res.get("snapshots", [])
        m = int(r.spec.get("ensemble") or 1)
        per: List[List[Dict[str, Any]]] = [[] for _ in range(m)]
        for s in snaps:
            per[int(s.get("system", 0))].append(s)
        arrays = [
            np.stack([np.load(p / s["file"]) for s in lst]) if lst else None for lst in per
        ]
        times = [
            {
                "step": np.asarray([s["step"] for s in lst], dtype=np.int64),
                "t": np.asarray([s["t"] for s in lst], dtype=np.float64),
                "tau": np.asarray([s["tau"] for s in lst], dtype=np.float64),
            }
            for lst in per
        ]
        r.systems = [
            {
                "steps": res.get("steps", [None] * m)[k],
                "rejected_steps": res.get("rejected_steps", [None] * m)[k],
                "max_energy_identity_error": res.get("max_energy_identity_error", [None] * m)[k],
                "final_cluster_sizes": res.get("final_cluster_sizes", [None] * m)[k],
                "merges": len(res.get("merges", [[]] * m)[k] or []),
            }
            for k in range(m)
        ] if res else []
        if m == 1:
            r.snapshots, r.snapshot_times = arrays[0], times[0]
            r.final = None if arrays[0] is None else arrays[0][-1]
        else:
            r.snapshots, r.snapshot_times = arrays, times
            r.final = [None if a is None else a[-1] for a in arrays]
    else:
        r.geometry = r.spec.get("geometry")
        r.summary = (rec.get("results") or {}).get("summary")
        k = len(next(iter(r.series.values()))) if r.series else 0
        r.lmax = r.series["lmax"].astype(np.int64) if r.series else np.zeros(0, np.int64)
        r.coefficients = _stack_or_list([np.load(p / f"coeffs_{i:04}.npy") for i in range(k)])
        dens = []
        for i in range(k):
            f = p / f"density_{i:04}.npy"
            dens.append(np.load(f) if f.is_file() else None)
        r.density = _stack_or_list(dens)
        for l in sorted(set(int(v) for v in r.lmax)):
            r.grids[l] = {
                "nodes": np.load(p / f"grid_L{l:04}_nodes.npy"),
                "weights": np.load(p / f"grid_L{l:04}_weights.npy"),
                "degrees": [int(v) for v in np.load(p / f"degrees_L{l:04}.npy")],
            }
        if len(r.lmax):
            r.grid = r.grids[int(r.lmax[-1])]
        if r.summary and r.summary.get("stopped"):
            r.status = "stopped" if r.status == "completed" else r.status
    return r
