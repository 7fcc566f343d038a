// `morphfit fit`: batch-fits a folder of photos (300-W layout or any), an image or a list.
// Per photo: read (EXIF orientation applied), landmarks from NAME.pts / NAME_fK.pts or dlib
// detection, one landmark fit per face; per face: FaceParams JSON, overlay PNG, mesh, the
// landmarks used; per run: fits.h5, summary.csv. Restartable (--resume) and shardable
// (--shard K/N); failures are recorded with their reason and the run goes on.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <gflags/gflags.h>
#include <opencv2/imgproc.hpp>

#include "commands.h"
#include "common_flags.h"
#include "fit_job.h"
#include "fit_outputs.h"
#include "morphfit/core/file_util.h"
#include "morphfit/core/progress.h"
#include "morphfit/core/shard.h"
#include "morphfit/core/thread_pool.h"

DEFINE_string(input, "",
              "What to fit: a folder (walked recursively, e.g. the 300-W layout; each NAME.jpg|png "
              "with NAME.pts or NAME_f0.pts, NAME_f1.pts, ...), one image file, or a text file "
              "listing image paths (one per line, relative to the list's folder, '#' comments).");
DEFINE_string(landmarks, "auto",
              "Where the 68 landmarks come from: 'pts' (NAME.pts / NAME_fK.pts beside the image; "
              "a photo without one fails), 'dlib' (detect every face, dlib HOG + shape predictor "
              "with upsampling and OpenCV cascade retries), 'auto' (pts when present, else dlib).");
DEFINE_string(stages, "landmarks",
              "Fitting stages: 'landmarks' (pose, identity, expression from the 68 landmarks) or "
              "'photometric' (landmarks, then albedo, lighting and all else from the pixels).");
DEFINE_string(photometric_solver, "gauss_newton",
              "Solver of the photometric stage: 'gauss_newton' (the own solver on the fused JtJ, "
              "fast) or 'ceres' (Levenberg-Marquardt on the explicit pixel rows, the reference).");
DEFINE_int32(batch, 1,
             "Photometric stage: photos fitted N at a time, their faces' photometric stages as "
             "one batch (the own Gauss-Newton of all faces in lock-step, each face with its own "
             "damping, line search and convergence; with --device cuda every round's normal "
             "equations of all faces in one GPU call and their Cholesky solves in another). "
             "1 (the default): each photo on its own, photos in parallel over --threads. N > 1 "
             "needs --stages photometric and --photometric_solver gauss_newton; a face's "
             "time_s then includes waiting for its batch. Results per face are the same either "
             "way on the CPU.");
DEFINE_string(landmark_solver, "gn",
              "Solver of the landmark stages: 'gn' (the own Levenberg-Marquardt on the dense "
              "normal equations, the default, about 3x faster) or 'ceres' (Ceres, the reference; "
              "both reach the same cost).");
DEFINE_string(focal, "auto",
              "Pinhole focal length in pixels of the original photo: 'auto' (the default: starts "
              "at 2 x max(width, height), a ~28 degree field of view, and is estimated in the last "
              "landmark stage and the last photometric stage) or a number > 0 (held fixed, e.g. "
              "from the camera's EXIF/calibration). Fixing it converges in fewer iterations: the "
              "focal length and the face's distance trade off along a shallow valley.");
DEFINE_string(jaw, "contour",
              "Jaw landmarks: 'contour' (they follow the visible silhouette, as 300-W labels do) "
              "or 'fixed' (fixed model vertices, as AFLW2000-3D's projected 3D labels are).");
DEFINE_bool(resume, false,
            "Skip photos this shard already finished (the ledger in --output_dir); photos that "
            "failed are tried again.");
DEFINE_string(shape_predictor, "/usr/share/dlib/shape_predictor_68_face_landmarks.dat",
              "dlib 68-point shape predictor (Debian package libdlib-data).");
DEFINE_string(cascade_dir, "/usr/share/opencv4/haarcascades",
              "Folder with OpenCV's haarcascade_frontalface_alt2.xml and haarcascade_profileface.xml "
              "(Debian package opencv-data), the fallbacks when dlib finds no face; '' = off.");
DEFINE_string(mesh_format, "ply", "Per-face mesh: 'ply' (binary, vertex colours), 'obj' (vertex "
                                  "colours as extra v values) or 'none'.");
DEFINE_bool(overlay, true, "Write the per-face overlay PNG (rendered face over the photo, given "
                           "landmarks green, fitted landmarks red).");
DEFINE_bool(sfsnet, false, "Also write the rendered SfSNet channels per face: albedo, normals, "
                           "shading and mask PNGs at the photo's size.");

namespace morphfit::app {
namespace {

int Fail(const std::string& message) {
  std::cerr << "morphfit fit: " << message << "\n";
  return 1;
}

double Median(std::vector<double> v) {
  if (v.empty()) return std::nan("");
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

}  // namespace

int RunFit() {
  if (FLAGS_output_dir.empty()) return Fail("--output_dir is required");
  FitJobOptions job;
  {
    auto o = ParseFitJobFlags(FLAGS_landmarks, FLAGS_stages,
                              FLAGS_camera.empty() ? "pinhole" : FLAGS_camera, FLAGS_jaw, FLAGS_device,
                              FLAGS_mesh_format, FLAGS_photometric_solver,
                              FLAGS_landmark_solver);
    if (!o.ok()) return Fail(o.status().message());
    job = *o;
  }
  if (FLAGS_focal != "auto") {
    char* end = nullptr;
    const double focal = std::strtod(FLAGS_focal.c_str(), &end);
    if (FLAGS_focal.empty() || end == nullptr || *end != '\0' || !std::isfinite(focal) ||
        focal <= 0.0) {
      return Fail("--focal must be 'auto' or a focal length in pixels > 0, got '" + FLAGS_focal +
                  "'");
    }
    if (job.fit.camera_type != CameraType::kPinhole) {
      return Fail("--focal applies to the pinhole camera only (--camera weak has no focal length)");
    }
    job.fit.focal_px = focal;
    job.fit.estimate_focal = false;
    for (auto& stage : job.photometric_fit.stages) stage.focal = false;
  }
  if (FLAGS_batch < 1) return Fail("--batch must be >= 1, got " + std::to_string(FLAGS_batch));
  if (FLAGS_batch > 1 && !job.photometric) {
    return Fail("--batch " + std::to_string(FLAGS_batch) +
                " batches the photometric stage: it needs --stages photometric");
  }
  if (FLAGS_batch > 1 && job.photometric_fit.solver != fitters::PhotometricSolver::kGaussNewton) {
    return Fail("--batch " + std::to_string(FLAGS_batch) +
                " needs --photometric_solver gauss_newton (Ceres fits one face at a time)");
  }
  job.overlay = FLAGS_overlay;
  job.sfsnet = FLAGS_sfsnet;
  job.detector.shape_predictor_path = FLAGS_shape_predictor;
  job.detector.cascade_dir = FLAGS_cascade_dir;
  job.output_dir = FLAGS_output_dir;
  auto shard_or = ParseShard(FLAGS_shard);
  if (!shard_or.ok()) return Fail("--shard: " + shard_or.status().message());
  const Shard shard = *shard_or;

  auto photos_or = ListInputPhotos(FLAGS_input, FLAGS_output_dir);
  if (!photos_or.ok()) return Fail(photos_or.status().message());
  std::vector<InputPhoto> photos;
  for (size_t i = 0; i < photos_or->size(); ++i) {
    if (shard.Contains(static_cast<int64_t>(i))) photos.push_back((*photos_or)[i]);
  }
  if (photos_or->empty()) return Fail("--input '" + FLAGS_input + "' holds no image files");

  auto model_or = LoadModelFromFlags();
  if (!model_or.ok()) return Fail(model_or.status().message());
  const models::MorphableModel& model = *model_or;
  if (model.num_landmarks() != 68) {
    return Fail("model '" + FLAGS_model + "' has " + std::to_string(model.num_landmarks()) +
                " landmarks; fitting needs the 68 iBUG points (pass --landmark_map)");
  }
  if (job.fit.jaw_mode == fitters::JawMode::kContour) {
    int lines = 0;
    for (const auto& line : model.contour_candidates) lines += !line.empty();
    if (lines < 17) {
      return Fail("--jaw contour needs the model's 17 jaw-contour candidate lines; '" + FLAGS_model +
                  "' has " + std::to_string(lines) + " (use --jaw fixed)");
    }
  }
  if (Status s = MakeDirectories(FLAGS_output_dir + "/faces"); !s.ok()) return Fail(s.message());

  const std::string ledger_path =
      FLAGS_output_dir + "/" + RunFileName("ledger", "txt", shard);
  if (!FLAGS_resume && FileExists(ledger_path)) {
    // A fresh run starts a fresh ledger (atomically replaced by an empty one).
    if (Status s = WriteFileAtomically(ledger_path, ""); !s.ok()) return Fail(s.message());
  }
  auto ledger_or = ResumeLedger::Open(ledger_path);
  if (!ledger_or.ok()) return Fail(ledger_or.status().message());
  ResumeLedger& ledger = *ledger_or;

  std::vector<size_t> todo;
  for (size_t i = 0; i < photos.size(); ++i) {
    if (!ledger.IsDone(photos[i].source)) todo.push_back(i);
  }
  std::cerr << "morphfit fit: " << photos.size() << " photos in shard " << shard.ToString()
            << " of " << photos_or->size() << "; " << photos.size() - todo.size()
            << " already done, " << todo.size() << " to fit (" << model.name << ", "
            << FLAGS_stages << ", " << FLAGS_landmarks << " landmarks)\n";

  FitJob fit_job(model, job);
  if (job.landmarks == LandmarkSource::kDlib && !todo.empty()) {
    if (Status s = fit_job.PreloadDetector(); !s.ok()) return Fail(s.message());
  }
  ThreadPool pool(FLAGS_threads);
  ProgressReporter progress("fit", static_cast<int64_t>(todo.size()), &std::cerr);
  std::mutex error_mutex;
  Status fatal = OkStatus();
  const auto start = std::chrono::steady_clock::now();
  const auto record = [&](const InputPhoto& photo, const std::vector<FaceRecord>& records) {
    const bool ok = std::any_of(records.begin(), records.end(),
                                [](const FaceRecord& r) { return r.has_params(); });
    const Status s = ledger.Record(photo.source, ok, RecordsToJson(records));
    if (!s.ok()) {
      std::lock_guard<std::mutex> lock(error_mutex);
      if (fatal.ok()) fatal = s;
    }
    progress.Advance();
  };
  if (FLAGS_batch > 1) {
    for (size_t begin = 0; begin < todo.size(); begin += FLAGS_batch) {
      std::vector<InputPhoto> group;
      for (size_t k = begin; k < std::min(todo.size(), begin + FLAGS_batch); ++k) {
        group.push_back(photos[todo[k]]);
      }
      const std::vector<std::vector<FaceRecord>> records = fit_job.FitPhotosBatched(group, &pool);
      for (size_t k = 0; k < group.size(); ++k) record(group[k], records[k]);
    }
  } else {
    pool.ParallelFor(0, static_cast<int64_t>(todo.size()), [&](int64_t k) {
      const InputPhoto& photo = photos[todo[k]];
      record(photo, fit_job.FitPhoto(photo));
    });
  }
  progress.Finish();
  const double wall_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (!fatal.ok()) return Fail("could not record progress: " + fatal.message());

  // Gather every photo of this shard from the ledger (this run's and earlier ones').
  std::vector<FaceRecord> records;
  for (const InputPhoto& photo : photos) {
    auto r = RecordsFromJson(ledger.message(photo.source), ledger_path + " (" + photo.source + ")");
    if (!r.ok()) return Fail(r.status().message());
    for (FaceRecord& f : *r) records.push_back(std::move(f));
  }
  const std::string summary_path = FLAGS_output_dir + "/" + RunFileName("summary", "csv", shard);
  if (Status s = WriteFileAtomically(summary_path, SummaryCsv(records)); !s.ok()) {
    return Fail(s.message());
  }
  std::vector<std::string> ids;
  std::vector<FaceParams> rows;
  for (const FaceRecord& r : records) {
    if (!r.has_params()) continue;
    auto p = ReadFaceParamsJson(FacePath(FLAGS_output_dir, r.id, ".json"));
    if (!p.ok()) return Fail(p.status().message());
    ids.push_back(r.id);
    rows.push_back(std::move(*p));
  }
  const std::string fits_path = FLAGS_output_dir + "/" + RunFileName("fits", "h5", shard);
  if (!rows.empty()) {
    if (Status s = WriteFaceParamsTable(fits_path, ids, rows); !s.ok()) return Fail(s.message());
  }

  // Final table.
  int fitted = 0, converged = 0, failed = 0;
  std::vector<double> nmes;
  double face_time = 0.0;
  for (const FaceRecord& r : records) {
    if (r.has_params()) {
      ++fitted;
      converged += r.status == "ok";
      nmes.push_back(r.landmark_nme);
      face_time += r.time_s;
    } else {
      ++failed;
    }
  }
  double mean_nme = 0.0;
  for (double v : nmes) mean_nme += v / nmes.size();
  std::printf("\n%-34s %s\n", "photos in shard", std::to_string(photos.size()).c_str());
  std::printf("%-34s %d (%d converged)\n", "faces fitted", fitted, converged);
  std::printf("%-34s %d\n", "faces/photos failed", failed);
  if (!nmes.empty()) {
    std::printf("%-34s %.4f / %.4f\n", "landmark NME mean / median", mean_nme, Median(nmes));
    std::printf("%-34s %.3f s\n", "fit time per face (mean)", face_time / nmes.size());
  }
  std::printf("%-34s %.2f s for %zu photos (%.2f photos/s)\n", "this run (wall)", wall_s,
              todo.size(), todo.empty() ? 0.0 : todo.size() / wall_s);
  int shown = 0;
  for (const FaceRecord& r : records) {
    if (r.status != "failed") continue;
    if (shown++ == 0) std::printf("failures:\n");
    if (shown <= 10) std::printf("  %s: %s\n", r.id.c_str(), r.message.c_str());
  }
  if (shown > 10) std::printf("  ... %d more in %s\n", shown - 10, summary_path.c_str());
  std::printf("wrote %s%s and per-face outputs under %s/faces\n", summary_path.c_str(),
              rows.empty() ? "" : (" and " + fits_path).c_str(), FLAGS_output_dir.c_str());
  return 0;
}

}  // namespace morphfit::app
