#pragma once
/// @file Accelergy energy reference tables (ERT) as our energy counters.
///
/// Accelergy prices each action of each component (`read` of the global buffer, `compute`
/// of the MAC, ...). read_accelergy_ert() recognises the components by name (a psum
/// scratchpad, the global buffer, DRAM, ...) and maps their actions onto the counters of
/// EnergyTable; docs/formats.md ("Accelergy ERT") has the table. An action is charged per
/// access of one of our words, as the ERT gives it.
#include <string>
#include <vector>

#include "core/arch.h"

namespace actsparse::core {

struct ErtEnergy {
    /// `base` with every counter the ERT has an action for replaced.
    EnergyTable energy;
    /// "glb_read_pj <- system_top_level.shared_glb[1..1].read", one per mapped counter.
    std::vector<std::string> mapped;
    /// Counters the ERT has no action for (their value is `base`'s), in table order.
    std::vector<std::string> missing;
    /// ERT components that map onto none of our counters.
    std::vector<std::string> unused;
};

/// Reads an ERT (`ERT:` from Accelergy's ERT.yaml, or `ERT_summary:`), versions 0.3 and 0.4.
/// Throws InputError naming the file and the field (`f.yaml: ERT.tables[2].actions[0].energy:
/// ...`) on bad input, and when two components map onto the same counters.
ErtEnergy read_accelergy_ert(const std::string& path, const EnergyTable& base);

/// The warning line for counters without an action, or "" when every counter was mapped:
/// `PATH: no Accelergy action for mac_gated_pj, noc_word_pj (kept: WHAT)`.
std::string ert_warning(const std::string& path, const ErtEnergy& e, const std::string& kept);

/// Replaces `a.energy` by the ERT's actions (counters it lacks keep a's values) and prints
/// ert_warning() to stderr. eyeriss-v1 configs only: InputError(where, ...) for eyeriss-v2,
/// whose table has other counters.
void apply_accelergy_ert(ArchConfig& a, const std::string& path, const std::string& where);

}  // namespace actsparse::core
