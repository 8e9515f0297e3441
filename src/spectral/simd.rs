//! Lanes of `f64` for the harmonic engine, with one implementation per instruction set chosen
//! at run time: AVX-512F (8 lanes, fused multiply-add), AVX2 + FMA (4 lanes, fused) and a
//! portable one (4 lanes as an array, separate multiply and add, vectorised by the compiler
//! where it can).
//!
//! The kernels of [`super::legendre`] are generic over [`Lanes`] and `#[inline(always)]`; each
//! instruction set gets one instantiation inside a `#[target_feature]` function, called only
//! after [`SimdPath::detect`] (or [`SimdPath::is_available`]) found the features. Results of
//! different paths differ in the last bits (fused vs separate multiply-add, lane counts); the
//! same path gives the same bits for any number of threads.

#![allow(clippy::needless_range_loop)]

/// Instruction set used by the harmonic engine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SimdPath {
    /// AVX-512F, 8 lanes.
    Avx512,
    /// AVX2 + FMA, 4 lanes.
    Avx2Fma,
    /// No intrinsics, separate multiply and add (the reference path).
    Portable,
}

impl SimdPath {
    /// The widest path this processor supports; [`SimdPath::Portable`] when the environment
    /// variable `ATTNFLOW_PORTABLE` is set (the convention of every kernel of the crate).
    pub fn detect() -> SimdPath {
        static PATH: std::sync::OnceLock<SimdPath> = std::sync::OnceLock::new();
        *PATH.get_or_init(|| {
            if std::env::var_os("ATTNFLOW_PORTABLE").is_some() {
                return SimdPath::Portable;
            }
            [SimdPath::Avx512, SimdPath::Avx2Fma]
                .into_iter()
                .find(|p| p.is_available())
                .unwrap_or(SimdPath::Portable)
        })
    }

    /// True when the running processor supports this path.
    pub fn is_available(self) -> bool {
        match self {
            SimdPath::Portable => true,
            #[cfg(target_arch = "x86_64")]
            SimdPath::Avx512 => std::arch::is_x86_feature_detected!("avx512f"),
            #[cfg(target_arch = "x86_64")]
            SimdPath::Avx2Fma => {
                std::arch::is_x86_feature_detected!("avx2")
                    && std::arch::is_x86_feature_detected!("fma")
            }
            #[cfg(not(target_arch = "x86_64"))]
            _ => false,
        }
    }

    /// Every path the running processor supports (always includes the portable one).
    pub fn available() -> Vec<SimdPath> {
        [SimdPath::Avx512, SimdPath::Avx2Fma, SimdPath::Portable]
            .into_iter()
            .filter(|p| p.is_available())
            .collect()
    }

    /// Lower-case name (`avx512`, `avx2+fma`, `portable`).
    pub fn name(self) -> &'static str {
        match self {
            SimdPath::Avx512 => "avx512",
            SimdPath::Avx2Fma => "avx2+fma",
            SimdPath::Portable => "portable",
        }
    }
}

use crate::particles::fastexp::exp2_product;

/// `W` lanes of `f64`. Implementations other than [`Portable`] may only be used inside
/// functions compiled with their target features (see the module documentation).
pub(crate) trait Lanes: Copy {
    /// Number of lanes.
    const W: usize;
    /// All lanes `v`.
    fn splat(v: f64) -> Self;
    /// Lanes from `s[..W]`.
    fn load(s: &[f64]) -> Self;
    /// Store into `s[..W]`.
    fn store(self, s: &mut [f64]);
    /// `self + o`.
    fn add(self, o: Self) -> Self;
    /// `self - o`.
    fn sub(self, o: Self) -> Self;
    /// `self * o`.
    fn mul(self, o: Self) -> Self;
    /// `self * b + c` (fused in the SIMD paths).
    fn mul_add(self, b: Self, c: Self) -> Self;
    /// `self * b - c` (fused in the SIMD paths).
    fn mul_sub(self, b: Self, c: Self) -> Self;
    /// Lane-wise `if key == probe { yes } else { no }`.
    fn select_eq(key: Self, probe: Self, yes: Self, no: Self) -> Self;
    /// Sum of the lanes in a fixed order (the harmonic engine's: even lanes and odd lanes
    /// apart, see each implementation).
    fn sum(self) -> f64;
    /// All lanes zero.
    #[inline(always)]
    fn zero() -> Self {
        Self::splat(0.0)
    }
    /// Lanes from `p[..W]`.
    ///
    /// # Safety
    ///
    /// `p[..W]` must be readable.
    unsafe fn load_ptr(p: *const f64) -> Self;
    /// Store into `p[..W]`.
    ///
    /// # Safety
    ///
    /// `p[..W]` must be writable.
    unsafe fn store_ptr(self, p: *mut f64);
    /// `2^(self * h)` lane for lane (products `<= 0`), equal to
    /// [`crate::particles::fastexp::exp2_product`] (`::<true>` in the SIMD paths, `::<false>` in
    /// the portable one; see [`crate::particles::fastexp::exp2_avx2`] for `CLAMPED`).
    fn exp2_product<const CLAMPED: bool>(self, h: Self) -> Self;
    /// Sum of the lanes in the order of the particle kernels: sequential
    /// `((a0 + a1) + a2) + a3` for four lanes, adjacent pairs
    /// `((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7))` for eight.
    fn sum_in_order(self) -> f64;
}

/// Portable lanes: four `f64`, unfused arithmetic.
#[derive(Clone, Copy)]
pub(crate) struct Portable([f64; 4]);

impl Lanes for Portable {
    const W: usize = 4;
    #[inline(always)]
    fn splat(v: f64) -> Self {
        Portable([v; 4])
    }
    #[inline(always)]
    fn load(s: &[f64]) -> Self {
        Portable([s[0], s[1], s[2], s[3]])
    }
    #[inline(always)]
    fn store(self, s: &mut [f64]) {
        s[..4].copy_from_slice(&self.0);
    }
    #[inline(always)]
    fn add(self, o: Self) -> Self {
        let mut r = self.0;
        for i in 0..4 {
            r[i] += o.0[i];
        }
        Portable(r)
    }
    #[inline(always)]
    fn sub(self, o: Self) -> Self {
        let mut r = self.0;
        for i in 0..4 {
            r[i] -= o.0[i];
        }
        Portable(r)
    }
    #[inline(always)]
    fn mul(self, o: Self) -> Self {
        let mut r = self.0;
        for i in 0..4 {
            r[i] *= o.0[i];
        }
        Portable(r)
    }
    #[inline(always)]
    fn mul_add(self, b: Self, c: Self) -> Self {
        let mut r = [0.0; 4];
        for i in 0..4 {
            r[i] = self.0[i] * b.0[i] + c.0[i];
        }
        Portable(r)
    }
    #[inline(always)]
    fn mul_sub(self, b: Self, c: Self) -> Self {
        let mut r = [0.0; 4];
        for i in 0..4 {
            r[i] = self.0[i] * b.0[i] - c.0[i];
        }
        Portable(r)
    }
    #[inline(always)]
    fn select_eq(key: Self, probe: Self, yes: Self, no: Self) -> Self {
        let mut r = no.0;
        for i in 0..4 {
            if key.0[i] == probe.0[i] {
                r[i] = yes.0[i];
            }
        }
        Portable(r)
    }
    #[inline(always)]
    fn sum(self) -> f64 {
        (self.0[0] + self.0[2]) + (self.0[1] + self.0[3])
    }
    #[inline(always)]
    unsafe fn load_ptr(p: *const f64) -> Self {
        // SAFETY: the caller guarantees p[..4] is readable.
        Self::load(unsafe { std::slice::from_raw_parts(p, 4) })
    }
    #[inline(always)]
    unsafe fn store_ptr(self, p: *mut f64) {
        // SAFETY: the caller guarantees p[..4] is writable.
        self.store(unsafe { std::slice::from_raw_parts_mut(p, 4) })
    }
    #[inline(always)]
    fn exp2_product<const CLAMPED: bool>(self, h: Self) -> Self {
        Portable(std::array::from_fn(|l| {
            exp2_product::<false>(self.0[l], h.0[l])
        }))
    }
    #[inline(always)]
    fn sum_in_order(self) -> f64 {
        ((self.0[0] + self.0[1]) + self.0[2]) + self.0[3]
    }
}

#[cfg(target_arch = "x86_64")]
pub(crate) use x86::{Avx2, Avx512};

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::Lanes;
    use crate::particles::fastexp::{exp2_avx2, exp2_avx512};
    use std::arch::x86_64::*;

    /// Four lanes in an AVX register (AVX2 + FMA).
    #[derive(Clone, Copy)]
    pub(crate) struct Avx2(__m256d);

    // SAFETY (all methods): values of this type are only created and used inside functions
    // compiled with `avx2,fma`, which are called after run-time detection of the features.
    impl Lanes for Avx2 {
        const W: usize = 4;
        #[inline(always)]
        fn splat(v: f64) -> Self {
            unsafe { Avx2(_mm256_set1_pd(v)) }
        }
        #[inline(always)]
        fn load(s: &[f64]) -> Self {
            let s = &s[..4];
            unsafe { Avx2(_mm256_loadu_pd(s.as_ptr())) }
        }
        #[inline(always)]
        fn store(self, s: &mut [f64]) {
            let s = &mut s[..4];
            unsafe { _mm256_storeu_pd(s.as_mut_ptr(), self.0) }
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
        fn mul_sub(self, b: Self, c: Self) -> Self {
            unsafe { Avx2(_mm256_fmsub_pd(self.0, b.0, c.0)) }
        }
        #[inline(always)]
        fn select_eq(key: Self, probe: Self, yes: Self, no: Self) -> Self {
            unsafe {
                let m = _mm256_cmp_pd::<_CMP_EQ_OQ>(key.0, probe.0);
                Avx2(_mm256_blendv_pd(no.0, yes.0, m))
            }
        }
        #[inline(always)]
        fn sum(self) -> f64 {
            let mut a = [0.0; 4];
            self.store(&mut a);
            (a[0] + a[2]) + (a[1] + a[3])
        }
        #[inline(always)]
        unsafe fn load_ptr(p: *const f64) -> Self {
            unsafe { Avx2(_mm256_loadu_pd(p)) }
        }
        #[inline(always)]
        unsafe fn store_ptr(self, p: *mut f64) {
            unsafe { _mm256_storeu_pd(p, self.0) }
        }
        #[inline(always)]
        fn exp2_product<const CLAMPED: bool>(self, h: Self) -> Self {
            unsafe { Avx2(exp2_avx2::<CLAMPED>(self.0, h.0)) }
        }
        #[inline(always)]
        fn sum_in_order(self) -> f64 {
            let mut a = [0.0; 4];
            self.store(&mut a);
            ((a[0] + a[1]) + a[2]) + a[3]
        }
    }

    /// Eight lanes in an AVX-512 register.
    #[derive(Clone, Copy)]
    pub(crate) struct Avx512(__m512d);

    // SAFETY (all methods): values of this type are only created and used inside functions
    // compiled with `avx512f`, which are called after run-time detection of the feature.
    impl Lanes for Avx512 {
        const W: usize = 8;
        #[inline(always)]
        fn splat(v: f64) -> Self {
            unsafe { Avx512(_mm512_set1_pd(v)) }
        }
        #[inline(always)]
        fn load(s: &[f64]) -> Self {
            let s = &s[..8];
            unsafe { Avx512(_mm512_loadu_pd(s.as_ptr())) }
        }
        #[inline(always)]
        fn store(self, s: &mut [f64]) {
            let s = &mut s[..8];
            unsafe { _mm512_storeu_pd(s.as_mut_ptr(), self.0) }
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
        fn mul_sub(self, b: Self, c: Self) -> Self {
            unsafe { Avx512(_mm512_fmsub_pd(self.0, b.0, c.0)) }
        }
        #[inline(always)]
        fn select_eq(key: Self, probe: Self, yes: Self, no: Self) -> Self {
            unsafe {
                let m = _mm512_cmp_pd_mask::<_CMP_EQ_OQ>(key.0, probe.0);
                Avx512(_mm512_mask_blend_pd(m, no.0, yes.0))
            }
        }
        #[inline(always)]
        fn sum(self) -> f64 {
            let mut a = [0.0; 8];
            self.store(&mut a);
            ((a[0] + a[4]) + (a[2] + a[6])) + ((a[1] + a[5]) + (a[3] + a[7]))
        }
        #[inline(always)]
        unsafe fn load_ptr(p: *const f64) -> Self {
            unsafe { Avx512(_mm512_loadu_pd(p)) }
        }
        #[inline(always)]
        unsafe fn store_ptr(self, p: *mut f64) {
            unsafe { _mm512_storeu_pd(p, self.0) }
        }
        #[inline(always)]
        fn exp2_product<const CLAMPED: bool>(self, h: Self) -> Self {
            unsafe { Avx512(exp2_avx512::<CLAMPED>(self.0, h.0)) }
        }
        #[inline(always)]
        fn sum_in_order(self) -> f64 {
            let mut a = [0.0; 8];
            self.store(&mut a);
            ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]))
        }
    }
}
