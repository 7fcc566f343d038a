// `morphfit fit`, `eval` and `merge` end to end, as a user runs them, on a small folder the test
// writes itself: faces rendered from the sample model with known parameters and their .pts,
// in two sub-folders, plus a corrupt image and a .pts with 67 points. Checks: the fit recovers
// the landmarks and pose; failures are recorded with their reason while the run goes on;
// --resume skips finished photos; shards merge into the same table as one run; eval scores
// fitted and input landmarks and draws the CED plot.
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <Eigen/Geometry>
#include <gtest/gtest.h>

#include "cli_util.h"
#include "morphfit/core/face_params.h"
#include "morphfit/core/file_util.h"
#include "morphfit/io/image.h"
#include "morphfit/io/pts.h"
#include "morphfit/models/model_io.h"
#include "morphfit/render/renderer.h"

#include <opencv2/core.hpp>

namespace morphfit {
namespace {

namespace fs = std::filesystem;
using testing::RunMorphfit;

constexpr int kSize = 200;
constexpr double kDeg = M_PI / 180.0;

// A face of the sample model with random identity and expression, turned by `yaw_deg`,
// rendered into a kSize x kSize image.
FaceParams KnownFace(const models::MorphableModel& m, uint32_t seed, double yaw_deg) {
  FaceParams p = FaceParams::Frontal(m.num_identity(), m.num_expression(), m.num_albedo(), kSize,
                                     kSize, 2.0 * kSize, 500.0);
  std::mt19937 gen(seed);
  std::normal_distribution<double> normal(0.0, 1.0);
  for (int i = 0; i < p.identity.size(); ++i) p.identity[i] = 0.7 * normal(gen);
  for (int i = 0; i < p.expression.size(); ++i) p.expression[i] = 0.3 * normal(gen);
  for (int i = 0; i < p.albedo.size(); ++i) p.albedo[i] = 0.5 * normal(gen);
  const Eigen::Matrix3d R = Eigen::AngleAxisd(M_PI, Eigen::Vector3d::UnitX()).toRotationMatrix() *
                            Eigen::AngleAxisd(yaw_deg * kDeg, Eigen::Vector3d::UnitY()).toRotationMatrix();
  const Eigen::AngleAxisd aa(R);
  p.rotation = aa.axis() * aa.angle();
  p.translation = Eigen::Vector3d(5.0 * normal(gen), 5.0 * normal(gen), 500.0);
  for (int c = 0; c < 3; ++c) p.lighting[c * kNumShBands + 2] = 0.15;  // light from the front
  return p;
}

double RotationErrorDeg(const Eigen::Vector3d& a, const Eigen::Vector3d& b) {
  const Eigen::Matrix3d Ra = Eigen::AngleAxisd(a.norm(), a.normalized()).toRotationMatrix();
  const Eigen::Matrix3d Rb = Eigen::AngleAxisd(b.norm(), b.normalized()).toRotationMatrix();
  return Eigen::AngleAxisd(Ra.transpose() * Rb).angle() / kDeg;
}

std::string Read(const std::string& path) {
  auto s = ReadFileToString(path);
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  return s.ok() ? *s : "";
}

// The rows of a CSV (no quoted commas in what these tests read back) keyed by the first field.
std::map<std::string, std::vector<std::string>> CsvRows(const std::string& path) {
  std::map<std::string, std::vector<std::string>> rows;
  std::istringstream in(Read(path));
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    std::vector<std::string> fields;
    std::string field;
    std::istringstream fs_line(line);
    while (std::getline(fs_line, field, ',')) fields.push_back(field);
    if (!fields.empty()) rows[fields[0]] = fields;
  }
  return rows;
}

class CliFitTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    // One folder per process: ctest runs the tests of this suite in parallel processes.
    root_ = new fs::path(fs::path(::testing::TempDir()) /
                         ("morphfit_cli_fit_test_" + std::to_string(getpid())));
    fs::remove_all(*root_);
    const fs::path in = *root_ / "in";
    fs::create_directories(in / "set_a");
    fs::create_directories(in / "set_b");
    fs::create_directories(in / "bad");
    auto m = models::LoadModel(MORPHFIT_SAMPLE_MODEL);
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    truths_ = new std::map<std::string, FaceParams>();
    fs::create_directories(*root_ / "w300/lfpw/testset");
    fs::create_directories(*root_ / "w300/ibug");
    const std::vector<std::pair<std::string, double>> faces = {
        {"set_a/face0", -20.0}, {"set_a/face1", 10.0}, {"set_b/face2", 25.0}, {"set_b/face3", 0.0},
        {"bad/short", 5.0}, {"../w300/lfpw/testset/image_0001", 15.0}, {"../w300/ibug/image_0002", -10.0}};
    uint32_t seed = 1;
    for (const auto& [name, yaw] : faces) {
      FaceParams p = KnownFace(*m, seed++, yaw);
      auto r = render::Render(*m, p, render::RenderOptions(), nullptr);
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      cv::Mat bgr(kSize, kSize, CV_8UC3);
      for (int i = 0; i < kSize * kSize; ++i) {
        for (int c = 0; c < 3; ++c) {
          bgr.data[3 * i + 2 - c] = static_cast<uint8_t>(
              std::lround(255.0f * std::min(1.0f, std::max(0.0f, r->image[3 * i + c]))));
        }
      }
      ASSERT_TRUE(io::WriteImage((in / (name + ".png")).string(), bgr).ok());
      Eigen::Matrix2Xd points = r->landmarks;
      if (name == "bad/short") points.conservativeResize(2, 67);
      ASSERT_TRUE(io::WritePts((in / (name + ".pts")).string(), points).ok());
      p.landmarks_2d = r->landmarks;
      (*truths_)[name + "_f0"] = p;
    }
    // A corrupt image with a good .pts beside it.
    ASSERT_TRUE(WriteFileAtomically((in / "bad/corrupt.jpg").string(), "not a jpeg at all").ok());
    ASSERT_TRUE(io::WritePts((in / "bad/corrupt.pts").string(), (*truths_)["set_a/face0_f0"].landmarks_2d).ok());
  }
  static void TearDownTestSuite() {
    fs::remove_all(*root_);
    delete root_;
    delete truths_;
  }
  static std::string P(const std::string& rel) { return (*root_ / rel).string(); }
  static std::string FitArgs(const std::string& out) {
    return "fit --model sample --input " + P("in") + " --output_dir " + P(out) +
           " --landmarks pts --jaw fixed --threads 2";
  }
  static fs::path* root_;
  static std::map<std::string, FaceParams>* truths_;
};
fs::path* CliFitTest::root_ = nullptr;
std::map<std::string, FaceParams>* CliFitTest::truths_ = nullptr;

TEST_F(CliFitTest, FitEvalResume) {
  auto run = RunMorphfit(FitArgs("out"));
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_NE(run.output.find("6 photos in shard 0/1"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("faces fitted                       4"), std::string::npos) << run.output;

  // summary.csv: 4 fitted faces, the corrupt image and the 67-point .pts failed with reasons.
  const auto rows = CsvRows(P("out/summary.csv"));
  ASSERT_EQ(rows.size(), 6u);
  for (const char* id : {"set_a/face0_f0", "set_a/face1_f0", "set_b/face2_f0", "set_b/face3_f0"}) {
    ASSERT_TRUE(rows.count(id)) << id;
    const auto& f = rows.at(id);
    EXPECT_TRUE(f[3] == "ok" || f[3] == "not_converged") << id << " " << f[3];
    EXPECT_EQ(f[4], "pts");
    EXPECT_LT(std::stod(f[5]), 0.01) << id;  // landmark NME
    EXPECT_GT(std::stoi(f[7]), 0);           // iterations
    for (const char* suffix : {".json", ".overlay.png", ".ply", ".landmarks.pts"}) {
      EXPECT_TRUE(FileExists(P("out/faces/") + id + suffix)) << id << suffix;
    }
  }
  ASSERT_TRUE(rows.count("bad/corrupt"));
  EXPECT_EQ(rows.at("bad/corrupt")[3], "failed");
  EXPECT_NE(Read(P("out/summary.csv")).find("corrupt.jpg"), std::string::npos);
  ASSERT_TRUE(rows.count("bad/short"));
  EXPECT_EQ(rows.at("bad/short")[3], "failed");
  const std::string text = Read(P("out/summary.csv"));
  const std::string short_line = text.substr(text.find("\nbad/short,") + 1);
  EXPECT_NE(short_line.substr(0, short_line.find('\n')).find("67"), std::string::npos) << text;

  // fits.h5: one row per fitted face, named; the fit recovers landmarks and pose of the truth.
  auto table = ReadFaceParamsTable(P("out/fits.h5"));
  ASSERT_TRUE(table.ok()) << table.status().ToString();
  ASSERT_EQ(table->ids.size(), 4u);
  for (size_t i = 0; i < table->ids.size(); ++i) {
    const FaceParams& truth = truths_->at(table->ids[i]);
    auto json = ReadFaceParamsJson(P("out/faces/") + table->ids[i] + ".json");
    ASSERT_TRUE(json.ok()) << json.status().ToString();
    EXPECT_NE(json->image.find(table->ids[i].substr(0, table->ids[i].size() - 3) + ".png"),
              std::string::npos) << json->image;
    ASSERT_EQ(json->landmarks_2d.cols(), 68);
    const double rms = std::sqrt((json->landmarks_2d - truth.landmarks_2d).colwise().squaredNorm().mean());
    EXPECT_LT(rms, 1.0) << table->ids[i];
    EXPECT_LT(RotationErrorDeg(table->rows[i].rotation, truth.rotation), 3.0) << table->ids[i];
    EXPECT_EQ(table->rows[i].image_width, kSize);
  }
  for (const auto& e : fs::recursive_directory_iterator(P("out"))) {
    EXPECT_EQ(e.path().string().find(".tmp."), std::string::npos) << e.path();
  }

  // eval: fitted landmarks against the .pts; the corrupt photo is a missed face, the 67-point
  // file is skipped with a message; sub-folders are subsets.
  auto eval = RunMorphfit("eval --fits " + P("out") + " --ground_truth " + P("in"));
  ASSERT_EQ(eval.exit_code, 0) << eval.output;
  EXPECT_NE(eval.output.find("skipped"), std::string::npos) << eval.output;
  const auto summary = CsvRows(P("out/eval/eval_summary.csv"));
  ASSERT_TRUE(summary.count("all") && summary.count("set_a") && summary.count("bad")) << eval.output;
  EXPECT_EQ(summary.at("all")[1], "5");  // faces: 4 fitted + the corrupt photo's
  EXPECT_EQ(summary.at("all")[2], "1");  // missed
  EXPECT_EQ(summary.at("set_a")[1], "2");
  EXPECT_LT(std::stod(summary.at("set_a")[3]), 0.01);
  EXPECT_NEAR(std::stod(summary.at("all")[6]), 0.2, 1e-9);  // failure rate: 1 of 5
  auto ced = io::ReadImage(P("out/eval/ced.png"));
  ASSERT_TRUE(ced.ok());
  EXPECT_GT(ced->cols, 300);
  // The landmarks the fit was given are the ground truth itself (up to the .pts rounding).
  auto input = RunMorphfit("eval --eval_landmarks input --normalisation inter_pupil --fits " +
                           P("out") + " --ground_truth " + P("in") + " --output_dir " + P("eval_in"));
  ASSERT_EQ(input.exit_code, 0) << input.output;
  EXPECT_LT(std::stod(CsvRows(P("eval_in/eval_summary.csv")).at("set_a")[3]), 1e-3);

  // --resume: the 4 finished photos are skipped, the 2 failed ones tried again.
  const auto json_time = fs::last_write_time(P("out/faces/set_a/face0_f0.json"));
  auto resumed = RunMorphfit(FitArgs("out") + " --resume");
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  EXPECT_NE(resumed.output.find("4 already done, 2 to fit"), std::string::npos) << resumed.output;
  EXPECT_EQ(fs::last_write_time(P("out/faces/set_a/face0_f0.json")), json_time);
  EXPECT_EQ(CsvRows(P("out/summary.csv")).size(), 6u);
  auto again = ReadFaceParamsTable(P("out/fits.h5"));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->ids, table->ids);
}

TEST_F(CliFitTest, ShardsMergeIntoOneTable) {
  for (int k = 0; k < 2; ++k) {
    auto run = RunMorphfit(FitArgs("sharded") + " --shard " + std::to_string(k) + "/2");
    ASSERT_EQ(run.exit_code, 0) << run.output;
    EXPECT_NE(run.output.find("3 photos in shard " + std::to_string(k) + "/2 of 6"), std::string::npos)
        << run.output;
    EXPECT_TRUE(FileExists(P("sharded/summary.shard-" + std::to_string(k) + "-of-2.csv")));
  }
  // A lone shard does not merge: the missing one is named.
  fs::create_directories(P("lone"));
  fs::copy_file(P("sharded/summary.shard-0-of-2.csv"), P("lone/summary.shard-0-of-2.csv"));
  auto lone = RunMorphfit("merge --fits " + P("lone"));
  EXPECT_NE(lone.exit_code, 0);
  EXPECT_NE(lone.output.find("shard 1 of 2 is missing"), std::string::npos) << lone.output;

  auto merge = RunMorphfit("merge --fits " + P("sharded"));
  ASSERT_EQ(merge.exit_code, 0) << merge.output;
  const auto rows = CsvRows(P("sharded/summary.csv"));
  EXPECT_EQ(rows.size(), 6u);
  auto table = ReadFaceParamsTable(P("sharded/fits.h5"));
  ASSERT_TRUE(table.ok()) << table.status().ToString();
  const std::vector<std::string> expected = {"set_a/face0_f0", "set_a/face1_f0", "set_b/face2_f0",
                                             "set_b/face3_f0"};
  EXPECT_EQ(table->ids, expected);
  // Each shard fitted the same photos the same way as a single run does.
  for (size_t i = 0; i < table->ids.size(); ++i) {
    const FaceParams& truth = truths_->at(table->ids[i]);
    EXPECT_LT(RotationErrorDeg(table->rows[i].rotation, truth.rotation), 3.0);
  }
}

// The Slurm job-array script, run as two array tasks would run it, then merged.
TEST_F(CliFitTest, SlurmArrayScript) {
  const std::string script = std::string(MORPHFIT_SOURCE_DIR) + "/scripts/slurm/fit_array.sbatch";
  for (int k = 0; k < 2; ++k) {
    const std::string command = "SLURM_ARRAY_TASK_ID=" + std::to_string(k) +
                                " SLURM_ARRAY_TASK_COUNT=2 SLURM_CPUS_PER_TASK=1 MORPHFIT=" +
                                MORPHFIT_BINARY + " bash " + script + " " + P("in") + " " +
                                P("slurm") + " --landmarks pts --jaw fixed >/dev/null 2>&1";
    ASSERT_EQ(std::system(command.c_str()), 0) << command;
  }
  auto merge = RunMorphfit("merge --fits " + P("slurm"));
  ASSERT_EQ(merge.exit_code, 0) << merge.output;
  auto table = ReadFaceParamsTable(P("slurm/fits.h5"));
  ASSERT_TRUE(table.ok()) << table.status().ToString();
  EXPECT_EQ(table->ids.size(), 4u);
  // Outside a job array the script refuses to run.
  EXPECT_NE(std::system(("bash " + script + " " + P("in") + " " + P("slurm2") + " >/dev/null 2>&1").c_str()), 0);
}

// Landmarks, then pixels: the photometric stage reports its colour RMSE, and on faces rendered
// from the same model it reproduces the photo closely. --batch 2: both photos' photometric
// stages as one FitPhotometricBatch; on the CPU each face gets what the unbatched run gives it
// (same status, NME, RMSE and iterations in summary.csv, same parameters). Bad --batch
// combinations are refused naming the flag.
TEST_F(CliFitTest, PhotometricStage) {
  const std::string args = "fit --model sample --input " + P("in/set_a") +
                           " --landmarks pts --jaw fixed --threads 2 --stages photometric";
  auto run = RunMorphfit(args + " --output_dir " + P("photo"));
  ASSERT_EQ(run.exit_code, 0) << run.output;
  const auto rows = CsvRows(P("photo/summary.csv"));
  ASSERT_EQ(rows.size(), 2u);
  for (const auto& [id, f] : rows) {
    EXPECT_TRUE(f[3] == "ok" || f[3] == "not_converged") << id << " " << f[3];
    ASSERT_FALSE(f[6].empty()) << id << ": no photometric RMSE";
    EXPECT_LT(std::stod(f[6]), 0.05) << id;  // colour RMSE, [0, 1] units
    EXPECT_LT(std::stod(f[5]), 0.05) << id;  // landmark NME after the photometric stage
    auto p = ReadFaceParamsJson(P("photo/faces/") + id + ".json");
    ASSERT_TRUE(p.ok()) << p.status().ToString();
    EXPECT_GT(p->albedo.norm(), 0.0) << id << ": the photometric stage fits albedo";
  }

  auto batched = RunMorphfit(args + " --output_dir " + P("photo_batch") + " --batch 2");
  ASSERT_EQ(batched.exit_code, 0) << batched.output;
  const auto batch_rows = CsvRows(P("photo_batch/summary.csv"));
  ASSERT_EQ(batch_rows.size(), 2u);
  for (const auto& [id, f] : rows) {
    ASSERT_EQ(batch_rows.count(id), 1u) << id;
    const auto& g = batch_rows.at(id);
    for (int c : {3, 5, 6, 7}) EXPECT_EQ(g[c], f[c]) << id << " column " << c;
    auto p1 = ReadFaceParamsJson(P("photo/faces/") + id + ".json");
    auto p2 = ReadFaceParamsJson(P("photo_batch/faces/") + id + ".json");
    ASSERT_TRUE(p1.ok() && p2.ok());
    EXPECT_LT((p1->ToFlat() - p2->ToFlat()).lpNorm<Eigen::Infinity>(), 1e-9) << id;
  }
  auto landmarks_only = RunMorphfit(FitArgs("batch3") + " --batch 2");
  EXPECT_NE(landmarks_only.exit_code, 0);
  EXPECT_NE(landmarks_only.output.find("needs --stages photometric"), std::string::npos)
      << landmarks_only.output;
  auto ceres = RunMorphfit(FitArgs("batch4") +
                           " --batch 2 --stages photometric --photometric_solver ceres");
  EXPECT_NE(ceres.exit_code, 0);
  EXPECT_NE(ceres.output.find("--batch 2 needs --photometric_solver gauss_newton"),
            std::string::npos)
      << ceres.output;
  auto zero = RunMorphfit(FitArgs("batch5") + " --batch 0");
  EXPECT_NE(zero.exit_code, 0);
  EXPECT_NE(zero.output.find("--batch must be >= 1"), std::string::npos) << zero.output;
  auto help = RunMorphfit("fit --help");
  EXPECT_NE(help.output.find("--batch (int32, default: 1)"), std::string::npos) << help.output;
}

// A list file and a single image as --input; --sfsnet writes the rendered channels.
TEST_F(CliFitTest, ListAndSingleImageInputs) {
  ASSERT_TRUE(WriteFileAtomically(P("in/list.txt"),
                                  "set_a/face0.png\n# a comment\n\n  set_b/face2.png  \n").ok());
  auto list = RunMorphfit("fit --model sample --input " + P("in/list.txt") + " --output_dir " +
                          P("list") + " --landmarks pts --jaw fixed --sfsnet");
  ASSERT_EQ(list.exit_code, 0) << list.output;
  const auto rows = CsvRows(P("list/summary.csv"));
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_TRUE(rows.count("set_a/face0_f0") && rows.count("set_b/face2_f0"));
  for (const char* channel : {"albedo", "normals", "shading", "mask"}) {
    auto image = io::ReadImage(P("list/faces/set_b/face2_f0.") + channel + ".png");
    ASSERT_TRUE(image.ok()) << channel << ": " << image.status().ToString();
    EXPECT_EQ(image->cols, kSize);
  }
  ASSERT_TRUE(WriteFileAtomically(P("in/badlist.txt"), "set_a/face0.png\nnotes.txt\n").ok());
  auto bad = RunMorphfit("fit --model sample --input " + P("in/badlist.txt") + " --output_dir " + P("x"));
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.output.find("line 2"), std::string::npos) << bad.output;

  auto single = RunMorphfit("fit --model sample --input " + P("in/set_b/face3.png") +
                            " --output_dir " + P("single") + " --landmarks auto --jaw fixed");
  ASSERT_EQ(single.exit_code, 0) << single.output;
  const auto one = CsvRows(P("single/summary.csv"));
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one.begin()->first, "face3_f0");
  EXPECT_EQ(one.begin()->second[4], "pts");  // auto found the .pts
}

// The 300-W layout gives the common / challenging / full subsets.
TEST_F(CliFitTest, EvalFindsThe300WSubsets) {
  auto run = RunMorphfit("fit --model sample --input " + P("w300") + " --output_dir " + P("w300_out") +
                         " --landmarks pts --jaw fixed");
  ASSERT_EQ(run.exit_code, 0) << run.output;
  auto eval = RunMorphfit("eval --fits " + P("w300_out") + " --ground_truth " + P("w300"));
  ASSERT_EQ(eval.exit_code, 0) << eval.output;
  const auto summary = CsvRows(P("w300_out/eval/eval_summary.csv"));
  ASSERT_TRUE(summary.count("300W common") && summary.count("300W challenging") &&
              summary.count("300W full")) << eval.output;
  EXPECT_EQ(summary.at("300W common")[1], "1");
  EXPECT_EQ(summary.at("300W challenging")[1], "1");
  EXPECT_EQ(summary.at("300W full")[1], "2");
  EXPECT_EQ(summary.at("lfpw")[1], "1");
}

TEST_F(CliFitTest, LandmarkSolversAgree) {
  // The own Levenberg-Marquardt (default) and Ceres minimise the same energy: on a face rendered
  // with known parameters both runs must give the same fitted landmarks and rotation.
  const std::string args = "fit --model sample --input " + P("in/set_b/face2.png") +
                           " --landmarks pts --jaw fixed --threads 1 --mesh_format none"
                           " --overlay=false";
  auto gn = RunMorphfit(args + " --output_dir " + P("solver_gn") + " --landmark_solver gn");
  ASSERT_EQ(gn.exit_code, 0) << gn.output;
  auto ceres = RunMorphfit(args + " --output_dir " + P("solver_ceres") + " --landmark_solver ceres");
  ASSERT_EQ(ceres.exit_code, 0) << ceres.output;
  auto a = ReadFaceParamsJson(P("solver_gn/faces/face2_f0.json"));
  auto b = ReadFaceParamsJson(P("solver_ceres/faces/face2_f0.json"));
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  ASSERT_EQ(a->landmarks_2d.cols(), 68);
  ASSERT_EQ(b->landmarks_2d.cols(), 68);
  const double max_diff_px = (a->landmarks_2d - b->landmarks_2d).colwise().norm().maxCoeff();
  EXPECT_LT(max_diff_px, 0.05);
  EXPECT_LT(RotationErrorDeg(a->rotation, b->rotation), 0.05);
  const double truth_err_px =
      (a->landmarks_2d - truths_->at("set_b/face2_f0").landmarks_2d).colwise().norm().maxCoeff();
  EXPECT_LT(truth_err_px, 1.0);  // noise-free labels; the priors keep it from 0 (0.55 px seen)
}

TEST_F(CliFitTest, FixedFocal) {
  // --focal F holds the pinhole focal length at F in both stages' camera.
  auto run = RunMorphfit("fit --model sample --input " + P("in/set_a/face1.png") +
                         " --landmarks pts --jaw fixed --threads 1 --mesh_format none"
                         " --overlay=false --focal 700 --output_dir " + P("focal"));
  ASSERT_EQ(run.exit_code, 0) << run.output;
  auto p = ReadFaceParamsJson(P("focal/faces/face1_f0.json"));
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->camera_type, CameraType::kPinhole);
  EXPECT_DOUBLE_EQ(p->camera[0], 700.0);
  for (const char* bad : {"-3", "0", "wide", "12px", "nan"}) {
    auto r = RunMorphfit(FitArgs("focal_bad") + " --focal " + bad);
    EXPECT_NE(r.exit_code, 0) << bad;
    EXPECT_NE(r.output.find("--focal"), std::string::npos) << bad << ": " << r.output;
  }
  auto weak = RunMorphfit(FitArgs("focal_bad") + " --camera weak --focal 700");
  EXPECT_NE(weak.exit_code, 0);
  EXPECT_NE(weak.output.find("--focal"), std::string::npos) << weak.output;
}

TEST_F(CliFitTest, BadFlagsAreNamed) {
  auto solver = RunMorphfit(FitArgs("x") + " --landmark_solver newton");
  EXPECT_NE(solver.exit_code, 0);
  EXPECT_NE(solver.output.find("--landmark_solver"), std::string::npos) << solver.output;
  auto stages = RunMorphfit(FitArgs("x") + " --stages everything");
  EXPECT_NE(stages.exit_code, 0);
  EXPECT_NE(stages.output.find("--stages"), std::string::npos) << stages.output;
  auto landmarks = RunMorphfit(FitArgs("x") + " --landmarks manual");
  EXPECT_NE(landmarks.exit_code, 0);
  EXPECT_NE(landmarks.output.find("--landmarks"), std::string::npos) << landmarks.output;
  auto shard = RunMorphfit(FitArgs("x") + " --shard 2/2");
  EXPECT_NE(shard.exit_code, 0);
  EXPECT_NE(shard.output.find("--shard"), std::string::npos) << shard.output;
  auto input = RunMorphfit("fit --model sample --input " + P("nowhere") + " --output_dir " + P("x"));
  EXPECT_NE(input.exit_code, 0);
  EXPECT_NE(input.output.find("nowhere"), std::string::npos) << input.output;
  auto eval = RunMorphfit("eval --fits " + P("in") + " --ground_truth " + P("in"));
  EXPECT_NE(eval.exit_code, 0);
  EXPECT_NE(eval.output.find("summary.csv"), std::string::npos) << eval.output;
  auto predictor = RunMorphfit(FitArgs("x") + " --landmarks dlib --shape_predictor " + P("none.dat"));
  EXPECT_NE(predictor.exit_code, 0);
  EXPECT_NE(predictor.output.find("none.dat"), std::string::npos) << predictor.output;
  EXPECT_EQ(predictor.output.find("faces fitted"), std::string::npos) << predictor.output;
  EXPECT_FALSE(FileExists(P("x/summary.csv"))) << "stopped before the first photo";
  auto help = RunMorphfit("fit --help");
  for (const char* flag : {"--input", "--landmarks", "--stages", "--shard", "--resume", "--jaw",
                           "--camera", "--shape_predictor", "--landmark_solver", "--focal"}) {
    EXPECT_NE(help.output.find(flag), std::string::npos) << flag;
  }
}

// --device cuda: the photometric stage's own Gauss-Newton on the GPU. Refused with the reason
// where it cannot run (before any photo); ran and recorded where it can.
TEST_F(CliFitTest, DeviceFlag) {
  auto landmarks_only = RunMorphfit(FitArgs("dev1") + " --device cuda --stages landmarks");
  EXPECT_NE(landmarks_only.exit_code, 0);
  EXPECT_NE(landmarks_only.output.find("--device cuda applies to the photometric stage"),
            std::string::npos)
      << landmarks_only.output;
  auto ceres = RunMorphfit(FitArgs("dev2") +
                           " --device cuda --stages photometric --photometric_solver ceres");
  EXPECT_NE(ceres.exit_code, 0);
  EXPECT_NE(ceres.output.find("gauss_newton"), std::string::npos) << ceres.output;
  auto unknown = RunMorphfit(FitArgs("dev3") + " --device gpu");
  EXPECT_NE(unknown.exit_code, 0);
  EXPECT_NE(unknown.output.find("--device must be cpu or cuda"), std::string::npos)
      << unknown.output;
  auto cuda = RunMorphfit("fit --model sample --input " + P("in/set_a") + " --output_dir " +
                          P("dev4") +
                          " --landmarks pts --jaw fixed --threads 2 --stages photometric "
                          "--device cuda");
  if (cuda.exit_code == 0) {  // a CUDA build with a device
    const auto rows = CsvRows(P("dev4/summary.csv"));
    ASSERT_EQ(rows.size(), 2u);
    for (const auto& [id, f] : rows) {
      ASSERT_FALSE(f[6].empty()) << id << ": no photometric RMSE";
      EXPECT_LT(std::stod(f[6]), 0.05) << id;
    }
  } else {
    EXPECT_NE(cuda.output.find("--device cuda: "), std::string::npos) << cuda.output;
    EXPECT_TRUE(cuda.output.find("built without CUDA") != std::string::npos ||
                cuda.output.find("CUDA device") != std::string::npos)
        << cuda.output;
    EXPECT_FALSE(FileExists(P("dev4/summary.csv"))) << "stopped before the first photo";
  }
  auto help = RunMorphfit("fit --help");
  EXPECT_NE(help.output.find("--device cpu|cuda"), std::string::npos) << help.output;
  EXPECT_NE(help.output.find("landmark stage, visibility and line search stay on the CPU"),
            std::string::npos)
      << help.output;
}

}  // namespace
}  // namespace morphfit
