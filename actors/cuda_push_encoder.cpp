#include "actors/cuda_push_encoder.hpp"

#include <algorithm>

#include <cuda_runtime_api.h>

#include "actors/gradient_codec.hpp"
#include "kernels/compress/code_packing.hpp"
#include "kernels/compress/codec_params.hpp"
#include "kernels/compress/momentum_correction.hpp" // warmup_density
#include "kernels/compress/qsgd_codec.hpp"
#include "kernels/compress/topk_candidates.hpp"
#include "kernels/cuda/codecs_cuda.hpp"
#include "kernels/cuda/elementwise_cuda.hpp"
#include "kernels/cuda/feedback_cuda.hpp"

namespace herd::actors {

namespace compress = kernels::compress;

bool cuda_push_encoder::supports(const config::compression_config& c) {
  static const char* const on_device[] = {"fp16", "bf16", "int8", "sign",
                                          "qsgd", "topk", "randk"};
  return !c.momentum_correction
         && std::find_if(std::begin(on_device), std::end(on_device),
                         [&](const char* n) { return c.codec == n; })
              != std::end(on_device);
}

cuda_push_encoder::cuda_push_encoder(const config::compression_config& cfg,
                                     std::vector<model::slice> slices, uint64_t seed)
  : cfg_(cfg), slices_(std::move(slices)), seed_(seed),
    half_(cfg.codec == "bf16" ? kernels::half_format::bf16 : kernels::half_format::fp16),
    count_h_(1) {
  size_t widest = 0;
  for (const auto& s : slices_)
    widest = std::max(widest, s.count);
  const uint32_t bucket = std::max<uint32_t>(1, cfg_.bucket);
  codes_ = kernels::device_buffer<uint8_t>(2 * widest);
  scales_ = kernels::device_buffer<float>(widest / bucket + 1);
  if (cfg_.codec == "topk") {
    hist_ = kernels::device_buffer<uint32_t>(compress::topk_buckets + 1);
    count_ = kernels::device_buffer<uint32_t>(1);
  }
  if (cfg_.codec == "topk" || cfg_.codec == "randk") { // randk: the positions and values
    cand_idx_ = kernels::device_buffer<uint32_t>(widest);
    cand_val_ = kernels::device_buffer<float>(widest);
  }
  if (cfg_.codec == "randk")
    randk_work_ = kernels::device_buffer<uint8_t>(kernels::randk_work_bytes(uint32_t(widest)));
  if (cfg_.error_feedback) {
    for (const auto& s : slices_) {
      residual_.emplace_back(s.count);
      HERD_CUDA_CHECK(cudaMemset(residual_.back().get(), 0, residual_.back().bytes()));
    }
    // cudaMemset is asynchronous to the host and runs on the legacy default stream, which the
    // encoder's non-blocking streams do not wait for: let the zeros land before any encode.
    HERD_CUDA_CHECK(cudaStreamSynchronize(nullptr));
  }
}

std::vector<std::vector<float>> cuda_push_encoder::residual(cudaStream_t s) const {
  std::vector<std::vector<float>> out(residual_.size());
  for (size_t i = 0; i < residual_.size(); ++i) {
    out[i].resize(residual_[i].size());
    HERD_CUDA_CHECK(cudaMemcpyAsync(out[i].data(), residual_[i].get(), residual_[i].bytes(),
                                    cudaMemcpyDeviceToHost, s));
  }
  HERD_CUDA_CHECK(cudaStreamSynchronize(s));
  return out;
}

bool cuda_push_encoder::restore_residual(const std::vector<std::vector<float>>& r,
                                         cudaStream_t s) {
  if (r.empty()) // none kept (as gradient_encoder::restore): the residual stays zero
    return true;
  if (r.size() != residual_.size())
    return false;
  for (size_t i = 0; i < r.size(); ++i)
    if (r[i].size() != residual_[i].size())
      return false;
  for (size_t i = 0; i < r.size(); ++i)
    HERD_CUDA_CHECK(cudaMemcpyAsync(residual_[i].get(), r[i].data(), residual_[i].bytes(),
                                    cudaMemcpyHostToDevice, s));
  HERD_CUDA_CHECK(cudaStreamSynchronize(s));
  return true;
}

double cuda_push_encoder::density_at(uint64_t clock) const {
  if (cfg_.warmup_steps > 0)
    return compress::warmup_density(cfg_.density, clock, uint64_t(cfg_.warmup_steps));
  return cfg_.density;
}

void cuda_push_encoder::copy_down(void* host, const void* dev, size_t bytes, cudaStream_t s) {
  if (bytes == 0)
    return;
  HERD_CUDA_CHECK(cudaMemcpyAsync(host, dev, bytes, cudaMemcpyDeviceToHost, s));
}

std::vector<char> cuda_push_encoder::encode(const messages::gradient_header& h,
                                            const float* grad, cudaStream_t s) {
  const auto& sl = slices_[h.shard];
  const auto n = static_cast<uint32_t>(sl.count);
  const float* g = grad + sl.offset;
  float* r = cfg_.error_feedback ? residual_[h.shard].get() : nullptr;
  if (r) { // c = g + r, encoded from r's buffer; r = c - decode(out) afterwards
    kernels::add_into_cuda(r, g, n, s);
    g = r;
  }
  const uint64_t step_seed = codec_step_seed(seed_, h.data_key, h.shard, h.clock);
  const uint32_t bucket = std::max<uint32_t>(1, cfg_.bucket);
  auto& e = out_;
  e.count = n;
  e.indices.clear();
  e.scales.clear();
  e.bucket = 0;
  e.levels = 0;
  e.seed = 0;
  if (cfg_.codec == "fp16" || cfg_.codec == "bf16") {
    e.kind = half_ == kernels::half_format::bf16 ? compress::codec_kind::bf16
                                                 : compress::codec_kind::fp16;
    auto* h16 = reinterpret_cast<uint16_t*>(codes_.get());
    kernels::to_half_cuda(g, h16, n, half_, s);
    if (r)
      kernels::feedback_half_cuda(r, n, half_, s);
    e.data.resize(2 * size_t(n));
    copy_down(e.data.data(), h16, e.data.size(), s);
    HERD_CUDA_CHECK(cudaStreamSynchronize(s));
  } else if (cfg_.codec == "int8" || cfg_.codec == "sign" || cfg_.codec == "qsgd") {
    e.bucket = bucket;
    e.scales.resize((size_t(n) + bucket - 1) / bucket);
    if (cfg_.codec == "int8") {
      e.kind = compress::codec_kind::int8;
      auto* codes = reinterpret_cast<int8_t*>(codes_.get());
      kernels::int8_encode_cuda(g, n, bucket, step_seed, codes, scales_.get(), s);
      if (r)
        kernels::feedback_int8_cuda(r, codes, scales_.get(), n, bucket, s);
      e.data.resize(n);
    } else if (cfg_.codec == "qsgd") { // levels clamped as qsgd_codec does
      e.kind = compress::codec_kind::qsgd;
      e.levels = std::clamp<uint32_t>(cfg_.levels, 1, compress::qsgd_max_levels);
      kernels::qsgd_encode_cuda(g, n, bucket, e.levels, step_seed, codes_.get(), scales_.get(),
                                s);
      if (r)
        kernels::feedback_qsgd_cuda(r, codes_.get(), scales_.get(), n, bucket, e.levels, s);
      e.data.resize(compress::packed_bytes(n, compress::qsgd_codec::code_bits(e.levels)));
    } else {
      e.kind = compress::codec_kind::sign;
      kernels::sign_encode_cuda(g, n, bucket, codes_.get(), scales_.get(), s);
      if (r)
        kernels::feedback_sign_cuda(r, codes_.get(), scales_.get(), n, bucket, s);
      e.data.resize((size_t(n) + 7) / 8);
    }
    copy_down(e.data.data(), codes_.get(), e.data.size(), s);
    copy_down(e.scales.data(), scales_.get(), 4 * e.scales.size(), s);
    HERD_CUDA_CHECK(cudaStreamSynchronize(s));
  } else if (cfg_.codec == "randk") { // values only: the receiver derives the positions
    e.kind = compress::codec_kind::randk;
    e.seed = step_seed;
    const uint32_t k = compress::sparse_count(density_at(h.clock), n);
    kernels::randk_encode_cuda(g, n, k, step_seed, randk_work_.get(), randk_work_.bytes(),
                               cand_idx_.get(), cand_val_.get(), s);
    if (r)
      kernels::feedback_randk_cuda(r, cand_idx_.get(), cand_val_.get(), k, s);
    e.data.resize(4 * size_t(k));
    copy_down(e.data.data(), cand_val_.get(), e.data.size(), s);
    HERD_CUDA_CHECK(cudaStreamSynchronize(s));
  } else { // topk
    const uint32_t k = compress::sparse_count(density_at(h.clock), n);
    kernels::topk_candidates_cuda(g, n, k, hist_.get(), cand_idx_.get(), cand_val_.get(),
                                  count_.get(), s);
    copy_down(count_h_.get(), count_.get(), 4, s);
    HERD_CUDA_CHECK(cudaStreamSynchronize(s));
    const uint32_t m = count_h_[0];
    idx_h_.resize(m);
    val_h_.resize(m);
    copy_down(idx_h_.data(), cand_idx_.get(), 4 * size_t(m), s);
    copy_down(val_h_.data(), cand_val_.get(), 4 * size_t(m), s);
    HERD_CUDA_CHECK(cudaStreamSynchronize(s));
    compress::topk_from_candidates(idx_h_.data(), val_h_.data(), m, k, n, e, scratch_);
    if (r && !e.indices.empty()) { // what was sent leaves the residual
      HERD_CUDA_CHECK(cudaMemcpyAsync(cand_idx_.get(), e.indices.data(),
                                      4 * e.indices.size(), cudaMemcpyHostToDevice, s));
      kernels::feedback_topk_cuda(r, cand_idx_.get(), uint32_t(e.indices.size()), s);
      HERD_CUDA_CHECK(cudaStreamSynchronize(s)); // e.indices is pageable and reused
    }
  }
  return messages::encode_gradient(h, e);
}

} // namespace herd::actors
