#include "core/onnx.h"

#include <onnx/onnx_pb.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <utility>
#include <vector>

#include "core/error.h"

namespace actsparse::core {
namespace {

std::string join(const std::vector<int64_t>& v) {
    std::string out = "[";
    for (size_t i = 0; i < v.size(); ++i) out += (i ? ", " : "") + std::to_string(v[i]);
    return out + "]";
}

bool valid_utf8(const std::string& s) {
    for (size_t i = 0; i < s.size();) {
        const auto c = static_cast<unsigned char>(s[i]);
        const size_t len = c < 0x80         ? 1
                           : (c >> 5) == 6  ? 2
                           : (c >> 4) == 14 ? 3
                           : (c >> 3) == 30 ? 4
                                            : 0;
        if (len == 0 || i + len > s.size()) return false;
        for (size_t k = 1; k < len; ++k)
            if ((static_cast<unsigned char>(s[i + k]) >> 6) != 2) return false;
        i += len;
    }
    return true;
}

/// Control characters (a newline in a node name) become '?', so an error stays one line, and
/// so do all non-ASCII bytes of a name that is not valid UTF-8 (names go into JSON reports).
std::string printable(std::string s) {
    const bool utf8 = valid_utf8(s);
    for (char& c : s) {
        const auto u = static_cast<unsigned char>(c);
        if (u < 0x20 || u == 0x7f || (u >= 0x80 && !utf8)) c = '?';
    }
    return s;
}

std::string number(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g", v);
    return buf;
}

/// An activation: the op of the graph that produces it, whether a Flatten/Reshape made it
/// [N, features], and a zero Pad not yet absorbed by the Conv or AveragePool that reads it.
struct Value {
    int op = -1;
    bool flat = false;
    int64_t pad_h = 0;
    int64_t pad_w = 0;
};

/// A weight or constant: its dims, and its data where the model has them (an initializer or
/// a Constant node; a graph input of a model exported without parameters has none).
struct Param {
    std::vector<int64_t> dims;
    const onnx::TensorProto* data = nullptr;
    /// In floating point: a corrupt file's dims cannot overflow it.
    double numel() const {
        double n = 1;
        for (int64_t d : dims) n *= static_cast<double>(d);
        return n;
    }
};

class Reader {
  public:
    Reader(const onnx::ModelProto& model, std::string where, std::string name)
        : model_(model), g_(model.graph()), where_(std::move(where)) {
        net_.name = std::move(name);
    }

    Network run() {
        if (!model_.has_graph() || g_.node_size() == 0)
            throw InputError(where_, "not an ONNX model (no graph nodes)");
        for (const auto& op : model_.opset_import())
            if (op.domain().empty() || op.domain() == "ai.onnx") opset_ = op.version();
        for (const auto& t : g_.initializer()) {
            Param p;
            p.dims.assign(t.dims().begin(), t.dims().end());
            p.data = &t;
            params_[t.name()] = p;
        }
        // The image is the first graph input that is not an initializer (exporters put it
        // first); the others are weights of a model exported without parameters.
        for (const auto& in : g_.input()) {
            if (params_.count(in.name())) continue;
            if (image_name_.empty()) image_name_ = in.name();
            graph_inputs_[in.name()] = &in;
        }
        for (int i = 0; i < g_.node_size(); ++i) node(g_.node(i), i);
        if (g_.output_size() < 1) throw InputError(where_, "the graph has no output");
        const auto out = values_.find(g_.output(0).name());
        if (out == values_.end())
            throw InputError(where_, "graph output '" + printable(g_.output(0).name()) +
                                         "' is not computed from the image input");
        if (net_.conv_layers().empty())
            throw InputError(where_, "no Conv, Gemm or MatMul nodes (no layer to simulate)");
        net_.num_classes = net_.ops[static_cast<size_t>(out->second.op)].numel();
        return std::move(net_);
    }

  private:
    [[noreturn]] void fail(const onnx::NodeProto& n, const std::string& reason) const {
        throw InputError(
            where_ + ": node '" + printable(n.name()) + "' (op " + printable(n.op_type()) + ")",
            printable(reason));
    }

    const onnx::AttributeProto* attr(const onnx::NodeProto& n, const std::string& name) const {
        for (const auto& a : n.attribute())
            if (a.name() == name) return &a;
        return nullptr;
    }
    int64_t attr_int(const onnx::NodeProto& n, const std::string& name, int64_t def) const {
        const auto* a = attr(n, name);
        if (!a) return def;
        if (a->type() != onnx::AttributeProto::INT) fail(n, "attribute " + name + ": not an int");
        return bounded(n, "attribute " + name, a->i());
    }
    std::vector<int64_t> attr_ints(const onnx::NodeProto& n, const std::string& name,
                                   std::vector<int64_t> def) const {
        const auto* a = attr(n, name);
        if (!a) return def;
        if (a->type() != onnx::AttributeProto::INTS)
            fail(n, "attribute " + name + ": not a list of ints");
        std::vector<int64_t> v;
        for (int64_t x : a->ints()) v.push_back(bounded(n, "attribute " + name, x));
        return v;
    }
    std::string attr_string(const onnx::NodeProto& n, const std::string& name,
                            const std::string& def) const {
        const auto* a = attr(n, name);
        if (!a) return def;
        if (a->type() != onnx::AttributeProto::STRING)
            fail(n, "attribute " + name + ": not a string");
        return a->s();
    }
    std::optional<double> attr_float(const onnx::NodeProto& n, const std::string& name) const {
        const auto* a = attr(n, name);
        if (!a) return std::nullopt;
        if (a->type() != onnx::AttributeProto::FLOAT)
            fail(n, "attribute " + name + ": not a float");
        return a->f();
    }

    /// Sizes, strides, pads and axes beyond 2^31 in magnitude are refused, so the shape
    /// arithmetic below cannot overflow (finalize() then checks the layer's counts).
    int64_t bounded(const onnx::NodeProto& n, const std::string& what, double v) const {
        if (!(std::fabs(v) <= kMaxSize))
            fail(n, what + ": " + number(v) + " is out of range (|value| <= 2^31)");
        return static_cast<int64_t>(v);
    }
    static constexpr double kMaxSize = 2147483648.0;

    bool has_input(const onnx::NodeProto& n, int i) const {
        return i < n.input_size() && !n.input(i).empty();
    }

    /// The activation input i of n. The image (the one graph input used as data) becomes
    /// ops[0] the first time a node reads it. A pending zero Pad is an error unless the
    /// caller absorbs it.
    Value value(const onnx::NodeProto& n, int i, bool absorbs_pad = false) {
        if (!has_input(n, i)) fail(n, "input " + std::to_string(i) + " is missing");
        const std::string& name = n.input(i);
        auto it = values_.find(name);
        if (it == values_.end()) {
            if (name == image_name_)
                it = values_.emplace(name, image(*graph_inputs_.at(name))).first;
            else if (params_.count(name) || graph_inputs_.count(name))
                fail(n, "input '" + name +
                            "' is a weight or constant where an activation is "
                            "expected");
            else
                fail(n, "input '" + name + "' is not produced by an earlier node");
        }
        if (!absorbs_pad && (it->second.pad_h || it->second.pad_w))
            fail(n, "input '" + name +
                        "' comes from a zero Pad, which is supported only before Conv and "
                        "AveragePool");
        return it->second;
    }

    Value image(const onnx::ValueInfoProto& in) {
        const auto dims = declared_dims(in);
        if (!dims || dims->size() != 4 || (*dims)[1] < 1 || (*dims)[2] < 1 || (*dims)[3] < 1 ||
            (*dims)[1] > kMaxSize || (*dims)[2] > kMaxSize || (*dims)[3] > kMaxSize)
            throw InputError(where_ + ": input '" + printable(in.name()) + "'",
                             "needs a declared 4-D shape [N, C, H, W] with fixed C, H, W");
        Op op;
        op.kind = OpKind::kInput;
        op.name = printable(in.name());
        op.channels = (*dims)[1];
        op.height = (*dims)[2];
        op.width = (*dims)[3];
        names_.insert(op.name);
        net_.ops.push_back(op);
        return Value{0};
    }

    /// Dims of a graph input's declared type (a batch given by name counts as 1); nullopt
    /// when any other dimension is unknown.
    static std::optional<std::vector<int64_t>> declared_dims(const onnx::ValueInfoProto& in) {
        if (!in.type().has_tensor_type() || !in.type().tensor_type().has_shape())
            return std::nullopt;
        std::vector<int64_t> dims;
        const auto& shape = in.type().tensor_type().shape();
        for (int i = 0; i < shape.dim_size(); ++i) {
            const auto& d = shape.dim(i);
            if (d.has_dim_value() && d.dim_value() >= 0)
                dims.push_back(d.dim_value());
            else if (i == 0)
                dims.push_back(1);
            else
                return std::nullopt;
        }
        return dims;
    }

    /// The weight/constant input i of n: an initializer, a Constant node's output or a graph
    /// input with a declared shape (a model exported without parameters).
    const Param& param(const onnx::NodeProto& n, int i) {
        if (!has_input(n, i)) fail(n, "input " + std::to_string(i) + " is missing");
        const std::string& name = n.input(i);
        auto it = params_.find(name);
        if (it != params_.end()) {
            for (int64_t d : it->second.dims)
                if (d < 0 || d > kMaxSize)
                    fail(n, "input '" + name + "' has dims " + join(it->second.dims) +
                                ": out of range");
            return it->second;
        }
        const auto gi = graph_inputs_.find(name);
        if (gi != graph_inputs_.end() && name != image_name_) {
            const auto dims = declared_dims(*gi->second);
            if (!dims) fail(n, "weight input '" + name + "' has no declared shape");
            Param p;
            p.dims = *dims;
            it = params_.emplace(name, p).first;
            for (int64_t d : it->second.dims)
                if (d > kMaxSize)
                    fail(n, "input '" + name + "' has dims " + join(it->second.dims) +
                                ": out of range");
            return it->second;
        }
        if (is_value(name))
            fail(n, "input '" + name +
                        "' (weights) is computed by the graph; only initializers, Constant "
                        "nodes and graph inputs are supported");
        fail(n, "input '" + name + "' is not produced by an earlier node");
    }

    /// A constant's values (small tensors only: Clip bounds, Pad and Reshape shapes).
    std::vector<double> values_of(const onnx::NodeProto& n, int i) {
        const Param& p = param(n, i);
        if (!p.data)
            fail(n, "input '" + n.input(i) + "' must be a constant (it has no value in the model)");
        const onnx::TensorProto& t = *p.data;
        if (t.data_location() == onnx::TensorProto::EXTERNAL)
            fail(n, "input '" + n.input(i) + "' is stored outside the model file");
        std::vector<double> out;
        const std::string& raw = t.raw_data();
        auto from_raw = [&](auto zero) {
            using T = decltype(zero);
            for (size_t k = 0; k + sizeof(T) <= raw.size(); k += sizeof(T)) {
                T v;
                std::memcpy(&v, raw.data() + k, sizeof(T));
                out.push_back(static_cast<double>(v));
            }
        };
        switch (t.data_type()) {
            case onnx::TensorProto::FLOAT:
                if (raw.empty())
                    out.assign(t.float_data().begin(), t.float_data().end());
                else
                    from_raw(float{});
                break;
            case onnx::TensorProto::DOUBLE:
                if (raw.empty())
                    out.assign(t.double_data().begin(), t.double_data().end());
                else
                    from_raw(double{});
                break;
            case onnx::TensorProto::INT64:
                if (raw.empty())
                    out.assign(t.int64_data().begin(), t.int64_data().end());
                else
                    from_raw(int64_t{});
                break;
            case onnx::TensorProto::INT32:
                if (raw.empty())
                    out.assign(t.int32_data().begin(), t.int32_data().end());
                else
                    from_raw(int32_t{});
                break;
            default:
                fail(n, "input '" + n.input(i) + "' has an unsupported data type (" +
                            std::to_string(t.data_type()) + ")");
        }
        if (static_cast<double>(out.size()) != p.numel())
            fail(n, "input '" + n.input(i) + "' holds " + std::to_string(out.size()) +
                        " values, its dims " + join(p.dims) + " say " + number(p.numel()));
        return out;
    }

    const Op& op_of(const Value& v) const { return net_.ops[static_cast<size_t>(v.op)]; }

    std::string op_name(const onnx::NodeProto& n, int index) {
        std::string base = printable(n.name());
        while (!base.empty() && base.front() == '/') base.erase(base.begin());
        if (base.empty()) base = printable(n.op_type()) + "_" + std::to_string(index);
        std::string name = base;
        for (int k = 2; names_.count(name); ++k) name = base + "#" + std::to_string(k);
        names_.insert(name);
        return name;
    }

    /// Appends an op reading `inputs` with the first input's shape; returns its value.
    Value push(const onnx::NodeProto& n, int index, OpKind kind, const std::vector<Value>& inputs,
               Op op = {}) {
        const Op& src = op_of(inputs.front());
        op.kind = kind;
        if (op.name.empty()) op.name = op_name(n, index);
        for (const Value& v : inputs) op.inputs.push_back(v.op);
        if (op.channels == 0) {
            op.channels = src.channels;
            op.height = src.height;
            op.width = src.width;
        }
        net_.ops.push_back(std::move(op));
        Value out;
        out.op = static_cast<int>(net_.ops.size()) - 1;
        out.flat = inputs.front().flat;
        return out;
    }

    void set_output(const onnx::NodeProto& n, int i, const Value& v) {
        if (i < n.output_size() && !n.output(i).empty()) values_[n.output(i)] = v;
    }

    bool is_value(const std::string& name) const {
        return values_.count(name) > 0 || name == image_name_;
    }

    void alias(const onnx::NodeProto& n) {
        if (!has_input(n, 0)) fail(n, "input 0 is missing");
        if (n.output_size() < 1) return;
        if (is_value(n.input(0)))
            values_[n.output(0)] = value(n, 0, true);
        else
            params_[n.output(0)] = param(n, 0);
    }

    void node(const onnx::NodeProto& n, int index) {
        const std::string& t = n.op_type();
        if (!n.domain().empty() && n.domain() != "ai.onnx") fail(n, "unsupported operator");
        if (t == "Constant") return constant(n);
        if (t == "Identity" || t == "Dropout") return alias(n);
        if (t == "Conv") return conv(n, index);
        if (t == "Gemm" || t == "MatMul") return linear(n, index);
        if (t == "BatchNormalization") return batch_norm(n, index);
        if (t == "Relu") return set_output(n, 0, push(n, index, OpKind::kReLU, {value(n, 0)}));
        if (t == "Clip") return clip(n, index);
        if (t == "Add") return add(n, index);
        if (t == "Concat") return concat(n, index);
        if (t == "MaxPool" || t == "AveragePool") return pool(n, index);
        if (t == "GlobalAveragePool") return global_pool(n, index, false);
        if (t == "ReduceMean") return reduce_mean(n, index);
        if (t == "Flatten") return flatten(n);
        if (t == "Reshape") return reshape(n);
        if (t == "Pad") return pad(n);
        fail(n, "unsupported operator");
    }

    void constant(const onnx::NodeProto& n) {
        const auto* a = attr(n, "value");
        if (!a || a->type() != onnx::AttributeProto::TENSOR)
            fail(n, "only the tensor form (attribute value) is supported");
        Param p;
        p.dims.assign(a->t().dims().begin(), a->t().dims().end());
        p.data = &a->t();
        if (n.output_size() > 0) params_[n.output(0)] = p;
    }

    void check_2d(const onnx::NodeProto& n, const char* name, const std::vector<int64_t>& v) {
        if (v.size() != 2)
            fail(n, std::string("attribute ") + name + " = " + join(v) +
                        ": expected 2 values (2-D only)");
    }

    /// pads [h_begin, w_begin, h_end, w_end] -> (h, w); asymmetric padding is an error.
    std::pair<int64_t, int64_t> symmetric_pads(const onnx::NodeProto& n,
                                               const std::vector<int64_t>& pads) {
        if (pads.size() != 4) fail(n, "attribute pads = " + join(pads) + ": expected 4 values");
        if (pads[0] != pads[2] || pads[1] != pads[3])
            fail(n, "attribute pads = " + join(pads) +
                        ": asymmetric padding is not supported (a layer pads both sides of an "
                        "axis equally)");
        if (pads[0] < 0 || pads[1] < 0) fail(n, "attribute pads = " + join(pads) + ": negative");
        return {pads[0], pads[1]};
    }

    /// auto_pad: NOTSET (use pads), VALID (none), SAME_UPPER/SAME_LOWER when the total is even.
    std::vector<int64_t> auto_pads(const onnx::NodeProto& n, std::vector<int64_t> pads, int64_t h,
                                   int64_t w, int64_t kh, int64_t kw, int64_t sh, int64_t sw) {
        const std::string mode = attr_string(n, "auto_pad", "NOTSET");
        if (mode == "NOTSET") return pads;
        if (mode == "VALID") return {0, 0, 0, 0};
        if (mode != "SAME_UPPER" && mode != "SAME_LOWER")
            fail(n, "attribute auto_pad = " + mode + ": unknown");
        auto total = [](int64_t size, int64_t k, int64_t s) {
            return std::max<int64_t>(0, ((size + s - 1) / s - 1) * s + k - size);
        };
        const int64_t th = total(h, kh, sh), tw = total(w, kw, sw);
        if (th % 2 || tw % 2)
            fail(n, "attribute auto_pad = " + mode +
                        ": pads this input asymmetrically, which is not supported");
        return {th / 2, tw / 2, th / 2, tw / 2};
    }

    void conv(const onnx::NodeProto& n, int index) {
        const Value x = value(n, 0, true);
        if (x.flat) fail(n, "input is flattened; Conv needs [N, C, H, W]");
        const Op& in = op_of(x);
        const Param& w = param(n, 1);
        if (w.dims.size() != 4)
            fail(n, "weights '" + n.input(1) + "' have dims " + join(w.dims) +
                        ": only 2-D convolutions (4-D weights) are supported");
        const int64_t groups = attr_int(n, "group", 1);
        const auto strides = attr_ints(n, "strides", {1, 1});
        const auto dilations = attr_ints(n, "dilations", {1, 1});
        const auto kernel = attr_ints(n, "kernel_shape", {w.dims[2], w.dims[3]});
        check_2d(n, "strides", strides);
        check_2d(n, "dilations", dilations);
        check_2d(n, "kernel_shape", kernel);
        if (dilations[0] != 1 || dilations[1] != 1)
            fail(n, "attribute dilations = " + join(dilations) +
                        ": dilation is not supported (a layer shape has none)");
        if (kernel[0] != w.dims[2] || kernel[1] != w.dims[3])
            fail(n, "attribute kernel_shape = " + join(kernel) + " differs from the weights' " +
                        join(w.dims));
        if (groups < 1 || in.channels % groups || w.dims[0] % groups ||
            w.dims[1] * groups != in.channels)
            fail(n, "weights '" + n.input(1) + "' " + join(w.dims) + " with group " +
                        std::to_string(groups) + " do not fit an input of " +
                        std::to_string(in.channels) + " channels");
        const auto pads = auto_pads(n, attr_ints(n, "pads", {0, 0, 0, 0}), in.height, in.width,
                                    kernel[0], kernel[1], strides[0], strides[1]);
        const auto [ph, pw] = symmetric_pads(n, pads);
        LayerShape s;
        s.N = 1;
        s.C = in.channels;
        s.M = w.dims[0];
        s.R = kernel[0];
        s.S = kernel[1];
        s.H = in.height;
        s.W = in.width;
        s.G = groups;
        s.Hstride = strides[0];
        s.Wstride = strides[1];
        s.Hpad = ph + x.pad_h;
        s.Wpad = pw + x.pad_w;
        if (s.Hstride < 1 || s.Wstride < 1)
            fail(n, "attribute strides = " + join(strides) + ": must be >= 1");
        if (s.H + 2 * s.Hpad < s.R || s.W + 2 * s.Wpad < s.S)
            fail(n, "the kernel " + join(kernel) + " is larger than the padded input (" +
                        std::to_string(s.H) + "x" + std::to_string(s.W) + ")");
        s.P = (s.H + 2 * s.Hpad - s.R) / s.Hstride + 1;
        s.Q = (s.W + 2 * s.Wpad - s.S) / s.Wstride + 1;
        Op op;
        op.channels = s.M;
        op.height = s.P;
        op.width = s.Q;
        op.bias = has_input(n, 2);
        op.name = op_name(n, index);
        s.finalize(where_ + ": " + op.name);
        op.conv = s;
        Value plain = x;
        plain.pad_h = plain.pad_w = 0;
        Value out = push(n, index, OpKind::kConv, {plain}, op);
        set_output(n, 0, out);
    }

    /// Gemm (A x B^T or A x B, + C) and MatMul: a conv whose filter covers the whole input,
    /// so flattening C x H x W then multiplying is the same arithmetic (1x1 after pooling).
    void linear(const onnx::NodeProto& n, int index) {
        const Value x = value(n, 0);
        const Op& in = op_of(x);
        const bool gemm = n.op_type() == "Gemm";
        if (gemm && attr_int(n, "transA", 0) != 0)
            fail(n, "attribute transA = 1 is not supported (the activation must be A)");
        const Param& w = param(n, 1);
        if (w.dims.size() != 2)
            fail(n, "weights '" + n.input(1) + "' have dims " + join(w.dims) + ": expected 2-D");
        const bool trans_b = gemm && attr_int(n, "transB", 0) != 0;
        const int64_t k = trans_b ? w.dims[1] : w.dims[0];
        const int64_t m = trans_b ? w.dims[0] : w.dims[1];
        if (!x.flat && (in.height != 1 || in.width != 1))
            fail(n, "input is " + std::to_string(in.channels) + "x" + std::to_string(in.height) +
                        "x" + std::to_string(in.width) + ", not flattened");
        if (k != in.numel())
            fail(n, "weights '" + n.input(1) + "' " + join(w.dims) + " expect " +
                        std::to_string(k) + " input features, the input has " +
                        std::to_string(in.numel()));
        LayerShape s;
        s.N = 1;
        s.C = in.channels;
        s.M = m;
        s.R = in.height;
        s.S = in.width;
        s.H = in.height;
        s.W = in.width;
        s.P = 1;
        s.Q = 1;
        Op op;
        op.channels = m;
        op.height = 1;
        op.width = 1;
        op.bias = gemm && has_input(n, 2);
        op.name = op_name(n, index);
        s.finalize(where_ + ": " + op.name);
        op.conv = s;
        Value out = push(n, index, OpKind::kConv, {x}, op);
        out.flat = true;
        set_output(n, 0, out);
    }

    void batch_norm(const onnx::NodeProto& n, int index) {
        const Value x = value(n, 0);
        const Param& scale = param(n, 1);
        if (scale.numel() != static_cast<double>(op_of(x).channels))
            fail(n, "scale '" + n.input(1) + "' has " + number(scale.numel()) + " values for " +
                        std::to_string(op_of(x).channels) + " channels");
        set_output(n, 0, push(n, index, OpKind::kBatchNorm, {x}));
    }

    void clip(const onnx::NodeProto& n, int index) {
        const Value x = value(n, 0);
        std::optional<double> lo, hi;
        if (opset_ < 11) {
            lo = attr_float(n, "min");
            hi = attr_float(n, "max");
        } else {
            auto scalar = [&](int i) -> std::optional<double> {
                if (!has_input(n, i)) return std::nullopt;
                const auto v = values_of(n, i);
                if (v.size() != 1) fail(n, "input '" + n.input(i) + "' is not a scalar");
                return v[0];
            };
            lo = scalar(1);
            hi = scalar(2);
        }
        const std::string range =
            "[" + (lo ? number(*lo) : "-inf") + ", " + (hi ? number(*hi) : "inf") + "]";
        if (!lo || *lo != 0 || (hi && *hi != 6 && !std::isinf(*hi)))
            fail(n, "Clip to " + range + ": only [0, 6] (ReLU6) and [0, inf] (ReLU) are supported");
        const bool relu6 = hi && !std::isinf(*hi);
        set_output(n, 0, push(n, index, relu6 ? OpKind::kReLU6 : OpKind::kReLU, {x}));
    }

    void add(const onnx::NodeProto& n, int index) {
        if (n.input_size() != 2) fail(n, "expected 2 inputs");
        const bool v0 = is_value(n.input(0)), v1 = is_value(n.input(1));
        if (v0 != v1) {
            // MatMul + Add: the Add is the linear layer's bias.
            const int vi = v0 ? 0 : 1;
            const Value x = value(n, vi);
            Op& op = net_.ops[static_cast<size_t>(x.op)];
            const Param& b = param(n, 1 - vi);
            if (op.kind != OpKind::kConv || op.bias || op.conv.P != 1 || op.conv.Q != 1 ||
                b.numel() != static_cast<double>(op.channels))
                fail(n, "adding a constant is supported only as the bias of a MatMul");
            op.bias = true;
            return set_output(n, 0, x);
        }
        const Value a = value(n, 0), b = value(n, 1);
        const Op &oa = op_of(a), &ob = op_of(b);
        if (oa.channels != ob.channels || oa.height != ob.height || oa.width != ob.width ||
            a.flat != b.flat)
            fail(n, "inputs of different shapes (" + std::to_string(oa.channels) + "x" +
                        std::to_string(oa.height) + "x" + std::to_string(oa.width) + " and " +
                        std::to_string(ob.channels) + "x" + std::to_string(ob.height) + "x" +
                        std::to_string(ob.width) + "): broadcasting is not supported");
        set_output(n, 0, push(n, index, OpKind::kAdd, {a, b}));
    }

    void concat(const onnx::NodeProto& n, int index) {
        std::vector<Value> ins;
        for (int i = 0; i < n.input_size(); ++i) ins.push_back(value(n, i));
        if (ins.empty()) fail(n, "no inputs");
        const int64_t axis = attr_int(n, "axis", 1);
        if (ins.front().flat || (axis != 1 && axis != -3))
            fail(n, "attribute axis = " + std::to_string(axis) +
                        ": only channel concatenation of [N, C, H, W] tensors is supported");
        if (ins.size() == 1) return set_output(n, 0, ins.front());
        Op op;
        for (const Value& v : ins) {
            const Op& src = op_of(v);
            if (v.flat || src.height != op_of(ins.front()).height ||
                src.width != op_of(ins.front()).width)
                fail(n, "inputs of different heights/widths");
            op.channels += src.channels;
        }
        op.height = op_of(ins.front()).height;
        op.width = op_of(ins.front()).width;
        set_output(n, 0, push(n, index, OpKind::kConcat, ins, op));
    }

    void pool(const onnx::NodeProto& n, int index) {
        const bool avg = n.op_type() == "AveragePool";
        const Value x = value(n, 0, avg);
        if (x.flat) fail(n, "input is flattened; pooling needs [N, C, H, W]");
        const Op& in = op_of(x);
        const auto kernel = attr_ints(n, "kernel_shape", {});
        check_2d(n, "kernel_shape", kernel);
        const auto strides = attr_ints(n, "strides", {1, 1});
        check_2d(n, "strides", strides);
        const auto dilations = attr_ints(n, "dilations", {1, 1});
        check_2d(n, "dilations", dilations);
        if (dilations[0] != 1 || dilations[1] != 1)
            fail(n, "attribute dilations = " + join(dilations) + ": dilation is not supported");
        const auto pads = auto_pads(n, attr_ints(n, "pads", {0, 0, 0, 0}), in.height, in.width,
                                    kernel[0], kernel[1], strides[0], strides[1]);
        auto [ph, pw] = symmetric_pads(n, pads);
        bool count_include_pad = avg && attr_int(n, "count_include_pad", 0) != 0;
        if (x.pad_h || x.pad_w) {
            // A zero Pad then an unpadded average: the zeros count in the divisor.
            if ((ph || pw) && !count_include_pad)
                fail(n, "a zero Pad before an AveragePool that pads without counting padding");
            ph += x.pad_h;
            pw += x.pad_w;
            count_include_pad = true;
        }
        if (kernel[0] != kernel[1] || strides[0] != strides[1] || ph != pw)
            fail(n, "kernel " + join(kernel) + ", strides " + join(strides) + ", pads " +
                        join({ph, pw}) + ": only square pooling is supported");
        const int64_t k = kernel[0], s = strides[0], p = ph;
        if (k < 1 || s < 1 || 2 * p > k)
            fail(n, "kernel " + std::to_string(k) + ", stride " + std::to_string(s) + ", pad " +
                        std::to_string(p) + ": pad must be at most half the kernel");
        const bool ceil_mode = attr_int(n, "ceil_mode", 0) != 0;
        // PyTorch's rule (what its exporter's sizes follow): with ceil_mode the last window
        // must start inside the input or its left padding.
        auto out_size = [&](int64_t size) {
            const int64_t span = size + 2 * p - k;
            if (span < 0)
                fail(n, "pool window " + std::to_string(k) + " larger than the padded input " +
                            std::to_string(size + 2 * p));
            int64_t out = (ceil_mode ? (span + s - 1) / s : span / s) + 1;
            if (ceil_mode && (out - 1) * s >= size + p) --out;
            return out;
        };
        Op op;
        op.channels = in.channels;
        op.height = out_size(in.height);
        op.width = out_size(in.width);
        op.kernel = k;
        op.stride = s;
        op.pad = p;
        op.ceil_mode = ceil_mode;
        op.count_include_pad = !avg || count_include_pad;
        Value plain = x;
        plain.pad_h = plain.pad_w = 0;
        set_output(n, 0, push(n, index, avg ? OpKind::kAvgPool : OpKind::kMaxPool, {plain}, op));
    }

    void global_pool(const onnx::NodeProto& n, int index, bool flat) {
        const Value x = value(n, 0);
        if (x.flat) fail(n, "input is flattened; pooling needs [N, C, H, W]");
        Op op;
        op.channels = op_of(x).channels;
        op.height = 1;
        op.width = 1;
        Value out = push(n, index, OpKind::kGlobalAvgPool, {x}, op);
        out.flat = flat;
        set_output(n, 0, out);
    }

    void reduce_mean(const onnx::NodeProto& n, int index) {
        auto axes = attr_ints(n, "axes", {});
        if (axes.empty() && has_input(n, 1))
            for (double v : values_of(n, 1)) axes.push_back(bounded(n, "axes", v));
        for (auto& a : axes)
            if (a < 0) a += 4;
        std::sort(axes.begin(), axes.end());
        if (axes != std::vector<int64_t>{2, 3})
            fail(n, "attribute axes = " + join(axes) +
                        ": only the mean over H and W (global average pooling) is supported");
        global_pool(n, index, attr_int(n, "keepdims", 1) == 0);
    }

    void flatten(const onnx::NodeProto& n) {
        Value x = value(n, 0);
        const int64_t axis = attr_int(n, "axis", 1);
        if (axis != 1)
            fail(n, "attribute axis = " + std::to_string(axis) + ": only 1 is supported");
        x.flat = true;
        set_output(n, 0, x);
    }

    void reshape(const onnx::NodeProto& n) {
        Value x = value(n, 0);
        const auto shape = values_of(n, 1);
        const int64_t features = op_of(x).numel();
        std::vector<int64_t> s;
        for (double v : shape) s.push_back(bounded(n, "target shape", v));
        const bool ok = s.size() == 2 && (s[0] == 0 || s[0] == 1 || s[0] == -1) &&
                        (s[1] == -1 || s[1] == features) && !(s[0] == -1 && s[1] == -1);
        if (!ok)
            fail(n, "target shape " + join(s) + ": only flattening to [N, " +
                        std::to_string(features) + "] is supported");
        x.flat = true;
        set_output(n, 0, x);
    }

    void pad(const onnx::NodeProto& n) {
        Value x = value(n, 0);
        if (x.flat) fail(n, "input is flattened");
        const std::string mode = attr_string(n, "mode", "constant");
        if (mode != "constant")
            fail(n, "attribute mode = " + mode + ": only constant is supported");
        std::vector<int64_t> pads;
        double fill = 0;
        if (opset_ < 11) {
            pads = attr_ints(n, "pads", {});
            fill = attr_float(n, "value").value_or(0.0);
        } else {
            for (double v : values_of(n, 1)) pads.push_back(bounded(n, "pads", v));
            if (has_input(n, 2)) {
                const auto v = values_of(n, 2);
                if (v.size() != 1) fail(n, "input '" + n.input(2) + "' is not a scalar");
                fill = v[0];
            }
        }
        if (fill != 0) fail(n, "pads with " + number(fill) + ": only zero padding is supported");
        if (pads.size() != 8 || pads[0] || pads[1] || pads[4] || pads[5])
            fail(n, "pads = " + join(pads) + ": only padding H and W of [N, C, H, W]");
        if (pads[2] != pads[6] || pads[3] != pads[7] || pads[2] < 0 || pads[3] < 0)
            fail(n, "pads = " + join(pads) + ": asymmetric padding is not supported");
        x.pad_h += pads[2];
        x.pad_w += pads[3];
        set_output(n, 0, x);
    }

    const onnx::ModelProto& model_;
    const onnx::GraphProto& g_;
    std::string where_;
    int64_t opset_ = 13;
    Network net_;
    std::map<std::string, Value> values_;
    std::map<std::string, Param> params_;
    std::map<std::string, const onnx::ValueInfoProto*> graph_inputs_;
    std::string image_name_;
    std::set<std::string> names_;
};

}  // namespace

Network parse_onnx_network(const std::string& bytes, const std::string& where,
                           const std::string& name) {
    onnx::ModelProto model;
    if (!model.ParseFromString(bytes))
        throw InputError(where, "not an ONNX model (the protobuf does not parse)");
    return Reader(model, where, name).run();
}

Network read_onnx_network(const std::string& path) {
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec))
        throw InputError(path, "is a folder, expected an ONNX model file");
    return parse_onnx_network(read_file(path), path, std::filesystem::path(path).stem().string());
}

}  // namespace actsparse::core
