#include "pw/pki/key.h"

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/rsa.h>

#include <array>
#include <cstring>

#include "ossl.h"
#include "pw/base/strings.h"

namespace pw::pki {

using namespace detail;

namespace {
constexpr std::array<std::string_view, 6> kNames = {"ecdsa-p256", "ecdsa-p384", "rsa-2048",
                                                    "rsa-3072",   "rsa-4096",   "ed25519"};
}

std::string_view key_type_name(KeyType t) noexcept { return kNames[static_cast<std::size_t>(t)]; }
std::span<const std::string_view> key_type_names() noexcept { return kNames; }

std::optional<KeyType> parse_key_type(std::string_view s) noexcept {
  std::string n = to_lower(s);
  for (std::size_t i = 0; i < kNames.size(); ++i)
    if (n == kNames[i]) return static_cast<KeyType>(i);
  if (n == "p256" || n == "p-256" || n == "ec" || n == "ecdsa" || n == "ec-p256" || n == "prime256v1")
    return KeyType::ec_p256;
  if (n == "p384" || n == "p-384" || n == "ec-p384" || n == "secp384r1") return KeyType::ec_p384;
  if (n == "rsa" || n == "rsa2048") return KeyType::rsa2048;
  if (n == "rsa3072") return KeyType::rsa3072;
  if (n == "rsa4096") return KeyType::rsa4096;
  return std::nullopt;
}

KeyInfo describe_key(evp_pkey_st* key) {
  KeyInfo k;
  if (key == nullptr) return k;
  k.bits = EVP_PKEY_get_bits(key);
  switch (EVP_PKEY_get_base_id(key)) {
    case EVP_PKEY_EC: {
      k.algorithm = "ECDSA";
      char group[64] = {};
      size_t len = 0;
      if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group, &len) == 1) {
        std::string_view g(group, len);
        if (g == "prime256v1" || g == "P-256") k.curve = "P-256", k.type = KeyType::ec_p256;
        else if (g == "secp384r1" || g == "P-384") k.curve = "P-384", k.type = KeyType::ec_p384;
        else k.curve = std::string(g);
      }
      break;
    }
    case EVP_PKEY_RSA:
      k.algorithm = "RSA";
      if (k.bits == 2048) k.type = KeyType::rsa2048;
      else if (k.bits == 3072) k.type = KeyType::rsa3072;
      else if (k.bits == 4096) k.type = KeyType::rsa4096;
      break;
    case EVP_PKEY_ED25519:
      k.algorithm = "Ed25519";
      k.type = KeyType::ed25519;
      break;
    default: {
      const char* n = EVP_PKEY_get0_type_name(key);
      k.algorithm = n ? n : "unknown";
    }
  }
  return k;
}

std::string key_label(const KeyInfo& k) {
  if (k.type) return std::string(key_type_name(*k.type));
  if (k.algorithm == "RSA") return "rsa-" + std::to_string(k.bits);
  if (k.algorithm == "ECDSA") return "ecdsa-" + (k.curve.empty() ? std::to_string(k.bits) : to_lower(k.curve));
  if (k.algorithm.empty()) return "unknown";
  return to_lower(k.algorithm) + "-" + std::to_string(k.bits);
}

Status check_subject_key(const Key& key) {
  constexpr int kMinRsaBits = 2048, kMaxRsaBits = 16384;
  KeyInfo k = key.info();
  if (k.algorithm == "RSA") {
    BIGNUM* e = nullptr;
    if (EVP_PKEY_get_bn_param(key.get(), OSSL_PKEY_PARAM_RSA_E, &e) != 1 || e == nullptr)
      return make_error(Errc::invalid_argument, "the RSA key has no public exponent");
    bool e_ok = BN_is_odd(e) && BN_num_bits(e) >= 17 && BN_num_bits(e) <= 256;  // 65537 <= e < 2^256
    BN_free(e);
    if (!e_ok)
      return make_error(Errc::invalid_argument,
                        "the RSA key's public exponent is not an odd number from 65537 to 2^256-1");
    if (k.bits < kMinRsaBits)
      return make_error(Errc::invalid_argument, "an RSA key of " + std::to_string(k.bits) +
                                                    " bits is too weak (at least " + std::to_string(kMinRsaBits) +
                                                    " bits)");
    if (k.bits > kMaxRsaBits)
      return make_error(Errc::invalid_argument, "an RSA key of " + std::to_string(k.bits) + " bits is larger than " +
                                                    std::to_string(kMaxRsaBits) + " bits");
    return {};
  }
  if (k.type == KeyType::ec_p256 || k.type == KeyType::ec_p384 || k.type == KeyType::ed25519) return {};
  std::string what = k.algorithm == "ECDSA" ? "an ECDSA key on curve " + (k.curve.empty() ? "?" : k.curve)
                                            : "a " + (k.algorithm.empty() ? std::string("unknown") : k.algorithm) +
                                                  " key of " + std::to_string(k.bits) + " bits";
  return make_error(Errc::invalid_argument,
                    what + " is not accepted (RSA of 2048 bits or more, ECDSA P-256 or P-384, or Ed25519)");
}

Key::Key(evp_pkey_st* owned) : k_(owned, EVP_PKEY_free) {}

Result<Key> Key::generate(KeyType type) {
  EVP_PKEY* k = nullptr;
  switch (type) {
    case KeyType::ec_p256: k = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"); break;
    case KeyType::ec_p384: k = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-384"); break;
    case KeyType::rsa2048: k = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{2048}); break;
    case KeyType::rsa3072: k = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{3072}); break;
    case KeyType::rsa4096: k = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{4096}); break;
    case KeyType::ed25519: k = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"); break;
  }
  if (k == nullptr) return ossl_error(Errc::internal, "generating a " + std::string(key_type_name(type)) + " key");
  return Key(k);
}

bool is_encrypted_pem(std::string_view pem) noexcept {
  return pem.find("-----BEGIN ENCRYPTED PRIVATE KEY-----") != std::string_view::npos ||
         pem.find("Proc-Type: 4,ENCRYPTED") != std::string_view::npos;
}

namespace {
struct PassArg {
  std::string_view pass;
  bool asked = false;
};
int pass_cb(char* buf, int size, int /*rwflag*/, void* u) {
  auto* a = static_cast<PassArg*>(u);
  a->asked = true;
  if (a->pass.empty() || a->pass.size() > static_cast<std::size_t>(size)) return -1;
  std::memcpy(buf, a->pass.data(), a->pass.size());
  return static_cast<int>(a->pass.size());
}
}  // namespace

Result<Key> Key::private_from_pem(std::string_view pem, std::string_view passphrase) {
  if (pem.size() > (1u << 20)) return make_error(Errc::limit_exceeded, "private key: larger than 1 MiB");
  bool encrypted = is_encrypted_pem(pem);
  if (encrypted && passphrase.empty())
    return make_error(Errc::invalid_argument, "the private key is encrypted and no passphrase was given");
  auto bio = mem_bio(pem);
  PassArg arg{passphrase};
  EVP_PKEY* k = PEM_read_bio_PrivateKey(bio.get(), nullptr, pass_cb, &arg);
  if (k == nullptr) {
    std::string reason = openssl_reason("no private key found");
    if (encrypted) return make_error(Errc::invalid_argument, "wrong passphrase for the private key (" + reason + ")");
    if (pem.find("-----BEGIN") == std::string_view::npos)
      return make_error(Errc::parse_error, "no private key found (expected -----BEGIN PRIVATE KEY-----)");
    return make_error(Errc::parse_error, "cannot read the private key: " + reason);
  }
  return Key(k);
}

Result<Key> Key::public_from_pem(std::string_view pem) {
  auto bio = mem_bio(pem);
  EVP_PKEY* k = PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr);
  if (k == nullptr) return ossl_error(Errc::parse_error, "public key");
  return Key(k);
}

Result<std::string> Key::private_pem(std::string_view passphrase) const {
  BioPtr b(BIO_new(BIO_s_mem()));
  int ok;
  if (passphrase.empty()) {
    ok = PEM_write_bio_PKCS8PrivateKey(b.get(), get(), nullptr, nullptr, 0, nullptr, nullptr);
  } else {
    std::string pass(passphrase);
    ok = PEM_write_bio_PKCS8PrivateKey(b.get(), get(), EVP_aes_256_cbc(), pass.data(), static_cast<int>(pass.size()),
                                       nullptr, nullptr);
  }
  if (ok != 1) return ossl_error(Errc::internal, "writing the private key");
  return bio_string(b.get());
}

std::string Key::public_pem() const {
  BioPtr b(BIO_new(BIO_s_mem()));
  PEM_write_bio_PUBKEY(b.get(), get());
  return bio_string(b.get());
}

std::string Key::public_key_sha256() const {
  unsigned char* der = nullptr;
  int n = i2d_PUBKEY(get(), &der);
  if (n <= 0) return {};
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  EVP_Digest(der, static_cast<size_t>(n), md, &len, EVP_sha256(), nullptr);
  OPENSSL_free(der);
  return hex_encode(std::string_view(reinterpret_cast<char*>(md), len));
}

bool Key::same_public_key(const Key& other) const {
  return get() && other.get() && EVP_PKEY_eq(get(), other.get()) == 1;
}

}  // namespace pw::pki
