#pragma once
/// @file The LibTorch model built from a core::Network op graph: one child module per conv,
/// BatchNorm, linear and LRN op, registered under the op's name (dots become '_', since
/// LibTorch module names may not contain dots), and a forward pass that walks the ops in
/// order. Conv layer i of the model is Network::conv_layers()[i] by construction, and the
/// forward pass hands out each conv's input tensor (the one it already holds, no copy) for
/// the activation penalty, density statistics and trace export.
#include <torch/torch.h>

#include <functional>
#include <string>
#include <vector>

#include "core/network.h"

namespace actsparse::trainer {

/// The result of a forward pass that keeps conv inputs.
struct ForwardOutput {
    torch::Tensor logits;  ///< [N, num_classes]
    /// conv_inputs[i] is conv layer i's input [N, C, H, W] where requested, else undefined.
    std::vector<torch::Tensor> conv_inputs;
};

/// Optional hooks into GraphNetImpl::forward_capture (the activation penalty uses them).
struct ForwardHooks {
    /// Called with (conv index, input) for each captured conv input; the conv reads what it
    /// returns (the same data, routed through an autograd node of the caller's).
    std::function<torch::Tensor(int conv_index, const torch::Tensor& x)> conv_input;
    /// Called for each ReLU/ReLU6 op with (op index, its input, is ReLU6); a defined result
    /// replaces the op's output (which must equal relu/relu6 of the input).
    std::function<torch::Tensor(int op, const torch::Tensor& z, bool relu6)> activation;
};

class GraphNetImpl : public torch::nn::Module {
  public:
    explicit GraphNetImpl(const core::Network& net);

    /// Logits [N, num_classes] of images [N, C, H, W].
    torch::Tensor forward(const torch::Tensor& x);
    /// Logits plus the inputs of the conv layers with capture[i] true (capture.size() equals
    /// the number of conv layers). The tensors are the graph's own, so gradients flow
    /// through a penalty computed from them.
    /// `hooks` (may be null) see ForwardHooks; conv_inputs holds what the convs' producers
    /// made, before any conv_input hook.
    ForwardOutput forward_capture(const torch::Tensor& x, const std::vector<bool>& capture,
                                  const ForwardHooks* hooks = nullptr);

    const core::Network& network() const { return net_; }
    /// Network::conv_layers(1), kept for lookups.
    const std::vector<core::ConvLayer>& conv_layers() const { return layers_; }
    /// Conv layer i's module.
    torch::nn::Conv2d conv(int i) const { return convs_.at(i); }
    /// The BatchNorm that is the only consumer of conv layer i, or an empty holder.
    torch::nn::BatchNorm2d bn_after(int i) const { return bn_after_.at(i); }
    /// Converts 4-d parameters to channels_last (a no-op for their values).
    void to_channels_last();

    /// In training mode, BatchNorm ops call `fn` instead of their module (data-parallel
    /// training: statistics over all ranks' batches); an empty function restores the module.
    using BatchNormFn =
        std::function<torch::Tensor(torch::nn::BatchNorm2dImpl& bn, const torch::Tensor& x)>;
    void set_batch_norm(BatchNormFn fn) { batch_norm_ = std::move(fn); }

    /// Dropout masks of the next training forward passes: sample k of the batch draws its
    /// mask from SplitMix64(mix_seed(seed, first_sample + k, dropout op)), so a sample's mask
    /// depends on its place in the global batch, not on how the batch is split over ranks
    /// or on the device. Call before every training step.
    void set_dropout_seed(uint64_t seed, int64_t first_sample) {
        dropout_seed_ = seed, dropout_first_ = first_sample;
    }

  private:
    torch::Tensor dropout(const torch::Tensor& a, double p, size_t op) const;
    BatchNormFn batch_norm_;
    uint64_t dropout_seed_ = 0;
    int64_t dropout_first_ = 0;
    core::Network net_;
    std::vector<core::ConvLayer> layers_;
    std::vector<int> conv_of_op_;                ///< op -> conv layer index, or -1
    std::vector<int> last_use_;                  ///< op -> last op that reads it
    std::vector<torch::nn::AnyModule> modules_;  ///< per op; empty for parameter-free ops
    std::vector<torch::nn::Conv2d> convs_;
    std::vector<torch::nn::BatchNorm2d> bn_after_;
};
TORCH_MODULE(GraphNet);

/// The child-module name of an op: its name with '.' replaced by '_'.
std::string module_name(const std::string& op_name);

}  // namespace actsparse::trainer
