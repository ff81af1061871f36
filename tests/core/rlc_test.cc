#include "core/rlc.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <random>
#include <vector>

namespace actsparse::core {
namespace {

uint64_t test_seed() {
    const char* env = std::getenv("ACTSPARSE_TEST_SEED");
    const uint64_t seed = env ? std::strtoull(env, nullptr, 10) : 12345;
    std::cout << "ACTSPARSE_TEST_SEED=" << seed << std::endl;
    return seed;
}

// The pair count computed independently of the encoder: every non-zero is a pair; a zero
// run of length L before a non-zero adds floor(L / 32) explicit-zero pairs; a trailing run
// adds ceil(L / 32).
int64_t pairs_by_formula(const std::vector<int16_t>& v) {
    int64_t pairs = 0;
    int64_t run = 0;
    for (int16_t x : v) {
        if (x == 0) {
            ++run;
        } else {
            pairs += 1 + run / 32;
            run = 0;
        }
    }
    return pairs + (run + 31) / 32;
}

TEST(Rlc, RoundTripsAndMatchesTheIndependentSize) {
    std::mt19937_64 rng(test_seed());
    for (int trial = 0; trial < 500; ++trial) {
        const int64_t n = 1 + static_cast<int64_t>(rng() % 300);
        const double density = static_cast<double>(rng() % 1001) / 1000.0;
        std::vector<int16_t> v(n);
        for (auto& x : v)
            x = (rng() % 1000) < density * 1000 ? static_cast<int16_t>(rng() % 65536) : 0;
        const auto words = rlc_encode(v.data(), n);
        EXPECT_EQ(static_cast<int64_t>(words.size()), (pairs_by_formula(v) + 2) / 3);
        EXPECT_EQ(static_cast<int64_t>(words.size()), rlc_words(v.data(), n));
        std::vector<int16_t> back(n, 7);
        ASSERT_TRUE(rlc_decode(words.data(), words.size(), n, back.data()));
        EXPECT_EQ(back, v);
    }
}

TEST(Rlc, KnownStreams) {
    const std::vector<int16_t> dense = {1, 2, 3, 4, 5, 6};
    EXPECT_EQ(rlc_words(dense.data(), 6), 2);
    const std::vector<int16_t> zeros(64, 0);
    EXPECT_EQ(rlc_pairs(zeros.data(), 64), 2);  // (31,0) then (31,0)
    std::vector<int16_t> sparse(40, 0);
    sparse[35] = 9;  // 32 zeros -> (31,0), then 3 zeros + 9 -> (3,9), then 4 zeros -> (3,0)
    EXPECT_EQ(rlc_pairs(sparse.data(), 40), 3);
    EXPECT_EQ(rlc_words(sparse.data(), 40), 1);
}

TEST(Rlc, RejectsWrongLength) {
    const std::vector<int16_t> v = {0, 0, 5, 0, 7};
    const auto words = rlc_encode(v.data(), 5);
    // The stream length comes from the layer shape; padding slots of the last word decode
    // as (0, 0), so only lengths beyond the word's capacity are detectable.
    std::vector<int16_t> out(7);
    EXPECT_FALSE(rlc_decode(words.data(), words.size(), 7, out.data()));
    EXPECT_FALSE(rlc_decode(words.data(), words.size(), 4, out.data()));
}

}  // namespace
}  // namespace actsparse::core
