// The mapper covers every conv layer of every built-in network on Eyeriss v1, and names
// the layer and the limiting resource when a layer cannot be mapped.
#include "tlm/mapper.h"

#include <gtest/gtest.h>

#include <chrono>
#include <iostream>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/network.h"

namespace actsparse::tlm {
namespace {

TEST(MapperCoverage, EveryBuiltinConvLayerMapsOnEyerissV1) {
    const core::ArchConfig a = core::load_arch("eyeriss-v1");
    const auto start = std::chrono::steady_clock::now();
    int64_t layers = 0;
    for (const std::string& net : core::builtin_network_names())
        for (const core::ConvLayer& l : core::builtin_network(net).conv_layers(1)) {
            ++layers;
            MapperResult r;
            try {
                r = find_mapping(l.shape, a, Objective::kEnergy, 0.5, l.name);
            } catch (const core::InputError& e) {
                ADD_FAILURE() << net << " " << e.what();
                continue;
            }
            EXPECT_FALSE(check_layer_mapping(l.shape, r.best, a))
                << net << " " << l.name << " " << to_json(r.best).dump();
            EXPECT_GT(r.valid, 0);
            EXPECT_GT(r.estimate.energy_pj, 0);
        }
    EXPECT_GT(layers, 300);
    std::cout << layers << " layers mapped in "
              << std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count()
              << " s" << std::endl;
}

// VGG-16's 224-wide layers (JSSC 2017 runs them on the chip): a psum row alone is 224
// words, so a chunk must hold few filters x rows x columns; the mapper strip-mines them.
TEST(MapperCoverage, Vgg16WideLayersAreStripMined) {
    const core::ArchConfig a = core::load_arch("eyeriss-v1");
    const core::Network vgg = core::builtin_network("vgg16");
    for (const core::ConvLayer& l : vgg.conv_layers(1)) {
        if (l.name != "features.0" && l.name != "features.2") continue;
        const MapperResult r = find_mapping(l.shape, a, Objective::kEnergy, 0.5, l.name);
        const Footprint f = footprint(l.shape, r.best.glb, a);
        EXPECT_LE(f.ifmap_words + f.psum_words, glb_ifmap_psum_words(a)) << l.name;
        // The filter part holds the chunk's filters, or streams them one pass at a time.
        const hw::Mapping& m = r.best.array;
        EXPECT_TRUE(f.filters_resident ||
                    pass_filter_words(l.shape, m.p, m.t, m.q, m.r, m.filter_rows, m.filter_cols) <=
                        glb_filter_words(a))
            << l.name;
        EXPECT_TRUE(r.best.glb.rows < l.shape.P || strip_cols(l.shape, r.best.glb) < l.shape.Q)
            << l.name << " " << to_json(r.best).dump();
    }
}

// One line naming the layer and the resource: the GLB's ifmap/psum part, its filter part.
TEST(MapperCoverage, UnmappableLayerNamesLayerAndResource) {
    const core::ArchConfig a = core::load_arch("eyeriss-v1");
    const auto s = core::LayerShape::parse_spec("C=64,M=128,R=3,S=3,P=28,Q=28,pad=1");
    const auto message = [&](const core::ArchConfig& arch) {
        try {
            find_mapping(s, arch, Objective::kEnergy, 0.5, "conv7");
        } catch (const core::InputError& e) {
            return std::string(e.what());
        }
        return std::string("no error");
    };
    core::ArchConfig tiny = a;
    tiny.glb.ifmap_psum_banks = 1;
    tiny.glb.bank_bytes = 16;  // 8 words: not even one 3 x 3 window and its psum
    std::string m = message(tiny);
    EXPECT_NE(m.find("conv7"), std::string::npos) << m;
    EXPECT_NE(m.find("ifmap/psum part holds 8 words"), std::string::npos) << m;
    EXPECT_EQ(m.find('\n'), std::string::npos) << m;
    core::ArchConfig no_filters = a;
    no_filters.glb.filter_bytes = 16;  // 8 words: not one 3 x 3 filter
    m = message(no_filters);
    EXPECT_NE(m.find("conv7"), std::string::npos) << m;
    EXPECT_NE(m.find("filter part holds 8 words"), std::string::npos) << m;
    EXPECT_EQ(m.find('\n'), std::string::npos) << m;
    // Unnamed layers are named by their shape.
    try {
        find_mapping(s, tiny, Objective::kEnergy, 0.5);
        ADD_FAILURE() << "expected an InputError";
    } catch (const core::InputError& e) {
        EXPECT_NE(std::string(e.what()).find(s.to_spec()), std::string::npos) << e.what();
    }
}

TEST(MapperCoverage, TilingJsonReadsMappingsWithoutColumnStrips) {
    const auto j = nlohmann::json::parse(R"({"n":1,"g":1,"m":8,"c":4,"rows":7})");
    const GlbTiling t = tiling_from_json(j, "glb");
    EXPECT_EQ(t.cols, 0);
    const auto s = core::LayerShape::parse_spec("C=4,M=8,R=3,S=3,P=14,Q=14,pad=1");
    EXPECT_EQ(strip_cols(s, t), 14);
    EXPECT_EQ(tiling_from_json(to_json(GlbTiling{1, 1, 8, 4, 7, 5}), "glb"),
              (GlbTiling{1, 1, 8, 4, 7, 5}));
}

}  // namespace
}  // namespace actsparse::tlm
