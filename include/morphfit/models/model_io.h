// Reading and writing morphable models. Every loader returns a validated MorphableModel in the
// project's conventions (mm, CCW outward triangles, sigma folded into the bases, albedo in
// [0, 1]) and says in `units_note` how it decided units and winding.
//
// The BFM 2017 / statismo `.h5` layout (docs/FORMATS.md section 5) is read and written here,
// with the project's extension group `/metadata/morphfit/` (docs/formats.md) that other readers
// ignore.
#ifndef MORPHFIT_MODELS_MODEL_IO_H_
#define MORPHFIT_MODELS_MODEL_IO_H_

#include <string>
#include <vector>

#include "morphfit/core/status.h"
#include "morphfit/models/morphable_model.h"

namespace morphfit::models {

struct ModelLoadOptions {
  // A landmark map (68 vertex ids, one per line, '#' comments) that overrides or supplies the
  // model's 68 landmarks.
  std::string landmark_map_path;
  // Keep at most this many modes per block (-1 = all).
  int max_identity = -1;
  int max_expression = -1;
  int max_albedo = -1;
};

// Reads a statismo / BFM 2017 `.h5` model. Units: `/metadata/morphfit/units` when present,
// otherwise decided from the mean shape's extent (a face spans ~200 mm, or ~200,000 when the
// file is in micrometres, as the BFM 2009 re-release `model2009-publicmm1-bfm.h5` is). Colour:
// divided by 255 when the mean colour exceeds 1.5. Winding: flipped when most triangles face
// inward. Expression kind: `/metadata/morphfit/expression_kind`, then `/metadata/expression_kind`
// (as the ICT conversion stores it), else PCA.
StatusOr<MorphableModel> LoadH5Model(const std::string& path, const ModelLoadOptions& options = {});

// Writes `model` in the statismo / BFM 2017 layout (version 0.9, orthonormal-column pcaBasis and
// pcaVariance = sigma^2) plus `/metadata/morphfit/`. Written atomically.
Status WriteH5Model(const MorphableModel& model, const std::string& path);

// Picks the loader from the file name (.h5/.hdf5). Errors list the supported formats.
StatusOr<MorphableModel> LoadModel(const std::string& path, const ModelLoadOptions& options = {});

// Reads a landmark map: 68 0-based vertex ids in iBUG order, one per line; blank lines and text
// after '#' are ignored. Errors name the file and line. `num_vertices` > 0 checks the range.
StatusOr<std::vector<int>> ReadLandmarkMap(const std::string& path, int num_vertices = 0);
Status WriteLandmarkMap(const std::string& path, const std::vector<int>& landmarks);

}  // namespace morphfit::models

#endif  // MORPHFIT_MODELS_MODEL_IO_H_
