#include "policy.h"

#include <algorithm>

#include "pw/base/strings.h"
#include "util.h"

namespace certctl {

using namespace pw;

std::string join_messages(const std::vector<std::string>& msgs) {
  std::string out;
  for (const auto& m : msgs) out += (out.empty() ? "" : "; ") + m;
  return out;
}

Duration backdate_for(Duration lifetime) {
  auto tenth = std::chrono::duration_cast<std::chrono::seconds>(lifetime / 10);
  return std::min<Duration>(std::chrono::minutes(1), tenth);
}

std::vector<std::string> check_request_names(const LeafRequest& r) {
  std::vector<std::string> out;
  for (const auto& d : r.names.dns)
    if (Status st = pki::validate_dns_name(d); !st) out.push_back(st.error().message);
  std::size_t spiffe = 0;
  for (const auto& u : r.names.uris) {
    if (u.rfind("spiffe://", 0) == 0) {
      ++spiffe;
      if (Status st = pki::validate_spiffe_id(u); !st) out.push_back(st.error().message);
    } else if (Status st = pki::validate_uri(u); !st) {
      out.push_back(st.error().message);
    }
  }
  if (spiffe > 0 && r.names.uris.size() != 1)
    out.push_back("an X509-SVID has exactly one URI SAN, its SPIFFE ID (the request has " +
                  std::to_string(r.names.uris.size()) + ")");
  if (!r.names.emails.empty()) out.push_back("email addresses are not issued by certctl");
  if (r.names.dns.empty() && r.names.ips.empty() && r.names.uris.empty())
    out.push_back("the request has no subjectAltName (DNS name, IP address or URI)");
  if (!common_name_is_a_san(r))
    out.push_back("the common name \"" + r.common_name +
                  "\" is not one of the certificate's subjectAltNames (it must be empty or repeat one of them)");
  return out;
}

bool common_name_is_a_san(const LeafRequest& r) {
  // CA/Browser Forum Baseline Requirements §7.1.4.3 (subject:commonName): when present, it is
  // one of the subjectAltName values, byte for byte. A CN that is not a SAN is a name no policy
  // granted: a verifier that falls back to the CN (OpenSSL's default when there is no DNS SAN,
  // which RFC 9525 §6.3 forbids) would take a SPIFFE SVID with CN=redis for the host redis.
  if (r.common_name.empty()) return true;
  for (const auto& d : r.names.dns)
    if (d == r.common_name) return true;
  for (const auto& u : r.names.uris)
    if (u == r.common_name) return true;
  for (const auto& ip : r.names.ips)
    if (ip.to_string() == r.common_name) return true;
  return false;
}

void canonicalise_common_name(LeafRequest& r) {
  if (r.common_name.empty()) return;
  // DNS names are case-insensitive and certificates carry them in lower case.
  for (const auto& d : r.names.dns)
    if (iequals(d, r.common_name)) {
      r.common_name = d;
      return;
    }
  if (auto ip = pki::parse_ip(r.common_name))
    for (const auto& a : r.names.ips)
      if (a == *ip) {
        r.common_name = a.to_string();
        return;
      }
}

std::vector<std::string> check_policy(const Policy& p, const LeafRequest& r) {
  std::vector<std::string> out;
  std::string prof(pki::profile_name(r.profile));
  bool prof_ok = false;
  for (const auto& s : p.profiles) prof_ok = prof_ok || s == prof;
  if (!prof_ok) out.push_back("profile " + prof + " is not allowed");
  for (const auto& d : r.names.dns) {
    bool ok = false;
    for (const auto& pat : p.dns) ok = ok || pki::glob_match(pat, d, '.', true);
    if (!ok) out.push_back("DNS name " + d + " is not allowed by the policy");
  }
  for (const auto& ip : r.names.ips) {
    bool ok = false;
    for (const auto& c : p.ips)
      if (auto range = pki::parse_ip_range(c)) ok = ok || range->contains(ip);
    if (!ok) out.push_back("IP address " + ip.to_string() + " is not allowed by the policy");
  }
  for (const auto& u : r.names.uris) {
    bool spiffe = u.rfind("spiffe://", 0) == 0;
    bool ok = false;
    for (const auto& pat : spiffe ? p.spiffe_ids : p.uris) ok = ok || pki::glob_match(pat, u, '/');
    if (!ok) out.push_back(std::string(spiffe ? "SPIFFE ID " : "URI ") + u + " is not allowed by the policy");
  }
  // The common name is a name too: it must be one of the SANs just checked.
  if (!common_name_is_a_san(r))
    out.push_back("the common name \"" + r.common_name + "\" is not a name the policy granted");
  if (p.max_lifetime && r.lifetime > *p.max_lifetime)
    out.push_back("lifetime " + format_validity(r.lifetime) + " is longer than the policy's maximum " +
                  format_validity(*p.max_lifetime));
  return out;
}

}  // namespace certctl
