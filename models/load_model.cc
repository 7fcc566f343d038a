// LoadModel: picks the loader for a model file from its name.
#include <algorithm>
#include <cctype>

#include "morphfit/models/model_io.h"

namespace morphfit::models {

StatusOr<MorphableModel> LoadModel(const std::string& path, const ModelLoadOptions& options) {
  auto ends_with = [&](const std::string& suffix) {
    return path.size() >= suffix.size() &&
           std::equal(suffix.rbegin(), suffix.rend(), path.rbegin(),
                      [](char a, char b) { return std::tolower(a) == b; });
  };
  if (ends_with(".h5") || ends_with(".hdf5")) return LoadH5Model(path, options);
  return InvalidArgumentError("'" + path + "': unknown model format; supported: .h5/.hdf5 "
                              "(statismo / BFM 2017 / BFM 2019 layout, the morphfit sample model)");
}

}  // namespace morphfit::models
