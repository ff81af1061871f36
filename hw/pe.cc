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
      psum_in_(params.fifo_depth_words),
      psum_out_(params.fifo_depth_words),
      ifmap_spad_(static_cast<size_t>(params.ifmap_spad_words), 0),
      ifmap_zero_(static_cast<size_t>(params.ifmap_spad_words), 1),
      filter_spad_(static_cast<size_t>(params.filter_spad_words), 0),
      psum_spad_(static_cast<size_t>(params.psum_spad_words), 0),
      pipe_(static_cast<size_t>(params.mac_pipeline_stages)) {}

void Pe::configure(const PeConfig& cfg, RegFifo<int64_t>* psum_dest) {
    if (cfg.p < 1 || cfg.q < 1 || cfg.s < 1 || cfg.p > params_.psum_spad_words ||
        cfg.q * cfg.s > params_.ifmap_spad_words ||
        cfg.p * cfg.q * cfg.s > params_.filter_spad_words || psum_dest == nullptr)
        core::model_bug("hw::Pe", "configuration does not fit the spads");
    control_.push_back(cfg);
    control_dest_.push_back(psum_dest);
}

const char* Pe::state_name() const {
    switch (state_) {
        case State::kIdle:
            return "idle";
        case State::kFilterLoad:
            return "filter-load";
        case State::kColumnStart:
            return "column-start";
        case State::kIfmapLoad:
            return "ifmap-load";
        case State::kCompute:
            return "compute";
        case State::kDrain:
            return "drain";
        case State::kAccumulate:
            return "accumulate";
        case State::kDone:
            return "done";
    }
    return "?";
}

std::string Pe::fifo_summary(int64_t t) const {
    auto fifo = [t](const auto& f) {
        return std::to_string(f.visible(t)) + "/" + std::to_string(f.size());
    };
    return "ifmap " + fifo(ifmap_in_) + ", filter " + fifo(filter_in_) + ", psum-in " +
           fifo(psum_in_) + (cfg_.psum_in ? " (used)" : " (unused)") + ", psum-out " +
           fifo(psum_out_) + ", dest room " +
           (psum_dest_ != nullptr ? std::to_string(psum_dest_->room(t)) : "-") + ", image " +
           std::to_string(img_) + ", column " + std::to_string(col_) + ", psum " +
           std::to_string(acc_f_) + "/" + std::to_string(cfg_.p);
}

int64_t Pe::next_chance(int64_t t) const {
    auto word_due = [t](const auto& f) -> int64_t {
        return f.empty() ? -1 : std::max(t + 1, f.head_cycle() + 1);
    };
    switch (state_) {
        case State::kFilterLoad:
            return word_due(filter_in_);
        case State::kIfmapLoad:
            return word_due(ifmap_in_);
        case State::kAccumulate: {
            const int64_t in = cfg_.psum_in ? word_due(psum_in_) : t + 1;
            const int64_t room = psum_dest_->earliest_room(t + 1);
            if (in < 0 || room < 0) return -1;
            return std::max(in, room);
        }
        default:
            return -1;
    }
}

void Pe::restart() {
    if (!ifmap_in_.empty() || !filter_in_.empty() || !psum_in_.empty() || !psum_out_.empty())
        core::model_bug("hw::Pe", "FIFO not empty at the start of a pass");
    ifmap_in_.reset(params_.fifo_depth_words);
    filter_in_.reset(params_.fifo_depth_words);
    psum_in_.reset(params_.fifo_depth_words);
    psum_out_.reset(params_.fifo_depth_words);
    stats_ = ArrayStats{};
    last_active_ = -1;
    busy_until_ = 0;
}

void Pe::start_pass() {
    cfg_ = control_.front();
    psum_dest_ = control_dest_.front();
    control_.pop_front();
    control_dest_.pop_front();
    filter_words_ = cfg_.p * cfg_.q * cfg_.s;
    loaded_ = 0;
    img_ = 0;
    col_ = 0;
    state_ = State::kFilterLoad;
}

int64_t Pe::slot(int64_t column) const {
    const int64_t m = column % cfg_.s;
    return m < 0 ? m + cfg_.s : m;
}

void Pe::begin_column() {
    std::fill(psum_spad_.begin(), psum_spad_.begin() + cfg_.p, 0);
    const WindowStep w = window_step(col_, cfg_.window_first, cfg_.stride, cfg_.s);
    window_start_ = cfg_.window_first + col_ * cfg_.stride;
    load_col_ = w.first;
    load_end_ = w.first + w.count;
    load_c_ = 0;
}

void Pe::pad_column() {
    const int64_t sl = slot(load_col_);
    for (int64_t c = 0; c < cfg_.q; ++c) {
        ifmap_spad_[c * cfg_.s + sl] = 0;
        ifmap_zero_[c * cfg_.s + sl] = 1;
    }
    ++load_col_;
}

void Pe::start_compute() {
    cc_ = 0;
    cs_ = 0;
    cf_ = 0;
    first_slot_ = slot(window_start_);
    cur_slot_ = first_slot_;
    state_ = State::kCompute;
}

void Pe::next_entry() {
    if (++cs_ == cfg_.s) {
        cs_ = 0;
        ++cc_;
        cur_slot_ = first_slot_;
    } else {
        cur_slot_ = cur_slot_ + 1 == cfg_.s ? 0 : cur_slot_ + 1;
    }
}

void Pe::next_column() {
    if (++col_ == cfg_.out_cols) {
        col_ = 0;
        ++img_;
    }
    state_ = img_ == cfg_.images ? State::kDone : State::kColumnStart;
}

void Pe::retire(int64_t t) {
    while (pipe_size_ > 0 && pipe_[pipe_head_].retire_cycle <= t) {
        const InFlight& f = pipe_[pipe_head_];
        if (!f.bubble) psum_spad_[f.psum_index] += f.product;
        pipe_head_ = pipe_head_ + 1 == static_cast<int64_t>(pipe_.size()) ? 0 : pipe_head_ + 1;
        --pipe_size_;
    }
}

bool Pe::issue_one(int64_t t, PeActivity& act) {
    for (;;) {
        if (cc_ == cfg_.q) return false;
        if (cf_ > 0) break;
        const int64_t entry = cc_ * cfg_.s + cur_slot_;
        const bool zero = ifmap_zero_[entry] != 0;
        if (mode_ == core::ZeroMode::kSkip && zero) {
            stats_.ifmap_spad_reads_skipped += 1;
            stats_.macs_skipped += cfg_.p;
            stats_.filter_spad_reads_skipped += cfg_.p;
            stats_.psum_spad_reads_skipped += cfg_.p;
            skipped_now_ = true;
            next_entry();
            continue;
        }
        ++stats_.ifmap_spad_reads;
        cur_value_ = ifmap_spad_[entry];
        cur_gated_ = mode_ == core::ZeroMode::kGate && zero;
        break;
    }
    if (pipe_size_ == static_cast<int64_t>(pipe_.size()))
        core::model_bug("hw::Pe", "MAC pipeline overflow");
    const int64_t cap = static_cast<int64_t>(pipe_.size());
    const int64_t tail = pipe_head_ + pipe_size_;
    InFlight& slot_in = pipe_[static_cast<size_t>(tail >= cap ? tail - cap : tail)];
    slot_in.retire_cycle = t + params_.mac_pipeline_stages - 1;
    slot_in.psum_index = cf_;
    ++pipe_size_;
    if (cur_gated_) {
        slot_in.bubble = true;
        ++stats_.macs_gated;
        ++stats_.filter_spad_reads_gated;
        ++stats_.psum_spad_reads_gated;
        act = PeActivity::kGated;
    } else {
        slot_in.bubble = false;
        slot_in.product = product(cur_value_, filter_spad_[(cc_ * cfg_.s + cs_) * cfg_.p + cf_]);
        ++stats_.macs_performed;
        ++stats_.filter_spad_reads;
        ++stats_.psum_spad_reads;
        ++stats_.psum_spad_writes;
        act = PeActivity::kBusy;
    }
    if (++cf_ == cfg_.p) {
        cf_ = 0;
        next_entry();
    }
    return true;
}

int64_t Pe::compute_all() {
    const int64_t p = cfg_.p, q = cfg_.q, s = cfg_.s;
    int64_t performed = 0, gated = 0, skipped = 0;
    int64_t* psum = psum_spad_.data();
    const int64_t first_slot = slot(window_start_);
    for (int64_t c = 0; c < q; ++c) {
        int64_t sl = first_slot;
        for (int64_t x = 0; x < s; ++x, sl = sl + 1 == s ? 0 : sl + 1) {
            const int64_t entry = c * s + sl;
            if (ifmap_zero_[entry] != 0 && mode_ != core::ZeroMode::kNone) {
                if (mode_ == core::ZeroMode::kSkip) {
                    ++skipped;
                } else {
                    ++gated;
                }
                continue;
            }
            ++performed;
            const int64_t v = ifmap_spad_[entry];
            const int16_t* w = filter_spad_.data() + (c * s + x) * p;
            for (int64_t f = 0; f < p; ++f) psum[f] += v * w[f];
        }
    }
    stats_.ifmap_spad_reads += performed + gated;
    stats_.ifmap_spad_reads_skipped += skipped;
    stats_.macs_performed += performed * p;
    stats_.filter_spad_reads += performed * p;
    stats_.psum_spad_reads += performed * p;
    stats_.psum_spad_writes += performed * p;
    stats_.macs_gated += gated * p;
    stats_.filter_spad_reads_gated += gated * p;
    stats_.psum_spad_reads_gated += gated * p;
    stats_.macs_skipped += skipped * p;
    stats_.filter_spad_reads_skipped += skipped * p;
    stats_.psum_spad_reads_skipped += skipped * p;
    skipped_now_ = skipped > 0;
    return (performed + gated) * p;
}

PeActivity Pe::tick(int64_t t) {
    skipped_now_ = false;
    PeActivity act = PeActivity::kIdle;
    const int64_t cycles = step(t, act);
    if (cycles == 0) {
        if (act == PeActivity::kStall) ++stats_.pe_stall_cycles;
        return act;
    }
    if (!fast_) return act;
    // Temporal decoupling: go on with the next cycles' actions as long as each is possible
    // with what the FIFOs already hold. A PE's input words only accumulate and its output
    // room only grows as the other side acts, so an action possible now stays possible and
    // happens in exactly the cycle the per-cycle model would do it.
    int64_t u = t + cycles;
    for (;;) {
        PeActivity next = PeActivity::kIdle;
        const int64_t c = step(u, next);
        if (c == 0) break;
        u += c;
    }
    busy_until_ = u;
    return PeActivity::kBusy;
}

int64_t Pe::step(int64_t t, PeActivity& act) {
    for (;;) {
        switch (state_) {
            case State::kIdle:
            case State::kDone:
                if (control_.empty()) {
                    act = PeActivity::kIdle;
                    return 0;
                }
                start_pass();
                continue;
            case State::kFilterLoad: {
                // One word per cycle; in fast mode every word already visible at its cycle.
                int64_t n = 0;
                while (loaded_ < filter_words_ && filter_in_.can_pop(t + n)) {
                    filter_spad_[loaded_++] = filter_in_.pop(t + n);
                    ++n;
                    if (!fast_) break;
                }
                if (n == 0) return blocked(act);
                stats_.filter_spad_writes += n;
                if (loaded_ == filter_words_) state_ = State::kColumnStart;
                return busy(t, n, act);
            }
            case State::kColumnStart:
                begin_column();
                state_ = State::kIfmapLoad;
                continue;
            case State::kIfmapLoad: {
                // Padding columns never cross the NoC: the PE flags them zero itself.
                while (load_col_ < load_end_ && !column_real(load_col_)) pad_column();
                if (load_col_ == load_end_) {
                    start_compute();
                    continue;
                }
                // One word per cycle; in fast mode every word already visible at its cycle.
                int64_t n = 0;
                while (load_col_ < load_end_ && ifmap_in_.can_pop(t + n)) {
                    const int16_t v = ifmap_in_.pop(t + n);
                    if (load_c_ == 0) load_slot_ = slot(load_col_);
                    const int64_t entry = load_c_ * cfg_.s + load_slot_;
                    ifmap_spad_[entry] = v;
                    ifmap_zero_[entry] = v == 0 ? 1 : 0;  // the zero detector
                    ++n;
                    if (++load_c_ == cfg_.q) {
                        load_c_ = 0;
                        ++load_col_;
                        if (!fast_) break;
                        // Padding columns between real ones cost no cycle.
                        while (load_col_ < load_end_ && !column_real(load_col_)) pad_column();
                    } else if (!fast_) {
                        break;
                    }
                }
                if (n == 0) return blocked(act);
                stats_.ifmap_spad_writes += n;
                return busy(t, n, act);
            }
            case State::kCompute: {
                if (fast_) {
                    const int64_t issued = compute_all();
                    state_ = State::kAccumulate;
                    acc_f_ = 0;
                    const int64_t cycles =
                        issued + (issued > 0 ? params_.mac_pipeline_stages - 1 : 0);
                    if (cycles == 0) continue;
                    stats_.pe_busy_cycles += cycles;
                    last_active_ = t + cycles - 1;
                    act = PeActivity::kBusy;
                    return cycles;
                }
                if (issue_one(t, act)) {
                    retire(t);
                    ++stats_.pe_busy_cycles;
                    last_active_ = t;
                    return 1;
                }
                state_ = State::kDrain;
                continue;
            }
            case State::kDrain:
                if (pipe_size_ == 0) {
                    state_ = State::kAccumulate;
                    acc_f_ = 0;
                    continue;
                }
                retire(t);
                return busy(t, act);
            case State::kAccumulate: {
                // One psum per cycle; in fast mode as long as each has its input and room.
                int64_t n = 0;
                while (acc_f_ < cfg_.p && (!cfg_.psum_in || psum_in_.can_pop(t + n)) &&
                       psum_dest_->room(t + n) >= 1) {
                    int64_t v = psum_spad_[acc_f_++];
                    if (cfg_.psum_in) v += psum_in_.pop(t + n);
                    psum_dest_->push(t + n, v);
                    ++n;
                    if (!fast_) break;
                }
                if (n == 0) return blocked(act);
                stats_.psum_spad_reads += n;
                if (cfg_.psum_to_link) stats_.psum_link_words += n;
                if (acc_f_ == cfg_.p) next_column();
                return busy(t, n, act);
            }
        }
    }
}

}  // namespace actsparse::hw
