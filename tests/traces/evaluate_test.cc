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

// A run folder: summary.json and traces/ at ifmap density `d` (layer 0 is the image).
void make_run(const std::string& dir, const std::string& method, double accuracy, double d) {
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
    std::ofstream(dir + "/summary.json")
        << json{{"network", "tiny"}, {"method", method}, {"test", {{"accuracy", accuracy}}}}.dump();
}

void write_calib(const std::string& path, const std::string& mode,
                 const std::string& form = "free") {
    json layers = json::array();
    for (int i = 0; i < 2; ++i)
        layers.push_back(
            {{"energy", {{"writeback", {{"intercept", 5e4}, {"slope", 1e5}, {"slope_out", 3e5}}}}},
             {"cycles",
              {{"writeback", {{"intercept", 40.0}, {"slope", 90.0}, {"slope_out", 20.0}}}}},
             {"index", i},
             {"name", "conv" + std::to_string(i)},
             {"conv", 1000.0},
             {"map_e", 1.0},
             {"map_c", 1.0},
             {"e_l", 2e5 * (i + 1)},
             {"c_l", 100.0 * (i + 1)},
             {"e0_l", 1e5},
             {"c0_l", 50.0}});
    std::ofstream(path) << json{
        {"schema", "actsparse.calibration/1"},
        {"network", "tiny"},
        {"zero_mode", mode},
        {"form", form},
        {"global", {{"e1", 1.0}, {"e0", 1.0}, {"c1", 1.0}, {"c0", 1.0}}},
        {"layers", layers}}.dump();
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

}  // namespace
}  // namespace actsparse::traces
