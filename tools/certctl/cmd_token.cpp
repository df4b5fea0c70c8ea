// certctl token: a one-time bootstrap token for certctl serve. Only its SHA-256 is stored
// (CA/tokens.jsonl, appended as jsonl_file.h describes); the token itself is printed once.
#include <openssl/rand.h>

#include <iostream>

#include "ca_store.h"
#include "commands.h"
#include "jsonl_file.h"
#include "pw/base/strings.h"
#include "pw/config/writer.h"
#include "serve_config.h"

namespace certctl {

using namespace pw;

namespace {

std::string random_token() {
  unsigned char b[32];
  if (RAND_bytes(b, sizeof b) != 1) throw Failure(cli::exit_internal, "RAND_bytes failed");
  return hex_encode(std::string_view(reinterpret_cast<char*>(b), sizeof b));
}

}  // namespace

int cmd_token(const Options& o, const cli::Common& common) {
  WallTime now = std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
  Ca ca = open_ca(o.ca());
  Policy p;
  p.spiffe_ids = o.pol_spiffe;
  p.dns = o.pol_dns;
  for (auto& d : p.dns) d = to_lower(d);
  p.uris = o.pol_uri;
  for (const auto& r : o.pol_ip)
    if (auto range = pki::parse_ip_range(r); !range) throw Failure(cli::exit_usage, "--ip: " + range.error().message);
  p.ips = o.pol_ip;
  if (!o.pol_profiles.empty()) {
    for (const auto& s : o.pol_profiles)
      if (s != "server" && s != "client" && s != "peer")
        throw Failure(cli::exit_usage, "--profile: expected server, client or peer, got \"" + escape_for_log(s) + "\"");
    p.profiles = o.pol_profiles;
  }
  p.max_lifetime = parse_validity(o.max_lifetime, "--max-lifetime");
  if (p.spiffe_ids.empty() && p.dns.empty() && p.ips.empty() && p.uris.empty())
    throw Failure(cli::exit_usage, "a token needs a policy: at least one --spiffe-id, --dns, --ip or --uri pattern");
  Duration ttl = parse_validity(o.ttl, "--ttl");
  std::string token = random_token();
  TokenEntry e;
  e.sha256 = sha256_hex(token);
  e.name = o.token_name;
  e.created = format_time(now);
  e.expires = format_time(now + std::chrono::duration_cast<std::chrono::seconds>(ttl));
  e.policy = p;
  Json rec = config::encode_value(e);
  // Durable before the token is printed: a token someone holds is always on record.
  auto appended = append_jsonl(ca.path("tokens.jsonl"), rec.dump() + "\n", 0600, /*sync=*/true);
  if (!appended) throw Failure(cli::exit_io, appended.error().message);
  if (common.json) {
    Json j = {{"token", token}, {"sha256", e.sha256}, {"name", e.name}, {"expires", e.expires}};
    j["policy"] = config::encode_value(p);
    std::cout << j.dump() << '\n';
  } else {
    std::cout << token << '\n';
  }
  return cli::exit_ok;
}

}  // namespace certctl
