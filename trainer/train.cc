// `actsparse train`: the training loop, checkpoints, logs and the run summary.
#include "trainer/train.h"

#include <torch/torch.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <optional>
#include <sstream>
#include <thread>

#include "core/error.h"
#include "trainer/batches.h"
#include "trainer/calibration.h"
#include "trainer/checkpoint.h"
#include "trainer/cpu_memory.h"
#include "trainer/datasets.h"
#include "trainer/distributed.h"
#include "trainer/graph_net.h"
#include "trainer/penalty.h"
#include "trainer/penalty_plan.h"
#include "trainer/progress.h"
#include "trainer/quantise.h"
#include "trainer/steps.h"
#include "trainer/summary.h"

namespace actsparse::trainer {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

/// Training densities are counted on batches 0, 8, 16, ... of each epoch.
constexpr int64_t kDensityEvery = 8;

volatile std::sig_atomic_t g_stop_signal = 0;
int64_t g_interrupt_after_steps = 0;

extern "C" void on_stop_signal(int sig) {
    if (g_stop_signal != 0) {
        // A second Ctrl-C means "now": the checkpoint on disk is whole (written atomically).
        std::signal(sig, SIG_DFL);
        std::raise(sig);
        return;
    }
    g_stop_signal = sig;
}

/// SIGINT/SIGTERM set a flag for the loop while a run is in progress.
class StopSignals {
  public:
    StopSignals() {
        g_stop_signal = 0;
        struct sigaction sa {};
        sa.sa_handler = on_stop_signal;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGINT, &sa, &old_int_);
        sigaction(SIGTERM, &sa, &old_term_);
    }
    ~StopSignals() {
        sigaction(SIGINT, &old_int_, nullptr);
        sigaction(SIGTERM, &old_term_, nullptr);
    }
    StopSignals(const StopSignals&) = delete;
    StopSignals& operator=(const StopSignals&) = delete;

  private:
    struct sigaction old_int_ {};
    struct sigaction old_term_ {};
};

/// Everything a run needs, checked, with defaults filled in.
struct RunSetup {
    TrainOptions opt;
    DatasetKind kind = DatasetKind::kFashionMnist;
    DatasetInfo info;
    core::Network net;
    Method method = Method::kBaseline;
    std::optional<Calibration> calib;
    std::vector<std::string> calib_warnings;
    std::vector<LayerPenalty> plan;
    torch::Device device = torch::kCPU;
    std::string init_path;
    std::vector<double> baseline_density;
    bool baseline_quantised = true;  ///< the baseline summary's densities are quantised
};

torch::Device parse_device(const std::string& text) {
    std::optional<torch::Device> d;
    try {
        d = torch::Device(text);
    } catch (const c10::Error&) {
        throw core::InputError("--device", "expected cpu, cuda or cuda:N, got '" + text + "'");
    }
    if (d->is_cuda()) {
        if (!torch::cuda::is_available())
            throw core::InputError("--device", "CUDA is not available (this LibTorch is " +
                                                   std::string("CPU-only or no GPU is visible)"));
        if (d->has_index() && d->index() >= static_cast<int>(torch::cuda::device_count()))
            throw core::InputError("--device", "no such CUDA device: " + text);
    } else if (!d->is_cpu()) {
        throw core::InputError("--device", "expected cpu, cuda or cuda:N, got '" + text + "'");
    }
    return *d;
}

RunSetup resolve(const TrainOptions& in) {
    RunSetup s;
    TrainOptions& o = s.opt;
    o = in;
    if (o.net.empty()) throw core::InputError("--net", "required");
    if (o.out.empty()) throw core::InputError("--out", "required");
    s.kind = parse_dataset(o.dataset, "--dataset");
    s.info = dataset_info(s.kind);
    s.method = parse_method(o.method, "--method");
    auto positive = [](bool ok, const char* flag, const char* what) {
        if (!ok) throw core::InputError(flag, what);
    };
    positive(o.epochs >= 0, "--epochs", "must be >= 0");
    positive(o.batch_size >= 1, "--batch-size", "must be >= 1");
    positive(o.limit_batches >= 0, "--limit-batches", "must be >= 0");
    positive(o.limit_eval_batches >= 0, "--limit-eval-batches", "must be >= 0");
    positive(o.lr >= 0.0 && std::isfinite(o.lr), "--lr", "must be >= 0");
    positive(o.momentum >= 0.0 && o.momentum < 1.0, "--momentum", "must be in [0, 1)");
    positive(o.weight_decay >= 0.0 && std::isfinite(o.weight_decay), "--weight-decay",
             "must be >= 0");
    positive(o.width > 0.0 && std::isfinite(o.width), "--width", "must be > 0");
    positive(o.threads >= 0, "--threads", "must be >= 0");
    positive(o.val_fraction >= 0.0 && o.val_fraction < 1.0, "--val-fraction", "must be in [0, 1)");
    positive(o.checkpoint_minutes > 0.0, "--checkpoint-minutes", "must be > 0");
    positive(o.seed >= 0, "--seed", "must be >= 0");
    positive(o.world_size >= 1, "--world-size", "must be >= 1");
    if (o.rank < 0 || o.rank >= o.world_size)
        throw core::InputError("--rank", std::to_string(o.rank) + " is not below --world-size " +
                                             std::to_string(o.world_size));
    positive(o.world_size == 1 || !o.rendezvous.empty(), "--rendezvous",
             "required with --world-size > 1 (file://PATH or tcp://HOST:PORT)");
    positive(o.dist_timeout > 0.0 && std::isfinite(o.dist_timeout), "--dist-timeout",
             "must be > 0");

    s.net = core::builtin_network(o.net, {1, o.width, s.info.num_classes});
    const auto& input = s.net.input();
    if (input.channels != s.info.channels || input.height != s.info.height ||
        input.width != s.info.width)
        throw core::InputError(
            "--net", o.net + " takes " + std::to_string(input.channels) + "x" +
                         std::to_string(input.height) + "x" + std::to_string(input.width) +
                         " images but " + o.dataset + " has " + std::to_string(s.info.channels) +
                         "x" + std::to_string(s.info.height) + "x" + std::to_string(s.info.width));

    // Strengths and weights: a flag the method does not use is an error, not ignored.
    const bool uses_l1 = method_uses_l1(s.method), uses_hoyer = method_uses_hoyer(s.method);
    const bool weighted = method_needs_calibration(s.method);
    // (0 is what config.json stores for an unused term, so a resume may pass it back.)
    if (o.lambda1 > 0.0 && !uses_l1)
        throw core::InputError("--lambda1", std::string("method ") + o.method +
                                                " has no L1 term (only proposed-hybrid)");
    if (o.lambda2 > 0.0 && !uses_hoyer)
        throw core::InputError("--lambda2", "the baseline has no penalty");
    if ((o.alpha > 0.0 || o.beta > 0.0) && !weighted)
        throw core::InputError("--alpha/--beta", std::string("method ") + o.method +
                                                     " does not weight layers by cost");
    o.lambda1 = uses_l1 ? (o.lambda1 >= 0.0 ? o.lambda1 : kDefaultLambda1) : 0.0;
    o.lambda2 = uses_hoyer ? (o.lambda2 >= 0.0 ? o.lambda2 : kDefaultLambda2) : 0.0;
    o.alpha = weighted ? (o.alpha >= 0.0 ? o.alpha : 1.0) : 0.0;
    o.beta = weighted ? (o.beta >= 0.0 ? o.beta : 1.0) : 0.0;

    if (!o.calibration.empty()) {
        s.calib = load_calibration(o.calibration);
        s.calib_warnings = check_calibration_matches(*s.calib, s.net);
    } else if (weighted) {
        throw core::InputError("--calibration",
                               "method " + o.method + " weights layers by e_l and c_l from it");
    }
    std::map<std::string, LayerOverride> overrides;
    if (!o.penalty_config.empty()) overrides = load_penalty_overrides(o.penalty_config);
    PenaltySettings ps;
    ps.method = s.method;
    ps.alpha = weighted ? o.alpha : 1.0;
    ps.beta = weighted ? o.beta : 1.0;
    ps.lambda1 = o.lambda1;
    ps.lambda2 = o.lambda2;
    s.plan = plan_penalty(s.net.conv_layers(1), s.calib ? &*s.calib : nullptr, ps, overrides,
                          o.penalty_config);

    if (!o.init.empty()) {
        s.init_path = resolve_checkpoint_path(o.init);
        if (!fs::is_regular_file(s.init_path))
            throw core::InputError("--init", s.init_path + ": no such checkpoint");
    }
    if (o.lr == 0.0) o.lr = o.init.empty() ? 0.05 : 0.005;
    if (o.threads == 0) o.threads = std::max(1u, std::thread::hardware_concurrency());
    s.device = parse_device(o.device);
    if (!o.baseline_run.empty()) {
        if (!s.calib)
            throw core::InputError("--baseline-run", "needs --calibration to predict costs");
        s.baseline_density = read_run_densities(o.baseline_run, s.net, &s.baseline_quantised);
    }
    return s;
}

/// Running sums over the batches of the current epoch (saved in checkpoints so a resumed
/// epoch reports the same figures).
struct EpochSums {
    double loss = 0.0, ce = 0.0, l1 = 0.0, hoyer = 0.0, correct = 0.0, images = 0.0;
    int64_t batches = 0;
    double density_images = 0.0;  ///< images of the batches whose non-zeros were counted
    std::vector<double> nonzero;

    json to_json() const {
        return {{"loss", loss},       {"ce", ce},
                {"l1", l1},           {"hoyer", hoyer},
                {"correct", correct}, {"images", images},
                {"batches", batches}, {"density_images", density_images},
                {"nonzero", nonzero}};
    }
    static EpochSums from_json(const json& j, size_t layers) {
        EpochSums s;
        s.loss = j.at("loss").get<double>();
        s.ce = j.at("ce").get<double>();
        s.l1 = j.at("l1").get<double>();
        s.hoyer = j.at("hoyer").get<double>();
        s.correct = j.at("correct").get<double>();
        s.images = j.at("images").get<double>();
        s.batches = j.at("batches").get<int64_t>();
        s.density_images = j.at("density_images").get<double>();
        s.nonzero = j.at("nonzero").get<std::vector<double>>();
        if (s.nonzero.size() != layers) s.nonzero.assign(layers, 0.0);
        return s;
    }
};

std::vector<double> densities(const EpochSums& sums, const std::vector<core::ConvLayer>& layers) {
    std::vector<double> d(layers.size(), 0.0);
    for (size_t l = 0; l < layers.size(); ++l) {
        const auto& s = layers[l].shape;
        const double elems = sums.density_images * static_cast<double>(s.C * s.H * s.W);
        d[l] = elems > 0.0 ? sums.nonzero[l] / elems : 0.0;
    }
    return d;
}

/// Evaluation sharded over the ranks (rank r takes every world-th image from the r-th),
/// combined with one all-reduce: the same means, counts and maxima as one process over all
/// the images (with limit_batches, each rank stops after that many of its own batches).
EvalResult evaluate_ranks(GraphNet& model, const ImageSet& set, const DatasetInfo& info,
                          const std::vector<int64_t>& idx, int64_t batch_size,
                          int64_t limit_batches, const torch::Device& device, Distributed* dist,
                          bool quantisation_stats = false) {
    if (!dist)
        return evaluate(model, set, info, idx, batch_size, limit_batches, device,
                        quantisation_stats);
    std::vector<int64_t> mine;
    for (size_t i = static_cast<size_t>(dist->rank()); i < idx.size();
         i += static_cast<size_t>(dist->world_size()))
        mine.push_back(idx[i]);
    const EvalResult r =
        evaluate(model, set, info, mine, batch_size, limit_batches, device, quantisation_stats);
    const size_t L = model->conv_layers().size();
    const size_t world = static_cast<size_t>(dist->world_size());
    std::vector<double> v = {r.loss * static_cast<double>(r.images),
                             r.accuracy * static_cast<double>(r.images),
                             static_cast<double>(r.images)};
    for (size_t l = 0; l < L; ++l)
        v.push_back((r.density.empty() ? 0.0 : r.density[l]) * static_cast<double>(r.images));
    const size_t hist_at = v.size();
    if (quantisation_stats) {
        // Histogram counts add up exactly (integers below 2^53); each rank's maxima go to
        // its own slots, so the sum hands every rank all of them.
        for (size_t l = 0; l < L; ++l)
            for (int64_t b = 0; b < kHistBins; ++b)
                v.push_back(r.hist.empty() ? 0.0 : r.hist[l][b]);
        for (size_t k = 0; k < world * L; ++k) v.push_back(0.0);
        for (size_t l = 0; l < L && !r.max_abs.empty(); ++l)
            v[hist_at + L * kHistBins + static_cast<size_t>(dist->rank()) * L + l] = r.max_abs[l];
    }
    torch::Tensor t = torch::tensor(v, torch::kFloat64).to(device);
    dist->sum(t);
    t = t.to(torch::kCPU);
    const double* a = t.data_ptr<double>();
    EvalResult out;
    out.images = static_cast<int64_t>(a[2]);
    const double n = std::max(1.0, a[2]);
    out.loss = a[0] / n, out.accuracy = a[1] / n;
    out.density.resize(L);
    for (size_t l = 0; l < L; ++l) out.density[l] = a[3 + l] / n;
    if (quantisation_stats) {
        out.hist.resize(L);
        out.max_abs.assign(L, 0.0);
        for (size_t l = 0; l < L; ++l) {
            for (int64_t b = 0; b < kHistBins; ++b) out.hist[l][b] = a[hist_at + l * kHistBins + b];
            const double total = std::accumulate(out.hist[l].begin(), out.hist[l].end(), 0.0);
            out.density[l] = total > 0.0 ? nonzero_float(out.hist[l]) / total : 0.0;
            for (size_t k = 0; k < world; ++k)
                out.max_abs[l] = std::max(out.max_abs[l], a[hist_at + L * kHistBins + k * L + l]);
        }
    }
    return out;
}

double cosine_lr(double peak, int64_t step, int64_t total) {
    if (total <= 0) return peak;
    const double t = std::min(1.0, static_cast<double>(step) / static_cast<double>(total));
    return 0.5 * peak * (1.0 + std::cos(M_PI * t));
}

void set_lr(torch::optim::SGD& opt, double lr) {
    for (auto& g : opt.param_groups()) static_cast<torch::optim::SGDOptions&>(g.options()).lr(lr);
}

json layers_json(const std::vector<core::ConvLayer>& layers) {
    json a = json::array();
    for (const auto& l : layers)
        a.push_back({{"index", l.index},
                     {"name", l.name},
                     {"input_sparse", l.input_sparse},
                     {"shape", l.shape.to_spec()},
                     {"macs", l.shape.macs()}});
    return a;
}

json config_json(const RunSetup& s, int64_t n_train, int64_t n_val, int64_t n_test,
                 int64_t batches_per_epoch, bool kept_memory) {
    json penalty_layers = json::array();
    for (const auto& p : s.plan)
        penalty_layers.push_back({{"index", p.conv_index},
                                  {"name", p.name},
                                  {"e_l", p.e_l},
                                  {"c_l", p.c_l},
                                  {"weight", p.weight},
                                  {"lambda1", p.lambda1},
                                  {"lambda2", p.lambda2}});
    json mean = json::array(), stdv = json::array();
    for (int64_t c = 0; c < s.info.channels; ++c) {
        mean.push_back(s.info.mean[c]);
        stdv.push_back(s.info.std[c]);
    }
    json j;
    j["schema"] = "actsparse.train-config/1";
    j["options"] = to_json(s.opt);
    j["derived"] = {
        {"torch_version", std::to_string(TORCH_VERSION_MAJOR) + "." +
                              std::to_string(TORCH_VERSION_MINOR) + "." +
                              std::to_string(TORCH_VERSION_PATCH)},
        {"device", s.device.str()},
        {"threads", s.opt.threads},
        {"malloc_keeps_freed_memory", kept_memory},
        {"num_classes", s.net.num_classes},
        {"dataset",
         {{"name", to_string(s.kind)},
          {"train_images", n_train},
          {"val_images", n_val},
          {"test_images", n_test},
          {"augment", s.info.augment},
          {"mean", mean},
          {"std", stdv}}},
        {"batches_per_epoch", batches_per_epoch},
        {"total_steps", batches_per_epoch * s.opt.epochs},
        {"optimizer",
         {{"type", "sgd"},
          {"momentum", s.opt.momentum},
          {"nesterov", false},
          {"weight_decay", s.opt.weight_decay},
          {"schedule", "cosine, per step, from lr to 0"}}},
        {"penalty",
         {{"method", to_string(s.method)},
          {"alpha", s.opt.alpha},
          {"beta", s.opt.beta},
          {"l1", "per image mean |x|, averaged over the batch"},
          {"hoyer", "per image (sum|x|)^2/(sum x^2 + eps)/d, averaged over the batch"},
          {"hoyer_eps", kHoyerEps},
          {"weights", "(alpha*e_l/mean(e) + beta*c_l/mean(c))/(alpha+beta) over penalised layers"},
          {"layers", penalty_layers}}},
        {"calibration_warnings", s.calib_warnings},
        {"conv_layers", layers_json(s.net.conv_layers(1))}};
    return j;
}

/// Keeps the log lines of completed epochs <= `epochs` (a resumed run redoes the rest).
void trim_log(const std::string& path, int64_t epochs) {
    if (!fs::exists(path)) return;
    std::ifstream in(path);
    std::string line, kept;
    while (std::getline(in, line)) {
        if (line.empty()) continue;
        try {
            if (json::parse(line).at("epoch").get<int64_t>() <= epochs) kept += line + "\n";
        } catch (const json::exception&) {
            // A torn last line from a kill: drop it.
        }
    }
    core::write_file_atomic(path, kept);
}

void append_line(const std::string& path, const json& j) {
    std::ofstream out(path, std::ios::app);
    out << j.dump() << "\n";
    out.flush();
    if (!out) throw core::InputError(path, "cannot append to the log");
}

/// An evaluation's summary.json entry: `density` at the run's fraction bits (what the
/// traces hold), `density_float` before quantisation.
json eval_json(const EvalResult& r, const std::vector<core::ConvLayer>& layers,
               const std::vector<int64_t>& frac_bits) {
    const std::vector<double> q = quantised_density(r, frac_bits);
    json ls = json::array();
    for (size_t l = 0; l < layers.size(); ++l)
        ls.push_back({{"index", layers[l].index},
                      {"name", layers[l].name},
                      {"input_sparse", layers[l].input_sparse},
                      {"density", q[l]},
                      {"density_float", r.density[l]}});
    return {{"loss", r.loss},
            {"accuracy", r.accuracy},
            {"images", r.images},
            {"mean_density", mean_sparse_density(layers, q)},
            {"mean_density_float", mean_sparse_density(layers, r.density)},
            {"layers", ls}};
}

/// The run's fixed-point format, one f per conv layer, fixed before the accelerator sees an
/// input (as its one mapping per layer is): f_l = min(frac_bits_for(max |x_l| over `source`),
/// frac_bits_for(max |W'_l|)) with W' the BatchNorm-folded weights, as trace export folds
/// them.
json quantisation_json(GraphNet& model, const EvalResult& source, const std::string& split,
                       std::vector<int64_t>* frac_bits) {
    const auto& layers = model->conv_layers();
    json ls = json::array();
    frac_bits->clear();
    for (size_t l = 0; l < layers.size(); ++l) {
        const FoldedConv fc = fold_conv(model, static_cast<int>(l));
        const double w_max = fc.weight.numel() ? fc.weight.abs().max().item<double>() : 0.0;
        const double x_max = source.max_abs.at(l);
        const int64_t f = std::min(frac_bits_for(x_max), frac_bits_for(w_max));
        frac_bits->push_back(f);
        ls.push_back({{"index", layers[l].index},
                      {"name", layers[l].name},
                      {"frac_bits", f},
                      {"act_max", x_max},
                      {"weight_max", w_max}});
    }
    return {{"format", "int16, value = round(x * 2^frac_bits) (half to even), saturated"},
            {"rule",
             "frac_bits = min(largest f <= 15 with act_max * 2^f <= 32767, the same "
             "for weight_max); act_max over the source split, weight_max of the "
             "BatchNorm-folded weights"},
            {"source", split},
            {"images", source.images},
            {"layers", ls}};
}

}  // namespace

void interrupt_after_steps_for_testing(int64_t steps) { g_interrupt_after_steps = steps; }

TrainResult run_training(const TrainOptions& options) {
    RunSetup s = resolve(options);
    // From here on Ctrl-C / SIGTERM only set a flag; the loop checkpoints and returns.
    StopSignals signals;
    const TrainOptions& o = s.opt;
    const fs::path run_dir = o.out;
    const std::string ckpt_path = (run_dir / "checkpoint.pt").string();
    const std::string config_path = (run_dir / "config.json").string();
    const std::string log_path = (run_dir / "log.jsonl").string();
    const std::string summary_path = (run_dir / "summary.json").string();

    std::error_code ec;
    if (fs::exists(run_dir) && !fs::is_directory(run_dir))
        throw core::InputError("--out", o.out + ": exists and is not a folder");
    const bool have_ckpt = fs::is_regular_file(ckpt_path);
    if (have_ckpt && !o.resume)
        throw core::InputError("--out", o.out +
                                            " already holds a run (checkpoint.pt): pass --resume "
                                            "to continue it, or choose another folder");
    const bool resuming = o.resume && have_ckpt;
    if (resuming) {
        const TrainOptions stored = load_run_options(o.out);
        const json a = to_json(stored), b = to_json(o);
        for (const auto& [key, value] : a.items())
            if (!resume_may_change(key) && b.at(key) != value)
                throw core::InputError("--resume", "option " + key + " is " + b.at(key).dump() +
                                                       " but the run in " + config_path + " has " +
                                                       value.dump());
        // A finished run has its summary: resuming it trains and rewrites nothing.
        if (fs::is_regular_file(summary_path)) {
            std::ostringstream msg;
            msg << o.out << " is finished (" << summary_path << "); nothing to resume";
            try {
                const json sum = json::parse(core::read_file(summary_path));
                msg.precision(4);
                msg << ": " << sum.at("epochs").get<int64_t>() << " epochs, test accuracy "
                    << 100.0 * sum.at("test").at("accuracy").get<double>() << "%";
            } catch (const std::exception&) {
                // The summary is the run's own; an unreadable one still means finished.
            }
            return {TrainStatus::kCompleted, msg.str()};
        }
    }

    // Data-parallel: join the other ranks (bad input and an unreachable rendezvous are exit 2).
    std::unique_ptr<Distributed> dist;
    // (One rank with a rendezvous runs the same path: synchronised BatchNorm included.)
    if (o.world_size > 1 || !o.rendezvous.empty())
        dist = Distributed::connect(o.world_size, o.rank, o.rendezvous, o.dist_timeout, s.device);
    const bool is_main = !dist || dist->rank() == 0;
    const int64_t world = dist ? dist->world_size() : 1, rank = dist ? dist->rank() : 0;
    const int64_t global_batch = o.batch_size * world;

    const bool kept_memory = keep_freed_memory();
    at::set_num_threads(static_cast<int>(o.threads));
    torch::manual_seed(static_cast<uint64_t>(o.seed));
    if (s.device.is_cuda()) {
        // Same results on resume: deterministic cuDNN algorithms, no autotuning.
        at::globalContext().setDeterministicCuDNN(true);
        at::globalContext().setBenchmarkCuDNN(false);
    }

    const DatasetFiles data = load_dataset(s.kind, o.data, o.data_cache);
    const Split split =
        split_train_val(data.train.size(), o.val_fraction, static_cast<uint64_t>(o.seed));
    std::vector<int64_t> test_idx(data.test.size());
    for (int64_t i = 0; i < data.test.size(); ++i) test_idx[i] = i;
    int64_t batches_per_epoch = static_cast<int64_t>(split.train.size()) / global_batch;
    if (batches_per_epoch == 0 && o.epochs > 0)
        throw core::InputError("--batch-size", std::to_string(global_batch) +
                                                   " images per step is more than the training "
                                                   "split (" +
                                                   std::to_string(split.train.size()) + " images)");
    if (o.limit_batches > 0) batches_per_epoch = std::min(batches_per_epoch, o.limit_batches);
    const int64_t total_steps = batches_per_epoch * o.epochs;

    GraphNet model(s.net);
    model->to(s.device);
    model->to_channels_last();
    const auto& layers = model->conv_layers();
    const size_t num_layers = layers.size();
    torch::optim::SGD optimizer(
        model->parameters(),
        torch::optim::SGDOptions(o.lr).momentum(o.momentum).weight_decay(o.weight_decay));
    ActivationPenalty penalty(s.plan, s.net);
    // Training densities are counted where they can differ from 1 (sparse inputs); the
    // validation and test passes count every layer.
    std::vector<bool> count_layers(num_layers);
    for (size_t l = 0; l < num_layers; ++l) count_layers[l] = layers[l].input_sparse;
    const int cuda_index = s.device.is_cuda() ? (s.device.has_index() ? s.device.index() : 0) : -1;

    ProgressBar bar(o.progress);
    int64_t epoch = 0, first_batch = 0, step = 0;
    double train_seconds = 0.0;
    EpochSums sums;
    sums.nonzero.assign(num_layers, 0.0);
    if (resuming) {
        const json meta = load_checkpoint(ckpt_path, model, &optimizer, true, s.device);
        epoch = meta.at("epoch").get<int64_t>();
        first_batch = meta.at("batch").get<int64_t>();
        step = meta.at("step").get<int64_t>();
        train_seconds = meta.value("train_seconds", 0.0);
        sums = EpochSums::from_json(meta.at("sums"), num_layers);
        if (is_main) trim_log(log_path, epoch);
        bar.message("resuming " + o.out + " at epoch " + std::to_string(epoch + 1) + ", batch " +
                    std::to_string(first_batch));
    } else {
        if (!s.init_path.empty()) {
            const json init_meta = read_checkpoint_meta(s.init_path);
            if (init_meta.value("network", "") != s.net.name ||
                init_meta.value("width", 0.0) != o.width)
                throw core::InputError(
                    "--init", s.init_path + " holds " + init_meta.value("network", "?") +
                                  " at width " + init_meta.value("width", json(0.0)).dump() +
                                  ", this run trains " + s.net.name + " at width " +
                                  json(o.width).dump());
            load_checkpoint(s.init_path, model, nullptr, false, s.device);
        }
        if (is_main && fs::exists(log_path)) fs::remove(log_path);
        if (is_main) fs::remove(summary_path, ec);
    }
    if (dist) {
        // Every rank has read what it needs from the run folder before rank 0 writes to it;
        // then rank 0's weights are everyone's, and BatchNorm sees the whole global batch.
        dist->barrier();
        dist->broadcast_module(*model);
        model->set_batch_norm(
            [d = dist.get()](torch::nn::BatchNorm2dImpl& bn, const torch::Tensor& x) {
                return d->batch_norm(bn, x);
            });
    }
    if (s.calib && s.calib->width_mult > 0.0 && s.calib->width_mult != o.width)
        bar.message("warning: " + o.calibration + " was made at width " +
                    json(s.calib->width_mult).dump() + ", this run trains width " +
                    json(o.width).dump());
    if (!s.calib_warnings.empty())
        bar.message("warning: " + o.calibration + ": conv MACs differ from the model's in " +
                    std::to_string(s.calib_warnings.size()) + " of " + std::to_string(num_layers) +
                    " layers (calibrated at another width?); e_l and c_l are used as given, "
                    "see config.json derived.calibration_warnings");
    if (!s.baseline_density.empty() && !s.baseline_quantised)
        bar.message("warning: " + o.baseline_run +
                    "/summary.json has no quantisation (an older run): its float densities "
                    "are compared with this run's quantised ones");
    // The folder is made only now that every input has been checked (dataset, --init,
    // calibration), so bad input leaves nothing behind.
    if (is_main) fs::create_directories(run_dir, ec);
    if (is_main && (ec || !fs::is_directory(run_dir)))
        throw core::InputError("--out", o.out + ": cannot create the folder");
    if (is_main)
        core::write_file_atomic(
            config_path, config_json(s, static_cast<int64_t>(split.train.size()),
                                     static_cast<int64_t>(split.val.size()), data.test.size(),
                                     batches_per_epoch, kept_memory)
                                 .dump(2) +
                             "\n");

    auto meta_json = [&](int64_t at_epoch, int64_t at_batch) {
        return json{{"schema", "actsparse.checkpoint/1"},
                    {"network", s.net.name},
                    {"width", o.width},
                    {"num_classes", s.net.num_classes},
                    {"dataset", o.dataset},
                    {"method", o.method},
                    {"epoch", at_epoch},
                    {"batch", at_batch},
                    {"step", step},
                    {"train_seconds", train_seconds},
                    {"sums", sums.to_json()}};
    };
    auto checkpoint = [&](int64_t at_epoch, int64_t at_batch) {
        if (is_main)
            save_checkpoint(ckpt_path, model, &optimizer, meta_json(at_epoch, at_batch),
                            cuda_index);
    };
    const std::string rank_note =
        is_main ? "" : " (rank " + std::to_string(rank) + "; rank 0 writes the run)";

    if (g_stop_signal != 0)
        return {TrainStatus::kInterrupted, std::string("interrupted by ") +
                                               (g_stop_signal == SIGINT ? "SIGINT" : "SIGTERM") +
                                               " before training started; nothing new to save"};
    using Clock = std::chrono::steady_clock;
    auto last_ckpt = Clock::now();
    model->train();
    // The last epoch's validation pass also gathers the quantisation statistics, so the end
    // of the run reuses it (the model does not change in between) instead of a second pass.
    std::optional<EvalResult> final_val;
    for (; epoch < o.epochs; ++epoch) {
        const std::vector<int64_t> order =
            epoch_order(split.train, static_cast<uint64_t>(o.seed), epoch);
        bar.start_epoch(epoch, o.epochs, batches_per_epoch, first_batch);
        const auto epoch_start = Clock::now();
        for (int64_t b = first_batch; b < batches_per_epoch; ++b) {
            const auto t0 = Clock::now();
            set_lr(optimizer, cosine_lr(o.lr, step, total_steps));
            // This rank's share of global batch b: positions [rank * B, (rank + 1) * B).
            const int64_t first = rank * o.batch_size;
            const Batch batch =
                make_batch(data.train, s.info, order.data() + b * global_batch + first,
                           o.batch_size, s.info.augment,
                           mix_seed(static_cast<uint64_t>(o.seed), static_cast<uint64_t>(epoch) + 1,
                                    static_cast<uint64_t>(b)),
                           first);
            model->set_dropout_seed(
                mix_seed(static_cast<uint64_t>(o.seed), 0x64726f70ULL, static_cast<uint64_t>(step)),
                first);
            const torch::Tensor x = batch.images.to(s.device), y = batch.labels.to(s.device);
            // Counting non-zeros costs about as much as the penalty's forward pass, so the
            // training densities are sampled on every kDensityEvery-th batch.
            const bool sample = b % kDensityEvery == 0;
            const StepTensors st = train_step(
                model, optimizer, penalty, x, y, sample ? count_layers : std::vector<bool>(),
                dist ? std::function<void()>([&] { dist->average_gradients(*model); })
                     : std::function<void()>());
            if (g_interrupt_after_steps > 0 && --g_interrupt_after_steps == 0)
                g_stop_signal = SIGINT;
            // One all-reduce per step: the ranks' statistics (summed), whether any rank was
            // asked to stop and whether rank 0's checkpoint timer is due, so that every rank
            // takes the same decisions at the same step.
            const bool ckpt_due = std::chrono::duration<double>(Clock::now() - last_ckpt).count() >
                                      60.0 * o.checkpoint_minutes &&
                                  b + 1 < batches_per_epoch;
            torch::Tensor reduced = sample ? torch::cat({st.stats, st.nonzero}) : st.stats;
            const int64_t nstats = reduced.numel();  // the two flags follow, with dist
            if (dist) {
                const auto fo = reduced.options();
                reduced = torch::cat({reduced, torch::tensor({g_stop_signal != 0 ? 1.0 : 0.0,
                                                              is_main && ckpt_due ? 1.0 : 0.0},
                                                             torch::kFloat64)
                                                   .to(fo.device())});
                dist->sum(reduced);
            }
            const torch::Tensor host = reduced.to(torch::kCPU);
            const double* v = host.data_ptr<double>();
            const bool stop = dist ? v[nstats] > 0.0 : g_stop_signal != 0;
            const bool save_now = dist ? v[nstats + 1] > 0.0 : ckpt_due;
            // Per-rank means summed over the ranks: divide by the world for the global mean.
            const double w = static_cast<double>(world);
            if (!std::isfinite(v[0])) {  // summed over the ranks: all of them stop
                std::ostringstream msg;
                msg << "non-finite loss (" << v[0] / w << ") at epoch " << epoch + 1 << ", batch "
                    << b + 1 << " (step " << step + 1 << "): cross-entropy " << v[1] / w
                    << ", L1 term " << v[2] / w << ", Hoyer term " << v[3] / w
                    << "; stopped without saving, ";
                if (fs::exists(ckpt_path))
                    msg << "the last good checkpoint is " << ckpt_path;
                else
                    msg << "no checkpoint was written yet";
                msg << " (try a lower --lr or lambda)";
                bar.end_line();
                return {TrainStatus::kDiverged, msg.str()};
            }
            sums.loss += v[0] / w * global_batch;
            sums.ce += v[1] / w * global_batch;
            sums.l1 += v[2] / w * global_batch;
            sums.hoyer += v[3] / w * global_batch;
            sums.correct += v[4];
            sums.images += static_cast<double>(global_batch);
            if (sample) {
                sums.density_images += static_cast<double>(global_batch);
                for (size_t l = 0; l < num_layers; ++l) sums.nonzero[l] += v[5 + l];
            }
            ++sums.batches;
            ++step;
            train_seconds += std::chrono::duration<double>(Clock::now() - t0).count();
            bar.update(b + 1, sums.loss / sums.images, sums.correct / sums.images,
                       mean_sparse_density(layers, densities(sums, layers)));

            if (stop) {
                checkpoint(epoch, b + 1);
                const int sig = g_stop_signal;
                bar.end_line();
                return {TrainStatus::kInterrupted, std::string("interrupted by ") +
                                                       (sig == 0        ? "another rank"
                                                        : sig == SIGINT ? "SIGINT"
                                                                        : "SIGTERM") +
                                                       ": checkpoint saved at epoch " +
                                                       std::to_string(epoch + 1) + ", batch " +
                                                       std::to_string(b + 1) + " in " + ckpt_path +
                                                       "; continue with --resume" + rank_note};
            }
            if (save_now) {
                checkpoint(epoch, b + 1);
                last_ckpt = Clock::now();
            }
        }

        const bool last_epoch = epoch + 1 == o.epochs;
        const EvalResult val =
            evaluate_ranks(model, data.train, s.info, split.val, o.batch_size, o.limit_eval_batches,
                           s.device, dist.get(), last_epoch);
        if (last_epoch) final_val = val;
        const std::vector<double> train_density = densities(sums, layers);
        const double n = std::max(1.0, sums.images);
        json layer_log = json::array();
        for (size_t l = 0; l < num_layers; ++l)
            layer_log.push_back(
                {{"index", layers[l].index},
                 {"name", layers[l].name},
                 {"train_density", count_layers[l] ? json(train_density[l]) : json(nullptr)},
                 {"val_density", val.density.empty() ? 0.0 : val.density[l]}});
        const json line = {
            {"epoch", epoch + 1},
            {"step", step},
            {"lr_end", cosine_lr(o.lr, step, total_steps)},
            {"seconds", std::chrono::duration<double>(Clock::now() - epoch_start).count()},
            {"train",
             {{"loss", sums.loss / n},
              {"ce", sums.ce / n},
              {"penalty", (sums.l1 + sums.hoyer) / n},
              {"l1", sums.l1 / n},
              {"hoyer", sums.hoyer / n},
              {"accuracy", sums.correct / n},
              {"images", sums.images},
              {"density_images", sums.density_images},
              {"mean_density", mean_sparse_density(layers, train_density)}}},
            {"val",
             {{"loss", val.loss},
              {"accuracy", val.accuracy},
              {"images", val.images},
              {"mean_density", mean_sparse_density(layers, val.density)}}},
            {"layers", layer_log}};
        std::ostringstream tail;
        tail << "val acc " << std::fixed;
        tail.precision(2);
        tail << 100.0 * val.accuracy << "%, val density ";
        tail.precision(3);
        tail << mean_sparse_density(layers, val.density);
        bar.finish(tail.str());
        // Log first, then the checkpoint: a kill between the two leaves a line that a resume
        // (which restarts from the previous checkpoint) trims away.
        if (is_main) append_line(log_path, line);
        sums = EpochSums();
        sums.nonzero.assign(num_layers, 0.0);
        first_batch = 0;
        checkpoint(epoch + 1, 0);
        last_ckpt = Clock::now();
    }
    if (!fs::exists(ckpt_path)) checkpoint(epoch, 0);  // --epochs 0: the evaluated model
    if (is_main)
        save_weights_safetensors((run_dir / "model.safetensors").string(), model,
                                 meta_json(epoch, 0));

    // Densities as the hardware sees them: the final model's activations quantised with one
    // f per layer, fixed from the validation split (the test split without one).
    const bool have_val = !split.val.empty();
    const EvalResult val = !have_val ? EvalResult()
                           : final_val
                               ? *final_val
                               : evaluate_ranks(model, data.train, s.info, split.val, o.batch_size,
                                                o.limit_eval_batches, s.device, dist.get(), true);
    const EvalResult test = evaluate_ranks(model, data.test, s.info, test_idx, o.batch_size,
                                           o.limit_eval_batches, s.device, dist.get(), true);
    if (!is_main) {
        std::ostringstream msg;
        msg.precision(4);
        msg << "rank " << rank << " done: test accuracy " << 100.0 * test.accuracy
            << "% (rank 0 writes " << o.out << ")";
        return {TrainStatus::kCompleted, msg.str()};
    }
    json summary;
    summary["schema"] = "actsparse.summary/1";
    summary["network"] = s.net.name;
    summary["width"] = o.width;
    summary["dataset"] = o.dataset;
    summary["method"] = o.method;
    summary["run"] = o.out;
    summary["epochs"] = o.epochs;
    summary["steps"] = step;
    summary["train_seconds"] = train_seconds;
    std::vector<int64_t> frac_bits;
    summary["quantisation"] = quantisation_json(model, have_val ? val : test,
                                                have_val ? "validation" : "test", &frac_bits);
    if (have_val) summary["val"] = eval_json(val, layers, frac_bits);
    summary["test"] = eval_json(test, layers, frac_bits);
    const std::vector<double> test_density = quantised_density(test, frac_bits);
    if (s.calib) {
        summary["predicted"] = predicted_costs(
            *s.calib, test_density, s.baseline_density.empty() ? nullptr : &s.baseline_density,
            o.baseline_run);
        if (!s.baseline_density.empty())
            summary["predicted"]["baseline_density"] =
                s.baseline_quantised ? "quantised" : "float (a summary without quantisation)";
    } else {
        summary["predicted"] = nullptr;
    }
    core::write_file_atomic(summary_path, summary.dump(2) + "\n");

    std::ostringstream msg;
    msg.precision(4);
    msg << o.out << ": test accuracy " << 100.0 * test.accuracy << "%, mean density "
        << mean_sparse_density(layers, test_density);
    if (s.calib) {
        const auto& p = summary["predicted"];
        if (p.contains("energy_ratio") && p["energy_ratio"].is_number())
            msg << ", energy " << 100.0 * p["energy_ratio"].get<double>() << "% of baseline, "
                << "speedup " << p["speedup"].get<double>() << "x";
        else
            msg << ", predicted energy " << p["energy_pj"].get<double>() / 1e6 << " uJ, "
                << p["cycles"].get<double>() << " cycles";
    }
    return {TrainStatus::kCompleted, msg.str()};
}

}  // namespace actsparse::trainer
