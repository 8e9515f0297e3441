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
    let n = keys.len();
    if n < 2 || low >= 64 {
        return;
    }
    if n <= 256 {
        keys.sort_by_key(|k| k >> low);
        return;
    }
    let passes = (64 - low).div_ceil(DIGIT) as usize;
    let mut hist = vec![[0usize; RADIX]; passes];
    for &k in keys.iter() {
        let k = k >> low;
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
        let shift = low + p as u32 * DIGIT;
        for &k in keys.iter() {
            let d = ((k >> shift) as usize) & (RADIX - 1);
            scratch[offset[d]] = k;
            offset[d] += 1;
        }
        std::mem::swap(keys, scratch);
    }
}

/// `u64` with the order of [`f64::total_cmp`].
pub fn total_order_bits(v: f64) -> u64 {
    let b = v.to_bits();
    if b >> 63 == 1 {
        !b
    } else {
        b | (1 << 63)
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
            sort_above(&mut keys, &mut scratch, ib);
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
    fn total_order_bits_orders_like_total_cmp() {
        let v = [
            f64::NEG_INFINITY,
            -3.5,
            -1e-300,
            -0.0,
            0.0,
            5e-324,
            1.0,
            f64::INFINITY,
        ];
        for a in v {
            for b in v {
                assert_eq!(
                    total_order_bits(a).cmp(&total_order_bits(b)),
                    a.total_cmp(&b),
                    "{a} {b}"
                );
            }
        }
        assert_eq!(index_bits(0), 1);
        assert_eq!(index_bits(2), 1);
        assert_eq!(index_bits(3), 2);
        assert_eq!(index_bits(1 << 20), 20);
        assert_eq!(index_bits((1 << 20) + 1), 21);
    }
}
