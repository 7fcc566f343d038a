// The command table.
#include "commands.h"

namespace morphfit::app {

const std::vector<Command>& Commands() {
  static const std::vector<Command> commands = {
      {"info", "describe a morphable model (counts, units, expression kind, bounding box)",
       "morphfit info --model PATH|sample [--landmark_map PATH] [--json]",
       {"model", "expression", "landmark_map", "json"}, &RunInfo},
      {"demo", "render and describe the sample model; writes pictures, meshes and parameters",
       "morphfit demo [--model sample] [--output_dir demo_out]",
       {"model", "landmark_map", "output_dir", "demo_size"}, &RunDemo},
      {"sample_model", "generate the sample face model (.h5, BFM 2017 layout + morphfit metadata)",
       "morphfit sample_model --output PATH [--landmark_map_output PATH]",
       {"output", "landmark_map_output"}, &RunSampleModel},
  };
  return commands;
}

}  // namespace morphfit::app
