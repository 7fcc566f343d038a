// MORPHFIT_HD marks math shared by CPU code and CUDA kernels: __host__ __device__ under nvcc,
// nothing otherwise. Headers in include/morphfit/math/ use only this and plain C++.
#ifndef MORPHFIT_MATH_HD_H_
#define MORPHFIT_MATH_HD_H_

#if defined(__CUDACC__)
#define MORPHFIT_HD __host__ __device__ __forceinline__
#else
#define MORPHFIT_HD inline
#endif

#endif  // MORPHFIT_MATH_HD_H_
