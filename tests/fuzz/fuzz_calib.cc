// libFuzzer: calib.json (core::parse_calibration). Seeds: tests/fuzz/corpus/calib.
//
// Known finding, not yet fixed (core/calibration_file.cc is another change's file): a number
// too large for a double (e.g. 0.6E80223045775052) makes json::parse throw
// json::out_of_range (406), which parse_calibration does not catch (it catches parse_error
// only), so the CLI reports an internal error instead of bad input. The input is in
// tests/fuzz/findings/calib/. Until the fix (catch json::exception there) such inputs are
// skipped here, so the fuzzer looks for other bugs; with ACTSPARSE_FUZZ_ALL=1 they are not.
// After the fix: delete the skip and move the finding to tests/fuzz/regressions/calib/.
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "core/calibration_file.h"
#include "tests/fuzz/fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string text = actsparse::fuzz::bytes(data, size);
    static const bool all = std::getenv("ACTSPARSE_FUZZ_ALL") != nullptr;
    if (!all) {
        try {
            (void)nlohmann::json::parse(text);
        } catch (const nlohmann::json::out_of_range&) {
            return 0;  // the known finding above
        } catch (const nlohmann::json::exception&) {
            // other JSON errors: parse_calibration's InputError
        }
    }
    return actsparse::fuzz::run_parser(
        "fuzz_calib", [&] { (void)actsparse::core::parse_calibration(text, "calib.json"); });
}
