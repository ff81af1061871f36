// Host throughput of the PE-array model: dense-equivalent simulated MACs per host second
// (shape.macs() / CPU time) on the conv layers of MobileNet-V2-CIFAR, in both fidelities.
// Figures and the command that produced them: docs/performance.md.
//
//   build-hw/bin/hw_bench                                  # everything
//   build-hw/bin/hw_bench --benchmark_filter='Network/fast' # one group
//
// Workload: Eyeriss v1 (ArchConfig defaults), hw::default_mapping, ifmaps at 50% uniform
// density (fixed seed), dense weights. Google Benchmark reports rates over CPU time.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <random>
#include <systemc>
#include <vector>

#include "bench/hw/random_values.h"
#include "core/arch.h"
#include "core/network.h"
#include "hw/array.h"

namespace actsparse::hw {
namespace {

struct Layer {
    core::LayerShape shape;
    Mapping mapping;
    std::vector<int16_t> ifmap, weight;
};

core::ArchConfig arch_for(core::ZeroMode mode) {
    core::ArchConfig a;  // the struct defaults are Eyeriss v1
    a.zero_mode = mode;
    return a;
}

std::vector<int16_t> random_values(std::mt19937_64& g, int64_t n, double density) {
    return bench::random_values(g, n, density, 255);
}

/// The network's conv layers with their tensors, built once.
const std::vector<Layer>& mobilenet_layers() {
    static const std::vector<Layer> layers = [] {
        std::vector<Layer> out;
        std::mt19937_64 g(42);
        const core::ArchConfig a = arch_for(core::ZeroMode::kGate);
        for (const core::ConvLayer& cl :
             core::builtin_network("mobilenetv2-cifar").conv_layers(1)) {
            Layer l;
            l.shape = cl.shape;
            l.mapping = default_mapping(cl.shape, a);
            l.ifmap = random_values(g, cl.shape.ifmap_elems(), 0.5);
            l.weight = random_values(g, cl.shape.weight_elems(), 1.0);
            out.push_back(std::move(l));
        }
        return out;
    }();
    return layers;
}

Fidelity fidelity_arg(int64_t v) { return v == 0 ? Fidelity::kFast : Fidelity::kCycle; }
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
void BM_Network(benchmark::State& state) {
    const auto& layers = mobilenet_layers();
    RunOptions opt;
    opt.fidelity = fidelity_arg(state.range(0));
    const core::ArchConfig a = arch_for(mode_arg(state.range(1)));
    int64_t macs = 0, cycles = 0;
    for (auto _ : state) {
        macs = cycles = 0;
        for (const Layer& l : layers) {
            const ArrayResult r =
                run_layer(l.shape, l.mapping, a, l.ifmap.data(), l.weight.data(), opt);
            benchmark::DoNotOptimize(r.ofmap.data());
            macs += l.shape.macs();
            cycles += r.stats.cycles;
        }
    }
    report(state, macs, cycles);
}
BENCHMARK(BM_Network)
    ->ArgNames({"cycle", "zero_mode"})
    ->Args({0, 1})
    ->Args({0, 2})
    ->Args({1, 1})
    ->Args({1, 2})
    ->Unit(benchmark::kSecond)
    ->MinTime(2.0);

/// Args: fidelity, layer index. Representative layers: 0 (3x3, C=3), 4 (3x3 depthwise),
/// 6 (1x1 expand 24->144), 8 (1x1 project 144->24), 51 (1x1 320->1280). Gate mode.
void BM_Layer(benchmark::State& state) {
    const Layer& l = mobilenet_layers().at(static_cast<size_t>(state.range(1)));
    RunOptions opt;
    opt.fidelity = fidelity_arg(state.range(0));
    const core::ArchConfig a = arch_for(core::ZeroMode::kGate);
    int64_t cycles = 0;
    for (auto _ : state) {
        const ArrayResult r =
            run_layer(l.shape, l.mapping, a, l.ifmap.data(), l.weight.data(), opt);
        benchmark::DoNotOptimize(r.ofmap.data());
        cycles = r.stats.cycles;
    }
    report(state, l.shape.macs(), cycles);
    state.SetLabel(l.shape.to_spec() + " " + to_string(l.mapping));
}
BENCHMARK(BM_Layer)
    ->ArgNames({"cycle", "layer"})
    ->ArgsProduct({{0, 1}, {0, 4, 6, 8, 51}})
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace actsparse::hw

// libsystemc owns main() and calls sc_main.
int sc_main(int argc, char** argv) {
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
