// Unit tests of the plain C++ building blocks, without the kernel or the array: the
// registered FIFO's order-independent visibility, and one PE's datapath, zero handling and
// exact cycle count against the documented timing model.
#include <gtest/gtest.h>

#include <vector>

#include "hw/fifo.h"
#include "hw/pe.h"
#include "test_util.h"

namespace actsparse::hw {
namespace {

TEST(RegFifo, WordsAndSlotsBecomeVisibleNextCycle) {
    RegFifo<int> f(2);
    EXPECT_EQ(f.room(0), 2);
    f.push(0, 7);
    EXPECT_FALSE(f.can_pop(0));  // pushed this cycle
    EXPECT_TRUE(f.can_pop(1));
    f.push(1, 8);
    EXPECT_EQ(f.room(1), 0);
    EXPECT_EQ(f.visible(1), 1);
    EXPECT_EQ(f.pop(2), 7);
    EXPECT_EQ(f.room(2), 0);  // the freed slot shows up next cycle
    EXPECT_EQ(f.room(3), 1);
    EXPECT_EQ(f.pop(3), 8);
    EXPECT_TRUE(f.empty());
}

// A consumer that pops in cycle t and a producer that pushes in cycle t see the same state
// whichever runs first.
TEST(RegFifo, OrderOfProducerAndConsumerWithinACycleDoesNotMatter) {
    for (int consumer_first = 0; consumer_first < 2; ++consumer_first) {
        RegFifo<int> f(1);
        f.push(0, 1);
        int room_seen = -1;
        bool pop_seen = false;
        auto consume = [&] {
            pop_seen = f.can_pop(1);
            if (pop_seen) f.pop(1);
        };
        auto produce = [&] { room_seen = static_cast<int>(f.room(1)); };
        if (consumer_first) {
            consume();
            produce();
        } else {
            produce();
            consume();
        }
        EXPECT_TRUE(pop_seen);
        EXPECT_EQ(room_seen, 0);
    }
}

struct PeRun {
    std::vector<int64_t> psums;
    int64_t last_active = -1;
    ArrayStats stats;
};

// Drives one PE (filter row x ifmap row, no psum input): the test bench keeps the input
// FIFOs full, like a bus that is never the bottleneck, and drains the psum output.
PeRun drive(const core::PeParams& params, core::ZeroMode mode, bool fast, const PeConfig& cfg,
            const std::vector<int16_t>& filter, const std::vector<int16_t>& row) {
    Pe pe(params, mode, fast);
    pe.restart();
    pe.configure(cfg, &pe.psum_out());
    // The ifmap words the PE will ask for, in order (window steps, real columns, channels).
    std::vector<int16_t> ifmap_words;
    for (int64_t x = 0; x < cfg.out_cols; ++x) {
        const WindowStep w = window_step(x, cfg.window_first, cfg.stride, cfg.s);
        for (int64_t col = w.first; col < w.first + w.count; ++col)
            if (col >= 0 && col < cfg.in_width)
                for (int64_t c = 0; c < cfg.q; ++c)
                    ifmap_words.push_back(row[static_cast<size_t>(c * cfg.in_width + col)]);
    }
    size_t fi = 0, ii = 0;
    PeRun run;
    for (int64_t t = 0; t < 100000 && !(pe.done() && pe.psum_out().empty()); ++t) {
        while (fi < filter.size() && pe.filter_in().room(t) > 0)
            pe.filter_in().push(t, filter[fi++]);
        while (ii < ifmap_words.size() && pe.ifmap_in().room(t) > 0)
            pe.ifmap_in().push(t, ifmap_words[ii++]);
        if (pe.psum_out().can_pop(t)) run.psums.push_back(pe.psum_out().pop(t));
        pe.tick(t);
    }
    run.last_active = pe.last_active();
    run.stats = pe.stats();
    return run;
}

// One PE: p = 2 filters, q = 2 channels, S = 3 columns, stride 1, one padding column on
// each side of a W = 5 row: exact psums, the same behaviour in both modes, and (none and gate
// modes) the cycle count of the timing model worked out by hand (docs/simulator.md, "PE
// timing"; MAC pipeline of 2 stages, FIFOs of 4):
//  - the bench pushes in cycle t, so words are visible from t + 1: the filter unit writes
//    the 12 filter words in cycles 1..12; the load unit writes window 0's 4 words (columns 0
//    and 1; column -1 is padding) in cycles 1..4, under the filter load;
//  - column 0 starts in cycle 13 (after the last filter word): 12 slots, cycles 13..24;
//  - psum f leaves 2 cycles after its last slot: f = 0 in 25 (slot 23), f = 1 in 26;
//  - column 1's window (one new column per channel) loads into the entries column 0 has
//    finished reading, long before column 0 ends; its first slot (psum 0) waits until psum 0
//    of column 0 has left (cycle 25), so it issues in 26: one bubble per column;
//  - columns 1..4: 13 cycles each (12 slots + 1 bubble): the last slot is in
//    24 + 4 * 13 = 76, and the last psum (f = 1) leaves in 76 + 2 = 78;
//  - the MAC is idle in cycles 0..12 and in the 4 bubbles: 17 stall cycles.
TEST(Pe, PrimitiveIsExactAndTimedAsDocumented) {
    auto g = test::rng_for(201);
    const core::PeParams params;  // Eyeriss: 2-stage MAC, FIFOs of 4
    PeConfig cfg;
    cfg.p = 2;
    cfg.q = 2;
    cfg.s = 3;
    cfg.out_cols = 5;
    cfg.in_width = 5;
    cfg.window_first = -1;
    cfg.psum_to_link = false;
    const auto filter = test::random_tensor(g, cfg.p * cfg.q * cfg.s, 1.0);  // [c][s][f]
    const auto row = test::random_tensor(g, cfg.q * cfg.in_width, 0.6);      // [c][w]
    std::vector<int64_t> want;
    for (int64_t x = 0; x < cfg.out_cols; ++x)
        for (int64_t f = 0; f < cfg.p; ++f) {
            int64_t acc = 0;
            for (int64_t c = 0; c < cfg.q; ++c)
                for (int64_t s = 0; s < cfg.s; ++s) {
                    const int64_t col = x - 1 + s;
                    if (col < 0 || col >= cfg.in_width) continue;
                    acc += Pe::product(row[static_cast<size_t>(c * cfg.in_width + col)],
                                       filter[static_cast<size_t>((c * cfg.s + s) * cfg.p + f)]);
                }
            want.push_back(acc);
        }
    int64_t zeros_in_windows = 0;  // zero or padding window entries over all columns
    for (int64_t x = 0; x < cfg.out_cols; ++x)
        for (int64_t c = 0; c < cfg.q; ++c)
            for (int64_t s = 0; s < cfg.s; ++s) {
                const int64_t col = x - 1 + s;
                zeros_in_windows += col < 0 || col >= cfg.in_width ||
                                    row[static_cast<size_t>(c * cfg.in_width + col)] == 0;
            }
    const int64_t slots = cfg.p * cfg.q * cfg.s;  // per column
    for (core::ZeroMode mode :
         {core::ZeroMode::kNone, core::ZeroMode::kGate, core::ZeroMode::kSkip}) {
        const PeRun per_cycle = drive(params, mode, false, cfg, filter, row);
        const PeRun fast = drive(params, mode, true, cfg, filter, row);
        EXPECT_EQ(per_cycle.psums, want);
        EXPECT_EQ(fast.psums, want);
        EXPECT_EQ(per_cycle.stats, fast.stats) << per_cycle.stats.diff(fast.stats);
        EXPECT_EQ(per_cycle.last_active, fast.last_active);
        const ArrayStats& s = per_cycle.stats;
        if (mode != core::ZeroMode::kSkip) {
            EXPECT_EQ(per_cycle.last_active, 78) << core::to_string(mode);
            EXPECT_EQ(s.pe_stall_cycles, 17) << core::to_string(mode);
            EXPECT_EQ(s.pe_busy_cycles, slots * cfg.out_cols);
        }
        EXPECT_EQ(s.mac_slots(), slots * cfg.out_cols);
        if (mode == core::ZeroMode::kGate) {
            EXPECT_EQ(s.macs_gated, zeros_in_windows * cfg.p);
        }
        if (mode == core::ZeroMode::kSkip) {
            EXPECT_EQ(s.macs_skipped, zeros_in_windows * cfg.p);
            EXPECT_EQ(s.ifmap_spad_reads_skipped, zeros_in_windows);
        }
        if (mode == core::ZeroMode::kNone) {
            EXPECT_EQ(s.macs_performed, slots * cfg.out_cols);
        }
    }
}

}  // namespace
}  // namespace actsparse::hw
