// CUDA fused JᵀJ / Jᵀr (render_jacobian.h). Three kernels:
//  SeedsKernel      one thread per listed pixel: math::ComputePixelSeeds, the robust weight and
//                   the weighted residual (math::WeightPixelResidual), the pixel's cost term.
//  TileKernel       block (tile pair, split): for each group of kGroup pixels of its split, the
//                   weighted rows restricted to the tile's 64 + 64 columns
//                   (math::PixelJacobianEntry) go to shared memory, then each thread adds a
//                   4 x 4 block of A_Iᵀ B_J to registers (and diagonal tiles add A_Iᵀ r).
//  ReduceKernel     per output entry, the splits' partials summed in split order, in double.
// Every step has a fixed order, so results do not depend on scheduling.
#include "render_jacobian.h"

#include <cuda_runtime.h>

#include <algorithm>

#include "morphfit/math/pixel_jacobian.h"
#include "render_device_buffer.cuh"

namespace morphfit::cuda {
namespace {

constexpr int kTile = 64;            // JᵀJ output tile side
constexpr int kGroup = 16;           // pixels staged per step (3 rows each)
constexpr int kRows = 3 * kGroup;
constexpr int kThreads = 256;        // 16 x 16 threads, 4 x 4 outputs each
constexpr int kMaxSplits = 64;
constexpr int kSeedThreads = 128;

__global__ void SeedsKernel(math::PixelJacobianInputs<float> in, const int32_t* __restrict__ list,
                            int num_listed, const int32_t* __restrict__ visible_triangle,
                            int width, const float* __restrict__ observed,
                            const float* __restrict__ weights, math::RobustLoss loss,
                            double loss_scale, math::PixelSeeds<float>* __restrict__ seeds,
                            float* __restrict__ sqrt_weight, float* __restrict__ residual,
                            double* __restrict__ cost) {
  const int n = blockIdx.x * blockDim.x + threadIdx.x;
  if (n >= num_listed) return;
  const int64_t i = list[n];
  const float w = weights != nullptr ? weights[i] : 1.0f;
  math::PixelSeeds<float> s;
  math::ComputePixelSeeds(in, visible_triangle[i], static_cast<int>(i % width),
                          static_cast<int>(i / width), &s);
  float r[3];
  double c = 0.0;
  const float sw = math::WeightPixelResidual(s.color, observed + 3 * i, w, loss, loss_scale, r, &c);
  seeds[n] = s;
  sqrt_weight[n] = sw;
  for (int k = 0; k < 3; ++k) residual[3 * n + k] = sw * r[k];
  cost[n] = c;
}

__global__ void __launch_bounds__(kThreads)
TileKernel(math::PixelJacobianInputs<float> in, const int2* __restrict__ pairs, int num_pairs,
           const math::PixelSeeds<float>* __restrict__ seeds,
           const float* __restrict__ sqrt_weight, const float* __restrict__ residual,
           int num_listed, int per_split, float* __restrict__ partial_jtj,
           float* __restrict__ partial_jtr) {
  __shared__ float a_rows[kRows][kTile];
  __shared__ float b_rows[kRows][kTile];
  __shared__ float res_s[kRows];
  __shared__ float sw_s[kGroup];
  __shared__ math::PixelSeeds<float> seeds_s[kGroup];
  const int P = in.layout.total;
  const int pair = blockIdx.x, split = blockIdx.y;
  const int ti = pairs[pair].x, tj = pairs[pair].y;
  const bool diagonal = ti == tj;
  const int tid = threadIdx.x, ty = tid / 16, tx = tid % 16;
  const int begin = split * per_split;
  const int end = min(num_listed, begin + per_split);
  float acc[4][4] = {};
  float jtr_acc = 0.0f;
  for (int g = begin; g < end; g += kGroup) {
    const int count = min(kGroup, end - g);
    if (tid < count) {
      seeds_s[tid] = seeds[g + tid];
      sw_s[tid] = sqrt_weight[g + tid];
    }
    if (tid < kRows) res_s[tid] = tid / 3 < count ? residual[3 * g + tid] : 0.0f;
    __syncthreads();
    const int width = diagonal ? kTile : 2 * kTile;
    for (int e = tid; e < kRows * width; e += kThreads) {
      const int r = e / width, local = e % width;
      const int pixel = r / 3, channel = r % 3;
      const int col = (local < kTile ? ti : tj) * kTile + local % kTile;
      float v = 0.0f;
      if (pixel < count && col < P) {
        v = sw_s[pixel] * math::PixelJacobianEntry(in, seeds_s[pixel], channel, col);
      }
      if (local < kTile) a_rows[r][local] = v; else b_rows[r][local - kTile] = v;
    }
    __syncthreads();
    const float(*b)[kTile] = diagonal ? a_rows : b_rows;
    for (int r = 0; r < kRows; ++r) {
      float av[4], bv[4];
      for (int k = 0; k < 4; ++k) {
        av[k] = a_rows[r][4 * ty + k];
        bv[k] = b[r][4 * tx + k];
      }
      for (int p = 0; p < 4; ++p) {
        for (int q = 0; q < 4; ++q) acc[p][q] += av[p] * bv[q];
      }
    }
    if (diagonal && tid < kTile) {
      for (int r = 0; r < kRows; ++r) jtr_acc += a_rows[r][tid] * res_s[r];
    }
    __syncthreads();
  }
  float* out = partial_jtj + (static_cast<int64_t>(split) * num_pairs + pair) * kTile * kTile;
  for (int p = 0; p < 4; ++p) {
    for (int q = 0; q < 4; ++q) out[(4 * ty + p) * kTile + 4 * tx + q] = acc[p][q];
  }
  if (diagonal && tid < kTile) {
    const int num_tiles = (P + kTile - 1) / kTile;
    partial_jtr[(static_cast<int64_t>(split) * num_tiles + ti) * kTile + tid] = jtr_acc;
  }
}

// out[e] = sum over s < num_splits of partial[s * stride + e], in split order.
__global__ void ReduceKernel(const float* __restrict__ partial, int64_t stride, int num_splits,
                             double* __restrict__ out) {
  const int64_t e = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (e >= stride) return;
  double sum = 0.0;
  for (int s = 0; s < num_splits; ++s) sum += partial[s * stride + e];
  out[e] = sum;
}

std::string CheckInput(const NormalEquationsInput& in) {
  if (in.width <= 0 || in.height <= 0) return "AccumulateNormalEquationsCuda: empty image";
  if (in.num_vertices <= 0 || in.num_triangles <= 0 || in.num_slots < 0 || in.num_shape < 0 ||
      in.num_albedo < 0) {
    return "AccumulateNormalEquationsCuda: empty mesh or negative block size";
  }
  if (!in.pixels || !in.points_camera || !in.normals || !in.albedo || !in.triangles ||
      !in.vertex_slot || !in.dpoint_drot || !in.dnormal_drot || !in.visible_triangle ||
      !in.observed || (in.num_shape > 0 && (!in.dpoint_dshape || !in.dnormal_dshape)) ||
      (in.num_albedo > 0 && !in.albedo_rows)) {
    return "AccumulateNormalEquationsCuda: an input array is null";
  }
  return {};
}

}  // namespace

math::JacobianLayout NormalEquationsLayout(const NormalEquationsInput& input) {
  math::JacobianLayout l;
  l.shape = 0;
  l.num_shape = input.num_shape;
  l.albedo = input.num_shape;
  l.num_albedo = input.num_albedo;
  l.lighting = l.albedo + input.num_albedo;
  l.rotation = l.lighting + 27;
  l.translation = l.rotation + 3;
  l.camera = l.translation + 3;
  l.total = l.camera + 3;
  return l;
}

std::string AccumulateNormalEquationsCuda(const NormalEquationsInput& in,
                                          NormalEquationsResult* out) {
  std::string e = CheckInput(in);
  if (!e.empty()) return e;
  const math::JacobianLayout layout = NormalEquationsLayout(in);
  const int P = layout.total;
  out->num_params = P;
  out->jtj.assign(static_cast<size_t>(P) * P, 0.0);
  out->jtr.assign(P, 0.0);
  out->cost = 0.0;
  out->num_pixels = 0;
  const int64_t num_image = static_cast<int64_t>(in.width) * in.height;
  std::vector<int32_t> list;
  for (int64_t i = 0; i < num_image; ++i) {
    const float w = in.weights != nullptr ? in.weights[i] : 1.0f;
    if (in.visible_triangle[i] >= 0 && w > 0.0f) list.push_back(static_cast<int32_t>(i));
  }
  const int num_listed = static_cast<int>(list.size());
  if (num_listed == 0) return {};
  const size_t nv = in.num_vertices, ns = in.num_slots;
  DeviceBuffer<float> pixels, points, normals, albedo, lighting, dps, dns, dpr, dnr, arows;
  DeviceBuffer<float> observed, weights, sw, residual, partial_jtj, partial_jtr;
  DeviceBuffer<int32_t> triangles, visible, d_list;
  DeviceBuffer<int> slots;
  DeviceBuffer<math::PixelSeeds<float>> seeds;
  DeviceBuffer<double> cost, jtj_tiles, jtr_tiles;
  DeviceBuffer<int2> d_pairs;
  e = pixels.Upload(in.pixels, 2 * nv, "pixels");
  if (e.empty()) e = points.Upload(in.points_camera, 3 * nv, "points");
  if (e.empty()) e = normals.Upload(in.normals, 3 * nv, "normals");
  if (e.empty()) e = albedo.Upload(in.albedo, 3 * nv, "albedo");
  if (e.empty()) e = lighting.Upload(in.lighting, 27, "lighting");
  if (e.empty()) e = triangles.Upload(in.triangles, 3 * static_cast<size_t>(in.num_triangles), "triangles");
  if (e.empty()) e = slots.Upload(in.vertex_slot, nv, "vertex slots");
  if (e.empty()) e = dps.Upload(in.dpoint_dshape, 3 * ns * in.num_shape, "dpoint_dshape");
  if (e.empty()) e = dns.Upload(in.dnormal_dshape, 3 * ns * in.num_shape, "dnormal_dshape");
  if (e.empty()) e = dpr.Upload(in.dpoint_drot, 9 * ns, "dpoint_drot");
  if (e.empty()) e = dnr.Upload(in.dnormal_drot, 9 * ns, "dnormal_drot");
  if (e.empty()) e = arows.Upload(in.albedo_rows, 3 * nv * in.num_albedo, "albedo rows");
  if (e.empty()) e = visible.Upload(in.visible_triangle, num_image, "visibility");
  if (e.empty()) e = observed.Upload(in.observed, 3 * num_image, "observed");
  if (e.empty() && in.weights != nullptr) e = weights.Upload(in.weights, num_image, "weights");
  if (e.empty()) e = d_list.Upload(list.data(), list.size(), "pixel list");
  if (e.empty()) e = seeds.Allocate(num_listed, "seeds");
  if (e.empty()) e = sw.Allocate(num_listed, "weights");
  if (e.empty()) e = residual.Allocate(3 * static_cast<size_t>(num_listed), "residuals");
  if (e.empty()) e = cost.Allocate(num_listed, "costs");
  if (!e.empty()) return e;

  math::PixelJacobianInputs<float> j;
  j.shade.pixels = pixels.get();
  j.shade.depths = points.get() + 2;
  j.shade.depth_stride = 3;
  j.shade.normals = normals.get();
  j.shade.albedo = albedo.get();
  j.shade.triangles = triangles.get();
  j.shade.perspective = in.perspective;
  j.shade.lighting = lighting.get();
  j.shade.spec.intensity = in.specular_intensity;
  j.shade.spec.shininess = in.specular_shininess;
  for (int c = 0; c < 3; ++c) j.shade.spec.half_vector[c] = in.specular_half_vector[c];
  j.points_camera = points.get();
  DeviceBuffer<float> camera;
  e = camera.Upload(in.camera, 3, "camera");
  if (!e.empty()) return e;
  j.camera = camera.get();
  j.vertex_slot = slots.get();
  j.dpoint_dshape = dps.get();
  j.dnormal_dshape = dns.get();
  j.dpoint_drot = dpr.get();
  j.dnormal_drot = dnr.get();
  j.albedo_rows = arows.get();
  j.layout = layout;

  SeedsKernel<<<(num_listed + kSeedThreads - 1) / kSeedThreads, kSeedThreads>>>(
      j, d_list.get(), num_listed, visible.get(), in.width, observed.get(),
      in.weights != nullptr ? weights.get() : nullptr, in.loss, in.loss_scale, seeds.get(),
      sw.get(), residual.get(), cost.get());
  e = CheckKernels("SeedsKernel");
  if (!e.empty()) return e;

  const int num_tiles = (P + kTile - 1) / kTile;
  std::vector<int2> pairs;
  for (int ti = 0; ti < num_tiles; ++ti) {
    for (int tj = 0; tj <= ti; ++tj) pairs.push_back(make_int2(ti, tj));
  }
  const int num_pairs = static_cast<int>(pairs.size());
  const int num_groups = (num_listed + kGroup - 1) / kGroup;
  const int num_splits = std::min(kMaxSplits, std::max(1, num_groups / 8));
  const int per_split = kGroup * ((num_groups + num_splits - 1) / num_splits);
  const int64_t jtj_stride = static_cast<int64_t>(num_pairs) * kTile * kTile;
  const int64_t jtr_stride = static_cast<int64_t>(num_tiles) * kTile;
  e = d_pairs.Upload(pairs.data(), pairs.size(), "tile pairs");
  if (e.empty()) e = partial_jtj.Allocate(num_splits * jtj_stride, "partial JtJ");
  if (e.empty()) e = partial_jtr.Allocate(num_splits * jtr_stride, "partial Jtr");
  if (e.empty()) e = jtj_tiles.Allocate(jtj_stride, "JtJ tiles");
  if (e.empty()) e = jtr_tiles.Allocate(jtr_stride, "Jtr tiles");
  if (!e.empty()) return e;
  // Off-diagonal tiles leave their Jᵀr slots untouched: clear so the reduction reads zeros.
  cudaError_t err = cudaMemset(partial_jtr.get(), 0, num_splits * jtr_stride * sizeof(float));
  if (err != cudaSuccess) return CudaError("cudaMemset(partial Jtr)", err);
  TileKernel<<<dim3(num_pairs, num_splits), kThreads>>>(j, d_pairs.get(), num_pairs, seeds.get(),
                                                        sw.get(), residual.get(), num_listed,
                                                        per_split, partial_jtj.get(),
                                                        partial_jtr.get());
  ReduceKernel<<<static_cast<unsigned>((jtj_stride + 255) / 256), 256>>>(
      partial_jtj.get(), jtj_stride, num_splits, jtj_tiles.get());
  ReduceKernel<<<static_cast<unsigned>((jtr_stride + 255) / 256), 256>>>(
      partial_jtr.get(), jtr_stride, num_splits, jtr_tiles.get());
  e = CheckKernels("normal-equation kernels");
  if (!e.empty()) return e;

  std::vector<double> tiles(jtj_stride), jtr(jtr_stride), costs(num_listed);
  e = jtj_tiles.Download(tiles.data(), tiles.size(), "JtJ tiles");
  if (e.empty()) e = jtr_tiles.Download(jtr.data(), jtr.size(), "Jtr tiles");
  if (e.empty()) e = cost.Download(costs.data(), costs.size(), "costs");
  if (!e.empty()) return e;
  for (int p = 0; p < num_pairs; ++p) {
    const int ti = pairs[p].x, tj = pairs[p].y;
    for (int a = 0; a < kTile && ti * kTile + a < P; ++a) {
      for (int b = 0; b < kTile && tj * kTile + b < P; ++b) {
        const double v = tiles[static_cast<int64_t>(p) * kTile * kTile + a * kTile + b];
        const int64_t row = ti * kTile + a, col = tj * kTile + b;
        out->jtj[row * P + col] = v;
        out->jtj[col * P + row] = v;
      }
    }
  }
  for (int a = 0; a < P; ++a) out->jtr[a] = jtr[a];
  for (double c : costs) out->cost += c;
  out->num_pixels = num_listed;
  return {};
}

}  // namespace morphfit::cuda
