#pragma once
/// @file The array's networks, as plain C++ classes:
///  - MulticastBus: a GLB -> array input network (ifmap, filter, psum-in). Every PE has a row
///    ID (shared by its physical row) and a column ID per network, written by the controller
///    each pass (Eyeriss-style ID-based multicast). A transfer carries up to
///    words_per_transfer words and a (row tag, column tag); it reaches exactly the PEs whose
///    IDs match, and leaves the bus only in a cycle in which every one of them has room for
///    all its words (so the slowest destination sets the pace). One transfer per cycle.
///  - OutBus: the array -> GLB psum network; each cycle it takes up to words_per_transfer
///    psums from one chain-top PE (round robin) once that PE holds a full transfer or the
///    rest of its psums of the pass.
#include <algorithm>
#include <cstdint>
#include <functional>
#include <limits>
#include <unordered_map>
#include <vector>

#include "hw/fifo.h"
#include "hw/stats.h"

namespace actsparse::hw {

/// Words per transfer of a bus: what its width carries (bus_bits / word_bits, at least one),
/// but never more than a PE FIFO holds, since a transfer lands whole in every destination.
inline int64_t transfer_words(int64_t bus_bits, int64_t word_bits, int64_t fifo_depth) {
    return std::max<int64_t>(1, std::min(bus_bits / word_bits, fifo_depth));
}

/// Ofmap columns per transfer step: the GLB sends a group's words for this many consecutive
/// columns in one transfer when they fit (at least one column). Deadlock-free because a
/// step's words fit an empty destination FIFO, which a PE empties without needing any word
/// of a later step.
inline int64_t columns_per_step(int64_t words_per_transfer, int64_t max_words_per_column) {
    return std::max<int64_t>(1, words_per_transfer / std::max<int64_t>(1, max_words_per_column));
}

/// The (row, column) tag that selects one multicast destination set of a pass.
struct MulticastGroup {
    int64_t row_tag = 0;
    int64_t col_tag = 0;
};

/// Produces the transfers of one pass in bus order. Steps are taken in order (a step is a
/// few consecutive ofmap columns of one image, see columns_per_step); within a step, groups
/// are served round robin one transfer at a time, so every group progresses at the same rate.
class TransferSchedule {
  public:
    /// words(step, group) -> words the group gets in that step; value(step, group, i) -> the
    /// i-th of them. Both must be pure functions.
    using Words = std::function<int64_t(int64_t step, int64_t group)>;
    using Value = std::function<int64_t(int64_t step, int64_t group, int64_t i)>;

    void reset(int64_t steps, int64_t groups, int64_t words_per_transfer, Words words, Value value);
    /// Next transfer: group index and words (empty when the schedule is exhausted).
    bool next(int64_t& group, std::vector<int64_t>& words);
    bool exhausted() const { return step_ >= steps_; }

  private:
    void begin_step();
    int64_t steps_ = 0, groups_ = 0, wpt_ = 1;
    Words words_fn_;
    Value value_fn_;
    int64_t step_ = 0, round_ = 0, group_ = 0;
    std::vector<int64_t> step_words_;
    int64_t step_max_words_ = 0;
};

template <typename T>
class MulticastBus {
  public:
    /// Per-pass setup: the IDs of every PE FIFO on this network (row ID, column ID, FIFO),
    /// the groups' tags, and the transfer schedule. Destinations are resolved by matching tags
    /// against IDs once per pass.
    void configure(const std::vector<MulticastGroup>& groups, const std::vector<int64_t>& pe_row_id,
                   const std::vector<int64_t>& pe_col_id, const std::vector<RegFifo<T>*>& pe_fifo,
                   TransferSchedule* schedule) {
        schedule_ = schedule;
        have_ = false;
        track_pops_ = false;
        retry_at_ = 0;
        words_.clear();
        std::unordered_map<int64_t, std::vector<RegFifo<T>*>> by_tag;
        auto key = [](int64_t row, int64_t col) { return row * (int64_t{1} << 32) + col; };
        for (size_t i = 0; i < pe_fifo.size(); ++i)
            if (pe_fifo[i] != nullptr)
                by_tag[key(pe_row_id[i], pe_col_id[i])].push_back(pe_fifo[i]);
        dests_.assign(groups.size(), {});
        for (size_t g = 0; g < groups.size(); ++g) {
            auto it = by_tag.find(key(groups[g].row_tag, groups[g].col_tag));
            if (it != by_tag.end()) dests_[g] = it->second;
        }
    }

    /// One cycle: sends the head transfer if every destination has room. Returns true if it
    /// sent. Counts words sent (once) and delivered (per destination).
    bool tick(int64_t t, int64_t& words_sent, int64_t& words_delivered, int64_t& transfers) {
        if (t < retry_at_) return false;
        if (!have_) {
            if (schedule_ == nullptr || !schedule_->next(group_, words_)) return false;
            have_ = true;
        }
        const auto& dests = dests_[static_cast<size_t>(group_)];
        const int64_t n = static_cast<int64_t>(words_.size());
        for (RegFifo<T>* f : dests) {
            if (f->room(t) >= n) continue;
            if (track_pops_) {
                // Sleep until the recorded pops make room everywhere, or until a new pop.
                retry_at_ = t + 1;
                for (RegFifo<T>* g : dests) {
                    const int64_t at = g->earliest_room(t, n);
                    retry_at_ = at < 0 ? kNoRetry : std::max(retry_at_, at);
                    if (at < 0) break;
                }
            }
            return false;
        }
        for (RegFifo<T>* f : dests)
            for (int64_t w : words_) f->push(t, static_cast<T>(w));
        words_sent += n;
        words_delivered += n * static_cast<int64_t>(dests.size());
        ++transfers;
        have_ = false;
        return true;
    }
    bool finished() const { return !have_ && (schedule_ == nullptr || schedule_->exhausted()); }
    /// Fast fidelity: the caller reports every pop from a destination FIFO (note_pop), so a
    /// blocked bus need not re-check its destinations before they can have room.
    void track_pops(bool on) {
        track_pops_ = on;
        retry_at_ = 0;
    }
    void note_pop() { retry_at_ = 0; }
    /// Earliest cycle at which a blocked bus may move (0: any cycle).
    int64_t retry_at() const { return retry_at_; }
    /// Destinations of group g (tests check the multicast reaches exactly these).
    const std::vector<RegFifo<T>*>& destinations(size_t g) const { return dests_[g]; }

  private:
    static constexpr int64_t kNoRetry = std::numeric_limits<int64_t>::max();
    TransferSchedule* schedule_ = nullptr;
    bool track_pops_ = false;
    int64_t retry_at_ = 0;
    std::vector<std::vector<RegFifo<T>*>> dests_;
    bool have_ = false;
    int64_t group_ = 0;
    std::vector<int64_t> words_;
};

/// A chain-top PE feeding the output bus: its FIFO and how to place its psums.
struct OutSource {
    RegFifo<int64_t>* fifo = nullptr;
    int64_t total = 0;  ///< psums this PE sends in the pass
    /// Called with the sequence number of each psum the bus takes (0, 1, ...).
    std::function<void(int64_t seq, int64_t value)> sink;
    int64_t taken = 0;
};

class OutBus {
  public:
    /// `track_pushes`: the caller reports every push with note_push(), so a cycle scans only
    /// sources holding psums (fast fidelity); otherwise every source is scanned each cycle.
    /// Either way the source served is the first eligible one in round-robin order.
    void configure(std::vector<OutSource> sources, int64_t words_per_transfer,
                   bool track_pushes = false);
    /// A psum was pushed into source i's FIFO.
    void note_push(size_t i) { held_[i >> 6] |= uint64_t{1} << (i & 63); }
    /// One cycle; returns true if a transfer happened.
    bool tick(int64_t t, int64_t& words, int64_t& transfers);
    bool finished() const;
    /// Psums taken so far in this pass.
    int64_t taken() const { return taken_; }

  private:
    bool eligible(size_t i, int64_t t) const;
    std::vector<OutSource> sources_;
    std::vector<uint64_t> held_;  ///< bit per source that may hold psums
    bool track_ = false;
    int64_t taken_ = 0;
    int64_t wpt_ = 1;
    size_t next_ = 0;
};

}  // namespace actsparse::hw
