// libFuzzer: the safetensors container and the checkpoint metadata the trainer reads from a
// weights file (read_checkpoint_meta of a .safetensors: __metadata__.meta as JSON with
// schema actsparse.checkpoint/1). Seeds: tests/fuzz/corpus/safetensors.
#include <nlohmann/json.hpp>

#include "core/safetensors.h"
#include "tests/fuzz/fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    return actsparse::fuzz::run_parser("fuzz_safetensors", [&] {
        const std::string blob = actsparse::fuzz::bytes(data, size);
        const auto h = actsparse::core::parse_safetensors(blob, "fuzz.safetensors");
        // Every entry it accepts must lie inside the blob.
        for (const auto& e : h.tensors)
            if (e.begin > e.end ||
                h.buffer_offset + static_cast<int64_t>(e.end) > static_cast<int64_t>(blob.size()))
                std::abort();
        const auto m = h.metadata.find("meta");
        if (m != h.metadata.end()) {
            // As trainer/checkpoint.cc reads it (safetensors_meta): invalid JSON is an
            // InputError there, and the schema must be the string actsparse.checkpoint/1.
            const auto j = nlohmann::json::parse(m->second, nullptr, /*allow_exceptions=*/false);
            if (!j.is_discarded() && j.is_object()) {
                const auto schema = j.find("schema");
                (void)(schema != j.end() && schema->is_string() &&
                       schema->get<std::string>() == "actsparse.checkpoint/1");
            }
        }
    });
}
