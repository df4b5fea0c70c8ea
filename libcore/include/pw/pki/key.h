// Private keys over OpenSSL 3's EVP_PKEY: generation, PEM (PKCS#8, optionally encrypted with a
// passphrase), and a description of the key (algorithm, size, curve).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "pw/base/result.h"

struct evp_pkey_st;

namespace pw::pki {

enum class KeyType : std::uint8_t { ec_p256, ec_p384, rsa2048, rsa3072, rsa4096, ed25519 };

// "ecdsa-p256", "ecdsa-p384", "rsa-2048", "rsa-3072", "rsa-4096", "ed25519" (also accepted on
// input: "p256", "p384", "ec", "rsa" for 2048, "rsa2048", ...).
std::string_view key_type_name(KeyType t) noexcept;
std::optional<KeyType> parse_key_type(std::string_view name) noexcept;
std::span<const std::string_view> key_type_names() noexcept;  // the canonical names, in order

// What a key is: {"ECDSA", 256, "P-256"}, {"RSA", 3072, ""}, {"Ed25519", 256, ""}.
struct KeyInfo {
  std::string algorithm;
  int bits = 0;
  std::string curve;
  std::optional<KeyType> type;  // when it is one of KeyType
};
KeyInfo describe_key(evp_pkey_st* key);

// The name of a key as a CA database records it: "ecdsa-p256", "rsa-2048", "ed25519" for the
// KeyType keys; "rsa-2560", "ecdsa-secp256k1", "dsa-1024", ... for the others (never a guess).
std::string key_label(const KeyInfo& info);

// A public or private key (shared, immutable once made).
class Key {
 public:
  Key() = default;
  explicit Key(evp_pkey_st* owned);  // takes ownership
  static Result<Key> generate(KeyType type);

  // A private key from PEM ("PRIVATE KEY", "ENCRYPTED PRIVATE KEY", "EC PRIVATE KEY", "RSA
  // PRIVATE KEY"). Errors:
  //   Errc::parse_error       no private key in the text
  //   Errc::invalid_argument  encrypted and the passphrase is wrong or missing (message says which)
  static Result<Key> private_from_pem(std::string_view pem, std::string_view passphrase = {});
  static Result<Key> public_from_pem(std::string_view pem);

  // PKCS#8 PEM; encrypted (AES-256-CBC, PBKDF2 as OpenSSL 3 defaults) when passphrase is given.
  Result<std::string> private_pem(std::string_view passphrase = {}) const;
  std::string public_pem() const;
  // SHA-256 of the DER SubjectPublicKeyInfo, lower-case hex.
  std::string public_key_sha256() const;
  bool same_public_key(const Key& other) const;

  KeyInfo info() const { return describe_key(get()); }
  evp_pkey_st* get() const noexcept { return k_.get(); }
  explicit operator bool() const noexcept { return k_ != nullptr; }

 private:
  std::shared_ptr<evp_pkey_st> k_;
};

// True when the PEM text holds an encrypted private key (PKCS#8 or legacy Proc-Type).
bool is_encrypted_pem(std::string_view pem) noexcept;

// Whether a CA should certify this public key: only the kinds `certctl ca init` offers, that
// is RSA of at least 2048 bits (NIST SP 800-131A Rev. 2 §3: RSA below 2048 bits is
// disallowed for signatures; up to 16384 bits, OpenSSL's own limit) with an odd public
// exponent of at least 65537 (CA/Browser Forum BR §6.1.6), ECDSA on P-256 or P-384, and
// Ed25519. Anything else (RSA-1024, e=3, other curves, DSA, Ed448, RSA-PSS-only keys) is
// Errc::invalid_argument with a message naming the key: "an RSA key of 1024 bits ...".
Status check_subject_key(const Key& key);

}  // namespace pw::pki
