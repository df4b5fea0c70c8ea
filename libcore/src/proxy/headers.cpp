// The header rules of a proxy (RFC 9110 §7.6): hop-by-hop fields, Via, X-Forwarded-*, request
// ids, and the "headers" filter's edits.
#include "pw/proxy/headers.h"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstring>

#include "pw/base/strings.h"

namespace pw::proxy {

namespace {

constexpr std::string_view kXff = "X-Forwarded-For";
constexpr std::string_view kXfProto = "X-Forwarded-Proto";
constexpr std::string_view kXfHost = "X-Forwarded-Host";
constexpr std::string_view kForwarded = "Forwarded";
constexpr std::string_view kXRealIp = "X-Real-IP";

// Fields that upstream frameworks believe as a proxy's word about the client or the original
// request (Spring's ForwardedHeaderFilter and Werkzeug's ProxyFix read X-Forwarded-Port,
// -Prefix, -Ssl, -Scheme; IIS and Symfony route on X-Original-URL and X-Rewrite-URL): only a
// trusted proxy may send them. The length test keeps the common case to one comparison.
bool proxy_only_field(std::string_view n) noexcept {
  if (n.size() < 13 || n.size() > 18 || (n[0] | 0x20) != 'x' || n[1] != '-') return false;
  return iequals(n, "X-Forwarded-Port") || iequals(n, "X-Forwarded-Prefix") || iequals(n, "X-Forwarded-Ssl") ||
         iequals(n, "X-Forwarded-Scheme") || iequals(n, "X-Forwarded-Server") || iequals(n, "X-Original-URL") ||
         iequals(n, "X-Rewrite-URL");
}

// Fields that describe one connection (RFC 9110 §7.6.1), plus Content-Length: the serializer
// writes the framing of the message it sends (RFC 9112 §6).
bool is_connection_specific(std::string_view name) noexcept {
  // By length first: this runs for every field of every message the proxy forwards.
  switch (name.size()) {
    case 2: return iequals(name, "TE");
    case 7: return iequals(name, "Upgrade");
    case 10: return iequals(name, "Connection") || iequals(name, "Keep-Alive");
    case 14: return iequals(name, "Content-Length");
    case 16: return iequals(name, "Proxy-Connection");
    case 17: return iequals(name, "Transfer-Encoding");
    case 18: return iequals(name, "Proxy-Authenticate");
    case 19: return iequals(name, "Proxy-Authorization");
    default: return false;
  }
}

// `name` is one of the comma-separated connection-options of a Connection field value.
bool listed_in(std::string_view value, std::string_view name) noexcept {
  while (true) {
    const std::size_t comma = value.find(',');
    if (iequals(trim_ows(value.substr(0, comma)), name)) return true;
    if (comma == std::string_view::npos) return false;
    value.remove_prefix(comma + 1);
  }
}

bool named_by_connection(std::string_view name, const http::HeaderList& all) noexcept {
  for (const http::Header& h : all)
    if (iequals(h.name, "Connection") && listed_in(h.value, name)) return true;
  return false;
}

// Hop-by-hop test. The common Connection values ("keep-alive", "close", "upgrade") name fields
// that are hop-by-hop anyway, so the Connection fields are searched only when some value lists
// anything else.
bool hop_by_hop(std::string_view name, const http::HeaderList& all, bool has_options) noexcept {
  return is_connection_specific(name) || (has_options && named_by_connection(name, all));
}

// Whether any Connection field lists an option other than keep-alive / close / upgrade.
bool has_connection_options(const http::HeaderList& all) noexcept {
  for (const http::Header& h : all) {
    if (!iequals(h.name, "Connection")) continue;
    std::string_view v = h.value;
    while (!v.empty()) {
      const std::size_t comma = v.find(',');
      const std::string_view t = trim_ows(v.substr(0, comma));
      if (!t.empty() && !iequals(t, "keep-alive") && !iequals(t, "close") && !iequals(t, "upgrade")) return true;
      if (comma == std::string_view::npos) break;
      v.remove_prefix(comma + 1);
    }
  }
  return false;
}

// The peer's address as X-Forwarded-For writes it: "192.0.2.1", "2001:db8::1"; an IPv4-mapped
// IPv6 peer ("::ffff:192.0.2.1", a dual-stack listener) as its IPv4 address.
std::string peer_ip(const io::SockAddr& a) {
  if (a.family() == AF_INET6) {
    const auto* v6 = reinterpret_cast<const sockaddr_in6*>(a.get());
    if (IN6_IS_ADDR_V4MAPPED(&v6->sin6_addr)) {
      char buf[INET_ADDRSTRLEN] = {0};
      inet_ntop(AF_INET, &v6->sin6_addr.s6_addr[12], buf, sizeof buf);
      return buf;
    }
  }
  return a.ip();
}

// "1.1 gw-proxy" appended to the last Via field of `out`, or a new Via field
// (RFC 9110 §7.6.3: each intermediary appends its entry to the list).
void add_via(FieldList& out, std::size_t last_via, http::Version v, std::string_view pseudonym) {
  const std::string_view version = v == http::Version::http10 ? "1.0 " : "1.1 ";
  char buf[256];
  std::string tmp;  // only for a long pseudonym or a long incoming Via
  std::string_view prior = last_via < out.size() ? trim_ows(out[last_via].value) : std::string_view();
  const std::size_t need = prior.size() + 2 + version.size() + pseudonym.size();
  char* p = buf;
  if (need > sizeof buf) {
    tmp.resize(need);
    p = tmp.data();
  }
  std::size_t n = 0;
  auto put = [&](std::string_view x) {
    std::memcpy(p + n, x.data(), x.size());
    n += x.size();
  };
  if (!prior.empty()) {
    put(prior);
    put(", ");
  }
  put(version);
  put(pseudonym);
  const std::string_view value = out.keep(std::string_view(p, n));
  if (last_via < out.size()) out[last_via].value = value;
  else out.add_view("Via", value);
}

// RFC 7239 §4: forwarded-pair = token "=" value, value = token / quoted-string. A host with
// ':' or '[' (a port, an IPv6 literal) is not a token and is quoted; valid_host_port() left no
// '"' or '\\' in it.
void append_forwarded_value(std::string& out, std::string_view v) {
  const bool quote = v.find_first_of(":[]") != std::string_view::npos;
  if (quote) out.push_back('"');
  out.append(v);
  if (quote) out.push_back('"');
}

// One forwarded-element for this hop: for=<client>;proto=<scheme>[;host=<Host>]. RFC 7239 §6:
// an IPv6 node is "[...]" in a quoted-string.
void append_forwarded_element(std::string& out, const std::string& ip, const ForwardedInfo& info) {
  out.append("for=");
  if (ip.empty()) out.append("unknown");  // §6.2: the client is not known
  else if (ip.find(':') != std::string::npos) out.append("\"[").append(ip).append("]\"");
  else out.append(ip);
  out.append(info.tls ? ";proto=https" : ";proto=http");
  if (!info.host.empty() && valid_host_port(info.host)) {
    out.append(";host=");
    append_forwarded_value(out, info.host);
  }
}

bool parse_ip(const std::string& s, int& family, std::uint8_t (&addr)[16]) {
  std::memset(addr, 0, sizeof addr);
  if (inet_pton(AF_INET, s.c_str(), addr) == 1) {
    family = AF_INET;
    return true;
  }
  if (inet_pton(AF_INET6, s.c_str(), addr) == 1) {
    family = AF_INET6;
    return true;
  }
  return false;
}

bool prefix_equal(const std::uint8_t* a, const std::uint8_t* b, int bits) noexcept {
  const int bytes = bits / 8;
  if (std::memcmp(a, b, static_cast<std::size_t>(bytes)) != 0) return false;
  const int rest = bits % 8;
  if (rest == 0) return true;
  const auto mask = static_cast<std::uint8_t>(0xFF << (8 - rest));
  return (a[bytes] & mask) == (b[bytes] & mask);
}

constexpr std::uint8_t kV4MappedPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF};

}  // namespace

// ---------------------------------------------------------------------------------------------
// CidrSet

Result<CidrSet> CidrSet::parse(const std::vector<std::string>& cidrs) {
  CidrSet set;
  set.nets_.reserve(cidrs.size());
  for (const std::string& c : cidrs) {
    const std::size_t slash = c.find('/');
    Net n;
    if (!parse_ip(c.substr(0, slash), n.family, n.addr))
      return make_error(Errc::invalid_argument, "\"" + escape_for_log(c) + "\": expected an IP address or CIDR");
    const int bits = n.family == AF_INET ? 32 : 128;
    n.prefix = bits;
    if (slash != std::string::npos) {
      auto p = parse_u64(std::string_view(c).substr(slash + 1), static_cast<std::uint64_t>(bits));
      if (!p)
        return make_error(Errc::invalid_argument,
                          "\"" + escape_for_log(c) + "\": prefix length must be 0.." + std::to_string(bits));
      n.prefix = static_cast<int>(*p);
    }
    // "::ffff:10.0.0.0/104" is the IPv4 net 10.0.0.0/8.
    if (n.family == AF_INET6 && n.prefix >= 96 && std::memcmp(n.addr, kV4MappedPrefix, 12) == 0) {
      std::memmove(n.addr, n.addr + 12, 4);
      std::memset(n.addr + 4, 0, 12);
      n.family = AF_INET;
      n.prefix -= 96;
    }
    set.nets_.push_back(n);
  }
  return set;
}

bool CidrSet::contains(const io::SockAddr& a) const noexcept {
  const std::uint8_t* bytes = nullptr;
  int family = a.family();
  if (family == AF_INET) {
    bytes = reinterpret_cast<const std::uint8_t*>(&reinterpret_cast<const sockaddr_in*>(a.get())->sin_addr);
  } else if (family == AF_INET6) {
    bytes = reinterpret_cast<const sockaddr_in6*>(a.get())->sin6_addr.s6_addr;
    if (std::memcmp(bytes, kV4MappedPrefix, 12) == 0) {  // "::ffff:1.2.3.4" is 1.2.3.4
      bytes += 12;
      family = AF_INET;
    }
  } else {
    return false;
  }
  for (const Net& n : nets_)
    if (n.family == family && prefix_equal(bytes, n.addr, n.prefix)) return true;
  return false;
}

// ---------------------------------------------------------------------------------------------

bool is_hop_by_hop(std::string_view name, const http::HeaderList& all) noexcept {
  return is_connection_specific(name) || named_by_connection(name, all);
}

namespace {
// "00".."ff": two hex digits per byte in one lookup.
constexpr std::array<char, 512> make_hex_pairs() {
  std::array<char, 512> t{};
  constexpr char kHex[] = "0123456789abcdef";
  for (int b = 0; b < 256; ++b) {
    t[static_cast<std::size_t>(2 * b)] = kHex[b >> 4];
    t[static_cast<std::size_t>(2 * b + 1)] = kHex[b & 0xF];
  }
  return t;
}
constexpr std::array<char, 512> kHexPairs = make_hex_pairs();
}  // namespace

void generate_request_id(std::mt19937_64& rng, char (&out)[36]) {
  std::uint64_t hi = rng(), lo = rng();
  hi = (hi & ~0xF000ULL) | 0x4000ULL;                                 // version 4
  lo = (lo & ~(0xC000ULL << 48)) | (0x8000ULL << 48);                 // variant 10xx (RFC 4122 §4.1.1)
  // 8-4-4-4-12: byte i of the 16 goes to these offsets (two hex digits each).
  static constexpr std::uint8_t kAt[16] = {0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34};
  for (int i = 0; i < 16; ++i) {
    const std::uint64_t w = i < 8 ? hi : lo;
    const unsigned b = static_cast<unsigned>(w >> (8 * (7 - (i & 7)))) & 0xFF;
    std::memcpy(out + kAt[i], kHexPairs.data() + 2 * b, 2);
  }
  out[8] = out[13] = out[18] = out[23] = '-';
}

std::string generate_request_id(std::mt19937_64& rng) {
  char buf[36];
  generate_request_id(rng, buf);
  return std::string(buf, sizeof buf);
}

bool valid_request_id(std::string_view id) noexcept {
  if (id.empty() || id.size() > kMaxRequestIdBytes) return false;
  for (char c : id)
    if (c < 0x21 || c > 0x7e) return false;
  return true;
}

std::string_view build_upstream_request_fields(const http::HeaderList& in, const ForwardedInfo& info,
                                               const ProxyBehaviour& behaviour, std::mt19937_64& rng, FieldList& out) {
  out.reserve(out.size() + in.size() + 5);
  const bool has_connection = has_connection_options(in);
  const bool xf = behaviour.x_forwarded;
  const std::string_view id_name = behaviour.request_id.header;

  std::size_t last_via = SIZE_MAX;
  std::string xff;                          // the trusted peer's X-Forwarded-For, all lines joined
  std::optional<std::string_view> xf_proto;  // kept from a trusted peer
  std::optional<std::string_view> xf_host;
  std::optional<std::string_view> incoming_id;
  std::string forwarded;  // the trusted peer's Forwarded, all lines joined

  // The incoming fields are views into the request, which outlives the upstream request.
  for (const http::Header& h : in) {
    if (hop_by_hop(h.name, in, has_connection) || iequals(h.name, "Host")) continue;
    // "X_Real_IP" is X-Real-IP to a CGI, PHP-FPM or WSGI upstream (both become HTTP_X_REAL_IP),
    // so names with '_' are dropped unless configured (as NGINX does by default).
    if (!behaviour.underscores_in_headers && h.name.find('_') != std::string_view::npos) continue;
    if (!info.trusted_peer && proxy_only_field(h.name)) continue;
    // x_forwarded off: none are added, a trusted proxy's pass unchanged, anyone else's are
    // removed (they would be believed upstream as if a proxy had written them).
    if (!xf && !info.trusted_peer && (iequals(h.name, kXff) || iequals(h.name, kXfProto) || iequals(h.name, kXfHost)))
      continue;
    if (xf && iequals(h.name, kXff)) {
      if (info.trusted_peer && !trim_ows(h.value).empty()) {
        if (!xff.empty()) xff.append(", ");  // several lines are one list (RFC 9110 §5.3)
        xff.append(h.value);
      }
      continue;
    }
    if (xf && iequals(h.name, kXfProto)) {
      if (info.trusted_peer && !xf_proto) xf_proto = h.value;
      continue;
    }
    if (xf && iequals(h.name, kXfHost)) {
      if (info.trusted_peer && !xf_host) xf_host = h.value;
      continue;
    }
    // Forwarded (RFC 7239) and X-Real-IP say who the client is, as X-Forwarded-For does: only
    // a trusted proxy is believed, anyone else's are removed (RFC 7239 §8.1).
    if (iequals(h.name, kForwarded)) {
      if (info.trusted_peer && !trim_ows(h.value).empty()) {
        if (!forwarded.empty()) forwarded.append(", ");  // RFC 7239 §4: one list over all lines
        forwarded.append(trim_ows(h.value));
      }
      continue;
    }
    if (iequals(h.name, kXRealIp)) {
      if (info.trusted_peer) out.add_view(h.name, h.value);
      continue;
    }
    if (iequals(h.name, id_name)) {
      if (!incoming_id) incoming_id = h.value;
      continue;
    }
    if (iequals(h.name, "Via")) last_via = out.size();
    out.add_view(h.name, h.value);
  }

  if (!behaviour.via.empty()) add_via(out, last_via, info.version, behaviour.via);

  if (xf) {
    const std::string ip = peer_ip(info.peer);
    if (!ip.empty()) {
      if (!xff.empty()) xff.append(", ");
      xff.append(ip);
    }
    if (!xff.empty()) out.add(kXff, xff);
    if (xf_proto) out.add_view(kXfProto, *xf_proto);
    else out.add_view(kXfProto, info.tls ? "https" : "http");
    if (xf_host) out.add_view(kXfHost, *xf_host);
    else if (!info.host.empty()) out.add_view(kXfHost, info.host);
  }

  if (behaviour.forwarded) {
    if (!forwarded.empty()) forwarded.append(", ");
    append_forwarded_element(forwarded, peer_ip(info.peer), info);
  }
  if (!forwarded.empty()) out.add(kForwarded, forwarded);

  // A client's request id is kept from a trusted proxy (or from anyone with trust_incoming),
  // and only when it is short, visible ASCII: it goes into logs, traces and other services.
  std::string_view id;
  if ((info.trusted_peer || behaviour.request_id.trust_incoming) && incoming_id && valid_request_id(*incoming_id)) {
    id = *incoming_id;
  } else if (behaviour.request_id.generate) {
    char buf[36];
    generate_request_id(rng, buf);
    id = out.keep(std::string_view(buf, sizeof buf));
  }
  if (!id.empty()) out.add_view(id_name, id);
  return id;
}

void build_downstream_response_fields(const http::HeaderList& in, http::Version version_of_upstream,
                                      const ProxyBehaviour& behaviour, FieldList& out) {
  out.reserve(out.size() + in.size() + 1);
  const bool has_connection = has_connection_options(in);
  std::size_t last_via = SIZE_MAX;
  for (const http::Header& h : in) {
    if (hop_by_hop(h.name, in, has_connection)) continue;
    if (iequals(h.name, "Via")) last_via = out.size();
    out.add_view(h.name, h.value);
  }
  if (!behaviour.via.empty()) add_via(out, last_via, version_of_upstream, behaviour.via);
}

void apply_header_edits(const HeaderEdits& edits, FieldList& fields) {
  for (const std::string& name : edits.remove) fields.remove(name);
  for (const auto& [name, value] : edits.set) fields.set(name, value);
  for (const auto& [name, value] : edits.add) fields.add(name, value);
}

namespace {
constexpr std::array<bool, 256> make_host_table() {
  std::array<bool, 256> t{};
  for (int c = '0'; c <= '9'; ++c) t[static_cast<std::size_t>(c)] = true;
  for (int c = 'a'; c <= 'z'; ++c) t[static_cast<std::size_t>(c)] = true;
  for (int c = 'A'; c <= 'Z'; ++c) t[static_cast<std::size_t>(c)] = true;
  for (char c : std::string_view("-._~")) t[static_cast<unsigned char>(c)] = true;
  return t;
}
constexpr std::array<bool, 256> kHostChar = make_host_table();
}  // namespace

bool valid_host_port(std::string_view h) noexcept {
  if (h.empty()) return false;
  std::size_t i = 0;
  if (h[0] == '[') {  // IP-literal: hex digits, ':', '.' (IPv4-mapped), up to ']'
    const std::size_t close = h.find(']');
    if (close == std::string_view::npos || close < 3) return false;
    for (i = 1; i < close; ++i) {
      const char c = h[i];
      if (!(std::isxdigit(static_cast<unsigned char>(c)) || c == ':' || c == '.')) return false;
    }
    i = close + 1;
  } else {
    for (; i < h.size() && h[i] != ':'; ++i) {
      const char c = h[i];
      if (!kHostChar[static_cast<unsigned char>(c)]) return false;
    }
    if (i == 0) return false;  // ":80"
  }
  if (i == h.size()) return true;
  if (h[i] != ':' || i + 1 == h.size() || h.size() - i - 1 > 5) return false;
  for (++i; i < h.size(); ++i)
    if (h[i] < '0' || h[i] > '9') return false;
  return true;
}

// ---- FieldList ----

// Arena chunks: a header, then the bytes. Written by hand rather than with
// std::pmr::monotonic_buffer_resource because moving that resource is not allowed and the list
// must move (a filter's respond() takes it by value).
struct FieldList::Chunk {
  Chunk* next;
  std::size_t cap;
  std::size_t used;
  char* data() noexcept { return reinterpret_cast<char*>(this + 1); }
};

FieldList::FieldList(std::initializer_list<std::pair<std::string_view, std::string_view>> init) {
  f_.reserve(init.size());
  for (const auto& [n, v] : init) add(n, v);
}

FieldList::FieldList(FieldList&& o) noexcept : f_(std::move(o.f_)), chunks_(o.chunks_) { o.chunks_ = nullptr; }

FieldList& FieldList::operator=(FieldList&& o) noexcept {
  if (this != &o) {
    this->~FieldList();
    new (this) FieldList(std::move(o));
  }
  return *this;
}

FieldList::~FieldList() {
  while (chunks_) {
    Chunk* next = chunks_->next;
    ::operator delete(chunks_);
    chunks_ = next;
  }
}

std::string_view FieldList::keep(std::string_view s) {
  if (s.empty()) return {};
  if (chunks_ == nullptr || chunks_->cap - chunks_->used < s.size()) {
    const std::size_t cap = std::max<std::size_t>(512, s.size());
    auto* c = static_cast<Chunk*>(::operator new(sizeof(Chunk) + cap));
    c->next = chunks_;
    c->cap = cap;
    c->used = 0;
    chunks_ = c;
  }
  char* p = chunks_->data() + chunks_->used;
  std::memcpy(p, s.data(), s.size());
  chunks_->used += s.size();
  return {p, s.size()};
}

void FieldList::clear() noexcept {
  f_.clear();
  if (!chunks_) return;
  // Keep the newest chunk only.
  Chunk* keep_chunk = chunks_;
  Chunk* c = chunks_->next;
  while (c) {
    Chunk* next = c->next;
    ::operator delete(c);
    c = next;
  }
  keep_chunk->next = nullptr;
  keep_chunk->used = 0;
  chunks_ = keep_chunk;
}

void FieldList::set(std::string_view name, std::string_view value) {
  auto first = std::find_if(f_.begin(), f_.end(), [&](const http::Header& h) { return iequals(h.name, name); });
  if (first == f_.end()) {
    add(name, value);
    return;
  }
  first->value = keep(value);
  f_.erase(std::remove_if(first + 1, f_.end(), [&](const http::Header& h) { return iequals(h.name, name); }), f_.end());
}

std::size_t FieldList::remove(std::string_view name) {
  return std::erase_if(f_, [&](const http::Header& h) { return iequals(h.name, name); });
}

std::optional<std::string_view> FieldList::get(std::string_view name) const noexcept {
  for (const http::Header& h : f_)
    if (iequals(h.name, name)) return h.value;
  return std::nullopt;
}

bool operator==(const FieldList& a, const FieldList& b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (a[i].name != b[i].name || a[i].value != b[i].value) return false;
  return true;
}

}  // namespace pw::proxy

namespace pw::proxy {

namespace {
// One X-Forwarded-For entry as an address: "192.0.2.7", "2001:db8::1", "[2001:db8::1]" (with
// an optional ":port" after either form, which some proxies write).
std::optional<io::SockAddr> xff_entry(std::string_view s) {
  if (s.empty()) return std::nullopt;
  if (s.front() == '[') {
    const auto close = s.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    s = s.substr(1, close - 1);
  } else if (std::count(s.begin(), s.end(), ':') == 1) {
    s = s.substr(0, s.find(':'));  // "192.0.2.7:5000"
  }
  auto a = io::SockAddr::from_ip_port(s, 0);
  if (!a) return std::nullopt;
  return *a;
}
}  // namespace

std::string client_ip(const http::HeaderList& headers, const io::SockAddr& peer, const CidrSet& trusted) {
  io::SockAddr client = peer;
  if (trusted.empty() || !trusted.contains(peer)) return client.ip();
  // The entries of every X-Forwarded-For field, in order (RFC 9110 §5.3: repeated fields are
  // one comma-separated list), walked from the right. The last trusted hop was appended by the
  // peer; an entry left of an untrusted one is whatever that client wrote.
  std::vector<std::string_view> hops;
  for (const http::Header& h : headers) {
    if (!iequals(h.name, "x-forwarded-for")) continue;
    std::string_view v = h.value;
    while (!v.empty()) {
      const auto comma = v.find(',');
      std::string_view item = v.substr(0, comma);
      while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
      while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
      hops.push_back(item);  // bounded by the listener's header limits
      if (comma == std::string_view::npos) break;
      v.remove_prefix(comma + 1);
    }
  }
  for (auto it = hops.rbegin(); it != hops.rend(); ++it) {
    auto a = xff_entry(*it);
    if (!a) break;  // not an address: keep the last trusted hop
    client = *a;
    if (!trusted.contains(client)) break;
  }
  return client.ip();
}

}  // namespace pw::proxy
