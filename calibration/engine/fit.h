#pragma once
/// @file The two model forms fitted to a density sweep, by least squares.
///
/// Free form: per layer l an independent line y = slope_l * D + intercept_l.
///
/// Write-back form: the free line plus a term in the density D_out of the ofmap the layer
/// writes back (ReLU'd, RLC-compressed in DRAM): y = intercept + slope * D + slope_out * D_out.
/// D_out is what the next layer reads; the write of a compressed ofmap is the largest single
/// cost of many layers and is not a function of D alone (docs/calibration.md).
///
/// Factorised form (paper eqs. 1 and 3): y = Conv(l) * Map(l) * (k1 * D + k0) with k1, k0
/// shared by all layers (e1, e0 for energy; c1, c0 for cycles) and one Map(l) per layer. It
/// is bilinear: slope_l = Conv*Map*k1 and intercept_l = Conv*Map*k0, i.e. per-layer lines that
/// share one intercept/slope ratio k0/k1. Written as y = a_l * (cos(t) * D + sin(t)), for a
/// fixed angle t the best a_l is closed-form, so the fit is a 1-D search over t in
/// [-pi/2, pi/2] (a grid, then golden-section refinement) with the a_l solved exactly at every
/// t. The scale ambiguity (Map * k is all the data fixes) is removed by normalising the
/// geometric mean of Map(l) over the layers with a_l > 0 to 1.
///
/// Both forms keep slopes >= 0 (the trainer's penalty weight must not reward density): when
/// the unconstrained slope is negative the constrained least-squares line is flat. Layers
/// enter the factorised objective with weight 1 / mean(y_l)^2, so every layer counts alike
/// (relative residuals) rather than the largest layer dominating.
#include <vector>

namespace actsparse::calibration {

/// A line and how well it describes its layer's points.
struct LineFit {
    double slope = 0;      ///< per unit density
    double intercept = 0;  ///< at density 0
    double slope_out = 0;  ///< per unit ofmap density (write-back form; 0 in the others)
    /// 1 - SSE/SST on the layer's points. When the points are constant (SST = 0) it is 1 for
    /// a perfect fit and 0 otherwise. Uninformative for nearly flat data (gate-mode cycles):
    /// read max_residual_pct there.
    double r2 = 1;
    double max_residual = 0;      ///< largest |y - fit| over the points (units of y)
    double max_residual_pct = 0;  ///< largest |y - fit| / |y| over the points, in %
    double predict(double density, double ofmap_density = 0) const {
        return intercept + slope * density + slope_out * ofmap_density;
    }
};

/// R^2 and residuals of a given line on (x, y).
LineFit assess_line(double slope, double intercept, const std::vector<double>& x,
                    const std::vector<double>& y);

/// Least-squares line with slope >= 0. Needs x.size() == y.size() >= 1; one distinct x gives
/// a flat line through the mean.
LineFit fit_line(const std::vector<double>& x, const std::vector<double>& y);

/// Least-squares plane y = intercept + slope * x + slope_out * x_out with both slopes >= 0
/// (the best of the unconstrained plane, when feasible, and the constrained sub-models).
/// When x_out is constant or collinear with x the plane is not identified and this is
/// fit_line(x, y) (slope_out = 0).
LineFit fit_plane(const std::vector<double>& x, const std::vector<double>& x_out,
                  const std::vector<double>& y);

/// R^2 and residuals of a given plane on (x, x_out, y).
LineFit assess_plane(double slope, double slope_out, double intercept, const std::vector<double>& x,
                     const std::vector<double>& x_out, const std::vector<double>& y);

struct FactorisedFit {
    double k1 = 0;                ///< shared slope factor (e1 or c1)
    double k0 = 0;                ///< shared intercept factor (e0 or c0)
    std::vector<double> map;      ///< Map(l), geometric mean 1 over layers with points > 0
    std::vector<LineFit> layers;  ///< slope = conv*map*k1, intercept = conv*map*k0
};

/// Fits the factorised form to per-layer points x[l], y[l] with Conv(l) = conv[l] > 0.
FactorisedFit fit_factorised(const std::vector<double>& conv,
                             const std::vector<std::vector<double>>& x,
                             const std::vector<std::vector<double>>& y);

}  // namespace actsparse::calibration
