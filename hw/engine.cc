#include "hw/engine.h"

#include <algorithm>
#include <limits>
#include <map>
#include <mutex>
#include <tuple>

#include "core/error.h"

namespace actsparse::hw {
namespace {

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

}  // namespace

namespace {
bool later(const std::pair<int64_t, int64_t>& a, const std::pair<int64_t, int64_t>& b) {
    return a.first > b.first;
}
}  // namespace

void WakeCalendar::clear(int64_t now) {
    for (auto& s : slots_) s.clear();
    far_.clear();
    now_ = now;
    near_count_ = 0;
}

void WakeCalendar::push(int64_t at, int64_t id) {
    if (at - now_ < kSlots) {
        slots_[static_cast<size_t>(at & (kSlots - 1))].push_back(id);
        ++near_count_;
    } else {
        far_.emplace_back(at, id);
        std::push_heap(far_.begin(), far_.end(), later);
    }
}

void WakeCalendar::pop_due(int64_t t, std::vector<int64_t>& out) {
    now_ = t;
    // Far wakes that came within the calendar's reach move into their buckets.
    while (!far_.empty() && far_.front().first - now_ < kSlots) {
        slots_[static_cast<size_t>(far_.front().first & (kSlots - 1))].push_back(
            far_.front().second);
        ++near_count_;
        std::pop_heap(far_.begin(), far_.end(), later);
        far_.pop_back();
    }
    auto& slot = slots_[static_cast<size_t>(t & (kSlots - 1))];
    near_count_ -= static_cast<int64_t>(slot.size());
    out.insert(out.end(), slot.begin(), slot.end());
    slot.clear();
}

int64_t WakeCalendar::next_after_now() const {
    if (near_count_ > 0) {
        for (int64_t c = now_ + 1; c < now_ + kSlots; ++c)
            if (!slots_[static_cast<size_t>(c & (kSlots - 1))].empty()) return c;
    }
    return far_.empty() ? -1 : far_.front().first;
}

namespace {
// PEs of finished engines, reused by the next engine (of any thread): simulate builds an
// engine per chunk, and allocating 168 PEs (spads, FIFOs) cost more than many small passes
// take to simulate. Pe::reinit makes a reused PE equal to a new one.
constexpr size_t kPePoolMax = 4096;
std::mutex pe_pool_mutex;
std::vector<std::unique_ptr<Pe>>& pe_pool() {
    static std::vector<std::unique_ptr<Pe>> pool;
    return pool;
}
// Wake calendars likewise (their 1024 buckets keep their storage; run_pass_fast clears them).
constexpr size_t kCalendarPoolMax = 64;
std::vector<std::unique_ptr<WakeCalendar>>& calendar_pool() {
    static std::vector<std::unique_ptr<WakeCalendar>> pool;
    return pool;
}
}  // namespace

ArrayEngine::~ArrayEngine() {
    const std::lock_guard<std::mutex> lock(pe_pool_mutex);
    std::vector<std::unique_ptr<Pe>>& pool = pe_pool();
    for (auto& pe : pes_)
        if (pool.size() < kPePoolMax) pool.push_back(std::move(pe));
    if (timers_ && calendar_pool().size() < kCalendarPoolMax)
        calendar_pool().push_back(std::move(timers_));
}

ArrayEngine::ArrayEngine(const core::LayerShape& shape, const Mapping& mapping,
                         const core::ArchConfig& arch, const int16_t* ifmap, const int16_t* weight,
                         int64_t* ofmap, bool fast)
    : shape_(shape),
      mapping_(mapping),
      arch_(arch),
      ifmap_(ifmap),
      weight_(weight),
      ofmap_(ofmap),
      fast_(fast) {
    const int64_t n = arch.array.rows * arch.array.cols;
    pes_.reserve(static_cast<size_t>(n));
    {
        const std::lock_guard<std::mutex> lock(pe_pool_mutex);
        std::vector<std::unique_ptr<Pe>>& pool = pe_pool();
        while (static_cast<int64_t>(pes_.size()) < n && !pool.empty()) {
            pes_.push_back(std::move(pool.back()));
            pool.pop_back();
        }
        if (!calendar_pool().empty()) {
            timers_ = std::move(calendar_pool().back());
            calendar_pool().pop_back();
        }
    }
    if (!timers_) timers_ = std::make_unique<WakeCalendar>();
    for (auto& pe : pes_) pe->reinit(arch.pe, arch.zero_mode, fast);
    while (static_cast<int64_t>(pes_.size()) < n)
        pes_.push_back(std::make_unique<Pe>(arch.pe, arch.zero_mode, fast));
    active_flag_.assign(static_cast<size_t>(n), 0);
    pe_done_flag_.assign(static_cast<size_t>(n), 0);
    due_at_.assign(static_cast<size_t>(n), -1);
    wake_at_.assign(static_cast<size_t>(n), std::numeric_limits<int64_t>::max());
    changed_units_.assign(static_cast<size_t>(n), 0);
    sleep_until_.assign(static_cast<size_t>(n), std::numeric_limits<int64_t>::min());
    waiting_units_.assign(static_cast<size_t>(n), 0);
    psum_producer_.assign(static_cast<size_t>(n), -1);
}

void ArrayEngine::begin_pass(const PassTile& tile) {
    tile_ = tile;
    const int64_t r_eff = ceil_div(tile.chan_count, mapping_.q);
    const SetGeometry geo = set_geometry(tile.frow_count, tile.orow_count, r_eff, arch_.array);
    if (geo.set_rows > arch_.array.rows || geo.stacks < tile.tile_count)
        core::model_bug("hw::ArrayEngine", "pass " + std::to_string(tile.index) +
                                               " does not fit the array (mapping unchecked?)");
    reset_pass_state();
    place_pes(tile, geo);
    configure_filter_bus();
    configure_ifmap_bus(tile);
    configure_psum_in_bus(tile);
    configure_out_bus(tile);
    if (fast_) {
        install_fast_hooks();
    } else {
        install_cycle_hooks();
    }
}

// Step 1: every PE, flag and counter back to the start of a pass.
void ArrayEngine::reset_pass_state() {
    // Only the PEs of the last pass were touched since their last restart (or reinit).
    for (int64_t i : active_) pes_[static_cast<size_t>(i)]->restart();
    active_.clear();
    std::fill(active_flag_.begin(), active_flag_.end(), 0);
    std::fill(pe_done_flag_.begin(), pe_done_flag_.end(), 0);
    std::fill(psum_producer_.begin(), psum_producer_.end(), -1);
    pes_done_ = 0;
    pe_last_active_ = -1;
    noc_ = ArrayStats{};
    noc_last_active_ = -1;

    ids_.reset(num_pes());
}

void ArrayEngine::PassIds::reset(int64_t npes) {
    const size_t n = static_cast<size_t>(npes);
    f_row.assign(n, -1);
    f_col.assign(n, -1);
    i_row.assign(n, -1);
    i_col.assign(n, -1);
    p_row.assign(n, -1);
    p_col.assign(n, -1);
    f_fifo.assign(n, nullptr);
    i_fifo.assign(n, nullptr);
    p_fifo.assign(n, nullptr);
}

// Step 2: places the pass's PE sets on the array (stack ti, set ri, filter row k, ofmap row
// j), configures each PE, and records its network IDs, the multicast groups and the psum
// chains.
void ArrayEngine::place_pes(const PassTile& tile, const SetGeometry& geo) {
    const core::LayerShape& s = shape_;
    const int64_t cols = arch_.array.cols;
    const int64_t q = mapping_.q;
    const int64_t cg = s.c_per_group();
    const int64_t r_eff = ceil_div(tile.chan_count, q);
    const int64_t fr = tile.frow_count;
    ifmap_groups_.clear();
    filter_groups_.clear();
    psum_groups_.clear();
    ifmap_data_.clear();
    filter_data_.clear();
    chains_.clear();
    std::map<std::tuple<int64_t, int64_t, int64_t>, size_t> ifmap_group_of;

    // PE (stack ti, set ri, filter row k, ofmap row j) -> physical position.
    auto pe_at = [&](int64_t ti, int64_t ri, int64_t k, int64_t j) {
        const int64_t h = ti % geo.sets_h, v = ti / geo.sets_h;
        const int64_t vs = v * r_eff + ri;
        const int64_t seg = j / geo.set_cols, col = j % geo.set_cols;
        const int64_t y = vs * geo.set_rows + seg * fr + k;
        const int64_t x = h * geo.set_cols + col;
        return y * cols + x;
    };

    for (int64_t ti = 0; ti < tile.tile_count; ++ti) {
        const FilterTile ft = filter_tile(s, mapping_, tile.tile_first + ti);
        const int64_t hslot = ti % geo.sets_h, v = ti / geo.sets_h;
        for (int64_t j = 0; j < tile.orow_count; ++j) {
            Chain c;
            c.bottom = pe_at(ti, 0, 0, j);
            c.top = pe_at(ti, r_eff - 1, fr - 1, j);
            c.filter_first = ft.first;
            c.filter_count = ft.count;
            c.orow = tile.orow_first + j;
            chains_.push_back(c);
        }
        for (int64_t ri = 0; ri < r_eff; ++ri) {
            const int64_t q_eff = std::min(q, tile.chan_count - ri * q);
            const int64_t chan_abs = ft.group * cg + tile.chan_first + ri * q;
            const int64_t vs = v * r_eff + ri;
            for (int64_t k = 0; k < fr; ++k) {
                GroupInfo fg;
                fg.tag = {vs * fr + k, hslot};
                FilterGroupData fd;
                fd.filter_first = ft.first;
                fd.p = ft.count;
                fd.chan_first = chan_abs;
                fd.q = q_eff;
                fd.frow = tile.frow_first + k;
                for (int64_t j = 0; j < tile.orow_count; ++j) {
                    const int64_t idx = pe_at(ti, ri, k, j);
                    if (active_flag_[idx]) core::model_bug("hw::ArrayEngine", "two PEs overlap");
                    active_flag_[idx] = 1;
                    active_.push_back(idx);
                    Pe& pe = *pes_[idx];
                    const int64_t in_row =
                        (tile.orow_first + j) * s.Hstride - s.Hpad + tile.frow_first + k;
                    PeConfig cfg;
                    cfg.p = ft.count;
                    cfg.q = q_eff;
                    cfg.s = tile.fcol_count;
                    cfg.images = tile.image_count;
                    cfg.out_cols = s.Q;
                    cfg.stride = s.Wstride;
                    cfg.window_first = tile.fcol_first - s.Wpad;
                    cfg.in_width = s.W;
                    cfg.row_valid = in_row >= 0 && in_row < s.H;
                    const bool bottom = ri == 0 && k == 0;
                    const bool top = ri == r_eff - 1 && k == fr - 1;
                    cfg.psum_in = bottom ? tile.accumulate_in : true;
                    cfg.psum_to_link = !top;
                    const int64_t above =
                        top ? -1 : (k + 1 < fr ? pe_at(ti, ri, k + 1, j) : pe_at(ti, ri + 1, 0, j));
                    RegFifo<int64_t>* dest = top ? &pe.psum_out() : &pes_[above]->psum_in();
                    if (!top) psum_producer_[above] = idx;
                    pe.configure(cfg, dest);
                    // IDs: a row ID per physical row, a column ID per PE.
                    ids_.f_row[idx] = vs * fr + k;
                    ids_.f_col[idx] = hslot;
                    ids_.f_fifo[idx] = &pe.filter_in();
                    fg.pes.push_back(idx);
                    if (cfg.row_valid) {
                        const auto key = std::make_tuple(ft.group, ri, in_row);
                        auto it = ifmap_group_of.find(key);
                        if (it == ifmap_group_of.end()) {
                            it = ifmap_group_of.emplace(key, ifmap_groups_.size()).first;
                            GroupInfo ig;
                            ig.tag = {ri, ft.group * s.H + in_row};
                            ifmap_groups_.push_back(ig);
                            ifmap_data_.push_back({chan_abs, q_eff, in_row});
                        }
                        ifmap_groups_[it->second].pes.push_back(idx);
                        ids_.i_row[idx] = ri;
                        ids_.i_col[idx] = ft.group * s.H + in_row;
                        ids_.i_fifo[idx] = &pe.ifmap_in();
                    }
                    if (bottom && tile.accumulate_in) {
                        ids_.p_row[idx] = idx / cols;
                        ids_.p_col[idx] = idx % cols;
                        ids_.p_fifo[idx] = &pe.psum_in();
                    }
                }
                filter_groups_.push_back(fg);
                filter_data_.push_back(fd);
            }
        }
    }
}

// Step 3: the filter network, one step holding every group's p*q*S words (filter_fill).
void ArrayEngine::configure_filter_bus() {
    const int64_t wb = arch_.word_bits, depth = arch_.pe.fifo_depth_words;
    filter_sched_.reset(
        1, static_cast<int64_t>(filter_groups_.size()),
        transfer_words(arch_.noc.filter_bus_bits, wb, depth),
        TransferSource{this, &ArrayEngine::filter_words, &ArrayEngine::filter_fill});
    std::vector<MulticastGroup> tags;
    for (const auto& g : filter_groups_) tags.push_back(g.tag);
    filter_bus_.configure(tags, ids_.f_row, ids_.f_col, ids_.f_fifo, &filter_sched_);
}

// Step 4: the ifmap network, k consecutive ofmap columns of one image per transfer step.
void ArrayEngine::configure_ifmap_bus(const PassTile& tile) {
    const core::LayerShape& s = shape_;
    const int64_t q = mapping_.q;
    const int64_t wb = arch_.word_bits, depth = arch_.pe.fifo_depth_words;
    const int64_t S = tile.fcol_count;
    const int64_t window_first = tile.fcol_first - s.Wpad;
    const int64_t wi = transfer_words(arch_.noc.ifmap_bus_bits, wb, depth);
    new_real_.assign(static_cast<size_t>(s.Q), 0);
    new_first_.assign(static_cast<size_t>(s.Q), 0);
    new_prefix_.assign(static_cast<size_t>(s.Q) + 1, 0);
    int64_t max_new = 0;
    for (int64_t x = 0; x < s.Q; ++x) {
        const WindowStep w = window_step(x, window_first, s.Wstride, S);
        new_real_[static_cast<size_t>(x)] = real_columns(w, s.W);
        new_first_[static_cast<size_t>(x)] = std::max<int64_t>(w.first, 0);
        new_prefix_[static_cast<size_t>(x) + 1] =
            new_prefix_[static_cast<size_t>(x)] + new_real_[static_cast<size_t>(x)];
        max_new = std::max(max_new, new_real_[static_cast<size_t>(x)]);
    }
    ifmap_cols_per_step_ = columns_per_step(wi, std::min(q, tile.chan_count) * max_new);
    ifmap_steps_per_image_ = ceil_div(s.Q, ifmap_cols_per_step_);
    ifmap_sched_.reset(tile.image_count * ifmap_steps_per_image_,
                       static_cast<int64_t>(ifmap_groups_.size()), wi,
                       TransferSource{this, &ArrayEngine::ifmap_words, &ArrayEngine::ifmap_fill});
    std::vector<MulticastGroup> tags;
    for (const auto& g : ifmap_groups_) tags.push_back(g.tag);
    ifmap_bus_.configure(tags, ids_.i_row, ids_.i_col, ids_.i_fifo, &ifmap_sched_);
}

// Step 5: the psum-in network (accumulating passes), from the GLB to the chain bottoms.
void ArrayEngine::configure_psum_in_bus(const PassTile& tile) {
    const core::LayerShape& s = shape_;
    const int64_t cols = arch_.array.cols;
    // Psums travel as word_bits-wide words like Eyeriss's 16-bit psums (their values stay
    // exact in this model; see hw/README.md).
    const int64_t ab = arch_.word_bits;
    std::vector<MulticastGroup> tags;
    int64_t p_max = 1;
    if (tile.accumulate_in) {
        for (const Chain& c : chains_) {
            GroupInfo g;
            g.tag = {c.bottom / cols, c.bottom % cols};
            g.pes.push_back(c.bottom);
            psum_groups_.push_back(g);
            tags.push_back(g.tag);
            p_max = std::max(p_max, c.filter_count);
        }
    }
    const int64_t pdepth = arch_.pe.psum_fifo_depth_words;
    const int64_t wpi = transfer_words(arch_.noc.psum_in_bus_bits, ab, pdepth);
    psum_cols_per_step_ = columns_per_step(wpi, p_max);
    psum_steps_per_image_ = ceil_div(s.Q, psum_cols_per_step_);
    psum_sched_.reset(tile.image_count * psum_steps_per_image_,
                      static_cast<int64_t>(psum_groups_.size()), wpi,
                      TransferSource{this, &ArrayEngine::psum_words, &ArrayEngine::psum_fill});
    psum_bus_.configure(tags, ids_.p_row, ids_.p_col, ids_.p_fifo, &psum_sched_);
}

// Step 6: the psum-out network, from the chain tops to the GLB.
void ArrayEngine::configure_out_bus(const PassTile& tile) {
    const core::LayerShape& s = shape_;
    const int64_t ab = arch_.word_bits;
    const int64_t pdepth = arch_.pe.psum_fifo_depth_words;
    std::vector<OutSource> sources;
    for (const Chain& c : chains_) {
        OutSource src;
        src.fifo = &pes_[static_cast<size_t>(c.top)]->psum_out();
        src.total = tile.image_count * s.Q * c.filter_count;
        src.out = ofmap_ + ((tile.image_first * s.M + c.filter_first) * s.P + c.orow) * s.Q;
        src.filters = c.filter_count;
        src.cols = s.Q;
        src.filter_stride = s.P * s.Q;
        src.image_stride = s.M * s.P * s.Q;
        sources.push_back(src);
    }
    out_bus_.configure(std::move(sources), transfer_words(arch_.noc.psum_out_bus_bits, ab, pdepth),
                       fast_);
}

// The words of the three input networks (TransferSource functions; `ctx` is the engine).
// Filter network: group g's p*q*S words, filter fastest, then filter column, then channel.
int64_t ArrayEngine::filter_words(const void* ctx, int64_t, int64_t g) {
    const auto* e = static_cast<const ArrayEngine*>(ctx);
    const FilterGroupData& d = e->filter_data_[static_cast<size_t>(g)];
    return d.p * d.q * e->tile_.fcol_count;
}

void ArrayEngine::filter_fill(const void* ctx, int64_t, int64_t g, int64_t first, int64_t n,
                              int64_t* out) {
    const auto* e = static_cast<const ArrayEngine*>(ctx);
    const core::LayerShape& s = e->shape_;
    const FilterGroupData& d = e->filter_data_[static_cast<size_t>(g)];
    const int64_t S = e->tile_.fcol_count, cg = s.c_per_group();
    int64_t f = first % d.p, rest = first / d.p;
    int64_t col = rest % S, c = rest / S;
    for (int64_t k = 0; k < n; ++k) {
        const int64_t m = d.filter_first + f;
        const int64_t c_in_group = d.chan_first % cg + c;
        out[k] =
            e->weight_[((m * cg + c_in_group) * s.R + d.frow) * s.S + e->tile_.fcol_first + col];
        if (++f < d.p) continue;
        f = 0;
        if (++col < S) continue;
        col = 0;
        ++c;
    }
}

// Ifmap network: a step's new real columns of each ofmap column, channel fastest.
int64_t ArrayEngine::ifmap_words(const void* ctx, int64_t step, int64_t g) {
    const auto* e = static_cast<const ArrayEngine*>(ctx);
    const int64_t x0 = (step % e->ifmap_steps_per_image_) * e->ifmap_cols_per_step_;
    const int64_t x1 = std::min(e->shape_.Q, x0 + e->ifmap_cols_per_step_);
    return e->ifmap_data_[static_cast<size_t>(g)].q *
           (e->new_prefix_[static_cast<size_t>(x1)] - e->new_prefix_[static_cast<size_t>(x0)]);
}

void ArrayEngine::ifmap_fill(const void* ctx, int64_t step, int64_t g, int64_t first, int64_t n,
                             int64_t* out) {
    const auto* e = static_cast<const ArrayEngine*>(ctx);
    const core::LayerShape& s = e->shape_;
    const IfmapGroupData& d = e->ifmap_data_[static_cast<size_t>(g)];
    const int64_t img = e->tile_.image_first + step / e->ifmap_steps_per_image_;
    const int16_t* plane = e->ifmap_ + (img * s.C * s.H + d.in_row) * s.W;
    int64_t x = (step % e->ifmap_steps_per_image_) * e->ifmap_cols_per_step_;
    int64_t off = first / d.q, ci = first % d.q;
    for (int64_t k = 0; k < n; ++k) {
        while (off >= e->new_real_[static_cast<size_t>(x)])
            off -= e->new_real_[static_cast<size_t>(x++)];
        const int64_t col = e->new_first_[static_cast<size_t>(x)] + off;
        out[k] = plane[(d.chan_first + ci) * s.H * s.W + col];
        if (++ci < d.q) continue;
        ci = 0;
        ++off;
    }
}

// Psum-in network: the GLB's psums of each chain, filter fastest, then ofmap column.
int64_t ArrayEngine::psum_words(const void* ctx, int64_t step, int64_t g) {
    const auto* e = static_cast<const ArrayEngine*>(ctx);
    const int64_t x0 = (step % e->psum_steps_per_image_) * e->psum_cols_per_step_;
    const int64_t x1 = std::min(e->shape_.Q, x0 + e->psum_cols_per_step_);
    return e->chains_[static_cast<size_t>(g)].filter_count * (x1 - x0);
}

void ArrayEngine::psum_fill(const void* ctx, int64_t step, int64_t g, int64_t first, int64_t n,
                            int64_t* out) {
    const auto* e = static_cast<const ArrayEngine*>(ctx);
    const core::LayerShape& s = e->shape_;
    const Chain& c = e->chains_[static_cast<size_t>(g)];
    const int64_t img = e->tile_.image_first + step / e->psum_steps_per_image_;
    const int64_t* base = e->ofmap_ + ((img * s.M + c.filter_first) * s.P + c.orow) * s.Q;
    int64_t x = (step % e->psum_steps_per_image_) * e->psum_cols_per_step_ + first / c.filter_count;
    int64_t f = first % c.filter_count;
    for (int64_t k = 0; k < n; ++k) {
        out[k] = base[f * s.P * s.Q + x];
        if (++f < c.filter_count) continue;
        f = 0;
        ++x;
    }
}

// Step 7 (fast fidelity): FIFO hooks that wake the PE or network on the other side.
void ArrayEngine::install_fast_hooks() {
    // Hooks wake the PE on the other side of a FIFO. Pops from FIFOs the input networks
    // fill only clear the network's retry time: networks with work are ticked every
    // evaluated cycle.
    ifmap_bus_.track_pops(true);
    filter_bus_.track_pops(true);
    psum_bus_.track_pops(true);
    // A wake hook's id is PE * 32 + the units whose input changed (Pe::Unit bits).
    auto wake_of = [this](int64_t pe, unsigned units) {
        return FifoHook{&ArrayEngine::wake_hook, this, pe * 32 + static_cast<int64_t>(units)};
    };
    for (int64_t i : active_) {
        Pe& pe = *pes_[static_cast<size_t>(i)];
        pe.track_inputs();
        pe.ifmap_in().set_hooks(wake_of(i, Pe::kLoadUnit),
                                FifoHook{&ArrayEngine::bus_pop_hook, this, 0});
        pe.filter_in().set_hooks(FifoHook{&ArrayEngine::filter_push_hook, this, i},
                                 FifoHook{&ArrayEngine::bus_pop_hook, this, 1});
        const int64_t below = psum_producer_[static_cast<size_t>(i)];
        pe.psum_in().set_hooks(wake_of(i, Pe::kAddUnit),
                               below >= 0 ? wake_of(below, Pe::kAccUnit)
                                          : FifoHook{&ArrayEngine::bus_pop_hook, this, 2});
    }
    for (size_t c = 0; c < chains_.size(); ++c)
        pes_[static_cast<size_t>(chains_[c].top)]->psum_out().set_hooks(
            FifoHook{&ArrayEngine::out_push_hook, this, static_cast<int64_t>(c)},
            wake_of(chains_[c].top, Pe::kAccUnit));
}

// Cycle fidelity: a PE asleep until its Pe::cycle_wake() must still be ticked once a FIFO
// that another component fills or empties changes: its input FIFOs when pushed, its psum
// destination when popped (by the PE above or the output bus). Its own pops and pushes need
// no hook (it acted, so it was ticked), and the input networks check room every cycle.
void ArrayEngine::install_cycle_hooks() {
    std::fill(changed_units_.begin(), changed_units_.end(), 0);
    std::fill(sleep_until_.begin(), sleep_until_.end(), std::numeric_limits<int64_t>::min());
    std::fill(waiting_units_.begin(), waiting_units_.end(), 0);
    // A hook's id is PE * 32 + the unit that reads the FIFO (as the fast fidelity's).
    auto mark = [this](int64_t pe, unsigned unit) {
        return FifoHook{&ArrayEngine::mark_hook, this, pe * 32 + static_cast<int64_t>(unit)};
    };
    for (int64_t i : active_) {
        Pe& pe = *pes_[static_cast<size_t>(i)];
        pe.ifmap_in().set_hooks(mark(i, Pe::kLoadUnit), FifoHook{});
        pe.filter_in().set_hooks(mark(i, Pe::kFilterUnit), FifoHook{});
        const int64_t below = psum_producer_[static_cast<size_t>(i)];
        pe.psum_in().set_hooks(mark(i, Pe::kAddUnit),
                               below >= 0 ? mark(below, Pe::kAccUnit) : FifoHook{});
    }
    for (const Chain& c : chains_)
        pes_[static_cast<size_t>(c.top)]->psum_out().set_hooks(FifoHook{},
                                                               mark(c.top, Pe::kAccUnit));
    set_cycle_groups(group_size_);  // every group is passed over at the pass's first cycle
}

void ArrayEngine::mark_hook(void* engine, int64_t id, int64_t) {
    auto* e = static_cast<ArrayEngine*>(engine);
    const int64_t pe = id >> 5;
    e->changed_units_[static_cast<size_t>(pe)] |= static_cast<uint8_t>(id & 31);
    e->group_dirty_[static_cast<size_t>(pe / e->group_size_)] = 1;
}

void ArrayEngine::set_cycle_groups(int64_t size) {
    group_size_ = std::max<int64_t>(1, size);
    const size_t groups = static_cast<size_t>((num_pes() + group_size_ - 1) / group_size_);
    group_wake_.assign(groups, std::numeric_limits<int64_t>::min());
    group_dirty_.assign(groups, 1);
    group_working_.assign(groups, 1);
}

bool ArrayEngine::tick_group_cycle(int64_t g, int64_t t) {
    const size_t gi = static_cast<size_t>(g);
    if (gi >= group_wake_.size()) return false;  // more processes than groups: no PE
    if (t < group_wake_[gi] && group_dirty_[gi] == 0) return group_working_[gi] != 0;
    group_dirty_[gi] = 0;
    int64_t wake = std::numeric_limits<int64_t>::max();
    bool working = false;
    const int64_t end = std::min(num_pes(), (g + 1) * group_size_);
    for (int64_t i = g * group_size_; i < end; ++i) {
        // A PE without work in this pass, or done with it, would only report idle.
        if (!pe_working(i)) continue;
        tick_pe_cycle(i, t);
        if (!pe_working(i)) continue;
        working = true;
        wake = std::min(wake, sleep_until_[static_cast<size_t>(i)]);
    }
    group_wake_[gi] = wake;
    group_working_[gi] = working ? 1 : 0;
    return working;
}

void ArrayEngine::record_pe_activity(bool on) {
    for (int64_t i : active_) pes_[static_cast<size_t>(i)]->record_activity(on);
}

void ArrayEngine::wake_hook(void* engine, int64_t id, int64_t cycle) {
    auto* e = static_cast<ArrayEngine*>(engine);
    const int64_t pe = id >> 5;
    // Kept here until the PE's tick (the hook need not touch the PE's own state).
    e->changed_units_[static_cast<size_t>(pe)] |= static_cast<uint8_t>(id & 31);
    // A change in cycle c is visible from c + 1.
    e->wake(pe, cycle + 1);
}

void ArrayEngine::filter_push_hook(void* engine, int64_t pe, int64_t cycle) {
    auto* e = static_cast<ArrayEngine*>(engine);
    Pe& p = *e->pes_[static_cast<size_t>(pe)];
    if (!p.running()) {  // the pass starts at the PE's first tick
        wake_hook(engine, pe * 32 + Pe::kFilterUnit, cycle);
        return;
    }
    // The words are loaded from cycle + 1 on, as a tick at cycle + 1 would load them.
    const bool complete = p.load_filters_now();
    e->pe_last_active_ = std::max(e->pe_last_active_, p.last_active());
    if (complete) wake_hook(engine, pe * 32 + Pe::kComputeUnit, cycle);
}

void ArrayEngine::out_push_hook(void* engine, int64_t chain, int64_t cycle) {
    auto* e = static_cast<ArrayEngine*>(engine);
    ++e->out_pushed_;
    e->out_bus_.note_push(static_cast<size_t>(chain));
    e->wake(-1, cycle + 1);
}

void ArrayEngine::bus_pop_hook(void* engine, int64_t net, int64_t) {
    auto* e = static_cast<ArrayEngine*>(engine);
    if (net == 0) {
        e->ifmap_bus_.note_pop();
    } else if (net == 1) {
        e->filter_bus_.note_pop();
    } else {
        e->psum_bus_.note_pop();
    }
}

bool ArrayEngine::noc_pending() const {
    return !filter_bus_.finished() || !ifmap_bus_.finished() || !psum_bus_.finished() ||
           out_pushed_ > out_bus_.taken();
}

void ArrayEngine::wake(int64_t pe, int64_t at) {
    // Skip wakes that an earlier pending one already covers (a PE performs everything its
    // recorded inputs allow whenever it is ticked).
    if (pe < 0) {
        if (noc_wake_at_ <= at && noc_wake_at_ > cur_t_) return;
        noc_wake_at_ = at;
        if (at == cur_t_ + 1) {
            eval_next_ = true;
            return;
        }
    } else {
        int64_t& pending = wake_at_[static_cast<size_t>(pe)];
        if (pending <= at) return;
        pending = at;
        if (at == cur_t_ + 1) {
            if (due_at_[static_cast<size_t>(pe)] != at) {
                due_at_[static_cast<size_t>(pe)] = at;
                next_.push_back(pe);
            }
            return;
        }
    }
    timers_->push(at, pe);
}

void ArrayEngine::tick_noc(int64_t t) {
    bool act = filter_bus_.tick(t, noc_.filter_noc_words_sent, noc_.filter_noc_words_delivered,
                                noc_.filter_noc_transfers);
    act |= ifmap_bus_.tick(t, noc_.ifmap_noc_words_sent, noc_.ifmap_noc_words_delivered,
                           noc_.ifmap_noc_transfers);
    act |= psum_bus_.tick(t, noc_.psum_noc_words_sent, noc_.psum_noc_words_delivered,
                          noc_.psum_noc_transfers);
    // Fast mode knows when no psum waits in any chain-top FIFO and skips the scan.
    if (!fast_ || out_pushed_ > out_bus_.taken())
        act |= out_bus_.tick(t, noc_.psum_out_words, noc_.psum_out_transfers);
    if (act) noc_last_active_ = t;
}

bool ArrayEngine::pass_done() const {
    return pes_done_ == static_cast<int64_t>(active_.size()) && filter_bus_.finished() &&
           ifmap_bus_.finished() && psum_bus_.finished() && out_bus_.finished();
}

int64_t ArrayEngine::last_activity() const { return std::max(noc_last_active_, pe_last_active_); }

int64_t ArrayEngine::pass_cycles() const { return last_activity() + 1; }

ArrayStats ArrayEngine::pass_stats() const {
    ArrayStats s = noc_;
    for (int64_t i : active_) s += pes_[static_cast<size_t>(i)]->stats();
    s.cycles = pass_cycles();
    s.passes = 1;
    return s;
}

int64_t ArrayEngine::run_pass_fast() {
    start_fast_schedule();
    int64_t t = 0;
    for (;;) {
        cur_t_ = t;
        eval_next_ = false;
        collect_due(t);
        tick_noc(t);
        tick_due_pes(t);
        if (pass_done()) break;
        t = next_evaluated_cycle(t);
    }
    return pass_cycles();
}

// The steps of run_pass_fast. First: no wakes pending, every active PE due in cycle 0.
void ArrayEngine::start_fast_schedule() {
    constexpr int64_t kNever = std::numeric_limits<int64_t>::max();
    timers_->clear(0);
    due_.clear();
    next_.clear();
    fired_.clear();
    eval_next_ = false;
    noc_wake_at_ = -1;
    out_pushed_ = 0;
    std::fill(due_at_.begin(), due_at_.end(), -1);
    std::fill(wake_at_.begin(), wake_at_.end(), kNever);
    std::fill(changed_units_.begin(), changed_units_.end(), 0);
    for (int64_t i : active_) {
        due_.push_back(i);
        due_at_[static_cast<size_t>(i)] = 0;
        wake_at_[static_cast<size_t>(i)] = 0;
    }
}

// The PEs whose pending wake is for cycle t join those already due.
void ArrayEngine::collect_due(int64_t t) {
    fired_.clear();
    timers_->pop_due(t, fired_);
    for (int64_t i : fired_) {
        if (i >= 0 && wake_at_[static_cast<size_t>(i)] == t &&
            due_at_[static_cast<size_t>(i)] != t) {
            due_at_[static_cast<size_t>(i)] = t;
            due_.push_back(i);
        }
    }
}

// A PE performs every action whose conditions are recorded; it needs another tick only when
// a FIFO it uses changes, which its hooks report (wake, with the units that read the FIFO).
void ArrayEngine::tick_due_pes(int64_t t) {
    constexpr int64_t kNever = std::numeric_limits<int64_t>::max();
    for (size_t k = 0; k < due_.size(); ++k) {
        const int64_t i = due_[k];
        wake_at_[static_cast<size_t>(i)] = kNever;
        uint8_t& changed = changed_units_[static_cast<size_t>(i)];
        pes_[static_cast<size_t>(i)]->note_input(changed);
        changed = 0;
        tick_pe(i, t);
    }
    due_.swap(next_);
    next_.clear();
}

// The next cycle to evaluate: t + 1 when anything may move in it, else the next wake.
int64_t ArrayEngine::next_evaluated_cycle(int64_t t) {
    if (eval_next_ || !due_.empty() || noc_pending()) return t + 1;
    const int64_t next = timers_->next_after_now();
    if (next < 0)
        core::model_bug("hw::ArrayEngine",
                        "deadlock at pass cycle " + std::to_string(t) + ": " + describe(t));
    return next;
}

std::string ArrayEngine::describe(int64_t t) const {
    std::string out = "pass " + std::to_string(tile_.index) + " cycle " + std::to_string(t) +
                      "; buses finished: filter " + std::to_string(filter_bus_.finished()) +
                      " ifmap " + std::to_string(ifmap_bus_.finished()) + " psum-in " +
                      std::to_string(psum_bus_.finished()) + " out " +
                      std::to_string(out_bus_.finished()) + "; PEs not done:";
    int shown = 0;
    for (int64_t i : active_) {
        const Pe& pe = *pes_[static_cast<size_t>(i)];
        if (pe.done()) continue;
        if (++shown > 8) {
            out += " ...";
            break;
        }
        out += " [" + std::to_string(i) + " " + pe.state_name() + ": " + pe.fifo_summary(t) + "]";
    }
    return out;
}

int64_t ArrayEngine::pe_of_ifmap_fifo(const RegFifo<int16_t>* f) const {
    for (size_t i = 0; i < pes_.size(); ++i)
        if (&pes_[i]->ifmap_in() == f) return static_cast<int64_t>(i);
    return -1;
}

int64_t ArrayEngine::pe_of_filter_fifo(const RegFifo<int16_t>* f) const {
    for (size_t i = 0; i < pes_.size(); ++i)
        if (&pes_[i]->filter_in() == f) return static_cast<int64_t>(i);
    return -1;
}

}  // namespace actsparse::hw
