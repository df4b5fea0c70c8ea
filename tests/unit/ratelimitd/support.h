// Test helpers for ratelimitd: a real redis-server on a free loopback port, and a blocking
// keep-alive HTTP client that hammers POST /json from several threads.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "pw/io/address.h"

namespace rltest {

inline int connect_loopback(std::uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
    ::close(fd);
    return -1;
  }
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

inline bool write_all(int fd, std::string_view s) {
  while (!s.empty()) {
    ssize_t n = ::write(fd, s.data(), s.size());
    if (n <= 0) return false;
    s.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

// A free port: bind port 0, read it, close. Racy by nature: callers retry.
inline std::uint16_t pick_free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
  socklen_t len = sizeof sa;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len);
  ::close(fd);
  return ntohs(sa.sin_port);
}

// redis-server in the foreground, no persistence, in a private directory.
class Redis {
 public:
  static bool available() { return ::access("/usr/bin/redis-server", X_OK) == 0; }
  // For a test case that needs Redis: without redis-server, ends the process with 77, which
  // ctest reports as skipped (the unit tests register SKIP_RETURN_CODE 77; ctest runs each test
  // case in a process of its own).
  static void require_or_skip() {
    if (available()) return;
    std::fprintf(stderr, "redis-server not installed: skipped\n");
    std::fflush(nullptr);
    std::_Exit(77);
  }

  // Picks a free port (port 0 is not supported by redis), retrying when another process took it.
  bool start() {
    for (int attempt = 0; attempt < 10; ++attempt) {
      port_ = pick_free_port();
      if (launch() && wait_ready()) return true;
      stop();
    }
    return false;
  }
  // The same port again (after kill()).
  bool restart() { return launch() && wait_ready(); }
  void kill_now() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
      pid_ = -1;
    }
  }
  void stop() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      ::waitpid(pid_, nullptr, 0);
      pid_ = -1;
    }
  }
  ~Redis() {
    stop();
    if (!dir_.empty()) (void)std::system(("rm -rf '" + dir_ + "'").c_str());
  }
  std::uint16_t port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  bool launch() {
    if (dir_.empty()) {
      char tmpl[] = "/tmp/pw-redis-XXXXXX";
      if (::mkdtemp(tmpl) == nullptr) return false;
      dir_ = tmpl;
    }
    std::string port = std::to_string(port_);
    pid_ = ::fork();
    if (pid_ == 0) {
      std::string log = dir_ + "/redis.log";
      ::execl("/usr/bin/redis-server", "redis-server", "--port", port.c_str(), "--bind", "127.0.0.1", "--save", "",
              "--appendonly", "no", "--dir", dir_.c_str(), "--logfile", log.c_str(), "--daemonize", "no",
              static_cast<char*>(nullptr));
      ::_exit(127);
    }
    return pid_ > 0;
  }
  // PING until PONG (the server accepts) or the child died (the port was taken).
  bool wait_ready() {
    for (int i = 0; i < 500; ++i) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return false;
      }
      int fd = connect_loopback(port_);
      if (fd >= 0) {
        char buf[16] = {};
        bool ok = write_all(fd, "PING\r\n") && ::read(fd, buf, sizeof buf - 1) > 0 && std::strncmp(buf, "+PONG", 5) == 0;
        ::close(fd);
        if (ok) return true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));  // polling a child's start-up
    }
    return false;
  }
  std::string dir_;
  std::uint16_t port_ = 0;
  pid_t pid_ = -1;
};

struct Tally {
  std::atomic<int> ok{0}, over{0}, other{0};
};

// Reads one HTTP/1.1 response with Content-Length; returns its status (0 on failure), and its
// body into `body` when given.
inline int read_response(int fd, std::string& buf, std::string* body = nullptr) {
  while (true) {
    auto end = buf.find("\r\n\r\n");
    if (end != std::string::npos) {
      int status = buf.size() >= 12 ? (buf[9] - '0') * 100 + (buf[10] - '0') * 10 + (buf[11] - '0') : 0;
      std::size_t len = 0;
      auto cl = buf.find("Content-Length: ");
      if (cl != std::string::npos && cl < end) len = std::strtoul(buf.c_str() + cl + 16, nullptr, 10);
      if (buf.size() >= end + 4 + len) {
        if (body != nullptr) body->assign(buf, end + 4, len);
        buf.erase(0, end + 4 + len);
        return status;
      }
    }
    char tmp[4096];
    ssize_t n = ::read(fd, tmp, sizeof tmp);
    if (n <= 0) return 0;
    buf.append(tmp, static_cast<std::size_t>(n));
  }
}

// `conns` keep-alive connections, each sending `per_conn` POST /json requests one after another.
inline void hammer(std::uint16_t port, const std::string& body, int conns, int per_conn, Tally& t) {
  std::string req = "POST /json HTTP/1.1\r\nHost: ratelimitd\r\nContent-Type: application/json\r\nContent-Length: " +
                    std::to_string(body.size()) + "\r\n\r\n" + body;
  std::vector<std::thread> ts;
  for (int c = 0; c < conns; ++c) {
    ts.emplace_back([&] {
      int fd = connect_loopback(port);
      std::string buf;
      for (int i = 0; i < per_conn; ++i) {
        int st = fd >= 0 && write_all(fd, req) ? read_response(fd, buf) : 0;
        if (st == 200) ++t.ok;
        else if (st == 429) ++t.over;
        else ++t.other;
      }
      if (fd >= 0) ::close(fd);
    });
  }
  for (auto& th : ts) th.join();
}

// POSTs each body to /json in turn on one keep-alive connection; the statuses (0: failed).
inline std::vector<int> post_each(std::uint16_t port, const std::vector<std::string>& bodies) {
  std::vector<int> out;
  int fd = connect_loopback(port);
  std::string buf;
  for (const auto& body : bodies) {
    std::string req = "POST /json HTTP/1.1\r\nHost: ratelimitd\r\nContent-Type: application/json\r\nContent-Length: " +
                      std::to_string(body.size()) + "\r\n\r\n" + body;
    out.push_back(fd >= 0 && write_all(fd, req) ? read_response(fd, buf) : 0);
  }
  if (fd >= 0) ::close(fd);
  return out;
}

// GET `path`; the response body ("" on failure).
inline std::string http_get(std::uint16_t port, const std::string& path) {
  int fd = connect_loopback(port);
  std::string buf, body;
  if (fd >= 0 && write_all(fd, "GET " + path + " HTTP/1.1\r\nHost: ratelimitd\r\n\r\n"))
    (void)read_response(fd, buf, &body);
  if (fd >= 0) ::close(fd);
  return body;
}

inline std::string body_for(const std::string& domain, const std::string& key, const std::string& value) {
  return R"({"domain":")" + domain + R"(","descriptors":[{"entries":[{"key":")" + key + R"(","value":")" + value +
         R"("}]}]})";
}

inline void write_text(const std::string& path, const std::string& text) {
  FILE* f = std::fopen(path.c_str(), "w");
  std::fwrite(text.data(), 1, text.size(), f);
  std::fclose(f);
}

inline std::string make_temp_dir() {
  char tmpl[] = "/tmp/pw-rl-XXXXXX";
  return ::mkdtemp(tmpl);
}

}  // namespace rltest
