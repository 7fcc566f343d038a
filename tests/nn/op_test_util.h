// Helpers for the nn op tests: double vectors, random inputs, Tensor <-> double conversions.
#ifndef MORPHFIT_TESTS_NN_OP_TEST_UTIL_H_
#define MORPHFIT_TESTS_NN_OP_TEST_UTIL_H_

#include <cstdint>
#include <vector>

#include "morphfit/core/rng.h"
#include "morphfit/nn/tensor.h"

namespace morphfit::nn::testing {

using Vec = std::vector<double>;

inline Vec RandomVec(int64_t n, uint64_t seed, bool positive = false) {
  Rng rng = RngFor(seed, 0, 0);
  Vec v(static_cast<size_t>(n));
  for (double& x : v) x = positive ? rng.Uniform(0.5, 1.5) : rng.Normal();
  return v;
}

inline Tensor ToTensor(const Shape& shape, const Vec& v) {
  Tensor t(shape);
  for (size_t i = 0; i < v.size(); ++i) t.data()[i] = static_cast<float>(v[i]);
  return t;
}

inline Vec ToVec(const Tensor& t) {
  const std::vector<float> f = t.ToVector();
  return Vec(f.begin(), f.end());
}

// Largest |a - b| / (1 + |b|).
inline double MaxScaledError(const Vec& a, const Vec& b) {
  double worst = 0.0;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) {
    const double e = (a[i] > b[i] ? a[i] - b[i] : b[i] - a[i]) / (1.0 + (b[i] < 0 ? -b[i] : b[i]));
    if (e > worst) worst = e;
  }
  return a.size() == b.size() ? worst : 1e300;
}

}  // namespace morphfit::nn::testing

#endif  // MORPHFIT_TESTS_NN_OP_TEST_UTIL_H_
