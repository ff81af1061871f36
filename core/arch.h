#pragma once
/// @file The accelerator's architecture config: every parameter of the Eyeriss-like
/// accelerator and its energy table. Loaded from YAML by load_arch(); the built-ins
/// `eyeriss-v1` and `eyeriss-v2` are configs/eyeriss-v1.yaml and configs/eyeriss-v2.yaml
/// compiled into the binary.
#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

namespace actsparse::core {

/// Which accelerator a config describes; the YAML key `type` (absent means eyeriss-v1, so
/// v1 files written before the key existed keep loading).
enum class ArrayType {
    kEyerissV1,  ///< JSSC 2017: 12 x 14 PEs, flat multicast NoC, row-stationary
    kEyerissV2,  ///< JETCAS 2019: 8 x 2 clusters of 3 x 4 PEs, HM-NoC, CSC, SIMD-2
};
const char* to_string(ArrayType t);  ///< "eyeriss-v1" | "eyeriss-v2"
/// Parses "eyeriss-v1" | "eyeriss-v2"; throws InputError(where, ...) otherwise.
ArrayType parse_array_type(const std::string& text, const std::string& where);

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
    int64_t mac_pipeline_stages = 2;     ///< latency of the pipelined MAC
    int64_t accum_bits = 32;             ///< width of the psum accumulator (wider than words)
    int64_t fifo_depth_words = 4;        ///< depth of the ifmap and filter input FIFOs
    int64_t psum_fifo_depth_words = 24;  ///< depth of the psum input and output FIFOs
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

/// HM-NoC operating modes of Eyeriss v2 (JETCAS 2019, Sec. III-B, Fig. 8).
enum class NocMode {
    kUnicast,               ///< high bandwidth: each GLB bank / off-chip port to its own cluster
    kBroadcast,             ///< high reuse: one source to every cluster
    kGroupedMulticast,      ///< one source to a group of neighbouring clusters
    kInterleavedMulticast,  ///< one source to clusters spread over the array
};
const char* to_string(NocMode m);  ///< "unicast", "broadcast", "grouped-multicast", ...
/// Parses the names to_string gives; throws InputError(where, ...) otherwise.
NocMode parse_noc_mode(const std::string& text, const std::string& where);

/// The cluster hierarchy: clusters of PEs (each with its GLB cluster and router cluster).
struct V2Clusters {
    int64_t rows = 8;     ///< cluster rows of the mesh
    int64_t cols = 2;     ///< cluster columns of the mesh
    int64_t pe_rows = 3;  ///< PE rows in one cluster
    int64_t pe_cols = 4;  ///< PE columns in one cluster
    int64_t count() const { return rows * cols; }
    int64_t pes_per_cluster() const { return pe_rows * pe_cols; }
};

/// One sparse PE: five spads (entries x bits each), a pipeline, SIMD MACs.
struct V2Pe {
    int64_t macs_per_cycle = 2;       ///< SIMD width: weights per weight-spad word, MACs per cycle
    int64_t pipeline_stages = 7;      ///< whole PE pipeline (iact fetch, weight read, MAC)
    int64_t mac_pipeline_stages = 2;  ///< the MAC part of it
    int64_t psum_bits = 20;           ///< psum accumulator width
    int64_t fifo_depth_words = 4;     ///< each PE I/O FIFO
    int64_t iact_data_spad_entries = 16;    ///< (count, iact) pairs
    int64_t iact_data_spad_bits = 12;       ///< = csc.count_bits + csc.data_bits
    int64_t iact_addr_spad_entries = 9;     ///< CSC column start addresses
    int64_t iact_addr_spad_bits = 4;        ///< = csc.iact_addr_bits
    int64_t weight_data_spad_entries = 96;  ///< words of macs_per_cycle (count, weight) pairs
    int64_t weight_data_spad_bits = 24;     ///< = macs_per_cycle x (count + data bits)
    int64_t weight_addr_spad_entries = 16;  ///< CSC column start addresses
    int64_t weight_addr_spad_bits = 7;      ///< = csc.weight_addr_bits
    int64_t psum_spad_entries = 32;         ///< psums (the most output channels M0 in one PE)
    int64_t psum_spad_bits = 20;            ///< = psum_bits
    int64_t weights() const { return weight_data_spad_entries * macs_per_cycle; }
};

/// The compressed sparse column code of iacts and weights.
struct V2Csc {
    int64_t count_bits = 4;        ///< zeros before each non-zero
    int64_t data_bits = 8;         ///< the non-zero value (= word_bits)
    int64_t iact_addr_bits = 4;    ///< an address in the iact data spad
    int64_t weight_addr_bits = 7;  ///< an address (word) in the weight data spad
    bool off_chip = true;          ///< iacts and weights cross the DRAM bus in CSC too
    int64_t pair_bits() const { return count_bits + data_bits; }
};

/// One GLB cluster: separate iact and psum banks; no weights.
struct V2Glb {
    int64_t iact_banks = 3;
    int64_t iact_bank_bytes = 1536;
    int64_t psum_banks = 4;
    int64_t psum_bank_bytes = 1920;
    int64_t weight_bytes = 0;  ///< always 0: v2 keeps no weights in the GLB
    int64_t read_latency_cycles = 1;
    int64_t cluster_bytes() const {
        return iact_banks * iact_bank_bytes + psum_banks * psum_bank_bytes + weight_bytes;
    }
};

/// One router cluster: routers per data type; each router has `*_router_ports` source
/// ports and as many destination ports, each `*_port_bits` wide.
struct V2Routers {
    int64_t iact_routers = 3;  ///< one per iact bank
    int64_t iact_router_ports = 4;
    int64_t iact_port_bits = 24;
    int64_t weight_routers = 3;  ///< one per PE row
    int64_t weight_router_ports = 2;
    int64_t weight_port_bits = 24;
    int64_t psum_routers = 4;  ///< one per psum bank = one per PE column
    int64_t psum_router_ports = 3;
    int64_t psum_port_bits = 40;
};

struct V2Noc {
    /// Supported HM-NoC modes, unique, in enum order (the parser sorts them).
    std::vector<NocMode> modes = {NocMode::kUnicast, NocMode::kBroadcast,
                                  NocMode::kGroupedMulticast, NocMode::kInterleavedMulticast};
    bool supports(NocMode m) const {
        for (NocMode x : modes)
            if (x == m) return true;
        return false;
    }
};

/// Eyeriss v2 energy per action, pJ: spads per access of one spad word (the widths in
/// V2Pe), the GLB, NoC and DRAM per bit moved. One list drives struct, YAML and JSON.
#define ACTSPARSE_V2_ENERGY_FIELDS(X)                                                  \
    X(mac_pj)                 /* one 8b x 8b MAC (each SIMD lane counts once) */       \
    X(mac_gated_pj)           /* a gated or idle MAC slot (the unused SIMD lane) */    \
    X(iact_data_spad_read_pj) /* per (count, iact) word */                             \
    X(iact_data_spad_write_pj)                                                         \
    X(iact_addr_spad_read_pj) /* per address */                                        \
    X(iact_addr_spad_write_pj)                                                         \
    X(weight_data_spad_read_pj) /* per word of macs_per_cycle (count, weight) pairs */ \
    X(weight_data_spad_write_pj)                                                       \
    X(weight_addr_spad_read_pj) /* per address */                                      \
    X(weight_addr_spad_write_pj)                                                       \
    X(psum_spad_read_pj) /* per psum */                                                \
    X(psum_spad_write_pj)                                                              \
    X(noc_hop_pj_per_bit) /* per bit per link: router-router, router-PE, PE-PE */      \
    X(glb_read_pj_per_bit)                                                             \
    X(glb_write_pj_per_bit)                                                            \
    X(dram_read_pj_per_bit)                                                            \
    X(dram_write_pj_per_bit)

struct V2EnergyTable {
#define ACTSPARSE_DECLARE_V2_ENERGY(name) double name = 0.0;
    ACTSPARSE_V2_ENERGY_FIELDS(ACTSPARSE_DECLARE_V2_ENERGY)
#undef ACTSPARSE_DECLARE_V2_ENERGY
};

/// Every Eyeriss v2 parameter (configs/eyeriss-v2.yaml cites each). Read only when
/// ArchConfig::type is kEyerissV2.
struct V2Params {
    int64_t pes = 192;  ///< must equal clusters.count() * clusters.pes_per_cluster()
    V2Clusters clusters;
    V2Pe pe;
    V2Csc csc;
    V2Glb glb;
    V2Routers routers;
    V2Noc noc;
    V2EnergyTable energy;
};

struct ArchConfig {
    ArrayType type = ArrayType::kEyerissV1;
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
    /// Eyeriss v2 only. For kEyerissV2 the YAML gives these (plus name, word_bits,
    /// frac_bits, clock_mhz, zero_mode and dram) and the shared fields above (array, pe,
    /// noc, glb, energy) are derived from them by derive_shared_from_v2(), so code written
    /// for v1 (utilisation, GLB capacity, DRAM, energy per word) reads sensible values.
    V2Params v2;

    /// Checks ranges (sizes >= 1 etc.) and, for eyeriss-v2, the cross-checks of the v2 keys
    /// and that the shared fields match derive_shared_from_v2(); throws
    /// InputError(where + ": key", reason).
    void validate(const std::string& where) const;
    /// eyeriss-v2: sets the shared fields from `v2` (see docs/formats.md for each formula):
    /// array = clusters x PEs per cluster (24 x 8), pe = the data spads in values
    /// (16 iacts, 192 weights, 32 psums), noc = the summed GLB-side router ports, glb = one
    /// "bank" per GLB cluster of its iact + psum bytes, energy = per word_bits word (the
    /// filter spad per weight). Call it after changing `v2` by hand, before validate().
    void derive_shared_from_v2();
};

/// Loads `eyeriss-v1` or `eyeriss-v2` (built-ins) or a YAML file. Unknown and missing
/// required keys are errors naming the file and key.
ArchConfig load_arch(const std::string& name_or_path);
/// Parses YAML text; `where` names its origin in error messages.
ArchConfig parse_arch_yaml(const std::string& yaml_text, const std::string& where);
/// The YAML text of the built-in eyeriss-v1 config.
const std::string& builtin_arch_yaml();
/// The YAML text of the built-in config of `type`.
const std::string& builtin_arch_yaml(ArrayType type);
/// Effective configuration as JSON (written next to every result). eyeriss-v1 has no
/// `type` key (so its hash is what it was before v2 existed); eyeriss-v2 has `type` and
/// exactly its YAML keys (the derived shared fields are not written). Either reads back
/// as the same config.
nlohmann::json arch_to_json(const ArchConfig& a);
/// Stable hash (hex) of the effective configuration, for cache keys.
std::string arch_hash(const ArchConfig& a);

}  // namespace actsparse::core
