// `morphfit demo`: the main job on bundled defaults. Today it loads the sample model through
// the model loader, describes it, renders a contact sheet (looks, poses, expressions, random
// identities and albedos), and writes the mean mesh, an example FaceParams record and the
// model description; then fits a face rendered with known parameters (printing the recovery
// error) and a real portrait detected with dlib (demo_fit.h). Later issues extend it to
// synthesise and regress.
#include <iostream>
#include <string>
#include <vector>

#include "commands.h"
#include "common_flags.h"
#include "demo_fit.h"
#include "model_report.h"
#include "morphfit/core/face_params.h"
#include "morphfit/core/file_util.h"
#include "morphfit/core/rng.h"
#include "morphfit/io/image.h"
#include "morphfit/io/mesh_io.h"
#include "morphfit/models/sample_model.h"
#include "morphfit/render/preview.h"

#include <opencv2/imgproc.hpp>

DEFINE_int32(demo_size, 256, "Side of each rendered tile in the demo's contact sheet (pixels).");

namespace morphfit::app {
namespace {

using render::PreviewOptions;

constexpr uint64_t kDemoSeed = 2026;

struct Tile {
  cv::Mat image;
  std::string caption;
};

class DemoRenderer {
 public:
  DemoRenderer(const models::MorphableModel& model, int size) : model_(model), size_(size) {}

  Tile Render(const Eigen::VectorXf& alpha, const Eigen::VectorXf& beta,
              const Eigen::VectorXf& gamma, double yaw, PreviewOptions::Mode mode,
              const std::string& caption) const {
    Eigen::VectorXf vertices, colors;
    model_.EvaluateShape(alpha, beta, &vertices);
    const bool has_colour = model_.albedo_mean.size() > 0;
    if (has_colour) model_.EvaluateAlbedo(gamma, &colors);
    PreviewOptions o;
    o.width = o.height = size_;
    o.yaw_deg = yaw;
    o.mode = mode;
    return {render::RenderPreview(vertices, model_.triangles, has_colour ? &colors : nullptr, o),
            caption};
  }

 private:
  const models::MorphableModel& model_;
  int size_;
};

}  // namespace

int RunDemo() {
  const std::string out_dir = FLAGS_output_dir.empty() ? "demo_out" : FLAGS_output_dir;
  if (FLAGS_demo_size < 64 || FLAGS_demo_size > 2048) {
    std::cerr << "morphfit demo: --demo_size must be in 64..2048, got " << FLAGS_demo_size << "\n";
    return 2;
  }
  auto model_or = LoadModelFromFlags();
  if (!model_or.ok()) {
    std::cerr << "morphfit demo: " << model_or.status().message() << "\n";
    return 1;
  }
  const models::MorphableModel& m = *model_or;
  std::cout << DescribeModelText(m) << "\n";
  Status s = MakeDirectories(out_dir);
  if (!s.ok()) {
    std::cerr << "morphfit demo: " << s.message() << "\n";
    return 1;
  }
  auto path = [&](const std::string& name) { return out_dir + "/" + name; };
  std::vector<std::string> written;
  auto record = [&](const std::string& name, const Status& status) {
    if (!status.ok()) {
      std::cerr << "morphfit demo: " << status.message() << "\n";
      return false;
    }
    written.push_back(path(name));
    return true;
  };

  // Contact sheet.
  const Eigen::VectorXf a0 = Eigen::VectorXf::Zero(m.num_identity());
  const Eigen::VectorXf b0 = Eigen::VectorXf::Zero(m.num_expression());
  const Eigen::VectorXf g0 = Eigen::VectorXf::Zero(m.num_albedo());
  const DemoRenderer r(m, FLAGS_demo_size);
  using Mode = PreviewOptions::Mode;
  std::vector<Tile> tiles = {
      r.Render(a0, b0, g0, 0, Mode::kShaded, "mean, shaded"),
      r.Render(a0, b0, g0, 0, Mode::kNormals, "normal map"),
      r.Render(a0, b0, g0, 0, Mode::kDepth, "depth"),
      r.Render(a0, b0, g0, -45, Mode::kShaded, "yaw -45"),
      r.Render(a0, b0, g0, 70, Mode::kShaded, "yaw +70"),
  };
  // Expressions by mode name (every mode containing the key, e.g. both eyes), at the sample
  // model's "full" coefficient.
  struct Expr { const char* key; const char* caption; };
  for (const Expr& e : {Expr{"jaw_open", "jaw open"}, Expr{"smile", "smile"},
                        Expr{"eye_close", "eyes closed"}, Expr{"brow_raise", "brows raised"},
                        Expr{"pucker", "pucker"}}) {
    Eigen::VectorXf beta = b0;
    for (size_t i = 0; i < m.expression.names.size(); ++i) {
      if (m.expression.names[i].find(e.key) != std::string::npos) {
        beta[i] = models::kSampleExpressionFullCoefficient;
      }
    }
    if (beta.isZero()) continue;
    tiles.push_back(r.Render(a0, beta, g0, 0, Mode::kShaded, e.caption));
  }
  for (int i = 0; i < 5; ++i) {
    Rng rng = RngFor(kDemoSeed, i);
    Eigen::VectorXf alpha(m.num_identity()), gamma(m.num_albedo());
    for (int k = 0; k < alpha.size(); ++k) alpha[k] = static_cast<float>(rng.Normal());
    for (int k = 0; k < gamma.size(); ++k) gamma[k] = static_cast<float>(rng.Normal());
    tiles.push_back(r.Render(alpha, b0, gamma, i % 2 ? 25 : -20, Mode::kShaded,
                             "random face " + std::to_string(i + 1)));
  }
  std::vector<cv::Mat> images;
  std::vector<std::string> captions;
  for (Tile& t : tiles) {
    images.push_back(t.image);
    captions.push_back(t.caption);
  }
  if (!record("sample_face.png",
              io::WriteImage(path("sample_face.png"), render::MakeContactSheet(images, captions, 5)))) {
    return 1;
  }

  // The 68 landmarks on the mean face, numbered in iBUG order.
  if (m.num_landmarks() > 0) {
    Eigen::VectorXf colors;
    if (m.albedo_mean.size() > 0) m.EvaluateAlbedo(g0, &colors);
    PreviewOptions o;
    o.width = o.height = 2 * FLAGS_demo_size;
    cv::Mat image = render::RenderPreview(m.shape_mean, m.triangles, colors.size() ? &colors : nullptr, o);
    const Eigen::Matrix2Xd points = render::ProjectPreview(m.shape_mean, m.landmarks, o);
    const double scale = o.width / 512.0;
    for (Eigen::Index i = 0; i < points.cols(); ++i) {
      const cv::Point2d p(points(0, i), points(1, i));
      cv::circle(image, p, std::max(2, static_cast<int>(3 * scale)), cv::Scalar(0, 255, 0), -1,
                 cv::LINE_AA);
      cv::putText(image, std::to_string(i), p + cv::Point2d(4, -3), cv::FONT_HERSHEY_SIMPLEX,
                  0.3 * scale, cv::Scalar(255, 255, 255), 1, cv::LINE_AA);
    }
    if (!record("landmarks.png", io::WriteImage(path("landmarks.png"), image))) return 1;
  }

  // Mean mesh with its albedo.
  Eigen::VectorXf colors;
  if (m.albedo_mean.size() > 0) m.EvaluateAlbedo(g0, &colors);
  const Eigen::VectorXf* colors_ptr = colors.size() ? &colors : nullptr;
  if (!record("mean_face.obj", io::WriteObj(path("mean_face.obj"), m.shape_mean, m.triangles, colors_ptr)) ||
      !record("mean_face.ply", io::WritePly(path("mean_face.ply"), m.shape_mean, m.triangles, colors_ptr))) {
    return 1;
  }

  // An example FaceParams record: the neutral face in a Deep3DFaceRecon-style 224 crop
  // (focal 1015 px, camera 1 m away; FORMATS.md section 3 puts it at 10 dm).
  FaceParams params = FaceParams::Frontal(m.num_identity(), m.num_expression(), m.num_albedo(),
                                          224, 224, 1015.0, 1000.0);
  params.model = m.name;
  if (!record("face_params.json", WriteFaceParamsJson(path("face_params.json"), params)) ||
      !record("model_info.json", WriteFileAtomically(path("model_info.json"), DescribeModelJson(m)))) {
    return 1;
  }
  // Fits: the synthetic face with known parameters and the portrait (dlib + fit).
  if (Status fits = RunDemoFits(m, out_dir, kDemoPortrait, &written); !fits.ok()) {
    std::cerr << "morphfit demo: " << fits.message() << "\n";
    return 1;
  }
  std::cout << "\nwrote:\n";
  for (const std::string& w : written) std::cout << "  " << w << "\n";
  std::cout << "the demo's outputs are in " << out_dir << "/ (fits under " << out_dir << "/fit/faces)\n";
  return 0;
}

}  // namespace morphfit::app
