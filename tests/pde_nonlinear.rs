//! Nonlinear runs: energy monotone and mass conserved into clustering, zonal (d = 3) against the
//! sphere solver on zonal data, exponential convergence in L, the order of the time steppers,
//! and the integrating factor for diffusion.

use attnflow::linear::growth_rate;
use attnflow::pde::{
    solve, DiagonalPart, LawsonRk, MeanFieldRhs, PdeConfig, StepOutcome, Stepping, Summary, Tableau,
};
use attnflow::spectral::{resize_coefficients, Basis, CircleBasis, SphereBasis, ZonalBasis};
use attnflow::{Model, TimeUnit};

struct Record {
    coeffs: Vec<Vec<f64>>,
    mass: Vec<f64>,
    energy: Vec<f64>,
    max_rho: Vec<f64>,
    min_rho: Vec<f64>,
}

fn run<B: Basis>(basis: B, c0: &[f64], cfg: &PdeConfig) -> (Record, Summary) {
    let mut r = Record {
        coeffs: vec![],
        mass: vec![],
        energy: vec![],
        max_rho: vec![],
        min_rho: vec![],
    };
    let mut s = Summary::default();
    solve(
        basis,
        c0,
        cfg,
        |f| {
            r.coeffs.push(f.coefficients.to_vec());
            r.mass.push(f.diagnostics.mass);
            r.energy.push(f.diagnostics.energy);
            r.min_rho.push(f.diagnostics.min_rho);
            r.max_rho
                .push(f.density.iter().copied().fold(f64::MIN, f64::max));
            Ok(())
        },
        |_| {},
        &mut s,
    )
    .unwrap();
    (r, s)
}

fn cfg(model: Model, beta: f64, t_end: f64, outputs: usize, stepping: Stepping) -> PdeConfig {
    PdeConfig {
        model,
        beta,
        nu: 0.0,
        time: TimeUnit::Scaled,
        t_end,
        outputs,
        stepping,
        resolution_tol: 1e-12,
        refine: true,
        lmax_limit: 400,
    }
}

#[test]
fn circle_clustering_energy_monotone_mass_conserved() {
    let beta = 9.0;
    let b = CircleBasis::new(32);
    let mut c0 = vec![0.0; b.len()];
    c0[0] = 1.0;
    for k in 1..=6 {
        c0[CircleBasis::index(k, false)] = 0.02 / k as f64;
        c0[CircleBasis::index(k, true)] = 0.01 * (k as f64).sin();
    }
    let (r, s) = run(
        b,
        &c0,
        &cfg(
            Model::Usa,
            beta,
            40.0,
            41,
            Stepping::Adaptive { tol: 1e-10 },
        ),
    );
    for k in 1..r.energy.len() {
        assert!(
            r.energy[k] >= r.energy[k - 1] * (1.0 - 1e-13),
            "energy decreased at output {k}: {} -> {}",
            r.energy[k - 1],
            r.energy[k]
        );
    }
    for m in &r.mass {
        assert!((m - 1.0).abs() < 1e-12, "mass {m}");
    }
    // Clustering happened: the density is far from uniform, and it needed refinement.
    let peak = *r.max_rho.last().unwrap();
    assert!(peak > 4.0, "max rho {peak}");
    assert!(r.energy.last().unwrap() > &(1.05 * r.energy[0]));
    assert!(
        !s.refinements.is_empty(),
        "expected refinement while clustering"
    );
}

#[test]
fn sphere_clustering_energy_monotone_mass_conserved() {
    let beta = 4.0;
    let b = SphereBasis::new(16);
    let mut c0 = vec![0.0; b.len()];
    c0[0] = 1.0;
    for (l, m, sine, a) in [
        (1, 1, false, 0.05),
        (2, 0, false, 0.04),
        (2, 2, true, 0.03),
        (3, 1, false, 0.02),
    ] {
        c0[SphereBasis::index(l, m, sine)] = a;
    }
    let (r, _) = run(
        b,
        &c0,
        &cfg(Model::Usa, beta, 28.0, 15, Stepping::Adaptive { tol: 1e-9 }),
    );
    for k in 1..r.energy.len() {
        assert!(r.energy[k] >= r.energy[k - 1] * (1.0 - 1e-13), "output {k}");
    }
    for m in &r.mass {
        assert!((m - 1.0).abs() < 1e-12, "mass {m}");
    }
    assert!(*r.max_rho.last().unwrap() > 3.0, "max rho {:?}", r.max_rho);
}

#[test]
fn zonal_d3_agrees_with_sphere_on_zonal_data() {
    for model in [Model::Usa, Model::Sa] {
        let lmax = 24;
        let beta = 5.0;
        let z = ZonalBasis::new(lmax, 3);
        let s = SphereBasis::new(lmax);
        let mut cz = vec![0.0; z.len()];
        let mut cs = vec![0.0; s.len()];
        cz[0] = 1.0;
        cs[0] = 1.0;
        for (l, a) in [(1usize, 0.1), (2, 0.06), (3, -0.04), (4, 0.02)] {
            cz[l] = a;
            cs[SphereBasis::index(l, 0, false)] = a;
        }
        let mut c = cfg(model, beta, 2.0, 4, Stepping::Fixed { dt: 0.05 });
        c.refine = false;
        c.resolution_tol = 1e-6;
        let (rz, _) = run(z, &cz, &c);
        let (rs, _) = run(s, &cs, &c);
        let fz = rz.coeffs.last().unwrap();
        let fs = rs.coeffs.last().unwrap();
        let mut moved = 0.0_f64;
        for l in 0..=lmax {
            let a = fz[l];
            let b = fs[SphereBasis::index(l, 0, false)];
            assert!(
                (a - b).abs() < 1e-12,
                "{model} l={l}: zonal {a} vs sphere {b}"
            );
            moved = moved.max((a - cz[l]).abs());
        }
        assert!(moved > 1e-3, "the run should be nonlinear, moved {moved}");
        // Non-zonal sphere coefficients stay zero.
        for l in 1..=lmax {
            for m in 1..=l {
                for sine in [false, true] {
                    assert!(fs[SphereBasis::index(l, m, sine)].abs() < 1e-13);
                }
            }
        }
    }
}

fn circle_initial(b: &CircleBasis) -> Vec<f64> {
    let mut c0 = vec![0.0; b.len()];
    c0[0] = 1.0;
    c0[CircleBasis::index(1, false)] = 0.3;
    c0[CircleBasis::index(2, true)] = 0.2;
    c0[CircleBasis::index(3, false)] = -0.1;
    c0
}

fn final_circle(kmax: usize, model: Model, stepping: Stepping, nu: f64) -> Vec<f64> {
    let b = CircleBasis::new(kmax);
    let c0 = circle_initial(&b);
    // SA runs ~5x faster at beta = 4 (no e^{-beta} in its rates relative to lambda_0).
    let t_end = if model == Model::Sa { 0.6 } else { 3.0 };
    let mut c = cfg(model, 4.0, t_end, 2, stepping);
    c.refine = false;
    c.resolution_tol = 1.0;
    c.nu = nu;
    run(b, &c0, &c).0.coeffs.pop().unwrap()
}

fn distance(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len().max(b.len());
    let (mut pa, mut pb) = (vec![0.0; n], vec![0.0; n]);
    resize_coefficients(a, &mut pa);
    resize_coefficients(b, &mut pb);
    pa.iter()
        .zip(&pb)
        .map(|(x, y)| (x - y) * (x - y))
        .sum::<f64>()
        .sqrt()
}

#[test]
fn exponential_convergence_in_lmax() {
    for model in [Model::Usa, Model::Sa] {
        let reference = final_circle(64, model, Stepping::Adaptive { tol: 1e-12 }, 0.0);
        let errs: Vec<f64> = [8usize, 12, 16, 20, 24]
            .iter()
            .map(|&k| {
                distance(
                    &final_circle(k, model, Stepping::Adaptive { tol: 1e-12 }, 0.0),
                    &reference,
                )
            })
            .collect();
        eprintln!("{model}: errors at K = 8, 12, 16, 20, 24: {errs:?}");
        // Geometric decay: each +4 degrees gains at least a factor 10, and the gain does not
        // fade with K (algebraic decay K^-p fitted to the first ratio would give a last ratio
        // ((24/20)/(12/8))^p-times smaller, i.e. ~4 instead of ~20).
        let ratios: Vec<f64> = errs.windows(2).map(|w| w[0] / w[1]).collect();
        for r in &ratios {
            assert!(*r > 10.0, "{model}: {errs:?}");
        }
        assert!(ratios[3] > 0.5 * ratios[0], "{model}: ratios {ratios:?}");
        assert!(errs[4] < 1e-7, "{model}: {errs:?}");
    }
}

#[test]
fn rk4_is_fourth_order_with_and_without_diffusion() {
    for nu in [0.0, 0.05] {
        let reference = final_circle(24, Model::Usa, Stepping::Adaptive { tol: 1e-13 }, nu);
        let e: Vec<f64> = [0.3, 0.15, 0.075]
            .iter()
            .map(|&dt| {
                distance(
                    &final_circle(24, Model::Usa, Stepping::Fixed { dt }, nu),
                    &reference,
                )
            })
            .collect();
        for w in e.windows(2) {
            let order = (w[0] / w[1]).log2();
            eprintln!("rk4 nu={nu}: errors {e:?}, order {order}");
            assert!(
                (3.7..4.4).contains(&order),
                "nu={nu}: errors {e:?}, order {order}"
            );
        }
    }
}

#[test]
fn dormand_prince_is_fifth_order_in_lawson_form() {
    let nu = 0.05;
    let steps_final = |n: usize| -> Vec<f64> {
        let basis = CircleBasis::new(24);
        let c0 = circle_initial(&basis);
        let lin = DiagonalPart {
            degrees: basis.degrees().to_vec(),
            rate_per_degree: (0..=24).map(|k| -nu * (k * k) as f64).collect(),
        };
        let mut rhs = MeanFieldRhs::new(basis, Model::Usa, 4.0);
        let mut st = LawsonRk::new(Tableau::dormand_prince(), lin);
        let mut y = c0;
        let mut y1 = vec![0.0; y.len()];
        let h = 3.0 / n as f64;
        for _ in 0..n {
            let mut f = |a: &[f64], b: &mut [f64]| rhs.evaluate(a, b);
            assert!(matches!(
                st.step(&mut f, &y, h, &mut y1, 0.0, 1.0),
                StepOutcome::Done(_)
            ));
            st.accept();
            std::mem::swap(&mut y, &mut y1);
        }
        y
    };
    let reference = steps_final(640);
    let e: Vec<f64> = [10usize, 20, 40]
        .iter()
        .map(|&n| distance(&steps_final(n), &reference))
        .collect();
    for w in e.windows(2) {
        let order = (w[0] / w[1]).log2();
        eprintln!("dopri5: errors {e:?}, order {order}");
        assert!((4.6..5.5).contains(&order), "errors {e:?}, order {order}");
    }
}

/// With diffusion a small mode grows at `gamma_l - nu l(l+d-2)` (integrating factor exact; `nu`
/// in the reporting unit, here physical time for USA).
#[test]
fn diffusion_shifts_the_linear_rate() {
    let (beta, dim, l) = (2.0, 5usize, 2usize);
    let gamma = growth_rate(l, beta, dim, Model::Usa, TimeUnit::Physical);
    let nu = 0.3 * gamma / (l * (l + dim - 2)) as f64;
    let want = gamma - nu * (l * (l + dim - 2)) as f64;
    let b = ZonalBasis::new(10, dim);
    let mut c0 = vec![0.0; b.len()];
    c0[0] = 1.0;
    c0[l] = 1e-7;
    let t_end = 1.0 / want;
    let mut c = cfg(
        Model::Usa,
        beta,
        t_end,
        2,
        Stepping::Adaptive { tol: 1e-11 },
    );
    c.time = TimeUnit::Physical;
    c.nu = nu;
    let (r, _) = run(b, &c0, &c);
    let rate = (r.coeffs[1][l] / c0[l]).ln() / t_end;
    assert!((rate / want - 1.0).abs() < 1e-4, "{rate} vs {want}");
}
