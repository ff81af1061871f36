#include "hw/noc.h"

#include <algorithm>

namespace actsparse::hw {

void TransferSchedule::reset(int64_t steps, int64_t groups, int64_t words_per_transfer, Words words,
                             Value value) {
    steps_ = groups > 0 ? steps : 0;
    groups_ = groups;
    wpt_ = std::max<int64_t>(1, words_per_transfer);
    words_fn_ = std::move(words);
    value_fn_ = std::move(value);
    step_ = 0;
    step_words_.assign(static_cast<size_t>(groups), 0);
    if (steps_ > 0) begin_step();
}

void TransferSchedule::begin_step() {
    step_max_words_ = 0;
    for (int64_t g = 0; g < groups_; ++g) {
        step_words_[static_cast<size_t>(g)] = words_fn_(step_, g);
        step_max_words_ = std::max(step_max_words_, step_words_[static_cast<size_t>(g)]);
    }
    round_ = 0;
    group_ = 0;
}

bool TransferSchedule::next(int64_t& group, std::vector<int64_t>& words) {
    while (step_ < steps_) {
        while (round_ * wpt_ < step_max_words_) {
            while (group_ < groups_) {
                const int64_t g = group_++;
                const int64_t total = step_words_[static_cast<size_t>(g)];
                const int64_t lo = round_ * wpt_;
                if (total <= lo) continue;
                const int64_t n = std::min(wpt_, total - lo);
                words.resize(static_cast<size_t>(n));
                for (int64_t i = 0; i < n; ++i)
                    words[static_cast<size_t>(i)] = value_fn_(step_, g, lo + i);
                group = g;
                return true;
            }
            group_ = 0;
            ++round_;
        }
        if (++step_ < steps_) begin_step();
    }
    return false;
}

void OutBus::configure(std::vector<OutSource> sources, int64_t words_per_transfer,
                       bool track_pushes) {
    sources_ = std::move(sources);
    track_ = track_pushes;
    held_.assign((sources_.size() + 63) / 64, track_ ? uint64_t{0} : ~uint64_t{0});
    wpt_ = std::max<int64_t>(1, words_per_transfer);
    next_ = 0;
    taken_ = 0;
}

bool OutBus::eligible(size_t i, int64_t t) const {
    const OutSource& src = sources_[i];
    // A full transfer, or the last psums of this PE in the pass.
    return !src.fifo->empty() &&
           src.fifo->visible_at_least(t, std::min(wpt_, src.total - src.taken));
}

bool OutBus::tick(int64_t t, int64_t& words, int64_t& transfers) {
    const size_t n = sources_.size();
    if (n == 0) return false;
    // Round robin from next_: the first eligible source among those that may hold psums.
    size_t chosen = n;
    for (size_t pass = 0; pass < 2 && chosen == n; ++pass) {
        const size_t lo = pass == 0 ? next_ : 0, hi = pass == 0 ? n : next_;
        for (size_t w = lo >> 6; w <= (hi - 1) >> 6 && lo < hi && chosen == n; ++w) {
            uint64_t bits = held_[w];
            if (w == lo >> 6) bits &= ~uint64_t{0} << (lo & 63);
            while (bits != 0) {
                const size_t i = (w << 6) + static_cast<size_t>(__builtin_ctzll(bits));
                bits &= bits - 1;
                if (i >= hi) break;
                if (eligible(i, t)) {
                    chosen = i;
                    break;
                }
            }
        }
    }
    if (chosen == n) return false;
    OutSource& src = sources_[chosen];
    const int64_t want = std::min(wpt_, src.total - src.taken);
    for (int64_t w = 0; w < want; ++w) src.sink(src.taken++, src.fifo->pop(t));
    if (track_ && src.fifo->empty()) held_[chosen >> 6] &= ~(uint64_t{1} << (chosen & 63));
    words += want;
    taken_ += want;
    ++transfers;
    next_ = chosen + 1 == n ? 0 : chosen + 1;
    return true;
}

bool OutBus::finished() const {
    return std::all_of(sources_.begin(), sources_.end(),
                       [](const OutSource& s) { return s.fifo->empty(); });
}

}  // namespace actsparse::hw
