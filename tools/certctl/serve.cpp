// certctl token and certctl serve: the online CA.
//
// Threads: N worker loops (SO_REUSEPORT) answer requests; everything they share is in State
// behind one mutex (tokens, the used-token set, the CRL cache, the issuance log). Signing itself
// needs no lock: the signer key is only read. No exception leaves a request handler (they run
// inside libuv callbacks): each handler catches and answers 500.
#include <fcntl.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <iostream>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "ca_store.h"
#include "commands.h"
#include "exit_codes.h"
#include "issuer.h"
#include "renewal.h"
#include "pw/base/strings.h"
#include "pw/cli/run.h"
#include "pw/config/check_command.h"
#include "pw/config/load.h"
#include "pw/http/server.h"
#include "pw/io/worker.h"
#include "pw/pki/csr.h"
#include "pw/tls/context.h"
#include "serve_config.h"

namespace certctl {

using namespace pw;

namespace {

WallTime now_seconds() { return std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now()); }

std::string random_token() {
  unsigned char b[32];
  if (RAND_bytes(b, sizeof b) != 1) throw Failure(cli::exit_internal, "RAND_bytes failed");
  return hex_encode(std::string_view(reinterpret_cast<char*>(b), sizeof b));
}

void append_line(const std::string& path, const std::string& line, mode_t mode) {
  int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, mode);
  if (fd < 0) throw Failure(cli::exit_io, path + ": " + std::strerror(errno));
  ::flock(fd, LOCK_EX);
  std::string l = line + "\n";
  ssize_t n = ::write(fd, l.data(), l.size());
  int e = errno;
  ::flock(fd, LOCK_UN);
  ::close(fd);
  if (n != static_cast<ssize_t>(l.size())) throw Failure(cli::exit_io, path + ": " + std::strerror(e));
}

// Lines of a JSON-lines file as token records; errors name the file and line.
std::vector<TokenEntry> read_token_file(const std::string& path) {
  std::vector<TokenEntry> out;
  if (!file_exists(path)) return out;
  std::string text = read_input(path, 64 << 20);
  std::size_t pos = 0, line_no = 0;
  while (pos < text.size()) {
    std::size_t nl = text.find('\n', pos);
    std::string_view line(text.data() + pos, (nl == std::string::npos ? text.size() : nl) - pos);
    pos = nl == std::string::npos ? text.size() : nl + 1;
    ++line_no;
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    auto t = config::load_text<TokenEntry>(line, path + ":" + std::to_string(line_no));
    if (!t) throw Failure(cli::exit_config, t.error().message);
    out.push_back(std::move(*t));
  }
  return out;
}

std::set<std::string> read_used_tokens(const std::string& path) {
  std::set<std::string> out;
  if (!file_exists(path)) return out;
  std::string text = read_input(path, 64 << 20);
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t nl = text.find('\n', pos);
    std::string line = text.substr(pos, (nl == std::string::npos ? text.size() : nl) - pos);
    pos = nl == std::string::npos ? text.size() : nl + 1;
    try {
      auto j = Json::parse(line);
      if (j.contains("sha256")) out.insert(j["sha256"].get<std::string>());
    } catch (const std::exception&) {
    }
  }
  return out;
}

struct Reply {
  int status = 200;
  std::string body;
  std::string content_type = "application/json";
};

Reply error_reply(int status, const std::string& msg) {
  return {status, Json{{"error", msg}, {"status", status}}.dump() + "\n", "application/json"};
}

class State {
 public:
  State(ServeConfig cfg, Ca ca) : cfg_(std::move(cfg)), ca_(std::move(ca)) {
    tokens_path_ = cfg_.tokens_file.empty() ? ca_.path("tokens.jsonl") : cfg_.tokens_file;
    used_path_ = ca_.path("tokens-used.jsonl");
    log_path_ = cfg_.issuance_log.empty() ? ca_.path("issued.jsonl") : cfg_.issuance_log;
    used_ = read_used_tokens(used_path_);
    reload_tokens_locked();
  }

  const Ca& ca() const { return ca_; }
  const ServeConfig& config() const { return cfg_; }

  Reply sign(const http::ServerRequest& req, const std::string& body) {
    // ---- the request: a PEM CSR, or JSON {"csr","profile","lifetime","token"} ----
    std::string csr_text = body, token, profile_name, lifetime_text;
    std::size_t first = body.find_first_not_of(" \t\r\n");
    if (first != std::string::npos && body[first] == '{') {
      Json j;
      try {
        j = Json::parse(body);
      } catch (const nlohmann::json::exception&) {
        return error_reply(400, "the body starts with '{' but is not valid JSON");
      }
      if (!j.is_object() || !j.contains("csr") || !j["csr"].is_string())
        return error_reply(400, "expected {\"csr\": PEM, \"profile\"?, \"lifetime\"?, \"token\"?}");
      csr_text = j["csr"].get<std::string>();
      for (auto [key, dst] : {std::pair{"profile", &profile_name}, {"lifetime", &lifetime_text}, {"token", &token}}) {
        if (!j.contains(key)) continue;
        if (!j[key].is_string()) return error_reply(400, std::string("\"") + key + "\" must be a string");
        *dst = j[key].get<std::string>();
      }
    }
    if (auto auth = req.header("Authorization")) {
      std::string_view a = *auth;
      if (a.size() > 7 && iequals(a.substr(0, 7), "Bearer ")) token = std::string(trim_ows(a.substr(7)));
      else return error_reply(401, "Authorization must be \"Bearer TOKEN\"");
    }
    auto csr = pki::parse_csr(csr_text);
    if (!csr) return error_reply(400, "CSR: " + csr.error().message);
    // Only the key types `ca init` offers (a weak key is a bad request, whoever authorizes it).
    if (Status st = pki::check_subject_key(csr->public_key()); !st)
      return error_reply(400, "CSR: " + st.error().message);

    LeafRequest lr;
    lr.names = csr->names();
    for (auto& d : lr.names.dns) d = to_lower(d);
    lr.common_name = csr->common_name();
    lr.organization = csr->organization();
    canonicalise_common_name(lr);
    bool spiffe = !lr.names.uris.empty() && lr.names.uris.front().rfind("spiffe://", 0) == 0;
    if (profile_name.empty()) lr.profile = spiffe ? pki::Profile::peer : pki::Profile::server;
    else if (auto p = pki::parse_profile(profile_name); p && *p != pki::Profile::ca) lr.profile = *p;
    else return error_reply(400, "profile must be server, client or peer");
    lr.lifetime = cfg_.default_lifetime;
    if (!lifetime_text.empty()) {
      auto d = try_parse_validity(lifetime_text);
      if (!d || *d <= Duration::zero()) return error_reply(400, "lifetime: expected a duration such as 1h or 30m");
      lr.lifetime = *d;
    }
    if (auto bad = check_request_names(lr); !bad.empty()) return error_reply(400, join_messages(bad));

    WallTime now = now_seconds();
    std::string by, token_hash, token_name, renewal_of;
    if (!token.empty()) {
      // ---- a one-time bootstrap token ----
      std::lock_guard lk(mu_);
      reload_tokens_if_changed_locked();
      std::string h = sha256_hex(token);
      const TokenEntry* found = nullptr;
      for (const auto& t : tokens_)  // every entry compared in constant time; no early exit
        if (t.sha256.size() == h.size() && CRYPTO_memcmp(t.sha256.data(), h.data(), h.size()) == 0) found = &t;
      if (found == nullptr) return error_reply(401, "unknown token");
      if (used_.count(h) || in_flight_.count(h)) return error_reply(401, "token already used");
      if (!found->expires.empty()) {
        auto exp = parse_time(found->expires, now);
        if (!exp || now >= *exp) return error_reply(401, "token expired at " + found->expires);
      }
      if (lr.lifetime > cfg_.max_lifetime) return lifetime_too_long(lr.lifetime);
      if (auto bad = check_policy(found->policy, lr); !bad.empty())
        return error_reply(403, "refused by the token's policy: " + join_messages(bad));
      // Renewals of this identity never outlive what this policy allows.
      lr.policy_max_lifetime = found->policy.max_lifetime;
      in_flight_.insert(h);
      token_hash = h;
      token_name = found->name;
      by = "serve token " + (found->name.empty() ? h.substr(0, 12) : found->name);
    } else if (!req.peer_spiffe_id().empty() && !req.peer_cert_serial().empty()) {
      // ---- renewal: exactly a certificate this CA issued, still valid, for the same identity ----
      if (!cfg_.renewal.enabled) return error_reply(401, "renewal by client certificate is disabled; a token is needed");
      RenewalLookup found;
      try {
        found = find_renewal_basis(ca_, read_db(ca_), req.peer_cert_serial(), req.peer_cert_sha256(), now);
      } catch (const std::exception& e) {
        return error_reply(500, e.what());
      }
      if (!found.ok()) return error_reply(found.status, found.error);
      std::string peer_id(req.peer_spiffe_id());
      if (lr.names.uris.size() != 1 || lr.names.uris.front() != peer_id)
        return error_reply(403, "a renewal must ask for the client certificate's SPIFFE ID " + peer_id);
      auto bad = apply_renewal(found.basis, lr, !profile_name.empty(), !lifetime_text.empty(), cfg_.renewal.max_lifetime);
      if (!bad.empty()) return error_reply(403, "renewal refused: " + join_messages(bad));
      if (lifetime_text.empty()) lr.lifetime = std::min(lr.lifetime, cfg_.max_lifetime);
      else if (lr.lifetime > cfg_.max_lifetime) return lifetime_too_long(lr.lifetime);
      renewal_of = found.basis.serial;
      by = "serve renewal " + found.basis.serial;
    } else {
      return error_reply(401, "a bootstrap token (Authorization: Bearer TOKEN) or a client certificate is required");
    }

    auto r = issue_leaf(ca_, lr, csr->public_key(), now, by);
    std::lock_guard lk(mu_);
    if (!token_hash.empty()) in_flight_.erase(token_hash);
    if (!r.ok()) {
      int status = r.code == exit_policy ? 403 : r.code == exit_ca_expired ? 503 : 500;
      return error_reply(status, r.error);
    }
    try {
      if (!token_hash.empty()) {
        used_.insert(token_hash);
        append_line(used_path_, Json{{"sha256", token_hash}, {"used_at", format_time(now)}, {"serial", r.cert.serial_hex()}}.dump(),
                    0600);
      }
      Json log = Json::object();
      log["ts"] = format_time(now);
      log["serial"] = r.cert.serial_hex();
      log["subject"] = r.cert.subject();
      log["spiffe_id"] = r.cert.spiffe_id();
      log["dns"] = lr.names.dns;
      log["ip"] = ip_strings(lr.names);
      log["not_after"] = format_time(r.cert.not_after());
      log["auth"] = token_hash.empty() ? "renewal" : "token";
      if (!token_hash.empty()) log["token"] = token_name.empty() ? token_hash.substr(0, 12) : token_name;
      if (!renewal_of.empty()) log["renewal_of"] = renewal_of;
      log["peer"] = req.peer().to_string();
      append_line(log_path_, log.dump(), 0644);
    } catch (const std::exception& e) {
      return error_reply(500, e.what());
    }
    Json j = bundle_json(ca_, r.cert, {});
    j.erase("key");
    return {200, j.dump() + "\n", "application/json"};
  }

  Reply lifetime_too_long(Duration d) const {
    return error_reply(403, "lifetime " + format_validity(d) + " is longer than the server's maximum " +
                                format_validity(cfg_.max_lifetime));
  }

  Reply crl() {
    std::lock_guard lk(mu_);
    WallTime now = now_seconds();
    auto stamp = tls::stamp_file(ca_.path("db.jsonl"));
    if (crl_pem_.empty() || !(stamp == crl_db_stamp_) || now - crl_built_ > cfg_.crl_validity / 2) {
      try {
        Ca copy = ca_;
        auto c = build_crl(copy, now, cfg_.crl_validity);
        crl_pem_ = c.pem();
        crl_built_ = now;
        crl_db_stamp_ = tls::stamp_file(ca_.path("db.jsonl"));
      } catch (const std::exception& e) {
        return error_reply(500, std::string("CRL: ") + e.what());
      }
    }
    return {200, crl_pem_, "application/pkix-crl"};
  }

  void reload_tokens() {
    std::lock_guard lk(mu_);
    reload_tokens_locked();
  }

 private:
  void reload_tokens_locked() {
    tokens_ = cfg_.tokens;
    for (auto& t : read_token_file(tokens_path_)) tokens_.push_back(std::move(t));
    tokens_stamp_ = tls::stamp_file(tokens_path_);
  }
  void reload_tokens_if_changed_locked() {
    if (tls::stamp_file(tokens_path_) == tokens_stamp_) return;
    try {
      reload_tokens_locked();
    } catch (const std::exception& e) {
      std::cerr << Json{{"msg", "token file not reloaded"}, {"error", e.what()}}.dump() << '\n';
      tokens_stamp_ = tls::stamp_file(tokens_path_);
    }
  }

  ServeConfig cfg_;
  Ca ca_;
  std::mutex mu_;
  std::string tokens_path_, used_path_, log_path_;
  std::vector<TokenEntry> tokens_;
  tls::FileStamp tokens_stamp_;
  std::set<std::string> used_, in_flight_;
  std::string crl_pem_;
  WallTime crl_built_{};
  tls::FileStamp crl_db_stamp_;
};

void handle(const std::shared_ptr<http::ServerExchange>& ex, State& st) {
  const auto& req = ex->request();
  std::string_view path = req.path();
  auto send = [&](const Reply& r) {
    http::Header h[] = {{"Content-Type", r.content_type}, {"Cache-Control", "no-store"}};
    (void)ex->respond(r.status, h, r.body);
  };
  try {
    if (path == "/v1/sign") {
      if (req.method_id() != http::Method::post) return send(error_reply(405, "use POST"));
      std::size_t max = static_cast<std::size_t>(st.config().max_body.bytes);
      ex->read_body_all(max, [ex, &st](Result<std::string> body) {
        if (!body) return;  // 413 already sent, or the client went away
        try {
          const auto& r = ex->request();
          Reply rep = st.sign(r, *body);
          http::Header h[] = {{"Content-Type", rep.content_type}, {"Cache-Control", "no-store"}};
          (void)ex->respond(rep.status, h, rep.body);
        } catch (const std::exception& e) {
          Reply rep = error_reply(500, e.what());
          http::Header h[] = {{"Content-Type", rep.content_type}};
          (void)ex->respond(rep.status, h, rep.body);
        }
      });
      return;
    }
    if (req.method_id() != http::Method::get && req.method_id() != http::Method::head)
      return send(error_reply(405, "use GET"));
    if (path == "/v1/bundle") return send({200, st.ca().bundle_pem(), "application/x-pem-file"});
    if (path == "/v1/crl") return send(st.crl());
    if (path == "/healthz") return send({200, "ok\n", "text/plain"});
    return send(error_reply(404, "no such route"));
  } catch (const std::exception& e) {
    send(error_reply(500, e.what()));
  }
}

// The server's own certificate when the config names none: issued from the CA for
// tls.server_names, written under CA/serve/.
tls::CertKeyFiles own_server_cert(const Ca& ca, const ServeConfig& cfg) {
  LeafRequest lr;
  for (const auto& n : cfg.tls.server_names) {
    if (auto ip = pki::parse_ip(n)) lr.names.ips.push_back(*ip);
    else lr.names.dns.push_back(to_lower(n));
  }
  lr.common_name = cfg.tls.server_names.front();
  lr.profile = pki::Profile::server;
  lr.lifetime = std::chrono::hours(24 * 7);
  auto key = pki::Key::generate(pki::KeyType::ec_p256);
  if (!key) throw Failure(cli::exit_failure, key.error().message);
  auto r = issue_leaf(ca, lr, *key, now_seconds(), "serve own certificate");
  if (!r.ok()) throw Failure(r.code, "the server's own certificate: " + r.error);
  std::string dir = ca.path("serve");
  make_dir(dir, 0700);
  write_file(join(dir, "key.pem"), *key->private_pem(), 0600, true);
  write_file(join(dir, "chain.pem"), r.cert.pem() + ca.chain_pem(), 0644, true);
  return {join(dir, "chain.pem"), join(dir, "key.pem"), {}};
}

}  // namespace

int cmd_token(const Options& o, const cli::Common& common) {
  WallTime now = now_seconds();
  Ca ca = open_ca(o.ca());
  Policy p;
  p.spiffe_ids = o.pol_spiffe;
  p.dns = o.pol_dns;
  for (auto& d : p.dns) d = to_lower(d);
  p.uris = o.pol_uri;
  for (const auto& r : o.pol_ip)
    if (auto range = pki::parse_ip_range(r); !range) throw Failure(cli::exit_usage, "--ip: " + range.error().message);
  p.ips = o.pol_ip;
  if (!o.pol_profiles.empty()) {
    for (const auto& s : o.pol_profiles)
      if (s != "server" && s != "client" && s != "peer")
        throw Failure(cli::exit_usage, "--profile: expected server, client or peer, got \"" + escape_for_log(s) + "\"");
    p.profiles = o.pol_profiles;
  }
  p.max_lifetime = parse_validity(o.max_lifetime, "--max-lifetime");
  if (p.spiffe_ids.empty() && p.dns.empty() && p.ips.empty() && p.uris.empty())
    throw Failure(cli::exit_usage, "a token needs a policy: at least one --spiffe-id, --dns, --ip or --uri pattern");
  Duration ttl = parse_validity(o.ttl, "--ttl");
  std::string token = random_token();
  TokenEntry e;
  e.sha256 = sha256_hex(token);
  e.name = o.token_name;
  e.created = format_time(now);
  e.expires = format_time(now + std::chrono::duration_cast<std::chrono::seconds>(ttl));
  e.policy = p;
  Json rec = config::encode_value(e);
  append_line(ca.path("tokens.jsonl"), rec.dump(), 0600);
  if (common.json) {
    Json j = {{"token", token}, {"sha256", e.sha256}, {"name", e.name}, {"expires", e.expires}};
    j["policy"] = config::encode_value(p);
    std::cout << j.dump() << '\n';
  } else {
    std::cout << token << '\n';
  }
  return cli::exit_ok;
}

int cmd_serve(const Options& o, const cli::Common& common) {
  ServeConfig cfg;
  if (!common.config.empty()) {
    if (o.check_config) return config::run_check<ServeConfig>(common.config, std::cout, std::cerr);
    auto loaded = config::load_file<ServeConfig>(common.config);
    if (!loaded) throw Failure(config::exit_code_for(loaded.error()), loaded.error().message);
    cfg = std::move(*loaded);
  } else if (o.check_config) {
    throw Failure(cli::exit_usage, "--check needs a configuration file (-c FILE)");
  }
  if (!o.ca_dir.empty()) cfg.ca_dir = o.ca_dir;
  if (!o.listen.empty()) cfg.listen = o.listen;
  if (!o.pass.file.empty()) cfg.passphrase_file = o.pass.file;
  if (!o.pass.env.empty()) cfg.passphrase_env = o.pass.env;
  if (o.print_config) {
    std::cout << config::to_json_text(cfg);
    return cli::exit_ok;
  }

  WallTime now = now_seconds();
  Ca ca = open_ca(cfg.ca_dir);
  check_ca_valid(ca, now);
  load_signer_key(ca, read_passphrase({cfg.passphrase_file, cfg.passphrase_env}));

  tls::ServerConfig tc;
  tc.certificates.push_back(cfg.tls.cert.empty() ? own_server_cert(ca, cfg)
                                                 : tls::CertKeyFiles{cfg.tls.cert, cfg.tls.key, {}});
  tc.client_auth = cfg.tls.client_auth == "require"  ? tls::ClientAuth::require
                   : cfg.tls.client_auth == "none"   ? tls::ClientAuth::none
                                                     : tls::ClientAuth::optional;
  if (tc.client_auth != tls::ClientAuth::none) {
    // Roots and intermediates as trust anchors, so clients that send only their leaf verify.
    std::string dir = ca.path("serve");
    make_dir(dir, 0700);
    tc.client_ca_file = join(dir, "client-ca.pem");
    write_file(tc.client_ca_file, ca.bundle_pem() + ca.chain_pem(), 0644, true);
  }
  auto holder = tls::ServerContextHolder::create(tc);
  if (!holder) throw Failure(cli::exit_tls, holder.error().message);

  State state(cfg, ca);
  http::ServerOptions sopt;
  sopt.server_header = "certctl";
  sopt.max_body_bytes = cfg.max_body.bytes;
  sopt.tls = std::shared_ptr<tls::ServerContextHolder>(std::move(*holder));

  auto addr = io::SockAddr::parse(cfg.listen);
  if (!addr) throw Failure(cli::exit_config, "listen: " + addr.error().message);
  io::ListenOptions lopt;
  cli::ignore_sigpipe();
  auto group = io::bind_listen_group(*addr, lopt, cfg.workers);
  if (!group) throw Failure(cli::exit_io, group.error().message);
  std::vector<int> fds = std::move(group->fds);
  auto bound = group->address;

  unsigned workers = cfg.workers;
  io::WorkerPool pool(workers);
  std::vector<std::unique_ptr<http::Server>> servers(workers);
  std::atomic<unsigned> ready{0};
  std::atomic<bool> failed{false};
  pool.start([&](io::Loop& loop, unsigned i) {
    servers[i] = std::make_unique<http::Server>(loop, sopt, [&state](std::shared_ptr<http::ServerExchange> ex) {
      handle(ex, state);
    });
    if (!servers[i]->listen_fd(fds[i], lopt).ok()) failed = true;
    ++ready;
  });
  while (ready.load() < workers) std::this_thread::yield();
  if (failed) {
    // Servers live on their loops' threads: close them there before giving up.
    pool.post_all([&](io::Loop& loop, unsigned i) {
      servers[i].reset();
      loop.stop();
    });
    pool.join();
    throw Failure(cli::exit_io, cfg.listen + ": cannot listen");
  }
  std::cout << Json{{"listening", bound.to_string()}, {"ca_dir", cfg.ca_dir}, {"workers", workers}}.dump() << std::endl;

  io::Loop main_loop;
  std::atomic<unsigned> drained{0};
  io::SignalWatcher signals(main_loop, {SIGHUP, SIGTERM, SIGINT}, [&](int sig) {
    if (sig == SIGHUP) {
      try {
        state.reload_tokens();
        std::cerr << Json{{"msg", "tokens reloaded"}}.dump() << std::endl;
      } catch (const std::exception& e) {
        std::cerr << Json{{"msg", "token reload failed"}, {"error", e.what()}}.dump() << std::endl;
      }
      return;
    }
    pool.post_all([&](io::Loop& loop, unsigned i) {
      servers[i]->drain(std::chrono::seconds(10), [&, i, lp = &loop] {
        servers[i].reset();
        lp->stop();
        if (++drained == workers) main_loop.stop();
      });
    });
  });
  io::Timer keepalive(main_loop, [] {});
  keepalive.start(std::chrono::hours(24), std::chrono::hours(24));
  main_loop.run();
  pool.join();
  return cli::exit_ok;
}

}  // namespace certctl
