// certctl serve's store: JSON-lines files (complete records, torn last lines, appends that cut
// them), the token lifecycle, the database index that reads only what was appended, and the
// order and atomicity of appends made by the store thread.
#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <optional>
#include <thread>

#include "ca_store.h"
#include "jsonl_file.h"
#include "pw_test_loop.h"
#include "support.h"
#include "token_store.h"

using namespace certctl;
using namespace certctl::test;
using namespace std::chrono_literals;

namespace {

const std::string kHashA(64, 'a'), kHashB(64, 'b'), kHashC(64, 'c');

std::string token_line(const std::string& sha, const std::string& name, const std::string& expires = "") {
  Json j = {{"sha256", sha}, {"name", name}};
  if (!expires.empty()) j["expires"] = expires;
  return j.dump() + "\n";
}

std::string issued_line(const std::string& serial, const std::string& extra = "") {
  return R"({"event":"issued","serial":")" + serial + R"(","by":"test)" + extra + "\"}\n";
}

StoreOptions options(const TempDir& d) {
  StoreOptions o;
  o.paths = {d.file("tokens.jsonl"), d.file("tokens-used.jsonl"), d.file("issued.jsonl"), d.file("db.jsonl")};
  return o;
}

std::unique_ptr<TokenStore> open_store(StoreOptions o, pw::telemetry::Logger& log) {
  auto s = TokenStore::open(std::move(o), log);
  REQUIRE(s.ok());
  return std::move(*s);
}

// Calls a store method and runs the loop until its result came back.
template <class T, class F>
pw::Result<T> await(pw::io::Loop& loop, F&& start) {
  std::optional<pw::Result<T>> got;
  start([&](pw::Result<T> r) { got.emplace(std::move(r)); });
  pw::test::run_until(loop, [&] { return got.has_value(); });
  return std::move(*got);
}

TokenDecision reserve(TokenStore& s, pw::io::Loop& loop, const std::string& sha, TokenStore::TokenCheck check = {}) {
  auto now = std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
  auto r = await<TokenDecision>(loop, [&](auto done) { s.reserve_token(sha, now, check, loop, done); });
  REQUIRE(r.ok());
  return *r;
}

std::vector<Json> records(TokenStore& s, pw::io::Loop& loop, const std::string& serial) {
  auto r = await<std::vector<Json>>(loop, [&](auto done) { s.issuance_records(serial, loop, done); });
  REQUIRE(r.ok());
  return *r;
}

Commit commit_of(const std::string& token, const std::string& serial) {
  Commit c;
  c.token_sha256 = token;
  c.db_record = {{"event", "issued"}, {"serial", serial}};
  if (!token.empty()) c.used_record = {{"sha256", token}, {"serial", serial}};
  c.log_record = {{"serial", serial}};
  return c;
}

}  // namespace

TEST_CASE("jsonl: every complete record loads and a torn last line is reported with file and byte offset") {
  TempDir d;
  std::string path = d.file("db.jsonl");
  std::string l1 = issued_line("01"), l2 = issued_line("02"), torn = R"({"event":"issu)";
  write_text(path, l1 + "\n" + l2 + torn);
  auto r = read_jsonl(path, 0, 1 << 20);
  REQUIRE(r.ok());
  REQUIRE(r->records.size() == 2);
  CHECK(r->records[0].value["serial"] == "01");
  CHECK(r->records[1].value["serial"] == "02");
  CHECK(r->records[1].offset == l1.size() + 1);
  CHECK(r->records[1].line == 3);  // the empty line counts
  REQUIRE(r->torn);
  CHECK(r->torn->path == path);
  CHECK(r->torn->offset == l1.size() + 1 + l2.size());
  CHECK(r->torn->bytes == torn.size());
  CHECK(r->end == r->torn->offset);  // the next read starts at the torn record, not after it
  CHECK(r->bad_lines.empty());
  CHECK(r->torn->to_string("torn") == path + ": torn at byte " + std::to_string(r->torn->offset) + " (" + std::to_string(torn.size()) + " bytes)");
}

TEST_CASE("jsonl: a complete line that is not JSON is reported, the others load") {
  TempDir d;
  std::string path = d.file("db.jsonl");
  write_text(path, issued_line("01") + "{oops\n" + issued_line("02"));
  auto r = read_jsonl(path, 0, 1 << 20);
  REQUIRE(r.ok());
  CHECK(r->records.size() == 2);
  REQUIRE(r->bad_lines.size() == 1);
  CHECK(r->bad_lines[0].offset == issued_line("01").size());
  CHECK_FALSE(r->torn);
}

TEST_CASE("jsonl: reading from an offset returns only the lines appended since") {
  TempDir d;
  std::string path = d.file("db.jsonl");
  write_text(path, issued_line("01"));
  auto first = read_jsonl(path, 0, 1 << 20);
  REQUIRE(first.ok());
  REQUIRE(append_jsonl(path, issued_line("02"), 0600, false).ok());
  auto next = read_jsonl(path, first->end, 1 << 20);
  REQUIRE(next.ok());
  REQUIRE(next->records.size() == 1);
  CHECK(next->records[0].value["serial"] == "02");
  CHECK(next->bytes_read == issued_line("02").size());
  CHECK(read_jsonl(d.file("missing.jsonl"), 0, 1 << 20)->exists == false);
  CHECK(read_jsonl(path, 0, 10).error().code == pw::Errc::limit_exceeded);
}

TEST_CASE("jsonl: an append cuts a torn tail off first, so the new record is a line of its own") {
  TempDir d;
  std::string path = d.file("used.jsonl");
  std::string l1 = token_line(kHashA, "a"), torn = R"({"sha256":"bbb)";
  write_text(path, l1 + torn);
  auto a = append_jsonl(path, token_line(kHashC, "c"), 0600, true);
  REQUIRE(a.ok());
  REQUIRE(a->cut);
  CHECK(a->cut->offset == l1.size());
  CHECK(a->cut->bytes == torn.size());
  CHECK(a->offset == l1.size());
  CHECK(read_text(path) == l1 + token_line(kHashC, "c"));
  // A file that ends in the middle of its first line has nothing to keep.
  write_text(path, torn);
  a = append_jsonl(path, l1, 0600, false);
  REQUIRE(a.ok());
  CHECK(a->cut->offset == 0);
  CHECK(read_text(path) == l1);
}

TEST_CASE("jsonl: an issuance log that is not a regular file or not readable is still appended to") {
  // /dev/null stands for a pipe or /dev/stdout: no fdatasync (EINVAL there) and no torn check.
  CHECK(append_jsonl("/dev/null", issued_line("1"), 0600, true).ok());
  TempDir d;
  std::string path = d.file("issued.jsonl");
  write_text(path, issued_line("1"));
  REQUIRE(::chmod(path.c_str(), 0200) == 0);  // write-only (root reads it anyway: same outcome)
  CHECK(append_jsonl(path, issued_line("2"), 0600, true).ok());
  REQUIRE(::chmod(path.c_str(), 0600) == 0);
  CHECK(read_text(path) == issued_line("1") + issued_line("2"));
}

TEST_CASE("store: a torn last line of tokens-used is reported with its offset and the complete ones count") {
  TempDir d;
  LogCapture log(d);
  pw::io::Loop loop;  // outlives the store: its thread may still be inside loop.post()
  std::string used1 = Json{{"sha256", kHashA}}.dump() + "\n";
  write_text(d.file("tokens.jsonl"), token_line(kHashA, "a") + token_line(kHashB, "b"));
  write_text(d.file("tokens-used.jsonl"), used1 + R"({"sha256":")" + kHashB.substr(0, 20));
  auto s = open_store(options(d), log.logger());
  CHECK(s->counters().torn_tails == 1);
  std::string text = log.text();
  CHECK(text.find("torn last line") != std::string::npos);
  CHECK(text.find(d.file("tokens-used.jsonl")) != std::string::npos);
  CHECK(text.find("\"offset\":" + std::to_string(used1.size())) != std::string::npos);
  CHECK(reserve(*s, loop, kHashA).outcome == TokenDecision::Outcome::used);
  // The torn use of b was never acknowledged (the request was not answered): b is unused.
  CHECK(reserve(*s, loop, kHashB).outcome == TokenDecision::Outcome::granted);
}

TEST_CASE("store: a tokens.jsonl line that is not a token record is an error naming file and line") {
  TempDir d;
  LogCapture log(d);
  pw::io::Loop loop;  // outlives the store: its thread may still be inside loop.post()
  write_text(d.file("tokens.jsonl"), token_line(kHashA, "a") + R"({"sha256":"short"})" + "\n");
  auto s = TokenStore::open(options(d), log.logger());
  REQUIRE_FALSE(s.ok());
  CHECK(s.error().code == pw::Errc::parse_error);
  CHECK(s.error().message.find(d.file("tokens.jsonl") + ":2") != std::string::npos);
}

TEST_CASE("store: token lifecycle: unknown, granted once, in flight, used after commit, released after a failure") {
  TempDir d;
  LogCapture log(d);
  pw::io::Loop loop;  // outlives the store: its thread may still be inside loop.post()
  write_text(d.file("tokens.jsonl"), token_line(kHashA, "a") + token_line(kHashB, "b", "2000-01-01T00:00:00Z"));
  StoreOptions o = options(d);
  o.config_tokens.push_back(TokenEntry{kHashC, "from-config", "", "", {}});
  auto s = open_store(o, log.logger());
  CHECK(reserve(*s, loop, std::string(64, 'f')).outcome == TokenDecision::Outcome::unknown);
  CHECK(reserve(*s, loop, kHashB).outcome == TokenDecision::Outcome::expired);
  auto refused = reserve(*s, loop, kHashA, [](const TokenEntry&) { return std::string("not this one"); });
  CHECK(refused.outcome == TokenDecision::Outcome::refused);
  CHECK(refused.message == "not this one");
  auto granted = reserve(*s, loop, kHashA);
  CHECK(granted.outcome == TokenDecision::Outcome::granted);
  CHECK(granted.entry.name == "a");
  CHECK(reserve(*s, loop, kHashA).outcome == TokenDecision::Outcome::used);  // in flight
  s->release_token(kHashA);
  CHECK(reserve(*s, loop, kHashA).outcome == TokenDecision::Outcome::granted);
  auto st = await<void>(loop, [&](auto done) { s->commit(commit_of(kHashA, "0a"), loop, done); });
  REQUIRE(st.ok());
  CHECK(reserve(*s, loop, kHashA).outcome == TokenDecision::Outcome::used);
  CHECK(reserve(*s, loop, kHashC).outcome == TokenDecision::Outcome::granted);
  // Durable: a new store (a restart) still knows the token was used.
  auto again = open_store(options(d), log.logger());
  CHECK(reserve(*again, loop, kHashA).outcome == TokenDecision::Outcome::used);
  CHECK(read_text(d.file("issued.jsonl")) == Json{{"serial", "0a"}}.dump() + "\n");
}

TEST_CASE("store: tokens added to tokens.jsonl after start are found without a restart") {
  TempDir d;
  LogCapture log(d);
  pw::io::Loop loop;  // outlives the store: its thread may still be inside loop.post()
  write_text(d.file("tokens.jsonl"), token_line(kHashA, "a"));
  auto s = open_store(options(d), log.logger());
  CHECK(reserve(*s, loop, kHashB).outcome == TokenDecision::Outcome::unknown);
  REQUIRE(append_jsonl(d.file("tokens.jsonl"), token_line(kHashB, "b"), 0600, false).ok());
  CHECK(reserve(*s, loop, kHashB).outcome == TokenDecision::Outcome::granted);
}

TEST_CASE("store: a renewal lookup reads only what was appended to db.jsonl since the last one") {
  TempDir d;
  LogCapture log(d);
  pw::io::Loop loop;  // outlives the store: its thread may still be inside loop.post()
  std::string db;
  for (int i = 1; i <= 1000; ++i) db += issued_line(std::to_string(i));
  write_text(d.file("db.jsonl"), db);
  auto s = open_store(options(d), log.logger());
  auto loaded = s->counters();
  CHECK(loaded.db_full_loads == 1);
  CHECK(loaded.db_bytes_read == db.size());
  REQUIRE(records(*s, loop, "500").size() == 1);
  REQUIRE(records(*s, loop, "0500").size() == 1);  // any spelling of the serial
  CHECK(records(*s, loop, "99999").empty());
  CHECK(s->counters().db_bytes_read == db.size());  // unchanged file: nothing read
  // Another process revokes (append_db is what `certctl revoke` calls).
  Ca ca;
  ca.dir = d.path();
  std::string rev = Json{{"event", "revoked"}, {"serial", "500"}}.dump() + "\n";
  append_db(ca, Json::parse(rev));
  auto recs = records(*s, loop, "500");
  REQUIRE(recs.size() == 2);
  CHECK(recs[1]["event"] == "revoked");
  CHECK(s->counters().db_bytes_read == db.size() + rev.size());
  CHECK(s->counters().db_full_loads == 1);
  // A replaced file (a new inode) is read again from the start.
  write_text(d.file("db.new"), issued_line("7"));
  std::filesystem::rename(d.file("db.new"), d.file("db.jsonl"));
  CHECK(records(*s, loop, "500").empty());
  CHECK(records(*s, loop, "7").size() == 1);
  CHECK(s->counters().db_full_loads == 2);
}

TEST_CASE("store: a database line that is not JSON fails renewal lookups closed") {
  TempDir d;
  LogCapture log(d);
  pw::io::Loop loop;  // outlives the store: its thread may still be inside loop.post()
  write_text(d.file("db.jsonl"), issued_line("1") + "not json\n" + R"({"event":"revoked","serial":"1"})" + "\n");
  auto s = open_store(options(d), log.logger());
  auto r = await<std::vector<Json>>(loop, [&](auto done) { s->issuance_records("1", loop, done); });
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message.find(d.file("db.jsonl") + ": not a JSON line at byte") != std::string::npos);
  CHECK(log.text().find("renewals fail") != std::string::npos);
}

TEST_CASE("store: a torn db.jsonl tail is skipped, and the next commit starts on a line boundary") {
  TempDir d;
  LogCapture log(d);
  pw::io::Loop loop;  // outlives the store: its thread may still be inside loop.post()
  std::string l1 = issued_line("1");
  write_text(d.file("db.jsonl"), l1 + R"({"event":"issued","ser)");
  auto s = open_store(options(d), log.logger());
  CHECK(records(*s, loop, "1").size() == 1);
  CHECK(s->counters().torn_tails == 1);
  REQUIRE(await<void>(loop, [&](auto done) { s->commit(commit_of("", "2"), loop, done); }).ok());
  CHECK(read_text(d.file("db.jsonl")) == l1 + Json{{"event", "issued"}, {"serial", "2"}}.dump() + "\n");
  CHECK(records(*s, loop, "2").size() == 1);
  CHECK(s->counters().torn_tails == 2);  // reported at load, cut before the append
}

TEST_CASE("store: commits from several loops at once, with another process appending, leave whole lines") {
  TempDir d;
  LogCapture log(d);
  pw::io::Loop loop;  // outlives the store: its thread may still be inside loop.post()
  constexpr int kThreads = 4, kEach = 50;
  std::atomic<int> ok{0}, failed{0}, stuck{0};
  std::vector<std::thread> threads;
  // One loop per thread, destroyed only after the store (whose thread posts to them).
  std::vector<std::unique_ptr<pw::io::Loop>> loops;
  for (int t = 0; t < kThreads; ++t) loops.push_back(std::make_unique<pw::io::Loop>());
  auto s = open_store(options(d), log.logger());
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      pw::io::Loop& loop = *loops[static_cast<std::size_t>(t)];
      loop.bind_to_current_thread();
      int done = 0;
      for (int i = 0; i < kEach; ++i)
        s->commit(commit_of("", std::to_string(t * 1000 + i + 1)), loop, [&](pw::Status st) {
          ++done;
          (st.ok() ? ok : failed)++;
        });
      // No Catch2 assertion off the main thread: a guard timer counts a stuck loop instead.
      pw::io::Timer check(loop, [&] {
        if (done == kEach) loop.stop();
      });
      pw::io::Timer guard(loop, [&] {
        ++stuck;
        loop.stop();
      });
      check.start(1ms, 1ms);
      guard.start(20s);
      loop.run();
    });
  Ca ca;  // `certctl revoke` in another process, meanwhile
  ca.dir = d.path();
  for (int i = 0; i < kEach; ++i) append_db(ca, Json{{"event", "revoked"}, {"serial", std::to_string(90000 + i)}});
  for (auto& t : threads) t.join();
  CHECK(stuck == 0);
  CHECK(ok == kThreads * kEach);
  CHECK(failed == 0);
  auto all = read_jsonl(d.file("db.jsonl"), 0, 1 << 24);
  REQUIRE(all.ok());
  CHECK(all->records.size() == kThreads * kEach + kEach);
  CHECK(all->bad_lines.empty());
  CHECK_FALSE(all->torn);
  for (int t = 0; t < kThreads; ++t) CHECK(records(*s, loop, std::to_string(t * 1000 + kEach)).size() == 1);
  CHECK(records(*s, loop, std::to_string(90000 + kEach - 1)).size() == 1);
  // Batched: fewer durable batches than commits is allowed, more is not.
  CHECK(s->counters().syncs <= static_cast<std::uint64_t>(kThreads * kEach));
}

TEST_CASE("store: results come back in the order the jobs were queued and a lookup after a commit sees it") {
  TempDir d;
  LogCapture log(d);
  pw::io::Loop loop;  // outlives the store: its thread may still be inside loop.post()
  auto s = open_store(options(d), log.logger());
  std::vector<std::string> order;
  std::optional<std::size_t> seen;
  for (int i = 1; i <= 20; ++i)
    s->commit(commit_of("", std::to_string(i)), loop, [&, i](pw::Status st) {
      REQUIRE(st.ok());
      order.push_back(std::to_string(i));
    });
  s->issuance_records("20", loop, [&](pw::Result<std::vector<Json>> r) {
    REQUIRE(r.ok());
    order.push_back("lookup");
    seen = r->size();
  });
  pw::test::run_until(loop, [&] { return seen.has_value(); });
  REQUIRE(order.size() == 21);
  for (int i = 1; i <= 20; ++i) CHECK(order[static_cast<std::size_t>(i - 1)] == std::to_string(i));
  CHECK(order.back() == "lookup");
  CHECK(*seen == 1);
  // The file has the records in the same order.
  auto all = read_jsonl(d.file("db.jsonl"), 0, 1 << 20);
  REQUIRE(all->records.size() == 20);
  for (int i = 1; i <= 20; ++i) CHECK(all->records[static_cast<std::size_t>(i - 1)].value["serial"] == std::to_string(i));
}

TEST_CASE("store: a failing write is reported to every commit of the batch, and the token stays used") {
  TempDir d;
  LogCapture log(d);
  pw::io::Loop loop;  // outlives the store: its thread may still be inside loop.post()
  write_text(d.file("tokens.jsonl"), token_line(kHashA, "a"));
  StoreOptions o = options(d);
  o.paths.issuance_log = d.file("no-such-dir/issued.jsonl");
  auto s = open_store(o, log.logger());
  REQUIRE(reserve(*s, loop, kHashA).outcome == TokenDecision::Outcome::granted);
  auto st = await<void>(loop, [&](auto done) { s->commit(commit_of(kHashA, "1"), loop, done); });
  REQUIRE_FALSE(st.ok());
  CHECK(st.error().code == pw::Errc::io_error);
  CHECK(st.error().message.find("no-such-dir/issued.jsonl") != std::string::npos);
  CHECK(reserve(*s, loop, kHashA).outcome == TokenDecision::Outcome::used);
}
