// `actsparse calibrate`: not built yet (its issue is open); it refuses to run rather than pretend.
#include "apps/actsparse/commands.h"
#include "core/error.h"

namespace actsparse::app {
void add_calibrate_command(CLI::App& app) {
    auto* cmd = app.add_subcommand("calibrate", "(not implemented yet)");
    cmd->allow_extras();
    cmd->callback([]() { throw core::InputError("actsparse calibrate", "not implemented yet"); });
}
}  // namespace actsparse::app
