#include "calibration/engine/runner.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <map>
#include <optional>
#include <thread>

#include "calibration/engine/cache.h"
#include "calibration/engine/progress.h"
#include "core/error.h"

namespace actsparse::calibration {
namespace {

bool write_all(int fd, const std::string& s) {
    size_t off = 0;
    while (off < s.size()) {
        const ssize_t n = ::write(fd, s.data() + off, s.size() - off);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        off += static_cast<size_t>(n);
    }
    return true;
}

// Runs in the forked child: one point index per line in, one result line out. Never returns.
[[noreturn]] void worker_main(int task_fd, int result_fd, pid_t parent,
                              const std::vector<PointSpec>& specs, const Simulator& sim) {
    ::signal(SIGPIPE, SIG_DFL);
    ::signal(SIGINT, SIG_DFL);
    // Die with the parent (a killed calibration leaves no orphans behind).
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(1);
    // The CLI's stdout carries results; a simulator's chatter goes to stderr.
    ::dup2(2, 1);
    std::string pending;
    char buf[256];
    for (;;) {
        const ssize_t n = ::read(task_fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        pending.append(buf, static_cast<size_t>(n));
        size_t nl;
        while ((nl = pending.find('\n')) != std::string::npos) {
            const size_t idx = std::stoul(pending.substr(0, nl));
            pending.erase(0, nl + 1);
            std::string reply;
            try {
                const auto t0 = std::chrono::steady_clock::now();
                PointResult r = sim(specs.at(idx));
                if (r.host_seconds == 0)
                    r.host_seconds =
                        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
                            .count();
                reply = "ok " + std::to_string(idx) + " " + to_json(r).dump() + "\n";
            } catch (const core::InputError& e) {
                reply =
                    "input " + std::to_string(idx) + " " + nlohmann::json(e.what()).dump() + "\n";
            } catch (const std::exception& e) {
                reply =
                    "error " + std::to_string(idx) + " " + nlohmann::json(e.what()).dump() + "\n";
            } catch (...) {
                reply = "error " + std::to_string(idx) + " \"unknown exception\"\n";
            }
            if (!write_all(result_fd, reply)) ::_exit(1);
        }
    }
    ::_exit(0);
}

struct Worker {
    pid_t pid = -1;
    int task_fd = -1;    // parent writes point indices
    int result_fd = -1;  // parent reads result lines
    std::string buffer;
    long busy = -1;  // the point it is simulating
};

// Stops and reaps the workers on every exit path; restores SIGPIPE.
class WorkerPool {
  public:
    WorkerPool() { old_sigpipe_ = ::signal(SIGPIPE, SIG_IGN); }
    ~WorkerPool() {
        for (auto& w : workers) {
            close_task(w);
            if (w.result_fd >= 0) ::close(w.result_fd);
            if (w.pid > 0 && w.busy >= 0) ::kill(w.pid, SIGKILL);
        }
        for (auto& w : workers) reap(w);
        ::signal(SIGPIPE, old_sigpipe_);
    }
    static void close_task(Worker& w) {
        if (w.task_fd >= 0) ::close(w.task_fd);
        w.task_fd = -1;
    }
    static int reap(Worker& w) {
        int status = 0;
        if (w.pid > 0) {
            while (::waitpid(w.pid, &status, 0) < 0 && errno == EINTR) {
            }
        }
        w.pid = -1;
        return status;
    }
    std::vector<Worker> workers;

  private:
    void (*old_sigpipe_)(int) = SIG_DFL;
};

std::string exit_reason(int status) {
    if (WIFSIGNALED(status))
        return std::string("was killed by signal ") + std::to_string(WTERMSIG(status)) + " (" +
               ::strsignal(WTERMSIG(status)) + ")";
    if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
    return "stopped";
}

// Expected simulation time of a point, in MAC-equivalents: measured on eyeriss-v1 (fast
// fidelity) as about 40 ms + 38 ns per dense MAC, nearly independent of the density.
double cost(const PointSpec& p) { return static_cast<double>(p.shape.macs()) + 1e6; }

}  // namespace

std::string describe(const PointSpec& p) {
    if (p.role == PointRole::kTrace)
        return "layer " + p.layer_name + " (trace " + p.trace_file + ")";
    char buf[96];
    std::snprintf(buf, sizeof buf, " (density %g, seed %llu, %s)", p.density,
                  static_cast<unsigned long long>(p.seed), core::to_string(p.pattern));
    return "layer " + p.layer_name + buf;
}

int shard_of(const std::string& key, int count) {
    uint64_t h = 1469598103934665603ull;  // FNV-1a, 64 bit: the same on every machine
    for (unsigned char ch : key) {
        h ^= ch;
        h *= 1099511628211ull;
    }
    return count > 1 ? static_cast<int>(h % static_cast<uint64_t>(count)) : 0;
}

namespace {

/// Runs the points (every missing one, or with `partial` this shard's share) and returns the
/// result of each spec (empty where a point was left to another shard).
std::vector<std::optional<PointResult>> run_impl(const std::vector<PointSpec>& specs,
                                                 const Simulator& sim, const RunOptions& opts,
                                                 bool partial, RunStats& stats) {
    const auto t0 = std::chrono::steady_clock::now();
    stats.points = specs.size();

    // Identical points (same key) are simulated once.
    std::vector<std::string> keys;
    std::vector<size_t> unique_of(specs.size());
    std::vector<size_t> first_spec;
    {
        std::map<std::string, size_t> seen;
        for (size_t i = 0; i < specs.size(); ++i) {
            const std::string key = cache_key(opts.context, specs[i]);
            const auto [it, inserted] = seen.emplace(key, keys.size());
            if (inserted) {
                keys.push_back(key);
                first_spec.push_back(i);
            }
            unique_of[i] = it->second;
        }
    }
    stats.unique = keys.size();

    const PointCache cache(opts.cache_dir);
    std::vector<std::optional<PointResult>> unique_results(keys.size());
    std::vector<size_t> todo;
    for (size_t u = 0; u < keys.size(); ++u) {
        unique_results[u] = cache.load(keys[u]);
        if (unique_results[u])
            ++stats.cached;
        else if (partial && shard_of(keys[u], opts.shard_count) != opts.shard_index)
            ++stats.other_shards;
        else
            todo.push_back(u);
    }
    if (!opts.simulate && !todo.empty())
        throw core::InputError(
            "--merge", std::to_string(todo.size()) + " of " + std::to_string(keys.size()) +
                           " points are not in the cache " +
                           (opts.cache_dir.empty() ? std::string("(none given)") : opts.cache_dir) +
                           ": run every shard (--shard I/N) with this cache first, or calibrate "
                           "without --merge");
    // Largest first: the long layers start early and the short ones fill the gaps.
    std::stable_sort(todo.begin(), todo.end(), [&](size_t a, size_t b) {
        return cost(specs[first_spec[a]]) > cost(specs[first_spec[b]]);
    });

    if (!todo.empty()) {
        int jobs = opts.jobs > 0
                       ? opts.jobs
                       : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
        jobs = static_cast<int>(std::min<size_t>(static_cast<size_t>(jobs), todo.size()));
        stats.workers = jobs;
        // Each worker gets the unique points as its own indices.
        std::vector<PointSpec> unique_specs;
        for (size_t u = 0; u < keys.size(); ++u) unique_specs.push_back(specs[first_spec[u]]);

        double total_cost = 0;
        for (size_t u : todo) total_cost += cost(specs[first_spec[u]]);
        Progress progress(opts.progress, todo.size(),
                          opts.label + " (" + std::to_string(jobs) + " workers, " +
                              std::to_string(stats.cached) + " cached)",
                          total_cost);
        WorkerPool pool;
        std::fflush(stdout);
        std::fflush(stderr);
        const pid_t parent = ::getpid();
        for (int k = 0; k < jobs; ++k) {
            int task[2], result[2];
            if (::pipe2(task, O_CLOEXEC) != 0 || ::pipe2(result, O_CLOEXEC) != 0)
                throw WorkerError(std::string("cannot create a pipe: ") + std::strerror(errno));
            const pid_t pid = ::fork();
            if (pid < 0) throw WorkerError(std::string("cannot fork: ") + std::strerror(errno));
            if (pid == 0) {
                for (auto& w : pool.workers) {
                    ::close(w.task_fd);
                    ::close(w.result_fd);
                }
                ::close(task[1]);
                ::close(result[0]);
                worker_main(task[0], result[1], parent, unique_specs, sim);
            }
            ::close(task[0]);
            ::close(result[1]);
            Worker w;
            w.pid = pid;
            w.task_fd = task[1];
            w.result_fd = result[0];
            pool.workers.push_back(std::move(w));
        }

        size_t next = 0;
        const auto dispatch = [&](Worker& w) {
            if (next < todo.size()) {
                w.busy = static_cast<long>(todo[next++]);
                if (write_all(w.task_fd, std::to_string(w.busy) + "\n")) return;
                // A worker that died before its first task is reported when its pipe ends.
            } else {
                w.busy = -1;
            }
            WorkerPool::close_task(w);  // no more work: the worker exits
        };
        for (auto& w : pool.workers) dispatch(w);

        size_t received = 0;
        while (received < todo.size()) {
            std::vector<pollfd> fds;
            std::vector<size_t> owner;
            for (size_t k = 0; k < pool.workers.size(); ++k) {
                if (pool.workers[k].result_fd < 0) continue;
                fds.push_back({pool.workers[k].result_fd, POLLIN, 0});
                owner.push_back(k);
            }
            if (fds.empty()) throw WorkerError("all workers ended with points left to simulate");
            if (::poll(fds.data(), fds.size(), -1) < 0) {
                if (errno == EINTR) continue;
                throw WorkerError(std::string("poll failed: ") + std::strerror(errno));
            }
            for (size_t f = 0; f < fds.size(); ++f) {
                if (!fds[f].revents) continue;
                Worker& w = pool.workers[owner[f]];
                char buf[65536];
                const ssize_t n = ::read(w.result_fd, buf, sizeof buf);
                if (n < 0 && errno == EINTR) continue;
                if (n <= 0) {
                    ::close(w.result_fd);
                    w.result_fd = -1;
                    WorkerPool::close_task(w);
                    if (w.busy < 0) {
                        WorkerPool::reap(w);
                        continue;
                    }
                    const long lost = w.busy;
                    w.busy = -1;
                    const int status = WorkerPool::reap(w);
                    throw WorkerError("worker " + exit_reason(status) + " while simulating " +
                                      describe(unique_specs[static_cast<size_t>(lost)]) + "; " +
                                      std::to_string(received) +
                                      " points finished and are cached: run again to resume");
                }
                w.buffer.append(buf, static_cast<size_t>(n));
                size_t nl;
                while ((nl = w.buffer.find('\n')) != std::string::npos) {
                    const std::string line = w.buffer.substr(0, nl);
                    w.buffer.erase(0, nl + 1);
                    const size_t sp1 = line.find(' '), sp2 = line.find(' ', sp1 + 1);
                    const std::string kind = line.substr(0, sp1);
                    const size_t u = std::stoul(line.substr(sp1 + 1, sp2 - sp1 - 1));
                    const auto payload = nlohmann::json::parse(line.substr(sp2 + 1));
                    if (kind == "input")
                        throw core::InputError(describe(unique_specs[u]),
                                               payload.get<std::string>());
                    if (kind != "ok")
                        throw WorkerError("simulating " + describe(unique_specs[u]) +
                                          " failed: " + payload.get<std::string>());
                    PointResult r = point_result_from_json(payload, "worker result");
                    cache.store(keys[u], unique_specs[u], r);
                    stats.host_seconds += r.host_seconds;
                    unique_results[u] = std::move(r);
                    ++received;
                    ++stats.simulated;
                    progress.tick(cost(unique_specs[u]));
                    dispatch(w);
                }
            }
        }
        progress.finish();
    }

    std::vector<std::optional<PointResult>> out;
    out.reserve(specs.size());
    for (size_t i = 0; i < specs.size(); ++i) out.push_back(unique_results[unique_of[i]]);
    stats.wall_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return out;
}

}  // namespace

std::vector<PointResult> run_points(const std::vector<PointSpec>& specs, const Simulator& sim,
                                    const RunOptions& opts, RunStats* stats_out) {
    RunStats stats;
    const auto results = run_impl(specs, sim, opts, false, stats);
    std::vector<PointResult> out;
    out.reserve(results.size());
    for (const auto& r : results) out.push_back(*r);
    if (stats_out) *stats_out = stats;
    return out;
}

RunStats simulate_shard(const std::vector<PointSpec>& specs, const Simulator& sim,
                        const RunOptions& opts) {
    if (opts.cache_dir.empty())
        throw core::InputError("--cache", "a shard needs a cache folder shared by the shards");
    if (opts.shard_count < 1 || opts.shard_index < 0 || opts.shard_index >= opts.shard_count)
        throw core::InputError("--shard", "expected I/N with 0 <= I < N, got " +
                                              std::to_string(opts.shard_index) + "/" +
                                              std::to_string(opts.shard_count));
    RunStats stats;
    run_impl(specs, sim, opts, true, stats);
    return stats;
}

}  // namespace actsparse::calibration
