// Checkpoint files against damage (issue 17): metadata of the wrong type is bad input (a fuzz
// finding: a numeric schema escaped as json::type_error), and a save leaves exactly one file.
#include <gtest/gtest.h>

#include <filesystem>

#include "core/error.h"
#include "core/network.h"
#include "core/safetensors.h"
#include "tests/trainer/test_util.h"
#include "trainer/checkpoint.h"

namespace actsparse::trainer {
namespace {

namespace fs = std::filesystem;

std::string weights_with_meta(const std::string& meta) {
    core::SafetensorsTensor t;
    t.name = "w";
    t.dtype = "F32";
    t.shape = {1};
    t.data.assign(4, '\0');
    return core::encode_safetensors({{"meta", meta}}, {t});
}

TEST(CheckpointIo, MetadataOfTheWrongTypeIsBadInput) {
    TempDir dir("ckpt-meta");
    const std::string p = dir.path() + "/model.safetensors";
    for (const std::string meta :
         {"{\"schema\": 25}", "{\"schema\": null}", "[1, 2]", "\"text\"", "{}", "{\"schema\":"}) {
        SCOPED_TRACE(meta);
        core::write_file_atomic(p, weights_with_meta(meta));
        EXPECT_THROW(read_checkpoint_meta(p), core::InputError);
    }
    core::write_file_atomic(p, weights_with_meta("{\"schema\": \"actsparse.checkpoint/1\"}"));
    EXPECT_EQ(read_checkpoint_meta(p).at("schema"), "actsparse.checkpoint/1");
}

TEST(CheckpointIo, SaveLeavesOneFileAndLoadsBack) {
    TempDir dir("ckpt-save");
    const core::Network net = core::builtin_network("squeezenet-fmnist", {1, 0.125, 0});
    GraphNet model(net);
    const std::string p = dir.path() + "/checkpoint.pt";
    const nlohmann::json meta = {{"schema", "actsparse.checkpoint/1"}, {"epoch", 1}};
    save_checkpoint(p, model, nullptr, meta);
    save_checkpoint(p, model, nullptr, meta);
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(dir.path())) names.push_back(e.path().filename());
    EXPECT_EQ(names, std::vector<std::string>{"checkpoint.pt"});
    GraphNet again(net);
    EXPECT_EQ(load_checkpoint(p, again, nullptr, false, torch::kCPU).at("epoch"), 1);
}

}  // namespace
}  // namespace actsparse::trainer
