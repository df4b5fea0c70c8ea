#include "ossl.h"

#include <ctime>

namespace pw::pki::detail {

std::string openssl_reason(std::string_view fallback) {
  unsigned long last = 0;
  while (unsigned long e = ERR_get_error()) last = e;
  if (last == 0) return std::string(fallback);
  const char* r = ERR_reason_error_string(last);
  if (r != nullptr) return r;
  char buf[256];
  ERR_error_string_n(last, buf, sizeof buf);
  return buf;
}

Error ossl_error(Errc code, std::string_view what) {
  return make_error(code, std::string(what) + ": " + openssl_reason());
}

BioPtr mem_bio(std::string_view text) {
  return BioPtr(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
}

std::string bio_string(BIO* b) {
  char* data = nullptr;
  long n = BIO_get_mem_data(b, &data);
  return n > 0 ? std::string(data, static_cast<std::size_t>(n)) : std::string();
}

WallTime from_asn1_time(const ASN1_TIME* t) {
  if (t == nullptr) return {};
  struct tm tm {};
  if (ASN1_TIME_to_tm(t, &tm) != 1) return {};
  return std::chrono::system_clock::from_time_t(timegm(&tm));
}

TimePtr to_asn1_time(WallTime t) {
  time_t secs = std::chrono::system_clock::to_time_t(t);
  return TimePtr(ASN1_TIME_set(nullptr, secs));
}

Result<IntPtr> serial_from_hex(std::string_view hex) {
  std::string h;
  for (char c : hex) {
    if (c == ':') continue;
    if (!std::isxdigit(static_cast<unsigned char>(c)))
      return make_error(Errc::invalid_argument, "serial: expected hexadecimal digits, got \"" + std::string(hex) + "\"");
    h.push_back(c);
  }
  if (h.empty() || h.size() > 40) return make_error(Errc::invalid_argument, "serial: expected 1..40 hex digits");
  BIGNUM* raw = nullptr;
  if (BN_hex2bn(&raw, h.c_str()) == 0) return make_error(Errc::invalid_argument, "serial: not hexadecimal");
  BnPtr bn(raw);
  IntPtr out(BN_to_ASN1_INTEGER(bn.get(), nullptr));
  if (!out) return ossl_error(Errc::internal, "serial");
  return out;
}

}  // namespace pw::pki::detail
