#include "core/network.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <set>
#include <utility>

#include "core/error.h"

namespace actsparse::core {
namespace {

/// A (height, width) pair; one number means both, so `{7, 1}` reads like PyTorch's (7, 1).
struct Hw {
    int64_t h;
    int64_t w;
    Hw(int64_t both) : h(both), w(both) {}  // NOLINT(google-explicit-constructor)
    Hw(int64_t height, int64_t width) : h(height), w(width) {}
};

/// Appends ops and tracks their shapes, so each network below reads like its PyTorch
/// definition. Every method takes its input op index(es) and returns the new op's index.
/// A shape that does not work out is a bug in the built-in definitions, not user input.
class Builder {
  public:
    Builder(std::string net, int64_t channels, int64_t height, int64_t width)
        : net_(std::move(net)) {
        Op op;
        op.kind = OpKind::kInput;
        op.name = "input";
        op.channels = channels;
        op.height = height;
        op.width = width;
        push(std::move(op));
    }

    static constexpr int kImage = 0;

    int64_t channels(int in) const { return at(in).channels; }

    int conv(const std::string& name, int in, int64_t out, Hw kernel, Hw stride = 1, Hw pad = 0,
             int64_t groups = 1, bool bias = false) {
        const Op& src = at(in);
        LayerShape s;
        s.N = 1;
        s.C = src.channels;
        s.M = out;
        s.R = kernel.h;
        s.S = kernel.w;
        s.H = src.height;
        s.W = src.width;
        s.G = groups;
        s.Hstride = stride.h;
        s.Wstride = stride.w;
        s.Hpad = pad.h;
        s.Wpad = pad.w;
        s.P = (s.H + 2 * s.Hpad - s.R) / s.Hstride + 1;
        s.Q = (s.W + 2 * s.Wpad - s.S) / s.Wstride + 1;
        if (s.H + 2 * s.Hpad < s.R || s.W + 2 * s.Wpad < s.S)
            bug(name, "kernel larger than the padded input");
        try {
            s.finalize(net_ + ": " + name);
        } catch (const InputError& e) {
            bug(name, e.what());
        }
        Op op = unary(OpKind::kConv, name, in);
        op.channels = s.M;
        op.height = s.P;
        op.width = s.Q;
        op.conv = s;
        op.bias = bias;
        return push(std::move(op));
    }

    int batch_norm(const std::string& name, int in) {
        return push(unary(OpKind::kBatchNorm, name, in));
    }
    int relu(const std::string& name, int in) { return push(unary(OpKind::kReLU, name, in)); }
    int relu6(const std::string& name, int in) { return push(unary(OpKind::kReLU6, name, in)); }

    int lrn(const std::string& name, int in, int64_t size, double alpha, double beta, double k) {
        Op op = unary(OpKind::kLocalResponseNorm, name, in);
        op.lrn_size = size;
        op.lrn_alpha = alpha;
        op.lrn_beta = beta;
        op.lrn_k = k;
        return push(std::move(op));
    }

    int max_pool(const std::string& name, int in, int64_t kernel, int64_t stride, int64_t pad = 0,
                 bool ceil_mode = false) {
        return push(pool(OpKind::kMaxPool, name, in, kernel, stride, pad, ceil_mode));
    }

    int avg_pool(const std::string& name, int in, int64_t kernel, int64_t stride, int64_t pad = 0,
                 bool ceil_mode = false, bool count_include_pad = true) {
        Op op = pool(OpKind::kAvgPool, name, in, kernel, stride, pad, ceil_mode);
        op.count_include_pad = count_include_pad;
        return push(std::move(op));
    }

    int global_avg_pool(const std::string& name, int in) {
        Op op = unary(OpKind::kGlobalAvgPool, name, in);
        op.height = 1;
        op.width = 1;
        return push(std::move(op));
    }

    int add(const std::string& name, const std::vector<int>& ins) {
        if (ins.size() < 2) bug(name, "add needs at least two inputs");
        Op op = unary(OpKind::kAdd, name, ins.front());
        op.inputs = ins;
        for (int in : ins) {
            const Op& src = at(in);
            if (src.channels != op.channels || src.height != op.height || src.width != op.width)
                bug(name, "add of different shapes (" + src.name + ")");
        }
        return push(std::move(op));
    }

    int concat(const std::string& name, const std::vector<int>& ins) {
        if (ins.size() < 2) bug(name, "concat needs at least two inputs");
        Op op = unary(OpKind::kConcat, name, ins.front());
        op.inputs = ins;
        op.channels = 0;
        for (int in : ins) {
            const Op& src = at(in);
            if (src.height != op.height || src.width != op.width)
                bug(name, "concat of different heights/widths (" + src.name + ")");
            op.channels += src.channels;
        }
        return push(std::move(op));
    }

    int dropout(const std::string& name, int in, double p) {
        Op op = unary(OpKind::kDropout, name, in);
        op.dropout_p = p;
        return push(std::move(op));
    }

    int linear(const std::string& name, int in, int64_t out) {
        Op op = unary(OpKind::kLinear, name, in);
        op.channels = out;
        op.height = 1;
        op.width = 1;
        op.bias = true;
        return push(std::move(op));
    }

    /// Conv, BatchNorm, ReLU: conv named `name`, then `name.bn`, `name.relu`.
    int conv_bn_relu(const std::string& name, int in, int64_t out, Hw kernel, Hw stride = 1,
                     Hw pad = 0, bool bias = false) {
        const int c = conv(name, in, out, kernel, stride, pad, 1, bias);
        return relu(name + ".relu", batch_norm(name + ".bn", c));
    }

    Network finish(int64_t num_classes) && {
        if (ops_.back().numel() != num_classes)
            bug(ops_.back().name, "output has " + std::to_string(ops_.back().numel()) +
                                      " elements, expected " + std::to_string(num_classes));
        Network net;
        net.name = net_;
        net.num_classes = num_classes;
        net.ops = std::move(ops_);
        return net;
    }

  private:
    [[noreturn]] void bug(const std::string& op, const std::string& what) const {
        model_bug("network " + net_, op + ": " + what);
    }

    const Op& at(int in) const {
        if (in < 0 || in >= static_cast<int>(ops_.size()))
            bug("#" + std::to_string(in), "no such op");
        return ops_[static_cast<size_t>(in)];
    }

    Op unary(OpKind kind, const std::string& name, int in) const {
        const Op& src = at(in);
        Op op;
        op.kind = kind;
        op.name = name;
        op.inputs = {in};
        op.channels = src.channels;
        op.height = src.height;
        op.width = src.width;
        return op;
    }

    Op pool(OpKind kind, const std::string& name, int in, int64_t kernel, int64_t stride,
            int64_t pad, bool ceil_mode) const {
        Op op = unary(kind, name, in);
        if (kernel < 1 || stride < 1 || pad < 0 || 2 * pad > kernel)
            bug(name, "bad pool parameters");
        op.kernel = kernel;
        op.stride = stride;
        op.pad = pad;
        op.ceil_mode = ceil_mode;
        // PyTorch's rule: with ceil_mode the last window must start inside the input or
        // its left padding.
        auto out_size = [&](int64_t size) {
            const int64_t span = size + 2 * pad - kernel;
            if (span < 0) bug(name, "pool window larger than the padded input");
            int64_t out = (ceil_mode ? (span + stride - 1) / stride : span / stride) + 1;
            if (ceil_mode && (out - 1) * stride >= size + pad) --out;
            return out;
        };
        op.height = out_size(op.height);
        op.width = out_size(op.width);
        return op;
    }

    int push(Op op) {
        if (!names_.insert(op.name).second) bug(op.name, "duplicate op name");
        ops_.push_back(std::move(op));
        return static_cast<int>(ops_.size()) - 1;
    }

    std::string net_;
    std::vector<Op> ops_;
    std::set<std::string> names_;
};

/// Where a network's input comes from and how many classes it has by default.
struct Dataset {
    int64_t channels;
    int64_t size;
    int64_t classes;
};
constexpr Dataset kCifar{3, 32, 10};
constexpr Dataset kFashionMnist{1, 28, 10};

/// torchvision's _make_divisible: nearest multiple of `divisor`, at least `divisor`, and
/// never more than 10% below v.
int64_t make_divisible(double v, int64_t divisor) {
    int64_t out = std::max<int64_t>(
        divisor, static_cast<int64_t>(v + static_cast<double>(divisor) / 2) / divisor * divisor);
    if (static_cast<double>(out) < 0.9 * v) out += divisor;
    return out;
}

/// Width multiplier for the networks without a standard rule: nearest multiple of
/// `divisor`, at least `divisor`; exact at width_mult = 1.
struct Width {
    double mult;
    int64_t operator()(int64_t c, int64_t divisor = 1) const {
        const double scaled = static_cast<double>(c) * mult / static_cast<double>(divisor);
        return std::max<int64_t>(1, std::llround(scaled)) * divisor;
    }
};

// MobileNet-V2 with torchvision's blocks (no expansion conv when t = 1, ReLU6, linear
// bottleneck, residual when stride 1 and in == out) and the CIFAR strides of
// kuangliu/pytorch-cifar (stem stride 1, second stage stride 1).
Network mobilenetv2(const std::string& name, const Dataset& d, int64_t classes, double wm) {
    struct Stage {
        int64_t t, c, n, s;
    };
    const Stage stages[] = {{1, 16, 1, 1}, {6, 24, 2, 1},  {6, 32, 3, 2}, {6, 64, 4, 2},
                            {6, 96, 3, 1}, {6, 160, 3, 2}, {6, 320, 1, 1}};
    Builder b(name, d.channels, d.size, d.size);
    auto conv_bn_relu6 = [&](const std::string& n, int in, int64_t out, int64_t k, int64_t stride,
                             int64_t groups) {
        const int c = b.conv(n, in, out, k, stride, (k - 1) / 2, groups);
        return b.relu6(n + ".relu6", b.batch_norm(n + ".bn", c));
    };

    int x = conv_bn_relu6("features.0", Builder::kImage, make_divisible(32 * wm, 8), 3, 1, 1);
    int block = 1;
    for (const Stage& st : stages) {
        const int64_t out = make_divisible(static_cast<double>(st.c) * wm, 8);
        for (int64_t i = 0; i < st.n; ++i, ++block) {
            const std::string p = "features." + std::to_string(block);
            const int64_t stride = i == 0 ? st.s : 1;
            const int64_t in_ch = b.channels(x);
            const int64_t hidden = in_ch * st.t;
            int h = x;
            if (st.t != 1) h = conv_bn_relu6(p + ".expand", h, hidden, 1, 1, 1);
            h = conv_bn_relu6(p + ".dw", h, hidden, 3, stride, hidden);
            h = b.batch_norm(p + ".project.bn", b.conv(p + ".project", h, out, 1));
            if (stride == 1 && in_ch == out) h = b.add(p + ".add", {x, h});
            x = h;
        }
    }
    x = conv_bn_relu6("features." + std::to_string(block), x,
                      make_divisible(1280 * std::max(1.0, wm), 8), 1, 1, 1);
    x = b.global_avg_pool("avgpool", x);
    x = b.dropout("classifier.0", x, 0.2);
    x = b.linear("classifier.1", x, classes);
    return std::move(b).finish(classes);
}

// MobileNet (v1) of Howard et al. 2017, Table 1, at width multiplier 0.5 and 128x128 input,
// the MobileNet of the Eyeriss v2 paper (JETCAS 2019: "MobileNet (with a width multiplier of
// 0.5 and input size of 128x128)", "MobileNet (49.2M MACs)"). 3x3 stride-2 stem to 32 x 0.5
// channels, 13 depthwise-separable blocks (3x3 depthwise + BN + ReLU, 1x1 pointwise + BN +
// ReLU) to 64, 128, 128, 256, 256, 512 x 6, 1024, 1024 x 0.5 channels, global average pool,
// fully connected 1000. NetOptions::width_mult scales on top of the built-in 0.5 (rounded to
// the nearest integer). Names follow TensorFlow's Conv2d_0, Conv2d_k_depthwise/_pointwise as
// conv0, convK.dw, convK.pw.
Network mobilenetv1(const std::string& name, int64_t classes, double wm) {
    const Width w{0.5 * wm};
    struct Block {
        int64_t c, s;
    };
    const Block blocks[] = {{64, 1},  {128, 2}, {128, 1}, {256, 2}, {256, 1},  {512, 2}, {512, 1},
                            {512, 1}, {512, 1}, {512, 1}, {512, 1}, {1024, 2}, {1024, 1}};
    Builder b(name, 3, 128, 128);
    int x = b.conv_bn_relu("conv0", Builder::kImage, w(32), 3, 2, 1);
    int k = 1;
    for (const Block& blk : blocks) {
        const std::string p = "conv" + std::to_string(k++);
        const int64_t in_ch = b.channels(x);
        const int dw = b.conv(p + ".dw", x, in_ch, 3, blk.s, 1, in_ch);
        x = b.relu(p + ".dw.relu", b.batch_norm(p + ".dw.bn", dw));
        x = b.conv_bn_relu(p + ".pw", x, w(blk.c), 1);
    }
    x = b.global_avg_pool("avgpool", x);
    x = b.linear("fc", x, classes);
    return std::move(b).finish(classes);
}

// SqueezeNet with simple bypass as in weiaicunzai/pytorch-cifar100 models/squeezenet.py:
// v1.1-style 3x3 stem, Fire modules whose convs keep PyTorch's default bias before BN.
Network squeezenet(const std::string& name, const Dataset& d, int64_t classes, double wm) {
    const Width w{wm};
    Builder b(name, d.channels, d.size, d.size);
    auto conv_bn_relu = [&](const std::string& n, int in, int64_t out, int64_t k) {
        return b.conv_bn_relu(n, in, out, k, 1, (k - 1) / 2, /*bias=*/true);
    };
    auto fire = [&](const std::string& n, int in, int64_t out, int64_t squeeze) {
        const int s = conv_bn_relu(n + ".squeeze", in, w(squeeze), 1);
        const int e1 = conv_bn_relu(n + ".expand_1x1", s, w(out / 2), 1);
        const int e3 = conv_bn_relu(n + ".expand_3x3", s, w(out / 2), 3);
        return b.concat(n + ".cat", {e1, e3});
    };

    int x = conv_bn_relu("stem", Builder::kImage, w(96), 3);
    x = b.max_pool("stem.pool", x, 2, 2);
    const int f2 = fire("fire2", x, 128, 16);
    const int f3 = b.add("fire3.bypass", {fire("fire3", f2, 128, 16), f2});
    const int f4 = b.max_pool("fire4.pool", fire("fire4", f3, 256, 32), 2, 2);
    const int f5 = b.add("fire5.bypass", {fire("fire5", f4, 256, 32), f4});
    const int f6 = fire("fire6", f5, 384, 48);
    const int f7 = b.add("fire7.bypass", {fire("fire7", f6, 384, 48), f6});
    const int f8 = b.max_pool("fire8.pool", fire("fire8", f7, 512, 64), 2, 2);
    const int f9 = fire("fire9", f8, 512, 64);
    x = b.conv("conv10", f9, classes, 1, 1, 0, 1, /*bias=*/true);
    x = b.global_avg_pool("avg", x);
    return std::move(b).finish(classes);
}

// Inception-V3 for CIFAR as in weiaicunzai/pytorch-cifar100 models/inceptionv3.py: stride-1
// stem, every conv is BasicConv2d (conv without bias, BN, ReLU). Op names follow the module
// paths there, so "Mixed_5b.branch5x5.1" holds Mixed_5b.branch5x5.1.conv.weight.
Network inceptionv3(const std::string& name, const Dataset& d, int64_t classes, double wm) {
    const Width w{wm};
    Builder b(name, d.channels, d.size, d.size);
    auto basic = [&](const std::string& n, int in, int64_t out, Hw kernel, Hw stride = 1,
                     Hw pad = 0) { return b.conv_bn_relu(n, in, w(out), kernel, stride, pad); };

    auto inception_a = [&](const std::string& n, int x, int64_t pool_features) {
        const int b1 = basic(n + ".branch1x1", x, 64, 1);
        int b5 = basic(n + ".branch5x5.0", x, 48, 1);
        b5 = basic(n + ".branch5x5.1", b5, 64, 5, 1, 2);
        int b3 = basic(n + ".branch3x3.0", x, 64, 1);
        b3 = basic(n + ".branch3x3.1", b3, 96, 3, 1, 1);
        b3 = basic(n + ".branch3x3.2", b3, 96, 3, 1, 1);
        int bp = b.avg_pool(n + ".branchpool.0", x, 3, 1, 1);
        // The source uses a 3x3 conv here (torchvision: 1x1).
        bp = basic(n + ".branchpool.1", bp, pool_features, 3, 1, 1);
        return b.concat(n + ".cat", {b1, b5, b3, bp});
    };
    auto inception_b = [&](const std::string& n, int x) {
        const int b3 = basic(n + ".branch3x3", x, 384, 3, 2);
        int bs = basic(n + ".branch3x3stack.0", x, 64, 1);
        bs = basic(n + ".branch3x3stack.1", bs, 96, 3, 1, 1);
        bs = basic(n + ".branch3x3stack.2", bs, 96, 3, 2);
        const int bp = b.max_pool(n + ".branchpool", x, 3, 2);
        return b.concat(n + ".cat", {b3, bs, bp});
    };
    auto inception_c = [&](const std::string& n, int x, int64_t c7) {
        const int b1 = basic(n + ".branch1x1", x, 192, 1);
        int b7 = basic(n + ".branch7x7.0", x, c7, 1);
        b7 = basic(n + ".branch7x7.1", b7, c7, {7, 1}, 1, {3, 0});
        b7 = basic(n + ".branch7x7.2", b7, 192, {1, 7}, 1, {0, 3});
        int bs = basic(n + ".branch7x7stack.0", x, c7, 1);
        bs = basic(n + ".branch7x7stack.1", bs, c7, {7, 1}, 1, {3, 0});
        bs = basic(n + ".branch7x7stack.2", bs, c7, {1, 7}, 1, {0, 3});
        bs = basic(n + ".branch7x7stack.3", bs, c7, {7, 1}, 1, {3, 0});
        bs = basic(n + ".branch7x7stack.4", bs, 192, {1, 7}, 1, {0, 3});
        int bp = b.avg_pool(n + ".branch_pool.0", x, 3, 1, 1);
        bp = basic(n + ".branch_pool.1", bp, 192, 1);
        return b.concat(n + ".cat", {b1, b7, bs, bp});
    };
    auto inception_d = [&](const std::string& n, int x) {
        int b3 = basic(n + ".branch3x3.0", x, 192, 1);
        b3 = basic(n + ".branch3x3.1", b3, 320, 3, 2);
        int b7 = basic(n + ".branch7x7.0", x, 192, 1);
        b7 = basic(n + ".branch7x7.1", b7, 192, {1, 7}, 1, {0, 3});
        b7 = basic(n + ".branch7x7.2", b7, 192, {7, 1}, 1, {3, 0});
        b7 = basic(n + ".branch7x7.3", b7, 192, 3, 2);
        // The source averages here (torchvision: max-pool).
        const int bp = b.avg_pool(n + ".branchpool", x, 3, 2);
        return b.concat(n + ".cat", {b3, b7, bp});
    };
    auto inception_e = [&](const std::string& n, int x) {
        const int b1 = basic(n + ".branch1x1", x, 320, 1);
        const int b3 = basic(n + ".branch3x3_1", x, 384, 1);
        const int b3a = basic(n + ".branch3x3_2a", b3, 384, {1, 3}, 1, {0, 1});
        const int b3b = basic(n + ".branch3x3_2b", b3, 384, {3, 1}, 1, {1, 0});
        const int b3cat = b.concat(n + ".branch3x3.cat", {b3a, b3b});
        int bs = basic(n + ".branch3x3stack_1", x, 448, 1);
        bs = basic(n + ".branch3x3stack_2", bs, 384, 3, 1, 1);
        const int bsa = basic(n + ".branch3x3stack_3a", bs, 384, {1, 3}, 1, {0, 1});
        const int bsb = basic(n + ".branch3x3stack_3b", bs, 384, {3, 1}, 1, {1, 0});
        const int bscat = b.concat(n + ".branch3x3stack.cat", {bsa, bsb});
        int bp = b.avg_pool(n + ".branch_pool.0", x, 3, 1, 1);
        bp = basic(n + ".branch_pool.1", bp, 192, 1);
        return b.concat(n + ".cat", {b1, b3cat, bscat, bp});
    };

    int x = basic("Conv2d_1a_3x3", Builder::kImage, 32, 3, 1, 1);
    x = basic("Conv2d_2a_3x3", x, 32, 3, 1, 1);
    x = basic("Conv2d_2b_3x3", x, 64, 3, 1, 1);
    x = basic("Conv2d_3b_1x1", x, 80, 1);
    x = basic("Conv2d_4a_3x3", x, 192, 3);
    x = inception_a("Mixed_5b", x, 32);
    x = inception_a("Mixed_5c", x, 64);
    x = inception_a("Mixed_5d", x, 64);
    x = inception_b("Mixed_6a", x);
    x = inception_c("Mixed_6b", x, 128);
    x = inception_c("Mixed_6c", x, 160);
    x = inception_c("Mixed_6d", x, 160);
    x = inception_c("Mixed_6e", x, 192);
    x = inception_d("Mixed_7a", x);
    x = inception_e("Mixed_7b", x);
    x = inception_e("Mixed_7c", x);
    x = b.global_avg_pool("avgpool", x);
    x = b.dropout("dropout", x, 0.5);  // nn.Dropout2d on 1x1 maps: the same as nn.Dropout
    x = b.linear("linear", x, classes);
    return std::move(b).finish(classes);
}

// AlexNet as in Krizhevsky et al. 2012 / Caffe's bvlc_alexnet, the network of the Eyeriss
// paper: 227x227 input, LRN after relu1/relu2, groups = 2 in conv2/4/5.
Network alexnet(const std::string& name, int64_t classes, double wm) {
    const Width w{wm};
    Builder b(name, 3, 227, 227);
    auto conv_relu = [&](int i, int in, int64_t out, int64_t k, int64_t stride, int64_t pad,
                         int64_t groups) {
        const std::string n = std::to_string(i);
        return b.relu("relu" + n, b.conv("conv" + n, in, w(out, 2), k, stride, pad, groups, true));
    };
    auto fc = [&](int i, int in, int64_t out) {
        return b.linear("fc" + std::to_string(i), in, out);
    };

    int x = conv_relu(1, Builder::kImage, 96, 11, 4, 0, 1);
    x = b.max_pool("pool1", b.lrn("norm1", x, 5, 1e-4, 0.75, 1.0), 3, 2);
    x = conv_relu(2, x, 256, 5, 1, 2, 2);
    x = b.max_pool("pool2", b.lrn("norm2", x, 5, 1e-4, 0.75, 1.0), 3, 2);
    x = conv_relu(3, x, 384, 3, 1, 1, 1);
    x = conv_relu(4, x, 384, 3, 1, 1, 2);
    x = conv_relu(5, x, 256, 3, 1, 1, 2);
    x = b.max_pool("pool5", x, 3, 2);
    x = b.dropout("drop6", b.relu("relu6", fc(6, x, 4096)), 0.5);
    x = b.dropout("drop7", b.relu("relu7", fc(7, x, 4096)), 0.5);
    x = fc(8, x, classes);
    return std::move(b).finish(classes);
}

// VGG-16 (configuration D) as torchvision.models.vgg16 at 224x224; torchvision's
// AdaptiveAvgPool2d((7, 7)) is the identity at this size and is left out.
Network vgg16(const std::string& name, int64_t classes, double wm) {
    const Width w{wm};
    constexpr int64_t kPool = 0;
    const int64_t cfg[] = {64,    64,  kPool, 128, 128,   kPool, 256, 256, 256,
                           kPool, 512, 512,   512, kPool, 512,   512, 512, kPool};
    Builder b(name, 3, 224, 224);
    int x = Builder::kImage;
    int i = 0;
    auto next = [&]() { return "features." + std::to_string(i++); };
    for (int64_t c : cfg) {
        if (c == kPool) {
            x = b.max_pool(next(), x, 2, 2);
        } else {
            x = b.conv(next(), x, w(c), 3, 1, 1, 1, true);
            x = b.relu(next(), x);
        }
    }
    x = b.relu("classifier.1", b.linear("classifier.0", x, 4096));
    x = b.dropout("classifier.2", x, 0.5);
    x = b.relu("classifier.4", b.linear("classifier.3", x, 4096));
    x = b.dropout("classifier.5", x, 0.5);
    x = b.linear("classifier.6", x, classes);
    return std::move(b).finish(classes);
}

using Factory = std::function<Network(const std::string&, int64_t classes, double wm)>;

Factory on(Network (*f)(const std::string&, const Dataset&, int64_t, double), Dataset d) {
    return [f, d](const std::string& n, int64_t classes, double wm) {
        return f(n, d, classes == 0 ? d.classes : classes, wm);
    };
}

Factory imagenet(Network (*f)(const std::string&, int64_t, double)) {
    return [f](const std::string& n, int64_t classes, double wm) {
        return f(n, classes == 0 ? 1000 : classes, wm);
    };
}

const std::vector<std::pair<std::string, Factory>>& registry() {
    static const std::vector<std::pair<std::string, Factory>> nets = {
        {"mobilenetv2-cifar", on(mobilenetv2, kCifar)},
        {"mobilenetv2-fmnist", on(mobilenetv2, kFashionMnist)},
        {"squeezenet-cifar", on(squeezenet, kCifar)},
        {"squeezenet-fmnist", on(squeezenet, kFashionMnist)},
        {"inceptionv3-cifar", on(inceptionv3, kCifar)},
        {"inceptionv3-fmnist", on(inceptionv3, kFashionMnist)},
        {"mobilenetv1-050-128", imagenet(mobilenetv1)},
        {"alexnet", imagenet(alexnet)},
        {"vgg16", imagenet(vgg16)},
    };
    return nets;
}

}  // namespace

const char* to_string(OpKind k) {
    switch (k) {
        case OpKind::kInput:
            return "input";
        case OpKind::kConv:
            return "conv";
        case OpKind::kBatchNorm:
            return "batchnorm";
        case OpKind::kReLU:
            return "relu";
        case OpKind::kReLU6:
            return "relu6";
        case OpKind::kAdd:
            return "add";
        case OpKind::kConcat:
            return "concat";
        case OpKind::kMaxPool:
            return "maxpool";
        case OpKind::kAvgPool:
            return "avgpool";
        case OpKind::kGlobalAvgPool:
            return "global_avgpool";
        case OpKind::kDropout:
            return "dropout";
        case OpKind::kLinear:
            return "linear";
        case OpKind::kLocalResponseNorm:
            return "lrn";
    }
    return "?";
}

std::vector<ConvLayer> Network::conv_layers(int64_t batch) const {
    if (batch < 1) throw InputError("--batch", "must be >= 1, got " + std::to_string(batch));
    std::vector<bool> sparse(ops.size(), false);
    std::vector<ConvLayer> layers;
    for (size_t i = 0; i < ops.size(); ++i) {
        const Op& op = ops[i];
        const bool all_inputs_sparse =
            !op.inputs.empty() && std::all_of(op.inputs.begin(), op.inputs.end(), [&](int in) {
                return sparse[static_cast<size_t>(in)];
            });
        switch (op.kind) {
            case OpKind::kReLU:
            case OpKind::kReLU6:
                sparse[i] = true;
                break;
            case OpKind::kMaxPool:
            case OpKind::kAvgPool:
            case OpKind::kGlobalAvgPool:
            case OpKind::kDropout:
            case OpKind::kLocalResponseNorm:
            case OpKind::kConcat:
            case OpKind::kAdd:
                sparse[i] = all_inputs_sparse;
                break;
            case OpKind::kInput:
            case OpKind::kConv:
            case OpKind::kBatchNorm:
            case OpKind::kLinear:
                sparse[i] = false;
                break;
        }
        if (op.kind != OpKind::kConv) continue;
        const size_t in = static_cast<size_t>(op.inputs.at(0));
        ConvLayer l;
        l.index = static_cast<int>(layers.size());
        l.op = static_cast<int>(i);
        l.name = op.name;
        l.shape = op.conv;
        l.shape.N = batch;
        l.shape.finalize(name + ": " + op.name);
        l.input_sparse = sparse[in];
        l.input_name = ops[in].name;
        layers.push_back(std::move(l));
    }
    return layers;
}

int64_t Network::conv_macs(int64_t batch) const {
    int64_t total = 0;
    for (const ConvLayer& l : conv_layers(batch)) total += l.shape.macs();
    return total;
}

std::vector<std::string> builtin_network_names() {
    std::vector<std::string> names;
    for (const auto& [name, factory] : registry()) names.push_back(name);
    return names;
}

Network builtin_network(const std::string& name, const NetOptions& opts) {
    if (!(opts.width_mult > 0.0) || !std::isfinite(opts.width_mult))
        throw InputError("width_mult",
                         "must be a finite number > 0, got " + std::to_string(opts.width_mult));
    if (opts.num_classes < 0)
        throw InputError("num_classes", "must be >= 1 (or 0 for the default), got " +
                                            std::to_string(opts.num_classes));
    for (const auto& [known, factory] : registry())
        if (known == name) return factory(name, opts.num_classes, opts.width_mult);
    std::string list;
    for (const std::string& n : builtin_network_names()) list += (list.empty() ? "" : ", ") + n;
    throw InputError("--net", "unknown network '" + name + "' (known: " + list + ")");
}

}  // namespace actsparse::core

namespace actsparse::core {

Network layer_list_network(const std::string& name,
                           const std::vector<std::pair<std::string, LayerShape>>& layers) {
    if (layers.empty()) throw InputError(name, "no conv layers");
    Network net;
    net.name = name;
    net.layer_list = true;
    std::set<std::string> names;
    Op in;
    in.kind = OpKind::kInput;
    in.name = "input";
    in.channels = layers.front().second.C;
    in.height = layers.front().second.H;
    in.width = layers.front().second.W;
    names.insert(in.name);
    net.ops.push_back(in);
    int prev = 0;
    for (const auto& [layer_name, shape] : layers) {
        if (!names.insert(layer_name).second || !names.insert(layer_name + ".relu").second)
            throw InputError(name + ": " + layer_name, "layer name given twice");
        Op conv;
        conv.kind = OpKind::kConv;
        conv.name = layer_name;
        conv.inputs = {prev};
        conv.conv = shape;
        conv.conv.N = 1;
        conv.conv.finalize(name + ": " + layer_name);
        conv.channels = conv.conv.M;
        conv.height = conv.conv.P;
        conv.width = conv.conv.Q;
        net.ops.push_back(conv);
        Op relu;
        relu.kind = OpKind::kReLU;
        relu.name = layer_name + ".relu";
        relu.inputs = {static_cast<int>(net.ops.size()) - 1};
        relu.channels = conv.channels;
        relu.height = conv.height;
        relu.width = conv.width;
        net.ops.push_back(relu);
        prev = static_cast<int>(net.ops.size()) - 1;
    }
    return net;
}

}  // namespace actsparse::core
