// Private to morphfit_render: the fused JᵀJ's row generation. Given a pixel's seeds
// (math::ComputePixelSeeds) it writes its three weighted Jacobian rows, the same entries as
// math::FillPixelRow times the pixel's weight, but all channels at once and vectorisable:
// the shape columns are gathered as 3 x 3 coefficients on the model's basis rows of the
// corners and their rings (no per-vertex Ks-wide derivative rows are stored), then summed a
// vector of columns at a time with the three channels' sums held in registers, instead of one
// strided 18-term dot product per column. The explicit form (ComputePixelRows) keeps FillPixelRow, so the fused ==
// explicit test checks this against the shared formula.
#ifndef MORPHFIT_SRC_RENDER_PIXEL_ROWS_H_
#define MORPHFIT_SRC_RENDER_PIXEL_ROWS_H_

#include <algorithm>
#include <cstdint>
#include <vector>

#include "morphfit/core/face_params.h"
#include "morphfit/math/pixel_jacobian.h"
#include "row_panel.h"

namespace morphfit::render::internal {

// The fused form's shape derivatives: a vertex v's camera point moves as R B_v and its view
// normal as sum over its ring of M_u B_u (B_u: the model's 3 x Ks basis rows of vertex u).
struct ShapeRings {
  const float* shape_rows = nullptr;   // 3N x Ks row-major (JacobianModel::shape_rows)
  const float* rotation = nullptr;     // 9, camera_from_model row-major
  const int* ring_begin = nullptr;     // per slot
  const int* ring_size = nullptr;      // per slot
  const int* ring_vertex = nullptr;    // per entry
  // kRingMatrixStride per entry: M_u's three rows, each padded to 4 floats (the 4th is zero).
  const float* ring_matrix = nullptr;
  int max_ring_size = 0;               // the largest ring_size
};
constexpr int kRingMatrixStride = 12;

// One per thread (it keeps scratch).
// s_c[q] = sum over e < count, b < 3 of coeffs[9 e + 3 c + b] basis[(3 vertices[e] + b) ks + q]
// for q < ks (basis: 3N x ks row-major), overwriting s0, s1, s2. Each entry is one fma chain
// over e and b in order, so every ISA (row_panel.h's choice) gives the same bits.
void CombineBasisRows(const float* basis, int ks, const int* vertices, const float* coeffs,
                      int count, float* s0, float* s1, float* s2,
                      PanelKernel isa = PanelKernel::kAuto);

class PixelRowWriter {
 public:
  PixelRowWriter(const math::PixelJacobianInputs<float>& in, const ShapeRings& rings)
      : in_(in),
        rings_(rings),
        padded_cols_(RowPanel::PaddedCols(in.layout.total)),
        isa_(BestPanelKernel()) {
    // At most 3 corners and their rings are distinct; the open-addressing table stays at most
    // half full.
    const int max_entries = 3 + 3 * std::max(rings.max_ring_size, 0);
    vertices_.resize(max_entries);
    coefficients_.resize(9 * static_cast<size_t>(max_entries));
    wide_.resize(kRingMatrixStride * static_cast<size_t>(max_entries));
    int table_size = 16;
    while (table_size < 2 * max_entries) table_size *= 2;
    table_.assign(table_size, -1);
    for (int a = 0; a < 3; ++a) {
      for (int b = 0; b < 4; ++b) rotation_[4 * a + b] = b < 3 ? rings.rotation[3 * a + b] : 0.0f;
    }
  }

  // Row length written by Write (the layout's total rounded up for RowPanel; zero beyond).
  int padded_cols() const { return padded_cols_; }

  // rows (3 x padded_cols(), channel c at c * padded_cols()) = scale x the pixel's Jacobian.
  void Write(const math::PixelSeeds<float>& s, float scale, float* rows) {
    const math::JacobianLayout& L = in_.layout;
    const int pp = padded_cols_;
    const int count = GatherShapeCoefficients(s, scale);
    const int ks = L.num_shape;
    float* s0 = rows + L.shape;
    float* s1 = rows + pp + L.shape;
    float* s2 = rows + 2 * pp + L.shape;
    CombineBasisRows(rings_.shape_rows, ks, vertices_.data(), coefficients_.data(), count, s0,
                     s1, s2, isa_);
    const int ka = L.num_albedo;
    for (int c = 0; c < 3; ++c) {
      float* __restrict dst = rows + static_cast<int64_t>(c) * pp + L.albedo;
      const float* __restrict b0 = in_.albedo_rows + (3 * s.vertex[0] + c) * ka;
      const float* __restrict b1 = in_.albedo_rows + (3 * s.vertex[1] + c) * ka;
      const float* __restrict b2 = in_.albedo_rows + (3 * s.vertex[2] + c) * ka;
      const float w0 = scale * s.dc_dalbedo[c][0], w1 = scale * s.dc_dalbedo[c][1],
                  w2 = scale * s.dc_dalbedo[c][2];
      for (int q = 0; q < ka; ++q) dst[q] = w0 * b0[q] + w1 * b1[q] + w2 * b2[q];
      float* row = rows + static_cast<int64_t>(c) * pp;
      // Channel c's lighting block; the other channels' blocks are zero.
      const float sa = scale * s.albedo[c];
      for (int k = 0; k < kNumLighting; ++k) row[L.lighting + k] = 0.0f;
      for (int k = 0; k < 9; ++k) row[L.lighting + 9 * c + k] = sa * s.sh[k];
      for (int j = 0; j < 3; ++j) {
        row[L.rotation + j] = scale * s.dc_drotation[c][j];
        row[L.translation + j] = scale * s.dc_dtranslation[c][j];
        row[L.camera + j] = scale * s.dc_dcamera[c][j];
      }
      // Columns past the layout (panel padding) are zero.
      for (int j = L.total; j < pp; ++j) row[j] = 0.0f;
    }
  }

 private:
  // Distinct vertices u whose basis rows enter the pixel's shape columns, with the 3 x 3
  // coefficients (channel x axis): corner k adds (scale dc/dX_k) R to itself and
  // (scale dc/dn_k) M_u to every u of its ring. Fills vertices_ and coefficients_ (9 per
  // entry, in order of first appearance) and returns the number of entries.
  int GatherShapeCoefficients(const math::PixelSeeds<float>& s, float scale) {
    int count = 0;
    const int mask = static_cast<int>(table_.size()) - 1;
    // Entry of vertex u (created zero on first sight): rows of 4, the 4th lane unused.
    const auto entry = [&](int u) -> float* {
      int h = static_cast<int>((static_cast<uint32_t>(u) * 2654435761u) >> 8) & mask;
      while (table_[h] >= 0) {
        if (vertices_[table_[h]] == u) return &wide_[kRingMatrixStride * table_[h]];
        h = (h + 1) & mask;
      }
      table_[h] = count;
      vertices_[count] = u;
      float* w = &wide_[kRingMatrixStride * count];
      for (int t = 0; t < kRingMatrixStride; ++t) w[t] = 0.0f;
      ++count;
      return w;
    };
    // w (3 rows of 4) += n (3 x 3, channel x axis) times m (3 rows of 4).
    const auto add_product = [](const float n[3][3], const float* __restrict m,
                                float* __restrict w) {
      for (int c = 0; c < 3; ++c) {
        for (int b = 0; b < 4; ++b) {
          w[4 * c + b] += n[c][0] * m[b] + n[c][1] * m[4 + b] + n[c][2] * m[8 + b];
        }
      }
    };
    for (int k = 0; k < 3; ++k) {
      float dp[3][3], dn[3][3];
      for (int c = 0; c < 3; ++c) {
        for (int a = 0; a < 3; ++a) {
          dp[c][a] = scale * s.dc_dpoint[c][k][a];
          dn[c][a] = scale * s.dc_dnormal[c][k][a];
        }
      }
      add_product(dp, rotation_, entry(static_cast<int>(s.vertex[k])));
      const int slot = s.slot[k];
      const int begin = rings_.ring_begin[slot];
      for (int r = begin; r < begin + rings_.ring_size[slot]; ++r) {
        add_product(dn, rings_.ring_matrix + kRingMatrixStride * static_cast<int64_t>(r),
                    entry(rings_.ring_vertex[r]));
      }
    }
    // Pack to 9 per entry for CombineBasisRows and empty the table for the next pixel.
    for (int e = 0; e < count; ++e) {
      const float* w = &wide_[kRingMatrixStride * e];
      for (int c = 0; c < 3; ++c) {
        for (int b = 0; b < 3; ++b) coefficients_[9 * e + 3 * c + b] = w[4 * c + b];
      }
      int h = static_cast<int>((static_cast<uint32_t>(vertices_[e]) * 2654435761u) >> 8) & mask;
      while (table_[h] != e) h = (h + 1) & mask;
      table_[h] = -1;
    }
    return count;
  }

  const math::PixelJacobianInputs<float>& in_;
  ShapeRings rings_;
  int padded_cols_;
  PanelKernel isa_;
  float rotation_[12];               // R's rows padded to 4
  std::vector<int> vertices_;        // per entry
  std::vector<float> coefficients_;  // 9 per entry
  std::vector<float> wide_;          // kRingMatrixStride per entry while gathering
  std::vector<int> table_;           // open addressing: vertex -> entry, -1 = empty
};

}  // namespace morphfit::render::internal

#endif  // MORPHFIT_SRC_RENDER_PIXEL_ROWS_H_
