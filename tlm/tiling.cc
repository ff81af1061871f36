#include "tlm/tiling.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "core/error.h"

namespace actsparse::tlm {

namespace {

// Real input extent [lo, hi) of output range [o0, o1) along one axis of `full` outputs
// (the whole input when the range is the whole axis).
std::pair<int64_t, int64_t> real_extent(int64_t o0, int64_t o1, int64_t full, int64_t stride,
                                        int64_t pad, int64_t kernel, int64_t in) {
    if (o0 == 0 && o1 == full) return {0, in};
    const int64_t lo = o0 * stride - pad, hi = (o1 - 1) * stride - pad + kernel;
    return {std::max<int64_t>(lo, 0), std::min(hi, in)};
}

// The most real input rows (or columns) any strip of `strip` outputs reads.
int64_t max_real_extent(int64_t full, int64_t strip, int64_t stride, int64_t pad, int64_t kernel,
                        int64_t in) {
    int64_t most = 0;
    for (int64_t o0 = 0; o0 < full; o0 += strip) {
        const auto [lo, hi] =
            real_extent(o0, std::min(full, o0 + strip), full, stride, pad, kernel, in);
        most = std::max(most, hi - lo);
    }
    return most;
}

}  // namespace

int64_t strip_cols(const core::LayerShape& s, const GlbTiling& t) {
    return t.cols > 0 ? t.cols : s.Q;
}

int64_t glb_ifmap_psum_words(const core::ArchConfig& a) {
    return a.glb.ifmap_psum_banks * a.glb.bank_bytes / (a.word_bits / 8);
}

int64_t glb_filter_words(const core::ArchConfig& a) {
    return a.glb.filter_bytes / (a.word_bits / 8);
}

namespace {

// The footprint of a tiling whose strips read at most rows_in x cols_in real input words.
Footprint footprint_of(const core::LayerShape& s, const GlbTiling& t, int64_t rows_in,
                       int64_t cols_in, int64_t cap, int64_t filter_cap) {
    Footprint f;
    const int64_t cols = strip_cols(s, t);
    f.ifmap_words = t.n * t.g * t.c * rows_in * cols_in;
    f.psum_words = t.n * t.g * t.m * t.rows * cols;
    f.filter_words = t.g * t.m * t.c * s.R * s.S;
    f.filters_resident = f.filter_words <= filter_cap;
    f.double_buffered = 2 * f.ifmap_words + f.psum_words <= cap &&
                        (!f.filters_resident || 2 * f.filter_words <= filter_cap);
    return f;
}

// check_tiling's range checks.
std::optional<std::string> tiling_range(const core::LayerShape& s, const GlbTiling& t) {
    if (t.n < 1 || t.n > s.N) return "n must be in [1, N]";
    if (t.g < 1 || t.g > s.G) return "g must be in [1, G]";
    if (t.m < 1 || t.m > s.m_per_group()) return "m must be in [1, M/G]";
    if (t.c < 1 || t.c > s.c_per_group()) return "c must be in [1, C/G]";
    if (t.rows < 1 || t.rows > s.P) return "rows must be in [1, P]";
    if (t.cols < 0 || t.cols > s.Q) return "cols must be in [1, Q] (or 0: every column)";
    return std::nullopt;
}

}  // namespace

Footprint footprint(const core::LayerShape& s, const GlbTiling& t, const core::ArchConfig& a) {
    const int64_t rows_in = max_real_extent(s.P, t.rows, s.Hstride, s.Hpad, s.R, s.H);
    const int64_t cols_in = max_real_extent(s.Q, strip_cols(s, t), s.Wstride, s.Wpad, s.S, s.W);
    return footprint_of(s, t, rows_in, cols_in, glb_ifmap_psum_words(a), glb_filter_words(a));
}

FootprintTable::FootprintTable(const core::LayerShape& s, const core::ArchConfig& a)
    : s_(s),
      cap_(glb_ifmap_psum_words(a)),
      filter_cap_(glb_filter_words(a)),
      rows_in_(static_cast<size_t>(std::max<int64_t>(s.P, 0) + 1), -1),
      cols_in_(static_cast<size_t>(std::max<int64_t>(s.Q, 0) + 1), -1) {}

int64_t FootprintTable::rows_in(int64_t rows) {
    int64_t& v = rows_in_[static_cast<size_t>(rows)];
    if (v < 0) v = max_real_extent(s_.P, rows, s_.Hstride, s_.Hpad, s_.R, s_.H);
    return v;
}

int64_t FootprintTable::cols_in(int64_t cols) {
    int64_t& v = cols_in_[static_cast<size_t>(cols)];
    if (v < 0) v = max_real_extent(s_.Q, cols, s_.Wstride, s_.Wpad, s_.S, s_.W);
    return v;
}

Footprint FootprintTable::footprint(const GlbTiling& t) {
    return footprint_of(s_, t, rows_in(t.rows), cols_in(strip_cols(s_, t)), cap_, filter_cap_);
}

bool FootprintTable::fits(const GlbTiling& t) {
    if (tiling_range(s_, t)) return false;
    const Footprint f = footprint(t);
    return f.ifmap_words + f.psum_words <= cap_;
}

int64_t pass_filter_words(const core::LayerShape& s, int64_t p, int64_t t, int64_t q, int64_t r,
                          int64_t filter_rows, int64_t filter_cols) {
    const int64_t filters = std::min(p * t, s.M), channels = std::min(q * r, s.c_per_group());
    return filters * channels * std::min(filter_rows, s.R) * std::min(filter_cols, s.S);
}

std::optional<std::string> check_tiling(const core::LayerShape& s, const GlbTiling& t,
                                        const core::ArchConfig& a) {
    if (auto why = tiling_range(s, t)) return why;
    const Footprint f = footprint(s, t, a);
    const int64_t cap = glb_ifmap_psum_words(a);
    if (f.ifmap_words + f.psum_words > cap)
        return "ifmap chunk (" + std::to_string(f.ifmap_words) + " words) + psums (" +
               std::to_string(f.psum_words) + ") exceed the GLB's " + std::to_string(cap) +
               " words";
    return std::nullopt;
}

std::vector<Chunk> enumerate_chunks(const core::LayerShape& s, const GlbTiling& t) {
    std::vector<Chunk> out;
    const int64_t mpg = s.m_per_group(), cpg = s.c_per_group(), cols = strip_cols(s, t);
    for (int64_t n0 = 0; n0 < s.N; n0 += t.n)
        for (int64_t g0 = 0; g0 < s.G; g0 += t.g)
            for (int64_t p0 = 0; p0 < s.P; p0 += t.rows)
                for (int64_t q0 = 0; q0 < s.Q; q0 += cols)
                    for (int64_t m0 = 0; m0 < mpg; m0 += t.m)
                        for (int64_t c0 = 0; c0 < cpg; c0 += t.c)
                            out.push_back({n0, std::min(s.N, n0 + t.n), g0, std::min(s.G, g0 + t.g),
                                           m0, std::min(mpg, m0 + t.m), c0, std::min(cpg, c0 + t.c),
                                           p0, std::min(s.P, p0 + t.rows), q0,
                                           std::min(s.Q, q0 + cols)});
    return out;
}

bool is_last_c(const core::LayerShape& s, const Chunk& k) { return k.c1 == s.c_per_group(); }

std::pair<int64_t, int64_t> input_rows(const core::LayerShape& s, const Chunk& k) {
    return {k.p0 * s.Hstride - s.Hpad, (k.p1 - 1) * s.Hstride - s.Hpad + s.R};
}

std::pair<int64_t, int64_t> input_cols(const core::LayerShape& s, const Chunk& k) {
    return {k.q0 * s.Wstride - s.Wpad, (k.q1 - 1) * s.Wstride - s.Wpad + s.S};
}

std::pair<int64_t, int64_t> real_rows(const core::LayerShape& s, const Chunk& k) {
    return real_extent(k.p0, k.p1, s.P, s.Hstride, s.Hpad, s.R, s.H);
}

std::pair<int64_t, int64_t> real_cols(const core::LayerShape& s, const Chunk& k) {
    return real_extent(k.q0, k.q1, s.Q, s.Wstride, s.Wpad, s.S, s.W);
}

core::LayerShape chunk_layer_shape(const core::LayerShape& s, const Chunk& k) {
    core::LayerShape o = s;
    const int64_t ng = k.g1 - k.g0;
    o.N = k.n1 - k.n0;
    o.G = ng;
    o.C = ng * (k.c1 - k.c0);
    o.M = ng * (k.m1 - k.m0);
    o.P = k.p1 - k.p0;
    o.Q = k.q1 - k.q0;
    const auto [h0, h1] = real_rows(s, k);
    const auto [w0, w1] = real_cols(s, k);
    o.Hpad = h0 - input_rows(s, k).first;
    o.Wpad = w0 - input_cols(s, k).first;
    o.H = h1 - h0;
    o.W = w1 - w0;
    if (o.N < 1 || o.G < 1 || o.C < 1 || o.M < 1 || o.P < 1 || o.Q < 1 || o.H < 1 || o.W < 1 ||
        o.Hpad < 0 || o.Wpad < 0)
        core::model_bug("tlm::chunk_layer_shape", "empty chunk of " + s.to_spec());
    return o;
}

SubLayer extract_chunk(const core::LayerShape& s, const Chunk& k, const int16_t* ifmap,
                       const int16_t* weight) {
    SubLayer sub;
    const core::LayerShape& o = sub.shape = chunk_layer_shape(s, k);
    const int64_t ng = k.g1 - k.g0, nc = k.c1 - k.c0, nm = k.m1 - k.m0;
    const int64_t h0 = real_rows(s, k).first, w0 = real_cols(s, k).first;
    const int64_t cpg = s.c_per_group(), mpg = s.m_per_group();
    sub.ifmap.resize(static_cast<size_t>(o.ifmap_elems()));
    auto dst = sub.ifmap.begin();
    for (int64_t n = 0; n < o.N; ++n)
        for (int64_t g = 0; g < ng; ++g)
            for (int64_t c = 0; c < nc; ++c) {
                const int64_t src_c = (k.g0 + g) * cpg + k.c0 + c;
                for (int64_t h = 0; h < o.H; ++h) {
                    const int16_t* src =
                        ifmap + (((k.n0 + n) * s.C + src_c) * s.H + h0 + h) * s.W + w0;
                    dst = std::copy(src, src + o.W, dst);
                }
            }
    const int64_t rs = s.R * s.S;
    sub.weight.resize(static_cast<size_t>(o.weight_elems()));
    for (int64_t g = 0; g < ng; ++g)
        for (int64_t m = 0; m < nm; ++m)
            for (int64_t c = 0; c < nc; ++c) {
                const int16_t* src = weight + (((k.g0 + g) * mpg + k.m0 + m) * cpg + k.c0 + c) * rs;
                std::copy(src, src + rs, sub.weight.begin() + ((g * nm + m) * nc + c) * rs);
            }
    return sub;
}

void accumulate_chunk(const core::LayerShape& s, const Chunk& k, const std::vector<int64_t>& part,
                      std::vector<int64_t>& ofmap) {
    const int64_t ng = k.g1 - k.g0, nm = k.m1 - k.m0, np = k.p1 - k.p0, nq = k.q1 - k.q0;
    const int64_t mpg = s.m_per_group();
    if (static_cast<int64_t>(part.size()) != (k.n1 - k.n0) * ng * nm * np * nq)
        core::model_bug("tlm::accumulate_chunk", "partial ofmap disagrees with the chunk");
    size_t i = 0;
    for (int64_t n = k.n0; n < k.n1; ++n)
        for (int64_t g = 0; g < ng; ++g)
            for (int64_t m = 0; m < nm; ++m) {
                const int64_t dst_m = (k.g0 + g) * mpg + k.m0 + m;
                for (int64_t p = k.p0; p < k.p1; ++p) {
                    int64_t* dst = ofmap.data() + ((n * s.M + dst_m) * s.P + p) * s.Q + k.q0;
                    for (int64_t q = 0; q < nq; ++q) dst[q] += part[i++];
                }
            }
}

Chunk first_chunk(const core::LayerShape& s, const GlbTiling& t) {
    return {0, std::min(s.N, t.n),
            0, std::min(s.G, t.g),
            0, std::min(s.m_per_group(), t.m),
            0, std::min(s.c_per_group(), t.c),
            0, std::min(s.P, t.rows),
            0, std::min(s.Q, strip_cols(s, t))};
}

core::LayerShape chunk_shape(const core::LayerShape& s, const GlbTiling& t) {
    return chunk_layer_shape(s, first_chunk(s, t));
}

nlohmann::json to_json(const GlbTiling& t) {
    return {{"n", t.n}, {"g", t.g}, {"m", t.m}, {"c", t.c}, {"rows", t.rows}, {"cols", t.cols}};
}

GlbTiling tiling_from_json(const nlohmann::json& j, const std::string& where) {
    if (!j.is_object()) throw core::InputError(where, "expected an object");
    GlbTiling t;
    const std::pair<const char*, int64_t*> fields[] = {
        {"n", &t.n}, {"g", &t.g}, {"m", &t.m}, {"c", &t.c}, {"rows", &t.rows}, {"cols", &t.cols}};
    for (auto it = j.begin(); it != j.end(); ++it) {
        bool known = false;
        for (const auto& [key, ptr] : fields)
            if (it.key() == key) {
                if (!it->is_number_integer())
                    throw core::InputError(where + "." + key, "expected an integer");
                *ptr = it->get<int64_t>();
                known = true;
            }
        if (!known) throw core::InputError(where + "." + it.key(), "unknown key");
    }
    for (const auto& [key, ptr] : fields)
        if (!j.contains(key) && std::string(key) != "cols")
            throw core::InputError(where + "." + key, "missing required key");
    return t;
}

}  // namespace actsparse::tlm
