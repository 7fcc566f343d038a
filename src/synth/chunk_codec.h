// Private to src/synth: the zlib-format (RFC 1950) compression of one chunk, the stream HDF5's
// deflate filter decodes, so that any HDF5 reader (h5py included) reads the shards without a
// plugin. Level 1 uses ISA-L's igzip (Intel ISA-L, Debian libisal-dev), levels 2..9 libdeflate
// at that level. Measured on 224 x 224 sample-model renders (bench/RESULTS.md, "Synthetic
// sets"): igzip level 1 takes about a third of libdeflate level 1's CPU time per sample for a
// few per cent more bytes.
#ifndef MORPHFIT_SRC_SYNTH_CHUNK_CODEC_H_
#define MORPHFIT_SRC_SYNTH_CHUNK_CODEC_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "morphfit/core/status.h"

namespace morphfit::synth::internal {

// Compresses `bytes` bytes at `src` into `out` (resized to the stream's length) at `level`
// (1..9; out of range is an InvalidArgument error). Thread-safe: each thread keeps its own
// compressor state. The stream depends only on the input, the level and the library build.
Status ZlibCompress(const uint8_t* src, size_t bytes, int level, std::vector<uint8_t>* out);

// Byte shuffle (HDF5's shuffle filter): all first bytes, then all second bytes, ...
void Shuffle(const uint8_t* in, size_t bytes, int element_size, std::vector<uint8_t>* out);

}  // namespace morphfit::synth::internal

#endif  // MORPHFIT_SRC_SYNTH_CHUNK_CODEC_H_
