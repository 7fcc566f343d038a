// x^p for float x > 0 (the Blinn-Phong term's (n.h)^shininess), written once for the CPU and
// the CUDA kernels, as x^p = 2^(p log2 x) evaluated in double precision:
//   x = 2^e m with m in [√½, √2)                      (exponent and mantissa bits of double x)
//   log2 m = (2 / ln 2) atanh(s), s = (m - 1) / (m + 1), |s| <= 0.1716,
//          = s Σ_{k=0..6} c_k s^(2k), c_k = 2 / ((2k + 1) ln 2)   (the atanh series, truncated:
//            relative error <= s_max^14 / 15 = 1.3e-12)
//   y = p (e + log2 m), k = rint(y), f = y - k in [-½, ½] (one fma: the exact product's remainder)
//   2^f = Σ_{j=0..9} (f ln 2)^j / j!                  (Taylor, truncation <= 6.9e-12)
//   x^p = float(2^f · 2^k)                            (2^k from its exponent bits; |k| <= 200)
// The double result is within ~1e-10 relative of the exact x^p (the log's truncation error
// grows with |y| <= ~150), so the float returned is the correctly rounded one but where the exact
// value lies within that of a midpoint: at most 0.501 ulp from the exact value (tested against
// std::pow in double over ~3.8 M (x, p) pairs in fast_pow_test.cc: worst 0.50076 ulp, 24 not
// correctly rounded), for every x > 0 with a normal or subnormal float result, and 0 / +inf where
// x^p underflows / overflows float.
//
// Every multiply-add is an explicit fma and no product feeds an addition otherwise, so the value
// is the same bits whatever the compiler's contraction setting (-ffp-contract, nvcc --fmad):
// the CPU reference, the vectorised CPU path (src/render/fast_pow_avx2.h, its 4 x double lane
// twin, asserted bit-identical) and the CUDA kernels all get the same float.
//
// Domain: finite x > 0 (float, subnormals included) and finite p; p = NaN gives NaN. Other x
// (<= 0, inf, NaN) give unspecified values: the callers test n.h > 0 first.
// Polynomial coefficients: the exact series' coefficients rounded to double (computed with
// mpmath at 200 bits); written as hex literals so that every compiler reads the same bits.
#ifndef MORPHFIT_MATH_FAST_POW_H_
#define MORPHFIT_MATH_FAST_POW_H_

#include <cmath>
#include <cstdint>
#include <cstring>

#include "morphfit/math/hd.h"

namespace morphfit::math {
namespace fast_pow {

// Mantissa bits of √2 (and √½): below them the mantissa m keeps exponent 0, above it is halved.
constexpr uint64_t kSqrt2MantissaBits = 0x0006A09E667F3BCDull;
// |y| above this: x^p is 0 or +inf in float (2^-200 and 2^200 are normal doubles).
constexpr double kExponentLimit = 200.0;
// c_k = 2 / ((2k + 1) ln 2), k = 0..6 (scalars: namespace-scope arrays are not readable from
// device code).
constexpr double kLog2C0 = 0x1.71547652b82fep+1;
constexpr double kLog2C1 = 0x1.ec709dc3a03fdp-1;
constexpr double kLog2C2 = 0x1.2776c50ef9bfep-1;
constexpr double kLog2C3 = 0x1.a61762a7aded9p-2;
constexpr double kLog2C4 = 0x1.484b13d7c02a9p-2;
constexpr double kLog2C5 = 0x1.0c9a84994022dp-2;
constexpr double kLog2C6 = 0x1.c68f568d31760p-3;
// (ln 2)^j / j!, j = 0..9.
constexpr double kExp2C0 = 0x1.0000000000000p+0;
constexpr double kExp2C1 = 0x1.62e42fefa39efp-1;
constexpr double kExp2C2 = 0x1.ebfbdff82c58fp-3;
constexpr double kExp2C3 = 0x1.c6b08d704a0c0p-5;
constexpr double kExp2C4 = 0x1.3b2ab6fba4e77p-7;
constexpr double kExp2C5 = 0x1.5d87fe78a6731p-10;
constexpr double kExp2C6 = 0x1.430912f86c787p-13;
constexpr double kExp2C7 = 0x1.ffcbfc588b0c7p-17;
constexpr double kExp2C8 = 0x1.62c0223a5c824p-20;
constexpr double kExp2C9 = 0x1.b5253d395e7c4p-24;

MORPHFIT_HD uint64_t DoubleBits(double x) {
#if defined(__CUDA_ARCH__)
  return static_cast<uint64_t>(__double_as_longlong(x));
#else
  uint64_t u;
  std::memcpy(&u, &x, sizeof(u));
  return u;
#endif
}

MORPHFIT_HD double BitsDouble(uint64_t u) {
#if defined(__CUDA_ARCH__)
  return __longlong_as_double(static_cast<long long>(u));
#else
  double x;
  std::memcpy(&x, &u, sizeof(x));
  return x;
#endif
}

MORPHFIT_HD double Fma(double a, double b, double c) {
  using std::fma;
  return fma(a, b, c);
}

// log2 x for a positive, normal double x (the float input widened).
MORPHFIT_HD double Log2(double x) {
  const uint64_t u = DoubleBits(x);
  // Biased exponent of x, one less when x's mantissa is below √2: x = 2^e m, m in [√½, √2).
  const uint64_t q = (u - kSqrt2MantissaBits) >> 52;
  const double e = static_cast<double>(static_cast<int64_t>(q) - 1022);
  const double m = BitsDouble(u - ((q - 1022) << 52));  // modulo 2^64: e may be negative
  const double s = (m - 1.0) / (m + 1.0);
  const double z = s * s;
  double poly = Fma(kLog2C6, z, kLog2C5);
  poly = Fma(poly, z, kLog2C4);
  poly = Fma(poly, z, kLog2C3);
  poly = Fma(poly, z, kLog2C2);
  poly = Fma(poly, z, kLog2C1);
  poly = Fma(poly, z, kLog2C0);
  return Fma(s, poly, e);
}

// 2^f for f in [-½, ½] (Horner with fmas).
MORPHFIT_HD double Exp2Reduced(double f) {
  double poly = Fma(kExp2C9, f, kExp2C8);
  poly = Fma(poly, f, kExp2C7);
  poly = Fma(poly, f, kExp2C6);
  poly = Fma(poly, f, kExp2C5);
  poly = Fma(poly, f, kExp2C4);
  poly = Fma(poly, f, kExp2C3);
  poly = Fma(poly, f, kExp2C2);
  poly = Fma(poly, f, kExp2C1);
  return Fma(poly, f, kExp2C0);
}

}  // namespace fast_pow

MORPHFIT_HD float FastPow(float x, float p) {
  using std::rint;
  const double pd = p;
  const double l = fast_pow::Log2(x);
  const double y = pd * l;
  double k = rint(y);
  double f = fast_pow::Fma(pd, l, -k);
  // Beyond ±200 (or NaN): 2^±200 · 2^±0, i.e. 0 or +inf in float; a NaN stays NaN through f.
  if (!(y <= fast_pow::kExponentLimit && y >= -fast_pow::kExponentLimit)) {
    k = y > 0.0 ? fast_pow::kExponentLimit : -fast_pow::kExponentLimit;
    f = 0.0 * y;
  }
  const double scale =
      fast_pow::BitsDouble(static_cast<uint64_t>(static_cast<int64_t>(k) + 1023) << 52);
  return static_cast<float>(fast_pow::Exp2Reduced(f) * scale);
}

}  // namespace morphfit::math

#endif  // MORPHFIT_MATH_FAST_POW_H_
