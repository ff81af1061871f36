// `actsparse layers`: prints a network's conv layers with shapes and MACs.
#include <cstdio>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "apps/actsparse/commands.h"
#include "core/network.h"

namespace actsparse::app {

void add_layers_command(CLI::App& app) {
    struct Opts {
        std::string net;
        int64_t batch = 1;
        bool json = false;
    };
    auto opts = std::make_shared<Opts>();
    auto* cmd = app.add_subcommand("layers", "List a network's conv layers with shapes and MACs");
    cmd->add_option("--net", opts->net, "Network name (see --list)")->required();
    cmd->add_option("--batch", opts->batch, "Batch size N")->check(CLI::PositiveNumber);
    cmd->add_flag("--json", opts->json, "Print JSON instead of a table");
    cmd->callback([opts]() {
        const core::Network net = core::builtin_network(opts->net);
        const auto layers = net.conv_layers(opts->batch);
        if (opts->json) {
            nlohmann::json j;
            j["network"] = net.name;
            j["batch"] = opts->batch;
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
        std::printf("%-4s %-28s %5s %5s %3s %3s %4s %4s %4s %4s %5s %2s %2s %14s %s\n", "idx",
                    "name", "C", "M", "R", "S", "H", "W", "P", "Q", "G", "st", "pd", "MACs",
                    "sparse-in");
        for (const auto& l : layers) {
            const auto& s = l.shape;
            std::printf(
                "%-4d %-28s %5lld %5lld %3lld %3lld %4lld %4lld %4lld %4lld %5lld %2lld %2lld "
                "%14lld %s\n",
                l.index, l.name.c_str(), (long long)s.C, (long long)s.M, (long long)s.R,
                (long long)s.S, (long long)s.H, (long long)s.W, (long long)s.P, (long long)s.Q,
                (long long)s.G, (long long)s.Hstride, (long long)s.Hpad, (long long)s.macs(),
                l.input_sparse ? "yes" : "no");
        }
        std::printf("%s: %zu conv layers, %lld MACs at batch %lld (%.1f M)\n", net.name.c_str(),
                    layers.size(), (long long)net.conv_macs(opts->batch), (long long)opts->batch,
                    net.conv_macs(opts->batch) / 1e6);
    });
}

}  // namespace actsparse::app
