// evaluate: run folders with synthetic traces through the real simulator. Each image is
// simulated at batch 1, cycles are total cycles, the predictions come from calib.json, and
// the table compares every run with its network's baseline. Also the simulator's epilogue
// (a trace's folded bias and relu_after decide what is written back).
#include "traces/evaluate.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/trace.h"
#include "tlm/simulate.h"

namespace actsparse::traces {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

class TempDir {
  public:
    TempDir() {
        path_ = fs::temp_directory_path() /
                ("actsparse-eval-" + std::to_string(::getpid()) + "-" + std::to_string(counter_++));
        fs::remove_all(path_);
        fs::create_directories(path_);
    }
    ~TempDir() { fs::remove_all(path_); }
    std::string operator/(const std::string& s) const { return (path_ / s).string(); }

  private:
    fs::path path_;
    static inline int counter_ = 0;
};

const char* kShapes[] = {"N=2,C=4,M=8,R=3,S=3,P=8,Q=8,pad=1", "N=2,C=8,M=8,R=1,S=1,P=8,Q=8"};

core::LayerShape shape(int i) {
    core::LayerShape s = core::LayerShape::parse_spec(kShapes[i]);
    s.finalize();
    return s;
}

// A run folder: summary.json and traces/ at ifmap density `d` (layer 0 is the image);
// `width` > 0 is recorded in summary.json as `train` does.
void make_run(const std::string& dir, const std::string& method, double accuracy, double d,
              double width = 0) {
    fs::create_directories(dir + "/traces");
    json layers = json::array();
    for (int i = 0; i < 2; ++i) {
        core::SynthOptions so;
        so.density = i == 0 ? 1.0 : d;
        so.seed = 7 + i;
        core::Trace t = core::synth_trace(shape(i), so, 8);
        t.network = "tiny";
        t.layer = "conv" + std::to_string(i);
        const std::string file = std::to_string(i) + ".trace";
        core::write_trace(dir + "/traces/" + file, t);
        layers.push_back({{"file", file}, {"input_sparse", i > 0}, {"name", t.layer}});
    }
    std::ofstream(dir + "/traces/manifest.json")
        << json{{"network", "tiny"}, {"images", 2}, {"layers", layers}}.dump();
    json summary = {{"network", "tiny"}, {"method", method}, {"test", {{"accuracy", accuracy}}}};
    if (width > 0) summary["width"] = width;
    std::ofstream(dir + "/summary.json") << summary.dump();
}

// A calib.json of the "tiny" network above; `conv` is each layer's MACs at batch 1, as
// `calibrate` writes it. Tests change fields of it before writing it.
json calib_json(const std::string& mode, const std::string& form = "free") {
    json layers = json::array();
    for (int i = 0; i < 2; ++i) {
        core::LayerShape s = shape(i);
        s.N = 1;
        layers.push_back(
            {{"energy", {{"writeback", {{"intercept", 5e4}, {"slope", 1e5}, {"slope_out", 3e5}}}}},
             {"cycles",
              {{"writeback", {{"intercept", 40.0}, {"slope", 90.0}, {"slope_out", 20.0}}}}},
             {"index", i},
             {"name", "conv" + std::to_string(i)},
             {"conv", static_cast<double>(s.macs())},
             {"map_e", 1.0},
             {"map_c", 1.0},
             {"e_l", 2e5 * (i + 1)},
             {"c_l", 100.0 * (i + 1)},
             {"e0_l", 1e5},
             {"c0_l", 50.0}});
    }
    return {{"schema", "actsparse.calibration/1"},
            {"network", "tiny"},
            {"zero_mode", mode},
            {"form", form},
            {"mapping_density", nullptr},
            {"global", {{"e1", 1.0}, {"e0", 1.0}, {"c1", 1.0}, {"c0", 1.0}}},
            {"layers", layers}};
}

void write_calib(const std::string& path, const std::string& mode,
                 const std::string& form = "free") {
    std::ofstream(path) << calib_json(mode, form).dump();
}

TEST(Evaluate, SimulatesEachImageAndComparesWithTheBaseline) {
    TempDir tmp;
    make_run(tmp / "base", "baseline", 0.9, 0.8);
    make_run(tmp / "hybrid", "proposed-hybrid", 0.895, 0.3);
    write_calib(tmp / "calib.json", "skip");
    EvaluateOptions o;
    o.runs = {tmp / "base", tmp / "hybrid"};
    o.arch = core::load_arch("eyeriss-v1");
    o.zero_modes = {core::ZeroMode::kSkip};
    o.calibrations = {tmp / "calib.json"};
    o.out = tmp / "out";
    o.command = "test";
    o.progress = false;
    const json r = evaluate(o);
    ASSERT_TRUE(fs::exists(o.out + "/results.md"));
    ASSERT_TRUE(fs::exists(o.out + "/results.json"));
    EXPECT_EQ(json::parse(core::read_file(o.out + "/results.json")), r);

    // Find the rows (whatever the layout of groups).
    std::vector<json> rows;
    std::function<void(const json&)> walk = [&](const json& j) {
        if (j.is_object() && j.contains("method") && j.contains("layers")) rows.push_back(j);
        if (j.is_structured())
            for (const auto& v : j) walk(v);
    };
    walk(r);
    ASSERT_EQ(rows.size(), 2u);
    const json& base = rows[0]["method"] == "baseline" ? rows[0] : rows[1];
    const json& hyb = rows[0]["method"] == "baseline" ? rows[1] : rows[0];

    // Every layer: the sum over its images, each simulated alone at batch 1.
    tlm::SimOptions so;
    so.arch = o.arch;
    so.arch.zero_mode = core::ZeroMode::kSkip;
    for (int i = 0; i < 2; ++i) {
        const core::Trace t =
            core::read_trace(tmp / ("hybrid/traces/" + std::to_string(i) + ".trace"));
        double e = 0, pred = 0;
        int64_t c = 0;
        for (int64_t n = 0; n < 2; ++n) {
            core::Trace one = t;
            one.shape.N = 1;
            const int64_t in = t.shape.C * t.shape.H * t.shape.W;
            const int64_t out = t.shape.M * t.shape.P * t.shape.Q;
            one.ifmap.assign(t.ifmap.begin() + n * in, t.ifmap.begin() + (n + 1) * in);
            one.ofmap_acc.assign(t.ofmap_acc.begin() + n * out,
                                 t.ofmap_acc.begin() + (n + 1) * out);
            so.ifmap_compressed = i > 0;
            const tlm::LayerResult lr = tlm::simulate_layer(one, so);
            e += lr.energy.total();
            c += lr.cycles_total;
            pred += 1e5 + 2e5 * (i + 1) * lr.density;
        }
        const json& l = hyb["layers"][i];
        EXPECT_NEAR(l["energy_pj"].get<double>(), e, 1e-6 * e) << i;
        EXPECT_EQ(l["cycles"].get<int64_t>(), c) << i;
        EXPECT_NEAR(l["predicted_energy_pj"].get<double>(), pred, 1e-6 * pred) << i;
        EXPECT_NEAR(l["density"].get<double>(), t.density(), 1e-12);
    }
    // The sparser run is cheaper and faster in skip mode; the table says so.
    double eb = 0, eh = 0;
    for (int i = 0; i < 2; ++i) {
        eb += base["layers"][i]["energy_pj"].get<double>();
        eh += hyb["layers"][i]["energy_pj"].get<double>();
    }
    EXPECT_LT(eh, eb);
    const std::string md = core::read_file(o.out + "/results.md");
    EXPECT_NE(md.find("proposed-hybrid"), std::string::npos);
    EXPECT_NE(md.find("-0.50 pt"), std::string::npos) << md;
    // Rows are labelled by method and, where it says more, the run folder.
    EXPECT_NE(md.find("| proposed-hybrid (hybrid) |"), std::string::npos) << md;
    EXPECT_EQ(hyb["label"], "proposed-hybrid (hybrid)");
}

TEST(Evaluate, WritebackFormPredictsFromInputAndOfmapDensity) {
    TempDir tmp;
    make_run(tmp / "base", "baseline", 0.9, 0.6);
    write_calib(tmp / "calib.json", "gate", "writeback");
    EvaluateOptions o;
    o.runs = {tmp / "base"};
    o.arch = core::load_arch("eyeriss-v1");
    o.zero_modes = {core::ZeroMode::kGate};
    o.calibrations = {tmp / "calib.json"};
    o.out = tmp / "out";
    o.progress = false;
    const json r = evaluate(o);
    const json& row = r["tables"].begin().value()[0];
    tlm::SimOptions so;
    so.arch = o.arch;
    so.arch.zero_mode = core::ZeroMode::kGate;
    for (int i = 0; i < 2; ++i) {
        const core::Trace t =
            core::read_trace(tmp / ("base/traces/" + std::to_string(i) + ".trace"));
        double pe = 0, pc = 0, od = 0;
        for (int64_t n = 0; n < 2; ++n) {
            core::Trace one = t;
            one.shape.N = 1;
            const int64_t in = t.shape.C * t.shape.H * t.shape.W;
            const int64_t out = t.shape.M * t.shape.P * t.shape.Q;
            one.ifmap.assign(t.ifmap.begin() + n * in, t.ifmap.begin() + (n + 1) * in);
            one.ofmap_acc.assign(t.ofmap_acc.begin() + n * out,
                                 t.ofmap_acc.begin() + (n + 1) * out);
            so.ifmap_compressed = i > 0;
            const tlm::LayerResult lr = tlm::simulate_layer(one, so);
            pe += 5e4 + 1e5 * lr.density + 3e5 * lr.ofmap_density;
            pc += 40 + 90 * lr.density + 20 * lr.ofmap_density;
            od += lr.ofmap_density / 2;
        }
        const json& l = row["layers"][i];
        EXPECT_NEAR(l["predicted_energy_pj"].get<double>(), pe, 1e-9 * pe) << i;
        EXPECT_NEAR(l["predicted_cycles"].get<double>(), pc, 1e-9 * pc) << i;
        EXPECT_NEAR(l["ofmap_density"].get<double>(), od, 1e-12) << i;
        EXPECT_GT(od, 0.0);
    }
}

TEST(Evaluate, RefusesRunsWithoutTraces) {
    TempDir tmp;
    make_run(tmp / "base", "baseline", 0.9, 0.8);
    fs::remove(tmp / "base/traces/manifest.json");
    EvaluateOptions o;
    o.runs = {tmp / "base"};
    o.arch = core::load_arch("eyeriss-v1");
    o.out = tmp / "out";
    o.progress = false;
    EXPECT_THROW(evaluate(o), core::InputError);
    EXPECT_FALSE(fs::exists(o.out + "/results.json"));
}

TEST(SimulateEpilogue, BiasAndReluAfterDecideTheWrittenOfmap) {
    core::SynthOptions so;
    so.density = 0.5;
    core::Trace t = core::synth_trace(shape(1), so, 8);
    tlm::SimOptions opts;
    opts.arch = core::load_arch("eyeriss-v1");
    opts.arch.zero_mode = core::ZeroMode::kSkip;
    // Expected densities from the accumulators: the next layer's quantiser (round to
    // nearest, ties to even, at f fraction bits) of ReLU(acc * 2^-2f + b).
    const auto density = [&](double bias, bool relu) {
        int64_t nz = 0;
        for (int64_t v : t.ofmap_acc) {
            double x =
                std::ldexp(static_cast<double>(v), -2 * static_cast<int>(t.frac_bits)) + bias;
            if (relu) x = std::max(x, 0.0);
            x = std::clamp(std::nearbyint(std::ldexp(x, static_cast<int>(t.frac_bits))), -32768.0,
                           32767.0);
            nz += x != 0;
        }
        return static_cast<double>(nz) / static_cast<double>(t.ofmap_acc.size());
    };
    const double plain = tlm::simulate_layer(t, opts).ofmap_density;
    EXPECT_DOUBLE_EQ(plain, density(0, true));
    t.extra["bias"] = json(std::vector<double>(8, -0.5)).dump();
    const tlm::LayerResult biased = tlm::simulate_layer(t, opts);
    EXPECT_DOUBLE_EQ(biased.ofmap_density, density(-0.5, true));
    EXPECT_LT(biased.ofmap_density, plain);  // a negative bias makes more zeros
    t.extra["relu_after"] = "false";
    EXPECT_DOUBLE_EQ(tlm::simulate_layer(t, opts).ofmap_density, density(-0.5, false));
    opts.trace_epilogue = false;
    EXPECT_DOUBLE_EQ(tlm::simulate_layer(t, opts).ofmap_density, plain);
    opts.trace_epilogue = true;
    t.extra["bias"] = "[1, 2]";
    EXPECT_THROW(tlm::simulate_layer(t, opts), core::InputError);
    t.extra["bias"] = "not json";
    EXPECT_THROW(tlm::simulate_layer(t, opts), core::InputError);
}

// What evaluate makes of one calibration (a changed calib_json("skip")) on a width-0.25
// baseline: the InputError's text ("" when accepted), and with --allow-calibration-mismatch
// the warnings and whether the prediction was made.
struct Outcome {
    std::string error, allowed_error;
    json warnings;
    bool predicted = false;
    bool output_on_error = false;
};

Outcome try_calibration(const json& calib, double mapping_density = -1,
                        std::vector<core::ZeroMode> modes = {core::ZeroMode::kSkip}) {
    TempDir tmp;
    make_run(tmp / "base", "baseline", 0.9, 0.6, 0.25);
    std::ofstream(tmp / "calib.json") << calib.dump();
    EvaluateOptions o;
    o.runs = {tmp / "base"};
    o.arch = core::load_arch("eyeriss-v1");
    o.zero_modes = modes;
    o.calibrations = {tmp / "calib.json"};
    o.mapping_density = mapping_density;
    o.out = tmp / "out";
    o.progress = false;
    Outcome out;
    try {
        evaluate(o);
    } catch (const core::InputError& e) {
        out.error = e.what();
        out.output_on_error = fs::exists(o.out);
    }
    o.allow_calibration_mismatch = true;
    try {
        const json r = evaluate(o);
        out.warnings = r["warnings"];
        for (const auto& [key, rows] : r["tables"].items())
            for (const auto& row : rows)
                out.predicted = out.predicted || row["predicted_energy_pj"].get<double>() >= 0;
    } catch (const core::InputError& e) {
        out.allowed_error = e.what();
    }
    return out;
}

TEST(EvaluateCalibration, AFittingOneIsUsedWithoutWarnings) {
    json c = calib_json("skip");
    c["width_mult"] = 0.25;
    const Outcome r = try_calibration(c);
    EXPECT_EQ(r.error, "");
    EXPECT_EQ(r.warnings, json::array());
    EXPECT_TRUE(r.predicted);
    // The recorded mapping density agrees with --mapping-density.
    c["mapping_density"] = 0.5;
    const Outcome fixed = try_calibration(c, 0.5);
    EXPECT_EQ(fixed.error, "");
    EXPECT_TRUE(fixed.predicted);
}

TEST(EvaluateCalibration, AnotherNetworkIsAnErrorOrWithTheFlagUnused) {
    json c = calib_json("skip");
    c["network"] = "squeezenet-cifar";
    const Outcome r = try_calibration(c);
    EXPECT_NE(r.error.find("calib.json.network: is \"squeezenet-cifar\" but the runs are tiny"),
              std::string::npos)
        << r.error;
    EXPECT_NE(r.error.find("--allow-calibration-mismatch"), std::string::npos) << r.error;
    EXPECT_FALSE(r.output_on_error);
    EXPECT_EQ(r.allowed_error, "");
    ASSERT_EQ(r.warnings.size(), 1u) << r.warnings;
    EXPECT_NE(r.warnings[0].get<std::string>().find("; not used"), std::string::npos);
    EXPECT_FALSE(r.predicted);
}

TEST(EvaluateCalibration, AnotherWidthIsAnErrorOrWithTheFlagAWarning) {
    json c = calib_json("skip");
    c["width_mult"] = 1.0;
    const Outcome r = try_calibration(c);
    EXPECT_NE(r.error.find("calib.json.width_mult: was made at width 1.0, run "), std::string::npos)
        << r.error;
    EXPECT_NE(r.error.find("is width 0.25"), std::string::npos) << r.error;
    EXPECT_FALSE(r.output_on_error);
    ASSERT_EQ(r.warnings.size(), 1u) << r.warnings;
    EXPECT_NE(r.warnings[0].get<std::string>().find("width_mult"), std::string::npos);
    EXPECT_TRUE(r.predicted);  // used as given
}

TEST(EvaluateCalibration, OtherLayerSizesWithoutAWidthAreAnError) {
    // An older calib.json without width_mult: the layers' MACs tell the width apart.
    json c = calib_json("skip");
    for (auto& l : c["layers"]) l["conv"] = 16 * l["conv"].get<double>();
    const Outcome r = try_calibration(c);
    EXPECT_NE(r.error.find("calib.json.layers[0].conv: is 294912 MACs but"), std::string::npos)
        << r.error;
    EXPECT_NE(r.error.find("has 18432 at batch 1 (2 of 2 layers differ"), std::string::npos)
        << r.error;
    EXPECT_FALSE(r.output_on_error);
    EXPECT_EQ(r.warnings.size(), 1u) << r.warnings;
    EXPECT_TRUE(r.predicted);
}

TEST(EvaluateCalibration, OtherLayerNamesAreAnErrorOrWithTheFlagUnused) {
    json c = calib_json("skip");
    c["layers"][1]["name"] = "fire2.squeeze";
    const Outcome r = try_calibration(c);
    EXPECT_NE(r.error.find("calib.json.layers[1].name: is \"fire2.squeeze\""), std::string::npos)
        << r.error;
    EXPECT_FALSE(r.predicted);
    EXPECT_EQ(r.warnings.size(), 1u);
}

TEST(EvaluateCalibration, AnotherMappingDensityIsAnError) {
    json c = calib_json("skip");  // "mapping_density": null, planned per point
    Outcome r = try_calibration(c, 0.5);
    EXPECT_NE(r.error.find("calib.json.mapping_density: is null (planned for each point's "
                           "density) but --mapping-density is 0.5"),
              std::string::npos)
        << r.error;
    EXPECT_TRUE(r.predicted);
    c["mapping_density"] = 0.5;
    r = try_calibration(c);
    EXPECT_NE(r.error.find("calib.json.mapping_density: is 0.5 but --mapping-density is "
                           "per-image"),
              std::string::npos)
        << r.error;
    r = try_calibration(c, 0.4);
    EXPECT_NE(r.error.find("is 0.5 but --mapping-density is 0.4"), std::string::npos) << r.error;
    EXPECT_FALSE(r.output_on_error);
    c["mapping_density"] = "half";
    r = try_calibration(c);
    EXPECT_NE(r.error.find("calib.json.mapping_density: expected null or a number"),
              std::string::npos)
        << r.error;
    EXPECT_NE(r.allowed_error, "");  // a malformed file is not a mismatch
}

TEST(EvaluateCalibration, AZeroModeNotEvaluatedIsAnError) {
    const Outcome r = try_calibration(calib_json("gate"));
    EXPECT_NE(r.error.find("calib.json.zero_mode: is \"gate\" but --zero-mode evaluates skip"),
              std::string::npos)
        << r.error;
    EXPECT_FALSE(r.predicted);
    EXPECT_EQ(r.warnings.size(), 1u);
}

TEST(Evaluate, RefusesZeroModeNone) {
    TempDir tmp;
    make_run(tmp / "base", "baseline", 0.9, 0.8);
    EvaluateOptions o;
    o.runs = {tmp / "base"};
    o.arch = core::load_arch("eyeriss-v1");
    o.zero_modes = {core::ZeroMode::kNone};
    o.out = tmp / "out";
    o.progress = false;
    try {
        evaluate(o);
        ADD_FAILURE() << "zero mode none accepted";
    } catch (const core::InputError& e) {
        EXPECT_STREQ(e.what(), "--zero-mode: expected gate, skip or both, got \"none\"");
    }
    EXPECT_FALSE(fs::exists(o.out));
}

TEST(Evaluate, AnUnfinishedRunSaysHowToContinueIt) {
    TempDir tmp;
    make_run(tmp / "base", "baseline", 0.9, 0.8);
    const std::string run = tmp / "run";
    fs::create_directories(run);
    std::ofstream(run + "/config.json") << "{}";
    std::ofstream(run + "/checkpoint.pt") << "x";
    EvaluateOptions o;
    o.runs = {tmp / "base", run};
    o.arch = core::load_arch("eyeriss-v1");
    o.out = tmp / "out";
    o.progress = false;
    try {
        check_evaluate_inputs(o);
        ADD_FAILURE() << "unfinished run accepted";
    } catch (const core::InputError& e) {
        EXPECT_EQ(std::string(e.what()),
                  run +
                      ": unfinished training run (no summary.json; its progress is in "
                      "checkpoint.pt): continue it with `actsparse train --out " +
                      run + " --resume`, then evaluate it");
    }
    EXPECT_THROW(evaluate(o), core::InputError);
    EXPECT_FALSE(fs::exists(o.out));
    fs::remove_all(run);
    fs::create_directories(run);
    try {
        check_evaluate_inputs(o);
        ADD_FAILURE() << "empty folder accepted";
    } catch (const core::InputError& e) {
        EXPECT_NE(std::string(e.what()).find("summary.json: missing: not a training run folder"),
                  std::string::npos)
            << e.what();
    }
}

TEST(Evaluate, FigureScriptNamesItsFilesRelativeToItsFolder) {
    TempDir tmp;
    make_run(tmp / "base", "baseline", 0.9, 0.8);
    make_run(tmp / "hybrid_x0.3", "proposed-hybrid", 0.88, 0.3);
    EvaluateOptions o;
    o.runs = {tmp / "base", tmp / "hybrid_x0.3"};
    o.arch = core::load_arch("eyeriss-v1");
    o.zero_modes = {core::ZeroMode::kSkip};
    o.out = tmp / "out";
    o.progress = false;
    evaluate(o);
    const std::string gp = core::read_file(o.out + "/figures/tiny-skip.gp");
    EXPECT_TRUE(fs::exists(o.out + "/figures/tiny-skip.dat"));
    EXPECT_EQ(gp.find(tmp / ""), std::string::npos) << gp;  // no absolute path
    EXPECT_EQ(gp.find(o.out), std::string::npos) << gp;
    for (const char* want :
         {"set output 'tiny-skip-layers.png'", "set output 'tiny-skip-density-vs-energy.png'",
          "set output 'tiny-skip-accuracy-vs-energy.png'", "'tiny-skip.dat' using 1:2",
          "set title 'tiny (skip): top-1 accuracy against energy'",
          "set title 'tiny (skip): mean ifmap density against energy'", "set offsets graph",
          "title 'proposed-hybrid (hybrid_x0.3)'", "noenhanced"})
        EXPECT_NE(gp.find(want), std::string::npos) << want << "\n" << gp;
    const std::string md = core::read_file(o.out + "/results.md");
    if (std::system("gnuplot --version >/dev/null 2>&1") == 0) {
        for (const char* png : {"tiny-skip-layers.png", "tiny-skip-density-vs-energy.png",
                                "tiny-skip-accuracy-vs-energy.png"}) {
            EXPECT_TRUE(fs::exists(o.out + "/figures/" + png)) << png;
            EXPECT_NE(md.find(std::string("(figures/") + png + ")"), std::string::npos) << md;
        }
    } else {
        EXPECT_NE(md.find("figure data in figures/tiny-skip.dat"), std::string::npos) << md;
    }
}

}  // namespace
}  // namespace actsparse::traces

namespace actsparse::traces {
namespace {

/// A run of `method` whose one layer's energy is `energy` pJ at mean density `density`.
RunEval claim_run(const std::string& method, double accuracy, double energy, double density) {
    RunEval r;
    r.run = "runs/" + method;
    r.method = method;
    r.accuracy = accuracy;
    r.mean_density = density;
    LayerEval l;
    l.energy_pj = energy;
    r.layers.push_back(l);
    return r;
}

bool starts_with(const std::string& s, const std::string& prefix) {
    return s.rfind(prefix, 0) == 0;
}

TEST(ClaimVerdict, ShownOnlyAtMatchedAccuracyWithAClearGap) {
    const RunEval base = claim_run("baseline", 0.90, 100.0, 0.50);
    nlohmann::json v;
    // 95 % against 92 %, both within 1 pt: a 3-point gap is shown.
    RunEval st = claim_run("sparsity-targeting", 0.895, 95.0, 0.45);
    RunEval hy = claim_run("proposed-hybrid", 0.891, 92.0, 0.44);
    std::string s = claim_verdict({&base, &st, &hy}, &base, &v);
    EXPECT_TRUE(starts_with(s, "**shown**")) << s;
    EXPECT_NE(s.find("92.0 % energy, -0.90 pt top-1"), std::string::npos) << s;
    EXPECT_NEAR(v["gap_pts"].get<double>(), 3.0, 1e-9);
    EXPECT_TRUE(v["shown"].get<bool>());

    // A 1.5-point gap is not clear.
    hy.layers[0].energy_pj = 93.5;
    s = claim_verdict({&base, &st, &hy}, &base, &v);
    EXPECT_TRUE(starts_with(s, "**not shown**")) << s;
    EXPECT_NE(s.find("only 1.5 points below"), std::string::npos) << s;
    EXPECT_FALSE(v["shown"].get<bool>());

    // The hybrid 1.1 pt below the baseline is not at matched accuracy, whatever its energy.
    hy.layers[0].energy_pj = 80.0;
    hy.accuracy = 0.889;
    s = claim_verdict({&base, &st, &hy}, &base, &v);
    EXPECT_TRUE(starts_with(
        s,
        "**not shown**: the methods are not at matched accuracy: every proposed-hybrid run "
        "is more than 1 pt"))
        << s;
    EXPECT_NE(s.find("-1.10 pt top-1"), std::string::npos) << s;
    EXPECT_EQ(s.find("every sparsity-targeting run"), std::string::npos) << s;
    // Both methods outside the margin: both are named.
    st.accuracy = 0.88;
    s = claim_verdict({&base, &st, &hy}, &base, &v);
    EXPECT_NE(s.find("every sparsity-targeting run"), std::string::npos) << s;
    EXPECT_NE(s.find("every proposed-hybrid run"), std::string::npos) << s;
    st.accuracy = 0.895;

    // With two hybrid runs, the lowest-energy one within the margin stands for the method.
    RunEval hy2 = claim_run("proposed-hybrid", 0.899, 91.0, 0.43);
    s = claim_verdict({&base, &st, &hy, &hy2}, &base, &v);
    EXPECT_TRUE(starts_with(s, "**shown**")) << s;
    EXPECT_EQ(v["proposed_hybrid"]["run"], "runs/proposed-hybrid");
    EXPECT_NEAR(v["gap_pts"].get<double>(), 4.0, 1e-9);
}

TEST(ClaimVerdict, SaysWhyTheGapIsSmall) {
    const RunEval base = claim_run("baseline", 0.90, 100.0, 0.50);
    nlohmann::json v;
    // Densities that barely moved.
    RunEval st = claim_run("sparsity-targeting", 0.90, 99.5, 0.49);
    RunEval hy = claim_run("proposed-hybrid", 0.90, 99.0, 0.48);
    std::string s = claim_verdict({&base, &st, &hy}, &base, &v);
    EXPECT_NE(s.find("saved less than 2 % of the baseline's energy at all"), std::string::npos)
        << s;
    // A 2.5-point gap where neither saves anything is not shown either.
    st = claim_run("sparsity-targeting", 0.90, 103.5, 0.49);
    hy = claim_run("proposed-hybrid", 0.90, 101.0, 0.48);
    s = claim_verdict({&base, &st, &hy}, &base, &v);
    EXPECT_TRUE(starts_with(s, "**not shown**")) << s;
    EXPECT_FALSE(v["shown"].get<bool>());
    EXPECT_NE(s.find("saved less than 2 %"), std::string::npos) << s;
    // Zeros placed no better: 1 % energy per density point for both.
    st = claim_run("sparsity-targeting", 0.90, 90.0, 0.40);
    hy = claim_run("proposed-hybrid", 0.90, 89.0, 0.39);
    s = claim_verdict({&base, &st, &hy}, &base, &v);
    EXPECT_NE(s.find("did not put the zeros in costlier layers"), std::string::npos) << s;
    // Placed better (2 % per point against 1 %), but too little density removed.
    hy = claim_run("proposed-hybrid", 0.90, 88.5, 0.4425);
    s = claim_verdict({&base, &st, &hy}, &base, &v);
    EXPECT_NE(s.find("put its zeros in costlier layers (2.00 %"), std::string::npos) << s;
    // Higher energy than sparsity-targeting is said so.
    hy = claim_run("proposed-hybrid", 0.90, 91.0, 0.40);
    s = claim_verdict({&base, &st, &hy}, &base, &v);
    EXPECT_NE(s.find("1.0 points above"), std::string::npos) << s;
    // Nothing to compare without the methods or the baseline.
    EXPECT_NE(claim_verdict({&base, &st}, &base, &v).find("no proposed-hybrid run"),
              std::string::npos);
    EXPECT_NE(claim_verdict({&st, &hy}, nullptr, &v).find("no baseline"), std::string::npos);
}

}  // namespace
}  // namespace actsparse::traces
