// zlib-format chunk compression for the synthetic-set shards (chunk_codec.h).
#include "synth/chunk_codec.h"

#include <isa-l/igzip_lib.h>
#include <libdeflate.h>

#include <string>

#if defined(__AVX2__)
#include <immintrin.h>
#endif

namespace morphfit::synth::internal {
namespace {

// The calling thread's output buffer of at least `bytes` bytes, kept from chunk to chunk: the
// stream is written there and copied out at its exact length, so no chunk allocates and clears
// a buffer the size of its input.
std::vector<uint8_t>& Scratch(size_t bytes) {
  thread_local std::vector<uint8_t> scratch;
  if (scratch.size() < bytes) scratch.resize(bytes);
  return scratch;
}

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
  std::vector<uint8_t>& scratch = Scratch(bound);
  isal_zstream stream;
  isal_deflate_stateless_init(&stream);
  stream.next_in = const_cast<uint8_t*>(src);
  stream.avail_in = static_cast<uint32_t>(bytes);
  stream.next_out = scratch.data();
  stream.avail_out = static_cast<uint32_t>(bound);
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
  out->assign(scratch.data(), scratch.data() + stream.total_out);
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
  const size_t bound = libdeflate_zlib_compress_bound(tls.c, bytes);
  std::vector<uint8_t>& scratch = Scratch(bound);
  const size_t written = libdeflate_zlib_compress(tls.c, src, bytes, scratch.data(), bound);
  if (written == 0) {
    return InternalError("synth: deflate failed on a chunk of " + std::to_string(bytes) + " bytes");
  }
  out->assign(scratch.data(), scratch.data() + written);
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
  size_t done = 0;  // elements already shuffled by the vector loop
#if defined(__AVX2__)
  if (element_size == 2) {
    // 16 elements per step: bytes split into low and high halves within each 128-bit lane,
    // then the lanes' halves gathered.
    const __m256i split = _mm256_setr_epi8(0, 2, 4, 6, 8, 10, 12, 14, 1, 3, 5, 7, 9, 11, 13, 15,
                                           0, 2, 4, 6, 8, 10, 12, 14, 1, 3, 5, 7, 9, 11, 13, 15);
    uint8_t* low = out->data();
    uint8_t* high = low + n;
    for (; done + 16 <= n; done += 16) {
      __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(in + 2 * done));
      v = _mm256_permute4x64_epi64(_mm256_shuffle_epi8(v, split), _MM_SHUFFLE(3, 1, 2, 0));
      _mm_storeu_si128(reinterpret_cast<__m128i*>(low + done), _mm256_castsi256_si128(v));
      _mm_storeu_si128(reinterpret_cast<__m128i*>(high + done), _mm256_extracti128_si256(v, 1));
    }
  }
#endif
  for (int b = 0; b < element_size; ++b) {
    uint8_t* dst = out->data() + b * n;
    for (size_t i = done; i < n; ++i) dst[i] = in[i * element_size + b];
  }
}

}  // namespace morphfit::synth::internal
