#include "actors/checkpoint_store.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <climits>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string_view>

#include <nlohmann/json.hpp>
#include <zlib.h>

namespace herd::actors {

namespace {

namespace fs = std::filesystem;
using json = nlohmann::ordered_json;

constexpr int manifest_format = 1;

uint32_t crc_of(const std::string& bytes) {
  return static_cast<uint32_t>(
    crc32(0L, reinterpret_cast<const Bytef*>(bytes.data()), static_cast<uInt>(bytes.size())));
}

// `err`: errno as the failed call left it (read before anything else can change it).
caf::error io_failure(const std::string& what, const std::string& path, int err) {
  return make_error(errc::io_error, what + " " + path + ": " + std::strerror(err));
}

// Writes `bytes` to `path` and fsyncs it.
caf::error write_synced(const std::string& path, const std::string& bytes) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0)
    return io_failure("cannot create", path, errno);
  size_t done = 0;
  while (done < bytes.size()) {
    auto n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n <= 0) {
      int err = n < 0 ? errno : ENOSPC;
      ::close(fd);
      return io_failure("cannot write", path, err);
    }
    done += static_cast<size_t>(n);
  }
  int err = ::fsync(fd) == 0 ? 0 : errno;
  if (::close(fd) != 0 && err == 0)
    err = errno;
  return err == 0 ? caf::error{} : io_failure("cannot sync", path, err);
}

void sync_dir(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

std::string read_all(const std::string& path, bool& ok) {
  std::ifstream in{path, std::ios::binary};
  std::ostringstream s;
  s << in.rdbuf();
  ok = bool(in) || in.eof();
  return s.str();
}

json chunk_json(const data::chunk& c) {
  return json{{"id", c.id}, {"epoch", c.epoch}, {"indices", c.indices}};
}

std::string carried_file(uint32_t worker) {
  return "worker-" + std::to_string(worker) + ".capnp";
}

std::string dir_name(uint64_t clock) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "ckpt-%012llu", static_cast<unsigned long long>(clock));
  return buf;
}

json manifest_of(const checkpoint& c, const std::vector<std::pair<std::string, uint32_t>>& files) {
  json m;
  m["format"] = manifest_format;
  m["clock"] = c.clock;
  m["job"] = c.job_json;
  m["consistency"] = {{"model", c.rule.model},
                      {"staleness", c.rule.staleness},
                      {"staleness_aware", c.rule.staleness_aware}};
  json waiting = json::array(), outstanding = json::array();
  for (const auto& w : c.data.waiting)
    waiting.push_back(chunk_json(w));
  for (const auto& [worker, ch] : c.data.outstanding)
    outstanding.push_back({{"worker", worker}, {"chunk", chunk_json(ch)}});
  m["data"] = {{"epoch", c.data.epoch},         {"pos", c.data.pos},
               {"next_id", c.data.next_id},     {"samples_done", c.data.samples_done},
               {"waiting", waiting},            {"outstanding", outstanding}};
  json workers = json::array();
  for (const auto& w : c.workers) {
    json row{{"worker", w.worker}, {"node", w.node}, {"device", w.device}, {"clock", w.clock},
             {"pos", w.pos}};
    if (w.has_chunk)
      row["chunk"] = chunk_json(w.chunk);
    if (!w.carried.empty()) {
      auto name = carried_file(w.worker);
      row["carried"] = {{"file", name},
                        {"crc32", crc_of(std::string(w.carried.begin(), w.carried.end()))}};
    }
    workers.push_back(row);
  }
  m["workers"] = workers;
  m["counters"] = {{"samples", c.samples},
                   {"steps", c.steps},
                   {"skipped", c.skipped},
                   {"next_worker_id", c.next_worker_id},
                   {"wire", {c.wire.up_bytes, c.wire.up_dense_bytes, c.wire.down_bytes,
                             c.wire.down_dense_bytes, c.wire.encode_ns}}};
  json shards = json::array();
  for (const auto& [name, crc] : files)
    shards.push_back({{"file", name}, {"crc32", crc}});
  m["shards"] = shards;
  m["evaluation"] = {{"accuracy", c.accuracy}, {"loss", c.loss}};
  return m;
}

// A manifest value that is missing or not of its type: the checkpoint is damaged.
struct bad_manifest : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// One value of a manifest and its JSON path; every read checks the type (and range) and throws
// bad_manifest naming the path, never converts (a float or negative number is not a clock).
struct field {
  const json& j;
  std::string path;

  [[noreturn]] void bad(const std::string& what) const {
    throw bad_manifest((path.empty() ? std::string{"/"} : path) + " is not " + what);
  }
  bool has(const char* key) const { return j.is_object() && j.contains(key); }
  field operator[](const char* key) const {
    if (!j.is_object())
      bad("an object");
    auto it = j.find(key);
    if (it == j.end())
      throw bad_manifest(path + "/" + key + " is missing");
    return {*it, path + "/" + key};
  }
  std::vector<field> items() const {
    if (!j.is_array())
      bad("an array");
    std::vector<field> out;
    for (size_t i = 0; i < j.size(); ++i)
      out.push_back({j[i], path + "/" + std::to_string(i)});
    return out;
  }
  uint64_t u64() const {
    if (!j.is_number_unsigned())
      bad("a non-negative integer");
    return j.get<uint64_t>();
  }
  uint32_t u32() const {
    auto v = u64();
    if (v > UINT32_MAX)
      bad("a 32-bit unsigned integer");
    return static_cast<uint32_t>(v);
  }
  bool boolean() const {
    if (!j.is_boolean())
      bad("true or false");
    return j.get<bool>();
  }
  double number() const {
    if (!j.is_number())
      bad("a number");
    return j.get<double>();
  }
  std::string text() const {
    if (!j.is_string())
      bad("a string");
    return j.get<std::string>();
  }
  // A file of the checkpoint: a plain name inside its directory (no path, no "." or "..").
  std::string file_name() const {
    auto name = text();
    bool plain = !name.empty() && name != "." && name != ".."
                 && std::all_of(name.begin(), name.end(), [](char ch) {
                      return std::isalnum(static_cast<unsigned char>(ch)) || ch == '.' || ch == '-'
                             || ch == '_';
                    });
    if (!plain)
      bad("a file name inside the checkpoint directory (\"" + name + "\")");
    return name;
  }
};

data::chunk chunk_of(const field& f) {
  data::chunk c;
  c.id = f["id"].u64();
  c.epoch = f["epoch"].u32();
  for (const auto& i : f["indices"].items())
    c.indices.push_back(i.u32());
  return c;
}

// `name` in `dir` when it is a readable file that matches `crc`.
std::string checked_file(const fs::path& dir, const std::string& name, uint32_t crc) {
  std::error_code ec;
  bool ok = fs::is_regular_file(dir / name, ec);
  auto bytes = ok ? read_all((dir / name).string(), ok) : std::string{};
  if (!ok)
    throw bad_manifest(name + " is missing or unreadable");
  if (crc_of(bytes) != crc)
    throw bad_manifest(name + " does not match its checksum (CRC-32)");
  return bytes;
}

// The checkpoint a manifest (checksum verified and erased) describes, its files read from `dir`.
checkpoint read_manifest(const json& j, const fs::path& dir) {
  field m{j, ""};
  if (m["format"].u64() != manifest_format)
    throw bad_manifest("manifest format " + j.at("format").dump());
  checkpoint c;
  c.clock = m["clock"].u64();
  c.job_json = m["job"].text();
  auto r = m["consistency"];
  c.rule = {r["model"].text(), r["staleness"].u64(), r["staleness_aware"].boolean()};
  auto d = m["data"];
  c.data.epoch = d["epoch"].u32();
  c.data.pos = d["pos"].u64();
  c.data.next_id = d["next_id"].u64();
  c.data.samples_done = d["samples_done"].u64();
  for (const auto& w : d["waiting"].items())
    c.data.waiting.push_back(chunk_of(w));
  for (const auto& o : d["outstanding"].items())
    c.data.outstanding.emplace_back(o["worker"].u64(), chunk_of(o["chunk"]));
  for (const auto& w : m["workers"].items()) {
    worker_position p;
    p.worker = w["worker"].u32();
    p.node = w["node"].text();
    p.device = w.has("device") ? w["device"].text() : ""; // "" (older): the job file decides
    p.clock = w["clock"].u64();
    p.pos = w["pos"].u64();
    if (w.has("chunk")) {
      p.has_chunk = true;
      p.chunk = chunk_of(w["chunk"]);
    }
    if (w.has("carried")) {
      auto f = w["carried"];
      auto bytes = checked_file(dir, f["file"].file_name(), f["crc32"].u32());
      p.carried.assign(bytes.begin(), bytes.end());
    }
    c.workers.push_back(std::move(p));
  }
  auto n = m["counters"];
  c.samples = n["samples"].u64();
  c.steps = n["steps"].u64();
  c.skipped = n["skipped"].u64();
  c.next_worker_id = n["next_worker_id"].u32();
  if (n.has("wire")) {
    auto w = n["wire"].items();
    if (w.size() != 5)
      n["wire"].bad("an array of 5 counters");
    c.wire.up_bytes = w[0].u64();
    c.wire.up_dense_bytes = w[1].u64();
    c.wire.down_bytes = w[2].u64();
    c.wire.down_dense_bytes = w[3].u64();
    c.wire.encode_ns = w[4].u64();
  }
  if (m.has("evaluation")) {
    c.accuracy = m["evaluation"]["accuracy"].number();
    c.loss = m["evaluation"]["loss"].number();
  }
  for (const auto& s : m["shards"].items()) {
    auto bytes = checked_file(dir, s["file"].file_name(), s["crc32"].u32());
    c.shards.emplace_back(bytes.begin(), bytes.end());
  }
  return c;
}

// Reads and verifies one checkpoint directory; the error says what is wrong with it.
expected<checkpoint> load_one(const fs::path& dir) {
  bool ok = false;
  auto text = read_all((dir / "manifest.json").string(), ok);
  if (!ok || text.empty())
    return make_error(errc::bad_format, "manifest.json is missing or unreadable");
  json m = json::parse(text, nullptr, false);
  if (m.is_discarded() || !m.is_object() || !m.contains("checksum"))
    return make_error(errc::bad_format, "manifest.json is not a whole manifest");
  try {
    auto stated = field{m, ""}["checksum"].u32();
    m.erase("checksum");
    if (crc_of(m.dump()) != stated)
      return make_error(errc::bad_format, "manifest.json does not match its checksum");
    return read_manifest(m, dir);
  } catch (const bad_manifest& e) {
    return make_error(errc::bad_format, std::string{"manifest.json: "} + e.what());
  } catch (const std::exception& e) { // nothing in a manifest may end the caller
    return make_error(errc::bad_format, std::string{"manifest.json: "} + e.what());
  }
}

} // namespace

bool is_checkpoint_name(const std::string& name, uint64_t* clock, bool tmp) {
  constexpr std::string_view prefix = "ckpt-", suffix = ".tmp";
  std::string_view v = name;
  if (v.substr(0, prefix.size()) != prefix)
    return false;
  v.remove_prefix(prefix.size());
  if (tmp) {
    if (v.size() < suffix.size() || v.substr(v.size() - suffix.size()) != suffix)
      return false;
    v.remove_suffix(suffix.size());
  }
  if (v.empty() || !std::all_of(v.begin(), v.end(), [](char ch) { return ch >= '0' && ch <= '9'; }))
    return false;
  uint64_t value = 0;
  auto [end, err] = std::from_chars(v.data(), v.data() + v.size(), value);
  if (err != std::errc{} || end != v.data() + v.size())
    return false; // beyond 64 bits: not one of ours
  if (clock != nullptr)
    *clock = value;
  return true;
}

std::vector<std::pair<uint64_t, std::string>> checkpoints_in(const std::string& dir,
                                                             std::error_code* ec) {
  std::vector<std::pair<uint64_t, std::string>> all;
  std::error_code e;
  for (const auto& entry : fs::directory_iterator(dir, e)) {
    uint64_t clock = 0;
    std::error_code ignored;
    if (is_checkpoint_name(entry.path().filename().string(), &clock)
        && entry.is_directory(ignored))
      all.emplace_back(clock, entry.path().string());
  }
  if (ec != nullptr)
    *ec = e;
  std::sort(all.begin(), all.end());
  return all;
}

expected<std::string> write_checkpoint(const std::string& dir, const checkpoint& c, int keep) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  auto final_dir = fs::path(dir) / dir_name(c.clock);
  auto tmp = fs::path(dir) / (dir_name(c.clock) + ".tmp");
  fs::remove_all(tmp, ec);
  if (!fs::create_directory(tmp, ec))
    return make_error(errc::io_error, "cannot create " + tmp.string() + ": "
                                        + (ec ? ec.message() : "it exists already"));
  // A write that fails leaves nothing behind: the partial directory goes.
  auto failed = [&](caf::error err) -> expected<std::string> {
    std::error_code ignored;
    fs::remove_all(tmp, ignored);
    return err;
  };
  std::vector<std::pair<std::string, uint32_t>> files;
  for (size_t i = 0; i < c.shards.size(); ++i) {
    auto name = "shard-" + std::to_string(i) + ".capnp";
    std::string bytes(c.shards[i].begin(), c.shards[i].end());
    if (auto err = write_synced((tmp / name).string(), bytes))
      return failed(err);
    files.emplace_back(name, crc_of(bytes));
  }
  for (const auto& w : c.workers)
    if (!w.carried.empty())
      if (auto err = write_synced((tmp / carried_file(w.worker)).string(),
                                  std::string(w.carried.begin(), w.carried.end())))
        return failed(err);
  auto m = manifest_of(c, files);
  m["checksum"] = crc_of(m.dump());
  if (auto err = write_synced((tmp / "manifest.json").string(), m.dump(1)))
    return failed(err);
  sync_dir(tmp.string());
  fs::remove_all(final_dir, ec);
  fs::rename(tmp, final_dir, ec);
  if (ec)
    return failed(make_error(errc::io_error, "cannot rename " + tmp.string() + ": "
                                               + ec.message()));
  sync_dir(dir);
  // Keep the newest `keep` checkpoints, by clock; other entries are not checkpoints.
  auto all = checkpoints_in(dir);
  for (size_t i = 0; i + size_t(std::max(1, keep)) < all.size(); ++i)
    fs::remove_all(all[i].second, ec);
  return final_dir.string();
}

expected<checkpoint> load_latest_checkpoint(const std::string& dir,
                                            std::vector<std::string>* notes) {
  std::error_code ec;
  auto all = checkpoints_in(dir, &ec);
  if (ec)
    return make_error(errc::file_not_found, dir + ": cannot read checkpoint directory: "
                                              + ec.message());
  for (auto d = all.rbegin(); d != all.rend(); ++d) {
    auto c = load_one(d->second);
    if (c) {
      c->source = dir;
      return c;
    }
    if (notes != nullptr)
      notes->push_back("checkpoint " + fs::path(d->second).filename().string()
                       + " skipped: " + describe(c.error()));
  }
  return make_error(errc::file_not_found, dir + ": no whole checkpoint found"
                                            + (all.empty() ? "" : " (all were damaged)"));
}

} // namespace herd::actors
