// `actsparse train`: not built yet (its issue is open); it refuses to run rather than pretend.
#include "apps/actsparse/commands.h"
#include "core/error.h"

namespace actsparse::app {
void add_train_command(CLI::App& app) {
    auto* cmd = app.add_subcommand("train", "(not implemented yet)");
    cmd->allow_extras();
    cmd->callback([]() { throw core::InputError("actsparse train", "not implemented yet"); });
}
}  // namespace actsparse::app

namespace actsparse::app {
void add_trace_export_command(CLI::App& trace_cmd) {
    auto* cmd = trace_cmd.add_subcommand("export", "(not implemented yet)");
    cmd->allow_extras();
    cmd->callback(
        []() { throw core::InputError("actsparse trace export", "not implemented yet"); });
}
}  // namespace actsparse::app
