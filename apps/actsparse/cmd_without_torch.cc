// `train` in a build configured without LibTorch.
#include "apps/actsparse/commands.h"
#include "core/error.h"

namespace actsparse::app {
void add_train_command(CLI::App& app) {
    auto* cmd = app.add_subcommand("train", "(unavailable: built with -DACTSPARSE_WITH_TORCH=OFF)");
    cmd->allow_extras();
    cmd->callback([]() {
        throw core::InputError(
            "actsparse train",
            "this build has no LibTorch trainer (reconfigure with -DACTSPARSE_WITH_TORCH=ON)");
    });
}
}  // namespace actsparse::app

namespace actsparse::app {
void add_trace_export_command(CLI::App& trace_cmd) {
    auto* cmd = trace_cmd.add_subcommand("export", "(unavailable: built without LibTorch)");
    cmd->allow_extras();
    cmd->callback([]() {
        throw core::InputError("actsparse trace export", "this build has no LibTorch trainer");
    });
}
}  // namespace actsparse::app
