// `morphfit eval`: landmark NME of a `morphfit fit` run against ground-truth .pts files, per
// face and per subset (300-W common / challenging / full when the folder layout shows them),
// with a cumulative error distribution (CED) plot and a table. With --eval_landmarks input it
// scores the landmarks the fit was given (dlib's own, for a run made with --landmarks dlib).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <limits>
#include <map>
#include <regex>
#include <string>
#include <vector>

#include <gflags/gflags.h>
#include <opencv2/imgproc.hpp>

#include "commands.h"
#include "common_flags.h"
#include "fit_outputs.h"
#include "morphfit/core/face_params.h"
#include "morphfit/core/file_util.h"
#include "morphfit/io/image.h"
#include "morphfit/io/pts.h"

DEFINE_string(fits, "",
              "Output folder of `morphfit fit` (eval: one folder, its summary.csv or shard "
              "summaries; merge: comma-separated folders holding the shard outputs).");
DEFINE_string(ground_truth, "",
              "Folder with the ground-truth .pts files in the layout of the fitted input "
              "(SOURCE.pts, or SOURCE_fK.pts for several faces per photo).");
DEFINE_string(normalisation, "outer_eye",
              "NME normaliser: 'outer_eye' (distance of points 36 and 45, 300-W's), "
              "'inter_pupil' (distance of the eye centres, means of 36-41 and 42-47) or 'bbox' "
              "(sqrt of the ground-truth box's width x height, used for AFLW2000-3D).");
DEFINE_string(eval_landmarks, "fitted",
              "Which landmarks to score: 'fitted' (the model's projected landmarks, landmarks_2d "
              "of each face's JSON) or 'input' (the landmarks the fit used: detected ones for a "
              "run with --landmarks dlib).");
DEFINE_double(ced_max, 0.08, "NME threshold for the AUC and failure rate, and the CED plot's "
                             "x range (0.08 is 300-W's convention).");

namespace morphfit::app {
namespace {

namespace fs = std::filesystem;

int Fail(const std::string& message) {
  std::cerr << "morphfit eval: " << message << "\n";
  return 1;
}

struct Scored {
  std::string gt;      // ground-truth file, relative (SOURCE.pts or SOURCE_fK.pts)
  std::string source;
  std::string face;    // matched face id or "" when missed
  double nme = std::numeric_limits<double>::infinity();
  std::vector<std::string> subsets;
};

double Normaliser(const Eigen::Matrix2Xd& gt, const std::string& kind) {
  if (kind == "outer_eye") return (gt.col(36) - gt.col(45)).norm();
  if (kind == "inter_pupil") {
    const Eigen::Vector2d left = gt.middleCols(36, 6).rowwise().mean();
    const Eigen::Vector2d right = gt.middleCols(42, 6).rowwise().mean();
    return (left - right).norm();
  }
  const Eigen::Vector2d size = gt.rowwise().maxCoeff() - gt.rowwise().minCoeff();
  return std::sqrt(size.x() * size.y());
}

std::vector<std::string> SubsetsOf(const std::string& source) {
  std::vector<std::string> s = {"all"};
  const size_t slash = source.find('/');
  if (slash != std::string::npos) s.push_back(source.substr(0, slash));
  auto starts = [&](const char* p) { return source.rfind(p, 0) == 0; };
  const bool common = starts("lfpw/testset/") || starts("helen/testset/");
  const bool challenging = starts("ibug/");
  if (common) s.push_back("300W common");
  if (challenging) s.push_back("300W challenging");
  if (common || challenging) s.push_back("300W full");
  if (starts("300W/")) s.push_back("300W private");
  return s;
}

struct SubsetStats {
  std::string name;
  int n = 0, missed = 0;
  double mean = 0.0, median = 0.0, auc = 0.0, failure = 0.0;
  std::vector<double> sorted;  // NMEs, missed as +inf
};

SubsetStats Stats(const std::string& name, std::vector<double> nmes, double max) {
  SubsetStats s;
  s.name = name;
  std::sort(nmes.begin(), nmes.end());
  s.sorted = nmes;
  s.n = static_cast<int>(nmes.size());
  std::vector<double> found;
  for (double v : nmes) {
    if (std::isfinite(v)) found.push_back(v); else ++s.missed;
  }
  for (double v : found) s.mean += v / found.size();
  const size_t nf = found.size();
  s.median = nf == 0 ? std::nan("") : nf % 2 ? found[nf / 2] : 0.5 * (found[nf / 2 - 1] + found[nf / 2]);
  int failures = 0;
  for (double v : nmes) failures += !(v <= max);
  s.failure = s.n ? static_cast<double>(failures) / s.n : 0.0;
  // AUC of the CED up to `max`, normalised to 1: mean over faces of max(0, 1 - nme / max).
  for (double v : nmes) s.auc += (std::isfinite(v) ? std::max(0.0, 1.0 - v / max) : 0.0) / s.n;
  return s;
}

cv::Mat CedPlot(const std::vector<SubsetStats>& subsets, double max, const std::string& title) {
  const int W = 720, H = 520, left = 70, right = 240, top = 40, bottom = 60;
  cv::Mat img(H, W, CV_8UC3, cv::Scalar(255, 255, 255));
  const int pw = W - left - right, ph = H - top - bottom;
  auto X = [&](double v) { return left + static_cast<int>(std::lround(v / max * pw)); };
  auto Y = [&](double f) { return top + static_cast<int>(std::lround((1.0 - f) * ph)); };
  const cv::Scalar grey(210, 210, 210), black(0, 0, 0);
  for (int i = 0; i <= 8; ++i) {
    const double v = max * i / 8;
    cv::line(img, {X(v), Y(0)}, {X(v), Y(1)}, grey);
    char label[32];
    std::snprintf(label, sizeof(label), "%.3g", v);
    cv::putText(img, label, {X(v) - 12, Y(0) + 18}, cv::FONT_HERSHEY_SIMPLEX, 0.4, black, 1, cv::LINE_AA);
  }
  for (int i = 0; i <= 10; ++i) {
    const double f = i / 10.0;
    cv::line(img, {X(0), Y(f)}, {X(max), Y(f)}, grey);
    char label[32];
    std::snprintf(label, sizeof(label), "%.1f", f);
    cv::putText(img, label, {left - 32, Y(f) + 4}, cv::FONT_HERSHEY_SIMPLEX, 0.4, black, 1, cv::LINE_AA);
  }
  cv::rectangle(img, {X(0), Y(1)}, {X(max), Y(0)}, black);
  cv::putText(img, "NME", {left + pw / 2 - 15, H - 18}, cv::FONT_HERSHEY_SIMPLEX, 0.5, black, 1, cv::LINE_AA);
  cv::putText(img, "fraction of faces", {8, top - 12}, cv::FONT_HERSHEY_SIMPLEX, 0.45, black, 1, cv::LINE_AA);
  {
    // The title centred over the plot, clear of the y-axis label on its left.
    int baseline = 0;
    const int axis_label_end =
        8 + cv::getTextSize("fraction of faces", cv::FONT_HERSHEY_SIMPLEX, 0.45, 1, &baseline).width;
    const int title_width = cv::getTextSize(title, cv::FONT_HERSHEY_SIMPLEX, 0.5, 1, &baseline).width;
    const int title_x = std::max(axis_label_end + 20, left + pw / 2 - title_width / 2);
    cv::putText(img, title, {title_x, top - 12}, cv::FONT_HERSHEY_SIMPLEX, 0.5, black, 1, cv::LINE_AA);
  }
  const cv::Scalar colours[] = {{200, 80, 30}, {30, 30, 210}, {40, 160, 40}, {160, 40, 160},
                                {0, 140, 220}, {120, 120, 0}, {90, 90, 90}};
  int legend_y = top + 10;
  for (size_t s = 0; s < subsets.size(); ++s) {
    const SubsetStats& st = subsets[s];
    if (st.n == 0) continue;
    const cv::Scalar c = colours[s % 7];
    // Step function: after the i-th smallest NME, (i + 1) / n of the faces are at or below.
    std::vector<cv::Point> pts = {{X(0), Y(0)}};
    double frac = 0.0;
    for (size_t i = 0; i < st.sorted.size(); ++i) {
      const double v = st.sorted[i];
      if (!(v <= max)) break;
      pts.push_back({X(v), Y(frac)});
      frac = static_cast<double>(i + 1) / st.n;
      pts.push_back({X(v), Y(frac)});
    }
    pts.push_back({X(max), Y(frac)});
    cv::polylines(img, pts, false, c, 2, cv::LINE_AA);
    char label[128];
    std::snprintf(label, sizeof(label), "%s (n=%d, AUC %.3f)", st.name.c_str(), st.n, st.auc);
    cv::line(img, {W - right + 10, legend_y}, {W - right + 30, legend_y}, c, 2, cv::LINE_AA);
    cv::putText(img, label, {W - right + 35, legend_y + 4}, cv::FONT_HERSHEY_SIMPLEX, 0.38, black, 1,
                cv::LINE_AA);
    legend_y += 18;
  }
  return img;
}

StatusOr<std::vector<FaceRecord>> ReadRunRecords(const std::string& dir) {
  const std::string whole = dir + "/summary.csv";
  if (FileExists(whole)) return ReadSummaryCsv(whole);
  std::vector<FaceRecord> all;
  const std::regex shard_name(R"(summary\.shard-\d+-of-\d+\.csv)");
  std::error_code ec;
  std::filesystem::directory_iterator it(dir, ec), end;
  if (ec) return NotFoundError("--fits '" + dir + "': " + ec.message());
  std::vector<std::string> files;
  for (; it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (std::regex_match(name, shard_name)) files.push_back(dir + "/" + name);
  }
  if (files.empty()) {
    return NotFoundError("--fits '" + dir + "' has no summary.csv (nor shard summaries): is it "
                         "the --output_dir of `morphfit fit`?");
  }
  std::sort(files.begin(), files.end());
  for (const std::string& f : files) {
    MORPHFIT_ASSIGN_OR_RETURN(auto part, ReadSummaryCsv(f));
    all.insert(all.end(), part.begin(), part.end());
  }
  return all;
}

}  // namespace

int RunEval() {
  if (FLAGS_fits.empty()) return Fail("--fits is required (the --output_dir of `morphfit fit`)");
  if (FLAGS_ground_truth.empty()) return Fail("--ground_truth is required (a folder of .pts)");
  if (!FileExists(FLAGS_ground_truth)) return Fail("--ground_truth '" + FLAGS_ground_truth + "' does not exist");
  const std::string& norm = FLAGS_normalisation;
  if (norm != "outer_eye" && norm != "inter_pupil" && norm != "bbox") {
    return Fail("--normalisation must be outer_eye, inter_pupil or bbox, got '" + norm + "'");
  }
  const bool use_input = FLAGS_eval_landmarks == "input";
  if (!use_input && FLAGS_eval_landmarks != "fitted") {
    return Fail("--eval_landmarks must be fitted or input, got '" + FLAGS_eval_landmarks + "'");
  }
  if (!(FLAGS_ced_max > 0.0 && FLAGS_ced_max <= 1.0)) return Fail("--ced_max must be in (0, 1]");
  auto records_or = ReadRunRecords(FLAGS_fits);
  if (!records_or.ok()) return Fail(records_or.status().message());

  // Faces per photo, with the landmarks to score.
  std::map<std::string, std::vector<std::pair<std::string, Eigen::Matrix2Xd>>> faces;
  for (const FaceRecord& r : *records_or) {
    auto& list = faces[r.source];
    const std::string input_pts = FacePath(FLAGS_fits, r.id, ".landmarks.pts");
    // Input landmarks count wherever they were written (also for a face whose fit failed).
    if (use_input ? !FileExists(input_pts) : !r.has_params()) continue;
    Eigen::Matrix2Xd points;
    if (use_input) {
      auto p = io::ReadPts(input_pts);
      if (!p.ok()) return Fail(p.status().message());
      points = *p;
    } else {
      auto p = ReadFaceParamsJson(FacePath(FLAGS_fits, r.id, ".json"));
      if (!p.ok()) return Fail(p.status().message());
      if (p->landmarks_2d.cols() != 68) {
        return Fail(FacePath(FLAGS_fits, r.id, ".json") + " has no 68 landmarks_2d");
      }
      points = p->landmarks_2d;
    }
    list.emplace_back(r.id, std::move(points));
  }
  // Every ground-truth file of every photo the run saw; each matched to the nearest face.
  std::vector<Scored> scored;
  int skipped = 0;
  for (const auto& [source, list] : faces) {
    std::vector<std::string> gts;
    if (FileExists(FLAGS_ground_truth + "/" + source + ".pts")) {
      gts.push_back(source + ".pts");
    } else {
      for (int k = 0; FileExists(FLAGS_ground_truth + "/" + source + "_f" + std::to_string(k) + ".pts"); ++k) {
        gts.push_back(source + "_f" + std::to_string(k) + ".pts");
      }
    }
    for (const std::string& g : gts) {
      auto truth = io::ReadPts(FLAGS_ground_truth + "/" + g);
      if (!truth.ok()) {  // an unusable ground truth is left out, loudly
        std::cerr << "morphfit eval: skipped: " << truth.status().message() << "\n";
        ++skipped;
        continue;
      }
      Scored s;
      s.gt = g;
      s.source = source;
      s.subsets = SubsetsOf(source);
      const double d = Normaliser(*truth, norm);
      if (!(d > 0.0)) return Fail(FLAGS_ground_truth + "/" + g + ": the " + norm + " normaliser is 0");
      const Eigen::Vector2d size = truth->rowwise().maxCoeff() - truth->rowwise().minCoeff();
      double best = std::numeric_limits<double>::infinity();
      for (const auto& [id, points] : list) {
        const double mean = (points - *truth).colwise().norm().mean();
        // A face counts as this ground truth's only if it lies on it (mean error below half
        // the face size); otherwise the detector missed this face.
        if (mean < 0.5 * size.norm() && mean < best) {
          best = mean;
          s.face = id;
        }
      }
      s.nme = best / d;
      scored.push_back(std::move(s));
    }
  }
  if (scored.empty()) {
    return Fail("no ground truth found: none of the " + std::to_string(faces.size()) +
                " photos of " + FLAGS_fits + " has SOURCE.pts or SOURCE_f0.pts under " +
                FLAGS_ground_truth);
  }
  std::map<std::string, std::vector<double>> by_subset;
  std::vector<std::string> subset_order;
  for (const Scored& s : scored) {
    for (const std::string& name : s.subsets) {
      if (!by_subset.count(name)) subset_order.push_back(name);
      by_subset[name].push_back(s.nme);
    }
  }
  std::sort(subset_order.begin(), subset_order.end(), [](const std::string& a, const std::string& b) {
    if ((a == "all") != (b == "all")) return a == "all";
    return a < b;
  });
  std::vector<SubsetStats> stats;
  for (const std::string& name : subset_order) stats.push_back(Stats(name, by_subset[name], FLAGS_ced_max));

  const std::string out_dir = FLAGS_output_dir.empty() ? FLAGS_fits + "/eval" : FLAGS_output_dir;
  if (Status s = MakeDirectories(out_dir); !s.ok()) return Fail(s.message());
  std::string per_face = "ground_truth,source,face,nme\n";
  for (const Scored& s : scored) {
    char nme[32];
    std::snprintf(nme, sizeof(nme), "%.6g", s.nme);
    per_face += s.gt + "," + s.source + "," + s.face + "," + (std::isfinite(s.nme) ? nme : "inf") + "\n";
  }
  char threshold[16];
  std::snprintf(threshold, sizeof(threshold), "%g", FLAGS_ced_max);
  std::string table = std::string("subset,faces,missed,mean_nme,median_nme,auc_") + threshold +
                      ",failure_rate_" + threshold + "\n";
  for (const SubsetStats& s : stats) {
    char line[256];
    std::snprintf(line, sizeof(line), "%s,%d,%d,%.6f,%.6f,%.6f,%.6f\n", s.name.c_str(), s.n,
                  s.missed, s.mean, s.median, s.auc, s.failure);
    table += line;
  }
  const std::string title = std::string(use_input ? "input" : "fitted") + " landmarks, NME (" + norm + ")";
  for (const auto& [name, status] :
       {std::pair{std::string("eval.csv"), WriteFileAtomically(out_dir + "/eval.csv", per_face)},
        std::pair{std::string("eval_summary.csv"), WriteFileAtomically(out_dir + "/eval_summary.csv", table)},
        std::pair{std::string("ced.png"), io::WriteImage(out_dir + "/ced.png", CedPlot(stats, FLAGS_ced_max, title))}}) {
    if (!status.ok()) return Fail(name + ": " + status.message());
  }
  std::printf("%s\n%-20s %6s %6s %10s %10s %8s %8s\n", title.c_str(), "subset", "faces", "missed",
              "mean NME", "median", "AUC", "fail");
  for (const SubsetStats& s : stats) {
    std::printf("%-20s %6d %6d %10.4f %10.4f %8.4f %8.4f\n", s.name.c_str(), s.n, s.missed, s.mean,
                s.median, s.auc, s.failure);
  }
  std::printf("(AUC and failure rate at NME %s; missed faces count as failures)\n", threshold);
  if (skipped > 0) std::printf("%d unreadable ground-truth files skipped (see above)\n", skipped);
  std::printf("wrote %s/eval.csv, %s/eval_summary.csv and %s/ced.png\n", out_dir.c_str(),
              out_dir.c_str(), out_dir.c_str());
  return 0;
}

}  // namespace morphfit::app
