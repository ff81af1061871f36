#pragma once
/// @file A small VCD writer for PE activity (busy, gated, skipped, stalled per PE), for
/// GTKWave. One time unit is one array cycle. The file is written atomically by finish().
#include <cstdint>
#include <string>
#include <vector>

#include "hw/pe.h"

namespace actsparse::hw {

class VcdWriter {
  public:
    /// Declares 4 one-bit signals for each of rows x cols PEs (scope array.pe_<row>_<col>).
    VcdWriter(std::string path, int64_t rows, int64_t cols);
    /// PE `pe`'s activity in absolute cycle `cycle`; cycles must not decrease between calls
    /// of different cycles.
    void record(int64_t pe, int64_t cycle, PeActivity act, bool skipped);
    /// Marks the end time and writes the file (atomic rename).
    void finish(int64_t end_cycle);

  private:
    void at(int64_t cycle);
    std::string path_;
    std::string text_;
    std::vector<uint8_t> last_;  ///< 4 bits per PE, 0xff = never written
    std::vector<std::string> ids_;
    int64_t time_ = -1;
};

}  // namespace actsparse::hw
