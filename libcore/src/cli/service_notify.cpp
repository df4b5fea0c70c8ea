#include "pw/cli/service_notify.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <ctime>

namespace pw::cli {

ServiceNotifier ServiceNotifier::from_environment() {
  const char* s = std::getenv("NOTIFY_SOCKET");
  std::string socket = s ? s : "";
  if (s) ::unsetenv("NOTIFY_SOCKET");  // before any thread starts (run_daemon's first steps)
  return ServiceNotifier(std::move(socket));
}

Status ServiceNotifier::notify(std::string_view state) const {
  if (socket_.empty()) return {};
  auto fail = [&](std::string why, int err) {
    return make_error(Errc::io_error, "NOTIFY_SOCKET " + socket_ + ": " + why, err);
  };
  // sd_notify(3): a path starting with '/', or '@' for the abstract namespace (the '@' becomes a
  // leading NUL byte and the address is not NUL-terminated). Other forms (vsock:) are not ours.
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if ((socket_[0] != '/' && socket_[0] != '@') || socket_.size() >= sizeof(addr.sun_path))
    return fail("unsupported address", EINVAL);
  std::memcpy(addr.sun_path, socket_.data(), socket_.size());
  if (socket_[0] == '@') addr.sun_path[0] = '\0';
  const auto len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + socket_.size() + (socket_[0] == '/' ? 1 : 0));

  const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return fail(std::string("socket: ") + std::strerror(errno), errno);
  ssize_t n;
  do {
    n = ::sendto(fd, state.data(), state.size(), MSG_NOSIGNAL, reinterpret_cast<const sockaddr*>(&addr), len);
  } while (n < 0 && errno == EINTR);
  const int err = errno;
  ::close(fd);
  if (n < 0) return fail(std::string("sendto: ") + std::strerror(err), err);
  return {};
}

std::string monotonic_usec() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return std::to_string(static_cast<unsigned long long>(ts.tv_sec) * 1000000ull +
                        static_cast<unsigned long long>(ts.tv_nsec) / 1000ull);
}

}  // namespace pw::cli
