// --validate-traces: the manifest is checked, and trace points are predicted and compared.
#include <gtest/gtest.h>

#include "calibration/engine/calibrate.h"
#include "core/error.h"
#include "fake_sim.h"
#include "test_dir.h"

namespace actsparse::calibration {
namespace {

using nlohmann::json;

void write_traces(const testing::TempDir& dir, const std::vector<core::ConvLayer>& layers,
                  const json& manifest) {
    for (const auto& e : manifest.value("layers", json::array())) {
        if (!e.is_object() || !e.contains("name") || !e.contains("file")) continue;
        const auto it = std::find_if(layers.begin(), layers.end(),
                                     [&](const auto& l) { return l.name == e["name"]; });
        if (it == layers.end()) continue;
        core::SynthOptions o;
        o.density = 0.37;
        core::write_trace(dir / e["file"].get<std::string>(), core::synth_trace(it->shape, o));
    }
    core::write_file_atomic(dir / "manifest.json", manifest.dump());
}

TEST(TraceManifest, TracesAreValidatedLikeSyntheticPoints) {
    testing::TempDir dir;
    auto in = testing::small_input();
    write_traces(dir, in.layers,
                 {{"network", "fake-net"},
                  {"layers",
                   {{{"name", "conv1"}, {"file", "a.safetensors"}},
                    {{"name", "conv3"}, {"file", "b.safetensors"}}}}});
    in.traces = read_trace_manifest(dir.str(), in.network, in.layers);
    ASSERT_EQ(in.traces.size(), 2u);
    EXPECT_EQ(in.traces[0].layer, 1);
    EXPECT_EQ(in.traces[1].layer, 3);
    EXPECT_NEAR(in.traces[0].density, 0.37, 0.01);
    EXPECT_EQ(in.traces[0].digest.size(), 16u);

    // The fake simulator reads the density from the spec; a trace point carries the measured one.
    RunOptions o;
    o.jobs = 2;
    o.context = testing::fake_context();
    const auto c = calibrate(in, testing::small_model(), o);
    const json& t = c.validation["sets"]["traces"]["free"]["energy"];
    EXPECT_EQ(t["layers"].size(), 2u);
    EXPECT_EQ(t["scenarios"], 1);
    EXPECT_LT(t["network_mae_pct"].get<double>(), 1e-6);
    size_t trace_points = 0;
    for (const auto& l : c.layers)
        for (const auto& p : l.validation) trace_points += p.spec.role == PointRole::kTrace;
    EXPECT_EQ(trace_points, 2u);
}

TEST(TraceManifest, BadManifestsNameTheField) {
    testing::TempDir dir;
    const auto layers = testing::small_layers();
    write_traces(
        dir, layers,
        json::parse(R"({"network": "fake-net", "layers": [{"name": "conv1", "file": "a"}]})"));
    const auto rejects = [&](const json& manifest, const std::string& needle) {
        core::write_file_atomic(dir / "manifest.json", manifest.dump());
        try {
            read_trace_manifest(dir.str(), "fake-net", layers);
            ADD_FAILURE() << "accepted " << manifest.dump();
        } catch (const core::InputError& e) {
            EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
        }
    };
    rejects(json::parse(R"({"network": "other-net", "layers": [{"name": "conv1", "file": "a"}]})"),
            "manifest.json: network");
    rejects(json::parse(R"({"network": "fake-net", "layers": []})"), "manifest.json: layers");
    rejects(json::parse(R"({"network": "fake-net", "layers": [{"name": "nope", "file": "a"}]})"),
            "layers[0].name");
    rejects(json::parse(R"({"network": "fake-net", "layers": [{"name": "conv1"}]})"), "layers[0]");
    rejects(
        json::parse(R"({"network": "fake-net", "layers": [{"name": "conv1", "file": "gone"}]})"),
        "gone");
    // A trace of another shape (the wrong batch) cannot be compared.
    write_traces(
        dir, layers,
        json::parse(R"({"network": "fake-net", "layers": [{"name": "conv2", "file": "c"}]})"));
    core::SynthOptions o;
    core::LayerShape other = layers[2].shape;
    other.N = 2;
    core::write_trace(dir / "c", core::synth_trace(other, o));
    EXPECT_THROW(read_trace_manifest(dir.str(), "fake-net", layers), core::InputError);
}

}  // namespace
}  // namespace actsparse::calibration
