// Mapping validity reasons, the pass plan, and the JSON contracts of Mapping and ArrayStats.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "hw/array.h"

namespace actsparse::hw {
namespace {

core::LayerShape layer(const std::string& spec) { return core::LayerShape::parse_spec(spec); }

Mapping valid_mapping() {
    Mapping m;
    m.p = 4;
    m.q = 2;
    m.e = 8;
    m.r = 1;
    m.t = 2;
    m.filter_rows = 3;
    m.filter_cols = 3;
    return m;
}

TEST(CheckMapping, AcceptsAValidMappingAndNamesEachViolation) {
    const core::LayerShape s = layer("N=2,C=8,M=16,R=3,S=3,P=8,Q=8,pad=1");
    const core::ArchConfig a;
    EXPECT_FALSE(check_mapping(s, valid_mapping(), a));
    struct Case {
        void (*edit)(Mapping&);
        const char* needle;
    };
    const Case cases[] = {
        {[](Mapping& m) { m.n = 0; }, "n = 0"},
        {[](Mapping& m) { m.n = 3; }, "exceeds N"},
        {[](Mapping& m) { m.q = 5; }, "ifmap spad"},  // 5*3 > 12
        {[](Mapping& m) { m.e = 9; }, "exceeds P"},
        {[](Mapping& m) { m.filter_rows = 4; }, "exceeds R"},
        {[](Mapping& m) { m.r = 5; }, "ceil((C/G)/q)"},
        {[](Mapping& m) { m.t = 5; }, "filter tiles"},
        {[](Mapping& m) {
             m.r = 4;
             m.t = 2;
         },
         "stack slots"},  // 4 sets x 3 rows fill 12
    };
    for (const Case& c : cases) {
        Mapping m = valid_mapping();
        c.edit(m);
        const auto why = check_mapping(s, m, a);
        ASSERT_TRUE(why) << to_string(m);
        EXPECT_NE(why->find(c.needle), std::string::npos) << *why;
    }
    Mapping four = valid_mapping();
    four.r = 4;
    four.t = 1;
    EXPECT_FALSE(check_mapping(s, four, a));  // 4 stacked sets of 3 rows fill 12 rows
    core::ArchConfig small = a;
    small.pe.psum_spad_words = 3;
    EXPECT_NE(check_mapping(s, valid_mapping(), small)->find("psum spad"), std::string::npos);
    small = a;
    small.pe.filter_spad_words = 20;  // p*q*S = 24
    EXPECT_NE(check_mapping(s, valid_mapping(), small)->find("filter spad"), std::string::npos);
    small = a;
    small.array.rows = 2;
    EXPECT_NE(check_mapping(s, valid_mapping(), small)->find("rows"), std::string::npos);
    Mapping folded = valid_mapping();
    const core::LayerShape tall = layer("C=8,M=16,R=3,S=3,P=20,Q=8,pad=1");
    folded.e = 20;  // 2 folds of 10 columns, 6 rows
    folded.t = 2;
    EXPECT_FALSE(check_mapping(tall, folded, a));
    folded.r = 2;
    EXPECT_NE(check_mapping(tall, folded, a)->find("unfolded"), std::string::npos);
    folded.r = 1;
    folded.t = 3;
    EXPECT_NE(check_mapping(tall, folded, a)->find("stack slots"), std::string::npos);
}

TEST(PlanPasses, CoversEveryTileOnceWithChannelBlocksInnermost) {
    const core::LayerShape s = layer("N=3,C=10,M=12,G=2,R=5,S=3,P=7,Q=4");
    Mapping m;
    m.n = 2;
    m.p = 4;
    m.q = 2;
    m.e = 3;
    m.r = 2;
    m.t = 2;
    m.filter_rows = 2;
    m.filter_cols = 2;
    const Tiling tl = tiling(s, m);
    const auto passes = plan_passes(s, m);
    ASSERT_EQ(static_cast<int64_t>(passes.size()), tl.passes());
    EXPECT_EQ(tl.filter_tiles, 4);  // 6 filters per group in tiles of 4 -> 2 per group
    int64_t macs = 0;
    for (const PassTile& p : passes) {
        int64_t filters = 0;
        for (int64_t k = 0; k < p.tile_count; ++k)
            filters += filter_tile(s, m, p.tile_first + k).count;
        macs += p.image_count * p.orow_count * s.Q * filters * p.chan_count * p.frow_count *
                p.fcol_count;
        EXPECT_EQ(p.accumulate_in, p.channel_block + p.frow_block + p.fcol_block > 0);
    }
    EXPECT_EQ(macs, s.macs());
    EXPECT_EQ(passes[1].channel_block, 1);  // innermost
    EXPECT_EQ(filter_tile(s, m, 1).first, 4);
    EXPECT_EQ(filter_tile(s, m, 1).count, 2);
    EXPECT_EQ(filter_tile(s, m, 2).group, 1);
    EXPECT_EQ(filter_tile(s, m, 2).first, 6);
}

TEST(MappingJson, RoundTripsAndRejectsBadFields) {
    const Mapping m = valid_mapping();
    EXPECT_EQ(mapping_from_json(to_json(m), "m"), m);
    nlohmann::json j = to_json(m);
    j["extra"] = 1;
    try {
        mapping_from_json(j, "layer3.mapping");
        FAIL();
    } catch (const core::InputError& e) {
        EXPECT_NE(std::string(e.what()).find("layer3.mapping.extra"), std::string::npos);
    }
    j = to_json(m);
    j.erase("q");
    EXPECT_THROW(mapping_from_json(j, "m"), core::InputError);
    j = to_json(m);
    j["p"] = 2.5;
    EXPECT_THROW(mapping_from_json(j, "m"), core::InputError);
    EXPECT_THROW(mapping_from_json(nlohmann::json::array(), "m"), core::InputError);
}

TEST(ArrayStatsJson, DrivenByOneFieldList) {
    ArrayStats s;
    s.cycles = 10;
    s.macs_gated = 3;
    s.psum_link_words = 7;
    const nlohmann::json j = s.to_json();
    EXPECT_EQ(j.at("macs_gated"), 3);
    EXPECT_EQ(ArrayStats::from_json(j, "stats"), s);
    ArrayStats t = s;
    t += s;
    EXPECT_EQ(t.cycles, 20);
    EXPECT_EQ(t.psum_link_words, 14);
    EXPECT_NE(t, s);
    EXPECT_NE(t.diff(s).find("cycles"), std::string::npos);
    nlohmann::json bad = j;
    bad["bogus"] = 1;
    EXPECT_THROW(ArrayStats::from_json(bad, "stats"), core::InputError);
    bad = j;
    bad.erase("cycles");
    EXPECT_THROW(ArrayStats::from_json(bad, "stats"), core::InputError);
}

TEST(FidelityName, ParsesNames) {
    EXPECT_EQ(parse_fidelity("cycle", "x"), Fidelity::kCycle);
    EXPECT_EQ(parse_fidelity("fast", "x"), Fidelity::kFast);
    EXPECT_STREQ(to_string(Fidelity::kCycle), "cycle");
    EXPECT_THROW(parse_fidelity("slow", "--fidelity"), core::InputError);
}

}  // namespace
}  // namespace actsparse::hw
