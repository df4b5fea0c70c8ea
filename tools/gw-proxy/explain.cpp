#include "explain.h"

#include <algorithm>
#include <filesystem>
#include <ostream>
#include <random>

#include "pw/base/strings.h"
#include "pw/cli/exit_codes.h"
#include "pw/cli/values.h"
#include "pw/config/load.h"
#include "pw/config/source.h"
#include "pw/http/request_target.h"
#include "pw/http/server.h"
#include "pw/http/url.h"
#include "pw/io/address.h"
#include "pw/io/loop.h"
#include "pw/proxy/engine.h"
#include "pw/proxy/filter.h"
#include "pw/proxy/headers.h"
#include "pw/proxy/route.h"
#include "pw/telemetry/trace_export.h"
#include "pw/telemetry/metrics.h"

namespace gw {
namespace proxy = pw::proxy;
using pw::cli::Failure;
using Json = pw::config::Json;

namespace {

// The FilterContext of an explained request: what a filter answers is recorded, not sent.
class ExplainContext final : public proxy::FilterContext {
 public:
  ExplainContext(const pw::http::ServerRequest& req, std::string_view path, std::string query, std::string client_ip)
      : req_(req), path_(path), query_(std::move(query)), client_ip_(std::move(client_ip)) {}

  const pw::http::ServerRequest& request() const override { return req_; }
  std::string_view path() const override { return path_; }
  proxy::FieldList& upstream_fields() override { return fields; }
  void respond(int s, proxy::FieldList f, std::string) override {
    if (status != 0) return;  // the first answer counts, as in the proxy
    status = s;
    for (const auto& h : f) response_fields.push_back(std::string(h.name) + ": " + std::string(h.value));
  }
  void resume() override {}
  pw::io::Loop& loop() override { return loop_; }  // never run: nothing is scheduled offline
  std::string_view request_id() const override { return rid; }
  proxy::Identity& identity() override { return id; }
  std::string_view client_ip() const override { return client_ip_; }
  std::string_view query() const override { return query_; }
  void set_query(std::string q) override { query_ = std::move(q); }

  proxy::FieldList fields;
  proxy::Identity id;
  std::string rid;
  int status = 0;
  std::vector<std::string> response_fields;

 private:
  const pw::http::ServerRequest& req_;
  std::string_view path_;
  std::string query_;
  std::string client_ip_;
  pw::io::Loop loop_;
};

std::vector<std::pair<std::string, std::string>> copy_fields(const proxy::FieldList& f) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& h : f) out.emplace_back(pw::to_lower(h.name), std::string(h.value));
  return out;
}

// Fields whose values are credentials: their values are never printed, only their length.
bool credential_field(std::string_view lower_name) {
  for (std::string_view w : {"authorization", "cookie", "token", "secret", "password", "api-key", "apikey", "credential"})
    if (lower_name.find(w) != std::string_view::npos) return true;
  return false;
}

// URLs a filter reports (JWKS, introspection, ratelimitd): userinfo and query may carry
// credentials, so neither is printed. Applied to every string of a filter's account.
void redact_urls(Json& j) {
  if (j.is_string()) {
    const std::string& s = j.get_ref<const std::string&>();
    if (s.rfind("http://", 0) == 0 || s.rfind("https://", 0) == 0) {
      std::string shown = pw::telemetry::redact_url(s);
      if (auto q = shown.find('?'); q != std::string::npos) shown.replace(q, std::string::npos, "?<query not shown>");
      j = shown;
    }
  } else if (j.is_structured()) {
    for (auto& v : j) redact_urls(v);
  }
}

// The header changes a filter made: fields set (name and new value) and names removed. A
// removed field's value is not shown (it may be a credential), nor a set credential's.
Json header_changes(const std::vector<std::pair<std::string, std::string>>& before, const proxy::FieldList& after_list) {
  const auto after = copy_fields(after_list);
  const auto values = [](const std::vector<std::pair<std::string, std::string>>& v, const std::string& n) {
    std::vector<std::string> out;
    for (const auto& [k, val] : v)
      if (k == n) out.push_back(val);
    return out;
  };
  Json set = Json::object(), removed = Json::array();
  for (const auto& [n, v] : after)
    if (!set.contains(n) && values(before, n) != values(after, n))
      set[n] = credential_field(n) ? "<" + std::to_string(v.size()) + " bytes, not shown>" : v;
  for (const auto& [n, v] : before)
    if (values(after, n).empty() && std::find(removed.begin(), removed.end(), Json(n)) == removed.end()) removed.push_back(n);
  Json out = Json::object();
  if (!set.empty()) out["set"] = std::move(set);
  if (!removed.empty()) out["removed"] = std::move(removed);
  return out;
}

Json identity_json(const proxy::Identity& id) {
  Json j = Json::object();
  if (!id.consumer_id.empty()) j["consumer"] = id.consumer_id;
  if (id.anonymous) j["anonymous"] = true;
  if (!id.groups.empty()) j["groups"] = id.groups;
  if (!id.plan.empty()) j["plan"] = id.plan;
  if (!id.auth.empty()) j["auth"] = id.auth;
  return j;
}

Json query_names(std::string_view q) {
  Json out = Json::array();
  while (!q.empty()) {
    const auto amp = q.find('&');
    const std::string_view part = q.substr(0, amp);
    out.push_back(std::string(part.substr(0, part.find('='))));
    if (amp == std::string_view::npos) break;
    q.remove_prefix(amp + 1);
  }
  return out;
}

std::string compact(const Json& j) { return j.is_string() ? j.get<std::string>() : j.dump(); }

void print_text(const Json& r, std::ostream& out) {
  const Json& q = r["request"];
  out << "request: " << compact(q["method"]) << ' ' << compact(q["host"]) << compact(q["path"]) << " on listener "
      << compact(q["listener"]) << " from " << compact(q["client_ip"]) << '\n';
  if (!q["query_parameters"].empty()) out << "  query parameters: " << compact(q["query_parameters"]) << '\n';
  for (const Json& rt : r["routes"]) {
    if (rt["matched"].get<bool>())
      out << "route " << compact(rt["name"]) << ": matches\n";
    else
      out << "route " << compact(rt["name"]) << ": no match (" << compact(rt["failed"]) << ")\n";
  }
  if (r["route"].is_null() && !r["routes"].empty()) out << "no route matches\n";
  for (const Json& f : r["filters"]) {
    out << "filter " << compact(f["type"]) << ": " << compact(f["decision"]);
    if (f.contains("status")) out << ' ' << f["status"].get<int>();
    out << '\n';
    for (const auto& [k, v] : f.items()) {
      if (k == "type" || k == "decision" || k == "status") continue;
      out << "  " << k << ": " << compact(v) << '\n';
    }
  }
  if (r.contains("action")) {
    const Json& a = r["action"];
    out << "action: " << compact(a["type"]);
    if (a.contains("cluster")) out << " to cluster " << compact(a["cluster"]) << " (" << compact(a["lb"]) << ")";
    if (a.contains("target")) out << ", target " << compact(a["target"]);
    if (a.contains("status")) out << ' ' << a["status"].get<int>();
    out << '\n';
    if (a.contains("split")) {
      const Json& sp = a["split"];
      out << "  split (" << compact(sp["pick"]) << (sp.contains("sticky_on") ? ", sticky on " + compact(sp["sticky_on"]) : "")
          << "):";
      for (const Json& e : sp["clusters"]) out << ' ' << compact(e["name"]) << '=' << e["weight"].get<std::uint32_t>();
      out << '\n';
    }
    if (a.contains("mirror"))
      out << "  mirror " << compact(a["mirror"]["percent"]) << "% to cluster " << compact(a["mirror"]["cluster"]) << '\n';
    if (a.contains("endpoints"))
      for (const Json& e : a["endpoints"]) out << "  endpoint " << compact(e["address"]) << " weight " << e["weight"].get<int>() << '\n';
  }
  const Json& res = r["result"];
  out << "result: " << compact(res["outcome"]);
  if (res.contains("status")) out << ' ' << res["status"].get<int>();
  if (res.contains("by")) out << " (" << compact(res["by"]) << ")";
  if (res.contains("unless_refused_by")) out << " unless refused by " << compact(res["unless_refused_by"]) << " (not called offline)";
  out << '\n';
}

}  // namespace

int explain(const ExplainOptions& o, std::ostream& out) {
  if (o.config.empty()) throw Failure(pw::cli::exit_usage, "explain needs --config FILE");
  // The request first: a usage error is reported before the configuration is read.
  std::string authority, target;
  if (!o.url.empty() && o.url.front() == '/') {
    target = o.url;
  } else {
    auto u = pw::http::parse_url(o.url);
    if (!u) throw Failure(pw::cli::exit_usage, "URL " + pw::config::quote(o.url) + ": " + u.error().message);
    authority = u->authority();
    target = u->target;
  }
  std::string head = o.method + " " + target + " HTTP/1.1\r\n";
  bool has_host = false;
  for (const std::string& h : o.headers) {
    const auto colon = h.find(':');
    if (colon == std::string::npos || colon == 0) throw Failure(pw::cli::exit_usage, "-H " + pw::config::quote(h) + ": expected \"Name: value\"");
    has_host = has_host || pw::iequals(pw::trim_ows(std::string_view(h).substr(0, colon)), "host");
    head += h + "\r\n";
  }
  if (!has_host && !authority.empty()) head = o.method + " " + target + " HTTP/1.1\r\nHost: " + authority + "\r\n" + head.substr(head.find("\r\n") + 2);
  head += "\r\n";
  auto peer = pw::io::SockAddr::from_ip_port(o.from, 40000);
  if (!peer) throw Failure(pw::cli::exit_usage, "--from " + pw::config::quote(o.from) + ": " + peer.error().message);
  auto req = pw::http::ServerRequest::from_head(head, *peer);
  if (!req) throw Failure(pw::cli::exit_usage, "the request: " + req.error().message);

  // The configuration, compiled as a start compiles it (listeners are not bound).
  auto cfg = pw::config::load_file<proxy::Config>(o.config);
  if (!cfg) throw Failure(pw::cli::exit_code_for(cfg.error()), cfg.error().message);
  if (!o.consumers_file.empty())
    cfg->consumers = proxy::ConsumersConfig{std::filesystem::absolute(o.consumers_file).string()};
  pw::telemetry::Registry registry;
  proxy::Metrics metrics(registry, "gw");
  auto built = proxy::build_snapshot(std::move(*cfg), pw::config::display_name(o.config), nullptr, metrics, nullptr,
                                     /*offline=*/true);
  if (!built) throw Failure(pw::cli::exit_code_for(built.error()), built.error().message);
  const proxy::Snapshot& snap = **built;
  const proxy::Config& c = snap.config;

  std::size_t li = 0;
  if (!o.listener.empty()) {
    while (li < c.listeners.size() && c.listeners[li].name != o.listener) ++li;
    if (li == c.listeners.size()) throw Failure(pw::cli::exit_usage, "--listener: no listener " + pw::config::quote(o.listener));
  } else if (!authority.empty()) {
    auto u = pw::http::parse_url(o.url);
    for (std::size_t i = 0; i < c.listeners.size(); ++i)
      if (c.listeners[i].port == u->port) {
        li = i;
        break;
      }
  }
  const proxy::Listener& l = c.listeners[li];

  Json r = Json::object();
  const auto emit = [&] {
    if (o.json) out << r.dump() << '\n';
    else print_text(r, out);
    return pw::cli::exit_ok;
  };
  const std::string host(pw::http::target_authority(*req));
  std::string norm_storage;
  auto path = proxy::path_for_routing(l.path_normalization, pw::http::target_path(*req), norm_storage);
  const std::string client_ip = proxy::client_ip(req->headers(), req->peer(), snap.trusted[li]);
  r["request"] = {{"method", o.method},
                  {"host", host},
                  {"path", path ? std::string(*path) : std::string(pw::http::target_path(*req))},
                  {"query_parameters", query_names(req->query())},  // names only: a value may be a credential
                  {"listener", l.name},
                  {"client_ip", client_ip}};
  r["routes"] = Json::array();
  r["filters"] = Json::array();
  r["route"] = nullptr;
  // The answers ProxyRequest::start gives before routing, in its order.
  if ((!host.empty() || req->head().target_form == pw::http::TargetForm::absolute) && !proxy::valid_host_port(host)) {
    r["result"] = {{"outcome", "respond"}, {"status", 400}, {"by", "invalid_host"}};
    return emit();
  }
  if (!path) {
    r["result"] = {{"outcome", "respond"}, {"status", 400}, {"by", "path normalization: " + path.error().message}};
    return emit();
  }

  // Routes in order, as RouteTable::match: the first that matches wins.
  const pw::proxy::RequestView v{l.name, req->method(), host, *path, req->query(), &req->headers()};
  const proxy::CompiledRoute* route = nullptr;
  for (const proxy::CompiledRoute& cr : snap.routes.routes()) {
    const std::string why = cr.mismatch(v);
    Json e = {{"name", cr.name()}, {"index", cr.index()}, {"matched", why.empty()}};
    if (!why.empty()) e["failed"] = why;
    r["routes"].push_back(std::move(e));
    if (why.empty()) {
      route = &cr;
      break;
    }
  }
  if (route == nullptr) {
    r["result"] = {{"outcome", "respond"}, {"status", 404}, {"by", "no_route"}};
    return emit();
  }
  r["route"] = route->name();
  if (req->method_id() == pw::http::Method::connect) {
    r["result"] = {{"outcome", "respond"}, {"status", 405}, {"by", "CONNECT is not proxied"}};
    return emit();
  }

  // The fields the upstream would get before the filters (router.cpp's ProxyRequest::start).
  ExplainContext ctx(*req, *path, std::string(req->query()), client_ip);
  proxy::ForwardedInfo info;
  info.peer = req->peer();
  info.host = host;
  info.version = req->version();
  info.trusted_peer = !snap.trusted[li].empty() && snap.trusted[li].contains(req->peer());
  std::mt19937_64 rng(0);
  ctx.rid = std::string(proxy::build_upstream_request_fields(req->headers(), info, c.proxy, rng, ctx.fields));

  const std::vector<const proxy::FilterConfig*> chain = proxy::effective_filters(c.filters, route->config().filters);
  const auto& factories = snap.route_rt[route->index()].filters;
  Json result = nullptr;
  Json conditional = Json::array();  // filters whose call (not made) could still refuse
  for (std::size_t i = 0; i < factories.size(); ++i) {
    const auto before = copy_fields(ctx.fields);
    const std::string query_before(ctx.query());
    Json f = factories[i]->explain(ctx);
    Json e = {{"type", i < chain.size() ? chain[i]->type : std::string("?")}};
    const bool pending = f.value("pending", false);
    const bool stopped = f.value("stopped", false);
    f.erase("pending");
    f.erase("stopped");
    if (pending && (ctx.status != 0 || stopped)) {
      e["decision"] = "pending";  // a call the proxy would make decides; the answer recorded is not final
      ctx.status = 0;
    } else if (ctx.status != 0) {
      e["decision"] = "respond";
      e["status"] = ctx.status;
      Json fields = Json::array();
      for (const std::string& h : ctx.response_fields)
        if (!pw::iequals(std::string_view(h).substr(0, 13), "content-type:")) fields.push_back(h);
      if (!fields.empty()) e["response_fields"] = std::move(fields);
    } else if (stopped) {
      e["decision"] = "pending";
    } else {
      e["decision"] = pending ? "proceed unless the call refuses" : "proceed";
    }
    redact_urls(f);
    e.update(f);
    Json hc = header_changes(before, ctx.fields);
    if (ctx.query() != query_before) hc["query_parameters"] = query_names(ctx.query());
    if (!hc.empty()) e["header_changes"] = std::move(hc);
    const Json id = identity_json(ctx.id);
    if (!id.empty()) e["identity"] = id;
    const std::string decision = e["decision"];
    if (decision == "proceed unless the call refuses") conditional.push_back(e["type"]);
    r["filters"].push_back(std::move(e));
    if (decision == "respond") {
      result = {{"outcome", "respond"}, {"status", ctx.status}, {"by", "filter " + r["filters"].back()["type"].get<std::string>()}};
      break;
    }
    if (decision == "pending") {
      result = {{"outcome", "pending"}, {"by", "filter " + r["filters"].back()["type"].get<std::string>()}};
      break;
    }
  }

  const proxy::Route& rc = route->config();
  if (result.is_null()) {
    if (rc.direct_response) {
      r["action"] = {{"type", "direct_response"}, {"status", rc.direct_response->status}};
      result = {{"outcome", "respond"}, {"status", rc.direct_response->status}, {"by", "route direct_response"}};
    } else if (rc.redirect) {
      r["action"] = {{"type", "redirect"},
                     {"status", rc.redirect->status},
                     {"location", route->redirect_location("http", host, *path, "")}};
      result = {{"outcome", "respond"}, {"status", rc.redirect->status}, {"by", "route redirect"}};
    } else if (rc.forward) {
      // The cluster: the route's own, or the one its weighted split picks (the engine's SplitPlan).
      const proxy::RouteRuntime& rrt = snap.route_rt[route->index()];
      Json a = {{"type", "forward"}, {"target", route->upstream_target(*path, "")}};  // the query (names only) is in header_changes
      std::string chosen;
      if (rc.forward->cluster) {
        chosen = *rc.forward->cluster;
      } else if (rc.forward->weighted_clusters) {
        const proxy::WeightedClusters& w = *rc.forward->weighted_clusters;
        Json split = {{"clusters", Json::array()}};
        for (const auto& e : w.clusters) split["clusters"].push_back({{"name", e.name}, {"weight", e.weight}});
        if (w.hash) split["sticky_on"] = w.hash->header ? "header " + *w.hash->header : "cookie " + *w.hash->cookie;
        if (auto point = rrt.split.sticky_point(req->headers())) {
          int idx = rrt.split.cluster_at(*point);
          if (idx >= 0 && static_cast<std::size_t>(idx) < c.clusters.size()) chosen = c.clusters[idx].name;
          split["pick"] = "sticky";
        } else {
          split["pick"] = "random by weight";
        }
        a["split"] = std::move(split);
      }
      const proxy::Cluster* cl = nullptr;
      for (const proxy::Cluster& k : c.clusters)
        if (k.name == chosen) cl = &k;
      a["cluster"] = chosen.empty() ? Json() : Json(chosen);
      if (cl) {
        a["lb"] = pw::config::encode_value(cl->lb);
        a["endpoints"] = Json::array();
        for (const auto& ep : cl->endpoints) a["endpoints"].push_back({{"address", ep.address}, {"weight", ep.weight}});
      }
      if (rc.forward->mirror) a["mirror"] = {{"cluster", rc.forward->mirror->cluster}, {"percent", rc.forward->mirror->percent}};
      r["action"] = std::move(a);
      result = {{"outcome", "forward"}, {"cluster", chosen.empty() ? Json() : Json(chosen)}};
    }
  }
  if (!conditional.empty() && result.is_object()) result["unless_refused_by"] = std::move(conditional);
  r["result"] = std::move(result);
  return emit();
}

}  // namespace gw
