// The command table.
#include "commands.h"

namespace morphfit::app {

const std::vector<Command>& Commands() {
  static const std::vector<Command> commands = {
      {"info", "describe a morphable model (counts, units, expression kind, bounding box)",
       "morphfit info --model PATH|sample [--expression PATH] [--vertex_set auto|full|trimmed|front]\n"
       "              [--landmark_map PATH] [--json]",
       {"model", "expression", "landmark_map", "vertex_set", "exp_idx", "front_idx", "std_exp", "facemodel_info", "model_info", "json"}, &RunInfo},
      {"demo", "describe the sample model, fit a face rendered with known parameters and a real "
               "portrait (dlib); writes pictures, overlays, meshes and parameters",
       "morphfit demo [--model sample] [--output_dir demo_out]",
       {"model", "landmark_map", "output_dir", "demo_size"}, &RunDemo},
      {"convert", "convert a model (.mat with its side files, or .h5) into one morphfit .h5",
       "morphfit convert --model PATH [--expression PATH] [--vertex_set ...] --output OUT.h5",
       {"model", "expression", "landmark_map", "vertex_set", "exp_idx", "front_idx", "std_exp", "facemodel_info", "model_info", "output"}, &RunConvert},
      {"sample_model", "generate the sample face model (.h5, BFM 2017 layout + morphfit metadata)",
       "morphfit sample_model --output PATH [--landmark_map_output PATH]",
       {"output", "landmark_map_output"}, &RunSampleModel},
      {"render", "render FaceParams (or the mean face) to PNG channels and an OBJ mesh",
       "morphfit render --model M [--params P.json] --output_dir D [--width 224 --height 224]\n"
       "                [--channels image,mask,depth,normals,albedo,shading,specular,landmarks]",
       {"model", "expression", "landmark_map", "params", "output_dir", "width", "height",
        "channels", "threads"}, &RunRender},
      {"synth", "synthesise a training set: random or re-posed fitted faces, every channel, HDF5 shards",
       "morphfit synth --model M --count N --output_dir D [--size 224] [--from_fits fits.h5]\n"
       "               [--seed S] [--shard K/N] [--device cpu|cuda] [--specular] [--backgrounds DIR]\n"
       "               [--camera deep3d|weak_perspective] [--augment] [--preview sheet.png]",
       {"model", "expression", "landmark_map", "count", "output_dir", "size", "from_fits", "seed",
        "shard", "device", "specular", "backgrounds", "camera", "augment", "samples_per_shard",
        "compression_level", "preview", "preview_count", "threads"}, &RunSynth},
      {"fit", "fit the model to every face of a photo folder (300-W layout), image or list",
       "morphfit fit --model M [--expression E --landmark_map L] --input DIR|FILE|LIST\n"
       "             --output_dir OUT [--landmarks pts|dlib|auto] [--stages landmarks|photometric]\n"
       "             [--camera pinhole|weak] [--jaw contour|fixed] [--device cpu|cuda] [--threads N]\n"
       "             [--shard K/N] [--resume] [--batch N]",
       {"model", "expression", "landmark_map", "vertex_set", "exp_idx", "front_idx", "std_exp",
        "facemodel_info", "model_info", "input", "output_dir", "landmarks", "stages", "camera",
        "jaw", "device", "threads", "shard", "resume", "shape_predictor", "cascade_dir",
        "mesh_format", "overlay", "sfsnet", "photometric_solver", "landmark_solver", "focal",
        "batch"}, &RunFit},
      {"eval", "score fitted (or detected) landmarks against ground-truth .pts: NME, CED plot",
       "morphfit eval --fits OUT --ground_truth DIR [--normalisation outer_eye|inter_pupil|bbox]\n"
       "              [--eval_landmarks fitted|input] [--output_dir E]",
       {"fits", "ground_truth", "normalisation", "eval_landmarks", "output_dir", "ced_max"},
       &RunEval},
      {"merge", "join the shard outputs of `morphfit fit --shard K/N` into fits.h5 and summary.csv",
       "morphfit merge --fits OUT[,OUT2...] [--output_dir M]",
       {"fits", "output_dir"}, &RunMerge},
  };
  return commands;
}

}  // namespace morphfit::app
