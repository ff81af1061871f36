// The paper's central claim, on a tiny network and a few deterministic steps (issue 14 item 5):
//  1. a penalised fine-tune lowers the calibrated predicted energy and the mean input density
//     compared with the same steps from the same start without the penalty;
//  2. where the layers' costs differ, weighting the penalty by them lowers the predicted
//     energy more than the uniform penalty at equal strength: proposed-hoyer against
//     sparsity-targeting (same Hoyer strength), proposed-hybrid against the same hybrid with
//     every weight forced to 1, and proposed-hybrid against sparsity-targeting (the paper's
//     comparison; the hybrid adds its L1 term);
//  3. where every layer costs the same, the weighting is the identity: proposed-hoyer and
//     sparsity-targeting train the same weights bit for bit.
// Every run starts from one baseline checkpoint, uses the same seed, batches and learning
// rate, and differs only in the penalty, so the comparisons are about the penalty alone.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <string>

#include "core/error.h"
#include "core/network.h"
#include "tests/trainer/test_util.h"
#include "trainer/calibration.h"
#include "trainer/checkpoint.h"
#include "trainer/graph_net.h"
#include "trainer/train.h"

namespace actsparse::trainer {
namespace {

using nlohmann::json;

constexpr double kWidth = 0.125;
const char* kNet = "squeezenet-fmnist";

json read_json(const std::string& path) { return json::parse(core::read_file(path)); }

/// A calibration whose layer l costs u_l = cost(layer) (see write_paper_calibration).
template <typename Cost>
std::string write_calibration(const std::string& path, Cost cost) {
    return write_paper_calibration(path, kNet, kWidth, cost);
}

struct Outcome {
    double energy_pj = 0.0;     ///< predicted by the calibration at the test densities
    double mean_density = 0.0;  ///< over the penalised (sparse-input) layers
};

class CentralClaim : public testing::Test {
  protected:
    static void SetUpTestSuite() {
        dir_ = new TempDir("claim");
        std::filesystem::create_directories((*dir_) / "data");
        write_fmnist_dir((*dir_) / "data", 160, 48);
        TrainOptions b = options("baseline");
        b.epochs = 2;
        b.limit_batches = 6;
        b.lr = 0.05;
        if (run_training(b).status != TrainStatus::kCompleted) std::abort();
    }
    static void TearDownTestSuite() {
        delete dir_;
        dir_ = nullptr;
    }

    static TrainOptions options(const std::string& name) {
        TrainOptions o;
        o.net = kNet;
        o.dataset = "fashion-mnist";
        o.data = (*dir_) / "data";
        o.out = (*dir_) / name;
        o.width = kWidth;
        o.batch_size = 16;
        o.val_fraction = 0.2;
        o.threads = 2;
        o.seed = 5;
        o.progress = false;
        return o;
    }

    /// Fine-tunes the baseline for the same 6 steps with `method` at the given strengths.
    static Outcome fine_tune(const std::string& name, const std::string& method,
                             const std::string& calibration, double lambda1, double lambda2,
                             const std::string& penalty_config = "") {
        TrainOptions o = options(name);
        o.init = (*dir_) / "baseline";
        o.baseline_run = o.init;
        o.calibration = calibration;
        o.penalty_config = penalty_config;
        o.method = method;
        o.epochs = 1;
        o.limit_batches = 6;
        o.lr = 0.05;
        if (method == "proposed-hybrid") o.lambda1 = lambda1;
        if (method != "baseline") o.lambda2 = lambda2;
        EXPECT_EQ(run_training(o).status, TrainStatus::kCompleted) << name;
        const json s = read_json(o.out + "/summary.json");
        return {s.at("predicted").at("energy_pj").get<double>(),
                s.at("test").at("mean_density").get<double>()};
    }

    static TempDir* dir_;
};
TempDir* CentralClaim::dir_ = nullptr;

/// A penalty config that sets every penalised layer's cost weight to 1.
std::string write_flat_weights(const std::string& path) {
    const core::Network net = core::builtin_network(kNet, {1, kWidth, 0});
    std::string yaml = "layers:\n";
    for (const auto& l : net.conv_layers())
        if (l.input_sparse) yaml += "  " + l.name + ": {weight: 1}\n";
    core::write_file_atomic(path, yaml);
    return path;
}

/// MACs x a mapping factor that differs by layer kind, as calibrated ones do.
double mixed_cost(const core::ConvLayer& l) {
    const double macs = static_cast<double>(l.shape.macs());
    if (l.shape.R == 3) return 3.0 * macs;
    return (l.name.find("squeeze") != std::string::npos ? 0.5 : 1.0) * macs;
}

TEST_F(CentralClaim, PenaltyLowersPredictedEnergyAndDensity) {
    const std::string calib = write_calibration((*dir_) / "calib-mixed.json", mixed_cost);
    const Outcome none = fine_tune("none", "baseline", calib, 0, 0);
    const Outcome hybrid = fine_tune("hybrid", "proposed-hybrid", calib, 0.5, 1.0);
    EXPECT_LT(hybrid.energy_pj, none.energy_pj);
    EXPECT_LT(hybrid.mean_density, none.mean_density);
    // Not a rounding-level effect: at least 5 % of the unpenalised run's sparse-layer density.
    EXPECT_LT(hybrid.mean_density, 0.95 * none.mean_density)
        << hybrid.mean_density << " vs " << none.mean_density;
}

TEST_F(CentralClaim, CostWeightingBeatsUniformWhereCostsDiffer) {
    const std::string calib = write_calibration((*dir_) / "calib-mixed.json", mixed_cost);
    const Outcome none = fine_tune("none-m", "baseline", calib, 0, 0);
    const Outcome uniform = fine_tune("targeting-m", "sparsity-targeting", calib, 0, 1.0);
    const Outcome weighted = fine_tune("hoyer-m", "proposed-hoyer", calib, 0, 1.0);
    const Outcome hybrid = fine_tune("hybrid-m", "proposed-hybrid", calib, 0.5, 1.0);
    const double saved_uniform = none.energy_pj - uniform.energy_pj;
    ASSERT_GT(saved_uniform, 0.0);
    // Same Hoyer strength, only the weights differ.
    EXPECT_LT(weighted.energy_pj, uniform.energy_pj);
    // The paper's comparison: the hybrid at the same Hoyer strength plus its L1 term.
    EXPECT_LT(hybrid.energy_pj, uniform.energy_pj);
    // The same hybrid with every layer's weight forced to 1: only the weighting differs.
    const Outcome hybrid_flat = fine_tune("hybrid-flat", "proposed-hybrid", calib, 0.5, 1.0,
                                          write_flat_weights((*dir_) / "flat.yaml"));
    EXPECT_LT(hybrid.energy_pj, hybrid_flat.energy_pj);
    EXPECT_GT(none.energy_pj - hybrid.energy_pj, 1.2 * saved_uniform)
        << "saved " << none.energy_pj - hybrid.energy_pj << " pJ vs " << saved_uniform;
}

TEST_F(CentralClaim, EqualCostsMakeTheWeightingTheIdentity) {
    // Every layer costs the same: the normalised weights are exactly 1.
    const std::string calib = write_calibration((*dir_) / "calib-equal.json",
                                                [](const core::ConvLayer&) { return 1000.0; });
    const Outcome uniform = fine_tune("targeting-e", "sparsity-targeting", calib, 0, 1.0);
    const Outcome weighted = fine_tune("hoyer-e", "proposed-hoyer", calib, 0, 1.0);
    EXPECT_EQ(weighted.mean_density, uniform.mean_density);
    EXPECT_EQ(weighted.energy_pj, uniform.energy_pj);
}

}  // namespace
}  // namespace actsparse::trainer
