#pragma once
/// @file The simulate API: one layer trace from DRAM to DRAM through the whole accelerator.
/// Phase 1 runs every GLB chunk on the PE array (hw/, per-cycle or fast fidelity) and
/// computes the exact output; phase 2 replays the layer's DRAM traffic through the TLM-2.0
/// DRAM with the chunks' measured compute times, so compute/transfer overlap is simulated.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/arch.h"
#include "core/trace.h"
#include "hw/array.h"
#include "hw/v2/array_v2.h"
#include "tlm/energy.h"
#include "tlm/mapper.h"

namespace actsparse::tlm {

struct SimOptions {
    core::ArchConfig arch;  ///< zero mode included
    hw::Fidelity fidelity = hw::Fidelity::kFast;
    std::optional<LayerMapping> mapping;  ///< nullopt: the mapper picks one
    /// eyeriss-v2 only, with `mapping` unset: the mapper picks the GLB tiling and every
    /// chunk runs this v2 array mapping (clamped to the chunk).
    std::optional<hw::v2::V2Mapping> v2_array;
    Objective objective = Objective::kEnergy;
    /// Density the mapper plans for (< 0: the trace's measured density). Fixing it keeps one
    /// mapping across a density sweep.
    double mapping_density = -1.0;
    /// The ifmap sits RLC-compressed in DRAM (false for a network's first layer, whose
    /// input is the image). Only applies when the arch enables RLC.
    bool ifmap_compressed = true;
    bool relu_out = true;  ///< apply ReLU before writing the ofmap back (Eyeriss does)
    /// Use the trace's epilogue when it has one (exported traces of trained networks): add
    /// its per-output-channel bias (extra "bias", the folded BatchNorm) before the ReLU, and
    /// apply the ReLU only where extra "relu_after" is not "false" (MobileNet-V2's linear
    /// bottlenecks). The written ofmap is then exactly the activation the next layer reads.
    bool trace_epilogue = true;
    /// Fraction bits of the written ofmap, i.e. of the next layer's input (< 0: the trace's
    /// extra "ofmap_frac_bits" when it has one, else the trace's own frac_bits, assuming the
    /// next layer keeps this layer's fixed-point format, as synthetic traces do).
    int64_t ofmap_frac_bits = -1;
    std::string vcd_path;  ///< PE activity of the array, if set
    /// Threads that run a layer's GLB chunks in the fast fidelity (0: one per core, at most
    /// 16). The counts do not depend on it. Callers that already run one simulation per core
    /// (calibrate's workers) pass 1.
    int threads = 0;
};

struct LayerResult {
    std::string layer;
    core::LayerShape shape;
    LayerMapping mapping;
    int64_t mappings_considered = 0;
    double density = 0;  ///< measured on the ifmap
    /// Fraction of non-zero values of the ofmap as written back to DRAM (after the optional
    /// ReLU): what the next layer reads, and what the RLC-compressed write costs.
    double ofmap_density = 0;
    int64_t cycles_processing = 0;
    int64_t cycles_total = 0;
    int64_t compute_stall_cycles = 0;
    int64_t dense_macs = 0;
    Accesses accesses;
    Energy energy;
    double utilization = 0;  ///< performed+gated MAC slots / (PEs * processing cycles)
    double host_seconds = 0;
    std::vector<int64_t> ofmap;          ///< exact accumulators [N, M, P, Q]
    std::vector<hw::PassRecord> passes;  ///< eyeriss-v1 only
    /// MAC slots that were not performed, by cause (report keys macs.gated_iact, ...):
    /// gated/skipped because the iact is zero, or because the weight is (eyeriss-v2 only;
    /// v1 looks at the ifmap alone). performed + all four = dense_macs.
    struct MacSplit {
        int64_t gated_iact = 0, gated_weight = 0, skipped_iact = 0, skipped_weight = 0;
    } mac_split;
    int64_t pass_count = 0;  ///< processing passes of the array (both types)
    /// eyeriss-v2 only: the summed V2Stats and the v2 report block ("v2" in to_json).
    std::optional<hw::v2::V2Stats> v2_stats;
    nlohmann::json v2_info;
    nlohmann::json to_json() const;  ///< the report row (no ofmap)
};

/// The quantiser of the traces' activations (trainer/trace_export.cc `quantise`, torch's
/// round half to even): round(x * 2^frac_bits) to the nearest integer, ties to even,
/// saturated to int16.
int16_t quantise_activation(double x, int64_t frac_bits);
/// The ofmap's fraction bits (see SimOptions::ofmap_frac_bits); throws core::InputError
/// for a bad trace field or a value outside [0, 15].
int64_t ofmap_frac_bits(const core::Trace& t, const SimOptions& opts);
/// The ofmap as the write-back stores it in DRAM: each exact accumulator `acc` [N, M, P, Q]
/// (2 x frac_bits fraction bits) in real units, plus the trace's bias, ReLU'd when the
/// epilogue says so, then quantised like the next layer's trace (quantise_activation at
/// ofmap_frac_bits). Its zeros are exactly the next layer's input zeros.
std::vector<int16_t> write_back(const core::Trace& t, const std::vector<int64_t>& acc,
                                const SimOptions& opts);

/// Simulates one layer. Throws core::InputError for traces the arch cannot run (and for a
/// given mapping that is invalid, with the reason).
LayerResult simulate_layer(const core::Trace& trace, const SimOptions& opts);

}  // namespace actsparse::tlm
