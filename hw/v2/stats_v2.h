#pragma once
/// @file Counters of the Eyeriss v2-class array (hw/v2). One X-macro list declares every field
/// once; the struct, JSON, +=, == and diff are driven from it (as hw/stats.h). Units: `cycles`
/// are array clock cycles; every other field counts actions or items. An "item" on a NoC or
/// in a data spad is one 8-bit value in the uncompressed (zero modes none/gate) format or one
/// 12-bit (count, value) CSC pair in the compressed format (zero mode skip); addresses are
/// counted separately (4-bit iact, 7-bit weight). Weight data spad accesses are counted in
/// 24-bit words (two pairs, the SIMD read width); psums are 20-bit words. docs/v2.md.
#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <string>

#include "hw/stats.h"

namespace actsparse::hw::v2 {

// X(name, description)
#define ACTSPARSE_V2_STATS_FIELDS(X)                                                           \
    X(cycles, "array cycles, the sum of the pass cycles")                                      \
    X(passes, "processing passes")                                                             \
    X(macs_performed, "MACs computed (one per SIMD lane used)")                                \
    X(macs_gated_iact, "gate mode: MAC slots with a zero iact (cycle spent, MAC gated)")       \
    X(macs_gated_weight, "gate mode: MAC slots with a non-zero iact and a zero weight")        \
    X(macs_skipped_iact, "skip mode: MAC slots of zero iacts (never read, no cycle)")          \
    X(macs_skipped_weight, "skip mode: MAC slots of a non-zero iact and a zero weight")        \
    X(mac_lanes_idle, "SIMD lane-cycles without a MAC: odd column tails and CSC fillers")      \
    X(csc_filler_pairs, "CSC weight pairs (15 zeros, value 0) for runs longer than the count") \
    X(iact_data_spad_reads, "iact data spad reads (one per iact entering the pipeline)")       \
    X(iact_data_spad_writes, "iact data spad writes (items, incl. padding written by the PE)") \
    X(iact_addr_spad_reads, "iact address spad reads (one per column segment per window)")     \
    X(iact_addr_spad_writes, "iact address spad writes (one per column segment loaded)")       \
    X(weight_data_spad_reads, "weight data spad reads, 24-bit words")                          \
    X(weight_data_spad_writes, "weight data spad writes, 24-bit words")                        \
    X(weight_addr_spad_reads, "weight address spad reads (two per non-zero iact, skip mode)")  \
    X(weight_addr_spad_writes, "weight address spad writes (one per weight column loaded)")    \
    X(psum_spad_reads, "psum spad reads: MAC read-modify-write, chain adds, sends")            \
    X(psum_spad_writes, "psum spad writes: MAC read-modify-write, chain adds")                 \
    X(iact_noc_items_sent, "iact items put on the routers (= GLB iact reads), per cluster")    \
    X(iact_noc_addrs_sent, "iact column addresses put on the routers, per cluster")            \
    X(iact_noc_items_delivered, "iact items delivered, counted per destination PE")            \
    X(weight_offchip_items, "weight items read from off-chip (distinct per pass, chip-wide)")  \
    X(weight_offchip_addrs, "weight column addresses read from off-chip")                      \
    X(weight_noc_items_sent, "weight items leaving a weight router's source port, per router") \
    X(weight_mesh_items, "weight items forwarded router to router over the horizontal mesh")   \
    X(weight_noc_items_delivered, "weight items delivered, counted per destination PE")        \
    X(psum_chain_words, "psums moved PE to PE up a cluster column (psum router hop)")          \
    X(psum_glb_reads, "psums read from the GLB psum banks into a chain bottom (accumulate)")   \
    X(psum_glb_writes, "psums written to the GLB psum banks / off-chip by a chain top")        \
    X(pe_busy_cycles, "PE cycles in the compute pipeline (first fetch to last write-back)")    \
    X(pe_load_cycles, "PE cycles receiving iacts for a window")                                \
    X(weight_load_cycles, "cycles of the pass-start weight loads (longest router, summed)")

/// Counters of one layer (or one pass). Every field is an exact count.
struct V2Stats {
#define ACTSPARSE_V2_DECLARE_STAT(name, doc) int64_t name = 0;
    ACTSPARSE_V2_STATS_FIELDS(ACTSPARSE_V2_DECLARE_STAT)
#undef ACTSPARSE_V2_DECLARE_STAT

    nlohmann::json to_json() const;
    /// Reads to_json()'s object; missing, unknown or non-integer keys throw
    /// core::InputError(where + "." + key, reason).
    static V2Stats from_json(const nlohmann::json& j, const std::string& where);
    V2Stats& operator+=(const V2Stats& o);
    bool operator==(const V2Stats& o) const;
    bool operator!=(const V2Stats& o) const { return !(*this == o); }
    /// Names and values of the fields that differ ("" when equal), for test messages.
    std::string diff(const V2Stats& o) const;

    int64_t macs_gated() const { return macs_gated_iact + macs_gated_weight; }
    int64_t macs_skipped() const { return macs_skipped_iact + macs_skipped_weight; }
    /// performed + gated + skipped = shape.macs() for every run.
    int64_t mac_slots() const { return macs_performed + macs_gated() + macs_skipped(); }

    /// The v1 counter schema (hw/stats.h), so code that charges energy per ArrayStats field
    /// can read a v2 run. Word units differ (see docs/v2.md, "ArrayStats view"): ifmap =
    /// iact items, filter spad = 24-bit weight words, filter NoC = weight items.
    ArrayStats to_array_stats() const;
};

}  // namespace actsparse::hw::v2
