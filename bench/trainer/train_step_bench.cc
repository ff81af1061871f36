// Time of one training step (forward, loss, backward, SGD step) with and without the
// activation penalty, same network, batch and data. Environment: ACTSPARSE_BENCH_NET
// (default mobilenetv2-cifar), ACTSPARSE_BENCH_WIDTH (1.0), ACTSPARSE_BENCH_BATCH (64),
// ACTSPARSE_BENCH_THREADS (2), ACTSPARSE_BENCH_DEVICE (cpu). BM_EvalDensity: the evaluation
// pass with and without the quantisation histograms (ACTSPARSE_BENCH_EVAL_IMAGES, 256).
//   trainer_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <string>

#include "core/network.h"
#include "trainer/cpu_memory.h"
#include "trainer/datasets.h"
#include "trainer/graph_net.h"
#include "trainer/penalty.h"
#include "trainer/penalty_plan.h"
#include "trainer/steps.h"

namespace {

using namespace actsparse;

std::string env(const char* name, const char* fallback) {
    const char* v = std::getenv(name);
    return v != nullptr && *v != '\0' ? v : fallback;
}

/// penalty: 0 none (baseline), 1 the proposed hybrid L1 + Hoyer on every sparse-input
/// layer (with cost weights from a MAC-proportional stand-in calibration; the weights do not
/// change the work). count: also count the non-zeros of every sparse conv input (what the
/// trainer does on every 8th step for its density log).
void BM_TrainStep(benchmark::State& state) {
    const bool with_penalty = state.range(0) != 0;
    const bool count = state.range(1) != 0;
    const std::string net_name = env("ACTSPARSE_BENCH_NET", "mobilenetv2-cifar");
    const double width = std::stod(env("ACTSPARSE_BENCH_WIDTH", "1.0"));
    const int64_t batch = std::stoll(env("ACTSPARSE_BENCH_BATCH", "64"));
    at::set_num_threads(std::stoi(env("ACTSPARSE_BENCH_THREADS", "2")));
    const torch::Device device(env("ACTSPARSE_BENCH_DEVICE", "cpu"));
    torch::manual_seed(1);

    const core::Network net = core::builtin_network(net_name, {1, width, 0});
    trainer::GraphNet model(net);
    model->to(device);
    model->to_channels_last();
    model->train();
    torch::optim::SGD opt(model->parameters(),
                          torch::optim::SGDOptions(0.01).momentum(0.9).weight_decay(5e-4));
    trainer::Calibration calib;
    calib.path = "bench";
    calib.network = net.name;
    for (const auto& l : net.conv_layers()) {
        trainer::CalibrationLayer cl;
        cl.index = l.index;
        cl.name = l.name;
        cl.e_l = static_cast<double>(l.shape.macs());
        cl.c_l = static_cast<double>(l.shape.macs()) / (l.shape.G > 1 ? 1.0 : 4.0);
        calib.layers.push_back(cl);
    }
    trainer::PenaltySettings ps;
    ps.method = with_penalty ? trainer::Method::kProposedHybrid : trainer::Method::kBaseline;
    ps.lambda1 = ps.lambda2 = with_penalty ? 1e-3 : 0.0;
    const trainer::ActivationPenalty penalty(trainer::plan_penalty(net.conv_layers(), &calib, ps),
                                             static_cast<int>(net.conv_layers().size()));

    const auto& in = net.input();
    const torch::Tensor x = torch::randn({batch, in.channels, in.height, in.width})
                                .contiguous(torch::MemoryFormat::ChannelsLast)
                                .to(device);
    const torch::Tensor y = torch::randint(net.num_classes, {batch}, torch::kInt64).to(device);
    // Warm-up: allocator and oneDNN primitive caches.
    std::vector<bool> count_layers;
    for (const auto& l : net.conv_layers()) count_layers.push_back(count && l.input_sparse);
    for (int i = 0; i < 2; ++i) trainer::train_step(model, opt, penalty, x, y, count_layers);
    for (auto _ : state) {
        const auto st = trainer::train_step(model, opt, penalty, x, y, count_layers);
        benchmark::DoNotOptimize(st.stats.to(torch::kCPU).data_ptr<double>()[0]);
    }
    state.counters["images/s"] = benchmark::Counter(static_cast<double>(batch),
                                                    benchmark::Counter::kIsIterationInvariantRate);
    state.SetLabel(net_name + " width " + env("ACTSPARSE_BENCH_WIDTH", "1.0") + " batch " +
                   std::to_string(batch) + (with_penalty ? " +penalty" : "") +
                   (count ? " +density" : ""));
}

/// The penalty alone: forward and backward of the hybrid term on the activations of one
/// forward pass (arg 1: the fused autograd node the trainer uses; 0: the same terms composed
/// from plain LibTorch ops, for comparison).
void BM_PenaltyOnly(benchmark::State& state) {
    const bool fused = state.range(0) != 0;
    const std::string net_name = env("ACTSPARSE_BENCH_NET", "mobilenetv2-cifar");
    const double width = std::stod(env("ACTSPARSE_BENCH_WIDTH", "1.0"));
    const int64_t batch = std::stoll(env("ACTSPARSE_BENCH_BATCH", "64"));
    at::set_num_threads(std::stoi(env("ACTSPARSE_BENCH_THREADS", "2")));
    torch::manual_seed(1);
    const core::Network net = core::builtin_network(net_name, {1, width, 0});
    trainer::GraphNet model(net);
    model->to_channels_last();
    const auto layers = net.conv_layers();
    const auto& in = net.input();
    std::vector<torch::Tensor> acts;
    {
        torch::NoGradGuard no_grad;
        const torch::Tensor x = torch::randn({batch, in.channels, in.height, in.width})
                                    .contiguous(torch::MemoryFormat::ChannelsLast);
        acts = model->forward_capture(x, std::vector<bool>(layers.size(), true)).conv_inputs;
    }
    std::vector<trainer::LayerPenalty> plan;
    for (const auto& l : layers)
        if (l.input_sparse) {
            trainer::LayerPenalty p;
            p.conv_index = l.index;
            p.name = l.name;
            p.lambda1 = p.lambda2 = 1e-3;
            plan.push_back(p);
        }
    const trainer::ActivationPenalty penalty(plan, static_cast<int>(layers.size()));
    for (auto _ : state) {
        std::vector<torch::Tensor> leaves;
        for (const auto& a : acts) leaves.push_back(a.detach().requires_grad_(true));
        torch::Tensor total;
        if (fused) {
            total = penalty(leaves).total;
        } else {
            total = torch::zeros({});
            for (const auto& p : plan) {
                const auto& x = leaves[p.conv_index];
                total = total + p.lambda1 * trainer::l1_per_sample(x).mean() +
                        p.lambda2 * trainer::hoyer_per_sample(x).mean();
            }
        }
        total.backward();
        benchmark::DoNotOptimize(total.item<float>());
    }
    state.SetLabel(net_name + " width " + env("ACTSPARSE_BENCH_WIDTH", "1.0") + " batch " +
                   std::to_string(batch) + (fused ? " fused" : " composite"));
}

BENCHMARK(BM_PenaltyOnly)
    ->ArgNames({"fused"})
    ->Arg(1)
    ->Arg(0)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->MeasureProcessCPUTime()
    ->ComputeStatistics("min",
                        [](const std::vector<double>& v) {
                            return *std::min_element(v.begin(), v.end());
                        })
    ->MinTime(2.0);

/// Times `a` and `b` (each returns its seconds) back to back once per benchmark iteration,
/// so machine load hits both alike, and sets the counters `a_name` and `b_name` (median
/// milliseconds) and `overhead_%` (the median of the per-pair ratios b / a, minus 1).
template <typename A, typename B>
void time_pairs(benchmark::State& state, A a, B b, const char* a_name, const char* b_name) {
    std::vector<double> ta, tb, ratio;
    for (auto _ : state) {
        ta.push_back(a());
        tb.push_back(b());
        ratio.push_back(tb.back() / ta.back());
    }
    auto median = [](std::vector<double> v) {
        std::sort(v.begin(), v.end());
        return v.empty() ? 0.0 : v[v.size() / 2];
    };
    state.counters[a_name] = 1e3 * median(ta);
    state.counters[b_name] = 1e3 * median(tb);
    state.counters["overhead_%"] = 100.0 * (median(ratio) - 1.0);
}

/// The same comparison made robust to a busy machine: each iteration times one step
/// without and one with the penalty (two models, same data) back to back, and the counters
/// report the medians and the median of the per-pair overhead, so load that changes over
/// seconds affects both alike. Arg fused: 1 as the trainer runs (the penalty computed inside
/// the ReLU/ReLU6 that feed penalised convs, on CPU), 0 every penalised conv input tapped
/// (what CUDA and inputs that are not a direct ReLU output get).
void BM_PenaltyOverhead(benchmark::State& state) {
    const bool fuse = state.range(0) != 0;
    const std::string net_name = env("ACTSPARSE_BENCH_NET", "mobilenetv2-cifar");
    const double width = std::stod(env("ACTSPARSE_BENCH_WIDTH", "1.0"));
    const int64_t batch = std::stoll(env("ACTSPARSE_BENCH_BATCH", "64"));
    at::set_num_threads(std::stoi(env("ACTSPARSE_BENCH_THREADS", "2")));
    const torch::Device device(env("ACTSPARSE_BENCH_DEVICE", "cpu"));
    const core::Network net = core::builtin_network(net_name, {1, width, 0});
    const auto layers = net.conv_layers();
    struct Arm {
        trainer::GraphNet model;
        std::unique_ptr<torch::optim::SGD> opt;
        std::unique_ptr<trainer::ActivationPenalty> penalty;
    };
    auto make = [&](bool with_penalty) {
        torch::manual_seed(1);
        Arm a{trainer::GraphNet(net), nullptr, nullptr};
        a.model->to(device);
        a.model->to_channels_last();
        a.model->train();
        a.opt = std::make_unique<torch::optim::SGD>(a.model->parameters(),
                                                    torch::optim::SGDOptions(0.01).momentum(0.9));
        std::vector<trainer::LayerPenalty> plan;
        for (const auto& l : layers)
            if (with_penalty && l.input_sparse) {
                trainer::LayerPenalty p;
                p.conv_index = l.index;
                p.name = l.name;
                p.lambda1 = p.lambda2 = 1e-3;
                plan.push_back(p);
            }
        a.penalty = fuse ? std::make_unique<trainer::ActivationPenalty>(plan, net)
                         : std::make_unique<trainer::ActivationPenalty>(
                               plan, static_cast<int>(layers.size()));
        return a;
    };
    Arm base = make(false), pen = make(true);
    const auto& in = net.input();
    const torch::Tensor x = torch::randn({batch, in.channels, in.height, in.width})
                                .contiguous(torch::MemoryFormat::ChannelsLast)
                                .to(device);
    const torch::Tensor y = torch::randint(net.num_classes, {batch}, torch::kInt64).to(device);
    auto step = [&](Arm& a) {
        const auto t0 = std::chrono::steady_clock::now();
        const auto st = trainer::train_step(a.model, *a.opt, *a.penalty, x, y);
        benchmark::DoNotOptimize(st.stats.to(torch::kCPU).data_ptr<double>()[0]);
        return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    };
    for (int i = 0; i < 2; ++i) step(base), step(pen);
    time_pairs(
        state, [&] { return step(base); }, [&] { return step(pen); }, "base_ms", "penalty_ms");
    state.SetLabel(net_name + " width " + env("ACTSPARSE_BENCH_WIDTH", "1.0") + " batch " +
                   std::to_string(batch));
}

/// The evaluation pass (trainer::evaluate: forward, loss, per-layer counts) over
/// ACTSPARSE_BENCH_EVAL_IMAGES (256) random images, counting non-zero floats (the fast sign
/// sums, as the per-epoch validation does) and with the quantisation histograms and maxima
/// (the final validation and test passes), back to back per iteration as in
/// BM_PenaltyOverhead. Counters: the median times and the median per-pair overhead.
void BM_EvalDensity(benchmark::State& state) {
    const std::string net_name = env("ACTSPARSE_BENCH_NET", "mobilenetv2-cifar");
    const double width = std::stod(env("ACTSPARSE_BENCH_WIDTH", "1.0"));
    const int64_t batch = std::stoll(env("ACTSPARSE_BENCH_BATCH", "64"));
    const int64_t images = std::stoll(env("ACTSPARSE_BENCH_EVAL_IMAGES", "256"));
    at::set_num_threads(std::stoi(env("ACTSPARSE_BENCH_THREADS", "2")));
    const torch::Device device(env("ACTSPARSE_BENCH_DEVICE", "cpu"));
    torch::manual_seed(1);
    const core::Network net = core::builtin_network(net_name, {1, width, 0});
    trainer::GraphNet model(net);
    model->to(device);
    model->to_channels_last();
    const auto& in = net.input();
    trainer::DatasetInfo info = trainer::dataset_info(
        in.channels == 1 ? trainer::DatasetKind::kFashionMnist : trainer::DatasetKind::kCifar10);
    trainer::ImageSet set;
    set.channels = in.channels, set.height = in.height, set.width = in.width;
    trainer::SplitMix64 rng(7);
    set.pixels.resize(static_cast<size_t>(images * set.image_bytes()));
    for (auto& p : set.pixels) p = static_cast<uint8_t>(rng.next() >> 56);
    for (int64_t i = 0; i < images; ++i)
        set.labels.push_back(static_cast<int64_t>(i % std::max<int64_t>(1, net.num_classes)));
    std::vector<int64_t> idx(static_cast<size_t>(images));
    for (int64_t i = 0; i < images; ++i) idx[static_cast<size_t>(i)] = i;
    auto eval = [&](bool stats) {
        const auto t0 = std::chrono::steady_clock::now();
        const auto r = trainer::evaluate(model, set, info, idx, batch, 0, device, stats);
        benchmark::DoNotOptimize(r.density.data());
        return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    };
    eval(false), eval(true);
    time_pairs(
        state, [&] { return eval(false); }, [&] { return eval(true); }, "float_ms", "quantised_ms");
    state.SetLabel(net_name + " width " + env("ACTSPARSE_BENCH_WIDTH", "1.0") + ", " +
                   std::to_string(images) + " images in batches of " + std::to_string(batch));
}

BENCHMARK(BM_EvalDensity)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(5);

BENCHMARK(BM_PenaltyOverhead)
    ->ArgNames({"fused"})
    ->Arg(1)
    ->Arg(0)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->Iterations(20);

BENCHMARK(BM_TrainStep)
    ->ArgNames({"penalty", "count"})
    ->Args({0, 0})
    ->Args({1, 0})
    ->Args({0, 1})
    ->Args({1, 1})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->MeasureProcessCPUTime()
    ->ComputeStatistics("min",
                        [](const std::vector<double>& v) {
                            return *std::min_element(v.begin(), v.end());
                        })
    ->MinTime(5.0);

}  // namespace

int main(int argc, char** argv) {
    // As `actsparse train` does (see trainer/cpu_memory.h); ACTSPARSE_BENCH_MALLOC=default
    // measures with glibc's defaults instead.
    if (env("ACTSPARSE_BENCH_MALLOC", "keep") != "default") actsparse::trainer::keep_freed_memory();
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
