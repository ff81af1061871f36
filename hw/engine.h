#pragma once
/// @file The PE array of one layer as a plain C++ object: the PEs, the four networks and the
/// pass controller. begin_pass() writes the per-pass configuration (PE work, IDs, multicast
/// groups, psum chains); then either
///  - the SystemC top calls tick_pe()/tick_noc() every cycle (per-cycle fidelity), or
///  - run_pass_fast() ticks the networks and only the PEs that are due, lets each PE run
///    ahead as far as its FIFOs allow (Pe's fast mode), and jumps over cycles in which
///    nothing can move (fast fidelity).
/// Both run the same PE, FIFO and network code; they differ in Pe's fast flag and in which
/// cycles are evaluated for whom, so their cycle and access counts agree (tests/hw check it).
#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/arch.h"
#include "core/shape.h"
#include "hw/mapping.h"
#include "hw/noc.h"
#include "hw/pe.h"
#include "hw/stats.h"

namespace actsparse::hw {

/// Pending wakes of the fast fidelity, by cycle: a calendar of kSlots buckets for the near
/// future (O(1) insert and pop) and a heap for anything farther out.
class WakeCalendar {
  public:
    void clear(int64_t now);
    /// Schedules `id` for cycle `at` (> now).
    void push(int64_t at, int64_t id);
    /// Moves to cycle t (>= now) and appends the ids due at t to `out`.
    void pop_due(int64_t t, std::vector<int64_t>& out);
    /// Earliest scheduled cycle after `now`; -1 when nothing is scheduled.
    int64_t next_after_now() const;

  private:
    static constexpr int64_t kSlots = 1024;  // a power of two
    std::vector<std::vector<int64_t>> slots_ = std::vector<std::vector<int64_t>>(kSlots);
    std::vector<std::pair<int64_t, int64_t>> far_;  ///< min-heap of (cycle, id)
    int64_t now_ = 0;
    int64_t near_count_ = 0;
};

class ArrayEngine {
  public:
    /// `ofmap` ([N,M,P,Q], zeroed by the caller) doubles as the GLB's psum storage: psum-in
    /// reads it, psum-out writes it. The pointers must outlive the engine's passes.
    ArrayEngine(const core::LayerShape& shape, const Mapping& mapping, const core::ArchConfig& arch,
                const int16_t* ifmap, const int16_t* weight, int64_t* ofmap, bool fast);
    /// Hands the PEs to the next engine of this thread.
    ~ArrayEngine();
    ArrayEngine(const ArrayEngine&) = delete;
    ArrayEngine& operator=(const ArrayEngine&) = delete;

    /// Configures the array for a pass; cycle 0 is the first tick after this.
    void begin_pass(const PassTile& tile);
    /// One cycle of PE i (any order among PEs and networks within a cycle).
    PeActivity tick_pe(int64_t i, int64_t t) {
        Pe& pe = *pes_[static_cast<size_t>(i)];
        const PeActivity a = pe.tick(t);
        pe_last_active_ = std::max(pe_last_active_, pe.last_active());
        if (pe.done() && active_flag_[static_cast<size_t>(i)] &&
            !pe_done_flag_[static_cast<size_t>(i)]) {
            pe_done_flag_[static_cast<size_t>(i)] = 1;
            ++pes_done_;
        }
        return a;
    }
    /// Per-cycle fidelity without activity records: one cycle of the PEs of group g (PEs
    /// [g * size, (g + 1) * size), see set_cycle_groups). The whole group is passed over
    /// while no hook reported a change to one of its PEs and the cycle is before the earliest
    /// wake of its working PEs; within it, each PE is left out while it can do nothing
    /// (tick_pe_cycle). Returns whether any of them still works in this pass.
    bool tick_group_cycle(int64_t g, int64_t t);
    /// Per-cycle fidelity: the PE groups of tick_group_cycle (the processes' shares of the
    /// PEs). Call after begin_pass().
    void set_cycle_groups(int64_t size);
    /// Per-cycle fidelity: whether the active PEs report each cycle's activity (a VCD needs
    /// it; Pe::record_activity). Call after begin_pass().
    void record_pe_activity(bool on);
    /// Whether PE i works in the current pass and has not finished it.
    bool pe_working(int64_t i) const {
        return active_flag_[static_cast<size_t>(i)] != 0 &&
               pe_done_flag_[static_cast<size_t>(i)] == 0;
    }
    /// One cycle of the four networks.
    void tick_noc(int64_t t);
    /// True once every PE has finished and every network is drained.
    bool pass_done() const;
    /// Cycles of the finished pass: last cycle with any activity + 1.
    int64_t pass_cycles() const;
    /// Counters of the finished pass (cycles and passes included).
    ArrayStats pass_stats() const;
    /// Runs the configured pass to completion in the fast fidelity; returns its cycles.
    int64_t run_pass_fast();
    /// Words each network moved in this pass: {ifmap sent, filter sent, psum-in sent, psum out}.
    int64_t ifmap_words_sent() const { return noc_.ifmap_noc_words_sent; }
    int64_t filter_words_sent() const { return noc_.filter_noc_words_sent; }
    int64_t psum_words_in() const { return noc_.psum_noc_words_sent; }
    int64_t psum_words_out() const { return noc_.psum_out_words; }

    /// MAC pipeline depth (a psum leaves its PE this many cycles after its last slot).
    int64_t pipeline_stages() const { return arch_.pe.mac_pipeline_stages; }
    int64_t num_pes() const { return static_cast<int64_t>(pes_.size()); }
    int64_t array_rows() const { return arch_.array.rows; }
    const Pe& pe(int64_t i) const { return *pes_[static_cast<size_t>(i)]; }
    /// Whether PE i works in the current pass.
    bool pe_active(int64_t i) const { return active_flag_[static_cast<size_t>(i)] != 0; }
    /// Last cycle in which any component did work (-1 when none yet).
    int64_t last_activity() const;
    /// Human-readable state for deadlock reports.
    std::string describe(int64_t t) const;

    /// Multicast groups of the current pass (tests check their destinations).
    struct GroupInfo {
        MulticastGroup tag;
        std::vector<int64_t> pes;  ///< PEs that must receive this group's words
    };
    const std::vector<GroupInfo>& ifmap_groups() const { return ifmap_groups_; }
    const std::vector<GroupInfo>& filter_groups() const { return filter_groups_; }
    const MulticastBus<int16_t>& ifmap_bus() const { return ifmap_bus_; }
    const MulticastBus<int16_t>& filter_bus() const { return filter_bus_; }
    /// PE index of a PE's ifmap FIFO (for mapping bus destinations back to PEs).
    int64_t pe_of_ifmap_fifo(const RegFifo<int16_t>* f) const;
    int64_t pe_of_filter_fifo(const RegFifo<int16_t>* f) const;

  private:
    struct Chain {
        int64_t bottom = 0;  ///< PE index
        int64_t top = 0;
        int64_t filter_first = 0, filter_count = 0;  ///< [M]
        int64_t orow = 0;                            ///< ofmap row [P]
    };
    struct FilterGroupData {
        int64_t filter_first = 0, p = 0;
        int64_t chan_first = 0, q = 0;  ///< absolute channel index [C]
        int64_t frow = 0;               ///< filter row [R]
    };
    struct IfmapGroupData {
        int64_t chan_first = 0, q = 0;  ///< absolute channel index [C]
        int64_t in_row = 0;             ///< ifmap row [H]
    };

    /// Per-PE network IDs and FIFOs of the pass (-1 / null: not on that network).
    struct PassIds {
        std::vector<int64_t> f_row, f_col, i_row, i_col, p_row, p_col;
        std::vector<RegFifo<int16_t>*> f_fifo, i_fifo;
        std::vector<RegFifo<int64_t>*> p_fifo;
        void reset(int64_t npes);
    };
    // The steps of begin_pass(), in order.
    void reset_pass_state();
    void place_pes(const PassTile& tile, const SetGeometry& geo);
    void configure_filter_bus();
    void configure_ifmap_bus(const PassTile& tile);
    void configure_psum_in_bus(const PassTile& tile);
    void configure_out_bus(const PassTile& tile);
    /// Per-cycle fidelity without activity records: one cycle of PE i, left out while the PE
    /// can do nothing (before its Pe::cycle_wake(), with no FIFO changed since that one of
    /// its Pe::cycle_waiting_units() waits for; the hooks of install_cycle_hooks() report
    /// changes). Counts and times are those of tick_pe() in every cycle.
    void tick_pe_cycle(int64_t i, int64_t t) {
        const size_t k = static_cast<size_t>(i);
        if (sleep_until_[k] > t && (changed_units_[k] & waiting_units_[k]) == 0) return;
        changed_units_[k] = 0;
        tick_pe(i, t);
        sleep_until_[k] = pes_[k]->cycle_wake();
        waiting_units_[k] = static_cast<uint8_t>(pes_[k]->cycle_waiting_units());
    }
    void install_fast_hooks();
    void install_cycle_hooks();
    static void mark_hook(void* engine, int64_t id, int64_t cycle);  // id: PE * 32 + unit
    // The input networks' words (TransferSource functions).
    static int64_t filter_words(const void* ctx, int64_t step, int64_t g);
    static void filter_fill(const void* ctx, int64_t step, int64_t g, int64_t first, int64_t n,
                            int64_t* out);
    static int64_t ifmap_words(const void* ctx, int64_t step, int64_t g);
    static void ifmap_fill(const void* ctx, int64_t step, int64_t g, int64_t first, int64_t n,
                           int64_t* out);
    static int64_t psum_words(const void* ctx, int64_t step, int64_t g);
    static void psum_fill(const void* ctx, int64_t step, int64_t g, int64_t first, int64_t n,
                          int64_t* out);

    core::LayerShape shape_;
    Mapping mapping_;
    core::ArchConfig arch_;
    const int16_t* ifmap_;
    const int16_t* weight_;
    int64_t* ofmap_;
    bool fast_;

    std::vector<std::unique_ptr<Pe>> pes_;
    std::vector<int64_t> active_;       ///< indices of the PEs working in this pass
    std::vector<uint8_t> active_flag_;  ///< per PE
    int64_t pes_done_ = 0;
    int64_t pe_last_active_ = -1;
    std::vector<uint8_t> pe_done_flag_;

    PassTile tile_;
    PassIds ids_;
    std::vector<GroupInfo> ifmap_groups_, filter_groups_, psum_groups_;
    std::vector<IfmapGroupData> ifmap_data_;
    std::vector<FilterGroupData> filter_data_;
    std::vector<Chain> chains_;
    TransferSchedule ifmap_sched_, filter_sched_, psum_sched_;
    std::vector<int64_t> new_real_, new_first_, new_prefix_;  ///< per ofmap column of the pass
    int64_t ifmap_cols_per_step_ = 1, ifmap_steps_per_image_ = 1;
    int64_t psum_cols_per_step_ = 1, psum_steps_per_image_ = 1;
    MulticastBus<int16_t> ifmap_bus_, filter_bus_;
    MulticastBus<int64_t> psum_bus_;
    OutBus out_bus_;
    ArrayStats noc_;  ///< network counters of this pass
    int64_t noc_last_active_ = -1;

    // Fast fidelity scheduling. A PE is ticked at the start of a pass and then only in the
    // cycle after a FIFO it uses changed (FIFO hooks carry the cycle of the change); each
    // tick performs every action its recorded inputs allow, at the actions' own cycles. The
    // networks are ticked in every evaluated cycle, and a cycle is evaluated when a network
    // moved in the previous one or a wake is due, so every counter equals the per-cycle
    // fidelity's.
    // The steps of run_pass_fast().
    void start_fast_schedule();
    void collect_due(int64_t t);
    void tick_due_pes(int64_t t);
    int64_t next_evaluated_cycle(int64_t t);
    std::vector<int64_t> fired_;  ///< wakes popped from the calendar in this cycle
    static void wake_hook(void* engine, int64_t id, int64_t cycle);  // id: PE * 32 + units
    /// A filter transfer reached PE `pe`: it loads the words at once when running (a tick
    /// only once its filters are complete), else it is woken as by wake_hook.
    static void filter_push_hook(void* engine, int64_t pe, int64_t cycle);
    static void out_push_hook(void* engine, int64_t pe, int64_t cycle);
    /// A PE popped a FIFO that input network `net` (0 ifmap, 1 filter, 2 psum-in) fills.
    static void bus_pop_hook(void* engine, int64_t net, int64_t cycle);
    /// Whether the networks may move in the next cycle without a new wake.
    bool noc_pending() const;
    /// Schedules PE `pe` (or, with -1, just an evaluation of the networks) for cycle `at`.
    void wake(int64_t pe, int64_t at);
    int64_t cur_t_ = 0;
    bool eval_next_ = false;
    std::vector<int64_t> wake_at_;        ///< earliest pending wake of each PE (kNever: none)
    std::vector<uint8_t> changed_units_;  ///< per PE: Pe::Unit bits noted since its last tick
    std::vector<int64_t> sleep_until_;    ///< cycle fidelity: per PE, its last cycle_wake()
    std::vector<uint8_t> waiting_units_;  ///< cycle fidelity: its last cycle_waiting_units()
    // Cycle fidelity, per group of set_cycle_groups: the earliest wake of its working PEs at
    // its last pass over them, whether a hook reported a change since, whether any works.
    int64_t group_size_ = 1;
    std::vector<int64_t> group_wake_;
    std::vector<uint8_t> group_dirty_, group_working_;
    int64_t noc_wake_at_ = 0;  ///< earliest pending network-only evaluation
    int64_t out_pushed_ = 0;   ///< psums pushed into chain-top output FIFOs this pass
    std::vector<int64_t> due_, next_;
    std::vector<int64_t> due_at_;           ///< cycle for which a PE is already scheduled
    std::unique_ptr<WakeCalendar> timers_;  ///< from a pool (see the destructor)
    std::vector<int64_t> psum_producer_;    ///< PE feeding each PE's psum-in FIFO (-1: the GLB)
};

}  // namespace actsparse::hw
