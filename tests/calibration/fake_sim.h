#pragma once
// A fake simulator with known coefficients: E = Conv*MapE*(e1*D + e0), C = Conv*MapC*(c1*D + c0)
// with D the requested density, and a mapping that switches at D > switch_density on the
// layers listed in `switching`. Lets the engine be tested without SystemC.
#include <cmath>
#include <set>
#include <vector>

#include "calibration/engine/calibrate.h"
#include "core/network.h"

namespace actsparse::calibration::testing {

struct FakeModel {
    double e1 = 2.0, e0 = 0.5, c1 = 0.01, c0 = 0.002;
    std::vector<double> map_e, map_c;  ///< per layer
    std::set<int> switching;
    double switch_density = 0.5;
    /// Per-layer deviation of the intercept ratio (0: exactly factorised).
    std::vector<double> ratio_offset;
    /// When > 0: every point reports an ofmap density D_out = 1 - (1 - D)^(2 + layer) (+ 0.05
    /// for structured patterns), and energy gains Conv * eo * D_out, cycles Conv * co * D_out.
    double eo = 0, co = 0;

    PointResult operator()(const PointSpec& p) const {
        const double conv = static_cast<double>(p.shape.macs());
        const size_t l = static_cast<size_t>(p.layer);
        const double off = l < ratio_offset.size() ? ratio_offset[l] : 0.0;
        PointResult r;
        r.density = p.density;
        r.energy_pj = conv * map_e.at(l) * (e1 * p.density + e0 * (1 + off));
        r.cycles = conv * map_c.at(l) * (c1 * p.density + c0);
        if (eo > 0 || co > 0) {
            r.ofmap_density = 1 - std::pow(1 - p.density, 2.0 + static_cast<double>(l)) +
                              (p.pattern == core::ZeroPattern::kUniform ? 0.0 : 0.05);
            r.energy_pj += conv * eo * r.ofmap_density;
            r.cycles += conv * co * r.ofmap_density;
        }
        r.cycles_processing = r.cycles;
        const bool high = switching.count(p.layer) && p.density > switch_density;
        r.mapping = {{"glb", {{"m", high ? 2 : 1}}}, {"array", {{"p", 4}}}};
        return r;
    }
};

inline core::ConvLayer make_layer(int index, const std::string& spec) {
    core::ConvLayer l;
    l.index = index;
    l.op = index + 1;
    l.name = "conv" + std::to_string(index);
    l.shape = core::LayerShape::parse_spec(spec);
    l.shape.finalize();
    l.input_sparse = index > 0;
    l.input_name = index == 0 ? "input" : "relu" + std::to_string(index - 1);
    return l;
}

/// Four small layers: a plain conv, a depthwise conv, a grouped 1x1 and a strided 3x3.
inline std::vector<core::ConvLayer> small_layers() {
    return {make_layer(0, "C=3,M=8,R=3,S=3,P=8,Q=8,pad=1"),
            make_layer(1, "C=8,M=8,G=8,R=3,S=3,P=8,Q=8,pad=1"),
            make_layer(2, "C=8,M=16,G=2,R=1,S=1,P=8,Q=8"),
            make_layer(3, "C=16,M=16,R=3,S=3,P=4,Q=4,stride=2,pad=1")};
}

inline FakeModel small_model() {
    FakeModel m;
    m.map_e = {1.5, 3.0, 0.8, 1.1};
    m.map_c = {2.0, 0.5, 1.0, 1.3};
    m.switching = {2};
    return m;
}

inline CalibrationInput small_input() {
    CalibrationInput in;
    in.network = "fake-net";
    in.layers = small_layers();
    in.first_input = "input";
    in.zero_mode = "skip";
    in.arch = {{"name", "fake-arch"}};
    in.arch_hash = "0123456789abcdef";
    in.sweep.seeds = 2;
    return in;
}

inline SimContext fake_context() {
    return {"0123456789abcdef", "skip", "fast", "energy", true, "fake-1"};
}

}  // namespace actsparse::calibration::testing
