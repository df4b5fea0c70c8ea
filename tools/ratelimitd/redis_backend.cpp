#include "redis_backend.h"

#include <openssl/sha.h>

#include <cstring>

#include <cmath>
#include <optional>

#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <uv.h>

namespace ratelimitd {

using pw::limit::Algorithm;

namespace {

// hiredis' event-loop glue for libuv. Written here rather than taken from hiredis'
// adapters/libuv.h because that adapter drops a poll error: libuv reports POLLERR (a reset
// connection, a refused non-blocking connect) as status UV_EBADF and stops the handle, the
// adapter returns without telling hiredis, and the connection hangs forever: commands pile up
// unanswered and no reconnect happens. Here an error status makes hiredis read and write, which
// surfaces the socket error and disconnects (then we reconnect).
struct UvEvents {
  redisAsyncContext* ctx = nullptr;
  uv_poll_t handle{};
  int events = 0;
};

void uv_redis_poll(uv_poll_t* h, int status, int events) {
  auto* p = static_cast<UvEvents*>(h->data);
  if (status < 0) events = UV_READABLE | UV_WRITABLE;
  if (p->ctx != nullptr && (events & UV_READABLE)) redisAsyncHandleRead(p->ctx);
  // The read may have freed the context: cleanup() clears p->ctx (p itself lives until uv_close).
  if (p->ctx != nullptr && (events & UV_WRITABLE)) redisAsyncHandleWrite(p->ctx);
}

void uv_redis_update(UvEvents* p, int add, int del) {
  p->events = (p->events | add) & ~del;
  if (p->events != 0) uv_poll_start(&p->handle, p->events, uv_redis_poll);
  else uv_poll_stop(&p->handle);
}

int uv_redis_attach(redisAsyncContext* ac, uv_loop_t* loop) {
  if (ac->ev.data != nullptr) return REDIS_ERR;
  auto* p = new UvEvents;
  if (uv_poll_init(loop, &p->handle, ac->c.fd) != 0) {
    delete p;
    return REDIS_ERR;
  }
  p->ctx = ac;
  p->handle.data = p;
  ac->ev.data = p;
  ac->ev.addRead = [](void* d) { uv_redis_update(static_cast<UvEvents*>(d), UV_READABLE, 0); };
  ac->ev.delRead = [](void* d) { uv_redis_update(static_cast<UvEvents*>(d), 0, UV_READABLE); };
  ac->ev.addWrite = [](void* d) { uv_redis_update(static_cast<UvEvents*>(d), UV_WRITABLE, 0); };
  ac->ev.delWrite = [](void* d) { uv_redis_update(static_cast<UvEvents*>(d), 0, UV_WRITABLE); };
  ac->ev.cleanup = [](void* d) {
    auto* p = static_cast<UvEvents*>(d);
    p->ctx = nullptr;
    uv_close(reinterpret_cast<uv_handle_t*>(&p->handle),
             [](uv_handle_t* h) { delete static_cast<UvEvents*>(h->data); });
  };
  return REDIS_OK;
}

// KEYS[1] current window, KEYS[2] previous window; ARGV limit, period (us), now (us), hits.
// Returns {allowed, current count before, previous count}.
const char* kSlidingScript = R"lua(
local limit = tonumber(ARGV[1])
local period = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
local hits = tonumber(ARGV[4])
local cur = tonumber(redis.call('GET', KEYS[1]) or '0')
local prev = tonumber(redis.call('GET', KEYS[2]) or '0')
local elapsed = now % period
local used = prev * (period - elapsed) / period + cur
local allowed = 0
if used + hits <= limit then
  allowed = 1
  redis.call('INCRBY', KEYS[1], hits)
  redis.call('PEXPIRE', KEYS[1], math.ceil(2 * period / 1000))
end
return {allowed, cur, prev}
)lua";

// KEYS[1] bucket hash {l = tokens, t = last refill (us)}; ARGV capacity, tokens per us, now (us),
// hits, ttl (ms). Returns {allowed, tokens before (string, exact)}.
const char* kTokenBucketScript = R"lua(
local cap = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
local hits = tonumber(ARGV[4])
local v = redis.call('HMGET', KEYS[1], 'l', 't')
local level = cap
if v[1] then
  level = tonumber(v[1])
  local last = tonumber(v[2])
  if now > last then
    level = math.min(cap, level + (now - last) * rate)
  else
    now = last
  end
end
local before = level
local allowed = 0
if level >= hits then
  allowed = 1
  level = level - hits
end
redis.call('HSET', KEYS[1], 'l', string.format('%.17g', level), 't', string.format('%.17g', now))
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return {allowed, string.format('%.17g', before)}
)lua";

// KEYS[1] theoretical arrival time (us); ARGV emission interval (us), burst, now (us), hits.
// Returns {allowed, TAT before (string, exact)}.
const char* kGcraScript = R"lua(
local T = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
local hits = tonumber(ARGV[4])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
local before = tat
if tat < now then tat = now end
local new_tat = tat + T * hits
local allowed = 0
if new_tat - now <= (burst + 1) * T then
  allowed = 1
  redis.call('SET', KEYS[1], string.format('%.17g', new_tat), 'PX', math.ceil((new_tat - now) / 1000) + 1)
end
return {allowed, string.format('%.17g', before)}
)lua";

std::string sha1_hex(const char* s) {
  unsigned char md[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(s), std::strlen(s), md);
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned char c : md) {
    out += hex[c >> 4];
    out += hex[c & 15];
  }
  return out;
}

struct Script {
  const char* text;
  std::string sha;
};
const Script& script_for(Algorithm a) {
  static const Script sliding{kSlidingScript, sha1_hex(kSlidingScript)};
  static const Script bucket{kTokenBucketScript, sha1_hex(kTokenBucketScript)};
  static const Script gcra{kGcraScript, sha1_hex(kGcraScript)};
  return a == Algorithm::sliding_window ? sliding : a == Algorithm::token_bucket ? bucket : gcra;
}

std::string num(double v) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

std::int64_t floor_div(std::int64_t a, std::int64_t b) {
  std::int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

}  // namespace

struct RedisBackend::Batch {
  BackendDone done;
  std::vector<std::optional<BackendResult>> results;
  std::size_t remaining = 0;
  pw::MonoTime deadline;
  bool finished = false;

  void complete_one(std::size_t i, BackendResult r) {
    if (finished || results[i]) return;
    results[i] = std::move(r);
    if (--remaining == 0) finish();
  }
  void fail_rest(const pw::Error& e) {
    if (finished) return;
    for (auto& r : results)
      if (!r) r = e;
    finish();
  }
  void finish() {
    finished = true;
    std::vector<BackendResult> out;
    out.reserve(results.size());
    for (auto& r : results) out.push_back(std::move(*r));
    auto cb = std::move(done);
    cb(std::move(out));
  }
};

struct RedisBackend::Command {
  RedisBackend* owner;
  std::shared_ptr<Batch> batch;
  std::size_t index;
  BackendItem item;
  std::int64_t now_ns;
  std::vector<std::string> args;  // for EVALSHA/EVAL: numkeys, keys, argv
  bool retried = false;
};

RedisBackend::RedisBackend(pw::io::Loop& loop, RedisOptions opt)
    : loop_(loop),
      opt_(std::move(opt)),
      backoff_(opt_.backoff_min),
      reconnect_timer_(loop, [this] { connect(); }),
      connect_timer_(loop, [this] { connect_timed_out(); }),
      sweep_timer_(loop, [this] { sweep(); }) {}

RedisBackend::~RedisBackend() {
  stopping_ = true;
  for (auto& b : inflight_) b->finished = true;  // no callbacks into the service any more
  inflight_.clear();
  if (ac_ != nullptr) {
    redisAsyncContext* ac = ac_;
    ac_ = nullptr;
    ac->data = nullptr;
    redisAsyncFree(ac);  // pending replies are called with NULL; their batches are finished
  }
  if (counted_up_ && opt_.connected) opt_.connected->dec();
}

void RedisBackend::start() {
  auto tick = std::max<pw::Duration>(opt_.timeout / 4, std::chrono::milliseconds(1));
  sweep_timer_.start(tick, tick);
  connect();
}

void RedisBackend::went_down(std::string_view cause) {
  if (link_ == Link::down || stopping_) return;
  link_ = Link::down;
  if (opt_.log == nullptr) return;
  const std::string addr = opt_.host + ":" + std::to_string(opt_.port);
  opt_.log->warn("redis backend down", {{"redis", addr}, {"worker", opt_.worker}, {"error", cause}});
}

void RedisBackend::went_up() {
  const bool recovered = link_ == Link::down;
  link_ = Link::up;
  if (opt_.log == nullptr) return;
  const std::string addr = opt_.host + ":" + std::to_string(opt_.port);
  opt_.log->log(recovered ? pw::telemetry::Level::warn : pw::telemetry::Level::info, "redis backend up",
                {{"redis", addr}, {"worker", opt_.worker}});
}

void RedisBackend::connect() {
  if (stopping_ || ac_ != nullptr) return;
  redisAsyncContext* ac = redisAsyncConnect(opt_.host.c_str(), opt_.port);
  if (ac == nullptr) {
    went_down("cannot allocate a redis connection");
    return schedule_reconnect();
  }
  if (ac->err) {
    went_down(ac->errstr);
    redisAsyncFree(ac);
    return schedule_reconnect();
  }
  ac->data = this;
  if (uv_redis_attach(ac, loop_.uv()) != REDIS_OK) {
    went_down("cannot watch the redis socket");
    redisAsyncFree(ac);
    return schedule_reconnect();
  }
  redisAsyncSetConnectCallback(ac, &RedisBackend::on_connect);
  redisAsyncSetDisconnectCallback(ac, &RedisBackend::on_disconnect);
  ac_ = ac;
  // A connect that neither succeeds nor fails (a black-holed address) is given up after
  // connect_timeout and tried again.
  connect_timer_.start(opt_.connect_timeout);
}

void RedisBackend::connect_timed_out() {
  if (connected_ || ac_ == nullptr) return;
  redisAsyncContext* ac = ac_;
  ac_ = nullptr;
  ac->data = nullptr;  // no callbacks into this object from the freed context
  redisAsyncFree(ac);
  went_down("connect timed out after " + std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(
                                                            opt_.connect_timeout).count()) + "ms");
  schedule_reconnect();
}

void RedisBackend::schedule_reconnect() {
  if (stopping_) return;
  if (opt_.reconnects) opt_.reconnects->inc();
  reconnect_timer_.start(backoff_);
  backoff_ = std::min(backoff_ * 2, opt_.backoff_max);
}

void RedisBackend::on_connect(const redisAsyncContext* ac, int status) {
  auto* self = static_cast<RedisBackend*>(ac->data);
  if (self == nullptr) return;
  if (status != REDIS_OK) {
    self->ac_ = nullptr;  // hiredis frees the context after this callback
    self->connect_timer_.stop();
    self->went_down(ac->errstr[0] != '\0' ? ac->errstr : "connect failed");
    self->schedule_reconnect();
    return;
  }
  self->connect_timer_.stop();
  self->connected_ = true;
  self->backoff_ = self->opt_.backoff_min;
  self->went_up();
  if (self->opt_.connected && !self->counted_up_) {
    self->opt_.connected->inc();
    self->counted_up_ = true;
  }
}

void RedisBackend::on_disconnect(const redisAsyncContext* ac, int status) {
  auto* self = static_cast<RedisBackend*>(ac->data);
  if (self == nullptr) return;
  self->ac_ = nullptr;
  // REDIS_OK: closed on our side or by the server (EOF: "Server closed the connection").
  self->went_down(ac->errstr[0] != '\0' ? ac->errstr
                  : status == REDIS_OK  ? "connection closed"
                                        : "connection lost");
  self->connected_ = false;
  if (self->counted_up_ && self->opt_.connected) {
    self->opt_.connected->dec();
    self->counted_up_ = false;
  }
  self->schedule_reconnect();
}

void RedisBackend::sweep() {
  const auto now = loop_.clock().now();
  while (!inflight_.empty() && (inflight_.front()->finished || inflight_.front()->deadline <= now)) {
    auto b = std::move(inflight_.front());
    inflight_.pop_front();
    if (!b->finished) {
      if (opt_.timeouts) opt_.timeouts->inc();
      b->fail_rest(pw::make_error(pw::Errc::timeout, "redis did not answer in time"));
    }
  }
}

void RedisBackend::decide(std::vector<BackendItem> items, std::int64_t now_ns, BackendDone done) {
  auto batch = std::make_shared<Batch>();
  batch->done = std::move(done);
  batch->results.resize(items.size());
  batch->remaining = items.size();
  batch->deadline = loop_.clock().now() + opt_.timeout;
  if (items.empty()) return batch->finish();
  if (!connected_ || ac_ == nullptr)
    return batch->fail_rest(pw::make_error(pw::Errc::io_error, "redis is not connected"));
  if (pending_ + items.size() > opt_.max_pending)
    return batch->fail_rest(pw::make_error(pw::Errc::limit_exceeded, "too many commands waiting for redis"));
  inflight_.push_back(batch);
  for (std::size_t i = 0; i < items.size(); ++i) {
    auto* cmd = new Command{this, batch, i, std::move(items[i]), now_ns, {}, false};
    if (!send(cmd, false)) {
      batch->complete_one(i, pw::make_error(pw::Errc::io_error, "redis: command refused"));
      delete cmd;
    }
    if (batch->finished) break;
  }
}

bool RedisBackend::send(Command* cmd, bool full_script) {
  if (ac_ == nullptr) return false;
  const auto& p = cmd->item.policy;
  const std::int64_t P = std::max<std::int64_t>(1, p.period.count());
  const double now_us = static_cast<double>(cmd->now_ns / 1000);
  const double period_us = static_cast<double>(P / 1000);
  const std::string& key = cmd->item.key;
  if (p.algorithm == Algorithm::fixed_window) {
    const std::int64_t w = floor_div(cmd->now_ns, P);
    std::string k = key + ":" + std::to_string(w);
    std::string hits = std::to_string(cmd->item.hits);
    std::string ttl = std::to_string(P / 1'000'000 + 1000);
    // Explicit lengths: keys are binary (a NUL in a value must not cut the key short, or "a\0b"
    // would count as "a"), as in the memory backend.
    const char* a1[] = {"INCRBY", k.data(), hits.data()};
    const std::size_t l1[] = {6, k.size(), hits.size()};
    const char* a2[] = {"PEXPIRE", k.data(), ttl.data()};
    const std::size_t l2[] = {7, k.size(), ttl.size()};
    if (redisAsyncCommandArgv(ac_, &RedisBackend::on_reply, cmd, 3, a1, l1) != REDIS_OK) return false;
    ++pending_;
    (void)redisAsyncCommandArgv(ac_, nullptr, nullptr, 3, a2, l2);
    return true;
  }
  if (cmd->args.empty()) {
    auto& a = cmd->args;
    const std::string hits = std::to_string(cmd->item.hits);
    if (p.algorithm == Algorithm::sliding_window) {
      const std::int64_t w = floor_div(cmd->now_ns, P);
      a = {"2", key + ":" + std::to_string(w), key + ":" + std::to_string(w - 1), std::to_string(p.limit),
           num(period_us), num(now_us), hits};
    } else if (p.algorithm == Algorithm::token_bucket) {
      const double cap = static_cast<double>(p.burst ? p.burst : p.limit);
      const double rate = static_cast<double>(p.limit) / period_us;
      const double ttl_ms = rate > 0 ? std::ceil(cap / rate / 1000.0) + 1000 : period_us / 1000 + 1000;
      a = {"1", key, num(cap), num(rate), num(now_us), hits, num(ttl_ms)};
    } else {
      // The emission interval exactly as pw::limit computes it (integer nanoseconds).
      const std::int64_t T = p.limit ? std::max<std::int64_t>(1, P / static_cast<std::int64_t>(p.limit)) : P;
      a = {"1", key, num(static_cast<double>(T) / 1000.0), std::to_string(p.burst), num(now_us), hits};
    }
  }
  const Script& s = script_for(p.algorithm);
  std::vector<const char*> argv;
  std::vector<std::size_t> lens;
  argv.push_back(full_script ? "EVAL" : "EVALSHA");
  lens.push_back(std::strlen(argv.back()));
  argv.push_back(full_script ? s.text : s.sha.c_str());
  lens.push_back(std::strlen(argv.back()));
  for (const auto& x : cmd->args) {  // keys are binary: their whole length, NUL bytes included
    argv.push_back(x.data());
    lens.push_back(x.size());
  }
  if (redisAsyncCommandArgv(ac_, &RedisBackend::on_reply, cmd, static_cast<int>(argv.size()), argv.data(),
                            lens.data()) != REDIS_OK)
    return false;
  ++pending_;
  return true;
}

void RedisBackend::on_reply(redisAsyncContext* ac, void* reply, void* priv) {
  auto* cmd = static_cast<Command*>(priv);
  RedisBackend* self = ac->data != nullptr ? static_cast<RedisBackend*>(ac->data) : nullptr;
  if (self == nullptr) {  // the backend is going away
    delete cmd;
    return;
  }
  --self->pending_;
  self->reply(cmd, reply);
}

void RedisBackend::reply(Command* cmd, void* raw) {
  std::unique_ptr<Command> own(cmd);
  auto* r = static_cast<redisReply*>(raw);
  auto& batch = *cmd->batch;
  if (batch.finished) return;
  if (r == nullptr) return batch.complete_one(cmd->index, pw::make_error(pw::Errc::io_error, "redis connection lost"));
  if (r->type == REDIS_REPLY_ERROR) {
    std::string_view msg(r->str, r->len);
    if (msg.starts_with("NOSCRIPT") && !cmd->retried) {
      cmd->retried = true;
      if (send(cmd, true)) {
        (void)own.release();
        return;
      }
    }
    return batch.complete_one(cmd->index, pw::make_error(pw::Errc::io_error, "redis: " + std::string(msg)));
  }
  const auto& p = cmd->item.policy;
  pw::limit::State st;
  bool allowed_by_server = true;
  auto integer = [](const redisReply* e) -> std::int64_t {
    if (e->type == REDIS_REPLY_INTEGER) return e->integer;
    if (e->type == REDIS_REPLY_STRING) return static_cast<std::int64_t>(std::strtod(e->str, nullptr));
    return 0;
  };
  auto dbl = [](const redisReply* e) -> double {
    if (e->type == REDIS_REPLY_INTEGER) return static_cast<double>(e->integer);
    if (e->type == REDIS_REPLY_STRING) return std::strtod(e->str, nullptr);
    return 0;
  };
  const std::int64_t P = std::max<std::int64_t>(1, p.period.count());
  const std::int64_t w = floor_div(cmd->now_ns, P);
  if (p.algorithm == Algorithm::fixed_window) {
    if (r->type != REDIS_REPLY_INTEGER)
      return batch.complete_one(cmd->index, pw::make_error(pw::Errc::io_error, "redis: unexpected INCRBY reply"));
    st.a = w + 1;
    st.b = r->integer - static_cast<std::int64_t>(cmd->item.hits);
  } else {
    if (r->type != REDIS_REPLY_ARRAY || r->elements < 2)
      return batch.complete_one(cmd->index, pw::make_error(pw::Errc::io_error, "redis: unexpected script reply"));
    allowed_by_server = integer(r->element[0]) == 1;
    if (p.algorithm == Algorithm::sliding_window) {
      if (r->elements < 3)
        return batch.complete_one(cmd->index, pw::make_error(pw::Errc::io_error, "redis: unexpected script reply"));
      st.a = w + 1;
      st.b = integer(r->element[1]);
      st.c = integer(r->element[2]);
    } else if (p.algorithm == Algorithm::token_bucket) {
      st.a = cmd->now_ns;
      st.level = dbl(r->element[1]);
    } else {
      st.a = static_cast<std::int64_t>(std::llround(dbl(r->element[1]) * 1000.0));
    }
  }
  // The server decided atomically; the same arithmetic here fills in remaining and the reset
  // times from the state it saw.
  pw::limit::Decision d = pw::limit::decide(p, st, cmd->now_ns, cmd->item.hits);
  if (d.allowed != allowed_by_server && p.algorithm != Algorithm::fixed_window) {
    d.allowed = allowed_by_server;
    if (!d.allowed) d.remaining = 0;
  }
  batch.complete_one(cmd->index, d);
}

}  // namespace ratelimitd
