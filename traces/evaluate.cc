#include "traces/evaluate.h"

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>
#include <sstream>

#include "core/calibration_file.h"
#include "core/error.h"
#include "core/trace.h"
#include "tlm/simulate.h"

namespace actsparse::traces {
namespace fs = std::filesystem;
using nlohmann::json;

double RunEval::energy_pj() const {
    double e = 0;
    for (const auto& l : layers) e += l.energy_pj;
    return e;
}
int64_t RunEval::cycles() const {
    int64_t c = 0;
    for (const auto& l : layers) c += l.cycles;
    return c;
}
double RunEval::predicted_energy_pj() const {
    double e = 0;
    for (const auto& l : layers) {
        if (l.predicted_energy_pj < 0) return -1;
        e += l.predicted_energy_pj;
    }
    return e;
}
double RunEval::predicted_cycles() const {
    double c = 0;
    for (const auto& l : layers) {
        if (l.predicted_cycles < 0) return -1;
        c += l.predicted_cycles;
    }
    return c;
}

namespace {

// A run's name in tables and figures: its method, plus its folder's name when that says more
// (several runs of one method, e.g. a lambda search).
std::string label(const std::string& run, const std::string& method) {
    std::string base = fs::path(run).filename().string();
    if (base.empty()) base = fs::path(run).parent_path().filename().string();
    return base == method || base.empty() ? method : method + " (" + base + ")";
}

// Image n of a batched trace, as a batch-1 trace.
core::Trace image_of(const core::Trace& t, int64_t n) {
    core::Trace o;
    o.network = t.network;
    o.layer = t.layer;
    o.shape = t.shape;
    o.shape.N = 1;
    o.frac_bits = t.frac_bits;
    o.weight = t.weight;
    o.extra = t.extra;
    const int64_t in = t.shape.C * t.shape.H * t.shape.W, out = t.shape.M * t.shape.P * t.shape.Q;
    o.ifmap.assign(t.ifmap.begin() + n * in, t.ifmap.begin() + (n + 1) * in);
    if (!t.ofmap_acc.empty())
        o.ofmap_acc.assign(t.ofmap_acc.begin() + n * out, t.ofmap_acc.begin() + (n + 1) * out);
    if (!t.ifmap_float.empty())
        o.ifmap_float.assign(t.ifmap_float.begin() + n * in, t.ifmap_float.begin() + (n + 1) * in);
    return o;
}

json read_json(const std::string& path) {
    try {
        return json::parse(core::read_file(path));
    } catch (const json::exception& e) {
        throw core::InputError(path, std::string("invalid JSON: ") + e.what());
    }
}

template <typename T>
T field(const json& j, const std::string& key, const std::string& where) {
    if (!j.is_object() || !j.contains(key)) throw core::InputError(where + ": " + key, "missing");
    try {
        return j.at(key).get<T>();
    } catch (const json::exception&) {
        throw core::InputError(where + ": " + key, "wrong type");
    }
}

std::string pct(double x) {
    char b[32];
    std::snprintf(b, sizeof b, "%.1f%%", 100 * x);
    return b;
}
std::string fixed(double x, int digits) {
    char b[32];
    std::snprintf(b, sizeof b, "%.*f", digits, x);
    return b;
}

// Runs gnuplot on a script; figures are optional output, so a missing gnuplot is reported,
// not fatal.
bool gnuplot(const std::string& script_path) {
    const std::string cmd = "gnuplot '" + script_path + "' 2>/dev/null";
    return std::system(cmd.c_str()) == 0;
}

const std::vector<std::string> kMethodOrder = {"baseline", "sparsity-targeting", "proposed-hoyer",
                                               "proposed-hybrid"};

}  // namespace

json evaluate(const EvaluateOptions& o) {
    const bool tty = isatty(fileno(stderr)) != 0;
    if (o.runs.empty()) throw core::InputError("--runs", "give at least one run folder");
    if (o.out.empty()) throw core::InputError("--out", "required");
    std::vector<core::Calibration> calibs;
    for (const auto& c : o.calibrations) calibs.push_back(core::load_calibration(c));

    std::vector<RunEval> evals;
    for (const auto& run : o.runs) {
        const json summary = read_json(run + "/summary.json");
        const std::string sw = run + "/summary.json";
        const std::string manifest_path = run + "/traces/manifest.json";
        if (!fs::exists(manifest_path))
            throw core::InputError(manifest_path, "missing: export the run's traces first");
        const json manifest = read_json(manifest_path);
        const std::string network = field<std::string>(summary, "network", sw);
        const std::string method = field<std::string>(summary, "method", sw);
        const double accuracy =
            field<double>(field<json>(summary, "test", sw), "accuracy", sw + ": test");
        if (field<std::string>(manifest, "network", manifest_path) != network)
            throw core::InputError(manifest_path + ": network", "differs from summary.json");
        std::vector<core::Trace> traces;
        std::vector<bool> sparse, first;
        for (const json& l : field<json>(manifest, "layers", manifest_path)) {
            const std::string file =
                run + "/traces/" + field<std::string>(l, "file", manifest_path);
            traces.push_back(core::read_trace(file));
            sparse.push_back(field<bool>(l, "input_sparse", manifest_path));
            first.push_back(traces.size() == 1);
        }
        for (core::ZeroMode mode : o.zero_modes) {
            RunEval ev;
            ev.run = run;
            ev.network = network;
            ev.method = method;
            ev.accuracy = accuracy;
            ev.zero_mode = core::to_string(mode);
            ev.images = traces.empty() ? 0 : traces[0].shape.N;
            const core::Calibration* calib = nullptr;
            for (const auto& c : calibs)
                if (c.network == network && c.zero_mode == ev.zero_mode) calib = &c;
            if (calib && calib->layers.size() != traces.size())
                throw core::InputError(calib->path + ": layers",
                                       "count differs from " + manifest_path);
            tlm::SimOptions so;
            so.arch = o.arch;
            so.arch.zero_mode = mode;
            so.mapping_density = o.mapping_density;
            double dens_sum = 0;
            int dens_n = 0;
            for (size_t i = 0; i < traces.size(); ++i) {
                so.ifmap_compressed = !first[i];
                LayerEval le;
                le.name = traces[i].layer;
                le.input_sparse = sparse[i];
                le.density = traces[i].density();
                // One image at a time (batch 1, as the accelerator runs inference and as
                // calib.json is fitted), each with the mapping the mapper picks for it.
                for (int64_t n = 0; n < traces[i].shape.N; ++n) {
                    const core::Trace one = image_of(traces[i], n);
                    const tlm::LayerResult r = tlm::simulate_layer(one, so);
                    if (!one.ofmap_acc.empty() && r.ofmap != one.ofmap_acc)
                        core::model_bug("evaluate", run + ": layer " + traces[i].layer +
                                                        " output differs from the trace");
                    le.energy_pj += r.energy.total();
                    le.cycles += r.cycles_total;
                    le.cycles_processing += r.cycles_processing;
                    le.ofmap_density += r.ofmap_density / static_cast<double>(traces[i].shape.N);
                    if (calib) {
                        // The write-back form predicts a layer from its input density and
                        // the density of the ofmap it writes (a property of the activations,
                        // not of the hardware); the other forms from the input density alone.
                        const auto& cl = calib->layers[i];
                        const bool plane = cl.energy_plane.valid && cl.cycles_plane.valid;
                        const double pe = plane ? cl.energy_plane.at(r.density, r.ofmap_density)
                                                : cl.energy_pj(r.density);
                        const double pc = plane ? cl.cycles_plane.at(r.density, r.ofmap_density)
                                                : cl.cycles(r.density);
                        le.predicted_energy_pj = std::max(0.0, le.predicted_energy_pj) + pe;
                        le.predicted_cycles = std::max(0.0, le.predicted_cycles) + pc;
                    }
                }
                if (sparse[i]) dens_sum += le.density, ++dens_n;
                ev.layers.push_back(le);
                if (o.progress && tty)
                    std::fprintf(stderr, "\revaluate: %s [%s] layer %zu/%zu   ", run.c_str(),
                                 ev.zero_mode.c_str(), i + 1, traces.size());
            }
            if (o.progress && !tty)  // a log file gets one line per run and zero mode
                std::fprintf(stderr, "evaluate: %s [%s] %zu layers simulated\n", run.c_str(),
                             ev.zero_mode.c_str(), traces.size());
            ev.mean_density = dens_n ? dens_sum / dens_n : 0;
            evals.push_back(std::move(ev));
        }
    }
    if (o.progress && tty) std::fprintf(stderr, "\n");

    // Table I: each run against the baseline run of the same network and zero mode.
    json results;
    results["schema"] = "actsparse.results/1";
    results["arch"] = core::arch_to_json(o.arch);
    results["command"] = o.command;
    std::ostringstream md;
    md << "# Results\n\nProduced by:\n\n```\n" << o.command << "\n```\n\n";
    md << "Energy and cycles are measured by the cycle-level model (SystemC) on the runs' "
          "exported test-image traces, one image at a time (batch 1); cycles are total "
          "cycles (the PE array overlapped with DRAM transfers). *pred.* columns are the "
          "calibrated analytical model at the same traces' densities, and *err* is its error "
          "on the absolute totals.\n\n";
    std::map<std::string, std::vector<const RunEval*>> groups;  // network/zero mode
    for (const auto& e : evals) groups[e.network + " (" + e.zero_mode + ")"].push_back(&e);
    fs::create_directories(o.out + "/figures");
    for (auto& [key, runs] : groups) {
        std::stable_sort(runs.begin(), runs.end(), [](const RunEval* a, const RunEval* b) {
            auto rank = [](const std::string& m) {
                return std::find(kMethodOrder.begin(), kMethodOrder.end(), m) -
                       kMethodOrder.begin();
            };
            return rank(a->method) < rank(b->method);
        });
        const RunEval* base = nullptr;
        for (const RunEval* r : runs)
            if (r->method == "baseline") base = r;
        md << "## " << key << "\n\n";
        md << "| method | top-1 | Δ top-1 | mean density | energy vs base | speed-up | pred. "
              "energy vs base | pred. speed-up | energy err | cycles err |\n";
        md << "|---|---|---|---|---|---|---|---|---|---|\n";
        json rows = json::array();
        for (const RunEval* r : runs) {
            json row = {{"run", r->run},
                        {"method", r->method},
                        {"network", r->network},
                        {"zero_mode", r->zero_mode},
                        {"images", r->images},
                        {"accuracy", r->accuracy},
                        {"mean_density", r->mean_density},
                        {"energy_pj", r->energy_pj()},
                        {"cycles", r->cycles()},
                        {"predicted_energy_pj", r->predicted_energy_pj()},
                        {"predicted_cycles", r->predicted_cycles()}};
            const bool pred = r->predicted_energy_pj() >= 0;
            std::string e_err = "-", c_err = "-", pe = "-", ps = "-", de = "-", sp = "-", da = "-";
            if (pred) {
                const double ee = r->predicted_energy_pj() / r->energy_pj() - 1;
                const double ce = r->predicted_cycles() / static_cast<double>(r->cycles()) - 1;
                row["energy_error"] = ee;
                row["cycles_error"] = ce;
                e_err = pct(ee);
                c_err = pct(ce);
            }
            if (base) {
                const double er = r->energy_pj() / base->energy_pj();
                const double su = static_cast<double>(base->cycles()) / r->cycles();
                row["energy_vs_baseline"] = er;
                row["speedup"] = su;
                row["accuracy_change"] = r->accuracy - base->accuracy;
                de = pct(er);
                sp = fixed(su, 2) + "x";
                da = fixed(100 * (r->accuracy - base->accuracy), 2) + " pt";
                if (pred && base->predicted_energy_pj() >= 0) {
                    const double per = r->predicted_energy_pj() / base->predicted_energy_pj();
                    const double psu = base->predicted_cycles() / r->predicted_cycles();
                    row["predicted_energy_vs_baseline"] = per;
                    row["predicted_speedup"] = psu;
                    pe = pct(per);
                    ps = fixed(psu, 2) + "x";
                }
            }
            json layers = json::array();
            for (const auto& l : r->layers)
                layers.push_back({{"name", l.name},
                                  {"input_sparse", l.input_sparse},
                                  {"density", l.density},
                                  {"energy_pj", l.energy_pj},
                                  {"cycles", l.cycles},
                                  {"cycles_processing", l.cycles_processing},
                                  {"ofmap_density", l.ofmap_density},
                                  {"predicted_energy_pj", l.predicted_energy_pj},
                                  {"predicted_cycles", l.predicted_cycles}});
            row["layers"] = layers;
            row["label"] = label(r->run, r->method);
            rows.push_back(row);
            md << "| " << label(r->run, r->method) << " | " << pct(r->accuracy) << " | " << da
               << " | " << fixed(r->mean_density, 3) << " | " << de << " | " << sp << " | " << pe
               << " | " << ps << " | " << e_err << " | " << c_err << " |\n";
        }
        results["tables"][key] = rows;

        // Fig. 6: per-layer density, energy and cycles of every method.
        std::string stem = key;
        for (char& c : stem)
            if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
        const std::string dat = o.out + "/figures/" + stem + ".dat";
        {
            std::ostringstream d;
            d << "# layer";
            for (const RunEval* r : runs)
                d << " " << r->method << "_density " << r->method << "_energy_uJ " << r->method
                  << "_cycles";
            d << "\n";
            for (size_t i = 0; i < runs[0]->layers.size(); ++i) {
                d << i;
                for (const RunEval* r : runs) {
                    const auto& l = i < r->layers.size() ? r->layers[i] : LayerEval{};
                    d << " " << l.density << " " << l.energy_pj / 1e6 << " " << l.cycles;
                }
                d << "\n";
            }
            core::write_file_atomic(dat, d.str());
        }
        const std::string png = o.out + "/figures/" + stem + "-layers.png";
        const std::string fig1 = o.out + "/figures/" + stem + "-density-vs-energy.png";
        std::ostringstream g;
        g << "set terminal pngcairo size 1200,1000\nset output '" << png << "'\n"
          << "set multiplot layout 3,1 title '" << key << ": per conv layer'\n"
          << "set style data linespoints\nset key outside right\nset xlabel 'conv layer'\n";
        const char* ylabels[] = {"ifmap density", "energy (uJ)", "cycles"};
        for (int k = 0; k < 3; ++k) {
            g << "set ylabel '" << ylabels[k] << "'\nplot ";
            for (size_t m = 0; m < runs.size(); ++m)
                g << (m ? ", " : "") << "'" << dat << "' using 1:" << 2 + 3 * m + k << " title '"
                  << label(runs[m]->run, runs[m]->method) << "'";
            g << "\n";
        }
        g << "unset multiplot\n";
        // Fig. 1: mean density against energy, one point per method.
        g << "set terminal pngcairo size 800,600\nset output '" << fig1 << "'\n"
          << "set xlabel 'mean ifmap density (sparse-input layers)'\nset ylabel 'energy (uJ)'\n"
          << "set key off\nplot '-' using 1:2:3 with labels point pt 7 offset char 1,1\n";
        for (const RunEval* r : runs)
            g << r->mean_density << " " << r->energy_pj() / 1e6 << " \"" << label(r->run, r->method)
              << "\"\n";
        g << "e\n";
        // Accuracy against measured energy: the trade-off each method reaches.
        const std::string fig_acc = o.out + "/figures/" + stem + "-accuracy-vs-energy.png";
        if (base) {
            // One line per method through its runs (e.g. the lambda search), by energy.
            std::vector<std::string> methods;
            for (const RunEval* r : runs)
                if (std::find(methods.begin(), methods.end(), r->method) == methods.end())
                    methods.push_back(r->method);
            g << "set output '" << fig_acc << "'\n"
              << "set xlabel 'energy, % of baseline (cycle-level model)'\nset ylabel 'top-1 (%)'\n"
              << "set key bottom right\nplot ";
            for (size_t m = 0; m < methods.size(); ++m)
                g << (m ? ", " : "") << "'-' using 1:2 with linespoints pt " << 5 + 2 * m
                  << " title '" << methods[m] << "'";
            g << "\n";
            for (const auto& m : methods) {
                std::vector<std::pair<double, double>> pts;
                for (const RunEval* r : runs)
                    if (r->method == m)
                        pts.emplace_back(100 * r->energy_pj() / base->energy_pj(),
                                         100 * r->accuracy);
                std::sort(pts.begin(), pts.end());
                for (const auto& [x, y] : pts) g << x << " " << y << "\n";
                g << "e\n";
            }
        }
        const std::string gp = o.out + "/figures/" + stem + ".gp";
        core::write_file_atomic(gp, g.str());
        const bool drawn = gnuplot(gp);
        md << "\n";
        if (drawn)
            md << "![per-layer](figures/" << fs::path(png).filename().string() << ")\n\n"
               << "![density vs energy](figures/" << fs::path(fig1).filename().string() << ")\n\n"
               << (base ? "![accuracy vs energy](figures/" + fs::path(fig_acc).filename().string() +
                              ")\n\n"
                        : std::string());
        else
            md << "(gnuplot unavailable: figure data in figures/"
               << fs::path(dat).filename().string() << ")\n\n";
    }
    core::write_file_atomic(o.out + "/results.json", results.dump(2) + "\n");
    core::write_file_atomic(o.out + "/results.md", md.str());
    return results;
}

}  // namespace actsparse::traces
