// Preview rasterizer: pose, frame, project, then one z-buffered pass over the triangles with
// perspective-correct interpolation of colours and normals at pixel centres.
#include "morphfit/render/preview.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include <Eigen/Geometry>
#include <glog/logging.h>
#include <opencv2/imgproc.hpp>

namespace morphfit::render {
namespace {

constexpr double kDegToRad = 3.14159265358979323846 / 180.0;

// Model -> posed model frame; the posed frame is also the view frame (x right, y up, z toward
// the viewer) because the camera looks along -z.
Eigen::Matrix3f PoseRotation(double yaw_deg, double pitch_deg) {
  const float yaw = static_cast<float>(yaw_deg * kDegToRad);
  const float pitch = static_cast<float>(pitch_deg * kDegToRad);
  Eigen::Matrix3f ry;
  ry << std::cos(yaw), 0, std::sin(yaw), 0, 1, 0, -std::sin(yaw), 0, std::cos(yaw);
  Eigen::Matrix3f rx;  // positive pitch turns +z toward +y (chin up)
  rx << 1, 0, 0, 0, std::cos(pitch), std::sin(pitch), 0, -std::sin(pitch), std::cos(pitch);
  return rx * ry;
}

// The preview camera: the posed mesh's bounding box centred in the image, seen along -z from a
// distance at which the box fills `options.fill` of the frame.
struct Framing {
  Eigen::Matrix3f rotation;
  Eigen::Vector3f centre;
  double focal = 1, distance = 1, cx = 0, cy = 0;

  // u, v (pixels, (0, 0) = centre of the top-left pixel) and camera depth of a model point.
  Eigen::Vector3d Project(const Eigen::Vector3f& point_model) const {
    const Eigen::Vector3f p = rotation * point_model - centre;
    const double z = distance - p.z();
    return Eigen::Vector3d(cx + focal * p.x() / z, cy - focal * p.y() / z, z);
  }
};

Framing FrameMesh(const Eigen::VectorXf& vertices, const PreviewOptions& options) {
  Framing f;
  f.rotation = PoseRotation(options.yaw_deg, options.pitch_deg);
  const Eigen::Index n = vertices.size() / 3;
  Eigen::Vector3f lo = Eigen::Vector3f::Constant(std::numeric_limits<float>::max());
  Eigen::Vector3f hi = -lo;
  for (Eigen::Index i = 0; i < n; ++i) {
    const Eigen::Vector3f p = f.rotation * vertices.segment<3>(3 * i);
    lo = lo.cwiseMin(p);
    hi = hi.cwiseMax(p);
  }
  if (n == 0) lo = hi = Eigen::Vector3f::Zero();
  f.centre = 0.5f * (lo + hi);
  const Eigen::Vector3f half = (0.5f * (hi - lo)).cwiseMax(1e-3f);
  f.focal = options.focal_scale * std::max(options.width, options.height);
  f.distance = half.z() + f.focal * std::max(half.x() / (0.5 * options.fill * options.width),
                                             half.y() / (0.5 * options.fill * options.height));
  f.cx = 0.5 * (options.width - 1);
  f.cy = 0.5 * (options.height - 1);
  return f;
}

}  // namespace

Eigen::Matrix2Xd ProjectPreview(const Eigen::VectorXf& vertices, const std::vector<int>& vertex_ids,
                                const PreviewOptions& options) {
  CHECK_EQ(vertices.size() % 3, 0);
  const Framing framing = FrameMesh(vertices, options);
  Eigen::Matrix2Xd points(2, vertex_ids.size());
  for (size_t i = 0; i < vertex_ids.size(); ++i) {
    CHECK(vertex_ids[i] >= 0 && vertex_ids[i] < vertices.size() / 3) << "vertex id out of range";
    points.col(i) = framing.Project(vertices.segment<3>(3 * vertex_ids[i])).head<2>();
  }
  return points;
}

Eigen::VectorXf ComputeVertexNormals(const Eigen::VectorXf& vertices,
                                     const Eigen::Matrix<int32_t, 3, Eigen::Dynamic>& triangles) {
  const Eigen::Index n = vertices.size() / 3;
  Eigen::VectorXf normals = Eigen::VectorXf::Zero(vertices.size());
  for (Eigen::Index t = 0; t < triangles.cols(); ++t) {
    const int i0 = triangles(0, t), i1 = triangles(1, t), i2 = triangles(2, t);
    CHECK(i0 >= 0 && i0 < n && i1 >= 0 && i1 < n && i2 >= 0 && i2 < n)
        << "triangle " << t << " indexes past " << n << " vertices";
    const Eigen::Vector3f a = vertices.segment<3>(3 * i0);
    const Eigen::Vector3f face = (vertices.segment<3>(3 * i1) - a).cross(vertices.segment<3>(3 * i2) - a);
    normals.segment<3>(3 * i0) += face;
    normals.segment<3>(3 * i1) += face;
    normals.segment<3>(3 * i2) += face;
  }
  for (Eigen::Index i = 0; i < n; ++i) {
    const float len = normals.segment<3>(3 * i).norm();
    if (len > 0) {
      normals.segment<3>(3 * i) /= len;
    } else {
      normals.segment<3>(3 * i) = Eigen::Vector3f::UnitZ();
    }
  }
  return normals;
}

cv::Mat RenderPreview(const Eigen::VectorXf& vertices,
                      const Eigen::Matrix<int32_t, 3, Eigen::Dynamic>& triangles,
                      const Eigen::VectorXf* colors, const PreviewOptions& options) {
  CHECK_GT(options.width, 0);
  CHECK_GT(options.height, 0);
  CHECK_EQ(vertices.size() % 3, 0);
  CHECK(colors == nullptr || colors->size() == vertices.size()) << "colours must be 3N";
  const int width = options.width, height = options.height;
  cv::Mat image(height, width, CV_8UC3, cv::Scalar(options.background[0], options.background[1],
                                                   options.background[2]));
  const Eigen::Index n = vertices.size() / 3;
  if (n == 0 || triangles.cols() == 0) return image;

  const Framing framing = FrameMesh(vertices, options);
  const Eigen::Matrix3f& rotation = framing.rotation;
  const Eigen::VectorXf normals = ComputeVertexNormals(vertices, triangles);
  std::vector<Eigen::Vector3d> screen(n);  // u, v, camera depth
  for (Eigen::Index i = 0; i < n; ++i) screen[i] = framing.Project(vertices.segment<3>(3 * i));

  const Eigen::Vector3f light = Eigen::Vector3f(-0.35f, 0.45f, 1.0f).normalized();
  std::vector<float> zbuffer(static_cast<size_t>(width) * height,
                             std::numeric_limits<float>::infinity());
  for (Eigen::Index t = 0; t < triangles.cols(); ++t) {
    const int id[3] = {triangles(0, t), triangles(1, t), triangles(2, t)};
    const Eigen::Vector3d& p0 = screen[id[0]];
    const Eigen::Vector3d& p1 = screen[id[1]];
    const Eigen::Vector3d& p2 = screen[id[2]];
    // Counter-clockwise with y up is clockwise with the image's y down: negative area.
    const double area = (p1.x() - p0.x()) * (p2.y() - p0.y()) - (p2.x() - p0.x()) * (p1.y() - p0.y());
    if (area >= 0.0) continue;
    const int u_min = std::max(0, static_cast<int>(std::ceil(std::min({p0.x(), p1.x(), p2.x()}))));
    const int u_max = std::min(width - 1, static_cast<int>(std::floor(std::max({p0.x(), p1.x(), p2.x()}))));
    const int v_min = std::max(0, static_cast<int>(std::ceil(std::min({p0.y(), p1.y(), p2.y()}))));
    const int v_max = std::min(height - 1, static_cast<int>(std::floor(std::max({p0.y(), p1.y(), p2.y()}))));
    if (u_min > u_max || v_min > v_max) continue;
    const double inv_z[3] = {1.0 / p0.z(), 1.0 / p1.z(), 1.0 / p2.z()};
    for (int v = v_min; v <= v_max; ++v) {
      for (int u = u_min; u <= u_max; ++u) {
        const double b0 = ((p1.x() - u) * (p2.y() - v) - (p2.x() - u) * (p1.y() - v)) / area;
        const double b1 = ((p2.x() - u) * (p0.y() - v) - (p0.x() - u) * (p2.y() - v)) / area;
        const double b2 = 1.0 - b0 - b1;
        if (b0 < 0.0 || b1 < 0.0 || b2 < 0.0) continue;
        const double w[3] = {b0 * inv_z[0], b1 * inv_z[1], b2 * inv_z[2]};
        const double sum = w[0] + w[1] + w[2];
        const float depth = static_cast<float>(1.0 / sum);
        float& zb = zbuffer[static_cast<size_t>(v) * width + u];
        if (depth >= zb) continue;
        zb = depth;
        Eigen::Vector3f normal = Eigen::Vector3f::Zero();
        Eigen::Vector3f albedo = Eigen::Vector3f::Zero();
        for (int k = 0; k < 3; ++k) {
          const float wk = static_cast<float>(w[k] / sum);
          normal += wk * normals.segment<3>(3 * id[k]);
          if (colors != nullptr) albedo += wk * colors->segment<3>(3 * id[k]);
        }
        normal = rotation * normal;
        if (normal.norm() > 0) normal.normalize();
        Eigen::Vector3f rgb;
        switch (options.mode) {
          case PreviewOptions::Mode::kShaded: {
            if (colors == nullptr) albedo = Eigen::Vector3f::Constant(0.8f);
            const float lambert = std::max(0.0f, normal.dot(light));
            rgb = albedo.cwiseMax(0.0f).cwiseMin(1.0f) * (0.3f + 0.7f * lambert);
            break;
          }
          case PreviewOptions::Mode::kNormals:
            rgb = 0.5f * (normal + Eigen::Vector3f::Ones());
            break;
          case PreviewOptions::Mode::kDepth:
            rgb.setZero();  // grey levels are set below, once the visible depth range is known
            break;
        }
        rgb = rgb.cwiseMax(0.0f).cwiseMin(1.0f);
        image.at<cv::Vec3b>(v, u) =
            cv::Vec3b(static_cast<uint8_t>(std::lround(255.0f * rgb.z())),
                      static_cast<uint8_t>(std::lround(255.0f * rgb.y())),
                      static_cast<uint8_t>(std::lround(255.0f * rgb.x())));
      }
    }
  }
  if (options.mode == PreviewOptions::Mode::kDepth) {
    // Near = white, far = dark, over the depths that are actually visible.
    float z_min = std::numeric_limits<float>::infinity(), z_max = -z_min;
    for (float z : zbuffer) {
      if (std::isfinite(z)) {
        z_min = std::min(z_min, z);
        z_max = std::max(z_max, z);
      }
    }
    const float range = std::max(z_max - z_min, 1e-6f);
    for (int v = 0; v < height; ++v) {
      for (int u = 0; u < width; ++u) {
        const float z = zbuffer[static_cast<size_t>(v) * width + u];
        if (!std::isfinite(z)) continue;
        const uint8_t g = static_cast<uint8_t>(std::lround(255.0f * (1.0f - 0.85f * (z - z_min) / range)));
        image.at<cv::Vec3b>(v, u) = cv::Vec3b(g, g, g);
      }
    }
  }
  return image;
}

cv::Mat MakeContactSheet(const std::vector<cv::Mat>& images,
                         const std::vector<std::string>& captions, int columns) {
  CHECK(captions.empty() || captions.size() == images.size())
      << images.size() << " images but " << captions.size() << " captions";
  CHECK_GT(columns, 0);
  if (images.empty()) return cv::Mat();
  const cv::Size tile = images.front().size();
  constexpr int kCaptionHeight = 24;
  const int num = static_cast<int>(images.size());
  const int cols = std::min(columns, num);
  const int rows = (num + cols - 1) / cols;
  cv::Mat sheet(rows * (tile.height + kCaptionHeight), cols * tile.width, CV_8UC3,
                cv::Scalar(20, 20, 20));
  for (int i = 0; i < num; ++i) {
    CHECK_EQ(images[i].type(), CV_8UC3) << "image " << i << " is not 8-bit BGR";
    const int x = (i % cols) * tile.width;
    const int y = (i / cols) * (tile.height + kCaptionHeight);
    cv::Mat resized;
    if (images[i].size() == tile) {
      resized = images[i];
    } else {
      cv::resize(images[i], resized, tile, 0, 0, cv::INTER_AREA);
    }
    resized.copyTo(sheet(cv::Rect(x, y, tile.width, tile.height)));
    if (!captions.empty() && !captions[i].empty()) {
      cv::putText(sheet, captions[i], cv::Point(x + 6, y + tile.height + 17),
                  cv::FONT_HERSHEY_SIMPLEX, 0.5, cv::Scalar(230, 230, 230), 1, cv::LINE_AA);
    }
  }
  return sheet;
}

}  // namespace morphfit::render
