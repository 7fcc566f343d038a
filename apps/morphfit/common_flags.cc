// Flags shared by several commands.
#include "common_flags.h"

#include <cstdlib>

#include "morphfit/core/file_util.h"
#include "morphfit/models/model_io.h"

DEFINE_string(model, "sample",
              "Morphable model file: a statismo / BFM 2017 / BFM 2019 .h5 file, or 'sample' for "
              "the sample face model generated at build time.");
DEFINE_string(expression, "",
              "Separate expression basis for BFM 2009 models (Exp_Pca.bin). Models in the .h5 "
              "layout carry their own expression block and take no --expression.");
DEFINE_string(landmark_map, "",
              "Landmark map: 68 0-based vertex indices in iBUG order, one per line ('#' starts a "
              "comment). Overrides the model's own landmarks.");
DEFINE_string(output_dir, "", "Folder for the command's outputs (created if missing).");
DEFINE_int32(threads, 0, "Worker threads (0 = all cores). Results do not depend on this.");

namespace morphfit::app {

std::string SampleModelPath() {
  if (const char* env = std::getenv("MORPHFIT_SAMPLE_MODEL")) return env;
  return MORPHFIT_SAMPLE_MODEL;
}

StatusOr<models::MorphableModel> LoadModelFromFlags() {
  std::string path = FLAGS_model;
  if (path.empty()) return InvalidArgumentError("--model is required");
  if (path == "sample") {
    path = SampleModelPath();
    if (!FileExists(path)) {
      return NotFoundError("the sample model '" + path + "' does not exist; build it with "
                           "`make build` (or `morphfit sample_model --output " + path + "`)");
    }
  }
  if (!FLAGS_expression.empty()) {
    return InvalidArgumentError(
        "--expression " + FLAGS_expression + ": '" + path +
        "' is an .h5 model, which carries its own expression block; a separate expression "
        "basis only applies to BFM 2009 .mat models");
  }
  models::ModelLoadOptions options;
  options.landmark_map_path = FLAGS_landmark_map;
  return models::LoadModel(path, options);
}

}  // namespace morphfit::app
