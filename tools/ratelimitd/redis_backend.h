// The Redis backend: counters shared by every ratelimitd instance that points at one Redis
// (single server; keys carry hash tags for Redis Cluster slot placement).
//
// One hiredis async connection per worker loop, driven by hiredis' libuv adapter. Commands of
// one loop iteration leave in one write (pipelining); replies are matched in order. fixed_window
// is INCRBY + PEXPIRE (as envoyproxy/ratelimit); sliding_window, token_bucket and gcra are Lua
// scripts (EVALSHA, falling back to EVAL once on NOSCRIPT), atomic on the server. Times are
// passed by ratelimitd (microseconds since the epoch), so instances agree as far as their clocks
// do and tests can inject a clock. Keys are binary: every argument goes with its length, so a
// NUL byte is part of the key (as in the memory backend).
//
// Failures: while disconnected every decision fails at once (the service applies its failure
// mode); a command not answered within `timeout` fails; at most `max_pending` commands wait on a
// connection. A lost connection is re-established with exponential backoff.
//
// Each transition of the connection is logged once, with its cause: "redis backend down" (warn:
// the first failed connect at start, a lost connection, a connect that timed out; not repeated
// per retry while it stays down) and "redis backend up" (warn when it comes back after being
// down, info on the first connect).
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>

#include "pw/io/loop.h"
#include "pw/telemetry/log.h"
#include "pw/telemetry/metrics.h"

#include "backend.h"

struct redisAsyncContext;

namespace ratelimitd {

struct RedisOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 6379;
  pw::Duration timeout = std::chrono::milliseconds(100);
  std::size_t max_pending = 100000;  // commands waiting for replies on one connection
  pw::Duration backoff_min = std::chrono::milliseconds(50);
  pw::Duration backoff_max = std::chrono::seconds(2);
  pw::Duration connect_timeout = std::chrono::milliseconds(500);
  pw::telemetry::Gauge* connected = nullptr;       // +1 per connected worker
  pw::telemetry::Counter* reconnects = nullptr;    // connection attempts after a loss
  pw::telemetry::Counter* timeouts = nullptr;
  pw::telemetry::Logger* log = nullptr;            // connection transitions; none when null
  unsigned worker = 0;                             // named in those log lines
};

class RedisBackend final : public Backend {
 public:
  RedisBackend(pw::io::Loop& loop, RedisOptions opt);
  ~RedisBackend() override;
  RedisBackend(const RedisBackend&) = delete;
  RedisBackend& operator=(const RedisBackend&) = delete;

  void start();  // connects (asynchronously)
  void decide(std::vector<BackendItem> items, std::int64_t now_ns, BackendDone done) override;
  bool healthy() const override { return connected_; }

  struct Batch;
  struct Command;

 private:
  void connect();
  void schedule_reconnect();
  void connect_timed_out();
  void went_down(std::string_view cause);
  void went_up();
  void sweep();
  bool send(Command* cmd, bool full_script);
  static void on_connect(const redisAsyncContext* ac, int status);
  static void on_disconnect(const redisAsyncContext* ac, int status);
  static void on_reply(redisAsyncContext* ac, void* reply, void* priv);
  void reply(Command* cmd, void* reply);

  pw::io::Loop& loop_;
  RedisOptions opt_;
  redisAsyncContext* ac_ = nullptr;
  bool connected_ = false;
  bool stopping_ = false;
  bool counted_up_ = false;
  enum class Link : std::uint8_t { unknown, up, down } link_ = Link::unknown;  // as last logged
  std::size_t pending_ = 0;
  pw::Duration backoff_;
  pw::io::Timer reconnect_timer_;
  pw::io::Timer connect_timer_;  // a connect that never reports (see connect())
  pw::io::Timer sweep_timer_;
  std::deque<std::shared_ptr<Batch>> inflight_;  // oldest first, for timeouts
};

}  // namespace ratelimitd
