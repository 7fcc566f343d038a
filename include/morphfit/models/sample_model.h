// The project's own sample morphable face model, generated deterministically by code (no
// licensed data) so that demos and tests run without BFM. Bit-for-bit identical on every call.
//
// Layout (all in mm, model frame: +y up, +z out of the face, +x to the subject's left; origin
// between the pupils at the depth of the nose bridge):
//  - Face part: a mask over the front ~190 deg of the head, a (longitude x height) grid on a
//    generalised cylinder (cranium, cheekbones, narrowing jaw, chin, rolling under the jaw into
//    a short under-chin flap) with smooth displacement features (brow ridge, eye sockets, nose
//    with alae and nostrils, cheekbones, lips, chin, nasolabial folds). The eye fissures and
//    the mouth slit are gaps between two consecutive grid rows whose heights follow the lid
//    and lip margins; each corner is one vertex shared by both margins. Adult proportions:
//    hairline / brow / subnasale / menton thirds of ~60 mm, ~140 mm bizygomatic width,
//    interpupillary 63 mm, fissures 30 mm, mouth 50 mm, nose 35 mm wide, tip ~20 mm proud.
//  - Eyeballs: two front caps of an ellipsoid behind the fissures (white sclera, brown iris on
//    a ring of radius 5.7 mm, black pupil of radius 1.9 mm, a slight corneal bulge).
//  - Mouth interior: a dark sheet curving back behind the lips (tongue-coloured lower part)
//    whose lower half follows the jaw, so an open mouth shows dark, not background.
//  Face vertices come first (grid order: column by column from the subject's right, rows from
//  the under-chin up), then the -x eyeball, the +x eyeball, the mouth interior.
//  - UVs: the face fills u in [0.01, 0.79] (longitude) x v in [0.01, 0.99] (height); eyeballs
//    and the mouth interior use the strip u in [0.81, 0.99].
//  - Landmarks: iBUG 68. Lid landmarks (36-47) and inner-lip landmarks (60-67) are margin
//    vertices, upper and lower partners in the same grid column (37/41, 38/40, 43/47, 44/46,
//    61/67, 62/66, 63/65), corners are the shared corner vertices; jaw landmarks 0-16 are the
//    frontal silhouette (sides at fixed heights, the jaw's lower border at fixed x).
//  - contour_candidates: per jaw landmark, the vertices at its height from the front toward
//    the side of the head (below the jaw angle, along the jaw's lower border); for the chin
//    (8) the midline going down and under the chin.
//  - face_mask: face part from the hairline to the jaw's rounding, front ~155 deg; skin_mask:
//    face_mask without brows, lips, lid margins and nostrils.
//  - Identity: 51 modes (43 named anatomical deformations with sigmas of 1-5 mm, 8 smooth
//    random fields); expression: 23 PCA-kind modes whose full expression is reached at
//    coefficient kSampleExpressionFullCoefficient (eye_close_* there closes the eye exactly);
//    albedo: 24 modes (melanin, haemoglobin, lips, brows, hair, iris, beard shadow, ...).
#ifndef MORPHFIT_MODELS_SAMPLE_MODEL_H_
#define MORPHFIT_MODELS_SAMPLE_MODEL_H_

#include "morphfit/models/morphable_model.h"

namespace morphfit::models {

// Bumped whenever the generated model changes; stored in MorphableModel::generator_version.
constexpr int kSampleModelGeneratorVersion = 1;

// Expression coefficient (in sigma) at which each sample expression mode reaches its designed
// full extent: jaw fully open, eye_close_left/right fully closed (upper and lower lid margins
// coincide), and so on. One sigma is a moderate expression.
constexpr float kSampleExpressionFullCoefficient = 2.75f;

// Builds the sample model (~10.6k vertices, ~0.1 s). name "morphfit-sample-face", source
// "generated", units_note "generated in mm", expression kind kPca. Validate() passes.
MorphableModel MakeSampleModel();

}  // namespace morphfit::models

#endif  // MORPHFIT_MODELS_SAMPLE_MODEL_H_
