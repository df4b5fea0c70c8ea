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
#include "pw/base/strings.h"

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

std::optional<Duration> try_parse_validity(std::string_view text) noexcept {
  std::size_t i = 0;
  while (i < text.size() && text[i] >= '0' && text[i] <= '9') ++i;
  if (i == 0) return std::nullopt;
  auto n = parse_u64(text.substr(0, i), 1'000'000'000ULL);
  if (!n) return std::nullopt;
  std::string_view unit = text.substr(i);
  std::int64_t secs;
  if (unit == "s") secs = 1;
  else if (unit == "m" || unit == "min") secs = 60;
  else if (unit == "h") secs = 3600;
  else if (unit == "d") secs = 86400;
  else if (unit == "w") secs = 7 * 86400;
  else if (unit == "y") secs = 365 * 86400;
  else return std::nullopt;
  std::uint64_t total = *n * static_cast<std::uint64_t>(secs);
  if (total > 200ULL * 365 * 86400) return std::nullopt;  // 200 years
  return std::chrono::seconds(total);
}

Duration parse_validity(const std::string& text, std::string_view flag) {
  auto d = try_parse_validity(text);
  if (!d || *d <= Duration::zero())
    throw Failure(cli::exit_usage, std::string(flag) + ": invalid duration \"" + escape_for_log(text) +
                                       "\" (expected a number and s, m, h, d, w or y: 90d, 12h, 1y)");
  return *d;
}

std::string format_validity(Duration d) {
  auto s = std::chrono::duration_cast<std::chrono::seconds>(d).count();
  struct U {
    std::int64_t secs;
    const char* name;
  };
  for (U u : {U{365 * 86400, "y"}, U{7 * 86400, "w"}, U{86400, "d"}, U{3600, "h"}, U{60, "m"}})
    if (s > 0 && s % u.secs == 0) return std::to_string(s / u.secs) + u.name;
  return std::to_string(s) + "s";
}

std::string format_time(WallTime t) {
  time_t secs = std::chrono::system_clock::to_time_t(t);
  struct tm tm {};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::optional<WallTime> parse_time(std::string_view text, WallTime now) {
  if (text == "now") return now;
  if (text.size() < 10 || text.size() > 40) return std::nullopt;
  auto num = [&](std::size_t pos, std::size_t len) -> int {
    if (pos + len > text.size()) return -1;
    auto v = parse_u64(text.substr(pos, len), 9999);
    return v ? static_cast<int>(*v) : -1;
  };
  struct tm tm {};
  int y = num(0, 4), mo = num(5, 2), d = num(8, 2);
  if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 || text[4] != '-' || text[7] != '-') return std::nullopt;
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  long offset = 0;
  if (text.size() > 10) {
    if (text[10] != 'T' && text[10] != 't' && text[10] != ' ') return std::nullopt;
    int h = num(11, 2), mi = num(14, 2), s = num(17, 2);
    if (h < 0 || h > 23 || mi < 0 || mi > 59 || s < 0 || s > 60 || text[13] != ':' || text[16] != ':')
      return std::nullopt;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = s;
    std::size_t p = 19;
    if (p < text.size() && text[p] == '.') {
      ++p;
      while (p < text.size() && text[p] >= '0' && text[p] <= '9') ++p;
    }
    std::string_view zone = text.substr(p);
    if (zone == "Z" || zone == "z") {
    } else if (zone.size() == 6 && (zone[0] == '+' || zone[0] == '-') && zone[3] == ':') {
      int zh = num(p + 1, 2), zm = num(p + 4, 2);
      if (zh < 0 || zh > 23 || zm < 0 || zm > 59) return std::nullopt;
      offset = (zh * 3600L + zm * 60L) * (zone[0] == '+' ? 1 : -1);
    } else {
      return std::nullopt;
    }
  }
  time_t t = timegm(&tm);
  return std::chrono::system_clock::from_time_t(t - offset);
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
