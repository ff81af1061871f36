// The activation penalty against hand-computed values and gradients, and the layer weights.
#include "trainer/penalty.h"

#include <gtest/gtest.h>

#include <cmath>

#include "core/error.h"
#include "core/network.h"
#include "trainer/penalty_plan.h"

namespace actsparse::trainer {
namespace {

torch::Tensor leaf(std::vector<float> v, std::vector<int64_t> shape) {
    return torch::tensor(v).reshape(shape).set_requires_grad(true);
}

std::vector<float> values(const torch::Tensor& t) {
    const torch::Tensor c = t.detach().contiguous().to(torch::kFloat32);
    return std::vector<float>(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
}

TEST(Penalty, L1IsMeanAbsolutePerImage) {
    torch::Tensor x = leaf({1, -2, 0, 3}, {1, 1, 2, 2});
    torch::Tensor v = l1_per_sample(x);
    ASSERT_EQ(v.sizes(), torch::IntArrayRef({1}));
    EXPECT_FLOAT_EQ(v.item<float>(), 1.5f);  // (1 + 2 + 0 + 3) / 4
    v.sum().backward();
    const auto g = values(x.grad());
    const std::vector<float> want = {0.25f, -0.25f, 0.0f, 0.25f};  // sign(x) / d
    for (size_t i = 0; i < want.size(); ++i) EXPECT_FLOAT_EQ(g[i], want[i]) << i;
}

TEST(Penalty, HoyerValueAndGradient) {
    // s1 = 6, s2 = 14, d = 4: H = 36 / 14 / 4; dH/dx_i = (2 s1 sign(x_i)/s2 - 2 s1^2 x_i/s2^2)/d
    torch::Tensor x = leaf({1, 2, 0, -3}, {1, 4, 1, 1});
    torch::Tensor v = hoyer_per_sample(x);
    EXPECT_NEAR(v.item<float>(), 36.0 / 14.0 / 4.0, 1e-6);
    v.sum().backward();
    const auto g = values(x.grad());
    const double s1 = 6, s2 = 14, d = 4;
    const double xs[] = {1, 2, 0, -3};
    for (int i = 0; i < 4; ++i) {
        const double sign = xs[i] > 0 ? 1 : xs[i] < 0 ? -1 : 0;
        const double want = (2 * s1 * sign / s2 - 2 * s1 * s1 * xs[i] / (s2 * s2)) / d;
        EXPECT_NEAR(g[i], want, 1e-6) << i;
    }
}

TEST(Penalty, HoyerIsScaleFreeAndEqualsDensityForEqualValues) {
    // k equal non-zeros out of d: (k a)^2 / (k a^2) / d = k / d.
    torch::Tensor x = torch::zeros({1, 2, 4, 4});
    x.index_put_({0, 0, 0}, 5.0);  // 4 non-zeros of 32
    EXPECT_NEAR(hoyer_per_sample(x).item<float>(), 4.0 / 32.0, 1e-6);
    EXPECT_NEAR(hoyer_per_sample(x * 1e-3).item<float>(), 4.0 / 32.0, 1e-4);
}

TEST(Penalty, AllZeroMapIsFiniteWithZeroGradient) {
    torch::Tensor x = torch::zeros({2, 3, 4, 4}).set_requires_grad(true);
    torch::Tensor h = hoyer_per_sample(x);
    torch::Tensor l = l1_per_sample(x);
    EXPECT_EQ(h.sum().item<float>(), 0.0f);
    EXPECT_EQ(l.sum().item<float>(), 0.0f);
    (h.sum() + l.sum()).backward();
    EXPECT_TRUE(torch::isfinite(x.grad()).all().item<bool>());
    EXPECT_EQ(x.grad().abs().sum().item<float>(), 0.0f);
}

TEST(Penalty, ComputedPerImageThenAveraged) {
    // Images [1, 0, 0, 0] and [0, 0, 0, 2]: per image the Hoyer terms are 1/4 each (mean
    // 0.25); over the whole batch it would be 3^2 / 5 / 8 = 0.225.
    torch::Tensor x = torch::tensor({1.f, 0.f, 0.f, 0.f, 0.f, 0.f, 0.f, 2.f}).reshape({2, 4});
    EXPECT_NEAR(hoyer_per_sample(x).mean().item<float>(), 0.25, 1e-6);
    EXPECT_NEAR(l1_per_sample(x).mean().item<float>(), (0.25 + 0.5) / 2, 1e-6);
}

TEST(Penalty, HybridWeightedSumAndGradient) {
    LayerPenalty a;
    a.conv_index = 0;
    a.name = "a";
    a.weight = 2.0;
    a.lambda1 = 0.1;
    a.lambda2 = 0.3;
    LayerPenalty b;
    b.conv_index = 2;
    b.name = "b";
    b.weight = 0.5;
    b.lambda1 = 0.0;
    b.lambda2 = 0.7;
    ActivationPenalty pen({a, b}, 3);
    EXPECT_EQ(pen.needs(), (std::vector<bool>{true, false, true}));

    torch::Tensor x0 = leaf({1, 2, 0, 3}, {1, 1, 2, 2});
    torch::Tensor x2 = leaf({0, 0, 4, 0, 0, 0, 0, 0}, {1, 2, 2, 2});
    PenaltyValue v = pen({x0, torch::Tensor(), x2});
    const double l1_a = 6.0 / 4, h_a = 36.0 / 14 / 4, h_b = 1.0 / 8;
    const double want_l1 = 2.0 * 0.1 * l1_a;
    const double want_h = 2.0 * 0.3 * h_a + 0.5 * 0.7 * h_b;
    EXPECT_NEAR(v.l1.item<float>(), want_l1, 1e-6);
    EXPECT_NEAR(v.hoyer.item<float>(), want_h, 1e-6);
    EXPECT_NEAR(v.total.item<float>(), want_l1 + want_h, 1e-6);
    EXPECT_FALSE(v.l1.requires_grad());

    v.total.backward();
    // d/dx0 = 2 * (0.1 / 4 + 0.3 * dHoyer), dHoyer = (2 s1/s2 - 2 s1^2 x/s2^2) / 4 for x >= 0
    const double s1 = 6, s2 = 14;
    const double xs[] = {1, 2, 0, 3};
    const auto g0 = values(x0.grad());
    for (int i = 0; i < 4; ++i) {
        const double dh = (2 * s1 / s2 - 2 * s1 * s1 * xs[i] / (s2 * s2)) / 4;
        EXPECT_NEAR(g0[i], 2.0 * (0.1 / 4 + 0.3 * dh), 1e-6) << i;
    }
    // A single non-zero 4 among 8: s1 = 4, s2 = 16, dHoyer/dx = (8/16 - 32 x/256) / 8, which is
    // 0 at x = 4 and 1/16 at the zeros (where the ReLU that made them masks it).
    const auto g2 = values(x2.grad());
    for (int i = 0; i < 8; ++i)
        EXPECT_NEAR(g2[i], 0.5 * 0.7 * (i == 2 ? 0.0 : 1.0 / 16), 1e-6) << i;
}

TEST(Penalty, FusedTermMatchesCompositeOnRandomMaps) {
    // ActivationPenalty's one-node forward/backward against the plain autograd composition on
    // non-negative channels_last maps (what ReLUs make) with exact zeros and an all-zero
    // image. Where x > 0 the gradients agree; at x = 0 the fused node gives the one-sided
    // L1 derivative a/d, which the producing ReLU masks.
    torch::manual_seed(7);
    torch::Tensor base = torch::relu(torch::randn({3, 4, 5, 6}, torch::kFloat64) - 0.3);
    base[1].zero_();
    base = base.contiguous(torch::MemoryFormat::ChannelsLast);
    const double w = 1.7, l1 = 0.3, l2 = 0.9, d = 4 * 5 * 6;
    LayerPenalty p;
    p.weight = w;
    p.lambda1 = l1;
    p.lambda2 = l2;
    ActivationPenalty pen({p}, 1);

    torch::Tensor x1 = base.clone().set_requires_grad(true);
    const PenaltyValue v = pen({x1});
    v.total.backward();
    torch::Tensor x2 = base.clone().set_requires_grad(true);
    const torch::Tensor ref =
        w * (l1 * l1_per_sample(x2).mean() + l2 * hoyer_per_sample(x2).mean());
    ref.backward();
    EXPECT_NEAR(v.total.item<double>(), ref.item<double>(), 1e-12);
    EXPECT_NEAR(v.l1.item<double>(), w * l1 * l1_per_sample(base).mean().item<double>(), 1e-12);
    const torch::Tensor pos = base > 0;
    EXPECT_TRUE(
        torch::allclose(x1.grad().masked_select(pos), x2.grad().masked_select(pos), 1e-10, 1e-12));
    for (int64_t n = 0; n < 3; ++n) {
        // The one-sided derivative of the image's mean term (1/3 of the batch mean) at 0.
        const double s1 = base[n].sum().item<double>(), s2 = base[n].square().sum().item<double>();
        const double want = w * (l1 + 2 * l2 * s1 / (s2 + kHoyerEps)) / d / 3;
        const torch::Tensor at_zero = x1.grad()[n].masked_select(~pos[n]);
        ASSERT_GT(at_zero.numel(), 0);
        EXPECT_TRUE(torch::allclose(at_zero, torch::full_like(at_zero, want), 1e-10, 1e-14)) << n;
    }
    EXPECT_TRUE(x1.grad().is_contiguous(torch::MemoryFormat::ChannelsLast));

    // Hoyer alone: exactly zero gradient on the all-zero image, and no NaN anywhere.
    p.lambda1 = 0.0;
    ActivationPenalty hoyer_only({p}, 1);
    torch::Tensor x3 = base.clone().set_requires_grad(true);
    hoyer_only({x3}).total.backward();
    EXPECT_TRUE(torch::isfinite(x3.grad()).all().item<bool>());
    EXPECT_EQ(x3.grad()[1].abs().sum().item<double>(), 0.0);
}

TEST(Penalty, CpuKernelsMatchDoubleReferenceOnLargeMaps) {
    // Float32 maps big enough for the multi-threaded one-pass kernels, tapped in front of a
    // consumer (y * G) as in training, so the gradient is added into the consumer's in place.
    at::set_num_threads(2);
    torch::manual_seed(11);
    const torch::Tensor base = torch::relu(torch::randn({8, 64, 32, 32}) - 0.2)
                                   .contiguous(torch::MemoryFormat::ChannelsLast);
    const torch::Tensor consumer = torch::randn_like(base);
    LayerPenalty p;
    p.weight = 1.3;
    p.lambda1 = 0.4;
    p.lambda2 = 0.8;
    const ActivationPenalty pen({p}, 1);

    torch::Tensor x = base.clone().set_requires_grad(true);
    PenaltyRecorder rec(pen);
    const torch::Tensor y = rec(0, x);
    const PenaltyValue v = rec.value();
    ((y * consumer).sum() + v.total).backward();

    torch::Tensor xd = base.to(torch::kFloat64).set_requires_grad(true);
    const torch::Tensor ref =
        (xd * consumer.to(torch::kFloat64)).sum() +
        1.3 * (0.4 * l1_per_sample(xd).mean() + 0.8 * hoyer_per_sample(xd).mean());
    ref.backward();
    const double want_pen =
        (ref - (base.to(torch::kFloat64) * consumer.to(torch::kFloat64)).sum()).item<double>();
    EXPECT_NEAR(v.total.item<double>(), want_pen, 1e-5 * std::abs(want_pen));
    const torch::Tensor pos = base > 0;
    const torch::Tensor diff =
        (x.grad().to(torch::kFloat64) - xd.grad()).masked_select(pos).abs().max();
    EXPECT_LT(diff.item<double>(), 1e-5);
    EXPECT_TRUE(x.grad().is_contiguous(torch::MemoryFormat::ChannelsLast));
}

TEST(Penalty, FusedActivationMatchesReluAndTap) {
    // A ReLU6 feeding one penalised conv, large enough for the threaded one-pass kernels: the
    // fused activation's output equals relu6, and the gradient reaching z equals the one
    // through hardtanh + the separate tap.
    at::set_num_threads(2);
    core::Network net;
    net.name = "act";
    net.num_classes = 4;
    core::Op in;
    in.kind = core::OpKind::kInput;
    in.name = "input";
    in.channels = 16;
    in.height = in.width = 32;
    core::Op act = in;
    act.kind = core::OpKind::kReLU6;
    act.name = "act";
    act.inputs = {0};
    core::Op conv = in;
    conv.kind = core::OpKind::kConv;
    conv.name = "conv";
    conv.inputs = {1};
    conv.channels = 4;
    conv.conv.C = 16;
    conv.conv.M = 4;
    conv.conv.P = conv.conv.Q = 32;
    conv.conv.finalize("conv");
    net.ops = {in, act, conv};
    LayerPenalty p;
    p.conv_index = 0;
    p.name = "conv";
    p.weight = 1.1;
    p.lambda1 = 0.3;
    p.lambda2 = 0.6;
    const ActivationPenalty fused({p}, net), tapped({p}, 1);
    ASSERT_EQ(fused.fusable().count(1), 1u);

    torch::manual_seed(2);
    const torch::Tensor z0 =
        (4 * torch::randn({40, 16, 32, 32})).contiguous(torch::MemoryFormat::ChannelsLast);
    const torch::Tensor consumer = torch::randn_like(z0);
    auto run = [&](const ActivationPenalty& pen, torch::Tensor* x_out) {
        torch::Tensor z = z0.clone().set_requires_grad(true);
        PenaltyRecorder rec(pen);
        torch::Tensor x = rec.activation(1, z, true);
        const bool was_fused = x.defined();
        if (!was_fused) x = torch::hardtanh(z, 0.0, 6.0);
        const torch::Tensor y = rec(0, x);
        const PenaltyValue v = rec.value();
        ((y * consumer).sum() + v.total).backward();
        *x_out = x.detach();
        EXPECT_EQ(was_fused, &pen == &fused);
        return std::make_pair(v.total.item<double>(), z.grad());
    };
    torch::Tensor xf, xt;
    const auto [vf, gf] = run(fused, &xf);
    const auto [vt, gt] = run(tapped, &xt);
    EXPECT_TRUE(torch::equal(xf, xt));
    EXPECT_NEAR(vf, vt, 1e-6 * std::abs(vt));
    EXPECT_LT((gf - gt).abs().max().item<double>(), 1e-5 * gt.abs().max().item<double>());
    EXPECT_TRUE(gf.is_contiguous(torch::MemoryFormat::ChannelsLast));
}

// The backward passes return a new tensor and never write into the gradient they receive
// (whatever its reference counts say: those are autograd internals). Hooks record where the
// penalty node's incoming gradient lives (on its output) and where the one it returns lives
// (on its input); they must differ. Only addresses are kept: holding the incoming tensor
// would raise its reference count, which is what the old in-place path looked at.
TEST(Penalty, BackwardNeverWritesIntoTheIncomingGradient) {
    at::set_num_threads(2);
    core::Network net;
    net.name = "act";
    net.num_classes = 4;
    core::Op in;
    in.kind = core::OpKind::kInput;
    in.name = "input";
    in.channels = 16;
    in.height = in.width = 32;
    core::Op act = in;
    act.kind = core::OpKind::kReLU;
    act.name = "act";
    act.inputs = {0};
    core::Op conv = in;
    conv.kind = core::OpKind::kConv;
    conv.name = "conv";
    conv.inputs = {1};
    conv.channels = 4;
    conv.conv.C = 16;
    conv.conv.M = 4;
    conv.conv.P = conv.conv.Q = 32;
    conv.conv.finalize("conv");
    net.ops = {in, act, conv};
    LayerPenalty p;
    p.conv_index = 0;
    p.name = "conv";
    p.weight = 1.2;
    p.lambda1 = 0.3;
    p.lambda2 = 0.7;
    const ActivationPenalty fused({p}, net), tapped({p}, 1);
    ASSERT_EQ(fused.fusable().count(1), 1u);
    torch::manual_seed(5);
    const torch::Tensor z0 =
        torch::randn({8, 16, 32, 32}).contiguous(torch::MemoryFormat::ChannelsLast);
    const torch::Tensor consumer = torch::randn_like(z0);
    for (const bool use_fused : {false, true})
        for (const auto format :
             {torch::MemoryFormat::ChannelsLast, torch::MemoryFormat::Contiguous}) {
            SCOPED_TRACE(std::string(use_fused ? "fused" : "tap") +
                         (format == torch::MemoryFormat::Contiguous ? ", NCHW" : ", NHWC"));
            torch::Tensor z = z0.contiguous(format).clone().set_requires_grad(true);
            PenaltyRecorder rec(use_fused ? fused : tapped);
            torch::Tensor x = use_fused ? rec.activation(1, z, false) : torch::relu(z);
            ASSERT_TRUE(x.defined());
            const void* incoming = nullptr;
            const void* outgoing = nullptr;
            torch::Tensor input = use_fused ? z : x;  // the penalty node's input
            input.register_hook([&](torch::Tensor g) { outgoing = g.data_ptr(); });
            const torch::Tensor y = rec(0, x);
            ASSERT_FALSE(use_fused && !y.is_same(x));  // fused: the activation's output
            (use_fused ? x : y).register_hook([&](torch::Tensor g) { incoming = g.data_ptr(); });
            ((y * consumer).sum() + rec.value().total).backward();
            ASSERT_NE(incoming, nullptr);
            ASSERT_NE(outgoing, nullptr);
            EXPECT_NE(outgoing, incoming) << "the backward pass wrote into its incoming gradient";
            // And the result is right: mask * (consumer + penalty gradient).
            torch::Tensor zd = z0.to(torch::kFloat64).set_requires_grad(true);
            const torch::Tensor xd = torch::relu(zd);
            ((xd * consumer.to(torch::kFloat64)).sum() +
             1.2 * (0.3 * l1_per_sample(xd).mean() + 0.7 * hoyer_per_sample(xd).mean()))
                .backward();
            EXPECT_LT((z.grad().to(torch::kFloat64) - zd.grad()).abs().max().item<double>(), 1e-5);
        }
}

TEST(Penalty, EmptyPlanGivesZero) {
    ActivationPenalty pen({}, 2);
    torch::Tensor x = torch::ones({1, 1, 2, 2});
    PenaltyValue v = pen({x, x});
    EXPECT_EQ(v.total.item<float>(), 0.0f);
    EXPECT_TRUE(pen.empty());
}

std::vector<core::ConvLayer> three_layers() {
    std::vector<core::ConvLayer> ls(3);
    for (int i = 0; i < 3; ++i) {
        ls[i].index = i;
        ls[i].name = "conv" + std::to_string(i);
        ls[i].input_sparse = i > 0;  // conv0 reads the image
    }
    return ls;
}

Calibration three_layer_calib() {
    Calibration c;
    c.path = "calib.json";
    c.network = "net";
    const double e[] = {100, 10, 30}, cy[] = {5, 1, 3};
    for (int i = 0; i < 3; ++i) {
        CalibrationLayer l;
        l.index = i;
        l.name = "conv" + std::to_string(i);
        l.e_l = e[i];
        l.c_l = cy[i];
        c.layers.push_back(l);
    }
    return c;
}

TEST(PenaltyPlan, CostWeightsAreNormalisedPerQuantity) {
    const auto layers = three_layers();
    const Calibration calib = three_layer_calib();
    PenaltySettings s;
    s.method = Method::kProposedHybrid;
    s.alpha = 1.0;
    s.beta = 3.0;
    s.lambda1 = 0.01;
    s.lambda2 = 0.02;
    const auto plan = plan_penalty(layers, &calib, s);
    ASSERT_EQ(plan.size(), 2u);  // conv0's input (the image) cannot be sparse
    // Penalised layers 1, 2: mean e = 20, mean c = 2.
    // w1 = (1 * 10/20 + 3 * 1/2) / 4 = 0.5, w2 = (1 * 30/20 + 3 * 3/2) / 4 = 1.5
    EXPECT_EQ(plan[0].conv_index, 1);
    EXPECT_NEAR(plan[0].weight, 0.5, 1e-12);
    EXPECT_NEAR(plan[1].weight, 1.5, 1e-12);
    EXPECT_NEAR((plan[0].weight + plan[1].weight) / 2, 1.0, 1e-12);
    EXPECT_EQ(plan[1].lambda1, 0.01);
    EXPECT_EQ(plan[1].lambda2, 0.02);
    EXPECT_EQ(plan[1].e_l, 30.0);

    // Scaling all e_l (other units) does not change the weights.
    Calibration scaled = calib;
    for (auto& l : scaled.layers) l.e_l *= 1e6;
    const auto plan2 = plan_penalty(layers, &scaled, s);
    EXPECT_NEAR(plan2[1].weight, 1.5, 1e-12);

    s.alpha = 1.0;
    s.beta = 0.0;  // energy only
    EXPECT_NEAR(plan_penalty(layers, &calib, s)[1].weight, 1.5, 1e-12);
    s.method = Method::kProposedHoyer;
    EXPECT_EQ(plan_penalty(layers, &calib, s)[1].lambda1, 0.0);
}

TEST(PenaltyPlan, SparsityTargetingIsUniformAndBaselineEmpty) {
    const auto layers = three_layers();
    PenaltySettings s;
    s.method = Method::kSparsityTargeting;
    s.lambda2 = 0.05;
    const auto plan = plan_penalty(layers, nullptr, s);
    ASSERT_EQ(plan.size(), 2u);
    for (const auto& p : plan) {
        EXPECT_EQ(p.weight, 1.0);
        EXPECT_EQ(p.lambda1, 0.0);
        EXPECT_EQ(p.lambda2, 0.05);
    }
    s.method = Method::kBaseline;
    EXPECT_TRUE(plan_penalty(layers, nullptr, s).empty());
}

TEST(PenaltyPlan, RejectsMissingCalibrationAndBadOverrides) {
    const auto layers = three_layers();
    const Calibration calib = three_layer_calib();
    PenaltySettings s;
    s.method = Method::kProposedHoyer;
    s.lambda2 = 0.01;
    EXPECT_THROW(plan_penalty(layers, nullptr, s), core::InputError);

    std::map<std::string, LayerOverride> o;
    o["conv2"].weight = 4.0;
    o["conv2"].lambda2 = 0.5;
    const auto plan = plan_penalty(layers, &calib, s, o, "p.yaml");
    EXPECT_EQ(plan[1].weight, 4.0);
    EXPECT_EQ(plan[1].lambda2, 0.5);

    auto message = [&](std::map<std::string, LayerOverride> bad) {
        try {
            plan_penalty(layers, &calib, s, bad, "p.yaml");
        } catch (const core::InputError& e) {
            return std::string(e.what());
        }
        return std::string("no error");
    };
    std::map<std::string, LayerOverride> unknown;
    unknown["nope"].lambda2 = 1.0;
    EXPECT_NE(message(unknown).find("p.yaml: layers.nope"), std::string::npos);
    std::map<std::string, LayerOverride> dense;
    dense["conv0"].lambda2 = 1.0;
    EXPECT_NE(message(dense).find("cannot be sparse"), std::string::npos);
    std::map<std::string, LayerOverride> l1;
    l1["conv1"].lambda1 = 1.0;  // proposed-hoyer has no L1 term
    EXPECT_NE(message(l1).find("layers.conv1.lambda1"), std::string::npos);
}

TEST(PenaltyPlan, MethodNames) {
    for (const auto& n : method_names()) EXPECT_EQ(to_string(parse_method(n, "--method")), n);
    EXPECT_THROW(parse_method("l1", "--method"), core::InputError);
}

}  // namespace
}  // namespace actsparse::trainer
