// `actsparse trace export`: real traces of a trained run for the simulator.
//
// Weights are exported as the accelerator runs them: where a conv feeds only a BatchNorm, the
// BN (eval mode, running statistics) is folded into the conv: W'[m] = W[m] * g[m] with
// g = gamma / sqrt(running_var + eps), and the folded bias beta - running_mean * g (+ the
// conv's own bias * g) goes into the trace metadata ("bias", real units), since the trace
// holds the MACs only. ofmap_acc is the exact integer convolution of the quantised ifmap and
// weight, so ofmap_acc * 2^-(2*frac_bits) + bias is the BN output of the float model up to
// quantisation. frac_bits per layer are the run's own (summary.json "quantisation", fixed
// from its validation split) for its final weights, so the traces hold the densities its
// summary reports; else they are fixed from the exported images (trainer/quantise.h).
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <optional>

#include "core/error.h"
#include "core/trace.h"
#include "trainer/batches.h"
#include "trainer/checkpoint.h"
#include "trainer/datasets.h"
#include "trainer/graph_net.h"
#include "trainer/quantise.h"
#include "trainer/train.h"

namespace actsparse::trainer {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

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

/// The fraction bits a finished run fixed per conv layer (summary.json "quantisation"), and
/// the split their activation maxima came from.
struct RunFracBits {
    std::vector<int64_t> frac_bits;
    std::string source;
};

/// The run's recorded fraction bits, or nothing when its summary.json is absent or predates
/// them. A summary that has them but does not fit `layers` is bad input.
std::optional<RunFracBits> read_run_frac_bits(const std::string& run_dir,
                                              const std::string& network,
                                              const std::vector<core::ConvLayer>& layers) {
    const std::string path = (fs::path(run_dir) / "summary.json").string();
    if (!fs::exists(path)) return std::nullopt;
    json j;
    try {
        j = json::parse(core::read_file(path));
    } catch (const json::exception& ex) {
        throw core::InputError(path, std::string("not valid JSON: ") + ex.what());
    }
    if (!j.is_object() || !j.contains("quantisation")) return std::nullopt;
    // A string field, or "" when it is missing or of another type (then it cannot match).
    auto text = [](const json& o, const char* key) {
        return o.contains(key) && o[key].is_string() ? o[key].get<std::string>() : std::string();
    };
    if (text(j, "network") != network)
        throw core::InputError(path + ": network", "is not " + network);
    const json& q = j["quantisation"];
    const std::string where = path + ": quantisation";
    if (!q.is_object() || !q.contains("source") ||
        (q["source"] != "validation" && q["source"] != "test"))
        throw core::InputError(where + ".source", "must be \"validation\" or \"test\"");
    if (!q.contains("layers") || !q["layers"].is_array() || q["layers"].size() != layers.size())
        throw core::InputError(where + ".layers", "must list the " + std::to_string(layers.size()) +
                                                      " conv layers of " + network);
    RunFracBits r;
    r.source = q["source"].get<std::string>();
    for (size_t i = 0; i < layers.size(); ++i) {
        const json& l = q["layers"][i];
        const std::string lw = where + ".layers[" + std::to_string(i) + "]";
        if (!l.is_object() || text(l, "name") != layers[i].name)
            throw core::InputError(lw + ".name", "is not " + layers[i].name);
        if (!l.contains("frac_bits") || !l["frac_bits"].is_number_integer() ||
            l["frac_bits"].get<int64_t>() < 0 || l["frac_bits"].get<int64_t>() > kMaxFracBits)
            throw core::InputError(lw + ".frac_bits", "must be an integer in [0, 15]");
        r.frac_bits.push_back(l["frac_bits"].get<int64_t>());
    }
    return r;
}

/// Whether `checkpoint` is the run's own final weights (checkpoint.pt or model.safetensors in
/// the run folder), for which its recorded fraction bits hold.
bool is_run_checkpoint(const std::string& run_dir, const std::string& checkpoint) {
    std::error_code ec;
    const fs::path c = fs::weakly_canonical(checkpoint, ec);
    if (ec) return false;
    for (const char* leaf : {"checkpoint.pt", "model.safetensors"}) {
        const fs::path own = fs::weakly_canonical(fs::path(run_dir) / leaf, ec);
        if (!ec && own == c) return true;
    }
    return false;
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
    // As the run's evaluation computes (channels_last, batches of the run's size), so that the
    // activations are bit for bit those its summary counted.
    model->to_channels_last();
    const auto& layers = model->conv_layers();
    const std::optional<RunFracBits> recorded =
        is_run_checkpoint(e.run, ckpt) ? read_run_frac_bits(e.run, net.name, layers) : std::nullopt;
    const DatasetFiles data = load_dataset(kind, run.data, run.data_cache);
    if (e.images > data.test.size())
        throw core::InputError(
            "--images", "the test set has only " + std::to_string(data.test.size()) + " images");
    std::vector<int64_t> idx(e.images);
    for (int64_t i = 0; i < e.images; ++i) idx[i] = i;

    torch::NoGradGuard no_grad;
    std::vector<std::vector<torch::Tensor>> parts(layers.size());
    const int64_t batch_size = std::max<int64_t>(1, run.batch_size);
    for (int64_t start = 0; start < e.images; start += batch_size) {
        const int64_t count = std::min(batch_size, e.images - start);
        const Batch batch = make_batch(data.test, info, idx.data() + start, count, false, 0);
        ForwardOutput fwd =
            model->forward_capture(batch.images, std::vector<bool>(layers.size(), true));
        for (size_t i = 0; i < layers.size(); ++i) parts[i].push_back(fwd.conv_inputs[i]);
    }
    const auto shapes = net.conv_layers(e.images);

    std::error_code ec;
    fs::create_directories(e.out, ec);
    if (ec || !fs::is_directory(e.out))
        throw core::InputError("--out", e.out + ": cannot create the folder");

    const std::string frac_bits_source = recorded ? recorded->source : "images";
    json manifest_layers = json::array();
    for (size_t i = 0; i < layers.size(); ++i) {
        const core::LayerShape& shape = shapes[i].shape;
        const torch::Tensor x = torch::cat(parts[i]).contiguous();
        parts[i].clear();
        const FoldedConv fc = fold_conv(model, static_cast<int>(i));
        const torch::Tensor& w = fc.weight;
        const torch::Tensor& bias = fc.bias;
        const bool folded = fc.bn_folded;
        // The run's own f (fixed from its validation split), else the old rule: from the
        // exported images themselves.
        int64_t f = 0;
        if (recorded) {
            f = recorded->frac_bits[i];
        } else {
            const double max_x = x.numel() ? x.abs().max().item<double>() : 0.0;
            const double max_w = w.numel() ? w.abs().max().item<double>() : 0.0;
            f = std::min(frac_bits_for(max_x), frac_bits_for(max_w));
        }
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
        t.extra["frac_bits_source"] = frac_bits_source;
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
                           {"frac_bits_source", frac_bits_source},
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
