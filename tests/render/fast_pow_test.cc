// math::FastPow (include/morphfit/math/fast_pow.h), the specular term's x^p in float: its
// accuracy against std::pow in double, its edge cases, the AVX2 twin's bits (the vectorised
// shading's, src/render/fast_pow_avx2.h) and the float shading gradient built on it. This file
// is compiled with the default contraction setting and shade_buffer.cc with it off: the bits
// must not depend on it.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "morphfit/math/fast_pow.h"
#include "morphfit/math/shading.h"
#include "../../src/render/fast_pow_avx2.h"

namespace morphfit::math {
namespace {

float FromBits(uint32_t u) {
  float x;
  std::memcpy(&x, &u, sizeof(x));
  return x;
}

uint32_t Bits(float x) {
  uint32_t u;
  std::memcpy(&u, &x, sizeof(u));
  return u;
}

// Float ulps between r and the exact value v (|v| in float range): the spacing of floats at v
// (2^-149 among subnormals).
double UlpError(float r, double v) {
  const double a = std::fabs(v);
  const int exponent = a < 0x1p-126 ? -126 : std::ilogb(a);
  return std::fabs(static_cast<double>(r) - v) / std::ldexp(1.0, exponent - 23);
}

// Exponents: the shininess values (integers 1..64 and fractions) and the gradient's p - 1
// (0 and negative for p < 1).
std::vector<float> Exponents() {
  std::vector<float> p;
  for (int i = 0; i <= 64; ++i) p.push_back(static_cast<float>(i));
  for (float f : {0.01f, 0.1f, 0.5f, 1.5f, 2.25f, 7.3f, 12.75f, 19.999f, 33.3f, 63.9f, 100.5f,
                  255.0f, 1000.0f, -0.01f, -0.5f, -0.9f, -0.99f, -1.0f, -2.5f}) {
    p.push_back(f);
  }
  return p;
}

// Bases: x in (0, 1] uniformly (where n.h lives), log-uniformly over every positive float up to
// 1 (subnormals included) and up to 4 (n.h may round slightly above 1; a wider check), and the
// ends.
std::vector<float> Bases(int n, uint32_t seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> uni(0.0f, 1.0f);
  std::uniform_int_distribution<uint32_t> below_one(1, Bits(1.0f));
  std::uniform_int_distribution<uint32_t> below_four(1, Bits(4.0f));
  std::vector<float> x = {1.0f, std::nextafter(1.0f, 0.0f), std::nextafter(1.0f, 2.0f), 0.5f,
                          std::numeric_limits<float>::min(),
                          std::numeric_limits<float>::denorm_min(), 0.70710677f, 0.70710683f,
                          1.4142135f, 1.4142137f};
  for (int i = 0; i < n; ++i) {
    const float u = uni(gen);
    x.push_back(u > 0.0f ? u : 1.0f);
    x.push_back(FromBits(below_one(gen)));
    if (i % 4 == 0) x.push_back(FromBits(below_four(gen)));
  }
  return x;
}

// Within 1 ulp of the exact value everywhere, and in fact correctly rounded but for a hair: the
// double evaluation is within ~1e-10 relative (the log's truncation times |p log2 x| <= ~150),
// so the worst case is 0.5 ulp plus ~1e-3 ulp (0.50076 seen).
TEST(FastPowTest, WithinHalfAnUlpPlusAHairOfStdPowInDouble) {
  const std::vector<float> bases = Bases(20000, 1);
  double worst = 0.0;
  int64_t checked = 0, rounded_differently = 0;
  for (float p : Exponents()) {
    for (float x : bases) {
      const double exact = std::pow(static_cast<double>(x), static_cast<double>(p));
      const float r = FastPow(x, p);
      if (exact >= 0x1p128 * (1.0 - 0x1p-25)) {  // rounds to +inf in float
        ASSERT_EQ(r, std::numeric_limits<float>::infinity()) << x << "^" << p;
        continue;
      }
      const double err = UlpError(r, exact);
      ASSERT_LE(err, 0.501) << x << "^" << p << ": " << r << " vs " << exact;
      worst = std::max(worst, err);
      rounded_differently += r != static_cast<float>(exact);
      ++checked;
    }
  }
  EXPECT_GT(checked, 3500000);
  // Off the correctly rounded float only where the exact value is within ~1e-11 of a midpoint.
  EXPECT_LT(rounded_differently, checked / 10000);
  std::printf("FastPow: %lld values, worst %.6f ulp, %lld not correctly rounded\n",
              static_cast<long long>(checked), worst, static_cast<long long>(rounded_differently));
}

TEST(FastPowTest, ExactCasesUnderflowOverflowAndNaN) {
  for (float p : Exponents()) {
    EXPECT_EQ(FastPow(1.0f, p), 1.0f) << p;
  }
  for (float x : Bases(200, 2)) {
    EXPECT_EQ(FastPow(x, 0.0f), 1.0f) << x;
    EXPECT_EQ(FastPow(x, 1.0f), x) << x;
  }
  EXPECT_EQ(FastPow(0.5f, 10.0f), 1.0f / 1024.0f);
  EXPECT_EQ(FastPow(2.0f, 127.0f), 0x1p127f);
  EXPECT_EQ(FastPow(0.5f, 149.0f), std::numeric_limits<float>::denorm_min());
  EXPECT_EQ(FastPow(0.5f, 151.0f), 0.0f);
  EXPECT_EQ(FastPow(0.01f, 64.0f), 0.0f);           // 1e-128
  EXPECT_EQ(FastPow(1e-20f, 1000.0f), 0.0f);        // y far below -200
  EXPECT_EQ(FastPow(1e-30f, -5.0f), std::numeric_limits<float>::infinity());
  EXPECT_EQ(FastPow(2.0f, 128.0f), std::numeric_limits<float>::infinity());
  EXPECT_EQ(FastPow(0.9f, 3e38f), 0.0f);
  EXPECT_TRUE(std::isnan(FastPow(0.5f, std::numeric_limits<float>::quiet_NaN())));
}

// SpecularPow: FastPow in float, std::pow in double (the Jacobian tests' finite differences).
TEST(FastPowTest, SpecularPowPicksFastPowForFloatOnly) {
  for (float x : {0.3f, 0.77f, 0.999f}) {
    EXPECT_EQ(SpecularPow(x, 17.5f), FastPow(x, 17.5f));
    EXPECT_EQ(SpecularPow(static_cast<double>(x), 17.5), std::pow(static_cast<double>(x), 17.5));
  }
}

#if defined(MORPHFIT_FAST_POW_AVX2)
// Lane i of FastPow8(x, p) is FastPow(x[i], p[i]), bit for bit, over the accuracy test's inputs,
// a wide range of finite positive x, and lanes with NaN and non-positive x (shaded and discarded
// by the vectorised shading: they must not disturb their neighbours).
TEST(FastPowTest, Avx2TwinIsBitIdenticalToScalar) {
  std::vector<float> bases = Bases(20000, 3);
  std::mt19937 gen(5);
  std::uniform_int_distribution<uint32_t> positive(1, Bits(std::numeric_limits<float>::max()));
  for (int i = 0; i < 20000; ++i) bases.push_back(FromBits(positive(gen)));
  bases.resize(bases.size() / 8 * 8);
  int64_t compared = 0;
  for (float p : Exponents()) {
    for (size_t i = 0; i < bases.size(); i += 8) {
      alignas(32) float out[8];
      _mm256_store_ps(out, render::FastPow8(_mm256_loadu_ps(&bases[i]), _mm256_set1_ps(p)));
      for (int l = 0; l < 8; ++l) {
        const float r = FastPow(bases[i + l], p);
        ASSERT_EQ(Bits(out[l]), Bits(r)) << bases[i + l] << "^" << p;
        ++compared;
      }
    }
  }
  EXPECT_GT(compared, 4000000);
  // Per-lane exponents, and junk lanes beside good ones.
  alignas(32) const float x[8] = {0.5f, 0.0f, -0.25f, std::numeric_limits<float>::quiet_NaN(),
                                  0.9f, std::numeric_limits<float>::infinity(), 0.3f, 1e-40f};
  alignas(32) const float p[8] = {3.0f, 20.0f, 2.0f, 5.0f, 0.5f, 2.0f, 64.0f, 0.25f};
  alignas(32) float out[8];
  _mm256_store_ps(out, render::FastPow8(_mm256_load_ps(x), _mm256_load_ps(p)));
  for (int l : {0, 4, 6, 7}) EXPECT_EQ(Bits(out[l]), Bits(FastPow(x[l], p[l]))) << l;
  EXPECT_EQ(out[0], 0.125f);
}
#else
TEST(FastPowTest, Avx2TwinIsBitIdenticalToScalar) {
  GTEST_SKIP() << "built without AVX2 and FMA: no vectorised twin to compare";
}
#endif

// The float shading gradient (FastPow in the value and in its derivative's x^(p-1)) follows the
// double one (std::pow, checked against central differences in render_math_test.cc).
TEST(FastPowTest, FloatSpecularGradientFollowsDoubleGradient) {
  std::mt19937 gen(7);
  std::uniform_real_distribution<double> uni(-0.2, 0.2);
  for (double shininess : {1.0, 2.5, 12.0, 20.0, 64.0}) {
    double nd[3][3], ad[3][3], ld[27];
    float nf[3][3], af[3][3], lf[27];
    for (int i = 0; i < 3; ++i) {
      for (int c = 0; c < 3; ++c) {
        nd[i][c] = (c == 2 ? 1.0 : 0.0) + uni(gen);
        ad[i][c] = 0.5 + uni(gen);
        nf[i][c] = static_cast<float>(nd[i][c]);
        af[i][c] = static_cast<float>(ad[i][c]);
        nd[i][c] = nf[i][c];
        ad[i][c] = af[i][c];
      }
    }
    for (int k = 0; k < 27; ++k) {
      lf[k] = static_cast<float>((k % 9 == 0 ? 0.8 : 0.0) + uni(gen));
      ld[k] = lf[k];
    }
    const SpecularParams<double> sd{0.4, shininess, {0.0, 0.0, 1.0}};
    const SpecularParams<float> sf{0.4f, static_cast<float>(shininess), {0.0f, 0.0f, 1.0f}};
    const double bd[3] = {0.25, 0.375, 0.375};
    const float bf[3] = {0.25f, 0.375f, 0.375f};
    const double* npd[3] = {nd[0], nd[1], nd[2]};
    const double* apd[3] = {ad[0], ad[1], ad[2]};
    const float* npf[3] = {nf[0], nf[1], nf[2]};
    const float* apf[3] = {af[0], af[1], af[2]};
    PixelShading<double> pd;
    PixelShading<float> pf;
    ShadePixel(bd, npd, apd, ld, sd, &pd);
    ShadePixel(bf, npf, apf, lf, sf, &pf);
    ASSERT_GT(pd.specular, 0.01);
    // n.h carries the float normalisation's rounding (a few 1e-8 relative), raised to p.
    EXPECT_NEAR(pf.specular, pd.specular, 2e-7 * (1.0 + shininess) * pd.specular) << shininess;
    double gbd[3][3], gnd[3][3];
    float gbf[3][3], gnf[3][3];
    ShadePixelGradient(npd, apd, ld, sd, pd, gbd, gnd);
    ShadePixelGradient(npf, apf, lf, sf, pf, gbf, gnf);
    for (int c = 0; c < 3; ++c) {
      for (int j = 0; j < 3; ++j) {
        EXPECT_NEAR(gnf[c][j], gnd[c][j], 1e-4 * (1.0 + std::fabs(gnd[c][j]))) << shininess;
        EXPECT_NEAR(gbf[c][j], gbd[c][j], 1e-4 * (1.0 + std::fabs(gbd[c][j]))) << shininess;
      }
    }
  }
}

}  // namespace
}  // namespace morphfit::math
