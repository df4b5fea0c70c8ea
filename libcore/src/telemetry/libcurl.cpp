#include "pw/telemetry/libcurl.h"

#include <dlfcn.h>

#include <string>

namespace pw::telemetry {

namespace {

constexpr const char* kSoname = "libcurl.so.4";

struct Loaded {
  LibCurl api{};
  std::string error;  // empty when api is usable
};

template <typename Fn>
bool load(void* lib, const char* name, Fn& out, std::string& error) {
  void* sym = ::dlsym(lib, name);
  if (!sym) {
    if (error.empty()) error = std::string(kSoname) + ": no symbol " + name;
    return false;
  }
  out = reinterpret_cast<Fn>(sym);
  return true;
}

Loaded open_libcurl() {
  Loaded l;
  // RTLD_LOCAL: libcurl's symbols (and its dependencies') stay out of the global namespace.
  void* lib = ::dlopen(kSoname, RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    const char* why = ::dlerror();
    l.error = std::string("cannot load ") + kSoname + ": " + (why ? why : "unknown error") +
              " (install libcurl4, the runtime library of libcurl)";
    return l;
  }
  decltype(&::curl_global_init) global_init = nullptr;
  decltype(&::curl_version_info) version_info = nullptr;
  // Every symbol is looked up (no short circuit), so the error names the last one missing.
  bool ok = true;
  ok = load(lib, "curl_global_init", global_init, l.error) && ok;
  ok = load(lib, "curl_version_info", version_info, l.error) && ok;
  ok = load(lib, "curl_easy_init", l.api.easy_init, l.error) && ok;
  ok = load(lib, "curl_easy_cleanup", l.api.easy_cleanup, l.error) && ok;
  ok = load(lib, "curl_easy_setopt", l.api.easy_setopt, l.error) && ok;
  ok = load(lib, "curl_easy_perform", l.api.easy_perform, l.error) && ok;
  ok = load(lib, "curl_easy_getinfo", l.api.easy_getinfo, l.error) && ok;
  ok = load(lib, "curl_easy_strerror", l.api.easy_strerror, l.error) && ok;
  ok = load(lib, "curl_slist_append", l.api.slist_append, l.error) && ok;
  ok = load(lib, "curl_slist_free_all", l.api.slist_free_all, l.error) && ok;
  if (!ok) return l;
  // Options we pass (CURLOPT_PROTOCOLS_STR: 7.85) must be known to the library we run with.
  const curl_version_info_data* v = version_info(CURLVERSION_NOW);
  if (!v || v->version_num < LIBCURL_VERSION_NUM) {
    l.error = std::string(kSoname) + " is version " + (v && v->version ? v->version : "?") +
              ", older than the headers this program was built with (" LIBCURL_VERSION ")";
    return l;
  }
  if (CURLcode rc = global_init(CURL_GLOBAL_DEFAULT); rc != CURLE_OK)
    l.error = std::string("curl_global_init failed (code ") + std::to_string(static_cast<int>(rc)) + ")";
  return l;  // the library stays loaded for the life of the process (never dlclose'd)
}

}  // namespace

Result<const LibCurl*> libcurl() {
  static const Loaded loaded = open_libcurl();  // once, thread-safe (C++11 static initialisation)
  if (!loaded.error.empty()) return Error(Errc::unsupported, loaded.error);
  return &loaded.api;
}

}  // namespace pw::telemetry
