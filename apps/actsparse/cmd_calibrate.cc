// `actsparse calibrate`: fits the per-layer energy/cycle model of a network to the simulator
// over a density sweep, validates it, and writes calib.json plus a report (docs/calibration.md).
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <sstream>
#include <string>
#include <utility>

#include "apps/actsparse/commands.h"
#include "apps/actsparse/inputs.h"
#include "calibration/engine/cache.h"
#include "calibration/engine/calibrate.h"
#include "calibration/engine/progress.h"
#include "calibration/engine/report.h"
#include "calibration/tlm_simulator.h"
#include "core/arch.h"
#include "core/error.h"
#include "core/network.h"

namespace actsparse::app {
namespace {

struct CalibrateOpts {
    NetArgs net;
    std::string arch = "eyeriss-v1";
    std::string energy_table;
    std::string zero_mode;
    std::string densities;
    int seeds = calibration::SweepConfig().seeds;
    std::string patterns;
    std::string validate_densities;
    std::string validate_patterns;
    int64_t validate_seed = static_cast<int64_t>(calibration::SweepConfig().validate_seed);
    std::string validate_traces;
    int64_t batch = 1;
    int jobs = 0;
    std::string fidelity = "fast";
    std::string objective = "energy";
    std::string mapping_density;  ///< empty: kDefaultMappingDensity
    std::string cache;
    std::string out = "calib.json";
    std::string report;
    std::string form = "auto";
    std::string figure_format = "png";
    std::string gnuplot = "gnuplot";
    bool quiet = false;
    std::string shard;   ///< "I/N": simulate only this share of the sweep into the cache
    bool merge = false;  ///< fit from the cache alone
};

/// "I/N" with 0 <= I < N.
std::pair<int, int> parse_shard(const std::string& text) {
    const size_t slash = text.find('/');
    int i = -1, n = 0;
    try {
        size_t a = 0, b = 0;
        if (slash != std::string::npos) {
            i = std::stoi(text.substr(0, slash), &a);
            n = std::stoi(text.substr(slash + 1), &b);
        }
        if (slash == std::string::npos || a != slash || b != text.size() - slash - 1) i = -1;
    } catch (const std::exception&) {
        i = -1;
    }
    if (i < 0 || n < 1 || i >= n)
        throw core::InputError("--shard",
                               "expected I/N with 0 <= I < N (e.g. 0/4), got '" + text + "'");
    return {i, n};
}

std::vector<std::string> split(const std::string& text) {
    std::vector<std::string> out;
    std::stringstream ss(text);
    std::string item;
    while (std::getline(ss, item, ','))
        if (!item.empty()) out.push_back(item);
    return out;
}

std::vector<double> parse_densities(const std::string& text, const std::string& flag) {
    std::vector<double> out;
    for (const auto& item : split(text)) {
        double d = 0;
        if (!parse_double(item, &d)) throw core::InputError(flag, "'" + item + "' is not a number");
        out.push_back(d);
    }
    return out;
}

std::vector<core::ZeroPattern> parse_patterns(const std::string& text, const std::string& flag) {
    std::vector<core::ZeroPattern> out;
    for (const auto& item : split(text)) out.push_back(core::parse_zero_pattern(item, flag));
    return out;
}

// "calib.json" -> "calib-report".
std::string default_report_dir(const std::string& out) {
    std::filesystem::path p(out);
    if (p.extension() == ".json") p.replace_extension();
    return p.string() + "-report";
}

void check_parent_exists(const std::string& path, const std::string& flag) {
    const auto parent = std::filesystem::path(path).parent_path();
    if (!parent.empty() && !std::filesystem::is_directory(parent))
        throw core::InputError(flag, "folder " + parent.string() + " does not exist");
}

void run(const CalibrateOpts& o) {
    using namespace calibration;
    calibration::TlmSimulatorOptions so;
    so.arch = load_arch_with_energy(o.arch, o.energy_table);
    if (!o.zero_mode.empty()) so.arch.zero_mode = core::parse_zero_mode(o.zero_mode, "--zero-mode");
    if (so.arch.zero_mode == core::ZeroMode::kNone)
        throw core::InputError("--zero-mode",
                               "calibrates skip or gate (with none, density changes nothing)");
    so.fidelity = hw::parse_fidelity(o.fidelity, "--fidelity");
    so.objective = tlm::parse_objective(o.objective, "--objective");
    if (o.jobs < 0) throw core::InputError("--jobs", "must be >= 0 (0: one per core)");

    if (!(o.net.width > 0) || !std::isfinite(o.net.width))
        throw core::InputError("--width", "must be a finite number > 0");
    const core::Network net = load_network(o.net);
    CalibrationInput in;
    in.network = net.name;
    in.layers = net.conv_layers(o.batch);
    in.first_input = net.input().name;
    in.producer = input_producers(net);
    in.batch = o.batch;
    in.width_mult = o.net.width;
    if (!o.densities.empty()) in.sweep.densities = parse_densities(o.densities, "--densities");
    in.sweep.seeds = o.seeds;
    if (!o.patterns.empty()) in.sweep.patterns = parse_patterns(o.patterns, "--patterns");
    if (!o.validate_densities.empty())
        in.sweep.validate_densities =
            o.validate_densities == "none"
                ? std::vector<double>{}
                : parse_densities(o.validate_densities, "--validate-densities");
    if (!o.validate_patterns.empty())
        in.sweep.validate_patterns = parse_patterns(o.validate_patterns, "--validate-patterns");
    if (o.validate_seed < 1) throw core::InputError("--validate-seed", "must be >= 1");
    in.sweep.validate_seed = static_cast<uint64_t>(o.validate_seed);
    check_sweep(in.sweep);
    if (!o.validate_traces.empty())
        in.traces = read_trace_manifest(o.validate_traces, in.network, in.layers);
    in.zero_mode = core::to_string(so.arch.zero_mode);
    in.arch = core::arch_to_json(so.arch);
    in.arch_hash = core::arch_hash(so.arch);
    in.fidelity = hw::to_string(so.fidelity);
    in.objective = tlm::to_string(so.objective);
    const double md = o.mapping_density.empty()
                          ? kDefaultMappingDensity
                          : parse_mapping_density(o.mapping_density, "--mapping-density");
    if (md >= 0) {
        so.mapping_density = md;
        in.mapping_density = md;
    }
    in.form = parse_form(o.form, "--form");

    const std::string report_dir = o.report == "none" ? ""
                                   : o.report.empty() ? default_report_dir(o.out)
                                                      : o.report;
    check_parent_exists(o.out, "--out");
    if (!report_dir.empty()) check_parent_exists(report_dir, "--report");
    if (o.figure_format != "png" && o.figure_format != "svg")
        throw core::InputError("--figure-format",
                               "expected png or svg, got \"" + o.figure_format + "\"");

    RunOptions ro;
    ro.jobs = o.jobs;
    ro.cache_dir = o.cache == "none" ? "" : o.cache.empty() ? default_cache_dir() : o.cache;
    if (!o.shard.empty()) {
        const auto [index, count] = parse_shard(o.shard);
        ro.shard_index = index, ro.shard_count = count;
        if (ro.cache_dir.empty())
            throw core::InputError("--cache", "--shard needs a cache folder shared by the shards");
    }
    if (o.merge) {
        if (ro.cache_dir.empty())
            throw core::InputError("--cache", "--merge fits from the cache: give its folder");
        ro.simulate = false;
    }
    ro.context = tlm_context(so);
    ro.progress = o.quiet ? nullptr : stderr;
    ro.label = net.name + " " + in.zero_mode;
    if (!o.quiet && !o.merge)  // --merge simulates nothing (and may stop at a missing point)
        std::fprintf(stderr,
                     "calibrating %s (%zu conv layers, zero mode %s, %zu points), cache %s\n",
                     net.name.c_str(), in.layers.size(), in.zero_mode.c_str(),
                     sweep_points(in).size(), ro.cache_dir.empty() ? "off" : ro.cache_dir.c_str());

    if (!o.shard.empty()) {
        const RunStats st = calibrate_shard(in, tlm_simulator(so), ro);
        if (o.quiet) return;
        std::printf(
            "shard %d/%d of %s, zero mode %s: %zu points (%zu unique): %zu simulated here, %zu "
            "cached, %zu left to other shards, in %s; cache %s\n",
            ro.shard_index, ro.shard_count, net.name.c_str(), in.zero_mode.c_str(), st.points,
            st.unique, st.simulated, st.cached, st.other_shards,
            format_duration(st.wall_seconds).c_str(), ro.cache_dir.c_str());
        std::printf("when every shard is done: the same command with --merge instead of --shard\n");
        return;
    }
    const CalibrationResult c = calibrate(in, tlm_simulator(so), ro);
    core::write_file_atomic(o.out, to_json(c).dump(1) + "\n");
    ReportOutcome figs;
    if (!report_dir.empty()) {
        ReportOptions rep;
        rep.gnuplot = o.gnuplot;
        rep.format = o.figure_format;
        rep.calib_json = o.out;
        figs = write_report(c, report_dir, rep);
        if (!figs.figures)
            std::fprintf(stderr, "actsparse: warning: report without figures: %s\n",
                         figs.message.c_str());
    }
    if (o.quiet) return;

    std::printf(
        "%s, zero mode %s: %zu conv layers, %zu points (%zu cached, %zu simulated, %d "
        "workers) in %s\n",
        net.name.c_str(), in.zero_mode.c_str(), c.layers.size(), c.run.points, c.run.cached,
        c.run.simulated, c.run.workers, format_duration(c.run.wall_seconds).c_str());
    std::printf("global: e1 %.6g e0 %.6g pJ/MAC, c1 %.6g c0 %.6g cycles/MAC; form %s ", c.e1, c.e0,
                c.c1, c.c0, c.form.c_str());
    if (c.validated)
        std::printf("(validation MAE free %.3f %%, factorised %.3f %%, writeback %.3f %%)\n",
                    c.form_score_free, c.form_score_factorised, c.form_score_writeback);
    else
        std::printf("(no synthetic validation: --validate-densities none)\n");
    if (c.validation["sets"].empty())
        std::printf("no validation was run: the fit is not checked against held-out points\n");
    else
        std::printf("%-10s %-10s %-7s %14s %14s %14s %12s %s\n", "set", "form", "qty",
                    "layer MAE mean", "layer MAE max", "sparse-in max", "network MAE", "target");
    for (const auto& [set, forms] : c.validation["sets"].items())
        for (const char* form : {"free", "factorised", "writeback"})
            for (const char* q : {"energy", "cycles"}) {
                const auto& v = forms[form][q];
                std::printf("%-10s %-10s %-7s %13.3f%% %13.3f%% %13.3f%% %11.3f%% %s\n",
                            set.c_str(), form, q, v["layer_mae_pct_mean"].get<double>(),
                            v["layer_mae_pct_max"].get<double>(),
                            v["sparse_input_layers"]["layer_mae_pct_max"].get<double>(),
                            v["network_mae_pct"].get<double>(),
                            v["meets_target"].get<bool>() ? "met" : "NOT met");
            }
    size_t changes = 0;
    for (const auto& l : c.layers) changes += l.mapping_changes;
    std::printf("mapping changes within the sweep: %zu of %zu layers\n", changes, c.layers.size());
    std::printf("wrote %s%s%s\n", o.out.c_str(), report_dir.empty() ? "" : " and ",
                report_dir.empty() ? "" : (report_dir + "/report.md").c_str());
}

}  // namespace

void add_calibrate_command(CLI::App& app) {
    auto o = std::make_shared<CalibrateOpts>();
    auto* cmd = app.add_subcommand(
        "calibrate", "Fit the per-layer energy/cycle model of a network to the simulator");
    auto* net =
        cmd->add_option("--net", o->net.net, "Built-in network (names: `actsparse layers --list`)");
    add_net_source_options(cmd, o->net, net);
    cmd->add_option("--arch", o->arch, "eyeriss-v1, eyeriss-v2 or an architecture YAML file")
        ->capture_default_str();
    cmd->add_option("--energy-table", o->energy_table,
                    "An Accelergy ERT (ERT.yaml) for the arch's energy counters (docs/formats.md)");
    cmd->add_option("--zero-mode", o->zero_mode, "skip | gate (default: the arch's)");
    cmd->add_option("--densities", o->densities,
                    "Fit densities, comma-separated (default 0.05,0.1,0.2,0.3,0.4,0.5,0.6,0.8,1)");
    cmd->add_option("--seeds", o->seeds, "Fit seeds 1..N per density and pattern")
        ->check(CLI::Range(1, 1000))
        ->capture_default_str();
    cmd->add_option("--patterns", o->patterns,
                    "Fit zero patterns: uniform,channel,block (default all three)");
    cmd->add_option("--validate-densities", o->validate_densities,
                    "Held-out densities, not among the fit ones (default 0.15,0.45,0.7,0.9; "
                    "none: no synthetic validation)");
    cmd->add_option("--validate-patterns", o->validate_patterns,
                    "Zero patterns of the validation points (default uniform,channel,block)");
    cmd->add_option("--validate-seed", o->validate_seed, "Seed of the validation points")
        ->capture_default_str();
    cmd->add_option("--validate-traces", o->validate_traces,
                    "Folder with manifest.json {network, layers: [{name, file}]} of traces");
    cmd->add_option("--batch", o->batch, "Batch size N of the simulated layers")
        ->check(CLI::PositiveNumber)
        ->capture_default_str();
    cmd->add_option("--width", o->net.width, "Channel width multiplier of the network")
        ->capture_default_str();
    cmd->add_option("--jobs", o->jobs, "Worker processes (0: one per core)")
        ->check(CLI::Range(0, 4096))
        ->capture_default_str();
    cmd->add_option("--fidelity", o->fidelity, "fast | cycle")->capture_default_str();
    cmd->add_option("--mapping-density", o->mapping_density,
                    "Plan every point's mapping for this reference density (one mapping per "
                    "layer, as deployed; default " +
                        format_density(kDefaultMappingDensity) +
                        "), or per-point: the mapper re-picks for each point's density");
    cmd->add_option("--objective", o->objective, "Mapper objective: energy | cycles | edp")
        ->capture_default_str();
    cmd->add_option("--cache", o->cache,
                    "Point cache folder, or none (default $XDG_CACHE_HOME or "
                    "~/.cache/actsparse/calibration)");
    cmd->add_option("--out", o->out, "calib.json to write (atomically)")->capture_default_str();
    cmd->add_option("--report", o->report,
                    "Report folder, or none (default: the --out name with -report)");
    cmd->add_option("--form", o->form,
                    "Where e_l/c_l come from: auto (smallest validation error) | free | "
                    "factorised | writeback")
        ->capture_default_str();
    cmd->add_option("--figure-format", o->figure_format, "png | svg")->capture_default_str();
    cmd->add_option("--gnuplot", o->gnuplot, "gnuplot executable")->capture_default_str();
    cmd->add_flag("--quiet", o->quiet, "No progress bar and no summary");
    auto* shard = cmd->add_option("--shard", o->shard,
                                  "I/N: simulate only shard I of N of the sweep's uncached points "
                                  "into --cache (shared by the shards) and fit nothing");
    cmd->add_flag("--merge", o->merge,
                  "Fit from --cache alone once every shard is done (no simulation; a missing "
                  "point is an error)")
        ->excludes(shard);
    cmd->callback([o]() { run(*o); });
}

}  // namespace actsparse::app
