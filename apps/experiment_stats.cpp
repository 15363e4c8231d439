#include "apps/experiment_stats.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace herd::apps {

std::string fmt(const char* format, double x) {
  char buf[64];
  std::snprintf(buf, sizeof buf, format, x);
  return buf;
}

std::string seconds(double s) {
  return fmt(s < 10 ? "%.2f" : "%.1f", s);
}

std::string ratio_text(double x) {
  return fmt(x >= 100 ? "%.0f" : x >= 10 ? "%.1f" : "%.2f", x);
}

double median(std::vector<double> xs) {
  if (xs.empty())
    return 0;
  std::sort(xs.begin(), xs.end());
  auto n = xs.size();
  return n % 2 == 1 ? xs[n / 2] : 0.5 * (xs[n / 2 - 1] + xs[n / 2]);
}

double mean(const std::vector<double>& xs) {
  double sum = 0;
  for (double x : xs)
    sum += x;
  return xs.empty() ? 0 : sum / double(xs.size());
}

double stddev(const std::vector<double>& xs) {
  if (xs.size() < 2)
    return 0;
  double m = mean(xs), sq = 0;
  for (double x : xs)
    sq += (x - m) * (x - m);
  return std::sqrt(sq / double(xs.size() - 1));
}

double per_step(uint64_t bytes, uint64_t steps) {
  return steps == 0 ? 0 : double(bytes) / double(steps);
}

std::optional<double> ratio(uint64_t dense, uint64_t sent) {
  if (sent == 0)
    return std::nullopt;
  return double(dense) / double(sent);
}

std::optional<double> setting_stats::ttt_median() const {
  if (runs == 0 || missed > 0)
    return std::nullopt;
  return median(ttt);
}

std::string setting_stats::ttt_cell() const {
  if (runs == 0)
    return "-";
  if (missed > 0)
    return "not reached (" + std::to_string(missed) + "/" + std::to_string(runs) + ")";
  return seconds(median(ttt));
}

std::vector<setting_stats> aggregate(const experiment_config& exp,
                                     const std::vector<run_record>& runs) {
  std::vector<setting_stats> out;
  for (const auto& c : exp.consistency)
    for (const auto& k : exp.compression)
      for (const auto& s : exp.stragglers) {
        setting_stats st;
        st.consistency = c.label();
        st.compression = k.name;
        st.straggler = s.name;
        out.push_back(std::move(st));
      }
  for (const auto& r : runs) {
    auto& st = out[setting_index(exp, r.spec)];
    if (!r.finished()) {
      ++st.failed;
      continue;
    }
    const auto& res = *r.result;
    ++st.runs;
    if (res.time_to_target_s)
      st.ttt.push_back(*res.time_to_target_s);
    else
      ++st.missed;
    st.steps.push_back(res.steps_per_s);
    st.final_acc.push_back(res.final_eval.accuracy);
    st.seeds.push_back(r.spec.seed);
    st.up_kib.push_back(per_step(res.up_bytes, res.steps) / 1024.0);
    if (auto x = ratio(res.up_dense_bytes, res.up_bytes))
      st.up_ratio.push_back(*x);
    if (auto x = ratio(res.down_dense_bytes, res.down_bytes))
      st.down_ratio.push_back(*x);
    st.encode_us.push_back(res.encode_us_per_step());
    st.decode_us.push_back(res.decode_us_per_step());
    st.p50.push_back(double(res.staleness_p50));
    st.p99.push_back(double(res.staleness_p99));
  }
  return out;
}

std::optional<size_t> dense_setting(const experiment_config& exp) {
  std::optional<size_t> out;
  for (size_t k = exp.compression.size(); k-- > 0;) {
    const auto& c = exp.compression[k].section;
    if (c.codec == "none" && (!out || c.pull == config::pull_format::fp32))
      out = k;
  }
  return out;
}

} // namespace herd::apps
