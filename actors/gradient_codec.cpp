#include "actors/gradient_codec.hpp"

#include <cmath>
#include <string>

#include "kernels/compress/counter_rng.hpp"
#include "kernels/loss_scaler.hpp"

namespace herd::actors {

namespace compress = kernels::compress;

namespace {

bool is_dense(const config::compression_config& c) {
  return c.codec == "none";
}

std::string known_codecs(const compress::codec_registry& codecs) {
  std::string out = "none";
  for (const auto& n : codecs.names())
    out += ", " + n;
  return out;
}

} // namespace

uint64_t codec_step_seed(uint64_t seed, uint64_t data_key, uint32_t slice, uint64_t clock) {
  using compress::mix64;
  return mix64(seed ^ mix64(data_key) ^ (uint64_t{slice} << 32) ^ clock);
}

caf::error check_compression(const config::job_config& job,
                             const compress::codec_registry& codecs) {
  const auto& c = job.compression;
  if (!is_dense(c) && !codecs.contains(c.codec))
    return make_error(errc::config_invalid, "/compression/codec: unknown codec \"" + c.codec
                                              + "\" (known: " + known_codecs(codecs) + ")");
  if (c.error_feedback && c.codec == "randk")
    return make_error(errc::config_invalid,
                      "/compression/error_feedback: expected false with codec \"randk\" (randk "
                      "scales what it sends by n/k, so the residual grows without bound and the "
                      "job diverges; error feedback suits topk, qsgd, int8 and sign), got true");
  if (c.momentum_correction && c.codec == "randk")
    return make_error(errc::config_invalid,
                      "/compression/momentum_correction: expected false with codec \"randk\" "
                      "(randk scales what it sends by n/k, so the accumulated gradient left "
                      "behind grows without bound and the job diverges; momentum correction "
                      "suits topk), got true");
  if (c.momentum_correction && c.error_feedback)
    return make_error(errc::config_invalid,
                      "/compression/momentum_correction: expected false when error_feedback is "
                      "true (momentum correction already keeps what was not sent), got true");
  if (c.momentum_correction && job.optimizer.type != config::optimizer_kind::sgd)
    return make_error(errc::config_invalid,
                      "/compression/momentum_correction: expected false with optimizer \""
                        + std::string{config::to_string(job.optimizer.type)}
                        + "\" (momentum correction keeps the momentum on the workers and plain "
                          "SGD on the shards: use optimizer.type \"sgd\"), got true");
  return {};
}

compress::codec_params codec_params_of(const config::compression_config& c) {
  compress::codec_params p;
  p.density = c.density;
  p.topk_sampled = c.sampled;
  p.bucket = c.bucket;
  p.levels = c.levels;
  return p;
}

gradient_encoder::gradient_encoder(const compress::codec_registry& codecs,
                                   const config::compression_config& cfg,
                                   const config::optimizer_config& opt,
                                   const std::vector<model::slice>& slices, uint64_t seed)
  : cfg_(cfg), slices_(slices), seed_(seed), dense_(is_dense(cfg)) {
  if (dense_)
    return;
  auto params = codec_params_of(cfg);
  for (const auto& s : slices_) {
    per_slice p;
    auto n = static_cast<uint32_t>(s.count);
    auto c = codecs.make(cfg.codec, params);
    if (cfg.error_feedback)
      p.feedback = std::make_unique<compress::error_feedback>(std::move(c), n);
    else
      p.plain = std::move(c);
    if (cfg.momentum_correction)
      p.momentum = std::make_unique<compress::momentum_correction>(
        n, static_cast<float>(opt.momentum), opt.nesterov);
    per_slice_.push_back(std::move(p));
  }
}

std::vector<char> gradient_encoder::encode(const messages::gradient_header& h,
                                           const float* grad) {
  const float* g = grad + slices_[h.shard].offset;
  if (dense_)
    return messages::encode_gradient(h, g, messages::dense_format::f32);
  auto& p = per_slice_[h.shard];
  auto seed = codec_step_seed(seed_, h.data_key, h.shard, h.clock);
  if (cfg_.warmup_steps > 0) {
    auto d = compress::warmup_density(cfg_.density, h.clock, uint64_t(cfg_.warmup_steps));
    (p.feedback ? p.feedback->inner() : *p.plain).set_density(d);
  }
  if (p.momentum)
    g = p.momentum->apply(g);
  if (p.feedback)
    p.feedback->encode(g, seed, p.scratch);
  else
    p.plain->encode(g, h.count, seed, p.scratch);
  if (p.momentum)
    p.momentum->clear_sent(p.scratch);
  return messages::encode_gradient(h, p.scratch);
}

void gradient_encoder::save(messages::carried_state& out) const {
  for (size_t i = 0; i < per_slice_.size(); ++i) {
    const auto& p = per_slice_[i];
    if (p.feedback) {
      out.residual.resize(per_slice_.size());
      const float* r = p.feedback->residual();
      out.residual[i].assign(r, r + p.feedback->size());
    }
    if (p.momentum) {
      out.velocity.resize(per_slice_.size());
      out.accumulated.resize(per_slice_.size());
      const float* u = p.momentum->velocity();
      const float* v = p.momentum->accumulated();
      out.velocity[i].assign(u, u + p.momentum->size());
      out.accumulated[i].assign(v, v + p.momentum->size());
    }
  }
}

caf::error gradient_encoder::restore(const messages::carried_state& in) {
  auto refuse = [](const std::string& what) {
    return make_error(errc::size_mismatch, "the checkpoint's " + what
                                             + " does not fit this job's gradient codec");
  };
  auto slices_of = [&](const std::vector<std::vector<float>>& v) {
    return v.empty() || v.size() == per_slice_.size();
  };
  if (!slices_of(in.residual) || !slices_of(in.velocity) || !slices_of(in.accumulated))
    return refuse("per-slice state");
  for (size_t i = 0; i < per_slice_.size(); ++i) {
    auto& p = per_slice_[i];
    if (!in.residual.empty() && (!p.feedback || !p.feedback->restore(in.residual[i])))
      return refuse("error-feedback residual");
    if (!in.velocity.empty()
        && (!p.momentum || in.accumulated.empty()
            || !p.momentum->restore(in.velocity[i], in.accumulated[i])))
      return refuse("momentum correction state");
  }
  return {};
}

gradient_decoder::gradient_decoder(std::shared_ptr<const compress::codec_registry> codecs)
  : codecs_(std::move(codecs)) {
}

namespace {

caf::error non_finite(uint32_t worker, const float* v, uint32_t count) {
  uint32_t i = 0;
  while (i < count && std::isfinite(v[i]))
    ++i;
  return make_error(errc::payload_invalid, "gradient from worker " + std::to_string(worker)
                                             + " holds a non-finite value at element "
                                             + std::to_string(i));
}

} // namespace

expected<messages::gradient_header>
gradient_decoder::decode(const std::vector<char>& bytes, const messages::slice_expectation& want,
                         float* out) {
  const float* values = nullptr;
  auto h = decode(bytes, want, out, values);
  if (h && values != out)
    std::copy(values, values + want.count, out);
  return h;
}

expected<messages::gradient_header>
gradient_decoder::decode(const std::vector<char>& bytes, const messages::slice_expectation& want,
                         float* out, const float*& values) {
  values = out;
  const float* view = nullptr;
  auto dense = messages::view_dense_gradient(bytes, want, view);
  if (dense && view) { // fp32 as sent: checked where it lies
    if (!kernels::all_finite_cpu(view, want.count))
      return non_finite(dense->worker, view, want.count);
    values = view;
    return dense;
  }
  auto h = messages::decode_gradient(bytes, want, scratch_);
  if (!h)
    return h;
  auto& c = by_kind_[scratch_.kind];
  if (!c) {
    c = codecs_->make(std::string{compress::kind_name(scratch_.kind)}, compress::codec_params{});
    if (!c)
      return make_error(errc::payload_invalid,
                        "gradient encoded as \"" + std::string{compress::kind_name(scratch_.kind)}
                          + "\", which this shard has no codec for");
  }
  if (auto why = compress::validate_and_decode(*c, scratch_, want.count, out))
    return make_error(errc::payload_invalid, "gradient from worker " + std::to_string(h->worker)
                                               + " refused: " + *why);
  if (!kernels::all_finite_cpu(out, want.count)) // one vectorized pass; the loop names where
    return non_finite(h->worker, out, want.count);
  return h;
}

} // namespace herd::actors
