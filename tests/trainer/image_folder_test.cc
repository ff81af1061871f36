// ImageFolder datasets: small trees of JPEGs (libjpeg) and PNGs (libpng) written here, as
// folders and as archives (libarchive); labels, pixels, bad files, the decoded-image cache.
#include "trainer/image_folder.h"

#include <gtest/gtest.h>

// clang-format off
#include <cstdio>
#include <jpeglib.h>
// clang-format on
#include <archive.h>
#include <archive_entry.h>
#include <png.h>
#include <stdlib.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <vector>

#include "core/error.h"
#include "tests/trainer/test_util.h"
#include "trainer/datasets.h"

namespace actsparse::trainer {
namespace {

namespace fs = std::filesystem;

/// A smooth test pattern (JPEG keeps it within a few levels at quality 100).
uint8_t pattern(int seed, int y, int x, int c) {
    return static_cast<uint8_t>((seed * 29 + y * 3 + x * 2 + c * 60) % 200 + 20);
}

/// Interleaved pixels of `components` channels (1 gray, 3 RGB, 4 RGBA).
std::vector<uint8_t> make_pixels(int seed, int h, int w, int components) {
    std::vector<uint8_t> px;
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x)
            for (int c = 0; c < components; ++c) px.push_back(pattern(seed, y, x, c));
    return px;
}

std::string encode_jpeg(const std::vector<uint8_t>& px, int h, int w, int components) {
    jpeg_compress_struct cinfo;
    jpeg_error_mgr err;
    cinfo.err = jpeg_std_error(&err);
    jpeg_create_compress(&cinfo);
    unsigned char* buf = nullptr;
    unsigned long size = 0;
    jpeg_mem_dest(&cinfo, &buf, &size);
    cinfo.image_width = w;
    cinfo.image_height = h;
    cinfo.input_components = components;
    cinfo.in_color_space = components == 1 ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_set_defaults(&cinfo);
    jpeg_set_quality(&cinfo, 100, TRUE);
    cinfo.comp_info[0].h_samp_factor = cinfo.comp_info[0].v_samp_factor = 1;  // 4:4:4
    jpeg_start_compress(&cinfo, TRUE);
    while (cinfo.next_scanline < cinfo.image_height) {
        JSAMPROW row = const_cast<uint8_t*>(px.data()) + cinfo.next_scanline * w * components;
        jpeg_write_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_compress(&cinfo);
    jpeg_destroy_compress(&cinfo);
    std::string out(reinterpret_cast<char*>(buf), size);
    std::free(buf);
    return out;
}

std::string encode_png(const std::vector<uint8_t>& px, int h, int w, int components) {
    png_image img{};
    img.version = PNG_IMAGE_VERSION;
    img.width = w;
    img.height = h;
    img.format = components == 1   ? PNG_FORMAT_GRAY
                 : components == 3 ? PNG_FORMAT_RGB
                                   : PNG_FORMAT_RGBA;
    png_alloc_size_t size = 0;
    EXPECT_TRUE(png_image_write_to_memory(&img, nullptr, &size, 0, px.data(), 0, nullptr));
    std::string out(size, '\0');
    EXPECT_TRUE(png_image_write_to_memory(&img, out.data(), &size, 0, px.data(), 0, nullptr));
    out.resize(size);
    return out;
}

/// The files of `dir` (recursively, sorted) into an archive at `path` under `prefix`;
/// gzipped unless `path` ends in .tar.
void write_archive(const std::string& dir, const std::string& path, const std::string& prefix) {
    std::vector<fs::path> files;
    for (const auto& e : fs::recursive_directory_iterator(dir)) files.push_back(e.path());
    std::sort(files.begin(), files.end());
    archive* a = archive_write_new();
    if (path.size() < 4 || path.substr(path.size() - 4) != ".tar") archive_write_add_filter_gzip(a);
    archive_write_set_format_pax_restricted(a);
    ASSERT_EQ(archive_write_open_filename(a, path.c_str()), ARCHIVE_OK);
    for (const auto& f : files) {
        archive_entry* e = archive_entry_new();
        const std::string name = prefix + f.lexically_relative(dir).generic_string();
        archive_entry_set_pathname(e, name.c_str());
        if (fs::is_directory(f)) {
            archive_entry_set_filetype(e, AE_IFDIR);
            archive_entry_set_perm(e, 0755);
            archive_write_header(a, e);
        } else {
            const std::string bytes = read_bytes(f.string());
            archive_entry_set_filetype(e, AE_IFREG);
            archive_entry_set_perm(e, 0644);
            archive_entry_set_size(e, static_cast<la_int64_t>(bytes.size()));
            archive_write_header(a, e);
            archive_write_data(a, bytes.data(), bytes.size());
        }
        archive_entry_free(e);
    }
    archive_write_close(a);
    archive_write_free(a);
}

void put(const std::string& root, const std::string& rel, const std::string& bytes) {
    const fs::path p = fs::path(root) / rel;
    fs::create_directories(p.parent_path());
    write_bytes(p.string(), bytes);
}

/// The test tree (8x8 images), classes made in unsorted order:
///   train/b_dog:   0.png (RGB), 1.jpg (RGB), notes.txt (skipped)
///   train/a_cat:   x.png (RGB), w.png (gray), .hidden.png (skipped)
///   train/c_zebra: z.jpg (gray), sub/y.png (RGBA, nested)
///   train/README.png (directly in train/: skipped)
///   test/c_zebra:  t.png (RGB);  test/a_cat: t.jpg (RGB)
void write_tree(const std::string& root) {
    put(root, "train/b_dog/0.png", encode_png(make_pixels(1, 8, 8, 3), 8, 8, 3));
    put(root, "train/b_dog/1.jpg", encode_jpeg(make_pixels(2, 8, 8, 3), 8, 8, 3));
    put(root, "train/b_dog/notes.txt", "not an image");
    put(root, "train/a_cat/x.png", encode_png(make_pixels(3, 8, 8, 3), 8, 8, 3));
    put(root, "train/a_cat/w.png", encode_png(make_pixels(4, 8, 8, 1), 8, 8, 1));
    put(root, "train/a_cat/.hidden.png", "garbage");
    put(root, "train/c_zebra/z.jpg", encode_jpeg(make_pixels(5, 8, 8, 1), 8, 8, 1));
    put(root, "train/c_zebra/sub/y.png", encode_png(make_pixels(6, 8, 8, 4), 8, 8, 4));
    put(root, "train/README.png", "garbage");
    put(root, "test/c_zebra/t.png", encode_png(make_pixels(7, 8, 8, 3), 8, 8, 3));
    put(root, "test/a_cat/t.jpg", encode_jpeg(make_pixels(8, 8, 8, 3), 8, 8, 3));
}

/// Largest |decoded - pattern(seed)| of image i; `gray` when the source had one channel.
int max_error(const ImageSet& s, int64_t i, int seed, bool gray) {
    int worst = 0;
    for (int c = 0; c < 3; ++c)
        for (int y = 0; y < 8; ++y)
            for (int x = 0; x < 8; ++x) {
                const int want = pattern(seed, y, x, gray ? 0 : c);
                const int got = s.image(i)[c * 64 + y * 8 + x];
                worst = std::max(worst, std::abs(got - want));
            }
    return worst;
}

void expect_tree(const ImageFolderData& d) {
    EXPECT_EQ(d.classes, (std::vector<std::string>{"a_cat", "b_dog", "c_zebra"}));
    // The classes in turn, each by path: a_cat/w, b_dog/0, c_zebra/sub/y, then a_cat/x,
    // b_dog/1, c_zebra/z.
    ASSERT_EQ(d.train.size(), 6);
    EXPECT_EQ(d.train.labels, (std::vector<int64_t>{0, 1, 2, 0, 1, 2}));
    EXPECT_EQ(d.train.channels, 3);
    EXPECT_EQ(d.train.height, 8);
    EXPECT_EQ(d.train.width, 8);
    EXPECT_EQ(max_error(d.train, 0, 4, /*gray=*/true), 0);  // PNG: exact, gray replicated
    EXPECT_EQ(max_error(d.train, 3, 3, false), 0);
    EXPECT_EQ(max_error(d.train, 1, 1, false), 0);
    EXPECT_LE(max_error(d.train, 4, 2, false), 3);  // JPEG at quality 100, 4:4:4
    EXPECT_EQ(max_error(d.train, 2, 6, false), 0);  // RGBA: alpha dropped
    EXPECT_LE(max_error(d.train, 5, 5, true), 3);   // gray JPEG
    for (int p = 0; p < 64; ++p) {                  // gray: R = G = B
        EXPECT_EQ(d.train.image(5)[p], d.train.image(5)[64 + p]);
        EXPECT_EQ(d.train.image(5)[p], d.train.image(5)[128 + p]);
    }
    ASSERT_EQ(d.test.size(), 2);
    EXPECT_EQ(d.test.labels, (std::vector<int64_t>{0, 2}));
    EXPECT_LE(max_error(d.test, 0, 8, false), 3);
    EXPECT_EQ(max_error(d.test, 1, 7, false), 0);
}

void expect_same(const ImageFolderData& a, const ImageFolderData& b) {
    EXPECT_EQ(a.classes, b.classes);
    for (auto [x, y] : {std::pair{&a.train, &b.train}, std::pair{&a.test, &b.test}}) {
        EXPECT_EQ(x->labels, y->labels);
        EXPECT_EQ(x->pixels, y->pixels);
        EXPECT_EQ(x->height, y->height);
        EXPECT_EQ(x->width, y->width);
    }
}

/// The InputError message of f(), or "" when it throws none.
std::string input_error(const std::function<void()>& f) {
    try {
        f();
    } catch (const core::InputError& e) {
        return e.what();
    }
    return "";
}

TEST(ImageFolder, ReadsAFolder) {
    TempDir dir("if-folder");
    write_tree(dir.path());
    EXPECT_TRUE(is_image_folder(dir.path()));
    EXPECT_FALSE(is_image_folder(dir / "train"));
    expect_tree(read_image_folder(dir.path()));
    expect_tree(read_image_folder(dir.path(), 8, 8));
}

TEST(ImageFolder, ReadsArchivesLikeTheFolder) {
    TempDir dir("if-archive");
    const std::string tree = dir / "tree";
    write_tree(tree);
    const ImageFolderData folder = read_image_folder(tree);
    for (const auto& [name, prefix] : {std::pair<std::string, std::string>{"a.tar.gz", ""},
                                       {"b.tgz", "./cifar/"},
                                       {"c.tar", "data/"}}) {
        SCOPED_TRACE(name);
        const std::string path = dir / name;
        write_archive(tree, path, prefix);
        EXPECT_TRUE(is_tar_archive_path(path));
        const ImageFolderData d = read_image_folder(path);
        expect_tree(d);
        expect_same(d, folder);
    }
    EXPECT_FALSE(is_tar_archive_path(dir / "x.zip"));
    EXPECT_TRUE(is_tar_archive_path(dir / "X.TAR.GZ"));
    // No train/ and test/ at the top or one folder down.
    write_archive(tree + "/train", dir / "notree.tar.gz", "a/b/");
    EXPECT_NE(
        input_error([&] { read_image_folder(dir / "notree.tar.gz"); }).find("no train/ and test/"),
        std::string::npos);
    // Not an archive at all.
    write_bytes(dir / "bad.tar.gz", "this is not gzip data");
    EXPECT_EQ(
        input_error([&] { read_image_folder(dir / "bad.tar.gz"); }).rfind(dir / "bad.tar.gz: ", 0),
        0u);
}

TEST(ImageFolder, LabelsFollowClassNamesAndClassesTakeTurns) {
    // "x" < "x-y" as class names, but "train/x-y/..." < "train/x/..." as paths ('-' < '/').
    TempDir dir("if-order");
    put(dir.path(), "train/x/a.png", encode_png(make_pixels(1, 8, 8, 3), 8, 8, 3));
    put(dir.path(), "train/x-y/a.png", encode_png(make_pixels(2, 8, 8, 3), 8, 8, 3));
    put(dir.path(), "train/x/b.png", encode_png(make_pixels(4, 8, 8, 3), 8, 8, 3));
    put(dir.path(), "test/x-y/a.png", encode_png(make_pixels(3, 8, 8, 3), 8, 8, 3));
    const ImageFolderData d = read_image_folder(dir.path());
    EXPECT_EQ(d.classes, (std::vector<std::string>{"x", "x-y"}));
    // The classes in turn while they last: x/a, x-y/a, x/b.
    EXPECT_EQ(d.train.labels, (std::vector<int64_t>{0, 1, 0}));
    EXPECT_EQ(max_error(d.train, 0, 1, false), 0);
    EXPECT_EQ(max_error(d.train, 1, 2, false), 0);
    EXPECT_EQ(max_error(d.train, 2, 4, false), 0);
    EXPECT_EQ(d.test.labels, (std::vector<int64_t>{1}));
}

TEST(ImageFolder, BadImagesNameTheFileOrMember) {
    TempDir dir("if-bad");
    const std::string tree = dir / "tree";
    write_tree(tree);
    // A truncated JPEG (its last bytes of entropy-coded data and the EOI marker missing:
    // libjpeg only warns and would return grey), in the folder and as an archive member.
    const std::string jpg = encode_jpeg(make_pixels(9, 8, 8, 3), 8, 8, 3);
    put(tree, "train/b_dog/2.jpg", jpg.substr(0, jpg.size() - 8));
    std::string e = input_error([&] { read_image_folder(tree); });
    EXPECT_EQ(e.rfind(tree + "/train/b_dog/2.jpg: cannot decode the JPEG", 0), 0u) << e;
    write_archive(tree, dir / "t.tar.gz", "top/");
    e = input_error([&] { read_image_folder(dir / "t.tar.gz"); });
    EXPECT_EQ(e.rfind(dir / "t.tar.gz" + ": top/train/b_dog/2.jpg: cannot decode the JPEG", 0), 0u)
        << e;
    fs::remove(fs::path(tree) / "train/b_dog/2.jpg");

    // Not an image, though named like one.
    put(tree, "test/a_cat/u.png", "not a png");
    e = input_error([&] { read_image_folder(tree); });
    EXPECT_EQ(e, tree + "/test/a_cat/u.png: not a JPEG or PNG image");
    fs::remove(fs::path(tree) / "test/a_cat/u.png");

    // A corrupt PNG (bad CRC in IHDR).
    std::string png = encode_png(make_pixels(1, 8, 8, 3), 8, 8, 3);
    png[20] ^= 0x55;
    put(tree, "test/a_cat/v.png", png);
    e = input_error([&] { read_image_folder(tree); });
    EXPECT_EQ(e.rfind(tree + "/test/a_cat/v.png: cannot decode the PNG", 0), 0u) << e;
    fs::remove(fs::path(tree) / "test/a_cat/v.png");

    // Another size than the first image, or than the size asked for.
    put(tree, "train/c_zebra/big.png", encode_png(make_pixels(1, 16, 16, 3), 16, 16, 3));
    e = input_error([&] { read_image_folder(tree); });
    EXPECT_EQ(e, tree + "/train/c_zebra/big.png: image is 16x16, not 8x8");
    fs::remove(fs::path(tree) / "train/c_zebra/big.png");
    e = input_error([&] { read_image_folder(tree, 32, 32); });
    EXPECT_EQ(e, tree + "/train/a_cat/w.png: image is 8x8, not 32x32");
    write_archive(tree, dir / "ok.tar.gz", "");
    e = input_error([&] { read_image_folder(dir / "ok.tar.gz", 32, 32); });
    EXPECT_EQ(e, dir / "ok.tar.gz" + ": train/a_cat/w.png: image is 8x8, not 32x32");

    // A test class that train/ lacks; a class folder without images.
    fs::create_directories(fs::path(tree) / "test/d_owl");
    put(tree, "test/d_owl/o.png", encode_png(make_pixels(1, 8, 8, 3), 8, 8, 3));
    e = input_error([&] { read_image_folder(tree); });
    EXPECT_EQ(e, tree + "/test/d_owl: class folder not in train/");
    fs::remove_all(fs::path(tree) / "test/d_owl");
    fs::create_directories(fs::path(tree) / "train/d_owl");
    e = input_error([&] { read_image_folder(tree); });
    EXPECT_EQ(e, tree + "/train/d_owl: no .jpg, .jpeg or .png images");
    fs::remove_all(fs::path(tree) / "train/d_owl");
    expect_tree(read_image_folder(tree));  // whole again
}

TEST(ImageFolder, SecondLoadReadsTheCache) {
    TempDir dir("if-cache");
    const std::string tree = dir / "tree", cache = dir / "cache";
    write_tree(tree);
    const ImageFolderLoad first = load_image_folder(tree, cache, 8, 8);
    EXPECT_FALSE(first.from_cache);
    ASSERT_TRUE(fs::is_regular_file(first.cache_file));
    EXPECT_EQ(fs::path(first.cache_file).parent_path(), fs::path(cache));
    expect_tree(first.data);
    const ImageFolderLoad second = load_image_folder(tree, cache, 8, 8);
    EXPECT_TRUE(second.from_cache);
    EXPECT_EQ(second.cache_file, first.cache_file);
    expect_same(second.data, first.data);

    // Proof that the second load decodes nothing: a source image garbled in place (same size,
    // same mtime) still loads from the cache...
    const fs::path victim = fs::path(tree) / "train/b_dog/0.png";
    const auto mtime = fs::last_write_time(victim);
    write_bytes(victim.string(), std::string(fs::file_size(victim), 'x'));
    fs::last_write_time(victim, mtime);
    const ImageFolderLoad third = load_image_folder(tree, cache, 8, 8);
    EXPECT_TRUE(third.from_cache);
    expect_same(third.data, first.data);
    // ...and a new mtime is another key: decoded again, which now fails on that file.
    fs::last_write_time(victim, mtime + std::chrono::seconds(5));
    EXPECT_EQ(input_error([&] { load_image_folder(tree, cache, 8, 8); }),
              victim.string() + ": not a JPEG or PNG image");
    put(tree, "train/b_dog/0.png", encode_png(make_pixels(1, 8, 8, 3), 8, 8, 3));

    // A damaged cache file is rebuilt, not trusted.
    const ImageFolderLoad again = load_image_folder(tree, cache, 8, 8);
    EXPECT_FALSE(again.from_cache);
    std::string bytes = read_bytes(again.cache_file);
    bytes[bytes.size() / 2] ^= 1;
    write_bytes(again.cache_file, bytes);
    const ImageFolderLoad rebuilt = load_image_folder(tree, cache, 8, 8);
    EXPECT_FALSE(rebuilt.from_cache);
    expect_tree(rebuilt.data);
    EXPECT_TRUE(load_image_folder(tree, cache, 8, 8).from_cache);
    // Another image size asked for is another cache file.
    EXPECT_NE(image_cache_key(tree, 8, 8), image_cache_key(tree, 0, 0));

    // An archive: its size and mtime are the key; zeroed in place, it still loads.
    const std::string tgz = dir / "t.tar.gz";
    write_archive(tree, tgz, "");
    EXPECT_FALSE(load_image_folder(tgz, cache, 8, 8).from_cache);
    const auto t = fs::last_write_time(tgz);
    write_bytes(tgz, std::string(fs::file_size(tgz), '\0'));
    fs::last_write_time(tgz, t);
    const ImageFolderLoad cached = load_image_folder(tgz, cache, 8, 8);
    EXPECT_TRUE(cached.from_cache);
    expect_tree(cached.data);
    EXPECT_NE(cached.cache_file, first.cache_file);

    // "none": no cache file.
    TempDir other("if-cache-none");
    write_tree(other.path());
    const ImageFolderLoad none = load_image_folder(other.path(), "none", 8, 8);
    EXPECT_FALSE(none.from_cache);
    EXPECT_EQ(none.cache_file, "");
    expect_tree(none.data);
}

TEST(ImageFolder, DefaultCacheDir) {
    const char* keep[] = {"ACTSPARSE_DATA_CACHE", "XDG_CACHE_HOME", "HOME"};
    std::vector<std::pair<std::string, const char*>> saved;
    for (const char* k : keep) saved.push_back({k, std::getenv(k)});
    std::vector<std::string> values;
    for (const auto& [k, v] : saved) values.push_back(v ? v : "");
    ::unsetenv("ACTSPARSE_DATA_CACHE");
    ::setenv("XDG_CACHE_HOME", "/x", 1);
    ::setenv("HOME", "/h", 1);
    EXPECT_EQ(default_data_cache_dir(), "/x/actsparse/data");
    ::unsetenv("XDG_CACHE_HOME");
    EXPECT_EQ(default_data_cache_dir(), "/h/.cache/actsparse/data");
    ::setenv("ACTSPARSE_DATA_CACHE", "/d", 1);
    EXPECT_EQ(default_data_cache_dir(), "/d");
    for (size_t i = 0; i < saved.size(); ++i) {
        if (saved[i].second)
            ::setenv(saved[i].first.c_str(), values[i].c_str(), 1);
        else
            ::unsetenv(saved[i].first.c_str());
    }
}

const std::vector<std::string> kCifar10Classes = {
    "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"};

/// CIFAR-10-shaped tree: 32x32 PNGs, 2 train and 1 test image per class, classes created in
/// reverse order; image (class k, j) has pattern seed 10 * k + j.
void write_cifar_tree(const std::string& root, int64_t size = 32) {
    const int s = static_cast<int>(size);
    for (int k = 9; k >= 0; --k) {
        const std::string c = kCifar10Classes[k];
        for (int j = 0; j < 3; ++j)
            put(root, (j < 2 ? "train/" : "test/") + c + "/" + std::to_string(j) + ".png",
                encode_png(make_pixels(10 * k + j, s, s, 3), s, s, 3));
    }
}

TEST(ImageFolder, LoadDatasetCifar10FromFolderAndArchive) {
    TempDir dir("if-cifar");
    const std::string tree = dir / "tree", cache = dir / "cache";
    write_cifar_tree(tree);
    // Sorted class names are the binary format's label order (batches.meta.txt).
    const ImageFolderData d = read_image_folder(tree);
    EXPECT_EQ(d.classes, kCifar10Classes);
    const std::string tgz = dir / "cifar10.tar.gz";
    write_archive(tree, tgz, "");
    for (const std::string& source : {tree, tgz}) {
        SCOPED_TRACE(source);
        const DatasetFiles f = load_dataset(DatasetKind::kCifar10, source, cache);
        ASSERT_EQ(f.train.size(), 20);
        ASSERT_EQ(f.test.size(), 10);
        for (int64_t i = 0; i < 20; ++i) {  // the classes in turn: 0.png of each, then 1.png
            EXPECT_EQ(f.train.labels[i], i % 10);
            EXPECT_EQ(f.train.image(i)[32 * 32 + 5], pattern(10 * (i % 10) + i / 10, 0, 5, 1));
        }
        for (int64_t i = 0; i < 10; ++i) EXPECT_EQ(f.test.labels[i], i);
        EXPECT_TRUE(load_image_folder(source, cache, 32, 32).from_cache);
    }
    // CIFAR-100 wants 100 class folders.
    std::string e = input_error([&] { load_dataset(DatasetKind::kCifar100, tgz, cache); });
    EXPECT_EQ(e, "--data: " + tgz + ": 10 class folders in train/, but cifar100 has 100");
    // Not 32x32.
    TempDir small("if-cifar-small");
    write_cifar_tree(small.path(), 28);
    e = input_error([&] { load_dataset(DatasetKind::kCifar10, small.path(), "none"); });
    EXPECT_EQ(e, small / "train/airplane/0.png" + ": image is 28x28, not 32x32");
    // A file that is no archive; a path that does not exist.
    write_bytes(dir / "data.zip", "zip");
    e = input_error([&] { load_dataset(DatasetKind::kCifar10, dir / "data.zip", cache); });
    EXPECT_EQ(e.rfind("--data: ", 0), 0u) << e;
    e = input_error([&] { load_dataset(DatasetKind::kCifar10, dir / "nothing", cache); });
    EXPECT_EQ(e, "--data: " + (dir / "nothing") + ": no such folder or archive");
    // Fashion-MNIST has no ImageFolder input: an archive is not a folder.
    e = input_error([&] { load_dataset(DatasetKind::kFashionMnist, tgz, cache); });
    EXPECT_EQ(e, "--data: " + tgz + ": no such folder");
}

}  // namespace
}  // namespace actsparse::trainer
