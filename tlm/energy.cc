#include "tlm/energy.h"

#include <nlohmann/json.hpp>

namespace actsparse::tlm {

nlohmann::json Accesses::to_json() const {
    nlohmann::json j;
#define ACTSPARSE_ACCESS_JSON(level, tensor, action) \
    j[#level][#tensor][#action] = level##_##tensor##_##action;
    ACTSPARSE_ACCESS_FIELDS(ACTSPARSE_ACCESS_JSON)
#undef ACTSPARSE_ACCESS_JSON
    return j;
}

nlohmann::json Energy::to_json() const {
    return {{"total", total()},
            {"by_level",
             {{"dram", dram},
              {"glb", glb},
              {"noc", noc},
              {"array_link", array_link},
              {"ifmap_spad", ifmap_spad},
              {"filter_spad", filter_spad},
              {"psum_spad", psum_spad},
              {"mac", mac}}},
            {"by_tensor",
             {{"ifmap", ifmap},
              {"filter", filter},
              {"psum", psum},
              {"ofmap", ofmap},
              {"compute", compute}}}};
}

Energy energy_of(const Accesses& a, const core::EnergyTable& e) {
    Energy r;
    const double dram_ifmap = a.dram_ifmap_reads * e.dram_read_pj;
    const double dram_filter = a.dram_filter_reads * e.dram_read_pj;
    const double dram_ofmap = a.dram_ofmap_writes * e.dram_write_pj;
    const double dram_psum =
        a.dram_psum_reads * e.dram_read_pj + a.dram_psum_writes * e.dram_write_pj;
    r.dram = dram_ifmap + dram_filter + dram_ofmap + dram_psum;
    const double glb_ifmap =
        a.glb_ifmap_reads * e.glb_read_pj + a.glb_ifmap_writes * e.glb_write_pj;
    const double glb_filter =
        a.glb_filter_reads * e.glb_read_pj + a.glb_filter_writes * e.glb_write_pj;
    const double glb_psum = a.glb_psum_reads * e.glb_read_pj + a.glb_psum_writes * e.glb_write_pj;
    r.glb = glb_ifmap + glb_filter + glb_psum;
    const double noc_ifmap = a.noc_ifmap_words * e.noc_word_pj;
    const double noc_filter = a.noc_filter_words * e.noc_word_pj;
    const double noc_psum = a.noc_psum_words * e.noc_word_pj;
    r.noc = noc_ifmap + noc_filter + noc_psum;
    r.array_link = a.array_link_psum_words * e.array_link_word_pj;
    r.ifmap_spad = a.ifmap_spad_ifmap_reads * e.ifmap_spad_read_pj +
                   a.ifmap_spad_ifmap_writes * e.ifmap_spad_write_pj;
    // A gated filter-spad read is not performed: it costs nothing beyond the clock gating
    // already charged on the MAC.
    r.filter_spad = a.filter_spad_filter_reads * e.filter_spad_read_pj +
                    a.filter_spad_filter_writes * e.filter_spad_write_pj;
    r.psum_spad = a.psum_spad_psum_reads * e.psum_spad_read_pj +
                  a.psum_spad_psum_writes * e.psum_spad_write_pj;
    r.mac = a.mac_mac_performed * e.mac_pj + a.mac_mac_gated * e.mac_gated_pj;
    r.ifmap = dram_ifmap + glb_ifmap + noc_ifmap + r.ifmap_spad;
    r.filter = dram_filter + glb_filter + noc_filter + r.filter_spad;
    r.psum = dram_psum + glb_psum + noc_psum + r.array_link + r.psum_spad;
    r.ofmap = dram_ofmap;
    r.compute = r.mac;
    return r;
}

}  // namespace actsparse::tlm
