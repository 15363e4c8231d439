// The two ends of gradient compression in a job. A worker's gradient_encoder turns each
// slice of its gradient into a Gradient payload with the job's codec (with error feedback or
// DGC momentum correction when configured, and the density warm-up); a shard's
// gradient_decoder validates any payload against the codec its kind names and decodes it.
// Plain classes over kernels/compress and messages/: no CAF scheduling.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <vector>

#include "config/job_config.hpp"
#include "kernels/compress/codec_registry.hpp"
#include "kernels/compress/error_feedback.hpp"
#include "kernels/compress/momentum_correction.hpp"
#include "messages/payload_codec.hpp"
#include "messages/specs.hpp"
#include "model/slices.hpp"

namespace herd::actors {

/// Checks the job's compression settings against the registry (JSON paths in the errors).
caf::error check_compression(const config::job_config& job,
                             const kernels::compress::codec_registry& codecs);

/// The codec parameters the compression settings describe.
kernels::compress::codec_params codec_params_of(const config::compression_config& c);

/// A distinct, reproducible seed per (job, batch, slice, step) for stochastic codecs, the batch
/// named by its data key (messages::gradient_header::data_key): the same whichever worker
/// computed the batch, so a BSP round encodes the same bytes on every run; and the same on the
/// host and GPU encoders, so both send the same bytes.
uint64_t codec_step_seed(uint64_t seed, uint64_t data_key, uint32_t slice, uint64_t clock);

/// Bytes moved for one step, as sent and as dense fp32 would have been.
struct wire_bytes {
  uint64_t sent = 0;
  uint64_t dense = 0;
};

class gradient_encoder {
public:
  /// `opt`: the job's optimizer; its momentum (and nesterov) run on the worker under
  /// momentum_correction.
  gradient_encoder(const kernels::compress::codec_registry& codecs,
                   const config::compression_config& cfg, const config::optimizer_config& opt,
                   const std::vector<model::slice>& slices, uint64_t seed);

  /// The payload for slice h.shard of `grad` (the full gradient vector) at step h.clock.
  std::vector<char> encode(const messages::gradient_header& h, const float* grad);
  /// Whether gradients go out as plain fp32 values (codec "none").
  bool dense() const { return dense_; }

  /// What the codec kept back, per slice (error feedback's residual, momentum correction's u
  /// and v), into `out`; nothing for codecs that keep nothing.
  void save(messages::carried_state& out) const;
  /// Continues from a save() of the same settings; refuses buffers of another shape.
  caf::error restore(const messages::carried_state& in);

private:
  struct per_slice {
    std::unique_ptr<kernels::compress::codec> plain;
    std::unique_ptr<kernels::compress::error_feedback> feedback;
    std::unique_ptr<kernels::compress::momentum_correction> momentum;
    kernels::compress::encoded scratch;
  };
  config::compression_config cfg_;
  std::vector<model::slice> slices_;
  uint64_t seed_;
  bool dense_;
  std::vector<per_slice> per_slice_;
};

class gradient_decoder {
public:
  explicit gradient_decoder(std::shared_ptr<const kernels::compress::codec_registry> codecs);

  /// Decodes `bytes` (any encoding) into `out` (want.count floats). Refuses malformed,
  /// inconsistent or non-finite gradients; `out` may be clobbered on error.
  expected<messages::gradient_header> decode(const std::vector<char>& bytes,
                                             const messages::slice_expectation& want,
                                             float* out);

  /// As decode, but a dense fp32 gradient is not copied: `values` points into `bytes` then,
  /// and at `out` for every other encoding.
  expected<messages::gradient_header> decode(const std::vector<char>& bytes,
                                             const messages::slice_expectation& want,
                                             float* out, const float*& values);

private:
  std::shared_ptr<const kernels::compress::codec_registry> codecs_;
  std::map<kernels::compress::codec_kind, std::unique_ptr<kernels::compress::codec>> by_kind_;
  kernels::compress::encoded scratch_;
};

} // namespace herd::actors
