#include "hw/v2/array_v2.h"

#include <algorithm>
#include <limits>
#include <map>
#include <unordered_map>

#include "core/error.h"
#include "hw/v2/pe_v2.h"

namespace actsparse::hw::v2 {
namespace {

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

/// One PE's job in a pass.
struct PeSlot {
    int64_t phys = 0;  ///< physical PE index: (cluster * pe_rows + row) * pe_cols + col
    int64_t cluster = 0, row = 0, col = 0;
    int64_t n = 0, g = 0;
    int64_t c_first = 0, c_count = 0;  ///< local channels within the group
    int64_t r = 0;
    int64_t s_first = 0, s_count = 0;
    int64_t m_first = 0, m_count = 0;  ///< local output channels within the group
    int64_t p_first = 0, p_count = 0, q_first = 0, q_count = 0;
    int64_t wkey = 0, skey = 0;
    bool needs_weights = false, stream_rep = false;
    const WeightMatrix* wm = nullptr;
    int64_t streams = 1;       ///< distinct iact streams in its cluster this pass
    int64_t weight_ready = 0;  ///< cycle its weights are in the spad
    int64_t windows() const { return p_count * q_count; }
};

struct ChainSlot {
    std::vector<int> pes;  ///< indices into the pass's PeSlots, bottom to top
    int64_t cluster = 0, col = 0, share = 1;
    bool acc_in = false;
    int64_t t_hop = 1, t_glb = 1;
};

/// Everything shared by the two fidelities for one pass.
struct Pass {
    std::vector<PeSlot> pes;
    std::vector<ChainSlot> chains;
    int64_t weight_load = 0;
};

/// Layer-wide context.
struct Ctx {
    const core::LayerShape& s;
    const V2Mapping& m;
    const core::ArchConfig& a;
    const int16_t* in;
    const int16_t* w;
    bool compressed, skip, gate;
    int64_t simd, Cg, Mg, HW;
    int64_t iact_rate;  ///< bits per cycle into one cluster's PEs (all iact routers)
    int64_t item_bits, iact_addr_bits, pair_bits, weight_addr_bits;
    std::vector<int64_t>* ofmap;
};

/// Description of one new iact column segment of a window.
struct NewColumn {
    int64_t s = 0;
    bool in_range = false;
    int64_t items = 0;  ///< items on the NoC (non-zeros in CSC, c_count values dense)
};

/// Column and row of window x of a PE.
struct WindowPos {
    int64_t ih = 0, iw0 = 0;  ///< input row, input column of window column 0
    bool row_ok = false, first = false;
    int64_t new_from = 0;  ///< window columns [new_from, s_count) are new
};

WindowPos window_pos(const Ctx& ctx, const PeSlot& p, int64_t x) {
    const core::LayerShape& s = ctx.s;
    WindowPos w;
    const int64_t pi = x / p.q_count, xi = x % p.q_count;
    w.ih = (p.p_first + pi) * s.Hstride - s.Hpad + p.r;
    w.iw0 = (p.q_first + xi) * s.Wstride - s.Wpad + p.s_first;
    w.row_ok = w.ih >= 0 && w.ih < s.H;
    w.first = xi == 0;
    w.new_from = w.first ? 0 : p.s_count - std::min(s.Wstride, p.s_count);
    return w;
}

inline const int16_t* iact_ptr(const Ctx& ctx, const PeSlot& p, int64_t ih, int64_t iw) {
    return ctx.in + ((p.n * ctx.s.C + p.g * ctx.Cg + p.c_first) * ctx.s.H + ih) * ctx.s.W + iw;
}

/// Plans the load of window x (shared by both fidelities): fills `cols`, returns its bits
/// and, with `count`, adds the spad writes of padding columns and the GLB reads of a stream
/// representative to `st`.
int64_t plan_load(const Ctx& ctx, const PeSlot& p, int64_t x, std::vector<NewColumn>& cols,
                  V2Stats& st, bool count = true) {
    const WindowPos wp = window_pos(ctx, p, x);
    cols.clear();
    int64_t bits = 0;
    for (int64_t sc = wp.new_from; sc < p.s_count; ++sc) {
        NewColumn nc;
        nc.s = sc;
        const int64_t iw = wp.iw0 + sc;
        nc.in_range = wp.row_ok && iw >= 0 && iw < ctx.s.W;
        if (nc.in_range) {
            if (ctx.compressed) {
                const int16_t* px = iact_ptr(ctx, p, wp.ih, iw);
                for (int64_t c = 0; c < p.c_count; ++c) nc.items += px[c * ctx.HW] != 0;
                bits += nc.items * ctx.pair_bits + ctx.iact_addr_bits;
                if (count && p.stream_rep) ++st.iact_noc_addrs_sent;
            } else {
                nc.items = p.c_count;
                bits += nc.items * ctx.item_bits;
            }
            if (count && p.stream_rep) st.iact_noc_items_sent += nc.items;
        } else if (count) {  // padding: never on the NoC; the PE writes it itself
            if (ctx.compressed)
                ++st.iact_addr_spad_writes;
            else
                st.iact_data_spad_writes += p.c_count;
        }
        cols.push_back(nc);
    }
    return bits;
}

int64_t load_cycles(const Ctx& ctx, const PeSlot& p, int64_t bits) {
    return bits == 0 ? 0 : ceil_div(bits * p.streams, ctx.iact_rate);
}

/// Whether window x's new columns fit the iact spads beside the `held` data entries of the
/// window being computed (prefetch during its compute). Entries: a non-zero iact each in
/// CSC, every value (padding included) uncompressed; CSC also needs one address entry per
/// column segment, the held window's s_count plus the new ones.
bool prefetch_fits(const Ctx& ctx, const PeSlot& p, const std::vector<NewColumn>& cols,
                   int64_t held) {
    const core::V2Pe& pe = ctx.a.v2.pe;
    int64_t data = held;
    for (const NewColumn& nc : cols) data += ctx.compressed ? nc.items : p.c_count;
    if (data > pe.iact_data_spad_entries) return false;
    if (!ctx.compressed) return true;
    return p.s_count + static_cast<int64_t>(cols.size()) <= pe.iact_addr_spad_entries;
}

/// Whether the psum spad holds two windows' psums (the next window computes into the free
/// half while the last one's psums wait for or travel up the chain).
bool psum_double_buffered(const Ctx& ctx, const PeSlot& p) {
    return 2 * p.m_count <= ctx.a.v2.pe.psum_spad_entries;
}

/// Stats of a delivered column (fast fidelity: all at once; cycle: per item).
void count_delivery(const Ctx& ctx, const NewColumn& nc, V2Stats& st) {
    if (!nc.in_range) return;
    st.iact_noc_items_delivered += nc.items;
    st.iact_data_spad_writes += nc.items;
    if (ctx.compressed) ++st.iact_addr_spad_writes;
}

void count_chain_hop(int64_t m, V2Stats& st) {
    st.psum_chain_words += m;
    st.psum_spad_reads += 2 * m;  // sender reads, receiver reads its own
    st.psum_spad_writes += m;     // receiver writes the sum
}

void ofmap_index_range(const Ctx& ctx, const PeSlot& p, int64_t x, int64_t& base, int64_t& stride) {
    const core::LayerShape& s = ctx.s;
    const int64_t pi = x / p.q_count, xi = x % p.q_count;
    base = ((p.n * s.M + p.g * ctx.Mg + p.m_first) * s.P + p.p_first + pi) * s.Q + p.q_first + xi;
    stride = s.P * s.Q;
}

/// Builds one pass: PE jobs, chains, weight loads (counted here for both fidelities).
Pass build_pass(const Ctx& ctx, const std::vector<OutputTile>& tiles, int64_t chunk, int64_t step,
                std::vector<int64_t>& resident, std::unordered_map<int64_t, WeightMatrix>& wcache,
                V2Stats& st) {
    const core::LayerShape& s = ctx.s;
    const V2Mapping& m = ctx.m;
    const core::V2Params& v2 = ctx.a.v2;
    const V2Tiling t = v2_tiling(s, m);
    const int64_t h = t.height;
    const int64_t rows = v2.clusters.pe_rows, pcols = v2.clusters.pe_cols;
    const int64_t cpc = pcols * (rows / h);
    // reduction step -> (channel block, filter-row block, column block), column innermost
    const int64_t sb = step % t.s_blocks;
    const int64_t rb = (step / t.s_blocks) % t.r_blocks;
    const int64_t cb = step / (t.s_blocks * t.r_blocks);
    Pass pass;
    const int64_t first = chunk * m.chains;
    const int64_t count = std::min(m.chains, t.output_tiles - first);
    std::map<std::pair<int64_t, int64_t>, int64_t> col_share;
    for (int64_t j = 0; j < count; ++j) {
        const OutputTile& ot = tiles[static_cast<size_t>(first + j)];
        ChainSlot ch;
        ch.cluster = j / cpc;
        const int64_t local = j % cpc;
        ch.col = local % pcols;
        const int64_t level = local / pcols;
        ch.acc_in = step > 0;
        for (int64_t v = 0; v < h; ++v) {
            const int64_t r = rb * m.fr + v % m.fr;
            const int64_t ct = cb * m.cv + v / m.fr;
            if (r >= s.R || ct >= t.c_tiles) continue;
            PeSlot p;
            p.cluster = ch.cluster, p.row = level * h + v, p.col = ch.col;
            p.phys = (p.cluster * rows + p.row) * pcols + p.col;
            p.n = ot.n, p.g = ot.g;
            p.c_first = ct * m.c0, p.c_count = std::min(m.c0, ctx.Cg - p.c_first);
            p.r = r;
            p.s_first = sb * m.s0, p.s_count = std::min(m.s0, s.S - p.s_first);
            p.m_first = ot.mt * m.m0, p.m_count = std::min(m.m0, ctx.Mg - p.m_first);
            p.p_first = ot.pb * m.e0, p.p_count = std::min(m.e0, s.P - p.p_first);
            p.q_first = ot.qb * m.q0, p.q_count = std::min(m.q0, s.Q - p.q_first);
            p.wkey = (((ot.g * t.m_tiles + ot.mt) * t.c_tiles + ct) * s.R + r) * t.s_blocks + sb;
            p.skey = (((((ot.n * s.G + ot.g) * t.c_tiles + ct) * t.p_blocks + ot.pb) * s.R + r) *
                          t.q_blocks +
                      ot.qb) *
                         t.s_blocks +
                     sb;
            ch.pes.push_back(static_cast<int>(pass.pes.size()));
            pass.pes.push_back(p);
        }
        ++col_share[{ch.cluster, ch.col}];
        pass.chains.push_back(std::move(ch));
    }
    // Psum transfer times: PE-to-PE hops on a dedicated psum port; the GLB port of a column's
    // psum router is shared by the chains of that column.
    const int64_t pbits = v2.pe.psum_bits, port = v2.routers.psum_port_bits;
    for (ChainSlot& ch : pass.chains) {
        ch.share = col_share[{ch.cluster, ch.col}];
        const int64_t mc = pass.pes[static_cast<size_t>(ch.pes.front())].m_count;
        ch.t_hop = ceil_div(mc * pbits, port);
        ch.t_glb = ceil_div(mc * pbits * ch.share, port);
    }
    // Iact streams: distinct per cluster; the first PE of each is the GLB-read representative.
    std::map<int64_t, std::map<int64_t, int>> streams;  // cluster -> key -> first PE
    for (size_t i = 0; i < pass.pes.size(); ++i) {
        PeSlot& p = pass.pes[i];
        auto& ks = streams[p.cluster];
        p.stream_rep = ks.emplace(p.skey, static_cast<int>(i)).second;
    }
    for (PeSlot& p : pass.pes) p.streams = static_cast<int64_t>(streams[p.cluster].size());
    // Weights: PEs whose resident matrix differs load it; one transfer per distinct matrix per
    // weight router (cluster, PE row); one off-chip read per distinct matrix chip-wide.
    std::map<std::pair<int64_t, int64_t>, std::map<int64_t, int64_t>> router_keys;
    std::map<int64_t, bool> global_keys;
    const int64_t simd = ctx.simd;
    for (PeSlot& p : pass.pes) {
        auto it = wcache.find(p.wkey);
        if (it == wcache.end()) {
            WeightMatrix wm;
            wm.build(ctx.w, ctx.Cg, s.R, s.S, p.g * ctx.Mg + p.m_first, p.m_count, p.c_first,
                     p.c_count, p.r, p.s_first, p.s_count, ctx.compressed, ctx.a.v2.csc.count_bits,
                     simd);
            it = wcache.emplace(p.wkey, std::move(wm)).first;
        }
        p.wm = &it->second;
        int64_t& res = resident[static_cast<size_t>(p.phys)];
        p.needs_weights = res != p.wkey;
        res = p.wkey;
        if (!p.needs_weights) continue;
        const WeightMatrix& wm = *p.wm;
        const int64_t items = wm.pairs;
        const int64_t addrs = ctx.compressed ? wm.cols() : 0;
        const int64_t bits = ctx.compressed ? items * ctx.pair_bits + addrs * ctx.weight_addr_bits
                                            : items * ctx.item_bits;
        st.weight_noc_items_delivered += items;
        st.weight_data_spad_writes += wm.words;
        st.weight_addr_spad_writes += addrs;
        st.csc_filler_pairs += wm.fillers;
        auto& rk = router_keys[{p.cluster, p.row}];
        if (rk.emplace(p.wkey, bits).second) st.weight_noc_items_sent += items;
        if (global_keys.emplace(p.wkey, true).second) {
            st.weight_offchip_items += items;
            st.weight_offchip_addrs += addrs;
        }
    }
    st.weight_mesh_items = 0;  // set below from sent - offchip (per pass)
    std::map<std::pair<int64_t, int64_t>, int64_t> router_ready;
    for (const auto& [router, keys] : router_keys) {
        int64_t bits = 0;
        for (const auto& kv : keys) bits += kv.second;
        const int64_t ready = ceil_div(bits, v2.routers.weight_port_bits);
        router_ready[router] = ready;
        pass.weight_load = std::max(pass.weight_load, ready);
    }
    for (PeSlot& p : pass.pes)
        p.weight_ready = p.needs_weights ? router_ready[{p.cluster, p.row}] : 0;
    st.weight_mesh_items = st.weight_noc_items_sent - st.weight_offchip_items;
    st.weight_load_cycles += pass.weight_load;
    return pass;
}

// ---------------------------------------------------------------------------------------------
// Fast fidelity: the timing rules as recurrences.

/// Computes window x of PE p into psum (zeroed here); `words` gets its pipeline words.
void compute_window_fast(const Ctx& ctx, const PeSlot& p, int64_t x, int64_t* psum,
                         std::vector<int32_t>& words, V2Stats& st) {
    const WindowPos wp = window_pos(ctx, p, x);
    const WeightMatrix& wm = *p.wm;
    const int64_t mc = p.m_count;
    std::fill(psum, psum + mc, 0);
    words.clear();
    const int64_t dense_words = ceil_div(mc, ctx.simd);
    if (ctx.compressed) st.iact_addr_spad_reads += p.s_count;
    for (int64_t sc = 0; sc < p.s_count; ++sc) {
        const int64_t iw = wp.iw0 + sc;
        const bool ok = wp.row_ok && iw >= 0 && iw < ctx.s.W;
        const int16_t* px = ok ? iact_ptr(ctx, p, wp.ih, iw) : nullptr;
        for (int64_t c = 0; c < p.c_count; ++c) {
            const int64_t v = ok ? px[c * ctx.HW] : 0;
            const int64_t j = sc * p.c_count + c;
            const int32_t lo = wm.col_start[static_cast<size_t>(j)];
            const int32_t hi = wm.col_start[static_cast<size_t>(j) + 1];
            const int64_t nnz = wm.nnz[static_cast<size_t>(j)];
            if (ctx.skip) {
                if (v == 0) {
                    st.macs_skipped_iact += mc;
                    continue;
                }
                const int64_t wd = ceil_div(hi - lo, ctx.simd);
                words.push_back(static_cast<int32_t>(wd));
                ++st.iact_data_spad_reads;
                st.weight_addr_spad_reads += 2;
                st.weight_data_spad_reads += wd;
                st.macs_performed += nnz;
                st.macs_skipped_weight += mc - nnz;
                st.mac_lanes_idle += ctx.simd * wd - nnz;
                st.psum_spad_reads += nnz;
                st.psum_spad_writes += nnz;
                for (int32_t k = lo; k < hi; ++k) {
                    const int16_t row = wm.row[static_cast<size_t>(k)];
                    if (row >= 0) psum[row] += v * wm.value[static_cast<size_t>(k)];
                }
                continue;
            }
            words.push_back(static_cast<int32_t>(dense_words));
            ++st.iact_data_spad_reads;
            st.mac_lanes_idle += ctx.simd * dense_words - mc;
            if (ctx.gate && v == 0) {
                st.macs_gated_iact += mc;
                continue;
            }
            st.weight_data_spad_reads += dense_words;
            if (ctx.gate) {
                st.macs_performed += nnz;
                st.macs_gated_weight += mc - nnz;
                st.psum_spad_reads += nnz;
                st.psum_spad_writes += nnz;
            } else {
                st.macs_performed += mc;
                st.psum_spad_reads += mc;
                st.psum_spad_writes += mc;
            }
            const int16_t* wv = wm.value.data() + lo;
            for (int64_t k = 0; k < mc; ++k) psum[k] += v * wv[k];
        }
    }
}

int64_t run_pass_fast(const Ctx& ctx, const Pass& pass, V2Stats& st) {
    std::vector<NewColumn> cols;
    std::vector<int32_t> words;
    int64_t end = 0;
    const int64_t kInf = std::numeric_limits<int64_t>::min();
    for (const ChainSlot& ch : pass.chains) {
        const size_t h = ch.pes.size();
        const PeSlot& bottom = pass.pes[static_cast<size_t>(ch.pes.front())];
        const int64_t X = bottom.windows();
        const int64_t mc = bottom.m_count;
        const bool dbuf = psum_double_buffered(ctx, bottom);
        // Per PE, of the last window: compute start and done, when the front end takes the
        // next window, when weight-data stage 4 is free, data entries in the iact spad; when
        // its psum buffer is free again, for the last window and the one before.
        std::vector<int64_t> cstart(h, 0), done(h, 0), front(h, 0), bfree(h, 0), held(h, 0),
            free1(h, 0), free2(h, 0);
        std::vector<std::vector<int64_t>> psum(h, std::vector<int64_t>(static_cast<size_t>(mc)));
        int64_t glbin_end = 0, out_end = 0;
        for (int64_t x = 0; x < X; ++x) {
            for (size_t k = 0; k < h; ++k) {
                const PeSlot& p = pass.pes[static_cast<size_t>(ch.pes[k])];
                const int64_t bits = plan_load(ctx, p, x, cols, st);
                for (const NewColumn& nc : cols) count_delivery(ctx, nc, st);
                const int64_t L = load_cycles(ctx, p, bits);
                st.pe_load_cycles += L;
                // The load starts with the last window's compute if the spads have room for
                // both, else once it is done.
                const int64_t ls =
                    x == 0 ? 0 : (prefetch_fits(ctx, p, cols, held[k]) ? cstart[k] : done[k]);
                // The window enters the pipeline once loaded, its psum buffer free and the
                // front end done with the last window (whose words may still be issuing).
                int64_t cs = std::max(ls + L, x == 0 ? p.weight_ready : front[k]);
                if (x > 0) cs = std::max(cs, dbuf ? (x > 1 ? free2[k] : 0) : free1[k]);
                cstart[k] = cs;
                compute_window_fast(ctx, p, x, psum[k].data(), words, st);
                const WindowTiming wt =
                    window_times(words.data(), static_cast<int64_t>(words.size()), cs, bfree[k]);
                done[k] = wt.done, front[k] = wt.front_free, bfree[k] = wt.bfree;
                st.pe_busy_cycles += wt.done - cs;
                held[k] = static_cast<int64_t>(words.size());
            }
            int64_t base = 0, stride = 0;
            ofmap_index_range(ctx, bottom, x, base, stride);
            int64_t recv = kInf;
            if (ch.acc_in) {
                const int64_t start = std::max(glbin_end, done[0]);
                glbin_end = start + ch.t_glb;
                recv = glbin_end;
                for (int64_t i = 0; i < mc; ++i)
                    psum[0][static_cast<size_t>(i)] +=
                        (*ctx.ofmap)[static_cast<size_t>(base + i * stride)];
                st.psum_glb_reads += mc;
                st.psum_spad_reads += mc;
                st.psum_spad_writes += mc;
            }
            for (size_t k = 0; k + 1 < h; ++k) {
                const int64_t ready = std::max(done[k], recv);
                const int64_t start = std::max({ready, done[k + 1], free1[k]});
                const int64_t e = start + ch.t_hop;
                free2[k] = free1[k], free1[k] = e;
                recv = e;
                for (int64_t i = 0; i < mc; ++i)
                    psum[k + 1][static_cast<size_t>(i)] += psum[k][static_cast<size_t>(i)];
                count_chain_hop(mc, st);
            }
            const int64_t ready = std::max(done[h - 1], recv);
            out_end = std::max(ready, out_end) + ch.t_glb;
            free2[h - 1] = free1[h - 1], free1[h - 1] = out_end;
            for (int64_t i = 0; i < mc; ++i)
                (*ctx.ofmap)[static_cast<size_t>(base + i * stride)] =
                    psum[h - 1][static_cast<size_t>(i)];
            st.psum_glb_writes += mc;
            st.psum_spad_reads += mc;
        }
        end = std::max(end, out_end);
    }
    return end;
}

// ---------------------------------------------------------------------------------------------
// Cycle fidelity: every PE, weight router, iact port and psum link stepped one cycle at a time.

struct LoadItem {
    int32_t s = 0;   ///< window column
    int32_t c = -1;  ///< channel (-1: the column's CSC address)
    int16_t value = 0;
    int32_t bits = 0;
};

struct CycPe {
    const PeSlot* p = nullptr;
    int64_t xl = 0, xc = 0;  ///< next window to load / to compute
    bool loading = false;
    int64_t credit = 0, load_start = 0;
    std::vector<LoadItem> items;
    size_t pos = 0;
    std::vector<int64_t> load_end, comp_start, comp_done, recv_end,
        psum_free;                                              ///< per window, -1 unknown
    std::vector<std::vector<std::pair<int16_t, int16_t>>> seg;  ///< iact spad: (c, value)
    PePipeline pipe;
    /// (iact, weight column) of the windows in the pipe, by window parity
    std::vector<std::pair<int16_t, int32_t>> citems[2];
    std::vector<std::vector<int64_t>> psum;  ///< psum spad: one buffer, or two (window parity)
    std::vector<NewColumn> next_cols;        ///< scratch: the next load's columns
    int64_t held = 0;                        ///< data entries of the window being computed
    int64_t fit_x = -1;                      ///< window whose prefetch_fits is in `fits`
    bool fits = false;
    std::vector<int64_t>& buf(int64_t x) { return psum[static_cast<size_t>(x) % psum.size()]; }
};

/// A psum transfer of one chain: GLB-in (src -1), hop k -> k+1, or out to the GLB (dst -1).
struct Link {
    int src = -1, dst = -1;  ///< chain positions
    int64_t x = 0;           ///< window of the transfer in progress or next
    bool active = false;
    int64_t end = 0, dur = 1;
};

bool known_le(int64_t t, int64_t c) { return t >= 0 && t <= c; }

void start_load(const Ctx& ctx, CycPe& q, int64_t c, std::vector<NewColumn>& cols, V2Stats& st) {
    const PeSlot& p = *q.p;
    plan_load(ctx, p, q.xl, cols, st);
    const WindowPos wp = window_pos(ctx, p, q.xl);
    // Slide: the kept columns move down by the stride; the new ones start empty.
    const int64_t keep = wp.new_from, shift = p.s_count - keep;
    for (int64_t sc = 0; sc < keep; ++sc)
        q.seg[static_cast<size_t>(sc)] = std::move(q.seg[static_cast<size_t>(sc + shift)]);
    for (int64_t sc = keep; sc < p.s_count; ++sc) q.seg[static_cast<size_t>(sc)].clear();
    q.items.clear();
    for (const NewColumn& nc : cols) {
        auto& sg = q.seg[static_cast<size_t>(nc.s)];
        if (!nc.in_range) {  // padding, written by the PE itself (counted in plan_load)
            if (!ctx.compressed)
                for (int64_t ch = 0; ch < p.c_count; ++ch)
                    sg.emplace_back(static_cast<int16_t>(ch), int16_t{0});
            continue;
        }
        const int16_t* px = iact_ptr(ctx, p, wp.ih, wp.iw0 + nc.s);
        if (ctx.compressed)
            q.items.push_back(LoadItem{static_cast<int32_t>(nc.s), -1, 0,
                                       static_cast<int32_t>(ctx.iact_addr_bits)});
        for (int64_t ch = 0; ch < p.c_count; ++ch) {
            const int16_t v = px[ch * ctx.HW];
            if (ctx.compressed && v == 0) continue;
            q.items.push_back(
                LoadItem{static_cast<int32_t>(nc.s), static_cast<int32_t>(ch), v,
                         static_cast<int32_t>(ctx.compressed ? ctx.pair_bits : ctx.item_bits)});
        }
    }
    q.pos = 0, q.credit = 0, q.load_start = c;
    if (q.items.empty()) {
        q.load_end[static_cast<size_t>(q.xl)] = c;
        ++q.xl;
    } else {
        q.loading = true;
    }
}

void step_load(const Ctx& ctx, CycPe& q, int64_t c, V2Stats& st) {
    q.credit += ctx.iact_rate;
    while (q.pos < q.items.size() && q.items[q.pos].bits * q.p->streams <= q.credit) {
        const LoadItem& it = q.items[q.pos++];
        q.credit -= it.bits * q.p->streams;
        if (it.c < 0) {
            ++st.iact_addr_spad_writes;
            continue;
        }
        ++st.iact_noc_items_delivered;
        ++st.iact_data_spad_writes;
        q.seg[static_cast<size_t>(it.s)].emplace_back(static_cast<int16_t>(it.c), it.value);
    }
    if (q.pos == q.items.size()) {
        q.loading = false;
        q.load_end[static_cast<size_t>(q.xl)] = c + 1;
        st.pe_load_cycles += c + 1 - q.load_start;
        ++q.xl;
    }
}

/// prefetch_fits for the next load while window xl - 1 computes (computed once per window).
bool prefetch_ok(const Ctx& ctx, CycPe& q, V2Stats& st) {
    if (q.fit_x != q.xl) {
        plan_load(ctx, *q.p, q.xl, q.next_cols, st, false);
        q.fits = prefetch_fits(ctx, *q.p, q.next_cols, q.held);
        q.fit_x = q.xl;
    }
    return q.fits;
}

/// Records the windows whose psums the pipeline completed.
void finish_windows(CycPe& q, V2Stats& st) {
    int64_t x = 0, done = 0;
    while (q.pipe.pop_done(x, done)) {
        q.comp_done[static_cast<size_t>(x)] = done;
        st.pe_busy_cycles += done - q.comp_start[static_cast<size_t>(x)];
    }
}

void start_compute(const Ctx& ctx, CycPe& q, int64_t c, V2Stats& st) {
    const PeSlot& p = *q.p;
    const WeightMatrix& wm = *p.wm;
    const int64_t mc = p.m_count;
    std::vector<int32_t> words;
    auto& citems = q.citems[q.xc & 1];
    citems.clear();
    std::fill(q.buf(q.xc).begin(), q.buf(q.xc).end(), 0);
    if (ctx.compressed) st.iact_addr_spad_reads += p.s_count;
    for (int64_t sc = 0; sc < p.s_count; ++sc) {
        const auto& sg = q.seg[static_cast<size_t>(sc)];
        if (ctx.skip)  // zeros never reached the spad: their MAC slots are skipped
            st.macs_skipped_iact += mc * (p.c_count - static_cast<int64_t>(sg.size()));
        for (const auto& [ch, v] : sg) {
            const int64_t j = sc * p.c_count + ch;
            ++st.iact_data_spad_reads;
            if (ctx.skip) {
                st.weight_addr_spad_reads += 2;
                st.macs_skipped_weight += mc - wm.nnz[static_cast<size_t>(j)];
            }
            words.push_back(static_cast<int32_t>(wm.words_in(j, ctx.simd)));
            citems.emplace_back(v, static_cast<int32_t>(j));
        }
    }
    q.comp_start[static_cast<size_t>(q.xc)] = c;
    q.held = static_cast<int64_t>(citems.size());
    q.pipe.start(c, words, q.xc);
    ++q.xc;
    finish_windows(q, st);  // an empty window is done at once
}

/// The MACs of one weight word issued by the pipeline.
void issue_word(const Ctx& ctx, CycPe& q, V2Stats& st) {
    const int64_t x = q.pipe.issued_window();
    const auto& [v, j] = q.citems[x & 1][static_cast<size_t>(q.pipe.issued_item())];
    const WeightMatrix& wm = *q.p->wm;
    const int64_t lo = wm.col_start[static_cast<size_t>(j)],
                  hi = wm.col_start[static_cast<size_t>(j) + 1];
    const bool gated_iact = ctx.gate && v == 0;
    if (!gated_iact) ++st.weight_data_spad_reads;
    for (int64_t l = 0; l < ctx.simd; ++l) {
        const int64_t k = lo + q.pipe.issued_word() * ctx.simd + l;
        if (k >= hi || wm.row[static_cast<size_t>(k)] < 0) {
            ++st.mac_lanes_idle;
            continue;
        }
        const int16_t w = wm.value[static_cast<size_t>(k)];
        if (gated_iact) {
            ++st.macs_gated_iact;
            continue;
        }
        if (ctx.gate && w == 0) {
            ++st.macs_gated_weight;
            continue;
        }
        ++st.macs_performed;
        ++st.psum_spad_reads;
        ++st.psum_spad_writes;
        q.buf(x)[static_cast<size_t>(wm.row[static_cast<size_t>(k)])] +=
            static_cast<int64_t>(v) * static_cast<int64_t>(w);
    }
}

int64_t run_pass_cycle(const Ctx& ctx, const Pass& pass, V2Stats& st) {
    const core::V2Params& v2 = ctx.a.v2;
    std::vector<CycPe> pes(pass.pes.size());
    for (size_t i = 0; i < pes.size(); ++i) {
        CycPe& q = pes[i];
        q.p = &pass.pes[i];
        const size_t X = static_cast<size_t>(q.p->windows());
        q.load_end.assign(X, -1), q.comp_start.assign(X, -1), q.comp_done.assign(X, -1),
            q.recv_end.assign(X, -1), q.psum_free.assign(X, -1);
        q.seg.assign(static_cast<size_t>(q.p->s_count), {});
        q.psum.assign(psum_double_buffered(ctx, *q.p) ? 2 : 1,
                      std::vector<int64_t>(static_cast<size_t>(q.p->m_count), 0));
    }
    // Weight routers: port bits of credit per cycle until their distinct matrices are in.
    struct Router {
        int64_t bits = 0, credit = 0;
        std::vector<int> pes;
        bool done = false;
    };
    std::map<std::pair<int64_t, int64_t>, Router> routers;
    std::map<std::pair<int64_t, int64_t>, std::map<int64_t, int64_t>> keys;
    std::vector<int64_t> weight_ready(pes.size(), 0);
    for (size_t i = 0; i < pes.size(); ++i) {
        const PeSlot& p = pass.pes[i];
        if (!p.needs_weights) continue;
        const WeightMatrix& wm = *p.wm;
        const int64_t bits = ctx.compressed
                                 ? wm.pairs * ctx.pair_bits + wm.cols() * ctx.weight_addr_bits
                                 : wm.pairs * ctx.item_bits;
        keys[{p.cluster, p.row}].emplace(p.wkey, bits);
        routers[{p.cluster, p.row}].pes.push_back(static_cast<int>(i));
        weight_ready[i] = -1;
    }
    for (auto& [k, r] : routers)
        for (const auto& kv : keys[k]) r.bits += kv.second;
    std::vector<std::vector<Link>> links(pass.chains.size());
    for (size_t ci = 0; ci < pass.chains.size(); ++ci) {
        const ChainSlot& ch = pass.chains[ci];
        const int h = static_cast<int>(ch.pes.size());
        if (ch.acc_in) links[ci].push_back(Link{-1, 0, 0, false, 0, ch.t_glb});
        for (int k = 0; k + 1 < h; ++k) links[ci].push_back(Link{k, k + 1, 0, false, 0, ch.t_hop});
        links[ci].push_back(Link{h - 1, -1, 0, false, 0, ch.t_glb});
    }
    std::vector<NewColumn> cols;
    int64_t pass_end = 0;
    for (int64_t c = 0;; ++c) {
        // Retire transfers that ended; stop when every chain has sent its last window out.
        bool all_out = true;
        for (size_t ci = 0; ci < links.size(); ++ci) {
            for (Link& l : links[ci])
                if (l.active && l.end <= c) l.active = false, ++l.x;
            const Link& out = links[ci].back();
            const CycPe& top = pes[static_cast<size_t>(pass.chains[ci].pes.back())];
            if (out.x < top.p->windows()) all_out = false;
        }
        if (all_out) return pass_end;
        // Starts, iterated to a fixed point (zero-length loads enable same-cycle starts).
        for (bool changed = true; changed;) {
            changed = false;
            for (size_t i = 0; i < pes.size(); ++i) {
                CycPe& q = pes[i];
                const int64_t X = q.p->windows();
                // Load window xl once the last one's compute is done, or as it starts if the
                // spads hold both (prefetch_fits, as the fast fidelity).
                if (!q.loading && q.xl < X &&
                    (q.xl == 0 || known_le(q.comp_done[static_cast<size_t>(q.xl - 1)], c) ||
                     (q.xc >= q.xl && prefetch_ok(ctx, q, st)))) {
                    start_load(ctx, q, c, cols, st);
                    changed = true;
                }
                const auto psum_ready = [&] {
                    const int64_t x = q.xc, back = q.psum.size() == 2 ? 2 : 1;
                    return x < back || known_le(q.psum_free[static_cast<size_t>(x - back)], c);
                };
                if (q.xc < X && known_le(q.load_end[static_cast<size_t>(q.xc)], c) &&
                    (q.xc == 0 ? known_le(weight_ready[i], c) : known_le(q.pipe.front_free(), c)) &&
                    psum_ready()) {
                    start_compute(ctx, q, c, st);
                    changed = true;
                }
            }
            for (size_t ci = 0; ci < links.size(); ++ci) {
                const ChainSlot& ch = pass.chains[ci];
                for (Link& l : links[ci]) {
                    const int64_t X = pes[static_cast<size_t>(ch.pes.front())].p->windows();
                    if (l.active || l.x >= X) continue;
                    const size_t x = static_cast<size_t>(l.x);
                    auto ready = [&](int k) {
                        const CycPe& q = pes[static_cast<size_t>(ch.pes[static_cast<size_t>(k)])];
                        const bool has_src = k > 0 || ch.acc_in;
                        return known_le(q.comp_done[x], c) &&
                               (!has_src || known_le(q.recv_end[x], c));
                    };
                    const int64_t mc = pes[static_cast<size_t>(ch.pes.front())].p->m_count;
                    if (l.src < 0) {  // GLB -> bottom PE
                        CycPe& b = pes[static_cast<size_t>(ch.pes.front())];
                        if (!known_le(b.comp_done[x], c)) continue;
                        l.active = true, l.end = c + l.dur;
                        b.recv_end[x] = l.end;
                        st.psum_glb_reads += mc;
                        st.psum_spad_reads += mc;
                        st.psum_spad_writes += mc;
                    } else if (l.dst >= 0) {  // PE k -> PE k+1
                        CycPe& a = pes[static_cast<size_t>(ch.pes[static_cast<size_t>(l.src)])];
                        CycPe& b = pes[static_cast<size_t>(ch.pes[static_cast<size_t>(l.dst)])];
                        if (!ready(l.src) || !known_le(b.comp_done[x], c)) continue;
                        l.active = true, l.end = c + l.dur;
                        a.psum_free[x] = l.end;
                        b.recv_end[x] = l.end;
                        count_chain_hop(mc, st);
                    } else {  // top PE -> GLB
                        CycPe& a = pes[static_cast<size_t>(ch.pes[static_cast<size_t>(l.src)])];
                        if (!ready(l.src)) continue;
                        l.active = true, l.end = c + l.dur;
                        a.psum_free[x] = l.end;
                        pass_end = std::max(pass_end, l.end);
                        st.psum_glb_writes += mc;
                        st.psum_spad_reads += mc;
                    }
                    changed = true;
                }
            }
        }
        // The cycle's work.
        for (auto& [k, r] : routers) {
            if (r.done) continue;
            r.credit += v2.routers.weight_port_bits;
            if (r.credit >= r.bits) {
                r.done = true;
                for (int i : r.pes) weight_ready[static_cast<size_t>(i)] = c + 1;
            }
        }
        for (CycPe& q : pes) {
            if (q.loading) step_load(ctx, q, c, st);
            if (q.pipe.active()) {
                if (q.pipe.step(c)) issue_word(ctx, q, st);
                finish_windows(q, st);
            }
        }
        for (size_t ci = 0; ci < links.size(); ++ci) {
            const ChainSlot& ch = pass.chains[ci];
            for (const Link& l : links[ci]) {
                if (!l.active || l.end != c + 1) continue;  // data moves in the last cycle
                int64_t base = 0, stride = 0;
                const PeSlot& bp = *pes[static_cast<size_t>(ch.pes.front())].p;
                ofmap_index_range(ctx, bp, l.x, base, stride);
                if (l.src < 0) {
                    auto& ps = pes[static_cast<size_t>(ch.pes.front())].buf(l.x);
                    for (size_t i = 0; i < ps.size(); ++i)
                        ps[i] += (*ctx.ofmap)[static_cast<size_t>(base + static_cast<int64_t>(i) *
                                                                             stride)];
                } else if (l.dst >= 0) {
                    const auto& a =
                        pes[static_cast<size_t>(ch.pes[static_cast<size_t>(l.src)])].buf(l.x);
                    auto& b = pes[static_cast<size_t>(ch.pes[static_cast<size_t>(l.dst)])].buf(l.x);
                    for (size_t i = 0; i < a.size(); ++i) b[i] += a[i];
                } else {
                    const auto& a =
                        pes[static_cast<size_t>(ch.pes[static_cast<size_t>(l.src)])].buf(l.x);
                    for (size_t i = 0; i < a.size(); ++i)
                        (*ctx.ofmap)[static_cast<size_t>(base + static_cast<int64_t>(i) * stride)] =
                            a[i];
                }
            }
        }
    }
}

}  // namespace

std::vector<int64_t> reference_conv_int64(const core::LayerShape& s, const int16_t* in,
                                          const int16_t* w) {
    std::vector<int64_t> out(static_cast<size_t>(s.ofmap_elems()), 0);
    const int64_t cg = s.c_per_group(), mg = s.m_per_group();
    for (int64_t n = 0; n < s.N; ++n)
        for (int64_t m = 0; m < s.M; ++m)
            for (int64_t y = 0; y < s.P; ++y)
                for (int64_t x = 0; x < s.Q; ++x) {
                    int64_t acc = 0;
                    const int64_t grp = m / mg;
                    for (int64_t ci = 0; ci < cg; ++ci)
                        for (int64_t r = 0; r < s.R; ++r)
                            for (int64_t k = 0; k < s.S; ++k) {
                                const int64_t h = y * s.Hstride - s.Hpad + r;
                                const int64_t c = x * s.Wstride - s.Wpad + k;
                                if (h < 0 || h >= s.H || c < 0 || c >= s.W) continue;
                                acc += static_cast<int64_t>(
                                           in[((n * s.C + grp * cg + ci) * s.H + h) * s.W + c]) *
                                       static_cast<int64_t>(w[((m * cg + ci) * s.R + r) * s.S + k]);
                            }
                    out[static_cast<size_t>(((n * s.M + m) * s.P + y) * s.Q + x)] = acc;
                }
    return out;
}

V2Result run_layer_v2(const core::LayerShape& shape, const V2Mapping& mapping,
                      const core::ArchConfig& arch, const int16_t* ifmap, const int16_t* weight,
                      const V2RunOptions& options) {
    if (auto why = check_v2_mapping(shape, mapping, arch))
        throw core::InputError("mapping", *why + " (" + to_string(mapping) + ")");
    V2Result res;
    res.mapping = mapping;
    res.ofmap.assign(static_cast<size_t>(shape.ofmap_elems()), 0);
    const core::V2Params& v2 = arch.v2;
    Ctx ctx{shape, mapping, arch, ifmap, weight, false, false, false, 0,
            0,     0,       0,    0,     0,      0,     0,     0,     &res.ofmap};
    ctx.skip = arch.zero_mode == core::ZeroMode::kSkip;
    ctx.gate = arch.zero_mode == core::ZeroMode::kGate;
    ctx.compressed = ctx.skip;
    ctx.simd = v2.pe.macs_per_cycle;
    ctx.Cg = shape.c_per_group(), ctx.Mg = shape.m_per_group();
    ctx.HW = shape.H * shape.W;
    ctx.iact_rate = v2.routers.iact_routers * v2.routers.iact_port_bits;
    ctx.item_bits = arch.word_bits;
    ctx.pair_bits = v2.csc.pair_bits();
    ctx.iact_addr_bits = v2.csc.iact_addr_bits;
    ctx.weight_addr_bits = v2.csc.weight_addr_bits;
    const V2Tiling t = v2_tiling(shape, mapping);
    const std::vector<OutputTile> tiles = output_tiles(shape, mapping);
    std::vector<int64_t> resident(
        static_cast<size_t>(v2.clusters.count() * v2.clusters.pes_per_cluster()), -1);
    std::unordered_map<int64_t, WeightMatrix> wcache;
    const int64_t steps = t.reduction_steps();
    for (int64_t chunk = 0; chunk < t.chunks; ++chunk)
        for (int64_t step = 0; step < steps; ++step) {
            V2PassRecord rec;
            rec.chunk = chunk, rec.reduction_step = step;
            rec.accumulate_in = step > 0;
            rec.last_contribution = step == steps - 1;
            const Pass pass = build_pass(ctx, tiles, chunk, step, resident, wcache, rec.stats);
            rec.weight_load_cycles = pass.weight_load;
            rec.cycles = options.fidelity == Fidelity::kCycle ? run_pass_cycle(ctx, pass, rec.stats)
                                                              : run_pass_fast(ctx, pass, rec.stats);
            rec.stats.cycles = rec.cycles;
            rec.stats.passes = 1;
            res.stats += rec.stats;
            res.passes.push_back(std::move(rec));
        }
    const V2Stats& st = res.stats;
    res.iact_noc_mode = core::to_string(core::NocMode::kUnicast);
    res.psum_noc_mode = core::to_string(core::NocMode::kUnicast);
    const int64_t clusters_used = std::min<int64_t>(
        v2.clusters.count(), ceil_div(std::min(mapping.chains, t.output_tiles),
                                      chain_slots(v2, t.height) / v2.clusters.count()));
    core::NocMode wmode = core::NocMode::kUnicast;
    if (st.weight_offchip_items > 0 && st.weight_noc_items_sent > st.weight_offchip_items)
        wmode =
            clusters_used > 1 && st.weight_noc_items_sent >= st.weight_offchip_items * clusters_used
                ? core::NocMode::kBroadcast
                : core::NocMode::kGroupedMulticast;
    res.weight_noc_mode = core::to_string(wmode);
    return res;
}

}  // namespace actsparse::hw::v2
