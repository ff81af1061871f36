#include "tlm/mapper.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "core/error.h"
#include "tlm/energy.h"
#include "tlm/v2.h"

namespace actsparse::tlm {

void add_array_counts(const hw::ArrayStats& s, Accesses& a);  // tlm/array_counts.cc

namespace {

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

// Values 1..limit the search tries: every value up to 4, then a geometric series, always
// including `limit` itself and multiples of `step`.
std::vector<int64_t> ladder(int64_t limit, int64_t step = 1) {
    std::set<int64_t> v;
    for (int64_t x = step; x <= limit; x = x < 4 * step ? x + step : x * 2) v.insert(x);
    v.insert(limit);
    return {v.begin(), v.end()};
}

// Words an RLC stream takes per value at density d (3 pairs of 21 bits per 64-bit word, a
// zero run longer than 31 costs one pair): the estimate the mapper ranks with.
double rlc_ratio(double d) { return 4.0 / 3.0 * (d + (1.0 - d) / 32.0); }

// The array's share of a chunk: hw's analytical estimate of its counters (exact on dense
// data except cycles), priced with the same counter-to-energy path as a simulation.
struct ArrayCost {
    double energy = 0, cycles = 0;
};
ArrayCost array_cost(const core::LayerShape& s, const hw::Mapping& m, const core::ArchConfig& a,
                     double d) {
    const hw::ArrayEstimate x = hw::estimate_layer(s, m, a, d);
    hw::ArrayStats rounded;
#define ACTSPARSE_ROUND_STAT(name, doc) rounded.name = std::llround(x.name);
    ACTSPARSE_ARRAY_STATS_FIELDS(ACTSPARSE_ROUND_STAT)
#undef ACTSPARSE_ROUND_STAT
    Accesses acc;
    add_array_counts(rounded, acc);
    return {energy_of(acc, a.energy).total(), x.cycles};
}

// A rough array cost from the pass plan's sizes (hw::tiling), cheap enough to rank every
// candidate; the shortlist it keeps is re-ranked with hw's estimate.
struct RoughCost {
    double energy = 0, cycles = 0;
};
RoughCost rough_array_cost(const core::LayerShape& s, const hw::Mapping& m,
                           const core::ArchConfig& a, double d) {
    const hw::Tiling t = hw::tiling(s, m);
    const double passes = static_cast<double>(t.passes());
    const double dense = static_cast<double>(s.macs());
    const bool skip = a.zero_mode == core::ZeroMode::kSkip;
    const bool none = a.zero_mode == core::ZeroMode::kNone;
    const double live = none ? 1.0 : d;
    const double rows_in = static_cast<double>((m.e - 1) * s.Hstride + m.filter_rows);
    const double ifmap_sent = passes * m.n * m.q * m.r * rows_in * s.W;
    const double filter_sent = passes * m.p * m.t * m.q * m.r * m.filter_rows * m.filter_cols;
    const double psum_io = passes * m.n * m.p * m.t * m.e * s.Q;
    const auto& e = a.energy;
    RoughCost c;
    c.energy = dense * live *
                   (e.mac_pj + e.filter_spad_read_pj + e.psum_spad_read_pj + e.psum_spad_write_pj) +
               (none ? 0.0 : dense * (1 - d) * e.mac_gated_pj * (skip ? 0 : 1)) +
               dense / m.p * (skip ? d : 1.0) * e.ifmap_spad_read_pj +
               ifmap_sent * (e.glb_read_pj + m.t * e.noc_word_pj + e.ifmap_spad_write_pj) +
               filter_sent * (e.glb_read_pj + e.noc_word_pj + e.filter_spad_write_pj) +
               2 * psum_io * (e.glb_read_pj + e.noc_word_pj);
    const double pes = static_cast<double>(m.r * m.t * m.filter_rows * m.e);
    const double words_per_cycle = static_cast<double>(a.noc.ifmap_bus_bits) / a.word_bits;
    const double compute = dense * (skip ? d : 1.0) / std::max(pes, 1.0);
    c.cycles = std::max(compute, ifmap_sent / words_per_cycle) +
               filter_sent * a.word_bits / a.noc.filter_bus_bits;
    return c;
}

std::vector<hw::Mapping> array_candidates(const core::LayerShape& s, const core::ArchConfig& a,
                                          int64_t& considered) {
    std::vector<hw::Mapping> out;
    const int64_t fr = std::min(s.R, a.array.rows);
    const int64_t fc = std::min(s.S, a.pe.ifmap_spad_words);
    std::set<int64_t> es;
    for (int64_t k = 1; k <= 16; ++k) es.insert(ceil_div(s.P, k));
    // Images per pass (n): a pass keeps its filters in the spads for n images, which is how
    // the chip runs AlexNet CONV3-5 (n = 4, JSSC 2017 Table III).
    for (int64_t n : ladder(s.N))
        for (int64_t q = 1; q <= std::min(s.c_per_group(), a.pe.ifmap_spad_words / fc); ++q)
            for (int64_t p : ladder(std::min(s.m_per_group(), a.pe.psum_spad_words)))
                for (int64_t e : es)
                    for (int64_t r : ladder(std::min<int64_t>(ceil_div(s.c_per_group(), q), 8)))
                        for (int64_t t :
                             ladder(std::min<int64_t>(s.G * ceil_div(s.m_per_group(), p), 16))) {
                            hw::Mapping m;
                            m.n = n;
                            m.p = p;
                            m.q = q;
                            m.e = e;
                            m.r = r;
                            m.t = t;
                            m.filter_rows = fr;
                            m.filter_cols = fc;
                            ++considered;
                            if (!hw::check_mapping(s, m, a)) out.push_back(m);
                        }
    return out;
}

double score(const Estimate& e, Objective o) {
    switch (o) {
        case Objective::kEnergy:
            return e.energy_pj;
        case Objective::kCycles:
            return e.cycles;
        case Objective::kEdp:
            return e.energy_pj * e.cycles;
    }
    return e.energy_pj;
}

}  // namespace

Objective parse_objective(const std::string& text, const std::string& where) {
    if (text == "energy") return Objective::kEnergy;
    if (text == "cycles") return Objective::kCycles;
    if (text == "edp") return Objective::kEdp;
    throw core::InputError(where, "expected energy, cycles or edp, got '" + text + "'");
}

const char* to_string(Objective o) {
    switch (o) {
        case Objective::kEnergy:
            return "energy";
        case Objective::kCycles:
            return "cycles";
        case Objective::kEdp:
            return "edp";
    }
    return "?";
}

nlohmann::json to_json(const LayerMapping& m) {
    if (m.v2) return {{"glb", to_json(m.glb)}, {"v2", hw::v2::to_json(*m.v2)}};
    return {{"glb", to_json(m.glb)}, {"array", hw::to_json(m.array)}};
}

LayerMapping layer_mapping_from_json(const nlohmann::json& j, const std::string& where) {
    if (!j.is_object()) throw core::InputError(where, "expected an object");
    for (auto it = j.begin(); it != j.end(); ++it)
        if (it.key() != "glb" && it.key() != "array" && it.key() != "v2")
            throw core::InputError(where + "." + it.key(), "unknown key");
    if (!j.contains("glb")) throw core::InputError(where + ".glb", "missing required key");
    if (j.contains("array") && j.contains("v2"))
        throw core::InputError(where + ".v2", "give either \"array\" (eyeriss-v1) or \"v2\"");
    if (!j.contains("array") && !j.contains("v2"))
        throw core::InputError(where + ".array", "missing required key");
    LayerMapping m;
    m.glb = tiling_from_json(j["glb"], where + ".glb");
    if (j.contains("v2"))
        m.v2 = hw::v2::v2_mapping_from_json(j["v2"], where + ".v2");
    else
        m.array = hw::mapping_from_json(j["array"], where + ".array");
    return m;
}

hw::Mapping chunk_array_mapping(const core::LayerShape& sub, const hw::Mapping& m,
                                const core::ArchConfig& a) {
    hw::Mapping c = m;
    c.n = std::min(c.n, sub.N);
    c.p = std::min(c.p, sub.m_per_group());
    c.q = std::min(c.q, sub.c_per_group());
    c.e = std::min(c.e, sub.P);
    c.filter_rows = std::min(c.filter_rows, sub.R);
    c.filter_cols = std::min(c.filter_cols, sub.S);
    c.r = std::min(c.r, ceil_div(sub.c_per_group(), c.q));
    c.t = std::min(c.t, sub.G * ceil_div(sub.m_per_group(), c.p));
    if (!hw::check_mapping(sub, c, a)) return c;
    return hw::default_mapping(sub, a);
}

std::optional<std::string> check_layer_mapping(const core::LayerShape& s, const LayerMapping& m,
                                               const core::ArchConfig& a) {
    if (a.type == core::ArrayType::kEyerissV2) {
        if (!m.v2) return "an eyeriss-v1 (row-stationary) mapping; eyeriss-v2 needs \"v2\"";
        if (auto why = check_v2_tiling(s, m.glb, a)) return "glb: " + *why;
        if (auto why = hw::v2::check_v2_mapping(chunk_shape(s, m.glb), *m.v2, a))
            return "v2: " + *why;
        return std::nullopt;
    }
    if (m.v2) return "an eyeriss-v2 mapping; eyeriss-v1 needs \"array\"";
    if (auto why = check_tiling(s, m.glb, a)) return "glb: " + *why;
    const core::LayerShape sub = chunk_shape(s, m.glb);
    if (auto why = hw::check_mapping(sub, m.array, a)) return "array: " + *why;
    const hw::Mapping& am = m.array;
    const int64_t pf =
        pass_filter_words(sub, am.p, am.t, am.q, am.r, am.filter_rows, am.filter_cols);
    if (!footprint(s, m.glb, a).filters_resident && pf > glb_filter_words(a))
        return "glb: a processing pass's filters (" + std::to_string(pf) +
               " words) exceed the filter buffer (" + std::to_string(glb_filter_words(a)) +
               " words)";
    return std::nullopt;
}

namespace {
// Sum over the strips of one axis of the real input extent each reads.
int64_t real_extent_sum(const core::LayerShape& s, const GlbTiling& t, bool rows) {
    int64_t sum = 0;
    Chunk k = first_chunk(s, t);
    if (rows) {
        for (k.p0 = 0; k.p0 < s.P; k.p0 += t.rows) {
            k.p1 = std::min(s.P, k.p0 + t.rows);
            const auto [h0, h1] = real_rows(s, k);
            sum += h1 - h0;
        }
    } else {
        const int64_t cols = strip_cols(s, t);
        for (k.q0 = 0; k.q0 < s.Q; k.q0 += cols) {
            k.q1 = std::min(s.Q, k.q0 + cols);
            const auto [w0, w1] = real_cols(s, k);
            sum += w1 - w0;
        }
    }
    return sum;
}

// What the tiling search of one layer computes once: footprints by strip size, the real
// extent sums by strip size, and the array cost of each (chunk shape, array mapping) it
// scores (a pure function of both, so the memo returns exactly what a call would).
class SearchTables {
  public:
    SearchTables(const core::LayerShape& s, const core::ArchConfig& a)
        : s_(s),
          fp(s, a),
          rows_sum_(static_cast<size_t>(s.P + 1), -1),
          cols_sum_(static_cast<size_t>(s.Q + 1), -1) {}
    int64_t rows_sum(const GlbTiling& t) {
        int64_t& v = rows_sum_[static_cast<size_t>(t.rows)];
        if (v < 0) v = real_extent_sum(s_, t, true);
        return v;
    }
    int64_t cols_sum(const GlbTiling& t) {
        int64_t& v = cols_sum_[static_cast<size_t>(strip_cols(s_, t))];
        if (v < 0) v = real_extent_sum(s_, t, false);
        return v;
    }
    /// `array_id` names the array mapping `m` within this search.
    ArrayCost array_cost_of(const core::LayerShape& sub, const hw::Mapping& m, int64_t array_id,
                            const core::ArchConfig& a, double d) {
        const std::array<int64_t, 11> key = {sub.N, sub.G, sub.C,    sub.M,    sub.P,   sub.Q,
                                             sub.H, sub.W, sub.Hpad, sub.Wpad, array_id};
        auto it = cache_.find(key);
        if (it == cache_.end()) it = cache_.emplace(key, array_cost(sub, m, a, d)).first;
        return it->second;
    }
    FootprintTable fp;

  private:
    core::LayerShape s_;
    std::vector<int64_t> rows_sum_, cols_sum_;
    std::map<std::array<int64_t, 11>, ArrayCost> cache_;
};

// estimate(); `tables` (with the array mapping's id) memoises what repeats in a search.
Estimate estimate_cached(const core::LayerShape& s, const LayerMapping& m,
                         const core::ArchConfig& a, double density, SearchTables* tables,
                         int64_t array_id) {
    const GlbTiling& t = m.glb;
    const int64_t nb = ceil_div(s.N, t.n), gb = ceil_div(s.G, t.g);
    const int64_t rb = ceil_div(s.P, t.rows), qb = ceil_div(s.Q, strip_cols(s, t));
    const int64_t mb = ceil_div(s.m_per_group(), t.m), cb = ceil_div(s.c_per_group(), t.c);
    // The array: one representative chunk (an interior strip where there is one, since the
    // first strip reads fewer real rows/columns), scaled to the layer by dense MACs.
    Chunk rep = first_chunk(s, t);
    if (2 * t.rows <= s.P) rep.p0 = t.rows, rep.p1 = 2 * t.rows;
    if (2 * strip_cols(s, t) <= s.Q) rep.q0 = strip_cols(s, t), rep.q1 = 2 * strip_cols(s, t);
    const core::LayerShape sub = chunk_layer_shape(s, rep);
    const ArrayCost ac = tables ? tables->array_cost_of(sub, m.array, array_id, a, density)
                                : array_cost(sub, m.array, a, density);
    const double scale = static_cast<double>(s.macs()) / static_cast<double>(sub.macs());
    const Footprint f = tables ? tables->fp.footprint(t) : footprint(s, t, a);
    // DRAM, in the controller's loop order (tlm/simulate.cc). Ifmap: every chunk's real
    // rows x columns, reloaded per filter block unless one chunk holds every channel.
    const int64_t rows_sum = tables ? tables->rows_sum(t) : real_extent_sum(s, t, true);
    const int64_t cols_sum = tables ? tables->cols_sum(t) : real_extent_sum(s, t, false);
    const double ifmap_words = static_cast<double>(s.N * s.C) * static_cast<double>(rows_sum) *
                               static_cast<double>(cols_sum) *
                               static_cast<double>(cb == 1 ? 1 : mb);
    // Filters: a chunk whose filter block (groups, filters, channels) is the previous
    // chunk's finds it in the GLB. With one (m, c) block per group that holds across strips
    // (and across images too when one chunk holds every group); else every chunk loads.
    // A chunk whose filters do not fit the filter part streams them one pass at a time:
    // every (image block, ofmap-row block) of its passes sweeps all its filters again.
    const double weights = static_cast<double>(s.weight_elems());
    const double sweeps = f.filters_resident
                              ? 1.0
                              : static_cast<double>(ceil_div(std::min(t.n, s.N), m.array.n) *
                                                    ceil_div(std::min(t.rows, s.P), m.array.e));
    const double filter_words =
        sweeps * (mb * cb > 1 || !f.filters_resident ? weights * static_cast<double>(nb * rb * qb)
                  : gb > 1                           ? weights * static_cast<double>(nb)
                                                     : weights);
    const double ratio = a.dram.rlc ? rlc_ratio(density) : 1.0;
    const double ofmap_words =
        static_cast<double>(s.ofmap_elems()) * (a.dram.rlc ? rlc_ratio(0.5) : 1.0);
    const double carry = static_cast<double>(s.ofmap_elems()) * static_cast<double>(cb - 1);
    Estimate e;
    e.dram_ifmap_words = ifmap_words;
    e.dram_filter_words = filter_words;
    e.dram_ofmap_words = ofmap_words;
    e.dram_words = ifmap_words * ratio + filter_words + ofmap_words;
    const auto& en = a.energy;
    e.energy_pj = scale * ac.energy + ifmap_words * ratio * en.dram_read_pj +
                  filter_words * en.dram_read_pj + ofmap_words * en.dram_write_pj +
                  (ifmap_words + filter_words) * en.glb_write_pj +
                  carry * (en.glb_read_pj + en.noc_word_pj);
    const double dram_cycles =
        e.dram_words * a.word_bits / a.dram.bus_bits * (a.clock_mhz / a.dram.clock_mhz);
    const double compute = scale * ac.cycles;
    // Overlap only when two chunks fit the GLB.
    e.cycles = f.double_buffered ? std::max(compute, dram_cycles) : compute + dram_cycles;
    return e;
}

}  // namespace

Estimate estimate(const core::LayerShape& s, const LayerMapping& m, const core::ArchConfig& a,
                  double density) {
    return estimate_cached(s, m, a, density, nullptr, -1);
}

namespace {

// Column-strip widths the tiling search tries: every column, or 2, 3, 4, 6, 8 strips.
std::vector<int64_t> column_strips(int64_t Q) {
    std::set<int64_t, std::greater<>> v;
    for (int64_t k : {1, 2, 3, 4, 6, 8}) v.insert(ceil_div(Q, k));
    return {v.begin(), v.end()};
}

}  // namespace

MapperResult find_mapping(const core::LayerShape& s, const core::ArchConfig& a, Objective obj,
                          double density, const std::string& layer) {
    if (a.type == core::ArrayType::kEyerissV2) return find_v2_mapping(s, a, std::nullopt, layer);
    const std::string name =
        "layer " + (layer.empty() ? s.to_spec() : "'" + layer + "' (" + s.to_spec() + ")");
    MapperResult best;
    int64_t considered = 0;
    std::vector<hw::Mapping> arrays = array_candidates(s, a, considered);
    if (arrays.empty()) {
        hw::Mapping least;  // the smallest row-stationary mapping the search builds
        least.filter_rows = std::min(s.R, a.array.rows);
        least.filter_cols = std::min(s.S, a.pe.ifmap_spad_words);
        const auto why = hw::check_mapping(s, least, a);
        throw core::InputError("--arch", name + " has no mapping: the PE array and scratchpads " +
                                             "admit no row-stationary mapping (" +
                                             why.value_or("no candidate") + ")");
    }
    // Candidates in order: a rough cost ranks every one, hw's estimate re-ranks the best few
    // dozen, the rest follow in rough order. The GLB tiling search runs down this order
    // until eight array mappings have a tiling that fits the GLB.
    constexpr size_t kRoughShortlist = 48, kArrayShortlist = 8;
    auto order = [&](auto cost_of, std::vector<size_t> idx) {
        std::vector<std::pair<double, size_t>> ranked;
        for (size_t i : idx) {
            const auto c = cost_of(arrays[i]);
            ranked.emplace_back(obj == Objective::kCycles ? c.cycles
                                : obj == Objective::kEdp  ? c.cycles * c.energy
                                                          : c.energy,
                                i);
        }
        std::stable_sort(ranked.begin(), ranked.end(),
                         [](const auto& x, const auto& y) { return x.first < y.first; });
        for (size_t i = 0; i < ranked.size(); ++i) idx[i] = ranked[i].second;
        return idx;
    };
    std::vector<size_t> all(arrays.size());
    for (size_t i = 0; i < all.size(); ++i) all[i] = i;
    all = order([&](const hw::Mapping& m) { return rough_array_cost(s, m, a, density); }, all);
    const size_t head = std::min(kRoughShortlist, all.size());
    const std::vector<size_t> top =
        order([&](const hw::Mapping& m) { return array_cost(s, m, a, density); },
              std::vector<size_t>(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(head)));
    std::copy(top.begin(), top.end(), all.begin());

    bool found = false;
    double best_score = 0;
    size_t fitted = 0;
    SearchTables tables(s, a);
    // Why nothing fits: the smallest chunk (ifmap+psum words, filter words) any candidate
    // needs, against the two GLB parts.
    int64_t least_ifmap_psum = -1, least_filter = -1;
    const std::vector<int64_t> col_options = column_strips(s.Q);
    for (size_t i : all) {
        if (fitted == kArrayShortlist) break;
        const hw::Mapping& am = arrays[i];
        const int64_t pt = std::min(am.p * am.t, s.m_per_group());
        const int64_t qr = std::min(am.q * am.r, s.c_per_group());
        const int64_t e = std::min(am.e, s.P);
        // The footprint grows with every tiling dimension, so the smallest tiling tells
        // whether any can fit.
        const GlbTiling least{1, 1, pt, qr, e, col_options.back()};
        const Footprint lf = footprint(s, least, a);
        const int64_t lip = lf.ifmap_words + lf.psum_words;
        if (least_ifmap_psum < 0 || lip < least_ifmap_psum) least_ifmap_psum = lip;
        // The filter part holds at least one pass's filters (streamed, or resident).
        const int64_t pf =
            pass_filter_words(s, am.p, am.t, am.q, am.r, am.filter_rows, am.filter_cols);
        if (least_filter < 0 || pf < least_filter) least_filter = pf;
        if (pf > glb_filter_words(a) || check_tiling(s, least, a)) continue;
        bool fits = false;
        for (int64_t n : std::set<int64_t>{1, s.N})
            for (int64_t g : ladder(s.G))
                for (int64_t m : ladder(s.m_per_group(), pt))
                    for (int64_t c : ladder(s.c_per_group(), qr))
                        for (int64_t cols : col_options)
                            for (int64_t rows : ladder(s.P, e)) {
                                ++considered;
                                LayerMapping lm{{n, g, m, c, rows, cols}, am};
                                if (!tables.fp.fits(lm.glb)) break;  // larger rows: too
                                const core::LayerShape sub = chunk_shape(s, lm.glb);
                                if (hw::check_mapping(sub, am, a)) continue;
                                ++best.valid;
                                fits = true;
                                const Estimate est = estimate_cached(s, lm, a, density, &tables,
                                                                     static_cast<int64_t>(i));
                                const double sc = score(est, obj);
                                if (!found || sc < best_score) {
                                    found = true;
                                    best_score = sc;
                                    best.best = lm;
                                    best.estimate = est;
                                }
                            }
        fitted += fits;
    }
    best.considered = considered;
    if (!found) {
        const int64_t cap = glb_ifmap_psum_words(a), fcap = glb_filter_words(a);
        std::string why;
        if (least_ifmap_psum > cap)
            why = "the GLB's ifmap/psum part holds " + std::to_string(cap) +
                  " words, the smallest chunk of any array mapping needs " +
                  std::to_string(least_ifmap_psum);
        else if (least_filter > fcap)
            why = "the GLB's filter part holds " + std::to_string(fcap) +
                  " words, the smallest processing pass of any array mapping needs " +
                  std::to_string(least_filter);
        else
            why = "no GLB tiling fits both the ifmap/psum part (" + std::to_string(cap) +
                  " words) and the filter part (" + std::to_string(fcap) +
                  " words) with a valid array mapping";
        throw core::InputError("--arch", name + " has no mapping: " + why);
    }
    return best;
}

}  // namespace actsparse::tlm
