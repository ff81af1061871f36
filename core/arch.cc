#include "core/arch.h"

#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <set>
#include <vector>

#include "core/error.h"

namespace actsparse::core {
namespace {

// One table of every config field drives the YAML reader, the required-key check and the
// JSON writer, so the three cannot drift apart.
enum class Kind { kInt, kDouble, kBool, kString, kZeroMode };

struct Field {
    const char* section;  // "" for top-level keys
    const char* key;
    Kind kind;
    void* ptr;
    std::string path() const { return *section ? std::string(section) + "." + key : key; }
};

std::vector<Field> arch_fields(ArchConfig& a) {
    std::vector<Field> f = {
        {"", "name", Kind::kString, &a.name},
        {"", "word_bits", Kind::kInt, &a.word_bits},
        {"", "frac_bits", Kind::kInt, &a.frac_bits},
        {"", "clock_mhz", Kind::kDouble, &a.clock_mhz},
        {"", "zero_mode", Kind::kZeroMode, &a.zero_mode},
        {"array", "rows", Kind::kInt, &a.array.rows},
        {"array", "cols", Kind::kInt, &a.array.cols},
        {"pe", "ifmap_spad_words", Kind::kInt, &a.pe.ifmap_spad_words},
        {"pe", "filter_spad_words", Kind::kInt, &a.pe.filter_spad_words},
        {"pe", "psum_spad_words", Kind::kInt, &a.pe.psum_spad_words},
        {"pe", "mac_pipeline_stages", Kind::kInt, &a.pe.mac_pipeline_stages},
        {"pe", "accum_bits", Kind::kInt, &a.pe.accum_bits},
        {"pe", "fifo_depth_words", Kind::kInt, &a.pe.fifo_depth_words},
        {"noc", "ifmap_bus_bits", Kind::kInt, &a.noc.ifmap_bus_bits},
        {"noc", "filter_bus_bits", Kind::kInt, &a.noc.filter_bus_bits},
        {"noc", "psum_in_bus_bits", Kind::kInt, &a.noc.psum_in_bus_bits},
        {"noc", "psum_out_bus_bits", Kind::kInt, &a.noc.psum_out_bus_bits},
        {"glb", "ifmap_psum_banks", Kind::kInt, &a.glb.ifmap_psum_banks},
        {"glb", "bank_bytes", Kind::kInt, &a.glb.bank_bytes},
        {"glb", "filter_bytes", Kind::kInt, &a.glb.filter_bytes},
        {"glb", "port_bits", Kind::kInt, &a.glb.port_bits},
        {"glb", "read_latency_cycles", Kind::kInt, &a.glb.read_latency_cycles},
        {"dram", "bus_bits", Kind::kInt, &a.dram.bus_bits},
        {"dram", "clock_mhz", Kind::kDouble, &a.dram.clock_mhz},
        {"dram", "latency_cycles", Kind::kInt, &a.dram.latency_cycles},
        {"dram", "rlc", Kind::kBool, &a.dram.rlc},
        {"dram", "rlc_run_bits", Kind::kInt, &a.dram.rlc_run_bits},
        {"dram", "rlc_value_bits", Kind::kInt, &a.dram.rlc_value_bits},
        {"dram", "rlc_pairs_per_word", Kind::kInt, &a.dram.rlc_pairs_per_word},
    };
#define ACTSPARSE_ENERGY_FIELD(name) f.push_back({"energy", #name, Kind::kDouble, &a.energy.name});
    ACTSPARSE_ENERGY_FIELDS(ACTSPARSE_ENERGY_FIELD)
#undef ACTSPARSE_ENERGY_FIELD
    return f;
}

const char* const kSections[] = {"array", "pe", "noc", "glb", "dram", "energy"};

bool is_section(const std::string& key) {
    for (const char* s : kSections)
        if (key == s) return true;
    return false;
}

// Keys come from user files and may hold control characters; keep messages on one line.
std::string printable(const std::string& s) {
    std::string out;
    for (unsigned char c : s) {
        if (c < 0x20 || c == 0x7f) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\x%02x", c);
            out += buf;
        } else {
            out += static_cast<char>(c);
        }
    }
    return out;
}

const char* node_kind(const YAML::Node& n) {
    switch (n.Type()) {
        case YAML::NodeType::Map:
            return "a map";
        case YAML::NodeType::Sequence:
            return "a list";
        case YAML::NodeType::Null:
            return "nothing";
        default:
            return "a scalar";
    }
}

std::string scalar_text(const YAML::Node& n, const std::string& where, const char* expected) {
    if (!n.IsScalar())
        throw InputError(where, std::string("expected ") + expected + ", got " + node_kind(n));
    return n.Scalar();
}

int64_t parse_int_value(const YAML::Node& n, const std::string& where) {
    const std::string text = scalar_text(n, where, "an integer");
    errno = 0;
    char* end = nullptr;
    const long long v = std::strtoll(text.c_str(), &end, 10);
    if (text.empty() || end != text.c_str() + text.size() || errno == ERANGE)
        throw InputError(where, "expected an integer, got '" + printable(text) + "'");
    return v;
}

double parse_double_value(const YAML::Node& n, const std::string& where) {
    const std::string text = scalar_text(n, where, "a number");
    errno = 0;
    char* end = nullptr;
    const double v = std::strtod(text.c_str(), &end);
    if (text.empty() || end != text.c_str() + text.size() || errno == ERANGE || !std::isfinite(v))
        throw InputError(where, "expected a finite number, got '" + printable(text) + "'");
    return v;
}

bool parse_bool_value(const YAML::Node& n, const std::string& where) {
    const std::string text = scalar_text(n, where, "true or false");
    if (text == "true") return true;
    if (text == "false") return false;
    throw InputError(where, "expected true or false, got '" + printable(text) + "'");
}

void read_field(const Field& f, const YAML::Node& n, const std::string& where) {
    switch (f.kind) {
        case Kind::kInt:
            *static_cast<int64_t*>(f.ptr) = parse_int_value(n, where);
            break;
        case Kind::kDouble:
            *static_cast<double*>(f.ptr) = parse_double_value(n, where);
            break;
        case Kind::kBool:
            *static_cast<bool*>(f.ptr) = parse_bool_value(n, where);
            break;
        case Kind::kString:
            *static_cast<std::string*>(f.ptr) = scalar_text(n, where, "a string");
            break;
        case Kind::kZeroMode:
            *static_cast<ZeroMode*>(f.ptr) =
                parse_zero_mode(scalar_text(n, where, "none, gate or skip"), where);
            break;
    }
}

std::string key_text(const YAML::Node& k, const std::string& where) {
    if (!k.IsScalar()) throw InputError(where, "keys must be plain strings");
    return k.Scalar();
}

}  // namespace

const char* to_string(ZeroMode m) {
    switch (m) {
        case ZeroMode::kNone:
            return "none";
        case ZeroMode::kGate:
            return "gate";
        case ZeroMode::kSkip:
            return "skip";
    }
    return "?";
}

ZeroMode parse_zero_mode(const std::string& text, const std::string& where) {
    if (text == "none") return ZeroMode::kNone;
    if (text == "gate") return ZeroMode::kGate;
    if (text == "skip") return ZeroMode::kSkip;
    throw InputError(where, "expected none, gate or skip, got '" + printable(text) + "'");
}

void ArchConfig::validate(const std::string& where) const {
    auto fail = [&](const std::string& key, const std::string& reason) {
        throw InputError(where + ": " + key, reason);
    };
    auto range = [&](int64_t v, const char* key, int64_t lo, int64_t hi) {
        if (v < lo || v > hi)
            fail(key, "must be in [" + std::to_string(lo) + ", " + std::to_string(hi) + "], got " +
                          std::to_string(v));
    };
    // Widths that carry whole words must be word multiples, else a beat splits a word.
    auto word_multiple = [&](int64_t v, const char* key) {
        range(v, key, word_bits, 4096);
        if (v % word_bits != 0)
            fail(key, "must be a multiple of word_bits=" + std::to_string(word_bits) + ", got " +
                          std::to_string(v));
    };
    auto positive_mhz = [&](double v, const char* key) {
        if (!(v > 0.0) || !std::isfinite(v) || v > 1e5)
            fail(key, "must be a clock in (0, 100000] MHz, got " + std::to_string(v));
    };
    const int64_t kBig = int64_t{1} << 30;
    if (name.empty()) fail("name", "must not be empty");
    range(word_bits, "word_bits", 2, 16);  // traces store int16 words
    range(frac_bits, "frac_bits", 0, word_bits - 1);
    positive_mhz(clock_mhz, "clock_mhz");
    range(array.rows, "array.rows", 1, 1024);
    range(array.cols, "array.cols", 1, 1024);
    range(pe.ifmap_spad_words, "pe.ifmap_spad_words", 1, kBig);
    range(pe.filter_spad_words, "pe.filter_spad_words", 1, kBig);
    range(pe.psum_spad_words, "pe.psum_spad_words", 1, kBig);
    range(pe.mac_pipeline_stages, "pe.mac_pipeline_stages", 1, 64);
    range(pe.accum_bits, "pe.accum_bits", word_bits, 64);
    range(pe.fifo_depth_words, "pe.fifo_depth_words", 1, kBig);
    word_multiple(noc.ifmap_bus_bits, "noc.ifmap_bus_bits");
    word_multiple(noc.filter_bus_bits, "noc.filter_bus_bits");
    word_multiple(noc.psum_in_bus_bits, "noc.psum_in_bus_bits");
    word_multiple(noc.psum_out_bus_bits, "noc.psum_out_bus_bits");
    range(glb.ifmap_psum_banks, "glb.ifmap_psum_banks", 1, 4096);
    word_multiple(glb.port_bits, "glb.port_bits");
    range(glb.bank_bytes, "glb.bank_bytes", 1, kBig);
    if ((glb.bank_bytes * 8) % glb.port_bits != 0)
        fail("glb.bank_bytes", "must hold a whole number of port_bits-wide rows");
    range(glb.filter_bytes, "glb.filter_bytes", 1, kBig);
    range(glb.read_latency_cycles, "glb.read_latency_cycles", 1, 1024);
    word_multiple(dram.bus_bits, "dram.bus_bits");
    positive_mhz(dram.clock_mhz, "dram.clock_mhz");
    range(dram.latency_cycles, "dram.latency_cycles", 0, 1 << 20);
    range(dram.rlc_run_bits, "dram.rlc_run_bits", 1, 16);
    range(dram.rlc_value_bits, "dram.rlc_value_bits", word_bits, 64);
    range(dram.rlc_pairs_per_word, "dram.rlc_pairs_per_word", 1, 64);
    if (dram.rlc &&
        dram.rlc_pairs_per_word * (dram.rlc_run_bits + dram.rlc_value_bits) > dram.bus_bits)
        fail("dram.rlc_pairs_per_word",
             std::to_string(dram.rlc_pairs_per_word) + " pairs of " +
                 std::to_string(dram.rlc_run_bits + dram.rlc_value_bits) + " bits do not fit a " +
                 std::to_string(dram.bus_bits) + "-bit DRAM word");
#define ACTSPARSE_CHECK_ENERGY(name)                          \
    if (!(energy.name >= 0.0) || !std::isfinite(energy.name)) \
        fail("energy." #name,                                 \
             "must be a finite energy >= 0 pJ, got " + std::to_string(energy.name));
    ACTSPARSE_ENERGY_FIELDS(ACTSPARSE_CHECK_ENERGY)
#undef ACTSPARSE_CHECK_ENERGY
}

ArchConfig parse_arch_yaml(const std::string& yaml_text, const std::string& where) {
    YAML::Node root;
    try {
        root = YAML::Load(yaml_text);
    } catch (const YAML::ParserException& e) {
        throw InputError(where, "invalid YAML at line " + std::to_string(e.mark.line + 1) +
                                    ", column " + std::to_string(e.mark.column + 1) + ": " +
                                    printable(e.msg));
    } catch (const YAML::Exception& e) {
        throw InputError(where, std::string("invalid YAML: ") + printable(e.what()));
    }
    if (!root.IsMap())
        throw InputError(where,
                         std::string("expected a map of config keys, got ") + node_kind(root));

    ArchConfig a;
    const std::vector<Field> fields = arch_fields(a);
    auto find = [&](const std::string& section, const std::string& key) -> const Field* {
        for (const Field& f : fields)
            if (section == f.section && key == f.key) return &f;
        return nullptr;
    };
    std::set<std::string> seen;
    try {
        for (const auto& kv : root) {
            const std::string key = key_text(kv.first, where);
            const std::string shown = printable(key);
            if (!seen.insert(key).second) throw InputError(where + ": " + shown, "given twice");
            if (is_section(key)) {
                if (!kv.second.IsMap())
                    throw InputError(where + ": " + key,
                                     std::string("expected a map, got ") + node_kind(kv.second));
                for (const auto& sub : kv.second) {
                    const std::string subkey = key_text(sub.first, where + ": " + key);
                    const std::string path = key + "." + subkey;
                    const std::string shown_path = key + "." + printable(subkey);
                    if (!seen.insert(path).second)
                        throw InputError(where + ": " + shown_path, "given twice");
                    const Field* f = find(key, subkey);
                    if (!f) throw InputError(where + ": " + shown_path, "unknown key");
                    read_field(*f, sub.second, where + ": " + shown_path);
                }
                continue;
            }
            const Field* f = find("", key);
            if (!f) throw InputError(where + ": " + shown, "unknown key");
            read_field(*f, kv.second, where + ": " + shown);
        }
    } catch (const YAML::Exception& e) {
        throw InputError(where, std::string("invalid YAML: ") + printable(e.what()));
    }
    for (const Field& f : fields)
        if (!seen.count(f.path()))
            throw InputError(where + ": " + f.path(), "missing required key");
    a.validate(where);
    return a;
}

ArchConfig load_arch(const std::string& name_or_path) {
    if (name_or_path == "eyeriss-v1") return parse_arch_yaml(builtin_arch_yaml(), "eyeriss-v1");
    return parse_arch_yaml(read_file(name_or_path), name_or_path);
}

nlohmann::json arch_to_json(const ArchConfig& a) {
    ArchConfig copy = a;  // the field table takes mutable pointers
    nlohmann::json j = nlohmann::json::object();
    for (const Field& f : arch_fields(copy)) {
        nlohmann::json& slot = *f.section ? j[f.section][f.key] : j[f.key];
        switch (f.kind) {
            case Kind::kInt:
                slot = *static_cast<const int64_t*>(f.ptr);
                break;
            case Kind::kDouble:
                slot = *static_cast<const double*>(f.ptr);
                break;
            case Kind::kBool:
                slot = *static_cast<const bool*>(f.ptr);
                break;
            case Kind::kString:
                slot = *static_cast<const std::string*>(f.ptr);
                break;
            case Kind::kZeroMode:
                slot = to_string(*static_cast<const ZeroMode*>(f.ptr));
                break;
        }
    }
    return j;
}

std::string arch_hash(const ArchConfig& a) {
    // FNV-1a 64 of the canonical dump: nlohmann sorts object keys and prints doubles in
    // shortest round-trip form, so equal configs hash equal on every platform.
    const std::string text = arch_to_json(a).dump();
    uint64_t h = 0xcbf29ce484222325ull;
    for (unsigned char c : text) {
        h ^= c;
        h *= 0x100000001b3ull;
    }
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
    return buf;
}

}  // namespace actsparse::core
