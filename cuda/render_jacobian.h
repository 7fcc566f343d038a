// CUDA twin of the fused photometric normal equations (render::AccumulatePhotometric): for every
// pixel with a visible triangle and a positive weight, J_pᵀ J_p and J_pᵀ r_p summed over the
// image without storing J. Per pixel the seeds (math::ComputePixelSeeds) are computed once, then
// blocks of 256 threads each own a 64 x 64 tile of the lower triangle of JᵀJ: they expand 16
// pixels' 48 weighted rows restricted to the tile's columns (math::PixelJacobianEntry) into
// shared memory and accumulate 4 x 4 outputs per thread in registers; per-block partials are
// reduced in a fixed order (deterministic). FLOPs: 2 P² per row, i.e. 6 P² per pixel for the
// full matrix (3 P² on the lower triangle computed here) — 396k per pixel at P = 257.
// AccumulateNormalEquationsBatchCuda does the same for B faces of one model in one launch of each
// kernel (blockIdx.z / blockIdx.y = face; the single-face call is a batch of one).
// Plain C++ launcher header: no CUDA types.
#ifndef MORPHFIT_CUDA_RENDER_JACOBIAN_H_
#define MORPHFIT_CUDA_RENDER_JACOBIAN_H_

#include <cstdint>
#include <string>
#include <vector>

#include "morphfit/math/pixel_jacobian.h"

namespace morphfit::cuda {

// Host arrays of one face (N vertices, T triangles, S slots); see math::PixelJacobianInputs for
// the meaning of each (depths are points_camera's z). The parameter layout is
// [shape num_shape | albedo num_albedo | lighting 27 | rotation 3 | translation 3 | camera 3].
struct NormalEquationsInput {
  const float* pixels = nullptr;         // 2N
  const float* points_camera = nullptr;  // 3N
  const float* normals = nullptr;        // 3N unit, view frame
  const float* albedo = nullptr;         // 3N
  const int32_t* triangles = nullptr;    // 3T
  int num_vertices = 0, num_triangles = 0;
  bool perspective = true;
  float camera[3] = {0.0f, 0.0f, 0.0f};
  float lighting[27] = {};
  float specular_intensity = 0.0f, specular_shininess = 20.0f;
  float specular_half_vector[3] = {0.0f, 0.0f, 1.0f};
  const int* vertex_slot = nullptr;      // N, vertex -> slot (every vertex of a visible triangle)
  int num_slots = 0;
  int num_shape = 0, num_albedo = 0;
  const float* dpoint_dshape = nullptr;   // 3S x num_shape
  const float* dnormal_dshape = nullptr;  // 3S x num_shape
  const float* dpoint_drot = nullptr;     // 9S
  const float* dnormal_drot = nullptr;    // 9S
  const float* albedo_rows = nullptr;     // 3N x num_albedo
  // The image: visibility, observed colours (3 per pixel), weights (null = 1).
  const int32_t* visible_triangle = nullptr;
  int width = 0, height = 0;
  const float* observed = nullptr;
  const float* weights = nullptr;
  math::RobustLoss loss = math::RobustLoss::kNone;
  double loss_scale = 0.1;
};

// The layout of `input` (P = total).
math::JacobianLayout NormalEquationsLayout(const NormalEquationsInput& input);

struct NormalEquationsResult {
  int num_params = 0;
  std::vector<double> jtj;  // P x P row-major, symmetric
  std::vector<double> jtr;  // P
  double cost = 0.0;        // sum of weight x rho(|r_p|)
  int num_pixels = 0;
};

// Returns "" on success, else the error (bad input or the CUDA runtime's message).
std::string AccumulateNormalEquationsCuda(const NormalEquationsInput& input,
                                          NormalEquationsResult* out);

// The normal equations of every face of `inputs` (B faces of one model: the same num_shape and
// num_albedo, hence the same P; each with its own geometry, slots, image and loss) in one call:
// every face's arrays go into one device allocation (an array shared by several faces, e.g.
// the model's triangles or albedo rows, is uploaded once), then one seeds launch, one tile
// launch (grid: tile pairs x splits x faces) and one reduction launch over all faces; per face
// the result equals AccumulateNormalEquationsCuda's up to the split count (fewer splits per
// face when the batch already fills the device; every sum still in a fixed order). out gets B
// results. "" on success, else the error (naming the face for bad input).
std::string AccumulateNormalEquationsBatchCuda(const std::vector<NormalEquationsInput>& inputs,
                                               std::vector<NormalEquationsResult>* out);

}  // namespace morphfit::cuda

#endif  // MORPHFIT_CUDA_RENDER_JACOBIAN_H_
