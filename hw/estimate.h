#pragma once
/// @file A cheap analytical model of the array, for mapping searches: expected counters of a
/// layer under a mapping, from closed-form sums over the pass plan (no data, no simulation;
/// O(passes x (t + r)) after O(Q x S + R x e) tables).
///
/// Exactness (tests/hw check it against the simulator): with density 1 (or zero mode none)
/// every counter except cycles and pe_stall_cycles equals the simulated one exactly; for
/// density < 1 the data-dependent counters are expectations for zeros placed independently
/// (padding positions are always zero). `cycles` is an estimate of the pass timing model
/// (docs/performance.md); it misses FIFO/multicast stalls and, in skip mode, the per-PE
/// imbalance that makes the slowest PE set the pass time. pe_stall_cycles is
/// PEs x cycles - busy, an upper bound.
#include "core/arch.h"
#include "core/shape.h"
#include "hw/mapping.h"
#include "hw/stats.h"

namespace actsparse::hw {

/// Expected counters of a layer when a fraction `density` (in [0, 1]) of the ifmap values
/// is non-zero. The mapping must be valid (check_mapping); throws core::InputError if not.
ArrayEstimate estimate_layer(const core::LayerShape& shape, const Mapping& mapping,
                             const core::ArchConfig& arch, double density);

/// Expected counters of one pass (the sum over plan_passes() is estimate_layer()).
ArrayEstimate estimate_pass(const core::LayerShape& shape, const Mapping& mapping,
                            const core::ArchConfig& arch, const PassTile& tile, double density);

}  // namespace actsparse::hw
