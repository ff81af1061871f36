#pragma once
/// @file The on-disk point cache: one small JSON file per simulated point, written atomically
/// and durably (core::write_file_atomic: unique temporary name, fsync, rename, folder fsync), so an
/// interrupted calibration resumes where it stopped and a re-run is instant. A file is named by the
/// FNV-1a hash of the point's full key (cache_key()) and stores that key; an entry whose stored key
/// differs (a hash collision) or that does not parse is a miss, never an error.
#include <optional>
#include <string>

#include "calibration/engine/point.h"

namespace actsparse::calibration {

class PointCache {
  public:
    /// `dir` empty: a disabled cache (every lookup misses, stores do nothing).
    explicit PointCache(std::string dir);

    bool enabled() const { return !dir_.empty(); }
    const std::string& dir() const { return dir_; }
    /// The file holding `key`: DIR/<2 hex>/<16 hex>.json.
    std::string path_of(const std::string& key) const;
    std::optional<PointResult> load(const std::string& key) const;
    /// Creates the folders as needed; throws core::InputError naming the path when it is
    /// unusable, core::IoError when the disk is full or not writable.
    void store(const std::string& key, const PointSpec& spec, const PointResult& r) const;

  private:
    std::string dir_;
};

/// The default cache folder: $XDG_CACHE_HOME/actsparse/calibration, else
/// $HOME/.cache/actsparse/calibration, else .actsparse-cache/calibration.
std::string default_cache_dir();

}  // namespace actsparse::calibration
