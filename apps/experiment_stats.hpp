// The numbers behind `herd experiment`'s report: each (consistency, compression, straggler)
// setting aggregated over its seeds, and the small statistics and number formats the tables use.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "apps/experiment_config.hpp"
#include "apps/experiment_runner.hpp"

namespace herd::apps {

/// printf-style formatting of one number.
std::string fmt(const char* format, double x);
/// Seconds with two decimals below 10 s, one above.
std::string seconds(double s);
/// "1.00", "12.3", "498": three significant digits or so.
std::string ratio_text(double x);

double median(std::vector<double> xs);
double mean(const std::vector<double>& xs);
/// Sample standard deviation; 0 for fewer than 2 values.
double stddev(const std::vector<double>& xs);

double per_step(uint64_t bytes, uint64_t steps);
/// fp32 bytes over the bytes sent; nullopt when nothing was sent.
std::optional<double> ratio(uint64_t dense, uint64_t sent);

/// One (consistency, compression, straggler) setting aggregated over the seeds that ran.
struct setting_stats {
  std::string consistency;
  std::string compression;
  std::string straggler;
  size_t runs = 0;   // successful runs
  size_t failed = 0;
  size_t missed = 0; // successful runs that never reached the target
  std::vector<double> ttt, steps, final_acc, p50, p99;
  std::vector<uint64_t> seeds; // of final_acc's entries
  std::vector<double> up_kib, up_ratio, down_ratio; // KiB per step; fp32 bytes / bytes sent
  std::vector<double> encode_us, decode_us;         // per worker step

  /// Median time to target, only when every run reached it.
  std::optional<double> ttt_median() const;
  /// The median time, or "not reached (k/n)", or "-" when nothing ran.
  std::string ttt_cell() const;
};

/// Indexed as setting_index: consistency, then compression, then straggler.
std::vector<setting_stats> aggregate(const experiment_config& exp,
                                     const std::vector<run_record>& runs);

/// The dense reference among the compression settings: the first with codec "none" and fp32
/// pulls, else the first with codec "none"; nullopt when there is none.
std::optional<size_t> dense_setting(const experiment_config& exp);

} // namespace herd::apps
