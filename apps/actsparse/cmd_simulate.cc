// `actsparse simulate`: runs layer traces through the whole accelerator model and reports
// cycles, accesses and energy (docs/cli.md).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <exception>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <vector>

#include "apps/actsparse/commands.h"
#include "apps/actsparse/inputs.h"
#include "core/arch.h"
#include "core/error.h"
#include "core/network.h"
#include "core/parallel.h"
#include "core/trace.h"
#include "tlm/simulate.h"

namespace actsparse::app {
namespace {

struct SimulateOpts {
    std::string arch = "eyeriss-v1";
    std::string energy_table;
    std::string zero_mode;
    std::string trace;
    NetArgs net;
    std::string layer;
    int64_t batch = 1;
    double density = 0.5;
    uint64_t seed = 1;
    std::string pattern = "uniform";
    int64_t block = 4;
    double weight_density = 1.0;
    std::string weight_pattern = "uniform";
    int64_t weight_block = 2;
    std::string mapping = "auto";
    std::string objective = "energy";
    double mapping_density = -1.0;
    std::string fidelity = "fast";
    std::string out;
    std::string ofmap;
    std::string vcd;
    bool quiet = false;
};

// A mapping file: a layer mapping ({"glb", "array"} for eyeriss-v1, {"glb", "v2"} for
// eyeriss-v2), a bare v2 array mapping ({"m0", ...}: the mapper picks the GLB tiling), or a
// simulate report whose "mapping" is reused.
void read_mapping_file(const std::string& path, tlm::SimOptions& so) {
    nlohmann::json j;
    try {
        j = nlohmann::json::parse(core::read_file(path));
    } catch (const nlohmann::json::exception& e) {
        throw core::InputError(path, std::string("invalid JSON: ") + e.what());
    }
    std::string where = path;
    if (j.is_object() && j.contains("mapping")) {
        j = nlohmann::json(j["mapping"]);
        where += ": mapping";
    }
    if (j.is_object() && j.contains("m0"))
        so.v2_array = hw::v2::v2_mapping_from_json(j, where);
    else
        so.mapping = tlm::layer_mapping_from_json(j, where);
}

void check_output(const core::Trace& t, const tlm::LayerResult& r) {
    if (t.ofmap_acc.empty()) return;
    if (t.ofmap_acc != r.ofmap)
        core::model_bug("simulate", "layer " + t.layer +
                                        ": the array's output differs from the trace's "
                                        "reference accumulators");
}

// The table: one row per layer, labelled with its network, its index among the network's
// conv layers ("-" when unknown) and its name; energy in uJ.
void print_header() {
    std::printf("%-4s %-19s %-26s %6s %12s %12s %12s %6s  %s\n", "idx", "network", "layer", "dens",
                "cyc.proc", "cyc.total", "energy_uJ", "util", "mapping");
}

void print_row(const tlm::LayerResult& r, const core::Trace& t, int index) {
    const std::string idx = index >= 0 ? std::to_string(index) : "-";
    std::printf("%-4s %-19s %-26s %6.3f %12lld %12lld %12.3f %6.3f  %s\n", idx.c_str(),
                t.network.empty() ? "-" : t.network.c_str(), r.layer.c_str(), r.density,
                (long long)r.cycles_processing, (long long)r.cycles_total, r.energy.total() / 1e6,
                r.utilization, tlm::to_json(r.mapping).dump().c_str());
}

// A trace's index among its network's conv layers: its `layer_index` metadata (trace synth
// --net and trace export record it), else its layer's position in the built-in network of
// that name; -1 when neither is known.
int trace_layer_index(const core::Trace& t) {
    if (auto it = t.extra.find("layer_index"); it != t.extra.end()) {
        try {
            size_t used = 0;
            const int i = std::stoi(it->second, &used);
            if (used == it->second.size() && i >= 0) return i;
        } catch (const std::exception&) {
        }
    }
    if (t.network.empty()) return -1;
    const auto names = core::builtin_network_names();
    if (std::find(names.begin(), names.end(), t.network) == names.end()) return -1;
    for (const auto& l : core::builtin_network(t.network).conv_layers())
        if (l.name == t.layer) return l.index;
    return -1;
}

}  // namespace

void add_simulate_command(CLI::App& app) {
    auto o = std::make_shared<SimulateOpts>();
    auto* cmd = app.add_subcommand("simulate",
                                   "Run layer traces through the cycle-level accelerator model");
    cmd->add_option("--arch", o->arch, "eyeriss-v1, eyeriss-v2 or an architecture YAML file")
        ->capture_default_str();
    cmd->add_option("--energy-table", o->energy_table,
                    "An Accelergy ERT (ERT.yaml) for the arch's energy counters (docs/formats.md)");
    cmd->add_option("--zero-mode", o->zero_mode, "none | gate | skip (default: the arch's)");
    cmd->add_option("--trace", o->trace, "A layer trace file");
    auto* net = cmd->add_option("--net", o->net.net,
                                "A built-in network, all its conv layers unless --layer (names: "
                                "`actsparse layers --list`)");
    add_net_source_options(cmd, o->net, net);
    cmd->add_option("--layer", o->layer,
                    "With --net/--net-dir/--onnx: a conv layer name; else a shape spec or a "
                    "Timeloop problem file (docs/formats.md)");
    cmd->add_option("--width", o->net.width,
                    "Channel width multiplier of the --net network (as calibrate and train)")
        ->capture_default_str()
        ->needs(net);
    cmd->add_option("--batch", o->batch, "Batch size for synthetic traces")
        ->check(CLI::PositiveNumber);
    cmd->add_option("--density", o->density, "Ifmap density of synthetic traces")
        ->check(CLI::Range(0.0, 1.0))
        ->capture_default_str();
    cmd->add_option("--seed", o->seed, "Seed of synthetic traces")->capture_default_str();
    cmd->add_option("--pattern", o->pattern, "Zero pattern: uniform | channel | block")
        ->capture_default_str();
    cmd->add_option("--block", o->block, "Block edge for --pattern block, in ifmap pixels")
        ->capture_default_str();
    cmd->add_option("--weight-density", o->weight_density,
                    "Weight density of synthetic traces (1: dense)")
        ->check(CLI::Range(0.0, 1.0))
        ->capture_default_str();
    cmd->add_option("--weight-pattern", o->weight_pattern,
                    "Weight zero pattern: uniform | channel | block")
        ->capture_default_str();
    cmd->add_option("--weight-block", o->weight_block,
                    "Block edge for --weight-pattern block, in kernel taps")
        ->capture_default_str();
    cmd->add_option("--mapping", o->mapping,
                    "auto (the mapper), a mapping/report JSON, or a v2 array mapping JSON")
        ->capture_default_str();
    cmd->add_option("--objective", o->objective, "Mapper objective: energy | cycles | edp")
        ->capture_default_str();
    cmd->add_option("--mapping-density", o->mapping_density,
                    "Density the mapper plans for (default: the trace's; fix it to keep one "
                    "mapping across a density sweep)")
        ->check(CLI::Range(0.0, 1.0));
    cmd->add_option("--fidelity", o->fidelity, "fast | cycle")->capture_default_str();
    cmd->add_option("--out", o->out, "JSON report (written atomically)");
    cmd->add_option("--ofmap", o->ofmap, "Trace file with the exact output accumulators");
    cmd->add_option("--vcd", o->vcd,
                    "VCD of PE activity (first chunk of the first layer); needs --fidelity "
                    "cycle, eyeriss-v1 only");
    cmd->add_flag("--quiet", o->quiet, "No table on stdout");
    cmd->callback([o]() {
        tlm::SimOptions so;
        so.arch = load_arch_with_energy(o->arch, o->energy_table);
        if (!o->zero_mode.empty())
            so.arch.zero_mode = core::parse_zero_mode(o->zero_mode, "--zero-mode");
        if (o->fidelity == "fast")
            so.fidelity = hw::Fidelity::kFast;
        else if (o->fidelity == "cycle")
            so.fidelity = hw::Fidelity::kCycle;
        else
            throw core::InputError("--fidelity",
                                   "expected fast or cycle, got '" + o->fidelity + "'");
        so.objective = tlm::parse_objective(o->objective, "--objective");
        so.mapping_density = o->mapping_density;
        if (o->mapping != "auto") read_mapping_file(o->mapping, so);
        if (!o->vcd.empty()) {
            if (so.arch.type == core::ArrayType::kEyerissV2)
                throw core::InputError("--vcd",
                                       "eyeriss-v1 only (the eyeriss-v2 array has no SystemC "
                                       "top to trace)");
            if (so.fidelity != hw::Fidelity::kCycle)
                throw core::InputError("--vcd",
                                       "needs --fidelity cycle (the fast fidelity does not step "
                                       "the PEs cycle by cycle)");
        }
        so.vcd_path = o->vcd;
        if (!(o->net.width > 0) || !std::isfinite(o->net.width))
            throw core::InputError("--width", "must be a finite number > 0");
        const int sources =
            !o->trace.empty() + o->net.given() + (!o->net.given() && !o->layer.empty());
        if (sources != 1)
            throw core::InputError("actsparse simulate",
                                   "give exactly one of --trace, --net, --net-dir, --onnx, "
                                   "--layer SPEC|FILE.yaml");
        core::SynthOptions synth;
        synth.density = o->density;
        synth.seed = o->seed;
        synth.pattern = core::parse_zero_pattern(o->pattern, "--pattern");
        synth.block = o->block;
        if (synth.pattern == core::ZeroPattern::kBlock && synth.block < 1)
            throw core::InputError("--block", "must be >= 1");
        synth.weight_density = o->weight_density;
        synth.weight_pattern = core::parse_zero_pattern(o->weight_pattern, "--weight-pattern");
        synth.weight_block = o->weight_block;
        if (synth.weight_pattern == core::ZeroPattern::kBlock && synth.weight_block < 1)
            throw core::InputError("--weight-block", "must be >= 1");

        std::vector<core::Trace> traces;
        std::vector<bool> first_layer;
        std::vector<int> index;  // among the network's conv layers; -1: unknown
        if (!o->trace.empty()) {
            traces.push_back(core::read_trace(o->trace));
            first_layer.push_back(false);
            index.push_back(trace_layer_index(traces.back()));
        } else if (o->net.given()) {
            const core::Network net = load_network(o->net);
            const auto layers = net.conv_layers(o->batch);
            // Every layer is checked before the first is synthesised: no partial run.
            for (const auto& l : layers)
                if (o->layer.empty() || l.name == o->layer)
                    core::check_fits_in_memory(l.shape, net.name + ": " + l.name);
            std::vector<const core::ConvLayer*> chosen;
            for (const auto& l : layers)
                if (o->layer.empty() || l.name == o->layer) chosen.push_back(&l);
            if (chosen.empty())
                throw core::InputError("--layer",
                                       "no conv layer '" + o->layer + "' in " + net.name);
            // Each layer's trace is a function of its shape and seed alone, so they are
            // synthesised on worker threads (their reference convolutions dominate on large
            // networks) and kept in layer order.
            traces.resize(chosen.size());
            core::run_parallel(
                chosen.size(), core::worker_count(chosen.size(), so.threads), [&](size_t i) {
                    const core::ConvLayer& l = *chosen[i];
                    core::SynthOptions mine = synth;
                    mine.seed = o->seed + static_cast<uint64_t>(l.index);
                    core::Trace t = core::synth_trace(l.shape, mine, so.arch.frac_bits);
                    t.network = net.name;
                    t.layer = l.name;
                    traces[i] = std::move(t);
                });
            for (const core::ConvLayer* l : chosen) {
                first_layer.push_back(l->input_name == net.input().name);
                index.push_back(l->index);
            }
        } else {
            core::LayerShape s = parse_layer_arg(o->layer, "--layer");
            if (s.N == 1) s.N = o->batch;
            s.finalize("--layer");
            core::check_fits_in_memory(s, "--layer");
            core::Trace t = core::synth_trace(s, synth, so.arch.frac_bits);
            t.layer = o->layer;  // a free-standing layer is named by its spec, as in trace synth
            traces.push_back(std::move(t));
            first_layer.push_back(false);
            index.push_back(-1);
        }
        if ((so.mapping || so.v2_array) && traces.size() != 1)
            throw core::InputError("--mapping", "a mapping file applies to one layer; add --layer");
        if (!o->ofmap.empty() && traces.size() != 1)
            throw core::InputError("--ofmap", "writes one layer's output; add --layer");

        nlohmann::json report;
        report["arch"] = core::arch_to_json(so.arch);
        report["arch_hash"] = core::arch_hash(so.arch);
        report["zero_mode"] = core::to_string(so.arch.zero_mode);
        report["fidelity"] = o->fidelity;
        if (!o->net.net.empty()) report["width"] = o->net.width;
        double energy = 0, host = 0;
        int64_t cycles_proc = 0, cycles_total = 0, dense = 0;
        std::vector<tlm::LayerResult> results;
        for (size_t i = 0; i < traces.size(); ++i) {
            tlm::SimOptions lo = so;
            lo.ifmap_compressed = !first_layer[i];
            if (i > 0) lo.vcd_path.clear();
            tlm::LayerResult r = tlm::simulate_layer(traces[i], lo);
            check_output(traces[i], r);
            if (!o->quiet) {
                // The header comes with the first row, so an error in the first layer leaves
                // stdout empty.
                if (i == 0) print_header();
                print_row(r, traces[i], index[i]);
            }
            std::fflush(stdout);
            energy += r.energy.total();
            cycles_proc += r.cycles_processing;
            cycles_total += r.cycles_total;
            dense += r.dense_macs;
            host += r.host_seconds;
            nlohmann::json row = r.to_json();
            row["network"] = traces[i].network;
            if (index[i] >= 0) row["index"] = index[i];
            row["output_checked"] = !traces[i].ofmap_acc.empty();
            report["layers"].push_back(row);
            if (!o->ofmap.empty()) {
                core::Trace out = traces[i];
                out.ofmap_acc = r.ofmap;
                core::write_trace(o->ofmap, out);
            }
        }
        report["totals"] = {{"energy_pj", energy},
                            {"cycles_processing", cycles_proc},
                            {"cycles_total", cycles_total},
                            {"dense_macs", dense},
                            {"host_seconds", host}};
        if (traces.size() == 1) {
            // A single layer's report has its fields at the top level too.
            for (auto& [k, v] : report["layers"][0].items()) report[k] = v;
        }
        if (!o->quiet)
            std::printf(
                "total: %zu layers, %lld processing cycles, %lld total cycles, %.3f uJ (%.6f mJ), "
                "%.2f s host\n",
                traces.size(), (long long)cycles_proc, (long long)cycles_total, energy / 1e6,
                energy / 1e9, host);
        if (!o->out.empty()) core::write_file_atomic(o->out, report.dump(2) + "\n");
    });
}

}  // namespace actsparse::app
