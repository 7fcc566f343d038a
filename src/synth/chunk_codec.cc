// zlib-format chunk compression for the synthetic-set shards (chunk_codec.h).
#include "synth/chunk_codec.h"

#include <isa-l/igzip_lib.h>
#include <libdeflate.h>

#include <string>

namespace morphfit::synth::internal {
namespace {

// igzip level 1 with its default hash buffer; one per thread.
Status IgzipCompress(const uint8_t* src, size_t bytes, std::vector<uint8_t>* out) {
  thread_local std::vector<uint8_t> level_buffer(ISAL_DEF_LVL1_DEFAULT);
  // Stateless output must fit the buffer: at worst the input in stored blocks (5 bytes per
  // 64 KiB block) plus the zlib header and trailer.
  const size_t bound = bytes + 5 * (bytes / 65535 + 1) + 64;
  if (bytes > UINT32_MAX || bound > UINT32_MAX) {
    return InvalidArgumentError("synth: chunk of " + std::to_string(bytes) +
                                " bytes is too large to compress in one piece");
  }
  out->resize(bound);
  isal_zstream stream;
  isal_deflate_stateless_init(&stream);
  stream.next_in = const_cast<uint8_t*>(src);
  stream.avail_in = static_cast<uint32_t>(bytes);
  stream.next_out = out->data();
  stream.avail_out = static_cast<uint32_t>(out->size());
  stream.level = 1;
  stream.level_buf = level_buffer.data();
  stream.level_buf_size = static_cast<uint32_t>(level_buffer.size());
  stream.gzip_flag = IGZIP_ZLIB;
  stream.end_of_stream = 1;
  stream.flush = NO_FLUSH;
  const int result = isal_deflate_stateless(&stream);
  if (result != COMP_OK) {
    return InternalError("synth: igzip failed on a chunk of " + std::to_string(bytes) +
                         " bytes (code " + std::to_string(result) + ")");
  }
  out->resize(stream.total_out);
  return OkStatus();
}

Status LibdeflateCompress(const uint8_t* src, size_t bytes, int level, std::vector<uint8_t>* out) {
  // One compressor per thread and level (libdeflate compressors are not thread-safe).
  struct Compressor {
    libdeflate_compressor* c = nullptr;
    int level = 0;
    ~Compressor() {
      if (c != nullptr) libdeflate_free_compressor(c);
    }
  };
  thread_local Compressor tls;
  if (tls.c == nullptr || tls.level != level) {
    if (tls.c != nullptr) libdeflate_free_compressor(tls.c);
    tls.c = libdeflate_alloc_compressor(level);
    tls.level = level;
    if (tls.c == nullptr) return InternalError("synth: cannot allocate a deflate compressor");
  }
  out->resize(libdeflate_zlib_compress_bound(tls.c, bytes));
  const size_t written = libdeflate_zlib_compress(tls.c, src, bytes, out->data(), out->size());
  if (written == 0) {
    return InternalError("synth: deflate failed on a chunk of " + std::to_string(bytes) + " bytes");
  }
  out->resize(written);
  return OkStatus();
}

}  // namespace

Status ZlibCompress(const uint8_t* src, size_t bytes, int level, std::vector<uint8_t>* out) {
  if (level < 1 || level > 9) {
    return InvalidArgumentError("synth: compression level must be in [1, 9], got " +
                                std::to_string(level));
  }
  return level == 1 ? IgzipCompress(src, bytes, out) : LibdeflateCompress(src, bytes, level, out);
}

void Shuffle(const uint8_t* in, size_t bytes, int element_size, std::vector<uint8_t>* out) {
  out->resize(bytes);
  const size_t n = bytes / element_size;
  for (int b = 0; b < element_size; ++b) {
    uint8_t* dst = out->data() + b * n;
    for (size_t i = 0; i < n; ++i) dst[i] = in[i * element_size + b];
  }
}

}  // namespace morphfit::synth::internal
