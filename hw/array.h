#pragma once
/// @file The PE array's API for the layers above (tlm/, calibration/): run a whole conv layer
/// on the cycle-level Eyeriss-like row-stationary array and get its exact output, counters
/// and per-pass records. Also re-exports the mapping (hw/mapping.h), the counters
/// (hw/stats.h) and the analytical estimate (hw/estimate.h).
#include <cstdint>
#include <string>
#include <vector>

#include "core/arch.h"
#include "core/shape.h"
#include "hw/estimate.h"
#include "hw/mapping.h"
#include "hw/stats.h"

namespace actsparse::hw {

/// One processing pass as the GLB sees it. Words are counted per bus word put on the network
/// (a multicast word counts once): ifmap_words_in / filter_words_in are GLB (or DRAM, for
/// filters) reads, psum_words_in GLB psum reads, psum_words_out GLB psum/ofmap writes.
struct PassRecord {
    int64_t cycles = 0;
    int64_t ifmap_words_in = 0;
    int64_t filter_words_in = 0;
    int64_t psum_words_in = 0;   ///< psums of earlier passes read back (accumulate passes)
    int64_t psum_words_out = 0;  ///< psums written back (final ofmaps after the last block)
    int64_t image_block = 0;     ///< which tile (see PassTile for the ranges)
    int64_t filter_block = 0;
    int64_t channel_block = 0;
    int64_t row_block = 0;   ///< ofmap-row block
    int64_t frow_block = 0;  ///< filter-row block
    int64_t fcol_block = 0;  ///< filter-column block
    /// True when this pass finishes its output tile (its psum_words_out are final ofmaps).
    bool last_contribution = false;
    PassTile tile;
    ArrayStats stats;  ///< this pass's counters
};

struct ArrayResult {
    std::vector<int64_t> ofmap;  ///< exact accumulators [N, M, P, Q] (no rounding/activation)
    ArrayStats stats;            ///< sum over passes
    std::vector<PassRecord> passes;
    Mapping mapping;
};

struct RunOptions {
    Fidelity fidelity = Fidelity::kFast;
    /// When set (cycle fidelity only), writes PE activity (busy, gated, skipped, stalled per
    /// PE) as VCD, one time unit per cycle, passes back to back.
    std::string vcd_path;
};

/// A simple mapping heuristic that is valid for every valid layer: filter_rows = min(R,
/// rows), filter_cols = min(S, spads), then the (e, q, r) candidate with the fewest estimated
/// dense cycles (estimate_layer), ties broken by an access-energy proxy; p and t as large
/// as the spads and the array allow, n as large as the GLB holds. Throws core::InputError
/// if the architecture admits no mapping at all (e.g. an array smaller than one PE set).
Mapping default_mapping(const core::LayerShape& shape, const core::ArchConfig& arch);

/// Runs a whole layer on the array, pass after pass (plan_passes order). Psums of different
/// channel / filter-row / filter-column blocks accumulate across passes through the GLB
/// (psum_words_in/out per pass). `ifmap` is [N, C, H, W], `weight` [M, C/G, R, S], int16
/// fixed point; the zero mode is arch.zero_mode. An invalid mapping or a VCD request with the
/// fast fidelity throws core::InputError. The cycle fidelity must be called from sc_main, not
/// from inside a SystemC process (see hw/cycle_top.h).
ArrayResult run_layer(const core::LayerShape& shape, const Mapping& mapping,
                      const core::ArchConfig& arch, const int16_t* ifmap, const int16_t* weight,
                      const RunOptions& options = {});

/// Elaborates the cycle-fidelity SystemC top now; see hw/cycle_top.h.
void elaborate_cycle_top(const core::ArchConfig& arch);

}  // namespace actsparse::hw
