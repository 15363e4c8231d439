// herd validate runs the checks herd run makes before it loads data: what run refuses there,
// validate refuses with the same line; --cluster checks a job as run --cluster would.
#include <catch2/catch.hpp>

#include <string>

#include "cli_runner.hpp"
#include "job_files.hpp"

using namespace herd::apps::test;
using Catch::Matchers::Contains;

namespace {

/// `herd validate ARGS` and `herd run ARGS --quiet` both exit 2 with the same one line.
void check_same_refusal(const std::vector<std::string>& args, const temp_dir& dir,
                        const std::string& culprit) {
  std::vector<std::string> v{"validate"}, r{"run"};
  v.insert(v.end(), args.begin(), args.end());
  r.insert(r.end(), args.begin(), args.end());
  r.push_back("--quiet");
  auto validated = run_herd(v, dir);
  auto ran = run_herd(r, dir);
  INFO("validate:\n" << validated.out << validated.err << "run:\n" << ran.out << ran.err);
  CHECK(validated.code == exit_bad_input);
  CHECK(ran.code == exit_bad_input);
  CHECK(validated.out.empty());
  REQUIRE(validated.err_lines().size() == 1);
  CHECK(validated.err == ran.err);
  CHECK_THAT(validated.err, Contains(culprit));
  CHECK(validated.err.find(": : ") == std::string::npos);
}

} // namespace

TEST_CASE("herd validate: what run refuses before loading data, validate refuses alike",
          "[apps][integration]") {
  temp_dir dir;
  auto job = tiny_job(write_dataset(dir, false), dir.file("out"));
  job["optimizer"] = {{"type", "adam"}, {"lr", 0.001}};
  job["compression"] = {{"codec", "topk"}, {"density", 0.1}, {"momentum_correction", true}};
  check_same_refusal({write_job(dir, job)}, dir, "/compression/momentum_correction");
  check_same_refusal({example("cluster/fashion_mnist.json")}, dir, "/shards/1/node");
}

TEST_CASE("herd validate: --cluster checks the job as run --cluster would",
          "[apps][integration]") {
  temp_dir dir;
  auto r = run_herd({"validate", example("cluster/fashion_mnist.json"), "--cluster",
                     example("cluster/cluster.json")},
                    dir);
  INFO(r.err);
  CHECK(r.code == exit_ok);
  CHECK(r.out == "ok\n");
  auto missing = dir.file("no-cluster.json");
  r = run_herd({"validate", example("tiny.json"), "--cluster", missing}, dir);
  CHECK(r.code == exit_bad_input);
  REQUIRE(r.err_lines().size() == 1);
  CHECK_THAT(r.err, Contains(missing));
  // TLS files that herd run would present and cannot: refused by validate and by run, which
  // used to read the whole training set first.
  auto tls = dir.file("tls.json");
  write_text(tls, R"({"nodes": [{"name": "a", "port": 7001}], "tls": {"ca": "none/ca.pem",
                      "certificate": "none/{name}.pem", "key": "none/{name}.key"}})");
  for (std::string cmd : {"validate", "run"}) {
    r = run_herd({cmd, example("tiny.json"), "--cluster", tls}, dir);
    INFO(cmd << ": " << r.err);
    CHECK(r.code == exit_bad_input);
    REQUIRE(r.err_lines().size() == 1);
    CHECK_THAT(r.err, Contains(tls + ": TLS ca ") && Contains("none/ca.pem: cannot open"));
  }
}

TEST_CASE("herd validate: a file that cannot be read or parsed gives its line without an empty "
          "path field",
          "[apps][integration]") {
  temp_dir dir;
  auto malformed = dir.file("trailing.json");
  write_text(malformed, "{\"name\": \"x\"} trailing\n");
  for (const auto& path : {dir.file("nope.json"), dir.path().string(), malformed}) {
    auto r = run_herd({"validate", path}, dir);
    INFO(r.err);
    CHECK(r.code == exit_bad_input);
    REQUIRE(r.err_lines().size() == 1);
    CHECK(r.err.rfind("herd: " + path + ": ", 0) == 0);
    CHECK(r.err.find(": : ") == std::string::npos);
    CHECK(r.err == run_herd({"run", path, "--quiet"}, dir).err); // the same text as run's
  }
}

TEST_CASE("herd validate: a model too large for its shards is refused at /model/layers",
          "[apps][integration]") {
  temp_dir dir;
  auto job = tiny_job(write_dataset(dir, false), dir.file("out"));
  // 795e9 parameters: over 2^27 values a shard, and gigantic; never allocated.
  job["model"]["layers"] = {image_side * image_side, 1000000000, 10};
  check_same_refusal({write_job(dir, job)}, dir, "/model/layers");
  auto r = run_herd({"validate", write_job(dir, job)}, dir);
  CHECK_THAT(r.err, Contains("795000000010 parameters"));
  CHECK_THAT(r.err, Contains("use at least 5924 shards"));
  // Overflowing 64 bits is refused too, not wrapped around.
  job["model"]["layers"] = {2000000000, 2000000000, 2000000000, 2000000000, 2000000000, 2000000000};
  check_same_refusal({write_job(dir, job)}, dir, "overflows 64 bits");
  // Within the slice limit with enough shards: accepted.
  job["model"]["layers"] = {image_side * image_side, 200000, 10};
  job["shards"] = 2;
  r = run_herd({"validate", write_job(dir, job)}, dir);
  INFO(r.err);
  CHECK(r.code == exit_ok);
}

TEST_CASE("herd validate and run: a job needing more memory than this process may use is "
          "refused with the estimate",
          "[apps][integration]") {
  temp_dir dir;
  auto job = tiny_job(write_dataset(dir, false), dir.file("out"));
  // 300M parameters over 4 shards: at least 20 bytes each (SGD with momentum, one worker).
  job["model"]["layers"] = {64, 4000000, 10};
  job["shards"] = 4;
  auto path = write_job(dir, job);
  for (std::string cmd : {"validate", "run"}) {
    auto out = dir.file("limited.err");
    auto line = "ulimit -v 3000000 && " + shell_quote(HERD_BINARY) + " " + cmd + " "
                + shell_quote(path) + " </dev/null >/dev/null 2>" + shell_quote(out);
    int status = std::system(("bash -c " + shell_quote(line)).c_str());
    auto err = read_text(out);
    INFO(cmd << ": " << err);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == exit_bad_input);
    CHECK(lines_of(err).size() == 1);
    CHECK_THAT(err, Contains("/model/layers: 300000010 parameters need at least 5.6 GiB"));
    CHECK_THAT(err, Contains("ulimit -v"));
  }
}
