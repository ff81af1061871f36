#include "trainer/penalty.h"

#include <algorithm>
#include <map>

#include "core/error.h"

namespace actsparse::trainer {
namespace {

std::vector<int64_t> non_batch_dims(const torch::Tensor& x) {
    std::vector<int64_t> dims;
    for (int64_t i = 1; i < x.dim(); ++i) dims.push_back(i);
    return dims;
}

int64_t per_sample_numel(const torch::Tensor& x) { return x.size(0) == 0 ? 0 : x.numel() / x.size(0); }

}  // namespace

torch::Tensor l1_per_sample(const torch::Tensor& x) {
    const double d = static_cast<double>(per_sample_numel(x));
    return torch::linalg_vector_norm(x, 1, non_batch_dims(x), false, c10::nullopt) / d;
}

torch::Tensor hoyer_per_sample(const torch::Tensor& x, double eps) {
    const auto dims = non_batch_dims(x);
    const double d = static_cast<double>(per_sample_numel(x));
    const torch::Tensor s1 = torch::linalg_vector_norm(x, 1, dims, false, c10::nullopt);
    // The 2-norm's backward is defined as 0 at an all-zero map, so the square is safe there.
    const torch::Tensor s2 = torch::linalg_vector_norm(x, 2, dims, false, c10::nullopt).square();
    return s1.square() / (s2 + eps) / d;
}

namespace {

}  // namespace

torch::Tensor flat_view(const torch::Tensor& x) {
    const int64_t n = x.size(0), d = per_sample_numel(x);
    if (x.is_contiguous() || (x.is_contiguous(torch::MemoryFormat::ChannelsLast) &&
                              (n <= 1 || x.stride(0) == d)))
        return x.as_strided({n, d}, {d, 1});
    return x.reshape({n, d});
}

namespace {

/// True when flat_view(x) is a view in x's memory order (no copy).
bool flat_in_place(const torch::Tensor& x) {
    return x.is_contiguous() || (x.is_contiguous(torch::MemoryFormat::ChannelsLast) &&
                                 (x.size(0) <= 1 || x.stride(0) == per_sample_numel(x)));
}

/// One conv input's a * L1 + b * Hoyer per image, as an autograd node that hands x through
/// unchanged, so the conv reads it from here and the backward pass adds the penalty's
/// gradient to the conv's in the same elementwise pass.
///
/// The penalised maps are non-negative by construction (ConvLayer::input_sparse: ReLU
/// outputs and what max/avg pooling, concat, add and dropout make of them), so sum|x| =
/// sum x = s1 and, with s2 = sum x^2, den = s2 + eps, the gradient of a*s1/d + b*s1^2/den/d is
///   c + k * x,   c = (a + 2 b s1/den) / d,   k = -(2 b s1^2/den^2) / d,
/// an affine function of x per image. At x = 0 it is the one-sided derivative (a/d from the
/// L1 term; the Hoyer part vanishes on an all-zero map); the ReLU that made the zero masks it,
/// so parameter gradients equal those of the |x| form (tests/trainer/graph_net_test.cc
/// checks this). The work is two reductions over each image's block (a [N, d] view, no copy)
/// in the forward pass and one fused multiply-add in the backward pass: about 4 passes over
/// the map where composing |x|, norms and their autograd formulas takes about 10.
/// Outputs: x (a view), the weighted term [N], L1 [N] and Hoyer [N] (for the log).
class PenaltyTap : public torch::autograd::Function<PenaltyTap> {
public:
    static torch::autograd::variable_list forward(torch::autograd::AutogradContext* ctx,
                                                  const torch::Tensor& x, double a, double b,
                                                  double eps) {
        const double d = static_cast<double>(per_sample_numel(x));
        const torch::Tensor flat = flat_view(x);
        const torch::Tensor s1 = flat.sum(1);
        // An L1-only layer (b = 0) skips the second reduction.
        const torch::Tensor s2 =
            b != 0.0 ? torch::linalg_vector_norm(flat, 2, {1}, false, c10::nullopt).square()
                     : torch::zeros_like(s1);
        const torch::Tensor l1 = s1 / d;
        const torch::Tensor hoyer = s1.square() / (s2 + eps) / d;
        ctx->save_for_backward({x, s1, s2});
        ctx->saved_data["a"] = a;
        ctx->saved_data["b"] = b;
        ctx->saved_data["eps"] = eps;
        ctx->mark_non_differentiable({l1, hoyer});
        // Outputs nobody used arrive undefined instead of as map-sized zeros.
        ctx->set_materialize_grads(false);
        return {x, a * l1 + b * hoyer, l1, hoyer};
    }

    // grads by const reference: the engine's list and CppNode's copy are then the only
    // holders of the conv's gradient, which the in-place update below relies on.
    static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                   const torch::autograd::variable_list& grads) {
        const auto saved = ctx->get_saved_variables();
        const torch::Tensor& x = saved[0];
        const torch::Tensor& s1 = saved[1];
        const torch::Tensor& s2 = saved[2];
        const double a = ctx->saved_data["a"].toDouble();
        const double b = ctx->saved_data["b"].toDouble();
        const double eps = ctx->saved_data["eps"].toDouble();
        const double d = static_cast<double>(per_sample_numel(x));
        const torch::Tensor g = grads[1].defined() ? grads[1] / d : torch::zeros_like(s1);
        const torch::Tensor den = s2 + eps;
        const torch::Tensor c = (g * (a + 2.0 * b * s1 / den)).unsqueeze(1);
        const torch::Tensor k = (g * (-2.0 * b) * s1.square() / den.square()).unsqueeze(1);
        // Work on [N, d] views in x's memory order; the result goes back to x's layout.
        const bool in_order = flat_in_place(x);
        const torch::Tensor flat = flat_view(in_order ? x : x.contiguous());
        torch::Tensor out_flat;
        if (grads[0].defined() && in_order && grads[0].strides() == x.strides() &&
            !grads[0].is_view() && grads[0].use_count() <= 2 &&
            grads[0].storage().use_count() == 1 && grads[0].scalar_type() == x.scalar_type()) {
            // The conv's fresh gradient, held by nothing else: add in place. On CPU this saves
            // allocating (and page-faulting) a new map-sized tensor, most of the cost.
            torch::Tensor through = grads[0];
            flat_view(through).addcmul_(flat, k).add_(c);
            return {through, torch::Tensor(), torch::Tensor(), torch::Tensor()};
        }
        if (grads[0].defined()) {
            torch::Tensor through = grads[0];
            if (in_order ? through.strides() != x.strides() : !through.is_contiguous())
                through = through.contiguous(in_order ? x.suggest_memory_format()
                                                      : torch::MemoryFormat::Contiguous);
            if (in_order && through.strides() != x.strides()) {
                // A layout that contiguous() did not reproduce: combine in logical order.
                std::vector<int64_t> shape(x.dim(), 1);
                shape[0] = x.size(0);
                return {torch::addcmul(through + c.view(shape), x, k.view(shape)),
                        torch::Tensor(), torch::Tensor(), torch::Tensor()};
            }
            out_flat = torch::addcmul(flat_view(through), flat, k).add_(c);
        } else {
            out_flat = torch::addcmul(c, flat, k);
        }
        const torch::Tensor out = in_order ? out_flat.as_strided(x.sizes(), x.strides())
                                           : out_flat.view(x.sizes());
        return {out, torch::Tensor(), torch::Tensor(), torch::Tensor()};
    }
};

}  // namespace

ActivationPenalty::ActivationPenalty(std::vector<LayerPenalty> plan, int num_conv_layers)
    : plan_(std::move(plan)), needs_(num_conv_layers, false) {
    for (const auto& p : plan_) {
        if (p.conv_index < 0 || p.conv_index >= num_conv_layers)
            core::model_bug("trainer::ActivationPenalty", "layer index out of range");
        needs_[p.conv_index] = true;
    }
}

PenaltyRecorder::PenaltyRecorder(const ActivationPenalty& penalty) : penalty_(penalty) {
    for (size_t i = 0; i < penalty_.plan().size(); ++i)
        index_[penalty_.plan()[i].conv_index] = static_cast<int>(i);
}

torch::Tensor PenaltyRecorder::operator()(int conv_index, const torch::Tensor& x) {
    const auto it = index_.find(conv_index);
    if (it == index_.end()) return x;
    const LayerPenalty& p = penalty_.plan()[it->second];
    const double a = p.weight * p.lambda1, b = p.weight * p.lambda2;
    if (a == 0.0 && b == 0.0) return x;
    const auto out = PenaltyTap::apply(x, a, b, kHoyerEps);
    auto add = [](torch::Tensor& sum, const torch::Tensor& t) {
        sum = sum.defined() ? sum + t : t;
    };
    add(total_, out[1].mean());
    if (a != 0.0) add(l1_, a * out[2].mean());
    if (b != 0.0) add(hoyer_, b * out[3].mean());
    if (!zero_.defined()) zero_ = torch::zeros({}, x.options());
    return out[0];
}

PenaltyValue PenaltyRecorder::value() const {
    const torch::Tensor zero = zero_.defined() ? zero_ : torch::zeros({});
    PenaltyValue v;
    v.total = total_.defined() ? total_ : zero;
    v.l1 = l1_.defined() ? l1_.detach() : zero;
    v.hoyer = hoyer_.defined() ? hoyer_.detach() : zero;
    return v;
}

PenaltyValue ActivationPenalty::operator()(const std::vector<torch::Tensor>& conv_inputs) const {
    PenaltyRecorder rec(*this);
    for (const auto& p : plan_) {
        const torch::Tensor& x = conv_inputs.at(p.conv_index);
        if (!x.defined())
            core::model_bug("trainer::ActivationPenalty", "conv input " + p.name + " not captured");
        rec(p.conv_index, x);
    }
    PenaltyValue v = rec.value();
    if (plan_.empty() || !v.total.defined()) {
        for (const auto& x : conv_inputs)
            if (x.defined()) {
                const torch::Tensor zero = torch::zeros({}, x.options());
                v = {zero, zero, zero};
                break;
            }
    }
    return v;
}

}  // namespace actsparse::trainer
