#include "trainer/penalty_plan.h"

#include <yaml-cpp/yaml.h>

#include <cmath>

#include "core/error.h"

namespace actsparse::trainer {

const char* to_string(Method m) {
    switch (m) {
        case Method::kBaseline:
            return "baseline";
        case Method::kSparsityTargeting:
            return "sparsity-targeting";
        case Method::kProposedHoyer:
            return "proposed-hoyer";
        case Method::kProposedHybrid:
            return "proposed-hybrid";
    }
    return "?";
}

std::vector<std::string> method_names() {
    return {"baseline", "sparsity-targeting", "proposed-hoyer", "proposed-hybrid"};
}

Method parse_method(const std::string& text, const std::string& where) {
    for (Method m : {Method::kBaseline, Method::kSparsityTargeting, Method::kProposedHoyer,
                     Method::kProposedHybrid})
        if (text == to_string(m)) return m;
    throw core::InputError(where, "unknown method '" + text +
                                      "' (baseline, sparsity-targeting, proposed-hoyer, "
                                      "proposed-hybrid)");
}

bool method_uses_l1(Method m) { return m == Method::kProposedHybrid; }
bool method_uses_hoyer(Method m) { return m != Method::kBaseline; }
bool method_needs_calibration(Method m) {
    return m == Method::kProposedHoyer || m == Method::kProposedHybrid;
}

std::map<std::string, LayerOverride> load_penalty_overrides(const std::string& path) {
    YAML::Node root;
    try {
        root = YAML::LoadFile(path);
    } catch (const YAML::BadFile&) {
        throw core::InputError(path, "cannot open file");
    } catch (const YAML::Exception& e) {
        throw core::InputError(path, std::string("not valid YAML/JSON: ") + e.what());
    }
    if (!root.IsMap()) throw core::InputError(path, "expected a mapping with key 'layers'");
    std::map<std::string, LayerOverride> out;
    for (const auto& top : root) {
        const std::string key = top.first.as<std::string>();
        if (key != "layers") throw core::InputError(path + ": " + key, "unknown key");
        if (!top.second.IsMap())
            throw core::InputError(path + ": layers", "expected a mapping of layer names");
        for (const auto& layer : top.second) {
            const std::string name = layer.first.as<std::string>();
            const std::string lw = path + ": layers." + name;
            if (!layer.second.IsMap())
                throw core::InputError(lw, "expected a mapping (lambda1, lambda2, weight)");
            LayerOverride o;
            for (const auto& kv : layer.second) {
                const std::string field = kv.first.as<std::string>();
                double v = 0.0;
                try {
                    v = kv.second.as<double>();
                } catch (const YAML::Exception&) {
                    throw core::InputError(lw + "." + field, "expected a number");
                }
                if (!std::isfinite(v) || v < 0.0)
                    throw core::InputError(lw + "." + field, "must be a finite number >= 0");
                if (field == "lambda1")
                    o.lambda1 = v;
                else if (field == "lambda2")
                    o.lambda2 = v;
                else if (field == "weight")
                    o.weight = v;
                else
                    throw core::InputError(lw + "." + field,
                                           "unknown key (lambda1, lambda2, weight)");
            }
            out[name] = o;
        }
    }
    return out;
}

std::vector<LayerPenalty> plan_penalty(const std::vector<core::ConvLayer>& layers,
                                       const Calibration* calib, const PenaltySettings& s,
                                       const std::map<std::string, LayerOverride>& overrides,
                                       const std::string& overrides_where) {
    if (!(s.alpha >= 0.0) || !(s.beta >= 0.0) || !(s.alpha + s.beta > 0.0))
        throw core::InputError("--alpha/--beta", "need alpha >= 0, beta >= 0, alpha + beta > 0");
    if (!(s.lambda1 >= 0.0) || !(s.lambda2 >= 0.0))
        throw core::InputError("--lambda1/--lambda2", "must be >= 0");
    std::vector<LayerPenalty> plan;
    if (s.method == Method::kBaseline) {
        if (!overrides.empty())
            throw core::InputError(overrides_where, "the baseline method has no penalty");
        return plan;
    }
    const bool weighted = method_needs_calibration(s.method);
    if (weighted && calib == nullptr)
        throw core::InputError("--calibration",
                               std::string("method ") + to_string(s.method) + " needs one");
    if (calib != nullptr && calib->layers.size() != layers.size())
        core::model_bug("trainer::plan_penalty", "calibration not checked against the network");

    for (const auto& l : layers) {
        if (!l.input_sparse) continue;
        LayerPenalty p;
        p.conv_index = l.index;
        p.name = l.name;
        if (calib != nullptr) {
            p.e_l = calib->layers[l.index].e_l;
            p.c_l = calib->layers[l.index].c_l;
        }
        p.lambda1 = method_uses_l1(s.method) ? s.lambda1 : 0.0;
        p.lambda2 = s.lambda2;
        plan.push_back(p);
    }
    if (plan.empty())
        throw core::InputError("--method", "the network has no conv layer with a sparse input");

    if (weighted) {
        double mean_e = 0.0, mean_c = 0.0;
        for (const auto& p : plan) {
            mean_e += p.e_l;
            mean_c += p.c_l;
        }
        mean_e /= plan.size();
        mean_c /= plan.size();
        if (s.alpha > 0.0 && !(mean_e > 0.0))
            throw core::InputError(calib->path + ".layers",
                                   "e_l is 0 for every penalised layer (use --alpha 0)");
        if (s.beta > 0.0 && !(mean_c > 0.0))
            throw core::InputError(calib->path + ".layers",
                                   "c_l is 0 for every penalised layer (use --beta 0)");
        for (auto& p : plan) {
            const double e = s.alpha > 0.0 ? s.alpha * p.e_l / mean_e : 0.0;
            const double c = s.beta > 0.0 ? s.beta * p.c_l / mean_c : 0.0;
            p.weight = (e + c) / (s.alpha + s.beta);
        }
    }

    for (const auto& [name, o] : overrides) {
        const std::string where = overrides_where + ": layers." + name;
        LayerPenalty* target = nullptr;
        for (auto& p : plan)
            if (p.name == name) target = &p;
        if (target == nullptr) {
            bool is_conv = false;
            for (const auto& l : layers) is_conv = is_conv || l.name == name;
            throw core::InputError(where, is_conv ? "this conv layer's input cannot be sparse"
                                                  : "no conv layer of this name");
        }
        if (o.lambda1) {
            if (!method_uses_l1(s.method))
                throw core::InputError(
                    where + ".lambda1",
                    std::string("method ") + to_string(s.method) + " has no L1 term");
            target->lambda1 = *o.lambda1;
        }
        if (o.lambda2) target->lambda2 = *o.lambda2;
        if (o.weight) target->weight = *o.weight;
    }
    return plan;
}

}  // namespace actsparse::trainer
