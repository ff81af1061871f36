#pragma once
/// @file The cost side of a run's summary.json: the calibrated model's predicted energy and
/// cycles at the measured densities, absolute or relative to a baseline run. No LibTorch.
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/network.h"
#include "trainer/calibration.h"

namespace actsparse::trainer {

/// Per-layer test densities from <run_dir>/summary.json ("test.layers[].density"), checked
/// against `net` (same network name and layer names; InputError naming file and field).
/// Runs with a "quantisation" entry hold the density of the quantised activations there
/// (what their traces hold); older runs the float density. `quantised` (may be null) says
/// which.
std::vector<double> read_run_densities(const std::string& run_dir, const core::Network& net,
                                       bool* quantised = nullptr);

/// {"calibration", "energy_pj", "cycles", "layers": [{index, name, energy_pj, cycles}],
///  and with a baseline: "baseline_run", "baseline_energy_pj", "baseline_cycles",
///  "energy_ratio" (run / baseline), "speedup" (baseline cycles / run cycles)}.
nlohmann::json predicted_costs(const Calibration& calib, const std::vector<double>& density,
                               const std::vector<double>* baseline_density,
                               const std::string& baseline_run);

}  // namespace actsparse::trainer
