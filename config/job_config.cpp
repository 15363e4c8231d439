#include "config/job_config.hpp"

#include <limits>

namespace herd::config {

const char* to_string(normalization x) {
  switch (x) {
    case normalization::standardize: return "standardize";
    case normalization::scale: return "scale";
    case normalization::none: return "none";
  }
  return "?";
}

const char* to_string(optimizer_kind x) {
  switch (x) {
    case optimizer_kind::sgd: return "sgd";
    case optimizer_kind::adam: return "adam";
  }
  return "?";
}

const char* to_string(lr_schedule x) {
  switch (x) {
    case lr_schedule::constant: return "constant";
    case lr_schedule::cosine: return "cosine";
  }
  return "?";
}

const char* to_string(pull_format x) {
  switch (x) {
    case pull_format::fp32: return "fp32";
    case pull_format::fp16: return "fp16";
    case pull_format::bf16: return "bf16";
  }
  return "?";
}

const char* to_string(pipeline_schedule x) {
  switch (x) {
    case pipeline_schedule::gpipe: return "gpipe";
    case pipeline_schedule::one_f_one_b: return "1f1b";
  }
  return "?";
}

const char* to_string(eval_mode x) {
  switch (x) {
    case eval_mode::live: return "live";
    case eval_mode::deferred: return "deferred";
  }
  return "?";
}

const char* to_string(consistency_model x) {
  switch (x) {
    case consistency_model::bsp: return "bsp";
    case consistency_model::ssp: return "ssp";
    case consistency_model::asp: return "asp";
  }
  return "?";
}

const char* to_string(compute_precision x) {
  switch (x) {
    case compute_precision::fp32: return "fp32";
    case compute_precision::bf16: return "bf16";
    case compute_precision::fp16: return "fp16";
  }
  return "?";
}

const char* to_string(restart_policy x) {
  switch (x) {
    case restart_policy::always: return "always";
    case restart_policy::on_failure: return "on-failure";
    case restart_policy::never: return "never";
  }
  return "?";
}

std::string output_dir(const job_config& job) {
  return job.output.dir.empty() ? "runs/" + job.name : job.output.dir;
}

std::string checkpoint_dir(const job_config& job) {
  return job.checkpoint.dir.empty() ? output_dir(job) + "/checkpoints" : job.checkpoint.dir;
}

std::optional<int> cuda_ordinal(std::string_view device) {
  constexpr std::string_view prefix = "cuda:";
  if (!device.starts_with(prefix))
    return std::nullopt;
  auto digits = device.substr(prefix.size());
  if (digits.empty() || digits.size() > 9 || (digits.size() > 1 && digits[0] == '0'))
    return std::nullopt;
  int n = 0;
  for (char c : digits) {
    if (c < '0' || c > '9')
      return std::nullopt;
    n = n * 10 + (c - '0');  // at most 9 digits: fits in int
  }
  return n;
}

bool valid_device(std::string_view device) {
  return device == "cpu" || cuda_ordinal(device).has_value();
}

} // namespace herd::config
