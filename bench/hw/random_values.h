#pragma once
/// @file Tensors for the array benchmarks: zeros at a given density, the rest uniform in
/// [-max_abs, -1] u [1, max_abs] (fixed seed by the caller, so figures are repeatable).
#include <cstdint>
#include <random>
#include <vector>

namespace actsparse::bench {

inline std::vector<int16_t> random_values(std::mt19937_64& g, int64_t n, double density,
                                          int max_abs) {
    std::uniform_real_distribution<double> keep(0.0, 1.0);
    std::uniform_int_distribution<int> value(1, max_abs);
    std::vector<int16_t> v(static_cast<size_t>(n), 0);
    for (auto& x : v)
        if (keep(g) < density) x = static_cast<int16_t>(value(g) * (keep(g) < 0.5 ? -1 : 1));
    return v;
}

}  // namespace actsparse::bench
