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

// Every leaf key path of a config, e.g. "pe.filter_spad_words" (the built-in v1 by default).
std::vector<std::string> leaf_paths(const std::string& yaml = builtin_arch_yaml()) {
    std::vector<std::string> paths;
    const YAML::Node root = YAML::Load(yaml);
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

// ---- eyeriss-v2 ----

const std::string& v2_yaml() { return builtin_arch_yaml(ArrayType::kEyerissV2); }

// The error of the built-in v2 with `path` ("section.key" or "key") set to `value` (YAML).
std::string v2_with(const std::string& path, const std::string& value) {
    YAML::Node root = YAML::Load(v2_yaml());
    const auto dot = path.find('.');
    if (dot == std::string::npos)
        root[path] = YAML::Load(value);
    else
        root[path.substr(0, dot)][path.substr(dot + 1)] = YAML::Load(value);
    return error_of([&] { parse_arch_yaml(dump(root), "v2.yaml"); });
}

// True when `msg` is an error of v2.yaml naming `key` (followed by ": ").
bool names_key(const std::string& msg, const std::string& key) {
    return msg.rfind("v2.yaml: " + key + ": ", 0) == 0;
}

TEST(ArchV2, BuiltinHasTheCitedValues) {
    const ArchConfig a = load_arch("eyeriss-v2");
    EXPECT_EQ(a.type, ArrayType::kEyerissV2);
    EXPECT_EQ(a.name, "eyeriss-v2");
    EXPECT_EQ(a.word_bits, 8);
    EXPECT_DOUBLE_EQ(a.clock_mhz, 200.0);
    EXPECT_EQ(a.zero_mode, ZeroMode::kSkip);
    const V2Params& v = a.v2;
    EXPECT_EQ(v.pes, 192);
    EXPECT_EQ(v.clusters.rows, 8);
    EXPECT_EQ(v.clusters.cols, 2);
    EXPECT_EQ(v.clusters.pe_rows, 3);
    EXPECT_EQ(v.clusters.pe_cols, 4);
    EXPECT_EQ(v.pe.macs_per_cycle, 2);
    EXPECT_EQ(v.pe.pipeline_stages, 7);
    EXPECT_EQ(v.pe.mac_pipeline_stages, 2);
    EXPECT_EQ(v.pe.psum_bits, 20);
    // Spads, entries x bits: iact data 16 x 12b, iact address 9 x 4b, weight data 96 x 24b,
    // weight address 16 x 7b, psum 32 x 20b (JETCAS IV-A).
    EXPECT_EQ(v.pe.iact_data_spad_entries, 16);
    EXPECT_EQ(v.pe.iact_data_spad_bits, 12);
    EXPECT_EQ(v.pe.iact_addr_spad_entries, 9);
    EXPECT_EQ(v.pe.iact_addr_spad_bits, 4);
    EXPECT_EQ(v.pe.weight_data_spad_entries, 96);
    EXPECT_EQ(v.pe.weight_data_spad_bits, 24);
    EXPECT_EQ(v.pe.weights(), 192);
    EXPECT_EQ(v.pe.weight_addr_spad_entries, 16);
    EXPECT_EQ(v.pe.weight_addr_spad_bits, 7);
    EXPECT_EQ(v.pe.psum_spad_entries, 32);
    EXPECT_EQ(v.pe.psum_spad_bits, 20);
    EXPECT_EQ(v.csc.count_bits, 4);
    EXPECT_EQ(v.csc.data_bits, 8);
    EXPECT_EQ(v.csc.pair_bits(), 12);
    EXPECT_TRUE(v.csc.off_chip);
    // GLB cluster: 3 x 1.5 kB iact banks + 4 x 1.875 kB psum banks = 12 KB; no weights.
    EXPECT_EQ(v.glb.iact_banks, 3);
    EXPECT_EQ(v.glb.iact_bank_bytes, 1536);
    EXPECT_EQ(v.glb.psum_banks, 4);
    EXPECT_EQ(v.glb.psum_bank_bytes, 1920);
    EXPECT_EQ(v.glb.weight_bytes, 0);
    EXPECT_EQ(v.glb.cluster_bytes(), 12 * 1024);
    EXPECT_EQ(v.routers.iact_routers, 3);
    EXPECT_EQ(v.routers.weight_routers, 3);
    EXPECT_EQ(v.routers.psum_routers, 4);
    EXPECT_EQ(v.routers.iact_router_ports, 4);
    EXPECT_EQ(v.routers.weight_router_ports, 2);
    EXPECT_EQ(v.routers.psum_router_ports, 3);
    EXPECT_EQ(v.routers.iact_port_bits, 24);
    EXPECT_EQ(v.routers.weight_port_bits, 24);
    EXPECT_EQ(v.routers.psum_port_bits, 40);
    EXPECT_EQ(v.noc.modes,
              (std::vector<NocMode>{NocMode::kUnicast, NocMode::kBroadcast,
                                    NocMode::kGroupedMulticast, NocMode::kInterleavedMulticast}));
    EXPECT_FALSE(a.dram.rlc);
    // 25600 MB/s (DDR4-3200): 128 bits x 1600 MHz / 8.
    EXPECT_DOUBLE_EQ(a.dram.bus_bits * a.dram.clock_mhz / 8, 25600.0);
    // Peak: 192 PEs x 2 MACs x 2 ops x 200 MHz = 153.6 GOPS.
    EXPECT_DOUBLE_EQ(v.pes * v.pe.macs_per_cycle * 2 * a.clock_mhz / 1000, 153.6);
#define EXPECT_POSITIVE_V2(name) EXPECT_GT(v.energy.name, 0.0) << #name;
    ACTSPARSE_V2_ENERGY_FIELDS(EXPECT_POSITIVE_V2)
#undef EXPECT_POSITIVE_V2
    EXPECT_DOUBLE_EQ(v.energy.mac_pj, 0.5608);
    EXPECT_LT(v.energy.mac_gated_pj, v.energy.mac_pj);
    EXPECT_LT(v.energy.noc_hop_pj_per_bit, v.energy.glb_read_pj_per_bit);
    EXPECT_LT(v.energy.glb_read_pj_per_bit, v.energy.dram_read_pj_per_bit);
}

TEST(ArchV2, SharedFieldsAreDerived) {
    const ArchConfig a = load_arch("eyeriss-v2");
    EXPECT_EQ(a.array.rows, 24);  // 8 cluster rows x 3 PE rows
    EXPECT_EQ(a.array.cols, 8);   // 2 cluster columns x 4 PE columns
    EXPECT_EQ(a.array.rows * a.array.cols, a.v2.pes);
    EXPECT_EQ(a.pe.ifmap_spad_words, 16);
    EXPECT_EQ(a.pe.filter_spad_words, 192);
    EXPECT_EQ(a.pe.psum_spad_words, 32);
    EXPECT_EQ(a.pe.mac_pipeline_stages, 2);
    EXPECT_EQ(a.pe.accum_bits, 20);
    EXPECT_EQ(a.pe.fifo_depth_words, 4);
    EXPECT_EQ(a.noc.ifmap_bus_bits, 16 * 3 * 24);
    EXPECT_EQ(a.noc.filter_bus_bits, 16 * 3 * 24);
    EXPECT_EQ(a.noc.psum_in_bus_bits, 16 * 4 * 40);
    EXPECT_EQ(a.noc.psum_out_bus_bits, 16 * 4 * 40);
    EXPECT_EQ(a.glb.ifmap_psum_banks, 16);
    EXPECT_EQ(a.glb.bank_bytes, 12 * 1024);
    EXPECT_EQ(a.glb.filter_bytes, 0);
    EXPECT_EQ(a.glb.capacity_bytes(), 192 * 1024);
    EXPECT_DOUBLE_EQ(a.energy.mac_pj, 0.5608);
    EXPECT_DOUBLE_EQ(a.energy.ifmap_spad_read_pj, 0.27937);
    EXPECT_DOUBLE_EQ(a.energy.filter_spad_read_pj, 1.83798 / 2);  // per weight
    EXPECT_DOUBLE_EQ(a.energy.psum_spad_write_pj, 0.16654);
    EXPECT_DOUBLE_EQ(a.energy.noc_word_pj, 0.275 * 8);
    EXPECT_DOUBLE_EQ(a.energy.glb_read_pj, 0.825 * 8);
    EXPECT_DOUBLE_EQ(a.energy.dram_read_pj, 27.5 * 8);
    // v1's per-16-bit-word costs are the same per bit.
    const ArchConfig v1 = load_arch("eyeriss-v1");
    EXPECT_DOUBLE_EQ(a.energy.glb_read_pj / 8, v1.energy.glb_read_pj / 16);
    EXPECT_DOUBLE_EQ(a.energy.dram_write_pj / 8, v1.energy.dram_write_pj / 16);
    EXPECT_DOUBLE_EQ(a.energy.noc_word_pj / 8, v1.energy.noc_word_pj / 16);

    // A stale shared field is caught; derive_shared_from_v2() brings it back in line.
    ArchConfig b = a;
    b.v2.clusters.rows = 4;
    b.v2.pes = 96;
    EXPECT_EQ(error_of([&] { b.validate("x"); }),
              "x: array.rows (shared): is 24 but eyeriss-v2 derives 12 from its v2 keys (call "
              "derive_shared_from_v2())");
    b.derive_shared_from_v2();
    b.validate("x");
    EXPECT_EQ(b.glb.capacity_bytes(), 96 * 1024);
    b = a;
    b.v2.energy.dram_read_pj_per_bit = 30;
    EXPECT_NE(error_of([&] { b.validate("x"); }).find("x: energy.dram_read_pj (shared): "),
              std::string::npos);
}

TEST(ArchV2, YamlCitesEveryKeyAndHasExactlyTheEnergyFields) {
    const YAML::Node energy = YAML::Load(v2_yaml())["energy"];
    std::set<std::string> want;
#define ADD_V2_NAME(name) want.insert(#name);
    ACTSPARSE_V2_ENERGY_FIELDS(ADD_V2_NAME)
#undef ADD_V2_NAME
    std::set<std::string> have;
    for (const auto& kv : energy) have.insert(kv.first.as<std::string>());
    EXPECT_EQ(have, want);
    // Every key line carries a comment, and every energy line a bracketed source.
    std::istringstream lines(v2_yaml());
    std::string line;
    int keys = 0, cited = 0;
    while (std::getline(lines, line)) {
        const auto colon = line.find(':');
        if (line.empty() || line[0] == '#' || colon == std::string::npos) continue;
        const auto first = line.find_first_not_of(' ');
        if (line[first] == '#') continue;
        const std::string key = line.substr(first, colon - first);
        const bool leaf = line.find_first_not_of(' ', colon + 1) != std::string::npos &&
                          line[line.find_first_not_of(' ', colon + 1)] != '#';
        if (!leaf) continue;  // a section header
        ++keys;
        EXPECT_NE(line.find('#', colon), std::string::npos) << "no comment: " << line;
        if (want.count(key)) {
            EXPECT_NE(line.find("# ["), std::string::npos) << "no source cited: " << line;
            ++cited;
        }
    }
    EXPECT_EQ(keys, static_cast<int>(leaf_paths(v2_yaml()).size()));
    EXPECT_EQ(cited, static_cast<int>(want.size()));
}

TEST(ArchV2, JsonHasEveryFieldAndReadsBack) {
    const ArchConfig a = load_arch("eyeriss-v2");
    const nlohmann::json j = arch_to_json(a);
    EXPECT_EQ(j["type"], "eyeriss-v2");
    EXPECT_EQ(j["pe"]["weight_data_spad_bits"], 24);
    EXPECT_EQ(j["noc"]["modes"][2], "grouped-multicast");
    EXPECT_FALSE(j.contains("array"));  // derived, not written
    size_t leaves = 0;
    for (const auto& [k, v] : j.items()) leaves += v.is_object() ? v.size() : 1;
    EXPECT_EQ(leaves, leaf_paths(v2_yaml()).size());
    const ArchConfig b = parse_arch_yaml(j.dump(2), "effective.json");
    EXPECT_EQ(b.type, ArrayType::kEyerissV2);
    EXPECT_EQ(arch_to_json(b), j);
    EXPECT_EQ(arch_hash(b), arch_hash(a));
    EXPECT_EQ(b.glb.capacity_bytes(), a.glb.capacity_bytes());
}

TEST(ArchV2, HashDiffersFromV1AndSeesV2Fields) {
    ArchConfig a = load_arch("eyeriss-v2");
    const std::string h = arch_hash(a);
    EXPECT_NE(h, arch_hash(load_arch("eyeriss-v1")));
    EXPECT_EQ(arch_hash(load_arch("eyeriss-v2")), h);
    a.v2.pe.iact_addr_spad_entries = 8;
    EXPECT_NE(arch_hash(a), h);
    a = load_arch("eyeriss-v2");
    a.v2.noc.modes = {NocMode::kUnicast};
    EXPECT_NE(arch_hash(a), h);
    a = load_arch("eyeriss-v2");
    a.v2.energy.iact_addr_spad_read_pj += 1e-9;
    EXPECT_NE(arch_hash(a), h);
}

TEST(ArchV2, EveryKeyIsRequired) {
    const auto paths = leaf_paths(v2_yaml());
    EXPECT_GE(paths.size(), 70u);
    for (const std::string& path : paths) {
        if (path == "type") continue;  // without it the file is read as v1 (below)
        YAML::Node root = YAML::Load(v2_yaml());
        const auto dot = path.find('.');
        if (dot == std::string::npos)
            root.remove(path);
        else
            root[path.substr(0, dot)].remove(path.substr(dot + 1));
        EXPECT_EQ(error_of([&] { parse_arch_yaml(dump(root), "v2.yaml"); }),
                  "v2.yaml: " + path + ": missing required key");
    }
    // A v2 file without `type` is a v1 file with v2 keys; the error says so.
    YAML::Node root = YAML::Load(v2_yaml());
    root.remove("type");
    const std::string msg = error_of([&] { parse_arch_yaml(dump(root), "v2.yaml"); });
    EXPECT_NE(msg.find("unknown key for eyeriss-v1, an eyeriss-v2 key (without a `type` key a "
                       "config is eyeriss-v1)"),
              std::string::npos)
        << msg;
}

TEST(ArchV2, UnknownAndMistypedKeysNameTheKey) {
    EXPECT_EQ(v2_with("pe.iact_spad_entries", "16"), "v2.yaml: pe.iact_spad_entries: unknown key");
    EXPECT_EQ(v2_with("pe.filter_spad_words", "224"),
              "v2.yaml: pe.filter_spad_words: unknown key for eyeriss-v2, an eyeriss-v1 key");
    EXPECT_EQ(v2_with("array", "{rows: 24, cols: 8}"),
              "v2.yaml: array: unknown key for eyeriss-v2, an eyeriss-v1 key");
    EXPECT_EQ(v2_with("pes", "many"), "v2.yaml: pes: expected an integer, got 'many'");
    EXPECT_EQ(v2_with("csc.off_chip", "yes"),
              "v2.yaml: csc.off_chip: expected true or false, got 'yes'");
    EXPECT_EQ(v2_with("type", "eyeriss-v3"),
              "v2.yaml: type: expected eyeriss-v1 or eyeriss-v2, got 'eyeriss-v3'");
    EXPECT_EQ(v2_with("type", "[eyeriss-v2]"),
              "v2.yaml: type: expected eyeriss-v1 or eyeriss-v2, got a list");
    EXPECT_EQ(v2_with("noc.modes", "unicast"),
              "v2.yaml: noc.modes: expected a list of NoC modes, got a scalar");
    EXPECT_EQ(v2_with("noc.modes", "[unicast, multicast]"),
              "v2.yaml: noc.modes: expected unicast, broadcast, grouped-multicast or "
              "interleaved-multicast, got 'multicast'");
    EXPECT_EQ(v2_with("noc.modes", "[unicast, broadcast, unicast]"),
              "v2.yaml: noc.modes: 'unicast' given twice");
    EXPECT_EQ(v2_with("noc.modes", "[]"), "v2.yaml: noc.modes: must list at least one mode");
    // Any order is accepted and stored in one order, so it hashes the same.
    EXPECT_EQ(v2_with("noc.modes",
                      "[interleaved-multicast, grouped-multicast, broadcast, "
                      "unicast]"),
              "");
    const std::string twice = v2_yaml() + "\ntype: eyeriss-v2\n";
    EXPECT_EQ(error_of([&] { parse_arch_yaml(twice, "v2.yaml"); }), "v2.yaml: type: given twice");
}

TEST(ArchV2, InconsistentClustersNamePes) {
    EXPECT_EQ(v2_with("clusters.rows", "7"),
              "v2.yaml: pes: is 192 but clusters.rows x clusters.cols x clusters.pe_rows x "
              "clusters.pe_cols = 7 x 2 x 3 x 4 = 168");
    EXPECT_TRUE(names_key(v2_with("pes", "168"), "pes"));
    EXPECT_TRUE(names_key(v2_with("clusters.pe_cols", "0"), "clusters.pe_cols"));
    // One router per iact bank, per PE row (weights), per PE column (psums).
    EXPECT_EQ(v2_with("routers.iact_routers", "2"),
              "v2.yaml: routers.iact_routers: must be glb.iact_banks (one iact router per iact "
              "bank) = 3, got 2");
    EXPECT_TRUE(names_key(v2_with("routers.weight_routers", "4"), "routers.weight_routers"));
    EXPECT_TRUE(names_key(v2_with("routers.psum_routers", "3"), "routers.psum_routers"));
    EXPECT_TRUE(names_key(v2_with("glb.psum_banks", "3"), "glb.psum_banks"));
    // Too few router ports for the 8 x 2 mesh.
    EXPECT_EQ(v2_with("routers.iact_router_ports", "3"),
              "v2.yaml: routers.iact_router_ports: must be at least 4 for 8 x 2 clusters "
              "(one per mesh neighbour + the GLB/PE port), got 3");
    EXPECT_TRUE(
        names_key(v2_with("routers.weight_router_ports", "1"), "routers.weight_router_ports"));
    EXPECT_TRUE(names_key(v2_with("routers.psum_router_ports", "2"), "routers.psum_router_ports"));
    EXPECT_TRUE(names_key(v2_with("routers.iact_port_bits", "16"), "routers.iact_port_bits"));
    EXPECT_TRUE(names_key(v2_with("routers.psum_port_bits", "30"), "routers.psum_port_bits"));
}

TEST(ArchV2, TooSmallOrInconsistentSpadsNameTheKey) {
    EXPECT_EQ(v2_with("pe.weight_data_spad_entries", "0"),
              "v2.yaml: pe.weight_data_spad_entries: must be at least 1 (one word of weights: a "
              "filter row of a 1x1 conv), got 0");
    EXPECT_EQ(v2_with("pe.psum_spad_entries", "0"),
              "v2.yaml: pe.psum_spad_entries: must be at least 1 (a PE accumulates at least one "
              "psum), got 0");
    EXPECT_EQ(v2_with("pe.iact_addr_spad_entries", "0"),
              "v2.yaml: pe.iact_addr_spad_entries: must be at least 1 (one address per CSC "
              "column; a mapping has at least one column), got 0");
    EXPECT_TRUE(names_key(v2_with("pe.iact_data_spad_entries", "0"), "pe.iact_data_spad_entries"));
    EXPECT_TRUE(
        names_key(v2_with("pe.weight_addr_spad_entries", "0"), "pe.weight_addr_spad_entries"));
    // Word widths follow the CSC code and the SIMD width.
    EXPECT_EQ(v2_with("pe.weight_data_spad_bits", "12"),
              "v2.yaml: pe.weight_data_spad_bits: must be pe.macs_per_cycle x (csc.count_bits + "
              "csc.data_bits) (one (count, weight) pair per SIMD lane) = 24, got 12");
    EXPECT_TRUE(names_key(v2_with("pe.iact_data_spad_bits", "8"), "pe.iact_data_spad_bits"));
    EXPECT_TRUE(names_key(v2_with("pe.iact_addr_spad_bits", "5"), "pe.iact_addr_spad_bits"));
    EXPECT_TRUE(names_key(v2_with("pe.psum_spad_bits", "16"), "pe.psum_spad_bits"));
    EXPECT_TRUE(names_key(v2_with("pe.macs_per_cycle", "1"), "pe.weight_data_spad_bits"));
    EXPECT_TRUE(names_key(v2_with("csc.data_bits", "16"), "csc.data_bits"));
    // An address must reach every data entry: 4 bits reach 16, not 17.
    EXPECT_EQ(v2_with("pe.iact_data_spad_entries", "17"),
              "v2.yaml: csc.iact_addr_bits: 4 bits cannot address the 17 "
              "pe.iact_data_spad_entries");
    EXPECT_TRUE(names_key(v2_with("pe.weight_data_spad_entries", "129"), "csc.weight_addr_bits"));
    EXPECT_TRUE(names_key(v2_with("pe.psum_bits", "12"), "pe.psum_bits"));  // < 8b x 8b
    EXPECT_TRUE(names_key(v2_with("pe.mac_pipeline_stages", "7"), "pe.mac_pipeline_stages"));
}

TEST(ArchV2, GlbAndDramChecksNameTheKey) {
    EXPECT_EQ(v2_with("glb.iact_bank_bytes", "0"),
              "v2.yaml: glb.iact_bank_bytes: must be at least 1 (a bank holds data), got 0");
    EXPECT_TRUE(names_key(v2_with("glb.psum_bank_bytes", "0"), "glb.psum_bank_bytes"));
    EXPECT_TRUE(names_key(v2_with("glb.iact_banks", "0"), "glb.iact_banks"));
    EXPECT_TRUE(names_key(v2_with("glb.psum_bank_bytes", "1921"), "glb.psum_bank_bytes"));
    EXPECT_NE(v2_with("glb.weight_bytes", "8192")
                  .find("v2.yaml: glb.weight_bytes: must be 0: Eyeriss v2 keeps no weights"),
              std::string::npos);
    EXPECT_EQ(v2_with("dram.rlc", "true"),
              "v2.yaml: dram.rlc: must be false when csc.off_chip is true (off-chip data is "
              "CSC-coded, not run-length coded)");
    EXPECT_TRUE(names_key(v2_with("dram.bus_bits", "12"), "dram.bus_bits"));
    EXPECT_TRUE(names_key(v2_with("dram.clock_mhz", "0"), "dram.clock_mhz"));
    EXPECT_TRUE(names_key(v2_with("energy.noc_hop_pj_per_bit", "-1"), "energy.noc_hop_pj_per_bit"));
    EXPECT_TRUE(names_key(v2_with("frac_bits", "8"), "frac_bits"));
    EXPECT_TRUE(names_key(v2_with("name", "''"), "name"));
}

TEST(ArchV2, V1FilesWithoutTypeStayV1) {
    // The v1 file has no `type`; with `type: eyeriss-v1` it is the same config, same hash.
    EXPECT_EQ(YAML::Load(builtin_arch_yaml())["type"].IsDefined(), false);
    const ArchConfig a = load_arch("eyeriss-v1");
    EXPECT_EQ(a.type, ArrayType::kEyerissV1);
    EXPECT_FALSE(arch_to_json(a).contains("type"));
    const ArchConfig b =
        parse_arch_yaml("type: eyeriss-v1\n" + builtin_arch_yaml(), "typed-v1.yaml");
    EXPECT_EQ(b.type, ArrayType::kEyerissV1);
    EXPECT_EQ(arch_hash(b), arch_hash(a));
    // A v2 key in a v1 file is unknown, with a hint.
    YAML::Node root = YAML::Load(builtin_arch_yaml());
    root["pes"] = 192;
    EXPECT_EQ(error_of([&] { parse_arch_yaml(dump(root), "v1.yaml"); }),
              "v1.yaml: pes: unknown key for eyeriss-v1, an eyeriss-v2 key (without a `type` "
              "key a config is eyeriss-v1)");
    EXPECT_EQ(&builtin_arch_yaml(), &builtin_arch_yaml(ArrayType::kEyerissV1));
}

TEST(ArchV2, LoadsFilesByPath) {
    const std::string path = ::testing::TempDir() + "/arch_test_v2_small.yaml";
    YAML::Node root = YAML::Load(v2_yaml());
    root["name"] = "v2-small";
    root["clusters"]["rows"] = 2;
    root["pes"] = 48;
    {
        std::ofstream f(path);
        f << dump(root);
    }
    const ArchConfig a = load_arch(path);
    EXPECT_EQ(a.type, ArrayType::kEyerissV2);
    EXPECT_EQ(a.array.rows, 6);
    EXPECT_EQ(a.glb.capacity_bytes(), 4 * 12 * 1024);
    EXPECT_NE(arch_hash(a), arch_hash(load_arch("eyeriss-v2")));
    std::remove(path.c_str());
}

TEST(ArchV2, EnumNames) {
    for (ArrayType t : {ArrayType::kEyerissV1, ArrayType::kEyerissV2})
        EXPECT_EQ(parse_array_type(to_string(t), "x"), t);
    for (NocMode m : {NocMode::kUnicast, NocMode::kBroadcast, NocMode::kGroupedMulticast,
                      NocMode::kInterleavedMulticast})
        EXPECT_EQ(parse_noc_mode(to_string(m), "x"), m);
    EXPECT_THROW(parse_array_type("Eyeriss-v2", "x"), InputError);
    EXPECT_THROW(parse_noc_mode("multicast", "x"), InputError);
}

}  // namespace
}  // namespace actsparse::core
