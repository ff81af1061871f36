#pragma once
/// @file Turns dataset indices into normalised image tensors (channels_last) and labels,
/// with the standard CIFAR augmentation where the dataset uses it.
#include <torch/torch.h>

#include <cstdint>

#include "trainer/datasets.h"

namespace actsparse::trainer {

struct Batch {
    torch::Tensor images;  ///< float [B, C, H, W], channels_last, (x/255 - mean) / std
    torch::Tensor labels;  ///< int64 [B]
};

/// Images set.image(idx[k]) for k < count. With `augment`, each image is shifted by a random
/// crop of its 4-pixel zero-padded version and flipped horizontally with probability 1/2,
/// drawn from SplitMix64(mix_seed(aug_seed, first_position + k)), so a batch depends only on
/// its seed and an image's draw only on its position in the global batch (a rank's share
/// of a data-parallel batch passes its offset as first_position).
/// Padding is black (pixel 0) before normalisation, as torchvision's RandomCrop pads.
Batch make_batch(const ImageSet& set, const DatasetInfo& info, const int64_t* idx, int64_t count,
                 bool augment, uint64_t aug_seed, int64_t first_position = 0);

}  // namespace actsparse::trainer
