#include "calibration/engine/report.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <set>
#include <sstream>

#include "calibration/engine/progress.h"
#include "core/error.h"

namespace actsparse::calibration {
namespace {

using nlohmann::json;

std::string num(double v, const char* fmt = "%.4g") {
    char buf[64];
    std::snprintf(buf, sizeof buf, fmt, v);
    return buf;
}

std::string layer_stem(int index) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "layer_%03d", index);
    return buf;
}

int role_id(PointRole r) { return r == PointRole::kFit ? 0 : r == PointRole::kValidate ? 1 : 2; }

std::string data_file(const LayerCalibration& l) {
    std::ostringstream s;
    s << "# " << l.name << "\n# density energy_pj cycles pattern(0 uniform, 1 channel, 2 block)"
      << " role(0 fit, 1 validate, 2 trace) ofmap_density energy_writeback cycles_writeback"
      << " (the write-back form's prediction at the point)\n";
    for (const auto* list : {&l.points, &l.validation})
        for (const auto& p : *list) {
            const double o = std::max(0.0, p.result.ofmap_density);
            s << num(p.result.density, "%.10g") << ' ' << num(p.result.energy_pj, "%.10g") << ' '
              << num(p.result.cycles, "%.10g") << ' ' << static_cast<int>(p.spec.pattern) << ' '
              << role_id(p.spec.role) << ' ' << num(o, "%.10g") << ' '
              << num(l.energy.writeback.predict(p.result.density, o), "%.10g") << ' '
              << num(l.cycles.writeback.predict(p.result.density, o), "%.10g") << '\n';
        }
    return s.str();
}

// Mean error over a layer's synthetic validation points, in %.
// form: 0 free, 1 factorised, 2 write-back.
double layer_error(const LayerCalibration& l, bool energy, int form) {
    const QuantityFit& q = energy ? l.energy : l.cycles;
    const LineFit& f = form == 0 ? q.free : form == 1 ? q.factorised : q.writeback;
    double sum = 0;
    int n = 0;
    for (const auto& p : l.validation) {
        if (p.spec.role != PointRole::kValidate) continue;
        const double sim = energy ? p.result.energy_pj : p.result.cycles;
        if (sim == 0) continue;
        const double o = std::max(0.0, p.result.ofmap_density);
        sum += 100.0 * std::abs(f.predict(p.result.density, o) - sim) / std::abs(sim);
        ++n;
    }
    return n ? sum / n : 0.0;
}

// "free / factorised / write-back" validation errors of a layer, "-" without points.
std::string val_errors(const LayerCalibration& l, bool energy) {
    bool any = false;
    for (const auto& p : l.validation) any |= p.spec.role == PointRole::kValidate;
    if (!any) return "-";
    return num(layer_error(l, energy, 0), "%.2f") + " / " + num(layer_error(l, energy, 1), "%.2f") +
           " / " + num(layer_error(l, energy, 2), "%.2f");
}

bool has_role(const LayerCalibration& l, PointRole role) {
    for (const auto& p : l.validation)
        if (p.spec.role == role) return true;
    return false;
}

std::string line_expr(const LineFit& f) {
    return "(" + num(f.intercept, "%.12g") + " + " + num(f.slope, "%.12g") + "*x)";
}

std::string plot_script(const CalibrationResult& c, const std::string& ext) {
    std::ostringstream s;
    s << "# Draws the calibration figures: run `gnuplot plot.gp` in this folder.\n"
      << "if (!exists(\"suffix\")) suffix = \"\"\n";
    if (ext == "png")
        s << "set terminal pngcairo size 1200,460 font \",10\"\n";
    else
        s << "set terminal svg size 1200,460 font \"sans,10\"\n";
    // Layer names have underscores: no enhanced-text subscripts.
    s << "set termoption noenhanced\n"
      << "set grid\nset key bottom right box opaque\nset format y \"%.1s%c\"\n"
      << "set xlabel \"input activation density D\"\nset xrange [0:1.05]\n"
      << "sel(role, pat, v) = (column(5) == role && (pat < 0 || column(4) == pat)) ? v : 1/0\n";
    const char* pattern_names[] = {"uniform", "channel", "block"};
    const int pattern_pt[] = {7, 5, 9};
    const char* pattern_colour[] = {"#1f77b4", "#ff7f0e", "#17becf"};
    for (const auto& l : c.layers) {
        const std::string stem = layer_stem(l.index);
        const std::string dat = "\"data/" + stem + ".dat\"";
        s << "\nset output \"fig/" << stem << "." << ext << "\".suffix\n"
          << "set multiplot layout 1,2 title \"layer " << l.index << ": " << l.name
          << "  (Conv = " << num(l.conv, "%.4g") << " MACs"
          << (l.mapping_changes ? ", mapping changes with density" : "") << ")\"\n";
        for (int q = 0; q < 2; ++q) {
            const bool energy = q == 0;
            const QuantityFit& fit = energy ? l.energy : l.cycles;
            const int col = energy ? 2 : 3;
            s << "set ylabel \"" << (energy ? "energy [pJ]" : "cycles") << "\"\n";
            s << "set yrange [0:*]\nplot ";
            for (int p = 0; p < 3; ++p)
                s << dat << " using 1:(sel(0, " << p << ", $" << col << ")) with points pt "
                  << pattern_pt[p] << " ps 0.8 lc rgb \"" << pattern_colour[p] << "\" title \"fit, "
                  << pattern_names[p] << "\", \\\n     ";
            if (has_role(l, PointRole::kValidate))
                s << dat << " using 1:(sel(1, -1, $" << col
                  << ")) with points pt 6 ps 1.1 lc rgb \"#d62728\" title \"held-out\", \\\n     ";
            if (has_role(l, PointRole::kTrace))
                s << dat << " using 1:(sel(2, -1, $" << col
                  << ")) with points pt 12 ps 1.4 lc rgb \"#9467bd\" title \"traces\", \\\n     ";
            s << line_expr(fit.free) << " with lines lw 2 lc rgb \"black\" title \"free (R^2 "
              << num(fit.free.r2, "%.4f") << ")\", \\\n     " << line_expr(fit.factorised)
              << " with lines lw 2 dt 2 lc rgb \"#2ca02c\" title \"factorised (R^2 "
              << num(fit.factorised.r2, "%.4f") << ")\", \\\n     " << dat
              << " using 1:(column(5) < 2 ? $" << (energy ? 7 : 8)
              << " : 1/0) with points pt 2 ps 0.6 lc rgb \"#555555\" title \"write-back (R^2 "
              << num(fit.writeback.r2, "%.4f") << ")\"\n";
        }
        s << "unset multiplot\nset output\n";
    }
    if (!c.validated) return s.str();  // no validation points: no validation figure
    s << "\nset terminal "
      << (ext == "png" ? "pngcairo size 1000,420 font \",10\""
                       : "svg size 1000,420 font \"sans,10\"")
      << "\nset output \"fig/validation." << ext << "\".suffix\n"
      << "set title \"mean error on the synthetic validation points per layer\"\n"
      << "set xlabel \"layer index\"\nset ylabel \"mean |error| [%]\"\nset autoscale x\n"
      << "set xrange [-0.5:" << c.layers.size() << "]\nset yrange [0:*]\nset format y \"%g\"\n"
      << "set arrow from graph 0, first 2 to graph 1, first 2 nohead dt 3 lc rgb \"gray\"\n"
      << "plot \"data/validation.dat\" using 1:2 with linespoints pt 7 title \"energy, free\", \\\n"
      << "     \"\" using 1:3 with linespoints pt 6 title \"energy, factorised\", \\\n"
      << "     \"\" using 1:4 with linespoints pt 5 title \"cycles, free\", \\\n"
      << "     \"\" using 1:5 with linespoints pt 4 title \"cycles, factorised\", \\\n"
      << "     \"\" using 1:6 with linespoints pt 9 title \"energy, write-back\", \\\n"
      << "     \"\" using 1:7 with linespoints pt 8 title \"cycles, write-back\"\n"
      << "set output\n";
    return s.str();
}

// Runs gnuplot in `dir`; empty string on success, else why not.
std::string run_gnuplot(const std::string& dir, const std::string& gnuplot) {
    std::fflush(stdout);
    std::fflush(stderr);
    const pid_t pid = ::fork();
    if (pid < 0) return std::string("cannot fork: ") + std::strerror(errno);
    if (pid == 0) {
        if (::chdir(dir.c_str()) != 0) ::_exit(126);
        ::execlp(gnuplot.c_str(), gnuplot.c_str(), "-e", "suffix='.tmp'", "plot.gp",
                 static_cast<char*>(nullptr));
        ::_exit(127);
    }
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
        return "gnuplot (" + gnuplot + ") could not be run";
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return "gnuplot (" + gnuplot + ") failed (see its messages above)";
    return "";
}

std::string mapping_note(const LayerCalibration& l) {
    // The target densities at which each distinct mapping was used.
    std::map<std::string, std::set<double>> at;
    for (const auto& p : l.points) at[p.result.mapping.dump()].insert(p.spec.density);
    std::string out;
    int k = 0;
    for (const auto& m : l.mappings_used) {
        std::string list;
        for (double d : at[m.dump()]) list += (list.empty() ? "" : ", ") + num(d, "%g");
        out += (k ? "; " : "") + std::string("mapping ") + static_cast<char>('A' + k % 26) +
               " at D = " + list + ": `" + m.dump() + "`";
        ++k;
    }
    return out;
}

std::string markdown(const CalibrationResult& c, const ReportOptions& opts,
                     const ReportOutcome& figs, const std::string& ext) {
    const auto& in = c.input;
    std::ostringstream s;
    s << "# Calibration of " << in.network << " (zero mode " << in.zero_mode << ")\n\n"
      << "Architecture `" << in.arch.value("name", std::string("?")) << "` (hash `" << in.arch_hash
      << "`), fidelity " << in.fidelity << ", batch " << in.batch << ", mapper objective "
      << in.objective << ". ";
    if (!opts.calib_json.empty()) s << "Model file: `" << opts.calib_json << "`. ";
    s << "Schema and method: docs/calibration.md.\n\n";
    s << "Run: " << c.run.points << " points (" << c.run.unique << " distinct), " << c.run.cached
      << " from the cache, " << c.run.simulated << " simulated by " << c.run.workers
      << " workers in " << format_duration(c.run.wall_seconds) << " ("
      << num(c.run.host_seconds, "%.1f") << " s of simulator time).\n\n";

    s << "## Model\n\n"
      << "E_l(D) = Conv(l) Map_E(l) (e1 D + e0), C_l(D) = Conv(l) Map_C(l) (c1 D + c0); "
      << "geometric mean of Map over the layers = 1.\n\n"
      << "| e1 [pJ/MAC] | e0 [pJ/MAC] | e0/e1 | c1 [cyc/MAC] | c0 [cyc/MAC] | c0/c1 |\n"
      << "|---|---|---|---|---|---|\n| " << num(c.e1) << " | " << num(c.e0) << " | "
      << (c.e1 > 0 ? num(c.e0 / c.e1) : "-") << " | " << num(c.c1) << " | " << num(c.c0) << " | "
      << (c.c1 > 0 ? num(c.c0 / c.c1) : "-") << " |\n\n"
      << "Form used for e_l, c_l: **" << c.form << "** ";
    if (c.validated)
        s << "(mean validation error: free " << num(c.form_score_free, "%.3f") << " %, factorised "
          << num(c.form_score_factorised, "%.3f") << " %, write-back "
          << num(c.form_score_writeback, "%.3f") << " %). ";
    else
        s << "(no synthetic validation points, `--validate-densities none`: the free lines, "
             "never worse on the fit points, unless a form was requested). ";
    s << "The write-back form "
      << "adds a term in the density of the ofmap the layer writes (a free plane "
         "E = e0 + e_in D + e_out D_out per layer); its e_l charges each ofmap write to the layers "
         "that read it.\n\n";

    s << "## Validation\n\n";
    if (c.validation["sets"].empty())
        s << "No validation was run (`--validate-densities none` and no `--validate-traces`): "
             "the fit was not checked against points it was not fitted to.\n\n";
    else
        s << "Mean absolute error of the predicted energy and cycles against the simulator, in %. "
          << "*heldout*: uniform zeros at densities not in the fit; *structured*: channel and "
             "block "
          << "zero patterns at those densities; *traces*: --validate-traces. Layer: the mean error "
          << "of each layer (mean and worst over layers); network: the error of the summed "
          << "prediction per scenario (one density/pattern/seed for every layer). Sparse-input "
          << "layers: those reading ReLU outputs, whose density training changes. Target: layer "
          << "<= 2 %, network <= 1 %.\n\n"
          << "| set | form | quantity | layer MAE mean | layer MAE worst | sparse-input layers "
             "mean / worst | network MAE | met |\n"
          << "|---|---|---|---|---|---|---|---|\n";
    for (const auto& [set, forms] : c.validation["sets"].items())
        for (const char* form : {"free", "factorised", "writeback"})
            for (const char* q : {"energy", "cycles"}) {
                if (!forms.contains(form)) continue;
                const json& v = forms[form][q];
                s << "| " << set << " | " << form << " | " << q << " | "
                  << num(v["layer_mae_pct_mean"].get<double>(), "%.3f") << " | "
                  << num(v["layer_mae_pct_max"].get<double>(), "%.3f") << " | "
                  << num(v["sparse_input_layers"]["layer_mae_pct_mean"].get<double>(), "%.3f")
                  << " / "
                  << num(v["sparse_input_layers"]["layer_mae_pct_max"].get<double>(), "%.3f")
                  << " | " << num(v["network_mae_pct"].get<double>(), "%.3f") << " | "
                  << (v["meets_target"].get<bool>() ? "yes" : "**no**") << " |\n";
            }
    s << "\n";
    if (figs.figures && c.validated)
        s << "![validation error per layer](fig/validation." << ext << ")\n\n";

    s << "## Layers\n\n"
      << "e_l, c_l: per unit density (pJ, cycles); e0_l, c0_l: at density 0. R^2 and the largest "
      << "residual (% of the simulated value) of the free / factorised lines on the fit points. "
      << "Val.: mean error on the validation points, free / factorised / write-back.\n\n"
      << "| # | layer | Conv [MAC] | Map_E | Map_C | e_l | e0_l | c_l | c0_l | E R^2 | E max res % "
      << "| C R^2 | C max res % | E val. % | C val. % | mapping changes |\n"
      << "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n";
    for (const auto& l : c.layers) {
        s << "| " << l.index << " | " << l.name << " | " << num(l.conv, "%.4g") << " | "
          << num(l.map_e) << " | " << num(l.map_c) << " | " << num(l.e_l) << " | " << num(l.e0_l)
          << " | " << num(l.c_l) << " | " << num(l.c0_l) << " | " << num(l.energy.free.r2, "%.4f")
          << " / " << num(l.energy.factorised.r2, "%.4f") << " | "
          << num(l.energy.free.max_residual_pct, "%.2f") << " / "
          << num(l.energy.factorised.max_residual_pct, "%.2f") << " | "
          << num(l.cycles.free.r2, "%.4f") << " / " << num(l.cycles.factorised.r2, "%.4f") << " | "
          << num(l.cycles.free.max_residual_pct, "%.2f") << " / "
          << num(l.cycles.factorised.max_residual_pct, "%.2f") << " | " << val_errors(l, true)
          << " | " << val_errors(l, false) << " | " << (l.mapping_changes ? "yes" : "no") << " |\n";
    }
    bool any_change = false;
    for (const auto& l : c.layers) any_change |= l.mapping_changes;
    if (any_change) {
        s << "\n### Mapping changes over the sweep (the gaps of the paper's Fig. 4)\n\n";
        for (const auto& l : c.layers)
            if (l.mapping_changes)
                s << "- layer " << l.index << " " << l.name << ": " << mapping_note(l) << "\n";
    }

    s << "\n## Figures\n\n";
    if (!figs.figures) {
        s << "Not drawn: " << figs.message << ". The data and `plot.gp` are here; run "
          << "`gnuplot plot.gp` in this folder to draw them.\n";
    } else {
        s << "Energy (left) and cycles (right) against the measured input density: fit points "
             "by zero pattern, held-out validation points, the free line (solid), the "
             "factorised line (dashed) and the write-back form's prediction at each point "
             "(crosses; it also depends on the ofmap density, so it is no line in D).\n\n";
        for (const auto& l : c.layers)
            s << "![layer " << l.index << "](fig/" << layer_stem(l.index) << "." << ext << ")\n";
    }
    return s.str();
}

}  // namespace

ReportOutcome write_report(const CalibrationResult& c, const std::string& dir,
                           const ReportOptions& opts) {
    if (opts.format != "png" && opts.format != "svg")
        throw core::InputError("--figure-format",
                               "expected png or svg, got \"" + opts.format + "\"");
    const std::string& ext = opts.format;
    std::error_code ec;
    for (const char* sub : {"data", "fig"}) {
        std::filesystem::create_directories(std::filesystem::path(dir) / sub, ec);
        if (ec) throw core::InputError(dir, "cannot create the report folder: " + ec.message());
    }
    for (const auto& l : c.layers)
        core::write_file_atomic(dir + "/data/" + layer_stem(l.index) + ".dat", data_file(l));
    std::ostringstream v;
    v << "# layer energy_free energy_factorised cycles_free cycles_factorised energy_writeback "
         "cycles_writeback (mean error %)\n";
    for (const auto& l : c.layers)
        v << l.index << ' ' << layer_error(l, true, 0) << ' ' << layer_error(l, true, 1) << ' '
          << layer_error(l, false, 0) << ' ' << layer_error(l, false, 1) << ' '
          << layer_error(l, true, 2) << ' ' << layer_error(l, false, 2) << '\n';
    core::write_file_atomic(dir + "/data/validation.dat", v.str());
    core::write_file_atomic(dir + "/plot.gp", plot_script(c, ext));

    ReportOutcome out;
    out.message = opts.gnuplot.empty() ? "no gnuplot given" : run_gnuplot(dir, opts.gnuplot);
    out.figures = out.message.empty();
    std::vector<std::string> figures;
    for (const auto& l : c.layers) figures.push_back("fig/" + layer_stem(l.index) + "." + ext);
    if (c.validated) figures.push_back("fig/validation." + ext);
    for (const auto& f : figures) {
        const std::string tmp = dir + "/" + f + ".tmp";
        if (!out.figures) {
            std::remove(tmp.c_str());
            continue;
        }
        if (std::rename(tmp.c_str(), (dir + "/" + f).c_str()) != 0) {
            out.figures = false;
            out.message = "gnuplot did not write " + f;
        }
    }
    core::write_file_atomic(dir + "/report.md", markdown(c, opts, out, ext));
    return out;
}

}  // namespace actsparse::calibration
