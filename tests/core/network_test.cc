#include "core/network.h"

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "core/error.h"

namespace actsparse::core {
namespace {

const std::vector<std::string> kAllNets = {"mobilenetv2-cifar",
                                           "mobilenetv2-fmnist",
                                           "squeezenet-cifar",
                                           "squeezenet-fmnist",
                                           "inceptionv3-cifar",
                                           "inceptionv3-fmnist",
                                           "mobilenetv1-050-128",
                                           "alexnet",
                                           "vgg16"};

/// PyTorch's pooling output size, written out independently of the builder.
int64_t pool_out(int64_t size, const Op& op) {
    const double exact = static_cast<double>(size + 2 * op.pad - op.kernel) / op.stride;
    int64_t out = static_cast<int64_t>(op.ceil_mode ? std::ceil(exact) : std::floor(exact)) + 1;
    if (op.ceil_mode && (out - 1) * op.stride >= size + op.pad) --out;
    return out;
}

std::vector<std::vector<int>> consumers(const Network& net) {
    std::vector<std::vector<int>> out(net.ops.size());
    for (size_t i = 0; i < net.ops.size(); ++i)
        for (int in : net.ops[i].inputs)
            out[static_cast<size_t>(in)].push_back(static_cast<int>(i));
    return out;
}

/// Recomputes every op's output shape from its inputs and compares it with the description.
void expect_shape_consistent(const Network& net) {
    ASSERT_FALSE(net.ops.empty());
    EXPECT_EQ(net.ops.front().kind, OpKind::kInput);
    std::set<std::string> names;
    for (size_t i = 0; i < net.ops.size(); ++i) {
        const Op& op = net.ops[i];
        SCOPED_TRACE(net.name + ": op " + std::to_string(i) + " " + op.name + " (" +
                     to_string(op.kind) + ")");
        EXPECT_TRUE(names.insert(op.name).second) << "duplicate name";
        EXPECT_GT(op.channels, 0);
        EXPECT_GT(op.height, 0);
        EXPECT_GT(op.width, 0);
        for (int in : op.inputs) ASSERT_TRUE(in >= 0 && static_cast<size_t>(in) < i);
        const bool multi = op.kind == OpKind::kAdd || op.kind == OpKind::kConcat;
        if (op.kind == OpKind::kInput) {
            EXPECT_EQ(i, 0u);
            EXPECT_TRUE(op.inputs.empty());
            continue;
        }
        if (multi)
            ASSERT_GE(op.inputs.size(), 2u);
        else
            ASSERT_EQ(op.inputs.size(), 1u);
        const Op& src = net.ops[static_cast<size_t>(op.inputs[0])];
        switch (op.kind) {
            case OpKind::kConv: {
                const LayerShape& s = op.conv;
                EXPECT_EQ(s.N, 1);
                EXPECT_EQ(s.C, src.channels);
                EXPECT_EQ(s.H, src.height);
                EXPECT_EQ(s.W, src.width);
                EXPECT_EQ(s.M, op.channels);
                EXPECT_EQ(s.P, op.height);
                EXPECT_EQ(s.Q, op.width);
                EXPECT_EQ(s.P, (s.H + 2 * s.Hpad - s.R) / s.Hstride + 1);
                EXPECT_EQ(s.Q, (s.W + 2 * s.Wpad - s.S) / s.Wstride + 1);
                EXPECT_EQ(s.C % s.G, 0);
                EXPECT_EQ(s.M % s.G, 0);
                break;
            }
            case OpKind::kBatchNorm:
            case OpKind::kReLU:
            case OpKind::kReLU6:
            case OpKind::kDropout:
            case OpKind::kLocalResponseNorm:
                EXPECT_EQ(op.channels, src.channels);
                EXPECT_EQ(op.height, src.height);
                EXPECT_EQ(op.width, src.width);
                break;
            case OpKind::kAdd:
                for (int in : op.inputs) {
                    const Op& o = net.ops[static_cast<size_t>(in)];
                    EXPECT_EQ(o.channels, op.channels) << o.name;
                    EXPECT_EQ(o.height, op.height) << o.name;
                    EXPECT_EQ(o.width, op.width) << o.name;
                }
                break;
            case OpKind::kConcat: {
                int64_t sum = 0;
                for (int in : op.inputs) {
                    const Op& o = net.ops[static_cast<size_t>(in)];
                    EXPECT_EQ(o.height, op.height) << o.name;
                    EXPECT_EQ(o.width, op.width) << o.name;
                    sum += o.channels;
                }
                EXPECT_EQ(sum, op.channels);
                break;
            }
            case OpKind::kMaxPool:
            case OpKind::kAvgPool:
                EXPECT_LE(2 * op.pad, op.kernel);
                EXPECT_EQ(op.channels, src.channels);
                EXPECT_EQ(op.height, pool_out(src.height, op));
                EXPECT_EQ(op.width, pool_out(src.width, op));
                break;
            case OpKind::kGlobalAvgPool:
                EXPECT_EQ(op.channels, src.channels);
                EXPECT_EQ(op.height, 1);
                EXPECT_EQ(op.width, 1);
                break;
            case OpKind::kLinear:
                EXPECT_TRUE(op.bias);
                EXPECT_EQ(op.height, 1);
                EXPECT_EQ(op.width, 1);
                break;
            case OpKind::kInput:
                break;
        }
    }
    EXPECT_EQ(net.ops.back().numel(), net.num_classes);
}

TEST(Network, NamesAreTheNineBuiltins) { EXPECT_EQ(builtin_network_names(), kAllNets); }

TEST(Network, EveryGraphIsShapeConsistent) {
    for (const auto& name : kAllNets) {
        const Network net = builtin_network(name);
        EXPECT_EQ(net.name, name);
        expect_shape_consistent(net);
        NetOptions half;
        half.width_mult = 0.5;
        half.num_classes = 100;
        expect_shape_consistent(builtin_network(name, half));
        NetOptions odd;
        odd.width_mult = 0.3;
        expect_shape_consistent(builtin_network(name, odd));
    }
}

TEST(Network, ConvBatchNormActivationStructure) {
    for (const auto& name : kAllNets) {
        SCOPED_TRACE(name);
        const Network net = builtin_network(name);
        const auto users = consumers(net);
        const bool imagenet = name == "alexnet" || name == "vgg16";
        for (size_t i = 0; i < net.ops.size(); ++i) {
            const Op& op = net.ops[i];
            if (op.kind == OpKind::kBatchNorm) {
                EXPECT_EQ(net.ops[static_cast<size_t>(op.inputs[0])].kind, OpKind::kConv);
            }
            if (op.kind != OpKind::kConv) continue;
            SCOPED_TRACE(op.name);
            ASSERT_EQ(users[i].size(), 1u);
            const OpKind next = net.ops[static_cast<size_t>(users[i][0])].kind;
            if (imagenet) {
                // AlexNet/VGG: conv with bias straight into ReLU, no BN.
                EXPECT_TRUE(op.bias);
                EXPECT_EQ(next, OpKind::kReLU);
            } else if (op.name == "conv10") {
                // SqueezeNet's classifier conv: bias, no BN, no activation, then the pool.
                EXPECT_TRUE(op.bias);
                EXPECT_EQ(next, OpKind::kGlobalAvgPool);
            } else {
                // The source keeps nn.Conv2d's default bias in SqueezeNet's BN convs only.
                EXPECT_EQ(op.bias, name.rfind("squeezenet", 0) == 0);
                EXPECT_EQ(next, OpKind::kBatchNorm);
            }
        }
    }
}

TEST(Network, ConvLayerCounts) {
    struct Expect {
        const char* net;
        size_t convs;
        size_t sparse;
    };
    // MobileNet-V2: stem + block 1 (t=1: dw, project) + 16 blocks x (expand, dw, project) +
    //   the 1x1 conv to 1280 = 1 + 2 + 48 + 1 = 52. Sparse inputs: dw and project of all 17
    //   blocks (after ReLU6) = 34; the stem sees the image, expansions and the last conv see
    //   linear bottleneck outputs.
    // SqueezeNet: stem + 8 Fire x (squeeze, expand_1x1, expand_3x3) + conv10 = 26; all but
    //   the stem see ReLU outputs (through pools, concats and the bypass adds) = 25.
    // Inception-V3: stem 5 + 3 A x 7 + B 4 + 4 C x 10 + D 6 + 2 E x 9 = 94; all but the first
    //   stem conv see ReLU outputs (through concats, max- and avg-pools) = 93.
    // MobileNet-0.5-128: stem + 13 x (dw, pw) = 27; all but the stem see ReLU outputs = 26.
    // AlexNet 5 convs, VGG-16 13; all but the first see ReLU (through LRN/max-pool).
    const Expect table[] = {
        {"mobilenetv2-cifar", 52, 34},
        {"mobilenetv2-fmnist", 52, 34},
        {"squeezenet-cifar", 26, 25},
        {"squeezenet-fmnist", 26, 25},
        {"inceptionv3-cifar", 94, 93},
        {"inceptionv3-fmnist", 94, 93},
        {"mobilenetv1-050-128", 27, 26},
        {"alexnet", 5, 4},
        {"vgg16", 13, 12},
    };
    for (const Expect& e : table) {
        SCOPED_TRACE(e.net);
        const auto layers = builtin_network(e.net).conv_layers();
        EXPECT_EQ(layers.size(), e.convs);
        size_t sparse = 0;
        for (size_t i = 0; i < layers.size(); ++i) {
            EXPECT_EQ(layers[i].index, static_cast<int>(i));
            sparse += layers[i].input_sparse ? 1 : 0;
        }
        EXPECT_EQ(sparse, e.sparse);
        EXPECT_FALSE(layers.front().input_sparse) << "the image is not sparse";
        EXPECT_EQ(layers.front().input_name, "input");
    }
}

TEST(Network, AlexNetMacsMatchEyeriss) {
    const Network net = builtin_network("alexnet");
    const auto layers = net.conv_layers();
    ASSERT_EQ(layers.size(), 5u);
    // 55x55x96 x 3x11x11; 27x27x256 x 48x5x5; 13x13x384 x 256x3x3; 13x13x384 x 192x3x3;
    // 13x13x256 x 192x3x3 (groups = 2 halve conv2/4/5's input channels per filter).
    const int64_t expected[] = {105415200, 223948800, 149520384, 112140288, 74760192};
    for (size_t i = 0; i < 5; ++i) EXPECT_EQ(layers[i].shape.macs(), expected[i]) << i;
    EXPECT_EQ(layers[1].shape.G, 2);
    EXPECT_EQ(layers[2].shape.G, 1);
    EXPECT_EQ(layers[0].shape.P, 55);
    EXPECT_NEAR(static_cast<double>(net.conv_macs()), 666e6, 6.66e6);
    EXPECT_EQ(net.conv_macs(4), 4 * net.conv_macs(1));
    EXPECT_EQ(net.ops.back().channels, 1000);
}

TEST(Network, MobileNetV1HalfWidth128MatchesEyerissV2) {
    // Howard et al. 2017 Table 1 at width 0.5, 128x128: the Eyeriss v2 paper's "MobileNet
    // (49.2M MACs)" is the 27 convs (48,648,192) plus the 512 x 1000 FC layer (512,000).
    const Network net = builtin_network("mobilenetv1-050-128");
    const auto layers = net.conv_layers();
    ASSERT_EQ(layers.size(), 27u);
    EXPECT_EQ(net.conv_macs(), 48648192LL);
    EXPECT_EQ(net.conv_macs() + 512 * 1000, 49160192LL);
    EXPECT_EQ(net.input().height, 128);
    EXPECT_EQ(layers[0].name, "conv0");
    EXPECT_EQ(layers[0].shape.M, 16);
    EXPECT_EQ(layers[0].shape.P, 64);
    EXPECT_EQ(layers[0].shape.Hstride, 2);
    for (size_t i = 1; i < layers.size(); ++i) {
        const LayerShape& s = layers[i].shape;
        SCOPED_TRACE(layers[i].name);
        if (i % 2 == 1) {
            EXPECT_EQ(s.G, s.C);  // depthwise 3x3
            EXPECT_EQ(s.M, s.C);
            EXPECT_EQ(s.R, 3);
            EXPECT_EQ(s.Hpad, 1);
        } else {
            EXPECT_EQ(s.G, 1);  // pointwise
            EXPECT_EQ(s.R, 1);
            EXPECT_EQ(s.S, 1);
        }
    }
    EXPECT_EQ(layers.back().name, "conv13.pw");
    EXPECT_EQ(layers.back().shape.M, 512);
    EXPECT_EQ(layers.back().shape.P, 4);
    EXPECT_EQ(net.ops.back().channels, 1000);
    NetOptions half;
    half.width_mult = 0.5;  // on top of the built-in 0.5
    EXPECT_EQ(builtin_network("mobilenetv1-050-128", half).conv_layers().back().shape.M, 256);
}

TEST(Network, Vgg16Macs) {
    const Network net = builtin_network("vgg16");
    EXPECT_NEAR(static_cast<double>(net.conv_macs()), 15.3e9, 0.153e9);
    EXPECT_EQ(net.conv_macs(), 15346630656LL);
    const auto layers = net.conv_layers();
    EXPECT_EQ(layers.back().shape.P, 14);
    EXPECT_EQ(layers.back().shape.C, 512);
}

TEST(Network, MacTotalsOfTheSmallNets) {
    // Totals (batch 1) cross-checked against an independent shape-only Python transcription
    // of the source models (torchvision blocks with CIFAR strides; weiaicunzai's SqueezeNet
    // and Inception-V3); see docs/networks.md.
    const std::map<std::string, int64_t> expected = {
        {"mobilenetv2-cifar", 87963648LL},   {"mobilenetv2-fmnist", 72925824LL},
        {"squeezenet-cifar", 52543488LL},    {"squeezenet-fmnist", 38218240LL},
        {"inceptionv3-cifar", 3390507008LL}, {"inceptionv3-fmnist", 2494245376LL}};
    for (const auto& [name, macs] : expected)
        EXPECT_EQ(builtin_network(name).conv_macs(), macs) << name;
}

TEST(Network, BatchSetsN) {
    const auto layers = builtin_network("squeezenet-cifar").conv_layers(8);
    for (const auto& l : layers) EXPECT_EQ(l.shape.N, 8);
    EXPECT_THROW(builtin_network("vgg16").conv_layers(0), InputError);
}

TEST(Network, MobileNetV2SparseInputsAlternateDepthwisePointwise) {
    const auto layers = builtin_network("mobilenetv2-cifar").conv_layers();
    std::vector<ConvLayer> sparse;
    for (const auto& l : layers)
        if (l.input_sparse) sparse.push_back(l);
    ASSERT_EQ(sparse.size(), 34u);
    for (size_t i = 0; i < sparse.size(); ++i) {
        const LayerShape& s = sparse[i].shape;
        SCOPED_TRACE(sparse[i].name);
        if (i % 2 == 0) {
            EXPECT_EQ(s.G, s.C);  // depthwise 3x3 after the expansion's (or stem's) ReLU6
            EXPECT_EQ(s.M, s.C);
            EXPECT_EQ(s.R, 3);
            EXPECT_NE(sparse[i].name.find(".dw"), std::string::npos);
        } else {
            EXPECT_EQ(s.G, 1);  // pointwise projection after the depthwise ReLU6
            EXPECT_EQ(s.R, 1);
            EXPECT_EQ(s.S, 1);
            EXPECT_NE(sparse[i].name.find(".project"), std::string::npos);
            EXPECT_EQ(sparse[i].input_name, sparse[i - 1].name + ".relu6");
        }
    }
    // The dense-input convs: the stem (image), the 16 expansions and the last 1x1 conv,
    // all fed by the linear (BatchNorm or residual add) bottleneck output.
    for (const auto& l : layers) {
        if (l.input_sparse) continue;
        SCOPED_TRACE(l.name);
        EXPECT_TRUE(l.index == 0 || l.name.find(".expand") != std::string::npos ||
                    l.name == "features.18");
    }
    EXPECT_EQ(layers[0].name, "features.0");
    EXPECT_EQ(layers[0].shape.Hstride, 1);  // CIFAR stem: stride 1
    EXPECT_EQ(layers.back().shape.M, 1280);
    EXPECT_EQ(layers.back().shape.P, 4);
}

TEST(Network, SparsityPropagationRule) {
    auto find = [](const std::vector<ConvLayer>& layers, const std::string& name) {
        for (const auto& l : layers)
            if (l.name == name) return l;
        ADD_FAILURE() << "no conv " << name;
        return ConvLayer{};
    };
    // Sum of two ReLU outputs (SqueezeNet's bypass) is still zero where both are.
    const auto sq = builtin_network("squeezenet-cifar").conv_layers();
    EXPECT_EQ(find(sq, "fire4.squeeze").input_name, "fire3.bypass");
    EXPECT_TRUE(find(sq, "fire4.squeeze").input_sparse);
    EXPECT_EQ(find(sq, "fire5.squeeze").input_name, "fire4.pool");
    EXPECT_TRUE(find(sq, "fire5.squeeze").input_sparse);
    // A residual add of BatchNorm outputs is not.
    const auto mb = builtin_network("mobilenetv2-cifar").conv_layers();
    EXPECT_EQ(find(mb, "features.4.expand").input_name, "features.3.add");
    EXPECT_FALSE(find(mb, "features.4.expand").input_sparse);
    EXPECT_EQ(find(mb, "features.1.dw").input_name, "features.0.relu6");
    EXPECT_TRUE(find(mb, "features.1.dw").input_sparse);
    // Avg-pool of a concat of ReLU outputs.
    const auto in = builtin_network("inceptionv3-cifar").conv_layers();
    EXPECT_EQ(find(in, "Mixed_5c.branchpool.1").input_name, "Mixed_5c.branchpool.0");
    EXPECT_TRUE(find(in, "Mixed_5c.branchpool.1").input_sparse);
    // Max-pool of LRN of ReLU.
    const auto ax = builtin_network("alexnet").conv_layers();
    EXPECT_EQ(find(ax, "conv2").input_name, "pool1");
    EXPECT_TRUE(find(ax, "conv2").input_sparse);
}

TEST(Network, InceptionV3FactorisedFiltersAndGrid) {
    const Network cifar = builtin_network("inceptionv3-cifar");
    const Network fmnist = builtin_network("inceptionv3-fmnist");
    auto op = [](const Network& net, const std::string& name) -> const Op& {
        for (const auto& o : net.ops)
            if (o.name == name) return o;
        ADD_FAILURE() << "no op " << name;
        return net.ops.front();
    };
    const LayerShape& s71 = op(cifar, "Mixed_6b.branch7x7.1").conv;
    EXPECT_EQ(s71.R, 7);
    EXPECT_EQ(s71.S, 1);
    EXPECT_EQ(s71.Hpad, 3);
    EXPECT_EQ(s71.Wpad, 0);
    const LayerShape& s17 = op(cifar, "Mixed_6b.branch7x7.2").conv;
    EXPECT_EQ(s17.R, 1);
    EXPECT_EQ(s17.S, 7);
    EXPECT_EQ(s17.Hpad, 0);
    EXPECT_EQ(s17.Wpad, 3);
    int non_square = 0;
    for (const auto& l : cifar.conv_layers()) non_square += l.shape.R != l.shape.S ? 1 : 0;
    // C: 6 per module x 4, D: 2, E: 4 per module x 2.
    EXPECT_EQ(non_square, 34);
    // 32 -> 30 (Conv2d_4a_3x3 unpadded) -> 14 (Mixed_6a) -> 6 (Mixed_7a); 28 -> 26 -> 12 -> 5.
    const std::map<std::string, std::pair<int64_t, int64_t>> grid = {
        {"Mixed_5d.cat", {30, 26}}, {"Mixed_6a.cat", {14, 12}}, {"Mixed_7a.cat", {6, 5}}};
    for (const auto& [name, sizes] : grid) {
        EXPECT_EQ(op(cifar, name).height, sizes.first) << name;
        EXPECT_EQ(op(fmnist, name).height, sizes.second) << name;
    }
    EXPECT_EQ(op(cifar, "Mixed_5b.cat").channels, 256);
    EXPECT_EQ(op(cifar, "Mixed_6a.cat").channels, 768);
    EXPECT_EQ(op(cifar, "Mixed_7a.cat").channels, 1280);
    EXPECT_EQ(op(cifar, "Mixed_7c.cat").channels, 2048);
}

TEST(Network, FashionMnistFormsTakeOneChannel) {
    for (const std::string base : {"mobilenetv2", "squeezenet", "inceptionv3"}) {
        SCOPED_TRACE(base);
        const Network f = builtin_network(base + "-fmnist");
        const Network c = builtin_network(base + "-cifar");
        EXPECT_EQ(f.input().channels, 1);
        EXPECT_EQ(f.input().height, 28);
        EXPECT_EQ(f.input().width, 28);
        EXPECT_EQ(c.input().channels, 3);
        EXPECT_EQ(c.input().height, 32);
        const auto fl = f.conv_layers();
        EXPECT_EQ(fl.front().shape.C, 1);
        EXPECT_EQ(fl.front().shape.H, 28);
        EXPECT_EQ(c.conv_layers().front().shape.C, 3);
        EXPECT_EQ(f.num_classes, 10);
    }
}

TEST(Network, WidthMultHalvesChannels) {
    NetOptions half;
    half.width_mult = 0.5;
    for (const std::string name : {"squeezenet-cifar", "inceptionv3-fmnist", "alexnet", "vgg16"}) {
        SCOPED_TRACE(name);
        const auto full = builtin_network(name).conv_layers();
        const auto narrow = builtin_network(name, half).conv_layers();
        ASSERT_EQ(full.size(), narrow.size());
        for (size_t i = 0; i < full.size(); ++i) {
            SCOPED_TRACE(full[i].name);
            if (full[i].name == "conv10") {
                EXPECT_EQ(narrow[i].shape.M, 10);  // classes are never scaled
                continue;
            }
            EXPECT_EQ(2 * narrow[i].shape.M, full[i].shape.M);
            EXPECT_EQ(i == 0 ? narrow[i].shape.C : 2 * narrow[i].shape.C, full[i].shape.C);
        }
    }
    // MobileNet-V2 rounds to multiples of 8 (torchvision's _make_divisible): 32->16, 16->8,
    // 24->16 (12 rounds up), 32->16, 64->32, 96->48, 160->80, 320->160; the last conv stays
    // 1280 and the expansions are 6x their (scaled) input.
    const Network mb = builtin_network("mobilenetv2-cifar", half);
    std::map<std::string, int64_t> m;
    for (const auto& l : mb.conv_layers()) m[l.name] = l.shape.M;
    EXPECT_EQ(m["features.0"], 16);
    EXPECT_EQ(m["features.1.project"], 8);
    EXPECT_EQ(m["features.2.expand"], 48);
    EXPECT_EQ(m["features.2.project"], 16);
    EXPECT_EQ(m["features.4.project"], 16);
    EXPECT_EQ(m["features.7.project"], 32);
    EXPECT_EQ(m["features.11.project"], 48);
    EXPECT_EQ(m["features.14.project"], 80);
    EXPECT_EQ(m["features.17.project"], 160);
    EXPECT_EQ(m["features.18"], 1280);
    EXPECT_EQ(builtin_network("mobilenetv2-cifar").conv_layers()[0].shape.M, 32);
}

TEST(Network, NumClassesOverride) {
    NetOptions o;
    o.num_classes = 100;
    EXPECT_EQ(builtin_network("mobilenetv2-cifar", o).ops.back().channels, 100);
    EXPECT_EQ(builtin_network("squeezenet-fmnist", o).conv_layers().back().shape.M, 100);
    EXPECT_EQ(builtin_network("vgg16", o).num_classes, 100);
    EXPECT_EQ(builtin_network("inceptionv3-cifar").num_classes, 10);
}

TEST(Network, BadNamesAndOptionsAreInputErrors) {
    try {
        builtin_network("resnet50");
        FAIL() << "no exception";
    } catch (const InputError& e) {
        const std::string what = e.what();
        EXPECT_EQ(what.rfind("--net: unknown network 'resnet50' (known: mobilenetv2-cifar, ", 0),
                  0u)
            << what;
        EXPECT_NE(what.find("vgg16)"), std::string::npos) << what;
    }
    EXPECT_THROW(builtin_network("MobileNetV2-cifar"), InputError);
    NetOptions o;
    o.width_mult = 0.0;
    EXPECT_THROW(builtin_network("vgg16", o), InputError);
    o.width_mult = 1.0;
    o.num_classes = -1;
    EXPECT_THROW(builtin_network("vgg16", o), InputError);
}

TEST(Network, OpKindNames) {
    EXPECT_STREQ(to_string(OpKind::kConv), "conv");
    EXPECT_STREQ(to_string(OpKind::kGlobalAvgPool), "global_avgpool");
    EXPECT_STREQ(to_string(OpKind::kLocalResponseNorm), "lrn");
}

}  // namespace
}  // namespace actsparse::core
