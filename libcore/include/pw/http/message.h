// HTTP/1.1 message model shared by the parser and the serializer: methods, versions, header
// fields as views, and the head of a parsed message with its framing already decided.
//
// Everything here is a view: a Head never owns bytes. Views point into the buffer the caller
// handed to Parser::parse() (see parser.h for how long they stay valid).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace pw::http {

enum class Method : std::uint8_t {
  other,  // any other token: see Head::method_name
  get,
  head,
  post,
  put,
  delete_,
  connect,
  options,
  trace,
  patch,
};

// Exact, case-sensitive match (RFC 9110 §9.1: method names are case-sensitive).
Method method_from_name(std::string_view name) noexcept;
std::string_view method_name(Method m) noexcept;  // "" for Method::other

enum class Version : std::uint8_t { http10, http11 };
std::string_view version_name(Version v) noexcept;  // "HTTP/1.0" / "HTTP/1.1"

// The four request-target forms of RFC 9112 §3.2.
enum class TargetForm : std::uint8_t { origin, absolute, authority, asterisk };

// How the body of a message is delimited (RFC 9112 §6.3).
enum class BodyKind : std::uint8_t {
  none,         // no body: HEAD/1xx/204/304 responses, requests without length, 2xx to CONNECT
  length,       // Content-Length bytes
  chunked,      // Transfer-Encoding: chunked
  until_close,  // response read until the connection closes
};

// The standard reason phrase for a status code, "" if unknown.
std::string_view reason_phrase(int status) noexcept;

struct Header {
  std::string_view name;
  std::string_view value;  // leading and trailing OWS already removed
};

// An ordered list of fields. Lookups are case-insensitive (RFC 9110 §5.1) and linear: a
// message has at most Limits::max_headers fields and most have fewer than 20.
class HeaderList {
 public:
  using const_iterator = std::vector<Header>::const_iterator;

  std::size_t size() const noexcept { return v_.size(); }
  bool empty() const noexcept { return v_.empty(); }
  const Header& operator[](std::size_t i) const { return v_[i]; }
  const_iterator begin() const noexcept { return v_.begin(); }
  const_iterator end() const noexcept { return v_.end(); }

  // The first field with that name.
  std::optional<std::string_view> get(std::string_view name) const noexcept;
  std::size_t count(std::string_view name) const noexcept;
  bool contains(std::string_view name) const noexcept { return get(name).has_value(); }

  // Used by the parser; clear() keeps the capacity so a parser allocates once per connection.
  void clear() noexcept { v_.clear(); }
  void reserve(std::size_t n) { v_.reserve(n); }
  void push_back(Header h) { v_.push_back(h); }

 private:
  std::vector<Header> v_;
};

// The head of a request or a response, with the framing decisions of RFC 9112 §6.3 made.
struct Head {
  // Request line (request parser only).
  std::string_view method_name;  // as received, e.g. "GET", "PROPFIND"
  Method method = Method::other;
  std::string_view target;
  TargetForm target_form = TargetForm::origin;

  // Status line (response parser only).
  int status = 0;
  std::string_view reason;

  Version version = Version::http11;
  HeaderList headers;

  BodyKind body = BodyKind::none;
  std::uint64_t content_length = 0;  // when body == BodyKind::length
  // The connection may carry another message after this one (RFC 9112 §9.3): HTTP/1.1 unless
  // "Connection: close", HTTP/1.0 only with "Connection: keep-alive"; never after a body read
  // until close.
  bool keep_alive = true;
  // An HTTP/1.1 request with "Expect: 100-continue" (RFC 9110 §10.1.1).
  bool expect_continue = false;
  // Request: CONNECT, or "Upgrade" with "Connection: upgrade" (RFC 9110 §7.8); the server may
  // accept and take the bytes after this message. Response: 101, or 2xx to CONNECT; the bytes
  // after the head belong to the new protocol or tunnel.
  bool upgrade = false;
};

}  // namespace pw::http
