// `actsparse validate`: the simulator against the measured Eyeriss v1 chip (Chen et al.,
// JSSC 2017, Tables III, V, VI): per layer, simulated vs measured processing and total
// latency, GLB and DRAM accesses and active PEs, with the relative errors and the targets
// of issue 12 (docs/validation.md, docs/cli.md).
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "apps/actsparse/commands.h"
#include "apps/actsparse/inputs.h"
#include "core/arch.h"
#include "core/error.h"
#include "core/network.h"
#include "core/trace.h"
#include "hw/mapping.h"
#include "tlm/simulate.h"

namespace actsparse::app {

/// The text of validation/eyeriss-v1-jssc17.yaml, compiled in (builtin_reference.cc.in).
const std::string& builtin_reference_yaml();

namespace {

constexpr const char* kBuiltinArch = "eyeriss-v1";
constexpr const char* kBuiltinReferenceName = "validation/eyeriss-v1-jssc17.yaml (built-in)";
constexpr const char* kSchema = "actsparse.validation-reference/1";

// ---------------------------------------------------------------------------------------
// The reference file (format: docs/formats.md, "Validation reference").

/// The compared fields, in print order.
struct MetricInfo {
    const char* key;
    const char* label;
    const char* unit;
};
constexpr MetricInfo kMetrics[] = {
    {"processing_latency_ms", "processing latency", "ms"},
    {"total_latency_ms", "total latency w/ DRAM", "ms"},
    {"glb_mb", "GLB accesses (array)", "MB"},
    {"dram_mb", "DRAM accesses", "MB"},
    {"active_pes", "active PEs", ""},
};
constexpr size_t kNumMetrics = sizeof(kMetrics) / sizeof(kMetrics[0]);
constexpr size_t kActivePes = 4;  // index of active_pes in kMetrics

struct Target {
    enum Kind { kNone, kRelative, kEqual } kind = kNone;
    double pct = 0;  ///< kRelative: |sim / measured - 1| <= pct / 100
    std::string text() const {
        if (kind == kEqual) return "equal";
        if (kind == kNone) return "-";
        char buf[32];
        std::snprintf(buf, sizeof buf, "%g %%", pct);
        return buf;
    }
};

struct RefMapping {  ///< Table III: m (filters per GLB block) and the RS parameters
    int64_t m = 0, n = 0, e = 0, p = 0, q = 0, r = 0, t = 0;
    std::string text() const {
        std::ostringstream s;
        s << "m=" << m << ",n=" << n << ",e=" << e << ",p=" << p << ",q=" << q << ",r=" << r
          << ",t=" << t;
        return s.str();
    }
};

struct RefLayer {
    std::string where;  ///< "FILE: networks.alexnet.layers[2]"
    std::string name, paper_name;
    double macs_m = 0, zeros_pct = 0;
    /// Zeros in the ofmap the layer writes, where published (the next layer's ifmap zeros
    /// when no pooling lies between); absent: the synthetic weights decide.
    std::optional<double> ofmap_zeros_pct;
    double values[kNumMetrics] = {};
    std::optional<RefMapping> mapping;
    std::set<std::string> uncertain;
};

struct RefNetwork {
    std::string key, where, network;
    int64_t batch = 1;
    double core_clock_mhz = 0, link_clock_mhz = 0;
    core::ZeroMode zero_mode = core::ZeroMode::kGate;
    std::map<std::string, std::string> citations;
    double totals[kNumMetrics] = {};
    std::vector<RefLayer> layers;
};

struct Reference {
    std::string where;  ///< file name (or the built-in's name)
    std::string arch, source;
    Target targets[kNumMetrics];
    std::string definitions[kNumMetrics];
    std::map<std::string, RefNetwork> networks;
};

std::string printable(const std::string& s) {
    std::string out;
    for (unsigned char c : s) {
        if (c < 0x20 || c == 0x7f) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\x%02x", c);
            out += buf;
        } else {
            out += static_cast<char>(c);
        }
    }
    return out;
}

/// Reads YAML maps with a fixed key set: every key required unless listed optional, no
/// unknown keys, errors naming "FILE: path.key".
class Reader {
  public:
    Reader(std::string file) : file_(std::move(file)) {}

    [[noreturn]] void fail(const std::string& path, const std::string& reason) const {
        throw core::InputError(file_ + ": " + path, reason);
    }
    const char* kind(const YAML::Node& n) const {
        if (n.IsMap()) return "a map";
        if (n.IsSequence()) return "a list";
        if (n.IsNull()) return "nothing";
        return "a scalar";
    }
    void expect_map(const YAML::Node& n, const std::string& path,
                    const std::vector<std::string>& required,
                    const std::vector<std::string>& optional = {}) const {
        if (!n.IsMap()) fail(path, std::string("expected a map, got ") + kind(n));
        for (auto it = n.begin(); it != n.end(); ++it) {
            if (!it->first.IsScalar()) fail(path, "keys must be plain strings");
            const std::string k = it->first.Scalar();
            if (std::find(required.begin(), required.end(), k) == required.end() &&
                std::find(optional.begin(), optional.end(), k) == optional.end())
                fail(join(path, printable(k)), "unknown key");
        }
        for (const std::string& k : required)
            if (!n[k].IsDefined()) fail(join(path, k), "missing required key");
    }
    std::string text(const YAML::Node& n, const std::string& path) const {
        if (!n.IsScalar()) fail(path, std::string("expected a string, got ") + kind(n));
        return n.Scalar();
    }
    double number(const YAML::Node& n, const std::string& path) const {
        const std::string s = text(n, path);
        char* end = nullptr;
        const double v = std::strtod(s.c_str(), &end);
        if (s.empty() || end != s.c_str() + s.size() || !std::isfinite(v))
            fail(path, "expected a number, got '" + printable(s) + "'");
        return v;
    }
    double non_negative(const YAML::Node& n, const std::string& path) const {
        const double v = number(n, path);
        if (v < 0) fail(path, "must be >= 0, got " + text(n, path));
        return v;
    }
    double positive(const YAML::Node& n, const std::string& path) const {
        const double v = number(n, path);
        if (!(v > 0)) fail(path, "must be > 0, got " + text(n, path));
        return v;
    }
    int64_t integer(const YAML::Node& n, const std::string& path) const {
        const std::string s = text(n, path);
        char* end = nullptr;
        const long long v = std::strtoll(s.c_str(), &end, 10);
        if (s.empty() || end != s.c_str() + s.size())
            fail(path, "expected an integer, got '" + printable(s) + "'");
        if (v < 1) fail(path, "must be >= 1, got " + s);
        return v;
    }
    static std::string join(const std::string& path, const std::string& key) {
        return path.empty() ? key : path + "." + key;
    }

  private:
    std::string file_;
};

Target parse_target(const Reader& rd, const YAML::Node& n, const std::string& path) {
    const std::string s = rd.text(n, path);
    Target t;
    if (s == "none") return t;
    if (s == "equal") {
        t.kind = Target::kEqual;
        return t;
    }
    char* end = nullptr;
    const double v = std::strtod(s.c_str(), &end);
    if (s.empty() || end == s.c_str() || std::string(end) != "%" || !(v >= 0) || !std::isfinite(v))
        rd.fail(path, "expected 'N%', 'equal' or 'none', got '" + printable(s) + "'");
    t.kind = Target::kRelative;
    t.pct = v;
    return t;
}

RefLayer parse_layer(const Reader& rd, const YAML::Node& n, const std::string& path,
                     const std::string& file) {
    std::vector<std::string> required = {"name", "paper_name", "macs_m", "zeros_pct"};
    for (const MetricInfo& m : kMetrics) required.push_back(m.key);
    rd.expect_map(n, path, required, {"mapping", "uncertain", "ofmap_zeros_pct"});
    RefLayer l;
    l.where = file + ": " + path;
    l.name = rd.text(n["name"], path + ".name");
    l.paper_name = rd.text(n["paper_name"], path + ".paper_name");
    l.macs_m = rd.positive(n["macs_m"], path + ".macs_m");
    l.zeros_pct = rd.non_negative(n["zeros_pct"], path + ".zeros_pct");
    if (l.zeros_pct > 100) rd.fail(path + ".zeros_pct", "must be <= 100");
    if (n["ofmap_zeros_pct"].IsDefined()) {
        const double z = rd.non_negative(n["ofmap_zeros_pct"], path + ".ofmap_zeros_pct");
        if (z >= 100) rd.fail(path + ".ofmap_zeros_pct", "must be < 100");
        l.ofmap_zeros_pct = z;
    }
    for (size_t i = 0; i < kNumMetrics; ++i) {
        const std::string p = path + "." + kMetrics[i].key;
        l.values[i] = i == kActivePes ? static_cast<double>(rd.integer(n[kMetrics[i].key], p))
                                      : rd.positive(n[kMetrics[i].key], p);
    }
    if (n["mapping"].IsDefined()) {
        const std::string mp = path + ".mapping";
        rd.expect_map(n["mapping"], mp, {"m", "n", "e", "p", "q", "r", "t"});
        RefMapping m;
        const std::pair<const char*, int64_t*> fields[] = {{"m", &m.m}, {"n", &m.n}, {"e", &m.e},
                                                           {"p", &m.p}, {"q", &m.q}, {"r", &m.r},
                                                           {"t", &m.t}};
        for (const auto& [key, ptr] : fields) *ptr = rd.integer(n["mapping"][key], mp + "." + key);
        l.mapping = m;
    }
    if (n["uncertain"].IsDefined()) {
        const YAML::Node u = n["uncertain"];
        const std::string up = path + ".uncertain";
        if (!u.IsSequence()) rd.fail(up, "expected a list of field names");
        for (size_t i = 0; i < u.size(); ++i) {
            const std::string f = rd.text(u[i], up + "[" + std::to_string(i) + "]");
            bool known = f == "zeros_pct" || f == "macs_m";
            for (const MetricInfo& m : kMetrics) known = known || f == m.key;
            if (!known)
                rd.fail(up + "[" + std::to_string(i) + "]", "unknown field '" + printable(f) + "'");
            l.uncertain.insert(f);
        }
    }
    return l;
}

RefNetwork parse_network(const Reader& rd, const YAML::Node& n, const std::string& key,
                         const std::string& file) {
    const std::string path = "networks." + key;
    rd.expect_map(n, path,
                  {"network", "batch", "core_clock_mhz", "link_clock_mhz", "zero_mode", "citations",
                   "totals", "layers"});
    RefNetwork net;
    net.key = key;
    net.where = file + ": " + path;
    net.network = rd.text(n["network"], path + ".network");
    const auto names = core::builtin_network_names();
    if (std::find(names.begin(), names.end(), net.network) == names.end())
        rd.fail(path + ".network", "no built-in network '" + printable(net.network) + "'");
    net.batch = rd.integer(n["batch"], path + ".batch");
    net.core_clock_mhz = rd.positive(n["core_clock_mhz"], path + ".core_clock_mhz");
    net.link_clock_mhz = rd.positive(n["link_clock_mhz"], path + ".link_clock_mhz");
    net.zero_mode = core::parse_zero_mode(rd.text(n["zero_mode"], path + ".zero_mode"),
                                          file + ": " + path + ".zero_mode");
    // Every measured field carries its citation.
    std::vector<std::string> cited = {"table",  "batch",     "core_clock_mhz", "link_clock_mhz",
                                      "macs_m", "zeros_pct", "mapping"};
    for (const MetricInfo& m : kMetrics) cited.push_back(m.key);
    const std::string cp = path + ".citations";
    rd.expect_map(n["citations"], cp, cited, {"ofmap_zeros_pct"});
    for (const std::string& c : cited) net.citations[c] = rd.text(n["citations"][c], cp + "." + c);
    if (n["citations"]["ofmap_zeros_pct"].IsDefined())
        net.citations["ofmap_zeros_pct"] =
            rd.text(n["citations"]["ofmap_zeros_pct"], cp + ".ofmap_zeros_pct");
    const std::string tp = path + ".totals";
    std::vector<std::string> metric_keys;
    for (const MetricInfo& m : kMetrics) metric_keys.push_back(m.key);
    rd.expect_map(n["totals"], tp, metric_keys);
    for (size_t i = 0; i < kNumMetrics; ++i)
        net.totals[i] = rd.positive(n["totals"][kMetrics[i].key], tp + "." + kMetrics[i].key);
    const YAML::Node layers = n["layers"];
    const std::string lp = path + ".layers";
    if (!layers.IsSequence() || layers.size() == 0) rd.fail(lp, "expected a non-empty list");
    std::set<std::string> seen;
    for (size_t i = 0; i < layers.size(); ++i) {
        const std::string p = lp + "[" + std::to_string(i) + "]";
        net.layers.push_back(parse_layer(rd, layers[i], p, file));
        if (net.layers.back().ofmap_zeros_pct && !net.citations.count("ofmap_zeros_pct"))
            rd.fail(cp + ".ofmap_zeros_pct", "missing: " + p + " gives ofmap_zeros_pct");
        if (!seen.insert(net.layers.back().name).second)
            rd.fail(p + ".name", "layer '" + printable(net.layers.back().name) + "' listed twice");
    }
    return net;
}

Reference parse_reference(const std::string& yaml_text, const std::string& file) {
    const Reader rd(file);
    YAML::Node root;
    try {
        root = YAML::Load(yaml_text);
    } catch (const YAML::Exception& e) {
        throw core::InputError(file, "invalid YAML: " + printable(e.what()));
    }
    try {
        rd.expect_map(root, "", {"schema", "arch", "source", "metrics", "networks"});
        const std::string schema = rd.text(root["schema"], "schema");
        if (schema != kSchema)
            rd.fail("schema",
                    "expected '" + std::string(kSchema) + "', got '" + printable(schema) + "'");
        Reference ref;
        ref.where = file;
        ref.arch = rd.text(root["arch"], "arch");
        ref.source = rd.text(root["source"], "source");
        std::vector<std::string> metric_keys;
        for (const MetricInfo& m : kMetrics) metric_keys.push_back(m.key);
        rd.expect_map(root["metrics"], "metrics", metric_keys);
        for (size_t i = 0; i < kNumMetrics; ++i) {
            const std::string p = std::string("metrics.") + kMetrics[i].key;
            const YAML::Node m = root["metrics"][kMetrics[i].key];
            rd.expect_map(m, p, {"target", "definition"});
            ref.targets[i] = parse_target(rd, m["target"], p + ".target");
            ref.definitions[i] = rd.text(m["definition"], p + ".definition");
        }
        const YAML::Node nets = root["networks"];
        if (!nets.IsMap() || nets.size() == 0) rd.fail("networks", "expected a non-empty map");
        for (auto it = nets.begin(); it != nets.end(); ++it) {
            const std::string key = rd.text(it->first, "networks");
            ref.networks[key] = parse_network(rd, it->second, key, file);
        }
        return ref;
    } catch (const YAML::Exception& e) {
        throw core::InputError(file, "invalid YAML: " + printable(e.what()));
    }
}

// ---------------------------------------------------------------------------------------
// Running the layers.

struct Opts {
    std::string arch = kBuiltinArch;
    std::string energy_table;
    std::string reference;
    std::string network = "alexnet";
    std::vector<std::string> layers;
    std::string fidelity = "fast";
    std::string json_out;
    std::string markdown_out;
    std::string mapping_source = "mapper";
    uint64_t seed = 1;
    bool strict = false;
};

bool file_exists(const std::string& path) { return std::ifstream(path).good(); }

std::string lower(std::string s) {
    for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

std::string glb_text(const tlm::GlbTiling& t) {
    std::ostringstream s;
    s << "n=" << t.n << ",g=" << t.g << ",m=" << t.m << ",c=" << t.c << ",rows=" << t.rows;
    if (t.cols != 0) s << ",cols=" << t.cols;  // column strips (0: none)
    return s.str();
}

/// The Table III mapping as a LayerMapping: the array mapping exactly as published, and
/// the paper's GLB allocation (n images x q*r channels of ifmap, n x m psums, e-row strips)
/// when the model's buffers hold it; else the GLB tiling the mapper's estimate ranks best
/// among those that keep the published array mapping unchanged. `note` says which.
tlm::LayerMapping paper_mapping(const core::LayerShape& s, const RefLayer& rl,
                                const core::ArchConfig& a, double density, std::string& note) {
    const RefMapping& rm = *rl.mapping;
    hw::Mapping am;
    am.n = rm.n;
    am.p = rm.p;
    am.q = rm.q;
    am.e = rm.e;
    am.r = rm.r;
    am.t = rm.t;
    am.filter_rows = s.R;
    am.filter_cols = s.S;
    if (auto why = hw::check_mapping(s, am, a))
        throw core::InputError(rl.where + ".mapping",
                               "the published mapping does not fit this arch: " + *why);
    const int64_t mpg = s.m_per_group(), cpg = s.c_per_group();
    auto keeps_mapping = [&](const tlm::LayerMapping& lm) {
        if (tlm::check_layer_mapping(s, lm, a)) return false;
        return tlm::chunk_array_mapping(tlm::chunk_shape(s, lm.glb), am, a) == am;
    };
    const tlm::LayerMapping table{
        {rm.n, 1, std::min(rm.m, mpg), std::min(rm.q * rm.r, cpg), std::min(rm.e, s.P)}, am};
    if (keeps_mapping(table)) {
        note = "Table III array mapping and GLB allocation";
        return table;
    }
    std::string why = "does not keep the array mapping";
    if (auto w = tlm::check_layer_mapping(s, table, a)) why = *w;
    auto steps = [](int64_t step, int64_t limit) {
        std::set<int64_t> v;
        for (int64_t x = std::min(step, limit); x < limit; x += step) v.insert(x);
        v.insert(limit);
        return v;
    };
    bool found = false;
    double best = 0;
    tlm::LayerMapping chosen;
    for (int64_t n : std::set<int64_t>{std::min(rm.n, s.N), s.N})
        for (int64_t g = 1; g <= s.G; ++g)
            for (int64_t m : steps(std::min(rm.p * rm.t, mpg), mpg))
                for (int64_t c : steps(std::min(rm.q * rm.r, cpg), cpg))
                    for (int64_t rows : steps(std::min(rm.e, s.P), s.P)) {
                        const tlm::LayerMapping lm{{n, g, m, c, rows}, am};
                        if (!keeps_mapping(lm)) continue;
                        const double e = tlm::estimate(s, lm, a, density).energy_pj;
                        if (!found || e < best) found = true, best = e, chosen = lm;
                    }
    if (!found)
        throw core::InputError(rl.where + ".mapping",
                               "no GLB tiling of this arch keeps the published array mapping");
    note = "Table III array mapping; its GLB allocation (" + glb_text(table.glb) +
           ") does not fit the model (" + why + "), GLB tiling by the mapper's estimate";
    return chosen;
}

struct LayerOutcome {
    const RefLayer* ref = nullptr;
    std::string error;  ///< why the layer was not simulated ("" when it was)
    tlm::LayerResult result;
    std::string mapping_note;
    double simulated[kNumMetrics] = {};
    nlohmann::json json;
};

double rel_error(double sim, double measured) { return sim / measured - 1.0; }

/// "yes"/"no" for a target, "-" without one, "?" when the measured value is uncertain.
std::string verdict(const Target& t, double sim, double measured, bool uncertain) {
    if (t.kind == Target::kNone) return "-";
    if (uncertain) return "?";
    if (t.kind == Target::kEqual) return std::llround(sim) == std::llround(measured) ? "yes" : "no";
    return std::fabs(rel_error(sim, measured)) <= t.pct / 100.0 + 1e-12 ? "yes" : "no";
}

std::string fmt_value(size_t metric, double v) {
    char buf[32];
    if (metric == kActivePes)
        std::snprintf(buf, sizeof buf, "%.0f", v);
    else
        std::snprintf(buf, sizeof buf, std::fabs(v) >= 1.0 ? "%.2f" : "%.3g", v);
    return buf;
}

/// As published: one decimal (Tables V and VI print one), more when the file has more.
std::string fmt_measured(size_t metric, double v, bool uncertain) {
    char buf[32];
    if (metric == kActivePes)
        std::snprintf(buf, sizeof buf, "%.0f", v);
    else if (std::fabs(v * 10.0 - std::round(v * 10.0)) < 1e-9)
        std::snprintf(buf, sizeof buf, "%.1f", v);
    else
        std::snprintf(buf, sizeof buf, "%.6g", v);
    return std::string(buf) + (uncertain ? "?" : "");
}

std::string fmt_error(double sim, double measured) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%+.1f %%", 100.0 * rel_error(sim, measured));
    return buf;
}

void check_output(const core::Trace& t, const tlm::LayerResult& r) {
    if (!t.ofmap_acc.empty() && t.ofmap_acc != r.ofmap)
        core::model_bug("validate", "layer " + t.layer +
                                        ": the array's output differs from the trace's "
                                        "reference accumulators");
}

struct Settings {
    std::string reference_name, arch_source;
    std::vector<std::string> notes;  ///< clock and zero-mode overrides, said in the output
};

/// Gives the synthetic trace a uniform bias (its epilogue, as an exported trace's folded
/// BatchNorm) so that about `density` of its ReLU'd, requantised ofmap is non-zero: the
/// ofmap the DMA RLC-codes and writes is then as sparse as the chip's was. The bias puts the
/// (1 - density) quantile of the pre-activations at 3/4 of an output LSB, so values at or
/// above it round to >= 1 and values more than 1/4 LSB below it to 0.
void set_ofmap_density(core::Trace& t, double density) {
    std::vector<double> x(t.ofmap_acc.size());
    for (size_t i = 0; i < x.size(); ++i)
        x[i] = std::ldexp(static_cast<double>(t.ofmap_acc[i]), -2 * static_cast<int>(t.frac_bits));
    if (x.empty()) core::model_bug("validate", "synthetic trace without ofmap_acc");
    const size_t k = std::min(
        x.size() - 1,
        static_cast<size_t>(std::llround((1.0 - density) * static_cast<double>(x.size()))));
    std::nth_element(x.begin(), x.begin() + static_cast<std::ptrdiff_t>(k), x.end());
    const double bias = 0.75 * std::ldexp(1.0, -static_cast<int>(t.frac_bits)) - x[k];
    t.extra["bias"] =
        nlohmann::json(std::vector<double>(static_cast<size_t>(t.shape.M), bias)).dump();
    t.extra["relu_after"] = "true";
}

void print_metric_rows(const Reference& ref, const double* sim, const double* measured,
                       const std::set<std::string>& uncertain, bool totals) {
    std::printf("  %-28s %10s %10s %9s %7s %4s\n", "metric", "simulated", "measured", "error",
                "target", "met");
    for (size_t i = 0; i < kNumMetrics; ++i) {
        const bool unc = uncertain.count(kMetrics[i].key) > 0;
        std::string label = kMetrics[i].label;
        if (*kMetrics[i].unit) label += std::string(" (") + kMetrics[i].unit + ")";
        if (totals && i == kActivePes) label += " [mean]";
        const Target t = totals && i == kActivePes ? Target{} : ref.targets[i];
        std::printf("  %-28s %10s %10s %9s %7s %4s\n", label.c_str(), fmt_value(i, sim[i]).c_str(),
                    fmt_measured(i, measured[i], unc).c_str(),
                    fmt_error(sim[i], measured[i]).c_str(), t.text().c_str(),
                    verdict(t, sim[i], measured[i], unc).c_str());
    }
}

nlohmann::json metric_json(const Target& t, double sim, double measured, bool uncertain) {
    const std::string v = verdict(t, sim, measured, uncertain);
    nlohmann::json j = {{"simulated", sim},
                        {"measured", measured},
                        {"error", rel_error(sim, measured)},
                        {"target", t.text()},
                        {"uncertain", uncertain}};
    j["met"] = v == "yes" ? nlohmann::json(true) : v == "no" ? nlohmann::json(false) : nullptr;
    return j;
}

std::string markdown(const Reference& ref, const RefNetwork& rn, const Settings& st, const Opts& o,
                     const std::vector<LayerOutcome>& rows, size_t not_simulated,
                     const double* sim_tot, const double* ref_tot,
                     const std::set<std::string>& tot_uncertain, int met, int checked) {
    std::ostringstream md;
    md << "Simulated (`actsparse validate`) vs measured (" << rn.citations.at("table") << ").\n\n";
    md << "- arch: " << st.arch_source << "; reference: " << st.reference_name << "\n";
    md << "- network: " << rn.network << ", batch " << rn.batch << "; fidelity " << o.fidelity
       << "; mappings: " << o.mapping_source << "; synthetic uniform zeros, seed " << o.seed
       << " (+ layer index)\n";
    for (const std::string& n : st.notes) md << "- " << n << "\n";
    md << "- targets met: " << met << " of " << checked;
    if (not_simulated > 0) md << "; " << not_simulated << " layer(s) not simulated";
    md << "\n\n";
    // One row per layer; each cell "simulated / measured (error)", then a check mark when
    // the target is met, a cross when missed.
    auto cell = [&](size_t i, const Target& t, double sim, double measured, bool unc) {
        const std::string v = verdict(t, sim, measured, unc);
        std::string c = fmt_value(i, sim) + " / " + fmt_measured(i, measured, unc) + " (" +
                        fmt_error(sim, measured) + ")";
        if (v == "yes") c += " ✓";
        if (v == "no") c += " ✗";
        return c;
    };
    md << "Each cell: simulated / measured (error); ✓ target met, ✗ missed, ? the measured value "
          "is uncertain (not judged).\n\n| layer |";
    for (size_t i = 0; i < kNumMetrics; ++i) {
        md << " " << kMetrics[i].label;
        if (*kMetrics[i].unit) md << " (" << kMetrics[i].unit << ")";
        if (ref.targets[i].kind != Target::kNone) md << ", target " << ref.targets[i].text();
        md << " |";
    }
    md << "\n|---|";
    for (size_t i = 0; i < kNumMetrics; ++i) md << "---|";
    md << "\n";
    for (const LayerOutcome& r : rows) {
        md << "| " << r.ref->name << " (" << r.ref->paper_name << ") |";
        if (!r.error.empty()) {
            md << " not simulated: " << r.error << " |" << std::string(kNumMetrics - 1, '|')
               << "\n";
            continue;
        }
        for (size_t i = 0; i < kNumMetrics; ++i)
            md << " "
               << cell(i, ref.targets[i], r.simulated[i], r.ref->values[i],
                       r.ref->uncertain.count(kMetrics[i].key) > 0)
               << " |";
        md << "\n";
    }
    if (rows.size() > not_simulated) {
        md << "| total (sums; active PEs: mean weighted by total latency) |";
        for (size_t i = 0; i < kNumMetrics; ++i)
            md << " "
               << cell(i, i == kActivePes ? Target{} : ref.targets[i], sim_tot[i], ref_tot[i],
                       tot_uncertain.count(kMetrics[i].key) > 0)
               << " |";
        md << "\n";
    }
    md << "\n**Mappings** (array: hw's n, p, q, e, r, t, filter_rows, filter_cols; GLB: n, g, m, "
          "c, rows, cols when strip-mined)\n\n| layer | array | GLB | Table III | note "
          "|\n|---|---|---|---|---|\n";
    for (const LayerOutcome& r : rows) {
        if (!r.error.empty()) continue;
        md << "| " << r.ref->name << " | " << hw::to_string(r.result.mapping.array) << " | "
           << glb_text(r.result.mapping.glb) << " | "
           << (r.ref->mapping ? r.ref->mapping->text() : "-") << " | " << r.mapping_note << " |\n";
    }
    return md.str();
}

void run_validate(const Opts& o) {
    // The arch, and which reference applies to it.
    const bool builtin_arch = o.arch == kBuiltinArch;
    if (!builtin_arch && o.reference.empty() && !file_exists(o.arch))
        throw core::InputError(
            "--arch", "no measured reference for '" + printable(o.arch) +
                          "': validate knows the Eyeriss v1 chip only (--arch eyeriss-v1, or an "
                          "arch YAML named eyeriss-v1); give --reference FILE for another");
    core::ArchConfig arch = load_arch_with_energy(o.arch, o.energy_table);
    Settings st;
    st.arch_source =
        builtin_arch ? std::string("eyeriss-v1 (built-in)") : o.arch + " (name: " + arch.name + ")";
    Reference ref;
    if (o.reference.empty()) {
        if (arch.name != kBuiltinArch)
            throw core::InputError(
                "--arch", "no measured reference for arch '" + printable(arch.name) + "' (" +
                              printable(o.arch) +
                              "): the built-in reference is the Eyeriss v1 chip (name "
                              "eyeriss-v1); give --reference FILE for another");
        ref = parse_reference(builtin_reference_yaml(), kBuiltinReferenceName);
        st.reference_name = kBuiltinReferenceName;
    } else {
        ref = parse_reference(core::read_file(o.reference), o.reference);
        st.reference_name = o.reference;
        if (ref.arch != arch.name)
            throw core::InputError(o.reference + ": arch",
                                   "the reference is for '" + printable(ref.arch) +
                                       "', --arch is '" + printable(arch.name) + "'");
    }
    auto nit = ref.networks.find(o.network);
    if (nit == ref.networks.end()) {
        std::string have;
        for (const auto& [k, v] : ref.networks) have += (have.empty() ? "" : ", ") + k;
        throw core::InputError("--network", "the reference " + ref.where + " has no '" +
                                                printable(o.network) + "' (it has " + have + ")");
    }
    const RefNetwork& rn = nit->second;

    // The network's layers, checked against the reference.
    const core::Network net = core::builtin_network(rn.network);
    const std::vector<core::ConvLayer> conv = net.conv_layers(rn.batch);
    std::vector<std::pair<const RefLayer*, const core::ConvLayer*>> all;
    for (const RefLayer& rl : rn.layers) {
        const core::ConvLayer* found = nullptr;
        for (const core::ConvLayer& l : conv)
            if (l.name == rl.name) found = &l;
        if (!found)
            throw core::InputError(rl.where + ".name", "no conv layer '" + printable(rl.name) +
                                                           "' in the built-in " + rn.network);
        const double macs_m = static_cast<double>(found->shape.macs()) / 1e6;
        if (std::fabs(macs_m / rl.macs_m - 1.0) > 0.01) {
            char buf[160];
            std::snprintf(buf, sizeof buf,
                          "is %g M, but %s's %s has %.2f M MACs at batch %lld (another network?)",
                          rl.macs_m, rn.network.c_str(), rl.name.c_str(), macs_m,
                          static_cast<long long>(rn.batch));
            throw core::InputError(rl.where + ".macs_m", buf);
        }
        all.emplace_back(&rl, found);
    }
    std::vector<std::pair<const RefLayer*, const core::ConvLayer*>> selected;
    if (o.layers.empty()) {
        selected = all;
    } else {
        std::set<const RefLayer*> want;
        for (const std::string& name : o.layers) {
            bool hit = false;
            for (const auto& [rl, l] : all)
                if (rl->name == name || lower(rl->paper_name) == lower(name)) {
                    want.insert(rl);
                    hit = true;
                }
            if (!hit) {
                std::string have;
                for (const auto& [rl, l] : all) have += (have.empty() ? "" : ", ") + rl->name;
                throw core::InputError("--layers", "no layer '" + printable(name) +
                                                       "' in the reference for " + rn.key + " (" +
                                                       have + ")");
            }
        }
        for (const auto& pr : all)
            if (want.count(pr.first)) selected.push_back(pr);
    }
    const bool paper = o.mapping_source == "paper";
    if (!paper && o.mapping_source != "mapper")
        throw core::InputError("--mapping-source", "expected mapper or paper, got '" +
                                                       printable(o.mapping_source) + "'");
    if (paper)
        for (const auto& [rl, l] : selected)
            if (!rl->mapping)
                throw core::InputError("--mapping-source",
                                       "the reference publishes no mapping for " + rn.key + " " +
                                           rl->name + " (" + rn.citations.at("mapping") + ")");
    const hw::Fidelity fidelity = hw::parse_fidelity(o.fidelity, "--fidelity");

    // The run's arch: the reference's clocks and zero mode, said when they change the arch.
    core::ArchConfig run = arch;
    char buf[256];
    if (run.clock_mhz != rn.core_clock_mhz) {
        std::snprintf(buf, sizeof buf,
                      "core clock %g MHz from the reference overrides the arch's clock_mhz = %g",
                      rn.core_clock_mhz, run.clock_mhz);
        st.notes.push_back(buf);
    } else {
        std::snprintf(buf, sizeof buf, "core clock %g MHz (the reference's and the arch's)",
                      rn.core_clock_mhz);
        st.notes.push_back(buf);
    }
    if (run.dram.clock_mhz != rn.link_clock_mhz) {
        std::snprintf(buf, sizeof buf,
                      "link clock %g MHz from the reference overrides the arch's dram.clock_mhz = "
                      "%g for this run",
                      rn.link_clock_mhz, run.dram.clock_mhz);
        st.notes.push_back(buf);
    } else {
        std::snprintf(buf, sizeof buf, "link clock %g MHz (the reference's and the arch's)",
                      rn.link_clock_mhz);
        st.notes.push_back(buf);
    }
    if (run.zero_mode != rn.zero_mode)
        st.notes.push_back(std::string("zero mode ") + core::to_string(rn.zero_mode) +
                           " from the reference overrides the arch's " +
                           core::to_string(run.zero_mode));
    else
        st.notes.push_back(std::string("zero mode ") + core::to_string(rn.zero_mode));
    run.clock_mhz = rn.core_clock_mhz;
    run.dram.clock_mhz = rn.link_clock_mhz;
    run.zero_mode = rn.zero_mode;
    run.validate("validate");

    std::printf("validate: %s vs the measured chip, %s\n", st.arch_source.c_str(),
                rn.citations.at("table").c_str());
    std::printf("reference: %s\n", st.reference_name.c_str());
    std::printf(
        "network %s, batch %lld, %zu of %zu layers; fidelity %s; mappings: %s; synthetic "
        "uniform zeros (density = 1 - zeros), seed %llu (+ layer index)\n",
        rn.network.c_str(), static_cast<long long>(rn.batch), selected.size(), all.size(),
        o.fidelity.c_str(), paper ? "paper (Table III)" : "mapper (objective energy)",
        static_cast<unsigned long long>(o.seed));
    for (const std::string& n : st.notes) std::printf("%s\n", n.c_str());
    std::fflush(stdout);

    std::vector<LayerOutcome> rows;
    int met = 0, checked = 0;
    nlohmann::json not_simulated = nlohmann::json::array();
    auto count = [&](const Target& t, double sim, double measured, bool unc) {
        const std::string v = verdict(t, sim, measured, unc);
        if (v == "yes" || v == "no") ++checked;
        if (v == "yes") ++met;
    };
    for (const auto& [rl, l] : selected) {
        core::SynthOptions synth;
        synth.density = 1.0 - rl->zeros_pct / 100.0;
        synth.seed = o.seed + static_cast<uint64_t>(l->index);
        synth.pattern = core::ZeroPattern::kUniform;
        core::Trace trace = core::synth_trace(l->shape, synth, run.frac_bits);
        trace.network = net.name;
        trace.layer = l->name;
        if (rl->ofmap_zeros_pct) set_ofmap_density(trace, 1.0 - *rl->ofmap_zeros_pct / 100.0);
        tlm::SimOptions so;
        so.arch = run;
        so.fidelity = fidelity;
        so.objective = tlm::Objective::kEnergy;
        so.ifmap_compressed = l->input_name != net.input().name;
        LayerOutcome out;
        out.ref = rl;
        // A layer the arch cannot map (no tiling fits, or the published mapping does not)
        // is reported and left out of the totals; the other layers still run.
        try {
            if (paper) {
                so.mapping = paper_mapping(l->shape, *rl, run, trace.density(), out.mapping_note);
            } else {
                out.mapping_note = "mapper";
            }
            out.result = tlm::simulate_layer(trace, so);
        } catch (const core::InputError& e) {
            std::printf("\n%s (%s): not simulated: %s\n", rl->name.c_str(), rl->paper_name.c_str(),
                        e.what());
            std::fflush(stdout);
            out.error = e.what();
            out.json = {{"layer", rl->name}, {"paper_name", rl->paper_name}, {"error", out.error}};
            not_simulated.push_back(out.json);
            rows.push_back(std::move(out));
            continue;
        }
        check_output(trace, out.result);
        const tlm::LayerResult& r = out.result;
        const tlm::Accesses& a = r.accesses;
        const int64_t glb_words = a.glb_ifmap_reads + a.glb_ifmap_writes + a.glb_filter_reads +
                                  a.glb_filter_writes + a.glb_psum_reads + a.glb_psum_writes;
        // The PE array's side of the GLB (docs/validation.md, "Counting conventions"): what
        // the GINs read and the GON writes, the psum read-back of later channel chunks
        // included; not the DMA's writes of ifmaps and filters nor the ofmap's read-out to
        // DRAM (the final accumulators, one GLB read each).
        const int64_t ofmap_readout = static_cast<int64_t>(r.ofmap.size());
        const int64_t glb_array_words = a.glb_ifmap_reads + a.glb_filter_reads + a.glb_psum_writes +
                                        a.glb_psum_reads - ofmap_readout;
        const int64_t dram_words = a.dram_ifmap_reads + a.dram_filter_reads + a.dram_ofmap_writes +
                                   a.dram_psum_reads + a.dram_psum_writes;
        // Active PEs: the logical PEs of the sets of a full-size chunk (a folded set still
        // occupies one physical PE per logical PE).
        const hw::Mapping cm = tlm::chunk_array_mapping(tlm::chunk_shape(l->shape, r.mapping.glb),
                                                        r.mapping.array, run);
        const int64_t active = cm.filter_rows * cm.e * cm.r * cm.t;
        out.simulated[0] = static_cast<double>(r.cycles_processing) / (run.clock_mhz * 1e3);
        out.simulated[1] = static_cast<double>(r.cycles_total) / (run.clock_mhz * 1e3);
        out.simulated[2] = static_cast<double>(glb_array_words) * 2.0 / 1e6;
        out.simulated[3] = static_cast<double>(dram_words) * 2.0 / 1e6;
        out.simulated[kActivePes] = static_cast<double>(active);

        std::printf("\n%s (%s): density %.4f, ofmap density %.4f%s, %lld passes, %.1f s host\n",
                    rl->name.c_str(), rl->paper_name.c_str(), r.density, r.ofmap_density,
                    rl->ofmap_zeros_pct ? " (the reference's)" : " (synthetic weights)",
                    static_cast<long long>(r.passes.size()), r.host_seconds);
        std::printf("  mapping: array %s; glb %s (%s)\n", hw::to_string(r.mapping.array).c_str(),
                    glb_text(r.mapping.glb).c_str(), out.mapping_note.c_str());
        if (rl->mapping) std::printf("  Table III: %s\n", rl->mapping->text().c_str());
        print_metric_rows(ref, out.simulated, rl->values, rl->uncertain, false);
        std::printf("  (GLB accesses incl. DRAM fills and the ofmap read-out: %.2f MB)\n",
                    static_cast<double>(glb_words) * 2.0 / 1e6);
        std::fflush(stdout);

        nlohmann::json j;
        j["layer"] = rl->name;
        j["paper_name"] = rl->paper_name;
        j["shape"] = l->shape.to_spec();
        j["zeros_pct"] = rl->zeros_pct;
        j["density"] = r.density;
        j["ofmap_density"] = r.ofmap_density;
        j["ofmap_density_target"] = rl->ofmap_zeros_pct
                                        ? nlohmann::json(1.0 - *rl->ofmap_zeros_pct / 100.0)
                                        : nlohmann::json(nullptr);
        j["seed"] = synth.seed;
        j["mapping"] = tlm::to_json(r.mapping);
        j["mapping_note"] = out.mapping_note;
        if (rl->mapping) {
            const RefMapping& m = *rl->mapping;
            j["table_iii_mapping"] = {{"m", m.m}, {"n", m.n}, {"e", m.e}, {"p", m.p},
                                      {"q", m.q}, {"r", m.r}, {"t", m.t}};
        }
        j["cycles"] = {{"processing", r.cycles_processing},
                       {"total", r.cycles_total},
                       {"compute_stall", r.compute_stall_cycles}};
        j["passes"] = static_cast<int64_t>(r.passes.size());
        j["glb_words"] = {{"ifmap_reads", a.glb_ifmap_reads},
                          {"ifmap_writes", a.glb_ifmap_writes},
                          {"filter_reads", a.glb_filter_reads},
                          {"filter_writes", a.glb_filter_writes},
                          {"psum_reads", a.glb_psum_reads},
                          {"psum_writes", a.glb_psum_writes},
                          {"ofmap_readout", ofmap_readout},
                          {"array_side", glb_array_words},
                          {"all", glb_words}};
        j["dram_words"] = {{"ifmap_reads", a.dram_ifmap_reads},
                           {"filter_reads", a.dram_filter_reads},
                           {"ofmap_writes", a.dram_ofmap_writes},
                           {"psum_reads", a.dram_psum_reads},
                           {"psum_writes", a.dram_psum_writes}};
        for (size_t i = 0; i < kNumMetrics; ++i) {
            const bool unc = rl->uncertain.count(kMetrics[i].key) > 0;
            j["metrics"][kMetrics[i].key] =
                metric_json(ref.targets[i], out.simulated[i], rl->values[i], unc);
            count(ref.targets[i], out.simulated[i], rl->values[i], unc);
        }
        j["host_seconds"] = r.host_seconds;
        out.json = std::move(j);
        rows.push_back(std::move(out));
    }

    // Totals over the selected layers: sums, and active PEs as the mean weighted by total
    // latency (how Table V's 148 = 88 % of 168 comes about).
    double sim_tot[kNumMetrics] = {}, ref_tot[kNumMetrics] = {};
    std::set<std::string> tot_uncertain;
    for (const LayerOutcome& r : rows) {
        if (!r.error.empty()) continue;
        for (size_t i = 0; i < kActivePes; ++i) {
            sim_tot[i] += r.simulated[i];
            ref_tot[i] += r.ref->values[i];
            if (r.ref->uncertain.count(kMetrics[i].key)) tot_uncertain.insert(kMetrics[i].key);
        }
        sim_tot[kActivePes] += r.simulated[kActivePes] * r.simulated[1];
        ref_tot[kActivePes] += r.ref->values[kActivePes] * r.ref->values[1];
    }
    nlohmann::json totals = nlohmann::json::object();
    const size_t simulated = rows.size() - not_simulated.size();
    if (simulated > 0) {
        sim_tot[kActivePes] /= sim_tot[1];
        ref_tot[kActivePes] /= ref_tot[1];
        std::printf(
            "\ntotal (%zu layers%s; sums, active PEs the mean weighted by total "
            "latency):\n",
            simulated, not_simulated.empty() ? "" : " simulated");
        print_metric_rows(ref, sim_tot, ref_tot, tot_uncertain, true);
        for (size_t i = 0; i < kNumMetrics; ++i) {
            const bool unc = tot_uncertain.count(kMetrics[i].key) > 0;
            const Target t = i == kActivePes ? Target{} : ref.targets[i];
            totals[kMetrics[i].key] = metric_json(t, sim_tot[i], ref_tot[i], unc);
            count(t, sim_tot[i], ref_tot[i], unc);
            if (simulated == rn.layers.size()) totals[kMetrics[i].key]["printed"] = rn.totals[i];
        }
    }
    std::printf("\ntargets met: %d of %d", met, checked);
    if (!not_simulated.empty()) std::printf("; %zu layer(s) not simulated", not_simulated.size());
    std::printf("\n");

    nlohmann::json report;
    report["schema"] = "actsparse.validation/1";
    report["arch"] = core::arch_to_json(run);
    report["arch_hash"] = core::arch_hash(run);
    report["arch_source"] = st.arch_source;
    report["reference"] = {{"file", st.reference_name},
                           {"source", ref.source},
                           {"network", rn.key},
                           {"table", rn.citations.at("table")}};
    report["network"] = rn.network;
    report["batch"] = rn.batch;
    report["fidelity"] = o.fidelity;
    report["mapping_source"] = o.mapping_source;
    report["seed"] = o.seed;
    report["notes"] = st.notes;
    for (LayerOutcome& r : rows) report["layers"].push_back(r.json);
    report["totals"] = totals;
    report["not_simulated"] = not_simulated;
    report["targets"] = {{"met", met}, {"checked", checked}};
    if (!o.json_out.empty()) core::write_file_atomic(o.json_out, report.dump(2) + "\n");
    if (!o.markdown_out.empty())
        core::write_file_atomic(
            o.markdown_out, markdown(ref, rn, st, o, rows, not_simulated.size(), sim_tot, ref_tot,
                                     tot_uncertain, met, checked));
    if (o.strict && (met < checked || !not_simulated.empty())) {
        std::printf("--strict: %d target(s) missed, %zu layer(s) not simulated\n", checked - met,
                    not_simulated.size());
        set_exit_code(1);
    }
}

}  // namespace

void add_validate_command(CLI::App& app) {
    auto o = std::make_shared<Opts>();
    auto* cmd = app.add_subcommand(
        "validate", "Compare the simulator with the measured Eyeriss v1 chip (JSSC 2017)");
    cmd->add_option("--arch", o->arch, "eyeriss-v1 or an architecture YAML file")
        ->capture_default_str();
    cmd->add_option("--energy-table", o->energy_table,
                    "An Accelergy ERT (ERT.yaml) for the arch's energy counters (docs/formats.md)");
    cmd->add_option("--reference", o->reference,
                    "Measured reference YAML (default: the built-in one for the arch)");
    cmd->add_option("--network", o->network, "Network of the reference")->capture_default_str();
    cmd->add_option("--layers", o->layers,
                    "Only these layers (names or paper names, comma-separated)")
        ->delimiter(',');
    cmd->add_option("--fidelity", o->fidelity, "fast | cycle")->capture_default_str();
    cmd->add_option("--mapping-source", o->mapping_source,
                    "mapper (the mapper picks) | paper (the published Table III mappings)")
        ->capture_default_str();
    cmd->add_option("--seed", o->seed, "Seed of the synthetic traces (+ layer index)")
        ->capture_default_str();
    cmd->add_option("--json", o->json_out, "Write the comparison as JSON (atomically)");
    cmd->add_option("--markdown", o->markdown_out, "Write the comparison as Markdown tables");
    cmd->add_flag("--strict", o->strict, "Exit 1 when a target is missed");
    cmd->callback([o]() { run_validate(*o); });
}

}  // namespace actsparse::app
