// What `morphfit fit` writes and `morphfit eval` / `morphfit merge` read (docs/formats.md,
// "Fit outputs"): one FaceRecord per face (or per photo that yielded no face), the summary
// CSV, the per-face file names, and the input walk.
#ifndef MORPHFIT_APPS_MORPHFIT_FIT_OUTPUTS_H_
#define MORPHFIT_APPS_MORPHFIT_FIT_OUTPUTS_H_

#include <string>
#include <vector>

#include "morphfit/core/shard.h"
#include "morphfit/core/status.h"

namespace morphfit::app {

// One row of summary.csv. `status`: "ok" (the fit converged), "not_converged" (parameters
// written, FitSummary::converged false: `message` says why) or "failed" (nothing written for
// this face; `message` is the reason). Numbers are NaN when not measured (photometric RMSE of
// a landmark-only fit, anything of a failed face).
struct FaceRecord {
  std::string id;        // "<source>_f<K>", or "<source>" for a photo that failed as a whole
  std::string source;    // the photo's path relative to the input root, without extension
  std::string image;     // the photo's path as read
  std::string status;
  std::string detector;  // "pts" (given landmarks) or detect::DetectorKindName
  double landmark_nme = 0.0;
  double photometric_rmse = 0.0;
  int iterations = 0;
  double time_s = 0.0;
  std::string message;

  bool has_params() const { return status == "ok" || status == "not_converged"; }
};

// The CSV header line (without line end) and one row per record; fields with commas, quotes
// or line breaks are quoted (RFC 4180), NaN is written as an empty field.
std::string SummaryCsvHeader();
std::string SummaryCsv(const std::vector<FaceRecord>& records);
// Reads a summary CSV written by SummaryCsv. DataLoss naming the file and line for a wrong
// header or a row with the wrong number of fields or a bad number.
StatusOr<std::vector<FaceRecord>> ReadSummaryCsv(const std::string& path);

// Records as one compact JSON line (the resume ledger's message) and back.
std::string RecordsToJson(const std::vector<FaceRecord>& records);
StatusOr<std::vector<FaceRecord>> RecordsFromJson(const std::string& text,
                                                  const std::string& context);

// Per-face files under OUT: faces/<id>.json (FaceParams), faces/<id>.overlay.png,
// faces/<id>.ply|obj (mesh), faces/<id>.landmarks.pts (the landmarks the fit used: given or
// detected), faces/<id>.<channel>.png (SfSNet channels on request).
std::string FacePath(const std::string& out_dir, const std::string& id, const std::string& suffix);

// Per-run file names: "<stem>.<ext>" for the whole set, "<stem>.shard-K-of-N.<ext>" for a
// shard (N > 1).
std::string RunFileName(const std::string& stem, const std::string& ext, const Shard& shard);

// The photos to fit, sorted by source. `input` is a folder (walked recursively; entries under
// `skip_dir` are left out), one image file, or a text file listing image paths one per line
// ('#' comments; relative paths are taken from the list's folder). Image = extension .jpg,
// .jpeg, .png, .bmp, .tif, .tiff or .webp (any case).
struct InputPhoto {
  std::string path;    // as read
  std::string source;  // relative path without extension (the id stem)
};
StatusOr<std::vector<InputPhoto>> ListInputPhotos(const std::string& input,
                                                  const std::string& skip_dir);

// The path without its extension ("a/b.c.jpg" -> "a/b.c").
std::string StripExtension(const std::string& path);

}  // namespace morphfit::app

#endif  // MORPHFIT_APPS_MORPHFIT_FIT_OUTPUTS_H_
