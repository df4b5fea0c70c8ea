// The CA directory: certificates, keys, trust bundle, metadata and the database of issued and
// revoked serials (JSON lines). Layout (certctl(1), FILES):
//
//   root.pem  root.key                  the root CA (root.key may be moved offline when an
//   intermediate.pem  intermediate.key  intermediate exists: it signs everything else)
//   bundle.pem                          the trust bundle served and put into every issued bundle
//   ca.json                             metadata: key type, whether keys are encrypted, signer
//   db.jsonl                            {"event":"issued"|"revoked"|"crl", ...} one per line
//   crl.pem                             the last CRL written by revoke or crl
//   tokens.jsonl  tokens-used.jsonl     certctl serve's bootstrap tokens (hashed) and their use
//   previous-signers.pem                optional: certificates of signers this CA used before a
//                                       rotation; their leaves may still renew through serve
#pragma once

#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "pw/pki/cert.h"
#include "pw/pki/crl.h"
#include "pw/pki/key.h"
#include "util.h"

namespace certctl {

struct Ca {
  std::string dir;
  Json meta;
  pw::pki::Certificate root;
  pw::pki::Certificate signer;                   // the intermediate, or the root
  std::vector<pw::pki::Certificate> chain;       // intermediates from the signer up, root excluded
  std::vector<pw::pki::Certificate> bundle;      // trust anchors (bundle.pem, else the root)
  std::vector<pw::pki::Certificate> previous_signers;  // previous-signers.pem, if any
  std::string signer_key_sha256;                 // of the signer's public key, set by open_ca()
  pw::pki::Key signer_key;                       // after load_signer_key()

  std::string path(const std::string& name) const { return join(dir, name); }
  // PEM text of the intermediates (a leaf's chain.pem after the leaf) and of the trust bundle;
  // computed once by open_ca().
  const std::string& chain_pem() const { return chain_pem_; }
  const std::string& bundle_pem() const { return bundle_pem_; }
  std::string chain_pem_, bundle_pem_;
};

// Reads the certificates of the CA in `dir`. Failure(exit_no_ca) when it is not a CA directory.
Ca open_ca(const std::string& dir);
// Reads and decrypts the signer's key. Failure(exit_passphrase) for a wrong or missing passphrase.
void load_signer_key(Ca& ca, const std::string& passphrase);
// Whether `key_sha256` (Key::public_key_sha256) is the key of this CA's signer or of one of its
// previous signers: the keys whose leaves this CA renews.
bool is_signing_key(const Ca& ca, std::string_view key_sha256);
// Failure(exit_ca_expired) unless every CA certificate of the chain is valid at `now`.
void check_ca_valid(const Ca& ca, pw::WallTime now);

// The database (db.jsonl). Appends are one write() under an exclusive flock, so concurrent
// certctl processes and serve's threads interleave whole lines.
void append_db(const Ca& ca, const Json& record);
std::vector<Json> read_db(const Ca& ca);

struct SerialState {
  bool issued = false;
  bool revoked = false;
  Json record;  // the "issued" record
};
SerialState find_serial(const std::vector<Json>& db, const std::string& serial_hex);
// Normalised serial: lower-case hex, no colons, no leading zeros.
std::string normalise_serial(std::string_view s);

// Builds a CRL from the database's revocations, signed by the signer, numbered one past the last
// ("crl" events), and records it. next_update = now + validity.
pw::pki::Crl build_crl(Ca& ca, pw::WallTime now, pw::Duration validity);

}  // namespace certctl
