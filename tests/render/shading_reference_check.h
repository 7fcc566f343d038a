// Shared by the renderer tests: render::ShadeVisibility against math::ShadeImageReference in
// every channel, for one face geometry, with and without the specular term, pinhole and weak
// perspective barycentrics, on 1 and 2 threads. The outputs are poisoned first (NaN, mask 7),
// so every entry must be written. Compile with -ffp-contract=off, as the reference rounds.
#ifndef MORPHFIT_TESTS_RENDER_SHADING_REFERENCE_CHECK_H_
#define MORPHFIT_TESTS_RENDER_SHADING_REFERENCE_CHECK_H_

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include <gtest/gtest.h>

#include "morphfit/core/thread_pool.h"
#include "morphfit/math/render_pixel.h"
#include "morphfit/models/morphable_model.h"
#include "morphfit/render/renderer.h"
#include "morphfit/render/visibility.h"

namespace morphfit::render {

// min_covered: the visibility buffer must cover more pixels than this; min_peak_specular: with
// the specular term on, the reference's brightest specular value must exceed this (the
// Blinn-Phong lanes are exercised).
inline void ExpectShadingEqualsReference(const models::MorphableModel& model,
                                         const FaceGeometry<float>& g, int w, int h,
                                         int min_covered, float min_peak_specular) {
  const int np = w * h;
  ThreadPool one(1), two(2);
  for (double specular : {0.0, 0.4}) {
    RenderOptions options;
    options.specular_intensity = specular;
    options.specular_half_vector = Eigen::Vector3d(0.2, 0.3, 1.0);
    for (bool perspective : {true, false}) {
      math::ShadeInputs<float> in = MakeShadeInputs(g, model, MakeSpecularParams<float>(options));
      in.perspective = perspective;
      VisibilityBuffer vis;
      RasterizeVisibility(g.pixels_float.data(), g.depths_float.data(), model.num_vertices(),
                          model.triangles.data(), model.num_triangles(), w, h, perspective, 1.0f,
                          &one, &vis);
      ASSERT_GT(vis.num_covered(), min_covered);
      const float background[3] = {0.1f, 0.2f, 0.3f};
      std::vector<float> image(3 * np), normals(3 * np), albedo(3 * np), shading(3 * np),
          spec(np);
      std::vector<uint8_t> mask(np);
      math::ShadeImageReference(in, vis.triangle.data(), w, h, background,
                                {image.data(), mask.data(), normals.data(), albedo.data(),
                                 shading.data(), spec.data()});
      if (specular > 0.0) {
        EXPECT_GT(*std::max_element(spec.begin(), spec.end()), min_peak_specular);
      }
      for (ThreadPool* pool : {&one, &two}) {
        SCOPED_TRACE(testing::Message() << "specular " << specular << ", perspective "
                                        << perspective << ", threads " << pool->num_threads());
        std::vector<float> image2(3 * np, NAN), normals2(3 * np, NAN), albedo2(3 * np, NAN),
            shading2(3 * np, NAN), spec2(np, NAN);
        std::vector<uint8_t> mask2(np, 7);
        ShadeVisibility(in, vis, background,
                        {image2.data(), mask2.data(), normals2.data(), albedo2.data(),
                         shading2.data(), spec2.data()},
                        pool);
        EXPECT_EQ(image, image2);
        EXPECT_EQ(mask, mask2);
        EXPECT_EQ(normals, normals2);
        EXPECT_EQ(albedo, albedo2);
        EXPECT_EQ(shading, shading2);
        EXPECT_EQ(spec, spec2);
      }
    }
  }
}

}  // namespace morphfit::render

#endif  // MORPHFIT_TESTS_RENDER_SHADING_REFERENCE_CHECK_H_
