#include "trainer/quantise.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <thread>
#include <vector>

#include "core/error.h"

namespace actsparse::trainer {

int64_t frac_bits_for(double max_abs) {
    if (!(max_abs > 0.0)) return kMaxFracBits;
    const double f = std::floor(std::log2(32767.0 / max_abs));
    return static_cast<int64_t>(std::max(0.0, std::min(static_cast<double>(kMaxFracBits), f)));
}

torch::Tensor quantise(const torch::Tensor& x, int64_t f, int64_t* saturated) {
    const torch::Tensor scaled = torch::round(x.to(torch::kFloat64) * std::ldexp(1.0, f));
    *saturated = (scaled.abs() > 32767.0).sum().item<int64_t>();
    return scaled.clamp(-32768.0, 32767.0).to(torch::kInt16).contiguous();
}

FoldedConv fold_conv(GraphNet& model, int i) {
    FoldedConv r;
    auto conv = model->conv(i);
    r.weight = conv->weight.detach().to(torch::kCPU, torch::kFloat64).contiguous();
    const int64_t m = r.weight.size(0);
    r.bias = conv->options.bias() ? conv->bias.detach().to(torch::kCPU, torch::kFloat64)
                                  : torch::zeros({m}, torch::kFloat64);
    auto bn = model->bn_after(i);
    r.bn_folded = !bn.is_empty();
    if (r.bn_folded) {
        const torch::Tensor g =
            bn->weight.detach().to(torch::kCPU, torch::kFloat64) /
            torch::sqrt(bn->running_var.to(torch::kCPU, torch::kFloat64) + bn->options.eps());
        r.weight = r.weight * g.view({-1, 1, 1, 1});
        r.bias = bn->bias.detach().to(torch::kCPU, torch::kFloat64) +
                 (r.bias - bn->running_mean.to(torch::kCPU, torch::kFloat64)) * g;
    }
    return r;
}

namespace {

// The histogram works on the bits of |x| as float32: for a = bits(|x|) (non-negative floats
// order like their bits), |x| > 2^-(f+1) = bits (126 - f) << 23 iff (a - 1) >> 23 >= 126 - f,
// so with k = (a + 2^23 - 1) >> 23 (0 for a zero, else 1 + ((a - 1) >> 23), at most 255 for
// finite values and inf) the first f that keeps x is max(0, 126 - (k - 1)). Denormals get
// k = 1 (below every f). NaN bit patterns are clamped to inf's, so k is in [0, 255].
constexpr int64_t kRawBins = 256;

constexpr uint32_t kAbsMask = 0x7fffffffu;
constexpr uint32_t kInfBits = 0x7f800000u;

int64_t bin_of_raw(int64_t k) {
    if (k == 0) return kHistZero;
    return std::min<int64_t>(kHistBelowAll, std::max<int64_t>(0, 127 - k));
}

const std::array<int64_t, kRawBins>& raw_to_bin() {
    static const std::array<int64_t, kRawBins> table = [] {
        std::array<int64_t, kRawBins> t{};
        for (int64_t k = 0; k < kRawBins; ++k) t[k] = bin_of_raw(k);
        return t;
    }();
    return table;
}

void check_float32(const torch::Tensor& x) {
    if (x.scalar_type() != torch::kFloat32)
        core::model_bug("trainer::activation_stats", "activations must be float32");
}

}  // namespace

ActivationStats activation_stats_ops(const torch::Tensor& x) {
    check_float32(x);
    const auto dev = x.device();
    const torch::Tensor bits = x.contiguous().view(torch::kInt32).reshape({-1});
    const torch::Tensor a =
        bits.bitwise_and(static_cast<int64_t>(kAbsMask)).clamp_max(static_cast<int64_t>(kInfBits));
    const torch::Tensor k = (a + ((int64_t{1} << 23) - 1)).__rshift__(23).to(torch::kInt64);
    const torch::Tensor raw = torch::bincount(k, {}, kRawBins).to(torch::kFloat64);
    const auto& table = raw_to_bin();
    const torch::Tensor index =
        torch::tensor(std::vector<int64_t>(table.begin(), table.end()), torch::kInt64).to(dev);
    ActivationStats s;
    s.hist = torch::zeros({kHistBins}, raw.options()).index_add_(0, index, raw);
    s.max_abs = x.numel() > 0 ? x.abs().max().to(torch::kFloat64) : torch::zeros({}, raw.options());
    return s;
}

namespace {

/// Raw bins and the largest |x| bits of p[0, n).
struct RawCounts {
    // Four interleaved histograms, so that runs of values in one bin do not wait on each
    // other's increments.
    std::array<std::array<int64_t, kRawBins>, 4> raw{};
    uint32_t max_bits = 0;

    void scan(const float* p, int64_t n) {
        auto one = [this](int lane, float v) {
            uint32_t b;
            std::memcpy(&b, &v, sizeof b);
            b = std::min(b & kAbsMask, kInfBits);
            max_bits = std::max(max_bits, b);
            ++raw[lane][(b + ((1u << 23) - 1)) >> 23];
        };
        int64_t i = 0;
        for (; i + 4 <= n; i += 4) {
            one(0, p[i]);
            one(1, p[i + 1]);
            one(2, p[i + 2]);
            one(3, p[i + 3]);
        }
        for (; i < n; ++i) one(0, p[i]);
    }
};

}  // namespace

ActivationStats activation_stats(const torch::Tensor& x) {
    check_float32(x);
    if (!x.device().is_cpu()) return activation_stats_ops(x);
    // Any dense layout (channels_last included) is read in memory order; the counts do not
    // depend on the order.
    const torch::Tensor c = x.is_non_overlapping_and_dense() ? x : x.contiguous();
    const float* p = c.data_ptr<float>();
    const int64_t n = c.numel();
    // Large maps are split over LibTorch's thread count (a thread start costs ~20 us against
    // the milliseconds of a batch's map), the first part on this thread.
    constexpr int64_t kMinPerThread = int64_t{1} << 18;
    const int64_t parts =
        std::max<int64_t>(1, std::min<int64_t>(at::get_num_threads(), n / kMinPerThread));
    std::vector<RawCounts> counts(static_cast<size_t>(parts));
    std::vector<std::thread> threads;
    const int64_t chunk = (n + parts - 1) / parts;
    for (int64_t t = 1; t < parts; ++t) {
        const int64_t begin = t * chunk, end = std::min(n, begin + chunk);
        threads.emplace_back([&counts, p, t, begin, end] {
            counts[static_cast<size_t>(t)].scan(p + begin, end - begin);
        });
    }
    counts[0].scan(p, std::min(n, chunk));
    for (auto& th : threads) th.join();

    std::array<double, kHistBins> hist{};
    uint32_t max_bits = 0;
    const auto& table = raw_to_bin();
    for (const auto& part : counts) {
        max_bits = std::max(max_bits, part.max_bits);
        for (const auto& lane : part.raw)
            for (int64_t k = 0; k < kRawBins; ++k) hist[table[k]] += static_cast<double>(lane[k]);
    }
    float max_abs;
    std::memcpy(&max_abs, &max_bits, sizeof max_abs);
    ActivationStats s;
    s.hist = torch::tensor(std::vector<double>(hist.begin(), hist.end()), torch::kFloat64);
    s.max_abs = torch::tensor(static_cast<double>(max_abs), torch::kFloat64);
    return s;
}

double nonzero_at(const std::array<double, kHistBins>& hist, int64_t f) {
    if (f < 0 || f > kMaxFracBits) core::model_bug("trainer::nonzero_at", "f outside [0, 15]");
    double n = 0.0;
    for (int64_t b = 0; b <= f; ++b) n += hist[b];
    return n;
}

double nonzero_float(const std::array<double, kHistBins>& hist) {
    double n = 0.0;
    for (int64_t b = 0; b < kHistZero; ++b) n += hist[b];
    return n;
}

}  // namespace actsparse::trainer
