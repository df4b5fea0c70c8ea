// SHA-256 for the request path (the jwt filter's verified-token cache key, API key lookup).
//
//     jose::Sha256 d;
//     if (!jose::sha256({provider, std::string_view("\0", 1), token}, d)) ...  // the parts, concatenated
//
// OpenSSL 3's one-shot SHA256() and EVP_Digest(..., EVP_sha256(), ...) fetch the algorithm by
// name from the provider store on every call (a read lock, a lookup, a reference count) and
// allocate a context: on a cache hit that cost more than hashing the token. Here the algorithm
// is fetched once per process and each thread keeps one context.
#pragma once

#include <array>
#include <cstdint>
#include <initializer_list>
#include <string_view>

namespace pw::jose {

using Sha256 = std::array<std::uint8_t, 32>;

// The digest of the concatenation of parts into out. false (out unspecified) when OpenSSL
// fails (no SHA-256 provider, out of memory): callers must not use out then.
bool sha256(std::initializer_list<std::string_view> parts, Sha256& out) noexcept;

}  // namespace pw::jose
