// Names in certificates, as pure functions: SPIFFE IDs (SPIFFE-ID and X509-SVID specs), DNS
// names, IP addresses and CIDR ranges, RFC 5280 §4.2.1.10 name-constraint matching, and the
// glob patterns of certctl's issuance policies.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pw/base/result.h"

namespace pw::pki {

// A SPIFFE ID: "spiffe://" (scheme lowercase), a trust domain of [a-z0-9.-_] (no upper case, no
// port, no user info, at most 255 bytes), then a path of "/segment"s of [A-Za-z0-9.-_], no empty
// segment, no "." or "..", no trailing "/"; no query or fragment; at most 2048 bytes.
// With require_path (a leaf's X509-SVID), the path must not be empty. The error says what is wrong.
Status validate_spiffe_id(std::string_view id, bool require_path = true);
std::string_view spiffe_trust_domain(std::string_view id) noexcept;  // "" if not spiffe://

// A host name for a DNS SAN: LDH labels of 1..63 bytes, at most 253 bytes, no trailing dot;
// "*." as the whole first label when allow_wildcard. Upper case is refused (certificates carry
// lower case; the caller lowers). Error says what is wrong.
Status validate_dns_name(std::string_view name, bool allow_wildcard = true);

// An IPv4 or IPv6 address in network byte order (4 or 16 bytes).
struct IpAddress {
  std::string bytes;
  std::string to_string() const;
  bool operator==(const IpAddress&) const = default;
};
std::optional<IpAddress> parse_ip(std::string_view text) noexcept;
struct IpRange {
  IpAddress base;  // host bits cleared
  int prefix = 0;
  std::string to_string() const;  // "10.0.0.0/8"
  std::string mask_bytes() const;
  bool contains(const IpAddress& a) const noexcept;
};
// "10.0.0.0/8", "fd00::/8"; a bare address is a /32 or /128. Host bits must be zero.
Result<IpRange> parse_ip_range(std::string_view text);

// A URI SAN as far as name constraints and policy care: scheme and host.
struct UriParts {
  std::string scheme;
  std::string host;
};
// Absolute URIs with an authority only ("spiffe://td/x", "https://h:1/p"); error otherwise.
Result<UriParts> split_uri(std::string_view uri);
// A URI SAN: absolute, printable ASCII without spaces, commas or control bytes, at most 2048.
Status validate_uri(std::string_view uri);

// RFC 5280 §4.2.1.10, as OpenSSL applies it: a DNS constraint "example.com" matches that name
// and every name under it; ".example.com" only names under it. Case-insensitive.
bool dns_matches_constraint(std::string_view name, std::string_view constraint) noexcept;
// URI constraints apply to the host: "example.org" the host itself; ".example.org" hosts under it.
bool uri_host_matches_constraint(std::string_view host, std::string_view constraint) noexcept;

struct NameConstraints {
  std::vector<std::string> permitted_dns, excluded_dns;
  std::vector<IpRange> permitted_ip, excluded_ip;
  std::vector<std::string> permitted_uri, excluded_uri;  // host constraints
  bool empty() const noexcept;
};

// The constraints of a CA that cannot sign for the public internet: DNS names under the
// special-use and private TLDs (localhost, local, internal, home.arpa, test, lan, corp, intranet,
// private), and the private, loopback, link-local, shared and ULA address ranges.
NameConstraints private_name_constraints();

// The names a certificate asks for.
struct SubjectNames {
  std::vector<std::string> dns;
  std::vector<IpAddress> ips;
  std::vector<std::string> uris;
  std::vector<std::string> emails;
};
// Every name that the constraints refuse, as "DNS:evil.com is not within the permitted names"
// messages; empty when all are allowed.
std::vector<std::string> check_name_constraints(const NameConstraints& nc, const SubjectNames& names);

// Policy glob: '*' matches any run of bytes other than `sep` (and at least one byte); every other
// byte matches itself (case-insensitive for DNS, exact for SPIFFE IDs). "**" matches across sep.
//   glob_match("spiffe://example.org/ns/*/sa/web", "spiffe://example.org/ns/prod/sa/web", '/')
//   glob_match("*.svc.internal", "api.svc.internal", '.', true)
bool glob_match(std::string_view pattern, std::string_view text, char sep, bool ignore_case = false) noexcept;

}  // namespace pw::pki
