#include "calibration/engine/progress.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>

namespace actsparse::calibration {

std::string format_duration(double seconds) {
    const long s = std::lround(std::max(0.0, seconds));
    char buf[32];
    if (s >= 3600)
        std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
    else
        std::snprintf(buf, sizeof buf, "%ld:%02ld", s / 60, s % 60);
    return buf;
}

Progress::Progress(std::FILE* out, size_t total, std::string label, double total_work)
    : out_(out),
      total_(total),
      label_(std::move(label)),
      total_work_(total_work > 0 ? total_work : static_cast<double>(total)) {
    tty_ = out_ && isatty(fileno(out_));
    start_ = last_draw_ = std::chrono::steady_clock::now();
    if (out_ && total_ > 0) draw(false);
}

double Progress::elapsed_seconds() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

void Progress::tick(double work) {
    ++done_;
    done_work_ += work;
    if (!out_) return;
    const auto now = std::chrono::steady_clock::now();
    const double since = std::chrono::duration<double>(now - last_draw_).count();
    const int decile = total_ ? static_cast<int>(10 * done_ / total_) : 10;
    const bool due = tty_ ? since >= 0.2 : (decile != last_decile_ || since >= 30);
    // The last point's line is finish()'s.
    if (due && done_ < total_) draw(false);
}

void Progress::finish() {
    if (finished_) return;
    finished_ = true;
    if (out_ && total_ > 0) draw(true);
}

void Progress::draw(bool final_line) {
    last_draw_ = std::chrono::steady_clock::now();
    last_decile_ = total_ ? static_cast<int>(10 * done_ / total_) : 10;
    const double t = elapsed_seconds();
    const double frac = total_ ? static_cast<double>(done_) / total_ : 1.0;
    constexpr int kWidth = 30;
    const int filled = static_cast<int>(frac * kWidth);
    std::string bar(filled, '#');
    bar += std::string(kWidth - filled, '.');
    char eta[48] = "ETA --:--";
    if (final_line)
        std::snprintf(eta, sizeof eta, "done in %s", format_duration(t).c_str());
    else if (done_work_ > 0)
        std::snprintf(
            eta, sizeof eta, "ETA %s",
            format_duration(t / done_work_ * std::max(0.0, total_work_ - done_work_)).c_str());
    std::fprintf(out_, "%s%s [%s] %zu/%zu %3.0f%% %.1f pt/s %s%s", tty_ ? "\r" : "", label_.c_str(),
                 bar.c_str(), done_, total_, 100 * frac, t > 0 ? done_ / t : 0.0, eta,
                 tty_ && !final_line ? "   " : "\n");
    std::fflush(out_);
}

}  // namespace actsparse::calibration
