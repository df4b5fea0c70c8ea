#include "serve_handlers.h"

#include <openssl/rand.h>

#include <algorithm>
#include <cstdio>

#include "exit_codes.h"
#include "issuer.h"
#include "pw/base/strings.h"
#include "pw/pki/csr.h"
#include "renewal.h"

namespace certctl {

using namespace pw;

namespace {

WallTime now_seconds() { return std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now()); }

// JSON text that never throws: names and subjects are the requester's bytes, possibly not UTF-8.
std::string json_text(const Json& j) { return j.dump(-1, ' ', false, Json::error_handler_t::replace) + "\n"; }

}  // namespace

Reply error_reply(int status, std::string_view message) {
  return {status, json_text(Json{{"error", std::string(message)}, {"status", status}}), "application/json"};
}

Reply internal_error_reply(std::string_view request_id) {
  return {500, json_text(Json{{"error", "internal error"}, {"status", 500}, {"request_id", std::string(request_id)}}),
          "application/json"};
}

std::variant<SignRequest, Reply> parse_sign_request(std::optional<std::string_view> authorization, std::string_view body,
                                                    const ServeConfig& cfg) {
  // ---- the request: a PEM CSR, or JSON {"csr","profile","lifetime","token"} ----
  SignRequest out;
  std::string csr_text(body), profile_name, lifetime_text;
  std::size_t first = body.find_first_not_of(" \t\r\n");
  if (first != std::string_view::npos && body[first] == '{') {
    Json j = Json::parse(body, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded()) return error_reply(400, "the body starts with '{' but is not valid JSON");
    if (!j.is_object() || !j.contains("csr") || !j["csr"].is_string())
      return error_reply(400, "expected {\"csr\": PEM, \"profile\"?, \"lifetime\"?, \"token\"?}");
    csr_text = j["csr"].get<std::string>();
    for (auto [key, dst] : {std::pair{"profile", &profile_name}, {"lifetime", &lifetime_text}, {"token", &out.token}}) {
      auto it = j.find(key);
      if (it == j.end()) continue;
      if (!it->is_string()) return error_reply(400, std::string("\"") + key + "\" must be a string");
      *dst = it->get<std::string>();
    }
  }
  if (authorization) {
    // RFC 6750 §2.1: "Bearer" (case-insensitive scheme, RFC 9110 §11.1) SP token.
    std::string_view a = *authorization;
    if (a.size() > 7 && iequals(a.substr(0, 7), "Bearer ")) out.token = std::string(trim_ows(a.substr(7)));
    else return error_reply(401, "Authorization must be \"Bearer TOKEN\"");
  }
  auto csr = pki::parse_csr(csr_text);
  if (!csr) return error_reply(400, "CSR: " + csr.error().message);
  out.key = csr->public_key();
  // Only the key types `ca init` offers (a weak key is a bad request, whoever authorizes it).
  if (Status st = pki::check_subject_key(out.key); !st) return error_reply(400, "CSR: " + st.error().message);

  LeafRequest& lr = out.leaf;
  lr.names = csr->names();
  for (auto& d : lr.names.dns) d = to_lower(d);
  lr.common_name = csr->common_name();
  lr.organization = csr->organization();
  canonicalise_common_name(lr);
  bool spiffe = !lr.names.uris.empty() && lr.names.uris.front().rfind("spiffe://", 0) == 0;
  out.profile_asked = !profile_name.empty();
  if (profile_name.empty()) lr.profile = spiffe ? pki::Profile::peer : pki::Profile::server;
  else if (auto p = pki::parse_profile(profile_name); p && *p != pki::Profile::ca) lr.profile = *p;
  else return error_reply(400, "profile must be server, client or peer");
  lr.lifetime = cfg.default_lifetime;
  out.lifetime_asked = !lifetime_text.empty();
  if (!lifetime_text.empty()) {
    auto d = try_parse_validity(lifetime_text);
    if (!d || *d <= Duration::zero()) return error_reply(400, "lifetime: expected a duration such as 1h or 30m");
    lr.lifetime = *d;
  }
  if (auto bad = check_request_names(lr); !bad.empty()) return error_reply(400, join_messages(bad));
  return out;
}

struct ServeHandlers::Ctx {
  std::shared_ptr<http::ServerExchange> ex;
  io::Loop& loop;
  std::string id;
};

ServeHandlers::ServeHandlers(const ServeConfig& cfg, const Ca& ca, TokenStore& store, telemetry::Logger& log)
    : cfg_(cfg), ca_(ca), store_(store), log_(log) {
  unsigned char b[4] = {};
  if (RAND_bytes(b, sizeof b) == 1) id_prefix_ = (b[0] << 24u) | (b[1] << 16u) | (b[2] << 8u) | b[3];
}

std::string ServeHandlers::new_request_id() {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%08x%016llx", id_prefix_, static_cast<unsigned long long>(++next_id_));
  return buf;
}

void ServeHandlers::respond(const Ctx& c, Result<Reply> r) noexcept {
  try {
    if (!r) {
      ++internal_errors_;
      log_.error("request failed", {{"request_id", c.id},
                                    {"path", c.ex->request().path()},
                                    {"error", r.error().message},
                                    {"code", errc_name(r.error().code)}});
      r = internal_error_reply(c.id);
    }
    http::Header h[] = {{"Content-Type", r->content_type}, {"Cache-Control", "no-store"}};
    (void)c.ex->respond(r->status, h, r->body);  // Errc::closed when the client went away
  } catch (const std::exception& e) {
    // Only allocation can fail above; the connection is dropped rather than answered wrongly.
    log_.error("cannot answer", {{"request_id", c.id}, {"error", e.what()}});
    c.ex->abort();
  }
}

void ServeHandlers::handle(const std::shared_ptr<http::ServerExchange>& ex, io::Loop& loop) noexcept {
  auto c = std::make_shared<Ctx>(Ctx{ex, loop, {}});
  try {
    c->id = new_request_id();
    route(c);
  } catch (const std::exception& e) {
    // The C-callback boundary (libuv): nothing below should throw; if it does, a generic 500.
    respond(*c, make_error(Errc::internal, std::string("unexpected exception: ") + e.what()));
  }
}

void ServeHandlers::route(const std::shared_ptr<Ctx>& c) {
  const auto& req = c->ex->request();
  std::string_view path = req.path();
  if (path == "/v1/sign") {
    if (req.method_id() != http::Method::post) return respond(*c, error_reply(405, "use POST"));
    auto max = static_cast<std::size_t>(cfg_.max_body.bytes);
    c->ex->read_body_all(max, [this, c](Result<std::string> body) {
      if (!body) return;  // 413 already sent, or the client went away
      try {
        sign(c, std::move(*body));
      } catch (const std::exception& e) {
        respond(*c, make_error(Errc::internal, std::string("unexpected exception: ") + e.what()));
      }
    });
    return;
  }
  if (req.method_id() != http::Method::get && req.method_id() != http::Method::head)
    return respond(*c, error_reply(405, "use GET"));
  if (path == "/v1/bundle") return respond(*c, Reply{200, ca_.bundle_pem(), "application/x-pem-file"});
  if (path == "/v1/crl") return crl(c);
  if (path == "/healthz") return respond(*c, Reply{200, "ok\n", "text/plain"});
  respond(*c, error_reply(404, "no such route"));
}

std::string ServeHandlers::lifetime_message(Duration d) const {
  return "lifetime " + format_validity(d) + " is longer than the server's maximum " + format_validity(cfg_.max_lifetime);
}

void ServeHandlers::sign(const std::shared_ptr<Ctx>& c, std::string body) {
  const auto& req = c->ex->request();
  auto parsed = parse_sign_request(req.header("Authorization"), body, cfg_);
  if (auto* refusal = std::get_if<Reply>(&parsed)) return respond(*c, std::move(*refusal));
  auto sr = std::make_shared<SignRequest>(std::move(std::get<SignRequest>(parsed)));
  WallTime now = now_seconds();
  if (!sr->token.empty()) return sign_with_token(c, std::move(sr), now);
  if (!req.peer_spiffe_id().empty() && !req.peer_cert_serial().empty()) return sign_renewal(c, std::move(sr), now);
  respond(*c, error_reply(401, "a bootstrap token (Authorization: Bearer TOKEN) or a client certificate is required"));
}

void ServeHandlers::sign_with_token(const std::shared_ptr<Ctx>& c, std::shared_ptr<SignRequest> sr, WallTime now) {
  // ---- a one-time bootstrap token ----
  std::string h = sha256_hex(sr->token);
  Duration max = cfg_.max_lifetime;
  // Runs on the store thread, before the token is reserved: pure checks of copies.
  auto check = [max, leaf = sr->leaf, this](const TokenEntry& t) -> std::string {
    if (leaf.lifetime > max) return lifetime_message(leaf.lifetime);
    if (auto bad = check_policy(t.policy, leaf); !bad.empty()) return "refused by the token's policy: " + join_messages(bad);
    return "";
  };
  store_.reserve_token(h, now, std::move(check), c->loop, [this, c, sr, h, now](Result<TokenDecision> d) {
    if (!d) return respond(*c, std::move(d).error());
    using O = TokenDecision::Outcome;
    switch (d->outcome) {
      case O::unknown: return respond(*c, error_reply(401, "unknown token"));
      case O::used: return respond(*c, error_reply(401, "token already used"));
      case O::expired: return respond(*c, error_reply(401, "token expired at " + d->entry.expires));
      case O::refused: return respond(*c, error_reply(403, d->message));
      case O::granted: break;
    }
    // Renewals of this identity never outlive what this policy allows.
    sr->leaf.policy_max_lifetime = d->entry.policy.max_lifetime;
    Grant g;
    g.token_sha256 = h;
    g.token_name = d->entry.name;
    g.by = "serve token " + (d->entry.name.empty() ? h.substr(0, 12) : d->entry.name);
    issue(c, sr, std::move(g), now);
  });
}

void ServeHandlers::sign_renewal(const std::shared_ptr<Ctx>& c, std::shared_ptr<SignRequest> sr, WallTime now) {
  // ---- renewal: exactly a certificate this CA issued, still valid, for the same identity ----
  if (!cfg_.renewal.enabled) return respond(*c, error_reply(401, "renewal by client certificate is disabled; a token is needed"));
  std::string serial(c->ex->request().peer_cert_serial());
  store_.issuance_records(serial, c->loop, [this, c, sr, now](Result<std::vector<Json>> recs) {
    if (!recs) return respond(*c, std::move(recs).error());
    const auto& req = c->ex->request();
    RenewalLookup found = find_renewal_basis(ca_, *recs, req.peer_cert_serial(), req.peer_cert_sha256(), now);
    if (found.status == 500) return respond(*c, make_error(Errc::internal, found.error));
    if (!found.ok()) return respond(*c, error_reply(found.status, found.error));
    std::string peer_id(req.peer_spiffe_id());
    LeafRequest& lr = sr->leaf;
    if (lr.names.uris.size() != 1 || lr.names.uris.front() != peer_id)
      return respond(*c, error_reply(403, "a renewal must ask for the client certificate's SPIFFE ID " + peer_id));
    auto bad = apply_renewal(found.basis, lr, sr->profile_asked, sr->lifetime_asked, cfg_.renewal.max_lifetime);
    if (!bad.empty()) return respond(*c, error_reply(403, "renewal refused: " + join_messages(bad)));
    if (!sr->lifetime_asked) lr.lifetime = std::min(lr.lifetime, cfg_.max_lifetime);
    else if (lr.lifetime > cfg_.max_lifetime) return respond(*c, error_reply(403, lifetime_message(lr.lifetime)));
    Grant g;
    g.renewal_of = found.basis.serial;
    g.by = "serve renewal " + found.basis.serial;
    issue(c, sr, std::move(g), now);
  });
}

void ServeHandlers::issue(const std::shared_ptr<Ctx>& c, std::shared_ptr<SignRequest> sr, Grant g, WallTime now) {
  IssueOutcome r = sign_leaf(ca_, sr->leaf, sr->key, now, g.by);
  if (!r.ok()) {
    if (!g.token_sha256.empty()) store_.release_token(g.token_sha256);
    if (r.code == exit_policy) return respond(*c, error_reply(403, r.error));
    if (r.code == exit_ca_expired) return respond(*c, error_reply(503, r.error));
    return respond(*c, make_error(Errc::internal, "signing: " + r.error));
  }
  const LeafRequest& lr = sr->leaf;
  Commit cm;
  cm.token_sha256 = g.token_sha256;
  cm.db_record = std::move(r.record);
  if (!g.token_sha256.empty())
    cm.used_record = Json{{"sha256", g.token_sha256}, {"used_at", format_time(now)}, {"serial", r.cert.serial_hex()}};
  Json& log = cm.log_record;
  log = Json::object();
  log["ts"] = format_time(now);
  log["serial"] = r.cert.serial_hex();
  log["subject"] = r.cert.subject();
  log["spiffe_id"] = r.cert.spiffe_id();
  log["dns"] = lr.names.dns;
  log["ip"] = ip_strings(lr.names);
  log["not_after"] = format_time(r.cert.not_after());
  log["auth"] = g.token_sha256.empty() ? "renewal" : "token";
  if (!g.token_sha256.empty()) log["token"] = g.token_name.empty() ? g.token_sha256.substr(0, 12) : g.token_name;
  if (!g.renewal_of.empty()) log["renewal_of"] = g.renewal_of;
  log["peer"] = c->ex->request().peer().to_string();
  Json bundle = bundle_json(ca_, r.cert, {});
  bundle.erase("key");
  // Answered only once the records are on disk: an issuance the client saw is never lost.
  store_.commit(std::move(cm), c->loop, [this, c, body = json_text(bundle)](Status st) {
    if (!st) return respond(*c, std::move(st).error());
    respond(*c, Reply{200, body, "application/json"});
  });
}

void ServeHandlers::crl(const std::shared_ptr<Ctx>& c) {
  WallTime now = now_seconds();
  store_.run([this, c, now] {
    Result<std::string> pem = crl_pem(now);
    c->loop.post([this, c, pem = std::move(pem)]() mutable {
      if (!pem) return respond(*c, std::move(pem).error());
      respond(*c, Reply{200, std::move(*pem), "application/pkix-crl"});
    });
  });
}

Result<std::string> ServeHandlers::crl_pem(WallTime now) {
  auto stamp = tls::stamp_file(ca_.path("db.jsonl"));
  if (crl_pem_.empty() || !(stamp == crl_db_stamp_) || now - crl_built_ > cfg_.crl_validity / 2) {
    try {
      Ca copy = ca_;
      auto crl = build_crl(copy, now, cfg_.crl_validity);  // appends its "crl" record to db.jsonl
      crl_pem_ = crl.pem();
      crl_built_ = now;
      crl_db_stamp_ = tls::stamp_file(ca_.path("db.jsonl"));
    } catch (const std::exception& e) {  // build_crl is CLI code (Failure)
      return make_error(Errc::internal, std::string("CRL: ") + e.what());
    }
  }
  return crl_pem_;
}

}  // namespace certctl
