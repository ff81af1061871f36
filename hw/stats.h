#pragma once
/// @file Counters of the PE array. One X-macro list declares every field once; the struct,
/// JSON output/input, += and == are all driven from it (conventions: "statistics are a
/// contract"). Units: `cycles` are array clock cycles; everything else counts actions.
/// Word sizes: every counted word is ArchConfig::word_bits wide, psums included (Eyeriss moves
/// and stores 16-bit psums; this model keeps their values exact, see hw/README.md).
#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <string>

namespace actsparse::hw {

// X(name, description)
#define ACTSPARSE_ARRAY_STATS_FIELDS(X)                                                         \
    X(cycles, "array cycles, the sum of the pass cycles")                                       \
    X(passes, "processing passes")                                                              \
    X(macs_performed, "MACs computed")                                                          \
    X(macs_gated, "MAC slots gated off by a zero ifmap (cycle spent, no MAC energy)")           \
    X(macs_skipped, "MAC slots skipped for a zero ifmap (no cycle)")                            \
    X(ifmap_spad_reads, "ifmap spad reads (one per window entry, shared by the p filters)")     \
    X(ifmap_spad_reads_gated, "always 0: the zero flag is read with the value, never gated")    \
    X(ifmap_spad_reads_skipped, "ifmap spad reads skipped for zero entries (skip mode)")        \
    X(ifmap_spad_writes, "ifmap words written into ifmap spads")                                \
    X(filter_spad_reads, "filter spad reads feeding a performed MAC")                           \
    X(filter_spad_reads_gated, "filter spad reads gated off by a zero ifmap")                   \
    X(filter_spad_reads_skipped, "filter spad reads skipped with a zero ifmap")                 \
    X(filter_spad_writes, "filter words written into filter spads")                             \
    X(psum_spad_reads, "psum spad reads: MAC read-modify-write and vertical accumulation")      \
    X(psum_spad_reads_gated, "psum spad reads gated off by a zero ifmap")                       \
    X(psum_spad_reads_skipped, "psum spad reads skipped with a zero ifmap")                     \
    X(psum_spad_writes, "psum spad writes by performed MACs")                                   \
    X(ifmap_noc_words_delivered, "ifmap words delivered, counted per destination PE")           \
    X(ifmap_noc_words_sent, "ifmap words put on the bus (= GLB ifmap reads by the array)")      \
    X(ifmap_noc_transfers, "ifmap bus transfers (bus cycles used)")                             \
    X(filter_noc_words_delivered, "filter words delivered, counted per destination PE")         \
    X(filter_noc_words_sent, "filter words put on the bus (= filter reads from GLB/DRAM)")      \
    X(filter_noc_transfers, "filter bus transfers")                                             \
    X(psum_noc_words_delivered, "psums delivered from the GLB to chain-bottom PEs")             \
    X(psum_noc_words_sent, "psums put on the psum-in bus (= GLB psum reads)")                   \
    X(psum_noc_transfers, "psum-in bus transfers")                                              \
    X(psum_out_words, "psums leaving the array for the GLB (= GLB psum/ofmap writes)")          \
    X(psum_out_transfers, "psum-out bus transfers")                                             \
    X(psum_link_words, "psums moved PE to PE over the vertical links")                          \
    X(pe_busy_cycles, "PE MAC-slot cycles (performed and gated; loads and psums overlap them)") \
    X(pe_stall_cycles, "PE cycles up to its last MAC slot in which its MAC issued nothing")

/// Counters of one layer (or one pass). Every field is an exact count.
struct ArrayStats {
#define ACTSPARSE_DECLARE_STAT(name, doc) int64_t name = 0;
    ACTSPARSE_ARRAY_STATS_FIELDS(ACTSPARSE_DECLARE_STAT)
#undef ACTSPARSE_DECLARE_STAT

    /// {"cycles": ..., ...}: every field, named as declared.
    nlohmann::json to_json() const;
    /// Reads to_json()'s object; missing, unknown or non-integer keys throw
    /// core::InputError(where + "." + key, reason).
    static ArrayStats from_json(const nlohmann::json& j, const std::string& where);
    ArrayStats& operator+=(const ArrayStats& o);
    bool operator==(const ArrayStats& o) const;
    bool operator!=(const ArrayStats& o) const { return !(*this == o); }
    /// Names of the fields that differ from `o` ("" when equal), for test messages.
    std::string diff(const ArrayStats& o) const;
    /// performed + gated + skipped MACs.
    int64_t mac_slots() const { return macs_performed + macs_gated + macs_skipped; }
};

/// The same fields as real numbers: expected values of an analytical estimate.
struct ArrayEstimate {
#define ACTSPARSE_DECLARE_ESTIMATE(name, doc) double name = 0.0;
    ACTSPARSE_ARRAY_STATS_FIELDS(ACTSPARSE_DECLARE_ESTIMATE)
#undef ACTSPARSE_DECLARE_ESTIMATE
    nlohmann::json to_json() const;
    ArrayEstimate& operator+=(const ArrayEstimate& o);
};

}  // namespace actsparse::hw
