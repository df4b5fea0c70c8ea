// Where a reader is in the document (a JSON Pointer) and where its errors go.
#pragma once

#include <concepts>
#include <cstddef>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "pw/config/diagnostics.h"

namespace pw::config {

using Json = nlohmann::json;

class Context {
 public:
  explicit Context(Diagnostics& diags) : diags_(diags) {}

  // The current location as a JSON Pointer ("" at the root).
  std::string pointer() const;
  void error(std::string message) { diags_.add(pointer(), std::move(message)); }
  void error_at(std::string pointer, std::string message) { diags_.add(std::move(pointer), std::move(message)); }
  std::size_t error_count() const noexcept { return diags_.count(); }
  // Does not fail the load: an accepted old spelling and what it was taken as.
  void warn(std::string message) { diags_.warn(pointer(), std::move(message)); }

  void push(std::string escaped_token) { path_.push_back(std::move(escaped_token)); }
  void pop() { path_.pop_back(); }

 private:
  Diagnostics& diags_;
  std::vector<std::string> path_;
};

// One step of a path: an object key (escaped per RFC 6901) or an array index.
struct PathPart {
  std::string token;
  PathPart(std::string_view key) : token(escape_pointer_token(key)) {}  // NOLINT(implicit)
  PathPart(const char* key) : PathPart(std::string_view(key)) {}        // NOLINT(implicit)
  PathPart(const std::string& key) : PathPart(std::string_view(key)) {}  // NOLINT(implicit)
  template <std::integral I>
  PathPart(I index) : token(std::to_string(index)) {}  // NOLINT(implicit)
};

// Pushes one step for the lifetime of the scope.
class PathScope {
 public:
  PathScope(Context& c, PathPart part) : c_(c) { c_.push(std::move(part.token)); }
  ~PathScope() { c_.pop(); }
  PathScope(const PathScope&) = delete;
  PathScope& operator=(const PathScope&) = delete;

 private:
  Context& c_;
};

// What a JSON value is, for "got ..." in messages: "string", "integer", "number", "boolean",
// "null", "array", "object".
const char* json_type_name(const Json& j) noexcept;
// A string value quoted and escaped for a message: "users" -> "\"users\"" (cut when long).
std::string quote(std::string_view s);

// Cross-field validation inside a struct's declaration, after its fields were read without error:
//   f.validate([&](Validation& v) { if (l.min > l.max) v.error_at({"min"}, "must not exceed max"); });
class Validation {
 public:
  explicit Validation(Context& c) : c_(c) {}
  void error(std::string message) { c_.error(std::move(message)); }
  // At a path relative to the struct: error_at({"routes", 3, "upstream"}, "unknown cluster ...").
  void error_at(std::initializer_list<PathPart> rel, std::string message);

 private:
  Context& c_;
};

}  // namespace pw::config
