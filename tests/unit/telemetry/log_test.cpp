#include <catch2/catch.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "pw/telemetry/json_text.h"
#include "pw/telemetry/log.h"

using namespace pw::telemetry;

namespace {

// A temporary file, removed on destruction.
struct TempFile {
  char path[32] = "/tmp/pw_log_XXXXXX";
  int fd = ::mkstemp(path);
  ~TempFile() {
    ::close(fd);
    ::unlink(path);
  }
  std::string contents() const {
    std::string out;
    char buf[4096];
    ssize_t n;
    off_t off = 0;
    while ((n = ::pread(fd, buf, sizeof buf, off)) > 0) {
      out.append(buf, static_cast<std::size_t>(n));
      off += n;
    }
    return out;
  }
};

std::vector<nlohmann::json> lines_of(const std::string& text) {
  std::vector<nlohmann::json> out;
  std::size_t start = 0;
  for (std::size_t nl; (nl = text.find('\n', start)) != std::string::npos; start = nl + 1)
    out.push_back(nlohmann::json::parse(text.substr(start, nl - start)));
  return out;
}

}  // namespace

TEST_CASE("a log line is one JSON object with ts - level - msg and fields") {
  pw::ManualClock clock;
  TempFile f;
  Logger log({.fd = f.fd, .clock = &clock});
  CHECK(log.format(Level::info, "listening", {{"port", 8080}, {"addr", "0.0.0.0"}, {"tls", false}, {"load", 0.5}}) ==
        "{\"ts\":\"2023-11-14T22:13:20.000000Z\",\"level\":\"info\",\"msg\":\"listening\","
        "\"port\":8080,\"addr\":\"0.0.0.0\",\"tls\":false,\"load\":0.5}\n");
  log.info("listening", {{"port", 8080u}, {"delta", -3}});
  log.flush();
  auto lines = lines_of(f.contents());
  REQUIRE(lines.size() == 1);
  CHECK(lines[0]["port"] == 8080);
  CHECK(lines[0]["delta"] == -3);
}

// append_json_string copies runs of plain bytes eight at a time: every byte value, at every
// offset of a string longer than two such blocks, is escaped as a byte-by-byte escaper does.
TEST_CASE("append_json_string: each byte value at each offset escapes as one byte at a time") {
  auto one_byte = [](unsigned char c) -> std::string {
    switch (c) {
      case '"': return "\\\"";
      case '\\': return "\\\\";
      case '\n': return "\\n";
      case '\r': return "\\r";
      case '\t': return "\\t";
      case '\b': return "\\b";
      case '\f': return "\\f";
    }
    if (c >= 0x80) return "\\ufffd";  // alone between ASCII bytes: never valid UTF-8
    if (c < 0x20 || c == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      return buf;
    }
    return std::string(1, static_cast<char>(c));
  };
  for (int b = 0; b < 256; ++b) {
    for (std::size_t at = 0; at < 19; ++at) {
      std::string in(19, 'x');
      in[at] = static_cast<char>(b);
      std::string want = "\"" + in.substr(0, at) + one_byte(static_cast<unsigned char>(b)) + in.substr(at + 1) + "\"";
      std::string got;
      append_json_string(got, in);
      INFO("byte " << b << " at " << at);
      REQUIRE(got == want);
    }
  }
}

TEST_CASE("untrusted values are escaped into valid JSON") {
  std::string evil = "a\"b\\c\nd\re\tf\x01g\x7f h\xff i\xc3\xa9 j\xed\xa0\x80 k";
  std::string out;
  append_json_string(out, evil);
  CHECK(out == "\"a\\\"b\\\\c\\nd\\re\\tf\\u0001g\\u007f h\\ufffd i\xc3\xa9 j\\ufffd\\ufffd\\ufffd k\"");
  CHECK(nlohmann::json::parse(out).get<std::string>() ==
        "a\"b\\c\nd\re\tf\x01g\x7f h\xef\xbf\xbd i\xc3\xa9 j\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd k");

  TempFile f;
  {
    Logger log({.fd = f.fd});
    log.warn(evil, {{evil, evil}});
  }  // destructor flushes
  auto lines = lines_of(f.contents());
  REQUIRE(lines.size() == 1);
  CHECK(lines[0]["level"] == "warn");
  CHECK(lines[0]["msg"].get<std::string>().starts_with("a\"b\\c\nd"));
}

TEST_CASE("levels filter lines") {
  TempFile f;
  Logger log({.fd = f.fd, .level = Level::warn});
  log.debug("no");
  log.info("no");
  log.warn("yes");
  log.error("yes");
  log.set_level(Level::off);
  log.error("no");
  log.flush();
  auto lines = lines_of(f.contents());
  REQUIRE(lines.size() == 2);
  CHECK(lines[0]["level"] == "warn");
  CHECK(lines[1]["level"] == "error");
  CHECK(parse_level("debug") == Level::debug);
  CHECK_FALSE(parse_level("verbose").has_value());
}

TEST_CASE("a blocked writer makes log() drop and count - never block") {
  int p[2];
  REQUIRE(::pipe(p) == 0);
  std::string out;
  {
    Logger log({.fd = p[1], .max_queued_lines = 16});
    std::string filler(200, 'x');
    // Nobody reads the pipe: it fills (64 KiB), the writer blocks in write(), the queue fills.
    for (int i = 0; i < 5000; ++i) log.info("filler", {{"i", i}, {"pad", filler}});
    // Reaching this line is the assertion that log() returned while the writer was blocked.
    CHECK(log.dropped() > 0);
    std::uint64_t dropped = log.dropped();
    CHECK(dropped < 5000);

    // Now read, so the writer can finish; the destructor flushes what is queued.
    std::thread reader([&] {
      char buf[65536];
      ssize_t n;
      while ((n = ::read(p[0], buf, sizeof buf)) > 0) out.append(buf, static_cast<std::size_t>(n));
    });
    log.flush();
    ::close(p[1]);  // the logger does not own its fd
    reader.join();
    auto lines = lines_of(out);
    // Drops may be reported in several notices (whenever the writer got a turn); together they
    // account for every dropped line. (A notice ends the batch it was reported in, but lines
    // queued after the last drop may follow it: no assertion on the last line.)
    std::uint64_t reported = 0, notices = 0;
    for (const auto& l : lines) {
      if (!l.contains("dropped")) continue;
      CHECK(l["msg"] == "dropped " + std::to_string(l["dropped"].get<std::uint64_t>()) + " log lines");
      reported += l["dropped"].get<std::uint64_t>();
      ++notices;
    }
    CHECK(reported == dropped);
    CHECK(notices > 0);
    CHECK(lines.size() == 5000 - dropped + notices);
  }
  ::close(p[0]);
}

TEST_CASE("default logger is usable without setup and can be replaced") {
  TempFile f;
  Logger mine({.fd = f.fd});
  set_default_logger(&mine);
  default_logger().info("via default");
  set_default_logger(nullptr);
  mine.flush();
  CHECK(lines_of(f.contents()).at(0)["msg"] == "via default");
  CHECK(&default_logger() != &mine);
}
