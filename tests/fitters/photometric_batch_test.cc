// FitPhotometricBatch on the CPU (the batched solver's reference path; the device path is in
// photometric_cuda_test.cc, label gpu):
//  - a batch of 3 faces (different faces, sizes and camera models, so each converges after its
//    own number of iterations and drops out of the lock-step at its own round) gives each face
//    what a single FitPhotometric gives it: the same iterations per stage, the same final
//    energy and RMSE within 1e-9 relative and the same parameters within 1e-9 (the lock-step
//    runs each face through the same state machine, and the CPU sums do not depend on the
//    thread count: measured identical to the last digit);
//    face 2 has its own landmark weights (PhotometricFitInput::landmark_weights);
//  - one face's bad input (a NaN pixel, a start for another image size, no image, 67 landmark
//    weights) is that face's error and the other faces still give their single fits;
//  - the whole call's errors: the Ceres solver, use_cuda where CUDA cannot run, bad options.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "morphfit/fitters/photometric_fit.h"
#include "photometric_test_util.h"

namespace morphfit::fitters {
namespace {

using testing::PhotoSample;

constexpr double kRelTolerance = 1e-9;

const std::vector<testing::PhotometricProblem>& Problems() {
  static const std::vector<testing::PhotometricProblem> pbs = {
      testing::MakePhotometricProblem(64, 0.005, 3),
      testing::MakePhotometricProblem(72, 0.01, 5, CameraType::kWeakPerspective),
      testing::MakePhotometricProblem(56, 0.005, 7)};
  return pbs;
}

PhotometricFitOptions Options() {
  PhotometricFitOptions o;
  o.num_threads = 2;
  return o;
}

PhotometricFitInput Input(const testing::PhotometricProblem& pb) {
  PhotometricFitInput in;
  in.image = &pb.image;
  in.landmarks_px = pb.landmarks;
  in.initial = pb.start;
  return in;
}

void ExpectSameFit(const PhotometricFitResult& batch, const PhotometricFitResult& single,
                   const std::string& what) {
  const PhotometricFitSummary &b = batch.summary, &s = single.summary;
  ASSERT_EQ(b.stages.size(), s.stages.size()) << what;
  for (size_t k = 0; k < s.stages.size(); ++k) {
    EXPECT_EQ(b.stages[k].iterations, s.stages[k].iterations) << what << " stage " << k;
    EXPECT_EQ(b.stages[k].termination, s.stages[k].termination) << what << " stage " << k;
    EXPECT_NEAR(b.stages[k].final_cost, s.stages[k].final_cost,
                kRelTolerance * s.stages[k].final_cost)
        << what << " stage " << k;
  }
  EXPECT_NEAR(b.photometric_rmse, s.photometric_rmse, kRelTolerance * s.photometric_rmse) << what;
  EXPECT_EQ(b.converged, s.converged) << what;
  const Eigen::VectorXd pb = batch.params.ToFlat(), ps = single.params.ToFlat();
  ASSERT_EQ(pb.size(), ps.size());
  EXPECT_LT((pb - ps).lpNorm<Eigen::Infinity>(),
            kRelTolerance * (1.0 + ps.lpNorm<Eigen::Infinity>()))
      << what;
}

TEST(PhotometricBatchTest, CpuBatchGivesEachFaceItsSingleFit) {
  const auto& pbs = Problems();
  const PhotometricFitOptions options = Options();
  std::vector<PhotometricFitInput> inputs;
  for (const auto& pb : pbs) inputs.push_back(Input(pb));
  // Face 2 with its own landmark weights (the jaw down-weighted, as the CLI does).
  std::vector<double> jaw_weights(68, 1.0);
  for (int k = 0; k < 17; ++k) jaw_weights[k] = 0.1;
  inputs[2].landmark_weights = jaw_weights;
  const StatusOr<PhotometricBatchResult> batch =
      FitPhotometricBatch(PhotoSample(), inputs, options);
  ASSERT_TRUE(batch.ok()) << batch.status().message();
  ASSERT_EQ(batch->status.size(), pbs.size());
  ASSERT_EQ(batch->fits.size(), pbs.size());
  int total_min = 1 << 30, total_max = 0;
  for (size_t f = 0; f < pbs.size(); ++f) {
    ASSERT_TRUE(batch->status[f].ok()) << "face " << f << ": " << batch->status[f].message();
    PhotometricFitOptions single_options = options;
    if (f == 2) single_options.landmark_weights = jaw_weights;
    const StatusOr<PhotometricFitResult> single =
        FitPhotometric(PhotoSample(), pbs[f].image, pbs[f].landmarks, pbs[f].start, single_options);
    ASSERT_TRUE(single.ok()) << single.status().message();
    ExpectSameFit(batch->fits[f], single.value(), "face " + std::to_string(f));
    // A real fit: near the noise floor.
    EXPECT_LT(batch->fits[f].summary.photometric_rmse, 3.0 * (f == 1 ? 0.01 : 0.005))
        << "face " << f << ":\n"
        << batch->fits[f].summary.ToString();
    total_min = std::min(total_min, batch->fits[f].summary.iterations);
    total_max = std::max(total_max, batch->fits[f].summary.iterations);
  }
  // The faces left the lock-step at different rounds (what the test is about).
  EXPECT_LT(total_min, total_max);
}

TEST(PhotometricBatchTest, OneFaceErrorDoesNotStopTheOthers) {
  const auto& pbs = Problems();
  const PhotometricFitOptions options = Options();
  PhotometricImage nan_image = pbs[0].image;
  nan_image.rgb[3 * (10 * 64 + 7)] = std::numeric_limits<float>::quiet_NaN();
  std::vector<PhotometricFitInput> inputs = {Input(pbs[0]), Input(pbs[1]), Input(pbs[2]),
                                             Input(pbs[1]), Input(pbs[2])};
  inputs[4].landmark_weights.assign(67, 1.0);  // one short
  inputs[0].image = &nan_image;
  inputs[2].initial.image_width = 65;  // a start for another image size
  inputs[3].image = nullptr;
  const StatusOr<PhotometricBatchResult> batch =
      FitPhotometricBatch(PhotoSample(), inputs, options);
  ASSERT_TRUE(batch.ok()) << batch.status().message();
  EXPECT_EQ(batch->status[0].code(), StatusCode::kInvalidArgument);
  EXPECT_NE(batch->status[0].message().find("pixel (7, 10)"), std::string::npos)
      << batch->status[0].message();
  EXPECT_EQ(batch->status[2].code(), StatusCode::kInvalidArgument);
  EXPECT_NE(batch->status[2].message().find("65 x 56"), std::string::npos)
      << batch->status[2].message();
  EXPECT_EQ(batch->status[3].code(), StatusCode::kInvalidArgument);
  EXPECT_NE(batch->status[3].message().find("face 3: no image"), std::string::npos)
      << batch->status[3].message();
  EXPECT_EQ(batch->status[4].code(), StatusCode::kInvalidArgument);
  EXPECT_NE(batch->status[4].message().find("landmark_weights must have 68"), std::string::npos)
      << batch->status[4].message();
  ASSERT_TRUE(batch->status[1].ok()) << batch->status[1].message();
  const StatusOr<PhotometricFitResult> single =
      FitPhotometric(PhotoSample(), pbs[1].image, pbs[1].landmarks, pbs[1].start, options);
  ASSERT_TRUE(single.ok());
  ExpectSameFit(batch->fits[1], single.value(), "face 1");
}

TEST(PhotometricBatchTest, WholeCallErrors) {
  const auto& pbs = Problems();
  const std::vector<PhotometricFitInput> inputs = {Input(pbs[0])};
  PhotometricFitOptions options = Options();
  options.solver = PhotometricSolver::kCeres;
  StatusOr<PhotometricBatchResult> r = FitPhotometricBatch(PhotoSample(), inputs, options);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("gauss_newton"), std::string::npos) << r.status().message();
  options = Options();
  options.stages.clear();
  r = FitPhotometricBatch(PhotoSample(), inputs, options);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  // An empty batch is no error.
  r = FitPhotometricBatch(PhotoSample(), {}, Options());
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->fits.empty());
  std::string reason;
  if (!PhotometricCudaAvailable(&reason)) {
    options = Options();
    options.use_cuda = true;
    r = FitPhotometricBatch(PhotoSample(), inputs, options);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition);
    EXPECT_NE(r.status().message().find(reason), std::string::npos) << r.status().message();
  }
}

}  // namespace
}  // namespace morphfit::fitters
