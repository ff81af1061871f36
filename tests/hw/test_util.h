#pragma once
// Shared helpers of the hw tests: the seed (printed, settable with ACTSPARSE_TEST_SEED), random
// layers, mappings and tensors, and a dense reference convolution in doubles.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <random>
#include <string>
#include <vector>

#include "core/arch.h"
#include "core/shape.h"
#include "hw/array.h"

namespace actsparse::hw::test {

/// The test seed: ACTSPARSE_TEST_SEED when set, else a fixed default. Printed once.
inline uint64_t base_seed() {
    static const uint64_t seed = [] {
        const char* env = std::getenv("ACTSPARSE_TEST_SEED");
        const uint64_t s = env != nullptr ? std::strtoull(env, nullptr, 10) : 20240611ULL;
        std::cout << "[hw tests] ACTSPARSE_TEST_SEED=" << s << std::endl;
        return s;
    }();
    return seed;
}

/// A generator for one test, derived from the base seed and the test's own salt.
inline std::mt19937_64 rng_for(uint64_t salt) {
    ::testing::Test::RecordProperty("seed", std::to_string(base_seed()));
    return std::mt19937_64(base_seed() * 0x9E3779B97F4A7C15ULL + salt);
}

inline int64_t uniform(std::mt19937_64& g, int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(g);
}

/// A small random layer: stride 1/2, padding, groups (incl. depthwise), 1x1/3x3/5x5 and
/// non-square filters, non-square inputs, batch 1-2.
inline core::LayerShape random_layer(std::mt19937_64& g, int64_t max_pq = 9) {
    for (;;) {
        core::LayerShape s;
        s.N = uniform(g, 1, 2);
        const int kind = static_cast<int>(uniform(g, 0, 9));
        const int64_t filters[] = {1, 3, 5, 1, 3, 3, 2, 3, 5, 1};
        s.R = filters[kind];
        s.S = uniform(g, 0, 4) == 0 ? filters[uniform(g, 0, 9)] : s.R;
        s.Hstride = uniform(g, 1, 2);
        s.Wstride = uniform(g, 0, 3) == 0 ? 3 - s.Hstride : s.Hstride;
        s.Hpad = uniform(g, 0, s.R - 1);
        s.Wpad = uniform(g, 0, s.S - 1);
        s.P = uniform(g, 1, max_pq);
        s.Q = uniform(g, 1, max_pq);
        const int grouping = static_cast<int>(uniform(g, 0, 5));
        if (grouping == 0) {  // depthwise
            s.G = s.C = s.M = uniform(g, 1, 6);
        } else if (grouping == 1) {
            s.G = uniform(g, 2, 3);
            s.C = s.G * uniform(g, 1, 3);
            s.M = s.G * uniform(g, 1, 3);
        } else {
            s.C = uniform(g, 1, 14);
            s.M = uniform(g, 1, 12);
        }
        // Sometimes one input column/row more than needed (floor in the output size).
        try {
            s.finalize("random layer");
        } catch (...) {
            continue;
        }
        if (s.Hstride > 1 && uniform(g, 0, 2) == 0) {
            core::LayerShape t = s;
            t.H += 1;
            try {
                t.finalize("random layer");
                s = t;
            } catch (...) {
            }
        }
        return s;
    }
}

/// A random valid mapping for the layer (default_mapping if none found quickly).
inline Mapping random_mapping(std::mt19937_64& g, const core::LayerShape& s,
                              const core::ArchConfig& a) {
    for (int tries = 0; tries < 300; ++tries) {
        Mapping m;
        m.n = uniform(g, 1, s.N);
        m.p = uniform(g, 1, s.m_per_group());
        m.q = uniform(g, 1, s.c_per_group());
        m.e = uniform(g, 1, s.P);
        m.r = uniform(g, 1, (s.c_per_group() + m.q - 1) / m.q);
        m.filter_rows = uniform(g, 1, s.R);
        m.filter_cols = uniform(g, 1, s.S);
        const int64_t tiles = s.G * ((s.m_per_group() + m.p - 1) / m.p);
        m.t = uniform(g, 1, tiles);
        if (!check_mapping(s, m, a)) return m;
    }
    return default_mapping(s, a);
}

/// Random int16 values, a fraction `density` non-zero (exactly round(density * size)).
inline std::vector<int16_t> random_tensor(std::mt19937_64& g, int64_t size, double density,
                                          int16_t lo = -300, int16_t hi = 300) {
    std::vector<int16_t> v(static_cast<size_t>(size), 0);
    const int64_t nz = static_cast<int64_t>(density * static_cast<double>(size) + 0.5);
    std::vector<int64_t> idx(static_cast<size_t>(size));
    for (int64_t i = 0; i < size; ++i) idx[static_cast<size_t>(i)] = i;
    std::shuffle(idx.begin(), idx.end(), g);
    for (int64_t k = 0; k < nz; ++k) {
        int16_t x = 0;
        while (x == 0) x = static_cast<int16_t>(uniform(g, lo, hi));
        v[static_cast<size_t>(idx[static_cast<size_t>(k)])] = x;
    }
    return v;
}

/// Dense reference convolution in doubles (conventions: "a dense convolution in doubles").
inline std::vector<double> reference_conv_double(const core::LayerShape& s,
                                                 const std::vector<int16_t>& in,
                                                 const std::vector<int16_t>& w) {
    std::vector<double> out(static_cast<size_t>(s.ofmap_elems()), 0.0);
    const int64_t cg = s.c_per_group(), mg = s.m_per_group();
    for (int64_t n = 0; n < s.N; ++n)
        for (int64_t m = 0; m < s.M; ++m)
            for (int64_t y = 0; y < s.P; ++y)
                for (int64_t x = 0; x < s.Q; ++x) {
                    double acc = 0;
                    const int64_t grp = m / mg;
                    for (int64_t ci = 0; ci < cg; ++ci)
                        for (int64_t r = 0; r < s.R; ++r)
                            for (int64_t k = 0; k < s.S; ++k) {
                                const int64_t h = y * s.Hstride - s.Hpad + r;
                                const int64_t c = x * s.Wstride - s.Wpad + k;
                                if (h < 0 || h >= s.H || c < 0 || c >= s.W) continue;
                                acc += static_cast<double>(in[static_cast<size_t>(
                                           ((n * s.C + grp * cg + ci) * s.H + h) * s.W + c)]) *
                                       static_cast<double>(w[static_cast<size_t>(
                                           ((m * cg + ci) * s.R + r) * s.S + k)]);
                            }
                    out[static_cast<size_t>(((n * s.M + m) * s.P + y) * s.Q + x)] = acc;
                }
    return out;
}

/// Index of the first ofmap element that differs from the reference, or -1.
inline int64_t first_mismatch(const std::vector<int64_t>& got, const std::vector<double>& ref) {
    if (got.size() != ref.size()) return 0;
    for (size_t i = 0; i < got.size(); ++i)
        if (static_cast<double>(got[i]) != ref[i]) return static_cast<int64_t>(i);
    return -1;
}

inline core::ArchConfig arch_with(core::ZeroMode mode) {
    core::ArchConfig a;
    a.zero_mode = mode;
    return a;
}

/// A randomly perturbed small architecture (smaller array and spads, shallow FIFOs, other
/// bus widths and pipeline depths) to exercise folding, replication and back-pressure.
inline core::ArchConfig random_arch(std::mt19937_64& g, core::ZeroMode mode) {
    core::ArchConfig a = arch_with(mode);
    if (uniform(g, 0, 1) == 0) return a;
    a.array.rows = uniform(g, 3, 12);
    a.array.cols = uniform(g, 3, 14);
    a.pe.fifo_depth_words = uniform(g, 1, 6);
    a.pe.psum_fifo_depth_words = uniform(g, 1, 24);
    a.pe.mac_pipeline_stages = uniform(g, 1, 4);
    a.pe.ifmap_spad_words = uniform(g, 5, 12);
    a.pe.filter_spad_words = uniform(g, 25, 224);
    a.pe.psum_spad_words = uniform(g, 1, 24);
    const int64_t buses[] = {16, 32, 64, 128};
    a.noc.ifmap_bus_bits = buses[uniform(g, 0, 3)];
    a.noc.filter_bus_bits = buses[uniform(g, 0, 3)];
    a.noc.psum_in_bus_bits = buses[uniform(g, 0, 3)];
    a.noc.psum_out_bus_bits = buses[uniform(g, 0, 3)];
    return a;
}

}  // namespace actsparse::hw::test
