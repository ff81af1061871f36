#pragma once
/// @file Image datasets in the torchvision ImageFolder layout, `train/<class>/<image>` and
/// `test/<class>/<image>`, read from a folder or straight from a .tar.gz/.tgz/.tar archive of
/// one (at its top or one folder down). Images are JPEG (libjpeg-turbo) or PNG (libpng),
/// told apart by their signature; grayscale becomes RGB by replication, alpha is dropped.
/// The label of an image is the index of its class folder among train/'s class folders
/// sorted by name (torchvision's convention). The decoded images are cached in one binary
/// file per source (docs/formats.md, "Image cache"), so only the first load decodes. No
/// LibTorch here.
#include <cstdint>
#include <string>
#include <vector>

#include "trainer/datasets.h"

namespace actsparse::trainer {

/// A decoded ImageFolder tree: 3-channel images, labels indexing `classes`.
struct ImageFolderData {
    std::vector<std::string> classes;  ///< train/'s class folder names, sorted
    ImageSet train;
    ImageSet test;
};

/// True when `path` ends in .tar.gz, .tgz or .tar (case-insensitive).
bool is_tar_archive_path(const std::string& path);

/// True when `dir` is a folder with train/ and test/ subfolders.
bool is_image_folder(const std::string& dir);

/// One image decoded to interleaved RGB, [height, width, 3].
struct DecodedImage {
    int64_t height = 0;
    int64_t width = 0;
    std::vector<uint8_t> rgb;
};

/// Decodes a JPEG or PNG held in `bytes`. An image that is not `height` x `width` (when
/// those are > 0), that is neither format, or that fails to decode (libjpeg warnings such as
/// a premature end of data included) throws InputError(where, ...).
DecodedImage decode_image(const std::string& bytes, const std::string& where, int64_t height = 0,
                          int64_t width = 0);

/// Reads and decodes the ImageFolder tree at `source` (a folder or an archive). Each split
/// holds the classes in turn: the first image (by path) of every class in label order, then
/// the second of every class, and so on, so that any prefix holds the classes alike. Every
/// image must be `height` x `width` (0 = the size of the first image of train/ in that order).
/// Non-image files (other extensions), hidden entries (names starting with '.') and files
/// directly in train/ or test/ are skipped. Throws InputError naming the file (for an
/// archive, "ARCHIVE: MEMBER") of the first image that fails.
ImageFolderData read_image_folder(const std::string& source, int64_t height = 0, int64_t width = 0);

/// The default cache folder: $ACTSPARSE_DATA_CACHE when set, else
/// $XDG_CACHE_HOME/actsparse/data, else $HOME/.cache/actsparse/data, else
/// .actsparse-cache/data.
std::string default_data_cache_dir();

/// The cache key of `source`: the cache format version, the source's absolute path, and the
/// archive's size and mtime (a folder: the path, size and mtime of every file under train/
/// and test/), and the requested image size.
std::string image_cache_key(const std::string& source, int64_t height, int64_t width);

struct ImageFolderLoad {
    ImageFolderData data;
    bool from_cache = false;  ///< read from the cache file, nothing decoded
    std::string cache_file;   ///< "" when caching is off
};

/// read_image_folder through the cache in `cache_dir` ("" = default_data_cache_dir(),
/// "none" = no cache). A missing, stale (other key or format version) or damaged cache file
/// is rebuilt: decoded and written atomically (temporary file, then rename). A cache folder
/// that cannot be created or written only costs a warning on stderr.
ImageFolderLoad load_image_folder(const std::string& source, const std::string& cache_dir,
                                  int64_t height = 0, int64_t width = 0);

}  // namespace actsparse::trainer
