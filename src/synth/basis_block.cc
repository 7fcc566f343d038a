// Block evaluation of the model's linear bases (basis_block.h).
#include "synth/basis_block.h"

#include <algorithm>
#include <cmath>

#include <glog/logging.h>

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#endif

namespace morphfit::synth::internal {
namespace {

#if defined(__AVX2__) && defined(__FMA__)
// Subnormal inputs read as zero and subnormal results are flushed to zero (MXCSR DAZ + FTZ) on
// the calling thread while it lives; the previous mode is restored after. The sample model's
// bases hold about 28,000 subnormal values (of 3.1 million), and the microcode assists they
// cost made the block product about 3 times slower (measured with bench_synth).
class FlushSubnormals {
 public:
  FlushSubnormals() : saved_(_mm_getcsr()) { _mm_setcsr(saved_ | kDaz | kFtz); }
  ~FlushSubnormals() { _mm_setcsr(saved_); }
  FlushSubnormals(const FlushSubnormals&) = delete;
  FlushSubnormals& operator=(const FlushSubnormals&) = delete;

 private:
  static constexpr unsigned int kDaz = 0x0040, kFtz = 0x8000;
  const unsigned int saved_;
};

// Rows are processed in panels of kPanel: for groups of samples each basis' panel is first
// copied into a contiguous buffer (k-major), so that the kernel below reads it from L1 for
// every group instead of striding through the basis columns (a page apart) once per group.
constexpr int64_t kPanel = 64;
constexpr int kGroup = 4;  // samples sharing each basis load

// out rows [row, row + 8 V) of samples [j0, j0 + G) += the panel's product (rows relative to
// the panel, k-major with panel_stride floats per column). Per lane: an FMA chain over k from zero,
// then one add to the running value: the scalar sequence of OneValue. V x G independent chains
// hide the FMA latency (4 x 2 for groups of samples, 8 x 1 for a lone sample).
template <int V, int G>
void Kernel(const float* panel, int64_t panel_stride, const float* coeffs, int64_t k_count,
            int64_t row, int64_t j0, float* out, int64_t ld) {
  __m256 acc[G][V];
  for (int g = 0; g < G; ++g) {
    for (int v = 0; v < V; ++v) acc[g][v] = _mm256_setzero_ps();
  }
  const float* b = panel + row;
  for (int64_t k = 0; k < k_count; ++k, b += panel_stride) {
    __m256 bk[V];
    for (int v = 0; v < V; ++v) bk[v] = _mm256_loadu_ps(b + 8 * v);
    for (int g = 0; g < G; ++g) {
      const __m256 c = _mm256_set1_ps(coeffs[(j0 + g) * k_count + k]);
      for (int v = 0; v < V; ++v) acc[g][v] = _mm256_fmadd_ps(bk[v], c, acc[g][v]);
    }
  }
  for (int g = 0; g < G; ++g) {
    float* o = out + (j0 + g) * ld + row;
    for (int v = 0; v < V; ++v) {
      _mm256_storeu_ps(o + 8 * v, _mm256_add_ps(_mm256_loadu_ps(o + 8 * v), acc[g][v]));
    }
  }
}

// Rows [r0, r0 + kPanel) of every sample.
void Panel(const Eigen::VectorXf& mean, const std::vector<BasisTerm>& terms, int64_t r0,
           Eigen::MatrixXf* out) {
  const int64_t samples = out->cols(), ld = out->rows();
  for (int64_t j = 0; j < samples; ++j) {
    std::copy(mean.data() + r0, mean.data() + r0 + kPanel, out->data() + j * ld + r0);
  }
  thread_local std::vector<float> panel;
  for (const BasisTerm& t : terms) {
    const int64_t k_count = t.coeffs->rows();
    if (k_count == 0) continue;
    // A lone sample reads the basis in place (a copy would cost as much as the product).
    const float* b = t.basis->data() + r0;
    int64_t stride = t.basis->rows();
    if (samples >= kGroup) {
      panel.resize(static_cast<size_t>(k_count * kPanel));
      for (int64_t k = 0; k < k_count; ++k) {
        std::copy(b + k * stride, b + k * stride + kPanel, panel.data() + k * kPanel);
      }
      b = panel.data();
      stride = kPanel;
    }
    const float* coeffs = t.coeffs->data();
    float* o = out->data() + r0;
    int64_t j = 0;
    for (; j + kGroup <= samples; j += kGroup) {
      for (int64_t row = 0; row < kPanel; row += 16) {
        Kernel<2, kGroup>(b, stride, coeffs, k_count, row, j, o, ld);
      }
    }
    for (; j < samples; ++j) Kernel<kPanel / 8, 1>(b, stride, coeffs, k_count, 0, j, o, ld);
  }
}
#endif

// One row, one sample: the reference sequence (std::fma rounds once, as the vector FMA; builds
// without FMA round the product and the sum, as Eigen does there).
void OneValue(const Eigen::VectorXf& mean, const std::vector<BasisTerm>& terms, int64_t r,
              int64_t j, Eigen::MatrixXf* out) {
  float value = mean[r];
  for (const BasisTerm& t : terms) {
    const int64_t k_count = t.coeffs->rows();
    if (k_count == 0) continue;
    const float* c = t.coeffs->data() + j * k_count;
    float acc = 0.0f;
    for (int64_t k = 0; k < k_count; ++k) {
#if defined(__FMA__)
      acc = std::fma((*t.basis)(r, k), c[k], acc);
#else
      acc = acc + (*t.basis)(r, k) * c[k];  // as Eigen's GEMV without FMA (two roundings)
#endif
    }
    value = value + acc;
  }
  (*out)(r, j) = value;
}

}  // namespace

void EvaluateBasisRows(const Eigen::VectorXf& mean, const std::vector<BasisTerm>& terms,
                       int64_t row_begin, int64_t row_end, Eigen::MatrixXf* out) {
  const int64_t rows = mean.size(), samples = out->cols();
  CHECK(out->rows() == rows) << "output rows " << out->rows() << " != mean size " << rows;
  CHECK(row_begin >= 0 && row_begin <= row_end && row_end <= rows) << "bad row range";
  for (const BasisTerm& t : terms) {
    CHECK(t.coeffs->cols() == samples) << "coefficients for " << t.coeffs->cols()
                                       << " samples, output for " << samples;
    CHECK(t.coeffs->rows() == 0 || (t.basis->rows() == rows && t.basis->cols() >= t.coeffs->rows()))
        << "basis " << t.basis->rows() << " x " << t.basis->cols() << " for " << t.coeffs->rows()
        << " coefficients and " << rows << " rows";
  }
  int64_t r = row_begin;
#if defined(__AVX2__) && defined(__FMA__)
  const FlushSubnormals flush;  // for the panels and the scalar rows alike
  for (; r + kPanel <= row_end; r += kPanel) Panel(mean, terms, r, out);
#endif
  for (; r < row_end; ++r) {
    for (int64_t j = 0; j < samples; ++j) OneValue(mean, terms, r, j, out);
  }
}

}  // namespace morphfit::synth::internal
