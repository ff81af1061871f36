// `actsparse trace export`: real traces of a trained run for the simulator.
//
// Weights are exported as the accelerator runs them: where a conv feeds only a BatchNorm, the
// BN (eval mode, running statistics) is folded into the conv: W'[m] = W[m] * g[m] with
// g = gamma / sqrt(running_var + eps), and the folded bias beta - running_mean * g (+ the
// conv's own bias * g) goes into the trace metadata ("bias", real units), since the trace
// holds the MACs only. ofmap_acc is the exact integer convolution of the quantised ifmap and
// weight, so ofmap_acc * 2^-(2*frac_bits) + bias is the BN output of the float model up to
// quantisation.
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "core/error.h"
#include "core/trace.h"
#include "trainer/batches.h"
#include "trainer/checkpoint.h"
#include "trainer/datasets.h"
#include "trainer/graph_net.h"
#include "trainer/train.h"

namespace actsparse::trainer {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr int64_t kMaxFracBits = 15;

/// The largest f in [0, 15] with max_abs * 2^f <= 32767 (15 for an all-zero tensor).
int64_t frac_bits_for(double max_abs) {
    if (!(max_abs > 0.0)) return kMaxFracBits;
    const double f = std::floor(std::log2(32767.0 / max_abs));
    return static_cast<int64_t>(std::max(0.0, std::min(static_cast<double>(kMaxFracBits), f)));
}

/// round(x * 2^f) saturated to int16; returns the int16 values as a tensor and counts clips.
torch::Tensor quantise(const torch::Tensor& x, int64_t f, int64_t* saturated) {
    const torch::Tensor scaled = torch::round(x.to(torch::kFloat64) * std::ldexp(1.0, f));
    *saturated = (scaled.abs() > 32767.0).sum().item<int64_t>();
    return scaled.clamp(-32768.0, 32767.0).to(torch::kInt16).contiguous();
}

template <typename T>
std::vector<T> to_vector(const torch::Tensor& t) {
    const torch::Tensor c = t.contiguous();
    return std::vector<T>(c.data_ptr<T>(), c.data_ptr<T>() + c.numel());
}

std::string file_safe(const std::string& name) {
    std::string s = name;
    for (char& c : s)
        if (c == '/' || c == '\\' || c == ' ') c = '_';
    return s;
}

/// `i` zero-padded to the digits of the largest index, so the files sort in layer order.
std::string padded_index(size_t i, size_t count) {
    const size_t width = std::to_string(count > 0 ? count - 1 : 0).size();
    std::string s = std::to_string(i);
    return std::string(width > s.size() ? width - s.size() : 0, '0') + s;
}

}  // namespace

// Whether every consumer path of conv op `op` (through one optional BatchNorm) is a ReLU or
// ReLU6: then the accelerator writes the ofmap ReLU'd, as the next layer reads it.
bool relu_after(const core::Network& net, int op) {
    std::vector<int> frontier = {op};
    for (int step = 0; step < 2; ++step) {
        std::vector<int> next;
        bool all_relu = true, any = false;
        for (size_t k = 0; k < net.ops.size(); ++k)
            for (int in : net.ops[k].inputs)
                if (std::find(frontier.begin(), frontier.end(), in) != frontier.end()) {
                    any = true;
                    const core::OpKind kind = net.ops[k].kind;
                    if (kind == core::OpKind::kBatchNorm && step == 0)
                        next.push_back(static_cast<int>(k));
                    else if (kind != core::OpKind::kReLU && kind != core::OpKind::kReLU6)
                        all_relu = false;
                }
        if (!any || !all_relu) return false;
        if (next.empty()) return true;
        frontier = next;
    }
    return false;
}

ExportSummary export_traces(const ExportOptions& e) {
    if (e.run.empty()) throw core::InputError("--run", "required");
    if (e.out.empty()) throw core::InputError("--out", "required");
    if (e.images < 1) throw core::InputError("--images", "must be >= 1");
    if (e.threads < 0) throw core::InputError("--threads", "must be >= 0");
    const TrainOptions run = load_run_options(e.run);
    const DatasetKind kind = parse_dataset(run.dataset, e.run + "/config.json: options.dataset");
    const DatasetInfo info = dataset_info(kind);
    const core::Network net = core::builtin_network(run.net, {1, run.width, info.num_classes});
    const std::string ckpt = e.checkpoint.empty() ? resolve_checkpoint_path(e.run) : e.checkpoint;
    if (e.threads > 0) at::set_num_threads(static_cast<int>(e.threads));

    GraphNet model(net);
    load_checkpoint(ckpt, model, nullptr, false, torch::kCPU);
    model->eval();
    const DatasetFiles data = load_dataset(kind, run.data, run.data_cache);
    if (e.images > data.test.size())
        throw core::InputError(
            "--images", "the test set has only " + std::to_string(data.test.size()) + " images");
    std::vector<int64_t> idx(e.images);
    for (int64_t i = 0; i < e.images; ++i) idx[i] = i;

    torch::NoGradGuard no_grad;
    const Batch batch = make_batch(data.test, info, idx.data(), e.images, false, 0);
    const auto& layers = model->conv_layers();
    const ForwardOutput fwd =
        model->forward_capture(batch.images, std::vector<bool>(layers.size(), true));
    const auto shapes = net.conv_layers(e.images);

    std::error_code ec;
    fs::create_directories(e.out, ec);
    if (ec || !fs::is_directory(e.out))
        throw core::InputError("--out", e.out + ": cannot create the folder");

    json manifest_layers = json::array();
    for (size_t i = 0; i < layers.size(); ++i) {
        const core::LayerShape& shape = shapes[i].shape;
        const torch::Tensor x = fwd.conv_inputs[i].contiguous();
        auto conv = model->conv(static_cast<int>(i));
        torch::Tensor w = conv->weight.detach().to(torch::kFloat64);
        torch::Tensor bias = conv->options.bias() ? conv->bias.detach().to(torch::kFloat64)
                                                  : torch::zeros({shape.M}, torch::kFloat64);
        auto bn = model->bn_after(static_cast<int>(i));
        const bool folded = !bn.is_empty();
        if (folded) {
            const torch::Tensor g =
                bn->weight.detach().to(torch::kFloat64) /
                torch::sqrt(bn->running_var.to(torch::kFloat64) + bn->options.eps());
            w = w * g.view({-1, 1, 1, 1});
            bias = bn->bias.detach().to(torch::kFloat64) +
                   (bias - bn->running_mean.to(torch::kFloat64)) * g;
        }
        const double max_x = x.numel() ? x.abs().max().item<double>() : 0.0;
        const double max_w = w.numel() ? w.abs().max().item<double>() : 0.0;
        const int64_t f = std::min(frac_bits_for(max_x), frac_bits_for(max_w));
        int64_t sat_x = 0, sat_w = 0;
        const torch::Tensor qx = quantise(x, f, &sat_x);
        const torch::Tensor qw = quantise(w, f, &sat_w);
        // Integer products below 2^30 summed over C/G*R*S < 2^22 terms stay below 2^53, so
        // the float64 convolution is exact.
        if (shape.c_per_group() * shape.R * shape.S >= (int64_t{1} << 22))
            core::model_bug("trainer::export_traces", "layer too large for exact float64 sums");
        const torch::Tensor acc =
            torch::conv2d(qx.to(torch::kFloat64), qw.to(torch::kFloat64), {},
                          {shape.Hstride, shape.Wstride}, {shape.Hpad, shape.Wpad}, {1, 1}, shape.G)
                .to(torch::kInt64)
                .contiguous();

        core::Trace t;
        t.network = net.name;
        t.layer = layers[i].name;
        t.shape = shape;
        t.frac_bits = f;
        t.ifmap = to_vector<int16_t>(qx);
        t.weight = to_vector<int16_t>(qw);
        t.ofmap_acc = to_vector<int64_t>(acc);
        if (e.with_float) t.ifmap_float = to_vector<float>(x.to(torch::kFloat32));
        t.extra["run"] = e.run;
        t.extra["checkpoint"] = ckpt;
        t.extra["layer_index"] = std::to_string(i);
        t.extra["input_sparse"] = layers[i].input_sparse ? "true" : "false";
        t.extra["dataset"] = run.dataset;
        t.extra["images"] = "test[0:" + std::to_string(e.images) + "]";
        t.extra["bn_folded"] = folded ? "true" : "false";
        t.extra["bias"] = json(to_vector<double>(bias)).dump();
        t.extra["relu_after"] = relu_after(net, shapes[i].op) ? "true" : "false";
        t.extra["saturated"] = std::to_string(sat_x + sat_w);
        const std::string file =
            padded_index(i, layers.size()) + "_" + file_safe(layers[i].name) + ".trace";
        core::write_trace((fs::path(e.out) / file).string(), t);

        const double nz_float = static_cast<double>(torch::count_nonzero(x).item<int64_t>()) /
                                std::max<int64_t>(1, x.numel());
        manifest_layers.push_back({{"index", i},
                                   {"name", layers[i].name},
                                   {"file", file},
                                   {"shape", shape.to_spec()},
                                   {"macs", shape.macs()},
                                   {"input_sparse", layers[i].input_sparse},
                                   {"frac_bits", f},
                                   {"density", t.density()},
                                   {"density_float", nz_float},
                                   {"bn_folded", folded},
                                   {"saturated", sat_x + sat_w}});
    }
    const json manifest = {{"schema", "actsparse.trace-manifest/1"},
                           {"network", net.name},
                           {"width", run.width},
                           {"run", e.run},
                           {"checkpoint", ckpt},
                           {"dataset", run.dataset},
                           {"split", "test"},
                           {"first_image", 0},
                           {"images", e.images},
                           {"weights", "conv weights with the following BatchNorm folded in"},
                           {"layers", manifest_layers}};
    const std::string manifest_path = (fs::path(e.out) / "manifest.json").string();
    core::write_file_atomic(manifest_path, manifest.dump(2) + "\n");
    ExportSummary summary;
    summary.manifest = manifest_path;
    summary.traces = static_cast<int64_t>(manifest_layers.size());
    for (const auto& l : manifest_layers)
        summary.bytes +=
            static_cast<int64_t>(fs::file_size(fs::path(e.out) / l.at("file").get<std::string>()));
    return summary;
}

}  // namespace actsparse::trainer
