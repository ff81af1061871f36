// Subcommands that need the SystemC model, in a build configured without it.
#include "apps/actsparse/commands.h"
#include "core/error.h"

namespace actsparse::app {
namespace {
void add_unavailable(CLI::App& app, const std::string& name) {
    auto* cmd = app.add_subcommand(name, "(unavailable: built with -DACTSPARSE_WITH_SYSTEMC=OFF)");
    cmd->allow_extras();
    cmd->callback([name]() {
        throw core::InputError(
            "actsparse " + name,
            "this build has no SystemC model (reconfigure with -DACTSPARSE_WITH_SYSTEMC=ON)");
    });
}
}  // namespace
void add_simulate_command(CLI::App& app) { add_unavailable(app, "simulate"); }
void add_calibrate_command(CLI::App& app) { add_unavailable(app, "calibrate"); }
void add_evaluate_command(CLI::App& app) { add_unavailable(app, "evaluate"); }
void add_validate_command(CLI::App& app) { add_unavailable(app, "validate"); }
}  // namespace actsparse::app
