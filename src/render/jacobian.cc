// Analytic pixel and landmark Jacobians, explicit and fused (jacobian.h).
#include "morphfit/render/jacobian.h"

#include <algorithm>
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include <Eigen/Dense>

#include "morphfit/math/camera.h"
#include "morphfit/math/raster.h"
#include "morphfit/math/rotation.h"
#include "morphfit/math/shading.h"
#include "pixel_rows.h"
#include "row_panel.h"

namespace morphfit::render {
namespace {

template <typename T>
using RowMat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

constexpr int64_t kRowChunk = 8;  // image rows per fused chunk (fixed: determinism)
constexpr int kPanelRows = 256;   // Jacobian rows per rank update (fixed: determinism)
constexpr int kTileWidth = 8;     // pixel columns per tile of a fused chunk (fixed: determinism)

// Per-vertex derivatives of the camera-frame point X and the unit view normal n with respect to
// the shape coefficients (3 x Ks each) and the rotation (3 x 3, column j = d/dω_j). The shape
// part comes in one of two forms: dense rows (explicit form), or, for the fused form, the
// normal's ring combination dn/dθ = sum_u M_u B_u (B_u: vertex u's 3 x Ks basis rows, M_u 3 x 3)
// with dX/dθ = R B_v, so that pixels read the model's basis rows directly and nothing of size
// vertices x Ks is written.
template <typename T>
struct VertexJacobians {
  std::vector<int> slot;  // vertex -> slot, -1 = not needed
  RowMat<T> dpoint_dshape, dnormal_dshape;  // 3 * slots x Ks (dense form only)
  std::vector<T> dpoint_drot, dnormal_drot;  // 9 per slot
  // Ring form: slot s owns entries ring_begin[s] .. ring_begin[s] + ring_size[s].
  // ring_vertex and ring_matrix are sized by an upper bound and left uninitialised past each
  // slot's ring_size (no page of the unused part is touched).
  std::vector<int> ring_begin, ring_size;
  std::unique_ptr<int[]> ring_vertex;
  std::unique_ptr<T[]> ring_matrix;  // internal::kRingMatrixStride per entry, M_u, rows of 4
};

enum class ShapeForm { kDenseRows, kRings };

template <typename T>
VertexJacobians<T> ComputeVertexJacobians(const models::MorphableModel& model,
                                          const JacobianModel& jm, const FaceGeometry<T>& g,
                                          const std::vector<int>& needed, ShapeForm form,
                                          ThreadPool* pool) {
  const int ks = static_cast<int>(jm.shape_rows.cols());
  const bool dense = form == ShapeForm::kDenseRows;
  VertexJacobians<T> vj;
  vj.slot.assign(model.num_vertices(), -1);
  for (size_t s = 0; s < needed.size(); ++s) vj.slot[needed[s]] = static_cast<int>(s);
  const int ns = static_cast<int>(needed.size());
  if (dense) {
    vj.dpoint_dshape.resize(3 * ns, ks);
    vj.dnormal_dshape.resize(3 * ns, ks);
  } else {
    // A vertex's ring has at most 1 + 2 x (its triangles) distinct vertices.
    vj.ring_begin.resize(ns);
    vj.ring_size.assign(ns, 0);
    int total = 0;
    for (int s = 0; s < ns; ++s) {
      vj.ring_begin[s] = total;
      const int v = needed[s];
      total += 1 + 2 * (jm.vertex_triangle_offsets[v + 1] - jm.vertex_triangle_offsets[v]);
    }
    vj.ring_vertex.reset(new int[total]);
    vj.ring_matrix.reset(new T[internal::kRingMatrixStride * static_cast<size_t>(total)]);
  }
  vj.dpoint_drot.assign(9 * ns, T(0));
  vj.dnormal_drot.assign(9 * ns, T(0));
  const Eigen::Map<const Eigen::Matrix<T, 3, 3, Eigen::RowMajor>> R(g.rotation);
  using Mat3 = Eigen::Matrix<T, 3, 3>;
  // View normal = F R m, F = diag(1, -1, -1).
  Mat3 FR = R;
  FR.row(1) *= T(-1);
  FR.row(2) *= T(-1);
  pool->ParallelForChunks(0, ns, 256, [&](int64_t b, int64_t e, int64_t) {
    // Ring of vertex v: neighbour u and the 3 x 3 coefficient C_u of dM/dθ = sum_u C_u B_u.
    std::vector<int> ring;
    std::vector<Mat3, Eigen::aligned_allocator<Mat3>> coeff;
    const auto add = [&](int u, const Mat3& c) {
      for (size_t r = 0; r < ring.size(); ++r) {
        if (ring[r] == u) {
          coeff[r] += c;
          return;
        }
      }
      ring.push_back(u);
      coeff.push_back(c);
    };
    const auto cross_matrix = [](const Eigen::Matrix<T, 3, 1>& a) {
      Mat3 m;
      m << T(0), -a[2], a[1], a[2], T(0), -a[0], -a[1], a[0], T(0);
      return m;
    };
    for (int64_t s = b; s < e; ++s) {
      const int v = needed[s];
      const auto rows = [&](int vertex) { return jm.shape_rows.data() + 3 * int64_t{vertex} * ks; };
      // Rows 3s..3s+2 of out = sum over (M, vertex) of M (3 x 3) times that vertex's 3 x Ks rows.
      const auto accumulate = [&](T* out, const Mat3& M, int vertex) {
        const float* src = rows(vertex);
        for (int r = 0; r < 3; ++r) {
          T* dst = out + static_cast<int64_t>(3 * s + r) * ks;
          const T m0 = M(r, 0), m1 = M(r, 1), m2 = M(r, 2);
          for (int q = 0; q < ks; ++q) {
            dst[q] += m0 * T(src[q]) + m1 * T(src[ks + q]) + m2 * T(src[2 * ks + q]);
          }
        }
      };
      if (dense) {
        vj.dpoint_dshape.block(3 * s, 0, 3, ks).setZero();
        vj.dnormal_dshape.block(3 * s, 0, 3, ks).setZero();
        accumulate(vj.dpoint_dshape.data(), R, v);
      }
      // d[(v1 - v0) x (v2 - v0)] = ([e2]x - [e1]x) B0 - [e2]x B1 + [e1]x B2 per adjacent
      // triangle, gathered per ring vertex first so each basis row block is read once.
      ring.clear();
      coeff.clear();
      for (int o = jm.vertex_triangle_offsets[v]; o < jm.vertex_triangle_offsets[v + 1]; ++o) {
        const int f = jm.vertex_triangles[o];
        const int i0 = model.triangles(0, f), i1 = model.triangles(1, f), i2 = model.triangles(2, f);
        Eigen::Matrix<T, 3, 1> e1, e2;
        for (int k = 0; k < 3; ++k) {
          e1[k] = g.vertices_model[3 * i1 + k] - g.vertices_model[3 * i0 + k];
          e2[k] = g.vertices_model[3 * i2 + k] - g.vertices_model[3 * i0 + k];
        }
        const Mat3 x1 = cross_matrix(e1), x2 = cross_matrix(e2);
        add(i0, x2 - x1);
        add(i1, -x2);
        add(i2, x1);
      }
      const T* raw = &g.normals_model_raw[3 * v];
      T m[3], dn_draw[9];
      math::NormalizeWithJacobian(raw, m, dn_draw);
      const Eigen::Map<const Eigen::Matrix<T, 3, 3, Eigen::RowMajor>> J(dn_draw);
      const Mat3 FRJ = FR * J;
      if (dense) {
        for (size_t r = 0; r < ring.size(); ++r) {
          accumulate(vj.dnormal_dshape.data(), FRJ * coeff[r], ring[r]);
        }
      } else {
        vj.ring_size[s] = static_cast<int>(ring.size());
        for (size_t r = 0; r < ring.size(); ++r) {
          const int o = vj.ring_begin[s] + static_cast<int>(r);
          vj.ring_vertex[o] = ring[r];
          // Rows padded to 4 with a zero (pixel_rows.h).
          T* dst = &vj.ring_matrix[internal::kRingMatrixStride * size_t(o)];
          Eigen::Map<Eigen::Matrix<T, 3, 3, Eigen::RowMajor>, 0, Eigen::OuterStride<4>> mu(dst);
          mu = FRJ * coeff[r];
          dst[3] = dst[7] = dst[11] = T(0);
        }
      }
      for (int j = 0; j < 3; ++j) {
        T dp[3], dn[3];
        math::Rotate(g.drotation[j], &g.vertices_model[3 * v], dp);
        math::Rotate(g.drotation[j], m, dn);
        dn[1] = -dn[1];
        dn[2] = -dn[2];
        for (int a = 0; a < 3; ++a) {
          vj.dpoint_drot[9 * s + 3 * a + j] = dp[a];
          vj.dnormal_drot[9 * s + 3 * a + j] = dn[a];
        }
      }
    }
  });
  return vj;
}

// The shared per-pixel Jacobian's view of one face (math/pixel_jacobian.h); borrows g, vj, jm.
template <typename T>
math::PixelJacobianInputs<T> MakePixelJacobianInputs(const models::MorphableModel& model,
                                                     const JacobianModel& jm,
                                                     const ParamLayout& layout,
                                                     const FaceGeometry<T>& g,
                                                     const VertexJacobians<T>& vj,
                                                     const math::SpecularParams<T>& spec) {
  math::PixelJacobianInputs<T> in;
  in.shade = MakeShadeInputs(g, model, spec);
  in.points_camera = g.points_camera.data();
  in.camera = g.camera;
  in.vertex_slot = vj.slot.data();
  in.dpoint_dshape = vj.dpoint_dshape.data();
  in.dnormal_dshape = vj.dnormal_dshape.data();
  in.dpoint_drot = vj.dpoint_drot.data();
  in.dnormal_drot = vj.dnormal_drot.data();
  in.albedo_rows = jm.albedo_rows.data();
  in.layout.shape = layout.identity;
  in.layout.num_shape = static_cast<int>(jm.shape_rows.cols());
  in.layout.albedo = layout.albedo;
  in.layout.num_albedo = static_cast<int>(jm.albedo_rows.cols());
  in.layout.lighting = layout.lighting;
  in.layout.rotation = layout.rotation;
  in.layout.translation = layout.translation;
  in.layout.camera = layout.camera;
  in.layout.total = layout.total;
  return in;
}

// Colour and its 3 x P rows (row-major) of pixel (px, py) in triangle f.
template <typename T>
void EvaluatePixel(const math::PixelJacobianInputs<T>& in, int f, int px, int py, T color[3],
                   T* rows) {
  math::PixelSeeds<T> s;
  math::ComputePixelSeeds(in, f, px, py, &s);
  for (int c = 0; c < 3; ++c) {
    color[c] = s.color[c];
    math::FillPixelRow(in, s, c, rows + static_cast<size_t>(c) * in.layout.total);
  }
}

std::vector<int> NeededVertices(const models::MorphableModel& model,
                                const std::vector<int32_t>& triangles) {
  std::vector<uint8_t> mark(model.num_vertices(), 0);
  for (int32_t f : triangles) {
    if (f < 0) continue;
    for (int k = 0; k < 3; ++k) mark[model.triangles(k, f)] = 1;
  }
  std::vector<int> needed;
  for (int v = 0; v < model.num_vertices(); ++v) {
    if (mark[v]) needed.push_back(v);
  }
  return needed;
}

}  // namespace

JacobianModel MakeJacobianModel(const models::MorphableModel& model) {
  JacobianModel jm;
  const int n = model.num_vertices();
  const int kid = model.num_identity(), kexp = model.num_expression();
  jm.shape_rows.resize(3 * n, kid + kexp);
  if (kid > 0) jm.shape_rows.leftCols(kid) = model.identity.basis;
  if (kexp > 0) jm.shape_rows.rightCols(kexp) = model.expression.basis;
  jm.albedo_rows = model.albedo.basis;
  jm.vertex_triangle_offsets.assign(n + 1, 0);
  for (int f = 0; f < model.num_triangles(); ++f) {
    for (int k = 0; k < 3; ++k) ++jm.vertex_triangle_offsets[model.triangles(k, f) + 1];
  }
  for (int v = 0; v < n; ++v) jm.vertex_triangle_offsets[v + 1] += jm.vertex_triangle_offsets[v];
  jm.vertex_triangles.resize(jm.vertex_triangle_offsets[n]);
  std::vector<int> fill(jm.vertex_triangle_offsets.begin(), jm.vertex_triangle_offsets.end() - 1);
  for (int f = 0; f < model.num_triangles(); ++f) {
    for (int k = 0; k < 3; ++k) jm.vertex_triangles[fill[model.triangles(k, f)]++] = f;
  }
  return jm;
}

ParamLayout ParamLayout::For(const models::MorphableModel& model) {
  ParamLayout l;
  l.identity = 0;
  l.expression = model.num_identity();
  l.albedo = l.expression + model.num_expression();
  l.lighting = l.albedo + model.num_albedo();
  l.rotation = l.lighting + kNumLighting;
  l.translation = l.rotation + 3;
  l.camera = l.translation + 3;
  l.total = l.camera + 3;
  return l;
}

template <typename T>
StatusOr<PixelRows<T>> ComputePixelRows(const models::MorphableModel& model,
                                        const JacobianModel& jm, const FaceParams& params,
                                        const VisibilityBuffer& vis,
                                        const std::vector<Eigen::Vector2i>& pixels,
                                        const RenderOptions& options, ThreadPool* pool) {
  ThreadPool inline_pool(1);
  ThreadPool* p = pool != nullptr ? pool : &inline_pool;
  MORPHFIT_ASSIGN_OR_RETURN(FaceGeometry<T> g, ComputeGeometry<T>(model, params, p));
  const ParamLayout layout = ParamLayout::For(model);
  std::vector<int32_t> tris(pixels.size(), -1);
  for (size_t i = 0; i < pixels.size(); ++i) {
    const Eigen::Vector2i& q = pixels[i];
    if (q.x() >= 0 && q.y() >= 0 && q.x() < vis.width && q.y() < vis.height) {
      tris[i] = vis.triangle[static_cast<size_t>(q.y()) * vis.width + q.x()];
    }
  }
  const VertexJacobians<T> vj =
      ComputeVertexJacobians<T>(model, jm, g, NeededVertices(model, tris),
                                ShapeForm::kDenseRows, p);
  const math::PixelJacobianInputs<T> in =
      MakePixelJacobianInputs(model, jm, layout, g, vj, MakeSpecularParams<T>(options));
  PixelRows<T> out;
  out.jacobian = RowMat<T>::Zero(3 * pixels.size(), layout.total);
  out.colors = Eigen::Matrix<T, Eigen::Dynamic, 1>::Zero(3 * pixels.size());
  p->ParallelForChunks(0, static_cast<int64_t>(pixels.size()), 64,
                       [&](int64_t b, int64_t e, int64_t) {
                         for (int64_t i = b; i < e; ++i) {
                           if (tris[i] < 0) continue;
                           EvaluatePixel<T>(in, tris[i], pixels[i].x(), pixels[i].y(),
                                            &out.colors[3 * i], out.jacobian.row(3 * i).data());
                         }
                       });
  return out;
}

StatusOr<NormalEquations> AccumulatePhotometric(
    const models::MorphableModel& model, const JacobianModel& jm, const FaceParams& params,
    const VisibilityBuffer& vis, const float* observed, const float* weights,
    const RenderOptions& render_options, const PhotometricOptions& options, ThreadPool* pool) {
  ThreadPool inline_pool(1);
  ThreadPool* p = pool != nullptr ? pool : &inline_pool;
  if (vis.width != params.image_width || vis.height != params.image_height) {
    return InvalidArgumentError("photometric: visibility buffer size differs from the image size");
  }
  MORPHFIT_ASSIGN_OR_RETURN(FaceGeometry<float> g, ComputeGeometry<float>(model, params, p));
  const ParamLayout layout = ParamLayout::For(model);
  const int P = layout.total;
  const VertexJacobians<float> vj =
      ComputeVertexJacobians<float>(model, jm, g, NeededVertices(model, vis.triangle),
                                    ShapeForm::kRings, p);
  const math::PixelJacobianInputs<float> in = MakePixelJacobianInputs(
      model, jm, layout, g, vj, MakeSpecularParams<float>(render_options));
  internal::ShapeRings rings;
  rings.shape_rows = jm.shape_rows.data();
  rings.rotation = g.rotation;
  rings.ring_begin = vj.ring_begin.data();
  rings.ring_size = vj.ring_size.data();
  rings.ring_vertex = vj.ring_vertex.get();
  rings.ring_matrix = vj.ring_matrix.get();
  for (int size : vj.ring_size) rings.max_ring_size = std::max(rings.max_ring_size, size);
  const int Pp = internal::RowPanel::PaddedCols(P);
  struct Partial {
    Eigen::MatrixXf jtj;  // Pp x Pp, lower triangle valid
    Eigen::VectorXf jtr;  // Pp
    double cost = 0.0;
    int num_pixels = 0;
  };
  const int width = vis.width;
  Partial zero;
  const Partial total = p->ParallelReduce<Partial>(
      0, vis.height, kRowChunk, zero,
      [&](int64_t y0, int64_t y1) {
        Partial part;
        part.jtj = Eigen::MatrixXf::Zero(Pp, Pp);
        part.jtr = Eigen::VectorXf::Zero(Pp);
        // Weighted rows go into a column-blocked panel, flushed into the lower triangle of JᵀJ
        // by the register-tiled rank update whenever it fills (row_panel.h).
        internal::RowPanel panel(P, kPanelRows);
        internal::PixelRowWriter writer(in, rings);
        std::vector<float> rows(3 * static_cast<size_t>(Pp));
        // Pixels in kTileWidth x kRowChunk tiles: neighbouring pixels share most of the ~12
        // vertices whose basis rows make up their shape columns, so the tile's rows come from
        // cache rather than being re-read one image row later.
        for (int x0 = 0; x0 < width; x0 += kTileWidth) {
          const int x1 = std::min(width, x0 + kTileWidth);
          for (int64_t y = y0; y < y1; ++y) {
            for (int x = x0; x < x1; ++x) {
              const size_t i = static_cast<size_t>(y) * width + x;
              const int32_t f = vis.triangle[i];
              const float w = weights != nullptr ? weights[i] : 1.0f;
              if (f < 0 || !(w > 0.0f)) continue;
              math::PixelSeeds<float> s;
              math::ComputePixelSeeds(in, f, x, static_cast<int>(y), &s);
              float r[3];
              const float sw =
                  math::WeightPixelResidual(s.color, observed + 3 * i, w, options.loss,
                                            options.loss_scale, r, &part.cost);
              writer.Write(s, sw, rows.data());
              for (int c = 0; c < 3; ++c) {
                if (panel.full()) panel.Flush(part.jtj.data(), part.jtr.data());
                panel.Append(rows.data() + static_cast<size_t>(c) * Pp, sw * r[c]);
              }
              ++part.num_pixels;
            }
          }
        }
        panel.Flush(part.jtj.data(), part.jtr.data());
        return part;
      },
      [&](const Partial& a, const Partial& b) {
        if (b.jtj.size() == 0) return a;
        if (a.jtj.size() == 0) return b;
        Partial s;
        s.jtj = a.jtj + b.jtj;

        s.jtr = a.jtr + b.jtr;
        s.cost = a.cost + b.cost;
        s.num_pixels = a.num_pixels + b.num_pixels;
        return s;
      });
  NormalEquations out;
  out.jtj = Eigen::MatrixXd::Zero(P, P);
  out.jtr = Eigen::VectorXd::Zero(P);
  if (total.jtj.size() != 0) {
    out.jtj = total.jtj.topLeftCorner(P, P).cast<double>().selfadjointView<Eigen::Lower>();
    out.jtr = total.jtr.head(P).cast<double>();
  }
  out.cost = total.cost;
  out.num_pixels = total.num_pixels;
  return out;
}

StatusOr<DenseJacobianFace> ComputeDenseJacobianFace(const models::MorphableModel& model,
                                                     const JacobianModel& jm,
                                                     const FaceParams& params,
                                                     const VisibilityBuffer& vis,
                                                     const RenderOptions& render_options,
                                                     ThreadPool* pool) {
  ThreadPool inline_pool(1);
  ThreadPool* p = pool != nullptr ? pool : &inline_pool;
  if (vis.width != params.image_width || vis.height != params.image_height) {
    return InvalidArgumentError(
        "dense Jacobian face: visibility buffer size differs from the image size");
  }
  DenseJacobianFace out;
  MORPHFIT_ASSIGN_OR_RETURN(out.geometry, ComputeGeometry<float>(model, params, p));
  VertexJacobians<float> vj = ComputeVertexJacobians<float>(
      model, jm, out.geometry, NeededVertices(model, vis.triangle), ShapeForm::kDenseRows, p);
  out.vertex_slot = std::move(vj.slot);
  out.dpoint_dshape = std::move(vj.dpoint_dshape);
  out.dnormal_dshape = std::move(vj.dnormal_dshape);
  out.dpoint_drot = std::move(vj.dpoint_drot);
  out.dnormal_drot = std::move(vj.dnormal_drot);
  out.spec = MakeSpecularParams<float>(render_options);
  return out;
}

math::PixelJacobianInputs<float> DenseJacobianFace::Inputs(const models::MorphableModel& model,
                                                           const JacobianModel& jm) const {
  math::PixelJacobianInputs<float> in = MakePixelJacobianInputs(
      model, jm, ParamLayout::For(model), geometry, VertexJacobians<float>{}, spec);
  in.vertex_slot = vertex_slot.data();
  in.dpoint_dshape = dpoint_dshape.data();
  in.dnormal_dshape = dnormal_dshape.data();
  in.dpoint_drot = dpoint_drot.data();
  in.dnormal_drot = dnormal_drot.data();
  return in;
}

StatusOr<LandmarkRows> ComputeLandmarkRows(const models::MorphableModel& model,
                                           const FaceParams& params) {
  if (model.num_landmarks() == 0) {
    return FailedPreconditionError("landmark Jacobian: the model has no landmarks");
  }
  MORPHFIT_ASSIGN_OR_RETURN(FaceGeometry<double> g, ComputeGeometry<double>(model, params, nullptr));
  const ParamLayout layout = ParamLayout::For(model);
  const int L = model.num_landmarks();
  const int ks = model.num_identity() + model.num_expression();
  LandmarkRows out;
  out.uv.resize(2, L);
  out.jacobian = Eigen::MatrixXd::Zero(2 * L, layout.total);
  const Eigen::Map<const Eigen::Matrix<double, 3, 3, Eigen::RowMajor>> R(g.rotation);
  for (int k = 0; k < L; ++k) {
    const int v = model.landmarks[k];
    double uv[2], duv_dx[6], duv_dcam[6];
    math::Project<double>(g.perspective, g.camera, &g.points_camera[3 * v], uv, duv_dx, duv_dcam);
    out.uv(0, k) = uv[0];
    out.uv(1, k) = uv[1];
    const Eigen::Map<const Eigen::Matrix<double, 2, 3, Eigen::RowMajor>> D(duv_dx);
    Eigen::MatrixXd rows(3, ks);
    if (model.num_identity() > 0) {
      rows.leftCols(model.num_identity()) =
          model.identity.basis.middleRows(3 * v, 3).cast<double>();
    }
    if (model.num_expression() > 0) {
      rows.rightCols(model.num_expression()) =
          model.expression.basis.middleRows(3 * v, 3).cast<double>();
    }
    out.jacobian.block(2 * k, layout.identity, 2, ks) = D * R * rows;
    for (int j = 0; j < 3; ++j) {
      double dp[3];
      math::Rotate(g.drotation[j], &g.vertices_model[3 * v], dp);
      out.jacobian.block(2 * k, layout.rotation + j, 2, 1) =
          D * Eigen::Vector3d(dp[0], dp[1], dp[2]);
    }
    out.jacobian.block(2 * k, layout.translation, 2, 3) = D;
    for (int a = 0; a < 2; ++a) {
      for (int j = 0; j < 3; ++j) out.jacobian(2 * k + a, layout.camera + j) = duv_dcam[3 * a + j];
    }
  }
  return out;
}

template StatusOr<PixelRows<float>> ComputePixelRows<float>(
    const models::MorphableModel&, const JacobianModel&, const FaceParams&,
    const VisibilityBuffer&, const std::vector<Eigen::Vector2i>&, const RenderOptions&,
    ThreadPool*);
template StatusOr<PixelRows<double>> ComputePixelRows<double>(
    const models::MorphableModel&, const JacobianModel&, const FaceParams&,
    const VisibilityBuffer&, const std::vector<Eigen::Vector2i>&, const RenderOptions&,
    ThreadPool*);

}  // namespace morphfit::render
