#include "core/trace.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>
#include <random>
#include <string_view>

#include "core/error.h"
#include "core/parallel.h"
#include "core/safetensors.h"

namespace actsparse::core {
namespace {

constexpr const char* kFormat = "actsparse-trace";
constexpr const char* kVersion = "1";

// Metadata keys the format owns; everything else round-trips through Trace::extra.
const char* const kShapeKeys[] = {"N", "C", "M", "R",       "S",       "P",    "Q",
                                  "H", "W", "G", "Hstride", "Wstride", "Hpad", "Wpad"};
const char* const kOtherKeys[] = {"frac_bits", "layer", "network", "format", "version"};

bool is_reserved(const std::string& key) {
    for (const char* k : kShapeKeys)
        if (key == k) return true;
    for (const char* k : kOtherKeys)
        if (key == k) return true;
    return false;
}

int64_t* shape_field(LayerShape& s, const std::string& key) {
    int64_t* fields[] = {&s.N, &s.C, &s.M, &s.R,       &s.S,       &s.P,    &s.Q,
                         &s.H, &s.W, &s.G, &s.Hstride, &s.Wstride, &s.Hpad, &s.Wpad};
    for (size_t i = 0; i < std::size(kShapeKeys); ++i)
        if (key == kShapeKeys[i]) return fields[i];
    return nullptr;
}

// Strict decimal; bounded so later shape arithmetic cannot overflow int64.
int64_t parse_meta_int(const std::string& text, const std::string& where) {
    constexpr int64_t kLimit = int64_t{1} << 31;
    size_t i = 0;
    bool neg = false;
    if (i < text.size() && text[i] == '-') {
        neg = true;
        ++i;
    }
    if (i == text.size() || text.size() - i > 10)
        throw InputError(where, "expected an integer below 2^31, got '" + text.substr(0, 32) + "'");
    int64_t v = 0;
    for (; i < text.size(); ++i) {
        if (text[i] < '0' || text[i] > '9')
            throw InputError(where, "expected an integer, got '" + text.substr(0, 32) + "'");
        v = v * 10 + (text[i] - '0');
    }
    if (v >= kLimit) throw InputError(where, "value out of range: " + text);
    return neg ? -v : v;
}

template <class T>
std::string to_le_bytes(const std::vector<T>& v) {
    using U = std::make_unsigned_t<T>;
    std::string out(v.size() * sizeof(T), '\0');
    char* p = out.data();
    for (const T x : v) {
        const U u = static_cast<U>(x);
        for (size_t b = 0; b < sizeof(T); ++b) *p++ = static_cast<char>((u >> (8 * b)) & 0xff);
    }
    return out;
}

template <class U>
U load_le(const unsigned char* p) {
    U u = 0;
    for (size_t b = 0; b < sizeof(U); ++b) u |= static_cast<U>(p[b]) << (8 * b);
    return u;
}

std::vector<int64_t> dims(std::initializer_list<int64_t> d) { return std::vector<int64_t>(d); }

std::string shape_text(const std::vector<int64_t>& s) {
    std::string out = "[";
    for (size_t i = 0; i < s.size(); ++i) out += (i ? "," : "") + std::to_string(s[i]);
    return out + "]";
}

void expect_tensor(const SafetensorsEntry& e, const std::string& where,
                   std::initializer_list<const char*> dtypes, const std::vector<int64_t>& shape) {
    bool ok = false;
    std::string allowed;
    for (const char* d : dtypes) {
        ok = ok || e.dtype == d;
        allowed += (allowed.empty() ? "" : " or ") + std::string(d);
    }
    if (!ok)
        throw InputError(where + ": " + e.name + ".dtype",
                         "expected " + allowed + ", got " + e.dtype);
    if (e.shape != shape)
        throw InputError(
            where + ": " + e.name + ".shape",
            shape_text(e.shape) + " disagrees with the metadata shape " + shape_text(shape));
}

// The dtypes a trace tensor may have; other tensors are refused later, by name.
void check_trace_dtype(const std::string& name, const std::string& dtype,
                       const std::string& where) {
    static const std::pair<const char*, std::vector<std::string>> kRules[] = {
        {"ifmap", {"I16"}},
        {"weight", {"I16"}},
        {"ofmap_acc", {"I32", "I64"}},
        {"ifmap_float", {"F32"}}};
    for (const auto& [tensor, allowed] : kRules) {
        if (name != tensor) continue;
        // An unknown dtype is the container's error ("unknown dtype 'Q7'").
        if (safetensors_dtype_bytes(dtype) == 0) return;
        if (std::find(allowed.begin(), allowed.end(), dtype) != allowed.end()) return;
        std::string text;
        for (const auto& d : allowed) text += (text.empty() ? "" : " or ") + d;
        throw InputError(where + ": " + name + ".dtype", "expected " + text + ", got " + dtype);
    }
}

// Called when the container refused the file: if its header is readable JSON and a trace
// tensor has a dtype the trace format does not allow, that is the error to report (a wrong
// dtype also makes the tensor's data_offsets disagree with its size, which the container
// would report first). Otherwise returns, and the container's error stands.
void check_trace_dtypes_of_refused_file(const std::string& bytes, const std::string& where) {
    if (bytes.size() < 8) return;
    uint64_t n = 0;
    for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<unsigned char>(bytes[i]);
    if (n > bytes.size() - 8 || n > 100'000'000) return;
    struct TooBig {};
    nlohmann::json j;
    try {
        int64_t values = 0;  // the same bounds as the container's parser
        auto guard = [&](int depth, nlohmann::json::parse_event_t, nlohmann::json&) {
            if (depth > 8 || ++values > 1'000'000) throw TooBig{};
            return true;
        };
        j = nlohmann::json::parse(std::string_view(bytes).substr(8, n), guard);
    } catch (...) {
        return;
    }
    if (!j.is_object()) return;
    for (auto it = j.begin(); it != j.end(); ++it)
        if (it.key() != "__metadata__" && it.value().is_object() && it.value().contains("dtype") &&
            it.value()["dtype"].is_string())
            check_trace_dtype(it.key(), it.value()["dtype"].get<std::string>(), where);
}

// splitmix64: derives independent generator seeds from the user's seed, so the weights do
// not change when only the density or pattern changes.
uint64_t mix_seed(uint64_t x) {
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

// std::mt19937_64's sequence is fixed by the standard; std:: distributions are not, so
// the few we need are written here.
class Rng {
  public:
    explicit Rng(uint64_t seed) : gen_(seed) {}
    /// Uniform integer in [0, n), n >= 1, without modulo bias.
    uint64_t below(uint64_t n) {
        const uint64_t limit =
            std::numeric_limits<uint64_t>::max() - std::numeric_limits<uint64_t>::max() % n;
        uint64_t x;
        do {
            x = gen_();
        } while (x >= limit);
        return x % n;
    }

  private:
    std::mt19937_64 gen_;
};

// Runs body(i) for i in [0, n) on a few threads when there is enough work; the pieces write
// disjoint outputs.
template <class F>
void parallel_for(int64_t n, int64_t work_per_item, F body) {
    const size_t items = static_cast<size_t>(n);
    const size_t threads = n * work_per_item < (int64_t{1} << 22) ? 1 : worker_count(items, 0);
    run_parallel(items, threads, [&](size_t i) { body(static_cast<int64_t>(i)); });
}

// Which of planes x H x W positions are non-zero: `density` of them placed by `pattern`
// (uniform: exactly round(density * size); channel: whole planes; block: square blocks).
std::vector<uint8_t> nonzero_mask(int64_t planes_n, int64_t H, int64_t W, double density,
                                  ZeroPattern pattern, int64_t block, Rng& rng) {
    const int64_t size = planes_n * H * W;
    const int64_t plane = H * W;
    std::vector<uint8_t> nonzero(static_cast<size_t>(size), 0);
    // Selection sampling: picks exactly k of n items, each k-subset equally likely.
    auto select = [&](int64_t n, int64_t k, auto&& mark) {
        for (int64_t i = 0; i < n && k > 0; ++i)
            if (static_cast<int64_t>(rng.below(static_cast<uint64_t>(n - i))) < k) {
                mark(i);
                --k;
            }
    };
    switch (pattern) {
        case ZeroPattern::kUniform: {
            const int64_t k = std::llround(density * static_cast<double>(size));
            select(size, k, [&](int64_t i) { nonzero[i] = 1; });
            break;
        }
        case ZeroPattern::kChannel: {
            const int64_t planes = planes_n;
            const int64_t k = std::llround(density * static_cast<double>(planes));
            select(planes, k,
                   [&](int64_t i) { std::fill_n(nonzero.begin() + i * plane, plane, uint8_t{1}); });
            break;
        }
        case ZeroPattern::kBlock: {
            std::fill(nonzero.begin(), nonzero.end(), uint8_t{1});
            const int64_t b = block;
            const int64_t th = (H + b - 1) / b, tw = (W + b - 1) / b;
            const int64_t tiles = planes_n * th * tw;
            auto tile_size = [&](int64_t tile) {
                const int64_t bh = (tile % (th * tw)) / tw, bw = tile % tw;
                return std::min(b, H - bh * b) * std::min(b, W - bw * b);
            };
            auto zero_tile = [&](int64_t tile) {
                const int64_t pl = tile / (th * tw), bh = (tile % (th * tw)) / tw, bw = tile % tw;
                for (int64_t y = bh * b; y < std::min(H, bh * b + b); ++y)
                    for (int64_t x = bw * b; x < std::min(W, bw * b + b); ++x)
                        nonzero[pl * plane + y * W + x] = 0;
            };
            const int64_t target = size - std::llround(density * static_cast<double>(size));
            std::vector<int64_t> order(static_cast<size_t>(tiles));
            for (int64_t i = 0; i < tiles; ++i) order[i] = i;
            for (int64_t i = tiles - 1; i > 0; --i)
                std::swap(order[i], order[rng.below(static_cast<uint64_t>(i + 1))]);
            // Greedy in random order: take a tile when it does not overshoot, so smaller edge
            // tiles fill what full blocks cannot; then one overshooting tile if that is closer.
            int64_t zeros = 0;
            int64_t best_extra = -1;
            for (int64_t tile : order) {
                const int64_t ts = tile_size(tile);
                if (zeros + ts <= target) {
                    zero_tile(tile);
                    zeros += ts;
                } else if (best_extra < 0 || ts < tile_size(best_extra)) {
                    best_extra = tile;
                }
            }
            if (best_extra >= 0 && zeros + tile_size(best_extra) - target < target - zeros)
                zero_tile(best_extra);
            break;
        }
    }

    return nonzero;
}

}  // namespace

double Trace::density() const {
    if (ifmap.empty()) return 0.0;
    const auto nz = std::count_if(ifmap.begin(), ifmap.end(), [](int16_t v) { return v != 0; });
    return static_cast<double>(nz) / static_cast<double>(ifmap.size());
}

std::string encode_trace(const Trace& t) {
    const LayerShape& s = t.shape;
    auto check = [&](size_t have, int64_t need, const char* what) {
        if (static_cast<int64_t>(have) != need)
            throw InputError(
                std::string("trace: ") + what,
                "has " + std::to_string(have) + " values, shape needs " + std::to_string(need));
    };
    // Refuse what decode_trace would refuse, so every written file reads back.
    LayerShape checked = s;
    if (s.H < 1 || s.W < 1) throw InputError("trace: shape", "H and W must be set (finalize())");
    checked.finalize("trace: shape");
    if (t.frac_bits < 0 || t.frac_bits > 15)
        throw InputError("trace: frac_bits", "must be in [0, 15] for 16-bit words");
    check(t.ifmap.size(), s.ifmap_elems(), "ifmap");
    check(t.weight.size(), s.weight_elems(), "weight");
    if (!t.ofmap_acc.empty()) check(t.ofmap_acc.size(), s.ofmap_elems(), "ofmap_acc");
    if (!t.ifmap_float.empty()) check(t.ifmap_float.size(), s.ifmap_elems(), "ifmap_float");

    std::map<std::string, std::string> meta;
    for (const auto& [k, v] : t.extra) {
        if (is_reserved(k)) throw InputError("trace: extra." + k, "is a reserved metadata key");
        meta[k] = v;
    }
    LayerShape copy = s;
    for (const char* k : kShapeKeys) meta[k] = std::to_string(*shape_field(copy, k));
    meta["frac_bits"] = std::to_string(t.frac_bits);
    meta["layer"] = t.layer;
    meta["network"] = t.network;
    meta["format"] = kFormat;
    meta["version"] = kVersion;

    // Widest dtype first keeps every tensor naturally aligned in the 8-aligned buffer.
    std::vector<SafetensorsTensor> tensors;
    if (!t.ofmap_acc.empty()) {
        const bool fits32 = std::all_of(t.ofmap_acc.begin(), t.ofmap_acc.end(), [](int64_t v) {
            return v >= std::numeric_limits<int32_t>::min() &&
                   v <= std::numeric_limits<int32_t>::max();
        });
        SafetensorsTensor o{"ofmap_acc", fits32 ? "I32" : "I64", dims({s.N, s.M, s.P, s.Q}), {}};
        if (fits32) {
            std::vector<int32_t> narrow(t.ofmap_acc.begin(), t.ofmap_acc.end());
            o.data = to_le_bytes(narrow);
        } else {
            o.data = to_le_bytes(t.ofmap_acc);
        }
        tensors.push_back(std::move(o));
    }
    if (!t.ifmap_float.empty()) {
        std::vector<uint32_t> bits(t.ifmap_float.size());
        std::memcpy(bits.data(), t.ifmap_float.data(), bits.size() * sizeof(float));
        tensors.push_back({"ifmap_float", "F32", dims({s.N, s.C, s.H, s.W}), to_le_bytes(bits)});
    }
    tensors.push_back({"ifmap", "I16", dims({s.N, s.C, s.H, s.W}), to_le_bytes(t.ifmap)});
    tensors.push_back(
        {"weight", "I16", dims({s.M, s.c_per_group(), s.R, s.S}), to_le_bytes(t.weight)});
    return encode_safetensors(meta, tensors);
}

Trace decode_trace(const std::string& bytes, const std::string& where) {
    SafetensorsHeader h;
    try {
        h = parse_safetensors(bytes, where);
    } catch (const InputError&) {
        check_trace_dtypes_of_refused_file(bytes, where);
        throw;
    }
    // Dtypes first, as for a file the container refused: a wrong dtype is the root cause
    // whatever else disagrees.
    for (const auto& e : h.tensors) check_trace_dtype(e.name, e.dtype, where);
    const std::string meta_where = where + ": __metadata__";
    auto meta = [&](const std::string& key) -> const std::string& {
        auto it = h.metadata.find(key);
        if (it == h.metadata.end()) throw InputError(meta_where + "." + key, "missing");
        return it->second;
    };
    if (auto it = h.metadata.find("format"); it != h.metadata.end() && it->second != kFormat)
        throw InputError(meta_where + ".format", "expected '" + std::string(kFormat) + "'");
    if (auto it = h.metadata.find("version"); it != h.metadata.end() && it->second != kVersion)
        throw InputError(meta_where + ".version",
                         "unsupported version '" + it->second.substr(0, 16) + "'");

    Trace t;
    for (const char* k : kShapeKeys)
        *shape_field(t.shape, k) = parse_meta_int(meta(k), meta_where + "." + k);
    // H and W are given; finalize checks every field and that H/W yield P/Q.
    if (t.shape.H < 1) throw InputError(meta_where + ".H", "must be >= 1");
    if (t.shape.W < 1) throw InputError(meta_where + ".W", "must be >= 1");
    t.shape.finalize(meta_where);
    t.frac_bits = parse_meta_int(meta("frac_bits"), meta_where + ".frac_bits");
    if (t.frac_bits < 0 || t.frac_bits > 15)
        throw InputError(meta_where + ".frac_bits", "must be in [0, 15] for 16-bit words");
    if (auto it = h.metadata.find("layer"); it != h.metadata.end()) t.layer = it->second;
    if (auto it = h.metadata.find("network"); it != h.metadata.end()) t.network = it->second;
    for (const auto& [k, v] : h.metadata)
        if (!is_reserved(k)) t.extra[k] = v;

    const LayerShape& s = t.shape;
    const auto* ifmap = h.find("ifmap");
    const auto* weight = h.find("weight");
    if (!ifmap) throw InputError(where + ": ifmap", "missing tensor");
    if (!weight) throw InputError(where + ": weight", "missing tensor");
    const auto* ofmap = h.find("ofmap_acc");
    const auto* ifmap_float = h.find("ifmap_float");
    for (const auto& e : h.tensors)
        if (e.name != "ifmap" && e.name != "weight" && e.name != "ofmap_acc" &&
            e.name != "ifmap_float")
            throw InputError(where + ": " + e.name.substr(0, 64),
                             "unknown tensor (expected ifmap, weight, ofmap_acc, ifmap_float)");

    // The shapes below equal the metadata shape exactly and their byte sizes were checked
    // against the file, so every allocation is bounded by the file's size.
    expect_tensor(*ifmap, where, {"I16"}, dims({s.N, s.C, s.H, s.W}));
    expect_tensor(*weight, where, {"I16"}, dims({s.M, s.c_per_group(), s.R, s.S}));
    if (ofmap) expect_tensor(*ofmap, where, {"I32", "I64"}, dims({s.N, s.M, s.P, s.Q}));
    if (ifmap_float) expect_tensor(*ifmap_float, where, {"F32"}, dims({s.N, s.C, s.H, s.W}));

    auto data = [&](const SafetensorsEntry& e) {
        return reinterpret_cast<const unsigned char*>(bytes.data()) + h.buffer_offset + e.begin;
    };
    auto read_i16 = [&](const SafetensorsEntry& e, std::vector<int16_t>& out) {
        out.resize(static_cast<size_t>(e.elements()));
        const unsigned char* p = data(e);
        for (size_t i = 0; i < out.size(); ++i)
            out[i] = static_cast<int16_t>(load_le<uint16_t>(p + 2 * i));
    };
    read_i16(*ifmap, t.ifmap);
    read_i16(*weight, t.weight);
    if (ofmap) {
        t.ofmap_acc.resize(static_cast<size_t>(ofmap->elements()));
        const unsigned char* p = data(*ofmap);
        const bool is32 = ofmap->dtype == "I32";
        for (size_t i = 0; i < t.ofmap_acc.size(); ++i)
            t.ofmap_acc[i] = is32 ? static_cast<int32_t>(load_le<uint32_t>(p + 4 * i))
                                  : static_cast<int64_t>(load_le<uint64_t>(p + 8 * i));
    }
    if (ifmap_float) {
        t.ifmap_float.resize(static_cast<size_t>(ifmap_float->elements()));
        const unsigned char* p = data(*ifmap_float);
        for (size_t i = 0; i < t.ifmap_float.size(); ++i) {
            const uint32_t u = load_le<uint32_t>(p + 4 * i);
            std::memcpy(&t.ifmap_float[i], &u, sizeof u);
        }
    }
    return t;
}

void write_trace(const std::string& path, const Trace& t) {
    write_file_atomic(path, encode_trace(t));
}

Trace read_trace(const std::string& path) { return decode_trace(read_file(path), path); }

std::vector<int64_t> reference_conv(const LayerShape& s, const std::vector<int16_t>& ifmap,
                                    const std::vector<int16_t>& weight) {
    if (static_cast<int64_t>(ifmap.size()) != s.ifmap_elems())
        throw InputError("reference_conv: ifmap", "has " + std::to_string(ifmap.size()) +
                                                      " values, shape needs " +
                                                      std::to_string(s.ifmap_elems()));
    if (static_cast<int64_t>(weight.size()) != s.weight_elems())
        throw InputError("reference_conv: weight", "has " + std::to_string(weight.size()) +
                                                       " values, shape needs " +
                                                       std::to_string(s.weight_elems()));
    const int64_t cg = s.c_per_group(), mg = s.m_per_group();
    std::vector<int64_t> out(static_cast<size_t>(s.ofmap_elems()), 0);
    // Valid output columns for each filter column s_: 0 <= q*Wstride - Wpad + s_ < W. Computed
    // once so the inner loop is a branch-free, vectorizable multiply-accumulate.
    std::vector<int64_t> q_lo(s.S), q_hi(s.S);
    for (int64_t x = 0; x < s.S; ++x) {
        const int64_t lo_num = s.Wpad - x;
        q_lo[x] = lo_num <= 0 ? 0 : (lo_num + s.Wstride - 1) / s.Wstride;
        const int64_t hi_num = s.W - 1 + s.Wpad - x;
        q_hi[x] = hi_num < 0 ? 0 : std::min(s.Q, hi_num / s.Wstride + 1);
    }
    // A pointwise layer (1x1 filter, stride 1, no padding): each channel adds one weight
    // times its whole input plane, a single contiguous loop (MobileNet-V2's small planes
    // would otherwise run rows of 4 or 8).
    const bool pointwise = s.R == 1 && s.S == 1 && s.Hstride == 1 && s.Wstride == 1 &&
                           s.Hpad == 0 && s.Wpad == 0 && s.P == s.H && s.Q == s.W;
    parallel_for(s.N * s.M, s.P * s.Q * cg * s.R * s.S, [&](int64_t nm) {
        const int64_t n = nm / s.M, m = nm % s.M, g = m / mg;
        int64_t* o = out.data() + nm * s.P * s.Q;
        for (int64_t ci = 0; ci < cg; ++ci) {
            const int64_t c = g * cg + ci;
            const int16_t* in = ifmap.data() + (n * s.C + c) * s.H * s.W;
            const int16_t* w = weight.data() + (m * cg + ci) * s.R * s.S;
            if (pointwise) {
                const int32_t wv = w[0];
                if (wv == 0) continue;
                for (int64_t i = 0, plane = s.P * s.Q; i < plane; ++i) o[i] += wv * int32_t{in[i]};
                continue;
            }
            for (int64_t r = 0; r < s.R; ++r) {
                for (int64_t x = 0; x < s.S; ++x) {
                    // int16 x int16 fits int32 exactly: 32-bit products vectorise better
                    // than 64-bit ones, and the int64 sums are the same.
                    const int32_t wv = w[r * s.S + x];
                    if (wv == 0) continue;
                    for (int64_t p = 0; p < s.P; ++p) {
                        const int64_t ih = p * s.Hstride - s.Hpad + r;
                        if (ih < 0 || ih >= s.H) continue;
                        // Index, not pointer, arithmetic: base may be negative when padded.
                        const int64_t base = ih * s.W - s.Wpad + x;
                        int64_t* orow = o + p * s.Q;
                        if (s.Wstride == 1) {
                            for (int64_t q = q_lo[x]; q < q_hi[x]; ++q)
                                orow[q] += wv * int32_t{in[base + q]};
                        } else {
                            for (int64_t q = q_lo[x]; q < q_hi[x]; ++q)
                                orow[q] += wv * int32_t{in[base + q * s.Wstride]};
                        }
                    }
                }
            }
        }
    });
    return out;
}

const char* to_string(ZeroPattern p) {
    switch (p) {
        case ZeroPattern::kUniform:
            return "uniform";
        case ZeroPattern::kChannel:
            return "channel";
        case ZeroPattern::kBlock:
            return "block";
    }
    return "?";
}

ZeroPattern parse_zero_pattern(const std::string& text, const std::string& where) {
    if (text == "uniform") return ZeroPattern::kUniform;
    if (text == "channel") return ZeroPattern::kChannel;
    if (text == "block") return ZeroPattern::kBlock;
    throw InputError(where, "expected uniform, channel or block, got '" + text.substr(0, 32) + "'");
}

Trace synth_trace(const LayerShape& shape, const SynthOptions& o, int64_t frac_bits) {
    if (!(o.density >= 0.0 && o.density <= 1.0))
        throw InputError("synth: density", "must be in [0, 1], got " + std::to_string(o.density));
    if (frac_bits < 0 || frac_bits > 15)
        throw InputError("synth: frac_bits",
                         "must be in [0, 15], got " + std::to_string(frac_bits));
    if (o.pattern == ZeroPattern::kBlock && o.block < 1)
        throw InputError("synth: block", "must be >= 1, got " + std::to_string(o.block));
    if (!(o.weight_density >= 0.0 && o.weight_density <= 1.0))
        throw InputError("synth: weight_density",
                         "must be in [0, 1], got " + std::to_string(o.weight_density));
    if (o.weight_pattern == ZeroPattern::kBlock && o.weight_block < 1)
        throw InputError("synth: weight_block",
                         "must be >= 1, got " + std::to_string(o.weight_block));
    Trace t;
    t.shape = shape;
    t.shape.finalize("synth: shape");
    t.frac_bits = frac_bits;
    const LayerShape& s = t.shape;
    const int64_t size = s.ifmap_elems();

    // Which ifmap positions are non-zero.
    Rng mask_rng(mix_seed(o.seed ^ 0x6d61736bull));
    const std::vector<uint8_t> nonzero =
        nonzero_mask(s.N * s.C, s.H, s.W, o.density, o.pattern, o.block, mask_rng);

    // Non-zero activations are post-ReLU: positive, mostly small; min of two uniforms gives a
    // density falling linearly towards the top of (0, 4.0] in real units.
    const int64_t act_max = std::min<int64_t>(int64_t{4} << frac_bits, 32767);
    Rng value_rng(mix_seed(o.seed ^ 0x76616c75ull));
    t.ifmap.assign(static_cast<size_t>(size), 0);
    for (int64_t i = 0; i < size; ++i)
        if (nonzero[i]) {
            const uint64_t a = value_rng.below(static_cast<uint64_t>(act_max));
            const uint64_t b = value_rng.below(static_cast<uint64_t>(act_max));
            t.ifmap[i] = static_cast<int16_t>(1 + std::min(a, b));
        }
    // Weights: signed, triangular on [-0.5, 0.5] in real units; independent of the density.
    const int64_t w_max = std::clamp<int64_t>((int64_t{1} << frac_bits) / 2, 1, 32767);
    Rng weight_rng(mix_seed(o.seed ^ 0x77656967ull));
    t.weight.resize(static_cast<size_t>(s.weight_elems()));
    if (o.weight_density >= 1.0) {
        for (auto& w : t.weight) {
            const int64_t a =
                static_cast<int64_t>(weight_rng.below(static_cast<uint64_t>(w_max + 1)));
            const int64_t b =
                static_cast<int64_t>(weight_rng.below(static_cast<uint64_t>(w_max + 1)));
            w = static_cast<int16_t>(a + b - w_max);
        }
    } else {
        // Sparse weights: the mask picks the non-zeros, each drawn from the same triangular
        // law conditioned on being non-zero.
        Rng wmask_rng(mix_seed(o.seed ^ 0x776d736bull));
        const std::vector<uint8_t> keep =
            nonzero_mask(s.M * s.c_per_group(), s.R, s.S, o.weight_density, o.weight_pattern,
                         o.weight_block, wmask_rng);
        for (size_t i = 0; i < t.weight.size(); ++i) {
            int64_t w = 0;
            while (keep[i] && w == 0) {
                const int64_t a =
                    static_cast<int64_t>(weight_rng.below(static_cast<uint64_t>(w_max + 1)));
                const int64_t b =
                    static_cast<int64_t>(weight_rng.below(static_cast<uint64_t>(w_max + 1)));
                w = a + b - w_max;
            }
            t.weight[i] = static_cast<int16_t>(w);
        }
    }
    t.ofmap_acc = reference_conv(s, t.ifmap, t.weight);

    char density[32];
    std::snprintf(density, sizeof density, "%.6g", o.density);
    t.extra["synth_pattern"] = to_string(o.pattern);
    t.extra["synth_seed"] = std::to_string(o.seed);
    t.extra["synth_density"] = density;
    if (o.pattern == ZeroPattern::kBlock) t.extra["synth_block"] = std::to_string(o.block);
    if (o.weight_density < 1.0) {
        std::snprintf(density, sizeof density, "%.6g", o.weight_density);
        t.extra["synth_weight_density"] = density;
        t.extra["synth_weight_pattern"] = to_string(o.weight_pattern);
        if (o.weight_pattern == ZeroPattern::kBlock)
            t.extra["synth_weight_block"] = std::to_string(o.weight_block);
    }
    return t;
}

}  // namespace actsparse::core
