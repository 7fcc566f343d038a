// Jaw-contour re-assignment for 300-W-style labels (DESIGN.md "Landmarks"): the 17 jaw
// landmarks have no fixed vertex; each follows the face's silhouette on its candidate line
// (MorphableModel::contour_candidates, ordered from the face centre outwards).
//
// Rule (no ray casting): for line k with outward direction o_k (model frame, mean shape: from
// the centroid of the 68 landmarks to jaw landmark k's fixed vertex, z dropped, normalised;
// the outline's normal: +-x at the sides, down and out below the jaw angle, -y at the chin;
// the line's own direction would be wrong below the jaw angle, where the lines run along the
// jaw's lower border), the image direction is d_k = the (x, y) part of R o_k, normalised, with R the
// current camera_from_model rotation. Marching outwards along the line, the silhouette vertex
// is the last one before the projected score uv . d_k (uv in pixels) first decreases -- the
// first local maximum, i.e. the outermost projected point of the visible part of the line (or
// the line's last vertex when the score never decreases). On the far side of a turned face the
// projection moves outwards until the surface turns away from the camera (normal . view
// direction changes sign) and then back; later maxima belong to surface folded behind that
// silhouette and are ignored. When |R o_k| has no image-plane extent (line pointing at the camera)
// the first vertex is kept.
#ifndef MORPHFIT_FITTERS_CONTOUR_H_
#define MORPHFIT_FITTERS_CONTOUR_H_

#include <vector>

#include <Eigen/Core>

#include "morphfit/core/face_params.h"
#include "morphfit/models/morphable_model.h"

namespace morphfit::fitters {

// o_k of the rule above for each jaw landmark (mean shape). CHECKs 68 landmarks, 17 lines.
std::vector<Eigen::Vector3d> ContourOutwardDirections(const models::MorphableModel& model);

// Index (into the line) of the silhouette vertex. points_model: 3 x n (mm, model frame) of the
// line's vertices for the current shape; `params` supplies rotation, translation and camera.
int SelectSilhouetteVertex(const FaceParams& params, const Eigen::Vector3d& outward_model,
                           const Eigen::Matrix3Xd& points_model);

// The 68 landmark vertex ids for `params` (identity, expression and pose): the model's fixed
// landmarks with jaw landmarks 0..16 replaced by their silhouette vertices. CHECKs that the
// model has 68 landmarks and 17 non-empty contour lines.
std::vector<int> SilhouetteLandmarkVertices(const models::MorphableModel& model,
                                            const FaceParams& params);

}  // namespace morphfit::fitters

#endif  // MORPHFIT_FITTERS_CONTOUR_H_
