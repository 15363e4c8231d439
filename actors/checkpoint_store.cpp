#include "actors/checkpoint_store.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

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

caf::error io_failure(const std::string& what, const std::string& path) {
  return make_error(errc::io_error, what + " " + path + ": " + std::strerror(errno));
}

// Writes `bytes` to `path` and fsyncs it.
caf::error write_synced(const std::string& path, const std::string& bytes) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0)
    return io_failure("cannot create", path);
  size_t done = 0;
  while (done < bytes.size()) {
    auto n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n <= 0) {
      ::close(fd);
      return io_failure("cannot write", path);
    }
    done += static_cast<size_t>(n);
  }
  bool ok = ::fsync(fd) == 0;
  ::close(fd);
  return ok ? caf::error{} : io_failure("cannot sync", path);
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

data::chunk chunk_of(const json& j) {
  data::chunk c;
  c.id = j.at("id").get<uint64_t>();
  c.epoch = j.at("epoch").get<uint32_t>();
  c.indices = j.at("indices").get<std::vector<uint32_t>>();
  return c;
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

checkpoint checkpoint_of(const json& m) {
  checkpoint c;
  c.clock = m.at("clock").get<uint64_t>();
  c.job_json = m.at("job").get<std::string>();
  const auto& r = m.at("consistency");
  c.rule = {r.at("model").get<std::string>(), r.at("staleness").get<uint64_t>(),
            r.at("staleness_aware").get<bool>()};
  const auto& d = m.at("data");
  c.data.epoch = d.at("epoch").get<uint32_t>();
  c.data.pos = d.at("pos").get<uint64_t>();
  c.data.next_id = d.at("next_id").get<uint64_t>();
  c.data.samples_done = d.at("samples_done").get<uint64_t>();
  for (const auto& w : d.at("waiting"))
    c.data.waiting.push_back(chunk_of(w));
  for (const auto& o : d.at("outstanding"))
    c.data.outstanding.emplace_back(o.at("worker").get<uint64_t>(), chunk_of(o.at("chunk")));
  for (const auto& w : m.at("workers")) {
    worker_position p;
    p.worker = w.at("worker").get<uint32_t>();
    p.node = w.at("node").get<std::string>();
    p.device = w.value("device", std::string{}); // "" (older manifests): the job file decides
    p.clock = w.at("clock").get<uint64_t>();
    p.pos = w.at("pos").get<uint64_t>();
    if (w.contains("chunk")) {
      p.has_chunk = true;
      p.chunk = chunk_of(w.at("chunk"));
    }
    c.workers.push_back(std::move(p));
  }
  const auto& n = m.at("counters");
  c.samples = n.at("samples").get<uint64_t>();
  c.steps = n.at("steps").get<uint64_t>();
  c.skipped = n.at("skipped").get<uint64_t>();
  c.next_worker_id = n.at("next_worker_id").get<uint32_t>();
  if (n.contains("wire")) {
    auto w = n.at("wire").get<std::vector<uint64_t>>();
    if (w.size() == 5) {
      c.wire.up_bytes = w[0];
      c.wire.up_dense_bytes = w[1];
      c.wire.down_bytes = w[2];
      c.wire.down_dense_bytes = w[3];
      c.wire.encode_ns = w[4];
    }
  }
  if (m.contains("evaluation")) {
    c.accuracy = m["evaluation"].at("accuracy").get<double>();
    c.loss = m["evaluation"].at("loss").get<double>();
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
  auto stated = m["checksum"].get<uint32_t>();
  m.erase("checksum");
  if (crc_of(m.dump()) != stated)
    return make_error(errc::bad_format, "manifest.json does not match its checksum");
  try {
    if (m.at("format").get<int>() != manifest_format)
      return make_error(errc::bad_format, "manifest format " + m.at("format").dump());
    auto c = checkpoint_of(m);
    for (const auto& s : m.at("shards")) {
      auto name = s.at("file").get<std::string>();
      auto bytes = read_all((dir / name).string(), ok);
      if (!ok)
        return make_error(errc::bad_format, name + " is missing or unreadable");
      if (crc_of(bytes) != s.at("crc32").get<uint32_t>())
        return make_error(errc::bad_format, name + " does not match its checksum (CRC-32)");
      c.shards.emplace_back(bytes.begin(), bytes.end());
    }
    const auto& rows = m.at("workers");
    for (size_t i = 0; i < rows.size() && i < c.workers.size(); ++i) {
      if (!rows[i].contains("carried"))
        continue;
      auto name = rows[i]["carried"].at("file").get<std::string>();
      auto bytes = read_all((dir / name).string(), ok);
      if (!ok)
        return make_error(errc::bad_format, name + " is missing or unreadable");
      if (crc_of(bytes) != rows[i]["carried"].at("crc32").get<uint32_t>())
        return make_error(errc::bad_format, name + " does not match its checksum (CRC-32)");
      c.workers[i].carried.assign(bytes.begin(), bytes.end());
    }
    return c;
  } catch (const nlohmann::json::exception& e) {
    return make_error(errc::bad_format, std::string{"manifest.json: "} + e.what());
  }
}

} // namespace

expected<std::string> write_checkpoint(const std::string& dir, const checkpoint& c, int keep) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  auto final_dir = fs::path(dir) / dir_name(c.clock);
  auto tmp = fs::path(dir) / (dir_name(c.clock) + ".tmp");
  fs::remove_all(tmp, ec);
  if (!fs::create_directories(tmp, ec))
    return make_error(errc::io_error, "cannot create " + tmp.string() + ": " + ec.message());
  std::vector<std::pair<std::string, uint32_t>> files;
  for (size_t i = 0; i < c.shards.size(); ++i) {
    auto name = "shard-" + std::to_string(i) + ".capnp";
    std::string bytes(c.shards[i].begin(), c.shards[i].end());
    if (auto err = write_synced((tmp / name).string(), bytes))
      return err;
    files.emplace_back(name, crc_of(bytes));
  }
  for (const auto& w : c.workers)
    if (!w.carried.empty())
      if (auto err = write_synced((tmp / carried_file(w.worker)).string(),
                                  std::string(w.carried.begin(), w.carried.end())))
        return err;
  auto m = manifest_of(c, files);
  m["checksum"] = crc_of(m.dump());
  if (auto err = write_synced((tmp / "manifest.json").string(), m.dump(1)))
    return err;
  sync_dir(tmp.string());
  fs::remove_all(final_dir, ec);
  fs::rename(tmp, final_dir, ec);
  if (ec)
    return make_error(errc::io_error, "cannot rename " + tmp.string() + ": " + ec.message());
  sync_dir(dir);
  // Keep the newest `keep` (names sort by clock).
  std::vector<fs::path> all;
  for (const auto& e : fs::directory_iterator(dir, ec))
    if (e.is_directory() && e.path().filename().string().rfind("ckpt-", 0) == 0
        && e.path().extension() != ".tmp")
      all.push_back(e.path());
  std::sort(all.begin(), all.end());
  for (size_t i = 0; i + size_t(std::max(1, keep)) < all.size(); ++i)
    fs::remove_all(all[i], ec);
  return final_dir.string();
}

expected<checkpoint> load_latest_checkpoint(const std::string& dir,
                                            std::vector<std::string>* notes) {
  std::error_code ec;
  std::vector<fs::path> all;
  for (const auto& e : fs::directory_iterator(dir, ec))
    if (e.is_directory() && e.path().filename().string().rfind("ckpt-", 0) == 0
        && e.path().extension() != ".tmp")
      all.push_back(e.path());
  if (ec)
    return make_error(errc::file_not_found, dir + ": cannot read checkpoint directory: "
                                              + ec.message());
  std::sort(all.rbegin(), all.rend());
  for (const auto& d : all) {
    auto c = load_one(d);
    if (c)
      return c;
    if (notes != nullptr)
      notes->push_back("checkpoint " + d.filename().string() + " skipped: " + describe(c.error()));
  }
  return make_error(errc::file_not_found, dir + ": no whole checkpoint found"
                                            + (all.empty() ? "" : " (all were damaged)"));
}

} // namespace herd::actors
