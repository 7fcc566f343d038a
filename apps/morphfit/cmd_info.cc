// `morphfit info`: describes a morphable model.
#include <iostream>

#include "commands.h"
#include "common_flags.h"
#include "model_report.h"

DEFINE_bool(json, false, "Print a JSON object instead of text (keys num_vertices, num_triangles, "
                         "num_identity, num_expression, num_albedo, num_landmarks, ...).");

namespace morphfit::app {

int RunInfo() {
  auto model_or = LoadModelFromFlags();
  if (!model_or.ok()) {
    std::cerr << "morphfit info: " << model_or.status().message() << "\n";
    return 1;
  }
  std::cout << (FLAGS_json ? DescribeModelJson(*model_or) : DescribeModelText(*model_or));
  return 0;
}

}  // namespace morphfit::app
