#include "tlm/dram.h"

#include <cstring>

#include "core/error.h"

namespace actsparse::tlm {

const char* to_string(Tensor t) {
    switch (t) {
        case Tensor::kIfmap:
            return "ifmap";
        case Tensor::kFilter:
            return "filter";
        case Tensor::kOfmap:
            return "ofmap";
        case Tensor::kPsum:
            return "psum";
        case Tensor::kCount:
            break;
    }
    return "?";
}

DramTarget::DramTarget(sc_core::sc_module_name name) : sc_module(name), socket("socket") {
    socket.register_b_transport(this, &DramTarget::b_transport);
    socket.register_transport_dbg(this, &DramTarget::transport_dbg);
}

void DramTarget::reset(const core::DramParams& params, uint64_t bytes) {
    params_ = params;
    period_ = sc_core::sc_time(1000.0 / params.clock_mhz, sc_core::SC_NS);
    store_.assign(bytes, 0);
    regions_.clear();
    stats_ = DramStats{};
    busy_until_ = sc_core::sc_time_stamp();
}

void DramTarget::map_region(uint64_t base, uint64_t size, Tensor tensor) {
    regions_.push_back({base, size, tensor});
}

Tensor DramTarget::tensor_at(uint64_t addr) const {
    for (const auto& r : regions_)
        if (addr >= r.base && addr < r.base + r.size) return r.tensor;
    core::model_bug(name(), "access outside every mapped region at " + std::to_string(addr) +
                                " (t=" + sc_core::sc_time_stamp().to_string() + ")");
}

void DramTarget::b_transport(::tlm::tlm_generic_payload& trans, sc_core::sc_time& delay) {
    const uint64_t addr = trans.get_address();
    const uint64_t len = trans.get_data_length();
    if (addr + len > store_.size() || trans.get_byte_enable_ptr() != nullptr) {
        trans.set_response_status(::tlm::TLM_ADDRESS_ERROR_RESPONSE);
        return;
    }
    const Tensor tensor = tensor_at(addr);
    const int64_t bus_bytes = params_.bus_bits / 8;
    const int64_t beats = (static_cast<int64_t>(len) + bus_bytes - 1) / bus_bytes;
    const sc_core::sc_time arrive = sc_core::sc_time_stamp() + delay;
    sc_core::sc_time start = busy_until_;
    int64_t busy = beats;
    if (arrive > busy_until_) {  // idle bus: a new access pays the latency
        start = arrive + params_.latency_cycles * period_;
        busy += params_.latency_cycles;
    }
    busy_until_ = start + beats * period_;
    delay = busy_until_ - sc_core::sc_time_stamp();
    stats_.busy_cycles += busy;
    ++stats_.transactions;
    const int64_t moved = beats * bus_bytes;
    if (trans.is_read()) {
        std::memcpy(trans.get_data_ptr(), store_.data() + addr, len);
        stats_.read_bytes[static_cast<int>(tensor)] += moved;
    } else if (trans.is_write()) {
        std::memcpy(store_.data() + addr, trans.get_data_ptr(), len);
        stats_.write_bytes[static_cast<int>(tensor)] += moved;
    }
    trans.set_response_status(::tlm::TLM_OK_RESPONSE);
}

unsigned int DramTarget::transport_dbg(::tlm::tlm_generic_payload& trans) {
    const uint64_t addr = trans.get_address();
    const uint64_t len = trans.get_data_length();
    if (addr + len > store_.size()) return 0;
    if (trans.is_read()) std::memcpy(trans.get_data_ptr(), store_.data() + addr, len);
    if (trans.is_write()) std::memcpy(store_.data() + addr, trans.get_data_ptr(), len);
    return static_cast<unsigned int>(len);
}

}  // namespace actsparse::tlm
