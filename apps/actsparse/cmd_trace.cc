// `actsparse trace`: synthesize layer traces and inspect trace files (docs/formats.md).
// `trace export` (real activations from a trained network) lives with the trainer.
#include <cmath>
#include <cstdio>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "apps/actsparse/commands.h"
#include "apps/actsparse/inputs.h"
#include "core/arch.h"
#include "core/error.h"
#include "core/network.h"
#include "core/safetensors.h"
#include "core/trace.h"

namespace actsparse::app {
namespace {

int64_t count_nonzero(const std::vector<int16_t>& v) {
    int64_t n = 0;
    for (int16_t x : v) n += x != 0;
    return n;
}

std::string shape_text(const std::vector<int64_t>& s) {
    std::string out = "[";
    for (size_t i = 0; i < s.size(); ++i) out += (i ? "," : "") + std::to_string(s[i]);
    return out + "]";
}

void add_synth_command(CLI::App& trace_cmd) {
    struct Opts {
        std::string layer;
        NetArgs net;
        int64_t batch = 1;
        double density = 0.5;
        uint64_t seed = 1;
        std::string pattern = "uniform";
        int64_t block = 4;
        double weight_density = 1.0;
        std::string weight_pattern = "uniform";
        int64_t weight_block = 2;
        int64_t frac_bits = 8;
        std::string arch = "eyeriss-v1";
        std::string out;
    };
    auto o = std::make_shared<Opts>();
    auto* cmd = trace_cmd.add_subcommand(
        "synth",
        "Write a synthetic layer trace at a chosen ifmap density (ofmap from the exact "
        "reference convolution)");
    cmd->add_option("--layer", o->layer,
                    "Layer shape spec (e.g. C=16,M=16,R=3,S=3,P=8,Q=8,pad=1; grammar in "
                    "docs/formats.md) or Timeloop problem file (.yaml), or with --net, --onnx or "
                    "--net-dir the name of one of its conv layers (see `actsparse "
                    "layers --net NAME`)")
        ->required();
    auto* net = cmd->add_option(
        "--net", o->net.net,
        "Take the layer from this built-in network (names: `actsparse layers --list`)");
    add_net_source_options(cmd, o->net, net);
    auto* batch = cmd->add_option("--batch", o->batch, "Batch size N for a network's layer")
                      ->check(CLI::PositiveNumber);
    cmd->add_option("--width", o->net.width,
                    "Channel width multiplier of the --net network (as calibrate and train)")
        ->capture_default_str()
        ->needs(net);
    cmd->add_option("--density", o->density, "Fraction of non-zero ifmap values, in [0, 1]")
        ->required()
        ->check(CLI::Range(0.0, 1.0));
    cmd->add_option("--seed", o->seed, "Random seed (same seed, same trace)")->required();
    cmd->add_option("--pattern", o->pattern, "Zero pattern: uniform | channel | block")
        ->capture_default_str();
    cmd->add_option("--block", o->block, "Block edge for --pattern block, in ifmap pixels")
        ->capture_default_str();
    cmd->add_option("--weight-density", o->weight_density,
                    "Fraction of non-zero weights, in [0, 1] (1: dense, the default)")
        ->check(CLI::Range(0.0, 1.0))
        ->capture_default_str();
    cmd->add_option("--weight-pattern", o->weight_pattern,
                    "Weight zero pattern: uniform | channel (whole R x S kernels) | block")
        ->capture_default_str();
    cmd->add_option("--weight-block", o->weight_block,
                    "Block edge for --weight-pattern block, in kernel taps")
        ->capture_default_str();
    auto* frac = cmd->add_option("--frac-bits", o->frac_bits,
                                 "Fixed-point fraction bits (default: the --arch config's)");
    cmd->add_option("--arch", o->arch, "Architecture config: eyeriss-v1 or a YAML file")
        ->capture_default_str();
    cmd->add_option("--out", o->out, "Output trace file (written atomically)")->required();
    cmd->callback([o, frac, batch]() {
        core::SynthOptions so;
        so.density = o->density;
        so.seed = o->seed;
        so.pattern = core::parse_zero_pattern(o->pattern, "--pattern");
        so.block = o->block;
        if (so.pattern == core::ZeroPattern::kBlock && so.block < 1)
            throw core::InputError("--block", "must be >= 1");
        so.weight_density = o->weight_density;
        so.weight_pattern = core::parse_zero_pattern(o->weight_pattern, "--weight-pattern");
        so.weight_block = o->weight_block;
        if (so.weight_pattern == core::ZeroPattern::kBlock && so.weight_block < 1)
            throw core::InputError("--weight-block", "must be >= 1");
        if (!(o->net.width > 0) || !std::isfinite(o->net.width))
            throw core::InputError("--width", "must be a finite number > 0");
        if (batch->count() && !o->net.given())
            throw core::InputError("--batch", "needs --net, --net-dir or --onnx (a spec gives N)");
        const core::ArchConfig arch = core::load_arch(o->arch);
        const int64_t frac_bits = frac->count() ? o->frac_bits : arch.frac_bits;
        if (frac_bits < 0 || frac_bits > 15)
            throw core::InputError("--frac-bits", "must be in [0, 15] for 16-bit words");

        core::LayerShape shape;
        std::string network, layer;
        int layer_index = -1;
        if (o->net.given()) {
            const core::Network n = load_network(o->net);
            const auto layers = n.conv_layers(o->batch);
            for (const auto& l : layers)
                if (l.name == o->layer) {
                    shape = l.shape;
                    layer = l.name;
                    layer_index = l.index;
                }
            if (layer_index < 0)
                throw core::InputError("--layer", "'" + o->layer + "' is not a conv layer of " +
                                                      n.name + " (see `actsparse layers " +
                                                      net_flag(o->net) + " " + o->net.source() +
                                                      "`)");
            network = n.name;
        } else {
            shape = parse_layer_arg(o->layer, "--layer");
            layer = o->layer;
        }
        core::check_fits_in_memory(shape, "--layer");
        core::Trace t = core::synth_trace(shape, so, frac_bits);
        t.network = network;
        t.layer = layer;
        if (layer_index >= 0) t.extra["layer_index"] = std::to_string(layer_index);
        if (!o->net.net.empty() && o->net.width != 1.0)
            t.extra["width"] = nlohmann::json(o->net.width).dump();
        core::write_trace(o->out, t);
        std::printf(
            "wrote %s: %s, density %.4f (%lld of %zu ifmap values non-zero), weight density "
            "%.4f (%lld of %zu)\n",
            o->out.c_str(),
            network.empty() ? t.shape.to_spec().c_str()
                            : (network + " " + layer + " N=" + std::to_string(t.shape.N)).c_str(),
            t.density(), static_cast<long long>(count_nonzero(t.ifmap)), t.ifmap.size(),
            t.weight.empty() ? 0.0 : static_cast<double>(count_nonzero(t.weight)) / t.weight.size(),
            static_cast<long long>(count_nonzero(t.weight)), t.weight.size());
    });
}

void add_info_command(CLI::App& trace_cmd) {
    struct Opts {
        std::string file;
        bool json = false;
        bool verify = false;
    };
    auto o = std::make_shared<Opts>();
    auto* cmd = trace_cmd.add_subcommand("info",
                                         "Print a trace file's shape, layer, density and "
                                         "tensors");
    cmd->add_option("file", o->file, "Trace file")->required();
    cmd->add_flag("--json", o->json, "Print JSON instead of text");
    cmd->add_flag("--verify", o->verify,
                  "Also recompute ofmap_acc with the reference convolution and compare");
    cmd->callback([o]() {
        const std::string bytes = core::read_file(o->file);
        // The trace reader first: its errors are the trace format's (dtype before offsets).
        const core::Trace t = core::decode_trace(bytes, o->file);
        const core::SafetensorsHeader h = core::parse_safetensors(bytes, o->file);
        const core::LayerShape& s = t.shape;
        const int64_t nz = count_nonzero(t.ifmap);
        const int64_t wnz = count_nonzero(t.weight);
        const double wdensity =
            t.weight.empty() ? 0.0
                             : static_cast<double>(wnz) / static_cast<double>(t.weight.size());
        std::string verified = "not checked";
        if (o->verify) {
            if (t.ofmap_acc.empty())
                throw core::InputError(o->file + ": ofmap_acc", "absent, nothing to verify");
            const auto ref = core::reference_conv(s, t.ifmap, t.weight);
            for (size_t i = 0; i < ref.size(); ++i)
                if (ref[i] != t.ofmap_acc[i])
                    throw core::InputError(
                        o->file + ": ofmap_acc",
                        "element " + std::to_string(i) + " is " + std::to_string(t.ofmap_acc[i]) +
                            ", the reference convolution gives " + std::to_string(ref[i]));
            verified = "matches the reference convolution";
        }
        if (o->json) {
            nlohmann::json j;
            j["file"] = o->file;
            j["bytes"] = bytes.size();
            j["network"] = t.network;
            j["layer"] = t.layer;
            j["shape"] = {{"N", s.N},
                          {"C", s.C},
                          {"M", s.M},
                          {"R", s.R},
                          {"S", s.S},
                          {"P", s.P},
                          {"Q", s.Q},
                          {"H", s.H},
                          {"W", s.W},
                          {"G", s.G},
                          {"Hstride", s.Hstride},
                          {"Wstride", s.Wstride},
                          {"Hpad", s.Hpad},
                          {"Wpad", s.Wpad}};
            j["spec"] = s.to_spec();
            j["frac_bits"] = t.frac_bits;
            j["density"] = t.density();
            j["ifmap_nonzeros"] = nz;
            j["ifmap_elems"] = t.ifmap.size();
            j["weight_density"] = wdensity;
            j["weight_nonzeros"] = wnz;
            j["weight_elems"] = t.weight.size();
            j["macs"] = s.macs();
            j["tensors"] = nlohmann::json::array();
            for (const auto& e : h.tensors)
                j["tensors"].push_back({{"name", e.name},
                                        {"dtype", e.dtype},
                                        {"shape", e.shape},
                                        {"bytes", e.end - e.begin}});
            j["extra"] = t.extra;
            if (o->verify) j["ofmap_verified"] = true;
            std::cout << j.dump(2) << std::endl;
            return;
        }
        std::printf("file:      %s (%zu bytes)\n", o->file.c_str(), bytes.size());
        std::printf("network:   %s\n", t.network.empty() ? "-" : t.network.c_str());
        std::printf("layer:     %s\n", t.layer.empty() ? "-" : t.layer.c_str());
        std::printf("shape:     %s\n", s.to_spec().c_str());
        std::printf("frac_bits: %lld\n", static_cast<long long>(t.frac_bits));
        std::printf("density:   %.4f (%lld of %zu ifmap values non-zero)\n", t.density(),
                    static_cast<long long>(nz), t.ifmap.size());
        std::printf("weights:   density %.4f (%lld of %zu non-zero)\n", wdensity,
                    static_cast<long long>(wnz), t.weight.size());
        std::printf("MACs:      %lld dense\n", static_cast<long long>(s.macs()));
        std::printf("ofmap_acc: %s\n", t.ofmap_acc.empty() ? "absent"
                                       : o->verify         ? verified.c_str()
                                                           : "present");
        std::printf("tensors:\n");
        for (const auto& e : h.tensors)
            std::printf("  %-12s %-4s %-20s %lld bytes\n", e.name.c_str(), e.dtype.c_str(),
                        shape_text(e.shape).c_str(), static_cast<long long>(e.end - e.begin));
        if (!t.extra.empty()) {
            std::printf("metadata:\n");
            for (const auto& [k, v] : t.extra) std::printf("  %s = %s\n", k.c_str(), v.c_str());
        }
    });
}

}  // namespace

void add_trace_command(CLI::App& app) {
    auto* cmd =
        app.add_subcommand("trace", "Layer traces (safetensors files): synth, info, export");
    cmd->require_subcommand(1);
    add_synth_command(*cmd);
    add_info_command(*cmd);
    add_trace_export_command(*cmd);
}

}  // namespace actsparse::app
