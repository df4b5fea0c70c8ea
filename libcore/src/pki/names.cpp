#include "pw/pki/names.h"

#include <arpa/inet.h>

#include <cstring>

#include "pw/base/strings.h"

namespace pw::pki {

namespace {

bool is_td_char(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_';
}
bool is_path_char(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-' ||
         c == '_';
}
Error bad(std::string_view what, std::string_view value, std::string_view why) {
  return make_error(Errc::invalid_argument,
                    std::string(what) + " \"" + escape_for_log(value, 128) + "\": " + std::string(why));
}

bool ends_with_ci(std::string_view s, std::string_view suffix) noexcept {
  return s.size() >= suffix.size() && iequals(s.substr(s.size() - suffix.size()), suffix);
}

}  // namespace

Status validate_spiffe_id(std::string_view id, bool require_path) {
  constexpr std::string_view kScheme = "spiffe://";
  if (id.size() > 2048) return bad("SPIFFE ID", id, "longer than 2048 bytes");
  if (id.substr(0, kScheme.size()) != kScheme) {
    if (iequals(id.substr(0, kScheme.size()), kScheme))
      return bad("SPIFFE ID", id, "the scheme must be lower case \"spiffe://\"");
    return bad("SPIFFE ID", id, "must start with \"spiffe://\"");
  }
  std::string_view rest = id.substr(kScheme.size());
  std::size_t slash = rest.find('/');
  std::string_view td = rest.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? std::string_view() : rest.substr(slash);
  if (td.empty()) return bad("SPIFFE ID", id, "the trust domain is empty");
  if (td.size() > 255) return bad("SPIFFE ID", id, "the trust domain is longer than 255 bytes");
  for (char c : td) {
    if (c == ':') return bad("SPIFFE ID", id, "the trust domain must not have a port");
    if (c == '@') return bad("SPIFFE ID", id, "the trust domain must not have user info");
    if (c >= 'A' && c <= 'Z') return bad("SPIFFE ID", id, "the trust domain must be lower case");
    if (c == '?' || c == '#') return bad("SPIFFE ID", id, "a query or fragment is not allowed");
    if (!is_td_char(c))
      return bad("SPIFFE ID", id, "the trust domain may only have letters a-z, digits, '.', '-' and '_'");
  }
  if (path.empty()) {
    if (require_path) return bad("SPIFFE ID", id, "a workload's SPIFFE ID needs a path (spiffe://" + std::string(td) + "/...)");
    return {};
  }
  // path starts with '/'
  std::size_t i = 1;
  while (true) {
    std::size_t next = path.find('/', i);
    std::string_view seg = path.substr(i, next == std::string_view::npos ? std::string_view::npos : next - i);
    if (seg.empty()) {
      if (next == std::string_view::npos) return bad("SPIFFE ID", id, "the path must not end with '/'");
      return bad("SPIFFE ID", id, "the path must not have empty segments");
    }
    if (seg == "." || seg == "..") return bad("SPIFFE ID", id, "the path must not have '.' or '..' segments");
    for (char c : seg) {
      if (c == '?' || c == '#') return bad("SPIFFE ID", id, "a query or fragment is not allowed");
      if (c == '%') return bad("SPIFFE ID", id, "percent-encoding is not allowed in the path");
      if (!is_path_char(c))
        return bad("SPIFFE ID", id, "path segments may only have letters, digits, '.', '-' and '_'");
    }
    if (next == std::string_view::npos) break;
    i = next + 1;
  }
  return {};
}

std::string_view spiffe_trust_domain(std::string_view id) noexcept {
  constexpr std::string_view kScheme = "spiffe://";
  if (id.substr(0, kScheme.size()) != kScheme) return {};
  std::string_view rest = id.substr(kScheme.size());
  return rest.substr(0, rest.find('/'));
}

Status validate_dns_name(std::string_view name, bool allow_wildcard) {
  if (name.empty()) return bad("DNS name", name, "empty");
  if (name.size() > 253) return bad("DNS name", name, "longer than 253 bytes");
  if (name.back() == '.') return bad("DNS name", name, "must not end with '.'");
  std::size_t start = 0;
  bool first = true;
  while (start <= name.size()) {
    std::size_t dot = name.find('.', start);
    std::string_view label = name.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (label.empty()) return bad("DNS name", name, "has an empty label");
    if (label.size() > 63) return bad("DNS name", name, "has a label longer than 63 bytes");
    if (label == "*") {
      if (!first) return bad("DNS name", name, "'*' is allowed only as the whole first label");
      if (!allow_wildcard) return bad("DNS name", name, "wildcards are not allowed here");
      if (dot == std::string_view::npos) return bad("DNS name", name, "a wildcard needs a domain after \"*.\"");
    } else {
      for (char c : label) {
        if (c >= 'A' && c <= 'Z') return bad("DNS name", name, "must be lower case");
        if (c == '*') return bad("DNS name", name, "'*' is allowed only as the whole first label");
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
          return bad("DNS name", name, "labels may only have letters, digits and '-'");
      }
      if (label.front() == '-' || label.back() == '-')
        return bad("DNS name", name, "a label must not start or end with '-'");
    }
    first = false;
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return {};
}

std::string IpAddress::to_string() const {
  char buf[INET6_ADDRSTRLEN] = {};
  if (bytes.size() == 4) inet_ntop(AF_INET, bytes.data(), buf, sizeof buf);
  else if (bytes.size() == 16) inet_ntop(AF_INET6, bytes.data(), buf, sizeof buf);
  return buf;
}

std::optional<IpAddress> parse_ip(std::string_view text) noexcept {
  if (text.empty() || text.size() >= INET6_ADDRSTRLEN) return std::nullopt;
  char buf[INET6_ADDRSTRLEN] = {};
  std::memcpy(buf, text.data(), text.size());
  unsigned char out[16];
  if (inet_pton(AF_INET, buf, out) == 1) return IpAddress{std::string(reinterpret_cast<char*>(out), 4)};
  if (inet_pton(AF_INET6, buf, out) == 1) return IpAddress{std::string(reinterpret_cast<char*>(out), 16)};
  return std::nullopt;
}

std::string IpRange::to_string() const { return base.to_string() + "/" + std::to_string(prefix); }

std::string IpRange::mask_bytes() const {
  std::string m(base.bytes.size(), '\0');
  for (int i = 0; i < prefix; ++i) m[static_cast<std::size_t>(i / 8)] |= static_cast<char>(0x80 >> (i % 8));
  return m;
}

bool IpRange::contains(const IpAddress& a) const noexcept {
  if (a.bytes.size() != base.bytes.size()) return false;
  std::string m = mask_bytes();
  for (std::size_t i = 0; i < m.size(); ++i)
    if ((a.bytes[i] & m[i]) != (base.bytes[i] & m[i])) return false;
  return true;
}

Result<IpRange> parse_ip_range(std::string_view text) {
  std::size_t slash = text.find('/');
  auto ip = parse_ip(text.substr(0, slash));
  if (!ip) return bad("IP range", text, "not an IPv4 or IPv6 address");
  int max = static_cast<int>(ip->bytes.size() * 8);
  int prefix = max;
  if (slash != std::string_view::npos) {
    auto p = parse_u64(text.substr(slash + 1), static_cast<std::uint64_t>(max));
    if (!p) return bad("IP range", text, "the prefix length must be 0.." + std::to_string(max));
    prefix = static_cast<int>(*p);
  }
  IpRange r{*ip, prefix};
  std::string m = r.mask_bytes();
  for (std::size_t i = 0; i < m.size(); ++i)
    if ((ip->bytes[i] & ~m[i]) != 0)
      return bad("IP range", text, "host bits are set (did you mean " + IpRange{[&] {
                                     IpAddress b = *ip;
                                     for (std::size_t k = 0; k < m.size(); ++k) b.bytes[k] &= m[k];
                                     return b;
                                   }(), prefix}.to_string() + "?)");
  return r;
}

Status validate_uri(std::string_view uri) {
  if (uri.empty()) return bad("URI", uri, "empty");
  if (uri.size() > 2048) return bad("URI", uri, "longer than 2048 bytes");
  for (char c : uri) {
    auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f) return bad("URI", uri, "only printable ASCII without spaces is allowed");
    if (c == ',') return bad("URI", uri, "commas are not allowed");
  }
  auto parts = split_uri(uri);
  if (!parts) return std::move(parts).error();
  return {};
}

Result<UriParts> split_uri(std::string_view uri) {
  std::size_t colon = uri.find("://");
  if (colon == std::string_view::npos || colon == 0) return bad("URI", uri, "expected scheme://host/...");
  UriParts p;
  p.scheme = to_lower(uri.substr(0, colon));
  for (char c : p.scheme)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.'))
      return bad("URI", uri, "invalid scheme");
  std::string_view auth = uri.substr(colon + 3);
  auth = auth.substr(0, auth.find_first_of("/?#"));
  if (auto at = auth.rfind('@'); at != std::string_view::npos) auth = auth.substr(at + 1);
  if (!auth.empty() && auth.front() == '[') {
    std::size_t close = auth.find(']');
    if (close == std::string_view::npos) return bad("URI", uri, "unclosed '[' in the host");
    p.host = std::string(auth.substr(1, close - 1));
  } else {
    p.host = to_lower(auth.substr(0, auth.find(':')));
  }
  if (p.host.empty()) return bad("URI", uri, "no host");
  return p;
}

bool dns_matches_constraint(std::string_view name, std::string_view c) noexcept {
  if (c.empty()) return true;
  if (c.front() == '.') return name.size() > c.size() && ends_with_ci(name, c);
  if (name.size() == c.size()) return iequals(name, c);
  return name.size() > c.size() && ends_with_ci(name, c) && name[name.size() - c.size() - 1] == '.';
}

bool uri_host_matches_constraint(std::string_view host, std::string_view c) noexcept {
  if (c.empty()) return true;
  if (c.front() == '.') return host.size() > c.size() && ends_with_ci(host, c);
  return iequals(host, c);
}

bool NameConstraints::empty() const noexcept {
  return permitted_dns.empty() && excluded_dns.empty() && permitted_ip.empty() && excluded_ip.empty() &&
         permitted_uri.empty() && excluded_uri.empty();
}

NameConstraints private_name_constraints() {
  NameConstraints nc;
  nc.permitted_dns = {"localhost", "internal", "local", "home.arpa", "test", "lan", "corp", "home"};
  for (const char* r : {"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "127.0.0.0/8", "100.64.0.0/10",
                        "169.254.0.0/16", "::1/128", "fc00::/7", "fe80::/10"})
    nc.permitted_ip.push_back(*parse_ip_range(r));
  return nc;
}

std::vector<std::string> check_name_constraints(const NameConstraints& nc, const SubjectNames& names) {
  std::vector<std::string> out;
  for (const auto& d : names.dns) {
    bool permitted = nc.permitted_dns.empty();
    for (const auto& c : nc.permitted_dns) permitted = permitted || dns_matches_constraint(d, c);
    if (!permitted) out.push_back("DNS:" + d + " is not within the CA's permitted DNS names");
    for (const auto& c : nc.excluded_dns)
      if (dns_matches_constraint(d, c)) out.push_back("DNS:" + d + " is within the CA's excluded name " + c);
  }
  for (const auto& ip : names.ips) {
    bool permitted = true;
    // OpenSSL applies IP constraints per family only when there is one of that family.
    bool any_family = false;
    for (const auto& r : nc.permitted_ip) {
      if (r.base.bytes.size() != ip.bytes.size()) continue;
      if (!any_family) permitted = false;
      any_family = true;
      permitted = permitted || r.contains(ip);
    }
    if (!nc.permitted_ip.empty() && !any_family) permitted = false;
    if (!permitted) out.push_back("IP:" + ip.to_string() + " is not within the CA's permitted IP ranges");
    for (const auto& r : nc.excluded_ip)
      if (r.contains(ip)) out.push_back("IP:" + ip.to_string() + " is within the CA's excluded range " + r.to_string());
  }
  for (const auto& u : names.uris) {
    if (nc.permitted_uri.empty() && nc.excluded_uri.empty()) continue;
    auto parts = split_uri(u);
    if (!parts) {
      out.push_back("URI:" + u + " has no host to check against the CA's URI constraints");
      continue;
    }
    bool permitted = nc.permitted_uri.empty();
    for (const auto& c : nc.permitted_uri) permitted = permitted || uri_host_matches_constraint(parts->host, c);
    if (!permitted) out.push_back("URI:" + u + " is not within the CA's permitted URI domains");
    for (const auto& c : nc.excluded_uri)
      if (uri_host_matches_constraint(parts->host, c))
        out.push_back("URI:" + u + " is within the CA's excluded URI domain " + c);
  }
  return out;
}

bool glob_match(std::string_view pattern, std::string_view text, char sep, bool ignore_case) noexcept {
  // Dynamic programming over (pattern position, text position): linear in their product, so a
  // pattern with many stars cannot make matching exponential.
  struct Tok {
    int kind;  // 0 literal, 1 '*', 2 '**'
    char c;
  };
  std::vector<Tok> toks;
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] == '*') {
      if (i + 1 < pattern.size() && pattern[i + 1] == '*') {
        toks.push_back({2, 0});
        ++i;
      } else {
        toks.push_back({1, 0});
      }
    } else {
      toks.push_back({0, pattern[i]});
    }
  }
  const std::size_t m = toks.size(), n = text.size();
  if (m > 512 || n > 4096) return false;
  // cur[j]: tokens i.. match text j..; computed from i = m down to 0.
  std::vector<char> next(n + 1, 0), cur(n + 1, 0);
  next[n] = 1;  // empty pattern matches empty text
  for (std::size_t ii = m; ii-- > 0;) {
    const Tok& t = toks[ii];
    cur.assign(n + 1, 0);
    if (t.kind == 0) {
      for (std::size_t j = 0; j < n; ++j) {
        char a = text[j], b = t.c;
        bool eq = ignore_case ? ascii_lower(a) == ascii_lower(b) : a == b;
        cur[j] = eq && next[j + 1];
      }
    } else {
      // star: consume k >= 1 bytes (not sep for '*'), then next matches.
      // cur[j] = OR_{k>=1} (text[j..j+k) has no sep) && next[j+k]
      char acc = 0;  // OR of next[j+1..] reachable without crossing sep
      for (std::size_t j = n; j-- > 0;) {
        if (t.kind == 1 && text[j] == sep) {
          acc = 0;
          cur[j] = 0;
          continue;
        }
        acc = static_cast<char>(acc | next[j + 1]);
        cur[j] = acc;
      }
    }
    std::swap(cur, next);
  }
  return next[0] != 0;
}

}  // namespace pw::pki
