#pragma once
/// @file Checkpoints: one LibTorch archive (torch::serialize, not a Python pickle) holding
///   model/      the GraphNet's parameters and buffers, one sub-archive per child module
///   optimizer/  the SGD state (momentum buffers), if saved
///   meta        uint8 tensor: UTF-8 JSON (schema actsparse.checkpoint/1: network, width,
///               num_classes, epoch, batch, step, the epoch's running sums, ...)
///   rng_cpu     the CPU generator's state; rng_cuda likewise when trained on CUDA
/// written by core::write_file_atomic (a uniquely named temporary file, fsync'd, renamed, the
/// folder fsync'd), so a reader, a crash or a SIGKILL never sees half of one.
#include <torch/torch.h>

#include <nlohmann/json.hpp>
#include <string>

#include "trainer/graph_net.h"

namespace actsparse::trainer {

/// Saves atomically and durably (core::IoError when the disk is full or not writable), then
/// removes temporary checkpoint files left by killed processes. `optimizer` may be null.
/// `cuda_device` >= 0 also saves that CUDA device's generator state.
void save_checkpoint(const std::string& path, GraphNet& model, torch::optim::Optimizer* optimizer,
                     const nlohmann::json& meta, int cuda_device = -1);

/// The meta JSON of a checkpoint (InputError naming the path when unreadable).
nlohmann::json read_checkpoint_meta(const std::string& path);

/// Loads the model weights (every parameter and buffer must be present with the model's
/// shape, else InputError naming the path and tensor), then the optimizer state if
/// `optimizer` is given, and the generator states if `restore_rng`. Tensors land on
/// `device`. Returns the meta JSON.
nlohmann::json load_checkpoint(const std::string& path, GraphNet& model,
                               torch::optim::Optimizer* optimizer, bool restore_rng,
                               const torch::Device& device);

/// Writes the model's parameters and buffers (full dotted names, F32 / I64) and `meta`
/// (metadata key "meta", JSON) to a safetensors file, atomically. The file reads back in
/// any LibTorch version and in Python (`safetensors.torch.load_file`), unlike checkpoint.pt
/// whose archive format follows the LibTorch that wrote it; a run keeps its final weights
/// in RUN_DIR/model.safetensors.
void save_weights_safetensors(const std::string& path, GraphNet& model, const nlohmann::json& meta);

/// A checkpoint path from a --init/--run argument: the file itself, or for a run folder
/// <folder>/checkpoint.pt, or <folder>/model.safetensors when the run has no checkpoint.pt
/// (a run copied without it). load_checkpoint reads either kind (a .safetensors file holds
/// weights only: asking it for optimizer state is an InputError).
std::string resolve_checkpoint_path(const std::string& file_or_run);

}  // namespace actsparse::trainer
