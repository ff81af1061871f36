// How the PE array's counters enter the layer's access table.
#include "hw/array.h"
#include "tlm/energy.h"

namespace actsparse::tlm {

void add_array_counts(const hw::ArrayStats& s, Accesses& a) {
    a.glb_ifmap_reads += s.ifmap_noc_words_sent;
    a.glb_filter_reads += s.filter_noc_words_sent;
    a.glb_psum_reads += s.psum_noc_words_sent;
    a.glb_psum_writes += s.psum_out_words;
    a.noc_ifmap_words += s.ifmap_noc_words_delivered;
    a.noc_filter_words += s.filter_noc_words_delivered;
    a.noc_psum_words += s.psum_noc_words_delivered + s.psum_out_words;
    a.array_link_psum_words += s.psum_link_words;
    a.ifmap_spad_ifmap_reads += s.ifmap_spad_reads;
    a.ifmap_spad_ifmap_writes += s.ifmap_spad_writes;
    a.filter_spad_filter_reads += s.filter_spad_reads;
    a.filter_spad_filter_writes += s.filter_spad_writes;
    a.filter_spad_filter_gated_reads += s.filter_spad_reads_gated;
    a.psum_spad_psum_reads += s.psum_spad_reads;
    a.psum_spad_psum_writes += s.psum_spad_writes;
    a.mac_mac_performed += s.macs_performed;
    a.mac_mac_gated += s.macs_gated;
    a.mac_mac_skipped += s.macs_skipped;
}

int64_t array_cycles(const hw::ArrayResult& r) { return r.stats.cycles; }

}  // namespace actsparse::tlm
