//! `run::memory::particles_in_memory` (the in-memory runs of the Python package) integrates
//! exactly what the file executor integrates: its rows equal the lines of `series.csv` and its
//! saved states equal the `x_<step>.npy` files, bit for bit, for single systems and ensembles.

use attnflow::control::RunControl;
use attnflow::io::read_npy_f64;
use attnflow::run::memory::particles_in_memory;
use attnflow::run::outdir::read_table;
use attnflow::run::{self, parse_config, RunSpec};
use std::path::{Path, PathBuf};

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("attnflow-run-memory-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn check(name: &str, text: &str) {
    let spec = parse_config(Path::new("c.toml"), text, false).unwrap();
    let out = scratch(name);
    let mut with_out = spec.clone();
    *with_out.out_mut() = Some(out.clone());
    run::execute(&with_out, &RunControl::new(), false).unwrap();
    let plan = match spec {
        RunSpec::Particles(p) => p.resolve().unwrap(),
        _ => unreachable!(),
    };
    let mem = particles_in_memory(&plan, &RunControl::new()).unwrap();
    let (header, rows) = read_table(&out.join("series.csv")).unwrap();
    let m = plan.ensemble;
    let offset = usize::from(m > 1);
    assert_eq!(header.len(), offset + mem.systems[0].series[0].len());
    let mut k = 0;
    for (s, sys) in mem.systems.iter().enumerate() {
        for row in &sys.series {
            let file = &rows[k][offset..];
            assert_eq!(file.len(), row.len());
            for (a, b) in file.iter().zip(row) {
                assert!(
                    a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan()),
                    "{name} system {s}"
                );
            }
            k += 1;
        }
        assert!(sys.snapshots.len() >= 2);
        for snap in &sys.snapshots {
            let file = if m > 1 {
                format!("x_s{s}_{:06}.npy", snap.step)
            } else {
                format!("x_{:06}.npy", snap.step)
            };
            let a = read_npy_f64(&out.join(file)).unwrap();
            assert_eq!(a.shape, vec![plan.n, plan.dim]);
            assert!(a
                .data
                .iter()
                .zip(&snap.x)
                .all(|(a, b)| a.to_bits() == b.to_bits()));
        }
    }
    assert_eq!(k, rows.len());
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn in_memory_particle_runs_equal_the_file_runs_bit_for_bit() {
    // Stochastic particles (nu > 0): the same noise stream per system.
    check(
        "noise",
        "[particles]\ndim = 3\nn = 200\nbeta = 4.0\nnu = 0.5\nseed = 5\nensemble = 2\nt_end = 0.5\nseries_points = 10\n",
    );
    check(
        "adaptive",
        "[particles]\ndim = 2\nn = 300\nbeta = 4.0\nseed = 3\nsave_every = 20\nseries_points = 20\n",
    );
    check(
        "ensemble",
        "[particles]\ndim = 3\nn = 100\nbeta = 6.0\nmodel = \"sa\"\ndt = 0.05\nt_end = 1.0\nensemble = 2\nmethod = \"exact\"\nsave_every = 7\n",
    );
}
