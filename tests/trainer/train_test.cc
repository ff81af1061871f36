// End-to-end runs on a tiny Fashion-MNIST-shaped folder: resume reproduces an uninterrupted
// run, bad input is refused, the summary's predicted costs, and trace export.
#include "trainer/train.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "core/network.h"
#include "core/trace.h"
#include "tests/trainer/test_util.h"
#include "trainer/batches.h"
#include "trainer/calibration.h"
#include "trainer/checkpoint.h"
#include "trainer/datasets.h"
#include "trainer/graph_net.h"
#include "trainer/quantise.h"
#include "trainer/steps.h"
#include "trainer/summary.h"

namespace actsparse::trainer {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr double kWidth = 0.125;
const char* kNet = "squeezenet-fmnist";

/// Shared tiny dataset: 120 training images (96 train + 24 val), 40 test images.
class TrainTest : public testing::Test {
  protected:
    static void SetUpTestSuite() {
        data_ = new TempDir("train-data");
        write_fmnist_dir(data_->path(), 120, 40);
    }
    static void TearDownTestSuite() {
        delete data_;
        data_ = nullptr;
    }

    TrainOptions options(const std::string& out) const {
        TrainOptions o;
        o.net = kNet;
        o.dataset = "fashion-mnist";
        o.data = data_->path();
        o.out = out;
        o.width = kWidth;
        o.epochs = 2;
        o.batch_size = 16;
        o.limit_batches = 3;
        o.val_fraction = 0.2;
        o.threads = 2;
        o.seed = 11;
        o.progress = false;
        return o;
    }

    static TempDir* data_;
};
TempDir* TrainTest::data_ = nullptr;

json read_json(const std::string& path) { return json::parse(core::read_file(path)); }

std::vector<json> read_log(const std::string& run) {
    std::vector<json> lines;
    std::ifstream in(run + "/log.jsonl");
    std::string line;
    while (std::getline(in, line)) {
        json j = json::parse(line);
        j.erase("seconds");  // wall clock
        lines.push_back(j);
    }
    return lines;
}

/// Every parameter and buffer of two checkpoints, bit for bit.
void expect_same_weights(const std::string& a, const std::string& b) {
    const core::Network net = core::builtin_network(kNet, {1, kWidth, 0});
    GraphNet ma(net), mb(net);
    load_checkpoint(a, ma, nullptr, false, torch::kCPU);
    load_checkpoint(b, mb, nullptr, false, torch::kCPU);
    const auto pa = ma->named_parameters(), pb = mb->named_parameters();
    for (const auto& p : pa) EXPECT_TRUE(torch::equal(p.value(), pb[p.key()])) << p.key();
    const auto ba = ma->named_buffers(), bb = mb->named_buffers();
    for (const auto& p : ba) EXPECT_TRUE(torch::equal(p.value(), bb[p.key()])) << p.key();
}

TEST_F(TrainTest, ResumeMatchesUninterruptedRun) {
    TempDir runs("resume");
    TrainOptions a = options(runs / "a");
    a.method = "sparsity-targeting";  // the penalty's state must resume too
    a.lambda2 = 0.01;
    ASSERT_EQ(run_training(a).status, TrainStatus::kCompleted);

    TrainOptions b = a;
    b.out = runs / "b";
    interrupt_after_steps_for_testing(2);  // mid epoch 1
    TrainResult r = run_training(b);
    ASSERT_EQ(r.status, TrainStatus::kInterrupted) << r.message;
    EXPECT_NE(r.message.find("epoch 1, batch 2"), std::string::npos) << r.message;
    EXPECT_FALSE(fs::exists(b.out + "/summary.json"));
    b.resume = true;
    interrupt_after_steps_for_testing(1);  // the last batch of epoch 1, before its eval
    r = run_training(b);
    ASSERT_EQ(r.status, TrainStatus::kInterrupted) << r.message;
    EXPECT_NE(r.message.find("epoch 1, batch 3"), std::string::npos) << r.message;
    EXPECT_FALSE(fs::exists(b.out + "/log.jsonl"));
    interrupt_after_steps_for_testing(1);  // epoch 1 ends, then one batch of epoch 2
    r = run_training(b);
    ASSERT_EQ(r.status, TrainStatus::kInterrupted) << r.message;
    EXPECT_NE(r.message.find("epoch 2, batch 1"), std::string::npos) << r.message;
    r = run_training(b);
    ASSERT_EQ(r.status, TrainStatus::kCompleted) << r.message;

    expect_same_weights(a.out + "/checkpoint.pt", b.out + "/checkpoint.pt");
    EXPECT_EQ(read_log(a.out), read_log(b.out));
    const json sa = read_json(a.out + "/summary.json"), sb = read_json(b.out + "/summary.json");
    EXPECT_EQ(sa["test"], sb["test"]);
    EXPECT_EQ(sa["steps"], 6);
    EXPECT_EQ(read_checkpoint_meta(b.out + "/checkpoint.pt")["epoch"], 2);
}

TEST_F(TrainTest, WritesConfigLogAndSummary) {
    TempDir runs("files");
    TrainOptions o = options(runs / "r");
    ASSERT_EQ(run_training(o).status, TrainStatus::kCompleted);
    const json config = read_json(o.out + "/config.json");
    EXPECT_EQ(config["schema"], "actsparse.train-config/1");
    EXPECT_EQ(config["options"]["lr"], 0.05);  // the default, resolved
    EXPECT_EQ(config["derived"]["dataset"]["train_images"], 96);
    EXPECT_EQ(config["derived"]["batches_per_epoch"], 3);
    EXPECT_EQ(train_options_from_json(config["options"], "config").net, kNet);

    const auto log = read_log(o.out);
    ASSERT_EQ(log.size(), 2u);
    EXPECT_EQ(log[1]["epoch"], 2);
    EXPECT_EQ(log[1]["step"], 6);
    EXPECT_EQ(log[0]["train"]["images"], 48);
    EXPECT_EQ(log[0]["val"]["images"], 24);
    EXPECT_EQ(log[0]["train"]["penalty"], 0.0);
    const auto n_layers = core::builtin_network(kNet, {1, kWidth, 0}).conv_layers().size();
    ASSERT_EQ(log[0]["layers"].size(), n_layers);
    EXPECT_TRUE(log[0]["layers"][0]["train_density"].is_null());  // the image: not counted
    EXPECT_EQ(log[0]["layers"][0]["val_density"], 1.0);           // and dense
    EXPECT_GT(log[0]["layers"][1]["train_density"].get<double>(), 0.0);
    const double d1 = log[0]["layers"][1]["val_density"];
    EXPECT_GT(d1, 0.0);
    EXPECT_LT(d1, 1.0);  // after a ReLU

    const json s = read_json(o.out + "/summary.json");
    EXPECT_EQ(s["network"], kNet);
    EXPECT_EQ(s["test"]["images"], 40);
    EXPECT_EQ(s["test"]["layers"].size(), n_layers);
    EXPECT_TRUE(s["predicted"].is_null());

    // A second run into the same folder must say --resume.
    EXPECT_THROW(run_training(o), core::InputError);
    // Resuming a finished run says so and neither trains nor rewrites anything.
    const auto stamp = [&](const std::string& f) { return fs::last_write_time(o.out + "/" + f); };
    const auto config_time = stamp("config.json"), ckpt_time = stamp("checkpoint.pt"),
               summary_time = stamp("summary.json");
    const std::string log_before = core::read_file(o.out + "/log.jsonl");
    o.resume = true;
    const TrainResult again = run_training(o);
    EXPECT_EQ(again.status, TrainStatus::kCompleted);
    EXPECT_NE(again.message.find("is finished"), std::string::npos) << again.message;
    EXPECT_EQ(stamp("config.json"), config_time);
    EXPECT_EQ(stamp("checkpoint.pt"), ckpt_time);
    EXPECT_EQ(stamp("summary.json"), summary_time);
    EXPECT_EQ(core::read_file(o.out + "/log.jsonl"), log_before);
    o.lr = 0.1;
    try {
        run_training(o);
        FAIL() << "no error";
    } catch (const core::InputError& e) {
        EXPECT_NE(std::string(e.what()).find("option lr is 0.1"), std::string::npos) << e.what();
    }
}

/// A calibration for the test network in the paper's form (like the fixture's generator):
/// Map(l) 1.5 for 1x1 convs, 1 for the others.
std::string write_calibration(const std::string& path) {
    return write_paper_calibration(path, kNet, kWidth, [](const core::ConvLayer& l) {
        return static_cast<double>(l.shape.macs()) * (l.shape.R == 1 ? 1.5 : 1.0);
    });
}

TEST_F(TrainTest, FineTunesWithHybridPenaltyAndPredictsCosts) {
    TempDir runs("hybrid");
    TrainOptions base = options(runs / "base");
    base.epochs = 1;
    ASSERT_EQ(run_training(base).status, TrainStatus::kCompleted);

    TrainOptions o = options(runs / "hybrid");
    o.epochs = 1;
    o.method = "proposed-hybrid";
    o.calibration = write_calibration(runs / "calib.json");
    o.init = base.out;
    o.baseline_run = base.out;
    o.lambda1 = 0.05;
    o.lambda2 = 0.05;
    ASSERT_EQ(run_training(o).status, TrainStatus::kCompleted);

    const json config = read_json(o.out + "/config.json");
    EXPECT_EQ(config["options"]["lr"], 0.005);  // fine-tuning default
    const auto& pl = config["derived"]["penalty"]["layers"];
    double mean_w = 0.0;
    for (const auto& l : pl) mean_w += l["weight"].get<double>();
    EXPECT_NEAR(mean_w / pl.size(), 1.0, 1e-9);

    const auto log = read_log(o.out);
    EXPECT_GT(log[0]["train"]["l1"].get<double>(), 0.0);
    EXPECT_GT(log[0]["train"]["hoyer"].get<double>(), 0.0);

    const json s = read_json(o.out + "/summary.json");
    const json b = read_json(base.out + "/summary.json");
    const Calibration calib = load_calibration(o.calibration);
    std::vector<double> dr, db;
    for (const auto& l : s["test"]["layers"]) dr.push_back(l["density"]);
    for (const auto& l : b["test"]["layers"]) db.push_back(l["density"]);
    const auto& p = s["predicted"];
    EXPECT_NEAR(p["energy_pj"].get<double>(), calib.predicted_energy_pj(dr), 1e-6);
    EXPECT_NEAR(p["baseline_energy_pj"].get<double>(), calib.predicted_energy_pj(db), 1e-6);
    EXPECT_NEAR(p["energy_ratio"].get<double>(),
                calib.predicted_energy_pj(dr) / calib.predicted_energy_pj(db), 1e-12);
    EXPECT_NEAR(p["speedup"].get<double>(), calib.predicted_cycles(db) / calib.predicted_cycles(dr),
                1e-12);
    EXPECT_EQ(p["baseline_density"], "quantised");  // both runs' densities as traces hold them
}

TEST_F(TrainTest, RefusesBadInput) {
    TempDir runs("bad");
    auto message = [&](auto edit) {
        TrainOptions o = options(runs / "x");
        edit(o);
        try {
            run_training(o);
        } catch (const core::InputError& e) {
            // Bad input leaves no run folder behind.
            EXPECT_FALSE(fs::exists(o.out)) << e.what();
            return std::string(e.what());
        }
        return std::string("no error");
    };
    auto starts = [](const std::string& s, const std::string& prefix) {
        return s.rfind(prefix, 0) == 0;
    };
    EXPECT_TRUE(starts(message([](auto& o) { o.method = "l0"; }), "--method"));
    EXPECT_TRUE(starts(message([](auto& o) { o.method = "proposed-hoyer"; }), "--calibration"));
    EXPECT_TRUE(starts(message([](auto& o) {
                           o.method = "sparsity-targeting";
                           o.lambda1 = 0.1;
                       }),
                       "--lambda1"));
    EXPECT_TRUE(starts(message([](auto& o) { o.alpha = 2.0; }), "--alpha"));
    EXPECT_TRUE(starts(message([](auto& o) { o.net = "mobilenetv2-cifar"; }), "--net"));
    EXPECT_TRUE(starts(message([](auto& o) { o.net = "resnet"; }), "--net"));
    EXPECT_TRUE(starts(message([](auto& o) { o.dataset = "mnist"; }), "--dataset"));
    // A dataset folder without the dataset, and CIFAR-10 without --data.
    EXPECT_NE(message([&](auto& o) { o.data = runs.path(); }), "no error");
    EXPECT_NE(message([](auto& o) {
                  o.dataset = "cifar10";
                  o.data.clear();
              }),
              "no error");
    EXPECT_TRUE(starts(message([](auto& o) { o.device = "tpu"; }), "--device"));
    EXPECT_TRUE(starts(message([](auto& o) { o.batch_size = 0; }), "--batch-size"));
    EXPECT_TRUE(starts(message([](auto& o) { o.batch_size = 1000; }), "--batch-size"));
    EXPECT_TRUE(starts(message([](auto& o) { o.init = "/nonexistent"; }), "--init"));
    EXPECT_TRUE(
        starts(message([](auto& o) { o.baseline_run = "/nonexistent"; }), "--baseline-run"));
    if (!torch::cuda::is_available()) {
        EXPECT_TRUE(starts(message([](auto& o) { o.device = "cuda"; }), "--device"));
    }

    // A checkpoint of another width.
    TrainOptions other = options(runs / "other");
    other.width = 0.25;
    other.epochs = 0;
    ASSERT_EQ(run_training(other).status, TrainStatus::kCompleted);
    EXPECT_TRUE(starts(message([&](auto& o) { o.init = other.out; }), "--init"));
}

TEST_F(TrainTest, NonFiniteLossStops) {
    TempDir runs("nan");
    TrainOptions o = options(runs / "nan");
    o.method = "sparsity-targeting";
    o.lambda2 = 1e300;  // the penalty overflows to inf in float
    const TrainResult r = run_training(o);
    EXPECT_EQ(r.status, TrainStatus::kDiverged);
    EXPECT_NE(r.message.find("non-finite loss"), std::string::npos) << r.message;
    EXPECT_FALSE(fs::exists(o.out + "/checkpoint.pt"));
    EXPECT_FALSE(fs::exists(o.out + "/summary.json"));
}

TEST_F(TrainTest, ExportsExactTraces) {
    TempDir runs("export");
    TrainOptions o = options(runs / "r");
    o.epochs = 1;
    ASSERT_EQ(run_training(o).status, TrainStatus::kCompleted);
    ExportOptions e;
    e.run = o.out;
    e.out = runs / "traces";
    e.images = 2;
    e.threads = 2;
    const ExportSummary written = export_traces(e);
    EXPECT_EQ(written.manifest, e.out + "/manifest.json");

    const json m = read_json(e.out + "/manifest.json");
    const core::Network net = core::builtin_network(kNet, {1, kWidth, 0});
    const auto layers = net.conv_layers(2);
    ASSERT_EQ(m["layers"].size(), layers.size());
    EXPECT_EQ(m["images"], 2);
    EXPECT_EQ(written.traces, static_cast<int64_t>(layers.size()));
    int64_t bytes = 0;
    for (const auto& l : m["layers"])
        bytes += static_cast<int64_t>(fs::file_size(e.out + "/" + l["file"].get<std::string>()));
    EXPECT_EQ(written.bytes, bytes);

    // The float model's BN outputs, to check the folded weights and bias.
    GraphNet model(net);
    load_checkpoint(o.out + "/checkpoint.pt", model, nullptr, false, torch::kCPU);
    model->eval();
    const DatasetFiles data = load_dataset(DatasetKind::kFashionMnist, data_->path());
    const int64_t idx[] = {0, 1};
    const Batch batch =
        make_batch(data.test, dataset_info(DatasetKind::kFashionMnist), idx, 2, false, 0);
    torch::NoGradGuard no_grad;
    const auto fwd = model->forward_capture(batch.images, std::vector<bool>(layers.size(), true));

    for (size_t i = 0; i < layers.size(); ++i) {
        SCOPED_TRACE(layers[i].name);
        const auto& ml = m["layers"][i];
        // Zero-padded indices: the files sort in layer order.
        const std::string index = (i < 10 && layers.size() > 10 ? "0" : "") + std::to_string(i);
        EXPECT_EQ(ml["file"], index + "_" + layers[i].name + ".trace");
        const core::Trace t = core::read_trace(e.out + "/" + ml["file"].get<std::string>());
        EXPECT_EQ(t.shape, layers[i].shape);
        EXPECT_EQ(t.layer, layers[i].name);
        EXPECT_EQ(t.frac_bits, ml["frac_bits"]);
        EXPECT_DOUBLE_EQ(t.density(), ml["density"].get<double>());
        EXPECT_EQ(t.ofmap_acc, core::reference_conv(t.shape, t.ifmap, t.weight));
        ASSERT_EQ(t.ifmap_float.size(), t.ifmap.size());

        // acc * 2^-2f + bias is BN(conv(x)) (conv(x) + bias where no BN follows).
        const auto bias = json::parse(t.extra.at("bias")).get<std::vector<double>>();
        const torch::Tensor acc = torch::tensor(t.ofmap_acc, torch::kFloat64)
                                      .reshape({t.shape.N, t.shape.M, t.shape.P, t.shape.Q});
        const torch::Tensor deq = acc * std::ldexp(1.0, -2 * static_cast<int>(t.frac_bits)) +
                                  torch::tensor(bias, torch::kFloat64).view({1, -1, 1, 1});
        torch::Tensor ref = model->conv(static_cast<int>(i))->forward(fwd.conv_inputs[i]);
        auto bn = model->bn_after(static_cast<int>(i));
        EXPECT_EQ(t.extra.at("bn_folded"), bn.is_empty() ? "false" : "true");
        if (!bn.is_empty()) ref = bn->forward(ref);
        const double err = (deq - ref.to(torch::kFloat64)).abs().max().item<double>();
        const double scale = ref.abs().max().item<double>();
        EXPECT_LT(err, 0.02 * scale + 1e-3) << "frac_bits " << t.frac_bits;
    }
    EXPECT_THROW(export_traces({o.out, "", e.out, 100000, 2, true}), core::InputError);
}

// The summary's densities are those of the activations quantised as the traces hold them:
// one f per layer fixed by the run from its validation split, used by trace export, so the
// traces of exactly the summary's test images have exactly its densities.
TEST_F(TrainTest, SummaryDensitiesAreTheTraceDensities) {
    TempDir runs("quantised");
    TrainOptions o = options(runs / "r");
    o.epochs = 1;
    ASSERT_EQ(run_training(o).status, TrainStatus::kCompleted);
    const json s = read_json(o.out + "/summary.json");
    const json& q = s["quantisation"];
    EXPECT_EQ(q["source"], "validation");
    EXPECT_EQ(q["images"], 24);
    EXPECT_EQ(s["val"]["images"], 24);
    const core::Network net = core::builtin_network(kNet, {1, kWidth, 0});
    const auto layers = net.conv_layers(1);
    ASSERT_EQ(q["layers"].size(), layers.size());

    // f = min(f of the validation maximum, f of the folded weights' maximum).
    GraphNet model(net);
    load_checkpoint(o.out + "/checkpoint.pt", model, nullptr, false, torch::kCPU);
    for (size_t i = 0; i < layers.size(); ++i) {
        SCOPED_TRACE(layers[i].name);
        const json& ql = q["layers"][i];
        const FoldedConv fc = fold_conv(model, static_cast<int>(i));
        EXPECT_EQ(ql["weight_max"].get<double>(), fc.weight.abs().max().item<double>());
        EXPECT_GT(ql["act_max"].get<double>(), 0.0);
        EXPECT_EQ(ql["frac_bits"].get<int64_t>(),
                  std::min(frac_bits_for(ql["act_max"].get<double>()),
                           frac_bits_for(ql["weight_max"].get<double>())));
    }

    // Traces of all 40 test images: the summary's test densities, exactly.
    ExportOptions e;
    e.run = o.out;
    e.out = runs / "traces";
    e.images = 40;
    e.threads = 2;
    export_traces(e);
    const json m = read_json(e.out + "/manifest.json");
    EXPECT_EQ(m["frac_bits_source"], "validation");
    ASSERT_EQ(m["layers"].size(), layers.size());
    int quantisation_zeroed = 0;  // layers where quantising zeroes values (it must, somewhere)
    for (size_t i = 0; i < layers.size(); ++i) {
        SCOPED_TRACE(layers[i].name);
        const json &ml = m["layers"][i], &tl = s["test"]["layers"][i];
        EXPECT_EQ(ml["frac_bits"], q["layers"][i]["frac_bits"]);
        EXPECT_EQ(ml["density"].get<double>(), tl["density"].get<double>());
        EXPECT_EQ(ml["density_float"].get<double>(), tl["density_float"].get<double>());
        const core::Trace t = core::read_trace(e.out + "/" + ml["file"].get<std::string>());
        EXPECT_EQ(t.density(), tl["density"].get<double>());
        EXPECT_EQ(t.extra.at("frac_bits_source"), "validation");
        if (tl["density"].get<double>() < tl["density_float"].get<double>()) ++quantisation_zeroed;
    }
    EXPECT_GT(quantisation_zeroed, 0);
    std::vector<double> q_density;
    for (const auto& l : s["test"]["layers"]) q_density.push_back(l["density"]);
    EXPECT_EQ(s["test"]["mean_density"].get<double>(), mean_sparse_density(layers, q_density));
    bool quantised = false;
    EXPECT_EQ(read_run_densities(o.out, net, &quantised), q_density);
    EXPECT_TRUE(quantised);

    // A summary from before quantisation (no such entry): export falls back to f from the
    // exported images, and the baseline reader takes its float densities.
    json old = s;
    old.erase("quantisation");
    old.erase("val");
    for (auto& l : old["test"]["layers"]) {
        l["density"] = l["density_float"];
        l.erase("density_float");
    }
    core::write_file_atomic(o.out + "/summary.json", old.dump(2));
    e.out = runs / "traces-old";
    e.images = 2;
    export_traces(e);
    const json mo = read_json(e.out + "/manifest.json");
    EXPECT_EQ(mo["frac_bits_source"], "images");
    EXPECT_EQ(read_run_densities(o.out, net, &quantised)[1],
              s["test"]["layers"][1]["density_float"].get<double>());
    EXPECT_FALSE(quantised);
    // Another checkpoint than the run's final one: its own images decide too.
    core::write_file_atomic(o.out + "/summary.json", s.dump(2));
    fs::copy_file(o.out + "/checkpoint.pt", runs / "other.pt");
    e.checkpoint = runs / "other.pt";
    e.out = runs / "traces-other";
    export_traces(e);
    EXPECT_EQ(read_json(e.out + "/manifest.json")["frac_bits_source"], "images");
    EXPECT_EQ(read_json(e.out + "/manifest.json")["layers"], mo["layers"]);

    // Export takes the recorded f as it stands: a coarser one zeroes more values.
    e.checkpoint.clear();
    json coarse = s;
    coarse["quantisation"]["layers"][1]["frac_bits"] = 2;
    core::write_file_atomic(o.out + "/summary.json", coarse.dump(2));
    e.out = runs / "traces-coarse";
    e.images = 40;
    export_traces(e);
    const json mc = read_json(e.out + "/manifest.json");
    EXPECT_EQ(mc["layers"][1]["frac_bits"], 2);
    EXPECT_LT(mc["layers"][1]["density"].get<double>(),
              s["test"]["layers"][1]["density"].get<double>());
    EXPECT_EQ(mc["layers"][2]["density"], m["layers"][2]["density"]);

    // A recorded f outside [0, 15] is bad input naming the field.
    json bad = s;
    bad["quantisation"]["layers"][3]["frac_bits"] = 16;
    core::write_file_atomic(o.out + "/summary.json", bad.dump(2));
    try {
        export_traces(e);
        FAIL() << "no error";
    } catch (const core::InputError& ex) {
        EXPECT_NE(std::string(ex.what()).find("quantisation.layers[3].frac_bits"),
                  std::string::npos)
            << ex.what();
    }
}

TEST_F(TrainTest, PortableWeightsStandInForTheCheckpoint) {
    TempDir runs("portable");
    TrainOptions o = options(runs / "r");
    o.epochs = 1;
    ASSERT_EQ(run_training(o).status, TrainStatus::kCompleted);
    const std::string st = o.out + "/model.safetensors";
    ASSERT_TRUE(fs::exists(st));
    expect_same_weights(o.out + "/checkpoint.pt", st);
    EXPECT_EQ(read_checkpoint_meta(st)["epoch"],
              read_checkpoint_meta(o.out + "/checkpoint.pt")["epoch"]);

    // A run copied without checkpoint.pt (e.g. trained on another machine's LibTorch).
    const std::string copy = runs / "copy";
    fs::create_directories(copy);
    fs::copy_file(st, copy + "/model.safetensors");
    EXPECT_EQ(resolve_checkpoint_path(copy), copy + "/model.safetensors");
    EXPECT_EQ(resolve_checkpoint_path(o.out), o.out + "/checkpoint.pt");
    TrainOptions f = options(runs / "ft");
    f.init = copy;
    f.epochs = 1;
    f.limit_batches = 1;
    ASSERT_EQ(run_training(f).status, TrainStatus::kCompleted);

    // Weights only: asking it for the optimizer state is an input error.
    const core::Network net = core::builtin_network(kNet, {1, kWidth, 0});
    GraphNet m(net);
    torch::optim::SGD opt(m->parameters(), torch::optim::SGDOptions(0.1));
    EXPECT_THROW(load_checkpoint(st, m, &opt, false, torch::kCPU), core::InputError);
    // A truncated file names itself.
    const std::string bad = runs / "bad.safetensors";
    {
        std::ofstream out(bad, std::ios::binary);
        out << core::read_file(st).substr(0, 40);
    }
    EXPECT_THROW(load_checkpoint(bad, m, nullptr, false, torch::kCPU), core::InputError);
}

TEST_F(TrainTest, EvaluateOnlyWithZeroEpochs) {
    TempDir runs("eval");
    TrainOptions o = options(runs / "r");
    o.epochs = 0;
    ASSERT_EQ(run_training(o).status, TrainStatus::kCompleted);
    EXPECT_TRUE(fs::exists(o.out + "/checkpoint.pt"));
    EXPECT_EQ(read_json(o.out + "/summary.json")["steps"], 0);
}

}  // namespace
}  // namespace actsparse::trainer
