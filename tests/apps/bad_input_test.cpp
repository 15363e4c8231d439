// The herd binary on bad input: exit code 2 and one stderr line "herd: ..." that names the
// culprit (a file path or a JSON path); no crash, no hang, nothing written.
#include <catch2/catch.hpp>
#include <sys/stat.h>
#include <zlib.h>

#include <filesystem>
#include <regex>
#include <string>
#include <vector>

#include "cli_runner.hpp"
#include "job_files.hpp"

using namespace herd::apps::test;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;
namespace fs = std::filesystem;

namespace {

/// Exit code 2, nothing on stdout, exactly one non-empty stderr line "herd: ..." that contains
/// every string in `names`.
void check_bad_input(const cli_result& r, const std::vector<std::string>& names) {
  INFO("exit code " << r.code << "\nstdout:\n" << r.out << "\nstderr:\n" << r.err);
  CHECK(r.code != 128 + 6);  // SIGABRT
  CHECK(r.code != 128 + 11); // SIGSEGV
  CHECK(r.code != exit_timed_out);
  CHECK(r.code == exit_bad_input);
  CHECK(r.out.empty());
  auto lines = r.err_lines();
  REQUIRE(lines.size() == 1);
  CHECK_THAT(lines[0], StartsWith("herd: "));
  CHECK(lines[0].size() > std::string("herd: ").size());
  for (const auto& n : names)
    CHECK_THAT(lines[0], Contains(n));
}

cli_result run_job_file(const std::string& job_path, const temp_dir& dir) {
  return run_herd({"run", job_path, "--quiet"}, dir);
}

/// Writes a valid dataset and a job on it, with `edit` applied to the job's JSON; runs it.
template <class Edit>
cli_result run_edited_job(const temp_dir& dir, Edit edit) {
  auto files = write_dataset(dir, true);
  auto job = tiny_job(files, dir.file("out"));
  edit(job);
  return run_job_file(write_job(dir, job), dir);
}

/// The bytes of a plain IDX image file holding `img`.
std::vector<uint8_t> image_file_bytes(uint32_t magic, const herd::data::idx_images& img) {
  std::vector<uint8_t> out;
  for (uint32_t x : {magic, img.count, img.rows, img.cols})
    for (int shift = 24; shift >= 0; shift -= 8)
      out.push_back(static_cast<uint8_t>(x >> shift));
  out.insert(out.end(), img.pixels.begin(), img.pixels.end());
  return out;
}

void write_bytes(const std::string& path, const std::vector<uint8_t>& bytes) {
  write_text(path, std::string(bytes.begin(), bytes.end()));
}

/// `bytes` gzip-compressed, by zlib directly so that any byte sequence can be written.
void write_gzip_bytes(const std::string& path, const std::vector<uint8_t>& bytes) {
  gzFile f = gzopen(path.c_str(), "wb");
  REQUIRE(f != nullptr);
  REQUIRE(gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size()))
          == static_cast<int>(bytes.size()));
  REQUIRE(gzclose(f) == Z_OK);
}

} // namespace

TEST_CASE("herd run: a missing dataset file gives one error line and exit code 2",
          "[apps][integration]") {
  for (int which = 0; which < 4; ++which) {
    temp_dir dir;
    auto files = write_dataset(dir, true);
    std::string* paths[] = {&files.train_images, &files.train_labels, &files.test_images,
                            &files.test_labels};
    fs::remove(*paths[which]);
    INFO("missing " << *paths[which]);
    check_bad_input(run_job_file(write_job(dir, tiny_job(files, dir.file("out"))), dir),
                    {*paths[which]});
    CHECK_FALSE(fs::exists(dir.file("out")));
  }
}

TEST_CASE("herd run: a truncated IDX file gives one error line and exit code 2",
          "[apps][integration]") {
  for (bool gzip : {false, true}) {
    temp_dir dir;
    auto files = write_dataset(dir, gzip);
    // Header intact, half of the pixels missing.
    auto bytes = image_file_bytes(herd::data::idx_images_magic, random_images(64, 1));
    bytes.resize(16 + 64 * 28 * 28 / 2);
    if (gzip)
      write_gzip_bytes(files.train_images, bytes);
    else
      write_bytes(files.train_images, bytes);
    INFO("gzip " << gzip);
    check_bad_input(run_job_file(write_job(dir, tiny_job(files, dir.file("out"))), dir),
                    {files.train_images});
  }
}

TEST_CASE("herd run: a gzip file cut short gives one error line and exit code 2",
          "[apps][integration]") {
  temp_dir dir;
  auto files = write_dataset(dir, true);
  auto bytes = read_text(files.test_images);
  write_text(files.test_images, bytes.substr(0, bytes.size() / 2));
  check_bad_input(run_job_file(write_job(dir, tiny_job(files, dir.file("out"))), dir),
                  {files.test_images});
}

TEST_CASE("herd run: a FIFO as a data file gives one error line and exit code 2, no hang",
          "[apps][integration]") {
  // Opened for reading, a pipe with no writer blocks for good (so did a node daemon's loader).
  temp_dir dir;
  auto files = write_dataset(dir, false);
  fs::remove(files.train_images);
  REQUIRE(::mkfifo(files.train_images.c_str(), 0600) == 0);
  check_bad_input(run_job_file(write_job(dir, tiny_job(files, dir.file("out"))), dir),
                  {files.train_images + ": not a regular file (a FIFO); expected an IDX file"});
  CHECK_FALSE(fs::exists(dir.file("out")));
}

TEST_CASE("herd run: an IDX file with the wrong magic gives one error line and exit code 2",
          "[apps][integration]") {
  for (bool gzip : {false, true}) {
    temp_dir dir;
    auto files = write_dataset(dir, gzip);
    // A label file's magic on an image file, then a magic that is no IDX at all.
    for (uint32_t magic : {herd::data::idx_labels_magic, 0x12345678u}) {
      auto bytes = image_file_bytes(magic, random_images(32, 2));
      if (gzip)
        write_gzip_bytes(files.test_images, bytes);
      else
        write_bytes(files.test_images, bytes);
      INFO("gzip " << gzip << ", magic " << magic);
      check_bad_input(run_job_file(write_job(dir, tiny_job(files, dir.file("out"))), dir),
                      {files.test_images, "magic"});
    }
  }
}

TEST_CASE("herd run: image and label counts that differ give one error line and exit code 2",
          "[apps][integration]") {
  temp_dir dir;
  auto files = write_dataset(dir, true);
  REQUIRE_FALSE(herd::data::write_idx_labels(files.train_labels, cyclic_labels(60), true));
  check_bad_input(run_job_file(write_job(dir, tiny_job(files, dir.file("out"))), dir),
                  {files.train_images, files.train_labels});
}

TEST_CASE("herd run: a label outside 0..9 gives one error line and exit code 2",
          "[apps][integration]") {
  temp_dir dir;
  auto files = write_dataset(dir, false);
  auto labels = cyclic_labels(32);
  labels[5] = 12;
  REQUIRE_FALSE(herd::data::write_idx_labels(files.test_labels, labels, false));
  check_bad_input(run_job_file(write_job(dir, tiny_job(files, dir.file("out"))), dir),
                  {files.test_labels});
}

TEST_CASE("herd run: test images of another size than the training images give one error line "
          "and exit code 2",
          "[apps][integration]") {
  temp_dir dir;
  auto files = write_dataset(dir, true);
  herd::data::idx_images small;
  small.count = 32;
  small.rows = small.cols = 14;
  small.pixels.assign(32 * 14 * 14, 7);
  REQUIRE_FALSE(herd::data::write_idx_images(files.test_images, small, true));
  // Either file may be the odd one: both are named, with their sizes.
  check_bad_input(run_job_file(write_job(dir, tiny_job(files, dir.file("out"))), dir),
                  {files.train_images + " has 784 values per image",
                   files.test_images + " has 196"});
}

TEST_CASE("herd run: malformed JSON gives one error line and exit code 2", "[apps][integration]") {
  temp_dir dir;
  auto path = dir.file("job.json");
  write_text(path, "{\"model\": {\"layers\": [784, 10]},}\n");
  check_bad_input(run_job_file(path, dir), {path, "malformed JSON"});
}

TEST_CASE("herd run: an unknown key gives one error line naming its JSON path and exit code 2",
          "[apps][integration]") {
  temp_dir dir;
  auto r = run_edited_job(dir, [](auto& job) { job["training"]["batch_sze"] = 8; });
  check_bad_input(r, {dir.file("job.json"), "/training/batch_sze"});
}

TEST_CASE("herd run: a value of the wrong type gives one error line naming its JSON path and "
          "exit code 2",
          "[apps][integration]") {
  temp_dir dir;
  auto r = run_edited_job(dir, [](auto& job) { job["training"]["epochs"] = "ten"; });
  check_bad_input(r, {dir.file("job.json"), "/training/epochs"});
}

TEST_CASE("herd run: a first layer that does not match the data gives one error line and exit "
          "code 2",
          "[apps][integration]") {
  temp_dir dir;
  auto r = run_edited_job(dir, [](auto& job) { job["model"]["layers"] = {100, 10}; });
  check_bad_input(r, {dir.file("job.json"), "/model/layers/0", "784"});
  CHECK_FALSE(fs::exists(dir.file("out")));
}

TEST_CASE("herd run: a last layer that does not match the classes gives one error line and "
          "exit code 2",
          "[apps][integration]") {
  temp_dir dir;
  auto r = run_edited_job(dir, [](auto& job) { job["model"]["layers"] = {784, 16, 7}; });
  check_bad_input(r, {dir.file("job.json"), "/model/layers/2"});
}

TEST_CASE("herd run: zero workers give one error line and exit code 2", "[apps][integration]") {
  temp_dir dir;
  auto r = run_edited_job(dir, [](auto& job) { job["workers"] = 0; });
  check_bad_input(r, {dir.file("job.json"), "/workers"});
}

TEST_CASE("herd run: a CUDA device the machine lacks gives one error line naming "
          "/workers/i/device and exit code 2",
          "[apps][integration]") {
  temp_dir dir;
  // cuda:999 exists nowhere, so this holds with and without a GPU and a CUDA build.
  auto r = run_edited_job(dir, [](auto& job) {
    job["workers"] = nlohmann::json::array({{{"device", "cpu"}}, {{"device", "cuda:999"}}});
  });
  check_bad_input(r, {dir.file("job.json"), "/workers/1/device", "cuda:999"});
}

TEST_CASE("herd run: zero shards give one error line and exit code 2", "[apps][integration]") {
  temp_dir dir;
  auto r = run_edited_job(dir, [](auto& job) { job["shards"] = 0; });
  check_bad_input(r, {dir.file("job.json"), "/shards"});
}

TEST_CASE("herd run: a missing job file gives one error line and exit code 2",
          "[apps][integration]") {
  temp_dir dir;
  auto path = dir.file("no-such-job.json");
  check_bad_input(run_job_file(path, dir), {path});
}

TEST_CASE("herd run: a directory as the job file gives one error line and exit code 2",
          "[apps][integration]") {
  temp_dir dir;
  check_bad_input(run_job_file(dir.path().string(), dir), {dir.path().string()});
}

TEST_CASE("herd run: an output path that is a file gives one error line and exit code 2",
          "[apps][integration]") {
  temp_dir dir;
  auto files = write_dataset(dir, false);
  auto blocker = dir.file("out");
  write_text(blocker, "not a directory\n");
  auto job = write_job(dir, tiny_job(files, blocker));
  check_bad_input(run_job_file(job, dir), {blocker});
  CHECK(read_text(blocker) == "not a directory\n");
}

TEST_CASE("herd run: bad input leaves an existing output directory untouched",
          "[apps][integration]") {
  temp_dir dir;
  auto files = write_dataset(dir, true);
  auto out = dir.file("out");
  fs::create_directory(out);
  const std::vector<std::string> names = {"job.json", "metrics.jsonl", "summary.json"};
  for (const auto& n : names)
    write_text((fs::path(out) / n).string(), "earlier run: " + n + "\n");
  auto check_untouched = [&] {
    for (const auto& n : names)
      CHECK(read_text((fs::path(out) / n).string()) == "earlier run: " + n + "\n");
    CHECK(std::distance(fs::directory_iterator(out), fs::directory_iterator{}) == 3);
  };

  SECTION("a bad job file") {
    auto job = tiny_job(files, out);
    job["optimizer"] = {{"lr", -1}};
    check_bad_input(run_herd({"run", write_job(dir, job), "--output", out, "--quiet"}, dir),
                    {"/optimizer/lr"});
    check_untouched();
  }
  SECTION("malformed JSON") {
    auto path = dir.file("job.json");
    write_text(path, "{\"model\": ");
    check_bad_input(run_herd({"run", path, "--output", out}, dir), {path});
    check_untouched();
  }
  SECTION("a bad dataset") {
    write_text(files.train_labels, "not gzip, not IDX");
    check_bad_input(run_herd({"run", write_job(dir, tiny_job(files, out)), "--output", out}, dir),
                    {files.train_labels});
    check_untouched();
  }
}

TEST_CASE("herd validate: a good job file prints ok and exits 0", "[apps][integration]") {
  temp_dir dir;
  for (const auto& path :
       {example("tiny.json"), example("fashion_mnist.json"),
        write_job(dir, tiny_job(write_dataset(dir, false), dir.file("out")))}) {
    auto r = run_herd({"validate", path}, dir);
    INFO(path << "\nstderr:\n" << r.err);
    CHECK(r.code == exit_ok);
    CHECK(r.out == "ok\n");
    CHECK(r.err.empty());
  }
  // validate reads only the job file: it neither needs the data nor writes outputs.
  CHECK_FALSE(fs::exists(dir.file("out")));
}

TEST_CASE("herd validate: a bad job file prints every issue with its JSON path and exits 2",
          "[apps][integration]") {
  temp_dir dir;
  auto job = tiny_job(write_dataset(dir, false), dir.file("out"));
  job["training"]["batch_sze"] = 8;
  job["optimizer"] = {{"lr", -1}};
  job["workers"] = 0;
  auto path = write_job(dir, job);
  auto r = run_herd({"validate", path}, dir);
  INFO("stdout:\n" << r.out << "\nstderr:\n" << r.err);
  CHECK(r.code == exit_bad_input);
  CHECK(r.out.empty());
  auto lines = r.err_lines();
  REQUIRE(lines.size() == 3);
  for (const auto& l : lines)
    CHECK_THAT(l, StartsWith("herd: " + path + ": /"));
  for (const char* p : {"/training/batch_sze", "/optimizer/lr", "/workers"})
    CHECK_THAT(r.err, Contains(p));
}

TEST_CASE("herd validate: malformed JSON or a missing file gives one error line and exit code 2",
          "[apps][integration]") {
  temp_dir dir;
  auto malformed = dir.file("job.json");
  write_text(malformed, "{\"model\": {\"layers\": [784, 10]}");
  check_bad_input(run_herd({"validate", malformed}, dir), {malformed, "malformed JSON"});
  auto missing = dir.file("missing.json");
  check_bad_input(run_herd({"validate", missing}, dir), {missing});
}

TEST_CASE("herd: an unknown subcommand or a missing argument exits 2", "[apps][integration]") {
  temp_dir dir;
  for (const auto& args : std::vector<std::vector<std::string>>{
         {}, {"frobnicate"}, {"run"}, {"validate"}, {"run", example("tiny.json"), "--bogus"}}) {
    auto r = run_herd(args, dir);
    INFO("args: " << args.size() << (args.empty() ? "" : " first " + args[0]) << "\nstderr:\n"
                  << r.err);
    CHECK(r.code == exit_bad_input);
    CHECK_FALSE(r.err.empty());
  }
}

TEST_CASE("herd: argument errors print one line starting with \"herd: \" that names the problem",
          "[apps][integration]") {
  temp_dir dir;
  struct arg_case {
    std::vector<std::string> args;
    std::string culprit;
  };
  for (const auto& c : std::vector<arg_case>{{{"frobnicate"}, "frobnicate"},
                                             {{"run"}, "job"},
                                             {{"validate"}, "job"},
                                             {{"run", example("tiny.json"), "--bogus"}, "--bogus"},
                                             // named before the missing job file
                                             {{"run", "--bogus"}, "unknown option '--bogus'"},
                                             {{"--bogus", "run"}, "unknown option '--bogus'"},
                                             {{}, "a subcommand is required"}}) {
    INFO("culprit " << c.culprit);
    check_bad_input(run_herd(c.args, dir), {c.culprit});
  }
}

TEST_CASE("herd: an empty path option is refused, not taken as absent", "[apps][integration]") {
  temp_dir dir;
  auto job = write_job(dir, tiny_job(write_dataset(dir, true), dir.file("out")));
  struct empty_case {
    std::vector<std::string> args;
    std::string option;
  };
  // --resume "" used to start a fresh run without a word.
  for (const auto& c : std::vector<empty_case>{
         {{"run", job, "--resume", ""}, "--resume"},
         {{"run", job, "--output", ""}, "--output"},
         {{"run", job, "--cluster", ""}, "--cluster"},
         {{"run", ""}, "job"},
         {{"validate", job, "--cluster", ""}, "--cluster"},
         {{"experiment", "exp.json", "--output", ""}, "--output"},
         {{"node", "--topology", "", "--name", "a"}, "--topology"}}) {
    INFO(c.option);
    check_bad_input(run_herd(c.args, dir),
                    {"herd: " + c.option + ": expected a non-empty value, got \"\""});
  }
  CHECK_FALSE(fs::exists(dir.file("out")));
}

TEST_CASE("herd: --version prints the version and exits 0", "[apps][integration]") {
  temp_dir dir;
  auto r = run_herd({"--version"}, dir);
  CHECK(r.code == exit_ok);
  CHECK(std::regex_match(r.out, std::regex{"herd [0-9]+\\.[0-9]+\\.[0-9]+\n"}));
}

TEST_CASE("herd: --help prints the subcommands and exits 0", "[apps][integration]") {
  temp_dir dir;
  auto r = run_herd({"--help"}, dir);
  CHECK(r.code == exit_ok);
  CHECK_THAT(r.out, Contains("run"));
  CHECK_THAT(r.out, Contains("validate"));
}
