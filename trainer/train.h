#pragma once
/// @file The trainer's entry points for the CLI, free of LibTorch so that including this
/// header stays cheap: `actsparse train` (run_training) and `actsparse trace export`
/// (export_traces). docs/trainer.md describes the run folder's files.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace actsparse::trainer {

/// Everything `actsparse train` takes. JSON keys (config.json "options") are the flag names
/// without the dashes, '-' as '_' (--batch-size -> batch_size).
struct TrainOptions {
    std::string net;                        ///< builtin network name, e.g. mobilenetv2-fmnist
    std::string dataset = "fashion-mnist";  ///< fashion-mnist | cifar10 | cifar100
    std::string data;                       ///< dataset folder ("" = the dataset's default)
    /// Where decoded ImageFolder images are cached ("" = $ACTSPARSE_DATA_CACHE, else the
    /// XDG cache; "none" = no cache). Not part of a run's identity: it may change on resume.
    std::string data_cache;
    std::string method = "baseline";  ///< see trainer/penalty_plan.h
    std::string calibration;          ///< calib.json ("" = none)
    std::string penalty_config;       ///< per-layer lambda/weight overrides ("" = none)
    std::string init;                 ///< checkpoint or run folder to fine-tune from
    std::string baseline_run;         ///< run folder whose densities summary.json compares to
    std::string out;                  ///< the run folder
    int64_t epochs = 1;               ///< >= 0 (0: evaluate the initial model only)
    int64_t limit_batches = 0;        ///< training batches per epoch (0 = all)
    int64_t limit_eval_batches = 0;   ///< batches per validation/test pass (0 = all)
    int64_t batch_size = 64;
    double lr = 0.0;        ///< peak learning rate (0 = 0.05, or 0.005 with init)
    double momentum = 0.9;  ///< SGD momentum
    double weight_decay = 5e-4;
    double width = 1.0;          ///< channel width multiplier
    int64_t threads = 0;         ///< CPU threads (0 = all cores)
    std::string device = "cpu";  ///< cpu | cuda | cuda:N
    int64_t seed = 1;
    double val_fraction = 0.1;        ///< of the training set, held out for validation
    double alpha = -1.0;              ///< energy weight (< 0 = unset: 1)
    double beta = -1.0;               ///< cycles weight (< 0 = unset: 1)
    double lambda1 = -1.0;            ///< L1 strength (< 0 = unset: the method's default)
    double lambda2 = -1.0;            ///< Hoyer strength (< 0 = unset: the method's default)
    double checkpoint_minutes = 5.0;  ///< wall-clock interval of mid-epoch checkpoints
    bool resume = false;
    bool progress = true;  ///< progress bar on stderr
    // Data-parallel training (docs/scaling.md): world_size processes, one per rank, each
    // with batch_size images of every global batch of world_size * batch_size.
    int64_t world_size = 1;
    int64_t rank = 0;
    std::string rendezvous;     ///< file://PATH | tcp://HOST:PORT (needed when world_size > 1)
    double dist_timeout = 300;  ///< seconds to join, and before a silent rank counts as lost
};

nlohmann::json to_json(const TrainOptions& o);
/// Reads the "options" object of a config.json; unknown or missing keys throw
/// InputError("<where>: <key>").
TrainOptions train_options_from_json(const nlohmann::json& j, const std::string& where);

/// Keys that may differ between a run and its resumption (they do not change what is
/// trained): threads, device, checkpoint_minutes, progress, resume, baseline_run,
/// limit_eval_batches, rank, rendezvous, dist_timeout.
bool resume_may_change(const std::string& key);

/// The options stored in RUN_DIR/config.json (InputError when absent or unreadable).
TrainOptions load_run_options(const std::string& run_dir);

enum class TrainStatus {
    kCompleted,    ///< all epochs done, summary.json written
    kInterrupted,  ///< SIGINT/SIGTERM: checkpoint written, resume with --resume
    kDiverged,     ///< non-finite loss: stopped, the last good checkpoint kept
};

struct TrainResult {
    TrainStatus status = TrainStatus::kCompleted;
    std::string message;  ///< one line for the user
};

/// Trains (or resumes) a run into options.out. Bad input throws core::InputError.
TrainResult run_training(const TrainOptions& options);

/// For tests: the next run_training behaves as if SIGINT arrived during its `steps`-th
/// training step (counted from where it starts; 0 = off). Cleared when it fires.
void interrupt_after_steps_for_testing(int64_t steps);

struct ExportOptions {
    std::string run;         ///< a run folder (config.json + checkpoint.pt)
    std::string checkpoint;  ///< "" = <run>/checkpoint.pt
    std::string out;         ///< output folder (created)
    int64_t images = 8;      ///< first K test images
    int64_t threads = 0;     ///< 0 = all cores
    bool with_float = true;  ///< also store ifmap_float
};

/// What export_traces wrote.
struct ExportSummary {
    std::string manifest;  ///< <out>/manifest.json
    int64_t traces = 0;    ///< trace files, one per conv layer
    int64_t bytes = 0;     ///< their total size
};

/// Writes <out>/<index>_<layername>.trace for every conv layer (the index zero-padded to the
/// digits of the last one, so the files sort in layer order) and <out>/manifest.json.
ExportSummary export_traces(const ExportOptions& options);

}  // namespace actsparse::trainer
