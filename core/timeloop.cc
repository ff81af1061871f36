#include "core/timeloop.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <map>
#include <set>

#include "core/error.h"

namespace actsparse::core {
namespace {

namespace fs = std::filesystem;

std::string lower(std::string s) {
    for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

int64_t read_int(const YAML::Node& n, const std::string& where) {
    try {
        if (n.IsScalar()) return n.as<int64_t>();
    } catch (const YAML::Exception&) {
    }
    throw InputError(where, "expected an integer, got '" +
                                (n.IsScalar() ? n.Scalar() : std::string("a non-scalar")) + "'");
}

// The instance keys, in the order the unknown-key message lists them.
const std::vector<std::string>& instance_keys() {
    static const std::vector<std::string> keys = {
        "N",       "C",       "M",         "R",         "S", "P", "Q",    "G",
        "Hstride", "Wstride", "Hdilation", "Wdilation", "H", "W", "Hpad", "Wpad"};
    return keys;
}

// `shape` (a built-in name or a map): the dimensions it declares, empty when it does not
// list them; coefficient defaults go into `defaults`.
std::vector<std::string> read_problem_shape(const YAML::Node& shape, const std::string& where,
                                            std::map<std::string, int64_t>& defaults) {
    std::vector<std::string> dims;
    if (shape.IsScalar()) {
        const std::string n = lower(shape.Scalar());
        if (n != "cnn-layer" && n != "cnn_layer")
            throw InputError(where, "unsupported built-in shape '" + shape.Scalar() +
                                        "' (a convolution: cnn-layer)");
        return dims;
    }
    if (!shape.IsMap()) throw InputError(where, "expected a map or a built-in shape name");
    if (const YAML::Node d = shape["dimensions"]) {
        if (!d.IsSequence()) throw InputError(where + ".dimensions", "expected a list");
        static const std::set<std::string> known = {"N", "C", "M", "R", "S", "P", "Q", "G"};
        for (const auto& x : d) {
            const std::string name = x.IsScalar() ? x.Scalar() : "?";
            if (!known.count(name))
                throw InputError(where + ".dimensions",
                                 "'" + name +
                                     "' is not a convolution dimension (N C M R S P Q G): "
                                     "only convolution problems are supported");
            dims.push_back(name);
        }
    }
    if (const YAML::Node c = shape["coefficients"]) {
        if (!c.IsSequence()) throw InputError(where + ".coefficients", "expected a list");
        for (const auto& x : c) {
            if (!x.IsMap() || !x["name"] || !x["name"].IsScalar())
                throw InputError(where + ".coefficients", "expected {name, default} entries");
            const std::string name = x["name"].Scalar();
            if (x["default"])
                defaults[name] =
                    read_int(x["default"], where + ".coefficients." + name + ".default");
        }
    }
    return dims;
}

// Natural order: runs of digits compare as numbers.
bool natural_less(const std::string& a, const std::string& b) {
    size_t i = 0, j = 0;
    while (i < a.size() && j < b.size()) {
        const bool da = std::isdigit(static_cast<unsigned char>(a[i]));
        const bool db = std::isdigit(static_cast<unsigned char>(b[j]));
        if (da && db) {
            size_t ie = i, je = j;
            while (ie < a.size() && std::isdigit(static_cast<unsigned char>(a[ie]))) ++ie;
            while (je < b.size() && std::isdigit(static_cast<unsigned char>(b[je]))) ++je;
            std::string na = a.substr(i, ie - i), nb = b.substr(j, je - j);
            na.erase(0, std::min(na.find_first_not_of('0'), na.size()));
            nb.erase(0, std::min(nb.find_first_not_of('0'), nb.size()));
            if (na.size() != nb.size()) return na.size() < nb.size();
            if (na != nb) return na < nb;
            i = ie;
            j = je;
            continue;
        }
        if (a[i] != b[j]) return a[i] < b[j];
        ++i;
        ++j;
    }
    if ((a.size() - i) != (b.size() - j)) return a.size() - i < b.size() - j;
    return a < b;
}

}  // namespace

bool is_timeloop_problem_path(const std::string& text) {
    const std::string l = lower(text);
    auto ends = [&](const std::string& suffix) {
        return l.size() > suffix.size() &&
               l.compare(l.size() - suffix.size(), suffix.size(), suffix) == 0;
    };
    return ends(".yaml") || ends(".yml");
}

LayerShape read_timeloop_problem(const std::string& path) {
    YAML::Node root;
    try {
        root = YAML::Load(read_file(path));
    } catch (const YAML::ParserException& e) {
        throw InputError(path,
                         "invalid YAML at line " + std::to_string(e.mark.line + 1) + ": " + e.msg);
    } catch (const YAML::Exception& e) {
        throw InputError(path, std::string("invalid YAML: ") + e.what());
    }
    // Timeloop merges all its input files, so a problem file may carry other top-level
    // sections (architecture, mapper, ...): only `problem` is ours.
    if (!root.IsMap() || !root["problem"])
        throw InputError(path + ": problem", "missing (not a Timeloop problem file)");
    const YAML::Node problem = root["problem"];
    if (!problem.IsMap()) throw InputError(path + ": problem", "expected a map");
    const std::string pw = path + ": problem";
    std::string version = "0.3";
    if (const YAML::Node v = problem["version"]) {
        version = v.IsScalar() ? v.Scalar() : "?";
        if (version != "0.3" && version != "0.4")
            throw InputError(pw + ".version", "unsupported version '" + version +
                                                  "' (Timeloop problem versions 0.3 and 0.4)");
    }
    std::map<std::string, int64_t> defaults;
    std::vector<std::string> dims;
    if (const YAML::Node shape = problem["shape"])
        dims = read_problem_shape(shape, pw + ".shape", defaults);
    // Version 0.3 also allowed the instance keys directly under `problem` (with `shape:
    // cnn-layer`); 0.4 has them in `instance`.
    const bool flat = !problem["instance"];
    if (flat && version == "0.4") throw InputError(pw + ".instance", "missing");
    const YAML::Node inst = flat ? problem : problem["instance"];
    const std::string iw = flat ? pw : pw + ".instance";
    if (!inst.IsMap()) throw InputError(iw, "expected a map");
    std::map<std::string, int64_t> v;
    for (const auto& kv : inst) {
        const std::string key = kv.first.IsScalar() ? kv.first.Scalar() : "?";
        if (iw == pw && (key == "shape" || key == "version")) continue;
        const auto& keys = instance_keys();
        if (std::find(keys.begin(), keys.end(), key) == keys.end()) {
            std::string list;
            for (const auto& k : keys) list += (list.empty() ? "" : " ") + k;
            throw InputError(iw + "." + key, "unknown key (keys: " + list + ")");
        }
        v[key] = read_int(kv.second, iw + "." + key);
    }
    const bool dims_listed = !dims.empty();
    auto declared = [&](const char* d) {
        return !dims_listed || std::find(dims.begin(), dims.end(), d) != dims.end();
    };
    for (const auto& [key, value] : v)
        if (key.size() == 1 && key != "H" && key != "W" && !declared(key.c_str()))
            throw InputError(iw + "." + key,
                             "not a dimension of problem.shape.dimensions of this file");
    auto get = [&](const std::string& key, int64_t fallback) {
        if (auto it = v.find(key); it != v.end()) return it->second;
        if (auto it = defaults.find(key); it != defaults.end()) return it->second;
        return fallback;
    };
    for (const char* d : {"Hdilation", "Wdilation"})
        if (get(d, 1) != 1)
            throw InputError(iw + "." + d, "dilation " + std::to_string(get(d, 1)) +
                                               " is not supported (the model has no dilated "
                                               "convolutions)");
    // A depthwise problem (pytorch2timeloop's) lists C but no M: one filter per channel.
    const bool depthwise = dims_listed && !declared("M") && declared("C");
    std::vector<std::string> required = {"C", "P", "Q", "R", "S"};
    if (!depthwise) required.push_back("M");
    for (const auto& key : required)
        if (!v.count(key)) throw InputError(iw + "." + key, "missing required key");
    LayerShape s;
    // Timeloop's G is a dimension of its own: C and M count channels per group, and the
    // MACs are the product of all dimensions.
    const int64_t g = get("G", 1);
    if (g < 1) throw InputError(iw + ".G", "must be >= 1, got " + std::to_string(g));
    s.N = get("N", 1);
    s.C = v.at("C") * g;
    s.M = depthwise ? s.C : v.at("M") * g;
    s.G = depthwise ? s.C : g;
    s.R = v.at("R");
    s.S = v.at("S");
    s.P = v.at("P");
    s.Q = v.at("Q");
    s.H = get("H", 0);
    s.W = get("W", 0);
    s.Hstride = get("Hstride", 1);
    s.Wstride = get("Wstride", 1);
    s.Hpad = get("Hpad", 0);
    s.Wpad = get("Wpad", 0);
    if (s.H < 0 || s.W < 0) throw InputError(iw + (s.H < 0 ? ".H" : ".W"), "must be >= 1");
    s.finalize(iw);
    return s;
}

std::vector<std::string> timeloop_problem_files(const std::string& dir) {
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) throw InputError(dir, "not a folder");
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(dir, ec)) {
        const std::string name = e.path().filename().string();
        if (e.is_regular_file(ec) && is_timeloop_problem_path(name)) names.push_back(name);
    }
    if (ec) throw InputError(dir, "cannot read the folder: " + ec.message());
    if (names.empty()) throw InputError(dir, "no Timeloop problem files (*.yaml, *.yml)");
    std::sort(names.begin(), names.end(), natural_less);
    std::vector<std::string> paths;
    for (const auto& n : names) paths.push_back((fs::path(dir) / n).string());
    return paths;
}

Network timeloop_network(const std::string& dir) {
    std::vector<std::pair<std::string, LayerShape>> layers;
    for (const std::string& path : timeloop_problem_files(dir))
        layers.emplace_back(fs::path(path).stem().string(), read_timeloop_problem(path));
    fs::path p = fs::path(dir);
    if (p.filename().empty()) p = p.parent_path();
    return layer_list_network(p.filename().string(), layers);
}

}  // namespace actsparse::core
