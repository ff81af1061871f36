#include "hw/estimate.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <map>
#include <set>
#include <vector>

#include "core/error.h"
#include "hw/array.h"
#include "hw/noc.h"
#include "hw/pe.h"

namespace actsparse::hw {
namespace {

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

/// Everything about a layer and mapping that passes share: column tables per filter-column
/// block, row tables per (ofmap-row block, filter-row block), stack tables per filter block.
class LayerModel {
  public:
    LayerModel(const core::LayerShape& s, const Mapping& m, const core::ArchConfig& a, double d)
        : s_(s), m_(m), a_(a), d_(std::clamp(d, 0.0, 1.0)), tl_(tiling(s, m)) {
        const int64_t wb = a.word_bits, depth = a.pe.fifo_depth_words;
        wi_ = transfer_words(a.noc.ifmap_bus_bits, wb, depth);
        wf_ = transfer_words(a.noc.filter_bus_bits, wb, depth);
        wpi_ = transfer_words(a.noc.psum_in_bus_bits, wb, a.pe.psum_fifo_depth_words);
        wpo_ = transfer_words(a.noc.psum_out_bus_bits, wb, a.pe.psum_fifo_depth_words);
        cols_.resize(static_cast<size_t>(tl_.fcol_blocks));
        for (int64_t sb = 0; sb < tl_.fcol_blocks; ++sb) {
            Cols& c = cols_[static_cast<size_t>(sb)];
            const int64_t first = sb * m.filter_cols;
            c.S = std::min(m.filter_cols, s.S - first);
            const int64_t wf = first - s.Wpad;
            for (int64_t x = 0; x < s.Q; ++x) {
                const int64_t nr = real_columns(window_step(x, wf, s.Wstride, c.S), s.W);
                int64_t cv = 0;
                for (int64_t k = 0; k < c.S; ++k) {
                    const int64_t col = wf + x * s.Wstride + k;
                    cv += col >= 0 && col < s.W;
                }
                c.new_real.push_back(nr);
                c.colvalid.push_back(cv);
                c.NR += nr;
                c.CV += cv;
                c.max_new = std::max(c.max_new, nr);
            }
        }
        rows_.resize(static_cast<size_t>(tl_.row_blocks * tl_.frow_blocks));
        for (int64_t eb = 0; eb < tl_.row_blocks; ++eb) {
            for (int64_t rb = 0; rb < tl_.frow_blocks; ++rb) {
                Rows& r = rows_[static_cast<size_t>(eb * tl_.frow_blocks + rb)];
                const int64_t o0 = eb * m.e, e = std::min(m.e, s.P - o0);
                const int64_t r0 = rb * m.filter_rows, fr = std::min(m.filter_rows, s.R - r0);
                std::set<int64_t> distinct;
                for (int64_t j = 0; j < e; ++j) {
                    for (int64_t k = 0; k < fr; ++k) {
                        const int64_t h = (o0 + j) * s.Hstride - s.Hpad + r0 + k;
                        if (h < 0 || h >= s.H) continue;
                        ++r.V;
                        distinct.insert(h);
                    }
                }
                r.Hd = static_cast<int64_t>(distinct.size());
            }
        }
        stacks_.resize(static_cast<size_t>(tl_.filter_blocks));
        for (int64_t fb = 0; fb < tl_.filter_blocks; ++fb) {
            Stacks& st = stacks_[static_cast<size_t>(fb)];
            const int64_t t0 = fb * m.t, t = std::min(m.t, tl_.filter_tiles - t0);
            std::set<int64_t> groups;
            st.t = t;
            for (int64_t ti = 0; ti < t; ++ti) {
                const FilterTile ft = filter_tile(s, m, t0 + ti);
                st.P_sum += ft.count;
                st.p_max = std::max(st.p_max, ft.count);
                ++st.p_count[ft.count];
                groups.insert(ft.group);
            }
            st.Gd = static_cast<int64_t>(groups.size());
        }
        // Classes of equal tables: passes whose tables and sizes agree have equal estimates.
        row_class_.resize(rows_.size());
        for (int64_t eb = 0; eb < tl_.row_blocks; ++eb)
            for (int64_t rb = 0; rb < tl_.frow_blocks; ++rb) {
                const size_t i = static_cast<size_t>(eb * tl_.frow_blocks + rb);
                const std::array<int64_t, 4> key = {
                    rows_[i].V, rows_[i].Hd, std::min(m.e, s.P - eb * m.e),
                    std::min(m.filter_rows, s.R - rb * m.filter_rows)};
                row_class_[i] = class_of(row_keys_, key);
            }
        stack_class_.resize(stacks_.size());
        for (size_t fb = 0; fb < stacks_.size(); ++fb) {
            const Stacks& st = stacks_[fb];
            std::vector<int64_t> key = {st.t, st.P_sum, st.p_max, st.Gd};
            for (const auto& [p, count] : st.p_count) {
                key.push_back(p);
                key.push_back(count);
            }
            stack_class_[fb] = class_of(stack_keys_, key);
        }
    }

    /// The sum of pass() over plan_passes(), in plan order; a pass whose tile has the same
    /// tables and sizes as an earlier one reuses its estimate (the same value, added in the
    /// same order, so the sum is bit for bit the one of calling pass() on every tile).
    ArrayEstimate layer() const {
        ArrayEstimate total;
        std::map<std::array<int64_t, 6>, ArrayEstimate> memo;
        PassTile p;
        for (p.image_block = 0; p.image_block < tl_.image_blocks; ++p.image_block) {
            p.image_count = std::min(m_.n, s_.N - p.image_block * m_.n);
            for (p.row_block = 0; p.row_block < tl_.row_blocks; ++p.row_block) {
                p.orow_count = std::min(m_.e, s_.P - p.row_block * m_.e);
                for (p.filter_block = 0; p.filter_block < tl_.filter_blocks; ++p.filter_block)
                    for (p.frow_block = 0; p.frow_block < tl_.frow_blocks; ++p.frow_block) {
                        p.frow_count =
                            std::min(m_.filter_rows, s_.R - p.frow_block * m_.filter_rows);
                        for (p.fcol_block = 0; p.fcol_block < tl_.fcol_blocks; ++p.fcol_block)
                            for (p.channel_block = 0; p.channel_block < tl_.channel_blocks;
                                 ++p.channel_block) {
                                p.chan_count = std::min(
                                    m_.q * m_.r, tl_.c_per_group - p.channel_block * m_.q * m_.r);
                                p.accumulate_in =
                                    p.frow_block > 0 || p.fcol_block > 0 || p.channel_block > 0;
                                const std::array<int64_t, 6> key = {
                                    p.fcol_block,
                                    row_class_[static_cast<size_t>(p.row_block * tl_.frow_blocks +
                                                                   p.frow_block)],
                                    stack_class_[static_cast<size_t>(p.filter_block)],
                                    p.image_count,
                                    p.chan_count,
                                    p.accumulate_in ? 1 : 0};
                                auto it = memo.find(key);
                                if (it == memo.end()) it = memo.emplace(key, pass(p)).first;
                                total += it->second;
                            }
                    }
            }
        }
        return total;
    }

    ArrayEstimate pass(const PassTile& tile) const {
        const Cols& c = cols_[static_cast<size_t>(tile.fcol_block)];
        const Rows& rw =
            rows_[static_cast<size_t>(tile.row_block * tl_.frow_blocks + tile.frow_block)];
        const Stacks& st = stacks_[static_cast<size_t>(tile.filter_block)];
        const double n = static_cast<double>(tile.image_count);
        const double e = static_cast<double>(tile.orow_count);
        const double R = static_cast<double>(tile.frow_count);
        const double S = static_cast<double>(c.S);
        const double Q = static_cast<double>(s_.Q);
        const int64_t q = m_.q;
        const int64_t r_eff = ceil_div(tile.chan_count, q);
        const int64_t q_last = tile.chan_count - (r_eff - 1) * q;
        const double C_sum = static_cast<double>(tile.chan_count);
        const double P_sum = static_cast<double>(st.P_sum);
        const double t = static_cast<double>(st.t);
        const double pes = t * static_cast<double>(r_eff) * R * e;
        const double V = static_cast<double>(rw.V);
        const double d = d_;
        const core::ZeroMode mode = a_.zero_mode;
        const double stages = static_cast<double>(a_.pe.mac_pipeline_stages);

        ArrayEstimate x;
        x.passes = 1;
        x.filter_spad_writes = P_sum * C_sum * S * R * e;
        x.filter_noc_words_delivered = x.filter_spad_writes;
        x.filter_noc_words_sent = P_sum * C_sum * S * R;
        double ftr = 0;
        for (const auto& [p, count] : st.p_count)
            ftr += static_cast<double>(count * ((r_eff - 1) * ceil_div(p * q * c.S, wf_) +
                                                ceil_div(p * q_last * c.S, wf_)));
        x.filter_noc_transfers = ftr * R;

        x.ifmap_spad_writes = n * t * C_sum * V * static_cast<double>(c.NR);
        x.ifmap_noc_words_delivered = x.ifmap_spad_writes;
        const double gh = static_cast<double>(st.Gd * rw.Hd);
        x.ifmap_noc_words_sent = n * gh * C_sum * static_cast<double>(c.NR);
        // Transfer steps of k columns (columns_per_step), one transfer per group when it fits.
        const int64_t ki = columns_per_step(wi_, std::min(q, tile.chan_count) * c.max_new);
        double itr = 0;
        for (int64_t x0 = 0; x0 < s_.Q; x0 += ki) {
            int64_t words = 0;
            for (int64_t xi = x0; xi < std::min(s_.Q, x0 + ki); ++xi)
                words += c.new_real[static_cast<size_t>(xi)];
            itr += static_cast<double>((r_eff - 1) * ceil_div(q * words, wi_) +
                                       ceil_div(q_last * words, wi_));
        }
        x.ifmap_noc_transfers = n * gh * itr;

        const double all_slots = n * P_sum * C_sum * R * e * Q * S;
        const double real_slots = n * P_sum * C_sum * V * static_cast<double>(c.CV);
        const double all_entries = n * t * C_sum * R * e * Q * S;
        const double real_entries = n * t * C_sum * V * static_cast<double>(c.CV);
        if (mode == core::ZeroMode::kNone) {
            x.macs_performed = all_slots;
            x.ifmap_spad_reads = all_entries;
        } else {
            x.macs_performed = d * real_slots;
            if (mode == core::ZeroMode::kGate) {
                x.macs_gated = all_slots - x.macs_performed;
                x.ifmap_spad_reads = all_entries;
            } else {
                x.macs_skipped = all_slots - x.macs_performed;
                x.ifmap_spad_reads = d * real_entries;
                x.ifmap_spad_reads_skipped = all_entries - x.ifmap_spad_reads;
            }
        }
        x.filter_spad_reads = x.macs_performed;
        x.filter_spad_reads_gated = x.macs_gated;
        x.filter_spad_reads_skipped = x.macs_skipped;
        x.psum_spad_reads_gated = x.macs_gated;
        x.psum_spad_reads_skipped = x.macs_skipped;
        const double acc_reads = n * Q * P_sum * static_cast<double>(r_eff) * R * e;
        const double chain_words = n * Q * e * P_sum;
        x.psum_link_words = chain_words * (static_cast<double>(r_eff) * R - 1.0);
        x.psum_out_words = chain_words;
        double out_tr = 0;
        for (const auto& [p, count] : st.p_count)
            out_tr += static_cast<double>(count * ceil_div(tile.image_count * s_.Q * p, wpo_));
        x.psum_out_transfers = e * out_tr;
        if (tile.accumulate_in) {
            x.psum_noc_words_sent = chain_words;
            x.psum_noc_words_delivered = chain_words;
            const int64_t kp = columns_per_step(wpi_, st.p_max);
            double in_tr = 0;
            for (const auto& [p, count] : st.p_count)
                for (int64_t x0 = 0; x0 < s_.Q; x0 += kp)
                    in_tr += static_cast<double>(
                        count * ceil_div(p * (std::min(s_.Q, x0 + kp) - x0), wpi_));
            x.psum_noc_transfers = n * e * in_tr;
        }
        // Psums added into a spad entry: every chain PE but the bottom one gets its
        // neighbour's psums, the bottom one the GLB's in an accumulating pass (read-modify-
        // write); each psum then leaves its PE once (a read).
        const double adds = x.psum_link_words + x.psum_noc_words_delivered;
        x.psum_spad_reads = x.macs_performed + acc_reads + adds;
        x.psum_spad_writes = x.macs_performed + adds;
        x.pe_busy_cycles = x.macs_performed + x.macs_gated;

        // Timing: the filter load, then the slower of the slowest PE's column loop (load,
        // compute, drain, accumulate per column) and each network's transfers, then the fill
        // of the psum chain.
        const double p_max = static_cast<double>(st.p_max);
        const double qd = static_cast<double>(std::min<int64_t>(q, tile.chan_count));
        const double filter_phase = std::max(x.filter_noc_transfers, p_max * qd * S) + 1.0;
        // Per transfer step: the PEs load while the bus delivers what did not fit the FIFOs
        // during the previous compute (one FIFO-full per group), then compute.
        const double fifo_transfers =
            static_cast<double>(std::max<int64_t>(1, a_.pe.fifo_depth_words / wi_));
        double pe_path = 0;
        for (int64_t x0 = 0; x0 < s_.Q; x0 += ki) {
            const int64_t x1 = std::min(s_.Q, x0 + ki);
            int64_t words = 0;
            double work = 0;
            for (int64_t xi = x0; xi < x1; ++xi) {
                words += c.new_real[static_cast<size_t>(xi)];
                double frac = 1.0;
                if (mode == core::ZeroMode::kSkip)
                    frac = rw.V > 0
                               ? d * static_cast<double>(c.colvalid[static_cast<size_t>(xi)]) / S
                               : 0.0;
                // Units overlap: loads and psum traffic run under the MAC slots; a psum's
                // entry is reused by the next column only after it left (pipeline hazard).
                const double comp = p_max * qd * S * frac;
                work +=
                    std::max(comp, p_max) + (comp > 0 ? std::max(0.0, stages + 1 - p_max) : 0.0);
            }
            const double load = rw.V > 0 ? qd * static_cast<double>(words) : 0.0;
            const double groups = gh * static_cast<double>(r_eff);
            const double bus = gh * static_cast<double>((r_eff - 1) * ceil_div(q * words, wi_) +
                                                        ceil_div(q_last * words, wi_));
            pe_path += std::max({work, load, bus - std::min(bus, groups * fifo_transfers)});
        }
        pe_path *= n;
        x.cycles =
            filter_phase +
            std::max({pe_path, x.ifmap_noc_transfers, x.psum_out_transfers, x.psum_noc_transfers}) +
            static_cast<double>(r_eff) * R;
        x.pe_stall_cycles = std::max(0.0, pes * x.cycles - x.pe_busy_cycles);
        return x;
    }

  private:
    struct Cols {
        int64_t S = 1;
        std::vector<int64_t> new_real, colvalid;
        int64_t NR = 0, CV = 0, max_new = 0;
    };
    struct Rows {
        int64_t V = 0, Hd = 0;
    };
    struct Stacks {
        int64_t t = 0, P_sum = 0, p_max = 0, Gd = 0;
        std::map<int64_t, int64_t> p_count;  ///< filters per stack -> stacks
    };
    core::LayerShape s_;
    Mapping m_;
    core::ArchConfig a_;
    double d_;
    Tiling tl_;
    int64_t wi_ = 1, wf_ = 1, wpi_ = 1, wpo_ = 1;
    std::vector<Cols> cols_;
    std::vector<Rows> rows_;
    std::vector<Stacks> stacks_;
    std::vector<int64_t> row_class_, stack_class_;  ///< per rows_ / stacks_ entry
    std::map<std::array<int64_t, 4>, int64_t> row_keys_;
    std::map<std::vector<int64_t>, int64_t> stack_keys_;

    template <typename Key>
    static int64_t class_of(std::map<Key, int64_t>& keys, const Key& key) {
        return keys.emplace(key, static_cast<int64_t>(keys.size())).first->second;
    }
};

void require_valid(const core::LayerShape& s, const Mapping& m, const core::ArchConfig& a) {
    if (auto why = check_mapping(s, m, a)) throw core::InputError("mapping " + to_string(m), *why);
}

/// Access-energy proxy for tie-breaking: the arch's energy table when it has one, else the
/// Eyeriss ISCA 2016 normalized costs (RF 1, array 2, GLB 6, MAC 1).
double energy_proxy(const ArrayEstimate& x, const core::ArchConfig& a) {
    const core::EnergyTable& t = a.energy;
    const bool have = t.mac_pj > 0 || t.glb_read_pj > 0;
    const double mac = have ? t.mac_pj : 1, rf = have ? t.filter_spad_read_pj : 1,
                 noc = have ? t.noc_word_pj : 2, link = have ? t.array_link_word_pj : 2,
                 glb_r = have ? t.glb_read_pj : 6, glb_w = have ? t.glb_write_pj : 6;
    const double spad = x.ifmap_spad_reads + x.ifmap_spad_writes + x.filter_spad_reads +
                        x.filter_spad_writes + x.psum_spad_reads + x.psum_spad_writes;
    return mac * x.macs_performed + rf * spad +
           noc * (x.ifmap_noc_words_delivered + x.filter_noc_words_delivered +
                  x.psum_noc_words_delivered) +
           link * x.psum_link_words +
           glb_r * (x.ifmap_noc_words_sent + x.filter_noc_words_sent + x.psum_noc_words_sent) +
           glb_w * x.psum_out_words;
}

}  // namespace

ArrayEstimate estimate_pass(const core::LayerShape& shape, const Mapping& mapping,
                            const core::ArchConfig& arch, const PassTile& tile, double density) {
    require_valid(shape, mapping, arch);
    return LayerModel(shape, mapping, arch, density).pass(tile);
}

ArrayEstimate estimate_layer(const core::LayerShape& shape, const Mapping& mapping,
                             const core::ArchConfig& arch, double density) {
    require_valid(shape, mapping, arch);
    return LayerModel(shape, mapping, arch, density).layer();
}

Mapping default_mapping(const core::LayerShape& shape, const core::ArchConfig& arch) {
    if (shape.H < 1 || shape.W < 1)
        throw core::InputError("layer", "shape is not finalized (H/W unset)");
    const core::ArrayParams& A = arch.array;
    const core::PeParams& pe = arch.pe;
    const int64_t cg = shape.c_per_group(), mg = shape.m_per_group();
    const int64_t fc =
        std::max<int64_t>(1, std::min({shape.S, pe.ifmap_spad_words, pe.filter_spad_words}));
    const int64_t fr = std::min(shape.R, A.rows);
    const int64_t glb_bytes = arch.glb.ifmap_psum_banks * arch.glb.bank_bytes;

    std::set<int64_t> es;
    for (int64_t b = 1; b <= shape.P; ++b) es.insert(ceil_div(shape.P, b));
    const int64_t q_max =
        std::max<int64_t>(1, std::min({cg, pe.ifmap_spad_words / fc, pe.filter_spad_words / fc}));
    std::set<int64_t> qs = {q_max, ceil_div(cg, ceil_div(cg, q_max))};

    Mapping best;
    bool have = false;
    double best_cycles = 0, best_energy = 0;
    for (int64_t e : es) {
        const SetGeometry g1 = set_geometry(fr, e, 1, A);
        if (g1.set_rows > A.rows) continue;
        for (int64_t q : qs) {
            const int64_t p_max = std::max<int64_t>(
                1, std::min({mg, pe.psum_spad_words, pe.filter_spad_words / (q * fc)}));
            // Balanced filter tiles of the largest p, and of smaller p that free more stacks.
            std::set<int64_t> ps;
            for (int64_t split = 1; split <= 4; ++split)
                ps.insert(ceil_div(mg, ceil_div(mg, std::max<int64_t>(1, p_max / split))));
            const int64_t r_lim = g1.folds > 1 ? 1 : std::min(g1.sets_v, ceil_div(cg, q));
            for (int64_t p : ps) {
                for (int64_t r = 1; r <= r_lim; ++r) {
                    const SetGeometry g = set_geometry(fr, e, r, A);
                    if (g.stacks < 1) continue;
                    Mapping m;
                    m.p = p;
                    m.q = q;
                    m.e = e;
                    m.r = r;
                    m.t = std::min(g.stacks, shape.G * ceil_div(mg, p));
                    m.filter_rows = fr;
                    m.filter_cols = fc;
                    // n: as many images as the GLB holds the ifmap rows and psums of a pass for.
                    const int64_t groups_in_pass = std::min(shape.G, m.t);
                    const int64_t in_rows = std::min(shape.H, (e - 1) * shape.Hstride + shape.R);
                    const int64_t per_image = groups_in_pass * std::min(cg, q * r) * in_rows *
                                                  shape.W * arch.word_bits / 8 +
                                              p * m.t * e * shape.Q * arch.word_bits / 8;
                    m.n = std::clamp<int64_t>(glb_bytes / std::max<int64_t>(1, per_image), 1,
                                              shape.N);
                    if (check_mapping(shape, m, arch)) continue;
                    const ArrayEstimate est = LayerModel(shape, m, arch, 1.0).layer();
                    const double energy = energy_proxy(est, arch);
                    if (!have || est.cycles < 0.99 * best_cycles ||
                        (est.cycles <= 1.01 * best_cycles && energy < best_energy)) {
                        best = m;
                        best_cycles = est.cycles;
                        best_energy = energy;
                        have = true;
                    }
                }
            }
        }
    }
    if (!have) {
        // The trivial mapping: one filter row slice on a 1-wide set.
        best = Mapping{};
        best.filter_rows = fr;
        best.filter_cols = fc;
        if (auto why = check_mapping(shape, best, arch))
            throw core::InputError(arch.name,
                                   "no valid mapping for layer " + shape.to_spec() + ": " + *why);
    }
    return best;
}

}  // namespace actsparse::hw
