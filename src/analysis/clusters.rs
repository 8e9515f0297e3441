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

/// Find the clusters of the unit rows `x` (`N x dim`) under `params` (see the module docs).
pub fn find_clusters(x: &[f64], dim: usize, params: &ClusterParams) -> Clusters {
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
