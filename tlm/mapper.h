#pragma once
/// @file The mapper: searches GLB tilings and row-stationary array mappings under the
/// scratchpad and buffer capacities, scoring each with a fast analytical estimate, and
/// returns the best one for energy, cycles or EDP. Deterministic (ties keep the first
/// candidate in enumeration order).
#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>

#include "core/arch.h"
#include "core/shape.h"
#include "hw/array.h"
#include "hw/v2/mapping_v2.h"
#include "tlm/tiling.h"

namespace actsparse::tlm {

enum class Objective { kEnergy, kCycles, kEdp };
Objective parse_objective(const std::string& text, const std::string& where);
const char* to_string(Objective o);

/// A whole-layer mapping: the GLB tiling and the array mapping used for every chunk
/// (clamped to a chunk's own size where an edge chunk is smaller). An eyeriss-v2 mapping
/// has `v2` set (and `array` unused): JSON {"glb": ..., "v2": ...} instead of "array".
struct LayerMapping {
    GlbTiling glb;
    hw::Mapping array;
    std::optional<hw::v2::V2Mapping> v2 = std::nullopt;
};
nlohmann::json to_json(const LayerMapping& m);
LayerMapping layer_mapping_from_json(const nlohmann::json& j, const std::string& where);
/// nullopt when valid for the layer, else the reason.
std::optional<std::string> check_layer_mapping(const core::LayerShape& s, const LayerMapping& m,
                                               const core::ArchConfig& a);
/// The array mapping used for one chunk's sub-layer.
hw::Mapping chunk_array_mapping(const core::LayerShape& sub, const hw::Mapping& m,
                                const core::ArchConfig& a);

/// Analytical estimate of a mapping at ifmap density `density` (used to rank candidates).
struct Estimate {
    double energy_pj = 0;
    double cycles = 0;
    double dram_words = 0;         ///< the three below, the ifmap at the RLC ratio
    double dram_ifmap_words = 0;   ///< uncompressed ifmap words read (halos and reloads)
    double dram_filter_words = 0;  ///< filter words read (a resident block is not reloaded)
    double dram_ofmap_words = 0;   ///< ofmap words written (at the RLC ratio of density 0.5)
};
Estimate estimate(const core::LayerShape& s, const LayerMapping& m, const core::ArchConfig& a,
                  double density);

struct MapperResult {
    LayerMapping best;
    Estimate estimate;
    int64_t considered = 0;  ///< candidates enumerated
    int64_t valid = 0;       ///< candidates that fit every capacity
};
/// Searches array mappings from the best (analytical array cost) down until eight of them
/// admit a GLB tiling, and returns the best (mapping, tiling) pair of those. Throws
/// core::InputError("--arch", one line naming `layer` and the resource that limits it: the
/// PE array/scratchpads, the GLB's ifmap/psum part or its filter part) when none fits.
MapperResult find_mapping(const core::LayerShape& s, const core::ArchConfig& a, Objective obj,
                          double density, const std::string& layer = {});

}  // namespace actsparse::tlm
