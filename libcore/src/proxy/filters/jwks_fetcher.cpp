#include "proxy/filters/jwks_fetcher.h"

#include <map>

#include "pw/http/client.h"
#include "pw/http/pool.h"
#include "pw/telemetry/metrics.h"
#include "pw/tls/context.h"

namespace pw::proxy {

namespace {
constexpr std::size_t kMaxWaiters = 4096;  // requests paused on one source
constexpr Duration kRetryCap = std::chrono::seconds(10);
}  // namespace

// ---- RemoteJwks (any thread) ----

std::shared_ptr<const jose::JwkSet> RemoteJwks::keys() const {
  std::lock_guard<std::mutex> lk(mu_);
  return keys_;
}

bool RemoteJwks::settled() const {
  std::lock_guard<std::mutex> lk(mu_);
  return settled_;
}

std::uint64_t RemoteJwks::wait(io::Loop& loop, std::function<void()> done, bool unknown_kid) {
  bool start = false;
  std::uint64_t ticket = 0;
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (waiters_.size() >= kMaxWaiters) return 0;
    if (!fetching_) {
      const MonoTime now = std::chrono::steady_clock::now();
      // The first fetch has not ended yet (it is always running then), or an unknown kid may
      // trigger one refetch per interval (a flood of made-up kids costs one fetch per 30 s).
      if (!unknown_kid || (last_fetch_start_ != MonoTime{} && now - last_fetch_start_ < opt_.refetch_interval)) return 0;
      // Before the first fetch started (add() posted it) waiting spends no budget.
      if (settled_) last_fetch_start_ = now;
      fetching_ = true;
      start = true;
    }
    ticket = next_ticket_++;
    waiters_.push_back({ticket, &loop, std::move(done)});
  }
  if (start) fetcher_.fetch_now(shared_from_this());
  return ticket;
}

void RemoteJwks::cancel_wait(std::uint64_t ticket) {
  std::lock_guard<std::mutex> lk(mu_);
  for (auto it = waiters_.begin(); it != waiters_.end(); ++it)
    if (it->ticket == ticket) {
      waiters_.erase(it);
      return;
    }
}

void RemoteJwks::starting() {
  // Scheduled fetches do not count against the unknown-kid refetch budget: a kid that appeared
  // after the first fetch is looked for at once.
  std::lock_guard<std::mutex> lk(mu_);
  fetching_ = true;
}

void RemoteJwks::finished(Result<std::string> body) {
  std::shared_ptr<const jose::JwkSet> fresh;
  std::string error;
  if (body) {
    {
      std::lock_guard<std::mutex> lk(mu_);
      if (keys_ && *body == last_body_) fresh = keys_;  // unchanged: keep the set (and the token cache)
    }
    if (!fresh) {
      jose::JwkOptions o;
      o.allow_oct = false;  // never a symmetric key from the network
      o.max_bytes = opt_.max_bytes;
      auto set = jose::parse_jwks(*body, o);
      if (set) fresh = std::make_shared<const jose::JwkSet>(std::move(*set));
      else error = set.error().message;
    }
  } else {
    error = body.error().message;
  }
  if (metrics_) metrics_->jwks_fetches.with({opt_.provider, fresh ? "ok" : "failed"}).inc();
  std::lock_guard<std::mutex> lk(mu_);
  if (fresh) {
    keys_ = fresh;
    last_body_ = std::move(*body);
  }
  // On failure the last good keys stay (served stale) until a fetch succeeds.
  settled_ = true;
  fetching_ = false;
  // Posted under the lock: a waiter whose request ended is removed by cancel_wait() (under the
  // same lock, on its own loop thread, before that loop can stop), so every loop posted to here
  // is alive until post() returns.
  for (Waiter& w : waiters_) w.loop->post(std::move(w.done));
  waiters_.clear();
}

// ---- JwksFetcher ----

struct JwksFetcher::State {
  struct Source {
    std::shared_ptr<RemoteJwks> src;
    std::unique_ptr<http::ConnectionPool> pool;
    std::unique_ptr<http::Client> client;
    std::unique_ptr<io::Timer> refresh;
    bool in_flight = false;
  };
  explicit State(io::Loop& l) : loop(l), keepalive(l, [] {}) { keepalive.start(std::chrono::hours(1), std::chrono::hours(1)); }
  ~State() {
    for (auto& s : sources) {
      s->client.reset();  // cancels requests: no callback follows
      s->refresh.reset();
      if (s->pool) s->pool->close_idle();
    }
  }
  io::Loop& loop;
  io::Timer keepalive;  // the loop runs until stop()
  std::vector<std::unique_ptr<Source>> sources;  // few; Source addresses stay put

  Source& source_of(const std::shared_ptr<RemoteJwks>& src) {
    for (auto& s : sources)
      if (s->src == src) return *s;
    auto owned = std::make_unique<Source>();
    Source& s = *owned;
    s.src = src;
    const auto& o = src->options();
    http::PoolOptions po;
    po.max_connections_per_endpoint = 2;
    po.max_response_body = o.max_bytes;
    po.connection.response_head_timeout = o.timeout;
    po.connection.total_timeout = o.timeout;
    if (o.url.is_tls()) {
      tls::ClientConfig tc;
      tc.ca_file = o.ca_file;  // empty: the system store; verification is always on
      auto ctx = tls::ClientContext::create(tc);
      if (ctx) po.tls = std::move(*ctx);
    }
    s.pool = std::make_unique<http::ConnectionPool>(loop, po);
    s.client = std::make_unique<http::Client>(*s.pool);
    s.refresh = std::make_unique<io::Timer>(loop, [this, src] { start_fetch(source_of(src)); });
    sources.push_back(std::move(owned));
    return s;
  }

  void start_fetch(Source& s) {
    if (s.in_flight) return;
    s.in_flight = true;
    s.src->starting();
    const auto& o = s.src->options();
    std::shared_ptr<RemoteJwks> src = s.src;
    // Name resolution blocks this thread only (never a worker).
    auto addrs = http::resolve_blocking(o.url.host, o.url.port);
    if (!addrs || addrs->empty()) {
      done(s, addrs ? make_error(Errc::not_found, "no address for " + o.url.host) : std::move(addrs).error());
      return;
    }
    if (o.url.is_tls() && !s.pool) {
      done(s, make_error(Errc::tls_error, "no TLS context"));
      return;
    }
    http::Endpoint ep = o.url.is_tls() ? http::Endpoint::with_tls(addrs->front(), o.url.host) : http::Endpoint::plain(addrs->front());
    http::Request req;
    req.method = http::Method::get;
    req.target = o.url.target;
    req.host = o.url.authority();
    req.headers.emplace_back("Accept", "application/jwk-set+json, application/json");
    s.client->request(ep, std::move(req), [this, src](Result<http::Response> r) {
      Source& me = source_of(src);
      if (!r) return done(me, std::move(r).error());
      if (r->status != 200) return done(me, make_error(Errc::parse_error, "status " + std::to_string(r->status)));
      done(me, std::move(r->body));
    });
  }

  void done(Source& s, Result<std::string> body) {
    s.in_flight = false;
    const bool ok = body.ok();
    s.src->finished(std::move(body));
    const Duration next = ok ? s.src->options().cache_duration : std::min<Duration>(s.src->options().cache_duration, kRetryCap);
    s.refresh->start(next);
  }
};

JwksFetcher::~JwksFetcher() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    stopping_ = true;
    if (loop_) loop_->stop();
  }
  if (thread_.joinable()) thread_.join();
}

std::shared_ptr<RemoteJwks> JwksFetcher::add(RemoteJwks::Options opt, JwtMetrics* metrics) {
  std::shared_ptr<RemoteJwks> src;
  {
    std::unique_lock<std::mutex> lk(mu_);
    for (auto& s : sources_)
      if (s->options().provider == opt.provider && s->options().url.to_string() == opt.url.to_string()) return s;
    const std::string seed_key = opt.provider + '\n' + opt.url.to_string();
    src = std::make_shared<RemoteJwks>(std::move(opt), *this, metrics);
    if (auto it = seeds_.find(seed_key); it != seeds_.end() && it->second.keys) {
      std::lock_guard<std::mutex> sl(src->mu_);  // nobody else sees src yet; the lock keeps the rule simple
      src->keys_ = it->second.keys;
      src->last_body_ = it->second.body;
      src->settled_ = true;
    }
    sources_.push_back(src);
    if (offline_) return src;  // explain: reported, never fetched
    if (!started_) {
      started_ = true;
      thread_ = std::thread([this] { run(); });
      cv_.wait(lk, [this] { return loop_ != nullptr; });
    }
  }
  fetch_now(src);
  return src;
}

void JwksFetcher::inherit(const JwksFetcher& previous) {
  std::vector<std::shared_ptr<RemoteJwks>> sources;
  {
    std::lock_guard<std::mutex> lk(previous.mu_);
    sources = previous.sources_;
  }
  std::map<std::string, Seed> seeds;
  for (const auto& s : sources) {
    std::lock_guard<std::mutex> sl(s->mu_);
    if (s->keys_) seeds[s->options().provider + '\n' + s->options().url.to_string()] = Seed{s->keys_, s->last_body_};
  }
  std::lock_guard<std::mutex> lk(mu_);
  seeds_ = std::move(seeds);
}

void JwksFetcher::fetch_now(const std::shared_ptr<RemoteJwks>& src) {
  if (!src || offline_) return;
  post([src](State& st) { st.start_fetch(st.source_of(src)); });
}

void JwksFetcher::post(std::function<void(State&)> fn) {
  std::lock_guard<std::mutex> lk(mu_);
  if (!loop_ || stopping_) return;
  // The state is looked up when the function runs: the thread may be ending by then.
  loop_->post([this, fn = std::move(fn)] {
    State* st = nullptr;
    {
      std::lock_guard<std::mutex> l(mu_);
      st = state_;
    }
    if (st) fn(*st);
  });
}

void JwksFetcher::run() {
  io::Loop loop;
  {
    State st(loop);
    {
      std::lock_guard<std::mutex> lk(mu_);
      loop_ = &loop;
      state_ = &st;
      if (stopping_) loop.stop();
    }
    cv_.notify_all();
    loop.run();
    std::lock_guard<std::mutex> lk(mu_);
    loop_ = nullptr;
    state_ = nullptr;
  }  // the state's handles close here; the loop's destructor runs until they have
}

}  // namespace pw::proxy
