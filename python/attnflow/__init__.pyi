"""Type stubs of attnflow (see the module docstring for conventions and errors)."""

import os
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Union, overload

import numpy as np
import numpy.typing as npt

__version__: str

Progress = Optional[Callable[[float, str], Any]]
PathLike = Union[str, os.PathLike]
ArrayLike = npt.ArrayLike

class Linear:
    l: npt.NDArray[np.int64]
    log_lambda: npt.NDArray[np.float64]
    rate: npt.NDArray[np.float64]
    log_rate: npt.NDArray[np.float64]
    dominant: int
    dim: int
    beta: float
    model: str
    time: str
    def keys(self) -> List[str]: ...
    def __getitem__(self, key: str) -> Any: ...

class RunResult:
    kind: str
    status: str
    spec: Dict[str, Any]
    out: Optional[str]
    series: Dict[str, npt.NDArray[np.float64]]
    warnings: List[str]
    method: Optional[str]
    snapshots: Union[npt.NDArray[np.float64], List[npt.NDArray[np.float64]], None]
    snapshot_times: Union[Dict[str, np.ndarray], List[Dict[str, np.ndarray]], None]
    final: Union[npt.NDArray[np.float64], List[npt.NDArray[np.float64]], None]
    systems: List[Dict[str, Any]]
    coefficients: Union[npt.NDArray[np.float64], List[npt.NDArray[np.float64]], None]
    density: Union[npt.NDArray[np.float64], List[npt.NDArray[np.float64]], None]
    lmax: Optional[npt.NDArray[np.int64]]
    grids: Dict[int, Dict[str, Any]]
    grid: Optional[Dict[str, Any]]
    geometry: Optional[str]
    summary: Optional[Dict[str, Any]]
    record: Optional[Dict[str, Any]]

class CompareResult:
    name: str
    kind: str
    status: str
    spec: Dict[str, Any]
    out: str
    data: Optional[Dict[str, Any]]
    report: Optional[str]
    figures: List[str]
    record: Dict[str, Any]

def linear(
    dim: int, beta: float, model: str = "usa", lmax: Optional[int] = None, time: str = "physical"
) -> Linear: ...
@overload
def dominant_degree(beta: float, dim: int) -> int: ...
@overload
def dominant_degree(beta: Union[Sequence[float], np.ndarray], dim: int) -> npt.NDArray[np.int64]: ...
def thresholds(dim: int, k: int) -> npt.NDArray[np.float64]: ...
def funk_hecke(dim: int, beta: float, lmax: int, log: bool = True) -> npt.NDArray[np.float64]: ...
def velocity(
    x: ArrayLike,
    beta: float,
    model: str = "usa",
    method: str = "auto",
    time: str = "physical",
    summation_tol: float = 1e-12,
    mass: Optional[ArrayLike] = None,
    return_energy: bool = False,
) -> Any: ...
def harmonic_power(x: ArrayLike, lmax: int = 16) -> npt.NDArray[np.float64]: ...
def grid(geometry: str, lmax: int, dim: Optional[int] = None) -> Dict[str, Any]: ...
def synthesis(
    coeffs: ArrayLike, geometry: str, lmax: Optional[int] = None, dim: Optional[int] = None
) -> npt.NDArray[np.float64]: ...
def analysis(
    values: ArrayLike, geometry: str, lmax: int, dim: Optional[int] = None
) -> npt.NDArray[np.float64]: ...
def particles(
    *,
    init: Union[ArrayLike, PathLike, None] = None,
    progress: Progress = None,
    overwrite: bool = False,
    dim: Optional[int] = None,
    n: Optional[int] = None,
    beta: Optional[float] = None,
    model: Optional[str] = None,
    t_end: Optional[float] = None,
    time: Optional[str] = None,
    dt: Optional[float] = None,
    tol: Optional[float] = None,
    integrator: Optional[str] = None,
    seed: Optional[int] = None,
    nu: Optional[float] = None,
    method: Optional[str] = None,
    summation_tol: Optional[float] = None,
    ensemble: Optional[int] = None,
    lmax_power: Optional[int] = None,
    save_every: Optional[int] = None,
    series_points: Optional[int] = None,
    series_spacing: Optional[str] = None,
    series_start: Optional[float] = None,
    merge_radius: Optional[float] = None,
    cluster_radius: Optional[float] = None,
    cluster_density: Optional[float] = None,
    cluster_min_fraction: Optional[float] = None,
    out: Optional[PathLike] = None,
    checkpoint_every: Optional[float] = None,
) -> RunResult: ...
def pde(
    *,
    progress: Progress = None,
    overwrite: bool = False,
    geometry: Optional[str] = None,
    dim: Optional[int] = None,
    beta: Optional[float] = None,
    model: Optional[str] = None,
    lmax: Optional[int] = None,
    nu: Optional[float] = None,
    t_end: Optional[float] = None,
    time: Optional[str] = None,
    tol: Optional[float] = None,
    dt: Optional[float] = None,
    lmax_power: Optional[int] = None,
    outputs: Optional[int] = None,
    resolution_tol: Optional[float] = None,
    refine: Optional[bool] = None,
    lmax_limit: Optional[int] = None,
    no_density: Optional[bool] = None,
    init_modes: Optional[str] = None,
    init_noise: Optional[float] = None,
    n_equiv: Optional[float] = None,
    seed: Optional[int] = None,
    init_lmax: Optional[int] = None,
    init_snapshot: Optional[PathLike] = None,
    smoothing: Optional[float] = None,
    out: Optional[PathLike] = None,
    checkpoint_every: Optional[float] = None,
) -> RunResult: ...
def compare(name: str, *, progress: Progress = None, overwrite: bool = False, **spec: Any) -> CompareResult: ...
def run(
    config: Union[PathLike, Mapping[str, Any]],
    *,
    out: Optional[PathLike] = None,
    overwrite: bool = False,
    progress: Progress = None,
) -> Union[RunResult, CompareResult]: ...
def resolve(kind: str, **spec: Any) -> Dict[str, Any]: ...
def resume(out: PathLike, *, progress: Progress = None) -> Union[RunResult, CompareResult]: ...
def load(out: PathLike) -> Union[RunResult, CompareResult]: ...
