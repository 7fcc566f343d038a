// The fast CPU convolution and linear layers: im2col + Eigen GEMM, multi-threaded on CpuPool()
// with chunking that depends only on the shapes (so results are bitwise independent of the
// thread count). Templated on the scalar and instantiated for float (the backend) and double
// (the gradient checks). Semantics match nn/kernels/conv_reference.h: dx overwritten, dw and db
// accumulated. Layouts: x NCHW, w [c_out, c_in/groups, kh, kw] row-major, linear w [out, in].
#ifndef MORPHFIT_NN_KERNELS_GEMM_CPU_H_
#define MORPHFIT_NN_KERNELS_GEMM_CPU_H_

#include <cstdint>

#include "morphfit/nn/kernels/conv_geometry.h"

namespace morphfit::nn::cpu {

// y = conv(x, w) + b (b may be null).
template <typename T>
void Conv2dForward(const Conv2dGeometry& g, const T* x, const T* w, const T* b, T* y);
// dx = conv^T(dy, w): the adjoint with respect to x (overwrites dx [n, c_in, h, w]).
template <typename T>
void Conv2dBackwardData(const Conv2dGeometry& g, const T* w, const T* dy, T* dx);
// dw += d/dw of <dy, conv(x, w)> (dw [c_out, c_in/groups, kh, kw]).
template <typename T>
void Conv2dBackwardWeight(const Conv2dGeometry& g, const T* x, const T* dy, T* dw);
// db[c] += sum of dy [n, c, hw] over n and hw.
template <typename T>
void BiasBackward(int64_t n, int64_t c, int64_t hw, const T* dy, T* db);

// y [n, out] = x [n, in] w^T + b (b may be null).
template <typename T>
void LinearForward(int64_t n, int64_t in, int64_t out, const T* x, const T* w, const T* b, T* y);
// dx [n, in] = dy w (overwritten, may be null); dw += dy^T x; db += column sums of dy.
template <typename T>
void LinearBackward(int64_t n, int64_t in, int64_t out, const T* x, const T* w, const T* dy,
                    T* dx, T* dw, T* db);

}  // namespace morphfit::nn::cpu

#endif  // MORPHFIT_NN_KERNELS_GEMM_CPU_H_
