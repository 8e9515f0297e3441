//! Cluster detection that counts mass, not connectivity alone (DESIGN.md section 4).
//!
//! Definition (density-based, in the spirit of DBSCAN). Let `delta` be an angular radius and
//! `n_delta(x_i)` the number of tokens (itself included) within angle `delta` of `x_i`.
//!
//! 1. Token `i` is a *core* token when `n_delta(x_i) >= k_core`, with
//!    `k_core = max(3, ceil(min_fraction N), ceil(density_factor N p(delta)))`, where `p(delta)`
//!    is the uniform probability of a cap of angular radius `delta`: a core token sits where the
//!    density is at least `density_factor` times the uniform density *and* its neighbourhood
//!    holds a non-negligible fraction of the tokens.
//! 2. Clusters are the connected components of core tokens, two core tokens being linked when
//!    within angle `delta`.
//! 3. Every other token within `delta` of a core token joins that token's cluster (the first
//!    found in a fixed order); the rest are stragglers and belong to no cluster.
//! 4. Clusters holding fewer than `min_fraction N` tokens are discarded.
//!
//! Stragglers between meta-stable clusters are sparse, so they are never core and cannot chain
//! two clusters together; iid uniform tokens give no cluster (no region of 3x the uniform
//! density). Defaults: `delta = 0.03` rad, `density_factor = 3`, `min_fraction = 0.01`: on the
//! circle a cluster must hold at least `3 * 0.03/pi ~ 2.9%` of the tokens, which separates the
//! `l* ~ sqrt(2 beta)` meta-stable clusters for `beta` up to ~100 (`l* = 14` clusters of ~7%)
//! and resolves clusters further apart than `0.03` rad (`beta` up to ~10^4).
//!
//! Cost. Circle (`d = 2`): angles sorted once, exact neighbour counts by a sliding window,
//! components by scanning consecutive core tokens, `O(N log N)`. Sphere (`d = 3`): a uniform grid
//! of cell side `c/sqrt(3)` (`c = 2 sin(delta/2)` the chord), so that all tokens in one cell are
//! within `delta`: a cell holding `k_core` tokens is all core, a cell whose neighbourhood holds
//! fewer than `k_core` tokens has no core token, and the remaining tokens are counted exactly by
//! a k-d tree with subtree counts (whole boxes inside the ball are added without visiting their
//! points; the count stops at `k_core`). Linking and border assignment visit neighbouring cells.
//! Other `d`: `O(N^2)`.
//!
//! That is [`find_clusters_reference`]. [`find_clusters`] and [`ClusterFinder`] return the same
//! clusters and labels with radix sorts, a polynomial `atan2` whose error bound decides most
//! comparisons (the exact `atan2` decides the rest), and whole-cell counts instead of the k-d
//! tree (see [`ClusterFinder`]).

use std::collections::HashMap;

/// Parameters of the cluster definition (see the module documentation).
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct ClusterParams {
    /// Angular radius `delta` (radians).
    pub radius: f64,
    /// Required density relative to the uniform density.
    pub density_factor: f64,
    /// Smallest cluster mass as a fraction of `N`.
    pub min_fraction: f64,
}

impl Default for ClusterParams {
    fn default() -> Self {
        ClusterParams {
            radius: 0.03,
            density_factor: 3.0,
            min_fraction: 0.01,
        }
    }
}

/// Result of [`find_clusters`].
#[derive(Clone, Debug, PartialEq)]
pub struct Clusters {
    /// Token counts of the clusters, largest first.
    pub sizes: Vec<usize>,
    /// Cluster of each token (index into `sizes`), `None` for stragglers.
    pub labels: Vec<Option<usize>>,
}

impl Clusters {
    /// Number of clusters.
    pub fn count(&self) -> usize {
        self.sizes.len()
    }
}

/// Uniform probability of a spherical cap of angular radius `delta` on `S^{dim-1}`:
/// `int_0^delta sin^{d-2} / int_0^pi sin^{d-2}` (composite Simpson, 2000 panels).
pub fn cap_probability(dim: usize, delta: f64) -> f64 {
    if delta >= std::f64::consts::PI {
        return 1.0;
    }
    let f = |phi: f64| phi.sin().powi(dim as i32 - 2);
    let simpson = |a: f64, b: f64| {
        let m = 2000;
        let h = (b - a) / m as f64;
        let mut s = f(a) + f(b);
        for k in 1..m {
            s += f(a + k as f64 * h) * if k % 2 == 1 { 4.0 } else { 2.0 };
        }
        s * h / 3.0
    };
    simpson(0.0, delta) / simpson(0.0, std::f64::consts::PI)
}

/// A k-d tree over points in `R^3` with subtree counts and bounding boxes, for counting the
/// points within a distance (exact, integer counts).
struct KdTree<'a> {
    x: &'a [f64],
    idx: Vec<usize>,
    nodes: Vec<KdNode>,
}

struct KdNode {
    lo: [f64; 3],
    hi: [f64; 3],
    start: usize,
    end: usize,
    children: Option<(usize, usize)>,
}

const KD_LEAF: usize = 32;

impl<'a> KdTree<'a> {
    fn new(x: &'a [f64], members: Vec<usize>) -> Self {
        let mut t = KdTree {
            x,
            idx: members,
            nodes: Vec::new(),
        };
        let n = t.idx.len();
        t.build(0, n);
        t
    }

    fn point(&self, i: usize) -> [f64; 3] {
        [self.x[3 * i], self.x[3 * i + 1], self.x[3 * i + 2]]
    }

    fn build(&mut self, start: usize, end: usize) -> usize {
        let mut lo = [f64::INFINITY; 3];
        let mut hi = [f64::NEG_INFINITY; 3];
        for &i in &self.idx[start..end] {
            let p = self.point(i);
            for k in 0..3 {
                lo[k] = lo[k].min(p[k]);
                hi[k] = hi[k].max(p[k]);
            }
        }
        let id = self.nodes.len();
        self.nodes.push(KdNode {
            lo,
            hi,
            start,
            end,
            children: None,
        });
        if end - start > KD_LEAF {
            let axis = (0..3)
                .max_by(|&a, &b| (hi[a] - lo[a]).total_cmp(&(hi[b] - lo[b])))
                .unwrap();
            let mid = start + (end - start) / 2;
            let x = self.x;
            self.idx[start..end].select_nth_unstable_by(mid - start, |&a, &b| {
                x[3 * a + axis].total_cmp(&x[3 * b + axis]).then(a.cmp(&b))
            });
            let l = self.build(start, mid);
            let r = self.build(mid, end);
            self.nodes[id].children = Some((l, r));
        }
        id
    }

    /// Number of points within squared distance `r2` of `q`, stopping once `cap` is reached.
    fn count_within(&self, q: &[f64], r2: f64, cap: usize) -> usize {
        let mut count = 0;
        let mut stack = vec![0usize];
        while let Some(id) = stack.pop() {
            let nd = &self.nodes[id];
            let (mut dmin, mut dmax) = (0.0, 0.0);
            for (k, &qk) in q.iter().enumerate().take(3) {
                let below = (nd.lo[k] - qk).max(0.0);
                let above = (qk - nd.hi[k]).max(0.0);
                let near = below.max(above);
                let far = (qk - nd.lo[k]).abs().max((nd.hi[k] - qk).abs());
                dmin += near * near;
                dmax += far * far;
            }
            if dmin > r2 {
                continue;
            }
            if dmax <= r2 {
                count += nd.end - nd.start;
            } else if let Some((l, r)) = nd.children {
                stack.push(r);
                stack.push(l);
            } else {
                for &j in &self.idx[nd.start..nd.end] {
                    if dist2(q, &self.x[3 * j..3 * j + 3]) <= r2 {
                        count += 1;
                    }
                }
            }
            if count >= cap {
                return count;
            }
        }
        count
    }
}

struct UnionFind {
    parent: Vec<usize>,
}

impl UnionFind {
    fn new(n: usize) -> Self {
        UnionFind {
            parent: (0..n).collect(),
        }
    }
    fn find(&mut self, mut a: usize) -> usize {
        while self.parent[a] != a {
            self.parent[a] = self.parent[self.parent[a]];
            a = self.parent[a];
        }
        a
    }
    fn union(&mut self, a: usize, b: usize) {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra != rb {
            let (lo, hi) = if ra < rb { (ra, rb) } else { (rb, ra) };
            self.parent[hi] = lo;
        }
    }
}

fn dist2(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(p, q)| (p - q) * (p - q)).sum()
}

/// Groups of token indices ("cells") and, for each, the neighbouring groups (itself included).
struct Partition {
    members: Vec<Vec<usize>>,
    neighbours: Vec<Vec<usize>>,
    /// True when every pair inside a cell is within the radius.
    cells_are_small: bool,
}

/// Hasher for small integer keys (cells): one multiply-rotate per word instead of SipHash.
/// Deterministic; the keys come from the tokens, not from an adversary.
#[derive(Default)]
struct CellHasher(u64);

impl std::hash::Hasher for CellHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(b as u64);
        }
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = (self.0.rotate_left(5) ^ v).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
}

type CellMap<K, V> = HashMap<K, V, std::hash::BuildHasherDefault<CellHasher>>;

fn grid_partition(x: &[f64], dim: usize, chord: f64) -> Partition {
    let h = chord / (dim as f64).sqrt();
    let key_of = |p: &[f64]| -> [i32; 3] {
        let mut k = [0i32; 3];
        for (kk, v) in k.iter_mut().zip(p) {
            *kk = ((v + 1.0) / h).floor() as i32;
        }
        k
    };
    let n = x.len() / dim;
    let mut keyed: Vec<([i32; 3], usize)> = (0..n)
        .map(|i| (key_of(&x[i * dim..(i + 1) * dim]), i))
        .collect();
    keyed.sort_unstable();
    let mut members: Vec<Vec<usize>> = Vec::new();
    let mut keys: Vec<[i32; 3]> = Vec::new();
    for (k, i) in keyed {
        if keys.last() != Some(&k) {
            keys.push(k);
            members.push(Vec::new());
        }
        members.last_mut().unwrap().push(i);
    }
    // The cells are sorted by (x, y, z): the cells of one (x, y) column are consecutive, so the
    // neighbours of a cell are found with one look-up per column and a range in z (instead of
    // one look-up per neighbouring cell: 25 instead of 125 in d = 3).
    let column = |k: &[i32; 3]| ((k[0] as u32 as u64) << 32) | k[1] as u32 as u64;
    let mut columns: CellMap<u64, (usize, usize)> = CellMap::default();
    for (c, k) in keys.iter().enumerate() {
        columns.entry(column(k)).or_insert((c, c)).1 = c + 1;
    }
    let r = (dim as f64).sqrt().ceil() as i32;
    let zr = if dim == 3 { r } else { 0 };
    let neighbours = keys
        .iter()
        .map(|k| {
            let mut nb = Vec::new();
            for dx in -r..=r {
                for dy in -r..=r {
                    let Some(&(s, e)) = columns.get(&column(&[k[0] + dx, k[1] + dy, 0])) else {
                        continue;
                    };
                    let col = &keys[s..e];
                    let lo = col.partition_point(|q| q[2] < k[2] - zr);
                    let hi = col.partition_point(|q| q[2] <= k[2] + zr);
                    nb.extend(s + lo..s + hi);
                }
            }
            // Ascending already (keys sorted, columns visited in (x, y) order).
            debug_assert!(nb.windows(2).all(|w| w[0] < w[1]));
            nb
        })
        .collect();
    Partition {
        members,
        neighbours,
        cells_are_small: true,
    }
}

/// The clusters by the straightforward implementation (comparison sorts, `atan2` of every
/// token, one `Vec` per grid cell, a k-d tree over all tokens when a cell needs exact counts):
/// the reference that [`find_clusters`] / [`ClusterFinder`] equal exactly (tests), and their
/// fallback for inputs the fast paths do not take (non-finite coordinates, `d > 3`, grids too
/// large to pack into 64-bit keys).
pub fn find_clusters_reference(x: &[f64], dim: usize, params: &ClusterParams) -> Clusters {
    let n = x.len() / dim;
    let nf = n as f64;
    let chord = 2.0 * (params.radius / 2.0).sin();
    let c2 = chord * chord;
    let k_core = 3usize
        .max((params.min_fraction * nf).ceil() as usize)
        .max((params.density_factor * nf * cap_probability(dim, params.radius)).ceil() as usize);
    let comp_of_token = if dim == 2 {
        circle_components(x, params.radius, k_core)
    } else {
        grid_components(x, dim, c2, chord, k_core)
    };
    // Representatives are token indices: count by index.
    let mut mass = vec![0usize; n];
    for r in comp_of_token.iter().flatten() {
        mass[*r] += 1;
    }
    // 4. Keep clusters with enough mass; order by size (desc), then by root (deterministic).
    let min_mass = (params.min_fraction * nf).ceil() as usize;
    let mut kept: Vec<(usize, usize)> = mass
        .into_iter()
        .enumerate()
        .filter(|&(_, m)| m >= min_mass.max(1))
        .collect();
    kept.sort_unstable_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let label_of: HashMap<usize, usize> =
        kept.iter().enumerate().map(|(k, (r, _))| (*r, k)).collect();
    let labels = comp_of_token
        .iter()
        .map(|c| c.and_then(|r| label_of.get(&r).copied()))
        .collect();
    Clusters {
        sizes: kept.iter().map(|(_, m)| *m).collect(),
        labels,
    }
}

/// Circle (`d = 2`): exact neighbour counts by a sliding window over the sorted angles, `O(N log N)`.
/// Returns for each token the representative (a core token index) of its cluster, or `None`.
fn circle_components(x: &[f64], radius: f64, k_core: usize) -> Vec<Option<usize>> {
    use std::f64::consts::PI;
    let n = x.len() / 2;
    // (angle, token) sorted by angle, then token: the sort works on contiguous pairs (no
    // indirection), and the sorted angles are read in order below.
    let mut sorted: Vec<(f64, usize)> = x
        .chunks_exact(2)
        .enumerate()
        .map(|(i, r)| (r[1].atan2(r[0]), i))
        .collect();
    sorted.sort_unstable_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    let order: Vec<usize> = sorted.iter().map(|p| p.1).collect();
    let st: Vec<f64> = sorted.iter().map(|p| p.0).collect();
    drop(sorted);
    let ang = |q: usize| -> f64 {
        // extended sorted angle, q in 0..3n (position q - n .. q + n wraps by 2 pi)
        if q < n {
            st[q] - 2.0 * PI
        } else if q < 2 * n {
            st[q - n]
        } else {
            st[q - 2 * n] + 2.0 * PI
        }
    };
    let mut core_pos = vec![false; n];
    if radius >= PI {
        core_pos.iter_mut().for_each(|c| *c = n >= k_core);
    } else {
        // Window [lo, hi] of extended positions within `radius` of position p + n.
        let (mut lo, mut hi) = (0usize, n);
        for (p, core) in core_pos.iter_mut().enumerate() {
            let a = ang(p + n);
            while ang(lo) < a - radius {
                lo += 1;
            }
            if hi < p + n {
                hi = p + n;
            }
            while hi + 1 < 3 * n && ang(hi + 1) <= a + radius {
                hi += 1;
            }
            *core = (hi - lo + 1).min(n) >= k_core;
        }
    }
    let mut out = vec![None; n];
    let cores: Vec<usize> = (0..n).filter(|&p| core_pos[p]).collect();
    if cores.is_empty() {
        return out;
    }
    let gap = |p: usize, q: usize| -> f64 {
        // angular distance from sorted position p forward to q (cyclic)
        let d = st[q] - st[p];
        if q >= p {
            d
        } else {
            d + 2.0 * PI
        }
    };
    // Components: consecutive core positions linked when the forward gap is <= radius.
    let m = cores.len();
    let start = (0..m)
        .find(|&k| gap(cores[k], cores[(k + 1) % m]) > radius)
        .map_or(0, |k| (k + 1) % m);
    let mut rep = vec![0usize; n];
    let mut current = order[cores[start]];
    for t in 0..m {
        let k = (start + t) % m;
        if t > 0 && gap(cores[(k + m - 1) % m], cores[k]) > radius {
            current = order[cores[k]];
        }
        rep[cores[k]] = current;
        out[order[cores[k]]] = Some(current);
    }
    // Border tokens: the nearer of the previous and next core positions, if within radius.
    for p in 0..n {
        if core_pos[p] {
            continue;
        }
        let next = match cores.binary_search(&p) {
            Ok(k) | Err(k) => k % m,
        };
        let prev = (next + m - 1) % m;
        let (dn, dp) = (gap(p, cores[next]), gap(cores[prev], p));
        let best = if dp <= dn {
            (dp, cores[prev])
        } else {
            (dn, cores[next])
        };
        if best.0 <= radius {
            out[order[p]] = Some(rep[best.1]);
        }
    }
    out
}

/// `d >= 3`: grid of cell side `chord/sqrt(d)` (`d = 3`) or brute force (`d > 3`). Returns for
/// each token the representative of its cluster, or `None`.
fn grid_components(
    x: &[f64],
    dim: usize,
    c2: f64,
    chord: f64,
    k_core: usize,
) -> Vec<Option<usize>> {
    let n = x.len() / dim;
    let part = if dim <= 3 {
        grid_partition(x, dim, chord)
    } else {
        Partition {
            members: vec![(0..n).collect()],
            neighbours: vec![vec![0]],
            cells_are_small: false,
        }
    };
    let row = |i: usize| &x[i * dim..(i + 1) * dim];
    let ncell = part.members.len();
    // 1. Core tokens (exact counts; a k-d tree with subtree counts on S^2).
    // Built on first use: configurations without a dense neighbourhood never need it.
    let mut tree: Option<KdTree> = None;
    let mut core = vec![false; n];
    for c in 0..ncell {
        let mem = &part.members[c];
        if part.cells_are_small && mem.len() >= k_core {
            mem.iter().for_each(|&i| core[i] = true);
            continue;
        }
        let cand: usize = part.neighbours[c]
            .iter()
            .map(|&b| part.members[b].len())
            .sum();
        if cand < k_core {
            continue;
        }
        if dim == 3 {
            let tree = tree.get_or_insert_with(|| KdTree::new(x, (0..n).collect()));
            for &i in mem {
                core[i] = tree.count_within(row(i), c2, k_core) >= k_core;
            }
            continue;
        }
        for &i in mem {
            let mut count = 0;
            'scan: for &b in &part.neighbours[c] {
                for &j in &part.members[b] {
                    if dist2(row(i), row(j)) <= c2 {
                        count += 1;
                        if count >= k_core {
                            break 'scan;
                        }
                    }
                }
            }
            core[i] = count >= k_core;
        }
    }
    // 2. Components of core tokens: union-find over tokens, cells first.
    let mut uf = UnionFind::new(n);
    let core_of = |c: usize| -> Vec<usize> {
        part.members[c]
            .iter()
            .copied()
            .filter(|&i| core[i])
            .collect()
    };
    let core_lists: Vec<Vec<usize>> = (0..ncell).map(core_of).collect();
    for c in 0..ncell {
        let list = &core_lists[c];
        if list.is_empty() {
            continue;
        }
        if part.cells_are_small {
            for &i in &list[1..] {
                uf.union(list[0], i);
            }
        } else {
            for (a, &i) in list.iter().enumerate() {
                for &j in &list[a + 1..] {
                    if dist2(row(i), row(j)) <= c2 {
                        uf.union(i, j);
                    }
                }
            }
        }
        for &b in &part.neighbours[c] {
            if b <= c || core_lists[b].is_empty() {
                continue;
            }
            'pairs: for &i in list {
                for &j in &core_lists[b] {
                    if dist2(row(i), row(j)) <= c2 {
                        uf.union(i, j);
                        if part.cells_are_small {
                            break 'pairs;
                        }
                    }
                }
            }
        }
    }
    // 3. Border tokens join the first core token within the radius.
    let mut root: Vec<Option<usize>> = (0..n)
        .map(|i| if core[i] { Some(i) } else { None })
        .collect();
    for c in 0..ncell {
        for &i in &part.members[c] {
            if core[i] {
                continue;
            }
            'find: for &b in &part.neighbours[c] {
                for &j in &core_lists[b] {
                    if dist2(row(i), row(j)) <= c2 {
                        root[i] = Some(j);
                        break 'find;
                    }
                }
            }
        }
    }
    let mut comp_of_token: Vec<Option<usize>> = vec![None; n];
    for i in 0..n {
        if let Some(j) = root[i] {
            let r = uf.find(j);
            comp_of_token[i] = Some(r);
        }
    }
    comp_of_token
}

/// Minimum number of neighbours of a core token (see the module documentation).
fn core_threshold(n: usize, dim: usize, params: &ClusterParams) -> usize {
    let nf = n as f64;
    3usize
        .max((params.min_fraction * nf).ceil() as usize)
        .max((params.density_factor * nf * cap_probability(dim, params.radius)).ceil() as usize)
}

/// Find the clusters of the unit rows `x` (`N x dim`) under `params` (see the module docs).
/// Equal to [`find_clusters_reference`]; to find clusters repeatedly (one diagnostics row per
/// step), keep a [`ClusterFinder`] and its buffers.
pub fn find_clusters(x: &[f64], dim: usize, params: &ClusterParams) -> Clusters {
    ClusterFinder::default().find(x, dim, params)
}

/// No token / no cluster, in the `u32` slot arrays of [`ClusterFinder`].
const NONE: u32 = u32::MAX;

/// Assumed bound on `|approx_atan2(y, x) - y.atan2(x)|`: the polynomial's own error is below
/// `1e-16` (`scripts/atan_coefficients.py`), the reductions add a few ulps of `pi` and the
/// system `atan2` is within an ulp; the margin is three orders of magnitude. A comparison of
/// angles closer than this margin is redone with the exact `atan2` (tested in
/// `approx_atan2_is_within_its_bound`).
const APPROX_ATAN2_ERROR: f64 = 1e-12;

/// `atan(u) ~ u P(u^2)` on `|u| <= tan(pi/8)` (`scripts/atan_coefficients.py`).
const ATAN_COEF: [f64; 11] = [
    1.0,
    -0.3333333333332858,
    0.19999999998882076,
    -0.14285714182978565,
    0.11111106255995819,
    -0.09090774712795827,
    0.07689975128569665,
    -0.06640410811535268,
    0.056892235017660546,
    -0.043504452574300106,
    0.021163217481242648,
];

/// `atan2(y, x)` to about `1e-15` without a library call (octant reduction, `atan` of
/// `|u| <= tan(pi/8)` by a polynomial), written without branches; for finite `(x, y) != (0, 0)`.
#[inline(always)]
fn approx_atan2(y: f64, x: f64) -> f64 {
    use std::f64::consts::{FRAC_PI_2, FRAC_PI_4, PI};
    let (ax, ay) = (x.abs(), y.abs());
    let (mn, mx) = (ax.min(ay), ax.max(ay));
    let t = mn / mx;
    let big = t > 0.414_213_562_373_095_1;
    let v = (t - 1.0) / (t + 1.0);
    let u = if big { v } else { t };
    let w = u * u;
    let mut p = ATAN_COEF[10];
    for c in ATAN_COEF[..10].iter().rev() {
        p = p * w + c;
    }
    let r = u * p;
    let r = if big { r + FRAC_PI_4 } else { r };
    let r = if ay > ax { FRAC_PI_2 - r } else { r };
    let r = if x.is_sign_negative() { PI - r } else { r };
    if y.is_sign_negative() {
        -r
    } else {
        r
    }
}

/// The sorted angles of the circle finder, slot by slot: `exact[q]` is the exact angle of slot
/// `q` when it has been computed (NaN otherwise), `keys[q]` its key (`ib` index bits, `scale`
/// the key scale), `err` the bound on the distance from the key's middle to the exact angle.
struct SlotAngles<'a> {
    keys: &'a [u64],
    exact: &'a [f64],
    token: &'a [u32],
    x: &'a [f64],
    ib: u32,
    scale: f64,
    err: f64,
}

impl SlotAngles<'_> {
    /// Bounds of the angle of slot `q` (the exact angle twice when it is known).
    #[inline(always)]
    fn bounds(&self, q: usize) -> (f64, f64) {
        let e = self.exact[q];
        if e.is_nan() {
            let m = key_mid(self.keys[q], self.ib, self.scale);
            (m - self.err, m + self.err)
        } else {
            (e, e)
        }
    }

    /// The exact angle of slot `q` (`atan2` of its token when not known yet).
    #[inline(always)]
    fn exact(&self, q: usize) -> f64 {
        let e = self.exact[q];
        if e.is_nan() {
            let t = self.token[q] as usize;
            self.x[2 * t + 1].atan2(self.x[2 * t])
        } else {
            e
        }
    }
}

/// Middle of the interval of angles with the key of the packed word `k` (index below bit
/// `ib`, `(angle + 4) * scale` above).
#[inline(always)]
fn key_mid(k: u64, ib: u32, scale: f64) -> f64 {
    // 1 / scale is exact (a power of two): the same as dividing.
    ((k >> ib) as f64 + 0.5) * (1.0 / scale) - 4.0
}

/// [`approx_atan2`] of each row of `x` (`N x 2`) into `out`.
#[allow(clippy::needless_range_loop)]
fn approx_angles(x: &[f64], out: &mut Vec<f64>) {
    #[inline(always)]
    fn fill(x: &[f64], out: &mut Vec<f64>) {
        const L: usize = 8;
        let n = x.len() / 2;
        out.clear();
        out.resize(n, 0.0);
        // Lanes of L tokens, so that the compiler vectorises the branch-free arithmetic.
        for (o, r) in out.chunks_exact_mut(L).zip(x.chunks_exact(2 * L)) {
            let (mut xs, mut ys) = ([0.0; L], [0.0; L]);
            for l in 0..L {
                xs[l] = r[2 * l];
                ys[l] = r[2 * l + 1];
            }
            for l in 0..L {
                o[l] = approx_atan2(ys[l], xs[l]);
            }
        }
        for i in n / L * L..n {
            out[i] = approx_atan2(x[2 * i + 1], x[2 * i]);
        }
    }
    #[cfg(target_arch = "x86_64")]
    {
        #[target_feature(enable = "avx2")]
        unsafe fn fill_avx2(x: &[f64], out: &mut Vec<f64>) {
            fill(x, out)
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the processor has AVX2 (checked above); the arithmetic is the same
            // (no contraction into FMA), so the results are those of the portable path.
            unsafe { fill_avx2(x, out) };
            return;
        }
    }
    fill(x, out)
}

/// Squared distance with the summation order of [`dist2`].
#[inline(always)]
fn d2(q: &[f64; 3], p: &[f64; 3]) -> f64 {
    (q[0] - p[0]) * (q[0] - p[0]) + (q[1] - p[1]) * (q[1] - p[1]) + (q[2] - p[2]) * (q[2] - p[2])
}

/// Squared distance from `q` to the nearest and to the farthest point of the box `[lo, hi]`,
/// rounded so that every point `p` of the box has `near <= d2(q, p) <= far`.
#[inline(always)]
fn box_range(q: &[f64; 3], lo: &[f64; 3], hi: &[f64; 3]) -> (f64, f64) {
    let (mut near, mut far) = (0.0, 0.0);
    for k in 0..3 {
        let n = (lo[k] - q[k]).max(q[k] - hi[k]).max(0.0);
        let f = (q[k] - lo[k]).abs().max((hi[k] - q[k]).abs());
        near += n * n;
        far += f * f;
    }
    (near, far)
}

/// Squared distances between the nearest and the farthest points of two boxes, rounded so that
/// every `q` of the first and `p` of the second have `near <= d2(q, p) <= far`.
#[inline(always)]
fn box_pair_range(lo: &[f64; 3], hi: &[f64; 3], lo2: &[f64; 3], hi2: &[f64; 3]) -> (f64, f64) {
    let (mut near, mut far) = (0.0, 0.0);
    for k in 0..3 {
        let n = (lo2[k] - hi[k]).max(lo[k] - hi2[k]).max(0.0);
        let f = (hi[k] - lo2[k]).abs().max((lo[k] - hi2[k]).abs());
        near += n * n;
        far += f * f;
    }
    (near, far)
}

/// Union-find over slots whose root is the slot of the smallest token (the representative of
/// the reference implementation, whose union-find runs over token indices).
fn uf_find(parent: &mut [u32], mut a: u32) -> u32 {
    while parent[a as usize] != a {
        let g = parent[parent[a as usize] as usize];
        parent[a as usize] = g;
        a = g;
    }
    a
}

fn uf_union(parent: &mut [u32], token: &[u32], a: u32, b: u32) {
    let (ra, rb) = (uf_find(parent, a), uf_find(parent, b));
    if ra != rb {
        if token[ra as usize] < token[rb as usize] {
            parent[rb as usize] = ra;
        } else {
            parent[ra as usize] = rb;
        }
    }
}

/// The sphere grid of [`ClusterFinder`]: tokens sorted by cell (cells in `(x, y, z)` order,
/// tokens ascending in a cell), one slot per token.
#[derive(Default)]
struct Grid {
    /// First slot of each cell (`ncell + 1` entries).
    start: Vec<u32>,
    /// Cell coordinates (offset to start at 0).
    cell: Vec<[u32; 3]>,
    /// Bounding box of the tokens of each cell.
    lo: Vec<[f64; 3]>,
    hi: Vec<[f64; 3]>,
    /// Cell range `[start, end)` of each `(x, y)` column, dense over the bounding rectangle.
    columns: Vec<(u32, u32)>,
    width: [u32; 3],
    /// Token positions by slot.
    pts: Vec<[f64; 3]>,
}

impl Grid {
    /// Cell ranges (ascending, disjoint) of the neighbourhood of cell `c` (cells within 2 in
    /// every coordinate, itself included), the cells the reference visits in the same order.
    fn neighbours(&self, c: usize, out: &mut Vec<(u32, u32)>) {
        out.clear();
        let [cx, cy, cz] = self.cell[c];
        for gx in cx.saturating_sub(2)..=(cx + 2).min(self.width[0] - 1) {
            for gy in cy.saturating_sub(2)..=(cy + 2).min(self.width[1] - 1) {
                let (s, e) = self.columns[(gx * self.width[1] + gy) as usize];
                if s == e {
                    continue;
                }
                let col = &self.cell[s as usize..e as usize];
                let lo = col.partition_point(|q| q[2] + 2 < cz);
                let hi = col.partition_point(|q| q[2] <= cz + 2);
                if lo < hi {
                    out.push((s + lo as u32, s + hi as u32));
                }
            }
        }
    }
}

/// Cluster detection ([`find_clusters`]) keeping its buffers between calls. Same results as
/// [`find_clusters_reference`]; the cost is linear passes and radix sorts:
///
/// - circle: the angles come from a polynomial `atan2` (no library call) with an error bound;
///   tokens are radix-sorted by the angle rounded to a 64-bit key, and only where two angles,
///   or an angle difference and the radius, are closer than the bound is the exact `atan2`
///   evaluated, so every decision (order, neighbour counts, gaps) is the reference's;
/// - sphere: tokens are radix-sorted by packed cell keys, cells are slot ranges with a
///   bounding box, the neighbourhood of a cell is 25 column look-ups in a dense table, and exact
///   neighbour counts add whole cells whose box lies inside the ball (the rest token by token,
///   stopping at `k_core`) instead of building a k-d tree.
#[derive(Default)]
pub struct ClusterFinder {
    keys: Vec<u64>,
    scratch: Vec<u64>,
    /// Token of each slot.
    token: Vec<u32>,
    /// Representative token of each slot's cluster (`NONE`: none).
    rep: Vec<u32>,
    core: Vec<bool>,
    cores: Vec<u32>,
    exact: Vec<f64>,
    run: Vec<(f64, u32)>,
    parent: Vec<u32>,
    mass: Vec<u32>,
    grid: Grid,
    ranges: Vec<(u32, u32)>,
}

impl ClusterFinder {
    /// A finder with empty buffers.
    pub fn new() -> Self {
        Self::default()
    }

    /// The clusters of the unit rows `x` (`N x dim`), as [`find_clusters`].
    pub fn find(&mut self, x: &[f64], dim: usize, params: &ClusterParams) -> Clusters {
        if !self.components(x, dim, params) {
            return find_clusters_reference(x, dim, params);
        }
        let n = x.len() / dim;
        let kept = self.kept(n, params);
        // Label of each representative token.
        self.mass.iter_mut().for_each(|m| *m = NONE);
        for (k, &(r, _)) in kept.iter().enumerate() {
            self.mass[r as usize] = k as u32;
        }
        let mut labels = vec![None; n];
        for (&t, &r) in self.token.iter().zip(&self.rep) {
            if r != NONE && self.mass[r as usize] != NONE {
                labels[t as usize] = Some(self.mass[r as usize] as usize);
            }
        }
        Clusters {
            sizes: kept.iter().map(|&(_, m)| m as usize).collect(),
            labels,
        }
    }

    /// Only the cluster sizes (largest first) of [`ClusterFinder::find`]: what a diagnostics row
    /// records, without the per-token labels.
    pub fn sizes(&mut self, x: &[f64], dim: usize, params: &ClusterParams) -> Vec<usize> {
        if !self.components(x, dim, params) {
            return find_clusters_reference(x, dim, params).sizes;
        }
        let n = x.len() / dim;
        self.kept(n, params)
            .iter()
            .map(|&(_, m)| m as usize)
            .collect()
    }

    /// Clusters kept (representative, mass), by mass (descending) then representative.
    fn kept(&mut self, n: usize, params: &ClusterParams) -> Vec<(u32, u32)> {
        self.mass.clear();
        self.mass.resize(n, 0);
        for &r in &self.rep {
            if r != NONE {
                self.mass[r as usize] += 1;
            }
        }
        let min_mass = ((params.min_fraction * n as f64).ceil() as usize).max(1);
        let mut kept: Vec<(u32, u32)> = self
            .mass
            .iter()
            .enumerate()
            .filter(|&(_, &m)| m as usize >= min_mass)
            .map(|(r, &m)| (r as u32, m))
            .collect();
        kept.sort_unstable_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        kept
    }

    /// Fill `token` / `rep`; false when the input is for the reference implementation.
    fn components(&mut self, x: &[f64], dim: usize, params: &ClusterParams) -> bool {
        if !(dim == 2 || dim == 3)
            || x.len() / dim >= NONE as usize
            || !(params.radius > 0.0 && params.radius.is_finite())
            || !x.iter().all(|v| v.is_finite())
            || (dim == 2 && x.chunks_exact(2).any(|r| r[0] == 0.0 && r[1] == 0.0))
        {
            return false;
        }
        let n = x.len() / dim;
        let k_core = core_threshold(n, dim, params);
        let x = &x[..n * dim];
        if dim == 2 {
            self.circle(x, params.radius, k_core);
            true
        } else {
            let chord = 2.0 * (params.radius / 2.0).sin();
            self.sphere(x, chord, chord * chord, k_core)
        }
    }

    /// Circle: the reference's sorted-angle algorithm on bounds of the angles (see the type
    /// documentation), exact `atan2` only where the bounds do not decide.
    fn circle(&mut self, x: &[f64], radius: f64, k_core: usize) {
        use std::f64::consts::PI;
        let n = x.len() / 2;
        self.token.clear();
        self.rep.clear();
        self.rep.resize(n, NONE);
        if n == 0 {
            return;
        }
        let ib = super::radix::index_bits(n);
        // Keys: (angle + 4) < 8 scaled to the bits above the index.
        let shift = 64 - ib - 3;
        let scale = (shift as f64).exp2();
        approx_angles(x, &mut self.exact);
        self.keys.clear();
        self.keys.extend(
            self.exact
                .iter()
                .enumerate()
                .map(|(i, a)| ((((a + 4.0) * scale) as i64 as u64) << ib) | i as u64),
        );
        super::radix::sort_bits(&mut self.keys, &mut self.scratch, ib, 64);
        let mask = (1u64 << ib) - 1;
        self.token
            .extend(self.keys.iter().map(|k| (k & mask) as u32));
        // The exact angle of slot q lies within `err` of the middle of its key's interval.
        let err = APPROX_ATAN2_ERROR + 0.5 / scale + 1e-14;
        let keys = &self.keys;
        self.exact.clear();
        self.exact.resize(n, f64::NAN);
        // Runs of keys closer than 2 err (+ rounding): their order is decided by the exact
        // angles (then the token index), as in the reference's sort.
        let gap_keys = (2.0 * err * scale).ceil() as u64 + 2;
        let mut a = 0;
        while a < n {
            let mut b = a + 1;
            while b < n && (keys[b] >> ib) - (keys[b - 1] >> ib) <= gap_keys {
                b += 1;
            }
            if b - a >= 2 {
                self.run.clear();
                let mut last: Option<(f64, f64, f64)> = None;
                for &t in &self.token[a..b] {
                    let (px, py) = (x[2 * t as usize], x[2 * t as usize + 1]);
                    let e = match last {
                        Some((lx, ly, le))
                            if lx.to_bits() == px.to_bits() && ly.to_bits() == py.to_bits() =>
                        {
                            le
                        }
                        _ => py.atan2(px),
                    };
                    last = Some((px, py, e));
                    self.run.push((e, t));
                }
                self.run
                    .sort_unstable_by(|p, q| p.0.total_cmp(&q.0).then(p.1.cmp(&q.1)));
                for (k, &(e, t)) in self.run.iter().enumerate() {
                    self.token[a + k] = t;
                    self.exact[a + k] = e;
                }
            }
            a = b;
        }
        self.core.clear();
        self.core.resize(n, false);
        if radius >= PI {
            self.core.iter_mut().for_each(|c| *c = n >= k_core);
        } else {
            self.circle_window(x, radius, k_core, ib, err);
        }
        self.cores.clear();
        self.cores
            .extend((0..n as u32).filter(|&p| self.core[p as usize]));
        let angles = SlotAngles {
            keys: &self.keys,
            exact: &self.exact,
            token: &self.token,
            x,
            ib,
            scale,
            err,
        };
        let bd = |q: usize| angles.bounds(q);
        let ex = |q: usize| angles.exact(q);
        let token = &self.token;
        let cores = &self.cores;
        let m = cores.len();
        if m == 0 {
            return;
        }
        // Forward gap from slot p to slot q (cyclic): bounds and exact value.
        let gap_bd = |p: usize, q: usize| -> (f64, f64) {
            let ((pl, ph), (ql, qh)) = (bd(p), bd(q));
            let (l, h) = (ql - ph, qh - pl);
            if q >= p {
                (l, h)
            } else {
                (l + 2.0 * PI, h + 2.0 * PI)
            }
        };
        let gap_ex = |p: usize, q: usize| -> f64 {
            let d = ex(q) - ex(p);
            if q >= p {
                d
            } else {
                d + 2.0 * PI
            }
        };
        let gap_over = |p: usize, q: usize| -> bool {
            let (l, h) = gap_bd(p, q);
            if l > radius {
                true
            } else if h <= radius {
                false
            } else {
                gap_ex(p, q) > radius
            }
        };
        let c = |k: usize| cores[k] as usize;
        let start = (0..m)
            .find(|&k| gap_over(c(k), c((k + 1) % m)))
            .map_or(0, |k| (k + 1) % m);
        let rep = &mut self.rep;
        let mut current = token[c(start)];
        for t in 0..m {
            let k = (start + t) % m;
            if t > 0 && gap_over(c((k + m - 1) % m), c(k)) {
                current = token[c(k)];
            }
            rep[c(k)] = current;
        }
        // Border slots: the nearer of the previous and next core slots, if within the radius.
        let mut next = 0usize;
        for p in 0..n {
            if self.core[p] {
                continue;
            }
            while next < m && c(next) < p {
                next += 1;
            }
            let nx = next % m;
            let pv = (nx + m - 1) % m;
            let ((nl, nh), (pl, ph)) = (gap_bd(p, c(nx)), gap_bd(c(pv), p));
            let take_prev = if ph <= nl {
                true
            } else if pl > nh {
                false
            } else {
                gap_ex(c(pv), p) <= gap_ex(p, c(nx))
            };
            let near = if take_prev {
                !gap_over(c(pv), p)
            } else {
                !gap_over(p, c(nx))
            };
            if near {
                rep[p] = rep[if take_prev { c(pv) } else { c(nx) }];
            }
        }
    }

    /// Core slots of the circle: the reference's sliding window over the angles extended by
    /// `-2 pi` and `+2 pi` (positions `0..3n`), where the window of slot `p` is
    /// `[lo(p), hi(p)]`, both non-decreasing in `p`. They are found by binary search at every
    /// 256th slot; between two such slots the count lies between `hi(p0) - lo(p1) + 1` and
    /// `hi(p1) - lo(p0) + 1`, which decides most blocks at once; the others slide the window
    /// slot by slot as the reference. Every comparison is decided on the bounds of the angles,
    /// or else on the exact angles.
    #[allow(clippy::needless_range_loop)]
    fn circle_window(&mut self, x: &[f64], radius: f64, k_core: usize, ib: u32, err: f64) {
        use std::f64::consts::PI;
        let n = self.token.len();
        if k_core > n {
            return;
        }
        let angles = SlotAngles {
            keys: &self.keys,
            exact: &self.exact,
            token: &self.token,
            x,
            ib,
            scale: ((64 - ib - 3) as f64).exp2(),
            err,
        };
        let core = &mut self.core;
        let bd = |q: usize| angles.bounds(q);
        let ex = |q: usize| angles.exact(q);
        // Extended position e in 0..3n: slot e mod n shifted by -2 pi, 0, +2 pi.
        let split = |e: usize| -> (usize, i32) {
            if e < n {
                (e, -1)
            } else if e < 2 * n {
                (e - n, 0)
            } else {
                (e - 2 * n, 1)
            }
        };
        let shifted = |v: f64, s: i32| match s {
            -1 => v - 2.0 * PI,
            0 => v,
            _ => v + 2.0 * PI,
        };
        let ang_bd = |e: usize| {
            let (q, s) = split(e);
            let (l, h) = bd(q);
            (shifted(l, s), shifted(h, s))
        };
        let ang_ex = |e: usize| {
            let (q, s) = split(e);
            shifted(ex(q), s)
        };
        // ang(e) < ang(p + n) - radius
        let below = |e: usize, p: usize| -> bool {
            let ((l1, h1), (l2, h2)) = (ang_bd(e), bd(p));
            if h1 < l2 - radius {
                true
            } else if l1 >= h2 - radius {
                false
            } else {
                ang_ex(e) < ang_ex(p + n) - radius
            }
        };
        // ang(e) <= ang(p + n) + radius
        let within = |e: usize, p: usize| -> bool {
            let ((l1, h1), (l2, h2)) = (ang_bd(e), bd(p));
            if h1 <= l2 + radius {
                true
            } else if l1 > h2 + radius {
                false
            } else {
                ang_ex(e) <= ang_ex(p + n) + radius
            }
        };
        // lo(p): first e in from..=p+n not below; hi(p): last e in p+n..3n within (the
        // reference's hi never passes 3n - 1). Both predicates are monotone in e.
        let lo_at = |p: usize, from: usize| -> usize {
            let (mut a, mut b) = (from, p + n);
            while a < b {
                let c = a + (b - a) / 2;
                if below(c, p) {
                    a = c + 1;
                } else {
                    b = c;
                }
            }
            a
        };
        let hi_at = |p: usize, from: usize| -> usize {
            let (mut a, mut b) = (from.max(p + n), 3 * n - 1);
            while a < b {
                let c = a + (b - a).div_ceil(2);
                if within(c, p) {
                    a = c;
                } else {
                    b = c - 1;
                }
            }
            a
        };
        const BLOCK: usize = 256;
        let (mut l0, mut h0) = (lo_at(0, 0), hi_at(0, n));
        let mut p0 = 0;
        loop {
            core[p0] = h0 - l0 + 1 >= k_core;
            if p0 + 1 >= n {
                break;
            }
            let p1 = (p0 + BLOCK).min(n - 1);
            let (l1, h1) = (lo_at(p1, l0), hi_at(p1, h0));
            let (least, most) = ((h0 + 1).saturating_sub(l1), h1 - l0 + 1);
            if most < k_core || least >= k_core {
                core[p0 + 1..p1]
                    .iter_mut()
                    .for_each(|c| *c = least >= k_core);
            } else {
                // The reference's sliding window from slot p0.
                let (mut lo, mut hi) = (l0, h0);
                for p in p0 + 1..p1 {
                    while below(lo, p) {
                        lo += 1;
                    }
                    if hi < p + n {
                        hi = p + n;
                    }
                    while hi + 1 < 3 * n && within(hi + 1, p) {
                        hi += 1;
                    }
                    core[p] = hi - lo + 1 >= k_core;
                }
            }
            (p0, l0, h0) = (p1, l1, h1);
        }
    }

    /// Sphere: grid of cell side `chord / sqrt(3)` on radix-sorted cell keys. False when the
    /// grid does not fit the packed keys or the column table (tiny radius).
    fn sphere(&mut self, x: &[f64], chord: f64, c2: f64, k_core: usize) -> bool {
        let n = x.len() / 3;
        self.token.clear();
        self.rep.clear();
        self.rep.resize(n, NONE);
        if n == 0 {
            return true;
        }
        let h = chord / 3f64.sqrt();
        // `((v + 1) / h).floor() as i32` (the reference's cell) without a call to floor.
        let cell = |v: f64| {
            let w = (v + 1.0) / h;
            let t = w as i64;
            let t = if (t as f64) > w {
                t.saturating_sub(1)
            } else {
                t
            };
            t.clamp(i32::MIN as i64, i32::MAX as i64) as i32
        };
        let (mut lo, mut hi) = ([i32::MAX; 3], [i32::MIN; 3]);
        for r in x.chunks_exact(3) {
            for k in 0..3 {
                let c = cell(r[k]);
                lo[k] = lo[k].min(c);
                hi[k] = hi[k].max(c);
            }
        }
        let width: [u64; 3] = std::array::from_fn(|k| (hi[k] as i64 - lo[k] as i64 + 1) as u64);
        let bits: [u32; 3] = std::array::from_fn(|k| super::radix::index_bits(width[k] as usize));
        let ib = super::radix::index_bits(n);
        if bits.iter().sum::<u32>() + ib > 64
            || width[0] * width[1] > 4 * n as u64 + (1 << 16)
            || width[2] >= u32::MAX as u64 / 2
        {
            return false;
        }
        self.keys.clear();
        self.keys
            .extend(x.chunks_exact(3).enumerate().map(|(i, r)| {
                let c: [u64; 3] = std::array::from_fn(|k| (cell(r[k]) - lo[k]) as u64);
                (((c[0] << bits[1] | c[1]) << bits[2] | c[2]) << ib) | i as u64
            }));
        let high = ib + bits.iter().sum::<u32>();
        super::radix::sort_bits(&mut self.keys, &mut self.scratch, ib, high);
        let g = &mut self.grid;
        g.width = std::array::from_fn(|k| width[k] as u32);
        g.start.clear();
        g.cell.clear();
        g.lo.clear();
        g.hi.clear();
        g.pts.clear();
        g.columns.clear();
        g.columns.resize((width[0] * width[1]) as usize, (0, 0));
        let mask = (1u64 << ib) - 1;
        let mut prev = u64::MAX;
        for (s, &k) in self.keys.iter().enumerate() {
            let t = (k & mask) as usize;
            #[cfg(target_arch = "x86_64")]
            if let Some(&ahead) = self.keys.get(s + 32) {
                let a = 3 * (ahead & mask) as usize;
                // SAFETY: a prefetch hint of an address inside `x`; it never faults.
                unsafe {
                    use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
                    _mm_prefetch::<_MM_HINT_T0>(x.as_ptr().add(a) as *const i8);
                }
            }
            self.token.push(t as u32);
            let p = [x[3 * t], x[3 * t + 1], x[3 * t + 2]];
            g.pts.push(p);
            let key = k >> ib;
            if key != prev {
                prev = key;
                let cz = (key & ((1 << bits[2]) - 1)) as u32;
                let cy = ((key >> bits[2]) & ((1 << bits[1]) - 1)) as u32;
                let cx = (key >> (bits[1] + bits[2])) as u32;
                let c = g.cell.len() as u32;
                g.start.push(s as u32);
                g.cell.push([cx, cy, cz]);
                g.lo.push(p);
                g.hi.push(p);
                let col = &mut g.columns[(cx * g.width[1] + cy) as usize];
                if col.0 == col.1 {
                    *col = (c, c + 1);
                } else {
                    col.1 = c + 1;
                }
            } else {
                let (l, u) = (g.lo.last_mut().unwrap(), g.hi.last_mut().unwrap());
                for k in 0..3 {
                    l[k] = l[k].min(p[k]);
                    u[k] = u[k].max(p[k]);
                }
            }
        }
        g.start.push(n as u32);
        let ncell = g.cell.len();
        let g = &self.grid;
        let size = |c: usize| (g.start[c + 1] - g.start[c]) as usize;
        let slots = |c: usize| g.start[c] as usize..g.start[c + 1] as usize;
        // 1. Core slots.
        let core = &mut self.core;
        core.clear();
        core.resize(n, false);
        let ranges = &mut self.ranges;
        for c in 0..ncell {
            if size(c) >= k_core {
                core[slots(c)].iter_mut().for_each(|v| *v = true);
                continue;
            }
            // Upper bound first: the tokens of the 25 neighbouring columns.
            let [cx, cy, _] = g.cell[c];
            let mut column_total = 0usize;
            for gx in cx.saturating_sub(2)..=(cx + 2).min(g.width[0] - 1) {
                for gy in cy.saturating_sub(2)..=(cy + 2).min(g.width[1] - 1) {
                    let (a, b) = g.columns[(gx * g.width[1] + gy) as usize];
                    column_total += (g.start[b as usize] - g.start[a as usize]) as usize;
                }
            }
            if column_total < k_core {
                continue;
            }
            g.neighbours(c, ranges);
            let cand: usize = ranges
                .iter()
                .map(|&(a, b)| (g.start[b as usize] - g.start[a as usize]) as usize)
                .sum();
            if cand < k_core {
                continue;
            }
            // Bounds for the whole cell: the cells within the radius of every point of this
            // cell's box (a lower bound of every token's count), and those within the radius
            // of some point of it (an upper bound).
            let (mut least, mut most) = (0usize, 0usize);
            for &(a, b) in ranges.iter() {
                for b in a as usize..b as usize {
                    let (near, far) = box_pair_range(&g.lo[c], &g.hi[c], &g.lo[b], &g.hi[b]);
                    if far <= c2 {
                        least += size(b);
                    }
                    if near <= c2 {
                        most += size(b);
                    }
                }
            }
            if least >= k_core {
                core[slots(c)].iter_mut().for_each(|v| *v = true);
                continue;
            }
            if most < k_core {
                continue;
            }
            for i in slots(c) {
                let q = &g.pts[i];
                // Whole cells inside the ball first, then the others token by token.
                let mut count = 0;
                for &(a, b) in ranges.iter() {
                    for b in a as usize..b as usize {
                        let (near, far) = box_range(q, &g.lo[b], &g.hi[b]);
                        if far <= c2 {
                            count += size(b);
                        } else if near <= c2 {
                            continue;
                        }
                    }
                }
                'scan: for &(a, b) in ranges.iter() {
                    if count >= k_core {
                        break;
                    }
                    for b in a as usize..b as usize {
                        let (near, far) = box_range(q, &g.lo[b], &g.hi[b]);
                        if far <= c2 || near > c2 {
                            continue;
                        }
                        // Counted 8 at a time (vectorised); only `count >= k_core` matters.
                        let pts = &g.pts[slots(b)];
                        let mut chunks = pts.chunks_exact(8);
                        for ch in &mut chunks {
                            count += ch.iter().filter(|p| d2(q, p) <= c2).count();
                            if count >= k_core {
                                break 'scan;
                            }
                        }
                        count += chunks.remainder().iter().filter(|p| d2(q, p) <= c2).count();
                        if count >= k_core {
                            break 'scan;
                        }
                    }
                }
                core[i] = count >= k_core;
            }
        }
        // Core slots per cell, cumulative (a range of cells without core slots is skipped).
        let mut core_cum = vec![0u32; ncell + 1];
        for c in 0..ncell {
            core_cum[c + 1] = core_cum[c] + core[slots(c)].iter().filter(|&&v| v).count() as u32;
        }
        let has_core = |a: usize, b: usize| core_cum[b] > core_cum[a];
        // 2. Components of core slots (every pair in a cell is within the radius).
        let parent = &mut self.parent;
        parent.clear();
        parent.extend(0..n as u32);
        let token = &self.token;
        for c in 0..ncell {
            if !has_core(c, c + 1) {
                continue;
            }
            let list: Vec<u32> = slots(c).filter(|&i| core[i]).map(|i| i as u32).collect();
            for &i in &list[1..] {
                uf_union(parent, token, list[0], i);
            }
            g.neighbours(c, ranges);
            for &(a, b) in ranges.iter() {
                for b in (a as usize).max(c + 1)..b as usize {
                    if !has_core(b, b + 1)
                        || uf_find(parent, list[0])
                            == uf_find(parent, g.start[b] + first_core(core, slots(b)))
                    {
                        continue;
                    }
                    'pairs: for &i in &list {
                        let q = &g.pts[i as usize];
                        let (near, _) = box_range(q, &g.lo[b], &g.hi[b]);
                        if near > c2 {
                            continue;
                        }
                        for j in slots(b) {
                            if core[j] && d2(q, &g.pts[j]) <= c2 {
                                uf_union(parent, token, i, j as u32);
                                break 'pairs;
                            }
                        }
                    }
                }
            }
        }
        // 3. Border slots join the first core slot within the radius (cells ascending, tokens
        // ascending in a cell).
        let rep = &mut self.rep;
        if core_cum[ncell] == 0 {
            return true;
        }
        for c in 0..ncell {
            let mut nb_core = false;
            g.neighbours(c, ranges);
            for &(a, b) in ranges.iter() {
                nb_core |= has_core(a as usize, b as usize);
            }
            for i in slots(c) {
                if core[i] {
                    rep[i] = token[uf_find(parent, i as u32) as usize];
                    continue;
                }
                if !nb_core {
                    continue;
                }
                let q = &g.pts[i];
                'find: for &(a, b) in ranges.iter() {
                    for b in a as usize..b as usize {
                        if !has_core(b, b + 1) || box_range(q, &g.lo[b], &g.hi[b]).0 > c2 {
                            continue;
                        }
                        for j in slots(b) {
                            if core[j] && d2(q, &g.pts[j]) <= c2 {
                                rep[i] = token[uf_find(parent, j as u32) as usize];
                                break 'find;
                            }
                        }
                    }
                }
            }
        }
        true
    }
}

/// Offset of the first core slot in `r` (the caller knows there is one).
fn first_core(core: &[bool], r: std::ops::Range<usize>) -> u32 {
    core[r].iter().position(|&v| v).unwrap() as u32
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::f64::consts::PI;

    struct Rng(u64);
    impl Rng {
        fn unit(&mut self) -> f64 {
            self.0 = self
                .0
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (self.0 >> 11) as f64 / (1u64 << 53) as f64
        }
        fn normal(&mut self) -> f64 {
            let (u, v) = (self.unit().max(1e-300), self.unit());
            (-2.0 * u.ln()).sqrt() * (2.0 * PI * v).cos()
        }
        fn sphere(&mut self, dim: usize) -> Vec<f64> {
            let r: Vec<f64> = (0..dim).map(|_| self.normal()).collect();
            let s = r.iter().map(|a| a * a).sum::<f64>().sqrt();
            r.iter().map(|a| a / s).collect()
        }
    }

    /// `n` tokens: a fraction `frac` in `k` caps of angular size `width` (a few exact copies of
    /// one token among them), the rest uniform.
    fn state(rng: &mut Rng, dim: usize, n: usize, k: usize, frac: f64, width: f64) -> Vec<f64> {
        let centres: Vec<Vec<f64>> = (0..k.max(1)).map(|_| rng.sphere(dim)).collect();
        let mut x = Vec::new();
        for i in 0..n {
            let r = rng.sphere(dim);
            if (i as f64) < frac * n as f64 {
                let c = &centres[i % k.max(1)];
                let mut p: Vec<f64> = c.iter().zip(&r).map(|(a, b)| a + width * b).collect();
                let s = p.iter().map(|a| a * a).sum::<f64>().sqrt();
                p.iter_mut().for_each(|a| *a /= s);
                if i % 7 == 3 {
                    p = c.clone();
                }
                x.extend(p);
            } else {
                x.extend(r);
            }
        }
        x
    }

    fn check(x: &[f64], dim: usize, p: &ClusterParams, what: &str) {
        let want = find_clusters_reference(x, dim, p);
        let mut f = ClusterFinder::new();
        let got = f.find(x, dim, p);
        assert_eq!(got, want, "{what}");
        // Buffers reused: the same again, and the sizes alone.
        assert_eq!(f.sizes(x, dim, p), want.sizes, "{what} (sizes)");
        assert_eq!(f.find(x, dim, p), want, "{what} (second call)");
    }

    #[test]
    fn approx_atan2_is_within_its_bound() {
        let mut rng = Rng(5);
        let mut worst: f64 = 0.0;
        let mut pts: Vec<(f64, f64)> = (0..200_000)
            .map(|_| {
                let r = rng.sphere(2);
                (r[1], r[0])
            })
            .collect();
        for &(a, b) in &[
            (0.0, 1.0),
            (-0.0, 1.0),
            (0.0, -1.0),
            (-0.0, -1.0),
            (1.0, 0.0),
        ] {
            pts.push((a, b));
            pts.push((b, a));
        }
        for t in [0.414_213_562_373_095_1f64, 1.0, 1e-300, 5e-324] {
            for (sy, sx) in [(1.0, 1.0), (1.0, -1.0), (-1.0, 1.0), (-1.0, -1.0)] {
                pts.push((sy * t, sx * 1.0));
                pts.push((sy * 1.0, sx * t));
            }
        }
        for (y, x) in pts {
            worst = worst.max((approx_atan2(y, x) - y.atan2(x)).abs());
        }
        assert!(worst <= APPROX_ATAN2_ERROR / 100.0, "worst error {worst:e}");
    }

    #[test]
    fn fast_paths_equal_the_reference() {
        let mut rng = Rng(17);
        let dflt = ClusterParams::default();
        let loose = ClusterParams {
            radius: 0.3,
            density_factor: 1.2,
            min_fraction: 0.0,
        };
        let tiny = ClusterParams {
            radius: 1e-4,
            density_factor: 3.0,
            min_fraction: 0.001,
        };
        let whole = ClusterParams {
            radius: 3.5,
            density_factor: 0.5,
            min_fraction: 0.01,
        };
        for dim in [2usize, 3] {
            for n in [0usize, 1, 2, 3, 5, 40, 1000] {
                for p in [&dflt, &loose, &tiny, &whole] {
                    let x = state(&mut rng, dim, n, 3, 0.8, 0.01);
                    check(&x, dim, p, &format!("d={dim} n={n} {p:?}"));
                }
            }
            for (k, frac, width) in [
                (12, 0.9, 0.01),
                (5, 0.95, 1e-9),
                (3, 1.0, 0.0),
                (20, 0.6, 0.03),
                (1, 0.3, 0.05),
            ] {
                for n in [3000usize, 20000] {
                    let x = state(&mut rng, dim, n, k, frac, width);
                    for p in [&dflt, &loose, &tiny] {
                        check(&x, dim, p, &format!("d={dim} n={n} k={k} w={width} {p:?}"));
                    }
                }
            }
            // Antipodal pairs and coincident copies.
            let mut x = state(&mut rng, dim, 2000, 4, 0.9, 0.004);
            let neg: Vec<f64> = x.iter().map(|v| -v).collect();
            x.extend(neg);
            let copies = x[..600 * dim].to_vec();
            x.extend(copies);
            check(&x, dim, &dflt, &format!("d={dim} antipodal"));
        }
    }

    #[test]
    fn circle_decisions_at_the_radius_and_the_cut() {
        // Angles exactly at the radius from each other, at +-pi (signed zeros), and a cluster
        // straddling the cut at pi: every comparison the bounds cannot decide goes to atan2.
        let r = 0.03;
        let p = ClusterParams {
            radius: r,
            density_factor: 1.0,
            min_fraction: 0.0,
        };
        let mut x = Vec::new();
        for k in -40i32..=40 {
            let a = PI + k as f64 * r / 4.0;
            x.extend([a.cos(), a.sin()]);
            let b = k as f64 * r;
            x.extend([b.cos(), b.sin()]);
            let c = 1.0 + k as f64 * r / 2.0 * (1.0 + 1e-15);
            x.extend([c.cos(), c.sin()]);
        }
        x.extend([-1.0, 0.0, -1.0, -0.0, 1.0, 0.0, 1.0, -0.0, 0.0, 0.0]);
        check(&x, 2, &p, "radius and cut");
        let mut near = Vec::new();
        for k in 0..3000 {
            // Angles 1e-13 apart: runs decided by the exact atan2.
            let a = 2.0 + k as f64 * 1e-13 * (1 + k % 3) as f64;
            near.extend([a.cos(), a.sin()]);
        }
        check(
            &near,
            2,
            &ClusterParams::default(),
            "near-coincident angles",
        );
    }

    #[test]
    fn sphere_tokens_on_cell_boundaries() {
        // Coordinates exactly on the grid planes (v + 1 = k h), rows not normalised (the
        // finder works on any finite rows), plus copies.
        let p = ClusterParams {
            radius: 0.05,
            density_factor: 1.0,
            min_fraction: 0.0,
        };
        let chord = 2.0 * (p.radius / 2.0).sin();
        let h = chord / 3f64.sqrt();
        let mut x = Vec::new();
        for a in 0..12 {
            for b in 0..12 {
                for c in 0..6 {
                    x.extend([
                        (40 + a / 2) as f64 * h - 1.0,
                        (40 + b / 3) as f64 * h - 1.0,
                        (50 + c) as f64 * h - 1.0,
                    ]);
                }
            }
        }
        check(&x, 3, &p, "cell boundaries");
        // Non-finite rows: the reference answers.
        let mut bad = x.clone();
        bad[5] = f64::NAN;
        assert_eq!(
            ClusterFinder::new().find(&bad, 3, &p).sizes,
            find_clusters_reference(&bad, 3, &p).sizes
        );
    }
}
