#include "apps/progress_printer.hpp"

namespace herd::apps {

progress_printer::progress_printer(std::FILE* out, bool live, int64_t log_every)
  : out_(out), live_(live), log_every_(log_every > 0 ? uint64_t(log_every) : 0),
    next_log_(log_every_) {
}

void progress_printer::progress(const actors::progress_info& p) {
  char acc[32] = "-";
  if (p.last_accuracy >= 0)
    std::snprintf(acc, sizeof acc, "%.2f%%", 100.0 * p.last_accuracy);
  if (live_) {
    auto now = std::chrono::steady_clock::now();
    if (now - last_draw_ < std::chrono::milliseconds(200))
      return;
    last_draw_ = now;
    std::fprintf(out_,
                 "\r\033[Kepoch %u  step %llu  loss %.4f  %.0f samples/s  test acc %s  %.1fs",
                 p.epoch + 1, (unsigned long long) p.clock, shown_loss(p.loss), p.samples_per_s,
                 acc, p.elapsed_s);
    std::fflush(out_);
    line_open_ = true;
    return;
  }
  if (log_every_ == 0 || p.clock < next_log_)
    return;
  next_log_ = (p.clock / log_every_ + 1) * log_every_;
  std::fprintf(out_, "epoch %u step %llu loss %.4f samples/s %.0f test_acc %s elapsed %.1fs\n",
               p.epoch + 1, (unsigned long long) p.clock, shown_loss(p.loss), p.samples_per_s, acc,
               p.elapsed_s);
  std::fflush(out_);
}

void progress_printer::eval(const actors::eval_point& e) {
  finish_line();
  std::fprintf(out_, "eval: step %llu  test loss %.4f  test acc %.2f%%  at %.1fs (eval %.2fs)\n",
               (unsigned long long) e.clock, shown_loss(e.loss), 100.0 * e.accuracy, e.train_s,
               e.eval_s);
  std::fflush(out_);
}

void progress_printer::log(const std::string& line) {
  finish_line();
  std::fprintf(out_, "%s\n", line.c_str());
  std::fflush(out_);
}

void progress_printer::finish_line() {
  if (line_open_) {
    std::fputc('\n', out_);
    line_open_ = false;
  }
}

} // namespace herd::apps
