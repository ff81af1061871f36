#pragma once
/// @file The real simulator behind the calibration engine: each point becomes a trace
/// (synthetic, or read from its file) run through tlm::simulate_layer with the mapper free to
/// pick a mapping for the measured density. Call it only in worker processes (run_points
/// forks them): SystemC elaborates once per process, and the parent must not touch it.
#include <string>

#include "calibration/engine/point.h"
#include "core/arch.h"
#include "hw/mapping.h"
#include "tlm/mapper.h"

namespace actsparse::calibration {

/// Version of the simulator's numbers in cache keys: bump it when a change to hw/ or tlm/
/// alters simulated energy or cycles, so stale cache entries stop matching.
inline constexpr const char* kTlmModelVersion = "tlm-7";
/// The same for eyeriss-v2 configs (hw/v2 through tlm/simulate_v2.cc), versioned apart so a
/// v2-only change leaves the v1 cache valid.
inline constexpr const char* kTlmV2ModelVersion = "tlm-v2-3";

struct TlmSimulatorOptions {
    core::ArchConfig arch;  ///< zero mode included
    hw::Fidelity fidelity = hw::Fidelity::kFast;
    tlm::Objective objective = tlm::Objective::kEnergy;
    bool relu_out = true;  ///< ReLU the ofmap before it is written back (SimOptions::relu_out)
    /// < 0: the mapper re-picks the mapping for every point's density; else it plans every
    /// point for this density (one mapping per layer across the sweep).
    double mapping_density = -1;
};

/// A Simulator running tlm::simulate_layer. It checks the array's output against the trace's
/// reference accumulators (a mismatch is an internal error, never a data point).
Simulator tlm_simulator(const TlmSimulatorOptions& opts);

/// The cache-key context of these options.
SimContext tlm_context(const TlmSimulatorOptions& opts);

}  // namespace actsparse::calibration
