#pragma once
/// @file Image datasets held in memory as uint8 pixels, read from their standard files:
/// Fashion-MNIST as IDX (gzipped or not; Debian's dataset-fashion-mnist puts them in
/// /usr/share/datasets/fashion-mnist), CIFAR-10/100 in the binary format (data_batch_*.bin +
/// test_batch.bin; train.bin + test.bin with coarse and fine labels) or as JPEG/PNG images in
/// the ImageFolder layout (trainer/image_folder.h). No LibTorch here:
/// trainer/batches.h turns index lists into normalised, augmented tensors.
#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace actsparse::trainer {

/// Images [size, channels, height, width] as uint8, and one label per image.
struct ImageSet {
    int64_t channels = 0;
    int64_t height = 0;
    int64_t width = 0;
    std::vector<uint8_t> pixels;
    std::vector<int64_t> labels;

    int64_t size() const { return static_cast<int64_t>(labels.size()); }
    int64_t image_bytes() const { return channels * height * width; }
    const uint8_t* image(int64_t i) const { return pixels.data() + i * image_bytes(); }
};

enum class DatasetKind { kFashionMnist, kCifar10, kCifar100 };
/// "fashion-mnist", "cifar10", "cifar100".
const char* to_string(DatasetKind d);
DatasetKind parse_dataset(const std::string& text, const std::string& where);

/// Per-channel normalisation (x/255 - mean) / std and the dataset's shape.
struct DatasetInfo {
    int64_t channels = 0;
    int64_t height = 0;
    int64_t width = 0;
    int64_t num_classes = 0;
    std::array<float, 3> mean{};  ///< first `channels` used
    std::array<float, 3> std{};
    bool augment = false;     ///< random crop (4-pixel zero padding) + horizontal flip
    std::string default_dir;  ///< where the files are when --data is not given
};
DatasetInfo dataset_info(DatasetKind d);

/// Reads an IDX images file (magic 0x00000803, [n, rows, cols] uint8) and its labels file
/// (0x00000801, [n] uint8), each optionally gzipped. Throws InputError naming the file.
ImageSet read_idx(const std::string& images_path, const std::string& labels_path);

/// Reads CIFAR binary files (each record: label byte(s) then 3072 pixel bytes, channel
/// planes R, G, B of 32x32). `label_bytes` 1 for CIFAR-10; 2 for CIFAR-100 (coarse, fine),
/// of which the fine label is used.
ImageSet read_cifar_bin(const std::vector<std::string>& paths, int label_bytes);

struct DatasetFiles {
    ImageSet train;  ///< the official training set (split into train/val by split_train_val)
    ImageSet test;
};
/// Loads a dataset from `dir` ("" = DatasetInfo::default_dir). For Fashion-MNIST the files
/// are train-images-idx3-ubyte[.gz] etc. For CIFAR, `dir` is one of: a .tar.gz/.tgz/.tar
/// archive of an ImageFolder tree; a folder with train/ and test/ class folders (both read
/// by trainer/image_folder.h, decoded once and then read from the cache in `cache_dir`:
/// "" = default_data_cache_dir(), "none" = no cache); else the folder of the binary .bin
/// files, directly in `dir` or in its cifar-10-batches-bin / cifar-100-binary subfolder.
/// Throws InputError("--data", ...) naming what is missing, InputError naming the file for
/// an image that cannot be read.
DatasetFiles load_dataset(DatasetKind kind, const std::string& dir,
                          const std::string& cache_dir = "");

/// A seeded split of the training set: `val_fraction` of the images (rounded down) go to
/// validation, chosen by a Fisher-Yates shuffle of the indices with SplitMix64(seed).
struct Split {
    std::vector<int64_t> train;
    std::vector<int64_t> val;
};
Split split_train_val(int64_t size, double val_fraction, uint64_t seed);

/// SplitMix64: a small, portable generator (the same sequence on every platform and
/// standard library), used for data order, splits and augmentation so resumes reproduce.
class SplitMix64 {
  public:
    explicit SplitMix64(uint64_t seed) : state_(seed) {}
    uint64_t next() {
        uint64_t z = (state_ += 0x9E3779B97F4A7C15ULL);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
        return z ^ (z >> 31);
    }
    /// Uniform in [0, n) (n > 0; the modulo bias is below 2^-40 for our sizes).
    uint64_t below(uint64_t n) { return next() % n; }

  private:
    uint64_t state_;
};

/// Mixes several values into one seed (for per-epoch and per-batch streams).
uint64_t mix_seed(uint64_t a, uint64_t b, uint64_t c = 0);

/// The order of `indices` for one epoch: a shuffle seeded by (seed, epoch).
std::vector<int64_t> epoch_order(const std::vector<int64_t>& indices, uint64_t seed, int64_t epoch);

}  // namespace actsparse::trainer
