#pragma once
/// @file Which conv layers the activation penalty acts on, and with what weight and
/// strengths (paper II-C, eq. 8). No LibTorch here: trainer/penalty.h does the tensor math.
///
/// Per penalised layer l (a conv whose input can be sparse, ConvLayer::input_sparse):
///   term_l = w_l * (lambda1_l * L1(x_l) + lambda2_l * Hoyer(x_l))
/// and the loss adds the sum over layers. The cost weight w_l is the paper's
/// alpha*e_l + beta*c_l made scale-free: e_l and c_l are each divided by their mean over the
/// penalised layers (so pJ and cycles become comparable, dimensionless numbers), then
///   w_l = (alpha * e_l/mean(e) + beta * c_l/mean(c)) / (alpha + beta),
/// so the weights have mean 1 over the penalised layers for every alpha, beta and
/// calibration, and lambdas mean the same thing as with sparsity-targeting's uniform w_l = 1.
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/network.h"
#include "trainer/calibration.h"

namespace actsparse::trainer {

enum class Method {
    kBaseline,           ///< no penalty
    kSparsityTargeting,  ///< Hoyer on every sparse-input layer, w_l = 1 (Kurtz et al. 2020)
    kProposedHoyer,      ///< cost-weighted Hoyer
    kProposedHybrid,     ///< cost-weighted L1 + Hoyer (the paper's method)
};
/// "baseline", "sparsity-targeting", "proposed-hoyer", "proposed-hybrid".
const char* to_string(Method m);
Method parse_method(const std::string& text, const std::string& where);
std::vector<std::string> method_names();
bool method_uses_l1(Method m);
bool method_uses_hoyer(Method m);
/// The proposed methods weight layers by e_l and c_l, so they need a calibration file.
bool method_needs_calibration(Method m);

/// Defaults of the strengths (per-element-normalised terms, see trainer/penalty.h).
constexpr double kDefaultLambda1 = 0.25;
constexpr double kDefaultLambda2 = 0.5;

struct PenaltySettings {
    Method method = Method::kBaseline;
    double alpha = 1.0;    ///< relative weight of energy, >= 0
    double beta = 1.0;     ///< relative weight of cycles, >= 0 (alpha + beta > 0)
    double lambda1 = 0.0;  ///< lambda' of the L1 term (proposed-hybrid only)
    double lambda2 = 0.0;  ///< lambda'' of the Hoyer term (all methods but baseline)
};

/// Per-layer settings from a penalty config file; unset fields keep the computed value.
struct LayerOverride {
    std::optional<double> lambda1;
    std::optional<double> lambda2;
    std::optional<double> weight;  ///< replaces the normalised cost weight w_l
};

/// Reads a YAML (or JSON, which YAML reads too) file of the form
///   layers:
///     <conv layer name>: {lambda1: 0.001, lambda2: 0.002, weight: 1.5}
/// Unknown keys, non-numeric or negative values throw InputError("<path>: <key path>", ...).
/// Layer names are checked against the network by plan_penalty.
std::map<std::string, LayerOverride> load_penalty_overrides(const std::string& path);

/// One penalised layer.
struct LayerPenalty {
    int conv_index = 0;    ///< index among the network's conv layers
    std::string name;      ///< the conv op's name
    double e_l = 0.0;      ///< from the calibration (0 without one) [pJ per unit density]
    double c_l = 0.0;      ///< from the calibration [cycles per unit density]
    double weight = 1.0;   ///< w_l
    double lambda1 = 0.0;  ///< lambda'_l
    double lambda2 = 0.0;  ///< lambda''_l
};

/// The penalised layers in conv order (empty for the baseline). `calib` may be null unless
/// the method needs it; overrides naming a layer that is not a penalised conv layer, or
/// setting a term the method does not use, throw InputError(overrides_where + ": layers.<name>").
std::vector<LayerPenalty> plan_penalty(const std::vector<core::ConvLayer>& layers,
                                       const Calibration* calib, const PenaltySettings& s,
                                       const std::map<std::string, LayerOverride>& overrides = {},
                                       const std::string& overrides_where = "");

}  // namespace actsparse::trainer
