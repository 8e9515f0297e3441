//! `attnflow._native`: the Python extension module over the attnflow library.
//!
//! Thin by design: run specifications arrive as JSON text (the Python keyword arguments, a dict
//! or a config file, serialised by `attnflow/__init__.py`) and are deserialised into the
//! library's own specification types, so every validation message is the library's one line.
//! Arrays come in as C-contiguous float64 numpy arrays (the Python layer converts or refuses
//! other input) and go out as new numpy arrays. Every computation runs on a worker thread
//! with the GIL released; the calling thread polls for signals (Ctrl-C stops the run between
//! steps and raises `KeyboardInterrupt`) and forwards progress to an optional callback.

use attnflow::control::{RunControl, StopFlag};
use attnflow::linear::{self, check_degree, check_dim, MAX_DEGREE};
use attnflow::particles::{build_velocity_field, Method, TokenState};
use attnflow::run::pde::GridNodes;
use attnflow::run::{self, ParticlesSpec, PdeSpec, RunSpec};
use attnflow::spectral::{Basis, CircleBasis, Geometry, SphereBasis, ZonalBasis};
use attnflow::{Error, Model, TimeUnit};
use numpy::{PyArray1, PyArrayMethods, PyReadonlyArray1, PyReadonlyArray2, PyUntypedArrayMethods};
use pyo3::exceptions::{PyKeyboardInterrupt, PyOSError, PyRuntimeError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

/// The library's error as a Python exception: bad input `ValueError`, unwritable outputs
/// `OSError`, an interrupted run `KeyboardInterrupt`, a failed run `RuntimeError`.
fn py_err(e: Error) -> PyErr {
    let msg = e.to_string();
    match e {
        Error::Parameter { .. } | Error::Input { .. } | Error::Resources(_) => {
            PyValueError::new_err(msg)
        }
        Error::Output { .. } => PyOSError::new_err(msg),
        Error::Interrupted(_) => PyKeyboardInterrupt::new_err(msg),
        Error::Numerical(_) | Error::ResolutionLost(_) => PyRuntimeError::new_err(msg),
    }
}

/// Deserialise JSON `text` into `T`, naming the key path in the error (`beta: invalid type`).
fn from_json<T: serde::de::DeserializeOwned>(text: &str, table: &str) -> PyResult<T> {
    let mut de = serde_json::Deserializer::from_str(text);
    serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.inner().to_string();
        let mut inner = inner.lines().map(str::trim).collect::<Vec<_>>().join(" ");
        // The position in the generated JSON text means nothing to the caller.
        if let Some(i) = inner.rfind(" at line ") {
            inner.truncate(i);
        }
        let key = if path == "." || path.is_empty() {
            table.to_string()
        } else {
            format!("{table}.{path}")
        };
        let msg = format!("{key}: {inner}");
        if inner.starts_with("invalid type") {
            PyTypeError::new_err(msg)
        } else {
            PyValueError::new_err(msg)
        }
    })
}

/// Parse an enumeration from its lower-case name through the library's serde names.
fn parse_enum<T: serde::de::DeserializeOwned>(
    name: &str,
    value: &str,
    accepted: &str,
) -> PyResult<T> {
    serde_json::from_value(serde_json::Value::String(value.to_string())).map_err(|_| {
        PyValueError::new_err(format!("invalid {name} = {value}: accepted {accepted}"))
    })
}

fn parse_model(s: &str) -> PyResult<Model> {
    parse_enum("model", s, "usa or sa")
}

fn parse_time(s: &str) -> PyResult<TimeUnit> {
    parse_enum("time", s, "physical or scaled")
}

fn parse_geometry(s: &str) -> PyResult<Geometry> {
    parse_enum("geometry", s, "circle, sphere or zonal")
}

/// A numpy vector from a Rust vector.
fn arr1<'py>(py: Python<'py>, v: Vec<f64>) -> Bound<'py, PyAny> {
    PyArray1::from_vec(py, v).into_any()
}

/// A numpy array of `shape` from row-major `v`.
fn arr_nd<'py>(py: Python<'py>, v: Vec<f64>, shape: &[usize]) -> PyResult<Bound<'py, PyAny>> {
    Ok(PyArray1::from_vec(py, v)
        .reshape(shape.to_vec())?
        .into_any())
}

/// Run `work` on a worker thread with the GIL released. The calling thread wakes every 50 ms
/// (or when the work ends) to check for signals — a `KeyboardInterrupt` sets the stop flag, the
/// run stops after its current step and the interrupt is raised — and to pass the latest
/// progress `(fraction, message)` to `progress`.
fn run_controlled<T: Send>(
    py: Python<'_>,
    progress: Option<Py<PyAny>>,
    checkpoint_every: Option<f64>,
    work: impl FnOnce(&RunControl) -> attnflow::Result<T> + Send,
) -> PyResult<T> {
    let stop = StopFlag::new();
    let latest: Arc<Mutex<Option<(f64, String)>>> = Arc::new(Mutex::new(None));
    let mut ctl = RunControl::new().with_stop_flag(stop.clone());
    if let Some(s) = checkpoint_every {
        ctl.set_checkpoint_every(s);
    }
    if progress.is_some() {
        let sink = Arc::clone(&latest);
        ctl = ctl.with_progress(Box::new(move |f, m| {
            if let Ok(mut g) = sink.lock() {
                *g = Some((f, m.to_string()));
            }
        }));
    }
    let ctl = &ctl;
    let mut pending: Option<PyErr> = None;
    let result = std::thread::scope(|scope| {
        let finished = Arc::new((Mutex::new(false), Condvar::new()));
        let signal = Arc::clone(&finished);
        let handle = scope.spawn(move || {
            // Tell the waiting thread even if the work panics.
            struct Done(Arc<(Mutex<bool>, Condvar)>);
            impl Drop for Done {
                fn drop(&mut self) {
                    let (m, c) = &*self.0;
                    *m.lock().unwrap_or_else(|e| e.into_inner()) = true;
                    c.notify_all();
                }
            }
            let _done = Done(signal);
            work(ctl)
        });
        loop {
            let done = py.detach(|| {
                let (m, c) = &*finished;
                let g = m.lock().unwrap_or_else(|e| e.into_inner());
                let (g, _) = c
                    .wait_timeout_while(g, Duration::from_millis(50), |d| !*d)
                    .unwrap_or_else(|e| e.into_inner());
                *g
            });
            if let Some(cb) = &progress {
                let msg = latest.lock().ok().and_then(|mut g| g.take());
                if let (Some((f, m)), None) = (msg, &pending) {
                    if let Err(e) = cb.call1(py, (f, m)) {
                        stop.request();
                        pending = Some(e);
                    }
                }
            }
            if done {
                break;
            }
            if pending.is_none() {
                if let Err(e) = py.check_signals() {
                    stop.request();
                    pending = Some(e);
                }
            }
        }
        py.detach(|| handle.join())
    });
    let result = match result {
        Ok(r) => r,
        Err(_) => {
            return Err(PyRuntimeError::new_err(
                "attnflow: the computation panicked",
            ))
        }
    };
    match (result, pending) {
        // The Python exception (KeyboardInterrupt, or the callback's error) wins over the
        // library's "interrupted" error it caused.
        (Err(Error::Interrupted(m)), Some(e)) => {
            if m.is_empty() || !e.is_instance_of::<PyKeyboardInterrupt>(py) {
                Err(e)
            } else {
                Err(PyKeyboardInterrupt::new_err(format!("interrupted: {m}")))
            }
        }
        (Err(e), _) => Err(py_err(e)),
        (Ok(_), Some(e)) => Err(e),
        (Ok(v), None) => Ok(v),
    }
}

/// Linear theory: `l`, `ln lambda_l`, `gamma_l` (NaN where not representable), `ln gamma_l`
/// (NaN at `l = 0`) and `l*`, exactly as `attnflow linear --format json`.
#[pyfunction]
#[pyo3(signature = (dim, beta, model, lmax, time))]
fn linear_spectrum<'py>(
    py: Python<'py>,
    dim: i64,
    beta: f64,
    model: &str,
    lmax: Option<i64>,
    time: &str,
) -> PyResult<Bound<'py, PyDict>> {
    let dim = check_dim(dim).map_err(py_err)?;
    let beta = linear::check_beta(beta).map_err(py_err)?;
    let model = parse_model(model)?;
    let time = parse_time(time)?;
    let dominant = linear::dominant_degree(beta, dim);
    let lmax = match lmax {
        None => (3 * dominant + 10).min(MAX_DEGREE),
        Some(l) => check_degree(l).map_err(py_err)?,
    };
    let (mut ls, mut ll, mut rate, mut lr) = (vec![], vec![], vec![], vec![]);
    for l in 0..=lmax {
        let log_rate = linear::ln_growth_rate(l, beta, dim, model, time);
        let r = log_rate.map(f64::exp).filter(|r| r.is_finite());
        ls.push(l as f64);
        ll.push(linear::ln_funk_hecke_eigenvalue(l, beta, dim));
        rate.push(if l == 0 { 0.0 } else { r.unwrap_or(f64::NAN) });
        lr.push(log_rate.unwrap_or(f64::NAN));
    }
    let d = PyDict::new(py);
    d.set_item("l", arr1(py, ls))?;
    d.set_item("log_lambda", arr1(py, ll))?;
    d.set_item("rate", arr1(py, rate))?;
    d.set_item("log_rate", arr1(py, lr))?;
    d.set_item("dominant", dominant)?;
    d.set_item("dim", dim)?;
    d.set_item("beta", beta)?;
    Ok(d)
}

/// `l*(beta)` for each beta.
#[pyfunction]
fn dominant_degrees(dim: i64, betas: Vec<f64>) -> PyResult<Vec<usize>> {
    let dim = check_dim(dim).map_err(py_err)?;
    betas
        .into_iter()
        .map(|b| {
            linear::check_beta(b)
                .map(|b| linear::dominant_degree(b, dim))
                .map_err(py_err)
        })
        .collect()
}

/// The first `k` thresholds `beta_k` where `l*` moves from `k` to `k + 1`.
#[pyfunction]
fn thresholds(py: Python<'_>, dim: i64, k: i64) -> PyResult<Bound<'_, PyAny>> {
    let dim = check_dim(dim).map_err(py_err)?;
    if !(1..=200).contains(&k) {
        return Err(py_err(Error::parameter("k", k, "an integer in [1, 200]")));
    }
    let v = py.detach(|| linear::thresholds(k as usize, dim));
    Ok(arr1(py, v))
}

/// `ln lambda_l` (Funk–Hecke eigenvalues of `exp(beta <x,y>)`), `l = 0..=lmax`.
#[pyfunction]
fn funk_hecke<'py>(py: Python<'py>, dim: i64, beta: f64, lmax: i64) -> PyResult<Bound<'py, PyAny>> {
    let dim = check_dim(dim).map_err(py_err)?;
    let beta = linear::check_beta(beta).map_err(py_err)?;
    let lmax = check_degree(lmax).map_err(py_err)?;
    let v = (0..=lmax)
        .map(|l| linear::ln_funk_hecke_eigenvalue(l, beta, dim))
        .collect();
    Ok(arr1(py, v))
}

/// Rows of a `(N, d)` array as a checked token state (normalised; returns how many rows were
/// not unit vectors).
fn tokens(x: &PyReadonlyArray2<'_, f64>, name: &str) -> PyResult<(TokenState, usize)> {
    let shape = x.shape();
    let (n, d) = (shape[0], shape[1]);
    let data = x
        .as_slice()
        .map_err(|_| PyValueError::new_err(format!("{name}: expected a C-contiguous array")))?;
    if n < 1 {
        return Err(PyValueError::new_err(format!(
            "invalid {name}: an array of shape (N, d) with N >= 1 rows (got shape ({n}, {d}))"
        )));
    }
    if !(2..=linear::MAX_DIM).contains(&d) {
        return Err(PyValueError::new_err(format!(
            "invalid {name}: an array of shape (N, d) with 2 <= d <= {} columns (got shape ({n}, {d}))",
            linear::MAX_DIM
        )));
    }
    TokenState::from_rows(n, d, data.to_vec()).map_err(|e| match e {
        Error::Parameter {
            value, accepted, ..
        } => PyValueError::new_err(format!("invalid {name} = {value}: accepted {accepted}")),
        e => PyValueError::new_err(format!("invalid {name}: {e}")),
    })
}

/// Velocities `dx_i/d(internal time)` of the tokens `x` (unit rows) and the mean scaled kernel.
#[pyfunction]
#[pyo3(signature = (x, beta, model, method, summation_tol, mass=None))]
fn velocity<'py>(
    py: Python<'py>,
    x: PyReadonlyArray2<'py, f64>,
    beta: f64,
    model: &str,
    method: &str,
    summation_tol: f64,
    mass: Option<PyReadonlyArray1<'py, f64>>,
) -> PyResult<(Bound<'py, PyAny>, f64, usize, String)> {
    let beta = linear::check_beta(beta).map_err(py_err)?;
    let model = parse_model(model)?;
    let method: Method = parse_enum("method", method, "exact, fast or auto")?;
    let tol = attnflow::error::require_in_range("summation_tol", summation_tol, 1e-16, 1e-2)
        .map_err(py_err)?;
    let (st, normalised) = tokens(&x, "x")?;
    let mass = match &mass {
        None => None,
        Some(m) => {
            let m = m
                .as_slice()
                .map_err(|_| PyValueError::new_err("mass: expected a C-contiguous array"))?;
            if m.len() != st.n || m.iter().any(|v| !(v.is_finite() && *v >= 0.0)) {
                return Err(PyValueError::new_err(format!(
                    "invalid mass: accepted {} finite numbers >= 0 (one per row of x)",
                    st.n
                )));
            }
            let total: f64 = m.iter().sum();
            if total <= 0.0 {
                return Err(PyValueError::new_err(
                    "invalid mass: accepted masses with a positive sum",
                ));
            }
            Some(m.iter().map(|v| v / total).collect::<Vec<f64>>())
        }
    };
    let (v, mean, desc) = py
        .detach(|| -> attnflow::Result<(Vec<f64>, f64, String)> {
            let field = build_velocity_field(method, st.dim, beta, model, st.n, tol)?;
            let mut v = vec![0.0; st.x.len()];
            let mean = match &mass {
                None => field.evaluate(&st.x, &mut v),
                Some(m) => field.evaluate_weighted(&st.x, m, &mut v),
            };
            Ok((v, mean, field.description()))
        })
        .map_err(py_err)?;
    Ok((arr_nd(py, v, &[st.n, st.dim])?, mean, normalised, desc))
}

/// Harmonic power `C_0..C_lmax` of the tokens `x`.
#[pyfunction]
fn harmonic_power<'py>(
    py: Python<'py>,
    x: PyReadonlyArray2<'py, f64>,
    lmax: i64,
) -> PyResult<(Bound<'py, PyAny>, usize)> {
    let lmax = if (0..=1000).contains(&lmax) {
        lmax as usize
    } else {
        return Err(py_err(Error::parameter(
            "lmax",
            lmax,
            "an integer in [0, 1000]",
        )));
    };
    let (st, normalised) = tokens(&x, "x")?;
    let c = py.detach(|| attnflow::analysis::harmonic_power(&st.x, st.dim, lmax));
    Ok((arr1(py, c), normalised))
}

/// Check a transform degree for `geometry`.
fn transform_basis(geometry: &str, lmax: i64, dim: Option<i64>) -> PyResult<Box<dyn Basis>> {
    let g = parse_geometry(geometry)?;
    let cap = run::pde::max_lmax(g);
    if !(0..=cap as i64).contains(&lmax) {
        return Err(py_err(Error::parameter(
            "lmax",
            lmax,
            format!("an integer in [0, {cap}] for geometry = {geometry}"),
        )));
    }
    let lmax = lmax as usize;
    let dim = match (g, dim) {
        (Geometry::Circle, None | Some(2)) => 2,
        (Geometry::Sphere, None | Some(3)) => 3,
        (Geometry::Zonal, Some(d)) => check_dim(d).map_err(py_err)?,
        (Geometry::Zonal, None) => {
            return Err(py_err(Error::parameter(
                "dim",
                "(missing)",
                "an integer in [2, 1024] for geometry = zonal",
            )))
        }
        (_, Some(d)) => {
            return Err(py_err(Error::parameter(
                "dim",
                d,
                format!(
                    "{} for geometry = {geometry}",
                    if g == Geometry::Circle { 2 } else { 3 }
                ),
            )))
        }
    };
    let b: Box<dyn Basis> = match g {
        Geometry::Circle => Box::new(CircleBasis::new(lmax)),
        Geometry::Sphere => Box::new(SphereBasis::new(lmax)),
        Geometry::Zonal => {
            let b = ZonalBasis::new(lmax, dim);
            if !b.is_finite() {
                return Err(py_err(Error::parameter(
                    "lmax",
                    lmax,
                    format!("a smaller degree for dim = {dim} (zonal harmonics overflow)"),
                )));
            }
            Box::new(b)
        }
    };
    Ok(b)
}

/// Nodes of a grid as the PDE writes them (`grid_L*_nodes.npy`).
fn nodes_of(geometry: &str, lmax: usize, dim: usize) -> Vec<f64> {
    match geometry {
        "circle" => CircleBasis::new(lmax).nodes(),
        "sphere" => SphereBasis::new(lmax).nodes(),
        _ => GridNodes::nodes(&ZonalBasis::new(lmax, dim)),
    }
}

/// The grid of a basis: nodes, quadrature weights (grid shape), degree of each coefficient.
#[pyfunction]
#[pyo3(signature = (geometry, lmax, dim=None))]
fn grid<'py>(
    py: Python<'py>,
    geometry: &str,
    lmax: i64,
    dim: Option<i64>,
) -> PyResult<Bound<'py, PyDict>> {
    let b = transform_basis(geometry, lmax, dim)?;
    let d = PyDict::new(py);
    d.set_item("nodes", arr1(py, nodes_of(geometry, b.lmax(), b.dim())))?;
    d.set_item(
        "weights",
        arr_nd(py, b.grid_weights().to_vec(), &b.grid_shape())?,
    )?;
    d.set_item(
        "degrees",
        b.degrees().iter().map(|&v| v as i64).collect::<Vec<_>>(),
    )?;
    d.set_item("shape", b.grid_shape())?;
    Ok(d)
}

/// Values on the grid of the expansion with coefficients `coeffs` (degree `lmax`).
#[pyfunction]
#[pyo3(signature = (coeffs, geometry, lmax, dim=None))]
fn synthesis<'py>(
    py: Python<'py>,
    coeffs: PyReadonlyArray1<'py, f64>,
    geometry: &str,
    lmax: i64,
    dim: Option<i64>,
) -> PyResult<Bound<'py, PyAny>> {
    let b = transform_basis(geometry, lmax, dim)?;
    let c = coeffs
        .as_slice()
        .map_err(|_| PyValueError::new_err("coeffs: expected a C-contiguous array"))?;
    if c.len() != b.len() {
        return Err(PyValueError::new_err(format!(
            "invalid coeffs: accepted {} coefficients for geometry = {geometry}, lmax = {} (got {})",
            b.len(),
            b.lmax(),
            c.len()
        )));
    }
    let c = c.to_vec();
    let g = py.detach(|| {
        let mut g = vec![0.0; b.grid_len()];
        b.synthesize(&c, &mut g);
        g
    });
    arr_nd(py, g, &b.grid_shape())
}

/// Coefficients (degree `lmax`) of the grid values `values` (quadrature on the basis' grid).
#[pyfunction]
#[pyo3(signature = (values, geometry, lmax, dim=None))]
fn analysis<'py>(
    py: Python<'py>,
    values: PyReadonlyArray1<'py, f64>,
    geometry: &str,
    lmax: i64,
    dim: Option<i64>,
) -> PyResult<Bound<'py, PyAny>> {
    let b = transform_basis(geometry, lmax, dim)?;
    let g = values
        .as_slice()
        .map_err(|_| PyValueError::new_err("values: expected a C-contiguous array"))?;
    if g.len() != b.grid_len() {
        return Err(PyValueError::new_err(format!(
            "invalid values: accepted an array of shape {:?} for geometry = {geometry}, lmax = {} (got {} values)",
            b.grid_shape(),
            b.lmax(),
            g.len()
        )));
    }
    let g = g.to_vec();
    let c = py.detach(|| {
        let mut c = vec![0.0; b.len()];
        b.analyze(&g, &mut c);
        c
    });
    Ok(arr1(py, c))
}

/// Resolve a run specification (`{"particles": {...}}`, `{"pde": {...}}` or
/// `{"compare": {"<name>": {...}}}` as JSON): the resolved specification as JSON and the
/// warnings of its plan.
#[pyfunction]
fn resolve(spec_json: &str) -> PyResult<(String, Vec<String>)> {
    let spec: RunSpec = from_json(spec_json, "spec")?;
    let (resolved, plan) = spec.resolve().map_err(py_err)?;
    Ok((
        serde_json::to_string(&resolved).map_err(|e| PyRuntimeError::new_err(e.to_string()))?,
        plan.warnings(),
    ))
}

/// Run a specification into its output directory exactly as `attnflow run` does; returns
/// `(kind, status, summary, out)`.
#[pyfunction]
#[pyo3(signature = (spec_json, overwrite=false, progress=None))]
fn execute(
    py: Python<'_>,
    spec_json: &str,
    overwrite: bool,
    progress: Option<Py<PyAny>>,
) -> PyResult<(String, String, String, String)> {
    let spec: RunSpec = from_json(spec_json, "spec")?;
    let (resolved, _) = spec.resolve().map_err(py_err)?;
    let every = resolved.checkpoint_every();
    let o = run_controlled(py, progress, Some(every), |ctl| {
        run::execute(&spec, ctl, overwrite)
    })?;
    Ok((
        o.kind,
        o.status.name().to_string(),
        o.summary,
        o.out.display().to_string(),
    ))
}

/// Continue the run in `out` (as `attnflow resume`).
#[pyfunction]
#[pyo3(signature = (out, progress=None))]
fn resume(
    py: Python<'_>,
    out: PathBuf,
    progress: Option<Py<PyAny>>,
) -> PyResult<(String, String, String, String)> {
    let o = run_controlled(py, progress, None, |ctl| run::resume(&out, ctl))?;
    Ok((
        o.kind,
        o.status.name().to_string(),
        o.summary,
        o.out.display().to_string(),
    ))
}

/// A particle run in memory. `spec_json` is the `[particles]` table as JSON; `init` an optional
/// `(N, d)` initial state. Returns a dict of arrays (see `attnflow.particles`).
#[pyfunction]
#[pyo3(signature = (spec_json, init=None, progress=None))]
fn run_particles<'py>(
    py: Python<'py>,
    spec_json: &str,
    init: Option<PyReadonlyArray2<'py, f64>>,
    progress: Option<Py<PyAny>>,
) -> PyResult<Bound<'py, PyDict>> {
    let mut spec: ParticlesSpec = from_json(spec_json, "particles")?;
    let state = match &init {
        None => None,
        Some(a) => {
            if spec.init.is_some() {
                return Err(PyValueError::new_err(
                    "invalid init: accepted either an array or a file path, not both",
                ));
            }
            let (st, k) = tokens(a, "init")?;
            if let Some(d) = spec.dim {
                if d != st.dim {
                    return Err(py_err(Error::parameter(
                        "particles.dim",
                        d,
                        format!("the number of columns of init ({})", st.dim),
                    )));
                }
            }
            if let Some(n) = spec.n {
                if n != st.n {
                    return Err(py_err(Error::parameter(
                        "particles.n",
                        n,
                        format!("the number of rows of init ({})", st.n),
                    )));
                }
            }
            spec.dim = Some(st.dim);
            spec.n = Some(st.n);
            Some((st, k))
        }
    };
    let mut plan = spec
        .resolve()
        .map_err(|e| py_err(e.in_table("particles")))?;
    let mut warnings = Vec::new();
    if let Some((st, k)) = state {
        plan.init = Some(st);
        plan.init_rows_normalised = k;
        if k > 0 {
            warnings.push(format!(
                "{k} rows of init were not unit vectors and were normalised"
            ));
        }
    } else if plan.init_rows_normalised > 0 {
        warnings.push(format!(
            "{} rows of the init file were not unit vectors and were normalised",
            plan.init_rows_normalised
        ));
    }
    let every = plan.spec.checkpoint_every;
    let plan_ref = &plan;
    let out = run_controlled(py, progress, every, |ctl| {
        run::memory::particles_in_memory(plan_ref, ctl)
    })?;
    let (n, dim) = (plan.n, plan.dim);
    let d = PyDict::new(py);
    d.set_item(
        "spec",
        serde_json::to_string(&plan.spec).map_err(|e| PyRuntimeError::new_err(e.to_string()))?,
    )?;
    d.set_item("method", out.method.clone())?;
    d.set_item(
        "columns",
        run::particles::series_columns(plan.cfg.lmax_power),
    )?;
    d.set_item("warnings", warnings)?;
    let systems = PyList::empty(py);
    for sys in out.systems {
        let s = PyDict::new(py);
        let width = sys.series.first().map_or(0, Vec::len);
        let rows = sys.series.len();
        s.set_item(
            "series",
            arr_nd(
                py,
                sys.series.into_iter().flatten().collect(),
                &[rows, width],
            )?,
        )?;
        let k = sys.snapshots.len();
        s.set_item(
            "snapshot_step",
            sys.snapshots
                .iter()
                .map(|x| x.step as i64)
                .collect::<Vec<_>>(),
        )?;
        s.set_item(
            "snapshot_t",
            arr1(py, sys.snapshots.iter().map(|x| x.t).collect()),
        )?;
        s.set_item(
            "snapshot_tau",
            arr1(py, sys.snapshots.iter().map(|x| x.tau).collect()),
        )?;
        let mut flat = Vec::with_capacity(k * n * dim);
        for x in sys.snapshots {
            flat.extend(x.x);
        }
        s.set_item("snapshots", arr_nd(py, flat, &[k, n, dim])?)?;
        s.set_item("steps", sys.steps)?;
        s.set_item("rejected_steps", sys.rejected)?;
        s.set_item("max_energy_identity_error", sys.max_identity_error)?;
        s.set_item("final_cluster_sizes", sys.final_cluster_sizes)?;
        s.set_item("merges", sys.merges.len())?;
        systems.append(s)?;
    }
    d.set_item("systems", systems)?;
    Ok(d)
}

/// A PDE run in memory. `spec_json` is the `[pde]` table as JSON. Returns a dict of arrays (see
/// `attnflow.pde`).
#[pyfunction]
#[pyo3(signature = (spec_json, progress=None))]
fn run_pde<'py>(
    py: Python<'py>,
    spec_json: &str,
    progress: Option<Py<PyAny>>,
) -> PyResult<Bound<'py, PyDict>> {
    let spec: PdeSpec = from_json(spec_json, "pde")?;
    let plan = spec.resolve().map_err(|e| py_err(e.in_table("pde")))?;
    let plan_ref = &plan;
    let out = run_controlled(py, progress, plan.spec.checkpoint_every, |ctl| {
        run::pde::execute(plan_ref, None, None, ctl, false)
    })?;
    let geometry = plan.geometry.name();
    let d = PyDict::new(py);
    d.set_item(
        "spec",
        serde_json::to_string(&plan.spec).map_err(|e| PyRuntimeError::new_err(e.to_string()))?,
    )?;
    d.set_item("warnings", plan.warnings.clone())?;
    d.set_item("geometry", geometry)?;
    d.set_item("columns", run::pde::series_columns(plan.lmax_power))?;
    d.set_item(
        "summary",
        serde_json::to_string(&out.summary).map_err(|e| PyRuntimeError::new_err(e.to_string()))?,
    )?;
    let rows = out.frames.len();
    let width = out.frames.first().map_or(0, |f| f.row.len());
    let frames = PyList::empty(py);
    let mut lmaxes = Vec::new();
    let mut series = Vec::with_capacity(rows * width);
    for f in out.frames {
        series.extend_from_slice(&f.row);
        let fr = PyDict::new(py);
        fr.set_item("lmax", f.lmax)?;
        fr.set_item("coefficients", arr1(py, f.coefficients))?;
        if f.density.is_empty() {
            fr.set_item("density", py.None())?;
        } else {
            fr.set_item("density", arr_nd(py, f.density, &f.grid_shape)?)?;
        }
        if !lmaxes.contains(&f.lmax) {
            lmaxes.push(f.lmax);
        }
        frames.append(fr)?;
    }
    d.set_item("series", arr_nd(py, series, &[rows, width])?)?;
    d.set_item("frames", frames)?;
    let grids = PyDict::new(py);
    for l in lmaxes {
        let g = PyDict::new(py);
        let b = transform_basis(geometry, l as i64, Some(plan.dim as i64))?;
        g.set_item("nodes", arr1(py, nodes_of(geometry, l, plan.dim)))?;
        g.set_item(
            "weights",
            arr_nd(py, b.grid_weights().to_vec(), &b.grid_shape())?,
        )?;
        g.set_item(
            "degrees",
            b.degrees().iter().map(|&v| v as i64).collect::<Vec<_>>(),
        )?;
        grids.set_item(l, g)?;
    }
    d.set_item("grids", grids)?;
    Ok(d)
}

/// Read a config file (TOML, JSON or a `run.json` record) as `attnflow run` does; the
/// specification as JSON (unresolved).
#[pyfunction]
fn load_config(path: PathBuf) -> PyResult<String> {
    let spec = run::load_config(&path).map_err(py_err)?;
    serde_json::to_string(&spec).map_err(|e| PyRuntimeError::new_err(e.to_string()))
}

/// The library version.
#[pyfunction]
fn version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}

/// The extension module.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(linear_spectrum, m)?)?;
    m.add_function(wrap_pyfunction!(dominant_degrees, m)?)?;
    m.add_function(wrap_pyfunction!(thresholds, m)?)?;
    m.add_function(wrap_pyfunction!(funk_hecke, m)?)?;
    m.add_function(wrap_pyfunction!(velocity, m)?)?;
    m.add_function(wrap_pyfunction!(harmonic_power, m)?)?;
    m.add_function(wrap_pyfunction!(grid, m)?)?;
    m.add_function(wrap_pyfunction!(synthesis, m)?)?;
    m.add_function(wrap_pyfunction!(analysis, m)?)?;
    m.add_function(wrap_pyfunction!(resolve, m)?)?;
    m.add_function(wrap_pyfunction!(execute, m)?)?;
    m.add_function(wrap_pyfunction!(resume, m)?)?;
    m.add_function(wrap_pyfunction!(run_particles, m)?)?;
    m.add_function(wrap_pyfunction!(run_pde, m)?)?;
    m.add_function(wrap_pyfunction!(load_config, m)?)?;
    m.add_function(wrap_pyfunction!(version, m)?)?;
    Ok(())
}
