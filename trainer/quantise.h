#pragma once
/// @file The one fixed-point rule of the trainer, used by the run summary (densities as the
/// accelerator sees them) and by `trace export` (the traces): int16 values with f fraction
/// bits, value = round(x * 2^f) (half to even) saturated to [-32768, 32767], one f per layer
/// for its ifmap and weights (BatchNorm folded in). LibTorch: include only from trainer
/// sources (train.h stays free of it).
#include <torch/torch.h>

#include <array>
#include <cstdint>

#include "trainer/graph_net.h"

namespace actsparse::trainer {

constexpr int64_t kMaxFracBits = 15;

/// The largest f in [0, 15] with max_abs * 2^f <= 32767 (15 for an all-zero tensor).
int64_t frac_bits_for(double max_abs);

/// round(x * 2^f) (half to even, in float64: exact for float32 x) saturated to int16; the
/// int16 values as a contiguous tensor, and the number of clipped values in *saturated.
torch::Tensor quantise(const torch::Tensor& x, int64_t f, int64_t* saturated);

/// Conv layer i's weights and bias as the accelerator runs them, float64 on the CPU: where
/// the conv's only consumer is a BatchNorm (eval mode, running statistics), it is folded in:
/// W'[m] = W[m] * g[m], g = gamma / sqrt(running_var + eps), bias' = beta + (bias -
/// running_mean) * g. Otherwise the conv's own weights and bias (zeros without one).
struct FoldedConv {
    torch::Tensor weight;  ///< [M, C/G, R, S]
    torch::Tensor bias;    ///< [M]
    bool bn_folded = false;
};
FoldedConv fold_conv(GraphNet& model, int i);

/// Bins of an activation histogram: bin f in [0, 15] counts the non-zero values whose
/// quantised value is first non-zero at f fraction bits (round(|x| 2^f) != 0 iff
/// |x| > 2^-(f+1), so every larger f keeps them), bin 16 the non-zero values that quantise
/// to 0 at every f <= 15, bin 17 the exact zeros.
constexpr int64_t kHistBins = kMaxFracBits + 3;
constexpr int64_t kHistBelowAll = kMaxFracBits + 1;
constexpr int64_t kHistZero = kMaxFracBits + 2;

/// What a pass over activations keeps per layer: the histogram above and max |x|.
struct ActivationStats {
    torch::Tensor hist;     ///< float64 [kHistBins], on x's device (exact below 2^53)
    torch::Tensor max_abs;  ///< float64 scalar, on x's device
};

/// The histogram and max |x| of a float32 tensor (any layout). On the CPU one pass over
/// the data; elsewhere a few tensor ops on the device (activation_stats_ops).
ActivationStats activation_stats(const torch::Tensor& x);
/// The same with tensor ops only (what runs on CUDA; any device, for tests).
ActivationStats activation_stats_ops(const torch::Tensor& x);

/// Values that stay non-zero when quantised at f fraction bits: hist[0] + ... + hist[f].
double nonzero_at(const std::array<double, kHistBins>& hist, int64_t f);
/// Non-zero values before quantisation: every bin but the zeros.
double nonzero_float(const std::array<double, kHistBins>& hist);

}  // namespace actsparse::trainer
