#pragma once
/// @file The Eyeriss v2-class PE array's API (hw/v2, docs/v2.md): run a whole conv layer on
/// 16 clusters of 3 x 4 sparse PEs (CSC spads, SIMD-2 MACs, 7-stage pipeline, psum chains up
/// the cluster columns, weights straight from off-chip, GLB iact/psum banks) and get its exact
/// output, counters and per-pass records. Two fidelities with identical counts: kFast runs the
/// timing rules as recurrences; kCycle steps every PE, router port and psum link one cycle at
/// a time (a plain C++ loop, no SystemC kernel). Re-exports mapping_v2.h and stats_v2.h.
#include <cstdint>
#include <string>
#include <vector>

#include "core/arch.h"
#include "core/shape.h"
#include "hw/mapping.h"  // hw::Fidelity
#include "hw/v2/mapping_v2.h"
#include "hw/v2/stats_v2.h"

namespace actsparse::hw::v2 {

struct V2RunOptions {
    Fidelity fidelity = Fidelity::kFast;
};

/// One processing pass: a chunk of output tiles (one per chain) and one reduction step
/// (channel block, filter-row block, filter-column block).
struct V2PassRecord {
    int64_t cycles = 0;
    int64_t chunk = 0;               ///< which chunk of `chains` output tiles
    int64_t reduction_step = 0;      ///< (channel block, filter-row block, column block), flattened
    bool accumulate_in = false;      ///< earlier psums come back from the GLB (step > 0)
    bool last_contribution = false;  ///< this pass's psum writes are final ofmaps
    int64_t weight_load_cycles = 0;  ///< the pass-start weight load (longest router)
    V2Stats stats;
};

struct V2Result {
    std::vector<int64_t> ofmap;  ///< exact accumulators [N, M, P, Q]
    V2Stats stats;               ///< sum over passes
    std::vector<V2PassRecord> passes;
    V2Mapping mapping;
    /// HM-NoC mode per data type for this layer (core::to_string(NocMode) names), derived
    /// from the mapping: iacts come from each cluster's own GLB (unicast); weights are
    /// broadcast / grouped-multicast / unicast by how many clusters share a matrix; psums go
    /// to the cluster's own GLB banks (unicast).
    std::string iact_noc_mode, weight_noc_mode, psum_noc_mode;
};

/// Runs a whole layer. `ifmap` is [N, C, H, W], `weight` [M, C/G, R, S]; values are held
/// exactly (int16 in, int64 accumulation; the 8-bit words of the config are counted, not
/// enforced). The zero mode is arch.zero_mode: none performs every MAC, gate spends the
/// cycles of zero iacts / weights with the MAC gated, skip walks only non-zero iacts and
/// non-zero weights (CSC). Sizes come from arch.v2. An invalid mapping throws
/// core::InputError("mapping", reason).
V2Result run_layer_v2(const core::LayerShape& shape, const V2Mapping& mapping,
                      const core::ArchConfig& arch, const int16_t* ifmap, const int16_t* weight,
                      const V2RunOptions& options = {});

/// The exact reference: int64 accumulation of int16 products, [N, M, P, Q].
std::vector<int64_t> reference_conv_int64(const core::LayerShape& s, const int16_t* ifmap,
                                          const int16_t* weight);

}  // namespace actsparse::hw::v2
