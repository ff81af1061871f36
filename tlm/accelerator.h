#pragma once
/// @file The accelerator top: DRAM behind a TLM-2.0 socket, a DMA with a read engine
/// (ifmap and filter chunks into the GLB) and a write engine (ofmaps out), and the compute
/// engine that occupies the PE array for each chunk's measured processing cycles. Compute
/// and transfers overlap only as far as the GLB's chunk slots allow (double buffering when
/// two chunks fit), so the overlap is measured by the simulation, not assumed.
#include <tlm_utils/simple_initiator_socket.h>

#include <cstdint>
#include <memory>
#include <systemc>
#include <tlm>
#include <vector>

#include "core/arch.h"
#include "tlm/dram.h"

namespace actsparse::tlm {

/// One DRAM transfer of the plan: a contiguous span.
struct Span {
    uint64_t addr = 0;
    uint64_t bytes = 0;
    /// Reads: where the DMA puts the bytes (the GLB image), or null. Writes: the bytes to
    /// write (the GLB's ofmap). The data really travels through the socket.
    uint8_t* glb = nullptr;
};

/// What the controller does for one GLB chunk.
struct ChunkPlan {
    std::vector<Span> ifmap_loads;  ///< empty when the previous chunk's ifmap is reused
    std::vector<Span> filter_loads;
    /// Streamed filters (the chunk's filter block does not fit the filter part): per pass
    /// of the chunk, its array cycles and the filters it needs that the pass before did
    /// not (empty: the same filters; pass 0's are in filter_loads). Pass i + 1's filters
    /// are read into the filter part once pass i has started (its own filters are then in
    /// the PE spads), and pass i + 1 cannot start before they are in. Empty when resident.
    std::vector<int64_t> pass_cycles;
    std::vector<std::vector<Span>> pass_filters;
    int64_t compute_cycles = 0;      ///< core cycles the array is busy (from hw/)
    std::vector<Span> ofmap_stores;  ///< after this chunk, when its block's ofmap is final
};

struct LayerPlan {
    std::vector<ChunkPlan> chunks;
    bool double_buffered = false;  ///< GLB holds two chunks: load k+1 while computing k
};

/// Timing outcome of one layer, in core clock cycles.
struct TimingResult {
    int64_t total_cycles = 0;          ///< first DRAM request to last ofmap byte written
    int64_t processing_cycles = 0;     ///< sum of the chunks' compute cycles
    int64_t compute_stall_cycles = 0;  ///< array idle, waiting for a chunk's data
    int64_t dram_busy_cycles = 0;      ///< in DRAM clock cycles
};

enum class TransferFidelity {
    kLooselyTimed,  ///< b_transport with a quantum keeper (temporal decoupling)
    kCycle,         ///< every bus burst synchronises with the kernel
};

/// The elaborated top, one per process (SystemC elaborates once). run() reconfigures it
/// for a layer and simulates until the layer is done; it can be called many times.
class AcceleratorTop : public sc_core::sc_module {
  public:
    tlm_utils::simple_initiator_socket<AcceleratorTop> dma_socket;
    DramTarget dram;

    explicit AcceleratorTop(sc_core::sc_module_name name);

    /// The process-wide instance, elaborated on first use together with the array's
    /// per-cycle top (SystemC admits no new modules after the first sc_start).
    static AcceleratorTop& instance(const core::ArchConfig& arch);

    /// Simulates `plan` over the DRAM image already in `dram` (set up with dram.reset and
    /// filled through dram.data()); reads land in each span's `glb` buffer.
    TimingResult run(const core::ArchConfig& arch, const LayerPlan& plan, TransferFidelity fid);

  private:
    void read_engine();
    void prefetch_engine();
    void compute_engine();
    void write_engine();
    void transfer(const Span& s, bool write, sc_core::sc_time& local);
    void sync(sc_core::sc_time& local);

    const LayerPlan* plan_ = nullptr;
    TransferFidelity fidelity_ = TransferFidelity::kLooselyTimed;
    sc_core::sc_time clock_;
    sc_core::sc_time quantum_;
    size_t loaded_ = 0, computed_ = 0, written_ = 0;
    /// Streamed filters: the pass the compute engine started last (chunk, pass), and the
    /// last pass whose filters the prefetch engine has read (chunk, pass).
    size_t started_chunk_ = 0, started_pass_ = 0, fetched_chunk_ = 0, fetched_pass_ = 0;
    bool any_started_ = false;
    int64_t stall_cycles_ = 0;
    sc_core::sc_event start_, loaded_ev_, computed_ev_, started_ev_, prefetched_ev_;
    int running_engines_ = 0;
};

}  // namespace actsparse::tlm
