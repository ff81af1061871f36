#include "trainer/graph_net.h"

#include "core/error.h"
#include "trainer/datasets.h"

namespace actsparse::trainer {

std::string module_name(const std::string& op_name) {
    std::string s = op_name;
    for (char& c : s)
        if (c == '.') c = '_';
    return s;
}

namespace {

[[noreturn]] void bad_graph(const core::Network& net, size_t op, const std::string& what) {
    core::model_bug("trainer::GraphNet", net.name + " op " + std::to_string(op) + " (" +
                                             net.ops[op].name + "): " + what);
}

}  // namespace

GraphNetImpl::GraphNetImpl(const core::Network& net) : net_(net), layers_(net.conv_layers(1)) {
    const size_t n = net_.ops.size();
    if (n == 0 || net_.ops[0].kind != core::OpKind::kInput)
        core::model_bug("trainer::GraphNet", net_.name + ": ops[0] must be the input");
    conv_of_op_.assign(n, -1);
    last_use_.assign(n, -1);
    for (const auto& l : layers_) conv_of_op_.at(l.op) = l.index;
    convs_.assign(layers_.size(), torch::nn::Conv2d(nullptr));
    bn_after_.assign(layers_.size(), torch::nn::BatchNorm2d(nullptr));
    modules_.resize(n);

    std::vector<int> consumers(n, 0);
    for (size_t i = 0; i < n; ++i) {
        const auto& op = net_.ops[i];
        const size_t want = op.kind == core::OpKind::kInput ? 0 : 1;
        const bool multi = op.kind == core::OpKind::kAdd || op.kind == core::OpKind::kConcat;
        if (multi ? op.inputs.empty() : op.inputs.size() != want)
            bad_graph(net_, i, "wrong number of inputs");
        for (int in : op.inputs) {
            if (in < 0 || static_cast<size_t>(in) >= i) bad_graph(net_, i, "input not earlier");
            last_use_[in] = static_cast<int>(i);
            ++consumers[in];
        }
    }
    last_use_[n - 1] = static_cast<int>(n);  // the output survives the loop

    for (size_t i = 0; i < n; ++i) {
        const auto& op = net_.ops[i];
        const std::string name = module_name(op.name);
        switch (op.kind) {
            case core::OpKind::kConv: {
                const auto& s = op.conv;
                const int ci = conv_of_op_[i];
                if (ci < 0) bad_graph(net_, i, "conv missing from conv_layers()");
                auto conv = register_module(
                    name, torch::nn::Conv2d(torch::nn::Conv2dOptions(s.C, s.M, {s.R, s.S})
                                                .stride({s.Hstride, s.Wstride})
                                                .padding({s.Hpad, s.Wpad})
                                                .groups(s.G)
                                                .bias(op.bias)));
                convs_[ci] = conv;
                modules_[i] = torch::nn::AnyModule(conv);
                break;
            }
            case core::OpKind::kBatchNorm: {
                auto bn = register_module(
                    name, torch::nn::BatchNorm2d(torch::nn::BatchNorm2dOptions(op.channels)));
                modules_[i] = torch::nn::AnyModule(bn);
                const int src = op.inputs[0];
                if (conv_of_op_[src] >= 0 && consumers[src] == 1) bn_after_[conv_of_op_[src]] = bn;
                break;
            }
            case core::OpKind::kLinear: {
                const auto& in = net_.ops[op.inputs[0]];
                auto fc = register_module(
                    name, torch::nn::Linear(
                              torch::nn::LinearOptions(in.numel(), op.channels).bias(op.bias)));
                modules_[i] = torch::nn::AnyModule(fc);
                break;
            }
            default:
                break;
        }
    }
}

void GraphNetImpl::to_channels_last() {
    torch::NoGradGuard no_grad;
    for (auto& p : parameters())
        if (p.dim() == 4) p.set_data(p.data().contiguous(torch::MemoryFormat::ChannelsLast));
}

torch::Tensor GraphNetImpl::dropout(const torch::Tensor& a, double p, size_t op) const {
    if (!is_training() || p <= 0.0) return a;
    if (p >= 1.0) return a * 0.0;
    // Inverted dropout with masks drawn on the host per sample (see set_dropout_seed).
    const int64_t n = a.size(0), per = a.numel() / std::max<int64_t>(1, n);
    torch::Tensor mask = torch::empty({n, per}, torch::kFloat32);
    float* m = mask.data_ptr<float>();
    const float keep = static_cast<float>(1.0 / (1.0 - p));
    const uint64_t threshold = static_cast<uint64_t>(p * 18446744073709551616.0);
    for (int64_t k = 0; k < n; ++k) {
        SplitMix64 rng(mix_seed(dropout_seed_, static_cast<uint64_t>(dropout_first_ + k),
                                static_cast<uint64_t>(op)));
        for (int64_t j = 0; j < per; ++j) m[k * per + j] = rng.next() < threshold ? 0.0f : keep;
    }
    // The mask in the input's logical shape and memory format (channels_last or not).
    mask = mask.view(a.sizes()).to(a.device(), a.scalar_type());
    return a * mask;
}

torch::Tensor GraphNetImpl::forward(const torch::Tensor& x) {
    return forward_capture(x, std::vector<bool>(layers_.size(), false)).logits;
}

ForwardOutput GraphNetImpl::forward_capture(const torch::Tensor& x,
                                            const std::vector<bool>& capture,
                                            const ForwardHooks* hooks) {
    const bool tap_inputs = hooks != nullptr && hooks->conv_input;
    const bool tap_activations = hooks != nullptr && hooks->activation;
    if (capture.size() != layers_.size())
        core::model_bug("trainer::GraphNet", "capture list does not match the conv layers");
    const auto& in = net_.ops[0];
    if (x.dim() != 4 || x.size(1) != in.channels || x.size(2) != in.height || x.size(3) != in.width)
        core::model_bug("trainer::GraphNet", net_.name + ": input of shape " + c10::str(x.sizes()) +
                                                 " is not [N, " + std::to_string(in.channels) +
                                                 ", " + std::to_string(in.height) + ", " +
                                                 std::to_string(in.width) + "]");
    const size_t n = net_.ops.size();
    ForwardOutput out;
    out.conv_inputs.resize(layers_.size());
    std::vector<torch::Tensor> t(n);
    t[0] = x;
    for (size_t i = 1; i < n; ++i) {
        const auto& op = net_.ops[i];
        const torch::Tensor& a = t[op.inputs[0]];
        switch (op.kind) {
            case core::OpKind::kInput:
                bad_graph(net_, i, "second input op");
            case core::OpKind::kConv: {
                const int ci = conv_of_op_[i];
                if (!capture[ci]) {
                    t[i] = convs_[ci]->forward(a);
                    break;
                }
                out.conv_inputs[ci] = a;
                t[i] = convs_[ci]->forward(tap_inputs ? hooks->conv_input(ci, a) : a);
                break;
            }
            case core::OpKind::kBatchNorm:
                if (batch_norm_ && is_training()) {
                    auto* bn = dynamic_cast<torch::nn::BatchNorm2dImpl*>(modules_[i].ptr().get());
                    if (!bn)
                        core::model_bug("trainer::GraphNet", "BatchNorm op without its module");
                    t[i] = batch_norm_(*bn, a);
                    break;
                }
                t[i] = modules_[i].forward(a);
                break;
            case core::OpKind::kLinear:
                t[i] = modules_[i].forward(a.flatten(1));
                break;
            case core::OpKind::kReLU:
            case core::OpKind::kReLU6: {
                const bool six = op.kind == core::OpKind::kReLU6;
                if (tap_activations) t[i] = hooks->activation(static_cast<int>(i), a, six);
                if (!t[i].defined()) t[i] = six ? torch::hardtanh(a, 0.0, 6.0) : torch::relu(a);
                break;
            }
            case core::OpKind::kAdd: {
                torch::Tensor s = a;
                for (size_t k = 1; k < op.inputs.size(); ++k) s = s + t[op.inputs[k]];
                t[i] = s;
                break;
            }
            case core::OpKind::kConcat: {
                std::vector<torch::Tensor> parts;
                for (int k : op.inputs) parts.push_back(t[k]);
                t[i] = torch::cat(parts, 1);
                break;
            }
            case core::OpKind::kMaxPool:
                t[i] = torch::max_pool2d(a, {op.kernel, op.kernel}, {op.stride, op.stride},
                                         {op.pad, op.pad}, {1, 1}, op.ceil_mode);
                break;
            case core::OpKind::kAvgPool:
                t[i] = torch::avg_pool2d(a, {op.kernel, op.kernel}, {op.stride, op.stride},
                                         {op.pad, op.pad}, op.ceil_mode, op.count_include_pad);
                break;
            case core::OpKind::kGlobalAvgPool:
                t[i] = torch::adaptive_avg_pool2d(a, {1, 1});
                break;
            case core::OpKind::kDropout:
                t[i] = dropout(a, op.dropout_p, i);
                break;
            case core::OpKind::kLocalResponseNorm:
                t[i] = torch::nn::functional::local_response_norm(
                    a, torch::nn::functional::LocalResponseNormFuncOptions(op.lrn_size)
                           .alpha(op.lrn_alpha)
                           .beta(op.lrn_beta)
                           .k(op.lrn_k));
                break;
        }
        // Drop intermediate results as soon as nothing reads them (autograd keeps what the
        // backward pass needs on its own).
        for (int k : op.inputs)
            if (last_use_[k] == static_cast<int>(i)) t[k] = torch::Tensor();
    }
    out.logits = t[n - 1].flatten(1);
    return out;
}

}  // namespace actsparse::trainer
