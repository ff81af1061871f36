// The two model forms recover known coefficients exactly, and are least-squares optima.
#include "calibration/engine/fit.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <random>

namespace actsparse::calibration {
namespace {

uint64_t test_seed() {
    const char* s = std::getenv("ACTSPARSE_TEST_SEED");
    const uint64_t seed = s ? std::strtoull(s, nullptr, 10) : 20240611;
    std::printf("fit_test seed %llu (set ACTSPARSE_TEST_SEED to change)\n",
                static_cast<unsigned long long>(seed));
    return seed;
}

const std::vector<double> kDensities = {0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8, 1.0};

TEST(FitLine, RecoversSlopeAndInterceptExactly) {
    const std::vector<double> y = [] {
        std::vector<double> v;
        for (double d : kDensities) v.push_back(3.5e6 * d + 1.25e5);
        return v;
    }();
    const LineFit f = fit_line(kDensities, y);
    EXPECT_NEAR(f.slope, 3.5e6, 3.5e6 * 1e-12);
    EXPECT_NEAR(f.intercept, 1.25e5, 1.25e5 * 1e-10);
    EXPECT_NEAR(f.r2, 1.0, 1e-12);
    EXPECT_LT(f.max_residual_pct, 1e-9);
}

TEST(FitLine, KnownLeastSquaresSolution) {
    // x = 0, 1, 2; y = 1, 2, 4: slope 1.5, intercept 5/6, SSE 1/6, SST 14/3.
    const LineFit f = fit_line({0, 1, 2}, {1, 2, 4});
    EXPECT_NEAR(f.slope, 1.5, 1e-12);
    EXPECT_NEAR(f.intercept, 5.0 / 6, 1e-12);
    EXPECT_NEAR(f.r2, 1 - (1.0 / 6) / (14.0 / 3), 1e-12);
    EXPECT_NEAR(f.max_residual, 1.0 / 3, 1e-12);  // residuals 1/6, -1/3, 1/6
    EXPECT_NEAR(f.max_residual_pct, 100.0 / 6, 1e-9);
}

TEST(FitLine, NegativeSlopeBecomesFlatLineThroughTheMean) {
    const LineFit f = fit_line({0.1, 0.5, 0.9}, {10, 9, 8});
    EXPECT_EQ(f.slope, 0.0);
    EXPECT_NEAR(f.intercept, 9.0, 1e-12);
    EXPECT_LT(f.r2, 1e-12);
}

TEST(FitLine, ConstantDataHasR2One) {
    const LineFit f = fit_line({0.1, 0.5, 0.9}, {7, 7, 7});
    EXPECT_EQ(f.slope, 0.0);
    EXPECT_EQ(f.intercept, 7.0);
    EXPECT_EQ(f.r2, 1.0);
}

TEST(FitPlane, RecoversBothSlopesAndInterceptExactly) {
    std::mt19937_64 rng(test_seed());
    std::uniform_real_distribution<double> u(0.1, 10.0);
    for (int trial = 0; trial < 20; ++trial) {
        const double a = u(rng) * 1e6, b = u(rng) * 1e6, c = u(rng) * 1e5;
        const double k = 1 + u(rng);
        std::vector<double> x, xo, y;
        for (double d : kDensities)
            for (double shift : {0.0, 0.03}) {
                x.push_back(d);
                xo.push_back(1 - std::pow(1 - d, k) + shift);  // not collinear with d
                y.push_back(c + a * x.back() + b * xo.back());
            }
        const LineFit f = fit_plane(x, xo, y);
        EXPECT_NEAR(f.slope, a, a * 1e-8) << trial;
        EXPECT_NEAR(f.slope_out, b, b * 1e-8) << trial;
        EXPECT_NEAR(f.intercept, c, c * 1e-7) << trial;
        EXPECT_NEAR(f.r2, 1.0, 1e-10);
        EXPECT_NEAR(f.predict(0.5, 0.25), c + 0.5 * a + 0.25 * b, 1e-7 * (a + b + c));
    }
}

TEST(FitPlane, SlopesStayNonNegative) {
    // y falls with x_out: the best plane with slope_out >= 0 is the line in x.
    std::vector<double> x, xo, y;
    for (double d : kDensities) {
        x.push_back(d);
        xo.push_back(d * d);
        y.push_back(5 + 3 * d - 2 * d * d);
    }
    const LineFit f = fit_plane(x, xo, y);
    EXPECT_GE(f.slope, 0.0);
    EXPECT_EQ(f.slope_out, 0.0);
    const LineFit line = fit_line(x, y);
    EXPECT_NEAR(f.slope, line.slope, 1e-12);
    EXPECT_NEAR(f.intercept, line.intercept, 1e-12);
    // y falls with x: the line in x_out.
    for (size_t i = 0; i < x.size(); ++i) y[i] = 5 - 1 * x[i] + 4 * xo[i];
    const LineFit g = fit_plane(x, xo, y);
    EXPECT_EQ(g.slope, 0.0);
    EXPECT_GT(g.slope_out, 0.0);
}

TEST(FitPlane, UnidentifiedPlaneIsTheLine) {
    // x_out constant (the simulator did not report it) or collinear with x.
    const std::vector<double> x = {0.1, 0.4, 0.7, 1.0}, y = {2, 3.5, 4, 6};
    for (const auto& xo : {std::vector<double>(4, 0.0), std::vector<double>{0.2, 0.8, 1.4, 2.0}}) {
        const LineFit f = fit_plane(x, xo, y), line = fit_line(x, y);
        EXPECT_EQ(f.slope_out, 0.0);
        EXPECT_DOUBLE_EQ(f.slope, line.slope);
        EXPECT_DOUBLE_EQ(f.intercept, line.intercept);
    }
}

struct Truth {
    std::vector<double> conv, map;
    double k1, k0;
};

// Normalises Map to geometric mean 1 (and k1, k0 by the inverse), as the fit reports it.
void normalise(Truth& t) {
    double s = 0;
    for (double m : t.map) s += std::log(m);
    const double g = std::exp(s / t.map.size());
    for (double& m : t.map) m /= g;
    t.k1 *= g;
    t.k0 *= g;
}

void points(const Truth& t, std::vector<std::vector<double>>& x,
            std::vector<std::vector<double>>& y) {
    x.assign(t.conv.size(), kDensities);
    y.assign(t.conv.size(), {});
    for (size_t l = 0; l < t.conv.size(); ++l)
        for (double d : kDensities) y[l].push_back(t.conv[l] * t.map[l] * (t.k1 * d + t.k0));
}

TEST(FitFactorised, RecoversGlobalAndMapExactly) {
    std::mt19937_64 rng(test_seed());
    std::uniform_real_distribution<double> u(0, 1);
    for (int trial = 0; trial < 20; ++trial) {
        Truth t;
        const int layers = 2 + trial % 7;
        for (int l = 0; l < layers; ++l) {
            t.conv.push_back(std::pow(10, 4 + 4 * u(rng)));  // 1e4..1e8 MACs
            t.map.push_back(0.2 + 5 * u(rng));
        }
        t.k1 = 0.5 + 10 * u(rng);
        t.k0 = t.k1 * (0.01 + 3 * u(rng));  // ratio 0.01..3
        std::vector<std::vector<double>> x, y;
        points(t, x, y);
        const FactorisedFit f = fit_factorised(t.conv, x, y);
        normalise(t);
        SCOPED_TRACE("trial " + std::to_string(trial));
        EXPECT_NEAR(f.k1, t.k1, 1e-9 * t.k1);
        EXPECT_NEAR(f.k0, t.k0, 1e-8 * t.k0);
        for (int l = 0; l < layers; ++l) {
            EXPECT_NEAR(f.map[l], t.map[l], 1e-9 * t.map[l]);
            EXPECT_NEAR(f.layers[l].slope, t.conv[l] * t.map[l] * t.k1,
                        1e-9 * t.conv[l] * t.map[l] * t.k1);
            EXPECT_NEAR(f.layers[l].r2, 1.0, 1e-12);
            EXPECT_LT(f.layers[l].max_residual_pct, 1e-6);
        }
    }
}

TEST(FitFactorised, PureInterceptLikeGateModeCycles) {
    Truth t{{1e5, 4e6, 2.5e7}, {1.0, 2.0, 0.5}, 0.0, 0.7};
    std::vector<std::vector<double>> x, y;
    points(t, x, y);
    const FactorisedFit f = fit_factorised(t.conv, x, y);
    normalise(t);
    EXPECT_NEAR(f.k1, 0.0, 1e-9);
    EXPECT_NEAR(f.k0, t.k0, 1e-9 * t.k0);
    for (size_t l = 0; l < t.map.size(); ++l) EXPECT_NEAR(f.map[l], t.map[l], 1e-9);
}

TEST(FitFactorised, NoiseGivesTheWeightedLeastSquaresOptimum) {
    std::mt19937_64 rng(test_seed() + 1);
    std::normal_distribution<double> noise(0, 0.02);
    Truth t{{1e5, 3e5, 2e6, 8e6}, {1.0, 1.7, 0.6, 2.2}, 4.0, 1.0};
    std::vector<std::vector<double>> x, y;
    points(t, x, y);
    for (auto& v : y)
        for (double& e : v) e *= 1 + noise(rng);
    const FactorisedFit f = fit_factorised(t.conv, x, y);
    // Weighted SSE (weights 1/mean(y_l)^2) of any shared-ratio model with per-layer slopes.
    const auto sse = [&](double ratio, const std::vector<double>& slope) {
        double j = 0;
        for (size_t l = 0; l < y.size(); ++l) {
            double m = 0;
            for (double v : y[l]) m += v / y[l].size();
            for (size_t i = 0; i < y[l].size(); ++i) {
                const double e = y[l][i] - slope[l] * (x[l][i] + ratio);
                j += e * e / (m * m);
            }
        }
        return j;
    };
    std::vector<double> slopes;
    for (const auto& l : f.layers) slopes.push_back(l.slope);
    const double ratio = f.k0 / f.k1;
    const double best = sse(ratio, slopes);
    for (double dr : {-1e-3, 1e-3, -1e-2, 1e-2})
        for (double ds : {0.999, 1.001, 1.0}) {
            std::vector<double> s2 = slopes;
            for (double& s : s2) s *= ds;
            EXPECT_GE(sse(ratio + dr, s2), best) << "dr " << dr << " ds " << ds;
        }
    // On its own layer the free line is never worse than the factorised one.
    for (size_t l = 0; l < y.size(); ++l) {
        const LineFit free = fit_line(x[l], y[l]);
        EXPECT_GE(free.r2 + 1e-12, f.layers[l].r2);
    }
    EXPECT_NEAR(ratio, 0.25, 0.05);
}

}  // namespace
}  // namespace actsparse::calibration
