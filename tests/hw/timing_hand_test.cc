// Hand-worked timing of small multi-PE passes (issue 12): one pass bound by the psum-out bus,
// one by the ifmap bus, one by filter loads, and for reference one bound by the MACs. Every
// event cycle is derived in the comments from the documented rules (hw/pe.h, hw/noc.h,
// hw/fifo.h, hw/engine.cc), so a reader can recompute each number. The tests assert the pass
// cycles, the cycle of each PE's last action, the stall count (which sums the PEs' last MAC
// slots) and the bus counters, in both fidelities, which must agree exactly; the ofmap must
// be the exact convolution. A rule made one cycle slower moves at least one asserted number
// wherever it binds in these passes (checked by slowing each rule of pe.cc, noc.cc and
// fifo.h by one cycle in turn); a unit that has slack in every pass (the load unit's one word
// a cycle) is not pinned.
//
// Rules used below (t = cycle; "visible" = the consumer may pop it):
//  F1  A word pushed into a FIFO in t is visible from t + 1; a slot popped in t is free for
//      the producer from t + 1 (RegFifo).
//  B1  MulticastBus: one transfer per cycle, the schedule's next one, of up to
//      min(bus_bits / 16, destination FIFO depth) words of one group; it leaves in the first
//      cycle in which every destination FIFO has room for all its words (else the bus waits).
//      Filters: one step, groups round robin one transfer at a time. Ifmaps: steps of
//      columns_per_step ofmap columns, groups round robin within a step. Groups are numbered
//      in the order begin_pass meets their first PE (stack, set, filter row k, ofmap row j).
//  B2  OutBus: each cycle, the first chain top in round-robin order (from the one after the
//      last served) whose psum_out FIFO shows min(words per transfer, its psums left) words
//      gives them.
//  P1  filter unit: one word a cycle, popped at max(previous pop + 1, visible); f_done = the
//      cycle of the pass's last filter word.
//  P2  load unit: one ifmap word a cycle, at max(previous load + 1, visible, for window k > 0:
//      the last cycle column k - 1 reads the spad entry the word replaces, + 1); loaded(k) =
//      the cycle of window k's last word.
//  P3  compute: column k starts at max(last slot of column k - 1 + 1, loaded(k) + 1,
//      f_done + 1); entries in order (channel, then window position), p slots each (one per
//      filter f), one slot a cycle; in the first entry the slot of psum f also waits until
//      acc(k - 1, f) + 1.
//  P4  ready(k, f) = the slot of f in the last entry + mac_pipeline_stages (2 here).
//  P5  psum-add (every PE above a chain bottom): add(k, f) = max(previous add + 1,
//      acc(k - 1, f) + 1, cycle the psum from below was pushed + 1).
//  P6  accumulate: acc(k, f) = max(previous acc + 1, ready(k, f), add(k, f) + 1, first cycle
//      with room in the destination: the psum_in FIFO of the PE above, or the chain top's own
//      psum_out FIFO). By F1 with a destination of depth d, the n-th push needs the (n-d)-th
//      pop in a cycle before it.
//  E1  pass cycles = last cycle with any action (PE or bus) + 1.
//  S1  pe_stall_cycles of a PE = (its last MAC slot + 1) - its MAC slots (pe.cc adds, per
//      column, the cycles since the previous column's last slot minus the slots).
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "hw/array.h"
#include "hw/cycle_top.h"
#include "hw/engine.h"
#include "test_util.h"

namespace actsparse::hw {
namespace {

// Every timing parameter set here, so configs/eyeriss-v1.yaml may change freely.
core::ArchConfig hand_arch(int64_t rows, int64_t cols) {
    core::ArchConfig a;
    a.word_bits = 16;
    a.zero_mode = core::ZeroMode::kNone;  // dense: the timing does not depend on the data
    a.array.rows = rows;
    a.array.cols = cols;
    a.pe.ifmap_spad_words = 12;
    a.pe.filter_spad_words = 224;
    a.pe.psum_spad_words = 24;
    a.pe.mac_pipeline_stages = 2;
    a.pe.accum_bits = 32;
    a.pe.fifo_depth_words = 4;
    a.pe.psum_fifo_depth_words = 4;
    a.noc.ifmap_bus_bits = 64;
    a.noc.filter_bus_bits = 64;
    a.noc.psum_in_bus_bits = 64;
    a.noc.psum_out_bus_bits = 64;
    return a;
}

core::LayerShape layer(int64_t C, int64_t M, int64_t R, int64_t S, int64_t P, int64_t Q) {
    core::LayerShape s;
    s.N = 1;
    s.C = C;
    s.M = M;
    s.R = R;
    s.S = S;
    s.P = P;
    s.Q = Q;
    s.finalize("hand-timed layer");  // stride 1, no padding: H = P + R - 1, W = Q + S - 1
    return s;
}

Mapping mapping(int64_t p, int64_t q, int64_t e, int64_t r, int64_t filter_rows,
                int64_t filter_cols) {
    Mapping m;
    m.n = 1;
    m.p = p;
    m.q = q;
    m.e = e;
    m.r = r;
    m.t = 1;
    m.filter_rows = filter_rows;
    m.filter_cols = filter_cols;
    return m;
}

// The cycle of each PE's last action in the layer's single pass (-1: PE not used), driven
// through the engine so that every PE's own timeline is checked, not only the slowest.
std::vector<int64_t> last_actions(const core::LayerShape& s, const Mapping& m,
                                  const core::ArchConfig& a, const std::vector<int16_t>& in,
                                  const std::vector<int16_t>& w, Fidelity fidelity) {
    std::vector<int64_t> out(static_cast<size_t>(s.ofmap_elems()), 0);
    ArrayEngine e(s, m, a, in.data(), w.data(), out.data(), fidelity == Fidelity::kFast);
    const std::vector<PassTile> tiles = plan_passes(s, m);
    EXPECT_EQ(tiles.size(), 1u);
    e.begin_pass(tiles.front());
    if (fidelity == Fidelity::kFast) {
        e.run_pass_fast();
    } else {
        run_pass_cycle(e, nullptr, 0);
    }
    std::vector<int64_t> last;
    for (int64_t i = 0; i < e.num_pes(); ++i)
        last.push_back(e.pe_active(i) ? e.pe(i).last_active() : -1);
    return last;
}

struct Hand {
    ArrayResult cycle, fast;
    std::vector<int64_t> last_cycle, last_fast;
};

// Runs the layer in both fidelities (whole layer and per PE), checks the ofmap against the
// reference convolution and that the fidelities agree on every counter and every PE.
Hand run_both(const core::LayerShape& s, const Mapping& m, const core::ArchConfig& a,
              uint64_t salt) {
    auto g = test::rng_for(salt);
    const auto in = test::random_tensor(g, s.ifmap_elems(), 1.0);
    const auto w = test::random_tensor(g, s.weight_elems(), 1.0);
    EXPECT_EQ(check_mapping(s, m, a).value_or("valid"), "valid");
    RunOptions cycle;
    cycle.fidelity = Fidelity::kCycle;
    RunOptions fast;
    fast.fidelity = Fidelity::kFast;
    Hand h;
    h.cycle = run_layer(s, m, a, in.data(), w.data(), cycle);
    h.fast = run_layer(s, m, a, in.data(), w.data(), fast);
    const auto ref = test::reference_conv_double(s, in, w);
    EXPECT_EQ(test::first_mismatch(h.cycle.ofmap, ref), -1);
    EXPECT_EQ(h.fast.ofmap, h.cycle.ofmap);
    EXPECT_EQ(h.fast.stats, h.cycle.stats) << h.fast.stats.diff(h.cycle.stats);
    EXPECT_EQ(h.cycle.passes.size(), 1u);
    h.last_cycle = last_actions(s, m, a, in, w, Fidelity::kCycle);
    h.last_fast = last_actions(s, m, a, in, w, Fidelity::kFast);
    EXPECT_EQ(h.last_fast, h.last_cycle);
    return h;
}

// ---------------------------------------------------------------------------------------
// 1. Bound by the psum-out bus.
//
// Layer C=2, M=4, R=S=1, P=3, Q=4 (H=3, W=4); mapping p=4, q=1, e=3, r=2, filter_rows=1,
// filter_cols=1 on a 2 x 3 array: two sets of 1 x 3 stacked (r = 2, one channel each), so
// three psum chains of two PEs. PE index = 3 * row + column: bottoms B0..B2 = PEs 0..2
// (channel 0, no psum input), tops T0..T2 = PEs 3..5 (channel 1; chain j: PE j -> PE 3+j ->
// out-bus source j). Each PE: one spad entry (q*S = 1), p = 4 slots per column, 4 columns.
// Buses 64 bits (4 words) except psum-out 16 bits (1 word per transfer); psum FIFOs of
// 2 words (so the bus back-pressures the tops, and the tops the bottoms).
// 48 psums leave at one a cycle: the bus is busy in every cycle from the first psum on.
//
// Start-up.
//  Filters (B1, P1): group 0 (4 words, PEs 0-2) in cycle 0, group 1 (PEs 3-5) in 1; pops
//  1..4 and 2..5: f_done = 4 (bottoms), 5 (tops).
//  Ifmaps: one step of 4 columns (columns_per_step = 4 / (q * 1 new column) = 4); group g
//  (one per PE, g = PE index) gets its 4 words in cycle g. Window 0 loads in g + 1:
//  bottoms 1, 2, 3; tops 4, 5, 6.
//  Column 0 starts at max(loaded + 1, f_done + 1): bottoms 5; T0, T1 6; T2 7.
// Steady columns (P2, P3): the single entry is read by every slot of column k, so window
// k + 1's word loads at (last slot of k) + 1 and column k + 1 starts one cycle later:
// start(k + 1) = last slot(k) + 2. Each slot of psum f also waits acc(k - 1, f) + 1.
// Out bus (B2): every top pushes (0,0) in cycle 9 (below), visible in 10; from 10 the bus
// serves sources 0, 1, 2, 0, ... and each source is eligible in its turn (checked by the
// a_n < b_n column below), so the n-th psum (n = 4k + f + 1) of chain j leaves in
// b_n = 3n + 7 + j. Depth 2 (P6): the top's n-th push needs a_n >= b_(n-2) + 1 = 3n + 2 + j,
// and the bottom's n-th push needs (top's add n-2) + 1.
//
// Chain 0 (B0 = PE 0, T0 = PE 3), cycles for f = 0..3:
//  k | B slots     | B acc = push | T add       | T slots     | T acc a_n   | bus b_n
//  0 |  5  6  7  8 |  7  8  9 10  |  8  9 10 11 |  6  7  8  9 |  9 10 11 14 | 10 13 16 19
//  1 | 10 11 12 13 | 12 13 14 15  | 13 14 15 16 | 11 12 13 15 | 17 20 23 26 | 22 25 28 31
//  2 | 15 16 17 18 | 17 18 19 22  | 18 21 24 27 | 18 21 24 27 | 29 32 35 38 | 34 37 40 43
//  3 | 20 21 22 23 | 25 28 31 34  | 30 33 36 39 | 30 33 36 39 | 41 44 47 50 | 46 49 52 55
// How the entries follow:
//  B acc(k, f) = max(prev + 1, slot + 2, T add of psum n-2 + 1): e.g. (2,3): prev 19 + 1,
//    slot 18 + 2 = 20, T add(2,1) 21 + 1 = 22 -> 22; (3,0): T add(2,2) 24 + 1 = 25.
//  T add(k, f) = max(prev + 1, T acc(k-1, f) + 1, B push + 1): (0,f) = B push + 1;
//    (2,1) = a_6 20 + 1 = 21 (the top's previous psum 1 left late).
//  T slots: column 0 starts 6; column k starts at last slot(k-1) + 2 (11, 17, 29) and slot f
//    waits a(k-1, f) + 1: column 1 f3 = a_4 14 + 1 = 15; column 2 = 18 21 24 27 (a_5..a_8
//    + 1); column 3 = 30 33 36 39.
//  T acc a_n = max(a_(n-1) + 1, slot + 2, add + 1, b_(n-2) + 1): a_1 = add 8 + 1 = 9,
//    a_2 = 10, a_3 = max(11, b_1 10 + 1) = 11, a_4 = b_2 13 + 1 = 14, and a_n = b_(n-2) + 1 =
//    3n + 2 from then on (the bus binds); a_n <= b_n - 1, so the source is eligible in turn.
// Chain 1 (PE 1 -> PE 4, b_n = 3n + 8): as chain 0 but a_n = 3n + 3 (n >= 3):
//  0 |  5  6  7  8 |  7  8  9 10  |  8  9 10 11 |  6  7  8  9 |  9 10 12 15 | 11 14 17 20
//  1 | 10 11 12 13 | 12 13 14 15  | 13 14 15 16 | 11 12 13 16 | 18 21 24 27 | 23 26 29 32
//  2 | 15 16 17 18 | 17 18 20 23  | 19 22 25 28 | 19 22 25 28 | 30 33 36 39 | 35 38 41 44
//  3 | 20 21 22 24 | 26 29 32 35  | 31 34 37 40 | 31 34 37 40 | 42 45 48 51 | 47 50 53 56
// Chain 2 (PE 2 -> PE 5, b_n = 3n + 9; T2 starts column 0 in 7, its ifmap came last):
//  0 |  5  6  7  8 |  7  8  9 10  |  8  9 10 11 |  7  8  9 10 |  9 10 13 16 | 12 15 18 21
//  1 | 10 11 12 13 | 12 13 14 15  | 13 14 15 17 | 12 13 14 17 | 19 22 25 28 | 24 27 30 33
//  2 | 15 16 17 18 | 17 18 21 24  | 20 23 26 29 | 20 23 26 29 | 31 34 37 40 | 36 39 42 45
//  3 | 20 21 22 25 | 27 30 33 36  | 32 35 38 41 | 32 35 38 41 | 43 46 49 52 | 48 51 54 57
//  (T2: a_1 = max(ready 9, add 8 + 1) = 9; column 1 starts 12, f3 waits a_4 16 + 1 = 17.)
// Result: the bus moves one psum in every cycle 10..57 (48 psums), so the pass takes
// 57 + 1 = 58 cycles (E1). Last actions: B0..B2 34 35 36 (their last pushes), T0..T2 50 51
// 52. Stalls (S1): last slots 23 24 25 39 40 41, 16 slots each:
// 24 + 25 + 26 + 40 + 41 + 42 - 6 * 16 = 102.
TEST(HandTiming, PsumOutBusBound) {
    const core::LayerShape s = layer(2, 4, 1, 1, 3, 4);
    const Mapping m = mapping(4, 1, 3, 2, 1, 1);
    core::ArchConfig a = hand_arch(2, 3);
    a.noc.psum_out_bus_bits = 16;
    a.pe.psum_fifo_depth_words = 2;
    const Hand h = run_both(s, m, a, 1201);
    const ArrayStats& st = h.cycle.stats;
    EXPECT_EQ(h.cycle.passes.front().cycles, 58);
    EXPECT_EQ(st.cycles, 58);
    EXPECT_EQ(h.last_cycle, (std::vector<int64_t>{34, 35, 36, 50, 51, 52}));
    EXPECT_EQ(st.pe_stall_cycles, 102);
    EXPECT_EQ(st.pe_busy_cycles, 6 * 16);
    EXPECT_EQ(st.psum_out_transfers, 48);
    EXPECT_EQ(st.psum_out_words, 48);
    EXPECT_EQ(st.psum_link_words, 48);
    EXPECT_EQ(st.filter_noc_transfers, 2);
    EXPECT_EQ(st.ifmap_noc_transfers, 6);
}

// ---------------------------------------------------------------------------------------
// 2. Bound by the ifmap bus.
//
// Layer C=1, M=1, R=2, S=1, P=3, Q=5 (H=4, W=5); mapping p=1, q=1, e=3, r=1,
// filter_rows=2, filter_cols=1 on a 2 x 3 array: one 2 x 3 set, PE (k, j) = PE 3k + j reads
// ifmap row j + k; chains PE j -> PE 3+j -> out-bus source j. One MAC per ifmap word
// (p = q = S = 1). Ifmap bus 16 bits (1 word per transfer), psum-out bus 16 bits, other
// buses 64 bits, FIFOs 4 (ifmap/filter) and 4 (psum).
//  Ifmap groups (B1, first PE order): G0 row 0 {PE0}, G1 row 1 {PE1, PE3}, G2 row 2
//  {PE2, PE4}, G3 row 3 {PE5}. columns_per_step = 1 / 1 = 1: step x (ofmap column x) sends
//  one word to G0, G1, G2, G3 in cycles 4x, 4x+1, 4x+2, 4x+3. The bus is busy in every
//  cycle 0..19; each PE pops a word as soon as it is visible, so room never binds.
//  Filters: one word per PE: group 0 (PEs 0-2) in 0, group 1 (PEs 3-5) in 1:
//  f_done 1 and 2.
// Per column x (P2-P6; the single entry's previous reader is long done, every psum leaves
// before the next column's slot needs it):
//  PE | word visible | load | slot (start) | ready | add  | acc = push
//   0 | 4x+1         | 4x+1 | 4x+2         | 4x+4  |  -   | 4x+4 -> PE3
//   1 | 4x+2         | 4x+2 | 4x+3         | 4x+5  |  -   | 4x+5 -> PE4
//   2 | 4x+3         | 4x+3 | 4x+4         | 4x+6  |  -   | 4x+6 -> PE5
//   3 | 4x+2         | 4x+2 | 4x+3         | 4x+5  | 4x+5 | 4x+6 -> out
//   4 | 4x+3         | 4x+3 | 4x+4         | 4x+6  | 4x+6 | 4x+7 -> out
//   5 | 4x+4         | 4x+4 | 4x+5         | 4x+7  | 4x+7 | 4x+8 -> out
//  (column 0: start = max(loaded + 1, f_done + 1) = 2, 3, 4, 3, 4, 5, the same formula;
//  a top's add = push from below + 1, its acc = add + 1; its slot waits its acc(x-1) + 1 =
//  4x + 3, 4x + 4, 4x + 5: exactly the start, no bubble.)
// Out bus: source j's psum of column x is visible in 4x + 7 + j and is the only eligible
// one then, so it leaves in 4x + 7 + j. The last (x = 4, PE5) leaves in 25: the pass takes
// 26 cycles (E1). Critical path: G2's last word (cycle 18) -> PE2 load 19, slot 20, push 22
// -> PE5 add 23, push 24 -> out bus 25.
// Last actions: PEs 0..5 at 20 21 22 22 23 24 (acc of column 4). Stalls (S1): last slots
// 18 19 20 19 20 21, 5 slots each: 19 + 20 + 21 + 20 + 21 + 22 - 6 * 5 = 93.
TEST(HandTiming, IfmapBusBound) {
    const core::LayerShape s = layer(1, 1, 2, 1, 3, 5);
    const Mapping m = mapping(1, 1, 3, 1, 2, 1);
    core::ArchConfig a = hand_arch(2, 3);
    a.noc.ifmap_bus_bits = 16;
    a.noc.psum_out_bus_bits = 16;
    const Hand h = run_both(s, m, a, 1202);
    const ArrayStats& st = h.cycle.stats;
    EXPECT_EQ(h.cycle.passes.front().cycles, 26);
    EXPECT_EQ(st.cycles, 26);
    EXPECT_EQ(h.last_cycle, (std::vector<int64_t>{20, 21, 22, 22, 23, 24}));
    EXPECT_EQ(st.pe_stall_cycles, 93);
    EXPECT_EQ(st.pe_busy_cycles, 6 * 5);
    EXPECT_EQ(st.ifmap_noc_transfers, 20);
    EXPECT_EQ(st.ifmap_noc_words_sent, 20);
    EXPECT_EQ(st.ifmap_noc_words_delivered, 30);
    EXPECT_EQ(st.psum_out_transfers, 15);
    EXPECT_EQ(st.filter_noc_transfers, 2);
}

// ---------------------------------------------------------------------------------------
// 3. Bound by filter loads.
//
// Layer C=2, M=4, R=3, S=2, P=2, Q=1 (H=4, W=2); mapping p=4, q=2, e=2, r=1,
// filter_rows=3, filter_cols=2 on a 3 x 2 array: one 3 x 2 set, PE (k, j) = PE 2k + j holds
// filter row k (p*q*S = 16 words) and reads ifmap row j + k; chains PE j -> PE 2+j ->
// PE 4+j -> out-bus source j. One ofmap column: 16 MAC slots per PE, as many as filter
// words. All buses 64 bits; FIFOs of 4 words, so a filter transfer is 4 words and needs an
// empty FIFO (room for all 4, B1).
//  Filters (B1, F1, P1): groups g = filter row k (PEs 2k, 2k+1), 4 transfers each, round
//  robin g0, g1, g2. g0 in 0, g1 in 1, g2 in 2. The next g0 transfer needs PE0/PE1 to have
//  popped all 4 words (pops 1, 2, 3, 4), so room for 4 appears in 5: the bus waits in 3
//  and 4. So group g's m-th transfer leaves in 5m + g, its words are popped in
//  5m + g + 1 .. 5m + g + 4, and f_done = 5 * 3 + g + 4 = 19, 20, 21 for rows 0, 1, 2.
//  Ifmaps: groups G0 row 0 {PE0}, G1 row 1 {PE1, PE2}, G2 row 2 {PE3, PE4}, G3 row 3
//  {PE5}, 4 words each (2 columns x 2 channels) in cycles 0..3, loaded by cycle 7.
// Compute (P3, P4): start = f_done + 1 = 20 (PEs 0, 1), 21 (PEs 2, 3), 22 (PEs 4, 5);
//  4 entries x 4 filters, slot of (entry i, f) = start + 4i + f; the last entry gives
//  ready(f) = start + 12 + f + 2.
//  PEs | start | last slot | ready f=0..3 | add f=0..3  | acc f=0..3
//  0,1 |  20   |    35     | 34 35 36 37  |      -      | 34 35 36 37 -> PE 2+j
//  2,3 |  21   |    36     | 35 36 37 38  | 35 36 37 38 | 36 37 38 39 -> PE 4+j
//  4,5 |  22   |    37     | 36 37 38 39  | 37 38 39 40 | 38 39 40 41 -> psum_out
//  (add = push from below + 1; acc = max(ready, add + 1) = add + 1.)
// Out bus (B2): 4 words per transfer = a chain's 4 psums, eligible once all 4 are visible
// (42): source 0 in 42, source 1 in 43. The pass takes 44 cycles (E1), of which cycles
// 0..21 load filters (the last filter word is popped in 21). Last actions: 37 37 39 39 41 41.
// Stalls (S1): last slots 35 35 36 36 37 37, 16 slots each: 2 * (36 + 37 + 38) - 6 * 16 = 126.
TEST(HandTiming, FilterLoadBound) {
    const core::LayerShape s = layer(2, 4, 3, 2, 2, 1);
    const Mapping m = mapping(4, 2, 2, 1, 3, 2);
    const core::ArchConfig a = hand_arch(3, 2);
    const Hand h = run_both(s, m, a, 1203);
    const ArrayStats& st = h.cycle.stats;
    EXPECT_EQ(h.cycle.passes.front().cycles, 44);
    EXPECT_EQ(st.cycles, 44);
    EXPECT_EQ(h.last_cycle, (std::vector<int64_t>{37, 37, 39, 39, 41, 41}));
    EXPECT_EQ(st.pe_stall_cycles, 126);
    EXPECT_EQ(st.pe_busy_cycles, 6 * 16);
    EXPECT_EQ(st.filter_noc_transfers, 12);
    EXPECT_EQ(st.filter_noc_words_sent, 48);
    EXPECT_EQ(st.filter_noc_words_delivered, 96);
    EXPECT_EQ(st.ifmap_noc_transfers, 4);
    EXPECT_EQ(st.psum_out_transfers, 2);
}

// ---------------------------------------------------------------------------------------
// 4. Bound by the MACs (a reference point for the three above: the PEs issue a slot in every
// cycle once the filters are in, and a column follows the previous one without a gap).
//
// Layer C=1, M=4, R=2, S=3, P=2, Q=4 (H=3, W=6); mapping p=4, q=1, e=2, r=1,
// filter_rows=2, filter_cols=3 on a 2 x 2 array: one 2 x 2 set, PE (k, j) = PE 2k + j reads
// ifmap row j + k; chains PE j -> PE 2+j -> out-bus source j. Per PE 3 entries x 4 filters
// = 12 slots a column, 48 in all. All buses 64 bits, FIFOs of 4 words.
//  Filters: groups g = row k (PEs 2k, 2k+1), 12 words = 3 transfers each, with the 5-cycle
//  rhythm of test 3: g0 in 0, 5, 10 (pops 1-4, 6-9, 11-14), g1 in 1, 6, 11 (pops 2-5, 7-10,
//  12-15): f_done 14 (PEs 0, 1), 15 (PEs 2, 3).
//  Ifmaps: groups G0 row 0 {PE0}, G1 row 1 {PE1, PE2}, G2 row 2 {PE3}. Window 0 has 3
//  columns, later windows 1, so columns_per_step = 4 / 3 = 1: step 0 sends 3 words to G0,
//  G1, G2 in cycles 0, 1, 2 (loaded by 3, 4, 4, 5), steps 1..3 one word each in 3..11
//  (every FIFO has room: at most 2 words wait in it).
// Compute: column 0 starts at f_done + 1 (16 for the tops, 15 for the bottoms). Window
//  k + 1's word replaces the entry read first in column k (its slots are the column's first
//  4), so it loads at start + 4 and never binds; column k + 1 starts at last slot(k) + 1.
//  Bottoms (PEs 0, 1): columns start 15, 27, 39, 51 and run back to back (last slot 62);
//  ready(k, f) = start + 8 + f + 2 = 25 + 12k + f = acc (pushed to the top), which is before
//  the next column's slot of f (27 + 12k + f).
//  Tops (PEs 2, 3): start 16, 28, 40, 52 (last slot 63); add(k, f) = push from below + 1 =
//  26 + 12k + f; acc(k, f) = add + 1 = 27 + 12k + f, so the next column's slot of f
//  (28 + 12k + f) waits exactly until acc + 1: both conditions of P3 meet, no bubble.
// Out bus: 4 words per transfer = one column of a chain, visible in 31 + 12k: source 0 in
// 31 + 12k, source 1 in 32 + 12k; the last in 68, so the pass takes 69 cycles (E1).
// Last actions: 64 64 66 66. Stalls (S1): 2 * (63 + 64) - 4 * 48 = 62 (the 15 or 16 cycles
// before each PE's first slot).
TEST(HandTiming, MacBound) {
    const core::LayerShape s = layer(1, 4, 2, 3, 2, 4);
    const Mapping m = mapping(4, 1, 2, 1, 2, 3);
    const core::ArchConfig a = hand_arch(2, 2);
    const Hand h = run_both(s, m, a, 1204);
    const ArrayStats& st = h.cycle.stats;
    EXPECT_EQ(h.cycle.passes.front().cycles, 69);
    EXPECT_EQ(st.cycles, 69);
    EXPECT_EQ(h.last_cycle, (std::vector<int64_t>{64, 64, 66, 66}));
    EXPECT_EQ(st.pe_stall_cycles, 62);
    EXPECT_EQ(st.pe_busy_cycles, 4 * 48);
    EXPECT_EQ(st.filter_noc_transfers, 6);
    EXPECT_EQ(st.ifmap_noc_transfers, 12);
    EXPECT_EQ(st.ifmap_noc_words_sent, 18);
    EXPECT_EQ(st.ifmap_noc_words_delivered, 24);
    EXPECT_EQ(st.psum_out_transfers, 8);
    EXPECT_EQ(st.psum_link_words, 32);
}

}  // namespace
}  // namespace actsparse::hw
