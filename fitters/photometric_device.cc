// The own Gauss-Newton's device seam (photometric_device.h).
#include "photometric_device.h"

#include <string>

#include "morphfit/fitters/photometric_fit.h"

#if defined(MORPHFIT_FITTERS_WITH_CUDA)
#include "model_eval.h"       // cuda::DeviceAvailable
#include "render_jacobian.h"  // cuda::AccumulateNormalEquationsCuda
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
  const int P = render::ParamLayout::For(model).total;
  if (cuda::NormalEquationsLayout(in).total != P) {
    return InternalError("photometric fit (CUDA): parameter layout mismatch");
  }
  cuda::NormalEquationsResult r;
  const std::string error = cuda::AccumulateNormalEquationsCuda(in, &r);
  if (!error.empty()) return InternalError("photometric fit (CUDA): " + error);
  render::NormalEquations out;
  out.jtj = Eigen::Map<const Eigen::MatrixXd>(r.jtj.data(), P, P);  // symmetric
  out.jtr = Eigen::Map<const Eigen::VectorXd>(r.jtr.data(), P);
  out.cost = r.cost;
  out.num_pixels = r.num_pixels;
  return out;
#else
  return InternalError("photometric fit: unreachable (CheckPhotometricCuda fails without CUDA)");
#endif
}

}  // namespace morphfit::fitters
