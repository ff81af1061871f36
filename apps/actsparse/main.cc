// The `actsparse` command line (built as `actsparse` and, with LibTorch, `actsparse-torch`;
// docs/architecture.md): parses the command line and maps outcomes to exit codes (0 success,
// 2 bad input with a one-line message, 1 internal error or I/O failure).
#include <cstdlib>
#include <exception>
#include <iostream>
#include <string>

#include "apps/actsparse/commands.h"
#include "core/error.h"

#ifndef ACTSPARSE_VERSION
#define ACTSPARSE_VERSION "unknown"
#endif
#ifndef ACTSPARSE_GIT_COMMIT
#define ACTSPARSE_GIT_COMMIT "unknown"
#endif

namespace actsparse::app {
namespace {
int g_exit_code = 0;
}

void set_exit_code(int code) { g_exit_code = code; }

int run_cli(int argc, char** argv) {
    exec_torch_sibling_if_needed(argc, argv);
    CLI::App app{"actsparse: train CNNs to be cheap on sparse CNN accelerators"};
    app.set_version_flag("--version", std::string("actsparse ") + ACTSPARSE_VERSION + " (git " +
                                          ACTSPARSE_GIT_COMMIT + ")");
    app.require_subcommand(1);
    app.fallthrough(false);
    add_layers_command(app);
    add_trace_command(app);
    add_simulate_command(app);
    add_calibrate_command(app);
    add_train_command(app);
    add_evaluate_command(app);
    add_validate_command(app);
    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForAllHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForVersion& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        std::cerr << "actsparse: error: " << e.what() << " (see --help)" << std::endl;
        return 2;
    } catch (const core::InputError& e) {
        std::cerr << "actsparse: error: " << e.what() << std::endl;
        return 2;
    } catch (const core::IoError& e) {  // the machine failed (disk full, permission denied)
        std::cerr << "actsparse: error: " << e.what() << std::endl;
        return 1;
    } catch (const std::exception& e) {
        std::cerr << "actsparse: internal error: " << e.what() << std::endl;
        return 1;
    }
    return g_exit_code;
}

}  // namespace actsparse::app

#ifdef ACTSPARSE_WITH_SYSTEMC
// libsystemc provides main(); it calls sc_main once the kernel is set up.
extern "C" int sc_main(int argc, char** argv) { return actsparse::app::run_cli(argc, argv); }
#else
int main(int argc, char** argv) { return actsparse::app::run_cli(argc, argv); }
#endif
