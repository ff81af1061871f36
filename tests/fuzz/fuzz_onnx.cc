// libFuzzer: ONNX models (core::parse_onnx_network: libonnx's protobuf parse, then our graph
// and shape checks). Seeds: tests/fuzz/corpus/onnx (copies of small test fixtures).
#include <string>

#include "core/onnx.h"
#include "tests/fuzz/fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string bytes(reinterpret_cast<const char*>(data), size);
    return actsparse::fuzz::run_parser("fuzz_onnx", [&] {
        (void)actsparse::core::parse_onnx_network(bytes, "fuzz.onnx", "fuzz");
    });
}
