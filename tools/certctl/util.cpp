#include "util.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <iostream>
#include <iterator>
#include <atomic>

#include <openssl/evp.h>

#include "exit_codes.h"
#include "pw/base/duration.h"
#include "pw/base/rfc3339.h"
#include "pw/base/strings.h"
#include "pw/cli/values.h"

namespace certctl {

using namespace pw;

std::string read_input(const std::string& path, std::size_t max) {
  std::string out;
  int fd = path == "-" ? 0 : ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw Failure(cli::exit_io, path + ": " + std::strerror(errno));
  char buf[65536];
  while (true) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      int e = errno;
      if (fd != 0) ::close(fd);
      throw Failure(cli::exit_io, (path == "-" ? std::string("<stdin>") : path) + ": " + std::strerror(e));
    }
    if (n == 0) break;
    out.append(buf, static_cast<std::size_t>(n));
    if (out.size() > max) {
      if (fd != 0) ::close(fd);
      throw Failure(exit_bad_input, (path == "-" ? std::string("<stdin>") : path) + ": larger than " +
                                        std::to_string(max) + " bytes");
    }
  }
  if (fd != 0) ::close(fd);
  return out;
}

bool file_exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

std::string join(const std::string& dir, const std::string& name) {
  if (dir.empty() || dir == ".") return name;
  return dir.back() == '/' ? dir + name : dir + "/" + name;
}

void refuse_existing(const std::vector<std::string>& paths, bool force) {
  if (force) return;
  for (const auto& p : paths)
    if (file_exists(p)) throw Failure(exit_exists, p + ": exists; not overwriting it without --force");
}

void make_dir(const std::string& path, mode_t mode) {
  if (path.empty() || path == ".") return;
  std::string cur;
  std::size_t i = 0;
  while (i <= path.size()) {
    std::size_t slash = path.find('/', i);
    cur = path.substr(0, slash);
    if (!cur.empty() && ::mkdir(cur.c_str(), mode) != 0 && errno != EEXIST)
      throw Failure(cli::exit_io, cur + ": cannot create directory: " + std::strerror(errno));
    if (slash == std::string::npos) break;
    i = slash + 1;
  }
}

void write_file(const std::string& path, std::string_view data, mode_t mode, bool force, bool sync) {
  if (!force && file_exists(path)) throw Failure(exit_exists, path + ": exists; not overwriting it without --force");
  // Unique per process (pid) and per call (counter); O_EXCL refuses a leftover of a crashed run.
  static std::atomic<unsigned> counter{0};
  std::string tmp = path + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(counter++);
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) throw Failure(cli::exit_io, tmp + ": " + std::strerror(errno));
  ::fchmod(fd, mode);  // regardless of the umask: keys stay 0600, certificates 0644
  std::size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      int e = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      throw Failure(cli::exit_io, path + ": " + std::strerror(e));
    }
    off += static_cast<std::size_t>(n);
  }
  if ((sync && ::fsync(fd) != 0) || ::close(fd) != 0) {
    int e = errno;
    ::unlink(tmp.c_str());
    throw Failure(cli::exit_io, path + ": " + std::strerror(e));
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int e = errno;
    ::unlink(tmp.c_str());
    throw Failure(cli::exit_io, path + ": " + std::strerror(e));
  }
}

std::string read_passphrase(const PassSource& src) {
  if (!src.file.empty() && !src.env.empty())
    throw Failure(cli::exit_usage, "give the passphrase in a file or an environment variable, not both");
  std::string p;
  if (!src.file.empty()) {
    p = read_input(src.file, 4096);
    std::size_t nl = p.find_first_of("\r\n");
    if (nl != std::string::npos) p.resize(nl);
    if (p.empty()) throw Failure(cli::exit_usage, src.file + ": the passphrase file is empty");
  } else if (!src.env.empty()) {
    const char* v = std::getenv(src.env.c_str());
    if (v == nullptr || *v == '\0')
      throw Failure(cli::exit_usage, "the environment variable " + src.env + " is not set or empty");
    p = v;
  }
  if (!p.empty() && p.size() < 4) throw Failure(cli::exit_usage, "the passphrase is shorter than 4 bytes");
  return p;
}

namespace {
constexpr Duration kMaxValidity = std::chrono::hours(24 * 365 * 200);  // 200 years
}  // namespace

// The one duration grammar (pw/base/duration.h, pipeworks(7)); "min" is accepted as before.
std::optional<Duration> try_parse_validity(std::string_view text) noexcept {
  try {
    auto d = pw::parse_duration(text);
    if (!d || d->value > kMaxValidity) return std::nullopt;
    return d->value;
  } catch (const std::bad_alloc&) {
    return std::nullopt;
  }
}

Duration parse_validity(const std::string& text, std::string_view flag) {
  auto d = pw::cli::parse_duration_flag(flag, text);
  if (!d) throw Failure(cli::exit_usage, d.error().message);
  if (*d <= Duration::zero() || *d > kMaxValidity)
    throw Failure(cli::exit_usage, std::string(flag) + ": \"" + escape_for_log(text) + "\" must be more than 0s and at most 200y");
  return *d;
}

std::string format_validity(Duration d) {
  return pw::format_duration(std::chrono::duration_cast<std::chrono::seconds>(d), true);
}

std::string format_time(WallTime t) { return pw::format_rfc3339(t, 0); }

// RFC 3339 (pw::parse_rfc3339), plus what certctl's flags took before it: "now", a date alone
// (midnight UTC), and a space for the "T" (RFC 3339 §5.6 NOTE allows it by agreement).
std::optional<WallTime> parse_time(std::string_view text, WallTime now) {
  if (text == "now") return now;
  if (text.size() > 64) return std::nullopt;
  std::string s(text);
  if (s.size() == 10) s += "T00:00:00Z";
  else if (s.size() > 10 && s[10] == ' ') s[10] = 'T';
  auto t = pw::parse_rfc3339(s);
  if (!t) return std::nullopt;
  return *t;
}

WallTime parse_time_flag(const std::string& text, std::string_view flag, WallTime now) {
  auto t = parse_time(text, now);
  if (!t)
    throw Failure(cli::exit_usage, std::string(flag) + ": invalid time \"" + escape_for_log(text) +
                                       "\" (expected RFC 3339, e.g. 2025-01-02T03:04:05Z, or a date 2025-01-02)");
  return *t;
}

std::string format_remaining(WallTime not_after, WallTime now) {
  auto secs = std::chrono::duration_cast<std::chrono::seconds>(not_after - now).count();
  bool past = secs < 0;
  if (past) secs = -secs;
  std::string s;
  std::int64_t d = secs / 86400, h = secs % 86400 / 3600, m = secs % 3600 / 60, sec = secs % 60;
  if (d > 0) s = std::to_string(d) + "d " + std::to_string(h) + "h";
  else if (h > 0) s = std::to_string(h) + "h " + std::to_string(m) + "m";
  else s = std::to_string(m) + "m " + std::to_string(sec) + "s";
  return past ? "expired " + s + " ago" : s;
}

pki::SubjectNames names_from_flags(const std::vector<std::string>& dns, const std::vector<std::string>& ips,
                                   const std::vector<std::string>& uris, const std::string& spiffe_id) {
  pki::SubjectNames n;
  for (const auto& d : dns) {
    std::string lower = to_lower(d);
    if (Status st = pki::validate_dns_name(lower); !st) throw Failure(cli::exit_usage, "--dns: " + st.error().message);
    n.dns.push_back(lower);
  }
  for (const auto& i : ips) {
    auto ip = pki::parse_ip(i);
    if (!ip) throw Failure(cli::exit_usage, "--ip: \"" + escape_for_log(i) + "\" is not an IPv4 or IPv6 address");
    n.ips.push_back(*ip);
  }
  if (!spiffe_id.empty()) {
    if (Status st = pki::validate_spiffe_id(spiffe_id); !st)
      throw Failure(cli::exit_usage, "--spiffe-id: " + st.error().message);
    if (!uris.empty())
      throw Failure(cli::exit_usage,
                    "--uri cannot be combined with --spiffe-id: an X509-SVID has exactly one URI SAN, its SPIFFE ID");
    n.uris.push_back(spiffe_id);
  }
  for (const auto& u : uris) {
    if (Status st = pki::validate_uri(u); !st) throw Failure(cli::exit_usage, "--uri: " + st.error().message);
    if (u.rfind("spiffe://", 0) == 0) {
      if (Status st = pki::validate_spiffe_id(u); !st) throw Failure(cli::exit_usage, "--uri: " + st.error().message);
      if (uris.size() != 1)
        throw Failure(cli::exit_usage, "--uri: an X509-SVID has exactly one URI SAN, its SPIFFE ID");
    }
    n.uris.push_back(u);
  }
  return n;
}

std::vector<std::string> ip_strings(const pki::SubjectNames& n) {
  std::vector<std::string> out;
  for (const auto& ip : n.ips) out.push_back(ip.to_string());
  return out;
}

std::string sha256_hex(std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr);
  return hex_encode(std::string_view(reinterpret_cast<char*>(md), len));
}

Json names_json(const pki::SubjectNames& n) {
  Json j = Json::object();
  j["dns"] = n.dns;
  j["ip"] = ip_strings(n);
  j["uri"] = n.uris;
  if (!n.emails.empty()) j["email"] = n.emails;
  return j;
}

}  // namespace certctl
