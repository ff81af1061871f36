#include "hw/vcd.h"

#include <algorithm>

#include "core/error.h"

namespace actsparse::hw {
namespace {

const char* const kSignals[4] = {"busy", "gated", "skipped", "stalled"};

std::string vcd_id(int64_t n) {
    std::string id;
    do {
        id += static_cast<char>('!' + n % 94);
        n /= 94;
    } while (n > 0);
    return id;
}

}  // namespace

VcdWriter::VcdWriter(std::string path, int64_t rows, int64_t cols) : path_(std::move(path)) {
    const int64_t n = rows * cols;
    last_.assign(static_cast<size_t>(n), 0xff);
    text_ = "$comment actsparse PE array activity; 1 time unit = 1 array cycle $end\n";
    text_ += "$timescale 1ns $end\n$scope module array $end\n";
    for (int64_t y = 0; y < rows; ++y) {
        for (int64_t x = 0; x < cols; ++x) {
            text_ += "$scope module pe_" + std::to_string(y) + "_" + std::to_string(x) + " $end\n";
            for (int b = 0; b < 4; ++b) {
                ids_.push_back(vcd_id(static_cast<int64_t>(ids_.size())));
                text_ += "$var wire 1 " + ids_.back() + " " + kSignals[b] + " $end\n";
            }
            text_ += "$upscope $end\n";
        }
    }
    text_ += "$upscope $end\n$enddefinitions $end\n";
}

void VcdWriter::at(int64_t cycle) {
    if (cycle < time_) core::model_bug("hw::VcdWriter", "time went backwards");
    if (cycle != time_) {
        text_ += "#" + std::to_string(cycle) + "\n";
        time_ = cycle;
    }
}

void VcdWriter::record(int64_t pe, int64_t cycle, PeActivity act, bool skipped) {
    uint8_t bits = 0;
    if (act == PeActivity::kBusy) bits |= 1;
    if (act == PeActivity::kGated) bits |= 2;
    if (skipped) bits |= 4;
    if (act == PeActivity::kStall) bits |= 8;
    uint8_t& last = last_[static_cast<size_t>(pe)];
    if (bits == last) return;
    at(cycle);
    for (int b = 0; b < 4; ++b) {
        const bool now = (bits >> b) & 1;
        if (last != 0xff && now == (((last >> b) & 1) != 0)) continue;
        text_ += (now ? "1" : "0") + ids_[static_cast<size_t>(pe * 4 + b)] + "\n";
    }
    last = bits;
}

void VcdWriter::finish(int64_t end_cycle) {
    at(std::max(end_cycle, time_));
    core::write_file_atomic(path_, text_);
}

}  // namespace actsparse::hw
