// LoadModel: picks the loader for a model file from its name and, for .mat files, from the
// variables the file holds.
#include <algorithm>
#include <cctype>

#include "morphfit/models/mat_models.h"
#include "morphfit/models/model_io.h"

namespace morphfit::models {

StatusOr<MorphableModel> LoadModel(const std::string& path, const ModelLoadOptions& options) {
  auto ends_with = [&](const std::string& suffix) {
    return path.size() >= suffix.size() &&
           std::equal(suffix.rbegin(), suffix.rend(), path.rbegin(),
                      [](char a, char b) { return std::tolower(a) == b; });
  };
  if (ends_with(".h5") || ends_with(".hdf5")) {
    if (!options.expression_path.empty()) {
      return InvalidArgumentError("'" + path + "' is an .h5 model, which carries its own "
                                  "expression block; a separate expression basis (" +
                                  options.expression_path + ") only applies to BFM 2009 .mat");
    }
    return LoadH5Model(path, options);
  }
  if (ends_with(".mat")) {
    MORPHFIT_ASSIGN_OR_RETURN(MatLayout layout, DetectMatLayout(path));
    switch (layout) {
      case MatLayout::kBfm2009:
        return LoadBfm2009Model(path, options);
      case MatLayout::kDeep3dFront:
        if (!options.expression_path.empty()) {
          return InvalidArgumentError("'" + path + "' is Deep3DFaceRecon's front model, which "
                                      "carries its own expression basis (exBase); --expression "
                                      "only applies to BFM 2009 01_MorphableModel.mat");
        }
        return LoadDeep3dModel(path, options);
      case MatLayout::kExpression3ddfa:
        return InvalidArgumentError("'" + path + "' is an expression basis (3DDFA "
                                    "Model_Expression.mat), not a model: load BFM 2009 "
                                    "01_MorphableModel.mat and pass this file as the expression");
      case MatLayout::kIndexFile:
        return InvalidArgumentError("'" + path + "' is an index / auxiliary file (trimIndex, idx, "
                                    "keypoints...), not a model; it is read beside a BFM 2009 model");
      case MatLayout::kUnknown:
        break;
    }
    return InvalidArgumentError("'" + path + "': a MAT file holding none of the known model "
                                "layouts (BFM 2009 shapeMU/shapePC/tl, Deep3DFaceRecon "
                                "meanshape/idBase)");
  }
  if (ends_with(".bin")) {
    return InvalidArgumentError("'" + path + "' looks like an expression basis (Exp_Pca.bin), "
                                "not a model: load BFM 2009 01_MorphableModel.mat with it as the "
                                "expression");
  }
  return InvalidArgumentError("'" + path + "': unknown model format; supported: .h5/.hdf5 "
                              "(statismo / BFM 2017 / BFM 2019 layout, the morphfit sample model), "
                              ".mat (BFM 2009 01_MorphableModel.mat with an optional Exp_Pca.bin "
                              "or Model_Expression.mat expression basis, Deep3DFaceRecon "
                              "BFM_model_front.mat)");
}

}  // namespace morphfit::models
