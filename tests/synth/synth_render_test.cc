// Synthetic samples (src/synth), the rendering side: image = albedo x shading + specular on the
// face, landmarks on the rendered face and the silhouette jaw, both cameras, the sampling
// priors, fitted faces, image backgrounds and the preview sheet. Small images (64 px) and a few
// samples of the sample model.
#include <hdf5.h>

#include <algorithm>
#include <cstdlib>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <Eigen/Geometry>
#include <gtest/gtest.h>
#include <opencv2/imgcodecs.hpp>

#include "morphfit/core/face_params.h"
#include "morphfit/core/thread_pool.h"
#include "morphfit/fitters/contour.h"
#include "morphfit/render/param_convert.h"
#include "morphfit/synth/dataset.h"
#include "morphfit/synth/sample_render.h"
#include "morphfit/synth/sampler.h"
#include "synth/pixel_convert.h"
#include "synth_test_util.h"

namespace morphfit::synth {
namespace {

namespace fs = std::filesystem;

TEST_F(SynthTest, ImageIsAlbedoTimesShadingPlusSpecularOnTheFace) {
  const Sampler sampler = MakeSampler(Options(/*specular=*/true, /*augment=*/false));
  int64_t checked = 0, face = 0;
  for (int64_t i = 0; i < 4; ++i) {
    auto s = RenderSample(Model(), sampler.Draw(3, i), nullptr, true);
    ASSERT_TRUE(s.ok());
    const EncodedSample& e = s.value();
    for (size_t p = 0; p < e.mask.size(); ++p) {
      if (!e.mask[p]) continue;
      ++face;
      const float spec = e.specular[p] / 255.0f;
      bool clipped = e.specular[p] == 255;
      for (int c = 0; c < 3; ++c) {
        clipped = clipped || e.image[3 * p + c] == 0 || e.image[3 * p + c] == 255 ||
                  e.albedo[3 * p + c] == 0 || e.albedo[3 * p + c] == 255;
      }
      if (clipped) continue;  // clamped on storage: the product no longer holds
      ++checked;
      for (int c = 0; c < 3; ++c) {
        const float a = e.albedo[3 * p + c] / 255.0f;
        const float sh = HalfToFloat(e.shading[3 * p + c]);
        const float predicted = a * sh + spec;
        // Quantisation: image and specular +-0.5/255, albedo +-0.5/255 times shading,
        // float16 shading 2^-11 relative.
        const float tol = (1.0f + 0.5f * std::abs(sh)) / 255.0f + std::abs(a * sh) / 1024.0f;
        ASSERT_NEAR(e.image[3 * p + c] / 255.0f, predicted, tol)
            << "sample " << i << " pixel " << p << " channel " << c;
      }
    }
  }
  EXPECT_GT(checked, face / 2) << "most face pixels should be unclipped";
}

// RenderSample (its own pass over reused buffers, the encoder's run-by-run conversions) against
// the plain definitions: render::Render of the sample's geometry, every channel converted pixel
// by pixel (0 off the face), and the image as ApplyAugmentation of the background with the
// rendered face pasted in. Augmentation on: flat and noise backgrounds, with and without blur
// and JPEG.
TEST_F(SynthTest, EncodedChannelsArePerPixelConversionsOfTheRender) {
  const Sampler sampler = MakeSampler(Options(/*specular=*/true, /*augment=*/true));
  const SampleContext context(Model());
  int flat_sharp = 0, flat_blurred = 0, noise = 0, jpeg = 0;
  for (int64_t i = 0; i < 16; ++i) {
    const SampleSpec spec = sampler.Draw(4, i);
    GeometryBlock block;
    context.EvaluateGeometry({&spec.params}, nullptr, &block);
    // The renderer on exactly this geometry: a model whose means are the sample's shape and
    // albedo, parameters without coefficients.
    models::MorphableModel given;
    given.triangles = Model().triangles;
    given.landmarks = Model().landmarks;
    given.shape_mean = block.shape.col(0);
    given.albedo_mean = block.albedo.col(0);
    FaceParams posed = spec.params;
    posed.identity.resize(0);
    posed.expression.resize(0);
    posed.albedo.resize(0);
    auto rendered = render::Render(given, posed, RenderOptionsFor(spec), nullptr);
    ASSERT_TRUE(rendered.ok()) << rendered.status().ToString();
    const render::RenderResult& r = rendered.value();
    auto encoded = RenderSample(context, spec, block, 0, nullptr, true);
    ASSERT_TRUE(encoded.ok()) << encoded.status().ToString();
    const EncodedSample& e = encoded.value();
    const size_t n = static_cast<size_t>(kSize) * kSize;
    ASSERT_EQ(e.mask.size(), n);
    const float z0 = static_cast<float>(spec.params.translation.z());
    auto base = RenderBackground(spec.background, kSize, nullptr);
    ASSERT_TRUE(base.ok());
    cv::Mat composite = base.value().clone();
    size_t face = 0;
    for (size_t p = 0; p < n; ++p) {
      ASSERT_EQ(e.mask[p], r.mask[p]) << "sample " << i << " pixel " << p;
      const bool on = r.mask[p] != 0;
      face += on ? 1 : 0;
      ASSERT_EQ(e.depth[p], on ? FloatToHalf(r.visibility.depth[p] - z0) : 0) << "pixel " << p;
      ASSERT_EQ(e.specular[p], on ? internal::ToByte(r.specular[p]) : 0) << "pixel " << p;
      for (int c = 0; c < 3; ++c) {
        const size_t k = 3 * p + c;
        ASSERT_EQ(e.normals[k], on ? internal::ToByte(0.5f * (r.normals[k] + 1.0f)) : 0) << k;
        ASSERT_EQ(e.albedo[k], on ? internal::ToByte(r.albedo[k]) : 0) << k;
        ASSERT_EQ(e.shading[k], on ? FloatToHalf(r.shading[k]) : 0) << k;
        if (on) composite.ptr<float>()[k] = r.image[k];
      }
    }
    const cv::Mat image = ApplyAugmentation(composite, spec.augment);
    ASSERT_TRUE(std::equal(e.image.begin(), e.image.end(), image.ptr<uint8_t>()))
        << "sample " << i << ": image differs from ApplyAugmentation of the composite";
    ASSERT_GT(face, n / 10) << "sample " << i;
    const bool flat = spec.background.kind == BackgroundKind::kFlat;
    flat_sharp += flat && spec.augment.blur_sigma == 0.0f ? 1 : 0;
    flat_blurred += flat && spec.augment.blur_sigma > 0.0f ? 1 : 0;
    noise += spec.background.kind == BackgroundKind::kNoise ? 1 : 0;
    jpeg += spec.augment.jpeg_quality > 0 ? 1 : 0;
  }
  EXPECT_GT(flat_sharp, 0);
  EXPECT_GT(flat_blurred, 0);
  EXPECT_GT(noise, 0);
  EXPECT_GT(jpeg, 0);
}

// WriteShard renders each sample into the buffers of one already written: every value of the
// earlier sample must be overwritten (backgrounds of other kinds, other face outlines, the
// specular map switched on and off).
TEST_F(SynthTest, RenderingIntoUsedBuffersGivesTheFreshResult) {
  const Sampler sampler = MakeSampler(Options(/*specular=*/true, /*augment=*/true));
  const SampleContext context(Model());
  EncodedSample reused;
  int face_shrank = 0;
  size_t previous_face = 0;
  for (int64_t i = 0; i < 12; ++i) {
    const SampleSpec spec = sampler.Draw(9, i);
    const bool specular = i % 3 != 1;
    GeometryBlock block;
    context.EvaluateGeometry({&spec.params}, nullptr, &block);
    auto fresh = RenderSample(context, spec, block, 0, nullptr, specular);
    ASSERT_TRUE(fresh.ok()) << fresh.status().ToString();
    const Status st = RenderSample(context, spec, block, 0, nullptr, specular, &reused);
    ASSERT_TRUE(st.ok()) << st.ToString();
    const EncodedSample& f = fresh.value();
    EXPECT_EQ(reused.size, f.size);
    EXPECT_EQ(reused.has_specular, f.has_specular);
    EXPECT_EQ(reused.image, f.image) << "sample " << i;
    EXPECT_EQ(reused.mask, f.mask) << "sample " << i;
    EXPECT_EQ(reused.depth, f.depth) << "sample " << i;
    EXPECT_EQ(reused.normals, f.normals) << "sample " << i;
    EXPECT_EQ(reused.albedo, f.albedo) << "sample " << i;
    EXPECT_EQ(reused.shading, f.shading) << "sample " << i;
    EXPECT_EQ(reused.specular, f.specular) << "sample " << i;
    EXPECT_EQ(reused.specular.empty(), !specular) << "sample " << i;
    EXPECT_EQ(reused.landmarks_2d, f.landmarks_2d) << "sample " << i;
    EXPECT_EQ(reused.landmarks_3d, f.landmarks_3d) << "sample " << i;
    EXPECT_EQ(reused.landmarks_2d_visible, f.landmarks_2d_visible) << "sample " << i;
    EXPECT_EQ(reused.landmarks_3d_visible, f.landmarks_3d_visible) << "sample " << i;
    EXPECT_EQ(reused.params, f.params) << "sample " << i;
    const size_t face = static_cast<size_t>(std::count(f.mask.begin(), f.mask.end(), 1));
    face_shrank += i > 0 && face < previous_face ? 1 : 0;
    previous_face = face;
  }
  EXPECT_GT(face_shrank, 0) << "no sample covered fewer pixels than the one before it";
}

TEST_F(SynthTest, LandmarksProjectOntoTheRenderedFace) {
  const Sampler sampler = MakeSampler(Options(false, false));
  int visible = 0, near_face = 0;
  for (int64_t i = 0; i < 6; ++i) {
    auto s = RenderSample(Model(), sampler.Draw(5, i), nullptr, false);
    ASSERT_TRUE(s.ok());
    const EncodedSample& e = s.value();
    auto near_mask = [&](double u, double v, int radius) {
      for (int dy = -radius; dy <= radius; ++dy) {
        for (int dx = -radius; dx <= radius; ++dx) {
          const long x = std::lround(u) + dx, y = std::lround(v) + dy;
          if (x >= 0 && y >= 0 && x < kSize && y < kSize && e.mask[y * kSize + x]) return true;
        }
      }
      return false;
    };
    for (int k = 0; k < 68; ++k) {
      if (e.landmarks_3d_visible[k]) {
        ++visible;
        near_face += near_mask(e.landmarks_3d[3 * k], e.landmarks_3d[3 * k + 1], 1);
        // Camera z of a landmark: around the face's distance (Deep3D camera: ~1 m).
        EXPECT_GT(e.landmarks_3d[3 * k + 2], 700.0f);
        EXPECT_LT(e.landmarks_3d[3 * k + 2], 1300.0f);
      }
      if (e.landmarks_2d_visible[k]) {
        ++visible;
        near_face += near_mask(e.landmarks_2d[2 * k], e.landmarks_2d[2 * k + 1], 1);
      }
      if (k >= 17) {  // the inner landmarks are the same vertices in both styles
        EXPECT_FLOAT_EQ(e.landmarks_2d[2 * k], e.landmarks_3d[3 * k]);
        EXPECT_FLOAT_EQ(e.landmarks_2d[2 * k + 1], e.landmarks_3d[3 * k + 1]);
      }
    }
  }
  EXPECT_GT(visible, 6 * 68);  // most landmarks of 6 faces in 2 styles are visible
  EXPECT_EQ(near_face, visible);
}

TEST_F(SynthTest, SilhouetteJawFollowsTheOutlineOfATurnedFace) {
  // At 60 degrees of yaw the 2D-style jaw on the far side differs from the fixed vertices.
  const Sampler sampler = MakeSampler(Options(false, false));
  SampleSpec spec = sampler.Draw(1, 0);
  spec.pose_deg = Eigen::Vector3d(60, 0, 0);
  spec.params.rotation = RotationFromYawPitchRoll(spec.pose_deg);
  auto s = RenderSample(Model(), spec, nullptr, false);
  ASSERT_TRUE(s.ok());
  double moved = 0.0;
  for (int k = 0; k < 17; ++k) {
    moved = std::max<double>(moved, std::hypot(s.value().landmarks_2d[2 * k] - s.value().landmarks_3d[3 * k],
                                       s.value().landmarks_2d[2 * k + 1] - s.value().landmarks_3d[3 * k + 1]));
  }
  EXPECT_GT(moved, 0.5);
}

TEST_F(SynthTest, JawLandmarksAreTheFittersSilhouetteVertices) {
  const Sampler sampler = MakeSampler(Options(false, false));
  const SampleContext context(Model());
  for (int64_t i = 0; i < 8; ++i) {
    SampleSpec spec = sampler.Draw(6, i);
    if (i % 2 == 1) {  // also strongly turned faces
      spec.pose_deg[0] = i < 4 ? 70.0 : -70.0;
      spec.params.rotation = RotationFromYawPitchRoll(spec.pose_deg);
    }
    auto s = RenderSample(context, spec, nullptr, false);
    ASSERT_TRUE(s.ok());
    const std::vector<int> ids = fitters::SilhouetteLandmarkVertices(Model(), spec.params);
    const Eigen::Matrix3d R =
        Eigen::AngleAxisd(spec.params.rotation.norm(), spec.params.rotation.normalized())
            .toRotationMatrix();
    for (int k = 0; k < 68; ++k) {
      Eigen::VectorXf x;
      Model().MakeSubset({ids[k]}).Evaluate(spec.params.identity.cast<float>(),
                                            spec.params.expression.cast<float>(), &x);
      const Eigen::Vector3d p = R * x.cast<double>() + spec.params.translation;
      const double u = spec.params.camera[0] * p.x() / p.z() + spec.params.camera[1];
      const double v = spec.params.camera[0] * p.y() / p.z() + spec.params.camera[2];
      EXPECT_NEAR(s.value().landmarks_2d[2 * k], u, 1e-2) << "sample " << i << " landmark " << k;
      EXPECT_NEAR(s.value().landmarks_2d[2 * k + 1], v, 1e-2) << "sample " << i << " landmark " << k;
    }
  }
}

TEST_F(SynthTest, WeakPerspectiveFacesAreFramedAndDepthDecodes) {
  SamplerOptions o = Options(false, false);
  o.camera = CameraModel::kWeakPerspective;
  const Sampler sampler = MakeSampler(o);
  const SampleContext context(Model());
  for (int64_t i = 0; i < 4; ++i) {
    const SampleSpec spec = sampler.Draw(8, i);
    EXPECT_EQ(spec.params.camera_type, CameraType::kWeakPerspective);
    EXPECT_TRUE(spec.params.translation.isZero());
    auto s = RenderSample(context, spec, nullptr, false);
    ASSERT_TRUE(s.ok());
    const EncodedSample& e = s.value();
    int64_t covered = 0;
    double cx = 0.0, cy = 0.0;
    for (int y = 0; y < kSize; ++y) {
      for (int x = 0; x < kSize; ++x) {
        if (!e.mask[y * kSize + x]) continue;
        ++covered;
        cx += x;
        cy += y;
      }
    }
    ASSERT_GT(covered, kSize * kSize / 5) << "sample " << i;
    EXPECT_NEAR(cx / covered, 0.5 * (kSize - 1), 0.2 * kSize);
    EXPECT_NEAR(cy / covered, 0.5 * (kSize - 1), 0.2 * kSize);
    // Depth + translation z at a visible landmark's pixel is about the landmark's camera z (the
    // pixel centre is up to half a pixel away, on lips and eyelids a few mm of depth).
    std::vector<double> errors;
    for (int k = 17; k < 68; ++k) {
      if (!e.landmarks_3d_visible[k]) continue;
      const long x = std::lround(e.landmarks_3d[3 * k]), y = std::lround(e.landmarks_3d[3 * k + 1]);
      if (!e.mask[y * kSize + x]) continue;  // e.g. inside the mouth slit
      const float depth = HalfToFloat(e.depth[y * kSize + x]) + spec.params.translation.z();
      errors.push_back(std::abs(depth - e.landmarks_3d[3 * k + 2]));
      // Visible: no stored surface more than the 2 mm tolerance in front of it (float16 adds
      // up to 1/16 mm here). Behind it is possible (a lip landmark over the mouth slit).
      EXPECT_GT(depth, e.landmarks_3d[3 * k + 2] - 2.1) << "sample " << i << " landmark " << k;
    }
    ASSERT_GT(errors.size(), 20u);
    std::nth_element(errors.begin(), errors.begin() + errors.size() / 2, errors.end());
    EXPECT_LT(errors[errors.size() / 2], 3.0) << "sample " << i;
  }
}

TEST_F(SynthTest, Deep3dCameraConvertsToDeep3dCoefficients) {
  // At 224 px the sampled camera is exactly Deep3DFaceRecon's, so every sample has a 257-vector
  // (render/param_convert.h), which converts back to the same parameters.
  SamplerOptions o = Options(false, false);
  o.size = 224;
  const Sampler sampler = MakeSampler(o);
  Eigen::Vector3d centre = Eigen::Vector3d::Zero();
  for (int v = 0; v < Model().num_vertices(); ++v) {
    centre += Model().shape_mean.segment<3>(3 * v).cast<double>();
  }
  centre /= Model().num_vertices();
  for (int64_t i = 0; i < 5; ++i) {
    const SampleSpec spec = sampler.Draw(12, i);
    auto coeffs = render::FaceParamsToDeep3d(spec.params, centre);
    ASSERT_TRUE(coeffs.ok()) << coeffs.status().ToString();
    ASSERT_EQ(coeffs.value().size(), 257u);
    render::BlockSizes sizes;
    sizes.num_identity = 80;
    sizes.num_expression = 64;
    sizes.num_albedo = 80;
    auto back = render::FaceParamsFromDeep3d(coeffs.value(), centre, sizes);
    ASSERT_TRUE(back.ok());
    EXPECT_NEAR((back.value().translation - spec.params.translation).norm(), 0.0, 1e-6);
    EXPECT_NEAR((back.value().camera - spec.params.camera).norm(), 0.0, 1e-9);
    EXPECT_NEAR((back.value().lighting - spec.params.lighting).norm(), 0.0, 1e-9);
  }
}

TEST_F(SynthTest, PriorsRespectTheirBounds) {
  const Sampler sampler = MakeSampler(Options(true, true));
  int frontal = 0, wide = 0;
  for (int64_t i = 0; i < 400; ++i) {
    const SampleSpec s = sampler.Draw(2, i);
    EXPECT_LE(std::abs(s.pose_deg[0]), 90.0);
    EXPECT_LE(std::abs(s.pose_deg[1]), 35.0);
    EXPECT_LE(std::abs(s.pose_deg[2]), 25.0);
    frontal += std::abs(s.pose_deg[0]) < 30.0;
    wide += std::abs(s.pose_deg[0]) > 60.0;
    EXPECT_LE(s.params.identity.cwiseAbs().maxCoeff(), 3.0);
    EXPECT_NEAR(s.light_direction.norm(), 1.0, 1e-12);
    EXPECT_GT(s.light_direction.z(), 0.0);
    EXPECT_GT(s.specular_intensity, 0.0);
    EXPECT_GE(s.augment.gamma, 0.8f);
    EXPECT_LE(s.augment.gamma, 1.25f);
    EXPECT_TRUE(s.augment.jpeg_quality == 0 ||
                (s.augment.jpeg_quality >= 30 && s.augment.jpeg_quality <= 95));
    EXPECT_NE(s.background.kind, BackgroundKind::kImage);  // no images given
    EXPECT_EQ(s.params.camera_type, CameraType::kPinhole);
    EXPECT_DOUBLE_EQ(s.params.camera[0], 1015.0 * kSize / 224.0);
  }
  EXPECT_GT(frontal, 200);  // more mass near frontal ...
  EXPECT_GT(wide, 0);       // ... and profiles still occur
  EXPECT_LT(wide, frontal);
}

TEST_F(SynthTest, FromFitsKeepsIdentityAndAlbedo) {
  std::vector<FaceParams> fits;
  for (int r = 0; r < 2; ++r) {
    FaceParams p = FaceParams::Frontal(Model().num_identity(), Model().num_expression(),
                                       Model().num_albedo(), 224, 224, 1015, 1000);
    p.identity.setConstant(0.5 * (r + 1));
    p.albedo.setConstant(-0.25 * (r + 1));
    p.lighting[0] = 0.123;
    fits.push_back(p);
  }
  const Sampler sampler = MakeSampler(Options(false, false), fits);
  int fitted_light = 0;
  for (int64_t i = 0; i < 20; ++i) {
    const SampleSpec s = sampler.Draw(4, i);
    EXPECT_EQ(s.source_row, i % 2);
    EXPECT_TRUE(s.params.identity == fits[i % 2].identity);
    EXPECT_TRUE(s.params.albedo == fits[i % 2].albedo);
    if (s.lighting_from_fit) {
      ++fitted_light;
      EXPECT_EQ(s.params.lighting[0], 0.123);
    }
  }
  EXPECT_GT(fitted_light, 0);
  EXPECT_LT(fitted_light, 20);
  // Wrong block sizes are refused, naming the row.
  FaceParams bad = fits[0];
  bad.identity.resize(3);
  auto refused = Sampler::Create(Model(), Options(false, false), {fits[0], bad}, {});
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("fit row 1"), std::string::npos)
      << refused.status().message();
}

TEST_F(SynthTest, ImageBackgroundsAreCroppedAndRecorded) {
  fs::create_directories(Path("bg"));
  cv::Mat red(100, 80, CV_8UC3, cv::Scalar(0, 0, 255)), green(60, 90, CV_8UC3, cv::Scalar(0, 255, 0));
  ASSERT_TRUE(cv::imwrite(Path("bg/b_red.png"), red));
  ASSERT_TRUE(cv::imwrite(Path("bg/a_green.png"), green));
  std::ofstream(Path("bg/notes.txt")) << "not an image";
  auto loaded = LoadBackgrounds(Path("bg"), 2 * kSize);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  const Backgrounds& bg = loaded.value();
  ASSERT_EQ(bg.files, (std::vector<std::string>{"a_green.png", "b_red.png"}));
  SamplerOptions o = Options(false, false);
  o.background.image_probability = 1.0;
  const Sampler sampler = MakeSampler(o, {}, &bg);
  for (int64_t i = 0; i < 4; ++i) {
    const SampleSpec spec = sampler.Draw(9, i);
    ASSERT_EQ(spec.background.kind, BackgroundKind::kImage);
    auto s = RenderSample(Model(), spec, &bg, false);
    ASSERT_TRUE(s.ok());
    // An off-face pixel has the chosen image's colour.
    const EncodedSample& e = s.value();
    const bool is_red = bg.files[spec.background.image_index] == "b_red.png";
    for (size_t p = 0; p < e.mask.size(); ++p) {
      if (e.mask[p]) continue;
      EXPECT_EQ(e.image[3 * p], is_red ? 255 : 0);
      EXPECT_EQ(e.image[3 * p + 1], is_red ? 0 : 255);
      break;
    }
  }
  // Without the images, an image background cannot be rendered.
  EXPECT_FALSE(RenderBackground(sampler.Draw(9, 0).background, kSize, nullptr).ok());
  // A folder without images is an error naming it.
  fs::create_directories(Path("empty"));
  auto none = LoadBackgrounds(Path("empty"), 128);
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.status().message().find("empty"), std::string::npos);
  // A broken image file is an error naming it.
  std::ofstream(Path("bg/c_broken.jpg")) << "garbage";
  auto broken = LoadBackgrounds(Path("bg"), 128);
  ASSERT_FALSE(broken.ok());
  EXPECT_NE(broken.status().message().find("c_broken.jpg"), std::string::npos);
}

TEST_F(SynthTest, PreviewShowsEveryChannel) {
  const Sampler sampler = MakeSampler(Options(true, true));
  std::vector<EncodedSample> samples;
  for (int64_t i = 0; i < 2; ++i) {
    auto s = RenderSample(Model(), sampler.Draw(0, i), nullptr, true);
    ASSERT_TRUE(s.ok());
    samples.push_back(std::move(s).value());
  }
  const cv::Mat sheet = MakeSamplePreview(samples);
  // 2 rows of 8 tiles (image, mask, depth, normals, albedo, shading, specular, landmarks).
  ASSERT_FALSE(sheet.empty());
  EXPECT_EQ(sheet.type(), CV_8UC3);
  EXPECT_GE(sheet.cols, 8 * kSize);
  EXPECT_GE(sheet.rows, 2 * kSize);
}

}  // namespace
}  // namespace morphfit::synth
