// A real nginx for tests: started in a private temporary prefix on 127.0.0.1 and a free port,
// stopped (SIGTERM + waitpid) and removed by the destructor.
//
//     pw::test::NginxOptions o;
//     o.server_config = R"(location = /hello { return 200 "hello"; })";
//     o.files = {{"big.bin", std::string(5 << 20, 'x')}};
//     auto ng = pw::test::Nginx::start(o);      // REQUIRE(ng.ok())
//     (*ng)->address()                          // 127.0.0.1:<port>
//
// nginx runs in the foreground without a master process (`daemon off; master_process off;`),
// logs errors to <prefix>/error.log and keeps its pid and temp paths in the prefix, so tests
// run in parallel and unprivileged. Chunked responses: a location with `ssi on;` serving an
// .html file (SSI output has no known length), optionally with `add_trailer`.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "pw/base/result.h"
#include "pw/io/address.h"

namespace pw::test {

struct NginxOptions {
  std::string server_config;  // directives inside server { } (locations)
  std::string http_config;    // directives inside http { }
  // Files created under the document root before start: relative path, content.
  std::vector<std::pair<std::string, std::string>> files;
  std::string keepalive_timeout = "60s";
  unsigned keepalive_requests = 1000;
  std::string nginx_binary = "/usr/sbin/nginx";
};

class Nginx {
 public:
  static Result<std::unique_ptr<Nginx>> start(const NginxOptions& opt);
  ~Nginx();
  Nginx(const Nginx&) = delete;
  Nginx& operator=(const Nginx&) = delete;

  std::uint16_t port() const noexcept { return port_; }
  io::SockAddr address() const;
  const std::string& prefix() const noexcept { return dir_; }
  std::string root() const { return dir_ + "/root"; }
  std::string error_log() const;  // the log's content (for failure messages)
  pid_t pid() const noexcept { return pid_; }

  // Whether the nginx binary exists (tests skip otherwise).
  static bool available(const std::string& binary = "/usr/sbin/nginx");

 private:
  Nginx() = default;
  Status launch(const NginxOptions& opt, std::uint16_t port);
  void stop();

  std::string dir_;
  std::uint16_t port_ = 0;
  pid_t pid_ = -1;
};

// Writes `content` to `path`, creating parent directories.
Status write_file(const std::string& path, const std::string& content);

}  // namespace pw::test
