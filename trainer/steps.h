#pragma once
/// @file One training step and one evaluation pass over a dataset split.
#include <torch/torch.h>

#include <array>
#include <cstdint>
#include <functional>
#include <vector>

#include "trainer/datasets.h"
#include "trainer/graph_net.h"
#include "trainer/penalty.h"
#include "trainer/quantise.h"

namespace actsparse::trainer {

/// What a step leaves on the device (read with one transfer, when the caller needs it).
struct StepTensors {
    /// float64 [5]: loss, cross-entropy, weighted L1 term, weighted Hoyer term, correct
    /// predictions in the batch.
    torch::Tensor stats;
    /// float64 [conv layers]: non-zero inputs per counted conv layer in the batch, 0 for the
    /// others (undefined when none is counted).
    torch::Tensor nonzero;
};

/// Forward (capturing the conv inputs the penalty needs and those to count), cross-entropy
/// + penalty, backward, optimizer step. `count` (empty, or one flag per conv layer) selects
/// the layers whose non-zero inputs are counted. The model must be in train mode.
/// `after_backward` (may be empty) runs between the backward pass and the optimizer step
/// (data-parallel training averages the gradients there).
StepTensors train_step(GraphNet& model, torch::optim::Optimizer& optimizer,
                       const ActivationPenalty& penalty, const torch::Tensor& images,
                       const torch::Tensor& labels, const std::vector<bool>& count = {},
                       const std::function<void()>& after_backward = {});

/// Number of non-zero elements of x as a float64 scalar on x's device. `non_negative` (true
/// for input_sparse conv inputs) saves a pass. Counts via sign() and per-image sums, which
/// on CPU is about 5x faster than torch::count_nonzero in LibTorch 1.13.
torch::Tensor nonzero_count(const torch::Tensor& x, bool non_negative);

struct EvalResult {
    double loss = 0.0;      ///< mean cross-entropy
    double accuracy = 0.0;  ///< fraction correct
    int64_t images = 0;
    /// Per conv layer: fraction of non-zero input values (float, before quantisation).
    std::vector<double> density;
    /// With `quantisation_stats`, per conv layer: the histogram of its input values
    /// (trainer/quantise.h: how many stay non-zero at each f) and max |x| over the images;
    /// else empty.
    std::vector<std::array<double, kHistBins>> hist;
    std::vector<double> max_abs;
};

/// Evaluation (eval mode, no gradients) over set.image(idx[...]) in batches, at most
/// `limit_batches` of them when > 0. Restores the model's training mode afterwards.
/// `quantisation_stats` also fills hist and max_abs (the float densities then come from the
/// histograms: the same counts).
EvalResult evaluate(GraphNet& model, const ImageSet& set, const DatasetInfo& info,
                    const std::vector<int64_t>& idx, int64_t batch_size, int64_t limit_batches,
                    const torch::Device& device, bool quantisation_stats = false);

/// Per conv layer, the fraction of input values that stay non-zero when quantised at
/// frac_bits[l] (trainer/quantise.h), from r.hist (which must be filled).
std::vector<double> quantised_density(const EvalResult& r, const std::vector<int64_t>& frac_bits);

/// Mean of density[l] over the conv layers with input_sparse (the ones the penalty targets).
double mean_sparse_density(const std::vector<core::ConvLayer>& layers,
                           const std::vector<double>& density);

}  // namespace actsparse::trainer
