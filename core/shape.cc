#include "core/shape.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <map>
#include <sstream>
#include <vector>

#include "core/error.h"

namespace actsparse::core {
namespace {

int64_t parse_int(const std::string& text, const std::string& where) {
    try {
        size_t used = 0;
        const long long v = std::stoll(text, &used);
        if (used != text.size()) throw std::invalid_argument(text);
        return v;
    } catch (const std::exception&) {
        throw InputError(where, "expected an integer, got '" + text + "'");
    }
}

}  // namespace

void LayerShape::finalize(const std::string& where) {
    auto positive = [&](int64_t v, const char* key) {
        if (v < 1) throw InputError(where + ": " + key, "must be >= 1, got " + std::to_string(v));
    };
    positive(N, "N");
    positive(C, "C");
    positive(M, "M");
    positive(R, "R");
    positive(S, "S");
    positive(P, "P");
    positive(Q, "Q");
    positive(G, "G");
    positive(Hstride, "Hstride");
    positive(Wstride, "Wstride");
    if (Hpad < 0) throw InputError(where + ": Hpad", "must be >= 0");
    if (Wpad < 0) throw InputError(where + ": Wpad", "must be >= 0");
    if (C % G != 0)
        throw InputError(where + ": G",
                         "C=" + std::to_string(C) + " is not divisible by G=" + std::to_string(G));
    if (M % G != 0)
        throw InputError(where + ": G",
                         "M=" + std::to_string(M) + " is not divisible by G=" + std::to_string(G));
    if (Hpad >= R) throw InputError(where + ": Hpad", "padding must be smaller than R");
    if (Wpad >= S) throw InputError(where + ": Wpad", "padding must be smaller than S");
    // The smallest input that yields P x Q; a given H/W may be up to stride-1 larger
    // (floor division in the output-size formula).
    const int64_t min_h = (P - 1) * Hstride + R - 2 * Hpad;
    const int64_t min_w = (Q - 1) * Wstride + S - 2 * Wpad;
    if (H == 0) H = min_h;
    if (W == 0) W = min_w;
    if (H < 1 || (H + 2 * Hpad - R) / Hstride + 1 != P || H + 2 * Hpad < R)
        throw InputError(where + ": H", "input height " + std::to_string(H) +
                                            " does not give P=" + std::to_string(P));
    if (W < 1 || (W + 2 * Wpad - S) / Wstride + 1 != Q || W + 2 * Wpad < S)
        throw InputError(where + ": W", "input width " + std::to_string(W) +
                                            " does not give Q=" + std::to_string(Q));
}

LayerShape LayerShape::parse_spec(const std::string& spec, const std::string& where) {
    LayerShape s;
    std::map<std::string, int64_t> kv;
    std::stringstream ss(spec);
    std::string item;
    while (std::getline(ss, item, ',')) {
        if (item.empty()) continue;
        const auto eq = item.find('=');
        if (eq == std::string::npos)
            throw InputError(where, "expected KEY=VALUE, got '" + item + "'");
        const std::string key = item.substr(0, eq);
        if (kv.count(key)) throw InputError(where + ": " + key, "given twice");
        kv[key] = parse_int(item.substr(eq + 1), where + ": " + key);
    }
    if (kv.count("stride") && (kv.count("Hstride") || kv.count("Wstride")))
        throw InputError(where + ": stride", "give either stride or Hstride/Wstride");
    if (kv.count("pad") && (kv.count("Hpad") || kv.count("Wpad")))
        throw InputError(where + ": pad", "give either pad or Hpad/Wpad");
    // In the order the unknown-key message lists them.
    const std::vector<std::pair<std::string, std::vector<int64_t*>>> fields = {
        {"N", {&s.N}},
        {"C", {&s.C}},
        {"M", {&s.M}},
        {"R", {&s.R}},
        {"S", {&s.S}},
        {"P", {&s.P}},
        {"Q", {&s.Q}},
        {"H", {&s.H}},
        {"W", {&s.W}},
        {"G", {&s.G}},
        {"Hstride", {&s.Hstride}},
        {"Wstride", {&s.Wstride}},
        {"Hpad", {&s.Hpad}},
        {"Wpad", {&s.Wpad}},
        {"stride", {&s.Hstride, &s.Wstride}},
        {"pad", {&s.Hpad, &s.Wpad}}};
    for (const auto& [key, value] : kv) {
        auto it = std::find_if(fields.begin(), fields.end(),
                               [&](const auto& f) { return f.first == key; });
        if (it == fields.end()) {
            std::string keys;
            for (const auto& f : fields) keys += (keys.empty() ? "" : " ") + f.first;
            throw InputError(where + ": " + key, "unknown key (keys: " + keys + ")");
        }
        for (int64_t* f : it->second) *f = value;
    }
    for (const char* required : {"C", "M", "P", "Q"})
        if (!kv.count(required)) throw InputError(where + ": " + required, "missing required key");
    s.finalize(where);
    return s;
}

std::string LayerShape::to_spec() const {
    std::ostringstream o;
    o << "N=" << N << ",C=" << C << ",M=" << M << ",R=" << R << ",S=" << S << ",P=" << P
      << ",Q=" << Q << ",H=" << H << ",W=" << W << ",G=" << G << ",Hstride=" << Hstride
      << ",Wstride=" << Wstride << ",Hpad=" << Hpad << ",Wpad=" << Wpad;
    return o.str();
}

LayerShape LayerShape::from_timeloop_yaml(const std::string& path) {
    YAML::Node root;
    try {
        root = YAML::LoadFile(path);
    } catch (const YAML::BadFile&) {
        throw InputError(path, "cannot open file");
    } catch (const YAML::Exception& e) {
        throw InputError(path, std::string("invalid YAML: ") + e.what());
    }
    const YAML::Node inst = root["problem"] ? root["problem"]["instance"] : YAML::Node();
    if (!inst || !inst.IsMap()) throw InputError(path + ": problem.instance", "missing");
    LayerShape s;
    const std::map<std::string, int64_t*> fields = {{"N", &s.N},
                                                    {"C", &s.C},
                                                    {"M", &s.M},
                                                    {"R", &s.R},
                                                    {"S", &s.S},
                                                    {"P", &s.P},
                                                    {"Q", &s.Q},
                                                    {"G", &s.G},
                                                    {"Hstride", &s.Hstride},
                                                    {"Wstride", &s.Wstride},
                                                    {"Hpad", &s.Hpad},
                                                    {"Wpad", &s.Wpad}};
    for (const auto& kv : inst) {
        const std::string key = kv.first.as<std::string>();
        const std::string where = path + ": problem.instance." + key;
        int64_t value = 0;
        try {
            value = kv.second.as<int64_t>();
        } catch (const YAML::Exception&) {
            throw InputError(where, "expected an integer");
        }
        if (key == "Hdilation" || key == "Wdilation") {
            if (value != 1) throw InputError(where, "only dilation 1 is supported");
            continue;
        }
        auto it = fields.find(key);
        if (it == fields.end()) throw InputError(where, "unknown key");
        *it->second = value;
    }
    for (const char* required : {"C", "M", "P", "Q", "R", "S"})
        if (!inst[required])
            throw InputError(path + ": problem.instance." + required, "missing required key");
    s.finalize(path + ": problem.instance");
    return s;
}

bool LayerShape::operator==(const LayerShape& o) const {
    return N == o.N && C == o.C && M == o.M && R == o.R && S == o.S && P == o.P && Q == o.Q &&
           H == o.H && W == o.W && G == o.G && Hstride == o.Hstride && Wstride == o.Wstride &&
           Hpad == o.Hpad && Wpad == o.Wpad;
}

}  // namespace actsparse::core
