#pragma once
/// @file The training progress line on stderr: epoch, batch, loss, accuracy, mean density,
/// rate and ETA. On a terminal it redraws one line (at most 5 times a second); otherwise
/// (a log file) it prints a full line every 30 s and at the end of each epoch.
#include <chrono>
#include <cstdint>
#include <string>

namespace actsparse::trainer {

class ProgressBar {
  public:
    explicit ProgressBar(bool enabled);
    /// A new epoch of `total` batches, `first` of them already done (a resumed epoch).
    void start_epoch(int64_t epoch, int64_t epochs, int64_t total, int64_t first);
    /// After batch `done` (1-based) with running means over the epoch so far.
    void update(int64_t done, double loss, double accuracy, double density);
    /// Ends the epoch's line with its final figures.
    void finish(const std::string& tail);
    /// Prints a message on its own line without breaking the bar.
    void message(const std::string& text);
    /// Ends a partly drawn bar line (before the run stops mid-epoch).
    void end_line();

  private:
    void draw(bool final_line);
    using Clock = std::chrono::steady_clock;
    bool enabled_;
    bool tty_;
    int64_t epoch_ = 0, epochs_ = 0, total_ = 0, first_ = 0, done_ = 0;
    double loss_ = 0.0, accuracy_ = 0.0, density_ = 0.0;
    Clock::time_point start_, last_draw_;
    bool drawn_ = false;
};

}  // namespace actsparse::trainer
