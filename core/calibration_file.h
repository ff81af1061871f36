#pragma once
/// @file The calibration file (calib.json, written by `actsparse calibrate`): per conv layer,
/// the fitted linear model of energy and cycles in the layer's input-activation density D,
///   E_l(D) = e0_l + e_l * D   [pJ],   C_l(D) = c0_l + c_l * D   [cycles],
/// with e_l = Conv(l) * Map_E(l) * e1 and c_l = Conv(l) * Map_C(l) * c1 (paper eqs. 1, 3, 6).
/// The trainer weights its activation penalty by e_l and c_l and reports predicted totals.
/// No LibTorch here.
#include <cstdint>
#include <string>
#include <vector>

#include "core/network.h"

namespace actsparse::core {

/// The accelerator-wide fit of Den_E(D) = e1*D + e0 and Den_C(D) = c1*D + c0 (eq. 3).
struct CalibrationGlobal {
    double e1 = 0.0;
    double e0 = 0.0;
    double c1 = 0.0;
    double c0 = 0.0;
};

/// The write-back form's plane of one quantity: y = intercept + slope * D + slope_out * D_out,
/// with D_out the density of the ofmap the layer writes back ("energy"/"cycles" ".writeback").
struct CalibrationPlane {
    bool valid = false;  ///< read from a calib.json of form "writeback"
    double intercept = 0.0, slope = 0.0, slope_out = 0.0;
    double at(double density, double ofmap_density) const {
        return intercept + slope * density + slope_out * ofmap_density;
    }
};

/// One conv layer's fitted model.
struct CalibrationLayer {
    int index = 0;          ///< position among the network's conv layers
    std::string name;       ///< the conv op's name, as in Network::conv_layers()
    double conv = 0.0;      ///< Conv(l): dense MACs of the layer (batch 1)
    double map_e = 0.0;     ///< Map_E(l)
    double map_c = 0.0;     ///< Map_C(l)
    double e_l = 0.0;       ///< energy per unit density [pJ]
    double c_l = 0.0;       ///< cycles per unit density
    double e0_l = 0.0;      ///< energy at density 0 [pJ]
    double c0_l = 0.0;      ///< cycles at density 0
    int input_sparse = -1;  ///< "input_sparse" where given (1/0), else -1
    /// Form "writeback": the per-layer planes in (D, D_out). e_l/e0_l then charge the ofmap
    /// write to its readers (network totals from input densities alone); a layer's own
    /// energy, when its ofmap density is known (a simulated trace), is energy_plane.at(D, D_out).
    CalibrationPlane energy_plane, cycles_plane;

    double energy_pj(double density) const { return e0_l + e_l * density; }
    double cycles(double density) const { return c0_l + c_l * density; }
};

struct Calibration {
    std::string path;         ///< where it was read from (for messages)
    std::string network;      ///< e.g. "mobilenetv2-cifar"
    std::string zero_mode;    ///< "skip" or "gate"
    std::string form;         ///< "free", "factorised" or "writeback" (docs/calibration.md)
    int64_t batch = 1;        ///< N of the calibrated layers ("batch", optional, default 1)
    double width_mult = 0.0;  ///< "width_mult" of the network (optional; 0 = not given)
    CalibrationGlobal global;
    std::vector<CalibrationLayer> layers;  ///< in conv-layer order, index == position

    /// Sum over layers of e0_l + e_l * density[l] [pJ]. density.size() must equal layers.
    double predicted_energy_pj(const std::vector<double>& density) const;
    /// Sum over layers of c0_l + c_l * density[l].
    double predicted_cycles(const std::vector<double>& density) const;
};

/// Parses calib.json text. Rejects a wrong schema string, missing or non-numeric required
/// fields, non-finite or negative coefficients, unknown zero_mode/form values, and layers
/// out of order, with InputError("<where>: <field path>", reason). Extra keys are kept out
/// of the struct but allowed: the file's owner may add diagnostics (fit residuals).
Calibration parse_calibration(const std::string& text, const std::string& where);
/// Reads and parses a calibration file (InputError naming the path when unreadable).
Calibration load_calibration(const std::string& path);

/// Checks that a calibration describes `net`: same network name, same number of conv
/// layers, the same name (and input_sparse, where given) at each index. Throws InputError
/// naming the file and field. Returns a warning line per layer whose `conv` differs from the
/// network's MACs at the calibration's batch (the same network at another width multiplier:
/// names agree, sizes do not); the penalty only uses ratios between layers, so that is
/// allowed but reported.
std::vector<std::string> check_calibration_matches(const Calibration& calib,
                                                   const core::Network& net);

}  // namespace actsparse::core
