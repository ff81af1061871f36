// Conv(l) is paper eq. 2: Hout*Wout*Cin*Cout*Hker*Wker*B*G with Cin, Cout per group.
#include <gtest/gtest.h>

#include "calibration/engine/calibrate.h"
#include "core/network.h"

namespace actsparse::calibration {
namespace {

double eq2(double h_out, double w_out, double c_in_group, double c_out_group, double h_ker,
           double w_ker, double batch, double groups) {
    return h_out * w_out * c_in_group * c_out_group * h_ker * w_ker * batch * groups;
}

double conv_of(const std::string& spec) {
    CalibrationInput in;
    in.network = "t";
    core::ConvLayer l;
    l.name = "l";
    l.shape = core::LayerShape::parse_spec(spec);
    in.layers = {l};
    in.first_input = "input";
    in.sweep.validate_densities.clear();
    const auto specs = sweep_points(in);
    std::vector<PointResult> results(specs.size());
    for (size_t i = 0; i < specs.size(); ++i) {
        results[i].density = specs[i].density;
        results[i].energy_pj = 1 + specs[i].density;
        results[i].cycles = 1;
    }
    return fit_calibration(in, specs, results).layers.at(0).conv;
}

TEST(Conv, Eq2DenseConv) {
    EXPECT_EQ(conv_of("C=64,M=128,R=3,S=3,P=16,Q=16,pad=1"), eq2(16, 16, 64, 128, 3, 3, 1, 1));
}

TEST(Conv, Eq2DepthwiseConvCountsEveryGroup) {
    // MobileNet-V2 depthwise: G = C = M, one input and one output channel per group.
    EXPECT_EQ(conv_of("C=96,M=96,G=96,R=3,S=3,P=16,Q=16,stride=2,pad=1"),
              eq2(16, 16, 1, 1, 3, 3, 1, 96));
}

TEST(Conv, Eq2GroupedConvWithBatch) {
    EXPECT_EQ(conv_of("N=4,C=48,M=64,G=4,R=5,S=3,P=7,Q=9,Hpad=2,Wpad=1"),
              eq2(7, 9, 12, 16, 5, 3, 4, 4));
}

TEST(Conv, MatchesEveryLayerOfTheBuiltinNetworks) {
    for (const char* name : {"mobilenetv2-cifar", "squeezenet-cifar"}) {
        for (const auto& l : core::builtin_network(name).conv_layers(2)) {
            const auto& s = l.shape;
            EXPECT_EQ(static_cast<double>(s.macs()),
                      eq2(s.P, s.Q, s.C / s.G, s.M / s.G, s.R, s.S, s.N, s.G))
                << name << " " << l.name;
        }
    }
}

}  // namespace
}  // namespace actsparse::calibration
