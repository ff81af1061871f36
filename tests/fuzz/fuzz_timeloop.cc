// libFuzzer: Timeloop problem YAML (core::read_timeloop_problem, which reads a file: the
// input goes through a temporary file of this process). Seeds: tests/fuzz/corpus/timeloop.
#include <unistd.h>

#include <fstream>

#include "core/timeloop.h"
#include "tests/fuzz/fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static const std::string path =
        "/tmp/actsparse-fuzz-timeloop-" + std::to_string(::getpid()) + ".yaml";
    {
        std::ofstream out(path, std::ios::binary | std::ios::trunc);
        out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
    }
    return actsparse::fuzz::run_parser("fuzz_timeloop",
                                       [&] { (void)actsparse::core::read_timeloop_problem(path); });
}
