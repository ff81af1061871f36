#include <gtest/gtest.h>

#include <cstdlib>
#include <iostream>
#include <random>

#include "core/error.h"
#include "core/rlc.h"
#include "core/trace.h"
#include "tlm/mapper.h"
#include "tlm/simulate.h"
#include "tlm/tiling.h"

namespace actsparse::tlm {
namespace {

uint64_t test_seed() {
    const char* env = std::getenv("ACTSPARSE_TEST_SEED");
    const uint64_t seed = env ? std::strtoull(env, nullptr, 10) : 20261126;
    std::cout << "ACTSPARSE_TEST_SEED=" << seed << std::endl;
    return seed;
}

core::Trace synth(const std::string& spec, double density, uint64_t seed,
                  core::ZeroPattern pattern = core::ZeroPattern::kUniform) {
    core::SynthOptions o;
    o.density = density;
    o.seed = seed;
    o.pattern = pattern;
    core::Trace t = core::synth_trace(core::LayerShape::parse_spec(spec), o, 8);
    t.layer = spec;
    return t;
}

// Chunks of any tiling (row and column strips with their one-sided padding), each
// convolved on its own and accumulated, give the layer's convolution: the decomposition
// the controller relies on is exact.
TEST(Tiling, ChunksReassembleTheConvolution) {
    std::mt19937_64 rng(test_seed());
    const char* specs[] = {"N=2,C=6,M=8,R=3,S=3,P=7,Q=5,pad=1",
                           "C=8,M=8,G=8,R=3,S=3,P=6,Q=6,stride=2,pad=1",
                           "C=4,M=6,G=2,R=5,S=5,P=4,Q=6,pad=2", "C=5,M=3,R=1,S=1,P=9,Q=4"};
    for (const char* spec : specs) {
        const core::Trace t = synth(spec, 0.6, rng());
        const core::LayerShape& s = t.shape;
        for (int trial = 0; trial < 10; ++trial) {
            GlbTiling g{1 + static_cast<int64_t>(rng() % s.N),
                        1 + static_cast<int64_t>(rng() % s.G),
                        1 + static_cast<int64_t>(rng() % s.m_per_group()),
                        1 + static_cast<int64_t>(rng() % s.c_per_group()),
                        1 + static_cast<int64_t>(rng() % s.P),
                        static_cast<int64_t>(rng() % (s.Q + 1))};  // 0: no column strips
            std::vector<int64_t> out(s.ofmap_elems(), 0);
            for (const Chunk& k : enumerate_chunks(s, g)) {
                const SubLayer sub = extract_chunk(s, k, t.ifmap.data(), t.weight.data());
                accumulate_chunk(s, k, core::reference_conv(sub.shape, sub.ifmap, sub.weight), out);
            }
            EXPECT_EQ(out, t.ofmap_acc) << spec << " tiling " << to_json(g).dump();
        }
    }
}

SimOptions options(core::ZeroMode mode, hw::Fidelity f = hw::Fidelity::kFast) {
    SimOptions o;
    o.arch = core::load_arch("eyeriss-v1");
    o.arch.zero_mode = mode;
    o.fidelity = f;
    return o;
}

TEST(Simulate, OutputEqualsReferenceInBothFidelities) {
    std::mt19937_64 rng(test_seed());
    const char* specs[] = {"N=2,C=6,M=8,R=3,S=3,P=7,Q=5,pad=1",
                           "C=8,M=8,G=8,R=3,S=3,P=6,Q=6,stride=2,pad=1",
                           "C=4,M=6,G=2,R=5,S=5,P=4,Q=6,pad=2", "C=16,M=24,R=1,S=1,P=8,Q=8"};
    for (const char* spec : specs)
        for (auto mode : {core::ZeroMode::kNone, core::ZeroMode::kGate, core::ZeroMode::kSkip}) {
            const core::Trace t = synth(spec, 0.4, rng());
            const LayerResult fast = simulate_layer(t, options(mode));
            const LayerResult cyc = simulate_layer(t, options(mode, hw::Fidelity::kCycle));
            EXPECT_EQ(fast.ofmap, t.ofmap_acc) << spec;
            EXPECT_EQ(cyc.ofmap, t.ofmap_acc) << spec;
            EXPECT_EQ(fast.cycles_processing, cyc.cycles_processing) << spec;
            EXPECT_EQ(fast.accesses.to_json(), cyc.accesses.to_json()) << spec;
            EXPECT_EQ(fast.accesses.mac_mac_performed + fast.accesses.mac_mac_gated +
                          fast.accesses.mac_mac_skipped,
                      t.shape.macs());
            EXPECT_GE(fast.cycles_total, fast.cycles_processing);
        }
}

// DRAM traffic equals what the mapping must move, counted independently of the controller.
TEST(Simulate, DramWordsEqualTheAnalyticCount) {
    SimOptions o = options(core::ZeroMode::kGate);
    o.arch.dram.rlc = false;
    // 18 bytes per filter channel x c=4 -> 8-byte aligned spans; W and Q multiples of 4.
    const core::Trace t = synth("N=2,C=8,M=16,R=3,S=3,P=8,Q=8,pad=1", 0.5, 3);
    const core::LayerShape& s = t.shape;
    for (const GlbTiling& g :
         {GlbTiling{2, 1, 16, 8, 8}, GlbTiling{1, 1, 4, 4, 8}, GlbTiling{2, 1, 8, 8, 8}}) {
        o.mapping = LayerMapping{g, hw::default_mapping(chunk_shape(s, g), o.arch)};
        const LayerResult r = simulate_layer(t, o);
        const int64_t nb = s.N / g.n, mb = s.M / g.m, cb = s.C / g.c;
        EXPECT_EQ(r.accesses.dram_filter_reads, s.weight_elems() * nb) << to_json(g).dump();
        EXPECT_EQ(r.accesses.dram_ifmap_reads, s.ifmap_elems() * (cb == 1 ? 1 : mb))
            << to_json(g).dump();
        EXPECT_EQ(r.accesses.dram_ofmap_writes, s.ofmap_elems());
        EXPECT_EQ(r.ofmap, t.ofmap_acc);
    }
}

// With RLC on, the ifmap read from DRAM is exactly the compressed size of its rows,
// computed here from the pair-count formula rather than the encoder.
TEST(Simulate, CompressedIfmapSizeMatchesIndependentRlcSize) {
    SimOptions o = options(core::ZeroMode::kSkip);
    const core::Trace t = synth("C=8,M=8,R=3,S=3,P=16,Q=16,pad=1", 0.3, 5);
    const core::LayerShape& s = t.shape;
    o.mapping = LayerMapping{{1, 1, 8, 8, 16}, hw::default_mapping(s, o.arch)};
    const LayerResult r = simulate_layer(t, o);
    int64_t words64 = 0;
    for (int64_t row = 0; row < s.N * s.C * s.H; ++row) {
        int64_t pairs = 0, run = 0;
        for (int64_t w = 0; w < s.W; ++w) {
            if (t.ifmap[row * s.W + w] == 0) {
                ++run;
            } else {
                pairs += 1 + run / 32;
                run = 0;
            }
        }
        pairs += (run + 31) / 32;
        words64 += (pairs + 2) / 3;
    }
    EXPECT_EQ(r.accesses.dram_ifmap_reads, words64 * 4);
}

TEST(Simulate, SkipFallsWithDensityGateKeepsCycles) {
    const std::string spec = "C=16,M=32,R=3,S=3,P=14,Q=14,pad=1";
    double last_e_skip = 1e300, last_c_skip = 1e300, last_e_gate = 1e300;
    int64_t gate_cycles = -1;
    for (double d : {1.0, 0.8, 0.6, 0.4, 0.2, 0.1}) {
        const core::Trace t = synth(spec, d, 11);
        const LayerResult sk = simulate_layer(t, options(core::ZeroMode::kSkip));
        const LayerResult ga = simulate_layer(t, options(core::ZeroMode::kGate));
        EXPECT_LT(sk.energy.total(), last_e_skip) << d;
        EXPECT_LT(sk.cycles_processing, last_c_skip) << d;
        EXPECT_LT(ga.energy.total(), last_e_gate) << d;
        if (gate_cycles < 0) gate_cycles = ga.cycles_processing;
        EXPECT_EQ(ga.cycles_processing, gate_cycles) << d;
        last_e_skip = sk.energy.total();
        last_c_skip = static_cast<double>(sk.cycles_processing);
        last_e_gate = ga.energy.total();
    }
}

TEST(Mapper, DeterministicValidAndRejectsImpossibleBuffers) {
    const core::ArchConfig a = core::load_arch("eyeriss-v1");
    const auto s = core::LayerShape::parse_spec("C=64,M=128,R=3,S=3,P=28,Q=28,pad=1");
    const MapperResult m1 = find_mapping(s, a, Objective::kEnergy, 0.5);
    const MapperResult m2 = find_mapping(s, a, Objective::kEnergy, 0.5);
    EXPECT_EQ(to_json(m1.best), to_json(m2.best));
    EXPECT_FALSE(check_layer_mapping(s, m1.best, a));
    EXPECT_GT(m1.considered, m1.valid);
    EXPECT_GT(m1.valid, 0);
    const MapperResult mc = find_mapping(s, a, Objective::kCycles, 0.5);
    EXPECT_LE(mc.estimate.cycles, m1.estimate.cycles);
    core::ArchConfig tiny = a;
    tiny.glb.ifmap_psum_banks = 1;
    tiny.glb.bank_bytes = 16;  // 8 words: not even a 1 x 1 strip of 3 x 3 windows
    EXPECT_THROW(find_mapping(s, tiny, Objective::kEnergy, 0.5), core::InputError);
    LayerMapping bad = m1.best;
    bad.glb.c = 1000;
    EXPECT_TRUE(check_layer_mapping(s, bad, a));
}

}  // namespace
}  // namespace actsparse::tlm
