#include "tlm/accelerator.h"

#include <algorithm>
#include <cstdlib>

#include "core/error.h"
#include "hw/array.h"

namespace actsparse::tlm {

AcceleratorTop::AcceleratorTop(sc_core::sc_module_name name)
    : sc_module(name), dma_socket("dma_socket"), dram("dram") {
    dma_socket.bind(dram.socket);
    SC_HAS_PROCESS(AcceleratorTop);
    SC_THREAD(read_engine);
    SC_THREAD(prefetch_engine);
    SC_THREAD(compute_engine);
    SC_THREAD(write_engine);
}

AcceleratorTop& AcceleratorTop::instance(const core::ArchConfig& arch) {
    static AcceleratorTop* top = [&] {
        ::setenv("SYSTEMC_DISABLE_COPYRIGHT_MESSAGE", "1", 0);
        hw::elaborate_cycle_top(arch);
        return new AcceleratorTop("accelerator");
    }();
    return *top;
}

TimingResult AcceleratorTop::run(const core::ArchConfig& arch, const LayerPlan& plan,
                                 TransferFidelity fid) {
    plan_ = &plan;
    fidelity_ = fid;
    clock_ = sc_core::sc_time(1000.0 / arch.clock_mhz, sc_core::SC_NS);
    quantum_ = 1000 * clock_;
    loaded_ = computed_ = written_ = 0;
    started_chunk_ = started_pass_ = fetched_chunk_ = fetched_pass_ = 0;
    any_started_ = false;
    stall_cycles_ = 0;
    running_engines_ = 4;
    const int64_t dram_busy_before = dram.stats().busy_cycles;
    // The engines must be waiting on start_ before it fires: the first run initialises
    // the kernel (every thread runs to its first wait) before notifying.
    if (sc_core::sc_get_status() == sc_core::SC_ELABORATION)
        sc_core::sc_start(sc_core::SC_ZERO_TIME);
    const sc_core::sc_time t0 = sc_core::sc_time_stamp();
    start_.notify(sc_core::SC_ZERO_TIME);
    sc_core::sc_start();
    if (running_engines_ != 0)
        core::model_bug(name(), "simulation stopped before the layer finished (t=" +
                                    sc_core::sc_time_stamp().to_string() + ")");
    TimingResult r;
    r.total_cycles = static_cast<int64_t>((sc_core::sc_time_stamp() - t0) / clock_ + 0.5);
    for (const auto& c : plan.chunks) r.processing_cycles += c.compute_cycles;
    r.compute_stall_cycles = stall_cycles_;
    r.dram_busy_cycles = dram.stats().busy_cycles - dram_busy_before;
    plan_ = nullptr;
    return r;
}

void AcceleratorTop::sync(sc_core::sc_time& local) {
    if (local > sc_core::SC_ZERO_TIME) {
        wait(local);
        local = sc_core::SC_ZERO_TIME;
    }
}

void AcceleratorTop::transfer(const Span& s, bool write, sc_core::sc_time& local) {
    // The cycle fidelity moves one bus burst per transaction and synchronises after each;
    // the loosely timed one moves a whole span and only syncs at the quantum.
    const uint64_t burst = fidelity_ == TransferFidelity::kCycle ? 64 : s.bytes;
    for (uint64_t off = 0; off < s.bytes; off += burst) {
        const uint64_t len = std::min<uint64_t>(burst, s.bytes - off);
        ::tlm::tlm_generic_payload trans;
        trans.set_command(write ? ::tlm::TLM_WRITE_COMMAND : ::tlm::TLM_READ_COMMAND);
        trans.set_address(s.addr + off);
        trans.set_data_length(static_cast<unsigned int>(len));
        trans.set_streaming_width(static_cast<unsigned int>(len));
        uint8_t discard[64];
        trans.set_data_ptr(s.glb ? s.glb + off : discard);
        if (!s.glb && len > sizeof(discard)) core::model_bug(name(), "span without a GLB buffer");
        trans.set_byte_enable_ptr(nullptr);
        trans.set_response_status(::tlm::TLM_INCOMPLETE_RESPONSE);
        dma_socket->b_transport(trans, local);
        if (trans.is_response_error())
            core::model_bug(name(), "DRAM transaction failed at " + std::to_string(s.addr) +
                                        " (t=" + sc_core::sc_time_stamp().to_string() + ")");
        if (fidelity_ == TransferFidelity::kCycle || local >= quantum_) sync(local);
    }
}

void AcceleratorTop::read_engine() {
    while (true) {
        wait(start_);
        sc_core::sc_time local = sc_core::SC_ZERO_TIME;
        const size_t slots = plan_->double_buffered ? 2 : 1;
        for (size_t k = 0; k < plan_->chunks.size(); ++k) {
            // A chunk's GLB slot frees when the chunk that used it has been computed.
            while (k >= computed_ + slots) wait(computed_ev_);
            for (const Span& s : plan_->chunks[k].filter_loads) transfer(s, false, local);
            for (const Span& s : plan_->chunks[k].ifmap_loads) transfer(s, false, local);
            sync(local);
            ++loaded_;
            loaded_ev_.notify(sc_core::SC_ZERO_TIME);
        }
        if (--running_engines_ == 0) sc_core::sc_pause();
    }
}

void AcceleratorTop::prefetch_engine() {
    while (true) {
        wait(start_);
        sc_core::sc_time local = sc_core::SC_ZERO_TIME;
        for (size_t k = 0; k < plan_->chunks.size(); ++k) {
            const ChunkPlan& c = plan_->chunks[k];
            for (size_t i = 1; i < c.pass_filters.size(); ++i) {
                // The filter part holds one pass: pass i's filters go in once pass i - 1
                // has started (and taken its own filters into the spads).
                while (!any_started_ || started_chunk_ < k ||
                       (started_chunk_ == k && started_pass_ + 1 < i))
                    wait(started_ev_);
                for (const Span& s : c.pass_filters[i]) transfer(s, false, local);
                sync(local);
                fetched_chunk_ = k;
                fetched_pass_ = i;
                prefetched_ev_.notify(sc_core::SC_ZERO_TIME);
            }
        }
        if (--running_engines_ == 0) sc_core::sc_pause();
    }
}

void AcceleratorTop::compute_engine() {
    while (true) {
        wait(start_);
        for (size_t k = 0; k < plan_->chunks.size(); ++k) {
            const ChunkPlan& c = plan_->chunks[k];
            const sc_core::sc_time idle_from = sc_core::sc_time_stamp();
            while (loaded_ <= k) wait(loaded_ev_);
            if (k > 0)
                stall_cycles_ +=
                    static_cast<int64_t>((sc_core::sc_time_stamp() - idle_from) / clock_ + 0.5);
            if (c.pass_cycles.empty()) {
                wait(c.compute_cycles * clock_);
            } else {
                for (size_t i = 0; i < c.pass_cycles.size(); ++i) {
                    // A pass with new streamed filters waits until they are in the GLB.
                    if (i > 0 && !c.pass_filters[i].empty()) {
                        const sc_core::sc_time wait_from = sc_core::sc_time_stamp();
                        while (fetched_chunk_ < k || (fetched_chunk_ == k && fetched_pass_ < i))
                            wait(prefetched_ev_);
                        stall_cycles_ += static_cast<int64_t>(
                            (sc_core::sc_time_stamp() - wait_from) / clock_ + 0.5);
                    }
                    started_chunk_ = k;
                    started_pass_ = i;
                    any_started_ = true;
                    started_ev_.notify(sc_core::SC_ZERO_TIME);
                    wait(c.pass_cycles[i] * clock_);
                }
            }
            ++computed_;
            computed_ev_.notify(sc_core::SC_ZERO_TIME);
        }
        if (--running_engines_ == 0) sc_core::sc_pause();
    }
}

void AcceleratorTop::write_engine() {
    while (true) {
        wait(start_);
        sc_core::sc_time local = sc_core::SC_ZERO_TIME;
        for (size_t k = 0; k < plan_->chunks.size(); ++k) {
            while (computed_ <= k) wait(computed_ev_);
            for (const Span& s : plan_->chunks[k].ofmap_stores) transfer(s, true, local);
            sync(local);
            ++written_;
        }
        if (--running_engines_ == 0) sc_core::sc_pause();
    }
}

}  // namespace actsparse::tlm
