// Convolution through cuDNN 9's (legacy, still supported) convolution API: descriptors per call,
// the first heuristic algorithm whose workspace fits, workspace from the caching allocator.
// Math mode: FP32 FMA unless SetAllowTf32(true). Built without cuDNN (not found by CMake), the
// entry points report that instead.
#include <atomic>
#include <mutex>

#include "nn/conv_cuda.h"
#include "nn/conv_cudnn.h"
#include "nn/device_memory.h"
#include "nn/launch.cuh"

#if defined(MORPHFIT_NN_WITH_CUDNN)
#include <cudnn.h>
#endif

namespace morphfit::nn_cuda {
namespace {

std::atomic<int> g_backend{static_cast<int>(ConvBackend::kIm2colCublas)};
std::atomic<bool> g_allow_tf32{false};

}  // namespace

void SetConvBackend(ConvBackend backend) { g_backend = static_cast<int>(backend); }
ConvBackend GetConvBackend() { return static_cast<ConvBackend>(g_backend.load()); }
void SetAllowTf32(bool allow) { g_allow_tf32 = allow; }

#if !defined(MORPHFIT_NN_WITH_CUDNN)

bool CudnnAvailable(std::string* reason) {
  if (reason) *reason = "morphfit_nn_cuda was built without cuDNN (cudnn.h/libcudnn not found)";
  return false;
}
std::string CudnnConv2dForward(const nn::Conv2dGeometry&, const float*, const float*, float*) {
  return "built without cuDNN: use the kIm2colCublas convolution backend";
}
std::string CudnnConv2dBackward(const nn::Conv2dGeometry&, const float*, const float*,
                                const float*, float*, float*) {
  return "built without cuDNN: use the kIm2colCublas convolution backend";
}

#else

namespace {

using nn::Conv2dGeometry;

constexpr size_t kMaxWorkspaceBytes = size_t{1} << 30;

std::string Check(cudnnStatus_t s, const char* what) {
  return s == CUDNN_STATUS_SUCCESS ? std::string()
                                   : std::string(what) + ": " + cudnnGetErrorString(s);
}

// The process-wide handle (created once; nullptr with *error set when cuDNN cannot start).
cudnnHandle_t Handle(std::string* error) {
  static std::once_flag once;
  static cudnnHandle_t handle = nullptr;
  static std::string init_error;
  std::call_once(once, [] {
    const cudnnStatus_t s = cudnnCreate(&handle);
    if (s != CUDNN_STATUS_SUCCESS) {
      init_error = std::string("cudnnCreate: ") + cudnnGetErrorString(s);
      handle = nullptr;
    }
  });
  if (!handle && error) *error = init_error;
  return handle;
}

// Tensor, filter and convolution descriptors for one geometry; destroyed with the object.
struct Descriptors {
  cudnnTensorDescriptor_t x = nullptr, y = nullptr;
  cudnnFilterDescriptor_t w = nullptr;
  cudnnConvolutionDescriptor_t conv = nullptr;

  std::string Init(const Conv2dGeometry& g) {
    std::string e = Check(cudnnCreateTensorDescriptor(&x), "x descriptor");
    if (e.empty()) e = Check(cudnnCreateTensorDescriptor(&y), "y descriptor");
    if (e.empty()) e = Check(cudnnCreateFilterDescriptor(&w), "filter descriptor");
    if (e.empty()) e = Check(cudnnCreateConvolutionDescriptor(&conv), "conv descriptor");
    const auto i = [](int64_t v) { return static_cast<int>(v); };
    if (e.empty()) {
      e = Check(cudnnSetTensor4dDescriptor(x, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, i(g.n), i(g.c_in),
                                           i(g.h), i(g.w)), "x shape");
    }
    if (e.empty()) {
      e = Check(cudnnSetTensor4dDescriptor(y, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, i(g.n), i(g.c_out),
                                           i(g.out_h), i(g.out_w)), "y shape");
    }
    if (e.empty()) {
      e = Check(cudnnSetFilter4dDescriptor(w, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, i(g.c_out),
                                           i(g.c_in_per_group()), i(g.kh), i(g.kw)), "filter shape");
    }
    if (e.empty()) {
      e = Check(cudnnSetConvolution2dDescriptor(conv, i(g.pad), i(g.pad), i(g.stride), i(g.stride),
                                                i(g.dilation), i(g.dilation),
                                                CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT),
                "convolution");
    }
    if (e.empty()) e = Check(cudnnSetConvolutionGroupCount(conv, i(g.groups)), "groups");
    if (e.empty()) {
      e = Check(cudnnSetConvolutionMathType(conv, g_allow_tf32 ? CUDNN_DEFAULT_MATH : CUDNN_FMA_MATH),
                "math type");
    }
    return e;
  }
  ~Descriptors() {
    if (conv) cudnnDestroyConvolutionDescriptor(conv);
    if (w) cudnnDestroyFilterDescriptor(w);
    if (y) cudnnDestroyTensorDescriptor(y);
    if (x) cudnnDestroyTensorDescriptor(x);
  }
};

// A workspace block from the caching allocator.
struct Workspace {
  void* ptr = nullptr;
  std::string Reserve(size_t bytes) { return bytes == 0 ? "" : Allocate(bytes, &ptr); }
  ~Workspace() { Free(ptr); }
};

// Picks the best heuristic algorithm (perf results are sorted) that succeeded and fits.
template <typename Perf, typename Algo>
bool PickAlgorithm(const Perf* perf, int count, Algo* algo, size_t* workspace) {
  for (int k = 0; k < count; ++k) {
    if (perf[k].status == CUDNN_STATUS_SUCCESS && perf[k].memory <= kMaxWorkspaceBytes) {
      *algo = perf[k].algo;
      *workspace = perf[k].memory;
      return true;
    }
  }
  return false;
}

}  // namespace

bool CudnnAvailable(std::string* reason) {
  if (!DeviceAvailable(reason)) return false;
  std::string error;
  if (Handle(&error) == nullptr) {
    if (reason) *reason = error;
    return false;
  }
  return true;
}

std::string CudnnConv2dForward(const Conv2dGeometry& g, const float* x, const float* w, float* y) {
  std::string e;
  cudnnHandle_t h = Handle(&e);
  if (!h) return e;
  if (!(e = Check(cudnnSetStream(h, launch::Stream()), "cudnnSetStream")).empty()) return e;
  Descriptors d;
  if (!(e = d.Init(g)).empty()) return e;
  cudnnConvolutionFwdAlgoPerf_t perf[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
  int count = 0;
  e = Check(cudnnGetConvolutionForwardAlgorithm_v7(h, d.x, d.w, d.conv, d.y,
                                                   CUDNN_CONVOLUTION_FWD_ALGO_COUNT, &count, perf),
            "forward algorithm");
  if (!e.empty()) return e;
  cudnnConvolutionFwdAlgo_t algo;
  size_t bytes = 0;
  if (!PickAlgorithm(perf, count, &algo, &bytes)) return "cuDNN: no forward algorithm for this geometry";
  Workspace ws;
  if (!(e = ws.Reserve(bytes)).empty()) return e;
  const float alpha = 1.0f, beta = 0.0f;
  return Check(cudnnConvolutionForward(h, &alpha, d.x, x, d.w, w, d.conv, algo, ws.ptr, bytes,
                                       &beta, d.y, y), "cudnnConvolutionForward");
}

std::string CudnnConv2dBackward(const Conv2dGeometry& g, const float* x, const float* w,
                                const float* dy, float* dx, float* dw) {
  std::string e;
  cudnnHandle_t h = Handle(&e);
  if (!h) return e;
  if (!(e = Check(cudnnSetStream(h, launch::Stream()), "cudnnSetStream")).empty()) return e;
  Descriptors d;
  if (!(e = d.Init(g)).empty()) return e;
  const float one = 1.0f, zero = 0.0f;
  if (dx) {
    cudnnConvolutionBwdDataAlgoPerf_t perf[CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT];
    int count = 0;
    e = Check(cudnnGetConvolutionBackwardDataAlgorithm_v7(
                  h, d.w, d.y, d.conv, d.x, CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT, &count, perf),
              "backward-data algorithm");
    if (!e.empty()) return e;
    cudnnConvolutionBwdDataAlgo_t algo;
    size_t bytes = 0;
    if (!PickAlgorithm(perf, count, &algo, &bytes)) return "cuDNN: no backward-data algorithm";
    Workspace ws;
    if (!(e = ws.Reserve(bytes)).empty()) return e;
    e = Check(cudnnConvolutionBackwardData(h, &one, d.w, w, d.y, dy, d.conv, algo, ws.ptr, bytes,
                                           &zero, d.x, dx), "cudnnConvolutionBackwardData");
    if (!e.empty()) return e;
  }
  if (dw) {
    cudnnConvolutionBwdFilterAlgoPerf_t perf[CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT];
    int count = 0;
    e = Check(cudnnGetConvolutionBackwardFilterAlgorithm_v7(
                  h, d.x, d.y, d.conv, d.w, CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT, &count, perf),
              "backward-filter algorithm");
    if (!e.empty()) return e;
    cudnnConvolutionBwdFilterAlgo_t algo;
    size_t bytes = 0;
    if (!PickAlgorithm(perf, count, &algo, &bytes)) return "cuDNN: no backward-filter algorithm";
    Workspace ws;
    if (!(e = ws.Reserve(bytes)).empty()) return e;
    // beta = 1: accumulate into dw, as the other backends do.
    e = Check(cudnnConvolutionBackwardFilter(h, &one, d.x, x, d.y, dy, d.conv, algo, ws.ptr, bytes,
                                             &one, d.w, dw), "cudnnConvolutionBackwardFilter");
  }
  return e;
}

#endif  // MORPHFIT_NN_WITH_CUDNN

}  // namespace morphfit::nn_cuda
