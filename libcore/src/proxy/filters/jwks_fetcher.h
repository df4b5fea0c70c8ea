// Remote JWK Sets, fetched off the request path: one thread with its own io::Loop and HTTP
// client serves every remote JWKS of a config snapshot, so a worker never waits on DNS, TCP,
// TLS or a slow JWKS server. Workers read the current key set under a mutex (a shared_ptr copy)
// and, when a token names an unknown kid, ask for a refetch (at most once per 30 s per source,
// as go-oidc and panva/jose do) and pause the request until it completes; the fetcher posts the
// answer back to the worker's loop.
//
// A source is fetched at start, then every cache_duration; a failed fetch keeps serving the
// last good keys (stale) and is retried after min(cache_duration, 10 s). Responses are
// bounded (max_bytes), timed (timeout), and must be 200 with a parsable JWK Set; fetched sets
// never contain symmetric keys.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "pw/base/clock.h"
#include "pw/base/result.h"
#include "pw/http/url.h"
#include "pw/io/loop.h"
#include "pw/jose/jwk.h"
#include "pw/proxy/filters/jwt.h"

namespace pw::proxy {

class JwksFetcher;

class RemoteJwks : public std::enable_shared_from_this<RemoteJwks> {
 public:
  struct Options {
    std::string provider;  // for metrics
    http::Url url;
    Duration cache_duration{};
    Duration timeout{};
    std::size_t max_bytes = 0;
    std::string ca_file;
    Duration refetch_interval = std::chrono::seconds(30);  // unknown-kid refetches, at most one per
  };
  RemoteJwks(Options opt, JwksFetcher& fetcher, JwtMetrics* metrics) : opt_(std::move(opt)), fetcher_(fetcher), metrics_(metrics) {}

  // The current key set (null before the first successful fetch).
  std::shared_ptr<const jose::JwkSet> keys() const;
  // Whether at least one fetch finished (successfully or not).
  bool settled() const;

  // Worker side: asks to be called back (on `loop`, through post) when the fetch in progress
  // or a new one ends. A new fetch is started for an unknown kid only when none ran in the last
  // refetch_interval. Returns 0 when there is nothing to wait for (no fetch running and none
  // allowed, or too many waiters), else a ticket for cancel_wait().
  std::uint64_t wait(io::Loop& loop, std::function<void()> done, bool unknown_kid);
  void cancel_wait(std::uint64_t ticket);

  const Options& options() const noexcept { return opt_; }

 private:
  friend class JwksFetcher;
  struct Waiter {
    std::uint64_t ticket;
    io::Loop* loop;
    std::function<void()> done;
  };
  // Fetcher thread: a fetch starts / ended with this body (or an error).
  void starting();
  void finished(Result<std::string> body);

  Options opt_;
  JwksFetcher& fetcher_;
  JwtMetrics* metrics_;
  mutable std::mutex mu_;
  std::shared_ptr<const jose::JwkSet> keys_;
  std::string last_body_;  // the body keys_ came from: an identical refetch keeps the same set
  bool settled_ = false;
  bool fetching_ = false;
  MonoTime last_fetch_start_{};
  std::vector<Waiter> waiters_;
  std::uint64_t next_ticket_ = 1;
};

class JwksFetcher {
 public:
  JwksFetcher() = default;
  // offline (gw-proxy explain): sources are registered but never fetched; no thread starts.
  explicit JwksFetcher(bool offline) : offline_(offline) {}
  ~JwksFetcher();  // stops and joins the thread; no callback follows
  JwksFetcher(const JwksFetcher&) = delete;
  JwksFetcher& operator=(const JwksFetcher&) = delete;

  // Registers a source (at snapshot build); the same provider name and URL share one source.
  // Starts the thread on first use and the source's first fetch.
  std::shared_ptr<RemoteJwks> add(RemoteJwks::Options opt, JwtMetrics* metrics);

  // Thread-safe: starts a fetch of `src` now (the caller marked it fetching).
  void fetch_now(const std::shared_ptr<RemoteJwks>& src);

  // A reload builds a new fetcher: the keys the previous one holds (by provider and URL) seed
  // the sources add() makes, so a JWKS endpoint that is down during a reload does not turn
  // every token away; the new source's first fetch replaces them when it succeeds.
  void inherit(const JwksFetcher& previous);

 private:
  struct State;
  void run();
  void post(std::function<void(State&)> fn);

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::shared_ptr<RemoteJwks>> sources_;
  struct Seed {
    std::shared_ptr<const jose::JwkSet> keys;
    std::string body;
  };
  std::map<std::string, Seed> seeds_;  // provider + '\n' + URL -> keys of the previous fetcher
  std::thread thread_;
  bool offline_ = false;
  io::Loop* loop_ = nullptr;  // set while the thread's loop runs
  State* state_ = nullptr;
  bool started_ = false;
  bool stopping_ = false;
};

}  // namespace pw::proxy
