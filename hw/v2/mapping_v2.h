#pragma once
/// @file RS+ mapping of one conv layer onto the Eyeriss v2-class array (hw/v2): the PE-level
/// tile (m0 output channels x c0 input channels x s0 filter columns, swept over e0 ofmap rows
/// and q0 ofmap columns), the psum chain of one cluster column (fr filter rows x cv channel
/// tiles, one PE each), and the spatial tiling: output tiles (image, group, channel tile, row
/// block, column block) are flattened in `order` and dealt to `chains` chain slots of the
/// 16 clusters per pass, so any of N, G, M, P, Q can be spread across clusters and PE columns
/// and C, R across the PEs of a column (JETCAS 2019 Sec. II: "tiling the MAC operations
/// spatially across PEs through any layer dimension, including the channel group dimension").
/// Plain C++, no SystemC. docs/v2.md explains it.
#include <array>
#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/arch.h"
#include "core/shape.h"

namespace actsparse::hw::v2 {

struct V2Mapping {
    int64_t m0 = 1;      ///< output channels per PE (psums in the psum spad, <= 32)
    int64_t c0 = 1;      ///< input channels per PE (iact window c0 x s0 <= 16)
    int64_t s0 = 1;      ///< filter columns per PE; S is split into s0-column blocks
    int64_t e0 = 1;      ///< ofmap rows one PE sweeps with the same weights
    int64_t q0 = 1;      ///< ofmap columns of one PE job (the sliding-window length)
    int64_t fr = 1;      ///< filter rows per psum chain (one PE each, vertical)
    int64_t cv = 1;      ///< channel tiles per psum chain (fr * cv PEs <= PE rows)
    int64_t chains = 1;  ///< chains used per pass (<= chain slots of the array)
    /// Flattening order of the output tiles, outermost first: a permutation of "ngmpq"
    /// (n image, g group, m output-channel tile, p ofmap-row block, q ofmap-column block).
    /// Consecutive tiles go to neighbouring chain slots (same cluster, same PE rows).
    std::string order = "ngmpq";

    bool operator==(const V2Mapping& o) const;
    bool operator!=(const V2Mapping& o) const { return !(*this == o); }
};

/// {"m0":..,"c0":..,"s0":..,"e0":..,"q0":..,"fr":..,"cv":..,"chains":..,"order":".."}
nlohmann::json to_json(const V2Mapping& m);
/// Reads to_json()'s object. A missing, unknown or mistyped key throws
/// core::InputError(where + "." + key, reason); validity is check_v2_mapping's job.
V2Mapping v2_mapping_from_json(const nlohmann::json& j, const std::string& where);
std::string to_string(const V2Mapping& m);

/// Chain slots of the array for chains of `height` PEs: clusters x PE columns x
/// floor(PE rows / height).
int64_t chain_slots(const core::V2Params& v2, int64_t height);

/// nullopt when valid, else one line naming the violated constraint. Checks: fields >= 1 and
/// <= their dimension (m0 <= M/G, c0 <= C/G, s0 <= S, e0 <= P, q0 <= Q, fr <= R,
/// cv <= ceil((C/G)/c0)); order a permutation of "ngmpq"; iact window c0*s0 <= iact data spad
/// entries and s0 <= iact address entries; weight columns c0*s0 <= weight address entries;
/// weight words c0*s0*ceil(m0/macs_per_cycle) <= weight data spad entries (every column
/// dense, the worst case); m0 <= psum spad; fr*cv <= PE rows; chains <= chain slots; and
/// when psums come back (more than one reduction step) the psums of one pass fit the GLB
/// psum banks of the clusters in use.
std::optional<std::string> check_v2_mapping(const core::LayerShape& s, const V2Mapping& m,
                                            const core::ArchConfig& a);

/// Block counts of a layer under a mapping.
struct V2Tiling {
    int64_t m_tiles = 1;       ///< per group: ceil((M/G)/m0)
    int64_t c_tiles = 1;       ///< per group: ceil((C/G)/c0)
    int64_t p_blocks = 1;      ///< ceil(P/e0)
    int64_t q_blocks = 1;      ///< ceil(Q/q0)
    int64_t s_blocks = 1;      ///< ceil(S/s0)
    int64_t r_blocks = 1;      ///< ceil(R/fr)
    int64_t cv_blocks = 1;     ///< ceil(c_tiles/cv)
    int64_t height = 1;        ///< PEs per chain: fr * cv
    int64_t output_tiles = 1;  ///< N * G * m_tiles * p_blocks * q_blocks
    int64_t chunks = 1;        ///< ceil(output_tiles / chains)
    int64_t reduction_steps() const { return cv_blocks * r_blocks * s_blocks; }
    int64_t passes() const { return chunks * reduction_steps(); }
};
V2Tiling v2_tiling(const core::LayerShape& s, const V2Mapping& m);

/// One output tile: which ofmaps one chain produces.
struct OutputTile {
    int64_t n = 0, g = 0, mt = 0, pb = 0, qb = 0;
};
/// The output tiles in the mapping's order.
std::vector<OutputTile> output_tiles(const core::LayerShape& s, const V2Mapping& m);

/// The mapper: a deterministic search over PE tiles (c0, s0, m0), chain shapes (fr, cv), e0,
/// q0 and orders, scored by estimate_v2_cycles (dense), ties broken by fewer passes and then
/// by the candidate order. Throws core::InputError if no mapping fits (never for the built-in
/// config and a finalized layer).
V2Mapping default_v2_mapping(const core::LayerShape& s, const core::ArchConfig& a);

/// Analytical dense cycle estimate of a mapping (used by the mapper): passes x (weight load
/// + windows per PE x per-window cycles + psum drain). Not the simulation.
double estimate_v2_cycles(const core::LayerShape& s, const V2Mapping& m, const core::ArchConfig& a);

}  // namespace actsparse::hw::v2
