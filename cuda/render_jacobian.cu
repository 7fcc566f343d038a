// CUDA fused JᵀJ / Jᵀr (render_jacobian.h), for a batch of faces (one face = a batch of one).
// Three kernels, each launched once for the whole batch:
//  SeedsKernel      block (pixel block, face), one thread per listed pixel of the face:
//                   math::ComputePixelSeeds, the robust weight and the weighted residual
//                   (math::WeightPixelResidual), the pixel's cost term.
//  TileKernel       block (tile pair, split, face): for each group of kGroup pixels of its split,
//                   the weighted rows restricted to the tile's 64 + 64 columns
//                   (math::PixelJacobianEntry) go to shared memory, then each thread adds a
//                   4 x 4 block of A_Iᵀ B_J to registers (and diagonal tiles add A_Iᵀ r).
//  ReduceKernel     block (entries, face): per output entry, the splits' partials summed in split
//                   order, in double.
// Every step has a fixed order, so results do not depend on scheduling.
#include "render_jacobian.h"

#include <cuda_runtime.h>

#include <algorithm>
#include <map>

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
constexpr int kTargetBlocks = 2048;  // tile blocks in flight worth aiming for (132 SMs x ~16)

// Per face of the batch: its image and its segment [list_begin, list_begin + num_listed) of the
// concatenated pixel list (and of the per-pixel arrays).
struct FaceImage {
  const int32_t* visible_triangle;
  const float* observed;
  const float* weights;  // null = 1
  int width;
  int list_begin, num_listed;
  math::RobustLoss loss;
  double loss_scale;
};

__global__ void SeedsKernel(const math::PixelJacobianInputs<float>* __restrict__ inputs,
                            const FaceImage* __restrict__ images, const int32_t* __restrict__ list,
                            math::PixelSeeds<float>* __restrict__ seeds,
                            float* __restrict__ sqrt_weight, float* __restrict__ residual,
                            double* __restrict__ cost) {
  const FaceImage im = images[blockIdx.y];
  const int local = blockIdx.x * blockDim.x + threadIdx.x;
  if (local >= im.num_listed) return;
  const int n = im.list_begin + local;
  const int64_t i = list[n];
  const float w = im.weights != nullptr ? im.weights[i] : 1.0f;
  math::PixelSeeds<float> s;
  math::ComputePixelSeeds(inputs[blockIdx.y], im.visible_triangle[i],
                          static_cast<int>(i % im.width), static_cast<int>(i / im.width), &s);
  float r[3];
  double c = 0.0;
  const float sw =
      math::WeightPixelResidual(s.color, im.observed + 3 * i, w, im.loss, im.loss_scale, r, &c);
  seeds[n] = s;
  sqrt_weight[n] = sw;
  for (int k = 0; k < 3; ++k) residual[3 * n + k] = sw * r[k];
  cost[n] = c;
}

// Pixels per split of a face with `num_listed` pixels: whole groups, split s owns
// [s * per_split, (s + 1) * per_split).
__host__ __device__ inline int PixelsPerSplit(int num_listed, int num_splits) {
  const int num_groups = (num_listed + kGroup - 1) / kGroup;
  return kGroup * ((num_groups + num_splits - 1) / num_splits);
}

__global__ void __launch_bounds__(kThreads)
TileKernel(const math::PixelJacobianInputs<float>* __restrict__ inputs,
           const FaceImage* __restrict__ images, const int2* __restrict__ pairs, int num_pairs,
           const math::PixelSeeds<float>* __restrict__ seeds,
           const float* __restrict__ sqrt_weight, const float* __restrict__ residual,
           int num_splits, float* __restrict__ partial_jtj, float* __restrict__ partial_jtr) {
  __shared__ float a_rows[kRows][kTile];
  __shared__ float b_rows[kRows][kTile];
  __shared__ float res_s[kRows];
  __shared__ float sw_s[kGroup];
  __shared__ math::PixelSeeds<float> seeds_s[kGroup];
  const int face = blockIdx.z;
  const math::PixelJacobianInputs<float> in = inputs[face];
  const int P = in.layout.total;
  const int pair = blockIdx.x, split = blockIdx.y;
  const int ti = pairs[pair].x, tj = pairs[pair].y;
  const bool diagonal = ti == tj;
  const int tid = threadIdx.x, ty = tid / 16, tx = tid % 16;
  const int num_listed = images[face].num_listed;
  const int per_split = PixelsPerSplit(num_listed, num_splits);
  // Offsets into the concatenated per-pixel arrays.
  const int base = images[face].list_begin;
  const int begin = base + min(num_listed, split * per_split);
  const int end = base + min(num_listed, (split + 1) * per_split);
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
  const int64_t slab = static_cast<int64_t>(face) * num_splits + split;
  float* out = partial_jtj + (slab * num_pairs + pair) * kTile * kTile;
  for (int p = 0; p < 4; ++p) {
    for (int q = 0; q < 4; ++q) out[(4 * ty + p) * kTile + 4 * tx + q] = acc[p][q];
  }
  if (diagonal && tid < kTile) {
    const int num_tiles = (P + kTile - 1) / kTile;
    partial_jtr[(slab * num_tiles + ti) * kTile + tid] = jtr_acc;
  }
}

// Face f = blockIdx.y: out[f * stride + e] = sum over s < num_splits of
// partial[(f * num_splits + s) * stride + e], in split order.
__global__ void ReduceKernel(const float* __restrict__ partial, int64_t stride, int num_splits,
                             double* __restrict__ out) {
  const int64_t e = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (e >= stride) return;
  const int64_t face = blockIdx.y;
  double sum = 0.0;
  for (int s = 0; s < num_splits; ++s) sum += partial[(face * num_splits + s) * stride + e];
  out[face * stride + e] = sum;
}

std::string CheckInput(const NormalEquationsInput& in) {
  if (in.width <= 0 || in.height <= 0) return "empty image";
  if (in.num_vertices <= 0 || in.num_triangles <= 0 || in.num_slots < 0 || in.num_shape < 0 ||
      in.num_albedo < 0) {
    return "empty mesh or negative block size";
  }
  if (!in.pixels || !in.points_camera || !in.normals || !in.albedo || !in.triangles ||
      !in.vertex_slot || !in.dpoint_drot || !in.dnormal_drot || !in.visible_triangle ||
      !in.observed || (in.num_shape > 0 && (!in.dpoint_dshape || !in.dnormal_dshape)) ||
      (in.num_albedo > 0 && !in.albedo_rows)) {
    return "an input array is null";
  }
  return {};
}

// Every host array of a batch packed into one device allocation: Add() records a host array
// and returns its offset (an array already added, by pointer and size, is not added again);
// Upload() allocates once and copies each array.
class UploadPlan {
 public:
  template <typename T>
  size_t Add(const T* host, size_t count) {
    const size_t bytes = count * sizeof(T);
    const auto key = std::make_pair(static_cast<const void*>(host), bytes);
    if (host != nullptr) {
      const auto it = seen_.find(key);
      if (it != seen_.end()) return it->second;
    }
    const size_t offset = (total_ + kAlign - 1) / kAlign * kAlign;
    total_ = offset + bytes;
    pieces_.push_back({host, bytes, offset});
    if (host != nullptr) seen_[key] = offset;
    return offset;
  }
  std::string Upload(DeviceBuffer<char>* device) const {
    std::string e = device->Allocate(std::max<size_t>(total_, 1), "batch inputs");
    for (const Piece& p : pieces_) {
      if (!e.empty()) break;
      if (p.host == nullptr || p.bytes == 0) continue;
      const cudaError_t err =
          cudaMemcpy(device->get() + p.offset, p.host, p.bytes, cudaMemcpyHostToDevice);
      if (err != cudaSuccess) e = CudaError("batch inputs", err);
    }
    return e;
  }

 private:
  static constexpr size_t kAlign = 256;
  struct Piece {
    const void* host;
    size_t bytes, offset;
  };
  std::vector<Piece> pieces_;
  std::map<std::pair<const void*, size_t>, size_t> seen_;
  size_t total_ = 0;
};

// Offsets (into the batch allocation) of one face's arrays.
struct FaceOffsets {
  size_t pixels, points, normals, albedo, lighting, camera, triangles, slots, dps, dns, dpr, dnr,
      arows, visible, observed, weights;
};

template <typename T>
T* At(const DeviceBuffer<char>& device, size_t offset) {
  return reinterpret_cast<T*>(device.get() + offset);
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
  std::vector<NormalEquationsResult> results;
  const std::string e = AccumulateNormalEquationsBatchCuda({in}, &results);
  if (!e.empty()) return e;
  *out = std::move(results[0]);
  return {};
}

std::string AccumulateNormalEquationsBatchCuda(const std::vector<NormalEquationsInput>& inputs,
                                               std::vector<NormalEquationsResult>* out) {
  const int num_faces = static_cast<int>(inputs.size());
  out->assign(num_faces, NormalEquationsResult{});
  if (num_faces == 0) return {};
  const math::JacobianLayout layout = NormalEquationsLayout(inputs[0]);
  const int P = layout.total;
  for (int f = 0; f < num_faces; ++f) {
    const std::string e = CheckInput(inputs[f]);
    const std::string where = (num_faces == 1 ? std::string("AccumulateNormalEquationsCuda: ")
                                              : "AccumulateNormalEquationsBatchCuda: face " +
                                                    std::to_string(f) + ": ");
    if (!e.empty()) return where + e;
    if (NormalEquationsLayout(inputs[f]).total != P || inputs[f].num_shape != layout.num_shape) {
      return where + "a different parameter layout from face 0 (one model per batch)";
    }
    NormalEquationsResult& r = (*out)[f];
    r.num_params = P;
    r.jtj.assign(static_cast<size_t>(P) * P, 0.0);
    r.jtr.assign(P, 0.0);
  }
  // Pixel lists (covered, weight > 0), concatenated face after face.
  std::vector<int32_t> list;
  std::vector<FaceImage> images(num_faces);
  int max_listed = 0;
  for (int f = 0; f < num_faces; ++f) {
    const NormalEquationsInput& in = inputs[f];
    images[f].list_begin = static_cast<int>(list.size());
    const int64_t num_image = static_cast<int64_t>(in.width) * in.height;
    for (int64_t i = 0; i < num_image; ++i) {
      const float w = in.weights != nullptr ? in.weights[i] : 1.0f;
      if (in.visible_triangle[i] >= 0 && w > 0.0f) list.push_back(static_cast<int32_t>(i));
    }
    images[f].num_listed = static_cast<int>(list.size()) - images[f].list_begin;
    max_listed = std::max(max_listed, images[f].num_listed);
  }
  const int total_listed = static_cast<int>(list.size());
  if (total_listed == 0) return {};

  UploadPlan plan;
  std::vector<FaceOffsets> offsets(num_faces);
  for (int f = 0; f < num_faces; ++f) {
    const NormalEquationsInput& in = inputs[f];
    FaceOffsets& o = offsets[f];
    const size_t nv = in.num_vertices, ns = in.num_slots;
    const size_t num_image = static_cast<size_t>(in.width) * in.height;
    o.pixels = plan.Add(in.pixels, 2 * nv);
    o.points = plan.Add(in.points_camera, 3 * nv);
    o.normals = plan.Add(in.normals, 3 * nv);
    o.albedo = plan.Add(in.albedo, 3 * nv);
    o.lighting = plan.Add(in.lighting, 27);
    o.camera = plan.Add(in.camera, 3);
    o.triangles = plan.Add(in.triangles, 3 * static_cast<size_t>(in.num_triangles));
    o.slots = plan.Add(in.vertex_slot, nv);
    o.dps = plan.Add(in.dpoint_dshape, 3 * ns * in.num_shape);
    o.dns = plan.Add(in.dnormal_dshape, 3 * ns * in.num_shape);
    o.dpr = plan.Add(in.dpoint_drot, 9 * ns);
    o.dnr = plan.Add(in.dnormal_drot, 9 * ns);
    o.arows = plan.Add(in.albedo_rows, 3 * nv * in.num_albedo);
    o.visible = plan.Add(in.visible_triangle, num_image);
    o.observed = plan.Add(in.observed, 3 * num_image);
    o.weights = plan.Add(in.weights, in.weights != nullptr ? num_image : 0);
  }
  DeviceBuffer<char> arrays;
  std::string e = plan.Upload(&arrays);
  if (!e.empty()) return e;

  std::vector<math::PixelJacobianInputs<float>> jac(num_faces);
  for (int f = 0; f < num_faces; ++f) {
    const NormalEquationsInput& in = inputs[f];
    const FaceOffsets& o = offsets[f];
    math::PixelJacobianInputs<float>& j = jac[f];
    j.shade.pixels = At<float>(arrays, o.pixels);
    j.shade.depths = At<float>(arrays, o.points) + 2;
    j.shade.depth_stride = 3;
    j.shade.normals = At<float>(arrays, o.normals);
    j.shade.albedo = At<float>(arrays, o.albedo);
    j.shade.triangles = At<int32_t>(arrays, o.triangles);
    j.shade.perspective = in.perspective;
    j.shade.lighting = At<float>(arrays, o.lighting);
    j.shade.spec.intensity = in.specular_intensity;
    j.shade.spec.shininess = in.specular_shininess;
    for (int c = 0; c < 3; ++c) j.shade.spec.half_vector[c] = in.specular_half_vector[c];
    j.points_camera = At<float>(arrays, o.points);
    j.camera = At<float>(arrays, o.camera);
    j.vertex_slot = At<int>(arrays, o.slots);
    j.dpoint_dshape = At<float>(arrays, o.dps);
    j.dnormal_dshape = At<float>(arrays, o.dns);
    j.dpoint_drot = At<float>(arrays, o.dpr);
    j.dnormal_drot = At<float>(arrays, o.dnr);
    j.albedo_rows = At<float>(arrays, o.arows);
    j.layout = layout;
    FaceImage& im = images[f];
    im.visible_triangle = At<int32_t>(arrays, o.visible);
    im.observed = At<float>(arrays, o.observed);
    im.weights = in.weights != nullptr ? At<float>(arrays, o.weights) : nullptr;
    im.width = in.width;
    im.loss = in.loss;
    im.loss_scale = in.loss_scale;
  }

  // Splits per face: as many as keep the device busy (about kTargetBlocks tile blocks in all;
  // one face alone gets up to kMaxSplits), each at least 8 groups of pixels.
  const int num_tiles = (P + kTile - 1) / kTile;
  std::vector<int2> pairs;
  for (int ti = 0; ti < num_tiles; ++ti) {
    for (int tj = 0; tj <= ti; ++tj) pairs.push_back(make_int2(ti, tj));
  }
  const int num_pairs = static_cast<int>(pairs.size());
  const int max_groups = (max_listed + kGroup - 1) / kGroup;
  const int fill =
      std::max(1, (kTargetBlocks + num_pairs * num_faces - 1) / (num_pairs * num_faces));
  const int num_splits = std::min({kMaxSplits, std::max(1, max_groups / 8), fill});
  const int64_t jtj_stride = static_cast<int64_t>(num_pairs) * kTile * kTile;
  const int64_t jtr_stride = static_cast<int64_t>(num_tiles) * kTile;
  const int64_t slabs = static_cast<int64_t>(num_faces) * num_splits;

  DeviceBuffer<math::PixelJacobianInputs<float>> d_jac;
  DeviceBuffer<FaceImage> d_images;
  DeviceBuffer<int32_t> d_list;
  DeviceBuffer<math::PixelSeeds<float>> seeds;
  DeviceBuffer<float> sw, residual, partial_jtj, partial_jtr;
  DeviceBuffer<double> cost, jtj_tiles, jtr_tiles;
  DeviceBuffer<int2> d_pairs;
  e = d_jac.Upload(jac.data(), jac.size(), "face inputs");
  if (e.empty()) e = d_images.Upload(images.data(), images.size(), "face images");
  if (e.empty()) e = d_list.Upload(list.data(), list.size(), "pixel list");
  if (e.empty()) e = seeds.Allocate(total_listed, "seeds");
  if (e.empty()) e = sw.Allocate(total_listed, "weights");
  if (e.empty()) e = residual.Allocate(3 * static_cast<size_t>(total_listed), "residuals");
  if (e.empty()) e = cost.Allocate(total_listed, "costs");
  if (e.empty()) e = d_pairs.Upload(pairs.data(), pairs.size(), "tile pairs");
  if (e.empty()) e = partial_jtj.Allocate(slabs * jtj_stride, "partial JtJ");
  if (e.empty()) e = partial_jtr.Allocate(slabs * jtr_stride, "partial Jtr");
  if (e.empty()) e = jtj_tiles.Allocate(num_faces * jtj_stride, "JtJ tiles");
  if (e.empty()) e = jtr_tiles.Allocate(num_faces * jtr_stride, "Jtr tiles");
  if (!e.empty()) return e;

  SeedsKernel<<<dim3((max_listed + kSeedThreads - 1) / kSeedThreads, num_faces), kSeedThreads>>>(
      d_jac.get(), d_images.get(), d_list.get(), seeds.get(), sw.get(), residual.get(),
      cost.get());
  e = CheckKernels("SeedsKernel");
  if (!e.empty()) return e;
  // Off-diagonal tiles leave their Jᵀr slots untouched: clear so the reduction reads zeros.
  cudaError_t err = cudaMemset(partial_jtr.get(), 0, slabs * jtr_stride * sizeof(float));
  if (err != cudaSuccess) return CudaError("cudaMemset(partial Jtr)", err);
  TileKernel<<<dim3(num_pairs, num_splits, num_faces), kThreads>>>(
      d_jac.get(), d_images.get(), d_pairs.get(), num_pairs, seeds.get(), sw.get(),
      residual.get(), num_splits, partial_jtj.get(), partial_jtr.get());
  ReduceKernel<<<dim3(static_cast<unsigned>((jtj_stride + 255) / 256), num_faces), 256>>>(
      partial_jtj.get(), jtj_stride, num_splits, jtj_tiles.get());
  ReduceKernel<<<dim3(static_cast<unsigned>((jtr_stride + 255) / 256), num_faces), 256>>>(
      partial_jtr.get(), jtr_stride, num_splits, jtr_tiles.get());
  e = CheckKernels("normal-equation kernels");
  if (!e.empty()) return e;

  std::vector<double> tiles(num_faces * jtj_stride), jtr(num_faces * jtr_stride),
      costs(total_listed);
  e = jtj_tiles.Download(tiles.data(), tiles.size(), "JtJ tiles");
  if (e.empty()) e = jtr_tiles.Download(jtr.data(), jtr.size(), "Jtr tiles");
  if (e.empty()) e = cost.Download(costs.data(), costs.size(), "costs");
  if (!e.empty()) return e;
  for (int f = 0; f < num_faces; ++f) {
    NormalEquationsResult& r = (*out)[f];
    const double* face_tiles = tiles.data() + f * jtj_stride;
    for (int p = 0; p < num_pairs; ++p) {
      const int ti = pairs[p].x, tj = pairs[p].y;
      for (int a = 0; a < kTile && ti * kTile + a < P; ++a) {
        for (int b = 0; b < kTile && tj * kTile + b < P; ++b) {
          const double v = face_tiles[static_cast<int64_t>(p) * kTile * kTile + a * kTile + b];
          const int64_t row = ti * kTile + a, col = tj * kTile + b;
          r.jtj[row * P + col] = v;
          r.jtj[col * P + row] = v;
        }
      }
    }
    for (int a = 0; a < P; ++a) r.jtr[a] = jtr[f * jtr_stride + a];
    const FaceImage& im = images[f];
    for (int n = 0; n < im.num_listed; ++n) r.cost += costs[im.list_begin + n];
    r.num_pixels = im.num_listed;
  }
  return {};
}

}  // namespace morphfit::cuda
