//! A branch-free, table-driven `2^z` for `z <= 0` that vectorises (the kernel weight of the exact
//! `O(N^2)` summation, which writes `exp(beta(<x,y> - 1)) = 2^z` with `z = beta log2(e) (<x,y> - 1)`
//! so that no separate range reduction by `ln 2` is needed).
//!
//! `z = n + k/8 + f` with `k` in `0..8` and `|f| <= 1/16`: `t = z + 1.5 * 2^49` rounds `z` to a
//! multiple of `1/8` whose integer `8n + k` sits in the low bits of `t`, and `f = z - (t - 1.5 *
//! 2^49)` is exact. Then `2^z = s + s (f g(f))` with `s = 2^n * 2^(k/8)` (table `2^(k/8)`
//! correctly rounded, `2^n` added to its exponent bits) and `p(f) = 1 + f g(f)` a degree-7
//! Chebyshev fit of `2^f` on `[-1/16, 1/16]` (relative error `6.4e-18` with the rounded
//! coefficients; `g` by Estrin's scheme). Table and
//! coefficients come from `scripts/exp2_coefficients.py` (mpmath). Arguments below `-1000` are
//! clamped to `-1000` (result `~1e-301`, negligible against the self-interaction term `1`).
//! Accuracy: within 1.5 ulp (unit tests: at most 1.0 ulp from `f64::exp2`; an independent
//! emulation against the exact `2^z` found 1.02 ulp at worst).
//!
//! The AVX2 version looks the table up with two 8-way dword permutes (no gather), the AVX-512
//! version with one 8-way qword permute; both compute, lane for lane, exactly what the scalar
//! [`exp2_nonpositive`]`::<true>` computes.

/// `2^(k/8)`, `k = 0..8`, correctly rounded (`scripts/exp2_coefficients.py`).
const TABLE: [f64; 8] = [
    f64::from_bits(0x3ff0_0000_0000_0000),
    f64::from_bits(0x3ff1_72b8_3c7d_517b),
    f64::from_bits(0x3ff3_06fe_0a31_b715),
    f64::from_bits(0x3ff4_bfda_d536_2a27),
    f64::from_bits(0x3ff6_a09e_667f_3bcd),
    f64::from_bits(0x3ff8_ace5_422a_a0db),
    f64::from_bits(0x3ffa_e89f_995a_d3ad),
    f64::from_bits(0x3ffd_5818_dcfb_a487),
];
/// Degree-7 fit of `2^f` on `[-1/16, 1/16]`, ascending powers (`scripts/exp2_coefficients.py`).
const P: [f64; 8] = [
    f64::from_bits(0x3ff0_0000_0000_0000),
    f64::from_bits(0x3fe6_2e42_fefa_39ef),
    f64::from_bits(0x3fce_bfbd_ff82_c854),
    f64::from_bits(0x3fac_6b08_d704_a19a),
    f64::from_bits(0x3f83_b2ab_6edc_9440),
    f64::from_bits(0x3f55_d87f_e701_ca7b),
    f64::from_bits(0x3f24_30e9_e035_fe1a),
    f64::from_bits(0x3eef_fd2d_0f80_056f),
];
/// `1.5 * 2^49`: adding it rounds to a multiple of `1/8`.
const MAGIC: f64 = 844_424_930_131_968.0;
/// The bits of `TABLE[k]` minus `k << 49`: adding the bits of `t` shifted left by 49, which are
/// `(8n + k) << 49`, gives the bits of `2^n TABLE[k]` (no mask needed).
const TABLE_BITS: [u64; 8] = {
    let mut b = [0u64; 8];
    let mut k = 0;
    while k < 8 {
        b[k] = TABLE[k].to_bits().wrapping_sub((k as u64) << 49);
        k += 1;
    }
    b
};
/// Arguments below this are clamped.
pub const CLAMP: f64 = -1000.0;

/// `2^z` for `z <= 0` (see the module documentation), the polynomial evaluated by [`madd`]
/// (Estrin's scheme). With `FMA = true` the result equals every lane of [`exp2_avx2`].
#[inline(always)]
pub fn exp2_nonpositive<const FMA: bool>(z: f64) -> f64 {
    // `vmaxpd(z, CLAMP)` semantics: NaN becomes CLAMP.
    let z = if z > CLAMP { z } else { CLAMP };
    let t = z + MAGIC;
    let f = z - (t - MAGIC);
    let bits = t.to_bits();
    let scale = f64::from_bits(TABLE_BITS[(bits & 7) as usize].wrapping_add(bits << 49));
    // p(f) = 1 + f g(f) (P[0] = 1 exactly), and 2^z = scale + scale (f g): the rounding errors
    // of g are scaled by |f g| < 0.05.
    let f2 = f * f;
    let r0 = madd::<FMA>(P[2], f, P[1]);
    let r1 = madd::<FMA>(P[4], f, P[3]);
    let r2 = madd::<FMA>(P[6], f, P[5]);
    let r3 = madd::<FMA>(P[7], f2, r2);
    let f4 = f2 * f2;
    let s0 = madd::<FMA>(r1, f2, r0);
    let g = madd::<FMA>(r3, f4, s0);
    madd::<FMA>(scale, f * g, scale)
}

/// Four lanes of [`exp2_nonpositive`]`::<true>` with AVX2 + FMA intrinsics (identical results
/// lane for lane). With `CLAMPED = false` the clamp is skipped and every lane must be
/// `>= CLAMP` (for `z = b(<x,y> - 1) >= -2b`: the callers use it when `2b + 1 < 1000`; a NaN lane
/// then gives NaN instead of `2^CLAMP`).
///
/// # Safety
///
/// Callable only on processors with AVX2 and FMA (see [`has_avx2_fma`]).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[inline]
pub fn exp2_avx2<const CLAMPED: bool>(z: std::arch::x86_64::__m256d) -> std::arch::x86_64::__m256d {
    use std::arch::x86_64::*;
    let z = if CLAMPED {
        _mm256_max_pd(z, _mm256_set1_pd(CLAMP))
    } else {
        z
    };
    let magic = _mm256_set1_pd(MAGIC);
    let t = _mm256_add_pd(z, magic);
    let f = _mm256_sub_pd(z, _mm256_sub_pd(t, magic));
    let ti = _mm256_castpd_si256(t);
    // Table lookup: copy the low dword of each lane (whose low 3 bits are k) into the high one,
    // fetch the low and the high halves of TABLE_BITS[k] by dword permutes, interleave them and
    // add the shifted bits of t.
    let idx = _mm256_shuffle_epi32::<0b1010_0000>(ti);
    let lo = |k: usize| TABLE_BITS[k] as u32 as i32;
    let hi = |k: usize| (TABLE_BITS[k] >> 32) as u32 as i32;
    let table_lo = _mm256_setr_epi32(lo(0), lo(1), lo(2), lo(3), lo(4), lo(5), lo(6), lo(7));
    let table_hi = _mm256_setr_epi32(hi(0), hi(1), hi(2), hi(3), hi(4), hi(5), hi(6), hi(7));
    let entry = _mm256_blend_epi32::<0b1010_1010>(
        _mm256_permutevar8x32_epi32(table_lo, idx),
        _mm256_permutevar8x32_epi32(table_hi, idx),
    );
    let scale = _mm256_castsi256_pd(_mm256_add_epi64(entry, _mm256_slli_epi64::<49>(ti)));
    let c = |k: usize| _mm256_set1_pd(P[k]);
    let f2 = _mm256_mul_pd(f, f);
    let r0 = _mm256_fmadd_pd(c(2), f, c(1));
    let r1 = _mm256_fmadd_pd(c(4), f, c(3));
    let r2 = _mm256_fmadd_pd(c(6), f, c(5));
    let r3 = _mm256_fmadd_pd(c(7), f2, r2);
    let f4 = _mm256_mul_pd(f2, f2);
    let s0 = _mm256_fmadd_pd(r1, f2, r0);
    let g = _mm256_fmadd_pd(r3, f4, s0);
    _mm256_fmadd_pd(scale, _mm256_mul_pd(f, g), scale)
}

/// Eight lanes of [`exp2_nonpositive`]`::<true>` with AVX-512F intrinsics (identical results
/// lane for lane; `CLAMPED` as for [`exp2_avx2`]). The table lookup is one 64-bit permute
/// (`vpermq` takes the index from the low 3 bits of each lane of `t`, which are `k`).
///
/// # Safety
///
/// Callable only on processors with AVX-512F.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
#[inline]
pub fn exp2_avx512<const CLAMPED: bool>(
    z: std::arch::x86_64::__m512d,
) -> std::arch::x86_64::__m512d {
    use std::arch::x86_64::*;
    let z = if CLAMPED {
        _mm512_max_pd(z, _mm512_set1_pd(CLAMP))
    } else {
        z
    };
    let magic = _mm512_set1_pd(MAGIC);
    let t = _mm512_add_pd(z, magic);
    let f = _mm512_sub_pd(z, _mm512_sub_pd(t, magic));
    let ti = _mm512_castpd_si512(t);
    let e = |k: usize| TABLE_BITS[k] as i64;
    let table = _mm512_setr_epi64(e(0), e(1), e(2), e(3), e(4), e(5), e(6), e(7));
    let entry = _mm512_permutexvar_epi64(ti, table);
    let scale = _mm512_castsi512_pd(_mm512_add_epi64(entry, _mm512_slli_epi64::<49>(ti)));
    let c = |k: usize| _mm512_set1_pd(P[k]);
    let f2 = _mm512_mul_pd(f, f);
    let r0 = _mm512_fmadd_pd(c(2), f, c(1));
    let r1 = _mm512_fmadd_pd(c(4), f, c(3));
    let r2 = _mm512_fmadd_pd(c(6), f, c(5));
    let r3 = _mm512_fmadd_pd(c(7), f2, r2);
    let f4 = _mm512_mul_pd(f2, f2);
    let s0 = _mm512_fmadd_pd(r1, f2, r0);
    let g = _mm512_fmadd_pd(r3, f4, s0);
    _mm512_fmadd_pd(scale, _mm512_mul_pd(f, g), scale)
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
    fn exp2_fma_inner(z: f64) -> f64 {
        exp2_nonpositive::<true>(z)
    }

    /// Four lanes of `exp2_avx2` (clamped, and unclamped when every lane is `>= CLAMP`) next to
    /// the scalar FMA version.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    fn lanes_and_scalar(z: [f64; 4]) -> ([f64; 4], [f64; 4], [f64; 4]) {
        use std::arch::x86_64::*;
        let (mut clamped, mut unclamped) = ([0.0; 4], [0.0; 4]);
        // SAFETY: `z`, `clamped` and `unclamped` hold 4 f64.
        unsafe {
            let v = _mm256_loadu_pd(z.as_ptr());
            _mm256_storeu_pd(clamped.as_mut_ptr(), exp2_avx2::<true>(v));
            _mm256_storeu_pd(unclamped.as_mut_ptr(), exp2_avx2::<false>(v));
        }
        if !z.iter().all(|&v| v >= CLAMP) {
            unclamped = clamped;
        }
        (clamped, unclamped, z.map(exp2_nonpositive::<true>))
    }

    /// Arguments in `[-1000, 0]`, dense near 0 (where the kernel weights of nearby tokens sit),
    /// plus every multiple of 1/16 in `[-20, 0]` (the boundaries of the reduction intervals).
    fn arguments() -> Vec<f64> {
        let m = 200_000;
        let mut z: Vec<f64> = (0..=m)
            .map(|i| -1000.0 * (i as f64 / m as f64).powi(3))
            .collect();
        z.extend((0..=320).map(|i| -(i as f64) / 16.0));
        z.extend((0..=320).map(|i| -(i as f64) / 16.0 - 1e-12));
        z
    }

    /// Error of `a` in units in the last place of the reference `b > 0` (a normal number).
    fn ulps(a: f64, b: f64) -> f64 {
        let ulp = f64::from_bits((b.to_bits() >> 52) << 52) * f64::EPSILON;
        (a - b).abs() / ulp
    }

    #[test]
    fn matches_std_exp2_to_one_and_a_half_ulp() {
        assert_eq!(P[0], 1.0, "p(f) = 1 + f g(f) needs P[0] = 1");
        let worst = |e: &dyn Fn(f64) -> f64| {
            arguments()
                .into_iter()
                .map(|z| ulps(e(z), z.exp2()))
                .fold(0.0f64, f64::max)
        };
        // The platform exp2 is itself within about 0.5 ulp; ours: table entry (0.5 ulp), the
        // final fused multiply-add (0.5 ulp) and the polynomial (well below 0.1 ulp).
        let plain = worst(&exp2_nonpositive::<false>);
        assert!(plain < 1.5, "worst error {plain} ulp");
        if has_avx2_fma() {
            // SAFETY: only called after has_avx2_fma().
            let fused = worst(&|z| unsafe { exp2_fma_inner(z) });
            assert!(fused < 1.5, "fma: worst error {fused} ulp");
        }
        assert_eq!(exp2_nonpositive::<false>(0.0), 1.0);
        assert_eq!(exp2_nonpositive::<false>(-3.0), 0.125);
        assert_eq!(exp2_nonpositive::<false>(-5000.0), CLAMP.exp2());
        assert_eq!(exp2_nonpositive::<false>(f64::NAN), CLAMP.exp2());
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
        // TABLE[k] is the correctly rounded 2^(k/8) iff the exact value lies between the two
        // midpoints TABLE[k] -+ ulp/2, i.e. (TABLE[k] - ulp/2)^8 < 2^k < (TABLE[k] + ulp/2)^8;
        // the eighth powers by three double-double squarings (relative error ~1e-31).
        for (k, &t) in TABLE.iter().enumerate() {
            let half_ulp = f64::EPSILON / 2.0; // 1 <= t < 2
            let eighth = |m: (f64, f64)| dd_square(dd_square(dd_square(m)));
            let two_k = (k as f64).exp2();
            let (lo_h, lo_l) = eighth((t, -half_ulp));
            let (hi_h, hi_l) = eighth((t, half_ulp));
            assert!(
                (lo_h - two_k) + lo_l < 0.0,
                "k={k}: 2^(k/8) is not above the lower midpoint"
            );
            assert!(
                (hi_h - two_k) + hi_l > 0.0,
                "k={k}: 2^(k/8) is not below the upper midpoint"
            );
        }
        assert_eq!(TABLE[0], 1.0);
        assert_eq!(TABLE[4], std::f64::consts::SQRT_2);
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn vector_lanes_equal_the_scalar_fma_version() {
        if !has_avx2_fma() {
            return;
        }
        for chunk in arguments().chunks_exact(4) {
            let z = [chunk[0], chunk[1], chunk[2], chunk[3]];
            // SAFETY: features checked above.
            let (v, u, s) = unsafe { lanes_and_scalar(z) };
            assert_eq!(v.map(f64::to_bits), s.map(f64::to_bits), "z = {z:?}");
            assert_eq!(
                u.map(f64::to_bits),
                s.map(f64::to_bits),
                "unclamped, z = {z:?}"
            );
        }
        // SAFETY: as above.
        let (v, _, s) = unsafe { lanes_and_scalar([f64::NAN, -1e6, 0.0, 1e-14]) };
        assert_eq!(v.map(f64::to_bits), s.map(f64::to_bits));
        // Slightly positive exponents (the self-interaction term after rounding).
        // SAFETY: as above.
        let (v, u, s) = unsafe { lanes_and_scalar([1e-13, 3e-15, 0.06, 0.5]) };
        assert_eq!(v.map(f64::to_bits), s.map(f64::to_bits));
        assert_eq!(u.map(f64::to_bits), s.map(f64::to_bits));
        assert!((s[3] - 0.5f64.exp2()).abs() <= 2.0 * f64::EPSILON);
    }

    /// Eight lanes of `exp2_avx512` (clamped, and unclamped when every lane is `>= CLAMP`).
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f")]
    fn lanes8(z: [f64; 8]) -> ([f64; 8], [f64; 8]) {
        use std::arch::x86_64::*;
        let (mut clamped, mut unclamped) = ([0.0; 8], [0.0; 8]);
        // SAFETY: `z`, `clamped` and `unclamped` hold 8 f64.
        unsafe {
            let v = _mm512_loadu_pd(z.as_ptr());
            _mm512_storeu_pd(clamped.as_mut_ptr(), exp2_avx512::<true>(v));
            _mm512_storeu_pd(unclamped.as_mut_ptr(), exp2_avx512::<false>(v));
        }
        if !z.iter().all(|&v| v >= CLAMP) {
            unclamped = clamped;
        }
        (clamped, unclamped)
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn avx512_lanes_equal_the_scalar_fma_version() {
        if !(has_avx2_fma() && std::arch::is_x86_feature_detected!("avx512f")) {
            return;
        }
        let mut args = vec![f64::NAN, -1e6, 0.0, 1e-14, 1e-13, 3e-15, 0.06, 0.5];
        args.extend(arguments());
        for chunk in args.chunks_exact(8) {
            let z: [f64; 8] = chunk.try_into().unwrap();
            // SAFETY: features checked above.
            let (v, u) = unsafe { lanes8(z) };
            let s = z.map(|a| unsafe { exp2_fma_inner(a) });
            assert_eq!(v.map(f64::to_bits), s.map(f64::to_bits), "z = {z:?}");
            assert_eq!(
                u.map(f64::to_bits),
                s.map(f64::to_bits),
                "unclamped, z = {z:?}"
            );
        }
    }
}
