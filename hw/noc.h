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
#include <limits>
#include <utility>
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

/// Where a schedule's words come from: the number of words group g gets in step `step`, and
/// the words [first, first + n) of them (pure functions of their arguments). Plain function
/// pointers with a context, called once per step and group and once per transfer.
struct TransferSource {
    const void* ctx = nullptr;
    int64_t (*words)(const void* ctx, int64_t step, int64_t group) = nullptr;
    void (*fill)(const void* ctx, int64_t step, int64_t group, int64_t first, int64_t n,
                 int64_t* out) = nullptr;
};

/// Produces the transfers of one pass in bus order. Steps are taken in order (a step is a
/// few consecutive ofmap columns of one image, see columns_per_step); within a step, groups
/// are served round robin one transfer at a time, so every group progresses at the same rate.
class TransferSchedule {
  public:
    void reset(int64_t steps, int64_t groups, int64_t words_per_transfer,
               const TransferSource& source);
    /// Next transfer: group index and words (empty when the schedule is exhausted).
    bool next(int64_t& group, std::vector<int64_t>& words);
    bool exhausted() const { return step_ >= steps_; }

  private:
    void begin_step();
    int64_t steps_ = 0, groups_ = 0, wpt_ = 1;
    TransferSource src_;
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
        // Groups by tag (sorted), then every PE FIFO, in PE order, joins the groups whose
        // tags equal its IDs. The destination vectors keep their storage across passes.
        auto key = [](int64_t row, int64_t col) { return row * (int64_t{1} << 32) + col; };
        by_tag_.clear();
        for (size_t g = 0; g < groups.size(); ++g)
            by_tag_.emplace_back(key(groups[g].row_tag, groups[g].col_tag), g);
        std::sort(by_tag_.begin(), by_tag_.end());
        dests_.resize(groups.size());
        for (auto& d : dests_) d.clear();
        for (size_t i = 0; i < pe_fifo.size(); ++i) {
            if (pe_fifo[i] == nullptr) continue;
            const int64_t k = key(pe_row_id[i], pe_col_id[i]);
            auto it =
                std::lower_bound(by_tag_.begin(), by_tag_.end(), std::make_pair(k, size_t{0}));
            for (; it != by_tag_.end() && it->first == k; ++it)
                dests_[it->second].push_back(pe_fifo[i]);
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
        // One hook call per destination: the words all arrive in cycle t.
        for (RegFifo<T>* f : dests) {
            f->push_run_into_room(t, words_.data(), n);
            f->notify_push(t);
        }
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
    /// A finite retry time was computed from recorded pops alone, and pops are recorded in
    /// cycle order, so a new pop cannot bring it forward: only a bus waiting for a pop not yet
    /// recorded needs to look again.
    void note_pop() {
        if (retry_at_ == kNoRetry) retry_at_ = 0;
    }
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
    std::vector<std::pair<int64_t, size_t>> by_tag_;  ///< (tag key, group), sorted
    bool have_ = false;
    int64_t group_ = 0;
    std::vector<int64_t> words_;
};

/// A chain-top PE feeding the output bus: its FIFO and where its psums go. The psums of a
/// pass arrive image by image, column by column, filter by filter (filter fastest); psum
/// (image i, column x, filter f) is stored at out[i * image_stride + f * filter_stride + x].
struct OutSource {
    RegFifo<int64_t>* fifo = nullptr;
    int64_t total = 0;  ///< psums this PE sends in the pass
    int64_t* out = nullptr;
    int64_t filters = 1, cols = 1;
    int64_t filter_stride = 0, image_stride = 0;
    int64_t taken = 0;
    int64_t next_f = 0, next_x = 0, next_image = 0;  ///< position of psum `taken`
    /// Stores the next psum and moves to the following position.
    void store(int64_t value) {
        out[next_image * image_stride + next_f * filter_stride + next_x] = value;
        ++taken;
        if (++next_f < filters) return;
        next_f = 0;
        if (++next_x < cols) return;
        next_x = 0;
        ++next_image;
    }
};

class OutBus {
  public:
    /// `track_pushes`: the caller reports every push with note_push(), so the bus knows when
    /// each source becomes eligible and a cycle without an eligible source costs nothing
    /// (fast fidelity); otherwise every source is scanned each cycle. Either way the source
    /// served is the first eligible one in round-robin order.
    void configure(std::vector<OutSource> sources, int64_t words_per_transfer,
                   bool track_pushes = false);
    /// A psum was pushed into source i's FIFO.
    void note_push(size_t i) {
        const int64_t at = eligible_from(i);
        ready_at_[i] = at;
        min_ready_ = std::min(min_ready_, at);
    }
    /// One cycle; returns true if a transfer happened.
    bool tick(int64_t t, int64_t& words, int64_t& transfers);
    bool finished() const;
    /// Psums taken so far in this pass.
    int64_t taken() const { return taken_; }

  private:
    static constexpr int64_t kNever = std::numeric_limits<int64_t>::max();
    bool eligible(size_t i, int64_t t) const;
    /// Tracking: first cycle in which source i is eligible with the psums pushed so far.
    int64_t eligible_from(size_t i) const;
    /// The first eligible source in round-robin order from next_ (size(): none).
    size_t choose_scanning(int64_t t) const;
    size_t choose_tracked(int64_t t) const;
    std::vector<OutSource> sources_;
    std::vector<int64_t> ready_at_;  ///< tracking: eligible_from per source
    int64_t min_ready_ = kNever;     ///< tracking: the earliest of ready_at_
    bool track_ = false;
    int64_t taken_ = 0;
    int64_t wpt_ = 1;
    size_t next_ = 0;
};

}  // namespace actsparse::hw
