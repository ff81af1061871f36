#pragma once
/// @file One processing element of the row-stationary array, as a plain C++ class: ifmap,
/// filter and psum scratchpads, a zero detector on the ifmap input, a pipelined 16-bit MAC
/// with an exact wide accumulator, input FIFOs (ifmap, filter, psum) and a control FIFO of
/// per-pass configurations. tick(t) advances it by one clock cycle. In fast mode a tick also
/// runs the compute phase of a primitive in one go and carries on with later cycles' work
/// while its FIFOs show it is possible, then reports when it is next due (busy_until());
/// both fidelities share all of this code.
///
/// Per output column of a pass the PE runs, in order (docs/performance.md, timing model):
///   load:       the window's new ifmap words from the ifmap FIFO, 1 word/cycle (padding
///               positions are flagged zero locally, no cycle);
///   compute:    for each (channel c < q, filter column s < S) entry: one ifmap spad read, then
///               p MAC slots (filter spad read, multiply, psum spad read-modify-write), one per
///               cycle; a zero entry gates the p slots (cycle spent) or skips them (no cycle);
///   drain:      mac_pipeline_stages - 1 cycles after the last issued slot;
///   accumulate: for each of the p psums, add the psum arriving from below (PE link or GLB)
///               and send it up (or out), 1 psum/cycle.
/// A pass starts with the filter load: p*q*S words from the filter FIFO, 1 word/cycle.
#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include "core/arch.h"
#include "hw/fifo.h"
#include "hw/stats.h"

namespace actsparse::hw {

/// Ifmap columns that the window of output column x needs and the window of x - 1 did not:
/// [first, first + count). `window_first` is the ifmap column under filter column 0 of the
/// block at x = 0 (fcol_first - Wpad); the caller clips to [0, W) (outside is padding).
struct WindowStep {
    int64_t first = 0;
    int64_t count = 0;
};
inline WindowStep window_step(int64_t x, int64_t window_first, int64_t stride, int64_t s) {
    const int64_t a = window_first + x * stride;
    if (x == 0 || stride >= s) return {a, s};
    return {a + s - stride, stride};
}
/// Number of columns of a step inside [0, width).
inline int64_t real_columns(const WindowStep& w, int64_t width) {
    const int64_t lo = w.first < 0 ? 0 : w.first;
    const int64_t hi = w.first + w.count > width ? width : w.first + w.count;
    return hi > lo ? hi - lo : 0;
}

/// What a PE did in one cycle.
enum class PeActivity : uint8_t {
    kIdle,   ///< no pass work (not configured or done)
    kBusy,   ///< a load, a performed MAC slot, a drain cycle or an accumulate
    kGated,  ///< a MAC slot gated off by a zero ifmap
    kStall,  ///< waiting for an input FIFO word or output FIFO room
};

/// A PE's work in one pass (what the controller writes into its control FIFO).
struct PeConfig {
    int64_t p = 1;             ///< filters in this pass (<= Mapping::p)
    int64_t q = 1;             ///< channels in this pass (<= Mapping::q)
    int64_t s = 1;             ///< filter columns in this pass (<= Mapping::filter_cols)
    int64_t images = 1;        ///< images processed one after another
    int64_t out_cols = 1;      ///< ofmap columns Q
    int64_t stride = 1;        ///< Wstride
    int64_t window_first = 0;  ///< see WindowStep
    int64_t in_width = 1;      ///< W
    bool row_valid = true;     ///< the PE's ifmap row lies inside the image (else all padding)
    bool psum_in = false;      ///< accumulate adds a psum from the psum-in FIFO
    bool psum_to_link = true;  ///< output goes to the PE above (a link word), else to the GLB
};

class Pe {
  public:
    /// `fast`: run the compute phase of a primitive in one tick (temporal decoupling).
    Pe(const core::PeParams& params, core::ZeroMode mode, bool fast);

    /// Queues a pass on the control FIFO and points the psum output at `psum_dest` (the
    /// psum-in FIFO of the PE above, or this PE's psum_out()). The PE starts it at its next
    /// tick once idle.
    void configure(const PeConfig& cfg, RegFifo<int64_t>* psum_dest);

    /// Cycle mode: the work of cycle t (cycles since the pass started). Fast mode: the work of
    /// cycle t and of as many following cycles as can be done with what the FIFOs hold
    /// already (temporal decoupling); busy_until() is then the first cycle not done yet.
    PeActivity tick(int64_t t);

    /// Fast mode: first cycle at which tick() must be called again. 0 in cycle mode.
    int64_t busy_until() const { return busy_until_; }
    /// True when the PE has finished every queued pass.
    bool done() const { return state_ == State::kDone && control_.empty(); }
    /// Last cycle in which the PE did work (-1: none this pass).
    int64_t last_active() const { return last_active_; }
    /// True if the last tick skipped at least one zero entry (for the VCD).
    bool skipped_in_last_tick() const { return skipped_now_; }
    /// After a stalled tick in cycle t: the earliest later cycle in which the PE may proceed,
    /// judging by FIFO events already recorded (a word or a free slot due later), or -1 if
    /// it waits for something not recorded yet.
    int64_t next_chance(int64_t t) const;
    /// Fast mode: cycles in which the PE stayed blocked while the model jumped over them.
    void add_stall_cycles(int64_t n) { stats_.pe_stall_cycles += n; }
    /// Name of the current state, for deadlock reports.
    const char* state_name() const;
    /// FIFO occupancy (visible words in cycle t) and position, for deadlock reports.
    std::string fifo_summary(int64_t t) const;

    RegFifo<int16_t>& ifmap_in() { return ifmap_in_; }
    RegFifo<int16_t>& filter_in() { return filter_in_; }
    RegFifo<int64_t>& psum_in() { return psum_in_; }
    RegFifo<int64_t>& psum_out() { return psum_out_; }

    const ArrayStats& stats() const { return stats_; }
    /// Starts a new pass epoch: clears the counters and the FIFOs' cycle bookkeeping (pass
    /// cycles restart at 0). The FIFOs must be empty (they are after a finished pass).
    void restart();

    /// The exact product of the 16-bit MAC: int16 x int16 fits 31 bits, accumulated in int64.
    static int64_t product(int16_t a, int16_t b) {
        return static_cast<int64_t>(static_cast<int32_t>(a) * static_cast<int32_t>(b));
    }

  private:
    enum class State : uint8_t {
        kIdle,
        kFilterLoad,
        kColumnStart,
        kIfmapLoad,
        kCompute,
        kDrain,
        kAccumulate,
        kDone
    };
    struct InFlight {
        int64_t retire_cycle = 0;
        int64_t psum_index = 0;
        int64_t product = 0;
        bool bubble = false;  ///< a gated slot: occupies the pipeline, changes nothing
    };

    void start_pass();
    void begin_column();
    void pad_column();  ///< flags padding column load_col_ zero (no NoC word, no cycle)
    void start_compute();
    void next_entry();  ///< advances the compute cursor to the next (channel, column) entry
    void next_column();
    int64_t slot(int64_t column) const;  ///< ifmap spad column slot of an ifmap column
    bool column_real(int64_t column) const {
        return cfg_.row_valid && column >= 0 && column < cfg_.in_width;
    }
    /// Cycle mode: skips zero entries (skip mode, free) and issues one MAC slot. Returns
    /// false when the primitive has no slot left (the caller moves on to the drain).
    bool issue_one(int64_t t, PeActivity& act);
    /// Fast mode: all MAC slots of the primitive; returns the issued slots (= cycles).
    int64_t compute_all();
    void retire(int64_t t);
    /// The work of cycle t (zero-time transitions first). Returns the cycles it took: 1 for
    /// a load, MAC slot, drain or accumulate, the whole compute phase in fast mode, 0 when
    /// blocked on a FIFO (act = kStall, nothing counted) or idle.
    int64_t step(int64_t t, PeActivity& act);
    int64_t busy(int64_t t, PeActivity& act) { return busy(t, 1, act); }
    /// n busy cycles starting at t.
    int64_t busy(int64_t t, int64_t n, PeActivity& act) {
        stats_.pe_busy_cycles += n;
        last_active_ = t + n - 1;
        act = PeActivity::kBusy;
        return n;
    }
    static int64_t blocked(PeActivity& act) {
        act = PeActivity::kStall;
        return 0;
    }

    core::PeParams params_;
    core::ZeroMode mode_;
    bool fast_;

    std::deque<PeConfig> control_;
    std::deque<RegFifo<int64_t>*> control_dest_;
    PeConfig cfg_;
    RegFifo<int64_t>* psum_dest_ = nullptr;

    RegFifo<int16_t> ifmap_in_, filter_in_;
    RegFifo<int64_t> psum_in_, psum_out_;

    std::vector<int16_t> ifmap_spad_;   ///< [q][s] sliding window, column slot = col mod s
    std::vector<uint8_t> ifmap_zero_;   ///< zero-detector flag per ifmap spad entry
    std::vector<int16_t> filter_spad_;  ///< [q][s][p]
    std::vector<int64_t> psum_spad_;    ///< [p] exact accumulators

    std::vector<InFlight> pipe_;  ///< MAC pipeline, ring of mac_pipeline_stages entries
    int64_t pipe_head_ = 0;
    int64_t pipe_size_ = 0;

    State state_ = State::kIdle;
    int64_t filter_words_ = 0, loaded_ = 0;
    int64_t img_ = 0, col_ = 0;
    int64_t window_start_ = 0;                          ///< ifmap column under s = 0
    int64_t load_col_ = 0, load_end_ = 0, load_c_ = 0;  ///< ifmap load cursor
    int64_t load_slot_ = 0;                             ///< spad column slot of load_col_
    int64_t cc_ = 0, cs_ = 0, cf_ = 0;       ///< compute cursor (channel, column, filter)
    int64_t first_slot_ = 0, cur_slot_ = 0;  ///< spad column slots of s = 0 and of cs_
    int16_t cur_value_ = 0;
    bool cur_gated_ = false;
    int64_t acc_f_ = 0;

    int64_t busy_until_ = 0;
    int64_t last_active_ = -1;
    bool skipped_now_ = false;
    ArrayStats stats_;
};

}  // namespace actsparse::hw
