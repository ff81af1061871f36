#pragma once
/// @file Eyeriss v1 run-length compression of feature maps in DRAM: each 64-bit word holds
/// three (5-bit zero run, 16-bit value) pairs plus a 1-bit "last word" flag. Each row of a
/// feature map (one image, one channel, one input row) is its own word-aligned stream, so
/// the DMA can fetch any row range of any channel.
#include <cstdint>
#include <vector>

namespace actsparse::core {

struct RlcParams {
    int64_t run_bits = 5;
    int64_t value_bits = 16;
    int64_t pairs_per_word = 3;
    int64_t max_run() const { return (int64_t{1} << run_bits) - 1; }
};

/// Number of (run, value) pairs that encode `values` (zeros beyond max_run are coded as an
/// explicit zero value; trailing zeros end with a zero-valued pair).
int64_t rlc_pairs(const int16_t* values, int64_t count, const RlcParams& p = {});
/// Number of 64-bit words of one stream.
int64_t rlc_words(const int16_t* values, int64_t count, const RlcParams& p = {});
/// Encodes one stream into 64-bit words (pair k of a word at bits [21k, 21k+21), run in the
/// low bits; bit 63 marks the stream's last word).
std::vector<uint64_t> rlc_encode(const int16_t* values, int64_t count, const RlcParams& p = {});
/// Decodes a stream of `count` values; returns false when the words do not hold a valid
/// stream of exactly `count` values.
bool rlc_decode(const uint64_t* words, int64_t num_words, int64_t count, int16_t* out,
                const RlcParams& p = {});

}  // namespace actsparse::core
