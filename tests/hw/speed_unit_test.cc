// The host-speed shortcuts of issue 16 must not change a single count: estimate_layer's
// reuse of equal passes, and the engine's reuse of PEs from earlier engines.
#include <gtest/gtest.h>

#include "hw/array.h"
#include "hw/estimate.h"
#include "test_util.h"

namespace actsparse::hw {
namespace {

using test::random_layer;
using test::random_mapping;
using test::random_tensor;
using test::rng_for;
using test::uniform;

// estimate_layer reuses the estimate of a pass whose tables and sizes equal an earlier one's;
// the sum must be bit for bit that of estimate_pass over every planned pass.
TEST(EstimateLayer, EqualsTheSumOfItsPassesExactly) {
    auto g = rng_for(16001);
    core::ArchConfig a;
    for (int iter = 0; iter < 200; ++iter) {
        a.zero_mode = static_cast<core::ZeroMode>(iter % 3);
        const core::LayerShape s = random_layer(g, 12);
        const Mapping m = iter % 2 == 0 ? default_mapping(s, a) : random_mapping(g, s, a);
        const double d = static_cast<double>(uniform(g, 0, 10)) / 10.0;
        ArrayEstimate sum;
        for (const PassTile& tile : plan_passes(s, m)) sum += estimate_pass(s, m, a, tile, d);
        const ArrayEstimate layer = estimate_layer(s, m, a, d);
#define ACTSPARSE_SAME(name, doc) \
    EXPECT_EQ(layer.name, sum.name) << #name << " " << s.to_spec() << " " << to_string(m);
        ACTSPARSE_ARRAY_STATS_FIELDS(ACTSPARSE_SAME)
#undef ACTSPARSE_SAME
    }
}

// An engine takes its PEs from engines that ran before it, possibly with other PE
// parameters and another zero mode; a reused PE must behave like a new one.
TEST(ArrayEngine, ReusedPesGiveTheResultsOfNewOnes) {
    auto g = rng_for(16002);
    core::ArchConfig small;
    small.pe.fifo_depth_words = 2;
    small.pe.psum_fifo_depth_words = 3;
    small.pe.ifmap_spad_words = 15;
    small.pe.filter_spad_words = 300;
    small.pe.psum_spad_words = 30;
    small.zero_mode = core::ZeroMode::kSkip;
    for (int iter = 0; iter < 12; ++iter) {
        core::ArchConfig a;
        a.zero_mode = static_cast<core::ZeroMode>(iter % 3);
        const core::LayerShape s = random_layer(g, 9);
        const Mapping m = default_mapping(s, a);
        const auto in = random_tensor(g, s.ifmap_elems(), 0.5);
        const auto w = random_tensor(g, s.weight_elems(), 0.8);
        const ArrayResult first = run_layer(s, m, a, in.data(), w.data());
        // Other engines in between leave their PEs in other states and sizes.
        const core::LayerShape o = random_layer(g, 9);
        const auto oin = random_tensor(g, o.ifmap_elems(), 0.3);
        const auto ow = random_tensor(g, o.weight_elems(), 1.0);
        run_layer(o, default_mapping(o, small), small, oin.data(), ow.data());
        const ArrayResult again = run_layer(s, m, a, in.data(), w.data());
        EXPECT_EQ(again.stats, first.stats) << again.stats.diff(first.stats) << s.to_spec();
        EXPECT_EQ(again.ofmap, first.ofmap) << s.to_spec();
        ASSERT_EQ(again.passes.size(), first.passes.size());
        for (size_t p = 0; p < first.passes.size(); ++p)
            EXPECT_EQ(again.passes[p].stats, first.passes[p].stats) << "pass " << p;
    }
}

}  // namespace
}  // namespace actsparse::hw
