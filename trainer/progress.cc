#include "trainer/progress.h"

#include <unistd.h>

#include <cstdio>

namespace actsparse::trainer {
namespace {

std::string hms(double seconds) {
    if (!(seconds >= 0.0) || seconds > 1e7) return "--:--";
    const auto s = static_cast<int64_t>(seconds + 0.5);
    char buf[32];
    if (s >= 3600)
        std::snprintf(buf, sizeof(buf), "%lld:%02lld:%02lld", static_cast<long long>(s / 3600),
                      static_cast<long long>(s / 60 % 60), static_cast<long long>(s % 60));
    else
        std::snprintf(buf, sizeof(buf), "%02lld:%02lld", static_cast<long long>(s / 60),
                      static_cast<long long>(s % 60));
    return buf;
}

}  // namespace

ProgressBar::ProgressBar(bool enabled) : enabled_(enabled), tty_(::isatty(2) != 0) {}

void ProgressBar::start_epoch(int64_t epoch, int64_t epochs, int64_t total, int64_t first) {
    epoch_ = epoch;
    epochs_ = epochs;
    total_ = total;
    first_ = first;
    done_ = first;
    start_ = last_draw_ = Clock::now();
    drawn_ = false;
}

void ProgressBar::update(int64_t done, double loss, double accuracy, double density) {
    done_ = done;
    loss_ = loss;
    accuracy_ = accuracy;
    density_ = density;
    if (!enabled_) return;
    const auto now = Clock::now();
    const double since = std::chrono::duration<double>(now - last_draw_).count();
    if (since < (tty_ ? 0.2 : 30.0) && done != total_) return;
    if (!tty_ && done == total_) return;  // finish() prints the epoch's last line
    last_draw_ = now;
    draw(false);
}

void ProgressBar::draw(bool final_line) {
    const double elapsed = std::chrono::duration<double>(Clock::now() - start_).count();
    const int64_t run = done_ - first_;
    const double rate = run > 0 && elapsed > 0.0 ? run / elapsed : 0.0;
    const double eta = rate > 0.0 ? (total_ - done_) / rate : -1.0;
    constexpr int kWidth = 20;
    const int fill = total_ > 0 ? static_cast<int>(kWidth * done_ / total_) : kWidth;
    std::string bar(fill, '=');
    if (fill < kWidth) bar += '>' + std::string(kWidth - fill - 1, ' ');
    const char* end = tty_ ? (final_line ? "\033[K\n" : "\033[K") : "\n";
    std::fprintf(stderr,
                 "%sepoch %lld/%lld [%s] %lld/%lld loss %.4f acc %5.1f%% density %.3f %.2f it/s "
                 "%s %s%s",
                 tty_ ? "\r" : "", static_cast<long long>(epoch_ + 1),
                 static_cast<long long>(epochs_), bar.c_str(), static_cast<long long>(done_),
                 static_cast<long long>(total_), loss_, 100.0 * accuracy_, density_, rate,
                 final_line ? "took" : "ETA", hms(final_line ? elapsed : eta).c_str(), end);
    std::fflush(stderr);
    drawn_ = !final_line;
}

void ProgressBar::finish(const std::string& tail) {
    if (!enabled_) return;
    draw(true);
    if (!tail.empty()) std::fprintf(stderr, "  %s\n", tail.c_str());
    std::fflush(stderr);
}

void ProgressBar::end_line() {
    if (enabled_ && tty_ && drawn_) std::fputs("\n", stderr);
    drawn_ = false;
    std::fflush(stderr);
}

void ProgressBar::message(const std::string& text) {
    if (enabled_ && tty_ && drawn_) std::fputs("\r\033[K", stderr);
    std::fprintf(stderr, "%s\n", text.c_str());
    if (enabled_ && tty_ && drawn_) draw(false);
    std::fflush(stderr);
}

}  // namespace actsparse::trainer
