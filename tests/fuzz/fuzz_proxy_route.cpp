// Feeds arbitrary requests to a fixed route table (hosts with wildcards and ports, prefix and
// regex paths with captures, header, cookie and percent-decoded query matches) and rewrites them.
// Input: "host\npath\nquery\nheader value" (missing parts are empty).
// Properties: never crash; match() is the first route whose matches() accepts; every upstream
// target starts with '/' and ends with the query; a redirect Location is never empty. All of
// these hold for the raw path and for the path as the listener's default path_normalization
// gives it (path_for_routing), which is a fixed point: normalising it again returns it.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "pw/proxy/route.h"

namespace {

using namespace pw::proxy;

Route forward_route(std::string name) {
  Route r;
  r.name = std::move(name);
  r.forward = Forward{};
  r.forward->cluster = "c";
  return r;
}

HeaderMatch header_match(std::string name) {
  HeaderMatch m;
  m.name = std::move(name);
  return m;
}

std::vector<Route> routes() {
  std::vector<Route> v;
  Route api = forward_route("api");
  api.match.hosts = {"api.example.com", "*.api.test:8080"};
  api.match.prefix = "/api/";
  api.forward->prefix_rewrite = "/";
  v.push_back(api);

  Route users = forward_route("users");
  users.match.regex = "/users/([0-9]+)/(.*)";
  users.forward->regex_rewrite = RegexRewrite{"^/users/([0-9]+)/(.*)$", "/u/\\2/\\1"};
  v.push_back(users);

  Route strip = forward_route("strip");
  strip.match.hosts = {"*.example.com"};
  strip.match.prefix = "/strip";
  HeaderMatch ver = header_match("x-ver");
  ver.regex = "v[0-9]+";
  strip.match.headers.push_back(ver);
  strip.forward->regex_rewrite = RegexRewrite{"^/strip(.*)$", "\\1"};
  v.push_back(strip);

  Route query = forward_route("query");
  HeaderMatch id = header_match("id");
  id.regex = "[0-9]+";
  query.match.query.push_back(id);
  HeaderMatch flag = header_match("f l%");
  flag.prefix = "on";
  flag.invert = true;
  query.match.query.push_back(flag);
  HeaderMatch nover = header_match("X-Ver");
  nover.exact = "v1";
  nover.invert = true;
  query.match.headers.push_back(nover);
  query.forward->regex_rewrite = RegexRewrite{"[aeiou]+", ""};
  v.push_back(query);

  Route old = forward_route("old");
  old.match.prefix = "/old";
  old.forward->prefix_rewrite = "";
  v.push_back(old);

  Route redirect;
  redirect.name = "redirect";
  redirect.match.hosts = {"*.redirect.test"};
  redirect.match.prefix = "/r";
  redirect.redirect = Redirect{};
  redirect.redirect->scheme = "https";
  redirect.redirect->prefix_rewrite = "x";
  v.push_back(redirect);

  Route exact = forward_route("exact");
  exact.match.path = "/health";
  exact.match.methods = {"GET"};
  v.push_back(exact);

  // issue 15: A/B by cookie (the Cookie field carries the input's value too).
  Route ab = forward_route("ab");
  HeaderMatch version = header_match("version");
  version.regex = "b[0-9]*";
  ab.match.cookies.push_back(version);
  HeaderMatch gone = header_match("v1");
  gone.present = false;
  ab.match.cookies.push_back(gone);
  v.push_back(ab);

  v.push_back(forward_route("all"));
  return v;
}

const RouteTable& table() {
  static const RouteTable t = [] {
    auto r = RouteTable::build(routes());
    if (!r.ok()) __builtin_trap();
    return std::move(r).value();
  }();
  return t;
}

std::string_view next_part(std::string_view& in) {
  const std::size_t nl = in.find('\n');
  std::string_view part = in.substr(0, nl);
  in = nl == std::string_view::npos ? std::string_view() : in.substr(nl + 1);
  return part;
}

void check(std::string_view host, std::string_view path, std::string_view query, std::string_view value) {

  pw::http::HeaderList headers;
  headers.push_back({"X-Ver", value});
  headers.push_back({"Cookie", value});
  const RequestView req{"main", "GET", host, path, query, &headers};
  const RouteTable& t = table();
  const CompiledRoute* m = t.match(req);
  const CompiledRoute* first = nullptr;
  for (const CompiledRoute& r : t.routes())
    if (!first && r.matches(req)) first = &r;
  if (m != first) __builtin_trap();

  for (const CompiledRoute& r : t.routes()) {
    const std::string target = r.upstream_target(path, query);
    if (target.empty() || target.front() != '/') __builtin_trap();
    if (!query.empty() && (target.size() <= query.size() ||
                           std::string_view(target).substr(target.size() - query.size() - 1) != "?" + std::string(query)))
      __builtin_trap();
  }
  const CompiledRoute& redirect = t.routes()[5];
  if (redirect.redirect_location("http", host, path, query).empty()) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  const std::string_view host = next_part(in), path = next_part(in), query = next_part(in), value = next_part(in);
  if (host_without_port(host) != host.substr(0, host_without_port(host).size())) __builtin_trap();
  // A path is what comes before the first '?' of a target: it never holds one (a rewrite that
  // brings its own query is what joins the client's with '&').
  if (path.find('?') != std::string_view::npos) return 0;
  check(host, path, query, value);

  const PathNormalizationConfig cfg;
  std::string storage, again_storage;
  auto normal = path_for_routing(cfg, path, storage);
  if (!normal.ok()) return 0;
  const std::string once(*normal);
  auto again = path_for_routing(cfg, once, again_storage);
  if (!again.ok() || *again != once) __builtin_trap();
  check(host, once, query, value);
  return 0;
}
