// Control-message types carried in CAF messages, with their inspect() (CAF 0.17 form).
// Bulk data travels as `payload`: a Cap'n Proto message in an owned byte buffer
// (std::vector<char> hits CAF's one-memcpy serialization path).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <caf/meta/type_name.hpp>

namespace herd::messages {

/// One Cap'n Proto message (ParamSlice or Gradient), see payload_codec.hpp.
struct payload {
  std::vector<char> bytes;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, payload& x) {
  return f(caf::meta::type_name("herd::payload"), x.bytes);
}

/// A data chunk handed to a worker: sample indices into the training set.
struct data_chunk {
  uint64_t id = 0;
  uint32_t epoch = 0;
  std::vector<uint32_t> indices;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, data_chunk& x) {
  return f(caf::meta::type_name("herd::data_chunk"), x.id, x.epoch, x.indices);
}

/// What a worker reports after each step.
struct step_report {
  uint32_t worker = 0;
  uint64_t clock = 0;  // steps completed
  uint32_t samples = 0;
  float loss = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, step_report& x) {
  return f(caf::meta::type_name("herd::step_report"), x.worker, x.clock, x.samples, x.loss);
}

/// What the evaluator measured on a parameter snapshot.
struct eval_report {
  uint64_t clock = 0;        // supervisor clock the snapshot was taken for
  uint64_t samples_seen = 0; // training samples consumed before the snapshot
  double loss = 0;
  double accuracy = 0;
  double eval_seconds = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, eval_report& x) {
  return f(caf::meta::type_name("herd::eval_report"), x.clock, x.samples_seen, x.loss,
           x.accuracy, x.eval_seconds);
}

} // namespace herd::messages
