// libFuzzer: architecture YAML (core::parse_arch_yaml). Seeds: tests/fuzz/corpus/arch.
#include "core/arch.h"
#include "tests/fuzz/fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    return actsparse::fuzz::run_parser("fuzz_arch", [&] {
        (void)actsparse::core::parse_arch_yaml(actsparse::fuzz::bytes(data, size), "fuzz.yaml");
    });
}
