// ONNX models as network graphs (core/onnx.h): small models built here with libonnx's
// protobuf classes, the fixtures of tests/fixtures/onnx (scripts/export_onnx_fixtures.py),
// and the cross-check of torchvision's networks against the built-in ones (docs/networks.md,
// "Cross-check against torchvision").
#include "core/onnx.h"

#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <functional>
#include <map>

#include "core/error.h"

namespace actsparse::core {
namespace {

const std::string kFixtures = std::string(ACTSPARSE_SOURCE_DIR) + "/tests/fixtures/onnx/";

/// A model under construction: the image input [1, C, H, W] named "x", weights as
/// initializers (or, with as_inputs, as graph inputs that carry only their shape).
class ModelBuilder {
  public:
    ModelBuilder(int64_t c, int64_t h, int64_t w, bool weights_as_inputs = false)
        : as_inputs_(weights_as_inputs) {
        model_.set_ir_version(7);
        auto* op = model_.add_opset_import();
        op->set_domain("");
        op->set_version(13);
        declare(model_.mutable_graph()->add_input(), "x", {1, c, h, w});
    }

    void weight(const std::string& name, const std::vector<int64_t>& dims) {
        if (as_inputs_) {
            declare(model_.mutable_graph()->add_input(), name, dims);
            return;
        }
        auto* t = model_.mutable_graph()->add_initializer();
        t->set_name(name);
        t->set_data_type(onnx::TensorProto::FLOAT);
        int64_t n = 1;
        for (int64_t d : dims) {
            t->add_dims(d);
            n *= d;
        }
        for (int64_t i = 0; i < n; ++i) t->add_float_data(0.5f);
    }

    /// A constant with values (Clip bounds, Reshape shapes), always an initializer.
    void constant(const std::string& name, const std::vector<int64_t>& dims,
                  const std::vector<float>& values, bool int64 = false) {
        auto* t = model_.mutable_graph()->add_initializer();
        t->set_name(name);
        for (int64_t d : dims) t->add_dims(d);
        t->set_data_type(int64 ? onnx::TensorProto::INT64 : onnx::TensorProto::FLOAT);
        for (float v : values)
            if (int64)
                t->add_int64_data(static_cast<int64_t>(v));
            else
                t->add_float_data(v);
    }

    onnx::NodeProto& node(const std::string& op, const std::string& name,
                          const std::vector<std::string>& in, const std::string& out) {
        auto* n = model_.mutable_graph()->add_node();
        n->set_op_type(op);
        n->set_name(name);
        for (const auto& i : in) n->add_input(i);
        n->add_output(out);
        return *n;
    }

    static void ints(onnx::NodeProto& n, const std::string& name, const std::vector<int64_t>& v) {
        auto* a = n.add_attribute();
        a->set_name(name);
        a->set_type(onnx::AttributeProto::INTS);
        for (int64_t x : v) a->add_ints(x);
    }
    static void integer(onnx::NodeProto& n, const std::string& name, int64_t v) {
        auto* a = n.add_attribute();
        a->set_name(name);
        a->set_type(onnx::AttributeProto::INT);
        a->set_i(v);
    }

    /// Conv with weights "<name>.w" [m, c/groups, k, k] and a bias "<name>.b".
    onnx::NodeProto& conv(const std::string& name, const std::string& in, const std::string& out,
                          int64_t c, int64_t m, int64_t k, int64_t stride = 1, int64_t pad = 0,
                          int64_t groups = 1) {
        weight(name + ".w", {m, c / groups, k, k});
        weight(name + ".b", {m});
        auto& n = node("Conv", name, {in, name + ".w", name + ".b"}, out);
        ints(n, "kernel_shape", {k, k});
        ints(n, "strides", {stride, stride});
        ints(n, "pads", {pad, pad, pad, pad});
        integer(n, "group", groups);
        return n;
    }

    Network read(const std::string& output) {
        model_.mutable_graph()->add_output()->set_name(output);
        std::string bytes;
        model_.SerializeToString(&bytes);
        return parse_onnx_network(bytes, "m.onnx", "m");
    }

    std::string error(const std::string& output) {
        try {
            read(output);
        } catch (const InputError& e) {
            return e.what();
        }
        return "";
    }

  private:
    static void declare(onnx::ValueInfoProto* v, const std::string& name,
                        const std::vector<int64_t>& dims) {
        v->set_name(name);
        auto* t = v->mutable_type()->mutable_tensor_type();
        t->set_elem_type(onnx::TensorProto::FLOAT);
        for (int64_t d : dims) t->mutable_shape()->add_dim()->set_dim_value(d);
    }

    onnx::ModelProto model_;
    bool as_inputs_;
};

const Op* find_op(const Network& n, const std::string& name) {
    for (const Op& op : n.ops)
        if (op.name == name) return &op;
    return nullptr;
}

int count(const Network& n, OpKind k) {
    int c = 0;
    for (const Op& op : n.ops) c += op.kind == k;
    return c;
}

// Conv + BatchNormalization + Relu, MaxPool, then Reshape + MatMul + Add: BN is an op but no
// layer, the MatMul is a conv over the whole 4x2x2 input and the Add its bias.
TEST(Onnx, BatchNormIsNoLayerAndMatMulPlusAddIsOneConvWithBias) {
    for (bool as_inputs : {false, true}) {
        SCOPED_TRACE(as_inputs ? "weights as graph inputs" : "weights as initializers");
        ModelBuilder b(3, 8, 8, as_inputs);
        b.conv("c1", "x", "c1o", 3, 4, 3, 1, 1);
        for (const char* p : {"s", "bb", "mean", "var"}) b.weight(std::string("bn.") + p, {4});
        b.node("BatchNormalization", "bn", {"c1o", "bn.s", "bn.bb", "bn.mean", "bn.var"}, "bno");
        b.node("Relu", "relu", {"bno"}, "r");
        auto& mp = b.node("MaxPool", "pool", {"r"}, "p");
        ModelBuilder::ints(mp, "kernel_shape", {4, 4});
        ModelBuilder::ints(mp, "strides", {4, 4});
        b.constant("shape", {2}, {1, -1}, /*int64=*/true);
        b.node("Reshape", "flat", {"p", "shape"}, "f");
        b.weight("fc.w", {16, 5});
        b.weight("fc.b", {5});
        b.node("MatMul", "fc", {"f", "fc.w"}, "mm");
        b.node("Add", "fc.bias", {"mm", "fc.b"}, "y");
        const Network n = b.read("y");
        const auto layers = n.conv_layers();
        ASSERT_EQ(layers.size(), 2u);
        EXPECT_EQ(count(n, OpKind::kBatchNorm), 1);
        EXPECT_EQ(layers[0].shape, LayerShape::parse_spec("C=3,M=4,R=3,S=3,P=8,Q=8,H=8,W=8,pad=1"));
        EXPECT_FALSE(layers[0].input_sparse);
        EXPECT_EQ(layers[1].name, "fc");
        EXPECT_EQ(layers[1].shape, LayerShape::parse_spec("C=4,M=5,R=2,S=2,P=1,Q=1,H=2,W=2"));
        EXPECT_EQ(layers[1].shape.macs(), 16 * 5);
        EXPECT_TRUE(layers[1].input_sparse);
        EXPECT_TRUE(n.ops[static_cast<size_t>(layers[1].op)].bias);
        EXPECT_EQ(n.num_classes, 5);
        EXPECT_EQ(n.input().channels, 3);
    }
}

// Gemm after global pooling and Flatten is a 1x1 conv; transB picks the weights' layout.
TEST(Onnx, GemmAfterGlobalPoolIsA1x1Conv) {
    for (int64_t trans_b : {0, 1}) {
        ModelBuilder b(6, 5, 5);
        b.node("GlobalAveragePool", "gap", {"x"}, "g");
        auto& fl = b.node("Flatten", "flat", {"g"}, "f");
        ModelBuilder::integer(fl, "axis", 1);
        b.weight("fc.w", trans_b ? std::vector<int64_t>{7, 6} : std::vector<int64_t>{6, 7});
        auto& g = b.node("Gemm", "fc", {"f", "fc.w"}, "y");
        ModelBuilder::integer(g, "transB", trans_b);
        const Network n = b.read("y");
        const auto layers = n.conv_layers(3);
        ASSERT_EQ(layers.size(), 1u);
        EXPECT_EQ(layers[0].shape, LayerShape::parse_spec("N=3,C=6,M=7,R=1,S=1,P=1,Q=1,H=1,W=1"));
        EXPECT_FALSE(n.ops[static_cast<size_t>(layers[0].op)].bias);
        EXPECT_EQ(n.num_classes, 7);
    }
}

// Concat sums channels; Add of two ReLU outputs keeps the next conv's input sparse; Add of
// different shapes and a Concat on another axis are errors naming the node.
TEST(Onnx, ConcatAndAddJoins) {
    ModelBuilder b(4, 6, 6);
    b.conv("a", "x", "ao", 4, 3, 1);
    b.node("Relu", "ar", {"ao"}, "ar");
    b.conv("b", "x", "bo", 4, 5, 3, 1, 1);
    b.node("Relu", "br", {"bo"}, "br");
    auto& cat = b.node("Concat", "cat", {"ar", "br"}, "cat");
    ModelBuilder::integer(cat, "axis", 1);
    b.conv("c", "cat", "co", 8, 8, 3, 1, 1, /*groups=*/8);
    b.node("Relu", "cr", {"co"}, "cr");
    b.node("Add", "sum", {"cr", "cat"}, "sum");
    b.conv("d", "sum", "y", 8, 2, 1);
    const Network n = b.read("y");
    const Op* c = find_op(n, "cat");
    ASSERT_NE(c, nullptr);
    EXPECT_EQ(c->kind, OpKind::kConcat);
    EXPECT_EQ(c->channels, 8);
    const Op* s = find_op(n, "sum");
    ASSERT_NE(s, nullptr);
    EXPECT_EQ(s->kind, OpKind::kAdd);
    EXPECT_EQ(s->inputs.size(), 2u);
    const auto layers = n.conv_layers();
    ASSERT_EQ(layers.size(), 4u);
    EXPECT_EQ(layers[2].shape.G, 8);
    EXPECT_TRUE(layers[2].input_sparse);
    EXPECT_TRUE(layers[3].input_sparse);
    EXPECT_EQ(layers[3].input_name, "sum");

    ModelBuilder bad(4, 6, 6);
    bad.conv("a", "x", "ao", 4, 3, 1);
    bad.node("Add", "sum", {"ao", "x"}, "y");
    EXPECT_EQ(bad.error("y"),
              "m.onnx: node 'sum' (op Add): inputs of different shapes (3x6x6 and 4x6x6): "
              "broadcasting is not supported");
    ModelBuilder axis(4, 6, 6);
    auto& cat2 = axis.node("Concat", "cat", {"x", "x"}, "y");
    ModelBuilder::integer(cat2, "axis", 2);
    EXPECT_NE(axis.error("y").find("node 'cat' (op Concat): attribute axis = 2"), std::string::npos)
        << axis.error("y");
}

TEST(Onnx, ClipIsReLU6OnlyFrom0To6) {
    ModelBuilder b(2, 4, 4);
    b.constant("lo", {}, {0});
    b.constant("hi", {}, {6});
    b.node("Clip", "act", {"x", "lo", "hi"}, "a");
    b.conv("c", "a", "y", 2, 2, 1);
    const Network n = b.read("y");
    ASSERT_NE(find_op(n, "act"), nullptr);
    EXPECT_EQ(find_op(n, "act")->kind, OpKind::kReLU6);
    EXPECT_TRUE(n.conv_layers()[0].input_sparse);

    ModelBuilder bad(2, 4, 4);
    bad.constant("lo", {}, {-1});
    bad.constant("hi", {}, {1});
    bad.node("Clip", "act", {"x", "lo", "hi"}, "y");
    EXPECT_EQ(bad.error("y"),
              "m.onnx: node 'act' (op Clip): Clip to [-1, 1]: only [0, 6] (ReLU6) and [0, inf] "
              "(ReLU) are supported");
}

TEST(Onnx, DilationAndAsymmetricPaddingAreErrorsNamingNodeAndAttribute) {
    ModelBuilder d(3, 8, 8);
    ModelBuilder::ints(d.conv("c1", "x", "y", 3, 4, 3), "dilations", {2, 2});
    EXPECT_EQ(d.error("y"),
              "m.onnx: node 'c1' (op Conv): attribute dilations = [2, 2]: dilation is not "
              "supported (a layer shape has none)");

    ModelBuilder p(3, 8, 8);
    auto& c = p.conv("c1", "x", "y", 3, 4, 3);
    for (auto& a : *c.mutable_attribute())
        if (a.name() == "pads") {
            a.clear_ints();
            for (int64_t v : {0, 0, 1, 1}) a.add_ints(v);
        }
    EXPECT_EQ(p.error("y"),
              "m.onnx: node 'c1' (op Conv): attribute pads = [0, 0, 1, 1]: asymmetric padding "
              "is not supported (a layer pads both sides of an axis equally)");
}

// What the graph cannot represent is refused naming the node: a zero Pad before a max-pool
// (which pads with -inf), a Reshape that is not a flatten, a transposed Gemm activation, a
// rectangular pool, a weight computed by the graph.
TEST(Onnx, UnrepresentableNodesAreErrors) {
    auto pad_then = [](const std::string& op) {
        ModelBuilder b(2, 6, 6);
        b.constant("pads", {8}, {0, 0, 1, 1, 0, 0, 1, 1}, true);
        b.node("Pad", "pad", {"x", "pads"}, "p");
        auto& pool = b.node(op, "pool", {"p"}, "y");
        ModelBuilder::ints(pool, "kernel_shape", {3, 3});
        return b;
    };
    EXPECT_EQ(pad_then("MaxPool").error("y"),
              "m.onnx: node 'pool' (op MaxPool): input 'p' comes from a zero Pad, which is "
              "supported only before Conv and AveragePool");
    auto avg = pad_then("AveragePool");
    avg.conv("c", "y", "z", 2, 2, 1);
    const Network n = avg.read("z");
    const Op* pool = find_op(n, "pool");
    ASSERT_NE(pool, nullptr);
    EXPECT_EQ(pool->kind, OpKind::kAvgPool);
    EXPECT_EQ(pool->pad, 1);
    EXPECT_TRUE(pool->count_include_pad);
    EXPECT_EQ(pool->height, 6);

    ModelBuilder r(2, 4, 4);
    r.constant("shape", {3}, {1, 8, 4}, true);
    r.node("Reshape", "rs", {"x", "shape"}, "y");
    EXPECT_EQ(r.error("y"),
              "m.onnx: node 'rs' (op Reshape): target shape [1, 8, 4]: only flattening to [N, 32] "
              "is supported");

    ModelBuilder g(4, 1, 1);
    g.weight("w", {4, 3});
    ModelBuilder::integer(g.node("Gemm", "fc", {"x", "w"}, "y"), "transA", 1);
    EXPECT_EQ(g.error("y"),
              "m.onnx: node 'fc' (op Gemm): attribute transA = 1 is not supported (the "
              "activation must be A)");

    ModelBuilder p(2, 6, 6);
    ModelBuilder::ints(p.node("MaxPool", "pool", {"x"}, "y"), "kernel_shape", {3, 2});
    EXPECT_NE(p.error("y").find("node 'pool' (op MaxPool): kernel [3, 2]"), std::string::npos)
        << p.error("y");

    ModelBuilder w(2, 6, 6);
    w.conv("a", "x", "ao", 2, 2, 1);
    w.node("Conv", "c", {"x", "ao"}, "y");
    EXPECT_EQ(w.error("y"),
              "m.onnx: node 'c' (op Conv): input 'ao' (weights) is computed by the graph; only "
              "initializers, Constant nodes and graph inputs are supported");
}

TEST(Onnx, CorruptOrMissingFileIsOneLineInputError) {
    try {
        const char bytes[] = "\xff\xff\xff\xff not a model";
        parse_onnx_network(std::string(bytes, sizeof bytes - 1), "bad.onnx", "bad");
        FAIL() << "parsed";
    } catch (const InputError& e) {
        EXPECT_EQ(std::string(e.what()),
                  "bad.onnx: not an ONNX model (the protobuf does not parse)");
    }
    try {
        parse_onnx_network("", "empty.onnx", "empty");
        FAIL() << "parsed";
    } catch (const InputError& e) {
        EXPECT_EQ(std::string(e.what()), "empty.onnx: not an ONNX model (no graph nodes)");
    }
    EXPECT_THROW(read_onnx_network(kFixtures + "no-such.onnx"), InputError);
}

// A node name with a newline (or bytes that are not UTF-8) cannot break the one-line error
// or the JSON reports that carry layer names.
TEST(Onnx, NodeNamesAreMadePrintable) {
    ModelBuilder b(2, 4, 4);
    b.node("Softsign", "bad\nname", {"x"}, "y");
    EXPECT_EQ(b.error("y"), "m.onnx: node 'bad?name' (op Softsign): unsupported operator");
    ModelBuilder c(2, 4, 4);
    c.conv("conv\xff", "x", "y", 2, 2, 1);
    const Network n = c.read("y");
    EXPECT_EQ(n.conv_layers().at(0).name, "conv?");
}

TEST(Onnx, UnsupportedOperatorNamesFileNodeAndOperator) {
    const std::string path = kFixtures + "unsupported.onnx";
    try {
        read_onnx_network(path);
        FAIL() << "read";
    } catch (const InputError& e) {
        EXPECT_EQ(std::string(e.what()),
                  path + ": node '/act/LeakyRelu' (op LeakyRelu): unsupported operator");
    }
}

// The same module exported with and without parameters reads to the same graph, and that
// graph is the one the module describes (scripts/export_onnx_fixtures.py, class Tiny).
TEST(Onnx, TinyFixtureWithAndWithoutParametersIsTheSameGraph) {
    const Network a = read_onnx_network(kFixtures + "tiny.onnx");
    const Network b = read_onnx_network(kFixtures + "tiny_params.onnx");
    EXPECT_EQ(a.name, "tiny");
    ASSERT_EQ(a.ops.size(), b.ops.size());
    for (size_t i = 0; i < a.ops.size(); ++i) {
        SCOPED_TRACE(a.ops[i].name);
        EXPECT_EQ(a.ops[i].kind, b.ops[i].kind);
        EXPECT_EQ(a.ops[i].name, b.ops[i].name);
        EXPECT_EQ(a.ops[i].inputs, b.ops[i].inputs);
        EXPECT_EQ(a.ops[i].numel(), b.ops[i].numel());
        EXPECT_EQ(a.ops[i].conv, b.ops[i].conv);
    }
    const auto layers = a.conv_layers();
    ASSERT_EQ(layers.size(), 5u);
    // stem: 3x3 stride 2 pad 1 (the exporter folded its BatchNorm into it), 16 -> 8.
    EXPECT_EQ(layers[0].shape,
              LayerShape::parse_spec("C=3,M=8,R=3,S=3,H=16,W=16,P=8,Q=8,stride=2,pad=1"));
    // res: depthwise after MaxPool(3, 2, pad 1): 8 -> 4.
    EXPECT_EQ(layers[1].shape, LayerShape::parse_spec("C=8,M=8,R=3,S=3,H=4,W=4,P=4,Q=4,G=8,pad=1"));
    EXPECT_EQ(layers[2].shape, LayerShape::parse_spec("C=8,M=4,R=1,S=1,H=4,W=4,P=4,Q=4"));
    EXPECT_EQ(layers[3].shape,
              LayerShape::parse_spec("C=8,M=6,R=1,S=3,H=4,W=4,P=4,Q=4,Hpad=0,Wpad=1"));
    // fc: Linear(10, 5) on the pooled concat of 4 + 6 channels.
    EXPECT_EQ(layers[4].shape, LayerShape::parse_spec("C=10,M=5,R=1,S=1,H=1,W=1,P=1,Q=1"));
    EXPECT_FALSE(layers[0].input_sparse);
    for (size_t i = 1; i < layers.size(); ++i) EXPECT_TRUE(layers[i].input_sparse) << i;
    EXPECT_EQ(count(a, OpKind::kReLU6), 1);
    EXPECT_EQ(count(a, OpKind::kAdd), 1);
    EXPECT_EQ(count(a, OpKind::kConcat), 1);
    // AvgPool2d(3, 1, 1) is exported as a zero Pad then an unpadded AveragePool: one pool
    // with pad 1 that counts the padding, as PyTorch's default.
    const Op& avg = a.ops[static_cast<size_t>(layers[3].op - 1)];
    ASSERT_EQ(avg.kind, OpKind::kAvgPool);
    EXPECT_EQ(avg.pad, 1);
    EXPECT_TRUE(avg.count_include_pad);
    EXPECT_EQ(avg.height, 4);
    EXPECT_EQ(a.num_classes, 5);
}

// --- Cross-check against torchvision (docs/networks.md) ---

/// A documented difference: the torchvision layer's field where it differs from ours.
struct Diff {
    int layer;
    const char* field;
    int64_t torchvision;
};

int64_t& field(LayerShape& s, const std::string& f) {
    static const std::map<std::string, int64_t LayerShape::*> fields = {
        {"C", &LayerShape::C},
        {"M", &LayerShape::M},
        {"R", &LayerShape::R},
        {"S", &LayerShape::S},
        {"H", &LayerShape::H},
        {"W", &LayerShape::W},
        {"P", &LayerShape::P},
        {"Q", &LayerShape::Q},
        {"G", &LayerShape::G},
        {"Hstride", &LayerShape::Hstride},
        {"Wstride", &LayerShape::Wstride},
        {"Hpad", &LayerShape::Hpad},
        {"Wpad", &LayerShape::Wpad}};
    return s.*fields.at(f);
}

/// Every torchvision conv layer equals the built-in's with the documented differences
/// applied (`grid` gives the torchvision layer's input and output size from ours, for the
/// networks whose grid differs); the built-in's linear layers (kLinear, no conv layers
/// there) follow as conv layers in the ONNX network. Returns the number of conv layers that
/// differ in any field.
int cross_check(const std::string& fixture, const std::string& builtin,
                const std::vector<Diff>& diffs,
                const std::function<void(int, LayerShape&)>& grid = nullptr) {
    const Network tv = read_onnx_network(kFixtures + fixture);
    const Network ours = builtin_network(builtin);
    const auto t = tv.conv_layers();
    const auto o = ours.conv_layers();
    std::vector<const Op*> linear;  // our kLinear ops: conv layers in an ONNX network
    for (const Op& op : ours.ops)
        if (op.kind == OpKind::kLinear) linear.push_back(&op);
    EXPECT_EQ(t.size(), o.size() + linear.size()) << "torchvision's linear layers are extra";
    if (t.size() != o.size() + linear.size()) return -1;
    int differing = 0;
    int64_t expected_macs = 0;
    for (size_t i = 0; i < o.size(); ++i) {
        SCOPED_TRACE(fixture + " layer " + std::to_string(i) + " (" + o[i].name + " / " +
                     t[i].name + ")");
        LayerShape want = o[i].shape;
        if (grid) grid(static_cast<int>(i), want);
        for (const Diff& d : diffs)
            if (d.layer == static_cast<int>(i)) field(want, d.field) = d.torchvision;
        differing += want != o[i].shape;
        LayerShape got = t[i].shape;
        for (const char* f :
             {"C", "M", "R", "S", "H", "W", "P", "Q", "G", "Hstride", "Wstride", "Hpad", "Wpad"})
            EXPECT_EQ(field(got, f), field(want, f)) << f;
        EXPECT_EQ(t[i].shape.macs(), want.macs());
        EXPECT_EQ(t[i].input_sparse, o[i].input_sparse);
        expected_macs += want.macs();
    }
    // The linear layers, in order after the convs: ours as convs whose filter covers the
    // whole input (1x1 after global pooling), with our features and outputs.
    for (size_t k = 0; k < linear.size(); ++k) {
        const Op& in = ours.ops[static_cast<size_t>(linear[k]->inputs.at(0))];
        const LayerShape& fc = t[o.size() + k].shape;
        SCOPED_TRACE(fixture + " linear layer " + linear[k]->name + " / " + t[o.size() + k].name);
        EXPECT_EQ(fc.C * fc.R * fc.S, in.numel());
        EXPECT_EQ(fc.C, in.channels);
        EXPECT_EQ(fc.R, in.height);
        EXPECT_EQ(fc.M, linear[k]->channels);
        EXPECT_EQ(fc.P * fc.Q, 1);
        expected_macs += fc.macs();
    }
    EXPECT_EQ(tv.conv_macs(), expected_macs);
    EXPECT_EQ(tv.num_classes, ours.num_classes);
    return differing;
}

// torchvision vgg16 at 224x224 vs vgg16, which is defined as torchvision's: no difference
// in any of the 13 conv layers; the three linear layers follow (classifier.0 a 7x7 conv over
// the 512x7x7 pooled map, torchvision's AdaptiveAvgPool2d((7, 7)) being the identity there).
TEST(OnnxCrossCheck, Vgg16) { EXPECT_EQ(cross_check("vgg16.onnx", "vgg16", {}), 0); }

// torchvision mobilenet_v2 at 32x32 vs mobilenetv2-cifar: the CIFAR strides (stem stride 1
// and the first 24-channel block's depthwise stride 1, torchvision 2) make our grid twice
// torchvision's after the stem and four times after features.2's depthwise conv.
TEST(OnnxCrossCheck, MobileNetV2) {
    const std::vector<Diff> diffs = {
        {0, "Hstride", 2}, {0, "Wstride", 2}, {4, "Hstride", 2}, {4, "Wstride", 2}};
    const Network ours = builtin_network("mobilenetv2-cifar");
    ASSERT_EQ(ours.conv_layers()[4].name, "features.2.dw");
    auto grid = [](int i, LayerShape& s) {
        const int64_t in = i == 0 ? 1 : i <= 4 ? 2 : 4;
        const int64_t out = i < 4 ? 2 : 4;
        s.H /= in;
        s.W /= in;
        s.P /= out;
        s.Q /= out;
    };
    EXPECT_EQ(cross_check("mobilenet_v2.onnx", "mobilenetv2-cifar", diffs, grid), 52);
}

// torchvision squeezenet1_1 at 32x32 vs squeezenet-cifar: v1.1's 64-channel unpadded
// stride-2 stem and 3x3/2 ceil-mode pools after the stem, fire3 and fire5 (ours: 96-channel
// stride-1 stem with pad 1, 2x2/2 pools after the stem, fire4 and fire8); the channel widths
// of fire2..fire9 agree except fire2's input (64, ours 96). Grid: torchvision 32 -> 15 -> 7
// (fire2-3) -> 3 (fire4-5) -> 1 (fire6-9, conv10); ours 32 -> 16 (fire2-4) -> 8 (fire5-8) -> 4
// (fire9).
TEST(OnnxCrossCheck, SqueezeNet11) {
    const std::vector<Diff> diffs = {{0, "M", 64},   {0, "Hstride", 2}, {0, "Wstride", 2},
                                     {0, "Hpad", 0}, {0, "Wpad", 0},    {1, "C", 64}};
    auto grid = [](int i, LayerShape& s) {
        // Layer 0 is the stem, then three per fire module (fire2 = layers 1-3), conv10 last.
        const int fire = i == 0 ? 0 : i == 25 ? 10 : 2 + (i - 1) / 3;
        const int64_t size = fire <= 3 ? 7 : fire <= 5 ? 3 : 1;
        if (i == 0) {
            s.P = s.Q = 15;
            return;
        }
        s.H = s.W = s.P = s.Q = size;
        // A 3x3 expand with pad 1 stays same-size at every grid, 1x1 too.
    };
    EXPECT_EQ(cross_check("squeezenet1_1.onnx", "squeezenet-cifar", diffs, grid), 26);
}

// torchvision inception_v3 at 259x259 vs inceptionv3-cifar at 32x32: 259 is the smallest
// input at which torchvision's stride-2 stem and its two max-pools leave Mixed_5b a 30x30
// grid, the built-in's after its stride-1 stem, so every Inception block matches layer for
// layer except InceptionA's pool-branch conv (torchvision 1x1, the source ours follows 3x3
// pad 1) and the order of InceptionC's 1x7/7x1 pair. The five stem convs differ in stride,
// padding and grid.
TEST(OnnxCrossCheck, InceptionV3) {
    std::vector<Diff> diffs = {
        // Conv2d_1a_3x3: stride 2, unpadded, 259 -> 129.
        {0, "Hstride", 2},
        {0, "Wstride", 2},
        {0, "Hpad", 0},
        {0, "Wpad", 0},
        {0, "H", 259},
        {0, "W", 259},
        {0, "P", 129},
        {0, "Q", 129},
        // Conv2d_2a_3x3: unpadded, 129 -> 127.
        {1, "Hpad", 0},
        {1, "Wpad", 0},
        {1, "H", 129},
        {1, "W", 129},
        {1, "P", 127},
        {1, "Q", 127},
        // Conv2d_2b_3x3: pad 1 as ours, at 127; then max-pool 3/2 -> 63.
        {2, "H", 127},
        {2, "W", 127},
        {2, "P", 127},
        {2, "Q", 127},
        // Conv2d_3b_1x1 at 63.
        {3, "H", 63},
        {3, "W", 63},
        {3, "P", 63},
        {3, "Q", 63},
        // Conv2d_4a_3x3: unpadded as ours, 63 -> 61; then max-pool 3/2 -> 30.
        {4, "H", 63},
        {4, "W", 63},
        {4, "P", 61},
        {4, "Q", 61}};
    // InceptionA's pool branch (Mixed_5b/5c/5d, the 7th conv of each, layers 11, 18, 25).
    for (int l : {11, 18, 25})
        for (Diff d : {Diff{l, "R", 1}, Diff{l, "S", 1}, Diff{l, "Hpad", 0}, Diff{l, "Wpad", 0}})
            diffs.push_back(d);
    // InceptionC's branch7x7 (Mixed_6b-6e, layers 32-33, 42-43, 52-53, 62-63): torchvision
    // factorises 1x7 (pad 0, 3) then 7x1 (pad 3, 0), the source ours follows 7x1 then 1x7.
    // Same MACs on the square grid. (The 7x7 stack's order is the same in both.)
    for (int l : {32, 42, 52, 62}) {
        for (Diff d : {Diff{l, "R", 1}, Diff{l, "S", 7}, Diff{l, "Hpad", 0}, Diff{l, "Wpad", 3},
                       Diff{l + 1, "R", 7}, Diff{l + 1, "S", 1}, Diff{l + 1, "Hpad", 3},
                       Diff{l + 1, "Wpad", 0}})
            diffs.push_back(d);
    }
    const Network ours = builtin_network("inceptionv3-cifar");
    const auto layers = ours.conv_layers();
    for (int l : {11, 18, 25})
        ASSERT_NE(layers[static_cast<size_t>(l)].name.find("branchpool.1"), std::string::npos);
    for (int l : {32, 42, 52, 62}) {
        ASSERT_NE(layers[static_cast<size_t>(l)].name.find("branch7x7.1"), std::string::npos);
        ASSERT_NE(layers[static_cast<size_t>(l + 1)].name.find("branch7x7.2"), std::string::npos);
    }
    EXPECT_EQ(cross_check("inception_v3.onnx", "inceptionv3-cifar", diffs), 5 + 3 + 8);
}

}  // namespace
}  // namespace actsparse::core
