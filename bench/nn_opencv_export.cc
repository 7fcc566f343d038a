// Module -> OpenCV DNN exporter (nn_opencv_export.h). OpenCV's layers follow Caffe: weights
// [out, in/groups, kh, kw], batch-norm blobs (mean, variance, scale, shift), pooling with
// ceil_mode off to match our floor-mode output size.
#include "nn_opencv_export.h"

#include <cstring>
#include <vector>

#include "morphfit/nn/layers.h"

namespace morphfit::nn {
namespace {

cv::Mat ToMat(const Tensor& t, bool as_row) {
  const std::vector<float> values = t.ToVector();
  std::vector<int> sizes;
  if (as_row) {
    sizes = {1, static_cast<int>(t.size())};
  } else {
    for (int64_t d : t.shape()) sizes.push_back(static_cast<int>(d));
  }
  cv::Mat m(static_cast<int>(sizes.size()), sizes.data(), CV_32F);
  std::memcpy(m.ptr<float>(), values.data(), values.size() * sizeof(float));
  return m;
}

std::vector<NamedParameter> Params(Module& m) {
  std::vector<NamedParameter> out;
  m.CollectParameters("", &out);
  return out;
}

class Exporter {
 public:
  explicit Exporter(cv::dnn::Net* net) : net_(net) {}

  // Adds `module` reading from layer `input`; sets *output to its last layer id.
  Status Emit(Module& module, int input, int* output) {
    if (auto* seq = dynamic_cast<Sequential*>(&module)) {
      int current = input;
      for (size_t i = 0; i < seq->size(); ++i) MORPHFIT_RETURN_IF_ERROR(Emit(seq->child(i), current, &current));
      *output = current;
      return OkStatus();
    }
    if (auto* res = dynamic_cast<Residual*>(&module)) {
      int main_out = 0, short_out = input;
      MORPHFIT_RETURN_IF_ERROR(Emit(res->main_branch(), input, &main_out));
      if (res->shortcut()) MORPHFIT_RETURN_IF_ERROR(Emit(*res->shortcut(), input, &short_out));
      cv::dnn::LayerParams lp;
      lp.set("operation", "sum");
      const int sum = Add("Eltwise", lp, main_out);
      net_->connect(short_out, 0, sum, 1);
      *output = sum;
      if (res->relu_after()) {
        cv::dnn::LayerParams relu;
        *output = Add("ReLU", relu, sum);
      }
      return OkStatus();
    }
    cv::dnn::LayerParams lp;
    if (auto* conv = dynamic_cast<Conv2dLayer*>(&module)) {
      const std::vector<NamedParameter> p = Params(*conv);
      const Shape& w = p[0].parameter->value.shape();
      const Conv2dOptions& o = conv->options();
      lp.set("kernel_h", static_cast<int>(w[2]));
      lp.set("kernel_w", static_cast<int>(w[3]));
      lp.set("stride", static_cast<int>(o.stride));
      lp.set("pad", static_cast<int>(o.pad));
      lp.set("dilation", static_cast<int>(o.dilation));
      lp.set("group", static_cast<int>(o.groups));
      lp.set("num_output", static_cast<int>(w[0]));
      lp.set("bias_term", p.size() > 1);
      lp.blobs.push_back(ToMat(p[0].parameter->value, false));
      if (p.size() > 1) lp.blobs.push_back(ToMat(p[1].parameter->value, true));
      *output = Add("Convolution", lp, input);
      return OkStatus();
    }
    if (auto* bn = dynamic_cast<BatchNorm2dLayer*>(&module)) {
      const std::vector<NamedParameter> p = Params(*bn);  // weight, bias, mean, var
      lp.set("has_weight", true);
      lp.set("has_bias", true);
      lp.set("eps", static_cast<float>(bn->options().eps));
      for (int k : {2, 3, 0, 1}) lp.blobs.push_back(ToMat(p[k].parameter->value, true));
      *output = Add("BatchNorm", lp, input);
      return OkStatus();
    }
    if (auto* act = dynamic_cast<ActivationLayer*>(&module)) {
      switch (act->activation()) {
        case Activation::kRelu: *output = Add("ReLU", lp, input); break;
        case Activation::kLeakyRelu:
          lp.set("negative_slope", act->slope());
          *output = Add("ReLU", lp, input);
          break;
        case Activation::kSigmoid: *output = Add("Sigmoid", lp, input); break;
        case Activation::kTanh: *output = Add("TanH", lp, input); break;
      }
      return OkStatus();
    }
    if (auto* pool = dynamic_cast<Pool2dLayer*>(&module)) {
      const Pool2dOptions& o = pool->options();
      lp.set("pool", pool->kind() == PoolKind::kMax ? "max" : "ave");
      lp.set("kernel_size", static_cast<int>(o.kernel));
      lp.set("stride", static_cast<int>(o.stride));
      lp.set("pad", static_cast<int>(o.pad));
      lp.set("ceil_mode", false);
      lp.set("ave_pool_padded_area", false);
      *output = Add("Pooling", lp, input);
      return OkStatus();
    }
    if (dynamic_cast<GlobalAvgPoolLayer*>(&module)) {
      lp.set("pool", "ave");
      lp.set("global_pooling", true);
      *output = Add("Pooling", lp, input);
      return OkStatus();
    }
    if (auto* linear = dynamic_cast<LinearLayer*>(&module)) {
      const std::vector<NamedParameter> p = Params(*linear);
      lp.set("num_output", static_cast<int>(p[0].parameter->value.dim(0)));
      lp.set("bias_term", p.size() > 1);
      lp.set("axis", 1);
      lp.blobs.push_back(ToMat(p[0].parameter->value, false));
      if (p.size() > 1) lp.blobs.push_back(ToMat(p[1].parameter->value, true));
      *output = Add("InnerProduct", lp, input);
      return OkStatus();
    }
    return InvalidArgumentError("ExportToOpenCv: no OpenCV equivalent for " + module.Describe());
  }

  std::string last_name() const { return last_name_; }

 private:
  int Add(const std::string& type, cv::dnn::LayerParams& lp, int input) {
    last_name_ = type + "_" + std::to_string(count_++);
    const int id = net_->addLayer(last_name_, type, lp);
    net_->connect(input, 0, id, 0);
    return id;
  }

  cv::dnn::Net* net_;
  int count_ = 0;
  std::string last_name_;
};

}  // namespace

Status ExportToOpenCv(Module& module, cv::dnn::Net* net, std::string* output_name) {
  Exporter exporter(net);
  int output = 0;
  MORPHFIT_RETURN_IF_ERROR(exporter.Emit(module, /*input=*/0, &output));
  *output_name = exporter.last_name();
  net->setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
  net->setPreferableTarget(cv::dnn::DNN_TARGET_CPU);
  return OkStatus();
}

}  // namespace morphfit::nn
