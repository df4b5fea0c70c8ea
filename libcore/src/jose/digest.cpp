#include "pw/jose/digest.h"

#include <openssl/evp.h>

#include <memory>

namespace pw::jose {

namespace {

// Fetched once (C++ guarantees one thread-safe initialisation) and never freed: OpenSSL's own
// exit handler tears the provider store down, and freeing after it would be a use after free.
const EVP_MD* sha256_md() noexcept {
  static EVP_MD* const md = EVP_MD_fetch(nullptr, "SHA2-256", nullptr);
  return md;
}

struct CtxFree {
  void operator()(EVP_MD_CTX* c) const noexcept { EVP_MD_CTX_free(c); }
};

}  // namespace

bool sha256(std::initializer_list<std::string_view> parts, Sha256& out) noexcept {
  const EVP_MD* md = sha256_md();
  if (!md) return false;
  thread_local std::unique_ptr<EVP_MD_CTX, CtxFree> ctx(EVP_MD_CTX_new());
  if (!ctx) return false;
  // EVP_DigestInit_ex2 resets a context left mid-way by an earlier failure, too.
  if (EVP_DigestInit_ex2(ctx.get(), md, nullptr) != 1) return false;
  for (std::string_view p : parts)
    if (!p.empty() && EVP_DigestUpdate(ctx.get(), p.data(), p.size()) != 1) return false;
  unsigned int n = 0;
  return EVP_DigestFinal_ex(ctx.get(), out.data(), &n) == 1 && n == out.size();
}

}  // namespace pw::jose
