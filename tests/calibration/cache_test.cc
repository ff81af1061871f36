// The point cache: keys, exact round trips, misses on collisions and damage.
#include "calibration/engine/cache.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <set>

#include "core/error.h"
#include "test_dir.h"

namespace actsparse::calibration {
namespace {

PointSpec spec() {
    PointSpec p;
    p.layer = 3;
    p.layer_name = "features.3";
    p.shape = core::LayerShape::parse_spec("C=16,M=32,R=3,S=3,P=8,Q=8,pad=1");
    p.density = 0.3;
    p.seed = 2;
    p.pattern = core::ZeroPattern::kBlock;
    return p;
}

SimContext context() { return {"abcdef0123456789", "skip", "fast", "energy", true, "m1"}; }

PointResult result() {
    PointResult r;
    r.density = 0.30078125;
    r.energy_pj = 1234567.8901234567;
    r.cycles = 98765;
    r.cycles_processing = 91234;
    r.mapping = {{"glb", {{"m", 4}}}, {"array", {{"p", 2}, {"q", 3}}}};
    r.host_seconds = 0.125;
    return r;
}

TEST(CacheKey, EveryFieldOfThePointAndContextMatters) {
    const std::string base = cache_key(context(), spec());
    std::set<std::string> keys{base};
    auto vary_ctx = [&](auto change) {
        SimContext c = context();
        change(c);
        EXPECT_TRUE(keys.insert(cache_key(c, spec())).second);
    };
    auto vary_point = [&](auto change) {
        PointSpec p = spec();
        change(p);
        EXPECT_TRUE(keys.insert(cache_key(context(), p)).second);
    };
    vary_ctx([](SimContext& c) { c.arch_hash = "ffff"; });
    vary_ctx([](SimContext& c) { c.zero_mode = "gate"; });
    vary_ctx([](SimContext& c) { c.fidelity = "cycle"; });
    vary_ctx([](SimContext& c) { c.objective = "cycles"; });
    vary_ctx([](SimContext& c) { c.relu_out = false; });
    vary_ctx([](SimContext& c) { c.model_version = "m2"; });
    vary_point([](PointSpec& p) { p.shape.N = 2; });
    vary_point([](PointSpec& p) { p.shape.G = 2; });
    vary_point([](PointSpec& p) { p.density = 0.30000001; });
    vary_point([](PointSpec& p) { p.seed = 3; });
    vary_point([](PointSpec& p) { p.pattern = core::ZeroPattern::kChannel; });
    vary_point([](PointSpec& p) { p.ifmap_compressed = false; });
    // The layer's name and role do not change what is simulated: same shape, same entry.
    PointSpec renamed = spec();
    renamed.layer_name = "other";
    renamed.layer = 7;
    renamed.role = PointRole::kValidate;
    EXPECT_EQ(cache_key(context(), renamed), base);
}

TEST(PointCache, RoundTripIsExact) {
    testing::TempDir dir;
    const PointCache cache(dir / "cache");
    const std::string key = cache_key(context(), spec());
    EXPECT_FALSE(cache.load(key));
    cache.store(key, spec(), result());
    const auto back = cache.load(key);
    ASSERT_TRUE(back);
    EXPECT_EQ(back->density, result().density);
    EXPECT_EQ(back->energy_pj, result().energy_pj);
    EXPECT_EQ(back->cycles, result().cycles);
    EXPECT_EQ(back->cycles_processing, result().cycles_processing);
    EXPECT_EQ(back->mapping, result().mapping);
    EXPECT_EQ(testing::count_entries(dir / "cache"), 1u);
    // Written atomically: no temporary file is left next to it.
    for (const auto& e : std::filesystem::recursive_directory_iterator(dir / "cache"))
        if (e.is_regular_file()) {
            EXPECT_EQ(e.path().extension(), ".json") << e.path();
        }
}

TEST(PointCache, AnotherKeyInTheSameFileIsAMiss) {
    testing::TempDir dir;
    const PointCache cache(dir.str());
    const std::string key = cache_key(context(), spec());
    cache.store(key, spec(), result());
    // Simulate a hash collision: the file for `key` holds another key.
    auto j = nlohmann::json::parse(core::read_file(cache.path_of(key)));
    j["key"] = key + "x";
    core::write_file_atomic(cache.path_of(key), j.dump());
    EXPECT_FALSE(cache.load(key));
}

TEST(PointCache, DamagedEntryIsAMissAndIsOverwritten) {
    testing::TempDir dir;
    const PointCache cache(dir.str());
    const std::string key = cache_key(context(), spec());
    cache.store(key, spec(), result());
    std::ofstream(cache.path_of(key), std::ios::trunc) << "{\"key\": \"trunc";
    EXPECT_FALSE(cache.load(key));
    cache.store(key, spec(), result());
    EXPECT_TRUE(cache.load(key));
}

TEST(PointCache, DisabledCacheNeverHitsOrWrites) {
    const PointCache cache("");
    EXPECT_FALSE(cache.enabled());
    cache.store("k", spec(), result());
    EXPECT_FALSE(cache.load("k"));
}

TEST(PointCache, UnwritableFolderIsAnInputError) {
    testing::TempDir dir;
    std::ofstream(dir / "file") << "x";
    const PointCache cache(dir / "file");  // a file where the folder should be
    EXPECT_THROW(cache.store("k", spec(), result()), core::InputError);
}

}  // namespace
}  // namespace actsparse::calibration
