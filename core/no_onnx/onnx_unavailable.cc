// Built instead of core/onnx.cc when CMake finds no libonnx (e.g. a trainer-only build
// against a pip LibTorch): every ONNX entry point is a one-line input error.
#include "core/error.h"
#include "core/onnx.h"

namespace actsparse::core {

Network read_onnx_network(const std::string& path) {
    throw InputError(path, "this build has no ONNX support (install libonnx-dev and rebuild)");
}

Network parse_onnx_network(const std::string&, const std::string& where, const std::string&) {
    throw InputError(where, "this build has no ONNX support (install libonnx-dev and rebuild)");
}

}  // namespace actsparse::core
