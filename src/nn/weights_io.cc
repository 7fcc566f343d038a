// Weights file writer and reader (format in include/morphfit/nn/weights_io.h).
#include "morphfit/nn/weights_io.h"

#include <cstring>
#include <vector>

#include "morphfit/core/file_util.h"

namespace morphfit::nn {
namespace {

constexpr char kMagic[8] = {'M', 'F', 'N', 'N', 'W', 'T', 'S', '\0'};

uint64_t Fnv1a64(const char* data, size_t n) {
  uint64_t h = 1469598103934665603ULL;
  for (size_t i = 0; i < n; ++i) {
    h ^= static_cast<unsigned char>(data[i]);
    h *= 1099511628211ULL;
  }
  return h;
}

template <typename T>
void Put(std::string* out, T value) {
  out->append(reinterpret_cast<const char*>(&value), sizeof(T));
}

// Bounds-checked reader over the file contents.
class Reader {
 public:
  Reader(const std::string& data, const std::string& path) : data_(data), path_(path) {}
  template <typename T>
  Status Get(T* value, const char* what) {
    if (pos_ + sizeof(T) > data_.size()) return Truncated(what);
    std::memcpy(value, data_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return OkStatus();
  }
  Status GetBytes(size_t n, std::string* out, const char* what) {
    if (n > data_.size() - pos_) return Truncated(what);
    out->assign(data_.data() + pos_, n);
    pos_ += n;
    return OkStatus();
  }
  Status GetFloats(size_t n, float* out, const char* what) {
    if (n > (data_.size() - pos_) / sizeof(float)) return Truncated(what);
    std::memcpy(out, data_.data() + pos_, n * sizeof(float));
    pos_ += n * sizeof(float);
    return OkStatus();
  }
  size_t pos() const { return pos_; }

 private:
  Status Truncated(const char* what) const {
    return DataLossError("weights file '" + path_ + "' is truncated while reading " + what);
  }
  const std::string& data_;
  const std::string& path_;
  size_t pos_ = 0;
};

// "... at character k: file has '...', network has '...'".
std::string FirstDifference(const std::string& file, const std::string& net) {
  size_t k = 0;
  while (k < file.size() && k < net.size() && file[k] == net[k]) ++k;
  const size_t from = k > 40 ? k - 40 : 0;
  return "first difference at character " + std::to_string(k) + ": file has '..." +
         file.substr(from, 100) + "', network has '..." + net.substr(from, 100) + "'";
}

}  // namespace

Status SaveWeights(Module& module, const std::string& path) {
  const std::vector<NamedParameter> params = NamedParameters(module);
  const std::string arch = module.Describe();
  std::string out(kMagic, sizeof(kMagic));
  Put<uint32_t>(&out, kWeightsFormatVersion);
  Put<uint32_t>(&out, static_cast<uint32_t>(arch.size()));
  out += arch;
  Put<uint32_t>(&out, static_cast<uint32_t>(params.size()));
  for (const NamedParameter& p : params) {
    Put<uint32_t>(&out, static_cast<uint32_t>(p.name.size()));
    out += p.name;
    const Tensor& t = p.parameter->value;
    Put<uint32_t>(&out, static_cast<uint32_t>(t.rank()));
    for (int64_t d : t.shape()) Put<int64_t>(&out, d);
    const std::vector<float> values = t.ToVector();
    out.append(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(float));
  }
  Put<uint64_t>(&out, Fnv1a64(out.data(), out.size()));
  return WriteFileAtomically(path, out).WithContext("writing weights");
}

Status LoadWeights(const std::string& path, Module* module) {
  MORPHFIT_ASSIGN_OR_RETURN(const std::string data, ReadFileToString(path));
  const std::string where = "weights file '" + path + "'";
  if (data.size() < sizeof(kMagic) + sizeof(uint64_t) ||
      std::memcmp(data.data(), kMagic, sizeof(kMagic)) != 0) {
    return DataLossError(where + " does not start with the magic \"MFNNWTS\"");
  }
  uint64_t stored_sum;
  std::memcpy(&stored_sum, data.data() + data.size() - sizeof(uint64_t), sizeof(uint64_t));
  const std::string body = data.substr(0, data.size() - sizeof(uint64_t));
  if (Fnv1a64(body.data(), body.size()) != stored_sum) {
    return DataLossError(where + " fails its checksum (corrupt or truncated)");
  }
  Reader r(body, path);
  std::string skip;
  MORPHFIT_RETURN_IF_ERROR(r.GetBytes(sizeof(kMagic), &skip, "magic"));
  uint32_t version = 0, arch_len = 0, count = 0;
  MORPHFIT_RETURN_IF_ERROR(r.Get(&version, "version"));
  if (version != kWeightsFormatVersion) {
    return FailedPreconditionError(where + " has format version " + std::to_string(version) +
                                   "; this build reads version " +
                                   std::to_string(kWeightsFormatVersion));
  }
  MORPHFIT_RETURN_IF_ERROR(r.Get(&arch_len, "architecture length"));
  std::string arch;
  MORPHFIT_RETURN_IF_ERROR(r.GetBytes(arch_len, &arch, "architecture"));
  if (arch != module->Describe()) {
    return InvalidArgumentError(where + " holds another architecture: " +
                                FirstDifference(arch, module->Describe()));
  }
  const std::vector<NamedParameter> params = NamedParameters(*module);
  MORPHFIT_RETURN_IF_ERROR(r.Get(&count, "tensor count"));
  if (count != params.size()) {
    return InvalidArgumentError(where + " has " + std::to_string(count) +
                                " tensors, the network has " + std::to_string(params.size()));
  }
  // Read everything into staging tensors first so that an error leaves the module untouched.
  std::vector<Tensor> staged;
  for (const NamedParameter& p : params) {
    uint32_t name_len = 0, rank = 0;
    std::string name;
    MORPHFIT_RETURN_IF_ERROR(r.Get(&name_len, "tensor name length"));
    MORPHFIT_RETURN_IF_ERROR(r.GetBytes(name_len, &name, "tensor name"));
    if (name != p.name) {
      return InvalidArgumentError(where + ": tensor '" + name + "' where the network has '" +
                                  p.name + "'");
    }
    MORPHFIT_RETURN_IF_ERROR(r.Get(&rank, "tensor rank"));
    if (rank > static_cast<uint32_t>(kMaxRank)) {
      return DataLossError(where + ": tensor '" + name + "' has rank " + std::to_string(rank));
    }
    Shape shape(rank);
    for (int64_t& d : shape) MORPHFIT_RETURN_IF_ERROR(r.Get(&d, "tensor dimensions"));
    if (shape != p.parameter->value.shape()) {
      return InvalidArgumentError(where + ": tensor '" + name + "' has shape " +
                                  ShapeString(shape) + ", the network expects " +
                                  p.parameter->value.ShapeString());
    }
    Tensor t(shape);
    MORPHFIT_RETURN_IF_ERROR(r.GetFloats(static_cast<size_t>(t.size()), t.data(), "tensor data"));
    staged.push_back(std::move(t));
  }
  if (r.pos() != body.size()) return DataLossError(where + " has trailing bytes");
  for (size_t i = 0; i < params.size(); ++i) {
    Tensor& value = params[i].parameter->value;
    if (value.device() == Device::kCuda) {
      MORPHFIT_ASSIGN_OR_RETURN(value, staged[i].ToDevice());
    } else {
      std::memcpy(value.data(), staged[i].data(), sizeof(float) * staged[i].size());
    }
  }
  return OkStatus();
}

}  // namespace morphfit::nn
