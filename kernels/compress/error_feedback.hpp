#pragma once

// Error feedback around any codec (Seide et al. 2014; Karimireddy et al.
// 2019): what compression dropped is kept as a residual r and added to the
// next gradient.
//   c = g + r;  out = inner.encode(c);  r = c - inner.decode(out)
// So sum_t decode(out_t) = sum_t g_t - r_T: nothing is lost, only delayed.
// One object per worker per slice (the caller owns it); not thread-safe.
// A non-finite gradient poisons r: after a step skipped for inf/NaN, call
// reset().

#include <cstdint>
#include <memory>
#include <vector>

#include "kernels/compress/codec.hpp"

namespace herd::kernels::compress {

class error_feedback {
public:
  error_feedback(std::unique_ptr<codec> inner, uint32_t n);

  // Encodes g (n elements) + residual into out and updates the residual.
  void encode(const float* g, uint64_t step_seed, encoded& out);

  const float* residual() const { return r_.data(); }
  uint32_t size() const { return n_; }
  codec& inner() { return *inner_; }
  const codec& inner() const { return *inner_; }
  void reset();
  // Takes a residual kept from before (a checkpoint); false unless it has size() elements.
  bool restore(const std::vector<float>& r);

private:
  std::unique_ptr<codec> inner_;
  uint32_t n_;
  std::vector<float> r_;
  std::vector<float> c_; // g + r
  std::vector<float> d_; // decode(out)
};

} // namespace herd::kernels::compress
