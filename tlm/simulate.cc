#include "tlm/simulate.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <limits>

#include "core/error.h"
#include "core/parallel.h"
#include "core/rlc.h"
#include "tlm/accelerator.h"
#include "tlm/streams.h"
#include "tlm/v2.h"

namespace actsparse::tlm {

// Maps the array's counters onto the layer's access table (tlm/array_counts.cc).
void add_array_counts(const hw::ArrayStats& s, Accesses& a);
int64_t array_cycles(const hw::ArrayResult& r);

namespace {

// What happens to the accumulators before the ofmap is written back.
struct Epilogue {
    std::vector<double> bias;  ///< per output channel, real units; empty: none
    bool relu = true;
    int64_t frac_bits_out = 8;  ///< fraction bits of the written ofmap
};

Epilogue trace_epilogue(const core::Trace& t, const SimOptions& opts) {
    Epilogue e;
    e.relu = opts.relu_out;
    e.frac_bits_out = ofmap_frac_bits(t, opts);
    if (!opts.trace_epilogue) return e;
    const auto relu = t.extra.find("relu_after");
    if (relu != t.extra.end()) e.relu = opts.relu_out && relu->second != "false";
    const auto b = t.extra.find("bias");
    if (b == t.extra.end()) return e;
    const std::string where = "trace " + t.layer + ": extra.bias";
    std::vector<double> bias;
    try {
        bias = nlohmann::json::parse(b->second).get<std::vector<double>>();
    } catch (const nlohmann::json::exception& ex) {
        throw core::InputError(where, std::string("not a JSON array of numbers: ") + ex.what());
    }
    if (static_cast<int64_t>(bias.size()) != t.shape.M)
        throw core::InputError(where, "has " + std::to_string(bias.size()) + " values for " +
                                          std::to_string(t.shape.M) + " output channels");
    for (double v : bias)
        if (!std::isfinite(v)) throw core::InputError(where, "not finite");
    e.bias = std::move(bias);
    return e;
}

core::RlcParams rlc_params(const core::ArchConfig& a) {
    core::RlcParams p;
    p.run_bits = a.dram.rlc_run_bits;
    p.value_bits = a.dram.rlc_value_bits;
    p.pairs_per_word = a.dram.rlc_pairs_per_word;
    return p;
}

// Decodes one stream read by the DMA; false if it does not reproduce `expect`.
bool stream_matches(const uint8_t* stream, uint64_t bytes, const int16_t* expect, int64_t width,
                    bool compressed, const core::RlcParams& p) {
    std::vector<int16_t> row(width);
    if (compressed) {
        std::vector<uint64_t> words(bytes / 8);
        std::memcpy(words.data(), stream, bytes);
        if (!core::rlc_decode(words.data(), words.size(), width, row.data(), p)) return false;
    } else {
        std::memcpy(row.data(), stream, width * 2);
    }
    return std::equal(row.begin(), row.end(), expect);
}

// The DRAM filter spans (filters are stored raw as [M][C/G][R][S], from byte 0) of each pass
// of a chunk whose filters are streamed: one list per pass, empty when the pass uses the
// previous pass's filters (they are still in the GLB's filter part). `expect` gets, per pass,
// the same values read from the chunk's own weight copy (`sub_weight`, [M_sub][C_sub][R][S],
// cut out by extract_chunk), so the bytes the DMA delivers can be checked against it; `words`
// gets the total. Contiguous rows are merged into one span.
std::vector<std::vector<Span>> streamed_filter_spans(const core::LayerShape& s, const Chunk& c,
                                                     const core::LayerShape& sub,
                                                     const std::vector<int16_t>& sub_weight,
                                                     const hw::Mapping& am,
                                                     const std::vector<hw::PassRecord>& passes,
                                                     std::vector<std::vector<int16_t>>& expect,
                                                     int64_t& words) {
    std::vector<std::vector<Span>> out;
    const int64_t cpg = s.c_per_group(), mpg = s.m_per_group(), msub = c.m1 - c.m0;
    const int64_t csub = sub.c_per_group();
    int64_t prev[4] = {-1, -1, -1, -1};
    for (const hw::PassRecord& pr : passes) {
        const hw::PassTile& tl = pr.tile;
        std::vector<Span> spans;
        std::vector<int16_t> values;
        const int64_t key[4] = {tl.filter_block, tl.frow_block, tl.fcol_block, tl.channel_block};
        if (!std::equal(key, key + 4, prev)) {
            std::copy(key, key + 4, prev);
            for (int64_t ti = tl.tile_first; ti < tl.tile_first + tl.tile_count; ++ti) {
                const hw::FilterTile ft = hw::filter_tile(sub, am, ti);
                for (int64_t f = ft.first; f < ft.first + ft.count; ++f) {
                    const int64_t m = (c.g0 + f / msub) * mpg + c.m0 + f % msub;
                    for (int64_t ch = tl.chan_first; ch < tl.chan_first + tl.chan_count; ++ch)
                        for (int64_t row = tl.frow_first; row < tl.frow_first + tl.frow_count;
                             ++row) {
                            const uint64_t addr =
                                static_cast<uint64_t>(((m * cpg + c.c0 + ch) * s.R + row) * s.S +
                                                      tl.fcol_first) *
                                2;
                            const uint64_t bytes = static_cast<uint64_t>(tl.fcol_count) * 2;
                            words += tl.fcol_count;
                            if (!spans.empty() && spans.back().addr + spans.back().bytes == addr)
                                spans.back().bytes += bytes;
                            else
                                spans.push_back({addr, bytes, nullptr});
                            for (int64_t col = tl.fcol_first; col < tl.fcol_first + tl.fcol_count;
                                 ++col)
                                values.push_back(sub_weight[static_cast<size_t>(
                                    ((f * csub + ch) * sub.R + row) * sub.S + col)]);
                        }
                }
            }
        }
        out.push_back(std::move(spans));
        expect.push_back(std::move(values));
    }
    return out;
}

// One chunk's sub-layer, array mapping and array run.
struct ChunkRun {
    SubLayer sub;
    hw::Mapping am;
    hw::ArrayResult ar;
};

}  // namespace

int16_t quantise_activation(double x, int64_t frac_bits) {
    const double y = std::ldexp(x, static_cast<int>(frac_bits));
    double r = std::round(y);  // half away from zero ...
    if (std::fabs(y - std::trunc(y)) == 0.5) r = 2.0 * std::round(y / 2.0);  // ... to even
    return static_cast<int16_t>(std::clamp(r, -32768.0, 32767.0));
}

int64_t ofmap_frac_bits(const core::Trace& t, const SimOptions& opts) {
    int64_t f = t.frac_bits;
    if (opts.ofmap_frac_bits >= 0) {
        f = opts.ofmap_frac_bits;
    } else if (const auto it = t.extra.find("ofmap_frac_bits"); it != t.extra.end()) {
        const std::string where = "trace " + t.layer + ": extra.ofmap_frac_bits";
        size_t used = 0;
        try {
            f = std::stoll(it->second, &used);
        } catch (const std::exception&) {
            used = 0;
        }
        if (used == 0 || used != it->second.size())
            throw core::InputError(where, "expected an integer, got '" + it->second + "'");
    }
    if (f < 0 || f > 15)
        throw core::InputError("trace " + t.layer + ": ofmap frac_bits",
                               "must be in [0, 15] for 16-bit words, got " + std::to_string(f));
    return f;
}

std::vector<int16_t> write_back(const core::Trace& t, const std::vector<int64_t>& acc,
                                const SimOptions& opts) {
    const core::LayerShape& s = t.shape;
    if (static_cast<int64_t>(acc.size()) != s.ofmap_elems())
        core::model_bug("tlm::write_back", "accumulators disagree with the shape");
    const Epilogue epi = trace_epilogue(t, opts);
    const int64_t plane = s.P * s.Q;
    const int in_scale = -2 * static_cast<int>(t.frac_bits);  // products carry 2x frac bits
    std::vector<int16_t> out(acc.size());
    for (size_t i = 0; i < acc.size(); ++i) {
        // |acc| < 2^52 (int16 products over < 2^22 terms), so the scaling is exact.
        double x = std::ldexp(static_cast<double>(acc[i]), in_scale);
        if (!epi.bias.empty())
            x += epi.bias[static_cast<size_t>((static_cast<int64_t>(i) / plane) % s.M)];
        if (epi.relu) x = std::max(x, 0.0);
        out[i] = quantise_activation(x, epi.frac_bits_out);
    }
    return out;
}

LayerResult begin_layer(const core::Trace& trace, const SimOptions& opts,
                        const std::string& where) {
    const core::LayerShape& s = trace.shape;
    if (static_cast<int64_t>(trace.ifmap.size()) != s.ifmap_elems() ||
        static_cast<int64_t>(trace.weight.size()) != s.weight_elems())
        throw core::InputError(where, "ifmap/weight sizes disagree with the shape");
    LayerResult r;
    r.layer = trace.layer;
    r.shape = s;
    r.density = trace.density();
    r.dense_macs = s.macs();
    if (opts.mapping) {
        if (auto why = check_layer_mapping(s, *opts.mapping, opts.arch))
            throw core::InputError("--mapping", "invalid for " + where + ": " + *why);
        r.mapping = *opts.mapping;
    }
    return r;
}

LayerResult simulate_layer(const core::Trace& trace, const SimOptions& opts) {
    if (opts.arch.type == core::ArrayType::kEyerissV2) return simulate_layer_v2(trace, opts);
    if (opts.v2_array)
        throw core::InputError("--mapping", "a v2 array mapping needs --arch eyeriss-v2");
    const auto host_start = std::chrono::steady_clock::now();
    const core::ArchConfig& arch = opts.arch;
    const core::LayerShape& s = trace.shape;
    const std::string where = trace.layer.empty() ? std::string("layer") : trace.layer;
    LayerResult r = begin_layer(trace, opts, where);

    // Both SystemC tops must exist before the array's first sc_start.
    AcceleratorTop& top = AcceleratorTop::instance(arch);
    if (opts.mapping) {
        r.mappings_considered = 0;
    } else {
        const MapperResult m =
            find_mapping(s, arch, opts.objective,
                         opts.mapping_density >= 0 ? opts.mapping_density : r.density, trace.layer);
        r.mapping = m.best;
        r.mappings_considered = m.considered;
    }

    // Phase 1: every chunk on the PE array, exact output accumulated across chunks.
    const std::vector<Chunk> chunks = enumerate_chunks(s, r.mapping.glb);
    r.ofmap.assign(static_cast<size_t>(s.ofmap_elems()), 0);
    std::vector<int64_t> chunk_cycles(chunks.size());
    const Footprint fp = footprint(s, r.mapping.glb, arch);
    // Streamed filters (the chunk's block does not fit the filter part): per pass whose
    // filters differ from the previous pass's, the spans of DRAM filter rows it reads.
    std::vector<std::vector<std::vector<Span>>> pass_filter_spans(chunks.size());
    std::vector<std::vector<std::vector<int16_t>>> pass_filter_values(chunks.size());
    std::vector<std::vector<int64_t>> pass_cycles(chunks.size());
    std::vector<int64_t> streamed_words(chunks.size(), 0);
    hw::RunOptions run_opts;
    run_opts.fidelity = opts.fidelity;
    run_opts.vcd_path = opts.vcd_path;
    // The fast fidelity is plain C++ without the SystemC kernel, so the chunks of a block run
    // on worker threads; their results are used in chunk order below, so every count and the
    // output are those of running them one after another.
    const bool parallel = opts.fidelity == hw::Fidelity::kFast && run_opts.vcd_path.empty();
    const size_t workers =
        !parallel ? 1 : core::worker_count(std::numeric_limits<size_t>::max(), opts.threads);
    const size_t block = parallel ? workers * 8 : 1;  // one at a time: the VCD is chunk 0's
    std::vector<ChunkRun> runs;
    for (size_t k = 0; k < chunks.size(); ++k) {
        if (k % block == 0) {
            runs.assign(std::min(block, chunks.size() - k), ChunkRun{});
            auto run_one = [&](size_t i) {
                ChunkRun& cr = runs[i];
                cr.sub = extract_chunk(s, chunks[k + i], trace.ifmap.data(), trace.weight.data());
                cr.am = chunk_array_mapping(cr.sub.shape, r.mapping.array, arch);
                cr.ar = hw::run_layer(cr.sub.shape, cr.am, arch, cr.sub.ifmap.data(),
                                      cr.sub.weight.data(), run_opts);
            };
            core::run_parallel(runs.size(), std::min(workers, runs.size()), run_one);
        }
        ChunkRun& cr = runs[k % block];
        const SubLayer& sub = cr.sub;
        const hw::Mapping& am = cr.am;
        const hw::ArrayResult& ar = cr.ar;
        accumulate_chunk(s, chunks[k], ar.ofmap, r.ofmap);
        add_array_counts(ar.stats, r.accesses);
        chunk_cycles[k] = array_cycles(ar);
        if (!fp.filters_resident) {
            pass_filter_spans[k] =
                streamed_filter_spans(s, chunks[k], sub.shape, sub.weight, am, ar.passes,
                                      pass_filter_values[k], streamed_words[k]);
            int64_t sum = 0;
            for (const hw::PassRecord& pr : ar.passes) {
                pass_cycles[k].push_back(pr.cycles);
                sum += pr.cycles;
            }
            if (sum != chunk_cycles[k])
                core::model_bug("tlm.simulate", "pass cycles do not add up to the chunk's");
        }
        r.passes.insert(r.passes.end(), ar.passes.begin(), ar.passes.end());
        run_opts.vcd_path.clear();  // the VCD shows the first chunk
    }

    // The DRAM image: filters raw, ifmap and ofmap as streams (RLC when enabled), segmented
    // by the column strips.
    const core::RlcParams rlc = rlc_params(arch);
    const bool ifmap_rlc = arch.dram.rlc && opts.ifmap_compressed;
    const int64_t strip_q = strip_cols(s, r.mapping.glb);
    const StreamSegments segs = stream_segments(s, r.mapping.glb, chunks.front());
    // Raw 16-bit values, or RLC words (run, level pairs packed in 64 bits).
    auto rlc_coder = [&rlc](bool compressed) -> SegmentEncoder {
        return [compressed, &rlc](const int16_t* v, int64_t n) {
            std::vector<uint8_t> bytes;
            if (compressed) {
                const std::vector<uint64_t> words = core::rlc_encode(v, n, rlc);
                bytes.resize(words.size() * 8);
                std::memcpy(bytes.data(), words.data(), bytes.size());
            } else {
                bytes.resize(static_cast<size_t>(n) * 2);
                std::memcpy(bytes.data(), v, bytes.size());
            }
            return bytes;
        };
    };
    const Streams in =
        encode_streams(trace.ifmap.data(), s.N * s.C, s.H, s.W, segs.in, rlc_coder(ifmap_rlc));
    const std::vector<int16_t> out16 = write_back(trace, r.ofmap, opts);
    const int64_t ofmap_nonzero =
        std::count_if(out16.begin(), out16.end(), [](int16_t v) { return v != 0; });
    r.ofmap_density = out16.empty()
                          ? 0.0
                          : static_cast<double>(ofmap_nonzero) / static_cast<double>(out16.size());
    Streams out =
        encode_streams(out16.data(), s.N * s.M, s.P, s.Q, segs.out, rlc_coder(arch.dram.rlc));
    const uint64_t filter_base = 0;
    const uint64_t filter_bytes = align_up8(static_cast<uint64_t>(s.weight_elems()) * 2);
    const uint64_t ifmap_base = filter_base + filter_bytes;
    const uint64_t ofmap_base = ifmap_base + in.total;
    top.dram.reset(arch.dram, ofmap_base + out.total);
    top.dram.map_region(filter_base, filter_bytes, Tensor::kFilter);
    top.dram.map_region(ifmap_base, std::max<uint64_t>(in.total, 1), Tensor::kIfmap);
    top.dram.map_region(ofmap_base, std::max<uint64_t>(out.total, 1), Tensor::kOfmap);
    std::memcpy(top.dram.data(filter_base), trace.weight.data(), s.weight_elems() * 2);
    std::memcpy(top.dram.data(ifmap_base), in.data.data(), in.total);

    // Phase 2: the plan of DRAM traffic per chunk, replayed through the TLM DRAM.
    LayerPlan plan;
    plan.double_buffered = fp.double_buffered;
    plan.chunks.resize(chunks.size());
    IfmapLoads loads;  // what the DMA delivered, per ifmap span
    std::vector<std::vector<uint8_t>> glb_filters(chunks.size());
    const int64_t cpg = s.c_per_group(), mpg = s.m_per_group(), rs = s.R * s.S;
    int64_t psum_carry_words = 0, ofmap_glb_reads = 0;
    for (size_t k = 0; k < chunks.size(); ++k) {
        const Chunk& c = chunks[k];
        ChunkPlan& cp = plan.chunks[k];
        cp.compute_cycles = chunk_cycles[k];
        const int64_t seg = c.q0 / strip_q;
        // An ifmap block already in the GLB (the previous chunk's, next filter block) is not
        // reloaded; padding is never loaded (only the chunk's real rows and columns).
        if (k == 0 || !c.same_ifmap(chunks[k - 1])) {
            uint64_t unused_bytes = 0;
            r.accesses.glb_ifmap_writes +=
                plan_ifmap_loads(s, c, k, seg, in, ifmap_base, cp, loads, unused_bytes);
        }
        if (!fp.filters_resident) {
            // Streamed: the first pass's filters before the chunk starts, each later pass's
            // while the pass before it runs (the GLB "preloads the filters used by the next
            // processing pass", JSSC 2017 IV-A).
            size_t total = 0;
            for (const auto& pass : pass_filter_spans[k])
                for (const Span& sp : pass) total += sp.bytes;
            glb_filters[k].resize(total);
            size_t fo = 0;
            cp.pass_cycles = pass_cycles[k];
            cp.pass_filters.resize(pass_filter_spans[k].size());
            for (size_t pi = 0; pi < pass_filter_spans[k].size(); ++pi)
                for (Span sp : pass_filter_spans[k][pi]) {
                    sp.addr += filter_base;
                    sp.glb = glb_filters[k].data() + fo;
                    fo += sp.bytes;
                    (pi == 0 ? cp.filter_loads : cp.pass_filters[pi]).push_back(sp);
                }
            r.accesses.glb_filter_writes += streamed_words[k];
        } else if (k == 0 || !c.same_filters(chunks[k - 1])) {
            // A filter block already in the GLB's filter part (the previous chunk's: same
            // groups, filters and channels) is not reloaded.
            const uint64_t filter_span = static_cast<uint64_t>(c.c1 - c.c0) * rs * 2;
            glb_filters[k].resize(filter_span * (c.g1 - c.g0) * (c.m1 - c.m0));
            size_t fo = 0;
            for (int64_t g = c.g0; g < c.g1; ++g)
                for (int64_t m = c.m0; m < c.m1; ++m) {
                    const uint64_t off = ((g * mpg + m) * cpg + c.c0) * rs * 2;
                    cp.filter_loads.push_back(
                        {filter_base + off, filter_span, glb_filters[k].data() + fo});
                    fo += filter_span;
                }
            r.accesses.glb_filter_writes += (c.g1 - c.g0) * (c.m1 - c.m0) * (c.c1 - c.c0) * rs;
        }
        const int64_t block_psums =
            (c.n1 - c.n0) * (c.g1 - c.g0) * (c.m1 - c.m0) * (c.p1 - c.p0) * (c.q1 - c.q0);
        // A later channel chunk adds its partial sums to the block's psums in the GLB.
        if (!c.first_c()) psum_carry_words += block_psums;
        if (is_last_c(s, c)) {
            ofmap_glb_reads += block_psums;
            plan_ofmap_stores(s, c, seg, out, ofmap_base, cp);
        }
    }
    loads.bind(plan);

    const TimingResult t = top.run(arch, plan, transfer_fidelity(opts.fidelity));

    // What crossed the socket must be the layer's data: decode every delivered row.
    loads.check(
        in, trace.ifmap.data(), s,
        [&](const uint8_t* p, uint64_t bytes, const int16_t* expect, int64_t n) {
            return stream_matches(p, bytes, expect, n, ifmap_rlc, rlc);
        },
        "");
    for (size_t k = 0; k < chunks.size(); ++k) {
        for (const Span& f : plan.chunks[k].filter_loads)
            if (std::memcmp(f.glb, top.dram.data(f.addr), f.bytes) != 0)
                core::model_bug("tlm.dma", "filter chunk arrived corrupted in the GLB");
        // Streamed filters: what the DMA put in the filter part, pass by pass, must be the
        // weights the pass uses (from the chunk's own weight copy, another code path).
        if (pass_filter_values[k].empty()) continue;
        const uint8_t* got = glb_filters[k].data();
        for (const auto& values : pass_filter_values[k]) {
            if (std::memcmp(got, values.data(), values.size() * 2) != 0)
                core::model_bug("tlm.dma", "a pass's streamed filters are not its weights");
            got += values.size() * 2;
        }
    }
    if (std::memcmp(top.dram.data(ofmap_base), out.data.data(), out.total) != 0)
        core::model_bug("tlm.dma", "ofmap in DRAM differs from the GLB's");

    const DramStats& ds = top.dram.stats();
    r.accesses.dram_ifmap_reads = ds.read_bytes[static_cast<int>(Tensor::kIfmap)] / 2;
    r.accesses.dram_filter_reads = ds.read_bytes[static_cast<int>(Tensor::kFilter)] / 2;
    r.accesses.dram_ofmap_writes = ds.write_bytes[static_cast<int>(Tensor::kOfmap)] / 2;
    // The array writes every chunk's psums to the GLB (counted by hw/); a later channel
    // chunk first brings the block's earlier psums back in, and the final ofmap is read out
    // of the GLB on its way to DRAM.
    r.accesses.glb_psum_reads += psum_carry_words + ofmap_glb_reads;
    r.accesses.noc_psum_words += psum_carry_words;

    r.cycles_processing = t.processing_cycles;
    r.cycles_total = t.total_cycles;
    r.compute_stall_cycles = t.compute_stall_cycles;
    r.energy = energy_of(r.accesses, arch.energy);
    const double slots = static_cast<double>(arch.array.rows * arch.array.cols) *
                         std::max<int64_t>(r.cycles_processing, 1);
    r.utilization = (r.accesses.mac_mac_performed + r.accesses.mac_mac_gated) / slots;
    r.mac_split.gated_iact = r.accesses.mac_mac_gated;  // v1 gates and skips by the ifmap
    r.mac_split.skipped_iact = r.accesses.mac_mac_skipped;
    r.pass_count = static_cast<int64_t>(r.passes.size());
    r.host_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - host_start).count();
    return r;
}

nlohmann::json LayerResult::to_json() const {
    nlohmann::json j;
    j["layer"] = layer;
    j["shape"] = shape.to_spec();
    j["mapping"] = tlm::to_json(mapping);
    j["mappings_considered"] = mappings_considered;
    j["density"] = density;
    j["ofmap_density"] = ofmap_density;
    j["cycles"] = {{"processing", cycles_processing},
                   {"total", cycles_total},
                   {"compute_stall", compute_stall_cycles}};
    j["macs"] = {{"dense", dense_macs},
                 {"performed", accesses.mac_mac_performed},
                 {"gated", accesses.mac_mac_gated},
                 {"skipped", accesses.mac_mac_skipped},
                 {"gated_iact", mac_split.gated_iact},
                 {"gated_weight", mac_split.gated_weight},
                 {"skipped_iact", mac_split.skipped_iact},
                 {"skipped_weight", mac_split.skipped_weight}};
    j["energy_pj"] = energy.to_json();
    j["accesses"] = accesses.to_json();
    j["utilization"] = utilization;
    j["passes"] = pass_count;
    j["host_seconds"] = host_seconds;
    if (v2_stats) j["v2"] = v2_info;
    return j;
}

}  // namespace actsparse::tlm
