// The fitting part of `morphfit demo`: a face rendered from the model with known parameters,
// fitted back (the recovery error is printed), and a real photo (matplotlib's public-domain
// grace_hopper.jpg from Debian's python-matplotlib-data) detected, landmarked with dlib and
// fitted, both landmarks then photometric, through the same code as `morphfit fit`.
#ifndef MORPHFIT_APPS_MORPHFIT_DEMO_FIT_H_
#define MORPHFIT_APPS_MORPHFIT_DEMO_FIT_H_

#include <string>
#include <vector>

#include "morphfit/core/status.h"
#include "morphfit/models/morphable_model.h"

namespace morphfit::app {

inline constexpr const char* kDemoPortrait =
    "/usr/share/matplotlib/mpl-data/sample_data/grace_hopper.jpg";

// Writes under `out_dir`/fit (inputs under `out_dir`/fit_input), prints what it measured and
// appends the files it wrote to `written`. A missing portrait is reported and skipped (the
// synthetic face still runs); errors of the synthetic face are returned.
Status RunDemoFits(const models::MorphableModel& model, const std::string& out_dir,
                   const std::string& portrait, std::vector<std::string>* written);

}  // namespace morphfit::app

#endif  // MORPHFIT_APPS_MORPHFIT_DEMO_FIT_H_
