// `actsparse layers`: prints a network's conv layers with shapes and MACs, or (--list) the
// built-in networks.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "apps/actsparse/commands.h"
#include "apps/actsparse/inputs.h"
#include "core/error.h"
#include "core/network.h"

namespace actsparse::app {
namespace {

// One line per built-in network: name, conv layers, input, classes, MACs at batch 1.
void print_network_list(const core::NetOptions& opts, bool json) {
    nlohmann::json j = nlohmann::json::array();
    for (const std::string& name : core::builtin_network_names()) {
        const core::Network net = core::builtin_network(name, opts);
        const core::Op& in = net.input();
        const size_t convs = net.conv_layers().size();
        const int64_t macs = net.conv_macs();
        if (json) {
            j.push_back({{"name", name},
                         {"conv_layers", convs},
                         {"input", {in.channels, in.height, in.width}},
                         {"classes", net.num_classes},
                         {"width", opts.width_mult},
                         {"macs", macs}});
            continue;
        }
        const std::string input = std::to_string(in.channels) + "x" + std::to_string(in.height) +
                                  "x" + std::to_string(in.width);
        std::printf("%-20s %3zu conv layers, input %-10s %4lld classes, %8.1f M MACs\n",
                    name.c_str(), convs, (input + ",").c_str(), (long long)net.num_classes,
                    macs / 1e6);
    }
    if (json) std::cout << j.dump(2) << std::endl;
}

}  // namespace

void add_layers_command(CLI::App& app) {
    struct Opts {
        NetArgs net;
        int64_t batch = 1;
        bool json = false;
        bool list = false;
    };
    auto opts = std::make_shared<Opts>();
    auto* cmd = app.add_subcommand(
        "layers", "List a network's conv layers with shapes and MACs, or (--list) the networks");
    auto* net = cmd->add_option("--net", opts->net.net,
                                "A built-in network (names: `actsparse layers --list`)");
    const NetSourceOptions src = add_net_source_options(cmd, opts->net, net);
    cmd->add_flag("--list", opts->list,
                  "List the built-in networks (conv layers, input CxHxW, classes, MACs at batch "
                  "1 and --width), one per line")
        ->excludes(net)
        ->excludes(src.net_dir)
        ->excludes(src.onnx);
    cmd->add_option("--batch", opts->batch, "Batch size N")->check(CLI::PositiveNumber);
    cmd->add_option("--width", opts->net.width, "Channel width multiplier (as calibrate and train)")
        ->capture_default_str();
    cmd->add_flag("--json", opts->json, "Print JSON instead of a table");
    cmd->callback([opts]() {
        if (!(opts->net.width > 0) || !std::isfinite(opts->net.width))
            throw core::InputError("--width", "must be a finite number > 0");
        core::NetOptions net_opts;
        net_opts.width_mult = opts->net.width;
        if (opts->list) {
            print_network_list(net_opts, opts->json);
            return;
        }
        if (!opts->net.given())
            throw core::InputError(
                "--net", "required, or --net-dir or --onnx (or --list for the built-in networks)");
        const core::Network net = load_network(opts->net);
        const auto layers = net.conv_layers(opts->batch);
        if (opts->json) {
            nlohmann::json j;
            j["network"] = net.name;
            j["batch"] = opts->batch;
            j["width"] = opts->net.width;
            j["total_macs"] = net.conv_macs(opts->batch);
            for (const auto& l : layers)
                j["layers"].push_back({{"index", l.index},
                                       {"name", l.name},
                                       {"shape", l.shape.to_spec()},
                                       {"macs", l.shape.macs()},
                                       {"input", l.input_name},
                                       {"input_sparse", l.input_sparse}});
            std::cout << j.dump(2) << std::endl;
            return;
        }
        // The name column fits the longest name (ONNX node names are long).
        int name_width = 28;
        for (const auto& l : layers) name_width = std::max(name_width, int(l.name.size()));
        std::printf("%-4s %-*s %5s %5s %3s %3s %4s %4s %4s %4s %5s %2s %2s %14s %s\n", "idx",
                    name_width, "name", "C", "M", "R", "S", "H", "W", "P", "Q", "G", "st", "pd",
                    "MACs", "sparse-in");
        for (const auto& l : layers) {
            const auto& s = l.shape;
            std::printf(
                "%-4d %-*s %5lld %5lld %3lld %3lld %4lld %4lld %4lld %4lld %5lld %2lld %2lld "
                "%14lld %s\n",
                l.index, name_width, l.name.c_str(), (long long)s.C, (long long)s.M, (long long)s.R,
                (long long)s.S, (long long)s.H, (long long)s.W, (long long)s.P, (long long)s.Q,
                (long long)s.G, (long long)s.Hstride, (long long)s.Hpad, (long long)s.macs(),
                l.input_sparse ? "yes" : "no");
        }
        const std::string width =
            opts->net.width == 1.0 ? "" : ", width " + nlohmann::json(opts->net.width).dump();
        std::printf("%s: %zu conv layers, %lld MACs at batch %lld%s (%.1f M)\n", net.name.c_str(),
                    layers.size(), (long long)net.conv_macs(opts->batch), (long long)opts->batch,
                    width.c_str(), net.conv_macs(opts->batch) / 1e6);
    });
}

}  // namespace actsparse::app
