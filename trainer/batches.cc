#include "trainer/batches.h"

#include "core/error.h"

namespace actsparse::trainer {

Batch make_batch(const ImageSet& set, const DatasetInfo& info, const int64_t* idx, int64_t count,
                 bool augment, uint64_t aug_seed, int64_t first_position) {
    const int64_t c = set.channels, h = set.height, w = set.width;
    if (c != info.channels || c > 3) core::model_bug("trainer::make_batch", "channel mismatch");
    // Filled in NHWC order, which is what channels_last means for an NCHW tensor.
    torch::Tensor nhwc = torch::empty({count, h, w, c}, torch::kFloat32);
    torch::Tensor labels = torch::empty({count}, torch::kInt64);
    float* out = nhwc.data_ptr<float>();
    int64_t* lab = labels.data_ptr<int64_t>();
    float scale[3], shift[3], pad_value[3];
    for (int64_t ch = 0; ch < c; ++ch) {
        scale[ch] = 1.0f / (255.0f * info.std[ch]);
        shift[ch] = -info.mean[ch] / info.std[ch];
        pad_value[ch] = shift[ch];
    }
    constexpr int64_t kPad = 4;
    for (int64_t k = 0; k < count; ++k) {
        const int64_t i = idx[k];
        if (i < 0 || i >= set.size()) core::model_bug("trainer::make_batch", "index out of range");
        const uint8_t* src = set.image(i);
        lab[k] = set.labels[i];
        int64_t dy = 0, dx = 0;
        bool flip = false;
        if (augment) {
            SplitMix64 rng(mix_seed(aug_seed, static_cast<uint64_t>(first_position + k)));
            dy = static_cast<int64_t>(rng.below(2 * kPad + 1)) - kPad;
            dx = static_cast<int64_t>(rng.below(2 * kPad + 1)) - kPad;
            flip = (rng.next() >> 63) != 0;
        }
        float* dst = out + k * h * w * c;
        for (int64_t y = 0; y < h; ++y) {
            const int64_t sy = y + dy;
            for (int64_t x = 0; x < w; ++x) {
                const int64_t sx = (flip ? w - 1 - x : x) + dx;
                float* px = dst + (y * w + x) * c;
                if (sy < 0 || sy >= h || sx < 0 || sx >= w) {
                    for (int64_t ch = 0; ch < c; ++ch) px[ch] = pad_value[ch];
                } else {
                    for (int64_t ch = 0; ch < c; ++ch)
                        px[ch] =
                            static_cast<float>(src[(ch * h + sy) * w + sx]) * scale[ch] + shift[ch];
                }
            }
        }
    }
    return {nhwc.permute({0, 3, 1, 2}), labels};
}

}  // namespace actsparse::trainer
