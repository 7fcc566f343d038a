// Where `morphfit synth` renders its samples (`--device cpu|cuda`), and the batched path: the
// faces of a block of samples rendered together with one cuda::RenderBatchCuda call (visibility
// and every shaded channel, cuda/render_shading.h). Per sample, the per-vertex inputs are those
// render::Render computes before rasterizing (ComputeSampleGeometry, sample_render.h), and the
// rendered channels are encoded by EncodeRenderedSample exactly as the CPU path encodes
// render::Render's result. A sample's values depend only on its own data (each face is
// rendered independently of the others in its batch), so samples still depend only on
// (seed, index).
#ifndef MORPHFIT_SYNTH_DEVICE_RENDER_H_
#define MORPHFIT_SYNTH_DEVICE_RENDER_H_

#include <memory>
#include <string>
#include <vector>

#include "morphfit/core/status.h"
#include "morphfit/core/thread_pool.h"
#include "morphfit/synth/sample_render.h"
#include "morphfit/synth/sampler.h"

namespace morphfit::synth {

enum class RenderDevice {
  kCpu,       // render::Render per sample on the worker threads (the reference)
  kCuda,      // BlockRenderer on the CUDA device
  kCpuBatch,  // BlockRenderer with its CPU twin (render::RasterizeVisibility and
              // render::ShadeVisibility per face on the batch arrays): the batch plumbing
              // without a device; the same bits as kCpu. Not offered on the command line.
};

// "cpu" or "cuda" (the command line's values). Errors name the value.
StatusOr<RenderDevice> ParseRenderDevice(const std::string& name);
const char* RenderDeviceName(RenderDevice device);

// Whether `device` can render here; for kCuda the reason it cannot (built without CUDA, or no
// usable device: cuda::DeviceAvailable's reason).
bool RenderDeviceAvailable(RenderDevice device, std::string* reason);
// FailedPrecondition "synth: --device cuda: <reason>" where unavailable.
Status CheckRenderDevice(RenderDevice device);

// Renders the faces of a block of samples at once (kCuda or kCpuBatch) and hands out each
// face's channels for EncodeRenderedSample. Holds the batch's host arrays between blocks (one
// block at a time; not thread-safe while Render runs, Encode may be called from many threads).
class BlockRenderer {
 public:
  // `context` must outlive the renderer. kCpu is refused by Render.
  BlockRenderer(const SampleContext& context, RenderDevice device);
  ~BlockRenderer();
  BlockRenderer(const BlockRenderer&) = delete;
  BlockRenderer& operator=(const BlockRenderer&) = delete;

  // Renders specs[j] with its shape and albedo from column j of `geometry` (made by
  // context.EvaluateGeometry). The per-vertex inputs are computed on `pool` (null = this
  // thread). A sample whose parameters are refused (CheckSampleGeometry) is left out of the
  // batch and reported by Encode; the returned error is a failure of the whole block (the
  // device, or samples of one block that differ in image size, camera type or z_near).
  Status Render(const std::vector<const SampleSpec*>& specs, const GeometryBlock& geometry,
                ThreadPool* pool);
  int count() const;

  // Sample j of the last Render encoded (EncodeRenderedSample), or its error. Each j once:
  // the flat background is composited into the batch's image in place.
  StatusOr<EncodedSample> Encode(int j, const Backgrounds* backgrounds, bool has_specular);
  // The same into `out`, reusing its vectors' storage (EncodeRenderedSample's overload).
  Status Encode(int j, const Backgrounds* backgrounds, bool has_specular, EncodedSample* out);

  // The rendered face of sample j (null arrays when the sample was refused) and its visible
  // triangle per pixel (-1 = background), for the tests.
  RenderedFace Face(int j);
  const int32_t* VisibleTriangles(int j) const;

  // Wall time of the device calls of the last Render (upload, kernels, download), seconds.
  double device_seconds() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace morphfit::synth

#endif  // MORPHFIT_SYNTH_DEVICE_RENDER_H_
