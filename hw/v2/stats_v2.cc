#include "hw/v2/stats_v2.h"

#include <nlohmann/json.hpp>

#include "core/error.h"

namespace actsparse::hw::v2 {

nlohmann::json V2Stats::to_json() const {
    nlohmann::json j = nlohmann::json::object();
#define ACTSPARSE_V2_STAT_TO_JSON(name, doc) j[#name] = name;
    ACTSPARSE_V2_STATS_FIELDS(ACTSPARSE_V2_STAT_TO_JSON)
#undef ACTSPARSE_V2_STAT_TO_JSON
    return j;
}

V2Stats V2Stats::from_json(const nlohmann::json& j, const std::string& where) {
    if (!j.is_object()) throw core::InputError(where, "expected a JSON object");
    for (const auto& item : j.items()) {
        bool found = false;
#define ACTSPARSE_V2_STAT_KNOWN(name, doc) found = found || item.key() == #name;
        ACTSPARSE_V2_STATS_FIELDS(ACTSPARSE_V2_STAT_KNOWN)
#undef ACTSPARSE_V2_STAT_KNOWN
        if (!found) throw core::InputError(where + "." + item.key(), "unknown key");
    }
    V2Stats s;
    auto read = [&](const char* key, int64_t& out) {
        auto it = j.find(key);
        if (it == j.end()) throw core::InputError(where + "." + key, "missing required key");
        if (!it->is_number_integer())
            throw core::InputError(where + "." + key, "expected an integer, got " + it->dump());
        out = it->get<int64_t>();
    };
#define ACTSPARSE_V2_STAT_FROM_JSON(name, doc) read(#name, s.name);
    ACTSPARSE_V2_STATS_FIELDS(ACTSPARSE_V2_STAT_FROM_JSON)
#undef ACTSPARSE_V2_STAT_FROM_JSON
    return s;
}

V2Stats& V2Stats::operator+=(const V2Stats& o) {
#define ACTSPARSE_V2_STAT_ADD(name, doc) name += o.name;
    ACTSPARSE_V2_STATS_FIELDS(ACTSPARSE_V2_STAT_ADD)
#undef ACTSPARSE_V2_STAT_ADD
    return *this;
}

bool V2Stats::operator==(const V2Stats& o) const { return diff(o).empty(); }

std::string V2Stats::diff(const V2Stats& o) const {
    std::string out;
#define ACTSPARSE_V2_STAT_DIFF(name, doc)                                                         \
    if (name != o.name)                                                                           \
        out += std::string(out.empty() ? "" : ", ") + #name " " + std::to_string(name) + " vs " + \
               std::to_string(o.name);
    ACTSPARSE_V2_STATS_FIELDS(ACTSPARSE_V2_STAT_DIFF)
#undef ACTSPARSE_V2_STAT_DIFF
    return out;
}

ArrayStats V2Stats::to_array_stats() const {
    ArrayStats a;
    a.cycles = cycles;
    a.passes = passes;
    a.macs_performed = macs_performed;
    a.macs_gated = macs_gated();
    a.macs_skipped = macs_skipped();
    a.ifmap_spad_reads = iact_data_spad_reads;
    a.ifmap_spad_reads_skipped = 0;
    a.ifmap_spad_writes = iact_data_spad_writes;
    a.filter_spad_reads = weight_data_spad_reads;
    a.filter_spad_writes = weight_data_spad_writes;
    a.psum_spad_reads = psum_spad_reads;
    a.psum_spad_writes = psum_spad_writes;
    a.ifmap_noc_words_delivered = iact_noc_items_delivered;
    a.ifmap_noc_words_sent = iact_noc_items_sent;
    a.filter_noc_words_delivered = weight_noc_items_delivered;
    a.filter_noc_words_sent = weight_offchip_items;
    a.psum_noc_words_sent = psum_glb_reads;
    a.psum_noc_words_delivered = psum_glb_reads;
    a.psum_out_words = psum_glb_writes;
    a.psum_link_words = psum_chain_words;
    a.pe_busy_cycles = pe_busy_cycles + pe_load_cycles;
    return a;
}

}  // namespace actsparse::hw::v2
