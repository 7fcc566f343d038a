// Float dense algebra of the own landmark solver's normal equations (private to fitters/;
// landmark_gauss_newton.cc): the rows' conversion to float, the rank update JᵀWJ, an own
// blocked Cholesky factorisation at n ~ 150 and the substitution with its factor (AVX2 + FMA
// register tiles; without them Eigen's kernels and plain loops). The solver refines every
// step solved with these against the double rows (landmark_gauss_newton.h), so float's
// rounding never reaches its steps.
#ifndef MORPHFIT_FITTERS_LANDMARK_FLOAT_ALGEBRA_H_
#define MORPHFIT_FITTERS_LANDMARK_FLOAT_ALGEBRA_H_

namespace morphfit::fitters {

// Entries below this magnitude are flushed to zero when the rows go to float: their products
// would be denormal floats (measured: the rank update 6x slower on the sample face).
inline constexpr double kFloatFlush = 1e-15;

// Column j of `to` (leading dimension ld_to >= rows) = column j of `from` (rows x cols,
// column-major, contiguous) as float, entries below kFloatFlush in magnitude as 0; rows
// rows..ld_to of `to` zero.
void FlushToFloatColumns(const double* from, int rows, int cols, float* to, int ld_to);

// The lower triangle of C = X Xᵀ for X n x m (column-major, leading dimension ldx), written
// into C (n x n, leading dimension ldc, not read). Both leading dimensions >= n rounded up to
// a multiple of 8; rows n..ldx of X's columns must be finite (zero: they only reach C's rows
// n..ldc of the first n columns, which are overwritten, as may be the upper triangle's entries
// near the diagonal). The solver's JᵀWJ (X = the rows transposed) at n ~ 150, m ~ 136.
void FloatRankUpdate(const float* x, int ldx, int n, int m, float* c, int ldc);

// In-place Cholesky factorisation A = L Lᵀ of the symmetric n x n matrix in the lower triangle
// of `a` (column-major, leading dimension `ld` >= n rounded up to a multiple of 8; rows n..ld
// of the first n columns are scratch: up to n rounded up to 8 they are 0 on return; the upper
// triangle is not read and may be overwritten); L replaces the lower triangle. False when a
// pivot is not positive (not positive definite, or NaN). The solver's float factorisation at
// n ~ 150 (with AVX2 + FMA an own blocked kernel, see the .cc; without them Eigen's blocked
// LLT). Exposed for its test against Eigen::LLT.
bool FloatCholeskyInPlace(float* a, int n, int ld);

// Solves L Lᵀ x = b in place with the factor of FloatCholeskyInPlace (leading dimension ld,
// its rows n..(n rounded up to 8) zero as that function leaves them); `b` holds n rounded up
// to a multiple of 8 entries (those past n are scratch, set to 0).
void FloatCholeskySolveInPlace(const float* l, int n, int ld, float* b);

}  // namespace morphfit::fitters

#endif  // MORPHFIT_FITTERS_LANDMARK_FLOAT_ALGEBRA_H_
