#pragma once
/// @file The Eyeriss v2-class array (hw/v2) inside the accelerator model: its GLB tiling
/// (iact and psum banks, no weights in the GLB), the tiling search, the per-bit energy of
/// arch.v2.energy, and simulate_layer_v2, which simulate_layer() calls for an eyeriss-v2
/// config. docs/v2.md ("tlm wiring") describes the model.
#include <cstdint>
#include <optional>
#include <string>

#include "core/arch.h"
#include "core/shape.h"
#include "core/trace.h"
#include "hw/v2/array_v2.h"
#include "tlm/energy.h"
#include "tlm/mapper.h"
#include "tlm/simulate.h"

namespace actsparse::tlm {

/// Bits of one iact/weight item in the GLB and on the NoC: a (count, value) CSC pair in zero
/// mode skip, an uncompressed value otherwise (hw/v2's unit).
int64_t v2_item_bits(const core::ArchConfig& a);
/// GLB capacities of the whole chip (all GLB clusters): iact items (worst case, every item
/// stored) and 20-bit psums.
int64_t v2_glb_iact_items(const core::ArchConfig& a);
int64_t v2_glb_psums(const core::ArchConfig& a);
/// nullopt if the GLB tiling fits v2's GLB: a chunk's real iacts fit the iact banks and,
/// when the channels are split over chunks, a block's psums fit the psum banks (they stay
/// there between its channel chunks). Weights never enter the GLB.
std::optional<std::string> check_v2_tiling(const core::LayerShape& s, const GlbTiling& t,
                                           const core::ArchConfig& a);
/// Two iact chunks fit the iact banks (load chunk k+1 while chunk k computes).
bool v2_double_buffered(const core::LayerShape& s, const GlbTiling& t, const core::ArchConfig& a);
/// The v2 mapping of one chunk's sub-layer: `m` clamped to the chunk's dimensions (always
/// valid when `m` is valid for the first chunk: clamping only shrinks every tile).
hw::v2::V2Mapping chunk_v2_mapping(const core::LayerShape& sub, const hw::v2::V2Mapping& m);

/// The v2 mapper: the GLB tiling with the fewest estimated DRAM bits (ties: fewer chunks,
/// then the first candidate) and default_v2_mapping() of its first chunk. With `array`
/// given, that v2 mapping is used instead (the tiling search keeps only tilings whose first
/// chunk it is valid for). Throws core::InputError("--arch", ...) when nothing fits.
MapperResult find_v2_mapping(const core::LayerShape& s, const core::ArchConfig& a,
                             const std::optional<hw::v2::V2Mapping>& array = std::nullopt,
                             const std::string& layer = {});

/// Energy of a v2 layer, pJ, from its counters and the bits moved at the GLB and DRAM:
/// spads per access of a spad word, MACs per lane (gated and idle lanes at mac_gated_pj,
/// skipped slots free), NoC per bit and hop, GLB and DRAM per bit.
struct V2Traffic {
    int64_t glb_iact_write_bits = 0;   ///< iacts the DMA put into the GLB
    int64_t glb_psum_carry_reads = 0;  ///< psums read back for a later channel chunk
    int64_t final_psum_writes = 0;     ///< psum writes that are the final ofmap (go off-chip)
    int64_t dram_ifmap_bytes = 0, dram_filter_bytes = 0, dram_ofmap_bytes = 0;
};
Energy energy_of_v2(const hw::v2::V2Stats& st, const V2Traffic& tr, const core::ArchConfig& a);

/// simulate_layer() for an eyeriss-v2 config.
LayerResult simulate_layer_v2(const core::Trace& trace, const SimOptions& opts);

/// What both arrays' simulate_layer do first: check the trace's tensors against its shape,
/// fill the result's layer, shape, density and dense MACs, and check an explicit
/// opts.mapping (then r.mapping). `where` names the layer in messages.
LayerResult begin_layer(const core::Trace& trace, const SimOptions& opts, const std::string& where);

}  // namespace actsparse::tlm
