// MAT-file reading (matio, after an own integrity walk of v5/v7 files) and writing (matio).
// The element layout walked here is docs/FORMATS.md section 0: 128-byte header, then one element
// per variable, each either a miMATRIX (14) or a miCOMPRESSED (15) zlib stream that inflates to
// one miMATRIX; inside: array flags, dims (int32), name (int8), then the data in any mi* type.
#include "mat_file.h"

#include <matio.h>
#include <zlib.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <limits>
#include <mutex>
#include <sstream>
#include <type_traits>

#include "core/hdf5_util.h"
#include "morphfit/core/file_util.h"
#include "morphfit/core/thread_pool.h"

namespace morphfit::models::mat {

// ---- matio logging: kept out of stderr; the last message goes into our errors. -----------
static thread_local std::string g_last_matio_message;
static void MatioLog(int /*level*/, char* message) { g_last_matio_message = message ? message : ""; }
void InitMatio() {
  static std::once_flag once;
  std::call_once(once, [] {
    Mat_LogInitFunc("morphfit", &MatioLog);
    h5::SilenceErrors();
  });
}
std::string MatioReason() {
  return g_last_matio_message.empty() ? std::string() : " (matio: " + g_last_matio_message + ")";
}

namespace {

// ---- v5 element walk ----------------------------------------------------------------------
enum MiType : uint32_t {
  miINT8 = 1, miUINT8 = 2, miINT16 = 3, miUINT16 = 4, miINT32 = 5, miUINT32 = 6, miSINGLE = 7,
  miDOUBLE = 9, miINT64 = 12, miUINT64 = 13, miMATRIX = 14, miCOMPRESSED = 15, miUTF8 = 16,
  miUTF16 = 17, miUTF32 = 18,
};

size_t MiSize(uint32_t t) {
  switch (t) {
    case miINT8: case miUINT8: case miUTF8: return 1;
    case miINT16: case miUINT16: case miUTF16: return 2;
    case miINT32: case miUINT32: case miSINGLE: case miUTF32: return 4;
    case miDOUBLE: case miINT64: case miUINT64: return 8;
    default: return 0;
  }
}

MatClass StorageClass(uint32_t t) {
  switch (t) {
    case miINT8: return MatClass::kInt8;
    case miUINT8: case miUTF8: return MatClass::kUint8;
    case miINT16: return MatClass::kInt16;
    case miUINT16: case miUTF16: return MatClass::kUint16;
    case miINT32: return MatClass::kInt32;
    case miUINT32: case miUTF32: return MatClass::kUint32;
    case miSINGLE: return MatClass::kSingle;
    case miDOUBLE: return MatClass::kDouble;
    case miINT64: return MatClass::kInt64;
    case miUINT64: return MatClass::kUint64;
    default: return MatClass::kUnknown;
  }
}

struct Element {
  uint32_t type = 0;
  size_t nbytes = 0;
  size_t data = 0;  // offset of the payload
  size_t end = 0;   // offset after the element (padding included)
};

class Walker {
 public:
  Walker(const std::string& file, bool swap, std::map<std::string, MatVarInfo>* info)
      : file_(file), swap_(swap), info_(info) {}

  uint32_t U32(const uint8_t* p) const {
    uint32_t v;
    std::memcpy(&v, p, 4);
    return swap_ ? __builtin_bswap32(v) : v;
  }

  // Reads the tag at `pos` of a buffer of `len` bytes; `pad` pads the payload to 8 bytes.
  Status Tag(const uint8_t* b, size_t len, size_t pos, bool pad, const std::string& what,
             Element* e) const {
    if (pos + 8 > len) return Corrupt(what, "element tag at byte " + std::to_string(pos) +
                                                " runs past the end of its container");
    const uint32_t first = U32(b + pos);
    if ((first >> 16) != 0) {  // small data element: 2-byte size, 2-byte type, 4 bytes of data
      e->type = first & 0xffff;
      e->nbytes = first >> 16;
      if (e->nbytes > 4) return Corrupt(what, "small element claims " + std::to_string(e->nbytes) + " bytes");
      e->data = pos + 4;
      e->end = pos + 8;
      return OkStatus();
    }
    e->type = first;
    e->nbytes = U32(b + pos + 4);
    e->data = pos + 8;
    const size_t padded = pad ? (e->nbytes + 7) / 8 * 8 : e->nbytes;
    if (e->nbytes > len - e->data) {
      return Corrupt(what, "element at byte " + std::to_string(pos) + " declares " +
                               std::to_string(e->nbytes) + " bytes but only " +
                               std::to_string(len - e->data) + " remain (truncated file?)");
    }
    e->end = std::min(len, e->data + padded);
    return OkStatus();
  }

  Status Corrupt(const std::string& what, const std::string& detail) const {
    return DataLossError(file_ + ": variable '" + what + "' is corrupt: " + detail);
  }

  // Validates one miMATRIX payload b[0, len); records its info under `name` when it has one.
  Status Matrix(const uint8_t* b, size_t len, const std::string& context, int depth,
                std::string* name_out) {
    if (depth > 8) return Corrupt(context, "nested more than 8 levels deep");
    if (len == 0) {  // an empty array (e.g. an unset struct field)
      last_ = MatVarInfo();
      return OkStatus();
    }
    Element flags, dims, name;
    MORPHFIT_RETURN_IF_ERROR(Tag(b, len, 0, true, context, &flags));
    if (flags.type != miUINT32 || flags.nbytes != 8) {
      return Corrupt(context, "array flags element has type " + std::to_string(flags.type) +
                                  " and " + std::to_string(flags.nbytes) + " bytes, expected miUINT32 and 8");
    }
    const uint32_t f0 = U32(b + flags.data);
    MatVarInfo info;
    info.cls = static_cast<MatClass>(f0 & 0xff);
    info.is_complex = (f0 & 0x0800) != 0;
    MORPHFIT_RETURN_IF_ERROR(Tag(b, len, flags.end, true, context, &dims));
    if (dims.type != miINT32 || dims.nbytes < 8 || dims.nbytes % 4 != 0) {
      return Corrupt(context, "dimensions element is not 2 or more int32 values");
    }
    size_t numel = 1;
    for (size_t i = 0; i < dims.nbytes / 4; ++i) {
      const int32_t d = static_cast<int32_t>(U32(b + dims.data + 4 * i));
      if (d < 0) return Corrupt(context, "negative dimension " + std::to_string(d));
      info.dims.push_back(static_cast<size_t>(d));
      if (d != 0 && numel > (size_t{1} << 40) / static_cast<size_t>(d)) {
        return Corrupt(context, "dimensions " + info.DimsString() + " are implausibly large");
      }
      numel *= static_cast<size_t>(d);
    }
    MORPHFIT_RETURN_IF_ERROR(Tag(b, len, dims.end, true, context, &name));
    if (name.type != miINT8) return Corrupt(context, "name element is not int8 text");
    std::string var_name(reinterpret_cast<const char*>(b + name.data), name.nbytes);
    if (name_out) *name_out = var_name;
    const std::string here = context.empty() ? var_name : context;
    size_t pos = name.end;

    const int cls = static_cast<int>(info.cls);
    if (cls == 4 || (cls >= 6 && cls <= 15)) {  // char or numeric: real (and imaginary) parts
      for (int part = 0; part < (info.is_complex ? 2 : 1); ++part) {
        Element data;
        MORPHFIT_RETURN_IF_ERROR(Tag(b, len, pos, true, here, &data));
        const size_t size = MiSize(data.type);
        if (size == 0) {
          return Corrupt(here, "data element has unknown type " + std::to_string(data.type));
        }
        // UTF-8 text may use several bytes per character; everything else is exact.
        const bool exact = !(cls == 4 && data.type == miUTF8);
        if (exact && data.nbytes != numel * size) {
          return Corrupt(here, "dims " + info.DimsString() + " need " + std::to_string(numel) +
                                   " values (" + std::to_string(numel * size) +
                                   " bytes) but the data element holds " +
                                   std::to_string(data.nbytes) + " bytes");
        }
        if (part == 0) info.storage = StorageClass(data.type);
        pos = data.end;
      }
    } else if (cls == 2 || cls == 1) {  // struct or cell: nested miMATRIX elements
      size_t num_fields = 1;
      std::vector<std::string> field_names;
      if (cls == 2) {
        Element name_len, names;
        MORPHFIT_RETURN_IF_ERROR(Tag(b, len, pos, true, here, &name_len));
        if (name_len.type != miINT32 || name_len.nbytes != 4) {
          return Corrupt(here, "struct field-name length element is not one int32");
        }
        const uint32_t fl = U32(b + name_len.data);
        MORPHFIT_RETURN_IF_ERROR(Tag(b, len, name_len.end, true, here, &names));
        if (fl == 0 || names.type != miINT8 || names.nbytes % fl != 0) {
          return Corrupt(here, "struct field names element does not hold whole names");
        }
        num_fields = names.nbytes / fl;
        for (size_t k = 0; k < num_fields; ++k) {
          const char* s = reinterpret_cast<const char*>(b + names.data + k * fl);
          field_names.emplace_back(s, strnlen(s, fl));
        }
        pos = names.end;
      }
      if (numel > (size_t{1} << 24) / std::max<size_t>(num_fields, 1)) {
        return Corrupt(here, "too many struct or cell elements");
      }
      for (size_t i = 0; i < numel * num_fields; ++i) {
        Element sub;
        const std::string field =
            cls == 2 ? here + "." + field_names[i % num_fields] : here + "{" + std::to_string(i) + "}";
        MORPHFIT_RETURN_IF_ERROR(Tag(b, len, pos, true, field, &sub));
        if (sub.type != miMATRIX) return Corrupt(field, "element is not a miMATRIX");
        MORPHFIT_RETURN_IF_ERROR(Matrix(b + sub.data, sub.nbytes, field, depth + 1, nullptr));
        if (cls == 2 && numel == 1 && !field_names[i].empty()) {
          (*info_)[field] = last_;
        }
        pos = sub.end;
      }
    }
    // Sparse, object and opaque classes are only bounds-checked (the loaders never read them).
    last_ = info;
    if (depth == 0) (*info_)[var_name] = info;
    return OkStatus();
  }

  // Best-effort name of a (possibly truncated) miMATRIX payload, for error messages.
  std::string PeekName(const uint8_t* b, size_t len) const {
    Element flags, dims, name;
    if (!Tag(b, len, 0, true, "", &flags).ok() || !Tag(b, len, flags.end, true, "", &dims).ok() ||
        !Tag(b, len, dims.end, true, "", &name).ok() || name.type != miINT8) {
      return "";
    }
    return std::string(reinterpret_cast<const char*>(b + name.data), name.nbytes);
  }

  // Walks the whole file `bytes` (header included); fills names in file order. Top-level
  // elements are found first (cheap), then checked concurrently, each by its own Walker: the
  // zlib inflation of compressed variables dominates, and variables are independent.
  Status File(const std::string& bytes, std::vector<std::string>* names) {
    const auto* b = reinterpret_cast<const uint8_t*>(bytes.data());
    const size_t len = bytes.size();
    struct Top {
      size_t pos, data, nbytes, avail;
      uint32_t type;
      bool truncated;
    };
    std::vector<Top> tops;
    for (size_t pos = 128; pos < len;) {
      const std::string what = "#" + std::to_string(tops.size() + 1);
      if (len - pos < 8) {
        return Corrupt(what, std::to_string(len - pos) + " stray bytes at the end of the file");
      }
      Top t;
      t.pos = pos;
      t.type = U32(b + pos);
      t.nbytes = U32(b + pos + 4);
      t.data = pos + 8;
      t.avail = std::min(t.nbytes, len - t.data);
      t.truncated = t.nbytes > len - t.data;
      if (t.type != miMATRIX && t.type != miCOMPRESSED) {
        return Corrupt(what, "top-level element at byte " + std::to_string(pos) + " has type " +
                                 std::to_string(t.type) +
                                 ", expected miMATRIX (14) or miCOMPRESSED (15)");
      }
      tops.push_back(t);
      if (t.truncated) break;  // reported below, with the variable's name when it can be read
      pos = t.data + (t.type == miMATRIX ? (t.nbytes + 7) / 8 * 8 : t.nbytes);
    }
    struct Result {
      Status status;
      std::string name;
      std::map<std::string, MatVarInfo> info;
    };
    std::vector<Result> results(tops.size());
    ThreadPool pool(std::min<int>(2, static_cast<int>(tops.size())));
    pool.ParallelFor(0, static_cast<int64_t>(tops.size()), [&](int64_t k) {
      Walker walker(file_, swap_, &results[k].info);
      results[k].status = walker.CheckTopLevel(b, tops[k].pos, tops[k].data, tops[k].nbytes,
                                         tops[k].avail, tops[k].type, tops[k].truncated,
                                         "#" + std::to_string(k + 1), &results[k].name);
    });
    for (Result& r : results) {  // the first problem in file order is the one reported
      MORPHFIT_RETURN_IF_ERROR(r.status);
      names->push_back(r.name);
      for (auto& [key, value] : r.info) (*info_)[key] = std::move(value);
    }
    return OkStatus();
  }

  // Checks one top-level element (miMATRIX or miCOMPRESSED) whose payload starts at b + data.
  Status CheckTopLevel(const uint8_t* b, size_t pos, size_t data, size_t nbytes, size_t avail,
                 uint32_t type, bool truncated, std::string what, std::string* name) {
    if (type == miMATRIX) {
      if (truncated) {
        const std::string peek = PeekName(b + data, avail);
        return Corrupt(peek.empty() ? what : peek,
                       "element at byte " + std::to_string(pos) + " declares " +
                           std::to_string(nbytes) + " bytes but only " + std::to_string(avail) +
                           " remain (truncated file)");
      }
      return Matrix(b + data, nbytes, "", 0, name);
    }
    std::string inflated;
    const std::string error = Inflate(b + data, avail, &inflated);
    const auto* in = reinterpret_cast<const uint8_t*>(inflated.data());
    if (inflated.size() > 8) {
      const std::string peek = PeekName(in + 8, inflated.size() - 8);
      if (!peek.empty()) what = peek;
    }
    if (truncated) {
      return Corrupt(what, "compressed element at byte " + std::to_string(pos) + " declares " +
                               std::to_string(nbytes) + " bytes but only " +
                               std::to_string(avail) + " remain (truncated file)");
    }
    if (!error.empty()) return Corrupt(what, error);
    Element inner;
    MORPHFIT_RETURN_IF_ERROR(Tag(in, inflated.size(), 0, false, what, &inner));
    if (inner.type != miMATRIX || inner.data + inner.nbytes != inflated.size()) {
      return Corrupt(what, "compressed element inflates to " + std::to_string(inflated.size()) +
                               " bytes, which is not one whole miMATRIX element");
    }
    return Matrix(in + 8, inner.nbytes, "", 0, name);
  }

  // Inflates a zlib stream into *out (also on failure: the partial output names the variable).
  // Returns "" when the stream ends (Z_STREAM_END) within the `n` input bytes, else why not.
  std::string Inflate(const uint8_t* in, size_t n, std::string* out) const {
    z_stream z{};
    out->clear();
    if (inflateInit(&z) != Z_OK) return "zlib inflateInit failed";
    size_t fed = 0, have = 0;
    // Start small; once the inner element's tag is out, size the buffer to exactly what it
    // declares (when plausible), so a 128 MB variable costs 128 MB, not a doubling series.
    out->resize(4096);
    bool sized = false;
    int rc = Z_OK;
    while (rc == Z_OK) {
      if (!sized && have >= 8) {
        sized = true;
        uint32_t declared;
        std::memcpy(&declared, out->data() + 4, 4);
        if (swap_) declared = __builtin_bswap32(declared);
        const size_t want = size_t{8} + declared + 64;  // slack: the stream end needs no room
        if (want > out->size() && want <= 1000 * n + 4096) out->resize(want);
      }
      if (have == out->size()) {
        if (out->size() > (size_t{1} << 36)) break;
        out->resize(out->size() * 2);
      }
      if (z.avail_in == 0 && fed < n) {
        const size_t more = std::min<size_t>(n - fed, std::numeric_limits<uInt>::max());
        z.next_in = const_cast<Bytef*>(in + fed);
        z.avail_in = static_cast<uInt>(more);
        fed += more;
      }
      const size_t room = std::min<size_t>(out->size() - have, std::numeric_limits<uInt>::max());
      z.next_out = reinterpret_cast<Bytef*>(&(*out)[have]);
      z.avail_out = static_cast<uInt>(room);
      rc = inflate(&z, Z_NO_FLUSH);
      have += room - z.avail_out;
      if (rc == Z_BUF_ERROR && z.avail_in == 0 && fed == n) break;  // input ran out
      if (rc == Z_BUF_ERROR) rc = Z_OK;
    }
    const std::string msg = z.msg ? z.msg : "";
    inflateEnd(&z);
    out->resize(have);
    if (rc == Z_STREAM_END) return "";
    if (rc == Z_DATA_ERROR) return "compressed data are corrupt (zlib: " + msg + ")";
    if (rc == Z_OK || rc == Z_BUF_ERROR) {
      return "the compressed stream ends early after " + std::to_string(have) +
             " inflated bytes (truncated file?)";
    }
    return "zlib error " + std::to_string(rc) + (msg.empty() ? "" : ": " + msg);
  }

 private:
  std::string file_;
  bool swap_;
  std::map<std::string, MatVarInfo>* info_;
  MatVarInfo last_;
};

MatClass FromMatio(matio_classes c) { return static_cast<MatClass>(static_cast<int>(c)); }

MatClass FromMatioType(matio_types t) {
  switch (t) {
    case MAT_T_INT8: return MatClass::kInt8;
    case MAT_T_UINT8: return MatClass::kUint8;
    case MAT_T_INT16: return MatClass::kInt16;
    case MAT_T_UINT16: return MatClass::kUint16;
    case MAT_T_INT32: return MatClass::kInt32;
    case MAT_T_UINT32: return MatClass::kUint32;
    case MAT_T_SINGLE: return MatClass::kSingle;
    case MAT_T_DOUBLE: return MatClass::kDouble;
    case MAT_T_INT64: return MatClass::kInt64;
    case MAT_T_UINT64: return MatClass::kUint64;
    default: return MatClass::kUnknown;
  }
}

MatVarInfo InfoOf(const matvar_t* v) {
  MatVarInfo info;
  info.cls = FromMatio(v->class_type);
  info.storage = FromMatioType(v->data_type);
  if (info.storage == MatClass::kUnknown) info.storage = info.cls;
  info.is_complex = v->isComplex != 0;
  for (int i = 0; i < v->rank; ++i) info.dims.push_back(v->dims[i]);
  return info;
}

template <typename T, typename S>
void ConvertFrom(const void* src, size_t n, T* dst) {
  const S* s = static_cast<const S*>(src);
  for (size_t i = 0; i < n; ++i) dst[i] = static_cast<T>(s[i]);
}

}  // namespace

// ---- MatVarInfo / MatArray ------------------------------------------------------------------

const char* MatClassName(MatClass c) {
  switch (c) {
    case MatClass::kCell: return "cell";
    case MatClass::kStruct: return "struct";
    case MatClass::kChar: return "char";
    case MatClass::kDouble: return "double";
    case MatClass::kSingle: return "single";
    case MatClass::kInt8: return "int8";
    case MatClass::kUint8: return "uint8";
    case MatClass::kInt16: return "int16";
    case MatClass::kUint16: return "uint16";
    case MatClass::kInt32: return "int32";
    case MatClass::kUint32: return "uint32";
    case MatClass::kInt64: return "int64";
    case MatClass::kUint64: return "uint64";
    default: return "unknown";
  }
}

size_t MatVarInfo::numel() const {
  size_t n = dims.empty() ? 0 : 1;
  for (size_t d : dims) n *= d;
  return n;
}

std::string MatVarInfo::DimsString() const {
  std::string s;
  for (size_t i = 0; i < dims.size(); ++i) s += (i ? "x" : "") + std::to_string(dims[i]);
  return s.empty() ? "(none)" : s;
}

template <typename T>
size_t MatArray<T>::cols() const {
  size_t c = dims.size() > 1 ? 1 : 0;
  for (size_t i = 1; i < dims.size(); ++i) c *= dims[i];
  return c;
}
template struct MatArray<float>;
template struct MatArray<double>;
template struct MatArray<int32_t>;

// ---- MatFile --------------------------------------------------------------------------------

struct MatFile::Impl {
  mat_t* mat = nullptr;
  mutable std::map<std::string, matvar_t*> structs;  // struct variables read once, by name
  ~Impl() {
    for (auto& [name, v] : structs) Mat_VarFree(v);
    if (mat) Mat_Close(mat);
  }
};

MatFile::~MatFile() = default;

StatusOr<std::unique_ptr<MatFile>> MatFile::Open(const std::string& path) {
  InitMatio();
  if (!FileExists(path)) return NotFoundError("'" + path + "': no such file");
  MORPHFIT_ASSIGN_OR_RETURN(std::string bytes, ReadFileToString(path));
  if (bytes.size() < 128 || bytes.compare(0, 6, "MATLAB") != 0) {
    return InvalidArgumentError("'" + path + "' is not a MAT file: expected a 128-byte header "
                                "starting with 'MATLAB', found " +
                                (bytes.size() < 128 ? std::to_string(bytes.size()) + " bytes"
                                                    : "'" + bytes.substr(0, 6) + "'"));
  }
  const std::string endian = bytes.substr(126, 2);
  if (endian != "IM" && endian != "MI") {
    return InvalidArgumentError("'" + path + "' is not a MAT file: endian marker is not 'IM' or 'MI'");
  }
  const bool swap = endian == "MI";
  uint16_t version;
  std::memcpy(&version, bytes.data() + 124, 2);
  if (swap) version = __builtin_bswap16(version);
  std::unique_ptr<MatFile> f(new MatFile());
  f->path_ = path;
  f->impl_ = std::make_unique<Impl>();
  if (version == 0x0100) {
    f->version_ = MatVersion::kV5;
    Walker walker(path, swap, &f->info_);
    MORPHFIT_RETURN_IF_ERROR(walker.File(bytes, &f->names_));
  } else if (version == 0x0200) {
    f->version_ = MatVersion::kV73;
  } else {
    char buf[8];
    std::snprintf(buf, sizeof(buf), "0x%04x", version);
    return InvalidArgumentError("'" + path + "': MAT version " + buf +
                                ", expected 0x0100 (v5/v7) or 0x0200 (v7.3)");
  }
  bytes.clear();
  bytes.shrink_to_fit();
  g_last_matio_message.clear();
  f->impl_->mat = Mat_Open(path.c_str(), MAT_ACC_RDONLY);
  if (f->impl_->mat == nullptr) {
    return DataLossError("'" + path + "': matio cannot open the file" + MatioReason());
  }
  if (f->version_ == MatVersion::kV73) {
    // HDF5 checks its own structure; list the variables and their classes here.
    Mat_Rewind(f->impl_->mat);
    while (matvar_t* v = Mat_VarReadNextInfo(f->impl_->mat)) {
      if (v->name) {
        f->names_.push_back(v->name);
        f->info_[v->name] = InfoOf(v);
        if (v->class_type == MAT_C_STRUCT) {
          const unsigned nf = Mat_VarGetNumberOfFields(v);
          char* const* fields = Mat_VarGetStructFieldnames(v);
          for (unsigned k = 0; k < nf && fields; ++k) {
            matvar_t* fv = Mat_VarGetStructFieldByIndex(v, k, 0);
            if (fv) f->info_[std::string(v->name) + "." + fields[k]] = InfoOf(fv);
          }
        }
      }
      Mat_VarFree(v);
    }
  }
  return f;
}

bool MatFile::Has(const std::string& name) const { return info_.count(name) > 0; }

std::string MatFile::VariableList() const {
  std::string s;
  for (const auto& n : names_) s += (s.empty() ? "" : ", ") + n;
  return s.empty() ? "(none)" : s;
}

StatusOr<MatVarInfo> MatFile::Info(const std::string& name) const {
  auto it = info_.find(name);
  if (it == info_.end()) {
    std::string fields;
    const size_t dot = name.find('.');
    if (dot != std::string::npos && info_.count(name.substr(0, dot))) {
      auto list = Fields(name.substr(0, dot));
      if (list.ok()) {
        for (const auto& s : *list) fields += (fields.empty() ? "" : ", ") + s;
        return NotFoundError(path_ + ": struct '" + name.substr(0, dot) + "' has no field '" +
                             name.substr(dot + 1) + "'; its fields: " + fields);
      }
    }
    return NotFoundError(path_ + ": no variable '" + name + "'; the file holds: " + VariableList());
  }
  return it->second;
}

StatusOr<std::vector<std::string>> MatFile::Fields(const std::string& name) const {
  auto it = info_.find(name);
  if (it == info_.end() || it->second.cls != MatClass::kStruct) {
    return NotFoundError(path_ + ": no struct variable '" + name + "'; the file holds: " +
                         VariableList());
  }
  std::vector<std::string> out;
  const std::string prefix = name + ".";
  for (const auto& [key, info] : info_) {
    if (key.compare(0, prefix.size(), prefix) == 0 &&
        key.find('.', prefix.size()) == std::string::npos) {
      out.push_back(key.substr(prefix.size()));
    }
  }
  return out;
}

template <typename T>
StatusOr<MatArray<T>> MatFile::Read(const std::string& name) const {
  MORPHFIT_ASSIGN_OR_RETURN(MatVarInfo info, Info(name));
  const int cls = static_cast<int>(info.cls);
  if (cls < 6 || cls > 15) {
    return InvalidArgumentError(path_ + ": variable '" + name + "' is a " + MatClassName(info.cls) +
                                " array, expected a numeric array");
  }
  if (info.is_complex) {
    return InvalidArgumentError(path_ + ": variable '" + name + "' is complex, expected real");
  }
  g_last_matio_message.clear();
  matvar_t* owned = nullptr;
  const matvar_t* v = nullptr;
  const size_t dot = name.find('.');
  if (dot == std::string::npos) {
    owned = Mat_VarRead(impl_->mat, name.c_str());
    v = owned;
  } else {
    const std::string parent = name.substr(0, dot);
    auto it = impl_->structs.find(parent);
    if (it == impl_->structs.end()) {
      matvar_t* s = Mat_VarRead(impl_->mat, parent.c_str());
      if (s == nullptr) {
        return DataLossError(path_ + ": cannot read struct '" + parent + "'" + MatioReason());
      }
      it = impl_->structs.emplace(parent, s).first;
    }
    v = Mat_VarGetStructFieldByName(it->second, name.substr(dot + 1).c_str(), 0);
  }
  struct Free {
    matvar_t* v;
    ~Free() { if (v) Mat_VarFree(v); }
  } free_owned{owned};
  if (v == nullptr) {
    return DataLossError(path_ + ": cannot read variable '" + name + "'" + MatioReason());
  }
  const MatVarInfo got = InfoOf(v);
  const size_t n = got.numel();
  if (got.dims != info.dims || got.cls != info.cls) {
    return DataLossError(path_ + ": variable '" + name + "' reads as " + MatClassName(got.cls) + " " +
                         got.DimsString() + ", but its header says " + MatClassName(info.cls) +
                         " " + info.DimsString());
  }
  if (n > 0 && (v->data == nullptr || v->data_size == 0 || v->nbytes < n * v->data_size)) {
    return DataLossError(path_ + ": variable '" + name + "' (" + got.DimsString() +
                         ") came back without its data" + MatioReason());
  }
  MatArray<T> out;
  out.dims = info.dims;
  out.data.resize(n);
  const void* src = v->data;
  // matio converts the stored type to the class's type; convert that to T.
  switch (v->class_type) {
    case MAT_C_DOUBLE: ConvertFrom<T, double>(src, n, out.data.data()); break;
    case MAT_C_SINGLE: ConvertFrom<T, float>(src, n, out.data.data()); break;
    case MAT_C_INT8: ConvertFrom<T, int8_t>(src, n, out.data.data()); break;
    case MAT_C_UINT8: ConvertFrom<T, uint8_t>(src, n, out.data.data()); break;
    case MAT_C_INT16: ConvertFrom<T, int16_t>(src, n, out.data.data()); break;
    case MAT_C_UINT16: ConvertFrom<T, uint16_t>(src, n, out.data.data()); break;
    case MAT_C_INT32: ConvertFrom<T, int32_t>(src, n, out.data.data()); break;
    case MAT_C_UINT32: ConvertFrom<T, uint32_t>(src, n, out.data.data()); break;
    case MAT_C_INT64: ConvertFrom<T, int64_t>(src, n, out.data.data()); break;
    case MAT_C_UINT64: ConvertFrom<T, uint64_t>(src, n, out.data.data()); break;
    default:
      return InvalidArgumentError(path_ + ": variable '" + name + "' has unsupported class " +
                                  MatClassName(got.cls));
  }
  return out;
}

StatusOr<MatArray<float>> MatFile::ReadFloat(const std::string& name) const {
  return Read<float>(name);
}
StatusOr<MatArray<double>> MatFile::ReadDouble(const std::string& name) const {
  return Read<double>(name);
}
StatusOr<MatArray<int32_t>> MatFile::ReadInt32(const std::string& name) const {
  MORPHFIT_ASSIGN_OR_RETURN(MatArray<double> d, Read<double>(name));
  MatArray<int32_t> out;
  out.dims = d.dims;
  out.data.resize(d.size());
  for (size_t i = 0; i < d.size(); ++i) {
    const double x = d.data[i];
    if (!(x == std::floor(x)) || x < std::numeric_limits<int32_t>::min() ||
        x > std::numeric_limits<int32_t>::max()) {
      std::ostringstream msg;
      msg << path_ << ": variable '" << name << "' should hold whole numbers (indices), found "
          << x << " at element " << i;
      return InvalidArgumentError(msg.str());
    }
    out.data[i] = static_cast<int32_t>(x);
  }
  return out;
}

}  // namespace morphfit::models::mat
