#include "trainer/distributed.h"

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "core/error.h"

#ifdef ACTSPARSE_WITH_C10D
#include <torch/csrc/autograd/custom_function.h>

#include <torch/csrc/distributed/c10d/FileStore.hpp>
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#ifdef USE_C10D_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif
#if __has_include(<glog/logging.h>)
#include <glog/logging.h>
#define ACTSPARSE_HAVE_GLOG 1
#endif
#endif

namespace actsparse::trainer {

namespace {

std::string first_line(const std::string& s) {
    const auto nl = s.find('\n');
    return nl == std::string::npos ? s : s.substr(0, nl);
}

}  // namespace

#ifndef ACTSPARSE_WITH_C10D

bool distributed_available() { return false; }

std::unique_ptr<Distributed> Distributed::connect(int64_t, int64_t, const std::string&, double,
                                                  const torch::Device&) {
    throw core::InputError("--world-size",
                           "this build has no torch c10d (Gloo) support: train with one rank");
}

#else

bool distributed_available() { return true; }

namespace {

using Group = c10::intrusive_ptr<c10d::ProcessGroup>;

/// Runs a collective and waits for it; a failure (a peer that died or went silent past the
/// timeout) becomes one clear line, exit 1.
void run(int64_t rank, const char* what,
         const std::function<c10::intrusive_ptr<c10d::Work>()>& op) {
    try {
        op()->wait();
    } catch (const std::exception& e) {
        throw core::IoError("rank " + std::to_string(rank),
                            std::string("lost contact with the other ranks during ") + what +
                                " (a rank died or stopped answering): " + first_line(e.what()));
    }
}

/// Synchronised BatchNorm: the batch statistics are summed over the ranks in the forward
/// pass, the two reductions of the input gradient in the backward pass. Saved: x, mean,
/// invstd, weight; the group travels in ctx->saved_data.
struct SyncBatchNormFn : public torch::autograd::Function<SyncBatchNormFn> {
    static torch::Tensor forward(torch::autograd::AutogradContext* ctx, torch::Tensor x,
                                 torch::Tensor weight, torch::Tensor bias, Group* pg, int64_t rank,
                                 torch::nn::BatchNorm2dImpl* bn) {
        const double eps = bn->options.eps();
        const double momentum = bn->options.momentum().value_or(0.1);
        const int64_t c = x.size(1);
        const double local = static_cast<double>(x.numel() / c);
        const std::vector<int64_t> dims = {0, 2, 3};
        // [sum x, sum x^2, count] in float64 so E[x^2] - E[x]^2 keeps its precision.
        torch::Tensor stats = torch::cat(
            {x.sum(dims, false, torch::kFloat64), x.square().sum(dims, false, torch::kFloat64),
             torch::full({1}, local, x.options().dtype(torch::kFloat64))});
        std::vector<torch::Tensor> v = {stats};
        run(rank, "a BatchNorm forward", [&] { return (*pg)->allreduce(v); });
        const double n = stats[2 * c].item<double>();
        const torch::Tensor mean64 = stats.narrow(0, 0, c) / n;
        const torch::Tensor var64 = (stats.narrow(0, c, c) / n - mean64.square()).clamp_min(0.0);
        const torch::Tensor mean = mean64.to(x.scalar_type());
        const torch::Tensor invstd = (var64 + eps).rsqrt().to(x.scalar_type());
        const auto shape = std::vector<int64_t>{1, c, 1, 1};
        torch::Tensor y = (x - mean.view(shape)) * (invstd * weight).view(shape) + bias.view(shape);
        // Running statistics from the global batch, as one process would update them.
        const torch::Tensor var_unbiased = var64 * (n / std::max(1.0, n - 1.0));
        bn->running_mean.mul_(1.0 - momentum)
            .add_(mean64.to(bn->running_mean.scalar_type()), momentum);
        bn->running_var.mul_(1.0 - momentum)
            .add_(var_unbiased.to(bn->running_var.scalar_type()), momentum);
        bn->num_batches_tracked.add_(1);
        ctx->save_for_backward({x, mean, invstd, weight});
        ctx->saved_data["n"] = n;
        ctx->saved_data["rank"] = rank;
        ctx->saved_data["pg"] = reinterpret_cast<int64_t>(pg);
        return y;
    }

    static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                   torch::autograd::variable_list grad) {
        const auto saved = ctx->get_saved_variables();
        const torch::Tensor &x = saved[0], &mean = saved[1], &invstd = saved[2], &w = saved[3];
        Group* pg = reinterpret_cast<Group*>(ctx->saved_data["pg"].toInt());
        const int64_t rank = ctx->saved_data["rank"].toInt();
        const double n = ctx->saved_data["n"].toDouble();
        const torch::Tensor dy = grad[0];
        const int64_t c = x.size(1);
        const auto shape = std::vector<int64_t>{1, c, 1, 1};
        const std::vector<int64_t> dims = {0, 2, 3};
        const torch::Tensor xhat = (x - mean.view(shape)) * invstd.view(shape);
        // Local parts of the parameter gradients (the ranks' gradients are averaged later,
        // like every other parameter's); the input gradient needs the global sums.
        const torch::Tensor sum_dy = dy.sum(dims);
        const torch::Tensor sum_dy_xhat = (dy * xhat).sum(dims);
        torch::Tensor both = torch::cat({sum_dy, sum_dy_xhat});
        std::vector<torch::Tensor> v = {both};
        run(rank, "a BatchNorm backward", [&] { return (*pg)->allreduce(v); });
        const torch::Tensor g_dy = both.narrow(0, 0, c), g_dy_xhat = both.narrow(0, c, c);
        const torch::Tensor dx = (w * invstd).view(shape) *
                                 (dy - (g_dy / n).view(shape) - xhat * (g_dy_xhat / n).view(shape));
        return {dx, sum_dy_xhat, sum_dy, torch::Tensor(), torch::Tensor(), torch::Tensor()};
    }
};

class C10dGroup final : public Distributed {
  public:
    C10dGroup(Group pg, int64_t rank, int64_t world)
        : pg_(std::move(pg)), rank_(rank), world_(world) {}
    int64_t rank() const override { return rank_; }
    int64_t world_size() const override { return world_; }

    void broadcast_module(torch::nn::Module& module) override {
        torch::NoGradGuard no_grad;
        std::vector<torch::Tensor> all;
        for (const auto& p : module.parameters()) all.push_back(p);
        for (const auto& b : module.buffers()) all.push_back(b);
        for (auto& t : all) {
            torch::Tensor flat = t.contiguous();
            std::vector<torch::Tensor> v = {flat};
            run(rank_, "the parameter broadcast", [&] { return pg_->broadcast(v); });
            if (!flat.is_same(t)) t.copy_(flat);
        }
    }

    void average_gradients(torch::nn::Module& module) override {
        torch::NoGradGuard no_grad;
        std::vector<torch::Tensor> grads;
        for (const auto& p : module.parameters())
            if (p.grad().defined()) grads.push_back(p.grad());
        if (grads.empty()) return;
        std::vector<torch::Tensor> flat_parts;
        for (const auto& g : grads) flat_parts.push_back(g.reshape({-1}));
        torch::Tensor flat = torch::cat(flat_parts);
        std::vector<torch::Tensor> v = {flat};
        run(rank_, "the gradient all-reduce", [&] { return pg_->allreduce(v); });
        flat.div_(static_cast<double>(world_));
        int64_t at = 0;
        for (auto& g : grads) {
            const int64_t k = g.numel();
            g.copy_(flat.narrow(0, at, k).view_as(g));
            at += k;
        }
    }

    void sum(torch::Tensor& t) override {
        std::vector<torch::Tensor> v = {t};
        run(rank_, "the statistics all-reduce", [&] { return pg_->allreduce(v); });
    }

    void barrier() override {
        run(rank_, "a barrier", [&] { return pg_->barrier(); });
    }

    torch::Tensor batch_norm(torch::nn::BatchNorm2dImpl& bn, const torch::Tensor& x) override {
        return SyncBatchNormFn::apply(x, bn.weight, bn.bias, &pg_, rank_, &bn);
    }

  private:
    Group pg_;
    int64_t rank_, world_;
};

}  // namespace

std::unique_ptr<Distributed> Distributed::connect(int64_t world, int64_t rank,
                                                  const std::string& rendezvous, double timeout_s,
                                                  const torch::Device& device) {
    if (world < 1) throw core::InputError("--world-size", "must be at least 1");
    if (rank < 0 || rank >= world)
        throw core::InputError(
            "--rank", std::to_string(rank) + " is not below --world-size " + std::to_string(world));
    if (!(timeout_s > 0.0)) throw core::InputError("--dist-timeout", "must be positive");
    const auto timeout = std::chrono::milliseconds(static_cast<int64_t>(timeout_s * 1000.0));
#ifdef ACTSPARSE_HAVE_GLOG
    // c10d logs its socket retries and timeouts through glog on stderr; the errors below say
    // what went wrong in one line instead.
    FLAGS_minloglevel = google::GLOG_FATAL;
#endif
    c10::intrusive_ptr<c10d::Store> store;
    if (rendezvous.rfind("file://", 0) == 0) {
        const std::string path = rendezvous.substr(7);
        const std::filesystem::path parent = std::filesystem::path(path).parent_path();
        if (path.empty() || (!parent.empty() && !std::filesystem::is_directory(parent)))
            throw core::InputError("--rendezvous",
                                   rendezvous + ": the folder of the store file does not exist");
        try {
            store = c10::make_intrusive<c10d::FileStore>(path, static_cast<int>(world));
        } catch (const std::exception& e) {
            throw core::InputError("--rendezvous", rendezvous + ": " + first_line(e.what()));
        }
    } else if (rendezvous.rfind("tcp://", 0) == 0) {
        const std::string hp = rendezvous.substr(6);
        const auto colon = hp.rfind(':');
        int64_t port = -1;
        try {
            if (colon != std::string::npos) port = std::stoll(hp.substr(colon + 1));
        } catch (const std::exception&) {
            port = -1;
        }
        if (colon == std::string::npos || colon == 0 || port <= 0 || port > 65535)
            throw core::InputError("--rendezvous", rendezvous + ": expected tcp://HOST:PORT");
        c10d::TCPStoreOptions opts;
        opts.port = static_cast<uint16_t>(port);
        opts.isServer = rank == 0;
        opts.numWorkers = static_cast<size_t>(world);
        opts.waitWorkers = true;
        opts.timeout = timeout;
        try {
            store = c10::make_intrusive<c10d::TCPStore>(hp.substr(0, colon), opts);
        } catch (const std::exception& e) {
            throw core::InputError("--rendezvous", rendezvous + ": cannot reach or serve it (" +
                                                       first_line(e.what()) + ")");
        }
    } else {
        throw core::InputError("--rendezvous",
                               "'" + rendezvous + "': expected file://PATH or tcp://HOST:PORT");
    }
    store->setTimeout(timeout);
    auto prefixed = c10::make_intrusive<c10d::PrefixStore>("actsparse", store);
    Group pg;
    try {
#ifdef USE_C10D_NCCL
        if (device.is_cuda()) {
            auto opts = c10d::ProcessGroupNCCL::Options::create();
            opts->timeout = timeout;
            pg = c10::make_intrusive<c10d::ProcessGroupNCCL>(prefixed, static_cast<int>(rank),
                                                             static_cast<int>(world), opts);
        }
#endif
        if (!pg) {
            if (device.is_cuda())
                throw core::InputError("--device",
                                       "this LibTorch has no NCCL: data-parallel "
                                       "training on CUDA needs it");
            auto opts = c10d::ProcessGroupGloo::Options::create(timeout);
            opts->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1"));
            const char* iface = std::getenv("GLOO_SOCKET_IFNAME");
            if (iface && *iface)
                opts->devices = {c10d::ProcessGroupGloo::createDeviceForInterface(iface)};
            else if (rendezvous.rfind("tcp://", 0) == 0)
                opts->devices = {c10d::ProcessGroupGloo::createDefaultDevice()};
            opts->threads = 2;
            pg = c10::make_intrusive<c10d::ProcessGroupGloo>(prefixed, static_cast<int>(rank),
                                                             static_cast<int>(world), opts);
        }
    } catch (const core::InputError&) {
        throw;
    } catch (const std::exception& e) {
        throw core::InputError("--rendezvous", rendezvous + ": the ranks did not all join within " +
                                                   std::to_string(timeout_s) + " s (" +
                                                   first_line(e.what()) + ")");
    }
    return std::make_unique<C10dGroup>(pg, rank, world);
}

#endif

}  // namespace actsparse::trainer
