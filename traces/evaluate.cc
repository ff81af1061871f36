#include "traces/evaluate.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>
#include <set>
#include <sstream>

#include "core/calibration_file.h"
#include "core/error.h"
#include "core/trace.h"
#include "tlm/simulate.h"

namespace actsparse::traces {
namespace fs = std::filesystem;
using nlohmann::json;

double RunEval::energy_pj() const {
    double e = 0;
    for (const auto& l : layers) e += l.energy_pj;
    return e;
}
int64_t RunEval::cycles() const {
    int64_t c = 0;
    for (const auto& l : layers) c += l.cycles;
    return c;
}
double RunEval::predicted_energy_pj() const {
    double e = 0;
    for (const auto& l : layers) {
        if (l.predicted_energy_pj < 0) return -1;
        e += l.predicted_energy_pj;
    }
    return e;
}
double RunEval::predicted_cycles() const {
    double c = 0;
    for (const auto& l : layers) {
        if (l.predicted_cycles < 0) return -1;
        c += l.predicted_cycles;
    }
    return c;
}

namespace {

// A run's name in tables and figures: its method, plus its folder's name when that says more
// (several runs of one method, e.g. a lambda search).
std::string label(const std::string& run, const std::string& method) {
    std::string base = fs::path(run).filename().string();
    if (base.empty()) base = fs::path(run).parent_path().filename().string();
    return base == method || base.empty() ? method : method + " (" + base + ")";
}

// Image n of a batched trace, as a batch-1 trace.
core::Trace image_of(const core::Trace& t, int64_t n) {
    core::Trace o;
    o.network = t.network;
    o.layer = t.layer;
    o.shape = t.shape;
    o.shape.N = 1;
    o.frac_bits = t.frac_bits;
    o.weight = t.weight;
    o.extra = t.extra;
    const int64_t in = t.shape.C * t.shape.H * t.shape.W, out = t.shape.M * t.shape.P * t.shape.Q;
    o.ifmap.assign(t.ifmap.begin() + n * in, t.ifmap.begin() + (n + 1) * in);
    if (!t.ofmap_acc.empty())
        o.ofmap_acc.assign(t.ofmap_acc.begin() + n * out, t.ofmap_acc.begin() + (n + 1) * out);
    if (!t.ifmap_float.empty())
        o.ifmap_float.assign(t.ifmap_float.begin() + n * in, t.ifmap_float.begin() + (n + 1) * in);
    return o;
}

json read_json(const std::string& path) {
    try {
        return json::parse(core::read_file(path));
    } catch (const json::exception& e) {
        throw core::InputError(path, std::string("invalid JSON: ") + e.what());
    }
}

template <typename T>
T field(const json& j, const std::string& key, const std::string& where) {
    if (!j.is_object() || !j.contains(key)) throw core::InputError(where + ": " + key, "missing");
    try {
        return j.at(key).get<T>();
    } catch (const json::exception&) {
        throw core::InputError(where + ": " + key, "wrong type");
    }
}

std::string pct(double x) {
    char b[32];
    std::snprintf(b, sizeof b, "%.1f%%", 100 * x);
    return b;
}
std::string fixed(double x, int digits) {
    char b[32];
    std::snprintf(b, sizeof b, "%.*f", digits, x);
    return b;
}

// Runs gnuplot on `script` (a file name) inside `dir`, as `calibrate`'s report does: the
// script names its files relative to its folder, so a copied folder redraws its own figures.
// Figures are optional output, so a missing or failing gnuplot is reported, not fatal.
bool gnuplot(const std::string& dir, const std::string& script) {
    std::fflush(stdout);
    std::fflush(stderr);
    const pid_t pid = ::fork();
    if (pid < 0) return false;
    if (pid == 0) {
        const int null = ::open("/dev/null", O_WRONLY);
        if (null >= 0) ::dup2(null, 2);
        if (::chdir(dir.c_str()) != 0) ::_exit(126);
        ::execlp("gnuplot", "gnuplot", script.c_str(), static_cast<char*>(nullptr));
        ::_exit(127);
    }
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

// A gnuplot single-quoted string (a quote inside is doubled).
std::string gq(const std::string& s) {
    std::string o = "'";
    for (char c : s) o += c == '\'' ? std::string("''") : std::string(1, c);
    return o + "'";
}

// A network's name as a file name (built-in names already are one).
std::string file_safe(const std::string& s) {
    std::string o = s;
    for (char& c : o)
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '.' && c != '_')
            c = '_';
    return o;
}

std::string num(double x) { return json(x).dump(); }

// A finished training run, as far as evaluate needs it (summary.json).
struct RunInfo {
    std::string dir, network, method;
    double accuracy = 0;
    double width = 0;  ///< the run's width multiplier; 0: not recorded
};

RunInfo read_run(const std::string& run) {
    const fs::path dir(run);
    if (!fs::is_directory(dir)) throw core::InputError(run, "no such run folder");
    const std::string sw = (dir / "summary.json").string();
    if (!fs::exists(sw)) {
        // An interrupted `actsparse train` leaves its configuration and checkpoint, and
        // writes summary.json only when every epoch is done.
        if (fs::exists(dir / "checkpoint.pt") || fs::exists(dir / "config.json"))
            throw core::InputError(
                run, "unfinished training run (no summary.json; its progress is in " +
                         std::string(fs::exists(dir / "checkpoint.pt") ? "checkpoint.pt"
                                                                       : "config.json") +
                         "): continue it with `actsparse train --out " + run +
                         " --resume`, then evaluate it");
        throw core::InputError(sw,
                               "missing: not a training run folder (no summary.json, "
                               "config.json or checkpoint.pt)");
    }
    const json summary = read_json(sw);
    RunInfo r;
    r.dir = run;
    r.network = field<std::string>(summary, "network", sw);
    r.method = field<std::string>(summary, "method", sw);
    r.accuracy = field<double>(field<json>(summary, "test", sw), "accuracy", sw + ": test");
    if (summary.contains("width")) {
        r.width = field<double>(summary, "width", sw);
    } else if (fs::exists(dir / "config.json")) {
        // Summaries have carried the width since it was added; the configuration always has.
        const json config = read_json((dir / "config.json").string());
        if (config.contains("options") && config["options"].contains("width") &&
            config["options"]["width"].is_number())
            r.width = config["options"]["width"].get<double>();
    }
    return r;
}

// A calibration with what evaluate checks beyond core::Calibration: the mapping density its
// points were planned for ("mapping_density": null = each point for its own density).
struct CalibInfo {
    core::Calibration c;
    bool has_mapping_density = false;  ///< the file records it (every calibrate run does)
    double mapping_density = -1;       ///< < 0: null
    std::string arch_hash;             ///< core::arch_hash of its arch ("" if not recorded)
};

CalibInfo read_calibration(const std::string& path) {
    CalibInfo ci;
    ci.c = core::load_calibration(path);
    const json j = json::parse(core::read_file(path), nullptr, false);
    if (j.is_object() && j.contains("mapping_density")) {
        const json& m = j["mapping_density"];
        ci.has_mapping_density = true;
        if (m.is_number() && m.get<double>() > 0 && m.get<double>() <= 1)
            ci.mapping_density = m.get<double>();
        else if (!m.is_null())
            throw core::InputError(path + ".mapping_density",
                                   "expected null or a number in (0, 1], got " + m.dump());
    }
    if (j.is_object() && j.contains("arch_hash")) {
        if (!j["arch_hash"].is_string())
            throw core::InputError(path + ".arch_hash", "expected a string");
        ci.arch_hash = j["arch_hash"].get<std::string>();
    }
    return ci;
}

std::string mapping_density_text(double d, const char* when_none) {
    return d < 0 ? std::string(when_none) : num(d);
}

// Mismatches between a calibration and the runs: an InputError, or with
// --allow-calibration-mismatch a warning (kept once, in order).
class Mismatches {
  public:
    explicit Mismatches(bool allow) : allow_(allow) {}
    void report(const std::string& where, const std::string& reason, bool used) {
        if (!allow_)
            throw core::InputError(where, reason +
                                              " (--allow-calibration-mismatch to go on "
                                              "regardless)");
        const std::string w = "warning: " + where + ": " + reason +
                              (used ? "; used as given (--allow-calibration-mismatch)"
                                    : "; not used (--allow-calibration-mismatch)");
        if (seen_.insert(w).second) warnings_.push_back(w);
    }
    const std::vector<std::string>& warnings() const { return warnings_; }

  private:
    bool allow_;
    std::set<std::string> seen_;
    std::vector<std::string> warnings_;
};

struct Inputs {
    std::vector<RunInfo> runs;
    std::vector<CalibInfo> calibs;
    std::vector<bool> usable;  ///< per calibration: fits, or a mismatch that keeps it usable
    Mismatches mismatches;
    explicit Inputs(bool allow) : mismatches(allow) {}
};

Inputs check_inputs(const EvaluateOptions& o) {
    if (o.runs.empty()) throw core::InputError("--runs", "give at least one run folder");
    if (o.out.empty()) throw core::InputError("--out", "required");
    if (o.zero_modes.empty()) throw core::InputError("--zero-mode", "no zero mode to evaluate");
    std::set<std::string> modes;
    for (core::ZeroMode m : o.zero_modes) {
        if (m == core::ZeroMode::kNone)
            throw core::InputError("--zero-mode", "expected gate, skip or both, got \"none\"");
        modes.insert(core::to_string(m));
    }
    if (o.mapping_density >= 0 && !(o.mapping_density > 0 && o.mapping_density <= 1))
        throw core::InputError("--mapping-density", "must be in (0, 1]");
    Inputs in(o.allow_calibration_mismatch);
    std::set<std::string> networks;
    std::string network_list;
    for (const auto& run : o.runs) {
        in.runs.push_back(read_run(run));
        if (networks.insert(in.runs.back().network).second)
            network_list += (network_list.empty() ? "" : ", ") + in.runs.back().network;
    }
    std::string mode_list;
    for (const auto& m : modes) mode_list += (mode_list.empty() ? "" : " and ") + m;
    for (const auto& path : o.calibrations) {
        in.calibs.push_back(read_calibration(path));
        const core::Calibration& c = in.calibs.back().c;
        bool usable = true;
        for (size_t k = 0; k + 1 < in.calibs.size(); ++k)
            if (in.calibs[k].c.network == c.network && in.calibs[k].c.zero_mode == c.zero_mode)
                throw core::InputError(path, "a second calibration of " + c.network + " in " +
                                                 c.zero_mode + " mode (the first is " +
                                                 in.calibs[k].c.path + ")");
        if (!networks.count(c.network)) {
            in.mismatches.report(path + ".network",
                                 "is \"" + c.network + "\" but the runs are " + network_list,
                                 false);
            usable = false;
        }
        if (!modes.count(c.zero_mode)) {
            in.mismatches.report(
                path + ".zero_mode",
                "is \"" + c.zero_mode + "\" but --zero-mode evaluates " + mode_list, false);
            usable = false;
        }
        if (usable) {
            // As `train` compares them: a recorded width_mult against the run's width.
            for (const RunInfo& r : in.runs)
                if (r.network == c.network && c.width_mult > 0 && r.width > 0 &&
                    c.width_mult != r.width)
                    in.mismatches.report(path + ".width_mult",
                                         "was made at width " + num(c.width_mult) + ", run " +
                                             r.dir + " is width " + num(r.width),
                                         true);
            const CalibInfo& ci = in.calibs.back();
            // The architecture (energy table included) it was fitted on, in its zero mode.
            if (!ci.arch_hash.empty()) {
                core::ArchConfig a = o.arch;
                a.zero_mode = core::parse_zero_mode(c.zero_mode, path + ".zero_mode");
                const std::string h = core::arch_hash(a);
                if (h != ci.arch_hash)
                    in.mismatches.report(path + ".arch_hash",
                                         "is " + ci.arch_hash +
                                             ", fitted on another architecture or energy "
                                             "table than --arch (" +
                                             h + ")",
                                         true);
            }
            const bool same_md = (ci.mapping_density < 0 && o.mapping_density < 0) ||
                                 (ci.mapping_density >= 0 && o.mapping_density >= 0 &&
                                  std::abs(ci.mapping_density - o.mapping_density) <= 1e-12);
            if (ci.has_mapping_density && !same_md)
                in.mismatches.report(
                    path + ".mapping_density",
                    "is " +
                        mapping_density_text(ci.mapping_density,
                                             "null (planned for each point's density)") +
                        (o.mapping_density_source.empty()
                             ? std::string(" but --mapping-density is ")
                             : " but the mapping density (" + o.mapping_density_source + ") is ") +
                        mapping_density_text(o.mapping_density,
                                             "per-image (planned for each image's density)"),
                    true);
        }
        in.usable.push_back(usable);
    }
    return in;
}

// A run's traces: the manifest's layers, read.
struct RunTraces {
    std::vector<core::Trace> traces;
    std::vector<bool> sparse, first;
};

RunTraces read_traces(const RunInfo& run) {
    const std::string manifest_path = run.dir + "/traces/manifest.json";
    if (!fs::exists(manifest_path))
        throw core::InputError(manifest_path, "missing: export the run's traces first");
    const json manifest = read_json(manifest_path);
    if (field<std::string>(manifest, "network", manifest_path) != run.network)
        throw core::InputError(manifest_path + ": network", "differs from summary.json");
    RunTraces t;
    for (const json& l : field<json>(manifest, "layers", manifest_path)) {
        const std::string file =
            run.dir + "/traces/" + field<std::string>(l, "file", manifest_path);
        t.traces.push_back(core::read_trace(file));
        t.sparse.push_back(field<bool>(l, "input_sparse", manifest_path));
        t.first.push_back(t.traces.size() == 1);
    }
    return t;
}

// Whether calibration `c` describes the run's traces layer by layer: their number and names
// (else it cannot predict them), and their sizes (conv, the dense MACs at the calibration's
// batch; another width or input size gives other ones, and absolute predictions off by that).
bool layers_fit(const core::Calibration& c, const RunInfo& run, const RunTraces& t,
                Mismatches& mismatches) {
    const std::string manifest_path = run.dir + "/traces/manifest.json";
    if (c.layers.size() != t.traces.size()) {
        mismatches.report(c.path + ".layers",
                          "has " + std::to_string(c.layers.size()) + " layers but " +
                              manifest_path + " has " + std::to_string(t.traces.size()),
                          false);
        return false;
    }
    for (size_t i = 0; i < t.traces.size(); ++i)
        if (c.layers[i].name != t.traces[i].layer) {
            mismatches.report(c.path + ".layers[" + std::to_string(i) + "].name",
                              "is \"" + c.layers[i].name + "\" but the trace of layer " +
                                  std::to_string(i) + " in " + manifest_path + " is \"" +
                                  t.traces[i].layer + "\"",
                              false);
            return false;
        }
    size_t differ = 0, first = 0;
    double first_macs = 0;
    for (size_t i = 0; i < t.traces.size(); ++i) {
        core::LayerShape s = t.traces[i].shape;
        s.N = c.batch;
        const double macs = static_cast<double>(s.macs());
        if (std::abs(c.layers[i].conv - macs) > 1e-6 * macs) {
            if (differ++ == 0) first = i, first_macs = macs;
        }
    }
    if (differ)
        mismatches.report(c.path + ".layers[" + std::to_string(first) + "].conv",
                          "is " + fixed(c.layers[first].conv, 0) + " MACs but " + run.dir +
                              "'s trace of " + c.layers[first].name + " has " +
                              fixed(first_macs, 0) + " at batch " + std::to_string(c.batch) + " (" +
                              std::to_string(differ) + " of " + std::to_string(t.traces.size()) +
                              " layers differ: another width or input size?)",
                          true);
    return true;
}

const std::vector<std::string> kMethodOrder = {"baseline", "sparsity-targeting", "proposed-hoyer",
                                               "proposed-hybrid"};

}  // namespace

namespace {

/// The run standing for a method in claim_verdict: its lowest-energy run within the accuracy
/// margin (null when none is), and its most accurate run (for the message when none is).
struct MethodPick {
    const RunEval* run = nullptr;
    const RunEval* best_acc = nullptr;
    int count = 0;
};

MethodPick pick_matched(const std::vector<const RunEval*>& runs, const RunEval& base,
                        const std::string& method) {
    MethodPick p;
    for (const RunEval* r : runs) {
        if (r->method != method) continue;
        ++p.count;
        if (!p.best_acc || r->accuracy > p.best_acc->accuracy) p.best_acc = r;
        if (100 * (base.accuracy - r->accuracy) <= kMatchedPts + 1e-9 &&
            (!p.run || r->energy_pj() < p.run->energy_pj()))
            p.run = r;
    }
    return p;
}

/// Figures of a run against the baseline, for the verdict.
struct ClaimFigures {
    double energy = 0;        ///< % of the baseline's energy
    double delta_top1 = 0;    ///< pt, test set
    double density_drop = 0;  ///< baseline mean density - the run's (simulated images)
    /// % energy saved per point of mean density given up: how well the zeros were placed.
    double saved_per_density_pt() const {
        return density_drop > 1e-9 ? (100 - energy) / (100 * density_drop) : 0.0;
    }
};

ClaimFigures claim_figures(const RunEval& r, const RunEval& base) {
    return {100 * r.energy_pj() / base.energy_pj(), 100 * (r.accuracy - base.accuracy),
            base.mean_density - r.mean_density};
}

std::string describe_claim_run(const RunEval& r, const RunEval& base) {
    const ClaimFigures f = claim_figures(r, base);
    char d[16];
    std::snprintf(d, sizeof d, "%+.2f", f.delta_top1);
    return fixed(f.energy, 1) + " % energy, " + d + " pt top-1, mean density " +
           fixed(r.mean_density, 3) + " (baseline " + fixed(base.mean_density, 3) + ", over " +
           std::to_string(r.images) + " simulated images)";
}

/// Why a gap at matched accuracy is not clear: too little saved at all, zeros placed no
/// better than the uniform penalty's, or placed better but too few of them.
std::string why_not_clear(const ClaimFigures& h, const ClaimFigures& t) {
    const std::string moved = "the fine-tunes lowered the mean density by " +
                              fixed(h.density_drop, 3) + " (proposed-hybrid) and " +
                              fixed(t.density_drop, 3) + " (sparsity-targeting)";
    if (h.energy > 100 - kClearGapPts)
        return "proposed-hybrid saved less than " + fixed(kClearGapPts, 0) +
               " % of the baseline's energy at all (" + moved +
               "); a longer fine-tune, or a stronger penalty that stays within the accuracy "
               "margin, is needed.";
    const double ph = h.saved_per_density_pt(), pt = t.saved_per_density_pt();
    if (ph <= pt * 1.1)
        return "per point of mean density given up, proposed-hybrid saved " + fixed(ph, 2) +
               " % energy and sparsity-targeting " + fixed(pt, 2) +
               " %: the cost weighting did not put the zeros in costlier layers than the uniform "
               "penalty did (layer costs that differ little, or a fine-tune too short for the "
               "weights to matter).";
    return "proposed-hybrid put its zeros in costlier layers (" + fixed(ph, 2) +
           " % energy per point of mean density, against " + fixed(pt, 2) + " %), but " + moved +
           ", which is not enough for a clear gap.";
}

}  // namespace

std::string claim_verdict(const std::vector<const RunEval*>& runs, const RunEval* base, json* out) {
    *out = {{"matched_accuracy_pts", kMatchedPts}, {"clear_gap_pts", kClearGapPts}};
    (*out)["shown"] = false;
    if (!base) return "no baseline run: nothing to compare with.";
    const MethodPick hy = pick_matched(runs, *base, "proposed-hybrid");
    const MethodPick st = pick_matched(runs, *base, "sparsity-targeting");
    if (!hy.count || !st.count)
        return std::string("no ") + (!hy.count ? "proposed-hybrid" : "sparsity-targeting") +
               " run in this table: nothing to compare.";
    if (!hy.run || !st.run) {
        std::string s = "**not shown**: the methods are not at matched accuracy:";
        for (const MethodPick* m : {&hy, &st})
            if (!m->run)
                s += std::string(" every ") + m->best_acc->method + " run is more than " +
                     fixed(kMatchedPts, 0) + " pt below the baseline's top-1 (the closest: " +
                     describe_claim_run(*m->best_acc, *base) + ");";
        s.back() = '.';
        return s +
               " A weaker penalty, or a longer fine-tune that recovers the accuracy, is "
               "needed.";
    }
    const ClaimFigures h = claim_figures(*hy.run, *base), t = claim_figures(*st.run, *base);
    const double gap = t.energy - h.energy;
    const bool shown = gap >= kClearGapPts && h.energy <= 100 - kClearGapPts;
    (*out)["proposed_hybrid"] = {{"run", hy.run->run},
                                 {"energy_vs_baseline", h.energy / 100},
                                 {"accuracy_change", h.delta_top1 / 100}};
    (*out)["sparsity_targeting"] = {{"run", st.run->run},
                                    {"energy_vs_baseline", t.energy / 100},
                                    {"accuracy_change", t.delta_top1 / 100}};
    (*out)["gap_pts"] = gap;
    (*out)["shown"] = shown;
    const std::string figures = "proposed-hybrid " + describe_claim_run(*hy.run, *base) +
                                "; sparsity-targeting " + describe_claim_run(*st.run, *base) + ".";
    if (shown)
        return "**shown**: at matched accuracy (within " + fixed(kMatchedPts, 0) +
               " pt of the baseline) proposed-hybrid's energy is " + fixed(gap, 1) +
               " points below sparsity-targeting's: " + figures;
    return "**not shown**: at matched accuracy proposed-hybrid's energy is " +
           (gap >= 0 ? "only " + fixed(gap, 1) + " points below"
                     : fixed(-gap, 1) + " points above") +
           " sparsity-targeting's (clearly means at least " + fixed(kClearGapPts, 0) +
           " points below it, and below the baseline's): " + figures +
           " Why: " + why_not_clear(h, t);
}

std::vector<std::string> check_evaluate_inputs(const EvaluateOptions& o) {
    return check_inputs(o).mismatches.warnings();
}

json evaluate(const EvaluateOptions& o) {
    const bool tty = isatty(fileno(stderr)) != 0;
    Inputs in = check_inputs(o);

    // Every run's traces against the calibrations that would predict them, before anything
    // is simulated: calib[r][mode] is run r's calibration in that zero mode, if any.
    std::vector<std::map<std::string, const core::Calibration*>> calib(in.runs.size());
    for (size_t r = 0; r < in.runs.size(); ++r) {
        const RunTraces t = read_traces(in.runs[r]);
        for (size_t k = 0; k < in.calibs.size(); ++k) {
            const core::Calibration& c = in.calibs[k].c;
            if (in.usable[k] && c.network == in.runs[r].network &&
                layers_fit(c, in.runs[r], t, in.mismatches))
                calib[r][c.zero_mode] = &c;
        }
    }
    const std::vector<std::string>& warnings = in.mismatches.warnings();
    for (const auto& w : warnings) std::fprintf(stderr, "%s\n", w.c_str());

    std::vector<RunEval> evals;
    for (size_t r = 0; r < in.runs.size(); ++r) {
        const RunInfo& info = in.runs[r];
        const std::string& run = info.dir;
        const RunTraces rt = read_traces(info);
        const std::vector<core::Trace>& traces = rt.traces;
        const std::vector<bool>&sparse = rt.sparse, &first = rt.first;
        for (core::ZeroMode mode : o.zero_modes) {
            RunEval ev;
            ev.run = run;
            ev.network = info.network;
            ev.method = info.method;
            ev.accuracy = info.accuracy;
            ev.zero_mode = core::to_string(mode);
            ev.images = traces.empty() ? 0 : traces[0].shape.N;
            const auto found = calib[r].find(ev.zero_mode);
            const core::Calibration* cal = found == calib[r].end() ? nullptr : found->second;
            tlm::SimOptions so;
            so.arch = o.arch;
            so.arch.zero_mode = mode;
            so.mapping_density = o.mapping_density;
            double dens_sum = 0;
            int dens_n = 0;
            for (size_t i = 0; i < traces.size(); ++i) {
                so.ifmap_compressed = !first[i];
                LayerEval le;
                le.name = traces[i].layer;
                le.input_sparse = sparse[i];
                le.density = traces[i].density();
                // One image at a time (batch 1, as the accelerator runs inference and as
                // calib.json is fitted), each with the mapping the mapper picks for it.
                for (int64_t n = 0; n < traces[i].shape.N; ++n) {
                    const core::Trace one = image_of(traces[i], n);
                    const tlm::LayerResult r = tlm::simulate_layer(one, so);
                    if (!one.ofmap_acc.empty() && r.ofmap != one.ofmap_acc)
                        core::model_bug("evaluate", run + ": layer " + traces[i].layer +
                                                        " output differs from the trace");
                    le.energy_pj += r.energy.total();
                    le.cycles += r.cycles_total;
                    le.cycles_processing += r.cycles_processing;
                    le.ofmap_density += r.ofmap_density / static_cast<double>(traces[i].shape.N);
                    if (cal) {
                        // The write-back form predicts a layer from its input density and
                        // the density of the ofmap it writes (a property of the activations,
                        // not of the hardware); the other forms from the input density alone.
                        const auto& cl = cal->layers[i];
                        const bool plane = cl.energy_plane.valid && cl.cycles_plane.valid;
                        const double pe = plane ? cl.energy_plane.at(r.density, r.ofmap_density)
                                                : cl.energy_pj(r.density);
                        const double pc = plane ? cl.cycles_plane.at(r.density, r.ofmap_density)
                                                : cl.cycles(r.density);
                        le.predicted_energy_pj = std::max(0.0, le.predicted_energy_pj) + pe;
                        le.predicted_cycles = std::max(0.0, le.predicted_cycles) + pc;
                    }
                }
                if (sparse[i]) dens_sum += le.density, ++dens_n;
                ev.layers.push_back(le);
                if (o.progress && tty)
                    std::fprintf(stderr, "\revaluate: %s [%s] layer %zu/%zu   ", run.c_str(),
                                 ev.zero_mode.c_str(), i + 1, traces.size());
            }
            if (o.progress && !tty)  // a log file gets one line per run and zero mode
                std::fprintf(stderr, "evaluate: %s [%s] %zu layers simulated\n", run.c_str(),
                             ev.zero_mode.c_str(), traces.size());
            ev.mean_density = dens_n ? dens_sum / dens_n : 0;
            evals.push_back(std::move(ev));
        }
    }
    if (o.progress && tty) std::fprintf(stderr, "\n");

    // Table I: each run against the baseline run of the same network and zero mode.
    json results;
    results["schema"] = "actsparse.results/1";
    results["arch"] = core::arch_to_json(o.arch);
    results["command"] = o.command;
    std::ostringstream md;
    md << "# Results\n\nProduced by:\n\n```\n" << o.command << "\n```\n\n";
    md << "Energy and cycles are measured by the cycle-level model (SystemC) on the runs' "
          "exported test-image traces, one image at a time (batch 1); cycles are total "
          "cycles (the PE array overlapped with DRAM transfers). *pred.* columns are the "
          "calibrated analytical model at the same traces' densities, and *err* is its error "
          "on the absolute totals.\n\n";
    results["warnings"] = warnings;
    if (!warnings.empty()) {
        md << "**Calibrations that do not fit the runs** (allowed by "
              "`--allow-calibration-mismatch`; *pred.* and *err* columns are to be read with "
              "them in mind):\n\n";
        for (const auto& w : warnings)
            md << "- " << w.substr(std::string("warning: ").size()) << "\n";
        md << "\n";
    }
    std::map<std::string, std::vector<const RunEval*>> groups;  // network/zero mode
    for (const auto& e : evals) groups[e.network + " (" + e.zero_mode + ")"].push_back(&e);
    fs::create_directories(o.out + "/figures");
    for (auto& [key, runs] : groups) {
        std::stable_sort(runs.begin(), runs.end(), [](const RunEval* a, const RunEval* b) {
            auto rank = [](const std::string& m) {
                return std::find(kMethodOrder.begin(), kMethodOrder.end(), m) -
                       kMethodOrder.begin();
            };
            return rank(a->method) < rank(b->method);
        });
        const RunEval* base = nullptr;
        for (const RunEval* r : runs)
            if (r->method == "baseline") base = r;
        md << "## " << key << "\n\n";
        md << "| method | top-1 | Δ top-1 | mean density | energy vs base | speed-up | pred. "
              "energy vs base | pred. speed-up | energy err | cycles err |\n";
        md << "|---|---|---|---|---|---|---|---|---|---|\n";
        json rows = json::array();
        for (const RunEval* r : runs) {
            json row = {{"run", r->run},
                        {"method", r->method},
                        {"network", r->network},
                        {"zero_mode", r->zero_mode},
                        {"images", r->images},
                        {"accuracy", r->accuracy},
                        {"mean_density", r->mean_density},
                        {"energy_pj", r->energy_pj()},
                        {"cycles", r->cycles()},
                        {"predicted_energy_pj", r->predicted_energy_pj()},
                        {"predicted_cycles", r->predicted_cycles()}};
            const bool pred = r->predicted_energy_pj() >= 0;
            std::string e_err = "-", c_err = "-", pe = "-", ps = "-", de = "-", sp = "-", da = "-";
            if (pred) {
                const double ee = r->predicted_energy_pj() / r->energy_pj() - 1;
                const double ce = r->predicted_cycles() / static_cast<double>(r->cycles()) - 1;
                row["energy_error"] = ee;
                row["cycles_error"] = ce;
                e_err = pct(ee);
                c_err = pct(ce);
            }
            if (base) {
                const double er = r->energy_pj() / base->energy_pj();
                const double su = static_cast<double>(base->cycles()) / r->cycles();
                row["energy_vs_baseline"] = er;
                row["speedup"] = su;
                row["accuracy_change"] = r->accuracy - base->accuracy;
                de = pct(er);
                sp = fixed(su, 2) + "x";
                da = fixed(100 * (r->accuracy - base->accuracy), 2) + " pt";
                if (pred && base->predicted_energy_pj() >= 0) {
                    const double per = r->predicted_energy_pj() / base->predicted_energy_pj();
                    const double psu = base->predicted_cycles() / r->predicted_cycles();
                    row["predicted_energy_vs_baseline"] = per;
                    row["predicted_speedup"] = psu;
                    pe = pct(per);
                    ps = fixed(psu, 2) + "x";
                }
            }
            json layers = json::array();
            for (const auto& l : r->layers)
                layers.push_back({{"name", l.name},
                                  {"input_sparse", l.input_sparse},
                                  {"density", l.density},
                                  {"energy_pj", l.energy_pj},
                                  {"cycles", l.cycles},
                                  {"cycles_processing", l.cycles_processing},
                                  {"ofmap_density", l.ofmap_density},
                                  {"predicted_energy_pj", l.predicted_energy_pj},
                                  {"predicted_cycles", l.predicted_cycles}});
            row["layers"] = layers;
            row["label"] = label(r->run, r->method);
            rows.push_back(row);
            md << "| " << label(r->run, r->method) << " | " << pct(r->accuracy) << " | " << da
               << " | " << fixed(r->mean_density, 3) << " | " << de << " | " << sp << " | " << pe
               << " | " << ps << " | " << e_err << " | " << c_err << " |\n";
        }
        results["tables"][key] = rows;
        json v;
        md << "\n**Verdict** (the paper's claim, measured): " << claim_verdict(runs, base, &v)
           << "\n";
        results["verdicts"][key] = v;

        // Fig. 6: per-layer density, energy and cycles of every method. File names are
        // <network>-<zero mode>-*.png (as in docs/results/), and the script names its files
        // relative to figures/: `gnuplot <stem>.gp` there redraws them, also in a copy.
        const std::string stem = file_safe(runs[0]->network) + "-" + runs[0]->zero_mode;
        const std::string fig_dir = o.out + "/figures";
        const std::string dat = stem + ".dat";
        {
            std::ostringstream d;
            d << "# layer";
            for (const RunEval* r : runs)
                d << " " << r->method << "_density " << r->method << "_energy_uJ " << r->method
                  << "_cycles";
            d << "\n";
            for (size_t i = 0; i < runs[0]->layers.size(); ++i) {
                d << i;
                for (const RunEval* r : runs) {
                    const auto& l = i < r->layers.size() ? r->layers[i] : LayerEval{};
                    d << " " << l.density << " " << l.energy_pj / 1e6 << " " << l.cycles;
                }
                d << "\n";
            }
            core::write_file_atomic(fig_dir + "/" + dat, d.str());
        }
        const std::string png = stem + "-layers.png";
        const std::string fig1 = stem + "-density-vs-energy.png";
        const std::string fig_acc = stem + "-accuracy-vs-energy.png";
        std::ostringstream g;
        // Run labels hold underscores and parentheses: no enhanced-text markup.
        g << "# " << key << ": run `gnuplot " << stem
          << ".gp` in this folder to draw the figures (written by actsparse evaluate).\n"
          << "set terminal pngcairo size 1200,1000 noenhanced\nset output " << gq(png) << "\n"
          << "set multiplot layout 3,1 title " << gq(key + ": per conv layer") << "\n"
          << "set style data linespoints\nset key outside right\nset offsets 0.5, 0.5, graph 0.05, "
             "graph 0.05\nset xlabel 'conv layer'\n";
        const char* ylabels[] = {"ifmap density", "energy (uJ)", "cycles"};
        for (int k = 0; k < 3; ++k) {
            g << "set ylabel '" << ylabels[k] << "'\nplot ";
            for (size_t m = 0; m < runs.size(); ++m)
                g << (m ? ", " : "") << gq(dat) << " using 1:" << 2 + 3 * m + k << " title "
                  << gq(label(runs[m]->run, runs[m]->method));
            g << "\n";
        }
        g << "unset multiplot\nset output\n";
        // Fig. 1: mean density against energy, one point per method. The offsets keep the
        // points (and their labels) off the axes.
        g << "set terminal pngcairo size 800,600 noenhanced\nset output " << gq(fig1) << "\n"
          << "set title " << gq(key + ": mean ifmap density against energy") << "\n"
          << "set xlabel 'mean ifmap density (sparse-input layers)'\nset ylabel 'energy (uJ)'\n"
          << "set offsets graph 0.1, graph 0.25, graph 0.1, graph 0.1\n"
          << "set key off\nplot '-' using 1:2:3 with labels point pt 7 offset char 1,1\n";
        for (const RunEval* r : runs) {
            std::string l = label(r->run, r->method);
            std::replace(l.begin(), l.end(), '"', '\'');
            g << r->mean_density << " " << r->energy_pj() / 1e6 << " \"" << l << "\"\n";
        }
        g << "e\nset output\n";
        // Accuracy against measured energy: the trade-off each method reaches.
        if (base) {
            // One line per method through its runs (e.g. the lambda search), by energy.
            std::vector<std::string> methods;
            for (const RunEval* r : runs)
                if (std::find(methods.begin(), methods.end(), r->method) == methods.end())
                    methods.push_back(r->method);
            g << "set output " << gq(fig_acc) << "\n"
              << "set title " << gq(key + ": top-1 accuracy against energy") << "\n"
              << "set xlabel 'energy, % of baseline (cycle-level model)'\nset ylabel 'top-1 (%)'\n"
              << "set offsets graph 0.1, graph 0.1, graph 0.15, graph 0.15\n"
              << "set key inside bottom right\nplot ";
            for (size_t m = 0; m < methods.size(); ++m)
                g << (m ? ", " : "") << "'-' using 1:2 with linespoints pt " << 5 + 2 * m
                  << " title " << gq(methods[m]);
            g << "\n";
            for (const auto& m : methods) {
                std::vector<std::pair<double, double>> pts;
                for (const RunEval* r : runs)
                    if (r->method == m)
                        pts.emplace_back(100 * r->energy_pj() / base->energy_pj(),
                                         100 * r->accuracy);
                std::sort(pts.begin(), pts.end());
                for (const auto& [x, y] : pts) g << x << " " << y << "\n";
                g << "e\n";
            }
            g << "set output\n";
        }
        const std::string gp = stem + ".gp";
        core::write_file_atomic(fig_dir + "/" + gp, g.str());
        const bool drawn = gnuplot(fig_dir, gp);
        md << "\n";
        if (drawn)
            md << "![per-layer](figures/" << png << ")\n\n"
               << "![density vs energy](figures/" << fig1 << ")\n\n"
               << (base ? "![accuracy vs energy](figures/" + fig_acc + ")\n\n" : std::string());
        else
            md << "(gnuplot unavailable: figure data in figures/" << dat << ", script figures/"
               << gp << ")\n\n";
    }
    core::write_file_atomic(o.out + "/results.json", results.dump(2) + "\n");
    core::write_file_atomic(o.out + "/results.md", md.str());
    return results;
}

}  // namespace actsparse::traces
