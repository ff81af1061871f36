#include "apps/actsparse/inputs.h"

#include <cmath>
#include <cstdio>
#include <exception>
#include <string>

#include "core/accelergy.h"
#include "core/error.h"
#include "core/onnx.h"
#include "core/timeloop.h"

namespace actsparse::app {

core::LayerShape parse_layer_arg(const std::string& text, const std::string& flag) {
    if (core::is_timeloop_problem_path(text)) return core::read_timeloop_problem(text);
    return core::LayerShape::parse_spec(text, flag);
}

NetSourceOptions add_net_source_options(CLI::App* cmd, NetArgs& args, CLI::Option* net) {
    NetSourceOptions o;
    o.net_dir = cmd->add_option("--net-dir", args.net_dir,
                                "A folder of Timeloop problem files as a network, one conv "
                                "layer per file in name order");
    o.onnx = cmd->add_option("--onnx", args.onnx,
                             "An ONNX model (MODEL.onnx) as a network; Gemm/MatMul layers are "
                             "convs (docs/formats.md)");
    o.onnx->excludes(o.net_dir);
    if (net) {
        o.net_dir->excludes(net);
        o.onnx->excludes(net);
    }
    return o;
}

std::string net_flag(const NetArgs& args) {
    if (!args.net_dir.empty()) return "--net-dir";
    if (!args.onnx.empty()) return "--onnx";
    return "--net";
}

core::Network load_network(const NetArgs& args) {
    if (!args.net.empty() + !args.net_dir.empty() + !args.onnx.empty() != 1)
        throw core::InputError("--net", "give exactly one of --net, --net-dir, --onnx");
    if (!(args.width > 0) || !std::isfinite(args.width))
        throw core::InputError("--width", "must be a finite number > 0");
    if (args.net.empty() && args.width != 1.0)
        throw core::InputError("--width",
                               "scales built-in networks only (--net), not " + net_flag(args));
    if (!args.net_dir.empty()) return core::timeloop_network(args.net_dir);
    if (!args.onnx.empty()) return core::read_onnx_network(args.onnx);
    core::NetOptions o;
    o.width_mult = args.width;
    return core::builtin_network(args.net, o);
}

bool parse_double(const std::string& text, double* out) {
    size_t used = 0;
    try {
        *out = std::stod(text, &used);
    } catch (const std::exception&) {
        return false;
    }
    return used == text.size();
}

double parse_mapping_density(const std::string& text, const std::string& flag) {
    if (text == "per-point" || text == "per-image") return -1;
    double d = 0;
    if (!parse_double(text, &d) || !(d > 0 && d <= 1))
        throw core::InputError(
            flag, "expected a density in (0, 1], per-point or per-image, got \"" + text + "\"");
    return d;
}

std::string format_density(double d) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g", d);
    return buf;
}

core::ArchConfig load_arch_with_energy(const std::string& arch, const std::string& energy_table) {
    core::ArchConfig a = core::load_arch(arch);
    if (!energy_table.empty()) core::apply_accelergy_ert(a, energy_table, "--energy-table");
    return a;
}

}  // namespace actsparse::app
