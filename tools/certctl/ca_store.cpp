#include "ca_store.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "exit_codes.h"
#include "pw/base/lines.h"
#include "pw/base/strings.h"

namespace certctl {

using namespace pw;


namespace {
pki::Certificate read_one_cert(const std::string& path, std::string* text_out = nullptr) {
  std::string text = read_input(path);
  if (text_out) *text_out = text;
  auto certs = pki::parse_certificates(text);
  if (!certs) throw Failure(exit_bad_input, path + ": " + certs.error().message);
  return certs->front();
}
}  // namespace

Ca open_ca(const std::string& dir) {
  Ca ca;
  ca.dir = dir;
  if (!file_exists(ca.path("root.pem")) || !file_exists(ca.path("ca.json")))
    throw Failure(exit_no_ca, dir + ": not a certctl CA directory (no root.pem and ca.json; create one with "
                                    "`certctl ca init --ca " + dir + "`)");
  try {
    ca.meta = Json::parse(read_input(ca.path("ca.json")));
  } catch (const nlohmann::json::exception& e) {
    throw Failure(exit_no_ca, ca.path("ca.json") + ": not valid JSON: " + e.what());
  }
  std::string root_text;
  ca.root = read_one_cert(ca.path("root.pem"), &root_text);
  if (file_exists(ca.path("intermediate.pem"))) {
    ca.signer = read_one_cert(ca.path("intermediate.pem"));
    ca.chain.push_back(ca.signer);
  } else {
    ca.signer = ca.root;
  }
  std::string bundle_text = file_exists(ca.path("bundle.pem")) ? read_input(ca.path("bundle.pem")) : root_text;
  if (bundle_text == root_text) {
    ca.bundle.push_back(ca.root);  // the usual case: no second parse
  } else {
    auto b = pki::parse_certificates(bundle_text);
    if (!b) throw Failure(exit_bad_input, ca.path("bundle.pem") + ": " + b.error().message);
    ca.bundle = std::move(*b);
  }
  ca.signer_key_sha256 = ca.signer.public_key().public_key_sha256();
  if (file_exists(ca.path("previous-signers.pem"))) {
    auto prev = pki::parse_certificates(read_input(ca.path("previous-signers.pem")));
    if (!prev) throw Failure(exit_bad_input, ca.path("previous-signers.pem") + ": " + prev.error().message);
    ca.previous_signers = std::move(*prev);
  }
  ca.chain_pem_ = pki::to_pem(ca.chain);
  ca.bundle_pem_ = pki::to_pem(ca.bundle);
  return ca;
}

void load_signer_key(Ca& ca, const std::string& passphrase) {
  std::string name = ca.chain.empty() ? "root.key" : "intermediate.key";
  std::string path = ca.path(name);
  if (!file_exists(path)) throw Failure(exit_no_ca, path + ": the CA's signing key is missing");
  std::string pem = read_input(path);
  auto key = pki::Key::private_from_pem(pem, passphrase);
  if (!key) {
    if (key.error().code == Errc::invalid_argument)
      throw Failure(exit_passphrase,
                    path + ": " + key.error().message +
                        (passphrase.empty() ? " (use --passphrase-file or --passphrase-env)" : ""));
    throw Failure(exit_bad_input, path + ": " + key.error().message);
  }
  if (!key->same_public_key(ca.signer.public_key()))
    throw Failure(exit_bad_input, path + ": the key does not match the CA certificate");
  ca.signer_key = std::move(*key);
}

bool is_signing_key(const Ca& ca, std::string_view key_sha256) {
  if (key_sha256.empty()) return false;
  if ((ca.signer_key_sha256.empty() ? ca.signer.public_key().public_key_sha256() : ca.signer_key_sha256) == key_sha256)
    return true;
  for (const auto& c : ca.previous_signers)
    if (c.public_key().public_key_sha256() == key_sha256) return true;
  return false;
}

void check_ca_valid(const Ca& ca, WallTime now) {
  std::vector<pki::Certificate> all = ca.chain;
  all.push_back(ca.root);
  for (const auto& c : all) {
    if (now < c.not_before())
      throw Failure(exit_ca_expired, "the CA certificate \"" + c.subject() + "\" is not valid before " +
                                         format_time(c.not_before()));
    if (now >= c.not_after())
      throw Failure(exit_ca_expired, "the CA certificate \"" + c.subject() + "\" expired at " +
                                         format_time(c.not_after()) + "; it cannot sign");
  }
}

void append_db(const Ca& ca, const Json& record) {
  std::string line = record.dump() + "\n";
  std::string path = ca.path("db.jsonl");
  int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) throw Failure(cli::exit_io, path + ": " + std::strerror(errno));
  ::flock(fd, LOCK_EX);
  ssize_t n = ::write(fd, line.data(), line.size());
  int e = errno;
  ::flock(fd, LOCK_UN);
  ::close(fd);
  if (n != static_cast<ssize_t>(line.size())) throw Failure(cli::exit_io, path + ": " + std::strerror(e));
}

std::vector<Json> read_db(const Ca& ca) {
  std::vector<Json> out;
  std::string path = ca.path("db.jsonl");
  if (!file_exists(path)) return out;
  std::string text = read_input(path, 1ULL << 30);
  pw::LineReader lines(text);
  while (auto line = lines.next()) {
    if (line->empty()) continue;
    try {
      out.push_back(Json::parse(*line));
    } catch (const nlohmann::json::exception&) {
      throw Failure(exit_bad_input, path + ":" + std::to_string(lines.line_no()) + ": not a JSON line");
    }
  }
  return out;
}

std::string normalise_serial(std::string_view s) {
  std::string out;
  for (char c : s)
    if (c != ':') out.push_back(ascii_lower(c));
  std::size_t nz = out.find_first_not_of('0');
  return nz == std::string::npos ? (out.empty() ? out : "0") : out.substr(nz);
}

SerialState find_serial(const std::vector<Json>& db, const std::string& serial_hex) {
  SerialState st;
  std::string want = normalise_serial(serial_hex);
  for (const auto& r : db) {
    if (!r.contains("serial") || !r["serial"].is_string()) continue;
    if (normalise_serial(r["serial"].get<std::string>()) != want) continue;
    std::string ev = r.value("event", "");
    if (ev == "issued") {
      st.issued = true;
      st.record = r;
    } else if (ev == "revoked") {
      st.revoked = true;
    }
  }
  return st;
}

pki::Crl build_crl(Ca& ca, WallTime now, Duration validity) {
  auto db = read_db(ca);
  pki::CrlSpec spec;
  std::uint64_t last = 0;
  for (const auto& r : db) {
    std::string ev = r.value("event", "");
    if (ev == "revoked") {
      pki::RevokedEntry e;
      e.serial_hex = r.value("serial", "");
      e.revoked_at = parse_time(r.value("ts", ""), now).value_or(now);
      e.reason = pki::parse_revocation_reason(r.value("reason", "unspecified")).value_or(0);
      spec.revoked.push_back(e);
    } else if (ev == "crl") {
      last = std::max<std::uint64_t>(last, r.value("number", std::uint64_t{0}));
    }
  }
  spec.this_update = now;
  spec.next_update = now + std::chrono::duration_cast<WallTime::duration>(validity);
  spec.number = last + 1;
  auto crl = pki::make_crl(spec, ca.signer, ca.signer_key);
  if (!crl) throw Failure(cli::exit_failure, "CRL: " + crl.error().message);
  Json rec = {{"event", "crl"},
              {"ts", format_time(now)},
              {"number", spec.number},
              {"next_update", format_time(spec.next_update)},
              {"revoked", spec.revoked.size()}};
  append_db(ca, rec);
  return std::move(*crl);
}

}  // namespace certctl
