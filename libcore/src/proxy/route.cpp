// Route tables: compiled once per config snapshot, then read by every worker (no locks: RE2
// objects are thread-safe for matching).
//
// match() runs for every proxied request, so the common checks (listener, method, exact or
// prefix path, host) compare against pre-lowered strings and never allocate.
#include "pw/proxy/route.h"

#include <re2/re2.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>

#include "pw/base/strings.h"
#include "pw/http/path.h"

namespace pw::proxy {

namespace {

// Each compiled regex may use this much memory for its program and DFA caches; past it RE2
// falls back to its (still linear) NFA, and a pattern whose program alone is larger fails to
// compile.
constexpr std::int64_t kRegexMaxMem = 1 << 20;

RE2::Options regex_options() {
  RE2::Options o;
  o.set_log_errors(false);
  o.set_max_mem(kRegexMaxMem);
  return o;
}

std::unique_ptr<RE2> compile(const std::string& pattern, std::string& error) {
  auto re = std::make_unique<RE2>(pattern, regex_options());
  if (!re->ok()) {
    error = re->error();
    return nullptr;
  }
  return re;
}

bool starts_with(std::string_view s, std::string_view p) noexcept {
  return s.size() >= p.size() && s.compare(0, p.size(), p) == 0;
}

// Case-insensitive suffix test; `lower_suffix` is already lower case.
bool iends_with_lower(std::string_view s, std::string_view lower_suffix) noexcept {
  if (s.size() < lower_suffix.size()) return false;
  s.remove_prefix(s.size() - lower_suffix.size());
  for (std::size_t i = 0; i < s.size(); ++i)
    if (ascii_lower(s[i]) != lower_suffix[i]) return false;
  return true;
}

bool iequals_lower(std::string_view s, std::string_view lower) noexcept {
  return s.size() == lower.size() && iends_with_lower(s, lower);
}

int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Reads a query component one decoded byte at a time, without allocating: "%41" is 'A', '+' is
// a space (application/x-www-form-urlencoded, as every query parser reads it); a '%' not
// followed by two hex digits stands for itself.
class Decoder {
 public:
  explicit Decoder(std::string_view s) noexcept : s_(s) {}
  bool next(char& c) noexcept {
    if (i_ >= s_.size()) return false;
    c = s_[i_++];
    if (c == '+') {
      c = ' ';
    } else if (c == '%' && i_ + 2 <= s_.size()) {
      const int hi = hex_value(s_[i_]), lo = hex_value(s_[i_ + 1]);
      if (hi >= 0 && lo >= 0) {
        c = static_cast<char>(hi * 16 + lo);
        i_ += 2;
      }
    }
    return true;
  }

 private:
  std::string_view s_;
  std::size_t i_ = 0;
};

// decoded(raw) starts with `p` (whole: equals `p`).
bool decoded_starts_with(std::string_view raw, std::string_view p, bool whole) noexcept {
  Decoder d(raw);
  char c;
  for (char want : p)
    if (!d.next(c) || c != want) return false;
  return !whole || !d.next(c);
}

std::string decode(std::string_view raw) {
  std::string out;
  out.reserve(raw.size());
  Decoder d(raw);
  char c;
  while (d.next(c)) out.push_back(c);
  return out;
}

// The raw (still encoded) value of the first query parameter whose decoded name is `name`.
std::optional<std::string_view> find_query_param(std::string_view query, std::string_view name) noexcept {
  while (true) {
    const std::size_t amp = query.find('&');
    std::string_view part = query.substr(0, amp);
    if (!part.empty()) {
      const std::size_t eq = part.find('=');
      const std::string_view raw_name = part.substr(0, eq);
      if (decoded_starts_with(raw_name, name, true))
        return eq == std::string_view::npos ? std::string_view() : part.substr(eq + 1);
    }
    if (amp == std::string_view::npos) return std::nullopt;
    query.remove_prefix(amp + 1);
  }
}

// The Host as routes compare it: no port, and no trailing dot of an absolute name (RFC 1034
// §3.1: "example.com." is "example.com").
std::string_view host_for_matching(std::string_view host) noexcept {
  host = host_without_port(host);
  if (!host.empty() && host.back() == '.') host.remove_suffix(1);
  return host;
}

std::string route_path(std::size_t i) { return "/routes/" + std::to_string(i); }

// The path of a redirect or upstream target always begins with '/' (RFC 9112 §3.2.1
// origin-form); a rewrite that yields "" or "x" becomes "/" or "/x".
void ensure_leading_slash(std::string& s) {
  if (s.empty() || s.front() != '/') s.insert(s.begin(), '/');
}

// The request's path with the matched part replaced by `rewrite`: the route's prefix, or its
// exact path, or (regex / any path) nothing, in which case `rewrite` is put in front. A path
// that does not start with the matched prefix (a caller passing another path) keeps it.
void append_prefix_rewritten(std::string& out, const RouteMatch& m, std::string_view path,
                             std::string_view rewrite) {
  std::string_view matched;
  if (m.prefix) matched = *m.prefix;
  else if (m.path) matched = *m.path;
  if (!starts_with(path, matched)) matched = {};
  out.append(rewrite);
  out.append(path.substr(matched.size()));
}

}  // namespace

// ---------------------------------------------------------------------------------------------

struct CompiledRoute::Impl {
  enum class HostKind : std::uint8_t { exact, suffix };
  struct Host {
    HostKind kind;
    std::string lower;  // exact: "api.example.com"; suffix: ".example.com" (from "*.example.com")
  };
  enum class FieldKind : std::uint8_t { exact, prefix, regex, present };
  struct Field {  // the j-th entry of RouteMatch::headers or ::query
    std::size_t j = 0;
    FieldKind kind = FieldKind::present;
    std::unique_ptr<RE2> re;
  };

  bool any_host = true;  // no hosts, or "*" among them
  std::vector<Host> hosts;
  std::unique_ptr<RE2> path_re;
  std::vector<Field> headers;
  std::vector<Field> query;
  std::vector<Field> cookies;  // issue 15 splits
  std::unique_ptr<RE2> rewrite_re;

  bool host_matches(std::string_view host) const noexcept {
    if (any_host) return true;
    for (const Host& h : hosts) {
      if (h.kind == HostKind::exact) {
        if (iequals_lower(host, h.lower)) return true;
      } else if (host.size() > h.lower.size() && iends_with_lower(host, h.lower)) {
        return true;  // "*.example.com": one or more labels before ".example.com"
      }
    }
    return false;
  }

  // One header or query match; `value` is nullopt when the field or parameter is absent, and is
  // raw (percent-encoded) for query parameters (`decode_value`).
  static bool field_matches(const Field& f, const HeaderMatch& cfg, std::optional<std::string_view> value,
                            bool decode_value) {
    bool r = false;
    if (f.kind == FieldKind::present) {
      r = value.has_value() == cfg.present.value_or(true);  // "present": false asks for absence
    } else if (value) {
      switch (f.kind) {
        case FieldKind::exact:
          r = decode_value ? decoded_starts_with(*value, *cfg.exact, true) : *value == *cfg.exact;
          break;
        case FieldKind::prefix:
          r = decode_value ? decoded_starts_with(*value, *cfg.prefix, false) : starts_with(*value, *cfg.prefix);
          break;
        case FieldKind::regex:
          r = decode_value ? RE2::FullMatch(decode(*value), *f.re) : RE2::FullMatch(*value, *f.re);
          break;
        case FieldKind::present: break;
      }
    }
    return cfg.invert ? !r : r;
  }

  // `host` is the Host without its port (host_for_matching). With `why`, a failing check
  // names its matcher there ("methods", "headers/x-tenant"...): gw-proxy explain's account,
  // from the very checks the proxy runs (nothing is written on the common path).
  bool matches(const RouteMatch& m, const RequestView& r, std::string_view host, std::string* why = nullptr) const {
    const auto fail = [why](std::string_view what, std::string_view name = {}) {
      if (why) {
        why->assign(what);
        if (!name.empty()) why->append("/").append(name);
      }
      return false;
    };
    if (!m.listeners.empty()) {
      bool found = false;
      for (const std::string& l : m.listeners) found = found || l == r.listener;
      if (!found) return fail("listeners");
    }
    if (!m.methods.empty()) {
      // RFC 9110 §9.1: method names are case-sensitive.
      bool found = false;
      for (const std::string& meth : m.methods) found = found || meth == r.method;
      if (!found) return fail("methods");
    }
    if (m.path && r.path != *m.path) return fail("path");
    if (m.prefix && !starts_with(r.path, *m.prefix)) return fail("prefix");
    if (!host_matches(host)) return fail("hosts");
    if (path_re && !RE2::FullMatch(r.path, *path_re)) return fail("regex");
    for (const Field& f : headers) {
      const HeaderMatch& cfg = m.headers[f.j];
      std::optional<std::string_view> v;
      if (r.headers) v = r.headers->get(cfg.name);  // the first field of that name
      if (!field_matches(f, cfg, v, false)) return fail("headers", cfg.name);
    }
    for (const Field& f : query) {
      const HeaderMatch& cfg = m.query[f.j];
      if (!field_matches(f, cfg, find_query_param(r.query, cfg.name), true)) return fail("query", cfg.name);
    }
    for (const Field& f : cookies) {  // issue 15 splits: A/B by cookie
      const HeaderMatch& cfg = m.cookies[f.j];
      std::optional<std::string_view> v;
      if (r.headers) v = cookie_value(*r.headers, cfg.name);
      if (!field_matches(f, cfg, v, false)) return fail("cookies", cfg.name);
    }
    return true;
  }
};

CompiledRoute::~CompiledRoute() = default;
CompiledRoute::CompiledRoute(CompiledRoute&&) noexcept = default;
CompiledRoute& CompiledRoute::operator=(CompiledRoute&&) noexcept = default;

bool CompiledRoute::matches(const RequestView& r) const {
  return impl_->matches(cfg_.match, r, host_for_matching(r.host));
}

std::string CompiledRoute::mismatch(const RequestView& r) const {
  std::string why;
  if (impl_->matches(cfg_.match, r, host_for_matching(r.host), &why)) return {};
  return why;
}

std::string CompiledRoute::upstream_target(std::string_view path, std::string_view query) const {
  std::string out;
  const Forward* fw = cfg_.forward ? &*cfg_.forward : nullptr;
  if (fw && fw->prefix_rewrite) {
    out.reserve(fw->prefix_rewrite->size() + path.size() + query.size() + 2);
    append_prefix_rewritten(out, cfg_.match, path, *fw->prefix_rewrite);
  } else if (fw && impl_->rewrite_re) {
    out.assign(path);
    // Replaces the first match of the pattern (anchor it, "^/a/(.*)$", to rewrite the whole
    // path); no match leaves the path as it was.
    RE2::Replace(&out, *impl_->rewrite_re, fw->regex_rewrite->substitution);
  } else {
    out.reserve(path.size() + query.size() + 2);
    out.assign(path);
  }
  ensure_leading_slash(out);
  if (!query.empty()) {
    // A rewrite may bring a query of its own ("/profile?id=\\1"): the client's joins it.
    out.push_back(out.find('?') == std::string::npos ? '?' : '&');
    out.append(query);
  }
  return out;
}

std::string CompiledRoute::redirect_location(std::string_view scheme, std::string_view host, std::string_view path,
                                             std::string_view query) const {
  static const Redirect kNone{};
  const Redirect& rd = cfg_.redirect ? *cfg_.redirect : kNone;

  std::string out;
  out.reserve(scheme.size() + host.size() + path.size() + query.size() + 16);
  const std::string_view new_scheme = rd.scheme ? std::string_view(*rd.scheme) : scheme;

  // Authority. A relative reference (RFC 9110 §10.2.2 allows one) when there is no host at all.
  std::string_view name = rd.host ? std::string_view(*rd.host) : host_without_port(host);
  if (!name.empty()) {
    out.append(new_scheme);
    out.append("://");
    const bool bare_v6 = name.find(':') != std::string_view::npos && name.front() != '[';
    if (bare_v6) out.push_back('[');
    out.append(name);
    if (bare_v6) out.push_back(']');
    std::string_view port;
    std::string port_buf;
    if (rd.port) {
      port_buf = std::to_string(*rd.port);
      port = port_buf;
    } else if (!rd.host && name.size() < host.size()) {
      port = host.substr(name.size() + 1);  // after "name:"
      // Moving to another scheme, the old scheme's default port does not follow
      // ("http://a:80" -> "https://a", not "https://a:80").
      if (new_scheme != scheme && ((scheme == "http" && port == "80") || (scheme == "https" && port == "443")))
        port = {};
    }
    const bool default_port = (new_scheme == "http" && port == "80") || (new_scheme == "https" && port == "443");
    if (!port.empty() && !default_port) {
      out.push_back(':');
      out.append(port);
    }
  }

  // Path and query.
  const std::size_t path_start = out.size();
  bool query_in_path = false;
  if (rd.path) {
    out.append(*rd.path);
    query_in_path = rd.path->find('?') != std::string::npos;  // the configured query replaces the request's
  } else if (rd.prefix_rewrite) {
    append_prefix_rewritten(out, cfg_.match, path, *rd.prefix_rewrite);
  } else {
    out.append(path);
  }
  if (out.size() == path_start || out[path_start] != '/') out.insert(out.begin() + static_cast<std::ptrdiff_t>(path_start), '/');
  if (!rd.strip_query && !query_in_path && !query.empty()) {
    out.push_back('?');
    out.append(query);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------

Result<RouteTable> RouteTable::build(const std::vector<Route>& routes) {
  RouteTable t;
  t.routes_.reserve(routes.size());
  for (std::size_t i = 0; i < routes.size(); ++i) {
    CompiledRoute cr;
    cr.cfg_ = routes[i];
    cr.index_ = i;
    if (cr.cfg_.name.empty()) cr.cfg_.name = "route" + std::to_string(i);
    cr.impl_ = std::make_unique<CompiledRoute::Impl>();
    auto& impl = *cr.impl_;
    const RouteMatch& m = cr.cfg_.match;
    const std::string at = route_path(i);
    std::string err;

    if (m.path.has_value() + m.prefix.has_value() + m.regex.has_value() > 1)
      return make_error(Errc::invalid_argument, at + "/match: at most one of \"path\", \"prefix\", \"regex\"");

    impl.any_host = m.hosts.empty();
    for (const std::string& h : m.hosts) {
      std::string lower = to_lower(host_without_port(h));
      if (!lower.empty() && lower.back() == '.') lower.pop_back();  // "example.com." is "example.com"
      if (lower == "*") impl.any_host = true;
      else if (lower.size() > 2 && lower[0] == '*' && lower[1] == '.')
        impl.hosts.push_back({CompiledRoute::Impl::HostKind::suffix, lower.substr(1)});
      else
        impl.hosts.push_back({CompiledRoute::Impl::HostKind::exact, std::move(lower)});
    }
    if (m.regex && !(impl.path_re = compile(*m.regex, err)))
      return make_error(Errc::invalid_argument, at + "/match/regex: " + err);

    auto compile_fields = [&](const std::vector<HeaderMatch>& in, std::vector<CompiledRoute::Impl::Field>& out,
                              const char* what) -> Status {
      for (std::size_t j = 0; j < in.size(); ++j) {
        const HeaderMatch& hm = in[j];
        const std::string fat = at + "/match/" + what + "/" + std::to_string(j);
        if (hm.exact.has_value() + hm.prefix.has_value() + hm.regex.has_value() + hm.present.has_value() != 1)
          return make_error(Errc::invalid_argument,
                            fat + ": needs exactly one of \"exact\", \"prefix\", \"regex\", \"present\"");
        CompiledRoute::Impl::Field f;
        f.j = j;
        if (hm.exact) f.kind = CompiledRoute::Impl::FieldKind::exact;
        else if (hm.prefix) f.kind = CompiledRoute::Impl::FieldKind::prefix;
        else if (hm.present) f.kind = CompiledRoute::Impl::FieldKind::present;
        else {
          f.kind = CompiledRoute::Impl::FieldKind::regex;
          if (!(f.re = compile(*hm.regex, err))) return make_error(Errc::invalid_argument, fat + "/regex: " + err);
        }
        out.push_back(std::move(f));
      }
      return {};
    };
    if (auto s = compile_fields(m.headers, impl.headers, "headers"); !s) return std::move(s).error();
    if (auto s = compile_fields(m.query, impl.query, "query"); !s) return std::move(s).error();
    if (auto s = compile_fields(m.cookies, impl.cookies, "cookies"); !s) return std::move(s).error();

    if (cr.cfg_.forward && cr.cfg_.forward->regex_rewrite) {
      const RegexRewrite& rw = *cr.cfg_.forward->regex_rewrite;
      if (!(impl.rewrite_re = compile(rw.pattern, err)))
        return make_error(Errc::invalid_argument, at + "/forward/regex_rewrite/pattern: " + err);
      if (!impl.rewrite_re->CheckRewriteString(rw.substitution, &err))
        return make_error(Errc::invalid_argument, at + "/forward/regex_rewrite/substitution: " + err);
    }
    t.routes_.push_back(std::move(cr));
  }
  return t;
}

const CompiledRoute* RouteTable::match(const RequestView& r) const {
  const std::string_view host = host_for_matching(r.host);
  for (const CompiledRoute& cr : routes_)
    if (cr.impl_->matches(cr.cfg_.match, r, host)) return &cr;
  return nullptr;
}

namespace {
http::PathNormalization http_options(const PathNormalizationConfig& cfg) noexcept {
  http::PathNormalization opt;
  opt.merge_slashes = cfg.merge_slashes;
  opt.escaped_slashes = cfg.escaped_slashes == EscapedSlashesAction::keep       ? http::EscapedSlashes::keep
                        : cfg.escaped_slashes == EscapedSlashesAction::unescape ? http::EscapedSlashes::unescape
                                                                                : http::EscapedSlashes::reject;
  return opt;
}
}  // namespace

Status check_upstream_path(const PathNormalizationConfig& cfg, std::string_view target) {
  if (cfg.mode == PathMode::off || target.empty() || target.front() != '/') return {};
  const std::string_view path = target.substr(0, target.find('?'));
  // The client's part was normalised already, and the configured text is the operator's: only
  // dot segments that the joining made matter here ("//" from prefix "/api" and rewrite "/"
  // is common and harmless: "/api/x" -> "//x").
  if (!http::has_dot_or_empty_segment(path, false)) return {};
  return make_error(Errc::parse_error, "the rewritten path \"" + escape_for_log(path, 128) +
                                           "\" has a dot segment");
}

Result<std::string_view> path_for_routing(const PathNormalizationConfig& cfg, std::string_view path,
                                          std::string& storage) {
  if (cfg.mode == PathMode::off || path.empty() || path.front() != '/') return path;
  const http::PathNormalization opt = http_options(cfg);
  if (http::is_normal_path(path, opt)) return path;
  auto normal = http::normalize_path(path, opt);
  if (!normal.ok()) return std::move(normal).error();
  if (cfg.mode == PathMode::reject)
    return make_error(Errc::parse_error, "path \"" + escape_for_log(path, 128) + "\" is not in normal form (\"" +
                                             escape_for_log(*normal, 128) + "\")");
  storage = std::move(*normal);
  return std::string_view(storage);
}

std::string_view host_without_port(std::string_view host) noexcept {
  if (!host.empty() && host.front() == '[') {
    const std::size_t close = host.find(']');
    return close == std::string_view::npos ? host : host.substr(0, close + 1);
  }
  return host.substr(0, host.find(':'));
}

// The value of cookie `name` in Cookie fields ("a=1; b=2", RFC 6265 §4.2.1; names compare
// case-sensitively, §5.4 leaves the value as is).
std::optional<std::string_view> cookie_value(const http::HeaderList& headers, std::string_view name) {
  for (const http::Header& h : headers) {
    if (!iequals(h.name, "cookie")) continue;
    std::string_view rest = h.value;
    while (!rest.empty()) {
      const std::size_t semi = rest.find(';');
      std::string_view pair = trim_ows(rest.substr(0, semi));
      rest = semi == std::string_view::npos ? std::string_view() : rest.substr(semi + 1);
      const std::size_t eq = pair.find('=');
      if (eq == std::string_view::npos) continue;
      if (trim_ows(pair.substr(0, eq)) == name) return trim_ows(pair.substr(eq + 1));
    }
  }
  return std::nullopt;
}

std::optional<std::string> regex_error(const std::string& pattern) {
  RE2 re(pattern, regex_options());
  if (re.ok()) return std::nullopt;
  return re.error();
}

}  // namespace pw::proxy
