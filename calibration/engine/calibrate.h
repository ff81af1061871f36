#pragma once
/// @file A whole calibration: the density sweep of every conv layer of a network, the two
/// model forms fitted to it, their validation on held-out synthetic points (held-out
/// densities, structured zero patterns, a new seed) and on optional trace files, and the
/// calib.json document (schema "actsparse.calibration/1", docs/calibration.md).
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "calibration/engine/fit.h"
#include "calibration/engine/point.h"
#include "calibration/engine/runner.h"
#include "core/network.h"
#include "core/trace.h"

namespace actsparse::calibration {

inline constexpr const char* kSchema = "actsparse.calibration/1";

/// Which synthetic points are simulated.
struct SweepConfig {
    /// Fit densities (>= 2 distinct values in (0, 1]).
    std::vector<double> densities = {0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8, 1.0};
    int seeds = 2;  ///< fit seeds 1..seeds per density and pattern
    std::vector<core::ZeroPattern> patterns = {
        core::ZeroPattern::kUniform, core::ZeroPattern::kChannel, core::ZeroPattern::kBlock};
    /// Validation densities, none of them in `densities`.
    std::vector<double> validate_densities = {0.15, 0.45, 0.7, 0.9};
    std::vector<core::ZeroPattern> validate_patterns = {
        core::ZeroPattern::kUniform, core::ZeroPattern::kChannel, core::ZeroPattern::kBlock};
    uint64_t validate_seed = 1001;  ///< not among the fit seeds
};

/// Checks a sweep; throws core::InputError naming the flag (--densities, --seeds, ...).
void check_sweep(const SweepConfig& s);

/// One trace file to validate against (from a --validate-traces manifest).
struct TraceInput {
    int layer = 0;       ///< conv-layer index it belongs to
    std::string file;    ///< path of the trace
    std::string digest;  ///< content hash (cache key)
    double density = 0;  ///< measured on the trace
};

/// Reads DIR/manifest.json {"network": ..., "layers": [{"name", "file"}]} (files relative to
/// DIR); checks the network name, the layer names and that each trace's shape equals the
/// calibrated layer's. Throws core::InputError naming the manifest and field.
std::vector<TraceInput> read_trace_manifest(const std::string& dir, const std::string& network,
                                            const std::vector<core::ConvLayer>& layers);

enum class FormChoice { kAuto, kFree, kFactorised, kWriteback };
FormChoice parse_form(const std::string& text, const std::string& where);

struct CalibrationInput {
    std::string network;
    std::vector<core::ConvLayer> layers;  ///< conv_layers(batch) of the network
    std::string first_input;              ///< name of the input op (its consumers read the image)
    /// Per conv layer: the conv layer whose written-back ofmap is this layer's whole input
    /// (see input_producers), or -1. Empty: none known. The write-back form
    /// charges a producer's ofmap-write slope to the layers that read that ofmap.
    std::vector<int> producer;
    int64_t batch = 1;
    double width_mult = 1.0;  ///< channel width multiplier of the network (recorded only)
    SweepConfig sweep;
    std::vector<TraceInput> traces;
    std::string zero_mode;  ///< "skip" | "gate"
    nlohmann::json arch;    ///< core::arch_to_json of the effective arch
    std::string arch_hash;
    std::string fidelity = "fast";
    std::string objective = "energy";
    double mapping_density = -1;  ///< recorded only: < 0 the mapper planned per point
    FormChoice form = FormChoice::kAuto;
};

/// One measured point as calib.json lists it.
struct Point {
    PointSpec spec;
    PointResult result;
};

/// Fits of one quantity (energy or cycles) of one layer.
struct QuantityFit {
    LineFit free;
    LineFit factorised;
    LineFit writeback;          ///< free line + ofmap-density term
    double factorised_map = 0;  ///< Map(l) of the factorised fit
};

struct LayerCalibration {
    int index = 0;
    std::string name;
    core::LayerShape shape;
    bool input_sparse = false;
    double conv = 0;  ///< Conv(l), eq. 2, at the calibration batch
    double map_e = 0, map_c = 0;
    double e_l = 0, c_l = 0, e0_l = 0, c0_l = 0;  ///< from the chosen form
    /// Write-back form: slopes in this layer's own ofmap density, the producer they are
    /// charged to (see CalibrationInput::producer) and the mean ofmap density of the fit points.
    double eo_l = 0, co_l = 0, ofmap_density_mean = 0;
    int producer = -1;
    int consumers = 0;  ///< conv layers whose whole input is this layer's ofmap
    QuantityFit energy, cycles;
    nlohmann::json mapping;  ///< at density 1 (or the most used)
    bool mapping_changes = false;
    std::vector<nlohmann::json> mappings_used;  ///< distinct mappings over the fit points
    std::vector<Point> points;                  ///< fit points
    std::vector<Point> validation;              ///< validation and trace points
};

struct CalibrationResult {
    CalibrationInput input;
    std::string form;  ///< "free" | "factorised" | "writeback": where e_l/c_l come from
    double e1 = 0, e0 = 0, c1 = 0, c0 = 0;
    std::vector<LayerCalibration> layers;
    nlohmann::json validation;
    /// Synthetic validation points were simulated (--validate-densities not none); without
    /// them the form scores below are 0 and mean nothing.
    bool validated = false;
    double form_score_free = 0, form_score_factorised = 0;  ///< mean validation error, %
    double form_score_writeback = 0;
    RunStats run;
};

/// The sweep's points, in a fixed order: per layer, fit points (density-major, then pattern,
/// then seed), then validation points, then trace points.
std::vector<PointSpec> sweep_points(const CalibrationInput& in);

/// Fits and validates from results that match sweep_points(in) one to one.
CalibrationResult fit_calibration(const CalibrationInput& in, const std::vector<PointSpec>& specs,
                                  const std::vector<PointResult>& results);

/// CalibrationInput::producer for a network: per conv layer, the conv whose output reaches
/// its input through BatchNorm, ReLU and ReLU6 ops only, with at least one ReLU/ReLU6 on the
/// way (else -1: the accelerator writes ReLU'd ofmaps, so only then is the producer's D_out
/// this layer's input density).
std::vector<int> input_producers(const core::Network& net);

/// sweep_points + run_points + fit_calibration. With run.simulate = false (`--merge`) every
/// point must already be in the cache.
CalibrationResult calibrate(const CalibrationInput& in, const Simulator& sim,
                            const RunOptions& run);

/// sweep_points + simulate_shard: simulates shard run.shard_index of run.shard_count of the
/// sweep's uncached points into run.cache_dir, fits nothing (`calibrate --shard I/N`).
RunStats calibrate_shard(const CalibrationInput& in, const Simulator& sim, const RunOptions& run);

/// The calib.json document.
nlohmann::json to_json(const CalibrationResult& c);

}  // namespace actsparse::calibration
