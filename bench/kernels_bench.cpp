// kernels_bench: gemm_cpu on the MLP's GEMM shapes and sgd_update_cpu on the
// MLP's parameter count, each against a plain loop measured in the same run.
// Prints one JSON line per configuration. Not part of the test run.
//
//   kernels_bench [REPS]     (default 51 timed repetitions per configuration; at least 5)

#include <sys/utsname.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "bench/args.hpp"
#include "bench/machine.hpp"
#include "kernels/cpu/blas_threads.hpp"
#include "kernels/cpu/gemm.hpp"
#include "kernels/cpu/optimizer.hpp"

using namespace herd::kernels;

namespace {

using herd::bench::cpu_model;
using herd::bench::host_name;
using herd::bench::json_escape;

struct stats {
  double median_us, p10_us, p90_us, min_us;
};

template <class F>
stats time_us(F&& f, int warmup, int reps) {
  for (int i = 0; i < warmup; ++i)
    f();
  std::vector<double> t(static_cast<size_t>(reps));
  for (auto& x : t) {
    auto start = std::chrono::steady_clock::now();
    f();
    auto stop = std::chrono::steady_clock::now();
    x = std::chrono::duration<double, std::micro>(stop - start).count();
  }
  std::sort(t.begin(), t.end());
  auto at = [&](double q) { return t[size_t(q * (t.size() - 1) + 0.5)]; };
  return {at(0.5), at(0.1), at(0.9), t.front()};
}

std::vector<float> random_floats(std::mt19937_64& rng, size_t n) {
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> v(n);
  for (auto& x : v)
    x = dist(rng);
  return v;
}

// Baseline GEMM: the textbook i-p-j loop over row-major storage.
void gemm_naive(trans ta, trans tb, int m, int n, int k, const float* a,
                int lda, const float* b, int ldb, float* c, int ldc) {
  for (int i = 0; i < m; ++i) {
    float* crow = c + size_t(i) * ldc;
    std::fill(crow, crow + n, 0.0f);
    for (int p = 0; p < k; ++p) {
      float av = ta == trans::no ? a[size_t(i) * lda + p]
                                 : a[size_t(p) * lda + i];
      for (int j = 0; j < n; ++j)
        crow[j] += av * (tb == trans::no ? b[size_t(p) * ldb + j]
                                         : b[size_t(j) * ldb + p]);
    }
  }
}

// Baseline SGD with momentum and weight decay: the formula as a plain loop.
void sgd_naive(float* w, float* m, const float* g, size_t n, float lr,
               float mu, float wd) {
  for (size_t i = 0; i < n; ++i) {
    m[i] = mu * m[i] + (g[i] + wd * w[i]);
    w[i] -= lr * m[i];
  }
}

struct gemm_case {
  std::string name;
  trans ta, tb;
  int m, n, k;
};

// MLP 784-256-128-10, batch 64, weights stored in x out (row-major):
// forward Y = X W, weight grad dW = X^T dY, input grad dX = dY W^T.
std::vector<gemm_case> mlp_cases() {
  const int batch = 64;
  const int layers[][2] = {{784, 256}, {256, 128}, {128, 10}};
  std::vector<gemm_case> out;
  for (auto& l : layers) {
    const int in = l[0], out_dim = l[1];
    std::string tag = std::to_string(in) + "x" + std::to_string(out_dim);
    out.push_back({"fwd_" + tag, trans::no, trans::no, batch, out_dim, in});
    out.push_back({"dw_" + tag, trans::yes, trans::no, in, out_dim, batch});
    out.push_back({"dx_" + tag, trans::no, trans::yes, batch, in, out_dim});
  }
  return out;
}

bool bench_gemm(const gemm_case& gc, int reps, const std::string& machine,
                std::mt19937_64& rng) {
  const int a_rows = gc.ta == trans::no ? gc.m : gc.k;
  const int a_cols = gc.ta == trans::no ? gc.k : gc.m;
  const int b_rows = gc.tb == trans::no ? gc.k : gc.n;
  const int b_cols = gc.tb == trans::no ? gc.n : gc.k;
  auto a = random_floats(rng, size_t(a_rows) * a_cols);
  auto b = random_floats(rng, size_t(b_rows) * b_cols);
  std::vector<float> c(size_t(gc.m) * gc.n), ref(c.size()), base(c.size());
  // Validate first: the fast path and the baseline against the reference.
  gemm_cpu(gc.ta, gc.tb, gc.m, gc.n, gc.k, 1.0f, a.data(), a_cols, b.data(),
           b_cols, 0.0f, c.data(), gc.n);
  gemm_ref(gc.ta, gc.tb, gc.m, gc.n, gc.k, 1.0f, a.data(), a_cols, b.data(),
           b_cols, 0.0f, ref.data(), gc.n);
  gemm_naive(gc.ta, gc.tb, gc.m, gc.n, gc.k, a.data(), a_cols, b.data(),
             b_cols, base.data(), gc.n);
  for (size_t i = 0; i < c.size(); ++i) {
    double tol = 1e-6 * (gc.k + 1) + 1e-5 * std::fabs(ref[i]);
    if (!(std::fabs(c[i] - ref[i]) <= tol)
        || !(std::fabs(base[i] - ref[i]) <= tol)) {
      std::fprintf(stderr, "kernels_bench: %s: wrong result at %zu\n",
                   gc.name.c_str(), i);
      return false;
    }
  }
  auto fast = time_us(
    [&] {
      gemm_cpu(gc.ta, gc.tb, gc.m, gc.n, gc.k, 1.0f, a.data(), a_cols,
               b.data(), b_cols, 0.0f, c.data(), gc.n);
    },
    5, reps);
  auto slow = time_us(
    [&] {
      gemm_naive(gc.ta, gc.tb, gc.m, gc.n, gc.k, a.data(), a_cols, b.data(),
                 b_cols, base.data(), gc.n);
    },
    2, std::max(5, reps / 5));
  const double flops = 2.0 * gc.m * gc.n * gc.k;
  std::printf(
    "{\"bench\":\"kernels\",\"op\":\"gemm_cpu\",\"config\":\"%s\","
    "\"m\":%d,\"n\":%d,\"k\":%d,\"ta\":%s,\"tb\":%s,\"blas_threads\":%d,"
    "\"reps\":%d,\"median_us\":%.2f,\"p10_us\":%.2f,\"p90_us\":%.2f,"
    "\"min_us\":%.2f,\"gflops\":%.2f,\"baseline\":\"naive_loop\","
    "\"baseline_median_us\":%.2f,\"speedup\":%.2f,%s}\n",
    gc.name.c_str(), gc.m, gc.n, gc.k, gc.ta == trans::yes ? "true" : "false",
    gc.tb == trans::yes ? "true" : "false", blas_threads(), reps,
    fast.median_us, fast.p10_us, fast.p90_us, fast.min_us,
    flops / (fast.median_us * 1e3), slow.median_us,
    slow.median_us / fast.median_us, machine.c_str());
  return true;
}

bool bench_sgd(int reps, const std::string& machine, std::mt19937_64& rng) {
  const size_t n = 235146; // parameters of the 784-256-128-10 MLP
  sgd_params p;
  p.lr = 1e-3f;
  p.momentum = 0.9f;
  p.weight_decay = 1e-4f;
  auto w = random_floats(rng, n);
  auto g = random_floats(rng, n);
  std::vector<float> m(n, 0.0f);
  auto w_base = w, m_base = m;
  sgd_update_cpu(w.data(), m.data(), g.data(), n, p);
  sgd_naive(w_base.data(), m_base.data(), g.data(), n, p.lr, p.momentum,
            p.weight_decay);
  for (size_t i = 0; i < n; ++i)
    if (!(std::fabs(w[i] - w_base[i]) <= 1e-6f)
        || !(std::fabs(m[i] - m_base[i]) <= 1e-6f)) {
      std::fprintf(stderr, "kernels_bench: sgd: wrong result at %zu\n", i);
      return false;
    }
  auto fast = time_us(
    [&] { sgd_update_cpu(w.data(), m.data(), g.data(), n, p); }, 10, reps);
  auto slow = time_us(
    [&] {
      sgd_naive(w_base.data(), m_base.data(), g.data(), n, p.lr, p.momentum,
            p.weight_decay);
    },
    10, reps);
  // Bytes moved per update: read w, m, g; write w, m.
  const double bytes = 5.0 * n * sizeof(float);
  std::printf(
    "{\"bench\":\"kernels\",\"op\":\"sgd_update_cpu\",\"config\":"
    "\"momentum_0.9_wd_1e-4\",\"n\":%zu,\"reps\":%d,\"median_us\":%.2f,"
    "\"p10_us\":%.2f,\"p90_us\":%.2f,\"min_us\":%.2f,\"gbytes_per_s\":%.2f,"
    "\"baseline\":\"plain_loop\",\"baseline_median_us\":%.2f,"
    "\"speedup\":%.2f,%s}\n",
    n, reps, fast.median_us, fast.p10_us, fast.p90_us, fast.min_us,
    bytes / (fast.median_us * 1e3), slow.median_us,
    slow.median_us / fast.median_us, machine.c_str());
  return true;
}

} // namespace

int main(int argc, char** argv) {
  const herd::bench::command_line cl{
    "kernels_bench",
    "usage: kernels_bench [REPS]\n"
    "  REPS  timed repetitions per configuration (default 51; fewer than 5 run 5)\n"};
  if (herd::bench::wants_help(argc, argv))
    return cl.help();
  if (argc > 2)
    return cl.bad(std::string{"unexpected argument \""} + argv[2] + "\"");
  int reps = 51;
  if (argc > 1) {
    auto v = herd::bench::positive_number(argv[1], 1000000);
    if (!v)
      return cl.bad(herd::bench::not_positive("REPS", argv[1], 1000000));
    reps = std::max(5, static_cast<int>(*v));
  }
  const std::string machine = "\"host\":\"" + json_escape(host_name())
                              + "\",\"cpu\":\"" + json_escape(cpu_model())
                              + "\"";
  std::mt19937_64 rng(42);
  const int default_threads = blas_threads();
  std::vector<int> thread_counts = {1};
  if (default_threads > 1)
    thread_counts.push_back(default_threads);
  for (int threads : thread_counts) {
    set_blas_threads(threads);
    for (const auto& gc : mlp_cases())
      if (!bench_gemm(gc, reps, machine, rng))
        return 1;
  }
  set_blas_threads(default_threads);
  return bench_sgd(reps, machine, rng) ? 0 : 1;
}
