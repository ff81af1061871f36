#pragma once
/// @file One Eyeriss v2-class PE (hw/v2): the CSC weight matrix of its weight spads, the
/// timing rule of its 7-stage pipeline, and the per-cycle pipeline that the cycle fidelity
/// steps. Plain C++, no SystemC; docs/v2.md ("The PE") derives the rule.
#include <cstdint>
#include <vector>

#include "core/arch.h"

namespace actsparse::hw::v2 {

/// The weights of one PE: cols = c_count * s_count columns (column j = s * c_count + c, the
/// order in which the window's iacts are walked), each a column of m_count weights. In the
/// compressed format (zero mode skip) a column holds its non-zero weights as (count, value)
/// pairs plus a filler pair (count 15, value 0) for every run of more than 15 zeros; in the
/// uncompressed format (none, gate) it holds all m_count weights.
struct WeightMatrix {
    int64_t m_count = 0, c_count = 0, s_count = 0;
    bool compressed = false;
    std::vector<int32_t> col_start;  ///< cols + 1 offsets into the pair arrays
    std::vector<int16_t> value;      ///< pair values (0 for fillers and dense zeros)
    std::vector<int16_t> row;        ///< pair's output channel (local), -1 for fillers
    std::vector<int32_t> nnz;        ///< non-zero weights per column
    int64_t pairs = 0, fillers = 0, words = 0;
    int64_t cols() const { return c_count * s_count; }
    int64_t pairs_in(int64_t j) const { return col_start[j + 1] - col_start[j]; }
    /// 24-bit words of column j: ceil(pairs / macs_per_cycle).
    int64_t words_in(int64_t j, int64_t simd) const { return (pairs_in(j) + simd - 1) / simd; }

    /// Builds the matrix from weight [M, C/G, R, S] for output channels [m_first, +m_count),
    /// local input channels [c_first, +c_count), filter row r, columns [s_first, +s_count).
    /// count_bits limits the CSC count (fillers).
    void build(const int16_t* weight, int64_t Cg, int64_t R, int64_t S, int64_t m_first,
               int64_t m_count, int64_t c_first, int64_t c_count, int64_t r, int64_t s_first,
               int64_t s_count, bool compressed, int64_t count_bits, int64_t simd);
};

/// Times of one window in the PE pipeline, entered at cycle `start` (its first iact address
/// fetch) while weight-data stage 4 may still be busy until `bfree` with the last window's
/// words. `words[i]` is the number of weight-data words (SIMD issues) of the i-th iact that
/// enters the pipeline (0: its weight column is empty, it is dropped after the weight-address
/// stage). Stages: 1-2 iact address / data (one iact per cycle), 3 weight address, 4-5 weight
/// data (one word per cycle), 6-7 MAC and psum write-back. The rule, d the cycle the next
/// iact is in stage 3:
///   d = start + 2; for each iact: if w = 0: d' = d + 1; else b = max(d + 1, bfree),
///   bfree = b + w, d' = b; done = max(bfree + 3, d_final) (d_final alone if no w > 0);
///   an empty window (no iact) is done at start + 2 (its address reads).
/// `front_free` = d_final (start + 2 if empty): from then the front end takes the next
/// window, whose words may follow this window's into stage 4 (different psum buffers).
struct WindowTiming {
    int64_t done = 0, front_free = 0, bfree = 0;
};
WindowTiming window_times(const int32_t* words, int64_t count, int64_t start, int64_t bfree);

/// Cycles of one window in an idle pipeline: window_times(words, count, 0, 0).done.
int64_t window_cycles(const int32_t* words, int64_t count);

/// The same pipeline stepped one cycle at a time (the cycle fidelity). start(t, words, win)
/// enters a window once front_free() <= t (the last window's words may still be issuing);
/// step(c) for c = t, t+1, ... issues at most one weight word per cycle, reported through
/// issued_window()/issued_item()/issued_word() for the caller to perform its MACs; a window
/// whose psums are complete is reported once by pop_done().
class PePipeline {
  public:
    void start(int64_t t, const std::vector<int32_t>& words, int64_t win);
    /// Advances cycle c. Returns true if a weight word was issued this cycle.
    bool step(int64_t c);
    /// Whether any window is in the pipeline.
    bool active() const { return s3_ >= 0 || b_item_ >= 0 || pending_count() > 0; }
    /// Cycle from which the front end takes the next window; -1 while a window is in it.
    int64_t front_free() const { return front_free_; }
    /// Pops a finished window: its number and the cycle after its last psum write-back.
    bool pop_done(int64_t& win, int64_t& done);
    int64_t issued_window() const { return issued_win_; }
    int64_t issued_item() const { return issued_item_; }
    int64_t issued_word() const { return issued_word_; }

  private:
    struct Win {
        int64_t win = -1, front_leave = -1, last_wb = -1, done = -1;
        bool front_done = false, reported = true;
    };
    int64_t pending_count() const;
    void check_done(Win& w);
    std::vector<int32_t> words_;  ///< of the window in the front end
    Win wins_[2];                 ///< by window parity: at most two are in the pipeline
    int64_t win_ = -1;            ///< window in the front end
    int64_t next_ = 0;            ///< its next iact to enter stage 3
    int64_t s3_ = -1;             ///< iact in stage 3
    int64_t s3_enter_ = 0;        ///< cycle it entered (or enters) stage 3
    int64_t front_free_ = 0;
    int64_t b_win_ = -1, b_item_ = -1, b_word_ = 0, b_words_ = 0;  ///< iact issuing words
    int64_t issued_win_ = -1, issued_item_ = -1, issued_word_ = -1;
};

}  // namespace actsparse::hw::v2
