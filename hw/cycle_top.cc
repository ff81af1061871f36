#include "hw/cycle_top.h"

#include <algorithm>
#include <memory>
#include <string>
#include <systemc>
#include <vector>

#include "core/error.h"

namespace actsparse::hw {
namespace {

class CycleTop;

/// Ticks one physical row of PEs of the current engine every cycle (slot j of S: PEs
/// [j * ceil(n / S), (j + 1) * ceil(n / S)) of n, which is PE row j when S is the row count).
class PeSlot : public sc_core::sc_module {
  public:
    SC_HAS_PROCESS(PeSlot);
    PeSlot(const sc_core::sc_module_name& name, CycleTop& top, int64_t index);

  private:
    void tick();
    CycleTop& top_;
    int64_t index_;
};

class CycleTop : public sc_core::sc_module {
  public:
    SC_HAS_PROCESS(CycleTop);
    CycleTop(const sc_core::sc_module_name& name, int64_t slots) : sc_module(name) {
        for (int64_t i = 0; i < slots; ++i)
            slots_.push_back(
                std::make_unique<PeSlot>(("pe_row_" + std::to_string(i)).c_str(), *this, i));
        SC_METHOD(noc_tick);
        sensitive << clock;
        dont_initialize();
        SC_METHOD(control_tick);
        sensitive << clock;
        dont_initialize();
    }

    /// Pass cycle of the current evaluation. Every method of a cycle sees the same kernel
    /// time, so the first one to ask computes it for all (one division per cycle).
    int64_t pass_cycle() {
        const sc_dt::uint64 now = sc_core::sc_time_stamp().value();
        if (now != cached_time_) {
            cached_time_ = now;
            cached_cycle_ = static_cast<int64_t>((now - base_) / period_value_);
        }
        return cached_cycle_;
    }

    int64_t run(ArrayEngine& engine, VcdWriter* vcd, int64_t vcd_offset) {
        engine_ = &engine;
        vcd_ = vcd;
        engine.record_pe_activity(vcd != nullptr);
        engine.set_cycle_groups(per_slot(engine.num_pes()));
        vcd_offset_ = vcd_offset;
        base_ = sc_core::sc_time_stamp().value();
        cached_time_ = base_;
        cached_cycle_ = 0;
        running_ = true;
        clock.notify(sc_core::SC_ZERO_TIME);
        pass_start.notify(sc_core::SC_ZERO_TIME);
        sc_core::sc_start();
        if (running_)
            core::model_bug("hw::CycleTop", "simulation stopped before the pass finished at " +
                                                sc_core::sc_time_stamp().to_string());
        engine_ = nullptr;
        vcd_ = nullptr;
        return engine.pass_cycles();
    }

    /// PEs per slot for an array of n PEs.
    int64_t per_slot(int64_t n) const {
        const int64_t s = static_cast<int64_t>(slots_.size());
        return (n + s - 1) / s;
    }

    sc_core::sc_event clock;  ///< one notification per array cycle while a pass runs
    /// Notified with the first cycle of a pass: wakes slots whose PEs had nothing to do.
    sc_core::sc_event pass_start;
    ArrayEngine* engine_ = nullptr;
    VcdWriter* vcd_ = nullptr;
    int64_t vcd_offset_ = 0;
    bool running_ = false;

  private:
    void noc_tick() {
        if (running_) engine_->tick_noc(pass_cycle());
    }
    void control_tick() {
        if (!running_) return;
        const int64_t t = pass_cycle();
        if (engine_->pass_done()) {
            running_ = false;
            sc_core::sc_pause();
            return;
        }
        // Without any activity the state freezes for good once the MAC pipelines have
        // drained (FIFO words and slots become visible one cycle after they move).
        if (t - engine_->last_activity() > 2 + engine_->pipeline_stages())
            core::model_bug("hw::CycleTop", "deadlock at " + sc_core::sc_time_stamp().to_string() +
                                                ": " + engine_->describe(t));
        clock.notify(period_);
    }

    const sc_core::sc_time period_{1, sc_core::SC_NS};  ///< one array cycle
    const sc_dt::uint64 period_value_ = period_.value();
    sc_dt::uint64 base_ = 0;  ///< kernel time value at the start of the pass
    sc_dt::uint64 cached_time_ = 0;
    int64_t cached_cycle_ = 0;
    std::vector<std::unique_ptr<PeSlot>> slots_;
};

PeSlot::PeSlot(const sc_core::sc_module_name& name, CycleTop& top, int64_t index)
    : sc_module(name), top_(top), index_(index) {
    SC_METHOD(tick);
    sensitive << top.clock;
    dont_initialize();
}

void PeSlot::tick() {
    if (!top_.running_) return;
    ArrayEngine& e = *top_.engine_;
    const int64_t t = top_.pass_cycle();
    bool work_left = false;
    if (top_.vcd_ == nullptr) {
        work_left = e.tick_group_cycle(index_, t);  // leaves out PEs that cannot act
    } else {
        const int64_t n = e.num_pes();
        const int64_t per_slot = top_.per_slot(n);
        const int64_t end = std::min(n, (index_ + 1) * per_slot);
        for (int64_t i = index_ * per_slot; i < end; ++i) {
            const PeActivity a = e.tick_pe(i, t);
            if (e.pe_active(i))
                top_.vcd_->record(i, top_.vcd_offset_ + t, a, e.pe(i).skipped_in_last_tick());
            work_left = work_left || e.pe_working(i);
        }
    }
    // Clock gating: a slot whose PEs are idle or done for this pass sleeps until the next
    // one (their ticks would change nothing).
    if (!work_left) next_trigger(top_.pass_start);
}

CycleTop* g_top = nullptr;

CycleTop& top_for(int64_t rows) {
    if (g_top == nullptr) g_top = new CycleTop("actsparse_pe_array", rows);
    return *g_top;
}

}  // namespace

void elaborate_cycle_top(const core::ArchConfig& arch) { top_for(arch.array.rows); }

int64_t run_pass_cycle(ArrayEngine& engine, VcdWriter* vcd, int64_t vcd_offset) {
    return top_for(engine.array_rows()).run(engine, vcd, vcd_offset);
}

}  // namespace actsparse::hw
