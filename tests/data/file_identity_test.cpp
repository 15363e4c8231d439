// Data files must be regular files (a FIFO's open blocked a reader for good), and a data set
// remembers which files it was read from, so that a file rewritten or replaced since is noticed.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <future>
#include <string>

#include "data/dataset.hpp"
#include "data/file_identity.hpp"
#include "data/idx.hpp"
#include "test_files.hpp"

using namespace herd;
using namespace herd::data;
using namespace herd::data::test;
namespace fs = std::filesystem;

namespace {

idx_images images_of(uint32_t count, uint8_t shade) {
  idx_images img;
  img.count = count;
  img.rows = 2;
  img.cols = 3;
  img.pixels.assign(size_t{count} * 6, shade);
  return img;
}

std::string text_of(const caf::error& err) {
  return describe(err);
}

// Reads `path` as IDX images on another thread; a reader still blocked after 10 s (in a FIFO's
// open) is released by opening the pipe's other end, and the test fails instead of hanging.
caf::error read_bounded(const std::string& path) {
  auto reading = std::async(std::launch::async, [path] {
    auto img = read_idx_images(path);
    return img ? caf::error{} : img.error();
  });
  if (reading.wait_for(std::chrono::seconds(10)) != std::future_status::ready) {
    int fd = ::open(path.c_str(), O_WRONLY | O_NONBLOCK);
    if (fd >= 0)
      ::close(fd);
    FAIL_CHECK(path << ": the reader blocked");
  }
  return reading.get();
}

// Sets the modification time of `path` to `seconds` after the epoch.
void set_mtime(const std::string& path, time_t seconds) {
  struct timespec times[2] = {{seconds, 0}, {seconds, 0}};
  REQUIRE(::utimensat(AT_FDCWD, path.c_str(), times, 0) == 0);
}

// Waits (bounded) until a file written in `dir` gets a ctime past `after_ns`: the file system's
// clock is coarse, and a change within the same tick would leave the ctime as it was.
void pass_ctime(const temp_dir& dir, int64_t after_ns) {
  auto probe = dir.file("probe");
  for (int i = 0; i < 100000; ++i) {
    write_bytes(probe, {1});
    auto id = identify_file(probe);
    REQUIRE(id);
    if (id->ctime_ns > after_ns)
      return;
  }
  FAIL("the file system's clock did not move");
}

} // namespace

TEST_CASE("file_identity: a FIFO, a socket, a device or a directory is refused unopened",
          "[data]") {
  temp_dir dir;
  auto fifo = dir.file("fifo");
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  auto err = read_bounded(fifo);
  CHECK(code_of(err) == errc::io_error);
  CHECK(text_of(err) == fifo + ": not a regular file (a FIFO); expected an IDX file");
  // Labels and a whole data set go through the same check.
  uint32_t count = 0;
  auto labels = read_idx_labels(fifo, 0, &count);
  REQUIRE_FALSE(labels);
  CHECK(text_of(labels.error()) == fifo + ": not a regular file (a FIFO); expected an IDX file");

  auto socket_path = dir.file("sock");
  int sock = ::socket(AF_UNIX, SOCK_STREAM, 0);
  REQUIRE(sock >= 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  REQUIRE(socket_path.size() < sizeof(addr.sun_path));
  std::strcpy(addr.sun_path, socket_path.c_str());
  REQUIRE(::bind(sock, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  err = read_bounded(socket_path);
  ::close(sock);
  CHECK(text_of(err) == socket_path + ": not a regular file (a socket); expected an IDX file");

  if (fs::exists("/dev/null")) {
    err = read_bounded("/dev/null");
    CHECK(text_of(err)
          == "/dev/null: not a regular file (a character device); expected an IDX file");
  }
  err = read_bounded(dir.path().string());
  CHECK(code_of(err) == errc::io_error);
  CHECK(text_of(err)
        == dir.path().string() + ": not a regular file (a directory); expected an IDX file");

  // A link to a regular file is read as that file.
  auto file = dir.file("img");
  REQUIRE_FALSE(write_idx_images(file, images_of(3, 9), false));
  fs::create_symlink(file, dir.file("link"));
  CHECK_FALSE(read_bounded(dir.file("link")));
}

TEST_CASE("file_identity: a data set knows whether its files changed since it was read",
          "[data]") {
  temp_dir dir;
  for (bool gzip : {false, true}) {
    INFO("gzip " << gzip);
    auto images = dir.file(gzip ? "img.gz" : "img");
    auto labels = dir.file(gzip ? "lab.gz" : "lab");
    REQUIRE_FALSE(write_idx_images(images, images_of(4, 10), gzip));
    REQUIRE_FALSE(write_idx_labels(labels, {1, 2, 3, 4}, gzip));
    // An old mtime, so that a rewrite now is sure to change it.
    set_mtime(images, 1000000000);
    set_mtime(labels, 1000000000);
    auto d = load_dataset(images, labels);
    REQUIRE(d);
    CHECK(same_files(*d, images, labels));
    CHECK(d->images_source == *identify_file(images));
    CHECK(d->labels_source == *identify_file(labels));
    CHECK_FALSE(same_files(*d, labels, images));

    // Rewritten in place (same inode) with as many samples: same size, new mtime.
    auto inode = identify_file(labels)->inode;
    REQUIRE_FALSE(write_idx_labels(labels, {0, 0, 0, 0}, gzip));
    REQUIRE(identify_file(labels)->inode == inode);
    CHECK_FALSE(same_files(*d, images, labels));
    d = load_dataset(images, labels);
    REQUIRE(d);
    CHECK(same_files(*d, images, labels));

    // Rewritten with its old mtime put back (as cp -p or rsync -t do): the ctime differs.
    auto before = identify_file(images);
    pass_ctime(dir, before->ctime_ns);
    REQUIRE_FALSE(write_idx_images(images, images_of(4, 200), gzip));
    set_mtime(images, 1000000000);
    REQUIRE(identify_file(images)->mtime_ns == before->mtime_ns);
    CHECK_FALSE(same_files(*d, images, labels));
    d = load_dataset(images, labels);
    REQUIRE(d);

    // Replaced by another file renamed over it: another inode.
    auto other = dir.file("other");
    REQUIRE_FALSE(write_idx_images(other, images_of(4, 200), gzip));
    fs::rename(other, images);
    CHECK_FALSE(same_files(*d, images, labels));
    d = load_dataset(images, labels);
    REQUIRE(d);

    // Gone.
    fs::remove(labels);
    CHECK_FALSE(same_files(*d, images, labels));
  }
}
