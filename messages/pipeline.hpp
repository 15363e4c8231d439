// Messages between the stages of one pipeline replica (actors/stage.hpp). They cross nodes,
// so every member is a plain value type with an inspect().
//
//   stage k --activations(clock, micro m)--> stage k+1      forward, in micro-batch order
//   stage k <--deltas(clock, micro m)------- stage k+1      backward
//   stage 0 --commit(clock)--> 1 --> ... --> K-1             push now (or skip: inf/NaN)
//   stage 0 --end--> 1 --> ... --> K-1                       data used up / stopped: leave
#pragma once

#include <cstdint>
#include <vector>

#include <caf/meta/type_name.hpp>

namespace herd::messages {

/// Micro-batch `micro` of `micro_count` of the minibatch at `clock`: the previous stage's
/// output (rows x width) and the labels, which the last stage needs.
struct stage_activations {
  uint64_t clock = 0;
  uint32_t micro = 0;
  uint32_t micro_count = 0;
  uint32_t rows = 0;
  uint32_t total_rows = 0;  // rows of the whole minibatch (weights the loss)
  uint64_t t_start_ns = 0;  // steady clock when stage 0 began the minibatch (bubble)
  float loss_scale = 1.0f;  // fp16: stage 0's loss scale, for the last stage's loss gradient
  std::vector<float> values;
  std::vector<uint8_t> labels;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, stage_activations& x) {
  return f(caf::meta::type_name("herd::stage_activations"), x.clock, x.micro, x.micro_count,
           x.rows, x.total_rows, x.t_start_ns, x.loss_scale, x.values, x.labels);
}

/// The delta of the receiving stage's output for micro-batch `micro` (rows x width), and the
/// micro-batch's weighted loss (rows_m / total_rows x its mean loss) for stage 0 to report.
/// `finite`: false once any later stage found inf/NaN in its gradient of the minibatch (each
/// checks with its last backward; overflow in fp16, a bad sample, divergence).
struct stage_deltas {
  uint64_t clock = 0;
  uint32_t micro = 0;
  float weighted_loss = 0;
  bool finite = true;
  std::vector<float> values;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, stage_deltas& x) {
  return f(caf::meta::type_name("herd::stage_deltas"), x.clock, x.micro, x.weighted_loss,
           x.finite, x.values);
}

/// Every stage of the replica finished the backward of the minibatch at `clock`: push it, or,
/// when some stage's gradient held inf/NaN (`finite` false), skip it on every stage's shards.
struct stage_commit {
  uint64_t clock = 0;
  uint64_t t_start_ns = 0; // the minibatch's schedule: stage 0's first forward ...
  uint64_t t_end_ns = 0;   // ... to its last backward
  bool finite = true;
  uint64_t data_key = 0; // where the minibatch lies in the data (gradient_header::data_key)
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, stage_commit& x) {
  return f(caf::meta::type_name("herd::stage_commit"), x.clock, x.t_start_ns, x.t_end_ns,
           x.finite, x.data_key);
}

} // namespace herd::messages
