#include "keys.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ostream>

#include <openssl/rand.h>

#include "pw/base/base64.h"
#include "pw/base/strings.h"
#include "pw/cli/exit_codes.h"
#include "pw/cli/values.h"
#include "pw/config/check_command.h"
#include "pw/config/load.h"
#include "pw/config/source.h"
#include "pw/proxy/config.h"
#include "pw/proxy/consumers.h"

namespace gw {
namespace {

namespace proxy = pw::proxy;
using Json = pw::config::Json;
using pw::cli::Failure;

[[noreturn]] void fail_io(const std::string& what, int err) {
  throw Failure(pw::cli::exit_io, what + ": " + std::strerror(err));
}

std::string base64url(const unsigned char* p, std::size_t n) {
  return pw::base64_encode(std::string_view(reinterpret_cast<const char*>(p), n), pw::Base64::url_unpadded);
}

void random_bytes(unsigned char* p, int n) {
  if (RAND_bytes(p, n) != 1) throw Failure(pw::cli::exit_failure, "RAND_bytes failed: no key was made");
}

// The consumers file the command edits: --consumers, else the one the config names.
std::string consumers_path(const KeysOptions& o) {
  if (!o.consumers_file.empty()) return o.consumers_file;
  if (o.config.empty()) throw Failure(pw::cli::exit_usage, "needs --consumers FILE or --config FILE");
  auto cfg = pw::config::load_file<proxy::Config>(o.config);
  if (!cfg)
    throw Failure(cfg.error().code == pw::Errc::io_error ? pw::cli::exit_io : pw::cli::exit_config, cfg.error().message);
  if (!cfg->consumers)
    throw Failure(pw::cli::exit_config, pw::config::display_name(o.config) + ": names no consumers file (\"consumers\": {\"file\": ...})");
  return proxy::resolve_beside(o.config, cfg->consumers->file);
}

// An exclusive lock on "<path>.lock" for the life of the object.
class FileLock {
 public:
  explicit FileLock(const std::string& path) {
    const std::string lock = path + ".lock";
    fd_ = ::open(lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd_ < 0) fail_io(lock, errno);
    while (::flock(fd_, LOCK_EX) != 0)
      if (errno != EINTR) fail_io(lock, errno);
  }
  ~FileLock() { ::close(fd_); }  // closing releases the lock
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

 private:
  int fd_ = -1;
};

struct Doc {
  Json json;
  bool existed = false;
};

// Reads and validates the file (a missing one is an empty file when `may_create`).
Doc read_doc(const std::string& path, bool may_create) {
  Doc d;
  struct stat st{};
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT && may_create) {
      d.json = Json{{"consumers", Json::array()}};
      return d;
    }
    fail_io(path, errno);
  }
  d.existed = true;
  auto text = pw::config::read_source(path, pw::config::stdin_stream(), pw::config::kMaxConfigBytes);
  if (!text) throw Failure(text.error().code == pw::Errc::io_error ? pw::cli::exit_io : pw::cli::exit_config, text.error().message);
  if (auto v = proxy::ConsumerStore::parse(*text, path); !v)
    throw Failure(v.error().code == pw::Errc::io_error ? pw::cli::exit_io : pw::cli::exit_config, v.error().message);
  d.json = Json::parse(*text);  // valid: just checked
  return d;
}

// Writes `j` to `path` atomically: temporary file in the same directory, fsync, rename, fsync
// of the directory. Mode: the old file's, else 0600.
void write_doc(const std::string& path, const Json& j, bool existed) {
  const auto slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
  const std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
  std::string tmp = dir + "/." + base + ".XXXXXX";
  const int fd = ::mkstemp(tmp.data());  // mode 0600
  if (fd < 0) fail_io(dir, errno);
  auto fail = [&](int err) {
    ::close(fd);
    ::unlink(tmp.c_str());
    fail_io(tmp, err);
  };
  if (existed) {
    struct stat st{};
    if (::stat(path.c_str(), &st) == 0 && ::fchmod(fd, st.st_mode & 07777) != 0) fail(errno);
  }
  const std::string text = j.dump(2) + "\n";
  std::size_t off = 0;
  while (off < text.size()) {
    const ssize_t n = ::write(fd, text.data() + off, text.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail(errno);
    }
    off += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0) fail(errno);
  if (::close(fd) != 0) {
    ::unlink(tmp.c_str());
    fail_io(tmp, errno);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int e = errno;
    ::unlink(tmp.c_str());
    fail_io(path, e);
  }
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    (void)::fsync(dfd);  // the rename itself is durable once the directory is
    ::close(dfd);
  }
}

// Keys past their grace period are dropped.
void prune_expired(Json& doc, pw::WallTime now) {
  for (Json& c : doc["consumers"]) {
    if (!c.contains("credentials") || !c["credentials"].contains("api_keys")) continue;
    Json& keys = c["credentials"]["api_keys"];
    Json kept = Json::array();
    for (Json& k : keys) {
      if (k.contains("expires") && k["expires"].is_string()) {
        auto t = proxy::parse_rfc3339_utc(k["expires"].get<std::string>());
        if (t && *t <= now) continue;
      }
      kept.push_back(std::move(k));
    }
    keys = std::move(kept);
  }
}

Json* find_consumer(Json& doc, const std::string& id) {
  for (Json& c : doc["consumers"])
    if (c.value("id", "") == id) return &c;
  return nullptr;
}

bool key_id_taken(const Json& doc, const std::string& id) {
  for (const Json& c : doc["consumers"])
    if (c.contains("credentials") && c["credentials"].contains("api_keys"))
      for (const Json& k : c["credentials"]["api_keys"])
        if (k.value("id", "") == id) return true;
  return false;
}

struct NewKey {
  std::string key, id, created;
};

// A new key for consumer `c`, its hash stored in `c`.
NewKey add_key(Json& doc, Json& c, pw::WallTime now) {
  unsigned char raw[32];
  random_bytes(raw, sizeof raw);
  NewKey k;
  k.key = "pwk_" + base64url(raw, sizeof raw);
  OPENSSL_cleanse(raw, sizeof raw);
  do {
    unsigned char idb[6];
    random_bytes(idb, sizeof idb);
    k.id = "k_" + proxy::lower_hex(idb, sizeof idb);
  } while (key_id_taken(doc, k.id));
  k.created = proxy::format_rfc3339_seconds(now);
  const auto digest = proxy::sha256_digest(k.key);
  Json entry = {{"id", k.id}, {"sha256", proxy::lower_hex(digest.data(), digest.size())}, {"created", k.created}};
  c["credentials"]["api_keys"].push_back(std::move(entry));
  return k;
}

void print_new_key(std::ostream& out, bool json, const std::string& consumer, const NewKey& k) {
  if (json) {
    out << Json{{"consumer", consumer}, {"key_id", k.id}, {"key", k.key}, {"created", k.created}}.dump() << "\n";
    return;
  }
  out << "consumer: " << consumer << "\nkey id:   " << k.id << "\ncreated:  " << k.created << "\nkey:      " << k.key
      << "\n(the key is shown only now; only its SHA-256 is stored)\n";
}

pw::WallTime now() { return std::chrono::time_point_cast<pw::WallTime::duration>(std::chrono::system_clock::now()); }

void check_field(const std::string& what, const std::string& v) {
  for (char ch : v)
    if (static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f)
      throw Failure(pw::cli::exit_usage, what + " must not contain control characters");
}

}  // namespace

int keys_add(const KeysOptions& o, std::ostream& out) {
  if (o.consumer.empty()) throw Failure(pw::cli::exit_usage, "needs a consumer id");
  check_field("the consumer id", o.consumer);
  check_field("--username", o.username);
  check_field("--plan", o.plan);
  for (const auto& g : o.groups) {
    if (g.empty()) throw Failure(pw::cli::exit_usage, "--group must not be empty");
    check_field("--group", g);
  }
  const std::string path = consumers_path(o);
  FileLock lock(path);
  Doc d = read_doc(path, true);
  const auto t = now();
  prune_expired(d.json, t);
  Json* c = find_consumer(d.json, o.consumer);
  if (c == nullptr) {
    d.json["consumers"].push_back(Json{{"id", o.consumer}, {"username", o.username.empty() ? o.consumer : o.username}});
    c = &d.json["consumers"].back();
    if (!o.groups.empty()) (*c)["groups"] = o.groups;
    if (!o.plan.empty()) (*c)["plan"] = o.plan;
  } else {
    // Given flags update an existing consumer.
    if (!o.username.empty()) (*c)["username"] = o.username;
    if (!o.groups.empty()) (*c)["groups"] = o.groups;
    if (!o.plan.empty()) (*c)["plan"] = o.plan;
  }
  NewKey k = add_key(d.json, *c, t);
  // The result must load as gw-proxy would load it (a username now used twice...).
  if (auto v = proxy::ConsumerStore::parse(d.json.dump(), path); !v) throw Failure(pw::cli::exit_config, v.error().message);
  write_doc(path, d.json, d.existed);
  print_new_key(out, o.json, o.consumer, k);
  return pw::cli::exit_ok;
}

int keys_rotate(const KeysOptions& o, std::ostream& out) {
  if (o.consumer.empty()) throw Failure(pw::cli::exit_usage, "needs a consumer id");
  const auto grace = pw::cli::parse_duration_flag("--grace", o.grace, std::chrono::seconds(1));  // pipeworks(7) DURATIONS
  if (!grace) throw Failure(pw::cli::exit_usage, grace.error().message);
  // A bound: a grace period is a rotation window, and t + grace must not overflow (a key would
  // get an expiry in the past and stop at once).
  if (*grace > std::chrono::hours(24 * 366 * 10))
    throw Failure(pw::cli::exit_usage, "--grace: at most 10 years (" + o.grace + " given)");
  const std::string path = consumers_path(o);
  FileLock lock(path);
  Doc d = read_doc(path, false);
  const auto t = now();
  prune_expired(d.json, t);
  Json* c = find_consumer(d.json, o.consumer);
  if (c == nullptr) throw Failure(pw::cli::exit_failure, "no consumer \"" + o.consumer + "\" in " + path);
  Json& keys = (*c)["credentials"]["api_keys"];
  if (keys.is_null()) keys = Json::array();
  Json kept = Json::array();
  bool found = o.key_id.empty();
  const std::string until = pw::proxy::format_rfc3339_seconds(t + std::chrono::duration_cast<pw::WallTime::duration>(*grace));
  for (Json& k : keys) {
    const bool target = o.key_id.empty() || k.value("id", "") == o.key_id;
    if (!target) {
      kept.push_back(std::move(k));
      continue;
    }
    found = true;
    if (grace->count() == 0) continue;  // removed now
    // Valid until the grace period ends (an earlier end it already had stays).
    const auto old = k.contains("expires") ? pw::proxy::parse_rfc3339_utc(k.value("expires", "")) : std::nullopt;
    if (!old || *old > t + std::chrono::duration_cast<pw::WallTime::duration>(*grace)) k["expires"] = until;
    kept.push_back(std::move(k));
  }
  if (!found) throw Failure(pw::cli::exit_failure, "consumer \"" + o.consumer + "\" has no key \"" + o.key_id + "\"");
  keys = std::move(kept);
  NewKey k = add_key(d.json, *c, t);
  write_doc(path, d.json, d.existed);
  print_new_key(out, o.json, o.consumer, k);
  return pw::cli::exit_ok;
}

int keys_revoke(const KeysOptions& o, std::ostream& out) {
  if (o.revoke_id.empty()) throw Failure(pw::cli::exit_usage, "needs a key id");
  const std::string path = consumers_path(o);
  FileLock lock(path);
  Doc d = read_doc(path, false);
  prune_expired(d.json, now());
  std::string owner;
  for (Json& c : d.json["consumers"]) {
    if (!c.contains("credentials") || !c["credentials"].contains("api_keys")) continue;
    Json& keys = c["credentials"]["api_keys"];
    for (std::size_t i = 0; i < keys.size(); ++i)
      if (keys[i].value("id", "") == o.revoke_id) {
        keys.erase(i);
        owner = c.value("id", "");
        break;
      }
    if (!owner.empty()) break;
  }
  if (owner.empty()) throw Failure(pw::cli::exit_failure, "no key \"" + o.revoke_id + "\" in " + path);
  write_doc(path, d.json, d.existed);
  if (o.json) out << Json{{"revoked", o.revoke_id}, {"consumer", owner}}.dump() << "\n";
  else out << "revoked " << o.revoke_id << " (consumer " << owner << ")\n";
  return pw::cli::exit_ok;
}

int keys_list(const KeysOptions& o, std::ostream& out) {
  const std::string path = consumers_path(o);
  Doc d = read_doc(path, false);  // no lock: the file is only ever replaced whole
  const auto t = now();
  Json rows = Json::array();
  for (const Json& c : d.json["consumers"]) {
    const std::string id = c.value("id", "");
    if (!o.consumer.empty() && id != o.consumer) continue;
    if (!c.contains("credentials") || !c["credentials"].contains("api_keys")) continue;
    for (const Json& k : c["credentials"]["api_keys"]) {
      Json row = {{"consumer", id}, {"username", c.value("username", "")}, {"key_id", k.value("id", "")},
                  {"created", k.value("created", "")}};
      if (k.contains("expires")) {
        row["expires"] = k.value("expires", "");
        auto e = pw::proxy::parse_rfc3339_utc(k.value("expires", ""));
        row["expired"] = e && *e <= t;
      }
      if (o.show_hashes) row["sha256"] = k.value("sha256", "");
      rows.push_back(std::move(row));
    }
  }
  if (o.json) {
    out << Json{{"keys", rows}}.dump() << "\n";
    return pw::cli::exit_ok;
  }
  out << "CONSUMER\tUSERNAME\tKEY ID\tCREATED\tEXPIRES" << (o.show_hashes ? "\tSHA256" : "") << "\n";
  for (const Json& r : rows) {
    out << r["consumer"].get<std::string>() << '\t' << r["username"].get<std::string>() << '\t'
        << r["key_id"].get<std::string>() << '\t' << r["created"].get<std::string>() << '\t'
        << (r.contains("expires") ? r["expires"].get<std::string>() : std::string("-"));
    if (o.show_hashes) out << '\t' << r["sha256"].get<std::string>();
    out << "\n";
  }
  return pw::cli::exit_ok;
}

}  // namespace gw
