#include "calibration/tlm_simulator.h"

#include <stdexcept>

#include "core/trace.h"
#include "tlm/simulate.h"

namespace actsparse::calibration {

Simulator tlm_simulator(const TlmSimulatorOptions& opts) {
    return [opts](const PointSpec& p) {
        core::Trace trace;
        if (p.role == PointRole::kTrace) {
            trace = core::read_trace(p.trace_file);
        } else {
            core::SynthOptions synth;
            synth.density = p.density;
            synth.seed = p.seed;
            synth.pattern = p.pattern;
            trace = core::synth_trace(p.shape, synth, opts.arch.frac_bits);
        }
        trace.layer = p.layer_name;
        tlm::SimOptions so;
        so.arch = opts.arch;
        so.fidelity = opts.fidelity;
        so.objective = opts.objective;
        so.mapping = std::nullopt;  // the mapper picks (for this point's density by default)
        so.mapping_density = opts.mapping_density;
        so.ifmap_compressed = p.ifmap_compressed;
        so.relu_out = opts.relu_out;
        so.threads = 1;  // calibrate runs one worker process per core already
        const tlm::LayerResult r = tlm::simulate_layer(trace, so);
        if (!trace.ofmap_acc.empty() && r.ofmap != trace.ofmap_acc)
            throw std::runtime_error(
                "the accelerator's output differs from the reference "
                "convolution");
        PointResult out;
        out.density = r.density;
        out.ofmap_density = r.ofmap_density;
        out.energy_pj = r.energy.total();
        out.cycles = static_cast<double>(r.cycles_total);
        out.cycles_processing = static_cast<double>(r.cycles_processing);
        out.mapping = tlm::to_json(r.mapping);
        return out;
    };
}

SimContext tlm_context(const TlmSimulatorOptions& opts) {
    return {core::arch_hash(opts.arch),
            core::to_string(opts.arch.zero_mode),
            hw::to_string(opts.fidelity),
            tlm::to_string(opts.objective),
            opts.relu_out,
            opts.arch.type == core::ArrayType::kEyerissV2 ? kTlmV2ModelVersion : kTlmModelVersion,
            opts.mapping_density};
}

}  // namespace actsparse::calibration
