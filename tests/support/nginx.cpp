#include "nginx.h"

#include <netinet/in.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

extern char** environ;

namespace pw::test {
namespace fs = std::filesystem;

namespace {

// A port that was free a moment ago (bind 0, read it, close). nginx may still lose a race for
// it: start() retries with another port.
Result<std::uint16_t> free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return make_error(Errc::io_error, std::string("socket: ") + std::strerror(errno), errno);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  socklen_t len = sizeof a;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    int e = errno;
    ::close(fd);
    return make_error(Errc::io_error, std::string("bind: ") + std::strerror(e), e);
  }
  ::close(fd);
  return static_cast<std::uint16_t>(ntohs(a.sin_port));
}

bool accepts(std::uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(fd);
  return ok;
}

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

Status write_file(const std::string& path, const std::string& content) {
  std::error_code ec;
  fs::create_directories(fs::path(path).parent_path(), ec);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(content.data(), static_cast<std::streamsize>(content.size()));
  out.close();
  if (!out) return make_error(Errc::io_error, "cannot write " + path);
  return {};
}

bool Nginx::available(const std::string& binary) { return ::access(binary.c_str(), X_OK) == 0; }

io::SockAddr Nginx::address() const { return *io::SockAddr::from_ip_port("127.0.0.1", port_); }

std::string Nginx::error_log() const { return read_all(dir_ + "/error.log") + read_all(dir_ + "/stderr.log"); }

Result<std::unique_ptr<Nginx>> Nginx::start(const NginxOptions& opt) {
  if (!available(opt.nginx_binary)) return make_error(Errc::not_found, opt.nginx_binary + " not found");
  std::unique_ptr<Nginx> ng(new Nginx);
  std::string tmpl = (fs::temp_directory_path() / "pw-nginx-XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr)
    return make_error(Errc::io_error, std::string("mkdtemp: ") + std::strerror(errno), errno);
  ng->dir_ = tmpl;
  for (const char* d : {"/root", "/tmp"}) fs::create_directories(ng->dir_ + d);
  for (const auto& [rel, content] : opt.files)
    if (Status st = write_file(ng->root() + "/" + rel, content); !st) return std::move(st).error();

  Error last(Errc::internal, "nginx did not start");
  for (int attempt = 0; attempt < 5; ++attempt) {
    auto port = free_port();
    if (!port) return std::move(port).error();
    Status st = ng->launch(opt, *port);
    if (st) return ng;
    last = std::move(st).error();
  }
  return last;
}

Status Nginx::launch(const NginxOptions& opt, std::uint16_t port) {
  port_ = port;
  const std::string& d = dir_;
  std::ostringstream conf;
  conf << "error_log " << d << "/error.log notice;\n"
       << "pid " << d << "/nginx.pid;\n"
       << "events { worker_connections 256; }\n"
       << "http {\n"
       << "  access_log off;\n"
       << "  client_body_temp_path " << d << "/tmp/body;\n"
       << "  proxy_temp_path " << d << "/tmp/proxy;\n"
       << "  fastcgi_temp_path " << d << "/tmp/fastcgi;\n"
       << "  uwsgi_temp_path " << d << "/tmp/uwsgi;\n"
       << "  scgi_temp_path " << d << "/tmp/scgi;\n"
       << "  default_type application/octet-stream;\n"
       << "  keepalive_timeout " << opt.keepalive_timeout << ";\n"
       << "  keepalive_requests " << opt.keepalive_requests << ";\n"
       << opt.http_config << "\n"
       << "  server {\n"
       << "    listen 127.0.0.1:" << port << ";\n"
       << "    root " << root() << ";\n"
       << opt.server_config << "\n"
       << "  }\n"
       << "}\n";
  const std::string conf_path = d + "/nginx.conf";
  if (Status st = write_file(conf_path, conf.str()); !st) return st;
  ::unlink((d + "/error.log").c_str());

  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  const std::string out = d + "/stderr.log";
  posix_spawn_file_actions_addopen(&fa, 1, out.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_addopen(&fa, 2, out.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  std::string bin = opt.nginx_binary;
  std::string p = d + "/";
  std::vector<std::string> args = {bin, "-p", p, "-c", conf_path, "-g", "daemon off; master_process off;"};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = -1;
  int rc = posix_spawn(&pid, bin.c_str(), &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) return make_error(Errc::io_error, std::string("posix_spawn nginx: ") + std::strerror(rc), rc);
  pid_ = pid;

  // Wait until it accepts (or exits: a lost port race ends in "Address already in use").
  // Polling an external process at start-up is the one wait here; tests never sleep.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return make_error(Errc::io_error, "nginx exited at start-up: " + error_log());
    }
    if (accepts(port)) return {};
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  stop();
  return make_error(Errc::timeout, "nginx did not accept on port " + std::to_string(port) + ": " + error_log());
}

void Nginx::stop() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGTERM);  // fast shutdown: closes keep-alive connections at once
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  pid_ = -1;
}

Nginx::~Nginx() {
  stop();
  std::error_code ec;
  if (!dir_.empty()) fs::remove_all(dir_, ec);
}

}  // namespace pw::test
