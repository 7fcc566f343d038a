// FaceParams: the one parameter record every command reads and writes (render input, fit
// output, synthetic-set records, network targets), with one JSON form and one HDF5 table form.
// Documented in docs/formats.md ("FaceParams").
//
// Conventions (DESIGN.md):
//  - identity / expression / albedo coefficients are in units of their standard deviation
//    (blendshape expressions: weights in [0, 1]); block sizes follow the model.
//  - lighting: 27 spherical-harmonics coefficients, R[9] G[9] B[9], Deep3DFaceRecon's basis on
//    view-frame normals. These are the absolute coefficients: Deep3DFaceRecon's network output
//    plus its init_lit 0.8 on band 0 (the 257-vector converter adds/subtracts it).
//  - rotation: axis-angle (rad) of camera_from_model; translation in mm, camera frame (OpenCV:
//    x right, y down, z forward). A frontal face is rotation (pi, 0, 0): the model's +y (up)
//    maps to -y (up in the image) and +z (toward the viewer) to -z (toward the camera).
//  - camera: pinhole (focal_px, cx_px, cy_px), pixel (0, 0) = centre of the top-left pixel,
//      u = f * x / z + cx, v = f * y / z + cy  with (x, y, z) = R * X + t;
//    or weak perspective (scale_px_per_mm, offset_x_px, offset_y_px),
//      u = s * x + offset_x, v = s * y + offset_y  with (x, y, z) = R * X + t
//    (there translation x/y duplicate the offset and are kept at 0 by the fitters).
//
// Flat vector order (fixed; FlatNames() gives the names):
//   [identity (K_id) | expression (K_exp) | albedo (K_alb) | lighting (27) |
//    rotation (3) | translation (3) | camera (3)]
#ifndef MORPHFIT_CORE_FACE_PARAMS_H_
#define MORPHFIT_CORE_FACE_PARAMS_H_

#include <string>
#include <vector>

#include <Eigen/Core>

#include "morphfit/core/status.h"

namespace morphfit {

enum class CameraType { kPinhole = 0, kWeakPerspective = 1 };
const char* CameraTypeName(CameraType type);  // "pinhole" | "weak_perspective"
StatusOr<CameraType> ParseCameraType(const std::string& name);

constexpr int kNumShBands = 9;
constexpr int kNumLighting = 27;  // 9 SH bands x RGB, channel-major
// Deep3DFaceRecon adds 0.8 to band 0 of every channel (init_lit).
constexpr double kDefaultAmbient = 0.8;

struct FaceParams {
  static constexpr int kVersion = 1;

  Eigen::VectorXd identity;
  Eigen::VectorXd expression;
  Eigen::VectorXd albedo;
  Eigen::Matrix<double, kNumLighting, 1> lighting;
  Eigen::Vector3d rotation;     // axis-angle, rad, camera_from_model
  Eigen::Vector3d translation;  // mm, camera frame
  CameraType camera_type = CameraType::kPinhole;
  Eigen::Vector3d camera;  // pinhole: focal_px, cx_px, cy_px; weak: scale_px_per_mm, ox_px, oy_px
  int image_width = 0;
  int image_height = 0;

  // Optional record-keeping (JSON only; the HDF5 table keeps `image` as a string column).
  std::string model;               // model name, e.g. "morphfit-sample-face"
  std::string image;               // source image path, when fitted to a photo
  Eigen::Matrix2Xd landmarks_2d;   // 2 x 68, 0-based pixels, the model's projected landmarks

  // A neutral face (all coefficients 0, ambient light 0.8 per channel, no rotation other than
  // the frontal flip) seen by a pinhole camera with the given focal length at `distance_mm`,
  // centred in a width x height image.
  static FaceParams Frontal(int num_identity, int num_expression, int num_albedo, int width,
                            int height, double focal_px, double distance_mm);

  int FlatSize() const;
  Eigen::VectorXd ToFlat() const;
  // Reads a flat vector laid out for this record's current block sizes.
  Status SetFromFlat(const Eigen::VectorXd& flat);
  // "identity_000", ..., "expression_000", ..., "albedo_000", ..., "light_r0".."light_b8",
  // "rotation_x/y/z", "translation_x/y/z", "camera_0/1/2".
  std::vector<std::string> FlatNames() const;

  // Finite numbers, positive focal/scale, non-negative image size. `context` prefixes errors.
  Status Validate(const std::string& context) const;
  // Block sizes equal the model's.
  Status CheckSizes(int num_identity, int num_expression, int num_albedo,
                    const std::string& context) const;
};

// JSON (schema "morphfit.face_params", version 1; docs/formats.md).
std::string FaceParamsToJson(const FaceParams& params);
StatusOr<FaceParams> FaceParamsFromJson(const std::string& text, const std::string& context);
Status WriteFaceParamsJson(const std::string& path, const FaceParams& params);  // atomic
StatusOr<FaceParams> ReadFaceParamsJson(const std::string& path);

// HDF5 table: one row per face (all rows must share block sizes). Written atomically.
//   /face_params/flat        float64 [rows x P]   (attribute `names`: JSON list of P names)
//   /face_params/camera_type int32   [rows]       0 pinhole, 1 weak perspective
//   /face_params/image_size  int32   [rows x 2]   width, height
//   /face_params/id          string  [rows]       row id (e.g. "helen/trainset/100032540_1_f0")
//   /face_params/image       string  [rows]       source image path or ""
//   /face_params/block_sizes int32   [3]          num_identity, num_expression, num_albedo
//   /face_params/version     int32   scalar       FaceParams::kVersion
//   string attributes on /face_params: format = "morphfit.face_params", model
Status WriteFaceParamsTable(const std::string& path, const std::vector<std::string>& ids,
                            const std::vector<FaceParams>& rows);
struct FaceParamsTable {
  std::vector<std::string> ids;
  std::vector<FaceParams> rows;
};
StatusOr<FaceParamsTable> ReadFaceParamsTable(const std::string& path);

}  // namespace morphfit

#endif  // MORPHFIT_CORE_FACE_PARAMS_H_
