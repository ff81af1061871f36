#pragma once
/// @file One simulated point of a calibration sweep: what to simulate (PointSpec), what the
/// simulator measured (PointResult), and the cache key that identifies it. The simulator is a
/// plain function (Simulator), so the sweep, fits, cache and parallel runner are tested with
/// a fake one; calibration/tlm_simulator.h provides the real one.
#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "core/shape.h"
#include "core/trace.h"

namespace actsparse::calibration {

/// Why a point is simulated: to fit the model, or to check its predictions.
enum class PointRole {
    kFit,       ///< part of the density sweep the lines are fitted to
    kValidate,  ///< synthetic held-out point (held-out density, structured pattern, new seed)
    kTrace,     ///< a trace file from --validate-traces
};
const char* to_string(PointRole r);

/// One conv layer at one synthetic ifmap density/seed/zero pattern, or one trace file.
struct PointSpec {
    int layer = 0;           ///< conv-layer index in the network
    std::string layer_name;  ///< the conv op's name
    core::LayerShape shape;  ///< with the calibration batch in N
    /// The ifmap sits RLC-compressed in DRAM (false for a network's first layer: the image).
    bool ifmap_compressed = true;
    PointRole role = PointRole::kFit;
    double density = 1.0;  ///< requested ifmap density (synthetic points)
    uint64_t seed = 1;     ///< synthetic trace seed
    core::ZeroPattern pattern = core::ZeroPattern::kUniform;
    std::string trace_file;    ///< role kTrace: the trace to simulate
    std::string trace_digest;  ///< role kTrace: content hash of trace_file (in the cache key)
};

/// What the simulator measured for one point.
struct PointResult {
    double density = 0;  ///< ifmap density measured on the trace (the fit's x)
    /// Density of the ofmap written back (after ReLU); < 0 when the simulator did not say
    double ofmap_density = -1;
    double energy_pj = 0;          ///< total layer energy [pJ]
    double cycles = 0;             ///< total layer cycles (compute overlapped with DRAM)
    double cycles_processing = 0;  ///< cycles of the PE array alone
    nlohmann::json mapping;        ///< the mapping used (tlm::to_json of the layer mapping)
    double host_seconds = 0;       ///< host time of the simulation when it ran [s]
};
nlohmann::json to_json(const PointResult& r);
/// Reads to_json()'s object; throws core::InputError(where + ".key", ...) on a bad field.
PointResult point_result_from_json(const nlohmann::json& j, const std::string& where);

/// Simulates one point. Throws core::InputError when the point cannot run (e.g. no mapping
/// fits); any other exception is an internal error.
using Simulator = std::function<PointResult(const PointSpec&)>;

/// Everything besides the point that changes a simulated number: it prefixes every cache key.
struct SimContext {
    std::string arch_hash;  ///< core::arch_hash of the effective arch (zero mode included)
    std::string zero_mode;  ///< "skip" | "gate"
    std::string fidelity;   ///< "fast" | "cycle"
    std::string objective;  ///< mapper objective
    bool relu_out = true;   ///< the ofmap is ReLU'd before it is written back
    /// Version of the simulator's numbers; bump it when a model change alters results so old
    /// cache entries stop matching.
    std::string model_version;
    /// < 0: the mapper planned each point for its own density; else for this one.
    double mapping_density = -1;
};

/// The full, human-readable cache key of a point, e.g.
/// "actsparse.calibration.point/1|arch=...|zero=skip|fidelity=fast|...|density=0.5|seed=1|
/// pattern=uniform".
std::string cache_key(const SimContext& ctx, const PointSpec& p);

/// 64-bit FNV-1a of `bytes` as 16 hex digits (file names of cache entries, trace digests).
std::string fnv1a_hex(const std::string& bytes);

}  // namespace actsparse::calibration
