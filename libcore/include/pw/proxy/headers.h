// The header rules of a proxy (RFC 9110 §7.6): hop-by-hop fields removed, Via added,
// X-Forwarded-* with trusted-proxy handling, a request id kept or generated.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <span>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "pw/base/result.h"
#include "pw/http/message.h"
#include "pw/io/address.h"
#include "pw/proxy/config.h"

namespace pw::proxy {

// The fields being built for the other side of the proxy: views, mostly into the message that
// came in (no copy per field), plus the strings the proxy adds (Via, X-Forwarded-For, a request
// id, a filter's edit), which the list copies into an arena of its own. The arena's chunks never
// move, so views into it stay valid when the list is moved, until clear() or destruction.
//
// A view added with add_view() must outlive the list's use: the incoming request (the proxy
// keeps it until the response ends), the snapshot's config, a string literal. The fields of an
// upstream response are valid only during the callback that delivers them, so a response's list
// is serialized inside that callback.
class FieldList {
 public:
  FieldList() = default;
  FieldList(std::initializer_list<std::pair<std::string_view, std::string_view>> init);  // copies
  FieldList(FieldList&& o) noexcept;
  FieldList& operator=(FieldList&& o) noexcept;
  FieldList(const FieldList&) = delete;
  FieldList& operator=(const FieldList&) = delete;
  ~FieldList();

  void add_view(std::string_view name, std::string_view value) { f_.push_back(http::Header{name, value}); }
  void add(std::string_view name, std::string_view value) { f_.push_back(http::Header{keep(name), keep(value)}); }
  // Replaces the first field of that name in place (copying the value) and removes the others;
  // appends when there is none.
  void set(std::string_view name, std::string_view value);
  std::size_t remove(std::string_view name);  // every field of that name (case-insensitive)
  std::optional<std::string_view> get(std::string_view name) const noexcept;
  // Copies `s` into the arena and returns the copy.
  std::string_view keep(std::string_view s);

  std::size_t size() const noexcept { return f_.size(); }
  bool empty() const noexcept { return f_.empty(); }
  const http::Header& operator[](std::size_t i) const { return f_[i]; }
  http::Header& operator[](std::size_t i) { return f_[i]; }
  std::vector<http::Header>::const_iterator begin() const noexcept { return f_.begin(); }
  std::vector<http::Header>::const_iterator end() const noexcept { return f_.end(); }
  std::span<const http::Header> span() const noexcept { return f_; }
  void reserve(std::size_t n) { f_.reserve(n); }
  // Forgets the fields; keeps the memory (the vector's and the arena's first chunk).
  void clear() noexcept;

  friend bool operator==(const FieldList& a, const FieldList& b) noexcept;

 private:
  struct Chunk;
  std::vector<http::Header> f_;
  Chunk* chunks_ = nullptr;  // newest first
};

// A parsed CIDR list ("10.0.0.0/8", "::1/128", "127.0.0.1" = /32).
class CidrSet {
 public:
  static Result<CidrSet> parse(const std::vector<std::string>& cidrs);
  bool contains(const io::SockAddr& a) const noexcept;
  bool empty() const noexcept { return nets_.empty(); }

 private:
  struct Net {
    int family = 0;               // AF_INET / AF_INET6
    std::uint8_t addr[16] = {};
    int prefix = 0;
  };
  std::vector<Net> nets_;
};

// The client's IP address: the peer's; when the peer is in `trusted`, X-Forwarded-For is walked
// from the right past trusted addresses and the first untrusted entry is the client (nginx's
// real_ip_recursive on). An entry that is not an IP address stops the walk: the last trusted
// address is taken rather than a value the client may have written. "192.0.2.7" / "2001:db8::1".
std::string client_ip(const http::HeaderList& headers, const io::SockAddr& peer, const CidrSet& trusted);

// True for fields that apply to one connection only and must not be forwarded
// (RFC 9110 §7.6.1): Connection, Keep-Alive, Proxy-Connection, TE, Transfer-Encoding, Upgrade,
// Proxy-Authenticate, Proxy-Authorization... and every field named in `connection_tokens`
// (the values of the Connection field). Content-Length is not hop-by-hop but is also left out:
// the serializer writes framing.
bool is_hop_by_hop(std::string_view name, const http::HeaderList& all) noexcept;

struct ForwardedInfo {
  io::SockAddr peer;         // the client's socket address
  bool tls = false;          // the client connection was TLS
  std::string_view host;     // the Host the client sent
  bool trusted_peer = false; // peer is in trusted_proxies: keep and extend its X-Forwarded-*
  http::Version version = http::Version::http11;  // the client's request: Via's received-protocol
};

// Builds the header fields to send upstream from the client's request:
//  - hop-by-hop removed (the Upgrade / Connection: upgrade pair is added back by the caller
//    for a tunnelled upgrade);
//  - Host is not included (the caller sets it, possibly rewritten);
//  - Via: "1.1 <via>" ("1.0 <via>" for an HTTP/1.0 client) appended (RFC 9110 §7.6.3) unless
//    via is empty;
//  - X-Forwarded-For gets the peer appended (trusted peer) or is replaced by it (with
//    x_forwarded off: a trusted peer's X-Forwarded-* pass unchanged, others are removed);
//    X-Forwarded-Proto / X-Forwarded-Host kept from a trusted peer, else set from `info`;
//  - Forwarded (RFC 7239) and X-Real-IP: kept from a trusted peer, removed from anyone else;
//    with `forwarded`, an element "for=...;proto=...;host=..." is appended to the kept list
//    (or is the whole field);
//  - the request id: kept when present, valid (valid_request_id) and from a trusted peer or
//    with trust_incoming; else generated when `generate`.
// Returns the request id used (empty when none), a view into `out` or into `in`.
std::string_view build_upstream_request_fields(const http::HeaderList& in, const ForwardedInfo& info,
                                          const ProxyBehaviour& behaviour, std::mt19937_64& rng,
                                          FieldList& out);

// The longest incoming request id that is kept.
inline constexpr std::size_t kMaxRequestIdBytes = 128;
// 1..kMaxRequestIdBytes visible ASCII characters (0x21..0x7E).
bool valid_request_id(std::string_view id) noexcept;

// Response fields to send to the client: hop-by-hop removed, Via appended.
void build_downstream_response_fields(const http::HeaderList& in, http::Version version_of_upstream,
                                      const ProxyBehaviour& behaviour, FieldList& out);

// A Host field value (or an absolute-form authority) as RFC 9112 §3.2 / RFC 3986 §3.2.2 allow,
// narrowed to what names hosts in practice: a DNS name (letters, digits, '-', '.', '_', '~') or
// an IPv4 address, or an IP-literal in brackets, then an optional ":port" of digits. No
// userinfo, no list, no path, no whitespace, not empty.
bool valid_host_port(std::string_view host) noexcept;

// A random request id: 32 lower-case hex digits in UUID v4 form (8-4-4-4-12).
std::string generate_request_id(std::mt19937_64& rng);
void generate_request_id(std::mt19937_64& rng, char (&out)[36]);  // the same, without allocating

// Applies a "headers" filter's edits (set replaces, add appends, remove deletes; names
// case-insensitive).
void apply_header_edits(const HeaderEdits& edits, FieldList& fields);

}  // namespace pw::proxy
