//! A branch-free, table-driven `2^(a b)` for `a b <= 0` that vectorises: the kernel weight of the
//! exact `O(N^2)` summation, `w = exp(-beta |x - y|^2 / 2) = 2^(q h)` with `q = |x - y|^2` and
//! `h = -beta log2(e) / 2`, so that neither a separate range reduction by `ln 2` nor a separate
//! multiplication by `h` is needed.
//!
//! `q h = n + k/16 + f` with `k` in `0..16` and `|f| <= 1/32`: `t = fma(q, h, 1.5 * 2^48)` rounds
//! the exact product to a multiple of `1/16` whose integer `16n + k` sits in the low bits of `t`,
//! `m = t - 1.5 * 2^48` is that multiple (exact) and `f = fma(q, h, -m)` the remainder, with one
//! rounding of a number below `1/32` (the product itself is never rounded). Then
//! `2^(q h) = s + (s f) g(f)` with `s = 2^n * 2^(k/16)` (table `2^(k/16)` correctly rounded,
//! `2^n` added to its exponent bits) and `p(f) = 1 + f g(f)` a degree-6 Chebyshev fit of `2^f`
//! on `[-1/32, 1/32]` (relative error `7.8e-18` with the rounded coefficients; `g` by Horner's
//! scheme). Table and coefficients come from `scripts/exp2_coefficients.py` (mpmath).
//!
//! **Clamp.** Products below `CLAMP = -1000` give `2^(CLAMP - 1/32) ~ 9.1e-302` (negligible
//! against the self-interaction term `1`): `t` is clamped at `1.5 * 2^48 + CLAMP` and `f` at
//! `-1/32`, neither of which changes anything for products `>= CLAMP - 1/32`. A NaN product
//! gives the clamped value too. Accuracy: within 1.5 ulp of `2^(a b)` for the exact product
//! (unit tests against an independent double-double evaluation: at most 1.0 ulp; the portable
//! path, which rounds `a b` first, within 1.0 ulp of `2^fl(a b)`).
//!
//! The AVX2 version looks the table up with four 8-way dword permutes (no gather), the AVX-512
//! version with one two-source 64-bit permute; both compute, lane for lane, exactly what the
//! scalar [`exp2_product`]`::<true>` computes, so every SIMD path weighs a pair identically.

/// `2^(k/16)`, `k = 0..16`, correctly rounded (`scripts/exp2_coefficients.py`).
const TABLE: [f64; 16] = [
    f64::from_bits(0x3ff0_0000_0000_0000),
    f64::from_bits(0x3ff0_b558_6cf9_890f),
    f64::from_bits(0x3ff1_72b8_3c7d_517b),
    f64::from_bits(0x3ff2_387a_6e75_6238),
    f64::from_bits(0x3ff3_06fe_0a31_b715),
    f64::from_bits(0x3ff3_dea6_4c12_3422),
    f64::from_bits(0x3ff4_bfda_d536_2a27),
    f64::from_bits(0x3ff5_ab07_dd48_5429),
    f64::from_bits(0x3ff6_a09e_667f_3bcd),
    f64::from_bits(0x3ff7_a114_73eb_0187),
    f64::from_bits(0x3ff8_ace5_422a_a0db),
    f64::from_bits(0x3ff9_c491_82a3_f090),
    f64::from_bits(0x3ffa_e89f_995a_d3ad),
    f64::from_bits(0x3ffc_199b_dd85_529c),
    f64::from_bits(0x3ffd_5818_dcfb_a487),
    f64::from_bits(0x3ffe_a4af_a2a4_90da),
];
/// Degree-6 fit of `2^f` on `[-1/32, 1/32]`, ascending powers (`scripts/exp2_coefficients.py`).
const P: [f64; 7] = [
    f64::from_bits(0x3ff0_0000_0000_0000),
    f64::from_bits(0x3fe6_2e42_fefa_39fd),
    f64::from_bits(0x3fce_bfbd_ff82_c594),
    f64::from_bits(0x3fac_6b08_d6e8_a384),
    f64::from_bits(0x3f83_b2ab_6fb0_9b31),
    f64::from_bits(0x3f55_d89b_e4c1_2513),
    f64::from_bits(0x3f24_30a4_9610_efc6),
];
/// `1.5 * 2^48`: adding it rounds to a multiple of `1/16`.
const MAGIC: f64 = 422_212_465_065_984.0;
/// The bits of `TABLE[k]` minus `k << 48`: adding the bits of `t` shifted left by 48, which are
/// `(16n + k) << 48`, gives the bits of `2^n TABLE[k]` (no mask needed).
const TABLE_BITS: [u64; 16] = {
    let mut b = [0u64; 16];
    let mut k = 0;
    while k < 16 {
        b[k] = TABLE[k].to_bits().wrapping_sub((k as u64) << 48);
        k += 1;
    }
    b
};
/// Products below this are clamped (see the module documentation).
pub const CLAMP: f64 = -1000.0;
/// The clamp of `t`: `MAGIC + CLAMP` (exact).
const T_CLAMP: f64 = MAGIC + CLAMP;
/// The clamp of `f` (a no-op for products `>= CLAMP - 1/32`).
const F_CLAMP: f64 = -1.0 / 32.0;

/// `2^(a b)` for `a b <= 0` (see the module documentation), with fused multiply-adds when `FMA`
/// is true (then equal to every lane of [`exp2_avx2`] and [`exp2_avx512`]) and plain
/// multiply-adds otherwise (the portable path).
#[inline(always)]
pub fn exp2_product<const FMA: bool>(a: f64, b: f64) -> f64 {
    let t = madd::<FMA>(a, b, MAGIC);
    // `vmaxpd(t, T_CLAMP)` semantics: NaN becomes T_CLAMP.
    let t = if t > T_CLAMP { t } else { T_CLAMP };
    let m = t - MAGIC;
    let f = if FMA { a.mul_add(b, -m) } else { a * b - m };
    let f = if f > F_CLAMP { f } else { F_CLAMP };
    let bits = t.to_bits();
    let scale = f64::from_bits(TABLE_BITS[(bits & 15) as usize].wrapping_add(bits << 48));
    // p(f) = 1 + f g(f) (P[0] = 1 exactly), and 2^(a b) = scale + (scale f) g: the rounding
    // errors of g are scaled by |f g| < 0.025.
    let mut g = madd::<FMA>(P[6], f, P[5]);
    g = madd::<FMA>(g, f, P[4]);
    g = madd::<FMA>(g, f, P[3]);
    g = madd::<FMA>(g, f, P[2]);
    g = madd::<FMA>(g, f, P[1]);
    madd::<FMA>(scale * f, g, scale)
}

/// Four lanes of [`exp2_product`]`::<true>` with AVX2 + FMA intrinsics (identical results lane
/// for lane). With `CLAMPED = false` the clamps are skipped and every product must be
/// `>= CLAMP` (for `a b = h q >= 2h`: the callers use it when `-4h + 1 < 1000`; a NaN lane
/// then gives NaN instead of the clamped value).
///
/// # Safety
///
/// Callable only on processors with AVX2 and FMA (see [`has_avx2_fma`]).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[inline]
pub fn exp2_avx2<const CLAMPED: bool>(
    a: std::arch::x86_64::__m256d,
    b: std::arch::x86_64::__m256d,
) -> std::arch::x86_64::__m256d {
    use std::arch::x86_64::*;
    let magic = _mm256_set1_pd(MAGIC);
    let t = _mm256_fmadd_pd(a, b, magic);
    let t = if CLAMPED {
        _mm256_max_pd(t, _mm256_set1_pd(T_CLAMP))
    } else {
        t
    };
    let m = _mm256_sub_pd(t, magic);
    let f = _mm256_fmsub_pd(a, b, m);
    let f = if CLAMPED {
        _mm256_max_pd(f, _mm256_set1_pd(F_CLAMP))
    } else {
        f
    };
    let ti = _mm256_castpd_si256(t);
    // Table lookup: copy the low dword of each lane (whose low 4 bits are k) into the high one;
    // dword permutes (which use the low 3 bits) fetch the low and the high halves of
    // TABLE_BITS[k & 7] and TABLE_BITS[8 + (k & 7)]; interleave them, then choose by bit 3 of
    // k (moved to the sign bit), and add the shifted bits of t.
    let idx = _mm256_shuffle_epi32::<0b1010_0000>(ti);
    let lo = |k: usize| TABLE_BITS[k] as u32 as i32;
    let hi = |k: usize| (TABLE_BITS[k] >> 32) as u32 as i32;
    let half = |part: &dyn Fn(usize) -> i32, o: usize| {
        _mm256_setr_epi32(
            part(o),
            part(o + 1),
            part(o + 2),
            part(o + 3),
            part(o + 4),
            part(o + 5),
            part(o + 6),
            part(o + 7),
        )
    };
    let low_entries = _mm256_blend_epi32::<0b1010_1010>(
        _mm256_permutevar8x32_epi32(half(&lo, 0), idx),
        _mm256_permutevar8x32_epi32(half(&hi, 0), idx),
    );
    let high_entries = _mm256_blend_epi32::<0b1010_1010>(
        _mm256_permutevar8x32_epi32(half(&lo, 8), idx),
        _mm256_permutevar8x32_epi32(half(&hi, 8), idx),
    );
    let entry = _mm256_castpd_si256(_mm256_blendv_pd(
        _mm256_castsi256_pd(low_entries),
        _mm256_castsi256_pd(high_entries),
        _mm256_castsi256_pd(_mm256_slli_epi64::<60>(ti)),
    ));
    let scale = _mm256_castsi256_pd(_mm256_add_epi64(entry, _mm256_slli_epi64::<48>(ti)));
    let c = |k: usize| _mm256_set1_pd(P[k]);
    let mut g = _mm256_fmadd_pd(c(6), f, c(5));
    g = _mm256_fmadd_pd(g, f, c(4));
    g = _mm256_fmadd_pd(g, f, c(3));
    g = _mm256_fmadd_pd(g, f, c(2));
    g = _mm256_fmadd_pd(g, f, c(1));
    _mm256_fmadd_pd(_mm256_mul_pd(scale, f), g, scale)
}

/// Eight lanes of [`exp2_product`]`::<true>` with AVX-512F intrinsics (identical results lane
/// for lane; `CLAMPED` as for [`exp2_avx2`]). The table lookup is one two-source 64-bit
/// permute (`vpermt2q` takes the index from the low 4 bits of each lane of `t`, which are `k`).
///
/// # Safety
///
/// Callable only on processors with AVX-512F.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
#[inline]
pub fn exp2_avx512<const CLAMPED: bool>(
    a: std::arch::x86_64::__m512d,
    b: std::arch::x86_64::__m512d,
) -> std::arch::x86_64::__m512d {
    use std::arch::x86_64::*;
    let magic = _mm512_set1_pd(MAGIC);
    let t = _mm512_fmadd_pd(a, b, magic);
    let t = if CLAMPED {
        _mm512_max_pd(t, _mm512_set1_pd(T_CLAMP))
    } else {
        t
    };
    let m = _mm512_sub_pd(t, magic);
    let f = _mm512_fmsub_pd(a, b, m);
    let f = if CLAMPED {
        _mm512_max_pd(f, _mm512_set1_pd(F_CLAMP))
    } else {
        f
    };
    let ti = _mm512_castpd_si512(t);
    let e = |k: usize| TABLE_BITS[k] as i64;
    let low = _mm512_setr_epi64(e(0), e(1), e(2), e(3), e(4), e(5), e(6), e(7));
    let high = _mm512_setr_epi64(e(8), e(9), e(10), e(11), e(12), e(13), e(14), e(15));
    let entry = _mm512_permutex2var_epi64(low, ti, high);
    let scale = _mm512_castsi512_pd(_mm512_add_epi64(entry, _mm512_slli_epi64::<48>(ti)));
    let c = |k: usize| _mm512_set1_pd(P[k]);
    let mut g = _mm512_fmadd_pd(c(6), f, c(5));
    g = _mm512_fmadd_pd(g, f, c(4));
    g = _mm512_fmadd_pd(g, f, c(3));
    g = _mm512_fmadd_pd(g, f, c(2));
    g = _mm512_fmadd_pd(g, f, c(1));
    _mm512_fmadd_pd(_mm512_mul_pd(scale, f), g, scale)
}

/// `a * b + c`, fused (one rounding) when `FMA` is true. `FMA = true` is used inside
/// `#[target_feature(enable = "avx2,fma")]` code (scalar tails of the SIMD kernels, the fast
/// summation kernels) when the processor has them, `FMA = false` in the portable code paths;
/// results are independent of the thread count either way (but differ in the last bits between
/// the two code paths).
#[inline(always)]
pub fn madd<const FMA: bool>(a: f64, b: f64, c: f64) -> f64 {
    if FMA {
        a.mul_add(b, c)
    } else {
        a * b + c
    }
}

/// True when the running processor has AVX2 and FMA and the environment variable
/// `ATTNFLOW_PORTABLE` is not set (checked once). With `ATTNFLOW_PORTABLE` set, every kernel uses
/// its portable code path (plain multiply-add, no SIMD intrinsics).
pub fn has_avx2_fma() -> bool {
    static FLAG: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *FLAG.get_or_init(|| {
        if std::env::var_os("ATTNFLOW_PORTABLE").is_some() {
            return false;
        }
        #[cfg(target_arch = "x86_64")]
        {
            std::arch::is_x86_feature_detected!("avx2")
                && std::arch::is_x86_feature_detected!("fma")
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            false
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    fn exp2_fma_inner(a: f64, b: f64) -> f64 {
        exp2_product::<true>(a, b)
    }

    /// Whether every product of a chunk is `>= CLAMP` (the unclamped lanes must then agree).
    fn unclamped_ok(a: &[f64], b: &[f64]) -> bool {
        a.iter().zip(b).all(|(x, y)| x * y >= CLAMP)
    }

    /// Four lanes of `exp2_avx2` (clamped, and unclamped when every product is `>= CLAMP`).
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    fn lanes4(a: [f64; 4], b: [f64; 4]) -> ([f64; 4], Option<[f64; 4]>) {
        use std::arch::x86_64::*;
        let (mut clamped, mut unclamped) = ([0.0; 4], [0.0; 4]);
        // SAFETY: `a`, `b`, `clamped` and `unclamped` hold 4 f64.
        unsafe {
            let (va, vb) = (_mm256_loadu_pd(a.as_ptr()), _mm256_loadu_pd(b.as_ptr()));
            _mm256_storeu_pd(clamped.as_mut_ptr(), exp2_avx2::<true>(va, vb));
            _mm256_storeu_pd(unclamped.as_mut_ptr(), exp2_avx2::<false>(va, vb));
        }
        (clamped, unclamped_ok(&a, &b).then_some(unclamped))
    }

    /// Eight lanes of `exp2_avx512` (clamped, and unclamped when every product is `>= CLAMP`).
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f")]
    fn lanes8(a: [f64; 8], b: [f64; 8]) -> ([f64; 8], Option<[f64; 8]>) {
        use std::arch::x86_64::*;
        let (mut clamped, mut unclamped) = ([0.0; 8], [0.0; 8]);
        // SAFETY: `a`, `b`, `clamped` and `unclamped` hold 8 f64.
        unsafe {
            let (va, vb) = (_mm512_loadu_pd(a.as_ptr()), _mm512_loadu_pd(b.as_ptr()));
            _mm512_storeu_pd(clamped.as_mut_ptr(), exp2_avx512::<true>(va, vb));
            _mm512_storeu_pd(unclamped.as_mut_ptr(), exp2_avx512::<false>(va, vb));
        }
        (clamped, unclamped_ok(&a, &b).then_some(unclamped))
    }

    /// Factor pairs `(a, b)`: exponents `z = a` in `[-1000, 0]` with `b = 1` (dense near 0,
    /// where the kernel weights of nearby tokens sit, plus every multiple of 1/32 in `[-20, 0]`
    /// and just beside them: the boundaries of the reduction intervals), and kernel products
    /// `q h` with `q` in `[0, 4]` and `h = -beta log2(e) / 2` for beta from 0.5 to 1000.
    fn arguments() -> (Vec<f64>, Vec<f64>) {
        let m = 100_000;
        let mut a: Vec<f64> = (0..=m)
            .map(|i| -1000.0 * (i as f64 / m as f64).powi(3))
            .collect();
        a.extend((0..=640).map(|i| -(i as f64) / 32.0));
        a.extend((0..=640).map(|i| -(i as f64) / 32.0 - 1e-12));
        a.extend((0..=640).map(|i| -(i as f64) / 32.0 + 1e-12));
        let mut b = vec![1.0; a.len()];
        for beta in [0.5, 9.0, 100.0, 1000.0] {
            let h = -0.5 * beta * std::f64::consts::LOG2_E;
            for i in 0..=20_000 {
                a.push(4.0 * (i as f64 / 20_000.0).powi(2));
                b.push(h);
            }
        }
        // A multiple of 8 (the widest lanes).
        while !a.len().is_multiple_of(8) {
            a.push(0.0);
            b.push(1.0);
        }
        (a, b)
    }

    /// `h + l` with `|l| <= ulp(h)/2` from `a + b` (two-sum).
    fn two_sum(a: f64, b: f64) -> (f64, f64) {
        let s = a + b;
        let bb = s - a;
        (s, (a - (s - bb)) + (b - bb))
    }

    /// Double-double product.
    fn dd_mul((ah, al): (f64, f64), (bh, bl): (f64, f64)) -> (f64, f64) {
        let p = ah * bh;
        two_sum(p, ah.mul_add(bh, -p) + (ah * bl + al * bh))
    }

    /// `2^(a b)` from the exact product `a b = zh + zl` (a fused multiply-add), independent of
    /// the code under test: `2^n e^y` with `n` the nearest integer and `y = (a b - n) ln 2` in
    /// double-double, `e^y` by its Taylor series in double-double (relative error ~1e-30).
    fn exact(a: f64, b: f64) -> f64 {
        const LN2: (f64, f64) = (std::f64::consts::LN_2, 2.319_046_813_846_299_6e-17);
        let zh = a * b;
        let zl = a.mul_add(b, -zh);
        let n = zh.round();
        let y = dd_mul(two_sum(zh - n, zl), LN2);
        let (mut sum, mut term) = ((1.0, 0.0), (1.0, 0.0));
        for k in 1..40 {
            term = dd_mul(term, y);
            let q = term.0 / k as f64;
            let r = (-q).mul_add(k as f64, term.0) + term.1;
            term = two_sum(q, r / k as f64);
            let (s, e) = two_sum(sum.0, term.0);
            sum = two_sum(s, e + sum.1 + term.1);
        }
        (sum.0 + sum.1) * 2f64.powi(n as i32)
    }

    /// Error of `x` in units in the last place of the reference `r > 0` (a normal number).
    fn ulps(x: f64, r: f64) -> f64 {
        let ulp = f64::from_bits((r.to_bits() >> 52) << 52) * f64::EPSILON;
        (x - r).abs() / ulp
    }

    #[test]
    fn matches_an_accurate_exp2_to_one_and_a_half_ulp() {
        assert_eq!(P[0], 1.0, "p(f) = 1 + f g(f) needs P[0] = 1");
        let (a, b) = arguments();
        // `fused`: against the exact product; `rounded`: against the rounded product (the
        // portable path rounds `a b` first, an error of up to `|a b| eps` in the exponent).
        let worst = |e: &dyn Fn(f64, f64) -> f64, fused: bool| {
            a.iter()
                .zip(&b)
                .filter(|(x, y)| *x * *y >= CLAMP)
                .map(|(&x, &y)| {
                    let r = if fused {
                        exact(x, y)
                    } else {
                        exact(x * y, 1.0)
                    };
                    ulps(e(x, y), r)
                })
                .fold(0.0f64, f64::max)
        };
        // Ours: table entry (0.5 ulp), the final multiply-add (0.5 ulp), the polynomial and
        // `s f` (well below 0.1 ulp).
        let plain = worst(&exp2_product::<false>, false);
        assert!(plain < 1.5, "worst error {plain} ulp");
        eprintln!("portable: worst {plain:.3} ulp");
        if has_avx2_fma() {
            // SAFETY: only called after has_avx2_fma().
            let fused = worst(&|x, y| unsafe { exp2_fma_inner(x, y) }, true);
            assert!(fused < 1.5, "fma: worst error {fused} ulp");
            eprintln!("fma: worst {fused:.3} ulp");
        }
        assert_eq!(exp2_product::<false>(0.0, 1.0), 1.0);
        assert_eq!(exp2_product::<false>(-3.0, 1.0), 0.125);
        assert_eq!(exp2_product::<false>(0.0, -1e3), 1.0);
        assert_eq!(exp2_product::<false>(6.0, -0.5), 0.125);
        // Below the clamp: the value at CLAMP - 1/32, whatever the argument (NaN too).
        let clamped = exp2_product::<false>(CLAMP + F_CLAMP, 1.0);
        assert!(ulps(clamped, (CLAMP + F_CLAMP).exp2()) < 1.5);
        for (x, y) in [
            (-5000.0, 1.0),
            (4.0, -1000.0),
            (f64::NAN, 1.0),
            (-1e300, 1e10),
        ] {
            assert_eq!(exp2_product::<false>(x, y), clamped, "{x} * {y}");
        }
    }

    /// `(h + l)^2` in double-double (exact product by a fused multiply-add).
    fn dd_square((h, l): (f64, f64)) -> (f64, f64) {
        let p = h * h;
        let e = h.mul_add(h, -p) + 2.0 * h * l;
        let s = p + e;
        (s, e - (s - p))
    }

    #[test]
    fn table_is_correctly_rounded() {
        // TABLE[k] is the correctly rounded 2^(k/16) iff the exact value lies between the two
        // midpoints TABLE[k] -+ ulp/2, i.e. (TABLE[k] - ulp/2)^16 < 2^k < (TABLE[k] + ulp/2)^16;
        // the 16th powers by four double-double squarings (relative error ~1e-31).
        for (k, &t) in TABLE.iter().enumerate() {
            let half_ulp = f64::EPSILON / 2.0; // 1 <= t < 2
            let sixteenth = |m: (f64, f64)| dd_square(dd_square(dd_square(dd_square(m))));
            let two_k = (k as f64).exp2();
            let (lo_h, lo_l) = sixteenth((t, -half_ulp));
            let (hi_h, hi_l) = sixteenth((t, half_ulp));
            assert!(
                (lo_h - two_k) + lo_l < 0.0,
                "k={k}: 2^(k/16) is not above the lower midpoint"
            );
            assert!(
                (hi_h - two_k) + hi_l > 0.0,
                "k={k}: 2^(k/16) is not below the upper midpoint"
            );
        }
        assert_eq!(TABLE[0], 1.0);
        assert_eq!(TABLE[8], std::f64::consts::SQRT_2);
    }

    /// Special factor pairs: NaN, far below the clamp, zero, tiny and slightly positive
    /// products (the self-interaction term after rounding), the clamp boundary.
    fn specials() -> (Vec<f64>, Vec<f64>) {
        let a = vec![
            f64::NAN,
            -1e6,
            0.0,
            1e-14,
            1e-13,
            3e-15,
            0.02,
            0.5, //
            -1000.0,
            -1000.03125,
            -1000.01,
            -999.99,
            4.0,
            4.0,
            1e-300,
            2.0,
        ];
        let b = vec![
            1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, //
            1.0, 1.0, 1.0, 1.0, -250.0, -249.9, -7.0, -0.0,
        ];
        (a, b)
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn avx2_lanes_equal_the_scalar_fma_version() {
        if !has_avx2_fma() {
            return;
        }
        let (mut a, mut b) = arguments();
        let (sa, sb) = specials();
        a.extend(sa);
        b.extend(sb);
        for (ca, cb) in a.chunks_exact(4).zip(b.chunks_exact(4)) {
            let (x, y): ([f64; 4], [f64; 4]) = (ca.try_into().unwrap(), cb.try_into().unwrap());
            // SAFETY: features checked above.
            let (v, u) = unsafe { lanes4(x, y) };
            let s: [f64; 4] = std::array::from_fn(|l| unsafe { exp2_fma_inner(x[l], y[l]) });
            assert_eq!(v.map(f64::to_bits), s.map(f64::to_bits), "{x:?} * {y:?}");
            if let Some(u) = u {
                assert_eq!(u.map(f64::to_bits), s.map(f64::to_bits), "unclamped {x:?}");
            }
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn avx512_lanes_equal_the_scalar_fma_version() {
        if !(has_avx2_fma() && std::arch::is_x86_feature_detected!("avx512f")) {
            return;
        }
        let (mut a, mut b) = arguments();
        let (sa, sb) = specials();
        a.extend(sa);
        b.extend(sb);
        for (ca, cb) in a.chunks_exact(8).zip(b.chunks_exact(8)) {
            let (x, y): ([f64; 8], [f64; 8]) = (ca.try_into().unwrap(), cb.try_into().unwrap());
            // SAFETY: features checked above.
            let (v, u) = unsafe { lanes8(x, y) };
            let s: [f64; 8] = std::array::from_fn(|l| unsafe { exp2_fma_inner(x[l], y[l]) });
            assert_eq!(v.map(f64::to_bits), s.map(f64::to_bits), "{x:?} * {y:?}");
            if let Some(u) = u {
                assert_eq!(u.map(f64::to_bits), s.map(f64::to_bits), "unclamped {x:?}");
            }
        }
    }
}
