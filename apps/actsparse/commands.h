#pragma once
/// @file Subcommands of the `actsparse` CLI. Each adds itself to the app; its callback
/// sets the exit code through set_exit_code(). Bad input is thrown as core::InputError
/// and turned into a one-line message and exit code 2 by main.
#include <CLI/CLI.hpp>
#include <string>

namespace actsparse::app {

void set_exit_code(int code);

/// One-line help of the subcommands that need LibTorch (shared with the stubs of a binary
/// built without it).
inline constexpr const char* kTrainHelp =
    "Train a network with the activation penalty (see docs/trainer.md)";
inline constexpr const char* kTraceExportHelp =
    "Write real traces (one per conv layer) of a trained run's test images";

/// In a build with LibTorch, `actsparse` itself does not link it (loading LibTorch costs
/// about 0.6 s at every start): `train`, `trace export` and `evaluate` run in the sibling
/// binary `actsparse-torch` of the same folder, which has every subcommand. Its path, or ""
/// when this binary has no such sibling (a build without LibTorch, or the sibling itself).
std::string torch_sibling_path();
/// Replaces this process by the sibling when argv asks for one of those subcommands and the
/// sibling exists (returns otherwise).
void exec_torch_sibling_if_needed(int argc, char** argv);

void add_layers_command(CLI::App& app);
void add_trace_command(CLI::App& app);
void add_simulate_command(CLI::App& app);
void add_calibrate_command(CLI::App& app);
void add_train_command(CLI::App& app);
void add_evaluate_command(CLI::App& app);
/// `validate`: the simulator against the measured Eyeriss v1 chip (needs SystemC).
void add_validate_command(CLI::App& app);
/// `trace export` (needs LibTorch; registered under `trace` by add_trace_command).
void add_trace_export_command(CLI::App& trace_cmd);

}  // namespace actsparse::app
