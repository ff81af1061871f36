// `actsparse` without LibTorch in a build that has it: the subcommands that need LibTorch
// run in the sibling binary `actsparse-torch` (commands.h, torch_sibling_path).
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

#include "apps/actsparse/commands.h"
#include "core/error.h"

namespace actsparse::app {

std::string torch_sibling_path() {
#ifdef ACTSPARSE_TORCH_SIBLING
    char self[4096];
    const ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (n <= 0) return "";
    std::string dir(self, static_cast<size_t>(n));
    const size_t slash = dir.rfind('/');
    dir = slash == std::string::npos ? std::string(".") : dir.substr(0, slash);
    const std::string path = dir + "/" + ACTSPARSE_TORCH_SIBLING;
    return access(path.c_str(), X_OK) == 0 ? path : "";
#else
    return "";
#endif
}

void exec_torch_sibling_if_needed(int argc, char** argv) {
#ifdef ACTSPARSE_TORCH_SIBLING
    if (argc < 2) return;
    const std::string cmd = argv[1];
    const bool torch = cmd == "train" || cmd == "evaluate" ||
                       (cmd == "trace" && argc > 2 && std::string(argv[2]) == "export");
    if (!torch) return;
    const std::string path = torch_sibling_path();
    if (path.empty()) return;  // the stubs say it is missing
    std::fflush(nullptr);
    execv(path.c_str(), argv);
    std::fprintf(stderr, "actsparse: error: %s: cannot run (%s)\n", path.c_str(),
                 std::strerror(errno));
    std::_Exit(1);
#else
    (void)argc;
    (void)argv;
#endif
}

#ifdef ACTSPARSE_TORCH_SIBLING
// The LibTorch subcommands as this binary lists them; they are reached only when the sibling
// is missing (a partial build), since a present sibling takes over before parsing.
namespace {
std::string missing_help(const char* help) {
    return torch_sibling_path().empty()
               ? std::string("(unavailable: ") + ACTSPARSE_TORCH_SIBLING + " not built)"
               : std::string(help);
}
[[noreturn]] void missing(const std::string& what) {
    throw core::InputError("actsparse " + what, std::string("needs ") + ACTSPARSE_TORCH_SIBLING +
                                                    " beside this binary; build it (cmake "
                                                    "--build BUILD --target actsparse-torch)");
}
}  // namespace

void add_train_command(CLI::App& app) {
    auto* cmd = app.add_subcommand("train", missing_help(kTrainHelp));
    cmd->allow_extras();
    cmd->callback([]() { missing("train"); });
}

void add_trace_export_command(CLI::App& trace_cmd) {
    auto* cmd = trace_cmd.add_subcommand("export", missing_help(kTraceExportHelp));
    cmd->allow_extras();
    cmd->callback([]() { missing("trace export"); });
}
#endif

}  // namespace actsparse::app
