// CUDA structural ops on device pointers: upsampling (nearest, bilinear), channel concat and L2
// normalisation over channels. Formulas from nn/kernels/{resample,elementwise}.h (the CPU twins);
// backward passes gather per input element (deterministic, no atomics). Plain C++ launcher
// header; errors are returned as strings (empty = success). Calls are synchronous.
#ifndef MORPHFIT_CUDA_NN_STRUCTURAL_CUDA_H_
#define MORPHFIT_CUDA_NN_STRUCTURAL_CUDA_H_

#include <cstdint>
#include <string>

namespace morphfit::nn_cuda {

// x [planes, h, w] -> y [planes, h scale, w scale]; backward maps dy back to dx [planes, h, w].
std::string UpsampleNearestForward(int64_t planes, int64_t h, int64_t w, int64_t scale,
                                   const float* x, float* y);
std::string UpsampleNearestBackward(int64_t planes, int64_t h, int64_t w, int64_t scale,
                                    const float* dy, float* dx);
std::string UpsampleBilinearForward(int64_t planes, int64_t h, int64_t w, int64_t scale,
                                    const float* x, float* y);
std::string UpsampleBilinearBackward(int64_t planes, int64_t h, int64_t w, int64_t scale,
                                     const float* dy, float* dx);
// y [n, c_a + c_b, hw] from a [n, c_a, hw] and b [n, c_b, hw]; backward splits dy (da, db may
// be null).
std::string ConcatChannelsForward(int64_t n, int64_t c_a, int64_t c_b, int64_t hw, const float* a,
                                  const float* b, float* y);
std::string ConcatChannelsBackward(int64_t n, int64_t c_a, int64_t c_b, int64_t hw,
                                   const float* dy, float* da, float* db);
// x, y [n, c, hw].
std::string L2NormalizeChannelsForward(int64_t n, int64_t c, int64_t hw, double eps,
                                       const float* x, float* y);
std::string L2NormalizeChannelsBackward(int64_t n, int64_t c, int64_t hw, double eps,
                                        const float* x, const float* dy, float* dx);

}  // namespace morphfit::nn_cuda

#endif  // MORPHFIT_CUDA_NN_STRUCTURAL_CUDA_H_
