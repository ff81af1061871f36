#pragma once
/// @file run_parallel: the one small worker pool of the project, for work whose pieces write
/// disjoint outputs (a layer's GLB chunks, a network's synthetic traces, the rows of a
/// reference convolution). Results must not depend on which thread ran which piece.
#include <algorithm>
#include <atomic>
#include <cstddef>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace actsparse::core {

/// Threads for n pieces when `requested` are asked for (0 or less: one per core), at most
/// 16 and never more than n (at least 1).
inline size_t worker_count(size_t n, int requested) {
    const size_t cores = std::max(1u, std::thread::hardware_concurrency());
    const size_t want = requested > 0 ? static_cast<size_t>(requested) : cores;
    return std::max<size_t>(1, std::min({want, n, size_t{16}}));
}

/// Calls body(0) ... body(n - 1), each once, on `threads` threads (this one included), in no
/// fixed order. After a call throws, the pieces not yet started are skipped, and the first
/// exception is rethrown here once every thread has stopped.
template <typename F>
void run_parallel(size_t n, size_t threads, F body) {
    if (threads <= 1 || n <= 1) {
        for (size_t i = 0; i < n; ++i) body(i);
        return;
    }
    std::atomic<size_t> next{0};
    std::exception_ptr error;
    std::mutex error_mutex;
    auto work = [&] {
        for (size_t i = next++; i < n; i = next++) {
            try {
                body(i);
            } catch (...) {
                const std::lock_guard<std::mutex> lock(error_mutex);
                if (!error) error = std::current_exception();
                next = n;
            }
        }
    };
    std::vector<std::thread> pool;
    for (size_t t = 1; t < std::min(threads, n); ++t) pool.emplace_back(work);
    work();
    for (auto& th : pool) th.join();
    if (error) std::rethrow_exception(error);
}

}  // namespace actsparse::core
