// Issuance policy: what a bootstrap token (certctl serve) or a --policy file (certctl sign)
// allows. Read from JSON with pw::config, so errors name the file and the JSON path.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "pw/base/clock.h"
#include "pw/config/reader.h"
#include "pw/config/writer.h"
#include "pw/pki/issue.h"
#include "pw/pki/names.h"

namespace certctl {

struct Policy {
  // Glob patterns ('*' within one path segment or DNS label, '**' across): every SPIFFE ID / DNS
  // name of a request must match one. An empty list allows none of that kind.
  std::vector<std::string> spiffe_ids;
  std::vector<std::string> dns;
  std::vector<std::string> ips;   // CIDR ranges every IP SAN must be in
  std::vector<std::string> uris;  // patterns for URI SANs that are not SPIFFE IDs
  std::vector<std::string> profiles = {"server", "client", "peer"};
  std::optional<pw::Duration> max_lifetime;
};
template <class F>
void config_fields(F& f, Policy& p) {
  f.optional("spiffe_ids", p.spiffe_ids);
  f.optional("dns", p.dns);
  f.optional("ips", p.ips, pw::config::check([](const std::vector<std::string>& v) -> std::string {
               for (const auto& r : v)
                 if (auto st = pw::pki::parse_ip_range(r); !st) return st.error().message;
               return "";
             }));
  f.optional("uris", p.uris);
  f.optional("profiles", p.profiles, pw::config::check([](const std::vector<std::string>& v) -> std::string {
               for (const auto& s : v)
                 if (s != "server" && s != "client" && s != "peer")
                   return "unknown profile \"" + s + "\" (expected server, client or peer)";
               return "";
             }));
  f.optional("max_lifetime", p.max_lifetime);
}

// What is asked for, after parsing flags or a CSR.
struct LeafRequest {
  std::string common_name;
  std::string organization;
  pw::pki::SubjectNames names;
  pw::pki::Profile profile = pw::pki::Profile::server;
  pw::Duration lifetime{};
  std::optional<pw::WallTime> not_before;
  // The longest lifetime the policy that granted this identity allows (a token's
  // max_lifetime), recorded with the certificate so that no renewal ever outlives it.
  std::optional<pw::Duration> policy_max_lifetime;
};

// How far not_before is set back for clients whose clocks run a little behind: a minute, but
// never more than a tenth of the lifetime, so that a short-lived certificate (seconds) is valid
// from now for nearly all of its lifetime. not_after stays not_before + lifetime, so a renewal
// that repeats the lifetime keeps it exactly.
pw::Duration backdate_for(pw::Duration lifetime);

// Every way the request breaks the policy, one message each; empty when allowed.
std::vector<std::string> check_policy(const Policy& p, const LeafRequest& r);

// The names and SPIFFE rules any CA applies (X509-SVID: exactly one URI SAN; valid DNS names;
// the common name empty or one of the SANs); empty when fine.
std::vector<std::string> check_request_names(const LeafRequest& r);

// Whether the common name is empty or byte for byte one of the request's SANs (DNS name, URI,
// or an IP address in its canonical text form).
bool common_name_is_a_san(const LeafRequest& r);
// Rewrites a common name that names a SAN in another spelling (upper-case DNS name, a long
// IPv6 form) to that SAN's form; any other common name is left for the checks to refuse.
void canonicalise_common_name(LeafRequest& r);

std::string join_messages(const std::vector<std::string>& msgs);

}  // namespace certctl
