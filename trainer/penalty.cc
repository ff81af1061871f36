#include "trainer/penalty.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <map>
#include <thread>

#include "core/error.h"

namespace actsparse::trainer {
namespace {

std::vector<int64_t> non_batch_dims(const torch::Tensor& x) {
    std::vector<int64_t> dims;
    for (int64_t i = 1; i < x.dim(); ++i) dims.push_back(i);
    return dims;
}

int64_t per_sample_numel(const torch::Tensor& x) {
    return x.size(0) == 0 ? 0 : x.numel() / x.size(0);
}

}  // namespace

torch::Tensor l1_per_sample(const torch::Tensor& x) {
    const double d = static_cast<double>(per_sample_numel(x));
    return torch::linalg_vector_norm(x, 1, non_batch_dims(x), false, {}) / d;
}

torch::Tensor hoyer_per_sample(const torch::Tensor& x, double eps) {
    const auto dims = non_batch_dims(x);
    const double d = static_cast<double>(per_sample_numel(x));
    const torch::Tensor s1 = torch::linalg_vector_norm(x, 1, dims, false, {});
    // The 2-norm's backward is defined as 0 at an all-zero map, so the square is safe there.
    const torch::Tensor s2 = torch::linalg_vector_norm(x, 2, dims, false, {}).square();
    return s1.square() / (s2 + eps) / d;
}

namespace {}  // namespace

torch::Tensor flat_view(const torch::Tensor& x) {
    const int64_t n = x.size(0), d = per_sample_numel(x);
    if (x.is_contiguous() ||
        (x.is_contiguous(torch::MemoryFormat::ChannelsLast) && (n <= 1 || x.stride(0) == d)))
        return x.as_strided({n, d}, {d, 1});
    return x.reshape({n, d});
}

namespace {

/// True when flat_view(x) is a view in x's memory order (no copy).
bool flat_in_place(const torch::Tensor& x) {
    return x.is_contiguous() || (x.is_contiguous(torch::MemoryFormat::ChannelsLast) &&
                                 (x.size(0) <= 1 || x.stride(0) == per_sample_numel(x)));
}

/// Runs f(begin, end) over [0, total) in at most at::get_num_threads() contiguous parts, the
/// first on this thread and the others on threads of their own. (LibTorch's parallel_for
/// would need this file built with -fopenmp, and a pip LibTorch brings its own OpenMP
/// runtime; a thread start costs ~20 us against the milliseconds of a map.) Small totals
/// run inline.
template <typename F>
void split_run(int64_t count, int64_t elems_per_item, F f) {
    constexpr int64_t kMinElemsPerThread = 1 << 18;
    const int64_t parts =
        std::max<int64_t>(1, std::min<int64_t>({static_cast<int64_t>(at::get_num_threads()), count,
                                                count * elems_per_item / kMinElemsPerThread}));
    if (parts == 1) {
        f(int64_t{0}, count);
        return;
    }
    std::vector<std::thread> threads;
    const int64_t step = (count + parts - 1) / parts;
    for (int64_t p = 1; p < parts; ++p)
        threads.emplace_back([&f, p, step, count]() {
            f(std::min(count, p * step), std::min(count, (p + 1) * step));
        });
    f(int64_t{0}, std::min(count, step));
    for (auto& t : threads) t.join();
}

bool cpu_float(const torch::Tensor& x) {
    return x.device().is_cpu() && x.scalar_type() == torch::kFloat32;
}

/// s1[i] = sum x, s2[i] = sum x^2 over row i of a [n, d] row-major float buffer, in one
/// pass. Rows are split into 16k-element chunks whose partial sums (eight float lanes of
/// 2k elements each, accurate to ~1e-6 of the chunk's sum) are added in double in a fixed
/// order, so the result does not depend on the thread split.
void row_sums(const float* x, int64_t n, int64_t d, float* s1, float* s2) {
    constexpr int64_t kChunk = 1 << 14;
    const int64_t chunks = (d + kChunk - 1) / kChunk;
    std::vector<double> p1(n * chunks), p2(n * chunks);
    split_run(n * chunks, kChunk, [&](int64_t begin, int64_t end) {
        for (int64_t t = begin; t < end; ++t) {
            const int64_t start = (t % chunks) * kChunk;
            const int64_t len = std::min(kChunk, d - start);
            const float* p = x + (t / chunks) * d + start;
            // Two 4-lane vectors per sum (GCC/Clang vector extensions: plain SIMD on any
            // target; the auto-vectoriser made a 4x slower loop of the scalar form).
            typedef float v4 __attribute__((vector_size(16)));
            v4 a0 = {}, a1 = {}, b0 = {}, b1 = {};
            int64_t i = 0;
            for (; i + 8 <= len; i += 8) {
                v4 u, w;
                std::memcpy(&u, p + i, sizeof(v4));
                std::memcpy(&w, p + i + 4, sizeof(v4));
                a0 += u;
                a1 += w;
                b0 += u * u;
                b1 += w * w;
            }
            double sa = 0.0, sb = 0.0;
            for (; i < len; ++i) {
                sa += p[i];
                sb += static_cast<double>(p[i]) * p[i];
            }
            for (int k = 0; k < 4; ++k) {
                sa += static_cast<double>(a0[k]) + a1[k];
                sb += static_cast<double>(b0[k]) + b1[k];
            }
            p1[t] = sa;
            p2[t] = sb;
        }
    });
    for (int64_t r = 0; r < n; ++r) {
        double sa = 0.0, sb = 0.0;
        for (int64_t c = 0; c < chunks; ++c) {
            sa += p1[r * chunks + c];
            sb += p2[r * chunks + c];
        }
        s1[r] = static_cast<float>(sa);
        s2[r] = static_cast<float>(sb);
    }
}

/// out[i, j] = g[i, j] + c[i] + k[i] * x[i, j] over [n, d] row-major float buffers, in one
/// pass. `out` is a tensor of the caller's own: the incoming gradient g is never written.
void affine_into(float* out, const float* g, const float* x, int64_t n, int64_t d, const float* c,
                 const float* k) {
    split_run(n * d, 1, [&](int64_t begin, int64_t end) {
        for (int64_t r = begin / d; r < n && r * d < end; ++r) {
            const int64_t lo = std::max(begin, r * d), hi = std::min(end, (r + 1) * d);
            const float cr = c[r], kr = k[r];
            float* op = out + lo;
            const float* gp = g + lo;
            const float* xp = x + lo;
            for (int64_t j = 0; j < hi - lo; ++j) op[j] = gp[j] + cr + kr * xp[j];
        }
    });
}

typedef float v4f __attribute__((vector_size(16)));
typedef int32_t v4i __attribute__((vector_size(16)));

/// x = relu(z) (or min(relu(z), 6)) over [n, d] row-major float buffers, with the per-row
/// sums of x and x^2 as in row_sums, in one pass.
void activation_sums(const float* z, float* x, int64_t n, int64_t d, bool relu6, float* s1,
                     float* s2) {
    constexpr int64_t kChunk = 1 << 14;
    const int64_t chunks = (d + kChunk - 1) / kChunk;
    std::vector<double> p1(n * chunks), p2(n * chunks);
    const float top = relu6 ? 6.0f : std::numeric_limits<float>::infinity();
    split_run(n * chunks, kChunk, [&](int64_t begin, int64_t end) {
        const v4f zero = {0, 0, 0, 0}, cap = {top, top, top, top};
        for (int64_t t = begin; t < end; ++t) {
            const int64_t off = (t / chunks) * d + (t % chunks) * kChunk;
            const int64_t len = std::min(kChunk, d - (t % chunks) * kChunk);
            const float* zp = z + off;
            float* xp = x + off;
            v4f a0 = {}, b0 = {};
            int64_t i = 0;
            for (; i + 4 <= len; i += 4) {
                v4f u;
                std::memcpy(&u, zp + i, sizeof(v4f));
                // Bitwise selects: max(u, 0) then min(., cap), NaN-free inputs assumed.
                u = (v4f)((v4i)u & (u > zero));
                const v4i below = u < cap;
                u = (v4f)(((v4i)u & below) | ((v4i)cap & ~below));
                std::memcpy(xp + i, &u, sizeof(v4f));
                a0 += u;
                b0 += u * u;
            }
            double sa = 0.0, sb = 0.0;
            for (; i < len; ++i) {
                const float v = std::min(std::max(zp[i], 0.0f), top);
                xp[i] = v;
                sa += v;
                sb += static_cast<double>(v) * v;
            }
            for (int k = 0; k < 4; ++k) {
                sa += a0[k];
                sb += b0[k];
            }
            p1[t] = sa;
            p2[t] = sb;
        }
    });
    for (int64_t r = 0; r < n; ++r) {
        double sa = 0.0, sb = 0.0;
        for (int64_t c = 0; c < chunks; ++c) {
            sa += p1[r * chunks + c];
            sb += p2[r * chunks + c];
        }
        s1[r] = static_cast<float>(sa);
        s2[r] = static_cast<float>(sb);
    }
}

/// gz = (0 < x < cap) ? g + c[row] + k[row] * x : 0 over [n, d] row-major float buffers (g
/// may be null: 0; gz is a new buffer, never g), in one pass: the activation's backward with the
/// penalty's gradient added.
void activation_backward(const float* g, const float* x, float* gz, int64_t n, int64_t d,
                         bool relu6, const float* c, const float* k) {
    const float top = relu6 ? 6.0f : std::numeric_limits<float>::infinity();
    split_run(n * d, 1, [&](int64_t begin, int64_t end) {
        const v4f zero = {0, 0, 0, 0}, cap = {top, top, top, top};
        for (int64_t r = begin / d; r < n && r * d < end; ++r) {
            const int64_t lo = std::max(begin, r * d), hi = std::min(end, (r + 1) * d);
            const float cr = c[r], kr = k[r];
            const v4f cv = {cr, cr, cr, cr}, kv = {kr, kr, kr, kr};
            int64_t i = lo;
            for (; i + 4 <= hi; i += 4) {
                v4f xv, gv = zero;
                std::memcpy(&xv, x + i, sizeof(v4f));
                if (g != nullptr) std::memcpy(&gv, g + i, sizeof(v4f));
                const v4f val = gv + cv + kv * xv;
                const v4f out = (v4f)((v4i)val & ((xv > zero) & (xv < cap)));
                std::memcpy(gz + i, &out, sizeof(v4f));
            }
            for (; i < hi; ++i) {
                const float v = (g != nullptr ? g[i] : 0.0f) + cr + kr * x[i];
                gz[i] = x[i] > 0.0f && x[i] < top ? v : 0.0f;
            }
        }
    });
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
/// checks this). On CPU float32 the forward pass reads the map once (both sums) and the
/// backward pass adds c + k*x into the conv's gradient in place, in one pass: 3 reads and a
/// write per element where composing |x|, norms and their autograd formulas (and autograd
/// summing two gradients) takes about 10 passes and two fresh map-sized tensors. Elsewhere
/// (CUDA, other dtypes, odd layouts) the same arithmetic runs as LibTorch ops on [N, d] views.
/// Outputs: x (a view), the weighted term [N], L1 [N] and Hoyer [N] (for the log).
class PenaltyTap : public torch::autograd::Function<PenaltyTap> {
  public:
    /// Outputs: x (a view), then scalars: the batch mean of a*L1 + b*Hoyer (differentiable),
    /// a * mean L1 and b * mean Hoyer (for the log).
    static torch::autograd::variable_list forward(torch::autograd::AutogradContext* ctx,
                                                  const torch::Tensor& x, double a, double b,
                                                  double eps) {
        const int64_t n = x.size(0);
        const double d = static_cast<double>(per_sample_numel(x));
        torch::Tensor s1, s2, term, l1, hoyer;
        if (cpu_float(x) && flat_in_place(x) && n > 0) {
            // The per-image arithmetic on CPU is a few dozen flops: plain C++, not the dozen
            // small tensor ops (and their dispatch) it would take per layer.
            s1 = torch::empty({n}, x.options());
            s2 = torch::empty({n}, x.options());
            float* p1 = s1.data_ptr<float>();
            float* p2 = s2.data_ptr<float>();
            row_sums(x.data_ptr<float>(), n, per_sample_numel(x), p1, p2);
            double sum_l1 = 0.0, sum_h = 0.0;
            for (int64_t i = 0; i < n; ++i) {
                sum_l1 += p1[i] / d;
                sum_h += static_cast<double>(p1[i]) * p1[i] / (p2[i] + eps) / d;
            }
            // (through float: a huge lambda gives inf, which the trainer reports, not a throw)
            const auto scalar = [&](double v) {
                return torch::scalar_tensor(static_cast<float>(v), x.options());
            };
            term = scalar((a * sum_l1 + b * sum_h) / n);
            l1 = scalar(a * sum_l1 / n);
            hoyer = scalar(b * sum_h / n);
        } else {
            const torch::Tensor flat = flat_view(x);
            s1 = flat.sum(1);
            s2 = torch::linalg_vector_norm(flat, 2, {1}, false, {}).square();
            l1 = a * (s1 / d).mean();
            hoyer = b * (s1.square() / (s2 + eps) / d).mean();
            term = l1 + hoyer;
        }
        ctx->save_for_backward({x, s1, s2});
        ctx->saved_data["a"] = a;
        ctx->saved_data["b"] = b;
        ctx->saved_data["eps"] = eps;
        ctx->mark_non_differentiable({l1, hoyer});
        // Outputs nobody used arrive undefined instead of as map-sized zeros.
        ctx->set_materialize_grads(false);
        return {x, term, l1, hoyer};
    }

    // The gradient the conv passes back is read, never written: whether anybody else holds
    // it is autograd's business (reference counts are its internals), so the result is always
    // a tensor of this node's own.
    static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                   const torch::autograd::variable_list& grads) {
        const auto saved = ctx->get_saved_variables();
        const torch::Tensor& x = saved[0];
        const torch::Tensor& s1 = saved[1];
        const torch::Tensor& s2 = saved[2];
        const double a = ctx->saved_data["a"].toDouble();
        const double b = ctx->saved_data["b"].toDouble();
        const double eps = ctx->saved_data["eps"].toDouble();
        const int64_t n = x.size(0);
        const double d = static_cast<double>(per_sample_numel(x));
        const torch::Tensor& through = grads[0];
        // Per image: d/dx of (a*s1 + b*s1^2/den) / (d*n) is c + k*x.
        if (cpu_float(x) && flat_in_place(x) && n > 0 && through.defined() &&
            through.scalar_type() == torch::kFloat32 && through.strides() == x.strides()) {
            const double g = grads[1].defined() ? grads[1].item<double>() / (d * n) : 0.0;
            std::vector<float> c(n), k(n);
            const float* p1 = s1.data_ptr<float>();
            const float* p2 = s2.data_ptr<float>();
            for (int64_t i = 0; i < n; ++i) {
                const double den = p2[i] + eps;
                c[i] = static_cast<float>(g * (a + 2.0 * b * p1[i] / den));
                k[i] = static_cast<float>(-g * 2.0 * b * p1[i] * p1[i] / (den * den));
            }
            // One pass into a new tensor in x's layout (the trainer keeps freed memory in the
            // process, trainer/cpu_memory.h, so this costs no page faults after the first
            // step).
            torch::Tensor out = torch::empty_like(x);
            if (out.strides() == x.strides()) {
                affine_into(out.data_ptr<float>(), through.data_ptr<float>(), x.data_ptr<float>(),
                            n, per_sample_numel(x), c.data(), k.data());
                return {out, torch::Tensor(), torch::Tensor(), torch::Tensor()};
            }
        }
        const torch::Tensor g =
            grads[1].defined() ? (grads[1] / (d * n)).expand_as(s1) : torch::zeros_like(s1);
        const torch::Tensor den = s2 + eps;
        const torch::Tensor c = (g * (a + 2.0 * b * s1 / den)).unsqueeze(1);
        const torch::Tensor k = (g * (-2.0 * b) * s1.square() / den.square()).unsqueeze(1);
        // Work on [N, d] views in x's memory order; the result goes back to x's layout.
        const bool in_order = flat_in_place(x);
        const torch::Tensor flat = flat_view(in_order ? x : x.contiguous());
        torch::Tensor out_flat;
        if (through.defined()) {
            torch::Tensor t = through;
            if (in_order ? t.strides() != x.strides() : !t.is_contiguous())
                t = t.contiguous(in_order ? x.suggest_memory_format()
                                          : torch::MemoryFormat::Contiguous);
            if (in_order && t.strides() != x.strides()) {
                // A layout that contiguous() did not reproduce: combine in logical order.
                std::vector<int64_t> shape(x.dim(), 1);
                shape[0] = n;
                return {torch::addcmul(t + c.view(shape), x, k.view(shape)), torch::Tensor(),
                        torch::Tensor(), torch::Tensor()};
            }
            out_flat = torch::addcmul(flat_view(t), flat, k).add_(c);
        } else {
            out_flat = torch::addcmul(c, flat, k);
        }
        const torch::Tensor out =
            in_order ? out_flat.as_strided(x.sizes(), x.strides()) : out_flat.view(x.sizes());
        return {out, torch::Tensor(), torch::Tensor(), torch::Tensor()};
    }
};

/// A ReLU/ReLU6 whose output only feeds penalised convs, with their penalty computed in the
/// same passes (CPU float32, dense layouts): forward x = act(z) and both sums of x in one
/// pass; backward the activation's mask applied to (conv gradient + c + k*x) in one pass
/// (the same c, k as PenaltyTap). The penalty then costs almost no memory traffic of its
/// own. a, b are the sums of the consumers' weights times lambdas (the terms add up).
/// Outputs as PenaltyTap, with x = act(z) a new tensor.
class FusedActivation : public torch::autograd::Function<FusedActivation> {
  public:
    static torch::autograd::variable_list forward(torch::autograd::AutogradContext* ctx,
                                                  const torch::Tensor& z, bool relu6, double a,
                                                  double b, double eps) {
        const int64_t n = z.size(0), dn = per_sample_numel(z);
        const double d = static_cast<double>(dn);
        torch::Tensor x = torch::empty_like(z);
        torch::Tensor s1 = torch::empty({n}, z.options()), s2 = torch::empty({n}, z.options());
        float* p1 = s1.data_ptr<float>();
        float* p2 = s2.data_ptr<float>();
        activation_sums(z.data_ptr<float>(), x.data_ptr<float>(), n, dn, relu6, p1, p2);
        double sum_l1 = 0.0, sum_h = 0.0;
        for (int64_t i = 0; i < n; ++i) {
            sum_l1 += p1[i] / d;
            sum_h += static_cast<double>(p1[i]) * p1[i] / (p2[i] + eps) / d;
        }
        const auto scalar = [&](double v) {
            return torch::scalar_tensor(static_cast<float>(v), z.options());
        };
        const torch::Tensor term = scalar((a * sum_l1 + b * sum_h) / n);
        const torch::Tensor l1 = scalar(a * sum_l1 / n), hoyer = scalar(b * sum_h / n);
        ctx->save_for_backward({x, s1, s2});
        ctx->saved_data["relu6"] = relu6;
        ctx->saved_data["a"] = a;
        ctx->saved_data["b"] = b;
        ctx->saved_data["eps"] = eps;
        ctx->mark_non_differentiable({l1, hoyer});
        ctx->set_materialize_grads(false);
        return {x, term, l1, hoyer};
    }

    static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                   const torch::autograd::variable_list& grads) {
        const auto saved = ctx->get_saved_variables();
        const torch::Tensor& x = saved[0];
        const torch::Tensor& s1 = saved[1];
        const torch::Tensor& s2 = saved[2];
        const bool relu6 = ctx->saved_data["relu6"].toBool();
        const double a = ctx->saved_data["a"].toDouble();
        const double b = ctx->saved_data["b"].toDouble();
        const double eps = ctx->saved_data["eps"].toDouble();
        const int64_t n = x.size(0), dn = per_sample_numel(x);
        const double g =
            grads[1].defined() ? grads[1].item<double>() / (dn * static_cast<double>(n)) : 0.0;
        std::vector<float> c(n), k(n);
        const float* p1 = s1.data_ptr<float>();
        const float* p2 = s2.data_ptr<float>();
        for (int64_t i = 0; i < n; ++i) {
            const double den = p2[i] + eps;
            c[i] = static_cast<float>(g * (a + 2.0 * b * p1[i] / den));
            k[i] = static_cast<float>(-g * 2.0 * b * p1[i] * p1[i] / (den * den));
        }
        torch::Tensor through = grads[0];
        if (through.defined() &&
            (through.scalar_type() != torch::kFloat32 || through.strides() != x.strides()))
            through = through.to(torch::kFloat32).contiguous(x.suggest_memory_format());
        if (through.defined() && through.strides() != x.strides()) {
            // A layout that contiguous() did not reproduce: the plain formulas.
            std::vector<int64_t> shape(x.dim(), 1);
            shape[0] = n;
            const torch::Tensor cv = torch::tensor(c).view(shape),
                                kv = torch::tensor(k).view(shape);
            const torch::Tensor mask = relu6 ? (x > 0) & (x < 6) : x > 0;
            return {(through + cv + kv * x) * mask, torch::Tensor(), torch::Tensor(),
                    torch::Tensor(), torch::Tensor()};
        }
        torch::Tensor gz = torch::empty_like(x);  // never the incoming gradient (see above)
        activation_backward(through.defined() ? through.data_ptr<float>() : nullptr,
                            x.data_ptr<float>(), gz.data_ptr<float>(), n, dn, relu6, c.data(),
                            k.data());
        return {gz, torch::Tensor(), torch::Tensor(), torch::Tensor(), torch::Tensor()};
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

ActivationPenalty::ActivationPenalty(std::vector<LayerPenalty> plan, const core::Network& net)
    : ActivationPenalty(std::move(plan), static_cast<int>(net.conv_layers().size())) {
    const auto layers = net.conv_layers();
    std::vector<int> conv_of_op(net.ops.size(), -1);
    for (const auto& l : layers) {
        conv_of_op[l.op] = l.index;
        input_op_.push_back(net.ops[l.op].inputs.at(0));
    }
    std::map<int, const LayerPenalty*> by_conv;
    for (const auto& p : plan_) by_conv[p.conv_index] = &p;
    std::vector<std::vector<int>> consumers(net.ops.size());
    for (size_t i = 0; i < net.ops.size(); ++i)
        for (int in : net.ops[i].inputs) consumers[in].push_back(static_cast<int>(i));
    for (size_t i = 0; i < net.ops.size(); ++i) {
        const auto kind = net.ops[i].kind;
        if ((kind != core::OpKind::kReLU && kind != core::OpKind::kReLU6) || consumers[i].empty())
            continue;
        Fused f;
        bool all = true;
        for (int c : consumers[i]) {
            const int conv = conv_of_op[c];
            const auto it = conv >= 0 ? by_conv.find(conv) : by_conv.end();
            if (it == by_conv.end()) {
                all = false;
                break;
            }
            f.a += it->second->weight * it->second->lambda1;
            f.b += it->second->weight * it->second->lambda2;
        }
        if (all && (f.a != 0.0 || f.b != 0.0)) fusable_[static_cast<int>(i)] = f;
    }
}

PenaltyRecorder::PenaltyRecorder(const ActivationPenalty& penalty) : penalty_(penalty) {
    for (size_t i = 0; i < penalty_.plan().size(); ++i)
        index_[penalty_.plan()[i].conv_index] = static_cast<int>(i);
}

void PenaltyRecorder::record(const torch::autograd::variable_list& out) {
    terms_.push_back(out[1]);
    l1_.push_back(out[2]);
    hoyer_.push_back(out[3]);
}

torch::Tensor PenaltyRecorder::operator()(int conv_index, const torch::Tensor& x) {
    const auto it = index_.find(conv_index);
    if (it == index_.end()) return x;
    const int producer = penalty_.input_op(conv_index);
    if (producer >= 0 && std::find(fused_.begin(), fused_.end(), producer) != fused_.end())
        return x;  // counted inside the activation
    const LayerPenalty& p = penalty_.plan()[it->second];
    const double a = p.weight * p.lambda1, b = p.weight * p.lambda2;
    if (a == 0.0 && b == 0.0) return x;
    const auto out = PenaltyTap::apply(x, a, b, kHoyerEps);
    record(out);
    return out[0];
}

torch::Tensor PenaltyRecorder::activation(int op, const torch::Tensor& z, bool relu6) {
    const auto it = penalty_.fusable().find(op);
    if (it == penalty_.fusable().end() || !cpu_float(z) || !flat_in_place(z) || z.size(0) == 0)
        return torch::Tensor();
    const auto out = FusedActivation::apply(z, relu6, it->second.a, it->second.b, kHoyerEps);
    record(out);
    fused_.push_back(op);
    return out[0];
}

ForwardHooks PenaltyRecorder::hooks() {
    ForwardHooks h;
    h.conv_input = [this](int conv, const torch::Tensor& x) { return (*this)(conv, x); };
    if (!penalty_.fusable().empty())
        h.activation = [this](int op, const torch::Tensor& z, bool relu6) {
            return activation(op, z, relu6);
        };
    return h;
}

PenaltyValue PenaltyRecorder::value() const {
    if (terms_.empty()) {
        const torch::Tensor zero = torch::zeros({});
        return {zero, zero, zero};
    }
    // One stack and sum per batch rather than an autograd add per layer.
    return {torch::stack(terms_).sum(), torch::stack(l1_).sum().detach(),
            torch::stack(hoyer_).sum().detach()};
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
