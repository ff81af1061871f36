#pragma once
/// @file The activation penalty of paper II-C (eq. 8) on LibTorch tensors.
///
/// For a conv input x of one image with d = C*H*W elements:
///   L1(x)    = (1/d) * sum_i |x_i|                       (mean absolute value)
///   Hoyer(x) = (1/d) * (sum_i |x_i|)^2 / (sum_i x_i^2 + eps)
/// Both are computed per image and averaged over the batch (the paper's 1/N sum over n;
/// Kurtz et al. and Yang et al. (DeepHoyer) also take the Hoyer measure per sample). The
/// 1/d makes layers of different sizes comparable: Hoyer/d lies in [1/d, 1] and equals the
/// density for a map whose non-zeros are all equal, so it is a smooth stand-in for the
/// density D_l that the cost model is linear in; L1/d is the mean activation. eps = 1e-8
/// keeps an all-zero map finite: its Hoyer value is 0 and so is its gradient.
///
/// The loss adds sum over penalised layers l of w_l * (lambda1_l * L1 + lambda2_l * Hoyer)
/// with the weights and strengths of trainer/penalty_plan.h. ActivationPenalty computes each
/// layer's terms in one fused autograd node that relies on the penalised maps being
/// non-negative (true of every input_sparse conv input); l1_per_sample and
/// hoyer_per_sample are the general |x| forms, used as its reference in the tests.
#include <torch/torch.h>

#include <map>
#include <vector>

#include "trainer/graph_net.h"
#include "trainer/penalty_plan.h"

namespace actsparse::trainer {

constexpr double kHoyerEps = 1e-8;

/// Per-image mean |x| of x [N, ...]: a tensor [N].
torch::Tensor l1_per_sample(const torch::Tensor& x);
/// Per-image (sum |x|)^2 / (sum x^2 + eps) / d of x [N, ...]: a tensor [N].
torch::Tensor hoyer_per_sample(const torch::Tensor& x, double eps = kHoyerEps);

/// x [N, ...] as [N, d] in memory order: a view for contiguous and channels_last tensors
/// (sums over an image do not care about the order), a copy otherwise.
torch::Tensor flat_view(const torch::Tensor& x);

/// The penalty of one batch.
struct PenaltyValue {
    torch::Tensor total;  ///< scalar, differentiable: the term added to the loss
    torch::Tensor l1;     ///< scalar, detached: sum_l w_l * lambda1_l * L1_l
    torch::Tensor hoyer;  ///< scalar, detached: sum_l w_l * lambda2_l * Hoyer_l
};

class ActivationPenalty;

/// Collects the penalty during one forward pass through GraphNet's hooks: a penalised conv's
/// input is routed through the penalty's autograd node (its gradient then joins the conv's
/// in one pass), or, where the input is a ReLU/ReLU6 that only feeds penalised convs and the
/// tensors are CPU float32, the activation itself is replaced by one that computes the
/// penalty in the same pass (ActivationPenalty's network constructor enables this).
class PenaltyRecorder {
  public:
    explicit PenaltyRecorder(const ActivationPenalty& penalty);
    /// The conv-input tap: x itself for layers without a penalty (or already fused).
    torch::Tensor operator()(int conv_index, const torch::Tensor& x);
    /// The activation hook: act(z) with the penalty fused, or undefined where not fused.
    torch::Tensor activation(int op, const torch::Tensor& z, bool relu6);
    /// Hooks for GraphNetImpl::forward_capture, bound to this recorder.
    ForwardHooks hooks();
    /// The penalty recorded so far.
    PenaltyValue value() const;

  private:
    void record(const torch::autograd::variable_list& out);
    const ActivationPenalty& penalty_;
    std::map<int, int> index_;  ///< conv index -> plan entry
    std::vector<int> fused_;    ///< ops whose activation carried the penalty in this pass
    std::vector<torch::Tensor> terms_, l1_, hoyer_;  ///< per recorded term, scalars
};

class ActivationPenalty {
  public:
    /// `plan` from plan_penalty; `num_conv_layers` is the network's conv layer count.
    ActivationPenalty(std::vector<LayerPenalty> plan, int num_conv_layers);
    /// The same, and fuses the penalty into ReLU/ReLU6 ops of `net` whose every consumer is a
    /// penalised conv (see PenaltyRecorder).
    ActivationPenalty(std::vector<LayerPenalty> plan, const core::Network& net);

    /// Which conv inputs the penalty needs (for GraphNet::forward_capture).
    const std::vector<bool>& needs() const { return needs_; }
    const std::vector<LayerPenalty>& plan() const { return plan_; }
    bool empty() const { return plan_.empty(); }

    /// A fusable activation op: its consumers' summed strengths.
    struct Fused {
        double a = 0.0;  ///< sum of weight * lambda1
        double b = 0.0;  ///< sum of weight * lambda2
    };
    /// Activation ops (by op index) that can carry the penalty of all their consumers.
    const std::map<int, Fused>& fusable() const { return fusable_; }
    /// The op that produces conv layer i's input (-1 without a network).
    int input_op(int conv_index) const {
        return conv_index < static_cast<int>(input_op_.size()) ? input_op_[conv_index] : -1;
    }

    /// The penalty of conv_inputs as from forward_capture (indexed by conv layer), outside
    /// the forward pass (its gradient then reaches the inputs separately). The penalised
    /// inputs must be non-negative (they are: see ConvLayer::input_sparse).
    PenaltyValue operator()(const std::vector<torch::Tensor>& conv_inputs) const;

  private:
    std::vector<LayerPenalty> plan_;
    std::vector<bool> needs_;
    std::map<int, Fused> fusable_;
    std::vector<int> input_op_;
};

}  // namespace actsparse::trainer
