// Push and pull throughput between a worker and a shard in two processes over loopback, next to
// iperf3's single-stream TCP throughput measured in the same run.
//
//   transfer_bench [REPS]
//
// For 4 KiB, 1 MiB and 64 MiB of fp32 parameters: a child process runs a real shard actor
// (ASP, so pulls never wait; plain SGD) published through CAF's middleman; this process
// connects and times REPS pulls (ParamSlice payloads back) and REPS pushes (dense fp32 Gradient
// payloads, decoded, validated and applied by the shard), one request at a time, as a worker
// does. Prints one JSON line per size and a table with the ratios to iperf3.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/scoped_actor.hpp>

#include "actors/remote.hpp"
#include "actors/shard.hpp"
#include "actors/system_config.hpp"
#include "bench/args.hpp"
#include "bench/machine.hpp"
#include "messages/atoms.hpp"
#include "messages/payload_codec.hpp"
#include "messages/types.hpp"

namespace {

using namespace herd;
using clock_type = std::chrono::steady_clock;

// The child: a shard of `count` floats published on a free loopback port, written to `fd`.
[[noreturn]] void serve_shard(size_t count, int fd) {
  actors::system_config cfg;
  if (auto err = actors::enable_network(cfg, {}))
    std::_Exit(3);
  caf::actor_system sys{cfg};
  config::optimizer_config opt;
  opt.type = config::optimizer_kind::sgd;
  opt.lr = 1e-6;
  opt.momentum = 0;
  actors::consistency_rule asp{config::consistency_model::asp, 0, false};
  auto core = std::make_shared<actors::shard_state>(0, 0, std::vector<float>(count, 0.5f), opt,
                                                    asp);
  core->join(0, 0);
  actors::shard_options so;
  so.codecs = std::make_shared<kernels::compress::codec_registry>(
    kernels::compress::default_codecs());
  auto shard = actors::spawn_shard(sys, core, so);
  auto port = actors::publish_actor(sys, shard, 0, "127.0.0.1", false);
  uint16_t p = port ? *port : 0;
  if (::write(fd, &p, sizeof p) != sizeof p)
    std::_Exit(4);
  ::pause();
  std::_Exit(0);
}

struct rates {
  double pull_gbps = 0;
  double push_gbps = 0;
};

// `part_bytes` 0: each payload as one message; else in parts as workers send them.
rates measure(size_t count, int reps, uint32_t part_bytes) {
  int fds[2];
  if (::pipe(fds) != 0)
    std::exit(1);
  pid_t child = ::fork();
  if (child == 0) {
    ::close(fds[0]);
    serve_shard(count, fds[1]);
  }
  ::close(fds[1]);
  uint16_t port = 0;
  if (::read(fds[0], &port, sizeof port) != sizeof port || port == 0) {
    std::fprintf(stderr, "transfer_bench: the shard process did not start\n");
    std::exit(1);
  }
  rates r;
  {
    actors::system_config cfg;
    if (actors::enable_network(cfg, {}))
      std::exit(1);
    caf::actor_system sys{cfg};
    auto shard = actors::connect_with_retry(sys, "127.0.0.1", port, false,
                                            std::chrono::seconds(10));
    if (!shard) {
      std::fprintf(stderr, "transfer_bench: %s\n", describe(shard.error()).c_str());
      std::exit(1);
    }
    caf::scoped_actor self{sys};
    auto timeout = std::chrono::seconds(60);
    std::vector<float> grad(count, 1e-3f);
    auto bytes = double(count) * 4.0;
    size_t slice_bytes = 0;
    std::vector<char> whole;
    auto pull_once = [&] {
      auto reply = self->request(*shard, timeout, pull_atom::value, uint32_t{0}, uint64_t{0},
                                 slice_bytes == 0 ? uint32_t{0} : part_bytes);
      whole.clear();
      size_t leading = part_bytes == 0 || slice_bytes == 0 ? 0 : (slice_bytes - 1) / part_bytes;
      for (size_t k = 0; k < leading; ++k)
        self->receive([&](part_atom, uint32_t, messages::payload& p) {
          whole.insert(whole.end(), p.bytes.begin(), p.bytes.end());
        });
      reply.receive(
        [&](messages::payload& p) {
          whole.insert(whole.end(), p.bytes.begin(), p.bytes.end());
          slice_bytes = whole.size();
        },
        [](caf::error& e) {
          std::fprintf(stderr, "pull: %s\n", describe(e).c_str());
          std::exit(1);
        });
      messages::slice_expectation want{0, 0, static_cast<uint32_t>(count)};
      if (!messages::decode_slice(whole, want, grad.data())) {
        std::fprintf(stderr, "pull: the slice does not decode\n");
        std::exit(1);
      }
    };
    uint64_t clock = 0;
    auto push_once = [&] {
      std::fill(grad.begin(), grad.end(), 1e-3f);
      messages::gradient_header h{0, 0, clock++, 0, 0, 0, static_cast<uint32_t>(count), 1};
      messages::payload p{messages::encode_gradient(h, grad.data(), messages::dense_format::f32)};
      for (auto& part : messages::split_leading_parts(p, part_bytes))
        self->send(*shard, part_atom::value, uint32_t{0}, std::move(part));
      self->request(*shard, timeout, push_atom::value, std::move(p))
        .receive([](uint64_t) {}, [](caf::error& e) {
          std::fprintf(stderr, "push: %s\n", describe(e).c_str());
          std::exit(1);
        });
    };
    pull_once(); // warm up the connection and the buffers; learns the slice's size
    pull_once();
    push_once();
    auto t0 = clock_type::now();
    for (int i = 0; i < reps; ++i)
      pull_once();
    auto t1 = clock_type::now();
    for (int i = 0; i < reps; ++i)
      push_once();
    auto t2 = clock_type::now();
    r.pull_gbps = bytes * reps / std::chrono::duration<double>(t1 - t0).count() / 1e9;
    r.push_gbps = bytes * reps / std::chrono::duration<double>(t2 - t1).count() / 1e9;
    caf::anon_send_exit(*shard, caf::exit_reason::kill);
  }
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
  return r;
}

// iperf3 -c over loopback for 3 s; GB/s received, or -1 when iperf3 is missing or fails.
double iperf3_gbps() {
  auto port = std::to_string(20000 + ::getpid() % 20000);
  std::string server = "iperf3 -s -1 -p " + port + " >/dev/null 2>&1 &";
  if (std::system(server.c_str()) != 0)
    return -1;
  ::usleep(300000);
  std::string client = "iperf3 -c 127.0.0.1 -p " + port + " -t 3 -f g 2>/dev/null";
  FILE* f = ::popen(client.c_str(), "r");
  if (f == nullptr)
    return -1;
  double gbits = -1;
  char line[512];
  while (std::fgets(line, sizeof line, f) != nullptr) {
    std::string s{line};
    if (s.find("receiver") == std::string::npos)
      continue;
    auto pos = s.find("Gbits/sec");
    if (pos == std::string::npos)
      continue;
    auto start = s.rfind("  ", pos - 2);
    gbits = std::atof(s.substr(start, pos - start).c_str());
  }
  ::pclose(f);
  return gbits < 0 ? -1 : gbits / 8.0;
}

} // namespace

int main(int argc, char** argv) {
  const bench::command_line cl{
    "transfer_bench",
    "usage: transfer_bench [REPS]\n"
    "  REPS  timed pulls and pushes per size (default 20)\n"};
  if (bench::wants_help(argc, argv))
    return cl.help();
  if (argc > 2)
    return cl.bad(std::string{"unexpected argument \""} + argv[2] + "\"");
  int reps = 20;
  if (argc > 1) {
    auto v = bench::positive_number(argv[1], 1000000);
    if (!v)
      return cl.bad(bench::not_positive("REPS", argv[1], 1000000));
    reps = static_cast<int>(*v);
  }
  struct size_case {
    const char* name;
    size_t bytes;
  };
  std::vector<size_case> sizes{{"4 KiB", 4096}, {"1 MiB", 1 << 20}, {"64 MiB", 64u << 20}};
  auto iperf = iperf3_gbps();
  std::vector<rates> measured, whole;
  for (const auto& s : sizes) {
    // Fewer repetitions at 64 MiB keep the run short; more at 4 KiB where each is quick.
    int n = s.bytes >= (64u << 20) ? std::max(3, reps / 4) : s.bytes <= 4096 ? reps * 50 : reps;
    measured.push_back(measure(s.bytes / 4, n, messages::payload_part_bytes));
    whole.push_back(measure(s.bytes / 4, n, 0));
    std::printf("{\"bench\": \"transfer\", \"host\": \"%s\", \"size\": \"%s\", \"reps\": %d, "
                "\"pull_gb_s\": %.3f, \"push_gb_s\": %.3f, \"whole_pull_gb_s\": %.3f, "
                "\"whole_push_gb_s\": %.3f, \"iperf3_gb_s\": %.3f}\n",
                bench::json_escape(bench::host_name()).c_str(), s.name, n,
                measured.back().pull_gbps, measured.back().push_gbps, whole.back().pull_gbps,
                whole.back().push_gbps, iperf);
    std::fflush(stdout);
  }
  auto iperf_again = iperf3_gbps(); // the machine may have been busier at one end
  std::printf("\nin %u KiB parts (as workers send)              one message per payload\n",
              messages::payload_part_bytes / 1024);
  std::printf("%-8s %10s %10s %12s %12s %10s %10s\n", "size", "pull GB/s", "push GB/s",
              "pull/iperf3", "push/iperf3", "pull GB/s", "push GB/s");
  auto ref = iperf > 0 && iperf_again > 0 ? (iperf + iperf_again) / 2 : std::max(iperf, iperf_again);
  for (size_t i = 0; i < sizes.size(); ++i)
    std::printf("%-8s %10.3f %10.3f %12.2f %12.2f %10.3f %10.3f\n", sizes[i].name,
                measured[i].pull_gbps, measured[i].push_gbps,
                ref > 0 ? measured[i].pull_gbps / ref : 0.0,
                ref > 0 ? measured[i].push_gbps / ref : 0.0, whole[i].pull_gbps,
                whole[i].push_gbps);
  std::printf("iperf3 single stream, loopback: %.3f GB/s before, %.3f GB/s after\n", iperf,
              iperf_again);
  return 0;
}
