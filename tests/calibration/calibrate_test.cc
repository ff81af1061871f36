// A whole calibration against the fake simulator: known coefficients come back, the
// calib.json document has the fields the trainer reads, the form is chosen by validation
// error, and a resumed run writes the same document.
#include "calibration/engine/calibrate.h"

#include <gtest/gtest.h>

#include <cmath>

#include "core/error.h"
#include "fake_sim.h"
#include "test_dir.h"

namespace actsparse::calibration {
namespace {

using nlohmann::json;

RunOptions options(int jobs, const std::string& cache = "") {
    RunOptions o;
    o.jobs = jobs;
    o.cache_dir = cache;
    o.context = testing::fake_context();
    return o;
}

double geomean(const std::vector<double>& v) {
    double s = 0;
    for (double x : v) s += std::log(x);
    return std::exp(s / v.size());
}

TEST(Calibrate, RecoversTheFakeSimulatorsCoefficients) {
    const auto model = testing::small_model();
    const auto c = calibrate(testing::small_input(), model, options(2));
    const double ge = geomean(model.map_e), gc = geomean(model.map_c);
    EXPECT_NEAR(c.e1, model.e1 * ge, 1e-9 * model.e1 * ge);
    EXPECT_NEAR(c.e0, model.e0 * ge, 1e-8 * model.e0 * ge);
    EXPECT_NEAR(c.c1, model.c1 * gc, 1e-9 * model.c1 * gc);
    EXPECT_NEAR(c.c0, model.c0 * gc, 1e-8 * model.c0 * gc);
    ASSERT_EQ(c.layers.size(), 4u);
    for (size_t l = 0; l < c.layers.size(); ++l) {
        const auto& lc = c.layers[l];
        SCOPED_TRACE(lc.name);
        EXPECT_NEAR(lc.map_e, model.map_e[l] / ge, 1e-9);
        EXPECT_NEAR(lc.map_c, model.map_c[l] / gc, 1e-9);
        // Paper eq. 6 and the intercepts.
        EXPECT_NEAR(lc.e_l, lc.conv * lc.map_e * c.e1, 1e-9 * lc.e_l);
        EXPECT_NEAR(lc.c_l, lc.conv * lc.map_c * c.c1, 1e-9 * lc.c_l);
        EXPECT_NEAR(lc.e0_l, lc.conv * model.map_e[l] * model.e0, 1e-8 * lc.e0_l);
        EXPECT_NEAR(lc.c0_l, lc.conv * model.map_c[l] * model.c0, 1e-8 * lc.c0_l);
        EXPECT_NEAR(lc.energy.free.slope, lc.e_l, 1e-9 * lc.e_l);
        EXPECT_NEAR(lc.energy.free.r2, 1.0, 1e-12);
        EXPECT_NEAR(lc.energy.factorised.r2, 1.0, 1e-12);
        EXPECT_EQ(lc.mapping_changes, l == 2);
        EXPECT_EQ(lc.points.size(), 9u * 3 * 2);
        EXPECT_EQ(lc.validation.size(), 4u * 3);
    }
    EXPECT_EQ(c.layers[2].mappings_used.size(), 2u);
    EXPECT_EQ(c.layers[2].mapping["glb"]["m"], 2) << "the mapping at density 1";
    for (const auto& [set, v] : c.validation["sets"].items())
        for (const char* form : {"free", "factorised"})
            for (const char* q : {"energy", "cycles"}) {
                EXPECT_LT(v[form][q]["layer_mae_pct_max"].get<double>(), 1e-6) << set << form << q;
                EXPECT_LT(v[form][q]["network_mae_pct"].get<double>(), 1e-6) << set << form << q;
                EXPECT_TRUE(v[form][q]["meets_target"].get<bool>());
            }
    EXPECT_TRUE(c.validation["sets"].contains("heldout"));
    EXPECT_TRUE(c.validation["sets"].contains("structured"));
}

TEST(Calibrate, DocumentHasTheFieldsTheTrainerReads) {
    const auto c = calibrate(testing::small_input(), testing::small_model(), options(2));
    const json j = to_json(c);
    EXPECT_EQ(j["schema"], "actsparse.calibration/1");
    EXPECT_EQ(j["network"], "fake-net");
    EXPECT_EQ(j["zero_mode"], "skip");
    EXPECT_EQ(j["arch_hash"], "0123456789abcdef");
    EXPECT_TRUE(j["form"] == "free" || j["form"] == "factorised");
    for (const char* k : {"e1", "e0", "c1", "c0"}) EXPECT_TRUE(j["global"][k].is_number()) << k;
    ASSERT_EQ(j["layers"].size(), 4u);
    for (size_t i = 0; i < j["layers"].size(); ++i) {
        const json& l = j["layers"][i];
        EXPECT_EQ(l["index"], i);
        EXPECT_EQ(l["name"], "conv" + std::to_string(i));
        for (const char* k : {"conv", "map_e", "map_c", "e_l", "c_l", "e0_l", "c0_l"}) {
            ASSERT_TRUE(l[k].is_number()) << k;
            EXPECT_TRUE(std::isfinite(l[k].get<double>())) << k;
        }
        for (const char* k : {"conv", "map_e", "map_c", "e_l", "c_l"})
            EXPECT_GE(l[k].get<double>(), 0.0) << k;
        for (const char* q : {"energy", "cycles"})
            for (const char* f : {"free", "factorised"})
                for (const char* k : {"slope", "intercept", "r2", "max_residual"})
                    EXPECT_TRUE(l[q][f][k].is_number()) << q << f << k;
        EXPECT_TRUE(l["mapping"].is_object());
        EXPECT_TRUE(l["mapping_changes"].is_boolean());
        ASSERT_EQ(l["points"].size(), 54u);
        for (const char* k : {"density", "seed", "pattern", "energy_pj", "cycles", "mapping"})
            EXPECT_TRUE(l["points"][0].contains(k)) << k;
        // Predicted energy at D is e0_l + e_l * D.
        const json& p = l["points"][5];
        const double pred =
            l["e0_l"].get<double>() + l["e_l"].get<double>() * p["density"].get<double>();
        EXPECT_NEAR(pred, p["energy_pj"].get<double>(), 1e-9 * pred);
    }
    EXPECT_TRUE(j["validation"]["sets"]["heldout"]["free"]["energy"]["layers"].is_array());
}

TEST(Calibrate, AutoPicksTheFormWithTheSmallerValidationError) {
    auto model = testing::small_model();
    auto in = testing::small_input();
    // Exactly factorised data: a tie, the paper's form is kept.
    EXPECT_EQ(calibrate(in, model, options(2)).form, "factorised");
    // Layers whose intercept/slope ratios differ: only free lines describe them.
    model.ratio_offset = {0.0, 0.8, -0.5, 0.3};
    const auto c = calibrate(in, model, options(2));
    EXPECT_EQ(c.form, "free");
    EXPECT_LT(c.form_score_free, 1e-9);
    EXPECT_GT(c.form_score_factorised, 1.0);
    for (const auto& l : c.layers) {
        EXPECT_EQ(l.e_l, l.energy.free.slope);
        EXPECT_NEAR(l.e_l, l.conv * l.map_e * c.e1, 1e-9 * l.e_l) << "eq. 6 holds in free form";
    }
    in.form = FormChoice::kFactorised;
    const auto forced = calibrate(in, model, options(2));
    EXPECT_EQ(forced.form, "factorised");
    EXPECT_EQ(to_json(forced)["form_selection"]["requested"], "factorised");
}

TEST(Calibrate, WritebackFormRecoversTheOfmapTermAndChargesItToConsumers) {
    auto model = testing::small_model();
    model.ratio_offset = {0.0, 0.8, -0.5, 0.3};
    model.eo = 3.0;
    model.co = 0.004;
    auto in = testing::small_input();
    in.producer = {-1, 0, 1, 1};  // layer 1 reads layer 0's ofmap; 2 and 3 both read layer 1's
    const auto c = calibrate(in, model, options(2));
    EXPECT_EQ(c.form, "writeback");
    EXPECT_LT(c.form_score_writeback, 1e-6);
    EXPECT_GT(c.form_score_free, 0.1);
    const json j = to_json(c);
    for (const auto& [set, v] : c.validation["sets"].items())
        for (const char* q : {"energy", "cycles"})
            EXPECT_LT(v["writeback"][q]["layer_mae_pct_max"].get<double>(), 1e-6) << set << q;
    ASSERT_EQ(c.layers.size(), 4u);
    EXPECT_EQ(c.layers[1].consumers, 2);
    EXPECT_EQ(c.layers[3].consumers, 0);
    for (const auto& l : c.layers) {
        SCOPED_TRACE(l.name);
        const size_t i = static_cast<size_t>(l.index);
        const double off = model.ratio_offset[i];
        const double s_in = l.conv * model.map_e[i] * model.e1;
        const double s_out = l.conv * model.eo;
        EXPECT_NEAR(l.energy.writeback.slope, s_in, 1e-6 * s_in);
        EXPECT_NEAR(l.energy.writeback.slope_out, s_out, 1e-6 * s_out);
        EXPECT_NEAR(l.energy.writeback.intercept, l.conv * model.map_e[i] * model.e0 * (1 + off),
                    1e-6 * s_in);
        EXPECT_EQ(l.eo_l, l.energy.writeback.slope_out);
        // e_l: its own input slope plus its share of the producer's ofmap write.
        double expect = s_in;
        if (l.producer >= 0) {
            const auto& p = c.layers[static_cast<size_t>(l.producer)];
            expect += p.conv * model.eo / p.consumers;
        }
        EXPECT_NEAR(l.e_l, expect, 1e-6 * expect);
        EXPECT_EQ(j["layers"][i]["producer"], l.producer);
        // An ofmap nobody reads stays in the intercept at the mean fit D_out.
        const double e0 =
            l.energy.writeback.intercept + (l.consumers == 0 ? s_out * l.ofmap_density_mean : 0.0);
        EXPECT_NEAR(l.e0_l, e0, 1e-6 * e0);
        EXPECT_GT(l.ofmap_density_mean, 0.0);
    }
    // The network's predicted energy from e0_l + e_l * D_l equals the write-back planes' sum
    // when every consumer's input density is its producer's ofmap density.
    const std::vector<double> d = {1.0, 0.4, 0.3, 0.3};  // D_in; layer 1's ofmap feeds 2 and 3
    const std::vector<double> dout = {0.4, 0.3, 0.7, 0.6};
    double planes = 0, weights = 0;
    for (size_t i = 0; i < 4; ++i) {
        const auto& l = c.layers[i];
        planes +=
            l.energy.writeback.predict(d[i], i == 3 || i == 2 ? l.ofmap_density_mean : dout[i]);
        weights += l.e0_l + l.e_l * d[i];
    }
    EXPECT_NEAR(weights, planes, 1e-9 * planes);
}

TEST(Calibrate, ProducersFollowReluChainsOnly) {
    const auto mb = core::builtin_network("mobilenetv2-fmnist");
    const auto pm = input_producers(mb);
    const auto lm = mb.conv_layers(1);
    ASSERT_EQ(pm.size(), lm.size());
    EXPECT_EQ(lm[1].name, "features.1.dw");
    EXPECT_EQ(pm[0], -1);  // the image
    EXPECT_EQ(pm[1], 0);   // features.0 -> BN -> ReLU6
    EXPECT_EQ(pm[2], 1);   // dw -> BN -> ReLU6 -> project
    EXPECT_EQ(lm[3].name, "features.2.expand");
    EXPECT_EQ(pm[3], -1);  // the linear bottleneck: BN output, not ReLU'd
    const auto sq = core::builtin_network("squeezenet-fmnist");
    const auto ps = input_producers(sq);
    const auto ls = sq.conv_layers(1);
    EXPECT_EQ(ls[2].name, "fire2.expand_1x1");
    EXPECT_EQ(ps[2], 1);  // both expands read the squeeze's ReLU'd ofmap
    EXPECT_EQ(ps[3], 1);
    EXPECT_EQ(ps[4], -1);  // fire3.squeeze reads a concat
}

TEST(Calibrate, ResumedRunWritesTheSameDocument) {
    testing::TempDir dir;
    const auto model = testing::small_model();
    const auto in = testing::small_input();
    const Simulator dies_midway = [&](const PointSpec& p) {
        static int done = 0;
        if (++done > 20) ::_exit(9);
        return model(p);
    };
    EXPECT_THROW(calibrate(in, dies_midway, options(2, dir.str())), WorkerError);
    const auto resumed = calibrate(in, model, options(2, dir.str()));
    EXPECT_GE(resumed.run.cached, 20u);
    const auto fresh = calibrate(in, model, options(3));
    EXPECT_EQ(to_json(resumed).dump(), to_json(fresh).dump());
}

TEST(Sweep, FlagsAreChecked) {
    SweepConfig ok;
    EXPECT_NO_THROW(check_sweep(ok));
    const auto rejects = [](auto change, const std::string& flag) {
        SweepConfig s;
        change(s);
        try {
            check_sweep(s);
            ADD_FAILURE() << "accepted a bad " << flag;
        } catch (const core::InputError& e) {
            EXPECT_EQ(std::string(e.what()).rfind(flag, 0), 0u) << e.what();
        }
    };
    rejects([](SweepConfig& s) { s.densities = {0.5, 0.5}; }, "--densities");
    rejects([](SweepConfig& s) { s.densities = {0.0, 0.5}; }, "--densities");
    rejects([](SweepConfig& s) { s.densities = {0.5, 1.5}; }, "--densities");
    rejects([](SweepConfig& s) { s.seeds = 0; }, "--seeds");
    rejects([](SweepConfig& s) { s.patterns.clear(); }, "--patterns");
    rejects([](SweepConfig& s) { s.validate_densities = {0.5}; }, "--validate-densities");
    rejects([](SweepConfig& s) { s.validate_seed = 2; }, "--validate-seed");
}

TEST(Sweep, PointsCoverEveryLayerDensityPatternAndSeed) {
    const auto in = testing::small_input();
    const auto specs = sweep_points(in);
    EXPECT_EQ(specs.size(), 4u * (9 * 3 * 2 + 4 * 3));
    EXPECT_FALSE(specs.front().ifmap_compressed) << "layer 0 reads the image";
    for (const auto& p : specs) {
        EXPECT_EQ(p.ifmap_compressed, p.layer > 0);
        if (p.role == PointRole::kValidate) {
            EXPECT_EQ(p.seed, in.sweep.validate_seed);
        }
    }
}

}  // namespace
}  // namespace actsparse::calibration
