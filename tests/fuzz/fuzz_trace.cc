// libFuzzer: safetensors trace files (core::decode_trace, which parses the safetensors
// header first). Seeds: tests/fuzz/corpus/trace.
#include "core/trace.h"
#include "tests/fuzz/fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    return actsparse::fuzz::run_parser("fuzz_trace", [&] {
        (void)actsparse::core::decode_trace(actsparse::fuzz::bytes(data, size), "fuzz.trace");
    });
}
