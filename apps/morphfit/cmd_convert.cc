// `morphfit convert`: reads any model morphfit can load (BFM 2009 .mat with its expression
// basis and side files, Deep3DFaceRecon's BFM_model_front.mat, statismo .h5) and writes it as
// one self-contained .h5 (BFM 2017 layout + /metadata/morphfit/) in morphfit's conventions.
#include <iostream>

#include "commands.h"
#include "common_flags.h"
#include "model_report.h"
#include "morphfit/models/model_io.h"

namespace morphfit::app {

int RunConvert() {
  if (FLAGS_output.empty()) {
    std::cerr << "morphfit convert: --output is required\n";
    return 2;
  }
  auto model_or = LoadModelFromFlags();
  if (!model_or.ok()) {
    std::cerr << "morphfit convert: " << model_or.status().message() << "\n";
    return 1;
  }
  models::MorphableModel& model = *model_or;
  model.source = FLAGS_model;
  const Status s = models::WriteH5Model(model, FLAGS_output);
  if (!s.ok()) {
    std::cerr << "morphfit convert: " << s.message() << "\n";
    return 1;
  }
  std::cout << DescribeModelText(model) << "wrote " << FLAGS_output << "\n";
  return 0;
}

}  // namespace morphfit::app
