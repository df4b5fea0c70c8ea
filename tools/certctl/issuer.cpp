#include "issuer.h"

#include <algorithm>

#include "exit_codes.h"
#include "pw/pki/issue.h"

namespace certctl {

using namespace pw;

IssueOutcome issue_leaf(const Ca& ca, const LeafRequest& asked, const pki::Key& subject_key, WallTime now,
                        const std::string& by) {
  IssueOutcome out = sign_leaf(ca, asked, subject_key, now, by);
  if (!out.ok()) return out;
  try {
    append_db(ca, out.record);
  } catch (const std::exception& e) {
    out.code = cli::exit_io;
    out.error = e.what();
  }
  return out;
}

IssueOutcome sign_leaf(const Ca& ca, const LeafRequest& asked, const pki::Key& subject_key, WallTime now,
                       const std::string& by) {
  IssueOutcome out;
  auto fail = [&](int code, std::string msg) {
    out.code = code;
    out.error = std::move(msg);
    return out;
  };
  std::vector<pki::Certificate> cas = ca.chain;
  cas.push_back(ca.root);
  for (const auto& c : cas) {
    if (now < c.not_before())
      return fail(exit_ca_expired, "the CA certificate \"" + c.subject() + "\" is not valid before " + format_time(c.not_before()));
    if (now >= c.not_after())
      return fail(exit_ca_expired, "the CA certificate \"" + c.subject() + "\" expired at " + format_time(c.not_after()) +
                                       "; it cannot sign");
  }
  LeafRequest req = asked;
  canonicalise_common_name(req);
  if (req.profile == pki::Profile::ca) return fail(exit_policy, "certctl issues CA certificates only with `ca init`");
  // Only the key types `ca init` offers; the database records the real one.
  pki::KeyInfo key_info = subject_key.info();
  if (Status st = pki::check_subject_key(subject_key); !st) return fail(exit_policy, "the key: " + st.error().message);
  // The common name is empty or one of the SANs (check_request_names), so the SANs are every
  // name of the certificate and the checks below see them all.
  if (auto bad = check_request_names(req); !bad.empty()) return fail(exit_policy, join_messages(bad));
  // Name constraints of every CA in the chain, checked before signing: OpenSSL would refuse the
  // certificate at verification time, so refusing now gives the precise reason.
  std::vector<std::string> violations;
  for (const auto& c : cas) {
    auto nc = pki::name_constraints_of(c);
    for (auto& v : pki::check_name_constraints(nc, req.names))
      if (std::find(violations.begin(), violations.end(), v) == violations.end()) violations.push_back(std::move(v));
  }
  if (!violations.empty()) return fail(exit_policy, join_messages(violations));

  pki::IssueSpec spec;
  spec.common_name = req.common_name;
  spec.organization = req.organization;
  spec.names = req.names;
  spec.profile = req.profile;
  spec.encoded_public_key_only = true;  // the leaf is only written out, never verified here
  // Backdated for clients whose clocks run a little behind, by at most a tenth of the lifetime.
  spec.not_before = req.not_before.value_or(std::chrono::time_point_cast<std::chrono::seconds>(now) -
                                            std::chrono::duration_cast<std::chrono::seconds>(backdate_for(req.lifetime)));
  // The lifetime counts from notBefore, so a renewal keeps it exactly.
  spec.not_after = spec.not_before + std::chrono::duration_cast<std::chrono::seconds>(req.lifetime);
  WallTime ca_end = ca.signer.not_after();
  for (const auto& c : cas) ca_end = std::min(ca_end, c.not_after());
  if (spec.not_after > ca_end) {
    out.warnings.push_back("the lifetime was cut to end with the CA certificate at " + format_time(ca_end));
    spec.not_after = ca_end;
  }
  if (spec.not_after <= spec.not_before) return fail(exit_policy, "the certificate would end before it starts");
  auto cert = pki::issue(spec, subject_key, &ca.signer, ca.signer_key);
  if (!cert) return fail(cert.error().code == Errc::invalid_argument ? int(exit_policy) : int(cli::exit_failure),
                         cert.error().message);
  out.cert = std::move(*cert);
  Json rec = Json::object();
  rec["event"] = "issued";
  rec["serial"] = out.cert.serial_hex();
  rec["ts"] = format_time(now);
  rec["subject"] = out.cert.subject();
  rec["profile"] = std::string(pki::profile_name(req.profile));
  rec["dns"] = req.names.dns;
  rec["ip"] = ip_strings(req.names);
  rec["uri"] = req.names.uris;
  rec["not_before"] = format_time(out.cert.not_before());
  rec["not_after"] = format_time(out.cert.not_after());
  rec["key_type"] = pki::key_label(key_info);
  // The exact certificate (a renewal must present this one, not another CA's with the same
  // serial) and the key that signed it.
  rec["sha256"] = sha256_hex(out.cert.der());
  rec["issuer_key"] = ca.signer_key_sha256.empty() ? ca.signer.public_key().public_key_sha256() : ca.signer_key_sha256;
  if (req.policy_max_lifetime)
    rec["max_lifetime_s"] = std::chrono::duration_cast<std::chrono::seconds>(*req.policy_max_lifetime).count();
  rec["by"] = by;
  out.record = std::move(rec);
  return out;
}

Json bundle_json(const Ca& ca, const pki::Certificate& cert, const std::string& key_pem,
                 std::optional<pki::Profile> profile) {
  Json j = Json::object();
  std::string cert_pem = cert.pem();
  j["cert"] = cert_pem;
  j["key"] = key_pem;
  j["chain"] = cert_pem + ca.chain_pem();
  j["ca"] = ca.bundle_pem();
  j["spiffe_id"] = cert.spiffe_id();
  auto names = cert.names();
  j["dns"] = names.dns;
  j["ip"] = ip_strings(names);
  j["not_before"] = format_time(cert.not_before());
  j["not_after"] = format_time(cert.not_after());
  j["serial"] = cert.serial_hex();
  j["profile"] = std::string(pki::profile_name(profile ? *profile : profile_of(cert)));
  return j;
}

pki::Profile profile_of(const pki::Certificate& cert) {
  auto info = pki::describe(cert);
  bool server = false, client = false;
  for (const auto& e : info.ext_key_usage) {
    server = server || e == "serverAuth";
    client = client || e == "clientAuth";
  }
  if (info.is_ca) return pki::Profile::ca;
  if (server && client) return pki::Profile::peer;
  if (client) return pki::Profile::client;
  return pki::Profile::server;
}

}  // namespace certctl
