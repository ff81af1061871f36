#pragma once
/// @file One processing element of the row-stationary array, as a plain C++ class: ifmap,
/// filter and psum scratchpads, a zero detector on the ifmap input, a pipelined MAC with an
/// exact wide accumulator, I/O FIFOs (ifmap, filter, psum in, psum out) and a control FIFO of
/// per-pass configurations.
///
/// Timing (docs/simulator.md, "PE timing", derived from Chen et al., JSSC 2017, Sec. IV-B:
/// FIFOs at every PE I/O "balance the workload between the NoC and the computation", a
/// datapath "pipelined into three stages", spads "separated for three data types to provide
/// enough access bandwidth", ifmap and psum spads built of registers, PEs not in lock step).
/// A PE has five units that work concurrently, each acting at most once per cycle:
///   filter:  the pass's p*q*S filter words from the filter FIFO into the filter spad,
///            1 word/cycle (the spad is an SRAM with one write port);
///   load:    the ifmap words of window k (ofmap column k), 1 word/cycle, each into the spad
///            entry it replaces, once the compute unit has finished reading that entry in
///            column k - 1 (the sliding window shares the 12 registers with the computation);
///            padding positions are flagged zero when column k starts, without a cycle;
///   compute: column k starts once its whole window is loaded (and the filters, and column
///            k - 1 is issued); per (channel, filter column) entry, p MAC slots, one a cycle.
///            A zero entry's slots are gated (cycles spent) or skipped (no cycle). The first
///            issued slot of psum f waits until psum f of column k - 1 has left the spad;
///   psum-add: (chains fed from below or from the GLB) the incoming psum of (column k, f) is
///            added into psum f, once psum f of column k - 1 has left the spad;
///   accumulate: psum f of column k leaves for the PE above (or the output FIFO), and its
///            spad entry is cleared, once its last MAC has left the pipeline
///            (mac_pipeline_stages cycles after issue) and its incoming psum is added.
/// Every dependency between units is registered: an action of cycle c enables actions from
/// c + 1. Each action happens in the earliest cycle all of its conditions hold, so a unit's
/// action time is a max over recorded times. tick(t) performs the actions of cycle t (cycle
/// fidelity; a column's MAC slots are scheduled once all psums of the previous column have
/// left, so its first slots may be recorded a few cycles late, invisibly outside the PE) or,
/// in fast mode, every action whose conditions are already recorded, at the
/// cycles they are due (temporal decoupling; FIFOs carry timestamps). Both fidelities run
/// this same rule code, so their times agree exactly; tests/hw proves it.
#include <cstdint>
#include <deque>
#include <limits>
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
    kBusy,   ///< a unit acted (load, MAC slot, psum add or accumulate)
    kGated,  ///< the MAC slot of this cycle was gated off by a zero ifmap, nothing else acted
    kStall,  ///< pass work left, but no unit could act
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
    bool psum_in = false;      ///< a psum arrives for every (column, filter) in the psum-in FIFO
    bool psum_to_link = true;  ///< output goes to the PE above (a link word), else to the GLB
};

class Pe {
  public:
    /// `fast`: perform every action whose conditions are recorded, at its own cycle.
    Pe(const core::PeParams& params, core::ZeroMode mode, bool fast);

    /// Puts the PE back into the state of a PE just constructed with these arguments (the
    /// engine reuses PEs across layers instead of allocating 168 of them per chunk).
    void reinit(const core::PeParams& params, core::ZeroMode mode, bool fast);

    /// Queues a pass on the control FIFO and points the psum output at `psum_dest` (the
    /// psum-in FIFO of the PE above, or this PE's psum_out()). The PE starts it at its next
    /// tick once idle.
    void configure(const PeConfig& cfg, RegFifo<int64_t>* psum_dest);

    /// Cycle mode: the actions of cycle t (t must not decrease; the PE must be ticked in every
    /// cycle of a pass until done()). Fast mode: every action whose conditions are recorded,
    /// each at its own cycle (>= t); afterwards the PE only needs another tick when a FIFO
    /// it uses changes (the engine's FIFO hooks).
    PeActivity tick(int64_t t);

    /// Cycle mode, after a tick: the earliest cycle in which a tick can do anything, unless a
    /// FIFO that another component fills (ifmap, filter, psum in) or empties (the psum
    /// destination) changes first. Until then every unit waits for a cycle still to come, for
    /// another unit of this PE (which needs an action first), or for such a FIFO, so the
    /// ticks of the cycles between may be left out (ArrayEngine::tick_pe_cycle does).
    int64_t cycle_wake() const { return next_due_; }
    /// Cycle mode, after a tick: the units (Unit bits) that wait for a word in an empty input
    /// FIFO or for room in the psum destination. A change to another unit's FIFO (a word
    /// behind the head, a pop while the unit waits for a later cycle) changes nothing before
    /// cycle_wake(): a unit's earliest action depends only on the head word and on the pops
    /// already recorded.
    unsigned cycle_waiting_units() const { return waiting_; }
    /// Cycle mode: whether tick() reports each cycle's activity (what a VCD records; on by
    /// default). Off, it reports only whether a unit acted and keeps no MAC slot log.
    void record_activity(bool on) { record_activity_ = on; }
    /// True when the PE has finished every queued pass.
    bool done() const { return !running_ && control_.empty(); }
    /// Latest cycle of any action of this pass (-1: none).
    int64_t last_active() const { return last_active_; }
    /// True if the compute unit passed skipped zero entries in the last ticked cycle (VCD).
    bool skipped_in_last_tick() const { return skipped_now_; }
    /// Name of the units' state, for deadlock reports.
    std::string state_name() const;
    /// FIFO occupancy (visible words in cycle t) and position, for deadlock reports.
    std::string fifo_summary(int64_t t) const;

    RegFifo<int16_t>& ifmap_in() { return ifmap_in_; }
    RegFifo<int16_t>& filter_in() { return filter_in_; }
    RegFifo<int64_t>& psum_in() { return psum_in_; }
    RegFifo<int64_t>& psum_out() { return psum_out_; }

    /// The units, as bits (fast fidelity: whose input FIFOs changed since the last tick).
    enum Unit : unsigned {
        kFilterUnit = 1,
        kComputeUnit = 2,
        kLoadUnit = 4,
        kAddUnit = 8,
        kAccUnit = 16,
    };
    /// The units that read a FIFO filled or emptied from outside the PE.
    static constexpr unsigned kInputUnits = kFilterUnit | kLoadUnit | kAddUnit | kAccUnit;
    /// Fast fidelity: until the next restart() the caller reports, with note_input(), the
    /// units whose FIFO changed (filter_in, ifmap_in, psum_in pushed; the psum destination
    /// popped), and a tick runs only those (and what they enable). Without it every tick
    /// runs every input unit.
    void track_inputs() {
        inputs_tracked_ = true;
        pending_ = kInputUnits;
    }
    void note_input(unsigned units) { pending_ |= units; }
    /// Fast fidelity, while the PE runs a pass: loads the words now in the filter FIFO (the
    /// filter unit reads nothing else, so when it runs does not change what it does) and
    /// returns whether the pass's filters are now complete, which is what the compute unit
    /// waits for. Lets the filter network feed a PE without a tick per transfer.
    bool load_filters_now() {
        if (!fast_ || !running_) return false;
        filter_unit(0);
        return f_done_ != kNone;
    }
    /// Whether load_filters_now() may be used (the PE has started its pass).
    bool running() const { return running_; }

    const ArrayStats& stats() const { return stats_; }
    /// Starts a new pass epoch: clears the counters and the FIFOs' cycle bookkeeping (pass
    /// cycles restart at 0). The FIFOs must be empty (they are after a finished pass).
    void restart();

    /// The exact product of the 16-bit MAC: int16 x int16 fits 31 bits, accumulated in int64.
    static int64_t product(int16_t a, int16_t b) {
        return static_cast<int64_t>(static_cast<int32_t>(a) * static_cast<int32_t>(b));
    }

  private:
    static constexpr int64_t kNone = std::numeric_limits<int64_t>::min() / 4;

    /// One issued (channel, filter column) entry of a computed column: cycles
    /// [start, start + p) in steady state (the first issued entry may wait per slot).
    struct Issued {
        int64_t start = 0, end = 0;  ///< first and last slot cycle
        bool gated = false;
        bool skipped_before = false;  ///< zero entries were skipped right before it
    };

    void start_pass();
    // The steps of tick().
    PeActivity run_fast(bool fresh);
    void run_cycle(int64_t t);
    PeActivity cycle_activity(int64_t t);
    /// `limit`: act only at cycles <= limit (cycle mode: t; fast mode: no limit).
    bool filter_unit(int64_t limit);
    bool filter_unit_fast();
    bool load_unit(int64_t limit);
    bool compute_unit(int64_t limit);
    // The steps of compute_unit: phase A (start a column) and phase B (issue its slots).
    struct IssueCounts {
        int64_t performed = 0, gated = 0, skipped = 0;  ///< entries
    };
    bool start_column(int64_t limit);
    void flag_padding();
    void build_order();
    bool issue_column();
    void count_issued(const IssueCounts& n, int64_t last);
    bool add_unit(int64_t limit);
    bool acc_unit(int64_t limit);
    /// Cycle time of an action: fast mode any time, cycle mode exactly `limit` (or not yet).
    bool due(int64_t when, int64_t limit) {
        if (fast_ || when == limit) return true;
        if (when > limit) {
            if (when < next_due_) next_due_ = when;
            return false;
        }
        late_action(when, limit);
    }
    [[noreturn]] static void late_action(int64_t when, int64_t limit);
    void acted(int64_t when) {
        last_active_ = std::max(last_active_, when);
        if (when == tick_t_) acted_now_ = true;
    }

    int64_t slot(int64_t column) const {
        const int64_t m = column % cfg_.s;
        return m < 0 ? m + cfg_.s : m;
    }
    bool column_real(int64_t column) const {
        return cfg_.row_valid && column >= 0 && column < cfg_.in_width;
    }
    /// Real ifmap words of the window of ofmap column x of an image (0: all padding).
    int64_t real_words_at(int64_t x) const {
        return cfg_.row_valid ? real_columns(window_step(x, cfg_.window_first, cfg_.stride, cfg_.s),
                                             cfg_.in_width) *
                                    cfg_.q
                              : 0;
    }
    /// Starts the load cursor on window ld_k_ (column ld_x_ of its image), skipping windows
    /// without a real word.
    void begin_load_window();
    /// The compute unit moves on to the next column.
    void next_compute_column() {
        ++cp_k_;
        if (++cp_x_ == cfg_.out_cols) cp_x_ = 0;
        cp_words_ = cp_k_ < columns_ ? real_words_at(cp_x_) : 0;
    }
    /// Whether psum f of column k has been accumulated (left the spad), and when.
    bool acc_known(int64_t k, int64_t f) const {
        return k < 0 || ac_k_ > k || (ac_k_ == k && ac_f_ > f);
    }

    core::PeParams params_;
    core::ZeroMode mode_;
    bool fast_;

    PeConfig cfg_;
    RegFifo<int64_t>* psum_dest_ = nullptr;
    bool running_ = false;
    int64_t columns_ = 0;  ///< images * out_cols

    RegFifo<int16_t> ifmap_in_, filter_in_;
    RegFifo<int64_t> psum_in_, psum_out_;

    std::vector<int16_t> ifmap_spad_;   ///< [q][s] sliding window, column slot = col mod s
    std::vector<uint8_t> ifmap_zero_;   ///< zero-detector flag per ifmap spad entry
    std::vector<int16_t> filter_spad_;  ///< [q][s][p]
    std::vector<int64_t> psum_spad_;    ///< [p] exact accumulators

    // filter unit
    int64_t f_total_ = 0, f_loaded_ = 0, f_next_ = 0;
    int64_t f_done_ = kNone;  ///< cycle of the last filter word (-1: none needed)
    // load unit: window ld_k_, word ld_i_ of its ld_n_ real words (column-major, channel inner)
    int64_t ld_k_ = 0, ld_i_ = 0, ld_n_ = 0, ld_next_ = 0;
    int64_t ld_first_ = 0, ld_count_ = 0;    ///< the window's new columns
    int64_t ld_col_ = 0, ld_c_ = 0;          ///< next real word: ifmap column, channel
    int64_t ld_slot_ = 0;                    ///< slot(ld_col_)
    int64_t ld_x_ = 0;                       ///< ld_k_ % out_cols
    int64_t loaded_at_[2] = {kNone, kNone};  ///< per window parity: cycle its last word arrived
    int64_t loaded_tag_[2] = {-1, -1};       ///< which window loaded_at_ belongs to
    std::vector<int64_t> fin_;               ///< per entry: last cycle the compute read it
    std::vector<int64_t> fin_col_;           ///< per entry: the column fin_ belongs to
    // compute unit: next column cp_k_ (started: phase A done, see compute_unit); the last
    // computed column issued its last slot in cycle cp_end_
    int64_t cp_k_ = 0, cp_end_ = -1, last_issue_ = -1;
    int64_t cp_x_ = 0, cp_words_ = 0;  ///< cp_k_ % out_cols, real words of its window
    bool cp_started_ = false;
    int64_t cp_start_ = 0, cp_first_ = -1, cp_last_ = -1;  ///< start cycle, issued entries
    /// When the psums of a computed column may leave the spad (last slot + pipeline).
    /// Issuing column k waits until column k - 1 has left, so at most one issued column is
    /// queued at a time (behind it only columns without an issued slot): its per-f times
    /// are either linear (the last entry's slots, f = 0, 1, ...) or, when its first issued
    /// entry is also its last, the table ready_table_.
    struct Ready {
        enum Kind : uint8_t { kUniform, kLinear, kTable };
        int64_t column = 0;
        int64_t at = 0;  ///< kUniform: every f; kLinear: f = 0
        Kind kind = kUniform;
    };
    int64_t ready_time(const Ready& r, int64_t f) const {
        return r.kind == Ready::kUniform  ? r.at
               : r.kind == Ready::kLinear ? r.at + f
                                          : ready_table_[static_cast<size_t>(f)];
    }
    /// Computed columns not yet accumulated: ready_[ready_head_..] (a queue that empties
    /// whenever a column is issued, so its storage is reused).
    std::vector<Ready> ready_;
    size_t ready_head_ = 0;
    bool ready_empty() const { return ready_head_ == ready_.size(); }
    void ready_pop() {
        if (++ready_head_ == ready_.size()) {
            ready_.clear();
            ready_head_ = 0;
        }
    }
    std::vector<int64_t> ready_table_;  ///< per f (Ready::kTable)
    std::vector<int64_t> order_;        ///< the started column's spad entries in compute order
    int64_t order_slot_ = -1;           ///< first slot order_ was built for (-1: none this pass)
    // psum-add unit and accumulate unit
    int64_t ad_k_ = 0, ad_f_ = 0, ad_next_ = 0;
    std::vector<int64_t> add_at_;  ///< per f: cycle of the add for column ad_k_ (or earlier)
    int64_t ac_k_ = 0, ac_f_ = 0, ac_next_ = 0;
    std::vector<int64_t> acc_at_;  ///< per f: cycle psum f of the latest column left

    /// Cycle mode: see cycle_wake() (kNone: the next cycle).
    int64_t next_due_ = kNone;
    unsigned waiting_ = 0;  ///< cycle mode: see cycle_waiting_units()
    bool record_activity_ = true;
    bool inputs_tracked_ = false;
    unsigned pending_ = kInputUnits;  ///< units whose input changed (tracked inputs)
    int64_t last_active_ = -1;
    int64_t tick_t_ = -1;     ///< cycle mode: the cycle being ticked
    bool acted_now_ = false;  ///< cycle mode: a unit acted in cycle tick_t_
    bool skipped_now_ = false;
    ArrayStats stats_;

    // Rarely touched state last, so the per-tick state above shares fewer cache lines.
    std::deque<PeConfig> control_;
    std::deque<RegFifo<int64_t>*> control_dest_;
    std::deque<Issued> sched_;  ///< cycle mode: issued entries not yet past (VCD)
};

}  // namespace actsparse::hw
