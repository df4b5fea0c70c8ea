// inspect, verify.
#include <sys/stat.h>

#include <iostream>

#include "ca_store.h"
#include "commands.h"
#include "describe.h"
#include "exit_codes.h"
#include "fetch.h"
#include "pw/base/strings.h"
#include "pw/pki/verify.h"

namespace certctl {

using namespace pw;

namespace {

WallTime now_seconds() { return std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now()); }

bool is_dir(const std::string& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

// A JSON bundle ({"chain": ...} or {"cert": ...}) gives its PEM; anything else is returned as is.
std::string pem_from_maybe_json(const std::string& text, const std::string& name) {
  std::size_t first = text.find_first_not_of(" \t\r\n");
  if (first == std::string::npos || text[first] != '{') return text;
  Json j;
  try {
    j = Json::parse(text);
  } catch (const nlohmann::json::exception&) {
    throw Failure(exit_bad_input, name + ": starts with '{' but is not valid JSON");
  }
  for (const char* k : {"chain", "cert"})
    if (j.contains(k) && j[k].is_string() && !j[k].get<std::string>().empty()) return j[k].get<std::string>();
  throw Failure(exit_bad_input, name + ": a JSON object without \"chain\" or \"cert\"");
}

void show_certs(const std::vector<pki::Certificate>& certs, const std::string& source, const cli::Common& common,
                Json extra = Json::object()) {
  WallTime now = now_seconds();
  if (common.json) {
    Json j = Json::object();
    j["source"] = source;
    for (auto& [k, v] : extra.items()) j[k] = v;
    Json arr = Json::array();
    for (const auto& c : certs) arr.push_back(cert_json(c, now));
    j["certificates"] = arr;
    std::cout << j.dump() << '\n';
    return;
  }
  std::cout << source << ": " << certs.size() << (certs.size() == 1 ? " certificate\n" : " certificates\n");
  for (auto& [k, v] : extra.items()) std::cout << "  " << k << ": " << (v.is_string() ? v.get<std::string>() : v.dump()) << '\n';
  for (std::size_t i = 0; i < certs.size(); ++i) {
    std::cout << "\nCertificate " << i + 1 << " of " << certs.size() << '\n';
    print_cert(std::cout, certs[i], now);
  }
}

int inspect_url(const Options& o, const cli::Common& common) {
  auto target = parse_tls_target(o.inspect_input);
  if (!target) throw Failure(cli::exit_usage, target.error().message);
  Duration timeout = parse_validity(o.connect_timeout, "--connect-timeout");
  auto chain = fetch_chain(*target, o.servername, o.inspect_ca_bundle, timeout);
  if (!chain) throw Failure(chain.error().code == Errc::tls_error ? cli::exit_tls : cli::exit_io, chain.error().message);
  Json extra = Json::object();
  extra["protocol"] = chain->protocol;
  extra["cipher"] = chain->cipher;
  extra["verified"] = chain->verified;
  if (!chain->verified) extra["verify_error"] = chain->verify_error;
  show_certs(chain->certs, o.inspect_input, common, extra);
  return cli::exit_ok;
}

}  // namespace

int cmd_inspect(const Options& o, const cli::Common& common) {
  const std::string& in = o.inspect_input;
  if (in.rfind("https://", 0) == 0) return inspect_url(o, common);
  std::string name = in == "-" ? "<stdin>" : in;
  if (in != "-" && is_dir(in)) {
    Ca ca = open_ca(in);
    std::vector<pki::Certificate> certs = ca.chain;
    certs.push_back(ca.root);
    for (const auto& b : ca.bundle)
      if (b.sha256_fingerprint() != ca.root.sha256_fingerprint()) certs.push_back(b);
    show_certs(certs, in, common);
    return cli::exit_ok;
  }
  std::string text = pem_from_maybe_json(read_input(in), name);
  auto labels = pki::pem_labels(text);
  bool has_cert = false, has_csr = false, has_crl = false, has_key = false;
  for (const auto& l : labels) {
    has_cert = has_cert || l == "CERTIFICATE" || l == "TRUSTED CERTIFICATE";
    has_csr = has_csr || l == "CERTIFICATE REQUEST" || l == "NEW CERTIFICATE REQUEST";
    has_crl = has_crl || l == "X509 CRL";
    has_key = has_key || l.find("PRIVATE KEY") != std::string::npos;
  }
  WallTime now = now_seconds();
  if (has_cert || labels.empty()) {
    auto certs = pki::parse_certificates(text);
    if (certs) {
      show_certs(*certs, name, common);
      return cli::exit_ok;
    }
    if (has_cert) throw Failure(exit_bad_input, name + ": " + certs.error().message);
  }
  if (has_csr || labels.empty()) {
    if (auto csr = pki::parse_csr(text)) {
      if (common.json) {
        Json j = csr_json(*csr);
        j["source"] = name;
        std::cout << j.dump() << '\n';
      } else {
        print_csr(std::cout, *csr);
      }
      return cli::exit_ok;
    } else if (has_csr) {
      throw Failure(exit_bad_input, name + ": " + csr.error().message);
    }
  }
  if (has_crl || labels.empty()) {
    if (auto crl = pki::parse_crl(text)) {
      if (common.json) {
        Json j = crl_json(*crl, now);
        j["source"] = name;
        std::cout << j.dump() << '\n';
      } else {
        print_crl(std::cout, *crl, now);
      }
      return cli::exit_ok;
    } else if (has_crl) {
      throw Failure(exit_bad_input, name + ": " + crl.error().message);
    }
  }
  if (has_key) {
    auto key = pki::Key::private_from_pem(text, {});
    if (!key && pki::is_encrypted_pem(text)) {
      if (common.json) std::cout << Json{{"type", "private_key"}, {"encrypted", true}}.dump() << '\n';
      else std::cout << "Private key (encrypted)\n";
      return cli::exit_ok;
    }
    if (!key) throw Failure(exit_bad_input, name + ": " + key.error().message);
    auto k = key->info();
    if (common.json)
      std::cout << Json{{"type", "private_key"}, {"encrypted", false}, {"algorithm", k.algorithm}, {"bits", k.bits},
                        {"curve", k.curve}, {"public_key_sha256", key->public_key_sha256()}}
                       .dump()
                << '\n';
    else
      std::cout << "Private key: " << k.algorithm << (k.curve.empty() ? "" : " " + k.curve) << " (" << k.bits
                << " bits), public key SHA-256 " << key->public_key_sha256() << '\n';
    return cli::exit_ok;
  }
  if (labels.empty())
    throw Failure(exit_bad_input, name + ": not PEM, and not a DER certificate, CSR or CRL");
  std::string found;
  for (const auto& l : labels) found += (found.empty() ? "" : ", ") + l;
  throw Failure(exit_bad_input, name + ": no certificate, CSR, CRL or key (found PEM blocks: " + found + ")");
}

int cmd_verify(const Options& o, const cli::Common& common) {
  WallTime now = now_seconds();
  std::string name = o.verify_input == "-" ? "<stdin>" : o.verify_input;
  std::string text = pem_from_maybe_json(read_input(o.verify_input), name);
  auto certs = pki::parse_certificates(text);
  if (!certs) throw Failure(exit_bad_input, name + ": " + certs.error().message);
  pki::VerifyOptions vo;
  for (std::size_t i = 1; i < certs->size(); ++i) vo.intermediates.push_back((*certs)[i]);
  for (const auto& f : o.chain_files) {
    auto more = pki::parse_certificates(read_input(f));
    if (!more) throw Failure(exit_bad_input, f + ": " + more.error().message);
    for (auto& c : *more) vo.intermediates.push_back(c);
  }
  for (const auto& f : o.ca_bundles) {
    auto roots = pki::parse_certificates(read_input(f));
    if (!roots) throw Failure(exit_bad_input, f + ": " + roots.error().message);
    for (auto& c : *roots) vo.roots.push_back(c);
  }
  std::string trust = "";
  if (o.ca_bundles.empty()) {
    Ca ca = open_ca(o.ca());
    vo.roots = ca.bundle;
    for (auto& c : ca.chain) vo.intermediates.push_back(c);
    trust = ca.path("bundle.pem");
  }
  for (const auto& f : o.crl_files) {
    auto crl = pki::parse_crl(read_input(f));
    if (!crl) throw Failure(exit_bad_input, f + ": " + crl.error().message);
    vo.crls.push_back(*crl);
  }
  vo.crl_check_all = o.crl_all;
  vo.purpose = o.purpose == "server" ? pki::Purpose::server : o.purpose == "client" ? pki::Purpose::client : pki::Purpose::any;
  vo.host = to_lower(o.host);
  vo.ip = o.ip;
  if (!vo.ip.empty() && !pki::parse_ip(vo.ip)) throw Failure(cli::exit_usage, "--ip: not an IP address: " + vo.ip);
  vo.spiffe_id = o.expect_spiffe_id;
  if (!o.at.empty()) vo.at = parse_time_flag(o.at, "--at", now);

  const pki::Certificate& leaf = certs->front();
  auto res = pki::verify(leaf, vo);
  int code = cli::exit_ok;
  switch (res.failure) {
    case pki::VerifyFailure::none: code = cli::exit_ok; break;
    case pki::VerifyFailure::untrusted: code = exit_untrusted; break;
    case pki::VerifyFailure::expired: code = exit_expired; break;
    case pki::VerifyFailure::hostname: code = exit_hostname; break;
    case pki::VerifyFailure::spiffe_id: code = exit_spiffe_id; break;
    case pki::VerifyFailure::purpose: code = exit_purpose; break;
    case pki::VerifyFailure::revoked: code = exit_revoked; break;
    case pki::VerifyFailure::name_constraints: code = exit_name_constraints; break;
    case pki::VerifyFailure::crl: code = exit_crl; break;
  }
  if (common.json) {
    Json j = Json::object();
    j["ok"] = res.ok();
    j["check"] = std::string(pki::verify_failure_name(res.failure));
    j["exit_code"] = code;
    j["message"] = res.message;
    j["subject"] = leaf.subject();
    j["serial"] = leaf.serial_hex();
    j["not_after"] = format_time(leaf.not_after());
    Json chain = Json::array();
    for (const auto& c : res.chain) chain.push_back(c.subject());
    j["chain"] = chain;
    std::cout << j.dump() << '\n';
  } else if (res.ok()) {
    std::cout << name << ": OK: " << leaf.subject() << " (serial " << leaf.serial_hex() << ")";
    for (std::size_t i = 1; i < res.chain.size(); ++i) std::cout << " <- " << res.chain[i].subject();
    std::cout << '\n';
  } else {
    std::cerr << "certctl: " << name << ": verification failed (" << pki::verify_failure_name(res.failure)
              << "): " << res.message << '\n';
  }
  return code;
}

}  // namespace certctl
