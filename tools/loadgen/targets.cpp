#include "targets.h"

#include <nlohmann/json.hpp>

#include <fstream>
#include <map>
#include <optional>
#include <sstream>

#include "pw/base/lines.h"
#include "pw/base/strings.h"
#include "pw/http/serializer.h"

namespace loadgen {

using pw::Errc;
using pw::make_error;

std::string json_quote(std::string_view s) {
  return nlohmann::json(std::string(s)).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

pw::Result<std::pair<std::string, std::string>> parse_header_line(std::string_view line) {
  auto colon = line.find(':');
  if (colon == std::string_view::npos || colon == 0)
    return make_error(Errc::invalid_argument, "header \"" + pw::escape_for_log(line) + "\": expected 'Name: value'");
  std::string name(line.substr(0, colon));
  if (name.back() == ' ' || name.back() == '\t')
    return make_error(Errc::invalid_argument, "header \"" + pw::escape_for_log(line) + "\": no space before the colon");
  return std::pair{name, std::string(pw::trim_ows(line.substr(colon + 1)))};
}

pw::Result<std::string> load_body(std::string_view spec) {
  if (spec.empty() || spec.front() != '@') return std::string(spec);
  std::string path(spec.substr(1));
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error(Errc::not_found, "body file " + path + ": cannot open");
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

namespace {

std::string_view trim_line(std::string_view line) {
  while (!line.empty() && (line.back() == ' ' || line.back() == '\t' || line.back() == '\r')) line.remove_suffix(1);
  while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
  return line;
}

// vegeta's request line: an upper-case method, white space, the URL ("GET http://h/x").
bool vegeta_request_line(std::string_view line, std::string_view& method, std::string_view& url) {
  std::size_t i = 0;
  while (i < line.size() && line[i] >= 'A' && line[i] <= 'Z') ++i;
  if (i == 0 || i >= line.size() || (line[i] != ' ' && line[i] != '\t')) return false;
  method = line.substr(0, i);
  url = trim_line(line.substr(i));
  return !url.empty();
}

// A line that starts a target of loadgen's own kinds (a URL, a JSON object) rather than
// continuing a vegeta target's header lines.
bool starts_own_target(std::string_view line) {
  return line.front() == '{' || line.starts_with("http://") || line.starts_with("https://");
}

}  // namespace

pw::Result<std::vector<TargetSpec>> parse_targets(std::string_view text, std::string_view source) {
  std::vector<TargetSpec> out;
  pw::LineReader lines(text);
  std::optional<std::string_view> pending;  // a line read ahead by a vegeta target
  std::size_t pending_no = 0;
  while (true) {
    std::string_view line;
    std::size_t line_no = 0;
    if (pending) {
      line = *pending;
      line_no = pending_no;
      pending.reset();
    } else {
      auto next = lines.next();
      if (!next) break;
      line = trim_line(*next);
      line_no = lines.line_no();
    }
    if (line.empty() || line.front() == '#') continue;
    TargetSpec t;
    t.where = std::string(source) + ":" + std::to_string(line_no);
    auto fail = [&](const std::string& msg) { return make_error(Errc::parse_error, t.where + ": " + msg); };
    std::string_view vmethod, vurl;
    if (line.front() != '{' && vegeta_request_line(line, vmethod, vurl)) {
      // vegeta's http format: "METHOD URL", then "Name: value" header lines, then an optional
      // "@file" body line; a blank line (or the next request line) ends the target.
      t.method = std::string(vmethod);
      t.url = std::string(vurl);
      while (auto more = lines.next()) {
        std::string_view l = trim_line(*more);
        const std::size_t no = lines.line_no();
        std::string_view m, u;
        if (l.empty()) break;
        if (l.front() == '#') continue;
        if (starts_own_target(l) || vegeta_request_line(l, m, u)) {
          pending = l;
          pending_no = no;
          break;
        }
        const std::string at = std::string(source) + ":" + std::to_string(no);
        if (l.front() == '@') {
          auto b = load_body(l);
          if (!b) return make_error(Errc::parse_error, at + ": " + b.error().message);
          t.body = std::move(*b);
          t.has_body = true;
          break;  // as vegeta: the body line ends the target
        }
        auto h = parse_header_line(l);
        if (!h) return make_error(Errc::parse_error, at + ": " + h.error().message + " (or a blank line between targets)");
        if (t.headers.size() >= kMaxTargetHeaders)
          return make_error(Errc::parse_error, at + ": more than " + std::to_string(kMaxTargetHeaders) + " headers");
        t.headers.push_back(std::move(*h));
      }
      out.push_back(std::move(t));
      continue;
    }
    if (line.front() != '{') {
      if (line.find_first_of(" \t") != std::string_view::npos)
        return fail("expected a URL or a JSON object, got \"" + pw::escape_for_log(line) + "\"");
      t.url = std::string(line);
      out.push_back(std::move(t));
      continue;
    }
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return fail("invalid JSON object");
    for (auto& [key, v] : j.items()) {
      if (key == "url") {
        if (!v.is_string()) return fail("/url: expected a string");
        t.url = v.get<std::string>();
      } else if (key == "method") {
        if (!v.is_string()) return fail("/method: expected a string");
        t.method = v.get<std::string>();
      } else if (key == "body") {
        if (!v.is_string()) return fail("/body: expected a string (\"@file\" reads a file)");
        auto b = load_body(v.get<std::string>());
        if (!b) return fail("/body: " + b.error().message);
        t.body = std::move(*b);
        t.has_body = true;
      } else if (key == "headers") {
        if (v.is_object()) {
          for (auto& [hn, hv] : v.items()) {
            if (!hv.is_string()) return fail("/headers/" + hn + ": expected a string");
            t.headers.emplace_back(hn, hv.get<std::string>());
          }
        } else if (v.is_array()) {
          std::size_t i = 0;
          for (auto& h : v) {
            if (!h.is_string()) return fail("/headers/" + std::to_string(i) + ": expected \"Name: value\"");
            auto p = parse_header_line(h.get<std::string>());
            if (!p) return fail("/headers/" + std::to_string(i) + ": " + p.error().message);
            t.headers.push_back(std::move(*p));
            ++i;
          }
        } else {
          return fail("/headers: expected an object or an array of \"Name: value\" strings");
        }
      } else {
        return fail("unknown field \"" + key + "\" (expected method, url, headers, body)");
      }
    }
    if (t.url.empty()) return fail("missing \"url\"");
    out.push_back(std::move(t));
  }
  return out;
}

pw::Result<TargetSet> build_targets(const std::vector<TargetSpec>& specs, const RequestDefaults& d) {
  TargetSet set;
  std::map<std::string, std::size_t> origin_index;
  for (const auto& spec : specs) {
    auto fail = [&](const std::string& msg) { return make_error(Errc::invalid_argument, spec.where + ": " + msg); };
    auto url = pw::http::parse_url(spec.url);
    if (!url) return fail(url.error().message);
    Target t;
    t.method_name = spec.method.empty() ? d.method : spec.method;
    t.method = pw::http::method_from_name(t.method_name);
    t.url = url->to_string();
    t.json_url = json_quote(t.url);
    t.json_method = json_quote(t.method_name);

    std::string key = std::string(url->is_tls() ? "https://" : "http://") + url->authority();
    auto it = origin_index.find(key);
    if (it == origin_index.end()) {
      auto addrs = pw::http::resolve_blocking(url->host, url->port);
      if (!addrs) return fail(addrs.error().message);
      if (addrs->empty()) return fail("no address for " + url->host);
      Origin o;
      o.url = *url;
      o.url.target = "/";
      o.addr = addrs->front();
      o.key = key;
      it = origin_index.emplace(key, set.origins.size()).first;
      set.origins.push_back(std::move(o));
    }
    t.origin = it->second;

    // Fields: Host (unless given), the defaults' headers, the target's own, User-Agent,
    // Connection: close without keep-alive.
    HeaderPairs all = d.headers;
    all.insert(all.end(), spec.headers.begin(), spec.headers.end());
    bool has_host = false, has_ua = false, has_conn = false;
    for (const auto& [n, v] : all) {
      has_host |= pw::iequals(n, "host");
      has_ua |= pw::iequals(n, "user-agent");
      has_conn |= pw::iequals(n, "connection");
      if (pw::iequals(n, "content-length") || pw::iequals(n, "transfer-encoding"))
        return fail("header " + n + ": the body's framing is set by loadgen (Content-Length from the body)");
    }
    std::string host = url->authority();
    std::vector<pw::http::Header> fields;
    if (!has_host) fields.push_back({"Host", host});
    for (const auto& [n, v] : all) fields.push_back({n, v});
    if (!has_ua && !d.user_agent.empty()) fields.push_back({"User-Agent", d.user_agent});
    if (!d.keepalive && !has_conn) fields.push_back({"Connection", "close"});

    const bool has_body = spec.has_body || d.has_body;
    t.body = spec.has_body ? spec.body : d.body;
    // A body, or a method whose requests normally carry one, gets a Content-Length (RFC 9110
    // §8.6: a user agent SHOULD send it for POST and PUT even when it is 0).
    bool framed = has_body || t.method == pw::http::Method::post || t.method == pw::http::Method::put ||
                  t.method == pw::http::Method::patch;
    auto framing = framed ? pw::http::BodyFraming::length_of(t.body.size()) : pw::http::BodyFraming::none();
    auto st = pw::http::append_request_head(t.head, t.method_name, url->target, pw::http::Version::http11, fields, framing);
    if (!st) return fail(st.error().message);
    set.targets.push_back(std::move(t));
  }
  if (set.targets.empty()) return make_error(Errc::invalid_argument, "no targets: give a URL or --targets FILE");
  return set;
}

}  // namespace loadgen
