#include "calibration/engine/fit.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace actsparse::calibration {
namespace {

constexpr double kHalfPi = 1.57079632679489661923;

double mean(const std::vector<double>& v) {
    double s = 0;
    for (double x : v) s += x;
    return v.empty() ? 0.0 : s / static_cast<double>(v.size());
}

// Best a >= 0 for y ~ a * (c*x + s) on one layer, and its weighted squared error.
struct Amplitude {
    double a = 0;
    double sse = 0;
};

Amplitude best_amplitude(double c, double s, const std::vector<double>& x,
                         const std::vector<double>& y) {
    double suu = 0, suy = 0;
    for (size_t i = 0; i < x.size(); ++i) {
        const double u = c * x[i] + s;
        suu += u * u;
        suy += u * y[i];
    }
    Amplitude r;
    r.a = suu > 0 ? std::max(0.0, suy / suu) : 0.0;
    for (size_t i = 0; i < x.size(); ++i) {
        const double e = y[i] - r.a * (c * x[i] + s);
        r.sse += e * e;
    }
    return r;
}

}  // namespace

LineFit assess_line(double slope, double intercept, const std::vector<double>& x,
                    const std::vector<double>& y) {
    return assess_plane(slope, 0.0, intercept, x, std::vector<double>(x.size(), 0.0), y);
}

LineFit assess_plane(double slope, double slope_out, double intercept, const std::vector<double>& x,
                     const std::vector<double>& x_out, const std::vector<double>& y) {
    if (x.size() != y.size() || x_out.size() != y.size())
        core::model_bug("calibration::assess_plane", "x, x_out and y differ in length");
    LineFit f;
    f.slope = slope;
    f.slope_out = slope_out;
    f.intercept = intercept;
    const double ym = mean(y);
    double sse = 0, sst = 0;
    for (size_t i = 0; i < x.size(); ++i) {
        const double e = y[i] - f.predict(x[i], x_out[i]);
        sse += e * e;
        sst += (y[i] - ym) * (y[i] - ym);
        f.max_residual = std::max(f.max_residual, std::abs(e));
        if (y[i] != 0)
            f.max_residual_pct = std::max(f.max_residual_pct, 100.0 * std::abs(e) / std::abs(y[i]));
    }
    // Round-off leaves a tiny SST on constant data; treat it relative to the values.
    const double scale = ym * ym * static_cast<double>(x.size());
    if (sst <= 1e-24 * scale || sst == 0)
        f.r2 = sse <= 1e-20 * scale ? 1.0 : 0.0;
    else
        f.r2 = 1.0 - sse / sst;
    return f;
}

LineFit fit_line(const std::vector<double>& x, const std::vector<double>& y) {
    if (x.size() != y.size() || x.empty())
        core::model_bug("calibration::fit_line", "needs matching, non-empty x and y");
    const double xm = mean(x), ym = mean(y);
    double sxx = 0, sxy = 0;
    for (size_t i = 0; i < x.size(); ++i) {
        sxx += (x[i] - xm) * (x[i] - xm);
        sxy += (x[i] - xm) * (y[i] - ym);
    }
    const double slope = sxx > 0 ? std::max(0.0, sxy / sxx) : 0.0;
    return assess_line(slope, ym - slope * xm, x, y);
}

LineFit fit_plane(const std::vector<double>& x, const std::vector<double>& x_out,
                  const std::vector<double>& y) {
    if (x.size() != y.size() || x_out.size() != y.size() || x.empty())
        core::model_bug("calibration::fit_plane", "needs matching, non-empty x, x_out and y");
    const double xm = mean(x), om = mean(x_out), ym = mean(y);
    double sxx = 0, soo = 0, sxo = 0, sxy = 0, soy = 0;
    for (size_t i = 0; i < x.size(); ++i) {
        const double dx = x[i] - xm, dout = x_out[i] - om, dy = y[i] - ym;
        sxx += dx * dx, soo += dout * dout, sxo += dx * dout;
        sxy += dx * dy, soy += dout * dy;
    }
    const auto sse_of = [&](const LineFit& f) {
        double s = 0;
        for (size_t i = 0; i < x.size(); ++i) {
            const double e = y[i] - f.predict(x[i], x_out[i]);
            s += e * e;
        }
        return s;
    };
    // Candidates: the line in x (slope_out = 0), the line in x_out (slope = 0), and the
    // unconstrained plane when identified and feasible. The constrained optimum is one of them
    // (a convex quadratic over the quadrant: interior or an edge).
    LineFit best = fit_line(x, y);
    double best_sse = sse_of(best);
    if (soo > 0) {
        const double so = std::max(0.0, soy / soo);
        const LineFit f = assess_plane(0.0, so, ym - so * om, x, x_out, y);
        const double s = sse_of(f);
        if (s < best_sse) best = f, best_sse = s;
    }
    const double det = sxx * soo - sxo * sxo;
    // Identified only when x_out is not (nearly) collinear with x.
    if (sxx > 0 && soo > 0 && det > 1e-9 * sxx * soo) {
        const double a = (soo * sxy - sxo * soy) / det;
        const double b = (sxx * soy - sxo * sxy) / det;
        if (a >= 0 && b >= 0) {
            const LineFit f = assess_plane(a, b, ym - a * xm - b * om, x, x_out, y);
            const double s = sse_of(f);
            if (s <= best_sse) best = f, best_sse = s;
        }
    }
    return best;
}

FactorisedFit fit_factorised(const std::vector<double>& conv,
                             const std::vector<std::vector<double>>& x,
                             const std::vector<std::vector<double>>& y) {
    const size_t layers = conv.size();
    if (x.size() != layers || y.size() != layers)
        core::model_bug("calibration::fit_factorised", "per-layer lists differ in length");
    std::vector<double> weight(layers, 1.0);
    for (size_t l = 0; l < layers; ++l) {
        if (x[l].size() != y[l].size())
            core::model_bug("calibration::fit_factorised", "x and y differ in length");
        if (!(conv[l] > 0)) core::model_bug("calibration::fit_factorised", "Conv(l) <= 0");
        const double m = mean(y[l]);
        if (m != 0) weight[l] = 1.0 / (m * m);
    }
    const auto objective = [&](double t) {
        const double c = std::cos(t), s = std::sin(t);
        double j = 0;
        for (size_t l = 0; l < layers; ++l) j += weight[l] * best_amplitude(c, s, x[l], y[l]).sse;
        return j;
    };

    // A grid finds the basin; golden-section search then narrows it to round-off.
    constexpr int kGrid = 2048;
    const auto grid_t = [](int i) { return -kHalfPi + 2 * kHalfPi * i / kGrid; };
    int best = 0;
    double best_j = objective(grid_t(0));
    for (int i = 1; i <= kGrid; ++i) {
        const double j = objective(grid_t(i));
        if (j < best_j) best_j = j, best = i;
    }
    double lo = grid_t(std::max(0, best - 1)), hi = grid_t(std::min(kGrid, best + 1));
    const double ratio = (std::sqrt(5.0) - 1) / 2;
    double a = hi - ratio * (hi - lo), b = lo + ratio * (hi - lo);
    double ja = objective(a), jb = objective(b);
    for (int it = 0; it < 200 && hi - lo > 1e-15; ++it) {
        if (ja <= jb) {
            hi = b, b = a, jb = ja;
            a = hi - ratio * (hi - lo);
            ja = objective(a);
        } else {
            lo = a, a = b, ja = jb;
            b = lo + ratio * (hi - lo);
            jb = objective(b);
        }
    }
    double t = ja <= jb ? a : b;
    if (objective(grid_t(best)) < std::min(ja, jb)) t = grid_t(best);

    const double c = std::cos(t), s = std::sin(t);
    std::vector<double> amp(layers);
    double log_sum = 0;
    int positive = 0;
    for (size_t l = 0; l < layers; ++l) {
        amp[l] = best_amplitude(c, s, x[l], y[l]).a;
        if (amp[l] > 0) log_sum += std::log(amp[l] / conv[l]), ++positive;
    }
    const double g = positive > 0 ? std::exp(log_sum / positive) : 1.0;

    FactorisedFit f;
    f.k1 = g * c;
    f.k0 = g * s;
    for (size_t l = 0; l < layers; ++l) {
        f.map.push_back(amp[l] / (conv[l] * g));
        f.layers.push_back(assess_line(amp[l] * c, amp[l] * s, x[l], y[l]));
    }
    return f;
}

}  // namespace actsparse::calibration
