#include "hw/stats.h"

#include <nlohmann/json.hpp>

#include "core/error.h"

namespace actsparse::hw {

nlohmann::json ArrayStats::to_json() const {
    nlohmann::json j = nlohmann::json::object();
#define ACTSPARSE_STAT_TO_JSON(name, doc) j[#name] = name;
    ACTSPARSE_ARRAY_STATS_FIELDS(ACTSPARSE_STAT_TO_JSON)
#undef ACTSPARSE_STAT_TO_JSON
    return j;
}

ArrayStats ArrayStats::from_json(const nlohmann::json& j, const std::string& where) {
    if (!j.is_object()) throw core::InputError(where, "expected a JSON object");
    ArrayStats s;
    size_t known = 0;
    auto read = [&](const char* key, int64_t& out) {
        auto it = j.find(key);
        if (it == j.end()) throw core::InputError(where + "." + key, "missing required key");
        if (!it->is_number_integer())
            throw core::InputError(where + "." + key, "expected an integer, got " + it->dump());
        out = it->get<int64_t>();
        ++known;
    };
#define ACTSPARSE_STAT_FROM_JSON(name, doc) read(#name, s.name);
    ACTSPARSE_ARRAY_STATS_FIELDS(ACTSPARSE_STAT_FROM_JSON)
#undef ACTSPARSE_STAT_FROM_JSON
    if (known != j.size()) {
        for (const auto& item : j.items()) {
            bool found = false;
#define ACTSPARSE_STAT_KNOWN(name, doc) found = found || item.key() == #name;
            ACTSPARSE_ARRAY_STATS_FIELDS(ACTSPARSE_STAT_KNOWN)
#undef ACTSPARSE_STAT_KNOWN
            if (!found) throw core::InputError(where + "." + item.key(), "unknown key");
        }
    }
    return s;
}

ArrayStats& ArrayStats::operator+=(const ArrayStats& o) {
#define ACTSPARSE_STAT_ADD(name, doc) name += o.name;
    ACTSPARSE_ARRAY_STATS_FIELDS(ACTSPARSE_STAT_ADD)
#undef ACTSPARSE_STAT_ADD
    return *this;
}

bool ArrayStats::operator==(const ArrayStats& o) const { return diff(o).empty(); }

std::string ArrayStats::diff(const ArrayStats& o) const {
    std::string out;
#define ACTSPARSE_STAT_DIFF(name, doc)                                                            \
    if (name != o.name)                                                                           \
        out += std::string(out.empty() ? "" : ", ") + #name " " + std::to_string(name) + " vs " + \
               std::to_string(o.name);
    ACTSPARSE_ARRAY_STATS_FIELDS(ACTSPARSE_STAT_DIFF)
#undef ACTSPARSE_STAT_DIFF
    return out;
}

nlohmann::json ArrayEstimate::to_json() const {
    nlohmann::json j = nlohmann::json::object();
#define ACTSPARSE_EST_TO_JSON(name, doc) j[#name] = name;
    ACTSPARSE_ARRAY_STATS_FIELDS(ACTSPARSE_EST_TO_JSON)
#undef ACTSPARSE_EST_TO_JSON
    return j;
}

ArrayEstimate& ArrayEstimate::operator+=(const ArrayEstimate& o) {
#define ACTSPARSE_EST_ADD(name, doc) name += o.name;
    ACTSPARSE_ARRAY_STATS_FIELDS(ACTSPARSE_EST_ADD)
#undef ACTSPARSE_EST_ADD
    return *this;
}

}  // namespace actsparse::hw
