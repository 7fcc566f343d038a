// `morphfit render`: renders a FaceParams record (or the mean face, frontal) with the fitting
// renderer and writes the requested channels as PNG plus the posed mesh as OBJ.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include <gflags/gflags.h>
#include <opencv2/core.hpp>

#include "commands.h"
#include "common_flags.h"
#include "morphfit/core/face_params.h"
#include "morphfit/core/file_util.h"
#include "morphfit/core/thread_pool.h"
#include "morphfit/io/image.h"
#include "morphfit/io/mesh_io.h"
#include "morphfit/render/renderer.h"

DEFINE_string(params, "", "FaceParams JSON to render; empty = the mean face, frontal, filling "
                          "the image, default light");
DEFINE_int32(width, 224, "image width (px) when --params is not given");
DEFINE_int32(height, 224, "image height (px) when --params is not given");
DEFINE_string(channels, "image,mask",
              "comma-separated: image,mask,depth,normals,albedo,shading,specular,landmarks");

namespace morphfit::app {
namespace {

cv::Mat ToBgr8(const std::vector<float>& rgb, int w, int h, float scale, float offset) {
  cv::Mat out(h, w, CV_8UC3);
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      for (int c = 0; c < 3; ++c) {
        const float v = (rgb[3 * (y * w + x) + c] + offset) * scale;
        out.at<cv::Vec3b>(y, x)[2 - c] =
            static_cast<uint8_t>(std::lround(255.0f * std::min(1.0f, std::max(0.0f, v))));
      }
    }
  }
  return out;
}

int Fail(const std::string& message) {
  std::cerr << "morphfit render: " << message << "\n";
  return 1;
}

}  // namespace

int RunRender() {
  if (FLAGS_output_dir.empty()) return Fail("--output_dir is required");
  auto model_or = LoadModelFromFlags();
  if (!model_or.ok()) return Fail(model_or.status().ToString());
  const models::MorphableModel& model = model_or.value();
  FaceParams params;
  if (!FLAGS_params.empty()) {
    auto p = ReadFaceParamsJson(FLAGS_params);
    if (!p.ok()) return Fail(p.status().ToString());
    params = p.value();
    const Status sizes = params.CheckSizes(model.num_identity(), model.num_expression(),
                                           model.num_albedo(), FLAGS_params);
    if (!sizes.ok()) return Fail(sizes.ToString());
  } else {
    if (FLAGS_width <= 0 || FLAGS_height <= 0) return Fail("--width and --height must be > 0");
    // Frontal mean face: focal = 2 * max side; distance so the mean shape's bounding box fills
    // ~85% of the smaller side.
    const auto box = models::BoundingBox(model.shape_mean);
    const double extent = std::max(box[3] - box[0], box[4] - box[1]);
    const double focal = 2.0 * std::max(FLAGS_width, FLAGS_height);
    const double distance =
        box[5] + focal * extent / (0.85 * std::min(FLAGS_width, FLAGS_height));
    params = FaceParams::Frontal(model.num_identity(), model.num_expression(), model.num_albedo(),
                                 FLAGS_width, FLAGS_height, focal, distance);
    // Centre the bounding box: shift by the box centre seen through the frontal flip.
    params.translation.x() = -0.5 * (box[0] + box[3]);
    params.translation.y() = 0.5 * (box[1] + box[4]);
    params.translation.z() = distance;
    // Default light: Deep3DFaceRecon's ambient 0.8 plus a soft key light from the front and
    // above (band 2 is +z, band 1 is -y in the view frame), so the face reads as 3D.
    for (int c = 0; c < 3; ++c) {
      params.lighting[c * kNumShBands + 1] = -0.06;
      params.lighting[c * kNumShBands + 2] = 0.12;
    }
  }
  ThreadPool pool(FLAGS_threads);
  auto r_or = render::Render(model, params, render::RenderOptions(), &pool);
  if (!r_or.ok()) return Fail(r_or.status().ToString());
  const render::RenderResult& r = r_or.value();
  const int w = r.width, h = r.height;
  const std::string dir = FLAGS_output_dir + "/";
  if (Status made = MakeDirectories(FLAGS_output_dir); !made.ok()) return Fail(made.message());
  std::stringstream list(FLAGS_channels);
  std::string ch;
  while (std::getline(list, ch, ',')) {
    Status s = OkStatus();
    if (ch == "image") {
      s = io::WriteImage(dir + "image.png", ToBgr8(r.image, w, h, 1.0f, 0.0f));
    } else if (ch == "albedo" || ch == "shading") {
      s = io::WriteImage(dir + ch + ".png",
                         ToBgr8(ch == "albedo" ? r.albedo : r.shading, w, h, 1.0f, 0.0f));
    } else if (ch == "normals") {  // (n + 1) / 2, view frame, 0 on background
      std::vector<float> n = r.normals;
      for (size_t i = 0; i < r.mask.size(); ++i) {
        if (!r.mask[i]) n[3 * i] = n[3 * i + 1] = n[3 * i + 2] = -1.0f;
      }
      s = io::WriteImage(dir + "normals.png", ToBgr8(n, w, h, 0.5f, 1.0f));
    } else if (ch == "mask" || ch == "specular") {
      cv::Mat m(h, w, CV_8UC1);
      for (int i = 0; i < w * h; ++i) {
        const float v = ch == "mask" ? r.mask[i] : std::min(1.0f, r.specular[i]);
        m.data[i] = static_cast<uint8_t>(std::lround(255.0f * v));
      }
      s = io::WriteImage(dir + ch + ".png", m);
    } else if (ch == "depth") {  // 16-bit, value = depth_mm * scale, 0 = background
      float far = 0.0f;
      for (size_t i = 0; i < r.mask.size(); ++i) {
        if (r.mask[i]) far = std::max(far, r.visibility.depth[i]);
      }
      const double scale = far > 0.0f ? 65535.0 / far : 1.0;
      cv::Mat d(h, w, CV_16UC1, cv::Scalar(0));
      for (int i = 0; i < w * h; ++i) {
        if (r.mask[i]) {
          reinterpret_cast<uint16_t*>(d.data)[i] =
              static_cast<uint16_t>(std::lround(r.visibility.depth[i] * scale));
        }
      }
      s = io::WriteImage(dir + "depth.png", d);
      if (s.ok()) {
        s = WriteFileAtomically(dir + "depth.json",
                                "{\"units_per_mm\": " + std::to_string(scale) +
                                    ", \"background\": 0, \"depth\": \"camera z, mm\"}\n");
      }
    } else if (ch == "landmarks") {
      std::string text = "# u v visible (0-based px; pixel (0,0) = centre of the top-left)\n";
      for (int k = 0; k < r.landmarks.cols(); ++k) {
        text += std::to_string(r.landmarks(0, k)) + " " + std::to_string(r.landmarks(1, k)) + " " +
                (r.landmark_visible[k] ? "1" : "0") + "\n";
      }
      s = WriteFileAtomically(dir + "landmarks.txt", text);
    } else {
      return Fail("unknown channel '" + ch + "' in --channels");
    }
    if (!s.ok()) return Fail(s.ToString());
  }
  Eigen::VectorXf vertices;
  model.EvaluateShape(params.identity.cast<float>(), params.expression.cast<float>(), &vertices);
  const Status obj = io::WriteObj(dir + "mesh.obj", vertices, model.triangles);
  if (!obj.ok()) return Fail(obj.ToString());
  std::cout << "rendered " << w << "x" << h << ", " << r.visibility.num_covered()
            << " face pixels, into " << FLAGS_output_dir << "\n";
  return 0;
}

}  // namespace morphfit::app
