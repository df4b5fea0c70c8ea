// TCP streams, listeners (SO_REUSEPORT per worker) and connectors.
#pragma once

#include <functional>
#include <memory>
#include <vector>

#include "pw/io/loop.h"
#include "pw/io/stream.h"

namespace pw::io {

class TcpListener;
class Connector;

// Made only by TcpListener (accepted) and Connector (connected).
class TcpStream final : public Stream {
 public:
  ~TcpStream() override;

  void set_handler(Handler* h) noexcept override;
  void read_start() override;
  void read_stop() override;
  using Stream::write;
  Status write(std::span<const std::string_view> slices) override;
  void shutdown(std::function<void()> flushed = {}) override;
  void close() override;
  std::size_t pending_write_bytes() const noexcept override;
  const WriteLimits& limits() const noexcept override { return limits_; }
  SockAddr peer_address() const override;
  SockAddr local_address() const override;
  Loop& loop() noexcept override { return loop_; }
  Status set_nodelay(bool on);

  struct Impl;  // the heap part that outlives this object until libuv is done with it

 private:
  friend class TcpListener;
  friend class Connector;
  // Takes the handle embedded in a heap-allocated Impl (ownership passes to the stream).
  TcpStream(Loop& loop, uv_tcp_t* handle_in_impl, WriteLimits limits);
  Loop& loop_;
  WriteLimits limits_;
  Impl* impl_;
};

struct ListenOptions {
  int backlog = 1024;
  bool reuse_port = true;  // one socket per worker, the kernel spreads accepts
  bool nodelay = true;
  WriteLimits write_limits{};
};

// The listening sockets of one address for a process's workers, bound and listening but not
// yet attached to a loop, and the address they got (the port chosen for port 0).
struct ListenGroup {
  std::vector<int> fds;
  SockAddr address;
};

// Binds `count` sockets (at least one) on `addr` with SO_REUSEPORT, so the kernel spreads
// accepts over the workers. Sharing stays inside this process: when another socket (of any
// process) already listens on the address, it fails with Errc::io_error, errno EADDRINUSE and
// "address already in use", instead of silently taking part of that port's connections.
// The check is a bind without SO_REUSEPORT just before the real one; port 0 needs none (the
// kernel never hands out a port another socket listens on).
Result<ListenGroup> bind_listen_group(const SockAddr& addr, const ListenOptions& opt, unsigned count);

// One socket of bind_listen_group().
Result<int> bind_listen_socket(const SockAddr& addr, const ListenOptions& opt);

class TcpListener {
 public:
  using AcceptCb = std::function<void(std::unique_ptr<TcpStream>)>;
  // Attaches a socket from bind_listen_socket() to `loop` and starts accepting.
  static Result<std::unique_ptr<TcpListener>> open(Loop& loop, int fd, const ListenOptions& opt, AcceptCb cb);
  // bind_listen_socket() + open() in one step.
  static Result<std::unique_ptr<TcpListener>> listen(Loop& loop, const SockAddr& addr, const ListenOptions& opt,
                                                     AcceptCb cb);
  ~TcpListener();
  SockAddr local_address() const;
  // Stops accepting; already accepted streams are not affected.
  void close();
  std::uint64_t accepted() const noexcept { return accepted_; }
  std::uint64_t accept_errors() const noexcept { return accept_errors_; }

 private:
  TcpListener(Loop& loop, const ListenOptions& opt, AcceptCb cb);
  static void on_connection(uv_stream_t* server, int status);
  Loop& loop_;
  ListenOptions opt_;
  AcceptCb cb_;
  uv_tcp_t* h_ = nullptr;
  std::uint64_t accepted_ = 0;
  std::uint64_t accept_errors_ = 0;
};

// An outbound connection attempt with a timeout. Destroying the Connector cancels it (the
// callback is then not called).
class Connector {
 public:
  using ConnectCb = std::function<void(Result<std::unique_ptr<TcpStream>>)>;
  Connector(Loop& loop, WriteLimits limits = {});
  ~Connector();
  Connector(const Connector&) = delete;
  Connector& operator=(const Connector&) = delete;

  // Calls cb exactly once (unless cancelled): with a connected stream or an Error
  // (io_error with errno, or timeout). Fails synchronously for an unusable address.
  Status connect(const SockAddr& addr, Duration timeout, ConnectCb cb);
  void cancel();

 private:
  struct Attempt;
  Loop& loop_;
  WriteLimits limits_;
  Attempt* attempt_ = nullptr;
};

}  // namespace pw::io
