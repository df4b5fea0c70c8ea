// certctl serve's store: the bootstrap tokens (config + tokens.jsonl), the used-token set
// (tokens-used.jsonl), the issuance log (issued.jsonl) and an index of the CA database
// (db.jsonl) by serial for renewals, all JSON-lines files (jsonl_file.h) behind in-memory state.
//
// Threads: the state belongs to one store thread. The worker loops never touch a file: each
// call below queues a job (a short mutex-protected push) and the job's result is posted back to
// the caller's loop (io::Loop::post), as the logger and the access log keep I/O off the loops
// with their writer threads. Jobs run in the order they were queued, so a lookup queued after a
// commit sees what the commit wrote.
//
// Durability: commit() appends the database record, the token's use and the issuance log line,
// each file once per batch of queued jobs with fdatasync (group commit), and calls back only
// after that: an answered issuance survives a crash, and a token is never usable twice.
//
// The database index follows db.jsonl, which other certctl processes append to (revoke, issue,
// crl): each lookup stats the file and reads only the bytes appended since the last one (a file
// replaced or shortened is read again from the start). A line that is not JSON makes renewal
// lookups fail (closed) until the file changes: a revocation might be in it.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "jsonl_file.h"
#include "pw/base/clock.h"
#include "pw/base/result.h"
#include "pw/io/loop.h"
#include "pw/telemetry/log.h"
#include "pw/tls/context.h"
#include "serve_config.h"

namespace certctl {

struct StorePaths {
  std::string tokens;        // tokens.jsonl: written by `certctl token`, read here
  std::string used;          // tokens-used.jsonl
  std::string issuance_log;  // issued.jsonl
  std::string db;            // the CA's db.jsonl
};

struct TokenDecision {
  enum class Outcome { granted, unknown, used, expired, refused };
  Outcome outcome = Outcome::unknown;
  TokenEntry entry;     // granted, refused, expired: the token's record
  std::string message;  // refused: the check's reason
};

// What one issuance writes, in this order: the database record, the token's use (when a token
// authorized it), the issuance log line.
struct Commit {
  std::string token_sha256;  // empty for a renewal
  Json db_record;
  Json used_record;
  Json log_record;
};

// Counters for tests and the report of issue 12 (the renewal path's cost).
struct StoreCounters {
  std::uint64_t db_bytes_read = 0;  // bytes of db.jsonl read since open
  std::uint64_t db_full_loads = 0;  // times db.jsonl was read from its first byte
  std::uint64_t appends = 0;        // append_jsonl calls
  std::uint64_t syncs = 0;          // batches made durable
  std::uint64_t torn_tails = 0;     // torn last lines seen (reported) or cut
};

struct StoreOptions {
  StorePaths paths;
  std::vector<TokenEntry> config_tokens;  // certctl.json's "tokens"
  bool sync = true;                       // fdatasync after each batch of appends
  std::uint64_t max_db_bytes = 1ULL << 30;
  std::uint64_t max_token_bytes = 64ULL << 20;
};

class TokenStore {
 public:
  // Start-up (blocking; before any loop runs): reads the token files, indexes the database and
  // starts the store thread. Torn last lines are logged (file, byte offset) and skipped. Errors:
  // Errc::parse_error for a tokens.jsonl line that is not a valid token record (file:line),
  // Errc::io_error / limit_exceeded for files that cannot be read.
  static pw::Result<std::unique_ptr<TokenStore>> open(StoreOptions opt, pw::telemetry::Logger& log);
  ~TokenStore();  // runs the jobs already queued, then joins the thread
  TokenStore(const TokenStore&) = delete;
  TokenStore& operator=(const TokenStore&) = delete;

  using TokenCheck = std::function<std::string(const TokenEntry&)>;  // "" or why the token may not
  // Finds the token with this SHA-256 (every known token compared in constant time), re-reading
  // tokens.jsonl first when it changed. A known, unused, unexpired token that passes `check` is
  // reserved (in flight) until commit() or release_token().
  void reserve_token(std::string sha256, pw::WallTime now, TokenCheck check, pw::io::Loop& loop,
                     std::function<void(pw::Result<TokenDecision>)> done);
  // An issuance that failed after reserve_token: the token may be used again.
  void release_token(std::string sha256);
  // The database records (issued, revoked) of a serial, any spelling (normalise_serial).
  void issuance_records(std::string serial, pw::io::Loop& loop,
                        std::function<void(pw::Result<std::vector<Json>>)> done);
  // Writes an issuance (see Commit) durably; the token becomes used even when a write fails.
  void commit(Commit c, pw::io::Loop& loop, std::function<void(pw::Status)> done);
  // SIGHUP: re-reads tokens.jsonl; logs the outcome.
  void reload_tokens();
  // Runs `job` on the store thread, in order with the rest (the CRL cache's work).
  void run(std::function<void()> job);

  StoreCounters counters() const;
  const StorePaths& paths() const noexcept { return opt_.paths; }

 private:
  struct Job {
    std::function<void()> run;
  };
  struct DbIndex {
    std::uint64_t end = 0;
    dev_t dev = 0;
    ino_t ino = 0;
    bool exists = false;
    std::uint64_t torn_reported = UINT64_MAX;  // offset of the torn tail already logged
    std::unordered_map<std::string, std::vector<Json>> by_serial;
    std::optional<std::string> broken;  // why lookups fail closed
  };

  TokenStore(StoreOptions opt, pw::telemetry::Logger& log);
  void thread_main();
  void enqueue(std::function<void()> job);
  // Store thread (or open(), before the thread starts):
  pw::Result<TokenDecision> reserve_now(const std::string& sha256, pw::WallTime now, const TokenCheck& check);
  void add_to_batch(Commit& c, pw::io::Loop& loop, std::function<void(pw::Status)>& done);
  pw::Status load_tokens();
  pw::Status load_used();
  pw::Status refresh_db();
  void index_records(const JsonlRead& r);
  void report_torn(const JsonlDamage& d, const char* which);
  pw::Status append(const std::string& path, const std::string& lines, mode_t mode);
  void flush_pending();

  StoreOptions opt_;
  pw::telemetry::Logger& log_;

  // Store thread only.
  std::vector<TokenEntry> tokens_;
  pw::tls::FileStamp tokens_stamp_;
  std::set<std::string> used_, in_flight_;
  DbIndex db_;
  struct Pending {  // one batch's appends, written before the batch's commits call back
    std::string db, used, log;
    std::vector<std::function<void(pw::Status)>> done;
  } pending_;

  std::atomic<std::uint64_t> db_bytes_read_{0}, db_full_loads_{0}, appends_{0}, syncs_{0}, torn_{0};

  std::mutex mu_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> queue_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace certctl
