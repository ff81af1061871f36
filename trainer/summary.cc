#include "trainer/summary.h"

#include <filesystem>

#include "core/error.h"

namespace actsparse::trainer {

std::vector<double> read_run_densities(const std::string& run_dir, const core::Network& net,
                                       bool* quantised) {
    const std::string path = (std::filesystem::path(run_dir) / "summary.json").string();
    nlohmann::json j;
    try {
        j = nlohmann::json::parse(core::read_file(path));
    } catch (const nlohmann::json::exception& e) {  // also out_of_range: a number beyond double
        throw core::InputError(path, std::string("not valid JSON: ") + e.what());
    }
    if (!j.is_object() || j.value("network", "") != net.name)
        throw core::InputError(path + ": network", "is not " + net.name);
    if (!j.contains("test") || !j["test"].is_object() || !j["test"].contains("layers") ||
        !j["test"]["layers"].is_array())
        throw core::InputError(path + ": test.layers", "missing");
    const auto& layers = j["test"]["layers"];
    const auto conv = net.conv_layers(1);
    if (layers.size() != conv.size())
        throw core::InputError(path + ": test.layers", "has " + std::to_string(layers.size()) +
                                                           " layers, " + net.name + " has " +
                                                           std::to_string(conv.size()));
    std::vector<double> d;
    for (size_t i = 0; i < conv.size(); ++i) {
        const std::string w = path + ": test.layers[" + std::to_string(i) + "]";
        const auto& l = layers[i];
        if (!l.is_object() || !l.contains("name") || !l["name"].is_string() ||
            l["name"].get<std::string>() != conv[i].name)
            throw core::InputError(w + ".name", "is not " + conv[i].name);
        if (!l.contains("density") || !l["density"].is_number())
            throw core::InputError(w + ".density", "missing");
        const double v = l["density"].get<double>();
        if (!(v >= 0.0 && v <= 1.0)) throw core::InputError(w + ".density", "not in [0, 1]");
        d.push_back(v);
    }
    if (quantised != nullptr)
        *quantised = j.contains("quantisation") && j["quantisation"].is_object();
    return d;
}

nlohmann::json predicted_costs(const Calibration& calib, const std::vector<double>& density,
                               const std::vector<double>* baseline_density,
                               const std::string& baseline_run) {
    nlohmann::json j;
    j["calibration"] = calib.path;
    j["energy_pj"] = calib.predicted_energy_pj(density);
    j["cycles"] = calib.predicted_cycles(density);
    nlohmann::json layers = nlohmann::json::array();
    for (size_t i = 0; i < calib.layers.size(); ++i) {
        const auto& l = calib.layers[i];
        nlohmann::json e = {{"index", l.index},
                            {"name", l.name},
                            {"energy_pj", l.energy_pj(density[i])},
                            {"cycles", l.cycles(density[i])}};
        if (baseline_density != nullptr) {
            e["baseline_energy_pj"] = l.energy_pj((*baseline_density)[i]);
            e["baseline_cycles"] = l.cycles((*baseline_density)[i]);
        }
        layers.push_back(e);
    }
    j["layers"] = layers;
    if (baseline_density != nullptr) {
        const double be = calib.predicted_energy_pj(*baseline_density);
        const double bc = calib.predicted_cycles(*baseline_density);
        j["baseline_run"] = baseline_run;
        j["baseline_energy_pj"] = be;
        j["baseline_cycles"] = bc;
        j["energy_ratio"] = be > 0.0 ? j["energy_pj"].get<double>() / be : 0.0;
        j["speedup"] = j["cycles"].get<double>() > 0.0 ? bc / j["cycles"].get<double>() : 0.0;
    } else {
        j["baseline_run"] = nullptr;
    }
    return j;
}

}  // namespace actsparse::trainer
