use attnflow::spectral::{Basis, SimdPath, SphereBasis};
use std::time::Instant;
fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .map(|a| a.parse().unwrap())
        .collect();
    let lmax = args.first().copied().unwrap_or(255);
    let reps = args.get(1).copied().unwrap_or(20);
    let only = std::env::var("ONLY").ok();
    for path in SimdPath::available()
        .into_iter()
        .filter(|p| only.as_deref().is_none_or(|o| o == p.name()))
    {
        let t0 = Instant::now();
        let b = SphereBasis::with_grid(lmax, lmax + 1, 2 * lmax + 2)
            .with_simd_path(path)
            .unwrap();
        let build = t0.elapsed();
        let c: Vec<f64> = (0..b.len())
            .map(|i| ((i as f64) * 0.618_033_988_75).fract() - 0.5)
            .collect();
        let mut g = vec![0.0; b.grid_len()];
        let mut back = vec![0.0; b.len()];
        let mut s = b.make_scratch();
        let (mut ts, mut ta) = (vec![], vec![]);
        for _ in 0..reps {
            let t = Instant::now();
            b.synthesize_with_scratch(&c, &mut g, &mut s);
            ts.push(t.elapsed().as_secs_f64() * 1e3);
            let t = Instant::now();
            b.analyze_with_scratch(&g, &mut back, &mut s);
            ta.push(t.elapsed().as_secs_f64() * 1e3);
        }
        ts.sort_by(|a, b| a.partial_cmp(b).unwrap());
        ta.sort_by(|a, b| a.partial_cmp(b).unwrap());
        let err = c
            .iter()
            .zip(&back)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        println!("{:9} L={lmax} build {:.1} ms work {:.3} synth min {:.3} med {:.3} ms, anal min {:.3} med {:.3} ms err {err:.1e}",
            path.name(), build.as_secs_f64()*1e3, b.legendre_work_fraction(), ts[0], ts[reps/2], ta[0], ta[reps/2]);
    }
}
#[allow(dead_code)]
fn dummy() {}
