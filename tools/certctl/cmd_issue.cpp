// ca init, issue, csr, sign.
#include <iostream>

#include "ca_store.h"
#include "commands.h"
#include "exit_codes.h"
#include "issuer.h"
#include "pw/base/strings.h"
#include "pw/config/check_command.h"
#include "pw/config/load.h"
#include "pw/pki/csr.h"
#include "pw/pki/issue.h"

namespace certctl {

using namespace pw;

namespace {

WallTime now_seconds() { return std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now()); }

pki::KeyType key_type_or_throw(const std::string& name) {
  auto t = pki::parse_key_type(name);
  if (!t) throw Failure(cli::exit_usage, "--key-type: unknown key type \"" + escape_for_log(name) + "\"");
  return *t;
}

pki::Key generate_or_throw(pki::KeyType t) {
  auto k = pki::Key::generate(t);
  if (!k) throw Failure(cli::exit_failure, k.error().message);
  return std::move(*k);
}

std::string key_pem_or_throw(const pki::Key& k, const std::string& pass = {}) {
  auto pem = k.private_pem(pass);
  if (!pem) throw Failure(cli::exit_failure, pem.error().message);
  return std::move(*pem);
}

// --permit-dns ".example.com" or "example.com": a domain, optionally with a leading dot.
std::vector<std::string> dns_constraints(const std::vector<std::string>& in, const char* flag) {
  std::vector<std::string> out;
  for (const auto& d : in) {
    std::string lower = to_lower(d);
    std::string_view bare = lower;
    if (!bare.empty() && bare.front() == '.') bare.remove_prefix(1);
    if (Status st = pki::validate_dns_name(bare, false); !st)
      throw Failure(cli::exit_usage, std::string(flag) + ": " + st.error().message);
    out.push_back(lower);
  }
  return out;
}

std::vector<pki::IpRange> ip_constraints(const std::vector<std::string>& in, const char* flag) {
  std::vector<pki::IpRange> out;
  for (const auto& r : in) {
    auto range = pki::parse_ip_range(r);
    if (!range) throw Failure(cli::exit_usage, std::string(flag) + ": " + range.error().message);
    out.push_back(*range);
  }
  return out;
}

Json cert_summary(const pki::Certificate& c) {
  return {{"subject", c.subject()},
          {"serial", c.serial_hex()},
          {"not_before", format_time(c.not_before())},
          {"not_after", format_time(c.not_after())},
          {"sha256", c.sha256_fingerprint()}};
}

Json constraints_json(const pki::NameConstraints& nc) {
  auto ips = [](const std::vector<pki::IpRange>& v) {
    std::vector<std::string> s;
    for (const auto& r : v) s.push_back(r.to_string());
    return s;
  };
  Json j = Json::object();
  j["permitted_dns"] = nc.permitted_dns;
  j["excluded_dns"] = nc.excluded_dns;
  j["permitted_ip"] = ips(nc.permitted_ip);
  j["excluded_ip"] = ips(nc.excluded_ip);
  j["permitted_uri"] = nc.permitted_uri;
  j["excluded_uri"] = nc.excluded_uri;
  return j;
}

pki::Profile profile_for(const std::string& flag, const pki::SubjectNames& names) {
  if (!flag.empty()) return *pki::parse_profile(flag);
  for (const auto& u : names.uris)
    if (u.rfind("spiffe://", 0) == 0) return pki::Profile::peer;
  return pki::Profile::server;
}

Duration lifetime_for(const std::string& flag, const pki::SubjectNames& names) {
  if (!flag.empty()) return parse_validity(flag, "--validity");
  for (const auto& u : names.uris)
    if (u.rfind("spiffe://", 0) == 0) return std::chrono::hours(1);  // short-lived SPIFFE identities
  return std::chrono::hours(24 * 90);
}

std::string default_cn(const NameFlags& n, const pki::SubjectNames& names) {
  if (!n.cn.empty()) return n.cn;
  if (!names.dns.empty()) return names.dns.front();
  if (!names.uris.empty()) return names.uris.front();
  if (!names.ips.empty()) return names.ips.front().to_string();
  return {};
}

// Writes a leaf's files into dir: cert.pem, chain.pem, ca.pem and, when key_pem is set, key.pem.
std::vector<std::string> write_leaf_files(const Ca& ca, const std::string& dir, const pki::Certificate& cert,
                                          const std::string& key_pem, bool force) {
  make_dir(dir);
  std::vector<std::string> files = {join(dir, "cert.pem"), join(dir, "chain.pem"), join(dir, "ca.pem")};
  if (!key_pem.empty()) files.insert(files.begin(), join(dir, "key.pem"));
  refuse_existing(files, force);
  // The key first: a reader that sees the new certificate finds its key already in place.
  if (!key_pem.empty()) write_file(join(dir, "key.pem"), key_pem, 0600, true, false);
  std::string cert_pem = cert.pem();
  write_file(join(dir, "cert.pem"), cert_pem, 0644, true, false);
  write_file(join(dir, "chain.pem"), cert_pem + ca.chain_pem(), 0644, true, false);
  write_file(join(dir, "ca.pem"), ca.bundle_pem(), 0644, true, false);
  return files;
}

void print_warnings(const IssueOutcome& r) {
  for (const auto& w : r.warnings) std::cerr << "certctl: warning: " << w << '\n';
}

void print_issued_human(const pki::Certificate& cert, const std::vector<std::string>& files) {
  std::cout << "issued " << cert.subject() << " serial " << cert.serial_hex() << ", valid until "
            << format_time(cert.not_after()) << '\n';
  for (const auto& f : files) std::cout << "  " << f << '\n';
}

}  // namespace

int cmd_ca_init(const Options& o, const cli::Common& common) {
  const auto& in = o.init;
  WallTime now = now_seconds();
  pki::KeyType type = key_type_or_throw(in.key_type);
  Duration root_validity = parse_validity(in.validity, "--validity");
  Duration int_validity = parse_validity(in.intermediate_validity, "--intermediate-validity");
  WallTime nb = in.not_before.empty() ? now - std::chrono::minutes(1) : parse_time_flag(in.not_before, "--not-before", now);
  if (in.intermediate && in.path_len == 0)
    throw Failure(cli::exit_usage, "--path-len 0 leaves no room for the intermediate (use 1 or leave it out)");
  std::string pass = read_passphrase(o.pass);

  pki::NameConstraints nc;
  if (in.private_ca) nc = pki::private_name_constraints();
  for (auto& d : dns_constraints(in.permit_dns, "--permit-dns")) nc.permitted_dns.push_back(d);
  for (auto& d : dns_constraints(in.exclude_dns, "--exclude-dns")) nc.excluded_dns.push_back(d);
  for (auto& r : ip_constraints(in.permit_ip, "--permit-ip")) nc.permitted_ip.push_back(r);
  for (auto& r : ip_constraints(in.exclude_ip, "--exclude-ip")) nc.excluded_ip.push_back(r);
  for (auto& d : dns_constraints(in.permit_uri, "--permit-uri")) nc.permitted_uri.push_back(d);
  for (auto& d : dns_constraints(in.exclude_uri, "--exclude-uri")) nc.excluded_uri.push_back(d);

  const std::string dir = o.ca();
  Ca ca;
  ca.dir = dir;
  std::vector<std::string> files = {ca.path("root.pem"), ca.path("root.key"), ca.path("bundle.pem"),
                                    ca.path("ca.json"), ca.path("db.jsonl"), ca.path("crl.pem")};
  if (in.intermediate) {
    files.push_back(ca.path("intermediate.pem"));
    files.push_back(ca.path("intermediate.key"));
  }
  refuse_existing(files, o.force);
  make_dir(dir, 0700);

  pki::Key root_key = generate_or_throw(type);
  pki::IssueSpec rs;
  rs.common_name = in.cn;
  rs.organization = in.org;
  rs.profile = pki::Profile::ca;
  rs.not_before = nb;
  rs.not_after = nb + std::chrono::duration_cast<std::chrono::seconds>(root_validity);
  rs.path_len = in.path_len;
  rs.constraints = nc;
  auto root = pki::issue(rs, root_key, nullptr, root_key);
  if (!root) throw Failure(cli::exit_usage, "root: " + root.error().message);

  Json out = Json::object();
  out["ca_dir"] = dir;
  out["key_type"] = std::string(pki::key_type_name(type));
  out["encrypted"] = !pass.empty();
  out["root"] = cert_summary(*root);
  std::optional<pki::Certificate> inter;
  pki::Key inter_key;
  if (in.intermediate) {
    inter_key = generate_or_throw(type);
    pki::IssueSpec is = rs;
    is.common_name = in.intermediate_cn;
    is.path_len = 0;
    is.not_after = std::min(root->not_after(), nb + std::chrono::duration_cast<std::chrono::seconds>(int_validity));
    auto c = pki::issue(is, inter_key, &*root, root_key);
    if (!c) throw Failure(cli::exit_usage, "intermediate: " + c.error().message);
    inter = *c;
    out["intermediate"] = cert_summary(*inter);
  }
  out["name_constraints"] = constraints_json(nc);

  write_file(ca.path("root.key"), key_pem_or_throw(root_key, pass), 0600, true);
  write_file(ca.path("root.pem"), root->pem(), 0644, true);
  if (inter) {
    write_file(ca.path("intermediate.key"), key_pem_or_throw(inter_key, pass), 0600, true);
    write_file(ca.path("intermediate.pem"), inter->pem(), 0644, true);
  }
  write_file(ca.path("bundle.pem"), root->pem(), 0644, true);
  Json meta = {{"version", 1},
               {"created", format_time(now)},
               {"key_type", std::string(pki::key_type_name(type))},
               {"encrypted", !pass.empty()},
               {"signer", inter ? "intermediate" : "root"}};
  write_file(ca.path("ca.json"), meta.dump(2) + "\n", 0644, true);
  write_file(ca.path("db.jsonl"), "", 0600, true);
  // An empty CRL from the start (RFC 5280 §5: a CRL may list no certificate), so that
  // `certctl verify --crl CA/crl.pem` works on a fresh CA; revoke and crl replace it.
  ca.signer = inter ? *inter : *root;
  ca.signer_key = inter ? std::move(inter_key) : std::move(root_key);
  auto crl = build_crl(ca, now, parse_validity(o.next_update, "--next-update"));
  write_file(ca.path("crl.pem"), crl.pem(), 0644, true);
  out["crl"] = ca.path("crl.pem");

  if (common.json) {
    std::cout << out.dump() << '\n';
  } else {
    std::cout << "created CA in " << dir << (pass.empty() ? "" : " (keys encrypted)") << '\n'
              << "  root          " << root->subject() << ", " << pki::key_type_name(type) << ", valid until "
              << format_time(root->not_after()) << '\n';
    if (inter)
      std::cout << "  intermediate  " << inter->subject() << ", valid until " << format_time(inter->not_after())
                << " (signs leaves; root.key can go offline)\n";
    if (!nc.empty()) std::cout << "  name constraints: " << constraints_json(nc).dump() << '\n';
    std::cout << "  crl           " << ca.path("crl.pem") << ", empty, next update " << format_time(*crl.next_update())
              << '\n';
  }
  return cli::exit_ok;
}

int cmd_issue(const Options& o, const cli::Common& common) {
  WallTime now = now_seconds();
  pki::KeyType type = key_type_or_throw(o.key_type);
  auto names = names_from_flags(o.names.dns, o.names.ips, o.names.uris, o.names.spiffe_id);
  LeafRequest req;
  req.names = names;
  req.common_name = default_cn(o.names, names);
  req.organization = o.names.org;
  req.profile = profile_for(o.profile, names);
  req.lifetime = lifetime_for(o.validity, names);
  if (!o.not_before.empty()) req.not_before = parse_time_flag(o.not_before, "--not-before", now);
  if (req.common_name.empty())
    throw Failure(cli::exit_usage, "give at least one name: --dns, --ip, --uri, --spiffe-id or --cn");
  if (o.count == 0 || o.count > 1000000) throw Failure(cli::exit_usage, "--count: expected 1..1000000");

  Ca ca = open_ca(o.ca());
  check_ca_valid(ca, now);
  load_signer_key(ca, read_passphrase(o.pass));

  for (unsigned i = 1; i <= o.count; ++i) {
    pki::Key key = generate_or_throw(type);
    auto r = issue_leaf(ca, req, key, now, "cli");
    if (!r.ok()) throw Failure(r.code, r.error);
    if (i == 1) print_warnings(r);
    std::string key_pem = key_pem_or_throw(key);
    if (!o.out.empty()) {
      std::string dir = o.count > 1 ? join(o.out, std::to_string(i)) : o.out;
      auto files = write_leaf_files(ca, dir, r.cert, key_pem, o.force);
      if (common.json) {
        Json j = bundle_json(ca, r.cert, key_pem, req.profile);
        j["files"] = files;
        std::cout << j.dump() << '\n';
      } else {
        print_issued_human(r.cert, files);
      }
    } else {
      std::cout << bundle_json(ca, r.cert, key_pem, req.profile).dump() << '\n';
    }
  }
  return cli::exit_ok;
}

int cmd_csr(const Options& o, const cli::Common& common) {
  pki::KeyType type = key_type_or_throw(o.key_type);
  auto names = names_from_flags(o.names.dns, o.names.ips, o.names.uris, o.names.spiffe_id);
  pki::CsrSpec spec;
  spec.names = names;
  spec.common_name = default_cn(o.names, names);
  spec.organization = o.names.org;
  if (spec.common_name.empty())
    throw Failure(cli::exit_usage, "give at least one name: --dns, --ip, --uri, --spiffe-id or --cn");
  pki::Key key = generate_or_throw(type);
  auto csr = pki::Csr::make(key, spec);
  if (!csr) throw Failure(cli::exit_failure, csr.error().message);
  std::string key_pem = key_pem_or_throw(key);
  if (!o.out.empty()) {
    make_dir(o.out);
    std::vector<std::string> files = {join(o.out, "key.pem"), join(o.out, "csr.pem")};
    refuse_existing(files, o.force);
    write_file(files[0], key_pem, 0600, true);
    write_file(files[1], csr->pem(), 0644, true);
    if (common.json) std::cout << Json{{"files", files}, {"subject", csr->subject()}}.dump() << '\n';
    else std::cout << "wrote " << files[0] << " and " << files[1] << '\n';
  } else {
    Json j = {{"key", key_pem}, {"csr", csr->pem()}};
    std::cout << j.dump() << '\n';
  }
  return cli::exit_ok;
}

int cmd_sign(const Options& o, const cli::Common& common) {
  WallTime now = now_seconds();
  std::string text = read_input(o.csr_file, 1 << 20);
  auto csr = pki::parse_csr(text);
  std::string name = o.csr_file == "-" ? "<stdin>" : o.csr_file;
  if (!csr) throw Failure(exit_bad_input, name + ": " + csr.error().message);
  LeafRequest req;
  req.names = csr->names();
  // DNS names are case-insensitive; certificates carry them in lower case.
  for (auto& d : req.names.dns) d = to_lower(d);
  req.common_name = csr->common_name();
  req.organization = csr->organization();
  canonicalise_common_name(req);
  req.profile = profile_for(o.profile, req.names);
  req.lifetime = lifetime_for(o.validity, req.names);
  if (!o.not_before.empty()) req.not_before = parse_time_flag(o.not_before, "--not-before", now);
  if (Status st = pki::check_subject_key(csr->public_key()); !st)
    throw Failure(exit_policy, name + ": the key: " + st.error().message);
  if (auto bad = check_request_names(req); !bad.empty()) throw Failure(exit_policy, name + ": " + join_messages(bad));
  if (!o.policy_file.empty()) {
    auto pol = config::load_file<Policy>(o.policy_file);
    if (!pol) throw Failure(pw::exit_code_for(pol.error()), pol.error().message);
    if (auto bad = check_policy(*pol, req); !bad.empty())
      throw Failure(exit_policy, name + ": refused by " + o.policy_file + ": " + join_messages(bad));
  }
  Ca ca = open_ca(o.ca());
  check_ca_valid(ca, now);
  load_signer_key(ca, read_passphrase(o.pass));
  auto r = issue_leaf(ca, req, csr->public_key(), now, "cli sign");
  if (!r.ok()) throw Failure(r.code, name + ": " + r.error);
  print_warnings(r);
  if (!o.out.empty()) {
    auto files = write_leaf_files(ca, o.out, r.cert, {}, o.force);
    if (common.json) {
      Json j = bundle_json(ca, r.cert, {});
      j.erase("key");
      j["files"] = files;
      std::cout << j.dump() << '\n';
    } else {
      print_issued_human(r.cert, files);
    }
  } else {
    Json j = bundle_json(ca, r.cert, {});
    j.erase("key");
    std::cout << j.dump() << '\n';
  }
  return cli::exit_ok;
}

}  // namespace certctl
