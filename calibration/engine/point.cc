#include "calibration/engine/point.h"

#include <cmath>
#include <cstdio>

#include "core/error.h"

namespace actsparse::calibration {
namespace {

double number(const nlohmann::json& j, const char* key, const std::string& where) {
    const auto it = j.find(key);
    if (it == j.end()) throw core::InputError(where + "." + key, "missing");
    if (!it->is_number()) throw core::InputError(where + "." + key, "expected a number");
    const double v = it->get<double>();
    if (!std::isfinite(v)) throw core::InputError(where + "." + key, "not finite");
    return v;
}

std::string exact(double v) {
    char buf[40];
    std::snprintf(buf, sizeof buf, "%.17g", v);
    return buf;
}

}  // namespace

const char* to_string(PointRole r) {
    switch (r) {
        case PointRole::kFit:
            return "fit";
        case PointRole::kValidate:
            return "validate";
        case PointRole::kTrace:
            return "trace";
    }
    return "?";
}

nlohmann::json to_json(const PointResult& r) {
    return {{"density", r.density},
            {"energy_pj", r.energy_pj},
            {"cycles", r.cycles},
            {"cycles_processing", r.cycles_processing},
            {"mapping", r.mapping},
            {"host_seconds", r.host_seconds},
            {"ofmap_density", r.ofmap_density}};
}

PointResult point_result_from_json(const nlohmann::json& j, const std::string& where) {
    if (!j.is_object()) throw core::InputError(where, "expected a JSON object");
    PointResult r;
    r.density = number(j, "density", where);
    r.energy_pj = number(j, "energy_pj", where);
    r.cycles = number(j, "cycles", where);
    r.cycles_processing = number(j, "cycles_processing", where);
    const auto m = j.find("mapping");
    if (m == j.end()) throw core::InputError(where + ".mapping", "missing");
    r.mapping = *m;
    if (j.contains("host_seconds")) r.host_seconds = number(j, "host_seconds", where);
    if (j.contains("ofmap_density")) r.ofmap_density = number(j, "ofmap_density", where);
    return r;
}

std::string cache_key(const SimContext& ctx, const PointSpec& p) {
    std::string k = "actsparse.calibration.point/1|arch=" + ctx.arch_hash +
                    "|zero=" + ctx.zero_mode + "|fidelity=" + ctx.fidelity +
                    "|objective=" + ctx.objective + "|relu_out=" + (ctx.relu_out ? "1" : "0") +
                    "|model=" + ctx.model_version + "|shape=" + p.shape.to_spec() +
                    "|ifmap_compressed=" + (p.ifmap_compressed ? "1" : "0");
    if (ctx.mapping_density >= 0) k += "|mapping_density=" + exact(ctx.mapping_density);
    if (p.role == PointRole::kTrace) return k + "|trace=" + p.trace_digest;
    return k + "|density=" + exact(p.density) + "|seed=" + std::to_string(p.seed) +
           "|pattern=" + core::to_string(p.pattern);
}

std::string fnv1a_hex(const std::string& bytes) {
    uint64_t h = 1469598103934665603ull;
    for (unsigned char c : bytes) {
        h ^= c;
        h *= 1099511628211ull;
    }
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
    return buf;
}

}  // namespace actsparse::calibration
