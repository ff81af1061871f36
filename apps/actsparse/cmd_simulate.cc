// `actsparse simulate`: not built yet (its issue is open); it refuses to run rather than pretend.
#include "apps/actsparse/commands.h"
#include "core/error.h"

namespace actsparse::app {
void add_simulate_command(CLI::App& app) {
    auto* cmd = app.add_subcommand("simulate", "(not implemented yet)");
    cmd->allow_extras();
    cmd->callback([]() { throw core::InputError("actsparse simulate", "not implemented yet"); });
}
}  // namespace actsparse::app
