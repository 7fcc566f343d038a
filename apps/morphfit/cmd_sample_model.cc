// `morphfit sample_model`: writes the project's own sample face model (run at build time).
#include <iostream>

#include "commands.h"
#include "common_flags.h"
#include "morphfit/models/model_io.h"
#include "morphfit/models/sample_model.h"

DEFINE_string(landmark_map_output, "",
              "Also write its 68 landmark vertex ids as a landmark map file (optional).");

namespace morphfit::app {

int RunSampleModel() {
  if (FLAGS_output.empty()) {
    std::cerr << "morphfit sample_model: --output is required\n";
    return 2;
  }
  const models::MorphableModel model = models::MakeSampleModel();
  Status s = models::WriteH5Model(model, FLAGS_output);
  if (s.ok() && !FLAGS_landmark_map_output.empty()) {
    s = models::WriteLandmarkMap(FLAGS_landmark_map_output, model.landmarks);
  }
  if (!s.ok()) {
    std::cerr << "morphfit sample_model: " << s.message() << "\n";
    return 1;
  }
  std::cout << "wrote " << FLAGS_output << " (" << model.num_vertices() << " vertices, "
            << model.num_triangles() << " triangles, generator version " << model.generator_version
            << ")\n";
  return 0;
}

}  // namespace morphfit::app
