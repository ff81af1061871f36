// Tests of the Eyeriss v2-class array (hw/v2, docs/v2.md): the PE pipeline rule worked by
// hand, exactness against the int64 reference, equal counts in both fidelities, zero-skipping
// speed-up with iact and weight density, mappings of every built-in network, mapping JSON.
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "core/arch.h"
#include "core/error.h"
#include "core/network.h"
#include "hw/v2/array_v2.h"
#include "hw/v2/pe_v2.h"
#include "tests/hw/test_util.h"

namespace actsparse::hw::v2 {
namespace {

using test::random_layer;
using test::random_tensor;
using test::rng_for;
using test::uniform;

core::ArchConfig v2_arch(core::ZeroMode mode) {
    core::ArchConfig a = core::load_arch("eyeriss-v2");
    a.zero_mode = mode;
    return a;
}

const core::ZeroMode kModes[] = {core::ZeroMode::kNone, core::ZeroMode::kGate,
                                 core::ZeroMode::kSkip};

/// A random valid v2 mapping (the default one if none is found quickly).
V2Mapping random_v2_mapping(std::mt19937_64& g, const core::LayerShape& s,
                            const core::ArchConfig& a) {
    const char* orders[] = {"ngmpq", "ngpqm", "qpmgn", "mnpgq", "pqngm"};
    for (int tries = 0; tries < 400; ++tries) {
        V2Mapping m;
        m.m0 = uniform(g, 1, std::min<int64_t>(s.m_per_group(), 32));
        m.c0 = uniform(g, 1, std::min<int64_t>(s.c_per_group(), 16));
        m.s0 = uniform(g, 1, s.S);
        m.e0 = uniform(g, 1, s.P);
        m.q0 = uniform(g, 1, s.Q);
        m.fr = uniform(g, 1, std::min<int64_t>(s.R, 3));
        m.cv = uniform(g, 1, std::max<int64_t>(1, 3 / m.fr));
        m.order = orders[uniform(g, 0, 4)];
        const int64_t slots = chain_slots(a.v2, m.fr * m.cv);
        m.chains = uniform(g, 1, std::max<int64_t>(1, std::min<int64_t>(slots, 40)));
        if (!check_v2_mapping(s, m, a)) return m;
    }
    return default_v2_mapping(s, a);
}

struct Case {
    core::LayerShape s;
    std::vector<int16_t> in, w;
};

Case random_case(std::mt19937_64& g, int64_t max_pq = 7) {
    Case c;
    c.s = random_layer(g, max_pq);
    const double dens[] = {0.0, 0.1, 0.3, 0.5, 0.8, 1.0};
    c.in = random_tensor(g, c.s.ifmap_elems(), dens[uniform(g, 0, 5)], -128, 127);
    c.w = random_tensor(g, c.s.weight_elems(), dens[uniform(g, 0, 5)], -128, 127);
    return c;
}

// --- the PE pipeline, worked by hand ----------------------------------------------------------

// words = {3, 0, 1, 2}; times relative to the window start, stages 1-2 fetch an iact per cycle,
// stage 3 reads the weight address, stage 4 issues one weight word per cycle, 5-7 follow.
//   iact 0 reaches stage 3 at d = 2; B free: b = 3, issues cycles 3,4,5 (bfree 6); next d = 3.
//   iact 1 (empty column) sits in stage 3 at cycle 3, is dropped: next d = 4.
//   iact 2 at stage 3 from 4, waits for B: b = max(5, 6) = 6, issues 6 (bfree 7); next d = 6.
//   iact 3 at stage 3 at 6: b = max(7, 7) = 7, issues 7, 8 (bfree 9); d = 7.
//   last word issued at 8, written back at 8 + 3 = 11: the window takes 12 cycles.
TEST(V2Pe, PipelineRuleByHand) {
    const std::vector<int32_t> words = {3, 0, 1, 2};
    EXPECT_EQ(window_cycles(words.data(), 4), 12);
    EXPECT_EQ(window_cycles(nullptr, 0), 2);  // an empty window: its two address stages
    const std::vector<int32_t> drop = {0, 0, 0};
    EXPECT_EQ(window_cycles(drop.data(), 3), 5);  // each dropped at stage 3, one per cycle
    const std::vector<int32_t> one = {1};
    EXPECT_EQ(window_cycles(one.data(), 1), 7);  // the 7-stage pipeline latency
    PePipeline p;
    int64_t t0 = 100;
    for (const auto& w : {words, drop, one, std::vector<int32_t>{}}) {
        p.start(t0, w, 0);
        int64_t c = t0, x = -1, done = -1;
        while (!p.pop_done(x, done)) p.step(c++);
        EXPECT_EQ(x, 0);
        EXPECT_EQ(done - t0, window_cycles(w.data(), static_cast<int64_t>(w.size())));
        EXPECT_FALSE(p.active());
        t0 = done + 10;
    }
    // Back to back: the second window enters when the front end is done with the first
    // (window 0's last iact is handed over at 6, so front_free = 7; window 1 enters at 7, its
    // iact reaches stage 3 at 9 and issues 10, 11 after window 0's words (7, 8): done at 15).
    const WindowTiming a = window_times(words.data(), 4, 0, 0);
    EXPECT_EQ(a.front_free, 7);
    EXPECT_EQ(a.bfree, 9);
    const std::vector<int32_t> two = {2};
    const WindowTiming b = window_times(two.data(), 1, a.front_free, a.bfree);
    EXPECT_EQ(b.done, 15);
    EXPECT_EQ(b.front_free, 10);
}

// Random windows entered back to back at random moments once the front end is free (and,
// as in the array, window x - 2 is done: the pipeline holds at most two windows): the
// stepped pipeline gives window_times' done and front_free for every window, and issues
// every word.
TEST(V2Pe, PipelineRuleMatchesStepping) {
    auto g = rng_for(11);
    for (int run = 0; run < 60; ++run) {
        PePipeline p;
        int64_t c = 7, issued = 0, total = 0, start = 7, bfree = 0;
        std::vector<int64_t> want_done;
        const int windows = static_cast<int>(uniform(g, 1, 12));
        std::vector<int64_t> got_done(static_cast<size_t>(windows), -1);
        for (int x = 0; x < windows; ++x) {
            std::vector<int32_t> w(static_cast<size_t>(uniform(g, 0, 20)));
            for (auto& v : w)
                v = static_cast<int32_t>(uniform(g, 0, 4) == 0 ? 0 : uniform(g, 1, 16));
            for (auto v : w) total += v;
            start = std::max(start, c) + (uniform(g, 0, 2) == 0 ? uniform(g, 0, 5) : 0);
            while (c < start) {  // step up to the entry cycle
                issued += p.step(c++);
                for (int64_t y = 0, d = 0; p.pop_done(y, d);) got_done[static_cast<size_t>(y)] = d;
            }
            // (the array enters window x only after window x - 2's psums have left)
            while (p.front_free() < 0 || p.front_free() > c ||
                   (x >= 2 && got_done[static_cast<size_t>(x - 2)] < 0)) {
                issued += p.step(c++);
                for (int64_t y = 0, d = 0; p.pop_done(y, d);) got_done[static_cast<size_t>(y)] = d;
            }
            const WindowTiming t = window_times(w.data(), static_cast<int64_t>(w.size()), c, bfree);
            bfree = t.bfree;
            want_done.push_back(t.done);
            p.start(c, w, x);
            for (int64_t y = 0, d = 0; p.pop_done(y, d);) got_done[static_cast<size_t>(y)] = d;
            // the front end is free again exactly at front_free
            PePipeline probe = p;
            int64_t pc = c;
            while (probe.front_free() < 0) probe.step(pc++);
            EXPECT_EQ(probe.front_free(), t.front_free) << run << " window " << x;
        }
        while (p.active()) {
            issued += p.step(c++);
            for (int64_t y = 0, d = 0; p.pop_done(y, d);) got_done[static_cast<size_t>(y)] = d;
        }
        EXPECT_EQ(issued, total);
        for (int x = 0; x < windows; ++x)
            EXPECT_EQ(got_done[static_cast<size_t>(x)], want_done[static_cast<size_t>(x)])
                << run << " window " << x;
    }
}

TEST(V2Pe, CscFillersForLongZeroRuns) {
    // One column of 32 weights with non-zeros at rows 0, 20 and 31: the run of 19 zeros before
    // row 20 needs one filler (15 zeros + a zero value), the run of 10 before row 31 none.
    std::vector<int16_t> w(32, 0);
    w[0] = 5, w[20] = -3, w[31] = 7;
    WeightMatrix m;
    m.build(w.data(), 1, 1, 1, 0, 32, 0, 1, 0, 0, 1, true, 4, 2);
    EXPECT_EQ(m.pairs, 4);
    EXPECT_EQ(m.fillers, 1);
    EXPECT_EQ(m.words, 2);
    EXPECT_EQ(m.nnz[0], 3);
}

// --- one PE by hand ---------------------------------------------------------------------------

// Layer C=2, M=4, 1x1, P=1, Q=2 on one PE (m0=4, c0=2, s0=1, q0=2), zero mode none.
//   Weights: 4 x 2 uncompressed 8-bit values = 64 bits over one 24-bit weight router port:
//     ready at ceil(64/24) = 3.
//   Window 0: load 2 iacts = 16 bits; the cluster's 3 iact routers give 72 bits per cycle to
//     its single stream: ceil(16/72) = 1 cycle, [0, 1). Compute starts at max(1, 3) = 3; two
//     iacts of ceil(4/2) = 2 words each: window_cycles({2,2}) = 10 (d=2, b=3..4, b=5..6,
//     write-back 6+3 = 9): done at 13. Out to the GLB: 4 psums x 20 bits / 40 = 2 cycles,
//     13 -> 15.
//   Window 1: its 2 iacts fit the 16-entry iact spad beside window 0's 2, so they load while
//     window 0 computes: 3 -> 4. The psum spad holds 2 x 4 psums (<= 32), so window 1
//     computes into the free half and enters the pipeline when the front end is done with
//     window 0 (its last iact handed to stage 4 at 7: free at 8) while window 0's words
//     still issue (6..9): its iacts reach stage 3 at 10, issue 11, 12 and 13, 14: done at 18;
//     out 18 -> 20.
//   The pass takes 20 cycles.
// The same with M=32 (m0=32: the psum spad holds one window): weights 32 x 2 x 8 bits = 512
//   bits, ready at 22. Window 0: load [0, 1), computes 22 -> 60 (two iacts of 16 words:
//   window_cycles({16,16}) = 38); out 32 x 20 / 40 = 16 cycles, 60 -> 76. Window 1: loaded
//   22 -> 23 (prefetch), but waits for its psums to leave: 76 -> 114, out 114 -> 130.
// The same with C=16, M=4 (c0=16): window 0's 16 iacts fill the iact spad, so window 1's
//   load waits for window 0's compute. Weights 512 bits: ready at 22. Window 0: load 128 bits
//   [0, 2), computes 22 -> 60 (16 iacts of 2 words: the last issues at 33..34, + 3 = 38
//   cycles); out 60 -> 62. Window 1: load 60 -> 62, computes 62 -> 100, out 100 -> 102.
TEST(V2Array, SinglePeTimingByHand) {
    struct Case {
        int64_t C, M, cycles, weight_load, load, window;
    };
    for (const Case& k :
         {Case{2, 4, 20, 3, 2, 10}, Case{2, 32, 130, 22, 2, 38}, Case{16, 4, 102, 22, 4, 38}}) {
        core::LayerShape s = core::LayerShape::parse_spec(
            "C=" + std::to_string(k.C) + ",M=" + std::to_string(k.M) + ",R=1,S=1,P=1,Q=2");
        s.finalize();
        const core::ArchConfig a = v2_arch(core::ZeroMode::kNone);
        V2Mapping m;
        m.m0 = k.M, m.c0 = k.C, m.s0 = 1, m.e0 = 1, m.q0 = 2, m.fr = 1, m.cv = 1, m.chains = 1;
        ASSERT_FALSE(check_v2_mapping(s, m, a)) << *check_v2_mapping(s, m, a);
        std::vector<int16_t> in(static_cast<size_t>(s.ifmap_elems())),
            w(static_cast<size_t>(s.weight_elems()));
        for (size_t i = 0; i < in.size(); ++i) in[i] = static_cast<int16_t>(i % 7 + 1);
        for (size_t i = 0; i < w.size(); ++i) w[i] = static_cast<int16_t>(i % 5 + 1);
        for (Fidelity f : {Fidelity::kFast, Fidelity::kCycle}) {
            const std::string what = s.to_spec() + " " + to_string(f);
            const V2Result r = run_layer_v2(s, m, a, in.data(), w.data(), {f});
            EXPECT_EQ(r.stats.cycles, k.cycles) << what;
            EXPECT_EQ(r.stats.passes, 1);
            EXPECT_EQ(r.stats.weight_load_cycles, k.weight_load) << what;
            EXPECT_EQ(r.stats.macs_performed, s.macs());
            EXPECT_EQ(r.stats.weight_data_spad_reads, 2 * k.C * ((k.M + 1) / 2));
            EXPECT_EQ(r.stats.pe_busy_cycles, 2 * k.window) << what;
            EXPECT_EQ(r.stats.pe_load_cycles, k.load) << what;
            EXPECT_EQ(r.stats.psum_glb_writes, 2 * k.M);
            EXPECT_EQ(r.ofmap, reference_conv_int64(s, in.data(), w.data())) << what;
        }
    }
}

// --- exactness and fidelity equality ----------------------------------------------------------

void expect_partition(const core::LayerShape& s, const V2Stats& st, core::ZeroMode mode) {
    EXPECT_EQ(st.mac_slots(), s.macs());
    if (mode != core::ZeroMode::kGate) EXPECT_EQ(st.macs_gated(), 0);
    if (mode != core::ZeroMode::kSkip) EXPECT_EQ(st.macs_skipped(), 0);
    if (mode == core::ZeroMode::kNone) EXPECT_EQ(st.macs_performed, s.macs());
}

TEST(V2Array, FastIsExactOnRandomLayers) {
    auto g = rng_for(21);
    for (int iter = 0; iter < 150; ++iter) {
        const Case c = random_case(g, 9);
        const core::ZeroMode mode = kModes[iter % 3];
        const core::ArchConfig a = v2_arch(mode);
        const V2Mapping m =
            iter % 4 == 0 ? default_v2_mapping(c.s, a) : random_v2_mapping(g, c.s, a);
        const V2Result r = run_layer_v2(c.s, m, a, c.in.data(), c.w.data());
        ASSERT_EQ(r.ofmap, reference_conv_int64(c.s, c.in.data(), c.w.data()))
            << c.s.to_spec() << " " << to_string(m) << " mode " << core::to_string(mode);
        expect_partition(c.s, r.stats, mode);
        EXPECT_EQ(r.stats.passes, v2_tiling(c.s, m).passes());
    }
}

TEST(V2Array, CycleFidelityEqualsFast) {
    auto g = rng_for(31);
    for (int iter = 0; iter < 90; ++iter) {
        const Case c = random_case(g, 6);
        const core::ZeroMode mode = kModes[iter % 3];
        const core::ArchConfig a = v2_arch(mode);
        const V2Mapping m =
            iter % 5 == 0 ? default_v2_mapping(c.s, a) : random_v2_mapping(g, c.s, a);
        const V2Result f = run_layer_v2(c.s, m, a, c.in.data(), c.w.data(), {Fidelity::kFast});
        const V2Result y = run_layer_v2(c.s, m, a, c.in.data(), c.w.data(), {Fidelity::kCycle});
        const std::string what =
            c.s.to_spec() + " " + to_string(m) + " mode " + core::to_string(mode);
        ASSERT_EQ(f.stats.diff(y.stats), "") << what;
        ASSERT_EQ(y.ofmap, f.ofmap) << what;
        ASSERT_EQ(f.passes.size(), y.passes.size());
        for (size_t i = 0; i < f.passes.size(); ++i)
            ASSERT_EQ(f.passes[i].cycles, y.passes[i].cycles) << what << " pass " << i;
        EXPECT_EQ(y.ofmap, reference_conv_int64(c.s, c.in.data(), c.w.data())) << what;
    }
}

// Wide filters (m0 = 32 > 16) with sparse weights need CSC fillers; several channel blocks
// make the psums come back from the GLB. Both fidelities, exact and equal.
TEST(V2Array, FillersAndGlbAccumulationInBothFidelities) {
    core::LayerShape s = core::LayerShape::parse_spec("C=6,M=40,R=3,S=3,P=5,Q=5,pad=1");
    s.finalize();
    auto g = rng_for(51);
    const auto in = random_tensor(g, s.ifmap_elems(), 0.6, -128, 127);
    const auto w = random_tensor(g, s.weight_elems(), 0.1, -128, 127);
    const core::ArchConfig a = v2_arch(core::ZeroMode::kSkip);
    V2Mapping m;
    m.m0 = 32, m.c0 = 1, m.s0 = 3, m.e0 = 2, m.q0 = 3, m.fr = 3, m.cv = 1, m.chains = 7;
    ASSERT_FALSE(check_v2_mapping(s, m, a)) << *check_v2_mapping(s, m, a);
    const V2Result f = run_layer_v2(s, m, a, in.data(), w.data(), {Fidelity::kFast});
    const V2Result y = run_layer_v2(s, m, a, in.data(), w.data(), {Fidelity::kCycle});
    EXPECT_GT(f.stats.csc_filler_pairs, 0);
    EXPECT_GT(f.stats.psum_glb_reads, 0);
    EXPECT_EQ(f.stats.diff(y.stats), "");
    EXPECT_EQ(f.ofmap, reference_conv_int64(s, in.data(), w.data()));
    EXPECT_EQ(y.ofmap, f.ofmap);
    expect_partition(s, f.stats, core::ZeroMode::kSkip);
}

// --- zero skipping ----------------------------------------------------------------------------

int64_t skip_cycles(const core::LayerShape& s, const V2Mapping& m, double da, double dw) {
    auto g = rng_for(41);
    const auto in = random_tensor(g, s.ifmap_elems(), da, -128, 127);
    const auto w = random_tensor(g, s.weight_elems(), dw, -128, 127);
    return run_layer_v2(s, m, v2_arch(core::ZeroMode::kSkip), in.data(), w.data()).stats.cycles;
}

// A MAC-bound layer (3x3, 32 in / 32 out channels, no padding): skip-mode cycles fall with the
// iact density and with the weight density, and at low densities approach proportionality to
// their product (the rest is pipeline fill, loads and psum drain).
TEST(V2Array, SkipCyclesFallWithIactAndWeightDensity) {
    core::LayerShape s = core::LayerShape::parse_spec("C=32,M=32,R=3,S=3,P=12,Q=12");
    s.finalize();
    const core::ArchConfig a = v2_arch(core::ZeroMode::kSkip);
    const V2Mapping m = default_v2_mapping(s, a);
    const double ds[] = {1.0, 0.5, 0.25};
    int64_t cyc[3][3];
    for (int i = 0; i < 3; ++i)
        for (int j = 0; j < 3; ++j) cyc[i][j] = skip_cycles(s, m, ds[i], ds[j]);
    for (int i = 0; i < 3; ++i)
        for (int j = 0; j < 3; ++j) {
            if (i + 1 < 3) EXPECT_LT(cyc[i + 1][j], cyc[i][j]) << i << "," << j;
            if (j + 1 < 3) EXPECT_LT(cyc[i][j + 1], cyc[i][j]) << i << "," << j;
        }
    // Proportionality of what sparsity can remove: the cycles above the all-zero floor (fill,
    // column addresses, psum drain of every window, which no density removes) scale with the
    // product of the densities, up to the workload imbalance that sparsity creates: a chain
    // waits for its slowest PE every window, and a pass for its slowest chain (JETCAS 2019
    // Sec. V-B: "workload imbalance induced by sparsity"), so the excess stays above the
    // product, by more for iact sparsity (it varies window by window) than for weights.
    const double floor = static_cast<double>(skip_cycles(s, m, 0.0, 0.0));
    const double dense = static_cast<double>(cyc[0][0]) - floor;
    for (int i = 0; i < 3; ++i)
        for (int j = 0; j < 3; ++j) {
            const double ratio = (static_cast<double>(cyc[i][j]) - floor) / dense;
            const double prod = ds[i] * ds[j];
            std::cout << "  iact " << ds[i] << " weight " << ds[j] << ": " << cyc[i][j]
                      << " cycles (floor " << floor << "), excess " << ratio
                      << " of dense (product " << prod << ")\n";
            EXPECT_LT(ratio, prod * 2.3 + 0.05) << i << "," << j;
            EXPECT_GT(ratio, prod * 0.7) << i << "," << j;
        }
    // Gate mode spends the cycles: the same as none at any density.
    auto g = rng_for(42);
    const auto in = random_tensor(g, s.ifmap_elems(), 0.3, -128, 127);
    const auto w = random_tensor(g, s.weight_elems(), 0.3, -128, 127);
    const auto none = run_layer_v2(s, m, v2_arch(core::ZeroMode::kNone), in.data(), w.data());
    const auto gate = run_layer_v2(s, m, v2_arch(core::ZeroMode::kGate), in.data(), w.data());
    EXPECT_EQ(none.stats.cycles, gate.stats.cycles);
    EXPECT_LT(gate.stats.macs_performed, none.stats.macs_performed);
}

// --- mappings ---------------------------------------------------------------------------------

TEST(V2Mapping, DefaultMappingValidOnEveryBuiltinNetwork) {
    const core::ArchConfig a = v2_arch(core::ZeroMode::kSkip);
    int64_t layers = 0;
    for (const std::string& name : core::builtin_network_names()) {
        for (const core::ConvLayer& cl : core::builtin_network(name).conv_layers(1)) {
            const V2Mapping m = default_v2_mapping(cl.shape, a);
            EXPECT_FALSE(check_v2_mapping(cl.shape, m, a))
                << name << " " << cl.shape.to_spec() << ": " << *check_v2_mapping(cl.shape, m, a);
            EXPECT_EQ(default_v2_mapping(cl.shape, a), m) << "deterministic";
            ++layers;
        }
    }
    EXPECT_GT(layers, 20);
}

TEST(V2Mapping, JsonRoundTripAndErrorsNameTheKey) {
    V2Mapping m;
    m.m0 = 8, m.c0 = 2, m.s0 = 3, m.e0 = 2, m.q0 = 5, m.fr = 3, m.cv = 1, m.chains = 17;
    m.order = "ngpqm";
    EXPECT_EQ(v2_mapping_from_json(to_json(m), "m"), m);
    auto key_of = [](const nlohmann::json& j) {
        try {
            v2_mapping_from_json(j, "layer3.mapping");
        } catch (const core::InputError& e) {
            return std::string(e.what());
        }
        return std::string("no error");
    };
    nlohmann::json j = to_json(m);
    j["c0"] = "two";
    EXPECT_NE(key_of(j).find("layer3.mapping.c0"), std::string::npos) << key_of(j);
    j = to_json(m);
    j.erase("chains");
    EXPECT_NE(key_of(j).find("layer3.mapping.chains"), std::string::npos) << key_of(j);
    j = to_json(m);
    j["bogus"] = 1;
    EXPECT_NE(key_of(j).find("layer3.mapping.bogus"), std::string::npos) << key_of(j);
    j = to_json(m);
    j["order"] = "nnmpq";
    EXPECT_NE(key_of(j).find("layer3.mapping.order"), std::string::npos) << key_of(j);
    EXPECT_NE(key_of(nlohmann::json::array()).find("layer3.mapping"), std::string::npos);
}

TEST(V2Mapping, CheckNamesTheConstraint) {
    core::LayerShape s = core::LayerShape::parse_spec("C=64,M=64,R=3,S=3,P=8,Q=8,pad=1");
    s.finalize();
    const core::ArchConfig a = v2_arch(core::ZeroMode::kSkip);
    V2Mapping m = default_v2_mapping(s, a);
    V2Mapping bad = m;
    bad.c0 = 6, bad.s0 = 3;
    EXPECT_NE(check_v2_mapping(s, bad, a).value_or("").find("iact data spad"), std::string::npos);
    bad = m, bad.m0 = 33;
    EXPECT_TRUE(check_v2_mapping(s, bad, a).has_value());
    bad = m, bad.c0 = 4, bad.s0 = 3, bad.m0 = 32;
    EXPECT_NE(check_v2_mapping(s, bad, a).value_or("").find("weight data spad"), std::string::npos);
    bad = m, bad.fr = 3, bad.cv = 2;
    EXPECT_NE(check_v2_mapping(s, bad, a).value_or("").find("PE rows"), std::string::npos);
    EXPECT_THROW(run_layer_v2(s, bad, a, nullptr, nullptr), core::InputError);
}

TEST(V2Stats, JsonRoundTripAndArrayStatsView) {
    V2Stats st;
    st.cycles = 5, st.macs_performed = 7, st.macs_skipped_iact = 3, st.macs_skipped_weight = 2;
    EXPECT_EQ(V2Stats::from_json(st.to_json(), "s"), st);
    const ArrayStats a = st.to_array_stats();
    EXPECT_EQ(a.macs_skipped, 5);
    EXPECT_EQ(a.cycles, 5);
    nlohmann::json j = st.to_json();
    j.erase("passes");
    EXPECT_THROW(V2Stats::from_json(j, "s"), core::InputError);
}

}  // namespace
}  // namespace actsparse::hw::v2
