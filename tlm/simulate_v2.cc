// The Eyeriss v2-class array (hw/v2) inside the accelerator model: GLB tiling, DRAM image
// (CSC off-chip), the TLM replay through the shared DMA/compute/write engines, and energy
// from arch.v2.energy. docs/v2.md, "tlm wiring".
#include <algorithm>
#include <chrono>
#include <cstring>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "tlm/accelerator.h"
#include "tlm/streams.h"
#include "tlm/v2.h"

namespace actsparse::tlm {

namespace {

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

// The most real input rows (or columns) any strip of `strip` outputs reads (as tiling.cc).
int64_t max_real_extent(int64_t full, int64_t strip, int64_t stride, int64_t pad, int64_t kernel,
                        int64_t in) {
    if (strip >= full) return in;
    int64_t most = 0;
    for (int64_t o0 = 0; o0 < full; o0 += strip) {
        const int64_t o1 = std::min(full, o0 + strip);
        const int64_t lo = std::max<int64_t>(o0 * stride - pad, 0);
        const int64_t hi = std::min((o1 - 1) * stride - pad + kernel, in);
        most = std::max(most, hi - lo);
    }
    return most;
}

// Halvings of n (n, ceil(n/2), ... 1), unique.
std::vector<int64_t> halvings(int64_t n) {
    std::vector<int64_t> v;
    for (int64_t x = n; x >= 1; x = (x == 1 ? 0 : ceil_div(x, 2)))
        if (v.empty() || v.back() != x) v.push_back(x);
    return v;
}

// A value as the data_bits-bit memory word holds it (two's complement, sign-extended).
int16_t as_word(int16_t v, int64_t bits) {
    if (bits >= 16) return v;
    const int32_t mask = (1 << bits) - 1;
    int32_t x = static_cast<int32_t>(v) & mask;
    if (x & (1 << (bits - 1))) x -= (1 << bits);
    return static_cast<int16_t>(x);
}

// Off-chip encoding of one feature-map stream (a row segment): CSC, [P] I-C, or raw words.
struct Codec {
    bool csc = true;
    int64_t count_bits = 4, data_bits = 8;
};

// Bit writer/reader, LSB first.
struct BitWriter {
    std::vector<uint8_t> bytes;
    int64_t bit = 0;
    void put(uint64_t v, int64_t n) {
        for (int64_t i = 0; i < n; ++i, ++bit) {
            if (bit % 8 == 0) bytes.push_back(0);
            if ((v >> i) & 1) bytes.back() |= static_cast<uint8_t>(1u << (bit % 8));
        }
    }
};
uint64_t get_bits(const uint8_t* p, int64_t& bit, int64_t n) {
    uint64_t v = 0;
    for (int64_t i = 0; i < n; ++i, ++bit)
        if ((p[bit / 8] >> (bit % 8)) & 1) v |= uint64_t{1} << i;
    return v;
}

// CSC of one segment: a 16-bit pair count (the column address), then (count, value) pairs,
// count_bits + data_bits each; a run longer than the count holds is cut by filler pairs
// (count max, value 0); trailing zeros are implicit. Raw: data_bits per value.
std::vector<uint8_t> encode_segment(const int16_t* v, int64_t n, const Codec& c) {
    BitWriter w;
    if (!c.csc) {
        for (int64_t i = 0; i < n; ++i) w.put(static_cast<uint16_t>(v[i]), c.data_bits);
        return w.bytes;
    }
    const int64_t max_run = (int64_t{1} << c.count_bits) - 1;
    std::vector<std::pair<int64_t, int16_t>> pairs;
    int64_t run = 0;
    for (int64_t i = 0; i < n; ++i) {
        const int16_t x = as_word(v[i], c.data_bits);
        if (x == 0) {
            ++run;
            continue;
        }
        while (run > max_run) {
            pairs.push_back({max_run, 0});
            run -= max_run + 1;
        }
        pairs.push_back({run, x});
        run = 0;
    }
    w.put(pairs.size(), 16);
    for (const auto& [cnt, x] : pairs) {
        w.put(static_cast<uint64_t>(cnt), c.count_bits);
        w.put(static_cast<uint16_t>(x), c.data_bits);
    }
    return w.bytes;
}

bool segment_matches(const uint8_t* p, uint64_t bytes, const int16_t* expect, int64_t n,
                     const Codec& c) {
    std::vector<int16_t> row(static_cast<size_t>(n), 0);
    int64_t bit = 0;
    auto value = [&]() {
        return as_word(static_cast<int16_t>(get_bits(p, bit, c.data_bits)), c.data_bits);
    };
    if (!c.csc) {
        if (static_cast<int64_t>(bytes * 8) < n * c.data_bits) return false;
        for (int64_t i = 0; i < n; ++i) row[i] = value();
    } else {
        if (bytes < 2) return false;
        const int64_t pairs = static_cast<int64_t>(get_bits(p, bit, 16));
        if (static_cast<int64_t>(bytes * 8) < 16 + pairs * (c.count_bits + c.data_bits))
            return false;
        int64_t pos = 0;
        for (int64_t k = 0; k < pairs; ++k) {
            pos += static_cast<int64_t>(get_bits(p, bit, c.count_bits));
            const int16_t x = value();
            if (pos >= n) return false;
            row[pos++] = x;
        }
    }
    for (int64_t i = 0; i < n; ++i)
        if (row[i] != as_word(expect[i], c.data_bits)) return false;
    return true;
}

// Real input extent of a chunk (tiling.h), as the chunk's footprint in iact items.
int64_t chunk_iact_items(const core::LayerShape& s, const GlbTiling& t) {
    const int64_t rows_in = max_real_extent(s.P, t.rows, s.Hstride, s.Hpad, s.R, s.H);
    const int64_t cols_in = max_real_extent(s.Q, strip_cols(s, t), s.Wstride, s.Wpad, s.S, s.W);
    return t.n * t.g * t.c * rows_in * cols_in;
}

}  // namespace

int64_t v2_item_bits(const core::ArchConfig& a) {
    return a.zero_mode == core::ZeroMode::kSkip ? a.v2.csc.pair_bits() : a.v2.csc.data_bits;
}

int64_t v2_glb_iact_items(const core::ArchConfig& a) {
    const core::V2Params& v = a.v2;
    return v.clusters.count() * v.glb.iact_banks * (v.glb.iact_bank_bytes * 8 / v2_item_bits(a));
}

int64_t v2_glb_psums(const core::ArchConfig& a) {
    const core::V2Params& v = a.v2;
    return v.clusters.count() * v.glb.psum_banks * (v.glb.psum_bank_bytes * 8 / v.pe.psum_bits);
}

std::optional<std::string> check_v2_tiling(const core::LayerShape& s, const GlbTiling& t,
                                           const core::ArchConfig& a) {
    if (t.n < 1 || t.n > s.N) return "n must be in [1, N]";
    if (t.g < 1 || t.g > s.G) return "g must be in [1, G]";
    if (t.m < 1 || t.m > s.m_per_group()) return "m must be in [1, M/G]";
    if (t.c < 1 || t.c > s.c_per_group()) return "c must be in [1, C/G]";
    if (t.rows < 1 || t.rows > s.P) return "rows must be in [1, P]";
    if (t.cols < 0 || t.cols > s.Q) return "cols must be in [1, Q] (or 0: every column)";
    const int64_t items = chunk_iact_items(s, t), cap = v2_glb_iact_items(a);
    if (items > cap)
        return "iact chunk (" + std::to_string(items) + " items) exceeds the GLB iact banks (" +
               std::to_string(cap) + " items)";
    if (t.c < s.c_per_group()) {
        const int64_t psums = t.n * t.g * t.m * t.rows * strip_cols(s, t);
        if (psums > v2_glb_psums(a))
            return "psums kept between channel chunks (" + std::to_string(psums) +
                   ") exceed the GLB psum banks (" + std::to_string(v2_glb_psums(a)) + ")";
    }
    return std::nullopt;
}

bool v2_double_buffered(const core::LayerShape& s, const GlbTiling& t, const core::ArchConfig& a) {
    return 2 * chunk_iact_items(s, t) <= v2_glb_iact_items(a);
}

hw::v2::V2Mapping chunk_v2_mapping(const core::LayerShape& sub, const hw::v2::V2Mapping& m) {
    hw::v2::V2Mapping c = m;
    c.m0 = std::min(c.m0, sub.m_per_group());
    c.c0 = std::min(c.c0, sub.c_per_group());
    c.s0 = std::min(c.s0, sub.S);
    c.e0 = std::min(c.e0, sub.P);
    c.q0 = std::min(c.q0, sub.Q);
    c.fr = std::min(c.fr, sub.R);
    c.cv = std::min(c.cv, ceil_div(sub.c_per_group(), c.c0));
    return c;
}

MapperResult find_v2_mapping(const core::LayerShape& s, const core::ArchConfig& a,
                             const std::optional<hw::v2::V2Mapping>& array,
                             const std::string& layer) {
    const std::string name =
        "layer " + (layer.empty() ? s.to_spec() : "'" + layer + "' (" + s.to_spec() + ")");
    MapperResult best;
    double best_bits = std::numeric_limits<double>::infinity();
    int64_t best_chunks = 0;
    const double ib = static_cast<double>(v2_item_bits(a));
    const double wbits = static_cast<double>(s.weight_elems()) * ib;
    std::string last_why;
    for (int64_t n : halvings(s.N))
        for (int64_t g : halvings(s.G))
            for (int64_t c : halvings(s.c_per_group()))
                for (int64_t m : halvings(s.m_per_group()))
                    for (int64_t rows : halvings(s.P))
                        for (int64_t cols : halvings(s.Q)) {
                            GlbTiling t{n, g, m, c, rows, cols == s.Q ? 0 : cols};
                            ++best.considered;
                            if (auto why = check_v2_tiling(s, t, a)) {
                                last_why = *why;
                                continue;
                            }
                            if (array && hw::v2::check_v2_mapping(chunk_shape(s, t), *array, a))
                                continue;
                            ++best.valid;
                            // DRAM bits: the ifmap once per (n, g, strip) block when the
                            // channels are not split (the m chunks reuse it), else once per
                            // m chunk; the weights at least once per (n, g, strip) block.
                            const int64_t blocks = ceil_div(s.N, n) * ceil_div(s.G, g) *
                                                   ceil_div(s.P, rows) * ceil_div(s.Q, cols);
                            const int64_t mch = ceil_div(s.m_per_group(), m);
                            const int64_t chunks = blocks * mch * ceil_div(s.c_per_group(), c);
                            const int64_t cch = ceil_div(s.c_per_group(), c);
                            const double in =
                                static_cast<double>(chunk_iact_items(s, t)) * ib *
                                static_cast<double>(blocks * cch * (cch > 1 ? mch : 1));
                            const double bits =
                                in +
                                wbits * static_cast<double>(ceil_div(s.N, n) * ceil_div(s.P, rows) *
                                                            ceil_div(s.Q, cols));
                            if (bits < best_bits || (bits == best_bits && chunks < best_chunks)) {
                                best_bits = bits;
                                best_chunks = chunks;
                                best.best.glb = t;
                            }
                        }
    if (best.valid == 0)
        throw core::InputError("--arch", name + " has no eyeriss-v2 GLB tiling" +
                                             (array ? " for the given v2 mapping" : "") +
                                             (last_why.empty() ? "" : ": " + last_why));
    best.best.v2 = array ? *array : hw::v2::default_v2_mapping(chunk_shape(s, best.best.glb), a);
    best.estimate.dram_words = best_bits / 16.0;
    best.estimate.cycles =
        hw::v2::estimate_v2_cycles(chunk_shape(s, best.best.glb), *best.best.v2, a);
    return best;
}

Energy energy_of_v2(const hw::v2::V2Stats& st, const V2Traffic& tr, const core::ArchConfig& a) {
    const core::V2EnergyTable& e = a.v2.energy;
    const core::V2Params& v = a.v2;
    const double ib = static_cast<double>(v2_item_bits(a));
    const bool addrs = a.zero_mode == core::ZeroMode::kSkip;
    const double iab = addrs ? static_cast<double>(v.csc.iact_addr_bits) : 0.0;
    const double wab = addrs ? static_cast<double>(v.csc.weight_addr_bits) : 0.0;
    const double pb = static_cast<double>(v.pe.psum_bits);
    Energy r;
    // DRAM: the bytes that crossed the bus.
    const double dram_ifmap = tr.dram_ifmap_bytes * 8.0 * e.dram_read_pj_per_bit;
    const double dram_filter = tr.dram_filter_bytes * 8.0 * e.dram_read_pj_per_bit;
    const double dram_ofmap = tr.dram_ofmap_bytes * 8.0 * e.dram_write_pj_per_bit;
    r.dram = dram_ifmap + dram_filter + dram_ofmap;
    // GLB: iact banks (written by the DMA, read onto the iact routers) and psum banks (psums
    // of earlier reduction passes / channel chunks; the final ofmap goes off-chip).
    const double glb_ifmap =
        (st.iact_noc_items_sent * ib + st.iact_noc_addrs_sent * iab) * e.glb_read_pj_per_bit +
        tr.glb_iact_write_bits * e.glb_write_pj_per_bit;
    const double glb_psum =
        (st.psum_glb_reads + tr.glb_psum_carry_reads) * pb * e.glb_read_pj_per_bit +
        (st.psum_glb_writes - tr.final_psum_writes) * pb * e.glb_write_pj_per_bit;
    r.glb = glb_ifmap + glb_psum;
    // NoC, one hop per link crossed: iacts router -> PE; weights port -> router, router ->
    // router (mesh), router -> PE; psums router <-> PE at the column ends; PE -> PE up a
    // chain is the array link.
    const double noc_ifmap =
        (st.iact_noc_items_delivered * ib + st.iact_noc_addrs_sent * iab) * e.noc_hop_pj_per_bit;
    const double noc_filter =
        ((st.weight_noc_items_sent + st.weight_mesh_items + st.weight_noc_items_delivered) * ib +
         st.weight_offchip_addrs * wab) *
        e.noc_hop_pj_per_bit;
    const double noc_psum = (st.psum_glb_reads + tr.glb_psum_carry_reads + st.psum_glb_writes) *
                            pb * e.noc_hop_pj_per_bit;
    r.noc = noc_ifmap + noc_filter + noc_psum;
    r.array_link = st.psum_chain_words * pb * e.noc_hop_pj_per_bit;
    r.ifmap_spad = st.iact_data_spad_reads * e.iact_data_spad_read_pj +
                   st.iact_data_spad_writes * e.iact_data_spad_write_pj +
                   st.iact_addr_spad_reads * e.iact_addr_spad_read_pj +
                   st.iact_addr_spad_writes * e.iact_addr_spad_write_pj;
    r.filter_spad = st.weight_data_spad_reads * e.weight_data_spad_read_pj +
                    st.weight_data_spad_writes * e.weight_data_spad_write_pj +
                    st.weight_addr_spad_reads * e.weight_addr_spad_read_pj +
                    st.weight_addr_spad_writes * e.weight_addr_spad_write_pj;
    r.psum_spad =
        st.psum_spad_reads * e.psum_spad_read_pj + st.psum_spad_writes * e.psum_spad_write_pj;
    r.mac = st.macs_performed * e.mac_pj + (st.macs_gated() + st.mac_lanes_idle) * e.mac_gated_pj;
    r.ifmap = dram_ifmap + glb_ifmap + noc_ifmap + r.ifmap_spad;
    r.filter = dram_filter + noc_filter + r.filter_spad;
    r.psum = glb_psum + noc_psum + r.array_link + r.psum_spad;
    r.ofmap = dram_ofmap;
    r.compute = r.mac;
    return r;
}

LayerResult simulate_layer_v2(const core::Trace& trace, const SimOptions& opts) {
    const auto host_start = std::chrono::steady_clock::now();
    const core::ArchConfig& arch = opts.arch;
    const core::LayerShape& s = trace.shape;
    const std::string where = trace.layer.empty() ? std::string("layer") : trace.layer;
    LayerResult r = begin_layer(trace, opts, where);
    if (!opts.vcd_path.empty())
        throw core::InputError("--vcd",
                               "no VCD for eyeriss-v2 (its cycle fidelity has no "
                               "SystemC top)");
    AcceleratorTop& top = AcceleratorTop::instance(arch);
    if (!opts.mapping) {
        if (opts.v2_array)
            if (auto why = hw::v2::check_v2_mapping(s, *opts.v2_array, arch))
                throw core::InputError("--mapping", "invalid for " + where + ": " + *why);
        const MapperResult m = find_v2_mapping(s, arch, opts.v2_array, trace.layer);
        r.mapping = m.best;
        r.mappings_considered = m.considered;
    }
    const hw::v2::V2Mapping& vm = *r.mapping.v2;

    // Phase 1: every chunk on the v2 array.
    const std::vector<Chunk> chunks = enumerate_chunks(s, r.mapping.glb);
    r.ofmap.assign(static_cast<size_t>(s.ofmap_elems()), 0);
    hw::v2::V2Stats st;
    std::vector<int64_t> chunk_cycles(chunks.size());
    std::vector<std::vector<uint64_t>> pass_weight_bytes(chunks.size());  // per pass (0: none)
    std::vector<std::vector<int64_t>> pass_cycles(chunks.size());
    const int64_t ib = v2_item_bits(arch);
    const bool skip = arch.zero_mode == core::ZeroMode::kSkip;
    const int64_t wab = skip ? arch.v2.csc.weight_addr_bits : 0;
    int64_t final_psum_writes = 0;
    std::string iact_mode, weight_mode, psum_mode;
    hw::v2::V2RunOptions ro;
    ro.fidelity = opts.fidelity;
    for (size_t k = 0; k < chunks.size(); ++k) {
        const SubLayer sub = extract_chunk(s, chunks[k], trace.ifmap.data(), trace.weight.data());
        const hw::v2::V2Result res =
            hw::v2::run_layer_v2(sub.shape, chunk_v2_mapping(sub.shape, vm), arch, sub.ifmap.data(),
                                 sub.weight.data(), ro);
        accumulate_chunk(s, chunks[k], res.ofmap, r.ofmap);
        st += res.stats;
        chunk_cycles[k] = res.stats.cycles;
        for (const hw::v2::V2PassRecord& p : res.passes) {
            const int64_t bits =
                p.stats.weight_offchip_items * ib + p.stats.weight_offchip_addrs * wab;
            pass_weight_bytes[k].push_back(static_cast<uint64_t>(ceil_div(bits, 8)));
            pass_cycles[k].push_back(p.cycles);
            if (p.last_contribution && is_last_c(s, chunks[k]))
                final_psum_writes += p.stats.psum_glb_writes;
        }
        if (k == 0) {
            iact_mode = res.iact_noc_mode;
            weight_mode = res.weight_noc_mode;
            psum_mode = res.psum_noc_mode;
        }
    }

    // The DRAM image: weights as the passes read them (CSC-sized packets), ifmap and ofmap as
    // streams, CSC-coded when csc.off_chip (the first layer's ifmap, the image, raw).
    const Codec csc{true, arch.v2.csc.count_bits, arch.v2.csc.data_bits};
    const Codec raw{false, arch.v2.csc.count_bits, arch.v2.csc.data_bits};
    const Codec in_codec = arch.v2.csc.off_chip && opts.ifmap_compressed ? csc : raw;
    const Codec out_codec = arch.v2.csc.off_chip ? csc : raw;
    const int64_t strip_q = strip_cols(s, r.mapping.glb);
    const StreamSegments segs = stream_segments(s, r.mapping.glb, chunks.front());
    auto coder = [](const Codec& codec) -> SegmentEncoder {
        return [codec](const int16_t* v, int64_t n) { return encode_segment(v, n, codec); };
    };
    const Streams in =
        encode_streams(trace.ifmap.data(), s.N * s.C, s.H, s.W, segs.in, coder(in_codec));
    const std::vector<int16_t> out16 = write_back(trace, r.ofmap, opts);
    const int64_t ofmap_nonzero =
        std::count_if(out16.begin(), out16.end(), [](int16_t v) { return v != 0; });
    r.ofmap_density = out16.empty()
                          ? 0.0
                          : static_cast<double>(ofmap_nonzero) / static_cast<double>(out16.size());
    Streams out = encode_streams(out16.data(), s.N * s.M, s.P, s.Q, segs.out, coder(out_codec));
    uint64_t filter_bytes = 0;
    for (const auto& v : pass_weight_bytes)
        for (uint64_t b : v) filter_bytes += align_up8(b);
    const uint64_t filter_base = 0;
    const uint64_t ifmap_base = filter_base + filter_bytes;
    const uint64_t ofmap_base = ifmap_base + in.total;
    top.dram.reset(arch.dram, ofmap_base + out.total);
    top.dram.map_region(filter_base, std::max<uint64_t>(filter_bytes, 1), Tensor::kFilter);
    top.dram.map_region(ifmap_base, std::max<uint64_t>(in.total, 1), Tensor::kIfmap);
    top.dram.map_region(ofmap_base, std::max<uint64_t>(out.total, 1), Tensor::kOfmap);
    if (in.total > 0) std::memcpy(top.dram.data(ifmap_base), in.data.data(), in.total);

    // Phase 2: the DRAM traffic per chunk through the TLM DRAM.
    LayerPlan plan;
    plan.double_buffered = v2_double_buffered(s, r.mapping.glb, arch);
    plan.chunks.resize(chunks.size());
    IfmapLoads loads;
    std::vector<std::vector<uint8_t>> glb_weights(chunks.size());
    int64_t psum_carry = 0, glb_iact_write_bits = 0, glb_iact_items = 0;
    uint64_t woff = 0;
    for (size_t k = 0; k < chunks.size(); ++k) {
        const Chunk& c = chunks[k];
        ChunkPlan& cp = plan.chunks[k];
        cp.compute_cycles = chunk_cycles[k];
        const int64_t seg = c.q0 / strip_q;
        if (k == 0 || !c.same_ifmap(chunks[k - 1])) {
            uint64_t bytes = 0;
            glb_iact_items += plan_ifmap_loads(s, c, k, seg, in, ifmap_base, cp, loads, bytes);
            glb_iact_write_bits += static_cast<int64_t>(bytes) * 8;
        }
        // Weights stream from DRAM to the weight routers: the first pass's before the chunk
        // starts, each later pass's while the pass before runs.
        uint64_t total = 0;
        for (uint64_t b : pass_weight_bytes[k]) total += b;
        glb_weights[k].resize(total);
        uint64_t fo = 0;
        int64_t sum = 0;
        for (int64_t c : pass_cycles[k]) sum += c;
        if (sum != chunk_cycles[k])
            core::model_bug("tlm.simulate_v2", "pass cycles do not add up to the chunk's");
        cp.pass_cycles = pass_cycles[k];
        cp.pass_filters.resize(pass_weight_bytes[k].size());
        for (size_t pi = 0; pi < pass_weight_bytes[k].size(); ++pi) {
            const uint64_t b = pass_weight_bytes[k][pi];
            if (b == 0) continue;
            (pi == 0 ? cp.filter_loads : cp.pass_filters[pi])
                .push_back({filter_base + woff, b, glb_weights[k].data() + fo});
            woff += align_up8(b);
            fo += b;
        }
        const int64_t block_psums =
            (c.n1 - c.n0) * (c.g1 - c.g0) * (c.m1 - c.m0) * (c.p1 - c.p0) * (c.q1 - c.q0);
        if (!c.first_c()) psum_carry += block_psums;
        if (is_last_c(s, c)) plan_ofmap_stores(s, c, seg, out, ofmap_base, cp);
    }
    loads.bind(plan);

    const TimingResult t = top.run(arch, plan, transfer_fidelity(opts.fidelity));

    loads.check(
        in, trace.ifmap.data(), s,
        [&](const uint8_t* p, uint64_t bytes, const int16_t* expect, int64_t n) {
            return segment_matches(p, bytes, expect, n, in_codec);
        },
        " (eyeriss-v2)");
    if (out.total > 0 && std::memcmp(top.dram.data(ofmap_base), out.data.data(), out.total) != 0)
        core::model_bug("tlm.dma", "ofmap in DRAM differs from the GLB's (eyeriss-v2)");

    const DramStats& ds = top.dram.stats();
    V2Traffic tr;
    tr.dram_ifmap_bytes = static_cast<int64_t>(ds.read_bytes[static_cast<int>(Tensor::kIfmap)]);
    tr.dram_filter_bytes = static_cast<int64_t>(ds.read_bytes[static_cast<int>(Tensor::kFilter)]);
    tr.dram_ofmap_bytes = static_cast<int64_t>(ds.write_bytes[static_cast<int>(Tensor::kOfmap)]);
    tr.glb_iact_write_bits = glb_iact_write_bits;
    tr.glb_psum_carry_reads = psum_carry;
    tr.final_psum_writes = final_psum_writes;
    r.energy = energy_of_v2(st, tr, arch);

    // The access table in the shared schema (v2 units: items, 20-bit psums; DRAM in 16-bit
    // words of the bytes moved, as v1).
    const hw::ArrayStats as = st.to_array_stats();
    Accesses& ac = r.accesses;
    ac.glb_ifmap_reads = as.ifmap_noc_words_sent;
    ac.glb_ifmap_writes = glb_iact_items;
    ac.glb_psum_reads = as.psum_noc_words_sent + psum_carry;
    ac.glb_psum_writes = as.psum_out_words - final_psum_writes;
    ac.noc_ifmap_words = as.ifmap_noc_words_delivered;
    ac.noc_filter_words = as.filter_noc_words_delivered;
    ac.noc_psum_words = as.psum_noc_words_delivered + as.psum_out_words + psum_carry;
    ac.array_link_psum_words = as.psum_link_words;
    ac.ifmap_spad_ifmap_reads = as.ifmap_spad_reads;
    ac.ifmap_spad_ifmap_writes = as.ifmap_spad_writes;
    ac.filter_spad_filter_reads = as.filter_spad_reads;
    ac.filter_spad_filter_writes = as.filter_spad_writes;
    ac.psum_spad_psum_reads = as.psum_spad_reads;
    ac.psum_spad_psum_writes = as.psum_spad_writes;
    ac.mac_mac_performed = st.macs_performed;
    ac.mac_mac_gated = st.macs_gated();
    ac.mac_mac_skipped = st.macs_skipped();
    ac.dram_ifmap_reads = tr.dram_ifmap_bytes / 2;
    ac.dram_filter_reads = tr.dram_filter_bytes / 2;
    ac.dram_ofmap_writes = tr.dram_ofmap_bytes / 2;
    r.mac_split.gated_iact = st.macs_gated_iact;
    r.mac_split.gated_weight = st.macs_gated_weight;
    r.mac_split.skipped_iact = st.macs_skipped_iact;
    r.mac_split.skipped_weight = st.macs_skipped_weight;
    r.pass_count = st.passes;
    if (st.mac_slots() != s.macs())
        core::model_bug("tlm.v2", "MAC slots " + std::to_string(st.mac_slots()) +
                                      " differ from the layer's " + std::to_string(s.macs()));

    r.cycles_processing = t.processing_cycles;
    r.cycles_total = t.total_cycles;
    r.compute_stall_cycles = t.compute_stall_cycles;
    const double slots = static_cast<double>(arch.v2.pes * arch.v2.pe.macs_per_cycle) *
                         std::max<int64_t>(r.cycles_processing, 1);
    r.utilization = (st.macs_performed + st.macs_gated()) / slots;
    int64_t wide = 0;
    const int64_t lo = -(int64_t{1} << (arch.v2.csc.data_bits - 1)),
                  hi = (int64_t{1} << (arch.v2.csc.data_bits - 1)) - 1;
    for (int16_t v : trace.ifmap) wide += v < lo || v > hi;
    for (int16_t v : trace.weight) wide += v < lo || v > hi;
    r.v2_stats = st;
    r.v2_info = {{"stats", st.to_json()},
                 {"noc_modes", {{"iact", iact_mode}, {"weight", weight_mode}, {"psum", psum_mode}}},
                 {"chunks", static_cast<int64_t>(chunks.size())},
                 {"dram_bytes",
                  {{"ifmap", tr.dram_ifmap_bytes},
                   {"weight", tr.dram_filter_bytes},
                   {"ofmap", tr.dram_ofmap_bytes}}},
                 {"values_wider_than_word", wide}};
    r.host_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - host_start).count();
    return r;
}

}  // namespace actsparse::tlm
