//! Lanes of `f64` for the SIMD kernels of the exact summation ([`super::exact`]): four lanes in
//! an AVX register (AVX2 + FMA) and eight in an AVX-512 register (AVX-512F). The kernels are
//! generic over [`Lanes`] and `#[inline(always)]`; each instruction set gets one instantiation
//! inside a `#[target_feature]` function that is only called after run-time detection of the
//! features (see [`crate::spectral::simd::SimdPath`]).

/// `W` lanes of `f64`, fused multiply-add, and the exponential of [`super::fastexp`].
/// Implementations may only be used inside functions compiled with their target features.
pub(crate) trait Lanes: Copy {
    /// Number of lanes.
    const W: usize;
    /// All lanes zero.
    fn zero() -> Self;
    /// All lanes `v`.
    fn splat(v: f64) -> Self;
    /// Lanes from `p[..W]`.
    ///
    /// # Safety
    ///
    /// `p[..W]` must be readable.
    unsafe fn load(p: *const f64) -> Self;
    /// Store into `p[..W]`.
    ///
    /// # Safety
    ///
    /// `p[..W]` must be writable.
    unsafe fn store(self, p: *mut f64);
    /// `self + o`.
    fn add(self, o: Self) -> Self;
    /// `self - o`.
    fn sub(self, o: Self) -> Self;
    /// `self * o`.
    fn mul(self, o: Self) -> Self;
    /// `self * b + c`, fused.
    fn mul_add(self, b: Self, c: Self) -> Self;
    /// `2^self` lane for lane, equal to [`super::fastexp::exp2_nonpositive`]`::<true>` (see
    /// [`super::fastexp::exp2_avx2`] for `CLAMPED`).
    fn exp2<const CLAMPED: bool>(self) -> Self;
    /// Sum of the lanes in a fixed order.
    fn sum(self) -> f64;
}

#[cfg(target_arch = "x86_64")]
pub(crate) use x86::{Avx2, Avx512};

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::super::fastexp::{exp2_avx2, exp2_avx512};
    use super::Lanes;
    use std::arch::x86_64::*;

    /// Four lanes in an AVX register (AVX2 + FMA).
    #[derive(Clone, Copy)]
    pub(crate) struct Avx2(__m256d);

    // SAFETY (all methods): values of this type are only created and used inside functions
    // compiled with `avx2,fma`, which are called after run-time detection of the features.
    impl Lanes for Avx2 {
        const W: usize = 4;
        #[inline(always)]
        fn zero() -> Self {
            unsafe { Avx2(_mm256_setzero_pd()) }
        }
        #[inline(always)]
        fn splat(v: f64) -> Self {
            unsafe { Avx2(_mm256_set1_pd(v)) }
        }
        #[inline(always)]
        unsafe fn load(p: *const f64) -> Self {
            unsafe { Avx2(_mm256_loadu_pd(p)) }
        }
        #[inline(always)]
        unsafe fn store(self, p: *mut f64) {
            unsafe { _mm256_storeu_pd(p, self.0) }
        }
        #[inline(always)]
        fn add(self, o: Self) -> Self {
            unsafe { Avx2(_mm256_add_pd(self.0, o.0)) }
        }
        #[inline(always)]
        fn sub(self, o: Self) -> Self {
            unsafe { Avx2(_mm256_sub_pd(self.0, o.0)) }
        }
        #[inline(always)]
        fn mul(self, o: Self) -> Self {
            unsafe { Avx2(_mm256_mul_pd(self.0, o.0)) }
        }
        #[inline(always)]
        fn mul_add(self, b: Self, c: Self) -> Self {
            unsafe { Avx2(_mm256_fmadd_pd(self.0, b.0, c.0)) }
        }
        #[inline(always)]
        fn exp2<const CLAMPED: bool>(self) -> Self {
            unsafe { Avx2(exp2_avx2::<CLAMPED>(self.0)) }
        }
        #[inline(always)]
        fn sum(self) -> f64 {
            let mut a = [0.0f64; 4];
            unsafe { _mm256_storeu_pd(a.as_mut_ptr(), self.0) };
            ((a[0] + a[1]) + a[2]) + a[3]
        }
    }

    /// Eight lanes in an AVX-512 register (AVX-512F; the kernels also enable AVX2 + FMA for
    /// their scalar tails).
    #[derive(Clone, Copy)]
    pub(crate) struct Avx512(__m512d);

    // SAFETY (all methods): values of this type are only created and used inside functions
    // compiled with `avx512f`, which are called after run-time detection of the feature.
    impl Lanes for Avx512 {
        const W: usize = 8;
        #[inline(always)]
        fn zero() -> Self {
            unsafe { Avx512(_mm512_setzero_pd()) }
        }
        #[inline(always)]
        fn splat(v: f64) -> Self {
            unsafe { Avx512(_mm512_set1_pd(v)) }
        }
        #[inline(always)]
        unsafe fn load(p: *const f64) -> Self {
            unsafe { Avx512(_mm512_loadu_pd(p)) }
        }
        #[inline(always)]
        unsafe fn store(self, p: *mut f64) {
            unsafe { _mm512_storeu_pd(p, self.0) }
        }
        #[inline(always)]
        fn add(self, o: Self) -> Self {
            unsafe { Avx512(_mm512_add_pd(self.0, o.0)) }
        }
        #[inline(always)]
        fn sub(self, o: Self) -> Self {
            unsafe { Avx512(_mm512_sub_pd(self.0, o.0)) }
        }
        #[inline(always)]
        fn mul(self, o: Self) -> Self {
            unsafe { Avx512(_mm512_mul_pd(self.0, o.0)) }
        }
        #[inline(always)]
        fn mul_add(self, b: Self, c: Self) -> Self {
            unsafe { Avx512(_mm512_fmadd_pd(self.0, b.0, c.0)) }
        }
        #[inline(always)]
        fn exp2<const CLAMPED: bool>(self) -> Self {
            unsafe { Avx512(exp2_avx512::<CLAMPED>(self.0)) }
        }
        #[inline(always)]
        fn sum(self) -> f64 {
            let mut a = [0.0f64; 8];
            unsafe { _mm512_storeu_pd(a.as_mut_ptr(), self.0) };
            ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]))
        }
    }
}
