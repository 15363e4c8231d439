// compress_bench: encode and decode time of every codec on the MLP's
// parameter count (784-256-128-10: 235,146 floats) and on 1M floats, with
// the compression ratio (dense fp32 bytes / encoded_bytes) and a memcpy of
// the same slice measured in the same run as the baseline. Each result is
// validated (validate() and the codec's error bound) before timing. Prints
// one JSON line per codec configuration and size. Not part of the test run.
//
//   compress_bench [REPS [SIZE...]]     (default 31 timed repetitions; see usage below)

#include <sys/utsname.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "bench/args.hpp"
#include "bench/machine.hpp"
#include "kernels/compress/codec_registry.hpp"
#include "kernels/compress/error_feedback.hpp"

using namespace herd::kernels::compress;

namespace {

using herd::bench::cpu_model;
using herd::bench::host_name;
using herd::bench::json_escape;

struct stats {
  double median_us, p10_us, p90_us;
};

template <class F>
stats time_us(F&& f, int warmup, int reps) {
  for (int i = 0; i < warmup; ++i)
    f(i);
  std::vector<double> t(static_cast<size_t>(reps));
  for (int r = 0; r < reps; ++r) {
    auto start = std::chrono::steady_clock::now();
    f(warmup + r);
    auto stop = std::chrono::steady_clock::now();
    t[size_t(r)]
      = std::chrono::duration<double, std::micro>(stop - start).count();
  }
  std::sort(t.begin(), t.end());
  auto at = [&](double q) { return t[size_t(q * (t.size() - 1) + 0.5)]; };
  return {at(0.5), at(0.1), at(0.9)};
}

struct config {
  std::string codec;  // registry name
  std::string label;  // configuration, for the JSON line
  codec_params params;
  bool feedback = false; // wrap in error_feedback (encode timing only)
};

std::vector<config> configs() {
  auto with = [](auto f) {
    codec_params p;
    f(p);
    return p;
  };
  return {
    {"dense_f32", "identity", {}},
    {"fp16", "rne", {}},
    {"bf16", "rne", {}},
    {"int8", "bucket_512", with([](codec_params& p) { p.bucket = 512; })},
    {"qsgd", "s4_bucket_512", with([](codec_params& p) { p.levels = 4; })},
    {"qsgd", "s1_bucket_512", with([](codec_params& p) { p.levels = 1; })},
    {"qsgd", "s127_bucket_512",
     with([](codec_params& p) { p.levels = 127; })},
    {"sign", "mean_abs_bucket_512", with([](codec_params& p) { p.bucket = 512; })},
    {"topk", "exact_density_0.01", with([](codec_params& p) {
       p.density = 0.01;
     })},
    {"topk", "exact_density_0.001", with([](codec_params& p) {
       p.density = 0.001;
     })},
    {"topk", "sampled_density_0.01", with([](codec_params& p) {
       p.density = 0.01;
       p.topk_sampled = true;
     })},
    {"topk", "sampled_density_0.001", with([](codec_params& p) {
       p.density = 0.001;
       p.topk_sampled = true;
     })},
    {"randk", "density_0.01", with([](codec_params& p) {
       p.density = 0.01;
     })},
    {"topk", "error_feedback_exact_density_0.01",
     with([](codec_params& p) { p.density = 0.01; }), true},
  };
}

// The codec's own error bound on a decode of g (the same bounds the tests
// check); returns the first violating index or -1.
long check_decode(const std::string& codec, const encoded& e,
                  const std::vector<float>& g, const std::vector<float>& d) {
  const size_t n = g.size();
  for (size_t i = 0; i < n; ++i) {
    const double x = g[i], y = d[i], err = std::fabs(y - x);
    bool ok = true;
    if (codec == "dense_f32")
      ok = y == x;
    else if (codec == "fp16")
      ok = err <= std::fabs(x) * 0x1p-11 + 0x1p-25;
    else if (codec == "bf16")
      ok = err <= std::fabs(x) * 0x1p-8;
    else if (codec == "int8")
      ok = err <= e.scales[i / e.bucket] * (1 + 1e-5);
    else if (codec == "qsgd")
      ok = err <= e.scales[i / e.bucket] / e.levels * (1 + 1e-5);
    else if (codec == "sign")
      ok = std::fabs(y) == e.scales[i / e.bucket] && (x < 0) == (y < 0);
    else if (codec == "topk")
      ok = y == 0 || y == x;
    else if (codec == "randk")
      ok = y == 0
           || std::fabs(y - x * double(n) / (e.data.size() / 4))
                <= 1e-6 * std::fabs(y);
    if (!ok)
      return long(i);
  }
  return -1;
}

// GB/s of fp32 input: 4n bytes in `us` microseconds.
double gb_per_s(uint32_t n, double us) {
  return us > 0 ? 4.0 * double(n) / (us * 1e3) : 0.0;
}

bool bench(const config& c, uint32_t n, int reps, const codec_registry& reg,
           const std::string& machine, std::mt19937_64& rng) {
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> g(n), d(n), copy(n);
  for (auto& x : g)
    x = dist(rng);
  auto codec = reg.make(c.codec, c.params);
  encoded e;
  codec->encode(g.data(), n, 1, e);
  if (auto err = codec->validate(e, n)) {
    std::fprintf(stderr, "compress_bench: %s\n", err->c_str());
    return false;
  }
  codec->decode(e, d.data());
  if (long bad = check_decode(c.codec, e, g, d); bad >= 0) {
    std::fprintf(stderr, "compress_bench: %s %s: decode out of bound at %ld\n",
                 c.codec.c_str(), c.label.c_str(), bad);
    return false;
  }
  const size_t bytes = encoded_bytes(e);
  stats enc{}, dec{};
  if (c.feedback) {
    error_feedback ef(reg.make(c.codec, c.params), n);
    enc = time_us([&](int s) { ef.encode(g.data(), uint64_t(s), e); }, 3,
                  reps);
  } else {
    enc = time_us(
      [&](int s) { codec->encode(g.data(), n, uint64_t(s), e); }, 3, reps);
  }
  dec = time_us([&](int) { codec->decode(e, d.data()); }, 3, reps);
  auto base = time_us(
    [&](int) {
      std::memcpy(copy.data(), g.data(), 4 * size_t(n));
      asm volatile("" : : "r"(copy.data()) : "memory");
    },
    3, reps);
  const double ratio = double(dense_bytes(n)) / double(bytes);
  std::printf(
    "{\"bench\":\"compress\",\"codec\":\"%s\",\"config\":\"%s\",\"n\":%u,"
    "\"reps\":%d,\"encode_median_us\":%.1f,\"encode_p10_us\":%.1f,"
    "\"encode_p90_us\":%.1f,\"decode_median_us\":%.1f,"
    "\"decode_p10_us\":%.1f,\"decode_p90_us\":%.1f,\"encoded_bytes\":%zu,"
    "\"dense_bytes\":%zu,\"ratio\":%.2f,\"encode_mfloats_per_s\":%.1f,"
    "\"baseline\":\"memcpy\",\"memcpy_median_us\":%.1f,"
    "\"encode_over_memcpy\":%.1f,\"encode_gb_per_s\":%.2f,\"decode_gb_per_s\":%.2f,"
    "\"memcpy_gb_per_s\":%.2f,%s}\n",
    c.codec.c_str(), c.label.c_str(), n, reps, enc.median_us, enc.p10_us,
    enc.p90_us, dec.median_us, dec.p10_us, dec.p90_us, bytes, dense_bytes(n),
    ratio, n / enc.median_us, base.median_us,
    enc.median_us / base.median_us, gb_per_s(n, enc.median_us), gb_per_s(n, dec.median_us),
    gb_per_s(n, base.median_us), machine.c_str());
  std::fflush(stdout);
  return true;
}

} // namespace

int main(int argc, char** argv) {
  const herd::bench::command_line cl{
    "compress_bench",
    "usage: compress_bench [REPS [SIZE...]]\n"
    "  REPS  timed repetitions per codec and size (default 31; fewer than 5 run 5)\n"
    "  SIZE  floats per slice (default 235146, the 784-256-128-10 MLP, and 1000000;\n"
    "        the wide MLP 784-4096-4096-4096-10 has 36800522)\n"};
  if (herd::bench::wants_help(argc, argv))
    return cl.help();
  int reps = 31;
  std::vector<uint32_t> sizes;
  for (int i = 1; i < argc; ++i) {
    const long long max = i == 1 ? 1000000 : 0xffffffffLL;
    auto v = herd::bench::positive_number(argv[i], max);
    if (!v)
      return cl.bad(herd::bench::not_positive(i == 1 ? "REPS" : "SIZE", argv[i], max));
    if (i == 1)
      reps = std::max(5, static_cast<int>(*v));
    else
      sizes.push_back(static_cast<uint32_t>(*v));
  }
  if (sizes.empty())
    sizes = {235146u, 1000000u};
  const std::string machine = "\"host\":\"" + json_escape(host_name())
                              + "\",\"cpu\":\"" + json_escape(cpu_model())
                              + "\"";
  const auto reg = default_codecs();
  std::mt19937_64 rng(42);
  for (uint32_t n : sizes)
    for (const auto& c : configs())
      if (!bench(c, n, reps, reg, machine, rng))
        return 1;
  return 0;
}
