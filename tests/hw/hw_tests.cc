// The array in the fast fidelity: exact convolution, conservation and sparsity invariants,
// the pass records, the analytical estimate and default_mapping. Plain C++, no kernel.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "hw/array.h"
#include "hw/engine.h"
#include "test_util.h"

namespace actsparse::hw {
namespace {

using test::first_mismatch;
using test::random_layer;
using test::random_mapping;
using test::random_tensor;
using test::reference_conv_double;
using test::rng_for;
using test::uniform;

const core::ZeroMode kModes[] = {core::ZeroMode::kNone, core::ZeroMode::kGate,
                                 core::ZeroMode::kSkip};

std::string describe(const core::LayerShape& s, const Mapping& m, const core::ArchConfig& a) {
    return s.to_spec() + " | " + to_string(m) + " | " + core::to_string(a.zero_mode) + " array " +
           std::to_string(a.array.rows) + "x" + std::to_string(a.array.cols);
}

// The array's output equals a dense double-precision reference bit for bit, and the MAC
// slots are conserved, for random layers, mappings (default and random) and all zero modes.
TEST(FastArray, ExactConvolutionOnRandomLayers) {
    auto g = rng_for(1);
    for (int iter = 0; iter < 60; ++iter) {
        const core::LayerShape s = random_layer(g);
        for (core::ZeroMode mode : kModes) {
            const core::ArchConfig a = test::random_arch(g, mode);
            const Mapping m = iter % 2 == 0 ? default_mapping(s, a) : random_mapping(g, s, a);
            ASSERT_FALSE(check_mapping(s, m, a)) << describe(s, m, a);
            const double density = 0.2 + 0.2 * static_cast<double>(iter % 5);
            const auto in = random_tensor(g, s.ifmap_elems(), density);
            const auto w = random_tensor(g, s.weight_elems(), 0.9);
            const ArrayResult res = run_layer(s, m, a, in.data(), w.data());
            const auto ref = reference_conv_double(s, in, w);
            ASSERT_EQ(first_mismatch(res.ofmap, ref), -1) << describe(s, m, a);
            EXPECT_EQ(res.stats.mac_slots(), s.macs()) << describe(s, m, a);
            EXPECT_EQ(res.stats.filter_spad_reads + res.stats.filter_spad_reads_gated +
                          res.stats.filter_spad_reads_skipped,
                      s.macs());
            if (mode == core::ZeroMode::kNone) {
                EXPECT_EQ(res.stats.macs_performed, s.macs());
            } else if (mode == core::ZeroMode::kGate) {
                EXPECT_EQ(res.stats.macs_skipped, 0);
            } else {
                EXPECT_EQ(res.stats.macs_gated, 0);
            }
        }
    }
}

// The specific layer kinds of the issue, each on its default mapping.
TEST(FastArray, ExactOnNamedLayerKinds) {
    auto g = rng_for(2);
    const char* specs[] = {
        "N=2,C=8,M=16,R=3,S=3,P=10,Q=7,pad=1",             // 3x3, batch, non-square
        "N=1,C=6,M=6,G=6,R=3,S=3,P=8,Q=8,stride=2,pad=1",  // depthwise, stride 2
        "N=1,C=24,M=20,R=1,S=1,P=6,Q=5",                   // 1x1
        "N=1,C=3,M=8,R=5,S=5,P=7,Q=9,pad=2",               // 5x5
        "N=3,C=4,M=6,G=2,R=3,S=3,P=5,Q=6,Hstride=2,Wstride=1,Hpad=1,Wpad=0",  // groups
        "N=1,C=2,M=3,R=13,S=13,P=2,Q=3",        // R > array rows, S > ifmap spad
        "N=1,C=5,M=4,R=1,S=7,P=3,Q=4,Wpad=3",   // 1x7
        "N=1,C=4,M=4,R=3,S=3,P=30,Q=20,pad=1",  // E > 14: folding
    };
    for (const char* spec : specs) {
        const core::LayerShape s = core::LayerShape::parse_spec(spec);
        for (core::ZeroMode mode : kModes) {
            const core::ArchConfig a = test::arch_with(mode);
            const Mapping m = default_mapping(s, a);
            const auto in = random_tensor(g, s.ifmap_elems(), 0.5);
            const auto w = random_tensor(g, s.weight_elems(), 1.0);
            const ArrayResult res = run_layer(s, m, a, in.data(), w.data());
            ASSERT_EQ(first_mismatch(res.ofmap, reference_conv_double(s, in, w)), -1)
                << describe(s, m, a);
            EXPECT_EQ(res.stats.mac_slots(), s.macs()) << spec;
        }
    }
}

// Gate mode spends the cycle of a zero: its cycle count does not depend on the data, and
// equals the dense mode's. Skip mode's falls as the ifmap gets sparser.
TEST(FastArray, GateCyclesIndependentOfDensitySkipCyclesFall) {
    auto g = rng_for(3);
    const core::LayerShape s =
        core::LayerShape::parse_spec("N=1,C=16,M=16,R=3,S=3,P=12,Q=12,pad=1");
    const auto w = random_tensor(g, s.weight_elems(), 1.0);
    std::vector<int64_t> gate, skip, none;
    std::vector<int64_t> gate_performed;
    for (double density : {1.0, 0.7, 0.4, 0.1}) {
        const auto in = random_tensor(g, s.ifmap_elems(), density);
        for (core::ZeroMode mode : kModes) {
            const core::ArchConfig a = test::arch_with(mode);
            const ArrayResult r = run_layer(s, default_mapping(s, a), a, in.data(), w.data());
            (mode == core::ZeroMode::kNone   ? none
             : mode == core::ZeroMode::kGate ? gate
                                             : skip)
                .push_back(r.stats.cycles);
            if (mode == core::ZeroMode::kGate) gate_performed.push_back(r.stats.macs_performed);
        }
    }
    for (size_t i = 1; i < gate.size(); ++i) {
        EXPECT_EQ(gate[i], gate[0]) << "gate cycles changed with density";
        EXPECT_EQ(none[i], none[0]);
        EXPECT_LT(skip[i], skip[i - 1]) << "skip cycles did not fall with density";
        EXPECT_LT(gate_performed[i], gate_performed[i - 1]);
    }
    EXPECT_EQ(gate[0], none[0]);
    EXPECT_LT(skip.back(), gate.back() / 2);
}

// Every ofmap element leaves the array as a final value exactly once; psums come back in
// only for accumulate passes; pass counters add up to the layer's.
TEST(FastArray, PassRecordsAddUp) {
    auto g = rng_for(4);
    for (int iter = 0; iter < 20; ++iter) {
        const core::LayerShape s = random_layer(g);
        const core::ArchConfig a = test::random_arch(g, core::ZeroMode::kGate);
        const Mapping m = random_mapping(g, s, a);
        const auto in = random_tensor(g, s.ifmap_elems(), 0.6);
        const auto w = random_tensor(g, s.weight_elems(), 1.0);
        const ArrayResult r = run_layer(s, m, a, in.data(), w.data());
        ASSERT_EQ(static_cast<int64_t>(r.passes.size()), tiling(s, m).passes());
        ArrayStats sum;
        int64_t final_words = 0;
        for (const PassRecord& p : r.passes) {
            sum += p.stats;
            EXPECT_EQ(p.cycles, p.stats.cycles);
            EXPECT_GT(p.cycles, 0);
            EXPECT_EQ(p.psum_words_in > 0, p.tile.accumulate_in) << describe(s, m, a);
            if (p.last_contribution) final_words += p.psum_words_out;
        }
        EXPECT_EQ(sum, r.stats);
        EXPECT_EQ(final_words, s.ofmap_elems()) << describe(s, m, a);
        EXPECT_EQ(r.stats.passes, tiling(s, m).passes());
        // Multicast: words reach PEs only by the NoC, and each delivered word is written once.
        EXPECT_EQ(r.stats.ifmap_noc_words_delivered, r.stats.ifmap_spad_writes);
        EXPECT_EQ(r.stats.filter_noc_words_delivered, r.stats.filter_spad_writes);
        EXPECT_GE(r.stats.ifmap_noc_words_delivered, r.stats.ifmap_noc_words_sent);
    }
}

// Each multicast group reaches exactly the PEs that need its data: the bus's tag matching
// against the PE IDs gives the planned destination set, and each PE is in one group per net.
TEST(Noc, MulticastReachesExactlyTheMatchingPes) {
    auto g = rng_for(5);
    for (int iter = 0; iter < 30; ++iter) {
        const core::LayerShape s = random_layer(g);
        const core::ArchConfig a = test::random_arch(g, core::ZeroMode::kGate);
        const Mapping m = random_mapping(g, s, a);
        std::vector<int16_t> in(static_cast<size_t>(s.ifmap_elems()), 1);
        std::vector<int16_t> w(static_cast<size_t>(s.weight_elems()), 1);
        std::vector<int64_t> out(static_cast<size_t>(s.ofmap_elems()), 0);
        ArrayEngine e(s, m, a, in.data(), w.data(), out.data(), true);
        for (const PassTile& tile : plan_passes(s, m)) {
            e.begin_pass(tile);
            std::vector<int> ifmap_hits(static_cast<size_t>(e.num_pes()), 0);
            std::vector<int> filter_hits(static_cast<size_t>(e.num_pes()), 0);
            for (size_t k = 0; k < e.ifmap_groups().size(); ++k) {
                std::vector<int64_t> got;
                for (auto* f : e.ifmap_bus().destinations(k)) got.push_back(e.pe_of_ifmap_fifo(f));
                std::vector<int64_t> want = e.ifmap_groups()[k].pes;
                std::sort(got.begin(), got.end());
                std::sort(want.begin(), want.end());
                ASSERT_EQ(got, want) << describe(s, m, a);
                for (int64_t pe : got) ++ifmap_hits[static_cast<size_t>(pe)];
            }
            for (size_t k = 0; k < e.filter_groups().size(); ++k) {
                std::vector<int64_t> got;
                for (auto* f : e.filter_bus().destinations(k))
                    got.push_back(e.pe_of_filter_fifo(f));
                std::vector<int64_t> want = e.filter_groups()[k].pes;
                std::sort(got.begin(), got.end());
                std::sort(want.begin(), want.end());
                ASSERT_EQ(got, want) << describe(s, m, a);
                for (int64_t pe : got) ++filter_hits[static_cast<size_t>(pe)];
            }
            for (int64_t pe = 0; pe < e.num_pes(); ++pe) {
                EXPECT_EQ(filter_hits[static_cast<size_t>(pe)], e.pe_active(pe) ? 1 : 0);
                EXPECT_LE(ifmap_hits[static_cast<size_t>(pe)], 1);
                if (!e.pe_active(pe)) {
                    EXPECT_EQ(ifmap_hits[static_cast<size_t>(pe)], 0);
                }
            }
            e.run_pass_fast();
        }
    }
}

// The analytical estimate reproduces every data-independent counter of the simulator
// exactly on dense data, and its cycles are within a band of the simulated ones.
TEST(Estimate, MatchesSimulatorOnDenseLayers) {
    auto g = rng_for(6);
    double worst = 1.0;
    for (int iter = 0; iter < 40; ++iter) {
        const core::LayerShape s = random_layer(g);
        for (core::ZeroMode mode : kModes) {
            const core::ArchConfig a = test::random_arch(g, mode);
            const Mapping m = iter % 2 ? default_mapping(s, a) : random_mapping(g, s, a);
            const auto in = random_tensor(g, s.ifmap_elems(), 1.0);
            const auto w = random_tensor(g, s.weight_elems(), 1.0);
            const ArrayResult r = run_layer(s, m, a, in.data(), w.data());
            const ArrayEstimate est = estimate_layer(s, m, a, 1.0);
            const auto sim = r.stats.to_json();
            const auto ana = est.to_json();
            for (auto it = sim.begin(); it != sim.end(); ++it) {
                if (it.key() == "cycles" || it.key() == "pe_stall_cycles") continue;
                EXPECT_EQ(it.value().get<double>(), ana[it.key()].get<double>())
                    << it.key() << " | " << describe(s, m, a);
            }
            const double ratio = est.cycles / static_cast<double>(r.stats.cycles);
            worst = std::max(worst, std::max(ratio, 1.0 / ratio));
            EXPECT_GT(ratio, 0.6) << describe(s, m, a);
            EXPECT_LT(ratio, 1.5) << describe(s, m, a);
        }
    }
    std::cout << "[estimate] worst cycle ratio " << worst << std::endl;
}

// With zeros spread uniformly, the expected counters are close to the simulated ones.
TEST(Estimate, ExpectedCountsAtPartialDensity) {
    auto g = rng_for(7);
    const core::LayerShape s =
        core::LayerShape::parse_spec("N=1,C=16,M=16,R=3,S=3,P=16,Q=16,pad=1");
    const auto w = random_tensor(g, s.weight_elems(), 1.0);
    const auto in = random_tensor(g, s.ifmap_elems(), 0.35);
    for (core::ZeroMode mode : {core::ZeroMode::kGate, core::ZeroMode::kSkip}) {
        const core::ArchConfig a = test::arch_with(mode);
        const Mapping m = default_mapping(s, a);
        const ArrayResult r = run_layer(s, m, a, in.data(), w.data());
        const ArrayEstimate est = estimate_layer(s, m, a, 0.35);
        EXPECT_NEAR(est.macs_performed / static_cast<double>(r.stats.macs_performed), 1.0, 0.03);
        EXPECT_NEAR(est.ifmap_spad_reads / static_cast<double>(r.stats.ifmap_spad_reads), 1.0,
                    0.03);
        EXPECT_NEAR(est.cycles / static_cast<double>(r.stats.cycles), 1.0, 0.35)
            << core::to_string(mode);
    }
}

TEST(DefaultMapping, ValidForManyLayersAndArchitectures) {
    auto g = rng_for(8);
    for (int iter = 0; iter < 300; ++iter) {
        core::LayerShape s = random_layer(g, 40);
        if (iter % 10 == 0) {  // large filters: row and column blocks
            s = core::LayerShape::parse_spec("C=2,M=2,R=" + std::to_string(uniform(g, 12, 15)) +
                                             ",S=" + std::to_string(uniform(g, 12, 15)) +
                                             ",P=3,Q=3");
        }
        const core::ArchConfig a = test::random_arch(g, core::ZeroMode::kGate);
        const Mapping m = default_mapping(s, a);
        EXPECT_FALSE(check_mapping(s, m, a))
            << describe(s, m, a) << ": " << *check_mapping(s, m, a);
    }
}

// AlexNet CONV1-3 on the 12x14 array as in the JSSC paper's mapping table: 11x7 sets two
// side by side, 5x27 sets folded into 5x14 + 5x13, 3x13 sets four high.
TEST(Mapping, SetGeometryMatchesEyerissExamples) {
    const core::ArrayParams a;
    SetGeometry g = set_geometry(11, 7, 1, a);
    EXPECT_EQ(g.folds, 1);
    EXPECT_EQ(g.sets_h, 2);
    EXPECT_EQ(g.stacks, 2);
    g = set_geometry(5, 27, 1, a);
    EXPECT_EQ(g.folds, 2);
    EXPECT_EQ(g.set_cols, 14);
    EXPECT_EQ(g.set_rows, 10);
    EXPECT_EQ(g.stacks, 1);
    g = set_geometry(3, 13, 1, a);
    EXPECT_EQ(g.sets_v, 4);
    EXPECT_EQ(g.stacks, 4);
    g = set_geometry(3, 13, 2, a);
    EXPECT_EQ(g.stacks, 2);
    EXPECT_EQ(set_geometry(5, 27, 2, a).stacks, 0);  // folded sets cannot chain
}

TEST(RunLayer, RejectsBadInput) {
    const core::LayerShape s = core::LayerShape::parse_spec("C=4,M=4,R=3,S=3,P=4,Q=4");
    const core::ArchConfig a;
    std::vector<int16_t> in(static_cast<size_t>(s.ifmap_elems()), 1);
    std::vector<int16_t> w(static_cast<size_t>(s.weight_elems()), 1);
    Mapping bad = default_mapping(s, a);
    bad.q = 5;
    EXPECT_THROW(run_layer(s, bad, a, in.data(), w.data()), core::InputError);
    RunOptions opt;
    opt.vcd_path = "/tmp/never.vcd";
    EXPECT_THROW(run_layer(s, default_mapping(s, a), a, in.data(), w.data(), opt),
                 core::InputError);
    EXPECT_THROW(run_layer(s, default_mapping(s, a), a, nullptr, w.data()), core::InputError);
}

}  // namespace
}  // namespace actsparse::hw
