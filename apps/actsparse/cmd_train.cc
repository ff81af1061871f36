// `actsparse train` and `actsparse trace export`: thin CLI over trainer/train.h (which keeps
// LibTorch out of this file).
#include <filesystem>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "apps/actsparse/commands.h"
#include "core/error.h"
#include "trainer/train.h"

namespace actsparse::app {
namespace {

/// The JSON key of a flag: "--batch-size" -> "batch_size".
std::string key_of(const std::string& flag) {
    std::string k = flag.substr(flag.find_first_not_of('-'));
    for (char& c : k)
        if (c == '-') c = '_';
    return k;
}

}  // namespace

void add_train_command(CLI::App& app) {
    struct State {
        trainer::TrainOptions o;
        bool no_progress = false;
        std::vector<std::pair<CLI::Option*, std::string>> keyed;  // flag -> options key
    };
    auto st = std::make_shared<State>();
    auto& o = st->o;
    auto* cmd = app.add_subcommand("train", kTrainHelp);
    auto opt = [&](const std::string& flag, auto& member, const std::string& help) {
        CLI::Option* p = cmd->add_option(flag, member, help);
        st->keyed.emplace_back(p, key_of(flag));
        return p;
    };
    opt("--net", o.net, "Network (`actsparse layers --list`), e.g. mobilenetv2-fmnist");
    opt("--dataset", o.dataset, "fashion-mnist | cifar10 | cifar100")->capture_default_str();
    opt("--data", o.data,
        "Dataset folder (default for fashion-mnist: /usr/share/datasets/fashion-mnist); for "
        "cifar10/100 also an ImageFolder tree or its .tar.gz");
    opt("--data-cache", o.data_cache,
        "Cache folder of decoded ImageFolder images, or none (default $ACTSPARSE_DATA_CACHE, "
        "else $XDG_CACHE_HOME/actsparse/data or ~/.cache/actsparse/data)");
    opt("--method", o.method, "baseline | sparsity-targeting | proposed-hoyer | proposed-hybrid")
        ->capture_default_str();
    opt("--calibration", o.calibration,
        "calib.json: per-layer e_l, c_l (needed by the proposed methods)");
    opt("--penalty-config", o.penalty_config,
        "YAML/JSON with per-layer lambda1/lambda2/weight overrides");
    opt("--init", o.init, "Checkpoint or run folder to fine-tune from");
    opt("--baseline-run", o.baseline_run,
        "Run folder whose test densities the summary's predicted costs are relative to");
    opt("--out", o.out, "Run folder (created)");
    opt("--epochs", o.epochs, "Epochs (0: evaluate only)")->capture_default_str();
    opt("--limit-batches", o.limit_batches, "Training batches per epoch (0 = all)")
        ->capture_default_str();
    opt("--limit-eval-batches", o.limit_eval_batches, "Batches per validation/test pass (0 = all)")
        ->capture_default_str();
    opt("--batch-size", o.batch_size, "Batch size")->capture_default_str();
    opt("--lr", o.lr, "Peak learning rate, cosine to 0 (default 0.05; 0.005 with --init)");
    opt("--momentum", o.momentum, "SGD momentum")->capture_default_str();
    opt("--weight-decay", o.weight_decay, "SGD weight decay")->capture_default_str();
    opt("--width", o.width, "Channel width multiplier")->capture_default_str();
    opt("--threads", o.threads, "CPU threads (default: all cores)");
    opt("--device", o.device, "cpu | cuda | cuda:N")->capture_default_str();
    opt("--seed", o.seed, "Seed of weights, split, order, augmentation")->capture_default_str();
    opt("--val-fraction", o.val_fraction, "Share of the training set held out")
        ->capture_default_str();
    opt("--alpha", o.alpha, "Energy weight of the cost-weighted penalty (default 1)");
    opt("--beta", o.beta, "Cycle weight of the cost-weighted penalty (default 1)");
    opt("--lambda1", o.lambda1, "L1 strength (proposed-hybrid; default 0.25)");
    opt("--lambda2", o.lambda2, "Hoyer strength (all but baseline; default 0.5)");
    opt("--checkpoint-minutes", o.checkpoint_minutes, "Minutes between mid-epoch checkpoints")
        ->capture_default_str();
    opt("--world-size", o.world_size,
        "Data-parallel training: number of ranks (processes), each with --batch-size images")
        ->capture_default_str();
    opt("--rank", o.rank, "This process's rank, 0 .. world size - 1 (rank 0 writes the run)")
        ->capture_default_str();
    opt("--rendezvous", o.rendezvous,
        "Where the ranks meet: file://PATH (shared file system) or tcp://HOST:PORT (rank 0 "
        "serves it)");
    opt("--dist-timeout", o.dist_timeout,
        "Seconds to wait for the other ranks to join, and before a silent rank counts as lost")
        ->capture_default_str();
    st->keyed.emplace_back(cmd->add_flag("--resume", o.resume,
                                         "Continue the run in --out from its checkpoint "
                                         "(flags not given are taken from its config.json)"),
                           "resume");
    st->keyed.emplace_back(
        cmd->add_flag("--no-progress", st->no_progress, "No progress bar on stderr"), "progress");

    cmd->callback([st]() {
        trainer::TrainOptions o = st->o;
        o.progress = !st->no_progress;
        if (o.out.empty()) throw core::InputError("--out", "required");
        const bool have_config =
            std::filesystem::is_regular_file(std::filesystem::path(o.out) / "config.json");
        if (o.resume && have_config) {
            // Flags not given come from the run's own configuration; given ones must agree
            // with it (run_training checks that).
            const trainer::TrainOptions stored = trainer::load_run_options(o.out);
            nlohmann::json merged = trainer::to_json(o);
            const nlohmann::json saved = trainer::to_json(stored);
            for (const auto& [option, key] : st->keyed)
                if (option->count() == 0 && key != "resume") merged[key] = saved.at(key);
            o = trainer::train_options_from_json(merged, "--resume");
        }
        if (o.net.empty()) throw core::InputError("--net", "required");
        const trainer::TrainResult r = trainer::run_training(o);
        switch (r.status) {
            case trainer::TrainStatus::kCompleted:
                std::cout << r.message << std::endl;
                set_exit_code(0);
                break;
            case trainer::TrainStatus::kInterrupted:
                std::cerr << "actsparse: " << r.message << std::endl;
                set_exit_code(r.message.find("SIGTERM") != std::string::npos ? 143 : 130);
                break;
            case trainer::TrainStatus::kDiverged:
                std::cerr << "actsparse: error: " << r.message << std::endl;
                set_exit_code(1);
                break;
        }
    });
}

void add_trace_export_command(CLI::App& trace_cmd) {
    auto e = std::make_shared<trainer::ExportOptions>();
    auto no_float = std::make_shared<bool>(false);
    auto* cmd = trace_cmd.add_subcommand("export", kTraceExportHelp);
    cmd->add_option("--run", e->run, "Run folder (config.json, checkpoint.pt)")->required();
    cmd->add_option("--images", e->images, "Number of test images (the first K)")
        ->capture_default_str();
    cmd->add_option("--out", e->out, "Output folder")->required();
    cmd->add_option("--checkpoint", e->checkpoint, "Checkpoint (default: RUN/checkpoint.pt)");
    cmd->add_option("--threads", e->threads, "CPU threads (default: all cores)");
    cmd->add_flag("--no-float", *no_float, "Leave out the float copy of the ifmap");
    cmd->callback([e, no_float]() {
        trainer::ExportOptions opts = *e;
        opts.with_float = !*no_float;
        const trainer::ExportSummary w = trainer::export_traces(opts);
        std::ostringstream size;
        size.setf(std::ios::fixed);
        size.precision(1);
        size << static_cast<double>(w.bytes) / 1e6;
        std::cout << "wrote " << w.traces << " traces (" << size.str() << " MB) and " << w.manifest
                  << std::endl;
        set_exit_code(0);
    });
}

}  // namespace actsparse::app
