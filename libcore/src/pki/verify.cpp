#include "pw/pki/verify.h"

#include "ossl.h"

namespace pw::pki {

using namespace detail;

std::string_view verify_failure_name(VerifyFailure f) noexcept {
  switch (f) {
    case VerifyFailure::none: return "ok";
    case VerifyFailure::untrusted: return "untrusted";
    case VerifyFailure::expired: return "expired";
    case VerifyFailure::hostname: return "hostname";
    case VerifyFailure::spiffe_id: return "spiffe_id";
    case VerifyFailure::purpose: return "purpose";
    case VerifyFailure::revoked: return "revoked";
    case VerifyFailure::name_constraints: return "name_constraints";
    case VerifyFailure::crl: return "crl";
  }
  return "?";
}

namespace {
VerifyFailure classify(int err) {
  switch (err) {
    case X509_V_OK: return VerifyFailure::none;
    case X509_V_ERR_CERT_NOT_YET_VALID:
    case X509_V_ERR_CERT_HAS_EXPIRED:
    case X509_V_ERR_ERROR_IN_CERT_NOT_BEFORE_FIELD:
    case X509_V_ERR_ERROR_IN_CERT_NOT_AFTER_FIELD: return VerifyFailure::expired;
    case X509_V_ERR_HOSTNAME_MISMATCH:
    case X509_V_ERR_IP_ADDRESS_MISMATCH:
    case X509_V_ERR_EMAIL_MISMATCH: return VerifyFailure::hostname;
    case X509_V_ERR_INVALID_PURPOSE: return VerifyFailure::purpose;
    case X509_V_ERR_CERT_REVOKED: return VerifyFailure::revoked;
    case X509_V_ERR_PERMITTED_VIOLATION:
    case X509_V_ERR_EXCLUDED_VIOLATION:
    case X509_V_ERR_SUBTREE_MINMAX:
    case X509_V_ERR_UNSUPPORTED_CONSTRAINT_TYPE:
    case X509_V_ERR_UNSUPPORTED_CONSTRAINT_SYNTAX:
    case X509_V_ERR_UNSUPPORTED_NAME_SYNTAX: return VerifyFailure::name_constraints;
    case X509_V_ERR_UNABLE_TO_GET_CRL:
    case X509_V_ERR_CRL_NOT_YET_VALID:
    case X509_V_ERR_CRL_HAS_EXPIRED:
    case X509_V_ERR_CRL_SIGNATURE_FAILURE:
    case X509_V_ERR_UNABLE_TO_DECRYPT_CRL_SIGNATURE:
    case X509_V_ERR_ERROR_IN_CRL_LAST_UPDATE_FIELD:
    case X509_V_ERR_ERROR_IN_CRL_NEXT_UPDATE_FIELD:
    case X509_V_ERR_UNABLE_TO_GET_CRL_ISSUER:
    case X509_V_ERR_KEYUSAGE_NO_CRL_SIGN:
    case X509_V_ERR_DIFFERENT_CRL_SCOPE:
    case X509_V_ERR_CRL_PATH_VALIDATION_ERROR: return VerifyFailure::crl;
    default: return VerifyFailure::untrusted;
  }
}
}  // namespace

VerifyResult verify(const Certificate& leaf, const VerifyOptions& opt) {
  VerifyResult res;
  StorePtr store(X509_STORE_new());
  StoreCtxPtr ctx(X509_STORE_CTX_new());
  auto fail_internal = [&](std::string_view what) {
    res.failure = VerifyFailure::untrusted;
    res.message = std::string(what) + ": " + openssl_reason();
    return res;
  };
  if (!store || !ctx) return fail_internal("X509_STORE_new");
  for (const auto& r : opt.roots)
    if (X509_STORE_add_cert(store.get(), r.get()) != 1) ERR_clear_error();  // duplicates are fine
  for (const auto& c : opt.crls)
    if (X509_STORE_add_crl(store.get(), c.get()) != 1) ERR_clear_error();
  std::unique_ptr<STACK_OF(X509), void (*)(STACK_OF(X509)*)> untrusted(sk_X509_new_null(),
                                                                        [](STACK_OF(X509)* s) { sk_X509_free(s); });
  for (const auto& c : opt.intermediates) sk_X509_push(untrusted.get(), c.get());
  if (X509_STORE_CTX_init(ctx.get(), store.get(), leaf.get(), untrusted.get()) != 1)
    return fail_internal("X509_STORE_CTX_init");
  X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(ctx.get());
  unsigned long flags = 0;
  if (!opt.crls.empty()) flags |= X509_V_FLAG_CRL_CHECK | (opt.crl_check_all ? X509_V_FLAG_CRL_CHECK_ALL : 0);
  X509_VERIFY_PARAM_set_flags(param, flags);
  if (opt.purpose == Purpose::server) X509_STORE_CTX_set_purpose(ctx.get(), X509_PURPOSE_SSL_SERVER);
  if (opt.purpose == Purpose::client) X509_STORE_CTX_set_purpose(ctx.get(), X509_PURPOSE_SSL_CLIENT);
  if (!opt.host.empty()) {
    // DNS SANs only, never the common name (RFC 9525 §6.3), as libcore's TLS client checks.
    X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NEVER_CHECK_SUBJECT);
    X509_VERIFY_PARAM_set1_host(param, opt.host.c_str(), opt.host.size());
  }
  if (!opt.ip.empty() && X509_VERIFY_PARAM_set1_ip_asc(param, opt.ip.c_str()) != 1) {
    ERR_clear_error();
    res.failure = VerifyFailure::hostname;
    res.message = "\"" + opt.ip + "\" is not an IP address";
    return res;
  }
  if (opt.at) X509_VERIFY_PARAM_set_time(param, std::chrono::system_clock::to_time_t(*opt.at));

  int ok = X509_verify_cert(ctx.get());
  int err = X509_STORE_CTX_get_error(ctx.get());
  if (ok != 1) {
    res.openssl_error = err;
    res.depth = X509_STORE_CTX_get_error_depth(ctx.get());
    res.failure = classify(err);
    if (res.failure == VerifyFailure::none) res.failure = VerifyFailure::untrusted;
    res.message = std::string(X509_verify_cert_error_string(err)) + " (depth " + std::to_string(res.depth) + ")";
    ERR_clear_error();
    return res;
  }
  if (STACK_OF(X509)* chain = X509_STORE_CTX_get0_chain(ctx.get())) {
    for (int i = 0; i < sk_X509_num(chain); ++i) res.chain.push_back(Certificate::ref(sk_X509_value(chain, i)));
  }
  if (!opt.spiffe_id.empty()) {
    std::string id = leaf.spiffe_id();
    if (id != opt.spiffe_id) {
      res.failure = VerifyFailure::spiffe_id;
      res.depth = 0;
      res.message = id.empty() ? "the certificate has no SPIFFE ID (expected " + opt.spiffe_id + ")"
                               : "SPIFFE ID " + id + " is not the expected " + opt.spiffe_id;
      return res;
    }
  }
  return res;
}

}  // namespace pw::pki
