// load_job (files), the shipped examples, to_json round trips and check_against_data.
#include <filesystem>
#include <fstream>

#include <unistd.h>

#include <catch2/catch.hpp>

#include "config/job_parse.hpp"
#include "config_test_util.hpp"

using namespace herd::config;
using namespace herd::config::test;
using herd::errc;
namespace fs = std::filesystem;

namespace {

// A file in a fresh temporary directory, removed with the directory at scope exit.
class temp_file {
 public:
  explicit temp_file(const std::string& text) {
    dir_ = fs::temp_directory_path() / ("herd_config_test_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    path_ = dir_ / "job.json";
    std::ofstream{path_} << text;
  }
  ~temp_file() {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  std::string path() const { return path_.string(); }
  std::string dir() const { return dir_.string(); }

 private:
  fs::path dir_;
  fs::path path_;
};

} // namespace

TEST_CASE("config: load_job reads and validates a file", "[config]") {
  temp_file f{job_with(R"("workers": 1)")};
  auto job = load_job(f.path());
  REQUIRE(job);
  CHECK(job->workers.size() == 1);
}

TEST_CASE("config: load_job names the path of a missing file", "[config]") {
  std::vector<config_issue> issues;
  auto job = load_job("/nonexistent/herd/job.json", &issues);
  REQUIRE_FALSE(job);
  CHECK(herd::code_of(job.error()) == errc::file_not_found);
  CHECK(herd::describe(job.error())
        == "/nonexistent/herd/job.json: cannot open job file: No such file or directory");
  CHECK(issues.size() == 1);
}

TEST_CASE("config: load_job refuses a directory", "[config]") {
  temp_file f{"{}"};
  auto job = load_job(f.dir());
  REQUIRE_FALSE(job);
  CHECK(herd::code_of(job.error()) == errc::io_error);
  CHECK(herd::describe(job.error()) == f.dir() + ": is a directory, expected a job file");
}

TEST_CASE("config: load_job errors start with the file's path", "[config]") {
  temp_file bad_syntax{"{\n  \"model\": {\"layers\": [4, 3]},\n}\n"};
  auto job = load_job(bad_syntax.path());
  REQUIRE_FALSE(job);
  CHECK(herd::code_of(job.error()) == errc::config_syntax);
  CHECK(herd::describe(job.error())
          .starts_with(bad_syntax.path() + ": malformed JSON: parse error at line 3"));
}

TEST_CASE("config: load_job prefixes validation errors with the file's path", "[config]") {
  temp_file f{job_with(R"("workers": 0)")};
  std::vector<config_issue> issues;
  auto job = load_job(f.path(), &issues);
  REQUIRE_FALSE(job);
  CHECK(herd::code_of(job.error()) == errc::config_invalid);
  CHECK(herd::describe(job.error())
        == f.path() + ": /workers: expected at least one worker, got 0");
  REQUIRE(issues.size() == 1);
  CHECK(issues[0] == config_issue{"/workers", "expected at least one worker, got 0"});
}

TEST_CASE("config: every example job parses and round-trips", "[config]") {
  size_t count = 0;
  for (const auto& entry : fs::directory_iterator{HERD_EXAMPLES_DIR}) {
    if (entry.path().extension() != ".json")
      continue;
    INFO(entry.path().string());
    auto job = load_job(entry.path().string());
    INFO((job ? std::string{} : herd::describe(job.error())));
    REQUIRE(job);
    CHECK(parsed(to_json(*job)) == *job);
    ++count;
  }
  CHECK(count >= 2);
}

TEST_CASE("config: the fashion_mnist and tiny examples say what they promise", "[config]") {
  auto fm = load_job(HERD_EXAMPLES_DIR "/fashion_mnist.json");
  REQUIRE(fm);
  CHECK(fm->model.layers == std::vector<int>{784, 256, 128, 10});
  CHECK(fm->workers.size() == 2);
  CHECK(fm->shards.size() == 2);
  CHECK(fm->consistency.model == consistency_model::bsp);
  CHECK(fm->training.batch_size == 64);
  CHECK(fm->optimizer.schedule == lr_schedule::cosine);
  CHECK_FALSE(check_against_data(*fm, 784, 10));
  auto tiny = load_job(HERD_EXAMPLES_DIR "/tiny.json");
  REQUIRE(tiny);
  CHECK(tiny->workers.size() == 1);
  CHECK(tiny->shards.size() == 1);
  CHECK(tiny->data.train_limit == 2000);
  CHECK(tiny->data.test_limit == 1000);
  CHECK(tiny->training.epochs == 1);
}

TEST_CASE("config: to_json writes every default and round-trips", "[config]") {
  job_config job;
  job.model.layers = {784, 10};
  auto text = to_json(job);
  for (const char* key : {"\"init_seed\"", "\"normalize\": \"standardize\"", "\"eps\"",
                          "\"blas_threads\"", "\"staleness\"", "\"codec\": \"none\"",
                          "\"compute\": \"fp32\"", "\"restart\": \"on-failure\"", "\"keep\": 3",
                          "\"device\": \"cpu\"", "\"port\": 0"}) {
    INFO(key);
    CHECK(text.find(key) != std::string::npos);
  }
  CHECK(parsed(text) == job);
  CHECK(to_json(parsed(text)) == text);
}

TEST_CASE("config: to_json round-trips a job far from the defaults", "[config]") {
  auto job = parsed(R"({
    "name": "x", "model": {"layers": [3, 7, 2], "init_seed": 18446744073709551615},
    "data": {"normalize": "none", "train_limit": 12, "train_images": "/a b/ü.gz"},
    "optimizer": {"type": "adam", "lr": 0.1234567890123, "eps": 1e-12, "beta2": 0.9999},
    "training": {"epochs": 0, "max_steps": 9000000000, "target_accuracy": 0},
    "consistency": {"model": "ssp", "staleness": 4},
    "nodes": [{"name": "a", "host": "::1", "port": 1}, {"name": "b"}],
    "shards": [{"node": "b"}, {"node": "a"}, {}],
    "workers": [{"node": "b", "device": "cuda:0"}],
    "supervisor": {"node": "b", "restart": "never"},
    "checkpoint": {"dir": "c", "every": 5, "keep": 9}, "output": {"dir": "o"}})");
  auto again = parsed(to_json(job));
  CHECK(again == job);
  CHECK(again.optimizer.lr == 0.1234567890123);
  CHECK(again.data.train_images == "/a b/ü.gz");
}

TEST_CASE("config: check_against_data compares the model with the dataset", "[config]") {
  job_config job;
  job.model.layers = {784, 256, 10};
  CHECK_FALSE(check_against_data(job, 784, 10));
  job.model.layers = {100, 256, 10};
  auto err = check_against_data(job, 784, 10);
  CHECK(herd::code_of(err) == errc::config_invalid);
  CHECK(herd::describe(err)
        == "/model/layers/0: expected 784 (the dataset's features per sample), got 100");
  job.model.layers = {784, 256, 5};
  CHECK(herd::describe(check_against_data(job, 784, 10))
        == "/model/layers/2: expected 10 (the dataset's classes), got 5");
  job.model.layers = {100, 5};
  CHECK(herd::describe(check_against_data(job, 784, 10))
        == "/model/layers/0: expected 784 (the dataset's features per sample), got 100; "
           "/model/layers/1: expected 10 (the dataset's classes), got 5");
  job.model.layers = {};
  CHECK(herd::code_of(check_against_data(job, 784, 10)) == errc::config_invalid);
}
