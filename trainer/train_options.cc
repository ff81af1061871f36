#include <filesystem>
#include <set>

#include "core/error.h"
#include "trainer/train.h"

namespace actsparse::trainer {

// One list drives both directions, so a new option cannot be written but not read.
#define ACTSPARSE_TRAIN_OPTION_FIELDS(X) \
    X(net)                               \
    X(dataset)                           \
    X(data)                              \
    X(method)                            \
    X(calibration)                       \
    X(penalty_config)                    \
    X(init)                              \
    X(baseline_run)                      \
    X(out)                               \
    X(epochs)                            \
    X(limit_batches)                     \
    X(limit_eval_batches)                \
    X(batch_size)                        \
    X(lr)                                \
    X(momentum)                          \
    X(weight_decay)                      \
    X(width)                             \
    X(threads)                           \
    X(device)                            \
    X(seed)                              \
    X(val_fraction)                      \
    X(alpha)                             \
    X(beta)                              \
    X(lambda1)                           \
    X(lambda2)                           \
    X(checkpoint_minutes)                \
    X(resume)                            \
    X(progress)

// Added with data-parallel training: optional in a config.json (older runs lack them).
#define ACTSPARSE_TRAIN_OPTIONAL_FIELDS(X) \
    X(world_size)                          \
    X(rank)                                \
    X(rendezvous)                          \
    X(dist_timeout)                        \
    X(data_cache)

nlohmann::json to_json(const TrainOptions& o) {
    nlohmann::json j;
#define X(f) j[#f] = o.f;
    ACTSPARSE_TRAIN_OPTION_FIELDS(X)
    ACTSPARSE_TRAIN_OPTIONAL_FIELDS(X)
#undef X
    return j;
}

TrainOptions train_options_from_json(const nlohmann::json& j, const std::string& where) {
    if (!j.is_object()) throw core::InputError(where, "expected a JSON object");
    TrainOptions o;
    std::set<std::string> known;
#define X(f)                                                                       \
    known.insert(#f);                                                              \
    if (!j.contains(#f)) throw core::InputError(where + ": " #f, "missing");       \
    try {                                                                          \
        j.at(#f).get_to(o.f);                                                      \
    } catch (const nlohmann::json::exception&) {                                   \
        throw core::InputError(where + ": " #f, "wrong type: " + j.at(#f).dump()); \
    }
    ACTSPARSE_TRAIN_OPTION_FIELDS(X)
#undef X
#define X(f)                                                                           \
    known.insert(#f);                                                                  \
    if (j.contains(#f)) try {                                                          \
            j.at(#f).get_to(o.f);                                                      \
        } catch (const nlohmann::json::exception&) {                                   \
            throw core::InputError(where + ": " #f, "wrong type: " + j.at(#f).dump()); \
        }
    ACTSPARSE_TRAIN_OPTIONAL_FIELDS(X)
#undef X
    for (const auto& [k, v] : j.items())
        if (!known.count(k)) throw core::InputError(where + ": " + k, "unknown key");
    return o;
}

bool resume_may_change(const std::string& key) {
    static const std::set<std::string> keys = {
        "threads",    "device",       "checkpoint_minutes", "progress",
        "resume",     "baseline_run", "limit_eval_batches", "rank",
        "rendezvous", "dist_timeout", "data_cache"};
    return keys.count(key) > 0;
}

TrainOptions load_run_options(const std::string& run_dir) {
    const std::string path = (std::filesystem::path(run_dir) / "config.json").string();
    nlohmann::json j;
    try {
        j = nlohmann::json::parse(core::read_file(path));
    } catch (const nlohmann::json::exception& e) {  // also out_of_range: a number beyond double
        throw core::InputError(path, std::string("not valid JSON: ") + e.what());
    }
    if (!j.is_object() || !j.contains("options"))
        throw core::InputError(path + ": options", "missing");
    return train_options_from_json(j.at("options"), path + ": options");
}

}  // namespace actsparse::trainer
