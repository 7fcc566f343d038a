// Human-readable and JSON descriptions of a morphable model (used by `info` and `demo`).
#ifndef MORPHFIT_APPS_MORPHFIT_MODEL_REPORT_H_
#define MORPHFIT_APPS_MORPHFIT_MODEL_REPORT_H_

#include <string>

#include "morphfit/models/morphable_model.h"

namespace morphfit::app {

std::string DescribeModelText(const models::MorphableModel& model);
std::string DescribeModelJson(const models::MorphableModel& model);

}  // namespace morphfit::app

#endif  // MORPHFIT_APPS_MORPHFIT_MODEL_REPORT_H_
