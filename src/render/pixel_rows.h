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
  const float* ring_matrix = nullptr;  // 9 per entry, row-major
};

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
        isa_(BestPanelKernel()) {}

  // Row length written by Write (the layout's total rounded up for RowPanel; zero beyond).
  int padded_cols() const { return padded_cols_; }

  // rows (3 x padded_cols(), channel c at c * padded_cols()) = scale x the pixel's Jacobian.
  void Write(const math::PixelSeeds<float>& s, float scale, float* rows) {
    const math::JacobianLayout& L = in_.layout;
    const int pp = padded_cols_;
    std::fill(rows, rows + 3 * pp, 0.0f);
    GatherShapeCoefficients(s, scale);
    const int ks = L.num_shape;
    float* s0 = rows + L.shape;
    float* s1 = rows + pp + L.shape;
    float* s2 = rows + 2 * pp + L.shape;
    CombineBasisRows(rings_.shape_rows, ks, vertices_.data(), coefficients_.data(),
                     static_cast<int>(vertices_.size()), s0, s1, s2, isa_);
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
      const float sa = scale * s.albedo[c];
      for (int k = 0; k < 9; ++k) row[L.lighting + 9 * c + k] = sa * s.sh[k];
      for (int j = 0; j < 3; ++j) {
        row[L.rotation + j] = scale * s.dc_drotation[c][j];
        row[L.translation + j] = scale * s.dc_dtranslation[c][j];
        row[L.camera + j] = scale * s.dc_dcamera[c][j];
      }
    }
  }

 private:
  // Distinct vertices u whose basis rows enter the pixel's shape columns, with the 3 x 3
  // coefficients (channel x axis): corner k adds (scale dc/dX_k) R to itself and
  // (scale dc/dn_k) M_u to every u of its ring.
  void GatherShapeCoefficients(const math::PixelSeeds<float>& s, float scale) {
    vertices_.clear();
    coefficients_.clear();
    const auto entry = [&](int u) -> float* {
      for (size_t e = 0; e < vertices_.size(); ++e) {
        if (vertices_[e] == u) return &coefficients_[9 * e];
      }
      vertices_.push_back(u);
      coefficients_.resize(coefficients_.size() + 9, 0.0f);
      return &coefficients_[coefficients_.size() - 9];
    };
    const float* R = rings_.rotation;
    for (int k = 0; k < 3; ++k) {
      float* w = entry(static_cast<int>(s.vertex[k]));
      for (int c = 0; c < 3; ++c) {
        const float* p = s.dc_dpoint[c][k];
        for (int b = 0; b < 3; ++b) {
          w[3 * c + b] += scale * (p[0] * R[b] + p[1] * R[3 + b] + p[2] * R[6 + b]);
        }
      }
      const int slot = s.slot[k];
      const int begin = rings_.ring_begin[slot];
      for (int r = begin; r < begin + rings_.ring_size[slot]; ++r) {
        const float* M = rings_.ring_matrix + 9 * static_cast<int64_t>(r);
        float* wu = entry(rings_.ring_vertex[r]);
        for (int c = 0; c < 3; ++c) {
          const float* n = s.dc_dnormal[c][k];
          for (int b = 0; b < 3; ++b) {
            wu[3 * c + b] += scale * (n[0] * M[b] + n[1] * M[3 + b] + n[2] * M[6 + b]);
          }
        }
      }
    }
  }

  const math::PixelJacobianInputs<float>& in_;
  ShapeRings rings_;
  int padded_cols_;
  PanelKernel isa_;
  std::vector<int> vertices_;
  std::vector<float> coefficients_;
};

}  // namespace morphfit::render::internal

#endif  // MORPHFIT_SRC_RENDER_PIXEL_ROWS_H_
