// The LibTorch model built from a Network: its conv layers are the description's, and the
// conv inputs a forward pass sees have the described shapes.
#include "trainer/graph_net.h"

#include <gtest/gtest.h>

#include <functional>
#include <map>

#include "core/network.h"
#include "trainer/penalty.h"

namespace actsparse::trainer {
namespace {

using core::Network;
using core::Op;
using core::OpKind;

/// A small graph with every op kind the trainer runs: conv (grouped, with and without
/// bias), BN, ReLU, ReLU6, max/avg/global pooling, concat, add, dropout, linear.
class TinyNet {
  public:
    TinyNet() {
        Op in;
        in.kind = OpKind::kInput;
        in.name = "input";
        in.channels = 3;
        in.height = 8;
        in.width = 8;
        net_.name = "tiny";
        net_.num_classes = 10;
        net_.ops.push_back(in);
        int x = conv("stem", 0, 8, 3, 1, 1, 1, false);
        x = unary(OpKind::kReLU, "stem.relu", unary(OpKind::kBatchNorm, "stem.bn", x));
        const int pool = pooling(OpKind::kMaxPool, "pool", x, 2, 2, 0);
        int a = conv("a", pool, 4, 1, 1, 0, 1, false);
        a = unary(OpKind::kReLU, "a.relu", unary(OpKind::kBatchNorm, "a.bn", a));
        int b = conv("b", pool, 4, 3, 1, 1, 1, false);
        b = unary(OpKind::kReLU6, "b.relu6", unary(OpKind::kBatchNorm, "b.bn", b));
        const int cat = multi(OpKind::kConcat, "cat", {a, b}, 8);
        const int sum = multi(OpKind::kAdd, "add", {cat, pool}, 8);
        int dw = conv("dw", sum, 8, 3, 2, 1, 8, true);
        const int lin_in = conv("pw", unary(OpKind::kReLU, "dw.relu", dw), 16, 1, 1, 0, 1, false);
        int y = pooling(OpKind::kAvgPool, "avg", lin_in, 2, 1, 0);
        y = unary(OpKind::kGlobalAvgPool, "gap", y);
        net_.ops.back().height = net_.ops.back().width = 1;
        y = unary(OpKind::kDropout, "drop", y);
        net_.ops.back().dropout_p = 0.5;
        Op fc = net_.ops[y];
        fc.kind = OpKind::kLinear;
        fc.name = "fc";
        fc.inputs = {y};
        fc.channels = 10;
        fc.bias = true;
        net_.ops.push_back(fc);
    }
    const Network& net() const { return net_; }

  private:
    int push(Op op) {
        net_.ops.push_back(op);
        return static_cast<int>(net_.ops.size()) - 1;
    }
    int unary(OpKind k, const std::string& name, int in) {
        Op op = net_.ops[in];
        op.kind = k;
        op.name = name;
        op.inputs = {in};
        op.bias = false;
        return push(op);
    }
    int multi(OpKind k, const std::string& name, std::vector<int> ins, int64_t channels) {
        Op op = net_.ops[ins[0]];
        op.kind = k;
        op.name = name;
        op.inputs = ins;
        op.channels = channels;
        return push(op);
    }
    int pooling(OpKind k, const std::string& name, int in, int64_t kernel, int64_t stride,
                int64_t pad) {
        Op op = net_.ops[in];
        op.kind = k;
        op.name = name;
        op.inputs = {in};
        op.kernel = kernel;
        op.stride = stride;
        op.pad = pad;
        op.height = (op.height + 2 * pad - kernel) / stride + 1;
        op.width = (op.width + 2 * pad - kernel) / stride + 1;
        return push(op);
    }
    int conv(const std::string& name, int in, int64_t m, int64_t k, int64_t stride, int64_t pad,
             int64_t groups, bool bias) {
        const Op& src = net_.ops[in];
        core::LayerShape s;
        s.C = src.channels;
        s.M = m;
        s.R = s.S = k;
        s.H = src.height;
        s.W = src.width;
        s.Hstride = s.Wstride = stride;
        s.Hpad = s.Wpad = pad;
        s.G = groups;
        s.P = (s.H + 2 * pad - k) / stride + 1;
        s.Q = (s.W + 2 * pad - k) / stride + 1;
        s.finalize(name);
        Op op;
        op.kind = OpKind::kConv;
        op.name = name;
        op.inputs = {in};
        op.channels = m;
        op.height = s.P;
        op.width = s.Q;
        op.conv = s;
        op.bias = bias;
        return push(op);
    }
    Network net_;
};

/// Checks the model against the description with a forward pass at batch `n`.
void expect_matches_description(const Network& net, int64_t n) {
    SCOPED_TRACE(net.name);
    torch::manual_seed(3);
    GraphNet model(net);
    model->eval();
    const auto want = net.conv_layers(n);
    const auto& have = model->conv_layers();
    ASSERT_EQ(have.size(), want.size());
    for (size_t i = 0; i < want.size(); ++i) {
        SCOPED_TRACE(want[i].name);
        EXPECT_EQ(have[i].name, want[i].name);
        EXPECT_EQ(have[i].op, want[i].op);
        EXPECT_EQ(have[i].input_sparse, want[i].input_sparse);
        const auto& s = want[i].shape;
        auto conv = model->conv(static_cast<int>(i));
        EXPECT_EQ(conv->weight.sizes(), torch::IntArrayRef({s.M, s.C / s.G, s.R, s.S}));
        EXPECT_EQ(conv->options.groups(), s.G);
        EXPECT_EQ(conv->options.bias(), net.ops[want[i].op].bias);
        // Registered under the op's name, so checkpoints are readable.
        EXPECT_TRUE(model->named_children().contains(module_name(want[i].name)));
    }

    const auto& in = net.input();
    const torch::Tensor x = torch::randn({n, in.channels, in.height, in.width})
                                .contiguous(torch::MemoryFormat::ChannelsLast);
    torch::NoGradGuard no_grad;
    const ForwardOutput out = model->forward_capture(x, std::vector<bool>(want.size(), true));
    EXPECT_EQ(out.logits.sizes(), torch::IntArrayRef({n, net.num_classes}));
    for (size_t i = 0; i < want.size(); ++i) {
        SCOPED_TRACE(want[i].name);
        const auto& s = want[i].shape;
        const torch::Tensor& ci = out.conv_inputs[i];
        ASSERT_TRUE(ci.defined());
        EXPECT_EQ(ci.sizes(), torch::IntArrayRef({s.N, s.C, s.H, s.W}));
        const torch::Tensor y = model->conv(static_cast<int>(i))->forward(ci);
        EXPECT_EQ(y.sizes(), torch::IntArrayRef({s.N, s.M, s.P, s.Q}));
        if (want[i].input_sparse) {
            EXPECT_GE(ci.min().item<float>(), 0.0f);  // ReLU output (or pooled/concat of it)
        } else {
            EXPECT_LT(ci.min().item<float>(), 0.0f);  // image / BatchNorm output
        }
    }
    // Capturing hands out the graph's own tensors: the plain forward gives the same logits.
    EXPECT_TRUE(torch::equal(model->forward(x), out.logits));
}

TEST(GraphNet, HandBuiltGraphMatchesDescription) {
    TinyNet tiny;
    expect_matches_description(tiny.net(), 2);
    GraphNet model(tiny.net());
    EXPECT_FALSE(model->bn_after(0).is_empty());  // stem -> stem.bn
    EXPECT_TRUE(model->bn_after(3).is_empty());   // dw feeds a ReLU directly
    EXPECT_TRUE(model->named_children().contains("stem_bn"));
    EXPECT_TRUE(model->named_children().contains("fc"));
}

TEST(GraphNet, CaptureOnlyWhatIsAsked) {
    TinyNet tiny;
    GraphNet model(tiny.net());
    const torch::Tensor x = torch::randn({1, 3, 8, 8});
    const auto out = model->forward_capture(x, {false, true, false, false, true});
    EXPECT_FALSE(out.conv_inputs[0].defined());
    EXPECT_TRUE(out.conv_inputs[1].defined());
    EXPECT_TRUE(out.conv_inputs[4].defined());
}

TEST(GraphNet, GradientsReachEveryParameter) {
    TinyNet tiny;
    GraphNet model(tiny.net());
    model->train();
    const torch::Tensor x = torch::randn({4, 3, 8, 8});
    model->forward(x).pow(2).sum().backward();
    for (const auto& p : model->named_parameters()) {
        ASSERT_TRUE(p.value().grad().defined()) << p.key();
    }
}

/// Parameter gradients of logits.sum() * 0.01 + penalty, with the penalty computed by `how`:
/// 0 as training does (fused into the activations where possible, else tapped into the
/// forward pass), 1 tapped only, 2 from the captured inputs afterwards, 3 composed from the
/// general |x| functions.
std::map<std::string, torch::Tensor> penalised_grads(const Network& net, int how) {
    torch::manual_seed(5);
    GraphNet model(net);
    model->to_channels_last();
    model->eval();  // no dropout: the passes must see the same function
    std::vector<LayerPenalty> plan;
    for (const auto& l : net.conv_layers())
        if (l.input_sparse) {
            LayerPenalty p;
            p.conv_index = l.index;
            p.name = l.name;
            p.weight = 0.5 + l.index;
            p.lambda1 = 0.2;
            p.lambda2 = 0.7;
            plan.push_back(p);
        }
    const ActivationPenalty fused(plan, net);
    const ActivationPenalty tapped(plan, static_cast<int>(net.conv_layers().size()));
    if (how == 0) {
        EXPECT_FALSE(fused.fusable().empty()) << net.name;
    }
    const ActivationPenalty& penalty = how == 0 ? fused : tapped;
    const auto& in = net.input();
    const torch::Tensor x = torch::randn({3, in.channels, in.height, in.width})
                                .contiguous(torch::MemoryFormat::ChannelsLast);
    PenaltyRecorder recorder(penalty);
    const ForwardHooks hooks = recorder.hooks();
    const ForwardOutput out =
        model->forward_capture(x, penalty.needs(), how <= 1 ? &hooks : nullptr);
    torch::Tensor pen;
    if (how <= 1) {
        pen = recorder.value().total;
    } else if (how == 2) {
        pen = penalty(out.conv_inputs).total;
    } else {
        pen = torch::zeros({});
        for (const auto& p : plan) {
            const auto& ci = out.conv_inputs[p.conv_index];
            pen = pen + p.weight * (p.lambda1 * l1_per_sample(ci).mean() +
                                    p.lambda2 * hoyer_per_sample(ci).mean());
        }
    }
    (out.logits.sum() * 0.01 + pen).backward();
    std::map<std::string, torch::Tensor> grads;
    for (const auto& p : model->named_parameters()) grads[p.key()] = p.value().grad().clone();
    grads["(penalty)"] = pen.detach().reshape({1});
    return grads;
}

void expect_same_penalised_grads(const Network& net) {
    SCOPED_TRACE(net.name);
    const auto fused = penalised_grads(net, 0);
    for (int how = 1; how <= 3; ++how) {
        const auto other = penalised_grads(net, how);
        for (const auto& [name, g] : fused) {
            const double scale = g.abs().max().item<double>() + 1e-12;
            EXPECT_LT((g - other.at(name)).abs().max().item<double>(), 1e-4 * scale)
                << name << " vs way " << how;
        }
    }
}

TEST(GraphNet, FusedAndTappedPenaltyGiveTheSameGradients) {
    TinyNet tiny;
    expect_same_penalised_grads(tiny.net());
    expect_same_penalised_grads(core::builtin_network("squeezenet-fmnist", {1, 0.125, 0}));
    expect_same_penalised_grads(core::builtin_network("mobilenetv2-fmnist", {1, 0.25, 0}));
}

class BuiltinNets : public testing::TestWithParam<std::string> {};

TEST_P(BuiltinNets, ConvLayersMatchDescription) {
    const std::string name = GetParam();
    const bool imagenet = name.find('-') == std::string::npos;  // alexnet, vgg16: 224 px
    const core::Network net = core::builtin_network(name, {1, imagenet ? 0.125 : 0.25, 0});
    expect_matches_description(net, imagenet ? 1 : 2);
}

INSTANTIATE_TEST_SUITE_P(All, BuiltinNets, testing::ValuesIn(core::builtin_network_names()),
                         [](const testing::TestParamInfo<std::string>& info) {
                             std::string s = info.param;
                             for (char& c : s)
                                 if (c == '-') c = '_';
                             return s;
                         });

}  // namespace
}  // namespace actsparse::trainer
