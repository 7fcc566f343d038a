// A random morphable model of any size, for benchmarks and loader round-trip tests: a curved
// grid sheet (so triangles face +z, outward) with Gaussian random bases. Deterministic from
// `seed`. Not a face: the sample face model is models/sample_model.h.
#ifndef MORPHFIT_MODELS_RANDOM_MODEL_H_
#define MORPHFIT_MODELS_RANDOM_MODEL_H_

#include <cstdint>

#include "morphfit/models/morphable_model.h"

namespace morphfit::models {

struct RandomModelOptions {
  int num_vertices = 53490;  // BFM 2009 size by default
  int num_identity = 80;     // Deep3DFaceRecon's block sizes
  int num_expression = 64;
  int num_albedo = 80;
  uint64_t seed = 1;
};

MorphableModel MakeRandomModel(const RandomModelOptions& options);

}  // namespace morphfit::models

#endif  // MORPHFIT_MODELS_RANDOM_MODEL_H_
