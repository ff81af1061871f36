#pragma once
/// @file Feature maps in DRAM as streams, shared by the v1 and v2 simulate paths: one
/// stream per plane (image x channel), column segment and row, each 8-byte aligned and laid
/// out consecutively, so any row range of one plane and segment is one contiguous span. The
/// codec (raw, RLC, CSC) is the caller's. Also the DMA plan pieces both paths build from
/// them: a chunk's ifmap loads, its ofmap stores, and the check of what the DMA delivered.
///
/// Without column strips there is one segment, the whole row. With column strips the
/// ifmap's segments are the strips' real input windows (a halo column sits in both
/// neighbouring streams: a coded stream cannot be read in part) and the ofmap's are the
/// strips' output columns.
#include <cstdint>
#include <functional>
#include <utility>
#include <vector>

#include "core/shape.h"
#include "hw/mapping.h"
#include "tlm/accelerator.h"
#include "tlm/tiling.h"

namespace actsparse::tlm {

inline uint64_t align_up8(uint64_t x) { return (x + 7) / 8 * 8; }

struct Streams {
    int64_t rows = 0;
    std::vector<std::pair<int64_t, int64_t>> seg;  ///< column range [a, b) per segment
    std::vector<uint64_t> offset;                  ///< per stream, from the region base
    std::vector<uint64_t> bytes;
    std::vector<uint8_t> data;
    uint64_t total = 0;
    size_t index(int64_t plane, int64_t segment, int64_t row) const {
        return static_cast<size_t>((plane * static_cast<int64_t>(seg.size()) + segment) * rows +
                                   row);
    }
};

/// The column segments of a layer's ifmap streams (each column strip's real input window)
/// and ofmap streams (each strip's output columns); `any` is one of the layer's chunks.
struct StreamSegments {
    std::vector<std::pair<int64_t, int64_t>> in, out;
};
StreamSegments stream_segments(const core::LayerShape& s, const GlbTiling& t, const Chunk& any);

/// Codes one segment of one row (n values) into bytes.
using SegmentEncoder = std::function<std::vector<uint8_t>(const int16_t* values, int64_t n)>;
/// Decodes `bytes` of a delivered stream; true if they reproduce `expect` (n values).
using SegmentMatcher =
    std::function<bool(const uint8_t* stream, uint64_t bytes, const int16_t* expect, int64_t n)>;

/// values [planes, rows, width] as streams.
Streams encode_streams(const int16_t* values, int64_t planes, int64_t rows, int64_t width,
                       std::vector<std::pair<int64_t, int64_t>> segments,
                       const SegmentEncoder& encode);

/// Where the DMA put each ifmap span, and which streams it holds (to check them).
struct IfmapLoads {
    struct StreamRef {
        size_t stream;  ///< index into the ifmap Streams
        int64_t plane, row, seg;
        uint64_t off;  ///< within the span
    };
    std::vector<std::vector<uint8_t>> glb;           ///< per span, what the DMA delivered
    std::vector<std::vector<StreamRef>> streams;     ///< per span
    std::vector<std::pair<size_t, size_t>> span_of;  ///< (chunk, index in its ifmap_loads)
    /// Points every planned ifmap load at its GLB buffer (call once the plan is complete).
    void bind(LayerPlan& plan);
    /// Decodes every delivered stream against `ifmap` [N*C planes, H, W]; model_bug if one
    /// arrived corrupted (`tag` names the path in the message).
    void check(const Streams& in, const int16_t* ifmap, const core::LayerShape& s,
               const SegmentMatcher& matches, const char* tag) const;
};

/// Plans chunk k's ifmap loads (its real rows of segment `seg` for every image, group and
/// channel) into `cp.ifmap_loads`. Returns the loaded values (rows x columns, per plane
/// summed) and adds each loaded stream's bytes to `stream_bytes`.
int64_t plan_ifmap_loads(const core::LayerShape& s, const Chunk& c, size_t k, int64_t seg,
                         const Streams& in, uint64_t ifmap_base, ChunkPlan& cp, IfmapLoads& loads,
                         uint64_t& stream_bytes);

/// Plans the stores of chunk c's finished ofmap block (segment `seg`) into `cp.ofmap_stores`.
void plan_ofmap_stores(const core::LayerShape& s, const Chunk& c, int64_t seg, Streams& out,
                       uint64_t ofmap_base, ChunkPlan& cp);

/// The DMA's transfer fidelity for an array fidelity.
inline TransferFidelity transfer_fidelity(hw::Fidelity f) {
    return f == hw::Fidelity::kCycle ? TransferFidelity::kCycle : TransferFidelity::kLooselyTimed;
}

}  // namespace actsparse::tlm
