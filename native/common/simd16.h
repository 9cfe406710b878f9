// 16-float vectors (one AVX-512 register; split by the compiler where there is none)
// and the lane-wise math the inference kernels share: native/fused_gru's GRU and
// native/fused_dense's classifier, which both keep batch rows in the lanes.
#pragma once
#include <cstdint>
#ifdef __AVX512F__
// GCC 12's AVX-512 intrinsics start from _mm512_undefined_ps, which -Wuninitialized flags.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#endif

namespace simd {

constexpr int kLanes = 16;

typedef float v16 __attribute__((vector_size(64), aligned(4), may_alias));
typedef int32_t i16 __attribute__((vector_size(64), aligned(4), may_alias));

inline v16 splat(float s) { return v16{s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s}; }
inline v16 load(const float* p) { return *reinterpret_cast<const v16*>(p); }
inline void store(float* p, v16 v) { *reinterpret_cast<v16*>(p) = v; }
inline v16 asFloat(i16 v) { return reinterpret_cast<const v16&>(v); }
inline i16 asInt(v16 v) { return reinterpret_cast<const i16&>(v); }

// The step's cost after the products is the nonlinearities (three per unit and row), and
// three divisions were most of that: where AVX-512 is available a reciprocal estimate
// refined by one Newton step (about 1 ulp) replaces them.
#ifdef __AVX512F__
inline v16 vmin(v16 a, v16 b) { return _mm512_min_ps(a, b); }
inline v16 vmax(v16 a, v16 b) { return _mm512_max_ps(a, b); }
inline v16 vrecip(v16 d) {
  const v16 r = _mm512_rcp14_ps(d);
  return r * (2.0f - d * r);
}
#else
inline v16 vmin(v16 a, v16 b) { return a < b ? a : b; }
inline v16 vmax(v16 a, v16 b) { return a > b ? a : b; }
inline v16 vrecip(v16 d) { return 1.0f / d; }
#endif

// exp with Cephes' range reduction and polynomial, as the training kernel's; n = round(x
// log2 e) by the 1.5 * 2^23 shifter, which also leaves n in the low mantissa bits.
inline v16 vexp(v16 x) {
  constexpr float kShift = 12582912.0f;
  x = vmax(vmin(x, splat(88.0f)), splat(-87.0f));
  const v16 shifted = x * 1.44269504088896341f + kShift;
  const v16 n = shifted - kShift;
  const v16 r = x - n * 0.693359375f + n * 2.12194440e-4f;
  const v16 p = (((((1.9875691500e-4f * r + 1.3981999507e-3f) * r + 8.3334519073e-3f) * r +
                   4.1665795894e-2f) * r + 1.6666665459e-1f) * r + 5.0000001201e-1f) * r * r +
                r + 1.0f;
  const i16 bits = (asInt(shifted) - asInt(splat(kShift)) + 127) << 23;
  return p * asFloat(bits);
}

// GCC folds the load of a vector into each FMA that uses it: several loads where one
// does, and a register-blocked loop becomes load-bound. An empty asm that claims to
// change the register makes it load once.
// Only where a v16 is one register (AVX-512): elsewhere it spans several, which one asm
// operand cannot name, and the hint is left out (the addons are then built for a lower
// -march, e.g. an image's baseline: native/common/march.cjs).
#ifdef __AVX512F__
inline void keepInRegister(v16& v) { __asm__("" : "+v"(v)); }
#else
inline void keepInRegister(v16&) {}
#endif

}  // namespace simd
