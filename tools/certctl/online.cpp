#include "online.h"

#include "exit_codes.h"
#include "pw/telemetry/libcurl.h"

namespace certctl {

using namespace pw;

namespace {
struct Body {
  std::string data;
  bool too_big = false;
};
size_t on_write(char* ptr, size_t size, size_t nmemb, void* user) {
  auto* b = static_cast<Body*>(user);
  size_t n = size * nmemb;
  if (b->data.size() + n > (4u << 20)) {
    b->too_big = true;
    return 0;
  }
  b->data.append(ptr, n);
  return n;
}
}  // namespace

Json post_sign(const SignCall& call, const Json& request) {
  std::string url = call.server;
  while (!url.empty() && url.back() == '/') url.pop_back();
  if (url.rfind("https://", 0) != 0) throw Failure(cli::exit_usage, "--server: expected https://HOST:PORT, got " + url);
  url += "/v1/sign";
  // libcurl is loaded here, on first use: the offline commands never map it (libcurl.h).
  auto loaded = telemetry::libcurl();
  if (!loaded) throw Failure(cli::exit_internal, loaded.error().message);
  const telemetry::LibCurl& curl = **loaded;
  std::unique_ptr<CURL, void (*)(CURL*)> h(curl.easy_init(), curl.easy_cleanup);
  if (!h) throw Failure(cli::exit_internal, "curl_easy_init failed");
  std::string payload = request.dump();
  curl_slist* headers = curl.slist_append(nullptr, "Content-Type: application/json");
  std::string auth = "Authorization: Bearer " + call.token;
  if (!call.token.empty()) headers = curl.slist_append(headers, auth.c_str());
  std::unique_ptr<curl_slist, void (*)(curl_slist*)> hguard(headers, curl.slist_free_all);
  Body body;
  char errbuf[CURL_ERROR_SIZE] = {};
  curl.easy_setopt(h.get(), CURLOPT_URL, url.c_str());
  curl.easy_setopt(h.get(), CURLOPT_POSTFIELDS, payload.c_str());
  curl.easy_setopt(h.get(), CURLOPT_POSTFIELDSIZE, static_cast<long>(payload.size()));
  curl.easy_setopt(h.get(), CURLOPT_HTTPHEADER, headers);
  curl.easy_setopt(h.get(), CURLOPT_WRITEFUNCTION, on_write);
  curl.easy_setopt(h.get(), CURLOPT_WRITEDATA, &body);
  curl.easy_setopt(h.get(), CURLOPT_ERRORBUFFER, errbuf);
  curl.easy_setopt(h.get(), CURLOPT_SSLVERSION, CURL_SSLVERSION_TLSv1_2);
  curl.easy_setopt(h.get(), CURLOPT_TIMEOUT_MS, static_cast<long>(std::chrono::duration_cast<std::chrono::milliseconds>(call.timeout).count()));
  curl.easy_setopt(h.get(), CURLOPT_NOSIGNAL, 1L);
  curl.easy_setopt(h.get(), CURLOPT_PROTOCOLS_STR, "https");
  if (!call.ca_bundle.empty()) curl.easy_setopt(h.get(), CURLOPT_CAINFO, call.ca_bundle.c_str());
  if (!call.client_cert.empty()) {
    curl.easy_setopt(h.get(), CURLOPT_SSLCERT, call.client_cert.c_str());
    curl.easy_setopt(h.get(), CURLOPT_SSLKEY, call.client_key.c_str());
  }
  CURLcode rc = curl.easy_perform(h.get());
  if (rc != CURLE_OK) {
    std::string why = errbuf[0] ? errbuf : curl.easy_strerror(rc);
    bool tls = rc == CURLE_SSL_CONNECT_ERROR || rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_SSL_CERTPROBLEM ||
               rc == CURLE_SSL_CACERT_BADFILE;
    throw Failure(tls ? cli::exit_tls : cli::exit_io, url + ": " + why);
  }
  long status = 0;
  curl.easy_getinfo(h.get(), CURLINFO_RESPONSE_CODE, &status);
  Json j;
  try {
    j = Json::parse(body.data);
  } catch (const nlohmann::json::exception&) {
    throw Failure(cli::exit_failure, url + ": HTTP " + std::to_string(status) + " with a body that is not JSON");
  }
  if (status == 200 && j.contains("cert") && j["cert"].is_string()) return j;
  std::string msg = url + ": HTTP " + std::to_string(status) + ": " + j.value("error", std::string("no certificate in the answer"));
  int code = status == 400 ? int(exit_bad_input)
             : status == 401 || status == 403 ? int(exit_policy)
             : status == 503 ? int(exit_ca_expired)
                             : int(cli::exit_failure);
  throw Failure(code, msg);
}

}  // namespace certctl
