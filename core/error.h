#pragma once
/// @file Errors of the three kinds (see ../shared conventions): bad user input, model bugs,
/// and expected outcomes (those are values, not exceptions, so they have no type here);
/// plus I/O failures of the machine (disk full, permission denied, an I/O error), which are
/// neither the user's input nor a bug. And the durable file writers every output goes through.
#include <stdexcept>
#include <string>

namespace actsparse::core {

/// Bad user input: a config, trace, shape or flag. `where` names the file and field
/// (e.g. "arch.yaml: pe.filter_spad_words"). The CLI prints what() on one line and exits 2.
class InputError : public std::runtime_error {
  public:
    InputError(const std::string& where, const std::string& reason)
        : std::runtime_error(where + ": " + reason) {}
};

/// A file could not be written although the path is a sensible one: no space left, no
/// permission, a read-only file system, an I/O error. `where` names the file. The CLI prints
/// what() on one line and exits 1 (not 2: the input was fine, the machine failed).
class IoError : public std::runtime_error {
  public:
    IoError(const std::string& where, const std::string& reason)
        : std::runtime_error(where + ": " + reason) {}
};

/// A broken model invariant. Aborts with the module name (and the caller adds the
/// simulation time to `what`). Never used for user input.
[[noreturn]] void model_bug(const std::string& module, const std::string& what);

/// Writes `bytes` to `path` durably and atomically: into a new temporary file of a unique
/// name in the same folder (unique_temp_path), fsync'd, renamed over `path`, and the folder
/// fsync'd. A reader, a crash, a SIGKILL or a power cut leaves either the old file or the
/// complete new one at `path`, never a partial one (at worst a stale temporary file beside
/// it). Throws InputError naming the path when the path itself is unusable (no such folder,
/// a folder in the way, a name too long), IoError on any other failure (ENOSPC, EACCES,
/// EROFS, EIO, EFBIG, ...); the temporary file is removed on failure.
void write_file_atomic(const std::string& path, const std::string& bytes);

/// A temporary name for `path` in the same folder that no other writer uses:
/// "<path>.tmp.<pid>.<counter>.<random>" (distinct across threads and processes).
std::string unique_temp_path(const std::string& path);

/// Makes a file that some other code wrote at `tmp` durable and moves it to `path`: fsync
/// of `tmp`, rename, fsync of the folder. On failure removes `tmp` and throws as
/// write_file_atomic.
void commit_temp_file(const std::string& tmp, const std::string& path);

/// Removes the temporary files of `path` (unique_temp_path names) left behind by processes
/// that no longer exist (a SIGKILL between create and rename); files of live processes and
/// other names are kept. Returns how many were removed; never throws.
int remove_stale_temps(const std::string& path);

/// Reads a whole file; throws InputError naming the path when it cannot be read.
std::string read_file(const std::string& path);

}  // namespace actsparse::core
