// The durable writers of core/error.h: atomic replacement, unique temporary names, the
// InputError / IoError split (a full disk simulated with RLIMIT_FSIZE, which also works as
// root), and the clean-up of temporary files left by killed processes.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/error.h"

namespace actsparse::core {
namespace {

namespace fs = std::filesystem;

class IoTest : public ::testing::Test {
  protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() /
               ("actsparse-io-" + std::to_string(::getpid()) + "-" +
                ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::remove_all(dir_);
        fs::create_directories(dir_);
    }
    void TearDown() override { fs::remove_all(dir_); }
    std::vector<std::string> names() const {
        std::vector<std::string> out;
        for (const auto& e : fs::directory_iterator(dir_)) out.push_back(e.path().filename());
        std::sort(out.begin(), out.end());
        return out;
    }
    fs::path dir_;
};

TEST_F(IoTest, WritesReplacesAndLeavesNoTemporaryFile) {
    const std::string p = (dir_ / "out.json").string();
    write_file_atomic(p, "first");
    EXPECT_EQ(read_file(p), "first");
    write_file_atomic(p, std::string(1 << 20, 'x'));
    EXPECT_EQ(read_file(p), std::string(1 << 20, 'x'));
    write_file_atomic(p, "");
    EXPECT_EQ(read_file(p), "");
    EXPECT_EQ(names(), std::vector<std::string>{"out.json"});
}

TEST_F(IoTest, TemporaryNamesAreUniqueAcrossThreads) {
    std::vector<std::vector<std::string>> got(4);
    std::vector<std::thread> ts;
    for (int t = 0; t < 4; ++t)
        ts.emplace_back([&, t] {
            for (int i = 0; i < 1000; ++i) got[t].push_back(unique_temp_path("/x/a.json"));
        });
    for (auto& t : ts) t.join();
    std::set<std::string> all;
    for (const auto& g : got) all.insert(g.begin(), g.end());
    EXPECT_EQ(all.size(), 4000u);
    const std::string one = *all.begin();
    EXPECT_EQ(one.rfind("/x/a.json.tmp." + std::to_string(::getpid()) + ".", 0), 0u) << one;
}

TEST_F(IoTest, ReadersSeeOnlyWholeFilesUnderConcurrentWriters) {
    const std::string p = (dir_ / "shared.bin").string();
    write_file_atomic(p, std::string(100000, 'a'));
    std::atomic<bool> stop{false};
    std::vector<std::thread> writers;
    for (char c : {'b', 'c', 'd'})
        writers.emplace_back([&, c] {
            for (int i = 0; i < 40; ++i) write_file_atomic(p, std::string(100000 + 7 * i, c));
        });
    int reads = 0, bad = 0;
    std::thread reader([&] {
        while (!stop) {
            const std::string s = read_file(p);
            ++reads;
            const size_t n = s.size();
            if (n < 100000 || (n - 100000) % 7 != 0 ||
                s.find_first_not_of(s[0]) != std::string::npos)
                ++bad;
        }
    });
    for (auto& w : writers) w.join();
    stop = true;
    reader.join();
    EXPECT_GT(reads, 0);
    EXPECT_EQ(bad, 0);
    EXPECT_EQ(names(), std::vector<std::string>{"shared.bin"});
}

TEST_F(IoTest, AnUnusablePathIsBadInput) {
    EXPECT_THROW(write_file_atomic((dir_ / "no" / "such" / "folder.json").string(), "x"),
                 InputError);
    fs::create_directories(dir_ / "a_folder");
    EXPECT_THROW(write_file_atomic((dir_ / "a_folder").string(), "x"), InputError);
    write_file_atomic((dir_ / "file").string(), "x");
    EXPECT_THROW(write_file_atomic((dir_ / "file" / "below").string(), "x"), InputError);
    EXPECT_EQ(names(), (std::vector<std::string>{"a_folder", "file"}));
}

// A file size limit makes write() fail with EFBIG exactly as a full disk fails with ENOSPC
// (and it works as root, where permissions would not).
TEST_F(IoTest, AFullDiskIsAnIoErrorAndKeepsTheOldFile) {
    const std::string p = (dir_ / "results.json").string();
    write_file_atomic(p, "old");
    struct rlimit old_limit;
    ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &old_limit), 0);
    const auto old_handler = ::signal(SIGXFSZ, SIG_IGN);
    struct rlimit small = old_limit;
    small.rlim_cur = 4096;
    ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &small), 0);
    std::string what;
    bool io = false, input = false;
    try {
        write_file_atomic(p, std::string(100000, 'n'));
    } catch (const IoError& e) {
        io = true;
        what = e.what();
    } catch (const InputError& e) {
        input = true;
        what = e.what();
    }
    ::setrlimit(RLIMIT_FSIZE, &old_limit);
    ::signal(SIGXFSZ, old_handler);
    EXPECT_TRUE(io) << what;
    EXPECT_FALSE(input) << what;
    EXPECT_NE(what.find(p), std::string::npos) << what;
    EXPECT_NE(what.find("cannot write"), std::string::npos) << what;
    EXPECT_EQ(read_file(p), "old");
    EXPECT_EQ(names(), std::vector<std::string>{"results.json"});
}

TEST_F(IoTest, CommitMovesAFileWrittenElsewhere) {
    const std::string p = (dir_ / "ckpt.pt").string();
    const std::string tmp = unique_temp_path(p);
    std::ofstream(tmp) << "archive";
    commit_temp_file(tmp, p);
    EXPECT_EQ(read_file(p), "archive");
    EXPECT_EQ(names(), std::vector<std::string>{"ckpt.pt"});
    EXPECT_THROW(commit_temp_file(tmp, p), IoError);  // gone: nothing to commit (ENOENT is
                                                      // the temp's, not the user's path)
}

TEST_F(IoTest, RemovesOnlyTheTemporaryFilesOfDeadProcesses) {
    const pid_t child = ::fork();
    if (child == 0) ::_exit(0);
    ASSERT_GT(child, 0);
    ::waitpid(child, nullptr, 0);  // reaped: its pid names no process now
    const std::string p = (dir_ / "ckpt.pt").string();
    const std::string dead = p + ".tmp." + std::to_string(child) + ".0.0123456789abcdef";
    const std::string alive = p + ".tmp." + std::to_string(::getppid()) + ".0.0123456789abcdef";
    const std::string mine = unique_temp_path(p);
    for (const auto& f : {dead, alive, mine, p + ".tmp.junk", p + ".other", p})
        std::ofstream(f) << "x";
    EXPECT_EQ(remove_stale_temps(p), 1);
    EXPECT_FALSE(fs::exists(dead));
    EXPECT_TRUE(fs::exists(alive));
    EXPECT_TRUE(fs::exists(mine));
    EXPECT_TRUE(fs::exists(p + ".tmp.junk"));
    EXPECT_TRUE(fs::exists(p + ".other"));
    EXPECT_EQ(remove_stale_temps((dir_ / "none" / "x").string()), 0);  // no folder: no throw
}

}  // namespace
}  // namespace actsparse::core
