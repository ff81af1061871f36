#include "core/shape.h"

#include <unistd.h>

#include <algorithm>
#include <map>
#include <sstream>
#include <vector>

#include "core/error.h"
#include "core/timeloop.h"

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
    // Counters are int64: refuse a layer whose MACs or elements would overflow them (and say
    // what its tensors would take, which is the real obstacle long before that).
    const long double limit = 9.0e18L;
    const long double macs_ld = static_cast<long double>(P) * Q * (C / G) * (M / G) * R * S *
                                static_cast<long double>(N) * G;
    const long double elems = std::max({static_cast<long double>(N) * C * H * W,
                                        static_cast<long double>(M) * (C / G) * R * S,
                                        static_cast<long double>(N) * M * P * Q});
    if (macs_ld > limit || elems > limit) {
        std::ostringstream o;
        o << "layer too large: " << static_cast<double>(macs_ld)
          << " MACs overflow 64-bit counters; its tensors alone would need "
          << format_bytes(tensor_bytes()) << " of memory";
        throw InputError(where, o.str());
    }
}

double LayerShape::tensor_bytes() const {
    const double n = static_cast<double>(N), c = static_cast<double>(C);
    const double ifmap = n * c * static_cast<double>(H) * static_cast<double>(W);
    const double weight = static_cast<double>(M) * (c / static_cast<double>(G)) *
                          static_cast<double>(R) * static_cast<double>(S);
    const double ofmap =
        n * static_cast<double>(M) * static_cast<double>(P) * static_cast<double>(Q);
    return 2.0 * ifmap + 2.0 * weight + 8.0 * ofmap;
}

std::string format_bytes(double bytes) {
    const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    int u = 0;
    while (bytes >= 1024.0 && u < 6) {
        bytes /= 1024.0;
        ++u;
    }
    std::ostringstream o;
    o.precision(u == 0 ? 0 : 1);
    o << std::fixed << bytes << " " << units[u];
    return o.str();
}

void check_fits_in_memory(const LayerShape& s, const std::string& where) {
    const long pages = ::sysconf(_SC_PHYS_PAGES);
    const long page = ::sysconf(_SC_PAGE_SIZE);
    if (pages <= 0 || page <= 0) return;  // unknown: let the allocation decide
    const double memory = static_cast<double>(pages) * static_cast<double>(page);
    const double need = s.tensor_bytes();
    if (need > memory)
        throw InputError(where,
                         "layer too large: its ifmap, weights and output accumulators "
                         "need at least " +
                             format_bytes(need) + ", more than this machine's " +
                             format_bytes(memory) + " of memory");
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
    for (const auto& key_value : kv) {
        // Named, not a structured binding: a lambda below captures them, which clang accepts
        // only from version 16 on (the fuzz build uses clang 14).
        const auto& key = key_value.first;
        const auto& value = key_value.second;
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
    return read_timeloop_problem(path);
}

bool LayerShape::operator==(const LayerShape& o) const {
    return N == o.N && C == o.C && M == o.M && R == o.R && S == o.S && P == o.P && Q == o.Q &&
           H == o.H && W == o.W && G == o.G && Hstride == o.Hstride && Wstride == o.Wstride &&
           Hpad == o.Hpad && Wpad == o.Wpad;
}

}  // namespace actsparse::core
