#pragma once
/// @file Inputs several subcommands share: a layer given as a shape spec or a Timeloop
/// problem file, and a network given as a built-in name, a folder of Timeloop problem files
/// or an ONNX model.
#include <CLI/CLI.hpp>
#include <string>

#include "core/arch.h"
#include "core/network.h"
#include "core/shape.h"

namespace actsparse::app {

/// `--layer SPEC` or `--layer FILE.yaml` (a Timeloop problem, versions 0.3/0.4).
core::LayerShape parse_layer_arg(const std::string& text, const std::string& flag = "--layer");

/// Where a network comes from: exactly one of the three is set.
struct NetArgs {
    std::string net;      ///< --net NAME (built-in)
    std::string net_dir;  ///< --net-dir DIR (Timeloop problem files)
    std::string onnx;     ///< --onnx MODEL.onnx (core/onnx.h)
    double width = 1.0;   ///< --width (built-in networks only)
    bool given() const { return !net.empty() || !net_dir.empty() || !onnx.empty(); }
    /// What names the network: the built-in name, the folder or the model file.
    std::string source() const { return net + net_dir + onnx; }
};

/// The options add_net_source_options adds.
struct NetSourceOptions {
    CLI::Option* net_dir = nullptr;
    CLI::Option* onnx = nullptr;
};

/// Adds --net-dir and --onnx next to an existing --net option (the three exclude each
/// other).
NetSourceOptions add_net_source_options(CLI::App* cmd, NetArgs& args, CLI::Option* net);

/// The network NetArgs names. Throws InputError: none or several given, --width other than 1
/// with --net-dir or --onnx, bad files.
core::Network load_network(const NetArgs& args);

/// The flag that named the network ("--net", "--net-dir" or "--onnx"), for messages.
std::string net_flag(const NetArgs& args);

/// The reference density calibrate and evaluate plan every layer's one mapping for when
/// `--mapping-density` is not given: an accelerator's mappings are compiled before it sees an
/// input, so one mapping per layer is the default (docs/calibration.md).
inline constexpr double kDefaultMappingDensity = 0.5;

/// The whole of `text` as a number (std::stod's syntax, no trailing characters); false if it
/// is not one.
bool parse_double(const std::string& text, double* out);

/// `--mapping-density D|per-point|per-image`: D in (0, 1], or -1 for a mapping re-planned for
/// each point's (image's) own density. Throws InputError naming `flag`.
double parse_mapping_density(const std::string& text, const std::string& flag);

/// A density as the command lines write it ("%g": 0.5).
std::string format_density(double d);

/// Loads --arch and applies --energy-table (an Accelergy ERT) when given.
core::ArchConfig load_arch_with_energy(const std::string& arch, const std::string& energy_table);

}  // namespace actsparse::app
