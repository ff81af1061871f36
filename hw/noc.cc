#include "hw/noc.h"

#include <algorithm>

namespace actsparse::hw {

void TransferSchedule::reset(int64_t steps, int64_t groups, int64_t words_per_transfer,
                             const TransferSource& source) {
    steps_ = groups > 0 ? steps : 0;
    groups_ = groups;
    wpt_ = std::max<int64_t>(1, words_per_transfer);
    src_ = source;
    step_ = 0;
    step_words_.assign(static_cast<size_t>(groups), 0);
    if (steps_ > 0) begin_step();
}

void TransferSchedule::begin_step() {
    step_max_words_ = 0;
    for (int64_t g = 0; g < groups_; ++g) {
        step_words_[static_cast<size_t>(g)] = src_.words(src_.ctx, step_, g);
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
                src_.fill(src_.ctx, step_, g, lo, n, words.data());
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
    ready_at_.assign(sources_.size(), kNever);
    min_ready_ = kNever;
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

int64_t OutBus::eligible_from(size_t i) const {
    const OutSource& src = sources_[i];
    const int64_t want = std::min(wpt_, src.total - src.taken);
    if (want < 1 || src.fifo->size() < want) return kNever;
    return src.fifo->cycle_at(want - 1) + 1;  // the want-th word is visible from here
}

size_t OutBus::choose_scanning(int64_t t) const {
    const size_t n = sources_.size();
    for (size_t k = 0, i = next_; k < n; ++k, i = i + 1 == n ? 0 : i + 1)
        if (eligible(i, t)) return i;
    return n;
}

size_t OutBus::choose_tracked(int64_t t) const {
    const size_t n = sources_.size();
    if (min_ready_ > t) return n;
    for (size_t k = 0, i = next_; k < n; ++k, i = i + 1 == n ? 0 : i + 1)
        if (ready_at_[i] <= t) return i;
    return n;
}

bool OutBus::tick(int64_t t, int64_t& words, int64_t& transfers) {
    const size_t n = sources_.size();
    if (n == 0) return false;
    const size_t chosen = track_ ? choose_tracked(t) : choose_scanning(t);
    if (chosen == n) return false;
    OutSource& src = sources_[chosen];
    const int64_t want = std::min(wpt_, src.total - src.taken);
    for (int64_t w = 0; w < want; ++w) src.store(src.fifo->pop(t));
    if (track_) {
        ready_at_[chosen] = eligible_from(chosen);
        min_ready_ = *std::min_element(ready_at_.begin(), ready_at_.end());
    }
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
