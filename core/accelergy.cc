#include "core/accelergy.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <iostream>
#include <map>

#include "core/error.h"

namespace actsparse::core {
namespace {

std::string lower(std::string s) {
    for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

bool has(const std::string& s, const char* part) { return s.find(part) != std::string::npos; }

// What a component is, from its name's last dotted part without the `[1..168]` instance
// range: "system_top_level.psum_spad[1..168]" -> "psum_spad".
enum class Role { kNone, kIfmapSpad, kFilterSpad, kPsumSpad, kGlb, kDram, kNoc, kArrayLink, kMac };

const char* role_name(Role r) {
    switch (r) {
        case Role::kIfmapSpad:
            return "ifmap scratchpad";
        case Role::kFilterSpad:
            return "filter scratchpad";
        case Role::kPsumSpad:
            return "psum scratchpad";
        case Role::kGlb:
            return "global buffer";
        case Role::kDram:
            return "DRAM";
        case Role::kNoc:
            return "NoC";
        case Role::kArrayLink:
            return "array link";
        case Role::kMac:
            return "MAC";
        case Role::kNone:
            break;
    }
    return "none";
}

std::string base_name(const std::string& full) {
    std::string s;
    int depth = 0;  // drop every `[..]` instance range
    for (char c : full) {
        if (c == '[') ++depth;
        if (depth == 0) s += c;
        if (c == ']' && depth > 0) --depth;
    }
    if (const auto d = s.rfind('.'); d != std::string::npos) s = s.substr(d + 1);
    return lower(s);
}

Role role_of(const std::string& full) {
    const std::string n = base_name(full);
    const bool spad = has(n, "spad") || has(n, "scratchpad") || n == "rf" || has(n, "_rf") ||
                      has(n, "rf_") || has(n, "reg");
    if (spad) {
        if (has(n, "ifmap") || has(n, "input") || has(n, "iact")) return Role::kIfmapSpad;
        if (has(n, "weight") || has(n, "filter")) return Role::kFilterSpad;
        if (has(n, "psum") || has(n, "output") || has(n, "ofmap")) return Role::kPsumSpad;
        return Role::kNone;
    }
    if (has(n, "glb") || has(n, "global_buffer") || has(n, "globalbuffer")) return Role::kGlb;
    if (has(n, "dram") || has(n, "main_memory") || has(n, "mainmemory")) return Role::kDram;
    if (has(n, "link")) return Role::kArrayLink;
    if (has(n, "noc")) return Role::kNoc;
    if (has(n, "mac")) return Role::kMac;
    return Role::kNone;
}

// Each counter: the role whose action prices it and the action names tried in order
// (Accelergy 0.4 names first, then 0.3's).
struct Rule {
    const char* counter;
    Role role;
    std::vector<std::string> actions;
};

const std::vector<Rule>& rules() {
    static const std::vector<Rule> r = {
        {"mac_pj", Role::kMac, {"compute", "mac_random"}},
        {"mac_gated_pj", Role::kMac, {"gated_compute", "mac_gated"}},
        {"ifmap_spad_read_pj", Role::kIfmapSpad, {"read"}},
        {"ifmap_spad_write_pj", Role::kIfmapSpad, {"write"}},
        {"filter_spad_read_pj", Role::kFilterSpad, {"read"}},
        {"filter_spad_write_pj", Role::kFilterSpad, {"write"}},
        {"psum_spad_read_pj", Role::kPsumSpad, {"read"}},
        {"psum_spad_write_pj", Role::kPsumSpad, {"write", "update"}},
        {"noc_word_pj", Role::kNoc, {"transfer", "transfer_random"}},
        {"array_link_word_pj", Role::kArrayLink, {"transfer", "transfer_random"}},
        {"glb_read_pj", Role::kGlb, {"read"}},
        {"glb_write_pj", Role::kGlb, {"write", "update"}},
        {"dram_read_pj", Role::kDram, {"read"}},
        {"dram_write_pj", Role::kDram, {"write", "update"}},
    };
    return r;
}

double* counter(EnergyTable& e, const std::string& name) {
#define ACTSPARSE_ERT_COUNTER(field) \
    if (name == #field) return &e.field;
    ACTSPARSE_ENERGY_FIELDS(ACTSPARSE_ERT_COUNTER)
#undef ACTSPARSE_ERT_COUNTER
    model_bug("accelergy", "no energy counter " + name);
}

struct Component {
    std::string name;
    std::string where;
    std::map<std::string, double> actions;  // the largest energy among an action's variants
};

double read_energy(const YAML::Node& n, const std::string& where) {
    double v = 0;
    try {
        if (!n.IsScalar()) throw YAML::Exception(YAML::Mark(), "");
        v = n.as<double>();
    } catch (const YAML::Exception&) {
        throw InputError(where, "expected an energy in pJ");
    }
    if (!std::isfinite(v) || v < 0) throw InputError(where, "must be a finite energy >= 0 pJ");
    return v;
}

}  // namespace

ErtEnergy read_accelergy_ert(const std::string& path, const EnergyTable& base) {
    YAML::Node root;
    try {
        root = YAML::Load(read_file(path));
    } catch (const YAML::ParserException& e) {
        throw InputError(path,
                         "invalid YAML at line " + std::to_string(e.mark.line + 1) + ": " + e.msg);
    } catch (const YAML::Exception& e) {
        throw InputError(path, std::string("invalid YAML: ") + e.what());
    }
    std::string top, list_key;
    if (root.IsMap() && root["ERT"]) {
        top = "ERT";
        list_key = "tables";
    } else if (root.IsMap() && root["ERT_summary"]) {
        top = "ERT_summary";
        list_key = "table_summary";
    } else {
        throw InputError(path + ": ERT", "missing (not an Accelergy ERT or ERT_summary)");
    }
    const YAML::Node ert = root[top];
    if (!ert.IsMap()) throw InputError(path + ": " + top, "expected a map");
    if (const YAML::Node v = ert["version"]) {
        const std::string version = v.IsScalar() ? v.Scalar() : "?";
        if (version != "0.3" && version != "0.4")
            throw InputError(path + ": " + top + ".version",
                             "unsupported version '" + version + "' (Accelergy 0.3 and 0.4)");
    }
    const YAML::Node tables = ert[list_key];
    const std::string tw = path + ": " + top + "." + list_key;
    if (!tables || !tables.IsSequence()) throw InputError(tw, "missing or not a list");
    std::vector<Component> comps;
    for (size_t i = 0; i < tables.size(); ++i) {
        const YAML::Node t = tables[i];
        const std::string w = tw + "[" + std::to_string(i) + "]";
        if (!t.IsMap() || !t["name"] || !t["name"].IsScalar())
            throw InputError(w + ".name", "missing");
        Component c;
        c.name = t["name"].Scalar();
        c.where = w;
        const YAML::Node acts = t["actions"];
        if (!acts || !acts.IsSequence()) throw InputError(w + ".actions", "missing or not a list");
        for (size_t k = 0; k < acts.size(); ++k) {
            const YAML::Node a = acts[k];
            const std::string aw = w + ".actions[" + std::to_string(k) + "]";
            if (!a.IsMap() || !a["name"] || !a["name"].IsScalar())
                throw InputError(aw + ".name", "missing");
            // A summary of 0.3 gives min/average/max over the arguments: take the max, as
            // for several argument variants of one action in a full ERT (random data).
            const YAML::Node e = a["energy"] ? a["energy"] : a["max_energy"];
            if (!e) throw InputError(aw + ".energy", "missing");
            const double v = read_energy(e, aw + ".energy");
            double& slot = c.actions[lower(a["name"].Scalar())];
            slot = std::max(slot, v);
        }
        comps.push_back(std::move(c));
    }

    ErtEnergy out;
    out.energy = base;
    std::map<Role, const Component*> by_role;
    for (const Component& c : comps) {
        const Role r = role_of(c.name);
        if (r == Role::kNone) {
            out.unused.push_back(c.name);
            continue;
        }
        if (by_role.count(r))
            throw InputError(c.where + ".name", "'" + c.name + "' and '" + by_role[r]->name +
                                                    "' both look like the " + role_name(r) +
                                                    " (docs/formats.md, Accelergy ERT)");
        by_role[r] = &c;
    }
    for (const Rule& rule : rules()) {
        const auto it = by_role.find(rule.role);
        bool found = false;
        if (it != by_role.end())
            for (const std::string& action : rule.actions)
                if (auto a = it->second->actions.find(action); a != it->second->actions.end()) {
                    *counter(out.energy, rule.counter) = a->second;
                    out.mapped.push_back(std::string(rule.counter) + " <- " + it->second->name +
                                         "." + action);
                    found = true;
                    break;
                }
        if (!found) out.missing.push_back(rule.counter);
    }
    if (out.mapped.empty())
        throw InputError(path + ": " + top,
                         "no component maps onto our energy counters (docs/formats.md, "
                         "Accelergy ERT)");
    return out;
}

std::string ert_warning(const std::string& path, const ErtEnergy& e, const std::string& kept) {
    if (e.missing.empty()) return "";
    std::string list;
    for (const auto& m : e.missing) list += (list.empty() ? "" : ", ") + m;
    return path + ": no Accelergy action for " + list + " (kept: " + kept + ")";
}

void apply_accelergy_ert(ArchConfig& a, const std::string& path, const std::string& where) {
    if (a.type != ArrayType::kEyerissV1)
        throw InputError(where, "an Accelergy ERT maps onto eyeriss-v1's energy counters; " +
                                    a.name + " is " + to_string(a.type));
    const ErtEnergy e = read_accelergy_ert(path, a.energy);
    a.energy = e.energy;
    a.validate(where);
    const std::string w = ert_warning(path, e, "the values of " + a.name);
    if (!w.empty()) std::cerr << "actsparse: warning: " << w << std::endl;
}

}  // namespace actsparse::core
