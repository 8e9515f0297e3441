//! A branch-free `exp(y)` for `y <= 0` that vectorises (used by the exact `O(N^2)` summation).
//!
//! Range reduction `y = n ln 2 + r`, `|r| <= ln(2)/2`, with `n` rounded by the `1.5 * 2^52`
//! trick; `e^r` by its degree-13 Taylor polynomial (truncation `< 2e-17` relative; Horner in the
//! portable path, Estrin's scheme in the FMA paths for a shorter dependency chain), and `2^n`
//! assembled in the exponent bits. Arguments below `-700` are clamped to `-700` (result
//! `~1e-304`, negligible against the self-interaction term `1`). Accuracy: within 2 ulp of the
//! correctly rounded value (tested against `f64::exp`).

const LOG2E: f64 = std::f64::consts::LOG2_E;
// fdlibm's split of ln 2: LN2_HI has trailing zero bits so n * LN2_HI is exact.
const LN2_HI: f64 = f64::from_bits(0x3fe6_2e42_fee0_0000);
const LN2_LO: f64 = f64::from_bits(0x3dea_39ef_3579_3c76);
const MAGIC: f64 = 6_755_399_441_055_744.0; // 1.5 * 2^52
const CLAMP: f64 = -700.0;
/// Taylor coefficients `1/k!`, `k = 0..=13`.
const C: [f64; 14] = [
    1.0,
    1.0,
    0.5,
    1.0 / 6.0,
    1.0 / 24.0,
    1.0 / 120.0,
    1.0 / 720.0,
    1.0 / 5_040.0,
    1.0 / 40_320.0,
    1.0 / 362_880.0,
    1.0 / 3_628_800.0,
    1.0 / 39_916_800.0,
    1.0 / 479_001_600.0,
    1.0 / 6_227_020_800.0,
];

/// `exp(y)` for `y <= 0` (see the module documentation for the accuracy).
#[inline(always)]
pub fn exp_nonpositive(y: f64) -> f64 {
    let y = if y < CLAMP { CLAMP } else { y };
    let t = y * LOG2E + MAGIC;
    let n = t - MAGIC;
    let r = (y - n * LN2_HI) - n * LN2_LO;
    // Horner form of sum_{k=0}^{13} r^k / k!.
    let mut p = 1.0 / 6_227_020_800.0;
    p = p * r + 1.0 / 479_001_600.0;
    p = p * r + 1.0 / 39_916_800.0;
    p = p * r + 1.0 / 3_628_800.0;
    p = p * r + 1.0 / 362_880.0;
    p = p * r + 1.0 / 40_320.0;
    p = p * r + 1.0 / 5_040.0;
    p = p * r + 1.0 / 720.0;
    p = p * r + 1.0 / 120.0;
    p = p * r + 1.0 / 24.0;
    p = p * r + 1.0 / 6.0;
    p = p * r + 0.5;
    p = p * r + 1.0;
    p = p * r + 1.0;
    let bits = t.to_bits().wrapping_sub(MAGIC.to_bits()).wrapping_add(1023) << 52;
    p * f64::from_bits(bits)
}

/// Four lanes of [`exp_nonpositive_fma`]`::<true>` with AVX2 + FMA intrinsics (identical
/// results lane for lane).
///
/// # Safety
///
/// Callable only on processors with AVX2 and FMA (see [`has_avx2_fma`]).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[inline]
pub fn exp_avx2(y: std::arch::x86_64::__m256d) -> std::arch::x86_64::__m256d {
    use std::arch::x86_64::*;
    let y = _mm256_max_pd(y, _mm256_set1_pd(CLAMP));
    let magic = _mm256_set1_pd(MAGIC);
    let t = _mm256_add_pd(_mm256_mul_pd(y, _mm256_set1_pd(LOG2E)), magic);
    let n = _mm256_sub_pd(t, magic);
    let r = _mm256_fnmadd_pd(
        n,
        _mm256_set1_pd(LN2_LO),
        _mm256_fnmadd_pd(n, _mm256_set1_pd(LN2_HI), y),
    );
    // Estrin's scheme for sum_{k=0}^{13} r^k/k! (depth 5 instead of Horner's 14; the same
    // operations in the same order as the scalar `exp_nonpositive_fma::<true>`).
    let f = |a: f64, b: f64| _mm256_fmadd_pd(_mm256_set1_pd(b), r, _mm256_set1_pd(a));
    let r2 = _mm256_mul_pd(r, r);
    let r4 = _mm256_mul_pd(r2, r2);
    let r8 = _mm256_mul_pd(r4, r4);
    let q0 = f(C[0], C[1]);
    let q1 = f(C[2], C[3]);
    let q2 = f(C[4], C[5]);
    let q3 = f(C[6], C[7]);
    let q4 = f(C[8], C[9]);
    let q5 = f(C[10], C[11]);
    let q6 = f(C[12], C[13]);
    let s0 = _mm256_fmadd_pd(q1, r2, q0);
    let s1 = _mm256_fmadd_pd(q3, r2, q2);
    let s2 = _mm256_fmadd_pd(q5, r2, q4);
    let u0 = _mm256_fmadd_pd(s1, r4, s0);
    let u1 = _mm256_fmadd_pd(q6, r4, s2);
    let p = _mm256_fmadd_pd(u1, r8, u0);
    let bits = _mm256_slli_epi64::<52>(_mm256_add_epi64(
        _mm256_sub_epi64(
            _mm256_castpd_si256(t),
            _mm256_set1_epi64x(MAGIC.to_bits() as i64),
        ),
        _mm256_set1_epi64x(1023),
    ));
    _mm256_mul_pd(p, _mm256_castsi256_pd(bits))
}

/// `a * b + c`, fused (one rounding) when `FMA` is true. Kernels are compiled twice, with
/// `FMA = true` inside `#[target_feature(enable = "avx2,fma")]` functions used when the
/// processor has them, and with `FMA = false` otherwise; results are independent of the thread
/// count either way (but differ in the last bits between the two code paths).
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

/// [`exp_nonpositive`] with the polynomial evaluated by [`madd`].
#[inline(always)]
pub fn exp_nonpositive_fma<const FMA: bool>(y: f64) -> f64 {
    if !FMA {
        return exp_nonpositive(y);
    }
    let y = if y < CLAMP { CLAMP } else { y };
    let t = y * LOG2E + MAGIC;
    let n = t - MAGIC;
    let r = madd::<true>(-n, LN2_LO, madd::<true>(-n, LN2_HI, y));
    // Estrin's scheme, exactly as in `exp_avx2`.
    let f = |a: f64, b: f64| madd::<true>(b, r, a);
    let r2 = r * r;
    let r4 = r2 * r2;
    let r8 = r4 * r4;
    let q0 = f(C[0], C[1]);
    let q1 = f(C[2], C[3]);
    let q2 = f(C[4], C[5]);
    let q3 = f(C[6], C[7]);
    let q4 = f(C[8], C[9]);
    let q5 = f(C[10], C[11]);
    let q6 = f(C[12], C[13]);
    let s0 = madd::<true>(q1, r2, q0);
    let s1 = madd::<true>(q3, r2, q2);
    let s2 = madd::<true>(q5, r2, q4);
    let u0 = madd::<true>(s1, r4, s0);
    let u1 = madd::<true>(q6, r4, s2);
    let p = madd::<true>(u1, r8, u0);
    let bits = t.to_bits().wrapping_sub(MAGIC.to_bits()).wrapping_add(1023) << 52;
    p * f64::from_bits(bits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    fn exp_fma_inner(y: f64) -> f64 {
        exp_nonpositive_fma::<true>(y)
    }

    fn exp_fma_checked(y: f64) -> f64 {
        #[cfg(target_arch = "x86_64")]
        {
            // SAFETY: only called after has_avx2_fma().
            unsafe { exp_fma_inner(y) }
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            exp_nonpositive(y)
        }
    }

    #[test]
    fn matches_std_exp_to_two_ulp() {
        let mut worst = 0.0f64;
        let m = 200_000;
        for i in 0..=m {
            let y = -700.0 * (i as f64 / m as f64).powi(3);
            let (a, b) = (exp_nonpositive(y), y.exp());
            worst = worst.max(((a - b) / b).abs());
        }
        assert!(worst < 4.5e-16, "worst relative error {worst}");
        if has_avx2_fma() {
            let mut worst_fma = 0.0f64;
            for i in 0..=m {
                let y = -700.0 * (i as f64 / m as f64).powi(3);
                let (a, b) = (exp_fma_checked(y), y.exp());
                worst_fma = worst_fma.max(((a - b) / b).abs());
            }
            assert!(worst_fma < 4.5e-16, "fma: worst relative error {worst_fma}");
        }
        assert_eq!(exp_nonpositive(0.0), 1.0);
        assert!(exp_nonpositive(-5000.0) < 1e-300);
    }
}
