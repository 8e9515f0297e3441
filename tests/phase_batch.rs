//! The batched small-system integrator of `compare phase` (`attnflow::particles::batch`)
//! against one `Integrator` per system (the exact field), which is an independent route: a
//! different summation (tiled, row sums in other orders), a different state layout, one system
//! at a time.

use attnflow::compare::phase::{
    clustered_pair_fraction, column, column_on, column_reference, PhaseSetup,
};
use attnflow::particles::batch::{
    group_width_on, integrate_group_on, pair_fractions_on, BatchSpec,
};
use attnflow::particles::{build_velocity_field, Integrator, Method, StepControl, TokenState};
use attnflow::spectral::simd::SimdPath;
use attnflow::Model;

fn setup(model: Model, control: StepControl, systems: usize) -> PhaseSetup {
    PhaseSetup {
        dims: vec![2],
        n: 12,
        systems,
        betas: vec![1.0],
        t_end: 8.0,
        steps: 16,
        model,
        eps: 1e-3,
        seed: 7,
        control,
        beta_index: None,
    }
}

/// Final states of every system agree with the per-system integrator to within a small multiple
/// of the tolerance (dopri5) or rounding (fixed steps), for SA and USA, several d (2, 3, 4 with
/// unrolled loops, 7 generic), and a group that is not full, on every instruction set this
/// processor has (AVX-512: 8 lanes, AVX2: 4, portable: 1).
#[test]
fn states_match_per_system_integrator() {
    for path in SimdPath::available() {
        states_match_on(path);
    }
}

fn states_match_on(path: SimdPath) {
    let controls = [
        (StepControl::DormandPrince { tol: 1e-10 }, 1e-7),
        (StepControl::Euler { dt: 0.1 }, 1e-11),
        (StepControl::Rk4 { dt: 0.05 }, 1e-11),
    ];
    for model in [Model::Sa, Model::Usa] {
        for dim in [2, 3, 4, 7] {
            for &(control, bound) in &controls {
                let (n, beta) = (10, 2.5);
                let times = [0.0, 0.7, 3.0, 6.0];
                let gw = group_width_on(path);
                let systems = gw.max(2) + 1; // two groups, the last one partial
                let spec = BatchSpec {
                    n,
                    dim,
                    beta,
                    model,
                    control,
                    times: &times,
                };
                let field =
                    build_velocity_field(Method::Exact, dim, beta, model, n, 1e-12).unwrap();
                for g0 in (0..systems).step_by(gw) {
                    let g1 = (g0 + gw).min(systems);
                    let x0: Vec<Vec<f64>> = (g0..g1)
                        .map(|s| TokenState::uniform(n, dim, 3, s as u64).x)
                        .collect();
                    let mut worst: f64 = 0.0;
                    let mut seen = 0;
                    let mut refs: Vec<Integrator> = x0
                        .iter()
                        .map(|x| Integrator::new(field.as_ref(), x.clone(), control))
                        .collect();
                    // Reference states at every output time.
                    let mut expect = vec![vec![Vec::new(); times.len()]; x0.len()];
                    for (l, it) in refs.iter_mut().enumerate() {
                        for (k, &t) in times.iter().enumerate() {
                            if t > 0.0 {
                                it.advance_to(t, |_, _| {}).unwrap();
                            }
                            expect[l][k] = it.x.clone();
                        }
                    }
                    integrate_group_on(path, &spec, &x0, &|| false, &mut |l, k, x| {
                        seen += 1;
                        for (a, b) in x.iter().zip(&expect[l][k]) {
                            worst = worst.max((a - b).abs());
                        }
                    })
                    .unwrap();
                    assert_eq!(seen, x0.len() * times.len());
                    assert!(
                        worst < bound,
                        "{path:?} {model:?} d = {dim} {control:?}: max deviation {worst:e} >= {bound:e}"
                    );
                }
            }
        }
    }
}

/// The heat map column equals today's per-system path to within one flipped pair per entry
/// (the statistic is a threshold count; states differ by rounding or the tolerance), SA with
/// the default tolerance and the peers' Euler scheme, and USA.
#[test]
fn heat_map_column_matches_reference() {
    let cases = [
        (Model::Sa, StepControl::DormandPrince { tol: 1e-7 }),
        (Model::Sa, StepControl::Euler { dt: 0.1 }),
        (Model::Usa, StepControl::DormandPrince { tol: 1e-7 }),
    ];
    for (model, control) in cases {
        let s = setup(model, control, 9);
        let one_pair = 1.0 / ((s.n * (s.n - 1) / 2) as f64 * s.systems as f64);
        for beta in [0.5, 2.0, 6.0] {
            let a = column(&s, 2, beta, &|| false).unwrap();
            let b = column_reference(&s, 2, beta).unwrap();
            let mut flips = 0;
            for (x, y) in a.iter().zip(&b) {
                assert!(
                    (x - y).abs() <= one_pair * 1.000001,
                    "{model:?} beta {beta}: {x} vs {y}"
                );
                flips += usize::from(x != y);
            }
            assert!(flips <= 2, "{model:?} beta {beta}: {flips} entries differ");
            // The statistic moves: clustering happens in the window for small beta.
            if beta == 0.5 {
                assert!(a[s.steps] > a[0], "no clustering at beta 0.5: {a:?}");
            }
        }
    }
}

/// The statistic computed inside the kernel (blocked, full matrix, symmetric) equals the scalar
/// `clustered_pair_fraction` of the same tokens bit for bit, for N not a multiple of the block
/// (10, 13) and a multiple (16), several d, and a threshold below 0 (`eps` = 1.5: the padding
/// columns' zero dot products then pass it and must be taken out), on every path.
#[test]
fn kernel_pair_fraction_equals_scalar_statistic() {
    for path in SimdPath::available() {
        for (n, dim) in [(10, 2), (13, 3), (16, 2), (10, 5)] {
            for eps in [1e-3, 0.3, 1.5] {
                let times = [0.0, 1.0, 2.5];
                let spec = BatchSpec {
                    n,
                    dim,
                    beta: 1.0,
                    model: Model::Sa,
                    control: StepControl::DormandPrince { tol: 1e-8 },
                    times: &times,
                };
                let gw = group_width_on(path);
                let x0: Vec<Vec<f64>> = (0..gw)
                    .map(|s| TokenState::uniform(n, dim, 11, s as u64).x)
                    .collect();
                let mut want = vec![vec![f64::NAN; times.len()]; gw];
                integrate_group_on(path, &spec, &x0, &|| false, &mut |l, k, x| {
                    want[l][k] = clustered_pair_fraction(x, dim, eps);
                })
                .unwrap();
                let mut got = vec![vec![f64::NAN; times.len()]; gw];
                pair_fractions_on(path, &spec, &x0, eps, &|| false, &mut |l, k, p| {
                    got[l][k] = p;
                })
                .unwrap();
                assert_eq!(got, want, "{path:?} n = {n} d = {dim} eps = {eps}");
                if eps == 0.3 {
                    // Not a trivial 0 or 1 everywhere.
                    assert!(want.iter().flatten().any(|&p| p > 0.0 && p < 1.0));
                }
            }
        }
    }
}

/// AVX-512 (8 lanes) and AVX2 (4 lanes) heat map columns are identical bit for bit (every lane
/// does the same operations whatever its neighbours), SA and USA, dopri5 and Euler; skipped
/// on a processor without both.
#[test]
fn avx512_and_avx2_columns_identical() {
    if !(SimdPath::Avx512.is_available() && SimdPath::Avx2Fma.is_available()) {
        eprintln!("skipped: this processor lacks AVX-512 or AVX2");
        return;
    }
    for (model, control) in [
        (Model::Sa, StepControl::DormandPrince { tol: 1e-7 }),
        (Model::Usa, StepControl::DormandPrince { tol: 1e-7 }),
        (Model::Sa, StepControl::Euler { dt: 0.1 }),
    ] {
        let s = setup(model, control, 11);
        for beta in [0.5, 4.0] {
            let a = column_on(SimdPath::Avx512, &s, 2, beta, &|| false).unwrap();
            let b = column_on(SimdPath::Avx2Fma, &s, 2, beta, &|| false).unwrap();
            let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&a), bits(&b), "{model:?} {control:?} beta {beta}");
        }
    }
}

/// Results do not depend on the number of threads (the whole diagram, bit for bit).
#[test]
fn diagram_independent_of_threads() {
    let mut s = setup(Model::Sa, StepControl::DormandPrince { tol: 1e-7 }, 5);
    s.betas = vec![0.5, 1.5, 3.0, 4.5];
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        let dir = std::env::temp_dir().join(format!(
            "attnflow_phase_threads_{}_{threads}",
            std::process::id()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let ctl = attnflow::control::RunControl::default();
        let parts = attnflow::compare::parts::Parts::none(&ctl);
        let d = pool
            .install(|| attnflow::compare::phase::run(&s, &parts, &dir))
            .unwrap();
        std::fs::remove_dir_all(&dir).ok();
        d.into_iter()
            .flat_map(|d| d.values)
            .map(f64::to_bits)
            .collect::<Vec<u64>>()
    };
    assert_eq!(run(1), run(2));
}

/// CPU seconds of the calling thread (Linux `/proc/thread-self/stat`, clock ticks of 1/100 s).
fn thread_cpu() -> f64 {
    let s = std::fs::read_to_string("/proc/thread-self/stat").unwrap_or_default();
    let rest = s.rsplit(')').next().unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    let tick = |i: usize| {
        f.get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(f64::NAN)
    };
    (tick(11) + tick(12)) / 100.0
}

/// Benchmark (not run by default): batched vs per-system path on the GLPR setting (SA,
/// N = 32, d = 2, T = 30, 200 output intervals, dopri5 tol 1e-7) reduced to 3 betas x 128
/// systems, one thread, back to back, 5 rounds; prints medians of wall and CPU time and their
/// ratios. `cargo test --release --test phase_batch -- --ignored --nocapture`.
#[test]
#[ignore]
fn bench_batched_vs_reference() {
    let mut s = setup(Model::Sa, StepControl::DormandPrince { tol: 1e-7 }, 128);
    (s.n, s.t_end, s.steps) = (32, 30.0, 200);
    let betas = [0.5, 3.0, 7.0];
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (mut wb, mut cb, mut wr, mut cr) = (vec![], vec![], vec![], vec![]);
    for _ in 0..5 {
        let (t0, c0) = (std::time::Instant::now(), thread_cpu());
        for &b in &betas {
            std::hint::black_box(column(&s, 2, b, &|| false).unwrap());
        }
        wb.push(t0.elapsed().as_secs_f64());
        cb.push(thread_cpu() - c0);
        let (t0, c0) = (std::time::Instant::now(), thread_cpu());
        for &b in &betas {
            std::hint::black_box(column_reference(&s, 2, b).unwrap());
        }
        wr.push(t0.elapsed().as_secs_f64());
        cr.push(thread_cpu() - c0);
    }
    let (wb, cb, wr, cr) = (median(wb), median(cb), median(wr), median(cr));
    println!(
        "batched: wall {wb:.3} s cpu {cb:.3} s; per-system: wall {wr:.3} s cpu {cr:.3} s; \
         ratio wall {:.2} cpu {:.2}",
        wr / wb,
        cr / cb
    );
}
