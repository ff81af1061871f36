// The per-cycle SystemC fidelity against the fast one: identical cycles and counters on many
// random layers, all zero modes and perturbed architectures, and both exact. One elaborated
// top serves every run_layer() call of this process (sc_start is called once per pass).
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/error.h"
#include "core/trace.h"
#include "hw/array.h"
#include "test_util.h"

namespace actsparse::hw {
namespace {

using test::first_mismatch;
using test::random_layer;
using test::random_mapping;
using test::random_tensor;
using test::reference_conv_double;
using test::rng_for;

const core::ZeroMode kModes[] = {core::ZeroMode::kNone, core::ZeroMode::kGate,
                                 core::ZeroMode::kSkip};

std::string describe(const core::LayerShape& s, const Mapping& m, const core::ArchConfig& a) {
    return s.to_spec() + " | " + to_string(m) + " | " + core::to_string(a.zero_mode) + " | arch " +
           core::arch_to_json(a).dump();
}

// Two runs of one layer agree: counters in total and per pass, and the outputs.
::testing::AssertionResult same_run(const ArrayResult& x, const ArrayResult& y) {
    if (!(x.stats == y.stats)) return ::testing::AssertionFailure() << x.stats.diff(y.stats);
    if (x.passes.size() != y.passes.size())
        return ::testing::AssertionFailure()
               << x.passes.size() << " passes against " << y.passes.size();
    for (size_t k = 0; k < x.passes.size(); ++k)
        if (!(x.passes[k].stats == y.passes[k].stats))
            return ::testing::AssertionFailure()
                   << "pass " << k << ": " << x.passes[k].stats.diff(y.passes[k].stats);
    if (x.ofmap != y.ofmap) return ::testing::AssertionFailure() << "outputs differ";
    return ::testing::AssertionSuccess();
}

TEST(Fidelity, CycleAndFastAgreeOnRandomLayers) {
    auto g = rng_for(101);
    RunOptions cycle;
    cycle.fidelity = Fidelity::kCycle;
    int64_t layers = 0, cycles = 0;
    for (int iter = 0; iter < 100; ++iter) {
        const core::LayerShape s = random_layer(g, 9);
        for (core::ZeroMode mode : kModes) {
            const core::ArchConfig a = test::random_arch(g, mode);
            const Mapping m = iter % 2 == 0 ? default_mapping(s, a) : random_mapping(g, s, a);
            const double density = 0.15 + 0.2 * static_cast<double>(iter % 5);
            const auto in = random_tensor(g, s.ifmap_elems(), density);
            const auto w = random_tensor(g, s.weight_elems(), 0.95);
            const ArrayResult fast = run_layer(s, m, a, in.data(), w.data());
            const ArrayResult slow = run_layer(s, m, a, in.data(), w.data(), cycle);
            ASSERT_TRUE(same_run(fast, slow)) << describe(s, m, a);
            const auto ref = reference_conv_double(s, in, w);
            ASSERT_EQ(first_mismatch(slow.ofmap, ref), -1) << describe(s, m, a);
            ++layers;
            cycles += slow.stats.cycles;
        }
    }
    std::cout << "[fidelity] " << layers << " layers, " << cycles << " cycles agree" << std::endl;
}

// Without a VCD the cycle fidelity leaves out the ticks of a PE that cannot act (before its
// Pe::cycle_wake(), none of its FIFOs changed); with one it ticks every PE in every cycle.
// Both must count the same on layers with stalls, psum chains and GLB accumulation.
TEST(Fidelity, LeftOutCycleTicksChangeNothing) {
    auto g = rng_for(106);
    RunOptions every;
    every.fidelity = Fidelity::kCycle;
    every.vcd_path = ::testing::TempDir() + "hw_every_tick.vcd";
    RunOptions sleeping;
    sleeping.fidelity = Fidelity::kCycle;
    int64_t layers = 0;
    for (int iter = 0; iter < 30; ++iter) {
        const core::LayerShape s = random_layer(g, 9);
        for (core::ZeroMode mode : kModes) {
            const core::ArchConfig a = test::random_arch(g, mode);
            const Mapping m = iter % 2 == 0 ? default_mapping(s, a) : random_mapping(g, s, a);
            const auto in = random_tensor(g, s.ifmap_elems(), 0.2 + 0.2 * (iter % 4));
            const auto w = random_tensor(g, s.weight_elems(), 0.9);
            const ArrayResult a_every = run_layer(s, m, a, in.data(), w.data(), every);
            const ArrayResult a_sleep = run_layer(s, m, a, in.data(), w.data(), sleeping);
            ASSERT_TRUE(same_run(a_every, a_sleep)) << describe(s, m, a);
            ++layers;
        }
    }
    std::remove(every.vcd_path.c_str());
    EXPECT_EQ(layers, 90);
}

// A layer large enough for stalls, several passes and GLB accumulation, on the default array.
TEST(Fidelity, AgreeOnMultiPassLayer) {
    auto g = rng_for(102);
    const core::LayerShape s =
        core::LayerShape::parse_spec("N=2,C=20,M=30,R=3,S=3,P=9,Q=11,pad=1,Hstride=1");
    const auto w = random_tensor(g, s.weight_elems(), 1.0);
    const auto in = random_tensor(g, s.ifmap_elems(), 0.45);
    RunOptions cycle;
    cycle.fidelity = Fidelity::kCycle;
    for (core::ZeroMode mode : kModes) {
        const core::ArchConfig a = test::arch_with(mode);
        Mapping m;  // several channel and filter blocks: psums go back through the GLB
        m.n = 2;
        m.p = 8;
        m.q = 3;
        m.e = 9;
        m.r = 2;
        m.t = 2;
        m.filter_rows = 3;
        m.filter_cols = 3;
        ASSERT_FALSE(check_mapping(s, m, a)) << *check_mapping(s, m, a);
        const ArrayResult fast = run_layer(s, m, a, in.data(), w.data());
        const ArrayResult slow = run_layer(s, m, a, in.data(), w.data(), cycle);
        EXPECT_EQ(fast.stats, slow.stats) << fast.stats.diff(slow.stats);
        EXPECT_GT(slow.stats.psum_noc_words_sent, 0);
        EXPECT_GT(slow.stats.pe_stall_cycles, 0);
        EXPECT_EQ(first_mismatch(slow.ofmap, reference_conv_double(s, in, w)), -1);
    }
}

// Real MobileNet-V2-CIFAR layers (a depthwise 3x3 and a 1x1 projection) at 40% density.
TEST(Fidelity, AgreeOnMobileNetLayers) {
    auto g = rng_for(105);
    RunOptions cycle;
    cycle.fidelity = Fidelity::kCycle;
    for (const char* spec :
         {"C=96,M=96,G=96,R=3,S=3,P=16,Q=16,stride=2,pad=1", "C=144,M=24,R=1,S=1,P=16,Q=16"}) {
        const core::LayerShape s = core::LayerShape::parse_spec(spec);
        const auto w = random_tensor(g, s.weight_elems(), 1.0);
        const auto in = random_tensor(g, s.ifmap_elems(), 0.4);
        for (core::ZeroMode mode : {core::ZeroMode::kGate, core::ZeroMode::kSkip}) {
            const core::ArchConfig a = test::arch_with(mode);
            const Mapping m = default_mapping(s, a);
            const ArrayResult fast = run_layer(s, m, a, in.data(), w.data());
            const ArrayResult slow = run_layer(s, m, a, in.data(), w.data(), cycle);
            EXPECT_EQ(fast.stats, slow.stats) << fast.stats.diff(slow.stats) << " " << spec;
            EXPECT_EQ(slow.ofmap, core::reference_conv(s, in, w)) << spec;
        }
    }
}

// Repeated runs in one process (sc_start again after sc_pause) give identical results.
TEST(Fidelity, RepeatedRunsReuseTheElaboratedTop) {
    auto g = rng_for(103);
    const core::LayerShape s = core::LayerShape::parse_spec("N=1,C=5,M=7,R=3,S=3,P=6,Q=6,pad=1");
    const auto w = random_tensor(g, s.weight_elems(), 1.0);
    const auto in = random_tensor(g, s.ifmap_elems(), 0.5);
    const core::ArchConfig a = test::arch_with(core::ZeroMode::kSkip);
    RunOptions cycle;
    cycle.fidelity = Fidelity::kCycle;
    const ArrayResult first = run_layer(s, default_mapping(s, a), a, in.data(), w.data(), cycle);
    for (int k = 0; k < 3; ++k) {
        const ArrayResult again =
            run_layer(s, default_mapping(s, a), a, in.data(), w.data(), cycle);
        EXPECT_EQ(first.stats, again.stats);
        EXPECT_EQ(first.ofmap, again.ofmap);
    }
}

TEST(Fidelity, WritesVcdOfPeActivity) {
    auto g = rng_for(104);
    const core::LayerShape s = core::LayerShape::parse_spec("N=1,C=4,M=4,R=3,S=3,P=5,Q=5,pad=1");
    const auto w = random_tensor(g, s.weight_elems(), 1.0);
    const auto in = random_tensor(g, s.ifmap_elems(), 0.5);
    RunOptions opt;
    opt.fidelity = Fidelity::kCycle;
    opt.vcd_path = ::testing::TempDir() + "hw_activity.vcd";
    std::remove(opt.vcd_path.c_str());
    for (core::ZeroMode mode : {core::ZeroMode::kGate, core::ZeroMode::kSkip}) {
        const core::ArchConfig a = test::arch_with(mode);
        const ArrayResult r = run_layer(s, default_mapping(s, a), a, in.data(), w.data(), opt);
        std::ifstream f(opt.vcd_path);
        ASSERT_TRUE(f.good());
        std::stringstream text;
        text << f.rdbuf();
        const std::string v = text.str();
        EXPECT_NE(v.find("$enddefinitions"), std::string::npos);
        EXPECT_NE(v.find("pe_0_0"), std::string::npos);
        EXPECT_NE(v.find("#" + std::to_string(r.stats.cycles)), std::string::npos);
        EXPECT_NE(v.find(mode == core::ZeroMode::kGate ? " gated " : " skipped "),
                  std::string::npos);
    }
}

}  // namespace
}  // namespace actsparse::hw
