// A small CPU preview rasterizer for looking at meshes (models, fits, synthetic faces) before
// and beside the real renderer: perspective pinhole camera framed to fit the mesh, z-buffered
// triangles with back-face culling, smooth per-vertex normals, and three looks (shaded albedo,
// view-frame normal map, depth). Plus a contact-sheet helper for tiling captioned previews.
// Not differentiable and not the fitting renderer; single-threaded, for humans and tests.
#ifndef MORPHFIT_RENDER_PREVIEW_H_
#define MORPHFIT_RENDER_PREVIEW_H_

#include <cstdint>
#include <string>
#include <vector>

#include <Eigen/Core>
#include <opencv2/core.hpp>

namespace morphfit::render {

struct PreviewOptions {
  enum class Mode {
    kShaded,   // colour (or light grey) x (ambient + Lambert), light from the upper left
    kNormals,  // view-frame normal (x right, y up, z toward the viewer) as (n + 1) / 2 RGB
    kDepth,    // grey: near = white, far = dark
  };
  int width = 512;
  int height = 512;
  // Head pose in the model frame, applied before viewing from +z. yaw_deg > 0 turns the face
  // toward its own left (+x), i.e. to the image right; pitch_deg > 0 tilts the chin up.
  double yaw_deg = 0.0;
  double pitch_deg = 0.0;
  Mode mode = Mode::kShaded;
  cv::Vec3b background = cv::Vec3b(40, 40, 40);  // BGR
  // Focal length in units of max(width, height); larger = flatter perspective.
  double focal_scale = 2.0;
  // Fraction of the image the mesh's bounding box may fill (centred).
  double fill = 0.9;
};

// Area-weighted vertex normals (3N, unit length; zero-area neighbourhoods give +z) of a mesh
// whose triangles are counter-clockwise seen from outside.
Eigen::VectorXf ComputeVertexNormals(const Eigen::VectorXf& vertices,
                                     const Eigen::Matrix<int32_t, 3, Eigen::Dynamic>& triangles);

// Renders `vertices` (3N, mm, model frame: +y up, +z toward the viewer) with `triangles`
// (0-based, CCW outward; out-of-range ids are a CHECK failure) into an 8-bit BGR image of
// options.width x options.height. `colors` is 3N RGB in [0, 1] (clamped) or nullptr for light
// grey. The camera looks along -z of the (posed) model from a distance that frames the
// bounding box of all vertices; pixel (u, v) samples at its centre. Deterministic.
cv::Mat RenderPreview(const Eigen::VectorXf& vertices,
                      const Eigen::Matrix<int32_t, 3, Eigen::Dynamic>& triangles,
                      const Eigen::VectorXf* colors, const PreviewOptions& options);

// Pixel positions (u, v; (0, 0) = centre of the top-left pixel) of the given vertices in the
// image RenderPreview makes with the same vertices and options (e.g. to draw landmarks).
Eigen::Matrix2Xd ProjectPreview(const Eigen::VectorXf& vertices, const std::vector<int>& vertex_ids,
                                const PreviewOptions& options);

// Tiles 8-bit BGR images (resized to the first one's size) into rows of `columns`, each with
// its caption (may be empty; captions.size() must be 0 or images.size()) drawn in a strip
// under it. Returns an empty Mat for no images.
cv::Mat MakeContactSheet(const std::vector<cv::Mat>& images,
                         const std::vector<std::string>& captions, int columns);

}  // namespace morphfit::render

#endif  // MORPHFIT_RENDER_PREVIEW_H_
