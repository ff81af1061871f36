// The Eyeriss v2-class array inside the accelerator model (tlm/v2.h, tlm/simulate_v2.cc):
// exact outputs in both fidelities, the MAC split, GLB tilings that fit, mapping JSON,
// energy from the v2 table.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "core/arch.h"
#include "core/error.h"
#include "core/trace.h"
#include "tlm/simulate.h"
#include "tlm/v2.h"

namespace actsparse::tlm {
namespace {

core::Trace synth_v2(const std::string& spec, double density, double weight_density,
                     uint64_t seed) {
    core::SynthOptions o;
    o.density = density;
    o.weight_density = weight_density;
    o.seed = seed;
    core::Trace t = core::synth_trace(core::LayerShape::parse_spec(spec), o, 4);
    t.layer = spec;
    return t;
}

SimOptions v2_opts(core::ZeroMode zm, hw::Fidelity f) {
    SimOptions so;
    so.arch = core::load_arch("eyeriss-v2");
    so.arch.zero_mode = zm;
    so.fidelity = f;
    return so;
}

const char* const kSpecs[] = {"C=8,M=16,R=3,S=3,P=10,Q=10,pad=1",
                              "C=16,M=16,G=16,R=3,S=3,P=8,Q=8,stride=2,pad=1",
                              "N=2,C=24,M=40,R=1,S=1,P=6,Q=6", "C=3,M=8,R=5,S=5,P=7,Q=9,pad=2"};

// Exact output and the MAC split, both fidelities agree in everything they report.
TEST(SimulateV2, ExactInBothFidelitiesAndMacsAddUp) {
    uint64_t seed = 11;
    for (const char* spec : kSpecs)
        for (core::ZeroMode zm :
             {core::ZeroMode::kNone, core::ZeroMode::kGate, core::ZeroMode::kSkip}) {
            const core::Trace t = synth_v2(spec, 0.45, 0.6, ++seed);
            const LayerResult fast = simulate_layer(t, v2_opts(zm, hw::Fidelity::kFast));
            const LayerResult cyc = simulate_layer(t, v2_opts(zm, hw::Fidelity::kCycle));
            EXPECT_EQ(fast.ofmap, t.ofmap_acc) << spec;
            EXPECT_EQ(cyc.ofmap, t.ofmap_acc) << spec;
            ASSERT_TRUE(fast.v2_stats && cyc.v2_stats);
            EXPECT_EQ(*fast.v2_stats, *cyc.v2_stats) << fast.v2_stats->diff(*cyc.v2_stats);
            EXPECT_EQ(fast.cycles_processing, cyc.cycles_processing) << spec;
            const auto& m = fast.mac_split;
            EXPECT_EQ(fast.accesses.mac_mac_performed + m.gated_iact + m.gated_weight +
                          m.skipped_iact + m.skipped_weight,
                      fast.dense_macs)
                << spec;
            EXPECT_EQ(m.gated_iact + m.gated_weight, fast.accesses.mac_mac_gated);
            EXPECT_EQ(m.skipped_iact + m.skipped_weight, fast.accesses.mac_mac_skipped);
            if (zm == core::ZeroMode::kSkip) {
                EXPECT_GT(m.skipped_iact, 0) << spec;
                EXPECT_GT(m.skipped_weight, 0) << spec;
            }
            if (zm == core::ZeroMode::kNone) {
                EXPECT_EQ(fast.accesses.mac_mac_performed, fast.dense_macs);
            }
            // The DMA replay holds the array for every chunk: total covers processing.
            EXPECT_GE(fast.cycles_total, fast.cycles_processing);
            EXPECT_GT(fast.energy.total(), 0.0);
            const nlohmann::json j = fast.to_json();
            EXPECT_TRUE(j.contains("v2"));
            EXPECT_EQ(j["macs"]["skipped_weight"].get<int64_t>(), m.skipped_weight);
            EXPECT_EQ(j["passes"].get<int64_t>(), fast.v2_stats->passes);
        }
}

// A layer whose iacts exceed the GLB iact banks is cut into chunks (channel chunks keep
// their psums in the psum banks) and stays exact; every chosen tiling fits.
TEST(SimulateV2, LargeLayerIsTiledAndExact) {
    const core::Trace t = synth_v2("C=64,M=32,R=3,S=3,P=32,Q=32,pad=1", 0.5, 1.0, 3);
    const SimOptions so = v2_opts(core::ZeroMode::kSkip, hw::Fidelity::kFast);
    const MapperResult mr = find_v2_mapping(t.shape, so.arch);
    EXPECT_FALSE(check_v2_tiling(t.shape, mr.best.glb, so.arch));
    const LayerResult r = simulate_layer(t, so);
    EXPECT_EQ(r.ofmap, t.ofmap_acc);
    EXPECT_GT(r.v2_info["chunks"].get<int64_t>(), 1);
    EXPECT_LE(r.v2_info["chunks"].get<int64_t>(), 8);
}

// Skip mode: fewer non-zero iacts and weights mean fewer cycles, less energy, fewer DRAM
// bytes (CSC off-chip).
TEST(SimulateV2, SparsityLowersCyclesEnergyAndDram) {
    const char* spec = "C=32,M=32,R=3,S=3,P=12,Q=12,pad=1";
    const SimOptions so = v2_opts(core::ZeroMode::kSkip, hw::Fidelity::kFast);
    const LayerResult dense = simulate_layer(synth_v2(spec, 1.0, 1.0, 5), so);
    const LayerResult sparse = simulate_layer(synth_v2(spec, 0.3, 0.4, 5), so);
    EXPECT_LT(sparse.cycles_processing, dense.cycles_processing);
    EXPECT_LT(sparse.energy.total(), dense.energy.total());
    EXPECT_LT(sparse.accesses.dram_ifmap_reads, dense.accesses.dram_ifmap_reads);
    EXPECT_LT(sparse.accesses.dram_filter_reads, dense.accesses.dram_filter_reads);
}

// A report's v2 mapping, passed back, gives the same numbers; a bare v2 array mapping is
// accepted; a v1 mapping on v2 (and the reverse) is an input error.
TEST(SimulateV2, MappingRoundTripAndTypeChecks) {
    const core::Trace t = synth_v2(kSpecs[0], 0.5, 0.7, 9);
    SimOptions so = v2_opts(core::ZeroMode::kSkip, hw::Fidelity::kFast);
    const LayerResult a = simulate_layer(t, so);
    const nlohmann::json mj = to_json(a.mapping);
    ASSERT_TRUE(mj.contains("v2"));
    so.mapping = layer_mapping_from_json(mj, "test");
    const LayerResult b = simulate_layer(t, so);
    EXPECT_EQ(a.cycles_total, b.cycles_total);
    EXPECT_DOUBLE_EQ(a.energy.total(), b.energy.total());
    so.mapping.reset();
    so.v2_array = a.mapping.v2;
    const LayerResult c = simulate_layer(t, so);
    EXPECT_EQ(c.cycles_total, a.cycles_total);
    // A v2 mapping that breaks a spad bound.
    hw::v2::V2Mapping bad = *a.mapping.v2;
    bad.m0 = 33;
    so.v2_array = bad;
    EXPECT_THROW(simulate_layer(t, so), core::InputError);
    // v1 mapping on v2, v2 mapping on v1.
    SimOptions v1;
    v1.arch = core::load_arch("eyeriss-v1");
    const core::Trace t1 = synth_v2(kSpecs[0], 0.5, 1.0, 9);
    const LayerResult r1 = simulate_layer(t1, v1);
    so.v2_array.reset();
    so.mapping = r1.mapping;
    EXPECT_THROW(simulate_layer(t, so), core::InputError);
    v1.mapping = a.mapping;
    EXPECT_THROW(simulate_layer(t1, v1), core::InputError);
}

// The energy levels add up to the total and follow the v2 table: doubling the MAC energy
// doubles the MAC level only.
TEST(SimulateV2, EnergyFromTheV2Table) {
    const core::Trace t = synth_v2(kSpecs[2], 0.5, 0.5, 4);
    SimOptions so = v2_opts(core::ZeroMode::kSkip, hw::Fidelity::kFast);
    const LayerResult a = simulate_layer(t, so);
    const Energy& e = a.energy;
    EXPECT_NEAR(
        e.dram + e.glb + e.noc + e.array_link + e.ifmap_spad + e.filter_spad + e.psum_spad + e.mac,
        e.total(), 1e-6 * e.total());
    EXPECT_NEAR(e.ifmap + e.filter + e.psum + e.ofmap + e.compute, e.total(), 1e-6 * e.total());
    EXPECT_NEAR(e.mac,
                a.v2_stats->macs_performed * so.arch.v2.energy.mac_pj +
                    (a.v2_stats->macs_gated() + a.v2_stats->mac_lanes_idle) *
                        so.arch.v2.energy.mac_gated_pj,
                1e-9);
    EXPECT_NEAR(e.dram,
                8.0 * 27.5 *
                    (a.v2_info["dram_bytes"]["ifmap"].get<double>() +
                     a.v2_info["dram_bytes"]["weight"].get<double>() +
                     a.v2_info["dram_bytes"]["ofmap"].get<double>()),
                1e-6 * e.dram);
    so.arch.v2.energy.mac_pj *= 2;
    const LayerResult b = simulate_layer(t, so);
    EXPECT_NEAR(b.energy.mac - a.energy.mac,
                a.v2_stats->macs_performed * so.arch.v2.energy.mac_pj / 2, 1e-6);
    EXPECT_DOUBLE_EQ(b.energy.dram, a.energy.dram);
}

}  // namespace
}  // namespace actsparse::tlm
