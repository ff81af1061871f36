// libFuzzer: calib.json (core::parse_calibration). Seeds: tests/fuzz/corpus/calib.
// Finding (fixed in core/calibration_file.cc): a number beyond double escaped as
// json::out_of_range; tests/fuzz/regressions/calib/number-overflow-406.
#include "core/calibration_file.h"
#include "tests/fuzz/fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    return actsparse::fuzz::run_parser("fuzz_calib", [&] {
        (void)actsparse::core::parse_calibration(actsparse::fuzz::bytes(data, size), "calib.json");
    });
}
