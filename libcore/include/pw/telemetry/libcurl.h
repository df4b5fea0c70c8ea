// libcurl, loaded when first needed rather than linked: the OTLP/HTTP exporter
// (make_otlp_http_sink) and certctl's online client (certctl request, renew --server) are the only
// users, and linking libcurl makes every process of every tool that links telemetry map and
// relocate its whole dependency tree at start-up (about 28 shared objects: nghttp2, ssh2, rtmp,
// ldap, gssapi/krb5, gnutls, brotli, zstd, ... on Debian), whether it sends a request or not.
// `certctl issue` and `tracecat FILE` run once per certificate or file and never touch the network.
//
// The types and constants come from <curl/curl.h> at build time; the functions from the runtime
// library libcurl.so.4 (libcurl's ABI, stable since 7.16; the soname the -dev package's
// libcurl.so points at), opened with dlopen on the first call and kept for the life of the
// process. curl_global_init runs once, under the same guard.
#pragma once

#include <curl/curl.h>

#include "pw/base/result.h"

namespace pw::telemetry {

// The libcurl functions we call, named after curl_<name>. Call them as `curl->easy_setopt(...)`.
struct LibCurl {
  decltype(&::curl_easy_init) easy_init;
  decltype(&::curl_easy_cleanup) easy_cleanup;
  decltype(&::curl_easy_setopt) easy_setopt;
  decltype(&::curl_easy_perform) easy_perform;
  decltype(&::curl_easy_getinfo) easy_getinfo;
  decltype(&::curl_easy_strerror) easy_strerror;
  decltype(&::curl_slist_append) slist_append;
  decltype(&::curl_slist_free_all) slist_free_all;
};

// The loaded library; thread-safe. Fails (Errc::unsupported, with dlerror's text) when
// libcurl.so.4 cannot be opened, lacks one of the functions, or is older than the headers this
// was built with; the answer, good or bad, is kept for the life of the process.
Result<const LibCurl*> libcurl();

}  // namespace pw::telemetry
