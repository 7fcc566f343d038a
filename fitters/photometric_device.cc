// The own Gauss-Newton's device seam (photometric_device.h).
#include "photometric_device.h"

#include <algorithm>
#include <memory>
#include <string>

#include "morphfit/fitters/photometric_fit.h"
#include "photometric_energy.h"

#if defined(MORPHFIT_FITTERS_WITH_CUDA)
#include "batched_cholesky.h"  // cuda::CholeskySolveBatchCuda
#include "model_eval.h"        // cuda::DeviceAvailable
#include "render_jacobian.h"   // cuda::AccumulateNormalEquationsCuda
#endif

namespace morphfit::fitters {

bool PhotometricCudaAvailable(std::string* reason) {
#if defined(MORPHFIT_FITTERS_WITH_CUDA)
  // Its reason starts "no usable CUDA device" or "no CUDA device present".
  return cuda::DeviceAvailable(reason);
#else
  if (reason != nullptr) {
    *reason =
        "morphfit was built without CUDA (MORPHFIT_WITH_CUDA=OFF or no nvcc at configure "
        "time)";
  }
  return false;
#endif
}

Status CheckPhotometricCuda() {
  std::string reason;
  if (PhotometricCudaAvailable(&reason)) return OkStatus();
  return FailedPreconditionError("photometric fit: use_cuda (--device cuda): " + reason);
}

#if defined(MORPHFIT_FITTERS_WITH_CUDA)
namespace {

// The kernel's input view of one face's dense arrays (borrows `face`, the model, `jmodel` and
// the image arrays).
cuda::NormalEquationsInput MakeDeviceInput(const models::MorphableModel& model,
                                           const render::JacobianModel& jmodel,
                                           const render::DenseJacobianFace& face,
                                           const render::VisibilityBuffer& visibility,
                                           const float* observed, const float* weights,
                                           const render::PhotometricOptions& options) {
  const math::PixelJacobianInputs<float> j = face.Inputs(model, jmodel);
  const render::FaceGeometry<float>& g = face.geometry;
  cuda::NormalEquationsInput in;
  in.pixels = g.pixels.data();
  in.points_camera = g.points_camera.data();
  in.normals = g.normals_view.data();
  in.albedo = g.albedo.data();
  in.triangles = model.triangles.data();
  in.num_vertices = model.num_vertices();
  in.num_triangles = model.num_triangles();
  in.perspective = g.perspective;
  for (int c = 0; c < 3; ++c) in.camera[c] = g.camera[c];
  for (int k = 0; k < 27; ++k) in.lighting[k] = g.lighting[k];
  in.specular_intensity = j.shade.spec.intensity;
  in.specular_shininess = j.shade.spec.shininess;
  for (int c = 0; c < 3; ++c) in.specular_half_vector[c] = j.shade.spec.half_vector[c];
  in.vertex_slot = j.vertex_slot;
  in.num_slots = face.num_slots();
  in.num_shape = j.layout.num_shape;
  in.num_albedo = j.layout.num_albedo;
  in.dpoint_dshape = j.dpoint_dshape;
  in.dnormal_dshape = j.dnormal_dshape;
  in.dpoint_drot = j.dpoint_drot;
  in.dnormal_drot = j.dnormal_drot;
  in.albedo_rows = j.albedo_rows;
  in.visible_triangle = visibility.triangle.data();
  in.width = visibility.width;
  in.height = visibility.height;
  in.observed = observed;
  in.weights = weights;
  in.loss = options.loss;
  in.loss_scale = options.loss_scale;
  return in;
}

render::NormalEquations FromDevice(const cuda::NormalEquationsResult& r, int P) {
  render::NormalEquations out;
  out.jtj = Eigen::Map<const Eigen::MatrixXd>(r.jtj.data(), P, P);  // symmetric
  out.jtr = Eigen::Map<const Eigen::VectorXd>(r.jtr.data(), P);
  out.cost = r.cost;
  out.num_pixels = r.num_pixels;
  return out;
}

}  // namespace
#endif

StatusOr<render::NormalEquations> AccumulatePhotometricCuda(
    const models::MorphableModel& model, const render::JacobianModel& jmodel,
    const FaceParams& params, const render::VisibilityBuffer& visibility, const float* observed,
    const float* weights, const render::RenderOptions& render_options,
    const render::PhotometricOptions& options, ThreadPool* pool) {
  // Without a device the kernels' first allocation would fail as an Internal error: say why.
  MORPHFIT_RETURN_IF_ERROR(CheckPhotometricCuda());
#if defined(MORPHFIT_FITTERS_WITH_CUDA)
  MORPHFIT_ASSIGN_OR_RETURN(
      render::DenseJacobianFace face,
      render::ComputeDenseJacobianFace(model, jmodel, params, visibility, render_options, pool));
  const cuda::NormalEquationsInput in =
      MakeDeviceInput(model, jmodel, face, visibility, observed, weights, options);
  const int P = render::ParamLayout::For(model).total;
  if (cuda::NormalEquationsLayout(in).total != P) {
    return InternalError("photometric fit (CUDA): parameter layout mismatch");
  }
  cuda::NormalEquationsResult r;
  const std::string error = cuda::AccumulateNormalEquationsCuda(in, &r);
  if (!error.empty()) return InternalError("photometric fit (CUDA): " + error);
  return FromDevice(r, P);
#else
  return InternalError("photometric fit: unreachable (CheckPhotometricCuda fails without CUDA)");
#endif
}

std::vector<StatusOr<render::NormalEquations>> AccumulatePhotometricBatchCuda(
    const std::vector<PhotometricBatchFace>& faces, ThreadPool* pool) {
  const int num_faces = static_cast<int>(faces.size());
  std::vector<StatusOr<render::NormalEquations>> out;
  const Status available = CheckPhotometricCuda();
  if (!available.ok() || num_faces == 0) {
    out.assign(num_faces, available);
    return out;
  }
#if defined(MORPHFIT_FITTERS_WITH_CUDA)
  std::vector<std::unique_ptr<render::DenseJacobianFace>> dense(num_faces);
  std::vector<Status> status(num_faces);
  pool->ParallelFor(0, num_faces, [&](int64_t f) {
    const PhotometricEnergy& e = *faces[f].energy;
    StatusOr<render::DenseJacobianFace> d = render::ComputeDenseJacobianFace(
        e.model(), e.jmodel(), *faces[f].params, *faces[f].visibility,
        e.options().render_options, e.pool());
    if (d.ok()) {
      dense[f] = std::make_unique<render::DenseJacobianFace>(std::move(d).value());
    } else {
      status[f] = d.status();
    }
  });
  std::vector<cuda::NormalEquationsInput> inputs;
  std::vector<int> index;  // input k is face index[k]
  int P = 0;
  for (int f = 0; f < num_faces; ++f) {
    if (!status[f].ok()) continue;
    const PhotometricEnergy& e = *faces[f].energy;
    if (&e.model() != &faces[0].energy->model()) {
      status[f] = InvalidArgumentError("photometric fit (CUDA batch): face " + std::to_string(f) +
                                       " has a different model from face 0");
      continue;
    }
    P = render::ParamLayout::For(e.model()).total;
    inputs.push_back(MakeDeviceInput(e.model(), e.jmodel(), *dense[f], *faces[f].visibility,
                                     e.level().rgb.data(), e.level().weights.data(),
                                     e.photometric_options()));
    index.push_back(f);
  }
  std::vector<cuda::NormalEquationsResult> results;
  const std::string error =
      inputs.empty() ? std::string() : cuda::AccumulateNormalEquationsBatchCuda(inputs, &results);
  if (!error.empty()) {
    for (int f : index) status[f] = InternalError("photometric fit (CUDA batch): " + error);
  }
  for (int f = 0, k = 0; f < num_faces; ++f) {
    const bool sent = k < static_cast<int>(index.size()) && index[k] == f;
    if (status[f].ok()) {
      out.push_back(FromDevice(results[k], P));
    } else {
      out.push_back(status[f]);
    }
    if (sent) ++k;
  }
  return out;
#else
  out.assign(num_faces, InternalError("photometric fit: unreachable without CUDA"));
  return out;
#endif
}

Status SolveSystemsBatchCuda(const std::vector<Eigen::MatrixXd>& a,
                             const std::vector<Eigen::VectorXd>& rhs,
                             std::vector<Eigen::VectorXd>* x,
                             std::vector<bool>* positive_definite) {
  MORPHFIT_RETURN_IF_ERROR(CheckPhotometricCuda());
  const int batch = static_cast<int>(a.size());
  if (rhs.size() != a.size()) {
    return InvalidArgumentError("SolveSystemsBatchCuda: " + std::to_string(a.size()) +
                                " matrices but " + std::to_string(rhs.size()) +
                                " right-hand sides");
  }
  int n = 0;
  std::vector<int> sizes(batch);
  for (int b = 0; b < batch; ++b) {
    sizes[b] = static_cast<int>(a[b].rows());
    if (a[b].cols() != sizes[b] || rhs[b].size() != sizes[b] || sizes[b] == 0) {
      return InvalidArgumentError("SolveSystemsBatchCuda: system " + std::to_string(b) +
                                  " is not square, empty, or its right-hand side's size differs");
    }
    n = std::max(n, sizes[b]);
  }
  x->assign(batch, Eigen::VectorXd());
  positive_definite->assign(batch, false);
  if (batch == 0) return OkStatus();
#if defined(MORPHFIT_FITTERS_WITH_CUDA)
  // Packed column-major with leading dimension n (Eigen's default storage).
  std::vector<double> packed(static_cast<size_t>(batch) * n * n, 0.0);
  std::vector<double> b_packed(static_cast<size_t>(batch) * n, 0.0);
  for (int b = 0; b < batch; ++b) {
    Eigen::Map<Eigen::MatrixXd, 0, Eigen::OuterStride<>> slot(
        packed.data() + static_cast<size_t>(b) * n * n, sizes[b], sizes[b],
        Eigen::OuterStride<>(n));
    slot = a[b];
    Eigen::Map<Eigen::VectorXd>(b_packed.data() + static_cast<size_t>(b) * n, sizes[b]) = rhs[b];
  }
  std::vector<double> solution;
  std::vector<int> info;
  const std::string error = cuda::CholeskySolveBatchCuda(n, batch, sizes.data(), packed.data(),
                                                         b_packed.data(), &solution, &info);
  if (!error.empty()) return InternalError("photometric fit (CUDA batch solve): " + error);
  for (int b = 0; b < batch; ++b) {
    (*x)[b] = Eigen::Map<const Eigen::VectorXd>(solution.data() + static_cast<size_t>(b) * n,
                                                sizes[b]);
    (*positive_definite)[b] = info[b] == 0;
  }
  return OkStatus();
#else
  return InternalError("photometric fit: unreachable (CheckPhotometricCuda fails without CUDA)");
#endif
}

}  // namespace morphfit::fitters
