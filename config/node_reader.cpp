#include "config/node_reader.hpp"

#include <algorithm>

namespace herd::config::detail {

const std::string name_rule = "a name of letters, digits, '_', '.' or '-' other than \".\" and "
                              "\"..\"";

// Names become path components (runs/<name>, TLS files' {name}): "." and ".." would name the
// directory itself or its parent.
bool valid_name(std::string_view s) {
  if (s.empty() || s == "." || s == "..")
    return false;
  return std::all_of(s.begin(), s.end(), name_char);
}

bool name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'
         || c == '.' || c == '-';
}

bool read_nodes(object_reader& root, std::vector<node_config>& out) {
  auto path = root.path_of("nodes");
  auto v = root.take("nodes");
  if (v == nullptr)
    return true;
  if (!v->is_array() || v->empty()) {
    root.expected("nodes", "a non-empty array of node objects", *v);
    return false;
  }
  auto& issues = root.issues();
  auto before = issues.size();
  std::vector<node_config> nodes;
  for (size_t i = 0; i < v->size(); ++i) {
    object_reader n{&(*v)[i], child_path(path, i), issues};
    node_config node;
    if (n.present() && !n.take("name"))
      n.add_issue(n.path_of("name"), "missing; expected " + name_rule);
    n.read_string("name", node.name, name_rule, valid_name);
    n.read_string("host", node.host, "a non-empty host name or address",
                  [](std::string_view s) { return !s.empty(); });
    int port = node.port;
    n.read_integer("port", port, 0, 65535);
    node.port = static_cast<uint16_t>(port);
    n.finish();
    for (size_t j = 0; j < nodes.size(); ++j) {
      if (!node.name.empty() && nodes[j].name == node.name)
        n.add_issue(n.path_of("name"), "duplicate node name \"" + node.name + "\" (also at "
                                         + child_path(path, j) + ")");
      else if (node.port != 0 && nodes[j].port == node.port && nodes[j].host == node.host)
        n.add_issue(n.path_of("port"), "expected a host and port no other node uses, got "
                                         + node.host + ":" + std::to_string(node.port)
                                         + " (also at " + child_path(path, j) + ")");
    }
    nodes.push_back(std::move(node));
  }
  if (issues.size() != before)
    return false;
  out = std::move(nodes);
  return true;
}

} // namespace herd::config::detail
