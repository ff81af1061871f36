#pragma once
/// @file The accelerator's architecture config: every parameter of the Eyeriss-like
/// accelerator and its energy table. Loaded from YAML by load_arch(); the built-in
/// `eyeriss-v1` is configs/eyeriss-v1.yaml compiled into the binary.
#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <string>

namespace actsparse::core {

/// How a PE treats a zero ifmap value.
enum class ZeroMode {
    kNone,  ///< dense: every MAC is performed
    kGate,  ///< Eyeriss v1: filter-spad read and MAC are gated off; the cycle is still spent
    kSkip,  ///< Eyeriss v2 / Sparseloop skipping: the zero costs no MAC cycle
};
const char* to_string(ZeroMode m);
/// Parses "none" | "gate" | "skip"; throws InputError(where, ...) otherwise.
ZeroMode parse_zero_mode(const std::string& text, const std::string& where);

struct PeParams {
    int64_t ifmap_spad_words = 12;
    int64_t filter_spad_words = 224;
    int64_t psum_spad_words = 24;
    int64_t mac_pipeline_stages = 2;  ///< latency of the pipelined MAC
    int64_t accum_bits = 32;          ///< width of the psum accumulator (wider than words)
    int64_t fifo_depth_words = 4;     ///< depth of each input FIFO (ifmap, filter, psum)
};

struct ArrayParams {
    int64_t rows = 12;  ///< physical PE rows (R dimension of a PE set folds onto these)
    int64_t cols = 14;  ///< physical PE columns (E dimension of a PE set)
};

struct NocParams {
    int64_t ifmap_bus_bits = 64;     ///< GLB -> array ifmap multicast bus
    int64_t filter_bus_bits = 64;    ///< GLB/DRAM -> array filter multicast bus
    int64_t psum_in_bus_bits = 64;   ///< GLB -> array psum bus
    int64_t psum_out_bus_bits = 64;  ///< array -> GLB psum/ofmap bus
};

struct GlbParams {
    int64_t ifmap_psum_banks = 25;  ///< banks shared by ifmaps and psums
    int64_t bank_bytes = 4096;
    int64_t filter_bytes = 8192;  ///< filter buffer (the rest of the 108 KB)
    int64_t port_bits = 64;       ///< bits per bank access
    int64_t read_latency_cycles = 1;
    int64_t capacity_bytes() const { return ifmap_psum_banks * bank_bytes + filter_bytes; }
};

struct DramParams {
    int64_t bus_bits = 64;
    double clock_mhz = 200.0;      ///< DRAM bus clock (its own clock domain)
    int64_t latency_cycles = 100;  ///< first-word latency in DRAM clock cycles
    bool rlc = true;  ///< run-length compress feature maps (not filters, not the first input)
    int64_t rlc_run_bits = 5;
    int64_t rlc_value_bits = 16;
    int64_t rlc_pairs_per_word = 3;
};

/// Energy per action, pJ. One list drives the struct, the YAML keys and the JSON output.
#define ACTSPARSE_ENERGY_FIELDS(X)                                                   \
    X(mac_pj)             /* one 16-bit MAC performed */                             \
    X(mac_gated_pj)       /* a MAC slot gated off by a zero ifmap */                 \
    X(ifmap_spad_read_pj) /* per 16-bit word */                                      \
    X(ifmap_spad_write_pj)                                                           \
    X(filter_spad_read_pj)                                                           \
    X(filter_spad_write_pj)                                                          \
    X(psum_spad_read_pj)                                                             \
    X(psum_spad_write_pj)                                                            \
    X(noc_word_pj)        /* GLB <-> PE array, per word delivered per destination */ \
    X(array_link_word_pj) /* PE -> neighbour PE psum link, per word */               \
    X(glb_read_pj)        /* per 16-bit word */                                      \
    X(glb_write_pj)                                                                  \
    X(dram_read_pj) /* per 16-bit word moved over the DRAM bus */                    \
    X(dram_write_pj)

struct EnergyTable {
#define ACTSPARSE_DECLARE_ENERGY(name) double name = 0.0;
    ACTSPARSE_ENERGY_FIELDS(ACTSPARSE_DECLARE_ENERGY)
#undef ACTSPARSE_DECLARE_ENERGY
};

struct ArchConfig {
    std::string name = "eyeriss-v1";
    int64_t word_bits = 16;
    int64_t frac_bits = 8;  ///< fixed-point fraction bits of ifmaps and weights
    double clock_mhz = 200.0;
    ZeroMode zero_mode = ZeroMode::kGate;
    ArrayParams array;
    PeParams pe;
    NocParams noc;
    GlbParams glb;
    DramParams dram;
    EnergyTable energy;

    /// Checks ranges (sizes >= 1 etc.); throws InputError(where + ": key", reason).
    void validate(const std::string& where) const;
};

/// Loads `eyeriss-v1` (built-in) or a YAML file. Unknown and missing required keys are
/// errors naming the file and key.
ArchConfig load_arch(const std::string& name_or_path);
/// Parses YAML text; `where` names its origin in error messages.
ArchConfig parse_arch_yaml(const std::string& yaml_text, const std::string& where);
/// The YAML text of the built-in config.
const std::string& builtin_arch_yaml();
/// Effective configuration as JSON (written next to every result).
nlohmann::json arch_to_json(const ArchConfig& a);
/// Stable hash (hex) of the effective configuration, for cache keys.
std::string arch_hash(const ArchConfig& a);

}  // namespace actsparse::core
