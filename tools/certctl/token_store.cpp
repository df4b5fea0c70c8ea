#include "token_store.h"

#include <openssl/crypto.h>
#include <sys/stat.h>

#include "ca_store.h"
#include "pw/config/load.h"

namespace certctl {

using namespace pw;

namespace {

constexpr mode_t kPrivate = 0600;  // db.jsonl and tokens-used.jsonl, as append_db and cmd_token make them
constexpr mode_t kPublic = 0644;   // issued.jsonl

std::string dump_line(const Json& j) {
  // Replace, never throw, on invalid UTF-8 (a CSR's subject is the requester's bytes).
  return j.dump(-1, ' ', false, Json::error_handler_t::replace) + "\n";
}

template <class T>
void deliver(io::Loop& loop, std::function<void(Result<T>)>& done, Result<T> r) {
  loop.post([done = std::move(done), r = std::move(r)]() mutable {
    if (done) done(std::move(r));
  });
}

// Runs fn on the store thread and delivers its Result; an exception (a bug, or allocation)
// becomes an Errc::internal Result, so every caller is answered.
template <class T, class F>
void guarded(io::Loop& loop, std::function<void(Result<T>)>& done, F&& fn) {
  Result<T> r = make_error(Errc::internal, "token store: no result");
  try {
    r = fn();
  } catch (const std::exception& e) {
    r = make_error(Errc::internal, std::string("token store: ") + e.what());
  }
  deliver<T>(loop, done, std::move(r));
}

}  // namespace

TokenStore::TokenStore(StoreOptions opt, telemetry::Logger& log) : opt_(std::move(opt)), log_(log) {}

Result<std::unique_ptr<TokenStore>> TokenStore::open(StoreOptions opt, telemetry::Logger& log) {
  std::unique_ptr<TokenStore> s(new TokenStore(std::move(opt), log));
  if (auto st = s->load_tokens(); !st) return std::move(st).error();
  if (auto st = s->load_used(); !st) return std::move(st).error();
  if (auto st = s->refresh_db(); !st) return std::move(st).error();
  // A broken database is logged (refresh_db) and fails renewals, not the start: tokens still work.
  try {
    s->thread_ = std::thread([raw = s.get()] { raw->thread_main(); });
  } catch (const std::system_error& e) {
    return make_error(Errc::internal, std::string("token store: cannot start its thread: ") + e.what());
  }
  return s;
}

TokenStore::~TokenStore() {
  if (!thread_.joinable()) return;
  {
    std::lock_guard lk(mu_);
    stopping_ = true;
  }
  wake_.notify_one();
  thread_.join();
}

void TokenStore::enqueue(std::function<void()> job) {
  {
    std::lock_guard lk(mu_);
    queue_.push_back(std::move(job));
  }
  wake_.notify_one();
}

void TokenStore::thread_main() {
  std::deque<std::function<void()>> batch;
  for (;;) {
    {
      std::unique_lock lk(mu_);
      wake_.wait(lk, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty() && stopping_) return;
      batch.swap(queue_);
    }
    for (auto& job : batch) {
      try {
        job();
      } catch (const std::exception& e) {  // a bug: every job delivers its own errors
        log_.error("token store: a job failed", {{"error", e.what()}});
      }
    }
    batch.clear();
    flush_pending();
  }
}

void TokenStore::report_torn(const JsonlDamage& d, const char* which) {
  ++torn_;
  log_.warn("torn last line skipped: a writer stopped in the middle of a record",
            {{"file", d.path}, {"offset", d.offset}, {"bytes", d.bytes}, {"store", which}});
}

Status TokenStore::load_tokens() {
  auto r = read_jsonl(opt_.paths.tokens, 0, opt_.max_token_bytes);
  if (!r) return std::move(r).error();
  if (!r->bad_lines.empty()) return make_error(Errc::parse_error, r->bad_lines.front().to_string("not a JSON line"));
  std::vector<TokenEntry> tokens = opt_.config_tokens;
  for (const auto& rec : r->records) {
    auto t = config::load_text<TokenEntry>(rec.value.dump(-1, ' ', false, Json::error_handler_t::replace),
                                           opt_.paths.tokens + ":" + std::to_string(rec.line));
    if (!t) return make_error(Errc::parse_error, t.error().message);
    tokens.push_back(std::move(*t));
  }
  if (r->torn) report_torn(*r->torn, "tokens");
  tokens_ = std::move(tokens);
  tokens_stamp_ = tls::stamp_file(opt_.paths.tokens);
  return {};
}

Status TokenStore::load_used() {
  auto r = read_jsonl(opt_.paths.used, 0, opt_.max_token_bytes);
  if (!r) return std::move(r).error();
  for (const auto& bad : r->bad_lines) log_.warn("used-token line skipped", {{"error", bad.to_string("not a JSON line")}});
  for (const auto& rec : r->records) {
    auto it = rec.value.find("sha256");
    if (it != rec.value.end() && it->is_string()) used_.insert(it->get<std::string>());
  }
  if (r->torn) report_torn(*r->torn, "tokens-used");
  return {};
}

void TokenStore::index_records(const JsonlRead& r) {
  for (const auto& rec : r.records) {
    const Json& j = rec.value;
    auto s = j.find("serial");
    auto ev = j.find("event");
    if (s == j.end() || !s->is_string() || ev == j.end() || !ev->is_string()) continue;
    const auto& e = ev->get_ref<const std::string&>();
    if (e != "issued" && e != "revoked") continue;
    db_.by_serial[normalise_serial(s->get_ref<const std::string&>())].push_back(j);
  }
}

Status TokenStore::refresh_db() {
  struct stat st {};
  const std::string& path = opt_.paths.db;
  bool exists = ::stat(path.c_str(), &st) == 0;
  bool same_file = exists && db_.exists && st.st_dev == db_.dev && st.st_ino == db_.ino &&
                   static_cast<std::uint64_t>(st.st_size) >= db_.end;
  if (same_file && static_cast<std::uint64_t>(st.st_size) == db_.end) return {};  // nothing new
  std::uint64_t from = same_file ? db_.end : 0;
  auto r = read_jsonl(path, from, opt_.max_db_bytes);
  if (!r) return std::move(r).error();
  db_bytes_read_ += r->bytes_read;
  if (!r->exists) {
    db_ = DbIndex{};
    return {};
  }
  bool restart = from == 0 || r->dev != db_.dev || r->ino != db_.ino || r->end < from;
  if (restart && from != 0) {  // replaced between stat() and open(): read it whole
    r = read_jsonl(path, 0, opt_.max_db_bytes);
    if (!r) return std::move(r).error();
    db_bytes_read_ += r->bytes_read;
  }
  if (restart) {
    ++db_full_loads_;
    std::uint64_t torn_reported = db_.torn_reported;
    db_ = DbIndex{};
    db_.torn_reported = torn_reported;
  }
  db_.exists = true;
  db_.dev = r->dev;
  db_.ino = r->ino;
  db_.end = r->end;
  index_records(*r);
  if (!r->bad_lines.empty() && !db_.broken) {
    db_.broken = r->bad_lines.front().to_string("not a JSON line");
    log_.error("the CA database has a line that is not JSON: renewals fail until it is repaired",
               {{"error", *db_.broken}});
  }
  if (r->torn && r->torn->offset != db_.torn_reported) {
    db_.torn_reported = r->torn->offset;
    report_torn(*r->torn, "db");
  }
  return {};
}

Status TokenStore::append(const std::string& path, const std::string& lines, mode_t mode) {
  ++appends_;
  auto r = append_jsonl(path, lines, mode, opt_.sync);
  if (!r) return std::move(r).error();
  if (r->cut) {
    ++torn_;
    log_.warn("torn last line cut off before appending", {{"file", r->cut->path}, {"offset", r->cut->offset},
                                                          {"bytes", r->cut->bytes}});
  }
  return {};
}

void TokenStore::flush_pending() {
  if (pending_.done.empty() && pending_.db.empty() && pending_.used.empty() && pending_.log.empty()) return;
  Pending p = std::move(pending_);
  pending_ = Pending{};
  Status st;
  // The database first: an issuance is on record before anything says it happened.
  if (!p.db.empty()) st = append(opt_.paths.db, p.db, kPrivate);
  if (!p.used.empty()) {
    Status s = append(opt_.paths.used, p.used, kPrivate);
    if (st && !s) st = std::move(s);
  }
  if (!p.log.empty()) {
    Status s = append(opt_.paths.issuance_log, p.log, kPublic);
    if (st && !s) st = std::move(s);
  }
  ++syncs_;
  for (auto& d : p.done) d(st);
}

void TokenStore::reserve_token(std::string sha256, WallTime now, TokenCheck check, io::Loop& loop,
                               std::function<void(Result<TokenDecision>)> done) {
  enqueue([this, sha256 = std::move(sha256), now, check = std::move(check), &loop, done = std::move(done)]() mutable {
    guarded(loop, done, [&]() -> Result<TokenDecision> { return reserve_now(sha256, now, check); });
  });
}

Result<TokenDecision> TokenStore::reserve_now(const std::string& sha256, WallTime now, const TokenCheck& check) {
  if (!(tls::stamp_file(opt_.paths.tokens) == tokens_stamp_)) {
    if (Status st = load_tokens(); !st) {
      // Keep the tokens we have; one report per change of the file.
      log_.error("token file not reloaded; the previous tokens stay in force", {{"error", st.error().message}});
      tokens_stamp_ = tls::stamp_file(opt_.paths.tokens);
    }
  }
  TokenDecision d;
  const TokenEntry* found = nullptr;
  for (const auto& t : tokens_)  // every entry compared in constant time; no early exit
    if (t.sha256.size() == sha256.size() && CRYPTO_memcmp(t.sha256.data(), sha256.data(), sha256.size()) == 0)
      found = &t;
  if (found == nullptr) {
    d.outcome = TokenDecision::Outcome::unknown;
  } else if (used_.count(sha256) || in_flight_.count(sha256)) {
    d.outcome = TokenDecision::Outcome::used;
  } else {
    d.entry = *found;
    std::optional<WallTime> exp;
    if (!found->expires.empty()) exp = parse_time(found->expires, now);
    if (!found->expires.empty() && (!exp || now >= *exp)) {
      d.outcome = TokenDecision::Outcome::expired;
    } else if (std::string why = check ? check(*found) : std::string(); !why.empty()) {
      d.outcome = TokenDecision::Outcome::refused;
      d.message = std::move(why);
    } else {
      d.outcome = TokenDecision::Outcome::granted;
      in_flight_.insert(sha256);
    }
  }
  return d;
}

void TokenStore::release_token(std::string sha256) {
  enqueue([this, sha256 = std::move(sha256)] { in_flight_.erase(sha256); });
}

void TokenStore::issuance_records(std::string serial, io::Loop& loop,
                                  std::function<void(Result<std::vector<Json>>)> done) {
  enqueue([this, serial = std::move(serial), &loop, done = std::move(done)]() mutable {
    guarded(loop, done, [&]() -> Result<std::vector<Json>> {
      flush_pending();  // what this batch committed before the lookup is on disk and indexed
      if (Status st = refresh_db(); !st) return std::move(st).error();
      if (db_.broken) return make_error(Errc::parse_error, *db_.broken);
      auto it = db_.by_serial.find(normalise_serial(serial));
      return it == db_.by_serial.end() ? std::vector<Json>{} : it->second;
    });
  });
}

void TokenStore::commit(Commit c, io::Loop& loop, std::function<void(Status)> done) {
  enqueue([this, c = std::move(c), &loop, done = std::move(done)]() mutable {
    try {
      add_to_batch(c, loop, done);
    } catch (const std::exception& e) {  // allocation: answered like a failed write
      deliver<void>(loop, done, make_error(Errc::internal, std::string("token store: ") + e.what()));
    }
  });
}

void TokenStore::add_to_batch(Commit& c, io::Loop& loop, std::function<void(Status)>& done) {
  if (!c.token_sha256.empty()) {
    in_flight_.erase(c.token_sha256);
    used_.insert(c.token_sha256);
    pending_.used += dump_line(c.used_record);
  }
  pending_.db += dump_line(c.db_record);
  pending_.log += dump_line(c.log_record);
  pending_.done.push_back([&loop, done = std::move(done)](Status st) mutable { deliver<void>(loop, done, std::move(st)); });
}

void TokenStore::reload_tokens() {
  enqueue([this] {
    if (Status st = load_tokens(); !st) {
      log_.error("token reload failed; the previous tokens stay in force", {{"error", st.error().message}});
      return;
    }
    log_.info("tokens reloaded", {{"tokens", tokens_.size()}});
  });
}

void TokenStore::run(std::function<void()> job) { enqueue(std::move(job)); }

StoreCounters TokenStore::counters() const {
  StoreCounters c;
  c.db_bytes_read = db_bytes_read_.load();
  c.db_full_loads = db_full_loads_.load();
  c.appends = appends_.load();
  c.syncs = syncs_.load();
  c.torn_tails = torn_.load();
  return c;
}

}  // namespace certctl
