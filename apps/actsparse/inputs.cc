#include "apps/actsparse/inputs.h"

#include <cmath>

#include "core/accelergy.h"
#include "core/error.h"
#include "core/timeloop.h"

namespace actsparse::app {

core::LayerShape parse_layer_arg(const std::string& text, const std::string& flag) {
    if (core::is_timeloop_problem_path(text)) return core::read_timeloop_problem(text);
    return core::LayerShape::parse_spec(text, flag);
}

CLI::Option* add_net_source_options(CLI::App* cmd, NetArgs& args, CLI::Option* net) {
    auto* dir = cmd->add_option("--net-dir", args.net_dir,
                                "A folder of Timeloop problem files as a network, one conv "
                                "layer per file in name order");
    if (net) dir->excludes(net);
    return dir;
}

std::string net_flag(const NetArgs& args) { return !args.net_dir.empty() ? "--net-dir" : "--net"; }

core::Network load_network(const NetArgs& args) {
    if (!args.net.empty() + !args.net_dir.empty() != 1)
        throw core::InputError("--net", "give exactly one of --net, --net-dir");
    if (!(args.width > 0) || !std::isfinite(args.width))
        throw core::InputError("--width", "must be a finite number > 0");
    if (args.net.empty() && args.width != 1.0)
        throw core::InputError("--width",
                               "scales built-in networks only (--net), not " + net_flag(args));
    if (!args.net_dir.empty()) return core::timeloop_network(args.net_dir);
    core::NetOptions o;
    o.width_mult = args.width;
    return core::builtin_network(args.net, o);
}

core::ArchConfig load_arch_with_energy(const std::string& arch, const std::string& energy_table) {
    core::ArchConfig a = core::load_arch(arch);
    if (!energy_table.empty()) core::apply_accelergy_ert(a, energy_table, "--energy-table");
    return a;
}

}  // namespace actsparse::app
