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
    /// Streamed filters of the chunk's later passes: read while the chunk computes (each
    /// pass's filters preloaded during the pass before); the chunk ends when they are in.
    std::vector<Span> filter_stream;
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
    size_t compute_started_ = 0, prefetched_ = 0;  ///< chunks started / streams done
    int64_t stall_cycles_ = 0;
    sc_core::sc_event start_, loaded_ev_, computed_ev_, started_ev_, prefetched_ev_;
    int running_engines_ = 0;
};

}  // namespace actsparse::tlm
