// The write-back: the ofmap the simulator stores in DRAM is the next layer's input as its
// trace holds it (trainer/trace_export.cc quantises activations with torch::round, i.e.
// std::nearbyint: round to nearest, ties to even, then saturates to int16).
#include <gtest/gtest.h>

#include <cfenv>
#include <cmath>
#include <nlohmann/json.hpp>
#include <random>

#include "core/error.h"
#include "core/trace.h"
#include "tlm/simulate.h"

namespace actsparse::tlm {
namespace {

// The traces' quantiser, written independently: torch's CPU round kernel is std::nearbyint
// in the default rounding mode (to nearest, ties to even).
int16_t trace_quantiser(double x, int64_t f) {
    EXPECT_EQ(std::fegetround(), FE_TONEAREST);
    const double y = std::nearbyint(x * std::pow(2.0, static_cast<double>(f)));
    return static_cast<int16_t>(std::min(32767.0, std::max(-32768.0, y)));
}

TEST(WriteBack, QuantiserRoundsHalfToEvenAndSaturates) {
    EXPECT_EQ(quantise_activation(0.5 / 256, 8), 0);  // 0.5 -> 0
    EXPECT_EQ(quantise_activation(1.5 / 256, 8), 2);
    EXPECT_EQ(quantise_activation(2.5 / 256, 8), 2);
    EXPECT_EQ(quantise_activation(-2.5 / 256, 8), -2);
    EXPECT_EQ(quantise_activation(-3.5 / 256, 8), -4);
    EXPECT_EQ(quantise_activation(0.49 / 256, 8), 0);
    EXPECT_EQ(quantise_activation(0.51 / 256, 8), 1);
    EXPECT_EQ(quantise_activation(1e9, 8), 32767);
    EXPECT_EQ(quantise_activation(-1e9, 8), -32768);
    std::mt19937_64 rng(7);
    std::uniform_real_distribution<double> u(-200.0, 200.0);
    for (int i = 0; i < 100000; ++i) {
        const double x = u(rng);
        const int64_t f = static_cast<int64_t>(rng() % 16);
        ASSERT_EQ(quantise_activation(x, f), trace_quantiser(x, f)) << x << " f=" << f;
    }
}

// Accumulators chosen at and around every rounding tie of the next layer's format: the old
// write-back floored acc >> f (1.5 ulp -> 1, 0.75 -> 0, -0.25 -> -1); the trace holds
// round-half-even at the next layer's fraction bits.
TEST(WriteBack, EqualsTheNextLayersTraceValues) {
    core::Trace t;
    t.layer = "wb";
    t.shape = core::LayerShape::parse_spec("C=1,M=2,R=1,S=1,P=4,Q=4");
    t.frac_bits = 8;  // accumulators carry 16 fraction bits
    std::vector<int64_t> acc(static_cast<size_t>(t.shape.ofmap_elems()));
    for (size_t i = 0; i < acc.size(); ++i)
        acc[i] = (static_cast<int64_t>(i) - 12) * 64;  // steps of a quarter ulp at f = 8
    SimOptions o;
    o.arch = core::load_arch("eyeriss-v1");
    const auto expect = [&](int64_t f_out, const std::vector<double>& bias, bool relu) {
        std::vector<int16_t> out;
        for (size_t i = 0; i < acc.size(); ++i) {
            double x = static_cast<double>(acc[i]) / 65536.0;
            if (!bias.empty()) x += bias[i / 16];
            if (relu) x = std::max(0.0, x);
            out.push_back(trace_quantiser(x, f_out));
        }
        return out;
    };
    // Same format, no epilogue but the ReLU.
    const std::vector<int16_t> plain = write_back(t, acc, o);
    EXPECT_EQ(plain, expect(8, {}, true));
    EXPECT_EQ(plain[12 + 2], 0);  // 0.5 ulp: ties to even
    EXPECT_EQ(plain[12 + 3], 1);  // 0.75 ulp: up (floor gave 0)
    EXPECT_EQ(plain[12 + 6], 2);  // 1.5 ulp: ties to even (floor gave 1)
    o.relu_out = false;
    EXPECT_EQ(write_back(t, acc, o), expect(8, {}, false));
    EXPECT_EQ(write_back(t, acc, o)[12 - 1], 0);  // -0.25 ulp: 0 (floor gave -1)
    // The next layer's fraction bits from the trace, and a folded bias.
    t.extra["ofmap_frac_bits"] = "10";
    t.extra["bias"] = nlohmann::json(std::vector<double>{0.001, -0.002}).dump();
    o.relu_out = true;
    EXPECT_EQ(write_back(t, acc, o), expect(10, {0.001, -0.002}, true));
    o.ofmap_frac_bits = 6;  // an explicit option wins over the trace field
    EXPECT_EQ(write_back(t, acc, o), expect(6, {0.001, -0.002}, true));
    o.ofmap_frac_bits = -1;
    t.extra["ofmap_frac_bits"] = "x";
    EXPECT_THROW(write_back(t, acc, o), core::InputError);
    t.extra["ofmap_frac_bits"] = "16";
    EXPECT_THROW(write_back(t, acc, o), core::InputError);
}

// Through the whole simulator: the reported ofmap density is the density of the values
// the next layer's trace would hold.
TEST(WriteBack, SimulatedOfmapDensityIsTheNextLayersInputDensity) {
    core::SynthOptions so;
    so.density = 0.5;
    so.seed = 3;
    core::Trace t =
        core::synth_trace(core::LayerShape::parse_spec("C=8,M=8,R=3,S=3,P=6,Q=6,pad=1"), so, 8);
    SimOptions o;
    o.arch = core::load_arch("eyeriss-v1");
    for (const char* f_out : {"8", "4", "12"}) {
        t.extra["ofmap_frac_bits"] = f_out;
        const LayerResult r = simulate_layer(t, o);
        int64_t nz = 0;
        for (int64_t v : t.ofmap_acc)
            nz += trace_quantiser(std::max(0.0, static_cast<double>(v) / 65536.0),
                                  std::stoll(f_out)) != 0;
        EXPECT_DOUBLE_EQ(r.ofmap_density,
                         static_cast<double>(nz) / static_cast<double>(t.ofmap_acc.size()))
            << f_out;
    }
}

}  // namespace
}  // namespace actsparse::tlm
