#include "hw/array.h"

#include <memory>

#include "core/error.h"
#include "hw/cycle_top.h"
#include "hw/engine.h"
#include "hw/vcd.h"

namespace actsparse::hw {

ArrayResult run_layer(const core::LayerShape& shape, const Mapping& mapping,
                      const core::ArchConfig& arch, const int16_t* ifmap, const int16_t* weight,
                      const RunOptions& options) {
    if (auto why = check_mapping(shape, mapping, arch))
        throw core::InputError("mapping " + to_string(mapping), *why);
    if (ifmap == nullptr || weight == nullptr)
        throw core::InputError("run_layer", "ifmap and weight must not be null");
    if (!options.vcd_path.empty() && options.fidelity != Fidelity::kCycle)
        throw core::InputError("vcd_path", "a VCD needs the cycle fidelity");

    ArrayResult result;
    result.mapping = mapping;
    result.ofmap.assign(static_cast<size_t>(shape.ofmap_elems()), 0);
    const bool fast = options.fidelity == Fidelity::kFast;
    ArrayEngine engine(shape, mapping, arch, ifmap, weight, result.ofmap.data(), fast);
    std::unique_ptr<VcdWriter> vcd;
    if (!options.vcd_path.empty())
        vcd = std::make_unique<VcdWriter>(options.vcd_path, arch.array.rows, arch.array.cols);

    const std::vector<PassTile> tiles = plan_passes(shape, mapping);
    const Tiling tl = tiling(shape, mapping);
    result.passes.reserve(tiles.size());
    for (const PassTile& tile : tiles) {
        engine.begin_pass(tile);
        if (fast) {
            engine.run_pass_fast();
        } else {
            run_pass_cycle(engine, vcd.get(), result.stats.cycles);
        }
        PassRecord rec;
        rec.stats = engine.pass_stats();
        rec.cycles = rec.stats.cycles;
        rec.ifmap_words_in = rec.stats.ifmap_noc_words_sent;
        rec.filter_words_in = rec.stats.filter_noc_words_sent;
        rec.psum_words_in = rec.stats.psum_noc_words_sent;
        rec.psum_words_out = rec.stats.psum_out_words;
        rec.image_block = tile.image_block;
        rec.filter_block = tile.filter_block;
        rec.channel_block = tile.channel_block;
        rec.row_block = tile.row_block;
        rec.frow_block = tile.frow_block;
        rec.fcol_block = tile.fcol_block;
        rec.last_contribution = tile.channel_block == tl.channel_blocks - 1 &&
                                tile.frow_block == tl.frow_blocks - 1 &&
                                tile.fcol_block == tl.fcol_blocks - 1;
        rec.tile = tile;
        result.stats += rec.stats;
        result.passes.push_back(std::move(rec));
    }
    if (vcd) vcd->finish(result.stats.cycles);
    return result;
}

}  // namespace actsparse::hw
