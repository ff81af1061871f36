#pragma once
/// @file Errors of the three kinds (see ../shared conventions): bad user input, model bugs,
/// and expected outcomes (those are values, not exceptions, so they have no type here).
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

/// A broken model invariant. Aborts with the module name (and the caller adds the
/// simulation time to `what`). Never used for user input.
[[noreturn]] void model_bug(const std::string& module, const std::string& what);

/// Writes `bytes` to `path` through a temporary file in the same folder and a rename, so a
/// reader never sees a partial file. Throws InputError naming the path on failure.
void write_file_atomic(const std::string& path, const std::string& bytes);

/// Reads a whole file; throws InputError naming the path when it cannot be read.
std::string read_file(const std::string& path);

}  // namespace actsparse::core
