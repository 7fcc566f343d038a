// Measured FP32 peak of the CUDA device (for the "physical limit" ratios of bench_render_gpu):
// a kernel of independent fused multiply-add chains that keeps every SM's FP32 units busy.
// Plain C++ header: no CUDA types. Benchmark utility only (no result is used elsewhere).
#ifndef MORPHFIT_BENCH_GPU_PEAK_H_
#define MORPHFIT_BENCH_GPU_PEAK_H_

#include <string>

namespace morphfit::bench {

// Runs the FMA kernel `repeats` times and returns the best rate in FLOP/s (an FMA counts 2) in
// *flops_per_second; the error message, or empty.
std::string MeasureFp32Peak(int repeats, double* flops_per_second);

}  // namespace morphfit::bench

#endif  // MORPHFIT_BENCH_GPU_PEAK_H_
