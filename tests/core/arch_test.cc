#include "core/arch.h"

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "core/error.h"

namespace actsparse::core {
namespace {

// The message of the InputError that `f` throws ("" when it throws none).
template <class F>
std::string error_of(F f) {
    try {
        f();
    } catch (const InputError& e) {
        return e.what();
    }
    return "";
}

std::string dump(const YAML::Node& n) {
    YAML::Emitter out;
    out << n;
    return out.c_str();
}

// Every leaf key path of the built-in config, e.g. "pe.filter_spad_words".
std::vector<std::string> leaf_paths() {
    std::vector<std::string> paths;
    const YAML::Node root = YAML::Load(builtin_arch_yaml());
    for (const auto& kv : root) {
        const std::string key = kv.first.as<std::string>();
        if (kv.second.IsMap()) {
            for (const auto& sub : kv.second)
                paths.push_back(key + "." + sub.first.as<std::string>());
        } else {
            paths.push_back(key);
        }
    }
    return paths;
}

TEST(Arch, BuiltinIsEyerissV1) {
    const ArchConfig a = load_arch("eyeriss-v1");
    EXPECT_EQ(a.name, "eyeriss-v1");
    EXPECT_EQ(a.array.rows, 12);
    EXPECT_EQ(a.array.cols, 14);
    EXPECT_EQ(a.word_bits, 16);
    EXPECT_EQ(a.pe.ifmap_spad_words, 12);
    EXPECT_EQ(a.pe.filter_spad_words, 224);
    EXPECT_EQ(a.pe.psum_spad_words, 24);
    EXPECT_EQ(a.glb.ifmap_psum_banks, 25);
    EXPECT_EQ(a.glb.bank_bytes, 4096);
    EXPECT_EQ(a.glb.capacity_bytes(), 108 * 1024);
    EXPECT_EQ(a.dram.bus_bits, 64);
    EXPECT_DOUBLE_EQ(a.clock_mhz, 200.0);
    EXPECT_EQ(a.zero_mode, ZeroMode::kGate);
    // Every energy is set and the hierarchy is ordered as in Eyeriss: RF < NoC < GLB < DRAM.
#define EXPECT_POSITIVE(name) EXPECT_GT(a.energy.name, 0.0) << #name;
    ACTSPARSE_ENERGY_FIELDS(EXPECT_POSITIVE)
#undef EXPECT_POSITIVE
    EXPECT_LT(a.energy.mac_gated_pj, a.energy.mac_pj);
    EXPECT_LT(a.energy.filter_spad_read_pj, a.energy.noc_word_pj);
    EXPECT_LT(a.energy.noc_word_pj, a.energy.glb_read_pj);
    EXPECT_LT(a.energy.glb_read_pj, a.energy.dram_read_pj);
}

TEST(Arch, BuiltinYamlHasExactlyTheEnergyFieldsEachWithASource) {
    const YAML::Node energy = YAML::Load(builtin_arch_yaml())["energy"];
    std::set<std::string> want;
#define ADD_NAME(name) want.insert(#name);
    ACTSPARSE_ENERGY_FIELDS(ADD_NAME)
#undef ADD_NAME
    std::set<std::string> have;
    for (const auto& kv : energy) have.insert(kv.first.as<std::string>());
    EXPECT_EQ(have, want);
    // Each energy line carries a citation comment.
    std::istringstream lines(builtin_arch_yaml());
    std::string line;
    int cited = 0;
    while (std::getline(lines, line)) {
        const auto colon = line.find(':');
        if (colon == std::string::npos || line.rfind("  ", 0) != 0) continue;
        const std::string key = line.substr(2, colon - 2);
        if (!want.count(key)) continue;
        EXPECT_NE(line.find("# ["), std::string::npos) << "no source cited: " << line;
        ++cited;
    }
    EXPECT_EQ(cited, static_cast<int>(want.size()));
}

TEST(Arch, JsonHasEveryFieldAndReadsBackAsYaml) {
    const ArchConfig a = load_arch("eyeriss-v1");
    const nlohmann::json j = arch_to_json(a);
    EXPECT_EQ(j["pe"]["filter_spad_words"], 224);
    EXPECT_EQ(j["zero_mode"], "gate");
    EXPECT_EQ(j["dram"]["rlc"], true);
    size_t leaves = 0;
    for (const auto& [k, v] : j.items()) leaves += v.is_object() ? v.size() : 1;
    EXPECT_EQ(leaves, leaf_paths().size());
    // JSON is YAML: the effective config written next to results loads as a config.
    const ArchConfig b = parse_arch_yaml(j.dump(2), "effective.json");
    EXPECT_EQ(arch_to_json(b), j);
    EXPECT_EQ(arch_hash(b), arch_hash(a));
}

TEST(Arch, HashIsStableHexAndSensitive) {
    ArchConfig a = load_arch("eyeriss-v1");
    const std::string h = arch_hash(a);
    EXPECT_EQ(h.size(), 16u);
    EXPECT_EQ(h.find_first_not_of("0123456789abcdef"), std::string::npos);
    EXPECT_EQ(arch_hash(load_arch("eyeriss-v1")), h);
    a.energy.dram_read_pj += 1e-9;
    EXPECT_NE(arch_hash(a), h);
    a = load_arch("eyeriss-v1");
    a.zero_mode = ZeroMode::kSkip;
    EXPECT_NE(arch_hash(a), h);
}

TEST(Arch, UnknownKeyNamesFileAndPath) {
    YAML::Node root = YAML::Load(builtin_arch_yaml());
    root["pe"]["filter_spad_wrds"] = 224;
    EXPECT_EQ(error_of([&] { parse_arch_yaml(dump(root), "arch.yaml"); }),
              "arch.yaml: pe.filter_spad_wrds: unknown key");
    root = YAML::Load(builtin_arch_yaml());
    root["cache"] = 1;
    EXPECT_EQ(error_of([&] { parse_arch_yaml(dump(root), "arch.yaml"); }),
              "arch.yaml: cache: unknown key");
}

TEST(Arch, EveryKeyIsRequired) {
    const auto paths = leaf_paths();
    EXPECT_GE(paths.size(), 40u);
    for (const std::string& path : paths) {
        YAML::Node root = YAML::Load(builtin_arch_yaml());
        const auto dot = path.find('.');
        if (dot == std::string::npos)
            root.remove(path);
        else
            root[path.substr(0, dot)].remove(path.substr(dot + 1));
        EXPECT_EQ(error_of([&] { parse_arch_yaml(dump(root), "arch.yaml"); }),
                  "arch.yaml: " + path + ": missing required key");
    }
}

TEST(Arch, TypeErrorsNameTheKey) {
    auto with = [](const std::string& section, const std::string& key, const std::string& value) {
        YAML::Node root = YAML::Load(builtin_arch_yaml());
        if (section.empty())
            root[key] = YAML::Load(value);
        else
            root[section][key] = YAML::Load(value);
        return error_of([&] { parse_arch_yaml(dump(root), "a.yaml"); });
    };
    EXPECT_EQ(with("pe", "filter_spad_words", "12.5"),
              "a.yaml: pe.filter_spad_words: expected an integer, got '12.5'");
    EXPECT_EQ(with("pe", "filter_spad_words", "[1, 2]"),
              "a.yaml: pe.filter_spad_words: expected an integer, got a list");
    EXPECT_EQ(with("pe", "filter_spad_words", "~"),
              "a.yaml: pe.filter_spad_words: expected an integer, got nothing");
    EXPECT_EQ(with("energy", "mac_pj", "cheap"),
              "a.yaml: energy.mac_pj: expected a finite number, got 'cheap'");
    EXPECT_EQ(with("energy", "mac_pj", ".nan"),
              "a.yaml: energy.mac_pj: expected a finite number, got '.nan'");
    EXPECT_EQ(with("dram", "rlc", "maybe"),
              "a.yaml: dram.rlc: expected true or false, got 'maybe'");
    EXPECT_EQ(with("", "zero_mode", "skipping"),
              "a.yaml: zero_mode: expected none, gate or skip, got 'skipping'");
    EXPECT_EQ(with("", "pe", "3"), "a.yaml: pe: expected a map, got a scalar");
    // Integers are fine where numbers are expected.
    EXPECT_EQ(with("energy", "mac_pj", "2"), "");
}

TEST(Arch, ValidateChecksRanges) {
    auto with = [](const std::string& section, const std::string& key, const std::string& value) {
        YAML::Node root = YAML::Load(builtin_arch_yaml());
        if (section.empty())
            root[key] = YAML::Load(value);
        else
            root[section][key] = YAML::Load(value);
        return error_of([&] { parse_arch_yaml(dump(root), "a.yaml"); });
    };
    EXPECT_EQ(with("array", "rows", "0"), "a.yaml: array.rows: must be in [1, 1024], got 0");
    EXPECT_NE(with("pe", "accum_bits", "8").find("a.yaml: pe.accum_bits:"), std::string::npos);
    EXPECT_NE(with("noc", "ifmap_bus_bits", "72").find("multiple of word_bits"), std::string::npos);
    EXPECT_NE(with("energy", "glb_read_pj", "-1").find("a.yaml: energy.glb_read_pj:"),
              std::string::npos);
    EXPECT_NE(with("", "clock_mhz", "0").find("a.yaml: clock_mhz:"), std::string::npos);
    EXPECT_NE(with("", "frac_bits", "16").find("a.yaml: frac_bits:"), std::string::npos);
    EXPECT_NE(with("dram", "rlc_pairs_per_word", "4").find("do not fit"), std::string::npos);
    EXPECT_NE(with("", "name", "''").find("a.yaml: name:"), std::string::npos);

    ArchConfig a = load_arch("eyeriss-v1");
    a.validate("x");
    a.glb.bank_bytes = 0;
    EXPECT_EQ(error_of([&] { a.validate("x"); }),
              "x: glb.bank_bytes: must be in [1, 1073741824], got 0");
}

TEST(Arch, MalformedYamlIsOneLineInputError) {
    for (const std::string text : {"pe: [", "", "- 1\n- 2", "name: a\nname: b\n", "{a: 1"}) {
        const std::string msg = error_of([&] { parse_arch_yaml(text, "bad.yaml"); });
        EXPECT_EQ(msg.rfind("bad.yaml", 0), 0u) << "for: " << text << " got: " << msg;
        EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
    }
    // A duplicate key is refused, not silently resolved.
    const std::string dup = builtin_arch_yaml() + "\nword_bits: 8\n";
    EXPECT_EQ(error_of([&] { parse_arch_yaml(dup, "d.yaml"); }), "d.yaml: word_bits: given twice");
}

TEST(Arch, LoadsFilesByPath) {
    const std::string path = ::testing::TempDir() + "/arch_test_small.yaml";
    YAML::Node root = YAML::Load(builtin_arch_yaml());
    root["name"] = "small";
    root["array"]["rows"] = 3;
    root["array"]["cols"] = 4;
    {
        std::ofstream f(path);
        f << dump(root);
    }
    const ArchConfig a = load_arch(path);
    EXPECT_EQ(a.name, "small");
    EXPECT_EQ(a.array.rows, 3);
    EXPECT_NE(arch_hash(a), arch_hash(load_arch("eyeriss-v1")));
    std::remove(path.c_str());
    EXPECT_EQ(error_of([] { load_arch("/nonexistent/arch.yaml"); }),
              "/nonexistent/arch.yaml: cannot open file");
}

TEST(Arch, ZeroModeNames) {
    for (ZeroMode m : {ZeroMode::kNone, ZeroMode::kGate, ZeroMode::kSkip})
        EXPECT_EQ(parse_zero_mode(to_string(m), "x"), m);
    EXPECT_THROW(parse_zero_mode("Gate", "x"), InputError);
}

}  // namespace
}  // namespace actsparse::core
