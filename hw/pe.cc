#include "hw/pe.h"

#include <algorithm>

#include "core/error.h"

namespace actsparse::hw {

Pe::Pe(const core::PeParams& params, core::ZeroMode mode, bool fast)
    : params_(params),
      mode_(mode),
      fast_(fast),
      ifmap_in_(params.fifo_depth_words),
      filter_in_(params.fifo_depth_words),
      psum_in_(params.psum_fifo_depth_words),
      psum_out_(params.psum_fifo_depth_words),
      ifmap_spad_(static_cast<size_t>(params.ifmap_spad_words), 0),
      ifmap_zero_(static_cast<size_t>(params.ifmap_spad_words), 1),
      filter_spad_(static_cast<size_t>(params.filter_spad_words), 0),
      psum_spad_(static_cast<size_t>(params.psum_spad_words), 0) {}

void Pe::reinit(const core::PeParams& params, core::ZeroMode mode, bool fast) {
    params_ = params;
    mode_ = mode;
    fast_ = fast;
    control_.clear();
    control_dest_.clear();
    cfg_ = PeConfig{};
    psum_dest_ = nullptr;
    running_ = false;
    columns_ = 0;
    ifmap_in_.reset(params.fifo_depth_words);
    filter_in_.reset(params.fifo_depth_words);
    psum_in_.reset(params.psum_fifo_depth_words);
    psum_out_.reset(params.psum_fifo_depth_words);
    ifmap_spad_.assign(static_cast<size_t>(params.ifmap_spad_words), 0);
    ifmap_zero_.assign(static_cast<size_t>(params.ifmap_spad_words), 1);
    filter_spad_.assign(static_cast<size_t>(params.filter_spad_words), 0);
    psum_spad_.assign(static_cast<size_t>(params.psum_spad_words), 0);
    f_total_ = f_loaded_ = f_next_ = 0;
    f_done_ = kNone;
    ld_k_ = ld_i_ = ld_n_ = ld_next_ = ld_first_ = ld_count_ = ld_col_ = ld_c_ = ld_slot_ = ld_x_ =
        0;
    loaded_at_[0] = loaded_at_[1] = kNone;
    loaded_tag_[0] = loaded_tag_[1] = -1;
    fin_.clear();
    fin_col_.clear();
    cp_k_ = cp_x_ = cp_words_ = 0;
    cp_end_ = last_issue_ = -1;
    cp_started_ = false;
    cp_start_ = 0;
    cp_first_ = cp_last_ = -1;
    ready_.clear();
    ready_head_ = 0;
    order_.clear();
    order_slot_ = -1;
    sched_.clear();
    ad_k_ = ad_f_ = ad_next_ = 0;
    add_at_.clear();
    ac_k_ = ac_f_ = ac_next_ = 0;
    acc_at_.clear();
    last_active_ = -1;
    next_due_ = kNone;
    record_activity_ = true;
    inputs_tracked_ = false;
    pending_ = kInputUnits;
    tick_t_ = -1;
    acted_now_ = false;
    skipped_now_ = false;
    stats_ = ArrayStats{};
}

void Pe::configure(const PeConfig& cfg, RegFifo<int64_t>* psum_dest) {
    if (cfg.p < 1 || cfg.q < 1 || cfg.s < 1 || cfg.p > params_.psum_spad_words ||
        cfg.q * cfg.s > params_.ifmap_spad_words ||
        cfg.p * cfg.q * cfg.s > params_.filter_spad_words || psum_dest == nullptr)
        core::model_bug("hw::Pe", "configuration does not fit the spads");
    control_.push_back(cfg);
    control_dest_.push_back(psum_dest);
}

std::string Pe::state_name() const {
    if (!running_) return "idle";
    return "filter " + std::to_string(f_loaded_) + "/" + std::to_string(f_total_) +
           ", load window " + std::to_string(ld_k_) + " word " + std::to_string(ld_i_) + "/" +
           std::to_string(ld_n_) + ", compute column " + std::to_string(cp_k_) +
           (cp_started_ ? " (started)" : "") + ", add " + std::to_string(ad_k_) + "." +
           std::to_string(ad_f_) + ", accumulate " + std::to_string(ac_k_) + "." +
           std::to_string(ac_f_) + " of " + std::to_string(columns_) + " columns (next " +
           std::to_string(ac_next_) + ", ready " +
           (ready_empty() ? std::string("-")
                          : std::to_string(ready_[ready_head_].column) + "@" +
                                std::to_string(ready_time(ready_[ready_head_], ac_f_))) +
           ", add@" + (cfg_.psum_in ? std::to_string(add_at_[static_cast<size_t>(ac_f_)]) : "-") +
           ")";
}

std::string Pe::fifo_summary(int64_t t) const {
    auto fifo = [t](const auto& f) {
        return std::to_string(f.visible(t)) + "/" + std::to_string(f.size());
    };
    return "ifmap " + fifo(ifmap_in_) + ", filter " + fifo(filter_in_) + ", psum-in " +
           fifo(psum_in_) + (cfg_.psum_in ? " (used)" : " (unused)") + ", psum-out " +
           fifo(psum_out_) + ", dest room " +
           (psum_dest_ != nullptr ? std::to_string(psum_dest_->room(t)) : "-");
}

void Pe::restart() {
    if (!ifmap_in_.empty() || !filter_in_.empty() || !psum_in_.empty() || !psum_out_.empty())
        core::model_bug("hw::Pe", "FIFO not empty at the start of a pass");
    ifmap_in_.reset(params_.fifo_depth_words);
    filter_in_.reset(params_.fifo_depth_words);
    psum_in_.reset(params_.psum_fifo_depth_words);
    psum_out_.reset(params_.psum_fifo_depth_words);
    stats_ = ArrayStats{};
    last_active_ = -1;
    next_due_ = kNone;
    inputs_tracked_ = false;
    pending_ = kInputUnits;
}

void Pe::start_pass() {
    cfg_ = control_.front();
    psum_dest_ = control_dest_.front();
    control_.pop_front();
    control_dest_.pop_front();
    running_ = true;
    next_due_ = kNone;
    columns_ = cfg_.images * cfg_.out_cols;
    const size_t p = static_cast<size_t>(cfg_.p);
    const size_t entries = static_cast<size_t>(cfg_.q * cfg_.s);

    f_total_ = cfg_.p * cfg_.q * cfg_.s;
    f_loaded_ = 0;
    f_next_ = 0;
    f_done_ = kNone;

    fin_.assign(entries, -1);
    fin_col_.assign(entries, -1);
    loaded_at_[0] = loaded_at_[1] = kNone;
    loaded_tag_[0] = loaded_tag_[1] = -1;
    ld_next_ = 0;
    ld_k_ = ld_x_ = 0;
    begin_load_window();

    cp_k_ = cp_x_ = 0;
    cp_words_ = columns_ > 0 ? real_words_at(0) : 0;
    cp_started_ = false;
    cp_end_ = -1;
    last_issue_ = -1;
    ready_.clear();
    ready_head_ = 0;
    ready_table_.assign(p, 0);
    order_slot_ = -1;  // q and s may differ from the last pass
    sched_.clear();

    ad_k_ = ad_f_ = ad_next_ = 0;
    add_at_.assign(p, kNone);
    ac_k_ = ac_f_ = ac_next_ = 0;
    acc_at_.assign(p, kNone);
    std::fill(psum_spad_.begin(), psum_spad_.begin() + cfg_.p, 0);
}

void Pe::late_action(int64_t when, int64_t limit) {
    core::model_bug("hw::Pe", "an action due in cycle " + std::to_string(when) +
                                  " was found only in cycle " + std::to_string(limit));
}

void Pe::begin_load_window() {
    ld_i_ = 0;
    for (; ld_k_ < columns_; ++ld_k_, ld_x_ = ld_x_ + 1 == cfg_.out_cols ? 0 : ld_x_ + 1) {
        ld_n_ = real_words_at(ld_x_);
        if (ld_n_ == 0) continue;  // all padding: nothing crosses the NoC
        ld_col_ =
            std::max<int64_t>(window_step(ld_x_, cfg_.window_first, cfg_.stride, cfg_.s).first, 0);
        ld_slot_ = slot(ld_col_);
        ld_c_ = 0;
        return;
    }
    ld_n_ = 0;
}

// Each unit below takes as many actions as it can in one call (fast mode: every word its
// recorded inputs allow; cycle mode: at most the one due in cycle `limit`), counts them once
// and reports its pops to the FIFO's hook once, with the cycle of the first (the hooks only
// need the earliest change).

bool Pe::filter_unit(int64_t limit) {
    if (f_done_ != kNone) return false;
    if (fast_) return filter_unit_fast();
    int64_t n = 0, first = 0, last = 0;
    int16_t* spad = filter_spad_.data();
    while (!filter_in_.empty()) {
        const int64_t when = std::max(f_next_, filter_in_.head_cycle() + 1);
        if (!due(when, limit)) break;
        spad[f_loaded_++] = filter_in_.pop_quiet(when);
        if (n++ == 0) first = when;
        last = when;
        f_next_ = when + 1;
        if (f_loaded_ == f_total_) {
            f_done_ = when;
            break;
        }
    }
    if (filter_in_.empty() && f_done_ == kNone) waiting_ |= kFilterUnit;
    if (n == 0) return false;
    filter_in_.notify_pop(first);
    stats_.filter_spad_writes += n;
    acted(last);
    return true;
}

// Fast mode: the words in the FIFO, one a cycle, each once it is visible.
bool Pe::filter_unit_fast() {
    int64_t first = 0, next = f_next_;
    const int64_t n =
        filter_in_.pop_paced(next, f_total_ - f_loaded_, filter_spad_.data() + f_loaded_, first);
    if (n == 0) return false;
    f_loaded_ += n;
    f_next_ = next;
    const int64_t when = next - 1;
    if (f_loaded_ == f_total_) f_done_ = when;
    filter_in_.notify_pop(first);
    stats_.filter_spad_writes += n;
    acted(when);
    return true;
}

bool Pe::load_unit(int64_t limit) {
    int64_t n = 0, first = 0, last = 0;
    while (ld_k_ < columns_ && !ifmap_in_.empty()) {
        const int64_t e = ld_c_ * cfg_.s + ld_slot_;
        int64_t when = ld_next_;
        if (ld_k_ > 0) {
            // The word replaces an entry of window ld_k_ - 1: free once the compute has read
            // it.
            if (fin_col_[static_cast<size_t>(e)] != ld_k_ - 1) break;
            when = std::max(when, fin_[static_cast<size_t>(e)] + 1);
        }
        when = std::max(when, ifmap_in_.head_cycle() + 1);
        if (!due(when, limit)) break;
        const int16_t v = ifmap_in_.pop_quiet(when);
        if (n++ == 0) first = when;
        last = when;
        ifmap_spad_[static_cast<size_t>(e)] = v;
        ifmap_zero_[static_cast<size_t>(e)] = v == 0 ? 1 : 0;  // the zero detector
        ld_next_ = when + 1;
        if (++ld_c_ == cfg_.q) {
            ld_c_ = 0;
            ++ld_col_;  // a window's real columns are contiguous
            ld_slot_ = ld_slot_ + 1 == cfg_.s ? 0 : ld_slot_ + 1;
        }
        if (++ld_i_ == ld_n_) {
            loaded_at_[static_cast<size_t>(ld_k_ & 1)] = when;
            loaded_tag_[static_cast<size_t>(ld_k_ & 1)] = ld_k_;
            ++ld_k_;
            ld_x_ = ld_x_ + 1 == cfg_.out_cols ? 0 : ld_x_ + 1;
            begin_load_window();
        }
    }
    if (ld_k_ < columns_ && ifmap_in_.empty()) waiting_ |= kLoadUnit;
    if (n == 0) return false;
    ifmap_in_.notify_pop(first);
    stats_.ifmap_spad_writes += n;
    acted(last);
    return true;
}

bool Pe::compute_unit(int64_t limit) {
    if (cp_k_ >= columns_) return false;
    return cp_started_ ? issue_column() : start_column(limit);
}

// Phase A: the column starts once its window is loaded, the filters are in and column k - 1
// has issued its last slot. Padding entries are flagged now (no NoC word, no cycle); zero
// entries before the first issued one are passed at once.
bool Pe::start_column(int64_t limit) {
    if (f_done_ == kNone) return false;
    const int64_t k = cp_k_;
    int64_t loaded = -1;
    if (cp_words_ > 0) {
        if (loaded_tag_[static_cast<size_t>(k & 1)] != k) return false;
        loaded = loaded_at_[static_cast<size_t>(k & 1)];
    }
    const int64_t start = std::max({cp_end_ + 1, loaded + 1, f_done_ + 1});
    if (!due(start, limit)) return false;
    flag_padding();
    cp_start_ = start;
    build_order();
    const int64_t entries = cfg_.q * cfg_.s;
    const int64_t lead = cp_first_ < 0 ? entries : cp_first_;
    for (int64_t i = 0; i < lead; ++i) {
        const int64_t e = order_[static_cast<size_t>(i)];
        fin_[static_cast<size_t>(e)] = start - 1;
        fin_col_[static_cast<size_t>(e)] = k;
    }
    skipped_now_ = skipped_now_ || lead > 0;
    if (cp_first_ < 0) {
        // Nothing to issue (all entries zero, skip mode): psums stay as they are.
        const int64_t p = cfg_.p;
        stats_.ifmap_spad_reads_skipped += entries;
        stats_.macs_skipped += entries * p;
        stats_.filter_spad_reads_skipped += entries * p;
        stats_.psum_spad_reads_skipped += entries * p;
        ready_.push_back({k, start, Ready::kUniform});
        cp_end_ = start - 1;
        next_compute_column();
        return true;
    }
    cp_started_ = true;
    return true;
}

// The padding columns of the started column's window: zero entries, flagged by the PE.
void Pe::flag_padding() {
    const int64_t q = cfg_.q, s = cfg_.s;
    const WindowStep w = window_step(cp_x_, cfg_.window_first, cfg_.stride, s);
    for (int64_t col = w.first; col < w.first + w.count; ++col) {
        if (column_real(col)) continue;
        const int64_t sl = slot(col);
        for (int64_t c = 0; c < q; ++c) {
            ifmap_spad_[static_cast<size_t>(c * s + sl)] = 0;
            ifmap_zero_[static_cast<size_t>(c * s + sl)] = 1;
        }
    }
}

// The spad entries in compute order (channel, then window position), and the first and last
// issued ones (skip mode passes zero entries; -1: none issued).
void Pe::build_order() {
    const int64_t q = cfg_.q, s = cfg_.s, entries = q * s;
    const bool skip = mode_ == core::ZeroMode::kSkip;
    const int64_t first_slot = slot(cfg_.window_first + cp_x_ * cfg_.stride);
    // The order depends only on the window's first slot (always 0 when s = 1): rebuilt only
    // when that changes within a pass.
    if (first_slot != order_slot_) {
        order_.resize(static_cast<size_t>(entries));
        for (int64_t c = 0, i = 0; c < q; ++c)
            for (int64_t pos = 0, sl = first_slot; pos < s;
                 ++pos, ++i, sl = sl + 1 == s ? 0 : sl + 1)
                order_[static_cast<size_t>(i)] = c * s + sl;
        order_slot_ = first_slot;
    }
    cp_first_ = skip ? -1 : 0;
    cp_last_ = skip ? -1 : entries - 1;
    for (int64_t i = 0; skip && i < entries; ++i) {
        if (ifmap_zero_[static_cast<size_t>(order_[static_cast<size_t>(i)])] != 0) continue;
        if (cp_first_ < 0) cp_first_ = i;
        cp_last_ = i;
    }
}

// Phase B: the slots. Psum f's first slot waits until psum f of column k - 1 left the spad
// (its entry is reused); then the entries follow one slot per cycle. (Psums leave in f
// order, so psum p - 1 leaving means every psum has.)
bool Pe::issue_column() {
    const int64_t k = cp_k_, p = cfg_.p;
    if (!acc_known(k - 1, p - 1)) return false;
    const int64_t entries = cfg_.q * cfg_.s;
    const bool skip = mode_ == core::ZeroMode::kSkip;
    const int64_t stages = params_.mac_pipeline_stages;
    if (!ready_empty()) core::model_bug("hw::Pe", "a column issued before the last one left");
    Ready rd{k, kNone, cp_first_ == cp_last_ ? Ready::kTable : Ready::kLinear};
    int64_t tau = cp_start_, prev_fin = cp_start_ - 1;
    IssueCounts n;
    int64_t* psum = psum_spad_.data();
    bool skipped_before = cp_first_ > 0;
    for (int64_t i = cp_first_; i < entries; ++i) {
        const int64_t e = order_[static_cast<size_t>(i)];
        const size_t ei = static_cast<size_t>(e);
        fin_col_[ei] = k;
        if (skip && ifmap_zero_[ei] != 0) {
            ++n.skipped;
            fin_[ei] = prev_fin;
            skipped_before = true;
            continue;
        }
        int64_t start = tau, end = tau + p - 1;
        if (i == cp_first_) {
            int64_t tf = tau - 1;
            for (int64_t f = 0; f < p; ++f) {
                const int64_t prev = k == 0 ? -1 : acc_at_[static_cast<size_t>(f)];
                tf = std::max(tf + 1, prev + 1);
                if (f == 0) start = tf;
                if (i == cp_last_) ready_table_[static_cast<size_t>(f)] = tf + stages;
            }
            end = tf;
        } else if (i == cp_last_) {
            rd.at = start + stages;  // psum f: start + f + stages
        }
        fin_[ei] = end;
        prev_fin = end;
        tau = end + 1;
        const bool zero = ifmap_zero_[ei] != 0 && mode_ != core::ZeroMode::kNone;
        if (!fast_ && record_activity_) sched_.push_back({start, end, zero, skipped_before});
        skipped_before = false;
        if (zero) {
            ++n.gated;
            continue;
        }
        ++n.performed;
        const int64_t v = ifmap_spad_[ei];
        const int16_t* wgt = filter_spad_.data() + i * p;  // [c][s][f]
        for (int64_t f = 0; f < p; ++f) psum[f] += v * wgt[f];
    }
    n.skipped += cp_first_;
    count_issued(n, prev_fin);
    ready_.push_back(rd);
    cp_end_ = prev_fin;
    cp_started_ = false;
    next_compute_column();
    return true;
}

// The counters of an issued column whose last slot is in cycle `last`.
void Pe::count_issued(const IssueCounts& n, int64_t last) {
    const int64_t p = cfg_.p;
    const int64_t slots = (n.performed + n.gated) * p;
    stats_.ifmap_spad_reads += n.performed + n.gated;
    stats_.ifmap_spad_reads_skipped += n.skipped;
    stats_.macs_performed += n.performed * p;
    stats_.filter_spad_reads += n.performed * p;
    stats_.psum_spad_reads += n.performed * p;
    stats_.psum_spad_writes += n.performed * p;
    stats_.macs_gated += n.gated * p;
    stats_.filter_spad_reads_gated += n.gated * p;
    stats_.psum_spad_reads_gated += n.gated * p;
    stats_.macs_skipped += n.skipped * p;
    stats_.filter_spad_reads_skipped += n.skipped * p;
    stats_.psum_spad_reads_skipped += n.skipped * p;
    stats_.pe_busy_cycles += slots;
    stats_.pe_stall_cycles += last - last_issue_ - slots;
    last_issue_ = last;
    acted(last);
}

bool Pe::add_unit(int64_t limit) {
    if (!cfg_.psum_in) return false;
    int64_t n = 0, first = 0, last = 0;
    while (ad_k_ < columns_ && !psum_in_.empty()) {
        const int64_t k = ad_k_, f = ad_f_;
        // Psum f's entry belongs to column k once psum f of column k - 1 has left.
        if (!acc_known(k - 1, f)) break;
        const int64_t prev = k == 0 ? -1 : acc_at_[static_cast<size_t>(f)];
        const int64_t when = std::max({ad_next_, prev + 1, psum_in_.head_cycle() + 1});
        if (!due(when, limit)) break;
        psum_spad_[static_cast<size_t>(f)] += psum_in_.pop_quiet(when);
        if (n++ == 0) first = when;
        last = when;
        add_at_[static_cast<size_t>(f)] = when;
        ad_next_ = when + 1;
        if (++ad_f_ == cfg_.p) {
            ad_f_ = 0;
            ++ad_k_;
        }
    }
    if (ad_k_ < columns_ && psum_in_.empty()) waiting_ |= kAddUnit;
    if (n == 0) return false;
    psum_in_.notify_pop(first);
    stats_.psum_spad_reads += n;
    stats_.psum_spad_writes += n;
    acted(last);
    return true;
}

bool Pe::acc_unit(int64_t limit) {
    int64_t n = 0, last = 0;
    while (ac_k_ < columns_ && !ready_empty()) {
        const int64_t k = ac_k_, f = ac_f_;
        const Ready& rd = ready_[ready_head_];
        if (rd.column != k) core::model_bug("hw::Pe", "accumulate out of column order");
        int64_t when = std::max(ac_next_, ready_time(rd, f));
        if (cfg_.psum_in) {
            if (!(ad_k_ > k || (ad_k_ == k && ad_f_ > f))) break;
            when = std::max(when, add_at_[static_cast<size_t>(f)] + 1);
        }
        when = psum_dest_->earliest_room(when);
        if (when < 0) {
            waiting_ |= kAccUnit;  // a pop not recorded yet
            break;
        }
        if (!due(when, limit)) break;
        psum_dest_->push_into_room(when, psum_spad_[static_cast<size_t>(f)]);  // room: above
        psum_dest_->notify_push(when);
        psum_spad_[static_cast<size_t>(f)] = 0;
        ++n;
        last = when;
        acc_at_[static_cast<size_t>(f)] = when;
        ac_next_ = when + 1;
        if (++ac_f_ == cfg_.p) {
            ac_f_ = 0;
            ready_pop();
            if (++ac_k_ == columns_) running_ = false;  // the pass's last psum has left
        }
    }
    if (n == 0) return false;
    stats_.psum_spad_reads += n;
    if (cfg_.psum_to_link) stats_.psum_link_words += n;
    acted(last);
    return true;
}

PeActivity Pe::tick(int64_t t) {
    skipped_now_ = false;
    acted_now_ = false;
    tick_t_ = fast_ ? -1 : t;
    bool fresh = false;
    if (!running_) {
        if (control_.empty()) return PeActivity::kIdle;
        start_pass();
        fresh = true;
    }
    if (fast_) return run_fast(fresh);
    run_cycle(t);
    if (!record_activity_) return acted_now_ ? PeActivity::kBusy : PeActivity::kStall;
    return cycle_activity(t);
}

// Fast mode: every unit acts as far as its recorded inputs allow, until nothing moves. A
// unit is called again only when a unit it depends on acted. Every unit stopped at the end
// of the last tick with the state it still has; since then only FIFOs changed (the only
// inputs from outside), so the units that read a changed FIFO run first (all that read one
// when the changes are not tracked), and the compute unit, which reads none, runs only once
// another unit acted (or the pass is new).
PeActivity Pe::run_fast(bool fresh) {
    constexpr unsigned kFilter = kFilterUnit, kCompute = kComputeUnit, kLoad = kLoadUnit,
                       kAdd = kAddUnit, kAcc = kAccUnit;
    unsigned dirty = (inputs_tracked_ && !fresh ? pending_ : kInputUnits) | (fresh ? kCompute : 0u);
    pending_ = 0;
    bool any = false;
    constexpr int64_t limit = std::numeric_limits<int64_t>::max();
    while (dirty != 0 && running_) {
        unsigned next = 0;
        // What enables the compute unit: a column starts (phase A) once the filters are
        // all in and its window is loaded; it issues (phase B) once the last column's psums
        // have left (accumulate).
        if ((dirty & kFilter) != 0 && filter_unit(limit) && f_done_ != kNone) next |= kCompute;
        if ((dirty & kCompute) != 0 && cp_k_ < columns_) {
            bool moved = false;
            while (compute_unit(limit)) moved = true;
            if (moved) next |= kLoad | kAcc;
        }
        if ((dirty & kLoad) != 0) {
            const int64_t window = ld_k_;
            if (load_unit(limit) && ld_k_ != window) next |= kCompute;
        }
        if ((dirty & kAdd) != 0 && add_unit(limit)) next |= kAcc;
        if ((dirty & kAcc) != 0 && acc_unit(limit)) next |= kAdd | (cp_started_ ? kCompute : 0u);
        any = any || next != 0;
        dirty = next;
    }
    return any ? PeActivity::kBusy : (running_ ? PeActivity::kStall : PeActivity::kIdle);
}

// Cycle mode: each unit takes the action due in cycle t, if any (an action enables others
// only from the next cycle, but a column's phase A and B may follow each other at once).
// The last round, in which no unit acted, leaves in next_due_ the earliest cycle at which a
// unit waits for nothing but time (due() records it); otherwise the units wait only for each
// other, which needs an action, or for a FIFO another component fills or empties (see
// cycle_wake()).
void Pe::run_cycle(int64_t t) {
    constexpr int64_t kNever = std::numeric_limits<int64_t>::max();
    for (;;) {
        next_due_ = kNever;
        waiting_ = 0;
        bool progress = filter_unit(t);
        while (compute_unit(t)) progress = true;
        progress |= load_unit(t);
        progress |= add_unit(t);
        progress |= acc_unit(t);
        if (!progress || !running_) break;
    }
    // A finished PE does nothing until the next pass configures it (restart() resets this).
    if (!running_) next_due_ = control_.empty() ? kNever : kNone;
}

// Cycle mode: what the MAC did in cycle t (VCD), else whether any unit acted.
PeActivity Pe::cycle_activity(int64_t t) {
    while (!sched_.empty() && sched_.front().end < t) sched_.pop_front();
    PeActivity act = acted_now_ ? PeActivity::kBusy : PeActivity::kStall;
    if (!sched_.empty() && sched_.front().start <= t) {
        skipped_now_ = skipped_now_ || (sched_.front().skipped_before && sched_.front().start == t);
        if (act != PeActivity::kBusy)
            act = sched_.front().gated ? PeActivity::kGated : PeActivity::kBusy;
    }
    if (act == PeActivity::kStall && !running_) act = PeActivity::kIdle;
    return act;
}

}  // namespace actsparse::hw
