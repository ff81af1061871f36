#include "core/rlc.h"

namespace actsparse::core {
namespace {

// Calls emit(run, value) for every pair of the stream.
template <typename Emit>
void for_each_pair(const int16_t* v, int64_t count, const RlcParams& p, Emit&& emit) {
    const int64_t max_run = p.max_run();
    int64_t run = 0;
    for (int64_t i = 0; i < count; ++i) {
        if (v[i] == 0 && run < max_run) {
            ++run;
            continue;
        }
        emit(run, v[i]);
        run = 0;
    }
    // Trailing zeros: the last of them is coded as an explicit zero value.
    if (run > 0) emit(run - 1, int16_t{0});
}

}  // namespace

int64_t rlc_pairs(const int16_t* values, int64_t count, const RlcParams& p) {
    int64_t pairs = 0;
    for_each_pair(values, count, p, [&](int64_t, int16_t) { ++pairs; });
    return pairs;
}

int64_t rlc_words(const int16_t* values, int64_t count, const RlcParams& p) {
    const int64_t pairs = rlc_pairs(values, count, p);
    return (pairs + p.pairs_per_word - 1) / p.pairs_per_word;
}

std::vector<uint64_t> rlc_encode(const int16_t* values, int64_t count, const RlcParams& p) {
    std::vector<uint64_t> words;
    const int64_t pair_bits = p.run_bits + p.value_bits;
    const uint64_t value_mask = (uint64_t{1} << p.value_bits) - 1;
    int64_t slot = 0;
    for_each_pair(values, count, p, [&](int64_t run, int16_t value) {
        if (slot == 0) words.push_back(0);
        const uint64_t pair =
            static_cast<uint64_t>(run) |
            ((static_cast<uint64_t>(static_cast<uint16_t>(value)) & value_mask) << p.run_bits);
        words.back() |= pair << (slot * pair_bits);
        slot = (slot + 1) % p.pairs_per_word;
    });
    if (!words.empty()) words.back() |= uint64_t{1} << 63;
    return words;
}

bool rlc_decode(const uint64_t* words, int64_t num_words, int64_t count, int16_t* out,
                const RlcParams& p) {
    const int64_t pair_bits = p.run_bits + p.value_bits;
    const uint64_t run_mask = (uint64_t{1} << p.run_bits) - 1;
    const uint64_t value_mask = (uint64_t{1} << p.value_bits) - 1;
    int64_t filled = 0;
    for (int64_t w = 0; w < num_words && filled < count; ++w) {
        for (int64_t slot = 0; slot < p.pairs_per_word && filled < count; ++slot) {
            const uint64_t pair = words[w] >> (slot * pair_bits);
            const int64_t run = static_cast<int64_t>(pair & run_mask);
            const auto value = static_cast<int16_t>((pair >> p.run_bits) & value_mask);
            if (filled + run + 1 > count) return false;
            for (int64_t z = 0; z < run; ++z) out[filled++] = 0;
            out[filled++] = value;
        }
    }
    return filled == count;
}

}  // namespace actsparse::core
