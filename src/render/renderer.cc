// Geometry from FaceParams, per-pixel shading and the rendered channels (renderer.h).
#include "morphfit/render/renderer.h"

#include <cmath>
#include <limits>
#include <string>
#include <type_traits>

#include "morphfit/math/camera.h"
#include "morphfit/math/raster.h"
#include "morphfit/math/rotation.h"
#include "morphfit/render/render_channels.h"

namespace morphfit::render {
namespace {

constexpr int64_t kVertexChunk = 4096;
// The basis product streams the whole float basis once per call (35,709 vertices x 3 x 224
// modes x 4 B = 96 MB for the BFM-size benchmark model): on one core it is bound by the core's
// read bandwidth (4.4-4.8 GB/s measured here, i.e. ~20 ms), not by its 48 MFLOP; see
// bench/RESULTS.md. Threads split it by rows.
// Basis rows per block of the threaded basis product: a multiple of 64, the row group of
// Eigen's column-major GEMV kernel (8 packets of 8 floats), so that every row goes through the
// same kernel path, with the same summation order, as in one whole-matrix product.
constexpr int64_t kBasisRowChunk = 64 * 192;

// out += rows [row0, row0 + out.size()) of basis.leftCols(coeffs.size()) * coeffs, the block of
// MorphableModel's `basis.leftCols(n) * coeffs` (models/morphable_model.cc). Eigen 3.4's GEMV
// gives each row the same sequence of operations whatever the number of rows, as long as the
// block starts at a multiple of the 64-row group (tests/render/renderer_test.cc checks the
// equality with EvaluateShape / EvaluateAlbedo bit for bit).
void AddRowBlockProduct(const Eigen::MatrixXf& basis, const Eigen::VectorXf& coeffs,
                        int64_t row0, Eigen::Map<Eigen::VectorXf>* out) {
  const Eigen::Index k = coeffs.size();
  if (k == 0) return;
  out->noalias() += basis.block(row0, 0, out->size(), k) * coeffs;
}

template <typename T>
Eigen::Matrix<T, Eigen::Dynamic, 1> Evaluate(const Eigen::VectorXf& mean,
                                             const models::LinearBasis& b1,
                                             const Eigen::VectorXd& c1,
                                             const models::LinearBasis* b2,
                                             const Eigen::VectorXd* c2) {
  Eigen::Matrix<T, Eigen::Dynamic, 1> out = mean.cast<T>();
  if (c1.size() > 0) out.noalias() += b1.basis.cast<T>() * c1.cast<T>();
  if (b2 != nullptr && c2->size() > 0) out.noalias() += b2->basis.cast<T>() * c2->cast<T>();
  return out;
}

}  // namespace

template <typename T>
Status ComputeGeometry(const models::MorphableModel& model, const FaceParams& params,
                       ThreadPool* pool, FaceGeometry<T>* out) {
  MORPHFIT_RETURN_IF_ERROR(params.Validate("render parameters"));
  MORPHFIT_RETURN_IF_ERROR(params.CheckSizes(model.num_identity(), model.num_expression(),
                                             model.num_albedo(), "render parameters"));
  const int n = model.num_vertices();
  FaceGeometry<T>& g = *out;
  g.perspective = params.camera_type == CameraType::kPinhole;
  for (int i = 0; i < 3; ++i) {
    g.camera[i] = static_cast<T>(params.camera[i]);
    g.translation[i] = static_cast<T>(params.translation[i]);
  }
  for (int i = 0; i < kNumLighting; ++i) g.lighting[i] = static_cast<T>(params.lighting[i]);
  const T w[3] = {T(params.rotation[0]), T(params.rotation[1]), T(params.rotation[2])};
  math::AxisAngleToRotationWithJacobian(w, g.rotation, g.drotation);

  ThreadPool inline_pool(1);
  ThreadPool* p = pool != nullptr ? pool : &inline_pool;
  if constexpr (std::is_same_v<T, float>) {
    // model.EvaluateShape / EvaluateAlbedo split into row blocks on the pool; bit-identical to
    // them (see AddRowBlockProduct).
    const Eigen::VectorXf alpha = params.identity.cast<float>();
    const Eigen::VectorXf beta = params.expression.cast<float>();
    const Eigen::VectorXf gamma = params.albedo.cast<float>();
    g.vertices_model.resize(3 * static_cast<size_t>(n));
    g.albedo.resize(3 * static_cast<size_t>(n));
    p->ParallelForChunks(0, 3 * int64_t{n}, kBasisRowChunk, [&](int64_t b, int64_t e, int64_t) {
      Eigen::Map<Eigen::VectorXf> v(g.vertices_model.data() + b, e - b);
      v = model.shape_mean.segment(b, e - b);
      AddRowBlockProduct(model.identity.basis, alpha, b, &v);
      AddRowBlockProduct(model.expression.basis, beta, b, &v);
      Eigen::Map<Eigen::VectorXf> a(g.albedo.data() + b, e - b);
      a = model.albedo_mean.segment(b, e - b);
      AddRowBlockProduct(model.albedo.basis, gamma, b, &a);
    });
  } else {
    const auto v = Evaluate<T>(model.shape_mean, model.identity, params.identity,
                               &model.expression, &params.expression);
    const auto a = Evaluate<T>(model.albedo_mean, model.albedo, params.albedo, nullptr, nullptr);
    g.vertices_model.assign(v.data(), v.data() + v.size());
    g.albedo.assign(a.data(), a.data() + a.size());
  }

  // Area-weighted normals: each triangle adds (v1 - v0) x (v2 - v0) (twice its area times its
  // unit normal) to its three vertices. Serial: a fixed summation order. Local pointers, so the
  // compiler need not reload them after each store.
  g.normals_model_raw.assign(3 * static_cast<size_t>(n), T(0));
  T* const raw_normals = g.normals_model_raw.data();
  const T* const vm = g.vertices_model.data();
  const int32_t* const tri = model.triangles.data();
  const int num_triangles = model.num_triangles();
  for (int f = 0; f < num_triangles; ++f) {
    const int i0 = tri[3 * f], i1 = tri[3 * f + 1], i2 = tri[3 * f + 2];
    const T* const v0 = vm + 3 * i0;
    const T* const v1 = vm + 3 * i1;
    const T* const v2 = vm + 3 * i2;
    T e1[3], e2[3];
    for (int k = 0; k < 3; ++k) {
      e1[k] = v1[k] - v0[k];
      e2[k] = v2[k] - v0[k];
    }
    const T cr[3] = {e1[1] * e2[2] - e1[2] * e2[1], e1[2] * e2[0] - e1[0] * e2[2],
                     e1[0] * e2[1] - e1[1] * e2[0]};
    for (int i : {i0, i1, i2}) {
      for (int k = 0; k < 3; ++k) raw_normals[3 * i + k] += cr[k];
    }
  }

  g.points_camera.resize(3 * n);
  g.normals_view.resize(3 * n);
  g.pixels.resize(2 * n);
  g.pixels_float.resize(2 * n);
  g.depths_float.resize(n);
  p->ParallelForChunks(0, n, kVertexChunk, [&](int64_t b, int64_t e, int64_t) {
    for (int64_t i = b; i < e; ++i) {
      T* pc = &g.points_camera[3 * i];
      math::RigidTransform(g.rotation, g.translation, &vm[3 * i], pc);
      const T* raw = &g.normals_model_raw[3 * i];
      T m[3] = {T(0), T(0), T(1)};  // isolated vertex: face the model's viewer
      if (raw[0] != T(0) || raw[1] != T(0) || raw[2] != T(0)) {
        math::NormalizeWithJacobian<T>(raw, m, nullptr);
      }
      T nc[3];
      math::Rotate(g.rotation, m, nc);
      g.normals_view[3 * i] = nc[0];
      g.normals_view[3 * i + 1] = -nc[1];
      g.normals_view[3 * i + 2] = -nc[2];
      T uv[2] = {std::numeric_limits<T>::quiet_NaN(), std::numeric_limits<T>::quiet_NaN()};
      if (!g.perspective || pc[2] != T(0)) {
        math::Project<T>(g.perspective, g.camera, pc, uv, nullptr, nullptr);
      }
      g.pixels[2 * i] = uv[0];
      g.pixels[2 * i + 1] = uv[1];
      g.pixels_float[2 * i] = static_cast<float>(uv[0]);
      g.pixels_float[2 * i + 1] = static_cast<float>(uv[1]);
      g.depths_float[i] = static_cast<float>(pc[2]);
    }
  });
  return OkStatus();
}

template <typename T>
StatusOr<FaceGeometry<T>> ComputeGeometry(const models::MorphableModel& model,
                                          const FaceParams& params, ThreadPool* pool) {
  FaceGeometry<T> g;
  MORPHFIT_RETURN_IF_ERROR(ComputeGeometry<T>(model, params, pool, &g));
  return g;
}

template <typename T>
math::SpecularParams<T> MakeSpecularParams(const RenderOptions& options) {
  math::SpecularParams<T> s;
  s.intensity = static_cast<T>(options.specular_intensity);
  s.shininess = static_cast<T>(options.specular_shininess);
  const Eigen::Vector3d h = options.specular_half_vector.normalized();
  for (int i = 0; i < 3; ++i) s.half_vector[i] = static_cast<T>(h[i]);
  return s;
}

template <typename T>
math::ShadeInputs<T> MakeShadeInputs(const FaceGeometry<T>& g, const models::MorphableModel& model,
                                     const math::SpecularParams<T>& spec) {
  math::ShadeInputs<T> in;
  in.pixels = g.pixels.data();
  in.depths = g.points_camera.data() + 2;
  in.depth_stride = 3;
  in.normals = g.normals_view.data();
  in.albedo = g.albedo.data();
  in.triangles = model.triangles.data();
  in.perspective = g.perspective;
  in.lighting = g.lighting;
  in.spec = spec;
  return in;
}

template <typename T>
void ShadeTrianglePixel(const FaceGeometry<T>& g, const models::MorphableModel& model,
                        int triangle, int px, int py, const math::SpecularParams<T>& spec,
                        T bary[3], math::PixelShading<T>* shading) {
  math::ShadeTrianglePixel(MakeShadeInputs(g, model, spec), triangle, px, py, bary, shading);
}

StatusOr<RenderResult> Render(const models::MorphableModel& model, const FaceParams& params,
                              const RenderOptions& options, ThreadPool* pool) {
  if (params.image_width <= 0 || params.image_height <= 0) {
    return InvalidArgumentError("render: image size must be positive, got " +
                                std::to_string(params.image_width) + " x " +
                                std::to_string(params.image_height));
  }
  MORPHFIT_ASSIGN_OR_RETURN(FaceGeometry<float> g, ComputeGeometry<float>(model, params, pool));
  RenderResult r;
  RenderChannels(g, model, options, params.image_width, params.image_height, pool, &r);

  const int num_landmarks = model.num_landmarks();
  r.landmarks.resize(2, num_landmarks);
  r.landmark_visible.assign(num_landmarks, false);
  for (int k = 0; k < num_landmarks; ++k) {
    const int v = model.landmarks[k];
    const double u = g.pixels[2 * v], w = g.pixels[2 * v + 1];
    r.landmarks(0, k) = u;
    r.landmarks(1, k) = w;
    const long px = std::lround(u), py = std::lround(w);
    if (!std::isfinite(u) || !std::isfinite(w) || px < 0 || py < 0 || px >= r.width ||
        py >= r.height) {
      continue;
    }
    const float z = g.points_camera[3 * v + 2];
    if (g.perspective && !(z > options.z_near_mm)) continue;
    const float surface = r.visibility.depth[static_cast<size_t>(py) * r.width + px];
    r.landmark_visible[k] = !(surface < z - options.landmark_depth_tolerance_mm);
  }
  return r;
}

template StatusOr<FaceGeometry<float>> ComputeGeometry<float>(const models::MorphableModel&,
                                                              const FaceParams&, ThreadPool*);
template StatusOr<FaceGeometry<double>> ComputeGeometry<double>(const models::MorphableModel&,
                                                                const FaceParams&, ThreadPool*);
template Status ComputeGeometry<float>(const models::MorphableModel&, const FaceParams&,
                                       ThreadPool*, FaceGeometry<float>*);
template Status ComputeGeometry<double>(const models::MorphableModel&, const FaceParams&,
                                        ThreadPool*, FaceGeometry<double>*);
template math::SpecularParams<float> MakeSpecularParams<float>(const RenderOptions&);
template math::SpecularParams<double> MakeSpecularParams<double>(const RenderOptions&);
template math::ShadeInputs<float> MakeShadeInputs<float>(const FaceGeometry<float>&,
                                                        const models::MorphableModel&,
                                                        const math::SpecularParams<float>&);
template math::ShadeInputs<double> MakeShadeInputs<double>(const FaceGeometry<double>&,
                                                          const models::MorphableModel&,
                                                          const math::SpecularParams<double>&);
template void ShadeTrianglePixel<float>(const FaceGeometry<float>&, const models::MorphableModel&,
                                        int, int, int, const math::SpecularParams<float>&,
                                        float*, math::PixelShading<float>*);
template void ShadeTrianglePixel<double>(const FaceGeometry<double>&,
                                         const models::MorphableModel&, int, int, int,
                                         const math::SpecularParams<double>&, double*,
                                         math::PixelShading<double>*);

}  // namespace morphfit::render
