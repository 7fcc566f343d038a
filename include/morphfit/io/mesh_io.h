// Triangle meshes with optional per-vertex colour as Wavefront OBJ and Stanford PLY, for
// looking at fitted faces in MeshLab/Blender and for round-trip tests.
//
// Shapes and conventions: vertices are a flat 3N vector (x0 y0 z0 x1 ...), in the model's
// units (usually mm); triangles are 3 x M, 0-based vertex indices; colours are a flat 3N
// vector of linear r g b in [0, 1]. OBJ stores colours as extra `v x y z r g b` values and
// 1-based faces; PLY stores colours as uchar red/green/blue (value * 255, clamped, rounded), so
// a PLY round trip quantises colours to 1/255.
#ifndef MORPHFIT_IO_MESH_IO_H_
#define MORPHFIT_IO_MESH_IO_H_

#include <cstdint>
#include <string>

#include <Eigen/Core>

#include "morphfit/core/status.h"

namespace morphfit::io {

using Triangles = Eigen::Matrix<int32_t, 3, Eigen::Dynamic>;

struct Mesh {
  Eigen::VectorXf vertices;  // 3N
  Triangles triangles;       // 3 x M, 0-based
  Eigen::VectorXf colors;    // 3N rgb in [0, 1], or empty when the file has none
  int64_t num_vertices() const { return vertices.size() / 3; }
};

// Writes an OBJ atomically. `colors` may be nullptr. InvalidArgument if vertices.size() is not
// a multiple of 3, a triangle index is outside [0, N), colours are not 3N long, or a value is
// NaN/Inf. Floats are written with 9 significant digits, so they read back exactly.
Status WriteObj(const std::string& path, const Eigen::VectorXf& vertices,
                const Triangles& triangles, const Eigen::VectorXf* colors = nullptr);

// Writes a PLY atomically: `binary_little_endian 1.0` (default) or `ascii 1.0`, with float
// x/y/z, optional uchar red/green/blue, and faces as `list uchar int vertex_indices`. Same
// argument checks as WriteObj.
Status WritePly(const std::string& path, const Eigen::VectorXf& vertices,
                const Triangles& triangles, const Eigen::VectorXf* colors = nullptr,
                bool binary = true);

// Reads a PLY: ascii, binary_little_endian or binary_big_endian; vertex x/y/z of any scalar
// type; optional red/green/blue (8- and 32-bit integers / 255, 16-bit / 65535, floats as is);
// faces from `vertex_indices` or `vertex_index` lists (polygons are fan-triangulated); other
// elements and properties are skipped. DataLoss naming the file for a bad header, a body that
// ends early (truncated), or an index outside the vertex range; NotFound if missing.
StatusOr<Mesh> ReadPly(const std::string& path);

// Reads an OBJ: `v x y z [w | r g b]` and `f` lines (forms i, i/t, i/t/n, i//n; a negative
// index counts back from the last vertex defined so far; polygons are fan-triangulated); other
// statements (vt, vn, g, o, s, usemtl, mtllib, comments) are ignored. Colours are returned
// only if every vertex has them. DataLoss naming the file and line for a malformed line, a
// mix of coloured and uncoloured vertices, or an index outside the vertex range.
StatusOr<Mesh> ReadObj(const std::string& path);

}  // namespace morphfit::io

#endif  // MORPHFIT_IO_MESH_IO_H_
