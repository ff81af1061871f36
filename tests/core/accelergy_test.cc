// Accelergy ERTs as energy tables; the eyeriss_like ERT of ../shared/fixtures is used in place.
#include "core/accelergy.h"

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "core/error.h"

namespace actsparse::core {
namespace {

namespace fs = std::filesystem;

const std::string kErtDir =
    std::string(ACTSPARSE_SOURCE_DIR) + "/../shared/fixtures/accelergy-eyeriss-like";

#define REQUIRE_FIXTURES()           \
    if (!fs::is_directory(kErtDir))  \
    GTEST_SKIP() << "no " << kErtDir \
                 << " (the shared fixtures of other tools' files): ERT tests skipped"

// An action's energy as the file gives it, found by the component's name part.
double ert_energy(const std::string& component, const std::string& action) {
    const YAML::Node tables =
        YAML::LoadFile(kErtDir + "/timeloop-mapper.ERT.yaml")["ERT"]["tables"];
    for (const auto& t : tables)
        if (t["name"].as<std::string>().find(component) != std::string::npos)
            for (const auto& a : t["actions"])
                if (a["name"].as<std::string>() == action) return a["energy"].as<double>();
    ADD_FAILURE() << "no " << component << "." << action << " in the fixture";
    return -1;
}

EnergyTable marked_base() {
    EnergyTable b;
    double v = 1000;
#define ACTSPARSE_MARK(name) b.name = (v += 1);
    ACTSPARSE_ENERGY_FIELDS(ACTSPARSE_MARK)
#undef ACTSPARSE_MARK
    return b;
}

TEST(Accelergy, MapsTheEyerissLikeErt) {
    REQUIRE_FIXTURES();
    const EnergyTable base = marked_base();
    const ErtEnergy e = read_accelergy_ert(kErtDir + "/timeloop-mapper.ERT.yaml", base);
    EXPECT_DOUBLE_EQ(e.energy.mac_pj, ert_energy("mac", "compute"));
    EXPECT_DOUBLE_EQ(e.energy.ifmap_spad_read_pj, ert_energy("ifmap_spad", "read"));
    EXPECT_DOUBLE_EQ(e.energy.ifmap_spad_write_pj, ert_energy("ifmap_spad", "write"));
    EXPECT_DOUBLE_EQ(e.energy.filter_spad_read_pj, ert_energy("weights_spad", "read"));
    EXPECT_DOUBLE_EQ(e.energy.filter_spad_write_pj, ert_energy("weights_spad", "write"));
    EXPECT_DOUBLE_EQ(e.energy.psum_spad_read_pj, ert_energy("psum_spad", "read"));
    EXPECT_DOUBLE_EQ(e.energy.psum_spad_write_pj, ert_energy("psum_spad", "write"));
    EXPECT_DOUBLE_EQ(e.energy.glb_read_pj, ert_energy("shared_glb", "read"));
    EXPECT_DOUBLE_EQ(e.energy.glb_write_pj, ert_energy("shared_glb", "write"));
    EXPECT_DOUBLE_EQ(e.energy.dram_read_pj, ert_energy("DRAM", "read"));
    EXPECT_DOUBLE_EQ(e.energy.dram_write_pj, ert_energy("DRAM", "write"));
    // No gated MAC, NoC or array link in this design: kept from the base, and named.
    const std::vector<std::string> missing = {"mac_gated_pj", "noc_word_pj", "array_link_word_pj"};
    EXPECT_EQ(e.missing, missing);
    EXPECT_EQ(e.energy.mac_gated_pj, base.mac_gated_pj);
    EXPECT_EQ(e.energy.noc_word_pj, base.noc_word_pj);
    EXPECT_EQ(e.energy.array_link_word_pj, base.array_link_word_pj);
    const std::string w = ert_warning("ERT.yaml", e, "x");
    EXPECT_NE(w.find("mac_gated_pj, noc_word_pj, array_link_word_pj"), std::string::npos);
    EXPECT_EQ(w.find('\n'), std::string::npos);
    // The summary gives the same table.
    const ErtEnergy s = read_accelergy_ert(kErtDir + "/timeloop-mapper.ERT_summary.yaml", base);
    EXPECT_DOUBLE_EQ(s.energy.glb_read_pj, e.energy.glb_read_pj);
    EXPECT_DOUBLE_EQ(s.energy.mac_pj, e.energy.mac_pj);
    EXPECT_EQ(s.missing, missing);
}

std::string write_temp(const std::string& name, const std::string& text) {
    const std::string path = ::testing::TempDir() + "/" + name;
    std::ofstream(path) << text;
    return path;
}

std::string error_of(const std::string& text) {
    try {
        read_accelergy_ert(write_temp("bad-ert.yaml", text), EnergyTable{});
    } catch (const InputError& e) {
        return e.what();
    }
    return "";
}

TEST(Accelergy, Version03NamesAndBadFiles) {
    const ErtEnergy e = read_accelergy_ert(
        write_temp("v03.yaml",
                   "ERT:\n  version: 0.3\n  tables:\n  - name: sys.chip.PE[0..167].mac\n"
                   "    actions:\n    - {name: mac_random, energy: 2.5}\n"
                   "    - {name: mac_gated, energy: 0.25}\n"
                   "  - name: sys.chip.GlobalBuffer\n    actions:\n"
                   "    - {name: read, arguments: {data_delta: 0}, energy: 3}\n"
                   "    - {name: read, arguments: {data_delta: 1}, energy: 7}\n"),
        EnergyTable{});
    EXPECT_EQ(e.energy.mac_pj, 2.5);
    EXPECT_EQ(e.energy.mac_gated_pj, 0.25);
    EXPECT_EQ(e.energy.glb_read_pj, 7);  // the largest variant (random data)
    EXPECT_NE(error_of("ERT:\n  tables:\n  - {name: a.glb, actions: [{name: read, energy: 1}]}\n"
                       "  - {name: b.glb, actions: [{name: read, energy: 2}]}\n")
                  .find("ERT.tables[1].name"),
              std::string::npos);
    EXPECT_NE(error_of("ERT:\n  tables:\n  - {name: a.glb, actions: [{name: read, energy: x}]}\n")
                  .find("ERT.tables[0].actions[0].energy"),
              std::string::npos);
    EXPECT_NE(error_of("ERT:\n  tables:\n  - {name: a.glb, actions: [{name: read, energy: -1}]}\n")
                  .find("bad-ert.yaml"),
              std::string::npos);
    EXPECT_NE(error_of("ERT:\n  version: 0.9\n  tables: []\n").find("ERT.version"),
              std::string::npos);
    EXPECT_NE(error_of("architecture: {}\n").find("bad-ert.yaml: ERT"), std::string::npos);
    EXPECT_NE(error_of("ERT:\n  tables:\n  - {name: a.foo, actions: [{name: read, energy: 1}]}\n")
                  .find("no component"),
              std::string::npos);
}

TEST(Accelergy, ArchYamlKeyAndV2Refusal) {
    REQUIRE_FIXTURES();
    const std::string yaml = builtin_arch_yaml();
    // The built-in eyeriss-v1 with its energy section replaced by the ERT and one key.
    const std::string head = yaml.substr(0, yaml.find("\nenergy:"));
    const std::string path =
        write_temp("ert-arch.yaml", head + "\nenergy:\n  accelergy_ert: " + kErtDir +
                                        "/timeloop-mapper.ERT.yaml\n  noc_word_pj: 9.5\n");
    const ArchConfig builtin = load_arch("eyeriss-v1");
    const ArchConfig a = load_arch(path);
    EXPECT_DOUBLE_EQ(a.energy.glb_read_pj, ert_energy("shared_glb", "read"));
    EXPECT_DOUBLE_EQ(a.energy.noc_word_pj, 9.5);  // given beside the ERT: wins
    EXPECT_DOUBLE_EQ(a.energy.mac_gated_pj, builtin.energy.mac_gated_pj);
    // A relative ERT path is relative to the arch file.
    fs::create_directories(::testing::TempDir() + "/ert-rel");
    fs::copy_file(kErtDir + "/timeloop-mapper.ERT.yaml", ::testing::TempDir() + "/ert-rel/ert.yaml",
                  fs::copy_options::overwrite_existing);
    const std::string rel =
        write_temp("ert-rel/arch.yaml", head + "\nenergy:\n  accelergy_ert: ert.yaml\n");
    EXPECT_DOUBLE_EQ(load_arch(rel).energy.dram_read_pj, ert_energy("DRAM", "read"));
    // Without the ERT key every energy key stays required.
    EXPECT_THROW(load_arch(write_temp("no-ert.yaml", head + "\nenergy:\n  noc_word_pj: 1\n")),
                 InputError);
    ArchConfig v2 = load_arch("eyeriss-v2");
    EXPECT_THROW(apply_accelergy_ert(v2, kErtDir + "/timeloop-mapper.ERT.yaml", "--energy-table"),
                 InputError);
    ArchConfig v1 = load_arch("eyeriss-v1");
    apply_accelergy_ert(v1, kErtDir + "/timeloop-mapper.ERT.yaml", "--energy-table");
    EXPECT_DOUBLE_EQ(v1.energy.mac_pj, ert_energy("mac", "compute"));
    EXPECT_DOUBLE_EQ(v1.energy.noc_word_pj, builtin.energy.noc_word_pj);
}

}  // namespace
}  // namespace actsparse::core
