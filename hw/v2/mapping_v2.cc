#include "hw/v2/mapping_v2.h"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/error.h"

namespace actsparse::hw::v2 {
namespace {

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

#define ACTSPARSE_V2_MAPPING_INT_FIELDS(X) \
    X(m0)                                  \
    X(c0)                                  \
    X(s0)                                  \
    X(e0)                                  \
    X(q0)                                  \
    X(fr)                                  \
    X(cv)                                  \
    X(chains)

bool valid_order(const std::string& o) {
    if (o.size() != 5) return false;
    std::string sorted = o;
    std::sort(sorted.begin(), sorted.end());
    return sorted == "gmnpq";
}

/// Psums one GLB cluster can hold (all its psum banks).
int64_t glb_psums_per_cluster(const core::V2Params& v2) {
    return v2.glb.psum_banks * (v2.glb.psum_bank_bytes * 8 / v2.pe.psum_bits);
}

}  // namespace

bool V2Mapping::operator==(const V2Mapping& o) const {
#define ACTSPARSE_V2_EQ(f) &&f == o.f
    return order == o.order ACTSPARSE_V2_MAPPING_INT_FIELDS(ACTSPARSE_V2_EQ);
#undef ACTSPARSE_V2_EQ
}

nlohmann::json to_json(const V2Mapping& m) {
    nlohmann::json j = nlohmann::json::object();
#define ACTSPARSE_V2_TO_JSON(f) j[#f] = m.f;
    ACTSPARSE_V2_MAPPING_INT_FIELDS(ACTSPARSE_V2_TO_JSON)
#undef ACTSPARSE_V2_TO_JSON
    j["order"] = m.order;
    return j;
}

V2Mapping v2_mapping_from_json(const nlohmann::json& j, const std::string& where) {
    if (!j.is_object()) throw core::InputError(where, "expected a JSON object");
    static const char* const kKeys[] = {
#define ACTSPARSE_V2_KEY(f) #f,
        ACTSPARSE_V2_MAPPING_INT_FIELDS(ACTSPARSE_V2_KEY)
#undef ACTSPARSE_V2_KEY
            "order"};
    for (const auto& item : j.items()) {
        if (std::find_if(std::begin(kKeys), std::end(kKeys),
                         [&](const char* k) { return item.key() == k; }) == std::end(kKeys))
            throw core::InputError(where + "." + item.key(), "unknown key");
    }
    V2Mapping m;
    auto read = [&](const char* key, int64_t& out) {
        auto it = j.find(key);
        if (it == j.end()) throw core::InputError(where + "." + key, "missing required key");
        if (!it->is_number_integer())
            throw core::InputError(where + "." + key, "expected an integer, got " + it->dump());
        out = it->get<int64_t>();
    };
#define ACTSPARSE_V2_READ(f) read(#f, m.f);
    ACTSPARSE_V2_MAPPING_INT_FIELDS(ACTSPARSE_V2_READ)
#undef ACTSPARSE_V2_READ
    auto it = j.find("order");
    if (it == j.end()) throw core::InputError(where + ".order", "missing required key");
    if (!it->is_string())
        throw core::InputError(where + ".order", "expected a string, got " + it->dump());
    m.order = it->get<std::string>();
    if (!valid_order(m.order))
        throw core::InputError(where + ".order",
                               "expected a permutation of \"ngmpq\", got \"" + m.order + "\"");
    return m;
}

std::string to_string(const V2Mapping& m) {
    std::ostringstream os;
    os << "m0=" << m.m0 << ",c0=" << m.c0 << ",s0=" << m.s0 << ",e0=" << m.e0 << ",q0=" << m.q0
       << ",fr=" << m.fr << ",cv=" << m.cv << ",chains=" << m.chains << ",order=" << m.order;
    return os.str();
}

int64_t chain_slots(const core::V2Params& v2, int64_t height) {
    if (height < 1 || height > v2.clusters.pe_rows) return 0;
    return v2.clusters.count() * v2.clusters.pe_cols * (v2.clusters.pe_rows / height);
}

V2Tiling v2_tiling(const core::LayerShape& s, const V2Mapping& m) {
    V2Tiling t;
    t.m_tiles = ceil_div(s.m_per_group(), m.m0);
    t.c_tiles = ceil_div(s.c_per_group(), m.c0);
    t.p_blocks = ceil_div(s.P, m.e0);
    t.q_blocks = ceil_div(s.Q, m.q0);
    t.s_blocks = ceil_div(s.S, m.s0);
    t.r_blocks = ceil_div(s.R, m.fr);
    t.cv_blocks = ceil_div(t.c_tiles, m.cv);
    t.height = m.fr * m.cv;
    t.output_tiles = s.N * s.G * t.m_tiles * t.p_blocks * t.q_blocks;
    t.chunks = ceil_div(t.output_tiles, m.chains);
    return t;
}

std::optional<std::string> check_v2_mapping(const core::LayerShape& s, const V2Mapping& m,
                                            const core::ArchConfig& a) {
    const core::V2Params& v2 = a.v2;
    auto bad = [](const std::string& what) { return std::optional<std::string>(what); };
    auto field = [&](const char* name, int64_t v, int64_t hi,
                     const char* dim) -> std::optional<std::string> {
        if (v < 1) return bad(std::string(name) + " = " + std::to_string(v) + " is below 1");
        if (v > hi)
            return bad(std::string(name) + " = " + std::to_string(v) + " exceeds " + dim + " = " +
                       std::to_string(hi));
        return std::nullopt;
    };
    if (auto r = field("m0", m.m0, s.m_per_group(), "M/G")) return r;
    if (auto r = field("c0", m.c0, s.c_per_group(), "C/G")) return r;
    if (auto r = field("s0", m.s0, s.S, "S")) return r;
    if (auto r = field("e0", m.e0, s.P, "P")) return r;
    if (auto r = field("q0", m.q0, s.Q, "Q")) return r;
    if (auto r = field("fr", m.fr, s.R, "R")) return r;
    if (auto r = field("cv", m.cv, ceil_div(s.c_per_group(), m.c0), "ceil((C/G)/c0)")) return r;
    if (m.chains < 1) return bad("chains = " + std::to_string(m.chains) + " is below 1");
    if (!valid_order(m.order))
        return bad("order \"" + m.order + "\" is not a permutation of \"ngmpq\"");
    const int64_t window = m.c0 * m.s0;
    if (window > v2.pe.iact_data_spad_entries)
        return bad("c0*s0 = " + std::to_string(window) + " exceeds the iact data spad (" +
                   std::to_string(v2.pe.iact_data_spad_entries) + " entries)");
    if (m.s0 > v2.pe.iact_addr_spad_entries)
        return bad("s0 = " + std::to_string(m.s0) +
                   " column segments exceed the iact address spad (" +
                   std::to_string(v2.pe.iact_addr_spad_entries) + " entries)");
    if (window > v2.pe.weight_addr_spad_entries)
        return bad("c0*s0 = " + std::to_string(window) +
                   " weight columns exceed the weight address spad (" +
                   std::to_string(v2.pe.weight_addr_spad_entries) + " entries)");
    const int64_t words = window * ceil_div(m.m0, v2.pe.macs_per_cycle);
    if (words > v2.pe.weight_data_spad_entries)
        return bad("c0*s0*ceil(m0/" + std::to_string(v2.pe.macs_per_cycle) +
                   ") = " + std::to_string(words) + " exceeds the weight data spad (" +
                   std::to_string(v2.pe.weight_data_spad_entries) + " words)");
    if (m.m0 > v2.pe.psum_spad_entries)
        return bad("m0 = " + std::to_string(m.m0) + " exceeds the psum spad (" +
                   std::to_string(v2.pe.psum_spad_entries) + " psums)");
    const int64_t height = m.fr * m.cv;
    if (height > v2.clusters.pe_rows)
        return bad("fr*cv = " + std::to_string(height) + " exceeds the PE rows of a cluster (" +
                   std::to_string(v2.clusters.pe_rows) + ")");
    const int64_t slots = chain_slots(v2, height);
    if (m.chains > slots)
        return bad("chains = " + std::to_string(m.chains) + " exceeds the chain slots (" +
                   std::to_string(slots) + " for chains of " + std::to_string(height) + " PEs)");
    const V2Tiling t = v2_tiling(s, m);
    if (t.reduction_steps() > 1) {
        const int64_t per_cluster = std::min(m.chains, slots / v2.clusters.count());
        const int64_t psums = per_cluster * m.m0 * m.e0 * m.q0;
        if (psums > glb_psums_per_cluster(v2))
            return bad("psums kept between reduction passes (" + std::to_string(psums) +
                       " per cluster) exceed the GLB psum banks (" +
                       std::to_string(glb_psums_per_cluster(v2)) + ")");
    }
    return std::nullopt;
}

std::vector<OutputTile> output_tiles(const core::LayerShape& s, const V2Mapping& m) {
    const V2Tiling t = v2_tiling(s, m);
    std::array<int64_t, 5> ext{};  // in order of m.order
    for (size_t i = 0; i < 5; ++i) {
        switch (m.order[i]) {
            case 'n':
                ext[i] = s.N;
                break;
            case 'g':
                ext[i] = s.G;
                break;
            case 'm':
                ext[i] = t.m_tiles;
                break;
            case 'p':
                ext[i] = t.p_blocks;
                break;
            default:
                ext[i] = t.q_blocks;
                break;
        }
    }
    std::vector<OutputTile> out;
    out.reserve(static_cast<size_t>(t.output_tiles));
    std::array<int64_t, 5> idx{};
    for (int64_t k = 0; k < t.output_tiles; ++k) {
        int64_t rem = k;
        for (int i = 4; i >= 0; --i) {
            idx[static_cast<size_t>(i)] = rem % ext[static_cast<size_t>(i)];
            rem /= ext[static_cast<size_t>(i)];
        }
        OutputTile o;
        for (size_t i = 0; i < 5; ++i) {
            switch (m.order[i]) {
                case 'n':
                    o.n = idx[i];
                    break;
                case 'g':
                    o.g = idx[i];
                    break;
                case 'm':
                    o.mt = idx[i];
                    break;
                case 'p':
                    o.pb = idx[i];
                    break;
                default:
                    o.qb = idx[i];
                    break;
            }
        }
        out.push_back(o);
    }
    return out;
}

double estimate_v2_cycles(const core::LayerShape& s, const V2Mapping& m,
                          const core::ArchConfig& a) {
    const core::V2Params& v2 = a.v2;
    const V2Tiling t = v2_tiling(s, m);
    const int64_t simd = v2.pe.macs_per_cycle;
    const int64_t m_eff = std::min(m.m0, s.m_per_group());
    const int64_t words = ceil_div(m_eff, simd);
    const int64_t items = std::min(m.c0, s.c_per_group()) * std::min(m.s0, s.S);
    const double compute = static_cast<double>(items * words) + 5.0;
    const int64_t slots_cluster = chain_slots(v2, t.height) / v2.clusters.count();
    const int64_t chains_cluster = std::min(slots_cluster, std::min(m.chains, t.output_tiles));
    // Distinct iact streams per cluster: chains whose tiles differ only in m share streams.
    const bool m_inner = m.order.back() == 'm';
    const int64_t share = m_inner ? std::min(chains_cluster, t.m_tiles) : 1;
    const double streams = static_cast<double>(ceil_div(chains_cluster, share) * t.height);
    const int64_t new_cols = std::min(s.Wstride, m.s0);
    const double load_bits =
        static_cast<double>(std::min(m.c0, s.c_per_group()) * new_cols * a.word_bits);
    const double load =
        std::ceil(load_bits * streams /
                  static_cast<double>(v2.routers.iact_routers * v2.routers.iact_port_bits));
    const double hop =
        static_cast<double>(ceil_div(m_eff * v2.pe.psum_bits, v2.routers.psum_port_bits));
    const double window = compute + load + hop;
    const double wbits = static_cast<double>(items * m_eff * a.word_bits) *
                         static_cast<double>(m_inner ? v2.clusters.pe_cols : 1);
    const double wload = std::ceil(wbits / static_cast<double>(v2.routers.weight_port_bits));
    const double per_pass =
        wload + static_cast<double>(m.e0 * m.q0) * window + static_cast<double>(t.height) * hop;
    return static_cast<double>(t.passes()) * per_pass;
}

V2Mapping default_v2_mapping(const core::LayerShape& s, const core::ArchConfig& a) {
    const core::V2Params& v2 = a.v2;
    const int64_t Cg = s.c_per_group(), Mg = s.m_per_group();
    const int64_t s0_max = std::min({s.S, v2.pe.iact_addr_spad_entries,
                                     v2.pe.iact_data_spad_entries, v2.pe.weight_addr_spad_entries});
    std::vector<int64_t> s0s;
    if (s0_max >= 1) {
        s0s.push_back(ceil_div(s.S, ceil_div(s.S, s0_max)));  // balanced blocks
        if (s0s.back() != s0_max) s0s.push_back(s0_max);
    }
    auto pow2_options = [](int64_t n) {
        std::vector<int64_t> v;
        for (int64_t d = 1;; d *= 2) {
            const int64_t x = ceil_div(n, d);
            if (v.empty() || v.back() != x) v.push_back(x);
            if (x == 1) break;
        }
        return v;
    };
    const std::vector<int64_t> e0s = pow2_options(s.P), q0s = pow2_options(s.Q);
    const char* const orders[] = {"ngmpq", "ngpqm"};
    V2Mapping best;
    double best_cycles = 0;
    int64_t best_passes = 0;
    bool found = false;
    const int64_t fr = std::min(s.R, v2.clusters.pe_rows);
    for (int64_t s0 : s0s) {
        const int64_t c0_max = std::min(
            Cg, std::min(v2.pe.iact_data_spad_entries, v2.pe.weight_addr_spad_entries) / s0);
        for (int64_t c0 = c0_max; c0 >= 1; --c0) {
            const int64_t words_max = v2.pe.weight_data_spad_entries / (c0 * s0);
            const int64_t m0_max =
                std::min({Mg, v2.pe.psum_spad_entries, words_max * v2.pe.macs_per_cycle});
            if (m0_max < 1) continue;
            const int64_t m0s[] = {m0_max, ceil_div(Mg, ceil_div(Mg, m0_max))};
            for (int64_t mi = 0; mi < 2; ++mi) {
                const int64_t m0 = m0s[mi];
                if (mi == 1 && m0 == m0s[0]) continue;
                const int64_t ctiles = ceil_div(Cg, c0);
                for (int64_t cv = 1; cv * fr <= v2.clusters.pe_rows && cv <= ctiles; ++cv) {
                    for (int64_t e0 : e0s)
                        for (int64_t q0 : q0s)
                            for (const char* order : orders) {
                                V2Mapping m;
                                m.m0 = m0, m.c0 = c0, m.s0 = s0, m.e0 = e0, m.q0 = q0;
                                m.fr = fr, m.cv = cv, m.order = order;
                                m.chains = 1;
                                const V2Tiling t = v2_tiling(s, m);
                                m.chains = std::min(t.output_tiles, chain_slots(v2, t.height));
                                if (m.chains < 1) continue;
                                if (check_v2_mapping(s, m, a)) continue;
                                const double cyc = estimate_v2_cycles(s, m, a);
                                const int64_t passes = v2_tiling(s, m).passes();
                                if (!found || cyc < best_cycles ||
                                    (cyc == best_cycles && passes < best_passes)) {
                                    best = m, best_cycles = cyc, best_passes = passes;
                                    found = true;
                                }
                            }
                }
            }
        }
    }
    if (!found)
        throw core::InputError("mapping", "no Eyeriss v2 mapping fits layer " + s.to_spec());
    return best;
}

}  // namespace actsparse::hw::v2
