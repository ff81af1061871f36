// Timeloop problem files (versions 0.3 and 0.4) as shapes and as networks. The fixtures of
// ../shared/fixtures (timeloop-accelergy-exercises' layer shapes) are used in place.
#include "core/timeloop.h"

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <fstream>

#include "core/error.h"

namespace actsparse::core {
namespace {

namespace fs = std::filesystem;

const std::string kFixtures = std::string(ACTSPARSE_SOURCE_DIR) + "/../shared/fixtures";

#define REQUIRE_FIXTURES()                                                                  \
    if (!fs::is_directory(kFixtures))                                                       \
    GTEST_SKIP() << "no " << kFixtures                                                      \
                 << " (the shared fixtures of other tools' files): Timeloop fixture tests " \
                    "skipped"

std::string write_temp(const std::string& name, const std::string& text) {
    const std::string path = ::testing::TempDir() + "/" + name;
    std::ofstream(path) << text;
    return path;
}

// The error a bad file gives, or "" when it loads.
std::string error_of(const std::string& text) {
    try {
        read_timeloop_problem(write_temp("bad.yaml", text));
    } catch (const InputError& e) {
        return e.what();
    }
    return "";
}

// Timeloop's own rules, from the file: MACs are the product of the instance's dimensions
// and the input is the footprint (P - 1) * stride + (R - 1) * dilation + 1.
TEST(Timeloop, AlexNetFolderMatchesTheFilesInstances) {
    REQUIRE_FIXTURES();
    const std::string dir = kFixtures + "/timeloop-layer-shapes/AlexNet";
    const Network net = timeloop_network(dir);
    EXPECT_EQ(net.name, "AlexNet");
    EXPECT_TRUE(net.layer_list);
    const auto layers = net.conv_layers(1);
    const auto files = timeloop_problem_files(dir);
    ASSERT_EQ(layers.size(), files.size());
    ASSERT_GT(layers.size(), 1u);
    for (size_t i = 0; i < files.size(); ++i) {
        const YAML::Node inst = YAML::LoadFile(files[i])["problem"]["instance"];
        int64_t product = 1;
        for (const char* d : {"N", "C", "M", "R", "S", "P", "Q"}) product *= inst[d].as<int64_t>();
        const LayerShape& s = layers[i].shape;
        EXPECT_EQ(layers[i].name, fs::path(files[i]).stem().string());
        EXPECT_EQ(s.macs(), product) << files[i];
        EXPECT_EQ(s.H, (inst["P"].as<int64_t>() - 1) * inst["Hstride"].as<int64_t>() +
                           inst["R"].as<int64_t>())
            << files[i];
        EXPECT_EQ(s.W, (inst["Q"].as<int64_t>() - 1) * inst["Wstride"].as<int64_t>() +
                           inst["S"].as<int64_t>())
            << files[i];
        // The first layer reads the image, every later one a ReLU output.
        EXPECT_EQ(layers[i].input_sparse, i > 0) << files[i];
    }
    EXPECT_EQ(layers[0].input_name, net.input().name);
    EXPECT_EQ(net.conv_layers(3)[2].shape.N, 3);
}

TEST(Timeloop, FolderIsInNameOrderWithNumbersAsNumbers) {
    REQUIRE_FIXTURES();
    const auto layers = timeloop_network(kFixtures + "/timeloop-layer-shapes/VGG02").conv_layers();
    ASSERT_GE(layers.size(), 11u);
    for (size_t i = 0; i < layers.size(); ++i)
        EXPECT_EQ(layers[i].name, "VGG02_layer" + std::to_string(i + 1));
}

TEST(Timeloop, ReadsVersion03FormsAndOptionalKeys) {
    // 0.3 with an instance map, no version key.
    LayerShape a = read_timeloop_problem(write_temp(
        "a.yaml",
        "problem:\n  shape:\n    name: CNN-Layer\n    dimensions: [C, M, R, S, N, P, Q]\n"
        "    data-spaces: []\n  instance: {C: 8, M: 16, R: 3, S: 3, N: 1, P: 6, Q: 7,"
        " Hstride: 2, Wstride: 1}\n"));
    EXPECT_EQ(a.H, 5 * 2 + 3);
    EXPECT_EQ(a.W, 6 + 3);
    EXPECT_EQ(a.macs(), 8 * 16 * 9 * 6 * 7);
    // 0.3's flat form: the instance keys directly under `problem`, shape by name.
    LayerShape b = read_timeloop_problem(
        write_temp("b.yaml",
                   "problem:\n  shape: cnn-layer\n  C: 8\n  M: 16\n  R: 3\n  S: 3\n  P: 6\n"
                   "  Q: 7\n  Hstride: 2\n  Wstride: 1\n"));
    EXPECT_EQ(a, b);
    // H and W given (with padding, an actsparse extension) are kept.
    LayerShape c = read_timeloop_problem(
        write_temp("c.yaml",
                   "problem:\n  version: 0.4\n  instance: {C: 4, M: 4, R: 3, S: 3, P: 8, Q: 8,"
                   " H: 8, W: 8, Hpad: 1, Wpad: 1}\n"));
    EXPECT_EQ(c.H, 8);
    EXPECT_EQ(c.Hpad, 1);
    // Coefficient defaults of the shape apply when the instance lacks them.
    LayerShape d = read_timeloop_problem(
        write_temp("d.yaml",
                   "problem:\n  version: 0.4\n  shape:\n    coefficients:\n    - {name: Hstride,"
                   " default: 2}\n  instance: {C: 4, M: 4, R: 3, S: 3, P: 4, Q: 4}\n"));
    EXPECT_EQ(d.Hstride, 2);
    EXPECT_EQ(d.Wstride, 1);
}

TEST(Timeloop, GroupsAreTimeloopsDimension) {
    // Timeloop's G multiplies: C and M count one group's channels.
    LayerShape g = read_timeloop_problem(
        write_temp("g.yaml",
                   "problem:\n  version: 0.4\n  shape:\n    dimensions: [G, C, M, R, S, N, P, Q]\n"
                   "  instance: {G: 2, C: 8, M: 12, R: 3, S: 3, N: 1, P: 5, Q: 5}\n"));
    EXPECT_EQ(g.G, 2);
    EXPECT_EQ(g.C, 16);
    EXPECT_EQ(g.M, 24);
    EXPECT_EQ(g.macs(), 2 * 8 * 12 * 9 * 25);
    // A depthwise problem (no M dimension): one filter per channel.
    LayerShape dw = read_timeloop_problem(
        write_temp("dw.yaml",
                   "problem:\n  version: 0.4\n  shape:\n    dimensions: [C, R, S, N, P, Q]\n"
                   "  instance: {C: 32, R: 3, S: 3, N: 1, P: 8, Q: 8}\n"));
    EXPECT_EQ(dw.G, 32);
    EXPECT_EQ(dw.M, 32);
    EXPECT_EQ(dw.macs(), 32 * 9 * 64);
}

TEST(Timeloop, BadFilesNameTheFieldAndTheFile) {
    const std::string head =
        "problem:\n  version: 0.4\n  instance: {C: 4, M: 4, R: 3, S: 3, P: 4, Q: 4";
    EXPECT_NE(error_of(head + ", Hdilation: 2}\n").find("problem.instance.Hdilation"),
              std::string::npos);
    EXPECT_NE(error_of(head + ", K: 2}\n").find("problem.instance.K: unknown key"),
              std::string::npos);
    EXPECT_NE(error_of(head + ", C: x}\n").find("bad.yaml"), std::string::npos);
    EXPECT_NE(error_of("problem:\n  version: 0.5\n  instance: {C: 1}\n").find("problem.version"),
              std::string::npos);
    EXPECT_NE(error_of("problem:\n  version: 0.4\n  instance: {C: 4, M: 4, R: 3, S: 3, Q: 4}\n")
                  .find("problem.instance.P: missing"),
              std::string::npos);
    EXPECT_NE(error_of("problem:\n  shape:\n    dimensions: [M, N, K]\n  instance: {M: 4}\n")
                  .find("problem.shape.dimensions"),
              std::string::npos);
    EXPECT_NE(error_of("architecture: {}\n").find("problem"), std::string::npos);
    EXPECT_NE(error_of(head + ", H: 3}\n").find("problem.instance: H"), std::string::npos);
    EXPECT_THROW(read_timeloop_problem("/nonexistent/x.yaml"), InputError);
    EXPECT_THROW(timeloop_network(::testing::TempDir() + "/no-such-folder"), InputError);
    const std::string empty = ::testing::TempDir() + "/empty-timeloop-dir";
    fs::create_directories(empty);
    EXPECT_THROW(timeloop_network(empty), InputError);
}

TEST(Timeloop, ProblemPathsAreYamlFiles) {
    EXPECT_TRUE(is_timeloop_problem_path("AlexNet_layer1.yaml"));
    EXPECT_TRUE(is_timeloop_problem_path("x.YML"));
    EXPECT_FALSE(is_timeloop_problem_path("C=4,M=4,P=4,Q=4"));
}

TEST(LayerSize, RefusesLayersTooLargeBeforeAllocating) {
    // Counts that overflow 64 bits are refused when the shape is read...
    try {
        LayerShape::parse_spec("C=4000000,M=4000000,R=3,S=3,P=4000,Q=4000");
        FAIL() << "no error";
    } catch (const InputError& e) {
        EXPECT_NE(std::string(e.what()).find("--layer: layer too large"), std::string::npos);
        EXPECT_NE(std::string(e.what()).find("iB of memory"), std::string::npos);
    }
    // ... and a representable layer larger than memory by check_fits_in_memory.
    const LayerShape big = LayerShape::parse_spec("C=100000,M=100000,R=3,S=3,P=2000,Q=2000");
    EXPECT_GT(big.tensor_bytes(), 8.0 * 100000 * 2000 * 2000);
    EXPECT_THROW(check_fits_in_memory(big, "--layer"), InputError);
    const LayerShape small = LayerShape::parse_spec("C=4,M=4,R=3,S=3,P=4,Q=4");
    EXPECT_EQ(small.tensor_bytes(), 2.0 * 4 * 36 + 2.0 * 4 * 4 * 9 + 8.0 * 4 * 16);
    EXPECT_NO_THROW(check_fits_in_memory(small, "--layer"));
    EXPECT_EQ(format_bytes(1536), "1.5 KiB");
}

}  // namespace
}  // namespace actsparse::core
