#include "calibration/engine/calibrate.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <set>
#include <tuple>

#include "core/error.h"

namespace actsparse::calibration {
namespace {

using nlohmann::json;

constexpr double kLayerTargetPct = 2.0;
constexpr double kNetworkTargetPct = 1.0;

bool same_density(double a, double b) { return std::abs(a - b) <= 1e-9; }

std::string fmt(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g", v);
    return buf;
}

json line_json(const LineFit& f) {
    return {{"slope", f.slope},
            {"slope_out", f.slope_out},
            {"intercept", f.intercept},
            {"r2", f.r2},
            {"max_residual", f.max_residual},
            {"max_residual_pct", f.max_residual_pct}};
}

json quantity_json(const QuantityFit& q) {
    json f = line_json(q.factorised);
    f["map"] = q.factorised_map;
    return {{"free", line_json(q.free)}, {"factorised", f}, {"writeback", line_json(q.writeback)}};
}

std::vector<std::string> pattern_names(const std::vector<core::ZeroPattern>& ps) {
    std::vector<std::string> out;
    for (auto p : ps) out.push_back(core::to_string(p));
    return out;
}

// Validation sets: where a validation point belongs.
const char* set_of(const PointSpec& p) {
    if (p.role == PointRole::kTrace) return "traces";
    return p.pattern == core::ZeroPattern::kUniform ? "heldout" : "structured";
}

enum class Form { kFree, kFactorised, kWriteback };
constexpr Form kForms[] = {Form::kFree, Form::kFactorised, Form::kWriteback};
const char* form_name(Form f) {
    return f == Form::kFree ? "free" : f == Form::kFactorised ? "factorised" : "writeback";
}
const LineFit& line_of(const QuantityFit& q, Form f) {
    return f == Form::kFree ? q.free : f == Form::kFactorised ? q.factorised : q.writeback;
}
// The ofmap density of a point (0 when the simulator did not report it).
double dout(const PointResult& r) { return std::max(0.0, r.ofmap_density); }

double pct_error(double predicted, double simulated) {
    return simulated != 0 ? 100.0 * std::abs(predicted - simulated) / std::abs(simulated) : 0.0;
}

struct Errors {
    double sum = 0, max = 0;
    size_t n = 0;
    void add(double e) {
        sum += e;
        max = std::max(max, e);
        ++n;
    }
    double mean() const { return n ? sum / static_cast<double>(n) : 0.0; }
};

// The validation block of calib.json for one set of points.
json validate_set(const std::vector<LayerCalibration>& layers, const std::string& set) {
    json out;
    for (const Form form : kForms) {
        for (const char* quantity : {"energy", "cycles"}) {
            const bool energy = std::string(quantity) == "energy";
            json layer_rows = json::array();
            Errors over_layers, over_sparse;  // of per-layer means
            double worst_layer = 0, worst_sparse = 0;
            // Network scenarios: one (density, pattern, seed) across all layers, or the traces.
            std::map<std::tuple<double, int, uint64_t>, std::pair<double, double>> scenarios;
            for (const auto& l : layers) {
                const QuantityFit& q = energy ? l.energy : l.cycles;
                const LineFit& line = line_of(q, form);
                Errors e;
                for (const auto& p : l.validation) {
                    if (set != set_of(p.spec)) continue;
                    const double sim = energy ? p.result.energy_pj : p.result.cycles;
                    const double pred = line.predict(p.result.density, dout(p.result));
                    e.add(pct_error(pred, sim));
                    const auto key =
                        p.spec.role == PointRole::kTrace
                            ? std::make_tuple(0.0, -1, uint64_t{0})
                            : std::make_tuple(p.spec.density, static_cast<int>(p.spec.pattern),
                                              p.spec.seed);
                    scenarios[key].first += pred;
                    scenarios[key].second += sim;
                }
                if (e.n == 0) continue;
                layer_rows.push_back({{"index", l.index},
                                      {"name", l.name},
                                      {"mae_pct", e.mean()},
                                      {"max_pct", e.max},
                                      {"points", e.n}});
                over_layers.add(e.mean());
                worst_layer = std::max(worst_layer, e.mean());
                if (l.input_sparse) {
                    over_sparse.add(e.mean());
                    worst_sparse = std::max(worst_sparse, e.mean());
                }
            }
            Errors net;
            for (const auto& [key, v] : scenarios) net.add(pct_error(v.first, v.second));
            out[form_name(form)][quantity] = {
                {"layer_mae_pct_mean", over_layers.mean()},
                {"layer_mae_pct_max", worst_layer},
                {"network_mae_pct", net.mean()},
                {"network_max_pct", net.max},
                {"scenarios", net.n},
                // The layers whose input density training changes (ReLU outputs).
                {"sparse_input_layers",
                 {{"layer_mae_pct_mean", over_sparse.mean()}, {"layer_mae_pct_max", worst_sparse}}},
                {"meets_target", worst_layer <= kLayerTargetPct && net.mean() <= kNetworkTargetPct},
                {"layers", layer_rows}};
        }
    }
    return out;
}

// Mean validation error (energy and cycles, all synthetic validation points) of one form.
double form_score(const std::vector<LayerCalibration>& layers, Form form) {
    Errors e;
    for (const auto& l : layers)
        for (const auto& p : l.validation) {
            if (p.spec.role != PointRole::kValidate) continue;
            const LineFit& le = line_of(l.energy, form);
            const LineFit& lc = line_of(l.cycles, form);
            e.add(pct_error(le.predict(p.result.density, dout(p.result)), p.result.energy_pj));
            e.add(pct_error(lc.predict(p.result.density, dout(p.result)), p.result.cycles));
        }
    return e.mean();
}

}  // namespace

void check_sweep(const SweepConfig& s) {
    std::vector<double> distinct;
    for (double d : s.densities) {
        if (!(d > 0 && d <= 1))
            throw core::InputError("--densities", "each density must be in (0, 1], got " + fmt(d));
        if (std::none_of(distinct.begin(), distinct.end(),
                         [&](double x) { return same_density(x, d); }))
            distinct.push_back(d);
    }
    if (distinct.size() < 2)
        throw core::InputError("--densities", "needs at least 2 distinct densities to fit a line");
    if (s.seeds < 1) throw core::InputError("--seeds", "must be >= 1");
    if (s.patterns.empty()) throw core::InputError("--patterns", "needs at least one pattern");
    for (double d : s.validate_densities) {
        if (!(d > 0 && d <= 1))
            throw core::InputError("--validate-densities",
                                   "each density must be in (0, 1], got " + fmt(d));
        if (std::any_of(distinct.begin(), distinct.end(),
                        [&](double x) { return same_density(x, d); }))
            throw core::InputError("--validate-densities",
                                   fmt(d) +
                                       " is also a fit density; validation densities must "
                                       "be held out");
    }
    if (s.validate_seed >= 1 && s.validate_seed <= static_cast<uint64_t>(s.seeds))
        throw core::InputError("--validate-seed",
                               "must not be one of the fit seeds 1.." + std::to_string(s.seeds));
}

std::vector<TraceInput> read_trace_manifest(const std::string& dir, const std::string& network,
                                            const std::vector<core::ConvLayer>& layers) {
    const std::string path = dir + "/manifest.json";
    json j;
    try {
        j = json::parse(core::read_file(path));
    } catch (const json::exception& e) {  // also out_of_range: a number beyond double
        throw core::InputError(path, std::string("not valid JSON: ") + e.what());
    }
    if (!j.is_object()) throw core::InputError(path, "expected a JSON object");
    if (!j.contains("network") || !j["network"].is_string())
        throw core::InputError(path + ": network", "missing or not a string");
    if (j["network"] != network)
        throw core::InputError(path + ": network", "is \"" + j["network"].get<std::string>() +
                                                       "\" but --net is \"" + network + "\"");
    if (!j.contains("layers") || !j["layers"].is_array() || j["layers"].empty())
        throw core::InputError(path + ": layers", "expected a non-empty array");
    std::vector<TraceInput> out;
    for (size_t i = 0; i < j["layers"].size(); ++i) {
        const std::string where = path + ": layers[" + std::to_string(i) + "]";
        const json& e = j["layers"][i];
        if (!e.is_object() || !e.contains("name") || !e["name"].is_string() ||
            !e.contains("file") || !e["file"].is_string())
            throw core::InputError(where, "expected {\"name\": string, \"file\": string}");
        const std::string name = e["name"];
        const auto it = std::find_if(layers.begin(), layers.end(),
                                     [&](const core::ConvLayer& l) { return l.name == name; });
        if (it == layers.end())
            throw core::InputError(where + ".name", "no conv layer \"" + name + "\" in " + network);
        TraceInput t;
        t.layer = it->index;
        t.file = dir + "/" + e["file"].get<std::string>();
        const std::string bytes = core::read_file(t.file);
        const core::Trace trace = core::decode_trace(bytes, t.file);
        if (trace.shape != it->shape)
            throw core::InputError(t.file, "shape " + trace.shape.to_spec() +
                                               " differs from the calibrated layer " + name + " (" +
                                               it->shape.to_spec() +
                                               "); calibrate with the trace's --batch");
        t.digest = fnv1a_hex(bytes);
        t.density = trace.density();
        out.push_back(t);
    }
    return out;
}

FormChoice parse_form(const std::string& text, const std::string& where) {
    if (text == "auto") return FormChoice::kAuto;
    if (text == "free") return FormChoice::kFree;
    if (text == "factorised") return FormChoice::kFactorised;
    if (text == "writeback") return FormChoice::kWriteback;
    throw core::InputError(where,
                           "expected auto, free, factorised or writeback, got \"" + text + "\"");
}

std::vector<PointSpec> sweep_points(const CalibrationInput& in) {
    std::vector<PointSpec> out;
    for (const auto& l : in.layers) {
        PointSpec base;
        base.layer = l.index;
        base.layer_name = l.name;
        base.shape = l.shape;
        base.ifmap_compressed = l.input_name != in.first_input;
        for (double d : in.sweep.densities)
            for (auto pattern : in.sweep.patterns)
                for (int s = 1; s <= in.sweep.seeds; ++s) {
                    PointSpec p = base;
                    p.role = PointRole::kFit;
                    p.density = d;
                    p.pattern = pattern;
                    p.seed = static_cast<uint64_t>(s);
                    out.push_back(p);
                }
        for (double d : in.sweep.validate_densities)
            for (auto pattern : in.sweep.validate_patterns) {
                PointSpec p = base;
                p.role = PointRole::kValidate;
                p.density = d;
                p.pattern = pattern;
                p.seed = in.sweep.validate_seed;
                out.push_back(p);
            }
        for (const auto& t : in.traces) {
            if (t.layer != l.index) continue;
            PointSpec p = base;
            p.role = PointRole::kTrace;
            p.density = t.density;
            p.trace_file = t.file;
            p.trace_digest = t.digest;
            out.push_back(p);
        }
    }
    return out;
}

CalibrationResult fit_calibration(const CalibrationInput& in, const std::vector<PointSpec>& specs,
                                  const std::vector<PointResult>& results) {
    if (specs.size() != results.size())
        core::model_bug("calibration::fit_calibration", "results do not match the points");
    CalibrationResult c;
    c.input = in;
    for (const auto& l : in.layers) {
        LayerCalibration lc;
        lc.index = l.index;
        lc.name = l.name;
        lc.shape = l.shape;
        lc.input_sparse = l.input_sparse;
        lc.conv = static_cast<double>(l.shape.macs());
        c.layers.push_back(lc);
    }
    for (size_t i = 0; i < specs.size(); ++i) {
        auto& lc = c.layers.at(static_cast<size_t>(specs[i].layer));
        (specs[i].role == PointRole::kFit ? lc.points : lc.validation)
            .push_back({specs[i], results[i]});
    }

    std::vector<double> conv;
    std::vector<std::vector<double>> x, ye, yc;
    for (auto& lc : c.layers) {
        if (lc.points.empty())
            core::model_bug("calibration::fit_calibration", "layer " + lc.name + " has no points");
        std::vector<double> lx, lo, le, lcy;
        for (const auto& p : lc.points) {
            lx.push_back(p.result.density);
            lo.push_back(dout(p.result));
            le.push_back(p.result.energy_pj);
            lcy.push_back(p.result.cycles);
        }
        lc.energy.free = fit_line(lx, le);
        lc.cycles.free = fit_line(lx, lcy);
        lc.energy.writeback = fit_plane(lx, lo, le);
        lc.cycles.writeback = fit_plane(lx, lo, lcy);
        double so = 0;
        for (double v : lo) so += v;
        lc.ofmap_density_mean = so / static_cast<double>(lo.size());
        conv.push_back(lc.conv);
        x.push_back(lx);
        ye.push_back(le);
        yc.push_back(lcy);

        // Mappings: distinct ones in order of first use; the one at the densest point.
        std::map<std::string, int> uses;
        for (const auto& p : lc.points) {
            const std::string k = p.result.mapping.dump();
            if (uses[k]++ == 0) lc.mappings_used.push_back(p.result.mapping);
        }
        lc.mapping_changes = lc.mappings_used.size() > 1;
        const auto densest = std::max_element(
            lc.points.begin(), lc.points.end(),
            [](const Point& a, const Point& b) { return a.spec.density < b.spec.density; });
        if (same_density(densest->spec.density, 1.0)) {
            lc.mapping = densest->result.mapping;
        } else {
            int best = -1;
            for (const auto& m : lc.mappings_used)
                if (uses[m.dump()] > best) best = uses[m.dump()], lc.mapping = m;
        }
    }
    const FactorisedFit fe = fit_factorised(conv, x, ye);
    const FactorisedFit fc = fit_factorised(conv, x, yc);
    c.e1 = fe.k1, c.e0 = fe.k0, c.c1 = fc.k1, c.c0 = fc.k0;
    for (size_t l = 0; l < c.layers.size(); ++l) {
        c.layers[l].energy.factorised = fe.layers[l];
        c.layers[l].energy.factorised_map = fe.map[l];
        c.layers[l].cycles.factorised = fc.layers[l];
        c.layers[l].cycles.factorised_map = fc.map[l];
    }

    for (const auto& l : c.layers)
        for (const auto& p : l.validation) c.validated |= p.spec.role == PointRole::kValidate;
    c.form_score_free = form_score(c.layers, Form::kFree);
    c.form_score_factorised = form_score(c.layers, Form::kFactorised);
    c.form_score_writeback = form_score(c.layers, Form::kWriteback);
    Form form = Form::kFactorised;
    switch (in.form) {
        case FormChoice::kFree:
            form = Form::kFree;
            break;
        case FormChoice::kFactorised:
            form = Form::kFactorised;
            break;
        case FormChoice::kWriteback:
            form = Form::kWriteback;
            break;
        case FormChoice::kAuto: {
            // Without validation points the free lines (never worse on the fit data) win. A
            // tie keeps the simpler form (factorised, then free).
            const double ff = c.form_score_free, fa = c.form_score_factorised,
                         fw = c.form_score_writeback;
            if (ff == 0 && fa == 0 && fw == 0)
                form = Form::kFree;
            else if (fw < std::min(ff, fa))
                form = Form::kWriteback;
            else if (ff < fa)
                form = Form::kFree;
            break;
        }
    }
    const bool free = form != Form::kFactorised;
    c.form = form_name(form);
    // The write-back form charges a layer's ofmap-write slope to the layers that read the
    // ofmap (their input density is that ofmap's density), so the per-layer weights are
    // d(network energy)/d(D_l); an ofmap no conv reads keeps its write at the mean density.
    for (size_t l = 0; l < c.layers.size(); ++l) {
        const int p = l < in.producer.size() ? in.producer[l] : -1;
        if (p < 0 || p >= static_cast<int>(c.layers.size()) || p == static_cast<int>(l)) continue;
        c.layers[l].producer = p;
        ++c.layers[static_cast<size_t>(p)].consumers;
    }
    for (size_t l = 0; l < c.layers.size(); ++l) {
        auto& lc = c.layers[l];
        const LineFit& e = line_of(lc.energy, form);
        const LineFit& cy = line_of(lc.cycles, form);
        lc.e_l = e.slope, lc.e0_l = e.intercept;
        lc.c_l = cy.slope, lc.c0_l = cy.intercept;
        if (form == Form::kWriteback) {
            lc.eo_l = e.slope_out, lc.co_l = cy.slope_out;
            if (lc.producer >= 0) {
                const auto& pl = c.layers[static_cast<size_t>(lc.producer)];
                lc.e_l += pl.energy.writeback.slope_out / pl.consumers;
                lc.c_l += pl.cycles.writeback.slope_out / pl.consumers;
            }
            if (lc.consumers == 0) {
                lc.e0_l += lc.eo_l * lc.ofmap_density_mean;
                lc.c0_l += lc.co_l * lc.ofmap_density_mean;
            }
        }
        // e_l = Conv * Map_E * e1 holds in both forms: the free form's Map is its slope over
        // Conv * e1 (the factorised Map where e1 = 0 leaves it undefined).
        lc.map_e = free && c.e1 > 0 ? lc.e_l / (lc.conv * c.e1) : fe.map[l];
        lc.map_c = free && c.c1 > 0 ? lc.c_l / (lc.conv * c.c1) : fc.map[l];
    }

    std::set<std::string> sets;
    for (const auto& lc : c.layers)
        for (const auto& p : lc.validation) sets.insert(set_of(p.spec));
    c.validation = {
        {"target", {{"layer_mae_pct", kLayerTargetPct}, {"network_mae_pct", kNetworkTargetPct}}},
        {"sets", json::object()}};
    for (const auto& s : sets) c.validation["sets"][s] = validate_set(c.layers, s);
    return c;
}

std::vector<int> input_producers(const core::Network& net) {
    std::map<int, int> conv_of_op;  // op index -> conv-layer index
    const auto layers = net.conv_layers(1);
    for (const auto& l : layers) conv_of_op[l.op] = l.index;
    std::vector<int> out;
    for (const auto& l : layers) {
        int op = net.ops[static_cast<size_t>(l.op)].inputs.empty()
                     ? -1
                     : net.ops[static_cast<size_t>(l.op)].inputs.front();
        int producer = -1;
        bool relu = false;  // the accelerator writes ReLU'd ofmaps: only then is D_out = D_in
        while (op >= 0) {
            const core::Op& o = net.ops[static_cast<size_t>(op)];
            if (o.kind == core::OpKind::kConv) {
                if (relu) producer = conv_of_op.at(op);
                break;
            }
            relu |= o.kind == core::OpKind::kReLU || o.kind == core::OpKind::kReLU6;
            const bool pass = o.kind == core::OpKind::kBatchNorm || o.kind == core::OpKind::kReLU ||
                              o.kind == core::OpKind::kReLU6;
            if (!pass || o.inputs.size() != 1) break;
            op = o.inputs.front();
        }
        out.push_back(producer);
    }
    return out;
}

CalibrationResult calibrate(const CalibrationInput& in, const Simulator& sim,
                            const RunOptions& run) {
    const auto specs = sweep_points(in);
    RunStats stats;
    const auto results = run_points(specs, sim, run, &stats);
    CalibrationResult c = fit_calibration(in, specs, results);
    c.run = stats;
    return c;
}

RunStats calibrate_shard(const CalibrationInput& in, const Simulator& sim, const RunOptions& run) {
    return simulate_shard(sweep_points(in), sim, run);
}

json to_json(const CalibrationResult& c) {
    const auto& in = c.input;
    json j;
    j["schema"] = kSchema;
    j["network"] = in.network;
    j["batch"] = in.batch;
    j["width_mult"] = in.width_mult;
    j["zero_mode"] = in.zero_mode;
    j["fidelity"] = in.fidelity;
    j["objective"] = in.objective;
    j["mapping_density"] =
        in.mapping_density >= 0 ? json(in.mapping_density) : json(nullptr);  // null: per point
    j["arch"] = in.arch;
    j["arch_hash"] = in.arch_hash;
    j["form"] = c.form;
    j["form_selection"] = {
        {"requested", in.form == FormChoice::kAuto        ? "auto"
                      : in.form == FormChoice::kFree      ? "free"
                      : in.form == FormChoice::kWriteback ? "writeback"
                                                          : "factorised"},
        {"validation_mae_pct", c.validated ? json{{"free", c.form_score_free},
                                                  {"factorised", c.form_score_factorised},
                                                  {"writeback", c.form_score_writeback}}
                                           : json(nullptr)}};  // null: no validation points
    j["sweep"] = {{"densities", in.sweep.densities},
                  {"seeds", in.sweep.seeds},
                  {"patterns", pattern_names(in.sweep.patterns)},
                  {"validate_densities", in.sweep.validate_densities},
                  {"validate_patterns", pattern_names(in.sweep.validate_patterns)},
                  {"validate_seed", in.sweep.validate_seed}};
    j["global"] = {{"e1", c.e1}, {"e0", c.e0}, {"c1", c.c1}, {"c0", c.c0}};
    j["layers"] = json::array();
    for (const auto& l : c.layers) {
        json lj = {{"index", l.index},
                   {"name", l.name},
                   {"shape", l.shape.to_spec()},
                   {"input_sparse", l.input_sparse},
                   {"conv", l.conv},
                   {"map_e", l.map_e},
                   {"map_c", l.map_c},
                   {"e_l", l.e_l},
                   {"c_l", l.c_l},
                   {"e0_l", l.e0_l},
                   {"c0_l", l.c0_l},
                   {"eo_l", l.eo_l},
                   {"co_l", l.co_l},
                   {"producer", l.producer},
                   {"consumers", l.consumers},
                   {"ofmap_density_mean", l.ofmap_density_mean},
                   {"energy", quantity_json(l.energy)},
                   {"cycles", quantity_json(l.cycles)},
                   {"mapping", l.mapping},
                   {"mapping_changes", l.mapping_changes},
                   {"mappings_used", l.mappings_used.size()}};
        json points = json::array();
        for (const auto& p : l.points)
            points.push_back({{"density", p.result.density},
                              {"ofmap_density", p.result.ofmap_density},
                              {"target_density", p.spec.density},
                              {"seed", p.spec.seed},
                              {"pattern", core::to_string(p.spec.pattern)},
                              {"energy_pj", p.result.energy_pj},
                              {"cycles", p.result.cycles},
                              {"cycles_processing", p.result.cycles_processing},
                              {"mapping", p.result.mapping}});
        lj["points"] = points;
        json vpoints = json::array();
        for (const auto& p : l.validation) {
            const double d = p.result.density, o = dout(p.result);
            json v = {{"set", set_of(p.spec)},
                      {"density", p.result.density},
                      {"ofmap_density", p.result.ofmap_density},
                      {"energy_pj", p.result.energy_pj},
                      {"cycles", p.result.cycles},
                      {"predicted",
                       {{"free",
                         {{"energy_pj", l.energy.free.predict(p.result.density)},
                          {"cycles", l.cycles.free.predict(p.result.density)}}},
                        {"factorised",
                         {{"energy_pj", l.energy.factorised.predict(p.result.density)},
                          {"cycles", l.cycles.factorised.predict(p.result.density)}}},
                        {"writeback",
                         {{"energy_pj", l.energy.writeback.predict(d, o)},
                          {"cycles", l.cycles.writeback.predict(d, o)}}}}},
                      {"mapping", p.result.mapping}};
            if (p.spec.role == PointRole::kTrace) {
                v["file"] = p.spec.trace_file;
            } else {
                v["target_density"] = p.spec.density;
                v["seed"] = p.spec.seed;
                v["pattern"] = core::to_string(p.spec.pattern);
            }
            vpoints.push_back(v);
        }
        lj["validation_points"] = vpoints;
        j["layers"].push_back(lj);
    }
    j["validation"] = c.validation;
    return j;
}

}  // namespace actsparse::calibration
