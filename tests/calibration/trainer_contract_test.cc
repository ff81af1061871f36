// The contract with the trainer: the calib.json this folder writes is read by the trainer's
// own parser (core/calibration_file.cc, plain C++, linked through core) with the same
// per-layer numbers and predictions.
#include <gtest/gtest.h>

#include "calibration/engine/calibrate.h"
#include "core/error.h"
#include "fake_sim.h"
#include "trainer/calibration.h"

namespace actsparse::calibration {
namespace {

TEST(TrainerContract, TrainerReadsTheDocument) {
    RunOptions o;
    o.jobs = 2;
    o.context = testing::fake_context();
    auto model = testing::small_model();
    model.ratio_offset = {0.0, 0.2, 0.0, -0.1};  // only free lines are exact
    const CalibrationInput in = testing::small_input();
    const CalibrationResult c = calibrate(in, model, o);
    ASSERT_EQ(c.form, "free");
    const trainer::Calibration t = trainer::parse_calibration(to_json(c).dump(), "calib.json");
    EXPECT_EQ(t.network, "fake-net");
    EXPECT_EQ(t.zero_mode, "skip");
    EXPECT_EQ(t.form, "free");
    EXPECT_EQ(t.global.e1, c.e1);
    EXPECT_EQ(t.global.c0, c.c0);
    ASSERT_EQ(t.layers.size(), c.layers.size());
    std::vector<double> density;
    double energy = 0, cycles = 0;
    for (size_t l = 0; l < c.layers.size(); ++l) {
        EXPECT_EQ(t.layers[l].name, c.layers[l].name);
        EXPECT_EQ(t.layers[l].conv, c.layers[l].conv);
        EXPECT_EQ(t.layers[l].map_e, c.layers[l].map_e);
        EXPECT_EQ(t.layers[l].e_l, c.layers[l].e_l);
        EXPECT_EQ(t.layers[l].c0_l, c.layers[l].c0_l);
        PointSpec p;
        p.layer = static_cast<int>(l);
        p.shape = in.layers[l].shape;
        p.density = 0.15 + 0.2 * l;
        density.push_back(p.density);
        energy += model(p).energy_pj;
        cycles += model(p).cycles;
    }
    // The free lines are exact on this data, so the trainer's totals are the simulator's.
    EXPECT_NEAR(t.predicted_energy_pj(density), energy, 1e-9 * energy);
    EXPECT_NEAR(t.predicted_cycles(density), cycles, 1e-9 * cycles);
}

TEST(TrainerContract, WritebackPlanesAreRead) {
    RunOptions o;
    o.jobs = 2;
    o.context = testing::fake_context();
    auto model = testing::small_model();
    model.ratio_offset = {0.0, 0.2, 0.0, -0.1};
    model.eo = 3.0;
    model.co = 0.004;
    CalibrationInput in = testing::small_input();
    in.producer = {-1, 0, 1, 1};
    const CalibrationResult c = calibrate(in, model, o);
    ASSERT_EQ(c.form, "writeback");
    const nlohmann::json doc = to_json(c);
    const trainer::Calibration t = trainer::parse_calibration(doc.dump(), "calib.json");
    ASSERT_EQ(t.layers.size(), c.layers.size());
    for (size_t l = 0; l < c.layers.size(); ++l) {
        const auto& tl = t.layers[l];
        ASSERT_TRUE(tl.energy_plane.valid && tl.cycles_plane.valid);
        EXPECT_EQ(tl.e_l, c.layers[l].e_l);  // the charged weight, for the penalty
        // The plane reproduces the fake simulator at any (D, D_out) it reports.
        PointSpec p;
        p.layer = static_cast<int>(l);
        p.shape = in.layers[l].shape;
        p.density = 0.35;
        const PointResult r = model(p);
        EXPECT_NEAR(tl.energy_plane.at(r.density, r.ofmap_density), r.energy_pj,
                    1e-6 * r.energy_pj);
        EXPECT_NEAR(tl.cycles_plane.at(r.density, r.ofmap_density), r.cycles, 1e-6 * r.cycles);
    }
    // A writeback document without its planes is refused, naming the field.
    nlohmann::json bad = doc;
    bad["layers"][2]["energy"].erase("writeback");
    try {
        trainer::parse_calibration(bad.dump(), "calib.json");
        FAIL() << "accepted a writeback layer without its plane";
    } catch (const core::InputError& e) {
        EXPECT_NE(std::string(e.what()).find("layers[2].energy.writeback"), std::string::npos)
            << e.what();
    }
}

// A number beyond a double (the fuzzer's finding, tests/fuzz/findings/calib) is bad input
// naming the file, not an internal error: json::parse throws out_of_range there, not
// parse_error.
TEST(TrainerContract, NumberBeyondDoubleIsBadInput) {
    const std::string text =
        R"({"schema": "actsparse.calibration/1", "batch": 0.6E80223045775052})";
    try {
        trainer::parse_calibration(text, "calib.json");
        FAIL() << "accepted a number beyond double";
    } catch (const core::InputError& e) {
        EXPECT_EQ(std::string(e.what()).rfind("calib.json", 0), 0u) << e.what();
    }
}

}  // namespace
}  // namespace actsparse::calibration
