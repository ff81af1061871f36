#pragma once
/// @file Runs a list of points through a Simulator in parallel worker processes, with the
/// on-disk cache and a progress bar.
///
/// SystemC elaborates once per process, so the unit of parallelism is a forked worker that
/// runs many points one after another (the simulator's top is reused across layers). The
/// parent never calls the simulator: it reads the cache, forks the workers, hands each a point
/// index over a pipe (largest points first, the next one as soon as a worker is free), and
/// receives each result as one JSON line, which it stores in the cache at once. Results are
/// assembled by index, so the output does not depend on the number of workers or on which
/// points came from the cache.
#include <cstdio>
#include <stdexcept>
#include <string>
#include <vector>

#include "calibration/engine/point.h"

namespace actsparse::calibration {

/// A worker failed in a way that is not the user's input: it died (signal, abort) or the
/// simulator threw something other than core::InputError. Points finished before are cached.
class WorkerError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

struct RunOptions {
    int jobs = 0;                   ///< worker processes; 0: one per core
    std::string cache_dir;          ///< empty: no cache
    SimContext context;             ///< the cache-key prefix
    std::FILE* progress = nullptr;  ///< progress bar stream (stderr in the CLI); null: silent
    std::string label = "simulating";
    /// Sharding (`calibrate --shard I/N`, simulate_shard): of the unique points not yet
    /// cached, only those whose cache key hashes to shard_index (mod shard_count) are
    /// simulated. Shards of the same sweep are disjoint whatever the cache holds.
    int shard_index = 0, shard_count = 1;
    /// false (`calibrate --merge`): nothing is simulated; a point missing from the cache is
    /// a core::InputError naming the flag.
    bool simulate = true;
};

struct RunStats {
    size_t points = 0;        ///< points asked for
    size_t unique = 0;        ///< distinct cache keys among them
    size_t cached = 0;        ///< found in the cache
    size_t simulated = 0;     ///< run by the workers
    size_t other_shards = 0;  ///< not cached and left to other shards (simulate_shard)
    int workers = 0;
    double wall_seconds = 0;
    double host_seconds = 0;  ///< simulator time summed over the simulated points
};

/// Results in the order of `specs`. A point the simulator rejects with core::InputError
/// rethrows it (naming the layer and point); a dead worker or another exception throws
/// WorkerError. Either way the workers are stopped and reaped, and finished points stay cached.
std::vector<PointResult> run_points(const std::vector<PointSpec>& specs, const Simulator& sim,
                                    const RunOptions& opts, RunStats* stats = nullptr);

/// Simulates this shard's share (opts.shard_index of opts.shard_count) of the points that
/// are not cached yet into the cache (opts.cache_dir, required) and returns the counts. The
/// caller fits later from the cache (run_points with simulate = false). A killed shard loses
/// only the points its workers were running: each finished point is cached at once.
RunStats simulate_shard(const std::vector<PointSpec>& specs, const Simulator& sim,
                        const RunOptions& opts);

/// The shard (0 .. count - 1) a cache key belongs to: FNV-1a of the key, mod count.
int shard_of(const std::string& key, int count);

/// A short description of a point for messages: "layer features.3.conv (density 0.5, seed 1,
/// uniform)".
std::string describe(const PointSpec& p);

}  // namespace actsparse::calibration
