// Dataset readers on small files the tests write, splits, and batches.
#include "trainer/datasets.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "tests/trainer/test_util.h"
#include "trainer/batches.h"

namespace actsparse::trainer {
namespace {

namespace fs = std::filesystem;

TEST(Datasets, ReadsGzippedAndPlainIdx) {
    TempDir dir("idx");
    const auto imgs = write_idx_set(dir.path(), "train", 5, 3, 4, /*gz=*/true, 7);
    const ImageSet s = read_idx(imgs.first, imgs.second);
    EXPECT_EQ(s.size(), 5);
    EXPECT_EQ(s.channels, 1);
    EXPECT_EQ(s.height, 3);
    EXPECT_EQ(s.width, 4);
    for (int64_t i = 0; i < 5; ++i) {
        EXPECT_EQ(s.labels[i], (i * 7) % 10);
        for (int64_t p = 0; p < 12; ++p) EXPECT_EQ(s.image(i)[p], idx_pixel(i, p, 7));
    }
    const auto plain = write_idx_set(dir.path(), "plain", 2, 2, 2, /*gz=*/false, 1);
    EXPECT_EQ(read_idx(plain.first, plain.second).size(), 2);
}

TEST(Datasets, RejectsBadIdx) {
    TempDir dir("idxbad");
    const auto ok = write_idx_set(dir.path(), "ok", 3, 2, 2, false, 1);
    const auto other = write_idx_set(dir.path(), "other", 4, 2, 2, false, 1);
    // Labels of another length.
    EXPECT_THROW(read_idx(ok.first, other.second), core::InputError);
    // A labels file (long enough for an images header) as images file: wrong magic.
    const auto many = write_idx_set(dir.path(), "many", 10, 2, 2, false, 1);
    try {
        read_idx(many.second, many.second);
        FAIL() << "no error";
    } catch (const core::InputError& e) {
        EXPECT_NE(std::string(e.what()).find("magic"), std::string::npos);
    }
    // Truncated image file.
    const std::string truncated = (fs::path(dir.path()) / "trunc").string();
    std::string bytes = read_bytes(ok.first);
    write_bytes(truncated, bytes.substr(0, bytes.size() - 1));
    EXPECT_THROW(read_idx(truncated, ok.second), core::InputError);
    EXPECT_THROW(read_idx(dir.path() + "/missing", ok.second), core::InputError);
}

TEST(Datasets, LoadsFashionMnistFolder) {
    TempDir dir("fmnist");
    write_fmnist_dir(dir.path(), 20, 6);
    const DatasetFiles d = load_dataset(DatasetKind::kFashionMnist, dir.path());
    EXPECT_EQ(d.train.size(), 20);
    EXPECT_EQ(d.test.size(), 6);
    EXPECT_EQ(d.train.height, 28);
    try {
        load_dataset(DatasetKind::kFashionMnist, dir.path() + "/none");
        FAIL() << "no error";
    } catch (const core::InputError& e) {
        EXPECT_EQ(std::string(e.what()).rfind("--data:", 0), 0u) << e.what();
    }
}

TEST(Datasets, ReadsCifar10AndCifar100) {
    TempDir dir("cifar");
    const fs::path c10 = fs::path(dir.path()) / "cifar-10-batches-bin";
    fs::create_directories(c10);
    for (int b = 1; b <= 5; ++b)
        write_cifar_file((c10 / ("data_batch_" + std::to_string(b) + ".bin")).string(), 3, 1,
                         b * 100);
    write_cifar_file((c10 / "test_batch.bin").string(), 2, 1, 900);
    const DatasetFiles d10 =
        load_dataset(DatasetKind::kCifar10, dir.path());  // finds the subfolder
    ASSERT_EQ(d10.train.size(), 15);
    EXPECT_EQ(d10.test.size(), 2);
    EXPECT_EQ(d10.train.channels, 3);
    EXPECT_EQ(d10.train.labels[3], cifar_label(200, 1, 10));  // first record of batch 2
    EXPECT_EQ(d10.train.image(3)[0], cifar_pixel(200, 0));
    EXPECT_EQ(d10.train.image(3)[3071], cifar_pixel(200, 3071));

    const fs::path c100 = fs::path(dir.path()) / "c100";
    fs::create_directories(c100);
    write_cifar_file((c100 / "train.bin").string(), 4, 2, 0);
    write_cifar_file((c100 / "test.bin").string(), 3, 2, 50);
    const DatasetFiles d100 = load_dataset(DatasetKind::kCifar100, c100.string());
    ASSERT_EQ(d100.train.size(), 4);
    for (int i = 0; i < 4; ++i) EXPECT_EQ(d100.train.labels[i], cifar_label(i, 2, 100));  // fine

    // A CIFAR-10 file read as CIFAR-100 has the wrong record size.
    EXPECT_THROW(read_cifar_bin({(c10 / "test_batch.bin").string()}, 2), core::InputError);
    // Missing batch file.
    fs::remove(c10 / "data_batch_4.bin");
    EXPECT_THROW(load_dataset(DatasetKind::kCifar10, dir.path()), core::InputError);
    EXPECT_THROW(load_dataset(DatasetKind::kCifar10, ""), core::InputError);  // needs --data
}

TEST(Datasets, SplitIsSeededAndDisjoint) {
    const Split a = split_train_val(100, 0.1, 5), b = split_train_val(100, 0.1, 5);
    const Split c = split_train_val(100, 0.1, 6);
    EXPECT_EQ(a.val, b.val);
    EXPECT_NE(a.val, c.val);
    EXPECT_EQ(a.val.size(), 10u);
    EXPECT_EQ(a.train.size(), 90u);
    std::vector<int64_t> all = a.train;
    all.insert(all.end(), a.val.begin(), a.val.end());
    std::sort(all.begin(), all.end());
    for (int64_t i = 0; i < 100; ++i) EXPECT_EQ(all[i], i);
    EXPECT_EQ(epoch_order(a.train, 1, 0), epoch_order(a.train, 1, 0));
    EXPECT_NE(epoch_order(a.train, 1, 0), epoch_order(a.train, 1, 1));
    EXPECT_THROW(split_train_val(10, 1.0, 1), core::InputError);
}

TEST(Batches, NormalisesAndAugments) {
    ImageSet s;
    s.channels = 3;
    s.height = 4;
    s.width = 4;
    for (int64_t p = 0; p < 48; ++p) s.pixels.push_back(static_cast<uint8_t>(p * 5));
    s.labels = {7};
    const DatasetInfo info = dataset_info(DatasetKind::kCifar10);
    const int64_t idx = 0;
    const Batch plain = make_batch(s, info, &idx, 1, false, 0);
    EXPECT_EQ(plain.images.sizes(), torch::IntArrayRef({1, 3, 4, 4}));
    EXPECT_TRUE(plain.images.is_contiguous(torch::MemoryFormat::ChannelsLast));
    EXPECT_EQ(plain.labels.item<int64_t>(), 7);
    for (int64_t c = 0; c < 3; ++c)
        for (int64_t y = 0; y < 4; ++y)
            for (int64_t x = 0; x < 4; ++x) {
                const float want =
                    (s.pixels[(c * 4 + y) * 4 + x] / 255.0f - info.mean[c]) / info.std[c];
                EXPECT_NEAR(plain.images[0][c][y][x].item<float>(), want, 1e-5);
            }
    // Augmented: same seed, same batch; each output pixel is a shifted/flipped source pixel
    // or the normalised black padding.
    const Batch a1 = make_batch(s, info, &idx, 1, true, 42);
    const Batch a2 = make_batch(s, info, &idx, 1, true, 42);
    EXPECT_TRUE(torch::equal(a1.images, a2.images));
    bool any_differs = false;
    for (uint64_t seed = 0; seed < 20; ++seed)
        any_differs |= !torch::equal(make_batch(s, info, &idx, 1, true, seed).images, plain.images);
    EXPECT_TRUE(any_differs);
    const float pad0 = -info.mean[0] / info.std[0];
    for (int64_t y = 0; y < 4; ++y)
        for (int64_t x = 0; x < 4; ++x) {
            const float v = a1.images[0][0][y][x].item<float>();
            bool found = std::abs(v - pad0) < 1e-5;
            for (int64_t p = 0; p < 16 && !found; ++p)
                found = std::abs(v - plain.images[0][0][p / 4][p % 4].item<float>()) < 1e-5;
            EXPECT_TRUE(found) << y << "," << x;
        }
}

}  // namespace
}  // namespace actsparse::trainer
