#include "calibration/engine/cache.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/error.h"

namespace actsparse::calibration {

PointCache::PointCache(std::string dir) : dir_(std::move(dir)) {}

std::string PointCache::path_of(const std::string& key) const {
    const std::string h = fnv1a_hex(key);
    return dir_ + "/" + h.substr(0, 2) + "/" + h + ".json";
}

std::optional<PointResult> PointCache::load(const std::string& key) const {
    if (!enabled()) return std::nullopt;
    const std::string path = path_of(key);
    std::ifstream in(path, std::ios::binary);
    if (!in) return std::nullopt;
    std::stringstream ss;
    ss << in.rdbuf();
    try {
        const auto j = nlohmann::json::parse(ss.str());
        if (!j.is_object() || j.value("key", std::string()) != key) return std::nullopt;
        return point_result_from_json(j.at("result"), path + ": result");
    } catch (const std::exception&) {
        return std::nullopt;  // unreadable entry: simulate again and overwrite it
    }
}

void PointCache::store(const std::string& key, const PointSpec& spec, const PointResult& r) const {
    if (!enabled()) return;
    const std::string path = path_of(key);
    std::error_code ec;
    std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
    if (ec) {
        // A file in the way is the user's --cache; no space or permission is the machine's.
        if (ec == std::errc::not_a_directory || ec == std::errc::file_exists ||
            ec == std::errc::no_such_file_or_directory)
            throw core::InputError(dir_, "cannot create the cache folder: " + ec.message());
        throw core::IoError(dir_, "cannot create the cache folder: " + ec.message());
    }
    nlohmann::json j = {{"key", key},
                        {"layer", spec.layer_name},
                        {"role", to_string(spec.role)},
                        {"result", to_json(r)}};
    core::write_file_atomic(path, j.dump() + "\n");
}

std::string default_cache_dir() {
    if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x)
        return std::string(x) + "/actsparse/calibration";
    if (const char* h = std::getenv("HOME"); h && *h)
        return std::string(h) + "/.cache/actsparse/calibration";
    return ".actsparse-cache/calibration";
}

}  // namespace actsparse::calibration
