#include "jsonl_file.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace certctl {

using namespace pw;

namespace {

Error sys_error(const std::string& path, const char* what, int err) {
  return make_error(Errc::io_error, path + ": " + what + ": " + std::strerror(err), err);
}

// An fd with its flock, both released on scope exit.
struct LockedFd {
  int fd = -1;
  ~LockedFd() {
    if (fd >= 0) {
      ::flock(fd, LOCK_UN);
      ::close(fd);
    }
  }
};

int lock(int fd, int op) {
  int rc;
  do rc = ::flock(fd, op);
  while (rc < 0 && errno == EINTR);
  return rc;
}

// Offset just past the last '\n' before `size` (0 when there is none).
Result<std::uint64_t> end_of_last_line(int fd, const std::string& path, std::uint64_t size) {
  char buf[4096];
  std::uint64_t pos = size;
  while (pos > 0) {
    std::uint64_t n = std::min<std::uint64_t>(pos, sizeof buf);
    pos -= n;
    ssize_t got = ::pread(fd, buf, n, static_cast<off_t>(pos));
    if (got < 0) {
      if (errno == EINTR) {
        pos += n;
        continue;
      }
      return sys_error(path, "read", errno);
    }
    if (static_cast<std::uint64_t>(got) != n) return make_error(Errc::io_error, path + ": short read");
    for (std::uint64_t i = n; i > 0; --i)
      if (buf[i - 1] == '\n') return pos + i;
  }
  return std::uint64_t{0};
}

}  // namespace

std::string JsonlDamage::to_string(std::string_view what) const {
  return path + ": " + std::string(what) + " at byte " + std::to_string(offset) + " (" + std::to_string(bytes) +
         " bytes)";
}

Result<JsonlRead> read_jsonl(const std::string& path, std::uint64_t from, std::uint64_t max_bytes) {
  JsonlRead out;
  LockedFd f;
  f.fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (f.fd < 0) {
    if (errno == ENOENT) return out;
    return sys_error(path, "open", errno);
  }
  if (lock(f.fd, LOCK_SH) < 0) return sys_error(path, "flock", errno);
  struct stat st {};
  if (::fstat(f.fd, &st) < 0) return sys_error(path, "stat", errno);
  out.exists = true;
  out.dev = st.st_dev;
  out.ino = st.st_ino;
  auto size = static_cast<std::uint64_t>(st.st_size);
  if (from > size) from = 0;  // the file shrank: the caller compares identities and starts over
  out.end = from;
  if (size - from > max_bytes)
    return make_error(Errc::limit_exceeded, path + ": more than " + std::to_string(max_bytes) + " bytes to read");
  std::string text(size - from, '\0');
  std::size_t have = 0;
  while (have < text.size()) {
    ssize_t n = ::pread(f.fd, text.data() + have, text.size() - have, static_cast<off_t>(from + have));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return sys_error(path, "read", errno);
    if (n == 0) break;  // cannot shrink under our lock; defensive
    have += static_cast<std::size_t>(n);
  }
  text.resize(have);
  out.bytes_read = have;
  std::size_t pos = 0;
  std::uint64_t line_no = 0;
  while (pos < text.size()) {
    std::size_t nl = text.find('\n', pos);
    std::uint64_t off = from + pos;
    if (nl == std::string::npos) {
      out.torn = JsonlDamage{path, off, text.size() - pos};
      break;
    }
    std::string_view line(text.data() + pos, nl - pos);
    pos = nl + 1;
    out.end = from + pos;
    ++line_no;
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    Json j = Json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded()) {
      out.bad_lines.push_back(JsonlDamage{path, off, line.size()});
      continue;
    }
    if (j.is_object()) out.records.push_back(JsonlRecord{off, line_no, std::move(j)});
  }
  return out;
}

Result<JsonlAppend> append_jsonl(const std::string& path, std::string_view lines, mode_t mode, bool sync) {
  JsonlAppend out;
  LockedFd f;
  // Read access to look at the last byte; a file we may only write (or a pipe, /dev/stdout as
  // an issuance log) is appended to as before, without the torn-tail check.
  bool readable = true;
  f.fd = ::open(path.c_str(), O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, mode);
  if (f.fd < 0 && errno == EACCES) {
    readable = false;
    f.fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, mode);
  }
  if (f.fd < 0) return sys_error(path, "open", errno);
  if (lock(f.fd, LOCK_EX) < 0) return sys_error(path, "flock", errno);
  struct stat st {};
  if (::fstat(f.fd, &st) < 0) return sys_error(path, "stat", errno);
  bool regular = S_ISREG(st.st_mode);
  auto size = regular ? static_cast<std::uint64_t>(st.st_size) : 0;
  if (size > 0 && readable) {
    char last = 0;
    ssize_t n;
    do n = ::pread(f.fd, &last, 1, static_cast<off_t>(size - 1));
    while (n < 0 && errno == EINTR);
    if (n != 1) return sys_error(path, "read", n < 0 ? errno : EIO);
    if (last != '\n') {
      // A torn tail: no writer is in the middle of its write() while we hold the lock.
      auto keep = end_of_last_line(f.fd, path, size);
      if (!keep) return std::move(keep).error();
      if (::ftruncate(f.fd, static_cast<off_t>(*keep)) < 0) return sys_error(path, "truncate", errno);
      out.cut = JsonlDamage{path, *keep, size - *keep};
      size = *keep;
    }
  }
  out.offset = size;
  std::size_t done = 0;
  while (done < lines.size()) {
    ssize_t n = ::write(f.fd, lines.data() + done, lines.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int e = n < 0 ? errno : EIO;
      // Leave no fragment of ours behind: the lines are all or nothing.
      if (regular && ::ftruncate(f.fd, static_cast<off_t>(size)) < 0) {
        // The fragment stays; the next append (or reader) reports it as a torn tail.
      }
      return sys_error(path, "write", e);
    }
    done += static_cast<std::size_t>(n);
  }
  if (sync && regular && ::fdatasync(f.fd) < 0) return sys_error(path, "fdatasync", errno);
  return out;
}

}  // namespace certctl
