// `actsparse evaluate`: trained runs' real traces through the cycle-level model; the
// paper's Table I and Fig. 6 (docs/cli.md).
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>

#include "apps/actsparse/commands.h"
#include "apps/actsparse/inputs.h"
#include "core/arch.h"
#include "core/error.h"
#include "traces/evaluate.h"
#ifdef ACTSPARSE_WITH_TORCH
#include "trainer/train.h"
#endif

namespace actsparse::app {
namespace {

// `--mapping-density` not given: the density the calibrations' points were planned for (the
// first file that records one; null means per point, so per image here), else
// kDefaultMappingDensity. A file that cannot be read or holds no usable value is skipped here
// and named by check_evaluate_inputs.
double mapping_density_of(const std::vector<std::string>& calibrations, std::string* source) {
    *source = "the default";
    for (const auto& path : calibrations) {
        std::ifstream in(path);
        if (!in) continue;
        const nlohmann::json j = nlohmann::json::parse(in, nullptr, false);
        if (!j.is_object() || !j.contains("mapping_density")) continue;
        const nlohmann::json& m = j["mapping_density"];
        *source = "from " + path;
        if (m.is_null()) return -1;
        if (m.is_number() && m.get<double>() > 0 && m.get<double>() <= 1) return m.get<double>();
        *source = "the default";
    }
    return kDefaultMappingDensity;
}

}  // namespace

void add_evaluate_command(CLI::App& app) {
    struct Opts {
        std::vector<std::string> runs;
        std::string arch = "eyeriss-v1";
        std::string energy_table;
        std::string zero_mode = "both";
        int64_t images = 8;
        std::vector<std::string> calibrations;
        std::string out;
        bool reexport = false;
        bool allow_mismatch = false;
        std::string mapping_density;  ///< empty: as the calibrations, else the default
    };
    auto o = std::make_shared<Opts>();
    auto* cmd = app.add_subcommand(
        "evaluate", "Simulate trained runs' real traces; Table I and per-layer figures");
    cmd->add_option("--runs", o->runs, "Run folders (baseline and methods)")->required();
    cmd->add_option("--arch", o->arch, "eyeriss-v1, eyeriss-v2 or an architecture YAML")
        ->capture_default_str();
    cmd->add_option("--energy-table", o->energy_table,
                    "An Accelergy ERT (ERT.yaml) for the arch's energy counters (docs/formats.md)");
    cmd->add_option("--zero-mode", o->zero_mode, "gate | skip | both (gate and skip)")
        ->capture_default_str();
    cmd->add_option("--images", o->images, "Test images per trace (export)")
        ->check(CLI::PositiveNumber)
        ->capture_default_str();
    cmd->add_option("--calibration", o->calibrations,
                    "calib.json files for the predictions (each must fit the runs' network, "
                    "width and --mapping-density)");
    cmd->add_flag("--allow-calibration-mismatch", o->allow_mismatch,
                  "A calibration that does not fit the runs is a warning, not an error "
                  "(docs/cli.md)");
    cmd->add_option("--out", o->out, "Output folder")->required();
    cmd->add_flag("--reexport", o->reexport, "Export traces again even if present");
    cmd->add_option("--mapping-density", o->mapping_density,
                    "Plan every layer's one mapping for this density (as calibrate "
                    "--mapping-density), or per-image; default: the density the --calibration "
                    "files record, else " +
                        format_density(kDefaultMappingDensity));
    cmd->callback([o]() {
        traces::EvaluateOptions eo;
        eo.runs = o->runs;
        eo.arch = load_arch_with_energy(o->arch, o->energy_table);
        // `none` (an array that exploits no zeros) is refused, as calibrate refuses it: no
        // calibration exists for it, and it does not show what the trained sparsity buys.
        if (o->zero_mode == "both")
            eo.zero_modes = {core::ZeroMode::kGate, core::ZeroMode::kSkip};
        else if (o->zero_mode == "gate" || o->zero_mode == "skip")
            eo.zero_modes = {core::parse_zero_mode(o->zero_mode, "--zero-mode")};
        else
            throw core::InputError("--zero-mode",
                                   "expected gate, skip or both, got \"" + o->zero_mode + "\"");
        eo.calibrations = o->calibrations;
        eo.allow_calibration_mismatch = o->allow_mismatch;
        eo.mapping_density = o->mapping_density.empty()
                                 ? mapping_density_of(o->calibrations, &eo.mapping_density_source)
                                 : parse_mapping_density(o->mapping_density, "--mapping-density");
        eo.out = o->out;
        eo.command = "actsparse evaluate";
        for (const auto& r : o->runs) eo.command += " --runs " + r;
        eo.command += " --arch " + o->arch + " --zero-mode " + o->zero_mode + " --images " +
                      std::to_string(o->images);
        for (const auto& c : o->calibrations) eo.command += " --calibration " + c;
        eo.command +=
            " --mapping-density " + (eo.mapping_density >= 0 ? format_density(eo.mapping_density)
                                                             : std::string("per-image"));
        if (o->allow_mismatch) eo.command += " --allow-calibration-mismatch";
        eo.command += " --out " + o->out;
        // Unfinished runs and calibrations that do not fit are refused before any export.
        traces::check_evaluate_inputs(eo);
        for (const auto& run : o->runs) {
            const std::string manifest = run + "/traces/manifest.json";
            bool have = std::filesystem::exists(manifest) && !o->reexport;
            if (have) {
                // Traces of another image count are stale for this evaluation.
                const auto j = nlohmann::json::parse(core::read_file(manifest), nullptr, false);
                have = j.is_object() && j.contains("images") && j["images"].is_number_integer() &&
                       j["images"].get<int64_t>() == o->images;
                // Traces quantised by the exported images' own range, of a run whose summary
                // now fixes each layer's fraction bits, would not match its densities.
                const auto sum =
                    nlohmann::json::parse(core::read_file(run + "/summary.json"), nullptr, false);
                const bool run_fixes_bits = sum.is_object() && sum.contains("quantisation") &&
                                            sum["quantisation"].is_object();
                const bool traces_use_them = have && j.contains("frac_bits_source") &&
                                             j["frac_bits_source"].is_string() &&
                                             j["frac_bits_source"].get<std::string>() != "images";
                if (run_fixes_bits && !traces_use_them) have = false;
            }
            if (have) continue;
#ifdef ACTSPARSE_WITH_TORCH
            trainer::ExportOptions ex;
            ex.run = run;
            ex.out = run + "/traces";
            ex.images = o->images;
            trainer::export_traces(ex);
#elif defined(ACTSPARSE_TORCH_SIBLING)
            // Reached only when the sibling is missing (it would have taken over before).
            throw core::InputError(manifest, std::string("missing; exporting traces needs ") +
                                                 ACTSPARSE_TORCH_SIBLING +
                                                 " beside this binary (cmake --build BUILD "
                                                 "--target actsparse-torch)");
#else
            throw core::InputError(manifest,
                                   "missing, and this build cannot export traces (no LibTorch)");
#endif
        }
        traces::evaluate(eo);
        std::printf("results: %s/results.md %s/results.json\n", o->out.c_str(), o->out.c_str());
    });
}

}  // namespace actsparse::app
