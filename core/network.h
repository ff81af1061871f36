#pragma once
/// @file Network descriptions: one ordered op graph per network, the single source of
/// truth that both the simulator (via conv_layers()) and the trainer (which builds its
/// LibTorch module from the same ops) use, so "layer l" means the same thing everywhere.
#include <cstdint>
#include <string>
#include <vector>

#include "core/shape.h"

namespace actsparse::core {

enum class OpKind {
    kInput,          ///< the image, [N, channels, height, width]
    kConv,           ///< conv without bias (a BatchNorm follows where the net has one)
    kBatchNorm,
    kReLU,
    kReLU6,
    kAdd,            ///< elementwise sum of inputs (residual)
    kConcat,         ///< channel concatenation of inputs, in order
    kMaxPool,
    kAvgPool,
    kGlobalAvgPool,  ///< -> [N, channels, 1, 1]
    kDropout,
    kLinear,         ///< flatten + fully connected, -> [N, out_features]
};
const char* to_string(OpKind k);

/// One node of the graph. Inputs are indices of earlier ops (the graph is topologically
/// ordered). Output shape is per image: channels x height x width.
struct Op {
    OpKind kind = OpKind::kInput;
    std::string name;
    std::vector<int> inputs;
    int64_t channels = 0;
    int64_t height = 0;
    int64_t width = 0;
    LayerShape conv;         ///< kConv only (N = 1 in the description)
    int64_t kernel = 0;      ///< pools
    int64_t stride = 1;      ///< pools
    int64_t pad = 0;         ///< pools
    bool ceil_mode = false;  ///< pools
    double dropout_p = 0.0;  ///< kDropout
};

/// A conv layer as the simulator and the trainer's penalty see it.
struct ConvLayer {
    int index = 0;        ///< 0-based position among the network's conv layers
    int op = 0;           ///< index into Network::ops
    std::string name;
    LayerShape shape;     ///< with the requested batch in N
    /// True when the conv's input comes from a ReLU/ReLU6 (directly or through max-pool or
    /// concat of such): these are the layers whose input activations can be sparse and
    /// that the penalty acts on.
    bool input_sparse = false;
    std::string input_name;  ///< name of the op that produces the input
};

struct NetOptions {
    int64_t batch = 1;
    double width_mult = 1.0;   ///< channel width multiplier (trainer option)
    int64_t num_classes = 0;   ///< 0: the dataset's default (10 for cifar/fmnist, 1000 imagenet)
};

struct Network {
    std::string name;   ///< e.g. "mobilenetv2-cifar"
    int64_t num_classes = 0;
    std::vector<Op> ops;

    std::vector<ConvLayer> conv_layers(int64_t batch = 1) const;
    int64_t conv_macs(int64_t batch = 1) const;
    const Op& input() const { return ops.front(); }
};

/// Names: mobilenetv2|squeezenet|inceptionv3 + "-cifar" (32x32x3) or "-fmnist" (28x28x1),
/// alexnet, vgg16 (224x224x3 ImageNet). Throws InputError("--net", ...) on unknown names.
Network builtin_network(const std::string& name, const NetOptions& opts = {});
std::vector<std::string> builtin_network_names();

}  // namespace actsparse::core
