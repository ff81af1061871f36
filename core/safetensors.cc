#include "core/safetensors.h"

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <set>

#include "core/error.h"

namespace actsparse::core {
namespace {

// The reference implementation refuses headers above 100 MB; so do we, before parsing.
constexpr uint64_t kMaxHeaderBytes = 100'000'000;
constexpr int kMaxDepth = 8;
constexpr int64_t kMaxValues = 1'000'000;

struct DtypeSize {
    const char* name;
    int64_t bytes;
};
constexpr DtypeSize kDtypes[] = {
    {"BOOL", 1}, {"U8", 1},  {"I8", 1},  {"F8_E5M2", 1}, {"F8_E4M3", 1},
    {"I16", 2},  {"U16", 2}, {"F16", 2}, {"BF16", 2},    {"I32", 4},
    {"U32", 4},  {"F32", 4}, {"I64", 8}, {"U64", 8},     {"F64", 8},
};

std::string printable(std::string_view s, size_t max_len = 64) {
    std::string out;
    for (unsigned char c : s.substr(0, max_len)) {
        if (c < 0x20 || c >= 0x7f) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\x%02x", c);
            out += buf;
        } else {
            out += static_cast<char>(c);
        }
    }
    if (s.size() > max_len) out += "...";
    return out;
}

// A JSON number that is a non-negative integer fitting int64 (no floats, no negatives).
int64_t json_index(const nlohmann::json& v, const std::string& where) {
    if (v.is_number_unsigned()) {
        const uint64_t u = v.get<uint64_t>();
        if (u > static_cast<uint64_t>(INT64_MAX)) throw InputError(where, "value too large");
        return static_cast<int64_t>(u);
    }
    if (v.is_number_integer()) {
        const int64_t i = v.get<int64_t>();
        if (i < 0) throw InputError(where, "must be >= 0, got " + std::to_string(i));
        return i;
    }
    throw InputError(where, std::string("expected a non-negative integer, got ") + v.type_name());
}

}  // namespace

int64_t safetensors_dtype_bytes(const std::string& dtype) {
    for (const auto& d : kDtypes)
        if (dtype == d.name) return d.bytes;
    return 0;
}

int64_t SafetensorsEntry::elements() const {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;  // checked at parse time
    return n;
}

const SafetensorsEntry* SafetensorsHeader::find(const std::string& name) const {
    for (const auto& t : tensors)
        if (t.name == name) return &t;
    return nullptr;
}

SafetensorsHeader parse_safetensors(std::string_view blob, const std::string& where) {
    if (blob.size() < 8)
        throw InputError(
            where + ": header length",
            "truncated: file has " + std::to_string(blob.size()) + " bytes, needs at least 8");
    uint64_t n = 0;
    for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<unsigned char>(blob[i]);
    const uint64_t after = blob.size() - 8;
    if (n > after)
        throw InputError(
            where + ": header length",
            "says " + std::to_string(n) + " bytes but only " + std::to_string(after) + " follow");
    if (n > kMaxHeaderBytes)
        throw InputError(where + ": header length",
                         std::to_string(n) + " bytes exceeds the 100 MB limit");
    if (n < 2 || blob[8] != '{')
        throw InputError(where + ": header", "does not start with a JSON object");

    SafetensorsHeader h;
    h.header_bytes = static_cast<int64_t>(n);
    h.buffer_offset = 8 + h.header_bytes;
    const int64_t buffer_size = static_cast<int64_t>(after - n);

    nlohmann::json j;
    try {
        // Bound nesting and value count so a hostile header cannot make the parser build a
        // tree many times the file's size.
        int64_t values = 0;
        auto guard = [&](int depth, nlohmann::json::parse_event_t, nlohmann::json&) {
            if (depth > kMaxDepth || ++values > kMaxValues)
                throw InputError(where + ": header", "JSON nested too deep or too many values");
            return true;
        };
        j = nlohmann::json::parse(blob.substr(8, n), guard);
    } catch (const nlohmann::json::exception& e) {
        throw InputError(where + ": header",
                         std::string("invalid JSON: ") + printable(e.what(), 200));
    }
    if (!j.is_object()) throw InputError(where + ": header", "is not a JSON object");

    for (auto it = j.begin(); it != j.end(); ++it) {
        const std::string& name = it.key();
        const std::string field = where + ": " + printable(name);
        const nlohmann::json& v = it.value();
        if (name == "__metadata__") {
            if (!v.is_object()) throw InputError(field, "must be an object of strings");
            for (auto m = v.begin(); m != v.end(); ++m) {
                if (!m.value().is_string())
                    throw InputError(field + "." + printable(m.key()),
                                     std::string("metadata values must be strings, got ") +
                                         m.value().type_name());
                h.metadata[m.key()] = m.value().get<std::string>();
            }
            continue;
        }
        if (!v.is_object()) throw InputError(field, "tensor entry must be an object");
        for (auto m = v.begin(); m != v.end(); ++m)
            if (m.key() != "dtype" && m.key() != "shape" && m.key() != "data_offsets")
                throw InputError(field + "." + printable(m.key()), "unknown tensor field");
        SafetensorsEntry e;
        e.name = name;
        if (!v.contains("dtype") || !v["dtype"].is_string())
            throw InputError(field + ".dtype", "missing or not a string");
        e.dtype = v["dtype"].get<std::string>();
        const int64_t elem_bytes = safetensors_dtype_bytes(e.dtype);
        if (elem_bytes == 0)
            throw InputError(field + ".dtype", "unknown dtype '" + printable(e.dtype) + "'");
        if (!v.contains("shape") || !v["shape"].is_array())
            throw InputError(field + ".shape", "missing or not a list");
        // A 0-dim shape is a scalar: one element.
        int64_t bytes = elem_bytes;
        for (const auto& d : v["shape"]) {
            const int64_t dim = json_index(d, field + ".shape");
            e.shape.push_back(dim);
            if (dim != 0 && bytes > INT64_MAX / dim)
                throw InputError(field + ".shape", "byte size overflows int64");
            bytes *= dim;
        }
        if (!v.contains("data_offsets") || !v["data_offsets"].is_array() ||
            v["data_offsets"].size() != 2)
            throw InputError(field + ".data_offsets", "must be a list [begin, end]");
        e.begin = json_index(v["data_offsets"][0], field + ".data_offsets");
        e.end = json_index(v["data_offsets"][1], field + ".data_offsets");
        if (e.begin > e.end)
            throw InputError(field + ".data_offsets", "begin " + std::to_string(e.begin) +
                                                          " is after end " + std::to_string(e.end));
        if (e.end - e.begin != bytes)
            throw InputError(field + ".data_offsets", "span of " + std::to_string(e.end - e.begin) +
                                                          " bytes disagrees with dtype " + e.dtype +
                                                          " and shape (" + std::to_string(bytes) +
                                                          " bytes)");
        if (e.end > buffer_size)
            throw InputError(field + ".data_offsets",
                             "truncated: tensor ends at byte " + std::to_string(e.end) + " of a " +
                                 std::to_string(buffer_size) + "-byte buffer");
        h.tensors.push_back(std::move(e));
    }

    std::sort(h.tensors.begin(), h.tensors.end(), [](const auto& a, const auto& b) {
        if (a.begin != b.begin) return a.begin < b.begin;
        return a.end != b.end ? a.end < b.end : a.name < b.name;
    });
    int64_t expected = 0;
    for (const auto& t : h.tensors) {
        if (t.begin != expected)
            throw InputError(where + ": " + printable(t.name) + ".data_offsets",
                             t.begin < expected ? "overlaps the previous tensor"
                                                : "leaves a gap before this tensor");
        expected = t.end;
    }
    if (expected != buffer_size)
        throw InputError(where + ": data", std::to_string(buffer_size - expected) +
                                               " trailing bytes after the last tensor");
    return h;
}

std::string encode_safetensors(const std::map<std::string, std::string>& metadata,
                               const std::vector<SafetensorsTensor>& tensors) {
    nlohmann::json header = nlohmann::json::object();
    nlohmann::json meta = nlohmann::json::object();
    for (const auto& [k, v] : metadata) meta[k] = v;
    header["__metadata__"] = meta;
    std::set<std::string> names;
    int64_t offset = 0;
    for (const auto& t : tensors) {
        const std::string where = "safetensors: " + t.name;
        if (t.name == "__metadata__" || !names.insert(t.name).second)
            throw InputError(where, "duplicate or reserved tensor name");
        const int64_t elem_bytes = safetensors_dtype_bytes(t.dtype);
        if (elem_bytes == 0) throw InputError(where, "unknown dtype '" + t.dtype + "'");
        int64_t n = 1;
        for (int64_t d : t.shape) {
            if (d < 0) throw InputError(where, "negative dimension");
            n *= d;
        }
        if (n * elem_bytes != static_cast<int64_t>(t.data.size()))
            throw InputError(where, "data has " + std::to_string(t.data.size()) +
                                        " bytes, dtype and shape need " +
                                        std::to_string(n * elem_bytes));
        header[t.name] = {{"dtype", t.dtype},
                          {"shape", t.shape},
                          {"data_offsets", {offset, offset + static_cast<int64_t>(t.data.size())}}};
        offset += static_cast<int64_t>(t.data.size());
    }
    std::string text;
    try {
        text = header.dump();
    } catch (const nlohmann::json::exception& e) {
        throw InputError("safetensors: __metadata__", std::string("not valid UTF-8: ") + e.what());
    }
    // Spaces after the JSON keep the data buffer 8-byte aligned (the format allows them).
    text.append((8 - text.size() % 8) % 8, ' ');
    std::string out;
    out.reserve(8 + text.size() + static_cast<size_t>(offset));
    uint64_t n = text.size();
    for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((n >> (8 * i)) & 0xff));
    out += text;
    for (const auto& t : tensors) out += t.data;
    return out;
}

}  // namespace actsparse::core
