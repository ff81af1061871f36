// The calib.json loader: accepts the fixture, rejects bad files naming file and field.
#include "trainer/calibration.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/network.h"

namespace actsparse::trainer {
namespace {

const std::string kFixture =
    std::string(ACTSPARSE_TRAINER_TEST_DATA) + "/calib-mobilenetv2-fmnist-w0.25.json";

core::Network fixture_net(double width = 0.25) {
    return core::builtin_network("mobilenetv2-fmnist", {1, width, 0});
}

/// The error message of parsing `j` as file "c.json", or "" when it parses and matches.
std::string error_of(const nlohmann::json& j) {
    try {
        const Calibration c = parse_calibration(j.dump(), "c.json");
        check_calibration_matches(c, fixture_net());
    } catch (const core::InputError& e) {
        return e.what();
    }
    return "";
}

TEST(Calibration, LoadsFixtureAndPredicts) {
    const Calibration c = load_calibration(kFixture);
    EXPECT_EQ(c.network, "mobilenetv2-fmnist");
    EXPECT_EQ(c.zero_mode, "skip");
    const auto net = fixture_net();
    EXPECT_TRUE(check_calibration_matches(c, net).empty());
    ASSERT_EQ(c.layers.size(), net.conv_layers().size());
    std::vector<double> ones(c.layers.size(), 1.0), zeros(c.layers.size(), 0.0);
    double e0 = 0, e1 = 0, c1 = 0;
    for (const auto& l : c.layers) {
        e0 += l.e0_l;
        e1 += l.e0_l + l.e_l;
        c1 += l.c0_l + l.c_l;
    }
    EXPECT_DOUBLE_EQ(c.predicted_energy_pj(zeros), e0);
    EXPECT_DOUBLE_EQ(c.predicted_energy_pj(ones), e1);
    EXPECT_DOUBLE_EQ(c.predicted_cycles(ones), c1);
    std::vector<double> half(c.layers.size(), 0.5);
    EXPECT_NEAR(c.predicted_energy_pj(half), (e0 + e1) / 2, 1e-6 * e1);
}

TEST(Calibration, OtherWidthWarnsButMatches) {
    const Calibration c = load_calibration(kFixture);
    EXPECT_EQ(c.width_mult, 0.25);
    EXPECT_EQ(c.batch, 1);
    const auto warnings = check_calibration_matches(c, fixture_net(1.0));
    EXPECT_FALSE(warnings.empty());
    EXPECT_NE(warnings[0].find("MACs"), std::string::npos);
}

TEST(Calibration, RejectsBadFiles) {
    const nlohmann::json good = nlohmann::json::parse(core::read_file(kFixture));
    EXPECT_EQ(error_of(good), "");

    auto with = [&](auto edit) {
        nlohmann::json j = good;
        edit(j);
        return error_of(j);
    };
    EXPECT_NE(with([](auto& j) { j["schema"] = "actsparse.calibration/2"; }).find("c.json.schema"),
              std::string::npos);
    EXPECT_NE(with([](auto& j) { j["network"] = "squeezenet-fmnist"; }).find("c.json.network"),
              std::string::npos);
    EXPECT_NE(with([](auto& j) { j["zero_mode"] = "drop"; }).find("c.json.zero_mode"),
              std::string::npos);
    EXPECT_NE(with([](auto& j) { j["form"] = 3; }).find("c.json.form"), std::string::npos);
    EXPECT_NE(with([](auto& j) { j["global"].erase("c1"); }).find("c.json.global.c1: missing"),
              std::string::npos);
    EXPECT_NE(
        with([](auto& j) { j["layers"][3].erase("e_l"); }).find("c.json.layers[3].e_l: missing"),
        std::string::npos);
    EXPECT_NE(with([](auto& j) { j["layers"][3]["c_l"] = "12"; }).find("c.json.layers[3].c_l"),
              std::string::npos);
    EXPECT_NE(with([](auto& j) { j["layers"][3]["e_l"] = -1.0; }).find("must be >= 0"),
              std::string::npos);
    EXPECT_NE(
        with([](auto& j) { j["layers"][3]["name"] = "features.99"; }).find("c.json.layers[3].name"),
        std::string::npos);
    EXPECT_NE(with([](nlohmann::json& j) {
                  j["layers"][3]["input_sparse"] = !j["layers"][3]["input_sparse"].get<bool>();
              }).find("c.json.layers[3].input_sparse"),
              std::string::npos);
    EXPECT_NE(with([](auto& j) { j["batch"] = 0; }).find("c.json.batch"), std::string::npos);
    EXPECT_EQ(with([](auto& j) {
                  j.erase("batch");
                  j.erase("width_mult");
              }),
              "");  // both optional
    EXPECT_NE(with([](auto& j) { j["layers"][3]["index"] = 4; }).find("c.json.layers[3].index"),
              std::string::npos);
    EXPECT_NE(with([](auto& j) {
                  j["layers"].erase(j["layers"].size() - 1);
              }).find("c.json.layers: has 51 layers"),
              std::string::npos);
    EXPECT_NE(with([](auto& j) { j["layers"] = nlohmann::json::array(); }).find("c.json.layers"),
              std::string::npos);
    try {
        parse_calibration("{\"schema\": ", "c.json");
        FAIL() << "no error";
    } catch (const core::InputError& e) {
        EXPECT_EQ(std::string(e.what()).rfind("c.json: not valid JSON", 0), 0u) << e.what();
    }
    EXPECT_THROW(load_calibration("/nonexistent/calib.json"), core::InputError);
}

}  // namespace
}  // namespace actsparse::trainer
