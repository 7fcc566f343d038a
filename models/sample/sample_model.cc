// MakeSampleModel: assembles the sample mesh, its annotations and its three linear blocks.
#include "morphfit/models/sample_model.h"

#include <vector>

#include <glog/logging.h>

#include "sample_internal.h"

namespace morphfit::models {
namespace sample {

void SetColumn(const std::vector<Eigen::Vector3d>& delta, int k, LinearBasis* basis) {
  CHECK_EQ(static_cast<Eigen::Index>(3 * delta.size()), basis->basis.rows());
  double norm2 = 0.0;
  for (size_t i = 0; i < delta.size(); ++i) {
    for (int c = 0; c < 3; ++c) basis->basis(3 * i + c, k) = static_cast<float>(delta[i][c]);
    norm2 += delta[i].squaredNorm();
  }
  basis->stddev[k] = static_cast<float>(std::sqrt(norm2));
}

}  // namespace sample

MorphableModel MakeSampleModel() {
  const sample::SampleMesh mesh = sample::BuildSampleMesh();
  MorphableModel model;
  model.name = "morphfit-sample-face";
  model.source = "generated";
  model.units_note = "generated in mm";
  model.generator_version = kSampleModelGeneratorVersion;
  const int n = static_cast<int>(mesh.vertices.size());
  model.shape_mean.resize(3 * n);
  model.uv.resize(2, n);
  for (int i = 0; i < n; ++i) {
    model.shape_mean.segment<3>(3 * i) = mesh.vertices[i].position.cast<float>();
    model.uv.col(i) = mesh.vertices[i].uv.cast<float>();
  }
  model.triangles.resize(3, static_cast<Eigen::Index>(mesh.triangles.size()));
  for (size_t t = 0; t < mesh.triangles.size(); ++t) model.triangles.col(t) = mesh.triangles[t];
  sample::BuildIdentityModes(mesh, &model.identity);
  sample::BuildExpressionModes(mesh, &model.expression);
  model.expression_kind = ExpressionKind::kPca;
  sample::BuildAlbedo(mesh, &model.albedo_mean, &model.albedo);
  sample::AddAnnotations(mesh, &model);
  VLOG(1) << "sample model: " << n << " vertices, " << model.num_triangles() << " triangles, "
          << model.num_identity() << " identity, " << model.num_expression() << " expression, "
          << model.num_albedo() << " albedo modes";
  return model;
}

}  // namespace morphfit::models
