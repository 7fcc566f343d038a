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

// Which vertices of a BFM 2009 model to keep (docs/FORMATS.md sections 1-3).
enum class VertexSet {
  kAuto,     // front with an expression basis, full without
  kFull,     // all 53,490 BFM 2009 vertices (no expression basis fits them)
  kTrimmed,  // 53,215: inner mouth removed (Guo / 3DDFA topology; needs trimIndex)
  kFront,    // 35,709: Deep3DFaceRecon's cropped face (needs trimIndex and idx)
};
const char* VertexSetName(VertexSet set);  // "auto" | "full" | "trimmed" | "front"
// Parses "auto", "full", "trimmed" or "front".
StatusOr<VertexSet> ParseVertexSet(const std::string& name);

struct ModelLoadOptions {
  // A landmark map (68 vertex ids, one per line, '#' comments) that overrides or supplies the
  // model's 68 landmarks.
  std::string landmark_map_path;
  // Keep at most this many modes per block (-1 = all).
  int max_identity = -1;
  int max_expression = -1;
  int max_albedo = -1;

  // BFM 2009 `.mat` only (include/morphfit/models/mat_models.h). An expression basis on the
  // 53,215 trimmed vertices: Guo's `Exp_Pca.bin` or 3DDFA's `Model_Expression.mat`.
  std::string expression_path;
  VertexSet vertex_set = VertexSet::kAuto;
  // Side files; empty = looked for beside the model, then beside the expression file.
  std::string exp_idx_path;         // BFM_exp_idx.mat (trimIndex)
  std::string front_idx_path;       // BFM_front_idx.mat (idx)
  std::string std_exp_path;         // std_exp.txt (for Exp_Pca.bin)
  std::string facemodel_info_path;  // Deep3DFaceRecon facemodel_info.mat (keypoints, masks, tri)
  std::string model_info_path;      // 3DDFA model_info.mat (trimIndex, keypoints)
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

// Picks the loader from the file name: .h5/.hdf5 -> LoadH5Model; .mat -> BFM 2009 or
// Deep3DFaceRecon front model, told apart by the variables the file holds (mat_models.h).
// `options.expression_path` is only accepted for BFM 2009. Errors list the supported formats.
StatusOr<MorphableModel> LoadModel(const std::string& path, const ModelLoadOptions& options = {});

// Reads a landmark map: 68 0-based vertex ids in iBUG order, one per line; blank lines and text
// after '#' are ignored. Errors name the file and line. `num_vertices` > 0 checks the range.
StatusOr<std::vector<int>> ReadLandmarkMap(const std::string& path, int num_vertices = 0);
Status WriteLandmarkMap(const std::string& path, const std::vector<int>& landmarks);

}  // namespace morphfit::models

#endif  // MORPHFIT_MODELS_MODEL_IO_H_
