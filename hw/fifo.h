#pragma once
/// @file A registered FIFO whose behaviour in a cycle does not depend on the order in which
/// the producer and the consumer are evaluated in that cycle (so SystemC methods may run in
/// any order and the fast model may tick components in any order):
///  - a word pushed in cycle t becomes visible to the consumer in cycle t + 1;
///  - a slot freed by a pop in cycle t becomes visible to the producer in cycle t + 1.
/// Pushes and pops carry their cycle, and each side's cycles never decrease, so in the fast
/// fidelity a producer or consumer may record actions of future cycles ahead of the other
/// side (temporal decoupling); the other side then sees them exactly when due.
#include <cstdint>
#include <vector>

#include "core/error.h"

namespace actsparse::hw {

/// Called after a push or a pop with its cycle (fast fidelity: wakes the other side for the
/// cycle in which the change becomes visible).
struct FifoHook {
    void (*fn)(void* ctx, int64_t id, int64_t cycle) = nullptr;
    void* ctx = nullptr;
    int64_t id = 0;
    void operator()(int64_t cycle) const {
        if (fn != nullptr) fn(ctx, id, cycle);
    }
};

template <typename T>
class RegFifo {
  public:
    explicit RegFifo(int64_t depth_words = 1) { reset(depth_words); }

    /// Empties the FIFO, sets its depth (>= 1) and removes the hooks.
    void reset(int64_t depth_words) {
        on_push_ = FifoHook{};
        on_pop_ = FifoHook{};
        const int64_t depth = depth_words < 1 ? 1 : depth_words;
        // A slot's entry is written before it is read, so a FIFO of the same depth keeps its
        // storage as it is (restarting every PE's FIFOs each pass is then cheap).
        if (depth != depth_ || buf_.empty()) buf_.assign(static_cast<size_t>(depth), Entry{});
        depth_ = depth;
        head_ = 0;
        size_ = 0;
        pops_.assign(static_cast<size_t>(depth_), -1);
        pop_next_ = 0;
        last_push_ = -1;
    }
    void set_hooks(FifoHook on_push, FifoHook on_pop) {
        on_push_ = on_push;
        on_pop_ = on_pop;
    }
    int64_t depth() const { return depth_; }
    int64_t size() const { return size_; }
    bool empty() const { return size_ == 0; }

    /// Free slots the producer sees in cycle t (a slot popped in cycle c is free from c + 1).
    int64_t room(int64_t t) const {
        int64_t pending = 0;
        for (int64_t k = 0; k < depth_; ++k) {
            const int64_t i = pop_next_ - 1 - k;
            if (pops_[static_cast<size_t>(i < 0 ? i + depth_ : i)] < t) break;
            ++pending;
        }
        return depth_ - size_ - pending;
    }
    /// Whether the consumer sees at least n words in cycle t (words are in cycle order).
    bool visible_at_least(int64_t t, int64_t n) const {
        return n <= 0 || (size_ >= n && buf_[index(n - 1)].cycle < t);
    }
    /// Whether the consumer sees a word in cycle t.
    bool can_pop(int64_t t) const { return size_ > 0 && buf_[head_].cycle < t; }
    /// Words the consumer sees in cycle t.
    int64_t visible(int64_t t) const {
        int64_t n = 0;
        while (n < size_ && buf_[index(n)].cycle < t) ++n;
        return n;
    }
    void push(int64_t t, T value) {
        push_quiet(t, value);
        on_push_(t);
    }
    /// push() without calling the push hook (see notify_push).
    void push_quiet(int64_t t, T value) {
        if (room(t) < 1) core::model_bug("RegFifo", "push into a full FIFO");
        push_into_room(t, value);
    }
    /// push_quiet() for a producer that has just found room(t) >= 1 itself (room() is a scan
    /// of the pending pops; this does not repeat it).
    void push_into_room(int64_t t, T value) {
        if (t < last_push_ || size_ == depth_) core::model_bug("RegFifo", "push into a full FIFO");
        buf_[index(size_)] = Entry{value, t};
        ++size_;
        last_push_ = t;
    }
    /// n words, all pushed in cycle t, for a producer that has just found room(t) >= n.
    template <typename U>
    void push_run_into_room(int64_t t, const U* values, int64_t n) {
        if (t < last_push_ || size_ + n > depth_)
            core::model_bug("RegFifo", "push into a full FIFO");
        int64_t k = index(size_);
        for (int64_t i = 0; i < n; ++i) {
            buf_[static_cast<size_t>(k)] = Entry{static_cast<T>(values[i]), t};
            k = k + 1 == depth_ ? 0 : k + 1;
        }
        size_ += n;
        if (n > 0) last_push_ = t;
    }
    /// Fast fidelity: pops up to max_n words into out, word i in cycle
    /// w_i = max(next, its push cycle + 1), then next = w_i + 1 (a consumer taking one word a
    /// cycle). Returns the number popped; `first` gets w_0. No hook (see notify_pop).
    int64_t pop_paced(int64_t& next, int64_t max_n, T* out, int64_t& first) {
        const int64_t n = size_ < max_n ? size_ : max_n;
        if (n <= 0) return 0;
        const int64_t last_pop =
            pops_[static_cast<size_t>(pop_next_ == 0 ? depth_ - 1 : pop_next_ - 1)];
        int64_t h = head_, pn = pop_next_, nx = next;
        for (int64_t i = 0; i < n; ++i) {
            const Entry& e = buf_[static_cast<size_t>(h)];
            const int64_t w = nx > e.cycle + 1 ? nx : e.cycle + 1;
            out[i] = e.value;
            pops_[static_cast<size_t>(pn)] = w;
            if (i == 0) first = w;
            nx = w + 1;
            h = h + 1 == depth_ ? 0 : h + 1;
            pn = pn + 1 == depth_ ? 0 : pn + 1;
        }
        if (first < last_pop) core::model_bug("RegFifo", "pop from an empty FIFO");
        head_ = h;
        pop_next_ = pn;
        size_ -= n;
        next = nx;
        return n;
    }
    /// Calls the push hook once for words pushed with push_quiet (when the hook only needs
    /// the earliest change, not one call per word).
    void notify_push(int64_t t) const { on_push_(t); }
    T pop(int64_t t) {
        const T v = pop_quiet(t);
        on_pop_(t);
        return v;
    }
    /// pop() without calling the pop hook: a consumer taking several words in one go calls
    /// notify_pop() once, with the cycle of the first (the hooks only need the earliest).
    T pop_quiet(int64_t t) {
        const int64_t last_pop =
            pops_[static_cast<size_t>(pop_next_ == 0 ? depth_ - 1 : pop_next_ - 1)];
        if (!can_pop(t) || t < last_pop) core::model_bug("RegFifo", "pop from an empty FIFO");
        const T v = buf_[head_].value;
        head_ = head_ + 1 == depth_ ? 0 : head_ + 1;
        --size_;
        pops_[static_cast<size_t>(pop_next_)] = t;
        pop_next_ = pop_next_ + 1 == depth_ ? 0 : pop_next_ + 1;
        return v;
    }
    void notify_pop(int64_t t) const { on_pop_(t); }
    /// Earliest cycle >= t in which the producer sees `n` free slots, from the pops recorded
    /// so far; -1 if that needs a pop not recorded yet.
    int64_t earliest_room(int64_t t, int64_t n = 1) const {
        if (room(t) >= n) return t;
        const int64_t allowed = depth_ - size_ - n;  // pending pops that may remain
        if (allowed < 0) return -1;
        // Pending pops free their slots in order: once only `allowed` newer ones remain.
        const int64_t i = pop_next_ - 1 - allowed;
        return pops_[static_cast<size_t>(i < 0 ? i + depth_ : i)] + 1;
    }
    /// Cycle of the word at the head (the consumer sees it from this cycle + 1).
    int64_t head_cycle() const { return size_ > 0 ? buf_[head_].cycle : -1; }
    /// Cycle of the i-th word from the head.
    int64_t cycle_at(int64_t i) const { return buf_[index(i)].cycle; }

  private:
    struct Entry {
        T value{};
        int64_t cycle = 0;  ///< cycle of the push
    };
    int64_t index(int64_t i) const {
        const int64_t k = head_ + i;
        return k >= depth_ ? k - depth_ : k;
    }
    std::vector<Entry> buf_;
    int64_t depth_ = 1;
    int64_t head_ = 0;
    int64_t size_ = 0;
    std::vector<int64_t>
        pops_;  ///< cycles of the last depth pops, a ring (newest before pop_next_)
    int64_t pop_next_ = 0;
    int64_t last_push_ = -1;
    FifoHook on_push_, on_pop_;
};

}  // namespace actsparse::hw
