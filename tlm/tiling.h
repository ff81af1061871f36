#pragma once
/// @file Global-buffer tiling: how a layer is cut into chunks that fit the GLB, the
/// DRAM-level loop nest over them, and the extraction of a chunk's sub-layer for the array.
#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/arch.h"
#include "core/shape.h"

namespace actsparse::tlm {

/// Chunk sizes of the DRAM-level loop nest (outer to inner: images n, groups g, output-row
/// strips, filters m, channels c). m and c count per group. `rows` = output rows per strip.
/// Ifmaps of a chunk stay in the GLB while all its passes run; psums of one (n, g, strip,
/// m) block stay in the GLB across its c chunks; filters of a chunk sit in the filter
/// buffer.
struct GlbTiling {
    int64_t n = 1;
    int64_t g = 1;
    int64_t m = 1;
    int64_t c = 1;
    int64_t rows = 1;

    bool operator==(const GlbTiling& o) const {
        return n == o.n && g == o.g && m == o.m && c == o.c && rows == o.rows;
    }
};

/// GLB words one chunk needs (16-bit words; psums are kept as words, as in Eyeriss v1).
struct Footprint {
    int64_t ifmap_words = 0;       ///< one chunk's ifmap rows
    int64_t psum_words = 0;        ///< one (n, g, strip, m) block's psums
    int64_t filter_words = 0;      ///< one chunk's filters
    bool double_buffered = false;  ///< two ifmap chunks and two filter chunks fit
};
Footprint footprint(const core::LayerShape& s, const GlbTiling& t, const core::ArchConfig& a);
/// nullopt if the tiling fits the GLB, else the reason.
std::optional<std::string> check_tiling(const core::LayerShape& s, const GlbTiling& t,
                                        const core::ArchConfig& a);

/// One chunk: half-open ranges over images, groups, filters/channels within a group, and
/// output rows.
struct Chunk {
    int64_t n0, n1, g0, g1, m0, m1, c0, c1, p0, p1;
    bool first_c() const { return c0 == 0; }
};
/// Chunks in loop order (c innermost). `last_c` marks the chunk after which the block's
/// ofmap is final.
std::vector<Chunk> enumerate_chunks(const core::LayerShape& s, const GlbTiling& t);
bool is_last_c(const core::LayerShape& s, const Chunk& k);
/// Input rows [h0, h1) a chunk needs (may extend into the padding, i.e. < 0 or >= H).
std::pair<int64_t, int64_t> input_rows(const core::LayerShape& s, const Chunk& k);

/// A chunk as a layer of its own: its shape (G = g1-g0 groups of (c1-c0) -> (m1-m0)
/// channels, P = p1-p0 rows) and its ifmap/weight copies. When the chunk covers every
/// output row the layer's padding is kept; otherwise the strip's padding rows are
/// materialised as zero rows and Hpad = 0.
struct SubLayer {
    core::LayerShape shape;
    std::vector<int16_t> ifmap;
    std::vector<int16_t> weight;
};
SubLayer extract_chunk(const core::LayerShape& s, const Chunk& k, const int16_t* ifmap,
                       const int16_t* weight);
/// Adds a chunk's ofmap [n, g*m, p, Q] into the layer's ofmap [N, M, P, Q].
void accumulate_chunk(const core::LayerShape& s, const Chunk& k, const std::vector<int64_t>& part,
                      std::vector<int64_t>& ofmap);

/// The shape of a full-size chunk (the first one) of a tiling.
core::LayerShape chunk_shape(const core::LayerShape& s, const GlbTiling& t);

nlohmann::json to_json(const GlbTiling& t);
GlbTiling tiling_from_json(const nlohmann::json& j, const std::string& where);

}  // namespace actsparse::tlm
