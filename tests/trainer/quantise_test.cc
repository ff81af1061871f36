// The fixed-point rule (trainer/quantise.h): fraction bits, and the histogram that counts
// for every f at once what quantising at f keeps, checked against quantising at each f.
#include "trainer/quantise.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

namespace actsparse::trainer {
namespace {

TEST(Quantise, FracBitsFor) {
    EXPECT_EQ(frac_bits_for(0.0), 15);
    EXPECT_EQ(frac_bits_for(0.5), 15);         // 0.5 * 2^15 = 16384
    EXPECT_EQ(frac_bits_for(1.0), 14);         // 2^15 > 32767
    EXPECT_EQ(frac_bits_for(1.0001), 14);      //
    EXPECT_EQ(frac_bits_for(2.0), 13);         //
    EXPECT_EQ(frac_bits_for(32767.0), 0);      //
    EXPECT_EQ(frac_bits_for(1e9), 0);          // saturates: clamped to 0
    EXPECT_EQ(frac_bits_for(32767.0 / 8), 3);  // exactly fits at f = 3
}

std::array<double, kHistBins> to_array(const torch::Tensor& hist) {
    const torch::Tensor h = hist.to(torch::kCPU).contiguous();
    EXPECT_EQ(h.numel(), kHistBins);
    std::array<double, kHistBins> a{};
    for (int64_t b = 0; b < kHistBins; ++b) a[b] = h[b].item<double>();
    return a;
}

/// Values at and around every threshold 2^-(f+1) (where round half to even decides), zeros
/// of both signs, denormals, values that saturate, and random ones.
torch::Tensor edge_values() {
    std::vector<float> v = {
        0.0f, -0.0f, std::numeric_limits<float>::denorm_min(), -std::numeric_limits<float>::min(),
        1e5f, -4e4f, std::numeric_limits<float>::infinity()};
    for (int k = -3; k <= 22; ++k) {
        const float p = std::ldexp(1.0f, -k);
        for (float x : {p, std::nextafter(p, 0.0f), std::nextafter(p, 1e30f), 1.5f * p, 0.75f * p})
            v.insert(v.end(), {x, -x});
    }
    torch::manual_seed(3);
    const torch::Tensor r = torch::cat({torch::randn({500}) * 1e-3, torch::randn({500}) * 3.0,
                                        torch::relu(torch::randn({500})) * 1e-4});
    const torch::Tensor e = torch::tensor(v, torch::kFloat32);
    return torch::cat({e, r.to(torch::kFloat32)});
}

void expect_counts_match(const torch::Tensor& x, const ActivationStats& s, const char* path) {
    SCOPED_TRACE(path);
    const auto hist = to_array(s.hist);
    double total = 0.0;
    for (double h : hist) total += h;
    EXPECT_EQ(total, static_cast<double>(x.numel()));
    EXPECT_EQ(nonzero_float(hist), static_cast<double>(torch::count_nonzero(x).item<int64_t>()));
    EXPECT_EQ(s.max_abs.item<double>(), x.abs().max().item<double>());
    for (int64_t f = 0; f <= kMaxFracBits; ++f) {
        int64_t saturated = 0;
        const torch::Tensor q = quantise(x, f, &saturated);
        EXPECT_EQ(nonzero_at(hist, f), static_cast<double>(torch::count_nonzero(q).item<int64_t>()))
            << "f = " << f;
    }
}

TEST(Quantise, HistogramCountsWhatQuantisingKeeps) {
    const torch::Tensor x = edge_values();
    expect_counts_match(x, activation_stats(x), "cpu loop");
    expect_counts_match(x, activation_stats_ops(x), "tensor ops");
    // The thresholds themselves: 2^-(f+1) quantises to 0 at f (half to even) and to 1 at f+1.
    const auto hist = to_array(activation_stats(torch::tensor({0.25f, 0.0f})).hist);
    EXPECT_EQ(nonzero_at(hist, 1), 0.0);
    EXPECT_EQ(nonzero_at(hist, 2), 1.0);
    // Below 2^-16: non-zero, but zero at every f <= 15.
    const auto tiny = to_array(activation_stats(torch::tensor({std::ldexp(1.0f, -16)})).hist);
    EXPECT_EQ(tiny[kHistBelowAll], 1.0);
    EXPECT_EQ(nonzero_at(tiny, kMaxFracBits), 0.0);
    EXPECT_EQ(nonzero_float(tiny), 1.0);
}

TEST(Quantise, HistogramReadsAnyLayout) {
    torch::manual_seed(5);
    const torch::Tensor x = torch::relu(torch::randn({3, 5, 4, 6})) * 0.01;
    const auto ref = to_array(activation_stats(x).hist);
    const torch::Tensor cl = x.contiguous(torch::MemoryFormat::ChannelsLast);
    EXPECT_EQ(to_array(activation_stats(cl).hist), ref);
    const torch::Tensor permuted = x.transpose(1, 3);  // dense, read in memory order
    EXPECT_EQ(to_array(activation_stats(permuted).hist), ref);
    EXPECT_EQ(to_array(activation_stats_ops(permuted).hist), ref);
    const torch::Tensor strided = x.slice(3, 0, 6, 2);  // not dense: copied first
    const auto sliced = to_array(activation_stats(strided.contiguous()).hist);
    EXPECT_EQ(to_array(activation_stats(strided).hist), sliced);
    EXPECT_EQ(to_array(activation_stats_ops(strided).hist), sliced);
    EXPECT_NE(sliced, ref);
}

TEST(Quantise, LargeMapsSplitOverThreads) {
    const int threads = at::get_num_threads();
    at::set_num_threads(2);
    torch::manual_seed(9);
    torch::Tensor x = torch::relu(torch::randn({(1 << 19) + 3})) * 1e-3;
    x[(1 << 19) + 1] = 100.0;  // the maximum, in the second thread's part
    const ActivationStats s = activation_stats(x);
    at::set_num_threads(threads);
    EXPECT_EQ(s.max_abs.item<double>(), 100.0);
    expect_counts_match(x, s, "two threads");
    EXPECT_EQ(to_array(s.hist), to_array(activation_stats_ops(x).hist));
}

}  // namespace
}  // namespace actsparse::trainer
