// Builds an OpenCV DNN network with the same architecture and weights as a morphfit::nn module
// (for the peer comparison in nn_bench.cc). Supports Sequential, Residual, Conv2dLayer,
// BatchNorm2dLayer, ActivationLayer, Pool2dLayer, GlobalAvgPoolLayer and LinearLayer; other
// modules give InvalidArgument. Benchmark-side code: the library does not depend on OpenCV.
#ifndef MORPHFIT_BENCH_NN_OPENCV_EXPORT_H_
#define MORPHFIT_BENCH_NN_OPENCV_EXPORT_H_

#include <string>

#include <opencv2/dnn.hpp>

#include "morphfit/core/status.h"
#include "morphfit/nn/module.h"

namespace morphfit::nn {

// The exported network takes an NCHW blob as its input and `*output_name` is its last layer.
Status ExportToOpenCv(Module& module, cv::dnn::Net* net, std::string* output_name);

}  // namespace morphfit::nn

#endif  // MORPHFIT_BENCH_NN_OPENCV_EXPORT_H_
