#include "hw/mapping.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "core/error.h"

namespace actsparse::hw {
namespace {

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

#define ACTSPARSE_MAPPING_FIELDS(X) \
    X(n)                            \
    X(p)                            \
    X(q)                            \
    X(e)                            \
    X(r)                            \
    X(t)                            \
    X(filter_rows)                  \
    X(filter_cols)

}  // namespace

const char* to_string(Fidelity f) { return f == Fidelity::kCycle ? "cycle" : "fast"; }

Fidelity parse_fidelity(const std::string& text, const std::string& where) {
    if (text == "cycle") return Fidelity::kCycle;
    if (text == "fast") return Fidelity::kFast;
    throw core::InputError(where, "expected cycle or fast, got '" + text + "'");
}

bool Mapping::operator==(const Mapping& o) const {
#define ACTSPARSE_EQ(f) &&f == o.f
    return true ACTSPARSE_MAPPING_FIELDS(ACTSPARSE_EQ);
#undef ACTSPARSE_EQ
}

nlohmann::json to_json(const Mapping& m) {
    nlohmann::json j = nlohmann::json::object();
#define ACTSPARSE_TO_JSON(f) j[#f] = m.f;
    ACTSPARSE_MAPPING_FIELDS(ACTSPARSE_TO_JSON)
#undef ACTSPARSE_TO_JSON
    return j;
}

Mapping mapping_from_json(const nlohmann::json& j, const std::string& where) {
    if (!j.is_object()) throw core::InputError(where, "expected a JSON object");
    Mapping m;
    static const char* const kKeys[] = {
#define ACTSPARSE_KEY(f) #f,
        ACTSPARSE_MAPPING_FIELDS(ACTSPARSE_KEY)
#undef ACTSPARSE_KEY
    };
    for (const auto& item : j.items()) {
        if (std::find_if(std::begin(kKeys), std::end(kKeys),
                         [&](const char* k) { return item.key() == k; }) == std::end(kKeys))
            throw core::InputError(where + "." + item.key(), "unknown key");
    }
    auto read = [&](const char* key, int64_t& out) {
        auto it = j.find(key);
        if (it == j.end()) throw core::InputError(where + "." + key, "missing required key");
        if (!it->is_number_integer())
            throw core::InputError(where + "." + key, "expected an integer, got " + it->dump());
        out = it->get<int64_t>();
    };
#define ACTSPARSE_READ(f) read(#f, m.f);
    ACTSPARSE_MAPPING_FIELDS(ACTSPARSE_READ)
#undef ACTSPARSE_READ
    return m;
}

std::string to_string(const Mapping& m) {
    std::string s;
#define ACTSPARSE_STR(f) s += std::string(s.empty() ? "" : ",") + #f "=" + std::to_string(m.f);
    ACTSPARSE_MAPPING_FIELDS(ACTSPARSE_STR)
#undef ACTSPARSE_STR
    return s;
}

SetGeometry set_geometry(int64_t filter_rows, int64_t e, int64_t r, const core::ArrayParams& a) {
    SetGeometry g;
    g.folds = ceil_div(e, a.cols);
    g.set_cols = ceil_div(e, g.folds);
    g.set_rows = filter_rows * g.folds;
    g.sets_h = a.cols / g.set_cols;
    g.sets_v = a.rows / g.set_rows;
    g.stacks = (r >= 1 && (g.folds == 1 || r == 1)) ? g.sets_h * (g.sets_v / r) : 0;
    return g;
}

std::optional<std::string> check_mapping(const core::LayerShape& s, const Mapping& m,
                                         const core::ArchConfig& a) {
    auto str = [](int64_t v) { return std::to_string(v); };
    if (s.H < 1 || s.W < 1) return "layer shape is not finalized (H/W unset)";
#define ACTSPARSE_POSITIVE(f) \
    if (m.f < 1) return std::string(#f " = ") + str(m.f) + " must be >= 1";
    ACTSPARSE_MAPPING_FIELDS(ACTSPARSE_POSITIVE)
#undef ACTSPARSE_POSITIVE
    const int64_t mg = s.m_per_group(), cg = s.c_per_group();
    auto at_most = [&](int64_t v, const char* name, int64_t lim,
                       const char* lim_name) -> std::optional<std::string> {
        if (v > lim)
            return std::string(name) + " = " + str(v) + " exceeds " + lim_name + " = " + str(lim);
        return std::nullopt;
    };
    const int64_t tiles = s.G * ceil_div(mg, m.p);
    for (auto check :
         {at_most(m.n, "n", s.N, "N"), at_most(m.p, "p", mg, "M/G"), at_most(m.q, "q", cg, "C/G"),
          at_most(m.e, "e", s.P, "P"), at_most(m.filter_rows, "filter_rows", s.R, "R"),
          at_most(m.filter_cols, "filter_cols", s.S, "S"),
          at_most(m.r, "r", ceil_div(cg, m.q), "ceil((C/G)/q)"),
          at_most(m.t, "t", tiles, "filter tiles G*ceil((M/G)/p)")}) {
        if (check) return check;
    }
    if (m.q * m.filter_cols > a.pe.ifmap_spad_words)
        return "q*filter_cols = " + str(m.q * m.filter_cols) + " exceeds the ifmap spad (" +
               str(a.pe.ifmap_spad_words) + " words)";
    if (m.p * m.q * m.filter_cols > a.pe.filter_spad_words)
        return "p*q*filter_cols = " + str(m.p * m.q * m.filter_cols) +
               " exceeds the filter spad (" + str(a.pe.filter_spad_words) + " words)";
    if (m.p > a.pe.psum_spad_words)
        return "p = " + str(m.p) + " exceeds the psum spad (" + str(a.pe.psum_spad_words) +
               " words)";
    const SetGeometry g = set_geometry(m.filter_rows, m.e, m.r, a.array);
    if (g.set_rows > a.array.rows)
        return "a PE set needs " + str(g.set_rows) + " rows (filter_rows " + str(m.filter_rows) +
               " x " + str(g.folds) + " folds of e = " + str(m.e) + ") but the array has " +
               str(a.array.rows);
    if (g.folds > 1 && m.r > 1)
        return "r = " + str(m.r) + " > 1 needs an unfolded set (e <= " + str(a.array.cols) + ")";
    if (m.r > g.sets_v)
        return "r = " + str(m.r) + " sets of " + str(g.set_rows) + " rows do not fit " +
               str(a.array.rows) + " array rows";
    if (m.t > g.stacks)
        return "t = " + str(m.t) + " stacks exceed the " + str(g.stacks) + " stack slots (" +
               str(g.sets_h) + " across x " + str(g.sets_v / m.r) + " down)";
    return std::nullopt;
}

Tiling tiling(const core::LayerShape& s, const Mapping& m) {
    Tiling t;
    t.m_per_group = s.m_per_group();
    t.c_per_group = s.c_per_group();
    t.tiles_per_group = ceil_div(t.m_per_group, m.p);
    t.filter_tiles = s.G * t.tiles_per_group;
    t.image_blocks = ceil_div(s.N, m.n);
    t.row_blocks = ceil_div(s.P, m.e);
    t.filter_blocks = ceil_div(t.filter_tiles, m.t);
    t.frow_blocks = ceil_div(s.R, m.filter_rows);
    t.fcol_blocks = ceil_div(s.S, m.filter_cols);
    t.channel_blocks = ceil_div(t.c_per_group, m.q * m.r);
    return t;
}

std::vector<PassTile> plan_passes(const core::LayerShape& s, const Mapping& m) {
    const Tiling tl = tiling(s, m);
    std::vector<PassTile> out;
    out.reserve(static_cast<size_t>(tl.passes()));
    auto range = [](int64_t block, int64_t size, int64_t total, int64_t& first, int64_t& count) {
        first = block * size;
        count = std::min(size, total - first);
    };
    PassTile p;
    for (p.image_block = 0; p.image_block < tl.image_blocks; ++p.image_block)
        for (p.row_block = 0; p.row_block < tl.row_blocks; ++p.row_block)
            for (p.filter_block = 0; p.filter_block < tl.filter_blocks; ++p.filter_block)
                for (p.frow_block = 0; p.frow_block < tl.frow_blocks; ++p.frow_block)
                    for (p.fcol_block = 0; p.fcol_block < tl.fcol_blocks; ++p.fcol_block)
                        for (p.channel_block = 0; p.channel_block < tl.channel_blocks;
                             ++p.channel_block) {
                            range(p.image_block, m.n, s.N, p.image_first, p.image_count);
                            range(p.row_block, m.e, s.P, p.orow_first, p.orow_count);
                            range(p.filter_block, m.t, tl.filter_tiles, p.tile_first, p.tile_count);
                            range(p.frow_block, m.filter_rows, s.R, p.frow_first, p.frow_count);
                            range(p.fcol_block, m.filter_cols, s.S, p.fcol_first, p.fcol_count);
                            range(p.channel_block, m.q * m.r, tl.c_per_group, p.chan_first,
                                  p.chan_count);
                            p.accumulate_in =
                                p.frow_block > 0 || p.fcol_block > 0 || p.channel_block > 0;
                            p.index = static_cast<int64_t>(out.size());
                            out.push_back(p);
                        }
    return out;
}

FilterTile filter_tile(const core::LayerShape& s, const Mapping& m, int64_t tile) {
    const int64_t mg = s.m_per_group();
    const int64_t per_group = ceil_div(mg, m.p);
    FilterTile f;
    f.group = tile / per_group;
    const int64_t in_group = (tile % per_group) * m.p;
    f.first = f.group * mg + in_group;
    f.count = std::min(m.p, mg - in_group);
    return f;
}

}  // namespace actsparse::hw
