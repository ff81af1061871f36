#include "trainer/image_folder.h"

// clang-format off
#include <cstdio>  // before jpeglib.h, which needs FILE and size_t
#include <jpeglib.h>
// clang-format on
#ifdef ACTSPARSE_HAVE_LIBARCHIVE
#include <archive.h>
#include <archive_entry.h>
#endif
#include <png.h>
#include <zlib.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <csetjmp>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <set>

#include "core/error.h"

namespace actsparse::trainer {
namespace fs = std::filesystem;
namespace {

// Bounds for a first image whose size is not given (so a bogus header cannot make us
// allocate gigabytes); 16384 is also libpng's default limit.
constexpr int64_t kMaxSide = 16384;
constexpr int64_t kMaxPixels = int64_t{1} << 26;
// Archive members larger than this are not images of a training set.
constexpr int64_t kMaxMemberBytes = int64_t{1} << 26;
constexpr uint32_t kCacheVersion = 1;
constexpr char kCacheMagic[8] = {'A', 'S', 'P', 'I', 'M', 'G', '\r', '\n'};

std::string lower(std::string s) {
    for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

bool ends_with(const std::string& s, const std::string& suffix) {
    return s.size() >= suffix.size() &&
           s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool is_image_name(const std::string& name) {
    const std::string l = lower(name);
    return ends_with(l, ".jpg") || ends_with(l, ".jpeg") || ends_with(l, ".png");
}

uint64_t fnv1a(const std::string& s, uint64_t h = 0xcbf29ce484222325ULL) {
    for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ULL;
    return h;
}

std::string hex64(uint64_t v) {
    char b[17];
    std::snprintf(b, sizeof b, "%016llx", static_cast<unsigned long long>(v));
    return b;
}

std::string size_text(int64_t h, int64_t w) { return std::to_string(w) + "x" + std::to_string(h); }

bool size_plausible(int64_t h, int64_t w) {
    return h > 0 && w > 0 && h <= kMaxSide && w <= kMaxSide && h * w <= kMaxPixels;
}

// ---- JPEG (libjpeg-turbo). Errors leave libjpeg by longjmp, so the frames between setjmp
// and the library hold no C++ objects with destructors.

struct JpegError {
    jpeg_error_mgr mgr;
    std::jmp_buf jump;
    char message[JMSG_LENGTH_MAX];
};

[[noreturn]] void jpeg_fail(j_common_ptr c) {
    auto* e = reinterpret_cast<JpegError*>(c->err);
    (*c->err->format_message)(c, e->message);
    std::longjmp(e->jump, 1);
}

// libjpeg reports corrupt data ("Premature end of JPEG file", "Corrupt JPEG data: ...") as
// warnings and goes on with grey pixels; such an image is refused here.
void jpeg_message(j_common_ptr c, int level) {
    if (level < 0) jpeg_fail(c);
}

enum class Decode { kOk, kFailed, kWrongSize };

Decode decode_jpeg(const unsigned char* data, size_t size, int64_t want_h, int64_t want_w,
                   DecodedImage* out, char* reason, size_t reason_size) {
    jpeg_decompress_struct cinfo;
    JpegError err;
    cinfo.err = jpeg_std_error(&err.mgr);
    err.mgr.error_exit = jpeg_fail;
    err.mgr.emit_message = jpeg_message;
    if (setjmp(err.jump)) {
        jpeg_destroy_decompress(&cinfo);
        std::snprintf(reason, reason_size, "cannot decode the JPEG: %s", err.message);
        return Decode::kFailed;
    }
    jpeg_create_decompress(&cinfo);
    jpeg_mem_src(&cinfo, data, static_cast<unsigned long>(size));
    jpeg_read_header(&cinfo, TRUE);
    out->height = cinfo.image_height;
    out->width = cinfo.image_width;
    if ((want_h > 0 && (out->height != want_h || out->width != want_w)) ||
        !size_plausible(out->height, out->width)) {
        jpeg_destroy_decompress(&cinfo);
        return Decode::kWrongSize;
    }
    if (cinfo.jpeg_color_space != JCS_GRAYSCALE && cinfo.jpeg_color_space != JCS_YCbCr &&
        cinfo.jpeg_color_space != JCS_RGB) {
        jpeg_destroy_decompress(&cinfo);
        std::snprintf(reason, reason_size,
                      "a CMYK/YCCK JPEG (only grayscale, YCbCr and RGB ones are read)");
        return Decode::kFailed;
    }
    cinfo.out_color_space = JCS_RGB;  // libjpeg-turbo replicates grayscale into R, G, B
    jpeg_start_decompress(&cinfo);
    const size_t stride = static_cast<size_t>(out->width) * 3;
    out->rgb.resize(stride * static_cast<size_t>(out->height));
    while (cinfo.output_scanline < cinfo.output_height) {
        JSAMPROW row = out->rgb.data() + cinfo.output_scanline * stride;
        jpeg_read_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_decompress(&cinfo);
    jpeg_destroy_decompress(&cinfo);
    return Decode::kOk;
}

// ---- PNG (libpng), the same discipline: png_error longjmps back to decode_png.

struct PngSource {
    const unsigned char* data;
    size_t size;
    size_t pos;
    char message[200];
};

void png_read_memory(png_structp png, png_bytep out, size_t n) {
    auto* s = static_cast<PngSource*>(png_get_io_ptr(png));
    if (n > s->size - s->pos) png_error(png, "unexpected end of data");
    std::memcpy(out, s->data + s->pos, n);
    s->pos += n;
}

[[noreturn]] void png_fail(png_structp png, png_const_charp message) {
    auto* s = static_cast<PngSource*>(png_get_error_ptr(png));
    std::snprintf(s->message, sizeof s->message, "%s", message);
    png_longjmp(png, 1);
}

void png_warn(png_structp, png_const_charp) {}  // e.g. an incorrect sRGB profile: harmless

Decode decode_png(PngSource* src, int64_t want_h, int64_t want_w, DecodedImage* out, char* reason,
                  size_t reason_size) {
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, src, png_fail, png_warn);
    png_infop info = png ? png_create_info_struct(png) : nullptr;
    if (info == nullptr) {
        png_destroy_read_struct(&png, nullptr, nullptr);
        std::snprintf(reason, reason_size, "cannot decode the PNG: out of memory");
        return Decode::kFailed;
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_read_struct(&png, &info, nullptr);
        std::snprintf(reason, reason_size, "cannot decode the PNG: %s", src->message);
        return Decode::kFailed;
    }
    png_set_read_fn(png, src, png_read_memory);
    png_read_info(png, info);
    png_uint_32 w = 0, h = 0;
    int depth = 0, color = 0;
    png_get_IHDR(png, info, &w, &h, &depth, &color, nullptr, nullptr, nullptr);
    out->height = h;
    out->width = w;
    if ((want_h > 0 && (out->height != want_h || out->width != want_w)) ||
        !size_plausible(out->height, out->width)) {
        png_destroy_read_struct(&png, &info, nullptr);
        return Decode::kWrongSize;
    }
    // To 8-bit RGB as PIL's convert("RGB") does: palettes expanded, the high byte of 16-bit
    // samples, alpha and tRNS dropped, gray replicated; no gamma correction.
    if (color == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
    if (color == PNG_COLOR_TYPE_GRAY && depth < 8) png_set_expand_gray_1_2_4_to_8(png);
    if (depth == 16) png_set_strip_16(png);
    if (color & PNG_COLOR_MASK_ALPHA) png_set_strip_alpha(png);
    if (color == PNG_COLOR_TYPE_GRAY || color == PNG_COLOR_TYPE_GRAY_ALPHA)
        png_set_gray_to_rgb(png);
    const int passes = png_set_interlace_handling(png);
    png_read_update_info(png, info);
    const size_t stride = static_cast<size_t>(w) * 3;
    if (png_get_rowbytes(png, info) != stride) png_error(png, "unexpected row size");
    out->rgb.resize(stride * h);
    for (int p = 0; p < passes; ++p)
        for (png_uint_32 y = 0; y < h; ++y)
            png_read_row(png, out->rgb.data() + y * stride, nullptr);
    png_read_end(png, nullptr);
    png_destroy_read_struct(&png, &info, nullptr);
    return Decode::kOk;
}

// ---- The tree: which files are images of which class.

struct Member {
    std::string rel;    ///< below the root: "train/cat/0001.jpg"
    std::string where;  ///< for errors: the file, or "ARCHIVE: MEMBER"
    std::string file;   ///< folder input: the file to read
    std::string bytes;  ///< archive input: the member's contents
};

struct Tree {
    std::vector<Member> members;                        ///< image files in class folders
    std::set<std::string> class_dirs[2];                ///< class folders of train/, test/
    std::map<std::string, std::string> class_where[2];  ///< a class folder, for errors
};

std::vector<std::string> split_path(const std::string& p) {
    std::vector<std::string> parts;
    size_t at = 0;
    while (at <= p.size()) {
        const size_t slash = p.find('/', at);
        const size_t end = slash == std::string::npos ? p.size() : slash;
        if (end > at) parts.push_back(p.substr(at, end - at));
        if (slash == std::string::npos) break;
        at = slash + 1;
    }
    return parts;
}

/// Files and folders below the root ("train/...", "test/..."): records class folders and
/// keeps image members; skips hidden names and files directly in train/ or test/.
/// `where_of` turns a path below the root into the name errors use.
template <typename WhereOf>
void add_entry(Tree* t, const std::string& rel, bool is_dir, Member* m, const WhereOf& where_of) {
    const std::vector<std::string> parts = split_path(rel);
    if (parts.size() < 2 || (parts[0] != "train" && parts[0] != "test")) return;
    for (const auto& p : parts)
        if (p[0] == '.') return;
    const int split = parts[0] == "train" ? 0 : 1;
    if (!is_dir && parts.size() == 2) return;
    if (t->class_dirs[split].insert(parts[1]).second)
        t->class_where[split][parts[1]] = where_of(parts[0] + "/" + parts[1]);
    if (is_dir || m == nullptr || !is_image_name(parts.back())) return;
    m->rel = rel;
    t->members.push_back(std::move(*m));
}

Tree read_folder_tree(const std::string& dir) {
    Tree t;
    const auto where_of = [&](const std::string& rel) { return (fs::path(dir) / rel).string(); };
    for (const char* split : {"train", "test"}) {
        const fs::path root = fs::path(dir) / split;
        std::error_code ec;
        fs::recursive_directory_iterator it(root, fs::directory_options::follow_directory_symlink,
                                            ec);
        for (; !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
            const fs::path& p = it->path();
            const std::string rel =
                std::string(split) + "/" + p.lexically_relative(root).generic_string();
            if (p.filename().string()[0] == '.') {
                if (it->is_directory()) it.disable_recursion_pending();
                continue;
            }
            const bool is_dir = it->is_directory();
            if (!is_dir && !it->is_regular_file()) continue;
            Member m;
            m.where = p.string();
            m.file = p.string();
            add_entry(&t, rel, is_dir, &m, where_of);
        }
        if (ec) throw core::InputError(root.string(), "cannot list the folder: " + ec.message());
    }
    return t;
}

#ifdef ACTSPARSE_HAVE_LIBARCHIVE
std::string archive_error(archive* a) {
    const char* e = archive_error_string(a);
    return e ? e : "unknown error";
}

/// A member's path without "./" or "/" in front and "/" behind.
std::string clean_member_path(std::string p) {
    for (;;) {
        if (p.rfind("./", 0) == 0)
            p.erase(0, 2);
        else if (!p.empty() && p[0] == '/')
            p.erase(0, 1);
        else
            break;
    }
    while (!p.empty() && p.back() == '/') p.pop_back();
    return p;
}

Tree read_archive_tree(const std::string& path) {
    struct Entry {
        std::string path;
        bool is_dir;
        Member m;
        bool image;
    };
    std::vector<Entry> entries;
    {
        archive* a = archive_read_new();
        struct Free {
            archive* a;
            ~Free() { archive_read_free(a); }
        } free_archive{a};
        archive_read_support_filter_all(a);
        archive_read_support_format_tar(a);
        if (archive_read_open_filename(a, path.c_str(), 1 << 16) != ARCHIVE_OK)
            throw core::InputError(path, "cannot open the archive: " + archive_error(a));
        archive_entry* e = nullptr;
        for (;;) {
            const int r = archive_read_next_header(a, &e);
            if (r == ARCHIVE_EOF) break;
            if (r < ARCHIVE_WARN)
                throw core::InputError(path, "cannot read the archive: " + archive_error(a));
            const char* name = archive_entry_pathname(e);
            if (name == nullptr) name = archive_entry_pathname_utf8(e);
            if (name == nullptr) continue;
            Entry en{clean_member_path(name), false, {}, false};
            const auto type = archive_entry_filetype(e);
            if (type == AE_IFDIR) {
                en.is_dir = true;
            } else if (type == AE_IFREG && is_image_name(en.path)) {
                en.image = true;
                en.m.where = path + ": " + en.path;
                if (archive_entry_size_is_set(e) && archive_entry_size(e) > kMaxMemberBytes)
                    throw core::InputError(en.m.where, "larger than 64 MiB: not an image");
                char buf[1 << 16];
                for (;;) {
                    const la_ssize_t n = archive_read_data(a, buf, sizeof buf);
                    if (n < 0)
                        throw core::InputError(en.m.where, "cannot read: " + archive_error(a));
                    if (n == 0) break;
                    en.m.bytes.append(buf, static_cast<size_t>(n));
                    if (static_cast<int64_t>(en.m.bytes.size()) > kMaxMemberBytes)
                        throw core::InputError(en.m.where, "larger than 64 MiB: not an image");
                }
            } else if (type != AE_IFREG) {
                continue;  // links, devices
            }
            if (!en.path.empty()) entries.push_back(std::move(en));
        }
    }
    // The root: the archive's top, or one folder down ("cifar10/train/...").
    std::set<std::string> top;
    std::map<std::string, std::set<std::string>> second;
    for (const auto& en : entries) {
        const auto parts = split_path(en.path);
        top.insert(parts[0]);
        if (parts.size() >= 2) second[parts[0]].insert(parts[1]);
    }
    std::string root;
    if (!(top.count("train") && top.count("test"))) {
        std::vector<std::string> roots;
        for (const auto& [dir, subs] : second)
            if (subs.count("train") && subs.count("test")) roots.push_back(dir);
        if (roots.empty())
            throw core::InputError(path,
                                   "no train/ and test/ folders (at the top or one folder "
                                   "down)");
        if (roots.size() > 1)
            throw core::InputError(
                path, "train/ and test/ in several folders: " + roots[0] + "/, " + roots[1] + "/");
        root = roots[0] + "/";
    }
    Tree t;
    const auto where_of = [&](const std::string& rel) { return path + ": " + root + rel; };
    for (auto& en : entries) {
        if (en.path.compare(0, root.size(), root) != 0) continue;
        const std::string rel = en.path.substr(root.size());
        add_entry(&t, rel, en.is_dir, en.image ? &en.m : nullptr, where_of);
    }
    return t;
}
#else
Tree read_archive_tree(const std::string& path) {
    throw core::InputError(path,
                           "this build reads no archives (libarchive-dev was missing when it "
                           "was built): unpack it and give the folder");
}
#endif

/// The images of one split in the order they are read and stored.
struct Ordered {
    std::vector<const Member*> members;
    std::vector<int64_t> labels;
};

void decode_into(const Ordered& o, int64_t h, int64_t w, ImageSet* s) {
    s->channels = 3;
    s->height = h;
    s->width = w;
    s->labels = o.labels;
    const size_t plane = static_cast<size_t>(h * w);
    s->pixels.assign(o.members.size() * 3 * plane, 0);
    DecodedImage img;
    for (size_t i = 0; i < o.members.size(); ++i) {
        const Member& m = *o.members[i];
        img = decode_image(m.file.empty() ? m.bytes : core::read_file(m.file), m.where, h, w);
        uint8_t* dst = s->pixels.data() + i * 3 * plane;
        for (size_t p = 0; p < plane; ++p)
            for (size_t c = 0; c < 3; ++c) dst[c * plane + p] = img.rgb[p * 3 + c];
    }
}

// ---- The cache file (docs/formats.md, "Image cache"): little-endian.

void put_u32(std::string* b, uint32_t v) {
    for (int i = 0; i < 4; ++i) b->push_back(static_cast<char>(v >> (8 * i)));
}
void put_u64(std::string* b, uint64_t v) {
    for (int i = 0; i < 8; ++i) b->push_back(static_cast<char>(v >> (8 * i)));
}
void put_str(std::string* b, const std::string& s) {
    put_u32(b, static_cast<uint32_t>(s.size()));
    b->append(s);
}

/// Writes the cache file atomically; returns "" or why it could not.
std::string write_cache(const std::string& path, const std::string& key, const ImageFolderData& d) {
    std::error_code ec;
    fs::create_directories(fs::path(path).parent_path(), ec);
    if (ec) return "cannot create the folder: " + ec.message();
    core::remove_stale_temps(path);
    const std::string tmp = core::unique_temp_path(path);
    std::FILE* f = std::fopen(tmp.c_str(), "wb");
    if (f == nullptr) return std::string("cannot create ") + tmp + ": " + std::strerror(errno);
    uLong crc = crc32_z(0L, Z_NULL, 0);
    bool ok = true;
    const auto put = [&](const void* p, size_t n) {
        crc = crc32_z(crc, static_cast<const Bytef*>(p), n);
        ok = ok && std::fwrite(p, 1, n, f) == n;
    };
    std::string head(kCacheMagic, sizeof kCacheMagic);
    put_u32(&head, kCacheVersion);
    put_str(&head, key);
    put_u32(&head, static_cast<uint32_t>(d.classes.size()));
    for (const auto& c : d.classes) put_str(&head, c);
    put(head.data(), head.size());
    for (const ImageSet* s : {&d.train, &d.test}) {
        std::string sh;
        put_u64(&sh, static_cast<uint64_t>(s->size()));
        put_u32(&sh, static_cast<uint32_t>(s->channels));
        put_u32(&sh, static_cast<uint32_t>(s->height));
        put_u32(&sh, static_cast<uint32_t>(s->width));
        put(sh.data(), sh.size());
        put(s->pixels.data(), s->pixels.size());
        std::string labels;
        labels.reserve(s->labels.size() * 4);
        for (int64_t l : s->labels) put_u32(&labels, static_cast<uint32_t>(l));
        put(labels.data(), labels.size());
    }
    std::string tail;
    put_u32(&tail, static_cast<uint32_t>(crc));
    ok = ok && std::fwrite(tail.data(), 1, tail.size(), f) == tail.size();
    const int err = errno;
    if (std::fclose(f) != 0) ok = false;
    if (!ok) {
        std::remove(tmp.c_str());
        return std::string("cannot write ") + tmp + ": " + std::strerror(err);
    }
    try {
        core::commit_temp_file(tmp, path);
    } catch (const std::exception& e) {
        return e.what();
    }
    return "";
}

/// Reads the cache file into `d` when it exists, is whole (size and CRC-32) and was made
/// for `key`; anything else is a miss.
bool read_cache(const std::string& path, const std::string& key, ImageFolderData* d) {
    std::FILE* f = std::fopen(path.c_str(), "rb");
    if (f == nullptr) return false;
    struct Close {
        std::FILE* f;
        ~Close() { std::fclose(f); }
    } close_file{f};
    std::error_code ec;
    uint64_t left = fs::file_size(path, ec);
    if (ec) return false;
    uLong crc = crc32_z(0L, Z_NULL, 0);
    const auto get = [&](void* p, size_t n) {
        if (n > left || std::fread(p, 1, n, f) != n) return false;
        left -= n;
        crc = crc32_z(crc, static_cast<const Bytef*>(p), n);
        return true;
    };
    const auto get_u32 = [&](uint32_t* v) {
        unsigned char b[4];
        if (!get(b, 4)) return false;
        *v = uint32_t{b[0]} | uint32_t{b[1]} << 8 | uint32_t{b[2]} << 16 | uint32_t{b[3]} << 24;
        return true;
    };
    const auto get_u64 = [&](uint64_t* v) {
        uint32_t lo = 0, hi = 0;
        if (!get_u32(&lo) || !get_u32(&hi)) return false;
        *v = uint64_t{hi} << 32 | lo;
        return true;
    };
    const auto get_str = [&](std::string* s) {
        uint32_t n = 0;
        if (!get_u32(&n) || n > left) return false;
        s->resize(n);
        return get(s->data(), n);
    };
    char magic[sizeof kCacheMagic];
    uint32_t version = 0, nclasses = 0;
    std::string stored_key;
    if (!get(magic, sizeof magic) || std::memcmp(magic, kCacheMagic, sizeof magic) != 0 ||
        !get_u32(&version) || version != kCacheVersion || !get_str(&stored_key) ||
        stored_key != key || !get_u32(&nclasses) || nclasses > left)
        return false;
    ImageFolderData out;
    out.classes.resize(nclasses);
    for (auto& c : out.classes)
        if (!get_str(&c)) return false;
    for (ImageSet* s : {&out.train, &out.test}) {
        uint64_t n = 0;
        uint32_t c = 0, h = 0, w = 0;
        if (!get_u64(&n) || !get_u32(&c) || !get_u32(&h) || !get_u32(&w)) return false;
        if (c != 3 || !size_plausible(h, w) || n > left / (uint64_t{c} * h * w + 4)) return false;
        s->channels = c;
        s->height = h;
        s->width = w;
        s->pixels.resize(n * c * h * w);
        if (!get(s->pixels.data(), s->pixels.size())) return false;
        std::vector<unsigned char> labels(n * 4);
        if (!get(labels.data(), labels.size())) return false;
        s->labels.resize(n);
        for (uint64_t i = 0; i < n; ++i) {
            const unsigned char* b = labels.data() + 4 * i;
            s->labels[i] =
                uint32_t{b[0]} | uint32_t{b[1]} << 8 | uint32_t{b[2]} << 16 | uint32_t{b[3]} << 24;
            if (s->labels[i] >= nclasses) return false;
        }
    }
    const uLong body_crc = crc;
    uint32_t stored_crc = 0;
    if (!get_u32(&stored_crc) || stored_crc != static_cast<uint32_t>(body_crc) || left != 0)
        return false;
    *d = std::move(out);
    return true;
}

}  // namespace

bool is_tar_archive_path(const std::string& path) {
    const std::string l = lower(fs::path(path).filename().string());
    return ends_with(l, ".tar.gz") || ends_with(l, ".tgz") || ends_with(l, ".tar");
}

bool is_image_folder(const std::string& dir) {
    return fs::is_directory(fs::path(dir) / "train") && fs::is_directory(fs::path(dir) / "test");
}

DecodedImage decode_image(const std::string& bytes, const std::string& where, int64_t height,
                          int64_t width) {
    const auto* data = reinterpret_cast<const unsigned char*>(bytes.data());
    DecodedImage out;
    char reason[JMSG_LENGTH_MAX + 64] = "";
    Decode r;
    if (bytes.size() >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF) {
        r = decode_jpeg(data, bytes.size(), height, width, &out, reason, sizeof reason);
    } else if (bytes.size() >= 8 && png_sig_cmp(data, 0, 8) == 0) {
        PngSource src{data, bytes.size(), 0, ""};
        r = decode_png(&src, height, width, &out, reason, sizeof reason);
    } else {
        throw core::InputError(where, "not a JPEG or PNG image");
    }
    if (r == Decode::kWrongSize)
        throw core::InputError(
            where, "image is " + size_text(out.height, out.width) +
                       (height > 0 ? ", not " + size_text(height, width) : ": implausible size"));
    if (r == Decode::kFailed) throw core::InputError(where, reason);
    return out;
}

ImageFolderData read_image_folder(const std::string& source, int64_t height, int64_t width) {
    const bool archive = fs::is_regular_file(source);
    if (!archive && !is_image_folder(source))
        throw core::InputError(source, "not an archive nor a folder with train/ and test/");
    Tree t = archive ? read_archive_tree(source) : read_folder_tree(source);

    ImageFolderData d;
    d.classes.assign(t.class_dirs[0].begin(), t.class_dirs[0].end());  // std::set: sorted
    if (d.classes.empty())
        throw core::InputError(
            archive ? source + ": train/" : (fs::path(source) / "train").string(),
            "no class folders");
    std::map<std::string, int64_t> label;
    for (size_t i = 0; i < d.classes.size(); ++i) label[d.classes[i]] = static_cast<int64_t>(i);
    for (const auto& c : t.class_dirs[1])
        if (!label.count(c))
            throw core::InputError(t.class_where[1][c], "class folder not in train/");

    Ordered ordered[2];
    std::map<std::string, int64_t> count[2];
    std::vector<std::pair<std::pair<int64_t, std::string>, const Member*>> keyed[2];
    for (const Member& m : t.members) {
        const auto parts = split_path(m.rel);
        const int split = parts[0] == "train" ? 0 : 1;
        ++count[split][parts[1]];
        keyed[split].push_back({{label.at(parts[1]), m.rel}, &m});
    }
    for (int split = 0; split < 2; ++split) {
        for (const auto& c : t.class_dirs[split])
            if (!count[split].count(c))
                throw core::InputError(t.class_where[split][c], "no .jpg, .jpeg or .png images");
        auto& ks = keyed[split];
        std::sort(ks.begin(), ks.end(),
                  [](const auto& a, const auto& b) { return a.first < b.first; });
        // The classes in turn: every class's first image (by path) in label order, then every
        // class's second, ... So any prefix (--limit-eval-batches, trace export's first K
        // test images) holds the classes alike, as the shuffled binary files do.
        std::vector<std::pair<std::pair<int64_t, int64_t>, size_t>> turn(ks.size());
        for (size_t i = 0, first = 0; i < ks.size(); ++i) {
            if (i > 0 && ks[i].first.first != ks[i - 1].first.first) first = i;
            turn[i] = {{static_cast<int64_t>(i - first), ks[i].first.first}, i};
        }
        std::sort(turn.begin(), turn.end());
        for (const auto& [rank_label, i] : turn) {
            ordered[split].members.push_back(ks[i].second);
            ordered[split].labels.push_back(ks[i].first.first);
        }
    }
    if (ordered[1].members.empty())
        throw core::InputError(archive ? source + ": test/" : (fs::path(source) / "test").string(),
                               "no class folders");
    if (height <= 0 || width <= 0) {
        const Member& first = *ordered[0].members.front();
        const DecodedImage img = decode_image(
            first.file.empty() ? first.bytes : core::read_file(first.file), first.where);
        height = img.height;
        width = img.width;
    }
    decode_into(ordered[0], height, width, &d.train);
    decode_into(ordered[1], height, width, &d.test);
    return d;
}

std::string default_data_cache_dir() {
    if (const char* x = std::getenv("ACTSPARSE_DATA_CACHE"); x && *x) return x;
    if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x)
        return std::string(x) + "/actsparse/data";
    if (const char* h = std::getenv("HOME"); h && *h)
        return std::string(h) + "/.cache/actsparse/data";
    return ".actsparse-cache/data";
}

std::string image_cache_key(const std::string& source, int64_t height, int64_t width) {
    std::error_code ec;
    fs::path abs = fs::weakly_canonical(fs::absolute(source), ec);
    if (ec) abs = fs::absolute(source).lexically_normal();
    const auto stamp = [](const fs::path& p) {
        std::error_code e;
        const auto t = fs::last_write_time(p, e);
        return e ? std::string("?")
                 : std::to_string(static_cast<long long>(t.time_since_epoch().count()));
    };
    std::string key = "actsparse image cache v" + std::to_string(kCacheVersion) +
                      "\nsource=" + abs.string() + "\nimage=" + size_text(height, width) + "\n";
    if (fs::is_regular_file(abs)) {
        const auto size = fs::file_size(abs, ec);
        if (ec) throw core::InputError(source, "cannot read: " + ec.message());
        return key + "archive size=" + std::to_string(size) + " mtime=" + stamp(abs) + "\n";
    }
    if (!is_image_folder(abs.string()))
        throw core::InputError(source, "not an archive nor a folder with train/ and test/");
    // A folder: every file below train/ and test/, by path, size and mtime.
    std::vector<std::string> lines;
    for (const char* split : {"train", "test"}) {
        const fs::path root = abs / split;
        fs::recursive_directory_iterator it(root, fs::directory_options::follow_directory_symlink,
                                            ec);
        for (; !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
            if (!it->is_regular_file()) continue;
            std::error_code e;
            const auto size = it->file_size(e);
            lines.push_back(std::string(split) + "/" +
                            it->path().lexically_relative(root).generic_string() + " " +
                            std::to_string(e ? 0 : size) + " " + stamp(it->path()));
        }
        if (ec) throw core::InputError(root.string(), "cannot list the folder: " + ec.message());
    }
    std::sort(lines.begin(), lines.end());
    uint64_t h = fnv1a("");
    for (const auto& l : lines) h = fnv1a(l + "\n", h);
    return key + "folder files=" + std::to_string(lines.size()) + " listing=" + hex64(h) + "\n";
}

ImageFolderLoad load_image_folder(const std::string& source, const std::string& cache_dir,
                                  int64_t height, int64_t width) {
    ImageFolderLoad out;
    const std::string dir = cache_dir.empty() ? default_data_cache_dir() : cache_dir;
    if (dir == "none") {
        out.data = read_image_folder(source, height, width);
        return out;
    }
    const std::string key = image_cache_key(source, height, width);
    out.cache_file = (fs::path(dir) / ("images-" + hex64(fnv1a(key)) + ".bin")).string();
    if (read_cache(out.cache_file, key, &out.data)) {
        out.from_cache = true;
        return out;
    }
    const auto t0 = std::chrono::steady_clock::now();
    out.data = read_image_folder(source, height, width);
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const std::string why = write_cache(out.cache_file, key, out.data);
    const long long n = out.data.train.size() + out.data.test.size();
    if (why.empty()) {
        std::fprintf(stderr, "data: decoded %lld images of %s in %.1f s, cached in %s\n", n,
                     source.c_str(), secs, out.cache_file.c_str());
    } else {
        std::fprintf(stderr,
                     "warning: data cache %s: %s (decoded %lld images in %.1f s, not cached)\n",
                     out.cache_file.c_str(), why.c_str(), n, secs);
        out.cache_file.clear();
    }
    return out;
}

}  // namespace actsparse::trainer
