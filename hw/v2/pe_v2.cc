#include "hw/v2/pe_v2.h"

#include <algorithm>

namespace actsparse::hw::v2 {

void WeightMatrix::build(const int16_t* weight, int64_t Cg, int64_t R, int64_t S, int64_t m_first,
                         int64_t m_count_, int64_t c_first, int64_t c_count_, int64_t r,
                         int64_t s_first, int64_t s_count_, bool compressed_, int64_t count_bits,
                         int64_t simd) {
    m_count = m_count_, c_count = c_count_, s_count = s_count_, compressed = compressed_;
    const int64_t ncols = cols();
    col_start.assign(static_cast<size_t>(ncols + 1), 0);
    nnz.assign(static_cast<size_t>(ncols), 0);
    value.clear(), row.clear();
    pairs = fillers = words = 0;
    const int64_t max_run = (int64_t{1} << count_bits) - 1;
    for (int64_t s = 0; s < s_count; ++s)
        for (int64_t c = 0; c < c_count; ++c) {
            const int64_t j = s * c_count + c;
            col_start[static_cast<size_t>(j)] = static_cast<int32_t>(value.size());
            int64_t prev = -1;
            for (int64_t m = 0; m < m_count; ++m) {
                const int16_t w =
                    weight[(((m_first + m) * Cg + c_first + c) * R + r) * S + s_first + s];
                if (w != 0) ++nnz[static_cast<size_t>(j)];
                if (!compressed) {
                    value.push_back(w), row.push_back(static_cast<int16_t>(m));
                    continue;
                }
                if (w == 0) continue;
                int64_t run = m - prev - 1;
                while (run > max_run) {  // a filler pair stands for max_run zeros and a zero
                    value.push_back(0), row.push_back(-1);
                    ++fillers;
                    run -= max_run + 1;
                }
                value.push_back(w), row.push_back(static_cast<int16_t>(m));
                prev = m;
            }
        }
    col_start[static_cast<size_t>(ncols)] = static_cast<int32_t>(value.size());
    pairs = static_cast<int64_t>(value.size());
    for (int64_t j = 0; j < ncols; ++j) words += words_in(j, simd);
}

WindowTiming window_times(const int32_t* words, int64_t count, int64_t start, int64_t bfree) {
    WindowTiming t;
    t.bfree = bfree;
    if (count == 0) {
        t.done = t.front_free = start + 2;
        return t;
    }
    int64_t d = start + 2;
    bool any = false;
    for (int64_t i = 0; i < count; ++i) {
        const int64_t w = words[i];
        if (w == 0) {
            d += 1;
        } else {
            const int64_t b = std::max(d + 1, t.bfree);
            t.bfree = b + w;
            d = b;
            any = true;
        }
    }
    t.done = any ? std::max(t.bfree + 3, d) : d;
    t.front_free = d;
    return t;
}

int64_t window_cycles(const int32_t* words, int64_t count) {
    return window_times(words, count, 0, 0).done;
}

int64_t PePipeline::pending_count() const {
    return static_cast<int64_t>(!wins_[0].reported) + static_cast<int64_t>(!wins_[1].reported);
}

void PePipeline::check_done(Win& w) {
    if (w.reported || w.done >= 0 || !w.front_done) return;
    if (b_item_ >= 0 && b_win_ == w.win) return;  // its words are still issuing
    w.done = std::max(w.last_wb + 1, w.front_leave + 1);
}

void PePipeline::start(int64_t t, const std::vector<int32_t>& words, int64_t win) {
    words_ = words;
    win_ = win;
    Win& w = wins_[win & 1];
    w = Win{};
    w.win = win, w.reported = false;
    if (words_.empty()) {  // its address reads only
        w.front_done = true, w.front_leave = t + 1;
        front_free_ = t + 2;
        s3_ = -1;
        check_done(w);
        return;
    }
    front_free_ = -1;
    s3_ = 0, s3_enter_ = t + 2, next_ = 1;
}

bool PePipeline::step(int64_t c) {
    issued_win_ = issued_item_ = issued_word_ = -1;
    bool issued = false;
    if (b_item_ >= 0) {  // stages 4-5: one weight word per cycle
        issued_win_ = b_win_, issued_item_ = b_item_, issued_word_ = b_word_;
        issued = true;
        wins_[b_win_ & 1].last_wb = c + 3;  // stages 5, 6, 7 follow
        if (++b_word_ == b_words_) b_item_ = -1;
    }
    if (s3_ >= 0 && s3_enter_ <= c) {  // stage 3: weight address read, hand over or drop
        const int32_t w = words_[static_cast<size_t>(s3_)];
        if (w == 0 || b_item_ < 0) {
            if (w != 0) b_win_ = win_, b_item_ = s3_, b_word_ = 0, b_words_ = w;
            if (next_ < static_cast<int64_t>(words_.size())) {
                s3_ = next_++;
                s3_enter_ = c + 1;
            } else {
                s3_ = -1;
                Win& f = wins_[win_ & 1];
                f.front_done = true, f.front_leave = c;
                front_free_ = c + 1;
            }
        }
    }
    check_done(wins_[0]);
    check_done(wins_[1]);
    return issued;
}

bool PePipeline::pop_done(int64_t& win, int64_t& done) {
    for (Win& w : wins_) {
        if (w.reported || w.done < 0) continue;
        win = w.win, done = w.done;
        w.reported = true;
        return true;
    }
    return false;
}

}  // namespace actsparse::hw::v2
