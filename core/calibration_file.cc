#include "core/calibration_file.h"

#include <cmath>
#include <nlohmann/json.hpp>

#include "core/error.h"

namespace actsparse::core {
namespace {

using nlohmann::json;

const json& require(const json& obj, const std::string& key, const std::string& where) {
    if (!obj.is_object()) throw core::InputError(where, "expected a JSON object");
    const auto it = obj.find(key);
    if (it == obj.end()) throw core::InputError(where + "." + key, "missing");
    return *it;
}

double require_number(const json& obj, const std::string& key, const std::string& where,
                      bool non_negative) {
    const json& v = require(obj, key, where);
    if (!v.is_number())
        throw core::InputError(where + "." + key, "expected a number, got " + v.dump());
    const double d = v.get<double>();
    if (!std::isfinite(d)) throw core::InputError(where + "." + key, "not finite");
    if (non_negative && d < 0.0)
        throw core::InputError(where + "." + key, "must be >= 0, got " + v.dump());
    return d;
}

std::string require_string(const json& obj, const std::string& key, const std::string& where) {
    const json& v = require(obj, key, where);
    if (!v.is_string())
        throw core::InputError(where + "." + key, "expected a string, got " + v.dump());
    return v.get<std::string>();
}

}  // namespace

double Calibration::predicted_energy_pj(const std::vector<double>& density) const {
    if (density.size() != layers.size())
        core::model_bug("trainer::Calibration", "density list does not match the layers");
    double sum = 0.0;
    for (size_t i = 0; i < layers.size(); ++i) sum += layers[i].energy_pj(density[i]);
    return sum;
}

double Calibration::predicted_cycles(const std::vector<double>& density) const {
    if (density.size() != layers.size())
        core::model_bug("trainer::Calibration", "density list does not match the layers");
    double sum = 0.0;
    for (size_t i = 0; i < layers.size(); ++i) sum += layers[i].cycles(density[i]);
    return sum;
}

Calibration parse_calibration(const std::string& text, const std::string& where) {
    json j;
    try {
        j = json::parse(text);
    } catch (const json::exception& e) {  // also out_of_range: a number beyond double
        throw core::InputError(where, std::string("not valid JSON: ") + e.what());
    }
    if (!j.is_object()) throw core::InputError(where, "expected a JSON object at the top");
    Calibration c;
    c.path = where;
    const std::string schema = require_string(j, "schema", where);
    if (schema != "actsparse.calibration/1")
        throw core::InputError(where + ".schema",
                               "expected \"actsparse.calibration/1\", got \"" + schema + "\"");
    c.network = require_string(j, "network", where);
    if (c.network.empty()) throw core::InputError(where + ".network", "empty");
    c.zero_mode = require_string(j, "zero_mode", where);
    if (c.zero_mode != "skip" && c.zero_mode != "gate")
        throw core::InputError(where + ".zero_mode",
                               "expected \"skip\" or \"gate\", got \"" + c.zero_mode + "\"");
    c.form = require_string(j, "form", where);
    if (c.form != "free" && c.form != "factorised" && c.form != "writeback")
        throw core::InputError(
            where + ".form",
            "expected \"free\", \"factorised\" or \"writeback\", got \"" + c.form + "\"");
    if (j.contains("batch")) {
        const json& b = j["batch"];
        if (!b.is_number_integer() || b.get<int64_t>() < 1)
            throw core::InputError(where + ".batch", "expected an integer >= 1, got " + b.dump());
        c.batch = b.get<int64_t>();
    }
    if (j.contains("width_mult")) {
        const json& w = j["width_mult"];
        if (!w.is_number() || !(w.get<double>() > 0.0))
            throw core::InputError(where + ".width_mult", "expected a number > 0, got " + w.dump());
        c.width_mult = w.get<double>();
    }
    const json& g = require(j, "global", where);
    const std::string gw = where + ".global";
    if (!g.is_object()) throw core::InputError(gw, "expected a JSON object");
    // e0/c0 of the global fit are intercepts of a linear fit: they may be slightly negative.
    c.global.e1 = require_number(g, "e1", gw, false);
    c.global.e0 = require_number(g, "e0", gw, false);
    c.global.c1 = require_number(g, "c1", gw, false);
    c.global.c0 = require_number(g, "c0", gw, false);

    const json& layers = require(j, "layers", where);
    if (!layers.is_array() || layers.empty())
        throw core::InputError(where + ".layers", "expected a non-empty array");
    for (size_t i = 0; i < layers.size(); ++i) {
        const std::string lw = where + ".layers[" + std::to_string(i) + "]";
        const json& l = layers[i];
        if (!l.is_object()) throw core::InputError(lw, "expected a JSON object");
        CalibrationLayer cl;
        const json& idx = require(l, "index", lw);
        if (!idx.is_number_integer() || idx.get<int64_t>() != static_cast<int64_t>(i))
            throw core::InputError(lw + ".index", "expected " + std::to_string(i) +
                                                      " (layers in order), got " + idx.dump());
        cl.index = static_cast<int>(i);
        cl.name = require_string(l, "name", lw);
        cl.conv = require_number(l, "conv", lw, true);
        cl.map_e = require_number(l, "map_e", lw, true);
        cl.map_c = require_number(l, "map_c", lw, true);
        // e_l/c_l weight the penalty: a negative one would reward density.
        cl.e_l = require_number(l, "e_l", lw, true);
        cl.c_l = require_number(l, "c_l", lw, true);
        cl.e0_l = require_number(l, "e0_l", lw, false);
        cl.c0_l = require_number(l, "c0_l", lw, false);
        if (c.form == "writeback") {
            for (const char* q : {"energy", "cycles"}) {
                const std::string pw = lw + "." + q + ".writeback";
                if (!l.contains(q) || !l[q].is_object() || !l[q].contains("writeback"))
                    throw core::InputError(pw, "missing (form is writeback)");
                const json& p = l[q]["writeback"];
                CalibrationPlane& plane =
                    std::string(q) == "energy" ? cl.energy_plane : cl.cycles_plane;
                plane.intercept = require_number(p, "intercept", pw, false);
                plane.slope = require_number(p, "slope", pw, true);
                plane.slope_out = require_number(p, "slope_out", pw, true);
                plane.valid = true;
            }
        }
        if (l.contains("input_sparse")) {
            if (!l["input_sparse"].is_boolean())
                throw core::InputError(lw + ".input_sparse", "expected true or false");
            cl.input_sparse = l["input_sparse"].get<bool>() ? 1 : 0;
        }
        c.layers.push_back(cl);
    }
    return c;
}

Calibration load_calibration(const std::string& path) {
    return parse_calibration(core::read_file(path), path);
}

std::vector<std::string> check_calibration_matches(const Calibration& calib,
                                                   const core::Network& net) {
    if (calib.network != net.name)
        throw core::InputError(
            calib.path + ".network",
            "is \"" + calib.network + "\" but the network trained is \"" + net.name + "\"");
    const auto conv = net.conv_layers(calib.batch);
    if (calib.layers.size() != conv.size())
        throw core::InputError(calib.path + ".layers",
                               "has " + std::to_string(calib.layers.size()) + " layers but " +
                                   net.name + " has " + std::to_string(conv.size()) +
                                   " conv layers");
    std::vector<std::string> warnings;
    for (size_t i = 0; i < conv.size(); ++i) {
        const auto& cl = calib.layers[i];
        if (cl.name != conv[i].name)
            throw core::InputError(calib.path + ".layers[" + std::to_string(i) + "].name",
                                   "is \"" + cl.name + "\" but conv layer " + std::to_string(i) +
                                       " of " + net.name + " is \"" + conv[i].name + "\"");
        if (cl.input_sparse >= 0 && (cl.input_sparse == 1) != conv[i].input_sparse)
            throw core::InputError(calib.path + ".layers[" + std::to_string(i) + "].input_sparse",
                                   std::string("disagrees with ") + net.name + " (" +
                                       (conv[i].input_sparse ? "true" : "false") + ")");
        const double macs = static_cast<double>(conv[i].shape.macs());
        if (std::abs(cl.conv - macs) > 1e-6 * macs)
            warnings.push_back(calib.path + ": layer " + std::to_string(i) + " (" + cl.name +
                               "): conv = " + json(cl.conv).dump() +
                               " MACs but the trained model has " +
                               std::to_string(conv[i].shape.macs()));
    }
    return warnings;
}

}  // namespace actsparse::core
