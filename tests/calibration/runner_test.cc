// The parallel runner: order and results independent of the worker count, the cache makes a
// re-run instant, and a run killed midway (a worker aborting, or the whole process SIGKILLed)
// resumes from the cache to the same result.
#include "calibration/engine/runner.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "core/error.h"
#include "fake_sim.h"
#include "test_dir.h"

namespace actsparse::calibration {
namespace {

using testing::count_entries;
using testing::TempDir;

bool same(const PointResult& a, const PointResult& b) {
    return a.density == b.density && a.energy_pj == b.energy_pj && a.cycles == b.cycles &&
           a.cycles_processing == b.cycles_processing && a.mapping == b.mapping;
}

void expect_same(const std::vector<PointResult>& a, const std::vector<PointResult>& b) {
    ASSERT_EQ(a.size(), b.size());
    for (size_t i = 0; i < a.size(); ++i) EXPECT_TRUE(same(a[i], b[i])) << "point " << i;
}

RunOptions options(int jobs, const std::string& cache) {
    RunOptions o;
    o.jobs = jobs;
    o.cache_dir = cache;
    o.context = testing::fake_context();
    return o;
}

const testing::FakeModel kModel = testing::small_model();
const std::vector<PointSpec> kSpecs = sweep_points(testing::small_input());

TEST(RunPoints, ResultsFollowTheSpecsWhateverTheWorkerCount) {
    RunStats s1, s3;
    const auto serial = run_points(kSpecs, kModel, options(1, ""), &s1);
    const auto parallel = run_points(kSpecs, kModel, options(3, ""), &s3);
    EXPECT_EQ(s1.workers, 1);
    EXPECT_EQ(s3.workers, 3);
    EXPECT_EQ(s3.simulated, s3.unique);
    expect_same(serial, parallel);
    for (size_t i = 0; i < kSpecs.size(); ++i)
        EXPECT_TRUE(same(parallel[i], kModel(kSpecs[i]))) << describe(kSpecs[i]);
}

TEST(RunPoints, SecondRunComesFromTheCacheWithoutWorkers) {
    TempDir dir;
    RunStats first, second;
    const auto a = run_points(kSpecs, kModel, options(2, dir.str()), &first);
    EXPECT_EQ(first.cached, 0u);
    EXPECT_EQ(count_entries(dir.str()), first.unique);
    // A simulator that must not be called.
    const Simulator broken = [](const PointSpec&) -> PointResult { throw std::logic_error("x"); };
    const auto b = run_points(kSpecs, broken, options(2, dir.str()), &second);
    EXPECT_EQ(second.cached, second.unique);
    EXPECT_EQ(second.simulated, 0u);
    EXPECT_EQ(second.workers, 0);
    expect_same(a, b);
}

TEST(RunPoints, IdenticalPointsAreSimulatedOnce) {
    std::vector<PointSpec> specs = {kSpecs[0], kSpecs[1], kSpecs[0], kSpecs[1], kSpecs[0]};
    specs[2].layer_name = "a copy under another name";
    RunStats s;
    const auto r = run_points(specs, kModel, options(2, ""), &s);
    EXPECT_EQ(s.points, 5u);
    EXPECT_EQ(s.unique, 2u);
    EXPECT_EQ(s.simulated, 2u);
    EXPECT_TRUE(same(r[0], r[2]));
    EXPECT_TRUE(same(r[1], r[3]));
}

TEST(RunPoints, WorkerAbortingMidwayThenResumeGivesTheSameResult) {
    TempDir dir;
    constexpr int kPerWorker = 7;
    // Each worker process counts its own points (the counter is copied at fork) and aborts
    // on the eighth.
    const Simulator aborting = [](const PointSpec& p) {
        static int done = 0;
        if (++done > kPerWorker) {
            const rlimit no_core{0, 0};
            ::setrlimit(RLIMIT_CORE, &no_core);
            std::abort();
        }
        return kModel(p);
    };
    try {
        run_points(kSpecs, aborting, options(2, dir.str()));
        FAIL() << "expected the dead worker to be reported";
    } catch (const WorkerError& e) {
        EXPECT_NE(std::string(e.what()).find("signal 6"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("run again to resume"), std::string::npos);
    }
    const size_t kept = count_entries(dir.str());
    EXPECT_GE(kept, static_cast<size_t>(kPerWorker));
    EXPECT_LE(kept, static_cast<size_t>(2 * kPerWorker));

    RunStats resumed;
    const auto r = run_points(kSpecs, kModel, options(2, dir.str()), &resumed);
    EXPECT_EQ(resumed.cached, kept);
    EXPECT_EQ(resumed.simulated, resumed.unique - kept);
    expect_same(r, run_points(kSpecs, kModel, options(1, "")));
}

TEST(RunPoints, WholeRunKilledWithSigkillResumes) {
    TempDir dir;
    const std::string cache = dir / "cache";
    const pid_t run = ::fork();
    ASSERT_GE(run, 0);
    if (run == 0) {
        // The interrupted calibration: slow points so the kill lands midway.
        const Simulator slow = [](const PointSpec& p) {
            std::this_thread::sleep_for(std::chrono::milliseconds(15));
            return kModel(p);
        };
        try {
            run_points(kSpecs, slow, options(2, cache));
        } catch (...) {
            ::_exit(1);
        }
        ::_exit(0);
    }
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (count_entries(cache) < 10 && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    ::kill(run, SIGKILL);
    int status = 0;
    ::waitpid(run, &status, 0);
    ASSERT_TRUE(WIFSIGNALED(status)) << "the run finished before it was killed";
    // Its workers die with it (PR_SET_PDEATHSIG); nothing writes to the cache any more.
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    const size_t kept = count_entries(cache);
    EXPECT_GE(kept, 10u);
    EXPECT_LT(kept, kSpecs.size());

    RunStats resumed;
    const auto r = run_points(kSpecs, kModel, options(2, cache), &resumed);
    EXPECT_EQ(resumed.cached, kept);
    EXPECT_EQ(resumed.cached + resumed.simulated, resumed.unique);
    expect_same(r, run_points(kSpecs, kModel, options(1, "")));
}

TEST(RunPoints, SimulatorInputErrorNamesThePoint) {
    const Simulator picky = [](const PointSpec& p) {
        if (p.layer == 2) throw core::InputError("arch", "no mapping fits");
        return kModel(p);
    };
    try {
        run_points(kSpecs, picky, options(2, ""));
        FAIL() << "expected an InputError";
    } catch (const core::InputError& e) {
        const std::string what = e.what();
        EXPECT_NE(what.find("conv2"), std::string::npos) << what;
        EXPECT_NE(what.find("arch: no mapping fits"), std::string::npos) << what;
    }
}

TEST(RunPoints, OtherSimulatorExceptionIsAWorkerError) {
    const Simulator buggy = [](const PointSpec& p) -> PointResult {
        if (p.layer == 1) throw std::runtime_error("invariant broken");
        return kModel(p);
    };
    EXPECT_THROW(run_points(kSpecs, buggy, options(2, "")), WorkerError);
}

TEST(RunPoints, ProgressBarShowsCountAndEta) {
    std::FILE* f = std::tmpfile();
    ASSERT_NE(f, nullptr);
    RunOptions o = options(2, "");
    o.progress = f;
    run_points(kSpecs, kModel, o);
    std::rewind(f);
    std::string text;
    char buf[4096];
    while (size_t n = std::fread(buf, 1, sizeof buf, f)) text.append(buf, n);
    std::fclose(f);
    EXPECT_NE(text.find("ETA"), std::string::npos) << text;
    EXPECT_NE(text.find(std::to_string(kSpecs.size()) + "/" + std::to_string(kSpecs.size())),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("done in"), std::string::npos) << text;
}

}  // namespace
}  // namespace actsparse::calibration
