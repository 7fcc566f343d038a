// The device seam of the own Gauss-Newton (PhotometricEnergy::Linearize): the fused photometric
// normal equations on the CPU (render::AccumulatePhotometric) or, with
// PhotometricFitOptions::use_cuda, on a CUDA device (cuda::AccumulateNormalEquationsCuda, fed
// the dense per-face arrays of render::ComputeDenseJacobianFace); for a batch of faces, their
// normal equations in one device call (cuda::AccumulateNormalEquationsBatchCuda) and their
// damped systems solved in one (cuda::CholeskySolveBatchCuda). Private to fitters/.
#ifndef MORPHFIT_FITTERS_PHOTOMETRIC_DEVICE_H_
#define MORPHFIT_FITTERS_PHOTOMETRIC_DEVICE_H_

#include <vector>

#include <Eigen/Core>

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

class PhotometricEnergy;

// One face of a batched device call: its energy (model, level image and weights, options) and
// the point and visibility of its linearisation. Borrowed, not owned.
struct PhotometricBatchFace {
  const PhotometricEnergy* energy = nullptr;
  const FaceParams* params = nullptr;
  const render::VisibilityBuffer* visibility = nullptr;
};

// AccumulatePhotometricCuda for every face of `faces` (one model, render options and loss: the
// first face's energy's; each face its own level image) in one device call: the dense arrays
// are built on the host (over `pool`, one face per task), then
// cuda::AccumulateNormalEquationsBatchCuda. One result per face: a face whose host arrays
// cannot be built gets its own error and is left out of the call; a device error is every
// face's error. FailedPrecondition for every face without CUDA.
std::vector<StatusOr<render::NormalEquations>> AccumulatePhotometricBatchCuda(
    const std::vector<PhotometricBatchFace>& faces, ThreadPool* pool);

// Solves a[k] x[k] = rhs[k] (each symmetric, k < B, sizes may differ) on the device in one call
// (cuda::CholeskySolveBatchCuda, the systems padded to the largest size; the CPU twin is
// CholeskySolve, Eigen's LLT). positive_definite[k] false where the factorisation failed (x[k]
// is then meaningless). FailedPrecondition without CUDA, Internal for a CUDA error,
// InvalidArgument for mismatched sizes.
Status SolveSystemsBatchCuda(const std::vector<Eigen::MatrixXd>& a,
                             const std::vector<Eigen::VectorXd>& rhs,
                             std::vector<Eigen::VectorXd>* x, std::vector<bool>* positive_definite);

}  // namespace morphfit::fitters

#endif  // MORPHFIT_FITTERS_PHOTOMETRIC_DEVICE_H_
