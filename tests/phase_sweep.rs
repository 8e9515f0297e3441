//! `compare phase` sharded through sweeps: a sweep over `beta_index` (one column of the heat
//! map per point) run whole, in 3 shards (`--shard`) and by the SLURM array variables, merged
//! by `attnflow merge`: the merged heat maps (`phase_d<dim>.npy`) are the same bytes as the
//! unsharded `compare phase` run's, and the merged directories are identical.

use std::path::{Path, PathBuf};
use std::process::Command;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_attnflow"))
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "attnflow_phase_sweep_{}_{name}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

const SETTING: [&str; 12] = [
    "--dims",
    "2,3",
    "--n",
    "12",
    "--systems",
    "5",
    "--betas",
    "6",
    "--t-end",
    "6",
    "--steps",
    "12",
];

const SWEEP: &str = "[compare.phase]
dims = [2, 3]
n = 12
systems = 5
betas = 6
t_end = 6.0
steps = 12

[sweep]
beta_index = { range = [0, 6] }
";

fn run(cmd: &mut Command) -> std::process::Output {
    let o = cmd.output().unwrap();
    assert!(
        o.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    o
}

fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect();
    v.sort();
    v
}

#[test]
fn sharded_phase_sweep_merges_to_the_unsharded_heat_map() {
    let root = tmp("shards");
    let sweep = root.join("sweep.toml");
    std::fs::write(&sweep, SWEEP).unwrap();
    let whole = root.join("whole");
    run(bin()
        .args(["compare", "phase"])
        .args(SETTING)
        .arg("--out")
        .arg(&whole));

    // Unsharded sweep.
    let un = root.join("un");
    run(bin().arg("sweep").arg(&sweep).arg("--out").arg(&un));
    run(bin().arg("merge").arg(&un));
    // Three shards by --shard.
    let sh = root.join("sh");
    for i in 0..3 {
        run(bin()
            .arg("sweep")
            .arg(&sweep)
            .arg("--out")
            .arg(&sh)
            .arg("--shard")
            .arg(format!("{i}/3")));
    }
    run(bin().arg("merge").arg(&sh));
    // Three shards by the SLURM array variables (ids 5..7).
    let sl = root.join("slurm");
    for id in 5..8 {
        run(bin()
            .arg("sweep")
            .arg(&sweep)
            .arg("--out")
            .arg(&sl)
            .env("SLURM_ARRAY_TASK_ID", id.to_string())
            .env("SLURM_ARRAY_TASK_MIN", "5")
            .env("SLURM_ARRAY_TASK_COUNT", "3"));
    }
    run(bin().arg("merge").arg(&sl));

    let merged = files(&un.join("merged"));
    assert!(merged.iter().any(|(n, _)| n == "phase_d2.png"));
    assert_eq!(merged, files(&sh.join("merged")), "--shard");
    assert_eq!(merged, files(&sl.join("merged")), "SLURM variables");
    for dim in [2, 3] {
        let name = format!("phase_d{dim}.npy");
        let a = std::fs::read(whole.join(&name)).unwrap();
        let b = std::fs::read(un.join("merged").join(&name)).unwrap();
        assert_eq!(a, b, "{name}: merged sweep vs unsharded compare phase");
        // The array is the heat map: 13 x 6 float64 values in [0, 1] after the header, and
        // they move (not a constant).
        let v: Vec<f64> = b[b.len() - 13 * 6 * 8..]
            .chunks(8)
            .map(|c| f64::from_le_bytes(c.try_into().unwrap()))
            .collect();
        assert!(v.iter().all(|x| (0.0..=1.0).contains(x)));
        assert!(v[12 * 6] > v[0], "{v:?}");
    }

    // A shard missing: merge names it (exit 4) and its columns are NaN.
    let part = root.join("part");
    for i in 0..2 {
        run(bin()
            .arg("sweep")
            .arg(&sweep)
            .arg("--out")
            .arg(&part)
            .arg("--shard")
            .arg(format!("{i}/3")));
    }
    let o = bin().arg("merge").arg(&part).output().unwrap();
    assert_eq!(o.status.code(), Some(4));
    let b = std::fs::read(part.join("merged/phase_d2.npy")).unwrap();
    let v: Vec<f64> = b[b.len() - 13 * 6 * 8..]
        .chunks(8)
        .map(|c| f64::from_le_bytes(c.try_into().unwrap()))
        .collect();
    for k in 0..13 {
        for c in 0..6 {
            assert_eq!(v[k * 6 + c].is_nan(), c % 3 == 2, "time {k} column {c}");
        }
    }
    std::fs::remove_dir_all(&root).ok();
}

/// A beta index outside the grid: one line naming the parameter, exit 2, nothing run.
#[test]
fn bad_beta_index_is_one_line() {
    let root = tmp("bad");
    let o = bin()
        .args([
            "compare",
            "phase",
            "--betas",
            "6",
            "--beta-index",
            "6",
            "--out",
        ])
        .arg(root.join("x"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let e = String::from_utf8_lossy(&o.stderr);
    assert_eq!(e.trim().lines().count(), 1, "{e}");
    assert!(e.contains("beta-index") && e.contains("0 to 5"), "{e}");
    let sweep = root.join("s.toml");
    std::fs::write(&sweep, SWEEP.replace("[0, 6]", "[0, 7]")).unwrap();
    let o = bin()
        .arg("sweep")
        .arg(&sweep)
        .arg("--out")
        .arg(root.join("s"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let e = String::from_utf8_lossy(&o.stderr);
    assert_eq!(e.trim().lines().count(), 1, "{e}");
    assert!(e.contains("beta_index"), "{e}");
    std::fs::remove_dir_all(&root).ok();
}
