// File, time and passphrase helpers shared by certctl's commands.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "pw/base/clock.h"
#include "pw/cli/exit_codes.h"
#include "pw/pki/names.h"

namespace certctl {

using Json = nlohmann::ordered_json;
using pw::cli::Failure;

// Everything certctl reads has a limit.
inline constexpr std::size_t kMaxInputBytes = 16 << 20;

// Reads a whole file, or standard input for "-". Failure(exit_io) with "PATH: reason".
std::string read_input(const std::string& path, std::size_t max = kMaxInputBytes);
bool file_exists(const std::string& path);

// Writes `data` to `path` atomically: a temporary file in the same directory with `mode`,
// fsync (when `sync`), rename over the target. Unless `force`, an existing target is
// Failure(exit_exists). Files that replace live ones (renew, CA files) are synced; a new leaf's
// files need not be (a crash leaves no half-written target either way, thanks to the rename).
void write_file(const std::string& path, std::string_view data, mode_t mode, bool force, bool sync = true);
// Fails with exit_exists if any of the paths exists (checked before writing any of them).
void refuse_existing(const std::vector<std::string>& paths, bool force);
void make_dir(const std::string& path, mode_t mode = 0755);
std::string join(const std::string& dir, const std::string& name);

// A passphrase from a file (first line, trailing newline removed) or an environment variable;
// empty when neither is set. Failure(exit_usage) when the source is named but unusable.
struct PassSource {
  std::string file;
  std::string env;
  bool given() const { return !file.empty() || !env.empty(); }
};
std::string read_passphrase(const PassSource& src);

// "90d", "1y", "12h", "30m", "3600s", "2w": a validity or interval. Failure(exit_usage) naming the flag.
pw::Duration parse_validity(const std::string& text, std::string_view flag);
std::optional<pw::Duration> try_parse_validity(std::string_view text) noexcept;
std::string format_validity(pw::Duration d);  // largest exact unit: "90d", "1h"

// RFC 3339 in UTC with seconds: "2025-01-02T03:04:05Z".
std::string format_time(pw::WallTime t);
// "2025-01-02T03:04:05Z", "2025-01-02T03:04:05+02:00", "2025-01-02", or "now".
std::optional<pw::WallTime> parse_time(std::string_view text, pw::WallTime now);
pw::WallTime parse_time_flag(const std::string& text, std::string_view flag, pw::WallTime now);
// "89d 23h", "5m 10s", "expired 3d ago".
std::string format_remaining(pw::WallTime not_after, pw::WallTime now);

// Names from flags, validated and normalised (DNS lowered); Failure(exit_usage) with the reason.
pw::pki::SubjectNames names_from_flags(const std::vector<std::string>& dns, const std::vector<std::string>& ips,
                                       const std::vector<std::string>& uris, const std::string& spiffe_id);

Json names_json(const pw::pki::SubjectNames& n);

// SHA-256 of data, lower-case hex.
std::string sha256_hex(std::string_view data);
std::vector<std::string> ip_strings(const pw::pki::SubjectNames& n);

}  // namespace certctl
