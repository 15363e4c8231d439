// Internal to config/: typed reads from parsed JSON that record config_issues instead of throwing.
// Includes nlohmann/json: include it only from config/*.cpp, never from a public header.
#pragma once

#include <initializer_list>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/config_issue.hpp"

namespace herd::config::detail {

// Insertion-ordered, so issues and to_json follow the document / schema order.
using json = nlohmann::ordered_json;

/// `parent` extended by one key (escaped per RFC 6901) or one array index.
std::string child_path(std::string_view parent, std::string_view key);
std::string child_path(std::string_view parent, size_t index);

/// A compact rendering of a JSON value for messages, shortened when long.
std::string show(const json& value);

/// "\"a\"", "\"a\" or \"b\"", "\"a\", \"b\" or \"c\"".
std::string quoted_alternatives(const std::vector<std::string>& names);

/// Deepest nesting of arrays and objects accepted: herd's files need a handful of levels, and
/// deeper documents cost memory quadratic in depth while parsing.
constexpr size_t max_json_depth = 64;
/// Largest job, topology or experiment file read (/dev/zero is not read until memory runs out).
constexpr size_t max_json_file_bytes = size_t{16} << 20;

/// Parses JSON text. On malformed input, or nesting deeper than max_json_depth, returns nullopt
/// and sets `syntax_error` to the reason (nlohmann's without its "[json.exception...]" tag).
/// Duplicate keys are appended to `issues`.
std::optional<json> parse_json_text(const std::string& text, std::string& syntax_error,
                                    std::vector<config_issue>& issues);

/// A file's text, or why it could not be read (`error` then says so without the path).
struct file_text {
  std::string text;
  std::string error; // "" when read
  bool not_found = false; // the file could not be opened (errc::file_not_found)
};

/// Reads `path` whole; `what` names the kind of file in messages ("job file"). A directory, a
/// file that cannot be opened or read, or one larger than max_json_file_bytes is an error.
file_text read_json_file(const std::string& path, const std::string& what);

/// The value of `v` as an integer in [lo, hi], or nullopt (wrong type or out of range).
template <class T>
std::optional<T> integer_in(const json& v, T lo, T hi) {
  if (v.is_number_unsigned()) {
    auto u = v.get<uint64_t>();
    if (std::in_range<T>(u) && static_cast<T>(u) >= lo && static_cast<T>(u) <= hi)
      return static_cast<T>(u);
  } else if (v.is_number_integer()) {
    auto s = v.get<int64_t>();
    if (std::in_range<T>(s) && static_cast<T>(s) >= lo && static_cast<T>(s) <= hi)
      return static_cast<T>(s);
  }
  return std::nullopt;
}

/// Whether `v` is an integer greater than `hi` (its message then names the bound).
template <class T>
bool above(const json& v, T hi) {
  if (v.is_number_unsigned()) return !std::in_range<T>(v.get<uint64_t>()) ||
                                     static_cast<T>(v.get<uint64_t>()) > hi;
  if (v.is_number_integer()) {
    auto s = v.get<int64_t>();
    return s > 0 && (!std::in_range<T>(s) || static_cast<T>(s) > hi);
  }
  return false;
}

/// "a non-negative integer", "a positive integer" or "an integer in [lo, hi]".
template <class T>
std::string describe_integer(T lo, T hi) {
  if (hi == std::numeric_limits<T>::max() && (lo == 0 || lo == 1))
    return lo == 0 ? "a non-negative integer" : "a positive integer";
  return "an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]";
}

/// Reads the members of one JSON object. Every read registers its key; finish() reports the keys
/// nobody read as unknown. A missing member keeps the caller's default; a bad one records an
/// issue and also keeps the default, so parsing goes on and collects every issue.
class object_reader {
 public:
  /// `value` may be null (section absent). A non-object records one issue at `path`.
  object_reader(const json* value, std::string path, std::vector<config_issue>& issues);

  const std::string& path() const { return path_; }
  /// Whether an object was given (false when absent or not an object).
  bool present() const { return value_ != nullptr; }
  std::string path_of(std::string_view key) const { return child_path(path_, key); }
  void add_issue(std::string path, std::string message);
  std::vector<config_issue>& issues() { return issues_; }

  /// Registers `key` and returns its value, or nullptr when absent (or this is no object).
  const json* take(std::string_view key);

  /// A reader for the object under `key` (absent: every read keeps its default).
  object_reader section(std::string_view key) { return {take(key), path_of(key), issues_}; }

  template <class T>
  void read_integer(std::string_view key, T& out, T lo = 0,
                    T hi = std::numeric_limits<T>::max()) {
    if (auto v = take(key)) {
      if (auto x = integer_in<T>(*v, lo, hi))
        out = *x;
      else if (hi == std::numeric_limits<T>::max() && above<T>(*v, hi))
        expected(key, describe_integer(lo, hi) + " up to " + std::to_string(hi), *v);
      else
        expected(key, describe_integer(lo, hi), *v);
    }
  }

  /// `what` describes the rule ("a number > 0"); `ok` checks it.
  template <class Pred>
  void read_number(std::string_view key, double& out, const char* what, Pred ok) {
    if (auto v = take(key)) {
      if (v->is_number() && ok(v->get<double>()))
        out = v->get<double>();
      else
        expected(key, what, *v);
    }
  }

  void read_bool(std::string_view key, bool& out);

  /// `what` describes the rule ("a non-empty path"); `ok` checks it. A string holding U+0000
  /// is refused whatever `ok` says: paths and names end there in every system call.
  template <class Pred>
  void read_string(std::string_view key, std::string& out, const std::string& what, Pred ok) {
    if (auto v = take(key)) {
      if (v->is_string() && has_nul(v->get_ref<const std::string&>()))
        expected(key, what + " without NUL characters (U+0000)", *v);
      else if (v->is_string() && ok(v->get_ref<const std::string&>()))
        out = v->get<std::string>();
      else
        expected(key, what, *v);
    }
  }

  static bool has_nul(std::string_view s) { return s.find('\0') != std::string_view::npos; }

  /// One of `values`, spelled as to_string(E) spells them.
  template <class E>
  void read_choice(std::string_view key, E& out, std::initializer_list<E> values) {
    if (auto v = take(key)) {
      std::vector<std::string> names;
      for (auto e : values) {
        names.emplace_back(to_string(e));
        if (v->is_string() && v->get_ref<const std::string&>() == names.back()) {
          out = e;
          return;
        }
      }
      expected(key, quoted_alternatives(names), *v);
    }
  }

  /// Records "<path>/<key>: expected WHAT, got VALUE".
  void expected(std::string_view key, const std::string& what, const json& got);

  /// Reports every member that no read registered.
  void finish();

 private:
  const json* value_;  // null when absent or not an object
  std::string path_;
  std::vector<config_issue>& issues_;
  std::vector<std::string> known_;
};

} // namespace herd::config::detail
