#include "config/topology.hpp"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "config/json_reader.hpp"
#include "config/node_reader.hpp"

namespace herd::config {

namespace {

std::string resolve(const std::string& path, const std::string& base_dir) {
  if (path.empty() || base_dir.empty() || std::filesystem::path(path).is_absolute())
    return path;
  return (std::filesystem::path(base_dir) / path).lexically_normal().string();
}

std::string replace_name(std::string s, const std::string& name) {
  for (auto pos = s.find("{name}"); pos != std::string::npos; pos = s.find("{name}", pos)) {
    s.replace(pos, 6, name);
    pos += name.size();
  }
  return s;
}

herd::expected<topology> parse_named(const std::string& text, const std::string& source,
                                     const std::string& base_dir) {
  std::vector<config_issue> issues;
  std::string syntax_error;
  auto doc = detail::parse_json_text(text, syntax_error, issues);
  auto prefix = source.empty() ? std::string{} : source + ": ";
  if (!doc)
    return herd::make_error(errc::config_syntax, prefix + "malformed JSON: " + syntax_error);
  topology topo;
  detail::object_reader root{&*doc, "", issues};
  if (root.present() && root.take("nodes") == nullptr)
    root.add_issue("/nodes", "missing; expected a non-empty array of node objects");
  else
    detail::read_nodes(root, topo.nodes);
  auto path_ok = [](std::string_view s) { return !s.empty(); };
  auto tls = root.section("tls");
  tls.read_string("ca", topo.tls.ca, "a path to the cluster CA's certificate", path_ok);
  tls.read_string("certificate", topo.tls.certificate, "a certificate path", path_ok);
  tls.read_string("key", topo.tls.key, "a private key path", path_ok);
  if (tls.present() && (topo.tls.ca.empty() || topo.tls.certificate.empty() || topo.tls.key.empty()))
    tls.add_issue("/tls", "expected all of \"ca\", \"certificate\" and \"key\"");
  tls.finish();
  // With TLS, {name} picks each node's files: "ca" would be the CA's own (its private key on a
  // node), "client" the identity herd run and herd ctl present.
  if (tls.present())
    for (size_t i = 0; i < topo.nodes.size(); ++i)
      if (topo.nodes[i].name == "ca" || topo.nodes[i].name == "client")
        root.add_issue("/nodes/" + std::to_string(i) + "/name",
                       "expected a name other than \"ca\" and \"client\" with TLS (their "
                       "files are the CA's and herd run's), got \"" + topo.nodes[i].name + "\"");
  root.read_number("connect_timeout_s", topo.connect_timeout_s, "a positive number of seconds",
                   [](double x) { return x > 0 && x < 1e6; });
  root.finish();
  if (!issues.empty())
    return herd::make_error(errc::config_invalid, prefix + to_string(issues.front()));
  topo.tls.ca = resolve(topo.tls.ca, base_dir);
  topo.tls.certificate = resolve(topo.tls.certificate, base_dir);
  topo.tls.key = resolve(topo.tls.key, base_dir);
  return topo;
}

} // namespace

const node_config* topology::find(const std::string& name) const {
  for (const auto& n : nodes)
    if (n.name == name)
      return &n;
  return nullptr;
}

herd::expected<topology> parse_topology(const std::string& json_text,
                                        const std::string& base_dir) {
  return parse_named(json_text, "", base_dir);
}

herd::expected<topology> load_topology(const std::string& path) {
  auto file = detail::read_json_file(path, "topology file");
  if (!file.error.empty())
    return herd::make_error(file.not_found ? errc::file_not_found : errc::io_error,
                            path + ": " + file.error);
  auto dir = std::filesystem::absolute(path).parent_path().string();
  return parse_named(file.text, path, dir);
}

tls_config tls_for(const tls_config& tls, const std::string& name) {
  auto out = tls;
  out.certificate = replace_name(out.certificate, name);
  out.key = replace_name(out.key, name);
  return out;
}

bool is_loopback(const std::string& host) {
  return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

} // namespace herd::config
