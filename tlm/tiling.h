#pragma once
/// @file Global-buffer tiling: how a layer is cut into chunks that fit the GLB, the
/// DRAM-level loop nest over them, and the extraction of a chunk's sub-layer for the array.
#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/arch.h"
#include "core/shape.h"

namespace actsparse::tlm {

/// Chunk sizes of the DRAM-level loop nest (outer to inner: images n, groups g, output-row
/// strips, output-column strips, filters m, channels c). m and c count per group. `rows` =
/// output rows per row strip, `cols` = output columns per column strip (0: every column,
/// no column strips). Ifmaps of a chunk stay in the GLB while all its passes run; psums of
/// one (n, g, row strip, column strip, m) block stay in the GLB across its c chunks;
/// filters of a chunk sit in the filter buffer, and stay there for the next chunk when it
/// uses the same filter block.
struct GlbTiling {
    int64_t n = 1;
    int64_t g = 1;
    int64_t m = 1;
    int64_t c = 1;
    int64_t rows = 1;
    int64_t cols = 0;

    bool operator==(const GlbTiling& o) const {
        return n == o.n && g == o.g && m == o.m && c == o.c && rows == o.rows && cols == o.cols;
    }
};
/// Output columns per column strip (Q when t.cols is 0).
int64_t strip_cols(const core::LayerShape& s, const GlbTiling& t);

/// GLB words one chunk needs (16-bit words; psums are kept as words, as in Eyeriss v1).
/// Padding is never stored: a chunk holds only the real ifmap rows and columns it reads.
struct Footprint {
    int64_t ifmap_words = 0;   ///< the largest chunk's real ifmap rows x columns
    int64_t psum_words = 0;    ///< one (n, g, strip, m) block's psums
    int64_t filter_words = 0;  ///< one chunk's filters
    /// The chunk's filters fit the GLB's filter part and stay there for all its passes;
    /// otherwise they are streamed from DRAM one processing pass at a time, each pass's
    /// filters preloaded while the previous pass runs (JSSC 2017, Sec. IV-A).
    bool filters_resident = true;
    bool double_buffered = false;  ///< two ifmap chunks (and two resident filter chunks) fit
};
Footprint footprint(const core::LayerShape& s, const GlbTiling& t, const core::ArchConfig& a);

/// footprint() and check_tiling() for many tilings of one layer (the mapper's search): the
/// real input extent of each strip size is computed once. Results equal the free functions'.
class FootprintTable {
  public:
    FootprintTable(const core::LayerShape& s, const core::ArchConfig& a);
    Footprint footprint(const GlbTiling& t);
    /// check_tiling(s, t, a) == nullopt, without building the reason.
    bool fits(const GlbTiling& t);
    /// The most real input rows (columns) a strip of `rows` output rows (`cols` columns) reads.
    int64_t rows_in(int64_t rows);
    int64_t cols_in(int64_t cols);

  private:
    core::LayerShape s_;
    int64_t cap_ = 0, filter_cap_ = 0;
    std::vector<int64_t> rows_in_, cols_in_;  ///< by strip size; -1: not computed yet
};
/// GLB capacities in words: the ifmap/psum banks and the filter part.
int64_t glb_ifmap_psum_words(const core::ArchConfig& a);
int64_t glb_filter_words(const core::ArchConfig& a);
/// Filter words one processing pass of `array` holds: p*t filters x q*r channels x
/// filter_rows x filter_cols (what the filter part must hold when filters are streamed).
int64_t pass_filter_words(const core::LayerShape& s, int64_t p, int64_t t, int64_t q, int64_t r,
                          int64_t filter_rows, int64_t filter_cols);
/// nullopt if the tiling fits the GLB, else the reason.
std::optional<std::string> check_tiling(const core::LayerShape& s, const GlbTiling& t,
                                        const core::ArchConfig& a);

/// One chunk: half-open ranges over images, groups, filters/channels within a group,
/// output rows and output columns.
struct Chunk {
    int64_t n0, n1, g0, g1, m0, m1, c0, c1, p0, p1, q0, q1;
    bool first_c() const { return c0 == 0; }
    /// Same filter block (groups, filters, channels) as `o`: its filters are in the GLB.
    bool same_filters(const Chunk& o) const {
        return g0 == o.g0 && g1 == o.g1 && m0 == o.m0 && m1 == o.m1 && c0 == o.c0 && c1 == o.c1;
    }
    /// Same ifmap block (images, groups, channels, strip) as `o`: its ifmap is in the GLB.
    bool same_ifmap(const Chunk& o) const {
        return n0 == o.n0 && n1 == o.n1 && g0 == o.g0 && g1 == o.g1 && c0 == o.c0 && c1 == o.c1 &&
               p0 == o.p0 && p1 == o.p1 && q0 == o.q0 && q1 == o.q1;
    }
};
/// Chunks in loop order (c innermost). `last_c` marks the chunk after which the block's
/// ofmap is final.
std::vector<Chunk> enumerate_chunks(const core::LayerShape& s, const GlbTiling& t);
bool is_last_c(const core::LayerShape& s, const Chunk& k);
/// Input rows [h0, h1) a chunk's window covers (may extend into the padding, i.e. < 0 or
/// >= H).
std::pair<int64_t, int64_t> input_rows(const core::LayerShape& s, const Chunk& k);
/// Input columns [w0, w1) a chunk's window covers (may extend into the padding).
std::pair<int64_t, int64_t> input_cols(const core::LayerShape& s, const Chunk& k);
/// The real (non-padding) input rows / columns a chunk reads: the window clipped to the
/// image, or the whole image height / width when the chunk covers every output row /
/// column (so an un-stripped layer reads whole rows, as before strips existed).
std::pair<int64_t, int64_t> real_rows(const core::LayerShape& s, const Chunk& k);
std::pair<int64_t, int64_t> real_cols(const core::LayerShape& s, const Chunk& k);

/// A chunk as a layer of its own: its shape (G = g1-g0 groups of (c1-c0) -> (m1-m0)
/// channels, P = p1-p0 rows, Q = q1-q0 columns) and its ifmap/weight copies. The ifmap
/// holds only the chunk's real rows and columns (real_rows, real_cols): Hpad / Wpad are the
/// padding rows / columns before the first real one, and every row at or past H and column
/// at or past W is padding too. A strip's padding is therefore one-sided or absent, and its
/// shape is not finalize()-consistent; the array (hw/) and core::reference_conv treat every
/// position outside [0, H) x [0, W) as padding, so padding is never stored in the GLB nor
/// sent over the NoC, as in the chip.
struct SubLayer {
    core::LayerShape shape;
    std::vector<int16_t> ifmap;
    std::vector<int16_t> weight;
};
core::LayerShape chunk_layer_shape(const core::LayerShape& s, const Chunk& k);
SubLayer extract_chunk(const core::LayerShape& s, const Chunk& k, const int16_t* ifmap,
                       const int16_t* weight);
/// Adds a chunk's ofmap [n, g*m, p, q] into the layer's ofmap [N, M, P, Q].
void accumulate_chunk(const core::LayerShape& s, const Chunk& k, const std::vector<int64_t>& part,
                      std::vector<int64_t>& ofmap);

/// The first chunk of a tiling (full-size in every dimension the layer allows).
Chunk first_chunk(const core::LayerShape& s, const GlbTiling& t);
/// The shape of the first chunk of a tiling.
core::LayerShape chunk_shape(const core::LayerShape& s, const GlbTiling& t);

/// {"n", "g", "m", "c", "rows", "cols"}; tiling_from_json reads a missing "cols" as 0 (no
/// column strips), so mappings written before column strips existed still load.
nlohmann::json to_json(const GlbTiling& t);
GlbTiling tiling_from_json(const nlohmann::json& j, const std::string& where);

}  // namespace actsparse::tlm
