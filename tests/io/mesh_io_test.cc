// OBJ/PLY: exact round trips (PLY colours quantised to 1/255), argument checks, and errors for
// truncated or malformed files.
#include "morphfit/io/mesh_io.h"

#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "../core/test_dir.h"
#include "morphfit/core/file_util.h"

namespace morphfit::io {
namespace {

// A small tetrahedron-like mesh with awkward floats (not exact in decimal).
struct TestMesh {
  Eigen::VectorXf vertices;
  Triangles triangles;
  Eigen::VectorXf colors;
};

TestMesh MakeTestMesh() {
  TestMesh mesh;
  mesh.vertices.resize(12);
  mesh.vertices << 0.1f, -2.5f, 3.3333333f, 1e-7f, 123456.78f, -0.0f, 7.0f, 8.125f, -9.9f,
      1.0f / 3.0f, 2.0f / 3.0f, 1e20f;
  mesh.triangles.resize(3, 4);
  mesh.triangles << 0, 0, 0, 1,
                    1, 2, 3, 2,
                    2, 3, 1, 3;
  mesh.colors.resize(12);
  mesh.colors << 0.0f, 0.5f, 1.0f, 0.2f, 0.4f, 0.6f, 1.5f, -0.2f, 0.999f, 0.25f, 0.75f, 0.1f;
  return mesh;
}

// PLY stores uchar colours: clamp to [0, 1], round to the nearest 1/255.
Eigen::VectorXf Quantized(const Eigen::VectorXf& colors) {
  Eigen::VectorXf q(colors.size());
  for (Eigen::Index i = 0; i < colors.size(); ++i) {
    q[i] = std::round(std::min(1.0f, std::max(0.0f, colors[i])) * 255.0f) / 255.0f;
  }
  return q;
}

TEST(MeshIoTest, ObjRoundTripIsExact) {
  TestDir dir;
  const TestMesh mesh = MakeTestMesh();
  const std::string path = dir.Path("face.obj");
  ASSERT_TRUE(WriteObj(path, mesh.vertices, mesh.triangles, &mesh.colors).ok());
  const std::string text = ReadFileToString(path).value();
  EXPECT_NE(text.find("\nv 0.1 -2.5 3.3333333 0 0.5 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("\nf 1 2 3\n"), std::string::npos) << "faces must be 1-based: " << text;
  const StatusOr<Mesh> read = ReadObj(path);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->num_vertices(), 4);
  EXPECT_EQ(read->vertices, mesh.vertices);
  EXPECT_EQ(read->triangles, mesh.triangles);
  EXPECT_EQ(read->colors, mesh.colors);

  ASSERT_TRUE(WriteObj(dir.Path("plain.obj"), mesh.vertices, mesh.triangles).ok());
  const StatusOr<Mesh> plain = ReadObj(dir.Path("plain.obj"));
  ASSERT_TRUE(plain.ok()) << plain.status();
  EXPECT_EQ(plain->vertices, mesh.vertices);
  EXPECT_EQ(plain->colors.size(), 0);
  EXPECT_EQ(dir.List(), (std::vector<std::string>{"face.obj", "plain.obj"}));
}

TEST(MeshIoTest, PlyBinaryAndAsciiRoundTrips) {
  TestDir dir;
  const TestMesh mesh = MakeTestMesh();
  for (bool binary : {true, false}) {
    const std::string path = dir.Path(binary ? "binary.ply" : "ascii.ply");
    ASSERT_TRUE(WritePly(path, mesh.vertices, mesh.triangles, &mesh.colors, binary).ok());
    const std::string text = ReadFileToString(path).value();
    EXPECT_NE(text.find(binary ? "format binary_little_endian 1.0\n" : "format ascii 1.0\n"),
              std::string::npos);
    EXPECT_NE(text.find("property uchar red\n"), std::string::npos);
    const StatusOr<Mesh> read = ReadPly(path);
    ASSERT_TRUE(read.ok()) << read.status();
    EXPECT_EQ(read->vertices, mesh.vertices) << (binary ? "binary" : "ascii");
    EXPECT_EQ(read->triangles, mesh.triangles);
    ASSERT_EQ(read->colors.size(), 12);
    EXPECT_TRUE(read->colors.isApprox(Quantized(mesh.colors), 1e-6f))
        << read->colors.transpose() << "\nvs\n" << Quantized(mesh.colors).transpose();
    EXPECT_EQ(read->colors[6], 1.0f);  // 1.5 clamped
    EXPECT_EQ(read->colors[7], 0.0f);  // -0.2 clamped
  }
  ASSERT_TRUE(WritePly(dir.Path("plain.ply"), mesh.vertices, mesh.triangles).ok());
  const StatusOr<Mesh> plain = ReadPly(dir.Path("plain.ply"));
  ASSERT_TRUE(plain.ok()) << plain.status();
  EXPECT_EQ(plain->colors.size(), 0);
  EXPECT_EQ(plain->triangles, mesh.triangles);
}

TEST(MeshIoTest, BinaryPlyLayoutIsLittleEndian) {
  TestDir dir;
  Eigen::VectorXf vertices(9);
  vertices << 1, 0, 0, 0, 1, 0, 0, 0, 1;
  Triangles triangles(3, 1);
  triangles << 0, 1, 2;
  ASSERT_TRUE(WritePly(dir.Path("one.ply"), vertices, triangles).ok());
  const std::string text = ReadFileToString(dir.Path("one.ply")).value();
  const size_t body = text.find("end_header\n") + 11;
  ASSERT_EQ(text.size() - body, 9 * 4 + 1 + 3 * 4u);
  // 1.0f = 0x3f800000, stored low byte first.
  EXPECT_EQ(text.substr(body, 4), std::string("\x00\x00\x80\x3f", 4));
  EXPECT_EQ(text.substr(body + 36, 5), std::string("\x03\x00\x00\x00\x00", 5));
}

TEST(MeshIoTest, ReadsPlyVariants) {
  TestDir dir;
  // Big-endian binary with double coordinates, an extra property, a quad and an extra element.
  std::string ply =
      "ply\r\nformat binary_big_endian 1.0\r\ncomment hand-made\r\nelement vertex 4\r\n"
      "property double x\r\nproperty double y\r\nproperty double z\r\nproperty float quality\r\n"
      "element face 1\r\nproperty list uchar uint vertex_index\r\n"
      "element edge 1\r\nproperty int a\r\nproperty int b\r\nend_header\r\n";
  auto append_be = [&ply](const void* data, size_t size) {
    const unsigned char* bytes = static_cast<const unsigned char*>(data);
    for (size_t i = 0; i < size; ++i) ply.push_back(static_cast<char>(bytes[size - 1 - i]));
  };
  for (int v = 0; v < 4; ++v) {
    const double xyz[3] = {static_cast<double>(v), 0.5 * v, -1.0 * v};
    for (double value : xyz) append_be(&value, 8);
    const float quality = 9.0f;
    append_be(&quality, 4);
  }
  ply.push_back(4);
  for (uint32_t index : {0u, 1u, 2u, 3u}) append_be(&index, 4);
  for (int32_t value : {0, 1}) append_be(&value, 4);
  std::ofstream(dir.Path("be.ply"), std::ios::binary) << ply;
  const StatusOr<Mesh> mesh = ReadPly(dir.Path("be.ply"));
  ASSERT_TRUE(mesh.ok()) << mesh.status();
  EXPECT_EQ(mesh->num_vertices(), 4);
  EXPECT_EQ(mesh->vertices[3 * 3 + 1], 1.5f);
  EXPECT_EQ(mesh->vertices[3 * 2 + 2], -2.0f);
  Triangles fan(3, 2);
  fan << 0, 0, 1, 2, 2, 3;
  EXPECT_EQ(mesh->triangles, fan);
}

TEST(MeshIoTest, ObjVariants) {
  TestDir dir;
  std::ofstream(dir.Path("v.obj"), std::ios::binary)
      << "# comment\r\nmtllib x.mtl\r\no thing\r\nv 0 0 0\r\nv 1 0 0 1.0\r\nv 1 1 0\r\n"
         "v 0 1 0\r\nvt 0 0\r\nvn 0 0 1\r\ns off\r\nf 1/1/1 2/1/1 3//1 4\r\nf -4 -3 -1\r\n";
  const StatusOr<Mesh> mesh = ReadObj(dir.Path("v.obj"));
  ASSERT_TRUE(mesh.ok()) << mesh.status();
  EXPECT_EQ(mesh->num_vertices(), 4);
  EXPECT_EQ(mesh->colors.size(), 0);
  Triangles expected(3, 3);
  expected << 0, 0, 0,
              1, 2, 1,
              2, 3, 3;
  EXPECT_EQ(mesh->triangles, expected);
}

TEST(MeshIoTest, WriterRejectsBadArgumentsAndLeavesNothing) {
  TestDir dir;
  const TestMesh mesh = MakeTestMesh();
  Triangles bad = mesh.triangles;
  bad(2, 3) = 4;
  const Status out_of_range = WriteObj(dir.Path("a.obj"), mesh.vertices, bad);
  EXPECT_EQ(out_of_range.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(out_of_range.message().find("triangle 3 has vertex index 4, expected [0, 4)"),
            std::string::npos)
      << out_of_range;
  const Eigen::VectorXf short_colors = Eigen::VectorXf::Zero(9);
  EXPECT_EQ(WritePly(dir.Path("a.ply"), mesh.vertices, mesh.triangles, &short_colors).code(),
            StatusCode::kInvalidArgument);
  const Eigen::VectorXf eleven = Eigen::VectorXf::Zero(11);
  EXPECT_EQ(WritePly(dir.Path("b.ply"), eleven, Triangles(3, 0)).code(),
            StatusCode::kInvalidArgument);
  Eigen::VectorXf nan_vertices = mesh.vertices;
  nan_vertices[5] = std::numeric_limits<float>::quiet_NaN();
  EXPECT_EQ(WriteObj(dir.Path("c.obj"), nan_vertices, mesh.triangles).code(),
            StatusCode::kInvalidArgument);
  EXPECT_TRUE(dir.List().empty());
  const Status missing_dir = WritePly(dir.Path("no/x.ply"), mesh.vertices, mesh.triangles);
  EXPECT_EQ(missing_dir.code(), StatusCode::kNotFound);
  EXPECT_TRUE(dir.List().empty());
}

void ExpectDataLoss(const StatusOr<Mesh>& mesh, const std::string& fragment) {
  ASSERT_FALSE(mesh.ok()) << "expected an error containing: " << fragment;
  EXPECT_EQ(mesh.status().code(), StatusCode::kDataLoss) << mesh.status();
  EXPECT_NE(mesh.status().message().find(fragment), std::string::npos)
      << mesh.status() << "\n  wanted: " << fragment;
}

TEST(MeshIoTest, TruncatedPlyIsDataLoss) {
  TestDir dir;
  const TestMesh mesh = MakeTestMesh();
  for (bool binary : {true, false}) {
    const std::string path = dir.Path("full.ply");
    ASSERT_TRUE(WritePly(path, mesh.vertices, mesh.triangles, &mesh.colors, binary).ok());
    const std::string full = ReadFileToString(path).value();
    const size_t body = full.find("end_header\n") + 11;
    // Cut inside the last face, inside the vertices, and right after the header.
    for (size_t cut : {full.size() - 3, body + 20, body}) {
      std::ofstream(dir.Path("cut.ply"), std::ios::binary) << full.substr(0, cut);
      ExpectDataLoss(ReadPly(dir.Path("cut.ply")), "cut.ply: ");
      ExpectDataLoss(ReadPly(dir.Path("cut.ply")), "truncated");
    }
  }
}

TEST(MeshIoTest, BadPlyHeadersAreDataLoss) {
  TestDir dir;
  auto read = [&dir](const std::string& text) {
    std::ofstream(dir.Path("h.ply"), std::ios::binary) << text;
    return ReadPly(dir.Path("h.ply"));
  };
  ExpectDataLoss(read("PLY\nformat ascii 1.0\nend_header\n"), "not a PLY file");
  ExpectDataLoss(read(""), "not a PLY file");
  ExpectDataLoss(read("ply\nformat ascii 1.0\nelement vertex 1\nproperty float x\n"),
                 "no 'end_header'");
  ExpectDataLoss(read("ply\nelement vertex 0\nend_header\n"), "no 'format'");
  ExpectDataLoss(read("ply\nformat zip 1.0\nend_header\n"), "unknown format 'zip'");
  ExpectDataLoss(read("ply\nformat ascii 1.0\nelement vertex 1\nproperty half x\nend_header\n"),
                 "h.ply header line 4: expected 'property <type> <name>'");
  ExpectDataLoss(read("ply\nformat ascii 1.0\nelement vertex x\nend_header\n"),
                 "expected 'element <name> <count>'");
  ExpectDataLoss(read("ply\nformat ascii 1.0\nelement vertex 1\nproperty float x\n"
                      "property float y\nend_header\n1 2\n"),
                 "lacks an x, y or z");
  ExpectDataLoss(read("ply\nformat ascii 1.0\nelement vertex 3\nproperty float x\n"
                      "property float y\nproperty float z\nelement face 1\n"
                      "property list uchar int vertex_indices\nend_header\n"
                      "0 0 0\n1 0 0\n0 1 0\n3 0 1 3\n"),
                 "face 0 uses vertex index 3, expected [0, 3)");
  ExpectDataLoss(read("ply\nformat binary_little_endian 1.0\nelement vertex 1000000000\n"
                      "property float x\nproperty float y\nproperty float z\nend_header\n"),
                 "header declares 1000000000 'vertex' records");
  ExpectDataLoss(read("ply\nformat ascii 1.0\nelement vertex 1\nproperty float x\n"
                      "property float y\nproperty float z\nend_header\n1 oops 3\n"),
                 "non-number");
  const StatusOr<Mesh> missing = ReadPly(dir.Path("absent.ply"));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
}

TEST(MeshIoTest, BadObjLinesAreDataLoss) {
  TestDir dir;
  auto read = [&dir](const std::string& text) {
    std::ofstream(dir.Path("m.obj"), std::ios::binary) << text;
    return ReadObj(dir.Path("m.obj"));
  };
  ExpectDataLoss(read("v 1 2\n"), "m.obj line 1: expected 'v x y z' or 'v x y z r g b'");
  ExpectDataLoss(read("v 0 0 0\nv 1 x 0\n"), "m.obj line 2: 'x' is not a number");
  ExpectDataLoss(read("v 0 0 0 1 1 1\nv 1 0 0\n"), "line 2: some vertices have colours");
  ExpectDataLoss(read("v 0 0 0\nv 1 0 0\nf 1 2\n"), "line 3: a face needs at least 3 vertices");
  ExpectDataLoss(read("v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 0\n"), "line 4: '0' is not a vertex");
  ExpectDataLoss(read("v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 -4\n"),
                 "line 4: vertex index -4 is outside the 3 vertices");
  ExpectDataLoss(read("v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 4\n"),
                 "m.obj: face vertex index 4 (1-based) is beyond the 3 vertices");
}

}  // namespace
}  // namespace morphfit::io
