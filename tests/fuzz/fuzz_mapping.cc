// libFuzzer: mapping JSON as `simulate --mapping` reads it (apps/actsparse/cmd_simulate.cc:
// JSON, an optional "mapping" member, then a v2 array mapping or a layer mapping), and the
// bare hw mapping. Seeds: tests/fuzz/corpus/mapping.
#include <nlohmann/json.hpp>

#include "hw/mapping.h"
#include "hw/v2/mapping_v2.h"
#include "tests/fuzz/fuzz_common.h"
#include "tlm/mapper.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace actsparse;
    nlohmann::json j = nlohmann::json::parse(fuzz::bytes(data, size), nullptr, false);
    if (j.is_discarded()) return 0;  // invalid JSON: the CLI's InputError before any parser
    return fuzz::run_parser("fuzz_mapping", [&] {
        if (j.is_object() && j.contains("mapping")) j = nlohmann::json(j["mapping"]);
        if (j.is_object() && j.contains("m0"))
            (void)hw::v2::v2_mapping_from_json(j, "mapping.json");
        else
            (void)tlm::layer_mapping_from_json(j, "mapping.json");
        if (j.is_object() && j.contains("array"))
            (void)hw::mapping_from_json(j["array"], "mapping.json: array");
    });
}

// libsystemc (linked through the tlm library) expects the program to define sc_main; the
// fuzzer never starts the kernel.
extern "C" int sc_main(int, char**) { return 0; }
