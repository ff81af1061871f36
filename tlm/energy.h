#pragma once
/// @file Access counts of a whole layer per level and tensor, and the energy they cost
/// under an architecture's energy table.
#include <cstdint>
#include <nlohmann/json_fwd.hpp>

#include "core/arch.h"

namespace actsparse::tlm {

/// Counted actions of one layer. Words are 16-bit words. One list drives the fields and
/// the JSON (`accesses.<level>.<tensor>.<action>`).
#define ACTSPARSE_ACCESS_FIELDS(X)                     \
    X(dram, ifmap, reads)                              \
    X(dram, filter, reads)                             \
    X(dram, ofmap, writes)                             \
    X(dram, psum, reads)                               \
    X(dram, psum, writes)                              \
    X(glb, ifmap, reads)                               \
    X(glb, ifmap, writes)                              \
    X(glb, filter, reads)                              \
    X(glb, filter, writes)                             \
    X(glb, psum, reads)                                \
    X(glb, psum, writes)                               \
    X(noc, ifmap, words) /* delivered to PEs */        \
    X(noc, filter, words)                              \
    X(noc, psum, words) /* GLB <-> array, both ways */ \
    X(array_link, psum, words)                         \
    X(ifmap_spad, ifmap, reads)                        \
    X(ifmap_spad, ifmap, writes)                       \
    X(filter_spad, filter, reads)                      \
    X(filter_spad, filter, writes)                     \
    X(filter_spad, filter, gated_reads)                \
    X(psum_spad, psum, reads)                          \
    X(psum_spad, psum, writes)                         \
    X(mac, mac, performed)                             \
    X(mac, mac, gated)                                 \
    X(mac, mac, skipped)

struct Accesses {
#define ACTSPARSE_DECLARE_ACCESS(level, tensor, action) int64_t level##_##tensor##_##action = 0;
    ACTSPARSE_ACCESS_FIELDS(ACTSPARSE_DECLARE_ACCESS)
#undef ACTSPARSE_DECLARE_ACCESS
    nlohmann::json to_json() const;
};

/// Energy in pJ, by level and by tensor.
struct Energy {
    double dram = 0, glb = 0, noc = 0, array_link = 0, ifmap_spad = 0, filter_spad = 0,
           psum_spad = 0, mac = 0;
    double ifmap = 0, filter = 0, psum = 0, ofmap = 0, compute = 0;
    double total() const {
        return dram + glb + noc + array_link + ifmap_spad + filter_spad + psum_spad + mac;
    }
    nlohmann::json to_json() const;
};

Energy energy_of(const Accesses& a, const core::EnergyTable& e);

}  // namespace actsparse::tlm
