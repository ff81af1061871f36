// Host throughput of the Eyeriss v2-class array model (hw/v2): dense-equivalent simulated MACs
// per host second (shape.macs() / CPU time) on the conv layers of MobileNet-V2-CIFAR, and the
// cost of the v2 mapper against v1's default_mapping per layer. Figures: docs/v2.md.
//
//   build-v2/bin/hw_v2_bench                                      # everything
//   build-v2/bin/hw_v2_bench --benchmark_filter='V2Network/cycle:0' # the fast fidelity
//
// Workload: configs/eyeriss-v2.yaml, default_v2_mapping, iacts at 50% and weights at 50%
// uniform density (fixed seed). Google Benchmark reports rates over CPU time.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <random>
#include <systemc>
#include <vector>

#include "bench/hw/random_values.h"
#include "core/arch.h"
#include "core/network.h"
#include "hw/array.h"
#include "hw/v2/array_v2.h"

namespace actsparse::hw::v2 {
namespace {

struct Layer {
    core::LayerShape shape;
    V2Mapping mapping;
    std::vector<int16_t> ifmap, weight;
};

core::ArchConfig arch_for(core::ZeroMode mode) {
    core::ArchConfig a = core::load_arch("eyeriss-v2");
    a.zero_mode = mode;
    return a;
}

std::vector<int16_t> random_values(std::mt19937_64& g, int64_t n, double density) {
    return bench::random_values(g, n, density, 127);
}

const std::vector<Layer>& mobilenet_layers() {
    static const std::vector<Layer> layers = [] {
        std::vector<Layer> out;
        std::mt19937_64 g(42);
        const core::ArchConfig a = arch_for(core::ZeroMode::kSkip);
        for (const core::ConvLayer& cl :
             core::builtin_network("mobilenetv2-cifar").conv_layers(1)) {
            Layer l;
            l.shape = cl.shape;
            l.mapping = default_v2_mapping(cl.shape, a);
            l.ifmap = random_values(g, cl.shape.ifmap_elems(), 0.5);
            l.weight = random_values(g, cl.shape.weight_elems(), 0.5);
            out.push_back(std::move(l));
        }
        return out;
    }();
    return layers;
}

core::ZeroMode mode_arg(int64_t v) {
    return v == 0 ? core::ZeroMode::kNone : v == 1 ? core::ZeroMode::kGate : core::ZeroMode::kSkip;
}

void report(benchmark::State& state, int64_t macs, int64_t cycles) {
    state.counters["MAC/s"] = benchmark::Counter(static_cast<double>(macs),
                                                 benchmark::Counter::kIsIterationInvariantRate);
    state.counters["sim_cycles/s"] = benchmark::Counter(
        static_cast<double>(cycles), benchmark::Counter::kIsIterationInvariantRate);
    state.counters["sim_cycles"] = static_cast<double>(cycles);
}

/// Args: fidelity (0 fast, 1 cycle), zero mode (0 none, 1 gate, 2 skip). All conv layers.
void BM_V2Network(benchmark::State& state) {
    const auto& layers = mobilenet_layers();
    V2RunOptions opt;
    opt.fidelity = state.range(0) == 0 ? Fidelity::kFast : Fidelity::kCycle;
    const core::ArchConfig a = arch_for(mode_arg(state.range(1)));
    int64_t macs = 0, cycles = 0;
    for (auto _ : state) {
        macs = cycles = 0;
        for (const Layer& l : layers) {
            const V2Result r =
                run_layer_v2(l.shape, l.mapping, a, l.ifmap.data(), l.weight.data(), opt);
            benchmark::DoNotOptimize(r.ofmap.data());
            macs += l.shape.macs();
            cycles += r.stats.cycles;
        }
    }
    report(state, macs, cycles);
}
BENCHMARK(BM_V2Network)
    ->ArgNames({"cycle", "zero_mode"})
    ->Args({0, 0})
    ->Args({0, 1})
    ->Args({0, 2})
    ->Args({1, 2})
    ->Unit(benchmark::kSecond)
    ->MinTime(1.0);

/// The mappers over all conv layers: arg 0 = v1 hw::default_mapping, 1 = default_v2_mapping.
void BM_Mapper(benchmark::State& state) {
    const auto& layers = mobilenet_layers();
    const core::ArchConfig v1 = core::load_arch("eyeriss-v1");
    const core::ArchConfig v2 = arch_for(core::ZeroMode::kSkip);
    for (auto _ : state)
        for (const Layer& l : layers) {
            if (state.range(0) == 0)
                benchmark::DoNotOptimize(hw::default_mapping(l.shape, v1));
            else
                benchmark::DoNotOptimize(default_v2_mapping(l.shape, v2));
        }
    state.counters["layers/s"] = benchmark::Counter(static_cast<double>(layers.size()),
                                                    benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_Mapper)->ArgNames({"v2"})->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace actsparse::hw::v2

// libsystemc owns main() and calls sc_main.
int sc_main(int argc, char** argv) {
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
