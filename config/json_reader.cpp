#include "config/json_reader.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>

namespace herd::config::detail {

namespace {

// Levenshtein distance, for "did you mean" on unknown keys.
size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j)
    row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

std::string strip_exception_tag(std::string what) {
  // nlohmann prefixes "[json.exception.parse_error.101] "; the tag means nothing to users.
  if (what.starts_with("[json.exception.")) {
    auto end = what.find("] ");
    if (end != std::string::npos)
      what.erase(0, end + 2);
  }
  return what;
}

// Where the first array or object deeper than max_json_depth opens ("line 1, column 65"), or ""
// when none does. Strings are skipped: brackets in them are text. Malformed text is left to
// nlohmann, which reports it.
std::string too_deep_at(const std::string& text) {
  size_t depth = 0, line = 1, column = 0;
  bool in_string = false, escaped = false;
  for (char c : text) {
    ++column;
    if (c == '\n') {
      ++line;
      column = 0;
    }
    if (in_string) {
      if (escaped)
        escaped = false;
      else if (c == '\\')
        escaped = true;
      else if (c == '"')
        in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > max_json_depth)
        return "line " + std::to_string(line) + ", column " + std::to_string(column);
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return "";
}

} // namespace

file_text read_json_file(const std::string& path, const std::string& what) {
  file_text out;
  auto a_what = (std::string_view{"aeiou"}.find(what.front()) == std::string_view::npos ? "a "
                                                                                       : "an ")
                + what;
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    out.error = "is a directory, expected " + a_what;
    return out;
  }
  std::ifstream in{path, std::ios::binary};
  if (!in) {
    out.error = "cannot open " + what + ": " + std::strerror(errno);
    out.not_found = true;
    return out;
  }
  // Read in pieces up to the cap: a device or a pipe has no size to check first.
  char buffer[1 << 16];
  while (in.read(buffer, sizeof buffer) || in.gcount() > 0) {
    out.text.append(buffer, static_cast<size_t>(in.gcount()));
    if (out.text.size() > max_json_file_bytes) {
      out.text.clear();
      out.error = "larger than " + std::to_string(max_json_file_bytes >> 20)
                  + " MiB, expected " + a_what;
      return out;
    }
  }
  if (in.bad())
    out.error = "cannot read " + what + ": " + std::strerror(errno);
  return out;
}

std::string child_path(std::string_view parent, std::string_view key) {
  std::string out{parent};
  out += '/';
  for (char c : key) {
    if (c == '~')
      out += "~0";
    else if (c == '/')
      out += "~1";
    else
      out += c;
  }
  return out;
}

std::string child_path(std::string_view parent, size_t index) {
  return std::string{parent} + '/' + std::to_string(index);
}

std::string show(const json& value) {
  constexpr size_t max_len = 60;
  auto text = value.dump(-1, ' ', false, json::error_handler_t::replace);
  if (text.size() > max_len)
    text = text.substr(0, max_len - 3) + "...";
  return text;
}

std::string quoted_alternatives(const std::vector<std::string>& names) {
  std::string out;
  for (size_t i = 0; i < names.size(); ++i) {
    if (i > 0)
      out += i + 1 == names.size() ? " or " : ", ";
    out += '"' + names[i] + '"';
  }
  return out;
}

std::optional<json> parse_json_text(const std::string& text, std::string& syntax_error,
                                    std::vector<config_issue>& issues) {
  // nlohmann keeps the last of duplicate keys silently; a repeated "lr" is a mistake worth
  // reporting, so track the open containers and their keys while parsing.
  struct frame {
    bool is_object;
    std::string path;
    std::set<std::string> keys;
    std::string key;
    size_t next_index = 0;
  };
  // Checked before nlohmann builds anything: the paths below grow with depth.
  if (auto at = too_deep_at(text); !at.empty()) {
    syntax_error = "nested deeper than " + std::to_string(max_json_depth)
                   + " arrays or objects at " + at;
    return std::nullopt;
  }
  std::vector<frame> stack;
  std::vector<config_issue> duplicates;
  auto element_path = [&]() -> std::string {
    if (stack.empty())
      return "";
    auto& top = stack.back();
    return top.is_object ? child_path(top.path, top.key) : child_path(top.path, top.next_index++);
  };
  json::parser_callback_t track = [&](int, json::parse_event_t event, json& parsed) {
    switch (event) {
      case json::parse_event_t::object_start:
      case json::parse_event_t::array_start: {
        auto path = element_path();
        stack.push_back({event == json::parse_event_t::object_start, std::move(path), {}, {}});
        break;
      }
      case json::parse_event_t::object_end:
      case json::parse_event_t::array_end:
        stack.pop_back();
        break;
      case json::parse_event_t::key: {
        auto& top = stack.back();
        top.key = parsed.get<std::string>();
        if (!top.keys.insert(top.key).second)
          duplicates.push_back({child_path(top.path, top.key), "duplicate key"});
        break;
      }
      case json::parse_event_t::value:
        if (!stack.empty() && !stack.back().is_object)
          ++stack.back().next_index;
        break;
    }
    return true;
  };
  try {
    auto result = json::parse(text, track);
    issues.insert(issues.end(), duplicates.begin(), duplicates.end());
    return result;
  } catch (const nlohmann::json::exception& e) {
    // STYLE: config/ is the one place that catches nlohmann exceptions, and this is that place.
    syntax_error = strip_exception_tag(e.what());
    return std::nullopt;
  }
}

object_reader::object_reader(const json* value, std::string path,
                             std::vector<config_issue>& issues)
  : value_(value), path_(std::move(path)), issues_(issues) {
  if (value_ != nullptr && !value_->is_object()) {
    add_issue(path_.empty() ? "/" : path_, "expected an object, got " + show(*value_));
    value_ = nullptr;
  }
}

void object_reader::add_issue(std::string path, std::string message) {
  issues_.push_back({std::move(path), std::move(message)});
}

const json* object_reader::take(std::string_view key) {
  if (std::find(known_.begin(), known_.end(), key) == known_.end())
    known_.emplace_back(key);
  if (value_ == nullptr)
    return nullptr;
  auto i = value_->find(std::string{key});
  return i == value_->end() ? nullptr : &*i;
}

void object_reader::read_bool(std::string_view key, bool& out) {
  if (auto v = take(key)) {
    if (v->is_boolean())
      out = v->get<bool>();
    else
      expected(key, "true or false", *v);
  }
}

void object_reader::expected(std::string_view key, const std::string& what, const json& got) {
  add_issue(path_of(key), "expected " + what + ", got " + show(got));
}

void object_reader::finish() {
  if (value_ == nullptr)
    return;
  for (const auto& [key, unused] : value_->items()) {
    if (std::find(known_.begin(), known_.end(), key) != known_.end())
      continue;
    std::string list;
    const std::string* closest = nullptr;
    size_t best = 3;  // suggest only near misses: at most 2 edits
    for (const auto& k : known_) {
      list += (list.empty() ? "" : ", ") + k;
      if (auto d = edit_distance(key, k); d < best) {
        best = d;
        closest = &k;
      }
    }
    auto message = "unknown key (known: " + list + ")";
    if (closest != nullptr)
      message += "; did you mean \"" + *closest + "\"?";
    add_issue(path_of(key), std::move(message));
  }
}

} // namespace herd::config::detail
