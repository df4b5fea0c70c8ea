// Helpers of certctl's unit tests: a temporary directory, whole-file reads and writes, and a
// JSON logger whose lines the test can read back.
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <catch2/catch.hpp>

#include "pw/telemetry/log.h"

namespace certctl::test {

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/pw-certctl-XXXXXX";
    REQUIRE(::mkdtemp(tmpl) != nullptr);
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string file(const std::string& name) const { return path_ + "/" + name; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

inline void write_text(const std::string& path, const std::string& text) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f << text;
  REQUIRE(f.good());
}

inline std::string read_text(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// A Logger writing to a file of the test's directory; text() flushes and reads it.
class LogCapture {
 public:
  explicit LogCapture(const TempDir& dir) : path_(dir.file("log.jsonl")) {
    fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    REQUIRE(fd_ >= 0);
    pw::telemetry::LoggerOptions o;
    o.fd = fd_;
    o.level = pw::telemetry::Level::debug;
    log_ = std::make_unique<pw::telemetry::Logger>(o);
  }
  ~LogCapture() {
    log_.reset();
    ::close(fd_);
  }
  pw::telemetry::Logger& logger() { return *log_; }
  std::string text() {
    log_->flush();
    return read_text(path_);
  }

 private:
  std::string path_;
  int fd_ = -1;
  std::unique_ptr<pw::telemetry::Logger> log_;
};

}  // namespace certctl::test
