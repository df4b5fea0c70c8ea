#include "describe.h"

#include "pw/pki/names.h"

namespace certctl {

using namespace pw;

namespace {
std::vector<std::string> ranges(const std::vector<pki::IpRange>& v) {
  std::vector<std::string> s;
  for (const auto& r : v) s.push_back(r.to_string());
  return s;
}

std::string sans_text(const pki::SubjectNames& n) {
  std::string s;
  auto add = [&](const std::string& x) { s += (s.empty() ? "" : ", ") + x; };
  for (const auto& d : n.dns) add("DNS:" + d);
  for (const auto& i : n.ips) add("IP:" + i.to_string());
  for (const auto& u : n.uris) add("URI:" + u);
  for (const auto& e : n.emails) add("email:" + e);
  return s.empty() ? "(none)" : s;
}

std::string list_text(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
  return s;
}

std::string key_text(const pki::KeyInfo& k) {
  std::string s = k.algorithm;
  if (!k.curve.empty()) s += " " + k.curve;
  else if (k.algorithm == "RSA") s += " " + std::to_string(k.bits);
  return s + " (" + std::to_string(k.bits) + " bits)";
}
}  // namespace

Json cert_json(const pki::Certificate& c, WallTime now) {
  auto i = pki::describe(c);
  Json j = Json::object();
  j["subject"] = i.subject;
  j["issuer"] = i.issuer;
  j["serial"] = i.serial;
  j["version"] = i.version;
  j["not_before"] = format_time(i.not_before);
  j["not_after"] = format_time(i.not_after);
  j["seconds_left"] = std::chrono::duration_cast<std::chrono::seconds>(i.not_after - now).count();
  j["valid_now"] = now >= i.not_before && now < i.not_after;
  j["dns"] = i.names.dns;
  j["ip"] = ip_strings(i.names);
  j["uri"] = i.names.uris;
  j["email"] = i.names.emails;
  j["spiffe_id"] = i.spiffe_id;
  j["is_ca"] = i.is_ca;
  if (i.is_ca) j["path_len"] = i.path_len >= 0 ? Json(i.path_len) : Json(nullptr);
  j["self_signed"] = i.self_signed;
  j["key"] = {{"algorithm", i.key.algorithm}, {"bits", i.key.bits}, {"curve", i.key.curve}};
  j["signature_algorithm"] = i.signature_algorithm;
  j["key_usage"] = i.key_usage;
  j["ext_key_usage"] = i.ext_key_usage;
  const auto& nc = i.name_constraints;
  if (!nc.empty()) {
    j["name_constraints"] = {{"permitted_dns", nc.permitted_dns}, {"excluded_dns", nc.excluded_dns},
                             {"permitted_ip", ranges(nc.permitted_ip)}, {"excluded_ip", ranges(nc.excluded_ip)},
                             {"permitted_uri", nc.permitted_uri}, {"excluded_uri", nc.excluded_uri}};
  }
  j["subject_key_id"] = i.subject_key_id;
  j["authority_key_id"] = i.authority_key_id;
  j["sha256"] = i.sha256_fingerprint;
  j["sha1"] = i.sha1_fingerprint;
  if (!i.crl_distribution_points.empty()) j["crl_distribution_points"] = i.crl_distribution_points;
  Json exts = Json::array();
  for (const auto& e : i.extensions)
    exts.push_back({{"name", e.name}, {"oid", e.oid}, {"critical", e.critical}, {"value", e.value}});
  j["extensions"] = exts;
  return j;
}

void print_cert(std::ostream& out, const pki::Certificate& c, WallTime now) {
  auto i = pki::describe(c);
  out << "  Subject:        " << i.subject << '\n'
      << "  Issuer:         " << i.issuer << (i.self_signed ? " (self-signed)" : "") << '\n'
      << "  Serial:         " << i.serial << '\n'
      << "  Valid:          " << format_time(i.not_before) << " to " << format_time(i.not_after) << " ("
      << (now < i.not_before ? "not yet valid" : format_remaining(i.not_after, now) + (now < i.not_after ? " left" : ""))
      << ")\n"
      << "  Names:          " << sans_text(i.names) << '\n';
  if (!i.spiffe_id.empty()) out << "  SPIFFE ID:      " << i.spiffe_id << '\n';
  out << "  Key:            " << key_text(i.key) << '\n'
      << "  Signature:      " << i.signature_algorithm << '\n'
      << "  CA:             "
      << (i.is_ca ? (i.path_len >= 0 ? "yes, path length " + std::to_string(i.path_len) : std::string("yes")) : "no")
      << '\n';
  if (!i.key_usage.empty()) out << "  Key usage:      " << list_text(i.key_usage) << '\n';
  if (!i.ext_key_usage.empty()) out << "  Ext. key usage: " << list_text(i.ext_key_usage) << '\n';
  const auto& nc = i.name_constraints;
  if (!nc.empty()) {
    std::vector<std::string> p, x;
    for (const auto& d : nc.permitted_dns) p.push_back("DNS:" + d);
    for (const auto& r : nc.permitted_ip) p.push_back("IP:" + r.to_string());
    for (const auto& u : nc.permitted_uri) p.push_back("URI:" + u);
    for (const auto& d : nc.excluded_dns) x.push_back("DNS:" + d);
    for (const auto& r : nc.excluded_ip) x.push_back("IP:" + r.to_string());
    for (const auto& u : nc.excluded_uri) x.push_back("URI:" + u);
    if (!p.empty()) out << "  Permitted:      " << list_text(p) << '\n';
    if (!x.empty()) out << "  Excluded:       " << list_text(x) << '\n';
  }
  out << "  SHA-256:        " << i.sha256_fingerprint << '\n' << "  SHA-1:          " << i.sha1_fingerprint << '\n';
  if (!i.extensions.empty()) {
    out << "  Extensions:\n";
    for (const auto& e : i.extensions)
      out << "    " << e.name << (e.critical ? " (critical)" : "") << ": " << e.value << '\n';
  }
}

Json csr_json(const pki::Csr& c) {
  Json j = Json::object();
  j["type"] = "csr";
  j["subject"] = c.subject();
  auto n = c.names();
  j["dns"] = n.dns;
  j["ip"] = ip_strings(n);
  j["uri"] = n.uris;
  j["email"] = n.emails;
  auto k = c.public_key().info();
  j["key"] = {{"algorithm", k.algorithm}, {"bits", k.bits}, {"curve", k.curve}};
  j["signature_ok"] = c.signature_ok();
  j["public_key_sha256"] = c.public_key().public_key_sha256();
  return j;
}

void print_csr(std::ostream& out, const pki::Csr& c) {
  out << "Certificate signing request\n"
      << "  Subject:        " << c.subject() << '\n'
      << "  Names:          " << sans_text(c.names()) << '\n'
      << "  Key:            " << key_text(c.public_key().info()) << '\n'
      << "  Signature:      " << (c.signature_ok() ? "verifies" : "DOES NOT VERIFY") << '\n';
}

Json crl_json(const pki::Crl& c, WallTime now) {
  Json j = Json::object();
  j["type"] = "crl";
  j["issuer"] = c.issuer();
  j["this_update"] = format_time(c.this_update());
  auto nu = c.next_update();
  j["next_update"] = nu ? Json(format_time(*nu)) : Json(nullptr);
  j["current"] = nu && now < *nu;
  auto num = c.number();
  j["number"] = num ? Json(*num) : Json(nullptr);
  Json revoked = Json::array();
  for (const auto& e : c.entries())
    revoked.push_back({{"serial", e.serial_hex},
                       {"revoked_at", format_time(e.revoked_at)},
                       {"reason", std::string(pki::revocation_reason_name(e.reason))}});
  j["revoked"] = revoked;
  return j;
}

void print_crl(std::ostream& out, const pki::Crl& c, WallTime now) {
  auto nu = c.next_update();
  out << "Certificate revocation list\n"
      << "  Issuer:         " << c.issuer() << '\n'
      << "  This update:    " << format_time(c.this_update()) << '\n'
      << "  Next update:    " << (nu ? format_time(*nu) + (now < *nu ? "" : " (stale)") : "(none)") << '\n';
  if (auto n = c.number()) out << "  CRL number:     " << *n << '\n';
  auto entries = c.entries();
  out << "  Revoked:        " << entries.size() << '\n';
  for (const auto& e : entries)
    out << "    " << e.serial_hex << "  " << format_time(e.revoked_at) << "  " << pki::revocation_reason_name(e.reason)
        << '\n';
}

}  // namespace certctl
