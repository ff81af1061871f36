#include "core/arch.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>
#include <set>
#include <vector>

#include "core/accelergy.h"
#include "core/error.h"

namespace actsparse::core {
namespace {

// One table of every config field drives the YAML reader, the required-key check and the
// JSON writer, so the three cannot drift apart.
enum class Kind { kInt, kDouble, kBool, kString, kZeroMode, kNocModes };

struct Field {
    const char* section;  // "" for top-level keys
    const char* key;
    Kind kind;
    void* ptr;
    std::string path() const { return *section ? std::string(section) + "." + key : key; }
};

std::vector<Field> v1_fields(ArchConfig& a) {
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
        {"pe", "psum_fifo_depth_words", Kind::kInt, &a.pe.psum_fifo_depth_words},
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

// The eyeriss-v2 schema: `type` (handled by the parser), the common top-level keys, the v2
// sections, and v1's dram section. The shared array/pe/noc/glb/energy fields are derived.
std::vector<Field> v2_fields(ArchConfig& a) {
    V2Params& v = a.v2;
    std::vector<Field> f = {
        {"", "name", Kind::kString, &a.name},
        {"", "word_bits", Kind::kInt, &a.word_bits},
        {"", "frac_bits", Kind::kInt, &a.frac_bits},
        {"", "clock_mhz", Kind::kDouble, &a.clock_mhz},
        {"", "zero_mode", Kind::kZeroMode, &a.zero_mode},
        {"", "pes", Kind::kInt, &v.pes},
        {"clusters", "rows", Kind::kInt, &v.clusters.rows},
        {"clusters", "cols", Kind::kInt, &v.clusters.cols},
        {"clusters", "pe_rows", Kind::kInt, &v.clusters.pe_rows},
        {"clusters", "pe_cols", Kind::kInt, &v.clusters.pe_cols},
        {"pe", "macs_per_cycle", Kind::kInt, &v.pe.macs_per_cycle},
        {"pe", "pipeline_stages", Kind::kInt, &v.pe.pipeline_stages},
        {"pe", "mac_pipeline_stages", Kind::kInt, &v.pe.mac_pipeline_stages},
        {"pe", "psum_bits", Kind::kInt, &v.pe.psum_bits},
        {"pe", "fifo_depth_words", Kind::kInt, &v.pe.fifo_depth_words},
        {"pe", "iact_data_spad_entries", Kind::kInt, &v.pe.iact_data_spad_entries},
        {"pe", "iact_data_spad_bits", Kind::kInt, &v.pe.iact_data_spad_bits},
        {"pe", "iact_addr_spad_entries", Kind::kInt, &v.pe.iact_addr_spad_entries},
        {"pe", "iact_addr_spad_bits", Kind::kInt, &v.pe.iact_addr_spad_bits},
        {"pe", "weight_data_spad_entries", Kind::kInt, &v.pe.weight_data_spad_entries},
        {"pe", "weight_data_spad_bits", Kind::kInt, &v.pe.weight_data_spad_bits},
        {"pe", "weight_addr_spad_entries", Kind::kInt, &v.pe.weight_addr_spad_entries},
        {"pe", "weight_addr_spad_bits", Kind::kInt, &v.pe.weight_addr_spad_bits},
        {"pe", "psum_spad_entries", Kind::kInt, &v.pe.psum_spad_entries},
        {"pe", "psum_spad_bits", Kind::kInt, &v.pe.psum_spad_bits},
        {"csc", "count_bits", Kind::kInt, &v.csc.count_bits},
        {"csc", "data_bits", Kind::kInt, &v.csc.data_bits},
        {"csc", "iact_addr_bits", Kind::kInt, &v.csc.iact_addr_bits},
        {"csc", "weight_addr_bits", Kind::kInt, &v.csc.weight_addr_bits},
        {"csc", "off_chip", Kind::kBool, &v.csc.off_chip},
        {"glb", "iact_banks", Kind::kInt, &v.glb.iact_banks},
        {"glb", "iact_bank_bytes", Kind::kInt, &v.glb.iact_bank_bytes},
        {"glb", "psum_banks", Kind::kInt, &v.glb.psum_banks},
        {"glb", "psum_bank_bytes", Kind::kInt, &v.glb.psum_bank_bytes},
        {"glb", "weight_bytes", Kind::kInt, &v.glb.weight_bytes},
        {"glb", "read_latency_cycles", Kind::kInt, &v.glb.read_latency_cycles},
        {"routers", "iact_routers", Kind::kInt, &v.routers.iact_routers},
        {"routers", "iact_router_ports", Kind::kInt, &v.routers.iact_router_ports},
        {"routers", "iact_port_bits", Kind::kInt, &v.routers.iact_port_bits},
        {"routers", "weight_routers", Kind::kInt, &v.routers.weight_routers},
        {"routers", "weight_router_ports", Kind::kInt, &v.routers.weight_router_ports},
        {"routers", "weight_port_bits", Kind::kInt, &v.routers.weight_port_bits},
        {"routers", "psum_routers", Kind::kInt, &v.routers.psum_routers},
        {"routers", "psum_router_ports", Kind::kInt, &v.routers.psum_router_ports},
        {"routers", "psum_port_bits", Kind::kInt, &v.routers.psum_port_bits},
        {"noc", "modes", Kind::kNocModes, &v.noc.modes},
        {"dram", "bus_bits", Kind::kInt, &a.dram.bus_bits},
        {"dram", "clock_mhz", Kind::kDouble, &a.dram.clock_mhz},
        {"dram", "latency_cycles", Kind::kInt, &a.dram.latency_cycles},
        {"dram", "rlc", Kind::kBool, &a.dram.rlc},
        {"dram", "rlc_run_bits", Kind::kInt, &a.dram.rlc_run_bits},
        {"dram", "rlc_value_bits", Kind::kInt, &a.dram.rlc_value_bits},
        {"dram", "rlc_pairs_per_word", Kind::kInt, &a.dram.rlc_pairs_per_word},
    };
#define ACTSPARSE_V2_ENERGY_FIELD(name) \
    f.push_back({"energy", #name, Kind::kDouble, &v.energy.name});
    ACTSPARSE_V2_ENERGY_FIELDS(ACTSPARSE_V2_ENERGY_FIELD)
#undef ACTSPARSE_V2_ENERGY_FIELD
    return f;
}

std::vector<Field> arch_fields(ArchConfig& a) {
    return a.type == ArrayType::kEyerissV2 ? v2_fields(a) : v1_fields(a);
}

const char* const kV1Sections[] = {"array", "pe", "noc", "glb", "dram", "energy"};
const char* const kV2Sections[] = {"clusters", "pe",  "csc",  "glb",
                                   "routers",  "noc", "dram", "energy"};

bool is_section(const std::string& key, ArrayType type) {
    if (type == ArrayType::kEyerissV2) {
        for (const char* s : kV2Sections)
            if (key == s) return true;
        return false;
    }
    for (const char* s : kV1Sections)
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
        case Kind::kNocModes: {
            if (!n.IsSequence())
                throw InputError(where,
                                 std::string("expected a list of NoC modes, got ") + node_kind(n));
            std::vector<NocMode> modes;
            for (const YAML::Node& item : n) {
                const std::string text = scalar_text(item, where, "a NoC mode");
                const NocMode m = parse_noc_mode(text, where);
                for (NocMode seen : modes)
                    if (seen == m) throw InputError(where, "'" + text + "' given twice");
                modes.push_back(m);
            }
            std::sort(modes.begin(), modes.end());  // one order, so equal sets hash equal
            *static_cast<std::vector<NocMode>*>(f.ptr) = modes;
            break;
        }
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

const char* to_string(ArrayType t) {
    switch (t) {
        case ArrayType::kEyerissV1:
            return "eyeriss-v1";
        case ArrayType::kEyerissV2:
            return "eyeriss-v2";
    }
    return "?";
}

ArrayType parse_array_type(const std::string& text, const std::string& where) {
    if (text == "eyeriss-v1") return ArrayType::kEyerissV1;
    if (text == "eyeriss-v2") return ArrayType::kEyerissV2;
    throw InputError(where, "expected eyeriss-v1 or eyeriss-v2, got '" + printable(text) + "'");
}

const char* to_string(NocMode m) {
    switch (m) {
        case NocMode::kUnicast:
            return "unicast";
        case NocMode::kBroadcast:
            return "broadcast";
        case NocMode::kGroupedMulticast:
            return "grouped-multicast";
        case NocMode::kInterleavedMulticast:
            return "interleaved-multicast";
    }
    return "?";
}

NocMode parse_noc_mode(const std::string& text, const std::string& where) {
    for (NocMode m : {NocMode::kUnicast, NocMode::kBroadcast, NocMode::kGroupedMulticast,
                      NocMode::kInterleavedMulticast})
        if (text == to_string(m)) return m;
    throw InputError(where,
                     "expected unicast, broadcast, grouped-multicast or interleaved-multicast, "
                     "got '" +
                         printable(text) + "'");
}

namespace {

struct Checker {
    const std::string& where;
    [[noreturn]] void fail(const std::string& key, const std::string& reason) const {
        throw InputError(where + ": " + key, reason);
    }
    void range(int64_t v, const std::string& key, int64_t lo, int64_t hi) const {
        if (v < lo || v > hi)
            fail(key, "must be in [" + std::to_string(lo) + ", " + std::to_string(hi) + "], got " +
                          std::to_string(v));
    }
    void positive_mhz(double v, const std::string& key) const {
        if (!(v > 0.0) || !std::isfinite(v) || v > 1e5)
            fail(key, "must be a clock in (0, 100000] MHz, got " + std::to_string(v));
    }
    void energy(double v, const std::string& key) const {
        if (!(v >= 0.0) || !std::isfinite(v))
            fail(key, "must be a finite energy >= 0 pJ, got " + std::to_string(v));
    }
    // A size below the least any mapping can use.
    void at_least(int64_t v, const std::string& key, int64_t lo, const std::string& why) const {
        if (v < lo)
            fail(key, "must be at least " + std::to_string(lo) + " (" + why + "), got " +
                          std::to_string(v));
        range(v, key, lo, int64_t{1} << 30);
    }
    void equal(int64_t v, const std::string& key, int64_t want, const std::string& why) const {
        if (v != want)
            fail(key,
                 "must be " + why + " = " + std::to_string(want) + ", got " + std::to_string(v));
    }
};

const int64_t kBig = int64_t{1} << 30;

// Mesh neighbours of a router cluster in a rows x cols cluster array: north and south when
// there is more than one row; east or west (one pair suffices for two columns, JETCAS
// III-C-1), both for more than two columns.
int64_t vertical_pairs(const V2Clusters& c) { return c.rows > 1 ? 2 : 0; }
int64_t horizontal_pairs(const V2Clusters& c) { return c.cols == 1 ? 0 : c.cols == 2 ? 1 : 2; }

// Every eyeriss-v2 key on its own and against the others (not the derived shared fields).
void check_v2_keys(const ArchConfig& a, const Checker& c) {
    const V2Params& v = a.v2;
    const V2Clusters& cl = v.clusters;
    // Up to the 32 x 32 clusters of 4 x 4 PEs of the scaling study (JETCAS III-D) and a
    // physical grid within v1's 1024 x 1024.
    c.range(cl.rows, "clusters.rows", 1, 64);
    c.range(cl.cols, "clusters.cols", 1, 64);
    c.range(cl.pe_rows, "clusters.pe_rows", 1, 16);
    c.range(cl.pe_cols, "clusters.pe_cols", 1, 16);
    c.range(v.pes, "pes", 1, 1 << 20);
    if (cl.count() * cl.pes_per_cluster() != v.pes)
        c.fail("pes", "is " + std::to_string(v.pes) +
                          " but clusters.rows x clusters.cols x clusters.pe_rows x "
                          "clusters.pe_cols = " +
                          std::to_string(cl.rows) + " x " + std::to_string(cl.cols) + " x " +
                          std::to_string(cl.pe_rows) + " x " + std::to_string(cl.pe_cols) + " = " +
                          std::to_string(cl.count() * cl.pes_per_cluster()));

    const V2Csc& csc = v.csc;
    c.range(csc.data_bits, "csc.data_bits", 2, 16);
    c.equal(csc.data_bits, "csc.data_bits", a.word_bits, "word_bits (one iact or weight)");
    c.range(csc.count_bits, "csc.count_bits", 1, 16);
    c.range(csc.iact_addr_bits, "csc.iact_addr_bits", 1, 30);
    c.range(csc.weight_addr_bits, "csc.weight_addr_bits", 1, 30);
    const int64_t pair = csc.pair_bits();
    const std::string pair_text = "csc.count_bits + csc.data_bits";

    const V2Pe& pe = v.pe;
    c.range(pe.macs_per_cycle, "pe.macs_per_cycle", 1, 16);
    c.range(pe.pipeline_stages, "pe.pipeline_stages", 2, 64);
    c.range(pe.mac_pipeline_stages, "pe.mac_pipeline_stages", 1, pe.pipeline_stages - 1);
    c.range(pe.psum_bits, "pe.psum_bits", 2 * a.word_bits, 64);  // holds one full product
    c.range(pe.fifo_depth_words, "pe.fifo_depth_words", 1, kBig);
    c.at_least(pe.iact_data_spad_entries, "pe.iact_data_spad_entries", 1,
               "a PE works on at least one iact");
    c.equal(pe.iact_data_spad_bits, "pe.iact_data_spad_bits", pair,
            pair_text + " (one (count, iact) pair)");
    c.at_least(pe.iact_addr_spad_entries, "pe.iact_addr_spad_entries", 1,
               "one address per CSC column; a mapping has at least one column");
    c.equal(pe.iact_addr_spad_bits, "pe.iact_addr_spad_bits", csc.iact_addr_bits,
            "csc.iact_addr_bits");
    if (pe.iact_data_spad_entries > (int64_t{1} << csc.iact_addr_bits))
        c.fail("csc.iact_addr_bits",
               std::to_string(csc.iact_addr_bits) + " bits cannot address the " +
                   std::to_string(pe.iact_data_spad_entries) + " pe.iact_data_spad_entries");
    c.at_least(pe.weight_data_spad_entries, "pe.weight_data_spad_entries", 1,
               "one word of weights: a filter row of a 1x1 conv");
    c.equal(pe.weight_data_spad_bits, "pe.weight_data_spad_bits", pe.macs_per_cycle * pair,
            "pe.macs_per_cycle x (" + pair_text + ") (one (count, weight) pair per SIMD lane)");
    c.at_least(pe.weight_addr_spad_entries, "pe.weight_addr_spad_entries", 1,
               "one address per CSC column; a mapping has at least one column");
    c.equal(pe.weight_addr_spad_bits, "pe.weight_addr_spad_bits", csc.weight_addr_bits,
            "csc.weight_addr_bits");
    if (pe.weight_data_spad_entries > (int64_t{1} << csc.weight_addr_bits))
        c.fail("csc.weight_addr_bits",
               std::to_string(csc.weight_addr_bits) + " bits cannot address the " +
                   std::to_string(pe.weight_data_spad_entries) + " pe.weight_data_spad_entries");
    c.at_least(pe.psum_spad_entries, "pe.psum_spad_entries", 1,
               "a PE accumulates at least one psum");
    c.equal(pe.psum_spad_bits, "pe.psum_spad_bits", pe.psum_bits, "pe.psum_bits");

    const V2Glb& glb = v.glb;
    c.range(glb.iact_banks, "glb.iact_banks", 1, 64);
    c.at_least(glb.iact_bank_bytes, "glb.iact_bank_bytes", 1, "a bank holds data");
    c.range(glb.psum_banks, "glb.psum_banks", 1, 64);
    c.at_least(glb.psum_bank_bytes, "glb.psum_bank_bytes", 1, "a bank holds data");
    if (glb.weight_bytes != 0)
        c.fail("glb.weight_bytes",
               "must be 0: Eyeriss v2 keeps no weights in the GLB (they go from off-chip "
               "through the weight routers to the PE spads), got " +
                   std::to_string(glb.weight_bytes));
    c.range(glb.read_latency_cycles, "glb.read_latency_cycles", 1, 1024);

    const V2Routers& r = v.routers;
    c.range(r.iact_routers, "routers.iact_routers", 1, 64);
    c.equal(r.iact_routers, "routers.iact_routers", glb.iact_banks,
            "glb.iact_banks (one iact router per iact bank)");
    c.range(r.weight_routers, "routers.weight_routers", 1, 64);
    c.equal(r.weight_routers, "routers.weight_routers", cl.pe_rows,
            "clusters.pe_rows (one weight router per PE row)");
    c.range(r.psum_routers, "routers.psum_routers", 1, 64);
    c.equal(r.psum_routers, "routers.psum_routers", cl.pe_cols,
            "clusters.pe_cols (one psum router per PE column)");
    c.equal(glb.psum_banks, "glb.psum_banks", r.psum_routers,
            "routers.psum_routers (one psum bank per psum router)");
    const std::string mesh =
        " for " + std::to_string(cl.rows) + " x " + std::to_string(cl.cols) + " clusters";
    c.range(r.iact_router_ports, "routers.iact_router_ports", 1, 16);
    const int64_t iact_ports = vertical_pairs(cl) + horizontal_pairs(cl) + 1;
    if (r.iact_router_ports < iact_ports)
        c.fail("routers.iact_router_ports",
               "must be at least " + std::to_string(iact_ports) + mesh +
                   " (one per mesh neighbour + the GLB/PE port), got " +
                   std::to_string(r.iact_router_ports));
    c.range(r.weight_router_ports, "routers.weight_router_ports", 1, 16);
    const int64_t weight_ports = horizontal_pairs(cl) + 1;
    if (r.weight_router_ports < weight_ports)
        c.fail("routers.weight_router_ports",
               "must be at least " + std::to_string(weight_ports) + mesh +
                   " (one per horizontal neighbour + the off-chip/PE-row port), got " +
                   std::to_string(r.weight_router_ports));
    c.range(r.psum_router_ports, "routers.psum_router_ports", 1, 16);
    const int64_t psum_ports = (cl.rows > 1 ? 1 : 0) + 2;
    if (r.psum_router_ports < psum_ports)
        c.fail("routers.psum_router_ports",
               "must be at least " + std::to_string(psum_ports) + mesh +
                   " (north in / south out + the GLB bank + the PE column), got " +
                   std::to_string(r.psum_router_ports));
    auto port_bits = [&](int64_t bits, const std::string& key, int64_t lo,
                         std::vector<std::pair<int64_t, std::string>> units) {
        c.range(bits, key, lo, 4096);
        for (const auto& [unit, what] : units)
            if (bits % unit != 0)
                c.fail(key, "must carry whole " + what + " (a multiple of " + std::to_string(unit) +
                                "), got " + std::to_string(bits));
    };
    const std::string word_text = std::to_string(a.word_bits) + "-bit values";
    const std::string pair_word = std::to_string(pair) + "-bit (count, value) pairs";
    port_bits(r.iact_port_bits, "routers.iact_port_bits", pair,
              {{a.word_bits, word_text}, {pair, pair_word}});
    port_bits(r.weight_port_bits, "routers.weight_port_bits", pair,
              {{a.word_bits, word_text}, {pair, pair_word}});
    port_bits(r.psum_port_bits, "routers.psum_port_bits", pe.psum_bits,
              {{pe.psum_bits, std::to_string(pe.psum_bits) + "-bit psums"}});
    // Each bank is read and written through the router port it is paired with (JETCAS II).
    if ((glb.iact_bank_bytes * 8) % r.iact_port_bits != 0)
        c.fail("glb.iact_bank_bytes",
               "must hold a whole number of routers.iact_port_bits-wide rows");
    if ((glb.psum_bank_bytes * 8) % r.psum_port_bits != 0)
        c.fail("glb.psum_bank_bytes",
               "must hold a whole number of routers.psum_port_bits-wide rows");

    if (v.noc.modes.empty()) c.fail("noc.modes", "must list at least one mode");
    for (size_t i = 1; i < v.noc.modes.size(); ++i)
        if (!(v.noc.modes[i - 1] < v.noc.modes[i]))
            c.fail("noc.modes",
                   "must be unique and in the order unicast, broadcast, grouped-multicast, "
                   "interleaved-multicast");
}

// The shared fields of an eyeriss-v2 config must be what derive_shared_from_v2() makes of
// its v2 keys: they are not in its JSON, so a stale one would escape the hash.
void check_v2_derived(const ArchConfig& a, const Checker& c) {
    ArchConfig have = a, want = a;
    want.derive_shared_from_v2();
    have.type = want.type = ArrayType::kEyerissV1;  // the v1 view lists the shared fields
    const nlohmann::json h = arch_to_json(have), w = arch_to_json(want);
    for (const char* section : {"array", "pe", "noc", "glb", "energy"})
        for (const auto& [key, value] : w[section].items())
            if (h[section][key] != value)
                c.fail(std::string(section) + "." + key + " (shared)",
                       "is " + h[section][key].dump() + " but eyeriss-v2 derives " + value.dump() +
                           " from its v2 keys (call derive_shared_from_v2())");
}

// `derived`: also compare the shared fields of an eyeriss-v2 config with its v2 keys.
void validate_config(const ArchConfig& a, const std::string& where, bool derived) {
    const Checker c{where};
    // Widths that carry whole words must be word multiples, else a beat splits a word.
    auto word_multiple = [&](int64_t v, const char* key) {
        c.range(v, key, a.word_bits, 4096);
        if (v % a.word_bits != 0)
            c.fail(key, "must be a multiple of word_bits=" + std::to_string(a.word_bits) +
                            ", got " + std::to_string(v));
    };
    if (a.name.empty()) c.fail("name", "must not be empty");
    c.range(a.word_bits, "word_bits", 2, 16);  // traces store int16 words
    c.range(a.frac_bits, "frac_bits", 0, a.word_bits - 1);
    c.positive_mhz(a.clock_mhz, "clock_mhz");
    if (a.type == ArrayType::kEyerissV2) {
        check_v2_keys(a, c);
    } else {
        c.range(a.array.rows, "array.rows", 1, 1024);
        c.range(a.array.cols, "array.cols", 1, 1024);
        c.range(a.pe.ifmap_spad_words, "pe.ifmap_spad_words", 1, kBig);
        c.range(a.pe.filter_spad_words, "pe.filter_spad_words", 1, kBig);
        c.range(a.pe.psum_spad_words, "pe.psum_spad_words", 1, kBig);
        c.range(a.pe.mac_pipeline_stages, "pe.mac_pipeline_stages", 1, 64);
        c.range(a.pe.accum_bits, "pe.accum_bits", a.word_bits, 64);
        c.range(a.pe.fifo_depth_words, "pe.fifo_depth_words", 1, kBig);
        c.range(a.pe.psum_fifo_depth_words, "pe.psum_fifo_depth_words", 1, kBig);
        word_multiple(a.noc.ifmap_bus_bits, "noc.ifmap_bus_bits");
        word_multiple(a.noc.filter_bus_bits, "noc.filter_bus_bits");
        word_multiple(a.noc.psum_in_bus_bits, "noc.psum_in_bus_bits");
        word_multiple(a.noc.psum_out_bus_bits, "noc.psum_out_bus_bits");
        c.range(a.glb.ifmap_psum_banks, "glb.ifmap_psum_banks", 1, 4096);
        word_multiple(a.glb.port_bits, "glb.port_bits");
        c.range(a.glb.bank_bytes, "glb.bank_bytes", 1, kBig);
        if ((a.glb.bank_bytes * 8) % a.glb.port_bits != 0)
            c.fail("glb.bank_bytes", "must hold a whole number of port_bits-wide rows");
        c.range(a.glb.filter_bytes, "glb.filter_bytes", 1, kBig);
        c.range(a.glb.read_latency_cycles, "glb.read_latency_cycles", 1, 1024);
    }
    const DramParams& dram = a.dram;
    word_multiple(dram.bus_bits, "dram.bus_bits");
    c.positive_mhz(dram.clock_mhz, "dram.clock_mhz");
    c.range(dram.latency_cycles, "dram.latency_cycles", 0, 1 << 20);
    c.range(dram.rlc_run_bits, "dram.rlc_run_bits", 1, 16);
    c.range(dram.rlc_value_bits, "dram.rlc_value_bits", a.word_bits, 64);
    c.range(dram.rlc_pairs_per_word, "dram.rlc_pairs_per_word", 1, 64);
    if (dram.rlc &&
        dram.rlc_pairs_per_word * (dram.rlc_run_bits + dram.rlc_value_bits) > dram.bus_bits)
        c.fail("dram.rlc_pairs_per_word",
               std::to_string(dram.rlc_pairs_per_word) + " pairs of " +
                   std::to_string(dram.rlc_run_bits + dram.rlc_value_bits) + " bits do not fit a " +
                   std::to_string(dram.bus_bits) + "-bit DRAM word");
    if (a.type == ArrayType::kEyerissV2) {
        if (dram.rlc && a.v2.csc.off_chip)
            c.fail("dram.rlc",
                   "must be false when csc.off_chip is true (off-chip data is "
                   "CSC-coded, not run-length coded)");
#define ACTSPARSE_CHECK_V2_ENERGY(name) c.energy(a.v2.energy.name, "energy." #name);
        ACTSPARSE_V2_ENERGY_FIELDS(ACTSPARSE_CHECK_V2_ENERGY)
#undef ACTSPARSE_CHECK_V2_ENERGY
        if (derived) check_v2_derived(a, c);
    } else {
#define ACTSPARSE_CHECK_ENERGY(name) c.energy(a.energy.name, "energy." #name);
        ACTSPARSE_ENERGY_FIELDS(ACTSPARSE_CHECK_ENERGY)
#undef ACTSPARSE_CHECK_ENERGY
    }
}

}  // namespace

void ArchConfig::validate(const std::string& where) const { validate_config(*this, where, true); }

void ArchConfig::derive_shared_from_v2() {
    const V2Params& v = v2;
    array.rows = v.clusters.rows * v.clusters.pe_rows;
    array.cols = v.clusters.cols * v.clusters.pe_cols;
    pe.ifmap_spad_words = v.pe.iact_data_spad_entries;
    pe.filter_spad_words = v.pe.weights();
    pe.psum_spad_words = v.pe.psum_spad_entries;
    pe.mac_pipeline_stages = v.pe.mac_pipeline_stages;
    pe.accum_bits = v.pe.psum_bits;
    pe.fifo_depth_words = v.pe.fifo_depth_words;
    pe.psum_fifo_depth_words = v.pe.fifo_depth_words;
    // The GLB side of the NoC: every router's GLB/off-chip source port at once (unicast).
    const int64_t clusters = v.clusters.count();
    noc.ifmap_bus_bits = clusters * v.routers.iact_routers * v.routers.iact_port_bits;
    noc.filter_bus_bits = clusters * v.routers.weight_routers * v.routers.weight_port_bits;
    noc.psum_in_bus_bits = clusters * v.routers.psum_routers * v.routers.psum_port_bits;
    noc.psum_out_bus_bits = noc.psum_in_bus_bits;
    // One "bank" per GLB cluster, holding its iact and psum banks: capacity_bytes() is the
    // chip's total (192 KB), with no filter part.
    glb.ifmap_psum_banks = clusters;
    glb.bank_bytes =
        v.glb.iact_banks * v.glb.iact_bank_bytes + v.glb.psum_banks * v.glb.psum_bank_bytes;
    glb.filter_bytes = v.glb.weight_bytes;
    glb.port_bits = v.routers.iact_port_bits;
    glb.read_latency_cycles = v.glb.read_latency_cycles;
    // Per word_bits word, as v1's table: spads per value, the rest per bit x word_bits.
    const V2EnergyTable& e = v.energy;
    const double bits = static_cast<double>(word_bits);
    const double lanes = static_cast<double>(std::max<int64_t>(1, v.pe.macs_per_cycle));
    energy.mac_pj = e.mac_pj;
    energy.mac_gated_pj = e.mac_gated_pj;
    energy.ifmap_spad_read_pj = e.iact_data_spad_read_pj;
    energy.ifmap_spad_write_pj = e.iact_data_spad_write_pj;
    energy.filter_spad_read_pj = e.weight_data_spad_read_pj / lanes;
    energy.filter_spad_write_pj = e.weight_data_spad_write_pj / lanes;
    energy.psum_spad_read_pj = e.psum_spad_read_pj;
    energy.psum_spad_write_pj = e.psum_spad_write_pj;
    energy.noc_word_pj = e.noc_hop_pj_per_bit * bits;
    energy.array_link_word_pj = e.noc_hop_pj_per_bit * bits;
    energy.glb_read_pj = e.glb_read_pj_per_bit * bits;
    energy.glb_write_pj = e.glb_write_pj_per_bit * bits;
    energy.dram_read_pj = e.dram_read_pj_per_bit * bits;
    energy.dram_write_pj = e.dram_write_pj_per_bit * bits;
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
    // `type` picks the schema, so it is read before the other keys; absent means v1.
    bool typed = false;
    try {
        for (const auto& kv : root)
            if (key_text(kv.first, where) == "type") {
                a.type = parse_array_type(
                    scalar_text(kv.second, where + ": type", "eyeriss-v1 or eyeriss-v2"),
                    where + ": type");
                typed = true;
                break;
            }
    } catch (const YAML::Exception& e) {
        throw InputError(where, std::string("invalid YAML: ") + printable(e.what()));
    }
    const std::vector<Field> fields = arch_fields(a);
    auto find = [&](const std::string& section, const std::string& key) -> const Field* {
        for (const Field& f : fields)
            if (section == f.section && key == f.key) return &f;
        return nullptr;
    };
    // An unknown key that the other schema has usually means a wrong or missing `type`.
    ArchConfig other_config;
    other_config.type =
        a.type == ArrayType::kEyerissV2 ? ArrayType::kEyerissV1 : ArrayType::kEyerissV2;
    const std::vector<Field> other_fields = arch_fields(other_config);
    auto unknown = [&](const std::string& section, const std::string& key) {
        bool other = section.empty() && is_section(key, other_config.type);
        for (const Field& f : other_fields) other = other || (section == f.section && key == f.key);
        if (!other) return std::string("unknown key");
        return std::string("unknown key for ") + to_string(a.type) + ", an " +
               to_string(other_config.type) + " key" +
               (typed ? "" : " (without a `type` key a config is eyeriss-v1)");
    };
    std::set<std::string> seen;
    std::string ert_path;  // energy.accelergy_ert
    try {
        for (const auto& kv : root) {
            const std::string key = key_text(kv.first, where);
            const std::string shown = printable(key);
            if (!seen.insert(key).second) throw InputError(where + ": " + shown, "given twice");
            if (key == "type") continue;  // read above
            if (is_section(key, a.type)) {
                if (!kv.second.IsMap())
                    throw InputError(where + ": " + key,
                                     std::string("expected a map, got ") + node_kind(kv.second));
                for (const auto& sub : kv.second) {
                    const std::string subkey = key_text(sub.first, where + ": " + key);
                    const std::string path = key + "." + subkey;
                    const std::string shown_path = key + "." + printable(subkey);
                    if (!seen.insert(path).second)
                        throw InputError(where + ": " + shown_path, "given twice");
                    if (path == "energy.accelergy_ert") {
                        if (a.type != ArrayType::kEyerissV1)
                            throw InputError(where + ": " + path,
                                             "eyeriss-v1 only (an Accelergy ERT maps onto "
                                             "eyeriss-v1's energy counters)");
                        ert_path = scalar_text(sub.second, where + ": " + path, "a file name");
                        continue;
                    }
                    const Field* f = find(key, subkey);
                    if (!f) throw InputError(where + ": " + shown_path, unknown(key, subkey));
                    read_field(*f, sub.second, where + ": " + shown_path);
                }
                continue;
            }
            const Field* f = find("", key);
            if (!f) throw InputError(where + ": " + shown, unknown("", key));
            read_field(*f, kv.second, where + ": " + shown);
        }
    } catch (const YAML::Exception& e) {
        throw InputError(where, std::string("invalid YAML: ") + printable(e.what()));
    }
    if (!ert_path.empty()) {
        // The ERT prices the counters it has actions for; keys given beside it win; the
        // rest keep the built-in eyeriss-v1 values (one warning line names them).
        std::filesystem::path ert(ert_path);
        if (ert.is_relative() && where != to_string(ArrayType::kEyerissV1))
            ert = std::filesystem::path(where).parent_path() / ert;
        const ArchConfig builtin =
            parse_arch_yaml(builtin_arch_yaml(ArrayType::kEyerissV1), "eyeriss-v1");
        ErtEnergy e = read_accelergy_ert(ert.string(), builtin.energy);
        std::vector<std::string> missing;
        for (const std::string& m : e.missing)
            if (!seen.count("energy." + m)) missing.push_back(m);
#define ACTSPARSE_ERT_MERGE(name) \
    if (!seen.count("energy." #name)) a.energy.name = e.energy.name;
        ACTSPARSE_ENERGY_FIELDS(ACTSPARSE_ERT_MERGE)
#undef ACTSPARSE_ERT_MERGE
        e.missing = missing;
        const std::string w = ert_warning(where + ": energy.accelergy_ert: " + ert.string(), e,
                                          "the built-in eyeriss-v1 values");
        if (!w.empty()) std::cerr << "actsparse: warning: " << w << std::endl;
    }
    for (const Field& f : fields)
        if (!seen.count(f.path()) && !(f.section == std::string("energy") && !ert_path.empty()))
            throw InputError(where + ": " + f.path(), "missing required key");
    if (a.type == ArrayType::kEyerissV2) {
        validate_config(a, where, false);  // the v2 keys first: the derivation trusts them
        a.derive_shared_from_v2();
    }
    a.validate(where);
    return a;
}

const std::string& builtin_arch_yaml() { return builtin_arch_yaml(ArrayType::kEyerissV1); }

ArchConfig load_arch(const std::string& name_or_path) {
    for (ArrayType t : {ArrayType::kEyerissV1, ArrayType::kEyerissV2})
        if (name_or_path == to_string(t))
            return parse_arch_yaml(builtin_arch_yaml(t), name_or_path);
    return parse_arch_yaml(read_file(name_or_path), name_or_path);
}

nlohmann::json arch_to_json(const ArchConfig& a) {
    ArchConfig copy = a;  // the field table takes mutable pointers
    nlohmann::json j = nlohmann::json::object();
    // v1 writes no `type` (absent means v1), so v1 hashes stay what they were.
    if (a.type != ArrayType::kEyerissV1) j["type"] = to_string(a.type);
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
            case Kind::kNocModes:
                slot = nlohmann::json::array();
                for (NocMode m : *static_cast<const std::vector<NocMode>*>(f.ptr))
                    slot.push_back(to_string(m));
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
