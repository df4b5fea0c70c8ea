#include "renewal.h"

#include <algorithm>

namespace certctl {

using namespace pw;

namespace {

std::vector<std::string> strings_of(const Json& rec, const char* key) {
  std::vector<std::string> out;
  if (rec.contains(key) && rec[key].is_array())
    for (const auto& x : rec[key])
      if (x.is_string()) out.push_back(x.get<std::string>());
  return out;
}

std::vector<std::string> sorted(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
  return v;
}

std::string list(const std::vector<std::string>& v) {
  if (v.empty()) return "none";
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
  return out;
}

}  // namespace

RenewalLookup find_renewal_basis(const Ca& ca, const std::vector<Json>& db, std::string_view serial_in,
                                 std::string_view cert_sha256, WallTime now) {
  RenewalLookup out;
  auto refuse = [&](std::string msg) {
    out.status = 401;
    out.error = std::move(msg);
    return out;
  };
  std::string serial = normalise_serial(serial_in);
  bool serial_known = false, revoked = false;
  const Json* rec = nullptr;
  for (const auto& r : db) {
    if (!r.contains("serial") || !r["serial"].is_string()) continue;
    if (normalise_serial(r["serial"].get<std::string>()) != serial) continue;
    std::string ev = r.value("event", "");
    if (ev == "revoked") revoked = true;
    if (ev != "issued") continue;
    serial_known = true;
    // The serial alone names a certificate only per issuer: compare the whole certificate.
    const auto sha = r.find("sha256");
    if (!cert_sha256.empty() && sha != r.end() && sha->is_string() && sha->get<std::string>() == cert_sha256) rec = &r;
  }
  if (!serial_known) return refuse("the client certificate " + serial + " was not issued by this CA");
  if (rec == nullptr)
    return refuse("the client certificate " + serial +
                  " is not the certificate this CA issued with that serial (or was issued before certctl recorded "
                  "certificate hashes); a bootstrap token is needed");
  if (revoked) return refuse("the client certificate " + serial + " is revoked");
  if (!is_signing_key(ca, rec->value("issuer_key", "")))
    return refuse("the client certificate " + serial + " was signed by a key that is no longer this CA's signer");
  auto nb = parse_time(rec->value("not_before", ""), now);
  auto na = parse_time(rec->value("not_after", ""), now);
  if (!nb || !na || *na <= *nb) {
    out.status = 500;
    out.error = "the database record of " + serial + " has no valid not_before/not_after";
    return out;
  }
  if (now < *nb || now >= *na) return refuse("the client certificate " + serial + " is not valid now");
  auto profile = pki::parse_profile(rec->value("profile", ""));
  if (!profile || *profile == pki::Profile::ca) {
    out.status = 500;
    out.error = "the database record of " + serial + " has no leaf profile";
    return out;
  }
  RenewalBasis& b = out.basis;
  b.serial = serial;
  b.profile = *profile;
  b.names.dns = strings_of(*rec, "dns");
  for (const auto& s : strings_of(*rec, "ip"))
    if (auto ip = pki::parse_ip(s)) b.names.ips.push_back(*ip);
  b.names.uris = strings_of(*rec, "uri");
  b.lifetime = std::chrono::duration_cast<Duration>(*na - *nb);
  if (rec->contains("max_lifetime_s") && (*rec)["max_lifetime_s"].is_number_integer() &&
      (*rec)["max_lifetime_s"].get<std::int64_t>() > 0)
    b.policy_max_lifetime = std::chrono::seconds((*rec)["max_lifetime_s"].get<std::int64_t>());
  return out;
}

std::vector<std::string> apply_renewal(const RenewalBasis& b, LeafRequest& req, bool profile_asked,
                                       bool lifetime_asked, std::optional<Duration> max_lifetime) {
  std::vector<std::string> bad;
  auto same = [&](const char* what, std::vector<std::string> asked, std::vector<std::string> had) {
    asked = sorted(std::move(asked));
    had = sorted(std::move(had));
    if (asked != had)
      bad.push_back(std::string(what) + " must be those of the certificate being renewed (" + list(had) + "), not " +
                    list(asked));
  };
  same("the DNS names", req.names.dns, b.names.dns);
  same("the IP addresses", ip_strings(req.names), ip_strings(b.names));
  same("the URIs (SPIFFE ID)", req.names.uris, b.names.uris);
  // The profile is kept: a client-only identity does not renew into a server certificate.
  if (profile_asked && req.profile != b.profile)
    bad.push_back("profile " + std::string(pki::profile_name(req.profile)) + " differs from the renewed certificate's " +
                  std::string(pki::profile_name(b.profile)));
  req.profile = b.profile;
  Duration max = max_lifetime.value_or(b.lifetime);
  if (b.policy_max_lifetime) max = std::min(max, *b.policy_max_lifetime);
  if (!lifetime_asked) req.lifetime = std::min(b.lifetime, max);
  else if (req.lifetime > max)
    bad.push_back("lifetime " + format_validity(req.lifetime) + " is longer than " + format_validity(max));
  req.policy_max_lifetime = b.policy_max_lifetime;
  return bad;
}

}  // namespace certctl
