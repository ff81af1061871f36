#include "tlm/tiling.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "core/error.h"

namespace actsparse::tlm {

namespace {
int64_t strip_input_rows(const core::LayerShape& s, int64_t rows) {
    return std::min((rows - 1) * s.Hstride + s.R, s.H + 2 * s.Hpad);
}
}  // namespace

Footprint footprint(const core::LayerShape& s, const GlbTiling& t, const core::ArchConfig& a) {
    Footprint f;
    f.ifmap_words = t.n * t.g * t.c * strip_input_rows(s, t.rows) * s.W;
    f.psum_words = t.n * t.g * t.m * t.rows * s.Q;
    f.filter_words = t.g * t.m * t.c * s.R * s.S;
    const int64_t word_bytes = a.word_bits / 8;
    const int64_t ifmap_psum_words = a.glb.ifmap_psum_banks * a.glb.bank_bytes / word_bytes;
    const int64_t filter_words = a.glb.filter_bytes / word_bytes;
    f.double_buffered =
        2 * f.ifmap_words + f.psum_words <= ifmap_psum_words && 2 * f.filter_words <= filter_words;
    return f;
}

std::optional<std::string> check_tiling(const core::LayerShape& s, const GlbTiling& t,
                                        const core::ArchConfig& a) {
    if (t.n < 1 || t.n > s.N) return "n must be in [1, N]";
    if (t.g < 1 || t.g > s.G) return "g must be in [1, G]";
    if (t.m < 1 || t.m > s.m_per_group()) return "m must be in [1, M/G]";
    if (t.c < 1 || t.c > s.c_per_group()) return "c must be in [1, C/G]";
    if (t.rows < 1 || t.rows > s.P) return "rows must be in [1, P]";
    const Footprint f = footprint(s, t, a);
    const int64_t word_bytes = a.word_bits / 8;
    const int64_t cap = a.glb.ifmap_psum_banks * a.glb.bank_bytes / word_bytes;
    if (f.ifmap_words + f.psum_words > cap)
        return "ifmap chunk (" + std::to_string(f.ifmap_words) + " words) + psums (" +
               std::to_string(f.psum_words) + ") exceed the GLB's " + std::to_string(cap) +
               " words";
    if (f.filter_words > a.glb.filter_bytes / word_bytes)
        return "filter chunk (" + std::to_string(f.filter_words) +
               " words) exceeds the filter buffer";
    return std::nullopt;
}

std::vector<Chunk> enumerate_chunks(const core::LayerShape& s, const GlbTiling& t) {
    std::vector<Chunk> out;
    const int64_t mpg = s.m_per_group(), cpg = s.c_per_group();
    for (int64_t n0 = 0; n0 < s.N; n0 += t.n)
        for (int64_t g0 = 0; g0 < s.G; g0 += t.g)
            for (int64_t p0 = 0; p0 < s.P; p0 += t.rows)
                for (int64_t m0 = 0; m0 < mpg; m0 += t.m)
                    for (int64_t c0 = 0; c0 < cpg; c0 += t.c)
                        out.push_back({n0, std::min(s.N, n0 + t.n), g0, std::min(s.G, g0 + t.g), m0,
                                       std::min(mpg, m0 + t.m), c0, std::min(cpg, c0 + t.c), p0,
                                       std::min(s.P, p0 + t.rows)});
    return out;
}

bool is_last_c(const core::LayerShape& s, const Chunk& k) { return k.c1 == s.c_per_group(); }

std::pair<int64_t, int64_t> input_rows(const core::LayerShape& s, const Chunk& k) {
    const int64_t h0 = k.p0 * s.Hstride - s.Hpad;
    const int64_t h1 = (k.p1 - 1) * s.Hstride - s.Hpad + s.R;
    return {h0, h1};
}

SubLayer extract_chunk(const core::LayerShape& s, const Chunk& k, const int16_t* ifmap,
                       const int16_t* weight) {
    SubLayer sub;
    core::LayerShape& o = sub.shape;
    const int64_t ng = k.g1 - k.g0, nc = k.c1 - k.c0, nm = k.m1 - k.m0;
    o = s;
    o.N = k.n1 - k.n0;
    o.G = ng;
    o.C = ng * nc;
    o.M = ng * nm;
    o.P = k.p1 - k.p0;
    const bool whole_height = k.p0 == 0 && k.p1 == s.P;
    int64_t h0 = 0, h1 = s.H;
    if (!whole_height) {
        std::tie(h0, h1) = input_rows(s, k);
        o.Hpad = 0;
        o.H = h1 - h0;
    }
    o.finalize("chunk");
    const int64_t cpg = s.c_per_group(), mpg = s.m_per_group();
    sub.ifmap.assign(static_cast<size_t>(o.ifmap_elems()), 0);
    for (int64_t n = 0; n < o.N; ++n)
        for (int64_t g = 0; g < ng; ++g)
            for (int64_t c = 0; c < nc; ++c) {
                const int64_t src_c = (k.g0 + g) * cpg + k.c0 + c;
                const int64_t dst_c = g * nc + c;
                for (int64_t h = 0; h < o.H; ++h) {
                    const int64_t src_h = h0 + h;
                    if (src_h < 0 || src_h >= s.H) continue;  // materialised padding row
                    const int16_t* src = ifmap + (((k.n0 + n) * s.C + src_c) * s.H + src_h) * s.W;
                    std::copy(src, src + s.W,
                              sub.ifmap.begin() + ((n * o.C + dst_c) * o.H + h) * o.W);
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
    const int64_t ng = k.g1 - k.g0, nm = k.m1 - k.m0, np = k.p1 - k.p0;
    const int64_t mpg = s.m_per_group();
    size_t i = 0;
    for (int64_t n = k.n0; n < k.n1; ++n)
        for (int64_t g = 0; g < ng; ++g)
            for (int64_t m = 0; m < nm; ++m) {
                const int64_t dst_m = (k.g0 + g) * mpg + k.m0 + m;
                int64_t* dst = ofmap.data() + ((n * s.M + dst_m) * s.P + k.p0) * s.Q;
                for (int64_t pq = 0; pq < np * s.Q; ++pq) dst[pq] += part[i++];
            }
}

core::LayerShape chunk_shape(const core::LayerShape& s, const GlbTiling& t) {
    Chunk k{0, t.n, 0, t.g, 0, t.m, 0, t.c, 0, t.rows};
    core::LayerShape o = s;
    o.N = t.n;
    o.G = t.g;
    o.C = t.g * t.c;
    o.M = t.g * t.m;
    o.P = t.rows;
    if (t.rows != s.P) {
        const auto [h0, h1] = input_rows(s, k);
        o.Hpad = 0;
        o.H = h1 - h0;
    }
    o.finalize("chunk");
    return o;
}

nlohmann::json to_json(const GlbTiling& t) {
    return {{"n", t.n}, {"g", t.g}, {"m", t.m}, {"c", t.c}, {"rows", t.rows}};
}

GlbTiling tiling_from_json(const nlohmann::json& j, const std::string& where) {
    if (!j.is_object()) throw core::InputError(where, "expected an object");
    GlbTiling t;
    const std::pair<const char*, int64_t*> fields[] = {
        {"n", &t.n}, {"g", &t.g}, {"m", &t.m}, {"c", &t.c}, {"rows", &t.rows}};
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
        if (!j.contains(key)) throw core::InputError(where + "." + key, "missing required key");
    return t;
}

}  // namespace actsparse::tlm
