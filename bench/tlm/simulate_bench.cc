// Host time of the whole accelerator model (mapper, array, GLB, TLM DRAM), fast fidelity,
// and of the mapper alone. Figures and the commands that produced them:
// docs/performance.md ("tlm/").
//   build/bin/simulate_bench --benchmark_filter=MobileNetV2   # every MobileNet-V2-CIFAR layer
//   build/bin/simulate_bench --benchmark_filter=Mapper        # find_mapping per layer
//   build/bin/simulate_bench --benchmark_filter='Vgg16Batch3/layer:0$'  # one VGG-16 layer
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <systemc>

#include "core/network.h"
#include "core/trace.h"
#include "tlm/mapper.h"
#include "tlm/simulate.h"

namespace {

using namespace actsparse;

std::vector<core::Trace> network_traces(const std::string& net_name, int64_t batch, double density,
                                        const core::ArchConfig& arch, int only_layer = -1) {
    const core::Network net = core::builtin_network(net_name);
    std::vector<core::Trace> traces;
    for (const auto& l : net.conv_layers(batch)) {
        if (only_layer >= 0 && l.index != only_layer) continue;
        core::SynthOptions so;
        so.density = density;
        so.seed = 1 + l.index;
        traces.push_back(core::synth_trace(l.shape, so, arch.frac_bits));
        traces.back().layer = l.name;
    }
    return traces;
}

void run_traces(benchmark::State& state, const std::vector<core::Trace>& traces,
                const tlm::SimOptions& opts) {
    double macs = 0;
    int64_t considered = 0;
    const std::clock_t cpu0 = std::clock();
    for (auto _ : state) {
        for (const auto& t : traces) {
            const tlm::LayerResult r = tlm::simulate_layer(t, opts);
            benchmark::DoNotOptimize(r.cycles_total);
            macs += static_cast<double>(r.dense_macs);
            considered += r.mappings_considered;
        }
    }
    // Process CPU time, worker threads included (the CPU column is this thread's only).
    state.counters["process_cpu_s"] =
        static_cast<double>(std::clock() - cpu0) / CLOCKS_PER_SEC / state.iterations();
    state.counters["layers"] = static_cast<double>(traces.size());
    state.counters["mappings_considered"] = static_cast<double>(considered);
    state.counters["dense_MAC_per_s"] = benchmark::Counter(macs, benchmark::Counter::kIsRate);
}

void run_network(benchmark::State& state, const std::string& net_name, core::ZeroMode mode) {
    tlm::SimOptions opts;
    opts.arch = core::load_arch("eyeriss-v1");
    opts.arch.zero_mode = mode;
    run_traces(state, network_traces(net_name, 1, 0.5, opts.arch), opts);
}

void BM_MobileNetV2CifarSkip(benchmark::State& s) {
    run_network(s, "mobilenetv2-cifar", core::ZeroMode::kSkip);
}
void BM_MobileNetV2CifarGate(benchmark::State& s) {
    run_network(s, "mobilenetv2-cifar", core::ZeroMode::kGate);
}
// Wall time (UseRealTime): simulate runs a layer's chunks on worker threads.
BENCHMARK(BM_MobileNetV2CifarSkip)->Unit(benchmark::kSecond)->Iterations(1)->UseRealTime();
BENCHMARK(BM_MobileNetV2CifarGate)->Unit(benchmark::kSecond)->Iterations(1)->UseRealTime();

/// One VGG-16 conv layer (arg: its index, 0-12) at batch 3, ifmap density 0.5, gate mode.
/// The 13 layers' times add up to the whole network's.
void BM_Vgg16Batch3(benchmark::State& state) {
    tlm::SimOptions opts;
    opts.arch = core::load_arch("eyeriss-v1");
    opts.arch.zero_mode = core::ZeroMode::kGate;
    run_traces(state, network_traces("vgg16", 3, 0.5, opts.arch, static_cast<int>(state.range(0))),
               opts);
}
BENCHMARK(BM_Vgg16Batch3)
    ->ArgName("layer")
    ->DenseRange(0, 12)
    ->Unit(benchmark::kSecond)
    ->Iterations(1)
    ->UseRealTime();

/// The mapper alone (energy objective, density 0.5) on every conv layer of a network:
/// median and largest time per layer, and whether a second search gives the same mappings.
void run_mapper(benchmark::State& state, const std::string& net_name, int64_t batch) {
    const core::ArchConfig arch = core::load_arch("eyeriss-v1");
    const auto layers = core::builtin_network(net_name).conv_layers(batch);
    std::vector<double> ms;
    bool same = true;
    int64_t considered = 0;
    for (auto _ : state) {
        ms.clear();
        considered = 0;
        for (const auto& l : layers) {
            const auto t0 = std::chrono::steady_clock::now();
            const tlm::MapperResult r =
                tlm::find_mapping(l.shape, arch, tlm::Objective::kEnergy, 0.5, l.name);
            ms.push_back(
                std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0)
                    .count());
            considered += r.considered;
            state.PauseTiming();
            const tlm::MapperResult again =
                tlm::find_mapping(l.shape, arch, tlm::Objective::kEnergy, 0.5, l.name);
            same = same && again.best.glb == r.best.glb && again.best.array == r.best.array &&
                   again.considered == r.considered;
            state.ResumeTiming();
        }
    }
    std::sort(ms.begin(), ms.end());
    state.counters["layers"] = static_cast<double>(layers.size());
    state.counters["median_ms"] = ms[ms.size() / 2];
    state.counters["max_ms"] = ms.back();
    state.counters["considered"] = static_cast<double>(considered);
    state.counters["deterministic"] = same ? 1 : 0;
}
void BM_MapperMobileNetV2Cifar(benchmark::State& s) { run_mapper(s, "mobilenetv2-cifar", 1); }
void BM_MapperVgg16Batch3(benchmark::State& s) { run_mapper(s, "vgg16", 3); }
void BM_MapperAlexNetBatch4(benchmark::State& s) { run_mapper(s, "alexnet", 4); }
BENCHMARK(BM_MapperMobileNetV2Cifar)->Unit(benchmark::kMillisecond)->Iterations(1);
BENCHMARK(BM_MapperVgg16Batch3)->Unit(benchmark::kMillisecond)->Iterations(1);
BENCHMARK(BM_MapperAlexNetBatch4)->Unit(benchmark::kMillisecond)->Iterations(1);

}  // namespace

int sc_main(int argc, char** argv) {
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
