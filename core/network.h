#pragma once
/// @file Network descriptions: one ordered op graph per network, the single source of
/// truth that both the simulator (via conv_layers()) and the trainer (which builds its
/// LibTorch module from the same ops) use, so "layer l" means the same thing everywhere.
///
/// Tensors are NCHW. Every op describes its output per image (channels x height x width);
/// the batch is added by the consumer (conv_layers(batch), the trainer's data loader).
/// Layer semantics are PyTorch's defaults unless an Op field says otherwise; docs/networks.md
/// gives each network's source and the reasoning behind the layer counts.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "core/shape.h"

namespace actsparse::core {

/// What an op computes. Inputs are named by Op::inputs; all ops except kAdd and kConcat take
/// exactly one input, and kInput takes none.
enum class OpKind {
    /// The image, [N, channels, height, width]; always ops[0] and the only kInput.
    kInput,
    /// nn.Conv2d(C, M, (R, S), stride=(Hstride, Wstride), padding=(Hpad, Wpad), groups=G,
    /// bias=Op::bias), shape in Op::conv (N = 1). Where the network has BatchNorm the conv
    /// has bias = false and its only consumer is a kBatchNorm (the exception: SqueezeNet's
    /// source keeps the redundant bias before BN; see docs). AlexNet/VGG convs have
    /// bias = true and feed the activation directly.
    kConv,
    /// nn.BatchNorm2d(channels): affine, eps 1e-5, momentum 0.1 (PyTorch defaults).
    kBatchNorm,
    /// nn.ReLU: max(x, 0).
    kReLU,
    /// nn.ReLU6: min(max(x, 0), 6).
    kReLU6,
    /// Elementwise sum of all inputs (residual / bypass); all inputs have equal shapes.
    kAdd,
    /// Channel concatenation of the inputs, in order (torch.cat(dim=1)); equal H and W.
    kConcat,
    /// nn.MaxPool2d(kernel, stride, pad, ceil_mode); padding acts as -inf.
    kMaxPool,
    /// nn.AvgPool2d(kernel, stride, pad, ceil_mode, count_include_pad).
    kAvgPool,
    /// nn.AdaptiveAvgPool2d(1): -> [N, channels, 1, 1].
    kGlobalAvgPool,
    /// nn.Dropout(dropout_p), elementwise, identity in eval mode.
    kDropout,
    /// Flatten (in_features = input channels*height*width) then nn.Linear(in_features,
    /// channels, bias = Op::bias). Output described as channels x 1 x 1; the trainer's tensor
    /// is [N, channels] and the elementwise ops after it (ReLU, Dropout) apply unchanged.
    kLinear,
    /// nn.LocalResponseNorm(lrn_size, lrn_alpha, lrn_beta, lrn_k) across channels (AlexNet).
    kLocalResponseNorm,
};
/// Lower-case name, e.g. "conv", "batchnorm", "global_avgpool".
const char* to_string(OpKind k);

/// One node of the graph. Inputs are indices of earlier ops (the graph is topologically
/// ordered). Output shape is per image: channels x height x width. The network's output is
/// the last op (numel() == Network::num_classes; flatten it to [N, num_classes]).
struct Op {
    OpKind kind = OpKind::kInput;
    std::string name;  ///< unique within the network, dotted like a PyTorch module path
    std::vector<int> inputs;
    int64_t channels = 0;
    int64_t height = 0;
    int64_t width = 0;
    /// kConv only (N = 1 in the description): C/H/W equal the input op's channels/height/
    /// width, M/P/Q equal this op's channels/height/width. Finalized.
    LayerShape conv;
    bool bias = false;              ///< kConv, kLinear: the layer has a bias vector
    int64_t kernel = 0;             ///< pools: square window
    int64_t stride = 1;             ///< pools
    int64_t pad = 0;                ///< pools: both axes, each side
    bool ceil_mode = false;         ///< pools: PyTorch's ceil_mode output size rule
    bool count_include_pad = true;  ///< kAvgPool: zero padding counts in the divisor
    double dropout_p = 0.0;         ///< kDropout: probability of zeroing an element
    int64_t lrn_size = 0;           ///< kLocalResponseNorm: channels in the window
    double lrn_alpha = 0.0;         ///< kLocalResponseNorm
    double lrn_beta = 0.0;          ///< kLocalResponseNorm
    double lrn_k = 0.0;             ///< kLocalResponseNorm

    int64_t numel() const { return channels * height * width; }
};

/// A conv layer as the simulator and the trainer's penalty see it.
struct ConvLayer {
    int index = 0;     ///< 0-based position among the network's conv layers
    int op = 0;        ///< index into Network::ops
    std::string name;  ///< the conv op's name
    LayerShape shape;  ///< with the requested batch in N
    /// True when the conv's input is the output of a ReLU/ReLU6, or of max-pool, avg-pool,
    /// global avg-pool, LRN, dropout, concat or add ops whose inputs all are (recursively).
    /// Those ops map non-negative inputs to non-negative outputs that are exactly zero
    /// wherever all contributing inputs are zero, so the zeros the ReLU makes survive. These
    /// are the layers whose input activations can be sparse and that the penalty acts on.
    /// The image, BatchNorm outputs (MobileNet-V2's linear bottlenecks) and linear layers
    /// are not sparse.
    bool input_sparse = false;
    std::string input_name;  ///< name of the op that produces the input
};

struct NetOptions {
    /// Not used by builtin_network (the graph is per image); conv_layers(batch) sets N.
    int64_t batch = 1;
    /// Channel width multiplier (trainer option), > 0. MobileNet-V2 rounds like torchvision's
    /// _make_divisible (multiples of 8, last conv never below 1280); AlexNet rounds to even
    /// counts (groups = 2); the others round to the nearest integer (at least 1). Image
    /// channels, classes and the hidden FC widths of AlexNet/VGG are never scaled.
    double width_mult = 1.0;
    int64_t num_classes = 0;  ///< 0: the dataset's default (10 for cifar/fmnist, 1000 imagenet)
};

struct Network {
    std::string name;  ///< e.g. "mobilenetv2-cifar"
    int64_t num_classes = 0;
    std::vector<Op> ops;
    /// True for a network given as a list of conv layers (a folder of Timeloop problem
    /// files, layer_list_network()): its ops are the input, then per layer a kConv and a
    /// kReLU, each conv reading the previous layer's ReLU. What lies between two layers is
    /// not described, so their shapes need not chain (the builtin invariant "conv C/H/W
    /// equal the input op's" holds for the first layer only) and it has no classifier
    /// (num_classes 0): the simulator and calibration take it, the trainer does not.
    bool layer_list = false;

    /// The conv ops in op order, with N = batch. Throws InputError("--batch") when batch < 1.
    std::vector<ConvLayer> conv_layers(int64_t batch = 1) const;
    /// Sum of the conv layers' dense MACs at this batch.
    int64_t conv_macs(int64_t batch = 1) const;
    const Op& input() const { return ops.front(); }
};

/// Names: mobilenetv2|squeezenet|inceptionv3 + "-cifar" (32x32x3) or "-fmnist" (28x28x1),
/// alexnet (227x227x3 ImageNet), vgg16 (224x224x3 ImageNet), mobilenetv1-050-128 (MobileNet v1
/// at width 0.5, 128x128x3 ImageNet: the Eyeriss v2 paper's). Throws InputError("--net", ...)
/// on unknown names and InputError("width_mult"/"num_classes", ...) on bad options.
Network builtin_network(const std::string& name, const NetOptions& opts = {});
std::vector<std::string> builtin_network_names();

/// A network of free-standing conv layers, in order (see Network::layer_list): the first
/// reads the image (dense input), every later one the ReLU of the one before (sparse
/// input), as in AlexNet and VGG. Shapes are finalized with `name: layer` in errors; N is
/// set by conv_layers(batch). Throws InputError(name, ...) when `layers` is empty or two
/// layers share a name.
Network layer_list_network(const std::string& name,
                           const std::vector<std::pair<std::string, LayerShape>>& layers);

}  // namespace actsparse::core
