//! Refusing runaway requests before anything runs: memory estimates against the memory the
//! machine has available, disk estimates against the free space of the output directory.

use crate::particles::{RunConfig, StepControl};
use crate::{Error, Result};
use std::path::Path;

/// Bytes of memory available to a new process (`MemAvailable` of `/proc/meminfo`), if known.
pub fn available_memory() -> Option<f64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024.0)
}

/// Bytes free for an unprivileged user on the filesystem holding `path` (or its nearest
/// existing ancestor), if known.
pub fn free_disk(path: &Path) -> Option<f64> {
    let mut p = path.to_path_buf();
    while !p.exists() {
        if !p.pop() {
            return None;
        }
    }
    if p.as_os_str().is_empty() {
        p = std::path::PathBuf::from(".");
    }
    let c = std::ffi::CString::new(p.to_string_lossy().as_bytes()).ok()?;
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: `c` is a valid NUL-terminated path and `st` a writable statvfs.
    let rc = unsafe { libc::statvfs(c.as_ptr(), &mut st) };
    if rc != 0 {
        return None;
    }
    Some(st.f_bavail as f64 * st.f_frsize as f64)
}

fn gib(bytes: f64) -> String {
    format!("{:.1} GiB", bytes / (1u64 << 30) as f64)
}

/// Refuse an estimate above 90% of the available memory.
pub fn check_memory(what: &str, bytes: f64) -> Result<()> {
    match available_memory() {
        Some(avail) if bytes > 0.9 * avail => Err(Error::Resources(format!(
            "{what} needs about {} of memory; this machine has {} available",
            gib(bytes),
            gib(avail)
        ))),
        _ if !bytes.is_finite() => Err(Error::Resources(format!(
            "{what}: the memory needed is not representable"
        ))),
        _ => Ok(()),
    }
}

/// Refuse an estimate above the free space of `dir`'s filesystem.
pub fn check_disk(what: &str, bytes: f64, dir: &Path) -> Result<()> {
    match free_disk(dir) {
        Some(free) if bytes > free => Err(Error::Resources(format!(
            "{what} would write about {} into {}; its filesystem has {} free",
            gib(bytes),
            dir.display(),
            gib(free)
        ))),
        _ => Ok(()),
    }
}

/// Memory of a particle run: per system in flight (one per thread) the integrator's arrays
/// (state, velocity, stages, scratch: about 12 `N x d` arrays for Dormand–Prince, 8 for RK4)
/// and the summation's (two `N x (d+1)` arrays); for every system the recorded rows and the
/// final state.
pub fn particles_memory(n: usize, dim: usize, ensemble: usize, cfg: &RunConfig) -> f64 {
    let (nf, df, mf) = (n as f64, dim as f64, ensemble as f64);
    let arrays = match cfg.control {
        StepControl::Euler { .. } => 5.0,
        StepControl::Rk4 { .. } => 8.0,
        StepControl::DormandPrince { .. } => 12.0,
    };
    let in_flight = mf.min(rayon::current_num_threads() as f64);
    let per_system = 8.0 * nf * (arrays * df + 2.0 * (df + 1.0));
    let rows = (cfg.series_points as f64 + 2.0) * (cfg.lmax_power as f64 + 8.0) * 8.0;
    in_flight * per_system + mf * (rows + 8.0 * nf * df)
}

/// Refuse a particle run whose memory estimate exceeds the machine.
pub fn check_particles(n: usize, dim: usize, ensemble: usize, cfg: &RunConfig) -> Result<()> {
    let bytes = particles_memory(n, dim, ensemble, cfg);
    check_memory(
        &format!("a particle run of {ensemble} system(s) of N = {n} tokens in d = {dim} with {} diagnostics rows", cfg.series_points + 1),
        bytes,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runaway_particle_runs_are_refused_with_the_estimate() {
        let cfg = RunConfig {
            t_end: 1.0,
            control: StepControl::DormandPrince {
                tol: super::super::particles::DEFAULT_TOL,
            },
            lmax_power: 16,
            save_every: None,
            series_points: 200,
            spacing: crate::particles::RowSpacing::Linear,
            merge_radius: crate::particles::COINCIDENT_CHORD,
            clusters: Default::default(),
        };
        if available_memory().is_some() {
            let e = check_particles(1_000_000_000_000, 3, 1, &cfg)
                .unwrap_err()
                .to_string();
            assert!(e.contains("GiB") && e.contains("available"), "{e}");
        }
        assert!(check_particles(1000, 3, 1, &cfg).is_ok());
        assert!(free_disk(Path::new("/definitely/not/here")).is_some());
    }
}
