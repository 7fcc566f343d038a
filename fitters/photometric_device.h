// The device seam of the own Gauss-Newton (PhotometricEnergy::Linearize): the fused photometric
// normal equations on the CPU (render::AccumulatePhotometric) or, with
// PhotometricFitOptions::use_cuda, on a CUDA device (cuda::AccumulateNormalEquationsCuda, fed
// the dense per-face arrays of render::ComputeDenseJacobianFace). Private to fitters/.
#ifndef MORPHFIT_FITTERS_PHOTOMETRIC_DEVICE_H_
#define MORPHFIT_FITTERS_PHOTOMETRIC_DEVICE_H_

#include "morphfit/core/face_params.h"
#include "morphfit/core/status.h"
#include "morphfit/core/thread_pool.h"
#include "morphfit/models/morphable_model.h"
#include "morphfit/render/jacobian.h"
#include "morphfit/render/visibility.h"

namespace morphfit::fitters {

// OK when the CUDA path can run here; else FailedPrecondition saying why ("built without
// CUDA ...", or the CUDA runtime's message when no usable device is found).
Status CheckPhotometricCuda();

// AccumulatePhotometric's sums computed on the CUDA device (same arguments and result). The
// geometry, the vertex Jacobians and the pixel list are built on the host; the seeds, the
// JᵀJ tiles and their reduction run on the device. FailedPrecondition without CUDA (see
// CheckPhotometricCuda), Internal for a CUDA runtime error.
StatusOr<render::NormalEquations> AccumulatePhotometricCuda(
    const models::MorphableModel& model, const render::JacobianModel& jmodel,
    const FaceParams& params, const render::VisibilityBuffer& visibility, const float* observed,
    const float* weights, const render::RenderOptions& render_options,
    const render::PhotometricOptions& options, ThreadPool* pool);

}  // namespace morphfit::fitters

#endif  // MORPHFIT_FITTERS_PHOTOMETRIC_DEVICE_H_
