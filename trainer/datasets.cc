#include "trainer/datasets.h"

#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <utility>

#include "core/error.h"
#include "trainer/image_folder.h"

namespace actsparse::trainer {
namespace fs = std::filesystem;
namespace {

/// Whole file, gunzipped when it is gzip data (zlib reads plain files unchanged).
std::string read_maybe_gz(const std::string& path) {
    gzFile f = gzopen(path.c_str(), "rb");
    if (f == nullptr) throw core::InputError(path, "cannot open file");
    std::string out;
    char buf[1 << 16];
    for (;;) {
        const int n = gzread(f, buf, sizeof(buf));
        if (n < 0) {
            int err = 0;
            const std::string msg = gzerror(f, &err);
            gzclose(f);
            throw core::InputError(path, "cannot decompress: " + msg);
        }
        if (n == 0) break;
        out.append(buf, static_cast<size_t>(n));
    }
    gzclose(f);
    return out;
}

uint32_t be32(const std::string& b, size_t at) {
    const auto* p = reinterpret_cast<const unsigned char*>(b.data()) + at;
    return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}

/// The first of `names` that exists in `dir`, or "".
std::string find_file(const fs::path& dir, const std::vector<std::string>& names) {
    for (const auto& n : names)
        if (fs::is_regular_file(dir / n)) return (dir / n).string();
    return "";
}

}  // namespace

const char* to_string(DatasetKind d) {
    switch (d) {
        case DatasetKind::kFashionMnist:
            return "fashion-mnist";
        case DatasetKind::kCifar10:
            return "cifar10";
        case DatasetKind::kCifar100:
            return "cifar100";
    }
    return "?";
}

DatasetKind parse_dataset(const std::string& text, const std::string& where) {
    for (DatasetKind d :
         {DatasetKind::kFashionMnist, DatasetKind::kCifar10, DatasetKind::kCifar100})
        if (text == to_string(d)) return d;
    throw core::InputError(where,
                           "unknown dataset '" + text + "' (fashion-mnist, cifar10, cifar100)");
}

DatasetInfo dataset_info(DatasetKind d) {
    DatasetInfo i;
    switch (d) {
        case DatasetKind::kFashionMnist:
            // Mean and std of the 60k training images' pixels / 255.
            i = {1, 28, 28, 10, {0.2860f}, {0.3530f}, false, "/usr/share/datasets/fashion-mnist"};
            break;
        case DatasetKind::kCifar10:
            i = {3, 32, 32, 10, {0.4914f, 0.4822f, 0.4465f}, {0.2470f, 0.2435f, 0.2616f}, true, ""};
            break;
        case DatasetKind::kCifar100:
            i = {3,    32, 32, 100, {0.5071f, 0.4865f, 0.4409f}, {0.2673f, 0.2564f, 0.2762f},
                 true, ""};
            break;
    }
    return i;
}

ImageSet read_idx(const std::string& images_path, const std::string& labels_path) {
    const std::string img = read_maybe_gz(images_path);
    const std::string lab = read_maybe_gz(labels_path);
    if (img.size() < 16) throw core::InputError(images_path, "too short for an IDX header");
    if (be32(img, 0) != 0x00000803)
        throw core::InputError(images_path, "not an IDX ubyte 3-d file (bad magic number)");
    if (lab.size() < 8) throw core::InputError(labels_path, "too short for an IDX header");
    if (be32(lab, 0) != 0x00000801)
        throw core::InputError(labels_path, "not an IDX ubyte 1-d file (bad magic number)");
    const uint64_t n = be32(img, 4), rows = be32(img, 8), cols = be32(img, 12);
    if (n == 0 || rows == 0 || cols == 0 || rows > 4096 || cols > 4096)
        throw core::InputError(images_path, "implausible dimensions");
    if (img.size() != 16 + n * rows * cols)
        throw core::InputError(images_path, "size " + std::to_string(img.size()) +
                                                " does not match the header's " +
                                                std::to_string(n) + " images");
    const uint64_t nl = be32(lab, 4);
    if (nl != n)
        throw core::InputError(labels_path, "has " + std::to_string(nl) + " labels but " +
                                                images_path + " has " + std::to_string(n) +
                                                " images");
    if (lab.size() != 8 + n) throw core::InputError(labels_path, "size does not match header");
    ImageSet s;
    s.channels = 1;
    s.height = static_cast<int64_t>(rows);
    s.width = static_cast<int64_t>(cols);
    s.pixels.assign(img.begin() + 16, img.end());
    s.labels.resize(n);
    for (uint64_t i = 0; i < n; ++i) s.labels[i] = static_cast<unsigned char>(lab[8 + i]);
    return s;
}

ImageSet read_cifar_bin(const std::vector<std::string>& paths, int label_bytes) {
    constexpr int64_t kPixels = 3 * 32 * 32;
    const int64_t record = label_bytes + kPixels;
    ImageSet s;
    s.channels = 3;
    s.height = 32;
    s.width = 32;
    for (const auto& path : paths) {
        const std::string b = core::read_file(path);
        if (b.empty() || b.size() % record != 0)
            throw core::InputError(path, "size " + std::to_string(b.size()) +
                                             " is not a multiple of the " + std::to_string(record) +
                                             "-byte CIFAR record");
        const int64_t n = static_cast<int64_t>(b.size()) / record;
        s.pixels.reserve(s.pixels.size() + n * kPixels);
        for (int64_t i = 0; i < n; ++i) {
            const char* r = b.data() + i * record;
            s.labels.push_back(static_cast<unsigned char>(r[label_bytes - 1]));
            s.pixels.insert(s.pixels.end(), r + label_bytes, r + record);
        }
    }
    return s;
}

DatasetFiles load_dataset(DatasetKind kind, const std::string& dir_arg,
                          const std::string& cache_dir) {
    const DatasetInfo info = dataset_info(kind);
    const std::string dir = dir_arg.empty() ? info.default_dir : dir_arg;
    const bool images = kind != DatasetKind::kFashionMnist;  // ImageFolder input allowed
    if (dir.empty())
        throw core::InputError("--data", std::string(to_string(kind)) +
                                             " needs --data DIR|ARCHIVE (the folder of its .bin "
                                             "files, or an ImageFolder tree or its .tar.gz)");
    const bool archive = images && fs::is_regular_file(dir);
    if (archive && !is_tar_archive_path(dir))
        throw core::InputError("--data",
                               dir + ": not a folder nor a .tar.gz, .tgz or .tar archive");
    if (!archive && !fs::is_directory(dir))
        throw core::InputError("--data",
                               dir + (images ? ": no such folder or archive" : ": no such folder"));
    DatasetFiles out;
    if (archive || (images && is_image_folder(dir))) {
        ImageFolderLoad l = load_image_folder(dir, cache_dir, info.height, info.width);
        const auto n = static_cast<int64_t>(l.data.classes.size());
        if (n != info.num_classes)
            throw core::InputError(
                "--data", dir + ": " + std::to_string(n) + " class folders in train/, but " +
                              to_string(kind) + " has " + std::to_string(info.num_classes));
        out.train = std::move(l.data.train);
        out.test = std::move(l.data.test);
    } else if (kind == DatasetKind::kFashionMnist) {
        auto need = [&](const std::string& stem) {
            const std::string p = find_file(dir, {stem, stem + ".gz"});
            if (p.empty()) throw core::InputError("--data", dir + ": no " + stem + "[.gz]");
            return p;
        };
        out.train = read_idx(need("train-images-idx3-ubyte"), need("train-labels-idx1-ubyte"));
        out.test = read_idx(need("t10k-images-idx3-ubyte"), need("t10k-labels-idx1-ubyte"));
    } else {
        const bool c10 = kind == DatasetKind::kCifar10;
        fs::path base = dir;
        const fs::path sub = base / (c10 ? "cifar-10-batches-bin" : "cifar-100-binary");
        if (fs::is_directory(sub)) base = sub;
        std::vector<std::string> train_files;
        std::string test_file;
        if (c10) {
            for (int i = 1; i <= 5; ++i) {
                const std::string p = find_file(base, {"data_batch_" + std::to_string(i) + ".bin"});
                if (p.empty())
                    throw core::InputError(
                        "--data", base.string() + ": no data_batch_" + std::to_string(i) + ".bin");
                train_files.push_back(p);
            }
            test_file = find_file(base, {"test_batch.bin"});
            if (test_file.empty())
                throw core::InputError("--data", base.string() + ": no test_batch.bin");
        } else {
            const std::string p = find_file(base, {"train.bin"});
            if (p.empty()) throw core::InputError("--data", base.string() + ": no train.bin");
            train_files.push_back(p);
            test_file = find_file(base, {"test.bin"});
            if (test_file.empty())
                throw core::InputError("--data", base.string() + ": no test.bin");
        }
        const int label_bytes = c10 ? 1 : 2;
        out.train = read_cifar_bin(train_files, label_bytes);
        out.test = read_cifar_bin({test_file}, label_bytes);
    }
    for (const ImageSet* s : {&out.train, &out.test}) {
        if (s->channels != info.channels || s->height != info.height || s->width != info.width)
            throw core::InputError(
                "--data", dir + ": images are not " + std::to_string(info.channels) + "x" +
                              std::to_string(info.height) + "x" + std::to_string(info.width));
        for (int64_t l : s->labels)
            if (l < 0 || l >= info.num_classes)
                throw core::InputError("--data", dir + ": label " + std::to_string(l) +
                                                     " out of range for " + to_string(kind));
    }
    return out;
}

uint64_t mix_seed(uint64_t a, uint64_t b, uint64_t c) {
    SplitMix64 g(a);
    uint64_t h = g.next() ^ (b * 0xD1B54A32D192ED03ULL);
    SplitMix64 g2(h);
    h = g2.next() ^ (c * 0x8CB92BA72F3D8DD7ULL);
    return SplitMix64(h).next();
}

Split split_train_val(int64_t size, double val_fraction, uint64_t seed) {
    if (!(val_fraction >= 0.0 && val_fraction < 1.0))
        throw core::InputError("--val-fraction", "must be in [0, 1)");
    std::vector<int64_t> idx(size);
    for (int64_t i = 0; i < size; ++i) idx[i] = i;
    SplitMix64 rng(mix_seed(seed, 0x5A11u));
    for (int64_t i = size - 1; i > 0; --i)
        std::swap(idx[i], idx[rng.below(static_cast<uint64_t>(i) + 1)]);
    const auto nval = static_cast<int64_t>(std::floor(val_fraction * static_cast<double>(size)));
    Split s;
    s.val.assign(idx.begin(), idx.begin() + nval);
    s.train.assign(idx.begin() + nval, idx.end());
    // Sorted, so the split is a set and the epoch shuffle alone decides the order.
    std::sort(s.val.begin(), s.val.end());
    std::sort(s.train.begin(), s.train.end());
    return s;
}

std::vector<int64_t> epoch_order(const std::vector<int64_t>& indices, uint64_t seed,
                                 int64_t epoch) {
    std::vector<int64_t> order = indices;
    SplitMix64 rng(mix_seed(seed, 0xE90Cu, static_cast<uint64_t>(epoch)));
    for (int64_t i = static_cast<int64_t>(order.size()) - 1; i > 0; --i)
        std::swap(order[i], order[rng.below(static_cast<uint64_t>(i) + 1)]);
    return order;
}

}  // namespace actsparse::trainer
