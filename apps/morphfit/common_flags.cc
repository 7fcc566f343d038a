// Flags shared by several commands.
#include "common_flags.h"

#include <cstdlib>

#include "morphfit/core/file_util.h"
#include "morphfit/models/model_io.h"

DEFINE_string(model, "sample",
              "Morphable model file: a statismo / BFM 2017 / BFM 2019 .h5 file, BFM 2009 "
              "01_MorphableModel.mat (with --expression for expressions), Deep3DFaceRecon "
              "BFM_model_front.mat, or 'sample' for the sample face model generated at build time.");
DEFINE_string(expression, "",
              "Separate expression basis for a BFM 2009 01_MorphableModel.mat: Guo et al.'s "
              "Exp_Pca.bin (79 modes; its std_exp.txt is looked for beside it) or 3DDFA's "
              "Model_Expression.mat (29 modes). Both live on the 53,215 trimmed vertices. .h5 "
              "models and Deep3DFaceRecon's BFM_model_front.mat carry their own expression block "
              "and take no --expression.");
DEFINE_string(vertex_set, "auto",
              "BFM 2009 .mat only: which vertices to keep. 'full' = all 53,490 (no expression "
              "basis fits them), 'trimmed' = 53,215 without the inner mouth (needs "
              "BFM_exp_idx.mat or 3DDFA model_info.mat), 'front' = Deep3DFaceRecon's 35,709-vertex "
              "face (also needs BFM_front_idx.mat), 'auto' = front with --expression, else full.");
DEFINE_string(exp_idx, "",
              "BFM_exp_idx.mat (trimIndex: 53,215 1-based BFM 2009 vertex ids). Default: looked "
              "for beside --model, then beside --expression.");
DEFINE_string(front_idx, "",
              "BFM_front_idx.mat (idx: 35,709 1-based ids into the trimmed vertices). Default: "
              "looked for beside --model, then beside --expression.");
DEFINE_string(std_exp, "",
              "std_exp.txt (one sigma per Exp_Pca.bin component). Default: beside --model or "
              "--expression.");
DEFINE_string(facemodel_info, "",
              "Deep3DFaceRecon facemodel_info.mat: the 68 keypoints, face and skin masks and, for "
              "the front set, its triangles. Default: beside --model or --expression; without it "
              "the landmarks come from --landmark_map.");
DEFINE_string(model_info, "",
              "3DDFA model_info.mat (trimIndex and 68 keypoints on the trimmed vertices). "
              "Default: beside --model or --expression.");
DEFINE_string(landmark_map, "",
              "Landmark map: 68 0-based vertex indices in iBUG order, one per line ('#' starts a "
              "comment). Overrides the model's own landmarks.");
DEFINE_string(output, "", "Output file: the .h5 model written by `sample_model` and `convert`.");
DEFINE_string(output_dir, "", "Folder for the command's outputs (created if missing).");
DEFINE_int32(threads, 0, "Worker threads (0 = all cores). Results do not depend on this.");
DEFINE_string(shard, "0/1",
              "K/N: this job does shard K (0-based) of N, e.g. --shard ${SLURM_ARRAY_TASK_ID}/N "
              "in a job array; the N jobs together do everything.");
DEFINE_uint64(seed, 0, "Random seed; item i of a run draws from an RNG keyed by (seed, i), so "
                       "results do not depend on threads or sharding.");
DEFINE_string(device, "cpu",
              "cpu or cuda (where the command has a CUDA path). fit: cuda runs the photometric "
              "stage's own Gauss-Newton normal equations on the GPU (needs a build with CUDA, a "
              "device and --photometric_solver gauss_newton; the landmark stage, visibility and "
              "line search stay on the CPU; with --batch N the normal equations of N photos' "
              "faces go to the GPU in one call per iteration, their Cholesky solves in another). "
              "synth: cuda renders each block of 32 samples' faces (fewer above 362 px: at most "
              "2^22 pixels per call; visibility and every shaded channel) in one batched GPU "
              "call; sampling, "
              "per-vertex geometry, encoding, compression and --preview stay on the CPU. Without "
              "CUDA in the build or a usable device, synth stops before writing anything.");
DEFINE_string(camera, "",
              "Camera model. synth: 'deep3d' (the default: Deep3DFaceRecon's 224 crop, pinhole, "
              "focal 1015 px scaled by size/224, face at ~1 m) or 'weak_perspective' (scaled "
              "orthographic projection). fit: 'pinhole' (the default; focal length estimated) or "
              "'weak' (weak perspective).");

namespace morphfit::app {

std::string SampleModelPath() {
  if (const char* env = std::getenv("MORPHFIT_SAMPLE_MODEL")) return env;
  return MORPHFIT_SAMPLE_MODEL;
}

StatusOr<models::MorphableModel> LoadModelFromFlags() {
  std::string path = FLAGS_model;
  if (path.empty()) return InvalidArgumentError("--model is required");
  if (path == "sample") {
    path = SampleModelPath();
    if (!FileExists(path)) {
      return NotFoundError("the sample model '" + path + "' does not exist; build it with "
                           "`make build` (or `morphfit sample_model --output " + path + "`)");
    }
  }
  const bool is_mat = path.size() >= 4 && path.compare(path.size() - 4, 4, ".mat") == 0;
  if (!FLAGS_expression.empty() && !is_mat) {
    return InvalidArgumentError(
        "--expression " + FLAGS_expression + ": '" + path +
        "' is an .h5 model, which carries its own expression block; a separate expression "
        "basis only applies to BFM 2009 .mat models");
  }
  models::ModelLoadOptions options;
  options.landmark_map_path = FLAGS_landmark_map;
  options.expression_path = FLAGS_expression;
  MORPHFIT_ASSIGN_OR_RETURN(options.vertex_set, models::ParseVertexSet(FLAGS_vertex_set));
  options.exp_idx_path = FLAGS_exp_idx;
  options.front_idx_path = FLAGS_front_idx;
  options.std_exp_path = FLAGS_std_exp;
  options.facemodel_info_path = FLAGS_facemodel_info;
  options.model_info_path = FLAGS_model_info;
  return models::LoadModel(path, options);
}

}  // namespace morphfit::app
