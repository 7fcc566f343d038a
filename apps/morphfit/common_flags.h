// Flags shared by several commands (defined once in common_flags.cc) and the helper that turns
// them into library options.
#ifndef MORPHFIT_APPS_MORPHFIT_COMMON_FLAGS_H_
#define MORPHFIT_APPS_MORPHFIT_COMMON_FLAGS_H_

#include <string>

#include <gflags/gflags.h>

#include "morphfit/core/status.h"
#include "morphfit/models/morphable_model.h"

DECLARE_string(model);
DECLARE_string(expression);
DECLARE_string(landmark_map);
DECLARE_string(output);
DECLARE_string(output_dir);
DECLARE_int32(threads);
DECLARE_string(shard);
DECLARE_uint64(seed);
DECLARE_string(device);
DECLARE_string(camera);

namespace morphfit::app {

// Path of the sample model generated at build time (`--model sample` resolves to it).
std::string SampleModelPath();

// Loads the model named by --model / --expression / --landmark_map ("sample" = the bundled
// sample model), with a message that says what to do when it is missing.
StatusOr<models::MorphableModel> LoadModelFromFlags();

}  // namespace morphfit::app

#endif  // MORPHFIT_APPS_MORPHFIT_COMMON_FLAGS_H_
