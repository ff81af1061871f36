#pragma once
/// @file Closing the loop: trained runs' real per-layer traces through the cycle-level model,
/// compared with each other (the paper's Table I and Fig. 6) and with the calibrated model's
/// prediction. Inputs are finished run folders (summary.json) whose traces were exported
/// (`actsparse trace export`, <run>/traces/manifest.json).
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/arch.h"

namespace actsparse::traces {

struct EvaluateOptions {
    std::vector<std::string> runs;  ///< run folders, each with traces/manifest.json
    core::ArchConfig arch;
    std::vector<core::ZeroMode> zero_modes = {core::ZeroMode::kGate, core::ZeroMode::kSkip};
    /// calib.json files; each applies to its network and zero mode (none: no prediction).
    /// Each must fit the runs it predicts: network, zero mode, width (`width_mult` against
    /// the run's `width`), layer names and sizes (`conv` against the traces' MACs at the
    /// calibration's batch) and `mapping_density`; else evaluate throws InputError.
    std::vector<std::string> calibrations;
    /// A calibration that does not fit is a warning (stderr, results.md, results.json)
    /// instead: one of another network or zero mode, or whose layers differ in name or
    /// number, is left unused; one of another width, layer size or mapping density is used
    /// as given.
    bool allow_calibration_mismatch = false;
    /// < 0: the mapper plans each image's layer for its measured density; else for this one.
    double mapping_density = -1;
    /// Where mapping_density came from, for messages: "" = the --mapping-density flag, else
    /// e.g. "from calib.json" or "the default".
    std::string mapping_density_source;
    std::string out;      ///< output folder: results.json, results.md, figures/
    std::string command;  ///< the command line, recorded in results.md
    bool progress = true;
};

/// One simulated layer of one run in one zero mode.
struct LayerEval {
    std::string name;
    bool input_sparse = false;
    double density = 0;               ///< of the exported trace's ifmap
    double ofmap_density = 0;         ///< of the ofmap written back (mean over the images)
    double energy_pj = 0;             ///< summed over the images, each simulated at batch 1
    int64_t cycles = 0;               ///< total cycles (compute overlapped with DRAM), summed
    int64_t cycles_processing = 0;    ///< PE-array cycles alone, summed
    double predicted_energy_pj = -1;  ///< < 0: no calibration for this network/mode
    double predicted_cycles = -1;
};

struct RunEval {
    std::string run, network, method;
    double accuracy = 0;      ///< top-1 on the test set (summary.json)
    double mean_density = 0;  ///< over sparse-input layers, exported traces
    int64_t images = 0;
    std::string zero_mode;
    std::vector<LayerEval> layers;
    double energy_pj() const;
    int64_t cycles() const;
    double predicted_energy_pj() const;  ///< < 0 when any layer lacks a prediction
    double predicted_cycles() const;
};

/// The paper's claim, measured: at matched accuracy (at most kMatchedPts below the
/// baseline's top-1 on the test set), proposed-hybrid's energy is clearly (at least
/// kClearGapPts points of the baseline's energy) below sparsity-targeting's. When a method has
/// several runs among `runs`, its lowest-energy run within the margin stands for it. Returns
/// one Markdown sentence: "**shown**" (the gap, with proposed-hybrid itself at least
/// kClearGapPts below the baseline's energy), or "**not shown**" and why (a method with no run
/// within the margin; less than kClearGapPts saved at all; zeros placed no better than the
/// uniform penalty did; or too little density removed); `out` gets the figures behind it.
/// Densities are the runs' mean_density over the simulated images.
constexpr double kMatchedPts = 1.0;
constexpr double kClearGapPts = 2.0;
std::string claim_verdict(const std::vector<const RunEval*>& runs, const RunEval* base,
                          nlohmann::json* out);

/// The checks that need no traces, for a caller to make before it exports any: every run
/// folder is a finished training run (an interrupted one is refused with the command that
/// continues it), zero modes are gate or skip, and every calibration fits the runs' network,
/// zero mode, width and the mapping density. Throws InputError naming the file and field;
/// returns the warnings of the mismatches that options.allow_calibration_mismatch allows.
std::vector<std::string> check_evaluate_inputs(const EvaluateOptions& options);

/// Simulates every run in every zero mode and writes results.json, results.md and the
/// figures into options.out (atomically per file): figures/<network>-<zero mode>.{dat,gp} and
/// its -layers, -density-vs-energy and -accuracy-vs-energy PNGs; the .gp script names its
/// files relative to figures/. Checks its inputs first (check_evaluate_inputs, then every
/// calibration's layers against the traces) and writes nothing when they are refused.
/// Mismatch warnings go to stderr. Returns results.json's content.
nlohmann::json evaluate(const EvaluateOptions& options);

}  // namespace actsparse::traces
