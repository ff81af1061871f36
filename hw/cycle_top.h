#pragma once
/// @file The per-cycle reference fidelity: a SystemC top with one clocked SC_METHOD per PE
/// row, one for the networks and one for the pass controller. The methods only call into
/// ArrayEngine (MatchLib style); all behaviour lives in the plain C++ classes. The order in
/// which PEs and networks are evaluated within a cycle does not matter (registered FIFOs), so
/// how PEs are grouped into processes changes no count; a row's method leaves out the ticks
/// of PEs that cannot act (ArrayEngine::tick_group_cycle) unless a VCD records every cycle.
///
/// The top is elaborated once per process and reused: each pass is one sc_start() that the
/// controller ends with sc_pause() when the pass is done, so run_layer() may be called any
/// number of times. The clock is an event the controller re-arms every cycle while a pass
/// runs, so the top costs nothing while idle. run_pass_cycle() must be called from sc_main
/// (outside any SystemC process), never from inside a running simulation.
#include <cstdint>

#include "core/arch.h"
#include "hw/engine.h"
#include "hw/vcd.h"

namespace actsparse::hw {

/// Elaborates the per-cycle top now (idempotent). Needed only when the program elaborates
/// other SystemC modules and starts the simulation before its first cycle-fidelity
/// run_layer(): modules cannot be added after the first sc_start(). The top gets one process
/// per PE row of `arch`; an array of another shape is split evenly over those processes.
void elaborate_cycle_top(const core::ArchConfig& arch);

/// Runs the pass configured in `engine` cycle by cycle under the SystemC kernel and returns
/// its cycles. With a VCD writer, records every PE's activity at `vcd_offset` + pass cycle.
int64_t run_pass_cycle(ArrayEngine& engine, VcdWriter* vcd, int64_t vcd_offset);

}  // namespace actsparse::hw
