#pragma once
/// @file DRAM behind a TLM-2.0 target socket: a byte store with a bus of `bus_bits` at its
/// own clock, a first-word latency, and read/write counters per tensor region.
#include <tlm_utils/simple_target_socket.h>

#include <cstdint>
#include <string>
#include <systemc>
#include <tlm>
#include <vector>

#include "core/arch.h"

namespace actsparse::tlm {

/// Tensors that live in DRAM; addresses are assigned per layer by the controller.
enum class Tensor { kIfmap, kFilter, kOfmap, kPsum, kCount };
const char* to_string(Tensor t);

struct DramStats {
    /// Bytes moved over the bus per tensor (whole bus words, so compressed streams count
    /// their padding), and transactions.
    int64_t read_bytes[static_cast<int>(Tensor::kCount)] = {};
    int64_t write_bytes[static_cast<int>(Tensor::kCount)] = {};
    int64_t transactions = 0;
    int64_t busy_cycles = 0;  ///< DRAM clock cycles the bus carried data or waited latency
};

/// The DRAM model. Timing is bandwidth + latency: a transaction that arrives while the bus
/// is idle pays `latency_cycles` before its first beat; one that arrives while the bus is
/// still busy is pipelined behind the previous one (no new latency), so back-to-back DMA
/// bursts stream at full bandwidth and concurrent read/write engines contend for the bus.
class DramTarget : public sc_core::sc_module {
  public:
    tlm_utils::simple_target_socket<DramTarget> socket;

    explicit DramTarget(sc_core::sc_module_name name);

    /// Sets the timing parameters, clears the store (to `bytes`) and the address map.
    void reset(const core::DramParams& params, uint64_t bytes);
    /// Tags [base, base + size) as `tensor` for the counters.
    void map_region(uint64_t base, uint64_t size, Tensor tensor);
    /// Host access without timing or counting (the host preloads inputs, reads results).
    uint8_t* data(uint64_t addr) { return store_.data() + addr; }
    uint64_t size() const { return store_.size(); }
    const DramStats& stats() const { return stats_; }
    sc_core::sc_time period() const { return period_; }

  private:
    void b_transport(::tlm::tlm_generic_payload& trans, sc_core::sc_time& delay);
    unsigned int transport_dbg(::tlm::tlm_generic_payload& trans);
    Tensor tensor_at(uint64_t addr) const;

    struct Region {
        uint64_t base, size;
        Tensor tensor;
    };
    std::vector<uint8_t> store_;
    std::vector<Region> regions_;
    core::DramParams params_;
    sc_core::sc_time period_;
    sc_core::sc_time busy_until_;
    DramStats stats_;
};

}  // namespace actsparse::tlm
