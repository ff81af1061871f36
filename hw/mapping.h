#pragma once
/// @file Row-stationary mapping of one conv layer onto the PE array: the Eyeriss parameters
/// (n, p, q, e, r, t of Chen et al., JSSC 2017) plus the tiling this model adds, the validity
/// check against the spads and the array, the placement of PE sets on the physical array, and
/// the pass plan (which tile each processing pass computes). Plain C++, no SystemC.
/// docs/mapping.md explains the mapping with a worked example.
#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/arch.h"
#include "core/shape.h"
#include "hw/banner.h"

namespace actsparse::hw {

/// Simulation fidelity of the PE array: a clocked SystemC reference that steps every PE every
/// cycle, or a temporally decoupled model that advances each PE by whole primitives. Both give
/// identical cycle and access counts (tests/hw prove it).
enum class Fidelity { kCycle, kFast };
const char* to_string(Fidelity f);
/// Parses "cycle" | "fast"; throws core::InputError(where, ...) otherwise.
Fidelity parse_fidelity(const std::string& text, const std::string& where);

/// A row-stationary mapping. A logical PE set is filter_rows x e PEs (filter rows x ofmap
/// rows); PE (k, j) of a set runs the 1-D primitive "filter row k (x p filters x q channels)
/// slides over one ifmap row -> ofmap row j". r sets on different channel slices form a stack
/// whose psums accumulate vertically; t stacks work on different filter slices and share the
/// ifmaps by multicast. A processing pass runs n images x p*t filters x q*r channels x e ofmap
/// rows x filter_rows filter rows x filter_cols filter columns; passes over the remaining
/// tiles accumulate their psums through the global buffer (GLB).
struct Mapping {
    int64_t n = 1;            ///< images per pass, one after another, filters stay in the spads
    int64_t p = 1;            ///< filters interleaved in one PE (p psums in the psum spad)
    int64_t q = 1;            ///< input channels interleaved in one PE
    int64_t e = 1;            ///< ofmap rows per PE set (set width; folded when > array cols)
    int64_t r = 1;            ///< sets per stack, on different channel slices (psum chained)
    int64_t t = 1;            ///< stacks per pass, on different filter slices
    int64_t filter_rows = 1;  ///< filter rows per set (set height); R is split into row blocks
    int64_t filter_cols = 1;  ///< filter columns per primitive; S is split into column blocks

    bool operator==(const Mapping& o) const;
    bool operator!=(const Mapping& o) const { return !(*this == o); }
};

/// JSON object with exactly the keys n, p, q, e, r, t, filter_rows, filter_cols.
nlohmann::json to_json(const Mapping& m);
/// Reads to_json()'s object. A missing, unknown or non-integer key throws
/// core::InputError(where + "." + key, reason). Validity against a layer is check_mapping's job.
Mapping mapping_from_json(const nlohmann::json& j, const std::string& where);
/// "n=1,p=16,q=4,e=14,r=1,t=2,filter_rows=3,filter_cols=3"
std::string to_string(const Mapping& m);

/// Where PE sets sit on the physical array (rows x cols), for sets of `filter_rows` x `e`.
struct SetGeometry {
    int64_t folds = 1;     ///< segments of a set stacked vertically: ceil(e / cols)
    int64_t set_cols = 1;  ///< physical columns of a set: ceil(e / folds)
    int64_t set_rows = 1;  ///< physical rows of a set: filter_rows * folds
    int64_t sets_h = 0;    ///< set slots side by side: cols / set_cols
    int64_t sets_v = 0;    ///< set slots stacked vertically: rows / set_rows
    int64_t stacks = 0;    ///< stack slots for stacks of r sets: sets_h * (sets_v / r); r > 1
                           ///< needs folds == 1 (a folded set's psum chains are not adjacent)
};
SetGeometry set_geometry(int64_t filter_rows, int64_t e, int64_t r, const core::ArrayParams& a);

/// Validity of a mapping for a finalized layer on an architecture. nullopt = valid; otherwise
/// one line naming the violated constraint, e.g. "p*q*filter_cols = 240 exceeds the filter
/// spad (224 words)". Checks: every field >= 1; n <= N, p <= M/G, q <= C/G, e <= P,
/// filter_rows <= R, filter_cols <= S, r <= ceil((C/G)/q), t <= G*ceil((M/G)/p); spads
/// q*filter_cols <= ifmap, p*q*filter_cols <= filter, p <= psum; the set fits the array and r
/// sets x t stacks fit the stack slots (SetGeometry).
std::optional<std::string> check_mapping(const core::LayerShape& s, const Mapping& m,
                                         const core::ArchConfig& a);

/// Block counts of a layer under a mapping (how many passes and in which dimensions).
struct Tiling {
    int64_t m_per_group = 1;      ///< M/G
    int64_t c_per_group = 1;      ///< C/G
    int64_t tiles_per_group = 1;  ///< filter tiles of p filters per group: ceil((M/G)/p)
    int64_t filter_tiles = 1;     ///< G * tiles_per_group
    int64_t image_blocks = 1;     ///< ceil(N/n)
    int64_t row_blocks = 1;       ///< ofmap-row blocks: ceil(P/e)
    int64_t filter_blocks = 1;    ///< groups of t filter tiles: ceil(filter_tiles/t)
    int64_t frow_blocks = 1;      ///< filter-row blocks: ceil(R/filter_rows)
    int64_t fcol_blocks = 1;      ///< filter-column blocks: ceil(S/filter_cols)
    int64_t channel_blocks = 1;   ///< channel blocks of q*r channels (per group): ceil((C/G)/(q*r))
    int64_t passes() const {
        return image_blocks * row_blocks * filter_blocks * frow_blocks * fcol_blocks *
               channel_blocks;
    }
};
Tiling tiling(const core::LayerShape& s, const Mapping& m);

/// One processing pass: the tile it computes. Indices are block numbers; the *_first and
/// *_count fields are the effective ranges (the last block of a dimension may be smaller).
struct PassTile {
    int64_t index = 0;
    int64_t image_block = 0, row_block = 0, filter_block = 0, frow_block = 0, fcol_block = 0,
            channel_block = 0;
    int64_t image_first = 0, image_count = 0;  ///< images [N]
    int64_t orow_first = 0, orow_count = 0;    ///< ofmap rows [P] (= effective e)
    int64_t tile_first = 0, tile_count = 0;    ///< filter tiles (= effective t)
    int64_t frow_first = 0, frow_count = 0;    ///< filter rows [R]
    int64_t fcol_first = 0, fcol_count = 0;    ///< filter columns [S]
    int64_t chan_first = 0, chan_count = 0;    ///< channels within each group [C/G]
    /// True when the psums of this tile already hold contributions of earlier passes (another
    /// channel, filter-row or filter-column block) and enter the array over the psum-in bus.
    bool accumulate_in = false;
};

/// All passes of a layer in execution order: image block, ofmap-row block, filter block,
/// filter-row block, filter-column block, channel block (innermost, so the psums of one
/// output tile finish in consecutive passes).
std::vector<PassTile> plan_passes(const core::LayerShape& s, const Mapping& m);

/// Filters of filter tile `tile`: group, first filter index in [M] and count (<= p).
struct FilterTile {
    int64_t group = 0;
    int64_t first = 0;
    int64_t count = 0;
};
FilterTile filter_tile(const core::LayerShape& s, const Mapping& m, int64_t tile);

}  // namespace actsparse::hw
