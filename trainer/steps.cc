#include "trainer/steps.h"

#include <algorithm>
#include <functional>
#include <numeric>

#include "core/error.h"
#include "trainer/batches.h"

namespace actsparse::trainer {
torch::Tensor nonzero_count(const torch::Tensor& x, bool non_negative) {
    const torch::Tensor flat = flat_view(x);
    // Float sums of 0/1 values are exact while an image has fewer than 2^24 elements.
    if (flat.size(1) >= (int64_t{1} << 24)) return torch::count_nonzero(x).to(torch::kFloat64);
    const torch::Tensor ones = non_negative ? flat.sign() : flat.sign().abs_();
    return ones.sum(1).to(torch::kFloat64).sum();
}

StepTensors train_step(GraphNet& model, torch::optim::Optimizer& optimizer,
                       const ActivationPenalty& penalty, const torch::Tensor& images,
                       const torch::Tensor& labels, const std::vector<bool>& count,
                       const std::function<void()>& after_backward) {
    const size_t n = model->conv_layers().size();
    std::vector<bool> capture = penalty.needs();
    if (capture.size() != n) capture.assign(n, false);
    const bool counting = std::find(count.begin(), count.end(), true) != count.end();
    if (counting && count.size() != n)
        core::model_bug("trainer::train_step", "count list does not match the conv layers");
    for (size_t i = 0; i < n && counting; ++i) capture[i] = capture[i] || count[i];
    optimizer.zero_grad();
    PenaltyRecorder recorder(penalty);
    const ForwardHooks hooks = recorder.hooks();
    ForwardOutput out = model->forward_capture(images, capture, penalty.empty() ? nullptr : &hooks);
    const torch::Tensor ce = torch::nn::functional::cross_entropy(out.logits, labels);
    torch::Tensor loss = ce;
    PenaltyValue pen;
    if (!penalty.empty()) {
        pen = recorder.value();
        loss = ce + pen.total;
    }
    loss.backward();
    if (after_backward) after_backward();
    optimizer.step();

    StepTensors st;
    torch::NoGradGuard no_grad;
    const auto opts = torch::TensorOptions().dtype(torch::kFloat64).device(images.device());
    const torch::Tensor zero = torch::zeros({}, opts);
    const torch::Tensor correct = out.logits.argmax(1).eq(labels).sum().to(torch::kFloat64);
    st.stats = torch::stack({loss.detach().to(torch::kFloat64), ce.detach().to(torch::kFloat64),
                             pen.l1.defined() ? pen.l1.to(torch::kFloat64) : zero,
                             pen.hoyer.defined() ? pen.hoyer.to(torch::kFloat64) : zero, correct});
    if (counting) {
        const auto& layers = model->conv_layers();
        std::vector<torch::Tensor> counts;
        for (size_t i = 0; i < n; ++i)
            counts.push_back(count[i] ? nonzero_count(out.conv_inputs[i], layers[i].input_sparse)
                                      : zero);
        st.nonzero = torch::stack(counts);
    }
    return st;
}

EvalResult evaluate(GraphNet& model, const ImageSet& set, const DatasetInfo& info,
                    const std::vector<int64_t>& idx, int64_t batch_size, int64_t limit_batches,
                    const torch::Device& device, bool quantisation_stats) {
    const bool was_training = model->is_training();
    model->eval();
    torch::NoGradGuard no_grad;
    const auto& layers = model->conv_layers();
    const size_t n = layers.size();
    const auto opts = torch::TensorOptions().dtype(torch::kFloat64).device(device);
    torch::Tensor loss_sum = torch::zeros({}, opts), correct = torch::zeros({}, opts);
    const int64_t L = static_cast<int64_t>(n);
    torch::Tensor nonzero = torch::zeros({L}, opts);
    torch::Tensor hist = torch::zeros({L, kHistBins}, opts), max_abs = torch::zeros({L}, opts);
    const std::vector<bool> capture(n, true);
    const int64_t total = static_cast<int64_t>(idx.size());
    int64_t seen = 0, batches = 0;
    for (int64_t start = 0; start < total; start += batch_size) {
        if (limit_batches > 0 && batches >= limit_batches) break;
        const int64_t count = std::min(batch_size, total - start);
        Batch b = make_batch(set, info, idx.data() + start, count, false, 0);
        const torch::Tensor x = b.images.to(device), y = b.labels.to(device);
        ForwardOutput out = model->forward_capture(x, capture);
        loss_sum += torch::nn::functional::cross_entropy(
                        out.logits, y,
                        torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum))
                        .to(torch::kFloat64);
        correct += out.logits.argmax(1).eq(y).sum().to(torch::kFloat64);
        if (quantisation_stats) {
            std::vector<torch::Tensor> hists, maxes;
            for (size_t i = 0; i < n; ++i) {
                ActivationStats st = activation_stats(out.conv_inputs[i]);
                hists.push_back(st.hist.to(device));
                maxes.push_back(st.max_abs.to(device));
            }
            hist += torch::stack(hists);
            max_abs = torch::maximum(max_abs, torch::stack(maxes));
        } else {
            std::vector<torch::Tensor> counts;
            for (size_t i = 0; i < n; ++i)
                counts.push_back(nonzero_count(out.conv_inputs[i], layers[i].input_sparse));
            nonzero += torch::stack(counts);
        }
        seen += count;
        ++batches;
    }
    if (was_training) model->train();
    EvalResult r;
    r.images = seen;
    if (seen == 0) return r;
    r.loss = loss_sum.item<double>() / static_cast<double>(seen);
    r.accuracy = correct.item<double>() / static_cast<double>(seen);
    const torch::Tensor nz = nonzero.to(torch::kCPU);
    const torch::Tensor h = hist.to(torch::kCPU).contiguous(), mx = max_abs.to(torch::kCPU);
    for (size_t l = 0; l < n; ++l) {
        const auto& s = layers[l].shape;
        const double elems = static_cast<double>(seen) * s.C * s.H * s.W;
        if (quantisation_stats) {
            std::array<double, kHistBins> b{};
            std::copy_n(h.data_ptr<double>() + l * kHistBins, kHistBins, b.begin());
            r.hist.push_back(b);
            r.max_abs.push_back(mx[static_cast<int64_t>(l)].item<double>());
            r.density.push_back(nonzero_float(b) / elems);
        } else {
            r.density.push_back(nz[static_cast<int64_t>(l)].item<double>() / elems);
        }
    }
    return r;
}

std::vector<double> quantised_density(const EvalResult& r, const std::vector<int64_t>& frac_bits) {
    if (r.hist.size() != frac_bits.size())
        core::model_bug("trainer::quantised_density", "no histogram per layer");
    std::vector<double> d;
    for (size_t l = 0; l < r.hist.size(); ++l) {
        const double total = std::accumulate(r.hist[l].begin(), r.hist[l].end(), 0.0);
        d.push_back(total > 0.0 ? nonzero_at(r.hist[l], frac_bits[l]) / total : 0.0);
    }
    return d;
}

double mean_sparse_density(const std::vector<core::ConvLayer>& layers,
                           const std::vector<double>& density) {
    double sum = 0.0;
    int count = 0;
    for (size_t l = 0; l < layers.size() && l < density.size(); ++l)
        if (layers[l].input_sparse) {
            sum += density[l];
            ++count;
        }
    return count > 0 ? sum / count : 0.0;
}

}  // namespace actsparse::trainer
