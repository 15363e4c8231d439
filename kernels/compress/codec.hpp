#pragma once

// The codec interface: one small class per codec (BytePS's compressor
// layout). A codec turns a float gradient slice into an `encoded` and back.
//
// Contract for every codec:
// - encode(g, n, step_seed, out) overwrites every field of out (reusing its
//   vectors' capacity). g must not alias out's buffers. Stochastic codecs
//   draw from a counter-based generator keyed by step_seed, so the same
//   (g, step_seed) always gives the same bytes; the caller derives step_seed
//   from (job seed, worker, slice, step).
// - validate(e, expected_count) returns nullopt when e is a well-formed
//   message of this codec for a slice of expected_count elements, and one
//   line naming the first inconsistency otherwise. It reads only e (bucket,
//   levels and k come from the message, not from this codec's params), so a
//   receiver needs only the kind.
// - decode(e, out) requires validate(e, e.count) == nullopt (asserted in
//   debug builds) and writes all e.count elements of out: zeros where nothing
//   was sent. Use validate_and_decode() on anything that came off the wire.
// - A codec object keeps scratch buffers: use one per thread. decode is
//   const and keeps no shared scratch, so it may run concurrently.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "kernels/compress/codec_params.hpp"
#include "kernels/compress/encoded.hpp"

namespace herd::kernels::compress {

class codec {
public:
  virtual ~codec() = default;

  // The registry name, e.g. "topk".
  virtual std::string name() const = 0;

  virtual codec_kind kind() const = 0;

  virtual void encode(const float* g, uint32_t n, uint64_t step_seed,
                      encoded& out) = 0;

  virtual std::optional<std::string> validate(const encoded& e,
                                              uint32_t expected_count) const
    = 0;

  virtual void decode(const encoded& e, float* out) const = 0;

  // Fraction of elements a sparsifier sends from the next encode on (the
  // DGC warm-up changes it per step). Codecs that send every element ignore
  // it.
  virtual void set_density(double density) { (void)density; }
};

// validate(e, expected_count), then decode into out (expected_count
// elements) only when it passed. out is untouched on error.
std::optional<std::string> validate_and_decode(const codec& c,
                                               const encoded& e,
                                               uint32_t expected_count,
                                               float* out);

} // namespace herd::kernels::compress
