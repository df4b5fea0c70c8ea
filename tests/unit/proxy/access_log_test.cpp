#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "pw/proxy/access_log.h"
#include "pw/telemetry/json_text.h"

using namespace pw;
using namespace pw::proxy;
using namespace std::chrono_literals;

namespace {

struct TempDir {
  std::string path;
  TempDir() {
    std::string tmpl = "/tmp/pw_accesslog_XXXXXX";
    REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
    path = tmpl;
  }
  ~TempDir() { std::filesystem::remove_all(path); }
  std::string file(const std::string& name) const { return path + "/" + name; }
};

std::string read_file(const std::string& path) {
  std::string out;
  FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return out;
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
  std::fclose(f);
  return out;
}

// Every line parsed (nlohmann rejects invalid JSON and invalid UTF-8); the text must end in '\n'.
std::vector<nlohmann::ordered_json> parse_lines(const std::string& text) {
  std::vector<nlohmann::ordered_json> out;
  if (!text.empty()) REQUIRE(text.back() == '\n');
  std::size_t start = 0;
  for (std::size_t nl; (nl = text.find('\n', start)) != std::string::npos; start = nl + 1)
    out.push_back(nlohmann::ordered_json::parse(text.substr(start, nl - start)));
  return out;
}

std::vector<std::string> keys_of(const nlohmann::ordered_json& j) {
  std::vector<std::string> k;
  for (auto it = j.begin(); it != j.end(); ++it) k.push_back(it.key());
  return k;
}

AccessEntry full_entry() {
  AccessEntry e;
  e.start = WallTime(std::chrono::milliseconds(1'700'000'000'123));  // 2023-11-14T22:13:20.123Z
  e.duration = 12'345'678ns;
  e.upstream_duration = 10'000'999ns;
  e.listener = "public";
  e.route = "users";
  e.cluster = "users-v1";
  e.upstream = "10.0.0.7:8080";
  e.client = "192.0.2.1:53211";
  e.method = "GET";
  e.target = "/users/42?x=1";
  e.host = "api.example.com";
  e.protocol = "HTTP/1.1";
  e.request_id = "6f1c";
  e.traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
  e.tls_version = "TLSv1.3";
  e.status = 200;
  e.request_bytes = 0;
  e.response_bytes = 1234;
  e.attempts = 1;
  e.user_agent = "curl/8.0";
  e.referer = "https://example.com/";
  e.error = "";
  e.flags = "";
  e.consumer = "alice";
  e.auth = "jwt:corp";
  e.ratelimit = "ok";
  e.trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
  return e;
}

std::unique_ptr<AccessLog> open_log(const std::string& path, std::vector<std::string> fields = {},
                                    std::size_t queue = 1024) {
  auto r = AccessLog::open(path, fields, queue);
  if (!r.ok()) FAIL(r.error().message);
  return std::move(*r);
}

}  // namespace

TEST_CASE("the default fields - in their documented order", "[proxy-accesslog]") {
  const std::vector<std::string_view> expected = {
      "start_time", "duration_ms", "upstream_duration_ms", "listener", "route", "cluster", "upstream",
      "client", "method", "target", "host", "protocol", "status", "request_bytes", "response_bytes",
      "attempts", "request_id", "traceparent", "user_agent", "referer", "tls_version", "error", "flags",
      "consumer", "auth", "ratelimit", "trace_id"};
  CHECK(access_log_field_names() == expected);

  TempDir dir;
  auto log = open_log(dir.file("a.log"));
  std::string line = log->format(full_entry());
  auto lines = parse_lines(line);
  REQUIRE(lines.size() == 1);
  const auto& j = lines[0];
  std::vector<std::string> want(expected.begin(), expected.end());
  CHECK(keys_of(j) == want);
  CHECK(j["start_time"] == "2023-11-14T22:13:20.123Z");
  CHECK(line.find("\"duration_ms\":12.345,") != std::string::npos);  // three decimals, a number
  CHECK(line.find("\"upstream_duration_ms\":10.000,") != std::string::npos);
  CHECK(j["duration_ms"].is_number());
  CHECK(j["status"] == 200);
  CHECK(j["request_bytes"] == 0);
  CHECK(j["response_bytes"] == 1234);
  CHECK(j["attempts"] == 1);
  CHECK(j["traceparent"] == "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
  CHECK(j["tls_version"] == "TLSv1.3");
  CHECK(j["error"].is_null());  // empty strings are null
  CHECK(j["flags"].is_null());
  CHECK(j["consumer"] == "alice");
  CHECK(j["auth"] == "jwt:corp");
  CHECK(j["ratelimit"] == "ok");
  CHECK(j["trace_id"] == "4bf92f3577b34da6a3ce929d0e0e4736");
}

TEST_CASE("nulls for what did not happen", "[proxy-accesslog]") {
  TempDir dir;
  auto log = open_log(dir.file("a.log"));
  AccessEntry e;  // a client that went away before anything: no status, no upstream
  e.start = WallTime(std::chrono::milliseconds(-1));  // before the epoch still formats
  e.duration = 999ns;
  e.method = "GET";
  e.error = "client_disconnected";
  e.flags = "DC";
  auto j = parse_lines(log->format(e)).at(0);
  CHECK(j["start_time"] == "1969-12-31T23:59:59.999Z");
  CHECK(j["duration_ms"] == 0.0);
  CHECK(log->format(e).find("\"duration_ms\":0.000,") != std::string::npos);
  CHECK(j["upstream_duration_ms"].is_null());
  CHECK(j["status"].is_null());
  CHECK(j["upstream"].is_null());
  CHECK(j["tls_version"].is_null());
  CHECK(j["attempts"] == 0);
  CHECK(j["error"] == "client_disconnected");
  CHECK(j["flags"] == "DC");
}

TEST_CASE("configured fields are written in the configured order", "[proxy-accesslog]") {
  TempDir dir;
  auto log = open_log(dir.file("a.log"), {"status", "method", "start_time", "flags"});
  std::string line = log->format(full_entry());
  CHECK(line == "{\"status\":200,\"method\":\"GET\",\"start_time\":\"2023-11-14T22:13:20.123Z\",\"flags\":null}\n");

  auto bad = AccessLog::open(dir.file("b.log"), {"status", "colour"}, 16);
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().code == Errc::invalid_argument);
  CHECK(bad.error().message.find("\"colour\"") != std::string::npos);

  auto twice = AccessLog::open(dir.file("b.log"), {"status", "status"}, 16);
  REQUIRE_FALSE(twice.ok());
  CHECK(twice.error().message.find("\"status\"") != std::string::npos);

  auto unopenable = AccessLog::open(dir.file("no/such/dir.log"), {}, 16);
  REQUIRE_FALSE(unopenable.ok());
  CHECK(unopenable.error().code == Errc::io_error);
  CHECK(unopenable.error().message.find("no/such/dir.log") != std::string::npos);
}

TEST_CASE("hostile bytes from the network are escaped into valid JSON", "[proxy-accesslog]") {
  TempDir dir;
  auto log = open_log(dir.file("a.log"));
  AccessEntry e = full_entry();
  const std::string target = std::string("/a\"b\\c\n\r\t") + '\0' + "\x01\x1f\x7f" + "\"}{\"x\":1";
  const std::string agent = "ok \xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80";  // é € 😀: kept as UTF-8
  const std::string referer = "\xff \xc0\x80 \xe2\x82 \xed\xa0\x80 \xf4\x90\x80\x80 \x80";  // all invalid
  const std::string host = "h\x1b[31mred";
  e.target = target;
  e.user_agent = agent;
  e.referer = referer;
  e.host = host;
  std::string line = log->format(e);
  CHECK(std::count(line.begin(), line.end(), '\n') == 1);  // one line, whatever the input
  for (char c : line.substr(0, line.size() - 1)) CHECK(static_cast<unsigned char>(c) >= 0x20);
  auto j = parse_lines(line).at(0);
  CHECK(j["target"] == target);  // round-trips exactly
  CHECK(j["user_agent"] == agent);
  CHECK(j["host"] == host);
  CHECK(line.find("\\u0000\\u0001\\u001f\\u007f") != std::string::npos);
  // Each invalid byte becomes U+FFFD; nothing invalid reaches the file.
  const std::string fffd = "\xef\xbf\xbd";
  CHECK(j["referer"] == fffd + " " + fffd + fffd + " " + fffd + fffd + " " + fffd + fffd + fffd + " " + fffd + fffd +
                            fffd + fffd + " " + fffd);
  CHECK(j.size() == access_log_field_names().size());  // the injected "x" key stayed inside a string
}

TEST_CASE("strings are escaped exactly as the shared JSON escaper does byte by byte", "[proxy-accesslog]") {
  // The access log copies plain ASCII strings without escaping (checked eight bytes at a time):
  // every byte value, at every position of a word and of the tail, must take the same path as
  // telemetry::append_json_string.
  TempDir dir;
  auto log = open_log(dir.file("a.log"), {"target"});
  int mismatches = 0;
  for (std::size_t len : {1u, 2u, 7u, 8u, 9u, 15u, 16u, 17u, 20u}) {
    for (std::size_t pos = 0; pos < len; ++pos) {
      for (int b = 0; b < 256; ++b) {
        std::string s(len, 'a');
        s[pos] = static_cast<char>(b);
        AccessEntry e;
        e.target = s;
        std::string want = "{\"target\":";
        pw::telemetry::append_json_string(want, s);
        want += "}\n";
        if (log->format(e) != want) {
          ++mismatches;
          UNSCOPED_INFO("byte " << b << " at " << pos << " of " << len);
        }
      }
    }
  }
  CHECK(mismatches == 0);
}

TEST_CASE("the worst-case expansion of every string field fits", "[proxy-accesslog]") {
  // Each byte of \x01 or of invalid UTF-8 becomes six (\u0001, \ufffd): the line is sized for it.
  TempDir dir;
  auto log = open_log(dir.file("a.log"));
  std::string ctl(4000, '\x01'), bad(4000, '\xff');
  AccessEntry e = full_entry();
  e.listener = e.route = e.cluster = e.upstream = e.client = e.method = e.host = e.protocol = ctl;
  e.target = e.request_id = e.traceparent = e.user_agent = e.referer = e.tls_version = e.error = e.flags = bad;
  std::string line = log->format(e);
  auto j = parse_lines(line).at(0);
  CHECK(j["target"].get<std::string>().size() == 3 * 4000);  // U+FFFD is three bytes of UTF-8
  CHECK(j["host"] == ctl);
  CHECK(line.size() > 16 * 4000 * 6);
  log->write(e);
  log->flush();
  CHECK(read_file(dir.file("a.log")) == line);
}

TEST_CASE("random bytes in every string field always give one valid JSON line", "[proxy-accesslog]") {
  TempDir dir;
  auto log = open_log(dir.file("a.log"));
  std::mt19937 rng(12345);  // fixed seed: reproducible
  std::uniform_int_distribution<int> byte(0, 255), len(0, 40);
  auto random_string = [&] {
    std::string s(static_cast<std::size_t>(len(rng)), '\0');
    for (auto& c : s) c = static_cast<char>(byte(rng));
    return s;
  };
  for (int i = 0; i < 500; ++i) {
    std::vector<std::string> s;
    for (int k = 0; k < 8; ++k) s.push_back(random_string());
    AccessEntry e = full_entry();
    e.target = s[0];
    e.host = s[1];
    e.user_agent = s[2];
    e.referer = s[3];
    e.request_id = s[4];
    e.traceparent = s[5];
    e.method = s[6];
    e.client = s[7];
    std::string line = log->format(e);
    REQUIRE(std::count(line.begin(), line.end(), '\n') == 1);
    nlohmann::json j;
    REQUIRE_NOTHROW(j = nlohmann::json::parse(line));
    REQUIRE(j.size() == access_log_field_names().size());
  }
}

TEST_CASE("lines are written to the file by the writer thread", "[proxy-accesslog]") {
  TempDir dir;
  const std::string path = dir.file("access.log");
  mode_t old = ::umask(022);
  auto log = open_log(path);
  ::umask(old);
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0640);

  log->flush();  // nothing queued: returns at once
  AccessEntry e = full_entry();
  for (int i = 0; i < 100; ++i) {
    std::string id = "req-" + std::to_string(i);
    e.request_id = id;
    log->write(e);
  }
  log->flush();
  CHECK(log->written() == 100);
  CHECK(log->dropped() == 0);
  auto lines = parse_lines(read_file(path));
  REQUIRE(lines.size() == 100);
  for (int i = 0; i < 100; ++i) CHECK(lines[static_cast<std::size_t>(i)]["request_id"] == "req-" + std::to_string(i));
}

TEST_CASE("writers on many threads never interleave lines", "[proxy-accesslog]") {
  TempDir dir;
  const std::string path = dir.file("access.log");
  auto log = open_log(path, {"request_id", "target"}, 100000);
  const std::string big(3000, 'x');  // longer than one pipe/atomic write unit
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      AccessEntry e;
      e.target = big;
      for (int i = 0; i < 250; ++i) {
        std::string id = std::to_string(t) + "-" + std::to_string(i);
        e.request_id = id;
        log->write(e);
      }
    });
  }
  for (auto& th : threads) th.join();
  log.reset();  // the destructor writes what is queued
  auto lines = parse_lines(read_file(path));
  REQUIRE(lines.size() == 1000);
  std::set<std::string> ids;
  for (const auto& j : lines) {
    CHECK(j["target"] == big);
    ids.insert(j["request_id"].get<std::string>());
  }
  CHECK(ids.size() == 1000);
}

TEST_CASE("a blocked fd fills the bounded queue and lines past it are dropped and counted", "[proxy-accesslog]") {
  TempDir dir;
  const std::string fifo = dir.file("fifo");
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  // A reader that reads nothing yet: the writer thread blocks once the pipe buffer is full.
  int rd = ::open(fifo.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  REQUIRE(rd >= 0);
  REQUIRE(::fcntl(rd, F_SETFL, 0) == 0);  // blocking reads for the drain below
  const std::size_t queue = 16;
  auto log = open_log(fifo, {"request_id", "target"}, queue);

  // At most (pipe buffer / line) + one batch in flight + the queue are absorbed before anyone
  // reads: a 64 KiB pipe buffer (Linux's default) / 2 KiB lines + 2 * 16 is far below 1000.
  const std::string big(2000, 'y');
  AccessEntry e;
  e.target = big;
  const int total = 1000;
  for (int i = 0; i < total; ++i) {
    std::string id = std::to_string(i);
    e.request_id = id;
    log->write(e);
  }
  const std::uint64_t dropped = log->dropped();
  CHECK(dropped > 0);
  CHECK(dropped < static_cast<std::uint64_t>(total));

  // Now drain the pipe: everything that was accepted arrives, complete and in order.
  std::string got;
  std::thread reader([&] {
    char buf[65536];
    ssize_t n;
    while ((n = ::read(rd, buf, sizeof buf)) > 0) got.append(buf, static_cast<std::size_t>(n));
  });
  log->flush();
  CHECK(log->written() + log->dropped() == static_cast<std::uint64_t>(total));
  CHECK(log->dropped() == dropped);  // nothing more was lost once the reader caught up
  log.reset();  // closes the write end: the reader sees EOF
  reader.join();
  ::close(rd);
  auto lines = parse_lines(got);
  CHECK(lines.size() == total - dropped);
  int last = -1;
  for (const auto& j : lines) {
    int id = std::stoi(j["request_id"].get<std::string>());
    CHECK(id > last);
    last = id;
  }
}

TEST_CASE("reopen() after a rename writes to the new file", "[proxy-accesslog]") {
  TempDir dir;
  const std::string path = dir.file("access.log");
  const std::string rotated = dir.file("access.log.1");
  auto log = open_log(path, {"request_id"});
  AccessEntry e;
  e.request_id = "one";
  log->write(e);
  log->flush();
  REQUIRE(::rename(path.c_str(), rotated.c_str()) == 0);
  e.request_id = "two";  // before reopen(): still the old (renamed) file
  log->write(e);
  log->flush();
  REQUIRE(log->reopen().ok());
  e.request_id = "three";
  log->write(e);
  log->flush();
  CHECK(read_file(rotated) == "{\"request_id\":\"one\"}\n{\"request_id\":\"two\"}\n");
  CHECK(read_file(path) == "{\"request_id\":\"three\"}\n");

  SECTION("a failed reopen names the path and keeps writing to the open file") {
    REQUIRE(::rename(path.c_str(), rotated.c_str()) == 0);
    REQUIRE(::mkdir(path.c_str(), 0700) == 0);  // the path is now a directory: open fails
    auto s = log->reopen();
    REQUIRE_FALSE(s.ok());
    CHECK(s.error().code == Errc::io_error);
    CHECK(s.error().message.find(path) != std::string::npos);
    e.request_id = "four";
    log->write(e);
    log->flush();
    CHECK(read_file(rotated) == "{\"request_id\":\"three\"}\n{\"request_id\":\"four\"}\n");
    CHECK(log->written() == 4);
  }
}

TEST_CASE("the path - means stdout", "[proxy-accesslog]") {
  // Redirect stdout to a file for the duration of the test.
  TempDir dir;
  const std::string path = dir.file("stdout");
  std::fflush(stdout);
  int saved = ::dup(STDOUT_FILENO);
  REQUIRE(saved >= 0);
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  REQUIRE(fd >= 0);
  REQUIRE(::dup2(fd, STDOUT_FILENO) == STDOUT_FILENO);
  {
    auto log = open_log("-", {"status"});
    AccessEntry e;
    e.status = 503;
    log->write(e);
    CHECK(log->reopen().ok());  // nothing to reopen for stdout
    log->flush();
  }
  std::fflush(stdout);
  ::dup2(saved, STDOUT_FILENO);
  ::close(saved);
  ::close(fd);
  CHECK(read_file(path) == "{\"status\":503}\n");
}
