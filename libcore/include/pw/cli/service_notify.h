// Telling a service manager what a daemon is doing: systemd's notification protocol
// (sd_notify(3)), used by the daemon runner (daemon.h) for Type=notify units.
//
// Written here in a few lines rather than linking libsystemd: the protocol is one datagram of
// newline-separated "KEY=VALUE" assignments sent to the AF_UNIX datagram socket named by
// $NOTIFY_SOCKET (a file system path, or "@name" in the abstract namespace), a documented
// interface systemd keeps stable and expects to be reimplemented (sd_notify(3), NOTES). Linking
// libsystemd for one sendto() would make every tool, CLIs included, depend on libsystemd0.
//
// Without $NOTIFY_SOCKET (not started by systemd with Type=notify) every call does nothing.
#pragma once

#include <string>
#include <string_view>

#include "pw/base/result.h"

namespace pw::cli {

class ServiceNotifier {
 public:
  // Reads $NOTIFY_SOCKET and removes it from the environment, as sd_notify(unset_environment=1)
  // does: a process this daemon starts (mesh-sidecar's application) must not notify as it.
  static ServiceNotifier from_environment();
  // An explicit socket ("" for none): tests.
  explicit ServiceNotifier(std::string socket) : socket_(std::move(socket)) {}

  bool enabled() const noexcept { return !socket_.empty(); }
  // Sends one datagram, e.g. "READY=1" or "RELOADING=1\nMONOTONIC_USEC=123". An error names the
  // socket; the caller logs it and carries on (readiness is advisory for the daemon itself).
  Status notify(std::string_view state) const;

 private:
  std::string socket_;
};

// CLOCK_MONOTONIC in microseconds: the MONOTONIC_USEC= that accompanies RELOADING=1.
std::string monotonic_usec();

}  // namespace pw::cli
