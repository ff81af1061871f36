#include "core/shape.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

#include "core/error.h"

namespace actsparse::core {
namespace {

TEST(LayerShape, ParsesSpecAndDerivesInput) {
    const auto s = LayerShape::parse_spec("C=64,M=64,R=3,S=3,P=32,Q=32,pad=1");
    EXPECT_EQ(s.H, 32);
    EXPECT_EQ(s.W, 32);
    EXPECT_EQ(s.Hpad, 1);
    EXPECT_EQ(s.Wpad, 1);
    EXPECT_EQ(s.macs(), 32LL * 32 * 64 * 64 * 9);
    EXPECT_EQ(LayerShape::parse_spec(s.to_spec()), s);
}

TEST(LayerShape, StrideAndExplicitInput) {
    // 224 input, 3x3 stride 2 pad 1 -> 112 (224 is one more than the minimal 223).
    const auto s =
        LayerShape::parse_spec("C=3,M=32,R=3,S=3,H=224,W=224,P=112,Q=112,stride=2,pad=1");
    EXPECT_EQ(s.H, 224);
    EXPECT_THROW(LayerShape::parse_spec("C=3,M=32,R=3,S=3,H=230,W=224,P=112,Q=112,stride=2,pad=1"),
                 InputError);
}

TEST(LayerShape, GroupsCountMacsPerGroup) {
    // Depthwise 3x3 over 32 channels: each output sees one input channel.
    const auto s = LayerShape::parse_spec("C=32,M=32,G=32,R=3,S=3,P=16,Q=16,pad=1");
    EXPECT_EQ(s.macs(), 16LL * 16 * 32 * 9);
    EXPECT_THROW(LayerShape::parse_spec("C=30,M=32,G=4,R=3,S=3,P=16,Q=16"), InputError);
}

TEST(LayerShape, RejectsBadSpecsNamingTheKey) {
    try {
        LayerShape::parse_spec("C=64,M=64,X=3,P=8,Q=8");
        FAIL() << "unknown key accepted";
    } catch (const InputError& e) {
        // The message names the key and lists the valid ones.
        EXPECT_EQ(std::string(e.what()),
                  "--layer: X: unknown key (keys: N C M R S P Q H W G Hstride Wstride Hpad Wpad "
                  "stride pad)");
    }
    EXPECT_THROW(LayerShape::parse_spec("C=64,M=64,P=8"), InputError);      // Q missing
    EXPECT_THROW(LayerShape::parse_spec("C=64,M=0,P=8,Q=8"), InputError);   // M < 1
    EXPECT_THROW(LayerShape::parse_spec("C=six,M=4,P=8,Q=8"), InputError);  // not a number
    EXPECT_THROW(LayerShape::parse_spec("C=4,M=4,P=8,Q=8,pad=1,Hpad=1,R=3,S=3"), InputError);
}

TEST(LayerShape, ReadsTimeloopProblemYaml) {
    const std::string path = ::testing::TempDir() + "/layer.yaml";
    {
        std::ofstream f(path);
        f << "problem:\n  shape:\n    name: CNN-Layer\n  instance:\n"
             "    C: 64\n    M: 128\n    R: 3\n    S: 3\n    P: 56\n    Q: 56\n    N: 2\n"
             "    Hstride: 1\n    Wstride: 1\n    Hdilation: 1\n    Wdilation: 1\n";
    }
    const auto s = LayerShape::from_timeloop_yaml(path);
    EXPECT_EQ(s.C, 64);
    EXPECT_EQ(s.M, 128);
    EXPECT_EQ(s.N, 2);
    EXPECT_EQ(s.H, 58);  // no padding in Timeloop's problem: input = P + R - 1
    std::remove(path.c_str());
    EXPECT_THROW(LayerShape::from_timeloop_yaml("/nonexistent.yaml"), InputError);
}

}  // namespace
}  // namespace actsparse::core
