#pragma once
/// @file Data-parallel training over torch c10d process groups (Gloo on CPU, NCCL where the
/// LibTorch build has it), kept out of the header so that including it stays cheap. One
/// process per rank; every rank runs the same steps on its own share of each global batch,
/// and the collectives below keep the replicas equal (docs/scaling.md).
#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace actsparse::trainer {

/// Whether this build can train with more than one rank (compiled with c10d + Gloo).
bool distributed_available();

class Distributed {
  public:
    /// Joins the group `rendezvous` (file://PATH: a c10d FileStore at PATH, whose folder must
    /// exist; tcp://HOST:PORT: a c10d TCPStore that rank 0 serves), waiting at most
    /// `timeout_s` for the others. Every later collective fails after `timeout_s` too (a
    /// lost rank). Bad input (a malformed rendezvous, a rank not below the world size, a
    /// store that cannot be reached or made) throws core::InputError naming the flag.
    static std::unique_ptr<Distributed> connect(int64_t world_size, int64_t rank,
                                                const std::string& rendezvous, double timeout_s,
                                                const torch::Device& device);
    virtual ~Distributed() = default;
    virtual int64_t rank() const = 0;
    virtual int64_t world_size() const = 0;
    /// Copies rank 0's parameters and buffers to every rank.
    virtual void broadcast_module(torch::nn::Module& module) = 0;
    /// Replaces every parameter's gradient by the mean over the ranks (one flat all-reduce).
    virtual void average_gradients(torch::nn::Module& module) = 0;
    /// Sums t over the ranks, in place (a float64 or float32 tensor on the training device).
    virtual void sum(torch::Tensor& t) = 0;
    virtual void barrier() = 0;
    /// BatchNorm over the union of the ranks' batches (synchronised statistics in the
    /// forward and the backward pass): what one process with the whole batch computes.
    virtual torch::Tensor batch_norm(torch::nn::BatchNorm2dImpl& bn, const torch::Tensor& x) = 0;
};

}  // namespace actsparse::trainer
