//! Least-significant-digit radix sort of packed `u64` keys (11-bit digits), the sort behind the
//! cluster grid, the circle cluster finder and the merge check: `(key << index_bits) | index`
//! packed in one word and sorted on the key bits only, which is a stable sort of the tokens by key
//! (ties in token order), in a few linear passes instead of a comparison sort.

const DIGIT: u32 = 11;
const RADIX: usize = 1 << DIGIT;

/// Bits needed to store the indices `0..n` (at least 1).
pub fn index_bits(n: usize) -> u32 {
    (usize::BITS - n.saturating_sub(1).leading_zeros()).max(1)
}

/// Sort `keys` stably by `k >> low` (the bits below `low` keep their input order among equal
/// keys), using `scratch` as the second buffer. Passes whose digit is the same for every key are
/// skipped.
pub fn sort_above(keys: &mut Vec<u64>, scratch: &mut Vec<u64>, low: u32) {
    sort_bits(keys, scratch, low, 64);
}

/// As [`sort_above`] when the keys have no bit set at or above `high`: the radix passes cover
/// the top bits of `low..high` (about the bits of an index, so most groups of equal top bits
/// are tiny), and each group of equal top bits is finished by a comparison sort of the whole
/// words (the bits below `low` being distinct and ascending in the input, this is the stable
/// order).
pub fn sort_bits(keys: &mut Vec<u64>, scratch: &mut Vec<u64>, low: u32, high: u32) {
    let n = keys.len();
    if n < 2 || low >= high {
        return;
    }
    if n <= 256 {
        keys.sort_by_key(|k| k >> low);
        return;
    }
    let wanted = (index_bits(n) + 1).div_ceil(DIGIT) * DIGIT;
    let base = low.max(high.saturating_sub(wanted));
    let passes = (high - base).div_ceil(DIGIT) as usize;
    let mut hist = vec![[0usize; RADIX]; passes];
    for &k in keys.iter() {
        let k = k >> base;
        for (p, h) in hist.iter_mut().enumerate() {
            h[((k >> (p as u32 * DIGIT)) as usize) & (RADIX - 1)] += 1;
        }
    }
    scratch.clear();
    scratch.resize(n, 0);
    for (p, h) in hist.iter().enumerate() {
        if h.contains(&n) {
            continue;
        }
        let mut offset = [0usize; RADIX];
        let mut s = 0;
        for (o, &c) in offset.iter_mut().zip(h) {
            *o = s;
            s += c;
        }
        let shift = base + p as u32 * DIGIT;
        for &k in keys.iter() {
            let d = ((k >> shift) as usize) & (RADIX - 1);
            scratch[offset[d]] = k;
            offset[d] += 1;
        }
        std::mem::swap(keys, scratch);
    }
    if base > low {
        let mut a = 0;
        while a < n {
            let top = keys[a] >> base;
            let mut b = a + 1;
            while b < n && keys[b] >> base == top {
                b += 1;
            }
            if b - a > 1 {
                keys[a..b].sort_unstable();
            }
            a = b;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorts_like_a_stable_comparison_sort() {
        let mut s = 99u64;
        let mut rnd = || {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            s >> 20
        };
        for (n, range) in [
            (0usize, 10u64),
            (1, 10),
            (300, 7),
            (5000, 1 << 40),
            (5000, 3),
        ] {
            let ib = index_bits(n);
            let raw: Vec<u64> = (0..n).map(|_| rnd() % range).collect();
            let mut keys: Vec<u64> = raw
                .iter()
                .enumerate()
                .map(|(i, &k)| (k << ib) | i as u64)
                .collect();
            let mut scratch = Vec::new();
            let mut bits = keys.clone();
            sort_above(&mut keys, &mut scratch, ib);
            sort_bits(&mut bits, &mut scratch, ib, ib + 41);
            assert_eq!(bits, keys, "n = {n}");
            let mut want: Vec<(u64, usize)> = raw.iter().copied().zip(0..n).collect();
            want.sort();
            let got: Vec<(u64, usize)> = keys
                .iter()
                .map(|k| (k >> ib, (k & ((1 << ib) - 1)) as usize))
                .collect();
            assert_eq!(got, want, "n = {n}");
        }
    }

    #[test]
    fn index_bits_hold_the_largest_index() {
        assert_eq!(index_bits(0), 1);
        assert_eq!(index_bits(2), 1);
        assert_eq!(index_bits(3), 2);
        assert_eq!(index_bits(1 << 20), 20);
        assert_eq!(index_bits((1 << 20) + 1), 21);
    }
}
