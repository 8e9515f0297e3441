//! A ready `sbatch` script for running a sweep as a SLURM job array.
//!
//! Every task of the array runs `attnflow sweep FILE --out DIR` with no `--shard`: the task
//! reads its shard from `SLURM_ARRAY_TASK_ID` / `SLURM_ARRAY_TASK_COUNT` / `SLURM_ARRAY_TASK_MIN`
//! (see [`super::Shard::from_slurm`]). Re-submitting the same script after a time limit or a
//! node failure runs only what is missing.

use crate::{Error, Result};
use std::path::PathBuf;

/// What goes into the script.
#[derive(Clone, Debug)]
pub struct SbatchOptions {
    /// The attnflow executable (absolute path).
    pub exe: PathBuf,
    /// The sweep file (absolute path).
    pub sweep_file: PathBuf,
    /// The sweep directory (absolute path); logs go to `DIR/logs/`.
    pub dir: PathBuf,
    /// Number of array tasks (shards).
    pub tasks: usize,
    /// Wall-clock limit per task, SLURM format (`HH:MM:SS`, `D-HH:MM:SS`, minutes).
    pub time: String,
    /// CPUs per task (also the number of threads attnflow uses).
    pub cpus_per_task: usize,
    /// Job name.
    pub job_name: String,
    /// Number of points of the sweep (for the comment and the check on `tasks`).
    pub points: usize,
}

/// Quote `s` for bash (single quotes).
fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// Check a SLURM time limit: `M`, `M:S`, `H:M:S`, `D-H`, `D-H:M`, `D-H:M:S` (digits).
pub fn check_time(t: &str) -> Result<()> {
    let bad = || {
        Error::parameter(
            "time",
            t,
            "a SLURM time limit: minutes, MM:SS, HH:MM:SS, D-HH, D-HH:MM or D-HH:MM:SS",
        )
    };
    let (days, rest) = match t.split_once('-') {
        Some((d, r)) => (Some(d), r),
        None => (None, t),
    };
    let parts: Vec<&str> = rest.split(':').collect();
    let digits = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_digit());
    if days.is_some_and(|d| !digits(d)) || parts.len() > 3 || !parts.iter().all(|p| digits(p)) {
        return Err(bad());
    }
    Ok(())
}

/// The script text. Errors: `tasks` not in `[1, points]`, `cpus_per_task == 0`, a bad time
/// limit, a job name with characters other than letters, digits, `-`, `_`, `.`.
pub fn sbatch_script(o: &SbatchOptions) -> Result<String> {
    if o.tasks == 0 || o.tasks > o.points.max(1) {
        return Err(Error::parameter(
            "tasks",
            o.tasks,
            format!("an integer in [1, {}] (the number of points)", o.points),
        ));
    }
    if o.cpus_per_task == 0 {
        return Err(Error::parameter("cpus_per_task", 0, "an integer >= 1"));
    }
    check_time(&o.time)?;
    if o.job_name.is_empty()
        || !o
            .job_name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
    {
        return Err(Error::parameter(
            "job_name",
            &o.job_name,
            "letters, digits, '-', '_' and '.'",
        ));
    }
    let logs = o.dir.join("logs");
    if logs.to_string_lossy().chars().any(char::is_whitespace) {
        return Err(Error::parameter(
            "out",
            o.dir.display(),
            "a directory path without spaces for a SLURM job array (#SBATCH --output cannot quote it)",
        ));
    }
    let per = o.points.div_ceil(o.tasks);
    Ok(format!(
        "#!/bin/bash
# attnflow sweep as a SLURM job array: {points} points in {tasks} tasks (round-robin: task i runs
# the points p with p mod {tasks} = i, at most {per} each). Edit the limits to your cluster, then:
#     sbatch {script}
# Re-submitting after a time limit or a failure runs only the points that are missing
# (completed points are skipped, interrupted ones resume from their checkpoints).
# When every task has finished: {exe_q} merge {dir_q}
#SBATCH --job-name={name}
#SBATCH --array=0-{last}
#SBATCH --time={time}
#SBATCH --cpus-per-task={cpus}
#SBATCH --ntasks=1
#SBATCH --output={logs}/%A_%a.out
#SBATCH --error={logs}/%A_%a.err
set -euo pipefail
export RAYON_NUM_THREADS=\"${{SLURM_CPUS_PER_TASK:-{cpus}}}\"
# The shard comes from SLURM_ARRAY_TASK_ID / SLURM_ARRAY_TASK_COUNT / SLURM_ARRAY_TASK_MIN.
exec {exe_q} sweep {file_q} --out {dir_q}
",
        points = o.points,
        tasks = o.tasks,
        per = per,
        script = o.dir.join("sweep.sbatch").display(),
        exe_q = quote(&o.exe.to_string_lossy()),
        dir_q = quote(&o.dir.to_string_lossy()),
        file_q = quote(&o.sweep_file.to_string_lossy()),
        name = o.job_name,
        last = o.tasks - 1,
        time = o.time,
        cpus = o.cpus_per_task,
        logs = logs.display(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_limits_in_slurm_formats() {
        for t in ["30", "30:00", "01:00:00", "2-00", "2-12:00", "1-00:00:00"] {
            assert!(check_time(t).is_ok(), "{t}");
        }
        for t in ["", "1h", "1:2:3:4", "-1", "a-01:00", "01::00"] {
            assert!(check_time(t).is_err(), "{t}");
        }
    }

    #[test]
    fn quoting_survives_quotes() {
        assert_eq!(quote("a'b"), "'a'\\''b'");
    }
}
