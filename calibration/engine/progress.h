#pragma once
/// @file A progress bar with rate and ETA for long sweeps, on a stream (stderr). On a
/// terminal it redraws one line at most 5 times a second; otherwise it prints a line every
/// 10% (or 30 s), so logs stay short.
#include <chrono>
#include <cstdio>
#include <string>

namespace actsparse::calibration {

class Progress {
  public:
    /// `total` points to simulate, `total_work` their summed expected cost (any unit; the ETA
    /// extrapolates finished work, so points of unequal cost give a fair estimate). A null
    /// stream disables all output.
    Progress(std::FILE* out, size_t total, std::string label, double total_work = 0);
    /// One more point finished, of expected cost `work` (1 when total_work is 0).
    void tick(double work = 1);
    /// Prints the final line (once).
    void finish();
    size_t done() const { return done_; }
    double elapsed_seconds() const;

  private:
    void draw(bool final_line);

    std::FILE* out_;
    size_t total_;
    std::string label_;
    size_t done_ = 0;
    double total_work_ = 0, done_work_ = 0;
    bool tty_ = false;
    bool finished_ = false;
    int last_decile_ = -1;
    std::chrono::steady_clock::time_point start_, last_draw_;
};

/// "1:05" / "1:02:03" for a duration in seconds.
std::string format_duration(double seconds);

}  // namespace actsparse::calibration
