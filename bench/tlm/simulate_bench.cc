// Host time to simulate every conv layer of MobileNet-V2-CIFAR at ifmap density 0.5 through
// the whole accelerator (mapper, array, GLB, TLM DRAM), fast fidelity. Target: <= 10 s.
//   build/bin/simulate_bench --benchmark_filter=MobileNetV2
#include <benchmark/benchmark.h>

#include <systemc>

#include "core/network.h"
#include "core/trace.h"
#include "tlm/simulate.h"

namespace {

using namespace actsparse;

void run_network(benchmark::State& state, const std::string& net_name, core::ZeroMode mode) {
    const core::Network net = core::builtin_network(net_name);
    tlm::SimOptions opts;
    opts.arch = core::load_arch("eyeriss-v1");
    opts.arch.zero_mode = mode;
    std::vector<core::Trace> traces;
    for (const auto& l : net.conv_layers(1)) {
        core::SynthOptions so;
        so.density = 0.5;
        so.seed = 1 + l.index;
        traces.push_back(core::synth_trace(l.shape, so, opts.arch.frac_bits));
    }
    double macs = 0;
    for (auto _ : state) {
        for (const auto& t : traces) {
            const tlm::LayerResult r = tlm::simulate_layer(t, opts);
            benchmark::DoNotOptimize(r.cycles_total);
            macs += static_cast<double>(r.dense_macs);
        }
    }
    state.counters["layers"] = static_cast<double>(traces.size());
    state.counters["dense_MAC_per_s"] = benchmark::Counter(macs, benchmark::Counter::kIsRate);
}

void BM_MobileNetV2CifarSkip(benchmark::State& s) {
    run_network(s, "mobilenetv2-cifar", core::ZeroMode::kSkip);
}
void BM_MobileNetV2CifarGate(benchmark::State& s) {
    run_network(s, "mobilenetv2-cifar", core::ZeroMode::kGate);
}
BENCHMARK(BM_MobileNetV2CifarSkip)->Unit(benchmark::kSecond)->Iterations(1);
BENCHMARK(BM_MobileNetV2CifarGate)->Unit(benchmark::kSecond)->Iterations(1);

}  // namespace

int sc_main(int argc, char** argv) {
    benchmark::Initialize(&argc, argv);
    benchmark::RunSpecifiedBenchmarks();
    return 0;
}
