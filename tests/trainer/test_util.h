#pragma once
// Helpers of the trainer tests: temporary folders and small dataset files.
#include <unistd.h>
#include <zlib.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <utility>

#include "core/error.h"
#include "core/network.h"

namespace actsparse::trainer {

/// A fresh folder under the system temp dir, removed with its contents at scope exit.
class TempDir {
  public:
    explicit TempDir(const std::string& name) {
        path_ = (std::filesystem::temp_directory_path() /
                 ("actsparse-trainer-test-" + name + "-" + std::to_string(::getpid())))
                    .string();
        std::filesystem::remove_all(path_);
        std::filesystem::create_directories(path_);
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    const std::string& path() const { return path_; }
    std::string operator/(const std::string& leaf) const {
        return (std::filesystem::path(path_) / leaf).string();
    }

  private:
    std::string path_;
};

inline std::string read_bytes(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

inline void write_bytes(const std::string& path, const std::string& bytes, bool gz = false) {
    if (gz) {
        gzFile f = gzopen(path.c_str(), "wb");
        gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size()));
        gzclose(f);
    } else {
        std::ofstream(path, std::ios::binary) << bytes;
    }
}

inline std::string be32(uint32_t v) {
    return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
            static_cast<char>(v)};
}

inline uint8_t idx_pixel(int64_t i, int64_t p, int64_t mult) {
    return static_cast<uint8_t>((i * 31 + p * mult) % 256);
}

/// Writes <dir>/<stem>-images and <stem>-labels (IDX, gzipped with gz); returns their paths.
/// Image i has label (i * mult) % 10 and pixels idx_pixel(i, p, mult).
inline std::pair<std::string, std::string> write_idx_set(const std::string& dir,
                                                         const std::string& stem, int64_t n,
                                                         int64_t rows, int64_t cols, bool gz,
                                                         int64_t mult) {
    std::string img = be32(0x803) + be32(n) + be32(rows) + be32(cols);
    std::string lab = be32(0x801) + be32(n);
    for (int64_t i = 0; i < n; ++i) {
        lab += static_cast<char>((i * mult) % 10);
        for (int64_t p = 0; p < rows * cols; ++p) img += static_cast<char>(idx_pixel(i, p, mult));
    }
    const std::string ip = dir + "/" + stem + "-images" + (gz ? ".gz" : "");
    const std::string lp = dir + "/" + stem + "-labels" + (gz ? ".gz" : "");
    write_bytes(ip, img, gz);
    write_bytes(lp, lab, gz);
    return {ip, lp};
}

/// A Fashion-MNIST-shaped folder (28x28, the standard gzipped file names) whose images carry
/// a learnable signal: a bright bar at a row given by the label.
inline void write_fmnist_dir(const std::string& dir, int64_t n_train, int64_t n_test) {
    auto write = [&](const std::string& prefix, int64_t n, int64_t salt) {
        std::string img = be32(0x803) + be32(n) + be32(28) + be32(28);
        std::string lab = be32(0x801) + be32(n);
        for (int64_t i = 0; i < n; ++i) {
            const int64_t label = (i * 7 + salt) % 10;
            lab += static_cast<char>(label);
            for (int64_t p = 0; p < 28 * 28; ++p) {
                const int64_t row = p / 28;
                const bool bar = row / 2 == label + 2;
                img += static_cast<char>(bar ? 200 + (p + i) % 50 : (p * 13 + i * 7) % 60);
            }
        }
        write_bytes(dir + "/" + prefix + "-images-idx3-ubyte.gz", img, true);
        write_bytes(dir + "/" + prefix + "-labels-idx1-ubyte.gz", lab, true);
    };
    write("train", n_train, 0);
    write("t10k", n_test, 3);
}

inline int64_t cifar_label(int64_t rec, int label_bytes, int64_t classes) {
    return rec % (label_bytes == 1 ? 10 : classes);
}
inline uint8_t cifar_pixel(int64_t rec, int64_t p) {
    return static_cast<uint8_t>((rec * 7 + p) % 256);
}

/// n CIFAR records numbered from `first`: label bytes (CIFAR-100: coarse rec % 20, fine
/// rec % 100), then 3072 pixels cifar_pixel(rec, p).
inline void write_cifar_file(const std::string& path, int64_t n, int label_bytes, int64_t first) {
    std::string b;
    for (int64_t i = 0; i < n; ++i) {
        const int64_t rec = first + i;
        if (label_bytes == 2) b += static_cast<char>(rec % 20);
        b += static_cast<char>(cifar_label(rec, label_bytes, 100));
        for (int64_t p = 0; p < 3072; ++p) b += static_cast<char>(cifar_pixel(rec, p));
    }
    write_bytes(path, b);
}

/// A calibration in the paper's form for `net` at `width`, in skip mode: layer l costs
/// e_l = 2 u_l pJ and c_l = 0.01 u_l cycles per unit density (e0_l, c0_l a quarter and a
/// tenth of those), u_l = cost(layer), so Map(l) = u_l / Conv(l). Returns `path`.
inline std::string write_paper_calibration(
    const std::string& path, const std::string& net_name, double width,
    const std::function<double(const core::ConvLayer&)>& cost) {
    const core::Network net = core::builtin_network(net_name, {1, width, 0});
    nlohmann::json j = {{"schema", "actsparse.calibration/1"},
                        {"network", net_name},
                        {"zero_mode", "skip"},
                        {"form", "free"},
                        {"global", {{"e1", 2.0}, {"e0", 0.5}, {"c1", 0.01}, {"c0", 0.001}}}};
    for (const auto& l : net.conv_layers()) {
        const double conv = static_cast<double>(l.shape.macs());
        const double u = cost(l);
        j["layers"].push_back({{"index", l.index},
                               {"name", l.name},
                               {"conv", conv},
                               {"map_e", u / conv},
                               {"map_c", u / conv},
                               {"e_l", 2.0 * u},
                               {"c_l", 0.01 * u},
                               {"e0_l", 0.5 * u},
                               {"c0_l", 0.001 * u}});
    }
    core::write_file_atomic(path, j.dump());
    return path;
}

}  // namespace actsparse::trainer
