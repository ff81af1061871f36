#pragma once
/// @file Subcommands of the `actsparse` CLI. Each adds itself to the app; its callback
/// sets the exit code through set_exit_code(). Bad input is thrown as core::InputError
/// and turned into a one-line message and exit code 2 by main.
#include <CLI/CLI.hpp>

namespace actsparse::app {

void set_exit_code(int code);

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
