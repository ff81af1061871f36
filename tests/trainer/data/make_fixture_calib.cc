// Writes a stand-in calib.json for a built-in network until `actsparse calibrate` provides
// the real one. The numbers follow the paper's form, not a simulation:
//   e_l = Conv(l) * Map_E(l) * e1,  e0_l = Conv(l) * Map_E(l) * e0   (likewise cycles)
// with Map = 1 for dense convs, 1.25 for 1x1 convs and 3 (energy) / 4 (cycles) for
// depthwise convs, whose poor reuse makes them cost more per MAC on a row-stationary array.
// Usage: trainer_make_fixture_calib NET WIDTH OUT.json
#include <cstdlib>
#include <iostream>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/network.h"

int main(int argc, char** argv) {
    using actsparse::core::builtin_network;
    if (argc != 4) {
        std::cerr << "usage: " << argv[0] << " NET WIDTH OUT.json\n";
        return 2;
    }
    const double width = std::atof(argv[2]);
    const auto net = builtin_network(argv[1], {1, width, 0});
    constexpr double kE1 = 2.0, kE0 = 0.4, kC1 = 1.0 / 168.0, kC0 = 0.02 / 168.0;
    nlohmann::json j;
    j["schema"] = "actsparse.calibration/1";
    j["network"] = net.name;
    j["batch"] = 1;
    j["width_mult"] = width;
    j["zero_mode"] = "skip";
    j["form"] = "factorised";
    j["fixture"] = "tests/trainer/data/make_fixture_calib.cc: not a simulation";
    j["global"] = {{"e1", kE1}, {"e0", kE0}, {"c1", kC1}, {"c0", kC0}};
    for (const auto& l : net.conv_layers(1)) {
        const auto& s = l.shape;
        const bool depthwise = s.G > 1 && s.G == s.C;
        const bool pointwise = s.R == 1 && s.S == 1;
        const double map_e = depthwise ? 3.0 : pointwise ? 1.25 : 1.0;
        const double map_c = depthwise ? 4.0 : pointwise ? 1.25 : 1.0;
        const double conv = static_cast<double>(s.macs());
        j["layers"].push_back({{"index", l.index},
                               {"name", l.name},
                               {"input_sparse", l.input_sparse},
                               {"conv", conv},
                               {"map_e", map_e},
                               {"map_c", map_c},
                               {"e_l", conv * map_e * kE1},
                               {"c_l", conv * map_c * kC1},
                               {"e0_l", conv * map_e * kE0},
                               {"c0_l", conv * map_c * kC0}});
    }
    actsparse::core::write_file_atomic(argv[3], j.dump(2) + "\n");
    return 0;
}
