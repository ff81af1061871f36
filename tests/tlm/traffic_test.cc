// What crosses DRAM, the GLB and the NoC for strip-mined layers, counted by hand: a filter
// block resident in the GLB is not reloaded, padding is never transferred, and column
// strips read exactly their real windows.
#include <gtest/gtest.h>

#include <random>

#include "core/trace.h"
#include "tlm/mapper.h"
#include "tlm/simulate.h"
#include "tlm/tiling.h"

namespace actsparse::tlm {
namespace {

core::Trace synth(const std::string& spec, double density, uint64_t seed) {
    core::SynthOptions o;
    o.density = density;
    o.seed = seed;
    core::Trace t = core::synth_trace(core::LayerShape::parse_spec(spec), o, 8);
    t.layer = spec;
    return t;
}

SimOptions plain_dram() {
    SimOptions o;
    o.arch = core::load_arch("eyeriss-v1");
    o.arch.dram.rlc = false;  // words are then exactly the values moved
    return o;
}

hw::Mapping array(int64_t p, int64_t q, int64_t e, int64_t r, int64_t t) {
    hw::Mapping m;
    m.p = p;
    m.q = q;
    m.e = e;
    m.r = r;
    m.t = t;
    m.filter_rows = 3;
    m.filter_cols = 3;
    return m;
}

// Filter block (groups, filters, channels) of consecutive chunks: loaded once while it
// stays the same, reloaded when the chunk before used another one. Layer: N=2, C=8,
// M=16, 3x3 -> W = 16*8*9 = 1152 filter words; every DMA span (one filter's c channels,
// c*18 bytes) is a whole number of 8-byte bus words, so DRAM words = filter words.
TEST(Traffic, ResidentFilterBlockIsNotReloaded) {
    SimOptions o = plain_dram();
    const core::Trace t = synth("N=2,C=8,M=16,R=3,S=3,P=8,Q=8,pad=1", 0.5, 1);
    struct Case {
        GlbTiling glb;
        int64_t filter_words;  // by hand
    };
    const Case cases[] = {
        // One (m, c) block: resident across the 2 row strips and the 2 images -> 1152.
        {{1, 1, 16, 8, 4, 0}, 1152},
        // ... and across 2 row x 2 column strips: still 1152.
        {{1, 1, 16, 8, 4, 4}, 1152},
        // Two filter blocks (m = 8) alternate: every one of the 2 x 2 x 2 chunks loads its
        // 8 x 8 x 9 = 576 words -> 4608 (what every layer paid before).
        {{1, 1, 8, 8, 4, 0}, 4608},
        // Two channel blocks (c = 4): 8 chunks of 16 x 4 x 9 = 576 -> 4608.
        {{1, 1, 16, 4, 4, 0}, 4608},
    };
    for (const Case& c : cases) {
        o.mapping = LayerMapping{c.glb, array(8, 4, 4, 1, 1)};
        ASSERT_FALSE(check_layer_mapping(t.shape, *o.mapping, o.arch)) << to_json(c.glb).dump();
        const LayerResult r = simulate_layer(t, o);
        EXPECT_EQ(r.accesses.dram_filter_reads, c.filter_words) << to_json(c.glb).dump();
        EXPECT_EQ(r.accesses.glb_filter_writes, c.filter_words) << to_json(c.glb).dump();
        EXPECT_EQ(estimate(t.shape, *o.mapping, o.arch, 0.5).dram_filter_words, c.filter_words)
            << to_json(c.glb).dump();
        EXPECT_EQ(r.ofmap, t.ofmap_acc);
    }
    // Groups: G = 2, W = 16*4*9 = 576. One chunk per group (g = 1) holds its group's block
    // across the strips, but the groups alternate within each image: 2 images x 576 = 1152.
    const core::Trace tg = synth("N=2,C=8,M=16,G=2,R=3,S=3,P=8,Q=8,pad=1", 0.5, 2);
    o.mapping = LayerMapping{{1, 1, 8, 4, 4, 0}, array(8, 4, 4, 1, 1)};
    ASSERT_FALSE(check_layer_mapping(tg.shape, *o.mapping, o.arch));
    const LayerResult rg = simulate_layer(tg, o);
    EXPECT_EQ(rg.accesses.dram_filter_reads, 1152);
    EXPECT_EQ(estimate(tg.shape, *o.mapping, o.arch, 0.5).dram_filter_words, 1152);
    // Both groups in one chunk (g = 2): resident for the whole layer -> 576.
    o.mapping = LayerMapping{{1, 2, 8, 4, 4, 0}, array(8, 4, 4, 1, 2)};
    ASSERT_FALSE(check_layer_mapping(tg.shape, *o.mapping, o.arch));
    const LayerResult rg2 = simulate_layer(tg, o);
    EXPECT_EQ(rg2.accesses.dram_filter_reads, 576);
    EXPECT_EQ(estimate(tg.shape, *o.mapping, o.arch, 0.5).dram_filter_words, 576);
    EXPECT_EQ(rg2.ofmap, tg.ofmap_acc);
}

// Padding is never transferred. Layer C=4, M=8, 3x3, 12x12, pad 1; array mapping p=8,
// q=4, e=4, r=1, t=1: one pass per 4 ofmap rows, each sending its distinct real input rows
// once (4 channels x 12 columns each). Row blocks 0-3, 4-7, 8-11 read input rows 0-4,
// 3-8, 7-11: 5 + 6 + 5 = 16 rows -> 16*4*12 = 768 GLB ifmap reads, whether the blocks are
// row strips of the GLB tiling (rows = 4) or passes within one chunk (rows = 12). PEs
// reading a real row: 12 per block less the one on the padding row in the first and last
// blocks = 34, each receiving 4*12 words -> 1632 NoC words. (Before the fix, a strip's
// padding row was a zero row: 18 rows sent, 864 reads, 1728 NoC words.)
TEST(Traffic, StripPaddingIsNotTransferred) {
    SimOptions o = plain_dram();
    const core::Trace t = synth("C=4,M=8,R=3,S=3,P=12,Q=12,pad=1", 0.7, 3);
    LayerResult r[2];
    const GlbTiling tilings[2] = {{1, 1, 8, 4, 12, 0}, {1, 1, 8, 4, 4, 0}};
    for (int i = 0; i < 2; ++i) {
        o.mapping = LayerMapping{tilings[i], array(8, 4, 4, 1, 1)};
        ASSERT_FALSE(check_layer_mapping(t.shape, *o.mapping, o.arch));
        r[i] = simulate_layer(t, o);
        EXPECT_EQ(r[i].ofmap, t.ofmap_acc);
        EXPECT_EQ(r[i].accesses.glb_ifmap_reads, 768) << i;
        EXPECT_EQ(r[i].accesses.noc_ifmap_words, 1632) << i;
    }
    EXPECT_EQ(r[0].accesses.ifmap_spad_ifmap_writes, r[1].accesses.ifmap_spad_ifmap_writes);
    EXPECT_EQ(r[0].accesses.mac_mac_performed, r[1].accesses.mac_mac_performed);
    EXPECT_EQ(r[0].accesses.mac_mac_gated, r[1].accesses.mac_mac_gated);
    // DRAM and GLB writes: the whole 12 x 12 map once without strips; the strips' real rows
    // (16 of them) with strips, never a padding row.
    EXPECT_EQ(r[0].accesses.dram_ifmap_reads, 12 * 4 * 12);
    EXPECT_EQ(r[1].accesses.dram_ifmap_reads, 16 * 4 * 12);
    EXPECT_EQ(r[1].accesses.glb_ifmap_writes, 16 * 4 * 12);
}

// Column strips: each strip reads its real input window (halo columns included, padding
// excluded) and the output is exact. Layer C=4, M=8, 3x3, P=Q=12, pad 1, cols = 4:
// strips 0-3, 4-7, 8-11 read columns 0-4, 3-8, 7-11 (5 + 6 + 5 = 16) of all 12 rows.
TEST(Traffic, ColumnStripsReadTheirRealWindows) {
    SimOptions o = plain_dram();
    const core::Trace t = synth("C=4,M=8,R=3,S=3,P=12,Q=12,pad=1", 0.6, 4);
    o.mapping = LayerMapping{{1, 1, 8, 4, 12, 4}, array(8, 4, 4, 1, 1)};
    ASSERT_FALSE(check_layer_mapping(t.shape, *o.mapping, o.arch));
    const LayerResult r = simulate_layer(t, o);
    EXPECT_EQ(r.ofmap, t.ofmap_acc);
    // 8-byte aligned streams: 5 and 6 columns (10, 12 bytes) take 16 bytes = 8 words.
    EXPECT_EQ(r.accesses.dram_ifmap_reads, 3 * 4 * 12 * 8);
    EXPECT_EQ(r.accesses.glb_ifmap_writes, 16 * 4 * 12);
    EXPECT_EQ(estimate(t.shape, *o.mapping, o.arch, 0.6).dram_ifmap_words, 16 * 4 * 12);
    // The ofmap: one 4-column stream per (filter, row, strip), 8 bytes each.
    EXPECT_EQ(r.accesses.dram_ofmap_writes, 8 * 12 * 3 * 4);
}

// Any tiling with row and column strips, both fidelities, all zero modes, RLC on: exact.
TEST(Traffic, StripMinedLayersAreExactInBothFidelities) {
    std::mt19937_64 rng(20261126);
    const char* specs[] = {"N=2,C=6,M=8,R=3,S=3,P=7,Q=9,pad=1",
                           "C=8,M=8,G=8,R=3,S=3,P=6,Q=7,stride=2,pad=1",
                           "C=4,M=6,G=2,R=5,S=5,P=5,Q=6,pad=2", "C=5,M=3,R=1,S=1,P=4,Q=9"};
    for (const char* spec : specs) {
        const core::Trace t = synth(spec, 0.5, rng());
        const core::LayerShape& s = t.shape;
        for (int trial = 0; trial < 3; ++trial) {
            const GlbTiling g{1 + static_cast<int64_t>(rng() % s.N),
                              1 + static_cast<int64_t>(rng() % s.G),
                              1 + static_cast<int64_t>(rng() % s.m_per_group()),
                              1 + static_cast<int64_t>(rng() % s.c_per_group()),
                              1 + static_cast<int64_t>(rng() % s.P),
                              1 + static_cast<int64_t>(rng() % s.Q)};
            SimOptions o;
            o.arch = core::load_arch("eyeriss-v1");
            o.arch.zero_mode = trial == 0   ? core::ZeroMode::kNone
                               : trial == 1 ? core::ZeroMode::kGate
                                            : core::ZeroMode::kSkip;
            o.mapping = LayerMapping{g, hw::default_mapping(chunk_shape(s, g), o.arch)};
            ASSERT_FALSE(check_layer_mapping(s, *o.mapping, o.arch)) << to_json(g).dump();
            const LayerResult fast = simulate_layer(t, o);
            o.fidelity = hw::Fidelity::kCycle;
            const LayerResult cyc = simulate_layer(t, o);
            EXPECT_EQ(fast.ofmap, t.ofmap_acc) << spec << " " << to_json(g).dump();
            EXPECT_EQ(cyc.ofmap, t.ofmap_acc) << spec << " " << to_json(g).dump();
            EXPECT_EQ(fast.accesses.to_json(), cyc.accesses.to_json()) << spec;
            EXPECT_EQ(fast.accesses.mac_mac_performed + fast.accesses.mac_mac_gated +
                          fast.accesses.mac_mac_skipped,
                      s.macs());
        }
    }
}

// Filters streamed one processing pass at a time (the chunk's filter block does not fit the
// filter part; JSSC 2017: the GLB "preloads the filters used by the next processing pass").
// Layer N=2, C=2, M=8, 2x2 (W = 8*2*4 = 64 words); array p=2, t=2, q=1, r=1, n=1: a pass
// holds 4 filters x 1 channel x 4 = 16 words. GLB chunk: both images, every filter and
// channel (64 words). Passes: 2 images x 2 filter blocks x 2 channel blocks = 8, each with
// other filters than the pass before, so 8 x 16 = 128 words cross DRAM and enter the GLB,
// twice the 64 a resident block needs. Each (filter, channel) span is 4 words = one 8-byte
// bus word, so DRAM words = filter words.
TEST(Traffic, StreamedFiltersAreReadOncePerPass) {
    SimOptions o = plain_dram();
    const core::Trace t = synth("N=2,C=2,M=8,R=2,S=2,P=4,Q=4", 0.5, 3);
    hw::Mapping am = array(2, 1, 4, 1, 2);
    am.filter_rows = 2;
    am.filter_cols = 2;
    o.mapping = LayerMapping{{2, 1, 8, 2, 4, 0}, am};
    for (const int64_t filter_bytes : {int64_t{64}, int64_t{8192}}) {
        o.arch.glb.filter_bytes = filter_bytes;  // 32 words: streamed; 4096: resident
        const int64_t want = filter_bytes == 64 ? 128 : 64;
        ASSERT_FALSE(check_layer_mapping(t.shape, *o.mapping, o.arch));
        const LayerResult r = simulate_layer(t, o);
        EXPECT_EQ(r.passes.size(), 8u);
        EXPECT_EQ(r.accesses.dram_filter_reads, want) << filter_bytes;
        EXPECT_EQ(r.accesses.glb_filter_writes, want) << filter_bytes;
        EXPECT_EQ(estimate(t.shape, *o.mapping, o.arch, 0.5).dram_filter_words, want);
        EXPECT_EQ(r.ofmap, t.ofmap_acc);
    }
    // Grouped, several filter and group chunks (g0, m0 > 0): G = 2, C = 4, M = 8, 2x2;
    // chunks of one group x 2 filters x both channels (16 words > the 8-word filter part),
    // passes of one filter x one channel (4 words, one 8-byte bus word): every weight
    // crosses DRAM once, 8 x 2 x 4 = 64 words, and simulate checks each pass's streamed
    // bytes against the chunk's own weights (model_bug otherwise).
    {
        SimOptions og = plain_dram();
        og.arch.glb.filter_bytes = 16;
        const core::Trace tg = synth("N=1,C=4,M=8,G=2,R=2,S=2,P=4,Q=4", 0.5, 4);
        hw::Mapping ag = array(1, 1, 4, 1, 1);
        ag.filter_rows = 2;
        ag.filter_cols = 2;
        og.mapping = LayerMapping{{1, 1, 2, 2, 4, 0}, ag};
        ASSERT_FALSE(check_layer_mapping(tg.shape, *og.mapping, og.arch));
        ASSERT_FALSE(footprint(tg.shape, og.mapping->glb, og.arch).filters_resident);
        const LayerResult r = simulate_layer(tg, og);
        EXPECT_EQ(r.accesses.dram_filter_reads, 64);
        EXPECT_EQ(r.accesses.glb_filter_writes, 64);
        EXPECT_EQ(r.ofmap, tg.ofmap_acc);
    }
    // A pass's filters must fit: 16 words do not fit a 12-word filter part.
    o.arch.glb.filter_bytes = 24;
    const auto why = check_layer_mapping(t.shape, *o.mapping, o.arch);
    ASSERT_TRUE(why.has_value());
    EXPECT_NE(why->find("processing pass's filters (16 words)"), std::string::npos) << *why;
}

}  // namespace
}  // namespace actsparse::tlm
