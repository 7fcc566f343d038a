// Batched Cholesky solve of many small symmetric positive definite systems on a CUDA device: the
// own photometric Gauss-Newton's damped normal equations of a batch of faces
// (fitters/photometric_gauss_newton.cc), P ~ 50-300, in one launch. One thread block per
// system, in double, in global memory (the matrices stay in L2 at these sizes): right-looking
// Cholesky A = L Lᵀ (column k scaled by the pivot's square root, then the trailing lower
// triangle updated by all threads), then the two triangular solves. The CPU twin is Eigen's
// LLT (the fitter's CPU path; tests/cuda/batched_cholesky_test.cc compares them).
// Plain C++ launcher header: no CUDA types.
#ifndef MORPHFIT_CUDA_BATCHED_CHOLESKY_H_
#define MORPHFIT_CUDA_BATCHED_CHOLESKY_H_

#include <string>
#include <vector>

namespace morphfit::cuda {

// Solves A_b x_b = rhs_b for b < batch. a: batch matrices of n x n doubles, one after the other
// (symmetric; only the lower triangle is read, column-major = the upper one row-major); rhs:
// batch vectors of n. sizes: null (every system is n x n) or batch sizes in [1, n]: system b is
// the leading sizes[b] x sizes[b] block of its n x n slot (leading dimension n) and the leading
// sizes[b] entries of its rhs. x: batch x n outputs (entries past sizes[b] are 0). info: batch
// outputs, 0 = solved, k > 0 = the leading k x k minor is not positive definite (A_b(k-1, k-1)
// after elimination <= 0 or NaN, as Eigen's LLT fails; x_b is then 0). Returns "" on success,
// else the error (bad arguments or the CUDA runtime's message).
std::string CholeskySolveBatchCuda(int n, int batch, const int* sizes, const double* a,
                                   const double* rhs, std::vector<double>* x,
                                   std::vector<int>* info);

}  // namespace morphfit::cuda

#endif  // MORPHFIT_CUDA_BATCHED_CHOLESKY_H_
