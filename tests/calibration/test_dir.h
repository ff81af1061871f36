#pragma once
// A fresh temporary folder per test, removed afterwards.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

namespace actsparse::calibration::testing {

class TempDir {
  public:
    TempDir() {
        const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
        path_ = std::filesystem::temp_directory_path() /
                ("actsparse-calib-" + std::string(info->test_suite_name()) + "-" + info->name() +
                 "-" + std::to_string(::getpid()));
        std::filesystem::remove_all(path_);
        std::filesystem::create_directories(path_);
    }
    ~TempDir() { std::filesystem::remove_all(path_); }
    std::string str() const { return path_.string(); }
    std::string operator/(const std::string& sub) const { return (path_ / sub).string(); }

  private:
    std::filesystem::path path_;
};

/// Number of cache entries (*.json files) under a folder.
inline size_t count_entries(const std::string& dir) {
    size_t n = 0;
    if (!std::filesystem::exists(dir)) return 0;
    for (const auto& e : std::filesystem::recursive_directory_iterator(dir))
        if (e.is_regular_file() && e.path().extension() == ".json") ++n;
    return n;
}

}  // namespace actsparse::calibration::testing
